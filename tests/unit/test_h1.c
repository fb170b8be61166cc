/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HTTP/1.1 parser and codec: every request form, responses and their body
 * rules, pipelining, each smuggling defence with its exact named reason,
 * limits at N and N+1, every split of heads and chunked bodies giving the
 * one-shot result, chunk re-encoding, and the forwarded head reparsed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "dataplane/http/h1.h"

#define NF 128

/* ---- helpers -------------------------------------------------------------------- */

struct req_result {
	int rc;
	enum h1_err err; /* parse error, else semantic error */
	struct h1_request req;
	struct h1_field f[NF];
	struct h1_msg_info info;
};

/* One-shot parse of a request head plus its semantic pass. */
static void parse_req_lim(const char *s, size_t n, const struct h1_limits *lim,
			  struct req_result *r)
{
	struct h1_parser p;

	memset(r, 0, sizeof(*r));
	r->req.fields = r->f;
	r->req.max_fields = NF;
	h1_parser_init(&p, lim);
	r->rc = h1_parse_request(&p, s, n, &r->req);
	r->err = r->rc == H1_ERROR ? (enum h1_err)p.err : H1_E_NONE;
	if (r->rc > 0)
		r->err = h1_request_info(&r->req, lim, &r->info);
}

/* Offsets of everything a request parse reports, to compare parses of
 * the same bytes. */
struct req_shape {
	int rc;
	int err;
	size_t m_off, m_len, t_off, t_len;
	unsigned minor, nf;
	size_t fo[NF][4];
};

static void shape_of(const char *base, int rc, int err, const struct h1_request *r,
		     struct req_shape *sh)
{
	memset(sh, 0, sizeof(*sh));
	sh->rc = rc;
	sh->err = err;
	if (rc <= 0)
		return;
	sh->m_off = (size_t)(r->method.ptr - base);
	sh->m_len = r->method.len;
	sh->t_off = (size_t)(r->target.ptr - base);
	sh->t_len = r->target.len;
	sh->minor = r->minor;
	sh->nf = r->n_fields;
	for (unsigned i = 0; i < r->n_fields; i++) {
		sh->fo[i][0] = (size_t)(r->fields[i].name - base);
		sh->fo[i][1] = r->fields[i].name_len;
		sh->fo[i][2] = (size_t)(r->fields[i].value - base);
		sh->fo[i][3] = r->fields[i].value_len;
	}
}

/*
 * Parse s[0..n) in pieces: the buffer is the same, len grows at each cut.
 * cuts[] are increasing lengths; the last call sees all n bytes.
 */
static void parse_req_pieces(const char *s, size_t n, const size_t *cuts, unsigned ncuts,
			     const struct h1_limits *lim, struct req_shape *sh)
{
	struct h1_parser p;
	struct h1_field f[NF];
	struct h1_request r = {.fields = f, .max_fields = NF};
	int rc = H1_AGAIN;

	h1_parser_init(&p, lim);
	for (unsigned k = 0; k < ncuts && rc == H1_AGAIN; k++)
		rc = h1_parse_request(&p, s, cuts[k], &r);
	if (rc == H1_AGAIN)
		rc = h1_parse_request(&p, s, n, &r);
	shape_of(s, rc, rc == H1_ERROR ? p.err : 0, &r, sh);
}

/* One-shot, byte by byte and every 2-way split give the same parse. */
static void check_req_splits(const char *s, size_t n, const struct h1_limits *lim)
{
	struct req_shape one, other;
	size_t *cuts = malloc((n + 1) * sizeof(*cuts));

	assert_non_null(cuts);
	parse_req_pieces(s, n, NULL, 0, lim, &one);
	for (size_t i = 0; i <= n; i++)
		cuts[i] = i;
	parse_req_pieces(s, n, cuts, (unsigned)n + 1, lim, &other);
	assert_memory_equal(&one, &other, sizeof(one));
	for (size_t k = 0; k <= n; k++) {
		size_t c[1] = {k};
		parse_req_pieces(s, n, c, 1, lim, &other);
		assert_memory_equal(&one, &other, sizeof(one));
	}
	free(cuts);
}

/* The request is refused with err (by the parser or the semantic pass),
 * however it is split. */
#define REJECT(s, e) reject_(s, sizeof(s) - 1, e, __LINE__)
static void reject_(const char *s, size_t n, enum h1_err e, int line)
{
	struct req_result *r = malloc(sizeof(*r));
	assert_non_null(r);
	parse_req_lim(s, n, NULL, r);
	if (r->err != e)
		fail_msg("line %d: expected %s, got %s (rc %d)", line, h1_err_name(e), h1_err_name(r->err),
			 r->rc);
	check_req_splits(s, n, NULL);
	free(r);
}

#define ACCEPT(s, r) accept_(s, sizeof(s) - 1, r, __LINE__)
static void accept_(const char *s, size_t n, struct req_result *r, int line)
{
	parse_req_lim(s, n, NULL, r);
	if (r->rc != (int)n || r->err != H1_E_NONE)
		fail_msg("line %d: expected acceptance of %zu bytes, got rc %d %s", line, n, r->rc,
			 h1_err_name(r->err));
	check_req_splits(s, n, NULL);
}

static bool str_is(struct h1_str s, const char *lit)
{
	return s.len == strlen(lit) && memcmp(s.ptr, lit, s.len) == 0;
}

static bool field_is(const struct h1_field *f, const char *name, const char *value)
{
	return f->name_len == strlen(name) && memcmp(f->name, name, f->name_len) == 0 &&
	       f->value_len == strlen(value) && memcmp(f->value, value, f->value_len) == 0;
}

/* ---- the error table ------------------------------------------------------------- */

static void test_error_table(void **state)
{
	(void)state;
	assert_string_equal(h1_err_name(H1_E_NONE), "none");
	assert_string_equal(h1_err_name(H1_E_COUNT), "?");
	for (int i = 1; i < H1_E_COUNT; i++) {
		assert_true(strlen(h1_err_name((enum h1_err)i)) > 2);
		assert_true(strlen(h1_err_help((enum h1_err)i)) > 10);
		int st = h1_err_status((enum h1_err)i);
		assert_true(st >= 400 && st <= 599);
		for (int j = 1; j < i; j++)
			assert_string_not_equal(h1_err_name((enum h1_err)i), h1_err_name((enum h1_err)j));
	}
	assert_int_equal(h1_err_status(H1_E_URI_TOO_LONG), 414);
	assert_int_equal(h1_err_status(H1_E_HEADERS_TOO_LARGE), 431);
	assert_int_equal(h1_err_status(H1_E_TOO_MANY_HEADERS), 431);
	assert_int_equal(h1_err_status(H1_E_BAD_VERSION), 505);
	assert_int_equal(h1_err_status(H1_E_EXPECT_UNSUPPORTED), 417);
	assert_int_equal(h1_err_status(H1_E_CONNECT_UNSUPPORTED), 501);
	assert_int_equal(h1_err_status(H1_E_CL_WITH_TE), 400);
	assert_string_equal(h1_err_name(H1_E_CL_WITH_TE), "cl_with_te");
}

/* ---- valid requests ------------------------------------------------------------------ */

static void test_origin_form(void **state)
{
	struct req_result r;
	(void)state;

	ACCEPT("GET /index.html?q=1&r=%20x HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t/1\r\n\r\n", &r);
	assert_true(str_is(r.req.method, "GET"));
	assert_int_equal(r.req.method_id, H1_M_GET);
	assert_true(str_is(r.req.target, "/index.html?q=1&r=%20x"));
	assert_int_equal(r.req.target_form, H1_TF_ORIGIN);
	assert_int_equal(r.req.minor, 1);
	assert_int_equal(r.req.n_fields, 2);
	assert_true(field_is(&r.f[0], "Host", "example.com"));
	assert_true(field_is(&r.f[1], "User-Agent", "t/1"));
	assert_true(str_is(r.info.authority, "example.com"));
	assert_true(str_is(r.info.path, "/index.html?q=1&r=%20x"));
	assert_int_equal(r.info.host, 0);
	assert_int_equal(r.info.body, H1_BODY_NONE);
	assert_true(r.info.flags & H1_MI_KEEP_ALIVE);

	/* OWS around values is trimmed; tabs inside are kept; obs-text is a
	 * field-vchar; empty values are fine */
	ACCEPT("POST /a HTTP/1.1\r\nHost:a\r\nX-A: \t v  a\tl \t\r\nX-B:\r\nX-C: caf\xc3\xa9\r\n"
	       "Content-Length: 0\r\n\r\n",
	       &r);
	assert_int_equal(r.req.method_id, H1_M_POST);
	assert_true(field_is(&r.f[1], "X-A", "v  a\tl"));
	assert_true(field_is(&r.f[2], "X-B", ""));
	assert_true(field_is(&r.f[3], "X-C", "caf\xc3\xa9"));
	assert_int_equal(r.info.body, H1_BODY_NONE);

	/* RFC 9112 2.2: empty lines before the request line are skipped */
	ACCEPT("\r\n\r\nHEAD / HTTP/1.1\r\nHost: a\r\n\r\n", &r);
	assert_int_equal(r.req.method_id, H1_M_HEAD);
	assert_int_equal(r.req.method.ptr[0], 'H');

	/* any token is a method; case matters (RFC 9110 9.1) */
	ACCEPT("get / HTTP/1.1\r\nHost: a\r\n\r\n", &r);
	assert_int_equal(r.req.method_id, H1_M_OTHER);
	REJECT("M-SEARCH * HTTP/1.1\r\nHost: a\r\n\r\n", H1_E_BAD_TARGET); /* asterisk: OPTIONS only */
}

