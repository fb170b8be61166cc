/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dataplane/tcp: scripted segment tests. Each test plays the peer of one or
 * more connections (see tcp_harness.h), and ends with every mbuf back in
 * the pool.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/tcp_harness.h"

#define F_FIN 0x01
#define F_SYN 0x02
#define F_RST 0x04
#define F_PSH 0x08
#define F_ACK 0x10

/* ---- handshakes ---- */

static void test_passive_open_all_options(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_seg s = {.flags = F_SYN, .seq = 7000, .wnd = 65535, .mss = 1460, .has_ws = true, .ws = 7,
			   .sackok = true, .ts = true, .tsval = 111};
	struct th_out o;
	struct tcp_conn_info ci;

	(void)state;
	th_in(h, &s);
	th_pop(h, &o);
	assert_int_equal(o.flags, F_SYN | F_ACK);
	assert_int_equal(o.ack, 7001);
	assert_int_equal(o.sport, 80);
	assert_int_equal(o.dport, 40000);
	assert_true(o.has_mss);
	assert_int_equal(o.mss, 1460);
	assert_true(o.has_ws);
	assert_int_equal(o.ws, 3); /* 256 KiB buffer */
	assert_true(o.sackok);
	assert_true(o.ts);
	assert_int_equal(o.tsecr, 111);
	assert_int_equal(th_stats(h)->state[TCP_SYN_RECEIVED], 1);

	struct th_seg a = {.flags = F_ACK, .seq = 7001, .ack = o.seq + 1, .wnd = 1000, .ts = true, .tsval = 112,
			   .tsecr = o.tsval};
	th_in(h, &a);
	th_none(h);
	assert_int_equal(h->n_apps, 1);
	assert_int_equal(h->apps[0].ev[TCP_EV_ESTABLISHED], 1);
	tcp_conn_info(h->apps[0].c, &ci);
	assert_int_equal(ci.state, TCP_ESTABLISHED);
	assert_true(ci.ts);
	assert_true(ci.sack);
	assert_int_equal(ci.snd_wscale, 7);
	assert_int_equal(ci.rcv_wscale, 3);
	assert_int_equal(ci.mss, 1460 - 12);
	assert_int_equal(ci.snd_wnd, 1000 << 7);
	assert_int_equal(ci.cc, TCP_CC_CUBIC);
	assert_int_equal(ci.cwnd, 10 * (1460 - 12));
	assert_int_equal(th_stats(h)->passive_opens, 1);
	assert_int_equal(th_stats(h)->state[TCP_ESTABLISHED], 1);
	assert_int_equal(th_stats(h)->state[TCP_SYN_RECEIVED], 0);
	th_free(h);
}


static struct th_out *pop(struct th *h)
{
	static struct th_out o;
	th_pop(h, &o);
	return &o;
}

static void test_passive_open_no_options(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_seg s = {.flags = F_SYN, .seq = 100, .wnd = 8192};
	struct th_out *o;
	struct tcp_conn_info ci;

	(void)state;
	th_in(h, &s);
	o = pop(h);
	assert_int_equal(o->flags, F_SYN | F_ACK);
	assert_true(o->has_mss);
	assert_int_equal(o->mss, 1460);
	/* Only what the peer offered comes back (RFC 7323 2.2, 3.2; RFC 2018 2). */
	assert_false(o->has_ws);
	assert_false(o->sackok);
	assert_false(o->ts);
	assert_int_equal(o->wnd, 65535);
	struct th_seg a = {.flags = F_ACK, .seq = 101, .ack = o->seq + 1, .wnd = 8192};
	th_in(h, &a);
	th_none(h);
	tcp_conn_info(h->apps[0].c, &ci);
	assert_false(ci.ts);
	assert_false(ci.sack);
	assert_int_equal(ci.snd_wscale, 0);
	assert_int_equal(ci.rcv_wscale, 0);
	assert_int_equal(ci.mss, 536); /* RFC 9293 3.7.1 default without the option */
	assert_int_equal(ci.snd_wnd, 8192);
	th_free(h);
}

