/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The HTTP part of the configuration model: route configs (virtual hosts,
 * routes, matchers, actions, header edits) as written in weft.yaml, parsed
 * and checked for shape but not yet compiled (policy/httpcfg.c compiles them
 * with policy/route.h).
 *
 * struct weft_config is a value: it is copied whole (the applied config is a
 * copy of the parsed one) and never freed piece by piece. So the HTTP model
 * holds no pointers: every string is an offset into one arena inside the
 * struct, and every list is a (first, count) range of one array. The cost
 * is fixed capacities, listed below and in docs/configuration.md; a config
 * beyond them is refused with the limit named.
 *
 * Plain C, no DPDK, no libyaml types: the loader is in policy/config_http.c.
 */
#ifndef WEFT_POLICY_CONFIG_HTTP_H
#define WEFT_POLICY_CONFIG_HTTP_H

#include <stdbool.h>
#include <stdint.h>

#define WEFT_CFG_MAX_ROUTE_CONFIGS 64   /* route configs, named and inline */
#define WEFT_CFG_MAX_VHOSTS 256         /* virtual hosts in all route configs */
#define WEFT_CFG_MAX_HTTP_ROUTES 1024   /* routes in all virtual hosts */
#define WEFT_CFG_MAX_HTTP_DOMAINS 1024  /* domains in all virtual hosts */
#define WEFT_CFG_MAX_HTTP_MATCHES 2048  /* header and query conditions in all routes */
#define WEFT_CFG_MAX_HTTP_HEADERS 2048  /* header edits (add, set, remove entries) in all routes */
#define WEFT_CFG_MAX_HTTP_WEIGHTED 512  /* weighted_clusters entries in all routes */
#define WEFT_CFG_HTTP_STRINGS (192u << 10) /* bytes of strings: names, paths, values, bodies */
#define WEFT_CFG_MAX_DIRECT_BODY 4096   /* bytes of one direct_response body */
#define WEFT_CFG_REQUEST_HEADER_TIMEOUT_MS_DEFAULT 10000u /* slowloris: a whole request head within 10 s */

/* An offset into weft_http_cfg.str; 0 is "absent" (str[0] is always NUL). */
typedef uint32_t weft_cfg_str;

/* A range of one of weft_http_cfg's arrays. */
struct weft_cfg_range {
	uint32_t first;
	uint32_t n;
};

/* A header or query parameter condition (struct weft_route_cfg_kv_match). */
struct weft_http_kv_cfg {
	weft_cfg_str name;
	weft_cfg_str value;
	uint8_t kind; /* enum weft_route_value_kind */
	bool invert;
	int line;
};

/* One header edit: add and set use both, remove only the name. */
struct weft_http_hdr_cfg {
	weft_cfg_str name;
	weft_cfg_str value;
};

struct weft_http_ops_cfg {
	struct weft_cfg_range add, set, remove; /* into hdrs[] */
};

struct weft_http_weighted_cfg {
	uint32_t cluster; /* index into weft_config.clusters */
	uint32_t weight;
};

/* retry_on conditions (policy/resilience.h, weft_retry_wanted()). */
#define WEFT_RETRY_ON_5XX (1u << 0)
#define WEFT_RETRY_ON_GATEWAY_ERROR (1u << 1)
#define WEFT_RETRY_ON_CONNECT_FAILURE (1u << 2)
#define WEFT_RETRY_ON_RESET (1u << 3)
#define WEFT_RETRY_ON_REFUSED_STREAM (1u << 4)
#define WEFT_RETRY_ON_RETRIABLE_STATUS (1u << 5)
#define WEFT_RETRY_ON_DEFAULT                                                                             \
	(WEFT_RETRY_ON_GATEWAY_ERROR | WEFT_RETRY_ON_CONNECT_FAILURE | WEFT_RETRY_ON_RESET |               \
	 WEFT_RETRY_ON_REFUSED_STREAM)
#define WEFT_RETRY_MAX_STATUS 16 /* retriable_status_codes entries */
#define WEFT_RETRY_NUM_DEFAULT 2u
#define WEFT_RETRY_NUM_MAX 10u
#define WEFT_RETRY_BASE_MS_DEFAULT 25u
#define WEFT_RETRY_MAX_MS_DEFAULT 250u
#define WEFT_RETRY_INTERVAL_MS_MAX 60000u
#define WEFT_RETRY_BODY_DEFAULT 65536u
#define WEFT_RETRY_BODY_MAX (16u << 20)

