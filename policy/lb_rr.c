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
	for (unsigned i = 0; i < lb->n; i++) {
		if (!lb_up(h, i))
			continue;
		st->cw[i] += lb->weight[i];
		total += lb->weight[i];
		if (best < 0 || st->cw[i] > st->cw[best])
			best = (int)i;
	}
	/* The caller checked that some endpoint is healthy, so best >= 0. */
	st->cw[best] -= total;
	return best;
}
