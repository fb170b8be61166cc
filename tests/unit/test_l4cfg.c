/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The L4 table compiler, listener lookup, stats slots across reloads and
 * the smooth weighted round robin. Tables come from YAML through the real
 * loader, so what is tested is what an operator writes. Last, how the
 * stats renderers show the TCP stack and tcp_proxy sessions per listener.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/counters.h"
#include "policy/buf.h"
#include "policy/config.h"
#include "policy/l4cfg.h"
#include "policy/stats.h"

static struct weft_config cfg;      /* large: off the stack */
static struct weft_l4_table tab, prev;
static char err[WEFT_CFG_ERR_LEN];

#define PORTS                                                                                      \
	"eal: {worker_cpus: [1, 2, 3]}\n"                                                          \
	"ports:\n"                                                                                 \
	"  - {name: p0, driver: ring, addresses: [198.18.0.1/24, 198.18.0.9/24, \"2001:db8::1/64\"]}\n" \
	"  - {name: p1, driver: ring, addresses: [198.18.1.1/24, \"2001:db8:1::1/64\"]}\n"

#define CLUSTERS                                                                                   \
	"clusters:\n"                                                                              \
	"  - {name: one, endpoints: [{address: 198.18.1.2, port: 5001}]}\n"                        \
	"  - name: three\n"                                                                        \
	"    endpoints:\n"                                                                         \
	"      - {address: 198.18.1.2, port: 80, weight: 1}\n"                                     \
	"      - {address: 198.18.1.3, port: 80, weight: 2}\n"                                     \
	"      - {address: \"2001:db8:1::4\", port: 80, weight: 3}\n"

static void compile(struct weft_l4_table *t, const char *yaml)
{
	if (weft_config_parse(yaml, strlen(yaml), "weft.yaml", &cfg, err, sizeof(err)) != 0)
		fail_msg("config: %s", err);
	if (weft_l4_compile(&cfg, t, err, sizeof(err)) != 0)
		fail_msg("compile: %s", err);
}

static struct weft_ip ip(const char *s)
{
	struct weft_ip a = {0};

	assert_int_equal(weft_ip_parse(s, &a), 0);
	return a;
}

static const char *lookup(const char *addr, uint16_t port)
{
	struct weft_ip a = ip(addr);
	const struct weft_l4_listener *l = weft_l4_lookup(&tab, &a, port);
	return l != NULL ? l->name : "-";
}

static void test_compile(void **state)
{
	(void)state;
	compile(&tab, PORTS CLUSTERS
		"listeners:\n"
		"  - {name: a, kind: tcp_proxy, address: 198.18.0.1, port: 5000, cluster: three,\n"
		"     connect_timeout_ms: 250, idle_timeout_ms: 0, max_connections: 10}\n"
		"  - {name: b, kind: tcp_proxy, address: \"::\", port: 5000, cluster: one}\n");
	assert_int_equal(tab.n_clusters, 2);
	assert_int_equal(tab.n_endpoints, 4);
	assert_string_equal(tab.clusters[1].name, "three");
	assert_int_equal(tab.clusters[1].first, 1);
	assert_int_equal(tab.clusters[1].n, 3);
	assert_int_equal(tab.clusters[1].total_weight, 6);
	assert_int_equal(tab.clusters[0].total_weight, 1);
	assert_int_equal(tab.endpoints[3].addr.af, 6);
	assert_int_equal(tab.endpoints[3].port, 80);
	assert_int_equal(tab.endpoints[3].weight, 3);

	assert_int_equal(tab.n_listeners, 2);
	const struct weft_l4_listener *a = &tab.listeners[0];
	assert_string_equal(a->name, "a");
	assert_int_equal(a->kind, WEFT_LISTENER_TCP_PROXY);
	assert_int_equal(a->cluster, 1);
	assert_int_equal(a->connect_timeout_ms, 250);
	assert_int_equal(a->idle_timeout_ms, 0);
	/* 10 over three workers: each admits 4 (rounded up). */
	assert_int_equal(a->max_per_worker, 4);
	assert_int_equal(a->slot, 0);
	assert_true(tab.listeners[1].any);
	assert_int_equal(tab.listeners[1].max_per_worker, 33334);
	assert_int_equal(tab.listeners[1].slot, 1);
	assert_string_equal(tab.slot_name[0], "a");
	assert_string_equal(tab.slot_name[1], "b");
	assert_string_equal(tab.slot_name[2], "");
	assert_int_equal(tab.port_of[0], 5000);
}

