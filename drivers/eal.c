/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * EAL start-up: the argument vector built from the configuration, the vdev
 * presets, and the call to rte_eal_init().
 */
#include "drivers/eal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <numa.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>

#include "drivers/port.h"

/* ---- a bounded string builder ------------------------------------------ */

struct sbuf {
	char *p;
	size_t len;
	size_t off;
	bool overflow;
};

static void __attribute__((format(printf, 2, 3))) sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room = b->off < b->len ? b->len - b->off : 0;
	va_start(ap, fmt);
	int n = vsnprintf(b->p + b->off, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room) {
		b->overflow = true;
		b->off = b->len;
		return;
	}
	b->off += (size_t)n;
}

/* ---- vdev presets ------------------------------------------------------ */

static const char *const vdev_driver[] = {
	[WEFT_DRV_AF_PACKET] = "net_af_packet",
	[WEFT_DRV_AF_XDP] = "net_af_xdp",
	[WEFT_DRV_TAP] = "net_tap",
	[WEFT_DRV_MEMIF] = "net_memif",
	[WEFT_DRV_RING] = "net_ring",
	[WEFT_DRV_NULL] = "net_null",
	[WEFT_DRV_PCAP] = "net_pcap",
	[WEFT_DRV_PCI] = NULL,
};

static bool driver_known(enum weft_port_driver d)
{
	return (unsigned)d < RTE_DIM(vdev_driver);
}

const char *weft_port_kind(enum weft_port_driver d)
{
	if (!driver_known(d))
		return "unknown";
	if (d == WEFT_DRV_PCI)
		return "pci";
	return vdev_driver[d] + strlen("net_");
}

int weft_port_dev_name(const struct weft_port_cfg *pc, unsigned index, char *buf, size_t len)
{
	int n;
	if (!driver_known(pc->driver)) {
		errno = EINVAL;
		return -1;
	}
	if (pc->driver == WEFT_DRV_PCI)
		n = snprintf(buf, len, "%s", pc->pci);
	else
		n = snprintf(buf, len, "%s%u", vdev_driver[pc->driver], index);
	if (n < 0 || (size_t)n >= len) {
		errno = ENOSPC;
		return -1;
	}
	return n;
}

/* True when the comma-separated list devargs sets key (as "key=..." or a bare "key"). */
static bool devargs_has(const char *devargs, const char *key)
{
	size_t kl = strlen(key);
	const char *p = devargs;
	while (*p != '\0') {
		while (*p == ',' || *p == ' ')
			p++;
		if (strncmp(p, key, kl) == 0 && (p[kl] == '=' || p[kl] == ',' || p[kl] == '\0'))
			return true;
		p = strchr(p, ',');
		if (p == NULL)
			break;
	}
	return false;
}

/* Append key=value unless the operator's devargs already set key. */
static void __attribute__((format(printf, 4, 5)))
kv(struct sbuf *b, const struct weft_port_cfg *pc, const char *key, const char *fmt, ...)
{
	if (devargs_has(pc->devargs, key))
		return;
	char val[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(val)) {
		b->overflow = true;
		return;
	}
	sb_printf(b, "%s%s=%s", b->off ? "," : "", key, val);
}

static bool pcap_is_file(const char *s)
{
	size_t l = strlen(s);
	return strchr(s, '/') != NULL || (l > 5 && strcmp(s + l - 5, ".pcap") == 0) ||
	       (l > 7 && strcmp(s + l - 7, ".pcapng") == 0);
}

/*
 * af_packet ring slots: a slot holds a tpacket header plus the frame, and
 * the PMD refuses a receive queue whose slot payload is larger than an mbuf
 * of the pool (RTE_MBUF_DEFAULT_BUF_SIZE), so 2048 is the largest that
 * works. It is also enough: the PMD reports a 1518-byte maximum frame, so
 * ethdev never lets its MTU above 1500. The PMD ignores the descriptor
 * counts of queue set-up: the ring size is framecnt, taken from the port's
 * rx_desc and tx_desc (the larger), 1024 at least. When the worker is busy
 * the kernel fills the ring in softirq, and a full ring drops frames the
 * PMD does not count: a kernel sender bursting 64 KiB GSO segments into a
 * worker that shares its CPU with that softirq needs several thousand.
 */
#define AF_PACKET_FRAMESZ 2048
#define AF_PACKET_BLOCKSZ 4096
#define AF_PACKET_FRAMECNT 1024

static unsigned af_packet_framecnt(const struct weft_port_cfg *pc)
{
	unsigned n = pc->rx_desc > pc->tx_desc ? pc->rx_desc : pc->tx_desc;
	return n > AF_PACKET_FRAMECNT ? n : AF_PACKET_FRAMECNT;
}

