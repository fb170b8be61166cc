/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * In-process benchmark of the HTTP routing decision and the load balancers:
 *
 *   route-50         TSC cycles per weft_route_match() on a 50-route virtual
 *                    host (exact, prefix, header and 10 regex routes), over a
 *                    mix of requests that end early, late and nowhere
 *   route-and-pick   the same, plus a round_robin pick of the chosen cluster
 *   route-10k-regex  10,000 regex routes in one virtual host (one Hyperscan
 *                    database): matches per second and cycles per match over
 *                    requests spread across the table; the compile time, and
 *                    that of a reload which keeps the regexes (database copied)
 *   lb-pick-POLICY   cycles per weft_lb_pick() over 16 weighted endpoints;
 *                    the hash policies get a precomputed key hash
 *   lb-key-cookie    cycles to find and hash a cookie in a Cookie header
 *   lb-pick-POLICY-resilience  the same pick with the cluster's resilience
 *                    state: 4 of the 16 endpoints out (2 ejected, 2 failing
 *                    health checks) and the previous attempt's endpoint avoided
 *
 * No peer runs in-process, so the figures are absolute (machine-dependent).
 *
 * Usage: bench_route [iterations] [regex routes]   (pin it: taskset -c 1)
 * Prints one JSON line per figure; cycle figures are the median of 7 rounds.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include "policy/config.h"
#include "policy/lb.h"
#include "policy/resilience.h"
#include "policy/route.h"

#define ROUNDS 7

static const char *const clusters[] = {"users", "orders", "static", "search"};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *what, const char *err)
{
	fprintf(stderr, "bench_route: %s: %s\n", what, err);
	exit(1);
}

static volatile uint64_t sink;

/* ------------------------------------------------------------------------ */
/* Requests                                                                  */
/* ------------------------------------------------------------------------ */

struct req {
	struct weft_http_req_view v;
	struct weft_http_hdr_view h[8];
	char target[96];
};

static void req_init(struct req *r, const char *method, const char *host, const char *target)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->target, sizeof(r->target), "%s", target);
	char *q = strchr(r->target, '?');
	r->v.method = method;
	r->v.method_len = (uint32_t)strlen(method);
	r->v.host = host;
	r->v.host_len = (uint32_t)strlen(host);
	r->v.path = r->target;
	r->v.path_len = (uint32_t)(q != NULL ? (size_t)(q - r->target) : strlen(r->target));
	if (q != NULL) {
		r->v.query = q + 1;
		r->v.query_len = (uint32_t)strlen(q + 1);
	}
	r->v.headers = r->h;
	/* A typical API request's fields. */
	static const char *const f[][2] = {
		{"User-Agent", "curl/7.88.1"},
		{"Accept", "application/json"},
		{"X-Request-Id", "7f9c2ba4-e88f-4d1a-9b3c-2f1e6d5a4c3b"},
		{"Cookie", "theme=dark; session=3f1e6d5a4c3b; lang=en"},
	};
	for (unsigned i = 0; i < 4; i++)
		r->h[r->v.n_headers++] = (struct weft_http_hdr_view){f[i][0], f[i][1], (uint32_t)strlen(f[i][0]),
								     (uint32_t)strlen(f[i][1])};
}

static void req_hdr(struct req *r, const char *name, const char *value)
{
	r->h[r->v.n_headers++] = (struct weft_http_hdr_view){name, value, (uint32_t)strlen(name), (uint32_t)strlen(value)};
}

/* ------------------------------------------------------------------------ */
/* 50 routes                                                                 */
/* ------------------------------------------------------------------------ */

static struct weft_route_table *table_50(void)
{
	static struct weft_route_cfg_route routes[50];
	static char paths[50][64];
	static const struct weft_route_cfg_kv_match canary[] = {
		{.name = "x-canary", .kind = WEFT_ROUTE_VALUE_EXACT, .value = "1"},
	};
	static const char *const d_api[] = {"api.example.com", "api.example.net"};
	static const char *const d_www[] = {"*.example.com"};
	static const char *const d_any[] = {"*"};
	static const struct weft_route_cfg_route fallback[] = {
		{.match = {.path_kind = WEFT_ROUTE_PATH_PREFIX, .path = "/"}, .action = WEFT_ROUTE_ACT_CLUSTER,
		 .cluster = "static"},
	};
	static struct weft_route_cfg_vhost vh[3];
	struct weft_route_table *t;
	char err[WEFT_ROUTE_ERR_LEN];

