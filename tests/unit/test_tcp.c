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

#include <rte_random.h>
#include <rte_thash.h>

#include "dataplane/tcp/tcp_priv.h"
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
	inet_pton(AF_INET, "198.19.255.9", &dst.v4); /* no route, no gateway */
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

/*
 * The default bound is derived from the buffer: a 256 KiB receive buffer
 * holds 182 segments of 1448 bytes, so the queue takes that many plus 16
 * (a fixed 64 dropped two thirds of a window lost behind one hole).
 */
static void test_out_of_order_bound_default(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {.sack = true, .ts = true, .ws = true, .wscale = 7};
	static uint8_t buf[1448];
	uint32_t base;

	(void)state;
	assert_int_equal(h->params.ooo_max_segs, 0);
	th_passive_open(h, &p);
	p.app->auto_read = true;
	base = p.seq;
	/* Segment 0 lost; 1 to 180 arrive and are all kept. */
	for (unsigned i = 1; i <= 180; i++) {
		p.seq = base + 1448 * i;
		th_peer_send(h, &p, F_ACK, buf, sizeof(buf));
		assert_int_equal(pop(h)->ack, base);
	}
	assert_int_equal(th_stats(h)->ooo_segs, 180);
	assert_int_equal(th_stats(h)->ooo_drops, 0);
	assert_int_equal(tcp_ooo_max_segs(tcp_st(h->w), p.c), (262144 + 1447) / 1448 + 16);
	/* The hole fills: everything is delivered at once. */
	p.seq = base;
	th_peer_send(h, &p, F_ACK, buf, sizeof(buf));
	assert_int_equal(pop(h)->ack, base + 181 * 1448);
	assert_int_equal(p.app->rx_len, 181 * 1448);
	th_drain(h);
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
	/*
	 * Nothing acked yet: the first RTO has not fired within 100 ms of a
	 * 200 ms minimum, but one tail loss probe went out (RFC 8985 7.3): no
	 * new data, so the last segment's worth again, ending at SND.MAX.
	 */
	o = pop(h);
	assert_int_equal(o->seq + o->len, p.ack + 3000);
	assert_int_equal(th_stats(h)->tlp_probes, 1);
	th_none(h);
	th_free(h);
}


/* ---- closing ---- */

static void test_active_close_time_wait(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {.ts = true};

	(void)state;
	th_passive_open(h, &p);
	tcp_close(h->w, p.c);
	p.app->c = NULL;
	struct th_out *o = pop(h);
	assert_int_equal(o->flags, F_FIN | F_ACK);
	assert_int_equal(o->seq, p.ack);
	assert_int_equal(th_stats(h)->state[TCP_FIN_WAIT_1], 1);
	p.ack++;
	th_peer_send(h, &p, F_ACK, NULL, 0);
	th_none(h);
	assert_int_equal(th_stats(h)->state[TCP_FIN_WAIT_2], 1);
	th_peer_send(h, &p, F_FIN | F_ACK, NULL, 0);
	o = pop(h);
	assert_int_equal(o->flags, F_ACK);
	assert_int_equal(o->ack, p.seq);
	assert_int_equal(th_stats(h)->state[TCP_TIME_WAIT], 1);
	/* The peer lost our ACK and resends its FIN: ACK again, restart 2 MSL (RFC 9293 3.10.7.4). */
	th_advance(h, 5000);
	p.seq--;
	th_peer_send(h, &p, F_FIN | F_ACK, NULL, 0);
	o = pop(h);
	assert_int_equal(o->ack, p.seq);
	th_advance(h, 9999);
	assert_int_equal(th_stats(h)->state[TCP_TIME_WAIT], 1);
	th_advance(h, 1);
	assert_int_equal(th_stats(h)->state[TCP_TIME_WAIT], 0);
	assert_int_equal(p.app->ev[TCP_EV_CLOSED], 0); /* closed applications hear nothing */
	th_none(h);
	th_free(h);
}

static void test_passive_close(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {.ts = true};

	(void)state;
	th_passive_open(h, &p);
	th_peer_send(h, &p, F_FIN | F_ACK, NULL, 0);
	struct th_out *o = pop(h); /* a FIN is acknowledged at once */
	assert_int_equal(o->ack, p.seq);
	assert_int_equal(p.app->ev[TCP_EV_PEER_CLOSED], 1);
	assert_int_equal(tcp_conn_state(p.c), TCP_CLOSE_WAIT);
	/* Half closed: we may still send. */
	assert_int_equal(tcp_send(h->w, p.c, "bye", 3), 3);
	o = pop(h);
	assert_int_equal(o->len, 3);
	tcp_shutdown(h->w, p.c);
	o = pop(h);
	assert_int_equal(o->flags, F_FIN | F_ACK);
	assert_int_equal(o->seq, p.ack + 3);
	assert_int_equal(tcp_conn_state(p.c), TCP_LAST_ACK);
	assert_int_equal(tcp_send(h->w, p.c, "x", 1), -ENOTCONN);
	p.ack += 4;
	th_peer_send(h, &p, F_ACK, NULL, 0);
	th_none(h);
	assert_int_equal(p.app->ev[TCP_EV_CLOSED], 1);
	assert_null(p.app->c);
	for (unsigned s2 = 0; s2 < TCP_STATE_MAX; s2++)
		assert_int_equal(th_stats(h)->state[s2], 0);
	assert_int_equal(th_stats(h)->closed, 1);
	th_free(h);
}

static void test_half_close_keeps_receiving(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {.ts = true};
	uint8_t buf[100] = {7};

	(void)state;
	th_passive_open(h, &p);
	p.app->auto_read = true;
	tcp_shutdown(h->w, p.c);
	assert_int_equal(pop(h)->flags, F_FIN | F_ACK);
	p.ack++;
	th_peer_send(h, &p, F_ACK, NULL, 0);
	assert_int_equal(tcp_conn_state(p.c), TCP_FIN_WAIT_2);
	th_peer_send(h, &p, F_ACK, buf, 100);
	assert_int_equal(p.app->rx_len, 100);
	th_peer_send(h, &p, F_FIN | F_ACK, NULL, 0);
	assert_int_equal(pop(h)->ack, p.seq);
	assert_int_equal(p.app->ev[TCP_EV_PEER_CLOSED], 1);
	assert_int_equal(p.app->ev[TCP_EV_CLOSED], 1);
	assert_null(p.app->c);
	assert_int_equal(th_stats(h)->state[TCP_TIME_WAIT], 1);
	th_advance(h, 10000);
	assert_int_equal(th_stats(h)->state[TCP_TIME_WAIT], 0);
	th_free(h);
}

static void test_simultaneous_close(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {.ts = true};

	(void)state;
	th_passive_open(h, &p);
	tcp_shutdown(h->w, p.c);
	struct th_out *o = pop(h);
	assert_int_equal(o->flags, F_FIN | F_ACK);
	/* The peer's FIN crosses ours: it does not acknowledge our FIN (RFC 9293 3.6, figure 13). */
	th_peer_send(h, &p, F_FIN | F_ACK, NULL, 0);
	o = pop(h);
	assert_int_equal(o->ack, p.seq);
	assert_int_equal(tcp_conn_state(p.c), TCP_CLOSING);
	p.ack++;
	th_peer_send(h, &p, F_ACK, NULL, 0);
	th_none(h);
	assert_int_equal(p.app->ev[TCP_EV_CLOSED], 1);
	assert_int_equal(th_stats(h)->state[TCP_TIME_WAIT], 1);
	th_free(h);
}

static void test_closed_waits_for_reader(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {0};
	uint8_t buf[100] = {1}, out[100];

	(void)state;
	th_passive_open(h, &p);
	tcp_shutdown(h->w, p.c);
	th_drain(h);
	p.ack++;
	th_peer_send(h, &p, F_ACK, NULL, 0);
	th_peer_send(h, &p, F_ACK | F_FIN, buf, 100);
	th_drain(h);
	assert_int_equal(p.app->ev[TCP_EV_READABLE], 1);
	assert_int_equal(p.app->ev[TCP_EV_PEER_CLOSED], 1);
	/* Unread data: CLOSED waits so the application can still read it. */
	assert_int_equal(p.app->ev[TCP_EV_CLOSED], 0);
	/* An RST in TIME_WAIT takes nothing away (RFC 1337). */
	th_peer_send(h, &p, F_RST, NULL, 0);
	th_none(h);
	assert_int_equal(p.app->ev[TCP_EV_RESET], 0);
	assert_int_equal(tcp_recv_copy(h->w, p.c, out, sizeof(out)), 100);
	assert_int_equal(p.app->ev[TCP_EV_CLOSED], 0); /* never from inside an API call */
	th_advance(h, 1);
	assert_int_equal(p.app->ev[TCP_EV_CLOSED], 1);
	assert_null(p.app->c);
	th_free(h);
}

static void test_close_with_unread_data_resets(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {0};
	uint8_t buf[100] = {0};

	(void)state;
	th_passive_open(h, &p);
	th_peer_send(h, &p, F_ACK, buf, 100);
	tcp_close(h->w, p.c);
	p.app->c = NULL;
	struct th_out *o = pop(h);
	assert_int_equal(o->flags, F_RST | F_ACK);
	assert_int_equal(o->seq, p.ack);
	assert_int_equal(th_stats(h)->aborted, 1);
	assert_int_equal(th_stats(h)->state[TCP_ESTABLISHED], 0);
	th_free(h);
}

static void test_data_after_close_resets(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {0};
	uint8_t buf[10] = {0};

	(void)state;
	th_passive_open(h, &p);
	tcp_close(h->w, p.c);
	p.app->c = NULL;
	assert_int_equal(pop(h)->flags, F_FIN | F_ACK);
	p.ack++;
	th_peer_send(h, &p, F_ACK, NULL, 0);
	th_peer_send(h, &p, F_ACK, buf, 10);
	struct th_out *o = pop(h);
	/* RFC 9293 3.10.7.4, RFC 1122 4.2.2.13: nobody will read it. */
	assert_int_equal(o->flags, F_RST | F_ACK);
	assert_int_equal(th_drop(h, WEFT_DROP_TCP_AFTER_CLOSE), 1);
	assert_int_equal(th_stats(h)->rst_after_close, 1);
	assert_int_equal(th_stats(h)->state[TCP_FIN_WAIT_2], 0);
	th_free(h);
}

static void test_fin_wait2_orphan_timeout(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {0};

	(void)state;
	th_passive_open(h, &p);
	tcp_close(h->w, p.c);
	p.app->c = NULL;
	th_drain(h);
	p.ack++;
	th_peer_send(h, &p, F_ACK, NULL, 0);
	th_advance(h, 29999);
	assert_int_equal(th_stats(h)->state[TCP_FIN_WAIT_2], 1);
	th_advance(h, 1);
	assert_int_equal(th_stats(h)->state[TCP_FIN_WAIT_2], 0);
	th_none(h);
	th_free(h);
}

static void test_abort(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {0};

	(void)state;
	th_passive_open(h, &p);
	assert_int_equal(tcp_send(h->w, p.c, "abc", 3), 3);
	th_drain(h);
	tcp_abort(h->w, p.c);
	p.app->c = NULL;
	struct th_out *o = pop(h);
	assert_int_equal(o->flags, F_RST | F_ACK);
	assert_int_equal(o->seq, p.ack + 3);
	assert_int_equal(p.app->ev[TCP_EV_RESET], 0);
	th_free(h);
}

