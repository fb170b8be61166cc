/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * http_proxy: streams (one per downstream connection, one request at a time)
 * and the exchange of a request with an upstream.
 *
 * A stream goes HD_HEAD (read and parse a request head) -> routed: answered
 * locally, back to HD_HEAD (or closing) / sent upstream: HD_CONNECT (new
 * connection) or straight to HD_EXCHANGE (pooled one) -> HD_EXCHANGE (the
 * request body goes up, the response head and body come down) -> the
 * exchange ends: the upstream connection goes back to the pool or is
 * closed, the stream goes back to HD_HEAD for the next request, or lingers
 * and closes. Every event of either connection ends in progress(), which
 * does what can be done now in that order; nothing else remembers "what
 * comes next", so events in any order lead to the same place.
 *
 * Data paths. Bodies framed by Content-Length, and responses delimited by
 * the upstream's close, move without copying: the payload mbufs tcp_recv()
 * returns on one side go to tcp_send_mbuf() on the other, only as far as
 * the other side has room (backpressure: the rest stays in the source's
 * receive buffer and its window closes). Chunked bodies are decoded and
 * written again in canonical form (h1_chunked_reencode()), so the next hop
 * reads exactly what was checked; that copy goes through the stream's
 * output buffer (struct hp_out), at most 64 KiB beyond the TCP send buffer.
 * Heads, local answers and re-encoded chunks all go through that buffer,
 * and payload is sent zero-copy only when it is empty, which keeps bytes
 * in order.
 *
 * Mbuf ownership: payload belongs to a connection's receive queue until
 * tcp_recv() returns it, then to us until tcp_send_mbuf() accepts it; a
 * chain it refused (no room) waits in held_req/held_resp and goes first
 * next time. Nothing else is held.
 *
 * Errors answered locally carry their reason in x-weft-reason and the body,
 * and are counted per reason (HTTP_PROXY_REASONS); parser refusals are
 * answered with the status the parser names and counted per H1_ERRORS
 * reason. Once a response head has gone to the client, an upstream failure
 * can only cut the client's connection (RST).
 */
#include "dataplane/proxy/http_proxy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_lcore.h>
#include <rte_malloc.h>

#include "dataplane/counters.h"
#include "dataplane/proxy/hp_priv.h"
#include "policy/authz.h"
#include "policy/httpcfg.h"
#include "policy/identity.h"
#ifdef WEFT_HAVE_TLS
#include "dataplane/tls/tls_ulp.h"
#endif

#define X_NAME(f, h) #f,
#define X_HELP(f, h) h,
const char *const http_proxy_stat_name[HTTP_PROXY_STAT_MAX] = {HTTP_PROXY_STATS(X_NAME)};
const char *const http_proxy_stat_help[HTTP_PROXY_STAT_MAX] = {HTTP_PROXY_STATS(X_HELP)};
#undef X_NAME
#undef X_HELP
#define X_RNAME(e, n, s, h) n,
#define X_RHELP(e, n, s, h) h,
#define X_RSTATUS(e, n, s, h) s,
const char *const http_proxy_reason_name[HP_R_COUNT] = {HTTP_PROXY_REASONS(X_RNAME)};
const char *const http_proxy_reason_help[HP_R_COUNT] = {HTTP_PROXY_REASONS(X_RHELP)};
static const uint16_t reason_status[HP_R_COUNT] = {HTTP_PROXY_REASONS(X_RSTATUS)};
#undef X_RNAME
#undef X_RHELP
#undef X_RSTATUS
#define X_H1NAME(e, name, status, help) name,
const char *const http_proxy_h1_err_name[H1_E_COUNT] = {"none", H1_ERRORS(X_H1NAME)};
#undef X_H1NAME

/* Requests: the parser's defaults, and Upgrade refused (no tunnel is ever set up). */
static const struct h1_limits req_limits = {
	.max_header_bytes = 60 * 1024,
	.max_uri = 8 * 1024,
	.max_trailer_bytes = 8 * 1024,
	.max_fields = HP_PARSE_FIELDS,
	.max_trailer_fields = 32,
	.max_chunk_ext = 1024,
	.flags = H1_LIM_REJECT_UPGRADE,
};

static const struct h1_limits resp_limits = {
	.max_header_bytes = 60 * 1024,
	.max_uri = 8 * 1024,
	.max_trailer_bytes = 8 * 1024,
	.max_fields = HP_PARSE_FIELDS,
	.max_trailer_fields = 32,
	.max_chunk_ext = 1024,
	.flags = 0,
};

/* One per worker id; set before the workers start, read-only afterwards. */
static struct hp_worker *hp_by_worker[WEFT_MAX_WORKERS];

static inline struct hp_worker *hp_of(const struct weft_worker *w)
{
	return w->id < WEFT_MAX_WORKERS ? hp_by_worker[w->id] : NULL;
}

static void progress(struct hp_worker *hw, struct hp_down *d);
static bool retry_check(struct hp_worker *hw, struct hp_down *d, enum weft_retry_cause c, unsigned status);
static void retry_start(struct hp_worker *hw, struct hp_down *d, bool backoff);

/* ---- timer wheel (as tcp_proxy's: one slot per millisecond, entries looked at once a round) ---- */

static void wheel_unlink(struct hp_worker *hw, struct hp_down *d)
{
	if (!d->in_wheel)
		return;
	if (d->tprev != NULL)
		d->tprev->tnext = d->tnext;
	else
		hw->wheel[d->deadline_ms & HP_WHEEL_MASK] = d->tnext;
	if (d->tnext != NULL)
		d->tnext->tprev = d->tprev;
	d->tnext = d->tprev = NULL;
	d->in_wheel = 0;
}

static void wheel_arm(struct hp_worker *hw, struct hp_down *d, uint64_t deadline_ms)
{
	struct hp_down **head;

	wheel_unlink(hw, d);
	d->deadline_ms = deadline_ms;
	head = &hw->wheel[deadline_ms & HP_WHEEL_MASK];
	d->tprev = NULL;
	d->tnext = *head;
	if (*head != NULL)
		(*head)->tprev = d;
	*head = d;
	d->in_wheel = 1;
}

/* When a TK_IDLE timer is due: idle_ms after the last event, or the head's deadline if sooner. */
static uint64_t idle_due(const struct hp_down *d)
{
	uint64_t due = d->idle_ms != 0 ? d->last_ms + d->idle_ms : UINT64_MAX;

	if (d->hdr_deadline_ms != 0 && d->hdr_deadline_ms < due)
		due = d->hdr_deadline_ms;
	return due;
}

/* Time out idle_ms after the last event (0: never), or at the head's deadline while one runs. */
static void timer_idle(struct hp_worker *hw, struct hp_down *d, uint32_t idle_ms)
{
	d->idle_ms = idle_ms;
	uint64_t due = idle_due(d);
	d->tkind = due != UINT64_MAX ? TK_IDLE : TK_NONE;
	if (due != UINT64_MAX)
		wheel_arm(hw, d, due);
	else
		wheel_unlink(hw, d);
}

static void timer_fixed(struct hp_worker *hw, struct hp_down *d, uint32_t ms)
{
	d->tkind = TK_FIXED;
	wheel_arm(hw, d, hp_now_ms(hw) + ms);
}

/* Due at at_ms, or in the next round of the wheel if that has passed (its slot was looked at). */
static void timer_at(struct hp_worker *hw, struct hp_down *d, uint64_t at_ms)
{
	uint64_t now = hp_now_ms(hw);

	d->tkind = TK_FIXED;
	wheel_arm(hw, d, at_ms > now ? at_ms : now + 1);
}

/* The earlier of two deadlines, 0 standing for none. */
static uint64_t first_of(uint64_t a, uint64_t b)
{
	return a == 0 ? b : b == 0 ? a : a < b ? a : b;
}

/* ---- snapshots held by requests ---------------------------------------------------------------- */

