/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The per-worker timer wheel and what happens when timers fire.
 *
 * A hashed wheel (Varghese and Lauck, 1987) of 4096 one-millisecond slots.
 * A connection has one entry, filed under the earliest of its deadlines
 * (retransmission, delayed ACK, keepalive, wait); each deadline lives in
 * the connection. Moving a deadline later (every ACK restarts the RTO)
 * touches nothing in the wheel: the entry fires early, finds nothing due
 * and is filed again under the new earliest deadline. Only a deadline that
 * moves earlier re-files the entry. Deadlines beyond one turn (keepalive,
 * long RTOs) stay in their slot and are skipped until their turn comes.
 */
#include "dataplane/tcp/tcp_priv.h"

static void wheel_link(struct tcp_stack *st, struct tcp_conn *c, uint64_t at)
{
	if (at <= st->wheel_ms)
		at = st->wheel_ms + 1; /* already due: the next slot processed */
	struct tcp_conn **slot = &st->wheel[at & (TCP_WHEEL_SLOTS - 1)];
	c->wheel_at = at;
	c->tw_prev = NULL;
	c->tw_next = *slot;
	if (*slot)
		(*slot)->tw_prev = c;
	*slot = c;
	c->flags |= CF_IN_WHEEL;
}

void tcp_timer_unlink(struct tcp_stack *st, struct tcp_conn *c)
{
	if (!(c->flags & CF_IN_WHEEL))
		return;
	if (c->tw_prev)
		c->tw_prev->tw_next = c->tw_next;
	else
		st->wheel[c->wheel_at & (TCP_WHEEL_SLOTS - 1)] = c->tw_next;
	if (c->tw_next)
		c->tw_next->tw_prev = c->tw_prev;
	c->tw_next = c->tw_prev = NULL;
	c->flags &= ~CF_IN_WHEEL;
}

static uint64_t earliest(const struct tcp_conn *c)
{
	uint64_t d = 0;
	for (unsigned t = 0; t < TCP_T_MAX; t++)
		if (c->tmr[t] && (d == 0 || c->tmr[t] < d))
			d = c->tmr[t];
	return d;
}

static void refile(struct tcp_stack *st, struct tcp_conn *c)
{
	uint64_t d = earliest(c);

	if (d == 0) {
		tcp_timer_unlink(st, c);
		return;
	}
	if ((c->flags & CF_IN_WHEEL) && c->wheel_at <= d)
		return; /* fires early, refiled then */
	tcp_timer_unlink(st, c);
	wheel_link(st, c, d);
}

void tcp_timer_set(struct tcp_stack *st, struct tcp_conn *c, enum tcp_timer t, uint64_t after_ms)
{
	if (c->flags & CF_DEAD)
		return;
	c->tmr[t] = st->now_ms + after_ms;
	if (c->tmr[t] == 0)
		c->tmr[t] = 1;
	refile(st, c);
}

void tcp_timer_stop(struct tcp_stack *st, struct tcp_conn *c, enum tcp_timer t)
{
	(void)st;
	c->tmr[t] = 0; /* lazily: the wheel entry, if any, finds nothing due */
}

static uint64_t rto_backed_off(const struct tcp_stack *st, const struct tcp_conn *c)
{
	uint64_t rto = (uint64_t)c->rto_ms << (c->backoff < 16 ? c->backoff : 16);
	return rto > st->p.rto_max_ms ? st->p.rto_max_ms : rto;
}

void tcp_rtx_arm(struct tcp_stack *st, struct tcp_conn *c)
{
	bool outstanding = c->snd_max != c->snd_una;

	if (!outstanding) {
		if (!(c->flags & CF_PERSIST))
			tcp_timer_stop(st, c, TCP_T_RTX);
		return;
	}
	c->flags &= ~CF_PERSIST;
	/* RFC 6298 5.1: start it if it is not running. */
	if (c->tmr[TCP_T_RTX] == 0)
		tcp_timer_set(st, c, TCP_T_RTX, rto_backed_off(st, c));
}

void tcp_keepalive_arm(struct tcp_stack *st, struct tcp_conn *c)
{
	if (c->keep_idle_ms == 0) {
		tcp_timer_stop(st, c, TCP_T_KEEP);
		return;
	}
	if (c->tmr[TCP_T_KEEP] == 0)
		tcp_timer_set(st, c, TCP_T_KEEP, c->keep_idle_ms);
}

