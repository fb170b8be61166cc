/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Stack set-up, the connection table, connection objects, event delivery
 * and active open.
 *
 * Every connection object is allocated when the stack starts; opening a
 * connection pops one from a free list and files it in an open-addressing
 * table keyed by the 4-tuple and family. Linear probing with backward-shift
 * deletion keeps lookups to one or two cache lines without tombstones. The
 * table hash is jhash with a random seed, as Linux's inet_ehashfn: a peer
 * cannot aim its tuples at one chain without knowing the seed.
 */
#include <errno.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ether.h>
#include <rte_jhash.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf_dyn.h>
#include <rte_random.h>
#include <rte_thash.h>

#include "dataplane/dispatch.h"
#include "dataplane/net/net.h"
#include "dataplane/tcp/tcp_priv.h"
#include "drivers/port.h"
#include "policy/netcfg.h"

int tcp_mb_offset = -1;

#define TCP_X_NAME(e, n) [TCP_##e] = n,
static const char *const state_names[TCP_STATE_MAX] = {TCP_STATES(TCP_X_NAME)};
#undef TCP_X_NAME

#define TCP_X_SNAME(f, h) #f,
#define TCP_X_SHELP(f, h) h,
const char *const tcp_stat_name[] = {TCP_STATS(TCP_X_SNAME)};
const char *const tcp_stat_help[] = {TCP_STATS(TCP_X_SHELP)};
#undef TCP_X_SNAME
#undef TCP_X_SHELP
const unsigned tcp_stat_count = sizeof(tcp_stat_name) / sizeof(tcp_stat_name[0]);

const char *tcp_state_name(enum tcp_state s)
{
	return (unsigned)s < TCP_STATE_MAX ? state_names[s] : "?";
}

void tcp_params_default(struct tcp_params *p)
{
	memset(p, 0, sizeof(*p));
	p->max_conns = 16384;
	p->sndbuf = 256 * 1024;
	p->rcvbuf = 256 * 1024;
	p->syn_backlog = 1024;
	p->syncookies = true;
	p->opt_wscale = true;
	p->opt_ts = true;
	p->opt_sack = true;
	p->tlp = true;
	p->cc = TCP_CC_CUBIC;
	p->rto_initial_ms = 1000;
	p->rto_min_ms = 200;
	p->rto_max_ms = 60000;
	p->max_retries = 8;
	p->syn_retries = 5;
	p->delack_ms = 40;
	p->time_wait_ms = 10000;
	p->fin_wait2_ms = 30000;
	p->keepalive_ms = 0;
	p->keepalive_intvl_ms = 75000;
	p->keepalive_probes = 9;
	p->ooo_max_segs = 0; /* derived per connection: tcp_ooo_max_segs() */
	p->ooo_max_bytes = 0; /* rcvbuf */
	p->challenge_ack_per_s = 1000;
	p->ephemeral_lo = 32768;
	p->ephemeral_hi = 60999;
	p->linear_tx_ports = 0;
}

void tcp_clock(struct weft_worker *w)
{
	struct tcp_stack *st = tcp_st(w);

	if (st->tsc_cached == w->now && st->now_us != 0)
		return;
	st->tsc_cached = w->now;
	st->now_us = (uint64_t)((unsigned __int128)w->now * 1000000u / (w->hz ? w->hz : 1));
	st->now_ms = st->now_us / 1000;
}

