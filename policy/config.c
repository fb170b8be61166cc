/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * weft.yaml: load, check and fill struct weft_config.
 *
 * libyaml's document API gives us the whole tree with source marks, so the
 * loader walks it once, schema first: every section is a table of known keys,
 * every value is checked where it is read, and every refusal names the file,
 * the line and the key path ("ports[0].addresses[1]") of what is wrong.
 * The first error wins; the config is all-or-nothing (see DESIGN.md,
 * principle 3: a refused config never replaces the one that serves).
 *
 * No global state: everything lives in a struct ctx on the caller's stack,
 * so parsing is reentrant and can run while an older config is in use.
 */
#include "policy/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "policy/config_yaml.h"

#define PATH_LEN 160

/* Limits that are part of the schema (documented in docs/configuration.md). */
#define MEMORY_MB_MIN 64
#define MEMORY_MB_MAX 65536
#define MBUFS_MIN 1024
#define MBUFS_MAX 1048576
#define MTU_MIN 68
#define MTU_MAX 9000
#define MTU_MIN_IPV6 1280 /* RFC 8200 section 5 */
#define DESC_MIN 64
#define DESC_MAX 8192
#define DELAY_MS_MAX 10000
#define IFNAME_MAX 15 /* IFNAMSIZ - 1 */
#define EAL_ARG_MAX 127
#define CONNECT_TIMEOUT_MS_MAX 3600000u  /* an hour */
#define IDLE_TIMEOUT_MS_MAX 604800000u   /* a week */
#define LISTENER_CONNS_MAX (1u << 24)
#define ENDPOINT_WEIGHT_MAX 10000
#define TCP_CONNS_MIN 16
#define TCP_CONNS_MAX (1u << 24)
#define TCP_BUF_MIN (16u << 10)   /* at least a few jumbo segments */
#define TCP_BUF_MAX (64u << 20)   /* what a 2^14 window scale still reaches with room to spare */

/* ------------------------------------------------------------------------- */
/* Addresses                                                                  */
/* ------------------------------------------------------------------------- */

static const uint8_t *ip_bytes(const struct weft_ip *ip, unsigned *n)
{
	if (ip->af == 4) {
		*n = 4;
		return (const uint8_t *)&ip->v4;
	}
	*n = 16;
	return ip->v6;
}

/* The first plen bits of a and b are equal. */
static bool bits_equal(const uint8_t *a, const uint8_t *b, unsigned plen)
{
	unsigned full = plen / 8, rem = plen % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rem == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rem));
	return ((a[full] ^ b[full]) & mask) == 0;
}

/* Every bit past plen equals bit (0 or 1). */
static bool host_bits_are(const struct weft_ip *ip, unsigned plen, int bit)
{
	unsigned n;
	const uint8_t *b = ip_bytes(ip, &n);
	uint8_t want = bit ? 0xff : 0x00;

	for (unsigned i = plen / 8; i < n; i++) {
		uint8_t mask = i == plen / 8 ? (uint8_t)(0xff >> (plen % 8)) : 0xff;
		if ((b[i] & mask) != (want & mask))
			return false;
	}
	return true;
}

static void mask_host_bits(struct weft_ip *ip, unsigned plen)
{
	unsigned n;
	uint8_t *b = (uint8_t *)ip_bytes(ip, &n);

	for (unsigned i = plen / 8; i < n; i++)
		b[i] &= i == plen / 8 ? (uint8_t)~(0xff >> (plen % 8)) : 0x00;
}

static bool ip_equal(const struct weft_ip *a, const struct weft_ip *b)
{
	if (a->af != b->af)
		return false;
	return a->af == 4 ? a->v4 == b->v4 : memcmp(a->v6, b->v6, 16) == 0;
}

/* Two prefixes of one family share addresses when the shorter contains the longer. */
static bool prefix_overlap(const struct weft_prefix *a, const struct weft_prefix *b)
{
	unsigned na, nb;

	if (a->ip.af != b->ip.af)
		return false;
	return bits_equal(ip_bytes(&a->ip, &na), ip_bytes(&b->ip, &nb), a->plen < b->plen ? a->plen : b->plen);
}

static bool is_link_local(const struct weft_ip *ip)
{
	if (ip->af == 4)
		return (ntohl(ip->v4) & 0xffff0000u) == 0xa9fe0000u; /* 169.254.0.0/16, RFC 3927 */
	return ip->v6[0] == 0xfe && (ip->v6[1] & 0xc0) == 0x80;     /* fe80::/10, RFC 4291 2.5.6 */
}

static bool is_loopback(const struct weft_ip *ip)
{
	static const uint8_t lo6[16] = {[15] = 1};

	if (ip->af == 4)
		return (ntohl(ip->v4) >> 24) == 127;
	return memcmp(ip->v6, lo6, 16) == 0;
}

/*
 * Why ip cannot be a unicast address of ours or a next hop, or NULL when it
 * can. The text completes "X is ...".
 */
static const char *unicast_problem(const struct weft_ip *ip)
{
	if (ip->af == 4) {
		uint32_t a = ntohl(ip->v4);
		if (a == 0)
			return "the unspecified address";
		if (a == 0xffffffffu)
			return "the broadcast address";
		if ((a >> 24) == 0)
			return "in 0.0.0.0/8 (\"this network\", RFC 1122)";
		if ((a >> 24) == 127)
			return "a loopback address";
		if ((a >> 28) == 0xe)
			return "a multicast address";
		if ((a >> 28) == 0xf)
			return "in the reserved range 240.0.0.0/4";
		return NULL;
	}
	static const uint8_t zero[16];
	static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
	if (memcmp(ip->v6, zero, 16) == 0)
		return "the unspecified address";
	if (is_loopback(ip))
		return "a loopback address";
	if (ip->v6[0] == 0xff)
		return "a multicast address";
	if (memcmp(ip->v6, mapped, 12) == 0)
		return "an IPv4-mapped address";
	return NULL;
}

/*
 * Why ip, inside a subnet of length plen, cannot be a host in it: the subnet
 * address (all host bits zero) and the IPv4 directed broadcast (all ones).
 * Point-to-point lengths have no such addresses: IPv4 /31 (RFC 3021), IPv6
 * /127 (RFC 6164), and host routes.
 */
static const char *host_problem(const struct weft_ip *ip, unsigned plen)
{
	if (ip->af == 4 && plen < 31) {
		if (host_bits_are(ip, plen, 0))
			return "the subnet address (host bits are all zero)";
		if (host_bits_are(ip, plen, 1))
			return "the subnet broadcast address";
	}
	if (ip->af == 6 && plen < 127 && host_bits_are(ip, plen, 0))
		return "the subnet-router anycast address (host bits are all zero, RFC 4291 2.6.1)";
	return NULL;
}

int weft_ip_parse(const char *s, struct weft_ip *ip)
{
	struct weft_ip out;

	if (s == NULL || ip == NULL)
		return -1;
	memset(&out, 0, sizeof(out));
	if (strchr(s, ':') != NULL) {
		if (inet_pton(AF_INET6, s, out.v6) != 1)
			return -1;
		out.af = 6;
	} else {
		if (inet_pton(AF_INET, s, &out.v4) != 1)
			return -1;
		out.af = 4;
	}
	*ip = out;
	return 0;
}

/* weft_prefix_parse() that says why it refused, in why. */
static int prefix_parse(const char *s, struct weft_prefix *p, char *why, size_t whylen)
{
	char addr[64];
	const char *slash = strchr(s, '/');
	struct weft_prefix out;

	if (slash == NULL) {
		snprintf(why, whylen, "missing /length");
		return -1;
	}
	size_t alen = (size_t)(slash - s);
	if (alen == 0 || alen >= sizeof(addr)) {
		snprintf(why, whylen, "bad address");
		return -1;
	}
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	memset(&out, 0, sizeof(out));
	if (weft_ip_parse(addr, &out.ip) != 0) {
		snprintf(why, whylen, "bad address");
		return -1;
	}
	/* Strict length: 1-3 decimal digits, no sign, no leading zero, nothing after. */
	const char *l = slash + 1;
	size_t llen = strlen(l);
	if (llen == 0 || llen > 3 || strspn(l, "0123456789") != llen || (llen > 1 && l[0] == '0')) {
		snprintf(why, whylen, "bad prefix length");
		return -1;
	}
	unsigned plen = (unsigned)strtoul(l, NULL, 10);
	unsigned max = out.ip.af == 4 ? 32 : 128;
	if (plen > max) {
		snprintf(why, whylen, "prefix length %u > %u", plen, max);
		return -1;
	}
	out.plen = (uint8_t)plen;
	*p = out;
	return 0;
}

int weft_prefix_parse(const char *s, struct weft_prefix *p)
{
	char why[64];

	if (s == NULL || p == NULL)
		return -1;
	return prefix_parse(s, p, why, sizeof(why));
}

char *weft_ip_fmt(const struct weft_ip *ip, char *buf, size_t len)
{
	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (ip->af == 4) {
		if (inet_ntop(AF_INET, &ip->v4, buf, (socklen_t)len) == NULL)
			buf[0] = '\0';
	} else if (ip->af == 6) {
		if (inet_ntop(AF_INET6, ip->v6, buf, (socklen_t)len) == NULL)
			buf[0] = '\0';
	} else {
		snprintf(buf, len, "?");
	}
	return buf;
}

char *weft_prefix_fmt(const struct weft_prefix *p, char *buf, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	if (len == 0)
		return buf;
	snprintf(buf, len, "%s/%u", weft_ip_fmt(&p->ip, a, sizeof(a)), p->plen);
	return buf;
}

bool weft_prefix_contains(const struct weft_prefix *p, const struct weft_ip *addr)
{
	unsigned np, na;

	if (p->ip.af != addr->af || (addr->af != 4 && addr->af != 6))
		return false;
	if (p->plen > (addr->af == 4 ? 32 : 128))
		return false;
	return bits_equal(ip_bytes(&p->ip, &np), ip_bytes(addr, &na), p->plen);
}

static const char *const driver_names[] = {
	[WEFT_DRV_AF_PACKET] = "af_packet",
	[WEFT_DRV_AF_XDP] = "af_xdp",
	[WEFT_DRV_TAP] = "tap",
	[WEFT_DRV_MEMIF] = "memif",
	[WEFT_DRV_RING] = "ring",
	[WEFT_DRV_NULL] = "null",
	[WEFT_DRV_PCAP] = "pcap",
	[WEFT_DRV_PCI] = "pci",
};
#define N_DRIVERS (sizeof(driver_names) / sizeof(driver_names[0]))

const char *weft_driver_name(enum weft_port_driver d)
{
	if ((unsigned)d >= N_DRIVERS)
		return "unknown";
	return driver_names[d];
}

int weft_driver_parse(const char *s, enum weft_port_driver *d)
{
	for (unsigned i = 0; i < N_DRIVERS; i++) {
		if (strcmp(s, driver_names[i]) == 0) {
			*d = (enum weft_port_driver)i;
			return 0;
		}
	}
	return -1;
}

/* Drivers that attach to a kernel network interface and need its name. */
static bool driver_needs_iface(enum weft_port_driver d)
{
	return d == WEFT_DRV_AF_PACKET || d == WEFT_DRV_AF_XDP || d == WEFT_DRV_TAP;
}

/* ------------------------------------------------------------------------- */
/* Defaults                                                                   */
/* ------------------------------------------------------------------------- */

void weft_port_cfg_defaults(struct weft_port_cfg *p)
{
	memset(p, 0, sizeof(*p));
	p->mtu = 1500;
	p->rx_desc = 1024;
	p->tx_desc = 1024;
	p->fault_seed = 1;
}