static void test_other_forms(void **state)
{
	struct req_result r;
	(void)state;

	ACCEPT("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &r);
	assert_int_equal(r.req.target_form, H1_TF_ASTERISK);
	assert_true(str_is(r.info.path, "*"));

	ACCEPT("GET http://Example.COM:80/p/q?x HTTP/1.1\r\nHost: example.com\r\n\r\n", &r);
	assert_int_equal(r.req.target_form, H1_TF_ABSOLUTE);
	assert_true(str_is(r.info.authority, "Example.COM:80"));
	assert_true(str_is(r.info.path, "/p/q?x"));

	ACCEPT("GET HTTPS://a.b:443 HTTP/1.1\r\nHost: a.b\r\n\r\n", &r);
	assert_true(str_is(r.info.path, ""));
	ACCEPT("GET https://a.b?x=1 HTTP/1.1\r\nHost: a.b:443\r\n\r\n", &r);
	assert_true(str_is(r.info.path, "?x=1"));
	ACCEPT("GET http://[2001:db8::1]:8080/ HTTP/1.1\r\nHost: [2001:DB8::1]:8080\r\n\r\n", &r);
	ACCEPT("GET http://198.18.0.1/ HTTP/1.1\r\nHost: 198.18.0.1\r\n\r\n", &r);
	/* an absolute-form HTTP/1.0 request without Host */
	ACCEPT("GET http://a/ HTTP/1.0\r\n\r\n", &r);
	assert_true(str_is(r.info.authority, "a"));
}

static void test_http10(void **state)
{
	struct req_result r;
	(void)state;

	ACCEPT("GET / HTTP/1.0\r\n\r\n", &r);
	assert_int_equal(r.req.minor, 0);
	assert_int_equal(r.info.host, -1);
	assert_false(r.info.flags & H1_MI_KEEP_ALIVE);
	ACCEPT("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r);
	assert_true(r.info.flags & H1_MI_KEEP_ALIVE);
	assert_true(r.f[0].flags & H1_FF_HOP);
	ACCEPT("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", &r);
	assert_false(r.info.flags & H1_MI_KEEP_ALIVE);
	/* RFC 9110 10.1.1: 100-continue in HTTP/1.0 is ignored */
	ACCEPT("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n", &r);
	assert_false(r.info.flags & H1_MI_EXPECT_CONTINUE);
	assert_int_equal(r.info.body, H1_BODY_LENGTH);
}

/* ---- request line ----------------------------------------------------------------- */

static void test_request_line_errors(void **state)
{
	(void)state;
	REJECT("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", H1_E_BAD_METHOD_TOKEN);
	REJECT(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", H1_E_BAD_METHOD_TOKEN);
	REJECT("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", H1_E_BAD_REQUEST_LINE);
	REJECT("GET /  HTTP/1.1\r\nHost: a\r\n\r\n", H1_E_BAD_REQUEST_LINE);
	REJECT("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", H1_E_BAD_REQUEST_LINE);
	REJECT("GET /\tHTTP/1.1\r\nHost: a\r\n\r\n", H1_E_BAD_REQUEST_LINE);
	REJECT("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", H1_E_BAD_REQUEST_LINE);
	REJECT("GET / http/1.1\r\nHost: a\r\n\r\n", H1_E_BAD_REQUEST_LINE);
	REJECT("GET / HTTP/1\r\nHost: a\r\n\r\n", H1_E_BAD_REQUEST_LINE);
	REJECT("GET /\r\n\r\n", H1_E_BAD_REQUEST_LINE); /* HTTP/0.9 */
	REJECT("GET / HTTP/2.0\r\nHost: a\r\n\r\n", H1_E_BAD_VERSION);
	REJECT("GET / HTTP/1.2\r\nHost: a\r\n\r\n", H1_E_BAD_VERSION);
	REJECT("GET / HTTP/0.9\r\nHost: a\r\n\r\n", H1_E_BAD_VERSION);
	REJECT("GET / HTTP/1.1\nHost: a\r\n\r\n", H1_E_BARE_LF);
	REJECT("GET / HTTP/1.1\rHost: a\r\n\r\n", H1_E_BARE_CR);
	REJECT("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", H1_E_BARE_LF);
	REJECT("\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", H1_E_BARE_CR);
	REJECT("GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n", H1_E_NUL_OR_CTL);
	REJECT("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", H1_E_NUL_OR_CTL);
	REJECT("GE\x01T / HTTP/1.1\r\nHost: a\r\n\r\n", H1_E_NUL_OR_CTL);
	/* targets */
	REJECT("GET /a\"b HTTP/1.1\r\nHost: a\r\n\r\n", H1_E_BAD_TARGET);
	REJECT("GET /a<b> HTTP/1.1\r\nHost: a\r\n\r\n", H1_E_BAD_TARGET);
	REJECT("GET /a{b} HTTP/1.1\r\nHost: a\r\n\r\n", H1_E_BAD_TARGET);
	REJECT("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", H1_E_BAD_TARGET);
	REJECT("GET /a\\b HTTP/1.1\r\nHost: a\r\n\r\n", H1_E_BAD_TARGET);
	REJECT("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", H1_E_BAD_TARGET);
	REJECT("GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n", H1_E_BAD_TARGET);
	REJECT("GET /%4 HTTP/1.1\r\nHost: a\r\n\r\n", H1_E_BAD_TARGET);
	REJECT("GET /[x] HTTP/1.1\r\nHost: a\r\n\r\n", H1_E_BAD_TARGET);
	REJECT("GET * HTTP/1.1\r\nHost: a\r\n\r\n", H1_E_BAD_TARGET);
	REJECT("OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n", H1_E_BAD_TARGET);
	REJECT("GET a.com:443 HTTP/1.1\r\nHost: a.com\r\n\r\n", H1_E_BAD_TARGET);
	REJECT("GET ftp://a.com/ HTTP/1.1\r\nHost: a.com\r\n\r\n", H1_E_BAD_TARGET);
	REJECT("GET http:///x HTTP/1.1\r\nHost: a.com\r\n\r\n", H1_E_BAD_TARGET);
	REJECT("GET http://u:p@a.com/ HTTP/1.1\r\nHost: a.com\r\n\r\n", H1_E_BAD_TARGET);
	REJECT("GET http://a.com:99999/ HTTP/1.1\r\nHost: a.com\r\n\r\n", H1_E_BAD_TARGET);
	REJECT("GET http://a.com:/ HTTP/1.1\r\nHost: a.com\r\n\r\n", H1_E_BAD_TARGET);
	REJECT("GET http://[::1/ HTTP/1.1\r\nHost: a.com\r\n\r\n", H1_E_BAD_TARGET);
	REJECT("GET http:/a.com/ HTTP/1.1\r\nHost: a.com\r\n\r\n", H1_E_BAD_TARGET);
	/* RFC 9112 3.2.3: authority-form is CONNECT's, and CONNECT is refused */
	REJECT("CONNECT a.com:443 HTTP/1.1\r\nHost: a.com:443\r\n\r\n", H1_E_CONNECT_UNSUPPORTED);
}

/* ---- field lines --------------------------------------------------------------------- */

static void test_field_errors(void **state)
{
	(void)state;
	REJECT("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n", H1_E_OBS_FOLD);
	REJECT("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\tfolded\r\n\r\n", H1_E_OBS_FOLD);
	REJECT("GET / HTTP/1.1\r\n Host: a\r\n\r\n", H1_E_WS_AFTER_START_LINE);
	REJECT("GET / HTTP/1.1\r\nHost : a\r\n\r\n", H1_E_WS_BEFORE_COLON);
	REJECT("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", H1_E_WS_BEFORE_COLON);
	REJECT("GET / HTTP/1.1\r\nHost: a\r\nX(Y): 1\r\n\r\n", H1_E_BAD_HEADER_NAME);
	REJECT("GET / HTTP/1.1\r\nHost: a\r\n: 1\r\n\r\n", H1_E_BAD_HEADER_NAME);
	REJECT("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", H1_E_BAD_HEADER_NAME);
	REJECT("GET / HTTP/1.1\r\nHost: a\r\n\xc3\xa9: 1\r\n\r\n", H1_E_BAD_HEADER_NAME);
	REJECT("GET / HTTP/1.1\r\nHost: a\r\nX\"Y: 1\r\n\r\n", H1_E_BAD_HEADER_NAME);
	REJECT("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", H1_E_NUL_OR_CTL);
	REJECT("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01\r\n\r\n", H1_E_NUL_OR_CTL);
	REJECT("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", H1_E_NUL_OR_CTL);
	REJECT("GET / HTTP/1.1\r\nHost: a\r\nX\0: a\r\n\r\n", H1_E_NUL_OR_CTL);
	REJECT("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", H1_E_BARE_CR);
	REJECT("GET / HTTP/1.1\r\nHost: a\r\nX: a\nb: c\r\n\r\n", H1_E_BARE_LF);
	REJECT("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\n", H1_E_BARE_LF);
	REJECT("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\r\r\n", H1_E_BARE_CR);
	REJECT("GET / HTTP/1.1\r\nHost: a\n\r\n", H1_E_BARE_LF);
}

/* ---- Host ----------------------------------------------------------------------------- */

static void test_host(void **state)
{
	struct req_result r;
	(void)state;

	REJECT("GET / HTTP/1.1\r\n\r\n", H1_E_MISSING_HOST);
	REJECT("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", H1_E_MULTIPLE_HOST);
	REJECT("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n", H1_E_MULTIPLE_HOST);
	REJECT("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", H1_E_BAD_HOST);
	REJECT("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", H1_E_BAD_HOST);
	REJECT("GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n", H1_E_BAD_HOST);
	REJECT("GET / HTTP/1.1\r\nHost: a:\r\n\r\n", H1_E_BAD_HOST);
	REJECT("GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", H1_E_BAD_HOST);
	REJECT("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", H1_E_BAD_HOST);
	REJECT("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", H1_E_BAD_HOST);
	REJECT("GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n", H1_E_BAD_HOST);
	REJECT("GET http://a.com/ HTTP/1.1\r\nHost: b.com\r\n\r\n", H1_E_HOST_MISMATCH);
	REJECT("GET http://a.com/ HTTP/1.1\r\nHost: a.com:8080\r\n\r\n", H1_E_HOST_MISMATCH);
	REJECT("GET https://a.com/ HTTP/1.1\r\nHost: a.com:80\r\n\r\n", H1_E_HOST_MISMATCH);
	REJECT("GET http://a.com/ HTTP/1.1\r\nHost: \r\n\r\n", H1_E_HOST_MISMATCH);
	/* RFC 9112 3.2: an empty Host is valid (no authority in the target) */
	ACCEPT("GET / HTTP/1.1\r\nHost:\r\n\r\n", &r);
	assert_true(str_is(r.info.authority, ""));
	ACCEPT("GET / HTTP/1.1\r\nHost: a.example:8080\r\n\r\n", &r);
	ACCEPT("GET / HTTP/1.1\r\nHost: xn--caf-dma.example\r\n\r\n", &r);
	ACCEPT("GET / HTTP/1.1\r\nhOsT: [::1]:1\r\n\r\n", &r);
	assert_int_equal(r.f[0].id, H1_F_HOST);
}

/* ---- framing and the smuggling corpus ------------------------------------------------- */

static void test_content_length(void **state)
{
	struct req_result r;
	(void)state;

	ACCEPT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\n\r\n", &r);
	assert_int_equal(r.info.body, H1_BODY_LENGTH);
	assert_int_equal(r.info.content_length, 42);
	ACCEPT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n", &r);
	assert_int_equal(r.info.content_length, 7);
	ACCEPT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", &r);
	assert_int_equal(r.info.body, H1_BODY_NONE);
	ACCEPT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\n", &r);
	assert_int_equal(r.info.content_length, INT64_MAX);

	REJECT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775808\r\n\r\n",
	       H1_E_CL_INVALID);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n",
	       H1_E_CL_INVALID);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", H1_E_CL_INVALID);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", H1_E_CL_INVALID);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x10\r\n\r\n", H1_E_CL_INVALID);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", H1_E_CL_INVALID);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5x\r\n\r\n", H1_E_CL_INVALID);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", H1_E_CL_INVALID);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1.0\r\n\r\n", H1_E_CL_INVALID);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 2\r\n\r\n", H1_E_CL_REPEATED);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", H1_E_CL_REPEATED);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,\r\n\r\n", H1_E_CL_REPEATED);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
	       H1_E_CL_REPEATED);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\n",
	       H1_E_CL_REPEATED);
}

