/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The HTTP proxy state machine (dataplane/proxy/http_proxy.c) in one
 * process, without a kernel or a NIC:
 *
 *   client stack --> proxy node (tcp_proxy + http_proxy) --> upstream stack
 *
 * Three of weft's TCP stacks are wired back to back through their output
 * seam (tcp_set_output()) by tests/lib/stack3_harness.c, as in perf/bench_http.c. The client sends what a
 * case scripts; the upstream answers each request head it reads with the
 * next action of its script (a response, a reset, silence) and records the
 * heads it saw. Time is virtual: every worker has hz = 1e9 and step_ms()
 * moves now by a millisecond and runs the timers, so timeouts are reached
 * without sleeping. Each case builds everything anew and, at its end, frees
 * it and checks that every mbuf is back in the pool.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "dataplane/l4/tcp_proxy.h"
#include "dataplane/proxy/http_proxy.h"
#include "dataplane/tcp/tcp.h"
#include "dataplane/worker.h"
#include "tests/lib/stack3_harness.h"

enum { PROXY = STACK3_PROXY, CLIENT = STACK3_CLIENT, SERVER = STACK3_SERVER, N_NODES = STACK3_N };

#define HZ 1000000000ull
#define POOL_SIZE 8191
#define MAX_SRV 8
#define MAX_REQ 16
#define MAX_ACT 8
#define RXCAP (1u << 20)
#define BIG 300000
#define HUGE 900000

/* A connection end of the client or the upstream: what it received. */
struct end {
	struct tcp_conn *c;
	bool established, reset, closed;
	char rx[RXCAP + 1];
	size_t len, pos; /* pos: bytes already taken as whole messages */
	bool hold;       /* the client does not read (backpressure) */
	const char *tx;  /* bytes still to send (the upstream's long answers) */
	size_t tx_len;
};

enum act { ACT_RESPOND, ACT_RESET, ACT_CLOSE, ACT_SILENT, ACT_BIG };
struct action {
	enum act kind;
	const char *resp;
};

static struct rte_mempool *pool;
static struct stack3 *s3;
static struct end client, client2;
static struct end srv[MAX_SRV];
static unsigned n_srv;
/* The upstream's view: every request head it read, and on which connection. */
static char req_head[MAX_REQ][4096];
static char req_body[MAX_REQ][256];
static unsigned req_conn[MAX_REQ], n_req;
static size_t req_blen[MAX_REQ];
static char *big_resp; /* a 200 with a BIG-byte body of a pattern */
static size_t big_resp_len;
static struct action script[MAX_ACT];
static unsigned n_act, next_act;

