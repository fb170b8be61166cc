/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TLS contexts for snapshots, the ticket keyring, and the file watch (see
 * tls_mgmt.h). Management thread only: it reads files and allocates.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "dataplane/tls/tls.h"
#include "dataplane/tls/tls_ulp.h"
#include "policy/identity.h"
#include "policy/mgmt/tls_mgmt.h"

#define TICKET_PERIOD_S 3600u /* ticket lifetime and key rotation period */

static struct tls_ticket_keyring *keyring;
static const struct tls_ticket_keys *retired; /* freed one period after it was replaced */
static time_t rotated_at;
static bool lib_ready;

static int lib_init(char *err, size_t errlen)
{
	if (!lib_ready) {
		if (tls_global_init() != 0) {
			snprintf(err, errlen, "cannot initialise the TLS library");
			return -1;
		}
		lib_ready = true;
	}
	if (keyring == NULL) {
		keyring = tls_ticket_keyring_new(TICKET_PERIOD_S, err, errlen);
		if (keyring == NULL)
			return -1;
		rotated_at = time(NULL);
	}
	return 0;
}

void weft_tls_tick(void)
{
	time_t now = time(NULL);

	if (keyring == NULL || now - rotated_at < (time_t)TICKET_PERIOD_S)
		return;
	/* The generation retired a whole period ago is long out of every handshake's hands. */
	tls_ticket_keys_free(retired);
	retired = tls_ticket_keyring_rotate(keyring);
	rotated_at = now;
}

/* The engine's parameters for block b; strings point into cfg. */
static void params_of(const struct weft_config *cfg, const struct weft_tls_block_cfg *b, const char *scope,
		      struct tls_ctx_params *p)
{
	const struct weft_tls_cfg *t = &cfg->tls;

	memset(p, 0, sizeof(*p));
	p->role = b->client ? TLS_ROLE_CLIENT : TLS_ROLE_SERVER;
	p->n_certs = b->n_certs;
	for (unsigned i = 0; i < b->n_certs && i < TLS_MAX_CERTS; i++) {
		const struct weft_tls_cert_cfg *cc = &b->certs[i];
		p->certs[i].chain.path = weft_tls_s(t, cc->cert);
		p->certs[i].key.path = weft_tls_s(t, cc->key);
		p->certs[i].n_names = cc->n_names < TLS_MAX_NAMES ? cc->n_names : TLS_MAX_NAMES;
		for (unsigned k = 0; k < p->certs[i].n_names; k++)
			p->certs[i].names[k] = weft_tls_s(t, cc->names[k]);
	}
	if (b->trust_bundle)
		p->trust.path = weft_tls_s(t, b->trust_bundle);
	if (b->crl)
		p->crl.path = weft_tls_s(t, b->crl);
	if (b->client)
		p->verify = TLS_VERIFY_REQUIRE;
	else
		p->verify = b->mode == WEFT_TLS_STRICT ? TLS_VERIFY_REQUIRE : TLS_VERIFY_OPTIONAL;
	p->alpn = b->alpn ? weft_tls_s(t, b->alpn) : NULL;
	p->versions = b->versions == WEFT_TLS_V13 ? TLS_V13_ONLY : TLS_V12_V13;
	if (b->client) {
		p->server_name = b->sni ? weft_tls_s(t, b->sni) : NULL;
		p->n_verify_names = b->n_verify < TLS_MAX_NAMES ? b->n_verify : TLS_MAX_NAMES;
		for (unsigned k = 0; k < p->n_verify_names; k++)
			p->verify_names[k] = weft_tls_s(t, b->verify[k]);
	} else {
		p->tickets = b->session_tickets ? keyring : NULL;
		p->scope = scope;
	}
}

