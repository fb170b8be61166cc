/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Resilience decisions: whether a failed attempt is retried and after how
 * long, circuit breakers and the retry budget of a cluster, outlier
 * detection (ejecting endpoints that fail), the health-check state of each
 * endpoint and the panic threshold. docs/architecture.md explains the
 * defaults; docs/configuration.md lists the keys.
 *
 * Two halves:
 *
 *  - Pure functions of a route's retry policy (weft_retry_wanted(),
 *    weft_retry_backoff_ms()): no state, callable anywhere.
 *  - struct weft_cluster_rt, one per cluster per snapshot (allocated by the
 *    HTTP compile step, policy/httpcfg.c, freed with the snapshot). Workers
 *    write only their own slots (relaxed single-writer stores on cache lines
 *    no other worker writes); the management thread reads them about every
 *    100 ms (weft_resilience_tick()), decides ejections and publishes, per
 *    cluster, which endpoints are usable (a double-buffered view switched by
 *    one release store). Workers never lock and never wait.
 *
 * State that must survive a reload (ejections, how often an endpoint was
 * ejected, its health-check state, the totals behind the counters) is
 * carried over by (address, port) from the previous snapshot's state when
 * the new one is compiled.
 *
 * Plain C, no DPDK.
 */
#ifndef WEFT_POLICY_RESILIENCE_H
#define WEFT_POLICY_RESILIENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/config.h"

#define WEFT_RT_MAX_WORKERS WEFT_CFG_MAX_WORKERS
#define WEFT_RT_MAX_ENDPOINTS WEFT_CFG_MAX_CLUSTER_ENDPOINTS
#define WEFT_RT_WORDS (WEFT_RT_MAX_ENDPOINTS / 64)
#define WEFT_RT_TICK_MS 100u /* how often the management thread runs weft_resilience_tick() */

/* ------------------------------------------------------------------------ */
/* Retry decisions (pure)                                                    */
/* ------------------------------------------------------------------------ */

/* Why an attempt failed. */
enum weft_retry_cause {
	WEFT_RETRY_CONNECT_FAILURE, /* refused, or timed out connecting: never reached the upstream */
	WEFT_RETRY_REFUSED_STREAM,  /* a pooled connection closed before reading the request */
	WEFT_RETRY_RESET,           /* reset or closed before a whole response head */
	WEFT_RETRY_STATUS,          /* a response head with this status (see weft_retry_wanted) */
	WEFT_RETRY_PER_TRY_TIMEOUT, /* no response head within per_try_timeout_ms */
	WEFT_RETRY_CAUSE_N,
};

/** "connect_failure", "refused_stream", "reset", "status", "per_try_timeout": counter names. */
const char *weft_retry_cause_name(enum weft_retry_cause c);

/**
 * True for the methods RFC 9110 9.2.2 calls idempotent that weft replays:
 * GET, HEAD, OPTIONS, TRACE, PUT, DELETE (a WEFT_HTTP_M_* bit, policy/route.h).
 */
bool weft_retry_idempotent(uint32_t method_bit);

/**
 * Whether the policy retries an attempt that failed this way. The caller
 * still checks the attempt count against p->num_retries (this returns
 * false whenever num_retries is 0), the body size against max_body_bytes,
 * the route timeout, and takes the cluster's retry budget
 * (weft_retry_budget_acquire()).
 *
 *   gateway-error           status 502, 503, 504; a per-try timeout
 *   5xx                     any status 500-599; connect failure, reset,
 *                           refused stream, per-try timeout (as Envoy)
 *   connect-failure         WEFT_RETRY_CONNECT_FAILURE
 *   reset                   WEFT_RETRY_RESET; a per-try timeout
 *   refused-stream          WEFT_RETRY_REFUSED_STREAM
 *   retriable-status-codes  a status listed in retriable_status_codes
 *
 * A request that reached the upstream is retried only when idempotent.
 *
 * @param status            the response status (WEFT_RETRY_STATUS only)
 * @param idempotent        weft_retry_idempotent() of the request's method
 * @param reached_upstream  any byte of the request may have been read by
 *                          the upstream (false for connect failures and
 *                          refused streams)
 */
