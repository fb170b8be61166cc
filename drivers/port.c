/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Port set-up and the rx/tx burst wrappers.
 *
 * Set-up runs on the management thread before the workers start; after
 * that, the tables here are only read, so the workers share them without
 * synchronisation. Each fault-injection state is written only by the worker
 * that owns its queue.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_pci.h>

#include "drivers/eal.h"
#include "drivers/fault.h"
#include "drivers/port.h"

#define DEFAULT_RX_DESC 1024
#define DEFAULT_TX_DESC 1024
#define DEFAULT_MBUFS_PER_WORKER 8192
#define POOL_CACHE 256
/* Mbufs a fault-injection delay queue is expected to hold in steady state (its hard bound is larger). */
#define FAULT_POOL_HEADROOM 1024

#define WANT_RSS_HF                                                                                \
	(RTE_ETH_RSS_NONFRAG_IPV4_TCP | RTE_ETH_RSS_NONFRAG_IPV4_UDP | RTE_ETH_RSS_NONFRAG_IPV6_TCP | \
	 RTE_ETH_RSS_NONFRAG_IPV6_UDP)

struct port_state {
	/* Read on every burst. */
	uint16_t port_id;
	struct weft_fault *fault[2][WEFT_MAX_WORKERS]; /* [enum weft_fault_dir][queue]; NULL: no faults */

	/* Set-up and management only. */
	struct weft_port_info info;
	char label[WEFT_CFG_NAME_LEN + 64]; /* "p0 (af_packet iface=wp0)", the prefix of every message */
	int node;                           /* NUMA node whose pool feeds the rx queues */
	uint16_t nb_rxd, nb_txd;
	bool configured;
} __rte_cache_aligned;

static struct port_state ports[WEFT_MAX_PORTS];
static unsigned n_ports;
static struct rte_mempool *pools[RTE_MAX_NUMA_NODES];

/*
 * The RSS key: 0x6d5a repeated. With it the Toeplitz hash of (src, dst,
 * sport, dport) equals that of (dst, src, dport, sport), so both directions
 * of a flow hash alike (Woo and Park, "Scalable TCP Session Monitoring with
 * Symmetric Receive-side Scaling", 2012). The software dispatcher and the
 * upstream source-port choice compute the same hash with rte_softrss().
 */
static void rss_key_fill(uint8_t *key, size_t len)
{
	for (size_t i = 0; i < len; i++)
		key[i] = (i & 1) ? 0x5a : 0x6d;
}

/*
 * Drivers that create their receive queues at probe time and spread frames
 * over all of them by a hash of their own (the kernel's fanout or steering,
 * the peer's choice for memif, the sending queue for ring). Every one of
 * those queues must be polled, whether or not the spread is Toeplitz.
 */
static bool spreads_by_itself(enum weft_port_driver d)
{
	return d == WEFT_DRV_AF_PACKET || d == WEFT_DRV_AF_XDP || d == WEFT_DRV_TAP || d == WEFT_DRV_MEMIF ||
	       d == WEFT_DRV_RING;
}

static void __attribute__((format(printf, 4, 5)))
port_err(const struct port_state *ps, char *err, size_t errlen, const char *fmt, ...)
{
	char msg[WEFT_CFG_ERR_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "port %s: %s", ps->label, msg);
}

static void __attribute__((format(printf, 2, 3))) port_warn(const struct port_state *ps, const char *fmt, ...)
{
	char msg[WEFT_CFG_ERR_LEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "weftd: warning: port %s: %s\n", ps->label, msg);
}

static void make_label(struct port_state *ps, const struct weft_port_cfg *pc)
{
	const char *kind = weft_port_kind(pc->driver);
	if (pc->driver == WEFT_DRV_PCI)
		snprintf(ps->label, sizeof(ps->label), "%s (pci %s)", pc->name, pc->pci);
	else if (pc->iface[0] != '\0')
		snprintf(ps->label, sizeof(ps->label), "%s (%s iface=%s)", pc->name, kind, pc->iface);
	else
		snprintf(ps->label, sizeof(ps->label), "%s (%s)", pc->name, kind);
}

