/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the HTTP/1.1 response parser and its semantic pass.
 * For any byte string (the first byte says whether the request was HEAD):
 * the parse consumes at most the input, every span lies inside it, errors
 * are named; byte by byte and in two pieces it gives the one-shot result;
 * an accepted head, forwarded, parses again with the same status and
 * framing.
 */
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

#define NF 64

struct shape {
	int rc, err;
	unsigned status, minor, nf;
	size_t reason[2];
	size_t f[NF][4];
};

static void inside(const char *base, size_t n, const char *p, size_t len)
{
	CHECK(p >= base && len <= n && (size_t)(p - base) <= n - len);
}

static int parse(const char *buf, size_t n, const size_t *cuts, size_t ncuts,
		 const struct h1_limits *lim, struct h1_response *r, struct shape *s)
{
	struct h1_parser p;
	int rc = H1_AGAIN;

	h1_parser_init(&p, lim);
	for (size_t k = 0; k < ncuts && rc == H1_AGAIN; k++)
		rc = h1_parse_response(&p, buf, cuts[k], r);
	if (rc == H1_AGAIN)
		rc = h1_parse_response(&p, buf, n, r);

	memset(s, 0, sizeof(*s));
	s->rc = rc;
	CHECK(rc == H1_AGAIN || rc == H1_ERROR || (rc > 0 && (size_t)rc <= n));
	CHECK(r->n_fields <= NF);
	if (rc == H1_ERROR) {
		CHECK(p.err > H1_E_NONE && p.err < H1_E_COUNT);
		s->err = p.err;
		return rc;
	}
	if (rc < 0)
		return rc;
	size_t end = (size_t)rc;
	CHECK(r->status >= 100 && r->status <= 599 && r->minor <= 1);
	inside(buf, end, r->reason.ptr, r->reason.len);
	s->status = r->status;
	s->minor = r->minor;
	s->reason[0] = (size_t)(r->reason.ptr - buf);
	s->reason[1] = r->reason.len;
	s->nf = r->n_fields;
	for (unsigned i = 0; i < r->n_fields; i++) {
		const struct h1_field *f = &r->fields[i];
		inside(buf, end, f->name, f->name_len);
		inside(buf, end, f->value, f->value_len);
		s->f[i][0] = (size_t)(f->name - buf);
		s->f[i][1] = f->name_len;
		s->f[i][2] = (size_t)(f->value - buf);
		s->f[i][3] = f->value_len;
	}
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct h1_field f1[NF], f2[NF], f3[NF + 4];
	struct h1_limits lim = H1_LIMITS_DEFAULT;
	struct shape one, other;

	if (size < 1)
		return 0;
	enum h1_method m = data[0] & 1 ? H1_M_HEAD : H1_M_GET;
	bool chunk_close = data[0] & 2;
	if (data[0] & 4) {
		lim.max_header_bytes = 160;
		lim.max_fields = 3;
	}
	size_t cut = data[0] >> 3;
	data++;
	size--;

	char *buf = malloc(size ? size : 1);
	CHECK(buf != NULL);
	memcpy(buf, data, size);

	struct h1_response r = {.fields = f1, .max_fields = NF};
	int rc = parse(buf, size, NULL, 0, &lim, &r, &one);

	size_t *cuts = malloc((size + 1) * sizeof(*cuts));
	CHECK(cuts != NULL);
	for (size_t i = 0; i <= size; i++)
		cuts[i] = i;
	struct h1_response r2 = {.fields = f2, .max_fields = NF};
	parse(buf, size, cuts, size + 1, &lim, &r2, &other);
	CHECK(memcmp(&one, &other, sizeof(one)) == 0);
	size_t c1[1] = {cut < size ? cut : size / 2};
	parse(buf, size, c1, 1, &lim, &r2, &other);
	CHECK(memcmp(&one, &other, sizeof(one)) == 0);
	free(cuts);

	if (rc > 0) {
		struct h1_msg_info mi;
		enum h1_err e = h1_response_info(&r, m, &mi);
		CHECK(e < H1_E_COUNT);
		if (e == H1_E_NONE) {
			CHECK(mi.body <= H1_BODY_CLOSE);
			CHECK(mi.body != H1_BODY_CLOSE || !(mi.flags & H1_MI_KEEP_ALIVE));
			CHECK(!(mi.flags & H1_MI_INFORMATIONAL) || r.status < 200);

			static char out[70000];
			struct h1_out o;
			struct h1_fwd fwd = {.flags = chunk_close ? H1_FWD_CHUNK_CLOSE_BODY : 0};
			h1_out_init(&o, out, sizeof(out));
			CHECK(h1_write_response_head(&o, &r, &mi, &fwd) == 0);
			struct h1_parser p;
			struct h1_response q = {.fields = f3, .max_fields = NF + 4};
			struct h1_msg_info qi;
			static const struct h1_limits big = {
				.max_header_bytes = sizeof(out), .max_uri = 1, .max_fields = NF + 4,
				.max_trailer_bytes = 1, .max_trailer_fields = 1, .max_chunk_ext = 1};
			h1_parser_init(&p, &big);
			CHECK(h1_parse_response(&p, out, o.len, &q) == (int)o.len);
			CHECK(h1_response_info(&q, m, &qi) == H1_E_NONE);
			CHECK(q.status == r.status && q.minor == 1);
			CHECK(q.reason.len == r.reason.len &&
			      (q.reason.len == 0 || memcmp(q.reason.ptr, r.reason.ptr, q.reason.len) == 0));
			if (mi.body == H1_BODY_CLOSE && chunk_close)
				CHECK(qi.body == H1_BODY_CHUNKED);
			else
				CHECK(qi.body == mi.body);
			CHECK(qi.body != H1_BODY_LENGTH || qi.content_length == mi.content_length);
		}
	}
	free(buf);
	return 0;
}
