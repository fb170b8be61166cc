/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Segment building and the send loop.
 *
 * Every segment gets a fresh mbuf for its IP and TCP headers. Payload is
 * not copied: each piece of the send queue the segment covers is attached
 * as an indirect mbuf (rte_pktmbuf_attach), so the send queue keeps the
 * original until it is acknowledged and a retransmission attaches it again.
 * Small payloads (TCP_COPY_MAX) are cheaper to copy than to attach and go
 * into the header mbuf. Ports whose PMD cannot send chains (af_xdp in DPDK
 * 22.11 transmits only the first segment's worth of pkt_len) are given
 * whole segments in one mbuf; their MSS is capped so that always fits.
 *
 * Mbuf ownership: tcp_xmit() and friends allocate what they send and hand
 * it to the output hook, which takes ownership. Nothing here takes an mbuf
 * from its caller.
 */
#include <errno.h>
#include <string.h>

#include <rte_ip.h>
#include <rte_tcp.h>

#include "dataplane/tcp/tcp_priv.h"
#include "drivers/port.h"

tcp_output_fn tcp_output_hook(const struct tcp_stack *st);

uint32_t tcp_tsval(const struct tcp_stack *st, const struct tcp_conn *c)
{
	return (uint32_t)st->now_ms + c->ts_offset;
}

static inline uint32_t rcv_free(const struct tcp_conn *c)
{
	return c->rcvbuf > c->rcvq.bytes ? c->rcvbuf - c->rcvq.bytes : 0;
}

uint32_t tcp_rcv_window(const struct tcp_conn *c)
{
	uint32_t cap = (c->flags & CF_WSCALE) ? 65535u << c->rcv_wscale : 65535u;
	uint32_t wnd = rcv_free(c), cur = 0;
	uint32_t sws = c->rcvbuf / 2 < c->rcv_mss ? c->rcvbuf / 2 : c->rcv_mss;

	if (wnd > cap)
		wnd = cap;
	if (seq_gt(c->rcv_adv, c->rcv_nxt))
		cur = c->rcv_adv - c->rcv_nxt;
	/*
	 * RFC 9293 3.8.6.2.2 (receiver SWS avoidance): move the right edge only
	 * by at least min(half the buffer, one MSS). And never move it left:
	 * what was offered stays offered (3.8.6.2.2, shrinking is discouraged).
	 */
	if (wnd <= cur || wnd - cur < sws)
		wnd = cur;
	return wnd;
}

/* Window field for a non-SYN segment; records the right edge advertised. */
static uint16_t window_field(struct tcp_conn *c)
{
	uint32_t wnd = tcp_rcv_window(c), s = (c->flags & CF_WSCALE) ? c->rcv_wscale : 0;
	uint32_t f = wnd >> s;

	/* Rounding down the scaled value must not pull the edge back. */
	if (seq_lt(c->rcv_nxt + (f << s), c->rcv_adv))
		f++;
	if (f > 65535)
		f = 65535;
	if (seq_gt(c->rcv_nxt + (f << s), c->rcv_adv))
		c->rcv_adv = c->rcv_nxt + (f << s);
	return (uint16_t)f;
}

static unsigned opt_ts(uint8_t *o, uint32_t tsval, uint32_t tsecr)
{
	tsval = rte_cpu_to_be_32(tsval);
	tsecr = rte_cpu_to_be_32(tsecr);
	o[0] = TCPOPT_NOP;
	o[1] = TCPOPT_NOP;
	o[2] = TCPOPT_TS;
	o[3] = 10;
	memcpy(o + 4, &tsval, 4);
	memcpy(o + 8, &tsecr, 4);
	return 12;
}

/*
 * Handshake options in the order Linux sends them (MSS, SACK-permitted with
 * timestamps, window scale), which packs them into 20 bytes.
 */
static unsigned opt_syn(uint8_t *o, uint16_t mss, bool sack, bool ts, uint32_t tsval, uint32_t tsecr, int ws)
{
	unsigned n = 0;

	o[n++] = TCPOPT_MSS;
	o[n++] = 4;
	o[n++] = (uint8_t)(mss >> 8);
	o[n++] = (uint8_t)mss;
	if (sack && ts) {
		uint32_t v = rte_cpu_to_be_32(tsval), e = rte_cpu_to_be_32(tsecr);
		o[n++] = TCPOPT_SACK_PERM;
		o[n++] = 2;
		o[n++] = TCPOPT_TS;
		o[n++] = 10;
		memcpy(o + n, &v, 4);
		memcpy(o + n + 4, &e, 4);
		n += 8;
	} else {
		if (ts)
			n += opt_ts(o + n, tsval, tsecr);
		if (sack) {
			o[n++] = TCPOPT_NOP;
			o[n++] = TCPOPT_NOP;
			o[n++] = TCPOPT_SACK_PERM;
			o[n++] = 2;
		}
	}
	if (ws >= 0) {
		o[n++] = TCPOPT_NOP;
		o[n++] = TCPOPT_WS;
		o[n++] = 3;
		o[n++] = (uint8_t)ws;
	}
	return n;
}

/* Find the send queue segment holding seq; *off is the offset in it. */
static struct rte_mbuf *sndq_seek(struct tcp_conn *c, uint32_t seq, uint32_t *off)
{
	struct rte_mbuf *m = c->sndq.head;
	uint32_t at = c->sndq_seq;

	if (c->snd_cache && seq_ge(seq, c->snd_cache_seq)) {
		m = c->snd_cache;
		at = c->snd_cache_seq;
	}
	while (m && seq_ge(seq, at + m->data_len)) {
		at += m->data_len;
		m = m->next;
	}
	if (m) {
		c->snd_cache = m;
		c->snd_cache_seq = at;
	}
	*off = seq - at;
	return m;
}

void tcp_sndq_ack(struct tcp_conn *c, uint32_t new_una)
{
	uint32_t n;

	if (!seq_gt(new_una, c->sndq_seq))
		return;
	n = new_una - c->sndq_seq;
	if (n > c->sndq.bytes)
		n = c->sndq.bytes;
	c->sndq_seq += n;
	c->sndq.bytes -= n;
	while (n > 0) {
		struct rte_mbuf *m = c->sndq.head;
		if (m->data_len <= n) {
			n -= m->data_len;
			c->sndq.head = m->next;
			if (c->sndq.head == NULL)
				c->sndq.tail = NULL;
			c->sndq.segs--;
			if (c->snd_cache == m)
				c->snd_cache = NULL;
			m->next = NULL;
			/* In-flight clones hold their own reference to the buffer. */
			rte_pktmbuf_free_seg(m);
		} else {
			m->data_off += n;
			m->data_len -= n;
			if (c->snd_cache == m)
				c->snd_cache_seq = c->sndq_seq;
			n = 0;
		}
	}
	/* Zero-length segments at the head (never queued, but cheap to be safe). */
	while (c->sndq.head && c->sndq.head->data_len == 0 && c->sndq.head != c->sndq.tail) {
		struct rte_mbuf *m = c->sndq.head;
		c->sndq.head = m->next;
		c->sndq.segs--;
		if (c->snd_cache == m)
			c->snd_cache = NULL;
		m->next = NULL;
		rte_pktmbuf_free_seg(m);
	}
}

/* Copy len bytes of the send queue from seq into dst. */
static void sndq_copy(struct tcp_conn *c, uint32_t seq, uint32_t len, uint8_t *dst)
{
	uint32_t off;
	struct rte_mbuf *m = sndq_seek(c, seq, &off);

	while (len > 0 && m) {
		uint32_t n = m->data_len - off;
		if (n > len)
			n = len;
		memcpy(dst, rte_pktmbuf_mtod_offset(m, uint8_t *, off), n);
		dst += n;
		len -= n;
		off = 0;
		m = m->next;
	}
}

/* Attach len bytes of the send queue from seq behind hdr as indirect mbufs. */
static int sndq_attach(struct weft_worker *w, struct tcp_conn *c, struct rte_mbuf *hdr, uint32_t seq, uint32_t len)
{
	uint32_t off;
	struct rte_mbuf *m = sndq_seek(c, seq, &off), *last = hdr;

	while (len > 0 && m) {
		uint32_t n = m->data_len - off;
		struct rte_mbuf *mi = rte_pktmbuf_alloc(w->pool);
		if (mi == NULL)
			return -ENOBUFS;
		if (n > len)
			n = len;
		rte_pktmbuf_attach(mi, m);
		mi->data_off = (uint16_t)(m->data_off + off);
		mi->data_len = (uint16_t)n;
		mi->pkt_len = n;
		mi->ol_flags &= RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL;
		last->next = mi;
		last = mi;
		hdr->nb_segs++;
		hdr->pkt_len += n;
		len -= n;
		off = 0;
		m = m->next;
	}
	return len == 0 ? 0 : -EINVAL;
}

/*
 * The TCP checksum of m from byte l4_off to the end, seeded with the
 * pseudo-header sum (RFC 9293 3.1). Not rte_ipv4_udptcp_cksum_mbuf(): its
 * chain sum is wrong for odd-length segments in DPDK 22.11 (see
 * tcp_chain_sum()), and a one-byte send followed by a full one would go
 * out, and be retransmitted forever, with a bad checksum.
 */
static uint16_t tcp_cksum_chain(const struct rte_mbuf *m, uint32_t l4_off, uint16_t phdr)
{
	uint32_t sum = (uint32_t)phdr + tcp_chain_sum(m, l4_off);
	sum = (sum & 0xffff) + (sum >> 16);
	uint16_t ck = (uint16_t)~sum;
	/* RFC 768 style: a computed 0 is sent as all ones (both mean "no error" to receivers). */
	return ck == 0 ? 0xffff : ck;
}

static bool port_linear(const struct tcp_stack *st, uint16_t port)
{
	return port < 8 && (st->p.linear_tx_ports & (1u << port));
}

/*
 * Build and send one segment. c may be NULL (replies without a connection);
 * payload [pseq, pseq + plen) then must be empty.
 */
static int emit(struct weft_worker *w, uint16_t port, const struct tcp_endpoints *ep, uint32_t seq, uint32_t ack,
		uint8_t flags, uint16_t wnd, const uint8_t *opt, unsigned optlen, struct tcp_conn *c, uint32_t pseq,
		uint32_t plen)
{
	struct tcp_stack *st = tcp_st(w);
	const bool v4 = ep->local.af == 4;
	const unsigned iplen = v4 ? sizeof(struct rte_ipv4_hdr) : sizeof(struct rte_ipv6_hdr);
	const unsigned thl = TCP_HDR_LEN + optlen;
	const struct weft_port_info *pi = weft_port_info(port);
	struct rte_mbuf *m = rte_pktmbuf_alloc(w->pool);
	struct rte_tcp_hdr *th;
	uint8_t *p;

	if (m == NULL)
		goto nobufs;
	p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(iplen + thl));
	if (p == NULL) {
		rte_pktmbuf_free(m);
		goto nobufs;
	}
	if (plen > 0) {
		bool copy = port_linear(st, port) || plen <= TCP_COPY_MAX;
		if (copy && rte_pktmbuf_tailroom(m) >= plen) {
			sndq_copy(c, pseq, plen, (uint8_t *)rte_pktmbuf_append(m, (uint16_t)plen));
		} else if (sndq_attach(w, c, m, pseq, plen) != 0) {
			rte_pktmbuf_free(m);
			goto nobufs;
		}
	}

	th = (struct rte_tcp_hdr *)(p + iplen);
	th->src_port = rte_cpu_to_be_16(ep->lport);
	th->dst_port = rte_cpu_to_be_16(ep->rport);
	th->sent_seq = rte_cpu_to_be_32(seq);
	th->recv_ack = rte_cpu_to_be_32((flags & TCP_ACK) ? ack : 0);
	th->data_off = (uint8_t)((thl / 4) << 4);
	th->tcp_flags = flags;
	th->rx_win = rte_cpu_to_be_16(wnd);
	th->cksum = 0;
	th->tcp_urp = 0;
	if (optlen)
		memcpy(th + 1, opt, optlen);

	if (v4) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)p;
		ip->version_ihl = 0x45;
		ip->type_of_service = 0;
		ip->total_length = rte_cpu_to_be_16((uint16_t)rte_pktmbuf_pkt_len(m));
		/* RFC 6864 4.1: an atomic datagram (DF set) may carry any ID; zero it is. */
		ip->packet_id = 0;
		ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_TCP;
		ip->hdr_checksum = 0;
		ip->src_addr = ep->local.v4;
		ip->dst_addr = ep->remote.v4;
		m->l3_len = sizeof(*ip);
		m->l4_len = thl;
		if (pi && pi->tx_l4_cksum) {
			m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM;
			th->cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
		} else {
			th->cksum = tcp_cksum_chain(m, iplen, rte_ipv4_phdr_cksum(ip, 0));
		}
	} else {
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)p;
		ip6->vtc_flow = rte_cpu_to_be_32(6u << 28);
		ip6->payload_len = rte_cpu_to_be_16((uint16_t)(rte_pktmbuf_pkt_len(m) - iplen));
		ip6->proto = IPPROTO_TCP;
		ip6->hop_limits = 64;
		memcpy(ip6->src_addr, ep->local.v6, 16);
		memcpy(ip6->dst_addr, ep->remote.v6, 16);
		m->l3_len = sizeof(*ip6);
		m->l4_len = thl;
		if (pi && pi->tx_l4_cksum) {
			m->ol_flags |= RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_CKSUM;
			th->cksum = rte_ipv6_phdr_cksum(ip6, m->ol_flags);
		} else {
			th->cksum = tcp_cksum_chain(m, iplen, rte_ipv6_phdr_cksum(ip6, 0));
		}
	}
	TCP_STAT(st, segs_out, 1);
	if (flags & TCP_RST)
		TCP_STAT(st, resets_out, 1);
	tcp_output_hook(st)(w, port, m, ep->local.af);
	return 0;
