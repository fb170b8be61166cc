/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * IPv4 input validation and delivery, and output through the route table.
 *
 * Input checks follow RFC 1812 5.2.2 (the link-layer length, version, header
 * length, checksum and total length), then the host rules of RFC 1122 3.2.1
 * for what weft, an endpoint, accepts. The order is the order of the checks
 * below: the first failing one names the drop.
 */
#include <netinet/in.h>

#include <rte_ip.h>

#include "dataplane/net/net_priv.h"
#include "dataplane/tcp/tcp.h"

bool net_local4_any(const struct weft_net_table *t, uint32_t a)
{
	for (unsigned p = 0; p < t->n_ifaces; p++)
		for (unsigned i = 0; i < t->ifaces[p].n_ip4; i++)
			if (t->ifaces[p].ip4[i] == a)
				return true;
	return false;
}

/*
 * Sources no datagram may carry (RFC 1122 3.2.1.3, RFC 1812 5.3.7):
 * 0/8 ("this network", only legal while a host boots, which weft never
 * serves), loopback 127/8, multicast 224/4 and reserved 240/4 (with the
 * limited broadcast), a directed broadcast of one of our subnets, and our
 * own addresses (a loop or a spoof).
 */
static bool ip4_src_bad(const struct weft_net_table *t, uint32_t src)
{
	uint32_t a = rte_be_to_cpu_32(src);

	if ((a >> 24) == 0 || (a >> 24) == 127 || (a >> 28) >= 14)
		return true;
	for (unsigned p = 0; p < t->n_ifaces; p++) {
		const struct weft_iface *ifc = &t->ifaces[p];
		for (unsigned i = 0; i < ifc->n_ip4; i++) {
			unsigned plen = ifc->ip4_prefixlen[i];
			if (ifc->ip4[i] == src)
				return true;
			/* /31 and /32 have no broadcast address (RFC 3021). */
			if (plen < 31) {
				uint32_t host = UINT32_MAX >> plen;
				if ((a & ~host) == (rte_be_to_cpu_32(ifc->ip4[i]) & ~host) && (a & host) == host)
					return true;
			}
		}
	}
	return false;
}

/* Header checksum: trust the NIC when it looked, else verify in software. */
static bool ip4_cksum_ok(const struct rte_mbuf *m, const struct rte_ipv4_hdr *ip, unsigned hlen)
{
	switch (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) {
	case RTE_MBUF_F_RX_IP_CKSUM_GOOD:
	case RTE_MBUF_F_RX_IP_CKSUM_NONE: /* header verified by the device, field left stale */
		return true;
	case RTE_MBUF_F_RX_IP_CKSUM_BAD:
		return false;
	default:
		/* A correct header sums to all ones (RFC 1071 1). */
		return rte_raw_cksum(ip, hlen) == 0xffff;
	}
}

