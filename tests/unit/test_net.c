/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dataplane/net: frames in, frames or named drops out. Each test crafts the
 * bytes, hands them to net_eth_input() (or an output function), and checks
 * the transmitted bytes or that exactly one drop counter moved. The teardown
 * fails a test that leaked an mbuf.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dataplane/net/net.h"
#include "dataplane/tcp/tcp.h"
#include "tests/unit/net_harness.h"

#define ARP_REQ 1
#define ARP_REP 2
#define ICMP6 58

static const uint8_t zero_mac[6];
static const uint8_t payload[] = "weft echo payload 0123456789";

static struct harness *H(void **state)
{
	return *state;
}

static const uint8_t *tx_bytes(struct rte_mbuf *m)
{
	return rte_pktmbuf_mtod(m, const uint8_t *);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* An ICMP echo request from src to dst, received on port 0 from H_PEER. */
static void echo4_frame(struct h_frame *f, const char *src, const char *dst)
{
	uint8_t icmp[128];
	size_t n = h_icmp_echo(icmp, 8, 0x4242, 7, payload, sizeof(payload));

	hf_ip4(f, h_ip4(src), h_ip4(dst), 1, icmp, n);
}

/* An IPv4 packet from the on-link peer to us with a given protocol and a small payload. */
static void ip4_frame(struct h_frame *f, uint8_t proto)
{
	uint8_t data[8] = {0x10, 0x00, 0x00, 0x50, 0, 8, 0, 0};
	hf_ip4(f, h_ip4("198.18.0.2"), h_ip4("198.18.0.1"), proto, data, sizeof(data));
}

/* An IPv6 packet from 2001:db8:1::2 to our 2001:db8:1::1 on port 0. */
static void ip6_frame(struct h_frame *f, uint8_t proto, const void *p, size_t n)
{
	hf_ip6(f, H_MAC0, H_PEER, h_ip6("2001:db8:1::2"), h_ip6("2001:db8:1::1"), proto, 64, p, n);
}

static void echo6_frame(struct h_frame *f, const uint8_t *src, const uint8_t *dst, const uint8_t eth_dst[6])
{
	uint8_t icmp[128];
	size_t n = h_icmp6_echo(icmp, 0x77, 3, payload, sizeof(payload));

	hf_ip6(f, eth_dst, H_PEER, src, dst, ICMP6, 64, icmp, n);
	hf_icmp6_cksum(f);
}

/* A neighbour discovery frame: ND message msg in IPv6 from src to dst with the given hop limit. */
static void nd_frame(struct h_frame *f, const uint8_t eth_dst[6], const uint8_t *src, const uint8_t *dst, uint8_t hop,
		     const uint8_t *msg, size_t n)
{
	hf_ip6(f, eth_dst, H_PEER, src, dst, ICMP6, hop, msg, n);
	hf_icmp6_cksum(f);
}

static const uint8_t sn_mac_1[6] = {0x33, 0x33, 0xff, 0x00, 0x00, 0x01}; /* ff02::1:ff00:1 */

/* A locally originated IPv4 packet (starting at the IP header) for the output path. */
static struct rte_mbuf *out4(const char *src, const char *dst, uint8_t tag)
{
	uint8_t data[4] = {tag, 0, 0, 0};
	struct h_frame f;
	struct rte_mbuf *m;

	hf_ip4(&f, h_ip4(src), h_ip4(dst), 253, data, sizeof(data));
	m = hf_mbuf(&f);
	rte_pktmbuf_adj(m, 14);
	/* Garbage checksum: net_ip4_output must compute it. */
	rte_pktmbuf_mtod(m, uint8_t *)[10] = 0xde;
	return m;
}

static struct rte_mbuf *out6(const uint8_t *src, const uint8_t *dst, uint8_t tag)
{
	uint8_t data[4] = {tag, 0, 0, 0};
	struct h_frame f;
	struct rte_mbuf *m;

	hf_ip6(&f, H_MAC0, H_PEER, src, dst, 253, 64, data, sizeof(data));
	m = hf_mbuf(&f);
	rte_pktmbuf_adj(m, 14);
	return m;
}

static void assert_arp_request(struct rte_mbuf *m, const uint8_t eth_dst[6], const uint8_t our_mac[6], uint32_t sip,
			       uint32_t tip)
{
	const uint8_t *b = tx_bytes(m);

	assert_int_equal(rte_pktmbuf_pkt_len(m), 42);
	assert_memory_equal(b, eth_dst, 6);
	assert_memory_equal(b + 6, our_mac, 6);
	assert_int_equal(get16(b + 12), 0x0806);
	assert_int_equal(get16(b + 14), 1);
	assert_int_equal(get16(b + 16), 0x0800);
	assert_int_equal(b[18], 6);
	assert_int_equal(b[19], 4);
	assert_int_equal(get16(b + 20), ARP_REQ);
	assert_memory_equal(b + 22, our_mac, 6);
	assert_memory_equal(b + 28, &sip, 4);
	assert_memory_equal(b + 32, zero_mac, 6);
	assert_memory_equal(b + 38, &tip, 4);
}

/* An NS for target from one of our addresses, multicast to its solicited-node group unless unicast_mac. */
static void assert_ns(struct rte_mbuf *m, const uint8_t our_mac[6], const uint8_t *target, const uint8_t *unicast_mac)
{
	const uint8_t *b = tx_bytes(m);
	const uint8_t *ip6 = b + 14;
	const uint8_t sn[16] = {0xff, 0x02, [11] = 0x01, 0xff, target[13], target[14], target[15]};

	assert_int_equal(rte_pktmbuf_pkt_len(m), 14 + 40 + 32);
	if (unicast_mac != NULL) {
		assert_memory_equal(b, unicast_mac, 6);
		assert_memory_equal(ip6 + 24, target, 16);
	} else {
		const uint8_t mac[6] = {0x33, 0x33, 0xff, target[13], target[14], target[15]};
		assert_memory_equal(b, mac, 6);
		assert_memory_equal(ip6 + 24, sn, 16);
	}
	assert_memory_equal(b + 6, our_mac, 6);
	assert_int_equal(get16(b + 12), 0x86dd);
	assert_int_equal(ip6[0] >> 4, 6);
	assert_int_equal(get16(ip6 + 4), 32);
	assert_int_equal(ip6[6], ICMP6);
	assert_int_equal(ip6[7], 255);
	assert_int_equal(ip6[40], 135);
	assert_int_equal(ip6[41], 0);
	assert_memory_equal(ip6 + 48, target, 16);
	assert_int_equal(ip6[64], 1); /* SLLAO */
	assert_int_equal(ip6[65], 1);
	assert_memory_equal(ip6 + 66, our_mac, 6);
	h_assert_icmp6_cksum(ip6);
}

/* ---- Ethernet ---- */

static void test_eth_too_short(void **state)
{
	struct harness *h = H(state);
	struct h_frame f = {.len = 10};

	memset(f.b, 0xab, sizeof(f.b));
	memcpy(f.b, H_MAC0, 6);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ETH_TOO_SHORT);
}

static void test_eth_bad_src(void **state)
{
	struct harness *h = H(state);
	struct h_frame f;

	ip4_frame(&f, 17);
	memcpy(f.b + 6, H_BCAST, 6);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ETH_BAD_SRC);
	ip4_frame(&f, 17);
	f.b[6] = 0x01; /* 01:aa:..., a group address */
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ETH_BAD_SRC);
}

static void test_eth_not_for_us(void **state)
{
	struct harness *h = H(state);
	struct h_frame f;
	uint8_t icmp[64];
	size_t n;

	/* Another unicast MAC. */
	ip4_frame(&f, 17);
	memcpy(f.b, H_MAC1, 6);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ETH_NOT_FOR_US);
	/* IPv4 in a broadcast frame (RFC 1122 3.3.6). */
	ip4_frame(&f, 17);
	memcpy(f.b, H_BCAST, 6);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ETH_NOT_FOR_US);
	/* An IPv6 group we did not join (all-routers). */
	n = h_icmp6_echo(icmp, 1, 1, "x", 1);
	hf_ip6(&f, (const uint8_t[6]){0x33, 0x33, 0, 0, 0, 2}, H_PEER, h_ip6("2001:db8:1::2"), h_ip6("ff02::2"), ICMP6,
	       64, icmp, n);
	hf_icmp6_cksum(&f);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ETH_NOT_FOR_US);
	/* A solicited-node group of somebody else. */
	echo6_frame(&f, h_ip6("2001:db8:1::2"), h_ip6("ff02::1:ff00:99"), (const uint8_t[6]){0x33, 0x33, 0xff, 0, 0, 0x99});
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ETH_NOT_FOR_US);
	/* IPv6 never uses the broadcast MAC. */
	echo6_frame(&f, h_ip6("2001:db8:1::2"), h_ip6("2001:db8:1::1"), H_BCAST);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ETH_NOT_FOR_US);
	/* A port the snapshot does not have. */
	ip4_frame(&f, 17);
	h_rx(h, 5, &f);
	h_assert_drop(h, WEFT_DROP_ETH_NOT_FOR_US);
}

static void test_eth_unknown_type(void **state)
{
	struct harness *h = H(state);
	struct h_frame f;

	hf_eth(&f, H_MAC0, H_PEER, 0x88cc); /* LLDP */
	hf_pad(&f, 60);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ETH_UNKNOWN_TYPE);
	hf_eth(&f, H_BCAST, H_PEER, 0x0026); /* an 802.3 length field */
	hf_pad(&f, 60);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ETH_UNKNOWN_TYPE);
}

static void test_eth_vlan(void **state)
{
	struct harness *h = H(state);
	struct h_frame f;
	struct rte_mbuf *m;

	hf_eth(&f, H_MAC0, H_PEER, 0x8100);
	hf_put(&f, (const uint8_t[4]){0x00, 0x64, 0x08, 0x00}, 4);
	hf_pad(&f, 60);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ETH_VLAN);
	hf_eth(&f, H_MAC0, H_PEER, 0x88a8);
	hf_pad(&f, 60);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ETH_VLAN);
	/* A tag the NIC stripped is still a tag. */
	ip4_frame(&f, 17);
	m = hf_mbuf(&f);
	m->ol_flags |= RTE_MBUF_F_RX_VLAN_STRIPPED;
	m->vlan_tci = 100;
	net_eth_input(h->w, 0, m);
	h_assert_drop(h, WEFT_DROP_ETH_VLAN);
}