bool weft_retry_wanted(const struct weft_retry_policy *p, enum weft_retry_cause c, unsigned status,
		       bool idempotent, bool reached_upstream);

/**
 * The wait before retry number retry_no (1 for the first retry): full
 * jitter, uniform in [0, min(max_interval_ms, base_interval_ms * 2^(retry_no-1))].
 * 0 when base_interval_ms is 0.
 *
 * @param rnd  a fresh 64-bit random value
 */
uint32_t weft_retry_backoff_ms(const struct weft_retry_policy *p, unsigned retry_no, uint64_t rnd);

/* ------------------------------------------------------------------------ */
/* Per-cluster runtime state                                                 */
/* ------------------------------------------------------------------------ */

enum weft_breaker {
	WEFT_BRK_CONNECTIONS, /* upstream connections open (held from connect to close) */
	WEFT_BRK_PENDING,     /* requests waiting for a connection */
	WEFT_BRK_REQUESTS,    /* downstream requests in flight on the cluster (routed to the end) */
	WEFT_BRK_RETRIES,     /* retries in flight (from the budget's admission to the end of that try) */
	WEFT_BRK_N,
};

/** "max_connections", "max_pending_requests", "max_requests", "max_retries": the x-weft-overflow value. */
const char *weft_breaker_name(enum weft_breaker b);

/* The outcome of one attempt on one endpoint. */
enum weft_outcome {
	WEFT_OUT_SUCCESS, /* a response head below 500 */
	WEFT_OUT_5XX,     /* 500-599 except 502, 503, 504 */
	WEFT_OUT_GATEWAY, /* 502, 503, 504 */
	WEFT_OUT_LOCAL,   /* connect failure, reset, timeout: the endpoint did not answer */
	WEFT_OUT_N,
};

/** The outcome a response status stands for (any status: below 500 is a success). */
enum weft_outcome weft_outcome_of_status(unsigned status);

/* Why an endpoint was ejected. */
enum weft_eject_reason {
	WEFT_EJECT_CONSECUTIVE_5XX,
	WEFT_EJECT_CONSECUTIVE_GATEWAY,
	WEFT_EJECT_CONSECUTIVE_LOCAL,
	WEFT_EJECT_SUCCESS_RATE,
	WEFT_EJECT_N,
};

/** "consecutive_5xx", "consecutive_gateway_failure", "consecutive_local_origin_failure", "success_rate". */
const char *weft_eject_reason_name(enum weft_eject_reason r);

/*
 * Which endpoints take traffic, as the pickers read it. Double-buffered
 * and sequenced: the management thread rewrites the view workers are not
 * told about (its seq odd while it writes), then switches `cur` with a
 * release store. A reader (weft_rt_view_read()) copies the current view
 * and retries in the rare case its seq changed meanwhile (a reader stalled
 * for a whole tick): it never waits for the writer and never sees a torn
 * view.
 */
struct weft_rt_view {
	uint32_t seq;                   /* even when stable; +2 per rewrite */
	uint32_t n_usable;
	bool panic;                     /* fewer usable than panic_threshold_percent: use them all */
	uint64_t usable[WEFT_RT_WORDS]; /* not ejected and not failing health checks */
};

/* A worker's cluster-wide counters; written by that worker only. */
struct weft_rt_worker {
	uint64_t active[WEFT_BRK_N];   /* counts this worker holds now */
	uint64_t overflow[WEFT_BRK_N]; /* refused admissions, total */
	uint64_t budget_overflow;      /* retries refused by the retry budget, total */
	uint64_t retries;              /* retries admitted, total */
} __attribute__((aligned(64)));

#define WEFT_RT_STREAKS 3 /* consecutive 5xx, gateway, local-origin failures */

/* A worker's view of one endpoint; written by that worker only. One cache line. */
struct weft_rt_ep_slot {
	uint64_t n[WEFT_OUT_N];          /* outcomes, total */
	uint32_t gen;                    /* the endpoint's gen the streaks belong to */
	uint32_t streak[WEFT_RT_STREAKS];
	uint32_t trips[WEFT_RT_STREAKS]; /* times this worker's own streak reached the threshold */
	uint32_t pad_;
} __attribute__((aligned(64)));

