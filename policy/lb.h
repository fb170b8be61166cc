/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Load balancers: which endpoint of a cluster takes a request.
 *
 * The management thread builds one immutable table per cluster
 * (weft_lb_build()) from the cluster's endpoints and policy. Workers call
 * weft_lb_pick() on it with everything that changes per request or per
 * worker passed in, so the table is never written after publication:
 *
 *  - a random value (random, least_request, and hash policies without a key);
 *  - the request's hash key (ring_hash, maglev), from weft_lb_request_hash();
 *  - which endpoints are healthy right now (a bitmap; NULL: as configured);
 *  - least_request: the worker's in-flight request count per endpoint;
 *  - round_robin: the worker's own small state struct (struct weft_lb_state).
 *
 * Policies (docs/routing.md has the details and the reasons):
 *   round_robin   smooth weighted round robin (nginx), per worker
 *   least_request power of two choices among weighted random candidates,
 *                 the one with fewer in-flight requests per unit of weight
 *   random        weighted, alias method, O(1)
 *   ring_hash     consistent hashing on a sorted ring (Ketama-like)
 *   maglev        Google's Maglev lookup table (prime size, 65537 by default)
 *
 * Plain C: no DPDK, no allocation in weft_lb_pick().
 */
#ifndef WEFT_POLICY_LB_H
#define WEFT_POLICY_LB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/config.h"

#define WEFT_LB_MAX_ENDPOINTS 256 /* per cluster, as WEFT_CFG_MAX_CLUSTER_ENDPOINTS */
#define WEFT_LB_RING_MIN_DEFAULT 1024u
#define WEFT_LB_RING_MAX_DEFAULT (8u << 20)
#define WEFT_LB_MAGLEV_SIZE_DEFAULT 65537u
#define WEFT_LB_MAGLEV_SIZE_MAX 5000011u /* a prime; 5 M entries of 2 bytes */
#define WEFT_LB_ERR_LEN 256

enum weft_lb_algo {
	WEFT_LB_ALGO_ROUND_ROBIN,
	WEFT_LB_ALGO_LEAST_REQUEST,
	WEFT_LB_ALGO_RANDOM,
	WEFT_LB_ALGO_RING_HASH,
	WEFT_LB_ALGO_MAGLEV,
};

/* Where ring_hash and maglev take their key from. */
enum weft_lb_key_kind {
	WEFT_LB_KEY_NONE,      /* no key: every pick is random */
	WEFT_LB_KEY_HEADER,    /* the value of a request header */
	WEFT_LB_KEY_COOKIE,    /* the value of a cookie */
	WEFT_LB_KEY_SOURCE_IP, /* the downstream address */
};

/* The model: what the YAML loader fills. Borrowed for the duration of weft_lb_build(). */
struct weft_lb_endpoint_cfg {
	struct weft_ip addr;
	uint16_t port;
	uint32_t weight;      /* >= 1 */
	const char *locality; /* "region/zone/subzone" or NULL; kept for zone-aware routing */
	bool healthy;         /* initial state, before any health check or outlier report */
	int line;
};

struct weft_lb_cfg {
	const char *cluster;  /* name, for error messages */
	enum weft_lb_algo algo;
	unsigned n_endpoints; /* 1..WEFT_LB_MAX_ENDPOINTS */
	const struct weft_lb_endpoint_cfg *endpoints;
	enum weft_lb_key_kind key;
	const char *key_name;  /* KEY_HEADER: header name; KEY_COOKIE: cookie name */
	uint32_t ring_min;     /* ring_hash: 0 means WEFT_LB_RING_MIN_DEFAULT */
	uint32_t ring_max;     /* ring_hash: 0 means WEFT_LB_RING_MAX_DEFAULT */
	uint32_t maglev_size;  /* maglev: a prime, 0 means WEFT_LB_MAGLEV_SIZE_DEFAULT */
	uint32_t choice_count; /* least_request: candidates per pick, 0 means 2 */
	int line;
};

/* A built endpoint, as workers read it. */
struct weft_lb_endpoint {
	struct weft_ip addr;
	uint16_t port;
	uint32_t weight;
	bool healthy;         /* as configured */
	const char *locality; /* "" when none */
};

struct weft_lb; /* opaque and immutable once built */

/* Which endpoints may take traffic: bit i for endpoint i. */
struct weft_lb_health {
	uint64_t bits[WEFT_LB_MAX_ENDPOINTS / 64];
};

/*
 * A worker's mutable round robin state for one cluster. The worker owns it
 * (one per cluster slot, for instance in a per-worker array) and passes it to
 * every pick. It follows table replacements by itself: a state last used
 * with another table is reset on first use, so workers never allocate.
 */
struct weft_lb_state {
	uint64_t gen; /* the table it belongs to; 0: never used */
	int64_t cw[WEFT_LB_MAX_ENDPOINTS]; /* smooth WRR current weights */
};

struct weft_cluster_rt; /* policy/resilience.h */