void weft_tcp_cfg_defaults(struct weft_tcp_cfg *t)
{
	/* The values of tcp_params_default(); tests/unit/test_config.c pins them. */
	memset(t, 0, sizeof(*t));
	t->max_connections = 16384;
	t->sndbuf = 256u << 10;
	t->rcvbuf = 256u << 10;
	t->syn_backlog = 1024;
	t->syncookies = true;
	t->window_scaling = true;
	t->timestamps = true;
	t->sack = true;
	t->congestion = WEFT_TCP_CC_CUBIC;
	t->rto_initial_ms = 1000;
	t->rto_min_ms = 200;
	t->rto_max_ms = 60000;
	t->max_retries = 8;
	t->syn_retries = 5;
	t->delayed_ack_ms = 40;
	t->time_wait_ms = 10000;
	t->fin_wait2_ms = 30000;
	t->keepalive_ms = 0;
	t->keepalive_interval_ms = 75000;
	t->keepalive_probes = 9;
	t->ooo_max_segments = 0; /* a full window: see tcp_ooo_max_segs() */
	t->ooo_max_bytes = 0;
	t->challenge_acks_per_s = 1000;
	t->ephemeral_port_min = 32768;
	t->ephemeral_port_max = 60999;
}

const char *weft_tcp_cc_name(enum weft_tcp_cc cc)
{
	return cc == WEFT_TCP_CC_NEWRENO ? "newreno" : cc == WEFT_TCP_CC_CUBIC ? "cubic" : "unknown";
}

void weft_config_defaults(struct weft_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->eal.main_cpu = 0;
	cfg->eal.n_workers = 1;
	cfg->eal.worker_cpus[0] = 1;
	cfg->eal.memory_mb = 256;
	cfg->eal.hugepages = true;
	snprintf(cfg->eal.file_prefix, sizeof(cfg->eal.file_prefix), "weft");
	weft_tcp_cfg_defaults(&cfg->tcp);
	cfg->eal.mbufs_per_worker = 8192;
	cfg->admin.addr.af = 4;
	cfg->admin.addr.v4 = htonl(0x7f000001u);
	cfg->admin.port = 9901;
}

/* ------------------------------------------------------------------------- */
/* Walking the document                                                       */
/* ------------------------------------------------------------------------- */

/* Where things came from, for messages that point at an earlier line. */
struct port_src {
	int name_line;
	int mtu_line;
	int addr_line[WEFT_CFG_MAX_ADDRS];
};

struct ctx {
	const char *file;
	const char *text; /* for turning reader byte offsets into lines */
	size_t len;
	yaml_document_t *doc;
	char *err;
	size_t errlen;
	struct port_src port[WEFT_CFG_MAX_PORTS];
	int route_prefix_line[WEFT_CFG_MAX_ROUTES];
	int cluster_name_line[WEFT_CFG_MAX_CLUSTERS];
	int listener_name_line[WEFT_CFG_MAX_LISTENERS];
	int listener_port_line[WEFT_CFG_MAX_LISTENERS];
};

/* A value made safe to quote in a message: bounded, printable ASCII only. */
struct shown {
	char s[72];
};

static struct shown show(const char *v)
{
	struct shown o;
	size_t i = 0;

