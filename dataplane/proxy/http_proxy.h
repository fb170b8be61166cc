/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * http_proxy: the HTTP/1.1 L7 proxy. Every downstream connection that a
 * listener of kind http accepts is read one request at a time: the head is
 * parsed (dataplane/http/h1.h, resumable as bytes arrive), routed with the
 * route table of the listener's route config (policy/route.h), answered
 * locally (direct response, redirect, refusal) or sent to an endpoint that
 * the cluster's balancer picks (policy/lb.h), over an idle connection from
 * this worker's pool for that endpoint or a new one. Bodies stream both
 * ways without being buffered whole; the response goes back to the client,
 * and the upstream connection returns to the pool when both sides allow it.
 *
 * Pipelining: the next request of a connection is read only once the
 * previous response has been handed to TCP, so responses leave in request
 * order and whatever a client sends ahead waits in its receive buffer,
 * closing its window (backpressure, DESIGN principle 5).
 *
 * Snapshots: a request holds the snapshot it was routed with (a per-worker
 * count in struct weft_snapshot, see policy/mgmt/publish.c) until its
 * exchange ends, so its route action (response header edits, the cluster's
 * pool settings) stays readable however many reloads happen meanwhile.
 * Nothing else of the snapshot is kept: the next request of the same
 * connection is routed with whatever snapshot is current then.
 *
 * Threading: everything runs on the worker that owns the connections,
 * except http_proxy_stats(), whose counters the management thread reads
 * with WEFT_CTR_READ.
 */
#ifndef WEFT_DATAPLANE_PROXY_HTTP_PROXY_H
#define WEFT_DATAPLANE_PROXY_HTTP_PROXY_H

#include <stdint.h>

#include "dataplane/http/h1.h"
#include "dataplane/tcp/tcp.h"
#include "dataplane/worker.h"
#include "policy/l4cfg.h"

/* Per-worker counters. X(field, "help"). */
#define HTTP_PROXY_STATS(X)                                                                        \
	X(downstream_connections, "downstream connections accepted by http listeners")             \
	X(requests, "requests whose head was read in full (refused or not)")                       \
	X(responses_1xx, "1xx responses sent to clients (100 Continue)")                           \
	X(responses_2xx, "2xx responses sent to clients")                                          \
	X(responses_3xx, "3xx responses sent to clients")                                          \
	X(responses_4xx, "4xx responses sent to clients")                                          \
	X(responses_5xx, "5xx responses sent to clients")                                          \
	X(local_responses, "responses weft wrote itself (direct responses, redirects, refusals)")   \
	X(upstream_requests, "requests sent to an upstream")                                       \
	X(upstream_connects, "upstream connections opened")                                       \
	X(pool_reuse, "requests sent over an idle upstream connection from the pool")              \
	X(pool_returned, "upstream connections put back in the pool after a response")             \
	X(pool_closed_idle, "pooled connections closed after the cluster's idle_timeout_ms")       \
	X(pool_closed_by_upstream, "pooled connections the upstream closed or reset")              \
	X(pool_full, "upstream connections closed because the pool of their endpoint was full")    \
	X(retries_stale, "requests sent again on a new connection after a pooled one failed unused") \
	X(upstream_aborted, "exchanges cut because the upstream reset or closed mid-response")     \
	X(downstream_aborted, "exchanges cut because the client reset or left mid-request")        \
	X(idle_timeouts, "downstream connections closed after idle_timeout_ms")                    \
	X(refused_no_stream, "connections refused: every stream object of the worker in use")     \
	X(refused_listener_full, "connections refused: the listener's share of this worker in use") \
	X(bytes_to_upstream, "request body bytes sent upstream")                                  \
	X(bytes_to_downstream, "response body bytes sent to clients")                             \
	X(upstream_attempts, "attempts sent upstream: first tries and retries")                    \
	X(retries, "attempts after the first (every cause)")                                       \
	X(retries_connect_failure, "retries after a refused or timed-out connect")                 \
	X(retries_refused_stream, "retries after a pooled connection closed before any response")  \
	X(retries_reset, "retries after an upstream reset or close before its response head")      \
	X(retries_status, "retries after a 5xx or retriable status (the response discarded)")      \
	X(retries_per_try_timeout, "retries after per_try_timeout_ms")                             \
	X(retries_budget_overflow, "retries the cluster's retry budget or max_retries refused")   \
	X(retries_not_replayable, "retries the policy wanted but the request body was too large to keep") \
	X(responses_discarded, "upstream responses dropped because the request was retried")       \
	X(per_try_timeouts, "attempts cut by the route's per_try_timeout_ms")                       \
	X(request_timeouts, "requests cut by the route timeout (504 upstream_timeout)")           \
	X(request_header_timeouts, "requests whose head was not whole within request_header_timeout_ms (408)") \
	X(breaker_overflows, "requests refused at once by a circuit breaker (503, x-weft-overflow)")

#define HTTP_PROXY_X_ENUM(f, h) HTTP_PROXY_##f,
enum http_proxy_stat { HTTP_PROXY_STATS(HTTP_PROXY_X_ENUM) HTTP_PROXY_STAT_MAX };
#undef HTTP_PROXY_X_ENUM