static void test_passive_open_v6(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {.af = 6, .ts = true, .sack = true, .ws = true, .wscale = 2};
	struct tcp_conn_info ci;

	(void)state;
	th_passive_open(h, &p);
	tcp_conn_info(p.c, &ci);
	assert_int_equal(ci.ep.local.af, 6);
	assert_int_equal(ci.ep.lport, 80);
	assert_int_equal(ci.ep.rport, 40000);
	assert_int_equal(ci.mss, 1440 - 12); /* our MSS is 1500 - 40 - 20; the peer offered 1460 */
	assert_int_equal(ci.snd_wscale, 2);
	th_free(h);
}

static void test_passive_open_mss_clamp_v6(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_seg s = {.af = 6, .flags = F_SYN, .seq = 9, .wnd = 1000, .mss = 1460};

	(void)state;
	th_in(h, &s);
	struct th_out *o = pop(h);
	assert_int_equal(o->af, 6);
	assert_int_equal(o->mss, 1440);
	th_free(h);
}

static void test_active_open(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {.port = 8080, .ts = true, .sack = true, .ws = true, .wscale = 9, .seq = 555};
	struct tcp_conn_info ci;

	(void)state;
	th_active_open(h, &p);
	assert_true(p.lport >= 32768 && p.lport <= 60999);
	tcp_conn_info(p.c, &ci);
	assert_int_equal(ci.state, TCP_ESTABLISHED);
	assert_true(ci.ts && ci.sack);
	assert_int_equal(ci.snd_wscale, 9);
	assert_int_equal(ci.rcv_wscale, 3);
	assert_int_equal(ci.mss, 1448);
	assert_int_equal(th_stats(h)->active_opens, 1);
	assert_int_equal(ci.ep.local.af, 4);
	assert_int_equal(ci.ep.local.v4, htonl(0xc6120001)); /* 198.18.0.1 from the route's port */
	th_free(h);
}

static void test_active_open_syn_options_off(void **state)
{
	struct tcp_params prm;
	th_params(&prm);
	prm.opt_ts = prm.opt_sack = prm.opt_wscale = false;
	struct th *h = th_new(&prm, 1);
	struct weft_ip dst = {.af = 4};
	int err;

	(void)state;
	inet_pton(AF_INET, "198.18.0.2", &dst.v4);
	struct tcp_conn *c = tcp_connect(h->w, &dst, 9, th_event, NULL, &err);
	assert_non_null(c);
	struct th_out *o = pop(h);
	assert_int_equal(o->flags, F_SYN);
	assert_true(o->has_mss);
	assert_false(o->has_ws || o->sackok || o->ts);
	tcp_abort(h->w, c);
	th_none(h); /* SYN-SENT: nothing to reset on the other side */
	th_free(h);
}

static void test_active_open_refused(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct weft_ip dst = {.af = 4};
	int err;

	(void)state;
	inet_pton(AF_INET, "198.18.0.2", &dst.v4);
	struct th_app *a = th_app_new(h);
	a->c = tcp_connect(h->w, &dst, 9, th_event, NULL, &err);
	struct th_out *o = pop(h);
	uint32_t iss = o->seq;
	uint16_t lport = o->sport;

	/* An RST without an acceptable ACK is not believed (RFC 9293 3.10.7.3). */
	struct th_seg r = {.flags = F_RST, .sport = 9, .dport = lport, .seq = 0};
	th_in(h, &r);
	assert_int_equal(th_drop(h, WEFT_DROP_TCP_BAD_RST), 1);
	assert_non_null(a->c);
	/* An ACK for something else gets an RST back. */
	struct th_seg b = {.flags = F_ACK, .sport = 9, .dport = lport, .seq = 1, .ack = iss + 7};
	th_in(h, &b);
	o = pop(h);
	assert_int_equal(o->flags, F_RST);
	assert_int_equal(o->seq, iss + 7);
	r.flags = F_RST | F_ACK;
	r.ack = iss + 1;
	th_in(h, &r);
	th_none(h);
	assert_int_equal(a->ev[TCP_EV_RESET], 1);
	assert_null(a->c);
	assert_int_equal(th_stats(h)->connect_failed, 1);
	assert_int_equal(th_stats(h)->state[TCP_SYN_SENT], 0);
	th_free(h);
}

