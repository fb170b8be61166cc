/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_tcp.h>

#include "policy/netcfg.h"
#include "tests/unit/tcp_harness.h"

struct th *th_cur;
struct rte_mempool *th_pool;

/*
 * The dataplane library's weft_tx_flush (worker.c) calls the driver. The
 * stack's output goes through the capture seam, never a tx buffer, so this
 * is never reached; the fallback fails loudly if it is.
 */
__attribute__((weak)) void weft_tx_flush(struct weft_worker *w, uint16_t port)
{
	(void)w;
	(void)port;
	fail_msg("weft_tx_flush called: TCP output bypassed the capture seam");
}

int th_group_setup(void **state)
{
	static char args[][40] = {
		"test_tcp", "--no-huge", "-m", "128", "--no-pci", "--no-shconf", "--no-telemetry",
		"--log-level=*:error", "-l", "0", "--file-prefix", "",
	};
	enum { N = sizeof(args) / sizeof(args[0]) };
	char *argv[N];

	(void)state;
	/* --in-memory needs hugepages; a per-process prefix keeps parallel runs apart instead. */
	snprintf(args[N - 1], sizeof(args[0]), "weft_test_tcp_%d", (int)getpid());
	for (int i = 0; i < N; i++)
		argv[i] = args[i];
	if (rte_eal_init(N, argv) < 0) {
		fprintf(stderr, "rte_eal_init failed\n");
		return -1;
	}
	/* No per-lcore cache, so the leak check can count the pool itself. */
	th_pool = rte_pktmbuf_pool_create("th_pool", TH_POOL_SIZE, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	return th_pool == NULL ? -1 : 0;
}

int th_group_teardown(void **state)
{
	char dir[PATH_MAX];

	(void)state;
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	rte_mempool_free(th_pool);
	rte_eal_cleanup();
	rmdir(dir);
	return 0;
}

void th_params(struct tcp_params *p)
{
	tcp_params_default(p);
	p->max_conns = 256;
}

static void capture(struct weft_worker *w, uint16_t port, struct rte_mbuf *m, uint8_t af)
{
	struct th *h = th_cur;
	(void)w;
	(void)af;
	if (h->out_n == TH_MAX_OUT) {
		rte_pktmbuf_free(m);
		fail_msg("more than %u segments sent without the test reading them", TH_MAX_OUT);
	}
	unsigned i = (h->out_head + h->out_n) % TH_MAX_OUT;
	h->out[i] = m;
	h->out_port[i] = port;
	h->out_n++;
}

static int accept_hook(struct weft_worker *w, const struct tcp_endpoints *ep, struct tcp_accept *out)
{
	struct th *h = th_cur;
	(void)w;
	h->accepts++;
	if (h->refuse_all || ep->lport != TH_LISTEN_PORT)
		return -1;
	*out = h->accept_tmpl;
	out->fn = th_event;
	out->user = NULL;
	return 0;
}

static void add_addr(struct weft_port_cfg *p, int af, const char *a, uint8_t plen)
{
	struct weft_prefix *x = &p->addrs[p->n_addrs++];
	x->ip.af = (uint8_t)af;
	inet_pton(af == 4 ? AF_INET : AF_INET6, a, af == 4 ? (void *)&x->ip.v4 : (void *)x->ip.v6);
	x->plen = plen;
}

void th_drain(struct th *h);

static void th_release(struct th *h)
{
	for (unsigned i = 0; i < h->n_workers; i++)
		tcp_stack_free(&h->workers[i]);
	th_drain(h);
	free(h->workers);
	free(h->ctr);
	free(h->snap);
	free(h->apps);
	free(h);
	th_cur = NULL;
}

struct th *th_new(const struct tcp_params *p, unsigned n_workers)
{
	/* A failed test jumps out before th_free(): release its leftovers so the next one starts clean. */
	if (th_cur != NULL)
		th_release(th_cur);

	static const uint8_t macs[1][6] = {{0x02, 0, 0, 0, 0, 0x01}};
	struct weft_config *cfg = calloc(1, sizeof(*cfg));
	struct th *h = calloc(1, sizeof(*h));
	void *mem = NULL;
	char err[256];

	assert_non_null(cfg);
	assert_non_null(h);
	cfg->n_ports = 1;
	weft_port_cfg_defaults(&cfg->ports[0]);
	snprintf(cfg->ports[0].name, sizeof(cfg->ports[0].name), "p0");
	add_addr(&cfg->ports[0], 4, "198.18.0.1", 24);
	add_addr(&cfg->ports[0], 6, "2001:db8::1", 64);
	h->snap = calloc(1, sizeof(*h->snap));
	assert_non_null(h->snap);
	if (weft_net_compile(cfg, macs, &h->snap->net, err, sizeof(err)) != 0)
		fail_msg("weft_net_compile: %s", err);
	free(cfg);

	assert_int_equal(posix_memalign(&mem, 64, n_workers * sizeof(struct weft_worker)), 0);
	memset(mem, 0, n_workers * sizeof(struct weft_worker));
	h->workers = mem;
	assert_int_equal(posix_memalign(&mem, 64, n_workers * sizeof(struct weft_worker_counters)), 0);
	memset(mem, 0, n_workers * sizeof(struct weft_worker_counters));
	h->ctr = mem;
	h->n_workers = n_workers;
	h->apps = calloc(TH_MAX_APPS, sizeof(*h->apps));
	assert_non_null(h->apps);
	if (p)
		h->params = *p;
	else
		th_params(&h->params);
	th_cur = h;
	for (unsigned i = 0; i < n_workers; i++) {
		struct weft_worker *w = &h->workers[i];
		w->id = i;
		w->lcore = rte_lcore_id();
		w->n_workers = n_workers;
		w->peers = h->workers;
		w->pool = th_pool;
		w->ctr = &h->ctr[i];
		w->snap = h->snap;
		w->hz = TH_HZ;
		w->now = 1000 * TH_HZ; /* far from zero, like a real TSC */
		w->n_ports = 1;
		assert_int_equal(tcp_stack_init(w, &h->params), 0);
		tcp_set_output(w, capture);
		tcp_set_accept(w, accept_hook);
	}
	h->w = &h->workers[0];
	return h;
}

void th_drain(struct th *h)
{
	while (h->out_n) {
		rte_pktmbuf_free(h->out[h->out_head]);
		h->out_head = (h->out_head + 1) % TH_MAX_OUT;
		h->out_n--;
	}
}

void th_free(struct th *h)
{
	th_release(h);
	/* Every mbuf back: nothing leaked by the stack, the harness or the test. */
	assert_int_equal(rte_mempool_avail_count(th_pool), TH_POOL_SIZE);
}

void th_advance(struct th *h, uint32_t ms)
{
	for (uint32_t i = 0; i < ms; i++) {
		for (unsigned k = 0; k < h->n_workers; k++) {
			h->workers[k].now += TH_HZ / 1000;
			tcp_timers(&h->workers[k]);
		}
	}
}

uint64_t th_ms(const struct th *h)
{
	return h->w->now / (TH_HZ / 1000);
}

/* RFC 1071 sum, not complemented. */
static uint32_t sum16(const void *p, size_t n, uint32_t s)
{
	const uint8_t *b = p;
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint16_t tcp_sum(uint8_t af, const uint8_t *src, const uint8_t *dst, const uint8_t *seg, size_t len)
{
	uint32_t s = 0;
	size_t al = af == 4 ? 4 : 16;
	s = sum16(src, al, s);
	s = sum16(dst, al, s);
	s += IPPROTO_TCP;
	s += (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff);
	s = sum16(seg, len, s);
	return fold(s);
}

static void peer_addr(uint8_t af, struct weft_ip *peer, struct weft_ip *local)
{
	memset(peer, 0, sizeof(*peer));
	memset(local, 0, sizeof(*local));
	peer->af = local->af = af;
	if (af == 4) {
		inet_pton(AF_INET, "198.18.0.2", &peer->v4);
		inet_pton(AF_INET, "198.18.0.1", &local->v4);
	} else {
		inet_pton(AF_INET6, "2001:db8::2", peer->v6);
		inet_pton(AF_INET6, "2001:db8::1", local->v6);
	}
}

void th_in(struct th *h, const struct th_seg *s)
{
	uint8_t af = s->af ? s->af : 4, buf[2048], opt[40];
	unsigned on = 0, iplen = af == 4 ? 20 : 40, thl, total;
	struct weft_ip src, dst;
	struct rte_tcp_hdr *th;
	struct rte_mbuf *m;

	peer_addr(af, &src, &dst);
	if (s->mss) {
		opt[on++] = 2;
		opt[on++] = 4;
		opt[on++] = (uint8_t)(s->mss >> 8);
		opt[on++] = (uint8_t)s->mss;
	}
	if (s->has_ws) {
		opt[on++] = 1;
		opt[on++] = 3;
		opt[on++] = 3;
		opt[on++] = s->ws;
	}
	if (s->sackok) {
		opt[on++] = 1;
		opt[on++] = 1;
		opt[on++] = 4;
		opt[on++] = 2;
	}
	if (s->ts) {
		uint32_t v = htonl(s->tsval), e = htonl(s->tsecr);
		opt[on++] = 1;
		opt[on++] = 1;
		opt[on++] = 8;
		opt[on++] = 10;
		memcpy(opt + on, &v, 4);
		memcpy(opt + on + 4, &e, 4);
		on += 8;
	}
	if (s->nsack) {
		opt[on++] = 1;
		opt[on++] = 1;
		opt[on++] = 5;
		opt[on++] = (uint8_t)(2 + 8 * s->nsack);
		for (unsigned i = 0; i < s->nsack; i++) {
			uint32_t a = htonl(s->sack[i][0]), b = htonl(s->sack[i][1]);
			memcpy(opt + on, &a, 4);
			memcpy(opt + on + 4, &b, 4);
			on += 8;
		}
	}
	assert_true(on <= 40 && on % 4 == 0);
	thl = 20 + on;
	total = iplen + thl + s->len;
	assert_true(total <= sizeof(buf));
	memset(buf, 0, sizeof(buf));
	if (af == 4) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)buf;
		ip->version_ihl = 0x45;
		ip->total_length = htons((uint16_t)total);
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_TCP;
		ip->src_addr = src.v4;
		ip->dst_addr = dst.v4;
	} else {
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)buf;
		ip6->vtc_flow = htonl(6u << 28);
		ip6->payload_len = htons((uint16_t)(thl + s->len));
		ip6->proto = IPPROTO_TCP;
		ip6->hop_limits = 64;
		memcpy(ip6->src_addr, src.v6, 16);
		memcpy(ip6->dst_addr, dst.v6, 16);
	}
	th = (struct rte_tcp_hdr *)(buf + iplen);
	th->src_port = htons(s->sport ? s->sport : 40000);
	th->dst_port = htons(s->dport ? s->dport : TH_LISTEN_PORT);
	th->sent_seq = htonl(s->seq);
	th->recv_ack = htonl(s->ack);
	th->data_off = (uint8_t)((s->doff_words ? s->doff_words : thl / 4) << 4);
	th->tcp_flags = s->flags;
	th->rx_win = htons(s->wnd);
	memcpy(th + 1, opt, on);
	if (s->len)
		memcpy(buf + iplen + thl, s->data, s->len);
	uint16_t ck = (uint16_t)~tcp_sum(af, af == 4 ? (uint8_t *)&src.v4 : src.v6, af == 4 ? (uint8_t *)&dst.v4 : dst.v6,
				  (uint8_t *)th, thl + s->len);
	th->cksum = htons(ck);
	if (s->bad_cksum)
		th->cksum ^= 0x0101;

	m = rte_pktmbuf_alloc(th_pool);
	assert_non_null(m);
	if (s->split && s->split < s->len) {
		/* Headers and the first part of the payload, then the rest in a second segment. */
		unsigned first = iplen + thl + s->split;
		struct rte_mbuf *m2 = rte_pktmbuf_alloc(th_pool);
		assert_non_null(m2);
		memcpy(rte_pktmbuf_append(m, (uint16_t)first), buf, first);
		memcpy(rte_pktmbuf_append(m2, (uint16_t)(total - first)), buf + first, total - first);
		assert_int_equal(rte_pktmbuf_chain(m, m2), 0);
	} else {
		memcpy(rte_pktmbuf_append(m, (uint16_t)total), buf, total);
	}
	rte_pktmbuf_adj(m, (uint16_t)iplen);
	if (s->rx_cksum_good)
		m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	tcp_input(h->w, 0, m, &src, &dst);
}

