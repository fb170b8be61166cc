/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private to dataplane/net: the functions the protocol files call on each
 * other, wire formats DPDK 22.11 lacks (ICMPv6, neighbour discovery), and
 * small address predicates.
 *
 * Mbuf ownership is the same everywhere here: a function taking an mbuf owns
 * it and transmits, queues, hands it up, or drops it with a named reason.
 * Headers are parsed in the first segment only; every PMD weft drives puts
 * at least the first 128 bytes of a frame there.
 */
#ifndef WEFT_DATAPLANE_NET_PRIV_H
#define WEFT_DATAPLANE_NET_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include "dataplane/net/net.h"
#include "dataplane/worker.h"
#include "policy/netcfg.h"

#define NET_AF4 4
#define NET_AF6 6

/* ICMPv6 types (RFC 4443 4.1, 4.2; RFC 4861 4.3, 4.4). */
#define NET_ICMP6_ECHO_REQUEST 128
#define NET_ICMP6_ECHO_REPLY 129
#define NET_ND_NS 135
#define NET_ND_NA 136

/* Neighbour discovery option types (RFC 4861 4.6.1). */
#define NET_ND_OPT_SLLA 1
#define NET_ND_OPT_TLLA 2

/* Neighbour advertisement flags, first word after the checksum (RFC 4861 4.4). */
#define NET_NA_F_ROUTER 0x80000000u
#define NET_NA_F_SOLICITED 0x40000000u
#define NET_NA_F_OVERRIDE 0x20000000u

#define NET_IP6_HOP_LIMIT_ND 255 /* RFC 4861 7.1: proves the sender is on-link */
#define NET_IP4_TTL 64
#define NET_IP6_HOP_LIMIT 64

struct net_icmp6_hdr {
	uint8_t type;
	uint8_t code;
	rte_be16_t cksum;
	rte_be16_t ident; /* echo only */
	rte_be16_t seq;   /* echo only */
} __rte_packed;

/* NS and NA share this layout; flags is reserved (zero) in an NS. */
struct net_nd_msg {
	uint8_t type;
	uint8_t code;
	rte_be16_t cksum;
	rte_be32_t flags;
	uint8_t target[16];
} __rte_packed;

/* Source/target link-layer address option for Ethernet (RFC 4861 4.6.1, RFC 2464 8). */
struct net_nd_opt_lla {
	uint8_t type;
	uint8_t len; /* units of 8 octets: 1 for Ethernet */
	uint8_t mac[6];
} __rte_packed;

static inline const struct weft_net_table *net_table(const struct weft_worker *w)
{
	return &w->snap->net;
}

static inline const struct weft_iface *net_iface(const struct weft_worker *w, uint16_t port)
{
	const struct weft_net_table *t = net_table(w);
	return port < t->n_ifaces ? &t->ifaces[port] : NULL;
}

static inline bool net_mac_is_group(const uint8_t mac[6])
{
	return (mac[0] & 0x01) != 0; /* I/G bit: multicast, broadcast included */
}

