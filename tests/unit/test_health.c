/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Active health checks (dataplane/proxy/health.c) over a real TCP stack,
 * driven by the scripted-segment harness: the test plays the endpoint,
 * answering the checker's SYNs and requests segment by segment, on virtual
 * time. Covers the tcp and http kinds, every failure reason, thresholds,
 * the schedule (interval, timeout), reloads and the choice of the owner.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dataplane/proxy/health.h"
#include "policy/config.h"
#include "policy/httpcfg.h"
#include "policy/resilience.h"
#include "tcp_harness.h"

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

static struct weft_config cfg; /* large: off the stack */

/*
 * A config whose cluster "web" (endpoint 198.18.0.2:8080, the harness's
 * peer) has the health_check given as a flow mapping ("" for none).
 */
static struct weft_http_snap *compile(const char *hc, unsigned n_workers, const char *extra_endpoints)
{
	char yaml[2048], err[WEFT_CFG_ERR_LEN];
	struct weft_http_snap *s = NULL;

	snprintf(yaml, sizeof(yaml),
		 "ports:\n"
		 "  - {name: p0, driver: af_packet, iface: wp0, addresses: [198.18.0.1/24, \"2001:db8::1/64\"]}\n"
		 "clusters:\n"
		 "  - name: web\n"
		 "    %s%s\n"
		 "    endpoints: [{address: 198.18.0.2, port: 8080}%s]\n",
		 hc[0] ? "health_check: " : "", hc, extra_endpoints);
	if (weft_config_parse(yaml, strlen(yaml), "t.yaml", &cfg, err, sizeof(err)) != 0)
		fail_msg("config: %s", err);
	if (weft_http_compile(&cfg, NULL, n_workers, &s, err, sizeof(err)) != 0)
		fail_msg("compile: %s", err);
	return s;
}

/* Put s into the harness's snapshot as a new version (the old http part is freed). */
static void publish(struct th *h, struct weft_http_snap *s)
{
	weft_http_snap_free(h->snap->http);
	h->snap->http = s;
	h->snap->version++;
}

static void step(struct th *h, unsigned ms)
{
	for (unsigned i = 0; i < ms; i++) {
		th_advance(h, 1);
		for (unsigned k = 0; k < h->n_workers; k++) {
			h->workers[k].snap = h->snap;
			health_timers(&h->workers[k]);
		}
	}
}

static uint64_t stat(struct th *h, enum health_stat s)
{
	return health_stats(h->w)->stat[s];
}

static uint64_t failures(struct th *h, enum health_failure f)
{
	return health_stats(h->w)->failure[f];
}

static bool hc_down(struct th *h, unsigned ep)
{
	struct weft_rt_ep_stats st;

	weft_cluster_rt_ep_stats(h->snap->http->clusters[0].rt, ep, &st);
	return st.hc_down;
}

static struct th *cur; /* the test's harness, for the teardown */

static struct th *setup_with(const char *hc, unsigned n_workers)
{
	struct th *h = cur = th_new(NULL, n_workers);

	for (unsigned k = 0; k < n_workers; k++)
		assert_int_equal(health_init(&h->workers[k]), 0);
	publish(h, compile(hc, n_workers, ""));
	return h;
}

static void teardown_th(struct th *h)
{
	cur = NULL;
	th_drain(h);
	for (unsigned k = 0; k < h->n_workers; k++)
		health_free(&h->workers[k]);
	weft_http_snap_free(h->snap->http);
	h->snap->http = NULL;
	th_free(h);
}

/* Expect the checker's SYN to the endpoint; the peer's state is set for it. */
static void expect_syn(struct th *h, struct th_peer *p)
{
	struct th_out o;

	th_pop(h, &o);
	assert_int_equal(o.flags, F_SYN);
	assert_int_equal(o.dport, 8080);
	memset(p, 0, sizeof(*p));
	p->af = 4;
	p->port = 8080;
	p->lport = o.sport;
	p->seq = 7000;
	p->ack = o.seq + 1;
	p->wnd = 65535;
}

/* Let time pass until the checker sends its next SYN (at most a second). */
static void until_syn(struct th *h, struct th_peer *p)
{
	for (unsigned i = 0; i < 1000 && th_out_count(h) == 0; i++)
		step(h, 1);
	expect_syn(h, p);
}

static void syn_ack(struct th *h, struct th_peer *p)
{
	struct th_seg s = {.af = 4, .sport = p->port, .dport = p->lport, .flags = F_SYN | F_ACK,
			   .seq = p->seq, .ack = p->ack, .wnd = 65535, .mss = 1460};
	th_in(h, &s);
	p->seq++;
}

