/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Smooth weighted round robin, nginx's algorithm: every pick, each healthy
 * endpoint's current weight grows by its weight, the largest wins and drops
 * by the sum of the weights. Over one cycle each endpoint is picked exactly
 * weight times, and picks of a heavy endpoint are spread out rather than
 * bunched ({5,1,1} gives a a b a c a a, not a a a a a b c).
 *
 * The current weights change on every pick, so they live in the worker's
 * struct weft_lb_state, never in the shared table. O(endpoints) per pick:
 * clusters hold at most 256, and the loop is a few instructions wide.
 */
#include <string.h>

#include "policy/lb_priv.h"

int lb_rr_pick(const struct weft_lb *lb, const struct weft_lb_health *h, struct weft_lb_state *st)
{
	int64_t total = 0;
	int best = -1;

	if (st->gen != lb->gen) {
		/* First use, or a new table since the last pick: start the cycle afresh. */
		memset(st->cw, 0, lb->n * sizeof(st->cw[0]));
		st->gen = lb->gen;
	}
	/*
	 * Only the candidates, word by word and bit by bit: with endpoints
	 * ejected or avoided, a per-endpoint "skip?" branch would mispredict
	 * wherever the holes are.
	 */
	for (unsigned w = 0; w < (lb->n + 63) / 64; w++) {
		uint64_t m = h->bits[w];
		if (w == lb->n / 64)
			m &= (UINT64_C(1) << (lb->n % 64)) - 1;
		while (m != 0) {
			unsigned i = w * 64 + (unsigned)__builtin_ctzll(m);
			m &= m - 1;
			st->cw[i] += lb->weight[i];
			total += lb->weight[i];
			if (best < 0 || st->cw[i] > st->cw[best])
				best = (int)i;
		}
	}
	/* The caller checked that some endpoint is healthy, so best >= 0. */
	st->cw[best] -= total;
	return best;
}
