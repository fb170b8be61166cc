/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tcp_proxy: sessions, the byte pump between two connections, and the
 * per-worker timer wheel for connect and idle timeouts.
 *
 * A session goes CONNECTING (downstream established, upstream handshake in
 * flight: nothing is read from the downstream yet, so its window closes if
 * the client sends early) -> OPEN (bytes flow) -> freed. Every event of
 * either connection ends in px_progress(), which moves what it can in both
 * directions, passes FINs on and closes the session when both directions
 * are finished. Nothing else keeps state about "what happens next", so an
 * event in any order leads to the same place.
 *
 * A tls_passthrough session starts in SNIFFING instead: the downstream's
 * first bytes are read into held[DOWN] (bounded by TCP_PROXY_HELLO_MAX and
 * the connect deadline) until they hold a whole ClientHello; sniff() then
 * routes by its server name and goes on to CONNECTING. held[DOWN] is what
 * pump() sends upstream first, so the hello goes out unchanged.
 *
 * Mbuf ownership: payload is owned by a connection's receive queue until
 * tcp_recv() hands it to us, then by us (s->held) or by the other
 * connection's send queue once tcp_send_mbuf() accepted it. s->held only
 * ever holds payload of a connection that is gone (TCP_EV_CLOSED with
 * unread data) or that tcp_send_mbuf() refused: in the steady state data is
 * never buffered here, only in the two TCP stacks' bounded queues.
 */
#include "dataplane/l4/tcp_proxy.h"

#include <errno.h>
#include <string.h>

#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>

#include "dataplane/counters.h"
#include "dataplane/proxy/http_proxy.h"
#include "dataplane/tls/clienthello.h"
#ifdef WEFT_HAVE_TLS
#include "dataplane/tls/tls_ulp.h"
#endif

#define X_NAME(f, h) #f,
#define X_HELP(f, h) h,
const char *const tcp_proxy_stat_name[TCP_PROXY_STAT_MAX] = {TCP_PROXY_STATS(X_NAME)};
const char *const tcp_proxy_stat_help[TCP_PROXY_STAT_MAX] = {TCP_PROXY_STATS(X_HELP)};
#undef X_NAME
#undef X_HELP

enum { DOWN = 0, UP = 1 };

enum px_phase {
	PX_FREE,
	PX_CONNECTING, /* downstream established, upstream handshake in flight */
	PX_OPEN,       /* both established: bytes flow */
	PX_SNIFFING,   /* tls_passthrough: downstream established, reading its ClientHello into held[DOWN] */
};

/* Timer wheel: one slot per millisecond; an entry due later stays put and is looked at once a round. */
#define PUMP_MIN 4096u /* least send room worth splitting a segment for */
#define WHEEL_SLOTS 1024u
#define WHEEL_MASK (WHEEL_SLOTS - 1)

struct px_session {
	struct tcp_conn *c[2];     /* NULL once the stack freed it (RESET, CLOSED) or we closed it */
	struct rte_mbuf *held[2];  /* payload read from side i, not yet accepted by the other side */
	uint8_t phase;
	uint8_t rd_eof[2];         /* side i sent its FIN */
	uint8_t wr_shut[2];        /* we sent (queued) a FIN to side i */
	uint8_t in_wheel;
	uint16_t slot;             /* listener stats slot */
	uint32_t idle_ms;          /* 0: no idle timeout */
	uint64_t deadline_ms;      /* CONNECTING: the connect deadline; OPEN: last_ms + idle_ms when armed */
	uint64_t last_ms;          /* when a byte last moved */
	struct px_session *tnext, *tprev; /* wheel slot list */
	struct px_session *free_next;
};