/* ---- ARP ---- */

static void test_arp_request_reply(void **state)
{
	struct harness *h = H(state);
	uint32_t peer = h_ip4("198.18.0.2"), us = h_ip4("198.18.0.1");
	struct h_frame f;
	struct rte_mbuf *m;
	const uint8_t *b;

	hf_arp(&f, H_BCAST, H_PEER, ARP_REQ, H_PEER, peer, zero_mac, us);
	h_rx(h, 0, &f);
	h_assert_no_drop(h);
	assert_int_equal(h_events(h, WEFT_EV_ARP_REQUEST_IN), 1);
	assert_int_equal(h_events(h, WEFT_EV_ARP_REPLY_OUT), 1);
	assert_int_equal(h_events(h, WEFT_EV_NEIGH_LEARNED), 1);
	assert_int_equal(h_tx_count(h, 0), 1);
	m = h_tx_pop(h, 0);
	b = tx_bytes(m);
	/* Padding gone: 14 + 28. */
	assert_int_equal(rte_pktmbuf_pkt_len(m), 42);
	assert_memory_equal(b, H_PEER, 6);
	assert_memory_equal(b + 6, H_MAC0, 6);
	assert_int_equal(get16(b + 12), 0x0806);
	assert_int_equal(get16(b + 14), 1);
	assert_int_equal(get16(b + 16), 0x0800);
	assert_int_equal(get16(b + 20), ARP_REP);
	assert_memory_equal(b + 22, H_MAC0, 6);
	assert_memory_equal(b + 28, &us, 4);
	assert_memory_equal(b + 32, H_PEER, 6);
	assert_memory_equal(b + 38, &peer, 4);
	rte_pktmbuf_free(m);

	/* The sender was learned: output to it needs no resolution. */
	h_mark(h);
	net_ip4_output(h->w, out4("198.18.0.1", "198.18.0.2", 1));
	assert_int_equal(h_events(h, WEFT_EV_ARP_REQUEST_OUT), 0);
	m = h_tx_pop(h, 0);
	assert_memory_equal(tx_bytes(m), H_PEER, 6);
	rte_pktmbuf_free(m);
	h_assert_no_drop(h);
}

static void test_arp_request_port1(void **state)
{
	struct harness *h = H(state);
	uint32_t us = h_ip4("198.19.0.1");
	struct h_frame f;
	struct rte_mbuf *m;

	/* Addresses are per port: port 0's address is not answered on port 1. */
	hf_arp(&f, H_BCAST, H_GW1, ARP_REQ, H_GW1, h_ip4("198.19.0.254"), zero_mac, h_ip4("198.18.0.1"));
	h_rx(h, 1, &f);
	h_assert_drop(h, WEFT_DROP_ARP_NOT_FOR_US);
	hf_arp(&f, H_BCAST, H_GW1, ARP_REQ, H_GW1, h_ip4("198.19.0.254"), zero_mac, us);
	h_rx(h, 1, &f);
	m = h_tx_pop(h, 1);
	assert_memory_equal(tx_bytes(m) + 6, H_MAC1, 6);
	assert_memory_equal(tx_bytes(m) + 28, &us, 4);
	rte_pktmbuf_free(m);
	h_assert_no_drop(h);
}

static void test_arp_reply_learns(void **state)
{
	struct harness *h = H(state);
	struct h_frame f;
	struct rte_mbuf *m;

	hf_arp(&f, H_MAC0, H_PEER, ARP_REP, H_PEER, h_ip4("198.18.0.2"), H_MAC0, h_ip4("198.18.0.1"));
	h_rx(h, 0, &f);
	h_assert_no_drop(h);
	assert_int_equal(h_events(h, WEFT_EV_ARP_REPLY_IN), 1);
	assert_int_equal(h_events(h, WEFT_EV_NEIGH_LEARNED), 1);
	assert_int_equal(h_tx_count(h, 0), 0);

	net_ip4_output(h->w, out4("198.18.0.1", "198.18.0.2", 1));
	m = h_tx_pop(h, 0);
	assert_memory_equal(tx_bytes(m), H_PEER, 6);
	rte_pktmbuf_free(m);
}

static void test_arp_not_for_us(void **state)
{
	struct harness *h = H(state);
	struct h_frame f;

	hf_arp(&f, H_BCAST, H_PEER, ARP_REQ, H_PEER, h_ip4("198.18.0.2"), zero_mac, h_ip4("198.18.0.3"));
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ARP_NOT_FOR_US);
	assert_int_equal(h_events(h, WEFT_EV_NEIGH_LEARNED), 0);
	/* A reply for someone else. */
	hf_arp(&f, H_MAC0, H_PEER, ARP_REP, H_PEER, h_ip4("198.18.0.2"), H_PEER2, h_ip4("198.18.0.3"));
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ARP_NOT_FOR_US);
	/* Not for us, and no entry was created by either. */
	net_ip4_output(h->w, out4("198.18.0.1", "198.18.0.2", 1));
	assert_int_equal(h_events(h, WEFT_EV_ARP_REQUEST_OUT), 1);
}

static void test_arp_not_for_us_merges(void **state)
{
	struct harness *h = H(state);
	struct h_frame f;
	struct rte_mbuf *m;

	h_learn4(h, 0, h_ip4("198.18.0.2"), H_PEER);
	/* RFC 826 merge: the known sender's new MAC is taken even though the request is for another host. */
	hf_arp(&f, H_BCAST, H_PEER2, ARP_REQ, H_PEER2, h_ip4("198.18.0.2"), zero_mac, h_ip4("198.18.0.3"));
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ARP_NOT_FOR_US);
	net_ip4_output(h->w, out4("198.18.0.1", "198.18.0.2", 1));
	m = h_tx_pop(h, 0);
	assert_memory_equal(tx_bytes(m), H_PEER2, 6);
	rte_pktmbuf_free(m);
}

static void test_arp_gratuitous(void **state)
{
	struct harness *h = H(state);
	uint32_t peer = h_ip4("198.18.0.2");
	struct h_frame f;
	struct rte_mbuf *m;

	/* Unknown sender: counted, nothing created, nothing sent. */
	hf_arp(&f, H_BCAST, H_PEER, ARP_REQ, H_PEER, peer, zero_mac, peer);
	h_rx(h, 0, &f);
	h_assert_no_drop(h);
	assert_int_equal(h_events(h, WEFT_EV_ARP_GRATUITOUS_IN), 1);
	assert_int_equal(h_events(h, WEFT_EV_NEIGH_LEARNED), 0);
	assert_int_equal(h_tx_count(h, 0), 0);
	net_ip4_output(h->w, out4("198.18.0.1", "198.18.0.2", 1));
	assert_int_equal(h_events(h, WEFT_EV_ARP_REQUEST_OUT), 1);
	h_tx_free_all(h);

	/* Resolve it, then a gratuitous reply moves it to another MAC (failover). */
	hf_arp(&f, H_MAC0, H_PEER, ARP_REP, H_PEER, peer, H_MAC0, h_ip4("198.18.0.1"));
	h_rx(h, 0, &f);
	h_tx_free_all(h); /* the flushed packet */
	h_mark(h);
	hf_arp(&f, H_BCAST, H_PEER2, ARP_REP, H_PEER2, peer, H_BCAST, peer);
	h_rx(h, 0, &f);
	h_assert_no_drop(h);
	assert_int_equal(h_events(h, WEFT_EV_ARP_GRATUITOUS_IN), 1);
	assert_int_equal(h_events(h, WEFT_EV_NEIGH_LEARNED), 1);
	assert_int_equal(h_tx_count(h, 0), 0);
	net_ip4_output(h->w, out4("198.18.0.1", "198.18.0.2", 2));
	m = h_tx_pop(h, 0);
	assert_memory_equal(tx_bytes(m), H_PEER2, 6);
	rte_pktmbuf_free(m);
}

static void test_arp_probe_answered(void **state)
{
	struct harness *h = H(state);
	uint32_t us = h_ip4("198.18.0.1"), any = 0;
	struct h_frame f;
	struct rte_mbuf *m;

	/* RFC 5227 probe for our address: answered, sender not learned. */
	hf_arp(&f, H_BCAST, H_PEER, ARP_REQ, H_PEER, 0, zero_mac, us);
	h_rx(h, 0, &f);
	h_assert_no_drop(h);
	assert_int_equal(h_events(h, WEFT_EV_NEIGH_LEARNED), 0);
	m = h_tx_pop(h, 0);
	assert_memory_equal(tx_bytes(m), H_PEER, 6);
	assert_int_equal(get16(tx_bytes(m) + 20), ARP_REP);
	assert_memory_equal(tx_bytes(m) + 28, &us, 4);
	assert_memory_equal(tx_bytes(m) + 32, H_PEER, 6);
	assert_memory_equal(tx_bytes(m) + 38, &any, 4);
	rte_pktmbuf_free(m);
	/* A probe for someone else. */
	hf_arp(&f, H_BCAST, H_PEER, ARP_REQ, H_PEER, 0, zero_mac, h_ip4("198.18.0.7"));
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ARP_NOT_FOR_US);
}

static void test_arp_malformed(void **state)
{
	struct harness *h = H(state);
	struct h_frame f;
	uint32_t peer = h_ip4("198.18.0.2"), us = h_ip4("198.18.0.1");

	/* Truncated: 14 + 20. */
	hf_arp(&f, H_BCAST, H_PEER, ARP_REQ, H_PEER, peer, zero_mac, us);
	f.len = 34;
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ARP_MALFORMED);
	/* Hardware type 6 (IEEE 802). */
	hf_arp(&f, H_BCAST, H_PEER, ARP_REQ, H_PEER, peer, zero_mac, us);
	f.b[15] = 6;
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ARP_MALFORMED);
	/* Protocol IPv6. */
	hf_arp(&f, H_BCAST, H_PEER, ARP_REQ, H_PEER, peer, zero_mac, us);
	f.b[16] = 0x86;
	f.b[17] = 0xdd;
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ARP_MALFORMED);
	/* Lengths. */
	hf_arp(&f, H_BCAST, H_PEER, ARP_REQ, H_PEER, peer, zero_mac, us);
	f.b[18] = 8;
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ARP_MALFORMED);
	hf_arp(&f, H_BCAST, H_PEER, ARP_REQ, H_PEER, peer, zero_mac, us);
	f.b[19] = 16;
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ARP_MALFORMED);
}