static void test_abort_from_callback(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {0};

	(void)state;
	th_passive_open(h, &p);
	p.app->abort_on_readable = true;
	th_peer_send(h, &p, F_ACK, "x", 1);
	struct th_out *o = pop(h);
	assert_int_equal(o->flags, F_RST | F_ACK);
	th_none(h);
	assert_int_equal(th_stats(h)->state[TCP_ESTABLISHED], 0);
	th_free(h);
}

/* ---- RST, SYN and ACK checks (RFC 5961) ---- */

static void test_rst_exact_resets(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {.ts = true};

	(void)state;
	th_passive_open(h, &p);
	th_peer_send(h, &p, F_RST, NULL, 0);
	th_none(h);
	assert_int_equal(p.app->ev[TCP_EV_RESET], 1);
	assert_null(p.app->c);
	assert_int_equal(th_stats(h)->resets_in, 1);
	assert_int_equal(th_stats(h)->state[TCP_ESTABLISHED], 0);
	th_free(h);
}

static void test_rst_in_window_challenge(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {.ts = true};

	(void)state;
	th_passive_open(h, &p);
	struct th_seg s;
	th_peer_seg(&p, &s, F_RST, NULL, 0);
	s.seq += 1000; /* in the window, not at RCV.NXT: maybe a blind attack */
	th_in(h, &s);
	struct th_out *o = pop(h);
	assert_int_equal(o->flags, F_ACK);
	assert_int_equal(o->ack, p.seq);
	assert_int_equal(th_drop(h, WEFT_DROP_TCP_BAD_RST), 1);
	assert_int_equal(th_stats(h)->challenge_acks, 1);
	assert_non_null(p.app->c);
	/* Out of the window: silently dropped. */
	s.seq = p.seq + 10000000;
	th_in(h, &s);
	th_none(h);
	assert_int_equal(th_drop(h, WEFT_DROP_TCP_BAD_RST), 2);
	assert_int_equal(tcp_conn_state(p.c), TCP_ESTABLISHED);
	th_free(h);
}

static void test_syn_on_established_challenge(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {0};

	(void)state;
	th_passive_open(h, &p);
	struct th_seg s = {.flags = F_SYN, .seq = 123, .wnd = 1000};
	th_in(h, &s);
	struct th_out *o = pop(h);
	assert_int_equal(o->flags, F_ACK);
	assert_int_equal(o->ack, p.seq);
	assert_int_equal(th_drop(h, WEFT_DROP_TCP_BAD_SYN) + th_drop(h, WEFT_DROP_TCP_OUT_OF_WINDOW), 1);
	assert_int_equal(tcp_conn_state(p.c), TCP_ESTABLISHED);
	/* In the window too. */
	s.seq = p.seq;
	th_in(h, &s);
	o = pop(h);
	assert_int_equal(o->ack, p.seq);
	assert_int_equal(th_drop(h, WEFT_DROP_TCP_BAD_SYN), 1);
	th_free(h);
}

static void test_challenge_ack_rate_limit(void **state)
{
	struct tcp_params prm;
	th_params(&prm);
	prm.challenge_ack_per_s = 2;
	struct th *h = th_new(&prm, 1);
	struct th_peer p = {0};

	(void)state;
	th_passive_open(h, &p);
	struct th_seg s = {.flags = F_SYN, .seq = p.seq, .wnd = 1000};
	for (unsigned i = 0; i < 4; i++)
		th_in(h, &s);
	assert_int_equal(th_out_count(h), 2);
	th_drain(h);
	assert_int_equal(th_stats(h)->challenge_acks_limited, 2);
	th_advance(h, 1000);
	th_in(h, &s);
	assert_int_equal(pop(h)->flags, F_ACK);
	th_free(h);
}

/* Open a passive connection from peer port `port` and bring it to state `st`. */
static void bring_to(struct th *h, struct th_peer *p, uint16_t port, enum tcp_state st)
{
	memset(p, 0, sizeof(*p));
	p->port = port;
	th_passive_open(h, p);
	switch (st) {
	case TCP_FIN_WAIT_1:
		tcp_shutdown(h->w, p->c);
		th_drain(h);
		break;
	case TCP_FIN_WAIT_2:
		tcp_shutdown(h->w, p->c);
		th_drain(h);
		p->ack++;
		th_peer_send(h, p, F_ACK, NULL, 0);
		break;
	case TCP_CLOSE_WAIT:
		th_peer_send(h, p, F_FIN | F_ACK, NULL, 0);
		th_drain(h);
		break;
	case TCP_LAST_ACK:
		th_peer_send(h, p, F_FIN | F_ACK, NULL, 0);
		tcp_shutdown(h->w, p->c);
		th_drain(h);
		break;
	case TCP_CLOSING:
		tcp_shutdown(h->w, p->c);
		th_peer_send(h, p, F_FIN | F_ACK, NULL, 0);
		th_drain(h);
		break;
	case TCP_TIME_WAIT:
		tcp_close(h->w, p->c);
		p->app->c = NULL;
		th_drain(h);
		p->ack++;
		th_peer_send(h, p, F_FIN | F_ACK, NULL, 0);
		th_drain(h);
		break;
	default:
		break;
	}
	assert_int_equal(th_stats(h)->state[st], 1);
}

static void test_rst_in_every_state(void **state)
{
	static const enum tcp_state sts[] = {TCP_ESTABLISHED, TCP_FIN_WAIT_1, TCP_FIN_WAIT_2, TCP_CLOSE_WAIT,
					     TCP_LAST_ACK,   TCP_CLOSING,    TCP_TIME_WAIT};
	struct th *h = th_new(NULL, 1);
	struct th_peer p;

	(void)state;
	for (unsigned i = 0; i < sizeof(sts) / sizeof(sts[0]); i++) {
		bring_to(h, &p, (uint16_t)(41000 + i), sts[i]);
		struct th_app *a = p.app;
		th_peer_send(h, &p, F_RST, NULL, 0);
		th_none(h);
		if (sts[i] == TCP_TIME_WAIT) {
			/* RFC 1337: no TIME-WAIT assassination. */
			assert_int_equal(th_stats(h)->state[TCP_TIME_WAIT], 1);
			assert_int_equal(th_drop(h, WEFT_DROP_TCP_BAD_RST), 1);
			continue;
		}
		assert_int_equal(th_stats(h)->state[sts[i]], 0);
		assert_int_equal(a->ev[TCP_EV_RESET], 1);
	}
	/* SYN-RECEIVED of a passive open: the half-open connection goes quietly. */
	struct th_seg s = {.flags = F_SYN, .seq = 900, .sport = 42000, .wnd = 1000};
	th_in(h, &s);
	th_drain(h);
	s.flags = F_RST;
	s.seq = 901;
	th_in(h, &s);
	th_none(h);
	assert_int_equal(th_stats(h)->state[TCP_SYN_RECEIVED], 0);
	assert_int_equal(th_stats(h)->resets_in, 7);
	th_free(h);
}

static void test_ack_checks(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {0};

	(void)state;
	th_passive_open(h, &p);
	struct th_seg s;
	/* Acknowledging data never sent: ACK and drop (RFC 9293 3.10.7.4 fifth). */
	th_peer_seg(&p, &s, F_ACK, NULL, 0);
	s.ack = p.ack + 1000;
	th_in(h, &s);
	assert_int_equal(pop(h)->ack, p.seq);
	/* Far below SND.UNA - MAX.SND.WND: challenge ACK (RFC 5961 5.2). */
	s.ack = p.ack - 1000000;
	th_in(h, &s);
	assert_int_equal(pop(h)->flags, F_ACK);
	assert_int_equal(th_drop(h, WEFT_DROP_TCP_BAD_ACK), 2);
	assert_int_equal(th_stats(h)->challenge_acks, 1);
	/* No ACK flag in a synchronized state. */
	th_peer_seg(&p, &s, 0, "a", 1);
	th_in(h, &s);
	assert_int_equal(th_drop(h, WEFT_DROP_TCP_BAD_FLAGS), 1);
	th_none(h);
	th_free(h);
}

/* ---- retransmission ---- */

static void test_rto_backoff_and_give_up(void **state)
{
	struct tcp_params prm;
	th_params(&prm);
	prm.max_retries = 4;
	struct th *h = th_new(&prm, 1);
	struct th_peer p = {0};
	uint8_t buf[100];
	const uint32_t waits[] = {200, 400, 800, 1600};

	(void)state;
	th_passive_open(h, &p);
	th_pattern(buf, sizeof(buf), 0);
	assert_int_equal(tcp_send(h->w, p.c, buf, 100), 100);
	assert_int_equal(pop(h)->len, 100);
	for (unsigned i = 0; i < 4; i++) {
		th_advance(h, waits[i] - 1);
		th_none(h);
		th_advance(h, 1);
		struct th_out *o = pop(h);
		/* The original bytes again, from the send queue. */
		assert_int_equal(o->seq, p.ack);
		assert_int_equal(o->len, 100);
		assert_true(th_check_pattern(o->data, 100, 0));
	}
	assert_int_equal(th_stats(h)->rto_fires, 4);
	struct tcp_conn_info ci;
	tcp_conn_info(p.c, &ci);
	assert_int_equal(ci.cwnd, ci.mss); /* loss window (RFC 5681 3.1) */
	th_advance(h, 3199);
	th_none(h);
	th_advance(h, 1);
	struct th_out *o = pop(h);
	assert_int_equal(o->flags, F_RST | F_ACK);
	assert_int_equal(p.app->ev[TCP_EV_RESET], 1);
	assert_int_equal(th_stats(h)->timeouts, 1);
	th_free(h);
}

static void test_rto_cap(void **state)
{
	struct tcp_params prm;
	th_params(&prm);
	prm.rto_max_ms = 1000;
	prm.max_retries = 6;
	struct th *h = th_new(&prm, 1);
	struct th_peer p = {0};
	const uint32_t waits[] = {200, 400, 800, 1000, 1000, 1000};

	(void)state;
	th_passive_open(h, &p);
	assert_int_equal(tcp_send(h->w, p.c, "abc", 3), 3);
	th_drain(h);
	for (unsigned i = 0; i < 6; i++) {
		th_advance(h, waits[i] - 1);
		th_none(h);
		th_advance(h, 1);
		assert_int_equal(pop(h)->len, 3);
	}
	/* An ACK ends the backoff. */
	p.ack += 3;
	th_peer_send(h, &p, F_ACK, NULL, 0);
	assert_int_equal(tcp_send(h->w, p.c, "d", 1), 1);
	th_drain(h);
	th_advance(h, 1000);
	assert_int_equal(pop(h)->len, 1);
	th_free(h);
}

