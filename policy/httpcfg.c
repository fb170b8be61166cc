/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * From struct weft_http_cfg (offsets and ranges) to the route model of
 * policy/route.h (pointers), then to compiled tables. The model only
 * borrows: its strings point into the config, which outlives the call.
 */
#include "policy/httpcfg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/lb.h"
#include "policy/resilience.h"
#include "policy/route.h"

/* Arrays of the route model for one route config, sized for the whole config. */
struct model_mem {
	struct weft_route_cfg_vhost *vhosts;
	struct weft_route_cfg_route *routes;
	struct weft_route_cfg_kv_match *kv;
	struct weft_route_cfg_header *hdrs;
	const char **removes;
	struct weft_route_cfg_weighted *weighted;
	const char **domains;
	const char **clusters;
};

static void model_mem_free(struct model_mem *m)
{
	free(m->vhosts);
	free(m->routes);
	free(m->kv);
	free(m->hdrs);
	free(m->removes);
	free(m->weighted);
	free(m->domains);
	free(m->clusters);
}

static int model_mem_alloc(struct model_mem *m, const struct weft_config *cfg)
{
	const struct weft_http_cfg *h = &cfg->http;

	memset(m, 0, sizeof(*m));
	m->vhosts = calloc(h->n_vhosts + 1, sizeof(*m->vhosts));
	m->routes = calloc(h->n_routes + 1, sizeof(*m->routes));
	m->kv = calloc(h->n_kv + 1, sizeof(*m->kv));
	m->hdrs = calloc(h->n_hdrs + 1, sizeof(*m->hdrs));
	m->removes = calloc(h->n_hdrs + 1, sizeof(*m->removes));
	m->weighted = calloc(h->n_weighted + 1, sizeof(*m->weighted));
	m->domains = calloc(h->n_domains + 1, sizeof(*m->domains));
	m->clusters = calloc(cfg->n_clusters + 1, sizeof(*m->clusters));
	if (!m->vhosts || !m->routes || !m->kv || !m->hdrs || !m->removes || !m->weighted || !m->domains ||
	    !m->clusters) {
		model_mem_free(m);
		return -1;
	}
	for (unsigned i = 0; i < cfg->n_clusters; i++)
		m->clusters[i] = cfg->clusters[i].name;
	return 0;
}

static const char *opt(const struct weft_http_cfg *h, weft_cfg_str s)
{
	return s != 0 ? weft_cfg_s(h, s) : NULL;
}

/* The same arrays are reused for every route config: indexes are global to the config. */
static void fill_ops(const struct weft_http_cfg *h, struct model_mem *m, const struct weft_http_ops_cfg *in,
		     struct weft_route_cfg_header_ops *out)
{
	const struct weft_cfg_range *ranges[2] = {&in->add, &in->set};

	for (int k = 0; k < 2; k++) {
		for (uint32_t i = 0; i < ranges[k]->n; i++) {
			uint32_t x = ranges[k]->first + i;
			m->hdrs[x].name = weft_cfg_s(h, h->hdrs[x].name);
			m->hdrs[x].value = weft_cfg_s(h, h->hdrs[x].value);
		}
	}
	for (uint32_t i = 0; i < in->remove.n; i++)
		m->removes[in->remove.first + i] = weft_cfg_s(h, h->hdrs[in->remove.first + i].name);
	out->n_add = in->add.n;
	out->add = &m->hdrs[in->add.first];
	out->n_set = in->set.n;
	out->set = &m->hdrs[in->set.first];
	out->n_remove = in->remove.n;
	out->remove = &m->removes[in->remove.first];
}

static void fill_kv(const struct weft_http_cfg *h, struct model_mem *m, struct weft_cfg_range r)
{
	for (uint32_t i = 0; i < r.n; i++) {
		uint32_t x = r.first + i;
		const struct weft_http_kv_cfg *k = &h->kv[x];
		m->kv[x] = (struct weft_route_cfg_kv_match){
			.name = weft_cfg_s(h, k->name),
			.kind = (enum weft_route_value_kind)k->kind,
			.value = weft_cfg_s(h, k->value),
			.invert = k->invert,
			.line = k->line,
		};
	}
}