/*
 * RFC 8985 7.2: a tail loss probe is due 2 SRTT after the last new data
 * or new ACK when the connection has SACK (the probe's ACK must tell what
 * is missing), no probe outstanding and no timeout being repaired without
 * progress (backoff). One segment in flight may be held by a delayed ACK:
 * add the worst case (WCDelAckT, 200 ms). The probe never comes later than
 * the RTO. A floor of 10 ms (as Linux) keeps short paths from probing at
 * every pause of the sender.
 *
 * Unlike RFC 8985, which probes only in the open state, the probe also
 * runs in SACK recovery and in the repair after an RTO once it has made
 * progress, as QUIC's probe timeout does (RFC 9002 6.2): a recovery whose
 * last ACK is lost, with cwnd spent on segments that already arrived,
 * otherwise waits for the RTO (200 ms against a path's 0.1 ms) although
 * new data is ready. The probe's ACK tells what arrived; in recovery it
 * changes no window.
 */
#define TCP_PTO_MIN_MS 10u
#define TCP_WCDELACK_MS 200u

static bool tlp_allowed(const struct tcp_conn *c)
{
	return (c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT || c->state == TCP_FIN_WAIT_1 ||
		c->state == TCP_LAST_ACK || c->state == TCP_CLOSING) &&
	       (c->flags & CF_SACK) && !(c->flags & (CF_TLP_OUT | CF_PERSIST | CF_DEAD)) &&
	       c->recovery != TCP_REC_NEWRENO && c->backoff == 0 && c->snd_max != c->snd_una;
}

void tcp_tlp_arm(struct tcp_stack *st, struct tcp_conn *c, bool restart)
{
	if (!st->p.tlp || !tlp_allowed(c)) {
		tcp_timer_stop(st, c, TCP_T_PTO);
		return;
	}
	if (c->tmr[TCP_T_PTO] && !restart)
		return;
	uint64_t pto = c->srtt_us ? (2ull * c->srtt_us + 999) / 1000 : 1000;
	if (pto < TCP_PTO_MIN_MS)
		pto = TCP_PTO_MIN_MS;
	if (c->snd_max - c->snd_una <= c->mss)
		pto += TCP_WCDELACK_MS;
	if (c->tmr[TCP_T_RTX] > st->now_ms && c->tmr[TCP_T_RTX] - st->now_ms < pto)
		pto = c->tmr[TCP_T_RTX] - st->now_ms;
	tcp_timer_set(st, c, TCP_T_PTO, pto);
}

/*
 * RACK's reordering window (RFC 8985 6.2 step 4): a quarter of the RTT
 * (SRTT standing in for the minimum), at least one tick of the wheel;
 * once the path was seen reordering, a whole SRTT (the RFC's multiplier
 * grown to its bound).
 */
static uint64_t reo_wnd_ms(const struct tcp_conn *c)
{
	uint64_t us = (c->flags & CF_REORD) ? c->srtt_us : c->srtt_us / 4;
	uint64_t ms = (us + 999) / 1000;
	return ms ? ms : 1;
}

/* A hole at SND.UNA with SACKed data above it, in the open state: only the reordering window can end it. */
static bool reo_candidate(const struct tcp_conn *c)
{
	return (c->flags & CF_SACK) && c->recovery == TCP_REC_NONE && c->sb_n && c->snd_max != c->snd_una &&
	       seq_ge(c->snd_una, c->recover) && !(c->flags & (CF_PERSIST | CF_DEAD)) &&
	       (c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT || c->state == TCP_FIN_WAIT_1 ||
		c->state == TCP_CLOSING || c->state == TCP_LAST_ACK);
}

void tcp_reo_arm(struct tcp_stack *st, struct tcp_conn *c)
{
	if (!reo_candidate(c)) {
		tcp_timer_stop(st, c, TCP_T_REO);
		return;
	}
	if (c->tmr[TCP_T_REO] == 0)
		tcp_timer_set(st, c, TCP_T_REO, reo_wnd_ms(c));
}

/* The reordering window passed and the hole is still there: it is lost (RFC 8985 6.3). */
static void on_reo(struct weft_worker *w, struct tcp_conn *c)
{
	if (!reo_candidate(c))
		return;
	TCP_STAT(tcp_st(w), rack_timeouts, 1);
	tcp_enter_recovery(w, c);
}

/* RFC 8985 7.3: the probe timer expired: send the probe, then let the RTO guard it. */
static void on_pto(struct weft_worker *w, struct tcp_conn *c)
{
	struct tcp_stack *st = tcp_st(w);

	if (!st->p.tlp || !tlp_allowed(c))
		return;
	tcp_tlp_send(w, c);
	tcp_timer_set(st, c, TCP_T_RTX, rto_backed_off(st, c));
}