static void test_rtt_estimation(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_seg syn = {.flags = F_SYN, .seq = 10, .wnd = 60000, .mss = 1460};
	struct tcp_conn_info ci;

	(void)state;
	th_in(h, &syn);
	uint32_t iss = pop(h)->seq;
	th_advance(h, 300);
	struct th_seg ack = {.flags = F_ACK, .seq = 11, .ack = iss + 1, .wnd = 60000};
	th_in(h, &ack);
	struct tcp_conn *c = h->apps[0].c;
	tcp_conn_info(c, &ci);
	/* RFC 6298 2.2: SRTT = R, RTTVAR = R/2, RTO = SRTT + 4 RTTVAR. */
	assert_int_equal(ci.srtt_us, 300000);
	assert_int_equal(ci.rttvar_us, 150000);
	assert_int_equal(ci.rto_ms, 900);
	assert_int_equal(tcp_send(h->w, c, "abc", 3), 3);
	th_drain(h);
	th_advance(h, 100);
	ack.ack += 3;
	th_in(h, &ack);
	tcp_conn_info(c, &ci);
	/* 2.3: RTTVAR = 3/4 * 150 + 1/4 * |300 - 100|, SRTT = 7/8 * 300 + 1/8 * 100. */
	assert_int_equal(ci.rttvar_us, 162500);
	assert_int_equal(ci.srtt_us, 275000);
	assert_int_equal(ci.rto_ms, 925);
	/* Karn: the ACK of a retransmitted segment gives no sample. */
	assert_int_equal(tcp_send(h->w, c, "d", 1), 1);
	th_drain(h);
	th_advance(h, 925);
	assert_int_equal(pop(h)->len, 1);
	th_advance(h, 50);
	ack.ack += 1;
	th_in(h, &ack);
	tcp_conn_info(c, &ci);
	assert_int_equal(ci.srtt_us, 275000);
	th_free(h);
}

static void send_and_pop(struct th *h, struct th_peer *p, unsigned nseg, uint32_t mss)
{
	static uint8_t buf[64 * 1460];
	th_pattern(buf, nseg * mss, 0);
	assert_int_equal(tcp_send(h->w, p->c, buf, nseg * mss), (int)(nseg * mss));
	for (unsigned i = 0; i < nseg; i++) {
		struct th_out *o = pop(h);
		assert_int_equal(o->seq, p->ack + i * mss);
		assert_int_equal(o->len, mss);
	}
	th_none(h);
}

static void test_fast_retransmit_newreno(void **state)
{
	struct tcp_params prm;
	th_params(&prm);
	prm.cc = TCP_CC_NEWRENO;
	struct th *h = th_new(&prm, 1);
	struct th_peer p = {.ts = true};
	const uint32_t mss = 1448;
	struct tcp_conn_info ci;

	(void)state;
	th_passive_open(h, &p);
	uint32_t base = p.ack;
	send_and_pop(h, &p, 10, mss);
	p.ack = base + mss;
	th_peer_send(h, &p, F_ACK, NULL, 0); /* segment 0 arrived, 1 was lost */
	for (unsigned i = 0; i < 2; i++) {
		th_peer_send(h, &p, F_ACK, NULL, 0);
		th_none(h);
	}
	th_peer_send(h, &p, F_ACK, NULL, 0); /* third duplicate: fast retransmit */
	struct th_out *o = pop(h);
	assert_int_equal(o->seq, base + mss);
	assert_int_equal(o->len, mss);
	assert_true(th_check_pattern(o->data, mss, mss));
	th_none(h);
	tcp_conn_info(p.c, &ci);
	assert_true(ci.in_recovery);
	assert_int_equal(ci.ssthresh, 9 * mss / 2);
	assert_int_equal(ci.cwnd, 9 * mss / 2 + 3 * mss);
	assert_int_equal(th_stats(h)->fast_retransmits, 1);
	assert_int_equal(th_stats(h)->newreno_recoveries, 1);
	assert_int_equal(th_stats(h)->dup_acks, 3);
	/* Partial ACK: segments 1-4 in, 5 lost too. RFC 6582: resend it at once. */
	p.ack = base + 5 * mss;
	th_peer_send(h, &p, F_ACK, NULL, 0);
	o = pop(h);
	assert_int_equal(o->seq, base + 5 * mss);
	th_none(h);
	assert_int_equal(th_stats(h)->partial_acks, 1);
	/* Full ACK: recovery ends, cwnd = min(ssthresh, FlightSize + SMSS) (RFC 6582 3.2 step 3). */
	p.ack = base + 10 * mss;
	th_peer_send(h, &p, F_ACK, NULL, 0);
	tcp_conn_info(p.c, &ci);
	assert_false(ci.in_recovery);
	assert_int_equal(ci.cwnd, 2 * mss);
	th_none(h);
	th_free(h);
}

static void test_sack_recovery_multiple_holes(void **state)
{
	struct tcp_params prm;
	th_params(&prm);
	prm.cc = TCP_CC_NEWRENO;
	struct th *h = th_new(&prm, 1);
	struct th_peer p = {.ts = true, .sack = true};
	const uint32_t mss = 1448;
	struct tcp_conn_info ci;
	struct th_seg s;

	(void)state;
	th_passive_open(h, &p);
	uint32_t b = p.ack;
#define S(i) (b + (i) * mss)
	send_and_pop(h, &p, 10, mss);
	/* Lost: 1, 4 and 7. */
	p.ack = S(1);
	th_peer_seg(&p, &s, F_ACK, NULL, 0);
	s.nsack = 1;
	s.sack[0][0] = S(2);
	s.sack[0][1] = S(4);
	th_in(h, &s);
	th_none(h);
	s.nsack = 2;
	s.sack[1][0] = S(2);
	s.sack[1][1] = S(4);
	s.sack[0][0] = S(5);
	s.sack[0][1] = S(7);
	th_in(h, &s);
	/*
	 * One duplicate ACK, but four segments SACKed above S1: more than
	 * (DupThresh - 1) * SMSS bytes, so IsLost(HighACK + 1) holds and
	 * recovery starts (RFC 6675 5 step 3). In recovery, with no
	 * reordering seen, RACK's reordering window is zero (RFC 8985 6.2):
	 * S5 and S6, sent after S4, arrived, so hole 4 is lost too, though
	 * RFC 6675's DupThresh rule alone would wait for a third segment.
	 * cwnd = ssthresh = 4.5 segments; pipe counts the retransmission and
	 * the three segments above S7 not deemed lost: nothing else fits.
	 */
	assert_int_equal(pop(h)->seq, S(1));
	th_none(h);
	s.nsack = 3;
	s.sack[2][0] = S(2);
	s.sack[2][1] = S(4);
	s.sack[1][0] = S(5);
	s.sack[1][1] = S(7);
	s.sack[0][0] = S(8);
	s.sack[0][1] = S(10);
	th_in(h, &s);
	/* Now hole 7 is lost and pipe drops to the retransmission: NextSeg gives holes 4 and 7 (rule 1). */
	assert_int_equal(pop(h)->seq, S(4));
	assert_int_equal(pop(h)->seq, S(7));
	th_none(h);
	tcp_conn_info(p.c, &ci);
	assert_true(ci.in_recovery);
	assert_int_equal(th_stats(h)->sack_recoveries, 1);
	p.ack = S(10);
	th_peer_send(h, &p, F_ACK, NULL, 0);
	tcp_conn_info(p.c, &ci);
	assert_false(ci.in_recovery);
	assert_int_equal(ci.cwnd, ci.ssthresh);
	th_none(h);
#undef S
	th_free(h);
}

/* A dup ACK carrying SACK blocks {start, end} in segment units above base b. */
static void sack_ack(struct th *h, struct th_peer *p, uint32_t b, uint32_t mss, unsigned n, const uint32_t (*blk)[2])
{
	struct th_seg s;
	th_peer_seg(p, &s, F_ACK, NULL, 0);
	s.nsack = (uint8_t)n;
	for (unsigned i = 0; i < n; i++) {
		s.sack[i][0] = b + blk[i][0] * mss;
		s.sack[i][1] = b + blk[i][1] * mss;
	}
	th_in(h, &s);
}

/*
 * 20 segments queued, the first 10 sent (NewReno: cwnd then ssthresh are
 * predictable); S1-S3 SACKed: recovery starts and S0 goes again.
 */
static struct th *recovery_with_queue(struct th_peer *p, uint32_t *b)
{
	struct tcp_params prm;
	th_params(&prm);
	prm.cc = TCP_CC_NEWRENO;
	struct th *h = th_new(&prm, 1);
	const uint32_t mss = 1448;
	static uint8_t buf[20 * 1448];

	th_passive_open(h, p);
	*b = p->ack;
	th_pattern(buf, sizeof(buf), 0);
	assert_int_equal(tcp_send(h->w, p->c, buf, sizeof(buf)), (int)sizeof(buf));
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(pop(h)->seq, *b + i * mss);
	th_none(h);
	const uint32_t sb[][2] = {{1, 4}};
	sack_ack(h, p, *b, mss, 1, sb);
	assert_int_equal(pop(h)->seq, *b);
	th_none(h);
	return h;
}

/* S0-S3 sent, S1 alone SACKed: too little for DupThresh. */
static struct th *one_sacked_above_hole(struct th_peer *p, uint32_t *b)
{
	struct th *h = th_new(NULL, 1);
	const uint32_t mss = 1448;
	struct tcp_conn_info ci;

	th_passive_open(h, p);
	*b = p->ack;
	send_and_pop(h, p, 4, mss);
	const uint32_t sb[][2] = {{1, 2}};
	sack_ack(h, p, *b, mss, 1, sb);
	th_none(h);
	tcp_conn_info(p->c, &ci);
	assert_false(ci.in_recovery);
	return h;
}

/*
 * After an RTO with SACK, the repair resends only what the peer lacks
 * (RFC 6675 5.1), slow-starting from one segment; go-back-N would resend
 * S2, S3 and S6, which the peer holds.
 */
static void test_rto_keeps_sack_scoreboard(void **state)
{
	struct tcp_params prm;
	th_params(&prm);
	prm.tlp = false;
	struct th *h = th_new(&prm, 1);
	struct th_peer p = {.ts = true, .sack = true};
	const uint32_t mss = 1448;
	struct tcp_conn_info ci;

	(void)state;
	th_passive_open(h, &p);
	uint32_t b = p.ack;
	send_and_pop(h, &p, 8, mss);
	for (unsigned i = 0; i < 5000 && th_out_count(h) == 0; i++)
		th_advance(h, 1);
	struct th_out *o = pop(h);
	assert_int_equal(o->seq, b); /* the RTO resends S0 */
	th_peer_saw(&p, o);          /* and the peer echoes it: no spurious-timeout undo */
	th_none(h);
	assert_int_equal(th_stats(h)->rto_fires, 1);
	/* The peer holds S0 now, and S2, S3, S6: it lacks S1, S4, S5, S7. */
	p.ack = b + mss;
	const uint32_t sb1[][2] = {{6, 7}, {2, 4}};
	sack_ack(h, &p, b, mss, 2, sb1);
	/* cwnd two segments (one plus the one acknowledged): the holes S1 and S4, not S2. */
	assert_int_equal(pop(h)->seq, b + 1 * mss);
	assert_int_equal(pop(h)->seq, b + 4 * mss);
	th_none(h);
	p.ack = b + 5 * mss;
	const uint32_t sb2[][2] = {{6, 7}};
	sack_ack(h, &p, b, mss, 1, sb2);
	assert_int_equal(pop(h)->seq, b + 5 * mss);
	assert_int_equal(pop(h)->seq, b + 7 * mss);
	th_none(h);
	p.ack = b + 8 * mss;
	th_peer_send(h, &p, F_ACK, NULL, 0);
	th_none(h);
	tcp_conn_info(p.c, &ci);
	assert_false(ci.in_recovery);
	assert_int_equal(th_stats(h)->rto_recoveries, 1);
	assert_int_equal(th_stats(h)->rto_fires, 1);
	assert_int_equal(th_stats(h)->retransmits, 5);
	th_free(h);
}

