/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fault injection engine and the EAL/vdev argument builders.
 *
 * The engine is driven with a hand-stepped clock: hz is one million, so one
 * tick is one microsecond and delays in the config are ticks one to one.
 * Every frame carries its sequence number right after the Ethernet header,
 * which lets the checks follow frames through reordering and duplication.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "drivers/eal.h"
#include "drivers/fault.h"

#define HZ 1000000ULL
#define POOL_SIZE 8191
#define N_STAT 100000
#define FRAME_LEN 128

static struct rte_mempool *pool;
static struct weft_worker_counters ctr;

/* ---- helpers ----------------------------------------------------------- */

static uint8_t pattern(uint32_t seq, uint32_t i)
{
	return (uint8_t)(seq * 31 + i * 7 + 1);
}

/* A frame of len bytes: broadcast Ethernet header, seq at offset 14, a pattern after. */
static struct rte_mbuf *frame(uint32_t seq, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	assert_non_null(m);
	uint8_t *d = (uint8_t *)rte_pktmbuf_append(m, len);
	assert_non_null(d);
	for (uint32_t i = 0; i < len; i++)
		d[i] = pattern(seq, i);
	memset(d, 0xff, 6);
	if (len >= 18)
		memcpy(d + 14, &seq, sizeof(seq));
	return m;
}

static uint32_t seq_of(const struct rte_mbuf *m)
{
	uint32_t seq;
	memcpy(&seq, rte_pktmbuf_mtod_offset(m, const uint8_t *, 14), sizeof(seq));
	return seq;
}

static struct weft_fault *mk(const struct weft_fault_cfg *c, uint64_t seed)
{
	struct weft_fault *f = weft_fault_create(c, seed, HZ, SOCKET_ID_ANY);
	assert_non_null(f);
	return f;
}

static void free_all(struct rte_mbuf **v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		rte_pktmbuf_free(v[i]);
}

/*
 * Every mbuf is back in the pool: nothing leaked, nothing freed twice (that
 * would trip the pool). Measured against the count at set-up, so a test that
 * fails half-way does not fail every test after it.
 */
static unsigned avail_at_setup;

static void assert_no_leak(void)
{
	assert_int_equal(rte_mempool_avail_count(pool), avail_at_setup);
}

static int setup(void **state)
{
	(void)state;
	memset(&ctr, 0, sizeof(ctr));
	avail_at_setup = rte_mempool_avail_count(pool);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_no_leak();
	return 0;
}

/*
 * Push N_STAT frames through f in bursts of 32 with the clock running one
 * tick per frame, freeing whatever comes out. Returns how many came out.
 */
static uint64_t pump(struct weft_fault *f, uint64_t *now)
{
	struct rte_mbuf *in[32], *out[128];
	uint64_t total = 0;
	for (uint32_t seq = 0; seq < N_STAT;) {
		uint16_t n = 0;
		while (n < 32 && seq < N_STAT)
			in[n++] = frame(seq++, 64);
		uint16_t k = weft_fault_release(f, out, 128, *now, &ctr);
		k += weft_fault_apply(f, in, n, out + k, (uint16_t)(128 - k), *now, &ctr);
		total += k;
		free_all(out, k);
		*now += 32;
	}
	/* Everything still held comes out once the clock passes every deadline. */
	*now += 10 * HZ;
	uint16_t k;
	while ((k = weft_fault_release(f, out, 128, *now, &ctr)) > 0) {
		total += k;
		free_all(out, k);
	}
	assert_int_equal(weft_fault_pending(f), 0);
	return total;
}

/* |observed - expected| within 5 standard deviations of a binomial count. */
static void assert_binomial(uint64_t observed, uint64_t trials, double p, const char *what)
{
	double mean = (double)trials * p;
	double sigma = sqrt((double)trials * p * (1.0 - p));
	double dev = fabs((double)observed - mean);
	if (dev > 5.0 * sigma)
		fail_msg("%s: %" PRIu64 " of %" PRIu64 ", expected %.0f +- %.0f (5 sigma)", what, observed, trials,
			 mean, 5.0 * sigma);
}

/* ---- probabilities ----------------------------------------------------- */

static void test_drop_rate(void **state)
{
	(void)state;
	struct weft_fault_cfg c = {.drop = 0.1};
	struct weft_fault *f = mk(&c, 1);
	uint64_t now = 0;
	uint64_t out = pump(f, &now);
	uint64_t dropped = ctr.drops[WEFT_DROP_FAULT_DROP];
	assert_binomial(dropped, N_STAT, 0.1, "dropped");
	assert_int_equal(out + dropped, N_STAT);
	weft_fault_destroy(f);
}

static void test_duplicate_rate(void **state)
{
	(void)state;
	struct weft_fault_cfg c = {.duplicate = 0.05};
	struct weft_fault *f = mk(&c, 2);
	uint64_t now = 0;
	uint64_t out = pump(f, &now);
	uint64_t dups = ctr.events[WEFT_EV_FAULT_DUPLICATED];
	assert_binomial(dups, N_STAT, 0.05, "duplicated");
	assert_int_equal(out, N_STAT + dups);
	weft_fault_destroy(f);
}

static void test_corrupt_rate(void **state)
{
	(void)state;
	struct weft_fault_cfg c = {.corrupt = 0.2};
	struct weft_fault *f = mk(&c, 3);
	uint64_t now = 0;
	assert_int_equal(pump(f, &now), N_STAT);
	assert_binomial(ctr.events[WEFT_EV_FAULT_CORRUPTED], N_STAT, 0.2, "corrupted");
	weft_fault_destroy(f);
}

static void test_reorder_rate(void **state)
{
	(void)state;
	struct weft_fault_cfg c = {.reorder = 0.1};
	struct weft_fault *f = mk(&c, 4);
	uint64_t now = 0;
	assert_int_equal(pump(f, &now), N_STAT);
	/* The configured p is the fraction of all frames, not of the eligible ones. */
	assert_binomial(ctr.events[WEFT_EV_FAULT_REORDERED], N_STAT, 0.1, "reordered");
	weft_fault_destroy(f);
}

