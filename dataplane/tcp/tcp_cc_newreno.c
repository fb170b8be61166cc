/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NewReno window arithmetic (RFC 5681 3.1; the recovery itself, RFC 6582,
 * lives in tcp_input.c because SACK recovery shares its entry and exit).
 */
#include "dataplane/tcp/tcp_priv.h"

/* RFC 6928 2: IW = min(10 * MSS, max(2 * MSS, 14600)). */
void tcp_cc_initial_window(struct tcp_conn *c)
{
	uint32_t iw = 2u * c->mss > 14600 ? 2u * c->mss : 14600;
	if (iw > TCP_INIT_CWND_SEGS * (uint32_t)c->mss)
		iw = TCP_INIT_CWND_SEGS * (uint32_t)c->mss;
	c->cwnd = iw;
	c->ssthresh = UINT32_MAX;
	c->cc_bytes_acked = 0;
}

/*
 * RFC 5681 eq. 2: cwnd += min(N, SMSS) per ACK. Appropriate byte counting
 * with L = 2 (RFC 3465 2.2) would allow 2 * SMSS; one keeps bursts small.
 */
void tcp_cc_slow_start(struct tcp_conn *c, uint32_t acked)
{
	c->cwnd += acked < c->mss ? acked : c->mss;
}

static void reno_init(struct tcp_conn *c)
{
	tcp_cc_initial_window(c);
}

static void reno_on_ack(struct tcp_conn *c, uint32_t acked, uint64_t now_us)
{
	(void)now_us;
	if (c->cwnd < c->ssthresh) {
		tcp_cc_slow_start(c, acked);
		return;
	}
	/* RFC 5681 3.1 congestion avoidance by byte counting: one SMSS per cwnd of data acknowledged. */
	c->cc_bytes_acked += acked;
	if (c->cc_bytes_acked >= c->cwnd) {
		c->cc_bytes_acked -= c->cwnd;
		c->cwnd += c->mss;
	}
}

/* RFC 5681 eq. 4: ssthresh = max(FlightSize / 2, 2 * SMSS). */
static uint32_t half_flight(const struct tcp_conn *c)
{
	uint32_t flight = c->snd_max - c->snd_una, h = flight / 2;
	return h > 2u * c->mss ? h : 2u * c->mss;
}

static void reno_on_loss(struct tcp_conn *c, uint64_t now_us)
{
	(void)now_us;
	c->ssthresh = half_flight(c);
	c->cwnd = c->ssthresh;
	c->cc_bytes_acked = 0;
}

static void reno_on_rto(struct tcp_conn *c, uint64_t now_us)
{
	(void)now_us;
	c->ssthresh = half_flight(c);
	c->cc_bytes_acked = 0;
}

static void reno_on_exit(struct tcp_conn *c, uint64_t now_us)
{
	(void)c;
	(void)now_us;
}

const struct tcp_cc_ops tcp_cc_newreno = {
	.name = "newreno",
	.init = reno_init,
	.on_ack = reno_on_ack,
	.on_loss = reno_on_loss,
	.on_rto = reno_on_rto,
	.on_recovery_exit = reno_on_exit,
};