/*
 * A retransmission lost in SACK recovery is found when data sent after it
 * arrives (RFC 8985 6.2), and goes again at once instead of at the RTO.
 */
static void test_lost_retransmission(void **state)
{
	struct th_peer p = {.ts = true, .sack = true};
	const uint32_t mss = 1448;
	uint32_t b;

	(void)state;
	/* S0 lost: three segments SACKed above it start recovery; cwnd = ssthresh = 5 segments. */
	struct th *h = recovery_with_queue(&p, &b);
	/* All but S0 arrived: pipe is the retransmission, four new segments go. */
	const uint32_t sb2[][2] = {{1, 10}};
	sack_ack(h, &p, b, mss, 1, sb2);
	for (unsigned i = 10; i < 14; i++)
		assert_int_equal(pop(h)->seq, b + i * mss);
	th_none(h);
	assert_int_equal(th_stats(h)->lost_retransmits, 0);
	/* S10, sent after the retransmission, arrived; S0 did not: the retransmission was lost. */
	const uint32_t sb3[][2] = {{1, 11}};
	sack_ack(h, &p, b, mss, 1, sb3);
	assert_int_equal(pop(h)->seq, b);
	th_none(h);
	assert_int_equal(th_stats(h)->lost_retransmits, 1);
	assert_int_equal(th_stats(h)->rto_fires, 0);
	p.ack = b + 14 * mss;
	th_peer_send(h, &p, F_ACK, NULL, 0);
	th_drain(h);
	th_free(h);
}

/*
 * One segment SACKed above a hole is too little for DupThresh, but RACK
 * deems the hole lost once the reordering window (a quarter of the RTT, a
 * millisecond here) has passed (RFC 8985 6.3), long before the loss probe.
 */
static void test_rack_reordering_timer(void **state)
{
	struct th_peer p = {.ts = true, .sack = true};
	const uint32_t mss = 1448;
	struct tcp_conn_info ci;
	uint32_t b;

	(void)state;
	struct th *h = one_sacked_above_hole(&p, &b);
	th_advance(h, 1);
	assert_int_equal(pop(h)->seq, b);
	/* No rescue retransmission of the tail while loss probes are on: the probe guards it. */
	th_none(h);
	tcp_conn_info(p.c, &ci);
	assert_true(ci.in_recovery);
	assert_int_equal(th_stats(h)->rack_timeouts, 1);
	assert_int_equal(th_stats(h)->tlp_probes, 0);
	p.ack = b + 4 * mss;
	th_peer_send(h, &p, F_ACK, NULL, 0);
	th_none(h);
	tcp_conn_info(p.c, &ci);
	assert_false(ci.in_recovery);
	th_free(h);
}

/* Reordering seen (an original filled a hole late): the window grows, no recovery for it. */
static void test_rack_reordering_seen(void **state)
{
	struct th_peer p = {.ts = true, .sack = true};
	const uint32_t mss = 1448;
	struct tcp_conn_info ci;
	uint32_t b;

	(void)state;
	struct th *h = one_sacked_above_hole(&p, &b);
	/* S0 arrives late, before the window ends: reordering, not loss. */
	p.ack = b + 2 * mss;
	th_peer_send(h, &p, F_ACK, NULL, 0);
	th_advance(h, 2);
	th_none(h);
	tcp_conn_info(p.c, &ci);
	assert_false(ci.in_recovery);
	assert_int_equal(th_stats(h)->reordering_seen, 1);
	assert_int_equal(th_stats(h)->rack_timeouts, 0);
	assert_int_equal(th_stats(h)->retransmits, 0);
	p.ack = b + 4 * mss;
	th_peer_send(h, &p, F_ACK, NULL, 0);
	th_none(h);
	th_free(h);
}

/*
 * Two-way transfer: our ACK of the peer's data was lost, so the peer
 * resends that data, and the resent segment carries its newest ACK of
 * ours. The text is old and refused, but the ACK field counts (as 4.4BSD
 * does): our data is acknowledged now, not after our RTO.
 */
static void test_old_duplicate_ack_processed(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {.ts = true, .sack = true};
	const uint32_t mss = 1448;
	static const uint8_t data[100] = {1};
	struct tcp_conn_info ci;

	(void)state;
	th_passive_open(h, &p);
	uint32_t b = p.ack;
	send_and_pop(h, &p, 2, mss);
	th_peer_send(h, &p, F_ACK, data, sizeof(data));
	th_drain(h); /* our ACK of those 100 bytes: lost */
	p.seq -= sizeof(data);
	p.ack = b + 2 * mss;
	th_peer_send(h, &p, F_ACK, data, sizeof(data));
	struct th_out *o = pop(h);
	assert_int_equal(o->len, 0);
	assert_int_equal(o->ack, p.seq); /* the duplicate is answered at once */
	th_none(h);
	tcp_conn_info(p.c, &ci);
	assert_int_equal(ci.flight, 0);
	assert_int_equal(ci.bytes_out, 2 * mss);
	assert_int_equal(ci.bytes_in, sizeof(data));
	assert_int_equal(th_stats(h)->rto_fires, 0);
	th_free(h);
}

/*
 * In SACK recovery the ACK clock stops (the last ACKs were lost) with
 * cwnd spent: the probe timer still runs (as QUIC's PTO, RFC 9002 6.2) and
 * sends new data after 2 SRTT (10 ms at least), not the RTO after 200 ms.
 */
static void test_probe_in_recovery(void **state)
{
	struct th_peer p = {.ts = true, .sack = true};
	const uint32_t mss = 1448;
	struct tcp_conn_info ci;
	uint32_t b;

	(void)state;
	struct th *h = recovery_with_queue(&p, &b);
	tcp_conn_info(p.c, &ci);
	uint32_t cwnd = ci.cwnd;
	unsigned waited = 0;
	while (th_out_count(h) == 0 && waited < 300) {
		th_advance(h, 1);
		waited++;
	}
	assert_true(waited >= 10 && waited < 50);
	assert_int_equal(pop(h)->seq, b + 10 * mss); /* new data */
	th_none(h);
	assert_int_equal(th_stats(h)->tlp_probes, 1);
	assert_int_equal(th_stats(h)->rto_fires, 0);
	tcp_conn_info(p.c, &ci);
	assert_true(ci.in_recovery);
	assert_int_equal(ci.cwnd, cwnd);
	p.ack = b + 11 * mss;
	th_peer_send(h, &p, F_ACK, NULL, 0);
	th_drain(h);
	tcp_conn_info(p.c, &ci);
	assert_false(ci.in_recovery);
	th_free(h);
}

static void test_zero_window_probe(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {.ts = true, .wnd = 2000};
	static uint8_t buf[5000];

	(void)state;
	th_passive_open(h, &p);
	th_pattern(buf, sizeof(buf), 0);
	assert_int_equal(tcp_send(h->w, p.c, buf, 5000), 5000);
	assert_int_equal(pop(h)->len, 1448);
	/* 552 bytes of window left: sender SWS avoidance holds the runt (RFC 9293 3.8.6.2.1). */
	th_none(h);
	p.ack += 1448;
	p.wnd = 0;
	th_peer_send(h, &p, F_ACK, NULL, 0);
	th_none(h);
	th_advance(h, 200);
	struct th_out *o = pop(h);
	assert_int_equal(o->seq, p.ack - 1); /* a probe the peer must answer */
	assert_int_equal(o->len, 0);
	assert_int_equal(th_stats(h)->zero_window_probes, 1);
	th_peer_send(h, &p, F_ACK, NULL, 0);
	th_none(h);
	th_advance(h, 399);
	th_none(h);
	th_advance(h, 1); /* backed off: 400 ms */
	assert_int_equal(pop(h)->seq, p.ack - 1);
	p.wnd = 8000;
	th_peer_send(h, &p, F_ACK, NULL, 0);
	o = pop(h);
	assert_int_equal(o->seq, p.ack);
	assert_int_equal(o->len, 1448);
	assert_true(th_check_pattern(o->data, 1448, 1448));
	assert_int_equal(pop(h)->len, 1448);
	assert_int_equal(pop(h)->len, 5000 - 3 * 1448);
	th_none(h);
	th_free(h);
}

static void test_paws(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {.ts = true, .tsval = 5000};

	(void)state;
	th_passive_open(h, &p);
	p.tsval = 4000; /* older than TS.Recent: an old duplicate (RFC 7323 5) */
	th_peer_send(h, &p, F_ACK, "old", 3);
	p.seq -= 3;
	struct th_out *o = pop(h);
	assert_int_equal(o->ack, p.seq);
	assert_int_equal(th_drop(h, WEFT_DROP_TCP_PAWS), 1);
	assert_int_equal(th_stats(h)->paws_rejects, 1);
	assert_int_equal(tcp_rx_ready(p.c), 0);
	p.tsval = 5001;
	th_peer_send(h, &p, F_ACK, "new", 3);
	assert_int_equal(tcp_rx_ready(p.c), 3);
	th_advance(h, 40);
	o = pop(h);
	assert_int_equal(o->tsecr, 5001);
	/* One tick older than TS.Recent: reordered behind a newer segment, not an old duplicate. */
	p.tsval = 5000;
	th_peer_send(h, &p, F_ACK, "one", 3);
	assert_int_equal(tcp_rx_ready(p.c), 6);
	assert_int_equal(th_stats(h)->paws_rejects, 1);
	/* Two ticks older: refused. */
	p.tsval = 4999;
	th_peer_send(h, &p, F_ACK, "two", 3);
	assert_int_equal(tcp_rx_ready(p.c), 6);
	assert_int_equal(th_stats(h)->paws_rejects, 2);
	th_drain(h);
	th_free(h);
}

/* ---- SYN backlog and cookies ---- */

static void test_syncookie_roundtrip(void **state)
{
	struct tcp_params prm;
	th_params(&prm);
	prm.syn_backlog = 0;
	struct th *h = th_new(&prm, 1);
	struct th_seg syn = {.flags = F_SYN, .seq = 4000, .wnd = 30000, .mss = 1400, .has_ws = true, .ws = 5,
			     .sackok = true, .ts = true, .tsval = 777};
	struct tcp_conn_info ci;

	(void)state;
	th_in(h, &syn);
	struct th_out *o = pop(h);
	assert_int_equal(o->flags, F_SYN | F_ACK);
	assert_int_equal(o->mss, 1400);
	assert_true(o->has_ws && o->sackok && o->ts);
	assert_int_equal(o->ws, 3);
	assert_int_equal(o->tsecr, 777);
	assert_int_equal(th_stats(h)->syncookies_sent, 1);
	assert_int_equal(th_stats(h)->state[TCP_SYN_RECEIVED], 0); /* no state kept */
	struct th_seg ack = {.flags = F_ACK, .seq = 4001, .ack = o->seq + 1, .wnd = 1000, .ts = true, .tsval = 778,
			     .tsecr = o->tsval, .data = "hi", .len = 2};
	th_in(h, &ack);
	assert_int_equal(h->n_apps, 1);
	struct th_app *a = &h->apps[0];
	assert_int_equal(a->ev[TCP_EV_ESTABLISHED], 1);
	assert_int_equal(a->ev[TCP_EV_READABLE], 1);
	tcp_conn_info(a->c, &ci);
	assert_int_equal(ci.mss, 1400 - 12);
	assert_int_equal(ci.snd_wscale, 5);
	assert_int_equal(ci.rcv_wscale, 3);
	assert_true(ci.sack && ci.ts);
	assert_int_equal(ci.snd_wnd, 1000 << 5);
	assert_int_equal(th_stats(h)->syncookies_ok, 1);
	th_advance(h, 40);
	assert_int_equal(pop(h)->ack, 4003);
	th_free(h);
}

