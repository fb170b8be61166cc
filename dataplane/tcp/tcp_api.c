/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the application calls: send, receive, shut down, close, abort.
 *
 * These run on the worker that owns the connection, from a callback or
 * from any other code of that worker. They never deliver events themselves
 * (events come from input and timers), so a caller never has to expect its
 * own callback to run inside tcp_send().
 */
#include <errno.h>
#include <string.h>

#include "dataplane/tcp/tcp_priv.h"

static bool can_send(const struct tcp_conn *c)
{
	if (c->flags & (CF_DEAD | CF_FIN_QUEUED | CF_ORPHAN))
		return false;
	switch (c->state) {
	case TCP_SYN_SENT:
	case TCP_SYN_RECEIVED:
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
		return true;
	default:
		return false;
	}
}

static bool synchronized(const struct tcp_conn *c)
{
	return c->state != TCP_SYN_SENT && c->state != TCP_SYN_RECEIVED && c->state != TCP_CLOSED;
}

static size_t raw_send_space(const struct tcp_conn *c)
{
	if (!can_send(c))
		return 0;
	return c->sndbuf > c->sndq.bytes ? c->sndbuf - c->sndq.bytes : 0;
}

static size_t raw_rx_ready(const struct tcp_conn *c)
{
	return (c->flags & CF_DEAD) ? 0 : c->rcvq.bytes;
}

static void sndq_link(struct tcp_conn *c, struct rte_mbuf *m)
{
	m->next = NULL;
	if (c->sndq.tail)
		c->sndq.tail->next = m;
	else
		c->sndq.head = m;
	c->sndq.tail = m;
	c->sndq.segs++;
}

static int raw_send(struct weft_worker *w, struct tcp_conn *c, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t space, n, done = 0;
	uint32_t chunk;

	if (!can_send(c))
		return -ENOTCONN;
	tcp_clock(w);
	space = raw_send_space(c);
	n = len < space ? len : space;
	/*
	 * Fill mbufs with one MSS each once the MSS is known, so that every
	 * segment attaches exactly one piece of the queue.
	 */
	chunk = rte_pktmbuf_data_room_size(w->pool);
	if (synchronized(c) && c->mss < chunk)
		chunk = c->mss;

	/* Top up our own tail first: small writes share a buffer. */
	struct rte_mbuf *t = c->sndq.tail;
	if (t && tcp_mb(t)->appendable && t->data_len < chunk) {
		uint32_t room = rte_pktmbuf_tailroom(t);
		if (room > chunk - t->data_len)
			room = chunk - t->data_len;
		if (room > n)
			room = (uint32_t)n;
		memcpy(rte_pktmbuf_mtod_offset(t, uint8_t *, t->data_len), p, room);
		t->data_len += room;
		done += room;
	}
	while (done < n) {
		struct rte_mbuf *m = rte_pktmbuf_alloc(w->pool);
		uint32_t k;
		if (m == NULL)
			break;
		/* Payload only, never sent as is: the headroom would be wasted. */
		m->data_off = 0;
		k = rte_pktmbuf_tailroom(m);
		if (k > chunk)
			k = chunk;
		if (k > n - done)
			k = (uint32_t)(n - done);
		memcpy(rte_pktmbuf_mtod(m, uint8_t *), p + done, k);
		m->data_len = (uint16_t)k;
		m->pkt_len = k;
		tcp_mb(m)->appendable = 1;
		sndq_link(c, m);
		done += k;
	}
	c->sndq.bytes += (uint32_t)done;
	if (done < len)
		c->flags |= CF_WANT_WRITABLE;
	if (done == 0 && n > 0) {
		WEFT_CTR_ADD(tcp_st(w)->stats.no_mbuf, 1);
		return -ENOBUFS;
	}
	if (synchronized(c))
		tcp_output(w, c);
	return (int)done;
}

