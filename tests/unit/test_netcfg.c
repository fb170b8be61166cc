/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The network table compiler and its lookups. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "policy/netcfg.h"

static const uint8_t macs[3][6] = {
	{0x02, 0x00, 0x00, 0x00, 0x00, 0x01},
	{0x52, 0x54, 0x00, 0x12, 0x34, 0x56},
	{0x02, 0x00, 0x00, 0x00, 0x00, 0x03},
};

static struct weft_ip ip(const char *s)
{
	struct weft_ip a = {0};

	if (inet_pton(AF_INET, s, &a.v4) == 1) {
		a.af = 4;
	} else {
		assert_int_equal(inet_pton(AF_INET6, s, a.v6), 1);
		a.af = 6;
	}
	return a;
}

static uint32_t v4(const char *s)
{
	return ip(s).v4;
}

static const uint8_t *v6(const char *s)
{
	/* A few rotating buffers so two calls can appear in one expression. */
	static uint8_t buf[4][16];
	static unsigned n;
	uint8_t *b = buf[n++ % 4];

	memcpy(b, ip(s).v6, 16);
	return b;
}

static struct weft_prefix pfx(const char *s)
{
	char tmp[64];
	struct weft_prefix p;
	char *slash;

	snprintf(tmp, sizeof(tmp), "%s", s);
	slash = strchr(tmp, '/');
	assert_non_null(slash);
	*slash = '\0';
	p.ip = ip(tmp);
	p.plen = (uint8_t)atoi(slash + 1);
	return p;
}

static struct weft_port_cfg *add_port(struct weft_config *c, const char *name, int line)
{
	struct weft_port_cfg *p = &c->ports[c->n_ports++];

	snprintf(p->name, sizeof(p->name), "%s", name);
	p->line = line;
	return p;
}

static void add_addr(struct weft_port_cfg *p, const char *prefix)
{
	p->addrs[p->n_addrs++] = pfx(prefix);
}

static struct weft_route_cfg *add_route(struct weft_config *c, const char *dst, const char *via, const char *port,
					int line)
{
	struct weft_route_cfg *r = &c->routes[c->n_routes++];

	r->dst = pfx(dst);
	r->via = ip(via);
	if (port != NULL)
		snprintf(r->port, sizeof(r->port), "%s", port);
	r->line = line;
	return r;
}

struct fx {
	struct weft_config cfg;
	struct weft_net_table t;
	char err[256];
};

/*
 * Two ports:
 *   p0  198.18.0.1/24 198.18.1.1/24 2001:db8:0:1::1/64  gw4 198.18.0.254  gw6 fe80::1
 *   p1  198.19.0.1/24 2001:db8:0:2::1/64
 */
static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct weft_port_cfg *p;

	assert_non_null(f);
	p = add_port(&f->cfg, "p0", 3);
	add_addr(p, "198.18.0.1/24");
	add_addr(p, "198.18.1.1/24");
	add_addr(p, "2001:db8:0:1::1/64");
	p->has_gw4 = true;
	p->gw4 = ip("198.18.0.254");
	p->has_gw6 = true;
	p->gw6 = ip("fe80::1");
	p = add_port(&f->cfg, "p1", 9);
	add_addr(p, "198.19.0.1/24");
	add_addr(p, "2001:db8:0:2::1/64");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static void compile_ok(struct fx *f)
{
	int rc = weft_net_compile(&f->cfg, macs, &f->t, f->err, sizeof(f->err));
	if (rc != 0)
		fail_msg("compile failed: %s", f->err);
}

static void compile_err(struct fx *f, const char *want)
{
	assert_int_equal(weft_net_compile(&f->cfg, macs, &f->t, f->err, sizeof(f->err)), -1);
	assert_string_equal(f->err, want);
}

static void test_ifaces(void **state)
{
	struct fx *f = *state;

	compile_ok(f);
	assert_int_equal(f->t.n_ifaces, 2);
	assert_int_equal(f->t.ifaces[1].port, 1);
	assert_memory_equal(f->t.ifaces[1].mac, macs[1], 6);
	assert_int_equal(f->t.ifaces[0].mtu, 1500);
	assert_int_equal(f->t.ifaces[0].n_ip4, 2);
	assert_int_equal(f->t.ifaces[0].ip4[1], v4("198.18.1.1"));
	assert_int_equal(f->t.ifaces[0].ip4_prefixlen[1], 24);
	/* Link-local first, then the configured ones. */
	assert_int_equal(f->t.ifaces[0].n_ip6, 2);
	assert_memory_equal(f->t.ifaces[0].ip6[1], v6("2001:db8:0:1::1"), 16);
	assert_int_equal(f->t.ifaces[0].ip6_prefixlen[1], 64);
}

