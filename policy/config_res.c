/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * weft.yaml, the resilience keys: a route's retry_policy, a cluster's
 * circuit_breakers, outlier_detection and panic_threshold_percent. The
 * defaults are those of docs/configuration.md, chosen so that a partial
 * outage is not amplified (docs/architecture.md, "Resilience"). health_check
 * has its own loader.
 */
#include <stdio.h>
#include <string.h>

#include "policy/config.h"
#include "policy/config_yaml.h"

#define PATH_LEN WEFT_CFGY_PATH_LEN
#define TIMEOUT_MS_MAX 3600000u
#define BREAKER_MAX 10000000u
#define OD_CONSECUTIVE_MAX 1000u
#define OD_INTERVAL_MS_MIN 100u /* the management thread looks every 100 ms */
#define OD_EJECTION_MS_MAX 86400000u

typedef struct weft_cfg_ctx ctx_t;
typedef struct weft_cfgy_field field_t;

#define fail weft_cfgy_fail
#define line_of weft_cfgy_line
#define is_null weft_cfgy_is_null

void weft_retry_policy_defaults(struct weft_retry_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->retry_on = WEFT_RETRY_ON_DEFAULT;
	p->num_retries = WEFT_RETRY_NUM_DEFAULT;
	p->base_interval_ms = WEFT_RETRY_BASE_MS_DEFAULT;
	p->max_interval_ms = WEFT_RETRY_MAX_MS_DEFAULT;
	p->max_body_bytes = WEFT_RETRY_BODY_DEFAULT;
}

void weft_cluster_resilience_defaults(struct weft_cluster_cfg *cl)
{
	cl->breakers = (struct weft_breaker_cfg){
		.max_connections = 1024,
		.max_pending_requests = 1024,
		.max_requests = 1024,
		.max_retries = 0,
		.budget_enabled = true,
		.budget_percent = 20,
		.min_retry_concurrency = 10, /* not Envoy's 3: docs/architecture.md, "No retry storm by default" */
	};
	cl->outlier = (struct weft_outlier_cfg){
		.enabled = true,
		.consecutive_5xx = 5,
		.consecutive_gateway_failure = 5,
		.consecutive_local_origin_failure = 5,
		.interval_ms = 1000,
		.base_ejection_time_ms = 5000,
		.max_ejection_time_ms = 300000,
		.max_ejection_percent = 67,
		.success_rate_minimum_hosts = 5,
		.success_rate_request_volume = 100,
		.success_rate_stdev_factor = 1900,
	};
	cl->panic_threshold_percent = 25;
}

static int get_u32(ctx_t *c, const yaml_node_t *n, const char *path, uint32_t lo, uint32_t hi, uint32_t *out)
{
	uint64_t v;

	if (weft_cfgy_u64(c, n, path, lo, hi, &v) != 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int want_map(ctx_t *c, const yaml_node_t *n, const char *path, const char *what)
{
	if (n == NULL || n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n), path, "expected a mapping (%s)", what);
	return 0;
}

/* Integer keys of one mapping, each with its own range. */
struct num {
	int key;
	uint32_t lo, hi;
	uint32_t *out;
};

static int get_nums(ctx_t *c, const char *path, const field_t *f, const struct num *nums, size_t n)
{
	char p[PATH_LEN];

	for (size_t i = 0; i < n; i++) {
		if (f[nums[i].key].val == NULL)
			continue;
		weft_cfgy_path_key(p, path, f[nums[i].key].key);
		if (get_u32(c, f[nums[i].key].val, p, nums[i].lo, nums[i].hi, nums[i].out) != 0)
			return -1;
	}
	return 0;
}

/* ---- retry_policy ------------------------------------------------------------------------------ */

static const struct {
	const char *name;
	uint32_t bit;
} retry_on_names[] = {
	{"5xx", WEFT_RETRY_ON_5XX},
	{"gateway-error", WEFT_RETRY_ON_GATEWAY_ERROR},
	{"connect-failure", WEFT_RETRY_ON_CONNECT_FAILURE},
	{"reset", WEFT_RETRY_ON_RESET},
	{"refused-stream", WEFT_RETRY_ON_REFUSED_STREAM},
	{"retriable-status-codes", WEFT_RETRY_ON_RETRIABLE_STATUS},
};

static int parse_retry_on(ctx_t *c, const yaml_node_t *n, const char *path, uint32_t *out)
{
	char ip[PATH_LEN], sh[72];

	*out = 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, line_of(n), path, "expected a sequence of conditions ([] for none)");
	for (size_t i = 0; i < weft_cfgy_seq_len(n); i++) {
		const yaml_node_t *e = weft_cfgy_seq_item(c, n, i);
		const char *s;
		size_t k;

		weft_cfgy_path_idx(ip, path, i);
		if ((s = weft_cfgy_scalar(c, e, ip, "a retry condition")) == NULL)
			return -1;
		for (k = 0; k < sizeof(retry_on_names) / sizeof(retry_on_names[0]); k++)
			if (strcmp(s, retry_on_names[k].name) == 0)
				break;
		if (k == sizeof(retry_on_names) / sizeof(retry_on_names[0]))
			return fail(c, line_of(e), ip,
				    "unknown condition \"%s\" (expected 5xx, gateway-error, connect-failure, reset, "
				    "refused-stream or retriable-status-codes)",
				    weft_cfgy_show(s, sh));
		if (*out & retry_on_names[k].bit)
			return fail(c, line_of(e), ip, "\"%s\" is listed twice", retry_on_names[k].name);
		*out |= retry_on_names[k].bit;
	}
	return 0;
}