struct px_worker {
	struct tcp_proxy_stats st;
	struct weft_worker *w;
	struct px_session *sessions;
	struct px_session *free;
	uint32_t max_sessions;
	uint32_t n_active;
	uint32_t sndbuf, rcvbuf;
	uint64_t tsc_per_ms;
	uint64_t wheel_ms;         /* next millisecond slot to process; 0: not started */
	struct px_session *wheel[WHEEL_SLOTS];
	uint64_t rr_version;       /* snapshot version the round-robin state belongs to */
	int32_t rr[WEFT_L4_MAX_ENDPOINTS];
	uint8_t hello[TCP_PROXY_HELLO_MAX]; /* tls_passthrough: the sniffed bytes, flattened for the parser */
};

/* One per worker id; set before the workers start, read-only afterwards. */
static struct px_worker *px_by_worker[WEFT_MAX_WORKERS];

#define ST_ADD(px, f, n) WEFT_CTR_ADD((px)->st.stat[TCP_PROXY_##f], (n))
/* Gauges go down too: the same relaxed store, so the reader never sees a torn value. */
#define GAUGE_SUB(field)                                                                           \
	__atomic_store_n(&(field), __atomic_load_n(&(field), __ATOMIC_RELAXED) - 1, __ATOMIC_RELAXED)

static inline struct px_worker *px_of(const struct weft_worker *w)
{
	return w->id < WEFT_MAX_WORKERS ? px_by_worker[w->id] : NULL;
}

static inline uint64_t now_ms(const struct px_worker *px)
{
	return px->w->now / px->tsc_per_ms;
}

static void conn_drop(struct weft_worker *w, enum weft_drop why)
{
	WEFT_CTR_ADD(w->ctr->drops[why], 1);
}

/* ---- payload chains -------------------------------------------------------- */

/* Append chain m (owned) to *q. False when the chain would exceed the segment limit (m is still ours). */
static bool chain_append(struct rte_mbuf **q, struct rte_mbuf *m)
{
	if (*q == NULL) {
		*q = m;
		return true;
	}
	return rte_pktmbuf_chain(*q, m) == 0;
}

/*
 * Detach from the front of *q whole segments totalling at most max bytes,
 * but always at least one (tcp_send_mbuf() then either takes it or asks
 * for a TCP_EV_WRITABLE sized for it). Returns the detached chain with its
 * head fields fixed.
 */
static struct rte_mbuf *chain_take(struct rte_mbuf **q, uint32_t max)
{
	struct rte_mbuf *head = *q, *last = head, *seg = head->next;
	uint32_t bytes = head->data_len;
	uint16_t segs = 1;

	while (seg != NULL && bytes + seg->data_len <= max) {
		bytes += seg->data_len;
		segs++;
		last = seg;
		seg = seg->next;
	}
	if (seg != NULL) {
		seg->nb_segs = (uint16_t)(head->nb_segs - segs);
		seg->pkt_len = head->pkt_len - bytes;
		last->next = NULL;
		head->nb_segs = segs;
		head->pkt_len = bytes;
	}
	*q = seg;
	return head;
}

/* Put m back in front of *q (it came from there, so the segment limit holds). */
static void chain_push_front(struct rte_mbuf **q, struct rte_mbuf *m)
{
	if (*q != NULL && rte_pktmbuf_chain(m, *q) != 0) {
		/* Cannot happen for a chain split from *q; keep the data order anyway by dropping the rest. */
		rte_pktmbuf_free(*q);
	}
	*q = m;
}

/* ---- timer wheel --------------------------------------------------------- */

static void wheel_unlink(struct px_worker *px, struct px_session *s)
{
	if (!s->in_wheel)
		return;
	if (s->tprev != NULL)
		s->tprev->tnext = s->tnext;
	else
		px->wheel[s->deadline_ms & WHEEL_MASK] = s->tnext;
	if (s->tnext != NULL)
		s->tnext->tprev = s->tprev;
	s->tnext = s->tprev = NULL;
	s->in_wheel = 0;
}

