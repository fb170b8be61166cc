/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * maglev: the lookup table of Google's Maglev (Eisenbud et al., NSDI 2016,
 * section 3.4). Each endpoint has a permutation of the M table slots, given
 * by an offset and a skip from two hashes of its address and port; M is prime,
 * so every skip walks all slots. Endpoints take turns claiming the next slot
 * of their permutation that is still free, until the table is full. A key's
 * endpoint is then one table read: table[key hash mapped onto M].
 *
 * Weights: a turn is a credit. Each round every endpoint earns its weight; an
 * endpoint claims a slot each time its credit reaches the largest weight, so
 * the heaviest claim every round and one of half the weight every other
 * round. Shares come out proportional to weight, with the same small
 * disruption as the unweighted table when the endpoint set changes.
 *
 * The table does not depend on health: an unhealthy endpoint's keys are
 * rehashed (a fresh mix of the key, up to 16 times, then a scan) until they
 * land on a healthy entry. Other keys do not move, and when the endpoint
 * comes back its keys return to it.
 */
#include <stdlib.h>
#include <string.h>

#include "policy/lb_priv.h"

#define SEED_OFFSET UINT64_C(0x6d61676c65762d6f) /* distinct seeds: two independent hashes */
#define SEED_SKIP UINT64_C(0x6d61676c65762d73)
#define FREE_SLOT 0xffffu

int lb_maglev_build(struct weft_lb *lb, uint32_t m)
{
	unsigned n = lb->n;
	uint16_t *slot = malloc((size_t)m * sizeof(*slot));
	uint32_t *pos = malloc(n * sizeof(*pos)), *skip = malloc(n * sizeof(*skip));
	uint64_t *credit = calloc(n, sizeof(*credit));
	int rc = -1;

	lb->mag = malloc(m);
	if (slot == NULL || pos == NULL || skip == NULL || credit == NULL || lb->mag == NULL)
		goto out;
	for (unsigned i = 0; i < n; i++) {
		uint8_t key[19];
		size_t kl = lb_endpoint_key(lb, i, key);
		pos[i] = (uint32_t)(weft_hash64(key, kl, SEED_OFFSET) % m);
		skip[i] = (uint32_t)(weft_hash64(key, kl, SEED_SKIP) % (m - 1)) + 1;
	}
	memset(slot, 0xff, (size_t)m * sizeof(*slot));
	for (uint32_t filled = 0; filled < m;) {
		for (unsigned i = 0; i < n && filled < m; i++) {
			credit[i] += lb->weight[i];
			if (credit[i] < lb->max_weight)
				continue;
			credit[i] -= lb->max_weight;
			/* The next free slot in i's permutation; it exists while the table is not full. */
			while (slot[pos[i]] != FREE_SLOT) {
				pos[i] += skip[i];
				if (pos[i] >= m)
					pos[i] -= m;
			}
			slot[pos[i]] = (uint16_t)i;
			filled++;
		}
	}
	for (uint32_t s = 0; s < m; s++)
		lb->mag[s] = (uint8_t)slot[s];
	lb->mag_size = m;
	rc = 0;
out:
	free(slot);
	free(pos);
	free(skip);
	free(credit);
	return rc;
}

int lb_maglev_pick(const struct weft_lb *lb, const struct weft_lb_health *h, uint64_t hash)
{
	uint32_t s = lb_range(hash, lb->mag_size);
	unsigned e = lb->mag[s];

	if (lb_up(h, e))
		return (int)e;
	for (uint64_t attempt = 1; attempt <= 16; attempt++) {
		e = lb->mag[lb_range(lb_mix(hash + attempt * UINT64_C(0x9e3779b97f4a7c15)), lb->mag_size)];
		if (lb_up(h, e))
			return (int)e;
	}
	/* Most of the cluster is down: the next healthy entry after the key's slot. */
	for (uint32_t k = 1; k < lb->mag_size; k++) {
		uint32_t at = s + k < lb->mag_size ? s + k : s + k - lb->mag_size;
		if (lb_up(h, lb->mag[at]))
			return lb->mag[at];
	}
	return -1;
}
