/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Packet fault injection: drop, duplicate, corrupt, reorder and delay frames
 * on one direction of one queue of one port.
 *
 * One struct weft_fault exists per (port, queue, direction) that has faults
 * configured, and it belongs to the worker that owns the queue: nothing in
 * it is shared, so there are no atomics. Decisions come from a seeded
 * xoshiro256** generator, so a run with the same seed and the same input
 * makes the same decisions.
 *
 * The engine knows nothing of rte_eth: it takes a burst in and hands a burst
 * out, with held frames kept in a bounded queue ordered by release time.
 * drivers/port.c wraps it around rte_eth_rx_burst() and rte_eth_tx_burst().
 *
 * Per frame, in this order:
 *   1. drop      (probability drop)      freed, WEFT_DROP_FAULT_DROP
 *   2. duplicate (probability duplicate) a deep copy from the frame's own
 *                                        pool follows the original,
 *                                        WEFT_EV_FAULT_DUPLICATED
 *   3. corrupt   (probability corrupt)   one byte past the Ethernet header
 *                                        of the original is changed,
 *                                        WEFT_EV_FAULT_CORRUPTED
 *   4. reorder   (probability reorder)   the frame is held and released right
 *                                        after the next frame, or after
 *                                        WEFT_FAULT_REORDER_TIMEOUT_US,
 *                                        WEFT_EV_FAULT_REORDERED
 *   5. delay     (delay_us + U[0, jitter_us]) the frame waits in the queue
 *                                        until its release time,
 *                                        WEFT_EV_FAULT_DELAYED; with zero
 *                                        jitter order is kept
 */
#ifndef WEFT_DRIVERS_FAULT_H
#define WEFT_DRIVERS_FAULT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "dataplane/counters.h"
#include "policy/config.h"

/* Frames one direction of one queue may hold back at once; more are dropped as fault_queue_full. */
#define WEFT_FAULT_QUEUE_LEN 4096
/* A reordered frame waits at most this long for a successor to overtake it. */
#define WEFT_FAULT_REORDER_TIMEOUT_US 1000

enum weft_fault_dir {
	WEFT_FAULT_RX = 0,
	WEFT_FAULT_TX = 1,
};

struct weft_fault;

/** True when cfg asks for any fault at all (a probability above zero or a delay). */
bool weft_fault_cfg_active(const struct weft_fault_cfg *cfg);

/**
 * The generator seed for one (port, queue, direction). The fields are placed
 * in distinct bit ranges before mixing, so port 1 queue 0 and port 0 queue 1
 * do not share a stream as a plain XOR would make them.
 */
uint64_t weft_fault_seed(uint64_t cfg_seed, uint16_t port, uint16_t queue, enum weft_fault_dir dir);

/**
 * Create the state for one direction of one queue.
 *
 * @param cfg     probabilities and delays; copied
 * @param seed    generator seed, normally from weft_fault_seed()
 * @param hz      TSC ticks per second, to turn microseconds into the `now` unit
 * @param socket  NUMA node for the allocation (SOCKET_ID_ANY allowed)
 * @return the state, or NULL with rte_errno set (EINVAL: a probability
 *         outside [0,1]; ENOMEM).
 */
struct weft_fault *weft_fault_create(const struct weft_fault_cfg *cfg, uint64_t seed, uint64_t hz,
				     int socket);

/** Free f and every frame it still holds (frames are freed, not counted). NULL is allowed. */
void weft_fault_destroy(struct weft_fault *f);

/**
 * Run a burst through the fault stages.
 *
 * Ownership: every mbuf of in[0..n-1] passes to the engine, whatever the
 * return value. Each is either written to out, held (reorder, delay, or
 * because out is full), or freed and counted in ctr (fault_drop,
 * fault_queue_full). Ownership of out[0..ret-1] passes to the caller.
 * in and out must not overlap.
 *
 * Frames that were already due are not released here; call
 * weft_fault_release() first so that older frames leave before newer ones.
 *
 * @param now  the caller's TSC; must not go backwards between calls
 * @return the number of mbufs written to out (at most max_out)
 */
uint16_t weft_fault_apply(struct weft_fault *f, struct rte_mbuf **in, uint16_t n, struct rte_mbuf **out,
			  uint16_t max_out, uint64_t now, struct weft_worker_counters *ctr);

/**
 * Hand out held frames whose release time is not after now, oldest release
 * first (ties in the order they were held), and a reordered frame whose
 * successor did not come within the timeout.
 *
 * Ownership of out[0..ret-1] passes to the caller.
 * @return the number of mbufs written to out (at most max_out)
 */
uint16_t weft_fault_release(struct weft_fault *f, struct rte_mbuf **out, uint16_t max_out, uint64_t now,
			    struct weft_worker_counters *ctr);

/** Frames held right now (delay queue plus the reorder slot). */
unsigned weft_fault_pending(const struct weft_fault *f);

/**
 * The earliest time a held frame becomes due, UINT64_MAX when none is held.
 * Lets a caller sleep or a test step `now` exactly.
 */
uint64_t weft_fault_next_release(const struct weft_fault *f);

#endif
