/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Active health checks, run by the workers over their own TCP stack.
 *
 * Every endpoint of every cluster with a health_check block (policy/config.h,
 * struct weft_health_check_cfg) is checked by exactly one worker: the one
 * whose id is a hash of the endpoint's address and port modulo the number of
 * workers. That worker is the only writer of the endpoint's verdict in the
 * cluster's runtime state (weft_hc_set(), policy/resilience.h); the pickers
 * of every worker read it from there.
 *
 * Per endpoint the owner keeps a small state: healthy or not, the current run
 * of successes or failures, the time of the next check, and the connection of
 * the check in flight. A check is
 *   tcp:  a TCP handshake; success when it completes within timeout_ms. The
 *         connection is then aborted (RST), so checks leave no TIME_WAIT and
 *         no half-closed connection behind on weft.
 *   http: "GET path HTTP/1.1" with Host, "User-Agent: weft-health-check" and
 *         "Connection: close"; the status line is read with the HTTP/1.1
 *         response parser (dataplane/http/h1.h) and the check succeeds when
 *         the status is in expected_statuses, all within timeout_ms. weft
 *         then waits for the server's close (it asked for it) and closes too.
 * A cluster whose connections originate TLS (its tls block) is checked over
 * TLS as well: the check's handshake is the TLS one, and an http check's
 * request goes inside it.
 * healthy_threshold successes in a row make an unhealthy endpoint healthy,
 * unhealthy_threshold failures in a row a healthy one unhealthy. Endpoints
 * start healthy. The next check starts interval_ms plus a random 0..jitter_ms
 * after the previous one ended.
 *
 * Snapshots: the worker re-reads the snapshot whenever its version changes.
 * Endpoints are known by (cluster name, address, port): one that stays keeps
 * its state, one that goes has its check aborted, one that appears starts
 * healthy with its first check within jitter_ms.
 *
 * Health-check connections are plain connections of the worker's stack with
 * their own callback: they take no listener or cluster breaker count, no
 * pool slot, and never carry a proxied request.
 *
 * Cost: health_timers() runs with the worker's millisecond timers and
 * returns after one comparison unless a check is due or the snapshot
 * changed; nothing runs per packet except the check connections' own events.
 *
 * Threading: every function runs on the worker w, except health_stats(),
 * whose counters the management thread reads with WEFT_CTR_READ.
 */
#ifndef WEFT_DATAPLANE_PROXY_HEALTH_H
#define WEFT_DATAPLANE_PROXY_HEALTH_H

#include <stdint.h>

#include "dataplane/worker.h"

/* Per-worker counters. X(field, "help"). */
#define HEALTH_STATS(X)                                                                            \
	X(checks, "health checks started")                                                         \
	X(successes, "health checks that succeeded")                                              \
	X(failures, "health checks that failed, whatever the reason")                             \
	X(became_healthy, "endpoints turned healthy by healthy_threshold successes in a row")     \
	X(became_unhealthy, "endpoints turned unhealthy by unhealthy_threshold failures in a row")

#define HEALTH_X_ENUM(f, h) HEALTH_##f,
enum health_stat { HEALTH_STATS(HEALTH_X_ENUM) HEALTH_STAT_MAX };
#undef HEALTH_X_ENUM

/* Why a check failed. X(ENUM, "name", "help") */
#define HEALTH_FAILURES(X)                                                                         \
	X(CONNECT_REFUSED, "connect_refused", "the endpoint answered the SYN with a reset")         \
	X(CONNECT_ERROR, "connect_error", "no connection could be opened (no route, source port or connection object)") \
	X(TIMEOUT, "timeout", "no handshake (tcp) or no status line (http) within timeout_ms")     \
	X(RESET, "reset", "the endpoint reset or closed the connection before its status line")   \
	X(BAD_STATUS, "bad_status", "the status is not one of expected_statuses")                  \
	X(BAD_RESPONSE, "bad_response", "the status line was refused by the HTTP/1.1 parser")      \
	X(TLS, "tls", "a cluster with tls: the connection was refused or its TLS handshake failed")

enum health_failure {
#define HEALTH_X_FAIL(e, n, h) HEALTH_F_##e,
	HEALTH_FAILURES(HEALTH_X_FAIL)
#undef HEALTH_X_FAIL
	HEALTH_F_COUNT
};

extern const char *const health_stat_name[HEALTH_STAT_MAX];
extern const char *const health_stat_help[HEALTH_STAT_MAX];
extern const char *const health_failure_name[HEALTH_F_COUNT];
extern const char *const health_failure_help[HEALTH_F_COUNT];

/* Written by the worker only; read with WEFT_CTR_READ. */
struct health_stats {
	uint64_t stat[HEALTH_STAT_MAX];
	uint64_t failure[HEALTH_F_COUNT]; /* failed checks by reason */
	uint64_t endpoints;               /* gauge: endpoints this worker checks */
	uint64_t unhealthy;               /* gauge: of those, unhealthy now */
} __attribute__((aligned(64)));

/**
 * Allocate w's checker state (room for every endpoint a config can hold).
 * w's TCP stack must exist.
 *
 * @return 0, -EINVAL (no stack, bad worker id, already done), -ENOMEM
 */
int health_init(struct weft_worker *w);

/** Free w's state (the stack frees the connections). Call after the worker stopped. */
void health_free(struct weft_worker *w);

/**
 * Follow snapshot changes, start due checks, fail checks past their timeout.
 * Call about once a millisecond with w->snap loaded (the worker loop does).
 */
void health_timers(struct weft_worker *w);

/** w's counters, or NULL when w runs no checker. */
const struct health_stats *health_stats(const struct weft_worker *w);

#endif
