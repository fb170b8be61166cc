/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_http: cycles per request of weft's HTTP/1.1 proxy, in one process,
 * without a kernel or a NIC.
 *
 *   client stack --> proxy node --> server stack
 *
 * Three TCP stacks are connected back to back through their output seam
 * (tcp_set_output()), as in bench_tcp. The client keeps --conns keep-alive
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
#include "dataplane/proxy/http_proxy.h"
#include "dataplane/tcp/tcp.h"
#include "dataplane/worker.h"
#include "policy/config.h"
#include "policy/httpcfg.h"
#include "policy/l4cfg.h"
#include "policy/netcfg.h"
#include "policy/snapshot.h"

enum { PROXY, CLIENT, SERVER, N_NODES }; /* the proxy is worker 0: its snapshot is compiled for one worker */

#define QSIZE 65536
#define MAX_CONNS 1024

static const char request[] = "GET /bench HTTP/1.1\r\nHost: bench.test\r\nUser-Agent: bench_http\r\n"
			      "Accept: */*\r\n\r\n";
static const char response[] = "HTTP/1.1 200 OK\r\nServer: bench\r\nContent-Length: 6\r\n"
			       "Content-Type: text/plain\r\n\r\nhello\n";

struct pkt {
	struct rte_mbuf *m;
	uint16_t port;
};

struct queue {
	struct pkt p[QSIZE];
	uint32_t head, n;
};

struct node {
	struct weft_worker w;
	struct weft_worker_counters ctr;
	struct weft_snapshot *snap;
	struct weft_config cfg;
	struct queue in;
	uint64_t cycles;
	int peer[2];
	uint16_t peer_port[2];
};

/* One connection at an end: bytes seen, the tail of the "\r\n\r\n" search. */
struct end {
	struct tcp_conn *c;
	bool established, dead;
	uint32_t match;    /* how much of the head terminator the stream ended with */
	uint64_t got;      /* client: bytes of the current response */
	uint64_t resp_len; /* client: the response's length as the proxy sends it, once known */
};

static struct node *nodes;
static struct rte_mempool *pool;
static bool offload;
static struct end clients[MAX_CONNS];
static struct end servers[MAX_CONNS];
static unsigned n_conns = 16, n_servers;
static uint64_t responses, dropped_full;

/* ---- the wire (as bench_tcp) ---------------------------------------------------------------- */

