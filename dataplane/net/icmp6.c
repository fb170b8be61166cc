/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ICMPv6 (RFC 4443): echo, and neighbour discovery (RFC 4861): answer
 * solicitations for our addresses, learn from solicitations and
 * advertisements, solicit next hops.
 */
#include <netinet/in.h>

#include <rte_ip.h>

#include "dataplane/net/net_priv.h"

#define ND_MSG_LEN ((uint32_t)sizeof(struct net_nd_msg))
#define ND_LLA_MSG_LEN (ND_MSG_LEN + (uint32_t)sizeof(struct net_nd_opt_lla))

/* Checksum over the pseudo-header (RFC 4443 2.3, RFC 8200 8.1). No extension headers reach here. */
static void icmp6_set_cksum(struct rte_mbuf *m, struct rte_ipv6_hdr *ip)
{
	struct net_icmp6_hdr *ic = rte_pktmbuf_mtod_offset(m, struct net_icmp6_hdr *, sizeof(*ip));

	ic->cksum = 0;
	ic->cksum = rte_ipv6_udptcp_cksum_mbuf(m, ip, sizeof(*ip));
}

static void ip6_hdr_init(struct rte_ipv6_hdr *ip, uint16_t payload_len, uint8_t hop_limit)
{
	/* Traffic class and flow label zero: these are fresh packets, not a flow (RFC 6437 3). */
	ip->vtc_flow = rte_cpu_to_be_32(UINT32_C(6) << 28);
	ip->payload_len = rte_cpu_to_be_16(payload_len);
	ip->proto = IPPROTO_ICMPV6;
	ip->hop_limits = hop_limit;
}

/*
 * Walk the options (RFC 4861 4.6): each has a non-zero length and lies
 * within the message (7.1.1, 7.1.2). *lla receives the MAC of the first
 * link-layer address option of type want, or NULL. Options of other types
 * are skipped, as 4.6 requires of unknown ones.
 */
static bool nd_options(const uint8_t *opt, uint32_t len, uint8_t want, const uint8_t **lla)
{
	*lla = NULL;
	while (len > 0) {
		uint32_t olen;

		if (len < 2)
			return false;
		olen = opt[1] * 8u;
		if (olen == 0 || olen > len)
			return false;
		/* Ethernet addresses fill exactly one 8-octet unit (RFC 2464 8). */
		if (opt[0] == want && olen == 8 && *lla == NULL)
			*lla = opt + 2;
		opt += olen;
		len -= olen;
	}
	return true;
}

static void icmp6_echo(struct weft_worker *w, uint16_t port, struct rte_mbuf *m, uint32_t len)
{
	struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv6_hdr *);
	struct net_icmp6_hdr *ic = rte_pktmbuf_mtod_offset(m, struct net_icmp6_hdr *, sizeof(*ip));
	uint8_t src[16];

	if (len < sizeof(*ic) || rte_pktmbuf_data_len(m) < sizeof(*ip) + sizeof(*ic)) {
		weft_drop(w, m, WEFT_DROP_ICMP6_TOO_SHORT);
		return;
	}
	if (ic->code != 0) {
		weft_drop(w, m, WEFT_DROP_ICMP6_UNHANDLED_TYPE);
		return;
	}
	weft_event(w, WEFT_EV_ICMP6_ECHO_IN);

	/*
	 * RFC 4443 4.2: a request to a multicast group is answered from a
	 * unicast address of the receiving interface; otherwise from the
	 * address it was sent to.
	 */
	if (net_ip6_is_multicast(ip->dst_addr))
		weft_net_src6(net_table(w), port, ip->src_addr, src);
	else
		memcpy(src, ip->dst_addr, 16);
	memcpy(ip->dst_addr, ip->src_addr, 16);
	memcpy(ip->src_addr, src, 16);
	ip6_hdr_init(ip, (uint16_t)len, NET_IP6_HOP_LIMIT);
	ic->type = NET_ICMP6_ECHO_REPLY;
	/* The source may have changed, so the pseudo-header sum is redone, not patched. */
	icmp6_set_cksum(m, ip);
	m->ol_flags &= ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK);
	weft_event(w, WEFT_EV_ICMP6_ECHO_OUT);
	/* A link-local address on either end pins the reply to the link it came from (RFC 4291 2.5.6). */
	if (net_ip6_is_link_local(ip->dst_addr) || net_ip6_is_link_local(ip->src_addr))
		net_ip6_output_port(w, port, m);
	else
		net_ip6_output(w, m);
}