static void test_compile_empty(void **state)
{
	(void)state;
	compile(&tab, PORTS);
	assert_int_equal(tab.n_listeners, 0);
	assert_int_equal(tab.n_clusters, 0);
	assert_string_equal(lookup("198.18.0.1", 5000), "-");
}

static void test_compile_refuses_unvalidated(void **state)
{
	(void)state;
	compile(&tab, PORTS CLUSTERS);
	cfg.clusters[0].n_endpoints = 0;
	assert_int_equal(weft_l4_compile(&cfg, &tab, err, sizeof(err)), -1);
	assert_string_equal(err, "l4: cluster one has no endpoints");
	compile(&tab, PORTS CLUSTERS "listeners: [{name: a, kind: tcp_proxy, address: 198.18.0.1, port: 1, cluster: one}]\n");
	cfg.listeners[0].cluster_idx = 7;
	assert_int_equal(weft_l4_compile(&cfg, &tab, err, sizeof(err)), -1);
	assert_string_equal(err, "l4: listener a names no cluster");
}

static void test_lookup(void **state)
{
	(void)state;
	compile(&tab, PORTS CLUSTERS
		"listeners:\n"
		"  - {name: any4, kind: tcp_proxy, address: 0.0.0.0, port: 80, cluster: one}\n"
		"  - {name: exact4, kind: tcp_proxy, address: 198.18.0.9, port: 80, cluster: one}\n"
		"  - {name: any6, kind: tcp_proxy, address: \"::\", port: 80, cluster: one}\n"
		"  - {name: exact6, kind: tcp_proxy, address: \"2001:db8:1::1\", port: 443, cluster: one}\n"
		"  - {name: only, kind: tcp_proxy, address: 198.18.1.1, port: 5000, cluster: one}\n");
	/* The specific address wins whatever the order in the file. */
	assert_string_equal(lookup("198.18.0.9", 80), "exact4");
	assert_string_equal(lookup("198.18.0.1", 80), "any4");
	assert_string_equal(lookup("198.18.1.1", 80), "any4");
	/* A wildcard covers its own family only. */
	assert_string_equal(lookup("2001:db8::1", 80), "any6");
	assert_string_equal(lookup("2001:db8:1::1", 443), "exact6");
	assert_string_equal(lookup("2001:db8::1", 443), "-");
	assert_string_equal(lookup("198.18.1.1", 443), "-");
	assert_string_equal(lookup("198.18.1.1", 5000), "only");
	assert_string_equal(lookup("198.18.0.1", 5000), "-");
	assert_string_equal(lookup("198.18.0.1", 81), "-");
	assert_non_null(weft_l4_listener_by_name(&tab, "exact6"));
	assert_null(weft_l4_listener_by_name(&tab, "nope"));
}

#define LST(name, port) "  - {name: " #name ", kind: tcp_proxy, address: 198.18.0.1, port: " #port ", cluster: one}\n"

static void test_slots_across_reloads(void **state)
{
	(void)state;
	compile(&prev, PORTS CLUSTERS "listeners:\n" LST(a, 1) LST(b, 2) LST(c, 3));
	/* b goes, d comes, a and c swap places in the file. */
	compile(&tab, PORTS CLUSTERS "listeners:\n" LST(c, 3) LST(d, 4) LST(a, 1));
	weft_l4_inherit_slots(&tab, &prev);
	assert_int_equal(weft_l4_listener_by_name(&tab, "a")->slot, 0);
	assert_int_equal(weft_l4_listener_by_name(&tab, "c")->slot, 2);
	/* d takes a never-used slot, not b's: b's sessions may still be counted there. */
	assert_int_equal(weft_l4_listener_by_name(&tab, "d")->slot, 3);
	assert_string_equal(tab.slot_name[1], "b");
	assert_string_equal(tab.slot_name[3], "d");

	/* A null previous table keeps the compiled slots. */
	compile(&tab, PORTS CLUSTERS "listeners:\n" LST(c, 3) LST(d, 4));
	weft_l4_inherit_slots(&tab, NULL);
	assert_int_equal(tab.listeners[1].slot, 1);
}

