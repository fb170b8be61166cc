/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The poll-mode loop. One iteration: take the current snapshot, receive a
 * burst from every owned queue, take what other workers dispatched here,
 * apply neighbour updates, run timers, flush every tx buffer, report a
 * quiescent state. Cycles of iterations that moved packets count as busy,
 * the others as idle, which is what the busy percentage in the stats shows.
 */
#include <rte_cycles.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include "dataplane/dispatch.h"
#include "dataplane/l4/tcp_proxy.h"
#include "dataplane/net/net.h"
#include "dataplane/proxy/health.h"
#include "dataplane/tcp/tcp.h"
#ifdef WEFT_HAVE_TLS
#include "dataplane/tls/tls_ulp.h"
#endif
#include "dataplane/worker.h"
#include "drivers/port.h"

void weft_tx_flush(struct weft_worker *w, uint16_t port)
{
	struct weft_txbuf *b = &w->tx[port];
	uint64_t bytes = 0;
	uint16_t n = b->n, sent;

	if (n == 0)
		return;
	for (uint16_t i = 0; i < n; i++)
		bytes += rte_pktmbuf_pkt_len(b->pkts[i]);
	sent = weft_port_tx(port, (uint16_t)w->id, b->pkts, n, w->now, w->ctr);
	/* What the driver did not take is still ours: count, then free it. */
	for (uint16_t i = sent; i < n; i++) {
		bytes -= rte_pktmbuf_pkt_len(b->pkts[i]);
		weft_drop(w, b->pkts[i], WEFT_DROP_TX_FULL);
	}
	WEFT_CTR_ADD(w->ctr->port[port].tx_packets, sent);
	WEFT_CTR_ADD(w->ctr->port[port].tx_bytes, bytes);
	b->n = 0;
}

void weft_worker_input(struct weft_worker *w, uint16_t port, struct rte_mbuf *m)
{
	net_eth_input(w, port, m);
}

static unsigned poll_rxq(struct weft_worker *w, const struct weft_rxq *q)
{
	struct rte_mbuf *pkts[WEFT_BURST];
	uint64_t bytes = 0;
	uint16_t n = weft_port_rx(q->port, q->queue, pkts, WEFT_BURST, w->now, w->ctr);

	if (n == 0)
		return 0;
	for (uint16_t i = 0; i < n; i++)
		bytes += rte_pktmbuf_pkt_len(pkts[i]);
	WEFT_CTR_ADD(w->ctr->port[q->port].rx_packets, n);
	WEFT_CTR_ADD(w->ctr->port[q->port].rx_bytes, bytes);

	if (q->dispatch) {
		weft_dispatch_burst(w, q->port, pkts, n);
		return n;
	}
	/* Prefetch a few frames ahead of the one being parsed. */
	for (uint16_t i = 0; i < n && i < 4; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (uint16_t i = 0; i < n; i++) {
		if (i + 4 < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 4], void *));
		weft_worker_input(w, q->port, pkts[i]);
	}
	return n;
}

static unsigned poll_inbox(struct weft_worker *w)
{
	struct rte_mbuf *pkts[WEFT_BURST];
	unsigned n;

	if (w->inbox == NULL)
		return 0;
	n = rte_ring_sc_dequeue_burst(w->inbox, (void **)pkts, WEFT_BURST, NULL);
	for (unsigned i = 0; i < n; i++)
		weft_worker_input(w, pkts[i]->port, pkts[i]);
	return n;
}

static unsigned poll_neigh(struct weft_worker *w)
{
	struct weft_neigh_msg *msgs[WEFT_BURST];
	unsigned n;

	if (w->neigh_in == NULL)
		return 0;
	n = rte_ring_sc_dequeue_burst(w->neigh_in, (void **)msgs, WEFT_BURST, NULL);
	for (unsigned i = 0; i < n; i++)
		net_neigh_apply(w, msgs[i]);
	return n;
}

int weft_worker_main(void *arg)
{
	struct weft_worker *w = arg;
	const uint64_t timer_period = w->hz / 1000;
	uint64_t next_timer = 0;

	rte_rcu_qsbr_thread_register(w->qsbr, w->id);
	rte_rcu_qsbr_thread_online(w->qsbr, w->id);

	while (__atomic_load_n(w->running, __ATOMIC_RELAXED)) {
		uint64_t start = rte_rdtsc();
		unsigned work = 0;

		w->now = start;
		/*
		 * Acquire pairs with the publisher's release store: every byte of
		 * the snapshot written before publication is visible here. The
		 * pointer stays valid until our next quiescent report.
		 */
		w->snap = __atomic_load_n(w->snap_slot, __ATOMIC_ACQUIRE);

		for (unsigned i = 0; i < w->n_rxq; i++)
			work += poll_rxq(w, &w->rxq[i]);
		work += poll_inbox(w);
		work += poll_neigh(w);

		if (start >= next_timer) {
			net_neigh_timers(w);
			tcp_timers(w);
			tcp_proxy_timers(w);
			health_timers(w); /* one comparison unless a check is due or the snapshot changed */
#ifdef WEFT_HAVE_TLS
			tls_ulp_timers(w);
#endif
			next_timer = start + timer_period;
		}
		for (uint16_t p = 0; p < w->n_ports; p++) {
			weft_tx_flush(w, p);
			weft_port_tx_drain(p, (uint16_t)w->id, start, w->ctr);
		}

		/* Past this point the worker holds no pointer into any snapshot. */
		w->snap = NULL;
		rte_rcu_qsbr_quiescent(w->qsbr, w->id);

		uint64_t spent = rte_rdtsc() - start;
		if (work)
			WEFT_CTR_ADD(w->ctr->busy_cycles, spent);
		else
			WEFT_CTR_ADD(w->ctr->idle_cycles, spent);
		WEFT_CTR_ADD(w->ctr->iterations, 1);
	}

	for (uint16_t p = 0; p < w->n_ports; p++)
		weft_tx_flush(w, p);
	rte_rcu_qsbr_thread_offline(w->qsbr, w->id);
	rte_rcu_qsbr_thread_unregister(w->qsbr, w->id);
	return 0;
}