/*
 * Why weft answered a request itself with an error. The name goes into the
 * x-weft-reason header and the body of the answer, and names the counter.
 * X(ENUM, "name", status, "help")
 */
#define HTTP_PROXY_REASONS(X)                                                                      \
	X(NO_VHOST, "no_vhost", 404, "no virtual host takes the request's Host")                   \
	X(NO_ROUTE, "no_route", 404, "no route of the virtual host matches")                       \
	X(NO_HEALTHY_UPSTREAM, "no_healthy_upstream", 503, "the cluster has no endpoint to pick")   \
	X(CONNECT_ERROR, "connect_error", 503, "no upstream connection could be opened (no route, source port or connection object)") \
	X(CONNECT_REFUSED, "connect_refused", 503, "the upstream refused the connection")         \
	X(CONNECT_TIMEOUT, "connect_timeout", 503, "the upstream handshake took longer than connect_timeout_ms") \
	X(UPSTREAM_RESET, "upstream_reset", 502, "the upstream reset or closed before its response head") \
	X(BAD_RESPONSE, "bad_response", 502, "the upstream's response head was refused by the parser") \
	X(UPSTREAM_TIMEOUT, "upstream_timeout", 504, "no response head within the route's timeout") \
	X(LISTENER_GONE, "listener_gone", 503, "a reload removed the listener of this connection")  \
	X(ROUTE_ERROR, "route_error", 503, "the router could not run (scratch space missing)")     \
	X(OVERLOADED, "overloaded", 503, "no buffer or upstream connection object was free")      \
	X(REQUEST_HEADER_TIMEOUT, "request_header_timeout", 408, "no whole request head within request_header_timeout_ms of its first byte") \
	X(PRINCIPAL_DENIED, "principal_denied", 403, "the route's allow_principals does not admit the client's principal") \
	X(PER_TRY_TIMEOUT, "per_try_timeout", 504, "no response head within per_try_timeout_ms, and no retry followed") \
	X(OVERFLOW_PENDING, "overflow_max_pending_requests", 503, "the cluster's max_pending_requests breaker is full") \
	X(OVERFLOW_REQUESTS, "overflow_max_requests", 503, "the cluster's max_requests breaker is full")

enum http_proxy_reason {
#define HTTP_PROXY_X_REASON(e, n, s, h) HP_R_##e,
	HTTP_PROXY_REASONS(HTTP_PROXY_X_REASON)
#undef HTTP_PROXY_X_REASON
	HP_R_COUNT
};

extern const char *const http_proxy_stat_name[HTTP_PROXY_STAT_MAX];
extern const char *const http_proxy_stat_help[HTTP_PROXY_STAT_MAX];
extern const char *const http_proxy_reason_name[HP_R_COUNT];
extern const char *const http_proxy_reason_help[HP_R_COUNT];
/* H1_ERRORS names indexed by enum h1_err ("none" at 0), for the stats. */
extern const char *const http_proxy_h1_err_name[H1_E_COUNT];

/* Written by the worker only; read with WEFT_CTR_READ. */
struct http_proxy_stats {
	uint64_t stat[HTTP_PROXY_STAT_MAX];
	uint64_t reason[HP_R_COUNT];        /* local error answers by reason */
	uint64_t request_error[H1_E_COUNT]; /* requests refused by the parser, by reason (index 0 unused) */
	uint64_t response_error[H1_E_COUNT]; /* upstream responses refused (answered 502), by reason */
	uint64_t downstream_active;         /* gauge: client connections open */
	uint64_t streams_active;            /* gauge: requests in flight */
	uint64_t upstream_active;           /* gauge: upstream connections open, busy or idle */
	uint64_t upstream_idle;             /* gauge: upstream connections idle in the pool */
} __attribute__((aligned(64)));

/**
 * Allocate w's stream and upstream objects and set the per-worker state up.
 * w's TCP stack must exist; the accept hook stays tcp_proxy's, which hands
 * http listeners over to http_proxy_accept().
 *
 * @param max_streams  downstream connections of this worker (one stream each)
 * @param max_upstream upstream connections of this worker, busy and idle
 * @return 0, -EINVAL, -ENOMEM
 */
int http_proxy_init(struct weft_worker *w, uint32_t max_streams, uint32_t max_upstream);

/** Forget every connection (the stack frees them) and free w's state. Call after the worker stopped. */
void http_proxy_free(struct weft_worker *w);

/**
 * The accept hook's answer for a listener of kind http (see tcp_accept_fn).
 * @param l  the listener, from w's current snapshot
 * @return 0 to accept, or the drop reason of a refusal as a positive enum weft_drop
 */
int http_proxy_accept(struct weft_worker *w, const struct tcp_endpoints *ep, struct tcp_accept *out,
		      const struct weft_l4_listener *l);

/** Fire timeouts due at w->now, close expired idle upstream connections. About once a millisecond. */
void http_proxy_timers(struct weft_worker *w);

/** w's counters, or NULL when w runs no HTTP proxy. */
const struct http_proxy_stats *http_proxy_stats(const struct weft_worker *w);

#endif
