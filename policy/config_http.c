/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * weft.yaml, the HTTP part: route_configs (virtual hosts and routes), the
 * keys of http listeners, and the load-balancing keys of clusters.
 *
 * The shape follows Envoy's RouteConfiguration, as docs/routing.md
 * describes it. This loader checks the shape (known keys, types, the
 * one-of groups, cluster names) and stores the model in struct
 * weft_http_cfg; what only the compiler can judge (regexes, domains,
 * rewrites against the match kind) is refused by policy/httpcfg.c with
 * the same "FILE:LINE: key.path: message" form.
 */
#include <stdio.h>
#include <string.h>

#include "policy/config_http.h"
#include "policy/config_yaml.h"
#include "policy/lb.h"
#include "policy/route.h"

#define PATH_LEN WEFT_CFGY_PATH_LEN
#define REQUEST_TIMEOUT_MS_DEFAULT 15000u /* Envoy's route timeout */
#define REQUEST_TIMEOUT_MS_MAX 3600000u
#define POOL_MAX_IDLE_DEFAULT 64u
#define POOL_MAX_IDLE_MAX 65536u
#define POOL_IDLE_TIMEOUT_MS_DEFAULT 60000u /* below nginx's 75 s keepalive_timeout: weft closes first */
#define POOL_IDLE_TIMEOUT_MS_MAX 3600000u

typedef struct weft_cfg_ctx ctx_t;
typedef struct weft_cfgy_field field_t;

#define fail weft_cfgy_fail
#define line_of weft_cfgy_line
#define is_null weft_cfgy_is_null

/* ---- strings ---------------------------------------------------------------------------------- */

static void http_init(ctx_t *c, struct weft_http_cfg *h)
{
	if (h->str_len == 0) {
		h->str[0] = '\0';
		h->str_len = 1;
		snprintf(h->source, sizeof(h->source), "%s", weft_cfgy_file(c));
	}
}

/* Copy s into the arena; *out its offset. */
static int str_add(ctx_t *c, struct weft_http_cfg *h, const yaml_node_t *n, const char *path, const char *s,
		   weft_cfg_str *out)
{
	size_t len = strlen(s);

	if (len + 1 > sizeof(h->str) - h->str_len)
		return fail(c, line_of(n), path, "the strings of the HTTP configuration exceed %u KiB",
			    WEFT_CFG_HTTP_STRINGS >> 10);
	memcpy(&h->str[h->str_len], s, len + 1);
	*out = h->str_len;
	h->str_len += (uint32_t)len + 1;
	return 0;
}

/* A scalar string, copied into the arena. */
static int get_str(ctx_t *c, struct weft_http_cfg *h, const yaml_node_t *n, const char *path, const char *what,
		   weft_cfg_str *out)
{
	const char *s = weft_cfgy_scalar(c, n, path, what);

	if (s == NULL)
		return -1;
	return str_add(c, h, n, path, s, out);
}

/* RFC 9110 5.6.2 token. */
static bool is_token(const char *s)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch != '\0' && strchr(extra, ch) != NULL)))
			return false;
	}
	return true;
}

/* A header name: a token. */
static int get_header_name(ctx_t *c, struct weft_http_cfg *h, const yaml_node_t *n, const char *path,
			   weft_cfg_str *out)
{
	char sh[72];
	const char *s = weft_cfgy_scalar(c, n, path, "a header name");

	if (s == NULL)
		return -1;
	if (!is_token(s))
		return fail(c, line_of(n), path, "\"%s\" is not a header name (an RFC 9110 token)",
			    weft_cfgy_show(s, sh));
	return str_add(c, h, n, path, s, out);
}

/* A header value: no CR, LF or NUL (RFC 9110 5.5). */
static int get_header_value(ctx_t *c, struct weft_http_cfg *h, const yaml_node_t *n, const char *path,
			    weft_cfg_str *out)
{
	const char *s = weft_cfgy_scalar(c, n, path, "a header value");

	if (s == NULL)
		return -1;
	if (strpbrk(s, "\r\n") != NULL)
		return fail(c, line_of(n), path, "a header value must not contain CR or LF");
	return str_add(c, h, n, path, s, out);
}