static void test_arp_bad_op(void **state)
{
	struct harness *h = H(state);
	struct h_frame f;

	hf_arp(&f, H_BCAST, H_PEER, 3 /* RARP request */, H_PEER, h_ip4("198.18.0.2"), zero_mac, h_ip4("198.18.0.1"));
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ARP_BAD_OP);
}

static void test_arp_bad_sender(void **state)
{
	struct harness *h = H(state);
	const char *bad_ips[] = {"255.255.255.255", "224.0.0.1", "127.0.0.1", "198.18.0.1", "198.19.0.1", "240.0.0.1"};
	uint32_t us = h_ip4("198.18.0.1");
	struct h_frame f;

	for (size_t i = 0; i < sizeof(bad_ips) / sizeof(bad_ips[0]); i++) {
		hf_arp(&f, H_BCAST, H_PEER, ARP_REQ, H_PEER, h_ip4(bad_ips[i]), zero_mac, us);
		h_rx(h, 0, &f);
		h_assert_drop(h, WEFT_DROP_ARP_BAD_SENDER);
	}
	/* Group and zero sender hardware addresses. */
	hf_arp(&f, H_BCAST, H_PEER, ARP_REQ, H_BCAST, h_ip4("198.18.0.2"), zero_mac, us);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ARP_BAD_SENDER);
	hf_arp(&f, H_BCAST, H_PEER, ARP_REQ, zero_mac, h_ip4("198.18.0.2"), zero_mac, us);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ARP_BAD_SENDER);
	/* Our own address announced by someone else: refused, not cached. */
	hf_arp(&f, H_BCAST, H_PEER, ARP_REQ, H_PEER, us, zero_mac, us);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ARP_BAD_SENDER);
	assert_int_equal(h_events(h, WEFT_EV_NEIGH_LEARNED), 0);
}

static void test_arp_eth_not_for_us(void **state)
{
	struct harness *h = H(state);
	struct h_frame f;

	/* ARP unicast to another MAC never reaches ARP. */
	hf_arp(&f, H_PEER2, H_PEER, ARP_REQ, H_PEER, h_ip4("198.18.0.2"), zero_mac, h_ip4("198.18.0.1"));
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ETH_NOT_FOR_US);
}

/* ---- IPv4 validation ---- */

static void test_ip4_too_short(void **state)
{
	struct harness *h = H(state);
	struct h_frame f;

	ip4_frame(&f, 17);
	f.len = 14 + 19;
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_IP4_TOO_SHORT);
}

static void test_ip4_bad_version(void **state)
{
	struct harness *h = H(state);
	struct h_frame f;

	ip4_frame(&f, 17);
	f.b[14] = 0x65;
	hf_ip4_cksum(&f);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_IP4_BAD_VERSION);
}

static void test_ip4_bad_ihl(void **state)
{
	struct harness *h = H(state);
	struct h_frame f;

	ip4_frame(&f, 17);
	f.b[14] = 0x44; /* 16 bytes */
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_IP4_BAD_IHL);
	/* 60 bytes of header in a 28-byte packet. */
	ip4_frame(&f, 17);
	f.b[14] = 0x4f;
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_IP4_BAD_IHL);
}

static void test_ip4_bad_checksum(void **state)
{
	struct harness *h = H(state);
	struct h_frame f;
	struct rte_mbuf *m;

	ip4_frame(&f, 17);
	f.b[14 + 10] ^= 0x01;
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_IP4_BAD_CHECKSUM);
	/* The NIC said bad: believed even though the bytes are right. */
	ip4_frame(&f, 17);
	m = hf_mbuf(&f);
	m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_BAD;
	net_eth_input(h->w, 0, m);
	h_assert_drop(h, WEFT_DROP_IP4_BAD_CHECKSUM);
	/* The NIC said good: no software check, so a wrong field passes on to UDP. */
	ip4_frame(&f, 17);
	f.b[14 + 10] ^= 0x01;
	m = hf_mbuf(&f);
	m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD;
	net_eth_input(h->w, 0, m);
	h_assert_drop(h, WEFT_DROP_UDP_NO_LISTENER);
}

static void test_ip4_bad_length(void **state)
{
	struct harness *h = H(state);
	struct h_frame f;

	/* Total length below the header. */
	ip4_frame(&f, 17);
	f.b[16] = 0;
	f.b[17] = 19;
	hf_ip4_cksum(&f);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_IP4_BAD_LENGTH);
	/* Total length beyond the frame. */
	ip4_frame(&f, 17);
	f.b[16] = 0;
	f.b[17] = 29;
	hf_ip4_cksum(&f);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_IP4_BAD_LENGTH);
}

static void test_ip4_padding_trimmed(void **state)
{
	struct harness *h = H(state);
	struct h_frame f;
	struct rte_mbuf *m;
	uint8_t icmp[16];
	size_t n = h_icmp_echo(icmp, 8, 1, 1, "ab", 2);

	h_learn4(h, 0, h_ip4("198.18.0.2"), H_PEER);
	/* 14 + 20 + 10 = 44, padded to 60 by the sender's NIC. The pad is not ICMP data. */
	hf_ip4(&f, h_ip4("198.18.0.2"), h_ip4("198.18.0.1"), 1, icmp, n);
	memset(f.b + f.len, 0xee, 16);
	f.len += 16;
	h_rx(h, 0, &f);
	h_assert_no_drop(h);
	m = h_tx_pop(h, 0);
	assert_int_equal(rte_pktmbuf_pkt_len(m), 14 + 20 + 10);
	assert_int_equal(get16(tx_bytes(m) + 16), 30);
	rte_pktmbuf_free(m);
}

static void test_ip4_ttl_zero(void **state)
{
	struct harness *h = H(state);
	struct h_frame f;

	ip4_frame(&f, 17);
	f.b[14 + 8] = 0;
	hf_ip4_cksum(&f);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_IP4_TTL_ZERO);
}

static void test_ip4_options(void **state)
{
	struct harness *h = H(state);
	uint8_t data[8] = {0};
	struct h_frame f;
	uint8_t *ip;

	/* A 24-byte header: 20 + one word of NOPs (option 1) and end of list. */
	hf_ip4(&f, h_ip4("198.18.0.2"), h_ip4("198.18.0.1"), 17, data, sizeof(data));
	ip = f.b + 14;
	memmove(ip + 24, ip + 20, sizeof(data));
	ip[20] = 1;
	ip[21] = 1;
	ip[22] = 1;
	ip[23] = 0;
	ip[0] = 0x46;
	ip[3] = 32;
	f.len += 4;
	hf_ip4_cksum(&f);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_IP4_OPTIONS);
}

static void test_ip4_fragment(void **state)
{
	struct harness *h = H(state);
	struct h_frame f;

	ip4_frame(&f, 17);
	f.b[14 + 6] = 0x20; /* MF */
	hf_ip4_cksum(&f);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_IP4_FRAGMENT);
	ip4_frame(&f, 17);
	f.b[14 + 7] = 5; /* offset 40 */
	hf_ip4_cksum(&f);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_IP4_FRAGMENT);
	/* DF alone is no fragment. */
	ip4_frame(&f, 17);
	f.b[14 + 6] = 0x40;
	hf_ip4_cksum(&f);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_UDP_NO_LISTENER);
}

static void test_ip4_bad_src(void **state)
{
	struct harness *h = H(state);
	const char *bad[] = {"224.0.0.5",  "255.255.255.255", "127.0.0.1",  "0.0.0.0",
			     "0.1.2.3",    "240.1.2.3",       "198.18.0.1", "198.19.0.1",
			     "198.18.0.255"};
	uint8_t data[8] = {0};
	struct h_frame f;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hf_ip4(&f, h_ip4(bad[i]), h_ip4("198.18.0.1"), 17, data, sizeof(data));
		h_rx(h, 0, &f);
		h_assert_drop(h, WEFT_DROP_IP4_BAD_SRC);
	}
}

static void test_ip4_not_for_us(void **state)
{
	struct harness *h = H(state);
	const char *dst[] = {"198.18.0.2", "198.19.0.1" /* port 1's, received on port 0 */, "198.18.0.255",
			     "255.255.255.255", "224.0.0.1"};
	uint8_t data[8] = {0};
	struct h_frame f;

	for (size_t i = 0; i < sizeof(dst) / sizeof(dst[0]); i++) {
		hf_ip4(&f, h_ip4("198.18.0.2"), h_ip4(dst[i]), 17, data, sizeof(data));
		h_rx(h, 0, &f);
		h_assert_drop(h, WEFT_DROP_IP4_NOT_FOR_US);
	}
}

/*
 * A SYN to a port nobody listens on reaches the TCP stack, which counts
 * tcp_no_listener and answers with an RST (RFC 9293 3.10.7.1) through the
 * normal output path.
 */
static void tcp_no_listener(struct harness *h, int af)
{
	uint8_t syn[20] = {0x9c, 0x40, 0x00, 0x51, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x10, 0x00};
	const uint8_t *src6 = h_ip6("2001:db8:1::2"), *dst6 = h_ip6("2001:db8:1::1");
	uint32_t src4 = h_ip4("198.18.0.2"), dst4 = h_ip4("198.18.0.1"), sum;
	struct tcp_params prm;
	struct h_frame f;
	struct rte_mbuf *m;
	const uint8_t *tcp;

	tcp_params_default(&prm);
	prm.max_conns = 64;
	assert_int_equal(tcp_stack_init(h->w, &prm), 0);
	if (af == 4) {
		h_learn4(h, 0, src4, H_PEER);
		sum = h_sum(&src4, 4, h_sum(&dst4, 4, 6 + 20));
	} else {
		h_learn6(h, 0, src6, H_PEER);
		sum = h_sum(src6, 16, h_sum(dst6, 16, 6 + 20));
	}
	sum = (uint16_t)~h_fold(h_sum(syn, 20, sum));
	syn[16] = (uint8_t)(sum >> 8);
	syn[17] = (uint8_t)sum;
	if (af == 4)
		hf_ip4(&f, src4, dst4, 6, syn, 20);
	else
		ip6_frame(&f, 6, syn, 20);
	h_rx(h, 0, &f);
	assert_int_equal(h_drops(h, WEFT_DROP_TCP_NO_LISTENER), 1);
	m = h_tx_pop(h, 0);
	tcp = rte_pktmbuf_mtod_offset(m, const uint8_t *, 14 + (af == 4 ? 20 : 40));
	assert_int_equal(tcp[0] << 8 | tcp[1], 81);     /* from the port asked for */
	assert_int_equal(tcp[13], 0x14);                /* RST, ACK */
	assert_int_equal(tcp[11], 2);                   /* ACK = SYN's sequence + 1 */
	rte_pktmbuf_free(m);
	tcp_stack_free(h->w);
	h_mark(h);
}