/*
 * Validation common to NS and NA (RFC 4861 7.1.1, 7.1.2). Returns the drop
 * reason, or WEFT_DROP_MAX when the message is acceptable.
 */
static enum weft_drop nd_validate(const struct rte_mbuf *m, uint32_t len, uint8_t opt_type, const uint8_t **lla)
{
	const struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv6_hdr *);
	const struct net_nd_msg *nd;

	/* 255 proves the sender is on our link: no router decremented it. */
	if (ip->hop_limits != NET_IP6_HOP_LIMIT_ND)
		return WEFT_DROP_ND_BAD_HOP_LIMIT;
	/* The whole message in one piece, so the options can be walked and rewritten. */
	if (len < ND_MSG_LEN || !rte_pktmbuf_is_contiguous(m))
		return WEFT_DROP_ND_MALFORMED;
	nd = rte_pktmbuf_mtod_offset(m, const struct net_nd_msg *, sizeof(*ip));
	if (nd->code != 0 || net_ip6_is_multicast(nd->target))
		return WEFT_DROP_ND_MALFORMED;
	if (!nd_options((const uint8_t *)(nd + 1), len - ND_MSG_LEN, opt_type, lla))
		return WEFT_DROP_ND_MALFORMED;
	return WEFT_DROP_MAX;
}

/*
 * Answer a solicitation for one of our addresses (RFC 4861 7.2.4), turning
 * the NS into the NA in place: same buffer, same port.
 */
static void nd_advertise(struct weft_worker *w, uint16_t port, struct rte_mbuf *m, uint32_t len)
{
	const struct weft_iface *ifc = net_iface(w, port);
	struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv6_hdr *);
	struct net_nd_msg *nd = rte_pktmbuf_mtod_offset(m, struct net_nd_msg *, sizeof(*ip));
	struct net_nd_opt_lla *opt = (struct net_nd_opt_lla *)(nd + 1);
	bool dad = net_ip6_is_unspecified(ip->src_addr);

	/* Exactly the header and one target link-layer option: drop whatever options the NS had. */
	if (len < ND_LLA_MSG_LEN) {
		if (rte_pktmbuf_append(m, (uint16_t)(ND_LLA_MSG_LEN - len)) == NULL) {
			weft_drop(w, m, WEFT_DROP_NO_MBUF);
			return;
		}
	} else if (len > ND_LLA_MSG_LEN) {
		rte_pktmbuf_trim(m, (uint16_t)(len - ND_LLA_MSG_LEN));
	}

	/*
	 * A solicitation from the unspecified address is duplicate address
	 * detection: tell everyone, unsolicited. Otherwise answer the
	 * solicitor, solicited. Override is set because the target is a
	 * unicast address of ours, not anycast; Router is clear (we do not
	 * route). The target option is included always: required for
	 * multicast solicitations, recommended for unicast ones.
	 */
	nd->type = NET_ND_NA;
	nd->code = 0;
	nd->flags = rte_cpu_to_be_32((dad ? 0 : NET_NA_F_SOLICITED) | NET_NA_F_OVERRIDE);
	opt->type = NET_ND_OPT_TLLA;
	opt->len = 1;
	memcpy(opt->mac, ifc->mac, 6);

	memcpy(ip->dst_addr, dad ? net_ip6_all_nodes : ip->src_addr, 16);
	memcpy(ip->src_addr, nd->target, 16);
	ip6_hdr_init(ip, ND_LLA_MSG_LEN, NET_IP6_HOP_LIMIT_ND);
	icmp6_set_cksum(m, ip);
	m->ol_flags &= ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK);
	weft_event(w, WEFT_EV_ND_NA_OUT);
	/* Unicast replies go through the neighbour table: without a source option we resolve first. */
	net_ip6_output_port(w, port, m);
}