nobufs:
	TCP_STAT(st, no_mbuf, 1);
	WEFT_CTR_ADD(w->ctr->drops[WEFT_DROP_NO_MBUF], 1);
	return -ENOBUFS;
}

int tcp_xmit(struct weft_worker *w, struct tcp_conn *c, uint32_t seq, uint32_t len, uint8_t flags)
{
	struct tcp_stack *st = tcp_st(w);
	uint8_t opt[TCP_MAX_OPT_LEN];
	unsigned n = 0;
	uint16_t wnd;
	int ret;

	if (flags & TCP_SYN) {
		/*
		 * Active open offers what the parameters allow; the SYN-ACK
		 * answers only what the peer offered (RFC 7323 2.2 and 3.2,
		 * RFC 2018 2). Windows in SYN segments are never scaled.
		 */
		bool active = !(flags & TCP_ACK);
		bool ts = active ? st->p.opt_ts : (c->flags & CF_TS) != 0;
		bool sack = active ? st->p.opt_sack : (c->flags & CF_SACK) != 0;
		int ws = active ? (st->p.opt_wscale ? c->rcv_wscale : -1) : ((c->flags & CF_WSCALE) ? c->rcv_wscale : -1);
		n = opt_syn(opt, c->adv_mss, sack, ts, tcp_tsval(st, c), active ? 0 : c->ts_recent, ws);
		uint32_t wf = rcv_free(c);
		wnd = (uint16_t)(wf > 65535 ? 65535 : wf);
		c->rcv_adv = c->rcv_nxt + wnd;
	} else {
		if (c->flags & CF_TS)
			n = opt_ts(opt, tcp_tsval(st, c), c->ts_recent);
		if ((c->flags & CF_SACK) && c->rsack_n && !(flags & TCP_RST)) {
			unsigned max = (TCP_MAX_OPT_LEN - n - 4) / 8, k = c->rsack_n < max ? c->rsack_n : max;
			opt[n++] = TCPOPT_NOP;
			opt[n++] = TCPOPT_NOP;
			opt[n++] = TCPOPT_SACK;
			opt[n++] = (uint8_t)(2 + 8 * k);
			for (unsigned i = 0; i < k; i++) {
				uint32_t s = rte_cpu_to_be_32(c->rsack[i].start), e = rte_cpu_to_be_32(c->rsack[i].end);
				memcpy(opt + n, &s, 4);
				memcpy(opt + n + 4, &e, 4);
				n += 8;
			}
		}
		wnd = (flags & TCP_RST) ? 0 : window_field(c);
	}
	ret = emit(w, c->port, &c->ep, seq, c->rcv_nxt, flags, wnd, opt, n, c, seq, len);
	if (ret == 0 && (flags & TCP_ACK)) {
		c->last_ack_sent = c->rcv_nxt;
		c->unacked_segs = 0;
		c->flags &= ~(CF_ACK_NOW | CF_ACK_OWED);
		tcp_timer_stop(st, c, TCP_T_DELACK);
	}
	return ret;
}

