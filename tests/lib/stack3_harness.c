/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Three TCP stacks back to back in one process: see stack3_harness.h. */
#include "tests/lib/stack3_harness.h"

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

#include "dataplane/l4/tcp_proxy.h"
#include "dataplane/proxy/http_proxy.h"
#include "policy/httpcfg.h"
#include "policy/l4cfg.h"
#include "policy/netcfg.h"

static void wire_out(struct weft_worker *w, uint16_t port, struct rte_mbuf *m, uint8_t af)
{
	struct stack3_node *from = (struct stack3_node *)w, *to;
	struct stack3 *h = from->h;

	(void)af;
	if (port >= 2 || from->peer[port] < 0 || (h->lost != NULL && h->lost(m))) {
		rte_pktmbuf_free(m);
		return;
	}
	to = &h->node[from->peer[port]];
	if (to->n == STACK3_QSIZE) {
		h->dropped_full++;
		rte_pktmbuf_free(m);
		return;
	}
	struct stack3_pkt *p = &to->q[(to->head + to->n++) % STACK3_QSIZE];
	p->m = m;
	p->port = from->peer_port[port];
}

bool stack3_deliver_one(struct stack3 *h, int id)
{
	struct stack3_node *n = &h->node[id];
	struct weft_ip src = {.af = 4}, dst = {.af = 4};

	if (n->n == 0)
		return false;
	struct stack3_pkt p = n->q[n->head];
	n->head = (n->head + 1) % STACK3_QSIZE;
	n->n--;

	const struct rte_ipv4_hdr *ip = rte_pktmbuf_mtod(p.m, const struct rte_ipv4_hdr *);
	uint16_t hl = (uint16_t)((ip->version_ihl & 0xf) * 4);
	uint16_t tot = rte_be_to_cpu_16(ip->total_length);
	src.v4 = ip->src_addr;
	dst.v4 = ip->dst_addr;
	rte_pktmbuf_adj(p.m, hl);
	if (rte_pktmbuf_pkt_len(p.m) > (uint32_t)(tot - hl))
		rte_pktmbuf_trim(p.m, (uint16_t)(rte_pktmbuf_pkt_len(p.m) - (tot - hl)));
	p.m->ol_flags = h->offload ? RTE_MBUF_F_RX_L4_CKSUM_GOOD : 0;
	p.m->port = p.port;

	uint64_t t0 = rte_rdtsc();
	tcp_input(&n->w, p.port, p.m, &src, &dst);
	n->cycles += rte_rdtsc() - t0;
	return true;
}

void stack3_timers(struct stack3 *h, int id)
{
	struct stack3_node *n = &h->node[id];
	uint64_t t0 = rte_rdtsc();

	tcp_timers(&n->w);
	if (id == STACK3_PROXY && h->tcp_proxy_on)
		tcp_proxy_timers(&n->w); /* runs http_proxy_timers() too */
	n->cycles += rte_rdtsc() - t0;
}

static void served(struct weft_worker *w, struct tcp_conn *c, enum tcp_event ev, void *user)
{
	struct stack3_node *n = (struct stack3_node *)w;

	(void)user;
	if (ev != TCP_EV_ESTABLISHED)
		return;
	void *u = n->attach(w, c);
	if (u == NULL) {
		tcp_abort(w, c);
		return;
	}
	tcp_set_handler(c, n->serve_fn, u);
}

static int serve_accept(struct weft_worker *w, const struct tcp_endpoints *ep, struct tcp_accept *out)
{
	const struct stack3_node *n = (const struct stack3_node *)w;

	if (ep->lport != n->serve_port)
		return -1;
	out->fn = served;
	out->user = NULL;
	return 0;
}

void stack3_serve(struct stack3 *h, int id, uint16_t port, tcp_event_fn fn, stack3_attach_fn attach)
{
	struct stack3_node *n = &h->node[id];

	n->serve_port = port;
	n->serve_fn = fn;
	n->attach = attach;
	tcp_set_accept(&n->w, serve_accept);
}