static void test_transfer_encoding(void **state)
{
	struct req_result r;
	(void)state;

	ACCEPT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", &r);
	assert_int_equal(r.info.body, H1_BODY_CHUNKED);
	assert_true(r.f[1].flags & H1_FF_HOP);
	ACCEPT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: CHUNKED\r\n\r\n", &r);
	ACCEPT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked ,\r\n\r\n", &r);
	assert_int_equal(r.info.body, H1_BODY_CHUNKED);

	REJECT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", H1_E_TE_NOT_CHUNKED);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunkedx\r\n\r\n", H1_E_TE_NOT_CHUNKED);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
	       H1_E_TE_NOT_CHUNKED);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", H1_E_TE_NOT_CHUNKED);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
	       H1_E_TE_NOT_CHUNKED);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
	       H1_E_TE_NOT_CHUNKED);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n",
	       H1_E_TE_NOT_CHUNKED);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n",
	       H1_E_TE_NOT_CHUNKED);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", H1_E_TE_NOT_CHUNKED);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n",
	       H1_E_TE_NOT_CHUNKED);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	       H1_E_TE_UNSUPPORTED);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
	       H1_E_TE_UNSUPPORTED);
	REJECT("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", H1_E_TE_HTTP10);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
	       H1_E_CL_WITH_TE);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
	       H1_E_CL_WITH_TE);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: xchunked\r\n\r\n",
	       H1_E_CL_WITH_TE);
}

/* The classic request-smuggling probes (RFC 9112 11.2), each with its reason. */
static void test_smuggling_corpus(void **state)
{
	(void)state;
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n", H1_E_WS_BEFORE_COLON);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding\t:chunked\r\n\r\n", H1_E_WS_BEFORE_COLON);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\n", H1_E_WS_BEFORE_COLON);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\n Transfer-Encoding: chunked\r\n\r\n", H1_E_OBS_FOLD);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nX: y\r\n\tTransfer-Encoding: chunked\r\n\r\n", H1_E_OBS_FOLD);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n chunked\r\n\r\n", H1_E_OBS_FOLD);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nX: y\nTransfer-Encoding: chunked\r\n\r\n", H1_E_BARE_LF);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\n\nTransfer-Encoding: chunked\r\n\r\n", H1_E_BARE_LF);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nX: y\rTransfer-Encoding: chunked\r\n\r\n", H1_E_BARE_CR);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \x0b" "chunked\r\n\r\n", H1_E_NUL_OR_CTL);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \x0c" "chunked\r\n\r\n", H1_E_NUL_OR_CTL);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\0\r\n\r\n", H1_E_NUL_OR_CTL);
}

/* Near misses of the framing fields. */
static void test_smuggling_underscore(void **state)
{
	struct req_result r;
	(void)state;
	/* "Transfer_Encoding" is a different, unknown field: the body is
	 * framed by Content-Length alone, and the field is forwarded as is */
	ACCEPT("POST / HTTP/1.1\r\nHost: a\r\nTransfer_Encoding: chunked\r\nContent-Length: 5\r\n\r\n", &r);
	assert_int_equal(r.info.body, H1_BODY_LENGTH);
	assert_int_equal(r.f[1].id, H1_F_OTHER);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n",
	       H1_E_TE_NOT_CHUNKED);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n",
	       H1_E_CL_WITH_TE);
	REJECT("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
	       H1_E_CL_REPEATED);
	REJECT("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\x0bTransfer-Encoding: chunked\r\n\r\n",
	       H1_E_NUL_OR_CTL);
}

static void test_connection_expect_upgrade(void **state)
{
	struct req_result r;
	(void)state;

	ACCEPT("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", &r);
	assert_false(r.info.flags & H1_MI_KEEP_ALIVE);
	assert_true(r.info.flags & H1_MI_CONN_CLOSE);
	/* fields named in Connection are hop-by-hop; Host and Content-Length
	 * are never taken out that way */
	ACCEPT("POST / HTTP/1.1\r\nHost: a\r\nConnection: X-Secret, host, content-length\r\nX-Secret: 1\r\n"
	       "x-secret: 2\r\nContent-Length: 1\r\nX-Other: 3\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\n"
	       "Proxy-Connection: x\r\nTrailer: a\r\n\r\n",
	       &r);
	assert_false(r.f[0].flags & H1_FF_HOP);
	assert_true(r.f[1].flags & H1_FF_HOP);
	assert_true(r.f[2].flags & H1_FF_HOP);
	assert_true(r.f[3].flags & H1_FF_HOP);
	assert_false(r.f[4].flags & H1_FF_HOP);
	assert_false(r.f[5].flags & H1_FF_HOP);
	for (int i = 6; i < 10; i++)
		assert_true(r.f[i].flags & H1_FF_HOP);
	REJECT("GET / HTTP/1.1\r\nHost: a\r\nConnection: close;x\r\n\r\n", H1_E_BAD_CONNECTION);
	REJECT("GET / HTTP/1.1\r\nHost: a\r\nConnection: a b\r\n\r\n", H1_E_BAD_CONNECTION);
	/* 32 options, then 33 (over two fields) */
	ACCEPT("GET / HTTP/1.1\r\nHost: a\r\nConnection: a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p\r\n"
	       "Connection: q,r,s,t,u,v,w,x,y,z,A,B,C,D,E,F,,\r\n\r\n", &r);
	REJECT("GET / HTTP/1.1\r\nHost: a\r\nConnection: a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p\r\n"
	       "Connection: q,r,s,t,u,v,w,x,y,z,A,B,C,D,E,F,G\r\n\r\n", H1_E_BAD_CONNECTION);

	ACCEPT("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n", &r);
	assert_true(r.info.flags & H1_MI_EXPECT_CONTINUE);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue, foo\r\n\r\n", H1_E_EXPECT_UNSUPPORTED);
	REJECT("POST / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n", H1_E_EXPECT_UNSUPPORTED);

	ACCEPT("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", &r);
	assert_true(r.info.flags & H1_MI_UPGRADE);
	assert_true(r.f[2].flags & H1_FF_HOP);
	struct h1_limits lim = H1_LIMITS_DEFAULT;
	lim.flags = H1_LIM_REJECT_UPGRADE;
	const char *up = "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n"
			 "HTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n";
	parse_req_lim(up, strlen(up), &lim, &r);
	assert_int_equal(r.err, H1_E_UPGRADE_REFUSED);
	parse_req_lim(up, strlen(up), NULL, &r);
	assert_int_equal(r.err, H1_E_NONE);
	assert_true(r.f[3].flags & H1_FF_HOP);
}

/* ---- limits at N and N+1 ------------------------------------------------------------------ */

/* A request whose head is exactly total bytes long, with nf fields. */
static char *make_req(size_t target_len, unsigned nf, size_t total, size_t *n)
{
	size_t cap = target_len + total + 64 * (size_t)nf + 4096;
	char *s = malloc(cap);
	size_t k = 0;

	assert_non_null(s);
	k += (size_t)sprintf(s + k, "GET /");
	memset(s + k, 'a', target_len - 1);
	k += target_len - 1;
	k += (size_t)sprintf(s + k, " HTTP/1.1\r\nHost: h\r\n");
	for (unsigned i = 1; i < nf; i++)
		k += (size_t)sprintf(s + k, "X-%u: v\r\n", i);
	if (total > 0) {
		/* pad with one more field to reach total exactly */
		size_t need = total - k - 2;
		assert_true(need >= 6);
		k += (size_t)sprintf(s + k, "P: ");
		memset(s + k, 'p', need - 5);
		k += need - 5;
		k += (size_t)sprintf(s + k, "\r\n");
	}
	k += (size_t)sprintf(s + k, "\r\n");
	*n = k;
	return s;
}

