/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the TCP stack (dataplane/tcp): arbitrary segments
 * fed to a listener and to established connections.
 *
 * The input is a script. Its first two bytes configure the run (address
 * family, what the peer offers in its SYN, buffer sizes, congestion
 * control, a tiny SYN backlog so cookies are used); then, in modes 1 to 3,
 * a connection is opened properly (passive or active) through the stack's
 * output seam (tcp_set_output), so the fuzzed segments meet a connection
 * in ESTABLISHED and not only the listener. The rest is a list of
 * operations:
 *
 *   segment   flags, sequence and acknowledgment numbers (relative to the
 *             connection's own variables, or absolute), window, payload
 *             length, a timestamp option that echoes weft's clock, SACK
 *             blocks relative to SND.UNA, raw option bytes, a payload split
 *             over two mbufs, a bad checksum or a bad data offset;
 *             addressed to the connection, to the listener from another
 *             port, or to a closed port. The IPv4/IPv6 header is built
 *             around it and the TCP checksum is valid unless asked not to be.
 *   advance   move the virtual clock (up to minutes) running the timer
 *             wheel, so retransmission, delayed-ACK, persist, keepalive and
 *             TIME_WAIT timers fire.
 *   app       the application sends, reads, shuts down, closes, aborts,
 *             turns keepalive on, or opens another connection.
 *
 * Checked: no crash and no sanitizer report; after every operation the
 * sequence variables and queues of each live connection are consistent;
 * every segment weft sends is well formed; at the end the stack is freed
 * and every mbuf is back in the pool (no leak).
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_tcp.h>

#include "dataplane/tcp/tcp_priv.h"
#include "policy/netcfg.h"
#include "policy/snapshot.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x)) {                                                                        \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x);     \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define HZ 1000000000ull
#define POOL_SIZE 2047
#define LISTEN_PORT 80
#define PEER_PORT 40000
#define MAX_CONNS 16
#define MAX_OPS 256

static struct rte_mempool *pool;
static bool trace; /* FUZZ_TCP_TRACE=1: print what happens, to read a crash */
static struct weft_snapshot *snap;
static struct weft_ip peer_ip[2], local_ip[2]; /* [0] IPv4, [1] IPv6 */

/* One run. */
static struct {
	struct weft_worker *w;
	struct weft_worker_counters *ctr;
	uint8_t af;
	/* Connections the application knows, NULL once the stack freed them. */
	struct tcp_conn *conn[MAX_CONNS];
	unsigned n_conn;
	unsigned untracked; /* connections beyond conn[] */
	struct tcp_conn *main_c; /* the connection segments go to by default */
	uint16_t main_lport, main_rport;
	/* The peer's view, from what weft sent on the main tuple. */
	uint32_t weft_seq_end; /* weft's highest seq + len (+ SYN/FIN) */
	uint32_t weft_ack;     /* weft's last ACK field */
	uint32_t weft_tsval;
	uint32_t peer_tsval;
	uint8_t read_mode;     /* 0: tcp_recv_copy, 1: tcp_recv chains, 2: leave it queued */
	bool close_on_fin;
	unsigned out_count;
} R;

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return ntohl(v);
}

static const uint8_t *in_p;
static size_t in_n;