static void test_ip4_protocols(void **state)
{
	struct harness *h = H(state);
	struct h_frame f;

	tcp_no_listener(h, 4);
	ip4_frame(&f, 17);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_UDP_NO_LISTENER);
	ip4_frame(&f, 47); /* GRE */
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_IP4_UNKNOWN_PROTO);
}

/* ---- ICMP ---- */

static void test_icmp_echo(void **state)
{
	struct harness *h = H(state);
	uint32_t peer = h_ip4("198.18.0.2"), us = h_ip4("198.18.0.1");
	struct h_frame f;
	struct rte_mbuf *m;
	const uint8_t *ip, *ic;

	h_learn4(h, 0, peer, H_PEER);
	echo4_frame(&f, "198.18.0.2", "198.18.0.1");
	f.b[14 + 8] = 3; /* arrives with TTL 3 */
	hf_ip4_cksum(&f);
	h_rx(h, 0, &f);
	h_assert_no_drop(h);
	assert_int_equal(h_events(h, WEFT_EV_ICMP_ECHO_IN), 1);
	assert_int_equal(h_events(h, WEFT_EV_ICMP_ECHO_OUT), 1);
	m = h_tx_pop(h, 0);
	assert_int_equal(rte_pktmbuf_pkt_len(m), f.len);
	assert_memory_equal(tx_bytes(m), H_PEER, 6);
	assert_memory_equal(tx_bytes(m) + 6, H_MAC0, 6);
	assert_int_equal(get16(tx_bytes(m) + 12), 0x0800);
	ip = tx_bytes(m) + 14;
	assert_memory_equal(ip + 12, &us, 4);
	assert_memory_equal(ip + 16, &peer, 4);
	assert_int_equal(ip[8], 64);
	h_assert_ip4_cksum(ip);
	ic = ip + 20;
	assert_int_equal(ic[0], 0);
	assert_int_equal(ic[1], 0);
	assert_int_equal(get16(ic + 4), 0x4242);
	assert_int_equal(get16(ic + 6), 7);
	assert_memory_equal(ic + 8, payload, sizeof(payload));
	assert_int_equal(h_fold(h_sum(ic, 8 + sizeof(payload), 0)), 0xffff);
	rte_pktmbuf_free(m);
}

static void test_icmp_echo_resolves_first(void **state)
{
	struct harness *h = H(state);
	uint32_t peer = h_ip4("198.18.0.2");
	struct h_frame f;
	struct rte_mbuf *m;

	/* The requester is unknown: the reply waits for ARP, it does not reuse the request's MACs. */
	echo4_frame(&f, "198.18.0.2", "198.18.0.1");
	h_rx(h, 0, &f);
	h_assert_no_drop(h);
	assert_int_equal(h_tx_count(h, 0), 1);
	m = h_tx_pop(h, 0);
	assert_arp_request(m, H_BCAST, H_MAC0, h_ip4("198.18.0.1"), peer);
	rte_pktmbuf_free(m);

	hf_arp(&f, H_MAC0, H_PEER, ARP_REP, H_PEER, peer, H_MAC0, h_ip4("198.18.0.1"));
	h_rx(h, 0, &f);
	m = h_tx_pop(h, 0);
	assert_memory_equal(tx_bytes(m), H_PEER, 6);
	assert_int_equal(tx_bytes(m)[14 + 20], 0);
	h_assert_ip4_cksum(tx_bytes(m) + 14);
	rte_pktmbuf_free(m);
	h_assert_no_drop(h);
}

static void test_icmp_echo_routed(void **state)
{
	struct harness *h = H(state);
	struct h_frame f;
	struct rte_mbuf *m;

	/* 198.18.130.3 lives behind 198.19.0.254 on port 1: the reply leaves there, whatever port asked. */
	h_learn4(h, 1, h_ip4("198.19.0.254"), H_GW1);
	echo4_frame(&f, "198.18.130.3", "198.18.0.1");
	h_rx(h, 0, &f);
	h_assert_no_drop(h);
	assert_int_equal(h_tx_count(h, 0), 0);
	m = h_tx_pop(h, 1);
	assert_memory_equal(tx_bytes(m), H_GW1, 6);
	assert_memory_equal(tx_bytes(m) + 6, H_MAC1, 6);
	assert_int_equal(tx_bytes(m)[14 + 16], 198);
	rte_pktmbuf_free(m);

	/* Anything else goes to port 0's default gateway, resolved first. */
	echo4_frame(&f, "192.0.2.55", "198.18.0.1");
	h_rx(h, 0, &f);
	m = h_tx_pop(h, 0);
	assert_arp_request(m, H_BCAST, H_MAC0, h_ip4("198.18.0.1"), h_ip4("198.18.0.254"));
	rte_pktmbuf_free(m);
	h_assert_no_drop(h);
}

static void test_icmp_echo_no_route(void **state)
{
	struct harness *h = H(state);
	struct h_frame f;

	h->cfg->ports[0].has_gw4 = false;
	h_recompile(h);
	echo4_frame(&f, "192.0.2.55", "198.18.0.1");
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_IP4_NO_ROUTE);
}

static void test_icmp_bad(void **state)
{
	struct harness *h = H(state);
	uint8_t icmp[64];
	struct h_frame f;
	uint16_t cs;
	size_t n;

	echo4_frame(&f, "198.18.0.2", "198.18.0.1");
	f.b[14 + 20 + 12] ^= 0xff; /* payload byte */
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ICMP_BAD_CHECKSUM);

	hf_ip4(&f, h_ip4("198.18.0.2"), h_ip4("198.18.0.1"), 1, "\x08\x00\xf7\xff", 4);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ICMP_TOO_SHORT);

	/* Echo reply, destination unreachable, a non-zero echo code. */
	n = h_icmp_echo(icmp, 0, 1, 1, "x", 1);
	hf_ip4(&f, h_ip4("198.18.0.2"), h_ip4("198.18.0.1"), 1, icmp, n);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ICMP_UNHANDLED_TYPE);
	n = h_icmp_echo(icmp, 3, 1, 1, "x", 1);
	hf_ip4(&f, h_ip4("198.18.0.2"), h_ip4("198.18.0.1"), 1, icmp, n);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ICMP_UNHANDLED_TYPE);
	n = h_icmp_echo(icmp, 8, 1, 1, "x", 1);
	icmp[1] = 1;
	icmp[2] = icmp[3] = 0;
	cs = (uint16_t)~h_fold(h_sum(icmp, n, 0));
	icmp[2] = (uint8_t)(cs >> 8);
	icmp[3] = (uint8_t)cs;
	hf_ip4(&f, h_ip4("198.18.0.2"), h_ip4("198.18.0.1"), 1, icmp, n);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ICMP_UNHANDLED_TYPE);
}

/* ---- IPv6 validation ---- */

static void test_ip6_too_short(void **state)
{
	struct harness *h = H(state);
	struct h_frame f;

	ip6_frame(&f, 17, "abcdefgh", 8);
	f.len = 14 + 39;
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_IP6_TOO_SHORT);
}

static void test_ip6_bad_version(void **state)
{
	struct harness *h = H(state);
	struct h_frame f;

	ip6_frame(&f, 17, "abcdefgh", 8);
	f.b[14] = 0x40;
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_IP6_BAD_VERSION);
}

static void test_ip6_bad_length(void **state)
{
	struct harness *h = H(state);
	struct h_frame f;

	ip6_frame(&f, 17, "abcdefgh", 8);
	f.b[14 + 5] = 9;
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_IP6_BAD_LENGTH);
}

static void test_ip6_bad_src(void **state)
{
	struct harness *h = H(state);
	const char *bad[] = {"ff02::1", "::1", "2001:db8:1::1", "2001:db8:2::1", "fe80::ff:fe00:1", "::ffff:198.18.0.2"};
	struct h_frame f;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		hf_ip6(&f, H_MAC0, H_PEER, h_ip6(bad[i]), h_ip6("2001:db8:1::1"), 17, 64, "abcdefgh", 8);
		h_rx(h, 0, &f);
		h_assert_drop(h, WEFT_DROP_IP6_BAD_SRC);
	}
	/* The unspecified source: not for UDP, not for an echo; only DAD solicitations use it. */
	hf_ip6(&f, H_MAC0, H_PEER, h_ip6("::"), h_ip6("2001:db8:1::1"), 17, 64, "abcdefgh", 8);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_IP6_BAD_SRC);
	echo6_frame(&f, h_ip6("::"), h_ip6("2001:db8:1::1"), H_MAC0);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_IP6_BAD_SRC);
}

static void test_ip6_not_for_us(void **state)
{
	struct harness *h = H(state);
	const char *dst[] = {"2001:db8:1::2", "2001:db8:2::1" /* port 1's */, "ff02::2", "ff02::1:ff00:99",
			     "fe80::ff:fe00:2" /* port 1's link-local */};
	struct h_frame f;

	for (size_t i = 0; i < sizeof(dst) / sizeof(dst[0]); i++) {
		hf_ip6(&f, H_MAC0, H_PEER, h_ip6("2001:db8:1::2"), h_ip6(dst[i]), 17, 64, "abcdefgh", 8);
		h_rx(h, 0, &f);
		h_assert_drop(h, WEFT_DROP_IP6_NOT_FOR_US);
	}
}

