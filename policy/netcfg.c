/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Compile the network part of a config into the table workers read, and the
 * lookups over it. Plain C: this file must not depend on DPDK or on the YAML
 * loader, so it carries its own small address helpers.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy/netcfg.h"

static uint32_t mask4(unsigned plen)
{
	/* A shift by 32 is undefined in C, hence the special case. */
	return plen == 0 ? 0 : htonl(~UINT32_C(0) << (32 - plen));
}

/* True when the first plen bits of a and b agree. */
static bool prefix6_match(const uint8_t a[16], const uint8_t b[16], unsigned plen)
{
	unsigned bytes = plen / 8, bits = plen % 8;

	if (memcmp(a, b, bytes) != 0)
		return false;
	if (bits == 0)
		return true;
	uint8_t m = (uint8_t)(0xff << (8 - bits));
	return ((a[bytes] ^ b[bytes]) & m) == 0;
}

static void mask6(uint8_t out[16], const uint8_t in[16], unsigned plen)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned keep = plen >= 8 * (i + 1) ? 8 : plen > 8 * i ? plen - 8 * i : 0;
		out[i] = keep == 0 ? 0 : (uint8_t)(in[i] & (0xff << (8 - keep)));
	}
}

/* fe80::/10 (RFC 4291 2.5.6). */
static bool is_ll6(const uint8_t a[16])
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

static bool is_zero6(const uint8_t a[16])
{
	static const uint8_t zero[16];
	return memcmp(a, zero, 16) == 0;
}

static const char *fmt_ip(const struct weft_ip *ip, char *buf, size_t len)
{
	if (inet_ntop(ip->af == 4 ? AF_INET : AF_INET6, ip->af == 4 ? (const void *)&ip->v4 : ip->v6,
		      buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "(invalid address)");
	return buf;
}

__attribute__((format(printf, 4, 5)))
static int fail(char *err, size_t errlen, int line, const char *fmt, ...)
{
	va_list ap;
	size_t off = 0;

	if (err == NULL || errlen == 0)
		return -1;
	/* No file name reaches the compiler; the loader's "NAME:" is replaced by "line N". */
	if (line > 0) {
		int n = snprintf(err, errlen, "line %d: ", line);
		off = n > 0 && (size_t)n < errlen ? (size_t)n : 0;
	}
	va_start(ap, fmt);
	vsnprintf(err + off, errlen - off, fmt, ap);
	va_end(ap);
	return -1;
}

/* Modified EUI-64 interface identifier from a 48-bit MAC (RFC 4291 2.5.1, appendix A; RFC 2464 4, 5). */
static void ll6_from_mac(uint8_t out[16], const uint8_t mac[6])
{
	memset(out, 0, 16);
	out[0] = 0xfe;
	out[1] = 0x80;
	out[8] = mac[0] ^ 0x02; /* invert the universal/local bit */
	out[9] = mac[1];
	out[10] = mac[2];
	out[11] = 0xff;
	out[12] = 0xfe;
	out[13] = mac[3];
	out[14] = mac[4];
	out[15] = mac[5];
}

/* Port whose connected subnets contain a (port_hint restricts the search), or -1. */
static int connected_port4(const struct weft_net_table *t, uint32_t a, int port_hint)
{
	for (unsigned p = 0; p < t->n_ifaces; p++) {
		const struct weft_iface *ifc = &t->ifaces[p];
		if (port_hint >= 0 && (unsigned)port_hint != p)
			continue;
		for (unsigned i = 0; i < ifc->n_ip4; i++) {
			uint32_t m = mask4(ifc->ip4_prefixlen[i]);
			if ((a & m) == (ifc->ip4[i] & m))
				return (int)p;
		}
	}
	return -1;
}

static int connected_port6(const struct weft_net_table *t, const uint8_t a[16], int port_hint)
{
	for (unsigned p = 0; p < t->n_ifaces; p++) {
		const struct weft_iface *ifc = &t->ifaces[p];
		if (port_hint >= 0 && (unsigned)port_hint != p)
			continue;
		for (unsigned i = 0; i < ifc->n_ip6; i++)
			if (prefix6_match(a, ifc->ip6[i], ifc->ip6_prefixlen[i]))
				return (int)p;
	}
	return -1;
}

static bool is_local4_any(const struct weft_net_table *t, uint32_t a)
{
	for (unsigned p = 0; p < t->n_ifaces; p++)
		if (weft_net_local4(t, (uint16_t)p, a) != NULL)
			return true;
	return false;
}

static bool is_local6_any(const struct weft_net_table *t, const uint8_t a[16])
{
	for (unsigned p = 0; p < t->n_ifaces; p++)
		if (weft_net_local6(t, (uint16_t)p, a) != NULL)
			return true;
	return false;
}

static int add_route4(struct weft_net_table *t, uint32_t prefix, unsigned plen, uint32_t gw, uint16_t port,
		      bool dedup)
{
	uint32_t m = mask4(plen);

	if (dedup) {
		for (unsigned i = 0; i < t->n_routes4; i++) {
			const struct weft_route4 *r = &t->routes4[i];
			if (r->prefix == (prefix & m) && r->plen == plen && r->gateway == gw && r->port == port)
				return 0;
		}
	}
	if (t->n_routes4 == WEFT_NET_MAX_ROUTES)
		return -1;
	t->routes4[t->n_routes4++] = (struct weft_route4){
		.prefix = prefix & m, .mask = m, .gateway = gw, .port = port, .plen = (uint8_t)plen};
	return 0;
}

static int add_route6(struct weft_net_table *t, const uint8_t prefix[16], unsigned plen, const uint8_t *gw,
		      uint16_t port, bool dedup)
{
	struct weft_route6 r = {.on_link = gw == NULL, .port = port, .plen = (uint8_t)plen};

	mask6(r.prefix, prefix, plen);
	if (gw != NULL)
		memcpy(r.gateway, gw, 16);
	if (dedup) {
		for (unsigned i = 0; i < t->n_routes6; i++) {
			const struct weft_route6 *o = &t->routes6[i];
			if (o->plen == r.plen && o->port == r.port && o->on_link == r.on_link &&
			    memcmp(o->prefix, r.prefix, 16) == 0 && memcmp(o->gateway, r.gateway, 16) == 0)
				return 0;
		}
	}
	if (t->n_routes6 == WEFT_NET_MAX_ROUTES)
		return -1;
	t->routes6[t->n_routes6++] = r;
	return 0;
}

/*
 * Insertion sort, longest prefix first. Stable, so routes of equal length keep
 * the order they were added in (connected, then static in config order, then
 * defaults), which is what makes the first match the intended one. A few
 * hundred routes at most, sorted once per config.
 */
static void sort_routes4(struct weft_route4 *r, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		struct weft_route4 k = r[i];
		unsigned j = i;
		while (j > 0 && r[j - 1].plen < k.plen) {
			r[j] = r[j - 1];
			j--;
		}
		r[j] = k;
	}
}

