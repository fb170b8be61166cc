/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Congestion control behind an interface, one file per algorithm (as VPP
 * does): the stack's loss detection and recovery call these hooks, and the
 * algorithm owns cwnd and ssthresh (bytes, in struct tcp_conn) outside
 * recovery. Private to dataplane/tcp.
 */
#ifndef WEFT_DATAPLANE_TCP_CC_H
#define WEFT_DATAPLANE_TCP_CC_H

#include <stdint.h>

struct tcp_conn;

struct tcp_cc_ops {
	const char *name;
	/* Initial window (RFC 6928) and ssthresh (RFC 5681 3.1: arbitrarily high). */
	void (*init)(struct tcp_conn *c);
	/* New data acknowledged outside recovery: slow start or congestion avoidance. */
	void (*on_ack)(struct tcp_conn *c, uint32_t acked, uint64_t now_us);
	/* Loss detected by duplicate ACKs or SACK: set ssthresh and cwnd for recovery. */
	void (*on_loss)(struct tcp_conn *c, uint64_t now_us);
	/* Retransmission timeout, first of a series: set ssthresh (the stack sets cwnd to one segment). */
	void (*on_rto)(struct tcp_conn *c, uint64_t now_us);
	/* Recovery ended with a full ACK; the stack has set cwnd. */
	void (*on_recovery_exit)(struct tcp_conn *c, uint64_t now_us);
};

extern const struct tcp_cc_ops tcp_cc_newreno;
extern const struct tcp_cc_ops tcp_cc_cubic;

/* Helpers shared by the algorithms (tcp_cc_newreno.c). */
void tcp_cc_initial_window(struct tcp_conn *c);
void tcp_cc_slow_start(struct tcp_conn *c, uint32_t acked);

#endif