static void test_limits(void **state)
{
	struct req_result *r = malloc(sizeof(*r));
	size_t n;
	char *s;
	(void)state;
	assert_non_null(r);

	/* 100 fields, then 101 */
	s = make_req(1, 100, 0, &n);
	parse_req_lim(s, n, NULL, r);
	assert_int_equal(r->rc, (int)n);
	assert_int_equal(r->req.n_fields, 100);
	free(s);
	s = make_req(1, 101, 0, &n);
	parse_req_lim(s, n, NULL, r);
	assert_int_equal(r->err, H1_E_TOO_MANY_HEADERS);
	check_req_splits(s, n, NULL);
	free(s);

	/* the caller's array is a limit too */
	{
		const char *t = "GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n";
		struct h1_parser p;
		struct h1_field f[2];
		struct h1_request q = {.fields = f, .max_fields = 2};
		h1_parser_init(&p, NULL);
		assert_int_equal(h1_parse_request(&p, t, strlen(t), &q), H1_ERROR);
		assert_int_equal(p.err, H1_E_TOO_MANY_HEADERS);
		assert_int_equal(q.n_fields, 2);
	}

	/* a head of exactly 60 KiB, then one byte more */
	s = make_req(1, 1, 60 * 1024, &n);
	assert_int_equal(n, 60 * 1024);
	parse_req_lim(s, n, NULL, r);
	assert_int_equal(r->rc, (int)n);
	free(s);
	s = make_req(1, 1, 60 * 1024 + 1, &n);
	parse_req_lim(s, n, NULL, r);
	assert_int_equal(r->err, H1_E_HEADERS_TOO_LARGE);
	free(s);

	/* a target of exactly 8 KiB, then one byte more: 414 */
	s = make_req(8192, 1, 0, &n);
	parse_req_lim(s, n, NULL, r);
	assert_int_equal(r->rc, (int)n);
	assert_int_equal(r->req.target.len, 8192);
	free(s);
	s = make_req(8193, 1, 0, &n);
	parse_req_lim(s, n, NULL, r);
	assert_int_equal(r->err, H1_E_URI_TOO_LONG);
	assert_int_equal(h1_err_status(r->err), 414);
	free(s);

	/* small limits, checked under every split */
	struct h1_limits lim = H1_LIMITS_DEFAULT;
	lim.max_header_bytes = 64;
	lim.max_uri = 10;
	lim.max_fields = 2;
	const char *ok = "GET /123456789 HTTP/1.1\r\nHost: a\r\nX: 12345678901\r\n\r\n";
	assert_int_equal(strlen(ok), 52);
	parse_req_lim(ok, strlen(ok), &lim, r);
	assert_int_equal(r->rc, 52);
	check_req_splits(ok, strlen(ok), &lim);
	const char *longuri = "GET /1234567890 HTTP/1.1\r\nHost: a\r\n\r\n";
	parse_req_lim(longuri, strlen(longuri), &lim, r);
	assert_int_equal(r->err, H1_E_URI_TOO_LONG);
	check_req_splits(longuri, strlen(longuri), &lim);
	const char *exact = "GET / HTTP/1.1\r\nHost: a\r\nX: 12345678901234567890123456789012\r\n\r\n";
	assert_int_equal(strlen(exact), 64);
	parse_req_lim(exact, strlen(exact), &lim, r);
	assert_int_equal(r->rc, 64);
	check_req_splits(exact, strlen(exact), &lim);
	const char *over = "GET / HTTP/1.1\r\nHost: a\r\nX: 123456789012345678901234567890123\r\n\r\n";
	parse_req_lim(over, strlen(over), &lim, r);
	assert_int_equal(r->err, H1_E_HEADERS_TOO_LARGE);
	check_req_splits(over, strlen(over), &lim);
	/* an incomplete head within the limit is H1_AGAIN, at limit+1 an error */
	parse_req_lim(over, 64, &lim, r);
	assert_int_equal(r->rc, H1_AGAIN);
	parse_req_lim(over, 65, &lim, r);
	assert_int_equal(r->err, H1_E_HEADERS_TOO_LARGE);
	const char *three = "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nY: 2\r\n\r\n";
	parse_req_lim(three, strlen(three), &lim, r);
	assert_int_equal(r->err, H1_E_TOO_MANY_HEADERS);
	free(r);
}

/* ---- splits ---------------------------------------------------------------------------------- */

static void test_request_splits(void **state)
{
	static const char *const reqs[] = {
		"GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux "
		"x86_64)\r\nAccept: text/html,application/xhtml+xml;q=0.9\r\nAccept-Language: en-US,en;q=0.5"
		"\r\nCookie: a=b; c=d; eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee=ffffffffffffffffffffffffffff\r\n"
		"Connection: keep-alive\r\n\r\n",
		"\r\nPOST http://a.b/c HTTP/1.0\r\nHost: a.b:80\r\nContent-Length: 3\r\nX:\t\ty \t\r\n\r\nabc",
		"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\nY\0: 2\r\n\r\n",
		"GET /a HTTP/1.1\r\nHost: a\r\nX: 1\r\n\r\r\n",
		"CONNECT a:1 HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nX: 0123456789abcdef0123456789abcdef0123456789abcdef\x01\r\n\r\n",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		size_t n = strlen(reqs[i]);
		if (i == 3)
			n = 36;
		check_req_splits(reqs[i], n, NULL);
	}
}

/* A byte at every position of a long target or name, across the 16-byte
 * blocks the fast scans take: the verdict is the byte's, wherever it is. */
static void test_every_position(void **state)
{
	static const struct {
		const char *ins;
		enum h1_err target_err, name_err;
	} cases[] = {
		{"%41", H1_E_NONE, H1_E_NONE}, /* '%' is a tchar */
		{"%4g", H1_E_BAD_TARGET, H1_E_NONE},
		{"~!*", H1_E_NONE, H1_E_NONE},
		{"_", H1_E_NONE, H1_E_NONE},
		{"|", H1_E_BAD_TARGET, H1_E_NONE},
		{"[", H1_E_BAD_TARGET, H1_E_BAD_HEADER_NAME},
		{"\x80", H1_E_BAD_TARGET, H1_E_BAD_HEADER_NAME},
		{"\x7f", H1_E_NUL_OR_CTL, H1_E_NUL_OR_CTL},
		{"\t", H1_E_BAD_REQUEST_LINE, H1_E_WS_BEFORE_COLON},
		{"@", H1_E_NONE, H1_E_BAD_HEADER_NAME},
	};
	char buf[256];
	struct req_result *r = malloc(sizeof(*r));
	(void)state;
	assert_non_null(r);

	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (int k = 0; k < 40; k++) {
			/* in the target */
			int n = snprintf(buf, sizeof(buf), "GET /%.*s%s%.*s HTTP/1.1\r\nHost: a\r\n\r\n", k,
					 "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF", cases[c].ins, 20,
					 "-._=&?/zyxwvutsrqponm");
			parse_req_lim(buf, (size_t)n, NULL, r);
			if (r->err != cases[c].target_err)
				fail_msg("target case %zu at %d: %s", c, k, h1_err_name(r->err));
			/* in a field name */
			n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nX%.*s%s%.*s: v\r\n\r\n", k,
				     "abcdefghijklmnopqrstuvwxyz0123456789ABCDEF", cases[c].ins, 20,
				     "-abcdefghijklmnopqrstu");
			parse_req_lim(buf, (size_t)n, NULL, r);
			if (r->err != cases[c].name_err)
				fail_msg("name case %zu at %d: %s", c, k, h1_err_name(r->err));
		}
	}
	free(r);
}

/* The parser notices a moved buffer and starts over; fields point into the new one. */
static void test_buffer_moved(void **state)
{
	const char *s = "GET /x HTTP/1.1\r\nHost: a\r\nX-Long: 0123456789\r\n\r\n";
	size_t n = strlen(s);
	char *a = malloc(n), *b = malloc(n);
	struct h1_parser p;
	struct h1_field f[8];
	struct h1_request r = {.fields = f, .max_fields = 8};
	(void)state;

	assert_non_null(a);
	assert_non_null(b);
	memcpy(a, s, n);
	memcpy(b, s, n);
	h1_parser_init(&p, NULL);
	assert_int_equal(h1_parse_request(&p, a, 30, &r), H1_AGAIN);
	assert_int_equal(r.n_fields, 1);
	memset(a, 'z', n); /* the old buffer is gone */
	assert_int_equal(h1_parse_request(&p, b, n, &r), (int)n);
	assert_int_equal(r.n_fields, 2);
	assert_true(r.target.ptr == b + 4);
	assert_true(field_is(&f[1], "X-Long", "0123456789"));
	assert_true(f[0].name >= b && f[0].name < b + n);
	/* a finished parser keeps answering the same */
	assert_int_equal(h1_parse_request(&p, b, n, &r), (int)n);
	free(a);
	free(b);
}

/* ---- pipelining ------------------------------------------------------------------------------ */

static void test_pipelined(void **state)
{
	static const char buf[] = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n"
				  "POST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
				  "POST /3 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
				  "3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n"
				  "\r\nGET /4 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
	static const char *const targets[] = {"/1", "/2", "/3", "/4"};
	size_t len = sizeof(buf) - 1, off = 0;
	unsigned k = 0;
	(void)state;

	while (off < len) {
		struct h1_parser p;
		struct h1_field f[8];
		struct h1_request r = {.fields = f, .max_fields = 8};
		struct h1_msg_info mi;

		h1_parser_init(&p, NULL);
		int rc = h1_parse_request(&p, buf + off, len - off, &r);
		assert_true(rc > 0);
		assert_int_equal(h1_request_info(&r, NULL, &mi), H1_E_NONE);
		assert_true(str_is(r.target, targets[k]));
		off += (size_t)rc;
		if (mi.body == H1_BODY_LENGTH) {
			assert_memory_equal(buf + off, "hello", 5);
			off += mi.content_length;
		} else if (mi.body == H1_BODY_CHUNKED) {
			struct h1_chunked d;
			struct h1_str sp[4];
			unsigned ns;
			h1_chunked_init(&d, NULL);
			long c = h1_chunked_decode(&d, buf + off, len - off, sp, 4, &ns);
			assert_true(c > 0);
			assert_true(h1_chunked_done(&d));
			assert_int_equal(ns, 1);
			assert_true(str_is(sp[0], "abc"));
			off += (size_t)c;
		}
		if (k == 3)
			assert_false(mi.flags & H1_MI_KEEP_ALIVE);
		else
			assert_true(mi.flags & H1_MI_KEEP_ALIVE);
		k++;
	}
	assert_int_equal(k, 4);
	assert_int_equal(off, len);
}

/* ---- responses ------------------------------------------------------------------------------- */

struct resp_result {
	int rc;
	enum h1_err err;
	struct h1_response resp;
	struct h1_field f[NF];
	struct h1_msg_info info;
};

