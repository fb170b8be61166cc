/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The compiled network table: per-port addresses and the IPv4/IPv6 route
 * tables (connected subnets, static routes, gateways), as workers read them
 * from the current snapshot. Plain C; lookups are pure functions.
 *
 * Route lookup is longest-prefix match over an array sorted by prefix length,
 * longest first. Gateway nodes carry tens of routes, not the Internet table;
 * a linear scan over a few cache lines beats a trie at that size.
 */
#ifndef WEFT_POLICY_NETCFG_H
#define WEFT_POLICY_NETCFG_H

#include <stdbool.h>
#include <stdint.h>

#include "policy/config.h"

#define WEFT_NET_MAX_IFACES WEFT_CFG_MAX_PORTS
#define WEFT_NET_MAX_ADDRS WEFT_CFG_MAX_ADDRS
#define WEFT_NET_MAX_ROUTES (WEFT_CFG_MAX_ROUTES + WEFT_NET_MAX_IFACES * (WEFT_NET_MAX_ADDRS + 1))

/* Field names avoid ip6_plen/ip4_plen: <netinet/ip6.h> defines ip6_plen as a macro. */
struct weft_iface {
	uint16_t port;      /* weft port index (config order), not a DPDK port id */
	uint8_t mac[6];
	uint16_t mtu;
	unsigned n_ip4;
	uint32_t ip4[WEFT_NET_MAX_ADDRS];  /* network byte order */
	uint8_t ip4_prefixlen[WEFT_NET_MAX_ADDRS];
	unsigned n_ip6;                    /* includes the link-local address, always ip6[0] */
	uint8_t ip6[WEFT_NET_MAX_ADDRS + 1][16];
	uint8_t ip6_prefixlen[WEFT_NET_MAX_ADDRS + 1];
};

struct weft_route4 {
	uint32_t prefix;  /* network byte order, host bits zero */
	uint32_t mask;    /* network byte order */
	uint32_t gateway; /* 0: destination is on-link */
	uint16_t port;
	uint8_t plen;
};

struct weft_route6 {
	uint8_t prefix[16];
	uint8_t gateway[16];
	bool on_link;
	uint16_t port;
	uint8_t plen;
};

struct weft_net_table {
	unsigned n_ifaces;
	struct weft_iface ifaces[WEFT_NET_MAX_IFACES];
	unsigned n_routes4;
	struct weft_route4 routes4[WEFT_NET_MAX_ROUTES];
	unsigned n_routes6;
	struct weft_route6 routes6[WEFT_NET_MAX_ROUTES];
};

/**
 * Compile the network part of a validated config.
 *
 * @param macs  MAC address of each configured port, in config order
 * @return 0, or -1 with err naming the offending route (line and key)
 */
int weft_net_compile(const struct weft_config *cfg, const uint8_t (*macs)[6], struct weft_net_table *t,
		     char *err, size_t errlen);

/** Longest-prefix match; NULL when nothing matches. dst in network byte order. */
const struct weft_route4 *weft_route4_lookup(const struct weft_net_table *t, uint32_t dst);
const struct weft_route6 *weft_route6_lookup(const struct weft_net_table *t, const uint8_t dst[16]);

/** Interface owning IPv4 address a on port, or NULL. */
const struct weft_iface *weft_net_local4(const struct weft_net_table *t, uint16_t port, uint32_t a);
/** Interface owning IPv6 unicast address a on port (link-local included), or NULL. */
const struct weft_iface *weft_net_local6(const struct weft_net_table *t, uint16_t port, const uint8_t a[16]);
/** True when a is the solicited-node multicast group of one of port's IPv6 addresses (RFC 4291 2.7.1). */
bool weft_net_solicited6(const struct weft_net_table *t, uint16_t port, const uint8_t a[16]);
/** Source address to use towards dst on port: the address in dst's subnet, else the first one. 0 if none. */
uint32_t weft_net_src4(const struct weft_net_table *t, uint16_t port, uint32_t dst);
/** Same for IPv6 (link-local when dst is link-local). Returns false if the port has none. */
bool weft_net_src6(const struct weft_net_table *t, uint16_t port, const uint8_t dst[16], uint8_t out[16]);

#endif
