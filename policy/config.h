/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The configuration model: what an operator writes in weft.yaml, parsed and
 * validated but not yet compiled. Plain C, no DPDK, so it unit-tests alone.
 *
 * Addresses are kept in network byte order (IPv4 as a uint32_t holding the
 * four bytes as they appear on the wire, IPv6 as 16 bytes).
 */
#ifndef WEFT_POLICY_CONFIG_H
#define WEFT_POLICY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WEFT_CFG_MAX_PORTS 8
#define WEFT_CFG_MAX_WORKERS 16
#define WEFT_CFG_MAX_ADDRS 8
#define WEFT_CFG_MAX_ROUTES 256
#define WEFT_CFG_MAX_EAL_ARGS 32
#define WEFT_CFG_NAME_LEN 32
#define WEFT_CFG_ERR_LEN 512
#define WEFT_CFG_MAX_SIZE (4u << 20) /* largest config accepted, file or API body */

enum weft_port_driver {
	WEFT_DRV_AF_PACKET,
	WEFT_DRV_AF_XDP,
	WEFT_DRV_TAP,
	WEFT_DRV_MEMIF,
	WEFT_DRV_RING,
	WEFT_DRV_NULL,
	WEFT_DRV_PCAP,
	WEFT_DRV_PCI,
};

/* An address family-tagged IP address. */
struct weft_ip {
	uint8_t af; /* 4 or 6 */
	union {
		uint32_t v4;     /* network byte order */
		uint8_t v6[16];
	};
};

struct weft_prefix {
	struct weft_ip ip;
	uint8_t plen;
};

/* Packet faults for one direction of one port. Probabilities in [0,1]. */
struct weft_fault_cfg {
	double drop;
	double duplicate;
	double corrupt;  /* flip one random byte past the Ethernet header */
	double reorder;  /* hold a packet back and release it after the next one */
	uint32_t delay_us;  /* fixed added latency */
	uint32_t jitter_us; /* uniform extra latency in [0, jitter_us] */
};

struct weft_port_cfg {
	char name[WEFT_CFG_NAME_LEN];
	enum weft_port_driver driver;
	char iface[WEFT_CFG_NAME_LEN]; /* kernel interface (af_packet, af_xdp, tap), memif socket id, pcap file */
	char pci[WEFT_CFG_NAME_LEN];   /* PCI address for driver pci */
	char devargs[256];              /* extra devargs appended verbatim */
	uint16_t mtu;
	uint16_t rx_desc;
	uint16_t tx_desc;
	unsigned n_addrs;
	struct weft_prefix addrs[WEFT_CFG_MAX_ADDRS]; /* our addresses with their connected prefix */
	bool has_gw4;
	struct weft_ip gw4;
	bool has_gw6;
	struct weft_ip gw6;
	uint64_t fault_seed;
	bool fault_enabled;
	struct weft_fault_cfg fault_rx;
	struct weft_fault_cfg fault_tx;
	int line; /* source line, for later error messages */
};

struct weft_route_cfg {
	struct weft_prefix dst;
	struct weft_ip via;
	char port[WEFT_CFG_NAME_LEN]; /* optional; derived from the connected subnet of via */
	int line;
};

struct weft_eal_cfg {
	int main_cpu;                         /* cpu of the management thread */
	unsigned n_workers;
	int worker_cpus[WEFT_CFG_MAX_WORKERS]; /* one worker per entry */
	unsigned memory_mb;
	bool hugepages;                       /* false: --no-huge */
	char file_prefix[64];
	unsigned mbufs_per_worker;
	unsigned n_args;
	char args[WEFT_CFG_MAX_EAL_ARGS][128]; /* extra EAL arguments, verbatim */
};

struct weft_admin_cfg {
	struct weft_ip addr; /* must be loopback */
	uint16_t port;
};

struct weft_config {
	struct weft_eal_cfg eal;
	unsigned n_ports;
	struct weft_port_cfg ports[WEFT_CFG_MAX_PORTS];
	unsigned n_routes;
	struct weft_route_cfg routes[WEFT_CFG_MAX_ROUTES];
	struct weft_admin_cfg admin;
};

/**
 * Parse and validate a YAML configuration held in memory.
 *
 * @param text, len  the YAML document
 * @param name       file name used in error messages
 * @param cfg        filled on success; unspecified on failure
 * @param err        on failure, "NAME:LINE: KEY.PATH: what is wrong"
 * @return 0 on success, -1 on error (err filled)
 */
int weft_config_parse(const char *text, size_t len, const char *name, struct weft_config *cfg,
		      char *err, size_t errlen);

/** Read FILE and call weft_config_parse(). Returns 0 or -1 with err filled. */
int weft_config_load(const char *path, struct weft_config *cfg, char *err, size_t errlen);

/** Fill cfg with defaults (what an empty document means). */
void weft_config_defaults(struct weft_config *cfg);

/** Parse "198.18.0.1" or "2001:db8::1". Returns 0 or -1. */
int weft_ip_parse(const char *s, struct weft_ip *ip);
/** Parse "198.18.0.0/15" or "2001:db8::/32". Returns 0 or -1. */
int weft_prefix_parse(const char *s, struct weft_prefix *p);
/** Format into buf (at least 48 bytes). Returns buf. */
char *weft_ip_fmt(const struct weft_ip *ip, char *buf, size_t len);
/** True when addr lies inside prefix (same family). */
bool weft_prefix_contains(const struct weft_prefix *p, const struct weft_ip *addr);

const char *weft_driver_name(enum weft_port_driver d);

/** Driver by its config name ("af_packet", ...). Returns 0, or -1 for an unknown name. */
int weft_driver_parse(const char *s, enum weft_port_driver *d);
/** Format "198.18.0.0/15" into buf (at least 52 bytes). Returns buf. */
char *weft_prefix_fmt(const struct weft_prefix *p, char *buf, size_t len);
/** Fill one port with the defaults a port entry starts from (mtu 1500, 1024 descriptors, fault seed 1). */
void weft_port_cfg_defaults(struct weft_port_cfg *p);

#endif