int tcp_stack_init(struct weft_worker *w, const struct tcp_params *p)
{
	static const struct rte_mbuf_dynfield mb_field = {
		.name = "weft_tcp_mb",
		.size = sizeof(struct tcp_mb),
		.align = __alignof__(struct tcp_mb),
	};
	struct tcp_params def;
	struct tcp_stack *st;
	int socket = (int)rte_lcore_to_socket_id(w->lcore);
	uint32_t tsize = 1;

	if (p == NULL) {
		tcp_params_default(&def);
		p = &def;
	}
	if (p->max_conns == 0 || p->max_conns > (1u << 24) || p->sndbuf == 0 || p->rcvbuf == 0 ||
	    p->rto_min_ms == 0 || p->rto_min_ms > p->rto_max_ms || p->rto_initial_ms == 0 ||
	    p->ephemeral_lo == 0 || p->ephemeral_lo > p->ephemeral_hi || w->pool == NULL)
		return -EINVAL;
	/* Registration is idempotent: every worker gets the same offset. */
	if (tcp_mb_offset < 0) {
		tcp_mb_offset = rte_mbuf_dynfield_register(&mb_field);
		if (tcp_mb_offset < 0)
			return -ENOMEM;
	}
	if (socket < 0 || socket >= RTE_MAX_NUMA_NODES)
		socket = SOCKET_ID_ANY;

	st = rte_zmalloc_socket("weft_tcp", sizeof(*st), RTE_CACHE_LINE_SIZE, socket);
	if (st == NULL)
		return -ENOMEM;
	st->p = *p;
	if (st->p.ooo_max_bytes == 0)
		st->p.ooo_max_bytes = st->p.rcvbuf;
	if (st->p.max_retries == 0)
		st->p.max_retries = 1;
	while (tsize < 2 * p->max_conns)
		tsize <<= 1;
	st->conns = rte_zmalloc_socket("weft_tcp_conns", (size_t)p->max_conns * sizeof(struct tcp_conn),
				       RTE_CACHE_LINE_SIZE, socket);
	st->free_list = rte_malloc_socket("weft_tcp_free", (size_t)p->max_conns * sizeof(uint32_t), 0, socket);
	st->table = rte_zmalloc_socket("weft_tcp_table", (size_t)tsize * sizeof(uint32_t), RTE_CACHE_LINE_SIZE,
				       socket);
	if (st->conns == NULL || st->free_list == NULL || st->table == NULL) {
		rte_free(st->conns);
		rte_free(st->free_list);
		rte_free(st->table);
		rte_free(st);
		return -ENOMEM;
	}
	st->table_mask = tsize - 1;
	/* Pop order 0, 1, 2...: the free list is a stack filled backwards. */
	for (uint32_t i = 0; i < p->max_conns; i++) {
		st->conns[i].idx = i;
		st->free_list[i] = p->max_conns - 1 - i;
	}
	st->n_free = p->max_conns;
	st->hash_seed = (uint32_t)rte_rand();
	for (unsigned i = 0; i < 16; i++) {
		st->isn_key[i] = (uint8_t)rte_rand();
		st->cookie_key[0][i] = (uint8_t)rte_rand();
		st->cookie_key[1][i] = (uint8_t)rte_rand();
	}
	st->def_rcv_wscale = p->opt_wscale ? tcp_wscale_for(st->p.rcvbuf) : 0;
	st->port_hint = (uint16_t)rte_rand();
	w->tcp = st;
	tcp_clock(w);
	st->wheel_ms = st->now_ms;
	st->cookie_period = st->now_ms / TCP_COOKIE_PERIOD_MS;
	st->chack_epoch_ms = st->now_ms;
	return 0;
}

void tcp_stack_free(struct weft_worker *w)
{
	struct tcp_stack *st = tcp_st(w);

	if (st == NULL)
		return;
	for (uint32_t i = 0; i < st->p.max_conns; i++) {
		struct tcp_conn *c = &st->conns[i];
		if (c->state != TCP_CLOSED || c->sndq.head || c->rcvq.head || c->ooo) {
			tcp_q_free(&c->sndq);
			tcp_q_free(&c->rcvq);
			while (c->ooo) {
				struct rte_mbuf *n = tcp_mb(c->ooo)->qnext;
				rte_pktmbuf_free(c->ooo);
				c->ooo = n;
			}
		}
	}
	rte_free(st->conns);
	rte_free(st->free_list);
	rte_free(st->table);
	rte_free(st);
	w->tcp = NULL;
}

void tcp_set_accept(struct weft_worker *w, tcp_accept_fn fn)
{
	tcp_st(w)->accept = fn;
}

static void default_output(struct weft_worker *w, uint16_t port, struct rte_mbuf *m, uint8_t af)
{
	(void)port;
	if (af == 4)
		net_ip4_output(w, m);
	else
		net_ip6_output(w, m);
}

void tcp_set_output(struct weft_worker *w, tcp_output_fn fn)
{
	tcp_st(w)->output = fn;
}