static void test_syncookie_without_timestamps(void **state)
{
	struct tcp_params prm;
	th_params(&prm);
	prm.syn_backlog = 0;
	struct th *h = th_new(&prm, 1);
	struct th_seg syn = {.flags = F_SYN, .seq = 4000, .wnd = 30000, .mss = 1460, .has_ws = true, .ws = 5,
			     .sackok = true};
	struct tcp_conn_info ci;

	(void)state;
	th_in(h, &syn);
	struct th_out *o = pop(h);
	/* Without timestamps nothing can carry window scale or SACK: neither is offered. */
	assert_int_equal(o->mss, 1460);
	assert_false(o->has_ws || o->sackok || o->ts);
	struct th_seg ack = {.flags = F_ACK, .seq = 4001, .ack = o->seq + 1, .wnd = 1000};
	th_in(h, &ack);
	tcp_conn_info(h->apps[0].c, &ci);
	assert_int_equal(ci.mss, 1460);
	assert_false(ci.sack || ci.ts);
	assert_int_equal(ci.snd_wscale, 0);
	th_free(h);
}

static void test_syncookie_invalid(void **state)
{
	struct tcp_params prm;
	th_params(&prm);
	prm.syn_backlog = 0;
	struct th *h = th_new(&prm, 1);
	struct th_seg syn = {.flags = F_SYN, .seq = 4000, .wnd = 30000, .mss = 1460};

	(void)state;
	th_in(h, &syn);
	uint32_t cookie = pop(h)->seq;
	struct th_seg ack = {.flags = F_ACK, .seq = 4001, .ack = cookie + 2, .wnd = 1000};
	th_in(h, &ack);
	struct th_out *o = pop(h);
	assert_int_equal(o->flags, F_RST);
	assert_int_equal(o->seq, cookie + 2);
	assert_int_equal(th_drop(h, WEFT_DROP_TCP_BAD_COOKIE), 1);
	assert_int_equal(th_stats(h)->syncookies_bad, 1);
	/* A cookie for another ISN (a different SYN) is no good either. */
	ack.ack = cookie + 1;
	ack.seq = 5001;
	th_in(h, &ack);
	assert_int_equal(pop(h)->flags, F_RST);
	/* Expired: cookies live two 64-second periods. */
	th_advance(h, 130000);
	ack.seq = 4001;
	th_in(h, &ack);
	assert_int_equal(pop(h)->flags, F_RST);
	assert_int_equal(h->n_apps, 0);
	th_free(h);
}

static void test_syn_backlog_without_cookies(void **state)
{
	struct tcp_params prm;
	th_params(&prm);
	prm.syn_backlog = 1;
	prm.syncookies = false;
	struct th *h = th_new(&prm, 1);
	struct th_seg syn = {.flags = F_SYN, .seq = 4000, .wnd = 30000};

	(void)state;
	th_in(h, &syn);
	assert_int_equal(pop(h)->flags, F_SYN | F_ACK);
	syn.sport = 40001;
	th_in(h, &syn);
	th_none(h);
	assert_int_equal(th_drop(h, WEFT_DROP_TCP_SYN_BACKLOG_FULL), 1);
	assert_int_equal(th_stats(h)->syn_backlog_full, 1);
	th_free(h);
}

static void test_connection_limit(void **state)
{
	struct tcp_params prm;
	th_params(&prm);
	prm.max_conns = 2;
	struct th *h = th_new(&prm, 1);
	struct th_peer a = {.port = 1001}, b = {.port = 1002};

	(void)state;
	th_passive_open(h, &a);
	th_passive_open(h, &b);
	struct th_seg syn = {.flags = F_SYN, .seq = 1, .sport = 1003, .wnd = 1000};
	th_in(h, &syn);
	assert_int_equal(pop(h)->flags, F_RST | F_ACK);
	assert_int_equal(th_drop(h, WEFT_DROP_TCP_CONN_LIMIT), 1);
	th_free(h);
}

/* ---- TIME_WAIT reuse (RFC 6191) ---- */

static void test_time_wait_reuse(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p;

	(void)state;
	bring_to(h, &p, 40000, TCP_TIME_WAIT);
	uint32_t old_next = p.ack;
	/* Timestamps are off here: a SYN below RCV.NXT cannot take the tuple. */
	struct th_seg syn = {.flags = F_SYN, .seq = p.seq - 10, .wnd = 1000};
	th_in(h, &syn);
	assert_int_equal(pop(h)->flags, F_ACK);
	assert_int_equal(th_stats(h)->state[TCP_TIME_WAIT], 1);
	/* Above RCV.NXT it can (RFC 1122 4.2.2.13). */
	syn.seq = p.seq + 100000;
	th_in(h, &syn);
	struct th_out *o = pop(h);
	assert_int_equal(o->flags, F_SYN | F_ACK);
	assert_true((int32_t)(o->seq - old_next) > 0);
	assert_int_equal(th_stats(h)->time_wait_reuse, 1);
	assert_int_equal(th_stats(h)->state[TCP_TIME_WAIT], 0);
	assert_int_equal(th_stats(h)->state[TCP_SYN_RECEIVED], 1);
	th_free(h);
}

static void test_time_wait_reuse_timestamps(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {.ts = true, .tsval = 9000};

	(void)state;
	th_passive_open(h, &p);
	tcp_close(h->w, p.c);
	p.app->c = NULL;
	th_drain(h);
	p.ack++;
	th_peer_send(h, &p, F_FIN | F_ACK, NULL, 0);
	th_drain(h);
	assert_int_equal(th_stats(h)->state[TCP_TIME_WAIT], 1);
	/* Same timestamp: not newer, the tuple stays in TIME_WAIT. */
	struct th_seg syn = {.flags = F_SYN, .seq = p.seq + 5, .wnd = 1000, .ts = true, .tsval = 9000};
	th_in(h, &syn);
	assert_int_equal(pop(h)->flags, F_ACK);
	/* Newer timestamp, even with an old sequence number: reuse (RFC 6191 2). */
	syn.seq = p.seq - 1000;
	syn.tsval = 9100;
	th_in(h, &syn);
	assert_int_equal(pop(h)->flags, F_SYN | F_ACK);
	assert_int_equal(th_stats(h)->time_wait_reuse, 1);
	th_free(h);
}

/*
 * Found by fuzz_tcp_segment: a SYN reusing a TIME_WAIT tuple freed the
 * connection while the application still held it (data unread, CLOSED not
 * delivered yet), leaving it a dangling pointer and no event. The tuple is
 * reused only once the application has seen CLOSED.
 */
static void test_time_wait_reuse_waits_for_application(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {.ts = true, .tsval = 9000};
	uint8_t data[100] = {0}, buf[200];

	(void)state;
	th_passive_open(h, &p);
	th_peer_send(h, &p, F_ACK | F_PSH, data, sizeof(data)); /* left unread */
	tcp_shutdown(h->w, p.c);
	th_drain(h);
	p.ack++;
	th_peer_send(h, &p, F_FIN | F_ACK, NULL, 0);
	th_drain(h);
	assert_int_equal(tcp_conn_state(p.c), TCP_TIME_WAIT);
	assert_int_equal(p.app->ev[TCP_EV_CLOSED], 0);
	/* A newer SYN on the tuple: not reused under the application. */
	struct th_seg syn = {.flags = F_SYN, .seq = p.seq + 100000, .wnd = 1000, .ts = true, .tsval = 9100};
	th_in(h, &syn);
	th_drain(h);
	assert_int_equal(th_stats(h)->time_wait_reuse, 0);
	assert_int_equal(p.app->ev[TCP_EV_RESET], 0);
	assert_int_equal(tcp_conn_state(p.c), TCP_TIME_WAIT);
	/* The reader drains: CLOSED comes with the next timer run, then the SYN's retry reuses the tuple. */
	assert_int_equal(tcp_recv_copy(h->w, p.c, buf, sizeof(buf)), sizeof(data));
	th_advance(h, 1);
	assert_int_equal(p.app->ev[TCP_EV_CLOSED], 1);
	assert_null(p.app->c);
	syn.tsval = 9200;
	th_in(h, &syn);
	assert_int_equal(pop(h)->flags, F_SYN | F_ACK);
	assert_int_equal(th_stats(h)->time_wait_reuse, 1);
	th_free(h);
}

/* ---- keepalive ---- */

static void test_keepalive(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {0};

	(void)state;
	th_passive_open(h, &p);
	/* Off by default. */
	th_advance(h, 5000);
	th_none(h);
	tcp_set_keepalive(h->w, p.c, 1000, 500, 3);
	th_advance(h, 999);
	th_none(h);
	th_advance(h, 1);
	struct th_out *o = pop(h);
	assert_int_equal(o->seq, p.ack - 1);
	assert_int_equal(o->len, 0);
	th_peer_send(h, &p, F_ACK, NULL, 0); /* alive */
	th_advance(h, 999);
	th_none(h);
	th_advance(h, 1);
	assert_int_equal(pop(h)->seq, p.ack - 1);
	/* Silence: two more probes, then the connection is reset. */
	th_advance(h, 500);
	assert_int_equal(pop(h)->seq, p.ack - 1);
	th_advance(h, 500);
	assert_int_equal(pop(h)->seq, p.ack - 1);
	th_advance(h, 500);
	assert_int_equal(pop(h)->flags, F_RST | F_ACK);
	assert_int_equal(p.app->ev[TCP_EV_RESET], 1);
	assert_int_equal(th_stats(h)->keepalive_probes, 4);
	assert_int_equal(th_stats(h)->timeouts, 1);
	th_free(h);
}

/* ---- congestion control ---- */

static void test_cubic_growth(void **state)
{
	struct tcp_conn *c = calloc(1, sizeof(*c));
	uint32_t cw[90];
	uint64_t t = 1000000;

	(void)state;
	c->mss = 1000;
	c->srtt_us = 100000;
	tcp_cc_cubic.init(c);
	assert_int_equal(c->cwnd, 10000);
	c->cwnd = 100000;
	c->snd_una = 0;
	c->snd_max = 100000;
	tcp_cc_cubic.on_loss(c, t);
	/* RFC 9438 4.6: beta 0.7. */
	assert_int_equal(c->cwnd, 70000);
	assert_int_equal(c->ssthresh, 70000);
	for (unsigned r = 0; r < 90; r++) {
		uint32_t acked = 0, w0 = c->cwnd;
		while (acked < w0) {
			tcp_cc_cubic.on_ack(c, 1000, t);
			acked += 1000;
		}
		cw[r] = c->cwnd;
		/* Never more than 1.5x per RTT (4.2), never down. */
		assert_true(c->cwnd >= w0);
		assert_true(c->cwnd <= w0 + w0 / 2 + 1000);
		t += 100000;
	}
	/* K = cbrt(W_max (1 - beta) / C) = cbrt(75) = 4.2 s: the plateau at W_max = 100 segments. */
	assert_true(cw[42] > 95000 && cw[42] < 105000);
	/* Concave before K, convex after: growth slows towards W_max, then speeds up. */
	uint32_t early = cw[5] - cw[0], mid = cw[44] - cw[39], late = cw[85] - cw[80];
	assert_true(early > mid);
	assert_true(late > mid);
	free(c);
}

