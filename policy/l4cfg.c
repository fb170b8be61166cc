/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "policy/l4cfg.h"

#include <stdio.h>
#include <string.h>

int weft_l4_compile(const struct weft_config *cfg, struct weft_l4_table *t, char *err, size_t errlen)
{
	unsigned workers = cfg->eal.n_workers ? cfg->eal.n_workers : 1;

	memset(t, 0, sizeof(*t));
	if (cfg->n_endpoints > WEFT_L4_MAX_ENDPOINTS || cfg->n_clusters > WEFT_L4_MAX_CLUSTERS ||
	    cfg->n_listeners > WEFT_L4_MAX_LISTENERS) {
		snprintf(err, errlen, "l4: more listeners, clusters or endpoints than the table holds");
		return -1;
	}
	for (unsigned i = 0; i < cfg->n_endpoints; i++) {
		t->endpoints[i].addr = cfg->endpoints[i].addr;
		t->endpoints[i].port = cfg->endpoints[i].port;
		t->endpoints[i].weight = cfg->endpoints[i].weight ? cfg->endpoints[i].weight : 1;
	}
	t->n_endpoints = cfg->n_endpoints;

	for (unsigned i = 0; i < cfg->n_clusters; i++) {
		const struct weft_cluster_cfg *cc = &cfg->clusters[i];
		struct weft_l4_cluster *c = &t->clusters[i];

		if (cc->n_endpoints == 0 || cc->first_endpoint + cc->n_endpoints > cfg->n_endpoints) {
			snprintf(err, errlen, "l4: cluster %s has no endpoints", cc->name);
			return -1;
		}
		snprintf(c->name, sizeof(c->name), "%s", cc->name);
		c->lb = cc->lb;
		c->first = cc->first_endpoint;
		c->n = cc->n_endpoints;
		for (uint32_t j = 0; j < c->n; j++)
			c->total_weight += t->endpoints[c->first + j].weight;
	}
	t->n_clusters = cfg->n_clusters;

	for (unsigned i = 0; i < cfg->n_listeners; i++) {
		const struct weft_listener_cfg *lc = &cfg->listeners[i];
		struct weft_l4_listener *l = &t->listeners[i];

		/* An http listener routes per request (policy/httpcfg.h); it names no cluster. */
		if (lc->kind == WEFT_LISTENER_TLS_PASSTHROUGH &&
		    (lc->n_sni == 0 || lc->sni_first + lc->n_sni > cfg->n_sni || cfg->n_sni > WEFT_L4_MAX_SNI)) {
			snprintf(err, errlen, "l4: listener %s has no server names", lc->name);
			return -1;
		}
		if (lc->kind != WEFT_LISTENER_HTTP && lc->cluster_idx >= cfg->n_clusters) {
			snprintf(err, errlen, "l4: listener %s names no cluster", lc->name);
			return -1;
		}
		snprintf(l->name, sizeof(l->name), "%s", lc->name);
		l->kind = lc->kind;
		l->addr = lc->addr;
		l->any = lc->any;
		l->port = lc->port;
		l->cluster = (uint16_t)lc->cluster_idx;
		l->slot = (uint16_t)i;
		l->connect_timeout_ms = lc->connect_timeout_ms;
		l->idle_timeout_ms = lc->idle_timeout_ms;
		/* Workers share nothing: each admits its share, rounded up so that none admits zero. */
		l->max_per_worker = (uint32_t)(((uint64_t)lc->max_connections + workers - 1) / workers);
		if (lc->kind == WEFT_LISTENER_TLS_PASSTHROUGH) {
			l->sni_first = (uint16_t)lc->sni_first;
			l->n_sni = (uint16_t)lc->n_sni;
			for (unsigned j = lc->sni_first; j < lc->sni_first + lc->n_sni; j++) {
				if (cfg->sni[j].cluster_idx >= cfg->n_clusters) {
					snprintf(err, errlen, "l4: listener %s names no cluster", lc->name);
					return -1;
				}
				snprintf(t->sni[j].name, sizeof(t->sni[j].name), "%s", cfg->sni[j].name);
				t->sni[j].len = (uint16_t)strlen(t->sni[j].name);
				t->sni[j].cluster = (uint16_t)cfg->sni[j].cluster_idx;
			}
		}
		t->port_of[i] = lc->port;
		snprintf(t->slot_name[i], sizeof(t->slot_name[i]), "%s", lc->name);
	}
	t->n_listeners = cfg->n_listeners;
	t->n_sni = cfg->n_sni;
	return 0;
}

