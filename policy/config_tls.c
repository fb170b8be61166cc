/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * weft.yaml, the TLS part: the `tls:` block of a listener (termination) or
 * of a cluster (origination), and allow_principals lists. The shape is
 * checked here (known keys, types, limits, modes, principal patterns); the
 * files are read when contexts are built for a snapshot.
 */
#include <stdio.h>
#include <string.h>

#include "policy/config_tls.h"
#include "policy/config_yaml.h"
#include "policy/identity.h"

#define PATH_LEN WEFT_CFGY_PATH_LEN

typedef struct weft_cfg_ctx ctx_t;
typedef struct weft_cfgy_field field_t;

#define fail weft_cfgy_fail
#define line_of weft_cfgy_line
#define is_null weft_cfgy_is_null

const char *weft_tls_mode_name(enum weft_tls_mode m)
{
	switch (m) {
	case WEFT_TLS_DISABLE: return "disable";
	case WEFT_TLS_PERMISSIVE: return "permissive";
	case WEFT_TLS_STRICT: return "strict";
	}
	return "?";
}

static int str_add(ctx_t *c, struct weft_tls_cfg *t, const yaml_node_t *n, const char *path, const char *s,
		   weft_cfg_str *out)
{
	size_t len = strlen(s);

	if (t->str_len == 0) {
		t->str[0] = '\0';
		t->str_len = 1;
	}
	if (len + 1 > sizeof(t->str) - t->str_len)
		return fail(c, line_of(n), path, "the strings of the TLS configuration exceed %u KiB",
			    WEFT_CFG_TLS_STRINGS >> 10);
	memcpy(&t->str[t->str_len], s, len + 1);
	*out = t->str_len;
	t->str_len += (uint32_t)len + 1;
	return 0;
}

/* A file path: non-empty, no control characters. */
static int get_path(ctx_t *c, struct weft_tls_cfg *t, const yaml_node_t *n, const char *path, weft_cfg_str *out)
{
	const char *s = weft_cfgy_scalar(c, n, path, "a file path");

	if (s == NULL)
		return -1;
	if (*s == '\0')
		return fail(c, line_of(n), path, "expected a file path, got an empty string");
	if (strlen(s) > 1023)
		return fail(c, line_of(n), path, "a file path has at most 1023 bytes");
	for (const char *q = s; *q; q++)
		if ((unsigned char)*q < 0x20)
			return fail(c, line_of(n), path, "a file path must not contain control characters");
	return str_add(c, t, n, path, s, out);
}

/* A DNS name or a leading-wildcard one ("*.example.com"); wild says whether "*." is allowed. */
static int get_dns(ctx_t *c, struct weft_tls_cfg *t, const yaml_node_t *n, const char *path, bool wild,
		   weft_cfg_str *out)
{
	char sh[72];
	const char *s = weft_cfgy_scalar(c, n, path, "a DNS name");
	size_t len;

	if (s == NULL)
		return -1;
	len = strlen(s);
	if (len == 0 || len > 253)
		return fail(c, line_of(n), path, "a DNS name has 1 to 253 bytes");
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '*' && wild && i == 0 && len > 2 && s[1] == '.')
			continue;
		if (!(ch == '-' || ch == '.' || ch == '_' || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= 'A' && ch <= 'Z')))
			return fail(c, line_of(n), path, "\"%s\" is not a DNS name%s", weft_cfgy_show(s, sh),
				    wild ? " (a wildcard is a leading \"*.\")" : "");
	}
	if (s[0] == '.' || s[len - 1] == '.' || strstr(s, "..") != NULL)
		return fail(c, line_of(n), path, "\"%s\" is not a DNS name", weft_cfgy_show(s, sh));
	return str_add(c, t, n, path, s, out);
}

/*
 * The alpn key of the block at bpath (node block): [h2, http/1.1] ->
 * "h2,http/1.1". n is its value, NULL when the key is absent: then dflt, or
 * no ALPN when dflt is NULL.
 */