static const char OK_RESP[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Up: yes\r\n\r\nhello";
static const char R503[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy";
static const char RA[] = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nAAA";
static const char RB[] = "HTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\nBBB";

static const char YAML[] =
	"ports:\n"
	"  - {name: p0, driver: ring, addresses: [198.18.0.1/24]}\n"
	"  - {name: p1, driver: ring, addresses: [198.18.1.1/24]}\n"
	"clusters:\n"
	"  - {name: b, idle_timeout_ms: 2000, endpoints: [{address: 198.18.1.2, port: 8080}]}\n"
	"  - {name: closed, endpoints: [{address: 198.18.1.2, port: 8081}]}\n"
	"  - {name: tiny, circuit_breakers: {max_requests: 1}, endpoints: [{address: 198.18.1.2, port: 8080}]}\n"
	"  - {name: dark, endpoints: [{address: 198.18.1.9, port: 8080}]}\n"
	"route_configs:\n"
	"  - name: main\n"
	"    virtual_hosts:\n"
	"      - name: t\n"
	"        domains: [a.test]\n"
	"        routes:\n"
	"          - {match: {prefix: /noretry}, route: {cluster: b, retry_policy: {num_retries: 0}}}\n"
	"          - {match: {prefix: /tiny}, route: {cluster: tiny, timeout_ms: 60000}}\n"
	"          - {match: {prefix: /dark}, route: {cluster: dark, timeout_ms: 60000}}\n"
	"          - {match: {prefix: /refused}, route: {cluster: closed}}\n"
	"          - {match: {prefix: /pertry}, route: {cluster: b, retry_policy: {per_try_timeout_ms: 100}}}\n"
	"          - {match: {prefix: /slow}, route: {cluster: b, timeout_ms: 300}}\n"
	"          - {match: {prefix: /}, route: {cluster: b}}\n"
	"listeners:\n"
	"  - {name: h, kind: http, address: 198.18.0.1, port: 80, route_config: main,\n"
	"     request_header_timeout_ms: 500}\n";

/* ---- the wire ------------------------------------------------------------------------------ */

/* 198.18.1.9 is nobody: what is sent to it is lost (the connect-timeout case). */
static bool to_nobody(const struct rte_mbuf *m)
{
	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(m, const struct rte_ipv4_hdr *);

	return ip->dst_addr == rte_cpu_to_be_32(RTE_IPV4(198, 18, 1, 9));
}

/* Deliver until every queue is empty. */
static void pump(void)
{
	for (int guard = 0; guard < 100000; guard++) {
		bool any = false;
		for (int i = 0; i < N_NODES; i++)
			any |= stack3_deliver_one(s3, i);
		if (s3->dropped_full > 0)
			fail_msg("wire queue full");
		if (!any)
			return;
	}
	fail_msg("the wire never went quiet");
}

static void step_ms(unsigned ms)
{
	for (unsigned k = 0; k < ms; k++) {
		for (int i = 0; i < N_NODES; i++) {
			s3->node[i].w.now += HZ / 1000;
			stack3_timers(s3, i); /* on the proxy, tcp_proxy_timers() and http_proxy_timers() too */
		}
		pump();
	}
}

/* ---- the ends -------------------------------------------------------------------------------- */

static void end_read(struct weft_worker *w, struct end *e)
{
	size_t n;

	while (e->len < RXCAP && (n = tcp_recv_copy(w, e->c, e->rx + e->len, RXCAP - e->len)) > 0)
		e->len += n;
	e->rx[e->len] = '\0';
}

static void client_event(struct weft_worker *w, struct tcp_conn *c, enum tcp_event ev, void *user)
{
	struct end *e = user;

	(void)c;
	switch (ev) {
	case TCP_EV_ESTABLISHED: e->established = true; break;
	case TCP_EV_READABLE:
		if (!e->hold)
			end_read(w, e);
		break;
	case TCP_EV_PEER_CLOSED: e->closed = true; break;
	case TCP_EV_RESET: e->reset = true; e->c = NULL; break;
	case TCP_EV_CLOSED: e->closed = true; e->c = NULL; break;
	default: break;
	}
}

/* Content-Length of a head (0 when absent). */
static size_t head_clen(const char *h, size_t hlen)
{
	for (size_t i = 0; i + 15 < hlen; i++)
		if ((i == 0 || h[i - 1] == '\n') && strncasecmp(h + i, "content-length:", 15) == 0)
			return (size_t)strtoul(h + i + 15, NULL, 10);
	return 0;
}

static void server_push(struct weft_worker *w, struct end *e)
{
	while (e->tx_len > 0 && e->c != NULL) {
		int k = tcp_send(w, e->c, e->tx, e->tx_len);
		if (k <= 0)
			return; /* WRITABLE comes back */
		e->tx += k;
		e->tx_len -= (size_t)k;
	}
}

static void server_event(struct weft_worker *w, struct tcp_conn *c, enum tcp_event ev, void *user)
{
	struct end *e = user;

	switch (ev) {
	case TCP_EV_READABLE:
		end_read(w, e);
		for (;;) {
			const char *h = e->rx + e->pos, *t = strstr(h, "\r\n\r\n");
			if (t == NULL)
				break;
			size_t hlen = (size_t)(t - h) + 4, clen = head_clen(h, hlen);
			if (e->len - e->pos < hlen + clen)
				break;
			if (n_req < MAX_REQ) {
				snprintf(req_head[n_req], sizeof(req_head[0]), "%.*s", (int)hlen, h);
				snprintf(req_body[n_req], sizeof(req_body[0]), "%.*s", (int)clen, h + hlen);
				req_blen[n_req] = clen;
				for (size_t i = 0; i < clen; i++)
					if (h[hlen + i] != (char)('a' + i % 26))
						req_blen[n_req] = 0; /* the body is not what the client sent */
				req_conn[n_req++] = (unsigned)(e - srv);
			}
			e->pos += hlen + clen;
			struct action a = next_act < n_act ? script[next_act++] : (struct action){ACT_RESPOND, OK_RESP};
			if (a.kind == ACT_RESPOND) {
				(void)tcp_send(w, c, a.resp, strlen(a.resp));
			} else if (a.kind == ACT_BIG) {
				e->tx = big_resp;
				e->tx_len = big_resp_len;
				server_push(w, e);
			} else if (a.kind == ACT_RESET) {
				tcp_abort(w, c);
				e->c = NULL;
				e->reset = true;
				return;
			} else if (a.kind == ACT_CLOSE) {
				/* FIN without an answer; the FIN acknowledges the request */
				tcp_close(w, c);
				e->c = NULL;
				e->closed = true;
				return;
			}
		}
		break;
	case TCP_EV_WRITABLE:
		server_push(w, e);
		break;
	case TCP_EV_PEER_CLOSED:
		e->closed = true;
		tcp_close(w, c);
		e->c = NULL;
		break;
	case TCP_EV_RESET:
	case TCP_EV_CLOSED:
		e->closed = true;
		e->c = NULL;
		break;
	default:
		break;
	}
}

/* A new upstream connection of the proxy's: the next server end (NULL, aborted, past MAX_SRV). */
static void *server_attach(struct weft_worker *w, struct tcp_conn *c)
{
	(void)w;
	if (n_srv == MAX_SRV)
		return NULL;
	struct end *e = &srv[n_srv++];
	e->c = c;
	e->established = true;
	return e;
}

/* ---- set-up and tear-down ---------------------------------------------------------------------- */

static int setup(void **state)
{
	struct tcp_params prm;

	(void)state;
	memset(&client, 0, sizeof(client));
	memset(&client2, 0, sizeof(client2));
	memset(srv, 0, sizeof(srv));
	n_srv = n_req = n_act = next_act = 0;
	s3 = stack3_new(pool, HZ, 10 * HZ);
	if (s3 == NULL)
		return -1;
	s3->lost = to_nobody;
	tcp_params_default(&prm);
	prm.max_conns = 256;
	if (stack3_setup(s3, YAML, &prm) != 0 || stack3_proxy_init(s3, 64, 64, 64) != 0) {
		print_error("%s\n", s3->err);
		return -1;
	}
	stack3_serve(s3, SERVER, 8080, server_event, server_attach);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	stack3_free(s3);
	s3 = NULL;
	free(big_resp);
	big_resp = NULL;
	/* Every mbuf back: the stacks, the proxy and the wire leaked none. */
	assert_int_equal(rte_mempool_avail_count(pool), POOL_SIZE);
	return 0;
}

static int group_setup(void **state)
{
	(void)state;
	if (stack3_eal_init("test_http_proxy", 256) != 0)
		return -1;
	pool = rte_pktmbuf_pool_create("hp_test", POOL_SIZE, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	return pool == NULL ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	rte_mempool_free(pool);
	rte_eal_cleanup();
	return 0;
}

/* ---- helpers of the cases ------------------------------------------------------------------------ */

static void end_connect(struct end *e)
{
	struct weft_ip dst;
	int err = 0;
	struct tcp_accept opt = {.fn = client_event, .user = e};

	weft_ip_parse("198.18.0.1", &dst);
	e->c = tcp_connect_ex(&s3->node[CLIENT].w, &dst, 80, &opt, &err);
	assert_non_null(e->c);
	pump();
	assert_true(e->established);
}

static void client_connect(void)
{
	end_connect(&client);
}

static void client_send(const char *s)
{
	assert_non_null(client.c);
	assert_int_equal(tcp_send(&s3->node[CLIENT].w, client.c, s, strlen(s)), (int)strlen(s));
	pump();
}

struct resp {
	unsigned status;
	char head[4096];
	char body[4096];
};

/* Take the next whole response the client holds; false when there is none (yet). */
static bool end_take(struct end *e, struct resp *r)
{
	const char *h = e->rx + e->pos, *t = strstr(h, "\r\n\r\n");
	if (t == NULL)
		return false;
	size_t hlen = (size_t)(t - h) + 4, clen = head_clen(h, hlen);
	if (e->len - e->pos < hlen + clen)
		return false;
	memset(r, 0, sizeof(*r));
	snprintf(r->head, sizeof(r->head), "%.*s", (int)hlen, h);
	snprintf(r->body, sizeof(r->body), "%.*s", (int)clen, h + hlen);
	r->status = (unsigned)strtoul(h + 9, NULL, 10);
	e->pos += hlen + clen;
	return true;
}

static bool client_take(struct resp *r)
{
	return end_take(&client, r);
}

/* Run virtual time until a response is whole, up to max_ms. */
static void client_wait(struct resp *r, unsigned max_ms)
{
	for (unsigned ms = 0; ms <= max_ms; ms++) {
		if (client_take(r))
			return;
		step_ms(1);
	}
	fail_msg("no whole response within %u ms; client holds: %s", max_ms, client.rx + client.pos);
}

/* Send all of s (len bytes), running time while the window is closed. */
static void client_send_all(const char *s, size_t len)
{
	size_t off = 0;

	for (unsigned ms = 0; off < len; ms++) {
		assert_true(ms < 5000);
		assert_non_null(client.c);
		int k = tcp_send(&s3->node[CLIENT].w, client.c, s + off, len - off);
		if (k > 0)
			off += (size_t)k;
		pump();
		if (k <= 0)
			step_ms(1);
	}
}

/* Send req, wait up to max_ms of virtual time for the whole response and check its status. */
static void exchange(const char *req, unsigned max_ms, unsigned status, struct resp *r)
{
	client_send(req);
	client_wait(r, max_ms);
	assert_int_equal(r->status, status);
}

/* A plain GET of path (Host: a.test), sent on the client's connection. */
static void client_get(const char *path)
{
	char req[256];

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: a.test\r\n\r\n", path);
	client_send(req);
}

/* The same GET as an exchange(). */
static void get(const char *path, unsigned max_ms, unsigned status, struct resp *r)
{
	client_get(path);
	client_wait(r, max_ms);
	assert_int_equal(r->status, status);
}

static bool has_line(const char *head, const char *line)
{
	const char *p = head;
	size_t n = strlen(line);

	while ((p = strstr(p, "\n")) != NULL) {
		p++;
		if (strncasecmp(p, line, n) == 0 && p[n] == '\r')
			return true;
	}
	return false;
}

static bool has_field(const char *head, const char *name)
{
	const char *p = head;
	size_t n = strlen(name);

	while ((p = strstr(p, "\n")) != NULL) {
		p++;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':')
			return true;
	}
	return false;
}

static uint64_t hp_stat(enum http_proxy_stat s)
{
	return http_proxy_stats(&s3->node[PROXY].w)->stat[s];
}

static void add_act(enum act k, const char *resp)
{
	script[n_act++] = (struct action){k, resp};
}

/* Close the client and let every connection finish, so the case ends quiet. */
static void finish(void)
{
	if (client.c != NULL)
		tcp_close(&s3->node[CLIENT].w, client.c);
	step_ms(50);
}

/* ---- the cases ---------------------------------------------------------------------------------- */

/* A GET goes through: answered, the upstream saw the attempt count, XFF, and no hop-by-hop field. */
static void t_get_proxied(void **state)
{
	struct resp r;

	(void)state;
	client_connect();
	exchange("GET /x HTTP/1.1\r\nHost: a.test\r\nConnection: keep-alive, X-Private\r\n"
		    "Keep-Alive: timeout=5\r\nX-Private: secret\r\nTE: trailers\r\nProxy-Connection: keep-alive\r\n"
		    "X-Keep: 1\r\n\r\n", 100, 200, &r);
	assert_string_equal(r.body, "hello");
	assert_true(has_line(r.head, "x-up: yes"));
	assert_int_equal(n_req, 1);
	const char *h = req_head[0];
	assert_true(strncmp(h, "GET /x HTTP/1.1\r\n", 17) == 0);
	assert_true(has_line(h, "x-weft-attempt-count: 1"));
	assert_true(has_line(h, "x-forwarded-for: 198.18.0.2"));
	assert_true(has_line(h, "x-keep: 1"));
	assert_false(has_field(h, "keep-alive"));
	assert_false(has_field(h, "x-private"));
	assert_false(has_field(h, "te"));
	assert_false(has_field(h, "proxy-connection"));
	assert_false(has_line(h, "connection: keep-alive, X-Private"));
	assert_int_equal(hp_stat(HTTP_PROXY_upstream_requests), 1);
	assert_int_equal(hp_stat(HTTP_PROXY_responses_2xx), 1);
	finish();
}

/* Two requests on one client connection use one upstream connection, the second from the pool. */
static void t_keepalive_reuse(void **state)
{
	struct resp r;

	(void)state;
	client_connect();
	get("/one", 100, 200, &r);
	get("/two", 100, 200, &r);
	assert_string_equal(r.body, "hello");
	assert_int_equal(n_req, 2);
	assert_int_equal(n_srv, 1);
	assert_int_equal(req_conn[0], req_conn[1]);
	assert_true(has_line(req_head[1], "x-weft-attempt-count: 1"));
	assert_int_equal(hp_stat(HTTP_PROXY_upstream_connects), 1);
	assert_int_equal(hp_stat(HTTP_PROXY_pool_reuse), 1);
	finish();
}

/* 503 then 200: the default retry_policy retries the gateway error; the client sees the 200. */
static void t_retry_503(void **state)
{
	struct resp r;

	(void)state;
	add_act(ACT_RESPOND, R503);
	client_connect();
	get("/r", 1000, 200, &r);
	assert_string_equal(r.body, "hello");
	assert_int_equal(n_req, 2);
	assert_true(has_line(req_head[0], "x-weft-attempt-count: 1"));
	assert_true(has_line(req_head[1], "x-weft-attempt-count: 2"));
	assert_int_equal(hp_stat(HTTP_PROXY_retries), 1);
	assert_int_equal(hp_stat(HTTP_PROXY_retries_status), 1);
	assert_int_equal(hp_stat(HTTP_PROXY_responses_discarded), 1);
	finish();
}

/* The upstream resets before its head: a GET is retried (reset is in the default retry_on). */
static void t_reset_retried(void **state)
{
	struct resp r;

	(void)state;
	add_act(ACT_RESET, NULL);
	client_connect();
	get("/r", 1000, 200, &r);
	assert_int_equal(n_req, 2);
	assert_true(has_line(req_head[0], "x-weft-attempt-count: 1"));
	assert_true(has_line(req_head[1], "x-weft-attempt-count: 2"));
	assert_int_equal(hp_stat(HTTP_PROXY_retries_reset), 1);
	finish();
}

/* The same reset on a route with num_retries: 0: 502 upstream_reset. */
static void t_reset_no_retry_502(void **state)
{
	struct resp r;

	(void)state;
	add_act(ACT_RESET, NULL);
	client_connect();
	get("/noretry", 1000, 502, &r);
	assert_true(has_line(r.head, "x-weft-reason: upstream_reset"));
	assert_int_equal(n_req, 1);
	assert_int_equal(hp_stat(HTTP_PROXY_retries), 0);
	assert_int_equal(http_proxy_stats(&s3->node[PROXY].w)->reason[HP_R_UPSTREAM_RESET], 1);
	finish();
}

/* A POST that reached the upstream and got 503 is not sent again. */
static void t_post_not_retried(void **state)
{
	struct resp r;

	(void)state;
	add_act(ACT_RESPOND, R503);
	client_connect();
	exchange("POST /p HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\n\r\nabcde", 1000, 503, &r);
	assert_string_equal(r.body, "busy");
	assert_string_equal(req_body[0], "abcde");
	step_ms(500); /* longer than any backoff: no second attempt comes */
	assert_int_equal(n_req, 1);
	assert_int_equal(hp_stat(HTTP_PROXY_retries), 0);
	assert_int_equal(hp_stat(HTTP_PROXY_upstream_attempts), 1);
	finish();
}

/* A head not whole within request_header_timeout_ms (500) of its first byte: 408. */
static void t_header_timeout_408(void **state)
{
	struct resp r;

	(void)state;
	client_connect();
	client_send("GET /x HTTP/1.1\r\nHost: a.te");
	step_ms(400);
	assert_false(client_take(&r));
	client_send("st\r\nX-Slow: 1\r\n"); /* more bytes do not extend the deadline */
	client_wait(&r, 200);
	assert_int_equal(r.status, 408);
	assert_true(has_line(r.head, "x-weft-reason: request_header_timeout"));
	assert_int_equal(n_srv, 0);
	assert_int_equal(hp_stat(HTTP_PROXY_request_header_timeouts), 1);
	finish();
}

/* A malformed head: 400 with the parser's reason, nothing reaches the upstream. */
static void t_malformed_400(void **state)
{
	struct resp r;

	(void)state;
	client_connect();
	exchange("GET /x HTTP/1.1\r\nHost: a.test\r\nX-Bad : 1\r\n\r\n", 100, 400, &r);
	assert_true(has_line(r.head, "x-weft-reason: ws_before_colon"));
	assert_int_equal(http_proxy_stats(&s3->node[PROXY].w)->request_error[H1_E_WS_BEFORE_COLON], 1);
	step_ms(50);
	assert_int_equal(n_srv, 0);
	assert_int_equal(n_req, 0);
	assert_int_equal(hp_stat(HTTP_PROXY_upstream_requests), 0);
	finish();
}

/* The upstream never answers: the route's timeout_ms (300) gives 504 upstream_timeout. */
static void t_route_timeout_504(void **state)
{
	struct resp r;

	(void)state;
	add_act(ACT_SILENT, NULL);
	client_connect();
	client_get("/slow");
	step_ms(250);
	assert_false(client_take(&r));
	client_wait(&r, 200);
	assert_int_equal(r.status, 504);
	assert_true(has_line(r.head, "x-weft-reason: upstream_timeout"));
	assert_int_equal(n_req, 1);
	assert_int_equal(hp_stat(HTTP_PROXY_request_timeouts), 1);
	finish();
}

/* Every attempt answered 503: after num_retries (2) the client gets the upstream's last 503. */
static void t_retries_exhausted(void **state)
{
	struct resp r;

	(void)state;
	add_act(ACT_RESPOND, R503);
	add_act(ACT_RESPOND, R503);
	add_act(ACT_RESPOND, R503);
	client_connect();
	get("/r", 2000, 503, &r);
	assert_string_equal(r.body, "busy");
	step_ms(500);
	assert_int_equal(n_req, 3);
	assert_true(has_line(req_head[2], "x-weft-attempt-count: 3"));
	assert_int_equal(hp_stat(HTTP_PROXY_retries), 2);
	assert_int_equal(hp_stat(HTTP_PROXY_upstream_attempts), 3);
	finish();
}

/*
 * The endpoint refuses the connection: a POST that never reached it is tried
 * again (connect-failure, twice by default), then 503 connect_refused.
 */
static void t_connect_refused_post(void **state)
{
	struct resp r;

	(void)state;
	client_connect();
	exchange("POST /refused HTTP/1.1\r\nHost: a.test\r\nContent-Length: 2\r\n\r\nhi", 2000, 503, &r);
	assert_true(has_line(r.head, "x-weft-reason: connect_refused"));
	assert_int_equal(hp_stat(HTTP_PROXY_retries_connect_failure), 2);
	assert_int_equal(http_proxy_stats(&s3->node[PROXY].w)->reason[HP_R_CONNECT_REFUSED], 1);
	assert_int_equal(n_srv, 0);
	finish();
}

/* Two requests sent at once: both proxied, answered in request order. */
static void t_pipelined_in_order(void **state)
{
	struct resp r;

	(void)state;
	add_act(ACT_RESPOND, RA);
	add_act(ACT_RESPOND, RB);
	client_connect();
	exchange("GET /a HTTP/1.1\r\nHost: a.test\r\n\r\nGET /b HTTP/1.1\r\nHost: a.test\r\n\r\n", 200, 200, &r);
	assert_string_equal(r.body, "AAA");
	client_wait(&r, 200);
	assert_int_equal(r.status, 201);
	assert_string_equal(r.body, "BBB");
	assert_int_equal(n_req, 2);
	assert_true(strncmp(req_head[0], "GET /a ", 7) == 0);
	assert_true(strncmp(req_head[1], "GET /b ", 7) == 0);
	finish();
}

/*
 * A POST over a pooled connection that the upstream read whole, acknowledged,
 * and answered with a FIN and no response: it reached the upstream, so it
 * must not be sent again (retry_policy: a non-idempotent request is retried
 * only when it never reached the upstream); the client gets 502
 * upstream_reset.
 */
static void t_pooled_post_closed_not_retried(void **state)
{
	struct resp r;

	(void)state;
	add_act(ACT_RESPOND, OK_RESP);
	add_act(ACT_CLOSE, NULL);
	client_connect();
	get("/one", 100, 200, &r);
	client_send("POST /p HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\n\r\nabcde");
	client_wait(&r, 1000);
	step_ms(500);
	assert_int_equal(n_req, 2); /* the POST was read once, never again */
	assert_string_equal(req_body[1], "abcde");
	assert_int_equal(r.status, 502);
	assert_true(has_line(r.head, "x-weft-reason: upstream_reset"));
	assert_int_equal(hp_stat(HTTP_PROXY_retries), 0);
	finish();
}

/*
 * A GET over a pooled connection that the upstream resets without having
 * acknowledged any of it (a stale keep-alive connection): refused-stream,
 * sent again on a new connection, answered 200.
 */
static void t_pooled_stale_refused_stream(void **state)
{
	struct resp r;

	(void)state;
	add_act(ACT_RESPOND, OK_RESP);
	add_act(ACT_RESET, NULL);
	client_connect();
	get("/one", 100, 200, &r);
	get("/two", 1000, 200, &r);
	assert_int_equal(n_req, 3);
	assert_int_equal(n_srv, 2);
	assert_true(has_line(req_head[2], "x-weft-attempt-count: 2"));
	assert_int_equal(hp_stat(HTTP_PROXY_retries_refused_stream), 1);
	finish();
}

/* The first attempt gets no answer within per_try_timeout_ms (100): the second is answered. */
static void t_per_try_timeout_retried(void **state)
{
	struct resp r;

	(void)state;
	add_act(ACT_SILENT, NULL);
	client_connect();
	client_get("/pertry");
	step_ms(90);
	assert_int_equal(n_req, 1);
	client_wait(&r, 1000);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello");
	assert_int_equal(n_req, 2);
	assert_true(has_line(req_head[1], "x-weft-attempt-count: 2"));
	assert_int_equal(hp_stat(HTTP_PROXY_per_try_timeouts), 1);
	assert_int_equal(hp_stat(HTTP_PROXY_retries_per_try_timeout), 1);
	finish();
}

/* Bodies larger than every buffer and window, both ways: streamed whole and intact. */
static void t_large_bodies(void **state)
{
	struct resp r;
	static char req[BIG + 256];

	(void)state;
	int hl = snprintf(req, sizeof(req), "POST /up HTTP/1.1\r\nHost: a.test\r\nContent-Length: %d\r\n\r\n", BIG);
	for (int i = 0; i < BIG; i++)
		req[hl + i] = (char)('a' + i % 26);
	big_resp = malloc(BIG + 128);
	assert_non_null(big_resp);
	int rl = snprintf(big_resp, 128, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", BIG);
	for (int i = 0; i < BIG; i++)
		big_resp[rl + i] = (char)('A' + i % 26);
	big_resp_len = (size_t)rl + BIG;
	add_act(ACT_BIG, NULL);
	client_connect();
	client_send_all(req, (size_t)hl + BIG);
	for (unsigned ms = 0; ms < 5000 && client.len < big_resp_len; ms++)
		step_ms(1);
	assert_int_equal(n_req, 1);
	assert_int_equal(req_blen[0], BIG); /* the whole body, in order */
	const char *t = strstr(client.rx, "\r\n\r\n");
	assert_non_null(t);
	size_t off = (size_t)(t + 4 - client.rx);
	assert_int_equal(client.len - off, BIG);
	for (size_t i = 0; i < BIG; i++)
		if (client.rx[off + i] != (char)('A' + i % 26))
			fail_msg("response byte %zu differs", i);
	assert_true(client_take(&r));
	assert_int_equal(r.status, 200);
	finish();
}

/* The client resets while the upstream has not answered: the upstream connection is not pooled. */
static void t_client_abort(void **state)
{
	(void)state;
	add_act(ACT_SILENT, NULL);
	client_connect();
	client_get("/x");
	step_ms(10);
	assert_int_equal(n_req, 1);
	tcp_abort(&s3->node[CLIENT].w, client.c);
	client.c = NULL;
	step_ms(50);
	assert_int_equal(hp_stat(HTTP_PROXY_downstream_aborted), 1);
	assert_int_equal(hp_stat(HTTP_PROXY_pool_returned), 0);
	assert_int_equal(http_proxy_stats(&s3->node[PROXY].w)->streams_active, 0);
	assert_true(srv[0].closed); /* the upstream connection was closed or reset */
	finish();
}

/* A PUT (idempotent) whose body came after its head: 503, then sent again whole, answered 200. */
static void t_put_body_replayed(void **state)
{
	struct resp r;

	(void)state;
	add_act(ACT_RESPOND, R503);
	client_connect();
	client_send("PUT /r HTTP/1.1\r\nHost: a.test\r\nContent-Length: 10\r\n\r\n");
	step_ms(5);
	exchange("abcdefghij", 1000, 200, &r);
	assert_int_equal(n_req, 2);
	assert_int_equal(req_blen[0], 10);
	assert_int_equal(req_blen[1], 10);
	assert_string_equal(req_body[1], "abcdefghij");
	assert_true(has_line(req_head[1], "x-weft-attempt-count: 2"));
	assert_true(has_line(req_head[1], "content-length: 10"));
	finish();
}

/* An upstream answer with Connection: close is not pooled: the next request opens a new connection. */
static void t_upstream_close_not_pooled(void **state)
{
	struct resp r;
	static const char closing[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

	(void)state;
	add_act(ACT_RESPOND, closing);
	client_connect();
	get("/one", 100, 200, &r);
	assert_string_equal(r.body, "ok");
	assert_false(has_field(r.head, "connection")); /* hop-by-hop: the client's connection stays open */
	get("/two", 100, 200, &r);
	assert_int_equal(n_srv, 2);
	assert_int_equal(req_conn[1], 1);
	assert_int_equal(hp_stat(HTTP_PROXY_pool_reuse), 0);
	assert_int_equal(hp_stat(HTTP_PROXY_upstream_connects), 2);
	finish();
}

/* An HTTP/1.0 client gets a chunked response decoded, delimited by the close. */
static void t_http10_dechunked(void **state)
{
	static const char chunked[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
				      "5\r\nhello\r\n3\r\nabc\r\n0\r\n\r\n";

	(void)state;
	add_act(ACT_RESPOND, chunked);
	client_connect();
	client_send("GET /x HTTP/1.0\r\nHost: a.test\r\n\r\n");
	for (unsigned ms = 0; ms < 200 && !client.closed; ms++)
		step_ms(1);
	assert_true(client.closed);
	const char *t = strstr(client.rx, "\r\n\r\n");
	assert_non_null(t);
	assert_true(strncmp(client.rx + 9, "200", 3) == 0);
	assert_false(has_field(client.rx, "transfer-encoding"));
	assert_string_equal(t + 4, "helloabc");
	finish();
}

/* A HEAD is answered with the head alone, and the connection goes on with the next request. */
static void t_head_then_get(void **state)
{
	struct resp r;
	static const char head_resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";

	(void)state;
	add_act(ACT_RESPOND, head_resp);
	client_connect();
	client_send("HEAD /x HTTP/1.1\r\nHost: a.test\r\n\r\n");
	step_ms(20);
	const char *t = strstr(client.rx, "\r\n\r\n");
	assert_non_null(t);
	assert_true(has_line(client.rx, "content-length: 100"));
	assert_int_equal(client.len, (size_t)(t + 4 - client.rx)); /* no body */
	client.pos = client.len;
	get("/y", 100, 200, &r);
	assert_string_equal(r.body, "hello");
	assert_int_equal(n_req, 2);
	assert_int_equal(hp_stat(HTTP_PROXY_pool_reuse), 1);
	finish();
}

/*
 * request_header_timeout_ms runs from a head's first byte: a keep-alive
 * connection quiet longer than it between two requests is not answered 408,
 * and the second head gets its own 500 ms.
 */
static void t_header_timeout_per_request(void **state)
{
	struct resp r;

	(void)state;
	client_connect();
	get("/one", 100, 200, &r);
	step_ms(1200);
	assert_false(client_take(&r));
	client_send("GET /two HTTP/1.1\r\nHost: a.");
	step_ms(300);
	exchange("test\r\n\r\n", 100, 200, &r);
	assert_int_equal(n_req, 2);
	assert_int_equal(hp_stat(HTTP_PROXY_request_header_timeouts), 0);
	finish();
}

/* Expect: 100-continue: the client is told to go on, its body reaches the upstream. */
static void t_expect_continue(void **state)
{
	struct resp r;

	(void)state;
	client_connect();
	client_send("POST /p HTTP/1.1\r\nHost: a.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
	step_ms(20);
	assert_true(client_take(&r));
	assert_int_equal(r.status, 100);
	exchange("abcde", 200, 200, &r);
	assert_int_equal(n_req, 1);
	assert_string_equal(req_body[0], "abcde");
	finish();
}

/* A chunked 503 is read to its end and dropped; the retry's 200 is what the client gets. */
static void t_chunked_503_discarded(void **state)
{
	struct resp r;
	static const char c503[] = "HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n"
				   "4\r\nbusy\r\n0\r\n\r\n";

	(void)state;
	add_act(ACT_RESPOND, c503);
	client_connect();
	get("/r", 1000, 200, &r);
	assert_string_equal(r.body, "hello");
	assert_int_equal(n_req, 2);
	assert_int_equal(hp_stat(HTTP_PROXY_responses_discarded), 1);
	step_ms(20);
	assert_int_equal(client.len, client.pos); /* nothing of the 503 reached the client */
	finish();
}

/* The route timeout (300 ms) spans every attempt: a 503, then silence, gives 504 by 300 ms. */
static void t_route_timeout_spans_retries(void **state)
{
	struct resp r;

	(void)state;
	add_act(ACT_RESPOND, R503);
	add_act(ACT_SILENT, NULL);
	client_connect();
	get("/slow", 310, 504, &r);
	assert_true(has_line(r.head, "x-weft-reason: upstream_timeout"));
	assert_int_equal(n_req, 2);
	assert_int_equal(hp_stat(HTTP_PROXY_request_timeouts), 1);
	finish();
}

/* An upstream response the parser refuses (Content-Length twice): 502 bad_response, counted. */
static void t_bad_response_502(void **state)
{
	struct resp r;
	static const char bad[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello";

	(void)state;
	add_act(ACT_RESPOND, bad);
	add_act(ACT_RESPOND, bad);
	add_act(ACT_RESPOND, bad);
	client_connect();
	get("/noretry", 1000, 502, &r);
	assert_true(has_line(r.head, "x-weft-reason: bad_response"));
	assert_int_equal(http_proxy_stats(&s3->node[PROXY].w)->response_error[H1_E_CL_REPEATED], 1);
	assert_int_equal(n_req, 1);
	finish();
}

/* An endpoint that never answers the SYN: connect_timeout_ms (1000) per try, retried, then 503. */
static void t_connect_timeout_503(void **state)
{
	struct resp r;

	(void)state;
	client_connect();
	client_get("/dark");
	step_ms(900);
	if (client_take(&r))
		fail_msg("answered after 900 ms: %u %s", r.status, r.head);
	client_wait(&r, 5000);
	assert_int_equal(r.status, 503);
	assert_true(has_line(r.head, "x-weft-reason: connect_timeout"));
	assert_int_equal(hp_stat(HTTP_PROXY_retries_connect_failure), 2);
	finish();
}

/* max_requests: 1 and one request in flight: a second one is answered 503 at once, saying which. */
static void t_breaker_overflow(void **state)
{
	struct resp r;

	(void)state;
	add_act(ACT_SILENT, NULL);
	client_connect();
	end_connect(&client2);
	client_get("/tiny");
	step_ms(5);
	assert_int_equal(n_req, 1);
	assert_int_equal(tcp_send(&s3->node[CLIENT].w, client2.c, "GET /tiny HTTP/1.1\r\nHost: a.test\r\n\r\n", 36), 36);
	step_ms(5);
	assert_true(end_take(&client2, &r));
	assert_int_equal(r.status, 503);
	assert_true(has_line(r.head, "x-weft-reason: overflow_max_requests"));
	assert_true(has_field(r.head, "x-weft-overflow"));
	assert_int_equal(hp_stat(HTTP_PROXY_breaker_overflows), 1);
	assert_int_equal(n_req, 1);
	assert_false(client_take(&r));
	tcp_close(&s3->node[CLIENT].w, client2.c);
	client2.c = NULL;
	finish();
}

/* A retried request with the next one pipelined behind it: the replay carries its own body only. */
static void t_pipelined_retry(void **state)
{
	struct resp r;

	(void)state;
	add_act(ACT_RESPOND, R503);
	add_act(ACT_RESPOND, RA);
	add_act(ACT_RESPOND, RB);
	client_connect();
	exchange("PUT /a HTTP/1.1\r\nHost: a.test\r\nContent-Length: 3\r\n\r\nabc"
		    "GET /b HTTP/1.1\r\nHost: a.test\r\n\r\n", 1000, 200, &r);
	assert_string_equal(r.body, "AAA");
	client_wait(&r, 1000);
	assert_int_equal(r.status, 201);
	assert_string_equal(r.body, "BBB");
	assert_int_equal(n_req, 3);
	assert_true(strncmp(req_head[0], "PUT /a ", 7) == 0);
	assert_true(strncmp(req_head[1], "PUT /a ", 7) == 0);
	assert_true(strncmp(req_head[2], "GET /b ", 7) == 0);
	assert_string_equal(req_body[0], "abc");
	assert_string_equal(req_body[1], "abc");
	assert_true(has_line(req_head[1], "x-weft-attempt-count: 2"));
	assert_true(has_line(req_head[2], "x-weft-attempt-count: 1"));
	finish();
}

/* A PUT body over max_body_bytes (65536) is not kept: its 503 goes to the client, not retried. */
static void t_large_put_not_replayable(void **state)
{
	struct resp r;
	static char req[70000 + 256];

	(void)state;
	int hl = snprintf(req, sizeof(req), "PUT /big HTTP/1.1\r\nHost: a.test\r\nContent-Length: 70000\r\n\r\n");
	for (int i = 0; i < 70000; i++)
		req[hl + i] = (char)('a' + i % 26);
	add_act(ACT_RESPOND, R503);
	client_connect();
	client_send_all(req, (size_t)hl + 70000);
	client_wait(&r, 2000);
	assert_int_equal(r.status, 503);
	assert_string_equal(r.body, "busy");
	step_ms(500);
	assert_int_equal(n_req, 1);
	assert_int_equal(req_blen[0], 70000);
	assert_int_equal(hp_stat(HTTP_PROXY_retries), 0);
	assert_int_equal(hp_stat(HTTP_PROXY_retries_not_replayable), 1);
	finish();
}

/* A pooled connection idle past the cluster's idle_timeout_ms (2000) is closed; the next request opens another. */
static void t_pool_idle_timeout(void **state)
{
	struct resp r;

	(void)state;
	client_connect();
	get("/one", 100, 200, &r);
	step_ms(1500);
	assert_int_equal(hp_stat(HTTP_PROXY_pool_closed_idle), 0);
	step_ms(700);
	assert_int_equal(hp_stat(HTTP_PROXY_pool_closed_idle), 1);
	assert_true(srv[0].closed);
	get("/two", 100, 200, &r);
	assert_int_equal(n_srv, 2);
	assert_int_equal(hp_stat(HTTP_PROXY_pool_reuse), 0);
	finish();
}

/* The upstream closes a pooled connection while it is idle: it leaves the pool, the next request is not hurt. */
static void t_pool_closed_by_upstream(void **state)
{
	struct resp r;

	(void)state;
	client_connect();
	get("/one", 100, 200, &r);
	assert_non_null(srv[0].c);
	tcp_close(&s3->node[SERVER].w, srv[0].c);
	srv[0].c = NULL;
	step_ms(10);
	assert_int_equal(hp_stat(HTTP_PROXY_pool_closed_by_upstream), 1);
	get("/two", 100, 200, &r);
	assert_int_equal(n_srv, 2);
	assert_int_equal(hp_stat(HTTP_PROXY_retries), 0);
	finish();
}

/*
 * A client that stops reading: once its receive buffer and the proxy's TCP
 * buffers are full the proxy stops reading the upstream, which keeps the
 * rest of its 900 KB (the proxy does not buffer the body itself); once the
 * client reads again the body arrives whole.
 */
static void t_backpressure(void **state)
{
	char *big = malloc(HUGE + 128);

	(void)state;
	assert_non_null(big);
	big_resp = big; /* freed by teardown */
	int rl = snprintf(big, 128, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", HUGE);
	for (int i = 0; i < HUGE; i++)
		big[rl + i] = (char)('A' + i % 26);
	big_resp_len = (size_t)rl + HUGE;
	add_act(ACT_BIG, NULL);
	client_connect();
	client.hold = true;
	client_get("/big");
	step_ms(500);
	assert_int_equal(n_req, 1);
	struct tcp_conn_info ci;
	assert_non_null(srv[0].c);
	tcp_conn_info(srv[0].c, &ci);
	print_message("# backpressure: proxy took %lu bytes, client holds %zu unread, %u mbufs in use\n",
		      (unsigned long)ci.bytes_out, tcp_rx_ready(client.c), POOL_SIZE - rte_mempool_avail_count(pool));
	/* the proxy took (acknowledged) only windows' worth of the upstream's body */
	/*
	 * What the proxy may hold: the client's receive buffer, the proxy's send
	 * buffer toward it, the proxy's unread receive buffer from the upstream
	 * (default sizes), and 64 KiB of its own buffers; the rest stays upstream.
	 */
	struct tcp_params prm;
	tcp_params_default(&prm);
	if (ci.bytes_out > (uint64_t)prm.rcvbuf * 2 + prm.sndbuf + 65536)
		fail_msg("the proxy took %lu of %zu bytes for a client that reads nothing", (unsigned long)ci.bytes_out,
			 big_resp_len);

	client.hold = false;
	end_read(&s3->node[CLIENT].w, &client);
	for (unsigned ms = 0; ms < 5000 && client.len < big_resp_len; ms++) {
		end_read(&s3->node[CLIENT].w, &client);
		step_ms(1);
	}
	assert_int_equal(client.len, big_resp_len);
	const char *t = strstr(client.rx, "\r\n\r\n");
	assert_non_null(t);
	size_t off = (size_t)(t + 4 - client.rx);
	for (size_t i = 0; i < HUGE; i++)
		if (client.rx[off + i] != (char)('A' + i % 26))
			fail_msg("response byte %zu differs", i);
	finish();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(t_get_proxied, setup, teardown),
		cmocka_unit_test_setup_teardown(t_keepalive_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(t_retry_503, setup, teardown),
		cmocka_unit_test_setup_teardown(t_reset_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(t_reset_no_retry_502, setup, teardown),
		cmocka_unit_test_setup_teardown(t_post_not_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(t_header_timeout_408, setup, teardown),
		cmocka_unit_test_setup_teardown(t_malformed_400, setup, teardown),
		cmocka_unit_test_setup_teardown(t_route_timeout_504, setup, teardown),
		cmocka_unit_test_setup_teardown(t_retries_exhausted, setup, teardown),
		cmocka_unit_test_setup_teardown(t_connect_refused_post, setup, teardown),
		cmocka_unit_test_setup_teardown(t_pipelined_in_order, setup, teardown),
		cmocka_unit_test_setup_teardown(t_pooled_post_closed_not_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(t_pooled_stale_refused_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(t_per_try_timeout_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(t_large_bodies, setup, teardown),
		cmocka_unit_test_setup_teardown(t_client_abort, setup, teardown),
		cmocka_unit_test_setup_teardown(t_put_body_replayed, setup, teardown),
		cmocka_unit_test_setup_teardown(t_upstream_close_not_pooled, setup, teardown),
		cmocka_unit_test_setup_teardown(t_http10_dechunked, setup, teardown),
		cmocka_unit_test_setup_teardown(t_head_then_get, setup, teardown),
		cmocka_unit_test_setup_teardown(t_header_timeout_per_request, setup, teardown),
		cmocka_unit_test_setup_teardown(t_expect_continue, setup, teardown),
		cmocka_unit_test_setup_teardown(t_chunked_503_discarded, setup, teardown),
		cmocka_unit_test_setup_teardown(t_route_timeout_spans_retries, setup, teardown),
		cmocka_unit_test_setup_teardown(t_bad_response_502, setup, teardown),
		cmocka_unit_test_setup_teardown(t_connect_timeout_503, setup, teardown),
		cmocka_unit_test_setup_teardown(t_breaker_overflow, setup, teardown),
		cmocka_unit_test_setup_teardown(t_pipelined_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(t_large_put_not_replayable, setup, teardown),
		cmocka_unit_test_setup_teardown(t_pool_idle_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(t_pool_closed_by_upstream, setup, teardown),
		cmocka_unit_test_setup_teardown(t_backpressure, setup, teardown),
	};
	return cmocka_run_group_tests_name("http_proxy", tests, group_setup, group_teardown);
}
