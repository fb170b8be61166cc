/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ring_hash: consistent hashing on a ring of points (Ketama-like). Endpoint i
 * owns points_i points at hash(endpoint key, replica j), j = 0..points_i-1;
 * a request's key hash belongs to the first point at or after it, wrapping
 * around. Points depend only on the endpoint's own address, port and
 * replica number, never on its position in the list.
 *
 * Points per endpoint: weight x K, with K the smallest power of two that
 * brings the ring to ring_min points (bounded by ring_max). Envoy scales the
 * ring to exactly ring_min instead, which changes every endpoint's point
 * count, and so moves keys between the endpoints that stay, whenever one
 * joins or leaves. With K a power of two, adding or removing an endpoint
 * changes K only when the ring crosses a power-of-two boundary; the rest of
 * the time the only keys that move are those of the endpoint that changed.
 * When the weights alone exceed ring_max, points are scaled down instead
 * (at least one per endpoint) and that guarantee is lost.
 *
 * Lookup is a binary search over the sorted hashes (log2 of a few thousand
 * points: about a dozen steps, the hashes in one array for the cache).
 */
#include <stdlib.h>
#include <string.h>

#include "policy/lb_priv.h"

struct point {
	uint64_t hash;
	uint8_t ep;
};

static int cmp_point(const void *a, const void *b)
{
	const struct point *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return (int)x->ep - (int)y->ep; /* equal hashes: a fixed order, whatever the list order */
}

int lb_ring_build(struct weft_lb *lb, uint32_t ring_min, uint32_t ring_max)
{
	uint64_t total = lb->total_weight, k = 1, n = 0;
	bool scaled = total > ring_max;
	struct point *pts;

	if (!scaled)
		while (total * k < ring_min && total * k * 2 <= ring_max)
			k *= 2;
	for (unsigned i = 0; i < lb->n; i++) {
		uint64_t c = scaled ? (uint64_t)lb->weight[i] * ring_max / total : lb->weight[i] * k;
		n += c ? c : 1;
	}
	pts = malloc(n * sizeof(*pts));
	lb->ring_hash = malloc(n * sizeof(*lb->ring_hash));
	lb->ring_ep = malloc(n);
	if (pts == NULL || lb->ring_hash == NULL || lb->ring_ep == NULL) {
		free(pts);
		return -1;
	}
	size_t at = 0;
	for (unsigned i = 0; i < lb->n; i++) {
		uint8_t key[19];
		size_t kl = lb_endpoint_key(lb, i, key);
		uint64_t c = scaled ? (uint64_t)lb->weight[i] * ring_max / total : lb->weight[i] * k;
		if (c == 0)
			c = 1;
		for (uint64_t j = 0; j < c; j++)
			pts[at++] = (struct point){weft_hash64(key, kl, j), (uint8_t)i};
	}
	qsort(pts, n, sizeof(*pts), cmp_point);
	for (size_t i = 0; i < n; i++) {
		lb->ring_hash[i] = pts[i].hash;
		lb->ring_ep[i] = pts[i].ep;
	}
	lb->ring_n = n;
	free(pts);
	return 0;
}

int lb_ring_pick(const struct weft_lb *lb, const struct weft_lb_health *h, uint64_t hash)
{
	const uint64_t *base = lb->ring_hash;
	size_t n = lb->ring_n;

	/*
	 * First point with hash >= the key's; past the last one, wrap to the
	 * first. Branch-free halving (the compare feeds arithmetic, not a jump):
	 * key hashes are random, so a branchy search mispredicts half its steps.
	 */
	while (n > 1) {
		size_t half = n / 2;
		base += (size_t)(base[half - 1] < hash) * half;
		n -= half;
	}
	size_t lo = (size_t)(base - lb->ring_hash) + (*base < hash);
	/*
	 * An unhealthy owner hands the key on to the next point clockwise, so only
	 * its own keys move, and they spread over its neighbours. Some endpoint is
	 * healthy (the caller checked), so the walk ends within one turn.
	 */
	for (size_t k = 0; k < lb->ring_n; k++) {
		size_t at = lo + k;
		if (at >= lb->ring_n)
			at -= lb->ring_n;
		if (lb_up(h, lb->ring_ep[at]))
			return lb->ring_ep[at];
	}
	return -1;
}