static int parse_status_list(ctx_t *c, const yaml_node_t *n, const char *path, struct weft_retry_policy *r)
{
	char ip[PATH_LEN];

	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, line_of(n), path, "expected a sequence of status codes");
	if (weft_cfgy_seq_len(n) > WEFT_RETRY_MAX_STATUS)
		return fail(c, line_of(n), path, "too many status codes (max %d)", WEFT_RETRY_MAX_STATUS);
	for (size_t i = 0; i < weft_cfgy_seq_len(n); i++) {
		const yaml_node_t *e = weft_cfgy_seq_item(c, n, i);
		uint32_t v;

		weft_cfgy_path_idx(ip, path, i);
		/* A 1xx is never a final response, and a retried 2xx makes no sense. */
		if (get_u32(c, e, ip, 300, 599, &v) != 0)
			return -1;
		for (uint32_t j = 0; j < r->n_status; j++)
			if (r->status[j] == v)
				return fail(c, line_of(e), ip, "%u is listed twice", v);
		r->status[r->n_status++] = (uint16_t)v;
	}
	return 0;
}

int weft_cfgh_retry_policy(ctx_t *c, const yaml_node_t *n, const char *path, struct weft_retry_policy *r)
{
	enum { RETRY_ON, NUM, PER_TRY, STATUS, BACKOFF, BODY, N };
	field_t f[N] = {[RETRY_ON] = {"retry_on"},
			[NUM] = {"num_retries"},
			[PER_TRY] = {"per_try_timeout_ms"},
			[STATUS] = {"retriable_status_codes"},
			[BACKOFF] = {"backoff"},
			[BODY] = {"max_body_bytes"}};
	char p[PATH_LEN];

	weft_retry_policy_defaults(r);
	if (is_null(n))
		return 0;
	if (want_map(c, n, path, "retry_on, num_retries, per_try_timeout_ms, backoff, ...") != 0)
		return -1;
	if (weft_cfgy_fields(c, n, path, f, N) != 0)
		return -1;
	if (f[RETRY_ON].val != NULL) {
		weft_cfgy_path_key(p, path, "retry_on");
		if (parse_retry_on(c, f[RETRY_ON].val, p, &r->retry_on) != 0)
			return -1;
	}
	const struct num nums[] = {
		{NUM, 0, WEFT_RETRY_NUM_MAX, &r->num_retries},
		{PER_TRY, 0, TIMEOUT_MS_MAX, &r->per_try_timeout_ms},
		{BODY, 0, WEFT_RETRY_BODY_MAX, &r->max_body_bytes},
	};
	if (get_nums(c, path, f, nums, sizeof(nums) / sizeof(nums[0])) != 0)
		return -1;
	weft_cfgy_path_key(p, path, "retriable_status_codes");
	if (parse_status_list(c, f[STATUS].val, p, r) != 0)
		return -1;
	if ((r->retry_on & WEFT_RETRY_ON_RETRIABLE_STATUS) && r->n_status == 0) {
		weft_cfgy_path_key(p, path, "retry_on");
		return fail(c, line_of(f[RETRY_ON].val), p,
			    "retriable-status-codes needs a non-empty retriable_status_codes list");
	}
	if (r->n_status > 0 && !(r->retry_on & WEFT_RETRY_ON_RETRIABLE_STATUS))
		return fail(c, f[STATUS].key_line, p, "listed, but retry_on lacks retriable-status-codes");
	if (f[BACKOFF].val != NULL) {
		enum { BASE, MAX, NB };
		field_t g[NB] = {[BASE] = {"base_interval_ms"}, [MAX] = {"max_interval_ms"}};
		char bp[PATH_LEN], kp[PATH_LEN];
		weft_cfgy_path_key(bp, path, "backoff");
		if (want_map(c, f[BACKOFF].val, bp, "base_interval_ms, max_interval_ms") != 0 ||
		    weft_cfgy_fields(c, f[BACKOFF].val, bp, g, NB) != 0)
			return -1;
		const struct num bn[] = {
			{BASE, 0, WEFT_RETRY_INTERVAL_MS_MAX, &r->base_interval_ms},
			{MAX, 0, WEFT_RETRY_INTERVAL_MS_MAX, &r->max_interval_ms},
		};
		if (get_nums(c, bp, g, bn, 2) != 0)
			return -1;
		/* As Envoy: without a maximum, ten times the base. */
		if (g[BASE].val != NULL && g[MAX].val == NULL) {
			uint64_t m = (uint64_t)r->base_interval_ms * 10;
			r->max_interval_ms = m < WEFT_RETRY_INTERVAL_MS_MAX ? (uint32_t)m : WEFT_RETRY_INTERVAL_MS_MAX;
		}
		if (r->max_interval_ms < r->base_interval_ms) {
			weft_cfgy_path_key(kp, bp, "max_interval_ms");
			return fail(c, line_of(g[MAX].val), kp, "%u is below base_interval_ms %u", r->max_interval_ms,
				    r->base_interval_ms);
		}
	}
	return 0;
}