static void test_active_open_syn_backoff(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct weft_ip dst = {.af = 4};
	const uint32_t at[] = {1000, 2000, 4000, 8000, 16000};
	int err;

	(void)state;
	inet_pton(AF_INET, "198.18.0.2", &dst.v4);
	struct th_app *a = th_app_new(h);
	a->c = tcp_connect(h->w, &dst, 9, th_event, NULL, &err);
	uint32_t iss = pop(h)->seq;
	for (unsigned i = 0; i < 5; i++) {
		th_advance(h, at[i] - 1);
		th_none(h);
		th_advance(h, 1);
		struct th_out *o = pop(h);
		assert_int_equal(o->flags, F_SYN);
		assert_int_equal(o->seq, iss);
	}
	th_advance(h, 32000 - 1);
	assert_non_null(a->c);
	th_advance(h, 1);
	th_none(h);
	assert_null(a->c);
	assert_int_equal(a->ev[TCP_EV_RESET], 1);
	assert_int_equal(th_stats(h)->connect_failed, 1);
	assert_int_equal(th_stats(h)->retransmits, 5);
	th_free(h);
}

static void test_connect_errors(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct weft_ip dst = {.af = 4};
	int err = 0;

	(void)state;
	inet_pton(AF_INET, "10.9.9.9", &dst.v4); /* no route, no gateway */
	assert_null(tcp_connect(h->w, &dst, 80, th_event, NULL, &err));
	assert_int_equal(err, EHOSTUNREACH);
	assert_null(tcp_connect(h->w, &dst, 0, th_event, NULL, &err));
	assert_int_equal(err, EINVAL);
	th_free(h);
}

static void test_no_listener(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_seg s = {.flags = F_SYN, .seq = 1234, .dport = 81, .wnd = 1000};

	(void)state;
	th_in(h, &s);
	struct th_out *o = pop(h);
	/* RFC 9293 3.10.7.1: no ACK in, so SEQ 0 and ACK = SEG.SEQ + SEG.LEN. */
	assert_int_equal(o->flags, F_RST | F_ACK);
	assert_int_equal(o->seq, 0);
	assert_int_equal(o->ack, 1235);
	assert_int_equal(o->sport, 81);
	assert_int_equal(th_drop(h, WEFT_DROP_TCP_NO_LISTENER), 1);
	s.af = 6;
	th_in(h, &s);
	o = pop(h);
	assert_int_equal(o->af, 6);
	assert_int_equal(o->flags, F_RST | F_ACK);
	assert_int_equal(th_drop(h, WEFT_DROP_TCP_NO_LISTENER), 2);
	th_free(h);
}

static void test_no_connection(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_seg s = {.flags = F_ACK, .seq = 5, .ack = 77777, .wnd = 1000};

	(void)state;
	th_in(h, &s);
	struct th_out *o = pop(h);
	assert_int_equal(o->flags, F_RST);
	assert_int_equal(o->seq, 77777);
	assert_int_equal(th_drop(h, WEFT_DROP_TCP_NO_CONN), 1);
	/* Never answer an RST. */
	s.flags = F_RST;
	th_in(h, &s);
	th_none(h);
	assert_int_equal(th_drop(h, WEFT_DROP_TCP_NO_CONN), 2);
	th_free(h);
}

static void test_bad_segments(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_seg s = {.flags = F_SYN, .seq = 1, .wnd = 1000, .bad_cksum = true};

	(void)state;
	th_in(h, &s);
	th_none(h);
	assert_int_equal(th_drop(h, WEFT_DROP_TCP_BAD_CHECKSUM), 1);
	/* A port that validated the checksum is believed. */
	s.rx_cksum_good = true;
	th_in(h, &s);
	assert_int_equal(pop(h)->flags, F_SYN | F_ACK);
	struct th_seg d = {.flags = F_ACK, .seq = 1, .doff_words = 4};
	th_in(h, &d);
	d.doff_words = 15;
	th_in(h, &d);
	th_none(h);
	assert_int_equal(th_drop(h, WEFT_DROP_TCP_BAD_HEADER), 2);
	struct th_seg sf = {.flags = F_SYN | F_FIN, .seq = 1, .sport = 999};
	th_in(h, &sf);
	th_none(h);
	assert_int_equal(th_drop(h, WEFT_DROP_TCP_BAD_FLAGS), 1);
	th_free(h);
}