static void nd_ns_input(struct weft_worker *w, uint16_t port, struct rte_mbuf *m, uint32_t len)
{
	const struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv6_hdr *);
	const struct net_nd_msg *nd;
	const uint8_t *sll;
	enum weft_drop why = nd_validate(m, len, NET_ND_OPT_SLLA, &sll);

	if (why != WEFT_DROP_MAX) {
		weft_drop(w, m, why);
		return;
	}
	nd = rte_pktmbuf_mtod_offset(m, const struct net_nd_msg *, sizeof(*ip));
	/* DAD probes go to the target's solicited-node group and carry no source option (7.1.1). */
	if (net_ip6_is_unspecified(ip->src_addr)) {
		uint8_t group[16];
		net_ip6_solicited_node(group, nd->target);
		if (memcmp(ip->dst_addr, group, 16) != 0 || sll != NULL) {
			weft_drop(w, m, WEFT_DROP_ND_MALFORMED);
			return;
		}
	}
	if (weft_net_local6(net_table(w), port, nd->target) == NULL) {
		weft_drop(w, m, WEFT_DROP_ND_NOT_FOR_US);
		return;
	}
	weft_event(w, WEFT_EV_ND_NS_IN);
	/* 7.2.3: the solicitor's address, when it gives one, is cached so the answer needs no resolution. */
	if (sll != NULL && !net_mac_is_group(sll) && !net_mac_is_zero(sll))
		net_neigh_learn(w, NET_AF6, port, ip->src_addr, sll, NEIGH_F_CREATE | NEIGH_F_OVERRIDE);
	nd_advertise(w, port, m, len);
}

static void nd_na_input(struct weft_worker *w, uint16_t port, struct rte_mbuf *m, uint32_t len)
{
	const struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv6_hdr *);
	const struct net_nd_msg *nd;
	const uint8_t *tll;
	enum weft_drop why = nd_validate(m, len, NET_ND_OPT_TLLA, &tll);
	unsigned flags = 0;
	uint32_t na;

	if (why != WEFT_DROP_MAX) {
		weft_drop(w, m, why);
		return;
	}
	nd = rte_pktmbuf_mtod_offset(m, const struct net_nd_msg *, sizeof(*ip));
	na = rte_be_to_cpu_32(nd->flags);
	/* 7.1.2: a multicast advertisement cannot be a solicited one. */
	if (net_ip6_is_multicast(ip->dst_addr) && (na & NET_NA_F_SOLICITED)) {
		weft_drop(w, m, WEFT_DROP_ND_MALFORMED);
		return;
	}
	/* Someone else answers for one of our addresses: a duplicate (RFC 4862 5.4.4), never cached. */
	if (net_local6_any(net_table(w), nd->target)) {
		weft_drop(w, m, WEFT_DROP_ND_TARGET_OURS);
		return;
	}
	if (tll != NULL && (net_mac_is_group(tll) || net_mac_is_zero(tll))) {
		weft_drop(w, m, WEFT_DROP_ND_MALFORMED);
		return;
	}
	weft_event(w, WEFT_EV_ND_NA_IN);
	/*
	 * 7.2.5. A solicited advertisement confirms reachability. Unlike the
	 * RFC, it also creates a missing entry: with share-nothing workers the
	 * solicitation may have left from another worker, which learns the
	 * answer through our broadcast. Unsolicited ones only update.
	 */
	if (na & NET_NA_F_SOLICITED)
		flags |= NEIGH_F_CREATE | NEIGH_F_CONFIRM;
	if (na & NET_NA_F_OVERRIDE)
		flags |= NEIGH_F_OVERRIDE;
	if (tll != NULL || (flags & NEIGH_F_CONFIRM))
		net_neigh_learn(w, NET_AF6, port, nd->target, tll, flags);
	rte_pktmbuf_free(m);
}