static void sort_routes6(struct weft_route6 *r, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		struct weft_route6 k = r[i];
		unsigned j = i;
		while (j > 0 && r[j - 1].plen < k.plen) {
			r[j] = r[j - 1];
			j--;
		}
		r[j] = k;
	}
}

static int compile_ifaces(const struct weft_config *cfg, const uint8_t (*macs)[6], struct weft_net_table *t,
			  char *err, size_t errlen)
{
	if (cfg->n_ports > WEFT_NET_MAX_IFACES)
		return fail(err, errlen, 0, "ports: %u ports, at most %d are supported", cfg->n_ports,
			    WEFT_NET_MAX_IFACES);
	t->n_ifaces = cfg->n_ports;
	for (unsigned p = 0; p < cfg->n_ports; p++) {
		const struct weft_port_cfg *pc = &cfg->ports[p];
		struct weft_iface *ifc = &t->ifaces[p];

		ifc->port = (uint16_t)p;
		memcpy(ifc->mac, macs[p], 6);
		ifc->mtu = pc->mtu != 0 ? pc->mtu : 1500;
		ll6_from_mac(ifc->ip6[0], ifc->mac);
		ifc->ip6_prefixlen[0] = 64;
		ifc->n_ip6 = 1;
		if (pc->n_addrs > WEFT_CFG_MAX_ADDRS)
			return fail(err, errlen, pc->line, "ports[%u].addresses: more than %d addresses", p,
				    WEFT_CFG_MAX_ADDRS);
		for (unsigned i = 0; i < pc->n_addrs; i++) {
			const struct weft_prefix *a = &pc->addrs[i];
			char buf[64];

			if (a->ip.af == 4) {
				if (a->plen > 32)
					return fail(err, errlen, pc->line,
						    "ports[%u].addresses[%u]: prefix length %u is too long for IPv4",
						    p, i, a->plen);
				ifc->ip4[ifc->n_ip4] = a->ip.v4;
				ifc->ip4_prefixlen[ifc->n_ip4] = a->plen;
				ifc->n_ip4++;
			} else if (a->ip.af == 6) {
				if (a->plen > 128)
					return fail(err, errlen, pc->line,
						    "ports[%u].addresses[%u]: prefix length %u is too long for IPv6",
						    p, i, a->plen);
				if (is_ll6(a->ip.v6) || a->ip.v6[0] == 0xff || is_zero6(a->ip.v6))
					return fail(err, errlen, pc->line,
						    "ports[%u].addresses[%u]: %s is not a global unicast address "
						    "(the link-local one is derived from the MAC)",
						    p, i, fmt_ip(&a->ip, buf, sizeof(buf)));
				memcpy(ifc->ip6[ifc->n_ip6], a->ip.v6, 16);
				ifc->ip6_prefixlen[ifc->n_ip6] = a->plen;
				ifc->n_ip6++;
			} else {
				return fail(err, errlen, pc->line, "ports[%u].addresses[%u]: no address family", p,
					    i);
			}
		}
	}
	return 0;
}

