/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Stats rendering: exact Prometheus samples, one HELP/TYPE per family, every
 * reason for every worker, JSON validity, busy percentages over two samples,
 * label and string escaping. Also the growable buffer the renderers use.
 */
#include <math.h>
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
#include "policy/stats.h"

/* ---- a small strict JSON checker (RFC 8259) ------------------------------ */

struct jp {
	const char *p;
	const char *end;
	int depth;
};

static void j_ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static int j_value(struct jp *j);

static int j_lit(struct jp *j, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return -1;
	j->p += n;
	return 0;
}

static int j_string(struct jp *j)
{
	if (j->p >= j->end || *j->p != '"')
		return -1;
	j->p++;
	while (j->p < j->end) {
		unsigned char c = (unsigned char)*j->p++;
		if (c == '"')
			return 0;
		if (c < 0x20)
			return -1;
		if (c != '\\')
			continue;
		if (j->p >= j->end)
			return -1;
		c = (unsigned char)*j->p++;
		if (c == 'u') {
			for (int i = 0; i < 4; i++, j->p++)
				if (j->p >= j->end || !strchr("0123456789abcdefABCDEF", *j->p) || !*j->p)
					return -1;
		} else if (!strchr("\"\\/bfnrt", c) || c == 0) {
			return -1;
		}
	}
	return -1;
}

static int j_number(struct jp *j)
{
	const char *s = j->p;
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p >= j->end)
		return -1;
	if (*j->p == '0') {
		j->p++;
	} else if (*j->p >= '1' && *j->p <= '9') {
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	} else {
		return -1;
	}
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		const char *d = j->p;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
		if (j->p == d)
			return -1;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		const char *d = j->p;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
		if (j->p == d)
			return -1;
	}
	return j->p > s ? 0 : -1;
}

static int j_container(struct jp *j, char close, bool object)
{
	j->p++;
	if (++j->depth > 64)
		return -1;
	j_ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return 0;
	}
	for (;;) {
		j_ws(j);
		if (object) {
			if (j_string(j) < 0)
				return -1;
			j_ws(j);
			if (j->p >= j->end || *j->p++ != ':')
				return -1;
		}
		if (j_value(j) < 0)
			return -1;
		j_ws(j);
		if (j->p >= j->end)
			return -1;
		char c = *j->p++;
		if (c == close)
			break;
		if (c != ',')
			return -1;
	}
	j->depth--;
	return 0;
}

static int j_value(struct jp *j)
{
	j_ws(j);
	if (j->p >= j->end)
		return -1;
	switch (*j->p) {
	case '{': return j_container(j, '}', true);
	case '[': return j_container(j, ']', false);
	case '"': return j_string(j);
	case 't': return j_lit(j, "true");
	case 'f': return j_lit(j, "false");
	case 'n': return j_lit(j, "null");
	default: return j_number(j);
	}
}

static bool json_valid(const char *s, size_t n)
{
	struct jp j = {s, s + n, 0};
	if (j_value(&j) < 0)
		return false;
	j_ws(&j);
	return j.p == j.end;
}

/* ---- fixtures -------------------------------------------------------------- */