/* Everything a pick needs that is not in the table. */
struct weft_lb_ctx {
	uint64_t random;   /* a fresh random value per pick */
	uint64_t hash;     /* ring_hash, maglev: the request's key hash ... */
	bool has_hash;     /* ... if it had a key; else they pick at random */
	const struct weft_lb_health *health; /* NULL: the configured flags */
	const uint32_t *active;              /* least_request: in-flight requests per endpoint; NULL: all 0 */
	struct weft_lb_state *state;         /* round_robin: required */
	/*
	 * The cluster's resilience state (the http cluster's rt), or NULL.
	 * With it, the pick skips endpoints that are ejected or fail their
	 * health checks, unless the cluster is in panic (then every endpoint
	 * of `health` is a candidate), and skips `avoid`.
	 */
	const struct weft_cluster_rt *rt;
	uint32_t avoid;    /* with rt: the previous attempt's endpoint, skipped when another candidate
			    * exists; UINT32_MAX for none (a first attempt). Ignored without rt. */
};

/**
 * Build the table of one cluster. Management thread only.
 * @param err  on failure, "[line N: ]clusters.NAME.endpoints[I].weight: reason"
 * @return 0 with *out set, or -1 (errno EINVAL or ENOMEM) with err filled
 */
int weft_lb_build(const struct weft_lb_cfg *cfg, struct weft_lb **out, char *err, size_t errlen);

/** Free a table (NULL is fine), once no worker can read it any more. */
void weft_lb_free(struct weft_lb *lb);

enum weft_lb_algo weft_lb_algo_of(const struct weft_lb *lb);
unsigned weft_lb_size(const struct weft_lb *lb);
const struct weft_lb_endpoint *weft_lb_endpoint(const struct weft_lb *lb, unsigned i);
/** Entries of the ring (ring_hash) or of the lookup table (maglev); 0 for the others. */
size_t weft_lb_table_size(const struct weft_lb *lb);
/** "round_robin", "least_request", "random", "ring_hash", "maglev". */
const char *weft_lb_algo_name(enum weft_lb_algo a);
/** Parse one of those names. Returns 0 or -1. */
int weft_lb_algo_parse(const char *s, enum weft_lb_algo *a);

/** The configured health of lb's endpoints, as a starting point for the health checker. */
void weft_lb_health_init(const struct weft_lb *lb, struct weft_lb_health *h);

static inline void weft_lb_health_set(struct weft_lb_health *h, unsigned i, bool up)
{
	if (up)
		h->bits[i / 64] |= UINT64_C(1) << (i % 64);
	else
		h->bits[i / 64] &= ~(UINT64_C(1) << (i % 64));
}

static inline bool weft_lb_health_get(const struct weft_lb_health *h, unsigned i)
{
	return (h->bits[i / 64] >> (i % 64)) & 1;
}

/**
 * Pick an endpoint. Worker-safe: reads lb and ctx->rt's published view
 * (one acquire load), writes only ctx->state.
 *
 * The candidates are the healthy endpoints (ctx->health), less, with
 * ctx->rt, those ejected or failing health checks (unless the cluster is
 * in panic: fewer usable than its panic_threshold_percent), less ctx->avoid
 * when any other candidate remains. Hash policies move only the keys of an
 * endpoint that is not a candidate: ring_hash walks on to the next
 * candidate point, maglev rehashes the key until it lands on a candidate.
 *
 * @return the endpoint index, or -1 when there is no candidate (errno
 *         ENOENT: nothing healthy, or nothing usable with a panic threshold
 *         of 0) or round_robin gets no state (errno EINVAL)
 */
int weft_lb_pick(const struct weft_lb *lb, const struct weft_lb_ctx *ctx);

/**
 * A fast 64-bit hash of a byte string: 16 bytes per round through a 64x64->128
 * bit multiply folded back to 64 bits (wyhash-style, not cryptographic).
 * Stable across runs and machines: ring and Maglev positions depend on it.
 */
uint64_t weft_hash64(const void *data, size_t len, uint64_t seed);

/** Hash of an address for KEY_SOURCE_IP (the address bytes only, no port). */
uint64_t weft_lb_hash_ip(const struct weft_ip *ip);

/**
 * The value of cookie name in one Cookie header value ("a=1; b=2",
 * RFC 6265 5.4), without surrounding double quotes. Zero-copy.
 * @return true when found
 */
bool weft_lb_cookie_find(const char *hdr, size_t len, const char *name, size_t name_len, const char **val,
			 size_t *val_len);

struct weft_http_req_view; /* policy/route.h */

/**
 * The request's key hash for lb's key policy: header value, cookie (every
 * Cookie header is searched) or source address.
 * @return true with *hash set; false when the policy has no key or the
 *         request lacks it (then pick with has_hash false: a random endpoint)
 */
bool weft_lb_request_hash(const struct weft_lb *lb, const struct weft_http_req_view *req,
			  const struct weft_ip *src, uint64_t *hash);

#endif