static void refuse(struct th *h, struct th_peer *p)
{
	struct th_seg s = {.af = 4, .sport = p->port, .dport = p->lport, .flags = F_RST | F_ACK, .seq = 0,
			   .ack = p->ack, .wnd = 0};
	th_in(h, &s);
}

/* Pop everything weft sent; payload into buf, flags ORed, p->ack past data and FIN. */
static unsigned pop_all(struct th *h, struct th_peer *p, char *buf, size_t cap, size_t *len)
{
	static struct th_out o;
	unsigned flags = 0;

	if (len != NULL)
		*len = 0;
	while (th_out_count(h) > 0) {
		th_pop(h, &o);
		flags |= o.flags;
		if (buf != NULL && o.len > 0 && *len + o.len <= cap) {
			memcpy(buf + *len, o.data, o.len);
			*len += o.len;
		}
		uint32_t end = o.seq + o.len + ((o.flags & F_FIN) ? 1 : 0);
		if ((int32_t)(end - p->ack) > 0)
			p->ack = end;
	}
	return flags;
}

/* ---- tcp ---------------------------------------------------------------------------------------- */

static void test_tcp_thresholds_and_schedule(void **state)
{
	(void)state;
	struct th *h = setup_with("{kind: tcp, interval_ms: 100, jitter_ms: 0, timeout_ms: 50, "
				  "healthy_threshold: 2, unhealthy_threshold: 2}",
				  1);
	struct th_peer p;

	step(h, 1);
	assert_int_equal(health_stats(h->w)->endpoints, 1);
	assert_false(hc_down(h, 0)); /* endpoints start healthy */

	/* Refused twice: unhealthy after the second, not the first. */
	expect_syn(h, &p);
	refuse(h, &p);
	th_none(h);
	assert_int_equal(failures(h, HEALTH_F_CONNECT_REFUSED), 1);
	assert_int_equal(health_stats(h->w)->unhealthy, 0);
	assert_false(hc_down(h, 0));
	step(h, 99); /* the next check is interval_ms after the end of this one */
	th_none(h);
	step(h, 1);
	expect_syn(h, &p);
	refuse(h, &p);
	assert_int_equal(failures(h, HEALTH_F_CONNECT_REFUSED), 2);
	assert_int_equal(stat(h, HEALTH_became_unhealthy), 1);
	assert_int_equal(health_stats(h->w)->unhealthy, 1);
	assert_true(hc_down(h, 0));

	/* Two handshakes: healthy again. Each is reset at once, leaving nothing behind. */
	for (int i = 0; i < 2; i++) {
		until_syn(h, &p);
		syn_ack(h, &p);
		assert_true(pop_all(h, &p, NULL, 0, NULL) & F_RST);
		assert_int_equal(stat(h, HEALTH_successes), (uint64_t)i + 1);
		assert_int_equal(hc_down(h, 0), i == 0);
	}
	assert_int_equal(stat(h, HEALTH_became_healthy), 1);
	assert_int_equal(health_stats(h->w)->unhealthy, 0);
	assert_int_equal(stat(h, HEALTH_checks), 4);
	assert_int_equal(stat(h, HEALTH_failures), 2);
	assert_int_equal(th_stats(h)->state[TCP_ESTABLISHED], 0);
	teardown_th(h);
}

static void test_tcp_timeout(void **state)
{
	(void)state;
	struct th *h = setup_with("{interval_ms: 100, jitter_ms: 0, timeout_ms: 50, unhealthy_threshold: 1}", 1);
	struct th_peer p;

	step(h, 1);
	expect_syn(h, &p);
	step(h, 49);
	th_none(h);
	assert_int_equal(stat(h, HEALTH_failures), 0);
	step(h, 1); /* timeout_ms after the SYN: the check fails, its connection is dropped (no RST in SYN-SENT) */
	th_none(h);
	assert_int_equal(failures(h, HEALTH_F_TIMEOUT), 1);
	assert_int_equal(th_stats(h)->state[TCP_SYN_SENT], 0);
	assert_true(hc_down(h, 0));
	until_syn(h, &p); /* and the next check comes */
	teardown_th(h);
}

/* ---- http --------------------------------------------------------------------------------------- */

#define HTTP_HC "{kind: http, path: /healthz?x=1, host: api.test, expected_statuses: [200, \"300-302\"], " \
		"interval_ms: 100, jitter_ms: 0, timeout_ms: 50, healthy_threshold: 1, unhealthy_threshold: 1}"