static int get_u32(ctx_t *c, const yaml_node_t *n, const char *path, uint32_t lo, uint32_t hi, uint32_t *out)
{
	uint64_t v;

	if (weft_cfgy_u64(c, n, path, lo, hi, &v) != 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int want_seq(ctx_t *c, const yaml_node_t *n, const char *path, const char *what)
{
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, line_of(n), path, "expected a sequence of %s", what);
	return 0;
}

static int cluster_index(ctx_t *c, const struct weft_config *cfg, const yaml_node_t *n, const char *path,
			 uint32_t *out)
{
	char sh[72];
	const char *s = weft_cfgy_scalar(c, n, path, "a cluster name");

	if (s == NULL)
		return -1;
	for (unsigned k = 0; k < cfg->n_clusters; k++) {
		if (strcmp(cfg->clusters[k].name, s) == 0) {
			*out = k;
			return 0;
		}
	}
	return fail(c, line_of(n), path, "no cluster named \"%s\"", weft_cfgy_show(s, sh));
}

/* ---- matchers ---------------------------------------------------------------------------------- */

/* headers[] or query[]: {name, exact | regex | present | absent, invert}. */
static int parse_kvs(ctx_t *c, const yaml_node_t *n, const char *path, bool header, struct weft_http_cfg *h,
		     struct weft_cfg_range *out)
{
	char ip[PATH_LEN], p[PATH_LEN];

	out->first = h->n_kv;
	out->n = 0;
	if (is_null(n))
		return 0;
	if (want_seq(c, n, path, header ? "header conditions" : "query parameter conditions") != 0)
		return -1;
	size_t cnt = weft_cfgy_seq_len(n);
	if (cnt > WEFT_CFG_MAX_HTTP_MATCHES - h->n_kv)
		return fail(c, line_of(n), path, "too many header and query conditions (max %d in all routes)",
			    WEFT_CFG_MAX_HTTP_MATCHES);
	for (size_t i = 0; i < cnt; i++) {
		enum { NAME, EXACT, REGEX, PRESENT, ABSENT, INVERT, N };
		field_t f[N] = {[NAME] = {"name"},       [EXACT] = {"exact"},   [REGEX] = {"regex"},
				[PRESENT] = {"present"}, [ABSENT] = {"absent"}, [INVERT] = {"invert"}};
		const yaml_node_t *e = weft_cfgy_seq_item(c, n, i);
		struct weft_http_kv_cfg *kv = &h->kv[h->n_kv];
		int given = 0, which = -1;

		weft_cfgy_path_idx(ip, path, i);
		memset(kv, 0, sizeof(*kv));
		kv->line = line_of(e);
		if (e == NULL || e->type != YAML_MAPPING_NODE)
			return fail(c, line_of(e), ip, "expected a mapping with name and one of exact, regex, present, absent");
		if (weft_cfgy_fields(c, e, ip, f, N) != 0)
			return -1;
		weft_cfgy_path_key(p, ip, "name");
		if (f[NAME].val == NULL)
			return fail(c, kv->line, p, "required key is missing");
		if (header ? get_header_name(c, h, f[NAME].val, p, &kv->name) != 0
			   : get_str(c, h, f[NAME].val, p, "a parameter name", &kv->name) != 0)
			return -1;
		if (!header && h->str[kv->name] == '\0')
			return fail(c, line_of(f[NAME].val), p, "must not be empty");
		for (int k = EXACT; k <= ABSENT; k++) {
			if (f[k].val == NULL)
				continue;
			if (given++ > 0) {
				weft_cfgy_path_key(p, ip, f[k].key);
				return fail(c, f[k].key_line, p, "give one of exact, regex, present and absent, not %s and %s",
					    f[which].key, f[k].key);
			}
			which = k;
		}
		if (which < 0)
			return fail(c, kv->line, ip, "one of exact, regex, present and absent is required");
		weft_cfgy_path_key(p, ip, f[which].key);
		if (which == EXACT) {
			kv->kind = WEFT_ROUTE_VALUE_EXACT;
			if (get_str(c, h, f[EXACT].val, p, "a value", &kv->value) != 0)
				return -1;
		} else if (which == REGEX) {
			kv->kind = WEFT_ROUTE_VALUE_REGEX;
			if (get_str(c, h, f[REGEX].val, p, "a regex", &kv->value) != 0)
				return -1;
		} else {
			bool b;
			if (weft_cfgy_bool(c, f[which].val, p, &b) != 0)
				return -1;
			if (!b)
				return fail(c, line_of(f[which].val), p, "only true makes sense here (use %s: true, or invert)",
					    which == PRESENT ? "absent" : "present");
			kv->kind = which == PRESENT ? WEFT_ROUTE_VALUE_PRESENT : WEFT_ROUTE_VALUE_ABSENT;
		}
		if (f[INVERT].val != NULL) {
			weft_cfgy_path_key(p, ip, "invert");
			if (weft_cfgy_bool(c, f[INVERT].val, p, &kv->invert) != 0)
				return -1;
		}
		h->n_kv++;
		out->n++;
	}
	return 0;
}

static int parse_match(ctx_t *c, const yaml_node_t *n, const char *path, struct weft_http_cfg *h,
		       struct weft_http_route_cfg *r)
{
	enum { PATH, PREFIX, REGEX, METHODS, HEADERS, QUERY, N };
	field_t f[N] = {[PATH] = {"path"},       [PREFIX] = {"prefix"},   [REGEX] = {"regex"},
			[METHODS] = {"methods"}, [HEADERS] = {"headers"}, [QUERY] = {"query"}};
	static const uint8_t kinds[] = {[PATH] = WEFT_ROUTE_PATH_EXACT, [PREFIX] = WEFT_ROUTE_PATH_PREFIX,
					[REGEX] = WEFT_ROUTE_PATH_REGEX};
	char p[PATH_LEN], ip[PATH_LEN], sh[72];
	int which = -1;

	r->match_line = line_of(n);
	r->path_kind = WEFT_ROUTE_PATH_ANY;
	if (!is_null(n) && n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n), path, "expected a mapping");
	if (weft_cfgy_fields(c, n, path, f, N) != 0)
		return -1;
	for (int k = PATH; k <= REGEX; k++) {
		if (f[k].val == NULL)
			continue;
		weft_cfgy_path_key(p, path, f[k].key);
		if (which >= 0)
			return fail(c, f[k].key_line, p, "give one of path, prefix and regex, not %s and %s", f[which].key,
				    f[k].key);
		which = k;
		r->path_kind = kinds[k];
		if (get_str(c, h, f[k].val, p, k == REGEX ? "a regex" : "a path", &r->path) != 0)
			return -1;
		if (k != REGEX && h->str[r->path] != '/')
			return fail(c, line_of(f[k].val), p, "\"%s\" must start with /",
				    weft_cfgy_show(&h->str[r->path], sh));
	}
	if (f[METHODS].val != NULL && !is_null(f[METHODS].val)) {
		const yaml_node_t *m = f[METHODS].val;
		weft_cfgy_path_key(p, path, "methods");
		if (want_seq(c, m, p, "methods") != 0)
			return -1;
		for (size_t i = 0; i < weft_cfgy_seq_len(m); i++) {
			const yaml_node_t *e = weft_cfgy_seq_item(c, m, i);
			weft_cfgy_path_idx(ip, p, i);
			const char *s = weft_cfgy_scalar(c, e, ip, "a method");
			if (s == NULL)
				return -1;
			uint32_t bit = weft_http_method_bit(s, strlen(s));
			if (bit == 0 || bit == WEFT_HTTP_M_OTHER)
				return fail(c, line_of(e), ip,
					    "unknown method \"%s\" (GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, "
					    "PATCH)",
					    weft_cfgy_show(s, sh));
			r->methods |= bit;
		}
	}
	weft_cfgy_path_key(p, path, "headers");
	if (parse_kvs(c, f[HEADERS].val, p, true, h, &r->headers) != 0)
		return -1;
	weft_cfgy_path_key(p, path, "query");
	return parse_kvs(c, f[QUERY].val, p, false, h, &r->query);
}

