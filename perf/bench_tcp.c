/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_tcp: cycles per segment of weft's TCP stack and of tcp_proxy, in
 * one process, without a kernel or a NIC.
 *
 * Stacks are connected back to back through their output seam
 * (tcp_set_output()): what one stack sends is queued in memory and handed
 * to the other's tcp_input() on the next turn of the loop, as a port's rx
 * burst would. Only weft's own code runs, so rte_rdtsc() around each call
 * into a stack measures what the stack costs.
 *
 *   stack:  client --> server             one connection, the client sends
 *                                         as fast as the server reads
 *   proxy:  client --> proxy --> server   the same through tcp_proxy; only
 *                                         the proxy's cycles are counted
 *
 * Segments are data segments delivered to the receiving application's
 * stack (the server's segs_in minus its pure ACKs is not separated: the
 * server receives data only, its own segments are ACKs). Cycles per segment
 * is the cycles spent inside the measured stack(s) divided by the data
 * segments that crossed them. ACKs, timers, copies at the edges (the client
 * writes with tcp_send(), the server frees what it reads) are included for
 * the stack case, so the figure is what a core pays per MSS-sized segment.
 *
 * usage: bench_tcp [--case stack|proxy] [--seconds S] [--offload]
 *   --seconds  measured windows of one second each (after one of warm-up);
 *              the figure is the median window, "min" the best one
 *   --offload  mark received segments as checksum-verified, as a NIC with
 *              rx checksum offload does (default: verified in software,
 *              as on af_packet)
 * Prints one JSON line per case.
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

/* The wire between the stacks: tests/lib/stack3_harness.c. */
enum { PROXY = STACK3_PROXY, CLIENT = STACK3_CLIENT, SERVER = STACK3_SERVER, N_NODES = STACK3_N };

static struct stack3 *h;

/* ---- the applications at the ends ----------------------------------------- */

struct endpoint_app {
	struct tcp_conn *c;
	bool established;
	bool dead;
	uint64_t bytes;
};

static struct endpoint_app client_app, server_app;
static uint8_t payload[65536];

static void client_event(struct weft_worker *w, struct tcp_conn *c, enum tcp_event ev, void *user)
{
	(void)w;
	(void)c;
	(void)user;
	if (ev == TCP_EV_ESTABLISHED)
		client_app.established = true;
	else if (ev == TCP_EV_RESET || ev == TCP_EV_CLOSED)
		client_app.dead = true;
}

static void server_drain(struct weft_worker *w)
{
	struct rte_mbuf *m;

	while (server_app.c != NULL && (m = tcp_recv(w, server_app.c, UINT32_MAX)) != NULL) {
		server_app.bytes += rte_pktmbuf_pkt_len(m);
		rte_pktmbuf_free(m);
	}
}

static void server_event(struct weft_worker *w, struct tcp_conn *c, enum tcp_event ev, void *user)
{
	(void)c;
	(void)user;
	if (ev == TCP_EV_READABLE) {
		/* Inside tcp_input(): its cycles are already being counted. */
		server_drain(w);
	} else if (ev == TCP_EV_RESET || ev == TCP_EV_CLOSED) {
		server_app.c = NULL;
		server_app.dead = true;
	}
}

static void *server_attach(struct weft_worker *w, struct tcp_conn *c)
{
	(void)w;
	server_app.c = c;
	server_app.established = true;
	return &server_app;
}

/* ---- the loop ------------------------------------------------------------------ */

/* Cycles counted so far in what this case measures. */
static uint64_t measured_cycles(bool proxy)
{
	if (proxy)
		return h->node[PROXY].cycles;
	return h->node[CLIENT].cycles + h->node[SERVER].cycles;
}

/*
 * One connection for `seconds` after a second of warm-up, measured in
 * windows of a second. The figure is the median window; the minimum is
 * printed too, since on a shared machine other processes only ever add
 * cycles (an interrupted call is charged for the interruption).
 */