static void test_synack_retransmit_and_dup_syn(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_seg s = {.flags = F_SYN, .seq = 50, .wnd = 1000, .mss = 1460};

	(void)state;
	th_in(h, &s);
	uint32_t iss = pop(h)->seq;
	th_in(h, &s); /* the peer did not hear us: same SYN-ACK again */
	struct th_out *o = pop(h);
	assert_int_equal(o->flags, F_SYN | F_ACK);
	assert_int_equal(o->seq, iss);
	th_advance(h, 1000);
	o = pop(h);
	assert_int_equal(o->flags, F_SYN | F_ACK);
	assert_int_equal(o->seq, iss);
	/* After syn_retries the half-open connection goes, unseen by the application. */
	th_advance(h, 2000 + 4000 + 8000 + 16000);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(pop(h)->flags, F_SYN | F_ACK);
	th_advance(h, 32000);
	th_none(h);
	assert_int_equal(h->n_apps, 0);
	assert_int_equal(th_stats(h)->state[TCP_SYN_RECEIVED], 0);
	th_free(h);
}

static void test_simultaneous_open(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct weft_ip dst = {.af = 4};
	int err;

	(void)state;
	inet_pton(AF_INET, "198.18.0.2", &dst.v4);
	struct th_app *a = th_app_new(h);
	a->c = tcp_connect(h->w, &dst, 7000, th_event, NULL, &err);
	struct th_out *o = pop(h);
	uint32_t iss = o->seq;
	uint16_t lport = o->sport;
	/* Both SYNs cross (RFC 9293 3.5, figure 8). */
	struct th_seg syn = {.flags = F_SYN, .sport = 7000, .dport = lport, .seq = 300, .wnd = 5000, .mss = 1400};
	th_in(h, &syn);
	o = pop(h);
	assert_int_equal(o->flags, F_SYN | F_ACK);
	assert_int_equal(o->seq, iss);
	assert_int_equal(o->ack, 301);
	assert_int_equal(tcp_conn_state(a->c), TCP_SYN_RECEIVED);
	/* The peer's SYN-ACK answers ours. */
	struct th_seg sa = {.flags = F_SYN | F_ACK, .sport = 7000, .dport = lport, .seq = 300, .ack = iss + 1, .wnd = 5000};
	th_in(h, &sa);
	th_drain(h);
	assert_int_equal(tcp_conn_state(a->c), TCP_ESTABLISHED);
	assert_int_equal(a->ev[TCP_EV_ESTABLISHED], 1);
	/* Data flows. */
	struct th_seg d = {.flags = F_ACK, .sport = 7000, .dport = lport, .seq = 301, .ack = iss + 1, .wnd = 5000,
			   .data = "hello", .len = 5};
	th_in(h, &d);
	assert_int_equal(tcp_rx_ready(a->c), 5);
	th_advance(h, 40);
	assert_int_equal(pop(h)->ack, 306);
	th_free(h);
}

/* ---- data transfer ---- */

static void test_receive_in_order_and_delayed_ack(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {.ts = true, .sack = true, .ws = true, .wscale = 4};
	uint8_t buf[1448 * 3];

	(void)state;
	th_passive_open(h, &p);
	p.app->auto_read = true;
	th_pattern(buf, sizeof(buf), 0);
	/* One full segment: the ACK waits (RFC 1122 4.2.3.2)... */
	th_peer_send(h, &p, F_ACK, buf, 1448);
	th_none(h);
	th_advance(h, 39);
	th_none(h);
	th_advance(h, 1);
	struct th_out *o = pop(h);
	assert_int_equal(o->flags, F_ACK);
	assert_int_equal(o->ack, p.seq);
	assert_int_equal(th_stats(h)->delayed_acks, 1);
	/* ...but never past the second full segment (RFC 9293 3.8.6.3). */
	th_peer_send(h, &p, F_ACK, buf + 1448, 1448);
	th_none(h);
	th_peer_send(h, &p, F_ACK | F_PSH, buf + 2896, 1448);
	o = pop(h);
	assert_int_equal(o->ack, p.seq);
	assert_true(o->ts);
	assert_int_equal(o->tsecr, p.tsval);
	assert_int_equal(p.app->rx_len, sizeof(buf));
	assert_true(th_check_pattern(p.app->rx, sizeof(buf), 0));
	assert_int_equal(p.app->ev[TCP_EV_READABLE], 3);
	struct tcp_conn_info ci;
	tcp_conn_info(p.c, &ci);
	assert_int_equal(ci.bytes_in, sizeof(buf));
	th_free(h);
}