/* Several faults at once: each applies to what survived the stages before it. */
static void test_combined_rates(void **state)
{
	(void)state;
	struct weft_fault_cfg c = {.drop = 0.2, .duplicate = 0.1, .corrupt = 0.05, .delay_us = 50, .jitter_us = 20};
	struct weft_fault *f = mk(&c, 5);
	uint64_t now = 0;
	uint64_t out = pump(f, &now);
	uint64_t dropped = ctr.drops[WEFT_DROP_FAULT_DROP];
	uint64_t dups = ctr.events[WEFT_EV_FAULT_DUPLICATED];
	assert_binomial(dropped, N_STAT, 0.2, "dropped");
	assert_binomial(dups, N_STAT - dropped, 0.1, "duplicated");
	assert_binomial(ctr.events[WEFT_EV_FAULT_CORRUPTED], N_STAT - dropped, 0.05, "corrupted");
	assert_int_equal(out, N_STAT - dropped + dups);
	assert_int_equal(ctr.events[WEFT_EV_FAULT_DELAYED], out);
	assert_int_equal(ctr.drops[WEFT_DROP_FAULT_QUEUE_FULL], 0);
	weft_fault_destroy(f);
}

static void test_extremes(void **state)
{
	(void)state;
	struct weft_fault_cfg all = {.drop = 1.0};
	struct weft_fault *f = mk(&all, 6);
	uint64_t now = 0;
	assert_int_equal(pump(f, &now), 0);
	assert_int_equal(ctr.drops[WEFT_DROP_FAULT_DROP], N_STAT);
	weft_fault_destroy(f);

	struct weft_fault_cfg none = {0};
	assert_false(weft_fault_cfg_active(&none));
	memset(&ctr, 0, sizeof(ctr));
	f = mk(&none, 6);
	assert_int_equal(pump(f, &now), N_STAT);
	for (int i = 0; i < WEFT_DROP_MAX; i++)
		assert_int_equal(ctr.drops[i], 0);
	weft_fault_destroy(f);

	struct weft_fault_cfg bad = {.drop = 1.5};
	assert_null(weft_fault_create(&bad, 1, HZ, SOCKET_ID_ANY));
	bad.drop = NAN;
	assert_null(weft_fault_create(&bad, 1, HZ, SOCKET_ID_ANY));
	bad.drop = -0.1;
	assert_null(weft_fault_create(&bad, 1, HZ, SOCKET_ID_ANY));
	struct weft_fault_cfg d = {.delay_us = 1};
	assert_true(weft_fault_cfg_active(&d));
}

/* ---- reproducibility --------------------------------------------------- */

/* Run 2000 frames through a fresh engine and record the sequence numbers that come out. */
static unsigned trace(uint64_t seed, uint32_t *seqs, unsigned max, struct weft_worker_counters *c)
{
	struct weft_fault_cfg cfg = {.drop = 0.1, .duplicate = 0.1, .reorder = 0.1, .corrupt = 0.1, .jitter_us = 40};
	struct weft_fault *f = mk(&cfg, seed);
	struct rte_mbuf *in[16], *out[64];
	unsigned n_out = 0;
	uint64_t now = 0;
	for (uint32_t seq = 0; seq < 2000;) {
		uint16_t n = 0;
		while (n < 16)
			in[n++] = frame(seq++, 80);
		uint16_t k = weft_fault_release(f, out, 64, now, c);
		k += weft_fault_apply(f, in, n, out + k, (uint16_t)(64 - k), now, c);
		for (uint16_t i = 0; i < k && n_out < max; i++)
			seqs[n_out++] = seq_of(out[i]);
		free_all(out, k);
		now += 10;
	}
	now += HZ;
	uint16_t k;
	while ((k = weft_fault_release(f, out, 64, now, c)) > 0) {
		for (uint16_t i = 0; i < k && n_out < max; i++)
			seqs[n_out++] = seq_of(out[i]);
		free_all(out, k);
	}
	weft_fault_destroy(f);
	return n_out;
}

static void test_same_seed_same_decisions(void **state)
{
	(void)state;
	static uint32_t a[4000], b[4000], c[4000];
	struct weft_worker_counters ca = {0}, cb = {0}, cc = {0};
	unsigned na = trace(42, a, 4000, &ca);
	unsigned nb = trace(42, b, 4000, &cb);
	unsigned nc = trace(43, c, 4000, &cc);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na * sizeof(a[0]));
	assert_memory_equal(ca.drops, cb.drops, sizeof(ca.drops));
	assert_memory_equal(ca.events, cb.events, sizeof(ca.events));
	assert_true(na != nc || memcmp(a, c, na * sizeof(a[0])) != 0);
}

static void test_seed_streams_differ(void **state)
{
	(void)state;
	/* Swapping port and queue, or direction, must give another stream. */
	uint64_t s = 12345;
	assert_true(weft_fault_seed(s, 1, 0, WEFT_FAULT_RX) != weft_fault_seed(s, 0, 1, WEFT_FAULT_RX));
	assert_true(weft_fault_seed(s, 0, 0, WEFT_FAULT_RX) != weft_fault_seed(s, 0, 0, WEFT_FAULT_TX));
	assert_true(weft_fault_seed(s, 0, 0, WEFT_FAULT_RX) != weft_fault_seed(s + 1, 0, 0, WEFT_FAULT_RX));
	assert_int_equal(weft_fault_seed(s, 3, 2, WEFT_FAULT_TX), weft_fault_seed(s, 3, 2, WEFT_FAULT_TX));
}

/* ---- delay ------------------------------------------------------------- */

