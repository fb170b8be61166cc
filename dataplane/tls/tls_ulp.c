/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TLS as an upper-layer protocol of weft's TCP: see tls_ulp.h for what the
 * application sees, docs/architecture.md for why it is built this way.
 *
 * One struct ulp per TLS connection, allocated when the connection is
 * accepted into (or opened for) a handshake and freed when it ends. It sits
 * between the stack (whose events it receives through its own handler) and
 * the application (whose handler and argument it keeps):
 *
 *   PEEK   permissive listener: waiting for the first byte (0x16: TLS)
 *   WAIT   client: waiting for TCP to be established
 *   HS     handshake in progress (on the per-worker deadline list)
 *   OPEN   handshake done, the application was told ESTABLISHED
 *
 * Re-entrancy: the application may close or abort the connection from any
 * event the layer delivers. The layer counts how deep it is in its own
 * calls (busy) and frees the struct only when it is back at the top; after
 * every delivery it checks whether it was released.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "dataplane/counters.h"
#include "dataplane/tls/tls_ulp.h"
#include "policy/identity.h"

#define PLAIN_CAP (64u << 10)       /* decrypted bytes held for the application */
#define TLS_OUT_CAP (256u << 10)    /* ciphertext the TCP send buffer could not take yet */
#define RECORD_PLAIN 16384u
#define RECORD_COST 32u             /* TLS 1.2 GCM: 5 + 8 + 16 = 29; TLS 1.3: 5 + 16 + 1 = 22 */
#define SCAN_MS 16u                 /* handshake deadlines are checked this often */

const char tls_ulp_settled_marker = 0;

#define TLS_ULP_X_NAME(f, h) #f,
#define TLS_ULP_X_HELP(f, h) h,
const char *const tls_ulp_stat_name[] = {TLS_ULP_STATS(TLS_ULP_X_NAME)};
const char *const tls_ulp_stat_help[] = {TLS_ULP_STATS(TLS_ULP_X_HELP)};

enum ulp_state { U_PEEK, U_WAIT, U_HS, U_OPEN };

struct ulp_worker;

struct ulp {
	struct tcp_conn *c;
	struct ulp_worker *uw;
	struct tls_ulp_cfg *cfg;
	struct tls_conn *tls;          /* NULL while peeking */
	struct tls_transport tp;
	tcp_event_fn app_fn;
	void *app_user;
	uint8_t state;
	bool app_established;          /* the application was told ESTABLISHED */
	bool want_writable;            /* the application wants TCP_EV_WRITABLE */
	bool peer_fin;                 /* the stack delivered PEER_CLOSED */
	bool tls_closed;               /* no more plaintext will come (close_notify, or FIN) */
	bool peer_closed_told;
	bool shut;                     /* the application shut its sending side down */
	bool shut_pending;             /* close_notify waits for room; FIN after it */
	bool post_error;               /* a TLS error found where no event could be delivered */
	bool released;
	unsigned busy;
	uint64_t deadline_ms;
	struct ulp *hs_next, *hs_prev; /* handshake deadline list */
	bool in_hs;
	struct ulp *post_next;         /* deferred events */
	bool in_post;
	struct rte_mbuf *ph, *pt;      /* plaintext queue */
	uint32_t pbytes;
};

struct ulp_worker {
	struct weft_worker *w;
	struct tls_worker *tw;
	struct tls_ulp_stats st;
	uint64_t tsc_per_ms;
	uint64_t last_scan_ms;
	struct ulp *hs;                /* handshakes in flight */
	struct ulp *post;
	uint8_t scratch[RECORD_PLAIN]; /* tcp_send_mbuf(): chains gathered into whole records */
};

static struct ulp_worker *uw_by_worker[WEFT_MAX_WORKERS];

#define ST_ADD(uw, f) WEFT_CTR_ADD((uw)->st.stat[TLS_ULP_##f], 1)