static void test_recv_zero_copy_chain(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {.ts = true};
	uint8_t buf[3000], out[3000];

	(void)state;
	th_passive_open(h, &p);
	th_pattern(buf, sizeof(buf), 0);
	th_peer_send(h, &p, F_ACK, buf, 1000);
	th_peer_send(h, &p, F_ACK, buf + 1000, 1000);
	th_peer_send(h, &p, F_ACK, buf + 2000, 1000);
	th_drain(h);
	assert_int_equal(tcp_rx_ready(p.c), 3000);
	/* 1500 bytes: the whole first segment and half the second, split without copying. */
	struct rte_mbuf *m = tcp_recv(h->w, p.c, 1500);
	assert_non_null(m);
	assert_int_equal(rte_pktmbuf_pkt_len(m), 1500);
	assert_int_equal(m->nb_segs, 2);
	assert_non_null(rte_pktmbuf_read(m, 0, 1500, out));
	const uint8_t *q = rte_pktmbuf_read(m, 0, 1500, out);
	assert_memory_equal(q, buf, 1500);
	rte_pktmbuf_free(m);
	assert_int_equal(tcp_rx_ready(p.c), 1500);
	assert_int_equal(tcp_recv_copy(h->w, p.c, out, sizeof(out)), 1500);
	assert_memory_equal(out, buf + 1500, 1500);
	assert_null(tcp_recv(h->w, p.c, 100));
	th_drain(h);
	th_free(h);
}

static void test_send_segments_and_acks(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {.ts = true, .sack = true, .ws = true, .wscale = 2};
	static uint8_t buf[5000];
	static struct th_out segs[4];

	(void)state;
	th_passive_open(h, &p);
	th_pattern(buf, sizeof(buf), 0);
	assert_int_equal(tcp_send(h->w, p.c, buf, sizeof(buf)), sizeof(buf));
	for (unsigned i = 0; i < 4; i++)
		th_pop(h, &segs[i]);
	th_none(h);
	uint32_t off = 0;
	for (unsigned i = 0; i < 4; i++) {
		uint32_t want = i < 3 ? 1448 : 5000 - 3 * 1448;
		assert_int_equal(segs[i].len, want);
		assert_int_equal(segs[i].seq, p.ack + off);
		assert_true(th_check_pattern(segs[i].data, want, off));
		assert_true(segs[i].ts);
		off += want;
	}
	assert_true(segs[3].flags & F_PSH);
	/* Large payloads are attached, not copied: header mbuf + indirect data. */
	assert_true(segs[0].nb_segs >= 2);
	p.ack += 5000;
	th_peer_send(h, &p, F_ACK, NULL, 0);
	th_none(h);
	struct tcp_conn_info ci;
	tcp_conn_info(p.c, &ci);
	assert_int_equal(ci.bytes_out, 5000);
	assert_int_equal(ci.flight, 0);
	assert_int_equal(th_stats(h)->bytes_out, 5000);
	th_free(h);
}

static void test_small_writes_copy(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {0};

	(void)state;
	th_passive_open(h, &p);
	assert_int_equal(tcp_send(h->w, p.c, "abc", 3), 3);
	struct th_out *o = pop(h);
	assert_int_equal(o->len, 3);
	assert_memory_equal(o->data, "abc", 3);
	assert_int_equal(o->nb_segs, 1); /* small payloads are copied into the header mbuf */
	assert_int_equal(tcp_send(h->w, p.c, "defg", 4), 4);
	o = pop(h);
	assert_int_equal(o->seq, p.ack + 3);
	assert_memory_equal(o->data, "defg", 4);
	p.ack += 7;
	th_peer_send(h, &p, F_ACK, NULL, 0);
	th_free(h);
}

