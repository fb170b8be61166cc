/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * IPv6 input validation and delivery (RFC 8200), output through the route
 * table or out of a given port.
 */
#include <netinet/in.h>

#include <rte_ip.h>

#include "dataplane/net/net_priv.h"
#include "dataplane/tcp/tcp.h"

const uint8_t net_ip6_all_nodes[16] = {0xff, 0x02, [15] = 0x01};

bool net_local6_any(const struct weft_net_table *t, const uint8_t a[16])
{
	for (unsigned p = 0; p < t->n_ifaces; p++)
		if (weft_net_local6(t, (uint16_t)p, a) != NULL)
			return true;
	return false;
}

/*
 * Sources no packet may carry: multicast (RFC 4291 2.7), loopback (2.5.3,
 * never leaves a node), IPv4-mapped (2.5.5.2, a stack-internal form) and our
 * own addresses (a loop or a spoof). The unspecified address is judged by
 * the caller: only duplicate address detection may use it.
 */
static bool ip6_src_bad(const struct weft_net_table *t, const uint8_t a[16])
{
	static const uint8_t loopback[16] = {[15] = 1};
	static const uint8_t v4mapped[12] = {[10] = 0xff, [11] = 0xff};

	return net_ip6_is_multicast(a) || memcmp(a, loopback, 16) == 0 || memcmp(a, v4mapped, 12) == 0 ||
	       net_local6_any(t, a);
}

/* Extension headers (RFC 7045 list, RFC 8200 4) other than the fragment header. */
static bool ip6_is_ext_header(uint8_t nh)
{
	switch (nh) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_DSTOPTS:
	case IPPROTO_ESP:
	case IPPROTO_AH:
	case 135: /* mobility (RFC 6275) */
	case 139: /* HIP (RFC 7401) */
	case 140: /* shim6 (RFC 5533) */
	case 253: /* experimentation (RFC 3692) */
	case 254:
		return true;
	default:
		return false;
	}
}

void net_ip6_input(struct weft_worker *w, uint16_t port, struct rte_mbuf *m)
{
	const struct weft_net_table *t = net_table(w);
	struct rte_ipv6_hdr *ip;
	uint32_t plen;

	if (rte_pktmbuf_data_len(m) < sizeof(*ip)) {
		weft_drop(w, m, WEFT_DROP_IP6_TOO_SHORT);
		return;
	}
	ip = rte_pktmbuf_mtod(m, struct rte_ipv6_hdr *);
	if ((rte_be_to_cpu_32(ip->vtc_flow) >> 28) != 6) {
		weft_drop(w, m, WEFT_DROP_IP6_BAD_VERSION);
		return;
	}
	plen = rte_be_to_cpu_16(ip->payload_len);
	if (sizeof(*ip) + plen > rte_pktmbuf_pkt_len(m)) {
		weft_drop(w, m, WEFT_DROP_IP6_BAD_LENGTH);
		return;
	}
	/* Anything past the payload is Ethernet padding. */
	if (sizeof(*ip) + plen < rte_pktmbuf_pkt_len(m) &&
	    rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - sizeof(*ip) - plen)) < 0) {
		weft_drop(w, m, WEFT_DROP_IP6_BAD_LENGTH);
		return;
	}
	/*
	 * The unspecified source is legal only in a neighbour solicitation
	 * for duplicate address detection (RFC 4291 2.5.2, RFC 4861 7.2.2);
	 * ICMPv6 checks the type once it has validated the message.
	 */
	if (net_ip6_is_unspecified(ip->src_addr) ? ip->proto != IPPROTO_ICMPV6 : ip6_src_bad(t, ip->src_addr)) {
		weft_drop(w, m, WEFT_DROP_IP6_BAD_SRC);
		return;
	}
	/* Ours on this port (strong host model), all-nodes, or one of our solicited-node groups. */
	if (weft_net_local6(t, port, ip->dst_addr) == NULL && memcmp(ip->dst_addr, net_ip6_all_nodes, 16) != 0 &&
	    !weft_net_solicited6(t, port, ip->dst_addr)) {
		weft_drop(w, m, WEFT_DROP_IP6_NOT_FOR_US);
		return;
	}
	if (ip->proto == IPPROTO_FRAGMENT) {
		weft_drop(w, m, WEFT_DROP_IP6_FRAGMENT);
		return;
	}
	/*
	 * Extension headers are refused rather than skipped: routing headers
	 * have a history of abuse (RFC 5095), hop-by-hop options are a known
	 * slow path, and nothing weft serves needs them.
	 */
	if (ip6_is_ext_header(ip->proto)) {
		weft_drop(w, m, WEFT_DROP_IP6_EXT_HEADER);
		return;
	}

	m->l3_len = sizeof(*ip);
	switch (ip->proto) {
	case IPPROTO_ICMPV6:
		net_icmp6_input(w, port, m);
		return;
	case IPPROTO_TCP: {
		/* The TCP stack takes m at the TCP header; it refuses multicast destinations. */
		struct weft_ip src = {.af = 6}, dst = {.af = 6};
		memcpy(src.v6, ip->src_addr, 16);
		memcpy(dst.v6, ip->dst_addr, 16);
		rte_pktmbuf_adj(m, sizeof(*ip));
		tcp_input(w, port, m, &src, &dst);
		return;
	}
	case IPPROTO_UDP:
		/* Hook for UDP, same contract as TCP above. */
		weft_drop(w, m, WEFT_DROP_UDP_NO_LISTENER);
		return;
	default:
		/* 59 (no next header) lands here too: there is nothing to deliver. */
		weft_drop(w, m, WEFT_DROP_IP6_UNKNOWN_PROTO);
		return;
	}
}

void net_ip6_output_port(struct weft_worker *w, uint16_t port, struct rte_mbuf *m)
{
	struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv6_hdr *);
	uint8_t mac[6];

	m->l3_len = sizeof(*ip);
	if (net_ip6_is_multicast(ip->dst_addr)) {
		net_ip6_mcast_mac(mac, ip->dst_addr);
		net_eth_output(w, port, m, mac, RTE_ETHER_TYPE_IPV6);
		return;
	}
	net_neigh_output(w, port, NET_AF6, ip->dst_addr, m);
}

void net_ip6_output(struct weft_worker *w, struct rte_mbuf *m)
{
	struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv6_hdr *);
	const struct weft_route6 *r;

	/*
	 * A multicast destination has no route and no single port: the only
	 * multicast weft sends is neighbour discovery, which knows its port.
	 */
	if (net_ip6_is_multicast(ip->dst_addr)) {
		weft_drop(w, m, WEFT_DROP_IP6_NO_ROUTE);
		return;
	}
	r = weft_route6_lookup(net_table(w), ip->dst_addr);
	if (r == NULL) {
		weft_drop(w, m, WEFT_DROP_IP6_NO_ROUTE);
		return;
	}
	m->l3_len = sizeof(*ip);
	net_neigh_output(w, r->port, NET_AF6, r->on_link ? ip->dst_addr : r->gateway, m);
}
