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

struct weft_http_snap; /* policy/httpcfg.h */
struct tls_ulp_cfg;    /* dataplane/tls/tls_ulp.h */
struct weft_route_authz; /* policy/authz.h */

struct weft_snapshot {
	uint64_t version;   /* 1, 2, ... in publication order */
	uint64_t hash;      /* FNV-1a of the source text */
	time_t applied_at;  /* wall clock, seconds */
	struct weft_net_table net;
	struct weft_l4_table l4;  /* listeners, clusters, endpoints */
	struct weft_http_snap *http; /* route tables, balancers, scratches; NULL before compiled */
	/*
	 * TLS of each listener and cluster (same indexes as l4): NULL for
	 * plaintext. Each holds a reference, as does every connection using it.
	 */
	struct tls_ulp_cfg *tls_listener[WEFT_L4_MAX_LISTENERS];
	struct tls_ulp_cfg *tls_cluster[WEFT_L4_MAX_CLUSTERS];
	struct weft_route_authz *authz; /* routes' allow_principals; NULL: none has any */
	/*
	 * Requests in flight that keep this snapshot past their iteration (an
	 * HTTP request keeps the routes it started with): per worker, each
	 * written only by its worker, released with a release store. The
	 * publisher frees a replaced snapshot only when the grace period is
	 * over and every count reads 0 (policy/mgmt/publish.c).
	 */
	struct {
		uint64_t n;
	} __attribute__((aligned(64))) refs[WEFT_CFG_MAX_WORKERS];
};

#endif