static void test_link_local_eui64(void **state)
{
	struct fx *f = *state;

	compile_ok(f);
	/* 02:00:00:00:00:01: the universal/local bit flips to 0. */
	assert_memory_equal(f->t.ifaces[0].ip6[0], v6("fe80::ff:fe00:1"), 16);
	/* 52:54:00:12:34:56 -> 5054:00ff:fe12:3456 (RFC 4291 appendix A). */
	assert_memory_equal(f->t.ifaces[1].ip6[0], v6("fe80::5054:ff:fe12:3456"), 16);
	assert_int_equal(f->t.ifaces[1].ip6_prefixlen[0], 64);
}

static void test_sorted_longest_first(void **state)
{
	struct fx *f = *state;

	add_route(&f->cfg, "198.18.128.0/17", "198.19.0.254", NULL, 20);
	add_route(&f->cfg, "198.18.129.0/24", "198.18.0.254", NULL, 21);
	add_route(&f->cfg, "192.0.2.7/32", "198.18.0.253", NULL, 22);
	add_route(&f->cfg, "2001:db8:ff::/48", "2001:db8:0:2::fe", NULL, 23);
	compile_ok(f);
	for (unsigned i = 1; i < f->t.n_routes4; i++)
		assert_true(f->t.routes4[i - 1].plen >= f->t.routes4[i].plen);
	for (unsigned i = 1; i < f->t.n_routes6; i++)
		assert_true(f->t.routes6[i - 1].plen >= f->t.routes6[i].plen);
	/* 3 connected + 3 static + 1 default; 3 connected (2 link-local) + 1 static + 1 default. */
	assert_int_equal(f->t.n_routes4, 7);
	assert_int_equal(f->t.n_routes6, 6);
}

static void test_lookup4_longest_match(void **state)
{
	struct fx *f = *state;
	const struct weft_route4 *r;

	add_route(&f->cfg, "198.18.128.0/17", "198.19.0.254", NULL, 20);
	add_route(&f->cfg, "198.18.129.0/24", "198.18.0.254", NULL, 21);
	compile_ok(f);

	r = weft_route4_lookup(&f->t, v4("198.18.129.3"));
	assert_non_null(r);
	assert_int_equal(r->plen, 24);
	assert_int_equal(r->gateway, v4("198.18.0.254"));
	assert_int_equal(r->port, 0);

	r = weft_route4_lookup(&f->t, v4("198.18.130.1"));
	assert_non_null(r);
	assert_int_equal(r->plen, 17);
	assert_int_equal(r->gateway, v4("198.19.0.254"));
	assert_int_equal(r->port, 1); /* derived from the connected subnet of the via */
}

static void test_lookup4_on_link_and_default(void **state)
{
	struct fx *f = *state;
	const struct weft_route4 *r;

	compile_ok(f);
	r = weft_route4_lookup(&f->t, v4("198.19.0.77"));
	assert_non_null(r);
	assert_int_equal(r->gateway, 0);
	assert_int_equal(r->port, 1);
	assert_int_equal(r->prefix, v4("198.19.0.0"));
	assert_int_equal(r->mask, v4("255.255.255.0"));

	r = weft_route4_lookup(&f->t, v4("198.18.1.9"));
	assert_non_null(r);
	assert_int_equal(r->gateway, 0);
	assert_int_equal(r->port, 0);

	r = weft_route4_lookup(&f->t, v4("8.8.8.8"));
	assert_non_null(r);
	assert_int_equal(r->plen, 0);
	assert_int_equal(r->gateway, v4("198.18.0.254"));
	assert_int_equal(r->port, 0);
}

static void test_lookup4_no_default(void **state)
{
	struct fx *f = *state;

	f->cfg.ports[0].has_gw4 = false;
	compile_ok(f);
	assert_null(weft_route4_lookup(&f->t, v4("8.8.8.8")));
	assert_non_null(weft_route4_lookup(&f->t, v4("198.18.0.9")));
}

