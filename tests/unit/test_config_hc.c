/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A cluster's health_check block (policy/config_hc.c): defaults, every key,
 * and every refusal on its full "FILE:LINE: key.path: reason" message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "policy/config.h"

static struct weft_config cfg; /* large: off the stack */
static char err[WEFT_CFG_ERR_LEN];
static char doc[4096];

/* Lines 1-4: a port and a cluster "web" whose health_check (line 5 on) is the argument. */
static const char *with_hc(const char *hc)
{
	snprintf(doc, sizeof(doc),
		 "ports:\n"
		 "  - {name: p0, driver: af_packet, iface: wp0, addresses: [198.18.0.1/24]}\n"
		 "clusters:\n"
		 "  - name: web\n"
		 "    endpoints: [{address: 198.18.0.2, port: 8081}, {address: 198.18.0.3, port: 8082}]\n"
		 "%s",
		 hc);
	return doc;
}

static int parse(const char *yaml)
{
	return weft_config_parse(yaml, strlen(yaml), "weft.yaml", &cfg, err, sizeof(err));
}

static const struct weft_health_check_cfg *check_ok(const char *hc)
{
	if (parse(with_hc(hc)) != 0)
		fail_msg("unexpected error: %s", err);
	assert_int_equal(cfg.n_clusters, 1);
	return &cfg.clusters[0].hc;
}

static void check_err(const char *hc, const char *want)
{
	int rc = parse(with_hc(hc));
	if (rc != -1 || strcmp(err, want) != 0)
		fail_msg("\nwant: %s\n got: %s (rc %d)", want, err, rc);
}

static void test_absent(void **state)
{
	(void)state;
	const struct weft_health_check_cfg *hc = check_ok("");
	assert_int_equal(hc->kind, WEFT_HC_NONE);
}

static void test_defaults_tcp(void **state)
{
	(void)state;
	const struct weft_health_check_cfg *hc = check_ok("    health_check: {}\n");
	assert_int_equal(hc->kind, WEFT_HC_TCP);
	assert_int_equal(hc->interval_ms, 5000);
	assert_int_equal(hc->jitter_ms, 500);
	assert_int_equal(hc->timeout_ms, 1000);
	assert_int_equal(hc->healthy_threshold, 2);
	assert_int_equal(hc->unhealthy_threshold, 3);
	assert_int_equal(hc->line, 6);

	hc = check_ok("    health_check: {kind: tcp}\n");
	assert_int_equal(hc->kind, WEFT_HC_TCP);
}

static void test_defaults_http(void **state)
{
	(void)state;
	const struct weft_health_check_cfg *hc = check_ok("    health_check: {kind: http}\n");
	assert_int_equal(hc->kind, WEFT_HC_HTTP);
	assert_string_equal(hc->path, "/healthz");
	assert_string_equal(hc->host, "web"); /* the cluster name */
	assert_int_equal(hc->n_status, 1);
	assert_int_equal(hc->status_lo[0], 200);
	assert_int_equal(hc->status_hi[0], 399);

	hc = check_ok("    health_check: {kind: http, host: \"\"}\n");
	assert_string_equal(hc->host, "web");
}