/* ---- actions ---------------------------------------------------------------------------------- */

static int parse_forward(ctx_t *c, const yaml_node_t *n, const char *path, const struct weft_config *cfg,
			 struct weft_http_cfg *h, struct weft_http_route_cfg *r)
{
	enum { CLUSTER, WEIGHTED, PREFIX_REWRITE, REGEX_REWRITE, HOST_REWRITE, TIMEOUT, RETRY, N };
	field_t f[N] = {[CLUSTER] = {"cluster"},
			[WEIGHTED] = {"weighted_clusters"},
			[PREFIX_REWRITE] = {"prefix_rewrite"},
			[REGEX_REWRITE] = {"regex_rewrite"},
			[HOST_REWRITE] = {"host_rewrite"},
			[TIMEOUT] = {"timeout_ms"},
			[RETRY] = {"retry_policy"}};
	char p[PATH_LEN], ip[PATH_LEN], kp[PATH_LEN];

	if (is_null(n) || n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n), path, "expected a mapping with cluster or weighted_clusters");
	if (weft_cfgy_fields(c, n, path, f, N) != 0)
		return -1;
	if (f[CLUSTER].val != NULL && f[WEIGHTED].val != NULL) {
		weft_cfgy_path_key(p, path, "weighted_clusters");
		return fail(c, f[WEIGHTED].key_line, p, "give cluster or weighted_clusters, not both");
	}
	if (f[CLUSTER].val != NULL) {
		weft_cfgy_path_key(p, path, "cluster");
		r->action = WEFT_ROUTE_ACT_CLUSTER;
		if (cluster_index(c, cfg, f[CLUSTER].val, p, &r->cluster) != 0)
			return -1;
	} else if (f[WEIGHTED].val != NULL) {
		const yaml_node_t *w = f[WEIGHTED].val;
		weft_cfgy_path_key(p, path, "weighted_clusters");
		r->action = WEFT_ROUTE_ACT_WEIGHTED;
		if (want_seq(c, w, p, "clusters with weights") != 0)
			return -1;
		size_t cnt = weft_cfgy_seq_len(w);
		uint64_t total = 0;
		if (cnt == 0)
			return fail(c, line_of(w), p, "at least one cluster is required");
		if (cnt > WEFT_CFG_MAX_HTTP_WEIGHTED - h->n_weighted)
			return fail(c, line_of(w), p, "too many weighted clusters (max %d in all routes)",
				    WEFT_CFG_MAX_HTTP_WEIGHTED);
		r->weighted.first = h->n_weighted;
		for (size_t i = 0; i < cnt; i++) {
			enum { NAME, WEIGHT, NW };
			field_t g[NW] = {[NAME] = {"name"}, [WEIGHT] = {"weight"}};
			const yaml_node_t *e = weft_cfgy_seq_item(c, w, i);
			struct weft_http_weighted_cfg *wc = &h->weighted[h->n_weighted];
			weft_cfgy_path_idx(ip, p, i);
			if (e == NULL || e->type != YAML_MAPPING_NODE)
				return fail(c, line_of(e), ip, "expected a mapping with name and weight");
			if (weft_cfgy_fields(c, e, ip, g, NW) != 0)
				return -1;
			weft_cfgy_path_key(kp, ip, "name");
			if (g[NAME].val == NULL)
				return fail(c, line_of(e), kp, "required key is missing");
			if (cluster_index(c, cfg, g[NAME].val, kp, &wc->cluster) != 0)
				return -1;
			weft_cfgy_path_key(kp, ip, "weight");
			if (g[WEIGHT].val == NULL)
				return fail(c, line_of(e), kp, "required key is missing");
			if (get_u32(c, g[WEIGHT].val, kp, 0, 1000000, &wc->weight) != 0)
				return -1;
			total += wc->weight;
			h->n_weighted++;
			r->weighted.n++;
		}
		if (total == 0)
			return fail(c, line_of(w), p, "the weights add up to 0: no cluster could ever be picked");
	} else {
		return fail(c, line_of(n), path, "cluster or weighted_clusters is required");
	}
	if (f[PREFIX_REWRITE].val != NULL && f[REGEX_REWRITE].val != NULL) {
		weft_cfgy_path_key(p, path, "regex_rewrite");
		return fail(c, f[REGEX_REWRITE].key_line, p, "give prefix_rewrite or regex_rewrite, not both");
	}
	if (f[PREFIX_REWRITE].val != NULL) {
		weft_cfgy_path_key(p, path, "prefix_rewrite");
		if (get_str(c, h, f[PREFIX_REWRITE].val, p, "a path prefix", &r->prefix_rewrite) != 0)
			return -1;
		r->prefix_rewrite_set = true;
	}
	if (f[REGEX_REWRITE].val != NULL) {
		enum { PATTERN, SUBST, NR };
		field_t g[NR] = {[PATTERN] = {"pattern"}, [SUBST] = {"substitution"}};
		weft_cfgy_path_key(p, path, "regex_rewrite");
		if (f[REGEX_REWRITE].val->type != YAML_MAPPING_NODE)
			return fail(c, line_of(f[REGEX_REWRITE].val), p, "expected a mapping with pattern and substitution");
		if (weft_cfgy_fields(c, f[REGEX_REWRITE].val, p, g, NR) != 0)
			return -1;
		for (int k = 0; k < NR; k++) {
			weft_cfgy_path_key(kp, p, g[k].key);
			if (g[k].val == NULL)
				return fail(c, line_of(f[REGEX_REWRITE].val), kp, "required key is missing");
			if (get_str(c, h, g[k].val, kp, k == PATTERN ? "a regex" : "a substitution",
				    k == PATTERN ? &r->regex_pattern : &r->regex_substitution) != 0)
				return -1;
		}
		if (h->str[r->regex_pattern] == '\0')
			return fail(c, line_of(g[PATTERN].val), p, "pattern must not be empty");
	}
	if (f[HOST_REWRITE].val != NULL) {
		weft_cfgy_path_key(p, path, "host_rewrite");
		if (get_header_value(c, h, f[HOST_REWRITE].val, p, &r->host_rewrite) != 0)
			return -1;
		if (h->str[r->host_rewrite] == '\0')
			return fail(c, line_of(f[HOST_REWRITE].val), p, "must not be empty");
	}
	if (f[TIMEOUT].val != NULL) {
		weft_cfgy_path_key(p, path, "timeout_ms");
		if (get_u32(c, f[TIMEOUT].val, p, 1, REQUEST_TIMEOUT_MS_MAX, &r->timeout_ms) != 0)
			return -1;
	}
	weft_cfgy_path_key(p, path, "retry_policy");
	return weft_cfgh_retry_policy(c, f[RETRY].val, p, &r->retry);
}

