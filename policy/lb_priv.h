/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inside a load balancer table. Shared by policy/lb*.c only: lb.c builds the
 * common part and dispatches picks, one file per policy builds and reads its
 * own structure.
 */
#ifndef WEFT_POLICY_LB_PRIV_H
#define WEFT_POLICY_LB_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include "policy/lb.h"

struct weft_lb {
	enum weft_lb_algo algo;
	uint64_t gen;              /* unique per built table: round robin states follow it */
	unsigned n;
	struct weft_lb_endpoint *ep;
	uint32_t *weight;          /* ep[i].weight, packed for the hot loops */
	struct weft_lb_health configured;
	uint64_t total_weight;
	uint32_t max_weight;
	enum weft_lb_key_kind key;
	char *key_name;            /* header names lower case */
	size_t key_name_len;
	/* random and least_request: Vose's alias table */
	uint64_t *alias_thr;       /* keep i when the 32-bit coin is below; 2^32 = always */
	uint8_t *alias_to;
	uint32_t choice_count;
	/* ring_hash: sorted point hashes and their endpoints */
	size_t ring_n;
	uint64_t *ring_hash;
	uint8_t *ring_ep;
	/* maglev: the lookup table */
	uint32_t mag_size;
	uint8_t *mag;
};

/* Identity of endpoint i for hashing: family, address bytes, port (order-independent). */
size_t lb_endpoint_key(const struct weft_lb *lb, unsigned i, uint8_t out[19]);

/* splitmix64's finaliser: a bijective 64-bit mix, for deriving more random values from one. */
static inline uint64_t lb_mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Map a 64-bit value onto [0, n) without a division (Lemire's multiply-shift). */
static inline uint32_t lb_range(uint64_t x, uint32_t n)
{
	return (uint32_t)(((unsigned __int128)x * n) >> 64);
}

static inline bool lb_up(const struct weft_lb_health *h, unsigned i)
{
	return (h->bits[i / 64] >> (i % 64)) & 1;
}

int lb_alias_build(struct weft_lb *lb);
/* A weighted random healthy endpoint (at least one must be healthy). */
int lb_weighted_pick(const struct weft_lb *lb, const struct weft_lb_health *h, uint64_t r);

int lb_rr_pick(const struct weft_lb *lb, const struct weft_lb_health *h, struct weft_lb_state *st);
int lb_lr_pick(const struct weft_lb *lb, const struct weft_lb_health *h, const struct weft_lb_ctx *ctx);

int lb_ring_build(struct weft_lb *lb, uint32_t ring_min, uint32_t ring_max);
int lb_ring_pick(const struct weft_lb *lb, const struct weft_lb_health *h, uint64_t hash);

int lb_maglev_build(struct weft_lb *lb, uint32_t size);
int lb_maglev_pick(const struct weft_lb *lb, const struct weft_lb_health *h, uint64_t hash);

#endif