static void test_delay_exact_and_ordered(void **state)
{
	(void)state;
	struct weft_fault_cfg c = {.delay_us = 100};
	struct weft_fault *f = mk(&c, 7);
	struct rte_mbuf *in[8], *out[64];

	/* Three bursts at t=1000, 1010, 1010: 8 + 8 + 8 frames. */
	uint32_t seq = 0;
	uint64_t t[3] = {1000, 1010, 1010};
	for (int b = 0; b < 3; b++) {
		for (int i = 0; i < 8; i++)
			in[i] = frame(seq++, 64);
		assert_int_equal(weft_fault_apply(f, in, 8, out, 64, t[b], &ctr), 0);
	}
	assert_int_equal(weft_fault_pending(f), 24);
	assert_int_equal(ctr.events[WEFT_EV_FAULT_DELAYED], 24);
	assert_int_equal(weft_fault_next_release(f), 1100);

	/* One tick early: nothing. */
	assert_int_equal(weft_fault_release(f, out, 64, 1099, &ctr), 0);
	/* Exactly on time: the first burst, in order, and only it. */
	uint16_t k = weft_fault_release(f, out, 64, 1100, &ctr);
	assert_int_equal(k, 8);
	for (uint16_t i = 0; i < k; i++)
		assert_int_equal(seq_of(out[i]), i);
	free_all(out, k);
	assert_int_equal(weft_fault_next_release(f), 1110);
	assert_int_equal(weft_fault_release(f, out, 64, 1109, &ctr), 0);
	/* A small out array takes the rest in order over several calls. */
	uint32_t want = 8;
	while ((k = weft_fault_release(f, out, 5, 1110, &ctr)) > 0) {
		for (uint16_t i = 0; i < k; i++)
			assert_int_equal(seq_of(out[i]), want++);
		free_all(out, k);
	}
	assert_int_equal(want, 24);
	assert_int_equal(weft_fault_pending(f), 0);
	assert_int_equal(weft_fault_next_release(f), UINT64_MAX);
	weft_fault_destroy(f);
}

static void test_jitter_within_bounds(void **state)
{
	(void)state;
	struct weft_fault_cfg c = {.delay_us = 100, .jitter_us = 50};
	struct weft_fault *f = mk(&c, 8);
	struct rte_mbuf *in[1], *out[64];
	enum { N = 2000 };
	static uint64_t sent_at[N];
	bool reordered = false;
	uint32_t last = 0, got = 0;
	uint64_t now = 0;

	for (uint32_t seq = 0; seq < N || weft_fault_pending(f) > 0; now++) {
		uint16_t k = weft_fault_release(f, out, 64, now, &ctr);
		if (seq < N) {
			in[0] = frame(seq, 64);
			sent_at[seq++] = now;
			assert_int_equal(weft_fault_apply(f, in, 1, out + k, (uint16_t)(64 - k), now, &ctr), 0);
		}
		for (uint16_t i = 0; i < k; i++) {
			uint32_t s = seq_of(out[i]);
			uint64_t held = now - sent_at[s];
			assert_in_range(held, 100, 150);
			if (got > 0 && s < last)
				reordered = true;
			last = s;
			got++;
		}
		free_all(out, k);
	}
	assert_int_equal(got, N);
	/* One frame per tick against 50 ticks of jitter: order cannot survive. */
	assert_true(reordered);
	weft_fault_destroy(f);
}

static void test_queue_overflow(void **state)
{
	(void)state;
	struct weft_fault_cfg c = {.delay_us = 1000};
	struct weft_fault *f = mk(&c, 9);
	struct rte_mbuf *in[32], *out[64];
	unsigned total = WEFT_FAULT_QUEUE_LEN + 200;
	for (uint32_t seq = 0; seq < total;) {
		uint16_t n = 0;
		while (n < 32 && seq < total)
			in[n++] = frame(seq++, 64);
		assert_int_equal(weft_fault_apply(f, in, n, out, 64, 0, &ctr), 0);
	}
	assert_int_equal(weft_fault_pending(f), WEFT_FAULT_QUEUE_LEN);
	assert_int_equal(ctr.drops[WEFT_DROP_FAULT_QUEUE_FULL], 200);
	assert_int_equal(ctr.events[WEFT_EV_FAULT_DELAYED], WEFT_FAULT_QUEUE_LEN);
	/* The survivors are the first ones, in order. */
	uint32_t want = 0;
	uint16_t k;
	while ((k = weft_fault_release(f, out, 64, 1000, &ctr)) > 0) {
		for (uint16_t i = 0; i < k; i++)
			assert_int_equal(seq_of(out[i]), want++);
		free_all(out, k);
	}
	assert_int_equal(want, WEFT_FAULT_QUEUE_LEN);
	weft_fault_destroy(f);
}

/* Destroying an engine that still holds frames gives them back to the pool. */
static void test_destroy_frees_held(void **state)
{
	(void)state;
	struct weft_fault_cfg c = {.delay_us = 1000, .reorder = 0.5};
	struct weft_fault *f = mk(&c, 10);
	struct rte_mbuf *in[32], *out[32];
	for (int i = 0; i < 32; i++)
		in[i] = frame((uint32_t)i, 64);
	assert_int_equal(weft_fault_apply(f, in, 32, out, 32, 0, &ctr), 0);
	assert_true(weft_fault_pending(f) > 0);
	weft_fault_destroy(f);
	weft_fault_destroy(NULL);
}

/* ---- reorder ----------------------------------------------------------- */

static void test_reorder_swaps_adjacent(void **state)
{
	(void)state;
	/* p = 0.5 is the ceiling: every frame that may be held is held. */
	struct weft_fault_cfg c = {.reorder = 0.5};
	struct weft_fault *f = mk(&c, 11);
	struct rte_mbuf *in[10], *out[16];
	for (uint32_t i = 0; i < 10; i++)
		in[i] = frame(i, 64);
	uint16_t k = weft_fault_apply(f, in, 10, out, 16, 0, &ctr);
	assert_int_equal(k, 10);
	const uint32_t want[10] = {1, 0, 3, 2, 5, 4, 7, 6, 9, 8};
	for (uint16_t i = 0; i < k; i++)
		assert_int_equal(seq_of(out[i]), want[i]);
	free_all(out, k);
	assert_int_equal(ctr.events[WEFT_EV_FAULT_REORDERED], 5);
	weft_fault_destroy(f);
}