struct fixture {
	struct weft_worker_counters ctr[2];
	struct weft_stats_view v;
	struct weft_buf out;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);

	f->ctr[0].drops[WEFT_DROP_IP4_BAD_CHECKSUM] = 3;
	f->ctr[1].drops[WEFT_DROP_IP4_BAD_CHECKSUM] = 7;
	f->ctr[1].drops[WEFT_DROP_TX_FULL] = UINT64_MAX;
	f->ctr[0].events[WEFT_EV_ARP_REPLY_OUT] = 5;
	f->ctr[1].events[WEFT_EV_ARP_REPLY_OUT] = 6;
	f->ctr[0].port[0] = (struct weft_port_counters){.rx_packets = 10, .rx_bytes = 1000,
							 .tx_packets = 20, .tx_bytes = 2000};
	f->ctr[1].port[0] = (struct weft_port_counters){.rx_packets = 1, .rx_bytes = 100,
							 .tx_packets = 2, .tx_bytes = 200};
	f->ctr[1].port[1] = (struct weft_port_counters){.rx_packets = 40, .rx_bytes = 4000,
							 .tx_packets = 50, .tx_bytes = 5000};
	f->ctr[0].iterations = 123456;
	f->ctr[1].iterations = 654321;

	struct weft_stats_view *v = &f->v;
	v->n_workers = 2;
	v->workers[0] = &f->ctr[0];
	v->workers[1] = &f->ctr[1];
	v->worker_lcore[0] = 1;
	v->worker_lcore[1] = 3;
	v->busy_pct[0] = 12.5;
	v->busy_pct[1] = 100;
	v->n_ports = 2;
	strcpy(v->ports[0].name, "p0");
	strcpy(v->ports[0].driver, "af_packet");
	v->ports[0].link_up = true;
	v->ports[0].speed_mbps = 10000;
	v->ports[0].ipackets = 11;
	v->ports[0].opackets = 22;
	v->ports[0].ibytes = 1100;
	v->ports[0].obytes = 2200;
	v->ports[0].imissed = 4;
	v->ports[0].ierrors = 5;
	v->ports[0].oerrors = 6;
	v->ports[0].rx_nombuf = 8;
	strcpy(v->ports[1].name, "uplink");
	strcpy(v->ports[1].driver, "tap");
	v->config_version = 42;
	v->uptime_s = 3600;
	weft_buf_init(&f->out);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	weft_buf_free(&f->out);
	free(f);
	return 0;
}

/* Is `line` one whole line of text? */
static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