static int get_alpn(ctx_t *c, struct weft_tls_cfg *t, const yaml_node_t *block, const yaml_node_t *n,
		    const char *bpath, const char *dflt, weft_cfg_str *out)
{
	char buf[128] = "", path[PATH_LEN], p[PATH_LEN], sh[72];
	size_t k;

	if (n == NULL)
		return dflt != NULL ? str_add(c, t, block, bpath, dflt, out) : 0;
	weft_cfgy_path_key(path, bpath, "alpn");
	if (is_null(n) || n->type != YAML_SEQUENCE_NODE)
		return fail(c, line_of(n), path, "expected a sequence of protocol names, as [http/1.1]");
	k = weft_cfgy_seq_len(n);
	if (k == 0) {
		*out = 0;
		return 0;
	}
	if (k > WEFT_CFG_TLS_MAX_ALPN)
		return fail(c, line_of(n), path, "too many protocols (%zu, max %d)", k, WEFT_CFG_TLS_MAX_ALPN);
	for (size_t i = 0; i < k; i++) {
		const yaml_node_t *e = weft_cfgy_seq_item(c, n, i);
		const char *s;
		weft_cfgy_path_idx(p, path, i);
		if ((s = weft_cfgy_scalar(c, e, p, "a protocol name")) == NULL)
			return -1;
		if (strcmp(s, "h2") != 0 && strcmp(s, "http/1.1") != 0 && strcmp(s, "http/1.0") != 0)
			return fail(c, line_of(e), p, "unknown protocol \"%s\" (expected h2, http/1.1 or http/1.0)",
				    weft_cfgy_show(s, sh));
		if (strlen(buf) + strlen(s) + 2 > sizeof(buf))
			return fail(c, line_of(e), p, "the protocol list is too long");
		if (buf[0])
			strcat(buf, ",");
		strcat(buf, s);
	}
	return str_add(c, t, n, path, buf, out);
}

/* versions: "tls12+" (TLS 1.2 and 1.3) or "tls13". */
static int get_versions(ctx_t *c, const yaml_node_t *n, const char *path, uint8_t *out)
{
	char p[PATH_LEN], sh[72];
	const char *s;

	weft_cfgy_path_key(p, path, "versions");
	if ((s = weft_cfgy_scalar(c, n, p, "tls12+ or tls13")) == NULL)
		return -1;
	if (strcmp(s, "tls12+") == 0)
		*out = WEFT_TLS_V12_PLUS;
	else if (strcmp(s, "tls13") == 0)
		*out = WEFT_TLS_V13;
	else
		return fail(c, line_of(n), p, "unknown versions \"%s\" (expected tls12+ or tls13)", weft_cfgy_show(s, sh));
	return 0;
}

static int get_names(ctx_t *c, struct weft_tls_cfg *t, const yaml_node_t *n, const char *path, bool wild,
		     weft_cfg_str *out, unsigned *count, bool spiffe_ok)
{
	char p[PATH_LEN];
	size_t k;

	if (is_null(n) || n->type != YAML_SEQUENCE_NODE)
		return fail(c, line_of(n), path, "expected a sequence of names");
	k = weft_cfgy_seq_len(n);
	if (k > WEFT_CFG_TLS_MAX_NAMES)
		return fail(c, line_of(n), path, "too many names (%zu, max %d)", k, WEFT_CFG_TLS_MAX_NAMES);
	for (size_t i = 0; i < k; i++) {
		const yaml_node_t *e = weft_cfgy_seq_item(c, n, i);
		weft_cfgy_path_idx(p, path, i);
		if (spiffe_ok && e != NULL && e->type == YAML_SCALAR_NODE &&
		    strncmp((const char *)e->data.scalar.value, "spiffe://", 9) == 0) {
			const char *s = (const char *)e->data.scalar.value;
			char perr[256];
			struct principal_list *pl = principal_list_new(&s, 1, perr, sizeof(perr));
			if (pl == NULL)
				return fail(c, line_of(e), p, "%s", perr);
			principal_list_free(pl);
			if (str_add(c, t, e, p, s, &out[i]) != 0)
				return -1;
			continue;
		}
		if (get_dns(c, t, e, p, wild, &out[i]) != 0)
			return -1;
	}
	*count = (unsigned)k;
	return 0;
}

