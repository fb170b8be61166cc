/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The network layer: Ethernet, ARP, IPv4, ICMP, IPv6, neighbour discovery
 * and ICMPv6, for addresses weft owns. weft is an endpoint, not a router:
 * frames not addressed to it are dropped and counted, never forwarded.
 *
 * Every *_input function takes ownership of the mbuf: it transmits it
 * (possibly rewritten in place), hands it to an upper layer, or drops it
 * with a named reason. The mbuf data offset points at the header the
 * function parses.
 */
#ifndef WEFT_DATAPLANE_NET_H
#define WEFT_DATAPLANE_NET_H

#include <stdint.h>

#include <rte_mbuf.h>

#include "dataplane/worker.h"

/** Entry point for a received frame on port. Takes ownership of m. */
void net_eth_input(struct weft_worker *w, uint16_t port, struct rte_mbuf *m);

/**
 * Send an IPv4 packet: m starts at the IPv4 header, which is complete except
 * for the checksum (computed here, or offloaded when the port can).
 * Route lookup, neighbour resolution (queueing m while ARP runs) and the
 * Ethernet header are done here. Takes ownership of m.
 */
void net_ip4_output(struct weft_worker *w, struct rte_mbuf *m);

/** Same for IPv6: m starts at a complete IPv6 header. Takes ownership of m. */
void net_ip6_output(struct weft_worker *w, struct rte_mbuf *m);

/**
 * Apply a neighbour update broadcast by another worker (dequeued from
 * w->neigh_in). Takes ownership of msg: it came from the sender's message
 * mempool and goes back there, so the loop must not touch it afterwards.
 */
void net_neigh_apply(struct weft_worker *w, struct weft_neigh_msg *msg);

/** Expire neighbour entries and retransmit solicitations; call about every millisecond. */
void net_neigh_timers(struct weft_worker *w);

/**
 * Allocate and initialise w->neigh on the NUMA node of w->lcore, and, when
 * w->n_workers > 1, the mempool w's broadcasts are drawn from (w->id must be
 * set: it names the pool). Returns 0, or -1 when memory is short.
 */
int net_neigh_init(struct weft_worker *w);
/**
 * Free w->neigh and the packets still waiting on resolution. Call only once
 * every worker has stopped: peers' rings may hold messages from w's pool.
 */
void net_neigh_free(struct weft_worker *w);

#endif