static int raw_send_mbuf(struct weft_worker *w, struct tcp_conn *c, struct rte_mbuf *m)
{
	uint32_t total = rte_pktmbuf_pkt_len(m);

	if (!can_send(c))
		return -ENOTCONN;
	tcp_clock(w);
	/* All or nothing; a chain larger than the buffer is taken when the queue is empty. */
	if (total > raw_send_space(c) && c->sndq.bytes > 0) {
		c->flags |= CF_WANT_WRITABLE;
		c->want_space = total;
		return -EAGAIN;
	}
	while (m) {
		struct rte_mbuf *next = m->next;
		if (m->data_len == 0) {
			m->next = NULL;
			rte_pktmbuf_free_seg(m);
		} else {
			tcp_mb(m)->appendable = 0; /* may be shared or indirect: read only */
			sndq_link(c, m);
		}
		m = next;
	}
	c->sndq.bytes += total;
	if (synchronized(c))
		tcp_output(w, c);
	return 0;
}

/*
 * After the application consumed data: tell the peer about the room when
 * it needs it (RFC 9293 3.8.6.2.2; RFC 1122 4.2.3.3), and let a
 * pending CLOSED through once the queue is empty.
 */
static void consumed(struct weft_worker *w, struct tcp_conn *c)
{
	struct tcp_stack *st = tcp_st(w);

	if (c->state == TCP_ESTABLISHED || c->state == TCP_FIN_WAIT_1 || c->state == TCP_FIN_WAIT_2) {
		uint32_t old = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
		uint32_t now = tcp_rcv_window(c);
		/*
		 * Only when the peer is about to stall (less than two segments of
		 * window left) is the update urgent; otherwise it rides on the next
		 * ACK, delayed or not.
		 */
		if (now > old && old < 2u * c->rcv_mss && now - old >= c->rcv_mss)
			tcp_send_ack(w, c);
	}
	if ((c->flags & CF_CLOSED_PENDING) && c->rcvq.bytes == 0) {
		c->flags &= ~CF_CLOSED_PENDING;
		tcp_post(c, TCP_EV_CLOSED);
		/* Delivered by the next tcp_timers(): never from inside this call. */
		tcp_timer_set(st, c, TCP_T_EVENT, 0);
	}
}

static struct rte_mbuf *raw_recv(struct weft_worker *w, struct tcp_conn *c, uint32_t max_bytes)
{
	struct tcp_q *q = &c->rcvq;
	struct rte_mbuf *head = q->head, *s, *last = NULL;
	uint32_t take, got = 0;

	if ((c->flags & CF_DEAD) || q->bytes == 0 || max_bytes == 0)
		return NULL;
	tcp_clock(w);
	take = max_bytes < q->bytes ? max_bytes : q->bytes;
	for (s = head; s && got + s->data_len <= take; s = s->next) {
		got += s->data_len;
		last = s;
	}
	if (got < take && s) {
		/* Split s: the first part leaves, the rest stays queued in an indirect mbuf. */
		struct rte_mbuf *rest = rte_pktmbuf_alloc(w->pool);
		uint32_t k = take - got;
		if (rest != NULL) {
			rte_pktmbuf_attach(rest, s);
			rest->data_off = (uint16_t)(s->data_off + k);
			rest->data_len = (uint16_t)(s->data_len - k);
			rest->next = s->next;
			if (q->tail == s)
				q->tail = rest;
			s->data_len = (uint16_t)k;
			s->next = rest;
			q->segs++;
			got += k;
			last = s;
		}
	}
	if (last == NULL)
		return NULL;
	q->head = last->next;
	if (q->head == NULL)
		q->tail = NULL;
	last->next = NULL;
	q->bytes -= got;
	{
		uint16_t n = 0;
		for (s = head; s; s = s->next)
			n++;
		q->segs -= n;
		head->nb_segs = n;
		head->pkt_len = got;
	}
	consumed(w, c);
	return head;
}

static size_t raw_recv_copy(struct weft_worker *w, struct tcp_conn *c, void *buf, size_t len)
{
	struct tcp_q *q = &c->rcvq;
	uint8_t *out = buf;
	size_t done = 0;

	if (c->flags & CF_DEAD)
		return 0;
	tcp_clock(w);
	while (done < len && q->head) {
		struct rte_mbuf *m = q->head;
		size_t k = m->data_len;
		if (k > len - done)
			k = len - done;
		memcpy(out + done, rte_pktmbuf_mtod(m, uint8_t *), k);
		done += k;
		if (k == m->data_len) {
			q->head = m->next;
			if (q->head == NULL)
				q->tail = NULL;
			q->segs--;
			m->next = NULL;
			rte_pktmbuf_free_seg(m);
		} else {
			m->data_off += (uint16_t)k;
			m->data_len -= (uint16_t)k;
		}
	}
	q->bytes -= (uint32_t)done;
	if (done)
		consumed(w, c);
	return done;
}