static void test_reorder_timeout(void **state)
{
	(void)state;
	struct weft_fault_cfg c = {.reorder = 0.5};
	struct weft_fault *f = mk(&c, 12);
	struct rte_mbuf *in[1], *out[4];
	in[0] = frame(7, 64);
	assert_int_equal(weft_fault_apply(f, in, 1, out, 4, 500, &ctr), 0);
	assert_int_equal(weft_fault_pending(f), 1);
	assert_int_equal(weft_fault_next_release(f), 500 + WEFT_FAULT_REORDER_TIMEOUT_US);
	assert_int_equal(weft_fault_release(f, out, 4, 500 + WEFT_FAULT_REORDER_TIMEOUT_US - 1, &ctr), 0);
	assert_int_equal(weft_fault_release(f, out, 4, 500 + WEFT_FAULT_REORDER_TIMEOUT_US, &ctr), 1);
	assert_int_equal(seq_of(out[0]), 7);
	free_all(out, 1);
	assert_int_equal(weft_fault_pending(f), 0);
	weft_fault_destroy(f);
}

/* Over many frames: nothing lost, nothing duplicated, and no frame moves by more than one place. */
static void test_reorder_never_loses(void **state)
{
	(void)state;
	struct weft_fault_cfg c = {.reorder = 0.3};
	struct weft_fault *f = mk(&c, 13);
	enum { N = 20000 };
	static uint8_t seen[N];
	struct rte_mbuf *in[32], *out[64];
	uint32_t pos = 0;
	uint64_t now = 0;
	memset(seen, 0, sizeof(seen));
	for (uint32_t seq = 0; seq < N || weft_fault_pending(f) > 0;) {
		uint16_t n = 0;
		while (n < 32 && seq < N)
			in[n++] = frame(seq++, 64);
		uint16_t k = weft_fault_release(f, out, 64, now, &ctr);
		k += weft_fault_apply(f, in, n, out + k, (uint16_t)(64 - k), now, &ctr);
		for (uint16_t i = 0; i < k; i++, pos++) {
			uint32_t s = seq_of(out[i]);
			assert_true(s < N);
			assert_int_equal(seen[s], 0);
			seen[s] = 1;
			assert_true(s + 1 >= pos && s <= pos + 1);
		}
		free_all(out, k);
		now += 100;
		if (seq == N)
			now += HZ;
	}
	assert_int_equal(pos, N);
	weft_fault_destroy(f);
}

/* ---- corrupt ----------------------------------------------------------- */

/* Returns the offset of the single byte in which m differs from frame(seq, len); fails otherwise. */
static uint32_t one_byte_diff(const struct rte_mbuf *m, uint32_t seq, uint16_t len)
{
	uint8_t buf[2048];
	const uint8_t *d = rte_pktmbuf_read(m, 0, len, buf);
	assert_int_equal(rte_pktmbuf_pkt_len(m), len);
	uint32_t diffs = 0, where = 0;
	for (uint32_t i = 0; i < len; i++) {
		uint8_t want = i < 6 ? 0xff : pattern(seq, i);
		if (i >= 14 && i < 18 && len >= 18)
			want = ((const uint8_t *)&seq)[i - 14];
		if (d[i] != want) {
			diffs++;
			where = i;
		}
	}
	assert_int_equal(diffs, 1);
	assert_true(where >= 14);
	return where;
}

static void test_corrupt_one_byte(void **state)
{
	(void)state;
	struct weft_fault_cfg c = {.corrupt = 1.0};
	struct weft_fault *f = mk(&c, 14);
	struct rte_mbuf *in[1], *out[2];
	uint32_t lo = UINT32_MAX, hi = 0;
	for (uint32_t seq = 0; seq < 3000; seq++) {
		uint16_t len = (uint16_t)(15 + seq % 1500);
		in[0] = frame(seq, len);
		assert_int_equal(weft_fault_apply(f, in, 1, out, 2, 0, &ctr), 1);
		if (len >= 18) {
			uint32_t at = one_byte_diff(out[0], seq, len);
			lo = RTE_MIN(lo, at);
			hi = RTE_MAX(hi, at);
		}
		free_all(out, 1);
	}
	/* The whole range past the Ethernet header is reachable. */
	assert_int_equal(lo, 14);
	assert_true(hi > 1400);

	/* A frame with nothing past the Ethernet header passes untouched. */
	uint64_t before = ctr.events[WEFT_EV_FAULT_CORRUPTED];
	in[0] = frame(1, 14);
	assert_int_equal(weft_fault_apply(f, in, 1, out, 2, 0, &ctr), 1);
	assert_int_equal(ctr.events[WEFT_EV_FAULT_CORRUPTED], before);
	free_all(out, 1);
	weft_fault_destroy(f);
}

static void test_corrupt_multiseg(void **state)
{
	(void)state;
	struct weft_fault_cfg c = {.corrupt = 1.0};
	struct weft_fault *f = mk(&c, 15);
	struct rte_mbuf *in[1], *out[2];
	bool in_second = false;
	for (uint32_t seq = 0; seq < 200; seq++) {
		/* frame(seq, 200) split in two segments of 100 bytes. */
		struct rte_mbuf *whole = frame(seq, 200);
		struct rte_mbuf *tail = rte_pktmbuf_alloc(pool);
		memcpy(rte_pktmbuf_append(tail, 100), rte_pktmbuf_mtod_offset(whole, uint8_t *, 100), 100);
		rte_pktmbuf_trim(whole, 100);
		assert_int_equal(rte_pktmbuf_chain(whole, tail), 0);
		in[0] = whole;
		assert_int_equal(weft_fault_apply(f, in, 1, out, 2, 0, &ctr), 1);
		assert_int_equal(out[0]->nb_segs, 2);
		if (one_byte_diff(out[0], seq, 200) >= 100)
			in_second = true;
		free_all(out, 1);
	}
	assert_true(in_second);
	weft_fault_destroy(f);
}