static void wire_out(struct weft_worker *w, uint16_t port, struct rte_mbuf *m, uint8_t af)
{
	struct node *from = &nodes[w->id], *to;

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

static void server_accepted(struct weft_worker *w, struct tcp_conn *c, enum tcp_event ev, void *user)
{
	(void)user;
	if (ev != TCP_EV_ESTABLISHED)
		return;
	if (n_servers == MAX_CONNS) {
		tcp_abort(w, c);
		return;
	}
	struct end *e = &servers[n_servers++];
	e->c = c;
	e->established = true;
	tcp_set_handler(c, server_event, e);
}

static int server_accept(struct weft_worker *w, const struct tcp_endpoints *ep, struct tcp_accept *out)
{
	(void)w;
	if (ep->lport != 8080)
		return -1;
	out->fn = server_accepted;
	out->user = NULL;
	return 0;
}

/* ---- set-up ------------------------------------------------------------------------------------ */

static int node_init(int id, const char *yaml, const struct tcp_params *prm)
{
	struct node *n = &nodes[id];
	char err[WEFT_CFG_ERR_LEN];
	uint8_t macs[WEFT_CFG_MAX_PORTS][6] = {{0}};

	if (weft_config_parse(yaml, strlen(yaml), "bench", &n->cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_http: node %d: %s\n", id, err);
		return -1;
	}
	for (unsigned i = 0; i < n->cfg.n_ports; i++) {
		macs[i][0] = 0x02;
		macs[i][5] = (uint8_t)(id * 2 + i + 1);
	}
	/* Aligned: the snapshot's per-worker request counts take a cache line each. */
	n->snap = aligned_alloc(64, (sizeof(*n->snap) + 63) & ~(size_t)63);
	if (n->snap == NULL)
		return -1;
	memset(n->snap, 0, sizeof(*n->snap));
	if (weft_net_compile(&n->cfg, (const uint8_t(*)[6])macs, &n->snap->net, err, sizeof(err)) != 0 ||
	    weft_l4_compile(&n->cfg, &n->snap->l4, err, sizeof(err)) != 0 ||
	    weft_http_compile(&n->cfg, NULL, 1, &n->snap->http, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_http: node %d: %s\n", id, err);
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
		fprintf(stderr, "bench_http: node %d: tcp_stack_init: %s\n", id, strerror(-rc));
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

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* ---- the loop ---------------------------------------------------------------------------------- */

static void run(bool http, double seconds)
{
	const uint64_t hz = rte_get_tsc_hz(), tick = hz / 1000;
	const unsigned n_win = seconds >= 1 ? (unsigned)seconds : 1;
	uint64_t start = rte_rdtsc(), next_tick = start, win_end = start + hz;
	uint64_t resp0 = 0, cyc0 = 0, total = 0;
	double per_win[64];
	unsigned win = 0;
	struct weft_ip dst;

	weft_ip_parse("198.18.0.1", &dst);
	for (unsigned i = 0; i < n_conns; i++) {
		int err = 0;
		struct tcp_accept opt = {.fn = client_event, .user = &clients[i]};
		clients[i].c = tcp_connect_ex(&nodes[CLIENT].w, &dst, http ? 80 : 81, &opt, &err);
		if (clients[i].c == NULL) {
			fprintf(stderr, "bench_http: tcp_connect: %s\n", strerror(err));
			exit(1);
		}
	}
	for (;;) {
		uint64_t now = rte_rdtsc();

		for (int i = 0; i < N_NODES; i++)
			nodes[i].w.now = now;
		if (now >= win_end) {
			if (win > 0) {
				per_win[win - 1] = responses > resp0 ? (double)(nodes[PROXY].cycles - cyc0) / (double)(responses - resp0) : 0;
				total += responses - resp0;
			}
			if (win == n_win || win == sizeof(per_win) / sizeof(per_win[0]))
				break;
			win++;
			resp0 = responses;
			cyc0 = nodes[PROXY].cycles;
			win_end = now + hz;
			if (win == 1)
				start = now;
		}
		for (int id = 0; id < N_NODES; id++)
			for (int b = 0; b < WEFT_BURST && deliver_one(&nodes[id]); b++)
				;
		if (now >= next_tick) {
			for (int id = 0; id < N_NODES; id++) {
				uint64_t t0 = rte_rdtsc();
				tcp_timers(&nodes[id].w);
				if (id == PROXY)
					tcp_proxy_timers(&nodes[id].w); /* and http_proxy_timers() */
				nodes[id].cycles += rte_rdtsc() - t0;
			}
			next_tick = now + tick;
		}
		for (unsigned i = 0; i < n_conns; i++) {
			if (clients[i].dead) {
				fprintf(stderr, "bench_http: a client connection died\n");
				exit(1);
			}
		}
	}
	double secs = (double)(rte_rdtsc() - start) / (double)hz;
	unsigned n = win < n_win ? win : n_win;
	qsort(per_win, n, sizeof(per_win[0]), cmp_double);
	printf("{\"bench\":\"http\",\"case\":\"cycles-per-request-%s%s-c%u\",\"metric\":\"cycles_per_request\","
	       "\"unit\":\"cycles\",\"weft\":%.1f,\"min\":%.1f,\"windows\":%u,\"requests\":%lu,\"seconds\":%.2f,"
	       "\"requests_per_s\":%.0f,\"upstream_connections\":%u,\"tsc_hz\":%lu,\"better\":\"lower\"}\n",
	       http ? "http_proxy" : "tcp_proxy", offload ? "-offload" : "", n_conns, n ? per_win[n / 2] : 0.0,
	       n ? per_win[0] : 0.0, n, (unsigned long)total, secs, (double)total / secs, n_servers, (unsigned long)hz);
	if (dropped_full)
		fprintf(stderr, "bench_http: %lu packets dropped on a full queue\n", (unsigned long)dropped_full);
}

#define PORT(name, addr) "  - {name: " name ", driver: ring, addresses: [" addr "]}\n"

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"case", required_argument, NULL, 'c'},
		{"seconds", required_argument, NULL, 's'},
		{"conns", required_argument, NULL, 'n'},
		{"offload", no_argument, NULL, 'o'},
		{NULL, 0, NULL, 0},
	};
	char prefix[64];
	const char *which = "http";
	double seconds = 5;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': which = optarg; break;
		case 's': seconds = atof(optarg); break;
		case 'n': n_conns = (unsigned)atoi(optarg); break;
		case 'o': offload = true; break;
		default:
			fprintf(stderr, "usage: bench_http [--case http|tcp] [--seconds S] [--conns N] [--offload]\n");
			return 2;
		}
	}
	if (n_conns == 0 || n_conns > MAX_CONNS) {
		fprintf(stderr, "bench_http: --conns 1..%d\n", MAX_CONNS);
		return 2;
	}
	bool http = strcmp(which, "http") == 0;
	snprintf(prefix, sizeof(prefix), "weft_bench_http_%d", (int)getpid());
	static char args[][64] = {"bench_http", "--no-huge", "-m", "1024", "--no-pci", "--no-shconf", "--no-telemetry",
				  "--log-level=*:error", "-l", "0", "--file-prefix", ""};
	enum { N_ARGS = sizeof(args) / sizeof(args[0]) };
	static char *eal[N_ARGS];
	snprintf(args[N_ARGS - 1], sizeof(args[0]), "%s", prefix);
	for (int i = 0; i < N_ARGS; i++)
		eal[i] = args[i];
	if (rte_eal_init(N_ARGS, eal) < 0) {
		fprintf(stderr, "bench_http: rte_eal_init failed\n");
		return 1;
	}
	pool = rte_pktmbuf_pool_create("bench", 131071, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	nodes = rte_zmalloc("bench_nodes", sizeof(*nodes) * N_NODES, RTE_CACHE_LINE_SIZE);
	if (pool == NULL || nodes == NULL) {
		fprintf(stderr, "bench_http: out of memory\n");
		return 1;
	}
	for (int i = 0; i < N_NODES; i++)
		nodes[i].peer[0] = nodes[i].peer[1] = -1;

	struct tcp_params prm;
	tcp_params_default(&prm);
	prm.max_conns = 4 * MAX_CONNS;
	if (node_init(CLIENT, "ports:\n" PORT("p0", "198.18.0.2/24"), &prm) != 0 ||
	    node_init(PROXY,
		      "ports:\n" PORT("p0", "198.18.0.1/24") PORT("p1", "198.18.1.1/24")
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
	    node_init(SERVER, "ports:\n" PORT("p0", "198.18.1.2/24"), &prm) != 0)
		return 1;
	link_nodes(CLIENT, 0, PROXY, 0);
	link_nodes(PROXY, 1, SERVER, 0);
	if (tcp_proxy_init(&nodes[PROXY].w, 2 * MAX_CONNS, 0, 0) != 0 ||
	    http_proxy_init(&nodes[PROXY].w, 2 * MAX_CONNS, 2 * MAX_CONNS) != 0) {
		fprintf(stderr, "bench_http: proxy init failed\n");
		return 1;
	}
	tcp_set_accept(&nodes[SERVER].w, server_accept);
	run(http, seconds);

	http_proxy_free(&nodes[PROXY].w);
	tcp_proxy_free(&nodes[PROXY].w);
	for (int i = 0; i < N_NODES; i++) {
		if (nodes[i].w.tcp != NULL)
			tcp_stack_free(&nodes[i].w);
		while (nodes[i].in.n > 0) {
			rte_pktmbuf_free(nodes[i].in.p[nodes[i].in.head].m);
			nodes[i].in.head = (nodes[i].in.head + 1) % QSIZE;
			nodes[i].in.n--;
		}
		weft_http_snap_free(nodes[i].snap->http);
		free(nodes[i].snap);
	}
	rte_free(nodes);
	rte_mempool_free(pool);
	rte_eal_cleanup();
	return 0;
}