	for (; v[i] != '\0' && i < 60; i++) {
		unsigned char ch = (unsigned char)v[i];
		o.s[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	if (v[i] != '\0') {
		memcpy(&o.s[i], "...", 3);
		i += 3;
	}
	o.s[i] = '\0';
	return o;
}

static int line_of(const yaml_node_t *n)
{
	return n != NULL ? (int)n->start_mark.line + 1 : 1;
}

__attribute__((format(printf, 4, 5))) static int fail(struct ctx *c, int line, const char *path,
						     const char *fmt, ...)
{
	va_list ap;

	if (c->err == NULL || c->errlen == 0)
		return -1;
	int n = snprintf(c->err, c->errlen, "%s:%d: %s: ", c->file, line, path);
	if (n < 0 || (size_t)n >= c->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Errors about the input as a whole: "FILE: what is wrong". */
__attribute__((format(printf, 2, 3))) static int fail_file(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (c->err == NULL || c->errlen == 0)
		return -1;
	int n = snprintf(c->err, c->errlen, "%s: ", c->file);
	if (n < 0 || (size_t)n >= c->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Syntax errors: "FILE:LINE:COL: what is wrong". */
__attribute__((format(printf, 4, 5))) static int fail_at(struct ctx *c, int line, int col, const char *fmt, ...)
{
	va_list ap;

	if (c->err == NULL || c->errlen == 0)
		return -1;
	int n = snprintf(c->err, c->errlen, "%s:%d:%d: ", c->file, line, col);
	if (n < 0 || (size_t)n >= c->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Append src to a path; a path that would not fit is cut, which only shortens a message. */
static void path_cat(char *out, const char *src)
{
	size_t len = strlen(out), add = strlen(src);

	if (add > PATH_LEN - 1 - len)
		add = PATH_LEN - 1 - len;
	memcpy(out + len, src, add);
	out[len + add] = '\0';
}

static void path_key(char *out, const char *parent, const char *key)
{
	out[0] = '\0';
	path_cat(out, parent);
	if (parent[0] != '\0')
		path_cat(out, ".");
	path_cat(out, key);
}

static void path_idx(char *out, const char *parent, size_t i)
{
	char idx[32];

	out[0] = '\0';
	path_cat(out, parent);
	snprintf(idx, sizeof(idx), "[%zu]", i);
	path_cat(out, idx);
}

static yaml_node_t *node_at(struct ctx *c, int index)
{
	return yaml_document_get_node(c->doc, index);
}

/* "", "~" and "null" written plainly: a key given without a value. */
static bool is_null(const yaml_node_t *n)
{
	if (n == NULL)
		return true;
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *v = (const char *)n->data.scalar.value;
	return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
	       strcmp(v, "NULL") == 0;
}

static size_t seq_len(const yaml_node_t *n)
{
	return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

static yaml_node_t *seq_item(struct ctx *c, const yaml_node_t *n, size_t i)
{
	return node_at(c, n->data.sequence.items.start[i]);
}

/* The text of a scalar node, or NULL after an error ("expected WHAT"). */
static const char *scalar(struct ctx *c, const yaml_node_t *n, const char *path, const char *what)
{
	if (n == NULL || n->type != YAML_SCALAR_NODE) {
		fail(c, line_of(n), path, "expected %s", what);
		return NULL;
	}
	/* Double-quoted scalars may carry "\0"; C strings cannot. */
	if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length) {
		fail(c, line_of(n), path, "contains a NUL character");
		return NULL;
	}
	return (const char *)n->data.scalar.value;
}

/* ---- keys ---- */

struct field {
	const char *key;
	yaml_node_t *val; /* NULL when absent */
	int key_line;
};

static unsigned edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned row[66];

	if (la > 64 || lb > 64)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];
		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* The one known key closest to an unknown one, if it is close (typos). */
static const char *suggest(const char *key, const struct field *f, size_t nf)
{
	const char *best = NULL;
	unsigned best_d = 3;
	bool tie = false;

	for (size_t i = 0; i < nf; i++) {
		unsigned d = edit_distance(key, f[i].key);
		if (d < best_d) {
			best_d = d;
			best = f[i].key;
			tie = false;
		} else if (d == best_d) {
			tie = true;
		}
	}
	return tie ? NULL : best;
}

/*
 * Match the keys of mapping n against f: fill each field's value, refuse
 * unknown and repeated keys. A null value (a section written without
 * content) leaves every field absent.
 */
static int fields(struct ctx *c, const yaml_node_t *n, const char *path, struct field *f, size_t nf)
{
	for (size_t i = 0; i < nf; i++) {
		f[i].val = NULL;
		f[i].key_line = 0;
	}
	if (is_null(n))
		return 0;
	if (n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n), path, "expected a mapping");

	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node_at(c, p->key);
		yaml_node_t *v = node_at(c, p->value);
		char kp[PATH_LEN];

		if (k == NULL || v == NULL)
			return fail(c, line_of(n), path, "malformed mapping");
		if (k->type != YAML_SCALAR_NODE)
			return fail(c, line_of(k), path[0] ? path : "document", "keys must be plain strings");
		const char *key = scalar(c, k, path[0] ? path : "document", "a key");
		if (key == NULL)
			return -1;
		size_t i = 0;
		while (i < nf && strcmp(f[i].key, key) != 0)
			i++;
		path_key(kp, path, show(key).s);
		if (i == nf) {
			const char *s = suggest(key, f, nf);
			if (s != NULL)
				return fail(c, line_of(k), kp, "unknown key (did you mean \"%s\"?)", s);
			return fail(c, line_of(k), kp, "unknown key");
		}
		if (f[i].val != NULL)
			return fail(c, line_of(k), kp, "duplicate key (first at line %d)", f[i].key_line);
		f[i].val = v;
		f[i].key_line = line_of(k);
	}
	return 0;
}

/* ---- typed values ---- */

static int get_u64(struct ctx *c, const yaml_node_t *n, const char *path, uint64_t lo, uint64_t hi,
		   uint64_t *out)
{
	const char *s = scalar(c, n, path, "an integer");
	size_t len;

	if (s == NULL)
		return -1;
	len = strlen(s);
	if (len == 0)
		return fail(c, line_of(n), path, "expected an integer, got an empty value");
	if (s[0] == '-' && len > 1 && strspn(s + 1, "0123456789") == len - 1)
		return fail(c, line_of(n), path, "expected a non-negative integer, got \"%s\"", show(s).s);
	if (strspn(s, "0123456789") != len)
		return fail(c, line_of(n), path, "expected an integer, got \"%s\"", show(s).s);
	if (len > 1 && s[0] == '0')
		return fail(c, line_of(n), path, "expected an integer, got \"%s\" (no leading zeros)",
			    show(s).s);

	uint64_t v = 0;
	bool overflow = false;
	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10) {
			overflow = true;
			break;
		}
		v = v * 10 + d;
	}
	if (overflow || v < lo || v > hi)
		return fail(c, line_of(n), path, "%s is out of range (%llu..%llu)", show(s).s,
			    (unsigned long long)lo, (unsigned long long)hi);
	*out = v;
	return 0;
}

static int get_uint(struct ctx *c, const yaml_node_t *n, const char *path, unsigned lo, unsigned hi,
		    unsigned *out)
{
	uint64_t v;

	if (get_u64(c, n, path, lo, hi, &v) != 0)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int get_u16(struct ctx *c, const yaml_node_t *n, const char *path, unsigned lo, unsigned hi,
		   uint16_t *out)
{
	uint64_t v;

	if (get_u64(c, n, path, lo, hi, &v) != 0)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

static int get_bool(struct ctx *c, const yaml_node_t *n, const char *path, bool *out)
{
	static const char *const yes[] = {"true", "yes", "on"};
	static const char *const no[] = {"false", "no", "off"};
	const char *s = scalar(c, n, path, "a boolean (true/false, yes/no, on/off)");

	if (s == NULL)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return fail(c, line_of(n), path, "expected a boolean (true/false, yes/no, on/off), got \"%s\"", show(s).s);
}

/* A probability: a number in 0..1, or a percentage "0%".."100%". */
static int get_prob(struct ctx *c, const yaml_node_t *n, const char *path, double *out)
{
	const char *s = scalar(c, n, path, "a probability (0..1 or a percentage like \"1%\")");
	char num[48];
	char *end;

	if (s == NULL)
		return -1;
	size_t len = strlen(s);
	bool pct = len > 0 && s[len - 1] == '%';
	if (pct)
		len--;
	/* Plain decimal only: strtod alone would also take "inf", "nan" and hex floats. */
	if (len == 0 || len >= sizeof(num) || strspn(s, "0123456789.eE+-") < len ||
	    !((s[0] >= '0' && s[0] <= '9') || s[0] == '.' || s[0] == '-'))
		goto bad;
	memcpy(num, s, len);
	num[len] = '\0';
	errno = 0;
	double v = strtod(num, &end);
	if (end != num + len || errno != 0 || !isfinite(v))
		goto bad;
	if (pct)
		v /= 100.0;
	if (!(v >= 0.0 && v <= 1.0))
		return fail(c, line_of(n), path, "%s is out of range (0..1, or \"0%%\"..\"100%%\")", show(s).s);
	*out = v + 0.0; /* no -0 */
	return 0;
bad:
	return fail(c, line_of(n), path, "expected a probability (0..1 or a percentage like \"1%%\"), got \"%s\"",
		    show(s).s);
}

static bool only_chars(const char *s, const char *set)
{
	return strspn(s, set) == strlen(s);
}

#define LOWER_NAME_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_-"
#define NAME_CHARS LOWER_NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

/* Printable ASCII without spaces: what may go into a devargs string. */
static bool is_token(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* A string copied into a fixed buffer: refuse what does not fit. */
static int copy_str(struct ctx *c, const yaml_node_t *n, const char *path, const char *s, char *dst,
		    size_t dstlen)
{
	size_t len = strlen(s);

	if (len >= dstlen)
		return fail(c, line_of(n), path, "too long (%zu characters, max %zu)", len, dstlen - 1);
	memcpy(dst, s, len + 1);
	return 0;
}

static int get_ip(struct ctx *c, const yaml_node_t *n, const char *path, struct weft_ip *ip)
{
	const char *s = scalar(c, n, path, "an IP address");

	if (s == NULL)
		return -1;
	if (weft_ip_parse(s, ip) != 0)
		return fail(c, line_of(n), path, "\"%s\" is not an IP address", show(s).s);
	return 0;
}

static int get_prefix(struct ctx *c, const yaml_node_t *n, const char *path, struct weft_prefix *p)
{
	const char *s = scalar(c, n, path, "an IP prefix");
	char why[64];

	if (s == NULL)
		return -1;
	if (prefix_parse(s, p, why, sizeof(why)) != 0)
		return fail(c, line_of(n), path, "\"%s\" is not an IP prefix (%s)", show(s).s, why);
	return 0;
}

/* ------------------------------------------------------------------------- */
/* Sections                                                                   */
/* ------------------------------------------------------------------------- */

static int parse_eal(struct ctx *c, const yaml_node_t *n, struct weft_eal_cfg *eal)
{
	enum { MAIN_CPU, WORKER_CPUS, MEMORY_MB, HUGEPAGES, FILE_PREFIX, MBUFS, ARGS, N };
	struct field f[N] = {
		[MAIN_CPU] = {"main_cpu"},
		[WORKER_CPUS] = {"worker_cpus"},
		[MEMORY_MB] = {"memory_mb"},
		[HUGEPAGES] = {"hugepages"},
		[FILE_PREFIX] = {"file_prefix"},
		[MBUFS] = {"mbufs_per_worker"},
		[ARGS] = {"args"},
	};
	char p[PATH_LEN], ip[PATH_LEN];
	unsigned u;

	if (fields(c, n, "eal", f, N) != 0)
		return -1;

	if (f[MAIN_CPU].val != NULL) {
		if (get_uint(c, f[MAIN_CPU].val, "eal.main_cpu", 0, CPU_SETSIZE - 1, &u) != 0)
			return -1;
		eal->main_cpu = (int)u;
	}

	const yaml_node_t *w = f[WORKER_CPUS].val;
	if (w != NULL) {
		if (w->type != YAML_SEQUENCE_NODE)
			return fail(c, line_of(w), "eal.worker_cpus", "expected a sequence of CPU numbers");
		size_t nw = seq_len(w);
		if (nw == 0)
			return fail(c, line_of(w), "eal.worker_cpus", "at least one worker CPU is required");
		if (nw > WEFT_CFG_MAX_WORKERS)
			return fail(c, line_of(w), "eal.worker_cpus", "too many workers (%zu, max %d)", nw,
				    WEFT_CFG_MAX_WORKERS);
		for (size_t i = 0; i < nw; i++) {
			path_idx(ip, "eal.worker_cpus", i);
			if (get_uint(c, seq_item(c, w, i), ip, 0, CPU_SETSIZE - 1, &u) != 0)
				return -1;
			for (size_t j = 0; j < i; j++)
				if (eal->worker_cpus[j] == (int)u)
					return fail(c, line_of(seq_item(c, w, i)), ip,
						    "CPU %u is listed twice (first as eal.worker_cpus[%zu])", u, j);
			eal->worker_cpus[i] = (int)u;
		}
		eal->n_workers = (unsigned)nw;
	}

	if (f[MEMORY_MB].val != NULL &&
	    get_uint(c, f[MEMORY_MB].val, "eal.memory_mb", MEMORY_MB_MIN, MEMORY_MB_MAX, &eal->memory_mb) != 0)
		return -1;
	if (f[HUGEPAGES].val != NULL && get_bool(c, f[HUGEPAGES].val, "eal.hugepages", &eal->hugepages) != 0)
		return -1;
	if (f[FILE_PREFIX].val != NULL) {
		const yaml_node_t *v = f[FILE_PREFIX].val;
		const char *s = scalar(c, v, "eal.file_prefix", "a string");
		if (s == NULL)
			return -1;
		if (s[0] == '\0' || strlen(s) >= sizeof(eal->file_prefix) || !only_chars(s, NAME_CHARS))
			return fail(c, line_of(v), "eal.file_prefix",
				    "\"%s\" is not a valid file prefix (1-63 characters of A-Z, a-z, 0-9, _ and -)",
				    show(s).s);
		snprintf(eal->file_prefix, sizeof(eal->file_prefix), "%s", s);
	}
	if (f[MBUFS].val != NULL && get_uint(c, f[MBUFS].val, "eal.mbufs_per_worker", MBUFS_MIN, MBUFS_MAX,
					     &eal->mbufs_per_worker) != 0)
		return -1;

	const yaml_node_t *a = f[ARGS].val;
	if (a != NULL && !is_null(a)) {
		if (a->type != YAML_SEQUENCE_NODE)
			return fail(c, line_of(a), "eal.args", "expected a sequence of strings");
		size_t na = seq_len(a);
		if (na > WEFT_CFG_MAX_EAL_ARGS)
			return fail(c, line_of(a), "eal.args", "too many arguments (%zu, max %d)", na,
				    WEFT_CFG_MAX_EAL_ARGS);
		for (size_t i = 0; i < na; i++) {
			const yaml_node_t *v = seq_item(c, a, i);
			path_idx(p, "eal.args", i);
			const char *s = scalar(c, v, p, "a string");
			if (s == NULL)
				return -1;
			if (s[0] == '\0')
				return fail(c, line_of(v), p, "must not be empty");
			if (copy_str(c, v, p, s, eal->args[i], sizeof(eal->args[i])) != 0)
				return -1;
		}
		eal->n_args = (unsigned)na;
	}
	return 0;
}

/* One direction of fault injection: ports[i].fault.rx or .tx. */
static int parse_fault_dir(struct ctx *c, const yaml_node_t *n, const char *path, struct weft_fault_cfg *fc)
{
	enum { DROP, DUP, CORRUPT, REORDER, DELAY_MS, DELAY_US, JITTER_MS, JITTER_US, N };
	struct field f[N] = {
		[DROP] = {"drop"},
		[DUP] = {"duplicate"},
		[CORRUPT] = {"corrupt"},
		[REORDER] = {"reorder"},
		[DELAY_MS] = {"delay_ms"},
		[DELAY_US] = {"delay_us"},
		[JITTER_MS] = {"jitter_ms"},
		[JITTER_US] = {"jitter_us"},
	};
	double *probs[] = {[DROP] = &fc->drop, [DUP] = &fc->duplicate, [CORRUPT] = &fc->corrupt,
			   [REORDER] = &fc->reorder};
	char p[PATH_LEN];

	if (fields(c, n, path, f, N) != 0)
		return -1;
	for (int i = DROP; i <= REORDER; i++) {
		if (f[i].val == NULL)
			continue;
		path_key(p, path, f[i].key);
		if (get_prob(c, f[i].val, p, probs[i]) != 0)
			return -1;
	}
	/* Delays: milliseconds or microseconds, one of the two. */
	struct {
		int ms, us;
		uint32_t *out;
	} delays[] = {{DELAY_MS, DELAY_US, &fc->delay_us}, {JITTER_MS, JITTER_US, &fc->jitter_us}};
	for (size_t i = 0; i < 2; i++) {
		uint64_t v;
		int ms = delays[i].ms, us = delays[i].us;
		if (f[ms].val != NULL && f[us].val != NULL) {
			path_key(p, path, f[us].key);
			return fail(c, f[us].key_line, p, "give %s or %s, not both", f[ms].key, f[us].key);
		}
		if (f[ms].val != NULL) {
			path_key(p, path, f[ms].key);
			if (get_u64(c, f[ms].val, p, 0, DELAY_MS_MAX, &v) != 0)
				return -1;
			*delays[i].out = (uint32_t)(v * 1000);
		} else if (f[us].val != NULL) {
			path_key(p, path, f[us].key);
			if (get_u64(c, f[us].val, p, 0, DELAY_MS_MAX * 1000ull, &v) != 0)
				return -1;
			*delays[i].out = (uint32_t)v;
		}
	}
	return 0;
}

static bool fault_active(const struct weft_fault_cfg *f)
{
	return f->drop > 0 || f->duplicate > 0 || f->corrupt > 0 || f->reorder > 0 || f->delay_us > 0 ||
	       f->jitter_us > 0;
}

static int parse_fault(struct ctx *c, const yaml_node_t *n, const char *path, struct weft_port_cfg *port)
{
	enum { SEED, RX, TX, N };
	struct field f[N] = {[SEED] = {"seed"}, [RX] = {"rx"}, [TX] = {"tx"}};
	char p[PATH_LEN];

	if (fields(c, n, path, f, N) != 0)
		return -1;
	if (f[SEED].val != NULL) {
		path_key(p, path, "seed");
		if (get_u64(c, f[SEED].val, p, 0, UINT64_MAX, &port->fault_seed) != 0)
			return -1;
	}
	path_key(p, path, "rx");
	if (parse_fault_dir(c, f[RX].val, p, &port->fault_rx) != 0)
		return -1;
	path_key(p, path, "tx");
	if (parse_fault_dir(c, f[TX].val, p, &port->fault_tx) != 0)
		return -1;
	port->fault_enabled = fault_active(&port->fault_rx) || fault_active(&port->fault_tx);
	return 0;
}

static int check_iface(struct ctx *c, const yaml_node_t *n, const char *path, const char *s,
		       struct weft_port_cfg *port)
{
	size_t len = strlen(s);

	if (driver_needs_iface(port->driver)) {
		/* What the kernel accepts as a device name (dev_valid_name()). */
		if (len == 0 || len > IFNAME_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0 ||
		    !is_token(s) || strpbrk(s, "/:,") != NULL)
			return fail(c, line_of(n), path,
				    "\"%s\" is not a valid interface name (1-%d characters, no '/', ':', ',' or spaces)",
				    show(s).s, IFNAME_MAX);
	} else {
		/* A path or socket name that goes into a devargs list: no separators. */
		if (len == 0 || !is_token(s) || strchr(s, ',') != NULL)
			return fail(c, line_of(n), path, "\"%s\" is not a valid value (no ',' or spaces)",
				    show(s).s);
	}
	return copy_str(c, n, path, s, port->iface, sizeof(port->iface));
}

/* DDDD:BB:DD.F, hexadecimal; device below 0x20 and function below 8 (PCI bus rules). */
static bool pci_addr_valid(const char *s)
{
	static const char hex[] = "0123456789abcdefABCDEF";

	if (strlen(s) != 12 || s[4] != ':' || s[7] != ':' || s[10] != '.')
		return false;
	for (int i = 0; i < 12; i++) {
		if (i == 4 || i == 7 || i == 10)
			continue;
		if (strchr(hex, s[i]) == NULL)
			return false;
	}
	unsigned dev = (unsigned)strtoul((char[]){s[8], s[9], '\0'}, NULL, 16);
	return dev < 0x20 && s[11] >= '0' && s[11] <= '7';
}

static int parse_addresses(struct ctx *c, const yaml_node_t *n, const char *path, unsigned idx,
			   struct weft_config *cfg)
{
	struct weft_port_cfg *port = &cfg->ports[idx];
	char p[PATH_LEN], a[64], b[64], d[64];

	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, line_of(n), path, "expected a sequence of IP prefixes");
	size_t na = seq_len(n);
	if (na > WEFT_CFG_MAX_ADDRS)
		return fail(c, line_of(n), path, "too many addresses (%zu, max %d)", na, WEFT_CFG_MAX_ADDRS);

	for (size_t i = 0; i < na; i++) {
		const yaml_node_t *v = seq_item(c, n, i);
		struct weft_prefix pfx;
		const char *why;

		path_idx(p, path, i);
		if (get_prefix(c, v, p, &pfx) != 0)
			return -1;
		weft_prefix_fmt(&pfx, a, sizeof(a));
		if ((why = unicast_problem(&pfx.ip)) != NULL)
			return fail(c, line_of(v), p, "%s is %s", a, why);
		if ((why = host_problem(&pfx.ip, pfx.plen)) != NULL)
			return fail(c, line_of(v), p, "%s is not a host address: it is %s", a, why);

		/* Every address once in the whole config; subnets of two ports apart. */
		for (unsigned j = 0; j <= idx; j++) {
			const struct weft_port_cfg *o = &cfg->ports[j];
			unsigned no = j == idx ? (unsigned)i : o->n_addrs;
			for (unsigned k = 0; k < no; k++) {
				if (!ip_equal(&o->addrs[k].ip, &pfx.ip))
					continue;
				return fail(c, line_of(v), p, "duplicate address %s (also ports[%u].addresses[%u], line %d)",
					    weft_ip_fmt(&pfx.ip, b, sizeof(b)), j, k, c->port[j].addr_line[k]);
			}
		}
		if (!is_link_local(&pfx.ip)) {
			for (unsigned j = 0; j < idx; j++) {
				const struct weft_port_cfg *o = &cfg->ports[j];
				for (unsigned k = 0; k < o->n_addrs; k++) {
					struct weft_prefix mine = pfx, theirs = o->addrs[k];
					if (is_link_local(&theirs.ip) || !prefix_overlap(&mine, &theirs))
						continue;
					mask_host_bits(&mine.ip, mine.plen);
					mask_host_bits(&theirs.ip, theirs.plen);
					return fail(c, line_of(v), p,
						    "subnet %s of port %s overlaps subnet %s of port %s "
						    "(ports[%u].addresses[%u], line %d)",
						    weft_prefix_fmt(&mine, b, sizeof(b)), port->name,
						    weft_prefix_fmt(&theirs, d, sizeof(d)), o->name, j, k,
						    c->port[j].addr_line[k]);
				}
			}
		}
		port->addrs[i] = pfx;
		c->port[idx].addr_line[i] = line_of(v);
		port->n_addrs = (unsigned)i + 1;
	}
	return 0;
}

static int parse_gateway(struct ctx *c, const yaml_node_t *n, const char *path, struct weft_port_cfg *port,
			 int af, struct weft_ip *gw)
{
	char a[64], b[64];
	const char *why;

	if (get_ip(c, n, path, gw) != 0)
		return -1;
	weft_ip_fmt(gw, a, sizeof(a));
	if (gw->af != af)
		return fail(c, line_of(n), path, "%s is not an IPv%d address (use %s)", a, af,
			    af == 4 ? "gateway6" : "gateway");
	if ((why = unicast_problem(gw)) != NULL)
		return fail(c, line_of(n), path, "%s is %s", a, why);
	if (af == 6 && is_link_local(gw))
		return 0; /* on-link by definition (RFC 4861 section 8) */

	const struct weft_prefix *in = NULL;
	for (unsigned i = 0; i < port->n_addrs; i++) {
		if (ip_equal(&port->addrs[i].ip, gw))
			return fail(c, line_of(n), path, "%s is an address of port %s itself", a, port->name);
		if (in == NULL && weft_prefix_contains(&port->addrs[i], gw))
			in = &port->addrs[i];
	}
	if (in == NULL)
		return fail(c, line_of(n), path, "%s is not inside a connected IPv%d subnet of port %s%s", a, af,
			    port->name, af == 6 ? " (nor link-local)" : "");
	if ((why = host_problem(gw, in->plen)) != NULL) {
		struct weft_prefix net = *in;
		mask_host_bits(&net.ip, net.plen);
		return fail(c, line_of(n), path, "%s is %s of %s", a, why, weft_prefix_fmt(&net, b, sizeof(b)));
	}
	return 0;
}

static int parse_port(struct ctx *c, const yaml_node_t *n, unsigned idx, struct weft_config *cfg)
{
	enum { NAME, DRIVER, IFACE, PCI, DEVARGS, MTU, RX_DESC, TX_DESC, ADDRESSES, GATEWAY, GATEWAY6, FAULT, N };
	struct field f[N] = {
		[NAME] = {"name"},
		[DRIVER] = {"driver"},
		[IFACE] = {"iface"},
		[PCI] = {"pci"},
		[DEVARGS] = {"devargs"},
		[MTU] = {"mtu"},
		[RX_DESC] = {"rx_desc"},
		[TX_DESC] = {"tx_desc"},
		[ADDRESSES] = {"addresses"},
		[GATEWAY] = {"gateway"},
		[GATEWAY6] = {"gateway6"},
		[FAULT] = {"fault"},
	};
	struct weft_port_cfg *port = &cfg->ports[idx];
	struct port_src *src = &c->port[idx];
	char path[PATH_LEN], p[PATH_LEN];
	const char *s;

	weft_port_cfg_defaults(port);
	port->line = line_of(n);
	path_idx(path, "ports", idx);
	if (!is_null(n) && n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n), path, "expected a mapping");
	if (fields(c, n, path, f, N) != 0)
		return -1;

	/* name */
	path_key(p, path, "name");
	if (f[NAME].val == NULL)
		return fail(c, port->line, p, "required key is missing");
	if ((s = scalar(c, f[NAME].val, p, "a port name")) == NULL)
		return -1;
	if (s[0] == '\0' || strlen(s) >= sizeof(port->name) || !only_chars(s, LOWER_NAME_CHARS))
		return fail(c, line_of(f[NAME].val), p,
			    "\"%s\" is not a valid port name (1-31 characters of a-z, 0-9, _ and -)", show(s).s);
	for (unsigned j = 0; j < idx; j++)
		if (strcmp(cfg->ports[j].name, s) == 0)
			return fail(c, line_of(f[NAME].val), p, "duplicate port name \"%s\" (first at line %d)", s,
				    c->port[j].name_line);
	snprintf(port->name, sizeof(port->name), "%s", s);
	src->name_line = line_of(f[NAME].val);

	/* driver */
	path_key(p, path, "driver");
	if (f[DRIVER].val == NULL)
		return fail(c, port->line, p, "required key is missing");
	if ((s = scalar(c, f[DRIVER].val, p, "a driver name")) == NULL)
		return -1;
	if (weft_driver_parse(s, &port->driver) != 0)
		return fail(c, line_of(f[DRIVER].val), p,
			    "unknown driver \"%s\" (expected af_packet, af_xdp, tap, memif, ring, null, pcap or pci)",
			    show(s).s);

	/* iface */
	path_key(p, path, "iface");
	if (f[IFACE].val != NULL) {
		if ((s = scalar(c, f[IFACE].val, p, "a string")) == NULL ||
		    check_iface(c, f[IFACE].val, p, s, port) != 0)
			return -1;
	} else if (driver_needs_iface(port->driver)) {
		return fail(c, port->line, p, "required for driver %s", weft_driver_name(port->driver));
	}

	/* pci */
	path_key(p, path, "pci");
	if (f[PCI].val != NULL) {
		if (port->driver != WEFT_DRV_PCI)
			return fail(c, f[PCI].key_line, p, "only valid with driver pci (this port uses %s)",
				    weft_driver_name(port->driver));
		if ((s = scalar(c, f[PCI].val, p, "a PCI address")) == NULL)
			return -1;
		if (!pci_addr_valid(s))
			return fail(c, line_of(f[PCI].val), p,
				    "\"%s\" is not a PCI address (expected DDDD:BB:DD.F, e.g. \"0000:03:00.0\")",
				    show(s).s);
		snprintf(port->pci, sizeof(port->pci), "%s", s);
	} else if (port->driver == WEFT_DRV_PCI) {
		return fail(c, port->line, p, "required for driver pci");
	}

	/* devargs */
	if (f[DEVARGS].val != NULL) {
		path_key(p, path, "devargs");
		if ((s = scalar(c, f[DEVARGS].val, p, "a string")) == NULL)
			return -1;
		if (!is_token(s))
			return fail(c, line_of(f[DEVARGS].val), p, "must not contain spaces or control characters");
		if (copy_str(c, f[DEVARGS].val, p, s, port->devargs, sizeof(port->devargs)) != 0)
			return -1;
	}

	/* sizes */
	if (f[MTU].val != NULL) {
		path_key(p, path, "mtu");
		if (get_u16(c, f[MTU].val, p, MTU_MIN, MTU_MAX, &port->mtu) != 0)
			return -1;
		src->mtu_line = line_of(f[MTU].val);
	}
	for (int i = RX_DESC; i <= TX_DESC; i++) {
		uint16_t *out = i == RX_DESC ? &port->rx_desc : &port->tx_desc;
		uint64_t v;
		if (f[i].val == NULL)
			continue;
		path_key(p, path, f[i].key);
		if (get_u64(c, f[i].val, p, 0, UINT64_MAX, &v) != 0)
			return -1;
		if (v < DESC_MIN || v > DESC_MAX || (v & (v - 1)) != 0)
			return fail(c, line_of(f[i].val), p, "%llu is not a power of two in %d..%d",
				    (unsigned long long)v, DESC_MIN, DESC_MAX);
		*out = (uint16_t)v;
	}

	/* addresses, then what depends on them */
	path_key(p, path, "addresses");
	if (f[ADDRESSES].val != NULL && parse_addresses(c, f[ADDRESSES].val, p, idx, cfg) != 0)
		return -1;
	for (unsigned i = 0; i < port->n_addrs; i++) {
		char a[64];
		if (port->addrs[i].ip.af != 6 || port->mtu >= MTU_MIN_IPV6)
			continue;
		path_key(p, path, "mtu");
		return fail(c, src->mtu_line ? src->mtu_line : port->line, p,
			    "%u is below the IPv6 minimum of %d (the port has IPv6 address %s)", port->mtu,
			    MTU_MIN_IPV6, weft_prefix_fmt(&port->addrs[i], a, sizeof(a)));
	}
	if (f[GATEWAY].val != NULL) {
		path_key(p, path, "gateway");
		if (parse_gateway(c, f[GATEWAY].val, p, port, 4, &port->gw4) != 0)
			return -1;
		port->has_gw4 = true;
	}
	if (f[GATEWAY6].val != NULL) {
		path_key(p, path, "gateway6");
		if (parse_gateway(c, f[GATEWAY6].val, p, port, 6, &port->gw6) != 0)
			return -1;
		port->has_gw6 = true;
	}

	path_key(p, path, "fault");
	return parse_fault(c, f[FAULT].val, p, port);
}

static int parse_ports(struct ctx *c, const yaml_node_t *n, int top_line, struct weft_config *cfg)
{
	if (is_null(n))
		return fail(c, n != NULL ? line_of(n) : top_line, "ports", "at least one port is required");
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, line_of(n), "ports", "expected a sequence of ports");
	size_t np = seq_len(n);
	if (np == 0)
		return fail(c, line_of(n), "ports", "at least one port is required");
	if (np > WEFT_CFG_MAX_PORTS)
		return fail(c, line_of(n), "ports", "too many ports (%zu, max %d)", np, WEFT_CFG_MAX_PORTS);
	for (size_t i = 0; i < np; i++) {
		if (parse_port(c, seq_item(c, n, i), (unsigned)i, cfg) != 0)
			return -1;
		cfg->n_ports = (unsigned)i + 1;
	}
	return 0;
}

static int parse_route(struct ctx *c, const yaml_node_t *n, unsigned idx, struct weft_config *cfg)
{
	enum { PREFIX, VIA, PORT, N };
	struct field f[N] = {[PREFIX] = {"prefix"}, [VIA] = {"via"}, [PORT] = {"port"}};
	struct weft_route_cfg *r = &cfg->routes[idx];
	char path[PATH_LEN], p[PATH_LEN], a[64], b[64];
	const char *s, *why;

	memset(r, 0, sizeof(*r));
	r->line = line_of(n);
	path_idx(path, "routes", idx);
	if (!is_null(n) && n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n), path, "expected a mapping");
	if (fields(c, n, path, f, N) != 0)
		return -1;

	path_key(p, path, "prefix");
	if (f[PREFIX].val == NULL)
		return fail(c, r->line, p, "required key is missing");
	if (get_prefix(c, f[PREFIX].val, p, &r->dst) != 0)
		return -1;
	if (!host_bits_are(&r->dst.ip, r->dst.plen, 0)) {
		struct weft_prefix net = r->dst;
		mask_host_bits(&net.ip, net.plen);
		return fail(c, line_of(f[PREFIX].val), p, "%s has host bits set (did you mean %s?)",
			    weft_prefix_fmt(&r->dst, a, sizeof(a)), weft_prefix_fmt(&net, b, sizeof(b)));
	}
	for (unsigned j = 0; j < idx; j++)
		if (cfg->routes[j].dst.plen == r->dst.plen && ip_equal(&cfg->routes[j].dst.ip, &r->dst.ip))
			return fail(c, line_of(f[PREFIX].val), p, "duplicate route for %s (first at line %d)",
				    weft_prefix_fmt(&r->dst, a, sizeof(a)), c->route_prefix_line[j]);
	c->route_prefix_line[idx] = line_of(f[PREFIX].val);

	path_key(p, path, "via");
	if (f[VIA].val == NULL)
		return fail(c, r->line, p, "required key is missing");
	if (get_ip(c, f[VIA].val, p, &r->via) != 0)
		return -1;
	weft_ip_fmt(&r->via, a, sizeof(a));
	if (r->via.af != r->dst.ip.af)
		return fail(c, line_of(f[VIA].val), p, "%s is IPv%d but prefix %s is IPv%d", a, r->via.af,
			    weft_prefix_fmt(&r->dst, b, sizeof(b)), r->dst.ip.af);
	if ((why = unicast_problem(&r->via)) != NULL)
		return fail(c, line_of(f[VIA].val), p, "%s is %s", a, why);
	for (unsigned j = 0; j < cfg->n_ports; j++)
		for (unsigned k = 0; k < cfg->ports[j].n_addrs; k++)
			if (ip_equal(&cfg->ports[j].addrs[k].ip, &r->via))
				return fail(c, line_of(f[VIA].val), p, "%s is an address of port %s itself", a,
					    cfg->ports[j].name);

	path_key(p, path, "port");
	if (f[PORT].val != NULL) {
		if ((s = scalar(c, f[PORT].val, p, "a port name")) == NULL)
			return -1;
		unsigned j = 0;
		while (j < cfg->n_ports && strcmp(cfg->ports[j].name, s) != 0)
			j++;
		if (j == cfg->n_ports)
			return fail(c, line_of(f[PORT].val), p, "no port named \"%s\"", show(s).s);
		snprintf(r->port, sizeof(r->port), "%s", s);
	} else if (is_link_local(&r->via) && r->via.af == 6) {
		/* A link-local next hop means nothing without its link (RFC 4007). */
		path_key(p, path, "via");
		return fail(c, line_of(f[VIA].val), p, "link-local next hop %s needs \"port\"", a);
	}
	return 0;
}

static int parse_routes(struct ctx *c, const yaml_node_t *n, struct weft_config *cfg)
{
	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, line_of(n), "routes", "expected a sequence of routes");
	size_t nr = seq_len(n);
	if (nr > WEFT_CFG_MAX_ROUTES)
		return fail(c, line_of(n), "routes", "too many routes (%zu, max %d)", nr, WEFT_CFG_MAX_ROUTES);
	for (size_t i = 0; i < nr; i++) {
		if (parse_route(c, seq_item(c, n, i), (unsigned)i, cfg) != 0)
			return -1;
		cfg->n_routes = (unsigned)i + 1;
	}
	return 0;
}

static int parse_admin(struct ctx *c, const yaml_node_t *n, struct weft_admin_cfg *admin)
{
	enum { ADDRESS, PORT, N };
	struct field f[N] = {[ADDRESS] = {"address"}, [PORT] = {"port"}};

	if (fields(c, n, "admin", f, N) != 0)
		return -1;
	if (f[ADDRESS].val != NULL) {
		char a[64];
		if (get_ip(c, f[ADDRESS].val, "admin.address", &admin->addr) != 0)
			return -1;
		/* The admin API can change the running config: it never leaves the host. */
		if (!is_loopback(&admin->addr))
			return fail(c, line_of(f[ADDRESS].val), "admin.address",
				    "%s is not a loopback address (127.0.0.0/8 or ::1): the admin API is never exposed",
				    weft_ip_fmt(&admin->addr, a, sizeof(a)));
	}
	if (f[PORT].val != NULL && get_u16(c, f[PORT].val, "admin.port", 1, 65535, &admin->port) != 0)
		return -1;
	return 0;
}

/* ---- clusters, listeners, tcp ---- */

/* A name of [a-z0-9_-]{1,31}; what names it ("a cluster name") goes into the message. */
static const char *get_name(struct ctx *c, const yaml_node_t *n, const char *path, const char *what)
{
	const char *s = scalar(c, n, path, what);

	if (s == NULL)
		return NULL;
	if (s[0] == '\0' || strlen(s) >= WEFT_CFG_NAME_LEN || !only_chars(s, LOWER_NAME_CHARS)) {
		fail(c, line_of(n), path, "\"%s\" is not a valid name (1-31 characters of a-z, 0-9, _ and -)",
		     show(s).s);
		return NULL;
	}
	return s;
}

/* "198.18.1.2:5001" or "[2001:db8::2]:5001". */
static char *fmt_hostport(const struct weft_ip *ip, uint16_t port, char *buf, size_t len)
{
	char a[64];

	weft_ip_fmt(ip, a, sizeof(a));
	snprintf(buf, len, ip->af == 6 ? "[%s]:%u" : "%s:%u", a, (unsigned)port);
	return buf;
}

/* The port that owns address ip, or NULL. */
static const struct weft_port_cfg *port_owning(const struct weft_config *cfg, const struct weft_ip *ip)
{
	for (unsigned j = 0; j < cfg->n_ports; j++)
		for (unsigned k = 0; k < cfg->ports[j].n_addrs; k++)
			if (ip_equal(&cfg->ports[j].addrs[k].ip, ip))
				return &cfg->ports[j];
	return NULL;
}

static bool ip_is_unspecified(const struct weft_ip *ip)
{
	static const uint8_t zero[16];

	return ip->af == 4 ? ip->v4 == 0 : memcmp(ip->v6, zero, 16) == 0;
}

static int parse_endpoint(struct ctx *c, const yaml_node_t *n, const char *path, struct weft_config *cfg,
			  const struct weft_cluster_cfg *cl)
{
	enum { ADDRESS, PORT, WEIGHT, LOCALITY, N };
	struct field f[N] = {[ADDRESS] = {"address"}, [PORT] = {"port"}, [WEIGHT] = {"weight"},
			     [LOCALITY] = {"locality"}};
	struct weft_endpoint_cfg *e = &cfg->endpoints[cfg->n_endpoints];
	const struct weft_port_cfg *own;
	char p[PATH_LEN], a[64], b[80];
	const char *why;

	memset(e, 0, sizeof(*e));
	e->weight = 1;
	e->line = line_of(n);
	if (!is_null(n) && n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n), path, "expected a mapping with address, port and weight");
	if (fields(c, n, path, f, N) != 0)
		return -1;