/* A clone shares its data; the damage must go to a private copy, not to the data a retransmit queue holds. */
static void test_corrupt_shared_data(void **state)
{
	(void)state;
	struct weft_fault_cfg c = {.corrupt = 1.0};
	struct weft_fault *f = mk(&c, 16);
	struct rte_mbuf *in[1], *out[2];
	struct rte_mbuf *orig = frame(99, 300);
	in[0] = rte_pktmbuf_clone(orig, pool);
	assert_non_null(in[0]);
	assert_int_equal(weft_fault_apply(f, in, 1, out, 2, 0, &ctr), 1);
	one_byte_diff(out[0], 99, 300);
	uint8_t buf[300];
	const uint8_t *d = rte_pktmbuf_read(orig, 0, 300, buf);
	for (uint32_t i = 18; i < 300; i++)
		assert_int_equal(d[i], pattern(99, i));
	free_all(out, 1);
	rte_pktmbuf_free(orig);
	weft_fault_destroy(f);
}

/*
 * A frame that asked the device for checksums leaves with them computed in
 * software, so the one damaged byte is the only thing wrong with it.
 */
static void test_corrupt_finishes_offloaded_checksums(void **state)
{
	(void)state;
	struct weft_fault_cfg c = {.corrupt = 1.0};
	struct weft_fault *f = mk(&c, 17);
	for (int round = 0; round < 200; round++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		uint16_t plen = 100;
		uint16_t len = (uint16_t)(14 + 20 + 8 + plen);
		uint8_t *d = (uint8_t *)rte_pktmbuf_append(m, len);
		memset(d, 0, len);
		d[12] = 0x08;
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(d + 14);
		ip->version_ihl = 0x45;
		ip->total_length = rte_cpu_to_be_16((uint16_t)(20 + 8 + plen));
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_UDP;
		ip->src_addr = rte_cpu_to_be_32(0xc6120001); /* 198.18.0.1 */
		ip->dst_addr = rte_cpu_to_be_32(0xc6120002);
		struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
		udp->src_port = rte_cpu_to_be_16(1000);
		udp->dst_port = rte_cpu_to_be_16(2000);
		udp->dgram_len = rte_cpu_to_be_16((uint16_t)(8 + plen));
		for (int i = 0; i < plen; i++)
			d[42 + i] = (uint8_t)(round + i);
		/* As the stack would hand it to an offloading device: pseudo-header sum only. */
		udp->dgram_cksum = rte_ipv4_phdr_cksum(ip, 0);
		m->l2_len = 14;
		m->l3_len = 20;
		m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM;

		/* What the device would have put on the wire. */
		uint8_t ref[256];
		memcpy(ref, d, len);
		struct rte_ipv4_hdr *rip = (struct rte_ipv4_hdr *)(ref + 14);
		struct rte_udp_hdr *rudp = (struct rte_udp_hdr *)(rip + 1);
		rip->hdr_checksum = rte_ipv4_cksum(rip);
		rudp->dgram_cksum = 0;
		rudp->dgram_cksum = rte_ipv4_udptcp_cksum(rip, rudp);

		struct rte_mbuf *in[1] = {m}, *out[2];
		assert_int_equal(weft_fault_apply(f, in, 1, out, 2, 0, &ctr), 1);
		m = out[0];
		assert_int_equal(m->ol_flags & (RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK), 0);
		const uint8_t *got = rte_pktmbuf_mtod(m, const uint8_t *);
		unsigned diffs = 0;
		for (unsigned i = 0; i < len; i++)
			if (got[i] != ref[i]) {
				assert_true(i >= 14);
				diffs++;
			}
		assert_int_equal(diffs, 1);
		rte_pktmbuf_free(m);
	}
	weft_fault_destroy(f);
}

/* The same for TCP over IPv6, whose header has no checksum of its own. */
static void test_corrupt_finishes_offloaded_checksums_v6(void **state)
{
	(void)state;
	struct weft_fault_cfg c = {.corrupt = 1.0};
	struct weft_fault *f = mk(&c, 20);
	for (int round = 0; round < 200; round++) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		uint16_t plen = 77;
		uint16_t len = (uint16_t)(14 + 40 + 20 + plen);
		assert_non_null(rte_pktmbuf_append(m, len));
		uint8_t *d = rte_pktmbuf_mtod(m, uint8_t *);
		memset(d, 0, len);
		d[12] = 0x86;
		d[13] = 0xdd;
		struct rte_ipv6_hdr *ip = (struct rte_ipv6_hdr *)(d + 14);
		ip->vtc_flow = rte_cpu_to_be_32(6u << 28);
		ip->payload_len = rte_cpu_to_be_16((uint16_t)(20 + plen));
		ip->proto = IPPROTO_TCP;
		ip->hop_limits = 64;
		static const uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1}; /* 2001:db8::1 */
		static const uint8_t dst[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
		memcpy(ip->src_addr, src, 16);
		memcpy(ip->dst_addr, dst, 16);
		struct rte_tcp_hdr *tcp = (struct rte_tcp_hdr *)(ip + 1);
		tcp->src_port = rte_cpu_to_be_16(40000);
		tcp->dst_port = rte_cpu_to_be_16(443);
		tcp->data_off = 5 << 4;
		tcp->tcp_flags = RTE_TCP_ACK_FLAG;
		for (int i = 0; i < plen; i++)
			d[74 + i] = (uint8_t)(round * 3 + i);
		tcp->cksum = rte_ipv6_phdr_cksum(ip, 0);
		m->l2_len = 14;
		m->l3_len = 40;
		m->ol_flags = RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_TCP_CKSUM;

		uint8_t ref[256];
		memcpy(ref, d, len);
		struct rte_ipv6_hdr *rip = (struct rte_ipv6_hdr *)(ref + 14);
		struct rte_tcp_hdr *rtcp = (struct rte_tcp_hdr *)(rip + 1);
		rtcp->cksum = 0;
		rtcp->cksum = rte_ipv6_udptcp_cksum(rip, rtcp);

		struct rte_mbuf *in[1] = {m}, *out[2];
		assert_int_equal(weft_fault_apply(f, in, 1, out, 2, 0, &ctr), 1);
		m = out[0];
		assert_int_equal(m->ol_flags & RTE_MBUF_F_TX_L4_MASK, 0);
		const uint8_t *got = rte_pktmbuf_mtod(m, const uint8_t *);
		unsigned diffs = 0;
		for (unsigned i = 0; i < len; i++)
			if (got[i] != ref[i]) {
				assert_true(i >= 14);
				diffs++;
			}
		assert_int_equal(diffs, 1);
		rte_pktmbuf_free(m);
	}
	weft_fault_destroy(f);
}

