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

/* Sort the n per-window figures in v; the median and the best (lowest) of them, 0 when n is 0. */
void stack3_windows(double *v, unsigned n, double *median, double *min);

/* Free the proxies, stacks, queued packets, snapshots and h itself. */
void stack3_free(struct stack3 *h);

#endif