static void test_ip6_ext_headers(void **state)
{
	struct harness *h = H(state);
	const uint8_t ext[] = {0 /* hop-by-hop */, 43 /* routing */, 60 /* destination options */, 51 /* AH */};
	const uint8_t hdr[8] = {17, 0, 0, 0, 0, 0, 0, 0};
	struct h_frame f;

	ip6_frame(&f, 44, hdr, sizeof(hdr));
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_IP6_FRAGMENT);
	for (size_t i = 0; i < sizeof(ext); i++) {
		ip6_frame(&f, ext[i], hdr, sizeof(hdr));
		h_rx(h, 0, &f);
		h_assert_drop(h, WEFT_DROP_IP6_EXT_HEADER);
	}
}

static void test_ip6_protocols(void **state)
{
	struct harness *h = H(state);
	struct h_frame f;

	tcp_no_listener(h, 6);
	ip6_frame(&f, 17, "abcdefgh", 8);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_UDP_NO_LISTENER);
	ip6_frame(&f, 59, NULL, 0);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_IP6_UNKNOWN_PROTO);
	/* Delivered to a group we joined, too. */
	hf_ip6(&f, (const uint8_t[6]){0x33, 0x33, 0, 0, 0, 1}, H_PEER, h_ip6("2001:db8:1::2"), h_ip6("ff02::1"), 17, 64,
	       "abcdefgh", 8);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_UDP_NO_LISTENER);
}

/* ---- ICMPv6 ---- */

static void test_icmp6_echo(void **state)
{
	struct harness *h = H(state);
	const uint8_t *peer = h_ip6("2001:db8:1::2");
	struct h_frame f;
	struct rte_mbuf *m;
	const uint8_t *ip6;

	h_learn6(h, 0, peer, H_PEER);
	echo6_frame(&f, peer, h_ip6("2001:db8:1::1"), H_MAC0);
	/* Trailing bytes beyond the payload length are padding, not data. */
	memset(f.b + f.len, 0xee, 6);
	f.len += 6;
	h_rx(h, 0, &f);
	h_assert_no_drop(h);
	assert_int_equal(h_events(h, WEFT_EV_ICMP6_ECHO_IN), 1);
	assert_int_equal(h_events(h, WEFT_EV_ICMP6_ECHO_OUT), 1);
	m = h_tx_pop(h, 0);
	assert_int_equal(rte_pktmbuf_pkt_len(m), f.len - 6);
	assert_memory_equal(tx_bytes(m), H_PEER, 6);
	assert_memory_equal(tx_bytes(m) + 6, H_MAC0, 6);
	ip6 = tx_bytes(m) + 14;
	assert_int_equal(ip6[0] >> 4, 6);
	assert_int_equal(ip6[7], 64);
	assert_memory_equal(ip6 + 8, h_ip6("2001:db8:1::1"), 16);
	assert_memory_equal(ip6 + 24, peer, 16);
	assert_int_equal(ip6[40], 129);
	assert_int_equal(ip6[41], 0);
	assert_int_equal(get16(ip6 + 44), 0x77);
	assert_int_equal(get16(ip6 + 46), 3);
	assert_memory_equal(ip6 + 48, payload, sizeof(payload));
	h_assert_icmp6_cksum(ip6);
	rte_pktmbuf_free(m);
}

static void test_icmp6_echo_link_local_resolves(void **state)
{
	struct harness *h = H(state);
	const uint8_t *peer = h_ip6("fe80::aa"), *us = h_ip6("fe80::ff:fe00:2");
	uint8_t na[64];
	struct h_frame f;
	struct rte_mbuf *m;
	size_t n;

	/* On port 1, to port 1's link-local: the reply stays on port 1 (fe80::/64 is everywhere). */
	echo6_frame(&f, peer, us, H_MAC1);
	h_rx(h, 1, &f);
	h_assert_no_drop(h);
	m = h_tx_pop(h, 1);
	assert_ns(m, H_MAC1, peer, NULL);
	/* Our link-local is the source towards a link-local target. */
	assert_memory_equal(tx_bytes(m) + 14 + 8, us, 16);
	rte_pktmbuf_free(m);
	assert_int_equal(h_events(h, WEFT_EV_ND_NS_OUT), 1);

	n = h_nd(na, 136, 0x60000000u, peer, 2, H_PEER2);
	hf_ip6(&f, H_MAC1, H_PEER2, peer, us, ICMP6, 255, na, n);
	hf_icmp6_cksum(&f);
	h_rx(h, 1, &f);
	h_assert_no_drop(h);
	m = h_tx_pop(h, 1);
	assert_memory_equal(tx_bytes(m), H_PEER2, 6);
	assert_int_equal(tx_bytes(m)[14 + 40], 129);
	h_assert_icmp6_cksum(tx_bytes(m) + 14);
	rte_pktmbuf_free(m);
}

static void test_icmp6_echo_multicast(void **state)
{
	struct harness *h = H(state);
	const uint8_t *peer = h_ip6("2001:db8:1::2");
	struct h_frame f;
	struct rte_mbuf *m;

	/* To all-nodes: answered from our unicast address (RFC 4443 4.2). */
	h_learn6(h, 0, peer, H_PEER);
	echo6_frame(&f, peer, h_ip6("ff02::1"), (const uint8_t[6]){0x33, 0x33, 0, 0, 0, 1});
	h_rx(h, 0, &f);
	h_assert_no_drop(h);
	m = h_tx_pop(h, 0);
	assert_memory_equal(tx_bytes(m) + 14 + 8, h_ip6("2001:db8:1::1"), 16);
	assert_memory_equal(tx_bytes(m) + 14 + 24, peer, 16);
	h_assert_icmp6_cksum(tx_bytes(m) + 14);
	rte_pktmbuf_free(m);
}

static void test_icmp6_bad(void **state)
{
	struct harness *h = H(state);
	uint8_t rs[8] = {133, 0, 0, 0, 0, 0, 0, 0};
	struct h_frame f;

	echo6_frame(&f, h_ip6("2001:db8:1::2"), h_ip6("2001:db8:1::1"), H_MAC0);
	f.b[f.len - 1] ^= 0x5a;
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ICMP6_BAD_CHECKSUM);

	ip6_frame(&f, ICMP6, "\x80\x00", 2);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ICMP6_TOO_SHORT);

	/* An echo of 6 bytes: a valid checksum, too short for identifier and sequence. */
	ip6_frame(&f, ICMP6, "\x80\x00\x00\x00\x00\x01", 6);
	hf_icmp6_cksum(&f);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ICMP6_TOO_SHORT);

	/* A router solicitation: not ours to answer. */
	hf_ip6(&f, H_MAC0, H_PEER, h_ip6("fe80::aa"), h_ip6("fe80::ff:fe00:1"), ICMP6, 255, rs, sizeof(rs));
	hf_icmp6_cksum(&f);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ICMP6_UNHANDLED_TYPE);
}

/* ---- Neighbour discovery ---- */

static void assert_na(struct rte_mbuf *m, const uint8_t eth_dst[6], const uint8_t *dst, const uint8_t *target,
		      uint32_t flags)
{
	const uint8_t *b = tx_bytes(m), *ip6 = b + 14;

	assert_int_equal(rte_pktmbuf_pkt_len(m), 14 + 40 + 32);
	assert_memory_equal(b, eth_dst, 6);
	assert_memory_equal(b + 6, H_MAC0, 6);
	assert_int_equal(get16(b + 12), 0x86dd);
	assert_int_equal(get16(ip6 + 4), 32);
	assert_int_equal(ip6[6], ICMP6);
	assert_int_equal(ip6[7], 255);
	assert_memory_equal(ip6 + 8, target, 16);
	assert_memory_equal(ip6 + 24, dst, 16);
	assert_int_equal(ip6[40], 136);
	assert_int_equal(ip6[41], 0);
	assert_int_equal(get32(ip6 + 44), flags);
	assert_memory_equal(ip6 + 48, target, 16);
	assert_int_equal(ip6[64], 2); /* TLLAO */
	assert_int_equal(ip6[65], 1);
	assert_memory_equal(ip6 + 66, H_MAC0, 6);
	h_assert_icmp6_cksum(ip6);
}

static void test_nd_ns_multicast(void **state)
{
	struct harness *h = H(state);
	const uint8_t *peer = h_ip6("2001:db8:1::2"), *us = h_ip6("2001:db8:1::1");
	uint8_t ns[64];
	struct h_frame f;
	struct rte_mbuf *m;
	size_t n = h_nd(ns, 135, 0, us, 1, H_PEER);

	nd_frame(&f, sn_mac_1, peer, h_ip6("ff02::1:ff00:1"), 255, ns, n);
	h_rx(h, 0, &f);
	h_assert_no_drop(h);
	assert_int_equal(h_events(h, WEFT_EV_ND_NS_IN), 1);
	assert_int_equal(h_events(h, WEFT_EV_ND_NA_OUT), 1);
	assert_int_equal(h_events(h, WEFT_EV_NEIGH_LEARNED), 1);
	m = h_tx_pop(h, 0);
	/* Solicited and override; to the solicitor at the MAC its option gave. */
	assert_na(m, H_PEER, peer, us, 0x60000000u);
	rte_pktmbuf_free(m);
	assert_int_equal(h_tx_count(h, 0), 0);
}

static void test_nd_ns_unicast(void **state)
{
	struct harness *h = H(state);
	const uint8_t *peer = h_ip6("fe80::aa"), *us = h_ip6("fe80::ff:fe00:1");
	uint8_t ns[64];
	struct h_frame f;
	struct rte_mbuf *m;
	size_t n = h_nd(ns, 135, 0, us, 1, H_PEER);

	/* Unicast re-validation of our link-local address, with an extra unknown option that is skipped. */
	ns[n] = 14; /* nonce (RFC 3971) */
	ns[n + 1] = 1;
	memset(ns + n + 2, 0x11, 6);
	n += 8;
	nd_frame(&f, H_MAC0, peer, us, 255, ns, n);
	h_rx(h, 0, &f);
	h_assert_no_drop(h);
	m = h_tx_pop(h, 0);
	assert_na(m, H_PEER, peer, us, 0x60000000u);
	rte_pktmbuf_free(m);
}