static void test_lookup4_equal_prefix_keeps_config_order(void **state)
{
	struct fx *f = *state;
	const struct weft_route4 *r;

	add_route(&f->cfg, "198.18.128.0/17", "198.19.0.200", NULL, 20);
	add_route(&f->cfg, "198.18.128.0/17", "198.18.0.200", NULL, 21);
	compile_ok(f);
	r = weft_route4_lookup(&f->t, v4("198.18.137.9"));
	assert_non_null(r);
	assert_int_equal(r->gateway, v4("198.19.0.200"));
}

static void test_static_dst_host_bits_masked(void **state)
{
	struct fx *f = *state;
	const struct weft_route4 *r;

	add_route(&f->cfg, "198.18.129.3/24", "198.19.0.254", NULL, 20);
	compile_ok(f);
	r = weft_route4_lookup(&f->t, v4("198.18.129.1"));
	assert_non_null(r);
	assert_int_equal(r->prefix, v4("198.18.129.0"));
}

static void test_connected_deduplicated(void **state)
{
	struct fx *f = *state;

	add_addr(&f->cfg.ports[1], "198.19.0.2/24");
	compile_ok(f);
	/* 198.18.0/24, 198.18.1/24, 198.19.0/24 once, and the default. */
	assert_int_equal(f->t.n_routes4, 4);
}

static void test_lookup6(void **state)
{
	struct fx *f = *state;
	const struct weft_route6 *r;

	add_route(&f->cfg, "2001:db8:ff::/48", "2001:db8:0:2::fe", NULL, 20);
	add_route(&f->cfg, "2001:db8:ff:1::/64", "fe80::99", "p1", 21);
	compile_ok(f);

	r = weft_route6_lookup(&f->t, v6("2001:db8:ff:1::5"));
	assert_non_null(r);
	assert_int_equal(r->plen, 64);
	assert_false(r->on_link);
	assert_int_equal(r->port, 1); /* from the port name: fe80::99 is on-link everywhere */
	assert_memory_equal(r->gateway, v6("fe80::99"), 16);

	r = weft_route6_lookup(&f->t, v6("2001:db8:ff:2::5"));
	assert_non_null(r);
	assert_int_equal(r->plen, 48);
	assert_int_equal(r->port, 1);
	assert_memory_equal(r->gateway, v6("2001:db8:0:2::fe"), 16);

	r = weft_route6_lookup(&f->t, v6("2001:db8:0:1::abcd"));
	assert_non_null(r);
	assert_true(r->on_link);
	assert_int_equal(r->port, 0);

	/* Default through the link-local router. */
	r = weft_route6_lookup(&f->t, v6("2a00::1"));
	assert_non_null(r);
	assert_int_equal(r->plen, 0);
	assert_false(r->on_link);
	assert_int_equal(r->port, 0);
	assert_memory_equal(r->gateway, v6("fe80::1"), 16);
}

static void test_lookup6_link_local_on_link(void **state)
{
	struct fx *f = *state;
	const struct weft_route6 *r;

	compile_ok(f);
	r = weft_route6_lookup(&f->t, v6("fe80::1234"));
	assert_non_null(r);
	assert_true(r->on_link);
	assert_int_equal(r->plen, 64);
	assert_int_equal(r->port, 0);
}

static void test_lookup6_no_default(void **state)
{
	struct fx *f = *state;

	f->cfg.ports[0].has_gw6 = false;
	compile_ok(f);
	assert_null(weft_route6_lookup(&f->t, v6("2a00::1")));
}

static void test_local(void **state)
{
	struct fx *f = *state;

	compile_ok(f);
	assert_ptr_equal(weft_net_local4(&f->t, 0, v4("198.18.1.1")), &f->t.ifaces[0]);
	assert_null(weft_net_local4(&f->t, 1, v4("198.18.1.1"))); /* other port */
	assert_null(weft_net_local4(&f->t, 0, v4("198.18.1.2")));
	assert_null(weft_net_local4(&f->t, 7, v4("198.18.1.1")));
	assert_ptr_equal(weft_net_local6(&f->t, 1, v6("2001:db8:0:2::1")), &f->t.ifaces[1]);
	assert_ptr_equal(weft_net_local6(&f->t, 1, v6("fe80::5054:ff:fe12:3456")), &f->t.ifaces[1]);
	assert_null(weft_net_local6(&f->t, 0, v6("fe80::5054:ff:fe12:3456")));
	assert_null(weft_net_local6(&f->t, 0, v6("2001:db8:0:1::2")));
}