static int parse_redirect(ctx_t *c, const yaml_node_t *n, const char *path, struct weft_http_cfg *h,
			  struct weft_http_route_cfg *r)
{
	enum { SCHEME, HOST, PORT, PATH, PREFIX, CODE, STRIP, N };
	field_t f[N] = {[SCHEME] = {"scheme_redirect"}, [HOST] = {"host_redirect"},
			[PORT] = {"port_redirect"},     [PATH] = {"path_redirect"},
			[PREFIX] = {"prefix_rewrite"},  [CODE] = {"response_code"},
			[STRIP] = {"strip_query"}};
	char p[PATH_LEN];
	uint32_t v;

	r->action = WEFT_ROUTE_ACT_REDIRECT;
	r->redirect_status = 301;
	if (!is_null(n) && n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n), path, "expected a mapping");
	if (weft_cfgy_fields(c, n, path, f, N) != 0)
		return -1;
	if (f[PATH].val != NULL && f[PREFIX].val != NULL) {
		weft_cfgy_path_key(p, path, "prefix_rewrite");
		return fail(c, f[PREFIX].key_line, p, "give path_redirect or prefix_rewrite, not both");
	}
	struct {
		int k;
		weft_cfg_str *out;
	} strs[] = {{SCHEME, &r->redirect_scheme}, {HOST, &r->redirect_host}, {PATH, &r->redirect_path},
		    {PREFIX, &r->redirect_prefix}};
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (f[strs[i].k].val == NULL)
			continue;
		weft_cfgy_path_key(p, path, f[strs[i].k].key);
		if (get_header_value(c, h, f[strs[i].k].val, p, strs[i].out) != 0)
			return -1;
	}
	if (r->redirect_scheme != 0 && strcmp(&h->str[r->redirect_scheme], "http") != 0 &&
	    strcmp(&h->str[r->redirect_scheme], "https") != 0) {
		weft_cfgy_path_key(p, path, "scheme_redirect");
		return fail(c, line_of(f[SCHEME].val), p, "expected http or https");
	}
	if (f[PORT].val != NULL) {
		weft_cfgy_path_key(p, path, "port_redirect");
		if (get_u32(c, f[PORT].val, p, 1, 65535, &v) != 0)
			return -1;
		r->redirect_port = (uint16_t)v;
	}
	if (f[CODE].val != NULL) {
		weft_cfgy_path_key(p, path, "response_code");
		if (get_u32(c, f[CODE].val, p, 301, 308, &v) != 0)
			return -1;
		if (v != 301 && v != 302 && v != 303 && v != 307 && v != 308)
			return fail(c, line_of(f[CODE].val), p, "%u is not a redirect status (301, 302, 303, 307 or 308)", v);
		r->redirect_status = (uint16_t)v;
	}
	if (f[STRIP].val != NULL) {
		weft_cfgy_path_key(p, path, "strip_query");
		if (weft_cfgy_bool(c, f[STRIP].val, p, &r->redirect_strip_query) != 0)
			return -1;
	}
	return 0;
}

static int parse_direct(ctx_t *c, const yaml_node_t *n, const char *path, struct weft_http_cfg *h,
			struct weft_http_route_cfg *r)
{
	enum { STATUS, BODY, N };
	field_t f[N] = {[STATUS] = {"status"}, [BODY] = {"body"}};
	char p[PATH_LEN];
	uint32_t v;

	r->action = WEFT_ROUTE_ACT_DIRECT;
	if (is_null(n) || n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n), path, "expected a mapping with status and body");
	if (weft_cfgy_fields(c, n, path, f, N) != 0)
		return -1;
	weft_cfgy_path_key(p, path, "status");
	if (f[STATUS].val == NULL)
		return fail(c, line_of(n), p, "required key is missing");
	/* 1xx would leave the client waiting for a final response that never comes. */
	if (get_u32(c, f[STATUS].val, p, 200, 599, &v) != 0)
		return -1;
	r->direct_status = (uint16_t)v;
	if (f[BODY].val != NULL) {
		weft_cfgy_path_key(p, path, "body");
		const char *s = weft_cfgy_scalar(c, f[BODY].val, p, "a string");
		if (s == NULL)
			return -1;
		if (strlen(s) > WEFT_CFG_MAX_DIRECT_BODY)
			return fail(c, line_of(f[BODY].val), p, "too long (%zu bytes, max %d)", strlen(s),
				    WEFT_CFG_MAX_DIRECT_BODY);
		if (str_add(c, h, f[BODY].val, p, s, &r->direct_body) != 0)
			return -1;
	}
	return 0;
}

/* request_headers_to_add / _to_set: [{name, value}]; _to_remove: [name]. */
static int parse_hdr_list(ctx_t *c, const yaml_node_t *n, const char *path, bool remove, struct weft_http_cfg *h,
			  struct weft_cfg_range *out)
{
	char ip[PATH_LEN], p[PATH_LEN];

