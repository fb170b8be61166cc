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
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "dataplane/l4/tcp_proxy.h"
#include "dataplane/tcp/tcp.h"
#include "dataplane/worker.h"
#include "policy/config.h"
#include "policy/l4cfg.h"
#include "policy/netcfg.h"
#include "policy/snapshot.h"

enum { CLIENT, PROXY, SERVER, N_NODES };

#define QSIZE 65536 /* in-flight packets between two nodes; a window's worth and more */

struct pkt {
	struct rte_mbuf *m;
	uint16_t port;
};

/* One direction of one link: packets sent by a node, waiting for the other's input. */
struct queue {
	struct pkt p[QSIZE];
	uint32_t head, n;
};

struct node {
	struct weft_worker w;
	struct weft_worker_counters ctr;
	struct weft_snapshot *snap;
	struct weft_config cfg;
	struct queue in;         /* packets addressed to this node */
	uint64_t cycles;         /* spent inside this node's stack */
	bool measured;
	/* where each of this node's ports leads */
	int peer[2];
	uint16_t peer_port[2];
};

static struct node *nodes;
static struct rte_mempool *pool;
static bool offload;
static uint64_t dropped_full;

/* ---- the wire ------------------------------------------------------------- */

static void wire_out(struct weft_worker *w, uint16_t port, struct rte_mbuf *m, uint8_t af)
{
	struct node *from = &nodes[w->id];
	struct node *to;

	(void)af;
	if (port >= 2 || from->peer[port] < 0) {
		rte_pktmbuf_free(m);
		return;
	}
	to = &nodes[from->peer[port]];
	if (to->in.n == QSIZE) {
		dropped_full++;
		rte_pktmbuf_free(m);
		return;
	}
	struct pkt *p = &to->in.p[(to->in.head + to->in.n++) % QSIZE];
	p->m = m;
	p->port = from->peer_port[port];
}

/* Hand one IPv4 packet to n's stack, as the IP layer would. Returns false when nothing was queued. */
static bool deliver_one(struct node *n)
{
	struct weft_ip src = {.af = 4}, dst = {.af = 4};

	if (n->in.n == 0)
		return false;
	struct pkt p = n->in.p[n->in.head];
	n->in.head = (n->in.head + 1) % QSIZE;
	n->in.n--;

	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(p.m, const struct rte_ipv4_hdr *);
	uint16_t hl = (uint16_t)((ip->version_ihl & 0xf) * 4);
	uint16_t tot = rte_be_to_cpu_16(ip->total_length);
	src.v4 = ip->src_addr;
	dst.v4 = ip->dst_addr;
	rte_pktmbuf_adj(p.m, hl);
	if (rte_pktmbuf_pkt_len(p.m) > (uint32_t)(tot - hl))
		rte_pktmbuf_trim(p.m, (uint16_t)(rte_pktmbuf_pkt_len(p.m) - (tot - hl)));
	p.m->ol_flags = offload ? RTE_MBUF_F_RX_L4_CKSUM_GOOD : 0;
	p.m->port = p.port;

	uint64_t t0 = rte_rdtsc();
	tcp_input(&n->w, p.port, p.m, &src, &dst);
	n->cycles += rte_rdtsc() - t0;
	return true;
}

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
	(void)user;
	if (ev == TCP_EV_ESTABLISHED) {
		server_app.c = c;
		server_app.established = true;
	} else if (ev == TCP_EV_READABLE) {
		/* Inside tcp_input(): its cycles are already being counted. */
		server_drain(w);
	} else if (ev == TCP_EV_RESET || ev == TCP_EV_CLOSED) {
		server_app.c = NULL;
		server_app.dead = true;
	}
}

static int server_accept(struct weft_worker *w, const struct tcp_endpoints *ep, struct tcp_accept *out)
{
	(void)w;
	if (ep->lport != 5001)
		return -1;
	out->fn = server_event;
	out->user = NULL;
	return 0;
}

/* ---- set-up ------------------------------------------------------------------- */