	path_key(p, path, "address");
	if (f[ADDRESS].val == NULL)
		return fail(c, e->line, p, "required key is missing");
	if (get_ip(c, f[ADDRESS].val, p, &e->addr) != 0)
		return -1;
	weft_ip_fmt(&e->addr, a, sizeof(a));
	if ((why = unicast_problem(&e->addr)) != NULL)
		return fail(c, line_of(f[ADDRESS].val), p, "%s is %s", a, why);
	if ((own = port_owning(cfg, &e->addr)) != NULL)
		return fail(c, line_of(f[ADDRESS].val), p, "%s is an address of port %s itself", a, own->name);

	path_key(p, path, "port");
	if (f[PORT].val == NULL)
		return fail(c, e->line, p, "required key is missing");
	if (get_u16(c, f[PORT].val, p, 1, 65535, &e->port) != 0)
		return -1;

	if (f[WEIGHT].val != NULL) {
		path_key(p, path, "weight");
		if (get_uint(c, f[WEIGHT].val, p, 1, ENDPOINT_WEIGHT_MAX, &e->weight) != 0)
			return -1;
	}

	for (unsigned j = cl->first_endpoint; j < cfg->n_endpoints; j++) {
		const struct weft_endpoint_cfg *o = &cfg->endpoints[j];
		if (o->port == e->port && ip_equal(&o->addr, &e->addr))
			return fail(c, e->line, path, "duplicate endpoint %s (first at line %d)",
				    fmt_hostport(&e->addr, e->port, b, sizeof(b)), o->line);
	}
	return weft_cfgh_endpoint((struct weft_cfg_ctx *)c, path, f[LOCALITY].val, e, cfg);
}

