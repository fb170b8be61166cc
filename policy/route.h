/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HTTP routing: which virtual host a request belongs to, which of its routes
 * it takes, and what that route does with it (send it to a cluster, split it
 * over weighted clusters, redirect it, answer it directly; rewrite its path
 * and host; add, set and remove headers).
 *
 * Three parts, each with one owner:
 *
 *  - The model (struct weft_route_cfg_*): plain structs the YAML loader
 *    fills. The model only borrows: every pointer in it must stay valid for
 *    the duration of weft_routes_compile() and no longer.
 *  - The compiler, run on the management thread: checks the model, copies
 *    what it needs, builds the Host index and one Hyperscan database per
 *    virtual host, and returns an immutable table (struct weft_route_table)
 *    that goes into the snapshot.
 *  - The decision functions workers call on that table: weft_route_match(),
 *    then, for the route it returns, the rewrite and header helpers. They
 *    never allocate and never write to the table.
 *
 * docs/routing.md explains the matching rules and the YAML they come from.
 */
#ifndef WEFT_POLICY_ROUTE_H
#define WEFT_POLICY_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hs/hs.h>

#include "policy/config_http.h" /* struct weft_retry_policy */

/* ------------------------------------------------------------------------ */
/* The request as the router sees it                                         */
/* ------------------------------------------------------------------------ */

/*
 * One header field, zero-copy: both spans point into the caller's buffer.
 * Names compare case-insensitively (RFC 9110 5.1); values byte for byte.
 */
struct weft_http_hdr_view {
	const char *name;
	const char *value;
	uint32_t name_len;
	uint32_t value_len;
};

/*
 * A parsed request, zero-copy. The HTTP codec fills it from its own buffers;
 * the router never writes through it and keeps no pointer into it after the
 * call returns.
 */
struct weft_http_req_view {
	const char *method;  /* "GET", ... */
	uint32_t method_len;
	uint32_t method_bit; /* optional: its WEFT_HTTP_M_* bit if the codec knows it; 0: from method */
	const char *path;    /* origin-form path without "?query"; raw, not percent-decoded */
	uint32_t path_len;
	const char *query;   /* what follows '?', without it; NULL or len 0 when absent */
	uint32_t query_len;
	const char *host;    /* Host (HTTP/1.1) or :authority (HTTP/2), port included if sent */
	uint32_t host_len;
	const char *scheme;  /* "http" or "https", for redirects; NULL means "http" */
	uint32_t scheme_len;
	const struct weft_http_hdr_view *headers; /* in arrival order, pseudo-headers excluded */
	unsigned n_headers;
	uint64_t random;     /* per-request random value: picks among weighted clusters */
};

/** First header named name (any case), or NULL. */
const struct weft_http_hdr_view *weft_http_req_header(const struct weft_http_req_view *req,
						       const char *name, size_t name_len);

/* ------------------------------------------------------------------------ */
/* The model: what the YAML loader fills                                     */
/* ------------------------------------------------------------------------ */

/* Method bits for weft_route_cfg_match.methods. */
#define WEFT_HTTP_M_GET (1u << 0)
#define WEFT_HTTP_M_HEAD (1u << 1)
#define WEFT_HTTP_M_POST (1u << 2)
#define WEFT_HTTP_M_PUT (1u << 3)
#define WEFT_HTTP_M_DELETE (1u << 4)
#define WEFT_HTTP_M_CONNECT (1u << 5)
#define WEFT_HTTP_M_OPTIONS (1u << 6)
#define WEFT_HTTP_M_TRACE (1u << 7)
#define WEFT_HTTP_M_PATCH (1u << 8)
#define WEFT_HTTP_M_OTHER (1u << 9) /* any method not listed above (never configurable) */

/** The WEFT_HTTP_M_* bit of a method name (exact, upper case), or 0 if unknown. */
uint32_t weft_http_method_bit(const char *name, size_t len);

enum weft_route_path_kind {
	WEFT_ROUTE_PATH_ANY,    /* no path condition */
	WEFT_ROUTE_PATH_EXACT,  /* path: the whole path, byte for byte */
	WEFT_ROUTE_PATH_PREFIX, /* prefix: the path starts with it */
	WEFT_ROUTE_PATH_REGEX,  /* regex: the whole path matches (implicitly anchored) */
};