static void raw_shutdown(struct weft_worker *w, struct tcp_conn *c)
{
	struct tcp_stack *st = tcp_st(w);

	if ((c->flags & (CF_DEAD | CF_FIN_QUEUED)))
		return;
	tcp_clock(w);
	switch (c->state) {
	case TCP_SYN_SENT:
	case TCP_SYN_RECEIVED:
		/* The FIN follows the handshake (fin_seq is set on ESTABLISHED). */
		c->flags |= CF_FIN_QUEUED;
		return;
	case TCP_ESTABLISHED:
		c->flags |= CF_FIN_QUEUED;
		c->fin_seq = c->sndq_seq + c->sndq.bytes;
		tcp_set_state(st, c, TCP_FIN_WAIT_1);
		break;
	case TCP_CLOSE_WAIT:
		c->flags |= CF_FIN_QUEUED;
		c->fin_seq = c->sndq_seq + c->sndq.bytes;
		tcp_set_state(st, c, TCP_LAST_ACK);
		break;
	default:
		return;
	}
	tcp_output(w, c);
}

static void raw_abort(struct weft_worker *w, struct tcp_conn *c)
{
	struct tcp_stack *st = tcp_st(w);

	if (c->flags & CF_DEAD)
		return;
	tcp_clock(w);
	/* RFC 9293 3.10.5: an RST in the states where the peer holds state worth tearing down. */
	switch (c->state) {
	case TCP_SYN_RECEIVED:
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT_1:
	case TCP_FIN_WAIT_2:
	case TCP_CLOSE_WAIT:
		tcp_send_rst(w, c);
		break;
	default:
		break;
	}
	TCP_STAT(st, aborted, 1);
	c->flags &= ~CF_ATTACHED;
	tcp_conn_free(w, c);
	tcp_reap(w);
}

static void raw_close(struct weft_worker *w, struct tcp_conn *c)
{
	struct tcp_stack *st = tcp_st(w);

	if (c->flags & CF_DEAD)
		return;
	tcp_clock(w);
	c->flags |= CF_ORPHAN | CF_RCV_SHUT;
	c->flags &= ~(CF_ATTACHED | CF_WANT_WRITABLE | CF_CLOSED_PENDING);
	c->ev_pending = 0;
	c->fn = NULL;
	c->user = NULL;
	/*
	 * Unread data: the peer believes it delivered, so tell it otherwise
	 * with an RST (RFC 9293 3.10.4 note, RFC 2525 2.17).
	 */
	if ((c->rcvq.bytes > 0 || c->ooo != NULL) && c->state != TCP_TIME_WAIT && c->state != TCP_CLOSED) {
		raw_abort(w, c);
		return;
	}
	switch (c->state) {
	case TCP_SYN_SENT:
	case TCP_CLOSED:
		tcp_conn_free(w, c);
		break;
	case TCP_SYN_RECEIVED:
		raw_abort(w, c);
		return;
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
		raw_shutdown(w, c);
		break;
	case TCP_FIN_WAIT_2:
		tcp_timer_set(st, c, TCP_T_WAIT, st->p.fin_wait2_ms);
		break;
	default:
		break; /* FIN already on its way; the stack finishes alone */
	}
	tcp_reap(w);
}

/* ---- upper-layer protocols ---- */

void tcp_ulp_set(struct tcp_conn *c, const struct tcp_ulp_ops *ops, void *ulp)
{
	c->ulp_ops = ops;
	c->ulp = ops != NULL ? ulp : NULL;
}

void *tcp_ulp_get(const struct tcp_conn *c, const struct tcp_ulp_ops *ops)
{
	return c->ulp_ops == ops && ops != NULL ? c->ulp : NULL;
}

size_t tcp_send_space(const struct tcp_conn *c)
{
	if (unlikely(c->ulp_ops != NULL))
		return c->ulp_ops->send_space(c, c->ulp);
	return raw_send_space(c);
}