static void snap_hold(struct weft_worker *w, struct hp_down *d, const struct weft_snapshot *s)
{
	/* Only this worker writes its count; the publisher reads it after the grace period. */
	uint64_t *n = (uint64_t *)&s->refs[w->id].n;
	__atomic_store_n(n, __atomic_load_n(n, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
	d->snap = s;
}

static void snap_release(struct weft_worker *w, struct hp_down *d)
{
	if (d->snap == NULL)
		return;
	/* Release: every read of the snapshot by this request happens before the publisher sees 0. */
	uint64_t *n = (uint64_t *)&d->snap->refs[w->id].n;
	__atomic_store_n(n, __atomic_load_n(n, __ATOMIC_RELAXED) - 1, __ATOMIC_RELEASE);
	d->snap = NULL;
	d->act = NULL;
}

/* ---- breakers and outcomes (policy/resilience.h) ---------------------------------------------- */

/* Give back the breaker counts of what (HELD_*) that d holds. */
static void held_drop(struct hp_worker *hw, struct hp_down *d, uint8_t what)
{
	uint8_t h = d->held & what;

	d->held &= (uint8_t)~what;
	if (h == 0 || d->rt == NULL)
		return;
	if (h & HELD_REQUEST)
		weft_breaker_release(d->rt, hw->w->id, WEFT_BRK_REQUESTS);
	if (h & HELD_PENDING)
		weft_breaker_release(d->rt, hw->w->id, WEFT_BRK_PENDING);
	if (h & HELD_CONN)
		weft_breaker_release(d->rt, hw->w->id, WEFT_BRK_CONNECTIONS);
	if (h & HELD_RETRY)
		weft_breaker_release(d->rt, hw->w->id, WEFT_BRK_RETRIES);
}

/* Take one count of breaker b as flag; false (nothing taken) on overflow. */
static bool held_take(struct hp_worker *hw, struct hp_down *d, enum weft_breaker b, uint8_t flag)
{
	if (d->rt == NULL)
		return true;
	if (weft_breaker_acquire(d->rt, hw->w->id, b) != 0)
		return false;
	d->held |= flag;
	return true;
}

/* What the attempt on d->ep came to, for outlier detection. */
static void report(struct hp_worker *hw, struct hp_down *d, enum weft_outcome o)
{
	if (d->rt != NULL && d->attempt > 0)
		weft_outlier_report(d->rt, hw->w->id, d->ep, o);
}

/* ---- output buffers ---------------------------------------------------------------------------- */

/* Room for need more bytes in o (compacted first); NULL when there is not (or no buffer). */
static struct hp_buf *out_room(struct hp_worker *hw, struct hp_out *o, uint32_t need)
{
	if (o->b == NULL) {
		o->b = hp_buf_get(hw);
		if (o->b == NULL)
			return NULL;
		o->off = 0;
	}
	uint32_t base = o->keep ? o->keep_end : 0; /* a kept head stays; what follows it may move */
	if (HP_BUF_SIZE - o->b->len < need && o->off > base) {
		memmove(o->b->data + base, o->b->data + o->off, o->b->len - o->off);
		o->b->len -= o->off - base;
		o->off = base;
	}
	return HP_BUF_SIZE - o->b->len >= need ? o->b : NULL;
}

static bool out_pending(const struct hp_out *o)
{
	return o->b != NULL && o->off < o->b->len;
}

static void out_drop(struct hp_worker *hw, struct hp_out *o)
{
	hp_buf_put(hw, o->b);
	o->b = NULL;
	o->off = 0;
	o->keep = false;
	o->keep_end = 0;
}

/*
 * Hand what o holds to c. Returns 1 when bytes are left (TCP_EV_WRITABLE
 * follows: tcp_send() took less than offered), 0 when all went, -1 when c
 * can no longer send.
 */
static int out_flush(struct hp_worker *hw, struct hp_out *o, struct tcp_conn *c)
{
	while (out_pending(o)) {
		int n = tcp_send(hw->w, c, o->b->data + o->off, o->b->len - o->off);
		if (n < 0)
			return n == -ENOBUFS ? 1 : -1;
		o->off += (uint32_t)n;
		if (o->off < o->b->len)
			return 1;
	}
	if (o->b != NULL && !o->keep)
		out_drop(hw, o);
	return 0;
}

/*
 * Ask for TCP_EV_WRITABLE on c, whose send buffer is full (space 0). The
 * stack posts it after a send that could not take everything; with no room
 * a one-byte send takes nothing (see tcp_proxy.c).
 */
static void want_writable(struct weft_worker *w, struct tcp_conn *c)
{
	static const uint8_t probe;

	(void)tcp_send(w, c, &probe, 1);
}

/* ---- streams ----------------------------------------------------------------------------------- */

static struct hp_down *down_alloc(struct hp_worker *hw)
{
	struct hp_down *d = hw->free_down;

	if (d == NULL)
		return NULL;
	hw->free_down = d->free_next;
	memset(d, 0, sizeof(*d));
	WEFT_CTR_ADD(hw->st.downstream_active, 1);
	return d;
}

enum up_end { UP_END_ABORT, UP_END_CLOSE, UP_END_POOL };

/* Let go of the stream's upstream connection: reset it, close it, or put it in the pool. */
static void up_detach(struct hp_worker *hw, struct hp_down *d, enum up_end how)
{
	struct hp_up *up = d->up;

	held_drop(hw, d, HELD_CONN | HELD_PENDING);
	if (up == NULL)
		return;
	d->up = NULL;
	if (up->state == UP_IDLE)
		hp_pool_remove(hw, up);
	if (how == UP_END_POOL && up->c != NULL)
		hp_pool_put(hw, up, d->max_idle, d->pool_idle_ms);
	else if (how == UP_END_ABORT)
		hp_up_abort(hw, up);
	else
		hp_up_close(hw, up);
}

/* Forget the exchange: the upstream connection (reset unless returned before), snapshot, counts. */
static void exchange_clear(struct hp_worker *hw, struct hp_down *d, bool abort_up)
{
	struct weft_worker *w = hw->w;

	up_detach(hw, d, abort_up ? UP_END_ABORT : UP_END_CLOSE);
	held_drop(hw, d, 0xff); /* before the snapshot (and the cluster state in it) may go */
	d->rt = NULL;
	d->retry = NULL;
	d->queued = false;
	d->attempt = 0;
	d->replay = false;
	d->req_deadline_ms = d->try_deadline_ms = 0;
	if (d->proxied) {
		if (d->active_ver == hw->active_ver && d->cluster < HP_MAX_CLUSTERS && d->ep < WEFT_LB_MAX_ENDPOINTS &&
		    hw->active[d->cluster][d->ep] > 0)
			hw->active[d->cluster][d->ep]--;
		HP_GAUGE_SUB(hw->st.streams_active);
		d->proxied = false;
	}
	snap_release(w, d);
	rte_pktmbuf_free(d->held_req);
	rte_pktmbuf_free(d->held_resp);
	d->held_req = d->held_resp = NULL;
	hp_buf_put(hw, d->sb);
	d->sb = NULL;
	out_drop(hw, &d->ou);
}

static void down_free(struct hp_worker *hw, struct hp_down *d)
{
	wheel_unlink(hw, d);
	exchange_clear(hw, d, true);
	hp_buf_put(hw, d->rb);
	d->rb = NULL;
	out_drop(hw, &d->od);
	if (d->slot < WEFT_L4_SLOTS && hw->slot_active[d->slot] > 0)
		hw->slot_active[d->slot]--;
	d->phase = HD_FREE;
	d->c = NULL;
	d->free_next = hw->free_down;
	hw->free_down = d;
	HP_GAUGE_SUB(hw->st.downstream_active);
}

/* Reset the client and forget everything. */
static void down_abort(struct hp_worker *hw, struct hp_down *d)
{
	if (d->c != NULL) {
		tcp_abort(hw->w, d->c); /* no callback after this */
		d->c = NULL;
	}
	down_free(hw, d);
}

/*
 * Done with the client: our FIN goes after what is queued, then whatever it
 * still sends is read and dropped until its own FIN or HP_LINGER_MS (closing
 * with unread data would answer it with an RST, which may destroy the
 * response at the client before it reads it: the "lingering close" of
 * HTTP servers).
 */
static void down_linger(struct hp_worker *hw, struct hp_down *d)
{
	exchange_clear(hw, d, false);
	hp_buf_put(hw, d->rb);
	d->rb = NULL;
	d->phase = HD_LINGER;
	if (out_pending(&d->od))
		return; /* the FIN goes once the answer is out (progress) */
	tcp_shutdown(hw->w, d->c);
	timer_fixed(hw, d, HP_LINGER_MS);
	if (d->rd_eof) {
		tcp_close(hw->w, d->c);
		d->c = NULL;
		down_free(hw, d);
	}
}

static void count_status(struct hp_worker *hw, unsigned status)
{
	switch (status / 100) {
	case 1: HP_ST_ADD(hw, responses_1xx, 1); break;
	case 2: HP_ST_ADD(hw, responses_2xx, 1); break;
	case 3: HP_ST_ADD(hw, responses_3xx, 1); break;
	case 4: HP_ST_ADD(hw, responses_4xx, 1); break;
	default: HP_ST_ADD(hw, responses_5xx, 1); break;
	}
}

static const char *reason_phrase(unsigned status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 417: return "Expectation Failed";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return status < 300 ? "OK" : status < 400 ? "Redirect" : status < 500 ? "Client Error" : "Server Error";
	}
}

/* Apply a route's header edits to a field list: remove, set, add (docs/routing.md). */
static void apply_ops(const struct weft_route_header_ops *ops, struct h1_field *f, unsigned *n, unsigned cap)
{
	if (ops == NULL)
		return;
	for (unsigned i = 0; i < ops->n_remove; i++)
		h1_fields_remove(f, *n, ops->remove[i].p, ops->remove[i].len);
	for (unsigned i = 0; i < ops->n_set; i++)
		(void)h1_fields_set(f, n, cap, ops->set[i].name, ops->set[i].name_len, ops->set[i].value,
				    ops->set[i].value_len);
	for (unsigned i = 0; i < ops->n_add; i++)
		(void)h1_fields_add(f, n, cap, ops->add[i].name, ops->add[i].name_len, ops->add[i].value,
				    ops->add[i].value_len);
}

/*
 * Answer the request in progress from here: status, an optional reason
 * (x-weft-reason and the body when body is NULL), an optional Location,
 * the route's response edits. close: the connection ends after it.
 */
static void local_reply(struct hp_worker *hw, struct hp_down *d, unsigned status, const char *reason, const char *body,
			size_t body_len, const char *location, size_t loc_len, const struct weft_route_header_ops *ops,
			bool close)
{
	struct h1_field f[64];
	unsigned n = 0;
	char clen[24], rbody[64];
	struct h1_out o;
	struct hp_buf *b;

	if (body == NULL && reason != NULL) {
		body_len = (size_t)snprintf(rbody, sizeof(rbody), "%s\n", reason);
		body = rbody;
	} else if (body == NULL) {
		body = "";
		body_len = 0;
	}
	snprintf(clen, sizeof(clen), "%zu", body_len);
	h1_fields_add(f, &n, 64, "content-length", 14, clen, strlen(clen));
	if (body_len > 0)
		h1_fields_add(f, &n, 64, "content-type", 12, "text/plain", 10);
	if (location != NULL)
		h1_fields_add(f, &n, 64, "location", 8, location, loc_len);
	if (reason != NULL)
		h1_fields_add(f, &n, 64, "x-weft-reason", 13, reason, strlen(reason));
	if (d->overflow != NULL)
		h1_fields_add(f, &n, 64, "x-weft-overflow", 15, d->overflow, strlen(d->overflow));
	apply_ops(ops, f, &n, 64);
	if (close)
		h1_fields_set(f, &n, 64, "connection", 10, "close", 5);
	/* An answer beyond the room left (huge edits) is cut down to the status. */
	b = out_room(hw, &d->od, 512);
	if (b == NULL) {
		/* No buffer at all: the answer is lost, the connection ends. */
		d->close_after = 1;
		return;
	}
	const char *rp = reason_phrase(status);
	bool head = d->req.method_id == H1_M_HEAD;
	for (int attempt = 0; attempt < 2; attempt++) {
		h1_out_init(&o, b->data + b->len, HP_BUF_SIZE - b->len);
		h1_out_status_line(&o, status, (struct h1_str){rp, strlen(rp)});
		if (attempt == 0)
			h1_out_fields(&o, f, n);
		else
			h1_out_put(&o, "content-length: 0\r\nconnection: close\r\n", 38);
		h1_out_end(&o);
		if (attempt == 0 && !head)
			h1_out_put(&o, body, body_len);
		if (h1_out_ok(&o))
			break;
		close = true;
	}
	b->len += (uint32_t)(o.len <= o.cap ? o.len : 0);
	HP_ST_ADD(hw, local_responses, 1);
	count_status(hw, status);
	if (close)
		d->close_after = 1;
}

static void reply_reason(struct hp_worker *hw, struct hp_down *d, enum http_proxy_reason r, bool close)
{
	WEFT_CTR_ADD(hw->st.reason[r], 1);
	local_reply(hw, d, reason_status[r], http_proxy_reason_name[r], NULL, 0, NULL, 0, NULL, close);
}

/*
 * The request is answered (the answer handed to TCP or queued in od): on to
 * the next one, whose bytes may already be in rb, or to closing.
 */
static void request_end(struct hp_worker *hw, struct hp_down *d)
{
	bool keep = !d->close_after && (d->info.flags & H1_MI_KEEP_ALIVE);

	exchange_clear(hw, d, false);
	if (!keep) {
		down_linger(hw, d);
		return;
	}
	/* What followed the request (pipelined requests) moves to the front: the next head starts at 0. */
	if (d->rb != NULL) {
		uint32_t rest = d->rb->len - d->consumed;
		if (rest > 0)
			memmove(d->rb->data, d->rb->data + d->consumed, rest);
		d->rb->len = rest;
		if (rest == 0) {
			hp_buf_put(hw, d->rb);
			d->rb = NULL;
		}
	}
	d->phase = HD_HEAD;
	d->head_len = d->consumed = 0;
	d->req_done = d->reused = d->retried = d->resp_started = d->resp_head_done = d->resp_done = false;
	d->replay = false;
	d->resp_timer = false;
	d->keep_down = false;
	d->resp_extra = false;
	d->resp_dechunk = false;
	memset(&d->req, 0, sizeof(d->req));
	memset(&d->info, 0, sizeof(d->info));
	h1_parser_init(&d->p, &req_limits);
	timer_idle(hw, d, d->idle_ms);
}

/* A local answer to a request whose body (if any) was not read: the connection cannot go on after it. */
static void answer_and_end(struct hp_worker *hw, struct hp_down *d)
{
	if (d->info.body != H1_BODY_NONE)
		d->close_after = 1;
	request_end(hw, d);
}

/* ---- routing ----------------------------------------------------------------------------------- */

/* The router's view of the request, pointing into rb (no copy). */
static void request_view(struct hp_worker *hw, struct hp_down *d, struct weft_http_req_view *v)
{
	const struct h1_request *q = &d->req;
	struct h1_str path = q->target_form == H1_TF_ABSOLUTE ? d->info.path : q->target;

	memset(v, 0, sizeof(*v));
	v->method = q->method.ptr;
	v->method_len = (uint32_t)q->method.len;
	v->method_bit = q->method_id != H1_M_OTHER ? 1u << (q->method_id - 1) : 0;
	const char *qm = memchr(path.ptr, '?', path.len);
	v->path = path.ptr;
	v->path_len = (uint32_t)(qm != NULL ? (size_t)(qm - path.ptr) : path.len);
	if (qm != NULL) {
		v->query = qm + 1;
		v->query_len = (uint32_t)(path.len - (size_t)(qm - path.ptr) - 1);
	}
	if (v->path_len == 0 && q->target_form == H1_TF_ABSOLUTE) {
		v->path = "/";
		v->path_len = 1;
	}
	v->host = d->info.authority.ptr;
	v->host_len = (uint32_t)d->info.authority.len;
	v->scheme = "http";
	v->scheme_len = 4;
	for (unsigned i = 0; i < q->n_fields && i < HP_FIELDS; i++) {
		hw->hv[i] = (struct weft_http_hdr_view){q->fields[i].name, q->fields[i].value, q->fields[i].name_len,
							q->fields[i].value_len};
	}
	v->headers = hw->hv;
	v->n_headers = q->n_fields;
	v->random = h1_prng_next(&hw->prng);
}

#define ATTEMPT_HDR "x-weft-attempt-count"

/* Number the attempt in the head kept in ou (nothing but the head follows attempt_pos). */
static void set_attempt(struct hp_down *d, unsigned n)
{
	struct hp_buf *b = d->ou.b;
	int k = snprintf(b->data + d->attempt_pos, 8, "%u\r\n\r\n", n);

	b->len = d->attempt_pos + (uint32_t)k;
	d->ou.keep_end = b->len;
	d->attempt = (uint8_t)n;
}

/* ---- TLS (dataplane/tls/tls_ulp.h): the client's identity, the upstream's TLS ---------------- */

static const char *hp_principal(const struct tcp_conn *c)
{
#ifdef WEFT_HAVE_TLS
	return c != NULL ? tls_ulp_principal(c) : NULL;
#else
	(void)c;
	return NULL;
#endif
}

static bool hp_is_tls(const struct tcp_conn *c)
{
#ifdef WEFT_HAVE_TLS
	return c != NULL && tls_ulp_active(c);
#else
	(void)c;
	return false;
#endif
}

static int hp_xfcc(const struct tcp_conn *c, char *buf, size_t cap)
{
#ifdef WEFT_HAVE_TLS
	return c != NULL ? tls_ulp_xfcc(c, buf, cap) : 0;
#else
	(void)c;
	(void)buf;
	(void)cap;
	return 0;
#endif
}

/* The TLS the request's cluster originates (in the snapshot the request holds), NULL: plaintext. */
static const void *up_tls(const struct hp_down *d)
{
	return d->snap != NULL && d->cluster < WEFT_L4_MAX_CLUSTERS ? (const void *)d->snap->tls_cluster[d->cluster]
								   : NULL;
}

/* Write the head to send upstream into ou. Returns 0, or -1 when it does not fit. */
static int write_request_head(struct hp_worker *hw, struct hp_down *d, const struct weft_route_table *t,
			      const struct weft_route_result *res, const struct weft_http_req_view *v)
{
	struct weft_worker *w = hw->w;
	const struct weft_route_action *a = res->action;
	struct h1_request fwd_req = d->req;
	unsigned n = d->req.n_fields;
	struct h1_out o;

	/* The route's edits, then what this proxy itself changes. */
	apply_ops(&a->request_headers, d->req.fields, &n, HP_FIELDS);
	if (a->host_rewrite.len > 0)
		(void)h1_fields_set(d->req.fields, &n, HP_FIELDS, "host", 4, a->host_rewrite.p, a->host_rewrite.len);
	else if (d->req.target_form == H1_TF_ABSOLUTE)
		(void)h1_fields_set(d->req.fields, &n, HP_FIELDS, "host", 4, d->info.authority.ptr, d->info.authority.len);
	/* 100-continue is answered here (progress): the upstream gets the body without asking. */
	h1_fields_remove(d->req.fields, n, "expect", 6);
	/* The attempt count is ours (written below): a client's never goes through. */
	h1_fields_remove(d->req.fields, n, ATTEMPT_HDR, sizeof(ATTEMPT_HDR) - 1);
	/* x-forwarded-client-cert is ours too: the client's is dropped, the verified peer's goes up. */
	h1_fields_remove(d->req.fields, n, "x-forwarded-client-cert", 23);
	char xfcc[768];
	int xl = hp_xfcc(d->c, xfcc, sizeof(xfcc));
	if (xl > 0)
		(void)h1_fields_set(d->req.fields, &n, HP_FIELDS, "x-forwarded-client-cert", 23, xfcc, (size_t)xl);
	fwd_req.n_fields = (uint16_t)n;
	fwd_req.fields = d->req.fields;
	fwd_req.target_form = H1_TF_ORIGIN;
	if (d->req.target_form == H1_TF_ABSOLUTE) {
		fwd_req.target = d->info.path.len > 0 ? d->info.path : (struct h1_str){"/", 1};
		if (d->req.method_id == H1_M_OPTIONS && d->info.path.len == 0)
			fwd_req.target = (struct h1_str){"*", 1};
	}
	if (a->rewrites_path) {
		int len = weft_route_rewrite_path(t, res, v, w->id, hw->path, sizeof(hw->path));
		if (len > 0)
			fwd_req.target = (struct h1_str){hw->path, (size_t)len};
	}
	struct h1_fwd fwd = {
		.client_addr = {d->client, d->client_len},
		.proto = hp_is_tls(d->c) ? (struct h1_str){"https", 5} : (struct h1_str){"http", 4},
		.prng = &hw->prng,
		.flags = H1_FWD_XFF | H1_FWD_XFP | H1_FWD_REQUEST_ID | H1_FWD_KEEP_REQUEST_ID,
	};
	struct hp_buf *b = out_room(hw, &d->ou, 256);
	if (b == NULL)
		return -1;
	h1_out_init(&o, b->data + b->len, HP_BUF_SIZE - b->len);
	if (h1_write_request_head(&o, &fwd_req, &d->info, &fwd) != 0)
		return -1;
	/*
	 * x-weft-attempt-count goes last, in place of the head's final CRLF, so
	 * that a retry rewrites only the tail of the kept head (set_attempt()).
	 */
	if (o.len < 4 || HP_BUF_SIZE - b->len - o.len < sizeof(ATTEMPT_HDR) + 8)
		return -1;
	b->len += (uint32_t)o.len - 2;
	memcpy(b->data + b->len, ATTEMPT_HDR ": ", sizeof(ATTEMPT_HDR) + 1);
	b->len += (uint32_t)sizeof(ATTEMPT_HDR) + 1;
	d->attempt_pos = b->len;
	d->attempt = 0; /* attempt_go() writes the value and the head's end */
	d->req.n_fields = (uint16_t)n;
	return 0;
}

/* Open a new connection to the stream's endpoint. */
static int up_connect(struct hp_worker *hw, struct hp_down *d)
{
	struct hp_up *up = hp_up_alloc(hw);
	int err = 0;

	if (up == NULL)
		return -ENOMEM;
	up->addr = d->ep_addr;
	up->port = d->ep_port;
	up->state = UP_CONNECTING;
	up->d = d;
	struct tcp_accept opt = {.fn = hp_up_event, .user = up};
	up->c = tcp_connect_ex(hw->w, &d->ep_addr, d->ep_port, &opt, &err);
	if (up->c == NULL) {
		hp_up_free(hw, up);
		return -(err != 0 ? err : EHOSTUNREACH);
	}
#ifdef WEFT_HAVE_TLS
	up->tls = up_tls(d);
	if (up->tls != NULL && tls_ulp_connect(hw->w, up->c, (struct tls_ulp_cfg *)up->tls, hp_up_event, up) != 0) {
		tcp_abort(hw->w, up->c);
		up->c = NULL;
		hp_up_free(hw, up);
		return -ENOMEM;
	}
#endif
	d->up = up;
	d->phase = HD_CONNECT;
	HP_ST_ADD(hw, upstream_connects, 1);
	return 0;
}

/*
 * Pick an endpoint of d's cluster. The balancer skips endpoints ejected by
 * outlier detection or failing health checks (unless the cluster is in
 * panic) and avoid (the endpoint of the attempt that failed) whenever
 * another one can take the request.
 */
static int pick_endpoint(struct hp_worker *hw, struct hp_down *d, const struct weft_http_cluster *hc,
			 const struct weft_snapshot *snap, uint32_t avoid)
{
	struct weft_lb_ctx ctx = {
		.random = h1_prng_next(&hw->prng),
		.hash = d->lb_hash,
		.has_hash = d->lb_has_hash,
		.state = &hw->rr[d->cluster],
		.active = hw->active_ver == snap->version ? hw->active[d->cluster] : NULL,
		.rt = hc->rt,
		.avoid = avoid,
	};

	return weft_lb_pick(hc->lb, &ctx);
}

/* The attempt goes to endpoint i of hc: in-flight count (least_request) and address. */
static void use_endpoint(struct hp_worker *hw, struct hp_down *d, const struct weft_http_cluster *hc,
			 const struct weft_snapshot *snap, unsigned i)
{
	const struct weft_lb_endpoint *lep = weft_lb_endpoint(hc->lb, i);

	if (d->active_ver == hw->active_ver && d->cluster < HP_MAX_CLUSTERS && d->ep < WEFT_LB_MAX_ENDPOINTS &&
	    hw->active[d->cluster][d->ep] > 0 && d->attempt > 0)
		hw->active[d->cluster][d->ep]--; /* the previous attempt's */
	d->ep = i;
	d->active_ver = 0;
	if (hw->active_ver == snap->version) {
		hw->active[d->cluster][i]++;
		d->active_ver = hw->active_ver;
	}
	d->ep_addr = lep->addr;
	d->ep_port = lep->port;
}

/* A circuit breaker is full: 503 at once, saying which (x-weft-overflow). */
static void answer_overflow(struct hp_worker *hw, struct hp_down *d, enum weft_breaker b, enum http_proxy_reason r)
{
	HP_ST_ADD(hw, breaker_overflows, 1);
	d->overflow = weft_breaker_name(b);
	reply_reason(hw, d, r, false);
	d->overflow = NULL;
	answer_and_end(hw, d);
}

/*
 * Send the request over a pooled connection to d's endpoint or a new one,
 * within the cluster's max_connections; when that is full, wait for a slot
 * (polled each millisecond on the stream's timer, bounded by the route
 * timeout). Waiting for a slot or for a new connection's handshake is
 * "pending", within max_pending_requests. Returns 0, or -1 when the
 * request was answered here (overflow, no connection).
 */
static int attempt_connect(struct hp_worker *hw, struct hp_down *d)
{
	uint64_t now = hp_now_ms(hw);

	if (!(d->held & HELD_CONN) && !held_take(hw, d, WEFT_BRK_CONNECTIONS, HELD_CONN)) {
		if (!(d->held & HELD_PENDING) && !held_take(hw, d, WEFT_BRK_PENDING, HELD_PENDING)) {
			answer_overflow(hw, d, WEFT_BRK_PENDING, HP_R_OVERFLOW_PENDING);
			return -1;
		}
		d->queued = true;
		d->phase = HD_BACKOFF;
		if (d->req_deadline_ms == 0)
			d->req_deadline_ms = now + d->timeout_ms; /* the route timeout bounds the wait */
		timer_at(hw, d, first_of(now + 1, d->req_deadline_ms));
		return 0;
	}
	d->queued = false;
	d->up = hp_pool_take(hw, &d->ep_addr, d->ep_port);
	if (d->up != NULL && d->up->tls != up_tls(d)) {
		/* Opened for another cluster's TLS (or none): not this request's to use. */
		hp_up_close(hw, d->up);
		d->up = NULL;
	}
	if (d->up != NULL) {
		held_drop(hw, d, HELD_PENDING); /* no longer waiting */
		d->up->d = d;
		d->reused = true;
		d->req_acked = false;
		if (d->up->c != NULL) {
			struct tcp_conn_info ci;
			tcp_conn_info(d->up->c, &ci);
			d->reuse_acked = ci.bytes_out;
		}
		HP_ST_ADD(hw, pool_reuse, 1);
		d->phase = HD_EXCHANGE;
		timer_idle(hw, d, d->idle_ms);
		return 0; /* progress() sends */
	}
	/* Waiting for a new connection's handshake counts as pending too (until ESTABLISHED). */
	if (!(d->held & HELD_PENDING) && !held_take(hw, d, WEFT_BRK_PENDING, HELD_PENDING)) {
		held_drop(hw, d, HELD_CONN);
		answer_overflow(hw, d, WEFT_BRK_PENDING, HP_R_OVERFLOW_PENDING);
		return -1;
	}
	int rc = up_connect(hw, d);
	if (rc != 0) {
		held_drop(hw, d, HELD_CONN | HELD_PENDING);
		if (rc != -ENOMEM) {
			report(hw, d, WEFT_OUT_LOCAL);
			if (retry_check(hw, d, WEFT_RETRY_CONNECT_FAILURE, 0)) {
				retry_start(hw, d, true);
				return 0;
			}
		}
		reply_reason(hw, d, rc == -ENOMEM ? HP_R_OVERLOADED : HP_R_CONNECT_ERROR, false);
		answer_and_end(hw, d);
		return -1;
	}
	d->conn_deadline_ms = now + d->connect_ms;
	timer_at(hw, d, first_of(d->conn_deadline_ms, d->req_deadline_ms));
	return 0;
}

/* Send attempt d->attempt + 1 of the request (its head renumbered in ou). Returns as attempt_connect(). */
static int attempt_go(struct hp_worker *hw, struct hp_down *d)
{
	set_attempt(d, d->attempt + 1u);
	d->ou.off = 0;
	HP_ST_ADD(hw, upstream_attempts, 1);
	return attempt_connect(hw, d);
}

/*
 * An attempt failed with cause (status: the response's, for
 * WEFT_RETRY_STATUS): is another one sent? Checks the route's policy, the
 * attempts left, that the request can be replayed and has time left, and
 * takes the cluster's retry budget. Counts the retry by cause when it
 * says yes; the caller then lets go of the upstream and calls retry_start().
 */
static bool retry_check(struct hp_worker *hw, struct hp_down *d, enum weft_retry_cause c, unsigned status)
{
	const struct weft_retry_policy *rp = d->retry;

	held_drop(hw, d, HELD_RETRY); /* the attempt it admitted has ended */
	if (rp == NULL || d->attempt == 0 || d->attempt > rp->num_retries || d->resp_head_done)
		return false;
	bool reached = c != WEFT_RETRY_CONNECT_FAILURE && c != WEFT_RETRY_REFUSED_STREAM;
	if (!weft_retry_wanted(rp, c, status, d->idempotent, reached))
		return false;
	if (!d->replay) {
		HP_ST_ADD(hw, retries_not_replayable, 1);
		return false;
	}
	if (d->req_deadline_ms != 0 && hp_now_ms(hw) >= d->req_deadline_ms)
		return false;
	if (d->rt != NULL) {
		if (weft_retry_budget_acquire(d->rt, hw->w->id) != 0) {
			HP_ST_ADD(hw, retries_budget_overflow, 1);
			return false;
		}
		d->held |= HELD_RETRY;
	}
	HP_ST_ADD(hw, retries, 1);
	switch (c) {
	case WEFT_RETRY_CONNECT_FAILURE: HP_ST_ADD(hw, retries_connect_failure, 1); break;
	case WEFT_RETRY_REFUSED_STREAM: HP_ST_ADD(hw, retries_refused_stream, 1); break;
	case WEFT_RETRY_RESET: HP_ST_ADD(hw, retries_reset, 1); break;
	case WEFT_RETRY_STATUS: HP_ST_ADD(hw, retries_status, 1); break;
	default: HP_ST_ADD(hw, retries_per_try_timeout, 1); break;
	}
	return true;
}

/*
 * The failed attempt is let go (no upstream any more): forget its progress
 * and wait before the next one (full jitter, policy/resilience.h), on the
 * stream's timer; the route timeout still runs. backoff false: at once
 * (the next millisecond's timers).
 */
static void retry_start(struct hp_worker *hw, struct hp_down *d, bool backoff)
{
	uint32_t wait = 0;

	rte_pktmbuf_free(d->held_req);
	rte_pktmbuf_free(d->held_resp);
	d->held_req = d->held_resp = NULL;
	hp_buf_put(hw, d->sb);
	d->sb = NULL;
	d->req_done = d->reused = d->resp_started = d->resp_timer = d->resp_extra = false;
	d->try_deadline_ms = 0;
	/* The request from its start: the head kept in ou, the body kept in rb after the head. */
	d->consumed = d->head_len;
	d->req_remaining = d->info.body == H1_BODY_LENGTH ? d->info.content_length : 0;
	if (d->info.body == H1_BODY_CHUNKED)
		h1_chunked_init(&d->req_ch, &req_limits);
	d->ou.off = 0;
	if (backoff && d->retry != NULL)
		wait = weft_retry_backoff_ms(d->retry, d->attempt, h1_prng_next(&hw->prng));
	d->phase = HD_BACKOFF;
	timer_at(hw, d, first_of(hp_now_ms(hw) + wait, d->req_deadline_ms));
}

/* The backoff is over: the next attempt, to another endpoint when there is one. */
static void attempt_next(struct hp_worker *hw, struct hp_down *d)
{
	const struct weft_snapshot *snap = d->snap;
	const struct weft_http_cluster *hc = &snap->http->clusters[d->cluster];
	int pick = pick_endpoint(hw, d, hc, snap, d->ep);

	if (pick < 0) {
		reply_reason(hw, d, HP_R_NO_HEALTHY_UPSTREAM, false);
		answer_and_end(hw, d);
		return;
	}
	use_endpoint(hw, d, hc, snap, (unsigned)pick);
	attempt_go(hw, d);
}

/* Route a complete request head and act on the decision. */
static void on_request(struct hp_worker *hw, struct hp_down *d, int head_len)
{
	struct weft_worker *w = hw->w;
	const struct weft_snapshot *snap = w->snap;
	struct weft_http_req_view v;
	struct weft_route_result res;
	enum h1_err e;

	HP_ST_ADD(hw, requests, 1);
	d->hdr_deadline_ms = 0; /* the head is whole */
	e = h1_request_info(&d->req, &req_limits, &d->info);
	d->head_len = d->consumed = (uint32_t)head_len;
	if (e != H1_E_NONE) {
		WEFT_CTR_ADD(hw->st.request_error[e], 1);
		local_reply(hw, d, (unsigned)h1_err_status(e), h1_err_name(e), NULL, 0, NULL, 0, NULL, true);
		request_end(hw, d);
		return;
	}
	d->req_remaining = d->info.body == H1_BODY_LENGTH ? d->info.content_length : 0;
	if (d->info.body == H1_BODY_CHUNKED)
		h1_chunked_init(&d->req_ch, &req_limits);

	/* The listener as the current snapshot has it: a reload applies to the next request. */
	const struct tcp_endpoints *ep = tcp_conn_endpoints(d->c);
	const struct weft_l4_listener *l = snap != NULL ? weft_l4_lookup(&snap->l4, &ep->local, ep->lport) : NULL;
	const struct weft_http_snap *hs = snap != NULL ? snap->http : NULL;
	uint32_t li = l != NULL ? (uint32_t)(l - snap->l4.listeners) : UINT32_MAX;
	if (hs == NULL || li >= hs->n_listeners || hs->listeners[li].rc == UINT32_MAX) {
		d->close_after = 1;
		reply_reason(hw, d, HP_R_LISTENER_GONE, true);
		request_end(hw, d);
		return;
	}
	const struct weft_http_listener *hl = &hs->listeners[li];
	const struct weft_route_table *t = hs->rc[hl->rc];
	d->idle_ms = hl->idle_timeout_ms;
	d->hdr_ms = hl->request_header_timeout_ms;

	request_view(hw, d, &v);
	int r = weft_route_match(t, &v, w->id < hs->n_workers ? hs->scratch[w->id] : NULL, &res);
	if (r <= 0) {
		reply_reason(hw, d, r < 0 ? HP_R_ROUTE_ERROR : res.vhost == UINT32_MAX ? HP_R_NO_VHOST : HP_R_NO_ROUTE, false);
		answer_and_end(hw, d);
		return;
	}
	/* The route's allow_principals: the peer's SPIFFE ID from its TLS certificate (none in plaintext). */
	const struct principal_list *allow = weft_route_authz_get(snap->authz, hl->rc, res.vhost, res.route);
	if (allow != NULL) {
		const char *id = hp_principal(d->c);
		if (principal_check(allow, id, id != NULL ? strlen(id) : 0) != AUTHZ_ALLOW) {
			reply_reason(hw, d, HP_R_PRINCIPAL_DENIED, false);
			answer_and_end(hw, d);
			return;
		}
	}
	const struct weft_route_action *a = res.action;
	if (a->kind == WEFT_ROUTE_ACT_DIRECT) {
		local_reply(hw, d, a->direct.status, NULL, a->direct.body.p, a->direct.body.len, NULL, 0,
			    &a->response_headers, false);
		answer_and_end(hw, d);
		return;
	}
	if (a->kind == WEFT_ROUTE_ACT_REDIRECT) {
		int len = weft_route_redirect_location(t, &res, &v, hw->path, sizeof(hw->path));
		if (len < 0) {
			reply_reason(hw, d, HP_R_ROUTE_ERROR, false);
		} else {
			local_reply(hw, d, a->redirect.status, NULL, NULL, 0, hw->path, (size_t)len, &a->response_headers,
				    false);
		}
		answer_and_end(hw, d);
		return;
	}

	/* To a cluster: pick the endpoint. */
	if (res.cluster >= hs->n_clusters) {
		reply_reason(hw, d, HP_R_NO_HEALTHY_UPSTREAM, false);
		answer_and_end(hw, d);
		return;
	}
	const struct weft_http_cluster *hc = &hs->clusters[res.cluster];
	if (hw->active_ver != snap->version) {
		/* Endpoint indexes may have moved: in-flight counts start again with the new tables. */
		memset(hw->active, 0, sizeof(hw->active));
		hw->active_ver = snap->version;
	}
	d->lb_has_hash = weft_lb_request_hash(hc->lb, &v, &d->client_ip, &d->lb_hash);
	d->cluster = res.cluster;
	d->rt = hc->rt;
	int pick = pick_endpoint(hw, d, hc, snap, UINT32_MAX);
	if (pick < 0) {
		d->rt = NULL;
		reply_reason(hw, d, HP_R_NO_HEALTHY_UPSTREAM, false);
		answer_and_end(hw, d);
		return;
	}

	snap_hold(w, d, snap);
	d->act = a;
	d->proxied = true;
	WEFT_CTR_ADD(hw->st.streams_active, 1);
	use_endpoint(hw, d, hc, snap, (unsigned)pick);
	d->max_idle = hc->max_idle;
	d->pool_idle_ms = hc->pool_idle_timeout_ms;
	d->timeout_ms = a->timeout_ms != 0 ? a->timeout_ms : hl->request_timeout_ms;
	d->connect_ms = hl->connect_timeout_ms;
	d->retry = a->retry.num_retries > 0 ? &a->retry : NULL;
	d->idempotent = weft_retry_idempotent(v.method_bit);
	if (!held_take(hw, d, WEFT_BRK_REQUESTS, HELD_REQUEST)) {
		answer_overflow(hw, d, WEFT_BRK_REQUESTS, HP_R_OVERFLOW_REQUESTS);
		return;
	}

	/* RFC 9110 10.1.1: the client waits for 100 before its body; weft asks no upstream. */
	if ((d->info.flags & H1_MI_EXPECT_CONTINUE) && d->info.body != H1_BODY_NONE) {
		struct hp_buf *b = out_room(hw, &d->od, 32);
		if (b != NULL) {
			memcpy(b->data + b->len, "HTTP/1.1 100 Continue\r\n\r\n", 25);
			b->len += 25;
			count_status(hw, 100);
		}
	}
	if (write_request_head(hw, d, t, &res, &v) != 0) {
		reply_reason(hw, d, HP_R_OVERLOADED, true);
		request_end(hw, d);
		return;
	}
	/*
	 * What may be sent again: a request without a body always (a pooled
	 * connection found dead), one whose body fits what the route's policy
	 * keeps (in rb, after the head) when it retries at all. The head stays
	 * in ou until the response head is taken.
	 */
	d->replay_max = 0;
	if (d->retry != NULL) {
		uint32_t room = HP_BUF_SIZE - d->head_len;
		d->replay_max = d->retry->max_body_bytes < room ? d->retry->max_body_bytes : room;
	}
	switch (d->info.body) {
	case H1_BODY_NONE: d->replay = true; break;
	case H1_BODY_LENGTH: d->replay = d->retry != NULL && d->info.content_length <= d->replay_max; break;
	case H1_BODY_CHUNKED: d->replay = d->retry != NULL && d->replay_max > 0; break;
	default: d->replay = false; break;
	}
	d->ou.keep = d->replay;
	HP_ST_ADD(hw, upstream_requests, 1);
	attempt_go(hw, d);
}

/* ---- the exchange ------------------------------------------------------------------------------ */

/*
 * Whether the request of a pooled connection (d->reused) reached the
 * upstream: its TCP acknowledged bytes past those of the earlier exchanges.
 * c: the connection, NULL once gone (what was seen before stays known).
 */
static bool req_reached(struct hp_down *d, const struct tcp_conn *c)
{
	if (!d->req_acked && c != NULL) {
		struct tcp_conn_info ci;
		tcp_conn_info(c, &ci);
		d->req_acked = ci.bytes_out > d->reuse_acked;
	}
	return d->req_acked;
}

/*
 * The upstream is gone (reset, or closed before its response head). Before
 * a response head went to the client, the request may go again (the
 * route's retry policy; else once more on a new connection when a pooled
 * one failed before answering anything, a bodiless request only); else
 * 502 or 503, or the client's connection is cut if its response started.
 */
static void upstream_failed(struct hp_worker *hw, struct hp_down *d, bool refused)
{
	bool connecting = d->phase == HD_CONNECT;
	/* refused-stream: a pooled connection that failed before acknowledging any of the request */
	bool stale = d->reused && !d->resp_started && !req_reached(d, d->up != NULL ? d->up->c : NULL);
	enum weft_retry_cause c = connecting ? WEFT_RETRY_CONNECT_FAILURE
				  : stale    ? WEFT_RETRY_REFUSED_STREAM
					     : WEFT_RETRY_RESET;

	up_detach(hw, d, UP_END_ABORT);
	if (!d->resp_head_done) {
		/* A pooled connection the server had closed says nothing about the endpoint. */
		if (c != WEFT_RETRY_REFUSED_STREAM)
			report(hw, d, WEFT_OUT_LOCAL);
		if (retry_check(hw, d, c, 0)) {
			retry_start(hw, d, c != WEFT_RETRY_REFUSED_STREAM);
			return;
		}
		if (c == WEFT_RETRY_REFUSED_STREAM && !d->retried && d->replay && d->info.body == H1_BODY_NONE) {
			d->retried = true;
			HP_ST_ADD(hw, retries_stale, 1);
			retry_start(hw, d, false);
			return;
		}
	}
	if (connecting) {
		reply_reason(hw, d, refused ? HP_R_CONNECT_REFUSED : HP_R_CONNECT_ERROR, false);
		answer_and_end(hw, d);
		return;
	}
	if (!d->resp_head_done) {
		reply_reason(hw, d, HP_R_UPSTREAM_RESET, true);
		request_end(hw, d);
		return;
	}
	HP_ST_ADD(hw, upstream_aborted, 1);
	down_abort(hw, d);
}

/* Pass request body bytes on. Returns -1 when d is gone. */
static int pump_request(struct hp_worker *hw, struct hp_down *d)
{
	struct weft_worker *w = hw->w;
	struct tcp_conn *uc = d->up->c;

	/*
	 * Body bytes that came with the head join it in the output buffer, so
	 * that a small request leaves in one segment (tcp_send() sends what it
	 * is given at once: two calls, two segments, two ACKs).
	 */
	if (d->info.body == H1_BODY_LENGTH && d->req_remaining > 0 && d->held_req == NULL && out_pending(&d->ou) &&
	    d->consumed < d->rb->len) {
		uint64_t n = d->rb->len - d->consumed;
		if (n > d->req_remaining)
			n = d->req_remaining;
		if (n <= HP_BUF_SIZE - d->ou.b->len) {
			memcpy(d->ou.b->data + d->ou.b->len, d->rb->data + d->consumed, (size_t)n);
			d->ou.b->len += (uint32_t)n;
			d->consumed += (uint32_t)n;
			d->req_remaining -= n;
			HP_ST_ADD(hw, bytes_to_upstream, n);
		}
	}
	if (out_pending(&d->ou)) {
		int rc = out_flush(hw, &d->ou, uc);
		if (rc < 0) {
			upstream_failed(hw, d, false);
			return -1;
		}
		if (rc > 0)
			return 0;
	}
	if (d->req_done)
		return 0;
	switch (d->info.body) {
	case H1_BODY_NONE:
		d->req_done = true;
		return 0;
	case H1_BODY_LENGTH:
		while (d->req_remaining > 0) {
			if (d->held_req != NULL) {
				uint32_t len = rte_pktmbuf_pkt_len(d->held_req);
				int rc = tcp_send_mbuf(w, uc, d->held_req);
				if (rc == -EAGAIN)
					break;
				if (rc != 0) {
					upstream_failed(hw, d, false);
					return -1;
				}
				d->held_req = NULL;
				d->req_remaining -= len;
				HP_ST_ADD(hw, bytes_to_upstream, len);
				continue;
			}
			if (d->consumed < d->rb->len) {
				/* Body bytes that came with the head. */
				uint64_t n = d->rb->len - d->consumed;
				if (n > d->req_remaining)
					n = d->req_remaining;
				int k = tcp_send(w, uc, d->rb->data + d->consumed, (size_t)n);
				if (k < 0) {
					if (k == -ENOBUFS)
						break;
					upstream_failed(hw, d, false);
					return -1;
				}
				d->consumed += (uint32_t)k;
				d->req_remaining -= (uint64_t)k;
				HP_ST_ADD(hw, bytes_to_upstream, k);
				if ((uint64_t)k < n)
					break;
				continue;
			}
			if (d->replay) {
				/* Kept for replay: the body goes through rb, where the next attempt finds it again. */
				size_t want = (size_t)(d->head_len + d->info.content_length - d->rb->len);
				size_t got = tcp_recv_copy(w, d->c, d->rb->data + d->rb->len, want);
				if (got == 0)
					break;
				d->rb->len += (uint32_t)got;
				continue;
			}
			size_t ready = tcp_rx_ready(d->c);
			if (ready == 0)
				break;
			size_t space = tcp_send_space(uc);
			if (space == 0) {
				want_writable(w, uc);
				break;
			}
			uint64_t n = ready < space ? ready : space;
			if (n > d->req_remaining)
				n = d->req_remaining;
			if (n > UINT32_MAX)
				n = UINT32_MAX;
			struct rte_mbuf *m = tcp_recv(w, d->c, (uint32_t)n);
			if (m == NULL)
				break;
			d->held_req = m; /* sent at the top of the loop */
		}
		if (d->req_remaining == 0 && d->held_req == NULL)
			d->req_done = true;
		return 0;
	case H1_BODY_CHUNKED: {
		bool full;
		int fr;
		do {
			full = false;
			for (;;) {
				struct hp_buf *b = out_room(hw, &d->ou, HP_IN_CAP / 4);
				const char *in;
				size_t len;
				bool from_rb = d->consumed < d->rb->len;
				if (b == NULL) {
					full = true;
					break;
				}
				if (from_rb) {
					in = d->rb->data + d->consumed;
					len = d->rb->len - d->consumed;
				} else {
					if (d->replay) {
						/* Raw chunked bytes kept in rb (after the head) up to replay_max, decoded from there. */
						size_t lim = (size_t)d->head_len + d->replay_max;
						if (d->rb->len < lim) {
							size_t got = tcp_recv_copy(w, d->c, d->rb->data + d->rb->len, lim - d->rb->len);
							if (got == 0)
								break;
							d->rb->len += (uint32_t)got;
							continue;
						}
						d->replay = false; /* longer than what is kept: not sent again */
					}
					size_t ready = tcp_rx_ready(d->c);
					if (ready == 0)
						break;
					/* Room for the re-encoding (it grows by a chunk line at most) and for what
					 * follows the body, which goes back into rb. */
					size_t room = HP_BUF_SIZE - b->len - 64;
					size_t rb_room = HP_BUF_SIZE - d->head_len;
					len = ready;
					if (len > HP_IN_CAP)
						len = HP_IN_CAP;
					if (len > room)
						len = room;
					if (len > rb_room)
						len = rb_room;
					len = tcp_recv_copy(w, d->c, hw->in, len);
					in = hw->in;
				}
				size_t olen = 0;
				long used = h1_chunked_reencode(&d->req_ch, in, len, b->data + b->len, HP_BUF_SIZE - b->len, &olen);
				if (used < 0) {
					WEFT_CTR_ADD(hw->st.request_error[d->req_ch.err], 1);
					if (!d->resp_head_done) {
						local_reply(hw, d, (unsigned)h1_err_status((enum h1_err)d->req_ch.err),
							    h1_err_name((enum h1_err)d->req_ch.err), NULL, 0, NULL, 0, NULL, true);
						request_end(hw, d);
					} else {
						HP_ST_ADD(hw, downstream_aborted, 1);
						down_abort(hw, d);
					}
					return -1;
				}
				b->len += (uint32_t)olen;
				HP_ST_ADD(hw, bytes_to_upstream, olen);
				if (from_rb) {
					d->consumed += (uint32_t)used;
				} else if ((size_t)used < len) {
					/* Not taken (the body ended, or no room): it stays ours, in rb, in order. */
					d->rb->len = d->consumed = d->head_len;
					memcpy(d->rb->data + d->rb->len, in + used, len - (size_t)used);
					d->rb->len += (uint32_t)(len - (size_t)used);
				}
				if (h1_chunked_done(&d->req_ch)) {
					d->req_done = true;
					break;
				}
				if ((size_t)used < len && olen == 0)
					break; /* no room to make progress */
			}
			fr = out_flush(hw, &d->ou, uc);
			if (fr < 0) {
				upstream_failed(hw, d, false);
				return -1;
			}
			/*
			 * The output filled up and all of it went: go on. Nothing else would
			 * call again, since no WRITABLE follows a send that took everything
			 * and the other side's bytes are already here (its window stays shut).
			 * Only when the buffer has room again (a kept head may fill it).
			 */
		} while (full && fr == 0 && !d->req_done && out_room(hw, &d->ou, HP_IN_CAP / 4) != NULL);
		return 0;
	}
	default:
		d->req_done = true;
		return 0;
	}
}

/* Read and act on the response head. Returns -1 when d is gone. */
static int read_response_head(struct hp_worker *hw, struct hp_down *d)
{
	struct weft_worker *w = hw->w;

	if (d->sb == NULL) {
		d->sb = hp_buf_get(hw);
		if (d->sb == NULL) {
			reply_reason(hw, d, HP_R_OVERLOADED, true);
			request_end(hw, d);
			return -1;
		}
		h1_parser_init(&d->rp, &resp_limits);
		memset(&d->resp, 0, sizeof(d->resp));
		d->resp.fields = d->sb->fields;
		d->resp.max_fields = HP_PARSE_FIELDS;
	}
	for (;;) {
		struct hp_buf *sb = d->sb;
		if (sb->len < HP_BUF_SIZE && d->up != NULL && d->up->c != NULL)
			sb->len += (uint32_t)tcp_recv_copy(w, d->up->c, sb->data + sb->len, HP_BUF_SIZE - sb->len);
		if (sb->len == 0) {
			if (d->up->eof) {
				upstream_failed(hw, d, false);
				return -1;
			}
			return 0;
		}
		d->resp_started = true;
		int r = h1_parse_response(&d->rp, sb->data, sb->len, &d->resp);
		if (r == H1_AGAIN) {
			if (sb->len == HP_BUF_SIZE || d->up->eof) {
				if (sb->len == HP_BUF_SIZE)
					WEFT_CTR_ADD(hw->st.response_error[H1_E_HEADERS_TOO_LARGE], 1);
				if (d->up->eof && sb->len < HP_BUF_SIZE) {
					upstream_failed(hw, d, false);
					return -1;
				}
				reply_reason(hw, d, HP_R_BAD_RESPONSE, true);
				request_end(hw, d);
				return -1;
			}
			return 0;
		}
		enum h1_err e = r == H1_ERROR ? (enum h1_err)d->rp.err
					      : h1_response_info(&d->resp, (enum h1_method)d->req.method_id, &d->rinfo);
		if (e != H1_E_NONE) {
			WEFT_CTR_ADD(hw->st.response_error[e], 1);
			report(hw, d, WEFT_OUT_GATEWAY);
			reply_reason(hw, d, HP_R_BAD_RESPONSE, true);
			request_end(hw, d);
			return -1;
		}
		if (d->rinfo.flags & H1_MI_INFORMATIONAL) {
			/* 1xx: not forwarded (weft answers 100-continue itself); the final response follows. */
			memmove(sb->data, sb->data + r, sb->len - (uint32_t)r);
			sb->len -= (uint32_t)r;
			h1_parser_init(&d->rp, &resp_limits);
			memset(&d->resp, 0, sizeof(d->resp));
			d->resp.fields = sb->fields;
			d->resp.max_fields = HP_PARSE_FIELDS;
			continue;
		}
		d->rconsumed = (uint32_t)r;
		break;
	}

	/* A final response head: the attempt's outcome, and whether the request goes again. */
	unsigned status = d->resp.status;
	report(hw, d, weft_outcome_of_status(status));
	if (d->retry != NULL && status >= 400 && retry_check(hw, d, WEFT_RETRY_STATUS, status)) {
		/* Never sent to the client. The connection is reused only if the whole response is read. */
		struct hp_up *up = d->up;
		uint32_t extra = d->sb->len - d->rconsumed;
		bool whole = d->req_done && up != NULL && up->c != NULL && !up->eof && (d->rinfo.flags & H1_MI_KEEP_ALIVE) &&
			     tcp_rx_ready(up->c) == 0 &&
			     ((d->rinfo.body == H1_BODY_NONE && extra == 0) ||
			      (d->rinfo.body == H1_BODY_LENGTH && extra == d->rinfo.content_length));
		HP_ST_ADD(hw, responses_discarded, 1);
		up_detach(hw, d, whole ? UP_END_POOL : UP_END_CLOSE);
		retry_start(hw, d, true);
		return -1;
	}
	/* The head will not be sent again: drop it unless body bytes follow in ou. */
	d->ou.keep = false;
	d->replay = false;
	if (!out_pending(&d->ou))
		out_drop(hw, &d->ou);

	/* The response head: the route's edits, our framing, keep-alive or not. */
	struct hp_buf *sb = d->sb;
	unsigned n = d->resp.n_fields;
	if (d->act != NULL)
		apply_ops(&d->act->response_headers, sb->fields, &n, HP_FIELDS);
	d->resp.n_fields = (uint16_t)n;
	d->resp_remaining = d->rinfo.body == H1_BODY_LENGTH ? d->rinfo.content_length : 0;
	if (d->rinfo.body == H1_BODY_CHUNKED)
		h1_chunked_init(&d->resp_ch, &resp_limits);
	/* RFC 9112 7.1: chunked is HTTP/1.1; a 1.0 client gets the data plain, ended by our close. */
	d->resp_dechunk = d->rinfo.body == H1_BODY_CHUNKED && d->req.minor == 0;
	struct h1_msg_info out_info = d->rinfo;
	if (d->resp_dechunk)
		out_info.body = H1_BODY_CLOSE;
	d->keep_down = (d->info.flags & H1_MI_KEEP_ALIVE) && !d->close_after && out_info.body != H1_BODY_CLOSE;
	if (!d->keep_down)
		d->close_after = 1;

	struct hp_buf *b = out_room(hw, &d->od, 256);
	struct h1_out o;
	struct h1_fwd fwd = {.flags = d->keep_down ? 0 : H1_FWD_CLOSE};
	if (b != NULL) {
		h1_out_init(&o, b->data + b->len, HP_BUF_SIZE - b->len);
		if (h1_write_response_head(&o, &d->resp, &out_info, &fwd) != 0)
			b = NULL;
	}
	if (b == NULL) {
		WEFT_CTR_ADD(hw->st.response_error[H1_E_HEADERS_TOO_LARGE], 1);
		reply_reason(hw, d, HP_R_BAD_RESPONSE, true);
		request_end(hw, d);
		return -1;
	}
	b->len += (uint32_t)o.len;
	count_status(hw, d->resp.status);
	d->resp_head_done = true;
	/* From here, no byte either way for idle_timeout_ms cuts the exchange. */
	timer_idle(hw, d, d->idle_ms);
	return 0;
}

/* Pass response body bytes on. Returns -1 when d is gone. */
static int pump_response(struct hp_worker *hw, struct hp_down *d)
{
	struct weft_worker *w = hw->w;
	struct hp_up *up = d->up;
	struct tcp_conn *uc = up->c;
	struct hp_buf *sb = d->sb;
	int rc;

	/* Body bytes read with the head leave with it, in one segment when they fit (see pump_request). */
	if ((d->rinfo.body == H1_BODY_LENGTH || d->rinfo.body == H1_BODY_CLOSE) && sb != NULL && d->rconsumed < sb->len &&
	    d->held_resp == NULL && out_pending(&d->od)) {
		uint64_t n = sb->len - d->rconsumed;
		if (d->rinfo.body == H1_BODY_LENGTH && n > d->resp_remaining) {
			d->resp_extra = true;
			n = d->resp_remaining;
		}
		if (n <= HP_BUF_SIZE - d->od.b->len) {
			memcpy(d->od.b->data + d->od.b->len, sb->data + d->rconsumed, (size_t)n);
			d->od.b->len += (uint32_t)n;
			d->rconsumed += (uint32_t)n;
			if (d->rinfo.body == H1_BODY_LENGTH)
				d->resp_remaining -= n;
			HP_ST_ADD(hw, bytes_to_downstream, n);
		}
	}
	if ((rc = out_flush(hw, &d->od, d->c)) != 0) {
		if (rc < 0) {
			HP_ST_ADD(hw, downstream_aborted, 1);
			down_abort(hw, d);
			return -1;
		}
		return 0;
	}
	switch (d->rinfo.body) {
	case H1_BODY_NONE:
		d->resp_done = true;
		break;
	case H1_BODY_LENGTH:
	case H1_BODY_CLOSE: {
		bool by_len = d->rinfo.body == H1_BODY_LENGTH;
		for (;;) {
			if (by_len && d->resp_remaining == 0 && d->held_resp == NULL)
				break;
			if (d->held_resp != NULL) {
				uint32_t len = rte_pktmbuf_pkt_len(d->held_resp);
				rc = tcp_send_mbuf(w, d->c, d->held_resp);
				if (rc == -EAGAIN)
					break;
				if (rc != 0) {
					HP_ST_ADD(hw, downstream_aborted, 1);
					down_abort(hw, d);
					return -1;
				}
				d->held_resp = NULL;
				if (by_len)
					d->resp_remaining -= len;
				HP_ST_ADD(hw, bytes_to_downstream, len);
				continue;
			}
			if (sb != NULL && d->rconsumed < sb->len) {
				uint64_t n = sb->len - d->rconsumed;
				if (by_len && n > d->resp_remaining) {
					d->resp_extra = true;
					n = d->resp_remaining;
				}
				int k = tcp_send(w, d->c, sb->data + d->rconsumed, (size_t)n);
				if (k < 0) {
					if (k == -ENOBUFS)
						break;
					HP_ST_ADD(hw, downstream_aborted, 1);
					down_abort(hw, d);
					return -1;
				}
				d->rconsumed += (uint32_t)k;
				if (by_len)
					d->resp_remaining -= (uint64_t)k;
				HP_ST_ADD(hw, bytes_to_downstream, k);
				if ((uint64_t)k < n)
					break;
				if (by_len && d->resp_remaining == 0)
					break;
				continue;
			}
			size_t ready = uc != NULL ? tcp_rx_ready(uc) : 0;
			if (ready == 0)
				break;
			size_t space = tcp_send_space(d->c);
			if (space == 0) {
				want_writable(w, d->c);
				break;
			}
			uint64_t n = ready < space ? ready : space;
			if (by_len && n > d->resp_remaining)
				n = d->resp_remaining;
			if (n > UINT32_MAX)
				n = UINT32_MAX;
			d->held_resp = tcp_recv(w, uc, (uint32_t)n);
			if (d->held_resp == NULL)
				break;
		}
		if (by_len && d->resp_remaining == 0 && d->held_resp == NULL)
			d->resp_done = true;
		else if (!by_len && up->eof && d->held_resp == NULL && (sb == NULL || d->rconsumed >= sb->len) &&
			 (uc == NULL || tcp_rx_ready(uc) == 0))
			d->resp_done = true; /* delimited by the upstream's close */
		break;
	}
	case H1_BODY_CHUNKED: {
		bool full;
		int fr;
		do {
			full = false;
			for (;;) {
				struct hp_buf *b = out_room(hw, &d->od, HP_IN_CAP / 4);
				const char *in;
				size_t len;
				bool from_sb = sb != NULL && d->rconsumed < sb->len;
				if (b == NULL) {
					full = true;
					break;
				}
				if (from_sb) {
					in = sb->data + d->rconsumed;
					len = sb->len - d->rconsumed;
				} else {
					size_t ready = uc != NULL ? tcp_rx_ready(uc) : 0;
					if (ready == 0)
						break;
					size_t room = HP_BUF_SIZE - b->len - 64;
					len = ready < HP_IN_CAP ? ready : HP_IN_CAP;
					if (len > room)
						len = room;
					len = tcp_recv_copy(w, uc, hw->in, len);
					in = hw->in;
				}
				size_t olen = 0;
				long used;
				if (d->resp_dechunk) {
					/* Decoded in place; the data spans are copied out plain (they fit: data <= input). */
					struct h1_str spans[16];
					unsigned ns = 0;
					size_t cap = HP_BUF_SIZE - b->len;
					used = h1_chunked_decode(&d->resp_ch, in, len < cap ? len : cap, spans, 16, &ns);
					for (unsigned k = 0; used >= 0 && k < ns; k++) {
						memcpy(b->data + b->len + olen, spans[k].ptr, spans[k].len);
						olen += spans[k].len;
					}
				} else {
					used = h1_chunked_reencode(&d->resp_ch, in, len, b->data + b->len, HP_BUF_SIZE - b->len, &olen);
				}
				if (used < 0) {
					WEFT_CTR_ADD(hw->st.response_error[d->resp_ch.err], 1);
					HP_ST_ADD(hw, upstream_aborted, 1);
					down_abort(hw, d);
					return -1;
				}
				b->len += (uint32_t)olen;
				HP_ST_ADD(hw, bytes_to_downstream, olen);
				if (from_sb) {
					d->rconsumed += (uint32_t)used;
				} else if ((size_t)used < len) {
					if (h1_chunked_done(&d->resp_ch)) {
						d->resp_extra = true; /* bytes past the response: the connection is not reused */
					} else {
						/* No room: keep the rest in sb, which is free once the head is sent. */
						if (sb == NULL) {
							sb = d->sb = hp_buf_get(hw);
							if (sb == NULL) {
								down_abort(hw, d);
								return -1;
							}
						}
						sb->len = d->rconsumed = 0;
						memcpy(sb->data, in + used, len - (size_t)used);
						sb->len = (uint32_t)(len - (size_t)used);
					}
				}
				if (h1_chunked_done(&d->resp_ch)) {
					if (from_sb && d->rconsumed < sb->len)
						d->resp_extra = true;
					d->resp_done = true;
					break;
				}
				if ((size_t)used < len && olen == 0)
					break;
			}
			fr = out_flush(hw, &d->od, d->c);
			if (fr < 0) {
				HP_ST_ADD(hw, downstream_aborted, 1);
				down_abort(hw, d);
				return -1;
			}
			/*
			 * The output filled up and all of it went: go on. Nothing else would
			 * call again, since no WRITABLE follows a send that took everything
			 * and the other side's bytes are already here (its window stays shut).
			 * Only when the buffer has room again (a kept head may fill it).
			 */
		} while (full && fr == 0 && !d->resp_done && out_room(hw, &d->od, HP_IN_CAP / 4) != NULL);
		break;
	}
	default:
		d->resp_done = true;
		break;
	}
	if (sb != NULL && d->rconsumed >= sb->len && d->rinfo.body != H1_BODY_CHUNKED) {
		hp_buf_put(hw, sb);
		d->sb = NULL;
	}
	/* The upstream ended before its response did. */
	if (!d->resp_done && up->eof && (uc == NULL || tcp_rx_ready(uc) == 0) && d->held_resp == NULL &&
	    (d->sb == NULL || d->rconsumed >= d->sb->len)) {
		HP_ST_ADD(hw, upstream_aborted, 1);
		down_abort(hw, d);
		return -1;
	}
	return 0;
}

/* The response is out (in od or TCP): end the exchange. */
static void exchange_end(struct hp_worker *hw, struct hp_down *d)
{
	struct hp_up *up = d->up;
	bool reuse = up != NULL && up->c != NULL && d->req_done && !up->eof && !d->resp_extra &&
		     (d->rinfo.flags & H1_MI_KEEP_ALIVE) && d->rinfo.body != H1_BODY_CLOSE && tcp_rx_ready(up->c) == 0;

	if (!d->req_done)
		d->close_after = 1; /* the client's body was not all read: the connection cannot go on */
	up_detach(hw, d, reuse ? UP_END_POOL : UP_END_CLOSE);
	request_end(hw, d);
}

/* ---- progress ---------------------------------------------------------------------------------- */

/* Read a request head (more bytes into rb, one parse). Returns 1 when a request was handled. */
static int read_request_head(struct hp_worker *hw, struct hp_down *d)
{
	struct weft_worker *w = hw->w;

	if (d->rb == NULL) {
		if (tcp_rx_ready(d->c) == 0)
			return 0;
		d->rb = hp_buf_get(hw);
		if (d->rb == NULL) {
			down_abort(hw, d);
			return -1;
		}
		h1_parser_init(&d->p, &req_limits);
	}
	struct hp_buf *rb = d->rb;
	d->req.fields = rb->fields; /* the same array on every call for one head, as the parser needs */
	d->req.max_fields = HP_PARSE_FIELDS;
	if (rb->len < HP_BUF_SIZE)
		rb->len += (uint32_t)tcp_recv_copy(w, d->c, rb->data + rb->len, HP_BUF_SIZE - rb->len);
	if (rb->len == 0) {
		hp_buf_put(hw, rb);
		d->rb = NULL;
		return 0;
	}
	if (d->hdr_deadline_ms == 0 && d->hdr_ms != 0) {
		/* The head's first byte: the whole head must follow within hdr_ms (slowloris). */
		d->hdr_deadline_ms = hp_now_ms(hw) + d->hdr_ms;
		timer_idle(hw, d, d->idle_ms);
	}
	int r = h1_parse_request(&d->p, rb->data, rb->len, &d->req);
	if (r == H1_AGAIN) {
		if (rb->len < HP_BUF_SIZE)
			return 0;
		/* A head larger than the buffer: the parser's limit is below it, so this is its refusal. */
		d->p.err = H1_E_HEADERS_TOO_LARGE;
		r = H1_ERROR;
	}
	if (r == H1_ERROR) {
		HP_ST_ADD(hw, requests, 1);
		d->hdr_deadline_ms = 0;
		WEFT_CTR_ADD(hw->st.request_error[d->p.err], 1);
		d->consumed = rb->len;
		local_reply(hw, d, (unsigned)h1_err_status((enum h1_err)d->p.err), h1_err_name((enum h1_err)d->p.err),
			    NULL, 0, NULL, 0, NULL, true);
		request_end(hw, d);
		return 1;
	}
	on_request(hw, d, r);
	return 1;
}

static void progress(struct hp_worker *hw, struct hp_down *d)
{
	for (;;) {
		if (d->phase == HD_LINGER) {
			if (out_pending(&d->od)) {
				if (out_flush(hw, &d->od, d->c) < 0) {
					down_abort(hw, d);
					return;
				}
				if (out_pending(&d->od))
					return;
				out_drop(hw, &d->od);
				tcp_shutdown(hw->w, d->c);
				timer_fixed(hw, d, HP_LINGER_MS);
			}
			/* Drop what the client still sends; close at its FIN. */
			for (;;) {
				struct rte_mbuf *m = tcp_recv(hw->w, d->c, UINT32_MAX);
				if (m == NULL)
					break;
				rte_pktmbuf_free(m);
			}
			if (d->rd_eof) {
				tcp_close(hw->w, d->c);
				d->c = NULL;
				down_free(hw, d);
			}
			return;
		}
		if (d->phase == HD_HEAD) {
			/* The previous answer goes first: the next request is read once it is all with TCP. */
			if (out_pending(&d->od)) {
				int rc = out_flush(hw, &d->od, d->c);
				if (rc < 0) {
					down_abort(hw, d);
					return;
				}
				if (rc > 0)
					return;
			}
			out_drop(hw, &d->od);
			if (d->close_after) {
				down_linger(hw, d);
				return;
			}
			int r = read_request_head(hw, d);
			if (r < 0)
				return;
			if (r == 0) {
				if (d->rd_eof) {
					/* The client is done; a partial head will never complete. */
					d->close_after = 1;
					down_linger(hw, d);
				}
				return;
			}
			continue; /* handled: look again (pipelined requests, answers to flush) */
		}
		/* A 100 Continue (or what is left of it) goes out while the upstream works. */
		if (out_pending(&d->od) && out_flush(hw, &d->od, d->c) < 0) {
			HP_ST_ADD(hw, downstream_aborted, 1);
			down_abort(hw, d);
			return;
		}
		if (d->phase == HD_CONNECT)
			return; /* the upstream's ESTABLISHED moves on */
		if (d->phase != HD_EXCHANGE || d->up == NULL)
			return;

		/* HD_EXCHANGE: body up, head and body down; each may stop for room or bytes. */
		if (pump_request(hw, d) < 0) {
			if (d->phase == HD_FREE)
				return;
			continue; /* answered locally: on with that */
		}
		if (d->req_done && !d->resp_head_done && !d->resp_timer) {
			/*
			 * The request is all out: the route's timeout for the response
			 * head starts now on the first attempt and covers every later one;
			 * the per-try timeout starts with each attempt's.
			 */
			uint64_t now = hp_now_ms(hw);
			d->resp_timer = true;
			if (d->req_deadline_ms == 0)
				d->req_deadline_ms = now + d->timeout_ms;
			d->try_deadline_ms = d->retry != NULL && d->retry->per_try_timeout_ms != 0 ? now + d->retry->per_try_timeout_ms : 0;
			timer_at(hw, d, first_of(d->req_deadline_ms, d->try_deadline_ms));
		}
		if (!d->resp_head_done) {
			if (read_response_head(hw, d) < 0) {
				if (d->phase == HD_FREE)
					return;
				continue;
			}
			if (!d->resp_head_done) {
				if (d->rd_eof && !d->req_done && tcp_rx_ready(d->c) == 0 &&
				    (d->rb == NULL || d->consumed >= d->rb->len)) {
					HP_ST_ADD(hw, downstream_aborted, 1);
					down_abort(hw, d);
				}
				return;
			}
		}
		if (pump_response(hw, d) < 0) {
			if (d->phase == HD_FREE)
				return;
			continue;
		}
		if (d->resp_done) {
			exchange_end(hw, d);
			if (d->phase == HD_FREE)
				return;
			continue;
		}
		if (d->rd_eof && !d->req_done && tcp_rx_ready(d->c) == 0 && (d->rb == NULL || d->consumed >= d->rb->len) &&
		    d->held_req == NULL) {
			/* The client left before its body was all sent: nothing can complete. */
			HP_ST_ADD(hw, downstream_aborted, 1);
			down_abort(hw, d);
		}
		return;
	}
}

/* ---- events ------------------------------------------------------------------------------------ */

static void down_event(struct weft_worker *w, struct tcp_conn *c, enum tcp_event ev, void *user)
{
	struct hp_worker *hw = hp_of(w);
	struct hp_down *d = user;

	if (hw == NULL || d == NULL || d->phase == HD_FREE || d->c != c)
		return;
	d->last_ms = hp_now_ms(hw);
	switch (ev) {
	case TCP_EV_PEER_CLOSED:
		d->rd_eof = 1;
		break;
	case TCP_EV_RESET:
	case TCP_EV_CLOSED:
		/* The stack frees c after we return. */
		d->c = NULL;
		if (d->proxied)
			HP_ST_ADD(hw, downstream_aborted, 1);
		down_free(hw, d);
		return;
	default:
		break;
	}
	progress(hw, d);
}

void hp_up_event(struct weft_worker *w, struct tcp_conn *c, enum tcp_event ev, void *user)
{
	struct hp_worker *hw = hp_of(w);
	struct hp_up *up = user;
	struct hp_down *d;

	if (hw == NULL || up == NULL || up->state == UP_FREE || up->c != c)
		return;
	d = up->d;
	if (up->state == UP_IDLE) {
		/* An idle connection has nothing to say: whatever comes ends it. */
		if (ev == TCP_EV_WRITABLE)
			return;
		hp_pool_remove(hw, up);
		HP_ST_ADD(hw, pool_closed_by_upstream, 1);
		if (ev == TCP_EV_RESET || ev == TCP_EV_CLOSED) {
			up->c = NULL;
			hp_up_free(hw, up);
		} else {
			hp_up_close(hw, up);
		}
		return;
	}
	if (d == NULL)
		return;
	d->last_ms = hp_now_ms(hw);
	switch (ev) {
	case TCP_EV_ESTABLISHED:
		if (up->state == UP_CONNECTING) {
			up->state = UP_BUSY;
			held_drop(hw, d, HELD_PENDING); /* no longer waiting for a connection */
			if (d->phase == HD_CONNECT) {
				d->phase = HD_EXCHANGE;
				timer_idle(hw, d, d->idle_ms); /* until the request is out (progress) */
			}
		}
		break;
	case TCP_EV_PEER_CLOSED:
		up->eof = 1;
		break;
	case TCP_EV_RESET:
	case TCP_EV_CLOSED:
		if (d->reused)
			(void)req_reached(d, c); /* while c can still say what it acknowledged */
		up->c = NULL;
		if (up->state == UP_CONNECTING || !d->resp_head_done || !d->resp_done) {
			bool refused = up->state == UP_CONNECTING;
			if (d->resp_head_done && d->rinfo.body == H1_BODY_CLOSE && ev == TCP_EV_CLOSED) {
				/* A close-delimited body ends with the connection: the response is complete. */
				up->eof = 1;
				break;
			}
			upstream_failed(hw, d, refused);
			if (d->phase != HD_FREE)
				progress(hw, d); /* the answer goes out, the next request is read */
			return;
		}
		break;
	default:
		break;
	}
	progress(hw, d);
}

/*
 * A passive connection between the accept hook and the end of its handshake:
 * the stream is only taken once the connection is real (see tcp_proxy.c).
 */
static void accepted_event(struct weft_worker *w, struct tcp_conn *c, enum tcp_event ev, void *user)
{
	struct hp_worker *hw = hp_of(w);
	const struct weft_snapshot *snap = w->snap;
	struct hp_down *d;

	(void)user;
	if (ev != TCP_EV_ESTABLISHED)
		return;
	if (hw == NULL || snap == NULL) {
		tcp_abort(w, c);
		return;
	}
	const struct tcp_endpoints *ep = tcp_conn_endpoints(c);
	const struct weft_l4_listener *l = weft_l4_lookup(&snap->l4, &ep->local, ep->lport);
	if (l == NULL || l->kind != WEFT_LISTENER_HTTP) {
		WEFT_CTR_ADD(w->ctr->drops[WEFT_DROP_HTTP_LISTENER_GONE], 1);
		tcp_abort(w, c);
		return;
	}
#ifdef WEFT_HAVE_TLS
	/* A TLS listener: the stream is taken once the handshake is done (the layer calls back). */
	if (user != TLS_ULP_SETTLED && snap->tls_listener[l - snap->l4.listeners] != NULL) {
		(void)tls_ulp_accept(w, c, snap->tls_listener[l - snap->l4.listeners], accepted_event);
		return;
	}
#endif
	if (hw->slot_active[l->slot] >= l->max_per_worker) {
		HP_ST_ADD(hw, refused_listener_full, 1);
		WEFT_CTR_ADD(w->ctr->drops[WEFT_DROP_HTTP_LISTENER_FULL], 1);
		tcp_abort(w, c);
		return;
	}
	d = down_alloc(hw);
	if (d == NULL) {
		HP_ST_ADD(hw, refused_no_stream, 1);
		WEFT_CTR_ADD(w->ctr->drops[WEFT_DROP_HTTP_NO_STREAM], 1);
		tcp_abort(w, c);
		return;
	}
	HP_ST_ADD(hw, downstream_connections, 1);
	d->c = c;
	d->slot = l->slot;
	hw->slot_active[l->slot]++;
	d->client_ip = ep->remote;
	weft_ip_fmt(&ep->remote, d->client, sizeof(d->client));
	d->client_len = (uint8_t)strlen(d->client);
	d->phase = HD_HEAD;
	d->last_ms = hp_now_ms(hw);
	const struct weft_http_snap *hs = snap->http;
	uint32_t li = (uint32_t)(l - snap->l4.listeners);
	d->idle_ms = hs != NULL && li < hs->n_listeners ? hs->listeners[li].idle_timeout_ms : l->idle_timeout_ms;
	d->hdr_ms = hs != NULL && li < hs->n_listeners ? hs->listeners[li].request_header_timeout_ms
						       : WEFT_HTTP_REQUEST_HEADER_TIMEOUT_MS_DEFAULT;
	h1_parser_init(&d->p, &req_limits);
	tcp_set_handler(c, down_event, d);
	timer_idle(hw, d, d->idle_ms);
	progress(hw, d);
}

int http_proxy_accept(struct weft_worker *w, const struct tcp_endpoints *ep, struct tcp_accept *out,
		      const struct weft_l4_listener *l)
{
	struct hp_worker *hw = hp_of(w);

	(void)ep;
	if (hw == NULL)
		return -1;
	/* Shed at the SYN (DESIGN principle 5); checked again when the handshake completes. */
	if (hw->slot_active[l->slot] >= l->max_per_worker) {
		HP_ST_ADD(hw, refused_listener_full, 1);
		return WEFT_DROP_HTTP_LISTENER_FULL;
	}
	if (hw->free_down == NULL) {
		HP_ST_ADD(hw, refused_no_stream, 1);
		return WEFT_DROP_HTTP_NO_STREAM;
	}
	out->fn = accepted_event;
	out->user = NULL;
	out->sndbuf = 0;
	out->rcvbuf = 0;
	return 0;
}

/* ---- timers ------------------------------------------------------------------------------------ */

static void timer_visit(struct hp_worker *hw, struct hp_down *d, uint64_t now)
{
	uint64_t due;

	if (d->tkind == TK_NONE) {
		wheel_unlink(hw, d);
		return;
	}
	due = d->tkind == TK_IDLE ? idle_due(d) : d->deadline_ms;
	if (due > now) {
		/* Activity does not touch the wheel; the entry moves to its real deadline here. */
		if ((due & HP_WHEEL_MASK) != (d->deadline_ms & HP_WHEEL_MASK))
			wheel_arm(hw, d, due);
		else
			d->deadline_ms = due;
		return;
	}
	wheel_unlink(hw, d);
	d->tkind = TK_NONE;
	switch (d->phase) {
	case HD_HEAD:
		if (d->hdr_deadline_ms != 0 && now >= d->hdr_deadline_ms) {
			/* A head started and not finished in time: 408, and the connection ends. */
			d->hdr_deadline_ms = 0;
			HP_ST_ADD(hw, requests, 1);
			HP_ST_ADD(hw, request_header_timeouts, 1);
			reply_reason(hw, d, HP_R_REQUEST_HEADER_TIMEOUT, true);
			request_end(hw, d);
			break;
		}
		HP_ST_ADD(hw, idle_timeouts, 1);
		d->close_after = 1;
		down_linger(hw, d);
		return;
	case HD_LINGER:
		if (d->c != NULL) {
			tcp_close(hw->w, d->c);
			d->c = NULL;
		}
		down_free(hw, d);
		return;
	case HD_CONNECT:
	case HD_BACKOFF:
	case HD_EXCHANGE:
		if (d->req_deadline_ms != 0 && now >= d->req_deadline_ms && !d->resp_head_done) {
			/* The route timeout, over every attempt: no retry after it. */
			if (d->phase != HD_BACKOFF)
				report(hw, d, WEFT_OUT_LOCAL);
			up_detach(hw, d, UP_END_ABORT);
			d->phase = HD_EXCHANGE;
			HP_ST_ADD(hw, request_timeouts, 1);
			reply_reason(hw, d, HP_R_UPSTREAM_TIMEOUT, true);
			request_end(hw, d);
			break;
		}
		if (d->phase == HD_BACKOFF) {
			if (d->queued)
				attempt_connect(hw, d); /* a connection slot yet? */
			else
				attempt_next(hw, d);
			break;
		}
		if (d->phase == HD_CONNECT) {
			up_detach(hw, d, UP_END_ABORT);
			report(hw, d, WEFT_OUT_LOCAL);
			if (retry_check(hw, d, WEFT_RETRY_CONNECT_FAILURE, 0)) {
				retry_start(hw, d, true);
				break;
			}
			d->phase = HD_EXCHANGE; /* no longer connecting: the answer below is the timeout's */
			reply_reason(hw, d, HP_R_CONNECT_TIMEOUT, false);
			answer_and_end(hw, d);
			break;
		}
		if (!d->resp_head_done && d->try_deadline_ms != 0 && now >= d->try_deadline_ms) {
			HP_ST_ADD(hw, per_try_timeouts, 1);
			up_detach(hw, d, UP_END_ABORT);
			report(hw, d, WEFT_OUT_LOCAL);
			if (retry_check(hw, d, WEFT_RETRY_PER_TRY_TIMEOUT, 0)) {
				retry_start(hw, d, true);
				break;
			}
			reply_reason(hw, d, HP_R_PER_TRY_TIMEOUT, true);
			request_end(hw, d);
			break;
		}
		if (!d->resp_head_done) {
			/* Nothing moved for idle_timeout_ms while the request was still going up. */
			report(hw, d, WEFT_OUT_LOCAL);
			HP_ST_ADD(hw, request_timeouts, 1);
			reply_reason(hw, d, HP_R_UPSTREAM_TIMEOUT, true);
			request_end(hw, d);
			break;
		}
		HP_ST_ADD(hw, idle_timeouts, 1);
		down_abort(hw, d);
		return;
	default:
		return;
	}
	if (d->phase != HD_FREE)
		progress(hw, d);
}

void http_proxy_timers(struct weft_worker *w)
{
	struct hp_worker *hw = hp_of(w);

	if (hw == NULL)
		return;
	uint64_t now = hp_now_ms(hw);
	if (hw->wheel_ms == 0 || now - hw->wheel_ms >= HP_WHEEL_SLOTS)
		hw->wheel_ms = now >= HP_WHEEL_SLOTS ? now - HP_WHEEL_SLOTS + 1 : 1;
	for (; hw->wheel_ms <= now; hw->wheel_ms++) {
		struct hp_down *d = hw->wheel[hw->wheel_ms & HP_WHEEL_MASK], *next;
		for (; d != NULL; d = next) {
			next = d->tnext;
			timer_visit(hw, d, now);
		}
	}
	if (now >= hw->next_sweep_ms) {
		hp_pool_sweep(hw, now);
		hw->next_sweep_ms = now + 100;
	}
}

/* ---- set-up ------------------------------------------------------------------------------------ */

int http_proxy_init(struct weft_worker *w, uint32_t max_streams, uint32_t max_upstream)
{
	int socket = (int)rte_lcore_to_socket_id(w->lcore);
	struct hp_worker *hw;

	if (w->tcp == NULL || max_streams == 0 || max_upstream == 0 || w->id >= WEFT_MAX_WORKERS ||
	    hp_by_worker[w->id] != NULL)
		return -EINVAL;
	if (socket < 0 || socket >= RTE_MAX_NUMA_NODES)
		socket = SOCKET_ID_ANY;
	hw = rte_zmalloc_socket("weft_http_proxy", sizeof(*hw), RTE_CACHE_LINE_SIZE, socket);
	if (hw == NULL)
		return -ENOMEM;
	hw->downs = rte_zmalloc_socket("weft_http_streams", (size_t)max_streams * sizeof(*hw->downs),
				       RTE_CACHE_LINE_SIZE, socket);
	hw->ups = rte_zmalloc_socket("weft_http_upstreams", (size_t)max_upstream * sizeof(*hw->ups),
				     RTE_CACHE_LINE_SIZE, socket);
	hw->buckets = rte_zmalloc_socket("weft_http_pool", (size_t)HP_BUCKETS * sizeof(*hw->buckets),
					 RTE_CACHE_LINE_SIZE, socket);
	if (hw->downs == NULL || hw->ups == NULL || hw->buckets == NULL) {
		rte_free(hw->downs);
		rte_free(hw->ups);
		rte_free(hw->buckets);
		rte_free(hw);
		return -ENOMEM;
	}
	hw->w = w;
	hw->max_down = max_streams;
	hw->max_up = max_upstream;
	hw->tsc_per_ms = w->hz >= 1000 ? w->hz / 1000 : 1;
	h1_prng_seed(&hw->prng, w->hz ^ ((uint64_t)w->id << 32) ^ (uint64_t)(uintptr_t)hw);
	for (uint32_t i = max_streams; i-- > 0;) {
		hw->downs[i].free_next = hw->free_down;
		hw->free_down = &hw->downs[i];
	}
	for (uint32_t i = max_upstream; i-- > 0;) {
		hw->ups[i].free_next = hw->free_up;
		hw->free_up = &hw->ups[i];
	}
	hp_by_worker[w->id] = hw;
	return 0;
}

void http_proxy_free(struct weft_worker *w)
{
	struct hp_worker *hw = hp_of(w);

	if (hw == NULL)
		return;
	/* The stack frees the connections; only what we hold goes here. */
	for (uint32_t i = 0; i < hw->max_down; i++) {
		struct hp_down *d = &hw->downs[i];
		if (d->phase == HD_FREE)
			continue;
		snap_release(w, d);
		rte_pktmbuf_free(d->held_req);
		rte_pktmbuf_free(d->held_resp);
		hp_buf_put(hw, d->rb);
		hp_buf_put(hw, d->sb);
		hp_buf_put(hw, d->od.b);
		hp_buf_put(hw, d->ou.b);
	}
	hp_bufs_free(hw);
	hp_by_worker[w->id] = NULL;
	rte_free(hw->downs);
	rte_free(hw->ups);
	rte_free(hw->buckets);
	rte_free(hw);
}

const struct http_proxy_stats *http_proxy_stats(const struct weft_worker *w)
{
	const struct hp_worker *hw = hp_of(w);
	return hw != NULL ? &hw->st : NULL;
}