enum weft_route_value_kind {
	WEFT_ROUTE_VALUE_EXACT,   /* value equals */
	WEFT_ROUTE_VALUE_REGEX,   /* whole value matches (implicitly anchored) */
	WEFT_ROUTE_VALUE_PRESENT, /* the header or parameter is there, any value */
	WEFT_ROUTE_VALUE_ABSENT,  /* it is not there */
};

/* A condition on a header or on a query parameter. */
struct weft_route_cfg_kv_match {
	const char *name;  /* header: any case; query parameter: case-sensitive */
	enum weft_route_value_kind kind;
	const char *value; /* EXACT: the value; REGEX: the pattern; else unused */
	bool invert;       /* negate the outcome (Envoy's invert_match) */
	int line;
};

struct weft_route_cfg_match {
	enum weft_route_path_kind path_kind;
	const char *path;  /* per path_kind; unused for ANY */
	uint32_t methods;  /* WEFT_HTTP_M_* bits; 0 = any method */
	unsigned n_headers;
	const struct weft_route_cfg_kv_match *headers; /* all must hold */
	unsigned n_query;
	const struct weft_route_cfg_kv_match *query;   /* all must hold; ABSENT allowed too */
	int line;
};

struct weft_route_cfg_header {
	const char *name;
	const char *value;
};

/* Header edits, applied in this order: remove, set (replace), add (append). */
struct weft_route_cfg_header_ops {
	unsigned n_add;
	const struct weft_route_cfg_header *add;
	unsigned n_set;
	const struct weft_route_cfg_header *set;
	unsigned n_remove;
	const char *const *remove;
};

enum weft_route_action_kind {
	WEFT_ROUTE_ACT_CLUSTER,  /* forward to one cluster */
	WEFT_ROUTE_ACT_WEIGHTED, /* forward to one of several clusters, by weight */
	WEFT_ROUTE_ACT_REDIRECT, /* answer 3xx with a Location */
	WEFT_ROUTE_ACT_DIRECT,   /* answer with a fixed status and body */
};

struct weft_route_cfg_weighted {
	const char *cluster;
	uint32_t weight; /* 0 allowed (drains the cluster); the sum must be > 0 */
};

struct weft_route_cfg_redirect {
	const char *scheme; /* NULL: keep the request's */
	const char *host;   /* NULL: keep the request's */
	uint16_t port;      /* 0: see docs/routing.md */
	const char *path;   /* replaces the path (and the query, if it holds '?'); excludes prefix_rewrite */
	const char *prefix_rewrite; /* replaces the matched prefix; needs a prefix or exact path match */
	uint16_t status;    /* 301 (0 means 301), 302, 303, 307 or 308 */
	bool strip_query;
};

struct weft_route_cfg_direct {
	uint16_t status; /* 100..599 */
	const char *body; /* NUL-terminated; NULL for none */
};

struct weft_route_cfg_route {
	const char *name; /* optional, for logs and stats */
	struct weft_route_cfg_match match;
	enum weft_route_action_kind action;
	/* ACT_CLUSTER */
	const char *cluster;
	/* ACT_WEIGHTED */
	unsigned n_weighted;
	const struct weft_route_cfg_weighted *weighted;
	/* ACT_CLUSTER and ACT_WEIGHTED */
	const char *prefix_rewrite;        /* needs a prefix or exact path match */
	const char *regex_rewrite_pattern; /* with regex_rewrite_substitution; excludes prefix_rewrite */
	const char *regex_rewrite_substitution; /* \0..\9 refer to the match and its groups */
	const char *host_rewrite;
	uint32_t timeout_ms;               /* 0: the listener's default */
	struct weft_retry_policy retry;    /* copied; zeroed: no retries (the YAML loader fills the defaults) */
	/* ACT_REDIRECT */
	struct weft_route_cfg_redirect redirect;
	/* ACT_DIRECT */
	struct weft_route_cfg_direct direct;
	/* any action */
	struct weft_route_cfg_header_ops request_headers;
	struct weft_route_cfg_header_ops response_headers;
	int line;
};

struct weft_route_cfg_vhost {
	const char *name;
	unsigned n_domains;
	const char *const *domains; /* "a.example", "*.example", "api.*", "*"; unique across vhosts */
	unsigned n_routes;
	const struct weft_route_cfg_route *routes; /* first match in this order wins */
	int line;
};