/* Sequence number for segments that carry no data (Linux's tcp_acceptable_seq). */
static uint32_t ack_seq(const struct tcp_conn *c)
{
	uint32_t wnd_end = c->snd_una + c->snd_wnd;
	return seq_le(c->snd_max, wnd_end) ? c->snd_max : wnd_end;
}

void tcp_send_ack(struct weft_worker *w, struct tcp_conn *c)
{
	tcp_xmit(w, c, ack_seq(c), 0, TCP_ACK);
}

void tcp_send_challenge_ack(struct weft_worker *w, struct tcp_conn *c)
{
	struct tcp_stack *st = tcp_st(w);

	/* RFC 5961 7: a per-worker budget per second bounds what an attacker can extract. */
	if (st->now_ms - st->chack_epoch_ms >= 1000) {
		st->chack_epoch_ms = st->now_ms;
		st->chack_count = 0;
	}
	if (st->chack_count >= st->p.challenge_ack_per_s) {
		TCP_STAT(st, challenge_acks_limited, 1);
		return;
	}
	st->chack_count++;
	TCP_STAT(st, challenge_acks, 1);
	tcp_send_ack(w, c);
}

void tcp_send_rst(struct weft_worker *w, struct tcp_conn *c)
{
	tcp_xmit(w, c, ack_seq(c), 0, TCP_RST | TCP_ACK);
}