static int compile_connected(struct weft_net_table *t, char *err, size_t errlen)
{
	for (unsigned p = 0; p < t->n_ifaces; p++) {
		const struct weft_iface *ifc = &t->ifaces[p];

		for (unsigned i = 0; i < ifc->n_ip4; i++)
			if (add_route4(t, ifc->ip4[i], ifc->ip4_prefixlen[i], 0, (uint16_t)p, true) < 0)
				return fail(err, errlen, 0, "too many IPv4 routes");
		/* ip6[0] is the link-local address, so fe80::/64 is on-link on every port. */
		for (unsigned i = 0; i < ifc->n_ip6; i++)
			if (add_route6(t, ifc->ip6[i], ifc->ip6_prefixlen[i], NULL, (uint16_t)p, true) < 0)
				return fail(err, errlen, 0, "too many IPv6 routes");
	}
	return 0;
}

static int find_port(const struct weft_config *cfg, const char *name)
{
	for (unsigned p = 0; p < cfg->n_ports; p++)
		if (strncmp(cfg->ports[p].name, name, WEFT_CFG_NAME_LEN) == 0)
			return (int)p;
	return -1;
}

static int compile_static(const struct weft_config *cfg, struct weft_net_table *t, char *err, size_t errlen)
{
	if (cfg->n_routes > WEFT_CFG_MAX_ROUTES)
		return fail(err, errlen, 0, "routes: more than %d routes", WEFT_CFG_MAX_ROUTES);
	for (unsigned i = 0; i < cfg->n_routes; i++) {
		const struct weft_route_cfg *rc = &cfg->routes[i];
		const struct weft_ip *via = &rc->via;
		int port = -1;
		char buf[64];

		if (rc->dst.ip.af != 4 && rc->dst.ip.af != 6)
			return fail(err, errlen, rc->line, "routes[%u].dst: no address family", i);
		if (rc->dst.plen > (rc->dst.ip.af == 4 ? 32 : 128))
			return fail(err, errlen, rc->line, "routes[%u].dst: prefix length %u is too long", i,
				    rc->dst.plen);
		if (via->af != rc->dst.ip.af)
			return fail(err, errlen, rc->line,
				    "routes[%u].via: address family differs from the destination's", i);
		if (rc->port[0] != '\0') {
			port = find_port(cfg, rc->port);
			if (port < 0)
				return fail(err, errlen, rc->line, "routes[%u].port: unknown port %.*s", i,
					    WEFT_CFG_NAME_LEN, rc->port);
		}

		if (via->af == 4) {
			uint32_t v = ntohl(via->v4);
			/* A gateway must be a unicast host we can ARP for (RFC 1122 3.2.1.3, 3.3.1.1). */
			if (v == 0 || (v >> 28) >= 14 || (v >> 24) == 127)
				return fail(err, errlen, rc->line, "routes[%u].via: %s is not a unicast address", i,
					    fmt_ip(via, buf, sizeof(buf)));
			if (is_local4_any(t, via->v4))
				return fail(err, errlen, rc->line, "routes[%u].via: %s is one of our own addresses",
					    i, fmt_ip(via, buf, sizeof(buf)));
			int cp = connected_port4(t, via->v4, port);
			if (cp < 0)
				goto not_connected;
			if (add_route4(t, rc->dst.ip.v4, rc->dst.plen, via->v4, (uint16_t)cp, false) < 0)
				return fail(err, errlen, rc->line, "routes[%u]: too many IPv4 routes", i);
		} else {
			if (is_zero6(via->v6) || via->v6[0] == 0xff ||
			    (memcmp(via->v6, (const uint8_t[16]){[15] = 1}, 16) == 0))
				return fail(err, errlen, rc->line, "routes[%u].via: %s is not a unicast address", i,
					    fmt_ip(via, buf, sizeof(buf)));
			if (is_local6_any(t, via->v6))
				return fail(err, errlen, rc->line, "routes[%u].via: %s is one of our own addresses",
					    i, fmt_ip(via, buf, sizeof(buf)));
			/* Link-local addresses are ambiguous without a port: every port has fe80::/64. */
			if (is_ll6(via->v6) && port < 0 && t->n_ifaces > 1)
				return fail(err, errlen, rc->line,
					    "routes[%u].via: link-local gateway %s needs a port", i,
					    fmt_ip(via, buf, sizeof(buf)));
			int cp = connected_port6(t, via->v6, port);
			if (cp < 0)
				goto not_connected;
			if (add_route6(t, rc->dst.ip.v6, rc->dst.plen, via->v6, (uint16_t)cp, false) < 0)
				return fail(err, errlen, rc->line, "routes[%u]: too many IPv6 routes", i);
		}
		continue;
not_connected:
		if (port >= 0)
			return fail(err, errlen, rc->line, "routes[%u].via: %s is not in a connected subnet of port %s",
				    i, fmt_ip(via, buf, sizeof(buf)), cfg->ports[port].name);
		return fail(err, errlen, rc->line, "routes[%u].via: %s is not in any connected subnet", i,
			    fmt_ip(via, buf, sizeof(buf)));
	}
	return 0;
}

