/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The HTTP part of weft.yaml: route_configs, http listeners, the balancing
 * keys of clusters, and their compilation into a snapshot's tables. Every
 * refusal is checked on its full message, as an operator reads it.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy/config.h"
#include "policy/httpcfg.h"
#include "policy/lb.h"
#include "policy/route.h"

static struct weft_config cfg; /* large: off the stack */
static char err[WEFT_CFG_ERR_LEN];

static int parse(const char *yaml)
{
	return weft_config_parse(yaml, strlen(yaml), "weft.yaml", &cfg, err, sizeof(err));
}

static void check_ok(const char *yaml)
{
	if (parse(yaml) != 0)
		fail_msg("unexpected error: %s", err);
}

static void check_err(const char *yaml, const char *want)
{
	int rc = parse(yaml);
	if (rc != -1 || strcmp(err, want) != 0)
		fail_msg("\nwant: %s\n got: %s (rc %d)", want, err, rc);
}

/* Parses, then the compile step refuses with exactly this message. */
static void check_compile_err(const char *yaml, const char *want)
{
	struct weft_http_snap *s = NULL;

	check_ok(yaml);
	int rc = weft_http_compile(&cfg, NULL, 1, &s, err, sizeof(err));
	weft_http_snap_free(s);
	if (rc != -1 || strcmp(err, want) != 0)
		fail_msg("\nwant: %s\n got: %s (rc %d)", want, err, rc);
}

/* Lines 1-7: a port, two clusters. */
#define BASE                                                                                       \
	"ports:\n"                                                                                 \
	"  - {name: p0, driver: af_packet, iface: wp0, addresses: [198.18.0.1/24]}\n"              \
	"  - {name: p1, driver: af_packet, iface: wp1, addresses: [198.18.1.1/24]}\n"              \
	"clusters:\n"                                                                              \
	"  - {name: web, endpoints: [{address: 198.18.1.2, port: 8081}, {address: 198.18.1.3, port: 8082}]}\n" \
	"  - {name: api, lb_policy: maglev, hash_policy: {header: x-user}, endpoints: [{address: 198.18.1.2, port: 9000}]}\n" \
	"listeners:\n"

/* An http listener on line 8 naming route config "main". */
#define LISTENER "  - {name: h, kind: http, address: 198.18.0.1, port: 80, route_config: main}\n"