void net_icmp6_input(struct weft_worker *w, uint16_t port, struct rte_mbuf *m)
{
	struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv6_hdr *);
	uint32_t len = rte_pktmbuf_pkt_len(m) - sizeof(*ip); /* the IPv6 layer trimmed to payload length */
	const struct net_icmp6_hdr *ic;

	/* Type, code and checksum at least. */
	if (len < 4 || rte_pktmbuf_data_len(m) < sizeof(*ip) + 4) {
		weft_drop(w, m, WEFT_DROP_ICMP6_TOO_SHORT);
		return;
	}
	if (rte_ipv6_udptcp_cksum_mbuf_verify(m, ip, sizeof(*ip)) != 0) {
		weft_drop(w, m, WEFT_DROP_ICMP6_BAD_CHECKSUM);
		return;
	}
	ic = rte_pktmbuf_mtod_offset(m, const struct net_icmp6_hdr *, sizeof(*ip));
	if (net_ip6_is_unspecified(ip->src_addr) && ic->type != NET_ND_NS) {
		weft_drop(w, m, WEFT_DROP_IP6_BAD_SRC);
		return;
	}
	switch (ic->type) {
	case NET_ICMP6_ECHO_REQUEST:
		icmp6_echo(w, port, m, len);
		return;
	case NET_ND_NS:
		nd_ns_input(w, port, m, len);
		return;
	case NET_ND_NA:
		nd_na_input(w, port, m, len);
		return;
	default:
		/*
		 * Router advertisements, MLD queries, echo replies, errors.
		 * Packet Too Big (type 2) is where the TCP stack will hook path
		 * MTU discovery (RFC 8201).
		 */
		weft_drop(w, m, WEFT_DROP_ICMP6_UNHANDLED_TYPE);
		return;
	}
}

void net_nd_solicit(struct weft_worker *w, uint16_t port, const uint8_t target[16], const uint8_t *dst_mac)
{
	const struct weft_iface *ifc = net_iface(w, port);
	struct rte_ipv6_hdr *ip;
	struct net_nd_msg *nd;
	struct net_nd_opt_lla *opt;
	struct rte_mbuf *m;
	uint8_t mac[6];

	if (ifc == NULL)
		return;
	m = rte_pktmbuf_alloc(w->pool);
	if (m == NULL) {
		WEFT_CTR_ADD(w->ctr->drops[WEFT_DROP_NO_MBUF], 1);
		return;
	}
	ip = (struct rte_ipv6_hdr *)rte_pktmbuf_append(m, sizeof(*ip) + ND_LLA_MSG_LEN);
	if (ip == NULL) {
		rte_pktmbuf_free(m);
		WEFT_CTR_ADD(w->ctr->drops[WEFT_DROP_NO_MBUF], 1);
		return;
	}
	nd = (struct net_nd_msg *)(ip + 1);
	opt = (struct net_nd_opt_lla *)(nd + 1);

	ip6_hdr_init(ip, ND_LLA_MSG_LEN, NET_IP6_HOP_LIMIT_ND);
	weft_net_src6(net_table(w), port, target, ip->src_addr);
	/* 7.2.2: resolution asks the solicited-node group; re-validation (7.3.3) asks the neighbour. */
	if (dst_mac != NULL) {
		memcpy(ip->dst_addr, target, 16);
		memcpy(mac, dst_mac, 6);
	} else {
		net_ip6_solicited_node(ip->dst_addr, target);
		net_ip6_mcast_mac(mac, ip->dst_addr);
	}
	nd->type = NET_ND_NS;
	nd->code = 0;
	nd->flags = 0;
	memcpy(nd->target, target, 16);
	/* 4.3: the source option is required in multicast solicitations; we always send it. */
	opt->type = NET_ND_OPT_SLLA;
	opt->len = 1;
	memcpy(opt->mac, ifc->mac, 6);
	icmp6_set_cksum(m, ip);
	weft_event(w, WEFT_EV_ND_NS_OUT);
	net_eth_output(w, port, m, mac, RTE_ETHER_TYPE_IPV6);
}