static int parse_cluster(struct ctx *c, const yaml_node_t *n, unsigned idx, struct weft_config *cfg)
{
	enum { NAME, LB_POLICY, ENDPOINTS, HASH_POLICY, RING_HASH, MAGLEV, LEAST_REQUEST, MAX_IDLE, IDLE_TIMEOUT,
	       HEALTH_CHECK, BREAKERS, OUTLIER, PANIC, TLS, N };
	struct field f[N] = {[NAME] = {"name"}, [LB_POLICY] = {"lb_policy"}, [ENDPOINTS] = {"endpoints"},
			     [HASH_POLICY] = {"hash_policy"}, [RING_HASH] = {"ring_hash"}, [MAGLEV] = {"maglev"},
			     [LEAST_REQUEST] = {"least_request"}, [MAX_IDLE] = {"max_idle_connections"},
			     [IDLE_TIMEOUT] = {"idle_timeout_ms"}, [HEALTH_CHECK] = {"health_check"},
			     [BREAKERS] = {"circuit_breakers"}, [OUTLIER] = {"outlier_detection"},
			     [PANIC] = {"panic_threshold_percent"}, [TLS] = {"tls"}};
	struct weft_cluster_cfg *cl = &cfg->clusters[idx];
	char path[PATH_LEN], p[PATH_LEN], ip[PATH_LEN];
	const char *s;

	memset(cl, 0, sizeof(*cl));
	cl->line = line_of(n);
	cl->lb = WEFT_LB_ROUND_ROBIN;
	cl->first_endpoint = cfg->n_endpoints;
	path_idx(path, "clusters", idx);
	if (!is_null(n) && n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n), path, "expected a mapping");
	if (fields(c, n, path, f, N) != 0)
		return -1;

	path_key(p, path, "name");
	if (f[NAME].val == NULL)
		return fail(c, cl->line, p, "required key is missing");
	if ((s = get_name(c, f[NAME].val, p, "a cluster name")) == NULL)
		return -1;
	for (unsigned j = 0; j < idx; j++)
		if (strcmp(cfg->clusters[j].name, s) == 0)
			return fail(c, line_of(f[NAME].val), p, "duplicate cluster name \"%s\" (first at line %d)", s,
				    c->cluster_name_line[j]);
	snprintf(cl->name, sizeof(cl->name), "%s", s);
	c->cluster_name_line[idx] = line_of(f[NAME].val);

	if (f[LB_POLICY].val != NULL) {
		path_key(p, path, "lb_policy");
		if ((s = scalar(c, f[LB_POLICY].val, p, "a load-balancing policy")) == NULL)
			return -1;
		if (weft_cfgh_lb_policy(s, &cl->lb) != 0)
			return fail(c, line_of(f[LB_POLICY].val), p,
				    "unknown load-balancing policy \"%s\" (expected round_robin, least_request, "
				    "random, ring_hash or maglev)",
				    show(s).s);
	}
	if (weft_cfgh_cluster((struct weft_cfg_ctx *)c, path, cl, f[HASH_POLICY].val, f[RING_HASH].val,
			      f[MAGLEV].val, f[LEAST_REQUEST].val, f[MAX_IDLE].val, f[IDLE_TIMEOUT].val, cfg) != 0)
		return -1;
	if (weft_cfg_health_check((struct weft_cfg_ctx *)c, path, f[HEALTH_CHECK].val, cl) != 0)
		return -1;
	if (weft_cfgh_cluster_resilience((struct weft_cfg_ctx *)c, path, cl, f[BREAKERS].val, f[OUTLIER].val,
					 f[PANIC].val) != 0)
		return -1;
	if (f[TLS].val != NULL && weft_cfgt_cluster((struct weft_cfg_ctx *)c, path, f[TLS].val, cl, cfg) != 0)
		return -1;

	path_key(p, path, "endpoints");
	const yaml_node_t *e = f[ENDPOINTS].val;
	if (e == NULL)
		return fail(c, cl->line, p, "required key is missing");
	if (is_null(e))
		return fail(c, line_of(e), p, "at least one endpoint is required");
	if (e->type != YAML_SEQUENCE_NODE)
		return fail(c, line_of(e), p, "expected a sequence of endpoints");
	size_t ne = seq_len(e);
	if (ne == 0)
		return fail(c, line_of(e), p, "at least one endpoint is required");
	if (ne > WEFT_CFG_MAX_CLUSTER_ENDPOINTS)
		return fail(c, line_of(e), p, "too many endpoints (%zu, max %d per cluster)", ne,
			    WEFT_CFG_MAX_CLUSTER_ENDPOINTS);
	if (cfg->n_endpoints + ne > WEFT_CFG_MAX_ENDPOINTS)
		return fail(c, line_of(e), p, "too many endpoints in all clusters together (max %d)",
			    WEFT_CFG_MAX_ENDPOINTS);
	for (size_t i = 0; i < ne; i++) {
		path_idx(ip, p, i);
		if (parse_endpoint(c, seq_item(c, e, i), ip, cfg, cl) != 0)
			return -1;
		cfg->n_endpoints++;
		cl->n_endpoints++;
	}
	return 0;
}

