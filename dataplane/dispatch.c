/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_ring.h>
#include <rte_thash.h>

#include "dataplane/dispatch.h"
#include "drivers/port.h"

/*
 * Hash input layout follows the Microsoft RSS specification that NICs
 * implement: source address, destination address, then source and
 * destination ports, all in network order (rte_softrss wants host-order
 * 32-bit words, hence the conversions).
 */
uint32_t weft_dispatch_pick(const struct weft_worker *w, uint16_t port, const struct rte_mbuf *m)
{
	const struct weft_port_info *pi = weft_port_info(port);
	uint32_t len = rte_pktmbuf_data_len(m);
	const uint8_t *p = rte_pktmbuf_mtod(m, const uint8_t *);
	uint32_t tuple[RTE_THASH_V6_L4_LEN];
	uint32_t words;
	uint32_t l4off;
	uint8_t proto;

	if (w->n_workers == 1 || len < sizeof(struct rte_ether_hdr))
		return UINT32_MAX;
	uint16_t et = ((const struct rte_ether_hdr *)p)->ether_type;
	p += sizeof(struct rte_ether_hdr);
	len -= sizeof(struct rte_ether_hdr);

	if (et == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
		const struct rte_ipv4_hdr *ip = (const struct rte_ipv4_hdr *)p;
		if (len < sizeof(*ip))
			return UINT32_MAX;
		tuple[0] = rte_be_to_cpu_32(ip->src_addr);
		tuple[1] = rte_be_to_cpu_32(ip->dst_addr);
		words = 2;
		proto = ip->next_proto_id;
		l4off = (ip->version_ihl & 0xf) * 4u;
		/* Fragments carry no ports past the first: hash addresses only. */
		if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))
			proto = 0;
	} else if (et == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6)) {
		const struct rte_ipv6_hdr *ip6 = (const struct rte_ipv6_hdr *)p;
		if (len < sizeof(*ip6))
			return UINT32_MAX;
		for (unsigned i = 0; i < 4; i++) {
			uint32_t s, d;
			memcpy(&s, ip6->src_addr + 4 * i, 4);
			memcpy(&d, ip6->dst_addr + 4 * i, 4);
			tuple[i] = rte_be_to_cpu_32(s);
			tuple[4 + i] = rte_be_to_cpu_32(d);
		}
		words = 8;
		proto = ip6->proto;
		l4off = sizeof(*ip6);
	} else {
		return UINT32_MAX;
	}

	if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) && len >= l4off + 4) {
		uint16_t sp, dp;
		memcpy(&sp, p + l4off, 2);
		memcpy(&dp, p + l4off + 2, 2);
		tuple[words++] = ((uint32_t)rte_be_to_cpu_16(sp) << 16) | rte_be_to_cpu_16(dp);
	}
	uint32_t h = rte_softrss(tuple, words, pi->rss_key);
	return (h % WEFT_RETA_SIZE) % w->n_workers;
}

void weft_dispatch_burst(struct weft_worker *w, uint16_t port, struct rte_mbuf **pkts, uint16_t n)
{
	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = pkts[i];
		uint32_t t = weft_dispatch_pick(w, port, m);

		if (t == UINT32_MAX || t == w->id) {
			weft_worker_input(w, port, m);
			continue;
		}
		/* The receiving worker reads the weft port index from m->port. */
		m->port = port;
		if (rte_ring_mp_enqueue(w->peers[t].inbox, m) != 0)
			weft_drop(w, m, WEFT_DROP_DISPATCH_FULL);
	}
}