	for (unsigned i = 0; i < 50; i++) {
		struct weft_route_cfg_route *r = &routes[i];
		r->action = WEFT_ROUTE_ACT_CLUSTER;
		r->cluster = clusters[i % 4];
		if (i < 15) {
			snprintf(paths[i], sizeof(paths[i]), "/v1/exact/item%u", i);
			r->match.path_kind = WEFT_ROUTE_PATH_EXACT;
		} else if (i < 25) {
			snprintf(paths[i], sizeof(paths[i]), "/v1/svc%u/[0-9]+/(detail|summary)", i);
			r->match.path_kind = WEFT_ROUTE_PATH_REGEX;
		} else if (i < 30) {
			snprintf(paths[i], sizeof(paths[i]), "/v2/beta%u/", i);
			r->match.path_kind = WEFT_ROUTE_PATH_PREFIX;
			r->match.headers = canary;
			r->match.n_headers = 1;
		} else {
			snprintf(paths[i], sizeof(paths[i]), "/v2/area%u/", i);
			r->match.path_kind = WEFT_ROUTE_PATH_PREFIX;
			r->match.methods = i % 2 ? WEFT_HTTP_M_GET | WEFT_HTTP_M_HEAD : 0;
		}
		r->match.path = paths[i];
	}
	vh[0] = (struct weft_route_cfg_vhost){.name = "api", .domains = d_api, .n_domains = 2, .routes = routes,
					      .n_routes = 50};
	vh[1] = (struct weft_route_cfg_vhost){.name = "www", .domains = d_www, .n_domains = 1, .routes = fallback,
					      .n_routes = 1};
	vh[2] = (struct weft_route_cfg_vhost){.name = "default", .domains = d_any, .n_domains = 1,
					      .routes = fallback, .n_routes = 1};
	struct weft_route_cfg_model m = {.n_vhosts = 3, .vhosts = vh, .n_clusters = 4, .clusters = clusters};
	if (weft_routes_compile(&m, &t, err, sizeof(err)) != 0)
		die("compile 50 routes", err);
	return t;
}

static uint64_t run_routes(const struct weft_route_table *t, hs_scratch_t *s, const struct req *reqs, unsigned nreq,
			   unsigned iters, const struct weft_lb *lb, struct weft_lb_state *st)
{
	struct weft_route_result res;
	uint64_t acc = 0;
	uint64_t t0 = __rdtsc();

	for (unsigned i = 0; i < iters; i++) {
		const struct req *r = &reqs[i % nreq];
		weft_route_match(t, &r->v, s, &res);
		acc += res.route;
		if (lb != NULL) {
			struct weft_lb_ctx ctx = {.state = st};
			acc += (uint64_t)weft_lb_pick(lb, &ctx);
		}
	}
	uint64_t c = __rdtsc() - t0;
	sink = acc;
	return c;
}

static void bench_50(unsigned iters, const struct weft_lb *rr)
{
	struct weft_route_table *t = table_50();
	hs_scratch_t *s;
	struct req reqs[6];
	struct weft_lb_state st = {0};
	uint64_t v[ROUNDS];

	if (weft_route_scratch_alloc(t, &s) != 0)
		die("scratch", "out of memory");
	req_init(&reqs[0], "GET", "api.example.com", "/v1/exact/item3");            /* early, exact */
	req_init(&reqs[1], "GET", "api.example.com:443", "/v1/svc21/12345/detail"); /* a regex */
	req_init(&reqs[2], "POST", "API.example.net", "/v2/area47/orders?limit=10"); /* late prefix */
	req_init(&reqs[3], "GET", "api.example.com", "/v2/beta27/x");               /* header route */
	req_hdr(&reqs[3], "X-Canary", "1");
	req_init(&reqs[4], "GET", "api.example.com", "/nowhere/at/all");            /* no route */
	req_init(&reqs[5], "GET", "www.example.com", "/index.html");                /* wildcard vhost */

	for (int r = 0; r < ROUNDS; r++)
		v[r] = run_routes(t, s, reqs, 6, iters, NULL, NULL) / iters;
	printf("{\"bench\":\"http\",\"case\":\"route-50\",\"metric\":\"cycles_per_match\",\"unit\":\"cycles\","
	       "\"weft\":%llu,\"better\":\"lower\"}\n",
	       (unsigned long long)median(v, ROUNDS));
	for (int r = 0; r < ROUNDS; r++)
		v[r] = run_routes(t, s, reqs, 6, iters, rr, &st) / iters;
	printf("{\"bench\":\"http\",\"case\":\"route-and-pick\",\"metric\":\"cycles_per_request\",\"unit\":\"cycles\","
	       "\"weft\":%llu,\"better\":\"lower\"}\n",
	       (unsigned long long)median(v, ROUNDS));
	weft_route_scratch_free(s);
	weft_routes_free(t);
}