	out->first = h->n_hdrs;
	out->n = 0;
	if (is_null(n))
		return 0;
	if (want_seq(c, n, path, remove ? "header names" : "headers ({name, value})") != 0)
		return -1;
	size_t cnt = weft_cfgy_seq_len(n);
	if (cnt > WEFT_CFG_MAX_HTTP_HEADERS - h->n_hdrs)
		return fail(c, line_of(n), path, "too many header edits (max %d in all routes)", WEFT_CFG_MAX_HTTP_HEADERS);
	for (size_t i = 0; i < cnt; i++) {
		const yaml_node_t *e = weft_cfgy_seq_item(c, n, i);
		struct weft_http_hdr_cfg *hc = &h->hdrs[h->n_hdrs];
		weft_cfgy_path_idx(ip, path, i);
		memset(hc, 0, sizeof(*hc));
		if (remove) {
			if (get_header_name(c, h, e, ip, &hc->name) != 0)
				return -1;
		} else {
			enum { NAME, VALUE, N };
			field_t f[N] = {[NAME] = {"name"}, [VALUE] = {"value"}};
			if (e == NULL || e->type != YAML_MAPPING_NODE)
				return fail(c, line_of(e), ip, "expected a mapping with name and value");
			if (weft_cfgy_fields(c, e, ip, f, N) != 0)
				return -1;
			for (int k = 0; k < N; k++) {
				weft_cfgy_path_key(p, ip, f[k].key);
				if (f[k].val == NULL)
					return fail(c, line_of(e), p, "required key is missing");
			}
			weft_cfgy_path_key(p, ip, "name");
			if (get_header_name(c, h, f[NAME].val, p, &hc->name) != 0)
				return -1;
			weft_cfgy_path_key(p, ip, "value");
			if (get_header_value(c, h, f[VALUE].val, p, &hc->value) != 0)
				return -1;
		}
		h->n_hdrs++;
		out->n++;
	}
	return 0;
}

static int parse_route(ctx_t *c, const yaml_node_t *n, const char *path, const struct weft_config *cfg,
		       struct weft_http_cfg *h)
{
	enum { NAME, MATCH, ROUTE, REDIRECT, DIRECT, RQ_ADD, RQ_SET, RQ_RM, RS_ADD, RS_SET, RS_RM, PRINCIPALS, N };
	field_t f[N] = {[NAME] = {"name"},
			[MATCH] = {"match"},
			[ROUTE] = {"route"},
			[REDIRECT] = {"redirect"},
			[DIRECT] = {"direct_response"},
			[RQ_ADD] = {"request_headers_to_add"},
			[RQ_SET] = {"request_headers_to_set"},
			[RQ_RM] = {"request_headers_to_remove"},
			[RS_ADD] = {"response_headers_to_add"},
			[RS_SET] = {"response_headers_to_set"},
			[RS_RM] = {"response_headers_to_remove"},
			[PRINCIPALS] = {"allow_principals"}};
	struct weft_http_route_cfg *r = &h->routes[h->n_routes];
	char p[PATH_LEN];
	int which = -1;

	memset(r, 0, sizeof(*r));
	r->line = line_of(n);
	if (n == NULL || n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n), path, "expected a mapping with match and one of route, redirect, direct_response");
	if (weft_cfgy_fields(c, n, path, f, N) != 0)
		return -1;
	if (f[NAME].val != NULL) {
		weft_cfgy_path_key(p, path, "name");
		if (weft_cfgy_name(c, f[NAME].val, p, "a route name") == NULL ||
		    get_str(c, h, f[NAME].val, p, "a route name", &r->name) != 0)
			return -1;
	}
	weft_cfgy_path_key(p, path, "match");
	if (f[MATCH].val == NULL)
		return fail(c, r->line, p, "required key is missing (use match: {prefix: /} for every request)");
	if (parse_match(c, f[MATCH].val, p, h, r) != 0)
		return -1;
	if (f[PRINCIPALS].val != NULL) {
		/* The loader's own config (only this function's view of it is const). */
		weft_cfgy_path_key(p, path, "allow_principals");
		if (weft_cfgt_principals(c, p, f[PRINCIPALS].val, (struct weft_config *)cfg, &r->principals) != 0)
			return -1;
		r->has_principals = true;
	}
	for (int k = ROUTE; k <= DIRECT; k++) {
		if (f[k].val == NULL)
			continue;
		weft_cfgy_path_key(p, path, f[k].key);
		if (which >= 0)
			return fail(c, f[k].key_line, p, "give one of route, redirect and direct_response, not %s and %s",
				    f[which].key, f[k].key);
		which = k;
	}
	if (which < 0)
		return fail(c, r->line, path, "one of route, redirect and direct_response is required");
	weft_cfgy_path_key(p, path, f[which].key);
	int rc = which == ROUTE	   ? parse_forward(c, f[ROUTE].val, p, cfg, h, r)
		 : which == REDIRECT ? parse_redirect(c, f[REDIRECT].val, p, h, r)
				     : parse_direct(c, f[DIRECT].val, p, h, r);
	if (rc != 0)
		return -1;
	struct weft_cfg_range *ranges[] = {
		[RQ_ADD] = &r->request_headers.add,   [RQ_SET] = &r->request_headers.set,
		[RQ_RM] = &r->request_headers.remove, [RS_ADD] = &r->response_headers.add,
		[RS_SET] = &r->response_headers.set,  [RS_RM] = &r->response_headers.remove,
	};
	for (int k = RQ_ADD; k <= RS_RM; k++) {
		weft_cfgy_path_key(p, path, f[k].key);
		if (parse_hdr_list(c, f[k].val, p, k == RQ_RM || k == RS_RM, h, ranges[k]) != 0)
			return -1;
	}
	h->n_routes++;
	return 0;
}

static int parse_vhost(ctx_t *c, const yaml_node_t *n, const char *path, const struct weft_config *cfg,
		       struct weft_http_cfg *h)
{
	enum { NAME, DOMAINS, ROUTES, N };
	field_t f[N] = {[NAME] = {"name"}, [DOMAINS] = {"domains"}, [ROUTES] = {"routes"}};
	struct weft_http_vhost_cfg *v = &h->vhosts[h->n_vhosts];
	char p[PATH_LEN], ip[PATH_LEN];