void tcp_send_probe(struct weft_worker *w, struct tcp_conn *c)
{
	/* An old sequence number: the peer must answer with an ACK showing its window. */
	tcp_xmit(w, c, c->snd_una - 1, 0, TCP_ACK);
}

void tcp_send_rst_reply(struct weft_worker *w, uint16_t port, const struct tcp_endpoints *ep,
			const struct tcp_seg *s)
{
	if (s->flags & TCP_RST)
		return; /* never answer an RST (RFC 9293 3.10.7.1) */
	if (s->flags & TCP_ACK) {
		emit(w, port, ep, s->ack, 0, TCP_RST, 0, NULL, 0, NULL, 0, 0);
	} else {
		uint32_t seglen = s->len + ((s->flags & TCP_SYN) ? 1 : 0) + ((s->flags & TCP_FIN) ? 1 : 0);
		emit(w, port, ep, 0, s->seq + seglen, TCP_RST | TCP_ACK, 0, NULL, 0, NULL, 0, 0);
	}
}

void tcp_send_synack_cookie(struct weft_worker *w, uint16_t port, const struct tcp_endpoints *ep,
			    const struct tcp_seg *s, uint32_t cookie, uint16_t mss)
{
	struct tcp_stack *st = tcp_st(w);
	uint8_t opt[TCP_MAX_OPT_LEN];
	bool ts = st->p.opt_ts && s->opt.has_ts;
	/* Without timestamps there is nowhere to keep window scale and SACK: offer neither. */
	bool sack = ts && st->p.opt_sack && s->opt.sack_perm;
	int ws = ts && st->p.opt_wscale && s->opt.has_ws ? st->def_rcv_wscale : -1;
	uint32_t tsval = 0;
	unsigned n;

	if (ts)
		tsval = tcp_cookie_ts_encode((uint32_t)st->now_ms + tcp_ts_offset(st, ep), sack,
					     ws >= 0 ? (s->opt.wscale > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : s->opt.wscale)
						     : -1);
	n = opt_syn(opt, mss, sack, ts, tsval, s->opt.tsval, ws);
	uint32_t wnd = st->p.rcvbuf > 65535 ? 65535 : st->p.rcvbuf;
	emit(w, port, ep, cookie, s->seq + 1, TCP_SYN | TCP_ACK, (uint16_t)wnd, opt, n, NULL, 0, 0);
}