static struct tls_ulp_cfg *build(const struct weft_config *cfg, const struct weft_tls_block_cfg *b, const char *scope,
				 char *err, size_t errlen)
{
	const struct weft_tls_cfg *t = &cfg->tls;
	struct tls_ctx_params p;
	struct principal_list *allow = NULL;
	struct tls_cert_info ci;
	char e[WEFT_CFG_ERR_LEN];

	params_of(cfg, b, scope, &p);
	struct tls_ctx *ctx = tls_ctx_new(&p, e, sizeof(e));
	if (ctx == NULL) {
		snprintf(err, errlen, "%s: %s", b->owner, e);
		return NULL;
	}
	if (!b->client && b->principals.n > 0) {
		const char *pat[WEFT_CFG_TLS_MAX_PRINCIPALS];
		for (uint32_t i = 0; i < b->principals.n; i++)
			pat[i] = weft_tls_s(t, t->principals[b->principals.first + i]);
		allow = principal_list_new(pat, b->principals.n, e, sizeof(e));
		if (allow == NULL) {
			snprintf(err, errlen, "%s.allow_principals: %s", b->owner, e);
			tls_ctx_unref(ctx);
			return NULL;
		}
	}
	const char *by = tls_ctx_cert_count(ctx) > 0 && tls_ctx_cert_info(ctx, 0, &ci) == 0 ? ci.uri : "";
	struct tls_ulp_cfg *u = tls_ulp_cfg_new(ctx, b->client, b->mode == WEFT_TLS_PERMISSIVE,
						b->handshake_timeout_ms, allow, by, b->sni ? weft_tls_s(t, b->sni) : "");
	if (u == NULL) {
		snprintf(err, errlen, "%s: out of memory", b->owner);
		tls_ctx_unref(ctx);
		principal_list_free(allow);
	}
	return u;
}

int weft_tls_compile(const struct weft_config *cfg, struct weft_snapshot *s, char *err, size_t errlen)
{
	if (cfg->tls.n_blocks == 0)
		return 0;
	if (lib_init(err, errlen) != 0)
		return -1;
	for (unsigned i = 0; i < cfg->n_listeners; i++) {
		const struct weft_listener_cfg *l = &cfg->listeners[i];
		if (l->tls == 0 || cfg->tls.blocks[l->tls - 1].mode == WEFT_TLS_DISABLE)
			continue;
		s->tls_listener[i] = build(cfg, &cfg->tls.blocks[l->tls - 1], l->name, err, errlen);
		if (s->tls_listener[i] == NULL)
			return -1;
	}
	for (unsigned i = 0; i < cfg->n_clusters; i++) {
		const struct weft_cluster_cfg *c = &cfg->clusters[i];
		if (c->tls == 0)
			continue;
		s->tls_cluster[i] = build(cfg, &cfg->tls.blocks[c->tls - 1], c->name, err, errlen);
		if (s->tls_cluster[i] == NULL)
			return -1;
	}
	return 0;
}

static bool changed(const struct weft_config *cfg, unsigned block, const struct tls_ulp_cfg *u)
{
	struct tls_ctx_params p;
	uint8_t d[32];

	if (u == NULL || block == 0)
		return false;
	params_of(cfg, &cfg->tls.blocks[block - 1], "", &p);
	if (tls_params_digest(&p, d) != 0)
		return true;
	return memcmp(d, tls_ctx_digest(u->ctx), sizeof(d)) != 0;
}

bool weft_tls_files_changed(const struct weft_config *cfg, const struct weft_snapshot *s)
{
	if (s == NULL)
		return false;
	for (unsigned i = 0; i < cfg->n_listeners; i++)
		if (changed(cfg, cfg->listeners[i].tls, s->tls_listener[i]))
			return true;
	for (unsigned i = 0; i < cfg->n_clusters; i++)
		if (changed(cfg, cfg->clusters[i].tls, s->tls_cluster[i]))
			return true;
	return false;
}

uint64_t weft_tls_files_hash(const struct weft_config *cfg)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (unsigned i = 0; i < cfg->tls.n_blocks; i++) {
		struct tls_ctx_params p;
		uint8_t d[32];
		params_of(cfg, &cfg->tls.blocks[i], "", &p);
		if (tls_params_digest(&p, d) != 0)
			memset(d, 0xff, sizeof(d));
		for (size_t k = 0; k < sizeof(d); k++) {
			h ^= d[k];
			h *= 0x100000001b3ULL;
		}
	}
	return h;
}