	memset(v, 0, sizeof(*v));
	v->line = line_of(n);
	if (n == NULL || n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n), path, "expected a mapping with name, domains and routes");
	if (weft_cfgy_fields(c, n, path, f, N) != 0)
		return -1;
	weft_cfgy_path_key(p, path, "name");
	if (f[NAME].val == NULL)
		return fail(c, v->line, p, "required key is missing");
	if (weft_cfgy_name(c, f[NAME].val, p, "a virtual host name") == NULL ||
	    get_str(c, h, f[NAME].val, p, "a virtual host name", &v->name) != 0)
		return -1;

	weft_cfgy_path_key(p, path, "domains");
	const yaml_node_t *d = f[DOMAINS].val;
	if (d == NULL)
		return fail(c, v->line, p, "required key is missing (use [\"*\"] for every host)");
	if (want_seq(c, d, p, "domains") != 0)
		return -1;
	size_t nd = weft_cfgy_seq_len(d);
	if (nd == 0)
		return fail(c, line_of(d), p, "at least one domain is required");
	if (nd > WEFT_CFG_MAX_HTTP_DOMAINS - h->n_domains)
		return fail(c, line_of(d), p, "too many domains (max %d in all virtual hosts)", WEFT_CFG_MAX_HTTP_DOMAINS);
	v->domains.first = h->n_domains;
	for (size_t i = 0; i < nd; i++) {
		const yaml_node_t *e = weft_cfgy_seq_item(c, d, i);
		weft_cfgy_path_idx(ip, p, i);
		if (get_str(c, h, e, ip, "a domain", &h->domains[h->n_domains]) != 0)
			return -1;
		if (h->str[h->domains[h->n_domains]] == '\0')
			return fail(c, line_of(e), ip, "must not be empty");
		h->n_domains++;
		v->domains.n++;
	}

	weft_cfgy_path_key(p, path, "routes");
	const yaml_node_t *r = f[ROUTES].val;
	if (r == NULL)
		return fail(c, v->line, p, "required key is missing");
	if (want_seq(c, r, p, "routes") != 0)
		return -1;
	size_t nr = weft_cfgy_seq_len(r);
	if (nr > WEFT_CFG_MAX_HTTP_ROUTES - h->n_routes)
		return fail(c, line_of(r), p, "too many routes (max %d in all virtual hosts)", WEFT_CFG_MAX_HTTP_ROUTES);
	v->routes.first = h->n_routes;
	for (size_t i = 0; i < nr; i++) {
		weft_cfgy_path_idx(ip, p, i);
		if (parse_route(c, weft_cfgy_seq_item(c, r, i), ip, cfg, h) != 0)
			return -1;
		v->routes.n++;
	}
	h->n_vhosts++;
	return 0;
}

/* The body of a route config: virtual_hosts (and, for a named one, its name, read by the caller). */
static int parse_vhosts(ctx_t *c, const yaml_node_t *n, const char *path, int line, const struct weft_config *cfg,
			struct weft_http_cfg *h, struct weft_http_rc_cfg *rc)
{
	char ip[PATH_LEN];

	if (n == NULL)
		return fail(c, line, path, "required key is missing");
	if (want_seq(c, n, path, "virtual hosts") != 0)
		return -1;
	size_t nv = weft_cfgy_seq_len(n);
	if (nv == 0)
		return fail(c, line_of(n), path, "at least one virtual host is required");
	if (nv > WEFT_CFG_MAX_VHOSTS - h->n_vhosts)
		return fail(c, line_of(n), path, "too many virtual hosts (max %d in all route configs)", WEFT_CFG_MAX_VHOSTS);
	rc->vhosts.first = h->n_vhosts;
	for (size_t i = 0; i < nv; i++) {
		weft_cfgy_path_idx(ip, path, i);
		if (parse_vhost(c, weft_cfgy_seq_item(c, n, i), ip, cfg, h) != 0)
			return -1;
		rc->vhosts.n++;
	}
	return 0;
}

static struct weft_http_rc_cfg *rc_new(ctx_t *c, const yaml_node_t *n, const char *path, struct weft_http_cfg *h)
{
	if (h->n_rc >= WEFT_CFG_MAX_ROUTE_CONFIGS) {
		fail(c, line_of(n), path, "too many route configs (max %d, inline ones included)",
		     WEFT_CFG_MAX_ROUTE_CONFIGS);
		return NULL;
	}
	struct weft_http_rc_cfg *rc = &h->rc[h->n_rc];
	memset(rc, 0, sizeof(*rc));
	rc->line = line_of(n);
	snprintf(rc->path, sizeof(rc->path), "%s", path);
	return rc;
}

int weft_cfgh_route_configs(ctx_t *c, const yaml_node_t *n, struct weft_config *cfg)
{
	struct weft_http_cfg *h = &cfg->http;
	char path[PATH_LEN], p[PATH_LEN];

	/* Nothing is touched without HTTP content: an empty document stays weft_config_defaults(). */
	if (is_null(n))
		return 0;
	http_init(c, h);
	if (want_seq(c, n, "route_configs", "route configs") != 0)
		return -1;
	for (size_t i = 0; i < weft_cfgy_seq_len(n); i++) {
		enum { NAME, VHOSTS, N };
		field_t f[N] = {[NAME] = {"name"}, [VHOSTS] = {"virtual_hosts"}};
		const yaml_node_t *e = weft_cfgy_seq_item(c, n, i);
		const char *s;

		weft_cfgy_path_idx(path, "route_configs", i);
		if (e == NULL || e->type != YAML_MAPPING_NODE)
			return fail(c, line_of(e), path, "expected a mapping with name and virtual_hosts");
		struct weft_http_rc_cfg *rc = rc_new(c, e, path, h);
		if (rc == NULL)
			return -1;
		if (weft_cfgy_fields(c, e, path, f, N) != 0)
			return -1;
		weft_cfgy_path_key(p, path, "name");
		if (f[NAME].val == NULL)
			return fail(c, rc->line, p, "required key is missing");
		if ((s = weft_cfgy_name(c, f[NAME].val, p, "a route config name")) == NULL)
			return -1;
		for (unsigned j = 0; j < h->n_rc; j++)
			if (strcmp(h->rc[j].name, s) == 0)
				return fail(c, line_of(f[NAME].val), p, "duplicate route config name \"%s\" (first at line %d)",
					    s, h->rc[j].line);
		snprintf(rc->name, sizeof(rc->name), "%s", s);
		weft_cfgy_path_key(p, path, "virtual_hosts");
		if (parse_vhosts(c, f[VHOSTS].val, p, rc->line, cfg, h, rc) != 0)
			return -1;
		h->n_rc++;
	}
	return 0;
}