static void parse_resp(const char *s, size_t n, enum h1_method m, struct resp_result *r)
{
	struct h1_parser p;

	memset(r, 0, sizeof(*r));
	r->resp.fields = r->f;
	r->resp.max_fields = NF;
	h1_parser_init(&p, NULL);
	r->rc = h1_parse_response(&p, s, n, &r->resp);
	r->err = r->rc == H1_ERROR ? (enum h1_err)p.err : H1_E_NONE;
	if (r->rc > 0)
		r->err = h1_response_info(&r->resp, m, &r->info);

	/* byte by byte gives the same */
	struct h1_field f2[NF];
	struct h1_response q = {.fields = f2, .max_fields = NF};
	int rc = H1_AGAIN;
	h1_parser_init(&p, NULL);
	for (size_t i = 0; i <= n && rc == H1_AGAIN; i++)
		rc = h1_parse_response(&p, s, i, &q);
	assert_int_equal(rc, r->rc);
	if (rc == H1_ERROR)
		assert_int_equal(p.err, r->err);
	if (rc > 0) {
		assert_int_equal(q.n_fields, r->resp.n_fields);
		assert_int_equal(q.status, r->resp.status);
		assert_true(q.reason.ptr == r->resp.reason.ptr && q.reason.len == r->resp.reason.len);
	}
}

#define RESP(s, m, r) parse_resp(s, sizeof(s) - 1, m, r)

static void test_responses(void **state)
{
	struct resp_result r;
	(void)state;

	RESP("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", H1_M_GET, &r);
	assert_int_equal(r.rc, 38);
	assert_int_equal(r.resp.status, 200);
	assert_true(str_is(r.resp.reason, "OK"));
	assert_int_equal(r.info.body, H1_BODY_LENGTH);
	assert_int_equal(r.info.content_length, 5);
	assert_true(r.info.flags & H1_MI_KEEP_ALIVE);

	RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", H1_M_GET, &r);
	assert_int_equal(r.info.body, H1_BODY_CHUNKED);
	RESP("HTTP/1.1 200 OK\r\n\r\n", H1_M_GET, &r);
	assert_int_equal(r.info.body, H1_BODY_CLOSE);
	assert_false(r.info.flags & H1_MI_KEEP_ALIVE);
	RESP("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n", H1_M_GET, &r);
	assert_false(r.info.flags & H1_MI_KEEP_ALIVE);
	RESP("HTTP/1.0 200 OK\r\nContent-Length: 1\r\nConnection: keep-alive\r\n\r\n", H1_M_GET, &r);
	assert_true(r.info.flags & H1_MI_KEEP_ALIVE);

	/* RFC 9112 6.3 item 1: no body after HEAD, 1xx, 204, 304 */
	RESP("HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n", H1_M_HEAD, &r);
	assert_int_equal(r.info.body, H1_BODY_NONE);
	assert_true(r.info.flags & H1_MI_KEEP_ALIVE);
	RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", H1_M_HEAD, &r);
	assert_int_equal(r.info.body, H1_BODY_NONE);
	RESP("HTTP/1.1 204 No Content\r\n\r\n", H1_M_GET, &r);
	assert_int_equal(r.info.body, H1_BODY_NONE);
	assert_true(r.info.flags & H1_MI_KEEP_ALIVE);
	RESP("HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n", H1_M_GET, &r);
	assert_int_equal(r.info.body, H1_BODY_NONE);

	/* a 100 then the final response in the same buffer */
	static const char two[] = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n";
	RESP("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", H1_M_POST, &r);
	assert_int_equal(r.rc, 25);
	assert_true(r.info.flags & H1_MI_INFORMATIONAL);
	assert_int_equal(r.info.body, H1_BODY_NONE);
	parse_resp(two + 25, sizeof(two) - 26, H1_M_POST, &r);
	assert_int_equal(r.resp.status, 201);
	assert_int_equal(r.info.body, H1_BODY_NONE);
	assert_false(r.info.flags & H1_MI_INFORMATIONAL);

	/* lenient on a missing reason, its SP included */
	RESP("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", H1_M_GET, &r);
	assert_int_equal(r.err, H1_E_NONE);
	assert_int_equal(r.resp.reason.len, 0);
	RESP("HTTP/1.1 200 \r\n\r\n", H1_M_GET, &r);
	assert_int_equal(r.err, H1_E_NONE);
	RESP("HTTP/1.1 404 Nicht gefunden \xc3\xbc\r\nContent-Length: 0\r\n\r\n", H1_M_GET, &r);
	assert_true(str_is(r.resp.reason, "Nicht gefunden \xc3\xbc"));

	RESP("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", H1_M_GET, &r);
	assert_int_equal(r.err, H1_E_UPGRADE_REFUSED);
	RESP("HTTP/1.1 099 x\r\n\r\n", H1_M_GET, &r);
	assert_int_equal(r.err, H1_E_BAD_STATUS_LINE);
	RESP("HTTP/1.1 600 x\r\n\r\n", H1_M_GET, &r);
	assert_int_equal(r.err, H1_E_BAD_STATUS_LINE);
	RESP("HTTP/1.1 2000 OK\r\n\r\n", H1_M_GET, &r);
	assert_int_equal(r.err, H1_E_BAD_STATUS_LINE);
	RESP("HTTP/1.1 20 OK\r\n\r\n", H1_M_GET, &r);
	assert_int_equal(r.err, H1_E_BAD_STATUS_LINE);
	RESP("HTTP/1.1  200 OK\r\n\r\n", H1_M_GET, &r);
	assert_int_equal(r.err, H1_E_BAD_STATUS_LINE);
	RESP("HTTP/2 200 OK\r\n\r\n", H1_M_GET, &r);
	assert_int_equal(r.err, H1_E_BAD_STATUS_LINE);
	RESP("HTTP/2.0 200 OK\r\n\r\n", H1_M_GET, &r);
	assert_int_equal(r.err, H1_E_BAD_VERSION);
	RESP("HTTP/1.1 200 O\x01K\r\n\r\n", H1_M_GET, &r);
	assert_int_equal(r.err, H1_E_NUL_OR_CTL);
	RESP("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", H1_M_GET, &r);
	assert_int_equal(r.err, H1_E_BARE_LF);
	RESP("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", H1_M_GET, &r);
	assert_int_equal(r.err, H1_E_CL_WITH_TE);
	RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", H1_M_GET, &r);
	assert_int_equal(r.err, H1_E_TE_NOT_CHUNKED);
	RESP("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", H1_M_GET, &r);
	assert_int_equal(r.err, H1_E_CL_REPEATED);
	RESP("HTTP/1.1 200 OK\r\nX: 1\r\n y\r\n\r\n", H1_M_GET, &r);
	assert_int_equal(r.err, H1_E_OBS_FOLD);
	RESP("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", H1_M_GET, &r);
	assert_int_equal(r.err, H1_E_TE_HTTP10);
	RESP("\r\nHTTP/1.1 200 OK\r\n\r\n", H1_M_GET, &r);
	assert_int_equal(r.err, H1_E_BAD_STATUS_LINE);
}

/* ---- chunked bodies ------------------------------------------------------------------------- */

struct chunk_result {
	long consumed;
	int err;
	bool done;
	size_t ndata;
	char data[4096];
};

/* Decode in pieces of at most step bytes (0: all at once), up to max spans per call. */
static void decode_pieces(const char *in, size_t n, size_t step, unsigned max,
			  const struct h1_limits *lim, struct chunk_result *r)
{
	struct h1_chunked d;
	size_t off = 0;

	memset(r, 0, sizeof(*r));
	h1_chunked_init(&d, lim);
	while (off < n && !h1_chunked_done(&d)) {
		size_t piece = step == 0 || n - off < step ? n - off : step;
		struct h1_str sp[8];
		unsigned ns = 0;
		long c = h1_chunked_decode(&d, in + off, piece, sp, max, &ns);
		if (c < 0) {
			/* what an erroring call found is not compared */
			memset(r, 0, sizeof(*r));
			r->err = d.err;
			r->consumed = -1;
			return;
		}
		assert_true((size_t)c <= piece);
		for (unsigned k = 0; k < ns; k++) {
			assert_true(sp[k].ptr >= in + off && sp[k].ptr + sp[k].len <= in + off + (size_t)c);
			assert_true(r->ndata + sp[k].len <= sizeof(r->data));
			memcpy(r->data + r->ndata, sp[k].ptr, sp[k].len);
			r->ndata += sp[k].len;
		}
		off += (size_t)c;
		if (c == 0 && ns == 0)
			assert_true(h1_chunked_done(&d)); /* no progress only at the end */
	}
	r->consumed = (long)off;
	r->done = h1_chunked_done(&d);
}

static void check_chunk_splits(const char *in, size_t n, struct chunk_result *one)
{
	struct chunk_result *o = malloc(sizeof(*o));
	assert_non_null(o);
	decode_pieces(in, n, 0, 8, NULL, one);
	decode_pieces(in, n, 1, 8, NULL, o);
	assert_memory_equal(one, o, sizeof(*o));
	decode_pieces(in, n, 0, 1, NULL, o);
	assert_memory_equal(one, o, sizeof(*o));
	for (size_t k = 1; k < n; k++) {
		/* 2-way split: first k bytes, then the rest */
		struct h1_chunked d;
		struct h1_str sp[8];
		unsigned ns;
		struct chunk_result t;
		memset(&t, 0, sizeof(t));
		h1_chunked_init(&d, NULL);
		long c1 = h1_chunked_decode(&d, in, k, sp, 8, &ns);
		if (c1 < 0) {
			t.err = d.err;
			t.consumed = -1;
		} else {
			for (unsigned j = 0; j < ns; j++) {
				memcpy(t.data + t.ndata, sp[j].ptr, sp[j].len);
				t.ndata += sp[j].len;
			}
			long c2 = 0;
			ns = 0;
			if (!h1_chunked_done(&d))
				c2 = h1_chunked_decode(&d, in + c1, n - (size_t)c1, sp, 8, &ns);
			if (c2 < 0) {
				t.err = d.err;
				t.consumed = -1;
			} else {
				for (unsigned j = 0; j < ns; j++) {
					memcpy(t.data + t.ndata, sp[j].ptr, sp[j].len);
					t.ndata += sp[j].len;
				}
				t.consumed = c1 + c2;
				t.done = h1_chunked_done(&d);
			}
		}
		if (t.err != 0) {
			t.ndata = 0;
			memset(t.data, 0, sizeof(t.data));
		}
		assert_memory_equal(one, &t, sizeof(t));
	}
	free(o);
}