static void test_slots_reuse_when_full(void **state)
{
	char *yaml = malloc(64 * 1024);
	size_t n;

	(void)state;
	assert_non_null(yaml);
	/* Every slot has been used once; a new name must take a retired slot. */
	n = (size_t)snprintf(yaml, 64 * 1024, "%s", PORTS CLUSTERS "listeners:\n");
	for (int i = 0; i < WEFT_L4_SLOTS; i++)
		n += (size_t)snprintf(yaml + n, 64 * 1024 - n,
				      "  - {name: l%d, kind: tcp_proxy, address: 198.18.0.1, port: %d, cluster: one}\n",
				      i, 1000 + i);
	compile(&prev, yaml);
	compile(&tab, PORTS CLUSTERS "listeners:\n" LST(l7, 1007) LST(fresh, 9) LST(l63, 1063));
	weft_l4_inherit_slots(&tab, &prev);
	assert_int_equal(weft_l4_listener_by_name(&tab, "l7")->slot, 7);
	assert_int_equal(weft_l4_listener_by_name(&tab, "l63")->slot, 63);
	assert_int_equal(weft_l4_listener_by_name(&tab, "fresh")->slot, 0);
	assert_string_equal(tab.slot_name[0], "fresh");
	assert_string_equal(tab.slot_name[1], "l1");
	/* Slots stay unique. */
	for (unsigned i = 0; i < tab.n_listeners; i++)
		for (unsigned j = i + 1; j < tab.n_listeners; j++)
			assert_int_not_equal(tab.listeners[i].slot, tab.listeners[j].slot);
	free(yaml);
}

static void test_pick_weights(void **state)
{
	int32_t cur[WEFT_L4_MAX_ENDPOINTS] = {0};
	unsigned count[WEFT_L4_MAX_ENDPOINTS] = {0};

	(void)state;
	compile(&tab, PORTS CLUSTERS);
	const struct weft_l4_cluster *c = &tab.clusters[1];
	/* Every window of total_weight picks holds each endpoint exactly weight times. */
	for (int round = 0; round < 100; round++) {
		unsigned in_round[WEFT_L4_MAX_ENDPOINTS] = {0};
		for (uint32_t i = 0; i < c->total_weight; i++) {
			uint32_t e = weft_l4_pick(&tab, c, cur);
			assert_true(e >= c->first && e < c->first + c->n);
			in_round[e]++;
			count[e]++;
		}
		for (uint32_t e = c->first; e < c->first + c->n; e++)
			assert_int_equal(in_round[e], tab.endpoints[e].weight);
	}
	assert_int_equal(count[1], 100);
	assert_int_equal(count[2], 200);
	assert_int_equal(count[3], 300);
	/* A single endpoint is always the one. */
	assert_int_equal(weft_l4_pick(&tab, &tab.clusters[0], cur), 0);
}

static void test_pick_smooth(void **state)
{
	int32_t cur[WEFT_L4_MAX_ENDPOINTS] = {0};
	char seq[16] = {0};

	(void)state;
	compile(&tab, PORTS "clusters:\n"
			    "  - name: c\n"
			    "    endpoints:\n"
			    "      - {address: 198.18.1.2, port: 1, weight: 5}\n"
			    "      - {address: 198.18.1.3, port: 1}\n"
			    "      - {address: 198.18.1.4, port: 1}\n");
	/* nginx's example: weights 5, 1, 1 give a a b a c a a, never five a in a row. */
	for (int i = 0; i < 7; i++)
		seq[i] = (char)('a' + weft_l4_pick(&tab, &tab.clusters[0], cur));
	assert_string_equal(seq, "aabacaa");

	/* Equal weights: plain rotation. */
	memset(cur, 0, sizeof(cur));
	compile(&tab, PORTS "clusters:\n"
			    "  - name: c\n"
			    "    endpoints: [{address: 198.18.1.2, port: 1}, {address: 198.18.1.3, port: 1},\n"
			    "                {address: 198.18.1.4, port: 1}]\n");
	for (int i = 0; i < 9; i++)
		seq[i] = (char)('a' + weft_l4_pick(&tab, &tab.clusters[0], cur));
	seq[9] = '\0';
	assert_string_equal(seq, "abcabcabc");
}

static void test_pick_large_cluster(void **state)
{
	static int32_t cur[WEFT_L4_MAX_ENDPOINTS];
	static unsigned count[WEFT_L4_MAX_ENDPOINTS];
	size_t cap = 64 * 1024, n;
	char *yaml = malloc(cap);

	(void)state;
	assert_non_null(yaml);
	n = (size_t)snprintf(yaml, cap, "%s", PORTS "clusters:\n  - name: big\n    endpoints:\n");
	for (int i = 0; i < 256; i++)
		n += (size_t)snprintf(yaml + n, cap - n, "      - {address: 198.19.%d.%d, port: 80, weight: %d}\n", i / 100,
				      i % 100 + 1, i % 7 == 0 ? 10000 : 1 + i % 5);
	compile(&tab, yaml);
	const struct weft_l4_cluster *c = &tab.clusters[0];
	/* No overflow at the largest weights, exact shares over two full cycles. */
	for (uint32_t i = 0; i < 2 * c->total_weight; i++)
		count[weft_l4_pick(&tab, c, cur)]++;
	for (uint32_t e = 0; e < c->n; e++)
		assert_int_equal(count[e], 2 * tab.endpoints[e].weight);
	free(yaml);
}


