/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Ports on real vdevs, started the way weftd starts them (weft_eal_start,
 * weft_ports_start), with no kernel interface needed:
 *   p0  ring  plain: queue i sends into its own queue i, a loopback
 *   p1  null  advertises RSS, so it gets one rx queue per worker and our RETA
 *   p2  ring  tx faults: every frame delayed 300 us
 *   p3  ring  rx faults: every frame dropped
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_thash.h>

#include "drivers/port.h"

#define N_WORKERS 2

static struct weft_config cfg;
static struct weft_worker_counters ctr;

static void add_port(const char *name, enum weft_port_driver d)
{
	struct weft_port_cfg *pc = &cfg.ports[cfg.n_ports++];
	snprintf(pc->name, sizeof(pc->name), "%s", name);
	pc->driver = d;
	pc->rx_desc = 256;
	pc->tx_desc = 256;
}

static struct rte_mbuf *frame(uint32_t seq)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(weft_port_pool(0));
	assert_non_null(m);
	assert_non_null(rte_pktmbuf_append(m, 64));
	uint8_t *d = rte_pktmbuf_mtod(m, uint8_t *);
	memset(d, 0, 64);
	memset(d, 0xff, 6);
	d[6] = 0x02;
	d[12] = 0x08;
	d[13] = 0x06;
	memcpy(d + 14, &seq, sizeof(seq));
	return m;
}

static uint32_t seq_of(const struct rte_mbuf *m)
{
	uint32_t seq;
	memcpy(&seq, rte_pktmbuf_mtod_offset(m, const uint8_t *, 14), sizeof(seq));
	return seq;
}

/* Send n numbered frames on (port, queue); returns how many the port took. */
static uint16_t send_frames(uint16_t port, uint16_t queue, uint32_t first, uint16_t n)
{
	struct rte_mbuf *pkts[64];
	for (uint16_t i = 0; i < n; i++)
		pkts[i] = frame(first + i);
	uint16_t took = weft_port_tx(port, queue, pkts, n, rte_rdtsc(), &ctr);
	rte_pktmbuf_free_bulk(pkts + took, n - took);
	return took;
}

static void test_info(void **state)
{
	(void)state;
	assert_int_equal(weft_port_count(), 4);
	assert_null(weft_port_info(4));

	const struct weft_port_info *ring = weft_port_info(0);
	assert_string_equal(ring->name, "p0");
	assert_int_equal(ring->n_txq, N_WORKERS);
	/* ring queues are per-queue loops: all are polled, none by our RSS. */
	assert_int_equal(ring->n_rxq, N_WORKERS);
	assert_false(ring->rss);
	/* The ring PMD has no address; we make one up rather than send from 00:00:00:00:00:00. */
	static const uint8_t zero[6];
	assert_memory_not_equal(ring->mac, zero, 6);
	assert_int_equal(ring->mac[0] & 0x01, 0);
	assert_int_equal(ring->mtu, 1500);

	const struct weft_port_info *null = weft_port_info(1);
	assert_true(null->rss);
	assert_int_equal(null->n_rxq, N_WORKERS);
	assert_int_equal(null->n_txq, N_WORKERS);
	assert_int_equal(null->rss_key_len, 40);
	for (int i = 0; i < 40; i++)
		assert_int_equal(null->rss_key[i], (i & 1) ? 0x5a : 0x6d);
	assert_true(null->reta_size > 0);

	/* What the null PMD holds is what we programmed. */
	struct rte_eth_rss_conf rc = {0};
	uint8_t key[64];
	rc.rss_key = key;
	rc.rss_key_len = sizeof(key);
	assert_int_equal(rte_eth_dev_rss_hash_conf_get(null->port_id, &rc), 0);
	assert_memory_equal(key, null->rss_key, 40);
	struct rte_eth_rss_reta_entry64 reta[RTE_ETH_RSS_RETA_SIZE_512 / RTE_ETH_RETA_GROUP_SIZE];
	memset(reta, 0, sizeof(reta));
	for (unsigned i = 0; i < null->reta_size; i++)
		reta[i / RTE_ETH_RETA_GROUP_SIZE].mask |= 1ULL << (i % RTE_ETH_RETA_GROUP_SIZE);
	assert_int_equal(rte_eth_dev_rss_reta_query(null->port_id, reta, null->reta_size), 0);
	for (uint32_t h = 0; h < 4 * null->reta_size; h += 7)
		assert_int_equal(reta[(h % null->reta_size) / RTE_ETH_RETA_GROUP_SIZE]
					 .reta[(h % null->reta_size) % RTE_ETH_RETA_GROUP_SIZE],
				 weft_port_rss_queue(null, h));

	/* The key is symmetric: both directions of a flow hash alike. */
	uint32_t fwd[3] = {0xc6120001, 0xc6120002, (1234u << 16) | 80};
	uint32_t rev[3] = {0xc6120002, 0xc6120001, (80u << 16) | 1234};
	assert_int_equal(rte_softrss(fwd, 3, null->rss_key), rte_softrss(rev, 3, null->rss_key));

	assert_non_null(weft_port_pool(0));
	assert_ptr_equal(weft_port_pool(7), weft_port_pool(0)); /* no pool there: falls back */
	assert_int_equal(weft_lcore_socket(1), 0);
}