int weft_cfgt_principals(struct weft_cfg_ctx *c, const char *path, const yaml_node_t *n, struct weft_config *cfg,
			 struct weft_cfg_range *out)
{
	struct weft_tls_cfg *t = &cfg->tls;
	char p[PATH_LEN], perr[256];
	size_t k;

	out->first = t->n_principals;
	out->n = 0;
	if (is_null(n) || n->type != YAML_SEQUENCE_NODE)
		return fail(c, line_of(n), path,
			    "expected a sequence of SPIFFE IDs or patterns, as [\"spiffe://weft.test/ns/a/*\"]");
	k = weft_cfgy_seq_len(n);
	for (size_t i = 0; i < k; i++) {
		const yaml_node_t *e = weft_cfgy_seq_item(c, n, i);
		const char *s;
		weft_cfgy_path_idx(p, path, i);
		if ((s = weft_cfgy_scalar(c, e, p, "a SPIFFE ID or pattern")) == NULL)
			return -1;
		struct principal_list *pl = principal_list_new(&s, 1, perr, sizeof(perr));
		if (pl == NULL)
			return fail(c, line_of(e), p, "%s", perr);
		principal_list_free(pl);
		if (t->n_principals >= WEFT_CFG_TLS_MAX_PRINCIPALS)
			return fail(c, line_of(e), p, "too many allow_principals entries (max %d in all)",
				    WEFT_CFG_TLS_MAX_PRINCIPALS);
		if (str_add(c, t, e, p, s, &t->principals[t->n_principals]) != 0)
			return -1;
		t->n_principals++;
		out->n++;
	}
	return 0;
}

/* One entry of certificates: {cert, key, names}. */
static int parse_cert(ctx_t *c, struct weft_tls_cfg *t, const yaml_node_t *n, const char *path,
		      struct weft_tls_cert_cfg *out)
{
	enum { CERT, KEY, NAMES, N };
	field_t f[N] = {[CERT] = {"cert"}, [KEY] = {"key"}, [NAMES] = {"names"}};
	char p[PATH_LEN];

	memset(out, 0, sizeof(*out));
	out->line = line_of(n);
	if (is_null(n) || n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n), path, "expected a mapping {cert, key, names}");
	if (weft_cfgy_fields(c, n, path, f, N) != 0)
		return -1;
	for (int i = CERT; i <= KEY; i++) {
		weft_cfgy_path_key(p, path, f[i].key);
		if (f[i].val == NULL)
			return fail(c, out->line, p, "required key is missing");
		if (get_path(c, t, f[i].val, p, i == CERT ? &out->cert : &out->key) != 0)
			return -1;
	}
	if (f[NAMES].val != NULL) {
		weft_cfgy_path_key(p, path, "names");
		if (get_names(c, t, f[NAMES].val, p, true, out->names, &out->n_names, false) != 0)
			return -1;
	}
	return 0;
}

static struct weft_tls_block_cfg *block_new(ctx_t *c, struct weft_config *cfg, const yaml_node_t *n,
					    const char *path)
{
	struct weft_tls_block_cfg *b;

	if (cfg->tls.n_blocks >= WEFT_CFG_MAX_TLS) {
		fail(c, line_of(n), path, "too many tls blocks (max %d, listeners and clusters together)",
		     WEFT_CFG_MAX_TLS);
		return NULL;
	}
	b = &cfg->tls.blocks[cfg->tls.n_blocks];
	memset(b, 0, sizeof(*b));
	b->line = line_of(n);
	snprintf(b->owner, sizeof(b->owner), "%s", path);
	b->session_tickets = true;
	b->handshake_timeout_ms = WEFT_CFG_TLS_HANDSHAKE_TIMEOUT_MS_DEFAULT;
	return b;
}

int weft_cfgt_listener(struct weft_cfg_ctx *c, const char *lpath, const yaml_node_t *n, struct weft_listener_cfg *l,
		       struct weft_config *cfg)
{
	enum { MODE, CERTS, TRUST, CRL, ALPN, VERSIONS, TICKETS, HS_TIMEOUT, PRINCIPALS, N };
	field_t f[N] = {[MODE] = {"mode"},
			[CERTS] = {"certificates"},
			[TRUST] = {"trust_bundle"},
			[CRL] = {"crl"},
			[ALPN] = {"alpn"},
			[VERSIONS] = {"versions"},
			[TICKETS] = {"session_tickets"},
			[HS_TIMEOUT] = {"handshake_timeout_ms"},
			[PRINCIPALS] = {"allow_principals"}};
	struct weft_tls_cfg *t = &cfg->tls;
	struct weft_tls_block_cfg *b;
	char path[PATH_LEN], p[PATH_LEN], sh[72];
	const char *s;