/* The handshake segment was not answered: resend it or give up. */
static void rtx_handshake(struct weft_worker *w, struct tcp_conn *c)
{
	struct tcp_stack *st = tcp_st(w);

	if (c->backoff >= st->p.syn_retries) {
		if (c->state == TCP_SYN_SENT)
			TCP_STAT(st, connect_failed, 1);
		TCP_STAT(st, timeouts, 1);
		tcp_conn_reset(w, c); /* a passive half-open is freed unseen */
		return;
	}
	c->backoff++;
	c->flags |= CF_SYN_RTX;
	c->flags &= ~CF_RTT_TIMING;
	TCP_STAT(st, retransmits, 1);
	c->retransmits++;
	tcp_xmit(w, c, c->iss, 0, c->state == TCP_SYN_SENT ? TCP_SYN : TCP_SYN | TCP_ACK);
	tcp_timer_set(st, c, TCP_T_RTX, rto_backed_off(st, c));
}

/* RFC 9293 3.8.6.1: probe a zero window, backing off like the RTO (SHLD-29, SHLD-30). */
static void rtx_persist(struct weft_worker *w, struct tcp_conn *c)
{
	struct tcp_stack *st = tcp_st(w);

	if (c->snd_wnd != 0 || c->snd_max != c->snd_una) {
		c->flags &= ~CF_PERSIST;
		tcp_output(w, c);
		return;
	}
	/*
	 * RFC 1122 4.2.2.17: keep probing as long as the receiver answers.
	 * Probes nobody answers count like retransmissions.
	 */
	if (c->keep_probes >= st->p.max_retries) {
		TCP_STAT(st, timeouts, 1);
		tcp_send_rst(w, c);
		tcp_conn_reset(w, c);
		return;
	}
	c->keep_probes++;
	TCP_STAT(st, zero_window_probes, 1);
	tcp_send_probe(w, c);
	if (c->backoff < 16)
		c->backoff++;
	tcp_timer_set(st, c, TCP_T_RTX, rto_backed_off(st, c));
}

/* RFC 6298 5.4 to 5.7 and RFC 5681 3.1: the retransmission timer expired. */
static void rtx_data(struct weft_worker *w, struct tcp_conn *c)
{
	struct tcp_stack *st = tcp_st(w);

	if (c->snd_max == c->snd_una)
		return;
	if (c->backoff >= st->p.max_retries) {
		TCP_STAT(st, timeouts, 1);
		tcp_send_rst(w, c);
		tcp_conn_reset(w, c);
		return;
	}
	TCP_STAT(st, rto_fires, 1);
	/*
	 * RFC 5681 eq. 4 on the first timeout of a series only: ssthresh stays
	 * put while the same segment times out again. The prior window is kept
	 * to undo a spurious timeout (detected with timestamps).
	 */
	if (c->backoff == 0) {
		c->prior_cwnd = c->cwnd;
		c->prior_ssthresh = c->ssthresh;
		c->rto_tsval = tcp_tsval(st, c);
		tcp_cc(c)->on_rto(c, st->now_us);
	}
	c->cwnd = c->mss; /* loss window, one segment */
	c->flags &= ~CF_TLP_OUT; /* the probe (if any) was lost too */
	tcp_timer_stop(st, c, TCP_T_PTO);
	c->dupacks = 0;
	/* RFC 6582 4: no fast retransmit for data sent before the timeout. */
	c->recover = c->snd_max;
	c->high_rxt = c->snd_una;
	c->rxt_n = 0;
	c->flags &= ~(CF_RTT_TIMING | CF_RESCUE); /* Karn: no sample from a retransmitted segment */
	if (c->flags & CF_SACK) {
		/*
		 * RFC 6675 5.1: the slow start that follows uses what the peer
		 * SACKed: every unSACKed octet outstanding is lost and goes again,
		 * SACKed ones do not (as Linux's loss state). RFC 2018 8 lets a
		 * receiver renege on SACKed data: a second timeout in a row forgets
		 * the scoreboard, and everything from SND.UNA goes again.
		 */
		if (c->backoff > 0)
			tcp_sack_clear(c);
		c->recovery = TCP_REC_LOSS;
		c->lost_below = c->snd_max;
		TCP_STAT(st, rto_recoveries, 1);
	} else {
		/* Without SACK: go back N from SND.UNA. */
		c->recovery = TCP_REC_NONE;
		c->snd_nxt = c->snd_una;
	}
	c->backoff++;
	tcp_retransmit_head(w, c);
	tcp_timer_set(st, c, TCP_T_RTX, rto_backed_off(st, c));
}

static void on_rtx(struct weft_worker *w, struct tcp_conn *c)
{
	if (c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED)
		rtx_handshake(w, c);
	else if (c->flags & CF_PERSIST)
		rtx_persist(w, c);
	else
		rtx_data(w, c);
}