int weft_port_devargs(const struct weft_port_cfg *pc, unsigned index, unsigned nq, char *buf, size_t len)
{
	struct sbuf b = {.p = buf, .len = len};
	bool has_iface = pc->iface[0] != '\0';

	if (len == 0) {
		errno = ENOSPC;
		return -1;
	}
	buf[0] = '\0';
	if (nq == 0)
		nq = 1;

	switch (pc->driver) {
	case WEFT_DRV_AF_PACKET:
		if (!has_iface && !devargs_has(pc->devargs, "iface"))
			goto missing_iface;
		if (has_iface)
			kv(&b, pc, "iface", "%s", pc->iface);
		kv(&b, pc, "qpairs", "%u", nq);
		kv(&b, pc, "blocksz", "%u", AF_PACKET_BLOCKSZ);
		kv(&b, pc, "framesz", "%u", AF_PACKET_FRAMESZ);
		kv(&b, pc, "framecnt", "%u", af_packet_framecnt(pc));
		break;
	case WEFT_DRV_AF_XDP:
		if (!has_iface && !devargs_has(pc->devargs, "iface"))
			goto missing_iface;
		if (has_iface)
			kv(&b, pc, "iface", "%s", pc->iface);
		kv(&b, pc, "start_queue", "%u", 0);
		kv(&b, pc, "queue_count", "%u", nq);
		break;
	case WEFT_DRV_TAP:
		if (has_iface)
			kv(&b, pc, "iface", "%s", pc->iface);
		break;
	case WEFT_DRV_MEMIF:
		kv(&b, pc, "role", "server");
		kv(&b, pc, "id", "%u", index);
		if (has_iface)
			kv(&b, pc, "socket", "%s", pc->iface);
		break;
	case WEFT_DRV_RING:
		break;
	case WEFT_DRV_NULL:
		kv(&b, pc, "size", "%u", 64);
		kv(&b, pc, "copy", "%u", 0);
		break;
	case WEFT_DRV_PCAP:
		if (!has_iface) {
			if (pc->devargs[0] == '\0')
				goto missing_iface;
			break;
		}
		if (pcap_is_file(pc->iface)) {
			kv(&b, pc, "rx_pcap", "%s", pc->iface);
			if (nq == 1)
				kv(&b, pc, "tx_pcap", "%s.out", pc->iface);
			else /* the PMD opens one file per tx queue; they may not share one */
				for (unsigned q = 0; q < nq; q++)
					sb_printf(&b, "%stx_pcap=%s.out%u", b.off ? "," : "", pc->iface, q);
		} else if (nq == 1) {
			kv(&b, pc, "iface", "%s", pc->iface);
		} else {
			/*
			 * One capture handle receives, incoming frames only (a plain
			 * rx_iface also sees what we send); every worker gets its
			 * own send handle.
			 */
			kv(&b, pc, "rx_iface_in", "%s", pc->iface);
			for (unsigned q = 0; q < nq; q++)
				sb_printf(&b, "%stx_iface=%s", b.off ? "," : "", pc->iface);
		}
		break;
	case WEFT_DRV_PCI:
		break;
	default:
		errno = EINVAL;
		return -1;
	}
	if (pc->devargs[0] != '\0')
		sb_printf(&b, "%s%s", b.off ? "," : "", pc->devargs);
	if (b.overflow) {
		errno = ENOSPC;
		return -1;
	}
	return (int)b.off;

missing_iface:
	errno = EINVAL;
	return -1;
}

/* ---- the EAL argument vector ------------------------------------------- */

