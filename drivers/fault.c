/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fault injection engine. See fault.h for the stages and their order.
 *
 * Held frames live in a binary min-heap keyed by (release time, sequence
 * number). The sequence number makes equal release times leave in the order
 * they were held, which is what keeps a constant delay order-preserving;
 * jitter gives different release times and so may reorder, as a real link
 * with variable queueing would.
 */
#include "drivers/fault.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_malloc.h>
#include <rte_tcp.h>
#include <rte_udp.h>

struct fault_slot {
	uint64_t release;
	uint64_t seq;
	struct rte_mbuf *m;
};

struct weft_fault {
	uint64_t rng[4];        /* xoshiro256** state */
	/* Probabilities as 53-bit thresholds: a roll hits when (next >> 11) < thr. Zero skips the roll. */
	uint64_t thr_drop;
	uint64_t thr_dup;
	uint64_t thr_corrupt;
	uint64_t thr_reorder;
	uint64_t delay;         /* TSC ticks */
	uint64_t jitter;        /* TSC ticks; extra latency is uniform in [0, jitter] */
	uint64_t reorder_timeout;
	struct rte_mbuf *held;  /* the reorder slot */
	uint64_t held_deadline;
	uint64_t seq;
	uint32_t n;             /* frames in heap */
	uint32_t cap;
	struct fault_slot heap[];
};

/* splitmix64: spreads a seed over the xoshiro state, which must not be all zero. */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** (Blackman and Vigna): fast, 256 bits of state, good in every bit. */
static inline uint64_t rng_next(struct weft_fault *f)
{
	uint64_t *s = f->rng;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

static inline bool roll(struct weft_fault *f, uint64_t thr)
{
	return (rng_next(f) >> 11) < thr;
}

/* Uniform in [0, bound) without division (Lemire's multiply-high); bias below 2^-32 for our bounds. */
static inline uint64_t bounded(struct weft_fault *f, uint64_t bound)
{
	return (uint64_t)(((unsigned __int128)rng_next(f) * bound) >> 64);
}

static uint64_t prob_threshold(double p)
{
	return (uint64_t)(p * (double)(1ULL << 53));
}

static uint64_t us_to_tsc(uint64_t us, uint64_t hz)
{
	return (uint64_t)((unsigned __int128)us * hz / 1000000);
}

bool weft_fault_cfg_active(const struct weft_fault_cfg *cfg)
{
	return cfg->drop > 0 || cfg->duplicate > 0 || cfg->corrupt > 0 || cfg->reorder > 0 ||
	       cfg->delay_us > 0 || cfg->jitter_us > 0;
}

uint64_t weft_fault_seed(uint64_t cfg_seed, uint16_t port, uint16_t queue, enum weft_fault_dir dir)
{
	uint64_t x = cfg_seed ^ ((uint64_t)port << 32) ^ ((uint64_t)queue << 8) ^ (uint64_t)dir;
	return splitmix64(&x);
}

static bool prob_ok(double p)
{
	return p >= 0.0 && p <= 1.0; /* also false for NaN */
}

struct weft_fault *weft_fault_create(const struct weft_fault_cfg *cfg, uint64_t seed, uint64_t hz,
				     int socket)
{
	if (!prob_ok(cfg->drop) || !prob_ok(cfg->duplicate) || !prob_ok(cfg->corrupt) ||
	    !prob_ok(cfg->reorder) || hz == 0) {
		rte_errno = EINVAL;
		return NULL;
	}
	size_t sz = sizeof(struct weft_fault) + WEFT_FAULT_QUEUE_LEN * sizeof(struct fault_slot);
	struct weft_fault *f = rte_zmalloc_socket("weft_fault", sz, RTE_CACHE_LINE_SIZE, socket);
	if (f == NULL) {
		rte_errno = ENOMEM;
		return NULL;
	}
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		f->rng[i] = splitmix64(&x);

	f->thr_drop = prob_threshold(cfg->drop);
	f->thr_dup = prob_threshold(cfg->duplicate);
	f->thr_corrupt = prob_threshold(cfg->corrupt);
	/*
	 * A frame that arrives while another is held is that one's successor
	 * and is not itself eligible, so a per-roll probability q reorders a
	 * fraction q/(1+q) of all frames. Rolling with q = p/(1-p) makes the
	 * fraction p, as configured, up to the ceiling of one frame in two.
	 */
	double p = cfg->reorder;
	f->thr_reorder = p >= 0.5 ? prob_threshold(1.0) : prob_threshold(p / (1.0 - p));
	f->delay = us_to_tsc(cfg->delay_us, hz);
	f->jitter = us_to_tsc(cfg->jitter_us, hz);
	f->reorder_timeout = us_to_tsc(WEFT_FAULT_REORDER_TIMEOUT_US, hz);
	f->cap = WEFT_FAULT_QUEUE_LEN;
	return f;
}

void weft_fault_destroy(struct weft_fault *f)
{
	if (f == NULL)
		return;
	rte_pktmbuf_free(f->held);
	for (uint32_t i = 0; i < f->n; i++)
		rte_pktmbuf_free(f->heap[i].m);
	rte_free(f);
}

unsigned weft_fault_pending(const struct weft_fault *f)
{
	return f->n + (f->held != NULL);
}

uint64_t weft_fault_next_release(const struct weft_fault *f)
{
	uint64_t t = f->n ? f->heap[0].release : UINT64_MAX;
	if (f->held != NULL && f->held_deadline < t)
		t = f->held_deadline;
	return t;
}

/* ---- the heap ---------------------------------------------------------- */

static inline bool slot_before(const struct fault_slot *a, const struct fault_slot *b)
{
	return a->release < b->release || (a->release == b->release && a->seq < b->seq);
}

/* Takes ownership of m: it is held, or freed and counted when the queue is full. */
static void heap_push(struct weft_fault *f, struct rte_mbuf *m, uint64_t release,
		      struct weft_worker_counters *ctr)
{
	if (f->n == f->cap) {
		WEFT_CTR_ADD(ctr->drops[WEFT_DROP_FAULT_QUEUE_FULL], 1);
		rte_pktmbuf_free(m);
		return;
	}
	struct fault_slot s = {.release = release, .seq = f->seq++, .m = m};
	uint32_t i = f->n++;
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (!slot_before(&s, &f->heap[parent]))
			break;
		f->heap[i] = f->heap[parent];
		i = parent;
	}
	f->heap[i] = s;
}