/*
 * The ethdev name behind port `index`. Mostly the vdev name; PCI devices
 * are named by their canonical address ("0000:01:00.0" for "01:00.0"),
 * and a ring given nodeaction=NAME:... is named NAME.
 */
static int dev_lookup(const struct weft_port_cfg *pc, unsigned index, char *name, size_t len, uint16_t *pid)
{
	if (weft_port_dev_name(pc, index, name, len) < 0)
		return -1;
	if (pc->driver == WEFT_DRV_PCI) {
		struct rte_pci_addr addr;
		if (rte_pci_addr_parse(pc->pci, &addr) == 0)
			rte_pci_device_name(&addr, name, len);
	} else if (pc->driver == WEFT_DRV_RING) {
		const char *na = strstr(pc->devargs, "nodeaction=");
		if (na != NULL) {
			na += strlen("nodeaction=");
			size_t l = strcspn(na, ":,");
			if (l < len) {
				memcpy(name, na, l);
				name[l] = '\0';
			}
		}
	}
	return rte_eth_dev_get_port_by_name(name, pid);
}

static int node_of(int socket)
{
	return socket < 0 || socket >= RTE_MAX_NUMA_NODES ? 0 : socket;
}

/* Pass 1: find the device, decide the queues. Nothing is changed on the device yet. */
static int port_probe(struct port_state *ps, const struct weft_port_cfg *pc, unsigned index, unsigned n_workers,
		      char *err, size_t errlen)
{
	struct rte_eth_dev_info di;
	char name[RTE_ETH_NAME_MAX_LEN];
	int ret;

	if (dev_lookup(pc, index, name, sizeof(name), &ps->port_id) != 0) {
		/* The driver said why in the EAL log; name the usual causes. */
		const char *hint = "";
		if (pc->driver == WEFT_DRV_AF_XDP)
			hint = "; is the interface up, with one combined channel per worker (ethtool -l)?";
		else if (pc->driver == WEFT_DRV_AF_PACKET)
			hint = "; does the interface exist?";
		port_err(ps, err, errlen, "no DPDK device named %s (the driver failed to probe, see the EAL log above%s)",
			 name, hint);
		return -1;
	}
	ret = rte_eth_dev_info_get(ps->port_id, &di);
	if (ret != 0) {
		port_err(ps, err, errlen, "rte_eth_dev_info_get: %s", rte_strerror(-ret));
		return -1;
	}
	if (di.max_tx_queues < n_workers) {
		port_err(ps, err, errlen, "the %s driver offers %u tx queues; %u workers need one each",
			 di.driver_name, di.max_tx_queues, n_workers);
		return -1;
	}

	struct weft_port_info *info = &ps->info;
	snprintf(info->name, sizeof(info->name), "%s", pc->name);
	info->port_id = ps->port_id;
	info->n_txq = (uint16_t)n_workers;
	if (spreads_by_itself(pc->driver)) {
		if (di.max_rx_queues < n_workers) {
			port_err(ps, err, errlen, "the %s driver has %u rx queues, fewer than the %u workers",
				 di.driver_name, di.max_rx_queues, n_workers);
			return -1;
		}
		info->n_rxq = (uint16_t)n_workers;
		info->rss = false;
	} else if ((di.flow_type_rss_offloads & WANT_RSS_HF) != 0 && di.max_rx_queues >= n_workers) {
		info->n_rxq = (uint16_t)n_workers;
		info->rss = true;
	} else {
		info->n_rxq = 1;
		info->rss = false;
	}
	int socket = rte_eth_dev_socket_id(ps->port_id);
	info->socket = socket < 0 ? -1 : socket;
	ps->node = node_of(socket);

	ps->nb_rxd = pc->rx_desc ? pc->rx_desc : DEFAULT_RX_DESC;
	ps->nb_txd = pc->tx_desc ? pc->tx_desc : DEFAULT_TX_DESC;
	ret = rte_eth_dev_adjust_nb_rx_tx_desc(ps->port_id, &ps->nb_rxd, &ps->nb_txd);
	if (ret != 0) {
		port_err(ps, err, errlen, "rte_eth_dev_adjust_nb_rx_tx_desc: %s", rte_strerror(-ret));
		return -1;
	}
	return 0;
}