static void wheel_arm(struct px_worker *px, struct px_session *s, uint64_t deadline_ms)
{
	struct px_session **head;

	wheel_unlink(px, s);
	s->deadline_ms = deadline_ms;
	head = &px->wheel[deadline_ms & WHEEL_MASK];
	s->tprev = NULL;
	s->tnext = *head;
	if (*head != NULL)
		(*head)->tprev = s;
	*head = s;
	s->in_wheel = 1;
}

/* ---- sessions ------------------------------------------------------------ */

static struct px_session *session_alloc(struct px_worker *px)
{
	struct px_session *s = px->free;

	if (s == NULL)
		return NULL;
	px->free = s->free_next;
	memset(s, 0, sizeof(*s));
	px->n_active++;
	return s;
}

/* Forget s: its connections must already be closed, aborted or freed by the stack. */
static void session_free(struct px_worker *px, struct px_session *s)
{
	wheel_unlink(px, s);
	for (int i = 0; i < 2; i++) {
		rte_pktmbuf_free(s->held[i]);
		s->held[i] = NULL;
	}
	if (s->phase != PX_FREE)
		GAUGE_SUB(px->st.active[s->slot]);
	s->phase = PX_FREE;
	s->c[DOWN] = s->c[UP] = NULL;
	s->free_next = px->free;
	px->free = s;
	px->n_active--;
}

/* Reset whatever side is still there (the peers get an RST) and forget the session. */
static void session_abort(struct weft_worker *w, struct px_worker *px, struct px_session *s)
{
	for (int i = 0; i < 2; i++) {
		if (s->c[i] != NULL) {
			tcp_abort(w, s->c[i]); /* no callback after this */
			s->c[i] = NULL;
		}
	}
	session_free(px, s);
}

/*
 * Ask for TCP_EV_WRITABLE on c, whose send buffer is full (only then: with
 * any room the byte would be taken). The stack posts the event after a send
 * that could not take everything, so offer one byte: with no room it takes
 * none (tcp_send() is documented to return what it took), and the event
 * follows once the peer's ACKs free room. The data itself stays in the
 * source's receive buffer, where it closes the source's window.
 */
static void want_writable(struct weft_worker *w, struct tcp_conn *c)
{
	static const uint8_t probe;

	(void)tcp_send(w, c, &probe, 1);
}

/*
 * Move bytes from side i to the other side, as far as the other side's send
 * buffer has room. Returns the bytes moved; -1 when the session had to be
 * aborted (the other side can no longer send).
 */
static int64_t pump(struct weft_worker *w, struct px_worker *px, struct px_session *s, int i)
{
	struct tcp_conn *src = s->c[i], *dst = s->c[!i];
	int64_t moved = 0;

	if (dst == NULL || s->wr_shut[!i])
		return 0;
	for (;;) {
		size_t space = tcp_send_space(dst), waiting = 0;
		struct rte_mbuf *m;

		if (s->held[i] != NULL)
			waiting = rte_pktmbuf_pkt_len(s->held[i]);
		else if (src != NULL)
			waiting = tcp_rx_ready(src);

		if (waiting == 0)
			break;
		if (space == 0) {
			want_writable(w, dst);
			break;
		}
		size_t take = waiting < space ? waiting : space;
		/*
		 * A sliver of room would split a segment into a runt (sender-side
		 * silly window syndrome, RFC 9293 3.8.6.2.1). Offer a real chunk
		 * instead: tcp_send_mbuf() refuses it and asks for TCP_EV_WRITABLE
		 * once there is room for all of it.
		 */
		if (take < waiting && take < PUMP_MIN)
			take = waiting < PUMP_MIN ? waiting : PUMP_MIN;
		if (take > UINT32_MAX)
			take = UINT32_MAX;
		if (s->held[i] != NULL)
			m = chain_take(&s->held[i], (uint32_t)take);
		else
			m = tcp_recv(w, src, (uint32_t)take);
		if (m == NULL)
			break;
		uint32_t len = rte_pktmbuf_pkt_len(m);
		int rc = tcp_send_mbuf(w, dst, m);
		if (rc != 0) {
			/* Still ours: keep it, in order, for the next WRITABLE. */
			chain_push_front(&s->held[i], m);
			if (rc == -EAGAIN)
				break;
			/* -ENOTCONN: the other side cannot take data any more; nothing sensible is left. */
			session_abort(w, px, s);
			return -1;
		}
		moved += len;
		if (i == DOWN)
			ST_ADD(px, bytes_to_upstream, len);
		else
			ST_ADD(px, bytes_to_downstream, len);
	}
	return moved;
}