static int compile_defaults(const struct weft_config *cfg, struct weft_net_table *t, char *err, size_t errlen)
{
	static const uint8_t any6[16];

	for (unsigned p = 0; p < cfg->n_ports; p++) {
		const struct weft_port_cfg *pc = &cfg->ports[p];
		char buf[64];

		if (pc->has_gw4) {
			if (pc->gw4.af != 4)
				return fail(err, errlen, pc->line, "ports[%u].gateway4: not an IPv4 address", p);
			if (is_local4_any(t, pc->gw4.v4))
				return fail(err, errlen, pc->line, "ports[%u].gateway4: %s is one of our own addresses",
					    p, fmt_ip(&pc->gw4, buf, sizeof(buf)));
			if (connected_port4(t, pc->gw4.v4, (int)p) < 0)
				return fail(err, errlen, pc->line,
					    "ports[%u].gateway4: %s is not in a connected subnet of port %s", p,
					    fmt_ip(&pc->gw4, buf, sizeof(buf)), pc->name);
			if (add_route4(t, 0, 0, pc->gw4.v4, (uint16_t)p, false) < 0)
				return fail(err, errlen, pc->line, "too many IPv4 routes");
		}
		if (pc->has_gw6) {
			if (pc->gw6.af != 6)
				return fail(err, errlen, pc->line, "ports[%u].gateway6: not an IPv6 address", p);
			if (is_local6_any(t, pc->gw6.v6))
				return fail(err, errlen, pc->line, "ports[%u].gateway6: %s is one of our own addresses",
					    p, fmt_ip(&pc->gw6, buf, sizeof(buf)));
			/* Routers advertise from link-local addresses (RFC 4861 4.2), which are always on-link. */
			if (connected_port6(t, pc->gw6.v6, (int)p) < 0)
				return fail(err, errlen, pc->line,
					    "ports[%u].gateway6: %s is not in a connected subnet of port %s", p,
					    fmt_ip(&pc->gw6, buf, sizeof(buf)), pc->name);
			if (add_route6(t, any6, 0, pc->gw6.v6, (uint16_t)p, false) < 0)
				return fail(err, errlen, pc->line, "too many IPv6 routes");
		}
	}
	return 0;
}

