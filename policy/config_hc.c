/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * weft.yaml: a cluster's health_check block, the active checks the workers
 * run against every endpoint of the cluster (dataplane/proxy/health.h).
 *
 *   health_check:
 *     kind: tcp                      # or http
 *     path: /healthz                 # http only
 *     host: ""                       # http only; "" or absent: the cluster name
 *     expected_statuses: ["200-399"] # http only: codes (204) or ranges ("200-299")
 *     interval_ms: 5000
 *     jitter_ms: 500
 *     timeout_ms: 1000
 *     healthy_threshold: 2
 *     unhealthy_threshold: 3
 *
 * Everything refused is refused as "FILE:LINE: clusters[I].health_check.KEY:
 * reason", like the rest of the loader. docs/configuration.md lists the keys,
 * defaults and limits; they are the constants below.
 */
#include <stdio.h>
#include <string.h>

#include "policy/config_yaml.h"

#define PATH_LEN WEFT_CFGY_PATH_LEN

#define HC_INTERVAL_MS_DEFAULT 5000u
#define HC_INTERVAL_MS_MIN 100u
#define HC_JITTER_MS_DEFAULT 500u
#define HC_TIMEOUT_MS_DEFAULT 1000u
#define HC_TIME_MS_MAX 3600000u /* an hour, for interval, jitter and timeout */
#define HC_THRESHOLD_HEALTHY_DEFAULT 2u
#define HC_THRESHOLD_UNHEALTHY_DEFAULT 3u
#define HC_THRESHOLD_MAX 100u
#define HC_STATUS_MIN 100u
#define HC_STATUS_MAX 599u

typedef struct weft_cfg_ctx ctx_t;

#define fail weft_cfgy_fail
#define line_of weft_cfgy_line

