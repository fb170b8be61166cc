/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Segment arrival: validation, demultiplexing, the passive open (backlog and
 * SYN cookies), and the state machine of RFC 9293 3.10.7 with the
 * RFC 5961 defences, PAWS (RFC 7323 5), ACK processing with loss recovery
 * (RFC 5681, RFC 6582 without SACK, RFC 6675 with it) and reassembly.
 *
 * The steps of 3.10.7.4 ("Otherwise") appear in the order the RFC gives
 * them; each is a function so that the state dispatch stays readable.
 *
 * Mbuf ownership: tcp_input() owns the segment. Payload that is accepted is
 * trimmed to the window and moves, without copying, into the receive queue
 * or the out-of-order queue; everything else is freed, or dropped with a
 * named reason when the segment is refused.
 */
#include <string.h>

#include <rte_ip.h>
#include <rte_tcp.h>

#include "dataplane/tcp/tcp_priv.h"

/* ---- mbuf chain helpers ---- */

static void chain_fix(struct rte_mbuf *m)
{
	uint32_t len = 0;
	uint16_t n = 0;
	for (struct rte_mbuf *s = m; s; s = s->next) {
		len += s->data_len;
		n++;
	}
	m->pkt_len = len;
	m->nb_segs = n;
}

/*
 * Remove n bytes from the front of chain m; returns the new head (NULL if
 * nothing is left). Segments emptied are freed; the chain stays the caller's.
 */
static struct rte_mbuf *chain_adj(struct rte_mbuf *m, uint32_t n)
{
	while (m && n > 0) {
		if (n >= m->data_len) {
			struct rte_mbuf *next = m->next;
			n -= m->data_len;
			m->next = NULL;
			rte_pktmbuf_free_seg(m);
			m = next;
		} else {
			m->data_off += n;
			m->data_len -= n;
			n = 0;
		}
	}
	if (m)
		chain_fix(m);
	return m;
}

/* Keep the first keep bytes of chain m (keep > 0); the rest is freed. m stays the caller's. */
static void chain_cut(struct rte_mbuf *m, uint32_t keep)
{
	struct rte_mbuf *s = m;

	while (s && keep > s->data_len) {
		keep -= s->data_len;
		s = s->next;
	}
	if (s) {
		s->data_len = (uint16_t)keep;
		if (s->next) {
			rte_pktmbuf_free(s->next);
			s->next = NULL;
		}
	}
	chain_fix(m);
}

/* ---- parsing ---- */

static void parse_options(const uint8_t *o, unsigned len, bool syn, struct tcp_opts *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < len;) {
		uint8_t kind = o[i], olen;
		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= len)
			break;
		olen = o[i + 1];
		/* A malformed length ends parsing: what came before still counts (as Linux). */
		if (olen < 2 || i + olen > len)
			break;
		switch (kind) {
		case TCPOPT_MSS:
			/* RFC 9293 3.2: MSS only in SYN segments. */
			if (olen == 4 && syn) {
				out->has_mss = true;
				out->mss = (uint16_t)((o[i + 2] << 8) | o[i + 3]);
			}
			break;
		case TCPOPT_WS:
			if (olen == 3 && syn) {
				out->has_ws = true;
				/* RFC 7323 2.3: a shift above 14 is used as 14. */
				out->wscale = o[i + 2] > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : o[i + 2];
			}
			break;
		case TCPOPT_SACK_PERM:
			if (olen == 2 && syn)
				out->sack_perm = true;
			break;
		case TCPOPT_TS:
			if (olen == 10) {
				uint32_t v, e;
				memcpy(&v, o + i + 2, 4);
				memcpy(&e, o + i + 6, 4);
				out->has_ts = true;
				out->tsval = rte_be_to_cpu_32(v);
				out->tsecr = rte_be_to_cpu_32(e);
			}
			break;
		case TCPOPT_SACK:
			if (olen >= 10 && (olen - 2) % 8 == 0 && !syn) {
				unsigned n = (olen - 2) / 8;
				for (unsigned b = 0; b < n && out->n_sack < 4; b++) {
					uint32_t s, e;
					memcpy(&s, o + i + 2 + 8 * b, 4);
					memcpy(&e, o + i + 6 + 8 * b, 4);
					out->sack[out->n_sack].start = rte_be_to_cpu_32(s);
					out->sack[out->n_sack].end = rte_be_to_cpu_32(e);
					out->n_sack++;
				}
			}
			break;
		default:
			break;
		}
		i += olen;
	}
}

/* Ones'-complement sum of the pseudo header (RFC 9293 3.1, RFC 8200 8.1). */
static uint32_t pseudo_sum(const struct weft_ip *src, const struct weft_ip *dst, uint32_t len)
{
	uint32_t sum = 0;
	const uint16_t *p;

	if (src->af == 4) {
		p = (const uint16_t *)&src->v4;
		sum += p[0] + p[1];
		p = (const uint16_t *)&dst->v4;
		sum += p[0] + p[1];
		sum += rte_cpu_to_be_16((uint16_t)len);
	} else {
		p = (const uint16_t *)src->v6;
		for (unsigned i = 0; i < 8; i++)
			sum += p[i];
		p = (const uint16_t *)dst->v6;
		for (unsigned i = 0; i < 8; i++)
			sum += p[i];
		sum += rte_cpu_to_be_16((uint16_t)(len >> 16));
		sum += rte_cpu_to_be_16((uint16_t)len);
	}
	sum += rte_cpu_to_be_16(IPPROTO_TCP);
	return sum;
}

