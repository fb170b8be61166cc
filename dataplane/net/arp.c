/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ARP for Ethernet and IPv4 (RFC 826): answer for our addresses, learn
 * senders, solicit next hops.
 */
#include <rte_arp.h>
#include <rte_ether.h>

#include "dataplane/net/net_priv.h"

static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/*
 * A sender protocol address no host can hold: multicast and reserved
 * (224/3, which includes 255.255.255.255) and loopback (RFC 1122 3.2.1.3).
 * 0.0.0.0 is legal: it marks an address probe (RFC 5227 2.1.1).
 */
static bool arp_sender_impossible(uint32_t sip)
{
	uint32_t a = rte_be_to_cpu_32(sip);
	return (a >> 29) == 7 || (a >> 24) == 127;
}

/*
 * Turn the request into its reply without copying (RFC 826, "Packet
 * reception": swap, fill in our hardware address, set the opcode).
 */
static void arp_reply_in_place(struct weft_worker *w, uint16_t port, struct rte_mbuf *m, struct rte_arp_hdr *ah)
{
	const struct weft_iface *ifc = net_iface(w, port);
	struct rte_arp_ipv4 *a = &ah->arp_data;
	uint32_t tip = a->arp_tip;

	a->arp_tha = a->arp_sha;
	a->arp_tip = a->arp_sip;
	memcpy(a->arp_sha.addr_bytes, ifc->mac, 6);
	a->arp_sip = tip;
	ah->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	/* Drop the Ethernet padding of the request; the NIC pads again. A failed trim only keeps it. */
	if (rte_pktmbuf_pkt_len(m) > sizeof(*ah))
		(void)rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - sizeof(*ah)));
	weft_event(w, WEFT_EV_ARP_REPLY_OUT);
	net_eth_output(w, port, m, a->arp_tha.addr_bytes, RTE_ETHER_TYPE_ARP);
}

void net_arp_input(struct weft_worker *w, uint16_t port, struct rte_mbuf *m)
{
	const struct weft_net_table *t = net_table(w);
	struct rte_arp_hdr *ah;
	const uint8_t *sha;
	uint32_t sip, tip;
	uint16_t op;
	bool ours;

	if (rte_pktmbuf_data_len(m) < sizeof(*ah)) {
		weft_drop(w, m, WEFT_DROP_ARP_MALFORMED);
		return;
	}
	ah = rte_pktmbuf_mtod(m, struct rte_arp_hdr *);
	/* Only Ethernet hardware and IPv4 protocol addresses, with their lengths, are ours to answer. */
	if (ah->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    ah->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) || ah->arp_hlen != RTE_ETHER_ADDR_LEN ||
	    ah->arp_plen != sizeof(uint32_t)) {
		weft_drop(w, m, WEFT_DROP_ARP_MALFORMED);
		return;
	}
	op = rte_be_to_cpu_16(ah->arp_opcode);
	if (op != RTE_ARP_OP_REQUEST && op != RTE_ARP_OP_REPLY) {
		weft_drop(w, m, WEFT_DROP_ARP_BAD_OP);
		return;
	}
	sha = ah->arp_data.arp_sha.addr_bytes;
	sip = ah->arp_data.arp_sip;
	tip = ah->arp_data.arp_tip;
	/*
	 * Never cache a group or zero MAC, nor a mapping for an address no
	 * neighbour can own. A sender claiming one of our addresses is either
	 * a conflict or a spoof; neither may touch the table.
	 */
	if (net_mac_is_group(sha) || net_mac_is_zero(sha) || arp_sender_impossible(sip) ||
	    net_local4_any(t, sip)) {
		weft_drop(w, m, WEFT_DROP_ARP_BAD_SENDER);
		return;
	}
	ours = weft_net_local4(t, port, tip) != NULL;

	if (sip == 0) {
		/*
		 * Address probe (RFC 5227 2.1.1): answer so the prober sees the
		 * address is taken; its sender has no address yet to learn. The
		 * reply goes to the prober's MAC with target 0.0.0.0.
		 */
		if (!ours || op != RTE_ARP_OP_REQUEST) {
			weft_drop(w, m, WEFT_DROP_ARP_NOT_FOR_US);
			return;
		}
		weft_event(w, WEFT_EV_ARP_REQUEST_IN);
		arp_reply_in_place(w, port, m, ah);
		return;
	}

	if (sip == tip) {
		/*
		 * Gratuitous ARP or announcement (RFC 5227 3): refresh a mapping we
		 * already hold (a failover moved the address to another MAC) but
		 * never create one, so a flood of announcements cannot fill the
		 * table.
		 */
		net_neigh_learn(w, NET_AF4, port, &sip, sha, NEIGH_F_OVERRIDE);
		weft_event(w, WEFT_EV_ARP_GRATUITOUS_IN);
		rte_pktmbuf_free(m);
		return;
	}

	if (!ours) {
		/* RFC 826 merge step: an entry for the sender is updated whatever the target. */
		net_neigh_learn(w, NET_AF4, port, &sip, sha, NEIGH_F_OVERRIDE);
		weft_drop(w, m, WEFT_DROP_ARP_NOT_FOR_US);
		return;
	}

	/*
	 * Addressed to us: the sender wants to talk to us (request) or answers
	 * our request (reply, possibly solicited by another worker), so either
	 * way the mapping is fresh and worth creating.
	 */
	net_neigh_learn(w, NET_AF4, port, &sip, sha, NEIGH_F_CREATE | NEIGH_F_CONFIRM | NEIGH_F_OVERRIDE);
	if (op == RTE_ARP_OP_REPLY) {
		weft_event(w, WEFT_EV_ARP_REPLY_IN);
		rte_pktmbuf_free(m);
		return;
	}
	weft_event(w, WEFT_EV_ARP_REQUEST_IN);
	arp_reply_in_place(w, port, m, ah);
}

void net_arp_solicit(struct weft_worker *w, uint16_t port, uint32_t target, const uint8_t *dst_mac)
{
	const struct weft_iface *ifc = net_iface(w, port);
	struct rte_arp_hdr *ah;
	struct rte_mbuf *m;

	if (ifc == NULL)
		return;
	m = rte_pktmbuf_alloc(w->pool);
	if (m == NULL) {
		WEFT_CTR_ADD(w->ctr->drops[WEFT_DROP_NO_MBUF], 1);
		return;
	}
	ah = (struct rte_arp_hdr *)rte_pktmbuf_append(m, sizeof(*ah));
	if (ah == NULL) {
		rte_pktmbuf_free(m);
		WEFT_CTR_ADD(w->ctr->drops[WEFT_DROP_NO_MBUF], 1);
		return;
	}
	ah->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	ah->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ah->arp_hlen = RTE_ETHER_ADDR_LEN;
	ah->arp_plen = sizeof(uint32_t);
	ah->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	memcpy(ah->arp_data.arp_sha.addr_bytes, ifc->mac, 6);
	ah->arp_data.arp_sip = weft_net_src4(net_table(w), port, target);
	/* Unknown target hardware address: zero, as RFC 5227 2.1.1 asks of every request. */
	memset(ah->arp_data.arp_tha.addr_bytes, 0, 6);
	ah->arp_data.arp_tip = target;
	weft_event(w, WEFT_EV_ARP_REQUEST_OUT);
	net_eth_output(w, port, m, dst_mac != NULL ? dst_mac : bcast_mac, RTE_ETHER_TYPE_ARP);
}
