/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Keyed hashes of the 4-tuple: initial sequence numbers (RFC 6528),
 * timestamp offsets (RFC 7323 5.4) and SYN cookies (RFC 4987 3.6).
 *
 * All three use SipHash-2-4 (Aumasson and Bernstein, 2012), a PRF with a
 * 128-bit key that is fast on short inputs: an attacker who sees many ISNs
 * or cookies learns nothing that predicts the next one for another tuple.
 */
#include <string.h>

#include <rte_random.h>

#include "dataplane/tcp/tcp_priv.h"

static inline uint64_t rotl(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

static inline uint64_t le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

#define SIPROUND                                                                                   \
	do {                                                                                       \
		v0 += v1;                                                                          \
		v1 = rotl(v1, 13);                                                                 \
		v1 ^= v0;                                                                          \
		v0 = rotl(v0, 32);                                                                 \
		v2 += v3;                                                                          \
		v3 = rotl(v3, 16);                                                                 \
		v3 ^= v2;                                                                          \
		v0 += v3;                                                                          \
		v3 = rotl(v3, 21);                                                                 \
		v3 ^= v0;                                                                          \
		v2 += v1;                                                                          \
		v1 = rotl(v1, 17);                                                                 \
		v1 ^= v2;                                                                          \
		v2 = rotl(v2, 32);                                                                 \
	} while (0)

uint64_t tcp_siphash(const uint8_t key[16], const void *data, size_t len)
{
	const uint8_t *in = data;
	uint64_t k0 = le64(key), k1 = le64(key + 8);
	uint64_t v0 = 0x736f6d6570736575ull ^ k0;
	uint64_t v1 = 0x646f72616e646f6dull ^ k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ k0;
	uint64_t v3 = 0x7465646279746573ull ^ k1;
	uint64_t b = (uint64_t)len << 56, m;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		m = le64(in + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t j = 0; i + j < len; j++)
		b |= (uint64_t)in[i + j] << (8 * j);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

/* The tuple as hash input: family, addresses, ports, and a purpose tag. */
static size_t tuple_bytes(const struct tcp_endpoints *ep, uint8_t tag, uint8_t *buf)
{
	size_t n = 0;
	buf[n++] = tag;
	buf[n++] = ep->local.af;
	if (ep->local.af == 4) {
		memcpy(buf + n, &ep->local.v4, 4);
		memcpy(buf + n + 4, &ep->remote.v4, 4);
		n += 8;
	} else {
		memcpy(buf + n, ep->local.v6, 16);
		memcpy(buf + n + 16, ep->remote.v6, 16);
		n += 32;
	}
	memcpy(buf + n, &ep->lport, 2);
	memcpy(buf + n + 2, &ep->rport, 2);
	return n + 4;
}

/*
 * RFC 6528 3: ISN = M + F(localip, localport, remoteip, remoteport,
 * secretkey), M a 4-microsecond timer. The timer keeps ISNs of successive
 * incarnations of a tuple increasing (RFC 9293 3.4.1), which the TIME_WAIT
 * reuse check of RFC 6191 relies on when timestamps are off.
 */
uint32_t tcp_isn(struct tcp_stack *st, const struct tcp_endpoints *ep)
{
	uint8_t buf[48];
	size_t n = tuple_bytes(ep, 'I', buf);
	return (uint32_t)(st->now_us / 4) + (uint32_t)tcp_siphash(st->isn_key, buf, n);
}

/*
 * RFC 7323 5.4 and 7.1: a per-connection random offset keeps the timestamp
 * clock from revealing uptime. It is derived from the tuple rather than
 * drawn, so a stateless SYN-ACK (cookie) and the later connection agree, and
 * successive connections of one tuple keep increasing timestamps (RFC 6191).
 */
uint32_t tcp_ts_offset(struct tcp_stack *st, const struct tcp_endpoints *ep)
{
	uint8_t buf[48];
	size_t n = tuple_bytes(ep, 'T', buf);
	return (uint32_t)tcp_siphash(st->isn_key, buf, n);
}

/*
 * SYN cookies (RFC 4987 3.6). When the backlog is full the SYN-ACK's
 * sequence number carries the state instead of a connection object:
 *
 *   bits 31..27  period counter t (64 s slots, modulo 32)
 *   bits 26..24  index of the MSS in mss_table
 *   bits 23..0   SipHash(key[t], tuple, peer ISN, t, MSS index)
 *
 * A cookie is accepted for two periods (64 to 128 s). Each period has its
 * own key, regenerated when the period slot comes round again, so a leaked
 * key is worthless two minutes later. The peer's ISN is hashed in so that
 * a cookie answers exactly one SYN.
 */
static const uint16_t mss_table[8] = {536, 1220, 1360, 1400, 1440, 1460, 4312, 8960};

void tcp_cookie_rotate(struct tcp_stack *st)
{
	uint64_t p = st->now_ms / TCP_COOKIE_PERIOD_MS;

	if (p <= st->cookie_period)
		return;
	/* Only the last two periods matter: at most two keys to renew. */
	if (p - st->cookie_period > 2)
		st->cookie_period = p - 2;
	while (st->cookie_period < p) {
		st->cookie_period++;
		for (unsigned i = 0; i < 16; i++)
			st->cookie_key[st->cookie_period & 1][i] = (uint8_t)rte_rand();
	}
}

static uint32_t cookie_hash(struct tcp_stack *st, const struct tcp_endpoints *ep, uint32_t peer_isn, uint64_t period,
			    unsigned idx)
{
	uint8_t buf[64];
	size_t n = tuple_bytes(ep, 'C', buf);
	memcpy(buf + n, &peer_isn, 4);
	buf[n + 4] = (uint8_t)(period & 31);
	buf[n + 5] = (uint8_t)idx;
	return (uint32_t)tcp_siphash(st->cookie_key[period & 1], buf, n + 6) & 0xffffffu;
}

uint32_t tcp_cookie_make(struct tcp_stack *st, const struct tcp_endpoints *ep, uint32_t peer_isn, uint16_t mss,
			 uint16_t *mss_out)
{
	unsigned idx = 0;

	tcp_cookie_rotate(st);
	/* The largest table entry the peer can take; the smallest if none fits. */
	for (unsigned i = 0; i < 8; i++)
		if (mss_table[i] <= mss)
			idx = i;
	if (ep->local.af == 6 && idx == 0)
		idx = 1; /* IPv6 guarantees 1280-byte packets */
	*mss_out = mss_table[idx];
	return ((uint32_t)(st->cookie_period & 31) << 27) | ((uint32_t)idx << 24) |
	       cookie_hash(st, ep, peer_isn, st->cookie_period, idx);
}

uint16_t tcp_cookie_check(struct tcp_stack *st, const struct tcp_endpoints *ep, uint32_t peer_isn, uint32_t cookie)
{
	unsigned t = cookie >> 27, idx = (cookie >> 24) & 7;
	uint64_t age;

	tcp_cookie_rotate(st);
	age = (st->cookie_period - t) & 31;
	if (age > 1)
		return 0;
	if (cookie_hash(st, ep, peer_isn, st->cookie_period - age, idx) != (cookie & 0xffffffu))
		return 0;
	return mss_table[idx];
}

/*
 * With timestamps, the options a cookie cannot hold ride in the low bits of
 * our TSval and come back in the peer's TSecr (the scheme Linux uses):
 * bits 3..0 the peer's window shift (15: none), bit 4 SACK permitted. The
 * value is moved back by 32 if needed so it never runs ahead of the clock:
 * the peer's PAWS check must accept our later, honest timestamps.
 */
uint32_t tcp_cookie_ts_encode(uint32_t tsval, bool sack, int wscale)
{
	uint32_t opts = (uint32_t)(wscale < 0 ? 15 : wscale) | (sack ? 0x10u : 0);
	uint32_t v = (tsval & ~0x1fu) | opts;
	if (seq_gt(v, tsval))
		v -= 32;
	return v;
}

void tcp_cookie_ts_decode(uint32_t tsecr, bool *sack, int *wscale)
{
	unsigned ws = tsecr & 0xf;
	*sack = (tsecr & 0x10) != 0;
	*wscale = ws > TCP_MAX_WSCALE ? -1 : (int)ws;
}