/*
 * A route's retry_policy, as parsed and as compiled into the route action
 * (struct weft_route_action.retry): plain values, no pointers. Absent in
 * the YAML, it holds the defaults (weft_retry_policy_defaults()).
 */
struct weft_retry_policy {
	uint32_t retry_on;            /* WEFT_RETRY_ON_* bits */
	uint32_t num_retries;         /* 0..10; 0: never retry */
	uint32_t per_try_timeout_ms;  /* 0: none (the route timeout bounds every try) */
	uint32_t base_interval_ms;    /* backoff: full jitter in [0, min(max, base * 2^(n-1))]; 0: no wait */
	uint32_t max_interval_ms;
	uint32_t max_body_bytes;      /* request bodies up to this are kept for replay; larger: no retry */
	uint32_t n_status;
	uint16_t status[WEFT_RETRY_MAX_STATUS]; /* retriable_status_codes */
};

/** The policy a route without retry_policy gets. */
void weft_retry_policy_defaults(struct weft_retry_policy *p);

struct weft_http_route_cfg {
	weft_cfg_str name;
	/* match */
	uint8_t path_kind;           /* enum weft_route_path_kind */
	weft_cfg_str path;
	uint32_t methods;            /* WEFT_HTTP_M_* bits, 0: any */
	struct weft_cfg_range headers; /* into kv[] */
	struct weft_cfg_range query;   /* into kv[] */
	int match_line;
	/* action */
	uint8_t action;              /* enum weft_route_action_kind */
	uint32_t cluster;            /* ACT_CLUSTER: index into weft_config.clusters */
	struct weft_cfg_range weighted; /* ACT_WEIGHTED: into weighted[] */
	weft_cfg_str prefix_rewrite;
	bool prefix_rewrite_set;     /* prefix_rewrite: "" is a rewrite too */
	weft_cfg_str regex_pattern, regex_substitution;
	weft_cfg_str host_rewrite;
	uint32_t timeout_ms;         /* 0: the listener's request_timeout_ms */
	struct weft_retry_policy retry; /* ACT_CLUSTER, ACT_WEIGHTED */
	weft_cfg_str redirect_scheme, redirect_host, redirect_path, redirect_prefix;
	uint16_t redirect_port, redirect_status;
	bool redirect_strip_query;
	uint16_t direct_status;
	weft_cfg_str direct_body;
	struct weft_http_ops_cfg request_headers, response_headers;
	bool has_principals;         /* allow_principals given: only these peers (weft_config.tls.principals) */
	struct weft_cfg_range principals;
	int line;
};

struct weft_http_vhost_cfg {
	weft_cfg_str name;
	struct weft_cfg_range domains; /* into domains[] */
	struct weft_cfg_range routes;  /* into routes[] */
	int line;
};

/*
 * A route config: the virtual hosts one or more http listeners route with.
 * Named ones come from the top-level route_configs; an inline one (a
 * listener's route_config given as a mapping) has the name "" and belongs to
 * that listener alone.
 */
struct weft_http_rc_cfg {
	char name[32];
	char path[48];               /* "route_configs[2]" or "listeners[1].route_config", for messages */
	struct weft_cfg_range vhosts; /* into vhosts[] */
	int line;
};

struct weft_http_cfg {
	char source[128];            /* the file name errors of the compile step start with */
	unsigned n_rc;
	struct weft_http_rc_cfg rc[WEFT_CFG_MAX_ROUTE_CONFIGS];
	unsigned n_vhosts;
	struct weft_http_vhost_cfg vhosts[WEFT_CFG_MAX_VHOSTS];
	unsigned n_routes;
	struct weft_http_route_cfg routes[WEFT_CFG_MAX_HTTP_ROUTES];
	unsigned n_domains;
	weft_cfg_str domains[WEFT_CFG_MAX_HTTP_DOMAINS];
	unsigned n_kv;
	struct weft_http_kv_cfg kv[WEFT_CFG_MAX_HTTP_MATCHES];
	unsigned n_hdrs;
	struct weft_http_hdr_cfg hdrs[WEFT_CFG_MAX_HTTP_HEADERS];
	unsigned n_weighted;
	struct weft_http_weighted_cfg weighted[WEFT_CFG_MAX_HTTP_WEIGHTED];
	uint32_t str_len;            /* bytes used in str, at least 1 */
	char str[WEFT_CFG_HTTP_STRINGS];
};

/** The string at offset s of h ("" for 0). */
static inline const char *weft_cfg_s(const struct weft_http_cfg *h, weft_cfg_str s)
{
	return s < h->str_len ? &h->str[s] : "";
}

#endif
