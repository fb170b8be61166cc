/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Ethernet: decide whether a frame is for us and which protocol gets it;
 * prepend the header on the way out.
 */
#include <rte_ether.h>

#include "dataplane/net/net_priv.h"

static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* 33:33:00:00:00:01 (all-nodes) or the MAC of one of our solicited-node groups (RFC 2464 7). */
static bool ip6_group_joined(const struct weft_iface *ifc, const uint8_t dst[6])
{
	if (dst[0] != 0x33 || dst[1] != 0x33)
		return false;
	if (dst[2] == 0 && dst[3] == 0 && dst[4] == 0 && dst[5] == 1)
		return true;
	if (dst[2] != 0xff)
		return false;
	for (unsigned i = 0; i < ifc->n_ip6; i++)
		if (memcmp(&ifc->ip6[i][13], dst + 3, 3) == 0)
			return true;
	return false;
}

void net_eth_input(struct weft_worker *w, uint16_t port, struct rte_mbuf *m)
{
	const struct weft_iface *ifc = net_iface(w, port);
	const struct rte_ether_hdr *eh;
	const uint8_t *dst, *src;
	uint16_t type;
	bool unicast;

	if (rte_pktmbuf_data_len(m) < sizeof(*eh)) {
		weft_drop(w, m, WEFT_DROP_ETH_TOO_SHORT);
		return;
	}
	eh = rte_pktmbuf_mtod(m, const struct rte_ether_hdr *);
	dst = eh->dst_addr.addr_bytes;
	src = eh->src_addr.addr_bytes;
	/* IEEE 802: a group address is never a source. */
	if (net_mac_is_group(src)) {
		weft_drop(w, m, WEFT_DROP_ETH_BAD_SRC);
		return;
	}
	/* A port missing from the current snapshot has no MAC we answer to. */
	if (ifc == NULL) {
		weft_drop(w, m, WEFT_DROP_ETH_NOT_FOR_US);
		return;
	}
	/* A NIC that strips tags on receive leaves the VLAN id in the mbuf instead. */
	if ((m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) && (m->vlan_tci & 0xfff) != 0) {
		weft_drop(w, m, WEFT_DROP_ETH_VLAN);
		return;
	}
	unicast = memcmp(dst, ifc->mac, 6) == 0;
	type = rte_be_to_cpu_16(eh->ether_type);

	switch (type) {
	case RTE_ETHER_TYPE_IPV4:
		/*
		 * Unicast only: weft joins no IPv4 group and accepts no IP
		 * broadcast, and RFC 1122 3.3.6 has a host discard link-layer
		 * broadcasts that do not carry an IP broadcast or multicast.
		 */
		if (!unicast)
			goto not_for_us;
		rte_pktmbuf_adj(m, sizeof(*eh));
		net_ip4_input(w, port, m);
		return;
	case RTE_ETHER_TYPE_ARP:
		if (!unicast && memcmp(dst, bcast_mac, 6) != 0)
			goto not_for_us;
		rte_pktmbuf_adj(m, sizeof(*eh));
		net_arp_input(w, port, m);
		return;
	case RTE_ETHER_TYPE_IPV6:
		/* IPv6 never uses the broadcast MAC (RFC 2464 7). */
		if (!unicast && !ip6_group_joined(ifc, dst))
			goto not_for_us;
		rte_pktmbuf_adj(m, sizeof(*eh));
		net_ip6_input(w, port, m);
		return;
	case RTE_ETHER_TYPE_VLAN:
	case RTE_ETHER_TYPE_QINQ:
	case RTE_ETHER_TYPE_QINQ1:
	case RTE_ETHER_TYPE_QINQ2:
	case RTE_ETHER_TYPE_QINQ3:
		/* Ports are untagged; a tag means a trunk was plugged in by mistake. */
		weft_drop(w, m, WEFT_DROP_ETH_VLAN);
		return;
	default:
		/* Values below 0x0600 are 802.3 lengths (LLC, STP): not ours either. */
		weft_drop(w, m, WEFT_DROP_ETH_UNKNOWN_TYPE);
		return;
	}

not_for_us:
	weft_drop(w, m, WEFT_DROP_ETH_NOT_FOR_US);
}

void net_eth_output(struct weft_worker *w, uint16_t port, struct rte_mbuf *m, const uint8_t dst[6],
		    uint16_t ethertype)
{
	const struct weft_iface *ifc = net_iface(w, port);
	struct rte_ether_hdr *eh;

	/* A reload may remove a port while packets for it wait on resolution. */
	if (ifc == NULL) {
		weft_drop(w, m, ethertype == RTE_ETHER_TYPE_IPV6 ? WEFT_DROP_IP6_NO_ROUTE : WEFT_DROP_IP4_NO_ROUTE);
		return;
	}
	eh = (struct rte_ether_hdr *)rte_pktmbuf_prepend(m, sizeof(*eh));
	if (eh == NULL) {
		/* Only a caller that reserved no headroom gets here. */
		weft_drop(w, m, WEFT_DROP_NO_MBUF);
		return;
	}
	memcpy(eh->dst_addr.addr_bytes, dst, 6);
	memcpy(eh->src_addr.addr_bytes, ifc->mac, 6);
	eh->ether_type = rte_cpu_to_be_16(ethertype);
	m->l2_len = sizeof(*eh);
	weft_tx(w, port, m);
}
