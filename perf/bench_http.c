/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_http: cycles per request of weft's HTTP/1.1 proxy, in one process,
 * without a kernel or a NIC.
 *
 *   client stack --> proxy node --> server stack
 *
 * Three TCP stacks are connected back to back through their output seam
 * (tcp_set_output(); tests/lib/stack3_harness.c, as in bench_tcp). The client keeps --conns keep-alive
 * connections busy, each sending a small GET as soon as the previous
 * response is in (closed loop); the server answers every request with a
 * fixed 6-byte response. Only the proxy node's cycles are counted: its TCP
 * stack (both connections of every exchange), the proxy (parse, route,
 * pick, pool, serialise, edits), its timers.
 *
 *   --case http  the proxy node runs an http listener (http_proxy)
 *   --case tcp   the same bytes through a tcp_proxy listener: the cost of
 *                moving them without looking, for reference
 *
 * The figure is the median of one-second windows (after one of warm-up);
 * "min" is the best window (on a shared machine other processes only ever
 * add cycles). Prints one JSON line.
 *
 * usage: bench_http [--case http|tcp] [--seconds S] [--conns N] [--offload]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "dataplane/tcp/tcp.h"
#include "dataplane/worker.h"
#include "tests/lib/stack3_harness.h"

enum { PROXY = STACK3_PROXY, CLIENT = STACK3_CLIENT, SERVER = STACK3_SERVER, N_NODES = STACK3_N };

#define MAX_CONNS 1024

static const char request[] = "GET /bench HTTP/1.1\r\nHost: bench.test\r\nUser-Agent: bench_http\r\n"
			      "Accept: */*\r\n\r\n";
static const char response[] = "HTTP/1.1 200 OK\r\nServer: bench\r\nContent-Length: 6\r\n"
			       "Content-Type: text/plain\r\n\r\nhello\n";

/* One connection at an end: bytes seen, the tail of the "\r\n\r\n" search. */
struct end {
	struct tcp_conn *c;
	bool established, dead;
	uint32_t match;    /* how much of the head terminator the stream ended with */
	uint64_t got;      /* client: bytes of the current response */
	uint64_t resp_len; /* client: the response's length as the proxy sends it, once known */
};

static struct stack3 *h;
static struct end clients[MAX_CONNS];
static struct end servers[MAX_CONNS];
static unsigned n_conns = 16, n_servers;
static uint64_t responses;

/* ---- the ends --------------------------------------------------------------------------------- */

/* Feed bytes to a "\r\n\r\n" matcher; returns how many heads ended in them. */
static unsigned heads_in(struct end *e, const uint8_t *b, size_t n)
{
	static const char term[] = "\r\n\r\n";
	unsigned heads = 0;

	for (size_t i = 0; i < n; i++) {
		if (b[i] == (uint8_t)term[e->match]) {
			if (++e->match == 4) {
				heads++;
				e->match = 0;
			}
		} else {
			e->match = b[i] == '\r' ? 1 : 0;
		}
	}
	return heads;
}

static void client_event(struct weft_worker *w, struct tcp_conn *c, enum tcp_event ev, void *user)
{
	struct end *e = user;
	uint8_t buf[4096];
	size_t n;

	(void)c;
	switch (ev) {
	case TCP_EV_ESTABLISHED:
		e->established = true;
		(void)tcp_send(w, e->c, request, sizeof(request) - 1);
		break;
	case TCP_EV_READABLE:
		while ((n = tcp_recv_copy(w, e->c, buf, sizeof(buf))) > 0) {
			/* The first response teaches its length (head + 6 bytes of body). */
			if (e->resp_len == 0) {
				for (size_t i = 0; i < n && e->resp_len == 0; i++)
					if (heads_in(e, &buf[i], 1) > 0)
						e->resp_len = e->got + i + 1 + 6;
			}
			e->got += n;
			while (e->resp_len != 0 && e->got >= e->resp_len) {
				e->got -= e->resp_len;
				responses++;
				(void)tcp_send(w, e->c, request, sizeof(request) - 1);
			}
		}
		break;
	case TCP_EV_RESET:
	case TCP_EV_CLOSED:
		e->dead = true;
		break;
	default:
		break;
	}
}

static void server_event(struct weft_worker *w, struct tcp_conn *c, enum tcp_event ev, void *user)
{
	struct end *e = user;
	uint8_t buf[4096];
	size_t n;

	(void)c;
	if (ev == TCP_EV_READABLE) {
		while ((n = tcp_recv_copy(w, e->c, buf, sizeof(buf))) > 0)
			for (unsigned k = heads_in(e, buf, n); k > 0; k--)
				(void)tcp_send(w, e->c, response, sizeof(response) - 1);
	} else if (ev == TCP_EV_RESET || ev == TCP_EV_CLOSED) {
		e->dead = true;
	}
}

