/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * An immutable, compiled configuration. Built by the management thread,
 * published with one atomic pointer store, read by workers between two
 * quiescent points, freed after every worker has passed one (RCU QSBR).
 * Nothing in it changes after publication.
 */
#ifndef WEFT_POLICY_SNAPSHOT_H
#define WEFT_POLICY_SNAPSHOT_H

#include <stdint.h>
#include <time.h>

#include "policy/l4cfg.h"
#include "policy/netcfg.h"

struct weft_snapshot {
	uint64_t version;   /* 1, 2, ... in publication order */
	uint64_t hash;      /* FNV-1a of the source text */
	time_t applied_at;  /* wall clock, seconds */
	struct weft_net_table net;
	struct weft_l4_table l4;  /* listeners, clusters, endpoints */
};

#endif