/* Statistics and RTT timing for a data segment about to leave. */
static void account(struct tcp_stack *st, struct tcp_conn *c, uint32_t seq, uint32_t len)
{
	if (seq_lt(seq, c->snd_max)) {
		TCP_STAT(st, retransmits, 1);
		TCP_STAT(st, retrans_bytes, len);
		c->retransmits++;
		/* Karn: a timed segment that is resent gives no sample. */
		if ((c->flags & CF_RTT_TIMING) && seq_lt(seq, c->rtt_seq))
			c->flags &= ~CF_RTT_TIMING;
	} else {
		TCP_STAT(st, bytes_out, len);
		if (!(c->flags & CF_RTT_TIMING)) {
			c->flags |= CF_RTT_TIMING;
			c->rtt_seq = seq + len;
			c->rtt_start_us = st->now_us;
		}
	}
}

static inline uint32_t data_end(const struct tcp_conn *c)
{
	return c->sndq_seq + c->sndq.bytes;
}

/* Our FIN has been sent at least once. */
static inline bool fin_sent(const struct tcp_conn *c)
{
	return (c->flags & CF_FIN_QUEUED) && seq_gt(c->snd_max, c->fin_seq);
}

/* A retransmission in SACK recovery is tracked, so that its own loss is found (tcp_loss_detect()). */
static inline void note_rxt(struct tcp_conn *c, uint32_t seq, uint32_t end)
{
	if ((c->recovery == TCP_REC_SACK || c->recovery == TCP_REC_LOSS) && seq_lt(seq, end))
		tcp_rxt_add(c, seq, end);
}