/* One http check answered with resp (NULL: the endpoint closes without a word). */
static void http_exchange(struct th *h, const char *resp, bool fin)
{
	struct th_peer p;
	char req[1024];
	size_t len;

	until_syn(h, &p);
	syn_ack(h, &p);
	pop_all(h, &p, req, sizeof(req) - 1, &len);
	req[len] = '\0';
	assert_string_equal(req, "GET /healthz?x=1 HTTP/1.1\r\nHost: api.test\r\nUser-Agent: weft-health-check\r\n"
				 "Connection: close\r\n\r\n");
	th_peer_send(h, &p, (uint8_t)(F_ACK | F_PSH | (fin ? F_FIN : 0)), resp, resp ? (uint32_t)strlen(resp) : 0);
	/* The server closed first (Connection: close): weft closes too, and the peer ACKs its FIN. */
	unsigned flags = pop_all(h, &p, NULL, 0, NULL);
	if (fin) {
		assert_true(flags & F_FIN);
		assert_false(flags & F_RST);
		th_peer_send(h, &p, F_ACK, NULL, 0);
		th_none(h);
	}
}

static void test_http_statuses_and_reasons(void **state)
{
	(void)state;
	struct th *h = setup_with(HTTP_HC, 1);

	step(h, 1);
	http_exchange(h, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", true);
	assert_int_equal(failures(h, HEALTH_F_BAD_STATUS), 1);
	assert_true(hc_down(h, 0));

	http_exchange(h, "HTTP/1.1 301 Moved\r\nLocation: /\r\n\r\n", true);
	assert_int_equal(stat(h, HEALTH_successes), 1);
	assert_false(hc_down(h, 0));

	/* The status line arriving in two pieces, the head never finished: the line decides. */
	{
		struct th_peer p;
		until_syn(h, &p);
		syn_ack(h, &p);
		pop_all(h, &p, NULL, 0, NULL);
		th_peer_send(h, &p, F_ACK | F_PSH, "HTTP/1.1 2", 10);
		assert_int_equal(stat(h, HEALTH_successes), 1);
		th_peer_send(h, &p, F_ACK | F_PSH, "00 OK\r\nServer: x", 16);
		assert_int_equal(stat(h, HEALTH_successes), 2);
		th_peer_send(h, &p, F_ACK | F_FIN, NULL, 0);
		pop_all(h, &p, NULL, 0, NULL);
		th_peer_send(h, &p, F_ACK, NULL, 0);
	}

	http_exchange(h, "HTTP/1.1 2x0 OK\r\n\r\n", true);
	assert_int_equal(failures(h, HEALTH_F_BAD_RESPONSE), 1);

	http_exchange(h, "HTTP/1.1 200 OK\r\n\r\n", true);
	assert_int_equal(stat(h, HEALTH_successes), 3);
	http_exchange(h, NULL, true); /* FIN before any status line */
	assert_int_equal(failures(h, HEALTH_F_RESET), 1);
	assert_true(hc_down(h, 0));

	/* A status line in time, then no close: the connection is reset at the deadline. */
	{
		struct th_peer p;
		until_syn(h, &p);
		syn_ack(h, &p);
		pop_all(h, &p, NULL, 0, NULL);
		th_peer_send(h, &p, F_ACK | F_PSH, "HTTP/1.1 200 OK\r\n", 17);
		assert_int_equal(stat(h, HEALTH_successes), 4);
		step(h, 49);
		assert_false(pop_all(h, &p, NULL, 0, NULL) & (F_RST | F_FIN)); /* a delayed ACK at most */
		step(h, 1);
		assert_true(pop_all(h, &p, NULL, 0, NULL) & F_RST);
		assert_int_equal(failures(h, HEALTH_F_TIMEOUT), 0);
	}
	/* No status line within timeout_ms. */
	{
		struct th_peer p;
		until_syn(h, &p);
		syn_ack(h, &p);
		pop_all(h, &p, NULL, 0, NULL);
		step(h, 50);
		assert_true(pop_all(h, &p, NULL, 0, NULL) & F_RST);
		assert_int_equal(failures(h, HEALTH_F_TIMEOUT), 1);
	}
	assert_int_equal(stat(h, HEALTH_checks), 8);
	assert_int_equal(stat(h, HEALTH_successes) + stat(h, HEALTH_failures), 8);
	teardown_th(h);
}

/* ---- reloads and owners ------------------------------------------------------------------------- */

static void test_reload_keeps_state(void **state)
{
	(void)state;
	const char *hc = "{interval_ms: 100, jitter_ms: 0, timeout_ms: 50, unhealthy_threshold: 1, healthy_threshold: 3}";
	struct th *h = setup_with(hc, 1);
	struct th_peer p;

	step(h, 1);
	expect_syn(h, &p);
	refuse(h, &p);
	assert_int_equal(health_stats(h->w)->unhealthy, 1);

	/* The same endpoint (and a new one) in a new snapshot: still unhealthy, in the new state too. */
	publish(h, compile(hc, 1, ", {address: 198.18.0.2, port: 8081}"));
	step(h, 1);
	assert_int_equal(health_stats(h->w)->endpoints, 2);
	assert_int_equal(health_stats(h->w)->unhealthy, 1);
	assert_true(hc_down(h, 0));
	assert_false(hc_down(h, 1)); /* the new one starts healthy */
	step(h, 99);
	pop_all(h, &p, NULL, 0, NULL); /* both endpoints' SYNs */
	assert_int_equal(stat(h, HEALTH_checks), 3);

	/* health_check removed: the check in flight is dropped (SYN-SENT: no RST), none follows. */
	assert_int_equal(th_stats(h)->state[TCP_SYN_SENT], 1);
	publish(h, compile("", 1, ""));
	step(h, 1);
	th_none(h);
	assert_int_equal(th_stats(h)->state[TCP_SYN_SENT], 0);
	assert_int_equal(health_stats(h->w)->endpoints, 0);
	assert_int_equal(health_stats(h->w)->unhealthy, 0);
	step(h, 500);
	th_none(h);
	teardown_th(h);
}

/* IPv4 and IPv6 endpoints side by side: each checked over its own family. */
static void test_ipv6_endpoint(void **state)
{
	(void)state;
	struct th *h = cur = th_new(NULL, 1);
	struct th_out o4, o6, o;

	assert_int_equal(health_init(h->w), 0);
	publish(h, compile("{interval_ms: 100, jitter_ms: 0, timeout_ms: 50, unhealthy_threshold: 1}", 1,
			   ", {address: \"2001:db8::2\", port: 8443}"));
	step(h, 1);
	assert_int_equal(health_stats(h->w)->endpoints, 2);
	th_pop(h, &o4);
	th_pop(h, &o6);
	if (o4.af == 6) {
		o = o4;
		o4 = o6;
		o6 = o;
	}
	assert_int_equal(o4.af, 4);
	assert_int_equal(o4.dport, 8080);
	assert_int_equal(o6.af, 6);
	assert_int_equal(o6.dport, 8443);
	assert_int_equal(o6.flags, F_SYN);

	struct th_seg s6 = {.af = 6, .sport = 8443, .dport = o6.sport, .flags = F_SYN | F_ACK, .seq = 9000,
			    .ack = o6.seq + 1, .wnd = 65535, .mss = 1440};
	th_in(h, &s6);
	th_pop(h, &o);
	while (!(o.flags & F_RST))
		th_pop(h, &o);
	assert_int_equal(o.af, 6);
	struct th_seg s4 = {.af = 4, .sport = 8080, .dport = o4.sport, .flags = F_RST | F_ACK, .ack = o4.seq + 1};
	th_in(h, &s4);
	assert_int_equal(stat(h, HEALTH_successes), 1);
	assert_int_equal(failures(h, HEALTH_F_CONNECT_REFUSED), 1);
	assert_true(hc_down(h, 0));
	assert_false(hc_down(h, 1));
	teardown_th(h);
}

static void test_one_owner_per_endpoint(void **state)
{
	(void)state;
	char eps[1024] = "";
	size_t n = 0;
	struct th *h = cur = th_new(NULL, 2);

	for (unsigned k = 0; k < 2; k++)
		assert_int_equal(health_init(&h->workers[k]), 0);
	for (unsigned port = 8081; port < 8081 + 15; port++)
		n += (size_t)snprintf(eps + n, sizeof(eps) - n, ", {address: 198.18.0.2, port: %u}", port);
	publish(h, compile("{interval_ms: 1000, jitter_ms: 0}", 2, eps));
	step(h, 1);
	uint64_t e0 = health_stats(&h->workers[0])->endpoints, e1 = health_stats(&h->workers[1])->endpoints;
	assert_int_equal(e0 + e1, 16);
	assert_true(e0 > 0 && e1 > 0); /* 16 endpoints hashed over 2 workers: both get some */
	assert_int_equal(health_stats(&h->workers[0])->stat[HEALTH_checks] +
				 health_stats(&h->workers[1])->stat[HEALTH_checks],
			 16);
	teardown_th(h);
}

/* After a failed test, free what it left so that the next one starts clean. */
static int teardown(void **state)
{
	(void)state;
	if (cur != NULL)
		teardown_th(cur);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_tcp_thresholds_and_schedule, teardown),
		cmocka_unit_test_teardown(test_tcp_timeout, teardown),
		cmocka_unit_test_teardown(test_http_statuses_and_reasons, teardown),
		cmocka_unit_test_teardown(test_reload_keeps_state, teardown),
		cmocka_unit_test_teardown(test_ipv6_endpoint, teardown),
		cmocka_unit_test_teardown(test_one_owner_per_endpoint, teardown),
	};
	return cmocka_run_group_tests_name("health", tests, th_group_setup, th_group_teardown);
}