unsigned th_out_count(const struct th *h)
{
	return h->out_n;
}

void th_pop(struct th *h, struct th_out *o)
{
	uint8_t buf[10000];
	struct rte_mbuf *m;
	unsigned iplen, thl;
	const uint8_t *tcp;

	if (h->out_n == 0)
		fail_msg("expected a segment from weft, none was sent");
	m = h->out[h->out_head];
	h->out_head = (h->out_head + 1) % TH_MAX_OUT;
	h->out_n--;
	memset(o, 0, sizeof(*o));
	o->nb_segs = m->nb_segs;
	assert_true(rte_pktmbuf_pkt_len(m) <= sizeof(buf));
	const uint8_t *p = rte_pktmbuf_read(m, 0, rte_pktmbuf_pkt_len(m), buf);
	assert_non_null(p);
	if (p != buf)
		memcpy(buf, p, rte_pktmbuf_pkt_len(m));
	unsigned plen = rte_pktmbuf_pkt_len(m);
	rte_pktmbuf_free(m);

	if ((buf[0] >> 4) == 4) {
		const struct rte_ipv4_hdr *ip = (const void *)buf;
		o->af = 4;
		iplen = 20;
		assert_int_equal(ntohs(ip->total_length), plen);
		assert_int_equal(ip->next_proto_id, IPPROTO_TCP);
		assert_int_equal(tcp_sum(4, (const uint8_t *)&ip->src_addr, (const uint8_t *)&ip->dst_addr, buf + 20,
					 plen - 20),
				 0xffff);
	} else {
		const struct rte_ipv6_hdr *ip6 = (const void *)buf;
		o->af = 6;
		iplen = 40;
		assert_int_equal((buf[0] >> 4), 6);
		assert_int_equal(ntohs(ip6->payload_len) + 40, plen);
		assert_int_equal(tcp_sum(6, ip6->src_addr, ip6->dst_addr, buf + 40, plen - 40), 0xffff);
	}
	tcp = buf + iplen;
	o->sport = (uint16_t)(tcp[0] << 8 | tcp[1]);
	o->dport = (uint16_t)(tcp[2] << 8 | tcp[3]);
	o->seq = ntohl(*(const uint32_t *)(tcp + 4));
	o->ack = ntohl(*(const uint32_t *)(tcp + 8));
	thl = (tcp[12] >> 4) * 4u;
	o->flags = tcp[13];
	o->wnd = (uint16_t)(tcp[14] << 8 | tcp[15]);
	assert_true(thl >= 20 && iplen + thl <= plen);
	o->len = plen - iplen - thl;
	memcpy(o->data, tcp + thl, o->len);
	for (unsigned i = 20; i < thl;) {
		uint8_t k = tcp[i];
		if (k == 0)
			break;
		if (k == 1) {
			i++;
			continue;
		}
		uint8_t l = tcp[i + 1];
		assert_true(l >= 2 && i + l <= thl);
		if (k == 2) {
			o->has_mss = true;
			o->mss = (uint16_t)(tcp[i + 2] << 8 | tcp[i + 3]);
		} else if (k == 3) {
			o->has_ws = true;
			o->ws = tcp[i + 2];
		} else if (k == 4) {
			o->sackok = true;
		} else if (k == 8) {
			o->ts = true;
			o->tsval = ntohl(*(const uint32_t *)(tcp + i + 2));
			o->tsecr = ntohl(*(const uint32_t *)(tcp + i + 6));
		} else if (k == 5) {
			o->nsack = (uint8_t)((l - 2) / 8);
			for (unsigned b = 0; b < o->nsack; b++) {
				o->sack[b][0] = ntohl(*(const uint32_t *)(tcp + i + 2 + 8 * b));
				o->sack[b][1] = ntohl(*(const uint32_t *)(tcp + i + 6 + 8 * b));
			}
		}
		i += l;
	}
}

