/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test harness for dataplane/net: a small EAL, a hand-built worker on a
 * compiled two-port configuration, frames crafted byte by byte, and
 * assertions on counters, tx buffers and mbuf leaks.
 *
 * Topology (weft's side):
 *   port 0  02:00:00:00:00:01  198.18.0.1/24  2001:db8:1::1/64  gw4 198.18.0.254  gw6 fe80::fe
 *   port 1  02:00:00:00:00:02  198.19.0.1/24  2001:db8:2::1/64
 *   route   198.18.128.0/17 via 198.19.0.254
 * Neighbours: H_PEER (198.18.0.2, 2001:db8:1::2, fe80::aa) and H_GW on port 0.
 */
#ifndef WEFT_TESTS_NET_HARNESS_H
#define WEFT_TESTS_NET_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "dataplane/counters.h"
#include "dataplane/worker.h"
#include "policy/snapshot.h"

#define H_POOL_SIZE 1023
#define H_HZ 1000000ull /* one tick per microsecond keeps time arithmetic readable */

extern const uint8_t H_MAC0[6], H_MAC1[6], H_PEER[6], H_PEER2[6], H_GW[6], H_GW1[6], H_BCAST[6];

struct harness {
	struct weft_worker *w;   /* &workers[0] */
	struct weft_worker *workers; /* n_workers of them, the peers array */
	struct weft_worker_counters *ctr; /* one per worker */
	struct weft_snapshot *snap;
	struct weft_config *cfg;
	struct weft_worker_counters mark; /* worker 0's counters at h_mark() */
};

struct h_frame {
	uint8_t b[2048];
	size_t len;
};

extern struct rte_mempool *h_pool;

/* cmocka group setup/teardown: start the EAL once, create the mbuf pool. */
int h_group_setup(void **state);
int h_group_teardown(void **state);
/* Per test: a fresh single worker (h_setup) or two workers sharing neighbour news (h_setup2). */
int h_setup(void **state);
int h_setup2(void **state);
/* Frees tx buffers and neighbour tables, then fails the test if an mbuf leaked. */
int h_teardown(void **state);
/* Recompile the snapshot after editing h->cfg. */
void h_recompile(struct harness *h);

/* Addresses from text, network order. h_ip6() returns one of a few rotating buffers. */
uint32_t h_ip4(const char *s);
const uint8_t *h_ip6(const char *s);

/* RFC 1071 sum (not complemented) over n bytes, continuing from sum. */
uint32_t h_sum(const void *p, size_t n, uint32_t sum);
uint16_t h_fold(uint32_t sum);

/* Frame building. Each hf_* appends to f; offsets: Ethernet 0, L3 14, L4 34 (IPv4) or 54 (IPv6). */
void hf_eth(struct h_frame *f, const uint8_t dst[6], const uint8_t src[6], uint16_t type);
void hf_put(struct h_frame *f, const void *p, size_t n);
void hf_pad(struct h_frame *f, size_t to);
void hf_arp(struct h_frame *f, const uint8_t eth_dst[6], const uint8_t eth_src[6], uint16_t op, const uint8_t sha[6],
	    uint32_t sip, const uint8_t tha[6], uint32_t tip);
/* Ethernet to H_MAC0 from H_PEER, IPv4 header (TTL 64, valid checksum) and payload. */
void hf_ip4(struct h_frame *f, uint32_t src, uint32_t dst, uint8_t proto, const void *payload, size_t n);
void hf_ip4_cksum(struct h_frame *f);
/* An ICMP echo message (type 8 or 0) with a valid checksum; returns its length. */
size_t h_icmp_echo(uint8_t *buf, uint8_t type, uint16_t id, uint16_t seq, const void *data, size_t n);
/* Ethernet (given dst, from src) and IPv6 header with payload; checksum of ICMPv6 left to hf_icmp6_cksum. */
void hf_ip6(struct h_frame *f, const uint8_t eth_dst[6], const uint8_t eth_src[6], const uint8_t src[16],
	    const uint8_t dst[16], uint8_t proto, uint8_t hop, const void *payload, size_t n);
void hf_icmp6_cksum(struct h_frame *f);
/* ND message (NS or NA) with an optional link-layer option (opt 0: none); returns its length. */
size_t h_nd(uint8_t *buf, uint8_t type, uint32_t flags, const uint8_t target[16], uint8_t opt, const uint8_t mac[6]);
size_t h_icmp6_echo(uint8_t *buf, uint16_t id, uint16_t seq, const void *data, size_t n);

struct rte_mbuf *hf_mbuf(const struct h_frame *f);
/* Deliver f on port through net_eth_input. */
void h_rx(struct harness *h, uint16_t port, const struct h_frame *f);

/* Counters of worker 0 relative to the last h_mark(). */
void h_mark(struct harness *h);
uint64_t h_drops(const struct harness *h, enum weft_drop why);
uint64_t h_events(const struct harness *h, enum weft_event ev);
/* Exactly one drop, under why, and nothing queued for transmission. */
void h_assert_drop(struct harness *h, enum weft_drop why);
void h_assert_no_drop(struct harness *h);

/* Frames waiting on a port's tx buffer of worker 0; h_tx_pop() takes the oldest and fails if none. */
unsigned h_tx_count(const struct harness *h, uint16_t port);
struct rte_mbuf *h_tx_pop(struct harness *h, uint16_t port);
void h_tx_free_all(struct harness *h);

/* Checks of frames weft built. */
void h_assert_ip4_cksum(const uint8_t *ip);
void h_assert_icmp6_cksum(const uint8_t *ip6);

/* Learn a neighbour on worker 0 the way the wire would (ARP request from it / NS with SLLAO), then reset counters. */
void h_learn4(struct harness *h, uint16_t port, uint32_t ip, const uint8_t mac[6]);
void h_learn6(struct harness *h, uint16_t port, const uint8_t ip[16], const uint8_t mac[6]);

#endif