static void test_nd_ns_without_sllao_resolves(void **state)
{
	struct harness *h = H(state);
	const uint8_t *peer = h_ip6("2001:db8:1::2"), *us = h_ip6("2001:db8:1::1");
	uint8_t msg[64];
	struct h_frame f;
	struct rte_mbuf *m;
	size_t n = h_nd(msg, 135, 0, us, 0, NULL);

	/* Nothing tells us the solicitor's MAC: the advertisement waits for our own solicitation. */
	nd_frame(&f, H_MAC0, peer, us, 255, msg, n);
	h_rx(h, 0, &f);
	h_assert_no_drop(h);
	m = h_tx_pop(h, 0);
	assert_ns(m, H_MAC0, peer, NULL);
	rte_pktmbuf_free(m);
	assert_int_equal(h_tx_count(h, 0), 0);

	n = h_nd(msg, 136, 0x60000000u, peer, 2, H_PEER);
	nd_frame(&f, H_MAC0, peer, us, 255, msg, n);
	h_rx(h, 0, &f);
	h_assert_no_drop(h);
	assert_int_equal(h_events(h, WEFT_EV_ND_NA_IN), 1);
	m = h_tx_pop(h, 0);
	assert_na(m, H_PEER, peer, us, 0x60000000u);
	rte_pktmbuf_free(m);
}

static void test_nd_dad(void **state)
{
	struct harness *h = H(state);
	const uint8_t *us = h_ip6("2001:db8:1::1");
	uint8_t ns[64];
	struct h_frame f;
	struct rte_mbuf *m;
	size_t n = h_nd(ns, 135, 0, us, 0, NULL);

	/* Someone probes for our address: defend it to all-nodes, unsolicited (RFC 4861 7.2.4). */
	nd_frame(&f, sn_mac_1, h_ip6("::"), h_ip6("ff02::1:ff00:1"), 255, ns, n);
	h_rx(h, 0, &f);
	h_assert_no_drop(h);
	assert_int_equal(h_events(h, WEFT_EV_NEIGH_LEARNED), 0);
	m = h_tx_pop(h, 0);
	assert_na(m, (const uint8_t[6]){0x33, 0x33, 0, 0, 0, 1}, h_ip6("ff02::1"), us, 0x20000000u);
	rte_pktmbuf_free(m);

	/* DAD with a source link-layer option, or to a unicast destination, is malformed (7.1.1). */
	n = h_nd(ns, 135, 0, us, 1, H_PEER);
	nd_frame(&f, sn_mac_1, h_ip6("::"), h_ip6("ff02::1:ff00:1"), 255, ns, n);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ND_MALFORMED);
	n = h_nd(ns, 135, 0, us, 0, NULL);
	nd_frame(&f, H_MAC0, h_ip6("::"), us, 255, ns, n);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ND_MALFORMED);
}

static void test_nd_bad_hop_limit(void **state)
{
	struct harness *h = H(state);
	const uint8_t *us = h_ip6("2001:db8:1::1");
	uint8_t msg[64];
	struct h_frame f;
	size_t n = h_nd(msg, 135, 0, us, 1, H_PEER);

	nd_frame(&f, sn_mac_1, h_ip6("2001:db8:1::2"), h_ip6("ff02::1:ff00:1"), 254, msg, n);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ND_BAD_HOP_LIMIT);
	n = h_nd(msg, 136, 0x60000000u, h_ip6("2001:db8:1::2"), 2, H_PEER);
	nd_frame(&f, H_MAC0, h_ip6("2001:db8:1::2"), us, 64, msg, n);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ND_BAD_HOP_LIMIT);
}

static void test_nd_malformed(void **state)
{
	struct harness *h = H(state);
	const uint8_t *peer = h_ip6("2001:db8:1::2"), *us = h_ip6("2001:db8:1::1");
	uint8_t msg[64];
	struct h_frame f;
	size_t n;

	/* Code 1. */
	n = h_nd(msg, 135, 0, us, 1, H_PEER);
	msg[1] = 1;
	nd_frame(&f, H_MAC0, peer, us, 255, msg, n);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ND_MALFORMED);
	/* Shorter than 24 bytes. */
	n = h_nd(msg, 135, 0, us, 0, NULL);
	nd_frame(&f, H_MAC0, peer, us, 255, msg, 20);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ND_MALFORMED);
	/* An option of length zero. */
	n = h_nd(msg, 135, 0, us, 1, H_PEER);
	msg[25] = 0;
	nd_frame(&f, H_MAC0, peer, us, 255, msg, n);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ND_MALFORMED);
	/* An option running past the end. */
	n = h_nd(msg, 135, 0, us, 1, H_PEER);
	msg[25] = 2;
	nd_frame(&f, H_MAC0, peer, us, 255, msg, n);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ND_MALFORMED);
	/* A multicast target. */
	n = h_nd(msg, 135, 0, h_ip6("ff02::1"), 1, H_PEER);
	nd_frame(&f, H_MAC0, peer, us, 255, msg, n);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ND_MALFORMED);
	/* A solicited advertisement sent to a group. */
	n = h_nd(msg, 136, 0x60000000u, peer, 2, H_PEER);
	nd_frame(&f, (const uint8_t[6]){0x33, 0x33, 0, 0, 0, 1}, peer, h_ip6("ff02::1"), 255, msg, n);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ND_MALFORMED);
}

static void test_nd_not_for_us(void **state)
{
	struct harness *h = H(state);
	uint8_t msg[64];
	struct h_frame f;
	size_t n;

	/* Our solicited-node group (low 24 bits collide), someone else's address. */
	n = h_nd(msg, 135, 0, h_ip6("2001:db8:1:0:1::1"), 1, H_PEER);
	nd_frame(&f, sn_mac_1, h_ip6("2001:db8:1::2"), h_ip6("ff02::1:ff00:1"), 255, msg, n);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ND_NOT_FOR_US);
	/* Port 1's address asked on port 0. */
	n = h_nd(msg, 135, 0, h_ip6("2001:db8:2::1"), 1, H_PEER);
	nd_frame(&f, sn_mac_1, h_ip6("2001:db8:1::2"), h_ip6("ff02::1:ff00:1"), 255, msg, n);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ND_NOT_FOR_US);
}

static void test_nd_na_learning(void **state)
{
	struct harness *h = H(state);
	const uint8_t *peer = h_ip6("2001:db8:1::2"), *us = h_ip6("2001:db8:1::1");
	uint8_t msg[64];
	struct h_frame f;
	struct rte_mbuf *m;
	size_t n;

	/* Unsolicited, unknown target: handled, not cached. */
	n = h_nd(msg, 136, 0x20000000u, peer, 2, H_PEER);
	nd_frame(&f, (const uint8_t[6]){0x33, 0x33, 0, 0, 0, 1}, peer, h_ip6("ff02::1"), 255, msg, n);
	h_rx(h, 0, &f);
	h_assert_no_drop(h);
	assert_int_equal(h_events(h, WEFT_EV_ND_NA_IN), 1);
	assert_int_equal(h_events(h, WEFT_EV_NEIGH_LEARNED), 0);
	net_ip6_output(h->w, out6(us, peer, 1));
	m = h_tx_pop(h, 0);
	assert_ns(m, H_MAC0, peer, NULL);
	rte_pktmbuf_free(m);

	/* Solicited: resolves and flushes. */
	h_mark(h);
	n = h_nd(msg, 136, 0x60000000u, peer, 2, H_PEER);
	nd_frame(&f, H_MAC0, peer, us, 255, msg, n);
	h_rx(h, 0, &f);
	h_assert_no_drop(h);
	assert_int_equal(h_events(h, WEFT_EV_NEIGH_LEARNED), 1);
	m = h_tx_pop(h, 0);
	assert_memory_equal(tx_bytes(m), H_PEER, 6);
	assert_int_equal(tx_bytes(m)[14 + 40], 1);
	rte_pktmbuf_free(m);

	/* Without override, a different address does not replace the cached one (RFC 4861 7.2.5). */
	n = h_nd(msg, 136, 0x40000000u, peer, 2, H_PEER2);
	nd_frame(&f, H_MAC0, peer, us, 255, msg, n);
	h_rx(h, 0, &f);
	net_ip6_output(h->w, out6(us, peer, 2));
	m = h_tx_pop(h, 0);
	assert_memory_equal(tx_bytes(m), H_PEER, 6);
	rte_pktmbuf_free(m);
	/* With override it does. */
	n = h_nd(msg, 136, 0x20000000u, peer, 2, H_PEER2);
	nd_frame(&f, (const uint8_t[6]){0x33, 0x33, 0, 0, 0, 1}, peer, h_ip6("ff02::1"), 255, msg, n);
	h_rx(h, 0, &f);
	net_ip6_output(h->w, out6(us, peer, 3));
	m = h_tx_pop(h, 0);
	assert_memory_equal(tx_bytes(m), H_PEER2, 6);
	rte_pktmbuf_free(m);
	h_assert_no_drop(h);
}

static void test_nd_na_target_ours(void **state)
{
	struct harness *h = H(state);
	uint8_t msg[64];
	struct h_frame f;
	size_t n = h_nd(msg, 136, 0x20000000u, h_ip6("2001:db8:1::1"), 2, H_PEER);

	nd_frame(&f, (const uint8_t[6]){0x33, 0x33, 0, 0, 0, 1}, h_ip6("fe80::aa"), h_ip6("ff02::1"), 255, msg, n);
	h_rx(h, 0, &f);
	h_assert_drop(h, WEFT_DROP_ND_TARGET_OURS);
}

/* ---- Output and resolution ---- */

static void test_out4_resolve_and_flush(void **state)
{
	struct harness *h = H(state);
	uint32_t peer = h_ip4("198.18.0.2");
	struct h_frame f;
	struct rte_mbuf *m;

	for (uint8_t i = 0; i < 3; i++)
		net_ip4_output(h->w, out4("198.18.0.1", "198.18.0.2", i));
	/* One request for three packets. */
	assert_int_equal(h_events(h, WEFT_EV_ARP_REQUEST_OUT), 1);
	assert_int_equal(h_tx_count(h, 0), 1);
	m = h_tx_pop(h, 0);
	assert_arp_request(m, H_BCAST, H_MAC0, h_ip4("198.18.0.1"), peer);
	rte_pktmbuf_free(m);

	hf_arp(&f, H_MAC0, H_PEER, ARP_REP, H_PEER, peer, H_MAC0, h_ip4("198.18.0.1"));
	h_rx(h, 0, &f);
	assert_int_equal(h_tx_count(h, 0), 3);
	for (uint8_t i = 0; i < 3; i++) {
		m = h_tx_pop(h, 0);
		assert_memory_equal(tx_bytes(m), H_PEER, 6);
		assert_memory_equal(tx_bytes(m) + 6, H_MAC0, 6);
		assert_int_equal(get16(tx_bytes(m) + 12), 0x0800);
		h_assert_ip4_cksum(tx_bytes(m) + 14);
		assert_int_equal(tx_bytes(m)[14 + 20], i); /* in order */
		rte_pktmbuf_free(m);
	}
	h_assert_no_drop(h);
}