	weft_cfgy_path_key(path, lpath, "tls");
	if (is_null(n) || n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n), path, "expected a mapping (mode, certificates, trust_bundle, ...)");
	if (l->kind != WEFT_LISTENER_HTTP && l->kind != WEFT_LISTENER_TCP_PROXY)
		return fail(c, line_of(n), path,
			    "only listeners of kind http and tcp_proxy terminate TLS (tls_passthrough forwards it)");
	if (weft_cfgy_fields(c, n, path, f, N) != 0)
		return -1;
	if ((b = block_new(c, cfg, n, path)) == NULL)
		return -1;

	weft_cfgy_path_key(p, path, "mode");
	if (f[MODE].val == NULL)
		return fail(c, line_of(n), p, "required key is missing (disable, permissive or strict)");
	if ((s = weft_cfgy_scalar(c, f[MODE].val, p, "a TLS mode")) == NULL)
		return -1;
	if (strcmp(s, "disable") == 0)
		b->mode = WEFT_TLS_DISABLE;
	else if (strcmp(s, "permissive") == 0)
		b->mode = WEFT_TLS_PERMISSIVE;
	else if (strcmp(s, "strict") == 0)
		b->mode = WEFT_TLS_STRICT;
	else
		return fail(c, line_of(f[MODE].val), p, "unknown mode \"%s\" (expected disable, permissive or strict)",
			    weft_cfgy_show(s, sh));

	weft_cfgy_path_key(p, path, "certificates");
	if (f[CERTS].val == NULL) {
		if (b->mode != WEFT_TLS_DISABLE)
			return fail(c, line_of(n), p, "required key is missing");
	} else {
		const yaml_node_t *cs = f[CERTS].val;
		if (is_null(cs) || cs->type != YAML_SEQUENCE_NODE || weft_cfgy_seq_len(cs) == 0)
			return fail(c, line_of(cs), p, "expected a non-empty sequence of {cert, key, names}");
		if (weft_cfgy_seq_len(cs) > WEFT_CFG_TLS_MAX_CERTS)
			return fail(c, line_of(cs), p, "too many certificates (%zu, max %d)", weft_cfgy_seq_len(cs),
				    WEFT_CFG_TLS_MAX_CERTS);
		for (size_t i = 0; i < weft_cfgy_seq_len(cs); i++) {
			char q[PATH_LEN];
			weft_cfgy_path_idx(q, p, i);
			if (parse_cert(c, t, weft_cfgy_seq_item(c, cs, i), q, &b->certs[i]) != 0)
				return -1;
			b->n_certs = (unsigned)i + 1;
		}
	}
	weft_cfgy_path_key(p, path, "trust_bundle");
	if (f[TRUST].val != NULL) {
		if (get_path(c, t, f[TRUST].val, p, &b->trust_bundle) != 0)
			return -1;
	} else if (b->mode != WEFT_TLS_DISABLE) {
		return fail(c, line_of(n), p, "required key is missing (mode %s verifies client certificates)",
			    weft_tls_mode_name(b->mode));
	}
	if (f[CRL].val != NULL) {
		weft_cfgy_path_key(p, path, "crl");
		if (get_path(c, t, f[CRL].val, p, &b->crl) != 0)
			return -1;
	}
	if (get_alpn(c, t, n, f[ALPN].val, path, l->kind == WEFT_LISTENER_HTTP ? "http/1.1" : NULL, &b->alpn) != 0)
		return -1;
	if (f[VERSIONS].val != NULL && get_versions(c, f[VERSIONS].val, path, &b->versions) != 0)
		return -1;
	if (f[TICKETS].val != NULL) {
		weft_cfgy_path_key(p, path, "session_tickets");
		if (weft_cfgy_bool(c, f[TICKETS].val, p, &b->session_tickets) != 0)
			return -1;
	}
	if (f[HS_TIMEOUT].val != NULL) {
		uint64_t v;
		weft_cfgy_path_key(p, path, "handshake_timeout_ms");
		if (weft_cfgy_u64(c, f[HS_TIMEOUT].val, p, 1, WEFT_CFG_TLS_HANDSHAKE_TIMEOUT_MS_MAX, &v) != 0)
			return -1;
		b->handshake_timeout_ms = (uint32_t)v;
	}
	if (f[PRINCIPALS].val != NULL) {
		weft_cfgy_path_key(p, path, "allow_principals");
		if (weft_cfgt_principals(c, p, f[PRINCIPALS].val, cfg, &b->principals) != 0)
			return -1;
	}
	t->n_blocks++;
	l->tls = t->n_blocks;
	return 0;
}