struct weft_route_cfg_model {
	unsigned n_vhosts;
	const struct weft_route_cfg_vhost *vhosts;
	/* Cluster names in config order; a route's cluster resolves to its index here. */
	unsigned n_clusters;
	const char *const *clusters;
	/* Workers that will call weft_route_rewrite_path(): each gets its own copy of
	 * every regex_rewrite matcher (glibc's regexec() locks the pattern it runs). */
	unsigned n_workers; /* 0 means 1 */
	/* Optional: the table being replaced. A virtual host whose regexes did not
	 * change copies its Hyperscan database instead of compiling it again. Only
	 * read during the call; it may be freed any time after. */
	const struct weft_route_table *previous;
};

/* ------------------------------------------------------------------------ */
/* The compiled table                                                        */
/* ------------------------------------------------------------------------ */

#define WEFT_ROUTE_MAX_VHOST_REGEX 65536 /* regexes in one virtual host, all kinds */
#define WEFT_ROUTE_MAX_QUERY_PARAMS 64   /* query parameters looked at per request */
#define WEFT_ROUTE_MAX_HOST 256          /* longer Host values only reach the "*" virtual host */
#define WEFT_ROUTE_ERR_LEN 512

struct weft_route_table; /* opaque, immutable once compiled */

/* A string the table owns; NUL-terminated as well, for convenience. */
struct weft_route_str {
	const char *p;
	uint32_t len;
};

struct weft_route_header_ops {
	uint16_t n_add, n_set, n_remove;
	const struct weft_http_hdr_view *add; /* names lower case */
	const struct weft_http_hdr_view *set;
	const struct weft_route_str *remove;  /* lower case */
};

struct weft_route_weighted {
	uint32_t cluster;    /* index into the model's clusters */
	uint32_t cum_weight; /* sum of the weights up to and including this one */
	struct weft_route_str name;
};

/* What a matched route does. Read-only; lives as long as the table. */
struct weft_route_action {
	enum weft_route_action_kind kind;
	uint32_t cluster; /* ACT_CLUSTER */
	struct weft_route_str cluster_name;
	uint32_t n_weighted; /* ACT_WEIGHTED */
	uint32_t total_weight;
	const struct weft_route_weighted *weighted;
	bool rewrites_path;          /* prefix or regex rewrite: call weft_route_rewrite_path() */
	struct weft_route_str host_rewrite; /* len 0: keep the Host */
	uint32_t timeout_ms;
	struct weft_retry_policy retry; /* ACT_CLUSTER, ACT_WEIGHTED: policy/resilience.h decides with it */
	struct {                     /* ACT_REDIRECT */
		struct weft_route_str scheme, host, path, prefix_rewrite;
		uint16_t port, status;
		bool strip_query;
	} redirect;
	struct {                     /* ACT_DIRECT */
		uint16_t status;
		struct weft_route_str body;
	} direct;
	struct weft_route_header_ops request_headers;
	struct weft_route_header_ops response_headers;
	struct weft_route_str name;  /* the route's name, possibly empty */
};

struct weft_route_result {
	uint32_t vhost;  /* index in config order; UINT32_MAX when no virtual host took the Host */
	uint32_t route;  /* index within the virtual host; UINT32_MAX when no route matched */
	const struct weft_route_action *action; /* NULL when no route matched */
	uint32_t cluster; /* ACT_CLUSTER: action->cluster; ACT_WEIGHTED: the one picked; else UINT32_MAX */
	bool regex_rewrite_hit; /* for weft_route_rewrite_path(): the rewrite pattern occurs in the path */
};

/**
 * Compile a routing model into an immutable table. Management thread only.
 *
 * Every regex of one virtual host (path, header and query matchers, rewrite
 * patterns) goes into one Hyperscan block-mode database.
 *
 * @param m      the model; only read, and not referenced once this returns
 * @param out    on success, the new table (free with weft_routes_free())
 * @param err    on failure: "[line N: ]virtual_hosts[V].routes[R].match.regex: reason"
 * @return 0, or -1 with err filled (invalid model, regex refused, ENOMEM)
 */
int weft_routes_compile(const struct weft_route_cfg_model *m, struct weft_route_table **out,
			char *err, size_t errlen);