void tcp_retransmit_head(struct weft_worker *w, struct tcp_conn *c)
{
	struct tcp_stack *st = tcp_st(w);
	uint32_t seq = c->snd_una, len = 0;
	uint8_t flags = TCP_ACK;

	if (seq_lt(seq, data_end(c))) {
		/* What was sent, no further: new data goes through send_new() and SND.MAX. */
		uint32_t sent_end = fin_sent(c) ? c->fin_seq : c->snd_max;
		len = seq_lt(seq, sent_end) ? seq_min(sent_end, data_end(c)) - seq : 0;
		if (len > c->mss)
			len = c->mss;
	}
	if (fin_sent(c) && seq + len == c->fin_seq)
		flags |= TCP_FIN;
	if (len == 0 && !(flags & TCP_FIN))
		return;
	account(st, c, seq, len);
	if (tcp_xmit(w, c, seq, len, flags) != 0)
		return;
	uint32_t end = seq + len + ((flags & TCP_FIN) ? 1 : 0);
	note_rxt(c, seq, end);
	c->snd_nxt = seq_max(c->snd_nxt, end);
	c->high_rxt = seq_max(c->high_rxt, seq + len);
}

/*
 * One segment of data at SND.NXT, at most maxlen bytes (congestion budget),
 * within the peer's window. Returns bytes of sequence space sent, 0 when
 * nothing could go.
 */
static uint32_t send_new(struct weft_worker *w, struct tcp_conn *c, uint32_t maxlen)
{
	struct tcp_stack *st = tcp_st(w);
	uint32_t end = data_end(c), avail = 0, room = 0, len;
	uint8_t flags = TCP_ACK;

	if (seq_lt(c->snd_nxt, end))
		avail = end - c->snd_nxt;
	if (seq_gt(c->snd_una + c->snd_wnd, c->snd_nxt))
		room = c->snd_una + c->snd_wnd - c->snd_nxt;
	len = avail;
	if (len > c->mss)
		len = c->mss;
	if (len > room)
		len = room;
	if (len > maxlen)
		len = maxlen;

	/*
	 * Sender SWS avoidance (RFC 9293 3.8.6.2.1): a runt limited by the
	 * window or the congestion budget goes only if it is at least half the
	 * largest window the peer offered, or if nothing is in flight (no ACK
	 * would come to clock a better one; this stands in for the override
	 * timer).
	 */
	if (len > 0 && len < avail && len < c->mss && c->snd_nxt != c->snd_una && len < c->max_snd_wnd / 2)
		return 0;
	if (len == 0 && avail > 0)
		return 0;
	if (len == 0) {
		/* No data to send: a lone FIN once everything before it went out. */
		if ((c->flags & CF_FIN_QUEUED) && c->snd_nxt == c->fin_seq && avail == 0) {
			if (tcp_xmit(w, c, c->fin_seq, 0, TCP_FIN | TCP_ACK) != 0)
				return 0;
			if (seq_lt(c->fin_seq, c->snd_max))
				TCP_STAT(st, retransmits, 1);
			c->snd_nxt = c->fin_seq + 1;
			c->snd_max = seq_max(c->snd_max, c->snd_nxt);
			return 1;
		}
		return 0;
	}
	if (len == avail) {
		flags |= TCP_PSH;
		if ((c->flags & CF_FIN_QUEUED) && c->snd_nxt + len == c->fin_seq)
			flags |= TCP_FIN;
	}
	account(st, c, c->snd_nxt, len);
	if (tcp_xmit(w, c, c->snd_nxt, len, flags) != 0)
		return 0;
	c->snd_nxt += len + ((flags & TCP_FIN) ? 1 : 0);
	c->snd_max = seq_max(c->snd_max, c->snd_nxt);
	return len + ((flags & TCP_FIN) ? 1 : 0);
}