static int parse_clusters(struct ctx *c, const yaml_node_t *n, struct weft_config *cfg)
{
	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, line_of(n), "clusters", "expected a sequence of clusters");
	size_t nc = seq_len(n);
	if (nc > WEFT_CFG_MAX_CLUSTERS)
		return fail(c, line_of(n), "clusters", "too many clusters (%zu, max %d)", nc, WEFT_CFG_MAX_CLUSTERS);
	for (size_t i = 0; i < nc; i++) {
		if (parse_cluster(c, seq_item(c, n, i), (unsigned)i, cfg) != 0)
			return -1;
		cfg->n_clusters = (unsigned)i + 1;
	}
	return 0;
}

/* A server name of sni_routes: "*", "*.suffix" or an exact DNS name; stored lower case. */
static int parse_sni_name(struct ctx *c, const yaml_node_t *n, const char *path, char *out)
{
	const char *s = scalar(c, n, path, "a server name");
	size_t len;

	if (s == NULL)
		return -1;
	len = strlen(s);
	if (len == 0 || len > 253)
		return fail(c, line_of(n), path, "a server name has 1 to 253 bytes");
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '*' && i == 0 && (len == 1 || s[1] == '.'))
			continue;
		if (ch == '*')
			return fail(c, line_of(n), path,
				    "\"%s\": a wildcard is \"*\" or a leading \"*.\" (as in \"*.example.com\")",
				    show(s).s);
		if (!(ch == '-' || ch == '.' || ch == '_' || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= 'A' && ch <= 'Z')))
			return fail(c, line_of(n), path, "\"%s\" is not a DNS name", show(s).s);
	}
	if (len == 2 || (len > 1 && s[len - 1] == '.') || s[0] == '.' || strstr(s, "..") != NULL)
		return fail(c, line_of(n), path, "\"%s\" is not a DNS name", show(s).s);
	for (size_t i = 0; i <= len; i++)
		out[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
	return 0;
}

/* sni_routes of a tls_passthrough listener: [{server_names: [...], cluster: NAME}, ...]. */
static int parse_sni_routes(struct ctx *c, const yaml_node_t *n, const char *lpath, struct weft_listener_cfg *l,
			    struct weft_config *cfg)
{
	char path[PATH_LEN], rp[PATH_LEN], p[PATH_LEN], q[PATH_LEN];

	path_key(path, lpath, "sni_routes");
	if (is_null(n) || n->type != YAML_SEQUENCE_NODE || seq_len(n) == 0)
		return fail(c, line_of(n), path, "expected a non-empty sequence of {server_names, cluster}");
	l->sni_first = cfg->n_sni;
	l->n_sni = 0;
	for (size_t r = 0; r < seq_len(n); r++) {
		enum { NAMES, CLUSTER, N };
		struct field f[N] = {[NAMES] = {"server_names"}, [CLUSTER] = {"cluster"}};
		const yaml_node_t *rn = seq_item(c, n, r), *names;
		const char *s;
		unsigned k = 0;

		path_idx(rp, path, r);
		if (is_null(rn) || rn->type != YAML_MAPPING_NODE)
			return fail(c, line_of(rn), rp, "expected a mapping with server_names and cluster");
		if (fields(c, rn, rp, f, N) != 0)
			return -1;
		path_key(p, rp, "cluster");
		if (f[CLUSTER].val == NULL)
			return fail(c, line_of(rn), p, "required key is missing");
		if ((s = scalar(c, f[CLUSTER].val, p, "a cluster name")) == NULL)
			return -1;
		while (k < cfg->n_clusters && strcmp(cfg->clusters[k].name, s) != 0)
			k++;
		if (k == cfg->n_clusters)
			return fail(c, line_of(f[CLUSTER].val), p, "no cluster named \"%s\"", show(s).s);
		path_key(p, rp, "server_names");
		names = f[NAMES].val;
		if (names == NULL)
			return fail(c, line_of(rn), p, "required key is missing");
		if (names->type != YAML_SEQUENCE_NODE || seq_len(names) == 0)
			return fail(c, line_of(names), p, "expected a non-empty sequence of server names");
		for (size_t i = 0; i < seq_len(names); i++) {
			const yaml_node_t *nn = seq_item(c, names, i);
			struct weft_sni_cfg *e;

			path_idx(q, p, i);
			if (cfg->n_sni >= WEFT_CFG_MAX_SNI)
				return fail(c, line_of(nn), q, "too many server names (max %d across listeners)",
					    WEFT_CFG_MAX_SNI);
			e = &cfg->sni[cfg->n_sni];
			if (parse_sni_name(c, nn, q, e->name) != 0)
				return -1;
			for (unsigned j = l->sni_first; j < cfg->n_sni; j++)
				if (strcmp(cfg->sni[j].name, e->name) == 0)
					return fail(c, line_of(nn), q, "duplicate server name \"%s\" (first at line %d)",
						    show(e->name).s, cfg->sni[j].line);
			e->cluster_idx = k;
			e->line = line_of(nn);
			cfg->n_sni++;
			l->n_sni++;
		}
	}
	return 0;
}