static void fill_route(const struct weft_config *cfg, struct model_mem *m, uint32_t x)
{
	const struct weft_http_cfg *h = &cfg->http;
	const struct weft_http_route_cfg *r = &h->routes[x];
	struct weft_route_cfg_route *o = &m->routes[x];

	memset(o, 0, sizeof(*o));
	o->name = opt(h, r->name);
	o->line = r->line;
	o->match.path_kind = (enum weft_route_path_kind)r->path_kind;
	o->match.path = opt(h, r->path);
	o->match.methods = r->methods;
	o->match.line = r->match_line;
	fill_kv(h, m, r->headers);
	fill_kv(h, m, r->query);
	o->match.n_headers = r->headers.n;
	o->match.headers = &m->kv[r->headers.first];
	o->match.n_query = r->query.n;
	o->match.query = &m->kv[r->query.first];
	o->action = (enum weft_route_action_kind)r->action;
	if (r->action == WEFT_ROUTE_ACT_CLUSTER)
		o->cluster = cfg->clusters[r->cluster].name;
	for (uint32_t i = 0; i < r->weighted.n; i++) {
		uint32_t k = r->weighted.first + i;
		m->weighted[k].cluster = cfg->clusters[h->weighted[k].cluster].name;
		m->weighted[k].weight = h->weighted[k].weight;
	}
	o->n_weighted = r->weighted.n;
	o->weighted = &m->weighted[r->weighted.first];
	o->prefix_rewrite = r->prefix_rewrite_set ? weft_cfg_s(h, r->prefix_rewrite) : NULL;
	o->regex_rewrite_pattern = opt(h, r->regex_pattern);
	o->regex_rewrite_substitution = r->regex_pattern != 0 ? weft_cfg_s(h, r->regex_substitution) : NULL;
	o->host_rewrite = opt(h, r->host_rewrite);
	o->timeout_ms = r->timeout_ms;
	o->retry = r->retry;
	o->redirect.scheme = opt(h, r->redirect_scheme);
	o->redirect.host = opt(h, r->redirect_host);
	o->redirect.port = r->redirect_port;
	o->redirect.path = opt(h, r->redirect_path);
	o->redirect.prefix_rewrite = opt(h, r->redirect_prefix);
	o->redirect.status = r->redirect_status;
	o->redirect.strip_query = r->redirect_strip_query;
	o->direct.status = r->direct_status;
	o->direct.body = opt(h, r->direct_body);
	fill_ops(h, m, &r->request_headers, &o->request_headers);
	fill_ops(h, m, &r->response_headers, &o->response_headers);
}

/*
 * The compilers say "[line N: ]path: reason"; configuration errors say
 * "FILE:LINE: path: reason", with the path from the top of the file.
 */
static void reword(char *err, size_t errlen, const char *file, int dflt_line, const char *prefix, const char *msg)
{
	int line = dflt_line;
	const char *rest = msg;

	if (strncmp(msg, "line ", 5) == 0) {
		char *end;
		long l = strtol(msg + 5, &end, 10);
		if (end != msg + 5 && end[0] == ':' && end[1] == ' ') {
			line = (int)l;
			rest = end + 2;
		}
	}
	snprintf(err, errlen, "%s:%d: %s%s%s", file, line, prefix, prefix[0] != '\0' ? "." : "", rest);
}

static const struct weft_route_table *prev_table(const struct weft_http_snap *prev, const char *key)
{
	if (prev == NULL)
		return NULL;
	for (unsigned i = 0; i < prev->n_rc; i++)
		if (strcmp(prev->rc_key[i], key) == 0)
			return prev->rc[i];
	return NULL;
}

static int compile_routes(const struct weft_config *cfg, const struct weft_http_snap *prev, unsigned n_workers,
			  struct weft_http_snap *s, char *err, size_t errlen)
{
	const struct weft_http_cfg *h = &cfg->http;
	struct model_mem m;
	char rerr[WEFT_ROUTE_ERR_LEN];