/* The last segment's worth of what was sent: [*seq, *seq + *len), with FIN when it carried ours. */
static void last_segment(const struct tcp_conn *c, uint32_t end, uint32_t *seq, uint32_t *len, uint8_t *flags)
{
	*flags = TCP_ACK;
	if (fin_sent(c) && end == c->fin_seq + 1) {
		end = c->fin_seq;
		*flags |= TCP_FIN;
	}
	*seq = seq_lt(c->snd_una, end) && end - c->snd_una > c->mss ? end - c->mss : c->snd_una;
	*len = seq_lt(*seq, end) ? end - *seq : 0;
}

/*
 * RFC 6675 4, NextSeg() rule 4: nothing else to send, but unSACKed data is
 * outstanding at the tail (no SACK above it will ever mark it lost). Once
 * per recovery (HighACK > RescueRxt), retransmit one segment holding the
 * highest unSACKed octet, so the ACK clock survives a lost tail without
 * waiting for the RTO. HighRxt stays put. Returns sequence space sent.
 */
static uint32_t rescue_rxt(struct weft_worker *w, struct tcp_conn *c)
{
	struct tcp_stack *st = tcp_st(w);
	uint32_t end = c->snd_max, seq, len;
	uint8_t flags;

	if ((c->flags & CF_RESCUE) && !seq_gt(c->snd_una, c->rescue_rxt))
		return 0;
	if (c->sb_n && c->sb[c->sb_n - 1].end == end)
		end = c->sb[c->sb_n - 1].start;
	/* The highest unSACKed octet must lie above HighRxt (RFC 6675 4, rule 4). */
	if (!seq_gt(end, c->snd_una) || !seq_gt(end, c->high_rxt))
		return 0;
	last_segment(c, end, &seq, &len, &flags);
	if (len == 0 && !(flags & TCP_FIN))
		return 0;
	account(st, c, seq, len);
	if (tcp_xmit(w, c, seq, len, flags) != 0)
		return 0;
	note_rxt(c, seq, seq + len + ((flags & TCP_FIN) ? 1 : 0));
	TCP_STAT(st, rescue_retransmits, 1);
	c->flags |= CF_RESCUE;
	c->rescue_rxt = c->recover;
	return len + ((flags & TCP_FIN) ? 1 : 0);
}

/* A retransmission found lost goes again, ahead of everything (its hole holds up SND.UNA). */
static uint32_t resend_lost_rxt(struct weft_worker *w, struct tcp_conn *c)
{
	struct tcp_stack *st = tcp_st(w);
	uint32_t seq, len;
	unsigned i;

	while (tcp_rxt_next_lost(c, &i, &seq, &len)) {
		uint8_t flags = TCP_ACK;
		uint32_t fin = fin_sent(c) && seq_lt(c->fin_seq, c->rxt[i].end) ? 1 : 0;
		tcp_rxt_remove(c, i);
		if (len > c->mss)
			len = c->mss;
		if (fin) {
			len = c->fin_seq - seq;
			flags |= TCP_FIN;
		}
		if (len == 0 && !fin)
			continue;
		account(st, c, seq, len);
		if (tcp_xmit(w, c, seq, len, flags) != 0)
			return 0;
		TCP_STAT(st, lost_retransmits, 1);
		tcp_rxt_add(c, seq, seq + len + fin);
		return len + fin;
	}
	return 0;
}

/*
 * RFC 6675 5, steps (C): while cwnd - pipe >= 1 SMSS, send NextSeg():
 * retransmissions found lost, lost holes, then new data, then holes not
 * yet deemed lost.
 */
static bool output_sack_recovery(struct weft_worker *w, struct tcp_conn *c)
{
	struct tcp_stack *st = tcp_st(w);
	uint32_t pipe = tcp_sack_pipe(c), seq, len;
	bool sent = false;

	while (c->cwnd > pipe && c->cwnd - pipe >= c->mss) {
		uint32_t n = resend_lost_rxt(w, c);
		if (n) {
			pipe += n;
			sent = true;
			continue;
		}
		if (tcp_sack_next_hole(c, true, &seq, &len) ||
		    (!(seq_lt(c->snd_nxt, data_end(c)) && c->snd_wnd) && tcp_sack_next_hole(c, false, &seq, &len))) {
			if (len > c->mss)
				len = c->mss;
			uint8_t flags = TCP_ACK;
			if (fin_sent(c) && seq + len == c->fin_seq)
				flags |= TCP_FIN;
			account(st, c, seq, len);
			if (tcp_xmit(w, c, seq, len, flags) != 0)
				break;
			note_rxt(c, seq, seq + len + ((flags & TCP_FIN) ? 1 : 0));
			c->high_rxt = seq + len;
			pipe += len;
			sent = true;
			continue;
		}
		n = send_new(w, c, c->cwnd - pipe);
		if (n == 0) {
			/*
			 * The rescue retransmission only when loss probes are off: the
			 * probe also runs in recovery and repairs a lost tail after
			 * 2 SRTT of silence, while the rescue resends a tail that is
			 * usually still in flight, at once, and on a path that does
			 * not lose it twice starts a chain of retransmissions the
			 * lost-retransmission rule then deems lost in turn.
			 */
			n = st->p.tlp ? 0 : rescue_rxt(w, c);
			if (n == 0)
				break;
		}
		pipe += n;
		sent = true;
	}
	return sent;
}