static void test_newreno_growth_and_choice(void **state)
{
	struct tcp_conn *c = calloc(1, sizeof(*c));

	(void)state;
	c->mss = 1000;
	tcp_cc_newreno.init(c);
	c->ssthresh = 20000;
	tcp_cc_newreno.on_ack(c, 1000, 0); /* slow start: + min(acked, SMSS) */
	assert_int_equal(c->cwnd, 11000);
	c->cwnd = 20000;
	for (unsigned i = 0; i < 20; i++)
		tcp_cc_newreno.on_ack(c, 1000, 0); /* one cwnd of ACKs: + 1 SMSS */
	assert_int_equal(c->cwnd, 21000);
	free(c);

	struct tcp_params prm;
	th_params(&prm);
	prm.cc = TCP_CC_NEWRENO;
	struct th *h = th_new(&prm, 1);
	struct th_peer p = {0};
	struct tcp_conn_info ci;
	th_passive_open(h, &p);
	tcp_conn_info(p.c, &ci);
	assert_int_equal(ci.cc, TCP_CC_NEWRENO);
	th_free(h);
}

/* ---- active open across workers ---- */

static void test_source_port_lands_on_worker(void **state)
{
	struct th *h = th_new(NULL, 2);
	struct weft_ip dst = {.af = 4};
	uint8_t key[40];
	int err;

	(void)state;
	for (unsigned i = 0; i < sizeof(key); i++)
		key[i] = (i & 1) ? 0x5a : 0x6d;
	inet_pton(AF_INET, "198.18.0.2", &dst.v4);
	for (unsigned k = 0; k < 2; k++) {
		struct weft_worker *w = &h->workers[k];
		for (unsigned i = 0; i < 16; i++) {
			uint16_t dport = (uint16_t)(8000 + i);
			struct tcp_conn *c = tcp_connect(w, &dst, dport, th_event, NULL, &err);
			assert_non_null(c);
			struct th_out *o = pop(h);
			/* The reply as the NIC sees it: peer -> us. */
			uint32_t tuple[3] = {ntohl(dst.v4), ntohl(h->snap->net.ifaces[0].ip4[0]),
					     ((uint32_t)dport << 16) | o->sport};
			uint32_t hash = rte_softrss(tuple, 3, key);
			assert_int_equal((hash % 128) % 2, k);
			tcp_abort(w, c);
		}
	}
	th_none(h);
	th_free(h);
}

/* ---- output path details ---- */

static void test_linear_tx_port(void **state)
{
	struct tcp_params prm;
	th_params(&prm);
	prm.linear_tx_ports = 1;
	struct th *h = th_new(&prm, 1);
	struct th_peer p = {0};
	static uint8_t buf[3000];

	(void)state;
	th_passive_open(h, &p);
	th_pattern(buf, sizeof(buf), 0);
	assert_int_equal(tcp_send(h->w, p.c, buf, sizeof(buf)), sizeof(buf));
	for (unsigned i = 0; i < 3; i++) {
		struct th_out *o = pop(h);
		assert_int_equal(o->nb_segs, 1); /* af_xdp and friends: one segment per packet */
		assert_true(th_check_pattern(o->data, o->len, o->seq - p.ack));
	}
	th_free(h);
}

static void test_stat_names(void **state)
{
	(void)state;
	assert_int_equal(tcp_stat_count, (offsetof(struct tcp_stats, state)) / sizeof(uint64_t));
	for (unsigned i = 0; i < tcp_stat_count; i++) {
		assert_non_null(tcp_stat_name[i]);
		assert_non_null(tcp_stat_help[i]);
	}
	assert_string_equal(tcp_state_name(TCP_TIME_WAIT), "time_wait");
}


/* ---- regressions found by the lossy-wire runs ---- */

/* Active open to a peer whose ISN lies half the sequence space from zero: its data must be in our window. */
static void test_active_open_peer_isn_far(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {.port = 8080, .ws = true, .wscale = 2, .seq = 0x7ffe0000u};

	(void)state;
	th_active_open(h, &p);
	p.app->auto_read = true;
	th_peer_send(h, &p, F_ACK, "data", 4);
	assert_int_equal(p.app->rx_len, 4);
	th_peer_send(h, &p, F_FIN | F_ACK, NULL, 0);
	assert_int_equal(pop(h)->ack, p.seq);
	assert_int_equal(p.app->ev[TCP_EV_PEER_CLOSED], 1);
	th_free(h);
}

/*
 * A pure ACK at exactly RCV.NXT + RCV.WND (the peer filled our window with
 * data we have not all received yet) still carries its acknowledgment.
 */
static void test_ack_at_right_window_edge(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {0};

	(void)state;
	h->accept_tmpl.rcvbuf = 4000;
	th_passive_open(h, &p);
	assert_int_equal(tcp_send(h->w, p.c, "abcdef", 6), 6);
	th_drain(h);
	struct th_seg s;
	th_peer_seg(&p, &s, F_ACK, NULL, 0);
	s.seq = p.seq + 4000;
	s.ack = p.ack + 6;
	th_in(h, &s);
	th_none(h);
	struct tcp_conn_info ci;
	tcp_conn_info(p.c, &ci);
	assert_int_equal(ci.flight, 0);
	assert_int_equal(th_drop(h, WEFT_DROP_TCP_OUT_OF_WINDOW), 0);
	th_free(h);
}

/* A retransmission never runs past SND.MAX into data queued after it. */
static void test_retransmit_stops_at_snd_max(void **state)
{
	struct tcp_params prm;
	th_params(&prm);
	prm.cc = TCP_CC_NEWRENO;
	struct th *h = th_new(&prm, 1);
	const uint32_t mss = 1460;
	/* The peer's window ends exactly after the data sent first. */
	struct th_peer p = {.wnd = 9 * 1460 + 500};
	static uint8_t buf[20000];

	(void)state;
	th_passive_open(h, &p);
	uint32_t base = p.ack;
	/* Nine full segments and a 500-byte one fill the window... */
	assert_int_equal(tcp_send(h->w, p.c, buf, 9 * mss + 500), 9 * mss + 500);
	for (unsigned i = 0; i < 10; i++)
		pop(h);
	/* ...more data waits behind it. */
	assert_int_equal(tcp_send(h->w, p.c, buf, 5000), 5000);
	th_none(h);
	/* Segment 0 arrives, 1 is lost; the right edge does not move. */
	p.ack = base + mss;
	p.wnd = 8 * mss + 500;
	for (unsigned i = 0; i < 4; i++)
		th_peer_send(h, &p, F_ACK, NULL, 0);
	assert_int_equal(pop(h)->seq, base + mss); /* fast retransmit */
	th_none(h);
	/* Partial ACK up to the short segment: resend exactly its 500 bytes. */
	p.ack = base + 9 * mss;
	p.wnd = 500;
	th_peer_send(h, &p, F_ACK, NULL, 0);
	struct th_out *o = pop(h);
	assert_int_equal(o->seq, base + 9 * mss);
	assert_int_equal(o->len, 500);
	th_none(h);
	th_free(h);
}

/*
 * RFC 3042 limited transmit: the first two duplicate ACKs each let one new
 * segment out beyond cwnd, the third starts fast retransmit as before.
 * Without it a window this small would wait for the RTO whenever fewer
 * than three segments follow a loss.
 */
static void test_limited_transmit(void **state)
{
	struct tcp_params prm;
	th_params(&prm);
	prm.cc = TCP_CC_NEWRENO;
	struct th *h = th_new(&prm, 1);
	struct th_peer p = {.ts = true};
	const uint32_t mss = 1448;
	static uint8_t buf[14 * 1448];

	(void)state;
	th_passive_open(h, &p);
	uint32_t base = p.ack;
	assert_int_equal(tcp_send(h->w, p.c, buf, sizeof(buf)), (int)sizeof(buf));
	for (unsigned i = 0; i < 10; i++) /* the initial window */
		assert_int_equal(pop(h)->seq, base + i * mss);
	th_none(h);
	p.ack = base + mss;
	th_peer_send(h, &p, F_ACK, NULL, 0); /* segment 0 arrived: cwnd grows, 2 segments go */
	assert_int_equal(pop(h)->seq, base + 10 * mss);
	assert_int_equal(pop(h)->seq, base + 11 * mss);
	th_none(h);
	/* Segment 1 was lost: each of the first two duplicates sends one new segment. */
	th_peer_send(h, &p, F_ACK, NULL, 0);
	struct th_out *o = pop(h);
	assert_int_equal(o->seq, base + 12 * mss);
	assert_int_equal(o->len, mss);
	th_none(h);
	th_peer_send(h, &p, F_ACK, NULL, 0);
	assert_int_equal(pop(h)->seq, base + 13 * mss);
	th_none(h);
	assert_int_equal(th_stats(h)->limited_transmits, 2);
	/* The third: fast retransmit of segment 1, cwnd untouched by the two above. */
	th_peer_send(h, &p, F_ACK, NULL, 0);
	o = pop(h);
	assert_int_equal(o->seq, base + mss);
	assert_int_equal(th_stats(h)->fast_retransmits, 1);
	th_drain(h);
	th_free(h);
}

/*
 * RFC 6675 NextSeg() rule 4: the tail of the window was lost and no SACK
 * above it will ever mark it lost. Once per recovery, with room in cwnd and
 * nothing else to send, the segment holding the highest unSACKed octet is
 * retransmitted (a "rescue"), instead of waiting for the RTO.
 */
static void test_sack_rescue_retransmission(void **state)
{
	struct tcp_params prm;
	th_params(&prm);
	prm.cc = TCP_CC_NEWRENO;
	prm.tlp = false; /* recovery alone */
	struct th *h = th_new(&prm, 1);
	struct th_peer p = {.ts = true, .sack = true};
	const uint32_t mss = 1448;
	struct th_seg s;

	(void)state;
	th_passive_open(h, &p);
	uint32_t b = p.ack;
#define S(i) (b + (i) * mss)
	send_and_pop(h, &p, 6, mss);
	/* 0 lost, 1-3 arrive (SACKed), 4 and 5 lost: recovery, 0 resent, ssthresh = cwnd = 3 segments. */
	th_peer_seg(&p, &s, F_ACK, NULL, 0);
	s.nsack = 1;
	s.sack[0][0] = S(1);
	s.sack[0][1] = S(4);
	th_in(h, &s);
	assert_int_equal(pop(h)->seq, S(0));
	th_none(h);
	/* The retransmission arrives: a partial ACK, no SACK left, pipe = 2 segments (4 and 5). */
	p.ack = S(4);
	th_peer_send(h, &p, F_ACK, NULL, 0);
	struct th_out *o = pop(h);
	assert_int_equal(o->seq, S(5)); /* the rescue: the last segment */
	assert_int_equal(o->len, mss);
	th_none(h);
	assert_int_equal(th_stats(h)->rescue_retransmits, 1);
	/* One per recovery: HighACK (S4 then S5) is not above RescueRxt (S6). */
	p.ack = S(5);
	th_peer_send(h, &p, F_ACK, NULL, 0);
	th_none(h);
	assert_int_equal(th_stats(h)->rescue_retransmits, 1);
	p.ack = S(6);
	th_peer_send(h, &p, F_ACK, NULL, 0);
	th_none(h);
	struct tcp_conn_info ci;
	tcp_conn_info(p.c, &ci);
	assert_false(ci.in_recovery);
#undef S
	th_free(h);
}