static void test_ring_loopback(void **state)
{
	(void)state;
	struct weft_port_hw_stats before, after;
	assert_int_equal(weft_port_hw_stats(0, &before), 0);

	for (uint16_t q = 0; q < N_WORKERS; q++) {
		assert_int_equal(send_frames(0, q, 100 * q, 32), 32);
		struct rte_mbuf *pkts[64];
		uint16_t n = weft_port_rx(0, q, pkts, 64, rte_rdtsc(), &ctr);
		assert_int_equal(n, 32);
		for (uint16_t i = 0; i < n; i++)
			assert_int_equal(seq_of(pkts[i]), 100 * q + i);
		rte_pktmbuf_free_bulk(pkts, n);
	}
	assert_int_equal(weft_port_hw_stats(0, &after), 0);
	assert_true(after.link_up);
	assert_int_equal(after.opackets - before.opackets, 32 * N_WORKERS);
	assert_int_equal(after.ipackets - before.ipackets, 32 * N_WORKERS);
	assert_int_equal(weft_port_hw_stats(9, &after), -1);
}

static void test_null_rss_queues(void **state)
{
	(void)state;
	struct rte_mbuf *pkts[32];
	for (uint16_t q = 0; q < N_WORKERS; q++) {
		uint16_t n = weft_port_rx(1, q, pkts, 32, rte_rdtsc(), &ctr);
		assert_int_equal(n, 32); /* the null PMD always has a burst ready */
		rte_pktmbuf_free_bulk(pkts, n);
		assert_int_equal(send_frames(1, q, 0, 16), 16);
	}
	struct weft_port_hw_stats st;
	assert_int_equal(weft_port_hw_stats(1, &st), 0);
	assert_int_equal(st.opackets, 16 * N_WORKERS);
}

static void test_tx_delay_fault(void **state)
{
	(void)state;
	struct rte_mbuf *pkts[64];
	/* The clock is the caller's: step it by hand so a busy machine cannot make the frames due early. */
	uint64_t t0 = rte_rdtsc();
	uint64_t due = t0 + rte_get_tsc_hz() * 300 / 1000000;
	for (uint16_t i = 0; i < 40; i++)
		pkts[i] = frame(500u + i);
	/* All frames are taken (held), none reach the ring yet. */
	assert_int_equal(weft_port_tx(2, 1, pkts, 40, t0, &ctr), 40);
	assert_int_equal(weft_port_rx(2, 1, pkts, 64, t0, &ctr), 0);
	weft_port_tx_drain(2, 1, due - 1, &ctr);
	assert_int_equal(weft_port_rx(2, 1, pkts, 64, t0, &ctr), 0);
	assert_int_equal(ctr.events[WEFT_EV_FAULT_DELAYED], 40);

	weft_port_tx_drain(2, 1, due, &ctr);
	uint16_t n = weft_port_rx(2, 1, pkts, 64, due, &ctr);
	assert_int_equal(n, 40);
	for (uint16_t i = 0; i < n; i++)
		assert_int_equal(seq_of(pkts[i]), 500 + i);
	rte_pktmbuf_free_bulk(pkts, n);

	/* A port without faults keeps its plain path alongside. */
	assert_int_equal(send_frames(0, 0, 0, 4), 4);
	assert_int_equal(weft_port_rx(0, 0, pkts, 64, rte_rdtsc(), &ctr), 4);
	rte_pktmbuf_free_bulk(pkts, 4);
}