#define CHUNKS_OK(s, body)                                                                         \
	do {                                                                                       \
		struct chunk_result cr_;                                                           \
		check_chunk_splits(s, sizeof(s) - 1, &cr_);                                        \
		assert_int_equal(cr_.err, 0);                                                      \
		assert_true(cr_.done);                                                             \
		assert_int_equal(cr_.ndata, sizeof(body) - 1);                                     \
		assert_memory_equal(cr_.data, body, sizeof(body) - 1);                             \
	} while (0)

#define CHUNKS_ERR(s, e)                                                                           \
	do {                                                                                       \
		struct chunk_result cr_;                                                           \
		check_chunk_splits(s, sizeof(s) - 1, &cr_);                                        \
		if (cr_.err != (e))                                                                \
			fail_msg("line %d: expected %s got %s", __LINE__, h1_err_name(e),          \
				 h1_err_name((enum h1_err)cr_.err));                               \
	} while (0)

static void test_chunked_valid(void **state)
{
	(void)state;
	CHUNKS_OK("0\r\n\r\n", "");
	CHUNKS_OK("5\r\nhello\r\n0\r\n\r\n", "hello");
	CHUNKS_OK("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world");
	CHUNKS_OK("A\r\n0123456789\r\na\r\nabcdefghij\r\n00\r\n\r\n", "0123456789abcdefghij");
	CHUNKS_OK("0005\r\nhello\r\n0\r\n\r\n", "hello");
	CHUNKS_OK("1;a\r\nx\r\n0\r\n\r\n", "x");
	CHUNKS_OK("1;a=b\r\nx\r\n0;last\r\n\r\n", "x");
	CHUNKS_OK("1 ; a = b ;c\r\nx\r\n0\r\n\r\n", "x");
	CHUNKS_OK("1;a=\"q \\\"uoted\\\\ ;=\"\r\nx\r\n0\r\n\r\n", "x");
	CHUNKS_OK("1;a=\"\"\r\nx\r\n0\r\n\r\n", "x");
	CHUNKS_OK("1\r\nx\r\n0\r\nX-Checksum: abc\r\nX-Empty:\r\n\r\n", "x");
	CHUNKS_OK("2\r\n\r\n\r\n0\r\n\r\n", "\r\n"); /* data is data */
	CHUNKS_OK("3\r\n\0\xff\n\r\n0\r\n\r\n", "\0\xff\n");

	/* bytes after the body are the next message's */
	struct chunk_result r;
	static const char tail[] = "1\r\nx\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
	decode_pieces(tail, sizeof(tail) - 1, 0, 8, NULL, &r);
	assert_true(r.done);
	assert_int_equal(r.consumed, 11);
	decode_pieces(tail, sizeof(tail) - 1, 1, 8, NULL, &r);
	assert_int_equal(r.consumed, 11);

	/* 16 hex digits are allowed: the body is then merely incomplete */
	struct h1_chunked d;
	struct h1_str sp[2];
	unsigned ns;
	h1_chunked_init(&d, NULL);
	assert_int_equal(h1_chunked_decode(&d, "ffffffffffffffff\r\nab", 20, sp, 2, &ns), 20);
	assert_int_equal(ns, 1);
	assert_int_equal(sp[0].len, 2);
	assert_false(h1_chunked_done(&d));
	assert_int_equal(d.remaining, UINT64_MAX - 2);
}

static void test_chunked_errors(void **state)
{
	(void)state;
	CHUNKS_ERR("0x5\r\nhello\r\n0\r\n\r\n", H1_E_BAD_CHUNK_SIZE);
	CHUNKS_ERR("x\r\n\r\n", H1_E_BAD_CHUNK_SIZE);
	CHUNKS_ERR("+5\r\nhello\r\n0\r\n\r\n", H1_E_BAD_CHUNK_SIZE);
	CHUNKS_ERR("-5\r\nhello\r\n0\r\n\r\n", H1_E_BAD_CHUNK_SIZE);
	CHUNKS_ERR(" 5\r\nhello\r\n0\r\n\r\n", H1_E_BAD_CHUNK_SIZE);
	CHUNKS_ERR("5 \r\nhello\r\n0\r\n\r\n", H1_E_BAD_CHUNK_SIZE);
	CHUNKS_ERR("5\t\r\nhello\r\n0\r\n\r\n", H1_E_BAD_CHUNK_SIZE);
	CHUNKS_ERR("\r\nhello\r\n0\r\n\r\n", H1_E_BAD_CHUNK_SIZE);
	CHUNKS_ERR(";a\r\nhello\r\n0\r\n\r\n", H1_E_BAD_CHUNK_SIZE);
	CHUNKS_ERR("5g\r\nhello\r\n0\r\n\r\n", H1_E_BAD_CHUNK_SIZE);
	CHUNKS_ERR("\n5\r\nhello\r\n0\r\n\r\n", H1_E_BAD_CHUNK_CRLF);
	CHUNKS_ERR("1\0\r\nx\r\n0\r\n\r\n", H1_E_NUL_OR_CTL);
	CHUNKS_ERR("10000000000000000\r\n", H1_E_CHUNK_SIZE_OVERFLOW);
	CHUNKS_ERR("00000000000000001\r\nx\r\n", H1_E_CHUNK_SIZE_OVERFLOW);
	CHUNKS_ERR("5\nhello\r\n0\r\n\r\n", H1_E_BAD_CHUNK_CRLF);
	CHUNKS_ERR("5\rhello\r\n0\r\n\r\n", H1_E_BAD_CHUNK_CRLF);
	CHUNKS_ERR("5\r\nhelloX\r\n0\r\n\r\n", H1_E_BAD_CHUNK_CRLF);
	CHUNKS_ERR("5\r\nhello\n0\r\n\r\n", H1_E_BAD_CHUNK_CRLF);
	CHUNKS_ERR("5\r\nhello\rX0\r\n\r\n", H1_E_BAD_CHUNK_CRLF);
	CHUNKS_ERR("3\r\nhello\r\n0\r\n\r\n", H1_E_BAD_CHUNK_CRLF);
	/* extensions */
	CHUNKS_ERR("1;ext=\"x\rx\"\r\nx\r\n0\r\n\r\n", H1_E_BAD_CHUNK_EXT);
	CHUNKS_ERR("1;ext=\"x\nx\"\r\nx\r\n0\r\n\r\n", H1_E_BAD_CHUNK_CRLF);
	CHUNKS_ERR("1;a=b\nx\r\n0\r\n\r\n", H1_E_BAD_CHUNK_CRLF);
	CHUNKS_ERR("1;ext=\"x\r\nx\r\n0\r\n\r\n", H1_E_BAD_CHUNK_EXT);
	CHUNKS_ERR("1;=x\r\nx\r\n0\r\n\r\n", H1_E_BAD_CHUNK_EXT);
	CHUNKS_ERR("1;a=\r\nx\r\n0\r\n\r\n", H1_E_BAD_CHUNK_EXT);
	CHUNKS_ERR("1;a=b c\r\nx\r\n0\r\n\r\n", H1_E_BAD_CHUNK_EXT);
	CHUNKS_ERR("1;a \r\nx\r\n0\r\n\r\n", H1_E_BAD_CHUNK_EXT);
	CHUNKS_ERR("1;a=\"b\"c\r\nx\r\n0\r\n\r\n", H1_E_BAD_CHUNK_EXT);
	CHUNKS_ERR("1;a(b)\r\nx\r\n0\r\n\r\n", H1_E_BAD_CHUNK_EXT);
	CHUNKS_ERR("1;a=\"\\\x01\"\r\nx\r\n0\r\n\r\n", H1_E_NUL_OR_CTL);
	CHUNKS_ERR("1;a\x7f\r\nx\r\n0\r\n\r\n", H1_E_NUL_OR_CTL);
	/* trailers, as strict as header fields */
	CHUNKS_ERR("0\r\nX: 1\r\n y\r\n\r\n", H1_E_OBS_FOLD);
	CHUNKS_ERR("0\r\n X: 1\r\n\r\n", H1_E_OBS_FOLD);
	CHUNKS_ERR("0\r\nX : 1\r\n\r\n", H1_E_WS_BEFORE_COLON);
	CHUNKS_ERR("0\r\nX(: 1\r\n\r\n", H1_E_BAD_HEADER_NAME);
	CHUNKS_ERR("0\r\nNoColon\r\n\r\n", H1_E_BAD_HEADER_NAME);
	CHUNKS_ERR("0\r\nX: a\0\r\n\r\n", H1_E_NUL_OR_CTL);
	CHUNKS_ERR("0\r\nX: a\rb\r\n\r\n", H1_E_BARE_CR);
	CHUNKS_ERR("0\r\nX: a\n\r\n", H1_E_BARE_LF);
	CHUNKS_ERR("0\r\n\n", H1_E_BARE_LF);
	CHUNKS_ERR("0\r\n\rx", H1_E_BARE_CR);
	CHUNKS_ERR("0\r\nContent-Length: 5\r\n\r\n", H1_E_BAD_TRAILER);
	CHUNKS_ERR("0\r\ntransfer-encoding: chunked\r\n\r\n", H1_E_BAD_TRAILER);
	CHUNKS_ERR("0\r\nHOST: a\r\n\r\n", H1_E_BAD_TRAILER);
	CHUNKS_ERR("0\r\nConnection: close\r\n\r\n", H1_E_BAD_TRAILER);
}

