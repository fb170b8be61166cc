/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A worker: one poll-mode loop on one lcore owning its queues, flows,
 * neighbour table, tx buffers and counters. Nothing here is shared for
 * writing with another worker.
 */
#ifndef WEFT_DATAPLANE_WORKER_H
#define WEFT_DATAPLANE_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "dataplane/counters.h"
#include "policy/snapshot.h"

#define WEFT_BURST 32
#define WEFT_TXBUF 64 /* per port; flushed when full and at the end of every iteration */

struct weft_neigh_table;
struct tcp_stack;
struct rte_ring;
struct rte_rcu_qsbr;

struct weft_txbuf {
	uint16_t n;
	struct rte_mbuf *pkts[WEFT_TXBUF];
};

struct weft_rxq {
	uint16_t port;  /* weft port index */
	uint16_t queue;
	bool dispatch;  /* single-queue port shared by several workers: hash and hand over */
};

/* Neighbour update broadcast to the other workers (see net/neigh.h). */
struct weft_neigh_msg {
	uint8_t af; /* 4 or 6 */
	uint16_t port;
	uint8_t mac[6];
	uint8_t ip[16]; /* IPv4 in the first 4 bytes, network order */
};

struct weft_worker {
	unsigned id;    /* 0 .. n_workers-1; also the tx queue index on every port */
	unsigned lcore;
	unsigned n_workers;
	struct weft_worker *peers; /* array of all workers, for dispatch and neighbour broadcast */
	struct rte_mempool *pool;
	struct weft_worker_counters *ctr;

	/* RCU: the snapshot in use for this iteration, reloaded after each quiescent report. */
	const struct weft_snapshot *snap;
	const struct weft_snapshot *const *snap_slot;
	struct rte_rcu_qsbr *qsbr;

	uint64_t now;   /* TSC at the start of the iteration */
	uint64_t hz;    /* TSC frequency */

	unsigned n_rxq;
	struct weft_rxq rxq[WEFT_MAX_PORTS];
	uint16_t n_ports;
	struct weft_txbuf tx[WEFT_MAX_PORTS];

	struct rte_ring *inbox;     /* mbufs dispatched to this worker by another (MP/SC) */
	struct rte_ring *neigh_in;  /* struct weft_neigh_msg * updates from other workers (MP/SC) */
	struct weft_neigh_table *neigh;
	struct tcp_stack *tcp;      /* this worker's TCP stack (dataplane/tcp/tcp.h) */

	volatile bool *running;
} __attribute__((aligned(64)));

/** Count m as dropped for reason why, and free it. Takes ownership of m. */
static inline void weft_drop(struct weft_worker *w, struct rte_mbuf *m, enum weft_drop why)
{
	WEFT_CTR_ADD(w->ctr->drops[why], 1);
	rte_pktmbuf_free(m);
}

static inline void weft_event(struct weft_worker *w, enum weft_event ev)
{
	WEFT_CTR_ADD(w->ctr->events[ev], 1);
}

/** Flush the tx buffer of one port to the driver; leftovers are dropped as tx_full. */
void weft_tx_flush(struct weft_worker *w, uint16_t port);

/**
 * Queue m for transmission on port. Takes ownership of m. The frame must be
 * complete (Ethernet header included). Flushes when the buffer is full.
 */
static inline void weft_tx(struct weft_worker *w, uint16_t port, struct rte_mbuf *m)
{
	struct weft_txbuf *b = &w->tx[port];
	b->pkts[b->n++] = m;
	if (b->n == WEFT_TXBUF)
		weft_tx_flush(w, port);
}

/** lcore entry point; arg is a struct weft_worker *. Returns when *running turns false. */
int weft_worker_main(void *arg);

/** Process one received frame (used by the loop and by tests). Takes ownership of m. */
void weft_worker_input(struct weft_worker *w, uint16_t port, struct rte_mbuf *m);

#endif