static int parse_listener(struct ctx *c, const yaml_node_t *n, unsigned idx, struct weft_config *cfg)
{
	enum { NAME, KIND, ADDRESS, PORT, CLUSTER, CONNECT_TIMEOUT, IDLE_TIMEOUT, MAX_CONNS, ROUTE_CONFIG,
	       REQUEST_TIMEOUT, SNI_ROUTES, REQUEST_HEADER_TIMEOUT, TLS, N };
	struct field f[N] = {
		[NAME] = {"name"},
		[KIND] = {"kind"},
		[ADDRESS] = {"address"},
		[PORT] = {"port"},
		[CLUSTER] = {"cluster"},
		[CONNECT_TIMEOUT] = {"connect_timeout_ms"},
		[IDLE_TIMEOUT] = {"idle_timeout_ms"},
		[MAX_CONNS] = {"max_connections"},
		[ROUTE_CONFIG] = {"route_config"},
		[REQUEST_TIMEOUT] = {"request_timeout_ms"},
		[SNI_ROUTES] = {"sni_routes"},
		[REQUEST_HEADER_TIMEOUT] = {"request_header_timeout_ms"},
		[TLS] = {"tls"},
	};
	struct weft_listener_cfg *l = &cfg->listeners[idx];
	char path[PATH_LEN], p[PATH_LEN], a[64], b[80];
	const char *s;

	memset(l, 0, sizeof(*l));
	l->line = line_of(n);
	l->kind = WEFT_LISTENER_TCP_PROXY;
	l->connect_timeout_ms = 1000;
	l->idle_timeout_ms = 300000;
	l->max_connections = 100000;
	path_idx(path, "listeners", idx);
	if (!is_null(n) && n->type != YAML_MAPPING_NODE)
		return fail(c, line_of(n), path, "expected a mapping");
	if (fields(c, n, path, f, N) != 0)
		return -1;

	path_key(p, path, "name");
	if (f[NAME].val == NULL)
		return fail(c, l->line, p, "required key is missing");
	if ((s = get_name(c, f[NAME].val, p, "a listener name")) == NULL)
		return -1;
	for (unsigned j = 0; j < idx; j++)
		if (strcmp(cfg->listeners[j].name, s) == 0)
			return fail(c, line_of(f[NAME].val), p, "duplicate listener name \"%s\" (first at line %d)", s,
				    c->listener_name_line[j]);
	snprintf(l->name, sizeof(l->name), "%s", s);
	c->listener_name_line[idx] = line_of(f[NAME].val);

	/* Required, so that a listener never silently changes meaning when kinds are added. */
	path_key(p, path, "kind");
	if (f[KIND].val == NULL)
		return fail(c, l->line, p, "required key is missing");
	if ((s = scalar(c, f[KIND].val, p, "a listener kind")) == NULL)
		return -1;
	if (strcmp(s, "http") == 0)
		l->kind = WEFT_LISTENER_HTTP;
	else if (strcmp(s, "tls_passthrough") == 0)
		l->kind = WEFT_LISTENER_TLS_PASSTHROUGH;
	else if (strcmp(s, "tcp_proxy") != 0)
		return fail(c, line_of(f[KIND].val), p,
			    "unknown listener kind \"%s\" (expected tcp_proxy, http or tls_passthrough)", show(s).s);

	path_key(p, path, "address");
	if (f[ADDRESS].val == NULL)
		return fail(c, l->line, p, "required key is missing");
	if (get_ip(c, f[ADDRESS].val, p, &l->addr) != 0)
		return -1;
	l->any = ip_is_unspecified(&l->addr);
	if (!l->any && port_owning(cfg, &l->addr) == NULL)
		return fail(c, line_of(f[ADDRESS].val), p,
			    "%s is not an address of any port (use one of the ports' addresses, or 0.0.0.0 or \"::\" "
			    "for every address of the family)",
			    weft_ip_fmt(&l->addr, a, sizeof(a)));

	path_key(p, path, "port");
	if (f[PORT].val == NULL)
		return fail(c, l->line, p, "required key is missing");
	if (get_u16(c, f[PORT].val, p, 1, 65535, &l->port) != 0)
		return -1;
	c->listener_port_line[idx] = line_of(f[PORT].val);
	/* A wildcard and a specific address may share a port: the specific one wins (see l4cfg.h). */
	for (unsigned j = 0; j < idx; j++) {
		const struct weft_listener_cfg *o = &cfg->listeners[j];
		if (o->port == l->port && o->addr.af == l->addr.af && o->any == l->any &&
		    (l->any || ip_equal(&o->addr, &l->addr)))
			return fail(c, line_of(f[PORT].val), p, "%s is already taken by listener %s (line %d)",
				    fmt_hostport(&l->addr, l->port, b, sizeof(b)), o->name, c->listener_port_line[j]);
	}

	/* An http listener routes with its route config; the hook refuses cluster there. */
	if (l->kind == WEFT_LISTENER_HTTP || f[ROUTE_CONFIG].val != NULL || f[REQUEST_TIMEOUT].val != NULL ||
	    f[REQUEST_HEADER_TIMEOUT].val != NULL) {
		if (weft_cfgh_listener((struct weft_cfg_ctx *)c, path, l->line, f[ROUTE_CONFIG].val,
				       f[REQUEST_TIMEOUT].val, f[REQUEST_HEADER_TIMEOUT].val, l, cfg) != 0)
			return -1;
		if (f[CLUSTER].val != NULL) {
			path_key(p, path, "cluster");
			return fail(c, f[CLUSTER].key_line, p,
				    "an http listener routes by route_config; name clusters in its routes");
		}
	}
	/* A tls_passthrough listener picks its cluster by SNI; the others have no sni_routes. */
	if (l->kind == WEFT_LISTENER_TLS_PASSTHROUGH) {
		if (f[SNI_ROUTES].val == NULL) {
			path_key(p, path, "sni_routes");
			return fail(c, l->line, p, "required key is missing");
		}
		if (f[CLUSTER].val != NULL) {
			path_key(p, path, "cluster");
			return fail(c, f[CLUSTER].key_line, p,
				    "a tls_passthrough listener picks clusters by sni_routes; name them there");
		}
		if (parse_sni_routes(c, f[SNI_ROUTES].val, path, l, cfg) != 0)
			return -1;
		l->cluster_idx = cfg->sni[l->sni_first].cluster_idx;
		snprintf(l->cluster, sizeof(l->cluster), "%s", cfg->clusters[l->cluster_idx].name);
	} else if (f[SNI_ROUTES].val != NULL) {
		path_key(p, path, "sni_routes");
		return fail(c, f[SNI_ROUTES].key_line, p, "only a listener of kind tls_passthrough has sni_routes");
	}
	if (f[TLS].val != NULL && weft_cfgt_listener((struct weft_cfg_ctx *)c, path, f[TLS].val, l, cfg) != 0)
		return -1;
	path_key(p, path, "cluster");
	if (f[CLUSTER].val == NULL && l->kind == WEFT_LISTENER_TCP_PROXY)
		return fail(c, l->line, p, "required key is missing");
	if (l->kind == WEFT_LISTENER_TCP_PROXY) {
		if ((s = scalar(c, f[CLUSTER].val, p, "a cluster name")) == NULL)
			return -1;
		unsigned k = 0;
		while (k < cfg->n_clusters && strcmp(cfg->clusters[k].name, s) != 0)
			k++;
		if (k == cfg->n_clusters)
			return fail(c, line_of(f[CLUSTER].val), p, "no cluster named \"%s\"", show(s).s);
		snprintf(l->cluster, sizeof(l->cluster), "%s", s);
		l->cluster_idx = k;
	}

	struct {
		int key;
		uint32_t lo, hi;
		uint32_t *out;
	} nums[] = {
		{CONNECT_TIMEOUT, 1, CONNECT_TIMEOUT_MS_MAX, &l->connect_timeout_ms},
		{IDLE_TIMEOUT, 0, IDLE_TIMEOUT_MS_MAX, &l->idle_timeout_ms},
		{MAX_CONNS, 1, LISTENER_CONNS_MAX, &l->max_connections},
	};
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		unsigned v;
		if (f[nums[i].key].val == NULL)
			continue;
		path_key(p, path, f[nums[i].key].key);
		if (get_uint(c, f[nums[i].key].val, p, nums[i].lo, nums[i].hi, &v) != 0)
			return -1;
		*nums[i].out = v;
	}
	return 0;
}

static int parse_listeners(struct ctx *c, const yaml_node_t *n, struct weft_config *cfg)
{
	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(c, line_of(n), "listeners", "expected a sequence of listeners");
	size_t nl = seq_len(n);
	if (nl > WEFT_CFG_MAX_LISTENERS)
		return fail(c, line_of(n), "listeners", "too many listeners (%zu, max %d)", nl,
			    WEFT_CFG_MAX_LISTENERS);
	for (size_t i = 0; i < nl; i++) {
		if (parse_listener(c, seq_item(c, n, i), (unsigned)i, cfg) != 0)
			return -1;
		cfg->n_listeners = (unsigned)i + 1;
	}
	return 0;
}

static int parse_tcp(struct ctx *c, const yaml_node_t *n, struct weft_tcp_cfg *t)
{
	enum {
		MAX_CONNS, SNDBUF, RCVBUF, SYN_BACKLOG, RTO_INITIAL, RTO_MIN, RTO_MAX, MAX_RETRIES, SYN_RETRIES,
		DELACK, TIME_WAIT, FIN_WAIT2, KEEPALIVE, KEEPALIVE_INTVL, KEEPALIVE_PROBES, OOO_SEGS, OOO_BYTES,
		CHALLENGE_ACKS, EPH_MIN, EPH_MAX, /* integers above, the rest below */
		SYNCOOKIES, WSCALE, TIMESTAMPS, SACK, CONGESTION, N
	};
	struct field f[N] = {
		[MAX_CONNS] = {"max_connections"},
		[SNDBUF] = {"sndbuf"},
		[RCVBUF] = {"rcvbuf"},
		[SYN_BACKLOG] = {"syn_backlog"},
		[RTO_INITIAL] = {"rto_initial_ms"},
		[RTO_MIN] = {"rto_min_ms"},
		[RTO_MAX] = {"rto_max_ms"},
		[MAX_RETRIES] = {"max_retries"},
		[SYN_RETRIES] = {"syn_retries"},
		[DELACK] = {"delayed_ack_ms"},
		[TIME_WAIT] = {"time_wait_ms"},
		[FIN_WAIT2] = {"fin_wait2_ms"},
		[KEEPALIVE] = {"keepalive_ms"},
		[KEEPALIVE_INTVL] = {"keepalive_interval_ms"},
		[KEEPALIVE_PROBES] = {"keepalive_probes"},
		[OOO_SEGS] = {"ooo_max_segments"},
		[OOO_BYTES] = {"ooo_max_bytes"},
		[CHALLENGE_ACKS] = {"challenge_acks_per_s"},
		[EPH_MIN] = {"ephemeral_port_min"},
		[EPH_MAX] = {"ephemeral_port_max"},
		[SYNCOOKIES] = {"syncookies"},
		[WSCALE] = {"window_scaling"},
		[TIMESTAMPS] = {"timestamps"},
		[SACK] = {"sack"},
		[CONGESTION] = {"congestion"},
	};
	static const struct {
		uint32_t lo, hi;
	} range[] = {
		[MAX_CONNS] = {TCP_CONNS_MIN, TCP_CONNS_MAX},
		[SNDBUF] = {TCP_BUF_MIN, TCP_BUF_MAX},
		[RCVBUF] = {TCP_BUF_MIN, TCP_BUF_MAX},
		[SYN_BACKLOG] = {1, 1u << 20},
		[RTO_INITIAL] = {1, 600000},
		[RTO_MIN] = {1, 600000},
		[RTO_MAX] = {1, 600000},
		[MAX_RETRIES] = {1, 64},
		[SYN_RETRIES] = {1, 32},
		[DELACK] = {0, 499},           /* RFC 9293 3.8.6.3: under 500 ms */
		[TIME_WAIT] = {0, 240000},     /* up to 2*MSL with RFC 9293's MSL of 2 minutes */
		[FIN_WAIT2] = {1000, 600000},
		[KEEPALIVE] = {0, 86400000},
		[KEEPALIVE_INTVL] = {1000, 86400000},
		[KEEPALIVE_PROBES] = {1, 1000},
		[OOO_SEGS] = {0, 65536},
		[OOO_BYTES] = {0, TCP_BUF_MAX},
		[CHALLENGE_ACKS] = {1, 1000000},
		[EPH_MIN] = {1024, 65535},
		[EPH_MAX] = {1024, 65535},
	};
	uint32_t eph_min = t->ephemeral_port_min, eph_max = t->ephemeral_port_max;
	uint32_t *out[] = {
		[MAX_CONNS] = &t->max_connections,
		[SNDBUF] = &t->sndbuf,
		[RCVBUF] = &t->rcvbuf,
		[SYN_BACKLOG] = &t->syn_backlog,
		[RTO_INITIAL] = &t->rto_initial_ms,
		[RTO_MIN] = &t->rto_min_ms,
		[RTO_MAX] = &t->rto_max_ms,
		[MAX_RETRIES] = &t->max_retries,
		[SYN_RETRIES] = &t->syn_retries,
		[DELACK] = &t->delayed_ack_ms,
		[TIME_WAIT] = &t->time_wait_ms,
		[FIN_WAIT2] = &t->fin_wait2_ms,
		[KEEPALIVE] = &t->keepalive_ms,
		[KEEPALIVE_INTVL] = &t->keepalive_interval_ms,
		[KEEPALIVE_PROBES] = &t->keepalive_probes,
		[OOO_SEGS] = &t->ooo_max_segments,
		[OOO_BYTES] = &t->ooo_max_bytes,
		[CHALLENGE_ACKS] = &t->challenge_acks_per_s,
		[EPH_MIN] = &eph_min,
		[EPH_MAX] = &eph_max,
	};
	bool *flags[] = {&t->syncookies, &t->window_scaling, &t->timestamps, &t->sack}; /* SYNCOOKIES..SACK */
	char p[PATH_LEN];

	if (fields(c, n, "tcp", f, N) != 0)
		return -1;
	for (int i = MAX_CONNS; i <= EPH_MAX; i++) {
		unsigned v;
		if (f[i].val == NULL)
			continue;
		path_key(p, "tcp", f[i].key);
		if (get_uint(c, f[i].val, p, range[i].lo, range[i].hi, &v) != 0)
			return -1;
		*out[i] = v;
	}
	for (int i = SYNCOOKIES; i <= SACK; i++) {
		if (f[i].val == NULL)
			continue;
		path_key(p, "tcp", f[i].key);
		if (get_bool(c, f[i].val, p, flags[i - SYNCOOKIES]) != 0)
			return -1;
	}
	if (f[CONGESTION].val != NULL) {
		const char *s = scalar(c, f[CONGESTION].val, "tcp.congestion", "a congestion control name");
		if (s == NULL)
			return -1;
		if (strcmp(s, "cubic") == 0)
			t->congestion = WEFT_TCP_CC_CUBIC;
		else if (strcmp(s, "newreno") == 0)
			t->congestion = WEFT_TCP_CC_NEWRENO;
		else
			return fail(c, line_of(f[CONGESTION].val), "tcp.congestion",
				    "unknown congestion control \"%s\" (expected cubic or newreno)", show(s).s);
	}

	/* Orderings: the message points at a key that was written, the later one when both were. */
	if (t->rto_min_ms > t->rto_max_ms) {
		int k = f[RTO_MAX].val != NULL ? RTO_MAX : RTO_MIN;
		path_key(p, "tcp", f[k].key);
		return fail(c, line_of(f[k].val), p, "rto_min_ms (%u) is above rto_max_ms (%u)", t->rto_min_ms,
			    t->rto_max_ms);
	}
	if (t->rto_initial_ms < t->rto_min_ms || t->rto_initial_ms > t->rto_max_ms) {
		int k = f[RTO_INITIAL].val != NULL ? RTO_INITIAL : f[RTO_MIN].val != NULL ? RTO_MIN : RTO_MAX;
		path_key(p, "tcp", f[k].key);
		return fail(c, line_of(f[k].val), p, "rto_initial_ms (%u) must lie within rto_min_ms..rto_max_ms (%u..%u)",
			    t->rto_initial_ms, t->rto_min_ms, t->rto_max_ms);
	}
	if (eph_min > eph_max) {
		int k = f[EPH_MAX].val != NULL ? EPH_MAX : EPH_MIN;
		path_key(p, "tcp", f[k].key);
		return fail(c, line_of(f[k].val), p, "ephemeral_port_min (%u) is above ephemeral_port_max (%u)", eph_min,
			    eph_max);
	}
	t->ephemeral_port_min = (uint16_t)eph_min;
	t->ephemeral_port_max = (uint16_t)eph_max;
	return 0;
}