int weft_l4_sni_match(const struct weft_l4_table *t, const struct weft_l4_listener *l, const char *sni, size_t len)
{
	char name[WEFT_CFG_SNI_LEN];
	int exact = -1, wild = -1, any = -1;
	size_t wild_len = 0;

	if (sni == NULL)
		len = 0;
	if (len > 0 && sni[len - 1] == '.')
		len--;
	if (len >= sizeof(name))
		len = 0; /* not a DNS name: only "*" can take it */
	for (size_t i = 0; i < len; i++)
		name[i] = (char)(sni[i] >= 'A' && sni[i] <= 'Z' ? sni[i] - 'A' + 'a' : sni[i]);
	name[len] = '\0';
	if (l->sni_first + l->n_sni > t->n_sni)
		return -1;
	for (unsigned j = l->sni_first; j < (unsigned)l->sni_first + l->n_sni; j++) {
		const struct weft_l4_sni *e = &t->sni[j];

		if (e->len == 1 && e->name[0] == '*') {
			any = e->cluster;
		} else if (e->name[0] == '*') {
			size_t sl = e->len - 1u; /* ".suffix" */
			if (len > sl && sl > wild_len && memcmp(name + len - sl, e->name + 1, sl) == 0) {
				wild = e->cluster;
				wild_len = sl;
			}
		} else if (len > 0 && e->len == len && memcmp(name, e->name, len) == 0) {
			exact = e->cluster;
		}
	}
	return exact >= 0 ? exact : wild >= 0 ? wild : any;
}

void weft_l4_inherit_slots(struct weft_l4_table *t, const struct weft_l4_table *prev)
{
	bool taken[WEFT_L4_SLOTS] = {false};
	bool placed[WEFT_L4_MAX_LISTENERS] = {false};

	if (prev == NULL)
		return;
	/* Names that survive keep their slot. */
	for (unsigned i = 0; i < t->n_listeners; i++) {
		for (unsigned s = 0; s < WEFT_L4_SLOTS; s++) {
			if (!taken[s] && strcmp(prev->slot_name[s], t->listeners[i].name) == 0) {
				t->listeners[i].slot = (uint16_t)s;
				taken[s] = placed[i] = true;
				break;
			}
		}
	}
	/*
	 * New names: a slot never used first, then the slot of a listener that
	 * is gone (the lowest, so the choice is reproducible). There are as
	 * many slots as listeners can exist, so one is always free.
	 */
	for (unsigned i = 0; i < t->n_listeners; i++) {
		if (placed[i])
			continue;
		unsigned s = 0;
		while (s < WEFT_L4_SLOTS && (taken[s] || prev->slot_name[s][0] != '\0'))
			s++;
		if (s == WEFT_L4_SLOTS) {
			s = 0;
			while (s < WEFT_L4_SLOTS && taken[s])
				s++;
		}
		t->listeners[i].slot = (uint16_t)s;
		taken[s] = placed[i] = true;
	}
	memcpy(t->slot_name, prev->slot_name, sizeof(t->slot_name));
	for (unsigned i = 0; i < t->n_listeners; i++)
		snprintf(t->slot_name[t->listeners[i].slot], sizeof(t->slot_name[0]), "%s", t->listeners[i].name);
}

static bool addr_equal(const struct weft_ip *a, const struct weft_ip *b)
{
	if (a->af != b->af)
		return false;
	return a->af == 4 ? a->v4 == b->v4 : memcmp(a->v6, b->v6, 16) == 0;
}

const struct weft_l4_listener *weft_l4_lookup(const struct weft_l4_table *t, const struct weft_ip *dst,
					      uint16_t port)
{
	const struct weft_l4_listener *wild = NULL;

	for (unsigned i = 0; i < t->n_listeners; i++) {
		if (t->port_of[i] != port)
			continue;
		const struct weft_l4_listener *l = &t->listeners[i];
		if (l->addr.af != dst->af)
			continue;
		if (l->any)
			wild = l;
		else if (addr_equal(&l->addr, dst))
			return l;
	}
	return wild;
}

const struct weft_l4_listener *weft_l4_listener_by_name(const struct weft_l4_table *t, const char *name)
{
	for (unsigned i = 0; i < t->n_listeners; i++)
		if (strcmp(t->listeners[i].name, name) == 0)
			return &t->listeners[i];
	return NULL;
}

uint32_t weft_l4_pick(const struct weft_l4_table *t, const struct weft_l4_cluster *c, int32_t *cur)
{
	uint32_t best = c->first;

	if (c->n == 1)
		return best;
	/*
	 * Every endpoint gains its weight; the richest is picked and pays the
	 * total. Over total_weight picks each endpoint is chosen exactly
	 * weight times, and heavy endpoints are spread between light ones.
	 */
	for (uint32_t i = c->first; i < c->first + c->n; i++) {
		cur[i] += (int32_t)t->endpoints[i].weight;
		if (cur[i] > cur[best])
			best = i;
	}
	cur[best] -= (int32_t)c->total_weight;
	return best;
}
