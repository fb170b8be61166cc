/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Snapshot publication with RCU (DPDK QSBR).
 *
 * The management thread is the only writer of the slot. Workers load it
 * with acquire ordering at the start of an iteration and report a
 * quiescent state at the end of it, after which they hold no snapshot
 * pointer. A replaced snapshot goes on a defer queue tagged with the QSBR
 * token of its replacement; it is freed once every online worker has
 * reported past that token. Workers never wait for anything here.
 */
#ifndef WEFT_POLICY_MGMT_PUBLISH_H
#define WEFT_POLICY_MGMT_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

#include "policy/snapshot.h"

struct rte_rcu_qsbr;
struct rte_rcu_qsbr_dq;

struct weft_publisher {
	struct rte_rcu_qsbr *qsbr;     /* one thread id per worker */
	struct rte_rcu_qsbr_dq *dq;    /* replaced snapshots awaiting a grace period */
	const struct weft_snapshot *slot; /* what workers read; written only here */
	uint64_t version;
	uint64_t freed;                /* snapshots reclaimed so far (stats, tests) */
	/* Past their grace period but still held by requests in flight (weft_snapshot.refs). */
	struct weft_snapshot **linger;
	unsigned n_linger, cap_linger;
};

/** Allocate the QSBR variable for n_workers and the defer queue. Returns 0 or -1 with err. */
int weft_publisher_init(struct weft_publisher *p, unsigned n_workers, char *err, size_t errlen);

/**
 * Publish s (takes ownership; it must not be modified afterwards). Sets
 * s->version. The previous snapshot is queued for reclamation.
 * Always publishes and returns 0: when the defer queue is full even after
 * reclaiming, the management thread waits out one grace period itself
 * (workers report every iteration, so that is microseconds).
 */
int weft_publish(struct weft_publisher *p, struct weft_snapshot *s);

/** Free replaced snapshots whose grace period is over. Never blocks. */
void weft_publisher_reclaim(struct weft_publisher *p);

/** After all workers have stopped: free everything. */
void weft_publisher_fini(struct weft_publisher *p);

/** Allocate a zeroed snapshot; free with weft_snapshot_free(). */
struct weft_snapshot *weft_snapshot_alloc(void);
void weft_snapshot_free(struct weft_snapshot *s);

#endif
