/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The pure half of EAL start-up: turning a configuration into the EAL
 * argument vector and the vdev strings of the port presets. Nothing here
 * calls into DPDK, so it unit-tests without an EAL; weft_eal_start() in
 * port.h is the caller.
 */
#ifndef WEFT_DRIVERS_EAL_H
#define WEFT_DRIVERS_EAL_H

#include <stddef.h>

#include "policy/config.h"

#define WEFT_EAL_MAX_ARGV 128

struct weft_eal_argv {
	int argc;
	char *argv[WEFT_EAL_MAX_ARGV + 1]; /* NULL-terminated; the strings live in store */
	size_t used;
	char store[16384];
};

/**
 * Build the EAL argument vector for cfg: program name, --lcores, --main-lcore,
 * memory (-m, --no-huge), --file-prefix, --in-memory, --no-pci or one -a per
 * PCI port, one --vdev per vdev port, --log-level, then cfg->eal.args and
 * extra_argv verbatim, in that order (so later arguments override earlier).
 *
 * @return 0, or -1 with err filled (bad cpu, bad port preset, too many arguments).
 */
int weft_eal_argv_build(struct weft_eal_argv *a, const struct weft_config *cfg, const char *argv0,
			int extra_argc, char **extra_argv, char *err, size_t errlen);

/** The preset's short name ("af_packet", "null", "pci"), for messages. */
const char *weft_port_kind(enum weft_port_driver d);

/**
 * The device name DPDK gives port `index`: "net_<driver><index>" for a vdev
 * ("net_af_packet0", "net_null3"), the configured address for PCI.
 * @return the length written, or -1 (errno ENOSPC when buf is too small).
 */
int weft_port_dev_name(const struct weft_port_cfg *pc, unsigned index, char *buf, size_t len);

/**
 * The device arguments of port `index` with nq queue pairs: the preset's
 * keys for its driver, then pc->devargs. A key the operator already wrote in
 * pc->devargs is not emitted by the preset, so the operator's value wins.
 *
 *   af_packet  iface=IF,qpairs=Q,blocksz=4096,framesz=2048,framecnt=1024
 *   af_xdp     iface=IF,start_queue=0,queue_count=Q
 *   tap        iface=IF (when given)
 *   memif      role=server,id=INDEX[,socket=IF]
 *   ring       nothing: the plain ring PMD, whose queue i sends into its own queue i
 *   null       size=64,copy=0
 *   pcap       rx_pcap=F,tx_pcap=F.out when IF is a file (holds '/' or ends in .pcap),
 *              else iface=IF; with Q > 1, one tx file or tx_iface per queue
 *   pci        only pc->devargs (it goes to the -a allow-list entry)
 *
 * @return the length written, or -1 with errno EINVAL (a required interface
 *         is missing) or ENOSPC (buf too small).
 */
int weft_port_devargs(const struct weft_port_cfg *pc, unsigned index, unsigned nq, char *buf, size_t len);

#endif