/* Side i has sent its FIN and everything it sent has been handed to the other side. */
static bool drained(const struct px_session *s, int i)
{
	return s->rd_eof[i] && s->held[i] == NULL && (s->c[i] == NULL || tcp_rx_ready(s->c[i]) == 0);
}

/* Move what can move, pass FINs on, close when both directions are done. */
static void progress(struct weft_worker *w, struct px_worker *px, struct px_session *s)
{
	int64_t moved = 0;

	if (s->phase != PX_OPEN)
		return;
	for (int i = 0; i < 2; i++) {
		int64_t n = pump(w, px, s, i);
		if (n < 0)
			return; /* aborted */
		moved += n;
	}
	if (moved > 0)
		s->last_ms = now_ms(px);
	for (int i = 0; i < 2; i++) {
		if (s->wr_shut[!i] || !drained(s, i))
			continue;
		/* Half close (RFC 9293 3.6): the other side gets our FIN after its queued data. */
		if (s->c[!i] != NULL)
			tcp_shutdown(w, s->c[!i]);
		s->wr_shut[!i] = 1;
	}
	if (s->wr_shut[DOWN] && s->wr_shut[UP]) {
		/*
		 * Both FINs are queued behind the data: tcp_close() lets each
		 * connection finish on its own (retransmissions, TIME_WAIT).
		 */
		for (int i = 0; i < 2; i++) {
			if (s->c[i] != NULL) {
				tcp_close(w, s->c[i]); /* no callback after this */
				s->c[i] = NULL;
			}
		}
		ST_ADD(px, closed, 1);
		session_free(px, s);
	}
}

static void sniff(struct weft_worker *w, struct px_worker *px, struct px_session *s);

static void session_event(struct weft_worker *w, struct tcp_conn *c, enum tcp_event ev, void *user)
{
	struct px_worker *px = px_of(w);
	struct px_session *s = user;
	int side;

	if (px == NULL || s == NULL || s->phase == PX_FREE)
		return;
	if (c == s->c[DOWN])
		side = DOWN;
	else if (c == s->c[UP])
		side = UP;
	else
		return;

	switch (ev) {
	case TCP_EV_ESTABLISHED:
		if (side == UP && s->phase == PX_CONNECTING) {
			s->phase = PX_OPEN;
			s->last_ms = now_ms(px);
			ST_ADD(px, upstream_connected, 1);
			if (s->idle_ms != 0)
				wheel_arm(px, s, s->last_ms + s->idle_ms);
			else
				wheel_unlink(px, s);
		}
		break;
	case TCP_EV_READABLE:
	case TCP_EV_WRITABLE:
		break;
	case TCP_EV_PEER_CLOSED:
		s->rd_eof[side] = 1;
		break;
	case TCP_EV_RESET:
		/* The stack frees c after we return; the other side gets an RST from us. */
		s->c[side] = NULL;
		if (s->phase == PX_SNIFFING) {
			ST_ADD(px, downstream_resets, 1);
			session_abort(w, px, s);
			return;
		}
		if (side == UP && s->phase == PX_CONNECTING) {
			ST_ADD(px, connect_refused, 1);
			conn_drop(w, WEFT_DROP_TCP_PROXY_CONNECT_REFUSED);
		} else {
			if (side == UP)
				ST_ADD(px, upstream_resets, 1);
			else
				ST_ADD(px, downstream_resets, 1);
		}
		session_abort(w, px, s);
		return;
	case TCP_EV_CLOSED:
		/*
		 * Both directions of c are done and the stack frees it after we
		 * return. Whatever it received and we have not passed on yet
		 * (the other side's window was full) is ours now.
		 */
		s->rd_eof[side] = 1;
		for (;;) {
			struct rte_mbuf *m = tcp_recv(w, c, UINT32_MAX);
			if (m == NULL)
				break;
			if (!chain_append(&s->held[side], m)) {
				rte_pktmbuf_free(m);
				s->c[side] = NULL;
				session_abort(w, px, s);
				return;
			}
		}
		s->c[side] = NULL;
		break;
	}
	if (s->phase == PX_SNIFFING) {
		sniff(w, px, s);
		return;
	}
	progress(w, px, s);
}