/* ---- duplicate --------------------------------------------------------- */

static void test_duplicate_identical(void **state)
{
	(void)state;
	struct weft_fault_cfg c = {.duplicate = 1.0};
	struct weft_fault *f = mk(&c, 18);
	struct rte_mbuf *in[4], *out[8];
	for (uint32_t i = 0; i < 4; i++) {
		in[i] = frame(i, (uint16_t)(64 + 100 * i));
		in[i]->ol_flags = RTE_MBUF_F_TX_IPV4;
		in[i]->l2_len = 14;
	}
	uint16_t k = weft_fault_apply(f, in, 4, out, 8, 0, &ctr);
	assert_int_equal(k, 8);
	assert_int_equal(ctr.events[WEFT_EV_FAULT_DUPLICATED], 4);
	for (uint16_t i = 0; i < k; i += 2) {
		struct rte_mbuf *a = out[i], *b = out[i + 1];
		assert_ptr_not_equal(a, b);
		assert_ptr_not_equal(rte_pktmbuf_mtod(a, void *), rte_pktmbuf_mtod(b, void *));
		assert_int_equal(seq_of(a), i / 2);
		assert_int_equal(rte_pktmbuf_pkt_len(a), rte_pktmbuf_pkt_len(b));
		assert_memory_equal(rte_pktmbuf_mtod(a, void *), rte_pktmbuf_mtod(b, void *), rte_pktmbuf_pkt_len(a));
		assert_int_equal(a->ol_flags, b->ol_flags);
		assert_int_equal(a->l2_len, b->l2_len);
		assert_int_equal(rte_mbuf_refcnt_read(a), 1);
		assert_int_equal(rte_mbuf_refcnt_read(b), 1);
	}
	free_all(out, k);
	weft_fault_destroy(f);
}

/* Duplicates that do not fit in out wait their turn without being overtaken. */
static void test_full_out_keeps_order(void **state)
{
	(void)state;
	struct weft_fault_cfg c = {.duplicate = 1.0};
	struct weft_fault *f = mk(&c, 19);
	struct rte_mbuf *in[8], *out[8];
	uint32_t got[64], n = 0;
	for (uint32_t b = 0; b < 3; b++) {
		for (uint32_t i = 0; i < 4; i++)
			in[i] = frame(b * 4 + i, 64);
		uint16_t k = weft_fault_release(f, out, 3, 0, &ctr);
		k += weft_fault_apply(f, in, 4, out + k, (uint16_t)(5 - k), 0, &ctr);
		for (uint16_t i = 0; i < k; i++)
			got[n++] = seq_of(out[i]);
		free_all(out, k);
	}
	uint16_t k;
	while ((k = weft_fault_release(f, out, 8, 0, &ctr)) > 0) {
		for (uint16_t i = 0; i < k; i++)
			got[n++] = seq_of(out[i]);
		free_all(out, k);
	}
	assert_int_equal(n, 24);
	for (uint32_t i = 0; i < 24; i++)
		assert_int_equal(got[i], i / 2);
	weft_fault_destroy(f);
}

/* ---- device arguments and the EAL vector ------------------------------- */

static struct weft_port_cfg port_cfg(enum weft_port_driver d, const char *iface, const char *devargs)
{
	struct weft_port_cfg pc;
	memset(&pc, 0, sizeof(pc));
	snprintf(pc.name, sizeof(pc.name), "p0");
	pc.driver = d;
	if (iface)
		snprintf(pc.iface, sizeof(pc.iface), "%s", iface);
	if (devargs)
		snprintf(pc.devargs, sizeof(pc.devargs), "%s", devargs);
	return pc;
}

static void expect_devargs(const struct weft_port_cfg *pc, unsigned index, unsigned nq, const char *want)
{
	char buf[512];
	int n = weft_port_devargs(pc, index, nq, buf, sizeof(buf));
	if (n < 0)
		fail_msg("devargs failed: %s", strerror(errno));
	assert_string_equal(buf, want);
	assert_int_equal(n, (int)strlen(want));
}

