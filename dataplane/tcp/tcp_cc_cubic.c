/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * CUBIC (RFC 9438). Windows inside the algorithm are in segments (doubles),
 * as the RFC writes them; struct tcp_conn keeps cwnd in bytes. Floating
 * point is cheap on the worker and the arithmetic runs once per ACK.
 */
#include "dataplane/tcp/tcp_priv.h"

#define CUBIC_C 0.4    /* RFC 9438 5 */
#define CUBIC_BETA 0.7 /* RFC 9438 4.6 */

/* Cube root by Newton's method: one call per congestion event, no libm needed. */
static double cbrt_pos(double a)
{
	double x;

	if (a <= 0)
		return 0;
	x = a > 1 ? a / 3 + 1 : 1;
	for (int i = 0; i < 100; i++) {
		double nx = x - (x * x * x - a) / (3 * x * x);
		if (nx == x || (nx > x ? nx - x : x - nx) < 1e-9 * x)
			return nx;
		x = nx;
	}
	return x;
}

static double segs(const struct tcp_conn *c, uint32_t bytes)
{
	return (double)bytes / (double)c->mss;
}

static void cubic_init(struct tcp_conn *c)
{
	tcp_cc_initial_window(c);
	c->cubic = (struct tcp_cubic){0};
}

/* RFC 9438 4.2 eq. 1: W_cubic(t) = C * (t - K)^3 + W_max. */
static double w_cubic(const struct tcp_cubic *k, double t)
{
	double d = t - k->k;
	return CUBIC_C * d * d * d + k->w_max;
}

static void cubic_on_ack(struct tcp_conn *c, uint32_t acked, uint64_t now_us)
{
	struct tcp_cubic *k = &c->cubic;
	double cw = segs(c, c->cwnd), target, t, inc;

	if (c->cwnd < c->ssthresh) {
		tcp_cc_slow_start(c, acked);
		return;
	}
	if (k->epoch_us == 0) {
		/* RFC 9438 4.2: a congestion avoidance epoch starts. */
		k->epoch_us = now_us;
		k->cwnd_epoch = c->cwnd;
		if (k->w_max < cw) {
			/* No loss yet, or the window already passed the old maximum: the plateau is here. */
			k->w_max = cw;
			k->k = 0;
		} else {
			k->k = cbrt_pos((k->w_max - cw) / CUBIC_C);
		}
		k->w_est = cw;
		k->acked_frac = 0;
	}
	/* RFC 9438 4.3: the Reno-friendly estimate grows by alpha per window of ACKs. */
	{
		const double alpha = 3.0 * (1 - CUBIC_BETA) / (1 + CUBIC_BETA);
		k->w_est += alpha * segs(c, acked) / cw;
	}
	/* 4.2: aim at W_cubic one RTT ahead, limited to [cwnd, 1.5 cwnd]. */
	t = (double)(now_us - k->epoch_us) / 1e6 + (double)c->srtt_us / 1e6;
	target = w_cubic(k, t);
	if (target < cw)
		target = cw;
	if (target > 1.5 * cw)
		target = 1.5 * cw;
	if (w_cubic(k, (double)(now_us - k->epoch_us) / 1e6) < k->w_est) {
		/* 4.3: the Reno-friendly region, cwnd follows the estimate. */
		if (k->w_est > cw)
			inc = (k->w_est - cw) * c->mss;
		else
			inc = 0;
	} else {
		/* 4.4 and 4.5: concave and convex regions, (target - cwnd) / cwnd per segment acknowledged. */
		inc = (target - cw) / cw * (double)acked;
	}
	k->acked_frac += inc;
	if (k->acked_frac >= 1) {
		uint32_t add = (uint32_t)k->acked_frac;
		c->cwnd += add;
		k->acked_frac -= add;
	}
}

/* 4.6 and 4.7: multiplicative decrease with fast convergence. */
static void reduce(struct tcp_conn *c)
{
	struct tcp_cubic *k = &c->cubic;
	double cw = segs(c, c->cwnd);
	uint32_t ss;

	if (cw < k->w_max)
		k->w_max = cw * (1 + CUBIC_BETA) / 2; /* releasing bandwidth to newer flows */
	else
		k->w_max = cw;
	ss = (uint32_t)((double)c->cwnd * CUBIC_BETA);
	c->ssthresh = ss > 2u * c->mss ? ss : 2u * c->mss;
	k->epoch_us = 0;
}

static void cubic_on_loss(struct tcp_conn *c, uint64_t now_us)
{
	(void)now_us;
	reduce(c);
	c->cwnd = c->ssthresh;
}

/* 4.8: a timeout reduces like a loss; the stack then restarts from one segment. */
static void cubic_on_rto(struct tcp_conn *c, uint64_t now_us)
{
	(void)now_us;
	reduce(c);
}

static void cubic_on_exit(struct tcp_conn *c, uint64_t now_us)
{
	(void)now_us;
	c->cubic.epoch_us = 0;
}

const struct tcp_cc_ops tcp_cc_cubic = {
	.name = "cubic",
	.init = cubic_init,
	.on_ack = cubic_on_ack,
	.on_loss = cubic_on_loss,
	.on_rto = cubic_on_rto,
	.on_recovery_exit = cubic_on_exit,
};