static void test_every_key(void **state)
{
	(void)state;
	const struct weft_health_check_cfg *hc = check_ok(
		"    health_check:\n"
		"      kind: http\n"
		"      path: /status?full=1\n"
		"      host: web.example.com:8080\n"
		"      expected_statuses: [200, \"204\", \"300-302\", 418]\n"
		"      interval_ms: 250\n"
		"      jitter_ms: 0\n"
		"      timeout_ms: 100\n"
		"      healthy_threshold: 1\n"
		"      unhealthy_threshold: 100\n");
	assert_int_equal(hc->kind, WEFT_HC_HTTP);
	assert_string_equal(hc->path, "/status?full=1");
	assert_string_equal(hc->host, "web.example.com:8080");
	assert_int_equal(hc->n_status, 4);
	assert_int_equal(hc->status_lo[0], 200);
	assert_int_equal(hc->status_hi[0], 200);
	assert_int_equal(hc->status_lo[1], 204);
	assert_int_equal(hc->status_hi[1], 204);
	assert_int_equal(hc->status_lo[2], 300);
	assert_int_equal(hc->status_hi[2], 302);
	assert_int_equal(hc->status_lo[3], 418);
	assert_int_equal(hc->interval_ms, 250);
	assert_int_equal(hc->jitter_ms, 0);
	assert_int_equal(hc->timeout_ms, 100);
	assert_int_equal(hc->healthy_threshold, 1);
	assert_int_equal(hc->unhealthy_threshold, 100);

	/* Limits are inclusive. */
	hc = check_ok("    health_check: {interval_ms: 100, timeout_ms: 3600000, jitter_ms: 3600000}\n");
	assert_int_equal(hc->interval_ms, 100);
	assert_int_equal(hc->timeout_ms, 3600000);
	hc = check_ok("    health_check: {kind: http, expected_statuses: [\"100-599\"], host: \"[2001:db8::1]:80\"}\n");
	assert_int_equal(hc->status_lo[0], 100);
	assert_int_equal(hc->status_hi[0], 599);
	assert_string_equal(hc->host, "[2001:db8::1]:80");
}

/* Every cluster has its own block; one without keeps none. */
static void test_two_clusters(void **state)
{
	(void)state;
	const char *y = "ports:\n"
			"  - {name: p0, driver: af_packet, iface: wp0, addresses: [198.18.0.1/24]}\n"
			"clusters:\n"
			"  - {name: a, endpoints: [{address: 198.18.0.2, port: 1}], health_check: {kind: http}}\n"
			"  - {name: b, endpoints: [{address: 198.18.0.2, port: 2}]}\n"
			"  - {name: c, endpoints: [{address: 198.18.0.2, port: 3}], health_check: {interval_ms: 1000}}\n";
	if (parse(y) != 0)
		fail_msg("unexpected error: %s", err);
	assert_int_equal(cfg.clusters[0].hc.kind, WEFT_HC_HTTP);
	assert_string_equal(cfg.clusters[0].hc.host, "a");
	assert_int_equal(cfg.clusters[1].hc.kind, WEFT_HC_NONE);
	assert_int_equal(cfg.clusters[2].hc.kind, WEFT_HC_TCP);
	assert_int_equal(cfg.clusters[2].hc.interval_ms, 1000);
}