/* Set the RSS key and hash types on a configured port and check that the device holds them. */
static bool rss_key_applied(const struct port_state *ps, uint16_t pid, struct rte_eth_rss_conf *want)
{
	uint8_t got_key[128];
	struct rte_eth_rss_conf got = {.rss_key = got_key, .rss_key_len = sizeof(got_key)};
	struct rte_eth_rss_conf set = *want;
	int ret = rte_eth_dev_rss_hash_update(pid, &set);
	if (ret != 0 && ret != -ENOTSUP) {
		port_warn(ps, "cannot set the RSS key (%s); dispatching in software", rte_strerror(-ret));
		return false;
	}
	ret = rte_eth_dev_rss_hash_conf_get(pid, &got);
	if (ret == -ENOTSUP)
		return true; /* cannot check; configure accepted the key */
	if (ret != 0 || memcmp(got_key, want->rss_key, RTE_MIN((size_t)want->rss_key_len, sizeof(got_key))) != 0) {
		port_warn(ps, "the device does not hold our RSS key; dispatching in software");
		return false;
	}
	return true;
}

/* Pass 2: configure, set up queues, start. */
static int port_setup(struct port_state *ps, const struct weft_port_cfg *pc, unsigned index, char *err,
		      size_t errlen)
{
	struct weft_port_info *info = &ps->info;
	uint16_t pid = ps->port_id;
	struct rte_eth_dev_info di;
	struct rte_eth_conf conf;
	uint8_t key[128];
	int ret;

	ret = rte_eth_dev_info_get(pid, &di);
	if (ret != 0) {
		port_err(ps, err, errlen, "rte_eth_dev_info_get: %s", rte_strerror(-ret));
		return -1;
	}
	memset(&conf, 0, sizeof(conf));

	if (info->rss) {
		/* The device wants a key of its own length; the pattern repeats, so the first 40 bytes stay ours. */
		size_t klen = di.hash_key_size ? di.hash_key_size : sizeof(info->rss_key);
		if (klen > sizeof(key))
			klen = sizeof(key);
		rss_key_fill(key, klen);
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_key = key;
		conf.rx_adv_conf.rss_conf.rss_key_len = (uint8_t)klen;
		conf.rx_adv_conf.rss_conf.rss_hf = di.flow_type_rss_offloads & WANT_RSS_HF;
	}
	rss_key_fill(info->rss_key, sizeof(info->rss_key));
	info->rss_key_len = sizeof(info->rss_key);

	if (di.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) {
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_IPV4_CKSUM;
		info->tx_ip4_cksum = true;
	}
	const uint64_t tx_l4 = RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	if ((di.tx_offload_capa & tx_l4) == tx_l4) {
		conf.txmode.offloads |= tx_l4;
		info->tx_l4_cksum = true;
	}
	if ((di.rx_offload_capa & RTE_ETH_RX_OFFLOAD_CHECKSUM) == RTE_ETH_RX_OFFLOAD_CHECKSUM) {
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_CHECKSUM;
		info->rx_cksum = true;
	}
	/* A frame bigger than one default mbuf must be received in segments. */
	if (pc->mtu && (uint32_t)pc->mtu + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN + 4 >
			       RTE_MBUF_DEFAULT_BUF_SIZE - RTE_PKTMBUF_HEADROOM) {
		if (di.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER)
			conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
		if (di.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
			conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	}

	ret = rte_eth_dev_configure(pid, info->n_rxq, info->n_txq, &conf);
	if (ret != 0) {
		port_err(ps, err, errlen, "rte_eth_dev_configure: %s", rte_strerror(-ret));
		return -1;
	}
	ps->configured = true;

	uint16_t mtu = 0;
	if (pc->mtu) {
		if (rte_eth_dev_get_mtu(pid, &mtu) != 0 || mtu != pc->mtu) {
			ret = rte_eth_dev_set_mtu(pid, pc->mtu);
			if (ret != 0)
				port_warn(ps, "cannot set MTU %u: %s", pc->mtu, rte_strerror(-ret));
		}
	}
	if (rte_eth_dev_get_mtu(pid, &mtu) != 0)
		mtu = pc->mtu ? pc->mtu : RTE_ETHER_MTU;
	info->mtu = mtu;

	struct rte_eth_rxconf rxc = di.default_rxconf;
	rxc.offloads = conf.rxmode.offloads;
	int dev_socket = info->socket < 0 ? (int)SOCKET_ID_ANY : info->socket;
	for (uint16_t q = 0; q < info->n_rxq; q++) {
		ret = rte_eth_rx_queue_setup(pid, q, ps->nb_rxd, dev_socket, &rxc, pools[ps->node]);
		if (ret != 0) {
			port_err(ps, err, errlen, "rte_eth_rx_queue_setup(queue %u, %u descriptors): %s", q,
				 ps->nb_rxd, rte_strerror(-ret));
			return -1;
		}
	}
	struct rte_eth_txconf txc = di.default_txconf;
	txc.offloads = conf.txmode.offloads;
	for (uint16_t q = 0; q < info->n_txq; q++) {
		ret = rte_eth_tx_queue_setup(pid, q, ps->nb_txd, dev_socket, &txc);
		if (ret != 0) {
			port_err(ps, err, errlen, "rte_eth_tx_queue_setup(queue %u, %u descriptors): %s", q,
				 ps->nb_txd, rte_strerror(-ret));
			return -1;
		}
	}

	/*
	 * Program the RETA as entry i -> queue i % n_rxq rather than trusting
	 * each driver's default, so weft_port_rss_queue() is right everywhere.
	 */
	info->reta_size = 0;
	if (info->rss && di.reta_size > 0 && di.reta_size <= RTE_ETH_RSS_RETA_SIZE_512) {
		struct rte_eth_rss_reta_entry64 reta[RTE_ETH_RSS_RETA_SIZE_512 / RTE_ETH_RETA_GROUP_SIZE];
		memset(reta, 0, sizeof(reta));
		for (uint16_t i = 0; i < di.reta_size; i++) {
			reta[i / RTE_ETH_RETA_GROUP_SIZE].mask |= 1ULL << (i % RTE_ETH_RETA_GROUP_SIZE);
			reta[i / RTE_ETH_RETA_GROUP_SIZE].reta[i % RTE_ETH_RETA_GROUP_SIZE] = i % info->n_rxq;
		}
		ret = rte_eth_dev_rss_reta_update(pid, reta, di.reta_size);
		if (ret == 0)
			info->reta_size = di.reta_size;
		else
			port_warn(ps, "cannot program the RSS table (%s); assuming hash %% queues",
				  rte_strerror(-ret));
	}

	/*
	 * Some drivers (null among them) ignore the key given to configure;
	 * set it again explicitly and read it back. A device that will not
	 * take our key spreads flows where we cannot predict, so its workers
	 * must dispatch in software like on any other non-RSS port.
	 */
	if (info->rss && !rss_key_applied(ps, pid, &conf.rx_adv_conf.rss_conf)) {
		info->rss = false;
		info->reta_size = 0;
	}

	ret = rte_eth_dev_start(pid);
	if (ret != 0) {
		port_err(ps, err, errlen, "rte_eth_dev_start: %s", rte_strerror(-ret));
		return -1;
	}
	/* weft answers for its own addresses on a shared medium (veth, vdev); the device must not filter. */
	ret = rte_eth_promiscuous_enable(pid);
	if (ret != 0 && ret != -ENOTSUP)
		port_warn(ps, "promiscuous mode: %s", rte_strerror(-ret));
	ret = rte_eth_allmulticast_enable(pid);
	if (ret != 0 && ret != -ENOTSUP)
		port_warn(ps, "all-multicast mode: %s", rte_strerror(-ret));

	struct rte_ether_addr mac;
	ret = rte_eth_macaddr_get(pid, &mac);
	if (ret != 0) {
		port_err(ps, err, errlen, "rte_eth_macaddr_get: %s", rte_strerror(-ret));
		return -1;
	}
	if (rte_is_zero_ether_addr(&mac)) {
		/*
		 * The ring PMD has no address. Frames from an all-zero source are
		 * dropped by any sane receiver, so make up a locally administered one;
		 * the device keeps forwarding regardless (promiscuous).
		 */
		rte_eth_random_addr(mac.addr_bytes);
		(void)rte_eth_dev_default_mac_addr_set(pid, &mac);
	}
	memcpy(info->mac, mac.addr_bytes, sizeof(info->mac));

	if (pc->fault_enabled) {
		uint64_t hz = rte_get_tsc_hz();
		const struct weft_fault_cfg *fc[2] = {[WEFT_FAULT_RX] = &pc->fault_rx, [WEFT_FAULT_TX] = &pc->fault_tx};
		uint16_t nq[2] = {[WEFT_FAULT_RX] = info->n_rxq, [WEFT_FAULT_TX] = info->n_txq};
		for (int dir = 0; dir < 2; dir++) {
			if (!weft_fault_cfg_active(fc[dir]))
				continue;
			for (uint16_t q = 0; q < nq[dir]; q++) {
				uint64_t seed = weft_fault_seed(pc->fault_seed, (uint16_t)index, q, dir);
				ps->fault[dir][q] = weft_fault_create(fc[dir], seed, hz, ps->node);
				if (ps->fault[dir][q] == NULL) {
					port_err(ps, err, errlen, "fault injection (%s queue %u): %s",
						 dir == WEFT_FAULT_RX ? "rx" : "tx", q, rte_strerror(rte_errno));
					return -1;
				}
			}
		}
	}
	return 0;
}

static void pools_free(void)
{
	for (int i = 0; i < RTE_MAX_NUMA_NODES; i++) {
		rte_mempool_free(pools[i]);
		pools[i] = NULL;
	}
}

int weft_ports_start(const struct weft_config *cfg, unsigned n_workers, char *err, size_t errlen)
{
	bool node_used[RTE_MAX_NUMA_NODES] = {false};
	uint64_t desc = 0, fault_room = 0;
	unsigned lcore;

	if (n_ports != 0) {
		snprintf(err, errlen, "ports: already started");
		return -1;
	}
	if (n_workers == 0 || n_workers > WEFT_MAX_WORKERS) {
		snprintf(err, errlen, "ports: %u workers; between 1 and %d supported", n_workers, WEFT_MAX_WORKERS);
		return -1;
	}
	if (cfg->n_ports > WEFT_MAX_PORTS) {
		snprintf(err, errlen, "ports: %u configured, at most %d supported", cfg->n_ports, WEFT_MAX_PORTS);
		return -1;
	}

	memset(ports, 0, sizeof(ports));
	for (unsigned i = 0; i < cfg->n_ports; i++) {
		const struct weft_port_cfg *pc = &cfg->ports[i];
		struct port_state *ps = &ports[i];
		make_label(ps, pc);
		if (port_probe(ps, pc, i, n_workers, err, errlen) < 0)
			return -1;
		node_used[ps->node] = true;
		desc += (uint64_t)ps->nb_rxd * ps->info.n_rxq + (uint64_t)ps->nb_txd * ps->info.n_txq;
		if (pc->fault_enabled)
			fault_room += FAULT_POOL_HEADROOM *
				      ((weft_fault_cfg_active(&pc->fault_rx) ? ps->info.n_rxq : 0) +
				       (weft_fault_cfg_active(&pc->fault_tx) ? ps->info.n_txq : 0));
	}
	/* Workers allocate what they send from the pool of their own node. */
	RTE_LCORE_FOREACH_WORKER(lcore)
		node_used[node_of(weft_lcore_socket(lcore))] = true;

	/*
	 * Each pool can feed every queue: worker budgets, every descriptor of
	 * every port (filled rings hold mbufs), every lcore's cache, and what
	 * fault injection keeps back.
	 */
	unsigned per_worker = cfg->eal.mbufs_per_worker ? cfg->eal.mbufs_per_worker : DEFAULT_MBUFS_PER_WORKER;
	uint64_t n_mbufs = (uint64_t)n_workers * per_worker + desc + (uint64_t)POOL_CACHE * rte_lcore_count() +
			   fault_room + 1024;
	if (n_mbufs > UINT32_MAX) {
		snprintf(err, errlen, "ports: %" PRIu64 " mbufs needed per pool, too many", n_mbufs);
		return -1;
	}
	for (int node = 0; node < RTE_MAX_NUMA_NODES; node++) {
		if (!node_used[node] || pools[node] != NULL)
			continue;
		char name[RTE_MEMPOOL_NAMESIZE];
		snprintf(name, sizeof(name), "weft_mbuf_n%d", node);
		pools[node] = rte_pktmbuf_pool_create(name, (unsigned)n_mbufs, POOL_CACHE, 0,
						      RTE_MBUF_DEFAULT_BUF_SIZE, node);
		if (pools[node] == NULL) {
			snprintf(err, errlen,
				 "ports: mbuf pool on NUMA node %d (%" PRIu64 " mbufs of %u bytes): %s; "
				 "raise eal.memory_mb or lower eal.mbufs_per_worker",
				 node, n_mbufs, RTE_MBUF_DEFAULT_BUF_SIZE, rte_strerror(rte_errno));
			pools_free();
			return -1;
		}
	}

	for (unsigned i = 0; i < cfg->n_ports; i++) {
		n_ports = i + 1; /* so weft_ports_stop() undoes what is done so far */
		if (port_setup(&ports[i], &cfg->ports[i], i, err, errlen) < 0) {
			weft_ports_stop();
			return -1;
		}
	}
	n_ports = cfg->n_ports;
	return 0;
}

void weft_ports_stop(void)
{
	for (unsigned i = 0; i < n_ports; i++) {
		struct port_state *ps = &ports[i];
		if (ps->configured) {
			/*
			 * Kernel-backed ports (af_packet, tap) would otherwise leave the
			 * interface promiscuous after we exit. Errors here are only
			 * "already done" or "not supported"; nothing to do about either.
			 */
			(void)rte_eth_promiscuous_disable(ps->port_id);
			(void)rte_eth_allmulticast_disable(ps->port_id);
			(void)rte_eth_dev_stop(ps->port_id);
			(void)rte_eth_dev_close(ps->port_id);
			ps->configured = false;
		}
		for (int dir = 0; dir < 2; dir++)
			for (int q = 0; q < WEFT_MAX_WORKERS; q++) {
				weft_fault_destroy(ps->fault[dir][q]);
				ps->fault[dir][q] = NULL;
			}
	}
	n_ports = 0;
	pools_free();
}

unsigned weft_port_count(void)
{
	return n_ports;
}

const struct weft_port_info *weft_port_info(uint16_t port)
{
	return port < n_ports ? &ports[port].info : NULL;
}

struct rte_mempool *weft_port_pool(int socket)
{
	if (socket >= 0 && socket < RTE_MAX_NUMA_NODES && pools[socket] != NULL)
		return pools[socket];
	for (int i = 0; i < RTE_MAX_NUMA_NODES; i++)
		if (pools[i] != NULL)
			return pools[i];
	return NULL;
}

/* ---- bursts ------------------------------------------------------------ */

/*
 * Send out[0..n-1]; what the device does not take is freed and counted as
 * tx_full. Takes ownership of all n.
 */
static void tx_send_all(uint16_t pid, uint16_t queue, struct rte_mbuf **out, uint16_t n,
			struct weft_worker_counters *ctr)
{
	uint16_t sent = n ? rte_eth_tx_burst(pid, queue, out, n) : 0;
	if (sent < n) {
		WEFT_CTR_ADD(ctr->drops[WEFT_DROP_TX_FULL], n - sent);
		rte_pktmbuf_free_bulk(out + sent, n - sent);
	}
}

/*
 * The rx path with faults. Frames held earlier and due now come first, so
 * they keep their place ahead of newer ones. Ownership of pkts[0..ret-1]
 * passes to the caller.
 */
static uint16_t __rte_noinline rx_faulty(uint16_t pid, struct weft_fault *f, uint16_t queue, struct rte_mbuf **pkts,
					 uint16_t n, uint64_t now, struct weft_worker_counters *ctr)
{
	struct rte_mbuf *burst[64];
	uint16_t k = weft_fault_release(f, pkts, n, now, ctr);
	if (k < n) {
		uint16_t got = rte_eth_rx_burst(pid, queue, burst, RTE_MIN((uint16_t)(n - k), (uint16_t)RTE_DIM(burst)));
		k += weft_fault_apply(f, burst, got, pkts + k, n - k, now, ctr);
	}
	return k;
}

uint16_t weft_port_rx(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n, uint64_t now,
		      struct weft_worker_counters *ctr)
{
	const struct port_state *ps = &ports[port];
	struct weft_fault *f = ps->fault[WEFT_FAULT_RX][queue];
	if (f == NULL)
		return rte_eth_rx_burst(ps->port_id, queue, pkts, n);
	return rx_faulty(ps->port_id, f, queue, pkts, n, now, ctr);
}

/*
 * The tx path with faults: takes ownership of all n frames. Whatever the
 * device refuses after the fault stages is freed here as tx_full, because
 * after duplication and reordering the leftovers no longer line up with
 * the caller's array.
 */
static uint16_t __rte_noinline tx_faulty(uint16_t pid, struct weft_fault *f, uint16_t queue, struct rte_mbuf **pkts,
					 uint16_t n, uint64_t now, struct weft_worker_counters *ctr)
{
	struct rte_mbuf *out[96];
	for (uint16_t done = 0; done < n;) {
		uint16_t chunk = RTE_MIN((uint16_t)(n - done), (uint16_t)32);
		uint16_t k = weft_fault_release(f, out, RTE_DIM(out), now, ctr);
		k += weft_fault_apply(f, pkts + done, chunk, out + k, RTE_DIM(out) - k, now, ctr);
		tx_send_all(pid, queue, out, k, ctr);
		done += chunk;
	}
	return n;
}

uint16_t weft_port_tx(uint16_t port, uint16_t queue, struct rte_mbuf **pkts, uint16_t n, uint64_t now,
		      struct weft_worker_counters *ctr)
{
	const struct port_state *ps = &ports[port];
	struct weft_fault *f = ps->fault[WEFT_FAULT_TX][queue];
	if (f == NULL)
		return rte_eth_tx_burst(ps->port_id, queue, pkts, n);
	return tx_faulty(ps->port_id, f, queue, pkts, n, now, ctr);
}

void weft_port_tx_drain(uint16_t port, uint16_t queue, uint64_t now, struct weft_worker_counters *ctr)
{
	const struct port_state *ps = &ports[port];
	struct weft_fault *f = ps->fault[WEFT_FAULT_TX][queue];
	if (f == NULL)
		return;
	struct rte_mbuf *out[64];
	uint16_t k;
	do {
		k = weft_fault_release(f, out, RTE_DIM(out), now, ctr);
		tx_send_all(ps->port_id, queue, out, k, ctr);
	} while (k == RTE_DIM(out));
}

int weft_port_hw_stats(uint16_t port, struct weft_port_hw_stats *st)
{
	if (port >= n_ports)
		return -1;
	uint16_t pid = ports[port].port_id;
	struct rte_eth_stats s;
	struct rte_eth_link link;

	memset(st, 0, sizeof(*st));
	if (rte_eth_stats_get(pid, &s) != 0)
		return -1;
	st->ipackets = s.ipackets;
	st->opackets = s.opackets;
	st->ibytes = s.ibytes;
	st->obytes = s.obytes;
	st->imissed = s.imissed;
	st->ierrors = s.ierrors;
	st->oerrors = s.oerrors;
	st->rx_nombuf = s.rx_nombuf;
	if (rte_eth_link_get_nowait(pid, &link) == 0) {
		st->link_up = link.link_status == RTE_ETH_LINK_UP;
		st->link_speed_mbps = link.link_speed == RTE_ETH_SPEED_NUM_UNKNOWN ? 0 : link.link_speed;
	}
	return 0;
}