	if (h->n_rc == 0)
		return 0;
	if (model_mem_alloc(&m, cfg) != 0) {
		snprintf(err, errlen, "%s: out of memory compiling the routes", h->source);
		return -1;
	}
	for (uint32_t i = 0; i < h->n_domains; i++)
		m.domains[i] = weft_cfg_s(h, h->domains[i]);
	for (uint32_t i = 0; i < h->n_routes; i++)
		fill_route(cfg, &m, i);
	for (uint32_t i = 0; i < h->n_vhosts; i++) {
		const struct weft_http_vhost_cfg *v = &h->vhosts[i];
		m.vhosts[i] = (struct weft_route_cfg_vhost){
			.name = weft_cfg_s(h, v->name),
			.n_domains = v->domains.n,
			.domains = &m.domains[v->domains.first],
			.n_routes = v->routes.n,
			.routes = &m.routes[v->routes.first],
			.line = v->line,
		};
	}
	for (unsigned r = 0; r < h->n_rc; r++) {
		const struct weft_http_rc_cfg *rc = &h->rc[r];
		snprintf(s->rc_key[r], sizeof(s->rc_key[r]), "%s", rc->name[0] != '\0' ? rc->name : rc->path);
		struct weft_route_cfg_model model = {
			.n_vhosts = rc->vhosts.n,
			.vhosts = &m.vhosts[rc->vhosts.first],
			.n_clusters = cfg->n_clusters,
			.clusters = m.clusters,
			.n_workers = n_workers,
			.previous = prev_table(prev, s->rc_key[r]),
		};
		char where[64];
		/* Named: route_configs[i].virtual_hosts; inline: listeners[j].route_config.virtual_hosts. */
		snprintf(where, sizeof(where), "%s", rc->path);
		if (weft_routes_compile(&model, &s->rc[r], rerr, sizeof(rerr)) != 0) {
			reword(err, errlen, h->source, rc->line, where, rerr);
			model_mem_free(&m);
			return -1;
		}
		s->n_rc = r + 1;
	}
	model_mem_free(&m);
	return 0;
}

static enum weft_lb_algo algo_of(enum weft_lb_policy p)
{
	switch (p) {
	case WEFT_LB_LEAST_REQUEST: return WEFT_LB_ALGO_LEAST_REQUEST;
	case WEFT_LB_RANDOM: return WEFT_LB_ALGO_RANDOM;
	case WEFT_LB_RING_HASH: return WEFT_LB_ALGO_RING_HASH;
	case WEFT_LB_MAGLEV: return WEFT_LB_ALGO_MAGLEV;
	case WEFT_LB_ROUND_ROBIN:
	default: return WEFT_LB_ALGO_ROUND_ROBIN;
	}
}

/* The previous snapshot's state of the cluster of this name, else any (endpoints carry over by address). */
static const struct weft_cluster_rt *prev_rt(const struct weft_http_snap *prev, const char *name)
{
	if (prev == NULL)
		return NULL;
	for (unsigned i = 0; i < prev->n_clusters; i++)
		if (prev->clusters[i].rt != NULL && strcmp(prev->clusters[i].name, name) == 0)
			return prev->clusters[i].rt;
	return NULL;
}

static int compile_clusters(const struct weft_config *cfg, const struct weft_http_snap *prev,
			    struct weft_http_snap *s, char *err, size_t errlen)
{
	struct weft_lb_endpoint_cfg eps[WEFT_CFG_MAX_CLUSTER_ENDPOINTS];
	char lerr[WEFT_LB_ERR_LEN];

	for (unsigned i = 0; i < cfg->n_clusters; i++) {
		const struct weft_cluster_cfg *cc = &cfg->clusters[i];
		struct weft_http_cluster *hc = &s->clusters[i];

		if (cc->n_endpoints > WEFT_CFG_MAX_CLUSTER_ENDPOINTS) {
			snprintf(err, errlen, "%s:%d: clusters[%u].endpoints: too many", cfg->http.source, cc->line, i);
			return -1;
		}
		for (unsigned k = 0; k < cc->n_endpoints; k++) {
			const struct weft_endpoint_cfg *e = &cfg->endpoints[cc->first_endpoint + k];
			eps[k] = (struct weft_lb_endpoint_cfg){
				.addr = e->addr,
				.port = e->port,
				.weight = e->weight ? e->weight : 1,
				.locality = e->locality != 0 ? weft_cfg_s(&cfg->http, e->locality) : NULL,
				.healthy = true,
				.line = e->line,
			};
		}
		struct weft_lb_cfg lc = {
			.cluster = cc->name,
			.algo = algo_of(cc->lb),
			.n_endpoints = cc->n_endpoints,
			.endpoints = eps,
			.key = cc->hash_key == WEFT_HASH_HEADER	   ? WEFT_LB_KEY_HEADER
			       : cc->hash_key == WEFT_HASH_COOKIE    ? WEFT_LB_KEY_COOKIE
			       : cc->hash_key == WEFT_HASH_SOURCE_IP ? WEFT_LB_KEY_SOURCE_IP
								     : WEFT_LB_KEY_NONE,
			.key_name = cc->hash_name[0] != '\0' ? cc->hash_name : NULL,
			.ring_min = cc->ring_min,
			.ring_max = cc->ring_max,
			.maglev_size = cc->maglev_size,
			.choice_count = cc->choice_count,
			.line = cc->line,
		};
		if (weft_lb_build(&lc, &hc->lb, lerr, sizeof(lerr)) != 0) {
			/* The balancer names the cluster itself: "clusters.NAME.endpoints[I]...". */
			reword(err, errlen, cfg->http.source[0] ? cfg->http.source : "<config>", cc->line, "", lerr);
			return -1;
		}
		snprintf(hc->name, sizeof(hc->name), "%s", cc->name);
		s->n_clusters = i + 1;
		hc->rt = weft_cluster_rt_new(cfg, cc, s->n_workers, prev_rt(prev, cc->name));
		if (hc->rt == NULL) {
			snprintf(err, errlen, "%s:%d: clusters[%u]: out of memory for the resilience state",
				 cfg->http.source[0] ? cfg->http.source : "<config>", cc->line, i);
			return -1;
		}
		hc->max_idle = cc->max_idle;
		hc->pool_idle_timeout_ms = cc->pool_idle_timeout_ms;
		hc->hc = cc->hc;
	}
	return 0;
}