static inline struct ulp_worker *uw_of(const struct weft_worker *w)
{
	return w->id < WEFT_MAX_WORKERS ? uw_by_worker[w->id] : NULL;
}

static inline uint64_t now_ms(const struct ulp_worker *uw)
{
	return uw->w->now / uw->tsc_per_ms;
}

static const struct tcp_ulp_ops ulp_ops;

/* ---- configuration objects ------------------------------------------------------------------- */

struct tls_ulp_cfg *tls_ulp_cfg_new(struct tls_ctx *ctx, bool client, bool permissive, uint32_t handshake_timeout_ms,
				    struct principal_list *allow, const char *by, const char *sni)
{
	struct tls_ulp_cfg *cfg = calloc(1, sizeof(*cfg));

	if (cfg == NULL)
		return NULL;
	cfg->refs = 1;
	cfg->ctx = ctx;
	cfg->client = client;
	cfg->permissive = permissive;
	cfg->handshake_timeout_ms = handshake_timeout_ms ? handshake_timeout_ms : 10000;
	cfg->allow = allow;
	snprintf(cfg->by, sizeof(cfg->by), "%s", by != NULL ? by : "");
	snprintf(cfg->sni, sizeof(cfg->sni), "%s", sni != NULL ? sni : "");
	return cfg;
}

void tls_ulp_cfg_ref(struct tls_ulp_cfg *cfg)
{
	__atomic_add_fetch(&cfg->refs, 1, __ATOMIC_RELAXED);
}