static void test_refusals(void **state)
{
	(void)state;
	check_err("    health_check: tcp\n",
		  "weft.yaml:6: clusters[0].health_check: expected a mapping (kind, interval_ms, ...); leave the key out "
		  "for no checks");
	check_err("    health_check:\n",
		  "weft.yaml:6: clusters[0].health_check: expected a mapping (kind, interval_ms, ...); leave the key out "
		  "for no checks");
	check_err("    health_check: {kind: grpc}\n",
		  "weft.yaml:6: clusters[0].health_check.kind: unknown kind \"grpc\" (expected tcp or http)");
	check_err("    health_check:\n"
		  "      kind: tcp\n"
		  "      path: /healthz\n",
		  "weft.yaml:8: clusters[0].health_check.path: only kind http uses path");
	check_err("    health_check: {host: a}\n",
		  "weft.yaml:6: clusters[0].health_check.host: only kind http uses host");
	check_err("    health_check: {expected_statuses: [200]}\n",
		  "weft.yaml:6: clusters[0].health_check.expected_statuses: only kind http uses expected_statuses");
	check_err("    health_check: {kind: http, path: healthz}\n",
		  "weft.yaml:6: clusters[0].health_check.path: \"healthz\" does not start with /");
	check_err("    health_check: {kind: http, path: \"/a b\"}\n",
		  "weft.yaml:6: clusters[0].health_check.path: \"/a b\" has a space, control, non-ASCII or # character "
		  "(write it %-encoded)");
	check_err("    health_check: {kind: http, path: \"/a#b\"}\n",
		  "weft.yaml:6: clusters[0].health_check.path: \"/a#b\" has a space, control, non-ASCII or # character "
		  "(write it %-encoded)");
	check_err("    health_check: {kind: http, path: [a]}\n",
		  "weft.yaml:6: clusters[0].health_check.path: expected a path starting with /");
	check_err("    health_check: {kind: http, host: \"a b\"}\n",
		  "weft.yaml:6: clusters[0].health_check.host: \"a b\" is not a host name, address or [IPv6]:port");
	check_err("    health_check: {kind: http, expected_statuses: []}\n",
		  "weft.yaml:6: clusters[0].health_check.expected_statuses: at least one status code or range is required");
	check_err("    health_check: {kind: http, expected_statuses: 200}\n",
		  "weft.yaml:6: clusters[0].health_check.expected_statuses: expected a sequence of status codes or ranges, "
		  "e.g. [200, \"300-399\"]");
	check_err("    health_check:\n"
		  "      kind: http\n"
		  "      expected_statuses:\n"
		  "        - 200\n"
		  "        - 2xx\n",
		  "weft.yaml:10: clusters[0].health_check.expected_statuses[1]: \"2xx\": expected a status code (200) or a "
		  "range (\"200-299\")");
	check_err("    health_check: {kind: http, expected_statuses: [\"200-\"]}\n",
		  "weft.yaml:6: clusters[0].health_check.expected_statuses[0]: \"200-\": expected a status code (200) or a "
		  "range (\"200-299\")");
	check_err("    health_check: {kind: http, expected_statuses: [600]}\n",
		  "weft.yaml:6: clusters[0].health_check.expected_statuses[0]: \"600\": status codes are 100..599");
	check_err("    health_check: {kind: http, expected_statuses: [\"99-200\"]}\n",
		  "weft.yaml:6: clusters[0].health_check.expected_statuses[0]: \"99-200\": status codes are 100..599");
	check_err("    health_check: {kind: http, expected_statuses: [\"2000\"]}\n",
		  "weft.yaml:6: clusters[0].health_check.expected_statuses[0]: \"2000\": status codes are 100..599");
	check_err("    health_check: {kind: http, expected_statuses: [\"300-200\"]}\n",
		  "weft.yaml:6: clusters[0].health_check.expected_statuses[0]: \"300-200\": the range ends before it starts");
	check_err("    health_check: {kind: http, expected_statuses: [[200]]}\n",
		  "weft.yaml:6: clusters[0].health_check.expected_statuses[0]: expected a status code (200) or a range "
		  "(\"200-299\")");
	check_err("    health_check: {kind: http, expected_statuses: [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]}\n",
		  "weft.yaml:6: clusters[0].health_check.expected_statuses: too many entries (17, max 16)");
	check_err("    health_check: {interval_ms: 99}\n",
		  "weft.yaml:6: clusters[0].health_check.interval_ms: 99 is out of range (100..3600000)");
	check_err("    health_check: {interval_ms: 3600001}\n",
		  "weft.yaml:6: clusters[0].health_check.interval_ms: 3600001 is out of range (100..3600000)");
	check_err("    health_check: {jitter_ms: -1}\n",
		  "weft.yaml:6: clusters[0].health_check.jitter_ms: expected a non-negative integer, got \"-1\"");
	check_err("    health_check: {timeout_ms: 0}\n",
		  "weft.yaml:6: clusters[0].health_check.timeout_ms: 0 is out of range (1..3600000)");
	check_err("    health_check: {healthy_threshold: 0}\n",
		  "weft.yaml:6: clusters[0].health_check.healthy_threshold: 0 is out of range (1..100)");
	check_err("    health_check: {unhealthy_threshold: 101}\n",
		  "weft.yaml:6: clusters[0].health_check.unhealthy_threshold: 101 is out of range (1..100)");
	check_err("    health_check: {intervall_ms: 100}\n",
		  "weft.yaml:6: clusters[0].health_check.intervall_ms: unknown key (did you mean \"interval_ms\"?)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_absent),     cmocka_unit_test(test_defaults_tcp), cmocka_unit_test(test_defaults_http),
		cmocka_unit_test(test_every_key),  cmocka_unit_test(test_two_clusters), cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