/* Removes the earliest frame; ownership passes to the caller. The heap must not be empty. */
static struct rte_mbuf *heap_pop(struct weft_fault *f)
{
	struct rte_mbuf *top = f->heap[0].m;
	struct fault_slot last = f->heap[--f->n];
	uint32_t i = 0;
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= f->n)
			break;
		if (c + 1 < f->n && slot_before(&f->heap[c + 1], &f->heap[c]))
			c++;
		if (!slot_before(&f->heap[c], &last))
			break;
		f->heap[i] = f->heap[c];
		i = c;
	}
	if (f->n > 0)
		f->heap[i] = last;
	return top;
}

/* Moves due frames to out[k..]; their ownership passes to the caller. Returns the new fill of out. */
static uint16_t release_due(struct weft_fault *f, struct rte_mbuf **out, uint16_t k, uint16_t max_out,
			    uint64_t now)
{
	while (k < max_out && f->n > 0 && f->heap[0].release <= now)
		out[k++] = heap_pop(f);
	return k;
}

/* ---- stages ------------------------------------------------------------ */

/*
 * The delay stage. Takes ownership of m: it goes to out, or into the heap.
 * Without delay a frame goes straight out unless older frames are still
 * queued (out was full earlier), in which case it queues behind them with
 * release time now so that order is kept.
 */
static void stage_delay(struct weft_fault *f, struct rte_mbuf *m, uint64_t now, struct rte_mbuf **out,
			uint16_t *k, uint16_t max_out, struct weft_worker_counters *ctr)
{
	if (f->delay == 0 && f->jitter == 0) {
		if (f->n == 0 && *k < max_out)
			out[(*k)++] = m;
		else
			heap_push(f, m, now, ctr);
		return;
	}
	uint64_t release = now + f->delay;
	if (f->jitter)
		release += bounded(f, f->jitter + 1);
	uint32_t before = f->n;
	heap_push(f, m, release, ctr);
	if (f->n != before)
		WEFT_CTR_ADD(ctr->events[WEFT_EV_FAULT_DELAYED], 1);
}

