/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The HTTP router: virtual host selection, every matcher, precedence, actions, rewrites, errors. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "policy/route.h"

static const char *const clusters[] = {"c0", "c1", "c2", "c3"};

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */
/* ------------------------------------------------------------------------ */

struct rq {
	struct weft_http_req_view v;
	struct weft_http_hdr_view h[16];
};

/* A request for "target" ("/path?query") on host (NULL: no Host). */
static void rq_init(struct rq *r, const char *method, const char *host, const char *target)
{
	const char *q = strchr(target, '?');

	memset(r, 0, sizeof(*r));
	r->v.method = method;
	r->v.method_len = (uint32_t)strlen(method);
	r->v.host = host;
	r->v.host_len = host != NULL ? (uint32_t)strlen(host) : 0;
	r->v.path = target;
	r->v.path_len = (uint32_t)(q != NULL ? (size_t)(q - target) : strlen(target));
	if (q != NULL) {
		r->v.query = q + 1;
		r->v.query_len = (uint32_t)strlen(q + 1);
	}
	r->v.headers = r->h;
}

static void rq_hdr(struct rq *r, const char *name, const char *value)
{
	assert_true(r->v.n_headers < 16);
	r->h[r->v.n_headers++] = (struct weft_http_hdr_view){name, value, (uint32_t)strlen(name),
							      (uint32_t)strlen(value)};
}

static struct weft_route_table *compile_ok(const struct weft_route_cfg_model *m)
{
	struct weft_route_table *t = NULL;
	char err[WEFT_ROUTE_ERR_LEN];

	if (weft_routes_compile(m, &t, err, sizeof(err)) != 0)
		fail_msg("compile failed: %s", err);
	return t;
}

/* The error of a model that must not compile. */
static const char *compile_err(const struct weft_route_cfg_model *m)
{
	static char err[WEFT_ROUTE_ERR_LEN];
	struct weft_route_table *t = NULL;

	assert_int_equal(weft_routes_compile(m, &t, err, sizeof(err)), -1);
	assert_null(t);
	return err;
}

/* A model of one virtual host "*" holding routes. */
static struct weft_route_cfg_model one_vhost(struct weft_route_cfg_vhost *vh, const struct weft_route_cfg_route *routes,
					     unsigned n)
{
	static const char *const any[] = {"*"};

	memset(vh, 0, sizeof(*vh));
	vh->name = "default";
	vh->domains = any;
	vh->n_domains = 1;
	vh->routes = routes;
	vh->n_routes = n;
	return (struct weft_route_cfg_model){.n_vhosts = 1, .vhosts = vh, .n_clusters = 4, .clusters = clusters};
}

struct fixture {
	struct weft_route_table *t;
	hs_scratch_t *s;
};

static void fx_open(struct fixture *f, const struct weft_route_cfg_model *m)
{
	f->t = compile_ok(m);
	assert_int_equal(weft_route_scratch_alloc(f->t, &f->s), 0);
}

static void fx_close(struct fixture *f)
{
	weft_route_scratch_free(f->s);
	weft_routes_free(f->t);
}

/* Index of the route r matches, or -1 when none. */
static int route_idx(const struct fixture *f, const struct rq *r)
{
	struct weft_route_result res;
	int rc = weft_route_match(f->t, &r->v, f->s, &res);

	assert_true(rc >= 0);
	if (rc == 0) {
		assert_null(res.action);
		return -1;
	}
	assert_non_null(res.action);
	return (int)res.route;
}

static int match_path(const struct fixture *f, const char *method, const char *target)
{
	struct rq r;

	rq_init(&r, method, "example.com", target);
	return route_idx(f, &r);
}

#define R_CLUSTER(c) .action = WEFT_ROUTE_ACT_CLUSTER, .cluster = (c)
#define M_PREFIX(p) .match = {.path_kind = WEFT_ROUTE_PATH_PREFIX, .path = (p)}
#define M_EXACT(p) .match = {.path_kind = WEFT_ROUTE_PATH_EXACT, .path = (p)}
#define M_REGEX(p) .match = {.path_kind = WEFT_ROUTE_PATH_REGEX, .path = (p)}

/* splitmix64: the per-request random values of these tests. */
static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* ------------------------------------------------------------------------ */
/* Virtual hosts                                                             */
/* ------------------------------------------------------------------------ */

static void test_vhost_selection(void **state)
{
	static const char *const d0[] = {"api.example.com", "[2001:db8::1]", "Mixed.Example.NET"};
	static const char *const d1[] = {"*.example.com"};
	static const char *const d2[] = {"*.com"};
	static const char *const d3[] = {"api.*"};
	static const char *const d4[] = {"api.ex*"};
	static const char *const d5[] = {"*"};
	static const char *const d6[] = {"*-bar.example.org"};
	static const struct weft_route_cfg_route any[] = {{M_PREFIX("/"), R_CLUSTER("c0")}};
	const struct weft_route_cfg_vhost vh[] = {
		{.name = "v0", .domains = d0, .n_domains = 3, .routes = any, .n_routes = 1},
		{.name = "v1", .domains = d1, .n_domains = 1, .routes = any, .n_routes = 1},
		{.name = "v2", .domains = d2, .n_domains = 1, .routes = any, .n_routes = 1},
		{.name = "v3", .domains = d3, .n_domains = 1, .routes = any, .n_routes = 1},
		{.name = "v4", .domains = d4, .n_domains = 1, .routes = any, .n_routes = 1},
		{.name = "v5", .domains = d5, .n_domains = 1, .routes = any, .n_routes = 1},
		{.name = "v6", .domains = d6, .n_domains = 1, .routes = any, .n_routes = 1},
	};
	struct weft_route_cfg_model m = {.n_vhosts = 7, .vhosts = vh, .n_clusters = 4, .clusters = clusters};
	static const struct {
		const char *host;
		uint32_t vhost;
	} cases[] = {
		{"api.example.com", 0},      /* exact beats every wildcard */
		{"API.Example.COM:8080", 0}, /* any case; port ignored */
		{"mixed.example.net", 0},    /* configured in mixed case */
		{"[2001:db8::1]:443", 0},
		{"[2001:db8::1]", 0},
		{"www.example.com", 1},      /* longest suffix */
		{"a.b.example.com", 1},
		{"example.com", 2},          /* "*.example.com" needs one more character */
		{"api.test.com", 2},         /* a suffix wildcard beats a prefix wildcard */
		{"api.example.org", 4},      /* longest prefix */
		{"api.foo", 3},
		{"api.", 5},                 /* a wildcard never stands for nothing */
		{"other.net", 5},            /* the default */
		{"baz-bar.example.org", 6},  /* "*-bar" suffix form */
		{"-bar.example.org", 5},
		{"", 5},
	};
	struct fixture f;

	(void)state;
	fx_open(&f, &m);
	assert_int_equal(weft_routes_vhost_count(f.t), 7);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rq r;
		struct weft_route_result res;
		rq_init(&r, "GET", cases[i].host, "/");
		assert_int_equal(weft_route_match(f.t, &r.v, f.s, &res), 1);
		if (res.vhost != cases[i].vhost)
			fail_msg("host '%s': vhost %u, expected %u", cases[i].host, res.vhost, cases[i].vhost);
	}
	/* No Host at all, or one longer than any DNS name: the default. */
	struct rq r;
	struct weft_route_result res;
	rq_init(&r, "GET", NULL, "/");
	assert_int_equal(weft_route_match(f.t, &r.v, f.s, &res), 1);
	assert_int_equal(res.vhost, 5);
	char longhost[300];
	memset(longhost, 'a', sizeof(longhost));
	memcpy(longhost + sizeof(longhost) - 13, ".example.com", 13);
	rq_init(&r, "GET", longhost, "/");
	assert_int_equal(weft_route_match(f.t, &r.v, f.s, &res), 1);
	assert_int_equal(res.vhost, 5);
	fx_close(&f);

	/* Without "*", an unknown Host matches no virtual host. */
	m.n_vhosts = 2;
	fx_open(&f, &m);
	rq_init(&r, "GET", "other.net", "/");
	assert_int_equal(weft_route_match(f.t, &r.v, f.s, &res), 0);
	assert_int_equal(res.vhost, UINT32_MAX);
	assert_null(res.action);
	fx_close(&f);
}