static void test_chunked_limits(void **state)
{
	struct h1_limits lim = H1_LIMITS_DEFAULT;
	struct chunk_result r;
	char buf[2048];
	(void)state;

	/* chunk extensions: exactly the limit, then one byte more */
	lim.max_chunk_ext = 8;
	decode_pieces("1;abcdefg\r\nx\r\n0\r\n\r\n", 20, 1, 8, &lim, &r);
	assert_true(r.done);
	decode_pieces("1;abcdefgh\r\nx\r\n0\r\n\r\n", 21, 1, 8, &lim, &r);
	assert_int_equal(r.err, H1_E_CHUNK_EXT_TOO_LONG);
	decode_pieces("1 ;abcdef\r\nx\r\n0\r\n\r\n", 20, 0, 8, &lim, &r);
	assert_true(r.done);

	/* trailer section: bytes (final CRLF included) and fields */
	lim = (struct h1_limits)H1_LIMITS_DEFAULT;
	lim.max_trailer_bytes = 12;
	lim.max_trailer_fields = 2;
	decode_pieces("0\r\nA: 1\r\nB:\r\n\r\n", 17, 0, 8, &lim, &r);
	assert_true(r.done);
	decode_pieces("0\r\nA: 12\r\nB:\r\n\r\n", 18, 0, 8, &lim, &r);
	assert_int_equal(r.err, H1_E_TRAILER_TOO_LARGE);
	lim.max_trailer_bytes = 100;
	decode_pieces("0\r\nA:\r\nB:\r\nC:\r\n\r\n", 17, 1, 8, &lim, &r);
	assert_int_equal(r.err, H1_E_TRAILER_TOO_LARGE);

	/* default: 8 KiB of trailers */
	size_t k = (size_t)sprintf(buf, "0\r\nX: ");
	memset(buf + k, 'v', 1000);
	k += 1000;
	k += (size_t)sprintf(buf + k, "\r\n\r\n");
	decode_pieces(buf, k, 0, 8, NULL, &r);
	assert_true(r.done);
}

/* Re-encoding writes canonical chunks that decode to the same body. */
static void test_chunked_reencode(void **state)
{
	static const char in[] = "5;a=\"b\"\r\nhello\r\n000006\r\n world\r\n0;z\r\nX-T: 1\r\n\r\nNEXT";
	char out[256];
	size_t olen;
	struct h1_chunked d;
	(void)state;

	h1_chunked_init(&d, NULL);
	long c = h1_chunked_reencode(&d, in, sizeof(in) - 1, out, sizeof(out), &olen);
	assert_int_equal(c, (long)sizeof(in) - 5);
	assert_true(h1_chunked_done(&d));
	static const char want[] = "5\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n";
	assert_int_equal(olen, sizeof(want) - 1);
	assert_memory_equal(out, want, olen);

	/* through a small output: several calls, output valid and the same body */
	for (size_t cap = H1_REENCODE_MIN; cap < 40; cap++) {
		char acc[512];
		size_t alen = 0, off = 0;
		h1_chunked_init(&d, NULL);
		for (int guard = 0; guard < 1000 && !h1_chunked_done(&d); guard++) {
			c = h1_chunked_reencode(&d, in + off, sizeof(in) - 1 - off, out, cap, &olen);
			assert_true(c >= 0);
			assert_true(olen <= cap);
			memcpy(acc + alen, out, olen);
			alen += olen;
			off += (size_t)c;
		}
		assert_true(h1_chunked_done(&d));
		assert_int_equal(off, sizeof(in) - 5);
		struct chunk_result r;
		decode_pieces(acc, alen, 0, 8, NULL, &r);
		assert_true(r.done);
		assert_int_equal(r.consumed, (long)alen);
		assert_int_equal(r.ndata, 11);
		assert_memory_equal(r.data, "hello world", 11);
		assert_memory_equal(acc + alen - 10, "X-T: 1\r\n\r\n", 10);
	}

	/* errors are the decoder's */
	h1_chunked_init(&d, NULL);
	assert_int_equal(h1_chunked_reencode(&d, "1;a=\"\r\"", 7, out, sizeof(out), &olen), H1_ERROR);
	assert_int_equal(d.err, H1_E_BAD_CHUNK_EXT);
	assert_int_equal(h1_chunked_reencode(&d, "0\r\n\r\n", 5, out, sizeof(out), &olen), H1_ERROR);

	char hdr[32];
	struct h1_out o;
	h1_out_init(&o, hdr, sizeof(hdr));
	h1_out_chunk_header(&o, 0);
	h1_out_chunk_header(&o, 0x1a2b);
	h1_out_chunk_header(&o, UINT64_MAX);
	assert_int_equal(o.len, 3 + 6 + 18);
	assert_memory_equal(hdr, "0\r\n1a2b\r\nffffffffffffffff\r\n", o.len);
}

/* ---- codec ------------------------------------------------------------------------------------ */

static void reparse(const char *out, size_t n, struct req_result *r)
{
	parse_req_lim(out, n, NULL, r);
	assert_int_equal(r->rc, (int)n);
	assert_int_equal(r->err, H1_E_NONE);
}

static int count_named(const struct req_result *r, const char *name)
{
	int c = 0;
	for (unsigned i = 0; i < r->req.n_fields; i++)
		if (r->f[i].name_len == strlen(name) && strncasecmp(r->f[i].name, name, r->f[i].name_len) == 0)
			c++;
	return c;
}

static const struct h1_field *named(const struct req_result *r, const char *name)
{
	for (unsigned i = 0; i < r->req.n_fields; i++)
		if (r->f[i].name_len == strlen(name) && strncasecmp(r->f[i].name, name, r->f[i].name_len) == 0)
			return &r->f[i];
	return NULL;
}

static bool is_uuid4(const char *s, size_t n)
{
	if (n != 36)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!strchr("0123456789abcdef", s[i]) || s[i] == 0) {
			return false;
		}
	}
	return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

static void test_forward_request(void **state)
{
	static const char in[] = "POST /up?x=1 HTTP/1.1\r\nHost: svc.local\r\nConnection: keep-alive, X-Hop\r\n"
				 "X-Hop: secret\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nUpgrade: h2c\r\n"
				 "Transfer-Encoding: chunked\r\nX-Forwarded-For: 198.18.0.9\r\n"
				 "X-Forwarded-Proto: gopher\r\nAccept: */*\r\nX-Forwarded-For: 198.18.0.10, 198.18.0.11\r\n"
				 "Proxy-Connection: keep-alive\r\nTrailer: X-T\r\n\r\n";
	struct req_result *r = malloc(sizeof(*r)), *o = malloc(sizeof(*o));
	char out[1024];
	struct h1_out w;
	struct h1_prng prng;
	(void)state;
	assert_non_null(r);
	assert_non_null(o);

	ACCEPT(in, r);
	assert_int_equal(r->info.body, H1_BODY_CHUNKED);
	h1_prng_seed(&prng, 42);
	struct h1_fwd fwd = {
		.client_addr = {"198.18.0.1", 10},
		.proto = {"https", 5},
		.prng = &prng,
		.flags = H1_FWD_XFF | H1_FWD_XFP | H1_FWD_REQUEST_ID | H1_FWD_KEEP_REQUEST_ID,
	};
	h1_out_init(&w, out, sizeof(out));
	assert_int_equal(h1_write_request_head(&w, &r->req, &r->info, &fwd), 0);
	reparse(out, w.len, o);
	assert_true(str_is(o->req.method, "POST"));
	assert_true(str_is(o->req.target, "/up?x=1"));
	assert_int_equal(o->req.minor, 1);
	assert_int_equal(count_named(o, "connection"), 0);
	assert_int_equal(count_named(o, "x-hop"), 0);
	assert_int_equal(count_named(o, "keep-alive"), 0);
	assert_int_equal(count_named(o, "te"), 0);
	assert_int_equal(count_named(o, "upgrade"), 0);
	assert_int_equal(count_named(o, "proxy-connection"), 0);
	assert_int_equal(count_named(o, "trailer"), 0);
	assert_int_equal(count_named(o, "transfer-encoding"), 1);
	assert_true(field_is(named(o, "transfer-encoding"), "transfer-encoding", "chunked"));
	assert_int_equal(o->info.body, H1_BODY_CHUNKED);
	assert_true(field_is(named(o, "host"), "Host", "svc.local"));
	assert_int_equal(count_named(o, "accept"), 1);
	/* XFF: the client appended to the last list, the earlier one intact */
	assert_int_equal(count_named(o, "x-forwarded-for"), 2);
	assert_true(field_is(&o->f[h1_fields_find(o->f, o->req.n_fields, 0, "x-forwarded-for", 15)],
			     "X-Forwarded-For", "198.18.0.9"));
	int last = h1_fields_find(o->f, o->req.n_fields,
				  (unsigned)h1_fields_find(o->f, o->req.n_fields, 0, "x-forwarded-for", 15) + 1,
				  "x-forwarded-for", 15);
	assert_true(field_is(&o->f[last], "X-Forwarded-For", "198.18.0.10, 198.18.0.11, 198.18.0.1"));
	/* XFP replaced, request id generated */
	assert_int_equal(count_named(o, "x-forwarded-proto"), 1);
	assert_true(field_is(named(o, "x-forwarded-proto"), "x-forwarded-proto", "https"));
	const struct h1_field *rid = named(o, "x-request-id");
	assert_non_null(rid);
	assert_true(is_uuid4(rid->value, rid->value_len));
	assert_true(fwd.request_id_generated);
	assert_memory_equal(fwd.request_id, rid->value, 36);

	/* too small an output: -1, nothing written past cap */
	char small[64 + 8];
	memset(small, 0x5a, sizeof(small));
	h1_out_init(&w, small, 64);
	assert_int_equal(h1_write_request_head(&w, &r->req, &r->info, &fwd), -1);
	for (size_t i = 64; i < sizeof(small); i++)
		assert_int_equal((unsigned char)small[i], 0x5a);
	free(r);
	free(o);
}