/* The reorder stage. Takes ownership of m. */
static void stage_reorder(struct weft_fault *f, struct rte_mbuf *m, uint64_t now, struct rte_mbuf **out,
			  uint16_t *k, uint16_t max_out, struct weft_worker_counters *ctr)
{
	if (f->held != NULL) {
		/* m is the successor the held frame was waiting for: m first, then the held one. */
		struct rte_mbuf *h = f->held;
		f->held = NULL;
		stage_delay(f, m, now, out, k, max_out, ctr);
		stage_delay(f, h, now, out, k, max_out, ctr);
		return;
	}
	if (f->thr_reorder && roll(f, f->thr_reorder)) {
		f->held = m;
		f->held_deadline = now + f->reorder_timeout;
		WEFT_CTR_ADD(ctr->events[WEFT_EV_FAULT_REORDERED], 1);
		return;
	}
	stage_delay(f, m, now, out, k, max_out, ctr);
}

/* The frame's bytes may be changed only when no other mbuf or external owner shares them. Borrows m. */
static bool mbuf_writable(const struct rte_mbuf *m)
{
	for (; m != NULL; m = m->next)
		if (!RTE_MBUF_DIRECT(m) || rte_mbuf_refcnt_read(m) != 1)
			return false;
	return true;
}

/*
 * A frame leaving with checksum offload requests would have its checksums
 * recomputed by the device after we corrupt it, hiding the corruption.
 * Compute them in software now and drop the requests, so the receiver sees
 * checksums that match the frame as it was before the damage.
 * Borrows m, which must be writable (see mbuf_writable()).
 */
static void tx_cksum_in_software(struct rte_mbuf *m)
{
	uint64_t ol = m->ol_flags;
	uint64_t l4 = ol & RTE_MBUF_F_TX_L4_MASK;
	if (!(ol & RTE_MBUF_F_TX_IP_CKSUM) && l4 == 0)
		return;
	uint32_t l4_off = m->l2_len + m->l3_len;
	if (l4_off > rte_pktmbuf_data_len(m)) /* headers not in the first segment: leave it to the device */
		return;

	/* Where the L4 checksum field sits; written through memcpy as headers need not be aligned. */
	uint8_t *l4_cksum = NULL;
	if (l4 == RTE_MBUF_F_TX_TCP_CKSUM && l4_off + sizeof(struct rte_tcp_hdr) <= rte_pktmbuf_data_len(m))
		l4_cksum = rte_pktmbuf_mtod_offset(m, uint8_t *, l4_off + offsetof(struct rte_tcp_hdr, cksum));
	else if (l4 == RTE_MBUF_F_TX_UDP_CKSUM &&
		 l4_off + sizeof(struct rte_udp_hdr) <= rte_pktmbuf_data_len(m))
		l4_cksum = rte_pktmbuf_mtod_offset(m, uint8_t *, l4_off + offsetof(struct rte_udp_hdr, dgram_cksum));
	else if (l4 != 0)
		return; /* SCTP or a truncated header: not ours to finish */

	const uint16_t zero = 0;
	uint16_t sum;
	if (ol & RTE_MBUF_F_TX_IPV4) {
		struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, m->l2_len);
		if (ol & RTE_MBUF_F_TX_IP_CKSUM) {
			ip->hdr_checksum = 0;
			ip->hdr_checksum = rte_ipv4_cksum(ip);
		}
		if (l4_cksum != NULL) {
			memcpy(l4_cksum, &zero, sizeof(zero));
			sum = rte_ipv4_udptcp_cksum_mbuf(m, ip, l4_off);
			memcpy(l4_cksum, &sum, sizeof(sum));
		}
	} else if (ol & RTE_MBUF_F_TX_IPV6) {
		struct rte_ipv6_hdr *ip = rte_pktmbuf_mtod_offset(m, struct rte_ipv6_hdr *, m->l2_len);
		if (l4_cksum != NULL) {
			memcpy(l4_cksum, &zero, sizeof(zero));
			sum = rte_ipv6_udptcp_cksum_mbuf(m, ip, l4_off);
			memcpy(l4_cksum, &sum, sizeof(sum));
		}
	} else {
		return;
	}
	m->ol_flags &= ~(RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK);
}