int weft_net_compile(const struct weft_config *cfg, const uint8_t (*macs)[6], struct weft_net_table *t,
		     char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (compile_ifaces(cfg, macs, t, err, errlen) < 0 || compile_connected(t, err, errlen) < 0 ||
	    compile_static(cfg, t, err, errlen) < 0 || compile_defaults(cfg, t, err, errlen) < 0)
		return -1;
	sort_routes4(t->routes4, t->n_routes4);
	sort_routes6(t->routes6, t->n_routes6);
	return 0;
}

const struct weft_route4 *weft_route4_lookup(const struct weft_net_table *t, uint32_t dst)
{
	for (unsigned i = 0; i < t->n_routes4; i++)
		if ((dst & t->routes4[i].mask) == t->routes4[i].prefix)
			return &t->routes4[i];
	return NULL;
}

const struct weft_route6 *weft_route6_lookup(const struct weft_net_table *t, const uint8_t dst[16])
{
	for (unsigned i = 0; i < t->n_routes6; i++)
		if (prefix6_match(dst, t->routes6[i].prefix, t->routes6[i].plen))
			return &t->routes6[i];
	return NULL;
}

static const struct weft_iface *iface(const struct weft_net_table *t, uint16_t port)
{
	return port < t->n_ifaces ? &t->ifaces[port] : NULL;
}

const struct weft_iface *weft_net_local4(const struct weft_net_table *t, uint16_t port, uint32_t a)
{
	const struct weft_iface *ifc = iface(t, port);

	if (ifc == NULL)
		return NULL;
	for (unsigned i = 0; i < ifc->n_ip4; i++)
		if (ifc->ip4[i] == a)
			return ifc;
	return NULL;
}

const struct weft_iface *weft_net_local6(const struct weft_net_table *t, uint16_t port, const uint8_t a[16])
{
	const struct weft_iface *ifc = iface(t, port);

	if (ifc == NULL)
		return NULL;
	for (unsigned i = 0; i < ifc->n_ip6; i++)
		if (memcmp(ifc->ip6[i], a, 16) == 0)
			return ifc;
	return NULL;
}

bool weft_net_solicited6(const struct weft_net_table *t, uint16_t port, const uint8_t a[16])
{
	/* ff02::1:ff00:0/104 followed by the low 24 bits of the unicast address (RFC 4291 2.7.1). */
	static const uint8_t sn[13] = {0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff};
	const struct weft_iface *ifc = iface(t, port);

	if (ifc == NULL || memcmp(a, sn, sizeof(sn)) != 0)
		return false;
	for (unsigned i = 0; i < ifc->n_ip6; i++)
		if (memcmp(ifc->ip6[i] + 13, a + 13, 3) == 0)
			return true;
	return false;
}

uint32_t weft_net_src4(const struct weft_net_table *t, uint16_t port, uint32_t dst)
{
	const struct weft_iface *ifc = iface(t, port);

	if (ifc == NULL || ifc->n_ip4 == 0)
		return 0;
	for (unsigned i = 0; i < ifc->n_ip4; i++) {
		uint32_t m = mask4(ifc->ip4_prefixlen[i]);
		if ((dst & m) == (ifc->ip4[i] & m))
			return ifc->ip4[i];
	}
	return ifc->ip4[0];
}

bool weft_net_src6(const struct weft_net_table *t, uint16_t port, const uint8_t dst[16], uint8_t out[16])
{
	const struct weft_iface *ifc = iface(t, port);

	if (ifc == NULL || ifc->n_ip6 == 0)
		return false;
	/*
	 * Scope first (RFC 6724 5, rule 2): a link-local destination gets the
	 * link-local source; otherwise the global address whose subnet holds
	 * dst, or the first global one.
	 */
	if (is_ll6(dst) || ifc->n_ip6 == 1) {
		memcpy(out, ifc->ip6[0], 16);
		return true;
	}
	for (unsigned i = 1; i < ifc->n_ip6; i++) {
		if (prefix6_match(dst, ifc->ip6[i], ifc->ip6_prefixlen[i])) {
			memcpy(out, ifc->ip6[i], 16);
			return true;
		}
	}
	memcpy(out, ifc->ip6[1], 16);
	return true;
}