/* Exposed so tcp_output.c need not know about the default. */
tcp_output_fn tcp_output_hook(const struct tcp_stack *st);
tcp_output_fn tcp_output_hook(const struct tcp_stack *st)
{
	return st->output ? st->output : default_output;
}

const struct tcp_stats *tcp_stack_stats(const struct weft_worker *w)
{
	return w->tcp ? &w->tcp->stats : NULL;
}

/* ---- the table ---- */

static uint32_t ep_hash(const struct tcp_stack *st, const struct tcp_endpoints *ep)
{
	uint32_t ports = ((uint32_t)ep->lport << 16) | ep->rport;

	if (ep->local.af == 4)
		return rte_jhash_3words(ep->local.v4, ep->remote.v4, ports, st->hash_seed);
	uint32_t k[9];
	memcpy(k, ep->local.v6, 16);
	memcpy(k + 4, ep->remote.v6, 16);
	k[8] = ports;
	return rte_jhash_32b(k, 9, st->hash_seed ^ 0x6u);
}

static bool ep_equal(const struct tcp_endpoints *a, const struct tcp_endpoints *b)
{
	if (a->lport != b->lport || a->rport != b->rport || a->local.af != b->local.af)
		return false;
	if (a->local.af == 4)
		return a->local.v4 == b->local.v4 && a->remote.v4 == b->remote.v4;
	return memcmp(a->local.v6, b->local.v6, 16) == 0 && memcmp(a->remote.v6, b->remote.v6, 16) == 0;
}

struct tcp_conn *tcp_conn_lookup(struct tcp_stack *st, const struct tcp_endpoints *ep)
{
	uint32_t h = ep_hash(st, ep);

	for (uint32_t i = h & st->table_mask;; i = (i + 1) & st->table_mask) {
		uint32_t v = st->table[i];
		if (v == 0)
			return NULL;
		struct tcp_conn *c = &st->conns[v - 1];
		if (c->hash == h && ep_equal(&c->ep, ep))
			return c;
	}
}

static void table_insert(struct tcp_stack *st, struct tcp_conn *c)
{
	uint32_t i = c->hash & st->table_mask;
	while (st->table[i] != 0)
		i = (i + 1) & st->table_mask;
	st->table[i] = c->idx + 1;
}

/*
 * Backward-shift deletion (Knuth 6.4, algorithm R): entries after the hole
 * that would no longer be reachable from their home slot move into it.
 */
static void table_remove(struct tcp_stack *st, struct tcp_conn *c)
{
	uint32_t mask = st->table_mask, i = c->hash & mask;

	while (st->table[i] != c->idx + 1) {
		if (st->table[i] == 0)
			return; /* not filed */
		i = (i + 1) & mask;
	}
	for (uint32_t j = (i + 1) & mask;; j = (j + 1) & mask) {
		uint32_t v = st->table[j];
		if (v == 0)
			break;
		uint32_t home = st->conns[v - 1].hash & mask;
		/* Move j into the hole i unless its home lies cyclically in (i, j]. */
		bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
		if (!stays) {
			st->table[i] = v;
			i = j;
		}
	}
	st->table[i] = 0;
}

void tcp_set_state(struct tcp_stack *st, struct tcp_conn *c, enum tcp_state s)
{
	WEFT_CTR_ADD(st->stats.state[c->state], (uint64_t)-1);
	WEFT_CTR_ADD(st->stats.state[s], 1);
	c->state = s;
}

struct tcp_conn *tcp_conn_alloc(struct weft_worker *w, const struct tcp_endpoints *ep, const struct tcp_accept *a)
{
	struct tcp_stack *st = tcp_st(w);
	struct tcp_conn *c;