static void test_full(void **state)
{
	(void)state;
	check_ok(BASE LISTENER
		 "route_configs:\n"                                          /* 9 */
		 "  - name: main\n"                                          /* 10 */
		 "    virtual_hosts:\n"                                      /* 11 */
		 "      - name: api\n"                                       /* 12 */
		 "        domains: [api.example.com, \"*.api.example.com\"]\n" /* 13 */
		 "        routes:\n"                                         /* 14 */
		 "          - match: {path: /healthz}\n"                     /* 15 */
		 "            direct_response: {status: 200, body: \"ok\\n\"}\n"
		 "          - match:\n"
		 "              prefix: /v2/\n"
		 "              methods: [GET, HEAD]\n"
		 "              headers:\n"
		 "                - {name: x-canary, exact: \"1\"}\n"
		 "                - {name: x-debug, present: true}\n"
		 "              query:\n"
		 "                - {name: id, regex: \"[a-f0-9]{8}\", invert: true}\n"
		 "            route:\n"
		 "              weighted_clusters: [{name: web, weight: 90}, {name: api, weight: 10}]\n"
		 "              prefix_rewrite: /\n"
		 "              host_rewrite: users.internal\n"
		 "              timeout_ms: 1500\n"
		 "            request_headers_to_add: [{name: x-via, value: weft}]\n"
		 "            request_headers_to_set: [{name: x-env, value: prod}]\n"
		 "            request_headers_to_remove: [x-secret]\n"
		 "            response_headers_to_add: [{name: server, value: weft}]\n"
		 "          - match: {regex: \"/service/[^/]+/.*\"}\n"
		 "            route:\n"
		 "              cluster: web\n"
		 "              regex_rewrite: {pattern: \"^/service/([^/]+)(/.*)$\", substitution: \"\\\\2/instance/\\\\1\"}\n"
		 "          - match: {prefix: /old/}\n"
		 "            redirect: {scheme_redirect: https, host_redirect: new.example.com, port_redirect: 8443,\n"
		 "                       prefix_rewrite: /new/, response_code: 308}\n"
		 "      - name: web\n"
		 "        domains: [\"*\"]\n"
		 "        routes:\n"
		 "          - {match: {prefix: /}, route: {cluster: web}}\n");
	assert_int_equal(cfg.n_listeners, 1);
	assert_int_equal(cfg.listeners[0].kind, WEFT_LISTENER_HTTP);
	assert_int_equal(cfg.listeners[0].route_config, 0);
	assert_int_equal(cfg.listeners[0].request_timeout_ms, 15000);
	assert_int_equal(cfg.http.n_rc, 1);
	assert_string_equal(cfg.http.rc[0].name, "main");
	assert_int_equal(cfg.http.n_vhosts, 2);
	assert_int_equal(cfg.http.n_routes, 5);
	const struct weft_http_route_cfg *r = &cfg.http.routes[1];
	assert_int_equal(r->path_kind, WEFT_ROUTE_PATH_PREFIX);
	assert_string_equal(weft_cfg_s(&cfg.http, r->path), "/v2/");
	assert_int_equal(r->methods, WEFT_HTTP_M_GET | WEFT_HTTP_M_HEAD);
	assert_int_equal(r->headers.n, 2);
	assert_int_equal(r->query.n, 1);
	assert_true(cfg.http.kv[r->query.first].invert);
	assert_int_equal(r->action, WEFT_ROUTE_ACT_WEIGHTED);
	assert_int_equal(r->weighted.n, 2);
	assert_int_equal(cfg.http.weighted[r->weighted.first + 1].cluster, 1);
	assert_int_equal(r->timeout_ms, 1500);
	assert_int_equal(r->request_headers.remove.n, 1);
	assert_int_equal(cfg.clusters[1].lb, WEFT_LB_MAGLEV);
	assert_int_equal(cfg.clusters[1].hash_key, WEFT_HASH_HEADER);
	assert_string_equal(cfg.clusters[1].hash_name, "x-user");
	assert_int_equal(cfg.clusters[0].max_idle, 64);
	assert_int_equal(cfg.http.routes[3].redirect_status, 308);

	/* And it compiles: one table, a balancer per cluster, a scratch (there are regexes). */
	struct weft_http_snap *s = NULL;
	if (weft_http_compile(&cfg, NULL, 2, &s, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(s->n_rc, 1);
	assert_int_equal(weft_routes_route_count(s->rc[0]), 5);
	assert_int_equal(s->n_clusters, 2);
	assert_int_equal(weft_lb_algo_of(s->clusters[1].lb), WEFT_LB_ALGO_MAGLEV);
	assert_non_null(s->scratch[0]);
	assert_non_null(s->scratch[1]);
	assert_int_equal(s->listeners[0].rc, 0);

	/* A reload against it reuses the database and clones the scratches. */
	struct weft_http_snap *s2 = NULL;
	if (weft_http_compile(&cfg, s, 2, &s2, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(weft_routes_reused_count(s2->rc[0]), 1);
	assert_ptr_not_equal(s2->scratch[0], s->scratch[0]);
	weft_http_snap_free(s);
	weft_http_snap_free(s2);
}

static void test_inline_route_config(void **state)
{
	(void)state;
	check_ok(BASE "  - name: h\n"
		      "    kind: http\n"
		      "    address: 0.0.0.0\n"
		      "    port: 8080\n"
		      "    request_timeout_ms: 2500\n"
		      "    route_config:\n"
		      "      virtual_hosts:\n"
		      "        - {name: all, domains: [\"*\"], routes: [{match: {prefix: /}, route: {cluster: api}}]}\n");
	assert_int_equal(cfg.http.n_rc, 1);
	assert_string_equal(cfg.http.rc[0].name, "");
	assert_string_equal(cfg.http.rc[0].path, "listeners[0].route_config");
	assert_int_equal(cfg.listeners[0].request_timeout_ms, 2500);
}

static void test_listener_errors(void **state)
{
	(void)state;
	check_err(BASE "  - {name: h, kind: http, address: 198.18.0.1, port: 80}\n",
		  "weft.yaml:8: listeners[0].route_config: required key is missing (the name of a route config, or one "
		  "inline)");
	check_err(BASE "  - {name: h, kind: http, address: 198.18.0.1, port: 80, route_config: nope}\n",
		  "weft.yaml:8: listeners[0].route_config: no route config named \"nope\" in route_configs");
	check_err(BASE "  - {name: h, kind: tcp_proxy, address: 198.18.0.1, port: 80, cluster: web, route_config: x}\n",
		  "weft.yaml:8: listeners[0].route_config: only a listener of kind http takes this key");
	check_err(BASE "  - {name: h, kind: http, address: 198.18.0.1, port: 80, cluster: web, route_config: main}\n"
		       "route_configs:\n"
		       "  - {name: main, virtual_hosts: [{name: a, domains: [\"*\"], routes: []}]}\n",
		  "weft.yaml:8: listeners[0].cluster: an http listener routes by route_config; name clusters in its "
		  "routes");
	check_err(BASE "  - {name: h, kind: http, address: 198.18.0.1, port: 80, route_config: main, request_timeout_ms: 0}\n"
		       "route_configs:\n"
		       "  - {name: main, virtual_hosts: [{name: a, domains: [\"*\"], routes: []}]}\n",
		  "weft.yaml:8: listeners[0].request_timeout_ms: 0 is out of range (1..3600000)");
}

#define RC(routes)                                                                                 \
	BASE LISTENER "route_configs:\n"                                                           \
		      "  - name: main\n"                                                           \
		      "    virtual_hosts:\n"                                                       \
		      "      - name: v\n"                                                          \
		      "        domains: [\"*\"]\n"                                                 \
		      "        routes:\n" routes

static void test_route_errors(void **state)
{
	(void)state;
	/* Lines: route_configs 9, name 10, virtual_hosts 11, name 12, domains 13, routes 14, first route 15. */
	check_err(RC("          - {match: {prefix: /}}\n"),
		  "weft.yaml:15: route_configs[0].virtual_hosts[0].routes[0]: one of route, redirect and direct_response "
		  "is required");
	check_err(RC("          - {match: {prefix: /}, route: {cluster: web}, direct_response: {status: 200}}\n"),
		  "weft.yaml:15: route_configs[0].virtual_hosts[0].routes[0].direct_response: give one of route, redirect "
		  "and direct_response, not route and direct_response");
	check_err(RC("          - {match: {prefix: /, path: /a}, route: {cluster: web}}\n"),
		  "weft.yaml:15: route_configs[0].virtual_hosts[0].routes[0].match.prefix: give one of path, prefix and "
		  "regex, not path and prefix");
	check_err(RC("          - {match: {prefix: a}, route: {cluster: web}}\n"),
		  "weft.yaml:15: route_configs[0].virtual_hosts[0].routes[0].match.prefix: \"a\" must start with /");
	check_err(RC("          - {match: {prefix: /}, route: {cluster: nope}}\n"),
		  "weft.yaml:15: route_configs[0].virtual_hosts[0].routes[0].route.cluster: no cluster named \"nope\"");
	check_err(RC("          - {match: {prefix: /, methods: [FETCH]}, route: {cluster: web}}\n"),
		  "weft.yaml:15: route_configs[0].virtual_hosts[0].routes[0].match.methods[0]: unknown method \"FETCH\" "
		  "(GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH)");
	check_err(RC("          - {match: {prefix: /, headers: [{name: x}]}, route: {cluster: web}}\n"),
		  "weft.yaml:15: route_configs[0].virtual_hosts[0].routes[0].match.headers[0]: one of exact, regex, "
		  "present and absent is required");
	check_err(RC("          - {match: {prefix: /, headers: [{name: \"a b\", exact: x}]}, route: {cluster: web}}\n"),
		  "weft.yaml:15: route_configs[0].virtual_hosts[0].routes[0].match.headers[0].name: \"a b\" is not a "
		  "header name (an RFC 9110 token)");
	check_err(RC("          - {match: {prefix: /}, route: {weighted_clusters: [{name: web, weight: 0}]}}\n"),
		  "weft.yaml:15: route_configs[0].virtual_hosts[0].routes[0].route.weighted_clusters: the weights add up "
		  "to 0: no cluster could ever be picked");
	check_err(RC("          - {match: {prefix: /}, redirect: {response_code: 304}}\n"),
		  "weft.yaml:15: route_configs[0].virtual_hosts[0].routes[0].redirect.response_code: 304 is not a "
		  "redirect status (301, 302, 303, 307 or 308)");
	check_err(RC("          - {match: {prefix: /}, direct_response: {status: 100}}\n"),
		  "weft.yaml:15: route_configs[0].virtual_hosts[0].routes[0].direct_response.status: 100 is out of range "
		  "(200..599)");
	check_err(RC("          - {match: {prefix: /}, route: {cluster: web}, request_headers_to_add: [{name: a, "
		     "value: \"x\\ny\"}]}\n"),
		  "weft.yaml:15: route_configs[0].virtual_hosts[0].routes[0].request_headers_to_add[0].value: a header "
		  "value must not contain CR or LF");
	check_err(RC("          - {match: {prefix: /}, route: {cluster: web}, bogus: 1}\n"),
		  "weft.yaml:15: route_configs[0].virtual_hosts[0].routes[0].bogus: unknown key");
	check_err(RC("          - {match: {prefix: /}, route: {cluster: web, prefix_rewrit: /}}\n"),
		  "weft.yaml:15: route_configs[0].virtual_hosts[0].routes[0].route.prefix_rewrit: unknown key (did you "
		  "mean \"prefix_rewrite\"?)");
}

static void test_compile_errors(void **state)
{
	(void)state;
	check_compile_err(RC("          - {match: {regex: \"/a(\"}, route: {cluster: web}}\n"),
			  "weft.yaml:15: route_configs[0].virtual_hosts[0].routes[0].match.regex: Missing close "
			  "parenthesis for group started at index 2.");
	check_compile_err(RC("          - {match: {regex: \"/a\"}, route: {cluster: web, prefix_rewrite: /b}}\n"),
			  "weft.yaml:15: route_configs[0].virtual_hosts[0].routes[0].route.prefix_rewrite: needs a "
			  "prefix or path match");
	check_ok(BASE LISTENER "route_configs:\n"
			       "  - name: main\n"
			       "    virtual_hosts:\n"
			       "      - {name: a, domains: [\"*\"], routes: []}\n"
			       "      - {name: b, domains: [\"*\"], routes: []}\n");
	struct weft_http_snap *s = NULL;
	assert_int_equal(weft_http_compile(&cfg, NULL, 1, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "weft.yaml:13: route_configs[0].virtual_hosts[1]"));
}

static void test_cluster_keys(void **state)
{
	(void)state;
	check_ok("ports: [{name: p0, driver: af_packet, iface: wp0, addresses: [198.18.0.1/24]}]\n"
		 "clusters:\n"
		 "  - name: a\n"
		 "    lb_policy: ring_hash\n"
		 "    hash_policy: {cookie: session}\n"
		 "    ring_hash: {minimum_ring_size: 2048, maximum_ring_size: 65536}\n"
		 "    max_idle_connections: 8\n"
		 "    idle_timeout_ms: 5000\n"
		 "    endpoints: [{address: 198.18.0.2, port: 1, locality: eu-west/a}]\n"
		 "  - {name: b, lb_policy: least_request, least_request: {choice_count: 3}, endpoints: [{address: "
		 "198.18.0.2, port: 2}]}\n"
		 "  - {name: c, lb_policy: maglev, maglev: {table_size: 251}, hash_policy: {source_ip: true}, endpoints: "
		 "[{address: 198.18.0.2, port: 3}]}\n");
	assert_int_equal(cfg.clusters[0].lb, WEFT_LB_RING_HASH);
	assert_int_equal(cfg.clusters[0].hash_key, WEFT_HASH_COOKIE);
	assert_string_equal(cfg.clusters[0].hash_name, "session");
	assert_int_equal(cfg.clusters[0].ring_min, 2048);
	assert_int_equal(cfg.clusters[0].ring_max, 65536);
	assert_int_equal(cfg.clusters[0].max_idle, 8);
	assert_int_equal(cfg.clusters[0].pool_idle_timeout_ms, 5000);
	assert_string_equal(weft_cfg_s(&cfg.http, cfg.endpoints[0].locality), "eu-west/a");
	assert_int_equal(cfg.clusters[1].choice_count, 3);
	assert_int_equal(cfg.clusters[2].maglev_size, 251);
	assert_int_equal(cfg.clusters[2].hash_key, WEFT_HASH_SOURCE_IP);

#define CL1 "ports: [{name: p0, driver: af_packet, iface: wp0, addresses: [198.18.0.1/24]}]\nclusters:\n"
	check_err(CL1 "  - {name: a, hash_policy: {header: x}, endpoints: [{address: 198.18.0.2, port: 1}]}\n",
		  "weft.yaml:3: clusters[0].hash_policy: only lb_policy ring_hash and maglev use a key");
	check_err(CL1 "  - {name: a, lb_policy: maglev, maglev: {table_size: 100}, endpoints: [{address: 198.18.0.2, "
		      "port: 1}]}\n",
		  "weft.yaml:3: clusters[0].maglev.table_size: 100 is not a prime (65537 is the default)");
	check_err(CL1 "  - {name: a, lb_policy: maglev, hash_policy: {header: x, cookie: y}, endpoints: [{address: "
		      "198.18.0.2, port: 1}]}\n",
		  "weft.yaml:3: clusters[0].hash_policy.cookie: give one of header, cookie and source_ip, not header "
		  "and cookie");
	check_err(CL1 "  - {name: a, ring_hash: {minimum_ring_size: 8}, endpoints: [{address: 198.18.0.2, port: 1}]}\n",
		  "weft.yaml:3: clusters[0].ring_hash: only lb_policy ring_hash reads this");
	check_err(CL1 "  - {name: a, endpoints: [{address: 198.18.0.2, port: 1, locality: \"a b\"}]}\n",
		  "weft.yaml:3: clusters[0].endpoints[0].locality: \"a b\" is not a locality (1-127 characters of A-Z "
		  "a-z 0-9 _ - . /)");
}

static void test_limits(void **state)
{
	(void)state;
	/* A direct response body over 4 KiB. */
	size_t n = 5000;
	char *big = malloc(n + 1), *doc = malloc(n + 1024);
	assert_non_null(big);
	assert_non_null(doc);
	memset(big, 'a', n);
	big[n] = '\0';
	snprintf(doc, n + 1024, RC("          - {match: {prefix: /}, direct_response: {status: 200, body: %s}}\n"), big);
	check_err(doc, "weft.yaml:15: route_configs[0].virtual_hosts[0].routes[0].direct_response.body: too long (5000 "
		       "bytes, max 4096)");
	free(big);
	free(doc);
}

/* Where docs/ is: WEFT_SOURCE_ROOT, else from this file's path as compiled. */
static void example_path(char *out, size_t len, const char *name)
{
	const char *root = getenv("WEFT_SOURCE_ROOT");
	char dir[PATH_MAX];

	if (root != NULL) {
		snprintf(out, len, "%s/docs/%s", root, name);
		return;
	}
	snprintf(dir, sizeof(dir), "%s", __FILE__);
	char *slash = strrchr(dir, '/');
	if (slash != NULL)
		*slash = '\0';
	snprintf(out, len, "%s/../../docs/%s", dir, name);
}

static void test_example_files(void **state)
{
	static const char *const files[] = {"weft.example.yaml", "weft.http.example.yaml"};
	char path[2 * PATH_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct weft_http_snap *s = NULL;
		example_path(path, sizeof(path), files[i]);
		if (weft_config_load(path, &cfg, err, sizeof(err)) != 0)
			fail_msg("%s", err);
		if (weft_http_compile(&cfg, NULL, cfg.eal.n_workers, &s, err, sizeof(err)) != 0)
			fail_msg("%s", err);
		assert_true(s->n_rc >= 1);
		weft_http_snap_free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_inline_route_config),
		cmocka_unit_test(test_listener_errors),
		cmocka_unit_test(test_route_errors),
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_cluster_keys),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_example_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