/* Round robin over cluster ci of snap (per worker, reset when the snapshot changes). */
static const struct weft_l4_endpoint *pick_endpoint(struct px_worker *px, const struct weft_snapshot *snap,
						    unsigned ci)
{
	const struct weft_l4_table *t = &snap->l4;

	if (px->rr_version != snap->version) {
		memset(px->rr, 0, sizeof(px->rr));
		px->rr_version = snap->version;
	}
	return &t->endpoints[weft_l4_pick(t, &t->clusters[ci], px->rr)];
}

/* Open s's upstream connection to e; false when the session had to be aborted. */
static bool connect_upstream(struct weft_worker *w, struct px_worker *px, struct px_session *s,
			     const struct weft_l4_endpoint *e, uint32_t connect_timeout_ms, struct tls_ulp_cfg *tls)
{
	struct tcp_accept opt = {.fn = session_event, .user = s, .sndbuf = px->sndbuf, .rcvbuf = px->rcvbuf};
	int err = 0;

	s->phase = PX_CONNECTING;
	s->c[UP] = tcp_connect_ex(w, &e->addr, e->port, &opt, &err);
	if (s->c[UP] == NULL) {
		ST_ADD(px, connect_errors, 1);
		conn_drop(w, WEFT_DROP_TCP_PROXY_CONNECT_ERROR);
		session_abort(w, px, s);
		return false;
	}
#ifdef WEFT_HAVE_TLS
	/* The cluster originates TLS: the session hears ESTABLISHED once the handshake is done. */
	if (tls != NULL && tls_ulp_connect(w, s->c[UP], tls, session_event, s) != 0) {
		ST_ADD(px, connect_errors, 1);
		conn_drop(w, WEFT_DROP_TCP_PROXY_CONNECT_ERROR);
		session_abort(w, px, s);
		return false;
	}
#else
	(void)tls;
#endif
	wheel_arm(px, s, now_ms(px) + connect_timeout_ms);
	return true;
}

/*
 * tls_passthrough: read what the client sent so far and look for a whole
 * ClientHello. With one, route it and connect; otherwise wait for more,
 * or reset the client when it cannot become one.
 */