	if (st->n_free == 0) {
		TCP_STAT(st, conn_table_full, 1);
		return NULL;
	}
	c = &st->conns[st->free_list[--st->n_free]];
	uint32_t idx = c->idx;
	memset(c, 0, sizeof(*c));
	c->idx = idx;
	c->ep = *ep;
	c->port = ep->port;
	c->hash = ep_hash(st, ep);
	c->state = TCP_CLOSED;
	WEFT_CTR_ADD(st->stats.state[TCP_CLOSED], 1);
	c->fn = a ? a->fn : NULL;
	c->user = a ? a->user : NULL;
	c->sndbuf = a && a->sndbuf ? a->sndbuf : st->p.sndbuf;
	c->rcvbuf = a && a->rcvbuf ? a->rcvbuf : st->p.rcvbuf;
	c->cc_algo = (uint8_t)st->p.cc;
	c->rto_ms = st->p.rto_initial_ms;
	c->keep_idle_ms = st->p.keepalive_ms;
	c->keep_intvl_ms = st->p.keepalive_intvl_ms;
	c->keep_max = st->p.keepalive_probes;
	c->ts_offset = tcp_ts_offset(st, ep);
	c->adv_mss = (uint16_t)tcp_iface_mss(w, ep->port, ep->local.af);
	c->mss = ep->local.af == 4 ? TCP_DEFAULT_MSS4 : TCP_DEFAULT_MSS6;
	c->rcv_mss = c->mss;
	c->last_rx_ms = st->now_ms;
	table_insert(st, c);
	return c;
}

void tcp_q_free(struct tcp_q *q)
{
	struct rte_mbuf *m = q->head;

	while (m) {
		struct rte_mbuf *n = m->next;
		m->next = NULL;
		rte_pktmbuf_free_seg(m);
		m = n;
	}
	memset(q, 0, sizeof(*q));
}

static void conn_release_bufs(struct tcp_conn *c)
{
	tcp_q_free(&c->sndq);
	tcp_q_free(&c->rcvq);
	while (c->ooo) {
		struct rte_mbuf *n = tcp_mb(c->ooo)->qnext;
		rte_pktmbuf_free(c->ooo);
		c->ooo = n;
	}
	c->ooo_bytes = c->ooo_segs = 0;
	c->snd_cache = NULL;
}

void tcp_conn_free(struct weft_worker *w, struct tcp_conn *c)
{
	struct tcp_stack *st = tcp_st(w);

	if (c->flags & CF_DEAD)
		return;
	table_remove(st, c);
	tcp_timer_unlink(st, c);
	conn_release_bufs(c);
	WEFT_CTR_ADD(st->stats.state[c->state], (uint64_t)-1);
	c->state = TCP_CLOSED;
	c->flags = CF_DEAD;
	c->ev_pending = 0;
	c->fn = NULL;
	/* While callbacks run, somebody up the stack may still look at c. */
	if (st->depth > 0) {
		c->reap_next = st->reap;
		st->reap = c;
	} else {
		st->free_list[st->n_free++] = c->idx;
	}
}

void tcp_reap(struct weft_worker *w)
{
	struct tcp_stack *st = tcp_st(w);

	if (st->depth > 0)
		return;
	while (st->reap) {
		struct tcp_conn *c = st->reap;
		st->reap = c->reap_next;
		st->free_list[st->n_free++] = c->idx;
	}
}

/*
 * Deliver what the connection owes the application, in the order the
 * application needs it: established before data, data before the peer's
 * FIN, and the terminal events last. A callback may close, abort or send;
 * delivery stops as soon as the connection is detached.
 */
static void deliver(struct weft_worker *w, struct tcp_conn *c)
{
	static const enum tcp_event order[] = {TCP_EV_ESTABLISHED, TCP_EV_READABLE, TCP_EV_WRITABLE,
					       TCP_EV_PEER_CLOSED, TCP_EV_CLOSED};
	struct tcp_stack *st = tcp_st(w);

	st->depth++;
	for (unsigned i = 0; i < RTE_DIM(order); i++) {
		enum tcp_event ev = order[i];
		if ((c->flags & (CF_DEAD | CF_ORPHAN)) || !(c->flags & CF_ATTACHED) || c->fn == NULL)
			break;
		if (!(c->ev_pending & (1u << ev)))
			continue;
		c->ev_pending &= ~(1u << ev);
		if (ev == TCP_EV_CLOSED) {
			/* Nothing is delivered after CLOSED; TIME_WAIT goes on unseen. */
			c->flags &= ~CF_ATTACHED;
			c->fn(w, c, ev, c->user);
			c->fn = NULL;
			if (!(c->flags & CF_DEAD) && c->state == TCP_CLOSED)
				tcp_conn_free(w, c);
			break;
		}
		c->fn(w, c, ev, c->user);
	}
	if (!(c->flags & CF_ATTACHED) || (c->flags & CF_ORPHAN))
		c->ev_pending = 0;
	st->depth--;
}