static void test_devargs_presets(void **state)
{
	(void)state;
	struct weft_port_cfg pc;

	pc = port_cfg(WEFT_DRV_AF_PACKET, "wp0", NULL);
	expect_devargs(&pc, 0, 2, "iface=wp0,qpairs=2,blocksz=4096,framesz=2048,framecnt=1024");
	expect_devargs(&pc, 0, 1, "iface=wp0,qpairs=1,blocksz=4096,framesz=2048,framecnt=1024");
	/* The ring follows the port's descriptor counts (the larger), 1024 at least. */
	pc.rx_desc = 8192;
	pc.tx_desc = 2048;
	expect_devargs(&pc, 0, 1, "iface=wp0,qpairs=1,blocksz=4096,framesz=2048,framecnt=8192");
	pc.rx_desc = 256;
	pc.tx_desc = 512;
	expect_devargs(&pc, 0, 1, "iface=wp0,qpairs=1,blocksz=4096,framesz=2048,framecnt=1024");

	pc = port_cfg(WEFT_DRV_AF_XDP, "wx0", NULL);
	expect_devargs(&pc, 1, 4, "iface=wx0,start_queue=0,queue_count=4");

	pc = port_cfg(WEFT_DRV_TAP, "wtap0", NULL);
	expect_devargs(&pc, 2, 2, "iface=wtap0");
	pc = port_cfg(WEFT_DRV_TAP, NULL, NULL);
	expect_devargs(&pc, 2, 2, "");

	pc = port_cfg(WEFT_DRV_MEMIF, "/run/weft/memif.sock", NULL);
	expect_devargs(&pc, 3, 2, "role=server,id=3,socket=/run/weft/memif.sock");
	pc = port_cfg(WEFT_DRV_MEMIF, NULL, "role=client");
	expect_devargs(&pc, 3, 2, "id=3,role=client");

	pc = port_cfg(WEFT_DRV_RING, NULL, NULL);
	expect_devargs(&pc, 4, 2, "");
	pc = port_cfg(WEFT_DRV_RING, NULL, "nodeaction=r0:0:CREATE");
	expect_devargs(&pc, 4, 2, "nodeaction=r0:0:CREATE");

	pc = port_cfg(WEFT_DRV_NULL, NULL, NULL);
	expect_devargs(&pc, 5, 2, "size=64,copy=0");

	pc = port_cfg(WEFT_DRV_PCAP, "/tmp/in.pcap", NULL);
	expect_devargs(&pc, 6, 1, "rx_pcap=/tmp/in.pcap,tx_pcap=/tmp/in.pcap.out");
	expect_devargs(&pc, 6, 2, "rx_pcap=/tmp/in.pcap,tx_pcap=/tmp/in.pcap.out0,tx_pcap=/tmp/in.pcap.out1");
	pc = port_cfg(WEFT_DRV_PCAP, "eth0", NULL);
	expect_devargs(&pc, 6, 1, "iface=eth0");
	expect_devargs(&pc, 6, 2, "rx_iface_in=eth0,tx_iface=eth0,tx_iface=eth0");

	pc = port_cfg(WEFT_DRV_PCI, NULL, "rxq_cqe_comp_en=0");
	snprintf(pc.pci, sizeof(pc.pci), "0000:01:00.0");
	expect_devargs(&pc, 7, 2, "rxq_cqe_comp_en=0");
}

