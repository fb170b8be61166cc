/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the HTTP/1.1 request parser, its semantic pass and
 * the forwarded head (fuzz_h1_chunked covers bodies). For any byte string:
 *   - the parse consumes at most the input, every span lies inside it, and
 *     an error carries a named reason;
 *   - parsing byte by byte, and in two pieces, gives exactly the one-shot
 *     result (same count, reason and spans);
 *   - an accepted head, forwarded, parses again and keeps its method, target
 *     path and framing;
 * The input is copied to a buffer of its exact size so ASan sees any read
 * past the end.
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
	size_t m[2], t[2];
	unsigned nf, minor, form, mid;
	size_t f[NF][4];
};

static void inside(const char *base, size_t n, const char *p, size_t len)
{
	CHECK(p >= base && len <= n && (size_t)(p - base) <= n - len);
}

static int parse(const char *buf, size_t n, const size_t *cuts, unsigned ncuts,
		 const struct h1_limits *lim, struct h1_request *r, struct shape *s)
{
	struct h1_parser p;
	int rc = H1_AGAIN;

	h1_parser_init(&p, lim);
	for (unsigned k = 0; k < ncuts && rc == H1_AGAIN; k++)
		rc = h1_parse_request(&p, buf, cuts[k], r);
	if (rc == H1_AGAIN)
		rc = h1_parse_request(&p, buf, n, r);

	memset(s, 0, sizeof(*s));
	s->rc = rc;
	CHECK(rc == H1_AGAIN || rc == H1_ERROR || (rc > 0 && (size_t)rc <= n));
	CHECK(r->n_fields <= NF && r->n_fields <= lim->max_fields);
	if (rc == H1_ERROR) {
		CHECK(p.err > H1_E_NONE && p.err < H1_E_COUNT);
		s->err = p.err;
		return rc;
	}
	if (rc < 0)
		return rc;
	size_t end = (size_t)rc;
	inside(buf, end, r->method.ptr, r->method.len);
	inside(buf, end, r->target.ptr, r->target.len);
	CHECK(r->method.len > 0 && r->target.len > 0 && r->target.len <= lim->max_uri);
	s->m[0] = (size_t)(r->method.ptr - buf);
	s->m[1] = r->method.len;
	s->t[0] = (size_t)(r->target.ptr - buf);
	s->t[1] = r->target.len;
	s->nf = r->n_fields;
	s->minor = r->minor;
	s->form = r->target_form;
	s->mid = r->method_id;
	for (unsigned i = 0; i < r->n_fields; i++) {
		const struct h1_field *f = &r->fields[i];
		inside(buf, end, f->name, f->name_len);
		inside(buf, end, f->value, f->value_len);
		CHECK(f->name_len > 0);
		s->f[i][0] = (size_t)(f->name - buf);
		s->f[i][1] = f->name_len;
		s->f[i][2] = (size_t)(f->value - buf);
		s->f[i][3] = f->value_len;
	}
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct h1_field f1[NF], f2[NF], f3[NF + 8];
	struct h1_limits lim = H1_LIMITS_DEFAULT;
	struct shape one, other;
	size_t cut;

	if (size < 1)
		return 0;
	/* the first byte picks small limits, to reach them often */
	if (data[0] & 1) {
		lim.max_header_bytes = 200;
		lim.max_uri = 24;
		lim.max_fields = 4;
	}
	if (data[0] & 2)
		lim.flags |= H1_LIM_REJECT_UPGRADE;
	cut = data[0] >> 2;
	data++;
	size--;

	char *buf = malloc(size ? size : 1);
	CHECK(buf != NULL);
	memcpy(buf, data, size);

	struct h1_request r = {.fields = f1, .max_fields = NF};
	int rc = parse(buf, size, NULL, 0, &lim, &r, &one);

	/* byte by byte */
	size_t *cuts = malloc((size + 1) * sizeof(*cuts));
	CHECK(cuts != NULL);
	for (size_t i = 0; i <= size; i++)
		cuts[i] = i;
	struct h1_request r2 = {.fields = f2, .max_fields = NF};
	parse(buf, size, cuts, (unsigned)size + 1, &lim, &r2, &other);
	CHECK(memcmp(&one, &other, sizeof(one)) == 0);
	/* two pieces */
	size_t c1[1] = {cut < size ? cut : size / 2};
	parse(buf, size, c1, 1, &lim, &r2, &other);
	CHECK(memcmp(&one, &other, sizeof(one)) == 0);
	free(cuts);

	if (rc > 0) {
		struct h1_msg_info mi;
		enum h1_err e = h1_request_info(&r, &lim, &mi);
		CHECK(e < H1_E_COUNT);
		if (e == H1_E_NONE) {
			CHECK(mi.body <= H1_BODY_CHUNKED);
			inside(buf, (size_t)rc, mi.path.ptr, mi.path.len);
			if (mi.authority.len > 0)
				inside(buf, (size_t)rc, mi.authority.ptr, mi.authority.len);

			/* the forwarded head parses again, with the same meaning */
			static char out[70000];
			struct h1_out o;
			struct h1_prng prng;
			h1_prng_seed(&prng, size);
			struct h1_fwd fwd = {
				.client_addr = {"198.18.0.1", 10},
				.proto = {"https", 5},
				.prng = &prng,
				.flags = H1_FWD_XFF | H1_FWD_XFP | H1_FWD_REQUEST_ID | H1_FWD_KEEP_REQUEST_ID,
			};
			h1_out_init(&o, out, sizeof(out));
			CHECK(h1_write_request_head(&o, &r, &mi, &fwd) == 0);
			struct h1_parser p;
			struct h1_request q = {.fields = f3, .max_fields = NF + 8};
			struct h1_msg_info qi;
			static const struct h1_limits big = {
				.max_header_bytes = sizeof(out), .max_uri = 65536, .max_fields = NF + 8,
				.max_trailer_bytes = 1, .max_trailer_fields = 1, .max_chunk_ext = 1};
			h1_parser_init(&p, &big);
			CHECK(h1_parse_request(&p, out, o.len, &q) == (int)o.len);
			CHECK(h1_request_info(&q, &big, &qi) == H1_E_NONE);
			CHECK(q.minor == 1 && q.method_id == r.method_id);
			CHECK(q.method.len == r.method.len && memcmp(q.method.ptr, r.method.ptr, q.method.len) == 0);
			CHECK(qi.body == mi.body);
			CHECK(qi.body != H1_BODY_LENGTH || qi.content_length == mi.content_length);
			CHECK(qi.authority.len == mi.authority.len &&
			      (qi.authority.len == 0 || memcmp(qi.authority.ptr, mi.authority.ptr, qi.authority.len) == 0));
			CHECK(q.target_form != H1_TF_ABSOLUTE);
			if (r.target_form == H1_TF_ORIGIN)
				CHECK(q.target.len == r.target.len &&
				      memcmp(q.target.ptr, r.target.ptr, q.target.len) == 0);
			for (unsigned i = 0; i < q.n_fields; i++)
				CHECK(!(q.fields[i].flags & H1_FF_HOP) ||
				      q.fields[i].id == H1_F_TRANSFER_ENCODING);
		}
	}
	free(buf);
	return 0;
}