/* ---- clusters ---------------------------------------------------------------------------------- */

static int parse_breakers(ctx_t *c, const yaml_node_t *n, const char *path, struct weft_breaker_cfg *b)
{
	enum { CONNS, PENDING, REQUESTS, RETRIES, BUDGET, N };
	field_t f[N] = {[CONNS] = {"max_connections"},
			[PENDING] = {"max_pending_requests"},
			[REQUESTS] = {"max_requests"},
			[RETRIES] = {"max_retries"},
			[BUDGET] = {"retry_budget"}};

	if (is_null(n))
		return 0;
	if (want_map(c, n, path, "max_connections, max_pending_requests, max_requests, max_retries, retry_budget") !=
		    0 ||
	    weft_cfgy_fields(c, n, path, f, N) != 0)
		return -1;
	const struct num nums[] = {
		{CONNS, 1, BREAKER_MAX, &b->max_connections},
		{PENDING, 1, BREAKER_MAX, &b->max_pending_requests},
		{REQUESTS, 1, BREAKER_MAX, &b->max_requests},
		{RETRIES, 0, BREAKER_MAX, &b->max_retries},
	};
	if (get_nums(c, path, f, nums, sizeof(nums) / sizeof(nums[0])) != 0)
		return -1;
	if (f[BUDGET].val != NULL && !is_null(f[BUDGET].val)) {
		enum { ENABLED, PCT, MIN, NB };
		field_t g[NB] = {[ENABLED] = {"enabled"}, [PCT] = {"budget_percent"}, [MIN] = {"min_retry_concurrency"}};
		char bp[PATH_LEN], kp[PATH_LEN];
		weft_cfgy_path_key(bp, path, "retry_budget");
		if (want_map(c, f[BUDGET].val, bp, "budget_percent, min_retry_concurrency, enabled") != 0 ||
		    weft_cfgy_fields(c, f[BUDGET].val, bp, g, NB) != 0)
			return -1;
		if (g[ENABLED].val != NULL) {
			weft_cfgy_path_key(kp, bp, "enabled");
			if (weft_cfgy_bool(c, g[ENABLED].val, kp, &b->budget_enabled) != 0)
				return -1;
		}
		const struct num bn[] = {
			{PCT, 0, 100, &b->budget_percent},
			{MIN, 0, BREAKER_MAX, &b->min_retry_concurrency},
		};
		if (get_nums(c, bp, g, bn, 2) != 0)
			return -1;
	}
	return 0;
}