/* ------------------------------------------------------------------------ */
/* Precedence                                                                */
/* ------------------------------------------------------------------------ */

static void test_first_match_wins(void **state)
{
	static const struct weft_route_cfg_kv_match xa[] = {{.name = "x-a", .kind = WEFT_ROUTE_VALUE_PRESENT}};
	const struct weft_route_cfg_route routes[] = {
		/* 0 */ {.match = {.path_kind = WEFT_ROUTE_PATH_PREFIX, .path = "/k", .headers = xa, .n_headers = 1},
			 R_CLUSTER("c0")},
		/* 1 */ {M_REGEX("/k.*"), R_CLUSTER("c1")},
		/* 2 */ {M_PREFIX("/k"), R_CLUSTER("c2")},
		/* 3 */ {M_REGEX("/x/[0-9]+"), R_CLUSTER("c0")},
		/* 4 */ {M_EXACT("/x/1"), R_CLUSTER("c1")},
		/* 5 */ {M_EXACT("/y/1"), R_CLUSTER("c0")},
		/* 6 */ {M_REGEX("/y/[0-9]+"), R_CLUSTER("c1")},
		/* 7 */ {M_PREFIX("/api"), R_CLUSTER("c0")},
		/* 8 */ {M_EXACT("/api/v1"), R_CLUSTER("c1")},
		/* 9 */ {M_REGEX("/z.*"), R_CLUSTER("c2")},
		/* 10 */ {M_REGEX("/z.*"), R_CLUSTER("c3")},
		/* 11 */ {.match = {.path_kind = WEFT_ROUTE_PATH_EXACT, .path = "/dup", .headers = xa, .n_headers = 1},
			  R_CLUSTER("c0")},
		/* 12 */ {M_EXACT("/dup"), R_CLUSTER("c1")},
		/* 13 */ {M_PREFIX("/du"), R_CLUSTER("c2")},
		/* 14 */ {M_EXACT("/dup"), R_CLUSTER("c3")},
		/* 15 */ {M_EXACT("/dupe"), R_CLUSTER("c3")},
	};
	struct weft_route_cfg_vhost vh;
	struct weft_route_cfg_model m = one_vhost(&vh, routes, 16);
	struct fixture f;
	struct rq r;

	(void)state;
	fx_open(&f, &m);
	rq_init(&r, "GET", "h", "/kb");
	rq_hdr(&r, "X-A", "1");
	assert_int_equal(route_idx(&f, &r), 0);
	assert_int_equal(match_path(&f, "GET", "/kb"), 1);  /* gated route before an ungated one */
	assert_int_equal(match_path(&f, "GET", "/k"), 1);
	assert_int_equal(match_path(&f, "GET", "/x/1"), 3); /* regex first, then the exact path */
	assert_int_equal(match_path(&f, "GET", "/y/1"), 5); /* exact first, then the regex */
	assert_int_equal(match_path(&f, "GET", "/y/22"), 6);
	assert_int_equal(match_path(&f, "GET", "/api/v1"), 7); /* the broader prefix comes first */
	assert_int_equal(match_path(&f, "GET", "/zz"), 9);  /* two identical regexes: the first */
	assert_int_equal(match_path(&f, "GET", "/b"), -1);
	/* Routes on one exact path keep their order, and interleave with the others. */
	rq_init(&r, "GET", "h", "/dup");
	rq_hdr(&r, "x-a", "");
	assert_int_equal(route_idx(&f, &r), 11);
	assert_int_equal(match_path(&f, "GET", "/dup"), 12);
	assert_int_equal(match_path(&f, "GET", "/dupe"), 13);
	assert_int_equal(match_path(&f, "GET", "/dup?q=1"), 12);
	fx_close(&f);
}

/* ------------------------------------------------------------------------ */
/* Matchers                                                                  */
/* ------------------------------------------------------------------------ */