static void run(bool proxy, double seconds)
{
	const int ids[] = {CLIENT, PROXY, SERVER};
	struct stack3_win m;

	stack3_win_start(&m, seconds);
	const uint64_t hz = m.hz, tick = hz / 1000;
	uint64_t next_tick = m.start;
	const struct tcp_stats *srv = tcp_stack_stats(&h->node[SERVER].w);
	int err = 0;
	struct weft_ip dst;

	weft_ip_parse(proxy ? "198.18.0.1" : "198.18.1.2", &dst);
	client_app.c = tcp_connect(&h->node[CLIENT].w, &dst, proxy ? 5000 : 5001, client_event, NULL, &err);
	if (client_app.c == NULL) {
		fprintf(stderr, "bench_tcp: tcp_connect: %s\n", strerror(err));
		exit(1);
	}
	for (;;) {
		uint64_t now = rte_rdtsc();

		for (int i = 0; i < N_NODES; i++)
			h->node[i].w.now = now;
		if (!stack3_win_step(&m, now, measured_cycles(proxy), WEFT_CTR_READ(srv->segs_in), server_app.bytes))
			break;
		/* Keep the client's send buffer full. */
		if (client_app.established && !client_app.dead) {
			uint64_t t0 = rte_rdtsc();
			size_t space = tcp_send_space(client_app.c);
			while (space > 0) {
				size_t k = space < sizeof(payload) ? space : sizeof(payload);
				int r = tcp_send(&h->node[CLIENT].w, client_app.c, payload, k);
				if (r <= 0)
					break;
				space -= (size_t)r;
			}
			h->node[CLIENT].cycles += rte_rdtsc() - t0;
		}
		/* A burst per node per turn, like an rx burst. */
		for (int k = 0; k < 3; k++) {
			int id = ids[k];
			if (!proxy && id == PROXY)
				continue;
			for (int b = 0; b < WEFT_BURST && stack3_deliver_one(h, id); b++)
				;
		}
		if (now >= next_tick) {
			for (int k = 0; k < 3; k++) {
				int id = ids[k];
				if (!proxy && id == PROXY)
					continue;
				stack3_timers(h, id);
			}
			next_tick = now + tick;
		}
		if (client_app.dead || server_app.dead) {
			fprintf(stderr, "bench_tcp: a connection died\n");
			exit(1);
		}
	}
	double median, min, secs;
	unsigned n;
	stack3_win_end(&m, &median, &min, &n, &secs);
	const uint64_t total_segs = m.units, total_bytes = m.aux;
	printf("{\"bench\":\"tcp\",\"case\":\"cycles-per-segment-%s%s\",\"metric\":\"cycles_per_segment\","
	       "\"unit\":\"cycles\",\"weft\":%.1f,\"min\":%.1f,\"windows\":%u,\"segments\":%lu,\"bytes\":%lu,"
	       "\"seconds\":%.2f,\"goodput_mbit_s\":%.1f,\"tsc_hz\":%lu,\"better\":\"lower\"}\n",
	       proxy ? "proxy" : "stack", h->offload ? "-offload" : "", median, min, n,
	       (unsigned long)total_segs, (unsigned long)total_bytes, secs, (double)total_bytes * 8 / secs / 1e6,
	       (unsigned long)hz);
}

int main(int argc, char **argv)
{
	const char *which = "stack";
	double seconds = 5;
	int rc;

	h = stack3_bench_start(argc, argv, "bench_tcp", "bench_tcp [--case stack|proxy] [--seconds S] [--offload]",
			       &which, &seconds, NULL, &rc);
	if (h == NULL)
		return rc;
	bool proxy = strcmp(which, "proxy") == 0;
	memset(payload, 0xa5, sizeof(payload));

	struct tcp_params prm;
	tcp_params_default(&prm);
	prm.max_conns = 64;

	if (proxy) {
		rc = stack3_setup(h,
				  "ports:\n" STACK3_PORT("p0", "198.18.0.1/24") STACK3_PORT("p1", "198.18.1.1/24")
				  "clusters: [{name: b, endpoints: [{address: 198.18.1.2, port: 5001}]}]\n"
				  "listeners: [{name: l, kind: tcp_proxy, address: 198.18.0.1, port: 5000, cluster: b}]\n",
				  &prm);
		if (rc == 0)
			rc = stack3_proxy_init(h, 16, 0, 0);
	} else {
		rc = stack3_node_init(h, CLIENT, "ports:\n" STACK3_PORT("p0", "198.18.1.1/24"), &prm);
		if (rc == 0)
			rc = stack3_node_init(h, SERVER, "ports:\n" STACK3_PORT("p0", "198.18.1.2/24"), &prm);
		if (rc == 0)
			stack3_link(h, CLIENT, 0, SERVER, 0);
	}
	if (rc != 0) {
		fprintf(stderr, "bench_tcp: %s\n", h->err);
		return 1;
	}
	stack3_serve(h, SERVER, 5001, server_event, server_attach);
	run(proxy, seconds);

	stack3_bench_end(h, "bench_tcp");
	return 0;
}