/* One endpoint: management state, plus two fields other threads write or read. */
struct weft_rt_ep {
	struct weft_ip addr;
	uint16_t port;
	uint8_t hc_down;         /* health checks failing: written by the checking worker (relaxed) */
	uint32_t gen;            /* bumped (relaxed) by the management thread to restart every streak */
	/* management thread only: */
	bool ejected;
	enum weft_eject_reason reason; /* of the current or last ejection */
	uint32_t times_ejected;  /* grows with each ejection, shrinks while the endpoint behaves */
	uint64_t ejected_until_ms;
	uint64_t calm_since_ms;  /* last ejection ended (decay of times_ejected) */
	uint64_t base[WEFT_OUT_N]; /* outcome totals carried over from earlier snapshots */
	uint64_t sr_total, sr_success; /* totals at the start of the success-rate interval */
	int32_t success_rate_ppm; /* last interval's success rate x 10^6; -1: too few requests */
	uint64_t ejections_total;
};

struct weft_cluster_rt {
	char name[WEFT_CFG_NAME_LEN];
	unsigned n_workers;
	unsigned n_ep;
	struct weft_breaker_cfg brk;
	struct weft_outlier_cfg od;
	uint32_t panic_threshold_percent;
	struct weft_rt_worker *w;        /* [n_workers] */
	struct weft_rt_ep_slot *slot;    /* [n_workers][n_ep]: worker w's at slot + w * n_ep */
	struct weft_rt_ep *ep;           /* [n_ep] */
	struct weft_rt_view view[2];
	uint32_t cur;                    /* the current view: release store / acquire load */
	bool view_published;             /* management thread: a view was published once */
	/* management thread only */
	uint32_t *seen_trips;            /* [n_workers][n_ep][WEFT_RT_STREAKS] */
	uint64_t next_interval_ms;       /* 0: not started */
	uint64_t ejections_total[WEFT_EJECT_N];
	uint64_t base_overflow[WEFT_BRK_N], base_budget_overflow, base_retries;
	unsigned n_ejected;
};

/**
 * Allocate the state of one cluster for n_workers workers. Management
 * thread. Endpoint i is cfg->endpoints[c->first_endpoint + i], in the order
 * of the cluster's balancer. When prev (a cluster's state in the snapshot
 * being replaced, any cluster, NULL for none) is given, endpoints with the
 * same address and port keep its ejection, health-check state and totals;
 * counters of the cluster as a whole carry over too when prev has the same
 * name.
 *
 * @return the state, or NULL (ENOMEM)
 */
struct weft_cluster_rt *weft_cluster_rt_new(const struct weft_config *cfg, const struct weft_cluster_cfg *c,
					    unsigned n_workers, const struct weft_cluster_rt *prev);

/** Free (NULL is fine), with the snapshot, after the grace period. */
void weft_cluster_rt_free(struct weft_cluster_rt *rt);

/**
 * Take one count of breaker b for a worker. Worker-safe.
 *
 * Sums every worker's count (relaxed loads) and compares with the limit;
 * on overflow the worker's overflow counter for b grows. Workers admit at
 * the same time without talking to each other, so the limit may be
 * exceeded by at most one admission per other worker (n_workers - 1), and
 * never more: each worker's own count is exact.
 *
 * @return 0 admitted (release it with weft_breaker_release()), -1 overflow
 */
int weft_breaker_acquire(struct weft_cluster_rt *rt, unsigned worker, enum weft_breaker b);

/** Give back a count taken on the same rt by the same worker. */
void weft_breaker_release(struct weft_cluster_rt *rt, unsigned worker, enum weft_breaker b);

/**
 * Admit a retry. Worker-safe. Retries in flight must stay below both
 * max(min_retry_concurrency, budget_percent% of the requests in flight)
 * (unless the budget is disabled) and max_retries (when not 0).
 * Refusals are counted: by the budget in budget_overflow, by max_retries
 * in overflow[WEFT_BRK_RETRIES].
 *
 * @return 0 with a WEFT_BRK_RETRIES count taken (release it when the retry
 *         attempt ends), -1 refused: answer with what the last attempt got
 */