static void test_out4_via_gateway(void **state)
{
	struct harness *h = H(state);
	struct rte_mbuf *m;

	net_ip4_output(h->w, out4("198.19.0.1", "198.18.200.7", 0));
	m = h_tx_pop(h, 1);
	assert_arp_request(m, H_BCAST, H_MAC1, h_ip4("198.19.0.1"), h_ip4("198.19.0.254"));
	rte_pktmbuf_free(m);
	h_assert_no_drop(h);
}

static void test_out4_no_route(void **state)
{
	struct harness *h = H(state);

	h->cfg->ports[0].has_gw4 = false;
	h_recompile(h);
	net_ip4_output(h->w, out4("198.18.0.1", "192.0.2.1", 0));
	h_assert_drop(h, WEFT_DROP_IP4_NO_ROUTE);
}

static void test_out4_queue_bound(void **state)
{
	struct harness *h = H(state);

	for (uint8_t i = 0; i < 8; i++)
		net_ip4_output(h->w, out4("198.18.0.1", "198.18.0.9", i));
	assert_int_equal(h_events(h, WEFT_EV_ARP_REQUEST_OUT), 1);
	h_tx_free_all(h);
	h_assert_no_drop(h);
	net_ip4_output(h->w, out4("198.18.0.1", "198.18.0.9", 8));
	h_assert_drop(h, WEFT_DROP_NEIGH_QUEUE_FULL);
	/* The eight waiting packets are still there: the teardown frees them with the table. */
}

static void test_out4_timeout(void **state)
{
	struct harness *h = H(state);
	struct weft_worker *w = h->w;
	uint64_t t0 = w->now;
	struct rte_mbuf *m;

	for (uint8_t i = 0; i < 5; i++)
		net_ip4_output(w, out4("198.18.0.1", "198.18.0.9", i));
	rte_pktmbuf_free(h_tx_pop(h, 0));

	/* Nothing before a second has passed. */
	w->now = t0 + H_HZ - 1;
	net_neigh_timers(w);
	assert_int_equal(h_tx_count(h, 0), 0);
	/* Retransmissions at 1 s and 2 s. */
	for (unsigned s = 1; s <= 2; s++) {
		w->now = t0 + s * H_HZ;
		net_neigh_timers(w);
		m = h_tx_pop(h, 0);
		assert_arp_request(m, H_BCAST, H_MAC0, h_ip4("198.18.0.1"), h_ip4("198.18.0.9"));
		rte_pktmbuf_free(m);
		net_neigh_timers(w); /* no double send within the same tick */
		assert_int_equal(h_tx_count(h, 0), 0);
	}
	assert_int_equal(h_events(h, WEFT_EV_ARP_REQUEST_OUT), 3);
	h_assert_no_drop(h);
	/* Three requests unanswered: the waiting packets go. */
	w->now = t0 + 3 * H_HZ;
	net_neigh_timers(w);
	assert_int_equal(h_drops(h, WEFT_DROP_NEIGH_TIMEOUT), 5);
	assert_int_equal(h_tx_count(h, 0), 0);
	h_mark(h);
	/* The entry is gone: the next packet starts over. */
	net_ip4_output(w, out4("198.18.0.1", "198.18.0.9", 9));
	assert_int_equal(h_events(h, WEFT_EV_ARP_REQUEST_OUT), 1);
}

static void test_out4_expiry(void **state)
{
	struct harness *h = H(state);
	struct weft_worker *w = h->w;
	uint32_t peer = h_ip4("198.18.0.2"), gw = h_ip4("198.18.0.254");
	uint64_t t0 = w->now;
	struct h_frame f;
	struct rte_mbuf *m;

	/* Two neighbours; only the gateway carries traffic. */
	h_learn4(h, 0, peer, H_PEER);
	h_learn4(h, 0, gw, H_GW);
	net_ip4_output(w, out4("198.18.0.1", "192.0.2.1", 0));
	rte_pktmbuf_free(h_tx_pop(h, 0));

	w->now = t0 + 300 * H_HZ;
	net_neigh_timers(w);
	/* The gateway is re-validated with a unicast request to the MAC we hold (RFC 1122 2.3.2.1). */
	m = h_tx_pop(h, 0);
	assert_arp_request(m, H_GW, H_MAC0, h_ip4("198.18.0.1"), gw);
	rte_pktmbuf_free(m);
	assert_int_equal(h_tx_count(h, 0), 0);
	/* Traffic keeps flowing meanwhile. */
	net_ip4_output(w, out4("198.18.0.1", "192.0.2.1", 1));
	m = h_tx_pop(h, 0);
	assert_memory_equal(tx_bytes(m), H_GW, 6);
	rte_pktmbuf_free(m);
	/* The idle peer was forgotten: sending to it resolves again. */
	h_mark(h);
	net_ip4_output(w, out4("198.18.0.1", "198.18.0.2", 2));
	assert_int_equal(h_events(h, WEFT_EV_ARP_REQUEST_OUT), 1);
	h_tx_free_all(h);

	/* The gateway answers its probe: reachable again, no more probes. */
	hf_arp(&f, H_MAC0, H_GW, ARP_REP, H_GW, gw, H_MAC0, h_ip4("198.18.0.1"));
	h_rx(h, 0, &f);
	h_mark(h);
	w->now = t0 + 302 * H_HZ;
	net_neigh_timers(w);
	assert_int_equal(h_tx_count(h, 0), 1); /* only the retransmission for 198.18.0.2 */
	h_tx_free_all(h);
	assert_int_equal(h_events(h, WEFT_EV_ARP_REQUEST_OUT), 1);
}

static void test_out4_probe_fails(void **state)
{
	struct harness *h = H(state);
	struct weft_worker *w = h->w;
	uint32_t gw = h_ip4("198.18.0.254");
	uint64_t t0 = w->now;
	struct rte_mbuf *m;

	h_learn4(h, 0, gw, H_GW);
	net_ip4_output(w, out4("198.18.0.1", "192.0.2.1", 0));
	h_tx_free_all(h);
	for (unsigned s = 0; s <= 3; s++) {
		w->now = t0 + (300 + s) * H_HZ;
		net_neigh_timers(w);
	}
	assert_int_equal(h_events(h, WEFT_EV_ARP_REQUEST_OUT), 3);
	h_tx_free_all(h);
	h_assert_no_drop(h);
	/* Deleted after three unanswered probes: the next packet broadcasts a request. */
	h_mark(h);
	net_ip4_output(w, out4("198.18.0.1", "192.0.2.1", 1));
	m = h_tx_pop(h, 0);
	assert_arp_request(m, H_BCAST, H_MAC0, h_ip4("198.18.0.1"), gw);
	rte_pktmbuf_free(m);
}

static void test_out6_resolve(void **state)
{
	struct harness *h = H(state);
	const uint8_t *peer = h_ip6("2001:db8:1::2"), *us = h_ip6("2001:db8:1::1");
	uint8_t msg[64];
	struct h_frame f;
	struct rte_mbuf *m;
	size_t n;

	net_ip6_output(h->w, out6(us, peer, 1));
	net_ip6_output(h->w, out6(us, peer, 2));
	assert_int_equal(h_tx_count(h, 0), 1);
	m = h_tx_pop(h, 0);
	assert_ns(m, H_MAC0, peer, NULL);
	assert_memory_equal(tx_bytes(m) + 14 + 8, us, 16);
	rte_pktmbuf_free(m);

	n = h_nd(msg, 136, 0x60000000u, peer, 2, H_PEER);
	nd_frame(&f, H_MAC0, peer, us, 255, msg, n);
	h_rx(h, 0, &f);
	for (uint8_t i = 1; i <= 2; i++) {
		m = h_tx_pop(h, 0);
		assert_memory_equal(tx_bytes(m), H_PEER, 6);
		assert_int_equal(get16(tx_bytes(m) + 12), 0x86dd);
		assert_int_equal(tx_bytes(m)[14 + 40], i);
		rte_pktmbuf_free(m);
	}
	h_assert_no_drop(h);
}

static void test_out6_default_gateway_timeout(void **state)
{
	struct harness *h = H(state);
	struct weft_worker *w = h->w;
	const uint8_t *gw = h_ip6("fe80::fe");
	uint64_t t0 = w->now;
	struct rte_mbuf *m;

	/* Default route through the link-local router: solicited from our link-local address. */
	net_ip6_output(w, out6(h_ip6("2001:db8:1::1"), h_ip6("2a00::1"), 1));
	m = h_tx_pop(h, 0);
	assert_ns(m, H_MAC0, gw, NULL);
	assert_memory_equal(tx_bytes(m) + 14 + 8, h_ip6("fe80::ff:fe00:1"), 16);
	rte_pktmbuf_free(m);
	for (unsigned s = 1; s <= 3; s++) {
		w->now = t0 + s * H_HZ;
		net_neigh_timers(w);
		h_tx_free_all(h);
	}
	assert_int_equal(h_events(h, WEFT_EV_ND_NS_OUT), 3);
	assert_int_equal(h_drops(h, WEFT_DROP_NEIGH_TIMEOUT), 1);
}

static void test_out6_no_route(void **state)
{
	struct harness *h = H(state);

	h->cfg->ports[0].has_gw6 = false;
	h_recompile(h);
	net_ip6_output(h->w, out6(h_ip6("2001:db8:1::1"), h_ip6("2a00::1"), 1));
	h_assert_drop(h, WEFT_DROP_IP6_NO_ROUTE);
	net_ip6_output(h->w, out6(h_ip6("2001:db8:1::1"), h_ip6("ff02::1"), 1));
	h_assert_drop(h, WEFT_DROP_IP6_NO_ROUTE);
}