size_t tcp_rx_ready(const struct tcp_conn *c)
{
	if (unlikely(c->ulp_ops != NULL))
		return c->ulp_ops->rx_ready(c, c->ulp);
	return raw_rx_ready(c);
}

int tcp_send(struct weft_worker *w, struct tcp_conn *c, const void *data, size_t len)
{
	if (unlikely(c->ulp_ops != NULL))
		return c->ulp_ops->send(w, c, c->ulp, data, len);
	return raw_send(w, c, data, len);
}

int tcp_send_mbuf(struct weft_worker *w, struct tcp_conn *c, struct rte_mbuf *m)
{
	if (unlikely(c->ulp_ops != NULL))
		return c->ulp_ops->send_mbuf(w, c, c->ulp, m);
	return raw_send_mbuf(w, c, m);
}

struct rte_mbuf *tcp_recv(struct weft_worker *w, struct tcp_conn *c, uint32_t max_bytes)
{
	if (unlikely(c->ulp_ops != NULL))
		return c->ulp_ops->recv(w, c, c->ulp, max_bytes);
	return raw_recv(w, c, max_bytes);
}

size_t tcp_recv_copy(struct weft_worker *w, struct tcp_conn *c, void *buf, size_t len)
{
	if (unlikely(c->ulp_ops != NULL))
		return c->ulp_ops->recv_copy(w, c, c->ulp, buf, len);
	return raw_recv_copy(w, c, buf, len);
}

void tcp_shutdown(struct weft_worker *w, struct tcp_conn *c)
{
	if (unlikely(c->ulp_ops != NULL)) {
		c->ulp_ops->shutdown(w, c, c->ulp);
		return;
	}
	raw_shutdown(w, c);
}

void tcp_close(struct weft_worker *w, struct tcp_conn *c)
{
	if (unlikely(c->ulp_ops != NULL)) {
		c->ulp_ops->close(w, c, c->ulp);
		return;
	}
	raw_close(w, c);
}

void tcp_abort(struct weft_worker *w, struct tcp_conn *c)
{
	if (unlikely(c->ulp_ops != NULL)) {
		c->ulp_ops->abort(w, c, c->ulp);
		return;
	}
	raw_abort(w, c);
}

int tcp_lower_send(struct weft_worker *w, struct tcp_conn *c, const void *data, size_t len)
{
	return raw_send(w, c, data, len);
}

size_t tcp_lower_recv_copy(struct weft_worker *w, struct tcp_conn *c, void *buf, size_t len)
{
	return raw_recv_copy(w, c, buf, len);
}

size_t tcp_lower_peek(const struct tcp_conn *c, void *buf, size_t len)
{
	uint8_t *out = buf;
	size_t done = 0;

	if (c->flags & CF_DEAD)
		return 0;
	for (const struct rte_mbuf *m = c->rcvq.head; m != NULL && done < len; m = m->next) {
		size_t k = m->data_len < len - done ? m->data_len : len - done;
		memcpy(out + done, rte_pktmbuf_mtod(m, const uint8_t *), k);
		done += k;
	}
	return done;
}

size_t tcp_lower_rx_ready(const struct tcp_conn *c)
{
	return raw_rx_ready(c);
}

size_t tcp_lower_send_space(const struct tcp_conn *c)
{
	return raw_send_space(c);
}

void tcp_lower_want_writable(struct tcp_conn *c)
{
	if (can_send(c))
		c->flags |= CF_WANT_WRITABLE;
}

void tcp_lower_shutdown(struct weft_worker *w, struct tcp_conn *c)
{
	raw_shutdown(w, c);
}

void tcp_lower_close(struct weft_worker *w, struct tcp_conn *c)
{
	c->ulp_ops = NULL;
	c->ulp = NULL;
	raw_close(w, c);
}

void tcp_lower_abort(struct weft_worker *w, struct tcp_conn *c)
{
	c->ulp_ops = NULL;
	c->ulp = NULL;
	raw_abort(w, c);
}

void tcp_lower_set_handler(struct tcp_conn *c, tcp_event_fn fn, void *user)
{
	c->fn = fn;
	c->user = user;
}