int weft_retry_budget_acquire(struct weft_cluster_rt *rt, unsigned worker);

/**
 * Record the outcome of one attempt on endpoint ep (its index in the
 * cluster's balancer) for stats and outlier detection. Worker-safe.
 */
void weft_outlier_report(struct weft_cluster_rt *rt, unsigned worker, unsigned ep, enum weft_outcome o);

/**
 * Publish a health-check verdict for endpoint ep. Only one thread may call
 * it for a given endpoint (the worker that owns its checks). The pickers
 * see it within one management tick.
 */
void weft_hc_set(struct weft_cluster_rt *rt, unsigned ep, bool healthy);

/** The last verdict weft_hc_set() published for ep (true: healthy, or never checked). Any thread. */
static inline bool weft_hc_get(const struct weft_cluster_rt *rt, unsigned ep)
{
	return ep >= rt->n_ep || __atomic_load_n(&rt->ep[ep].hc_down, __ATOMIC_RELAXED) == 0;
}

/**
 * A consistent copy of the current usable view. Worker-safe, wait-free in
 * practice: it loops only if the management thread rewrote the very view
 * being copied (possible only for a reader stalled over a tick).
 */
static inline void weft_rt_view_read(const struct weft_cluster_rt *rt, struct weft_rt_view *out)
{
	for (;;) {
		const struct weft_rt_view *v = &rt->view[__atomic_load_n(&rt->cur, __ATOMIC_ACQUIRE) & 1];
		uint32_t s1 = __atomic_load_n(&v->seq, __ATOMIC_ACQUIRE);
		if (s1 & 1)
			continue;
		out->n_usable = __atomic_load_n(&v->n_usable, __ATOMIC_RELAXED);
		out->panic = __atomic_load_n(&v->panic, __ATOMIC_RELAXED);
		for (unsigned w = 0; w < WEFT_RT_WORDS; w++)
			out->usable[w] = __atomic_load_n(&v->usable[w], __ATOMIC_RELAXED);
		/* The copy's loads happen before the second read of seq (seqlock reader). */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&v->seq, __ATOMIC_RELAXED) == s1) {
			out->seq = s1;
			return;
		}
	}
}

/**
 * The current view itself, for the management thread (its only writer) and
 * single-threaded tests; workers use weft_rt_view_read().
 */
static inline const struct weft_rt_view *weft_rt_view_get(const struct weft_cluster_rt *rt)
{
	return &rt->view[__atomic_load_n(&rt->cur, __ATOMIC_ACQUIRE) & 1];
}

struct weft_snapshot;

/**
 * Management thread, about every WEFT_RT_TICK_MS: for every cluster of
 * snap, read the workers' slots, eject on consecutive failures (every
 * tick) and on success rate (every interval_ms), end expired ejections,
 * fold in health-check verdicts and publish the usable view.
 *
 * @param now_ms  a monotonic clock in milliseconds
 */
void weft_resilience_tick(const struct weft_snapshot *snap, uint64_t now_ms);

/** The same for one cluster (what weft_resilience_tick() runs per cluster; tests call it). */
void weft_cluster_rt_tick(struct weft_cluster_rt *rt, uint64_t now_ms);

/* Totals for stats (management thread): base plus every worker's slot. */
struct weft_rt_ep_stats {
	uint64_t n[WEFT_OUT_N];
	uint64_t requests;         /* sum of n[] */
	int32_t success_rate_ppm;  /* last interval; -1 none */
	bool ejected;
	bool hc_down;
	uint32_t times_ejected;
	uint64_t ejections_total;
};

struct weft_rt_cluster_stats {
	uint64_t active[WEFT_BRK_N];
	uint64_t overflow[WEFT_BRK_N];
	uint64_t budget_overflow;
	uint64_t retries;
	uint64_t ejections_total[WEFT_EJECT_N];
	unsigned ejected_now;
	unsigned n_usable;
	bool panic;
};

void weft_cluster_rt_stats(const struct weft_cluster_rt *rt, struct weft_rt_cluster_stats *out);
void weft_cluster_rt_ep_stats(const struct weft_cluster_rt *rt, unsigned ep, struct weft_rt_ep_stats *out);

#endif