static void sniff(struct weft_worker *w, struct px_worker *px, struct px_session *s)
{
	struct tls_clienthello ch;
	struct tcp_conn *c = s->c[DOWN];
	uint32_t have = s->held[DOWN] != NULL ? rte_pktmbuf_pkt_len(s->held[DOWN]) : 0;
	enum tls_ch_status st;

	while (c != NULL && have < TCP_PROXY_HELLO_MAX) {
		size_t ready = tcp_rx_ready(c);
		struct rte_mbuf *m;

		if (ready == 0)
			break;
		if (ready > TCP_PROXY_HELLO_MAX - have)
			ready = TCP_PROXY_HELLO_MAX - have;
		m = tcp_recv(w, c, (uint32_t)ready);
		if (m == NULL)
			break;
		have += rte_pktmbuf_pkt_len(m);
		if (!chain_append(&s->held[DOWN], m)) {
			rte_pktmbuf_free(m);
			ST_ADD(px, tls_malformed, 1);
			session_abort(w, px, s);
			return;
		}
	}
	if (have == 0) {
		st = TLS_CH_NEED_MORE;
	} else {
		const void *p = rte_pktmbuf_read(s->held[DOWN], 0, have, px->hello);
		st = p != NULL ? tls_clienthello_parse(p, have, &ch) : TLS_CH_MALFORMED;
	}
	if (st == TLS_CH_NEED_MORE && have >= TCP_PROXY_HELLO_MAX)
		st = TLS_CH_MALFORMED;
	if (st == TLS_CH_NEED_MORE) {
		if (s->rd_eof[DOWN] || c == NULL) {
			ST_ADD(px, tls_incomplete, 1);
			session_abort(w, px, s);
		}
		return;
	}
	if (st != TLS_CH_OK) {
		if (st == TLS_CH_NOT_TLS)
			ST_ADD(px, tls_not_tls, 1);
		else
			ST_ADD(px, tls_malformed, 1);
		session_abort(w, px, s);
		return;
	}

	/* Route under the current snapshot: the listener may have changed since the accept. */
	const struct weft_snapshot *snap = w->snap;
	const struct weft_l4_listener *l = NULL;
	if (snap != NULL && c != NULL) {
		const struct tcp_endpoints *ep = tcp_conn_endpoints(c);
		l = weft_l4_lookup(&snap->l4, &ep->local, ep->lport);
	}
	if (l == NULL || l->kind != WEFT_LISTENER_TLS_PASSTHROUGH) {
		ST_ADD(px, listener_gone, 1);
		conn_drop(w, WEFT_DROP_TCP_PROXY_LISTENER_GONE);
		session_abort(w, px, s);
		return;
	}
	int ci = weft_l4_sni_match(&snap->l4, l, ch.has_sni ? ch.sni : NULL, ch.has_sni ? ch.sni_len : 0);
	if (ci < 0) {
		ST_ADD(px, tls_no_route, 1);
		session_abort(w, px, s);
		return;
	}
	ST_ADD(px, tls_routed, 1);
	/* held[DOWN] keeps the hello: pump() sends it first once the upstream is up. */
	/* The client's own TLS goes through untouched: never wrapped in the cluster's. */
	(void)connect_upstream(w, px, s, pick_endpoint(px, snap, (unsigned)ci), l->connect_timeout_ms, NULL);
}

/*
 * The event handler of a passive connection between the accept hook and
 * the end of its handshake. No session exists yet: the hook may be asked
 * for a SYN whose handshake never completes (or twice, with SYN cookies),
 * so the session is only taken here, once the connection is real.
 */