static void test_path_matchers(void **state)
{
	const struct weft_route_cfg_route routes[] = {
		/* 0 */ {M_EXACT("/exact"), R_CLUSTER("c0")},
		/* 1 */ {M_PREFIX("/pre"), R_CLUSTER("c0")},
		/* 2 */ {M_REGEX("/r/[0-9]+"), R_CLUSTER("c0")},
		/* 3 */ {M_REGEX("/alt/(one|two)"), R_CLUSTER("c0")},
		/* 4 */ {M_REGEX("(?i)/ci/[a-z]+"), R_CLUSTER("c0")},
		/* 5 */ {M_REGEX(""), R_CLUSTER("c0")},
		/* 6 */ {.match = {.path_kind = WEFT_ROUTE_PATH_ANY, .methods = WEFT_HTTP_M_DELETE}, R_CLUSTER("c0")},
	};
	struct weft_route_cfg_vhost vh;
	struct weft_route_cfg_model m = one_vhost(&vh, routes, 7);
	struct fixture f;

	(void)state;
	fx_open(&f, &m);
	assert_int_equal(match_path(&f, "GET", "/exact"), 0);
	assert_int_equal(match_path(&f, "GET", "/exact?x=1"), 0); /* the query is not part of the path */
	assert_int_equal(match_path(&f, "GET", "/Exact"), -1);    /* case-sensitive */
	assert_int_equal(match_path(&f, "GET", "/exact/"), -1);
	assert_int_equal(match_path(&f, "GET", "/pre"), 1);
	assert_int_equal(match_path(&f, "GET", "/prefix/more"), 1);
	assert_int_equal(match_path(&f, "GET", "/pr"), -1);
	assert_int_equal(match_path(&f, "GET", "/r/123"), 2);
	assert_int_equal(match_path(&f, "GET", "/r/12x"), -1);    /* anchored at the end */
	assert_int_equal(match_path(&f, "GET", "/x/r/12"), -1);   /* and at the start */
	assert_int_equal(match_path(&f, "GET", "/r/1\n"), -1);    /* \z, not $ */
	assert_int_equal(match_path(&f, "GET", "/alt/two"), 3);
	assert_int_equal(match_path(&f, "GET", "/alt/three"), -1);
	assert_int_equal(match_path(&f, "GET", "/CI/AbC"), 4);
	assert_int_equal(match_path(&f, "GET", ""), 5);           /* an empty regex matches the empty path */
	assert_int_equal(match_path(&f, "DELETE", "/anything"), 6);
	assert_int_equal(match_path(&f, "GET", "/anything"), -1);
	fx_close(&f);
}

static void test_methods(void **state)
{
	const struct weft_route_cfg_route routes[] = {
		{.match = {.path_kind = WEFT_ROUTE_PATH_PREFIX, .path = "/", .methods = WEFT_HTTP_M_GET | WEFT_HTTP_M_HEAD},
		 R_CLUSTER("c0")},
		{.match = {.path_kind = WEFT_ROUTE_PATH_PREFIX, .path = "/", .methods = WEFT_HTTP_M_POST}, R_CLUSTER("c1")},
		{M_PREFIX("/"), R_CLUSTER("c2")},
	};
	struct weft_route_cfg_vhost vh;
	struct weft_route_cfg_model m = one_vhost(&vh, routes, 3);
	struct fixture f;

	(void)state;
	assert_int_equal(weft_http_method_bit("OPTIONS", 7), WEFT_HTTP_M_OPTIONS);
	assert_int_equal(weft_http_method_bit("get", 3), 0);
	fx_open(&f, &m);
	assert_int_equal(match_path(&f, "GET", "/"), 0);
	assert_int_equal(match_path(&f, "HEAD", "/"), 0);
	assert_int_equal(match_path(&f, "POST", "/"), 1);
	assert_int_equal(match_path(&f, "PUT", "/"), 2);
	assert_int_equal(match_path(&f, "PURGE", "/"), 2); /* unknown methods only match routes without methods */
	struct rq r;
	rq_init(&r, "GET", "h", "/");
	r.v.method_bit = WEFT_HTTP_M_POST; /* a codec's own parse of the method wins */
	assert_int_equal(route_idx(&f, &r), 1);
	fx_close(&f);
}

static void test_header_matchers(void **state)
{
	static const struct weft_route_cfg_kv_match h0[] = {{.name = "X-Env", .kind = WEFT_ROUTE_VALUE_EXACT, .value = "Canary"}};
	static const struct weft_route_cfg_kv_match h1[] = {{.name = "x-user", .kind = WEFT_ROUTE_VALUE_REGEX, .value = "u-[0-9]{3}"}};
	static const struct weft_route_cfg_kv_match h2[] = {
		{.name = "x-debug", .kind = WEFT_ROUTE_VALUE_PRESENT},
		{.name = "x-skip", .kind = WEFT_ROUTE_VALUE_ABSENT},
	};
	static const struct weft_route_cfg_kv_match h3[] = {
		{.name = "x-tier", .kind = WEFT_ROUTE_VALUE_EXACT, .value = "gold", .invert = true},
		{.name = "x-tier", .kind = WEFT_ROUTE_VALUE_PRESENT},
	};
	/* A header regex that would also match the path: it must only ever look at the header. */
	static const struct weft_route_cfg_kv_match h4[] = {{.name = "x-p", .kind = WEFT_ROUTE_VALUE_REGEX, .value = "/h.*"}};
	const struct weft_route_cfg_route routes[] = {
		{.match = {.path_kind = WEFT_ROUTE_PATH_PREFIX, .path = "/h", .headers = h0, .n_headers = 1}, R_CLUSTER("c0")},
		{.match = {.path_kind = WEFT_ROUTE_PATH_PREFIX, .path = "/h", .headers = h1, .n_headers = 1}, R_CLUSTER("c0")},
		{.match = {.path_kind = WEFT_ROUTE_PATH_PREFIX, .path = "/h", .headers = h2, .n_headers = 2}, R_CLUSTER("c0")},
		{.match = {.path_kind = WEFT_ROUTE_PATH_PREFIX, .path = "/h", .headers = h3, .n_headers = 2}, R_CLUSTER("c0")},
		{.match = {.path_kind = WEFT_ROUTE_PATH_PREFIX, .path = "/h", .headers = h4, .n_headers = 1}, R_CLUSTER("c0")},
		{M_REGEX("/h.*"), R_CLUSTER("c1")},
	};
	struct weft_route_cfg_vhost vh;
	struct weft_route_cfg_model m = one_vhost(&vh, routes, 6);
	struct fixture f;
	struct rq r;

	(void)state;
	fx_open(&f, &m);
	rq_init(&r, "GET", "h", "/h");
	rq_hdr(&r, "x-env", "Canary"); /* name in another case */
	assert_int_equal(route_idx(&f, &r), 0);
	rq_init(&r, "GET", "h", "/h");
	rq_hdr(&r, "X-ENV", "canary"); /* values are case-sensitive */
	assert_int_equal(route_idx(&f, &r), 5);
	rq_init(&r, "GET", "h", "/h");
	rq_hdr(&r, "X-Env", "stable");
	rq_hdr(&r, "x-env", "Canary");  /* a repeated header: any value may meet it */
	assert_int_equal(route_idx(&f, &r), 0);

	rq_init(&r, "GET", "h", "/h");
	rq_hdr(&r, "X-User", "u-123");
	assert_int_equal(route_idx(&f, &r), 1);
	rq_init(&r, "GET", "h", "/h");
	rq_hdr(&r, "x-user", "u-1234"); /* anchored */
	assert_int_equal(route_idx(&f, &r), 5);
	rq_init(&r, "GET", "h", "/h");
	rq_hdr(&r, "x-user", "nobody");
	rq_hdr(&r, "x-user", "u-777");
	assert_int_equal(route_idx(&f, &r), 1);

	rq_init(&r, "GET", "h", "/h");
	rq_hdr(&r, "x-debug", "");
	assert_int_equal(route_idx(&f, &r), 2);
	rq_hdr(&r, "x-skip", "1");
	assert_int_equal(route_idx(&f, &r), 5);

	rq_init(&r, "GET", "h", "/h");
	rq_hdr(&r, "x-tier", "silver");
	assert_int_equal(route_idx(&f, &r), 3);
	rq_init(&r, "GET", "h", "/h");
	rq_hdr(&r, "x-tier", "gold");
	assert_int_equal(route_idx(&f, &r), 5);

	rq_init(&r, "GET", "h", "/hello"); /* the path matches h4's pattern, but x-p is absent */
	assert_int_equal(route_idx(&f, &r), 5);
	rq_hdr(&r, "x-p", "/hx");
	assert_int_equal(route_idx(&f, &r), 4);
	fx_close(&f);
}

