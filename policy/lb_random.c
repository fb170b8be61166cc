/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Weighted random picks, and least_request on top of them.
 *
 * random: Vose's alias method. Each of the n buckets holds one endpoint's
 * share and, if that share is below 1/n, the remainder belongs to one other
 * endpoint. A pick is one bucket index and one coin from the same 64-bit
 * random value: O(1) whatever the weights.
 *
 * least_request: power of two choices. Draw two candidates (choice_count in
 * general) by weight, keep the one with fewer in-flight requests per unit of
 * weight, the first on a tie. With no load at all this is exactly the
 * weighted random pick; under load it steers away from the busy endpoint and
 * converges to in-flight counts proportional to the weights. Counts come from
 * the worker (ctx->active): each worker balances what it itself sends, as in
 * Envoy.
 */
#include <stdlib.h>

#include "policy/lb_priv.h"

int lb_alias_build(struct weft_lb *lb)
{
	unsigned n = lb->n;
	uint64_t total = lb->total_weight;
	uint64_t *p = malloc(n * sizeof(*p));
	uint8_t *small = malloc(n), *large = malloc(n);
	unsigned ns = 0, nl = 0;

	lb->alias_thr = malloc(n * sizeof(*lb->alias_thr));
	lb->alias_to = malloc(n);
	if (p == NULL || small == NULL || large == NULL || lb->alias_thr == NULL || lb->alias_to == NULL) {
		free(p);
		free(small);
		free(large);
		return -1;
	}
	/* Scaled so that a full bucket holds `total`: integers throughout, no rounding drift. */
	for (unsigned i = 0; i < n; i++) {
		p[i] = (uint64_t)lb->weight[i] * n;
		if (p[i] < total)
			small[ns++] = (uint8_t)i;
		else
			large[nl++] = (uint8_t)i;
	}
	while (ns > 0 && nl > 0) {
		uint8_t s = small[--ns], l = large[--nl];
		lb->alias_thr[s] = p[s];
		lb->alias_to[s] = l;
		p[l] -= total - p[s];
		if (p[l] < total)
			small[ns++] = l;
		else
			large[nl++] = l;
	}
	while (nl > 0) {
		uint8_t l = large[--nl];
		lb->alias_thr[l] = total;
		lb->alias_to[l] = l;
	}
	while (ns > 0) { /* only reachable through rounding, which integers rule out; keep it safe */
		uint8_t s = small[--ns];
		lb->alias_thr[s] = total;
		lb->alias_to[s] = s;
	}
	/* Thresholds against a 32-bit coin: keep bucket i when coin < thr (2^32: always). */
	for (unsigned i = 0; i < n; i++)
		lb->alias_thr[i] = (uint64_t)(((unsigned __int128)lb->alias_thr[i] << 32) / total);
	free(p);
	free(small);
	free(large);
	return 0;
}

static inline unsigned alias_draw(const struct weft_lb *lb, uint64_t r)
{
	uint32_t bucket = lb_range(r, lb->n);     /* high bits pick the bucket ... */
	uint32_t coin = (uint32_t)r;              /* ... low bits toss the coin */
	return coin < lb->alias_thr[bucket] ? bucket : lb->alias_to[bucket];
}

/*
 * Rejection keeps the draw proportional to weight among the healthy: a few
 * redraws (each from a fresh mix of r), then, if most of the cluster is down,
 * an exact walk over the healthy weights.
 */
int lb_weighted_pick(const struct weft_lb *lb, const struct weft_lb_health *h, uint64_t r)
{
	uint64_t sum = 0;

	for (unsigned k = 0; k < 8; k++) {
		unsigned i = alias_draw(lb, r);
		if (lb_up(h, i))
			return (int)i;
		r = lb_mix(r + UINT64_C(0x9e3779b97f4a7c15));
	}
	for (unsigned i = 0; i < lb->n; i++)
		if (lb_up(h, i))
			sum += lb->weight[i];
	uint64_t u = r % sum;
	for (unsigned i = 0; i < lb->n; i++) {
		if (!lb_up(h, i))
			continue;
		if (u < lb->weight[i])
			return (int)i;
		u -= lb->weight[i];
	}
	return -1; /* unreachable: sum > 0 */
}

int lb_lr_pick(const struct weft_lb *lb, const struct weft_lb_health *h, const struct weft_lb_ctx *ctx)
{
	int best = lb_weighted_pick(lb, h, ctx->random);

	if (ctx->active == NULL)
		return best;
	for (uint32_t c = 1; c < lb->choice_count; c++) {
		int cand = lb_weighted_pick(lb, h, lb_mix(ctx->random ^ (UINT64_C(0xd26d60edae0d78ed) * c)));
		/* active[cand] / w[cand] < active[best] / w[best], without division. */
		if ((uint64_t)ctx->active[cand] * lb->weight[best] < (uint64_t)ctx->active[best] * lb->weight[cand])
			best = cand;
	}
	return best;
}