/* RFC 1122 4.2.3.6: probe an idle connection; reset it when nobody answers. */
static void on_keepalive(struct weft_worker *w, struct tcp_conn *c)
{
	struct tcp_stack *st = tcp_st(w);
	uint64_t idle = st->now_ms - c->last_rx_ms;

	if (c->keep_idle_ms == 0 || (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT))
		return;
	/* Data in flight has its own timer; traffic since the last look restarts the idle period. */
	if (c->snd_max != c->snd_una || idle < c->keep_idle_ms) {
		c->keep_probes = 0;
		uint64_t left = idle < c->keep_idle_ms ? c->keep_idle_ms - idle : c->keep_idle_ms;
		tcp_timer_set(st, c, TCP_T_KEEP, left);
		return;
	}
	if (c->keep_probes >= c->keep_max) {
		TCP_STAT(st, timeouts, 1);
		tcp_send_rst(w, c);
		tcp_conn_reset(w, c);
		return;
	}
	c->keep_probes++;
	TCP_STAT(st, keepalive_probes, 1);
	tcp_send_probe(w, c);
	tcp_timer_set(st, c, TCP_T_KEEP, c->keep_intvl_ms);
}

static void on_wait(struct weft_worker *w, struct tcp_conn *c)
{
	struct tcp_stack *st = tcp_st(w);

	if (c->state == TCP_TIME_WAIT) {
		/* The application still holds it (unread data before CLOSED): give it time. */
		if (c->flags & CF_ATTACHED) {
			tcp_timer_set(st, c, TCP_T_WAIT, 1000);
			return;
		}
		tcp_conn_free(w, c);
	} else if (c->state == TCP_FIN_WAIT_2 && (c->flags & CF_ORPHAN)) {
		/* Nobody will read what the peer still sends; do not wait for its FIN forever. */
		tcp_conn_free(w, c);
	}
}

static void on_delack(struct weft_worker *w, struct tcp_conn *c)
{
	struct tcp_stack *st = tcp_st(w);

	if (!(c->flags & (CF_ACK_OWED | CF_ACK_NOW)))
		return;
	TCP_STAT(st, delayed_acks, 1);
	tcp_send_ack(w, c);
}

static void handle(struct weft_worker *w, struct tcp_conn *c)
{
	struct tcp_stack *st = tcp_st(w);
	static void (*const fns[TCP_T_MAX])(struct weft_worker *, struct tcp_conn *) = {
		[TCP_T_RTX] = on_rtx,
		[TCP_T_DELACK] = on_delack,
		[TCP_T_KEEP] = on_keepalive,
		[TCP_T_WAIT] = on_wait,
		[TCP_T_EVENT] = NULL, /* its work is the tcp_finish() below */
		[TCP_T_PTO] = on_pto,
		[TCP_T_REO] = on_reo,
	};
	static const enum tcp_timer order[TCP_T_MAX] = {TCP_T_WAIT, TCP_T_EVENT, TCP_T_RTX, TCP_T_REO,
							TCP_T_PTO,  TCP_T_KEEP,  TCP_T_DELACK};

	for (unsigned i = 0; i < TCP_T_MAX; i++) {
		enum tcp_timer t = order[i];
		if (c->flags & CF_DEAD)
			return;
		if (c->tmr[t] == 0 || c->tmr[t] > st->now_ms)
			continue;
		c->tmr[t] = 0;
		if (fns[t])
			fns[t](w, c);
	}
	if (c->flags & CF_DEAD)
		return;
	tcp_finish(w, c);
	if (!(c->flags & CF_DEAD))
		refile(st, c);
}

void tcp_timers(struct weft_worker *w)
{
	struct tcp_stack *st = tcp_st(w);

	if (st == NULL)
		return;
	tcp_clock(w);
	/*
	 * Frees are deferred until the end: a callback may abort another
	 * connection, which must not return to the free list (and be reused)
	 * while this loop still holds it.
	 */
	st->depth++;
	if (st->now_ms - st->wheel_ms > TCP_WHEEL_SLOTS)
		st->wheel_ms = st->now_ms - TCP_WHEEL_SLOTS;
	while (st->wheel_ms < st->now_ms) {
		uint64_t t = ++st->wheel_ms;
		struct tcp_conn *c, *next, *due = NULL;

		/*
		 * Two passes: collect what is due (entries of a later turn stay
		 * filed), then run it. Handlers may re-file any connection,
		 * including ones still waiting in the due list, which is why that
		 * list has its own link.
		 */
		for (c = st->wheel[t & (TCP_WHEEL_SLOTS - 1)]; c; c = next) {
			next = c->tw_next;
			if (c->wheel_at > st->now_ms)
				continue;
			tcp_timer_unlink(st, c);
			c->due_next = due;
			due = c;
		}
		while (due) {
			c = due;
			due = c->due_next;
			c->due_next = NULL;
			if (!(c->flags & CF_DEAD))
				handle(w, c);
		}
	}
	st->depth--;
	tcp_reap(w);
}