static void test_query_matchers(void **state)
{
	static const struct weft_route_cfg_kv_match q0[] = {{.name = "v", .kind = WEFT_ROUTE_VALUE_EXACT, .value = "2"}};
	static const struct weft_route_cfg_kv_match q1[] = {{.name = "id", .kind = WEFT_ROUTE_VALUE_REGEX, .value = "[a-f0-9]{4}"}};
	static const struct weft_route_cfg_kv_match q2[] = {{.name = "debug", .kind = WEFT_ROUTE_VALUE_PRESENT}};
	static const struct weft_route_cfg_kv_match q3[] = {{.name = "Debug", .kind = WEFT_ROUTE_VALUE_ABSENT}};
	const struct weft_route_cfg_route routes[] = {
		{.match = {.path_kind = WEFT_ROUTE_PATH_PREFIX, .path = "/", .query = q0, .n_query = 1}, R_CLUSTER("c0")},
		{.match = {.path_kind = WEFT_ROUTE_PATH_PREFIX, .path = "/", .query = q1, .n_query = 1}, R_CLUSTER("c0")},
		{.match = {.path_kind = WEFT_ROUTE_PATH_PREFIX, .path = "/", .query = q2, .n_query = 1}, R_CLUSTER("c0")},
		{.match = {.path_kind = WEFT_ROUTE_PATH_PREFIX, .path = "/", .query = q3, .n_query = 1}, R_CLUSTER("c0")},
		{M_PREFIX("/"), R_CLUSTER("c1")},
	};
	struct weft_route_cfg_vhost vh;
	struct weft_route_cfg_model m = one_vhost(&vh, routes, 5);
	struct fixture f;

	(void)state;
	fx_open(&f, &m);
	assert_int_equal(match_path(&f, "GET", "/p?a=1&v=2"), 0);
	assert_int_equal(match_path(&f, "GET", "/p?v=3&v=2"), 3);  /* the first occurrence counts */
	assert_int_equal(match_path(&f, "GET", "/p?id=beef"), 1);
	assert_int_equal(match_path(&f, "GET", "/p?id=beefy"), 3);
	assert_int_equal(match_path(&f, "GET", "/p?x&debug"), 2);  /* no '=': present, empty value */
	assert_int_equal(match_path(&f, "GET", "/p?debug=0"), 2);
	assert_int_equal(match_path(&f, "GET", "/p?Debug=1"), 4);  /* names are case-sensitive */
	assert_int_equal(match_path(&f, "GET", "/p"), 3);
	assert_int_equal(match_path(&f, "GET", "/p?"), 3);
	assert_int_equal(match_path(&f, "GET", "/p?&&v=2&"), 0);
	fx_close(&f);
}

/* ------------------------------------------------------------------------ */
/* Actions                                                                   */
/* ------------------------------------------------------------------------ */

static int rewrite(const struct fixture *f, const char *target, char *buf, size_t cap)
{
	struct rq r;
	struct weft_route_result res;

	rq_init(&r, "GET", "example.com", target);
	assert_int_equal(weft_route_match(f->t, &r.v, f->s, &res), 1);
	return weft_route_rewrite_path(f->t, &res, &r.v, 0, buf, cap);
}