void th_none(struct th *h)
{
	if (h->out_n) {
		struct th_out o;
		th_pop(h, &o);
		fail_msg("unexpected segment: flags 0x%02x seq %u ack %u len %u", o.flags, o.seq, o.ack, o.len);
	}
}

struct th_app *th_app_of(struct th *h, const struct tcp_conn *c)
{
	for (unsigned i = 0; i < h->n_apps; i++)
		if (h->apps[i].c == c)
			return &h->apps[i];
	return NULL;
}

struct th_app *th_app_new(struct th *h)
{
	assert_true(h->n_apps < TH_MAX_APPS);
	return &h->apps[h->n_apps++];
}

void th_event(struct weft_worker *w, struct tcp_conn *c, enum tcp_event ev, void *user)
{
	struct th *h = th_cur;
	struct th_app *a = th_app_of(h, c);

	(void)user;
	if (a == NULL) {
		assert_int_equal(ev, TCP_EV_ESTABLISHED);
		a = th_app_new(h);
		a->c = c;
	}
	a->ev[ev]++;
	switch (ev) {
	case TCP_EV_READABLE:
		if (a->abort_on_readable) {
			tcp_abort(w, c);
			a->c = NULL;
			return;
		}
		if (a->auto_read) {
			size_t n;
			while ((n = tcp_recv_copy(w, c, a->rx + a->rx_len, sizeof(a->rx) - a->rx_len)) > 0)
				a->rx_len += n;
		}
		break;
	case TCP_EV_PEER_CLOSED:
		if (a->close_on_peer_closed) {
			tcp_close(w, c);
			a->c = NULL;
		}
		break;
	case TCP_EV_RESET:
	case TCP_EV_CLOSED:
		a->c = NULL;
		break;
	default:
		break;
	}
}