static int node_init(int id, const char *yaml, const struct tcp_params *prm)
{
	struct node *n = &nodes[id];
	char err[WEFT_CFG_ERR_LEN];
	uint8_t macs[WEFT_CFG_MAX_PORTS][6] = {{0}};

	if (weft_config_parse(yaml, strlen(yaml), "bench", &n->cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_tcp: node %d: %s\n", id, err);
		return -1;
	}
	for (unsigned i = 0; i < n->cfg.n_ports; i++) {
		macs[i][0] = 0x02;
		macs[i][5] = (uint8_t)(id * 2 + i + 1);
	}
	n->snap = calloc(1, sizeof(*n->snap));
	if (n->snap == NULL || weft_net_compile(&n->cfg, (const uint8_t(*)[6])macs, &n->snap->net, err, sizeof(err)) != 0 ||
	    weft_l4_compile(&n->cfg, &n->snap->l4, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_tcp: node %d: %s\n", id, err);
		return -1;
	}
	n->snap->version = 1;
	n->w.id = (unsigned)id;
	n->w.lcore = rte_lcore_id();
	n->w.n_workers = 1;
	n->w.pool = pool;
	n->w.ctr = &n->ctr;
	n->w.hz = rte_get_tsc_hz();
	n->w.now = rte_rdtsc();
	n->w.snap = n->snap;
	n->w.n_ports = (uint16_t)n->cfg.n_ports;
	int rc = tcp_stack_init(&n->w, prm);
	if (rc != 0) {
		fprintf(stderr, "bench_tcp: node %d: tcp_stack_init: %s\n", id, strerror(-rc));
		return -1;
	}
	tcp_set_output(&n->w, wire_out);
	return 0;
}

static void link_nodes(int a, uint16_t pa, int b, uint16_t pb)
{
	nodes[a].peer[pa] = b;
	nodes[a].peer_port[pa] = pb;
	nodes[b].peer[pb] = a;
	nodes[b].peer_port[pb] = pa;
}

/* ---- the loop ------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Cycles counted so far in what this case measures. */
static uint64_t measured_cycles(bool proxy)
{
	if (proxy)
		return nodes[PROXY].cycles;
	return nodes[CLIENT].cycles + nodes[SERVER].cycles;
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
	const uint64_t hz = rte_get_tsc_hz(), tick = hz / 1000;
	const unsigned n_win = seconds >= 1 ? (unsigned)seconds : 1;
	uint64_t start = rte_rdtsc(), next_tick = start, win_end = start + hz;
	uint64_t seg0 = 0, bytes0 = 0, cyc0 = 0, total_segs = 0, total_bytes = 0;
	double per_win[64];
	unsigned win = 0; /* 0: warming up */
	const struct tcp_stats *srv = tcp_stack_stats(&nodes[SERVER].w);
	int err = 0;
	struct weft_ip dst;

	weft_ip_parse(proxy ? "198.18.0.1" : "198.18.1.2", &dst);
	client_app.c = tcp_connect(&nodes[CLIENT].w, &dst, proxy ? 5000 : 5001, client_event, NULL, &err);
	if (client_app.c == NULL) {
		fprintf(stderr, "bench_tcp: tcp_connect: %s\n", strerror(err));
		exit(1);
	}
	for (;;) {
		uint64_t now = rte_rdtsc();

		for (int i = 0; i < N_NODES; i++)
			nodes[i].w.now = now;
		if (now >= win_end) {
			uint64_t segs = WEFT_CTR_READ(srv->segs_in);
			if (win > 0) {
				per_win[win - 1] = segs > seg0 ? (double)(measured_cycles(proxy) - cyc0) / (double)(segs - seg0) : 0;
				total_segs += segs - seg0;
				total_bytes += server_app.bytes - bytes0;
			}
			if (win == n_win || win == sizeof(per_win) / sizeof(per_win[0]))
				break;
			win++;
			seg0 = segs;
			bytes0 = server_app.bytes;
			cyc0 = measured_cycles(proxy);
			win_end = now + hz;
			if (win == 1)
				start = now;
		}
		/* Keep the client's send buffer full. */
		if (client_app.established && !client_app.dead) {
			uint64_t t0 = rte_rdtsc();
			size_t space = tcp_send_space(client_app.c);
			while (space > 0) {
				size_t k = space < sizeof(payload) ? space : sizeof(payload);
				int r = tcp_send(&nodes[CLIENT].w, client_app.c, payload, k);
				if (r <= 0)
					break;
				space -= (size_t)r;
			}
			nodes[CLIENT].cycles += rte_rdtsc() - t0;
		}
		/* A burst per node per turn, like an rx burst. */
		for (int k = 0; k < 3; k++) {
			int id = ids[k];
			if (!proxy && id == PROXY)
				continue;
			for (int b = 0; b < WEFT_BURST && deliver_one(&nodes[id]); b++)
				;
		}
		if (now >= next_tick) {
			for (int k = 0; k < 3; k++) {
				int id = ids[k];
				if (!proxy && id == PROXY)
					continue;
				uint64_t t0 = rte_rdtsc();
				tcp_timers(&nodes[id].w);
				if (id == PROXY)
					tcp_proxy_timers(&nodes[id].w);
				nodes[id].cycles += rte_rdtsc() - t0;
			}
			next_tick = now + tick;
		}
		if (client_app.dead || server_app.dead) {
			fprintf(stderr, "bench_tcp: a connection died\n");
			exit(1);
		}
	}
	double secs = (double)(rte_rdtsc() - start) / (double)hz;
	unsigned n = win < n_win ? win : n_win;
	qsort(per_win, n, sizeof(per_win[0]), cmp_double);
	printf("{\"bench\":\"tcp\",\"case\":\"cycles-per-segment-%s%s\",\"metric\":\"cycles_per_segment\","
	       "\"unit\":\"cycles\",\"weft\":%.1f,\"min\":%.1f,\"windows\":%u,\"segments\":%lu,\"bytes\":%lu,"
	       "\"seconds\":%.2f,\"goodput_mbit_s\":%.1f,\"tsc_hz\":%lu,\"better\":\"lower\"}\n",
	       proxy ? "proxy" : "stack", offload ? "-offload" : "", n ? per_win[n / 2] : 0.0, n ? per_win[0] : 0.0, n,
	       (unsigned long)total_segs, (unsigned long)total_bytes, secs, (double)total_bytes * 8 / secs / 1e6,
	       (unsigned long)hz);
	if (dropped_full)
		fprintf(stderr, "bench_tcp: %lu packets dropped on a full queue\n", (unsigned long)dropped_full);
}

#define PORT(name, addr) "  - {name: " name ", driver: ring, addresses: [" addr "]}\n"

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"case", required_argument, NULL, 'c'},
		{"seconds", required_argument, NULL, 's'},
		{"offload", no_argument, NULL, 'o'},
		{NULL, 0, NULL, 0},
	};
	char prefix[64];
	const char *which = "stack";
	double seconds = 5;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': which = optarg; break;
		case 's': seconds = atof(optarg); break;
		case 'o': offload = true; break;
		default:
			fprintf(stderr, "usage: bench_tcp [--case stack|proxy] [--seconds S] [--offload]\n");
			return 2;
		}
	}
	bool proxy = strcmp(which, "proxy") == 0;
	snprintf(prefix, sizeof(prefix), "weft_bench_tcp_%d", (int)getpid());
	/* The EAL keeps pointers into argv and permutes it: writable storage that outlives the call. */
	static char args[][64] = {"bench_tcp", "--no-huge", "-m", "1024", "--no-pci", "--no-shconf", "--no-telemetry",
				  "--log-level=*:error", "-l", "0", "--file-prefix", ""};
	enum { N_ARGS = sizeof(args) / sizeof(args[0]) };
	static char *eal[N_ARGS];
	snprintf(args[N_ARGS - 1], sizeof(args[0]), "%s", prefix);
	for (int i = 0; i < N_ARGS; i++)
		eal[i] = args[i];
	if (rte_eal_init(N_ARGS, eal) < 0) {
		fprintf(stderr, "bench_tcp: rte_eal_init failed\n");
		return 1;
	}
	pool = rte_pktmbuf_pool_create("bench", 131071, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	nodes = rte_zmalloc("bench_nodes", sizeof(*nodes) * N_NODES, RTE_CACHE_LINE_SIZE);
	if (pool == NULL || nodes == NULL) {
		fprintf(stderr, "bench_tcp: out of memory\n");
		return 1;
	}
	for (int i = 0; i < N_NODES; i++)
		nodes[i].peer[0] = nodes[i].peer[1] = -1;
	memset(payload, 0xa5, sizeof(payload));

	struct tcp_params prm;
	tcp_params_default(&prm);
	prm.max_conns = 64;

	if (proxy) {
		if (node_init(CLIENT, "ports:\n" PORT("p0", "198.18.0.2/24"), &prm) != 0 ||
		    node_init(PROXY,
			      "ports:\n" PORT("p0", "198.18.0.1/24") PORT("p1", "198.18.1.1/24")
			      "clusters: [{name: b, endpoints: [{address: 198.18.1.2, port: 5001}]}]\n"
			      "listeners: [{name: l, kind: tcp_proxy, address: 198.18.0.1, port: 5000, cluster: b}]\n",
			      &prm) != 0 ||
		    node_init(SERVER, "ports:\n" PORT("p0", "198.18.1.2/24"), &prm) != 0)
			return 1;
		link_nodes(CLIENT, 0, PROXY, 0);
		link_nodes(PROXY, 1, SERVER, 0);
		if (tcp_proxy_init(&nodes[PROXY].w, 16, 0, 0) != 0) {
			fprintf(stderr, "bench_tcp: tcp_proxy_init failed\n");
			return 1;
		}
	} else {
		if (node_init(CLIENT, "ports:\n" PORT("p0", "198.18.1.1/24"), &prm) != 0 ||
		    node_init(SERVER, "ports:\n" PORT("p0", "198.18.1.2/24"), &prm) != 0)
			return 1;
		link_nodes(CLIENT, 0, SERVER, 0);
	}
	tcp_set_accept(&nodes[SERVER].w, server_accept);
	run(proxy, seconds);

	if (proxy)
		tcp_proxy_free(&nodes[PROXY].w);
	for (int i = 0; i < N_NODES; i++) {
		if (nodes[i].w.tcp != NULL)
			tcp_stack_free(&nodes[i].w);
		while (nodes[i].in.n > 0) {
			rte_pktmbuf_free(nodes[i].in.p[nodes[i].in.head].m);
			nodes[i].in.head = (nodes[i].in.head + 1) % QSIZE;
			nodes[i].in.n--;
		}
		free(nodes[i].snap);
	}
	rte_free(nodes);
	rte_mempool_free(pool);
	rte_eal_cleanup();
	return 0;
}
