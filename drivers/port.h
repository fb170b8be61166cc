/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * DPDK ports: EAL start-up, vdev presets, queue set-up, mempools and the
 * rx/tx burst wrappers the workers call. Nothing above drivers/ calls
 * rte_eth_* directly.
 *
 * weft numbers its ports 0..n-1 in config order ("port index"); the DPDK
 * port id behind each is a driver detail.
 */
#ifndef WEFT_DRIVERS_PORT_H
#define WEFT_DRIVERS_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "dataplane/counters.h"
#include "policy/config.h"

struct weft_port_info {
	char name[WEFT_CFG_NAME_LEN];
	uint16_t port_id;  /* DPDK port id */
	uint8_t mac[6];
	int socket;        /* NUMA node of the device, -1 if unknown */
	/*
	 * Receive queues, all of which must be polled: worker w polls queue w
	 * for w < n_rxq. n_workers when the device spreads frames over queues
	 * (by RSS, or by a kernel hash for af_packet, af_xdp, tap, memif and
	 * the per-queue loops of ring), else 1.
	 */
	uint16_t n_rxq;
	uint16_t n_txq;    /* always n_workers: each worker owns one */
	/*
	 * true: queues are chosen by Toeplitz with rss_key and the RETA below,
	 * so weft_port_rss_queue() predicts where a flow lands. false: the
	 * spread (if any) is not ours, and workers dispatch in software.
	 */
	bool rss;
	bool tx_ip4_cksum; /* the port computes IPv4 header checksums */
	bool tx_l4_cksum;  /* the port computes TCP/UDP checksums */
	bool rx_cksum;     /* the port validates checksums on receive */
	uint8_t rss_key[40];
	uint8_t rss_key_len;
	uint16_t reta_size; /* entries of the programmed RETA (entry i -> queue i % n_rxq); 0 if not programmed */
	uint16_t mtu;
};

/**
 * The receive queue a frame with Toeplitz hash `hash` lands on when
 * info->rss is true: the RETA entry indexed by the low bits of the hash.
 */
static inline uint16_t weft_port_rss_queue(const struct weft_port_info *info, uint32_t hash)
{
	if (info->n_rxq <= 1)
		return 0;
	if (info->reta_size)
		hash %= info->reta_size;
	return (uint16_t)(hash % info->n_rxq);
}

struct weft_port_hw_stats {
	bool link_up;
	uint32_t link_speed_mbps;
	uint64_t ipackets, opackets, ibytes, obytes, imissed, ierrors, oerrors, rx_nombuf;
};

/**
 * Build the EAL argument vector from cfg and call rte_eal_init().
 * extra_argv (what followed "--" on the command line) is appended.
 * @return 0, or -1 with err filled.
 */
int weft_eal_start(const struct weft_config *cfg, const char *argv0, int extra_argc, char **extra_argv,
		   char *err, size_t errlen);

/**
 * Create the vdevs, mempools (one per NUMA node in use, sized for n_workers),
 * configure n_workers tx queues and as many rx queues as the PMD can spread
 * by RSS on every port, start them, enable promiscuous/all-multicast mode.
 * @return 0, or -1 with err filled ("port p0 (af_packet iface=x): ...").
 */
int weft_ports_start(const struct weft_config *cfg, unsigned n_workers, char *err, size_t errlen);

/** Stop and close every port. */
void weft_ports_stop(void);

unsigned weft_port_count(void);
const struct weft_port_info *weft_port_info(uint16_t port);

/** The mempool for a worker running on NUMA node socket (falls back to any). */
struct rte_mempool *weft_port_pool(int socket);

/**
 * Receive up to n frames from (port, queue). Fault injection for the rx
 * direction applies here: dropped frames are counted in ctr and freed,
 * delayed ones come back from a later call. Ownership of the returned mbufs
 * passes to the caller. now is the caller's TSC.
 */
uint16_t weft_port_rx(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n, uint64_t now,
		      struct weft_worker_counters *ctr);

/**
 * Transmit up to n frames on (port, queue), applying tx fault injection.
 * Returns how many the caller no longer owns (sent, held or dropped by
 * injection); pkts[ret..n-1] still belong to the caller, which must free them.
 */
uint16_t weft_port_tx(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n, uint64_t now,
		      struct weft_worker_counters *ctr);

/** Release frames held back by fault injection whose time has come. Call once per iteration. */
void weft_port_tx_drain(uint16_t port, uint16_t queue, uint64_t now, struct weft_worker_counters *ctr);

/** Device counters and link state (management thread only). Returns 0 or -1. */
int weft_port_hw_stats(uint16_t port, struct weft_port_hw_stats *st);

/** NUMA node of an lcore's cpu (libnuma), 0 when unknown. */
int weft_lcore_socket(unsigned lcore);

#endif
