/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Scripted segment tests for dataplane/tcp, in the spirit of packetdrill:
 * the test plays the peer, injects crafted segments into tcp_input() and
 * reads back, one by one, the segments the stack sent.
 *
 * Output is captured through the stack's test seam (tcp_set_output()), so
 * neither the neighbour table nor a driver is involved: each captured
 * packet is a complete IPv4 or IPv6 packet whose checksums are verified on
 * capture. Time is virtual: w->hz is 1e9 and th_advance() moves w->now one
 * millisecond at a time, running tcp_timers() at each step, as the worker
 * loop does.
 *
 * Topology: one port, weft at 198.18.0.1/24 and 2001:db8::1/64, the peer
 * at 198.18.0.2 and 2001:db8::2. The application listens on port 80.
 */
#ifndef WEFT_TESTS_TCP_HARNESS_H
#define WEFT_TESTS_TCP_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "dataplane/tcp/tcp.h"
#include "dataplane/worker.h"
#include "policy/snapshot.h"

#define TH_HZ 1000000000ull
#define TH_POOL_SIZE 4095
#define TH_LISTEN_PORT 80
#define TH_MAX_APPS 64
#define TH_MAX_OUT 512

/* What the test application saw on one connection. */
struct th_app {
	struct tcp_conn *c;  /* NULL once the stack freed it (RESET, CLOSED) */
	unsigned ev[6];      /* count per enum tcp_event */
	bool auto_read;      /* drain on READABLE into rx[] */
	uint8_t rx[262144];
	size_t rx_len;
	bool close_on_peer_closed;
	bool abort_on_readable;
};

struct th {
	struct weft_worker *w;        /* &workers[0] */
	struct weft_worker *workers;
	unsigned n_workers;
	struct weft_worker_counters *ctr;
	struct weft_snapshot *snap;
	struct tcp_params params;
	struct tcp_accept accept_tmpl; /* sizes handed out by the accept hook */
	bool refuse_all;
	/* Captured output, oldest first. */
	struct rte_mbuf *out[TH_MAX_OUT];
	unsigned out_head, out_n;
	uint16_t out_port[TH_MAX_OUT];
	/* Application records, one per connection the application learned about. */
	struct th_app *apps;
	unsigned n_apps;
	unsigned accepts; /* accept hook calls */
};

extern struct th *th_cur;
extern struct rte_mempool *th_pool;

/* cmocka group setup/teardown: EAL (no hugepages, no devices) and the mbuf pool. */
int th_group_setup(void **state);
int th_group_teardown(void **state);

/*
 * Per test: th_new() builds the worker and its stack with p (NULL: defaults
 * with max_conns 256); th_free() frees the stack and fails the test if an
 * mbuf leaked or output was left unread.
 */
struct th *th_new(const struct tcp_params *p, unsigned n_workers);
void th_free(struct th *h);
/* Default parameters used by th_new(NULL): tcp_params_default() with a small table. */
void th_params(struct tcp_params *p);

/* Time. */
void th_advance(struct th *h, uint32_t ms);
uint64_t th_ms(const struct th *h);

/* A segment from the peer. Zero fields mean: IPv4, peer port 40000, our port 80, no options. */
struct th_seg {
	uint8_t af;
	uint16_t sport, dport;
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t wnd;
	const void *data;
	uint32_t len;
	uint16_t mss;        /* 0: no MSS option */
	bool has_ws;
	uint8_t ws;
	bool sackok;
	bool ts;
	uint32_t tsval, tsecr;
	uint8_t nsack;
	uint32_t sack[4][2];
	bool bad_cksum;
	uint8_t doff_words;  /* 0: computed */
	bool rx_cksum_good;  /* mark RTE_MBUF_F_RX_L4_CKSUM_GOOD instead of relying on the sum */
	uint32_t split;      /* non-zero: payload bytes from this one on go into a second mbuf */
};
void th_in(struct th *h, const struct th_seg *s);

/* A segment weft sent, parsed. Checksums are asserted on capture. */
struct th_out {
	uint8_t af;
	uint16_t sport, dport;
	uint8_t flags;
	uint32_t seq, ack;
	uint16_t wnd;
	uint32_t len;
	uint8_t data[9000];
	bool has_mss, has_ws, sackok, ts;
	uint16_t mss;
	uint8_t ws;
	uint32_t tsval, tsecr;
	uint8_t nsack;
	uint32_t sack[4][2];
	unsigned nb_segs;
};
unsigned th_out_count(const struct th *h);
/* Pop the oldest captured segment (fails the test when there is none). */
void th_pop(struct th *h, struct th_out *o);
/* Assert nothing was sent. */
void th_none(struct th *h);
void th_drain(struct th *h);

/*
 * The peer of one connection, tracking sequence numbers so tests read like
 * scripts: p.seq is the peer's next sequence number, p.ack the next one it
 * expects from weft.
 */
struct th_peer {
	uint8_t af;
	uint16_t port;     /* peer port */
	uint16_t lport;    /* weft's port */
	uint32_t seq, ack;
	uint16_t wnd;
	bool ts, sack, ws;
	uint8_t wscale;
	uint32_t tsval;    /* peer clock */
	uint32_t ts_recent; /* last TSval seen from weft */
	struct th_app *app;
	struct tcp_conn *c;
};

/* Segment from the peer with its current seq/ack/window/timestamp. */
void th_peer_seg(struct th_peer *p, struct th_seg *s, uint8_t flags, const void *data, uint32_t len);
/* Send it and advance p.seq past data/SYN/FIN. */
void th_peer_send(struct th *h, struct th_peer *p, uint8_t flags, const void *data, uint32_t len);
/* Note what weft sent (ts echo, ack point). */
void th_peer_saw(struct th_peer *p, const struct th_out *o);

/*
 * Passive open from the peer: SYN (options per p.ts/p.sack/p.ws, MSS 1460),
 * expects the SYN-ACK, sends the ACK, expects TCP_EV_ESTABLISHED.
 */
void th_passive_open(struct th *h, struct th_peer *p);
/* Active open by the application to the peer's port (p->lport is set to weft's port). */
void th_active_open(struct th *h, struct th_peer *p);

struct th_app *th_app_of(struct th *h, const struct tcp_conn *c);
struct th_app *th_app_new(struct th *h);
/* The event callback the harness installs. */
void th_event(struct weft_worker *w, struct tcp_conn *c, enum tcp_event ev, void *user);

/* Fill n bytes with a pattern derived from the offset (checked by th_check_pattern). */
void th_pattern(uint8_t *buf, size_t n, size_t offset);
bool th_check_pattern(const uint8_t *buf, size_t n, size_t offset);

uint64_t th_drop(const struct th *h, enum weft_drop why);
const struct tcp_stats *th_stats(const struct th *h);

#endif