static void test_solicited_node(void **state)
{
	struct fx *f = *state;

	compile_ok(f);
	/* Global 2001:db8:0:1::1 and link-local fe80::ff:fe00:1 share the low 24 bits 00:00:01. */
	assert_true(weft_net_solicited6(&f->t, 0, v6("ff02::1:ff00:1")));
	assert_true(weft_net_solicited6(&f->t, 1, v6("ff02::1:ff12:3456")));
	assert_true(weft_net_solicited6(&f->t, 1, v6("ff02::1:ff00:1")));
	assert_false(weft_net_solicited6(&f->t, 0, v6("ff02::1:ff12:3456")));
	assert_false(weft_net_solicited6(&f->t, 0, v6("ff02::1")));
	assert_false(weft_net_solicited6(&f->t, 0, v6("ff05::1:ff00:1")));
	assert_false(weft_net_solicited6(&f->t, 0, v6("2001:db8:0:1::1")));
	assert_false(weft_net_solicited6(&f->t, 5, v6("ff02::1:ff00:1")));
}

static void test_src4(void **state)
{
	struct fx *f = *state;

	compile_ok(f);
	assert_int_equal(weft_net_src4(&f->t, 0, v4("198.18.1.77")), v4("198.18.1.1"));
	assert_int_equal(weft_net_src4(&f->t, 0, v4("198.18.0.254")), v4("198.18.0.1"));
	assert_int_equal(weft_net_src4(&f->t, 0, v4("8.8.8.8")), v4("198.18.0.1"));
	assert_int_equal(weft_net_src4(&f->t, 9, v4("8.8.8.8")), 0);
	f->cfg.ports[1].n_addrs = 0;
	compile_ok(f);
	assert_int_equal(weft_net_src4(&f->t, 1, v4("198.19.0.9")), 0);
}

static void test_src6(void **state)
{
	struct fx *f = *state;
	uint8_t out[16];

	add_addr(&f->cfg.ports[0], "2001:db8:0:3::1/64");
	compile_ok(f);
	assert_true(weft_net_src6(&f->t, 0, v6("fe80::1"), out));
	assert_memory_equal(out, f->t.ifaces[0].ip6[0], 16);
	assert_true(weft_net_src6(&f->t, 0, v6("2001:db8:0:3::9"), out));
	assert_memory_equal(out, v6("2001:db8:0:3::1"), 16);
	assert_true(weft_net_src6(&f->t, 0, v6("2a00::1"), out));
	assert_memory_equal(out, v6("2001:db8:0:1::1"), 16);
	assert_false(weft_net_src6(&f->t, 3, v6("2a00::1"), out));

	/* A port with only its link-local address still has a source. */
	f->cfg.ports[1].n_addrs = 1;
	compile_ok(f);
	assert_true(weft_net_src6(&f->t, 1, v6("2a00::1"), out));
	assert_memory_equal(out, f->t.ifaces[1].ip6[0], 16);
}

static void test_err_via_not_connected(void **state)
{
	struct fx *f = *state;

	add_route(&f->cfg, "198.18.128.0/17", "198.18.0.254", NULL, 20);
	add_route(&f->cfg, "198.18.129.0/24", "198.18.0.254", NULL, 21);
	add_route(&f->cfg, "198.18.130.0/24", "198.18.0.254", NULL, 22);
	add_route(&f->cfg, "198.18.131.0/24", "198.20.0.9", NULL, 0);
	compile_err(f, "routes[3].via: 198.20.0.9 is not in any connected subnet");
	f->cfg.routes[3].via = ip("203.0.113.1");
	f->cfg.routes[3].line = 17;
	compile_err(f, "line 17: routes[3].via: 203.0.113.1 is not in any connected subnet");
}

static void test_err_via_not_on_named_port(void **state)
{
	struct fx *f = *state;

	add_route(&f->cfg, "198.18.128.0/17", "198.18.0.254", "p1", 30);
	compile_err(f, "line 30: routes[0].via: 198.18.0.254 is not in a connected subnet of port p1");
}

static void test_err_unknown_port(void **state)
{
	struct fx *f = *state;

	add_route(&f->cfg, "198.18.128.0/17", "198.18.0.254", "eth9", 31);
	compile_err(f, "line 31: routes[0].port: unknown port eth9");
}