/* ---- stats of the TCP stack and tcp_proxy ---------------------------------- */

static const char *const t_stat_name[] = {"active_opens", "retransmits"};
static const char *const t_stat_help[] = {"connections opened", "segments retransmitted"};
static const char *const t_state_name[] = {"closed", "established", "time_wait"};
static const char *const p_stat_name[] = {"connect_timeouts", "bytes_to_upstream"};
static const char *const p_stat_help[] = {"handshakes too slow", "bytes \"up\"\\"};

struct stats_fixture {
	struct weft_worker_counters ctr[2];
	struct weft_stats_view v;
	struct weft_buf out;
};

static void stats_fill(struct stats_fixture *f)
{
	struct weft_stats_view *v = &f->v;

	memset(f, 0, sizeof(*f));
	v->n_workers = 2;
	v->workers[0] = &f->ctr[0];
	v->workers[1] = &f->ctr[1];
	v->tcp.n_stats = 2;
	v->tcp.stat_name = t_stat_name;
	v->tcp.stat_help = t_stat_help;
	v->tcp.n_states = 3;
	v->tcp.state_name = t_state_name;
	v->tcp.present[0] = v->tcp.present[1] = true;
	v->tcp.stat[0][0] = 5;
	v->tcp.stat[1][0] = 7;
	v->tcp.stat[1][1] = 2;
	v->tcp.state[0][1] = 3;
	v->tcp.state[1][1] = 4;
	v->tcp.state[1][2] = 9;
	v->proxy.n_stats = 2;
	v->proxy.stat_name = p_stat_name;
	v->proxy.stat_help = p_stat_help;
	v->proxy.present[0] = v->proxy.present[1] = true;
	v->proxy.stat[0][0] = 1;
	v->proxy.stat[1][1] = 1000;
	v->proxy.n_slots = 64;
	strcpy(v->proxy.listener[0], "tcp_in");
	strcpy(v->proxy.listener[5], "we\"ird");
	v->proxy.active[0][0] = 2;
	v->proxy.active[1][0] = 1;
	v->proxy.total[1][0] = 10;
	v->proxy.total[0][5] = 4;
	weft_buf_init(&f->out);
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

#define assert_line(text, line)                                                                    \
	do {                                                                                        \
		if (!has_line(text, line))                                                          \
			fail_msg("missing line: %s\n%s", line, text);                                \
	} while (0)

static unsigned count(const char *text, const char *needle)
{
	unsigned n = 0;
	for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

static void test_stats_prometheus(void **state)
{
	static struct stats_fixture f;

	(void)state;
	stats_fill(&f);
	assert_int_equal(weft_stats_prometheus(&f.v, &f.out), 0);
	const char *t = f.out.data;
	assert_line(t, "# TYPE weft_tcp_connections gauge");
	assert_line(t, "weft_tcp_connections{worker=\"0\",state=\"established\"} 3");
	assert_line(t, "weft_tcp_connections{worker=\"1\",state=\"time_wait\"} 9");
	assert_line(t, "weft_tcp_connections{worker=\"0\",state=\"closed\"} 0");
	assert_line(t, "# HELP weft_tcp_active_opens_total connections opened");
	assert_line(t, "# TYPE weft_tcp_active_opens_total counter");
	assert_line(t, "weft_tcp_active_opens_total{worker=\"0\"} 5");
	assert_line(t, "weft_tcp_active_opens_total{worker=\"1\"} 7");
	assert_line(t, "weft_tcp_retransmits_total{worker=\"1\"} 2");
	assert_line(t, "# TYPE weft_tcp_proxy_sessions_active gauge");
	assert_line(t, "weft_tcp_proxy_sessions_active{worker=\"0\",listener=\"tcp_in\"} 2");
	assert_line(t, "weft_tcp_proxy_sessions_active{worker=\"1\",listener=\"tcp_in\"} 1");
	assert_line(t, "weft_tcp_proxy_sessions_total{worker=\"1\",listener=\"tcp_in\"} 10");
	assert_line(t, "weft_tcp_proxy_sessions_total{worker=\"0\",listener=\"we\\\"ird\"} 4");
	assert_line(t, "# TYPE weft_tcp_proxy_sessions_total counter");
	assert_line(t, "weft_tcp_proxy_connect_timeouts_total{worker=\"0\"} 1");
	assert_line(t, "weft_tcp_proxy_bytes_to_upstream_total{worker=\"1\"} 1000");
	/* HELP escapes backslashes only. */
	assert_line(t, "# HELP weft_tcp_proxy_bytes_to_upstream_total bytes \"up\"\\\\");
	/* Unused slots are not rendered; every family once. */
	assert_int_equal(count(t, "weft_tcp_proxy_sessions_active{"), 4);
	assert_int_equal(count(t, "# TYPE weft_tcp_connections "), 1);
	assert_int_equal(count(t, "# TYPE weft_tcp_proxy_sessions_total "), 1);
	assert_int_equal(count(t, "\nweft_tcp_connections{"), 6);
	weft_buf_free(&f.out);

	/* A worker without a stack is skipped; no stack at all renders nothing of it. */
	stats_fill(&f);
	f.v.tcp.present[1] = false;
	f.v.proxy.n_stats = 0;
	assert_int_equal(weft_stats_prometheus(&f.v, &f.out), 0);
	assert_int_equal(count(f.out.data, "\nweft_tcp_connections{"), 3);
	assert_null(strstr(f.out.data, "weft_tcp_proxy"));
	weft_buf_free(&f.out);
	stats_fill(&f);
	f.v.tcp.n_stats = 0;
	f.v.tcp.stat_name = NULL;
	f.v.tcp.state_name = NULL;
	assert_int_equal(weft_stats_prometheus(&f.v, &f.out), 0);
	assert_null(strstr(f.out.data, "weft_tcp_connections"));
	assert_non_null(strstr(f.out.data, "weft_tcp_proxy_sessions_active"));
	weft_buf_free(&f.out);
}

/* Balanced braces and brackets outside strings: enough to catch a broken join. */
static bool json_balanced(const char *t)
{
	int depth = 0;
	bool str = false;

	for (; *t; t++) {
		if (str) {
			if (*t == '\\' && t[1])
				t++;
			else if (*t == '"')
				str = false;
			continue;
		}
		if (*t == '"')
			str = true;
		else if (*t == '{' || *t == '[')
			depth++;
		else if (*t == '}' || *t == ']')
			if (--depth < 0)
				return false;
	}
	return depth == 0 && !str;
}

static void test_stats_json(void **state)
{
	static struct stats_fixture f;

	(void)state;
	stats_fill(&f);
	assert_int_equal(weft_stats_json(&f.v, &f.out), 0);
	const char *t = f.out.data;
	assert_true(json_balanced(t));
	/* Totals first, then per worker. */
	assert_non_null(strstr(t, "  \"tcp\": {\n    \"connections\": {\n      \"closed\": 0,\n      \"established\": 7,\n"
				  "      \"time_wait\": 9\n    },\n    \"active_opens\": 12,\n    \"retransmits\": 2\n  }"));
	assert_non_null(strstr(t, "  \"tcp_proxy\": {\n    \"sessions_active\": 3,\n    \"connect_timeouts\": 1,\n"
				  "    \"bytes_to_upstream\": 1000,\n    \"listeners\": [\n"
				  "      {\"listener\": \"tcp_in\", \"sessions_active\": 3, \"sessions_total\": 10},\n"
				  "      {\"listener\": \"we\\\"ird\", \"sessions_active\": 0, \"sessions_total\": 4}\n    ]\n  }"));
	assert_non_null(strstr(t, "\"established\": 4,"));
	assert_non_null(strstr(t, "{\"listener\": \"tcp_in\", \"sessions_active\": 2, \"sessions_total\": 0}"));
	assert_int_equal(count(t, "\"tcp\": {"), 3);
	assert_int_equal(count(t, "\"tcp_proxy\": {"), 3);
	weft_buf_free(&f.out);

	/* No listener slot in use: an empty list. */
	stats_fill(&f);
	memset(f.v.proxy.listener, 0, sizeof(f.v.proxy.listener));
	assert_int_equal(weft_stats_json(&f.v, &f.out), 0);
	assert_true(json_balanced(f.out.data));
	assert_non_null(strstr(f.out.data, "\"listeners\": []"));
	weft_buf_free(&f.out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compile),
		cmocka_unit_test(test_compile_empty),
		cmocka_unit_test(test_compile_refuses_unvalidated),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_slots_across_reloads),
		cmocka_unit_test(test_slots_reuse_when_full),
		cmocka_unit_test(test_pick_weights),
		cmocka_unit_test(test_pick_smooth),
		cmocka_unit_test(test_pick_large_cluster),
		cmocka_unit_test(test_stats_prometheus),
		cmocka_unit_test(test_stats_json),
	};

	return cmocka_run_group_tests_name("l4cfg", tests, NULL, NULL);
}