/* ------------------------------------------------------------------------ */
/* 10,000 regex routes                                                       */
/* ------------------------------------------------------------------------ */

static void bench_regex(unsigned n, unsigned iters)
{
	struct weft_route_cfg_route *routes = calloc(n, sizeof(*routes));
	char (*pats)[80] = calloc(n, sizeof(*pats));
	static const char *const any[] = {"*"};
	struct weft_route_table *t;
	hs_scratch_t *s;
	char err[WEFT_ROUTE_ERR_LEN];
	enum { NREQ = 64 };
	struct req *reqs = calloc(NREQ, sizeof(*reqs));
	uint64_t v[ROUNDS];
	double sec[ROUNDS];

	if (routes == NULL || pats == NULL || reqs == NULL)
		die("regex table", "out of memory");
	for (unsigned i = 0; i < n; i++) {
		/* Shapes seen in API gateways: a service, a version, an id, a sub-resource. */
		snprintf(pats[i], sizeof(pats[i]), "/svc%u/v[0-9]+/(users|orders|items)/[0-9a-f]+(/.*)?", i);
		routes[i] = (struct weft_route_cfg_route){
			.match = {.path_kind = WEFT_ROUTE_PATH_REGEX, .path = pats[i]},
			.action = WEFT_ROUTE_ACT_CLUSTER,
			.cluster = clusters[i % 4],
		};
	}
	struct weft_route_cfg_vhost vh = {.name = "gw", .domains = any, .n_domains = 1, .routes = routes, .n_routes = n};
	struct weft_route_cfg_model m = {.n_vhosts = 1, .vhosts = &vh, .n_clusters = 4, .clusters = clusters};
	double c0 = now_s();
	if (weft_routes_compile(&m, &t, err, sizeof(err)) != 0)
		die("compile regex routes", err);
	double compile = now_s() - c0;
	/* A reload that keeps the regexes: the database is copied, not recompiled. */
	struct weft_route_table *t2;
	m.previous = t;
	c0 = now_s();
	if (weft_routes_compile(&m, &t2, err, sizeof(err)) != 0)
		die("recompile regex routes", err);
	double reload = now_s() - c0;
	weft_routes_free(t);
	t = t2;
	if (weft_route_scratch_alloc(t, &s) != 0)
		die("scratch", "out of memory");

	/* Requests spread over the table up to its last route, then one miss. */
	for (unsigned i = 0; i < NREQ; i++) {
		char target[96];
		if (i == NREQ - 1)
			snprintf(target, sizeof(target), "/svc%u/vX/users/beef", n + 1);
		else if ((uint64_t)(i + 1) * n / (NREQ - 1) == 0)
			snprintf(target, sizeof(target), "/svc0/v2/orders/%04xbeef", i);
		else
			snprintf(target, sizeof(target), "/svc%u/v2/orders/%04xbeef/lines?x=1",
				 (unsigned)((uint64_t)(i + 1) * n / (NREQ - 1)) - 1, i);
		req_init(&reqs[i], "GET", "gw.example.com", target);
	}
	/* Sanity: every request but the miss finds its route. */
	for (unsigned i = 0; i < NREQ; i++) {
		struct weft_route_result res;
		int rc = weft_route_match(t, &reqs[i].v, s, &res);
		if (rc != (i == NREQ - 1 ? 0 : 1))
			die("regex table", "a request did not route as expected");
	}
	for (int r = 0; r < ROUNDS; r++) {
		double w0 = now_s();
		v[r] = run_routes(t, s, reqs, NREQ, iters, NULL, NULL) / iters;
		sec[r] = now_s() - w0;
	}
	qsort(sec, ROUNDS, sizeof(sec[0]), cmp_double);
	printf("{\"bench\":\"http\",\"case\":\"route-10k-regex\",\"metric\":\"matches_per_s\",\"unit\":\"1/s\","
	       "\"weft\":%.0f,\"regexes\":%u,\"better\":\"higher\"}\n",
	       iters / sec[ROUNDS / 2], n);
	printf("{\"bench\":\"http\",\"case\":\"route-10k-regex\",\"metric\":\"cycles_per_match\",\"unit\":\"cycles\","
	       "\"weft\":%llu,\"regexes\":%u,\"better\":\"lower\"}\n",
	       (unsigned long long)median(v, ROUNDS), n);
	printf("{\"bench\":\"http\",\"case\":\"route-10k-regex\",\"metric\":\"compile_s\",\"unit\":\"s\","
	       "\"weft\":%.2f,\"regexes\":%u,\"better\":\"lower\"}\n",
	       compile, n);
	printf("{\"bench\":\"http\",\"case\":\"route-10k-regex\",\"metric\":\"reload_s\",\"unit\":\"s\","
	       "\"weft\":%.3f,\"regexes\":%u,\"better\":\"lower\"}\n",
	       reload, n);
	weft_route_scratch_free(s);
	weft_routes_free(t);
	free(routes);
	free(pats);
	free(reqs);
}

