/* SPDX-License-Identifier: GPL-2.0-or-later */
/* ICMP (RFC 792): answer echo requests for our addresses; count the rest. */
#include <rte_icmp.h>
#include <rte_ip.h>

#include "dataplane/net/net_priv.h"

void net_icmp4_input(struct weft_worker *w, uint16_t port, struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	const uint32_t off = sizeof(*ip); /* options were refused below */
	uint32_t len = rte_pktmbuf_pkt_len(m) - off; /* the IPv4 layer trimmed to total length */
	struct rte_icmp_hdr *ic;
	uint16_t sum, old_word, new_word;
	uint32_t src;

	if (len < sizeof(*ic) || rte_pktmbuf_data_len(m) < off + sizeof(*ic)) {
		weft_drop(w, m, WEFT_DROP_ICMP_TOO_SHORT);
		return;
	}
	ic = rte_pktmbuf_mtod_offset(m, struct rte_icmp_hdr *, off);
	/* The checksum covers the whole message, data included (RFC 792). */
	if (rte_raw_cksum_mbuf(m, off, len, &sum) < 0 || sum != 0xffff) {
		weft_drop(w, m, WEFT_DROP_ICMP_BAD_CHECKSUM);
		return;
	}
	/*
	 * Only echo is answered. Destination unreachable ("fragmentation
	 * needed", RFC 1191) is where the TCP stack will hook path MTU.
	 */
	if (ic->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || ic->icmp_code != 0) {
		weft_drop(w, m, WEFT_DROP_ICMP_UNHANDLED_TYPE);
		return;
	}
	weft_event(w, WEFT_EV_ICMP_ECHO_IN);

	/*
	 * RFC 1122 3.2.2.6: the reply returns the data unchanged with the
	 * addresses swapped. Only the type changes in the ICMP message, so
	 * the checksum is patched (RFC 1624) instead of summing the payload
	 * again; ICMP has no pseudo-header, so the address swap is free.
	 */
	memcpy(&old_word, ic, sizeof(old_word));
	ic->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	memcpy(&new_word, ic, sizeof(new_word));
	ic->icmp_cksum = net_cksum_adjust(ic->icmp_cksum, old_word, new_word);

	src = ip->src_addr;
	ip->src_addr = ip->dst_addr;
	ip->dst_addr = src;
	ip->time_to_live = NET_IP4_TTL;
	/* Received offload flags mean nothing for the reply. */
	m->ol_flags &= ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK);
	weft_event(w, WEFT_EV_ICMP_ECHO_OUT);
	/* Routed like any packet we originate: the path back need not be the way in. */
	net_ip4_output(w, m);
	(void)port;
}