void th_peer_seg(struct th_peer *p, struct th_seg *s, uint8_t flags, const void *data, uint32_t len)
{
	memset(s, 0, sizeof(*s));
	s->af = p->af ? p->af : 4;
	s->sport = p->port ? p->port : 40000;
	s->dport = p->lport ? p->lport : TH_LISTEN_PORT;
	s->flags = flags;
	s->seq = p->seq;
	s->ack = p->ack;
	s->wnd = p->wnd;
	s->data = data;
	s->len = len;
	if (p->ts) {
		s->ts = true;
		s->tsval = p->tsval;
		s->tsecr = p->ts_recent;
	}
}

void th_peer_send(struct th *h, struct th_peer *p, uint8_t flags, const void *data, uint32_t len)
{
	struct th_seg s;
	th_peer_seg(p, &s, flags, data, len);
	th_in(h, &s);
	p->seq += len + ((flags & 0x02) ? 1 : 0) + ((flags & 0x01) ? 1 : 0);
}

void th_peer_saw(struct th_peer *p, const struct th_out *o)
{
	if (o->ts)
		p->ts_recent = o->tsval;
}

static void peer_defaults(struct th_peer *p)
{
	if (!p->af)
		p->af = 4;
	if (!p->port)
		p->port = 40000;
	if (!p->wnd)
		p->wnd = 65535;
	if (!p->tsval)
		p->tsval = 5000;
	if (!p->seq)
		p->seq = 1000000;
}