static void test_devargs_override_and_errors(void **state)
{
	(void)state;
	struct weft_port_cfg pc;
	char buf[512];

	/* The operator's keys win; preset keys not named stay. */
	pc = port_cfg(WEFT_DRV_AF_PACKET, "wp0", "framecnt=4096,qdisc_bypass=0");
	expect_devargs(&pc, 0, 2, "iface=wp0,qpairs=2,blocksz=4096,framesz=2048,framecnt=4096,qdisc_bypass=0");
	pc = port_cfg(WEFT_DRV_NULL, NULL, "copy=1");
	expect_devargs(&pc, 0, 1, "size=64,copy=1");
	/* "sizes=" is not "size=". */
	pc = port_cfg(WEFT_DRV_NULL, NULL, "sizes=1");
	expect_devargs(&pc, 0, 1, "size=64,copy=0,sizes=1");
	/* The interface may come in devargs instead. */
	pc = port_cfg(WEFT_DRV_AF_XDP, NULL, "iface=wx1");
	expect_devargs(&pc, 0, 1, "start_queue=0,queue_count=1,iface=wx1");

	pc = port_cfg(WEFT_DRV_AF_PACKET, NULL, NULL);
	errno = 0;
	assert_int_equal(weft_port_devargs(&pc, 0, 1, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EINVAL);
	pc = port_cfg(WEFT_DRV_AF_XDP, NULL, NULL);
	assert_int_equal(weft_port_devargs(&pc, 0, 1, buf, sizeof(buf)), -1);
	pc = port_cfg(WEFT_DRV_PCAP, NULL, NULL);
	assert_int_equal(weft_port_devargs(&pc, 0, 1, buf, sizeof(buf)), -1);

	pc = port_cfg(WEFT_DRV_AF_PACKET, "wp0", NULL);
	errno = 0;
	assert_int_equal(weft_port_devargs(&pc, 0, 1, buf, 20), -1);
	assert_int_equal(errno, ENOSPC);
	pc.driver = (enum weft_port_driver)99;
	assert_int_equal(weft_port_devargs(&pc, 0, 1, buf, sizeof(buf)), -1);
}

static void test_dev_names(void **state)
{
	(void)state;
	static const struct {
		enum weft_port_driver d;
		const char *name;
		const char *kind;
	} cases[] = {
		{WEFT_DRV_AF_PACKET, "net_af_packet0", "af_packet"}, {WEFT_DRV_AF_XDP, "net_af_xdp1", "af_xdp"},
		{WEFT_DRV_TAP, "net_tap2", "tap"},                    {WEFT_DRV_MEMIF, "net_memif3", "memif"},
		{WEFT_DRV_RING, "net_ring4", "ring"},                 {WEFT_DRV_NULL, "net_null5", "null"},
		{WEFT_DRV_PCAP, "net_pcap6", "pcap"},
	};
	char buf[64];
	for (unsigned i = 0; i < RTE_DIM(cases); i++) {
		struct weft_port_cfg pc = port_cfg(cases[i].d, NULL, NULL);
		assert_int_equal(weft_port_dev_name(&pc, i, buf, sizeof(buf)), (int)strlen(cases[i].name));
		assert_string_equal(buf, cases[i].name);
		assert_string_equal(weft_port_kind(cases[i].d), cases[i].kind);
	}
	struct weft_port_cfg pc = port_cfg(WEFT_DRV_PCI, NULL, NULL);
	snprintf(pc.pci, sizeof(pc.pci), "0000:3b:00.1");
	assert_true(weft_port_dev_name(&pc, 0, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "0000:3b:00.1");
	assert_string_equal(weft_port_kind(WEFT_DRV_PCI), "pci");
	pc = port_cfg(WEFT_DRV_NULL, NULL, NULL);
	assert_int_equal(weft_port_dev_name(&pc, 0, buf, 5), -1);
}

static struct weft_config *base_cfg(void)
{
	static struct weft_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.eal.main_cpu = 0;
	cfg.eal.n_workers = 2;
	cfg.eal.worker_cpus[0] = 1;
	cfg.eal.worker_cpus[1] = 1;
	cfg.eal.memory_mb = 512;
	cfg.eal.hugepages = true;
	snprintf(cfg.eal.file_prefix, sizeof(cfg.eal.file_prefix), "weft");
	return &cfg;
}

static void expect_argv(const struct weft_eal_argv *a, const char *const *want)
{
	int i = 0;
	for (; want[i] != NULL; i++) {
		assert_true(i < a->argc);
		assert_string_equal(a->argv[i], want[i]);
	}
	assert_int_equal(a->argc, i);
	assert_null(a->argv[i]);
}

static void test_eal_argv(void **state)
{
	(void)state;
	static struct weft_eal_argv a;
	char err[256];
	struct weft_config *cfg = base_cfg();
	cfg->n_ports = 2;
	cfg->ports[0] = port_cfg(WEFT_DRV_AF_PACKET, "wp0", NULL);
	cfg->ports[1] = port_cfg(WEFT_DRV_NULL, NULL, NULL);
	cfg->eal.n_args = 1;
	snprintf(cfg->eal.args[0], sizeof(cfg->eal.args[0]), "--log-level=pmd.net.af_packet:debug");
	char *extra[] = {(char *)"--no-telemetry"};

	assert_int_equal(weft_eal_argv_build(&a, cfg, "weftd", 1, extra, err, sizeof(err)), 0);
	const char *const want[] = {
		"weftd", "--lcores=0@0,1@1,2@1", "--main-lcore=0", "-m", "512", "--file-prefix=weft", "--in-memory",
		"--vdev=net_af_packet0,iface=wp0,qpairs=2,blocksz=4096,framesz=2048,framecnt=1024",
		"--vdev=net_null1,size=64,copy=0", "--no-pci", "--log-level=notice",
		"--log-level=pmd.net.af_packet:debug", "--no-telemetry", NULL,
	};
	expect_argv(&a, want);

	/* Without hugepages: --no-huge, and --no-shconf since the EAL refuses --in-memory with it. */
	cfg = base_cfg();
	cfg->eal.hugepages = false;
	cfg->eal.n_workers = 1;
	cfg->eal.worker_cpus[0] = 0;
	cfg->eal.file_prefix[0] = '\0';
	cfg->n_ports = 1;
	cfg->ports[0] = port_cfg(WEFT_DRV_PCI, NULL, "txq_inline=0");
	snprintf(cfg->ports[0].pci, sizeof(cfg->ports[0].pci), "0000:01:00.0");
	assert_int_equal(weft_eal_argv_build(&a, cfg, NULL, 0, NULL, err, sizeof(err)), 0);
	const char *const want2[] = {
		"weftd", "--lcores=0@0,1@0", "--main-lcore=0", "--no-huge", "-m", "512", "--no-shconf",
		"-a", "0000:01:00.0,txq_inline=0", "--log-level=notice", NULL,
	};
	expect_argv(&a, want2);

	/* Errors name what is wrong. */
	cfg = base_cfg();
	cfg->n_ports = 1;
	cfg->ports[0] = port_cfg(WEFT_DRV_AF_PACKET, NULL, NULL);
	assert_int_equal(weft_eal_argv_build(&a, cfg, "weftd", 0, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "port p0 (af_packet)"));
	cfg = base_cfg();
	cfg->eal.worker_cpus[1] = -1;
	assert_int_equal(weft_eal_argv_build(&a, cfg, "weftd", 0, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "worker 1"));
	cfg = base_cfg();
	static char *many[WEFT_EAL_MAX_ARGV];
	for (int i = 0; i < WEFT_EAL_MAX_ARGV; i++)
		many[i] = (char *)"-v";
	assert_int_equal(weft_eal_argv_build(&a, cfg, "weftd", WEFT_EAL_MAX_ARGV, many, err, sizeof(err)), -1);
}

int main(void)
{
	/*
	 * A small EAL for real mbufs. No hugepages and no shared config file,
	 * so two test programs can run side by side (--in-memory is refused
	 * together with --no-huge).
	 */
	char *eal_argv[] = {
		(char *)"test_fault", (char *)"--no-huge", (char *)"-m", (char *)"128", (char *)"--no-pci",
		(char *)"--no-shconf", (char *)"--no-telemetry", (char *)"-l", (char *)"0",
		(char *)"--log-level=*:error",
	};
	if (rte_eal_init((int)RTE_DIM(eal_argv), eal_argv) < 0) {
		fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	/* No per-lcore cache, so the available count is exact after every test. */
	pool = rte_pktmbuf_pool_create("test_fault", POOL_SIZE, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	if (pool == NULL) {
		fprintf(stderr, "mempool: %s\n", rte_strerror(rte_errno));
		return 1;
	}

	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_drop_rate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_rate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_rate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reorder_rate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_combined_rates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_extremes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_seed_same_decisions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seed_streams_differ, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delay_exact_and_ordered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jitter_within_bounds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_destroy_frees_held, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reorder_swaps_adjacent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reorder_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reorder_never_loses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_one_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_multiseg, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_shared_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_finishes_offloaded_checksums, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_finishes_offloaded_checksums_v6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_identical, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full_out_keeps_order, setup, teardown),
		cmocka_unit_test(test_devargs_presets),
		cmocka_unit_test(test_devargs_override_and_errors),
		cmocka_unit_test(test_dev_names),
		cmocka_unit_test(test_eal_argv),
	};
	int failed = cmocka_run_group_tests_name("fault", tests, NULL, NULL);
	if (rte_mempool_avail_count(pool) != POOL_SIZE) {
		fprintf(stderr, "mbuf leak: %u of %u mbufs back in the pool\n", rte_mempool_avail_count(pool),
			POOL_SIZE);
		failed = 1;
	}
	rte_mempool_free(pool);
	rte_eal_cleanup();
	return failed ? 1 : 0;
}