/** Free a table (NULL is fine). Only once no worker can still read it (after the RCU grace period). */
void weft_routes_free(struct weft_route_table *t);

/**
 * Allocate a Hyperscan scratch fitting every database of t, for one worker.
 * Management thread only.
 *
 * @param out  the new scratch, or NULL when t holds no regex at all (then
 *             weft_route_match() accepts a NULL scratch)
 * @return 0, or -1 (ENOMEM)
 */
int weft_route_scratch_alloc(const struct weft_route_table *t, hs_scratch_t **out);

/**
 * Before publishing t: give one worker a scratch that fits t. Management
 * thread only; workers never allocate.
 *
 * Never writes to the scratch *s points to, since its worker may be scanning
 * with it right now (hs_alloc_scratch() on a live scratch would race). Instead
 * *s is replaced by a new scratch, a clone of the old one grown to fit t, so
 * it also fits every table the old one fitted. The caller keeps the old
 * pointer, publishes the new scratch together with t (for instance in the
 * same snapshot), and frees the old one with weft_route_scratch_free() after
 * the grace period.
 *
 * @return 1 when *s was replaced; 0 when nothing was needed (t has no regex:
 *         *s unchanged, possibly NULL); -1 on ENOMEM (*s unchanged)
 */
int weft_route_scratch_fit(const struct weft_route_table *t, hs_scratch_t **s);

/** Free a scratch (NULL is fine). */
void weft_route_scratch_free(hs_scratch_t *s);

/**
 * Route one request. Worker-safe: reads t, writes only *out and the scratch.
 *
 * The virtual host is chosen by Host (port ignored, any case): exact domain,
 * then the longest suffix wildcard, then the longest prefix wildcard, then
 * "*". Within it the first route, in config order, whose every condition
 * holds wins.
 *
 * @param scratch  this worker's scratch, fitted to t (NULL only if t has no regex)
 * @return 1 matched (out->action set); 0 no virtual host or no route
 *         (out->vhost / out->route say which); -1 Hyperscan refused to scan
 *         (scratch missing or too small: errno EINVAL), treated as no match
 */
int weft_route_match(const struct weft_route_table *t, const struct weft_http_req_view *req,
		     hs_scratch_t *scratch, struct weft_route_result *out);

/**
 * The path (and "?query") to forward upstream after the route's prefix or
 * regex rewrite. Worker-safe; no allocation except inside glibc's regexec()
 * for regex rewrites.
 *
 * @param worker  0..n_workers-1 (the model's): which regex copy to use
 * @return the length written to buf (NUL-terminated), 0 when the route
 *         rewrites nothing (forward the path as it came), -1 when buf is
 *         too small (errno ENOSPC)
 */
int weft_route_rewrite_path(const struct weft_route_table *t, const struct weft_route_result *r,
			    const struct weft_http_req_view *req, unsigned worker, char *buf, size_t cap);

/**
 * The Location of a redirect route (ACT_REDIRECT).
 * @return the length written to buf (NUL-terminated), or -1 (errno ENOSPC,
 *         or EINVAL when r is not a redirect)
 */
int weft_route_redirect_location(const struct weft_route_table *t, const struct weft_route_result *r,
				 const struct weft_http_req_view *req, char *buf, size_t cap);

/**
 * Apply header edits to a header list, zero-copy: out holds views into in and
 * into the table. Headers named in ops->remove or ops->set are dropped (every
 * instance), then ops->set and ops->add are appended, in that order.
 *
 * @return the number of headers in out, or -1 when cap is too small (errno ENOSPC)
 */
int weft_route_headers_apply(const struct weft_route_header_ops *ops, const struct weft_http_hdr_view *in,
			     unsigned n_in, struct weft_http_hdr_view *out, unsigned cap);

/** Number of virtual hosts, of regexes in all databases, and of routes (for stats and /config_dump). */
unsigned weft_routes_vhost_count(const struct weft_route_table *t);
unsigned weft_routes_regex_count(const struct weft_route_table *t);
unsigned weft_routes_route_count(const struct weft_route_table *t);
/** Hyperscan databases copied from the model's previous table rather than compiled. */
unsigned weft_routes_reused_count(const struct weft_route_table *t);

#endif