void tcp_finish(struct weft_worker *w, struct tcp_conn *c)
{
	if (!(c->flags & CF_DEAD) && c->ev_pending)
		deliver(w, c);
	if (!(c->flags & CF_DEAD) && c->state != TCP_CLOSED)
		tcp_output(w, c);
}

void tcp_conn_reset(struct weft_worker *w, struct tcp_conn *c)
{
	struct tcp_stack *st = tcp_st(w);

	if (c->flags & CF_DEAD)
		return;
	/* CLOSED first: a tcp_abort() or tcp_close() from the callback must not answer with an RST. */
	tcp_set_state(st, c, TCP_CLOSED);
	if ((c->flags & CF_ATTACHED) && !(c->flags & CF_ORPHAN) && c->fn) {
		tcp_event_fn fn = c->fn;
		/* Buffered data is gone with the connection (RFC 9293 3.10.7.4, RST). */
		c->flags &= ~CF_ATTACHED;
		c->ev_pending = 0;
		st->depth++;
		fn(w, c, TCP_EV_RESET, c->user);
		st->depth--;
	}
	tcp_conn_free(w, c);
}

/* ---- RTT and RTO (RFC 6298) ---- */

void tcp_rto_update(struct tcp_stack *st, struct tcp_conn *c)
{
	/* RTO = SRTT + max(G, 4 * RTTVAR) with a clock granularity G of 1 ms (2.3). */
	uint64_t var = 4ull * c->rttvar_us;
	uint64_t rto_us = c->srtt_us + (var > 1000 ? var : 1000);
	uint64_t ms = (rto_us + 999) / 1000;

	if (ms < st->p.rto_min_ms)
		ms = st->p.rto_min_ms;
	if (ms > st->p.rto_max_ms)
		ms = st->p.rto_max_ms;
	c->rto_ms = (uint32_t)ms;
}

void tcp_rtt_sample(struct tcp_stack *st, struct tcp_conn *c, uint32_t r)
{
	if (c->srtt_us == 0) {
		/* First measurement (2.2). A zero sample still counts: keep srtt non-zero. */
		c->srtt_us = r ? r : 1;
		c->rttvar_us = r / 2;
	} else {
		/* 2.3, with alpha = 1/8 and beta = 1/4. */
		uint32_t delta = c->srtt_us > r ? c->srtt_us - r : r - c->srtt_us;
		c->rttvar_us = (3 * c->rttvar_us + delta) / 4;
		c->srtt_us = (7 * c->srtt_us + r) / 8;
		if (c->srtt_us == 0)
			c->srtt_us = 1;
	}
	/* A fresh sample ends the exponential backoff (5.7 and Karn). */
	c->backoff = 0;
	tcp_rto_update(st, c);
}

/* ---- addresses, routes, MSS ---- */

bool tcp_route(const struct weft_worker *w, const struct weft_ip *dst, uint16_t *port)
{
	const struct weft_net_table *t = w->snap ? &w->snap->net : NULL;

	if (t == NULL)
		return false;
	if (dst->af == 4) {
		const struct weft_route4 *r = weft_route4_lookup(t, dst->v4);
		if (r == NULL)
			return false;
		*port = r->port;
		return true;
	}
	const struct weft_route6 *r6 = weft_route6_lookup(t, dst->v6);
	if (r6 == NULL)
		return false;
	*port = r6->port;
	return true;
}