static void accepted_event(struct weft_worker *w, struct tcp_conn *c, enum tcp_event ev, void *user)
{
	struct px_worker *px = px_of(w);
	const struct weft_snapshot *snap = w->snap;
	const struct weft_l4_listener *l;
	struct px_session *s;

	(void)user;
	if (ev != TCP_EV_ESTABLISHED) {
		/* RESET or CLOSED: the stack frees c. Anything else has nothing to act on yet. */
		return;
	}
	if (px == NULL || snap == NULL) {
		tcp_abort(w, c);
		return;
	}
	const struct tcp_endpoints *ep = tcp_conn_endpoints(c);
	l = weft_l4_lookup(&snap->l4, &ep->local, ep->lport);
	if (l == NULL) {
		/* A reload removed the listener between the SYN and the final ACK. */
		ST_ADD(px, listener_gone, 1);
		conn_drop(w, WEFT_DROP_TCP_PROXY_LISTENER_GONE);
		tcp_abort(w, c);
		return;
	}
#ifdef WEFT_HAVE_TLS
	/* TLS terminated here: the session is taken once the handshake is done (the layer calls back). */
	if (user != TLS_ULP_SETTLED && l->kind == WEFT_LISTENER_TCP_PROXY &&
	    snap->tls_listener[l - snap->l4.listeners] != NULL) {
		(void)tls_ulp_accept(w, c, snap->tls_listener[l - snap->l4.listeners], accepted_event);
		return;
	}
#endif
	if (WEFT_CTR_READ(px->st.active[l->slot]) >= l->max_per_worker) {
		ST_ADD(px, refused_listener_full, 1);
		conn_drop(w, WEFT_DROP_TCP_PROXY_LISTENER_FULL);
		tcp_abort(w, c);
		return;
	}
	s = session_alloc(px);
	if (s == NULL) {
		ST_ADD(px, refused_no_session, 1);
		conn_drop(w, WEFT_DROP_TCP_PROXY_NO_SESSION);
		tcp_abort(w, c);
		return;
	}

	/* Copy out of the snapshot: it may be gone before this session is. */
	s->slot = l->slot;
	s->idle_ms = l->idle_timeout_ms;
	s->phase = PX_CONNECTING;
	WEFT_CTR_ADD(px->st.active[s->slot], 1);
	WEFT_CTR_ADD(px->st.total[s->slot], 1);

	s->c[DOWN] = c;
	tcp_set_handler(c, session_event, s);
	if (l->kind == WEFT_LISTENER_TLS_PASSTHROUGH) {
		/* The cluster depends on the ClientHello: read it first, within the connect timeout. */
		s->phase = PX_SNIFFING;
		wheel_arm(px, s, now_ms(px) + l->connect_timeout_ms);
		sniff(w, px, s);
		return;
	}
	(void)connect_upstream(w, px, s, pick_endpoint(px, snap, l->cluster), l->connect_timeout_ms,
			       snap->tls_cluster[l->cluster]);
}

int tcp_proxy_accept(struct weft_worker *w, const struct tcp_endpoints *ep, struct tcp_accept *out)
{
	struct px_worker *px = px_of(w);
	const struct weft_snapshot *snap = w->snap;
	const struct weft_l4_listener *l;

	if (px == NULL || snap == NULL)
		return -1;
	l = weft_l4_lookup(&snap->l4, &ep->local, ep->lport);
	if (l == NULL)
		return -1;
	/* The one accept hook of the stack serves every kind of listener. */
	if (l->kind == WEFT_LISTENER_HTTP)
		return http_proxy_accept(w, ep, out, l);
	/*
	 * Shed at the SYN (DESIGN principle 5): an RST now is cheaper for
	 * everyone than a handshake we would reset. Handshakes in flight are
	 * not counted here, so the limit is checked again when one completes.
	 */
	if (WEFT_CTR_READ(px->st.active[l->slot]) >= l->max_per_worker) {
		ST_ADD(px, refused_listener_full, 1);
		return WEFT_DROP_TCP_PROXY_LISTENER_FULL;
	}
	if (px->free == NULL) {
		ST_ADD(px, refused_no_session, 1);
		return WEFT_DROP_TCP_PROXY_NO_SESSION;
	}
	out->fn = accepted_event;
	out->user = NULL;
	out->sndbuf = px->sndbuf;
	out->rcvbuf = px->rcvbuf;
	return 0;
}

/* A session's timer came up at now: fire it, or put it where its real deadline is. */
static void timer_visit(struct weft_worker *w, struct px_worker *px, struct px_session *s, uint64_t now)
{
	if (s->phase == PX_SNIFFING) {
		if (s->deadline_ms > now)
			return;
		ST_ADD(px, tls_hello_timeouts, 1);
		session_abort(w, px, s);
		return;
	}
	if (s->phase == PX_CONNECTING) {
		if (s->deadline_ms > now)
			return; /* a later round of the wheel */
		ST_ADD(px, connect_timeouts, 1);
		conn_drop(w, WEFT_DROP_TCP_PROXY_CONNECT_TIMEOUT);
		session_abort(w, px, s);
		return;
	}
	if (s->phase != PX_OPEN || s->idle_ms == 0) {
		wheel_unlink(px, s);
		return;
	}
	/* Activity does not touch the wheel; the deadline is recomputed here. */
	uint64_t due = s->last_ms + s->idle_ms;
	if (due <= now) {
		ST_ADD(px, idle_timeouts, 1);
		session_abort(w, px, s);
	} else if ((due & WHEEL_MASK) != (s->deadline_ms & WHEEL_MASK)) {
		wheel_arm(px, s, due);
	} else {
		s->deadline_ms = due;
	}
}