static int __attribute__((format(printf, 2, 3))) arg_add(struct weft_eal_argv *a, const char *fmt, ...)
{
	if (a->argc >= WEFT_EAL_MAX_ARGV)
		return -1;
	size_t room = sizeof(a->store) - a->used;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(a->store + a->used, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		return -1;
	a->argv[a->argc++] = a->store + a->used;
	a->argv[a->argc] = NULL;
	a->used += (size_t)n + 1;
	return 0;
}

int weft_eal_argv_build(struct weft_eal_argv *a, const struct weft_config *cfg, const char *argv0,
			int extra_argc, char **extra_argv, char *err, size_t errlen)
{
	const struct weft_eal_cfg *e = &cfg->eal;
	char lcores[WEFT_CFG_MAX_WORKERS * 16 + 16];
	struct sbuf lb = {.p = lcores, .len = sizeof(lcores)};
	char name[64], devargs[1024];
	bool any_pci = false;

	a->argc = 0;
	a->used = 0;
	a->argv[0] = NULL;

	if (e->n_workers > WEFT_CFG_MAX_WORKERS || e->n_workers + 1 > RTE_MAX_LCORE) {
		snprintf(err, errlen, "eal: %u workers, at most %d supported", e->n_workers,
			 RTE_MIN(WEFT_CFG_MAX_WORKERS, RTE_MAX_LCORE - 1));
		return -1;
	}
	if (e->main_cpu < 0) {
		snprintf(err, errlen, "eal: main cpu %d is negative", e->main_cpu);
		return -1;
	}
	/* lcore 0 is the management thread, lcore i+1 runs worker i; two may share a cpu. */
	sb_printf(&lb, "0@%d", e->main_cpu);
	for (unsigned i = 0; i < e->n_workers; i++) {
		if (e->worker_cpus[i] < 0) {
			snprintf(err, errlen, "eal: worker %u cpu %d is negative", i, e->worker_cpus[i]);
			return -1;
		}
		sb_printf(&lb, ",%u@%d", i + 1, e->worker_cpus[i]);
	}

	if (arg_add(a, "%s", argv0 ? argv0 : "weftd") || arg_add(a, "--lcores=%s", lcores) ||
	    arg_add(a, "--main-lcore=0"))
		goto too_long;
	if (!e->hugepages && arg_add(a, "--no-huge"))
		goto too_long;
	if (e->memory_mb && (arg_add(a, "-m") || arg_add(a, "%u", e->memory_mb)))
		goto too_long;
	if (e->file_prefix[0] && arg_add(a, "--file-prefix=%s", e->file_prefix))
		goto too_long;
	/*
	 * One process: no shared config file, no hugepage files left behind,
	 * no clash with a second instance. --in-memory says all of that, but
	 * the EAL refuses it with --no-huge (which implies legacy memory);
	 * without hugepages there are no page files anyway, and --no-shconf
	 * drops the shared config.
	 */
	if (arg_add(a, e->hugepages ? "--in-memory" : "--no-shconf"))
		goto too_long;

	for (unsigned i = 0; i < cfg->n_ports; i++) {
		const struct weft_port_cfg *pc = &cfg->ports[i];
		if (weft_port_dev_name(pc, i, name, sizeof(name)) < 0 ||
		    weft_port_devargs(pc, i, e->n_workers, devargs, sizeof(devargs)) < 0) {
			snprintf(err, errlen, "port %s (%s): %s", pc->name, weft_port_kind(pc->driver),
				 errno == EINVAL ? "the driver needs an interface (iface)" : "device arguments too long");
			return -1;
		}
		if (pc->driver == WEFT_DRV_PCI) {
			if (pc->pci[0] == '\0') {
				snprintf(err, errlen, "port %s (pci): no PCI address", pc->name);
				return -1;
			}
			any_pci = true;
			if (arg_add(a, "-a") || arg_add(a, "%s%s%s", name, devargs[0] ? "," : "", devargs))
				goto too_long;
		} else if (arg_add(a, "--vdev=%s%s%s", name, devargs[0] ? "," : "", devargs)) {
			goto too_long;
		}
	}
	if (!any_pci && arg_add(a, "--no-pci"))
		goto too_long;
	if (arg_add(a, "--log-level=notice"))
		goto too_long;
	for (unsigned i = 0; i < e->n_args && i < WEFT_CFG_MAX_EAL_ARGS; i++)
		if (arg_add(a, "%s", e->args[i]))
			goto too_long;
	for (int i = 0; i < extra_argc; i++)
		if (arg_add(a, "%s", extra_argv[i]))
			goto too_long;
	return 0;

too_long:
	snprintf(err, errlen, "eal: more than %d arguments or %zu bytes of them", WEFT_EAL_MAX_ARGV,
		 sizeof(a->store));
	return -1;
}

/* rte_eal_init() keeps pointers into argv (for example the program name), so the vector outlives the call. */
static struct weft_eal_argv eal_argv;

int weft_eal_start(const struct weft_config *cfg, const char *argv0, int extra_argc, char **extra_argv,
		   char *err, size_t errlen)
{
	struct weft_eal_argv *a = &eal_argv;
	char *argv[WEFT_EAL_MAX_ARGV + 1];

	if (weft_eal_argv_build(a, cfg, argv0, extra_argc, extra_argv, err, errlen) < 0)
		return -1;

	fprintf(stderr, "weftd: EAL args:");
	for (int i = 0; i < a->argc; i++)
		fprintf(stderr, " %s", a->argv[i]);
	fputc('\n', stderr);

	/* getopt permutes the vector it is given; keep ours intact for the log and for the EAL's pointers. */
	memcpy(argv, a->argv, sizeof(argv));
	if (rte_eal_init(a->argc, argv) < 0) {
		snprintf(err, errlen, "rte_eal_init: %s", rte_strerror(rte_errno));
		return -1;
	}
	return 0;
}

int weft_lcore_socket(unsigned lcore)
{
	unsigned s = rte_lcore_to_socket_id(lcore);
	if (s != (unsigned)SOCKET_ID_ANY && s < RTE_MAX_NUMA_NODES)
		return (int)s;
	/* The EAL knows no node for this lcore (or is not up): ask the kernel about its cpu. */
	if (numa_available() >= 0) {
		int cpu = rte_lcore_to_cpu_id((int)lcore);
		if (cpu >= 0) {
			int node = numa_node_of_cpu(cpu);
			if (node >= 0)
				return node;
		}
	}
	return 0;
}