/* A new upstream connection of the proxy's: the next server end (NULL, aborted, past MAX_CONNS). */
static void *server_attach(struct weft_worker *w, struct tcp_conn *c)
{
	(void)w;
	if (n_servers == MAX_CONNS)
		return NULL;
	struct end *e = &servers[n_servers++];
	e->c = c;
	e->established = true;
	return e;
}

/* ---- the loop ---------------------------------------------------------------------------------- */

static void run(bool http, double seconds)
{
	struct stack3_win m;
	struct weft_ip dst;

	stack3_win_start(&m, seconds);
	const uint64_t hz = m.hz, tick = hz / 1000;
	uint64_t next_tick = m.start;

	weft_ip_parse("198.18.0.1", &dst);
	for (unsigned i = 0; i < n_conns; i++) {
		int err = 0;
		struct tcp_accept opt = {.fn = client_event, .user = &clients[i]};
		clients[i].c = tcp_connect_ex(&h->node[CLIENT].w, &dst, http ? 80 : 81, &opt, &err);
		if (clients[i].c == NULL) {
			fprintf(stderr, "bench_http: tcp_connect: %s\n", strerror(err));
			exit(1);
		}
	}
	for (;;) {
		uint64_t now = rte_rdtsc();

		for (int i = 0; i < N_NODES; i++)
			h->node[i].w.now = now;
		if (!stack3_win_step(&m, now, h->node[PROXY].cycles, responses, 0))
			break;
		for (int id = 0; id < N_NODES; id++)
			for (int b = 0; b < WEFT_BURST && stack3_deliver_one(h, id); b++)
				;
		if (now >= next_tick) {
			for (int id = 0; id < N_NODES; id++)
				stack3_timers(h, id); /* and tcp_proxy_timers(), http_proxy_timers() */
			next_tick = now + tick;
		}
		for (unsigned i = 0; i < n_conns; i++) {
			if (clients[i].dead) {
				fprintf(stderr, "bench_http: a client connection died\n");
				exit(1);
			}
		}
	}
	double median, min, secs;
	unsigned n;
	stack3_win_end(&m, &median, &min, &n, &secs);
	const uint64_t total = m.units;
	printf("{\"bench\":\"http\",\"case\":\"cycles-per-request-%s%s-c%u\",\"metric\":\"cycles_per_request\","
	       "\"unit\":\"cycles\",\"weft\":%.1f,\"min\":%.1f,\"windows\":%u,\"requests\":%lu,\"seconds\":%.2f,"
	       "\"requests_per_s\":%.0f,\"upstream_connections\":%u,\"tsc_hz\":%lu,\"better\":\"lower\"}\n",
	       http ? "http_proxy" : "tcp_proxy", h->offload ? "-offload" : "", n_conns, median, min, n,
	       (unsigned long)total, secs, (double)total / secs, n_servers, (unsigned long)hz);
}

int main(int argc, char **argv)
{
	const char *which = "http";
	double seconds = 5;
	int rc;

	h = stack3_bench_start(argc, argv, "bench_http", "bench_http [--case http|tcp] [--seconds S] [--conns N] [--offload]",
			       &which, &seconds, &n_conns, &rc);
	if (h == NULL)
		return rc;
	if (n_conns == 0 || n_conns > MAX_CONNS) {
		fprintf(stderr, "bench_http: --conns 1..%d\n", MAX_CONNS);
		stack3_bench_end(h, "bench_http");
		return 2;
	}
	bool http = strcmp(which, "http") == 0;

	struct tcp_params prm;
	tcp_params_default(&prm);
	prm.max_conns = 4 * MAX_CONNS;
	if (stack3_setup(h,
			 "ports:\n" STACK3_PORT("p0", "198.18.0.1/24") STACK3_PORT("p1", "198.18.1.1/24")
			 "clusters: [{name: b, max_idle_connections: 1024, endpoints: [{address: 198.18.1.2, port: 8080}]}]\n"
			 "route_configs:\n"
			 "  - name: main\n"
			 "    virtual_hosts:\n"
			 "      - name: bench\n"
			 "        domains: [bench.test]\n"
			 "        routes:\n"
			 "          - {match: {path: /healthz}, direct_response: {status: 200}}\n"
			 "          - {match: {prefix: /admin/}, redirect: {prefix_rewrite: /}}\n"
			 "          - {match: {prefix: /}, route: {cluster: b}}\n"
			 "listeners:\n"
			 "  - {name: h, kind: http, address: 198.18.0.1, port: 80, route_config: main}\n"
			 "  - {name: t, kind: tcp_proxy, address: 198.18.0.1, port: 81, cluster: b}\n",
			 &prm) != 0 ||
	    stack3_proxy_init(h, 2 * MAX_CONNS, 2 * MAX_CONNS, 2 * MAX_CONNS) != 0) {
		fprintf(stderr, "bench_http: %s\n", h->err);
		return 1;
	}
	stack3_serve(h, SERVER, 8080, server_event, server_attach);
	run(http, seconds);

	stack3_bench_end(h, "bench_http");
	return 0;
}