/* ---- listeners, clusters, endpoints ----------------------------------------------------------- */

int weft_cfgh_listener(ctx_t *c, const char *path, int line, const yaml_node_t *route_config,
		       const yaml_node_t *request_timeout, const yaml_node_t *request_header_timeout,
		       struct weft_listener_cfg *l, struct weft_config *cfg)
{
	struct weft_http_cfg *h = &cfg->http;
	char p[PATH_LEN], sh[72];

	http_init(c, h);
	l->request_timeout_ms = REQUEST_TIMEOUT_MS_DEFAULT;
	l->request_header_timeout_ms = WEFT_CFG_REQUEST_HEADER_TIMEOUT_MS_DEFAULT;
	if (l->kind != WEFT_LISTENER_HTTP) {
		const yaml_node_t *k = route_config != NULL ? route_config
				       : request_timeout != NULL ? request_timeout
								 : request_header_timeout;
		weft_cfgy_path_key(p, path, k == route_config ? "route_config"
					    : k == request_timeout ? "request_timeout_ms"
								   : "request_header_timeout_ms");
		return fail(c, line_of(k), p, "only a listener of kind http takes this key");
	}
	if (request_timeout != NULL) {
		weft_cfgy_path_key(p, path, "request_timeout_ms");
		if (get_u32(c, request_timeout, p, 1, REQUEST_TIMEOUT_MS_MAX, &l->request_timeout_ms) != 0)
			return -1;
	}
	if (request_header_timeout != NULL) {
		weft_cfgy_path_key(p, path, "request_header_timeout_ms");
		if (get_u32(c, request_header_timeout, p, 0, REQUEST_TIMEOUT_MS_MAX, &l->request_header_timeout_ms) != 0)
			return -1;
	}
	weft_cfgy_path_key(p, path, "route_config");
	if (route_config == NULL)
		return fail(c, line, p, "required key is missing (the name of a route config, or one inline)");
	if (route_config->type == YAML_MAPPING_NODE) {
		/* Inline: {virtual_hosts: [...]}, for this listener alone. */
		field_t f[1] = {{"virtual_hosts"}};
		char vp[PATH_LEN];
		struct weft_http_rc_cfg *rc = rc_new(c, route_config, p, h);
		if (rc == NULL || weft_cfgy_fields(c, route_config, p, f, 1) != 0)
			return -1;
		weft_cfgy_path_key(vp, p, "virtual_hosts");
		if (parse_vhosts(c, f[0].val, vp, rc->line, cfg, h, rc) != 0)
			return -1;
		l->route_config = h->n_rc++;
		return 0;
	}
	const char *s = weft_cfgy_scalar(c, route_config, p, "a route config name or an inline route config");
	if (s == NULL)
		return -1;
	for (unsigned j = 0; j < h->n_rc; j++) {
		if (h->rc[j].name[0] != '\0' && strcmp(h->rc[j].name, s) == 0) {
			l->route_config = j;
			return 0;
		}
	}
	return fail(c, line_of(route_config), p, "no route config named \"%s\" in route_configs", weft_cfgy_show(s, sh));
}

int weft_cfgh_lb_policy(const char *s, enum weft_lb_policy *out)
{
	enum weft_lb_algo a;

	if (weft_lb_algo_parse(s, &a) != 0)
		return -1;
	switch (a) {
	case WEFT_LB_ALGO_ROUND_ROBIN: *out = WEFT_LB_ROUND_ROBIN; break;
	case WEFT_LB_ALGO_LEAST_REQUEST: *out = WEFT_LB_LEAST_REQUEST; break;
	case WEFT_LB_ALGO_RANDOM: *out = WEFT_LB_RANDOM; break;
	case WEFT_LB_ALGO_RING_HASH: *out = WEFT_LB_RING_HASH; break;
	case WEFT_LB_ALGO_MAGLEV: *out = WEFT_LB_MAGLEV; break;
	default: return -1;
	}
	return 0;
}

static bool is_prime(uint32_t n)
{
	if (n < 2)
		return false;
	for (uint32_t d = 2; (uint64_t)d * d <= n; d++)
		if (n % d == 0)
			return false;
	return true;
}

/* A sub-mapping of a cluster ({key: integer}) that only one policy reads. */
static int policy_block(ctx_t *c, const yaml_node_t *n, const char *path, const char *name, bool applies,
			const char *policy, field_t *f, size_t nf)
{
	char p[PATH_LEN];

	weft_cfgy_path_key(p, path, name);
	if (!applies)
		return fail(c, line_of(n), p, "only lb_policy %s reads this", policy);
	if (!is_null(n) && n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n), p, "expected a mapping");
	return weft_cfgy_fields(c, n, p, f, nf);
}