void tcp_tlp_send(struct weft_worker *w, struct tcp_conn *c)
{
	struct tcp_stack *st = tcp_st(w);
	uint32_t seq, len;
	uint8_t flags;

	/* RFC 8985 7.3: new data when the windows let one segment go, else the highest segment sent. */
	c->flags &= ~CF_TLP_RTX;
	if (send_new(w, c, c->mss) == 0) {
		last_segment(c, c->snd_max, &seq, &len, &flags);
		if (len == 0 && !(flags & TCP_FIN))
			return;
		account(st, c, seq, len);
		if (tcp_xmit(w, c, seq, len, flags) != 0)
			return;
		c->flags |= CF_TLP_RTX;
	}
	TCP_STAT(st, tlp_probes, 1);
	c->flags |= CF_TLP_OUT;
	c->tlp_end = c->snd_max;
	c->tlp_tsval = tcp_tsval(st, c);
}

void tcp_output(struct weft_worker *w, struct tcp_conn *c)
{
	struct tcp_stack *st = tcp_st(w);
	bool sent = false;

	switch (c->state) {
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
	case TCP_FIN_WAIT_1:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
		break;
	case TCP_FIN_WAIT_2:
	case TCP_TIME_WAIT:
		if (c->flags & CF_ACK_NOW)
			tcp_send_ack(w, c);
		return;
	default:
		return; /* handshake segments belong to input and the timers */
	}

	if (c->recovery == TCP_REC_SACK || c->recovery == TCP_REC_LOSS) {
		sent = output_sack_recovery(w, c);
	} else {
		/*
		 * RFC 3042 limited transmit: on each of the first two duplicate
		 * ACKs one new segment may go beyond cwnd (at most cwnd + 2 SMSS
		 * outstanding), so a small window still collects the three
		 * duplicates fast retransmit needs instead of waiting for the RTO.
		 */
		uint32_t lt = 0;
		if (c->recovery == TCP_REC_NONE && c->dupacks > 0)
			lt = (c->dupacks < TCP_DUPTHRESH ? c->dupacks : TCP_DUPTHRESH - 1) * (uint32_t)c->mss;
		for (;;) {
			uint32_t flight = tcp_flight(c);
			uint32_t budget = c->cwnd + lt > flight ? c->cwnd + lt - flight : 0;
			uint32_t n = send_new(w, c, budget);
			if (n == 0)
				break;
			if (flight >= c->cwnd)
				TCP_STAT(st, limited_transmits, 1);
			sent = true;
		}
	}

	/*
	 * Zero window with data waiting and nothing in flight: no ACK will
	 * come to open it, so probe (RFC 9293 3.8.6.1).
	 */
	if (c->snd_max == c->snd_una && seq_lt(c->snd_nxt, data_end(c)) && c->snd_wnd == 0) {
		if (!(c->flags & CF_PERSIST)) {
			c->flags |= CF_PERSIST;
			c->keep_probes = 0;
			c->backoff = 0;
			uint64_t rto = c->rto_ms;
			tcp_timer_set(st, c, TCP_T_RTX, rto > st->p.rto_max_ms ? st->p.rto_max_ms : rto);
		}
	} else {
		tcp_rtx_arm(st, c);
	}
	tcp_tlp_arm(st, c, sent || (c->flags & CF_PTO_RESTART));
	c->flags &= ~CF_PTO_RESTART;
	if (!sent && (c->flags & CF_ACK_NOW) && !(c->flags & CF_DEAD))
		tcp_send_ack(w, c);
}