/*
 * RFC 8985 7: a tail loss. The last segment of a burst is lost (the one
 * before it arrived, its ACK held by the peer's delayed ACK), so no
 * duplicate ACK comes. 2 SRTT after the last ACK (floor 10 ms) a probe
 * resends the last segment; its ACK echoes the probe's timestamp, so the
 * probe repaired a loss and the window is reduced once. Without the probe
 * the sender would sit idle until the 200 ms RTO.
 */
static void test_tail_loss_probe(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {.ts = true, .sack = true};
	const uint32_t mss = 1448;
	struct tcp_conn_info ci;

	(void)state;
	th_passive_open(h, &p);
	uint32_t b = p.ack;
	send_and_pop(h, &p, 5, mss);
	th_advance(h, 5);
	p.ack = b + 3 * mss; /* 0 to 2 acknowledged after 5 ms: SRTT 5 ms, PTO 10 ms */
	th_peer_send(h, &p, F_ACK, NULL, 0);
	th_none(h);
	th_advance(h, 9);
	th_none(h);
	th_advance(h, 1);
	struct th_out *o = pop(h);
	assert_int_equal(o->seq, b + 4 * mss);
	assert_int_equal(o->len, mss);
	th_none(h);
	th_peer_saw(&p, o);
	assert_int_equal(th_stats(h)->tlp_probes, 1);
	/* One probe outstanding at a time. */
	th_advance(h, 30);
	th_none(h);
	tcp_conn_info(p.c, &ci);
	uint32_t cwnd = ci.cwnd;
	/* The probe's ACK covers everything and echoes the probe: the loss was real. */
	p.ack = b + 5 * mss;
	th_peer_send(h, &p, F_ACK, NULL, 0);
	th_none(h);
	assert_int_equal(th_stats(h)->tlp_recoveries, 1);
	assert_int_equal(th_stats(h)->rto_fires, 0);
	tcp_conn_info(p.c, &ci);
	assert_true(ci.cwnd < cwnd);
	assert_int_equal(ci.cwnd, ci.ssthresh);
	th_free(h);
}

/* The probe itself was superfluous: the ACK echoes the original's timestamp, the window stays. */
static void test_tail_loss_probe_spurious(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {.ts = true, .sack = true};
	const uint32_t mss = 1448;
	struct tcp_conn_info ci;

	(void)state;
	th_passive_open(h, &p);
	uint32_t b = p.ack;
	th_advance(h, 1);
	send_and_pop(h, &p, 4, mss);
	uint32_t echo_original = p.ts_recent;
	th_advance(h, 5);
	p.ack = b + 2 * mss;
	th_peer_send(h, &p, F_ACK, NULL, 0);
	th_advance(h, 10);
	struct th_out *o = pop(h);
	assert_int_equal(o->seq, b + 3 * mss);
	tcp_conn_info(p.c, &ci);
	uint32_t cwnd = ci.cwnd, ssthresh = ci.ssthresh;
	/* The originals were only late: their ACK arrives, echoing a TSval older than the probe's. */
	th_peer_saw(&p, o);
	p.ts_recent = echo_original;
	p.ack = b + 4 * mss;
	th_peer_send(h, &p, F_ACK, NULL, 0);
	th_none(h);
	tcp_conn_info(p.c, &ci);
	assert_int_equal(ci.ssthresh, ssthresh);
	assert_true(ci.cwnd >= cwnd);
	assert_int_equal(th_stats(h)->tlp_recoveries, 0);
	th_free(h);
}

/*
 * Chains whose segments have odd lengths, both ways: DPDK 22.11's chain
 * checksum drops carries there (see tcp_chain_sum()).
 */
static void test_odd_length_chains_checksum(void **state)
{
	struct th *h = th_new(NULL, 1);
	struct th_peer p = {0};
	static uint8_t buf[3001];

	(void)state;
	th_passive_open(h, &p);
	p.app->auto_read = true;
	th_pattern(buf, sizeof(buf), 0);
	/* In: a segment split after 1 and after 1001 bytes of payload, odd offsets both. */
	struct th_seg s;
	th_peer_seg(&p, &s, F_ACK, buf, 1001);
	s.split = 1;
	th_in(h, &s);
	p.seq += 1001;
	th_peer_seg(&p, &s, F_ACK, buf + 1001, 2000);
	s.split = 1001;
	th_in(h, &s);
	p.seq += 2000;
	assert_int_equal(th_drop(h, WEFT_DROP_TCP_BAD_CHECKSUM), 0);
	assert_int_equal(p.app->rx_len, 3001);
	assert_true(th_check_pattern(p.app->rx, 3001, 0));
	th_drain(h);
	/* Out: a 1-byte and a 1500-byte mbuf, queued zero-copy behind a closed window... */
	p.wnd = 0;
	th_peer_send(h, &p, F_ACK, NULL, 0);
	struct rte_mbuf *a = rte_pktmbuf_alloc(th_pool), *b = rte_pktmbuf_alloc(th_pool);
	memcpy(rte_pktmbuf_append(a, 1), buf, 1);
	memcpy(rte_pktmbuf_append(b, 1500), buf + 1, 1500);
	assert_int_equal(rte_pktmbuf_chain(a, b), 0);
	assert_int_equal(tcp_send_mbuf(h->w, p.c, a), 0);
	th_none(h);
	/* ...then sent as one segment of two pieces, the first one byte long. */
	p.wnd = 60000;
	th_peer_send(h, &p, F_ACK, NULL, 0);
	/* th_pop() asserts the checksum of every segment it reads. */
	struct th_out *o = pop(h);
	assert_int_equal(o->nb_segs, 3);
	assert_int_equal(o->len, 1460);
	assert_true(th_check_pattern(o->data, o->len, o->seq - p.ack));
	th_drain(h);
	th_free(h);
}

/* ---- two stacks over a lossy wire ---- */

/*
 * Worker 0 and worker 1 each run a stack; what one sends is delivered to
 * the other after a delay with jitter (hence reordering), some of it lost
 * or duplicated. Both own 198.18.0.1, so a packet crosses the wire with its
 * addresses mirrored: worker 0's connection to 198.18.0.2:80 meets worker
 * 1's listener. The pseudo-header checksum does not care about the order of
 * the addresses.
 */
#define WIRE_MAX 8192
struct wire_pkt {
	struct rte_mbuf *m;
	unsigned to;
	uint64_t at;
};
static struct {
	struct wire_pkt q[WIRE_MAX];
	unsigned n;
	uint64_t rng;
	unsigned loss_pct10, dup_pct10; /* per mille */
	unsigned delay_ms, jitter_ms;
	uint64_t sent, lost;
} wire;

struct side {
	struct tcp_conn *c;
	size_t to_send, sent, recvd;
	bool shut, peer_closed, closed, reset;
	uint8_t buf[65536];
};
static struct side sides[2];