void tcp_proxy_timers(struct weft_worker *w)
{
	struct px_worker *px = px_of(w);

	/* The L7 proxy rides on the same hooks as this one (accept above, timers here). */
	http_proxy_timers(w);
	if (px == NULL)
		return;
	uint64_t now = now_ms(px);
	/* First call, or a stall longer than a round: one full round visits every entry. */
	if (px->wheel_ms == 0 || (now >= px->wheel_ms && now - px->wheel_ms >= WHEEL_SLOTS))
		px->wheel_ms = now >= WHEEL_SLOTS ? now - WHEEL_SLOTS + 1 : 1;
	for (; px->wheel_ms <= now; px->wheel_ms++) {
		struct px_session *s = px->wheel[px->wheel_ms & WHEEL_MASK], *next;
		for (; s != NULL; s = next) {
			next = s->tnext;
			timer_visit(w, px, s, now);
		}
	}
}

int tcp_proxy_init(struct weft_worker *w, uint32_t max_sessions, uint32_t sndbuf, uint32_t rcvbuf)
{
	int socket = (int)rte_lcore_to_socket_id(w->lcore);
	struct px_worker *px;

	if (w->tcp == NULL || max_sessions == 0 || w->id >= WEFT_MAX_WORKERS || px_by_worker[w->id] != NULL)
		return -EINVAL;
	if (socket < 0 || socket >= RTE_MAX_NUMA_NODES)
		socket = SOCKET_ID_ANY;
	px = rte_zmalloc_socket("weft_tcp_proxy", sizeof(*px), RTE_CACHE_LINE_SIZE, socket);
	if (px == NULL)
		return -ENOMEM;
	px->sessions = rte_zmalloc_socket("weft_tcp_proxy_sessions", (size_t)max_sessions * sizeof(*px->sessions),
					  RTE_CACHE_LINE_SIZE, socket);
	if (px->sessions == NULL) {
		rte_free(px);
		return -ENOMEM;
	}
	px->w = w;
	px->max_sessions = max_sessions;
	px->sndbuf = sndbuf;
	px->rcvbuf = rcvbuf;
	px->tsc_per_ms = w->hz >= 1000 ? w->hz / 1000 : 1;
	/* Lowest index first, for locality. */
	for (uint32_t i = max_sessions; i-- > 0;) {
		px->sessions[i].free_next = px->free;
		px->free = &px->sessions[i];
	}
	px_by_worker[w->id] = px;
	tcp_set_accept(w, tcp_proxy_accept);
	return 0;
}

void tcp_proxy_free(struct weft_worker *w)
{
	struct px_worker *px = px_of(w);

	if (px == NULL)
		return;
	if (w->tcp != NULL)
		tcp_set_accept(w, NULL);
	for (uint32_t i = 0; i < px->max_sessions; i++) {
		struct px_session *s = &px->sessions[i];
		if (s->phase == PX_FREE)
			continue;
		for (int k = 0; k < 2; k++)
			rte_pktmbuf_free(s->held[k]);
	}
	px_by_worker[w->id] = NULL;
	rte_free(px->sessions);
	rte_free(px);
}

const struct tcp_proxy_stats *tcp_proxy_stats(const struct weft_worker *w)
{
	const struct px_worker *px = px_of(w);
	return px != NULL ? &px->st : NULL;
}

uint32_t tcp_proxy_sessions(const struct weft_worker *w)
{
	const struct px_worker *px = px_of(w);
	return px != NULL ? px->n_active : 0;
}