static unsigned count(const char *text, const char *needle)
{
	unsigned n = 0;
	for (const char *p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

#define assert_line(text, line)                                                                    \
	do {                                                                                        \
		if (!has_line(text, line))                                                          \
			fail_msg("missing line: %s", line);                                          \
	} while (0)

/* ---- Prometheus ------------------------------------------------------------ */

static void test_prom_exact_lines(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(weft_stats_prometheus(&f->v, &f->out), 0);
	const char *t = f->out.data;

	assert_line(t, "weft_drops_total{worker=\"1\",reason=\"ip4_bad_checksum\"} 7");
	assert_line(t, "weft_drops_total{worker=\"0\",reason=\"ip4_bad_checksum\"} 3");
	assert_line(t, "weft_drops_total{worker=\"0\",reason=\"eth_too_short\"} 0");
	assert_line(t, "weft_drops_total{worker=\"1\",reason=\"tx_full\"} 18446744073709551615");
	assert_line(t, "weft_events_total{worker=\"0\",event=\"arp_reply_out\"} 5");
	assert_line(t, "weft_events_total{worker=\"1\",event=\"arp_reply_out\"} 6");
	assert_line(t, "weft_port_rx_packets_total{port=\"p0\"} 11");
	assert_line(t, "weft_port_tx_packets_total{port=\"p0\"} 22");
	assert_line(t, "weft_port_rx_bytes_total{port=\"p0\"} 1100");
	assert_line(t, "weft_port_tx_bytes_total{port=\"p0\"} 2200");
	assert_line(t, "weft_port_rx_packets_total{port=\"uplink\"} 40");
	assert_line(t, "weft_port_tx_bytes_total{port=\"uplink\"} 5000");
	assert_line(t, "weft_port_device_rx_packets_total{port=\"p0\"} 11");
	assert_line(t, "weft_port_device_tx_packets_total{port=\"p0\"} 22");
	assert_line(t, "weft_port_device_rx_bytes_total{port=\"p0\"} 1100");
	assert_line(t, "weft_port_device_tx_bytes_total{port=\"p0\"} 2200");
	assert_line(t, "weft_port_device_rx_missed_total{port=\"p0\"} 4");
	assert_line(t, "weft_port_device_rx_errors_total{port=\"p0\"} 5");
	assert_line(t, "weft_port_device_tx_errors_total{port=\"p0\"} 6");
	assert_line(t, "weft_port_rx_nombuf_total{port=\"p0\"} 8");
	assert_line(t, "weft_port_device_rx_packets_total{port=\"uplink\"} 0");
	assert_line(t, "weft_port_link_up{port=\"p0\"} 1");
	assert_line(t, "weft_port_link_up{port=\"uplink\"} 0");
	assert_line(t, "weft_port_link_speed_mbps{port=\"p0\"} 10000");
	assert_line(t, "weft_worker_busy_percent{worker=\"0\",lcore=\"1\"} 12.50");
	assert_line(t, "weft_worker_busy_percent{worker=\"1\",lcore=\"3\"} 100.00");
	assert_line(t, "weft_worker_iterations_total{worker=\"0\"} 123456");
	assert_line(t, "weft_worker_iterations_total{worker=\"1\"} 654321");
	assert_line(t, "weft_config_version 42");
	assert_line(t, "weft_uptime_seconds 3600");
	assert_line(t, "# TYPE weft_drops_total counter");
	assert_line(t, "# TYPE weft_port_link_up gauge");
	assert_line(t, "# TYPE weft_worker_busy_percent gauge");
	assert_line(t, "# TYPE weft_config_version gauge");
	assert_line(t, "# TYPE weft_uptime_seconds gauge");
}

static const char *const families[] = {
	"weft_drops_total",
	"weft_events_total",
	"weft_port_rx_packets_total",
	"weft_port_tx_packets_total",
	"weft_port_rx_bytes_total",
	"weft_port_tx_bytes_total",
	"weft_port_device_rx_packets_total",
	"weft_port_device_tx_packets_total",
	"weft_port_device_rx_bytes_total",
	"weft_port_device_tx_bytes_total",
	"weft_port_device_rx_missed_total",
	"weft_port_device_rx_errors_total",
	"weft_port_device_tx_errors_total",
	"weft_port_rx_nombuf_total",
	"weft_port_link_up",
	"weft_port_link_speed_mbps",
	"weft_worker_busy_percent",
	"weft_worker_iterations_total",
	"weft_config_version",
	"weft_uptime_seconds",
};
#define N_FAMILIES (sizeof(families) / sizeof(families[0]))

/*
 * Structure of the exposition: HELP then TYPE once per family, and every
 * sample after its family's TYPE and before the next family's HELP
 * (samples of one family are contiguous, as the format requires).
 */
static void check_prom_structure(const char *t)
{
	char cur[128] = "";
	char seen[N_FAMILIES + 8][128];
	unsigned n_seen = 0;
	unsigned n_samples = 0;

	for (size_t i = 0; i < N_FAMILIES; i++) {
		char needle[160];
		snprintf(needle, sizeof(needle), "# HELP %s ", families[i]);
		assert_int_equal(count(t, needle), 1);
		snprintf(needle, sizeof(needle), "# TYPE %s ", families[i]);
		assert_int_equal(count(t, needle), 1);
	}
	assert_int_equal(count(t, "# HELP "), N_FAMILIES);
	assert_int_equal(count(t, "# TYPE "), N_FAMILIES);

	const char *p = t;
	bool expect_type = false;
	while (*p) {
		const char *nl = strchr(p, '\n');
		assert_non_null(nl); /* every line ends with a newline */
		size_t len = (size_t)(nl - p);
		char line[512];
		assert_true(len < sizeof(line));
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl + 1;

		if (strncmp(line, "# HELP ", 7) == 0) {
			assert_false(expect_type);
			size_t n = strcspn(line + 7, " ");
			assert_true(n < sizeof(cur));
			memcpy(cur, line + 7, n);
			cur[n] = '\0';
			for (unsigned k = 0; k < n_seen; k++)
				assert_string_not_equal(seen[k], cur);
			strcpy(seen[n_seen++], cur);
			expect_type = true;
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			assert_true(expect_type);
			assert_int_equal(strncmp(line + 7, cur, strlen(cur)), 0);
			const char *type = line + 7 + strlen(cur);
			assert_true(strcmp(type, " counter") == 0 || strcmp(type, " gauge") == 0);
			/* Counters end in _total by convention; gauges do not. */
			bool total = strlen(cur) > 6 && strcmp(cur + strlen(cur) - 6, "_total") == 0;
			assert_int_equal(total, strcmp(type, " counter") == 0);
			expect_type = false;
			continue;
		}
		assert_false(expect_type);
		assert_true(line[0] != '#' && line[0] != '\0');
		size_t n = strcspn(line, "{ ");
		assert_int_equal(n, strlen(cur));
		assert_int_equal(strncmp(line, cur, n), 0);
		/* The value: digits with an optional fraction. */
		const char *val = strrchr(line, ' ');
		assert_non_null(val);
		char *end;
		strtod(val + 1, &end);
		assert_true(*end == '\0' && end > val + 1);
		n_samples++;
	}
	assert_true(n_samples > 0);
}

static void test_prom_help_type_once(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(weft_stats_prometheus(&f->v, &f->out), 0);
	check_prom_structure(f->out.data);
}

static void test_prom_every_reason_every_worker(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(weft_stats_prometheus(&f->v, &f->out), 0);
	const char *t = f->out.data;
	char needle[256];

	for (unsigned w = 0; w < 2; w++) {
		for (unsigned r = 0; r < WEFT_DROP_MAX; r++) {
			snprintf(needle, sizeof(needle), "\nweft_drops_total{worker=\"%u\",reason=\"%s\"} ",
				 w, weft_drop_name[r]);
			assert_int_equal(count(t, needle), 1);
		}
		for (unsigned e = 0; e < WEFT_EV_MAX; e++) {
			snprintf(needle, sizeof(needle), "\nweft_events_total{worker=\"%u\",event=\"%s\"} ",
				 w, weft_event_name[e]);
			assert_int_equal(count(t, needle), 1);
		}
	}
	assert_int_equal(count(t, "\nweft_drops_total{"), 2 * WEFT_DROP_MAX);
	assert_int_equal(count(t, "\nweft_events_total{"), 2 * WEFT_EV_MAX);
}

static void test_prom_label_escaping(void **state)
{
	struct fixture *f = *state;
	strcpy(f->v.ports[1].name, "a\"b\\c\nd");
	assert_int_equal(weft_stats_prometheus(&f->v, &f->out), 0);
	assert_line(f->out.data, "weft_port_link_up{port=\"a\\\"b\\\\c\\nd\"} 0");
	check_prom_structure(f->out.data);

	weft_buf_reset(&f->out);
	assert_int_equal(weft_stats_prom_label(&f->out, "plain"), 0);
	assert_string_equal(f->out.data, "plain");
	weft_buf_reset(&f->out);
	assert_int_equal(weft_stats_prom_label(&f->out, "\\\\\"\n\n"), 0);
	assert_string_equal(f->out.data, "\\\\\\\\\\\"\\n\\n");
}

static void test_prom_port_name_fallback(void **state)
{
	struct fixture *f = *state;
	f->v.ports[1].name[0] = '\0';
	/* A name filling the whole field without a NUL is still bounded. */
	memset(f->v.ports[0].name, 'x', sizeof(f->v.ports[0].name));
	assert_int_equal(weft_stats_prometheus(&f->v, &f->out), 0);
	assert_line(f->out.data, "weft_port_link_up{port=\"p1\"} 0");
	assert_line(f->out.data, "weft_port_link_up{port=\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"} 1");
}

static void test_prom_empty_view(void **state)
{
	struct weft_stats_view v;
	struct weft_buf b = WEFT_BUF_INIT;
	(void)state;

	memset(&v, 0, sizeof(v));
	assert_int_equal(weft_stats_prometheus(&v, &b), 0);
	check_prom_structure(b.data);
	assert_line(b.data, "weft_config_version 0");
	weft_buf_reset(&b);
	assert_int_equal(weft_stats_json(&v, &b), 0);
	assert_true(json_valid(b.data, b.len));
	weft_buf_free(&b);
}

/* ---- JSON ------------------------------------------------------------------ */

static void test_json_valid_and_values(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(weft_stats_json(&f->v, &f->out), 0);
	const char *t = f->out.data;

	assert_true(json_valid(t, f->out.len));
	/* Totals: every reason and event once, summed over workers. */
	assert_non_null(strstr(t, "\"ip4_bad_checksum\": 10,"));
	assert_non_null(strstr(t, "\"arp_reply_out\": 11,"));
	char needle[128];
	for (unsigned r = 0; r < WEFT_DROP_MAX; r++) {
		snprintf(needle, sizeof(needle), "\"%s\": ", weft_drop_name[r]);
		assert_int_equal(count(t, needle), 3); /* totals and two workers */
	}
	for (unsigned e = 0; e < WEFT_EV_MAX; e++) {
		snprintf(needle, sizeof(needle), "\"%s\": ", weft_event_name[e]);
		assert_int_equal(count(t, needle), 3);
	}
	assert_non_null(strstr(t, "\"config_version\": 42"));
	assert_non_null(strstr(t, "\"uptime_seconds\": 3600"));
	assert_non_null(strstr(t, "\"lcore\": 3"));
	assert_non_null(strstr(t, "\"busy_pct\": 12.50"));
	assert_non_null(strstr(t, "\"iterations\": 654321"));
	assert_non_null(strstr(t, "\"name\": \"uplink\""));
	assert_non_null(strstr(t, "\"driver\": \"af_packet\""));
	assert_non_null(strstr(t, "\"link_up\": true"));
	assert_non_null(strstr(t, "\"rx_nombuf\": 8"));
	assert_non_null(strstr(t, "\"tx_bytes\": 5000"));
	assert_non_null(strstr(t, "18446744073709551615"));
}

/* The health checker's object and families (policy/stats_health.c). */
static void test_health_check(void **state)
{
	static const char *const names[] = {"checks", "successes", "failures"};
	static const char *const help[] = {"started", "ok", "failed"};
	static const char *const reasons[] = {"connect_refused", "timeout"};
	struct fixture *f = *state;
	struct weft_stats_hc *h = &f->v.hc;

	/* No checker: nothing rendered. */
	assert_int_equal(weft_stats_json(&f->v, &f->out), 0);
	assert_null(strstr(f->out.data, "health_check"));
	weft_buf_reset(&f->out);

	h->n_stats = 3;
	h->stat_name = names;
	h->stat_help = help;
	h->n_reasons = 2;
	h->reason_name = reasons;
	h->present[0] = h->present[1] = true;
	h->stat[0][0] = 10;
	h->stat[1][0] = 5;
	h->failure[0][1] = 2;
	h->failure[1][1] = 3;
	h->endpoints[0] = 4;
	h->endpoints[1] = 3;
	h->unhealthy[1] = 1;

	assert_int_equal(weft_stats_json(&f->v, &f->out), 0);
	assert_true(json_valid(f->out.data, f->out.len));
	assert_int_equal(count(f->out.data, "\"health_check\": {"), 3); /* totals and two workers */
	assert_non_null(strstr(f->out.data, "\"endpoints\": 7,"));
	assert_non_null(strstr(f->out.data, "\"checks\": 15,"));
	assert_non_null(strstr(f->out.data, "\"timeout\": 5\n"));
	weft_buf_reset(&f->out);

	assert_int_equal(weft_stats_prometheus(&f->v, &f->out), 0);
	const char *t = f->out.data;
	assert_non_null(strstr(t, "# HELP weft_health_check_checks_total started\n"
				  "# TYPE weft_health_check_checks_total counter\n"
				  "weft_health_check_checks_total{worker=\"0\"} 10\n"
				  "weft_health_check_checks_total{worker=\"1\"} 5\n"));
	assert_non_null(strstr(t, "weft_health_check_failure_reasons_total{worker=\"0\",reason=\"connect_refused\"} 0\n"));
	assert_non_null(strstr(t, "weft_health_check_failure_reasons_total{worker=\"1\",reason=\"timeout\"} 3\n"));
	assert_non_null(strstr(t, "weft_health_check_endpoints{worker=\"0\"} 4\n"));
	assert_non_null(strstr(t, "weft_health_check_endpoints_unhealthy{worker=\"1\"} 1\n"));
	assert_int_equal(count(t, "# TYPE weft_health_check_"), 6);
}

static void test_json_escaping(void **state)
{
	struct fixture *f = *state;
	strcpy(f->v.ports[0].name, "q\"b\\s\n\x01\t");
	f->v.busy_pct[0] = NAN; /* NaN must not leak into JSON */
	f->v.busy_pct[1] = -3;
	assert_int_equal(weft_stats_json(&f->v, &f->out), 0);
	assert_true(json_valid(f->out.data, f->out.len));
	assert_non_null(strstr(f->out.data, "\"name\": \"q\\\"b\\\\s\\n\\u0001\\t\""));
	assert_null(strstr(f->out.data, "nan"));
	assert_null(strstr(f->out.data, "-3"));
}

static void test_json_checker_rejects(void **state)
{
	static const char *const bad[] = {
		"", "{", "{\"a\":}", "{\"a\" 1}", "[1,]", "{\"a\":1,}", "\"x", "\"\x01\"",
		"01", "1.", "nan", "{} {}", "[\"\\x\"]", "{a:1}",
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(json_valid(bad[i], strlen(bad[i])));
	const char *good = "{\"a\":[1,-2.5e3,true,false,null,\"\\u00e9\"]}";
	assert_true(json_valid(good, strlen(good)));
}

static void test_reasons_json(void **state)
{
	struct weft_buf b = WEFT_BUF_INIT;
	(void)state;

	assert_int_equal(weft_stats_reasons_json(&b), 0);
	assert_true(json_valid(b.data, b.len));
	assert_non_null(strstr(b.data, "\"ip4_bad_checksum\": \"IPv4 header checksum mismatch\""));
	assert_non_null(strstr(b.data, "\"arp_reply_out\": \"ARP replies sent\""));
	for (unsigned r = 0; r < WEFT_DROP_MAX; r++) {
		char needle[128];
		snprintf(needle, sizeof(needle), "\"%s\": \"", weft_drop_name[r]);
		assert_int_equal(count(b.data, needle), 1);
	}
	weft_buf_free(&b);
}

/* ---- sampling -------------------------------------------------------------- */

static void test_busy_pct_two_samples(void **state)
{
	struct fixture *f = *state;
	struct weft_stats_sampler s;
	weft_stats_sampler_init(&s);

	f->ctr[0].busy_cycles = 100;
	f->ctr[0].idle_cycles = 300;
	f->ctr[1].busy_cycles = 0;
	f->ctr[1].idle_cycles = 0;
	weft_stats_sample(&s, &f->v);
	/* First sample: since start. */
	assert_float_equal(s.busy_pct[0], 25.0, 1e-9);
	assert_float_equal(s.busy_pct[1], 0.0, 1e-9);

	f->ctr[0].busy_cycles = 400; /* +300 */
	f->ctr[0].idle_cycles = 400; /* +100 */
	f->ctr[1].busy_cycles = 1000;
	weft_stats_sample(&s, &f->v);
	assert_float_equal(s.busy_pct[0], 75.0, 1e-9);
	assert_float_equal(s.busy_pct[1], 100.0, 1e-9);

	/* No iteration in the window. */
	weft_stats_sample(&s, &f->v);
	assert_float_equal(s.busy_pct[0], 0.0, 1e-9);

	/* Counters recreated (went backwards): a new window from zero. */
	f->ctr[0].busy_cycles = 10;
	f->ctr[0].idle_cycles = 30;
	weft_stats_sample(&s, &f->v);
	assert_float_equal(s.busy_pct[0], 25.0, 1e-9);

	/* Huge cycle counts do not overflow the ratio. */
	f->ctr[0].busy_cycles = UINT64_MAX - 10;
	f->ctr[0].idle_cycles = 30;
	weft_stats_sample(&s, &f->v);
	assert_true(s.busy_pct[0] > 99.9 && s.busy_pct[0] <= 100.0);

	f->ctr[0].busy_cycles = 0;
	f->ctr[0].idle_cycles = 0;
	weft_stats_sample(&s, &f->v);
	f->ctr[0].busy_cycles = 1;
	f->ctr[0].idle_cycles = 3;
	f->ctr[1].busy_cycles = 1000;
	f->ctr[1].idle_cycles = 1000;
	weft_stats_sample(&s, &f->v);

	weft_stats_sampler_apply(&s, &f->v);
	assert_float_equal(f->v.busy_pct[0], 25.0, 1e-9);
	assert_float_equal(f->v.busy_pct[1], 0.0, 1e-9);
	assert_int_equal(weft_stats_prometheus(&f->v, &f->out), 0);
	assert_line(f->out.data, "weft_worker_busy_percent{worker=\"0\",lcore=\"1\"} 25.00");
	assert_line(f->out.data, "weft_worker_busy_percent{worker=\"1\",lcore=\"3\"} 0.00");
}

static void test_null_worker_skipped(void **state)
{
	struct fixture *f = *state;
	f->v.workers[0] = NULL;
	struct weft_stats_sampler s;
	weft_stats_sampler_init(&s);
	weft_stats_sample(&s, &f->v);
	assert_int_equal(weft_stats_prometheus(&f->v, &f->out), 0);
	check_prom_structure(f->out.data);
	assert_int_equal(count(f->out.data, "\nweft_drops_total{"), WEFT_DROP_MAX);
	assert_line(f->out.data, "weft_port_rx_packets_total{port=\"p0\"} 1");
	weft_buf_reset(&f->out);
	assert_int_equal(weft_stats_json(&f->v, &f->out), 0);
	assert_true(json_valid(f->out.data, f->out.len));
}

/* ---- the buffer ------------------------------------------------------------ */

static void test_buf_basics(void **state)
{
	struct weft_buf b = WEFT_BUF_INIT;
	(void)state;

	assert_int_equal(weft_buf_puts(&b, ""), 0);
	assert_string_equal(b.data, "");
	assert_int_equal(weft_buf_printf(&b, "%d-%s", 42, "x"), 0);
	assert_string_equal(b.data, "42-x");
	/* Growth across many doublings, with printf needing a second pass. */
	char big[5000];
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(weft_buf_printf(&b, "[%s]", big), 0);
	assert_int_equal(b.len, 4 + 2 + 4999);
	assert_int_equal(b.data[b.len], '\0');
	assert_int_equal(b.data[4], '[');
	assert_int_equal(b.data[b.len - 1], ']');
	for (int i = 0; i < 10000; i++)
		weft_buf_putc(&b, (char)('a' + i % 26));
	assert_int_equal(b.len, 5005 + 10000);
	assert_false(b.failed);

	weft_buf_consume(&b, 5005);
	assert_int_equal(b.len, 10000);
	assert_int_equal(b.data[0], 'a');
	assert_int_equal(b.data[25], 'z');
	weft_buf_consume(&b, 1u << 30);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");

	assert_int_equal(weft_buf_append(&b, "a\0b", 3), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "a\0b", 4);

	weft_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(weft_buf_json_str(&b, "x\"\\\n\r\t\x1f\x7f\xc3\xa9"), 0);
	assert_string_equal(b.data, "\"x\\\"\\\\\\n\\r\\t\\u001f\x7f\xc3\xa9\"");
	assert_true(json_valid(b.data, b.len));

	/* A failed buffer stays failed until reset. */
	assert_int_equal(weft_buf_reserve(&b, SIZE_MAX - 4), -1);
	assert_true(b.failed);
	assert_int_equal(weft_buf_puts(&b, "more"), -1);
	weft_buf_reset(&b);
	assert_false(b.failed);
	assert_int_equal(weft_buf_puts(&b, "ok"), 0);
	assert_string_equal(b.data, "ok");

	weft_buf_free(&b);
	assert_null(b.data);
	weft_buf_free(&b); /* twice is fine */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_prom_exact_lines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prom_help_type_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prom_every_reason_every_worker, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prom_label_escaping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prom_port_name_fallback, setup, teardown),
		cmocka_unit_test(test_prom_empty_view),
		cmocka_unit_test_setup_teardown(test_json_valid_and_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_json_escaping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_health_check, setup, teardown),
		cmocka_unit_test(test_json_checker_rejects),
		cmocka_unit_test(test_reasons_json),
		cmocka_unit_test_setup_teardown(test_busy_pct_two_samples, setup, teardown),
		cmocka_unit_test_setup_teardown(test_null_worker_skipped, setup, teardown),
		cmocka_unit_test(test_buf_basics),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
