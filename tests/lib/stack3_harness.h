/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Three of weft's TCP stacks in one process, without a kernel or a NIC:
 *
 *   client stack --> proxy node (tcp_proxy, http_proxy) --> server stack
 *
 * The stacks are wired back to back through their output seam
 * (tcp_set_output()): what a node sends is queued in memory and handed to
 * the peer's tcp_input() when the caller delivers it, as a port's rx burst
 * would. The caller owns the clock (w.now of each node) and the loop; the
 * harness counts the TSC cycles spent inside each node's tcp_input() and
 * timers. Used by tests/unit/test_http_proxy.c (on a virtual clock) and by
 * perf/bench_http.c and perf/bench_tcp.c (on the TSC).
 */
#ifndef WEFT_TESTS_STACK3_HARNESS_H
#define WEFT_TESTS_STACK3_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "dataplane/tcp/tcp.h"
#include "dataplane/worker.h"
#include "policy/config.h"
#include "policy/snapshot.h"

/* The proxy is worker 0: its snapshot is compiled for one worker. */
enum { STACK3_PROXY, STACK3_CLIENT, STACK3_SERVER, STACK3_N };

/* A ring port of a node's YAML: STACK3_PORT("p0", "198.18.0.1/24"). */
#define STACK3_PORT(name, addr) "  - {name: " name ", driver: ring, addresses: [" addr "]}\n"

#define STACK3_QSIZE 65536 /* in-flight packets toward one node; a window's worth and more */

struct stack3;

struct stack3_pkt {
	struct rte_mbuf *m;
	uint16_t port;
};

/* Where an established connection to a served port goes: its events' user pointer, or NULL to abort it. */
typedef void *(*stack3_attach_fn)(struct weft_worker *w, struct tcp_conn *c);

struct stack3_node {
	struct weft_worker w; /* first: the output seam finds the node from it */
	struct weft_worker_counters ctr;
	struct weft_snapshot *snap;
	struct weft_config cfg;
	struct stack3 *h;
	uint64_t cycles; /* spent inside this node's tcp_input() and timers */
	int peer[2];     /* where each of this node's ports leads (-1: nowhere) */
	uint16_t peer_port[2];
	uint16_t serve_port; /* stack3_serve() */
	tcp_event_fn serve_fn;
	stack3_attach_fn attach;
	uint32_t head, n; /* packets addressed to this node */
	struct stack3_pkt q[STACK3_QSIZE];
};

struct stack3 {
	struct stack3_node node[STACK3_N];
	struct rte_mempool *pool;
	uint64_t hz, now0;    /* the nodes' clock: ticks per second and the start */
	bool offload;         /* mark received segments checksum-verified (rx offload) */
	bool tcp_proxy_on, http_proxy_on;
	uint64_t dropped_full; /* packets dropped on a full queue */
	/* Optional: true for a packet the wire loses on purpose (an address nobody has). */
	bool (*lost)(const struct rte_mbuf *m);
	char err[WEFT_CFG_ERR_LEN + 64]; /* why the last call failed */
};

/* A zeroed harness with no node set up and no links; NULL when out of memory. */
struct stack3 *stack3_new(struct rte_mempool *pool, uint64_t hz, uint64_t now0);

/* Parse yaml, compile the node's snapshot (net, l4, http) and start its TCP stack; -1 and h->err on error. */
int stack3_node_init(struct stack3 *h, int id, const char *yaml, const struct tcp_params *prm);

/* Join port pa of node a and port pb of node b. */
void stack3_link(struct stack3 *h, int a, uint16_t pa, int b, uint16_t pb);

/*
 * The usual topology: the client at 198.18.0.2/24 on the proxy's port 0, the
 * server at 198.18.1.2/24 on its port 1, the proxy configured by proxy_yaml
 * (its ports 198.18.0.1/24 and 198.18.1.1/24). -1 and h->err on error.
 */
int stack3_setup(struct stack3 *h, const char *proxy_yaml, const struct tcp_params *prm);

/* tcp_proxy_init() on the proxy node, and http_proxy_init() when http_conns > 0. */
int stack3_proxy_init(struct stack3 *h, unsigned tcp_conns, unsigned http_conns, unsigned http_upstreams);

/* Hand the next queued packet to node id's stack, as the IP layer would; false when none is queued. */
bool stack3_deliver_one(struct stack3 *h, int id);

/* Run node id's TCP timers (and the proxy's, on the proxy node). */
void stack3_timers(struct stack3 *h, int id);

/*
 * Node id accepts connections to port: once one is established, attach()
 * gives the user pointer with which fn receives its events from then on.
 */
void stack3_serve(struct stack3 *h, int id, uint16_t port, tcp_event_fn fn, stack3_attach_fn attach);

/*
 * Start a small EAL for a process of these stacks: no huge pages, no PCI, one
 * lcore, mem_mb of memory, its own file prefix (prog and the pid). 0 or -1.
 */
int stack3_eal_init(const char *prog, unsigned mem_mb);

/*
 * A benchmark's measurement: one second of warm-up, then windows of one
 * second, each giving cycles per unit (a request, a segment) over it. The
 * figure is the median window; the best one is reported too, since on a
 * shared machine other processes only ever add cycles.
 */
struct stack3_win {
	uint64_t hz, start, end; /* TSC: the first measured window's start, the current one's end */
	unsigned n, k;           /* windows wanted; windows begun (0: warming up) */
	uint64_t cyc0, units0, aux0; /* the counts when the current window began */
	uint64_t units, aux;     /* totals over the closed windows */
	double per[64];          /* cycles per unit of each closed window */
};

/* Begin: `seconds` windows (at least one, at most 64) after the warm-up. */
void stack3_win_start(struct stack3_win *m, double seconds);

/*
 * Once per turn of the loop with the TSC now and the running counts: the
 * measured cycles, the units, and aux (any other count to total, as bytes).
 * Closes the window when it is due; false once the last one is closed.
 */
bool stack3_win_step(struct stack3_win *m, uint64_t now, uint64_t cycles, uint64_t units, uint64_t aux);

/* The result: median and best cycles per unit, windows closed, seconds measured. */
void stack3_win_end(struct stack3_win *m, double *median, double *min, unsigned *n, double *secs);

/*
 * The start of a benchmark named prog: parse --case (into *which), --seconds,
 * --offload and, when conns is not NULL, --conns; start the EAL, a pool of
 * mbufs and a harness on the TSC. NULL after a message on stderr (a bad
 * option: with usage) and *rc set to the exit code (2 or 1).
 */
struct stack3 *stack3_bench_start(int argc, char **argv, const char *prog, const char *usage, const char **which,
				  double *seconds, unsigned *conns, int *rc);

/* Its end: say how many packets a full queue dropped, free h, the pool and the EAL. */
void stack3_bench_end(struct stack3 *h, const char *prog);

/* Free the proxies, stacks, queued packets, snapshots and h itself. */
void stack3_free(struct stack3 *h);

#endif