static void test_rewrites(void **state)
{
	const struct weft_route_cfg_route routes[] = {
		/* 0 */ {M_PREFIX("/api/"), R_CLUSTER("c0"), .prefix_rewrite = "/"},
		/* 1 */ {M_EXACT("/old"), R_CLUSTER("c0"), .prefix_rewrite = "/new/place"},
		/* 2 */ {M_PREFIX("/service/"), R_CLUSTER("c0"), .regex_rewrite_pattern = "^/service/([^/]+)(/.*)$",
			 .regex_rewrite_substitution = "\\2/instance/\\1"},
		/* 3 */ {M_PREFIX("/oo/"), R_CLUSTER("c0"), .regex_rewrite_pattern = "o", .regex_rewrite_substitution = "0"},
		/* 4 */ {M_PREFIX("/v"), R_CLUSTER("c0"), .regex_rewrite_pattern = "^/v(\\d+)/",
			 .regex_rewrite_substitution = "/version\\1/"},
		/* 5 */ {M_PREFIX("/h"), R_CLUSTER("c1"), .host_rewrite = "Backend.Internal", .timeout_ms = 1500},
		/* 6 */ {M_PREFIX("/strip/"), R_CLUSTER("c0"), .prefix_rewrite = ""},
	};
	struct weft_route_cfg_vhost vh;
	struct weft_route_cfg_model m = one_vhost(&vh, routes, 7);
	struct fixture f;
	char buf[128];

	(void)state;
	m.n_workers = 2;
	fx_open(&f, &m);
	assert_int_equal(rewrite(&f, "/api/users?x=1", buf, sizeof(buf)), (int)strlen("/users?x=1"));
	assert_string_equal(buf, "/users?x=1");
	assert_true(rewrite(&f, "/old", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "/new/place");
	assert_true(rewrite(&f, "/service/foo/v1/api?q", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "/v1/api/instance/foo?q");
	assert_true(rewrite(&f, "/oo/boo", buf, sizeof(buf)) > 0); /* every occurrence */
	assert_string_equal(buf, "/00/b00");
	assert_true(rewrite(&f, "/v12/items", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "/version12/items");
	assert_int_equal(rewrite(&f, "/vx/items", buf, sizeof(buf)), 0); /* pattern absent: unchanged */
	assert_true(rewrite(&f, "/strip/a", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "a");
	assert_int_equal(rewrite(&f, "/h", buf, sizeof(buf)), 0);  /* no path rewrite */
	assert_int_equal(rewrite(&f, "/api/users?x=1", buf, 5), -1);
	assert_int_equal(errno, ENOSPC);

	/* Worker 1 uses its own regex copy, same result. */
	struct rq r;
	struct weft_route_result res;
	rq_init(&r, "GET", "example.com", "/service/bar/x");
	assert_int_equal(weft_route_match(f.t, &r.v, f.s, &res), 1);
	assert_true(weft_route_rewrite_path(f.t, &res, &r.v, 1, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "/x/instance/bar");

	rq_init(&r, "GET", "example.com", "/h");
	assert_int_equal(weft_route_match(f.t, &r.v, f.s, &res), 1);
	assert_string_equal(res.action->host_rewrite.p, "backend.internal");
	assert_int_equal(res.action->timeout_ms, 1500);
	assert_int_equal(res.cluster, 1);
	assert_string_equal(res.action->cluster_name.p, "c1");
	fx_close(&f);
}

static int location(const struct fixture *f, const char *host, const char *target, const char *scheme, char *buf,
		    size_t cap, uint16_t *status)
{
	struct rq r;
	struct weft_route_result res;

	rq_init(&r, "GET", host, target);
	if (scheme != NULL) {
		r.v.scheme = scheme;
		r.v.scheme_len = (uint32_t)strlen(scheme);
	}
	assert_int_equal(weft_route_match(f->t, &r.v, f->s, &res), 1);
	assert_int_equal(res.action->kind, WEFT_ROUTE_ACT_REDIRECT);
	assert_int_equal(res.cluster, UINT32_MAX);
	*status = res.action->redirect.status;
	return weft_route_redirect_location(f->t, &res, &r.v, buf, cap);
}

static void test_redirects(void **state)
{
	const struct weft_route_cfg_route routes[] = {
		{M_PREFIX("/secure"), .action = WEFT_ROUTE_ACT_REDIRECT, .redirect = {.scheme = "https"}},
		{M_PREFIX("/moved"), .action = WEFT_ROUTE_ACT_REDIRECT,
		 .redirect = {.host = "new.example", .port = 8443, .path = "/landing", .status = 308}},
		{M_PREFIX("/docs/"), .action = WEFT_ROUTE_ACT_REDIRECT,
		 .redirect = {.prefix_rewrite = "/manual/", .strip_query = true, .status = 302}},
		{M_PREFIX("/q"), .action = WEFT_ROUTE_ACT_REDIRECT, .redirect = {.path = "/search?src=old"}},
	};
	struct weft_route_cfg_vhost vh;
	struct weft_route_cfg_model m = one_vhost(&vh, routes, 4);
	struct fixture f;
	char buf[128];
	uint16_t st;

	(void)state;
	fx_open(&f, &m);
	assert_true(location(&f, "example.com:80", "/secure/x?a=1", NULL, buf, sizeof(buf), &st) > 0);
	assert_string_equal(buf, "https://example.com/secure/x?a=1");
	assert_int_equal(st, 301);
	assert_true(location(&f, "example.com:8080", "/secure", "http", buf, sizeof(buf), &st) > 0);
	assert_string_equal(buf, "https://example.com:8080/secure");
	assert_true(location(&f, "example.com", "/moved?z", "https", buf, sizeof(buf), &st) > 0);
	assert_string_equal(buf, "https://new.example:8443/landing?z");
	assert_int_equal(st, 308);
	assert_true(location(&f, "example.com:81", "/docs/a/b?x=1", NULL, buf, sizeof(buf), &st) > 0);
	assert_string_equal(buf, "http://example.com:81/manual/a/b");
	assert_int_equal(st, 302);
	assert_true(location(&f, "example.com", "/q?term=x", NULL, buf, sizeof(buf), &st) > 0);
	assert_string_equal(buf, "http://example.com/search?src=old");
	assert_int_equal(location(&f, "example.com", "/secure", NULL, buf, 10, &st), -1);
	assert_int_equal(errno, ENOSPC);
	fx_close(&f);
}

static void test_direct_response(void **state)
{
	const struct weft_route_cfg_route routes[] = {
		{M_EXACT("/healthz"), .action = WEFT_ROUTE_ACT_DIRECT, .direct = {.status = 200, .body = "ok\n"}},
		{M_PREFIX("/"), .action = WEFT_ROUTE_ACT_DIRECT, .direct = {.status = 404}},
	};
	struct weft_route_cfg_vhost vh;
	struct weft_route_cfg_model m = one_vhost(&vh, routes, 2);
	struct fixture f;
	struct rq r;
	struct weft_route_result res;
	char buf[16];

	(void)state;
	fx_open(&f, &m);
	rq_init(&r, "GET", "h", "/healthz");
	assert_int_equal(weft_route_match(f.t, &r.v, f.s, &res), 1);
	assert_int_equal(res.action->kind, WEFT_ROUTE_ACT_DIRECT);
	assert_int_equal(res.action->direct.status, 200);
	assert_int_equal(res.action->direct.body.len, 3);
	assert_memory_equal(res.action->direct.body.p, "ok\n", 3);
	assert_int_equal(weft_route_redirect_location(f.t, &res, &r.v, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EINVAL);
	rq_init(&r, "GET", "h", "/other");
	assert_int_equal(weft_route_match(f.t, &r.v, f.s, &res), 1);
	assert_int_equal(res.action->direct.status, 404);
	assert_int_equal(res.action->direct.body.len, 0);
	fx_close(&f);
}

static void test_header_ops(void **state)
{
	static const struct weft_route_cfg_header add[] = {{"X-Via", "weft"}, {"x-via", "edge"}};
	static const struct weft_route_cfg_header set[] = {{"X-Env", "prod"}};
	static const char *const rm[] = {"X-Secret", "cookie"};
	static const struct weft_route_cfg_header radd[] = {{"Server", "weft"}};
	const struct weft_route_cfg_route routes[] = {
		{M_PREFIX("/"), R_CLUSTER("c0"),
		 .request_headers = {.n_add = 2, .add = add, .n_set = 1, .set = set, .n_remove = 2, .remove = rm},
		 .response_headers = {.n_add = 1, .add = radd}},
	};
	struct weft_route_cfg_vhost vh;
	struct weft_route_cfg_model m = one_vhost(&vh, routes, 1);
	struct fixture f;
	struct rq r;
	struct weft_route_result res;
	struct weft_http_hdr_view out[8];

	(void)state;
	fx_open(&f, &m);
	rq_init(&r, "GET", "h", "/");
	rq_hdr(&r, "Accept", "*/*");
	rq_hdr(&r, "x-env", "dev");
	rq_hdr(&r, "X-SECRET", "s1");
	rq_hdr(&r, "User-Agent", "curl");
	rq_hdr(&r, "Cookie", "a=1");
	rq_hdr(&r, "x-secret", "s2");
	assert_int_equal(weft_route_match(f.t, &r.v, f.s, &res), 1);
	int n = weft_route_headers_apply(&res.action->request_headers, r.v.headers, r.v.n_headers, out, 8);
	assert_int_equal(n, 5);
	static const char *const want[][2] = {
		{"Accept", "*/*"}, {"User-Agent", "curl"}, {"x-env", "prod"}, {"x-via", "weft"}, {"x-via", "edge"},
	};
	for (int i = 0; i < n; i++) {
		assert_int_equal(out[i].name_len, strlen(want[i][0]));
		assert_memory_equal(out[i].name, want[i][0], out[i].name_len);
		assert_int_equal(out[i].value_len, strlen(want[i][1]));
		assert_memory_equal(out[i].value, want[i][1], out[i].value_len);
	}
	assert_int_equal(weft_route_headers_apply(&res.action->request_headers, r.v.headers, r.v.n_headers, out, 4), -1);
	assert_int_equal(errno, ENOSPC);
	n = weft_route_headers_apply(&res.action->response_headers, NULL, 0, out, 8);
	assert_int_equal(n, 1);
	assert_memory_equal(out[0].name, "server", 6);
	fx_close(&f);
}

static void test_weighted_clusters(void **state)
{
	static const struct weft_route_cfg_weighted w[] = {
		{"c0", 10}, {"c1", 0}, {"c2", 30}, {"c3", 60},
	};
	const struct weft_route_cfg_route routes[] = {
		{M_PREFIX("/"), .action = WEFT_ROUTE_ACT_WEIGHTED, .weighted = w, .n_weighted = 4},
	};
	struct weft_route_cfg_vhost vh;
	struct weft_route_cfg_model m = one_vhost(&vh, routes, 1);
	struct fixture f;
	struct rq r;
	struct weft_route_result res;
	unsigned count[4] = {0};
	const unsigned n = 100000;
	uint64_t seed = 42;

	(void)state;
	fx_open(&f, &m);
	rq_init(&r, "GET", "h", "/");
	for (unsigned i = 0; i < n; i++) {
		r.v.random = splitmix(&seed);
		assert_int_equal(weft_route_match(f.t, &r.v, f.s, &res), 1);
		assert_true(res.cluster < 4);
		count[res.cluster]++;
	}
	assert_int_equal(count[1], 0);
	const double p[4] = {0.1, 0, 0.3, 0.6};
	for (int i = 0; i < 4; i++) {
		double mean = n * p[i], sd = sqrt(n * p[i] * (1 - p[i]));
		if (fabs(count[i] - mean) > 5 * sd + 1e-9)
			fail_msg("cluster %d: %u picks, expected %.0f +- %.0f", i, count[i], mean, 5 * sd);
	}
	/* Same random value, same pick. */
	r.v.random = 12345;
	assert_int_equal(weft_route_match(f.t, &r.v, f.s, &res), 1);
	uint32_t first = res.cluster;
	assert_int_equal(weft_route_match(f.t, &r.v, f.s, &res), 1);
	assert_int_equal(res.cluster, first);
	fx_close(&f);
}

/* ------------------------------------------------------------------------ */
/* Errors                                                                    */
/* ------------------------------------------------------------------------ */

static void expect_err(const struct weft_route_cfg_route *routes, unsigned n, const char *want)
{
	struct weft_route_cfg_vhost vh;
	struct weft_route_cfg_model m = one_vhost(&vh, routes, n);
	const char *err = compile_err(&m);

	if (strstr(err, want) == NULL)
		fail_msg("error '%s' lacks '%s'", err, want);
}

static void test_compile_errors(void **state)
{
	(void)state;
	{
		const struct weft_route_cfg_route r[] = {
			{M_PREFIX("/"), R_CLUSTER("c0")},
			{M_REGEX("/ok/[0-9]+"), R_CLUSTER("c0")},
			{M_PREFIX("/"), R_CLUSTER("c0")},
			{M_REGEX("/bad/(unclosed"), R_CLUSTER("c0"), .line = 42},
		};
		struct weft_route_cfg_vhost vh;
		struct weft_route_cfg_model m = one_vhost(&vh, r, 4);
		const char *err = compile_err(&m);
		assert_string_equal(err, "line 42: virtual_hosts[0].routes[3].match.regex: "
					 "Missing close parenthesis for group started at index 5.");
		assert_int_equal(errno, EINVAL);
	}
	{
		/* An unbalanced pattern must not escape its anchoring group. */
		const struct weft_route_cfg_route r[] = {{M_REGEX("/x)|(.*"), R_CLUSTER("c0")}};
		expect_err(r, 1, "virtual_hosts[0].routes[0].match.regex: Unmatched parentheses at index 2.");
	}
	{
		static const struct weft_route_cfg_kv_match h[] = {
			{.name = "x-a", .kind = WEFT_ROUTE_VALUE_PRESENT},
			{.name = "x-b", .kind = WEFT_ROUTE_VALUE_REGEX, .value = "a{2,1}"},
		};
		const struct weft_route_cfg_route r[] = {
			{.match = {.path_kind = WEFT_ROUTE_PATH_ANY, .headers = h, .n_headers = 2}, R_CLUSTER("c0")},
		};
		expect_err(r, 1, "virtual_hosts[0].routes[0].match.headers[1].regex: ");
	}
	{
		static const struct weft_route_cfg_kv_match h[] = {{.name = "bad name", .kind = WEFT_ROUTE_VALUE_PRESENT}};
		const struct weft_route_cfg_route r[] = {
			{.match = {.path_kind = WEFT_ROUTE_PATH_ANY, .headers = h, .n_headers = 1}, R_CLUSTER("c0")},
		};
		expect_err(r, 1, "routes[0].match.headers[0].name: not a valid header name");
	}
	{
		const struct weft_route_cfg_route r[] = {{M_PREFIX("/"), R_CLUSTER("nope")}};
		expect_err(r, 1, "routes[0].route.cluster: unknown cluster 'nope'");
	}
	{
		const struct weft_route_cfg_route r[] = {{M_REGEX("/x"), R_CLUSTER("c0"), .prefix_rewrite = "/"}};
		expect_err(r, 1, "routes[0].route.prefix_rewrite: needs a prefix or path match");
	}
	{
		const struct weft_route_cfg_route r[] = {{M_PREFIX("/"), R_CLUSTER("c0"), .regex_rewrite_pattern = "(a)",
							  .regex_rewrite_substitution = "\\2"}};
		expect_err(r, 1, "routes[0].route.regex_rewrite: \\2 but the pattern has 1 group(s)");
	}
	{
		const struct weft_route_cfg_route r[] = {{M_PREFIX("/"), R_CLUSTER("c0"), .regex_rewrite_pattern = "(?:a)",
							  .regex_rewrite_substitution = "b"}};
		expect_err(r, 1, "routes[0].route.regex_rewrite.pattern: (?...) groups are not supported");
	}
	{
		const struct weft_route_cfg_route r[] = {{M_PREFIX("/"), R_CLUSTER("c0"), .regex_rewrite_pattern = "(a",
							  .regex_rewrite_substitution = "b"}};
		expect_err(r, 1, "routes[0].route.regex_rewrite.pattern: ");
	}
	{
		const struct weft_route_cfg_route r[] = {
			{M_PREFIX("/"), .action = WEFT_ROUTE_ACT_REDIRECT, .redirect = {.status = 200}}};
		expect_err(r, 1, "routes[0].redirect.response_code: 200");
	}
	{
		const struct weft_route_cfg_route r[] = {{M_PREFIX("/"), .action = WEFT_ROUTE_ACT_DIRECT, .direct = {.status = 42}}};
		expect_err(r, 1, "routes[0].direct_response.status: 42");
	}
	{
		static const struct weft_route_cfg_weighted w[] = {{"c0", 0}, {"c1", 0}};
		const struct weft_route_cfg_route r[] = {
			{M_PREFIX("/"), .action = WEFT_ROUTE_ACT_WEIGHTED, .weighted = w, .n_weighted = 2}};
		expect_err(r, 1, "weighted_clusters: every weight is 0");
	}
	{
		static const struct weft_route_cfg_header add[] = {{"X-A", "line\r\nbreak"}};
		const struct weft_route_cfg_route r[] = {
			{M_PREFIX("/"), R_CLUSTER("c0"), .response_headers = {.n_add = 1, .add = add}}};
		expect_err(r, 1, "routes[0].response_headers_to_add[0].value");
	}
	{
		/* Domains: duplicates, two defaults, a wildcard in the middle. */
		static const char *const d0[] = {"a.example", "*"};
		static const char *const d1[] = {"A.Example"};
		static const char *const d2[] = {"*"};
		static const char *const d3[] = {"a.*.example"};
		const struct weft_route_cfg_vhost vh[] = {
			{.domains = d0, .n_domains = 2}, {.domains = d1, .n_domains = 1, .line = 7},
		};
		struct weft_route_cfg_model m = {.n_vhosts = 2, .vhosts = vh, .n_clusters = 4, .clusters = clusters};
		assert_string_equal(compile_err(&m),
				    "line 7: virtual_hosts[1].domains[0]: 'A.Example' already belongs to virtual_hosts[0]");
		const struct weft_route_cfg_vhost vh2[] = {{.domains = d0, .n_domains = 2}, {.domains = d2, .n_domains = 1}};
		m.vhosts = vh2;
		assert_non_null(strstr(compile_err(&m), "virtual_hosts[1].domains[0]: '*' already belongs to virtual_hosts[0]"));
		const struct weft_route_cfg_vhost vh3[] = {{.domains = d3, .n_domains = 1}};
		m.vhosts = vh3;
		m.n_vhosts = 1;
		assert_non_null(strstr(compile_err(&m), "virtual_hosts[0].domains[0]: 'a.*.example'"));
	}
}

/* ------------------------------------------------------------------------ */
/* Scratch lifecycle                                                         */
/* ------------------------------------------------------------------------ */

static void test_scratch(void **state)
{
	const struct weft_route_cfg_route plain[] = {{M_PREFIX("/"), R_CLUSTER("c0")}};
	const struct weft_route_cfg_route small[] = {{M_REGEX("/a"), R_CLUSTER("c0")}};
	struct weft_route_cfg_route big[64];
	char pats[64][48];
	struct weft_route_cfg_vhost v1, v2, v3;
	struct weft_route_cfg_model m1 = one_vhost(&v1, plain, 1);
	struct weft_route_cfg_model m2 = one_vhost(&v2, small, 1);
	struct weft_route_table *t1 = compile_ok(&m1), *t2 = compile_ok(&m2), *t3;
	hs_scratch_t *s = NULL, *old;
	struct weft_route_result res;
	struct rq r;

	(void)state;
	for (int i = 0; i < 64; i++) {
		snprintf(pats[i], sizeof(pats[i]), "/b%d/(x|y)+[0-9]{2,5}.*z", i);
		big[i] = (struct weft_route_cfg_route){M_REGEX(pats[i]), R_CLUSTER("c1")};
	}
	struct weft_route_cfg_model m3 = one_vhost(&v3, big, 64);
	t3 = compile_ok(&m3);
	assert_int_equal(weft_routes_regex_count(t3), 64);
	assert_int_equal(weft_routes_route_count(t3), 64);

	/* A table without regex needs no scratch. */
	assert_int_equal(weft_route_scratch_alloc(t1, &s), 0);
	assert_null(s);
	assert_int_equal(weft_route_scratch_fit(t1, &s), 0);
	assert_null(s);
	rq_init(&r, "GET", "h", "/b7/xy123z");
	assert_int_equal(weft_route_match(t1, &r.v, NULL, &res), 1);
	/* A table with regexes refuses to scan without one. */
	assert_int_equal(weft_route_match(t2, &r.v, NULL, &res), -1);
	assert_int_equal(errno, EINVAL);

	/* Fitting replaces the scratch; the old one stays valid until freed. */
	assert_int_equal(weft_route_scratch_fit(t2, &s), 1);
	assert_non_null(s);
	old = s;
	assert_int_equal(weft_route_scratch_fit(t3, &s), 1);
	assert_ptr_not_equal(s, old);
	assert_int_equal(weft_route_match(t2, &r.v, old, &res), 0); /* old still serves t2 */
	weft_route_scratch_free(old);
	assert_int_equal(weft_route_match(t3, &r.v, s, &res), 1);   /* new serves t3 ... */
	assert_int_equal(res.route, 7);
	rq_init(&r, "GET", "h", "/a");
	assert_int_equal(weft_route_match(t2, &r.v, s, &res), 1);   /* ... and still t2 */
	weft_route_scratch_free(s);
	weft_routes_free(t1);
	weft_routes_free(t2);
	weft_routes_free(t3);
}

/* A reload copies the databases of virtual hosts whose regexes did not change. */
static void test_reload_reuse(void **state)
{
	static const char *const da[] = {"a.example"};
	static const char *const db[] = {"b.example"};
	const struct weft_route_cfg_route ra[] = {{M_REGEX("/a/[0-9]+"), R_CLUSTER("c0")}, {M_PREFIX("/"), R_CLUSTER("c1")}};
	/* Same regexes, other actions and an extra plain route: still the same database. */
	const struct weft_route_cfg_route ra2[] = {{M_REGEX("/a/[0-9]+"), R_CLUSTER("c2")}, {M_EXACT("/x"), R_CLUSTER("c3")}};
	const struct weft_route_cfg_route rb[] = {{M_REGEX("/b/[a-z]+"), R_CLUSTER("c0")}};
	const struct weft_route_cfg_route rb2[] = {{M_REGEX("/b/[a-z]*"), R_CLUSTER("c0")}};
	struct weft_route_cfg_vhost v1[] = {
		{.domains = da, .n_domains = 1, .routes = ra, .n_routes = 2},
		{.domains = db, .n_domains = 1, .routes = rb, .n_routes = 1},
	};
	struct weft_route_cfg_vhost v2[] = {
		{.domains = db, .n_domains = 1, .routes = rb2, .n_routes = 1},
		{.domains = da, .n_domains = 1, .routes = ra2, .n_routes = 2},
	};
	struct weft_route_cfg_model m1 = {.n_vhosts = 2, .vhosts = v1, .n_clusters = 4, .clusters = clusters};
	struct weft_route_cfg_model m2 = {.n_vhosts = 2, .vhosts = v2, .n_clusters = 4, .clusters = clusters,
					  .previous = NULL};
	struct weft_route_table *t1 = compile_ok(&m1), *t2;
	struct weft_route_result res;
	hs_scratch_t *s = NULL;
	struct rq r;

	(void)state;
	assert_int_equal(weft_routes_reused_count(t1), 0);
	m2.previous = t1;
	t2 = compile_ok(&m2);
	assert_int_equal(weft_routes_reused_count(t2), 1);
	weft_routes_free(t1); /* the copy does not depend on the old table */
	assert_int_equal(weft_route_scratch_fit(t2, &s), 1);
	rq_init(&r, "GET", "a.example", "/a/12");
	assert_int_equal(weft_route_match(t2, &r.v, s, &res), 1);
	assert_int_equal(res.vhost, 1);
	assert_int_equal(res.route, 0);
	assert_int_equal(res.cluster, 2);
	rq_init(&r, "GET", "b.example", "/b/");
	assert_int_equal(weft_route_match(t2, &r.v, s, &res), 1);
	weft_route_scratch_free(s);
	weft_routes_free(t2);
}

/* ------------------------------------------------------------------------ */
/* 10,000 routes                                                             */
/* ------------------------------------------------------------------------ */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/*
 * 10,000 routes in one virtual host: exact paths, prefixes behind a header,
 * and one route in 50 a regex (200 regexes: Hyperscan compiles about a
 * millisecond per pattern, so the all-regex table is left to the benchmark).
 * The matches at the end of the list are the ones that must still be right.
 */
static void test_10k_routes(void **state)
{
	enum { N = 10000 };
	struct weft_route_cfg_route *routes = calloc(N, sizeof(*routes));
	struct weft_route_cfg_kv_match *hm = calloc(N, sizeof(*hm));
	char (*paths)[40] = calloc(N, sizeof(*paths));
	struct weft_route_cfg_vhost vh;
	struct fixture f;
	struct rq r;

	(void)state;
	assert_non_null(routes);
	assert_non_null(hm);
	assert_non_null(paths);
	for (int i = 0; i < N; i++) {
		struct weft_route_cfg_route *rt = &routes[i];
		rt->action = WEFT_ROUTE_ACT_CLUSTER;
		rt->cluster = clusters[i % 4];
		if (i % 50 == 49) {
			snprintf(paths[i], sizeof(paths[i]), "/rx/%d/[0-9]+/(a|b)", i);
			rt->match.path_kind = WEFT_ROUTE_PATH_REGEX;
		} else if (i % 2 == 0) {
			snprintf(paths[i], sizeof(paths[i]), "/exact/%d", i);
			rt->match.path_kind = WEFT_ROUTE_PATH_EXACT;
		} else {
			snprintf(paths[i], sizeof(paths[i]), "/pre/%d/", i);
			rt->match.path_kind = WEFT_ROUTE_PATH_PREFIX;
			hm[i] = (struct weft_route_cfg_kv_match){.name = "x-shard", .kind = WEFT_ROUTE_VALUE_EXACT,
								 .value = paths[i] + 5};
			rt->match.headers = &hm[i];
			rt->match.n_headers = 1;
		}
		rt->match.path = paths[i];
	}
	struct weft_route_cfg_model m = one_vhost(&vh, routes, N);
	double t0 = now_s();
	fx_open(&f, &m);
	print_message("# 10,000 routes (200 regex) compiled in %.2f s\n", now_s() - t0);
	assert_int_equal(weft_routes_route_count(f.t), N);
	assert_int_equal(weft_routes_regex_count(f.t), N / 50);

	assert_int_equal(match_path(&f, "GET", "/exact/9998"), 9998);
	assert_int_equal(match_path(&f, "GET", "/exact/0"), 0);
	assert_int_equal(match_path(&f, "GET", "/rx/9999/42/b"), 9999);
	assert_int_equal(match_path(&f, "GET", "/rx/49/1/a"), 49);
	assert_int_equal(match_path(&f, "GET", "/rx/9999/42/c"), -1);
	assert_int_equal(match_path(&f, "GET", "/pre/9997/x"), -1); /* header missing */
	rq_init(&r, "GET", "h", "/pre/9997/x");
	rq_hdr(&r, "X-Shard", "9997/");
	assert_int_equal(route_idx(&f, &r), 9997);
	assert_int_equal(match_path(&f, "GET", "/nothing"), -1);
	fx_close(&f);
	free(routes);
	free(hm);
	free(paths);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vhost_selection),
		cmocka_unit_test(test_first_match_wins),
		cmocka_unit_test(test_path_matchers),
		cmocka_unit_test(test_methods),
		cmocka_unit_test(test_header_matchers),
		cmocka_unit_test(test_query_matchers),
		cmocka_unit_test(test_rewrites),
		cmocka_unit_test(test_redirects),
		cmocka_unit_test(test_direct_response),
		cmocka_unit_test(test_header_ops),
		cmocka_unit_test(test_weighted_clusters),
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_scratch),
		cmocka_unit_test(test_reload_reuse),
		cmocka_unit_test(test_10k_routes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