static unsigned take(size_t n, void *dst)
{
	size_t k = n < in_n ? n : in_n;
	memset(dst, 0, n);
	memcpy(dst, in_p, k);
	in_p += k;
	in_n -= k;
	return (unsigned)k;
}
static uint8_t u8(void)
{
	uint8_t v;
	take(1, &v);
	return v;
}
static uint16_t u16(void)
{
	uint8_t b[2];
	take(2, b);
	return (uint16_t)(b[0] << 8 | b[1]);
}
static uint32_t u32(void)
{
	uint8_t b[4];
	take(4, b);
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void add_addr(struct weft_port_cfg *p, int af, const char *a, uint8_t plen)
{
	struct weft_prefix *x = &p->addrs[p->n_addrs++];
	x->ip.af = (uint8_t)af;
	inet_pton(af == 4 ? AF_INET : AF_INET6, a, af == 4 ? (void *)&x->ip.v4 : (void *)x->ip.v6);
	x->plen = plen;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char args[][40] = {
		"fuzz_tcp", "--no-huge", "-m", "64", "--no-pci", "--no-shconf", "--no-telemetry",
		"--log-level=*:error", "-l", "0", "--file-prefix", "",
	};
	enum { N = sizeof(args) / sizeof(args[0]) };
	static const uint8_t macs[1][6] = {{0x02, 0, 0, 0, 0, 0x01}};
	char *eal_argv[N], err[256];

	(void)argc;
	(void)argv;
	trace = getenv("FUZZ_TCP_TRACE") != NULL;
	snprintf(args[N - 1], sizeof(args[0]), "weft_fuzz_tcp_%d", (int)getpid());
	for (int i = 0; i < N; i++)
		eal_argv[i] = args[i];
	if (rte_eal_init(N, eal_argv) < 0) {
		fprintf(stderr, "rte_eal_init failed\n");
		abort();
	}
	/* No per-lcore cache: the leak check counts the pool itself. */
	pool = rte_pktmbuf_pool_create("fuzz_pool", POOL_SIZE, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	CHECK(pool != NULL);

	struct weft_config *cfg = calloc(1, sizeof(*cfg));
	snap = calloc(1, sizeof(*snap));
	CHECK(cfg != NULL && snap != NULL);
	cfg->n_ports = 1;
	weft_port_cfg_defaults(&cfg->ports[0]);
	snprintf(cfg->ports[0].name, sizeof(cfg->ports[0].name), "p0");
	add_addr(&cfg->ports[0], 4, "198.18.0.1", 24);
	add_addr(&cfg->ports[0], 6, "2001:db8::1", 64);
	if (weft_net_compile(cfg, macs, &snap->net, err, sizeof(err)) != 0) {
		fprintf(stderr, "weft_net_compile: %s\n", err);
		abort();
	}
	free(cfg);

	peer_ip[0].af = local_ip[0].af = 4;
	inet_pton(AF_INET, "198.18.0.2", &peer_ip[0].v4);
	inet_pton(AF_INET, "198.18.0.1", &local_ip[0].v4);
	peer_ip[1].af = local_ip[1].af = 6;
	inet_pton(AF_INET6, "2001:db8::2", peer_ip[1].v6);
	inet_pton(AF_INET6, "2001:db8::1", local_ip[1].v6);
	return 0;
}

/* RFC 1071 sum, not complemented. */
static uint32_t sum16(const uint8_t *b, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		s += (uint32_t)b[n - 1] << 8;
	return s;
}

static uint16_t l4_sum(uint8_t af, const uint8_t *src, const uint8_t *dst, const uint8_t *seg, size_t len)
{
	size_t al = af == 4 ? 4 : 16;
	uint32_t s = sum16(src, al, 0);
	s = sum16(dst, al, s);
	s += IPPROTO_TCP + (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff);
	s = sum16(seg, len, s);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static bool is_main_tuple(uint16_t sport, uint16_t dport)
{
	return sport == R.main_lport && dport == R.main_rport;
}

/* The output seam: check what weft sends, note what the peer would learn, free it. */
static void capture(struct weft_worker *w, uint16_t port, struct rte_mbuf *m, uint8_t af)
{
	static uint8_t buf[10000];
	uint32_t plen = rte_pktmbuf_pkt_len(m);
	unsigned iplen = af == 4 ? 20 : 40;

	(void)w;
	CHECK(port == 0);
	CHECK(af == 4 || af == 6);
	CHECK(plen <= sizeof(buf) && plen >= iplen + 20);
	const uint8_t *p = rte_pktmbuf_read(m, 0, plen, buf);
	CHECK(p != NULL);
	if (p != buf)
		memcpy(buf, p, plen);
	rte_pktmbuf_free(m);
	R.out_count++;
	if (trace)
		fprintf(stderr, "  out: %u bytes\n", plen);

	const uint8_t *tcp = buf + iplen;
	if (af == 4) {
		const struct rte_ipv4_hdr *ip = (const void *)buf;
		CHECK((buf[0] >> 4) == 4);
		CHECK(ntohs(ip->total_length) == plen);
		CHECK(l4_sum(4, (const uint8_t *)&ip->src_addr, (const uint8_t *)&ip->dst_addr, tcp, plen - 20) ==
		      0xffff);
	} else {
		const struct rte_ipv6_hdr *ip6 = (const void *)buf;
		CHECK((buf[0] >> 4) == 6);
		CHECK(ntohs(ip6->payload_len) + 40u == plen);
		CHECK(l4_sum(6, ip6->src_addr, ip6->dst_addr, tcp, plen - 40) == 0xffff);
	}
	unsigned thl = (tcp[12] >> 4) * 4u;
	CHECK(thl >= 20 && iplen + thl <= plen);
	uint16_t sport = (uint16_t)(tcp[0] << 8 | tcp[1]), dport = (uint16_t)(tcp[2] << 8 | tcp[3]);
	uint8_t flags = tcp[13];
	uint32_t seq = rd32(tcp + 4), ack = rd32(tcp + 8);
	uint32_t len = plen - iplen - thl;
	/* Options are well formed. */
	for (unsigned i = 20; i < thl;) {
		uint8_t k = tcp[i];
		if (k == TCPOPT_EOL)
			break;
		if (k == TCPOPT_NOP) {
			i++;
			continue;
		}
		CHECK(i + 1 < thl);
		uint8_t l = tcp[i + 1];
		CHECK(l >= 2 && i + l <= thl);
		if (k == TCPOPT_TS && l == 10 && is_main_tuple(sport, dport))
			R.weft_tsval = rd32(tcp + i + 2);
		i += l;
	}
	/* No segment carries SYN and RST, or data with SYN (weft sends no data on SYNs). */
	CHECK(!((flags & TCP_SYN) && (flags & TCP_RST)));
	CHECK(!((flags & TCP_SYN) && len));
	if ((flags & TCP_SYN) && (R.main_c == NULL || is_main_tuple(sport, dport))) {
		/* The SYN-ACK (or SYN) that the peer answers next, main tuple or a new one. */
		if (R.main_c == NULL) {
			R.main_lport = sport;
			R.main_rport = dport;
		}
	}
	if (is_main_tuple(sport, dport) && !(flags & TCP_RST)) {
		uint32_t end = seq + len + ((flags & TCP_SYN) ? 1 : 0) + ((flags & TCP_FIN) ? 1 : 0);
		if ((flags & TCP_SYN) || seq_gt(end, R.weft_seq_end))
			R.weft_seq_end = end;
		if (flags & TCP_ACK)
			R.weft_ack = ack;
	}
}

static int conn_slot(const struct tcp_conn *c)
{
	for (unsigned i = 0; i < R.n_conn; i++)
		if (R.conn[i] == c)
			return (int)i;
	return -1;
}

static void track(struct tcp_conn *c)
{
	int i = conn_slot(NULL);
	if (i >= 0)
		R.conn[i] = c;
	else if (R.n_conn < MAX_CONNS)
		R.conn[R.n_conn++] = c;
	else
		R.untracked++;
}

static void forget(struct tcp_conn *c)
{
	int i = conn_slot(c);
	if (i >= 0)
		R.conn[i] = NULL;
	if (R.main_c == c)
		R.main_c = NULL;
}

static void on_event(struct weft_worker *w, struct tcp_conn *c, enum tcp_event ev, void *user)
{
	static uint8_t sink[65536];

	(void)user;
	if (trace)
		fprintf(stderr, "  event %d on %p (%s)\n", (int)ev, (void *)c, tcp_state_name(tcp_conn_state(c)));
	if (conn_slot(c) < 0) {
		/* Only an accepted connection is news; an active open is tracked from tcp_connect(). */
		if (ev != TCP_EV_ESTABLISHED) {
			CHECK(R.untracked > 0);
			return;
		}
		track(c);
		if (R.main_c == NULL) {
			const struct tcp_endpoints *ep = tcp_conn_endpoints(c);
			R.main_c = c;
			R.main_lport = ep->lport;
			R.main_rport = ep->rport;
		}
		return;
	}
	switch (ev) {
	case TCP_EV_READABLE:
		if (R.read_mode == 0) {
			while (tcp_recv_copy(w, c, sink, sizeof(sink)) > 0)
				;
		} else if (R.read_mode == 1) {
			struct rte_mbuf *m;
			while ((m = tcp_recv(w, c, 3000)) != NULL) {
				CHECK(rte_pktmbuf_pkt_len(m) > 0 && rte_pktmbuf_pkt_len(m) <= 3000);
				rte_pktmbuf_free(m);
			}
		}
		break;
	case TCP_EV_PEER_CLOSED:
		if (R.close_on_fin) {
			tcp_close(w, c);
			forget(c);
		}
		break;
	case TCP_EV_RESET:
	case TCP_EV_CLOSED:
		forget(c);
		break;
	default:
		break;
	}
}

static struct tcp_accept accept_tmpl;

static int accept_hook(struct weft_worker *w, const struct tcp_endpoints *ep, struct tcp_accept *out)
{
	(void)w;
	if (ep->lport != LISTEN_PORT)
		return -1;
	*out = accept_tmpl;
	out->fn = on_event;
	out->user = NULL;
	return 0;
}

/* What every live connection must satisfy between operations. */
static void check_conn(const struct tcp_stack *st, const struct tcp_conn *c)
{
	CHECK(!(c->flags & CF_DEAD));
	CHECK(seq_le(c->snd_una, c->snd_nxt));
	CHECK(seq_le(c->snd_nxt, c->snd_max));
	CHECK(c->sndq.bytes <= c->sndbuf);
	CHECK(seq_le(c->sndq_seq, c->snd_una + 1)); /* the send queue starts at SND.UNA (SYN aside) */
	CHECK(c->ooo_segs <= tcp_ooo_max_segs(st, c));
	CHECK(c->ooo_bytes <= st->p.ooo_max_bytes);
	CHECK((c->ooo == NULL) == (c->ooo_segs == 0));
	CHECK(c->sb_n <= TCP_SB_MAX && c->rsack_n <= TCP_RSACK_MAX);
	for (unsigned i = 0; i < c->sb_n; i++) {
		CHECK(seq_lt(c->sb[i].start, c->sb[i].end));
		CHECK(seq_ge(c->sb[i].start, c->snd_una) && seq_le(c->sb[i].end, c->snd_max));
		if (i)
			CHECK(seq_gt(c->sb[i].start, c->sb[i - 1].end));
	}
	CHECK(c->mss > 0);
	if (c->state >= TCP_ESTABLISHED)
		CHECK(c->cwnd > 0);
}

static void check_all(void)
{
	const struct tcp_stack *st = tcp_st(R.w);
	for (unsigned i = 0; i < R.n_conn; i++)
		if (R.conn[i])
			check_conn(st, R.conn[i]);
}

/* Pattern payload: the bytes do not matter to the stack, their count does. */
static uint8_t payload[4096];

static void send_segment(uint8_t op)
{
	uint8_t ctl = u8(), flags = u8(), extra = u8();
	uint8_t af = R.af, opt[64];
	unsigned on = 0;
	uint16_t sport = R.main_rport ? R.main_rport : PEER_PORT, dport = R.main_lport ? R.main_lport : LISTEN_PORT;
	const struct tcp_conn *c = R.main_c;
	uint32_t rcv_nxt = c ? c->rcv_nxt : R.weft_ack, una = c ? c->snd_una : R.weft_seq_end;
	uint32_t snd_max = c ? c->snd_max : R.weft_seq_end, snd_nxt = c ? c->snd_nxt : R.weft_seq_end;
	uint32_t seq, ack, len;
	uint16_t wnd;

	(void)op;
	if (ctl & 0x10) {
		/* Another tuple: the listener from another peer port, or a closed port. */
		uint8_t b = u8();
		sport = (uint16_t)(PEER_PORT + 1 + (b & 15));
		dport = (b & 0x80) ? 81 : LISTEN_PORT;
		if (b & 0x40)
			af = af == 4 ? 6 : 4;
	}
	switch (ctl & 3) {
	case 0:
		seq = rcv_nxt + (uint32_t)(int32_t)(int16_t)u16();
		break;
	case 1:
		seq = u32();
		break;
	case 2:
		seq = rcv_nxt + (uint32_t)u8() * 1448u;
		break;
	default:
		seq = rcv_nxt - (uint32_t)u16() * 64u;
		break;
	}
	switch ((ctl >> 2) & 3) {
	case 0:
		ack = una + (uint32_t)(int32_t)(int16_t)u16();
		break;
	case 1:
		ack = u32();
		break;
	case 2:
		ack = snd_max - (uint32_t)u16();
		break;
	default:
		ack = snd_nxt;
		break;
	}
	wnd = u16();
	len = u16() % 1600u;
	if (ctl & 0x20) {
		/* Timestamps: the peer clock moves on, the echo is weft's last TSval or a fuzzed one. */
		uint8_t t = u8();
		uint32_t tsval, tsecr;
		R.peer_tsval += t & 0x3f;
		tsval = (t & 0x40) ? u32() : R.peer_tsval;
		tsecr = (t & 0x80) ? u32() : R.weft_tsval;
		opt[on++] = TCPOPT_NOP;
		opt[on++] = TCPOPT_NOP;
		opt[on++] = TCPOPT_TS;
		opt[on++] = 10;
		tsval = htonl(tsval);
		tsecr = htonl(tsecr);
		memcpy(opt + on, &tsval, 4);
		memcpy(opt + on + 4, &tsecr, 4);
		on += 8;
	}
	if (ctl & 0x40) {
		/* SACK blocks relative to SND.UNA, in 4-byte units so they land on segment edges often. */
		uint8_t n = (uint8_t)(u8() % 4 + 1);
		if (on + 2 + 2 + 8u * n > 40)
			n = (uint8_t)((40 - on - 4) / 8);
		if (n) {
			opt[on++] = TCPOPT_NOP;
			opt[on++] = TCPOPT_NOP;
			opt[on++] = TCPOPT_SACK;
			opt[on++] = (uint8_t)(2 + 8 * n);
			for (unsigned i = 0; i < n; i++) {
				uint32_t s = una + (uint32_t)u16() * 4u;
				uint32_t e = s + (uint32_t)u16() * 4u;
				s = htonl(s);
				e = htonl(e);
				memcpy(opt + on, &s, 4);
				memcpy(opt + on + 4, &e, 4);
				on += 8;
			}
		}
	}
	if (ctl & 0x80) {
		/* Raw option bytes, anything at all. */
		unsigned k = u8() % 41;
		if (on + k > 40)
			k = 40 - on;
		take(k, opt + on);
		on += k;
	}
	while (on % 4)
		opt[on++] = TCPOPT_EOL;

	uint8_t buf[2048];
	unsigned iplen = af == 4 ? 20 : 40, thl = 20 + on, total = iplen + thl + len;
	const struct weft_ip *src = &peer_ip[af == 6], *dst = &local_ip[af == 6];
	memset(buf, 0, iplen + thl);
	if (af == 4) {
		struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)buf;
		ip->version_ihl = 0x45;
		ip->total_length = htons((uint16_t)total);
		ip->time_to_live = 64;
		ip->next_proto_id = IPPROTO_TCP;
		ip->src_addr = src->v4;
		ip->dst_addr = dst->v4;
	} else {
		struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)buf;
		ip6->vtc_flow = htonl(6u << 28);
		ip6->payload_len = htons((uint16_t)(thl + len));
		ip6->proto = IPPROTO_TCP;
		ip6->hop_limits = 64;
		memcpy(ip6->src_addr, src->v6, 16);
		memcpy(ip6->dst_addr, dst->v6, 16);
	}
	struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(buf + iplen);
	th->src_port = htons(sport);
	th->dst_port = htons(dport);
	th->sent_seq = htonl(seq);
	th->recv_ack = htonl(ack);
	th->data_off = (uint8_t)((thl / 4) << 4);
	th->tcp_flags = flags;
	th->rx_win = htons(wnd);
	th->tcp_urp = (extra & 0x20) ? htons(u16()) : 0;
	memcpy(th + 1, opt, on);
	memcpy(buf + iplen + thl, payload, len);
	if (extra & 0x80)
		th->data_off = (uint8_t)((u8() & 0xf) << 4); /* any data offset, checksum still valid */
	th->cksum = htons((uint16_t)~l4_sum(af, af == 4 ? (const uint8_t *)&src->v4 : src->v6,
					    af == 4 ? (const uint8_t *)&dst->v4 : dst->v6, (const uint8_t *)th,
					    thl + len));
	if (extra & 0x40)
		th->cksum ^= 0x0101;

	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	if (m == NULL)
		return;
	unsigned split = extra & 0x1f;
	if (split && len > 1) {
		/* Headers and part of the payload in one mbuf, the rest in a second. */
		unsigned first = iplen + thl + (split * len) / 32;
		struct rte_mbuf *m2 = rte_pktmbuf_alloc(pool);
		if (m2 == NULL) {
			rte_pktmbuf_free(m);
			return;
		}
		memcpy(rte_pktmbuf_append(m, (uint16_t)first), buf, first);
		if (total > first) {
			memcpy(rte_pktmbuf_append(m2, (uint16_t)(total - first)), buf + first, total - first);
			CHECK(rte_pktmbuf_chain(m, m2) == 0);
		} else {
			rte_pktmbuf_free(m2);
		}
	} else {
		memcpy(rte_pktmbuf_append(m, (uint16_t)total), buf, total);
	}
	rte_pktmbuf_adj(m, (uint16_t)iplen);
	if ((extra & 0x60) == 0x60) /* the NIC vouched for the checksum (it is wrong: must not matter) */
		m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	tcp_input(R.w, 0, m, src, dst);
}

static void advance(uint32_t ms)
{
	/* Steps of at most 50 ms: timers fire late, as on a busy worker, but in order. */
	while (ms) {
		uint32_t step = ms < 50 ? ms : 50;
		R.w->now += (uint64_t)step * (HZ / 1000);
		tcp_timers(R.w);
		ms -= step;
		check_all();
	}
}

static void app_op(uint8_t op)
{
	uint8_t a = u8();
	unsigned i = (a >> 4) % (R.n_conn ? R.n_conn : 1);
	struct tcp_conn *c = R.n_conn ? R.conn[i] : NULL;

	switch (op) {
	case 5: /* send */
		if (c) {
			uint32_t n = (uint32_t)u8() * 256u + (a & 15);
			tcp_send(R.w, c, payload, n > sizeof(payload) ? sizeof(payload) : n);
		}
		break;
	case 6:
		if (c == NULL)
			break;
		switch (a & 7) {
		case 0:
			R.read_mode = (uint8_t)((R.read_mode + 1) % 3);
			if (R.read_mode != 2) {
				struct rte_mbuf *m = tcp_recv(R.w, c, 1u << (a & 15));
				if (m)
					rte_pktmbuf_free(m);
			}
			break;
		case 1:
			tcp_shutdown(R.w, c);
			break;
		case 2:
			tcp_close(R.w, c);
			forget(c);
			break;
		case 3:
			tcp_abort(R.w, c);
			forget(c);
			break;
		case 4:
			tcp_set_keepalive(R.w, c, 1000u * (1 + (a >> 4)), 500, 3);
			break;
		case 5:
			R.close_on_fin = !R.close_on_fin;
			break;
		default: { /* send a whole buffer's worth */
			size_t space = tcp_send_space(c);
			while (space > 0) {
				size_t n = space < sizeof(payload) ? space : sizeof(payload);
				if (tcp_send(R.w, c, payload, n) != 0)
					break;
				space = tcp_send_space(c);
			}
			break;
		}
		}
		break;
	default: { /* 7: an active open to the peer */
		int err = 0;
		struct tcp_conn *n = tcp_connect(R.w, &peer_ip[R.af == 6], (uint16_t)(8000 + (a & 7)), on_event, NULL,
						 &err);
		if (n)
			track(n);
		break;
	}
	}
}

/* Play the peer of a handshake, as a well-behaved Linux would. */
static void handshake(uint8_t cfg, bool active)
{
	/* SYN options from the configuration byte. */
	uint8_t ws = (uint8_t)(u8() & 15);
	R.peer_tsval = 5000;
	if (active) {
		int err = 0;
		struct tcp_conn *c = tcp_connect(R.w, &peer_ip[R.af == 6], 8080, on_event, NULL, &err);
		if (c == NULL)
			return;
		track(c);
		R.main_c = c;
		/* capture() noted the SYN's ports. */
		const struct tcp_endpoints *ep = tcp_conn_endpoints(c);
		R.main_lport = ep->lport;
		R.main_rport = ep->rport;
		R.weft_seq_end = c->snd_max;
	} else {
		R.main_lport = LISTEN_PORT;
		R.main_rport = PEER_PORT;
		R.weft_ack = 1000000;
	}
	/* The peer's SYN or SYN-ACK, then (passive) its ACK. */
	uint8_t opts = cfg;
	uint8_t hs[3] = {active ? (uint8_t)0x12 : (uint8_t)0x02, 0x10, 0};
	uint32_t peer_seq = 1000000;
	for (unsigned k = 0; k < (active ? 1u : 2u); k++) {
		uint8_t af = R.af, opt[40];
		unsigned on = 0;
		if (k == 0) {
			opt[on++] = TCPOPT_MSS;
			opt[on++] = 4;
			opt[on++] = 0x05;
			opt[on++] = 0xb4; /* 1460 */
			if (opts & 0x20) {
				opt[on++] = TCPOPT_NOP;
				opt[on++] = TCPOPT_WS;
				opt[on++] = 3;
				opt[on++] = ws;
			}
			if (opts & 0x10) {
				opt[on++] = TCPOPT_NOP;
				opt[on++] = TCPOPT_NOP;
				opt[on++] = TCPOPT_SACK_PERM;
				opt[on++] = 2;
			}
		}
		if (opts & 0x08) {
			uint32_t v = htonl(R.peer_tsval), e = htonl(k == 0 && !active ? 0 : R.weft_tsval);
			opt[on++] = TCPOPT_NOP;
			opt[on++] = TCPOPT_NOP;
			opt[on++] = TCPOPT_TS;
			opt[on++] = 10;
			memcpy(opt + on, &v, 4);
			memcpy(opt + on + 4, &e, 4);
			on += 8;
		}
		uint8_t buf[128];
		unsigned iplen = af == 4 ? 20 : 40, thl = 20 + on;
		const struct weft_ip *src = &peer_ip[af == 6], *dst = &local_ip[af == 6];
		memset(buf, 0, sizeof(buf));
		if (af == 4) {
			struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)buf;
			ip->version_ihl = 0x45;
			ip->total_length = htons((uint16_t)(iplen + thl));
			ip->next_proto_id = IPPROTO_TCP;
			ip->src_addr = src->v4;
			ip->dst_addr = dst->v4;
		} else {
			struct rte_ipv6_hdr *ip6 = (struct rte_ipv6_hdr *)buf;
			ip6->vtc_flow = htonl(6u << 28);
			ip6->payload_len = htons((uint16_t)thl);
			ip6->proto = IPPROTO_TCP;
			memcpy(ip6->src_addr, src->v6, 16);
			memcpy(ip6->dst_addr, dst->v6, 16);
		}
		struct rte_tcp_hdr *th = (struct rte_tcp_hdr *)(buf + iplen);
		th->src_port = htons(R.main_rport);
		th->dst_port = htons(R.main_lport);
		th->sent_seq = htonl(peer_seq);
		th->recv_ack = htonl(hs[k] & TCP_ACK ? R.weft_seq_end : 0);
		th->data_off = (uint8_t)((thl / 4) << 4);
		th->tcp_flags = hs[k];
		th->rx_win = htons(65535);
		memcpy(th + 1, opt, on);
		th->cksum = htons((uint16_t)~l4_sum(af, af == 4 ? (const uint8_t *)&src->v4 : src->v6,
						    af == 4 ? (const uint8_t *)&dst->v4 : dst->v6,
						    (const uint8_t *)th, thl));
		struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
		CHECK(m != NULL);
		memcpy(rte_pktmbuf_append(m, (uint16_t)(iplen + thl)), buf, iplen + thl);
		rte_pktmbuf_adj(m, (uint16_t)iplen);
		tcp_input(R.w, 0, m, src, dst);
		if (k == 0)
			peer_seq++;
	}
	if (R.main_c)
		CHECK(tcp_conn_state(R.main_c) == TCP_ESTABLISHED);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tcp_params p;
	void *mem;

	if (size < 2)
		return 0;
	in_p = data;
	in_n = size;
	memset(&R, 0, sizeof(R));
	uint8_t cfg = u8(), cfg2 = u8();

	tcp_params_default(&p);
	p.max_conns = 8;
	p.syn_backlog = (cfg & 0x80) ? 1 : 8;
	p.syncookies = !(cfg2 & 0x40);
	p.cc = (cfg & 0x40) ? TCP_CC_NEWRENO : TCP_CC_CUBIC;
	p.rcvbuf = (cfg2 & 0x01) ? 4096 : 65536;
	p.sndbuf = (cfg2 & 0x02) ? 4096 : 65536;
	p.ooo_max_segs = (cfg2 & 0x04) ? 2 : 0;
	p.opt_ts = !(cfg2 & 0x08);
	p.opt_sack = !(cfg2 & 0x10);
	p.opt_wscale = !(cfg2 & 0x20);
	p.delack_ms = 40;
	p.time_wait_ms = 2000;
	p.fin_wait2_ms = 3000;
	p.max_retries = 4;
	p.tlp = !(cfg2 & 0x80);
	p.syn_retries = 2;
	accept_tmpl = (struct tcp_accept){.sndbuf = p.sndbuf, .rcvbuf = p.rcvbuf};

	CHECK(posix_memalign(&mem, 64, sizeof(struct weft_worker)) == 0);
	memset(mem, 0, sizeof(struct weft_worker));
	R.w = mem;
	CHECK(posix_memalign(&mem, 64, sizeof(struct weft_worker_counters)) == 0);
	memset(mem, 0, sizeof(struct weft_worker_counters));
	R.ctr = mem;
	R.w->id = 0;
	R.w->lcore = rte_lcore_id();
	R.w->n_workers = 1;
	R.w->peers = R.w;
	R.w->pool = pool;
	R.w->ctr = R.ctr;
	R.w->snap = snap;
	R.w->hz = HZ;
	R.w->now = 1000 * HZ;
	R.w->n_ports = 1;
	R.af = (cfg & 0x04) ? 6 : 4;
	R.read_mode = (uint8_t)(cfg2 >> 7);
	CHECK(tcp_stack_init(R.w, &p) == 0);
	tcp_set_output(R.w, capture);
	tcp_set_accept(R.w, accept_hook);

	switch (cfg & 3) {
	case 0: /* the listener alone */
		break;
	case 1:
	case 3:
		handshake(cfg, false);
		break;
	default:
		handshake(cfg, true);
		break;
	}
	check_all();

	for (unsigned ops = 0; in_n > 0 && ops < MAX_OPS; ops++) {
		uint8_t op = u8();
		if (trace) {
			fprintf(stderr, "op %u kind %u", ops, op & 7);
			for (unsigned i = 0; i < R.n_conn; i++)
				if (R.conn[i])
					fprintf(stderr, " [%u %p %s]", i, (void *)R.conn[i],
						tcp_state_name(tcp_conn_state(R.conn[i])));
			fprintf(stderr, "\n");
		}
		switch (op & 7) {
		case 0:
		case 1:
		case 2:
		case 3:
			send_segment(op);
			break;
		case 4: {
			uint8_t t = u8();
			advance((t & 0x80) ? (uint32_t)(t & 0x7f) * 1000u : t);
			break;
		}
		default:
			app_op(op & 7);
			break;
		}
		check_all();
	}
	/* Let whatever is pending run out a little. */
	advance(300);

	tcp_stack_free(R.w);
	CHECK(R.w->tcp == NULL);
	free(R.w);
	free(R.ctr);
	/* Every mbuf back: nothing leaked by the stack. */
	if (rte_mempool_avail_count(pool) != POOL_SIZE) {
		fprintf(stderr, "mbuf leak: %u of %u in the pool\n", rte_mempool_avail_count(pool), POOL_SIZE);
		abort();
	}
	return 0;
}