static inline bool net_mac_is_zero(const uint8_t mac[6])
{
	return (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0;
}

static inline bool net_ip6_is_multicast(const uint8_t a[16])
{
	return a[0] == 0xff;
}

static inline bool net_ip6_is_link_local(const uint8_t a[16])
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

static inline bool net_ip6_is_unspecified(const uint8_t a[16])
{
	static const uint8_t zero[16];
	return memcmp(a, zero, 16) == 0;
}

/* ff02::1, all-nodes (RFC 4291 2.7.1). */
extern const uint8_t net_ip6_all_nodes[16];

/* Solicited-node group of a unicast address (RFC 4291 2.7.1). */
static inline void net_ip6_solicited_node(uint8_t out[16], const uint8_t a[16])
{
	static const uint8_t pfx[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff};
	memcpy(out, pfx, 13);
	memcpy(out + 13, a + 13, 3);
}

/* 33:33 followed by the low 32 bits of the group (RFC 2464 7). */
static inline void net_ip6_mcast_mac(uint8_t mac[6], const uint8_t a[16])
{
	mac[0] = 0x33;
	mac[1] = 0x33;
	memcpy(mac + 2, a + 12, 4);
}

/**
 * Incremental update of a ones'-complement checksum when one 16-bit word
 * changes from old to new (RFC 1624 3, eqn. 3: HC' = ~(~HC + ~m + m')).
 * All three values in the same byte order, which the arithmetic preserves.
 */
static inline uint16_t net_cksum_adjust(uint16_t hc, uint16_t old, uint16_t new)
{
	uint32_t s = (uint16_t)~hc + (uint32_t)(uint16_t)~old + new;
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/** True when a is one of our IPv4 addresses on any port. */
bool net_local4_any(const struct weft_net_table *t, uint32_t a);
/** True when a is one of our IPv6 unicast addresses (link-local included) on any port. */
bool net_local6_any(const struct weft_net_table *t, const uint8_t a[16]);

/* Input, one per protocol. m's data offset is at the header named. Each takes ownership of m. */
void net_arp_input(struct weft_worker *w, uint16_t port, struct rte_mbuf *m);
void net_ip4_input(struct weft_worker *w, uint16_t port, struct rte_mbuf *m);
/** m at the (validated, option-free) IPv4 header of an ICMP packet addressed to us. */
void net_icmp4_input(struct weft_worker *w, uint16_t port, struct rte_mbuf *m);
void net_ip6_input(struct weft_worker *w, uint16_t port, struct rte_mbuf *m);
/** m at the (validated) IPv6 header of an ICMPv6 packet addressed to us. */
void net_icmp6_input(struct weft_worker *w, uint16_t port, struct rte_mbuf *m);

/**
 * Prepend an Ethernet header (our MAC as source) and queue m on port's tx
 * buffer. m starts at the L3 header. Takes ownership of m.
 */
void net_eth_output(struct weft_worker *w, uint16_t port, struct rte_mbuf *m, const uint8_t dst[6],
		    uint16_t ethertype);

/**
 * Send an IPv6 packet out of a given port without a route lookup: for
 * multicast destinations and for on-link replies whose scope is the port
 * they answer on (link-local, neighbour discovery). Takes ownership of m.
 */
void net_ip6_output_port(struct weft_worker *w, uint16_t port, struct rte_mbuf *m);

/**
 * Send an L3 packet to next hop nh (4 or 16 bytes per af, network order) on
 * port: with the neighbour's MAC when known, else queued behind address
 * resolution. Takes ownership of m.
 */
void net_neigh_output(struct weft_worker *w, uint16_t port, uint8_t af, const void *nh, struct rte_mbuf *m);

/* What a received ARP or ND message allows the neighbour table to do. */
#define NEIGH_F_CREATE 0x1   /* add the entry when absent */
#define NEIGH_F_CONFIRM 0x2  /* reachability confirmed: restart the reachable timer */
#define NEIGH_F_OVERRIDE 0x4 /* a different MAC may replace the cached one */

/**
 * Learn that ip (4 or 16 bytes per af) on port is at mac. Resolving an
 * incomplete entry transmits its queued packets; a new or changed entry, or
 * a confirmed one, is broadcast to the other workers.
 */
void net_neigh_learn(struct weft_worker *w, uint8_t af, uint16_t port, const void *ip, const uint8_t mac[6],
		     unsigned flags);

/**
 * Broadcast an ARP request for target on port, or unicast it to dst_mac
 * (re-validating a cached entry, RFC 1122 2.3.2.1). Counts no_mbuf when the
 * pool is empty; the caller's retransmit timer covers the loss.
 */
void net_arp_solicit(struct weft_worker *w, uint16_t port, uint32_t target, const uint8_t *dst_mac);

/**
 * Send a neighbour solicitation for target on port: to its solicited-node
 * group, or unicast to target at dst_mac (RFC 4861 7.2.2, 7.3.3).
 */
void net_nd_solicit(struct weft_worker *w, uint16_t port, const uint8_t target[16], const uint8_t *dst_mac);

#endif