static int get_u32(ctx_t *c, const yaml_node_t *n, const char *path, uint32_t lo, uint32_t hi, uint32_t *out)
{
	uint64_t v;

	if (weft_cfgy_u64(c, n, path, lo, hi, &v) != 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* A request target in origin form (RFC 9112 3.2.1): "/" then visible ASCII, no fragment. */
static int get_path(ctx_t *c, const yaml_node_t *n, const char *path, char *out, size_t outlen)
{
	const char *s = weft_cfgy_scalar(c, n, path, "a path starting with /");
	char sh[72];

	if (s == NULL)
		return -1;
	if (s[0] != '/')
		return fail(c, line_of(n), path, "\"%s\" does not start with /", weft_cfgy_show(s, sh));
	if (strlen(s) >= outlen)
		return fail(c, line_of(n), path, "longer than %zu bytes", outlen - 1);
	for (const char *p = s; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '#')
			return fail(c, line_of(n), path,
				    "\"%s\" has a space, control, non-ASCII or # character (write it %%-encoded)",
				    weft_cfgy_show(s, sh));
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

/* A Host value (RFC 9110 7.2): reg-name, IPv4 or [IPv6], with an optional :port. "" keeps out unchanged. */
static int get_host(ctx_t *c, const yaml_node_t *n, const char *path, char *out, size_t outlen)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:[]";
	const char *s = weft_cfgy_scalar(c, n, path, "a host name");
	char sh[72];

	if (s == NULL)
		return -1;
	if (s[0] == '\0')
		return 0;
	if (strlen(s) >= outlen)
		return fail(c, line_of(n), path, "longer than %zu bytes", outlen - 1);
	if (strspn(s, ok) != strlen(s))
		return fail(c, line_of(n), path, "\"%s\" is not a host name, address or [IPv6]:port",
			    weft_cfgy_show(s, sh));
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

/* "204", 204 or "200-299" into [*lo, *hi]; 0 or -1 with a reason in why. */
static int status_range(const char *s, uint16_t *lo, uint16_t *hi, const char **why)
{
	unsigned a = 0, b = 0;
	int na = 0, nb = 0;
	const char *p = s;

	while (*p >= '0' && *p <= '9' && na < 4)
		a = a * 10 + (unsigned)(*p++ - '0'), na++;
	if (*p == '-') {
		p++;
		while (*p >= '0' && *p <= '9' && nb < 4)
			b = b * 10 + (unsigned)(*p++ - '0'), nb++;
		if (nb == 0) {
			*why = "expected a status code (200) or a range (\"200-299\")";
			return -1;
		}
	} else {
		b = a;
		nb = na;
	}
	if (*p != '\0' || na == 0) {
		*why = "expected a status code (200) or a range (\"200-299\")";
		return -1;
	}
	if (na != 3 || nb != 3 || a < HC_STATUS_MIN || b > HC_STATUS_MAX || b < HC_STATUS_MIN || a > HC_STATUS_MAX) {
		*why = "status codes are 100..599";
		return -1;
	}
	if (a > b) {
		*why = "the range ends before it starts";
		return -1;
	}
	*lo = (uint16_t)a;
	*hi = (uint16_t)b;
	return 0;
}

static int get_statuses(ctx_t *c, const yaml_node_t *n, const char *path, struct weft_health_check_cfg *hc)
{
	char ip[PATH_LEN], sh[72];
	size_t k;

	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, line_of(n), path, "expected a sequence of status codes or ranges, e.g. [200, \"300-399\"]");
	k = weft_cfgy_seq_len(n);
	if (k == 0)
		return fail(c, line_of(n), path, "at least one status code or range is required");
	if (k > WEFT_HC_MAX_STATUS_RANGES)
		return fail(c, line_of(n), path, "too many entries (%zu, max %d)", k, WEFT_HC_MAX_STATUS_RANGES);
	for (size_t i = 0; i < k; i++) {
		const yaml_node_t *it = weft_cfgy_seq_item(c, n, i);
		const char *why = NULL;
		const char *s;

		weft_cfgy_path_idx(ip, path, i);
		if ((s = weft_cfgy_scalar(c, it, ip, "a status code (200) or a range (\"200-299\")")) == NULL)
			return -1;
		if (status_range(s, &hc->status_lo[i], &hc->status_hi[i], &why) != 0)
			return fail(c, line_of(it), ip, "\"%s\": %s", weft_cfgy_show(s, sh), why);
	}
	hc->n_status = (unsigned)k;
	return 0;
}

void weft_cfg_health_check_defaults(struct weft_health_check_cfg *hc)
{
	memset(hc, 0, sizeof(*hc));
	hc->kind = WEFT_HC_NONE;
	snprintf(hc->path, sizeof(hc->path), "/healthz");
	hc->status_lo[0] = 200;
	hc->status_hi[0] = 399;
	hc->n_status = 1;
	hc->interval_ms = HC_INTERVAL_MS_DEFAULT;
	hc->jitter_ms = HC_JITTER_MS_DEFAULT;
	hc->timeout_ms = HC_TIMEOUT_MS_DEFAULT;
	hc->healthy_threshold = HC_THRESHOLD_HEALTHY_DEFAULT;
	hc->unhealthy_threshold = HC_THRESHOLD_UNHEALTHY_DEFAULT;
}

int weft_cfg_health_check(ctx_t *c, const char *path, const yaml_node_t *n, struct weft_cluster_cfg *cl)
{
	enum { KIND, HPATH, HOST, STATUSES, INTERVAL, JITTER, TIMEOUT, HEALTHY, UNHEALTHY, N };
	struct weft_cfgy_field f[N] = {
		[KIND] = {"kind"},
		[HPATH] = {"path"},
		[HOST] = {"host"},
		[STATUSES] = {"expected_statuses"},
		[INTERVAL] = {"interval_ms"},
		[JITTER] = {"jitter_ms"},
		[TIMEOUT] = {"timeout_ms"},
		[HEALTHY] = {"healthy_threshold"},
		[UNHEALTHY] = {"unhealthy_threshold"},
	};
	struct weft_health_check_cfg *hc = &cl->hc;
	char p[PATH_LEN], kp[PATH_LEN], sh[72];

	weft_cfg_health_check_defaults(hc);
	snprintf(hc->host, sizeof(hc->host), "%s", cl->name);
	if (n == NULL)
		return 0;
	weft_cfgy_path_key(p, path, "health_check");
	hc->line = line_of(n);
	if (n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n), p, "expected a mapping (kind, interval_ms, ...); leave the key out for no checks");
	if (weft_cfgy_fields(c, n, p, f, N) != 0)
		return -1;

	hc->kind = WEFT_HC_TCP;
	if (f[KIND].val != NULL) {
		const char *s;
		weft_cfgy_path_key(kp, p, "kind");
		if ((s = weft_cfgy_scalar(c, f[KIND].val, kp, "tcp or http")) == NULL)
			return -1;
		if (strcmp(s, "tcp") == 0)
			hc->kind = WEFT_HC_TCP;
		else if (strcmp(s, "http") == 0)
			hc->kind = WEFT_HC_HTTP;
		else
			return fail(c, line_of(f[KIND].val), kp, "unknown kind \"%s\" (expected tcp or http)",
				    weft_cfgy_show(s, sh));
	}
	if (hc->kind != WEFT_HC_HTTP) {
		static const int http_only[] = {HPATH, HOST, STATUSES};
		for (size_t i = 0; i < sizeof(http_only) / sizeof(http_only[0]); i++) {
			const struct weft_cfgy_field *g = &f[http_only[i]];
			if (g->val == NULL)
				continue;
			weft_cfgy_path_key(kp, p, g->key);
			return fail(c, g->key_line, kp, "only kind http uses %s", g->key);
		}
	}
	if (f[HPATH].val != NULL) {
		weft_cfgy_path_key(kp, p, "path");
		if (get_path(c, f[HPATH].val, kp, hc->path, sizeof(hc->path)) != 0)
			return -1;
	}
	if (f[HOST].val != NULL) {
		weft_cfgy_path_key(kp, p, "host");
		if (get_host(c, f[HOST].val, kp, hc->host, sizeof(hc->host)) != 0)
			return -1;
	}
	if (f[STATUSES].val != NULL) {
		weft_cfgy_path_key(kp, p, "expected_statuses");
		if (get_statuses(c, f[STATUSES].val, kp, hc) != 0)
			return -1;
	}
	if (f[INTERVAL].val != NULL) {
		weft_cfgy_path_key(kp, p, "interval_ms");
		if (get_u32(c, f[INTERVAL].val, kp, HC_INTERVAL_MS_MIN, HC_TIME_MS_MAX, &hc->interval_ms) != 0)
			return -1;
	}
	if (f[JITTER].val != NULL) {
		weft_cfgy_path_key(kp, p, "jitter_ms");
		if (get_u32(c, f[JITTER].val, kp, 0, HC_TIME_MS_MAX, &hc->jitter_ms) != 0)
			return -1;
	}
	if (f[TIMEOUT].val != NULL) {
		weft_cfgy_path_key(kp, p, "timeout_ms");
		if (get_u32(c, f[TIMEOUT].val, kp, 1, HC_TIME_MS_MAX, &hc->timeout_ms) != 0)
			return -1;
	}
	if (f[HEALTHY].val != NULL) {
		weft_cfgy_path_key(kp, p, "healthy_threshold");
		if (get_u32(c, f[HEALTHY].val, kp, 1, HC_THRESHOLD_MAX, &hc->healthy_threshold) != 0)
			return -1;
	}
	if (f[UNHEALTHY].val != NULL) {
		weft_cfgy_path_key(kp, p, "unhealthy_threshold");
		if (get_u32(c, f[UNHEALTHY].val, kp, 1, HC_THRESHOLD_MAX, &hc->unhealthy_threshold) != 0)
			return -1;
	}
	return 0;
}