void th_passive_open(struct th *h, struct th_peer *p)
{
	struct th_seg s;
	struct th_out o;
	unsigned before = h->n_apps;

	peer_defaults(p);
	p->lport = TH_LISTEN_PORT;
	th_peer_seg(p, &s, 0x02, NULL, 0);
	s.mss = 1460;
	s.sackok = p->sack;
	s.has_ws = p->ws;
	s.ws = p->wscale;
	s.tsecr = 0;
	th_in(h, &s);
	p->seq++;
	th_pop(h, &o);
	assert_int_equal(o.flags, 0x12);
	assert_int_equal(o.ack, p->seq);
	th_peer_saw(p, &o);
	p->ack = o.seq + 1;
	th_peer_send(h, p, 0x10, NULL, 0);
	assert_int_equal(h->n_apps, before + 1);
	p->app = &h->apps[before];
	p->c = p->app->c;
	assert_int_equal(p->app->ev[TCP_EV_ESTABLISHED], 1);
	assert_int_equal(tcp_conn_state(p->c), TCP_ESTABLISHED);
}

void th_active_open(struct th *h, struct th_peer *p)
{
	struct weft_ip dst, local;
	struct th_seg s;
	struct th_out o;
	int err = -1;

	peer_defaults(p);
	peer_addr(p->af, &dst, &local);
	p->app = th_app_new(h);
	p->c = tcp_connect(h->w, &dst, p->port, th_event, NULL, &err);
	assert_non_null(p->c);
	assert_int_equal(err, 0);
	p->app->c = p->c;
	th_pop(h, &o);
	assert_int_equal(o.flags, 0x02);
	assert_int_equal(o.dport, p->port);
	p->lport = o.sport;
	p->ack = o.seq + 1;
	th_peer_saw(p, &o);
	/* The SYN-ACK comes from the peer's listening port to weft's ephemeral one. */
	memset(&s, 0, sizeof(s));
	s.af = p->af;
	s.sport = p->port;
	s.dport = p->lport;
	s.flags = 0x12;
	s.seq = p->seq;
	s.ack = p->ack;
	s.wnd = p->wnd;
	s.mss = 1460;
	s.sackok = p->sack && o.sackok;
	s.has_ws = p->ws && o.has_ws;
	s.ws = p->wscale;
	if (p->ts && o.ts) {
		s.ts = true;
		s.tsval = p->tsval;
		s.tsecr = o.tsval;
	}
	th_in(h, &s);
	p->seq++;
	th_pop(h, &o);
	assert_int_equal(o.flags, 0x10);
	assert_int_equal(o.ack, p->seq);
	th_peer_saw(p, &o);
	assert_int_equal(p->app->ev[TCP_EV_ESTABLISHED], 1);
}

void th_pattern(uint8_t *buf, size_t n, size_t offset)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)((offset + i) * 131 + ((offset + i) >> 8));
}

bool th_check_pattern(const uint8_t *buf, size_t n, size_t offset)
{
	for (size_t i = 0; i < n; i++)
		if (buf[i] != (uint8_t)((offset + i) * 131 + ((offset + i) >> 8)))
			return false;
	return true;
}

uint64_t th_drop(const struct th *h, enum weft_drop why)
{
	return h->ctr[0].drops[why];
}

const struct tcp_stats *th_stats(const struct th *h)
{
	return tcp_stack_stats(h->w);
}