uint32_t tcp_iface_mss(const struct weft_worker *w, uint16_t port, uint8_t af)
{
	const struct tcp_stack *st = tcp_st(w);
	uint32_t mtu = 1500, mss;

	if (w->snap && port < w->snap->net.n_ifaces && w->snap->net.ifaces[port].mtu)
		mtu = w->snap->net.ifaces[port].mtu;
	/* RFC 9293 3.7.1: MSS = MTU - fixed IP header - fixed TCP header. */
	mss = mtu - (af == 4 ? 20u : 40u) - TCP_HDR_LEN;
	/* A port that cannot send chains gets whole segments in one mbuf. */
	if (port < 8 && (st->p.linear_tx_ports & (1u << port))) {
		uint32_t room = rte_pktmbuf_data_room_size(w->pool) - RTE_PKTMBUF_HEADROOM;
		uint32_t hdrs = RTE_ETHER_HDR_LEN + 40 + TCP_HDR_LEN + TCP_MAX_OPT_LEN;
		if (room > hdrs && mss > room - hdrs)
			mss = room - hdrs;
	}
	return mss;
}

/* ---- active open ---- */

/*
 * The worker that receives the replies of a connection: the Toeplitz hash
 * of the tuple as the peer's segments carry it (source = remote), with the
 * port's RSS key, through the redirection table, exactly as the NIC or
 * weft_dispatch_pick() computes it. Without port information (unit tests)
 * the symmetric key of drivers/port.c stands in.
 */
static unsigned reply_worker(const struct weft_worker *w, const struct tcp_endpoints *ep)
{
	static uint8_t fallback_key[40];
	const struct weft_port_info *pi = weft_port_info(ep->port);
	const uint8_t *key = pi ? pi->rss_key : fallback_key;
	uint32_t tuple[RTE_THASH_V6_L4_LEN];
	uint32_t n, h;

	if (fallback_key[0] == 0)
		for (unsigned i = 0; i < sizeof(fallback_key); i++)
			fallback_key[i] = (i & 1) ? 0x5a : 0x6d;
	if (ep->local.af == 4) {
		tuple[0] = rte_be_to_cpu_32(ep->remote.v4);
		tuple[1] = rte_be_to_cpu_32(ep->local.v4);
		n = 2;
	} else {
		for (unsigned i = 0; i < 4; i++) {
			uint32_t s, d;
			memcpy(&s, ep->remote.v6 + 4 * i, 4);
			memcpy(&d, ep->local.v6 + 4 * i, 4);
			tuple[i] = rte_be_to_cpu_32(s);
			tuple[4 + i] = rte_be_to_cpu_32(d);
		}
		n = 8;
	}
	tuple[n++] = ((uint32_t)ep->rport << 16) | ep->lport;
	h = rte_softrss(tuple, n, key);
	if (pi && pi->rss)
		return weft_port_rss_queue(pi, h);
	return (h % WEFT_RETA_SIZE) % w->n_workers;
}

/*
 * Ephemeral port (RFC 6056): walk the range from a moving start and take the
 * first port whose replies land on this worker and whose tuple is free.
 */
static bool pick_lport(struct weft_worker *w, struct tcp_endpoints *ep)
{
	struct tcp_stack *st = tcp_st(w);
	uint32_t lo = st->p.ephemeral_lo, range = (uint32_t)st->p.ephemeral_hi - lo + 1;
	uint32_t start = st->port_hint;

	for (uint32_t i = 0; i < range; i++) {
		ep->lport = (uint16_t)(lo + (start + i) % range);
		if (w->n_workers > 1 && reply_worker(w, ep) != w->id)
			continue;
		if (tcp_conn_lookup(st, ep) != NULL)
			continue;
		st->port_hint = (uint16_t)(start + i + 1 + (rte_rand() & 7));
		return true;
	}
	return false;
}

struct tcp_conn *tcp_connect(struct weft_worker *w, const struct weft_ip *dst, uint16_t dport, tcp_event_fn fn,
			     void *user, int *err)
{
	struct tcp_accept a = {.fn = fn, .user = user};
	return tcp_connect_ex(w, dst, dport, &a, err);
}