/*
 * 2001:db8:1:: with a scrambled interface identifier per i. Addresses that
 * differ only in their low bits land in distinct slots (CRC is linear), so
 * scrambling is what makes probe runs and backward shifts happen here.
 */
static const uint8_t *many_ip(unsigned i)
{
	static uint8_t buf[4][16];
	static unsigned k;
	uint8_t *a = buf[k++ % 4];
	uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull; /* splitmix64 */

	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	x ^= x >> 31;
	memcpy(a, h_ip6("2001:db8:1::"), 16);
	for (unsigned b = 0; b < 8; b++)
		a[8 + b] = (uint8_t)(x >> (8 * b));
	a[8] &= 0xfd; /* keep clear of our own ::1 by construction: never all-zero high bits */
	a[8] |= 0x10;
	return a;
}

static void many_mac(uint8_t mac[6], unsigned i)
{
	mac[0] = 0x02;
	mac[1] = 0xcc;
	mac[2] = 0;
	mac[3] = 0;
	mac[4] = (uint8_t)(i >> 8);
	mac[5] = (uint8_t)i;
}

/* Learn ip at mac from a solicited NA: nothing is sent back, so the entry stays unused. */
static void learn_na(struct harness *h, const uint8_t *ip, const uint8_t mac[6])
{
	uint8_t msg[64];
	struct h_frame f;
	size_t n = h_nd(msg, 136, 0x60000000u, ip, 2, mac);

	nd_frame(&f, H_MAC0, ip, h_ip6("2001:db8:1::1"), 255, msg, n);
	h_rx(h, 0, &f);
	assert_int_equal(h_tx_count(h, 0), 0);
}

static void test_neigh_table_full(void **state)
{
	struct harness *h = H(state);
	struct rte_mbuf *m;
	uint8_t mac[6];
	unsigned i;

	/* Fill the table to its load bound (three quarters of 1024 slots). */
	for (i = 0; i < 768; i++) {
		many_mac(mac, i);
		h_learn6(h, 0, many_ip(i), mac);
	}
	/* A next hop needing a new entry has nowhere to wait. */
	net_ip4_output(h->w, out4("198.18.0.1", "198.18.0.2", 0));
	h_assert_drop(h, WEFT_DROP_NEIGH_TABLE_FULL);
	/* Known entries still work. */
	net_ip6_output(h->w, out6(h_ip6("2001:db8:1::1"), many_ip(500), 0));
	many_mac(mac, 500);
	m = h_tx_pop(h, 0);
	assert_memory_equal(tx_bytes(m), mac, 6);
	rte_pktmbuf_free(m);
}

static void test_neigh_many_expire(void **state)
{
	struct harness *h = H(state);
	struct weft_worker *w = h->w;
	const unsigned n = 700, used_every = 17;
	uint64_t t0 = w->now;
	unsigned n_used = 0;
	uint8_t mac[6];
	struct rte_mbuf *m;

	for (unsigned i = 0; i < n; i++) {
		many_mac(mac, i);
		learn_na(h, many_ip(i), mac);
	}
	/* Every entry resolves to its own MAC: long probe runs survived insertion. */
	for (unsigned i = 0; i < n; i += used_every) {
		net_ip6_output(w, out6(h_ip6("2001:db8:1::1"), many_ip(i), 0));
		m = h_tx_pop(h, 0);
		many_mac(mac, i);
		assert_memory_equal(tx_bytes(m), mac, 6);
		rte_pktmbuf_free(m);
		n_used++;
	}
	/* Expiry deletes the idle ones, shifting runs back, and probes the used ones. */
	w->now = t0 + 300 * H_HZ;
	net_neigh_timers(w);
	assert_int_equal(h_tx_count(h, 0), n_used);
	for (unsigned k = 0; k < n_used; k++) {
		m = h_tx_pop(h, 0);
		/* Unicast to the cached MAC, NS for the address itself (RFC 4861 7.3.3). */
		assert_int_equal(tx_bytes(m)[0], 0x02);
		assert_int_equal(tx_bytes(m)[1], 0xcc);
		assert_memory_equal(tx_bytes(m) + 14 + 24, tx_bytes(m) + 14 + 48, 16);
		assert_int_equal(tx_bytes(m)[14 + 40], 135);
		rte_pktmbuf_free(m);
	}
	/* After all the deletions, the probed entries are still found. */
	for (unsigned i = 0; i < n; i += used_every) {
		net_ip6_output(w, out6(h_ip6("2001:db8:1::1"), many_ip(i), 1));
		m = h_tx_pop(h, 0);
		many_mac(mac, i);
		assert_memory_equal(tx_bytes(m), mac, 6);
		assert_int_equal(tx_bytes(m)[14 + 40], 1);
		rte_pktmbuf_free(m);
	}
	/* And an idle one is gone: resolution starts over. */
	net_ip6_output(w, out6(h_ip6("2001:db8:1::1"), many_ip(1), 2));
	m = h_tx_pop(h, 0);
	assert_ns(m, H_MAC0, many_ip(1), NULL);
	rte_pktmbuf_free(m);
	h_assert_no_drop(h);
}

static void test_two_workers_share(void **state)
{
	struct harness *h = H(state);
	struct weft_worker *w0 = &h->workers[0], *w1 = &h->workers[1];
	uint32_t peer = h_ip4("198.18.0.2");
	struct weft_neigh_msg *msg = NULL;
	struct h_frame f;
	struct rte_mbuf *m;

	/* Worker 1 waits on resolution; the reply lands on worker 0. */
	net_ip4_output(w1, out4("198.18.0.1", "198.18.0.2", 42));
	assert_int_equal(w1->tx[0].n, 1); /* its ARP request */
	rte_pktmbuf_free(w1->tx[0].pkts[0]);
	w1->tx[0].n = 0;

	hf_arp(&f, H_MAC0, H_PEER, ARP_REP, H_PEER, peer, H_MAC0, h_ip4("198.18.0.1"));
	net_eth_input(w0, 0, hf_mbuf(&f));
	assert_int_equal(rte_ring_count(w1->neigh_in), 1);
	assert_int_equal(rte_ring_count(w0->neigh_in), 0);
	assert_int_equal(rte_ring_dequeue(w1->neigh_in, (void **)&msg), 0);
	assert_int_equal(msg->af, 4);
	assert_int_equal(msg->port, 0);
	assert_memory_equal(msg->mac, H_PEER, 6);
	assert_memory_equal(msg->ip, &peer, 4);
	net_neigh_apply(w1, msg);
	/* Worker 1's queued packet leaves with the MAC worker 0 learned. */
	assert_int_equal(w1->tx[0].n, 1);
	m = w1->tx[0].pkts[0];
	w1->tx[0].n = 0;
	assert_memory_equal(rte_pktmbuf_mtod(m, uint8_t *), H_PEER, 6);
	assert_int_equal(rte_pktmbuf_mtod(m, uint8_t *)[14 + 20], 42);
	rte_pktmbuf_free(m);
	assert_int_equal(h->ctr[1].events[WEFT_EV_NEIGH_LEARNED], 1);
	/* Applying does not echo back. */
	assert_int_equal(rte_ring_count(w0->neigh_in), 0);

	/* A repeated confirmation soon after is not re-broadcast; a changed MAC is at once. */
	net_eth_input(w0, 0, hf_mbuf(&f));
	assert_int_equal(rte_ring_count(w1->neigh_in), 0);
	hf_arp(&f, H_MAC0, H_PEER2, ARP_REP, H_PEER2, peer, H_MAC0, h_ip4("198.18.0.1"));
	net_eth_input(w0, 0, hf_mbuf(&f));
	assert_int_equal(rte_ring_count(w1->neigh_in), 1);
	/* Teardown applies what is left and checks the message pool is whole. */
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, h_setup, h_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_eth_too_short),
		T(test_eth_bad_src),
		T(test_eth_not_for_us),
		T(test_eth_unknown_type),
		T(test_eth_vlan),
		T(test_arp_request_reply),
		T(test_arp_request_port1),
		T(test_arp_reply_learns),
		T(test_arp_not_for_us),
		T(test_arp_not_for_us_merges),
		T(test_arp_gratuitous),
		T(test_arp_probe_answered),
		T(test_arp_malformed),
		T(test_arp_bad_op),
		T(test_arp_bad_sender),
		T(test_arp_eth_not_for_us),
		T(test_ip4_too_short),
		T(test_ip4_bad_version),
		T(test_ip4_bad_ihl),
		T(test_ip4_bad_checksum),
		T(test_ip4_bad_length),
		T(test_ip4_padding_trimmed),
		T(test_ip4_ttl_zero),
		T(test_ip4_options),
		T(test_ip4_fragment),
		T(test_ip4_bad_src),
		T(test_ip4_not_for_us),
		T(test_ip4_protocols),
		T(test_icmp_echo),
		T(test_icmp_echo_resolves_first),
		T(test_icmp_echo_routed),
		T(test_icmp_echo_no_route),
		T(test_icmp_bad),
		T(test_ip6_too_short),
		T(test_ip6_bad_version),
		T(test_ip6_bad_length),
		T(test_ip6_bad_src),
		T(test_ip6_not_for_us),
		T(test_ip6_ext_headers),
		T(test_ip6_protocols),
		T(test_icmp6_echo),
		T(test_icmp6_echo_link_local_resolves),
		T(test_icmp6_echo_multicast),
		T(test_icmp6_bad),
		T(test_nd_ns_multicast),
		T(test_nd_ns_unicast),
		T(test_nd_ns_without_sllao_resolves),
		T(test_nd_dad),
		T(test_nd_bad_hop_limit),
		T(test_nd_malformed),
		T(test_nd_not_for_us),
		T(test_nd_na_learning),
		T(test_nd_na_target_ours),
		T(test_out4_resolve_and_flush),
		T(test_out4_via_gateway),
		T(test_out4_no_route),
		T(test_out4_queue_bound),
		T(test_out4_timeout),
		T(test_out4_expiry),
		T(test_out4_probe_fails),
		T(test_out6_resolve),
		T(test_out6_default_gateway_timeout),
		T(test_out6_no_route),
		T(test_neigh_table_full),
		T(test_neigh_many_expire),
		cmocka_unit_test_setup_teardown(test_two_workers_share, h_setup2, h_teardown),
	};

	return cmocka_run_group_tests_name("net", tests, h_group_setup, h_group_teardown);
}