static void test_send_backpressure_writable(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {.ts = true};
	static uint8_t buf[10000];

	(void)state;
	h->accept_tmpl.sndbuf = 4096;
	th_passive_open(h, &p);
	th_pattern(buf, sizeof(buf), 0);
	assert_int_equal(tcp_send(h->w, p.c, buf, sizeof(buf)), 4096);
	assert_int_equal(tcp_send_space(p.c), 0);
	assert_int_equal(tcp_send(h->w, p.c, buf, 10), 0);
	th_drain(h);
	assert_int_equal(p.app->ev[TCP_EV_WRITABLE], 0);
	p.ack += 1448;
	th_peer_send(h, &p, F_ACK, NULL, 0);
	assert_int_equal(p.app->ev[TCP_EV_WRITABLE], 1);
	assert_int_equal(tcp_send_space(p.c), 1448);
	/* Zero-copy send is all or nothing. */
	struct rte_mbuf *m = rte_pktmbuf_alloc(th_pool);
	memset(rte_pktmbuf_append(m, 1500), 'x', 1500);
	assert_int_equal(tcp_send_mbuf(h->w, p.c, m), -EAGAIN);
	p.ack += 2648;
	th_peer_send(h, &p, F_ACK, NULL, 0);
	assert_int_equal(p.app->ev[TCP_EV_WRITABLE], 2);
	assert_int_equal(tcp_send_mbuf(h->w, p.c, m), 0);
	struct th_out *o = pop(h);
	assert_int_equal(o->len, 1448);
	o = pop(h);
	assert_int_equal(o->len, 52);
	th_free(h);
}

static void test_proxy_zero_copy_forward(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer a = {.port = 40001, .ts = true}, b = {.port = 40002, .ts = true};
	uint8_t buf[2000];

	(void)state;
	th_passive_open(h, &a);
	th_passive_open(h, &b);
	th_pattern(buf, sizeof(buf), 0);
	th_peer_send(h, &a, F_ACK, buf, 1000);
	th_peer_send(h, &a, F_ACK, buf + 1000, 1000);
	th_drain(h);
	/* Received on a, sent on b: the same buffers, never copied. */
	struct rte_mbuf *m = tcp_recv(h->w, a.c, UINT32_MAX);
	assert_int_equal(rte_pktmbuf_pkt_len(m), 2000);
	assert_int_equal(tcp_send_mbuf(h->w, b.c, m), 0);
	struct th_out *o = pop(h);
	assert_int_equal(o->dport, 40002);
	assert_int_equal(o->len, 1448);
	assert_true(th_check_pattern(o->data, 1448, 0));
	o = pop(h);
	assert_int_equal(o->len, 552);
	assert_true(th_check_pattern(o->data, 552, 1448));
	b.ack += 2000;
	th_peer_send(h, &b, F_ACK, NULL, 0);
	th_none(h);
	th_free(h);
}

static void test_receive_window_backpressure(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {.ts = true};
	uint8_t buf[1448], out[8192];

	(void)state;
	h->accept_tmpl.rcvbuf = 8192;
	th_passive_open(h, &p);
	th_pattern(buf, sizeof(buf), 0);
	uint16_t last = 8192;
	/* The application does not read: each ACK offers less. */
	for (unsigned i = 0; i < 5; i++) {
		th_peer_send(h, &p, F_ACK, buf, 1448);
		th_advance(h, 40);
		struct th_out *o = pop(h);
		assert_true(o->wnd < last);
		assert_int_equal(o->wnd, 8192 - 1448 * (i + 1));
		last = o->wnd;
	}
	th_peer_send(h, &p, F_ACK, buf, last);
	th_advance(h, 40);
	struct th_out *o = pop(h);
	assert_int_equal(o->wnd, 0);
	/* Data into a closed window is refused and answered with the same zero window. */
	th_peer_send(h, &p, F_ACK, buf, 100);
	p.seq -= 100;
	o = pop(h);
	assert_int_equal(o->wnd, 0);
	assert_int_equal(o->ack, p.seq);
	assert_int_equal(th_drop(h, WEFT_DROP_TCP_OUT_OF_WINDOW), 1);
	assert_int_equal(tcp_rx_ready(p.c), 8192);
	/* Reading opens the window and says so at once. */
	assert_int_equal(tcp_recv_copy(h->w, p.c, out, 4096), 4096);
	o = pop(h);
	assert_int_equal(o->wnd, 4096);
	th_free(h);
}