static int parse_outlier(ctx_t *c, const yaml_node_t *n, const char *path, struct weft_outlier_cfg *o)
{
	enum { ENABLED, C5XX, CGW, CLOCAL, INTERVAL, BASE, MAX, PCT, SR_HOSTS, SR_VOLUME, SR_FACTOR, N };
	field_t f[N] = {[ENABLED] = {"enabled"},
			[C5XX] = {"consecutive_5xx"},
			[CGW] = {"consecutive_gateway_failure"},
			[CLOCAL] = {"consecutive_local_origin_failure"},
			[INTERVAL] = {"interval_ms"},
			[BASE] = {"base_ejection_time_ms"},
			[MAX] = {"max_ejection_time_ms"},
			[PCT] = {"max_ejection_percent"},
			[SR_HOSTS] = {"success_rate_minimum_hosts"},
			[SR_VOLUME] = {"success_rate_request_volume"},
			[SR_FACTOR] = {"success_rate_stdev_factor"}};
	char p[PATH_LEN];

	if (is_null(n))
		return 0;
	if (want_map(c, n, path, "enabled, consecutive_5xx, interval_ms, base_ejection_time_ms, ...") != 0 ||
	    weft_cfgy_fields(c, n, path, f, N) != 0)
		return -1;
	if (f[ENABLED].val != NULL) {
		weft_cfgy_path_key(p, path, "enabled");
		if (weft_cfgy_bool(c, f[ENABLED].val, p, &o->enabled) != 0)
			return -1;
	}
	const struct num nums[] = {
		{C5XX, 0, OD_CONSECUTIVE_MAX, &o->consecutive_5xx},
		{CGW, 0, OD_CONSECUTIVE_MAX, &o->consecutive_gateway_failure},
		{CLOCAL, 0, OD_CONSECUTIVE_MAX, &o->consecutive_local_origin_failure},
		{INTERVAL, OD_INTERVAL_MS_MIN, TIMEOUT_MS_MAX, &o->interval_ms},
		{BASE, 1, TIMEOUT_MS_MAX, &o->base_ejection_time_ms},
		{MAX, 1, OD_EJECTION_MS_MAX, &o->max_ejection_time_ms},
		{PCT, 0, 100, &o->max_ejection_percent},
		{SR_HOSTS, 0, WEFT_CFG_MAX_CLUSTER_ENDPOINTS, &o->success_rate_minimum_hosts},
		{SR_VOLUME, 1, 1000000000u, &o->success_rate_request_volume},
		{SR_FACTOR, 0, 100000, &o->success_rate_stdev_factor},
	};
	if (get_nums(c, path, f, nums, sizeof(nums) / sizeof(nums[0])) != 0)
		return -1;
	if (o->max_ejection_time_ms < o->base_ejection_time_ms) {
		int line = f[MAX].val != NULL ? line_of(f[MAX].val) : line_of(f[BASE].val);
		weft_cfgy_path_key(p, path, "max_ejection_time_ms");
		return fail(c, line, p, "%u is below base_ejection_time_ms %u", o->max_ejection_time_ms,
			    o->base_ejection_time_ms);
	}
	return 0;
}

int weft_cfgh_cluster_resilience(ctx_t *c, const char *path, struct weft_cluster_cfg *cl,
				 const yaml_node_t *breakers, const yaml_node_t *outlier, const yaml_node_t *panic)
{
	char p[PATH_LEN];

	weft_cluster_resilience_defaults(cl);
	weft_cfgy_path_key(p, path, "circuit_breakers");
	if (breakers != NULL && parse_breakers(c, breakers, p, &cl->breakers) != 0)
		return -1;
	weft_cfgy_path_key(p, path, "outlier_detection");
	if (outlier != NULL && parse_outlier(c, outlier, p, &cl->outlier) != 0)
		return -1;
	if (panic != NULL) {
		weft_cfgy_path_key(p, path, "panic_threshold_percent");
		if (get_u32(c, panic, p, 0, 100, &cl->panic_threshold_percent) != 0)
			return -1;
	}
	return 0;
}