static bool checksum_ok(const struct rte_mbuf *m, const struct weft_ip *src, const struct weft_ip *dst)
{
	uint64_t flags = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
	uint16_t raw;
	uint32_t sum;

	if (flags == RTE_MBUF_F_RX_L4_CKSUM_GOOD)
		return true;
	if (flags == RTE_MBUF_F_RX_L4_CKSUM_BAD)
		return false;
	/* Not rte_raw_cksum_mbuf(): wrong for chains with odd-length segments (tcp_chain_sum()). */
	raw = tcp_chain_sum(m, 0);
	sum = pseudo_sum(src, dst, rte_pktmbuf_pkt_len(m)) + raw;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/* ---- option negotiation ---- */

/*
 * Settle the options from the peer's SYN (passive) or SYN-ACK (active).
 * offered: what we put (or will put) in our SYN.
 */
static void negotiate(struct tcp_stack *st, struct tcp_conn *c, const struct tcp_opts *o, bool active)
{
	uint16_t peer_mss;

	if (o->has_ws && st->p.opt_wscale) {
		c->flags |= CF_WSCALE;
		c->snd_wscale = o->wscale;
		if (!active)
			c->rcv_wscale = tcp_wscale_for(c->rcvbuf);
	} else {
		c->snd_wscale = 0;
		c->rcv_wscale = 0;
	}
	if (o->has_ts && st->p.opt_ts) {
		c->flags |= CF_TS;
		c->ts_recent = o->tsval;
		c->ts_recent_ms = st->now_ms;
	}
	if (o->sack_perm && st->p.opt_sack)
		c->flags |= CF_SACK;
	/* RFC 9293 3.7.1: without the option, 536 (IPv4) or 1220 (IPv6). */
	peer_mss = o->has_mss ? o->mss : (c->ep.local.af == 4 ? TCP_DEFAULT_MSS4 : TCP_DEFAULT_MSS6);
	if (peer_mss < TCP_MIN_MSS)
		peer_mss = TCP_MIN_MSS;
	c->mss = peer_mss < c->adv_mss ? peer_mss : c->adv_mss;
	/* RFC 9293 3.7.1: the MSS counts no options; timestamps take 12 bytes of every segment. */
	if (c->flags & CF_TS)
		c->mss -= TCP_TS_OPT_LEN;
	c->rcv_mss = c->adv_mss;
	tcp_cc(c)->init(c);
}

/* ---- passive open ---- */

static void post_established(struct tcp_stack *st, struct tcp_conn *c)
{
	c->flags |= CF_ATTACHED;
	tcp_post(c, TCP_EV_ESTABLISHED);
	tcp_keepalive_arm(st, c);
}

/*
 * A SYN for no connection (RFC 9293 3.10.7.2, LISTEN): ask the accept hook,
 * then answer from the backlog or with a cookie. Takes ownership of m.
 * min_iss (when has_min) is a floor for our ISS, for TIME-WAIT reuse.
 */
/*
 * Ask the accept hook. WEFT_DROP_MAX means accepted; anything else is the
 * reason to count for the refusal: the one the hook names (a positive enum
 * weft_drop), or tcp_no_listener.
 */
static enum weft_drop ask_accept(struct weft_worker *w, struct tcp_stack *st, const struct tcp_endpoints *ep,
				 struct tcp_accept *a)
{
	int r;

	if (st->accept == NULL)
		return WEFT_DROP_TCP_NO_LISTENER;
	r = st->accept(w, ep, a);
	if (r == 0 && a->fn != NULL)
		return WEFT_DROP_MAX;
	return r > 0 && r < WEFT_DROP_MAX ? (enum weft_drop)r : WEFT_DROP_TCP_NO_LISTENER;
}

static void listen_input(struct weft_worker *w, uint16_t port, const struct tcp_endpoints *ep,
			 const struct tcp_seg *s, struct rte_mbuf *m, uint32_t min_iss, bool has_min)
{
	struct tcp_stack *st = tcp_st(w);
	struct tcp_accept a = {0};
	struct tcp_conn *c;
	enum weft_drop why;

	/* RFC 9293 3.10.7.2: a SYN with RST or FIN set makes no sense; neither does one without SYN. */
	if (s->flags & (TCP_RST | TCP_FIN)) {
		weft_drop(w, m, WEFT_DROP_TCP_BAD_FLAGS);
		return;
	}
	if ((why = ask_accept(w, st, ep, &a)) != WEFT_DROP_MAX) {
		tcp_send_rst_reply(w, port, ep, s);
		weft_drop(w, m, why);
		return;
	}
	if (st->stats.state[TCP_SYN_RECEIVED] >= st->p.syn_backlog) {
		TCP_STAT(st, syn_backlog_full, 1);
		if (!st->p.syncookies) {
			weft_drop(w, m, WEFT_DROP_TCP_SYN_BACKLOG_FULL);
			return;
		}
		uint16_t mss_in = s->opt.has_mss ? s->opt.mss : (ep->local.af == 4 ? TCP_DEFAULT_MSS4 : TCP_DEFAULT_MSS6);
		uint16_t adv = (uint16_t)tcp_iface_mss(w, port, ep->local.af), mss;
		uint32_t cookie = tcp_cookie_make(st, ep, s->seq, mss_in < adv ? mss_in : adv, &mss);
		st->cookie_sent_ms = st->now_ms;
		st->cookie_ever = true;
		TCP_STAT(st, syncookies_sent, 1);
		tcp_send_synack_cookie(w, port, ep, s, cookie, mss);
		rte_pktmbuf_free(m);
		return;
	}
	c = tcp_conn_alloc(w, ep, &a);
	if (c == NULL) {
		/* Overload sheds new work: refuse at once rather than let the peer retry for a minute. */
		tcp_send_rst_reply(w, port, ep, s);
		weft_drop(w, m, WEFT_DROP_TCP_CONN_LIMIT);
		return;
	}
	c->flags |= CF_PASSIVE;
	negotiate(st, c, &s->opt, false);
	c->irs = s->seq;
	c->rcv_nxt = s->seq + 1;
	c->iss = tcp_isn(st, ep);
	if (has_min && seq_le(c->iss, min_iss))
		c->iss = min_iss + 1;
	c->snd_una = c->iss;
	c->sndq_seq = c->iss + 1;
	/* RFC 7323 2.2: the window of a SYN is never scaled. */
	c->snd_wnd = s->wnd;
	c->max_snd_wnd = s->wnd;
	c->snd_wl1 = s->seq;
	c->snd_wl2 = c->iss;
	c->recover = c->iss;
	tcp_set_state(st, c, TCP_SYN_RECEIVED);
	/* Data on the SYN is not kept (no TCP Fast Open): the peer sends it again. */
	rte_pktmbuf_free(m);
	c->flags |= CF_RTT_TIMING;
	c->rtt_seq = c->iss + 1;
	c->rtt_start_us = st->now_us;
	tcp_xmit(w, c, c->iss, 0, TCP_SYN | TCP_ACK);
	c->snd_nxt = c->snd_max = c->iss + 1;
	tcp_timer_set(st, c, TCP_T_RTX, c->rto_ms);
}

/* Takes ownership of m. */
static void conn_input(struct weft_worker *w, struct tcp_conn *c, struct tcp_seg *s, struct rte_mbuf *m);

/*
 * The final ACK of a handshake we answered with a cookie (RFC 4987 3.6):
 * rebuild the connection from the cookie, the echoed timestamp and the
 * accept hook, then process the segment as an established connection would.
 * Returns false when the ACK carries no valid cookie (m untouched, still
 * the caller's); true when it took ownership of m.
 */
static bool cookie_input(struct weft_worker *w, uint16_t port, const struct tcp_endpoints *ep, struct tcp_seg *s,
			 struct rte_mbuf *m)
{
	struct tcp_stack *st = tcp_st(w);
	struct tcp_accept a = {0};
	struct tcp_opts o;
	struct tcp_conn *c;
	enum weft_drop why;
	uint16_t mss = tcp_cookie_check(st, ep, s->seq - 1, s->ack - 1);

	if (mss == 0)
		return false;
	if ((why = ask_accept(w, st, ep, &a)) != WEFT_DROP_MAX) {
		tcp_send_rst_reply(w, port, ep, s);
		weft_drop(w, m, why);
		return true;
	}
	c = tcp_conn_alloc(w, ep, &a);
	if (c == NULL) {
		tcp_send_rst_reply(w, port, ep, s);
		weft_drop(w, m, WEFT_DROP_TCP_CONN_LIMIT);
		return true;
	}
	TCP_STAT(st, syncookies_ok, 1);
	memset(&o, 0, sizeof(o));
	o.has_mss = true;
	o.mss = mss;
	if (s->opt.has_ts && st->p.opt_ts) {
		int ws;
		bool sack;
		tcp_cookie_ts_decode(s->opt.tsecr, &sack, &ws);
		o.has_ts = true;
		o.tsval = s->opt.tsval;
		o.sack_perm = sack;
		if (ws >= 0) {
			o.has_ws = true;
			o.wscale = (uint8_t)ws;
		}
	}
	c->flags |= CF_PASSIVE;
	negotiate(st, c, &o, false);
	/* Our shift was announced before the connection existed: the stack-wide one. */
	if (c->flags & CF_WSCALE)
		c->rcv_wscale = st->def_rcv_wscale;
	c->iss = s->ack - 1;
	c->irs = s->seq - 1;
	c->rcv_nxt = s->seq;
	c->rcv_adv = c->rcv_nxt + (st->p.rcvbuf > 65535 ? 65535 : st->p.rcvbuf);
	c->last_ack_sent = c->rcv_nxt;
	c->snd_una = c->snd_nxt = c->snd_max = s->ack;
	c->sndq_seq = s->ack;
	c->recover = c->iss;
	c->snd_wnd = s->wnd << c->snd_wscale;
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = s->seq;
	c->snd_wl2 = s->ack;
	tcp_set_state(st, c, TCP_ESTABLISHED);
	TCP_STAT(st, passive_opens, 1);
	post_established(st, c);
	conn_input(w, c, s, m);
	return true;
}

/* A segment matching no connection. Takes ownership of m. */
static void no_conn_input(struct weft_worker *w, uint16_t port, const struct tcp_endpoints *ep, struct tcp_seg *s,
			  struct rte_mbuf *m)
{
	struct tcp_stack *st = tcp_st(w);

	if (s->flags & TCP_RST) {
		weft_drop(w, m, WEFT_DROP_TCP_NO_CONN); /* never answer an RST */
		return;
	}
	if ((s->flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
		listen_input(w, port, ep, s, m, 0, false);
		return;
	}
	/* Cookies are checked only while they are being sent: a random ACK flood cannot open anything. */
	if ((s->flags & (TCP_SYN | TCP_ACK)) == TCP_ACK && st->cookie_ever &&
	    st->now_ms - st->cookie_sent_ms < 2 * TCP_COOKIE_PERIOD_MS) {
		if (cookie_input(w, port, ep, s, m))
			return;
		TCP_STAT(st, syncookies_bad, 1);
		tcp_send_rst_reply(w, port, ep, s);
		weft_drop(w, m, WEFT_DROP_TCP_BAD_COOKIE);
		return;
	}
	/* RFC 9293 3.10.7.1: the connection does not exist, answer with an RST. */
	tcp_send_rst_reply(w, port, ep, s);
	weft_drop(w, m, WEFT_DROP_TCP_NO_CONN);
}

/* ---- SYN-SENT (RFC 9293 3.10.7.3) ---- */

/* Takes ownership of m. */
static void syn_sent_input(struct weft_worker *w, struct tcp_conn *c, struct tcp_seg *s, struct rte_mbuf *m)
{
	struct tcp_stack *st = tcp_st(w);
	bool ack_ok = false;

	if (s->flags & TCP_ACK) {
		/* First: an ACK for something other than our SYN is bogus. */
		if (seq_le(s->ack, c->iss) || seq_gt(s->ack, c->snd_max)) {
			if (!(s->flags & TCP_RST))
				tcp_send_rst_reply(w, c->port, &c->ep, s);
			weft_drop(w, m, WEFT_DROP_TCP_BAD_ACK);
			return;
		}
		ack_ok = true;
	}
	if (s->flags & TCP_RST) {
		/* Second: an RST is believed only with an acceptable ACK (RFC 5961 3.2 keeps this). */
		if (!ack_ok) {
			weft_drop(w, m, WEFT_DROP_TCP_BAD_RST);
			return;
		}
		rte_pktmbuf_free(m);
		TCP_STAT(st, resets_in, 1);
		TCP_STAT(st, connect_failed, 1);
		tcp_conn_reset(w, c); /* connection refused */
		return;
	}
	if (!(s->flags & TCP_SYN)) {
		weft_drop(w, m, WEFT_DROP_TCP_BAD_FLAGS);
		return;
	}
	/* Fourth: the SYN. */
	c->irs = s->seq;
	c->rcv_nxt = s->seq + 1;
	c->last_ack_sent = c->rcv_nxt;
	/* Our SYN offered its (unscaled) window before RCV.NXT was known: anchor that edge now. */
	c->rcv_adv = c->rcv_nxt + (c->rcvbuf > 65535 ? 65535 : c->rcvbuf);
	negotiate(st, c, &s->opt, true);
	c->snd_wnd = s->wnd; /* unscaled in a SYN (RFC 7323 2.2) */
	c->max_snd_wnd = c->snd_wnd;
	c->snd_wl1 = s->seq;
	c->recover = c->iss;
	rte_pktmbuf_free(m); /* data on a SYN-ACK is not kept; the peer resends it */
	if (ack_ok) {
		c->snd_una = s->ack;
		c->snd_wl2 = s->ack;
		if ((c->flags & CF_RTT_TIMING) && !(c->flags & CF_SYN_RTX)) {
			tcp_rtt_sample(st, c, (uint32_t)(st->now_us - c->rtt_start_us));
		} else if (c->flags & CF_SYN_RTX) {
			/* RFC 6298 5.7: the SYN was lost once; start the data phase at 3 s. */
			c->rto_ms = 3000 > st->p.rto_max_ms ? st->p.rto_max_ms : 3000;
		}
		c->flags &= ~CF_RTT_TIMING;
		c->backoff = 0;
		tcp_timer_stop(st, c, TCP_T_RTX);
		tcp_set_state(st, c, TCP_ESTABLISHED);
		tcp_post(c, TCP_EV_ESTABLISHED);
		tcp_keepalive_arm(st, c);
		c->flags |= CF_ACK_NOW;
		if (c->flags & CF_FIN_QUEUED) {
			c->fin_seq = c->sndq_seq + c->sndq.bytes;
			tcp_set_state(st, c, TCP_FIN_WAIT_1);
		}
		return;
	}
	/* Simultaneous open (3.5, figure 8): answer with SYN-ACK, same ISS. */
	tcp_set_state(st, c, TCP_SYN_RECEIVED);
	c->flags &= ~CF_RTT_TIMING;
	tcp_xmit(w, c, c->iss, 0, TCP_SYN | TCP_ACK);
}

/* ---- synchronized states (RFC 9293 3.10.7.4) ---- */

static void enter_time_wait(struct weft_worker *w, struct tcp_conn *c)
{
	struct tcp_stack *st = tcp_st(w);

	tcp_set_state(st, c, TCP_TIME_WAIT);
	tcp_timer_stop(st, c, TCP_T_RTX);
	tcp_timer_stop(st, c, TCP_T_KEEP);
	c->flags &= ~CF_PERSIST;
	tcp_timer_set(st, c, TCP_T_WAIT, st->p.time_wait_ms);
	TCP_STAT(st, closed, 1);
	if (c->rcvq.bytes == 0)
		tcp_post(c, TCP_EV_CLOSED);
	else
		c->flags |= CF_CLOSED_PENDING;
}

/* LAST-ACK acknowledged: the connection is gone. */
static void enter_closed(struct weft_worker *w, struct tcp_conn *c)
{
	struct tcp_stack *st = tcp_st(w);

	TCP_STAT(st, closed, 1);
	tcp_set_state(st, c, TCP_CLOSED);
	tcp_timer_stop(st, c, TCP_T_RTX);
	tcp_timer_stop(st, c, TCP_T_KEEP);
	if (!(c->flags & CF_ATTACHED) || (c->flags & CF_ORPHAN)) {
		tcp_conn_free(w, c);
	} else if (c->rcvq.bytes == 0) {
		tcp_post(c, TCP_EV_CLOSED); /* freed after delivery */
	} else {
		c->flags |= CF_CLOSED_PENDING;
	}
}

static inline bool our_fin_acked(const struct tcp_conn *c)
{
	return (c->flags & CF_FIN_QUEUED) && seq_gt(c->snd_una, c->fin_seq);
}

static bool can_post_writable(const struct tcp_conn *c)
{
	uint32_t queued = c->sndq.bytes;
	uint32_t space = c->sndbuf > queued ? c->sndbuf - queued : 0;
	uint32_t need = c->want_space ? c->want_space : c->sndbuf / 4;
	if (need > c->sndbuf)
		need = c->sndbuf;
	return space >= need || queued == 0;
}

/* RFC 6582 3.2 and RFC 6675 5: leave recovery on a full ACK. */
static void exit_recovery(struct tcp_stack *st, struct tcp_conn *c)
{
	c->rxt_n = 0;
	if (c->recovery == TCP_REC_LOSS) {
		/* After an RTO: cwnd slow-started from one segment and stays. */
		c->recovery = TCP_REC_NONE;
		c->dupacks = 0;
		return;
	}
	if (c->recovery == TCP_REC_NEWRENO) {
		/* RFC 6582 3.2 step 3, option (1) bounded against a burst. */
		uint32_t flight = c->snd_max - c->snd_una;
		uint32_t f = (flight > c->mss ? flight : c->mss) + c->mss;
		c->cwnd = c->ssthresh < f ? c->ssthresh : f;
	} else {
		c->cwnd = c->ssthresh;
	}
	c->recovery = TCP_REC_NONE;
	c->dupacks = 0;
	tcp_cc(c)->on_recovery_exit(c, st->now_us);
}

void tcp_enter_recovery(struct weft_worker *w, struct tcp_conn *c)
{
	struct tcp_stack *st = tcp_st(w);

	tcp_cc(c)->on_loss(c, st->now_us);
	c->recover = c->snd_max;
	c->high_rxt = c->snd_una;
	c->lost_below = c->snd_una;
	c->rxt_n = 0;
	c->flags &= ~CF_RESCUE; /* RFC 6675 5 step (4): RescueRxt undefined */
	TCP_STAT(st, fast_retransmits, 1);
	if (c->flags & CF_SACK) {
		/* RFC 6675 5 step (4): RecoveryPoint = HighData, cwnd = ssthresh, resend HighACK + 1. */
		c->recovery = TCP_REC_SACK;
		TCP_STAT(st, sack_recoveries, 1);
		tcp_loss_detect(c);
	} else {
		/* RFC 6582 3.2 step 2 (RFC 5681 3.2 step 2 and 3): inflate by the three segments that left. */
		c->recovery = TCP_REC_NEWRENO;
		TCP_STAT(st, newreno_recoveries, 1);
		c->cwnd = c->ssthresh + TCP_DUPTHRESH * (uint32_t)c->mss;
	}
	c->flags &= ~CF_RTT_TIMING;
	tcp_retransmit_head(w, c);
}

/*
 * RFC 8985 7.4: the ACK covers the outstanding loss probe. A probe that
 * sent new data needs nothing. A retransmitted probe either repaired a
 * loss (reduce the window, as after a fast retransmit, RFC 8985 7.4.2) or
 * was superfluous; with timestamps, an echo older than the probe says the
 * original arrived (as for spurious timeouts, RFC 3522). Without them the
 * loss is assumed: the conservative choice (this stack sends no D-SACK
 * based undo).
 */
static void tlp_ack(struct tcp_stack *st, struct tcp_conn *c, const struct tcp_seg *s, uint32_t ack)
{
	if (!(c->flags & CF_TLP_OUT) || seq_lt(ack, c->tlp_end))
		return;
	c->flags &= ~CF_TLP_OUT;
	if (!(c->flags & CF_TLP_RTX) || c->recovery != TCP_REC_NONE)
		return;
	if ((c->flags & CF_TS) && s->opt.has_ts && s->opt.tsecr && seq_lt(s->opt.tsecr, c->tlp_tsval))
		return;
	TCP_STAT(st, tlp_recoveries, 1);
	tcp_cc(c)->on_loss(c, st->now_us);
	c->cwnd = c->ssthresh;
	tcp_cc(c)->on_recovery_exit(c, st->now_us);
}

/*
 * Fifth step, the ACK field, for ESTABLISHED and later states. Returns
 * false when the segment must be dropped: m is then already counted and
 * freed. On true, m is still the caller's.
 */
static bool ack_input(struct weft_worker *w, struct tcp_conn *c, const struct tcp_seg *s, struct rte_mbuf *m)
{
	struct tcp_stack *st = tcp_st(w);
	uint32_t ack = s->ack, wnd = s->wnd << c->snd_wscale;
	bool sack_news = false;

	/* RFC 5961 5.2: SND.UNA - MAX.SND.WND <= SEG.ACK <= SND.NXT, else drop. */
	if (seq_gt(ack, c->snd_max)) {
		c->flags |= CF_ACK_NOW;
		weft_drop(w, m, WEFT_DROP_TCP_BAD_ACK);
		return false;
	}
	if (seq_lt(ack, c->snd_una - c->max_snd_wnd)) {
		tcp_send_challenge_ack(w, c);
		weft_drop(w, m, WEFT_DROP_TCP_BAD_ACK);
		return false;
	}
	if ((c->flags & (CF_SACK | CF_REORD)) == CF_SACK && tcp_sack_reordered(c, &s->opt, ack)) {
		c->flags |= CF_REORD;
		TCP_STAT(st, reordering_seen, 1);
	}
	if ((c->flags & CF_SACK) && s->opt.n_sack)
		sack_news = tcp_sack_update(c, &s->opt);

	if (seq_gt(ack, c->snd_una)) {
		uint32_t acked = ack - c->snd_una, data_before = c->sndq_seq;

		/* RTT sample (RFC 6298 3, Karn): the timed segment, else the echoed timestamp (RFC 7323 4.1). */
		if ((c->flags & CF_RTT_TIMING) && seq_ge(ack, c->rtt_seq)) {
			c->flags &= ~CF_RTT_TIMING;
			tcp_rtt_sample(st, c, (uint32_t)(st->now_us - c->rtt_start_us));
		} else if ((c->flags & CF_TS) && s->opt.has_ts && s->opt.tsecr && c->backoff == 0) {
			uint32_t d = tcp_tsval(st, c) - s->opt.tsecr;
			if ((int32_t)d >= 0 && d < 60000)
				tcp_rtt_sample(st, c, d * 1000);
		}
		/*
		 * Spurious timeout (RFC 3522): the ACK echoes a timestamp older than
		 * our retransmission, so the original arrived. Undo the reduction.
		 */
		if (c->backoff > 0 && c->prior_cwnd && (c->flags & CF_TS) && s->opt.has_ts && s->opt.tsecr &&
		    seq_lt(s->opt.tsecr, c->rto_tsval)) {
			c->cwnd = c->prior_cwnd > c->cwnd ? c->prior_cwnd : c->cwnd;
			c->ssthresh = c->prior_ssthresh;
			TCP_STAT(st, spurious_rto, 1);
			if (c->recovery == TCP_REC_LOSS) {
				/* Nothing was lost: the repair ends, and what it deemed lost is not. */
				c->recovery = TCP_REC_NONE;
				c->rxt_n = 0;
				c->dupacks = 0;
			}
		}
		c->prior_cwnd = 0;
		c->flags |= CF_PTO_RESTART;
		c->snd_una = ack;
		tcp_sndq_ack(c, ack);
		c->bytes_out += c->sndq_seq - data_before;
		if (seq_lt(c->snd_nxt, c->snd_una))
			c->snd_nxt = c->snd_una;
		if (seq_lt(c->high_rxt, c->snd_una))
			c->high_rxt = c->snd_una;
		c->backoff = 0;
		c->keep_probes = 0;
		tcp_sack_trim(c);

		if (c->recovery != TCP_REC_NONE) {
			if (seq_ge(ack, c->recover)) {
				exit_recovery(st, c);
			} else {
				TCP_STAT(st, partial_acks, 1);
				if (c->recovery == TCP_REC_LOSS) {
					/* RFC 6675 5.1: the repair after an RTO slow-starts. */
					tcp_cc(c)->on_ack(c, acked, st->now_us);
				} else if (c->recovery == TCP_REC_NEWRENO) {
					/*
					 * RFC 6582 3.2 step 4: resend the next hole at once and
					 * deflate by what was acknowledged, adding back one SMSS.
					 */
					tcp_retransmit_head(w, c);
					c->cwnd = c->cwnd > acked ? c->cwnd - acked : 0;
					if (acked >= c->mss)
						c->cwnd += c->mss;
					if (c->cwnd < c->mss)
						c->cwnd = c->mss;
				}
			}
		} else {
			tcp_cc(c)->on_ack(c, acked, st->now_us);
			c->dupacks = 0;
		}
		tlp_ack(st, c, s, ack);
		/* RFC 6298 5.2 and 5.3: stop when all is acknowledged, else restart. */
		if (c->snd_una == c->snd_max) {
			tcp_timer_stop(st, c, TCP_T_RTX);
		} else {
			uint64_t rto = c->rto_ms;
			tcp_timer_set(st, c, TCP_T_RTX, rto > st->p.rto_max_ms ? st->p.rto_max_ms : rto);
		}
		if ((c->flags & CF_WANT_WRITABLE) && can_post_writable(c)) {
			c->flags &= ~CF_WANT_WRITABLE;
			c->want_space = 0;
			tcp_post(c, TCP_EV_WRITABLE);
		}
	} else if (ack == c->snd_una && c->snd_max != c->snd_una) {
		/*
		 * A duplicate ACK: RFC 5681 2 (no data, no SYN/FIN, same window,
		 * data outstanding), or with SACK an ACK bringing new SACK
		 * information (RFC 6675 2).
		 */
		bool dup = (c->flags & CF_SACK) ? sack_news
						 : (s->len == 0 && !(s->flags & (TCP_SYN | TCP_FIN)) && wnd == c->snd_wnd);
		if (dup) {
			c->dupacks++;
			TCP_STAT(st, dup_acks, 1);
			if (c->recovery == TCP_REC_NONE) {
				bool lost = c->dupacks >= TCP_DUPTHRESH ||
					    ((c->flags & CF_SACK) && tcp_sack_is_lost(c, c->snd_una));
				/* RFC 6582 3.2 step 2: not for data sent before the last recovery or RTO. */
				if (lost && seq_ge(ack, c->recover))
					tcp_enter_recovery(w, c);
			} else if (c->recovery == TCP_REC_NEWRENO) {
				c->cwnd += c->mss; /* RFC 5681 3.2 step 4 */
			}
		}
	}
	if (c->flags & CF_SACK) {
		tcp_loss_detect(c);
		tcp_reo_arm(st, c);
	}

	/* Window update (3.10.7.4 fifth, ESTABLISHED): only from a newer segment. */
	if (seq_lt(c->snd_wl1, s->seq) || (c->snd_wl1 == s->seq && seq_le(c->snd_wl2, ack))) {
		c->snd_wnd = wnd;
		c->snd_wl1 = s->seq;
		c->snd_wl2 = ack;
		if (wnd > c->max_snd_wnd)
			c->max_snd_wnd = wnd;
		if (wnd > 0 && (c->flags & CF_PERSIST)) {
			c->flags &= ~CF_PERSIST;
			tcp_timer_stop(st, c, TCP_T_RTX);
			c->backoff = 0;
		}
	}

	/* Our FIN acknowledged: the close proceeds. */
	if (our_fin_acked(c)) {
		switch (c->state) {
		case TCP_FIN_WAIT_1:
			tcp_set_state(st, c, TCP_FIN_WAIT_2);
			tcp_timer_stop(st, c, TCP_T_RTX);
			if (c->flags & CF_ORPHAN)
				tcp_timer_set(st, c, TCP_T_WAIT, st->p.fin_wait2_ms);
			break;
		case TCP_CLOSING:
			enter_time_wait(w, c);
			break;
		case TCP_LAST_ACK:
			enter_closed(w, c);
			rte_pktmbuf_free(m);
			return false;
		default:
			break;
		}
	}
	return true;
}

/*
 * Append an in-order segment to the receive queue, copying runts into the
 * tail to bound mbufs. Takes ownership of m (len payload bytes).
 */
static void rcvq_append(struct tcp_conn *c, struct rte_mbuf *m, uint32_t len)
{
	struct tcp_q *q = &c->rcvq;
	struct rte_mbuf *t = q->tail;

	if (t && m->nb_segs == 1 && len <= TCP_COPY_MAX && RTE_MBUF_DIRECT(t) && rte_mbuf_refcnt_read(t) == 1 &&
	    rte_pktmbuf_tailroom(t) >= len && t->data_off + t->data_len + len <= t->buf_len) {
		/* Small segments would pin a 2 KB buffer each: a window of them could drain the pool. */
		memcpy(rte_pktmbuf_mtod_offset(t, uint8_t *, t->data_len), rte_pktmbuf_mtod(m, uint8_t *), len);
		t->data_len += len;
		q->bytes += len;
		rte_pktmbuf_free(m);
		return;
	}
	if (t)
		t->next = m;
	else
		q->head = m;
	while (m->next)
		m = m->next;
	q->tail = m;
	q->bytes += len;
	q->segs++;
}

static void process_fin(struct weft_worker *w, struct tcp_conn *c);

/* Move what the out-of-order queue now continues onto the receive queue. */
static bool ooo_pull(struct weft_worker *w, struct tcp_conn *c)
{
	bool moved = false;

	while (c->ooo && seq_le(tcp_mb(c->ooo)->seq, c->rcv_nxt)) {
		struct rte_mbuf *m = c->ooo;
		struct tcp_mb *mb = tcp_mb(m);
		uint32_t seq = mb->seq, len = rte_pktmbuf_pkt_len(m), end = seq + len;
		bool fin = mb->fin;

		c->ooo = mb->qnext;
		c->ooo_segs--;
		c->ooo_bytes -= len;
		moved = true;
		if (seq_le(end, c->rcv_nxt)) {
			rte_pktmbuf_free(m);
		} else {
			uint32_t d = c->rcv_nxt - seq;
			if (d)
				m = chain_adj(m, d);
			len -= d;
			rcvq_append(c, m, len);
			c->rcv_nxt += len;
			c->bytes_in += len;
			TCP_STAT(tcp_st(w), bytes_in, len);
			tcp_post(c, TCP_EV_READABLE);
		}
		if (fin && c->rcv_nxt == end)
			process_fin(w, c);
	}
	return moved;
}

/* Queue an out-of-order segment, sorted, without overlap. Takes ownership of m (len may be 0 with a FIN). */
static void ooo_insert(struct weft_worker *w, struct tcp_conn *c, uint32_t seq, uint32_t len, bool fin,
		       struct rte_mbuf *m)
{
	struct tcp_stack *st = tcp_st(w);
	struct rte_mbuf **pp = &c->ooo, *prev = NULL;

	if (c->ooo_segs >= tcp_ooo_max_segs(st, c) || c->ooo_bytes + len > st->p.ooo_max_bytes) {
		TCP_STAT(st, ooo_drops, 1);
		weft_drop(w, m, WEFT_DROP_TCP_OOO_FULL);
		return;
	}
	while (*pp && seq_lt(tcp_mb(*pp)->seq, seq)) {
		prev = *pp;
		pp = &tcp_mb(*pp)->qnext;
	}
	/* Trim against the predecessor's end. */
	if (prev) {
		uint32_t pend = tcp_mb(prev)->seq + rte_pktmbuf_pkt_len(prev);
		if (seq_ge(pend, seq + len) && !(fin && !tcp_mb(prev)->fin && pend == seq + len)) {
			rte_pktmbuf_free(m); /* nothing new */
			return;
		}
		if (seq_gt(pend, seq)) {
			uint32_t d = pend - seq;
			if (d >= len) {
				/* Only the FIN is new, and it lands at the predecessor's end. */
				tcp_mb(prev)->fin = 1;
				rte_pktmbuf_free(m);
				return;
			}
			m = chain_adj(m, d);
			seq += d;
			len -= d;
		}
	}
	/* Successors the new segment covers go; a partial overlap trims the new one's tail. */
	while (*pp) {
		struct rte_mbuf *n = *pp;
		uint32_t ns = tcp_mb(n)->seq, nl = rte_pktmbuf_pkt_len(n);
		if (seq_ge(ns, seq + len) && !(len == 0 && ns == seq))
			break;
		if (seq_le(ns + nl, seq + len)) {
			*pp = tcp_mb(n)->qnext;
			c->ooo_segs--;
			c->ooo_bytes -= nl;
			if (tcp_mb(n)->fin)
				fin = true;
			rte_pktmbuf_free(n);
			continue;
		}
		/* n starts inside the new segment and ends beyond it. */
		uint32_t keep = ns - seq;
		if (keep == 0) {
			rte_pktmbuf_free(m);
			return;
		}
		chain_cut(m, keep);
		len = keep;
		fin = false;
		break;
	}
	struct tcp_mb *mb = tcp_mb(m);
	mb->seq = seq;
	mb->fin = fin;
	mb->qnext = *pp;
	*pp = m;
	c->ooo_segs++;
	c->ooo_bytes += len;
	TCP_STAT(st, ooo_segs, 1);

	/* The block around the new segment becomes the first SACK block (RFC 2018 4). */
	uint32_t bs = seq, be = seq + len;
	for (struct rte_mbuf *x = c->ooo; x; x = tcp_mb(x)->qnext) {
		uint32_t xs = tcp_mb(x)->seq, xe = xs + rte_pktmbuf_pkt_len(x);
		if (seq_le(xs, be) && seq_ge(xe, bs)) {
			bs = seq_min(bs, xs);
			be = seq_max(be, xe);
		}
	}
	if (seq_lt(bs, be))
		tcp_rsack_add(c, bs, be);
}

/* Seventh step: segment text. Takes ownership of m; len bytes of payload at seq (already in window). */
static void data_input(struct weft_worker *w, struct tcp_conn *c, uint32_t seq, uint32_t len, bool fin,
		       struct rte_mbuf *m)
{
	struct tcp_stack *st = tcp_st(w);

	if (seq != c->rcv_nxt) {
		/* RFC 5681 4.2: out-of-order data is acknowledged at once (a duplicate ACK). */
		ooo_insert(w, c, seq, len, fin, m);
		c->flags |= CF_ACK_NOW;
		return;
	}
	if (len > 0) {
		rcvq_append(c, m, len);
		c->rcv_nxt += len;
		c->bytes_in += len;
		TCP_STAT(st, bytes_in, len);
		tcp_post(c, TCP_EV_READABLE);
		if (len > c->rcv_mss)
			c->rcv_mss = (uint16_t)(len < 65535 ? len : 65535);
	} else {
		rte_pktmbuf_free(m);
	}
	if (fin) {
		process_fin(w, c);
		return;
	}
	if (c->ooo) {
		/* A gap closed, or part of it: ACK at once (RFC 5681 4.2) with the updated SACK blocks. */
		ooo_pull(w, c);
		tcp_rsack_trim(c);
		c->flags |= CF_ACK_NOW;
		return;
	}
	tcp_rsack_trim(c);
	/*
	 * Delayed ACK (RFC 9293 3.8.6.3, RFC 1122 4.2.3.2): at least every
	 * second full-sized segment, and within delack_ms.
	 */
	c->flags |= CF_ACK_OWED;
	if (len + TCP_TS_OPT_LEN >= c->rcv_mss)
		c->unacked_segs++;
	if (c->unacked_segs >= 2)
		c->flags |= CF_ACK_NOW;
	else if (c->tmr[TCP_T_DELACK] == 0)
		tcp_timer_set(st, c, TCP_T_DELACK, st->p.delack_ms);
}

/* Eighth step: the FIN, once everything before it has arrived. */
static void process_fin(struct weft_worker *w, struct tcp_conn *c)
{
	struct tcp_stack *st = tcp_st(w);

	if (c->flags & CF_FIN_RCVD)
		return;
	c->flags |= CF_FIN_RCVD | CF_ACK_NOW;
	c->rcv_nxt++;
	tcp_post(c, TCP_EV_PEER_CLOSED);
	switch (c->state) {
	case TCP_SYN_RECEIVED:
	case TCP_ESTABLISHED:
		tcp_set_state(st, c, TCP_CLOSE_WAIT);
		break;
	case TCP_FIN_WAIT_1:
		if (our_fin_acked(c))
			enter_time_wait(w, c);
		else
			tcp_set_state(st, c, TCP_CLOSING); /* simultaneous close (3.6, figure 13) */
		break;
	case TCP_FIN_WAIT_2:
		enter_time_wait(w, c);
		break;
	default:
		break;
	}
}

/* RFC 6191 / RFC 1122 4.2.2.13: may a new SYN take over a TIME-WAIT tuple? */
/*
 * Keep a segment's header (its ACK field is processed) and refuse its text
 * and FIN like an out-of-window segment, answered at once. Returns m
 * without the text.
 */
static struct rte_mbuf *refuse_text(struct weft_worker *w, struct tcp_conn *c, struct rte_mbuf *m, uint32_t *len,
				    bool *fin)
{
	if (*len || *fin) {
		WEFT_CTR_ADD(w->ctr->drops[WEFT_DROP_TCP_OUT_OF_WINDOW], 1);
		c->flags |= CF_ACK_NOW;
	}
	if (*len) {
		m = chain_adj(m, *len);
		*len = 0;
	}
	*fin = false;
	return m;
}

static bool time_wait_reusable(const struct tcp_conn *c, const struct tcp_seg *s)
{
	if ((c->flags & CF_TS) && s->opt.has_ts)
		return seq_gt(s->opt.tsval, c->ts_recent);
	return seq_gt(s->seq, c->rcv_nxt);
}

/*
 * A segment for connection c, m holding its payload (possibly empty) at the
 * data offset. Takes ownership of m.
 */
static void conn_input(struct weft_worker *w, struct tcp_conn *c, struct tcp_seg *s, struct rte_mbuf *m)
{
	struct tcp_stack *st = tcp_st(w);
	uint32_t seglen, wnd, seq, len;
	bool fin;

	TCP_STAT(st, segs_in, 1);
	if (c->state == TCP_CLOSED) {
		/* Closed, waiting for the application to drain: the tuple is dead to the network. */
		tcp_send_rst_reply(w, c->port, &c->ep, s);
		weft_drop(w, m, WEFT_DROP_TCP_NO_CONN);
		return;
	}
	if (c->state == TCP_SYN_SENT) {
		syn_sent_input(w, c, s, m);
		return;
	}

	/*
	 * A new SYN on a TIME-WAIT tuple (RFC 6191) ends the old incarnation,
	 * once the application is done with it: until its CLOSED event (the
	 * reader still draining, or the event not delivered yet) it holds the
	 * pointer, and freeing the connection under it would leave it dangling.
	 * Meanwhile the SYN gets the TIME-WAIT answer; the peer retries.
	 */
	if (c->state == TCP_TIME_WAIT && (s->flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN &&
	    !(c->flags & CF_ATTACHED) && time_wait_reusable(c, s)) {
		uint32_t old = c->snd_max;
		uint16_t port = c->port;
		struct tcp_endpoints ep = c->ep;
		TCP_STAT(st, time_wait_reuse, 1);
		tcp_conn_free(w, c);
		listen_input(w, port, &ep, s, m, old + 65536, true);
		return;
	}
	/* A retransmitted SYN while our SYN-ACK is on its way: send the SYN-ACK again. */
	if (c->state == TCP_SYN_RECEIVED && (s->flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN && s->seq == c->irs) {
		tcp_xmit(w, c, c->iss, 0, TCP_SYN | TCP_ACK);
		rte_pktmbuf_free(m);
		return;
	}

	/*
	 * Simultaneous open: the peer's SYN-ACK crosses ours (RFC 9293 3.5,
	 * figure 8). Its SYN is the one we already hold; what is new is the
	 * ACK of our SYN, so process it as the handshake's final ACK.
	 */
	if (c->state == TCP_SYN_RECEIVED && (s->flags & (TCP_SYN | TCP_ACK | TCP_RST)) == (TCP_SYN | TCP_ACK) &&
	    s->seq == c->irs && s->ack == c->snd_max && s->len == 0) {
		s->flags &= (uint8_t)~TCP_SYN;
		s->seq = c->irs + 1;
	}

	/*
	 * RFC 7323 5.3 R1: PAWS, before the sequence check, with a tolerance
	 * of one tick of the peer's clock (as Linux's TCP_PAWS_WINDOW): a pure
	 * ACK at RCV.NXT moves TS.Recent on, and a data segment sent just
	 * before it but reordered behind it would otherwise be thrown away as
	 * an old duplicate, to be sent again. Wrapped sequence numbers stay
	 * far older than one tick.
	 */
	if ((c->flags & CF_TS) && s->opt.has_ts && !(s->flags & TCP_RST) &&
	    (int32_t)(c->ts_recent - s->opt.tsval) > TCP_PAWS_WINDOW) {
		if (st->now_ms - c->ts_recent_ms > TCP_PAWS_IDLE_MS) {
			c->ts_recent = s->opt.tsval; /* R1: TS.Recent too old to be valid */
		} else {
			TCP_STAT(st, paws_rejects, 1);
			tcp_send_ack(w, c);
			weft_drop(w, m, WEFT_DROP_TCP_PAWS);
			return;
		}
	}

	/* First: is the segment acceptable (3.10.7.4, the four cases of the table)? */
	seq = s->seq;
	len = s->len;
	fin = (s->flags & TCP_FIN) != 0;
	seglen = len + ((s->flags & TCP_SYN) ? 1 : 0) + (fin ? 1 : 0);
	wnd = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	{
		bool ok;
		/*
		 * A segment without text may sit exactly at the right edge, as
		 * Linux accepts: a peer whose data filled our window sends its
		 * ACKs with SEQ = SND.NXT = RCV.NXT + RCV.WND. The strict bound of
		 * the table drops them, and two such peers that both lost data
		 * deadlock, each discarding the ACKs that would free the other.
		 */
		if (seglen == 0)
			ok = seq_ge(seq, c->rcv_nxt) && seq_le(seq, c->rcv_nxt + wnd);
		else if (wnd == 0)
			ok = false;
		else
			ok = (seq_ge(seq, c->rcv_nxt) && seq_lt(seq, c->rcv_nxt + wnd)) ||
			     (seq_ge(seq + seglen - 1, c->rcv_nxt) && seq_lt(seq + seglen - 1, c->rcv_nxt + wnd));
		/* A closed window still takes ACKs and RSTs at RCV.NXT: keep the header, refuse the text. */
		if (!ok && wnd == 0 && seq == c->rcv_nxt) {
			ok = true;
			m = refuse_text(w, c, m, &len, &fin);
		}
		/*
		 * An old duplicate (its text ends at or below RCV.NXT) still carries
		 * the peer's latest ACK and SACK blocks: it is a retransmission or a
		 * loss probe of data we hold, sent because our ACK was lost. In a
		 * two-way transfer dropping it whole also throws away the only news
		 * of our own data, and our sender then waits for its RTO. As 4.4BSD
		 * does (and Linux for one that ends at RCV.NXT), the text is refused
		 * and answered with an ACK at once, and the ACK field is processed.
		 */
		if (!ok && (len || fin) && !(s->flags & (TCP_RST | TCP_SYN)) && seq_le(seq + seglen, c->rcv_nxt) &&
		    (uint32_t)(c->rcv_nxt - seq) <= c->rcvbuf + 65535u &&
		    (c->state == TCP_ESTABLISHED || c->state == TCP_FIN_WAIT_1 || c->state == TCP_FIN_WAIT_2 ||
		     c->state == TCP_CLOSE_WAIT || c->state == TCP_CLOSING || c->state == TCP_LAST_ACK)) {
			ok = true;
			m = refuse_text(w, c, m, &len, &fin);
		}
		if (!ok) {
			if (s->flags & TCP_RST) {
				weft_drop(w, m, WEFT_DROP_TCP_BAD_RST);
				return;
			}
			/* TIME-WAIT: a retransmitted FIN; ACK it and restart the 2 MSL wait. */
			if (c->state == TCP_TIME_WAIT && fin)
				tcp_timer_set(st, c, TCP_T_WAIT, st->p.time_wait_ms);
			tcp_send_ack(w, c);
			weft_drop(w, m, WEFT_DROP_TCP_OUT_OF_WINDOW);
			return;
		}
	}
	c->last_rx_ms = st->now_ms;
	c->keep_probes = 0;

	/* Second: RST (RFC 5961 3.2: exactly RCV.NXT resets, elsewhere in the window challenges). */
	if (s->flags & TCP_RST) {
		/*
		 * TIME-WAIT ignores RSTs (RFC 1337 section 3, fix F1): both FINs
		 * are through, so an RST can only assassinate the wait early, and
		 * with it data the application has not read yet, which the peer
		 * already saw acknowledged.
		 */
		if (c->state == TCP_TIME_WAIT) {
			weft_drop(w, m, WEFT_DROP_TCP_BAD_RST);
			return;
		}
		if (seq != c->rcv_nxt) {
			tcp_send_challenge_ack(w, c);
			weft_drop(w, m, WEFT_DROP_TCP_BAD_RST);
			return;
		}
		rte_pktmbuf_free(m);
		TCP_STAT(st, resets_in, 1);
		if (c->state == TCP_SYN_RECEIVED && !(c->flags & CF_ATTACHED))
			tcp_conn_free(w, c); /* passive open: back to "listen", which is nothing here */
		else
			tcp_conn_reset(w, c);
		return;
	}

	/* Fourth: SYN in a synchronized state (RFC 5961 4.2): challenge ACK, drop. */
	if (s->flags & TCP_SYN) {
		tcp_send_challenge_ack(w, c);
		weft_drop(w, m, WEFT_DROP_TCP_BAD_SYN);
		return;
	}

	/* Fifth: the ACK field. */
	if (!(s->flags & TCP_ACK)) {
		weft_drop(w, m, WEFT_DROP_TCP_BAD_FLAGS);
		return;
	}

	/* RFC 7323 4.3: remember the timestamp to echo, from segments at the left window edge. */
	if ((c->flags & CF_TS) && s->opt.has_ts && seq_ge(s->opt.tsval, c->ts_recent) && seq_le(seq, c->last_ack_sent)) {
		c->ts_recent = s->opt.tsval;
		c->ts_recent_ms = st->now_ms;
	}

	if (c->state == TCP_SYN_RECEIVED) {
		if (!(seq_gt(s->ack, c->snd_una) && seq_le(s->ack, c->snd_max))) {
			tcp_send_rst_reply(w, c->port, &c->ep, s);
			weft_drop(w, m, WEFT_DROP_TCP_BAD_ACK);
			return;
		}
		if ((c->flags & CF_RTT_TIMING) && !(c->flags & CF_SYN_RTX))
			tcp_rtt_sample(st, c, (uint32_t)(st->now_us - c->rtt_start_us));
		else if (c->flags & CF_SYN_RTX)
			c->rto_ms = 3000 > st->p.rto_max_ms ? st->p.rto_max_ms : 3000; /* RFC 6298 5.7 */
		c->flags &= ~CF_RTT_TIMING;
		c->backoff = 0;
		tcp_timer_stop(st, c, TCP_T_RTX);
		c->snd_una = s->ack;
		c->snd_wnd = s->wnd << c->snd_wscale;
		c->max_snd_wnd = c->snd_wnd;
		c->snd_wl1 = seq;
		c->snd_wl2 = s->ack;
		tcp_set_state(st, c, TCP_ESTABLISHED);
		if (c->flags & CF_PASSIVE)
			TCP_STAT(st, passive_opens, 1);
		post_established(st, c);
		if (c->flags & CF_FIN_QUEUED) {
			c->fin_seq = c->sndq_seq + c->sndq.bytes;
			tcp_set_state(st, c, TCP_FIN_WAIT_1);
		}
	}
	if (!ack_input(w, c, s, m))
		return;
	if (c->flags & CF_DEAD) {
		rte_pktmbuf_free(m);
		return;
	}

	/* Seventh: text, in ESTABLISHED, FIN-WAIT-1 and FIN-WAIT-2 only. */
	if (len > 0 || fin) {
		bool takes_text = c->state == TCP_ESTABLISHED || c->state == TCP_FIN_WAIT_1 ||
				  c->state == TCP_FIN_WAIT_2;
		if (!takes_text) {
			/* After the peer's FIN nothing new can arrive; a retransmission is acknowledged. */
			if (c->state == TCP_TIME_WAIT && fin)
				tcp_timer_set(st, c, TCP_T_WAIT, st->p.time_wait_ms);
			c->flags |= CF_ACK_NOW;
			rte_pktmbuf_free(m);
			return;
		}
		if ((c->flags & CF_RCV_SHUT) && len > 0) {
			/* RFC 9293 3.10.7.4 / RFC 1122 4.2.2.13: the application is gone; say so with RST. */
			TCP_STAT(st, rst_after_close, 1);
			tcp_send_rst(w, c);
			weft_drop(w, m, WEFT_DROP_TCP_AFTER_CLOSE);
			tcp_conn_free(w, c);
			return;
		}
		/* Trim to the window: the left edge (old data) and the right edge. */
		if (seq_lt(seq, c->rcv_nxt)) {
			uint32_t d = c->rcv_nxt - seq;
			if (d >= len) {
				m = chain_adj(m, len);
				len = 0;
			} else {
				m = chain_adj(m, d);
				len -= d;
			}
			seq = c->rcv_nxt;
		}
		if (seq_gt(seq + len, c->rcv_nxt + wnd)) {
			uint32_t keep = c->rcv_nxt + wnd - seq;
			if (keep == 0) {
				m = chain_adj(m, len);
				len = 0;
			} else {
				chain_cut(m, keep);
				len = keep;
			}
			fin = false; /* the FIN lies beyond the window */
		}
		if (m == NULL) {
			/* All payload trimmed: keep an empty mbuf only if a FIN must be queued out of order. */
			if (fin && seq != c->rcv_nxt) {
				m = rte_pktmbuf_alloc(w->pool);
				if (m == NULL) {
					c->flags |= CF_ACK_NOW;
					return;
				}
			} else {
				if (fin)
					process_fin(w, c);
				else
					c->flags |= CF_ACK_NOW;
				return;
			}
		}
		data_input(w, c, seq, len, fin, m);
		return;
	}
	rte_pktmbuf_free(m);
}

void tcp_input(struct weft_worker *w, uint16_t port, struct rte_mbuf *m, const struct weft_ip *src,
	       const struct weft_ip *dst)
{
	struct tcp_stack *st = tcp_st(w);
	const struct rte_tcp_hdr *th;
	struct tcp_endpoints ep;
	struct tcp_seg s;
	struct tcp_conn *c;
	uint32_t len = rte_pktmbuf_pkt_len(m), doff;

	if (st == NULL) {
		weft_drop(w, m, WEFT_DROP_TCP_NO_LISTENER);
		return;
	}
	tcp_clock(w);
	if (len < TCP_HDR_LEN || rte_pktmbuf_data_len(m) < TCP_HDR_LEN) {
		weft_drop(w, m, WEFT_DROP_TCP_BAD_HEADER);
		return;
	}
	th = rte_pktmbuf_mtod(m, const struct rte_tcp_hdr *);
	doff = (uint32_t)(th->data_off >> 4) * 4;
	if (doff < TCP_HDR_LEN || doff > len || doff > rte_pktmbuf_data_len(m) || th->src_port == 0 ||
	    th->dst_port == 0) {
		weft_drop(w, m, WEFT_DROP_TCP_BAD_HEADER);
		return;
	}
	/* TCP is unicast (RFC 9293 3.9.1): nothing to answer on a group address, not even an RST. */
	if (dst->af == 6 && dst->v6[0] == 0xff) {
		weft_drop(w, m, WEFT_DROP_TCP_NO_LISTENER);
		return;
	}
	if (!checksum_ok(m, src, dst)) {
		weft_drop(w, m, WEFT_DROP_TCP_BAD_CHECKSUM);
		return;
	}
	s.seq = rte_be_to_cpu_32(th->sent_seq);
	s.ack = rte_be_to_cpu_32(th->recv_ack);
	s.wnd = rte_be_to_cpu_16(th->rx_win);
	s.flags = th->tcp_flags & (TCP_FIN | TCP_SYN | TCP_RST | TCP_PSH | TCP_ACK | TCP_URG);
	s.len = len - doff;
	parse_options((const uint8_t *)(th + 1), doff - TCP_HDR_LEN, (s.flags & TCP_SYN) != 0, &s.opt);

	memset(&ep, 0, sizeof(ep));
	ep.local = *dst;
	ep.remote = *src;
	ep.lport = rte_be_to_cpu_16(th->dst_port);
	ep.rport = rte_be_to_cpu_16(th->src_port);
	ep.port = port;

	/* From here on m holds the payload only (possibly empty). */
	rte_pktmbuf_adj(m, (uint16_t)doff);

	c = tcp_conn_lookup(st, &ep);
	st->depth++;
	if (c == NULL)
		no_conn_input(w, port, &ep, &s, m);
	else
		conn_input(w, c, &s, m);
	st->depth--;
	/* The connection may have been created by this segment (cookie ACK, TIME-WAIT reuse). */
	if (c == NULL || (c->flags & CF_DEAD))
		c = tcp_conn_lookup(st, &ep);
	if (c != NULL && !(c->flags & CF_DEAD))
		tcp_finish(w, c);
	tcp_reap(w);
}