void net_ip4_input(struct weft_worker *w, uint16_t port, struct rte_mbuf *m)
{
	const struct weft_net_table *t = net_table(w);
	struct rte_ipv4_hdr *ip;
	unsigned hlen, tlen;
	uint16_t frag;

	/* RFC 1812 5.2.2 (1): the link layer delivered at least a minimal header. */
	if (rte_pktmbuf_data_len(m) < sizeof(*ip)) {
		weft_drop(w, m, WEFT_DROP_IP4_TOO_SHORT);
		return;
	}
	ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	/* (3) */
	if ((ip->version_ihl >> 4) != 4) {
		weft_drop(w, m, WEFT_DROP_IP4_BAD_VERSION);
		return;
	}
	/* (4), and the header must lie within what we received. */
	hlen = (ip->version_ihl & 0x0f) * 4u;
	if (hlen < sizeof(*ip) || hlen > rte_pktmbuf_data_len(m)) {
		weft_drop(w, m, WEFT_DROP_IP4_BAD_IHL);
		return;
	}
	/* (2) */
	if (!ip4_cksum_ok(m, ip, hlen)) {
		weft_drop(w, m, WEFT_DROP_IP4_BAD_CHECKSUM);
		return;
	}
	/* (5) */
	tlen = rte_be_to_cpu_16(ip->total_length);
	if (tlen < hlen || tlen > rte_pktmbuf_pkt_len(m)) {
		weft_drop(w, m, WEFT_DROP_IP4_BAD_LENGTH);
		return;
	}
	/* What follows the datagram is Ethernet padding (frames are at least 60 bytes). */
	if (tlen < rte_pktmbuf_pkt_len(m) && rte_pktmbuf_trim(m, (uint16_t)(rte_pktmbuf_pkt_len(m) - tlen)) < 0) {
		weft_drop(w, m, WEFT_DROP_IP4_BAD_LENGTH);
		return;
	}
	/*
	 * RFC 1122 3.2.1.7 forbids sending a TTL of 0 but has a host accept
	 * one; weft drops it instead: only a broken or hostile sender makes it.
	 */
	if (ip->time_to_live == 0) {
		weft_drop(w, m, WEFT_DROP_IP4_TTL_ZERO);
		return;
	}
	/*
	 * RFC 1122 3.2.1.8 asks hosts to process options. weft refuses them:
	 * a proxy has no use for source routes, record-route or timestamps,
	 * and refusing them closes a class of attacks. The TCP layer then
	 * always finds its header at a fixed offset.
	 */
	if (hlen != sizeof(*ip)) {
		weft_drop(w, m, WEFT_DROP_IP4_OPTIONS);
		return;
	}
	/* MF set or a non-zero offset (RFC 791 3.1): reassembly does not exist yet. */
	frag = rte_be_to_cpu_16(ip->fragment_offset);
	if (frag & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) {
		weft_drop(w, m, WEFT_DROP_IP4_FRAGMENT);
		return;
	}
	if (ip4_src_bad(t, ip->src_addr)) {
		weft_drop(w, m, WEFT_DROP_IP4_BAD_SRC);
		return;
	}
	/*
	 * Strong host model (RFC 1122 3.3.4.2): only the addresses of the
	 * receiving port. No broadcast, directed or limited: nothing above
	 * IP here wants one.
	 */
	if (weft_net_local4(t, port, ip->dst_addr) == NULL) {
		weft_drop(w, m, WEFT_DROP_IP4_NOT_FOR_US);
		return;
	}

	m->l3_len = sizeof(*ip);
	switch (ip->next_proto_id) {
	case IPPROTO_ICMP:
		net_icmp4_input(w, port, m);
		return;
	case IPPROTO_TCP: {
		/* The TCP stack takes m at the TCP header, trimmed to the datagram. */
		struct weft_ip src = {.af = 4, .v4 = ip->src_addr}, dst = {.af = 4, .v4 = ip->dst_addr};
		rte_pktmbuf_adj(m, sizeof(*ip));
		tcp_input(w, port, m, &src, &dst);
		return;
	}
	case IPPROTO_UDP:
		/* Hook for UDP, same contract as TCP above. */
		weft_drop(w, m, WEFT_DROP_UDP_NO_LISTENER);
		return;
	default:
		weft_drop(w, m, WEFT_DROP_IP4_UNKNOWN_PROTO);
		return;
	}
}

void net_ip4_output(struct weft_worker *w, struct rte_mbuf *m)
{
	struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, struct rte_ipv4_hdr *);
	const struct weft_route4 *r = weft_route4_lookup(net_table(w), ip->dst_addr);
	uint32_t nh;

	if (r == NULL) {
		weft_drop(w, m, WEFT_DROP_IP4_NO_ROUTE);
		return;
	}
	nh = r->gateway != 0 ? r->gateway : ip->dst_addr;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	m->l3_len = rte_ipv4_hdr_len(ip);
	net_neigh_output(w, r->port, NET_AF4, &nh, m);
}