void tls_ulp_cfg_unref(struct tls_ulp_cfg *cfg)
{
	if (cfg == NULL || __atomic_sub_fetch(&cfg->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	tls_ctx_unref(cfg->ctx);
	principal_list_free(cfg->allow);
	free(cfg);
}

/* ---- lists ----------------------------------------------------------------------------------- */

static void hs_link(struct ulp *u)
{
	struct ulp_worker *uw = u->uw;

	u->deadline_ms = now_ms(uw) + u->cfg->handshake_timeout_ms;
	u->hs_prev = NULL;
	u->hs_next = uw->hs;
	if (uw->hs != NULL)
		uw->hs->hs_prev = u;
	uw->hs = u;
	u->in_hs = true;
}

static void hs_unlink(struct ulp *u)
{
	if (!u->in_hs)
		return;
	if (u->hs_prev != NULL)
		u->hs_prev->hs_next = u->hs_next;
	else
		u->uw->hs = u->hs_next;
	if (u->hs_next != NULL)
		u->hs_next->hs_prev = u->hs_prev;
	u->in_hs = false;
}

static void post(struct ulp *u)
{
	if (u->in_post || u->released)
		return;
	u->post_next = u->uw->post;
	u->uw->post = u;
	u->in_post = true;
}

static void post_unlink(struct ulp *u)
{
	struct ulp **pp = &u->uw->post;

	if (!u->in_post)
		return;
	while (*pp != NULL && *pp != u)
		pp = &(*pp)->post_next;
	if (*pp == u)
		*pp = u->post_next;
	u->in_post = false;
}

/* ---- life cycle ------------------------------------------------------------------------------ */

/* Drop everything but the struct itself (freed by leave() once nobody up the stack uses it). */
static void release(struct ulp *u)
{
	if (u->released)
		return;
	u->released = true;
	hs_unlink(u);
	post_unlink(u);
	rte_pktmbuf_free(u->ph);
	u->ph = u->pt = NULL;
	u->pbytes = 0;
	tls_conn_free(u->tls);
	u->tls = NULL;
	tls_ulp_cfg_unref(u->cfg);
	u->cfg = NULL;
	u->c = NULL;
}

static inline void enter(struct ulp *u)
{
	u->busy++;
}

static inline void leave(struct ulp *u)
{
	if (--u->busy == 0 && u->released)
		free(u);
}

/* Deliver ev to the application. False when the layer was released meanwhile. */
static bool app_ev(struct ulp *u, enum tcp_event ev)
{
	if (u->released || u->app_fn == NULL)
		return !u->released;
	u->app_fn(u->uw->w, u->c, ev, u->app_user);
	return !u->released;
}

/* Reset after a TLS failure: counted; the application hears RESET if it knew the connection. */
static void fail_reset(struct ulp *u)
{
	struct tcp_conn *c = u->c;
	struct weft_worker *w = u->uw->w;

	ST_ADD(u->uw, resets);
	if ((u->app_established || u->cfg->client) && !app_ev(u, TCP_EV_RESET))
		return; /* the application aborted it from its handler */
	release(u);
	tcp_lower_abort(w, c);
}

/* ---- transport ------------------------------------------------------------------------------- */

static long tp_recv(void *arg, void *buf, size_t len)
{
	struct ulp *u = arg;
	size_t n = tcp_lower_recv_copy(u->uw->w, u->c, buf, len);

	if (n > 0)
		return (long)n;
	return u->peer_fin ? -1 : 0;
}

static long tp_send(void *arg, const void *buf, size_t len)
{
	struct ulp *u = arg;
	int r = tcp_lower_send(u->uw->w, u->c, buf, len);

	if (r == -ENOBUFS)
		return 0;
	if (r < 0)
		return -1;
	if ((size_t)r < len)
		tcp_lower_want_writable(u->c);
	return r;
}

static bool tls_start(struct ulp *u)
{
	struct tls_conn_opts o = {.transport = &u->tp, .out_cap = TLS_OUT_CAP};

	u->tp = (struct tls_transport){.recv = tp_recv, .send = tp_send, .arg = u};
	u->tls = tls_conn_new(u->uw->tw, u->cfg->ctx, &o);
	return u->tls != NULL;
}

/* ---- receiving ------------------------------------------------------------------------------- */

/* Decrypt into the plaintext queue up to its bound. -1 on a TLS error. */
static int pump(struct ulp *u)
{
	struct rte_mempool *pool = u->uw->w->pool;

	while (u->pbytes < PLAIN_CAP && !u->tls_closed) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		size_t got = 0;
		enum tls_status st;

		if (m == NULL)
			return 0; /* tried again at the next arrival or read */
		m->data_off = 0;
		st = tls_read(u->tls, rte_pktmbuf_mtod(m, void *), rte_pktmbuf_tailroom(m), &got);
		if (st == TLS_DONE && got > 0) {
			m->data_len = (uint16_t)got;
			m->pkt_len = (uint32_t)got;
			if (u->pt != NULL)
				u->pt->next = m;
			else
				u->ph = m;
			u->pt = m;
			u->pbytes += (uint32_t)got;
			continue;
		}
		rte_pktmbuf_free(m);
		switch (st) {
		case TLS_WANT_WRITE:
			tcp_lower_want_writable(u->c);
			return 0;
		case TLS_CLOSED:
			u->tls_closed = true;
			return 0;
		case TLS_ERROR:
			/* A FIN without close_notify ends the stream like one (HTTP/1.1 clients do it). */
			if (tls_conn_error(u->tls) == TLS_ERR_TRUNCATED && u->peer_fin) {
				u->tls_closed = true;
				return 0;
			}
			return -1;
		default:
			return 0;
		}
	}
	return 0;
}

/* Ciphertext arrived (or the peer's FIN): decrypt and tell the application. */
static void data_in(struct ulp *u)
{
	uint32_t before = u->pbytes;

	if (pump(u) != 0) {
		fail_reset(u);
		return;
	}
	if (u->pbytes > before && !app_ev(u, TCP_EV_READABLE))
		return;
	if (u->tls_closed && !u->peer_closed_told) {
		u->peer_closed_told = true;
		app_ev(u, TCP_EV_PEER_CLOSED);
	}
}

/* After the application read: refill, and leave what that found for tls_ulp_timers(). */
static void refill(struct ulp *u)
{
	if (u->state != U_OPEN || u->released)
		return;
	if (pump(u) != 0)
		u->post_error = true;
	if (u->post_error || (u->tls_closed && !u->peer_closed_told))
		post(u);
}

/* ---- handshake ------------------------------------------------------------------------------- */

static void hs_fail(struct ulp *u)
{
	struct tcp_conn *c = u->c;
	struct weft_worker *w = u->uw->w;

	ST_ADD(u->uw, resets);
	if (u->cfg->client && !app_ev(u, TCP_EV_RESET))
		return;
	release(u);
	tcp_lower_abort(w, c);
}

static void hs_done(struct ulp *u)
{
	hs_unlink(u);
	u->state = U_OPEN;
	if (!u->cfg->client && u->cfg->allow != NULL) {
		const struct tls_peer *p = tls_conn_peer(u->tls);
		const char *id = p->present ? p->spiffe_id : NULL;
		if (principal_check(u->cfg->allow, id, id != NULL ? strlen(id) : 0) != AUTHZ_ALLOW) {
			struct tcp_conn *c = u->c;
			ST_ADD(u->uw, principal_denied);
			release(u);
			tcp_lower_abort(u->uw->w, c);
			return;
		}
	}
	u->app_established = true;
	if (!app_ev(u, TCP_EV_ESTABLISHED))
		return;
	data_in(u); /* application data that came with the handshake's last flight */
	if (!u->released && u->want_writable && tls_conn_output_pending(u->tls) == 0) {
		u->want_writable = false;
		app_ev(u, TCP_EV_WRITABLE);
	}
}

static void hs_step(struct ulp *u)
{
	enum tls_status st = tls_handshake_step(u->tls);

	switch (st) {
	case TLS_DONE:
		hs_done(u);
		return;
	case TLS_WANT_WRITE:
		tcp_lower_want_writable(u->c);
		return;
	case TLS_WANT_READ:
		if (u->peer_fin)
			hs_fail(u);
		return;
	default:
		hs_fail(u);
		return;
	}
}

/* Permissive listener: the first byte decides. */
static void peek(struct ulp *u)
{
	uint8_t b;
	struct tcp_conn *c = u->c;

	if (tcp_lower_peek(c, &b, 1) == 0) {
		if (u->peer_fin) {
			release(u);
			tcp_lower_abort(u->uw->w, c);
		}
		return;
	}
	if (b == 0x16) {
		if (!tls_start(u)) {
			release(u);
			tcp_lower_abort(u->uw->w, c);
			return;
		}
		u->state = U_HS;
		hs_step(u);
		return;
	}
	/* Plaintext: the layer steps aside for good. */
	ST_ADD(u->uw, plaintext_in_permissive);
	tcp_event_fn fn = u->app_fn;
	struct weft_worker *w = u->uw->w;
	release(u);
	tcp_ulp_set(c, NULL, NULL);
	tcp_lower_set_handler(c, fn, TLS_ULP_SETTLED);
	fn(w, c, TCP_EV_ESTABLISHED, TLS_ULP_SETTLED);
}

/* ---- the stack's events ---------------------------------------------------------------------- */

static void lower_event(struct weft_worker *w, struct tcp_conn *c, enum tcp_event ev, void *user)
{
	struct ulp *u = user;

	(void)w;
	(void)c;
	enter(u);
	switch (ev) {
	case TCP_EV_ESTABLISHED:
		if (u->state == U_WAIT) {
			u->state = U_HS;
			hs_step(u);
		}
		break;
	case TCP_EV_READABLE:
		if (u->state == U_PEEK)
			peek(u);
		else if (u->state == U_HS)
			hs_step(u);
		else if (u->state == U_OPEN)
			data_in(u);
		break;
	case TCP_EV_WRITABLE:
		if (u->tls != NULL && tls_flush(u->tls) == TLS_ERROR) {
			if (u->state == U_HS)
				hs_fail(u);
			else
				fail_reset(u);
			break;
		}
		if (u->state == U_HS) {
			hs_step(u);
			break;
		}
		if (u->state != U_OPEN)
			break;
		if (u->shut_pending && tls_conn_output_pending(u->tls) == 0) {
			if (tls_shutdown(u->tls) == TLS_WANT_WRITE) {
				tcp_lower_want_writable(u->c);
				break;
			}
			u->shut_pending = false;
			tcp_lower_shutdown(u->uw->w, u->c);
		}
		if (u->want_writable && tls_conn_output_pending(u->tls) == 0) {
			u->want_writable = false;
			app_ev(u, TCP_EV_WRITABLE);
		}
		break;
	case TCP_EV_PEER_CLOSED:
		u->peer_fin = true;
		if (u->state == U_PEEK)
			peek(u);
		else if (u->state == U_HS)
			hs_step(u);
		else if (u->state == U_OPEN)
			data_in(u);
		else
			hs_fail(u);
		break;
	case TCP_EV_RESET:
	case TCP_EV_CLOSED:
		/* The stack frees c after this. */
		if (u->state == U_OPEN && ev == TCP_EV_CLOSED && !u->released)
			data_in(u);
		if (!u->released && (u->app_established || u->cfg->client))
			app_ev(u, ev == TCP_EV_CLOSED && !u->app_established ? TCP_EV_RESET : ev);
		if (!u->released) {
			tcp_ulp_set(c, NULL, NULL);
			release(u);
		}
		break;
	}
	leave(u);
}

/* ---- what the application calls -------------------------------------------------------------- */

static size_t op_send_space(const struct tcp_conn *c, const void *ulp)
{
	const struct ulp *u = ulp;
	size_t ls, cost;

	if (u->state != U_OPEN || u->shut || u->released || tls_conn_output_pending(u->tls) > 0)
		return 0;
	ls = tcp_lower_send_space(c);
	cost = (ls / RECORD_PLAIN + 1) * RECORD_COST;
	return ls > cost ? ls - cost : 0;
}

static size_t op_rx_ready(const struct tcp_conn *c, const void *ulp)
{
	const struct ulp *u = ulp;

	(void)c;
	return u->state == U_OPEN ? u->pbytes : 0;
}

static int op_send(struct weft_worker *w, struct tcp_conn *c, void *ulp, const void *data, size_t len)
{
	struct ulp *u = ulp;
	size_t space, put = 0;

	(void)w;
	if (u->shut || u->released)
		return -ENOTCONN;
	if (u->state != U_OPEN) {
		u->want_writable = true;
		return 0;
	}
	space = op_send_space(c, u);
	if (space < len) {
		u->want_writable = true;
		tcp_lower_want_writable(c);
	}
	if (len > space)
		len = space;
	if (len == 0)
		return 0;
	enter(u);
	if (tls_write(u->tls, data, len, &put) == TLS_ERROR) {
		u->post_error = true;
		post(u);
		leave(u);
		return -ENOTCONN;
	}
	leave(u);
	return (int)put;
}

static int op_send_mbuf(struct weft_worker *w, struct tcp_conn *c, void *ulp, struct rte_mbuf *m)
{
	struct ulp *u = ulp;
	struct ulp_worker *uw = u->uw;
	uint32_t total = rte_pktmbuf_pkt_len(m);
	size_t fill = 0;

	(void)w;
	if (u->shut || u->released || u->state != U_OPEN)
		return -ENOTCONN;
	if (total > op_send_space(c, u)) {
		u->want_writable = true;
		tcp_lower_want_writable(c);
		return -EAGAIN;
	}
	enter(u);
	/* Gather the chain into whole records: a record per segment would cost a tag each. */
	for (struct rte_mbuf *s = m; s != NULL; s = s->next) {
		const uint8_t *p = rte_pktmbuf_mtod(s, const uint8_t *);
		size_t left = s->data_len;
		while (left > 0) {
			size_t k = sizeof(uw->scratch) - fill < left ? sizeof(uw->scratch) - fill : left;
			memcpy(uw->scratch + fill, p, k);
			fill += k;
			p += k;
			left -= k;
			if (fill == sizeof(uw->scratch) || (left == 0 && s->next == NULL)) {
				size_t put;
				if (tls_write(u->tls, uw->scratch, fill, &put) == TLS_ERROR || put < fill) {
					/* Not expected: the room was checked. The stream is broken: reset it. */
					rte_pktmbuf_free(m);
					u->post_error = true;
					post(u);
					leave(u);
					return 0;
				}
				fill = 0;
			}
		}
	}
	if (fill > 0) {
		size_t put;
		if (tls_write(u->tls, uw->scratch, fill, &put) == TLS_ERROR || put < fill) {
			u->post_error = true;
			post(u);
		}
	}
	rte_pktmbuf_free(m);
	leave(u);
	return 0;
}

static struct rte_mbuf *op_recv(struct weft_worker *w, struct tcp_conn *c, void *ulp, uint32_t max_bytes)
{
	struct ulp *u = ulp;
	struct rte_mbuf *head = NULL, *tail = NULL;
	uint32_t got = 0;
	uint16_t n = 0;

	(void)c;
	if (u->state != U_OPEN || u->pbytes == 0 || max_bytes == 0)
		return NULL;
	while (u->ph != NULL && got < max_bytes) {
		struct rte_mbuf *s = u->ph, *take;
		uint32_t room = max_bytes - got;
		if (s->data_len <= room) {
			u->ph = s->next;
			if (u->ph == NULL)
				u->pt = NULL;
			s->next = NULL;
			take = s;
		} else {
			/* Split s: its first bytes leave in a segment of their own. */
			take = rte_pktmbuf_alloc(w->pool);
			if (take == NULL)
				break;
			take->data_off = 0;
			memcpy(rte_pktmbuf_mtod(take, void *), rte_pktmbuf_mtod(s, void *), room);
			take->data_len = (uint16_t)room;
			take->pkt_len = room;
			rte_pktmbuf_adj(s, (uint16_t)room);
		}
		if (tail != NULL)
			tail->next = take;
		else
			head = take;
		tail = take;
		got += take->data_len;
		n++;
	}
	u->pbytes -= got;
	if (head != NULL) {
		head->nb_segs = n;
		head->pkt_len = got;
	}
	enter(u);
	refill(u);
	leave(u);
	return head;
}

static size_t op_recv_copy(struct weft_worker *w, struct tcp_conn *c, void *ulp, void *buf, size_t len)
{
	struct ulp *u = ulp;
	uint8_t *out = buf;
	size_t done = 0;

	(void)w;
	(void)c;
	if (u->state != U_OPEN)
		return 0;
	while (done < len && u->ph != NULL) {
		struct rte_mbuf *m = u->ph;
		size_t k = m->data_len < len - done ? m->data_len : len - done;
		memcpy(out + done, rte_pktmbuf_mtod(m, void *), k);
		done += k;
		if (k == m->data_len) {
			u->ph = m->next;
			if (u->ph == NULL)
				u->pt = NULL;
			m->next = NULL;
			rte_pktmbuf_free(m);
		} else {
			rte_pktmbuf_adj(m, (uint16_t)k);
		}
	}
	u->pbytes -= (uint32_t)done;
	enter(u);
	refill(u);
	leave(u);
	return done;
}

static void op_shutdown(struct weft_worker *w, struct tcp_conn *c, void *ulp)
{
	struct ulp *u = ulp;

	if (u->shut || u->released)
		return;
	u->shut = true;
	if (u->state != U_OPEN) {
		tcp_lower_shutdown(w, c);
		return;
	}
	enter(u);
	if (tls_conn_output_pending(u->tls) > 0 || tls_shutdown(u->tls) == TLS_WANT_WRITE) {
		u->shut_pending = true;
		tcp_lower_want_writable(c);
	} else {
		tcp_lower_shutdown(w, c);
	}
	leave(u);
}

static void op_close(struct weft_worker *w, struct tcp_conn *c, void *ulp)
{
	struct ulp *u = ulp;

	enter(u);
	if (u->state == U_OPEN && u->tls != NULL && !u->released && (!u->shut || u->shut_pending))
		(void)tls_shutdown(u->tls);
	release(u);
	leave(u);
	tcp_lower_close(w, c);
}

static void op_abort(struct weft_worker *w, struct tcp_conn *c, void *ulp)
{
	struct ulp *u = ulp;

	enter(u);
	release(u);
	leave(u);
	tcp_lower_abort(w, c);
}

static void op_set_handler(struct tcp_conn *c, void *ulp, tcp_event_fn fn, void *user)
{
	struct ulp *u = ulp;

	(void)c;
	u->app_fn = fn;
	u->app_user = user;
}

static const struct tcp_ulp_ops ulp_ops = {
	.send = op_send,
	.send_mbuf = op_send_mbuf,
	.recv = op_recv,
	.recv_copy = op_recv_copy,
	.rx_ready = op_rx_ready,
	.send_space = op_send_space,
	.shutdown = op_shutdown,
	.close = op_close,
	.abort = op_abort,
	.set_handler = op_set_handler,
};

/* ---- attaching ------------------------------------------------------------------------------- */

static struct ulp *ulp_new(struct ulp_worker *uw, struct tcp_conn *c, struct tls_ulp_cfg *cfg, tcp_event_fn fn,
			   void *user)
{
	struct ulp *u = calloc(1, sizeof(*u));

	if (u == NULL)
		return NULL;
	u->c = c;
	u->uw = uw;
	u->cfg = cfg;
	tls_ulp_cfg_ref(cfg);
	u->app_fn = fn;
	u->app_user = user;
	return u;
}

int tls_ulp_accept(struct weft_worker *w, struct tcp_conn *c, struct tls_ulp_cfg *cfg, tcp_event_fn fn)
{
	struct ulp_worker *uw = uw_of(w);
	struct ulp *u = uw != NULL ? ulp_new(uw, c, cfg, fn, TLS_ULP_SETTLED) : NULL;

	if (u == NULL) {
		tcp_abort(w, c);
		return -1;
	}
	ST_ADD(uw, server_conns);
	tcp_lower_set_handler(c, lower_event, u);
	tcp_ulp_set(c, &ulp_ops, u);
	hs_link(u);
	enter(u);
	if (cfg->permissive) {
		u->state = U_PEEK;
		peek(u);
	} else if (!tls_start(u)) {
		release(u);
		tcp_lower_abort(w, c);
	} else {
		u->state = U_HS;
		if (tcp_lower_rx_ready(c) > 0)
			hs_step(u);
	}
	leave(u);
	return 0;
}

int tls_ulp_connect(struct weft_worker *w, struct tcp_conn *c, struct tls_ulp_cfg *cfg, tcp_event_fn fn,
		    void *user)
{
	struct ulp_worker *uw = uw_of(w);
	struct ulp *u = uw != NULL ? ulp_new(uw, c, cfg, fn, user) : NULL;

	if (u == NULL)
		return -1;
	if (!tls_start(u)) {
		tls_ulp_cfg_unref(u->cfg);
		free(u);
		return -1;
	}
	ST_ADD(uw, client_conns);
	u->state = U_WAIT;
	tcp_lower_set_handler(c, lower_event, u);
	tcp_ulp_set(c, &ulp_ops, u);
	hs_link(u);
	return 0;
}

bool tls_ulp_active(const struct tcp_conn *c)
{
	const struct ulp *u = tcp_ulp_get(c, &ulp_ops);
	return u != NULL && u->state == U_OPEN && !u->released;
}

const char *tls_ulp_principal(const struct tcp_conn *c)
{
	const struct ulp *u = tcp_ulp_get(c, &ulp_ops);

	if (u == NULL || u->state != U_OPEN || u->released)
		return NULL;
	const struct tls_peer *p = tls_conn_peer(u->tls);
	return p->present ? p->spiffe_id : NULL;
}

int tls_ulp_xfcc(const struct tcp_conn *c, char *buf, size_t cap)
{
	const struct ulp *u = tcp_ulp_get(c, &ulp_ops);
	struct xfcc_cert x = {0};

	if (cap > 0)
		buf[0] = '\0';
	if (u == NULL || u->state != U_OPEN || u->released)
		return 0;
	const struct tls_peer *p = tls_conn_peer(u->tls);
	if (!p->present)
		return 0;
	if (u->cfg->by[0] != '\0')
		x.by = (struct id_str){u->cfg->by, strlen(u->cfg->by)};
	x.hash = p->sha256;
	if (p->spiffe_id != NULL) {
		x.uri[0] = (struct id_str){p->spiffe_id, strlen(p->spiffe_id)};
		x.n_uri = 1;
	}
	return xfcc_format(buf, cap, &x);
}

/* ---- per worker ------------------------------------------------------------------------------ */

int tls_ulp_init(struct weft_worker *w)
{
	struct ulp_worker *uw;

	if (w->id >= WEFT_MAX_WORKERS || uw_by_worker[w->id] != NULL)
		return -EINVAL;
	uw = rte_zmalloc("weft_tls_ulp", sizeof(*uw), RTE_CACHE_LINE_SIZE);
	if (uw == NULL)
		return -ENOMEM;
	uw->tw = tls_worker_new();
	if (uw->tw == NULL) {
		rte_free(uw);
		return -ENOMEM;
	}
	uw->w = w;
	uw->tsc_per_ms = w->hz >= 1000 ? w->hz / 1000 : 1;
	uw_by_worker[w->id] = uw;
	return 0;
}

void tls_ulp_free(struct weft_worker *w)
{
	struct ulp_worker *uw = uw_of(w);

	if (uw == NULL)
		return;
	uw_by_worker[w->id] = NULL;
	tls_worker_free(uw->tw);
	rte_free(uw);
}

void tls_ulp_timers(struct weft_worker *w)
{
	struct ulp_worker *uw = uw_of(w);

	if (uw == NULL)
		return;
	while (uw->post != NULL) {
		struct ulp *u = uw->post;
		uw->post = u->post_next;
		u->in_post = false;
		enter(u);
		if (u->post_error)
			fail_reset(u);
		else if (u->tls_closed && !u->peer_closed_told) {
			u->peer_closed_told = true;
			app_ev(u, TCP_EV_PEER_CLOSED);
		}
		leave(u);
	}
	uint64_t now = now_ms(uw);
	if (now - uw->last_scan_ms < SCAN_MS)
		return;
	uw->last_scan_ms = now;
	for (struct ulp *u = uw->hs, *next; u != NULL; u = next) {
		next = u->hs_next;
		if (u->deadline_ms > now)
			continue;
		ST_ADD(uw, handshake_timeouts);
		enter(u);
		hs_unlink(u);
		hs_fail(u);
		leave(u);
		next = uw->hs; /* the list may have changed under the callbacks: start over */
		while (next != NULL && next->deadline_ms > now)
			next = next->hs_next;
	}
}

const struct tls_ulp_stats *tls_ulp_stats(const struct weft_worker *w)
{
	const struct ulp_worker *uw = uw_of(w);
	return uw != NULL ? &uw->st : NULL;
}

const struct tls_stats *tls_ulp_engine_stats(const struct weft_worker *w)
{
	const struct ulp_worker *uw = uw_of(w);
	return uw != NULL ? tls_worker_stats(uw->tw) : NULL;
}