static void test_rx_drop_fault(void **state)
{
	(void)state;
	struct rte_mbuf *pkts[64];
	uint64_t before = ctr.drops[WEFT_DROP_FAULT_DROP];
	assert_int_equal(send_frames(3, 0, 0, 24), 24);
	assert_int_equal(weft_port_rx(3, 0, pkts, 64, rte_rdtsc(), &ctr), 0);
	assert_int_equal(ctr.drops[WEFT_DROP_FAULT_DROP] - before, 24);
	struct weft_port_hw_stats st;
	assert_int_equal(weft_port_hw_stats(3, &st), 0);
	assert_int_equal(st.ipackets, 24); /* the device received them; injection dropped them after */
}

static void test_restart_refused(void **state)
{
	(void)state;
	char err[256];
	assert_int_equal(weft_ports_start(&cfg, N_WORKERS, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "already started"));
}

int main(int argc, char **argv)
{
	char err[WEFT_CFG_ERR_LEN];
	(void)argc;

	cfg.eal.main_cpu = 0;
	cfg.eal.n_workers = N_WORKERS;
	cfg.eal.worker_cpus[0] = 0; /* several lcores on one cpu is allowed; the workers never run here */
	cfg.eal.worker_cpus[1] = 0;
	cfg.eal.memory_mb = 256;
	cfg.eal.hugepages = false;
	cfg.eal.mbufs_per_worker = 2048;
	snprintf(cfg.eal.file_prefix, sizeof(cfg.eal.file_prefix), "test_ports");
	add_port("p0", WEFT_DRV_RING);
	add_port("p1", WEFT_DRV_NULL);
	add_port("p2", WEFT_DRV_RING);
	cfg.ports[2].fault_enabled = true;
	cfg.ports[2].fault_tx.delay_us = 300;
	add_port("p3", WEFT_DRV_RING);
	cfg.ports[3].fault_enabled = true;
	cfg.ports[3].fault_rx.drop = 1.0;

	char *extra[] = {(char *)"--no-telemetry", (char *)"--log-level=*:error"};
	if (weft_eal_start(&cfg, argv[0], 2, extra, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}

	/* A port whose device the EAL never created fails by name, and leaves nothing behind. */
	struct weft_config bad = cfg;
	bad.n_ports = 5;
	bad.ports[4] = cfg.ports[0];
	snprintf(bad.ports[4].name, sizeof(bad.ports[4].name), "px");
	bad.ports[4].driver = WEFT_DRV_AF_PACKET;
	snprintf(bad.ports[4].iface, sizeof(bad.ports[4].iface), "nope0");
	if (weft_ports_start(&bad, N_WORKERS, err, sizeof(err)) == 0 ||
	    strstr(err, "port px (af_packet iface=nope0): no DPDK device named net_af_packet4") == NULL ||
	    weft_port_count() != 0) {
		fprintf(stderr, "expected a named failure, got: %s\n", err);
		return 1;
	}

	if (weft_ports_start(&cfg, N_WORKERS, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_ring_loopback),
		cmocka_unit_test(test_null_rss_queues),
		cmocka_unit_test(test_tx_delay_fault),
		cmocka_unit_test(test_rx_drop_fault),
		cmocka_unit_test(test_restart_refused),
	};
	int failed = cmocka_run_group_tests_name("ports", tests, NULL, NULL);
	weft_ports_stop();
	if (weft_port_count() != 0 || weft_port_pool(0) != NULL) {
		fprintf(stderr, "weft_ports_stop left ports or pools behind\n");
		failed = 1;
	}
	rte_eal_cleanup();
	return failed ? 1 : 0;
}