/*
 * Change one byte past the Ethernet header, so that the damage lands in what
 * a checksum covers and the receiver's check is what notices it.
 * Takes ownership of m and returns the frame to carry on with: m itself, or
 * a private copy when m's data is shared (a clone kept for retransmission
 * must not be damaged along with the frame on the wire).
 */
static struct rte_mbuf *corrupt(struct weft_fault *f, struct rte_mbuf *m, struct weft_worker_counters *ctr)
{
	uint32_t len = rte_pktmbuf_pkt_len(m);
	if (len <= RTE_ETHER_HDR_LEN)
		return m;
	if (!mbuf_writable(m)) {
		struct rte_mbuf *c = rte_pktmbuf_copy(m, m->pool, 0, UINT32_MAX);
		if (c == NULL)
			return m; /* no mbuf to copy into: let this one through undamaged */
		rte_pktmbuf_free(m);
		m = c;
	}
	tx_cksum_in_software(m);
	/* A received frame must not keep a "checksum good" verdict the device gave before the damage. */
	m->ol_flags &= ~(RTE_MBUF_F_RX_IP_CKSUM_MASK | RTE_MBUF_F_RX_L4_CKSUM_MASK);

	uint32_t off = RTE_ETHER_HDR_LEN + (uint32_t)bounded(f, len - RTE_ETHER_HDR_LEN);
	struct rte_mbuf *seg = m;
	while (off >= seg->data_len) {
		off -= seg->data_len;
		seg = seg->next;
	}
	uint8_t *b = rte_pktmbuf_mtod_offset(seg, uint8_t *, off);
	*b ^= (uint8_t)(1 + bounded(f, 255)); /* never zero, so the byte really changes */
	WEFT_CTR_ADD(ctr->events[WEFT_EV_FAULT_CORRUPTED], 1);
	return m;
}

uint16_t weft_fault_apply(struct weft_fault *f, struct rte_mbuf **in, uint16_t n, struct rte_mbuf **out,
			  uint16_t max_out, uint64_t now, struct weft_worker_counters *ctr)
{
	uint16_t k = 0;

	for (uint16_t i = 0; i < n; i++) {
		struct rte_mbuf *m = in[i];

		if (f->thr_drop && roll(f, f->thr_drop)) {
			WEFT_CTR_ADD(ctr->drops[WEFT_DROP_FAULT_DROP], 1);
			rte_pktmbuf_free(m);
			continue;
		}
		struct rte_mbuf *dup = NULL;
		if (f->thr_dup && roll(f, f->thr_dup)) {
			/* A deep copy: the two must not share data that corruption could touch. */
			dup = rte_pktmbuf_copy(m, m->pool, 0, UINT32_MAX);
			if (dup != NULL)
				WEFT_CTR_ADD(ctr->events[WEFT_EV_FAULT_DUPLICATED], 1);
		}
		if (f->thr_corrupt && roll(f, f->thr_corrupt))
			m = corrupt(f, m, ctr);
		stage_reorder(f, m, now, out, &k, max_out, ctr);
		if (dup != NULL)
			stage_reorder(f, dup, now, out, &k, max_out, ctr);
	}
	/* Frames queued only because out was full earlier are due now; let them follow. */
	return release_due(f, out, k, max_out, now);
}

uint16_t weft_fault_release(struct weft_fault *f, struct rte_mbuf **out, uint16_t max_out, uint64_t now,
			    struct weft_worker_counters *ctr)
{
	uint16_t k = 0;

	if (f->held != NULL && now >= f->held_deadline) {
		/* No successor came in time: the frame goes on alone, late. */
		struct rte_mbuf *h = f->held;
		f->held = NULL;
		stage_delay(f, h, now, out, &k, max_out, ctr);
	}
	return release_due(f, out, k, max_out, now);
}