/* ------------------------------------------------------------------------ */
/* Load balancers                                                            */
/* ------------------------------------------------------------------------ */

static struct weft_lb *lb_16(enum weft_lb_algo algo)
{
	struct weft_lb_endpoint_cfg eps[16];
	struct weft_lb *lb;
	char err[WEFT_LB_ERR_LEN];

	for (unsigned i = 0; i < 16; i++) {
		eps[i] = (struct weft_lb_endpoint_cfg){.port = 8080, .weight = 1 + i % 4, .healthy = true};
		eps[i].addr.af = 4;
		eps[i].addr.v4 = htonl((198u << 24) | (18u << 16) | (1u << 8) | (i + 1));
	}
	struct weft_lb_cfg cfg = {.cluster = "bench", .algo = algo, .n_endpoints = 16, .endpoints = eps};
	if (algo == WEFT_LB_ALGO_RING_HASH || algo == WEFT_LB_ALGO_MAGLEV) {
		cfg.key = WEFT_LB_KEY_COOKIE;
		cfg.key_name = "session";
	}
	if (weft_lb_build(&cfg, &lb, err, sizeof(err)) != 0)
		die("lb", err);
	return lb;
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* The resilience state of lb's 16 endpoints: 0 and 5 ejected, 9 and 12 failing health checks. */
static struct weft_cluster_rt *rt_16(const struct weft_lb *lb)
{
	static struct weft_config c;
	struct weft_cluster_cfg *cl = &c.clusters[0];