static void test_out_of_order_reassembly(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {.ts = true, .sack = true};
	uint8_t buf[3000];
	uint32_t base;

	(void)state;
	th_passive_open(h, &p);
	p.app->auto_read = true;
	th_pattern(buf, sizeof(buf), 0);
	base = p.seq;
	p.seq = base + 1000;
	th_peer_send(h, &p, F_ACK, buf + 1000, 1000);
	struct th_out *o = pop(h);
	/* Out of order: a duplicate ACK at once (RFC 5681 4.2), with a SACK block (RFC 2018). */
	assert_int_equal(o->ack, base);
	assert_int_equal(o->nsack, 1);
	assert_int_equal(o->sack[0][0], base + 1000);
	assert_int_equal(o->sack[0][1], base + 2000);
	th_peer_send(h, &p, F_ACK, buf + 2000, 1000);
	o = pop(h);
	assert_int_equal(o->nsack, 1);
	assert_int_equal(o->sack[0][0], base + 1000);
	assert_int_equal(o->sack[0][1], base + 3000);
	assert_int_equal(p.app->rx_len, 0);
	p.seq = base;
	th_peer_send(h, &p, F_ACK, buf, 1000);
	o = pop(h); /* the gap is filled: ACK at once */
	assert_int_equal(o->ack, base + 3000);
	assert_int_equal(o->nsack, 0);
	assert_int_equal(p.app->rx_len, 3000);
	assert_true(th_check_pattern(p.app->rx, 3000, 0));
	assert_int_equal(th_stats(h)->ooo_segs, 2);
	/* A retransmission of old data is acknowledged and dropped. */
	p.seq = base;
	th_peer_send(h, &p, F_ACK, buf, 1000);
	o = pop(h);
	assert_int_equal(o->ack, base + 3000);
	assert_int_equal(th_drop(h, WEFT_DROP_TCP_OUT_OF_WINDOW), 1);
	th_free(h);
}

static void test_out_of_order_overlap(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {.sack = true};
	uint8_t buf[4000];
	uint32_t base;

	(void)state;
	th_passive_open(h, &p);
	p.app->auto_read = true;
	th_pattern(buf, sizeof(buf), 0);
	base = p.seq;
	/* [1500, 2500), then [1000, 3000) covering it, then [2500, 3500) overlapping the end. */
	p.seq = base + 1500;
	th_peer_send(h, &p, F_ACK, buf + 1500, 1000);
	p.seq = base + 1000;
	th_peer_send(h, &p, F_ACK, buf + 1000, 2000);
	p.seq = base + 2500;
	th_peer_send(h, &p, F_ACK, buf + 2500, 1000);
	th_drain(h);
	p.seq = base;
	th_peer_send(h, &p, F_ACK, buf, 1200);
	struct th_out *o = pop(h);
	assert_int_equal(o->ack, base + 3500);
	assert_int_equal(p.app->rx_len, 3500);
	assert_true(th_check_pattern(p.app->rx, 3500, 0));
	th_free(h);
}

static void test_out_of_order_bound(void **state)
{
	struct tcp_params prm;
	th_params(&prm);
	prm.ooo_max_segs = 3;
	struct th *h = th_new(&prm, 1);
	struct th_peer p = {.sack = true};
	uint8_t buf[100] = {0};
	uint32_t base;

	(void)state;
	th_passive_open(h, &p);
	base = p.seq;
	for (unsigned i = 0; i < 4; i++) {
		p.seq = base + 200 * (i + 1);
		th_peer_send(h, &p, F_ACK, buf, 100);
		assert_int_equal(pop(h)->ack, base);
	}
	assert_int_equal(th_drop(h, WEFT_DROP_TCP_OOO_FULL), 1);
	assert_int_equal(th_stats(h)->ooo_drops, 1);
	th_free(h);
}