static void test_err_family_mismatch(void **state)
{
	struct fx *f = *state;

	add_route(&f->cfg, "198.18.128.0/17", "2001:db8:0:1::fe", NULL, 32);
	compile_err(f, "line 32: routes[0].via: address family differs from the destination's");
}

static void test_err_via_is_ours(void **state)
{
	struct fx *f = *state;

	add_route(&f->cfg, "198.18.128.0/17", "198.19.0.1", NULL, 33);
	compile_err(f, "line 33: routes[0].via: 198.19.0.1 is one of our own addresses");
}

static void test_err_via_not_unicast(void **state)
{
	struct fx *f = *state;

	add_route(&f->cfg, "198.18.128.0/17", "224.0.0.1", NULL, 34);
	compile_err(f, "line 34: routes[0].via: 224.0.0.1 is not a unicast address");
	f->cfg.routes[0] = (struct weft_route_cfg){.dst = pfx("2001:db8:9::/48"), .via = ip("ff02::2"), .line = 35};
	compile_err(f, "line 35: routes[0].via: ff02::2 is not a unicast address");
}

static void test_err_link_local_via_needs_port(void **state)
{
	struct fx *f = *state;

	add_route(&f->cfg, "2001:db8:9::/48", "fe80::77", NULL, 36);
	compile_err(f, "line 36: routes[0].via: link-local gateway fe80::77 needs a port");

	/* With a single port there is no ambiguity. */
	f->cfg.n_ports = 1;
	compile_ok(f);
	assert_int_equal(weft_route6_lookup(&f->t, v6("2001:db8:9::1"))->port, 0);
}

static void test_err_prefix_too_long(void **state)
{
	struct fx *f = *state;
	struct weft_route_cfg *r = add_route(&f->cfg, "198.18.128.0/17", "198.18.0.254", NULL, 37);

	r->dst.plen = 33;
	compile_err(f, "line 37: routes[0].dst: prefix length 33 is too long");
}

static void test_err_gateway_not_connected(void **state)
{
	struct fx *f = *state;

	f->cfg.ports[1].has_gw4 = true;
	f->cfg.ports[1].gw4 = ip("198.18.0.254"); /* p0's subnet, not p1's */
	compile_err(f, "line 9: ports[1].gateway4: 198.18.0.254 is not in a connected subnet of port p1");
}

static void test_err_link_local_address_configured(void **state)
{
	struct fx *f = *state;

	add_addr(&f->cfg.ports[1], "fe80::5/64");
	compile_err(f, "line 9: ports[1].addresses[2]: fe80::5 is not a global unicast address "
		       "(the link-local one is derived from the MAC)");
}

static void test_no_ports(void **state)
{
	struct weft_config *cfg = calloc(1, sizeof(*cfg));
	struct weft_net_table *t = calloc(1, sizeof(*t));
	char err[128];

	assert_int_equal(weft_net_compile(cfg, macs, t, err, sizeof(err)), 0);
	assert_int_equal(t->n_ifaces, 0);
	assert_null(weft_route4_lookup(t, v4("1.2.3.4")));
	assert_null(weft_route6_lookup(t, v6("::1")));
	free(cfg);
	free(t);
	(void)state;
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_ifaces),
		T(test_link_local_eui64),
		T(test_sorted_longest_first),
		T(test_lookup4_longest_match),
		T(test_lookup4_on_link_and_default),
		T(test_lookup4_no_default),
		T(test_lookup4_equal_prefix_keeps_config_order),
		T(test_static_dst_host_bits_masked),
		T(test_connected_deduplicated),
		T(test_lookup6),
		T(test_lookup6_link_local_on_link),
		T(test_lookup6_no_default),
		T(test_local),
		T(test_solicited_node),
		T(test_src4),
		T(test_src6),
		T(test_err_via_not_connected),
		T(test_err_via_not_on_named_port),
		T(test_err_unknown_port),
		T(test_err_family_mismatch),
		T(test_err_via_is_ours),
		T(test_err_via_not_unicast),
		T(test_err_link_local_via_needs_port),
		T(test_err_prefix_too_long),
		T(test_err_gateway_not_connected),
		T(test_err_link_local_address_configured),
		cmocka_unit_test(test_no_ports),
	};

	return cmocka_run_group_tests_name("netcfg", tests, NULL, NULL);
}