int weft_cfgt_cluster(struct weft_cfg_ctx *c, const char *cpath, const yaml_node_t *n, struct weft_cluster_cfg *cl,
		      struct weft_config *cfg)
{
	enum { CERT, KEY, TRUST, CRL, SNI, VERIFY, ALPN, VERSIONS, N };
	field_t f[N] = {[CERT] = {"cert"},      [KEY] = {"key"},   [TRUST] = {"trust_bundle"},
			[CRL] = {"crl"},        [SNI] = {"sni"},   [VERIFY] = {"verify_san"},
			[ALPN] = {"alpn"},      [VERSIONS] = {"versions"}};
	struct weft_tls_cfg *t = &cfg->tls;
	struct weft_tls_block_cfg *b;
	char path[PATH_LEN], p[PATH_LEN];

	weft_cfgy_path_key(path, cpath, "tls");
	if (is_null(n) || n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n), path, "expected a mapping (trust_bundle, cert, key, sni, verify_san, alpn)");
	if (weft_cfgy_fields(c, n, path, f, N) != 0)
		return -1;
	if ((b = block_new(c, cfg, n, path)) == NULL)
		return -1;
	b->client = true;
	b->mode = WEFT_TLS_STRICT;
	b->session_tickets = false;
	if ((f[CERT].val == NULL) != (f[KEY].val == NULL)) {
		weft_cfgy_path_key(p, path, f[CERT].val == NULL ? "cert" : "key");
		return fail(c, line_of(n), p, "cert and key go together (the client certificate for mTLS)");
	}
	if (f[CERT].val != NULL) {
		b->n_certs = 1;
		b->certs[0].line = line_of(f[CERT].val);
		weft_cfgy_path_key(p, path, "cert");
		if (get_path(c, t, f[CERT].val, p, &b->certs[0].cert) != 0)
			return -1;
		weft_cfgy_path_key(p, path, "key");
		if (get_path(c, t, f[KEY].val, p, &b->certs[0].key) != 0)
			return -1;
	}
	weft_cfgy_path_key(p, path, "trust_bundle");
	if (f[TRUST].val == NULL)
		return fail(c, line_of(n), p, "required key is missing (the upstream's certificate is verified)");
	if (get_path(c, t, f[TRUST].val, p, &b->trust_bundle) != 0)
		return -1;
	if (f[CRL].val != NULL) {
		weft_cfgy_path_key(p, path, "crl");
		if (get_path(c, t, f[CRL].val, p, &b->crl) != 0)
			return -1;
	}
	if (f[SNI].val != NULL) {
		weft_cfgy_path_key(p, path, "sni");
		if (get_dns(c, t, f[SNI].val, p, false, &b->sni) != 0)
			return -1;
	}
	if (f[VERIFY].val != NULL) {
		weft_cfgy_path_key(p, path, "verify_san");
		if (get_names(c, t, f[VERIFY].val, p, true, b->verify, &b->n_verify, true) != 0)
			return -1;
	}
	if (get_alpn(c, t, n, f[ALPN].val, path, NULL, &b->alpn) != 0)
		return -1;
	if (f[VERSIONS].val != NULL && get_versions(c, f[VERSIONS].val, path, &b->versions) != 0)
		return -1;
	t->n_blocks++;
	cl->tls = t->n_blocks;
	return 0;
}