	memset(&c, 0, sizeof(c));
	snprintf(cl->name, sizeof(cl->name), "bench");
	weft_cluster_resilience_defaults(cl);
	cl->n_endpoints = 16;
	for (unsigned i = 0; i < 16; i++) {
		c.endpoints[i].addr = weft_lb_endpoint(lb, i)->addr;
		c.endpoints[i].port = weft_lb_endpoint(lb, i)->port;
	}
	struct weft_cluster_rt *rt = weft_cluster_rt_new(&c, cl, 1, NULL);
	if (rt == NULL)
		die("lb", "out of memory");
	for (int k = 0; k < 5; k++) {
		weft_outlier_report(rt, 0, 0, WEFT_OUT_GATEWAY);
		weft_outlier_report(rt, 0, 5, WEFT_OUT_GATEWAY);
	}
	weft_hc_set(rt, 9, false);
	weft_hc_set(rt, 12, false);
	weft_cluster_rt_tick(rt, 1000);
	if (weft_rt_view_get(rt)->n_usable != 12)
		die("lb", "resilience view: expected 12 usable endpoints");
	return rt;
}

static void bench_lb(unsigned iters)
{
	uint32_t active[16];
	uint64_t *rnd = malloc(4096 * sizeof(*rnd)), seed = 1, v[ROUNDS];
	struct weft_lb_state st = {0};

	if (rnd == NULL)
		die("lb", "out of memory");
	for (unsigned i = 0; i < 4096; i++)
		rnd[i] = splitmix(&seed);
	for (unsigned i = 0; i < 16; i++)
		active[i] = (uint32_t)(rnd[i] % 8);

	for (int a = WEFT_LB_ALGO_ROUND_ROBIN; a <= WEFT_LB_ALGO_MAGLEV; a++) {
		struct weft_lb *lb = lb_16((enum weft_lb_algo)a);
		struct weft_lb_ctx ctx = {.state = &st, .active = active, .has_hash = true};
		for (int r = 0; r < ROUNDS; r++) {
			uint64_t acc = 0, t0 = __rdtsc();
			for (unsigned i = 0; i < iters; i++) {
				/* The random value and the key hash vary per pick, as per request. */
				ctx.random = rnd[i & 4095];
				ctx.hash = rnd[(i + 7) & 4095];
				acc += (uint64_t)weft_lb_pick(lb, &ctx);
			}
			v[r] = (__rdtsc() - t0) / iters;
			sink = acc;
		}
		printf("{\"bench\":\"http\",\"case\":\"lb-pick-%s\",\"metric\":\"cycles_per_pick\",\"unit\":\"cycles\","
		       "\"weft\":%llu,\"endpoints\":16,\"table\":%zu,\"better\":\"lower\"}\n",
		       weft_lb_algo_name((enum weft_lb_algo)a), (unsigned long long)median(v, ROUNDS),
		       weft_lb_table_size(lb));
		/* With the resilience view: 4 endpoints out, avoid the previous attempt's. */
		struct weft_cluster_rt *rt = rt_16(lb);
		ctx.rt = rt;
		for (int r = 0; r < ROUNDS; r++) {
			uint64_t acc = 0, t0 = __rdtsc();
			for (unsigned i = 0; i < iters; i++) {
				ctx.random = rnd[i & 4095];
				ctx.hash = rnd[(i + 7) & 4095];
				ctx.avoid = (uint32_t)(rnd[(i + 13) & 4095] & 15);
				acc += (uint64_t)weft_lb_pick(lb, &ctx);
			}
			v[r] = (__rdtsc() - t0) / iters;
			sink = acc;
		}
		ctx.rt = NULL;
		printf("{\"bench\":\"http\",\"case\":\"lb-pick-%s-resilience\",\"metric\":\"cycles_per_pick\","
		       "\"unit\":\"cycles\",\"weft\":%llu,\"endpoints\":16,\"unusable\":4,\"better\":\"lower\"}\n",
		       weft_lb_algo_name((enum weft_lb_algo)a), (unsigned long long)median(v, ROUNDS));
		weft_cluster_rt_free(rt);
		if (a == WEFT_LB_ALGO_MAGLEV) {
			struct req rq;
			req_init(&rq, "GET", "api.example.com", "/");
			for (int r = 0; r < ROUNDS; r++) {
				uint64_t acc = 0, h, t0 = __rdtsc();
				for (unsigned i = 0; i < iters; i++) {
					if (weft_lb_request_hash(lb, &rq.v, NULL, &h))
						acc += h;
				}
				v[r] = (__rdtsc() - t0) / iters;
				sink = acc;
			}
			printf("{\"bench\":\"http\",\"case\":\"lb-key-cookie\",\"metric\":\"cycles_per_key\",\"unit\":\"cycles\","
			       "\"weft\":%llu,\"better\":\"lower\"}\n",
			       (unsigned long long)median(v, ROUNDS));
		}
		weft_lb_free(lb);
	}
	free(rnd);
}

int main(int argc, char **argv)
{
	unsigned iters = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 200000;
	unsigned nrx = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 10000;

	if (iters == 0)
		iters = 1;
	if (nrx == 0)
		nrx = 1;
	struct weft_lb *rr = lb_16(WEFT_LB_ALGO_ROUND_ROBIN);
	bench_50(iters, rr);
	weft_lb_free(rr);
	bench_lb(iters);
	bench_regex(nrx, iters / 4 ? iters / 4 : 1);
	return 0;
}