static int parse_root(struct ctx *c, const yaml_node_t *root, struct weft_config *cfg)
{
	enum { EAL, PORTS, ROUTES, ADMIN, CLUSTERS, LISTENERS, TCP, ROUTE_CONFIGS, N };
	struct field f[N] = {
		[EAL] = {"eal"}, [PORTS] = {"ports"}, [ROUTES] = {"routes"}, [ADMIN] = {"admin"},
		[CLUSTERS] = {"clusters"}, [LISTENERS] = {"listeners"}, [TCP] = {"tcp"},
		[ROUTE_CONFIGS] = {"route_configs"},
	};

	if (root != NULL && !is_null(root) && root->type != YAML_MAPPING_NODE)
		return fail(c, line_of(root), "document",
			    "expected a mapping of sections (eal, ports, routes, admin, clusters, listeners, tcp)");
	if (fields(c, root, "", f, N) != 0)
		return -1;
	/* Fixed order, whatever the order in the file: routes and listeners name what comes before. */
	if (parse_eal(c, f[EAL].val, &cfg->eal) != 0)
		return -1;
	if (parse_ports(c, f[PORTS].val, line_of(root), cfg) != 0)
		return -1;
	if (parse_routes(c, f[ROUTES].val, cfg) != 0)
		return -1;
	if (parse_admin(c, f[ADMIN].val, &cfg->admin) != 0)
		return -1;
	/* Listeners name clusters and bind the ports' addresses. */
	if (parse_clusters(c, f[CLUSTERS].val, cfg) != 0)
		return -1;
	/* Route configs name clusters; http listeners name route configs. */
	if (weft_cfgh_route_configs((struct weft_cfg_ctx *)c, f[ROUTE_CONFIGS].val, cfg) != 0)
		return -1;
	if (parse_listeners(c, f[LISTENERS].val, cfg) != 0)
		return -1;
	return parse_tcp(c, f[TCP].val, &cfg->tcp);
}

/* ------------------------------------------------------------------------- */
/* Entry points                                                               */
/* ------------------------------------------------------------------------- */

static int syntax_error(struct ctx *c, const yaml_parser_t *ps)
{
	const char *problem = ps->problem != NULL ? ps->problem : "unknown error";

	switch (ps->error) {
	case YAML_MEMORY_ERROR:
		return fail_file(c, "out of memory while parsing");
	case YAML_READER_ERROR: {
		/* The reader reports a byte offset; count lines to it. */
		size_t off = ps->problem_offset < c->len ? ps->problem_offset : c->len;
		int line = 1, col = 1;
		for (size_t i = 0; i < off; i++) {
			if (c->text[i] == '\n') {
				line++;
				col = 1;
			} else {
				col++;
			}
		}
		if (ps->problem_value != -1)
			return fail_at(c, line, col, "invalid input: %s (byte 0x%02x at offset %zu)", problem,
					 (unsigned)ps->problem_value & 0xffu, ps->problem_offset);
		return fail_at(c, line, col, "invalid input: %s (at offset %zu)", problem,
				 ps->problem_offset);
	}
	default:
		break;
	}
	int line = (int)ps->problem_mark.line + 1, col = (int)ps->problem_mark.column + 1;
	if (ps->context != NULL)
		return fail_at(c, line, col, "YAML syntax error: %s (%s at line %d)", problem, ps->context,
				 (int)ps->context_mark.line + 1);
	return fail_at(c, line, col, "YAML syntax error: %s", problem);
}

int weft_config_parse(const char *text, size_t len, const char *name, struct weft_config *cfg, char *err,
		      size_t errlen)
{
	struct ctx c = {
		.file = name != NULL ? name : "<config>",
		.text = text != NULL ? text : "",
		.len = text != NULL ? len : 0,
		.err = err,
		.errlen = errlen,
	};
	yaml_parser_t parser;
	yaml_document_t doc, extra;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	weft_config_defaults(cfg);
	if (c.len > WEFT_CFG_MAX_SIZE)
		return fail_file(&c, "larger than %u MiB (%zu bytes)", WEFT_CFG_MAX_SIZE >> 20, c.len);

	if (!yaml_parser_initialize(&parser))
		return fail_file(&c, "out of memory");
	yaml_parser_set_input_string(&parser, (const unsigned char *)c.text, c.len);
	if (!yaml_parser_load(&parser, &doc)) {
		/* libyaml has already freed the partial document. */
		syntax_error(&c, &parser);
		yaml_parser_delete(&parser);
		return -1;
	}
	c.doc = &doc;
	yaml_node_t *root = yaml_document_get_root_node(&doc);

	/* One document per file: a second one would be silently ignored otherwise. */
	rc = 0;
	if (root != NULL) {
		if (!yaml_parser_load(&parser, &extra)) {
			rc = syntax_error(&c, &parser);
		} else {
			yaml_node_t *r2 = yaml_document_get_root_node(&extra);
			if (r2 != NULL)
				rc = fail(&c, line_of(r2), "document", "only one YAML document is allowed per file");
			yaml_document_delete(&extra);
		}
	}
	if (rc == 0)
		rc = parse_root(&c, root, cfg);

	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	return rc;
}

int weft_config_load(const char *path, struct weft_config *cfg, char *err, size_t errlen)
{
	struct ctx c = {.file = path != NULL ? path : "<config>", .err = err, .errlen = errlen};
	char ebuf[128];
	size_t cap = 16384, len = 0;
	char *buf;
	int fd, rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (path == NULL)
		return fail_file(&c, "cannot read: %s", strerror_r(EINVAL, ebuf, sizeof(ebuf)));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail_file(&c, "cannot read: %s", strerror_r(errno, ebuf, sizeof(ebuf)));
	buf = malloc(cap);
	if (buf == NULL) {
		close(fd);
		return fail_file(&c, "cannot read: %s", strerror_r(ENOMEM, ebuf, sizeof(ebuf)));
	}
	/* Read to the end rather than trusting st_size: pipes and /proc files have none. */
	for (;;) {
		if (len == cap) {
			/* One byte past the limit is enough to know the file is too large. */
			if (cap > WEFT_CFG_MAX_SIZE)
				break;
			size_t ncap = cap * 2 > WEFT_CFG_MAX_SIZE ? WEFT_CFG_MAX_SIZE + 1 : cap * 2;
			char *nbuf = realloc(buf, ncap);
			if (nbuf == NULL) {
				free(buf);
				close(fd);
				return fail_file(&c, "cannot read: %s", strerror_r(ENOMEM, ebuf, sizeof(ebuf)));
			}
			buf = nbuf;
			cap = ncap;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;
			free(buf);
			close(fd);
			return fail_file(&c, "cannot read: %s", strerror_r(e, ebuf, sizeof(ebuf)));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len > WEFT_CFG_MAX_SIZE) {
		free(buf);
		return fail_file(&c, "larger than %u MiB", WEFT_CFG_MAX_SIZE >> 20);
	}
	rc = weft_config_parse(buf, len, path, cfg, err, errlen);
	free(buf);
	return rc;
}

/* ------------------------------------------------------------------------- */
/* Helpers lent to the other section loaders (policy/config_yaml.h)           */
/* ------------------------------------------------------------------------- */

int weft_cfgy_fail(struct weft_cfg_ctx *y, int line, const char *path, const char *fmt, ...)
{
	struct ctx *c = (struct ctx *)y;
	va_list ap;

	if (c->err == NULL || c->errlen == 0)
		return -1;
	int n = snprintf(c->err, c->errlen, "%s:%d: %s: ", c->file, line, path);
	if (n < 0 || (size_t)n >= c->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

const char *weft_cfgy_file(const struct weft_cfg_ctx *y)
{
	return ((const struct ctx *)y)->file;
}

int weft_cfgy_line(const yaml_node_t *n)
{
	return line_of(n);
}

bool weft_cfgy_is_null(const yaml_node_t *n)
{
	return is_null(n);
}

size_t weft_cfgy_seq_len(const yaml_node_t *n)
{
	return seq_len(n);
}

yaml_node_t *weft_cfgy_seq_item(struct weft_cfg_ctx *y, const yaml_node_t *n, size_t i)
{
	return seq_item((struct ctx *)y, n, i);
}

int weft_cfgy_fields(struct weft_cfg_ctx *y, const yaml_node_t *n, const char *path, struct weft_cfgy_field *f,
		     size_t nf)
{
	struct field tmp[32];

	if (nf > sizeof(tmp) / sizeof(tmp[0]))
		return weft_cfgy_fail(y, line_of(n), path, "internal: too many keys");
	for (size_t i = 0; i < nf; i++)
		tmp[i] = (struct field){.key = f[i].key};
	int rc = fields((struct ctx *)y, n, path, tmp, nf);
	for (size_t i = 0; i < nf; i++) {
		f[i].val = tmp[i].val;
		f[i].key_line = tmp[i].key_line;
	}
	return rc;
}

const char *weft_cfgy_scalar(struct weft_cfg_ctx *y, const yaml_node_t *n, const char *path, const char *what)
{
	return scalar((struct ctx *)y, n, path, what);
}

int weft_cfgy_u64(struct weft_cfg_ctx *y, const yaml_node_t *n, const char *path, uint64_t lo, uint64_t hi,
		  uint64_t *out)
{
	return get_u64((struct ctx *)y, n, path, lo, hi, out);
}

int weft_cfgy_bool(struct weft_cfg_ctx *y, const yaml_node_t *n, const char *path, bool *out)
{
	return get_bool((struct ctx *)y, n, path, out);
}

const char *weft_cfgy_name(struct weft_cfg_ctx *y, const yaml_node_t *n, const char *path, const char *what)
{
	return get_name((struct ctx *)y, n, path, what);
}

void weft_cfgy_path_key(char *out, const char *parent, const char *key)
{
	path_key(out, parent, key);
}

void weft_cfgy_path_idx(char *out, const char *parent, size_t i)
{
	path_idx(out, parent, i);
}

const char *weft_cfgy_show(const char *s, char out[72])
{
	struct shown sh = show(s);

	memcpy(out, sh.s, sizeof(sh.s));
	return out;
}