int weft_cfgh_cluster(ctx_t *c, const char *path, struct weft_cluster_cfg *cl, const yaml_node_t *hash_policy,
		      const yaml_node_t *ring_hash, const yaml_node_t *maglev, const yaml_node_t *least_request,
		      const yaml_node_t *max_idle, const yaml_node_t *idle_timeout, struct weft_config *cfg)
{
	char p[PATH_LEN], kp[PATH_LEN];
	bool hashed = cl->lb == WEFT_LB_RING_HASH || cl->lb == WEFT_LB_MAGLEV;

	(void)cfg;
	cl->max_idle = POOL_MAX_IDLE_DEFAULT;
	cl->pool_idle_timeout_ms = POOL_IDLE_TIMEOUT_MS_DEFAULT;
	if (max_idle != NULL) {
		weft_cfgy_path_key(p, path, "max_idle_connections");
		if (get_u32(c, max_idle, p, 0, POOL_MAX_IDLE_MAX, &cl->max_idle) != 0)
			return -1;
	}
	if (idle_timeout != NULL) {
		weft_cfgy_path_key(p, path, "idle_timeout_ms");
		if (get_u32(c, idle_timeout, p, 1, POOL_IDLE_TIMEOUT_MS_MAX, &cl->pool_idle_timeout_ms) != 0)
			return -1;
	}
	if (hash_policy != NULL) {
		enum { HEADER, COOKIE, SOURCE_IP, N };
		field_t f[N] = {[HEADER] = {"header"}, [COOKIE] = {"cookie"}, [SOURCE_IP] = {"source_ip"}};
		int which = -1;
		weft_cfgy_path_key(p, path, "hash_policy");
		if (!hashed)
			return fail(c, line_of(hash_policy), p, "only lb_policy ring_hash and maglev use a key");
		if (hash_policy->type != YAML_MAPPING_NODE)
			return fail(c, line_of(hash_policy), p, "expected a mapping: {header: NAME}, {cookie: NAME} or {source_ip: true}");
		if (weft_cfgy_fields(c, hash_policy, p, f, N) != 0)
			return -1;
		for (int k = 0; k < N; k++) {
			if (f[k].val == NULL)
				continue;
			weft_cfgy_path_key(kp, p, f[k].key);
			if (which >= 0)
				return fail(c, f[k].key_line, kp, "give one of header, cookie and source_ip, not %s and %s",
					    f[which].key, f[k].key);
			which = k;
		}
		if (which < 0)
			return fail(c, line_of(hash_policy), p, "one of header, cookie and source_ip is required");
		weft_cfgy_path_key(kp, p, f[which].key);
		if (which == SOURCE_IP) {
			bool b;
			if (weft_cfgy_bool(c, f[which].val, kp, &b) != 0)
				return -1;
			if (!b)
				return fail(c, line_of(f[which].val), kp, "only true makes sense (leave hash_policy out for no key)");
			cl->hash_key = WEFT_HASH_SOURCE_IP;
		} else {
			char sh[72];
			const char *s = weft_cfgy_scalar(c, f[which].val, kp, which == HEADER ? "a header name" : "a cookie name");
			if (s == NULL)
				return -1;
			if (!is_token(s) || strlen(s) >= sizeof(cl->hash_name))
				return fail(c, line_of(f[which].val), kp, "\"%s\" is not a valid %s name (a token of 1-63 characters)",
					    weft_cfgy_show(s, sh), which == HEADER ? "header" : "cookie");
			snprintf(cl->hash_name, sizeof(cl->hash_name), "%s", s);
			cl->hash_key = which == HEADER ? WEFT_HASH_HEADER : WEFT_HASH_COOKIE;
		}
	}
	if (ring_hash != NULL) {
		enum { MIN, MAX, N };
		field_t f[N] = {[MIN] = {"minimum_ring_size"}, [MAX] = {"maximum_ring_size"}};
		if (policy_block(c, ring_hash, path, "ring_hash", cl->lb == WEFT_LB_RING_HASH, "ring_hash", f, N) != 0)
			return -1;
		weft_cfgy_path_key(p, path, "ring_hash");
		uint32_t *outs[N] = {&cl->ring_min, &cl->ring_max};
		for (int k = 0; k < N; k++) {
			if (f[k].val == NULL)
				continue;
			weft_cfgy_path_key(kp, p, f[k].key);
			if (get_u32(c, f[k].val, kp, 1, WEFT_LB_RING_MAX_DEFAULT, outs[k]) != 0)
				return -1;
		}
		if (cl->ring_min != 0 && cl->ring_max != 0 && cl->ring_min > cl->ring_max) {
			weft_cfgy_path_key(kp, p, "minimum_ring_size");
			return fail(c, line_of(f[MIN].val), kp, "%u is above maximum_ring_size %u", cl->ring_min, cl->ring_max);
		}
	}
	if (maglev != NULL) {
		field_t f[1] = {{"table_size"}};
		if (policy_block(c, maglev, path, "maglev", cl->lb == WEFT_LB_MAGLEV, "maglev", f, 1) != 0)
			return -1;
		if (f[0].val != NULL) {
			weft_cfgy_path_key(p, path, "maglev.table_size");
			if (get_u32(c, f[0].val, p, 3, WEFT_LB_MAGLEV_SIZE_MAX, &cl->maglev_size) != 0)
				return -1;
			if (!is_prime(cl->maglev_size))
				return fail(c, line_of(f[0].val), p, "%u is not a prime (65537 is the default)", cl->maglev_size);
		}
	}
	if (least_request != NULL) {
		field_t f[1] = {{"choice_count"}};
		if (policy_block(c, least_request, path, "least_request", cl->lb == WEFT_LB_LEAST_REQUEST,
				 "least_request", f, 1) != 0)
			return -1;
		if (f[0].val != NULL) {
			weft_cfgy_path_key(p, path, "least_request.choice_count");
			if (get_u32(c, f[0].val, p, 2, 16, &cl->choice_count) != 0)
				return -1;
		}
	}
	return 0;
}

int weft_cfgh_endpoint(ctx_t *c, const char *path, const yaml_node_t *locality, struct weft_endpoint_cfg *e,
		       struct weft_config *cfg)
{
	char p[PATH_LEN], sh[72];

	e->locality = 0;
	if (locality == NULL)
		return 0;
	http_init(c, &cfg->http);
	weft_cfgy_path_key(p, path, "locality");
	const char *s = weft_cfgy_scalar(c, locality, p, "a locality (region/zone/subzone)");
	if (s == NULL)
		return -1;
	if (s[0] == '\0' || strlen(s) > 127 || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./") !=
							  strlen(s))
		return fail(c, line_of(locality), p, "\"%s\" is not a locality (1-127 characters of A-Z a-z 0-9 _ - . /)",
			    weft_cfgy_show(s, sh));
	return str_add(c, &cfg->http, locality, p, s, &e->locality);
}