static void test_out_of_order_fin(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {.sack = true};
	uint8_t buf[200] = {0};
	uint32_t base;

	(void)state;
	th_passive_open(h, &p);
	p.app->auto_read = true;
	base = p.seq;
	p.seq = base + 100;
	th_peer_send(h, &p, F_ACK | F_FIN, buf, 100);
	assert_int_equal(pop(h)->ack, base);
	assert_int_equal(p.app->ev[TCP_EV_PEER_CLOSED], 0);
	p.seq = base;
	th_peer_send(h, &p, F_ACK, buf, 100);
	struct th_out *o = pop(h);
	assert_int_equal(o->ack, base + 201); /* data and the FIN */
	assert_int_equal(p.app->ev[TCP_EV_PEER_CLOSED], 1);
	assert_int_equal(tcp_conn_state(p.c), TCP_CLOSE_WAIT);
	th_free(h);
}

static void test_data_v6_both_ways(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {.af = 6, .ts = true, .sack = true, .ws = true, .wscale = 1};
	uint8_t buf[3000];

	(void)state;
	th_passive_open(h, &p);
	p.app->auto_read = true;
	th_pattern(buf, sizeof(buf), 0);
	th_peer_send(h, &p, F_ACK, buf, 1200);
	assert_int_equal(p.app->rx_len, 1200);
	assert_int_equal(tcp_send(h->w, p.c, buf, 3000), 3000);
	struct th_out *o = pop(h);
	assert_int_equal(o->af, 6);
	assert_int_equal(o->len, 1428);
	assert_int_equal(o->ack, p.seq); /* data carries the ACK: no separate delayed ACK */
	o = pop(h);
	assert_int_equal(o->len, 1428);
	o = pop(h);
	assert_int_equal(o->len, 144);
	th_advance(h, 100);
	/* Nothing acked yet: the first RTO has not fired within 100 ms of a 200 ms minimum. */
	th_none(h);
	th_free(h);
}

int main(void)
{
	/* TCP_TEST=pattern runs the matching tests only. */
	if (getenv("TCP_TEST"))
		cmocka_set_test_filter(getenv("TCP_TEST"));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passive_open_all_options),
		cmocka_unit_test(test_passive_open_no_options),
		cmocka_unit_test(test_passive_open_v6),
		cmocka_unit_test(test_passive_open_mss_clamp_v6),
		cmocka_unit_test(test_active_open),
		cmocka_unit_test(test_active_open_syn_options_off),
		cmocka_unit_test(test_active_open_refused),
		cmocka_unit_test(test_active_open_syn_backoff),
		cmocka_unit_test(test_connect_errors),
		cmocka_unit_test(test_no_listener),
		cmocka_unit_test(test_no_connection),
		cmocka_unit_test(test_bad_segments),
		cmocka_unit_test(test_synack_retransmit_and_dup_syn),
		cmocka_unit_test(test_simultaneous_open),
		cmocka_unit_test(test_receive_in_order_and_delayed_ack),
		cmocka_unit_test(test_recv_zero_copy_chain),
		cmocka_unit_test(test_send_segments_and_acks),
		cmocka_unit_test(test_small_writes_copy),
		cmocka_unit_test(test_send_backpressure_writable),
		cmocka_unit_test(test_proxy_zero_copy_forward),
		cmocka_unit_test(test_receive_window_backpressure),
		cmocka_unit_test(test_out_of_order_reassembly),
		cmocka_unit_test(test_out_of_order_overlap),
		cmocka_unit_test(test_out_of_order_bound),
		cmocka_unit_test(test_out_of_order_fin),
		cmocka_unit_test(test_data_v6_both_ways),
	};
	return cmocka_run_group_tests_name("tcp", tests, th_group_setup, th_group_teardown);
}