/* splitmix64: well mixed from the first draw, even for small seeds. */
static uint32_t wire_rand(void)
{
	uint64_t z = (wire.rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

static void wire_push(struct rte_mbuf *m, unsigned to, uint64_t now_ms)
{
	if (wire.n == WIRE_MAX) {
		rte_pktmbuf_free(m);
		return;
	}
	wire.q[wire.n++] = (struct wire_pkt){m, to, now_ms + wire.delay_ms + (wire.jitter_ms ? wire_rand() % wire.jitter_ms : 0)};
}

static void wire_out(struct weft_worker *w, uint16_t port, struct rte_mbuf *m, uint8_t af)
{
	uint64_t now = w->now / (TH_HZ / 1000);
	(void)port;
	(void)af;
	wire.sent++;
	if (getenv("TCP_WIRE_TRACE")) {
		const uint8_t *t = rte_pktmbuf_mtod_offset(m, const uint8_t *, 20);
		fprintf(stderr, "%llu w%u %s%s%s%s seq %u ack %u win %u len %u\n", (unsigned long long)now, w->id,
			t[13] & 2 ? "S" : "", t[13] & 1 ? "F" : "", t[13] & 4 ? "R" : "", t[13] & 16 ? "." : "",
			ntohl(*(const uint32_t *)(t + 4)), ntohl(*(const uint32_t *)(t + 8)), (unsigned)(t[14] << 8 | t[15]),
			rte_pktmbuf_pkt_len(m) - 20 - (t[12] >> 4) * 4);
	}
	if (wire_rand() % 1000 < wire.loss_pct10) {
		wire.lost++;
		if (getenv("TCP_WIRE_TRACE"))
			fprintf(stderr, "   lost\n");
		rte_pktmbuf_free(m);
		return;
	}
	if (wire_rand() % 1000 < wire.dup_pct10) {
		struct rte_mbuf *d = rte_pktmbuf_clone(m, th_pool);
		if (d)
			wire_push(d, w->id ^ 1, now);
	}
	wire_push(m, w->id ^ 1, now);
}

static void side_pump(struct weft_worker *w, struct side *sd)
{
	while (sd->c && sd->sent < sd->to_send) {
		size_t n = sd->to_send - sd->sent;
		if (n > sizeof(sd->buf))
			n = sizeof(sd->buf);
		th_pattern(sd->buf, n, sd->sent);
		int k = tcp_send(w, sd->c, sd->buf, n);
		assert_true(k >= 0);
		sd->sent += (size_t)k;
		if ((size_t)k < n)
			return; /* WRITABLE follows */
	}
	if (sd->c && !sd->shut && sd->sent == sd->to_send) {
		sd->shut = true;
		tcp_shutdown(w, sd->c);
	}
}

static void side_event(struct weft_worker *w, struct tcp_conn *c, enum tcp_event ev, void *user)
{
	struct side *sd = user;
	size_t n;

	(void)c;
	switch (ev) {
	case TCP_EV_ESTABLISHED:
	case TCP_EV_WRITABLE:
		side_pump(w, sd);
		break;
	case TCP_EV_READABLE:
		/* Alternate zero-copy and copying reads. */
		if (sd->recvd & 1) {
			while ((n = tcp_recv_copy(w, c, sd->buf, sizeof(sd->buf))) > 0) {
				assert_true(th_check_pattern(sd->buf, n, sd->recvd));
				sd->recvd += n;
			}
		} else {
			struct rte_mbuf *m;
			while ((m = tcp_recv(w, c, 40000)) != NULL) {
				uint32_t len = rte_pktmbuf_pkt_len(m);
				const uint8_t *p = rte_pktmbuf_read(m, 0, len, sd->buf);
				assert_non_null(p);
				assert_true(th_check_pattern(p, len, sd->recvd));
				sd->recvd += len;
				rte_pktmbuf_free(m);
			}
		}
		break;
	case TCP_EV_PEER_CLOSED:
		sd->peer_closed = true;
		break;
	case TCP_EV_CLOSED:
		sd->closed = true;
		sd->c = NULL;
		break;
	case TCP_EV_RESET: {
		struct tcp_conn_info ci;
		tcp_conn_info(c, &ci);
		fprintf(stderr, "RESET side %d now %llu state %d sent %zu recvd %zu flight %u snd_wnd %u cwnd %u rto %u rtx %u\n", (int)(sd - sides),
			(unsigned long long)(w->now / 1000000), ci.state, sd->sent, sd->recvd, ci.flight, ci.snd_wnd, ci.cwnd, ci.rto_ms, ci.retransmits);
		sd->reset = true;}
		sd->c = NULL;
		break;
	}
}

static int side_accept(struct weft_worker *w, const struct tcp_endpoints *ep, struct tcp_accept *out)
{
	(void)w;
	(void)ep;
	out->fn = side_event;
	out->user = &sides[1];
	return 0;
}

static void side_established_hook(struct weft_worker *w, struct tcp_conn *c, enum tcp_event ev, void *user)
{
	struct side *sd = user;
	if (ev == TCP_EV_ESTABLISHED)
		sd->c = c;
	side_event(w, c, ev, user);
}

static int side_accept_bind(struct weft_worker *w, const struct tcp_endpoints *ep, struct tcp_accept *out)
{
	side_accept(w, ep, out);
	out->fn = side_established_hook;
	return 0;
}

static void run_wire(const struct tcp_params *prm, unsigned loss, unsigned dup, unsigned jitter, size_t up,
		     size_t down, uint64_t seed)
{
	struct weft_ip dst = {.af = 4};
	int err;

	/* Deterministic secrets, ISNs and ports: a failing seed reproduces. */
	rte_srand(seed);
	struct th *h = th_new(prm, 2);
	memset(&wire, 0, sizeof(wire));
	memset(sides, 0, sizeof(sides));
	wire.rng = seed;
	wire.loss_pct10 = loss;
	wire.dup_pct10 = dup;
	wire.delay_ms = 5;
	wire.jitter_ms = jitter;
	for (unsigned k = 0; k < 2; k++)
		tcp_set_output(&h->workers[k], wire_out);
	tcp_set_accept(&h->workers[1], side_accept_bind);
	sides[0].to_send = up;
	sides[1].to_send = down;
	inet_pton(AF_INET, "198.18.0.2", &dst.v4);
	sides[0].c = tcp_connect(&h->workers[0], &dst, 80, side_event, &sides[0], &err);
	assert_non_null(sides[0].c);

	static struct wire_pkt due[WIRE_MAX];
	uint64_t ms;
	for (ms = 0; ms < 600000; ms++) {
		uint64_t now = h->w->now / (TH_HZ / 1000);
		/* Due packets leave in the order they were sent; jitter alone reorders. */
		unsigned nd = 0, keep = 0;
		for (unsigned i = 0; i < wire.n; i++) {
			if (wire.q[i].at > now)
				wire.q[keep++] = wire.q[i];
			else
				due[nd++] = wire.q[i];
		}
		wire.n = keep;
		for (unsigned i = 0; i < nd; i++) {
			struct wire_pkt pk = due[i];
			struct weft_ip src = {.af = 4}, loc = {.af = 4};
			inet_pton(AF_INET, "198.18.0.2", &src.v4);
			inet_pton(AF_INET, "198.18.0.1", &loc.v4);
			rte_pktmbuf_adj(pk.m, 20);
			tcp_input(&h->workers[pk.to], 0, pk.m, &src, &loc);
		}
		if (sides[0].closed && sides[1].closed && wire.n == 0)
			break;
		assert_false(sides[0].reset || sides[1].reset);
		th_advance(h, 1);
	}
	assert_true(sides[0].closed && sides[1].closed);
	if (getenv("TCP_WIRE_VERBOSE")) {
		const struct tcp_stats *a = tcp_stack_stats(&h->workers[0]), *b = tcp_stack_stats(&h->workers[1]);
		fprintf(stderr, "wire: %llu ms, %llu pkts, %llu lost; rtx %llu/%llu rto %llu/%llu sackrec %llu/%llu nrrec %llu/%llu ooo_drops %llu/%llu\n",
			(unsigned long long)ms, (unsigned long long)wire.sent, (unsigned long long)wire.lost,
			(unsigned long long)a->retransmits, (unsigned long long)b->retransmits, (unsigned long long)a->rto_fires,
			(unsigned long long)b->rto_fires, (unsigned long long)a->sack_recoveries,
			(unsigned long long)b->sack_recoveries, (unsigned long long)a->newreno_recoveries,
			(unsigned long long)b->newreno_recoveries, (unsigned long long)a->ooo_drops, (unsigned long long)b->ooo_drops);
	}
	assert_int_equal(sides[1].recvd, up);
	assert_int_equal(sides[0].recvd, down);
	/* TIME_WAIT runs out on whichever side closed first; then nothing is left. */
	th_advance(h, (prm ? prm->time_wait_ms : 10000) + 1000);
	assert_int_equal(wire.n, 0);
	for (unsigned k = 0; k < 2; k++) {
		const struct tcp_stats *st = tcp_stack_stats(&h->workers[k]);
		for (unsigned s2 = 0; s2 < TCP_STATE_MAX; s2++)
			assert_int_equal(st->state[s2], 0);
	}
	if (!loss && !jitter)
		assert_int_equal(tcp_stack_stats(&h->workers[0])->retransmits + tcp_stack_stats(&h->workers[1])->retransmits, 0);
	th_free(h);
}

/* TCP_WIRE_SEEDS=n runs n extra randomized rounds (not part of the regular suite). */
static void test_wire_seeds(void **state)
{
	const char *e = getenv("TCP_WIRE_SEEDS");
	const char *f = getenv("TCP_WIRE_FROM");
	unsigned n = e ? (unsigned)atoi(e) : 0;
	(void)state;
	for (unsigned i = f ? (unsigned)atoi(f) : 1; i <= n; i++) {
		if (getenv("TCP_WIRE_VERBOSE"))
			fprintf(stderr, "seed %u\n", i);
		struct tcp_params prm;
		th_params(&prm);
		prm.cc = (i & 1) ? TCP_CC_NEWRENO : TCP_CC_CUBIC;
		prm.opt_sack = (i & 2) != 0;
		prm.opt_ts = (i & 4) != 0;
		prm.opt_wscale = (i & 8) != 0;
		if (i & 16)
			prm.sndbuf = prm.rcvbuf = 16384;
		prm.ooo_max_segs = (i & 32) ? 4 : 64;
		prm.max_retries = 15; /* at 12% loss, 8 losses in a row do happen over thousands of rounds */
		/* TIME_WAIT must outlast the peer's FIN retransmissions, or a lost last ACK ends in RST. */
		prm.time_wait_ms = 60000;
		run_wire(&prm, (i * 7) % 120, (i * 3) % 30, i % 12, (i % 5 + 1) * 100000, (i % 3) * 70000, i);
	}
}

static void test_wire_clean(void **state)
{
	(void)state;
	run_wire(NULL, 0, 0, 0, 3 << 20, 1 << 20, 1);
}

static void test_wire_lossy_sack_cubic(void **state)
{
	(void)state;
	run_wire(NULL, 20, 5, 4, 2 << 20, 1 << 20, 0x1234567);
}

static void test_wire_lossy_newreno_no_options(void **state)
{
	struct tcp_params prm;
	(void)state;
	th_params(&prm);
	prm.cc = TCP_CC_NEWRENO;
	prm.opt_sack = prm.opt_ts = prm.opt_wscale = false;
	run_wire(&prm, 20, 5, 4, 1 << 20, 512 << 10, 0xabcdef);
}

static void test_wire_heavy_loss_small_buffers(void **state)
{
	struct tcp_params prm;
	(void)state;
	th_params(&prm);
	prm.sndbuf = prm.rcvbuf = 16384;
	prm.ooo_max_segs = 4;
	run_wire(&prm, 80, 20, 10, 512 << 10, 256 << 10, 42);
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
		cmocka_unit_test(test_out_of_order_bound_default),
		cmocka_unit_test(test_out_of_order_fin),
		cmocka_unit_test(test_data_v6_both_ways),
		cmocka_unit_test(test_active_close_time_wait),
		cmocka_unit_test(test_passive_close),
		cmocka_unit_test(test_half_close_keeps_receiving),
		cmocka_unit_test(test_simultaneous_close),
		cmocka_unit_test(test_closed_waits_for_reader),
		cmocka_unit_test(test_close_with_unread_data_resets),
		cmocka_unit_test(test_data_after_close_resets),
		cmocka_unit_test(test_fin_wait2_orphan_timeout),
		cmocka_unit_test(test_abort),
		cmocka_unit_test(test_abort_from_callback),
		cmocka_unit_test(test_rst_exact_resets),
		cmocka_unit_test(test_rst_in_window_challenge),
		cmocka_unit_test(test_syn_on_established_challenge),
		cmocka_unit_test(test_challenge_ack_rate_limit),
		cmocka_unit_test(test_rst_in_every_state),
		cmocka_unit_test(test_ack_checks),
		cmocka_unit_test(test_rto_backoff_and_give_up),
		cmocka_unit_test(test_rto_cap),
		cmocka_unit_test(test_rtt_estimation),
		cmocka_unit_test(test_fast_retransmit_newreno),
		cmocka_unit_test(test_sack_recovery_multiple_holes),
		cmocka_unit_test(test_limited_transmit),
		cmocka_unit_test(test_sack_rescue_retransmission),
		cmocka_unit_test(test_rto_keeps_sack_scoreboard),
		cmocka_unit_test(test_lost_retransmission),
		cmocka_unit_test(test_rack_reordering_timer),
		cmocka_unit_test(test_rack_reordering_seen),
		cmocka_unit_test(test_old_duplicate_ack_processed),
		cmocka_unit_test(test_probe_in_recovery),
		cmocka_unit_test(test_tail_loss_probe),
		cmocka_unit_test(test_tail_loss_probe_spurious),
		cmocka_unit_test(test_zero_window_probe),
		cmocka_unit_test(test_paws),
		cmocka_unit_test(test_syncookie_roundtrip),
		cmocka_unit_test(test_syncookie_without_timestamps),
		cmocka_unit_test(test_syncookie_invalid),
		cmocka_unit_test(test_syn_backlog_without_cookies),
		cmocka_unit_test(test_connection_limit),
		cmocka_unit_test(test_time_wait_reuse),
		cmocka_unit_test(test_time_wait_reuse_timestamps),
		cmocka_unit_test(test_time_wait_reuse_waits_for_application),
		cmocka_unit_test(test_keepalive),
		cmocka_unit_test(test_cubic_growth),
		cmocka_unit_test(test_newreno_growth_and_choice),
		cmocka_unit_test(test_source_port_lands_on_worker),
		cmocka_unit_test(test_linear_tx_port),
		cmocka_unit_test(test_stat_names),
		cmocka_unit_test(test_active_open_peer_isn_far),
		cmocka_unit_test(test_ack_at_right_window_edge),
		cmocka_unit_test(test_retransmit_stops_at_snd_max),
		cmocka_unit_test(test_odd_length_chains_checksum),
		cmocka_unit_test(test_wire_clean),
		cmocka_unit_test(test_wire_lossy_sack_cubic),
		cmocka_unit_test(test_wire_lossy_newreno_no_options),
		cmocka_unit_test(test_wire_heavy_loss_small_buffers),
		cmocka_unit_test(test_wire_seeds),
	};
	return cmocka_run_group_tests_name("tcp", tests, th_group_setup, th_group_teardown);
}
