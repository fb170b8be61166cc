/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <rte_eal.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "dataplane/net/net.h"
#include "policy/netcfg.h"
#include "tests/unit/net_harness.h"

const uint8_t H_MAC0[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
const uint8_t H_MAC1[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x02};
const uint8_t H_PEER[6] = {0x02, 0xaa, 0x00, 0x00, 0x00, 0x02};
const uint8_t H_PEER2[6] = {0x02, 0xaa, 0x00, 0x00, 0x00, 0x03};
const uint8_t H_GW[6] = {0x02, 0xaa, 0x00, 0x00, 0x00, 0xfe};
const uint8_t H_GW1[6] = {0x02, 0xbb, 0x00, 0x00, 0x00, 0xfe};
const uint8_t H_BCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

struct rte_mempool *h_pool;

/*
 * The dataplane library provides weft_tx_flush (dataplane/worker.c). Tests
 * never fill a tx buffer, so reaching it is a test bug; this weak fallback
 * lets the suite link while worker.c is incomplete and fails loudly if called.
 */
__attribute__((weak)) void weft_tx_flush(struct weft_worker *w, uint16_t port)
{
	(void)w;
	(void)port;
	fail_msg("weft_tx_flush called: a test filled a tx buffer");
}

int h_group_setup(void **state)
{
	/*
	 * No hugepages, no devices, no shared files: runs as any user in a
	 * container and leaves nothing behind. One lcore is enough.
	 */
	static char args[][40] = {
		"test_net", "--no-huge", "-m", "64", "--no-pci", "--no-shconf", "--no-telemetry",
		"--log-level=*:error", "-l", "0", "--file-prefix",  "",
	};
	enum { N_ARGS = sizeof(args) / sizeof(args[0]) };
	char *argv[N_ARGS];
	int argc = N_ARGS;

	(void)state;
	/* --in-memory would need hugepages; a per-process prefix keeps parallel runs apart instead. */
	snprintf(args[N_ARGS - 1], sizeof(args[0]), "weft_test_net_%d", (int)getpid());
	/* EAL keeps pointers into argv and getopt permutes it: storage that outlives the call. */
	for (int i = 0; i < argc; i++)
		argv[i] = args[i];
	if (rte_eal_init(argc, argv) < 0) {
		fprintf(stderr, "rte_eal_init failed\n");
		return -1;
	}
	/* No per-lcore cache: the leak check counts what is in the pool itself. */
	h_pool = rte_pktmbuf_pool_create("h_pool", H_POOL_SIZE, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
	return h_pool == NULL ? -1 : 0;
}

int h_group_teardown(void **state)
{
	char dir[PATH_MAX];

	(void)state;
	snprintf(dir, sizeof(dir), "%s", rte_eal_get_runtime_dir());
	rte_mempool_free(h_pool);
	rte_eal_cleanup();
	/* The EAL leaves its (empty, with --no-shconf) runtime directory behind. */
	rmdir(dir);
	return 0;
}

static void add_addr(struct weft_port_cfg *p, const char *addr, uint8_t plen)
{
	struct weft_prefix *a = &p->addrs[p->n_addrs++];

	if (strchr(addr, ':') != NULL) {
		a->ip.af = 6;
		inet_pton(AF_INET6, addr, a->ip.v6);
	} else {
		a->ip.af = 4;
		inet_pton(AF_INET, addr, &a->ip.v4);
	}
	a->plen = plen;
}

static void fill_config(struct weft_config *c)
{
	struct weft_port_cfg *p0 = &c->ports[0], *p1 = &c->ports[1];
	struct weft_route_cfg *r = &c->routes[0];

	memset(c, 0, sizeof(*c));
	c->n_ports = 2;
	snprintf(p0->name, sizeof(p0->name), "p0");
	add_addr(p0, "198.18.0.1", 24);
	add_addr(p0, "2001:db8:1::1", 64);
	p0->has_gw4 = true;
	p0->gw4.af = 4;
	p0->gw4.v4 = h_ip4("198.18.0.254");
	p0->has_gw6 = true;
	p0->gw6.af = 6;
	memcpy(p0->gw6.v6, h_ip6("fe80::fe"), 16);
	snprintf(p1->name, sizeof(p1->name), "p1");
	add_addr(p1, "198.19.0.1", 24);
	add_addr(p1, "2001:db8:2::1", 64);

	c->n_routes = 1;
	r->dst.ip.af = 4;
	r->dst.ip.v4 = h_ip4("198.18.128.0");
	r->dst.plen = 17;
	r->via.af = 4;
	r->via.v4 = h_ip4("198.19.0.254");
}

void h_recompile(struct harness *h)
{
	const uint8_t macs[2][6] = {
		{0x02, 0x00, 0x00, 0x00, 0x00, 0x01},
		{0x02, 0x00, 0x00, 0x00, 0x00, 0x02},
	};
	char err[256];

	if (weft_net_compile(h->cfg, macs, &h->snap->net, err, sizeof(err)) != 0)
		fail_msg("weft_net_compile: %s", err);
}

static struct harness *harness_new(unsigned n_workers)
{
	struct harness *h = calloc(1, sizeof(*h));
	void *mem = NULL;

	assert_non_null(h);
	assert_int_equal(posix_memalign(&mem, 64, n_workers * sizeof(struct weft_worker)), 0);
	memset(mem, 0, n_workers * sizeof(struct weft_worker));
	h->workers = mem;
	assert_int_equal(posix_memalign(&mem, 64, n_workers * sizeof(struct weft_worker_counters)), 0);
	memset(mem, 0, n_workers * sizeof(struct weft_worker_counters));
	h->ctr = mem;
	h->snap = calloc(1, sizeof(*h->snap));
	h->cfg = calloc(1, sizeof(*h->cfg));
	assert_non_null(h->snap);
	assert_non_null(h->cfg);
	fill_config(h->cfg);
	h_recompile(h);
	h->snap->version = 1;

	for (unsigned i = 0; i < n_workers; i++) {
		struct weft_worker *w = &h->workers[i];
		char name[32];

		w->id = i;
		w->lcore = rte_lcore_id();
		w->n_workers = n_workers;
		w->peers = h->workers;
		w->pool = h_pool;
		w->ctr = &h->ctr[i];
		w->snap = h->snap;
		w->hz = H_HZ;
		w->now = 1000 * H_HZ; /* far from zero, like a real TSC */
		w->n_ports = 2;
		if (n_workers > 1) {
			snprintf(name, sizeof(name), "h_neigh_in%u", i);
			w->neigh_in = rte_ring_create(name, 64, SOCKET_ID_ANY, RING_F_SC_DEQ);
			assert_non_null(w->neigh_in);
		}
		assert_int_equal(net_neigh_init(w), 0);
	}
	h->w = &h->workers[0];
	return h;
}

int h_setup(void **state)
{
	*state = harness_new(1);
	h_mark(*state);
	return 0;
}

int h_setup2(void **state)
{
	*state = harness_new(2);
	h_mark(*state);
	return 0;
}

int h_teardown(void **state)
{
	struct harness *h = *state;
	unsigned n = h->w->n_workers;
	unsigned avail;

	/* Messages still in a ring go back to their pool before the pools go away; applying may transmit. */
	for (unsigned i = 0; i < n; i++) {
		struct weft_worker *w = &h->workers[i];
		void *msg;
		while (w->neigh_in != NULL && rte_ring_dequeue(w->neigh_in, &msg) == 0)
			net_neigh_apply(w, msg);
	}
	for (unsigned i = 0; i < n; i++) {
		struct weft_worker *w = &h->workers[i];
		for (uint16_t p = 0; p < WEFT_MAX_PORTS; p++) {
			for (uint16_t j = 0; j < w->tx[p].n; j++)
				rte_pktmbuf_free(w->tx[p].pkts[j]);
			w->tx[p].n = 0;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		net_neigh_free(&h->workers[i]);
		rte_ring_free(h->workers[i].neigh_in);
	}
	avail = rte_mempool_avail_count(h_pool);
	free(h->workers);
	free(h->ctr);
	free(h->snap);
	free(h->cfg);
	free(h);
	if (avail != H_POOL_SIZE) {
		fprintf(stderr, "mbuf leak: %u of %u back in the pool\n", avail, H_POOL_SIZE);
		return -1;
	}
	return 0;
}

uint32_t h_ip4(const char *s)
{
	uint32_t a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a;
}

const uint8_t *h_ip6(const char *s)
{
	static uint8_t buf[8][16];
	static unsigned n;
	uint8_t *b = buf[n++ % 8];

	assert_int_equal(inet_pton(AF_INET6, s, b), 1);
	return b;
}

uint32_t h_sum(const void *p, size_t n, uint32_t sum)
{
	const uint8_t *b = p;

	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		sum += (uint32_t)(b[n - 1] << 8);
	return sum;
}

uint16_t h_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void hf_put(struct h_frame *f, const void *p, size_t n)
{
	assert_true(f->len + n <= sizeof(f->b));
	if (n == 0)
		return; /* p may be NULL, which memcpy does not allow even for 0 bytes */
	memcpy(f->b + f->len, p, n);
	f->len += n;
}

void hf_pad(struct h_frame *f, size_t to)
{
	while (f->len < to)
		f->b[f->len++] = 0;
}

void hf_eth(struct h_frame *f, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
	uint8_t t[2];

	f->len = 0;
	hf_put(f, dst, 6);
	hf_put(f, src, 6);
	put16(t, type);
	hf_put(f, t, 2);
}

void hf_arp(struct h_frame *f, const uint8_t eth_dst[6], const uint8_t eth_src[6], uint16_t op, const uint8_t sha[6],
	    uint32_t sip, const uint8_t tha[6], uint32_t tip)
{
	uint8_t hdr[8] = {0x00, 0x01, 0x08, 0x00, 6, 4, 0, 0};

	hf_eth(f, eth_dst, eth_src, 0x0806);
	put16(hdr + 6, op);
	hf_put(f, hdr, sizeof(hdr));
	hf_put(f, sha, 6);
	hf_put(f, &sip, 4);
	hf_put(f, tha, 6);
	hf_put(f, &tip, 4);
	hf_pad(f, 60);
}

void hf_ip4_cksum(struct h_frame *f)
{
	uint8_t *ip = f->b + 14;
	size_t hlen = (ip[0] & 0x0f) * 4u;

	ip[10] = ip[11] = 0;
	put16(ip + 10, (uint16_t)~h_fold(h_sum(ip, hlen, 0)));
}

void hf_ip4(struct h_frame *f, uint32_t src, uint32_t dst, uint8_t proto, const void *payload, size_t n)
{
	uint8_t ip[20] = {0x45, 0, 0, 0, 0x12, 0x34, 0, 0, 64, proto};

	hf_eth(f, H_MAC0, H_PEER, 0x0800);
	put16(ip + 2, (uint16_t)(20 + n));
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	hf_put(f, ip, sizeof(ip));
	hf_put(f, payload, n);
	hf_ip4_cksum(f);
}

size_t h_icmp_echo(uint8_t *buf, uint8_t type, uint16_t id, uint16_t seq, const void *data, size_t n)
{
	buf[0] = type;
	buf[1] = 0;
	buf[2] = buf[3] = 0;
	put16(buf + 4, id);
	put16(buf + 6, seq);
	memcpy(buf + 8, data, n);
	put16(buf + 2, (uint16_t)~h_fold(h_sum(buf, 8 + n, 0)));
	return 8 + n;
}

void hf_ip6(struct h_frame *f, const uint8_t eth_dst[6], const uint8_t eth_src[6], const uint8_t src[16],
	    const uint8_t dst[16], uint8_t proto, uint8_t hop, const void *payload, size_t n)
{
	uint8_t ip[40] = {0x60, 0, 0, 0};

	hf_eth(f, eth_dst, eth_src, 0x86dd);
	put16(ip + 4, (uint16_t)n);
	ip[6] = proto;
	ip[7] = hop;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	hf_put(f, ip, sizeof(ip));
	hf_put(f, payload, n);
}

/* ICMPv6 checksum over the pseudo-header (RFC 8200 8.1) of the frame's IPv6 packet. */
static uint16_t icmp6_sum(const uint8_t *ip6)
{
	uint16_t plen = (uint16_t)(ip6[4] << 8 | ip6[5]);
	uint32_t s = h_sum(ip6 + 8, 32, 0);

	s += plen;
	s += 58;
	return h_fold(h_sum(ip6 + 40, plen, s));
}

void hf_icmp6_cksum(struct h_frame *f)
{
	uint8_t *ip6 = f->b + 14;

	ip6[42] = ip6[43] = 0;
	put16(ip6 + 42, (uint16_t)~icmp6_sum(ip6));
}

size_t h_nd(uint8_t *buf, uint8_t type, uint32_t flags, const uint8_t target[16], uint8_t opt, const uint8_t mac[6])
{
	size_t n = 24;

	memset(buf, 0, 24);
	buf[0] = type;
	buf[4] = (uint8_t)(flags >> 24);
	buf[5] = (uint8_t)(flags >> 16);
	memcpy(buf + 8, target, 16);
	if (opt != 0) {
		buf[24] = opt;
		buf[25] = 1;
		memcpy(buf + 26, mac, 6);
		n += 8;
	}
	return n;
}

size_t h_icmp6_echo(uint8_t *buf, uint16_t id, uint16_t seq, const void *data, size_t n)
{
	buf[0] = 128;
	buf[1] = 0;
	buf[2] = buf[3] = 0;
	put16(buf + 4, id);
	put16(buf + 6, seq);
	memcpy(buf + 8, data, n);
	return 8 + n;
}

struct rte_mbuf *hf_mbuf(const struct h_frame *f)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(h_pool);
	void *p;

	assert_non_null(m);
	p = rte_pktmbuf_append(m, (uint16_t)f->len);
	assert_non_null(p);
	memcpy(p, f->b, f->len);
	return m;
}

void h_rx(struct harness *h, uint16_t port, const struct h_frame *f)
{
	net_eth_input(h->w, port, hf_mbuf(f));
}

void h_mark(struct harness *h)
{
	h->mark = *h->w->ctr;
}

uint64_t h_drops(const struct harness *h, enum weft_drop why)
{
	return h->w->ctr->drops[why] - h->mark.drops[why];
}

uint64_t h_events(const struct harness *h, enum weft_event ev)
{
	return h->w->ctr->events[ev] - h->mark.events[ev];
}

void h_assert_drop(struct harness *h, enum weft_drop why)
{
	for (int d = 0; d < WEFT_DROP_MAX; d++) {
		uint64_t delta = h_drops(h, (enum weft_drop)d);
		if (delta != (d == (int)why ? 1u : 0u))
			fail_msg("drop %s moved by %llu (expected %s)", weft_drop_name[d], (unsigned long long)delta,
				 weft_drop_name[why]);
	}
	for (uint16_t p = 0; p < WEFT_MAX_PORTS; p++)
		assert_int_equal(h->w->tx[p].n, 0);
	h_mark(h);
}

void h_assert_no_drop(struct harness *h)
{
	for (int d = 0; d < WEFT_DROP_MAX; d++)
		if (h_drops(h, (enum weft_drop)d) != 0)
			fail_msg("unexpected drop %s", weft_drop_name[d]);
}

unsigned h_tx_count(const struct harness *h, uint16_t port)
{
	return h->w->tx[port].n;
}

struct rte_mbuf *h_tx_pop(struct harness *h, uint16_t port)
{
	struct weft_txbuf *b = &h->w->tx[port];
	struct rte_mbuf *m;

	if (b->n == 0)
		fail_msg("nothing transmitted on port %u", port);
	m = b->pkts[0];
	memmove(&b->pkts[0], &b->pkts[1], (b->n - 1u) * sizeof(b->pkts[0]));
	b->n--;
	assert_true(rte_pktmbuf_is_contiguous(m));
	return m;
}

void h_tx_free_all(struct harness *h)
{
	for (uint16_t p = 0; p < WEFT_MAX_PORTS; p++) {
		struct weft_txbuf *b = &h->w->tx[p];
		for (uint16_t j = 0; j < b->n; j++)
			rte_pktmbuf_free(b->pkts[j]);
		b->n = 0;
	}
}

void h_assert_ip4_cksum(const uint8_t *ip)
{
	assert_int_equal(h_fold(h_sum(ip, (ip[0] & 0x0f) * 4u, 0)), 0xffff);
}

void h_assert_icmp6_cksum(const uint8_t *ip6)
{
	assert_int_equal(icmp6_sum(ip6), 0xffff);
}

void h_learn4(struct harness *h, uint16_t port, uint32_t ip, const uint8_t mac[6])
{
	const struct weft_iface *ifc = &h->snap->net.ifaces[port];
	struct h_frame f;

	hf_arp(&f, H_BCAST, mac, 1, mac, ip, (const uint8_t[6]){0}, ifc->ip4[0]);
	h_rx(h, port, &f);
	rte_pktmbuf_free(h_tx_pop(h, port));
	h_assert_no_drop(h);
	h_mark(h);
}

void h_learn6(struct harness *h, uint16_t port, const uint8_t ip[16], const uint8_t mac[6])
{
	const struct weft_iface *ifc = &h->snap->net.ifaces[port];
	uint8_t msg[64];
	struct h_frame f;
	size_t n = h_nd(msg, 135, 0, ifc->ip6[0], 1, mac);

	hf_ip6(&f, ifc->mac, mac, ip, ifc->ip6[0], 58, 255, msg, n);
	hf_icmp6_cksum(&f);
	h_rx(h, port, &f);
	rte_pktmbuf_free(h_tx_pop(h, port));
	h_assert_no_drop(h);
	h_mark(h);
}
