/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the chunked decoder (RFC 9112 7.1). For any byte
 * string, decoded whole, byte by byte, in pieces of 7 and with room for one
 * span per call: the same bytes consumed, the same reason or the same data;
 * every span inside its piece; progress on every call until the end. A body
 * that ends re-encodes, through a small output buffer, into chunks that
 * decode to the same data.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/http/h1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static void inside(const char *base, size_t n, const char *p, size_t len)
{
	CHECK(p >= base && len <= n && (size_t)(p - base) <= n - len);
}

static struct h1_limits lim;

struct body {
	long consumed;
	int err;
	bool done;
	size_t n;
	uint64_t sum; /* a position-weighted digest of the data */
};

static void add_data(struct body *b, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b->sum = b->sum * 31 + (unsigned char)p[i] + 1;
	b->n += n;
}

/* Decode in pieces of step bytes (0: all at once), at most max spans a call. */
static void decode(const char *in, size_t n, size_t step, unsigned max, struct body *b)
{
	struct h1_chunked d;
	size_t off = 0;

	memset(b, 0, sizeof(*b));
	h1_chunked_init(&d, &lim);
	while (off < n && !h1_chunked_done(&d)) {
		size_t piece = step == 0 || n - off < step ? n - off : step;
		struct h1_str sp[4];
		unsigned ns = 0;
		long c = h1_chunked_decode(&d, in + off, piece, sp, max, &ns);
		if (c < 0) {
			CHECK(d.err > H1_E_NONE && d.err < H1_E_COUNT);
			/* what an erroring call found is not compared */
			memset(b, 0, sizeof(*b));
			b->err = d.err;
			b->consumed = -1;
			return;
		}
		CHECK((size_t)c <= piece && ns <= max);
		for (unsigned k = 0; k < ns; k++) {
			inside(in + off, (size_t)c, sp[k].ptr, sp[k].len);
			CHECK(sp[k].len > 0);
			add_data(b, sp[k].ptr, sp[k].len);
		}
		CHECK(c > 0 || ns > 0 || h1_chunked_done(&d));
		off += (size_t)c;
	}
	b->consumed = (long)off;
	b->done = h1_chunked_done(&d);
}

static void check_chunked(const char *in, size_t n)
{
	struct body one, other;

	decode(in, n, 0, 4, &one);
	decode(in, n, 1, 4, &other);
	CHECK(memcmp(&one, &other, sizeof(one)) == 0);
	decode(in, n, 0, 1, &other);
	CHECK(memcmp(&one, &other, sizeof(one)) == 0);
	decode(in, n, 7, 2, &other);
	CHECK(memcmp(&one, &other, sizeof(one)) == 0);
	if (!one.done)
		return;

	/* re-encode through a small buffer, then decode the result */
	size_t cap = n * 4 + 64;
	char *acc = malloc(cap);
	CHECK(acc != NULL);
	struct h1_chunked d;
	char out[37];
	size_t alen = 0, off = 0, olen;
	h1_chunked_init(&d, &lim);
	while (!h1_chunked_done(&d)) {
		long c = h1_chunked_reencode(&d, in + off, n - off, out, sizeof(out), &olen);
		CHECK(c >= 0 && olen <= sizeof(out) && (c > 0 || olen > 0));
		CHECK(alen + olen <= cap);
		memcpy(acc + alen, out, olen);
		alen += olen;
		off += (size_t)c;
	}
	CHECK((long)off == one.consumed);
	decode(acc, alen, 0, 4, &other);
	CHECK(other.done && other.consumed == (long)alen);
	CHECK(other.n == one.n && other.sum == one.sum);
	free(acc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* the first byte picks small limits, to reach them often */
	lim = (struct h1_limits)H1_LIMITS_DEFAULT;
	if (data[0] & 1) {
		lim.max_chunk_ext = 6;
		lim.max_trailer_bytes = 24;
		lim.max_trailer_fields = 2;
	}
	data++;
	size--;
	char *buf = malloc(size ? size : 1);
	CHECK(buf != NULL);
	memcpy(buf, data, size);
	check_chunked(buf, size);
	free(buf);
	return 0;
}