struct tcp_conn *tcp_connect_ex(struct weft_worker *w, const struct weft_ip *dst, uint16_t dport,
				const struct tcp_accept *opt, int *err)
{
	struct tcp_stack *st = tcp_st(w);
	struct tcp_endpoints ep;
	struct tcp_conn *c;
	int e = 0;

	memset(&ep, 0, sizeof(ep));
	if (dst == NULL || (dst->af != 4 && dst->af != 6) || dport == 0 || opt == NULL || opt->fn == NULL) {
		e = EINVAL;
		goto fail;
	}
	tcp_clock(w);
	if (!tcp_route(w, dst, &ep.port)) {
		e = EHOSTUNREACH;
		goto fail;
	}
	ep.remote = *dst;
	ep.rport = dport;
	ep.local.af = dst->af;
	if (dst->af == 4) {
		ep.local.v4 = weft_net_src4(&w->snap->net, ep.port, dst->v4);
		if (ep.local.v4 == 0) {
			e = EADDRNOTAVAIL;
			goto fail;
		}
	} else if (!weft_net_src6(&w->snap->net, ep.port, dst->v6, ep.local.v6)) {
		e = EADDRNOTAVAIL;
		goto fail;
	}
	if (!pick_lport(w, &ep)) {
		e = EADDRNOTAVAIL;
		goto fail;
	}
	c = tcp_conn_alloc(w, &ep, opt);
	if (c == NULL) {
		e = ENOMEM;
		goto fail;
	}
	c->flags |= CF_ATTACHED;
	if (st->p.opt_wscale)
		c->rcv_wscale = tcp_wscale_for(c->rcvbuf);
	c->iss = tcp_isn(st, &ep);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->sndq_seq = c->iss + 1;
	tcp_cc(c)->init(c);
	tcp_set_state(st, c, TCP_SYN_SENT);
	TCP_STAT(st, active_opens, 1);
	tcp_xmit(w, c, c->iss, 0, TCP_SYN);
	c->snd_nxt = c->snd_max = c->iss + 1;
	tcp_timer_set(st, c, TCP_T_RTX, c->rto_ms);
	if (err)
		*err = 0;
	return c;
fail:
	if (err)
		*err = e;
	return NULL;
}

void tcp_set_handler(struct tcp_conn *c, tcp_event_fn fn, void *user)
{
	if (unlikely(c->ulp_ops != NULL)) {
		c->ulp_ops->set_handler(c, c->ulp, fn, user);
		return;
	}
	c->fn = fn;
	c->user = user;
}

void tcp_set_keepalive(struct weft_worker *w, struct tcp_conn *c, uint32_t idle_ms, uint32_t intvl_ms,
		       uint32_t probes)
{
	struct tcp_stack *st = tcp_st(w);

	tcp_clock(w);
	c->keep_idle_ms = idle_ms;
	c->keep_intvl_ms = intvl_ms ? intvl_ms : 75000;
	c->keep_max = probes ? probes : 9;
	c->keep_probes = 0;
	tcp_timer_stop(st, c, TCP_T_KEEP);
	if (c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT)
		tcp_keepalive_arm(st, c);
}

/* ---- introspection ---- */

enum tcp_state tcp_conn_state(const struct tcp_conn *c)
{
	return c->state;
}

const struct tcp_endpoints *tcp_conn_endpoints(const struct tcp_conn *c)
{
	return &c->ep;
}

void tcp_conn_info(const struct tcp_conn *c, struct tcp_conn_info *o)
{
	memset(o, 0, sizeof(*o));
	o->state = c->state;
	o->ep = c->ep;
	o->cc = (enum tcp_cc_algo)c->cc_algo;
	o->mss = c->mss;
	o->cwnd = c->cwnd;
	o->ssthresh = c->ssthresh;
	o->snd_wnd = c->snd_wnd;
	o->rcv_wnd = tcp_rcv_window(c);
	o->flight = c->snd_max - c->snd_una;
	o->srtt_us = c->srtt_us;
	o->rttvar_us = c->rttvar_us;
	o->rto_ms = c->rto_ms;
	o->bytes_in = c->bytes_in;
	o->bytes_out = c->bytes_out;
	o->retransmits = c->retransmits;
	o->snd_wscale = c->snd_wscale;
	o->rcv_wscale = c->rcv_wscale;
	o->ts = (c->flags & CF_TS) != 0;
	o->sack = (c->flags & CF_SACK) != 0;
	o->in_recovery = c->recovery != TCP_REC_NONE;
}

const struct tcp_cc_ops *tcp_cc(const struct tcp_conn *c)
{
	return c->cc_algo == TCP_CC_NEWRENO ? &tcp_cc_newreno : &tcp_cc_cubic;
}