static void test_forward_variants(void **state)
{
	struct req_result *r = malloc(sizeof(*r)), *o = malloc(sizeof(*o));
	char out[1024];
	struct h1_out w;
	struct h1_prng prng;
	(void)state;
	assert_non_null(r);
	assert_non_null(o);
	h1_prng_seed(&prng, 7);
	struct h1_fwd fwd = {.client_addr = {"2001:db8::1", 11}, .proto = {"http", 4}, .prng = &prng};
	unsigned n;

	/* absolute-form becomes origin-form with Host from the authority */
	ACCEPT("GET http://A.example:80?q HTTP/1.1\r\nHost: a.example\r\nX-Request-Id: abc-123\r\n\r\n", r);
	fwd.flags = H1_FWD_XFF | H1_FWD_REQUEST_ID | H1_FWD_KEEP_REQUEST_ID;
	h1_out_init(&w, out, sizeof(out));
	assert_int_equal(h1_write_request_head(&w, &r->req, &r->info, &fwd), 0);
	reparse(out, w.len, o);
	assert_true(str_is(o->req.target, "/?q"));
	assert_int_equal(count_named(o, "host"), 1);
	assert_true(field_is(named(o, "host"), "host", "A.example:80"));
	assert_true(field_is(named(o, "x-forwarded-for"), "x-forwarded-for", "2001:db8::1"));
	assert_true(field_is(named(o, "x-request-id"), "X-Request-Id", "abc-123")); /* kept */
	assert_false(fwd.request_id_generated);
	assert_int_equal(count_named(o, "x-forwarded-proto"), 0);

	/* without KEEP the incoming id is replaced; an invalid one always is */
	fwd.flags = H1_FWD_REQUEST_ID;
	h1_out_init(&w, out, sizeof(out));
	assert_int_equal(h1_write_request_head(&w, &r->req, &r->info, &fwd), 0);
	reparse(out, w.len, o);
	assert_int_equal(count_named(o, "x-request-id"), 1);
	assert_true(is_uuid4(named(o, "x-request-id")->value, named(o, "x-request-id")->value_len));
	ACCEPT("GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: bad id<>\r\n\r\n", r);
	fwd.flags = H1_FWD_REQUEST_ID | H1_FWD_KEEP_REQUEST_ID | H1_FWD_CLOSE;
	h1_out_init(&w, out, sizeof(out));
	assert_int_equal(h1_write_request_head(&w, &r->req, &r->info, &fwd), 0);
	reparse(out, w.len, o);
	assert_true(is_uuid4(named(o, "x-request-id")->value, named(o, "x-request-id")->value_len));
	assert_true(o->info.flags & H1_MI_CONN_CLOSE);
	ACCEPT("GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: a\r\nX-Request-Id: b\r\n\r\n", r);
	h1_out_init(&w, out, sizeof(out));
	assert_int_equal(h1_write_request_head(&w, &r->req, &r->info, &fwd), 0);
	reparse(out, w.len, o);
	assert_int_equal(count_named(o, "x-request-id"), 1);

	/* a Host the proxy sets replaces the authority of an absolute-form target */
	ACCEPT("GET http://a.example/x HTTP/1.1\r\nHost: a.example\r\n\r\n", r);
	n = r->req.n_fields;
	assert_int_equal(h1_fields_set(r->f, &n, NF, "Host", 4, "b.internal", 10), 0);
	r->req.n_fields = (uint16_t)n;
	fwd.flags = 0;
	h1_out_init(&w, out, sizeof(out));
	assert_int_equal(h1_write_request_head(&w, &r->req, &r->info, &fwd), 0);
	reparse(out, w.len, o);
	assert_int_equal(count_named(o, "host"), 1);
	assert_true(field_is(named(o, "host"), "Host", "b.internal"));
	assert_true(str_is(o->req.target, "/x"));

	/* OPTIONS to an absolute URI with no path becomes OPTIONS * */
	ACCEPT("OPTIONS http://a HTTP/1.1\r\nHost: a\r\n\r\n", r);
	fwd.flags = 0;
	h1_out_init(&w, out, sizeof(out));
	assert_int_equal(h1_write_request_head(&w, &r->req, &r->info, &fwd), 0);
	reparse(out, w.len, o);
	assert_int_equal(o->req.target_form, H1_TF_ASTERISK);

	/* HTTP/1.0 without Host goes out as HTTP/1.1 with an empty one; an
	 * empty XFF gets the client alone */
	ACCEPT("GET /x HTTP/1.0\r\nX-Forwarded-For:\r\nContent-Length: 3\r\n\r\n", r);
	fwd.flags = H1_FWD_XFF;
	h1_out_init(&w, out, sizeof(out));
	assert_int_equal(h1_write_request_head(&w, &r->req, &r->info, &fwd), 0);
	reparse(out, w.len, o);
	assert_int_equal(o->req.minor, 1);
	assert_true(field_is(named(o, "host"), "host", ""));
	assert_true(field_is(named(o, "x-forwarded-for"), "X-Forwarded-For", "2001:db8::1"));
	assert_int_equal(o->info.body, H1_BODY_LENGTH);
	assert_int_equal(o->info.content_length, 3);

	/* edits: set replaces, remove drops, add appends */
	ACCEPT("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nx-a: 2\r\nX-B: 3\r\n\r\n", r);
	n = r->req.n_fields;
	assert_int_equal(h1_fields_find(r->f, n, 0, "X-A", 3), 1);
	assert_int_equal(h1_fields_find(r->f, n, 2, "x-A", 3), 2);
	assert_int_equal(h1_fields_find(r->f, n, 0, "x-c", 3), -1);
	assert_int_equal(h1_fields_set(r->f, &n, NF, "x-a", 3, "new", 3), 0);
	assert_int_equal(h1_fields_remove(r->f, n, "X-B", 3), 1);
	assert_int_equal(h1_fields_add(r->f, &n, NF, "Host2", 5, "h", 1), 0);
	assert_int_equal(h1_fields_add(r->f, &n, n, "X", 1, "h", 1), -1);
	r->req.n_fields = (uint16_t)n;
	h1_out_init(&w, out, sizeof(out));
	assert_int_equal(h1_write_request_head(&w, &r->req, &r->info, &fwd), 0);
	reparse(out, w.len, o);
	assert_int_equal(count_named(o, "x-a"), 1);
	assert_true(field_is(named(o, "x-a"), "x-a", "new"));
	assert_int_equal(count_named(o, "x-b"), 0);
	assert_true(field_is(named(o, "host2"), "Host2", "h"));
	free(r);
	free(o);
}

static void test_forward_response(void **state)
{
	struct resp_result r, o;
	char out[512];
	struct h1_out w;
	struct h1_fwd fwd = {.flags = 0};
	(void)state;

	RESP("HTTP/1.0 200 OK\r\nServer: s\r\nConnection: keep-alive, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: t=1\r\n"
	     "Content-Length: 2\r\n\r\n", H1_M_GET, &r);
	h1_out_init(&w, out, sizeof(out));
	assert_int_equal(h1_write_response_head(&w, &r.resp, &r.info, &fwd), 0);
	static const char want[] = "HTTP/1.1 200 OK\r\nServer: s\r\nContent-Length: 2\r\n\r\n";
	assert_int_equal(w.len, sizeof(want) - 1);
	assert_memory_equal(out, want, w.len);

	RESP("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", H1_M_GET, &r);
	h1_out_init(&w, out, sizeof(out));
	assert_int_equal(h1_write_response_head(&w, &r.resp, &r.info, &fwd), 0);
	parse_resp(out, w.len, H1_M_GET, &o);
	assert_int_equal(o.rc, (int)w.len);
	assert_int_equal(o.info.body, H1_BODY_CHUNKED);

	/* a close-delimited body: closed downstream too, or re-chunked */
	RESP("HTTP/1.1 200 OK\r\nX: y\r\n\r\n", H1_M_GET, &r);
	h1_out_init(&w, out, sizeof(out));
	assert_int_equal(h1_write_response_head(&w, &r.resp, &r.info, &fwd), 0);
	parse_resp(out, w.len, H1_M_GET, &o);
	assert_int_equal(o.info.body, H1_BODY_CLOSE);
	assert_true(o.info.flags & H1_MI_CONN_CLOSE);
	fwd.flags = H1_FWD_CHUNK_CLOSE_BODY;
	h1_out_init(&w, out, sizeof(out));
	assert_int_equal(h1_write_response_head(&w, &r.resp, &r.info, &fwd), 0);
	parse_resp(out, w.len, H1_M_GET, &o);
	assert_int_equal(o.info.body, H1_BODY_CHUNKED);
	assert_true(o.info.flags & H1_MI_KEEP_ALIVE);

	RESP("HTTP/1.1 204 No Content\r\n\r\n", H1_M_GET, &r);
	h1_out_init(&w, out, sizeof(out));
	assert_int_equal(h1_write_response_head(&w, &r.resp, &r.info, &fwd), 0);
	assert_memory_equal(out, "HTTP/1.1 204 No Content\r\n\r\n", w.len);
	RESP("HTTP/1.1 200\r\n\r\n", H1_M_HEAD, &r);
	h1_out_init(&w, out, sizeof(out));
	assert_int_equal(h1_write_response_head(&w, &r.resp, &r.info, &fwd), 0);
	assert_memory_equal(out, "HTTP/1.1 200 \r\n\r\n", w.len);
}

static void test_request_ids(void **state)
{
	struct h1_prng a, b;
	char x[36], y[36];
	(void)state;

	h1_prng_seed(&a, 1);
	h1_prng_seed(&b, 1);
	h1_request_id(&a, x);
	h1_request_id(&b, y);
	assert_memory_equal(x, y, 36); /* seeded: reproducible */
	for (int i = 0; i < 1000; i++) {
		h1_request_id(&a, y);
		assert_true(is_uuid4(y, 36));
		assert_memory_not_equal(x, y, 36);
	}
	h1_prng_seed(&b, 2);
	assert_true(h1_prng_next(&a) != h1_prng_next(&b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_error_table),
		cmocka_unit_test(test_origin_form),
		cmocka_unit_test(test_other_forms),
		cmocka_unit_test(test_http10),
		cmocka_unit_test(test_request_line_errors),
		cmocka_unit_test(test_field_errors),
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_content_length),
		cmocka_unit_test(test_transfer_encoding),
		cmocka_unit_test(test_smuggling_corpus),
		cmocka_unit_test(test_smuggling_underscore),
		cmocka_unit_test(test_connection_expect_upgrade),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_request_splits),
		cmocka_unit_test(test_every_position),
		cmocka_unit_test(test_buffer_moved),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_responses),
		cmocka_unit_test(test_chunked_valid),
		cmocka_unit_test(test_chunked_errors),
		cmocka_unit_test(test_chunked_limits),
		cmocka_unit_test(test_chunked_reencode),
		cmocka_unit_test(test_forward_request),
		cmocka_unit_test(test_forward_variants),
		cmocka_unit_test(test_forward_response),
		cmocka_unit_test(test_request_ids),
	};
	return cmocka_run_group_tests_name("h1", tests, NULL, NULL);
}