int stack3_eal_init(const char *prog, unsigned mem_mb)
{
	/* The EAL keeps pointers into argv and permutes it: writable storage that outlives the call. */
	static char args[][64] = {"", "--no-huge", "-m", "", "--no-pci", "--no-shconf", "--no-telemetry",
				  "--log-level=*:error", "-l", "0", "--file-prefix", ""};
	enum { N_ARGS = sizeof(args) / sizeof(args[0]) };
	static char *eal[N_ARGS];

	snprintf(args[0], sizeof(args[0]), "%s", prog);
	snprintf(args[3], sizeof(args[0]), "%u", mem_mb);
	snprintf(args[N_ARGS - 1], sizeof(args[0]), "weft_%s_%d", prog, (int)getpid());
	for (int i = 0; i < N_ARGS; i++)
		eal[i] = args[i];
	return rte_eal_init(N_ARGS, eal) < 0 ? -1 : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

void stack3_win_start(struct stack3_win *m, double seconds)
{
	memset(m, 0, sizeof(*m));
	m->hz = rte_get_tsc_hz();
	m->n = seconds >= 1 ? (unsigned)seconds : 1;
	m->start = rte_rdtsc();
	m->end = m->start + m->hz;
}

bool stack3_win_step(struct stack3_win *m, uint64_t now, uint64_t cycles, uint64_t units, uint64_t aux)
{
	if (now < m->end)
		return true;
	if (m->k > 0) {
		m->per[m->k - 1] = units > m->units0 ? (double)(cycles - m->cyc0) / (double)(units - m->units0) : 0;
		m->units += units - m->units0;
		m->aux += aux - m->aux0;
	}
	if (m->k == m->n || m->k == sizeof(m->per) / sizeof(m->per[0]))
		return false;
	m->k++;
	m->cyc0 = cycles;
	m->units0 = units;
	m->aux0 = aux;
	m->end = now + m->hz;
	if (m->k == 1)
		m->start = now;
	return true;
}

void stack3_win_end(struct stack3_win *m, double *median, double *min, unsigned *n, double *secs)
{
	*secs = (double)(rte_rdtsc() - m->start) / (double)m->hz;
	*n = m->k < m->n ? m->k : m->n;
	qsort(m->per, *n, sizeof(m->per[0]), cmp_double);
	*median = *n ? m->per[*n / 2] : 0.0;
	*min = *n ? m->per[0] : 0.0;
}

struct stack3 *stack3_new(struct rte_mempool *pool, uint64_t hz, uint64_t now0)
{
	struct stack3 *h = aligned_alloc(64, (sizeof(*h) + 63) & ~(size_t)63);

	if (h == NULL)
		return NULL;
	memset(h, 0, sizeof(*h));
	h->pool = pool;
	h->hz = hz;
	h->now0 = now0;
	for (int i = 0; i < STACK3_N; i++) {
		h->node[i].h = h;
		h->node[i].peer[0] = h->node[i].peer[1] = -1;
	}
	return h;
}

int stack3_node_init(struct stack3 *h, int id, const char *yaml, const struct tcp_params *prm)
{
	struct stack3_node *n = &h->node[id];
	char err[WEFT_CFG_ERR_LEN];
	uint8_t macs[WEFT_CFG_MAX_PORTS][6] = {{0}};

	if (weft_config_parse(yaml, strlen(yaml), "stack3", &n->cfg, err, sizeof(err)) != 0)
		goto fail;
	for (unsigned i = 0; i < n->cfg.n_ports; i++) {
		macs[i][0] = 0x02;
		macs[i][5] = (uint8_t)(id * 2 + i + 1);
	}
	/* Aligned: the snapshot's per-worker request counts take a cache line each. */
	n->snap = aligned_alloc(64, (sizeof(*n->snap) + 63) & ~(size_t)63);
	if (n->snap == NULL) {
		snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	memset(n->snap, 0, sizeof(*n->snap));
	if (weft_net_compile(&n->cfg, (const uint8_t(*)[6])macs, &n->snap->net, err, sizeof(err)) != 0 ||
	    weft_l4_compile(&n->cfg, &n->snap->l4, err, sizeof(err)) != 0 ||
	    weft_http_compile(&n->cfg, NULL, 1, &n->snap->http, err, sizeof(err)) != 0)
		goto fail;
	n->snap->version = 1;
	n->w.id = (unsigned)id;
	n->w.lcore = rte_lcore_id();
	n->w.n_workers = 1;
	n->w.pool = h->pool;
	n->w.ctr = &n->ctr;
	n->w.hz = h->hz;
	n->w.now = h->now0;
	n->w.snap = n->snap;
	n->w.n_ports = (uint16_t)n->cfg.n_ports;
	int rc = tcp_stack_init(&n->w, prm);
	if (rc != 0) {
		snprintf(err, sizeof(err), "tcp_stack_init: %s", strerror(-rc));
		goto fail;
	}
	tcp_set_output(&n->w, wire_out);
	return 0;
fail:
	snprintf(h->err, sizeof(h->err), "node %d: %s", id, err);
	return -1;
}

void stack3_link(struct stack3 *h, int a, uint16_t pa, int b, uint16_t pb)
{
	h->node[a].peer[pa] = b;
	h->node[a].peer_port[pa] = pb;
	h->node[b].peer[pb] = a;
	h->node[b].peer_port[pb] = pa;
}

int stack3_setup(struct stack3 *h, const char *proxy_yaml, const struct tcp_params *prm)
{
	if (stack3_node_init(h, STACK3_PROXY, proxy_yaml, prm) != 0 ||
	    stack3_node_init(h, STACK3_CLIENT, "ports:\n" STACK3_PORT("p0", "198.18.0.2/24"), prm) != 0 ||
	    stack3_node_init(h, STACK3_SERVER, "ports:\n" STACK3_PORT("p0", "198.18.1.2/24"), prm) != 0)
		return -1;
	stack3_link(h, STACK3_CLIENT, 0, STACK3_PROXY, 0);
	stack3_link(h, STACK3_PROXY, 1, STACK3_SERVER, 0);
	return 0;
}

int stack3_proxy_init(struct stack3 *h, unsigned tcp_conns, unsigned http_conns, unsigned http_upstreams)
{
	struct weft_worker *w = &h->node[STACK3_PROXY].w;

	if (tcp_proxy_init(w, tcp_conns, 0, 0) != 0) {
		snprintf(h->err, sizeof(h->err), "tcp_proxy_init failed");
		return -1;
	}
	h->tcp_proxy_on = true;
	if (http_conns == 0)
		return 0;
	if (http_proxy_init(w, http_conns, http_upstreams) != 0) {
		snprintf(h->err, sizeof(h->err), "http_proxy_init failed");
		return -1;
	}
	h->http_proxy_on = true;
	return 0;
}

struct stack3 *stack3_bench_start(int argc, char **argv, const char *prog, const char *usage, const char **which,
				  double *seconds, unsigned *conns, int *rc)
{
	static const struct option opts[] = {
		{"case", required_argument, NULL, 'c'},
		{"seconds", required_argument, NULL, 's'},
		{"conns", required_argument, NULL, 'n'},
		{"offload", no_argument, NULL, 'o'},
		{NULL, 0, NULL, 0},
	};
	bool offload = false;
	int c;

	*rc = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': *which = optarg; break;
		case 's': *seconds = atof(optarg); break;
		case 'n':
			if (conns == NULL)
				goto usage; /* this benchmark has no --conns */
			*conns = (unsigned)atoi(optarg);
			break;
		case 'o': offload = true; break;
		default: goto usage;
		}
	}
	*rc = 1;
	if (stack3_eal_init(prog, 1024) != 0) {
		fprintf(stderr, "%s: rte_eal_init failed\n", prog);
		return NULL;
	}
	struct rte_mempool *pool = rte_pktmbuf_pool_create("bench", 131071, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	struct stack3 *h = pool != NULL ? stack3_new(pool, rte_get_tsc_hz(), rte_rdtsc()) : NULL;
	if (h == NULL) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return NULL;
	}
	h->offload = offload;
	*rc = 0;
	return h;
usage:
	fprintf(stderr, "usage: %s\n", usage);
	return NULL;
}

void stack3_bench_end(struct stack3 *h, const char *prog)
{
	struct rte_mempool *pool = h->pool;

	if (h->dropped_full)
		fprintf(stderr, "%s: %lu packets dropped on a full queue\n", prog, (unsigned long)h->dropped_full);
	stack3_free(h);
	rte_mempool_free(pool);
	rte_eal_cleanup();
}

void stack3_free(struct stack3 *h)
{
	if (h == NULL)
		return;
	if (h->http_proxy_on)
		http_proxy_free(&h->node[STACK3_PROXY].w);
	if (h->tcp_proxy_on)
		tcp_proxy_free(&h->node[STACK3_PROXY].w);
	for (int i = 0; i < STACK3_N; i++)
		if (h->node[i].w.tcp != NULL)
			tcp_stack_free(&h->node[i].w);
	for (int i = 0; i < STACK3_N; i++) {
		struct stack3_node *n = &h->node[i];
		while (n->n > 0) {
			rte_pktmbuf_free(n->q[n->head].m);
			n->head = (n->head + 1) % STACK3_QSIZE;
			n->n--;
		}
		if (n->snap != NULL)
			weft_http_snap_free(n->snap->http);
		free(n->snap);
	}
	free(h);
}