/* Give every worker a scratch that fits every table, cloned from prev's, never shared with it. */
static int fit_scratches(const struct weft_http_snap *prev, struct weft_http_snap *s, char *err, size_t errlen)
{
	for (unsigned w = 0; w < s->n_workers; w++) {
		hs_scratch_t *cur = prev != NULL && w < prev->n_workers ? prev->scratch[w] : NULL;
		bool owned = false;

		for (unsigned r = 0; r < s->n_rc; r++) {
			hs_scratch_t *tmp = cur;
			int rc = weft_route_scratch_fit(s->rc[r], &tmp);
			if (rc < 0) {
				if (owned)
					weft_route_scratch_free(cur);
				snprintf(err, errlen, "out of memory for the Hyperscan scratch of worker %u", w);
				return -1;
			}
			if (rc == 1) {
				/* An intermediate clone of ours was never published: free it now. */
				if (owned)
					weft_route_scratch_free(cur);
				cur = tmp;
				owned = true;
			}
		}
		s->scratch[w] = owned ? cur : NULL;
	}
	return 0;
}

int weft_http_compile(const struct weft_config *cfg, const struct weft_http_snap *prev, unsigned n_workers,
		      struct weft_http_snap **out, char *err, size_t errlen)
{
	struct weft_http_snap *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL) {
		snprintf(err, errlen, "out of memory compiling the HTTP configuration");
		return -1;
	}
	if (n_workers == 0)
		n_workers = 1;
	s->n_workers = n_workers < WEFT_CFG_MAX_WORKERS ? n_workers : WEFT_CFG_MAX_WORKERS;
	if (compile_routes(cfg, prev, s->n_workers, s, err, errlen) != 0 || compile_clusters(cfg, prev, s, err, errlen) != 0 ||
	    fit_scratches(prev, s, err, errlen) != 0) {
		weft_http_snap_free(s);
		return -1;
	}
	s->n_listeners = cfg->n_listeners;
	for (unsigned i = 0; i < cfg->n_listeners; i++) {
		const struct weft_listener_cfg *l = &cfg->listeners[i];
		struct weft_http_listener *hl = &s->listeners[i];
		hl->rc = l->kind == WEFT_LISTENER_HTTP && l->route_config < s->n_rc ? l->route_config : UINT32_MAX;
		hl->request_timeout_ms = l->request_timeout_ms;
		hl->request_header_timeout_ms = l->request_header_timeout_ms;
		hl->connect_timeout_ms = l->connect_timeout_ms;
		hl->idle_timeout_ms = l->idle_timeout_ms;
		if (hl->rc != UINT32_MAX)
			s->n_http_listeners++;
	}
	*out = s;
	return 0;
}

void weft_http_snap_free(struct weft_http_snap *s)
{
	if (s == NULL)
		return;
	for (unsigned i = 0; i < s->n_rc; i++)
		weft_routes_free(s->rc[i]);
	for (unsigned i = 0; i < s->n_clusters; i++) {
		weft_lb_free(s->clusters[i].lb);
		weft_cluster_rt_free(s->clusters[i].rt);
	}
	for (unsigned w = 0; w < s->n_workers; w++)
		weft_route_scratch_free(s->scratch[w]);
	free(s);
}
