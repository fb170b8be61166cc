/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Config loader tests: every refusal is checked on its full message, file,
 * line and key path included, since that message is what an operator sees.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "policy/config.h"

static struct weft_config cfg; /* large: off the stack */
static char err[WEFT_CFG_ERR_LEN];

static int parse(const char *yaml)
{
	return weft_config_parse(yaml, strlen(yaml), "weft.yaml", &cfg, err, sizeof(err));
}

static void check_ok(const char *yaml)
{
	if (parse(yaml) != 0)
		fail_msg("unexpected error: %s", err);
}

/* The parse fails with exactly this message. */
static void check_err(const char *yaml, const char *want)
{
	int rc = parse(yaml);
	if (rc != -1 || strcmp(err, want) != 0)
		fail_msg("\nwant: %s\n got: %s (rc %d)", want, err, rc);
}

/* The parse fails and the message contains this text. */
static void check_err_has(const char *yaml, const char *want)
{
	int rc = parse(yaml);
	if (rc != -1 || strstr(err, want) == NULL)
		fail_msg("\nwant (substring): %s\n got: %s (rc %d)", want, err, rc);
}

static uint32_t v4(const char *s)
{
	struct in_addr a;
	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

/* Lines 1-4: a valid first port; keys for it may follow from line 5. */
#define PORT0                                                                                      \
	"ports:\n"                                                                                 \
	"  - name: p0\n"                                                                           \
	"    driver: af_packet\n"                                                                  \
	"    iface: wp0\n"

/* ------------------------------------------------------------------------- */
/* Whole documents                                                            */
/* ------------------------------------------------------------------------- */

/* Where docs/ is: WEFT_SOURCE_ROOT, else from this file's path as compiled. */
static void example_path(char *out, size_t len)
{
	const char *root = getenv("WEFT_SOURCE_ROOT");
	char exe[PATH_MAX], dir[PATH_MAX];

	if (root != NULL) {
		snprintf(out, len, "%s/docs/weft.example.yaml", root);
		return;
	}
	snprintf(dir, sizeof(dir), "%s", __FILE__);
	char *slash = strrchr(dir, '/');
	if (slash != NULL)
		*slash = '\0';
	if (dir[0] == '/') {
		snprintf(out, len, "%s/../../docs/weft.example.yaml", dir);
		return;
	}
	/* Relative: to the build root, two levels above tests/unit/test_config. */
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	for (int i = 0; i < 3; i++) {
		slash = strrchr(exe, '/');
		assert_non_null(slash);
		*slash = '\0';
	}
	snprintf(out, len, "%s/%s/../../docs/weft.example.yaml", exe, dir);
}

static void test_example_file(void **state)
{
	char path[2 * PATH_MAX + 64];

	(void)state;
	example_path(path, sizeof(path));
	if (weft_config_load(path, &cfg, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(cfg.n_ports, 2);
	assert_string_equal(cfg.ports[0].name, "p0");
	assert_int_equal(cfg.ports[0].driver, WEFT_DRV_AF_PACKET);
	assert_string_equal(cfg.ports[0].devargs, "qpairs=1");
	assert_int_equal(cfg.ports[0].n_addrs, 2);
	assert_true(cfg.ports[0].has_gw4);
	assert_true(cfg.ports[0].has_gw6);
	assert_false(cfg.ports[0].fault_enabled);
	assert_true(cfg.ports[1].fault_enabled);
	assert_int_equal(cfg.ports[1].fault_seed, 42);
	assert_int_equal(cfg.n_routes, 2);
	assert_string_equal(cfg.routes[0].port, "p1");
	assert_int_equal(cfg.eal.n_args, 1);
	assert_string_equal(cfg.eal.args[0], "--log-level=lib.eal:notice");
	assert_int_equal(cfg.n_listeners, 2);
	assert_string_equal(cfg.listeners[0].cluster, "backend");
	assert_true(cfg.listeners[1].any);
	assert_int_equal(cfg.n_clusters, 1);
	assert_int_equal(cfg.clusters[0].n_endpoints, 2);
	/* The example spells out every tcp default. */
	struct weft_tcp_cfg def;
	weft_tcp_cfg_defaults(&def);
	assert_memory_equal(&def, &cfg.tcp, sizeof(def));
}

static void test_defaults(void **state)
{
	(void)state;
	check_ok(PORT0);
	assert_int_equal(cfg.eal.main_cpu, 0);
	assert_int_equal(cfg.eal.n_workers, 1);
	assert_int_equal(cfg.eal.worker_cpus[0], 1);
	assert_int_equal(cfg.eal.memory_mb, 256);
	assert_true(cfg.eal.hugepages);
	assert_string_equal(cfg.eal.file_prefix, "weft");
	assert_int_equal(cfg.eal.mbufs_per_worker, 8192);
	assert_int_equal(cfg.eal.n_args, 0);
	assert_int_equal(cfg.n_ports, 1);
	assert_int_equal(cfg.ports[0].mtu, 1500);
	assert_int_equal(cfg.ports[0].rx_desc, 1024);
	assert_int_equal(cfg.ports[0].tx_desc, 1024);
	assert_int_equal(cfg.ports[0].n_addrs, 0);
	assert_int_equal(cfg.ports[0].fault_seed, 1);
	assert_false(cfg.ports[0].fault_enabled);
	assert_false(cfg.ports[0].has_gw4);
	assert_int_equal(cfg.ports[0].line, 2);
	assert_int_equal(cfg.n_routes, 0);
	assert_int_equal(cfg.admin.addr.af, 4);
	assert_int_equal(cfg.admin.addr.v4, v4("127.0.0.1"));
	assert_int_equal(cfg.admin.port, 9901);

	/* weft_config_defaults() is what an empty document means. */
	static struct weft_config d;
	weft_config_defaults(&d);
	cfg.n_ports = 0;
	memset(&cfg.ports, 0, sizeof(cfg.ports));
	assert_memory_equal(&d, &cfg, sizeof(d));
}

static void test_empty_document(void **state)
{
	(void)state;
	check_err("", "weft.yaml:1: ports: at least one port is required");
	check_err("# nothing but a comment\n", "weft.yaml:1: ports: at least one port is required");
	check_err("eal:\n  memory_mb: 128\n", "weft.yaml:1: ports: at least one port is required");
	check_err("ports: []\n", "weft.yaml:1: ports: at least one port is required");
	check_err("admin:\nports:\n", "weft.yaml:2: ports: at least one port is required");
}

static void test_null_sections(void **state)
{
	(void)state;
	check_ok("eal:\nroutes:\nadmin: ~\n" PORT0 "    fault:\n    addresses:\n");
	assert_int_equal(cfg.eal.memory_mb, 256);
	assert_int_equal(cfg.n_routes, 0);
}

static void test_syntax_error(void **state)
{
	(void)state;
	check_err_has("eal:\n  memory_mb: 128\n worker_cpus: [1]\n", "weft.yaml:3:");
	assert_non_null(strstr(err, "YAML syntax error"));
	check_err_has("ports: [\n", "YAML syntax error");
	/* A tab cannot indent YAML. */
	check_err_has("eal:\n\tmemory_mb: 128\n", "weft.yaml:2:");
	/* An alias to nothing. */
	check_err_has(PORT0 "    mtu: *nope\n", "weft.yaml:5:");
	/* Not UTF-8: the reader's byte offset becomes a line. */
	check_err_has("eal:\n  file_prefix: a\xff\n", "weft.yaml:2:");
	assert_non_null(strstr(err, "invalid input"));
}

static void test_not_a_mapping(void **state)
{
	(void)state;
	check_err("- a\n- b\n", "weft.yaml:1: document: expected a mapping of sections (eal, ports, routes, admin, "
				 "clusters, listeners, tcp)");
	check_err("eal: [1]\n", "weft.yaml:1: eal: expected a mapping");
	check_err("ports: p0\n", "weft.yaml:1: ports: expected a sequence of ports");
	check_err("ports:\n  - p0\n", "weft.yaml:2: ports[0]: expected a mapping");
}

static void test_two_documents(void **state)
{
	(void)state;
	check_err(PORT0 "---\n" PORT0, "weft.yaml:6: document: only one YAML document is allowed per file");
}

static void test_unknown_key(void **state)
{
	(void)state;
	check_err("eal:\n  main_cpu: 0\n  bogus: 1\n", "weft.yaml:3: eal.bogus: unknown key");
	check_err("eal:\n  memroy_mb: 128\n", "weft.yaml:2: eal.memroy_mb: unknown key (did you mean \"memory_mb\"?)");
	check_err("port:\n  - name: p0\n", "weft.yaml:1: port: unknown key (did you mean \"ports\"?)");
	check_err(PORT0 "    adresses: []\n",
		  "weft.yaml:5: ports[0].adresses: unknown key (did you mean \"addresses\"?)");
	check_err("[1]: x\n", "weft.yaml:1: document: keys must be plain strings");
}

static void test_duplicate_key(void **state)
{
	(void)state;
	check_err("eal:\n  memory_mb: 128\n  memory_mb: 256\n",
		  "weft.yaml:3: eal.memory_mb: duplicate key (first at line 2)");
}

/* ------------------------------------------------------------------------- */
/* eal                                                                        */
/* ------------------------------------------------------------------------- */

static void test_eal_values(void **state)
{
	(void)state;
	check_ok("eal:\n"
		 "  main_cpu: 3\n"
		 "  worker_cpus: [0, 2, 5]\n"
		 "  memory_mb: 1024\n"
		 "  hugepages: no\n"
		 "  file_prefix: weft-test_2\n"
		 "  mbufs_per_worker: 16384\n"
		 "  args: [--log-level=8, \"--vdev=net_null9\"]\n" PORT0);
	assert_int_equal(cfg.eal.main_cpu, 3);
	assert_int_equal(cfg.eal.n_workers, 3);
	assert_int_equal(cfg.eal.worker_cpus[2], 5);
	assert_int_equal(cfg.eal.memory_mb, 1024);
	assert_false(cfg.eal.hugepages);
	assert_string_equal(cfg.eal.file_prefix, "weft-test_2");
	assert_int_equal(cfg.eal.mbufs_per_worker, 16384);
	assert_int_equal(cfg.eal.n_args, 2);
	assert_string_equal(cfg.eal.args[1], "--vdev=net_null9");
}

static void test_worker_cpus(void **state)
{
	(void)state;
	check_err("eal:\n  main_cpu: 0\n  worker_cpus: 1\n",
		  "weft.yaml:3: eal.worker_cpus: expected a sequence of CPU numbers");
	check_err("eal:\n  worker_cpus: []\n", "weft.yaml:2: eal.worker_cpus: at least one worker CPU is required");
	check_err("eal:\n  worker_cpus: [1, 2, 1]\n",
		  "weft.yaml:2: eal.worker_cpus[2]: CPU 1 is listed twice (first as eal.worker_cpus[0])");
	check_err("eal:\n  worker_cpus: [1, 4096]\n", "weft.yaml:2: eal.worker_cpus[1]: 4096 is out of range (0..1023)");
	check_err("eal:\n  worker_cpus: [1, x]\n", "weft.yaml:2: eal.worker_cpus[1]: expected an integer, got \"x\"");
	check_err("eal:\n  worker_cpus: [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]\n",
		  "weft.yaml:2: eal.worker_cpus: too many workers (17, max 16)");
	check_ok("eal:\n  worker_cpus: [0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]\n" PORT0);
	assert_int_equal(cfg.eal.n_workers, 16);
}

static void test_numbers(void **state)
{
	(void)state;
	check_err("eal:\n  main_cpu: -1\n", "weft.yaml:2: eal.main_cpu: expected a non-negative integer, got \"-1\"");
	check_err("eal:\n  memory_mb: 32\n", "weft.yaml:2: eal.memory_mb: 32 is out of range (64..65536)");
	check_err("eal:\n  memory_mb: 256MB\n", "weft.yaml:2: eal.memory_mb: expected an integer, got \"256MB\"");
	check_err("eal:\n  memory_mb: 1.5\n", "weft.yaml:2: eal.memory_mb: expected an integer, got \"1.5\"");
	check_err("eal:\n  memory_mb: 0256\n",
		  "weft.yaml:2: eal.memory_mb: expected an integer, got \"0256\" (no leading zeros)");
	check_err("eal:\n  memory_mb: 99999999999999999999999\n",
		  "weft.yaml:2: eal.memory_mb: 99999999999999999999999 is out of range (64..65536)");
	check_err("eal:\n  memory_mb:\n", "weft.yaml:2: eal.memory_mb: expected an integer, got an empty value");
	check_err("eal:\n  memory_mb: [1]\n", "weft.yaml:2: eal.memory_mb: expected an integer");
	check_err("eal:\n  mbufs_per_worker: 1000\n",
		  "weft.yaml:2: eal.mbufs_per_worker: 1000 is out of range (1024..1048576)");
	check_err("eal:\n  memory_mb: \"12\\0\"\n", "weft.yaml:2: eal.memory_mb: contains a NUL character");
	/* Quoted numbers are still numbers. */
	check_ok("eal:\n  memory_mb: \"512\"\n" PORT0);
	assert_int_equal(cfg.eal.memory_mb, 512);
}

static void test_booleans(void **state)
{
	static const char *const yes[] = {"true", "yes", "on", "True", "YES"};
	static const char *const no[] = {"false", "no", "off", "False", "OFF"};
	char buf[256];

	(void)state;
	for (size_t i = 0; i < 5; i++) {
		snprintf(buf, sizeof(buf), "eal:\n  hugepages: %s\n" PORT0, yes[i]);
		check_ok(buf);
		assert_true(cfg.eal.hugepages);
		snprintf(buf, sizeof(buf), "eal:\n  hugepages: %s\n" PORT0, no[i]);
		check_ok(buf);
		assert_false(cfg.eal.hugepages);
	}
	check_err("eal:\n  hugepages: maybe\n",
		  "weft.yaml:2: eal.hugepages: expected a boolean (true/false, yes/no, on/off), got \"maybe\"");
}

static void test_file_prefix_and_args(void **state)
{
	char buf[8192];

	(void)state;
	check_err("eal:\n  file_prefix: a/b\n",
		  "weft.yaml:2: eal.file_prefix: \"a/b\" is not a valid file prefix "
		  "(1-63 characters of A-Z, a-z, 0-9, _ and -)");
	check_err("eal:\n  file_prefix: \"\"\n",
		  "weft.yaml:2: eal.file_prefix: \"\" is not a valid file prefix "
		  "(1-63 characters of A-Z, a-z, 0-9, _ and -)");
	check_err("eal:\n  args: --no-pci\n", "weft.yaml:2: eal.args: expected a sequence of strings");
	check_err("eal:\n  args: [\"\"]\n", "weft.yaml:2: eal.args[0]: must not be empty");
	check_err("eal:\n  args: [{a: b}]\n", "weft.yaml:2: eal.args[0]: expected a string");

	int n = snprintf(buf, sizeof(buf), "eal:\n  args: [\"--x=");
	memset(buf + n, 'a', 130);
	snprintf(buf + n + 130, sizeof(buf) - (size_t)n - 130, "\"]\n");
	check_err(buf, "weft.yaml:2: eal.args[0]: too long (134 characters, max 127)");

	n = snprintf(buf, sizeof(buf), "eal:\n  args:\n");
	for (int i = 0; i < 33; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "    - --a%d\n", i);
	check_err(buf, "weft.yaml:3: eal.args: too many arguments (33, max 32)");
}

/* ------------------------------------------------------------------------- */
/* ports                                                                      */
/* ------------------------------------------------------------------------- */

static void test_port_name(void **state)
{
	(void)state;
	check_err("ports:\n"
		  "  - name: p0\n"
		  "    driver: ring\n"
		  "  - name: p0\n"
		  "    driver: ring\n",
		  "weft.yaml:4: ports[1].name: duplicate port name \"p0\" (first at line 2)");
	check_err("ports:\n  - name: P0\n    driver: ring\n",
		  "weft.yaml:2: ports[0].name: \"P0\" is not a valid port name (1-31 characters of a-z, 0-9, _ and -)");
	check_err("ports:\n  - name: abcdefghijklmnopqrstuvwxyz0123456\n    driver: ring\n",
		  "weft.yaml:2: ports[0].name: \"abcdefghijklmnopqrstuvwxyz0123456\" is not a valid port name "
		  "(1-31 characters of a-z, 0-9, _ and -)");
	check_err("ports:\n  - driver: ring\n", "weft.yaml:2: ports[0].name: required key is missing");
	check_err("ports:\n  -\n", "weft.yaml:2: ports[0].name: required key is missing");
}

static void test_port_driver(void **state)
{
	static const char *const names[] = {"af_packet", "af_xdp", "tap", "memif", "ring", "null", "pcap", "pci"};
	(void)state;

	check_err("ports:\n  - name: p0\n", "weft.yaml:2: ports[0].driver: required key is missing");
	check_err("ports:\n  - name: p0\n    driver: e1000\n",
		  "weft.yaml:3: ports[0].driver: unknown driver \"e1000\" "
		  "(expected af_packet, af_xdp, tap, memif, ring, null, pcap or pci)");
	for (int d = WEFT_DRV_AF_PACKET; d <= WEFT_DRV_PCI; d++) {
		enum weft_port_driver out;
		assert_string_equal(weft_driver_name((enum weft_port_driver)d), names[d]);
		assert_int_equal(weft_driver_parse(names[d], &out), 0);
		assert_int_equal(out, d);
	}
	assert_string_equal(weft_driver_name((enum weft_port_driver)99), "unknown");
	check_ok("ports:\n  - name: n0\n    driver: \"null\"\n  - name: r0\n    driver: ring\n");
	assert_int_equal(cfg.ports[0].driver, WEFT_DRV_NULL);
	assert_int_equal(cfg.ports[1].driver, WEFT_DRV_RING);
}

static void test_port_iface(void **state)
{
	(void)state;
	check_err("ports:\n  - name: p0\n    driver: af_xdp\n",
		  "weft.yaml:2: ports[0].iface: required for driver af_xdp");
	check_err("ports:\n  - name: p0\n    driver: tap\n    iface: abcdefghijklmnop\n",
		  "weft.yaml:4: ports[0].iface: \"abcdefghijklmnop\" is not a valid interface name "
		  "(1-15 characters, no '/', ':', ',' or spaces)");
	check_err("ports:\n  - name: p0\n    driver: tap\n    iface: \"a b\"\n",
		  "weft.yaml:4: ports[0].iface: \"a b\" is not a valid interface name "
		  "(1-15 characters, no '/', ':', ',' or spaces)");
	check_ok("ports:\n  - name: p0\n    driver: tap\n    iface: abcdefghijklmno\n");
	/* Other drivers: optional, and a path is fine. */
	check_ok("ports:\n  - name: p0\n    driver: pcap\n    iface: /tmp/in.pcap\n  - name: p1\n    driver: memif\n");
	assert_string_equal(cfg.ports[0].iface, "/tmp/in.pcap");
	assert_string_equal(cfg.ports[1].iface, "");
	check_err("ports:\n  - name: p0\n    driver: pcap\n    iface: /a/very/long/path/to/a/capture.pcap\n",
		  "weft.yaml:4: ports[0].iface: too long (35 characters, max 31)");
}

static void test_port_pci(void **state)
{
	(void)state;
	check_ok("ports:\n  - name: p0\n    driver: pci\n    pci: \"0000:03:00.0\"\n");
	assert_string_equal(cfg.ports[0].pci, "0000:03:00.0");
	check_err("ports:\n  - name: p0\n    driver: pci\n", "weft.yaml:2: ports[0].pci: required for driver pci");
	check_err(PORT0 "    pci: \"0000:03:00.0\"\n",
		  "weft.yaml:5: ports[0].pci: only valid with driver pci (this port uses af_packet)");
	check_err("ports:\n  - name: p0\n    driver: pci\n    pci: \"03:00.0\"\n",
		  "weft.yaml:4: ports[0].pci: \"03:00.0\" is not a PCI address (expected DDDD:BB:DD.F, e.g. \"0000:03:00.0\")");
	check_err_has("ports:\n  - name: p0\n    driver: pci\n    pci: \"0000:03:20.0\"\n",
		      "ports[0].pci: \"0000:03:20.0\" is not a PCI address");
	check_err_has("ports:\n  - name: p0\n    driver: pci\n    pci: \"0000:03:00.8\"\n",
		      "ports[0].pci: \"0000:03:00.8\" is not a PCI address");
}

static void test_port_devargs(void **state)
{
	(void)state;
	check_ok(PORT0 "    devargs: \"qpairs=2,blocksz=4096\"\n");
	assert_string_equal(cfg.ports[0].devargs, "qpairs=2,blocksz=4096");
	check_err(PORT0 "    devargs: \"qpairs=2 x\"\n",
		  "weft.yaml:5: ports[0].devargs: must not contain spaces or control characters");
}

static void test_port_sizes(void **state)
{
	(void)state;
	check_ok(PORT0 "    mtu: 9000\n    rx_desc: 64\n    tx_desc: 8192\n");
	assert_int_equal(cfg.ports[0].mtu, 9000);
	assert_int_equal(cfg.ports[0].rx_desc, 64);
	assert_int_equal(cfg.ports[0].tx_desc, 8192);
	check_err(PORT0 "    mtu: 67\n", "weft.yaml:5: ports[0].mtu: 67 is out of range (68..9000)");
	check_err(PORT0 "    mtu: 9001\n", "weft.yaml:5: ports[0].mtu: 9001 is out of range (68..9000)");
	check_err(PORT0 "    rx_desc: 1000\n", "weft.yaml:5: ports[0].rx_desc: 1000 is not a power of two in 64..8192");
	check_err(PORT0 "    tx_desc: 32\n", "weft.yaml:5: ports[0].tx_desc: 32 is not a power of two in 64..8192");
	check_err(PORT0 "    tx_desc: 16384\n",
		  "weft.yaml:5: ports[0].tx_desc: 16384 is not a power of two in 64..8192");
}

static void test_ipv6_mtu(void **state)
{
	(void)state;
	check_ok(PORT0 "    mtu: 1280\n    addresses: [\"2001:db8::1/64\"]\n");
	check_ok(PORT0 "    mtu: 1200\n    addresses: [198.18.0.1/24]\n");
	check_err(PORT0 "    mtu: 1200\n    addresses: [198.18.0.1/24, \"2001:db8::1/64\"]\n",
		  "weft.yaml:5: ports[0].mtu: 1200 is below the IPv6 minimum of 1280 "
		  "(the port has IPv6 address 2001:db8::1/64)");
}

static void test_too_many_ports(void **state)
{
	char buf[2048];
	int n = snprintf(buf, sizeof(buf), "ports:\n");

	(void)state;
	for (int i = 0; i < 9; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "  - {name: p%d, driver: ring}\n", i);
	check_err(buf, "weft.yaml:2: ports: too many ports (9, max 8)");
}

/* ------------------------------------------------------------------------- */
/* addresses and gateways                                                     */
/* ------------------------------------------------------------------------- */

static void test_addresses(void **state)
{
	(void)state;
	check_ok(PORT0 "    addresses: [198.18.0.1/24, \"2001:db8::1/64\", 198.18.9.0/31, 198.18.10.7/32]\n");
	assert_int_equal(cfg.ports[0].n_addrs, 4);
	assert_int_equal(cfg.ports[0].addrs[0].ip.af, 4);
	assert_int_equal(cfg.ports[0].addrs[0].ip.v4, v4("198.18.0.1"));
	assert_int_equal(cfg.ports[0].addrs[0].plen, 24);
	assert_int_equal(cfg.ports[0].addrs[1].ip.af, 6);
	assert_int_equal(cfg.ports[0].addrs[1].plen, 64);
	assert_int_equal(cfg.ports[0].addrs[1].ip.v6[15], 1);

	check_err(PORT0 "    addresses: [198.18.0.1/24, \"2001:db8::1/129\"]\n",
		  "weft.yaml:5: ports[0].addresses[1]: \"2001:db8::1/129\" is not an IP prefix (prefix length 129 > 128)");
	check_err(PORT0 "    addresses: [198.18.0.1]\n",
		  "weft.yaml:5: ports[0].addresses[0]: \"198.18.0.1\" is not an IP prefix (missing /length)");
	check_err(PORT0 "    addresses: [198.18.0.256/24]\n",
		  "weft.yaml:5: ports[0].addresses[0]: \"198.18.0.256/24\" is not an IP prefix (bad address)");
	check_err(PORT0 "    addresses: 198.18.0.1/24\n",
		  "weft.yaml:5: ports[0].addresses: expected a sequence of IP prefixes");
	check_err(PORT0 "    addresses: [1.0.0.1/8, 2.0.0.1/8, 3.0.0.1/8, 4.0.0.1/8, 5.0.0.1/8, 6.0.0.1/8, "
			"7.0.0.1/8, 8.0.0.1/8, 9.0.0.1/8]\n",
		  "weft.yaml:5: ports[0].addresses: too many addresses (9, max 8)");
}

static void test_address_not_unicast(void **state)
{
	(void)state;
	check_err(PORT0 "    addresses: [198.18.0.0/24]\n",
		  "weft.yaml:5: ports[0].addresses[0]: 198.18.0.0/24 is not a host address: "
		  "it is the subnet address (host bits are all zero)");
	check_err(PORT0 "    addresses: [198.18.0.255/24]\n",
		  "weft.yaml:5: ports[0].addresses[0]: 198.18.0.255/24 is not a host address: "
		  "it is the subnet broadcast address");
	check_err(PORT0 "    addresses: [\"2001:db8::/64\"]\n",
		  "weft.yaml:5: ports[0].addresses[0]: 2001:db8::/64 is not a host address: "
		  "it is the subnet-router anycast address (host bits are all zero, RFC 4291 2.6.1)");
	check_err(PORT0 "    addresses: [224.0.0.5/24]\n",
		  "weft.yaml:5: ports[0].addresses[0]: 224.0.0.5/24 is a multicast address");
	check_err(PORT0 "    addresses: [\"ff02::1/64\"]\n",
		  "weft.yaml:5: ports[0].addresses[0]: ff02::1/64 is a multicast address");
	check_err(PORT0 "    addresses: [127.0.0.2/8]\n",
		  "weft.yaml:5: ports[0].addresses[0]: 127.0.0.2/8 is a loopback address");
	check_err(PORT0 "    addresses: [\"::1/128\"]\n",
		  "weft.yaml:5: ports[0].addresses[0]: ::1/128 is a loopback address");
	check_err(PORT0 "    addresses: [0.0.0.0/0]\n",
		  "weft.yaml:5: ports[0].addresses[0]: 0.0.0.0/0 is the unspecified address");
	check_err(PORT0 "    addresses: [\"::/0\"]\n",
		  "weft.yaml:5: ports[0].addresses[0]: ::/0 is the unspecified address");
	check_err(PORT0 "    addresses: [255.255.255.255/32]\n",
		  "weft.yaml:5: ports[0].addresses[0]: 255.255.255.255/32 is the broadcast address");
}

static void test_address_duplicates(void **state)
{
	(void)state;
	check_err(PORT0 "    addresses: [198.18.0.1/24, 198.18.0.1/25]\n",
		  "weft.yaml:5: ports[0].addresses[1]: duplicate address 198.18.0.1 (also ports[0].addresses[0], line 5)");
	check_err(PORT0 "    addresses: [198.18.0.1/24]\n"
			"  - name: p1\n"
			"    driver: ring\n"
			"    addresses:\n"
			"      - 198.18.1.1/24\n"
			"      - 198.18.0.1/32\n",
		  "weft.yaml:10: ports[1].addresses[1]: duplicate address 198.18.0.1 (also ports[0].addresses[0], line 5)");
}

static void test_address_overlap(void **state)
{
	(void)state;
	check_err(PORT0 "    addresses: [198.18.0.1/16]\n"
			"  - name: p1\n"
			"    driver: ring\n"
			"    addresses: [198.18.5.1/24]\n",
		  "weft.yaml:8: ports[1].addresses[0]: subnet 198.18.5.0/24 of port p1 overlaps subnet 198.18.0.0/16 "
		  "of port p0 (ports[0].addresses[0], line 5)");
	check_err_has(PORT0 "    addresses: [\"2001:db8::1/64\"]\n"
			    "  - name: p1\n"
			    "    driver: ring\n"
			    "    addresses: [\"2001:db8::2/48\"]\n",
		      "weft.yaml:8: ports[1].addresses[0]: subnet 2001:db8::/48 of port p1 overlaps subnet 2001:db8::/64 "
		      "of port p0");
	/* Secondary addresses in one subnet of one port are fine; link-local subnets are per link. */
	check_ok(PORT0 "    addresses: [198.18.0.1/24, 198.18.0.2/24, \"fe80::1/64\"]\n"
		       "  - name: p1\n"
		       "    driver: ring\n"
		       "    addresses: [198.18.1.1/24, \"fe80::2/64\"]\n");
}

static void test_gateways(void **state)
{
	(void)state;
	check_ok(PORT0 "    addresses: [198.18.0.1/24, \"2001:db8::1/64\"]\n"
		       "    gateway: 198.18.0.254\n"
		       "    gateway6: \"2001:db8::fe\"\n");
	assert_true(cfg.ports[0].has_gw4);
	assert_int_equal(cfg.ports[0].gw4.v4, v4("198.18.0.254"));
	assert_true(cfg.ports[0].has_gw6);
	assert_int_equal(cfg.ports[0].gw6.v6[15], 0xfe);

	check_ok(PORT0 "    addresses: [\"2001:db8::1/64\"]\n    gateway6: \"fe80::1\"\n");
	check_err(PORT0 "    addresses: [198.18.0.1/24]\n    gateway: 198.18.1.254\n",
		  "weft.yaml:6: ports[0].gateway: 198.18.1.254 is not inside a connected IPv4 subnet of port p0");
	check_err(PORT0 "    gateway: 198.18.1.254\n",
		  "weft.yaml:5: ports[0].gateway: 198.18.1.254 is not inside a connected IPv4 subnet of port p0");
	check_err(PORT0 "    addresses: [198.18.0.1/24]\n    gateway: \"2001:db8::fe\"\n",
		  "weft.yaml:6: ports[0].gateway: 2001:db8::fe is not an IPv4 address (use gateway6)");
	check_err(PORT0 "    addresses: [198.18.0.1/24]\n    gateway: 198.18.0.1\n",
		  "weft.yaml:6: ports[0].gateway: 198.18.0.1 is an address of port p0 itself");
	check_err(PORT0 "    addresses: [198.18.0.1/24]\n    gateway: 198.18.0.255\n",
		  "weft.yaml:6: ports[0].gateway: 198.18.0.255 is the subnet broadcast address of 198.18.0.0/24");
	check_err(PORT0 "    addresses: [198.18.0.1/24]\n    gateway: nope\n",
		  "weft.yaml:6: ports[0].gateway: \"nope\" is not an IP address");
	check_err(PORT0 "    addresses: [\"2001:db8::1/64\"]\n    gateway6: \"2001:db9::1\"\n",
		  "weft.yaml:6: ports[0].gateway6: 2001:db9::1 is not inside a connected IPv6 subnet of port p0 "
		  "(nor link-local)");
	check_err(PORT0 "    gateway6: \"ff02::2\"\n", "weft.yaml:5: ports[0].gateway6: ff02::2 is a multicast address");
}

/* ------------------------------------------------------------------------- */
/* fault injection                                                            */
/* ------------------------------------------------------------------------- */

static void test_fault_values(void **state)
{
	(void)state;
	check_ok(PORT0 "    fault:\n"
		       "      seed: 18446744073709551615\n"
		       "      rx: {drop: 0.01, duplicate: \"2.5%\", corrupt: 1e-3, reorder: 1, delay_ms: 20, jitter_us: 250}\n"
		       "      tx: {drop: 100%, delay_us: 1500, jitter_ms: 3}\n");
	const struct weft_port_cfg *p = &cfg.ports[0];
	assert_true(p->fault_enabled);
	assert_true(p->fault_seed == UINT64_MAX);
	assert_true(p->fault_rx.drop == 0.01);
	assert_true(p->fault_rx.duplicate == 0.025);
	assert_true(p->fault_rx.corrupt == 0.001);
	assert_true(p->fault_rx.reorder == 1.0);
	assert_int_equal(p->fault_rx.delay_us, 20000);
	assert_int_equal(p->fault_rx.jitter_us, 250);
	assert_true(p->fault_tx.drop == 1.0);
	assert_int_equal(p->fault_tx.delay_us, 1500);
	assert_int_equal(p->fault_tx.jitter_us, 3000);
}

static void test_fault_enabling(void **state)
{
	(void)state;
	check_ok(PORT0 "    fault:\n      seed: 7\n      rx: {drop: 0, delay_ms: 0}\n      tx: {}\n");
	assert_false(cfg.ports[0].fault_enabled);
	assert_int_equal(cfg.ports[0].fault_seed, 7);
	check_ok(PORT0 "    fault:\n      tx: {jitter_us: 1}\n");
	assert_true(cfg.ports[0].fault_enabled);
	check_ok(PORT0 "    fault:\n      rx: {corrupt: 0.0001%}\n");
	assert_true(cfg.ports[0].fault_enabled);
	/* Faults belong to their port only. */
	check_ok(PORT0 "  - name: p1\n    driver: ring\n    fault: {rx: {drop: 0.5}}\n");
	assert_false(cfg.ports[0].fault_enabled);
	assert_true(cfg.ports[1].fault_enabled);
	/* An anchor shared by both directions. */
	check_ok(PORT0 "    fault:\n      rx: &f {drop: 0.1}\n      tx: *f\n");
	assert_true(cfg.ports[0].fault_tx.drop == 0.1);
}

static void test_fault_errors(void **state)
{
	(void)state;
	check_err(PORT0 "    fault:\n      rx: {drop: 1.5}\n",
		  "weft.yaml:6: ports[0].fault.rx.drop: 1.5 is out of range (0..1, or \"0%\"..\"100%\")");
	check_err(PORT0 "    fault:\n      rx: {drop: 150%}\n",
		  "weft.yaml:6: ports[0].fault.rx.drop: 150% is out of range (0..1, or \"0%\"..\"100%\")");
	check_err(PORT0 "    fault:\n      tx: {reorder: -0.1}\n",
		  "weft.yaml:6: ports[0].fault.tx.reorder: -0.1 is out of range (0..1, or \"0%\"..\"100%\")");
	check_err(PORT0 "    fault:\n      tx: {corrupt: often}\n",
		  "weft.yaml:6: ports[0].fault.tx.corrupt: expected a probability (0..1 or a percentage like \"1%\"), "
		  "got \"often\"");
	check_err_has(PORT0 "    fault:\n      tx: {corrupt: nan}\n", "got \"nan\"");
	check_err_has(PORT0 "    fault:\n      tx: {corrupt: \"%\"}\n", "got \"%\"");
	check_err(PORT0 "    fault:\n      rx: {delay_ms: 10001}\n",
		  "weft.yaml:6: ports[0].fault.rx.delay_ms: 10001 is out of range (0..10000)");
	check_err(PORT0 "    fault:\n      rx: {jitter_us: 10000001}\n",
		  "weft.yaml:6: ports[0].fault.rx.jitter_us: 10000001 is out of range (0..10000000)");
	check_err(PORT0 "    fault:\n      rx:\n        delay_ms: 5\n        delay_us: 5\n",
		  "weft.yaml:8: ports[0].fault.rx.delay_us: give delay_ms or delay_us, not both");
	check_err(PORT0 "    fault:\n      rx: {dorp: 0.1}\n",
		  "weft.yaml:6: ports[0].fault.rx.dorp: unknown key (did you mean \"drop\"?)");
	check_err(PORT0 "    fault:\n      seed: -3\n",
		  "weft.yaml:6: ports[0].fault.seed: expected a non-negative integer, got \"-3\"");
	check_err(PORT0 "    fault: 0.1\n", "weft.yaml:5: ports[0].fault: expected a mapping");
}

/* ------------------------------------------------------------------------- */
/* routes and admin                                                           */
/* ------------------------------------------------------------------------- */

#define TWO_PORTS                                                                                  \
	PORT0 "    addresses: [198.18.0.1/24, \"2001:db8::1/64\"]\n" /* 5 */                         \
	      "  - name: p1\n"                                      /* 6 */                         \
	      "    driver: ring\n"                                  /* 7 */                         \
	      "    addresses: [198.18.1.1/24]\n"                    /* 8 */                         \
	      "routes:\n"                                           /* 9 */

static void test_routes(void **state)
{
	(void)state;
	check_ok(TWO_PORTS "  - prefix: 198.19.0.0/16\n"
			   "    via: 198.18.1.254\n"
			   "    port: p1\n"
			   "  - {prefix: \"2001:db8:100::/48\", via: \"2001:db8::fe\"}\n"
			   "  - {prefix: 0.0.0.0/0, via: 198.18.0.254}\n"
			   "  - {prefix: \"::/0\", via: \"fe80::1\", port: p0}\n");
	assert_int_equal(cfg.n_routes, 4);
	assert_int_equal(cfg.routes[0].dst.ip.v4, v4("198.19.0.0"));
	assert_int_equal(cfg.routes[0].dst.plen, 16);
	assert_int_equal(cfg.routes[0].via.v4, v4("198.18.1.254"));
	assert_string_equal(cfg.routes[0].port, "p1");
	assert_int_equal(cfg.routes[0].line, 10);
	assert_int_equal(cfg.routes[1].dst.ip.af, 6);
	assert_string_equal(cfg.routes[1].port, "");
	assert_int_equal(cfg.routes[1].line, 13);
	assert_int_equal(cfg.routes[2].dst.plen, 0);
}

static void test_route_errors(void **state)
{
	(void)state;
	check_err(TWO_PORTS "  - {prefix: 198.19.0.0/16, via: \"2001:db8::fe\"}\n",
		  "weft.yaml:10: routes[0].via: 2001:db8::fe is IPv6 but prefix 198.19.0.0/16 is IPv4");
	check_err(TWO_PORTS "  - {prefix: 198.19.0.0/16, via: 198.18.0.254, port: p9}\n",
		  "weft.yaml:10: routes[0].port: no port named \"p9\"");
	check_err(TWO_PORTS "  - {prefix: 198.19.0.1/16, via: 198.18.0.254}\n",
		  "weft.yaml:10: routes[0].prefix: 198.19.0.1/16 has host bits set (did you mean 198.19.0.0/16?)");
	check_err(TWO_PORTS "  - {prefix: 198.19.0.0/16, via: 198.18.0.254}\n"
			    "  - {prefix: 198.19.0.0/16, via: 198.18.1.254}\n",
		  "weft.yaml:11: routes[1].prefix: duplicate route for 198.19.0.0/16 (first at line 10)");
	check_err(TWO_PORTS "  - {prefix: \"2001:db8:5::/48\", via: \"fe80::1\"}\n",
		  "weft.yaml:10: routes[0].via: link-local next hop fe80::1 needs \"port\"");
	check_err(TWO_PORTS "  - {prefix: 198.19.0.0/16, via: 224.0.0.1}\n",
		  "weft.yaml:10: routes[0].via: 224.0.0.1 is a multicast address");
	check_err(TWO_PORTS "  - {prefix: 198.19.0.0/16, via: 198.18.1.1}\n",
		  "weft.yaml:10: routes[0].via: 198.18.1.1 is an address of port p1 itself");
	check_err(TWO_PORTS "  - {prefix: 198.19.0.0/16}\n", "weft.yaml:10: routes[0].via: required key is missing");
	check_err(TWO_PORTS "  - {via: 198.18.0.254}\n", "weft.yaml:10: routes[0].prefix: required key is missing");
	check_err(TWO_PORTS "  - {prefix: 198.19.0.0/33, via: 198.18.0.254}\n",
		  "weft.yaml:10: routes[0].prefix: \"198.19.0.0/33\" is not an IP prefix (prefix length 33 > 32)");
	check_err(PORT0 "routes: {prefix: 198.19.0.0/16}\n", "weft.yaml:5: routes: expected a sequence of routes");
}

static void test_routes_before_ports(void **state)
{
	(void)state;
	/* Section order in the file does not matter. */
	check_ok("routes:\n  - {prefix: 198.19.0.0/16, via: 198.18.0.254, port: p0}\n" PORT0);
	assert_int_equal(cfg.routes[0].line, 2);
	assert_int_equal(cfg.ports[0].line, 4);
}

static void test_too_many_routes(void **state)
{
	size_t cap = 64 * 1024;
	char *buf = malloc(cap);
	int n;

	(void)state;
	assert_non_null(buf);
	n = snprintf(buf, cap, PORT0 "routes:\n");
	for (int i = 0; i < 256; i++)
		n += snprintf(buf + n, cap - (size_t)n, "  - {prefix: 198.19.%d.%d/32, via: 198.18.0.254}\n", i / 256,
			      i % 256);
	check_ok(buf);
	assert_int_equal(cfg.n_routes, 256);
	snprintf(buf + n, cap - (size_t)n, "  - {prefix: 198.19.200.0/24, via: 198.18.0.254}\n");
	check_err(buf, "weft.yaml:6: routes: too many routes (257, max 256)");
	free(buf);
}

static void test_admin(void **state)
{
	(void)state;
	check_ok(PORT0 "admin:\n  address: \"::1\"\n  port: 19901\n");
	assert_int_equal(cfg.admin.addr.af, 6);
	assert_int_equal(cfg.admin.addr.v6[15], 1);
	assert_int_equal(cfg.admin.port, 19901);
	check_ok(PORT0 "admin:\n  address: 127.0.0.53\n");
	check_err(PORT0 "admin:\n  address: 0.0.0.0\n",
		  "weft.yaml:6: admin.address: 0.0.0.0 is not a loopback address (127.0.0.0/8 or ::1): "
		  "the admin API is never exposed");
	check_err(PORT0 "admin:\n  address: 198.18.0.1\n",
		  "weft.yaml:6: admin.address: 198.18.0.1 is not a loopback address (127.0.0.0/8 or ::1): "
		  "the admin API is never exposed");
	check_err(PORT0 "admin:\n  port: 0\n", "weft.yaml:6: admin.port: 0 is out of range (1..65535)");
	check_err(PORT0 "admin:\n  port: 65536\n", "weft.yaml:6: admin.port: 65536 is out of range (1..65535)");
}

/* ------------------------------------------------------------------------- */
/* clusters, listeners, tcp                                                   */
/* ------------------------------------------------------------------------- */

/* Lines 1-9: two ports with addresses; a section may follow from line 10. */
#define L4_PORTS                                                                                   \
	"ports:\n"                                                   /* 1 */                        \
	"  - name: p0\n"                                             /* 2 */                        \
	"    driver: ring\n"                                         /* 3 */                        \
	"    addresses: [198.18.0.1/24, \"2001:db8::1/64\"]\n"       /* 4 */                        \
	"  - name: p1\n"                                             /* 5 */                        \
	"    driver: ring\n"                                         /* 6 */                        \
	"    addresses: [198.18.1.1/24, \"2001:db8:1::1/64\"]\n"     /* 7 */                        \
	"clusters:\n"                                                /* 8 */                        \
	"  - {name: backend, endpoints: [{address: 198.18.1.2, port: 5001}]}\n" /* 9 */

/* Lines 1-11: ports, one cluster, "listeners:" at line 10 and an entry from line 11. */
#define L4_BASE L4_PORTS "listeners:\n"

static void test_l4_full(void **state)
{
	(void)state;
	check_ok(L4_PORTS "  - name: web\n"                                    /* 10 */
			  "    lb_policy: round_robin\n"                     /* 11 */
			  "    endpoints:\n"                                 /* 12 */
			  "      - {address: 198.18.1.2, port: 80, weight: 3}\n" /* 13 */
			  "      - {address: \"2001:db8:1::2\", port: 80}\n" /* 14 */
			  "      - address: 198.19.0.7\n"                    /* 15 */
			  "        port: 8080\n"                             /* 16 */
			  "listeners:\n"                                     /* 17 */
			  "  - name: tcp_in\n"                               /* 18 */
			  "    kind: tcp_proxy\n"                            /* 19 */
			  "    address: 198.18.0.1\n"                        /* 20 */
			  "    port: 5000\n"                                 /* 21 */
			  "    cluster: backend\n"                           /* 22 */
			  "    connect_timeout_ms: 250\n"                    /* 23 */
			  "    idle_timeout_ms: 0\n"                         /* 24 */
			  "    max_connections: 7\n"                         /* 25 */
			  "  - {name: web-6, kind: tcp_proxy, address: \"::\", port: 80, cluster: web}\n" /* 26 */
			  "  - {name: web-4, kind: tcp_proxy, address: 0.0.0.0, port: 80, cluster: web}\n"
			  "  - {name: web-4x, kind: tcp_proxy, address: 198.18.0.1, port: 80, cluster: web}\n");
	assert_int_equal(cfg.n_clusters, 2);
	assert_int_equal(cfg.n_endpoints, 4);
	assert_string_equal(cfg.clusters[0].name, "backend");
	assert_int_equal(cfg.clusters[0].first_endpoint, 0);
	assert_int_equal(cfg.clusters[0].n_endpoints, 1);
	assert_int_equal(cfg.clusters[1].first_endpoint, 1);
	assert_int_equal(cfg.clusters[1].n_endpoints, 3);
	assert_int_equal(cfg.clusters[1].lb, WEFT_LB_ROUND_ROBIN);
	assert_int_equal(cfg.clusters[1].line, 10);
	assert_int_equal(cfg.endpoints[1].addr.v4, v4("198.18.1.2"));
	assert_int_equal(cfg.endpoints[1].port, 80);
	assert_int_equal(cfg.endpoints[1].weight, 3);
	assert_int_equal(cfg.endpoints[1].line, 13);
	assert_int_equal(cfg.endpoints[2].addr.af, 6);
	assert_int_equal(cfg.endpoints[2].weight, 1);
	assert_int_equal(cfg.endpoints[3].port, 8080);
	assert_int_equal(cfg.endpoints[3].line, 15);

	assert_int_equal(cfg.n_listeners, 4);
	const struct weft_listener_cfg *l = &cfg.listeners[0];
	assert_string_equal(l->name, "tcp_in");
	assert_int_equal(l->kind, WEFT_LISTENER_TCP_PROXY);
	assert_int_equal(l->addr.v4, v4("198.18.0.1"));
	assert_false(l->any);
	assert_int_equal(l->port, 5000);
	assert_string_equal(l->cluster, "backend");
	assert_int_equal(l->cluster_idx, 0);
	assert_int_equal(l->connect_timeout_ms, 250);
	assert_int_equal(l->idle_timeout_ms, 0);
	assert_int_equal(l->max_connections, 7);
	assert_int_equal(l->line, 18);
	assert_true(cfg.listeners[1].any);
	assert_int_equal(cfg.listeners[1].addr.af, 6);
	assert_int_equal(cfg.listeners[1].cluster_idx, 1);
	assert_true(cfg.listeners[2].any);
	assert_int_equal(cfg.listeners[2].addr.af, 4);
	assert_false(cfg.listeners[3].any);
}

static void test_l4_defaults(void **state)
{
	(void)state;
	check_ok(L4_BASE "  - {name: a, kind: tcp_proxy, address: 198.18.0.1, port: 1, cluster: backend}\n");
	assert_int_equal(cfg.listeners[0].connect_timeout_ms, 1000);
	assert_int_equal(cfg.listeners[0].idle_timeout_ms, 300000);
	assert_int_equal(cfg.listeners[0].max_connections, 100000);
	assert_int_equal(cfg.clusters[0].lb, WEFT_LB_ROUND_ROBIN);
	assert_int_equal(cfg.endpoints[0].weight, 1);

	/* No listener, no cluster: a plain network node. */
	check_ok(PORT0);
	assert_int_equal(cfg.n_listeners, 0);
	assert_int_equal(cfg.n_clusters, 0);
	assert_int_equal(cfg.n_endpoints, 0);
	check_ok(PORT0 "listeners:\nclusters: []\ntcp:\n");
	assert_int_equal(cfg.n_listeners, 0);
	assert_int_equal(cfg.tcp.max_connections, 16384);
}

static void test_listener_errors(void **state)
{
	(void)state;
	check_err(L4_BASE "  - {kind: tcp_proxy, address: 198.18.0.1, port: 1, cluster: backend}\n",
		  "weft.yaml:11: listeners[0].name: required key is missing");
	check_err(L4_BASE "  - {name: Big, kind: tcp_proxy, address: 198.18.0.1, port: 1, cluster: backend}\n",
		  "weft.yaml:11: listeners[0].name: \"Big\" is not a valid name (1-31 characters of a-z, 0-9, _ and -)");
	check_err(L4_BASE "  - {name: a, kind: tcp_proxy, address: 198.18.0.1, port: 1, cluster: backend}\n"
			  "  - {name: a, kind: tcp_proxy, address: 198.18.0.1, port: 2, cluster: backend}\n",
		  "weft.yaml:12: listeners[1].name: duplicate listener name \"a\" (first at line 11)");
	check_err(L4_BASE "  - {name: a, address: 198.18.0.1, port: 1, cluster: backend}\n",
		  "weft.yaml:11: listeners[0].kind: required key is missing");
	check_err(L4_BASE "  - {name: a, kind: udp_proxy, address: 198.18.0.1, port: 1, cluster: backend}\n",
		  "weft.yaml:11: listeners[0].kind: unknown listener kind \"udp_proxy\" (expected tcp_proxy, http or tls_passthrough)");
	check_err(L4_BASE "  - {name: a, kind: tcp_proxy, port: 1, cluster: backend}\n",
		  "weft.yaml:11: listeners[0].address: required key is missing");
	check_err(L4_BASE "  - {name: a, kind: tcp_proxy, address: 198.18.9.9, port: 1, cluster: backend}\n",
		  "weft.yaml:11: listeners[0].address: 198.18.9.9 is not an address of any port (use one of the "
		  "ports' addresses, or 0.0.0.0 or \"::\" for every address of the family)");
	check_err(L4_BASE "  - {name: a, kind: tcp_proxy, address: 198.18.0.1/24, port: 1, cluster: backend}\n",
		  "weft.yaml:11: listeners[0].address: \"198.18.0.1/24\" is not an IP address");
	check_err(L4_BASE "  - {name: a, kind: tcp_proxy, address: 198.18.0.1, cluster: backend}\n",
		  "weft.yaml:11: listeners[0].port: required key is missing");
	check_err(L4_BASE "  - {name: a, kind: tcp_proxy, address: 198.18.0.1, port: 0, cluster: backend}\n",
		  "weft.yaml:11: listeners[0].port: 0 is out of range (1..65535)");
	check_err(L4_BASE "  - name: a\n"
			  "    kind: tcp_proxy\n"
			  "    address: \"2001:db8::1\"\n"
			  "    port: 443\n"
			  "    cluster: backend\n"
			  "  - {name: b, kind: tcp_proxy, address: \"2001:db8::1\", port: 443, cluster: backend}\n",
		  "weft.yaml:16: listeners[1].port: [2001:db8::1]:443 is already taken by listener a (line 14)");
	check_err(L4_BASE "  - {name: a, kind: tcp_proxy, address: 0.0.0.0, port: 80, cluster: backend}\n"
			  "  - {name: b, kind: tcp_proxy, address: 0.0.0.0, port: 80, cluster: backend}\n",
		  "weft.yaml:12: listeners[1].port: 0.0.0.0:80 is already taken by listener a (line 11)");
	check_err(L4_BASE "  - {name: a, kind: tcp_proxy, address: 198.18.0.1, port: 1}\n",
		  "weft.yaml:11: listeners[0].cluster: required key is missing");
	check_err(L4_BASE "  - {name: a, kind: tcp_proxy, address: 198.18.0.1, port: 1, cluster: nope}\n",
		  "weft.yaml:11: listeners[0].cluster: no cluster named \"nope\"");
	check_err(L4_BASE "  - {name: a, kind: tcp_proxy, address: 198.18.0.1, port: 1, cluster: backend,\n"
			  "     connect_timeout_ms: 0}\n",
		  "weft.yaml:12: listeners[0].connect_timeout_ms: 0 is out of range (1..3600000)");
	check_err(L4_BASE "  - {name: a, kind: tcp_proxy, address: 198.18.0.1, port: 1, cluster: backend,\n"
			  "     idle_timeout_ms: -1}\n",
		  "weft.yaml:12: listeners[0].idle_timeout_ms: expected a non-negative integer, got \"-1\"");
	check_err(L4_BASE "  - {name: a, kind: tcp_proxy, address: 198.18.0.1, port: 1, cluster: backend,\n"
			  "     max_connections: 0}\n",
		  "weft.yaml:12: listeners[0].max_connections: 0 is out of range (1..16777216)");
	check_err(L4_BASE "  - {name: a, kind: tcp_proxy, address: 198.18.0.1, port: 1, cluster: backend, tls: on}\n",
		  "weft.yaml:11: listeners[0].tls: expected a mapping (mode, certificates, trust_bundle, ...)");
	check_err(L4_BASE "  - {name: a, kind: tcp_proxy, address: 198.18.0.1, port: 1, clustr: backend}\n",
		  "weft.yaml:11: listeners[0].clustr: unknown key (did you mean \"cluster\"?)");
	check_err(L4_BASE "  - a\n", "weft.yaml:11: listeners[0]: expected a mapping");
	check_err(L4_PORTS "listeners: {name: a}\n", "weft.yaml:10: listeners: expected a sequence of listeners");
	/* Listeners come after clusters whatever the order in the file. */
	check_ok("listeners:\n  - {name: a, kind: tcp_proxy, address: 198.18.0.1, port: 1, cluster: backend}\n" L4_PORTS);
	assert_int_equal(cfg.listeners[0].line, 2);
}

static void test_cluster_errors(void **state)
{
	(void)state;
#define CL PORT0 "    addresses: [198.18.0.1/24]\nclusters:\n" /* entries from line 7 */
	check_err(CL "  - {endpoints: [{address: 198.18.0.2, port: 1}]}\n",
		  "weft.yaml:7: clusters[0].name: required key is missing");
	check_err(CL "  - {name: a, endpoints: [{address: 198.18.0.2, port: 1}]}\n"
		     "  - {name: a, endpoints: [{address: 198.18.0.2, port: 1}]}\n",
		  "weft.yaml:8: clusters[1].name: duplicate cluster name \"a\" (first at line 7)");
	check_err(CL "  - {name: a, lb_policy: least_conn, endpoints: [{address: 198.18.0.2, port: 1}]}\n",
		  "weft.yaml:7: clusters[0].lb_policy: unknown load-balancing policy \"least_conn\" (expected "
		  "round_robin, least_request, random, ring_hash or maglev)");
	check_err(CL "  - {name: a}\n", "weft.yaml:7: clusters[0].endpoints: required key is missing");
	check_err(CL "  - {name: a, endpoints: []}\n", "weft.yaml:7: clusters[0].endpoints: at least one endpoint is required");
	check_err(CL "  - name: a\n    endpoints:\n", "weft.yaml:8: clusters[0].endpoints: at least one endpoint is required");
	check_err(CL "  - {name: a, endpoints: {address: 198.18.0.2}}\n",
		  "weft.yaml:7: clusters[0].endpoints: expected a sequence of endpoints");
	check_err(CL "  - {name: a, endpoints: [198.18.0.2]}\n",
		  "weft.yaml:7: clusters[0].endpoints[0]: expected a mapping with address, port and weight");
	check_err(CL "  - {name: a, endpoints: [{port: 1}]}\n",
		  "weft.yaml:7: clusters[0].endpoints[0].address: required key is missing");
	check_err(CL "  - {name: a, endpoints: [{address: 198.18.0.2}]}\n",
		  "weft.yaml:7: clusters[0].endpoints[0].port: required key is missing");
	check_err(CL "  - {name: a, endpoints: [{address: 198.18.0.1, port: 1}]}\n",
		  "weft.yaml:7: clusters[0].endpoints[0].address: 198.18.0.1 is an address of port p0 itself");
	check_err(CL "  - {name: a, endpoints: [{address: 127.0.0.1, port: 1}]}\n",
		  "weft.yaml:7: clusters[0].endpoints[0].address: 127.0.0.1 is a loopback address");
	check_err(CL "  - {name: a, endpoints: [{address: \"::\", port: 1}]}\n",
		  "weft.yaml:7: clusters[0].endpoints[0].address: :: is the unspecified address");
	check_err(CL "  - {name: a, endpoints: [{address: 198.18.0.2, port: 70000}]}\n",
		  "weft.yaml:7: clusters[0].endpoints[0].port: 70000 is out of range (1..65535)");
	check_err(CL "  - {name: a, endpoints: [{address: 198.18.0.2, port: 1, weight: 0}]}\n",
		  "weft.yaml:7: clusters[0].endpoints[0].weight: 0 is out of range (1..10000)");
	check_err(CL "  - name: a\n"
		     "    endpoints:\n"
		     "      - {address: \"2001:db8::2\", port: 1}\n"
		     "      - {address: \"2001:DB8::2\", port: 1}\n",
		  "weft.yaml:10: clusters[0].endpoints[1]: duplicate endpoint [2001:db8::2]:1 (first at line 9)");
	/* The same endpoint in two clusters is fine; so is another port. */
	check_ok(CL "  - {name: a, endpoints: [{address: 198.18.0.2, port: 1}, {address: 198.18.0.2, port: 2}]}\n"
		    "  - {name: b, endpoints: [{address: 198.18.0.2, port: 1}]}\n");
	check_err(CL "  - {name: a, endpoints: [{address: 198.18.0.2, port: 1, wieght: 2}]}\n",
		  "weft.yaml:7: clusters[0].endpoints[0].wieght: unknown key (did you mean \"weight\"?)");
	check_err(PORT0 "clusters: {}\n", "weft.yaml:5: clusters: expected a sequence of clusters");
#undef CL
}

/* A config with n clusters of m endpoints each (and k listeners on the first). */
static char *l4_scale(unsigned n, unsigned m, unsigned k)
{
	size_t cap = 1u << 20, len = 0;
	char *buf = malloc(cap);

	assert_non_null(buf);
	len += (size_t)snprintf(buf + len, cap - len, "%s", PORT0 "    addresses: [198.18.0.1/24]\nclusters:\n");
	for (unsigned i = 0; i < n; i++) {
		len += (size_t)snprintf(buf + len, cap - len, "  - name: c%u\n    endpoints:\n", i);
		for (unsigned j = 0; j < m; j++)
			len += (size_t)snprintf(buf + len, cap - len, "      - {address: 198.19.%u.%u, port: %u}\n",
						j / 200, j % 200 + 1, 1000 + i);
	}
	len += (size_t)snprintf(buf + len, cap - len, "listeners:\n");
	for (unsigned i = 0; i < k; i++)
		len += (size_t)snprintf(buf + len, cap - len,
					"  - {name: l%u, kind: tcp_proxy, address: 198.18.0.1, port: %u, cluster: c0}\n",
					i, 1000 + i);
	assert_true(len < cap);
	return buf;
}

static void test_l4_limits(void **state)
{
	char *b;

	(void)state;
	b = l4_scale(64, 1, 64);
	check_ok(b);
	assert_int_equal(cfg.n_clusters, 64);
	assert_int_equal(cfg.n_listeners, 64);
	free(b);
	b = l4_scale(65, 1, 0);
	check_err(b, "weft.yaml:7: clusters: too many clusters (65, max 64)");
	free(b);
	b = l4_scale(1, 1, 65);
	check_err_has(b, "listeners: too many listeners (65, max 64)");
	free(b);
	b = l4_scale(1, 256, 1);
	check_ok(b);
	assert_int_equal(cfg.n_endpoints, 256);
	free(b);
	b = l4_scale(1, 257, 1);
	check_err(b, "weft.yaml:9: clusters[0].endpoints: too many endpoints (257, max 256 per cluster)");
	free(b);
	b = l4_scale(16, 256, 1);
	check_ok(b);
	assert_int_equal(cfg.n_endpoints, 4096);
	assert_int_equal(cfg.clusters[15].first_endpoint, 15 * 256);
	free(b);
	b = l4_scale(17, 256, 1);
	check_err_has(b, "clusters[16].endpoints: too many endpoints in all clusters together (max 4096)");
	free(b);
}

static void test_tcp_defaults(void **state)
{
	(void)state;
	/* The values of tcp_params_default() in dataplane/tcp: keep the two in step. */
	check_ok(PORT0);
	const struct weft_tcp_cfg *t = &cfg.tcp;
	assert_int_equal(t->max_connections, 16384);
	assert_int_equal(t->sndbuf, 262144);
	assert_int_equal(t->rcvbuf, 262144);
	assert_int_equal(t->syn_backlog, 1024);
	assert_true(t->syncookies);
	assert_true(t->window_scaling);
	assert_true(t->timestamps);
	assert_true(t->sack);
	assert_int_equal(t->congestion, WEFT_TCP_CC_CUBIC);
	assert_int_equal(t->rto_initial_ms, 1000);
	assert_int_equal(t->rto_min_ms, 200);
	assert_int_equal(t->rto_max_ms, 60000);
	assert_int_equal(t->max_retries, 8);
	assert_int_equal(t->syn_retries, 5);
	assert_int_equal(t->delayed_ack_ms, 40);
	assert_int_equal(t->time_wait_ms, 10000);
	assert_int_equal(t->fin_wait2_ms, 30000);
	assert_int_equal(t->keepalive_ms, 0);
	assert_int_equal(t->keepalive_interval_ms, 75000);
	assert_int_equal(t->keepalive_probes, 9);
	assert_int_equal(t->ooo_max_segments, 0);
	assert_int_equal(t->ooo_max_bytes, 0);
	assert_int_equal(t->challenge_acks_per_s, 1000);
	assert_int_equal(t->ephemeral_port_min, 32768);
	assert_int_equal(t->ephemeral_port_max, 60999);
	assert_string_equal(weft_tcp_cc_name(WEFT_TCP_CC_CUBIC), "cubic");
	assert_string_equal(weft_tcp_cc_name(WEFT_TCP_CC_NEWRENO), "newreno");
}

static void test_tcp_values(void **state)
{
	(void)state;
	check_ok(PORT0 "tcp:\n"
		       "  max_connections: 100000\n"
		       "  sndbuf: 1048576\n"
		       "  rcvbuf: 524288\n"
		       "  syn_backlog: 4096\n"
		       "  syncookies: off\n"
		       "  window_scaling: false\n"
		       "  timestamps: no\n"
		       "  sack: false\n"
		       "  congestion: newreno\n"
		       "  rto_initial_ms: 500\n"
		       "  rto_min_ms: 50\n"
		       "  rto_max_ms: 30000\n"
		       "  max_retries: 4\n"
		       "  syn_retries: 2\n"
		       "  delayed_ack_ms: 0\n"
		       "  time_wait_ms: 0\n"
		       "  fin_wait2_ms: 5000\n"
		       "  keepalive_ms: 60000\n"
		       "  keepalive_interval_ms: 10000\n"
		       "  keepalive_probes: 3\n"
		       "  ooo_max_segments: 128\n"
		       "  ooo_max_bytes: 65536\n"
		       "  challenge_acks_per_s: 10\n"
		       "  ephemeral_port_min: 10000\n"
		       "  ephemeral_port_max: 10000\n");
	const struct weft_tcp_cfg *t = &cfg.tcp;
	assert_int_equal(t->max_connections, 100000);
	assert_int_equal(t->sndbuf, 1048576);
	assert_int_equal(t->rcvbuf, 524288);
	assert_int_equal(t->syn_backlog, 4096);
	assert_false(t->syncookies);
	assert_false(t->window_scaling);
	assert_false(t->timestamps);
	assert_false(t->sack);
	assert_int_equal(t->congestion, WEFT_TCP_CC_NEWRENO);
	assert_int_equal(t->rto_initial_ms, 500);
	assert_int_equal(t->rto_min_ms, 50);
	assert_int_equal(t->rto_max_ms, 30000);
	assert_int_equal(t->max_retries, 4);
	assert_int_equal(t->syn_retries, 2);
	assert_int_equal(t->delayed_ack_ms, 0);
	assert_int_equal(t->time_wait_ms, 0);
	assert_int_equal(t->fin_wait2_ms, 5000);
	assert_int_equal(t->keepalive_ms, 60000);
	assert_int_equal(t->keepalive_interval_ms, 10000);
	assert_int_equal(t->keepalive_probes, 3);
	assert_int_equal(t->ooo_max_segments, 128);
	assert_int_equal(t->ooo_max_bytes, 65536);
	assert_int_equal(t->challenge_acks_per_s, 10);
	assert_int_equal(t->ephemeral_port_min, 10000);
	assert_int_equal(t->ephemeral_port_max, 10000);
}

static void test_tcp_errors(void **state)
{
	(void)state;
	check_err(PORT0 "tcp:\n  max_connections: 8\n",
		  "weft.yaml:6: tcp.max_connections: 8 is out of range (16..16777216)");
	check_err(PORT0 "tcp:\n  sndbuf: 4096\n", "weft.yaml:6: tcp.sndbuf: 4096 is out of range (16384..67108864)");
	check_err(PORT0 "tcp:\n  rcvbuf: 256KB\n", "weft.yaml:6: tcp.rcvbuf: expected an integer, got \"256KB\"");
	check_err(PORT0 "tcp:\n  congestion: bbr\n",
		  "weft.yaml:6: tcp.congestion: unknown congestion control \"bbr\" (expected cubic or newreno)");
	check_err(PORT0 "tcp:\n  sack: maybe\n",
		  "weft.yaml:6: tcp.sack: expected a boolean (true/false, yes/no, on/off), got \"maybe\"");
	check_err(PORT0 "tcp:\n  delayed_ack_ms: 500\n", "weft.yaml:6: tcp.delayed_ack_ms: 500 is out of range (0..499)");
	check_err(PORT0 "tcp:\n  time_wait_ms: 240001\n",
		  "weft.yaml:6: tcp.time_wait_ms: 240001 is out of range (0..240000)");
	check_err(PORT0 "tcp:\n  rto_min_ms: 5000\n  rto_max_ms: 4000\n",
		  "weft.yaml:7: tcp.rto_max_ms: rto_min_ms (5000) is above rto_max_ms (4000)");
	check_err(PORT0 "tcp:\n  rto_max_ms: 100\n", "weft.yaml:6: tcp.rto_max_ms: rto_min_ms (200) is above rto_max_ms (100)");
	check_err(PORT0 "tcp:\n  rto_initial_ms: 100\n",
		  "weft.yaml:6: tcp.rto_initial_ms: rto_initial_ms (100) must lie within rto_min_ms..rto_max_ms (200..60000)");
	check_err(PORT0 "tcp:\n  rto_min_ms: 2000\n",
		  "weft.yaml:6: tcp.rto_min_ms: rto_initial_ms (1000) must lie within rto_min_ms..rto_max_ms (2000..60000)");
	check_err(PORT0 "tcp:\n  ephemeral_port_min: 50000\n  ephemeral_port_max: 40000\n",
		  "weft.yaml:7: tcp.ephemeral_port_max: ephemeral_port_min (50000) is above ephemeral_port_max (40000)");
	check_err(PORT0 "tcp:\n  ephemeral_port_min: 80\n",
		  "weft.yaml:6: tcp.ephemeral_port_min: 80 is out of range (1024..65535)");
	check_err(PORT0 "tcp:\n  max_conns: 100\n", "weft.yaml:6: tcp.max_conns: unknown key");
	check_err(PORT0 "tcp:\n  timestamp: on\n", "weft.yaml:6: tcp.timestamp: unknown key (did you mean \"timestamps\"?)");
	check_err(PORT0 "tcp: [1]\n", "weft.yaml:5: tcp: expected a mapping");
}

/* ------------------------------------------------------------------------- */
/* Entry points and helpers                                                   */
/* ------------------------------------------------------------------------- */

static void test_load_errors(void **state)
{
	char path[] = "/tmp/weft-test-config-XXXXXX";
	int fd;

	(void)state;
	assert_int_equal(weft_config_load("/nonexistent/weft.yaml", &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "/nonexistent/weft.yaml: cannot read: No such file or directory");
	assert_int_equal(weft_config_load("/", &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "/: cannot read: Is a directory");

	/* A good file, then one past the size limit. */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, PORT0, strlen(PORT0)), (ssize_t)strlen(PORT0));
	assert_int_equal(weft_config_load(path, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.n_ports, 1);
	assert_int_equal(ftruncate(fd, WEFT_CFG_MAX_SIZE + 1), 0);
	close(fd);
	assert_int_equal(weft_config_load(path, &cfg, err, sizeof(err)), -1);
	char want[128];
	snprintf(want, sizeof(want), "%s: larger than 4 MiB", path);
	assert_string_equal(err, want);
	unlink(path);

	/* In memory too. */
	assert_int_equal(weft_config_parse(PORT0, WEFT_CFG_MAX_SIZE + 1, "big.yaml", &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "big.yaml: larger than 4 MiB (4194305 bytes)");
}

static void test_error_buffer(void **state)
{
	char small[12];

	(void)state;
	/* Truncated, terminated, and no buffer at all is fine. */
	assert_int_equal(weft_config_parse("", 0, "weft.yaml", &cfg, small, sizeof(small)), -1);
	assert_string_equal(small, "weft.yaml:1");
	assert_int_equal(weft_config_parse("", 0, "weft.yaml", &cfg, NULL, 0), -1);
	assert_int_equal(weft_config_parse(NULL, 0, NULL, &cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "<config>:1: ports: at least one port is required");
	/* Only len bytes are read. */
	const char *text = PORT0 "garbage: [";
	assert_int_equal(weft_config_parse(text, strlen(PORT0), "weft.yaml", &cfg, err, sizeof(err)), 0);
}

static void test_ip_helpers(void **state)
{
	struct weft_ip ip;
	struct weft_prefix p;
	char buf[64];

	(void)state;
	assert_int_equal(weft_ip_parse("198.18.0.1", &ip), 0);
	assert_int_equal(ip.af, 4);
	assert_int_equal(ip.v4, v4("198.18.0.1"));
	assert_string_equal(weft_ip_fmt(&ip, buf, sizeof(buf)), "198.18.0.1");
	assert_int_equal(weft_ip_parse("2001:DB8:0:0::1", &ip), 0);
	assert_int_equal(ip.af, 6);
	assert_string_equal(weft_ip_fmt(&ip, buf, sizeof(buf)), "2001:db8::1");
	assert_int_equal(weft_ip_parse("198.18.1", &ip), -1);
	assert_int_equal(weft_ip_parse("010.1.1.1", &ip), -1);
	assert_int_equal(weft_ip_parse(" 198.18.0.1", &ip), -1);
	assert_int_equal(weft_ip_parse("fe80::1%eth0", &ip), -1);
	assert_int_equal(weft_ip_parse("", &ip), -1);

	assert_int_equal(weft_prefix_parse("198.18.0.0/15", &p), 0);
	assert_int_equal(p.plen, 15);
	assert_string_equal(weft_prefix_fmt(&p, buf, sizeof(buf)), "198.18.0.0/15");
	assert_int_equal(weft_prefix_parse("2001:db8::/32", &p), 0);
	assert_int_equal(p.plen, 32);
	assert_int_equal(weft_prefix_parse("::/0", &p), 0);
	assert_int_equal(weft_prefix_parse("2001:db8::/128", &p), 0);
	static const char *const bad[] = {
		"198.18.0.0",  "198.18.0.0/",   "198.18.0.0/33", "198.18.0.0/015", "198.18.0.0/+1",
		"198.18.0.0/ 1", "198.18.0.0/1x", "/24",          "2001:db8::/129", "2001:db8::/1000",
		"198.18.0.0/24/1", "x/8",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (weft_prefix_parse(bad[i], &p) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
}

static void test_prefix_contains(void **state)
{
	struct weft_prefix p;
	struct weft_ip ip;

	(void)state;
	assert_int_equal(weft_prefix_parse("198.18.0.0/15", &p), 0);
	assert_int_equal(weft_ip_parse("198.19.255.255", &ip), 0);
	assert_true(weft_prefix_contains(&p, &ip));
	assert_int_equal(weft_ip_parse("198.20.0.0", &ip), 0);
	assert_false(weft_prefix_contains(&p, &ip));
	assert_int_equal(weft_ip_parse("2001:db8::1", &ip), 0);
	assert_false(weft_prefix_contains(&p, &ip)); /* other family */

	assert_int_equal(weft_prefix_parse("2001:db8::/33", &p), 0);
	assert_true(weft_prefix_contains(&p, &ip));
	assert_int_equal(weft_ip_parse("2001:db8:8000::1", &ip), 0);
	assert_false(weft_prefix_contains(&p, &ip));
	assert_int_equal(weft_prefix_parse("::/0", &p), 0);
	assert_true(weft_prefix_contains(&p, &ip));
	assert_int_equal(weft_prefix_parse("2001:db8:8000::1/128", &p), 0);
	assert_true(weft_prefix_contains(&p, &ip));
	assert_int_equal(weft_prefix_parse("0.0.0.0/0", &p), 0);
	assert_int_equal(weft_ip_parse("255.255.255.255", &ip), 0);
	assert_true(weft_prefix_contains(&p, &ip));
}

static void test_reentrant(void **state)
{
	/* Two parses interleave nothing: a failed one leaves no trace in the next. */
	(void)state;
	check_err(PORT0 "    mtu: 1\n", "weft.yaml:5: ports[0].mtu: 1 is out of range (68..9000)");
	check_ok(PORT0);
	assert_int_equal(cfg.ports[0].mtu, 1500);
	assert_string_equal(err, "");
}

/* ------------------------------------------------------------------------- */
/* tls_passthrough listeners                                                  */
/* ------------------------------------------------------------------------- */

#include "policy/l4cfg.h"

/* Lines 1-12: ports, three clusters, "listeners:" at line 12 and an entry from line 13. */
#define PT_BASE                                                                                    \
	L4_PORTS "  - {name: cluster_a, endpoints: [{address: 198.18.1.2, port: 9443}]}\n" /* 10 */ \
	"  - {name: cluster_default, endpoints: [{address: 198.18.1.2, port: 9444}]}\n"    /* 11 */ \
	"listeners:\n"                                                                       /* 12 */

static struct weft_l4_table pt_table;

static int pt_match(const char *sni)
{
	const struct weft_l4_listener *l = weft_l4_listener_by_name(&pt_table, "east_west");
	assert_non_null(l);
	return weft_l4_sni_match(&pt_table, l, sni, sni != NULL ? strlen(sni) : 0);
}

static void test_tls_passthrough(void **state)
{
	char e[256];

	(void)state;
	check_ok(PT_BASE "  - name: east_west\n"                                              /* 13 */
			 "    kind: tls_passthrough\n"                                          /* 14 */
			 "    address: 198.18.0.1\n"                                            /* 15 */
			 "    port: 15443\n"                                                    /* 16 */
			 "    sni_routes:\n"                                                    /* 17 */
			 "      - {server_names: [a.weft.test, \"*.B.weft.test\"], cluster: cluster_a}\n" /* 18 */
			 "      - {server_names: [\"*.weft.test\"], cluster: backend}\n"        /* 19 */
			 "      - {server_names: [\"*\"], cluster: cluster_default}\n"          /* 20 */
			 "    connect_timeout_ms: 500\n"
			 "    idle_timeout_ms: 60000\n"
			 "  - {name: plain, kind: tcp_proxy, address: 198.18.0.1, port: 80, cluster: backend}\n");
	assert_int_equal(cfg.n_listeners, 2);
	const struct weft_listener_cfg *l = &cfg.listeners[0];
	assert_int_equal(l->kind, WEFT_LISTENER_TLS_PASSTHROUGH);
	assert_int_equal(l->n_sni, 4);
	assert_int_equal(l->sni_first, 0);
	assert_int_equal(l->connect_timeout_ms, 500);
	assert_int_equal(l->idle_timeout_ms, 60000);
	assert_string_equal(cfg.sni[1].name, "*.b.weft.test"); /* lower case */
	assert_int_equal(cfg.sni[1].line, 18);
	assert_int_equal(cfg.sni[1].cluster_idx, 1);
	assert_int_equal(cfg.sni[3].cluster_idx, 2);
	assert_int_equal(cfg.listeners[1].n_sni, 0);

	assert_int_equal(weft_l4_compile(&cfg, &pt_table, e, sizeof(e)), 0);
	assert_int_equal(pt_match("a.weft.test"), 1);     /* exact */
	assert_int_equal(pt_match("A.Weft.Test."), 1);    /* any case, trailing dot */
	assert_int_equal(pt_match("x.b.weft.test"), 1);   /* longest suffix beats *.weft.test */
	assert_int_equal(pt_match("y.x.b.weft.test"), 1);
	assert_int_equal(pt_match("b.weft.test"), 0);     /* *.b needs a byte before ".b"; *.weft.test has it */
	assert_int_equal(pt_match("c.weft.test"), 0);
	assert_int_equal(pt_match("weft.test"), 2);       /* only "*" */
	assert_int_equal(pt_match("other.example"), 2);
	assert_int_equal(pt_match(NULL), 2);              /* no server_name at all */

	/* Without a catch-all, an unknown name has no cluster. */
	check_ok(PT_BASE "  - {name: east_west, kind: tls_passthrough, address: 198.18.0.1, port: 15443,\n"
			 "     sni_routes: [{server_names: [a.weft.test], cluster: cluster_a}]}\n");
	assert_int_equal(weft_l4_compile(&cfg, &pt_table, e, sizeof(e)), 0);
	assert_int_equal(pt_match("a.weft.test"), 1);
	assert_int_equal(pt_match("b.weft.test"), -1);
	assert_int_equal(pt_match("aa.weft.test"), -1);
	assert_int_equal(pt_match(NULL), -1);
}

static void test_tls_passthrough_errors(void **state)
{
	(void)state;
#define PT "  - {name: ew, kind: tls_passthrough, address: 198.18.0.1, port: 15443"
	check_err(PT_BASE PT "}\n", "weft.yaml:13: listeners[0].sni_routes: required key is missing");
	check_err(PT_BASE PT ", cluster: backend, sni_routes: [{server_names: [a], cluster: backend}]}\n",
		  "weft.yaml:13: listeners[0].cluster: a tls_passthrough listener picks clusters by sni_routes; "
		  "name them there");
	check_err(PT_BASE PT ", sni_routes: []}\n",
		  "weft.yaml:13: listeners[0].sni_routes: expected a non-empty sequence of {server_names, cluster}");
	check_err(PT_BASE PT ", sni_routes: [a]}\n",
		  "weft.yaml:13: listeners[0].sni_routes[0]: expected a mapping with server_names and cluster");
	check_err(PT_BASE PT ", sni_routes: [{server_names: [a]}]}\n",
		  "weft.yaml:13: listeners[0].sni_routes[0].cluster: required key is missing");
	check_err(PT_BASE PT ", sni_routes: [{server_names: [a], cluster: nope}]}\n",
		  "weft.yaml:13: listeners[0].sni_routes[0].cluster: no cluster named \"nope\"");
	check_err(PT_BASE PT ", sni_routes: [{cluster: backend}]}\n",
		  "weft.yaml:13: listeners[0].sni_routes[0].server_names: required key is missing");
	check_err(PT_BASE PT ", sni_routes: [{server_names: [], cluster: backend}]}\n",
		  "weft.yaml:13: listeners[0].sni_routes[0].server_names: expected a non-empty sequence of server names");
	check_err(PT_BASE PT ",\n     sni_routes: [{server_names: [a.b, \"a.*.c\"], cluster: backend}]}\n",
		  "weft.yaml:14: listeners[0].sni_routes[0].server_names[1]: \"a.*.c\": a wildcard is \"*\" or a "
		  "leading \"*.\" (as in \"*.example.com\")");
	check_err(PT_BASE PT ", sni_routes: [{server_names: [\"*a.b\"], cluster: backend}]}\n",
		  "weft.yaml:13: listeners[0].sni_routes[0].server_names[0]: \"*a.b\": a wildcard is \"*\" or a "
		  "leading \"*.\" (as in \"*.example.com\")");
	check_err(PT_BASE PT ", sni_routes: [{server_names: [\"a b\"], cluster: backend}]}\n",
		  "weft.yaml:13: listeners[0].sni_routes[0].server_names[0]: \"a b\" is not a DNS name");
	check_err(PT_BASE PT ", sni_routes: [{server_names: [\"*.\"], cluster: backend}]}\n",
		  "weft.yaml:13: listeners[0].sni_routes[0].server_names[0]: \"*.\" is not a DNS name");
	check_err(PT_BASE PT ", sni_routes: [{server_names: [\"a..b\"], cluster: backend}]}\n",
		  "weft.yaml:13: listeners[0].sni_routes[0].server_names[0]: \"a..b\" is not a DNS name");
	check_err(PT_BASE PT ", sni_routes: [{server_names: [\"\"], cluster: backend}]}\n",
		  "weft.yaml:13: listeners[0].sni_routes[0].server_names[0]: a server name has 1 to 253 bytes");
	check_err(PT_BASE PT ",\n     sni_routes: [{server_names: [a.b], cluster: backend},\n"
			  "                  {server_names: [A.B], cluster: cluster_a}]}\n",
		  "weft.yaml:15: listeners[0].sni_routes[1].server_names[0]: duplicate server name \"a.b\" "
		  "(first at line 14)");
	check_err(PT_BASE "  - {name: a, kind: tcp_proxy, address: 198.18.0.1, port: 1, cluster: backend,\n"
			  "     sni_routes: [{server_names: [a], cluster: backend}]}\n",
		  "weft.yaml:14: listeners[0].sni_routes: only a listener of kind tls_passthrough has sni_routes");
#undef PT
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_document),
		cmocka_unit_test(test_null_sections),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_not_a_mapping),
		cmocka_unit_test(test_two_documents),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_eal_values),
		cmocka_unit_test(test_worker_cpus),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_booleans),
		cmocka_unit_test(test_file_prefix_and_args),
		cmocka_unit_test(test_port_name),
		cmocka_unit_test(test_port_driver),
		cmocka_unit_test(test_port_iface),
		cmocka_unit_test(test_port_pci),
		cmocka_unit_test(test_port_devargs),
		cmocka_unit_test(test_port_sizes),
		cmocka_unit_test(test_ipv6_mtu),
		cmocka_unit_test(test_too_many_ports),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_address_not_unicast),
		cmocka_unit_test(test_address_duplicates),
		cmocka_unit_test(test_address_overlap),
		cmocka_unit_test(test_gateways),
		cmocka_unit_test(test_fault_values),
		cmocka_unit_test(test_fault_enabling),
		cmocka_unit_test(test_fault_errors),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_route_errors),
		cmocka_unit_test(test_routes_before_ports),
		cmocka_unit_test(test_too_many_routes),
		cmocka_unit_test(test_admin),
		cmocka_unit_test(test_l4_full),
		cmocka_unit_test(test_l4_defaults),
		cmocka_unit_test(test_listener_errors),
		cmocka_unit_test(test_cluster_errors),
		cmocka_unit_test(test_l4_limits),
		cmocka_unit_test(test_tcp_defaults),
		cmocka_unit_test(test_tcp_values),
		cmocka_unit_test(test_tcp_errors),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_error_buffer),
		cmocka_unit_test(test_ip_helpers),
		cmocka_unit_test(test_prefix_contains),
		cmocka_unit_test(test_reentrant),
		cmocka_unit_test(test_tls_passthrough),
		cmocka_unit_test(test_tls_passthrough_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
