/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The compiled HTTP part of a snapshot: one route table per route config
 * (policy/route.h), one load-balancer table per cluster (policy/lb.h),
 * what each http listener needs, and one Hyperscan scratch per worker that
 * fits every route table of this snapshot.
 *
 * Built by the management thread from a validated config, published inside
 * struct weft_snapshot, read by workers, freed with the snapshot. The
 * scratches follow the protocol of policy/route.h: each is a clone of the
 * previous snapshot's, grown to fit, so a worker never sees its scratch
 * written while it scans; each snapshot owns the scratches it carries.
 *
 * Plain C (Hyperscan, no DPDK): unit-tests with the config loader.
 */
#ifndef WEFT_POLICY_HTTPCFG_H
#define WEFT_POLICY_HTTPCFG_H

#include <stddef.h>
#include <stdint.h>

#include <hs/hs.h>

#include "policy/config.h"

/* What a listener without request_header_timeout_ms gets (policy/config_http.h). */
#define WEFT_HTTP_REQUEST_HEADER_TIMEOUT_MS_DEFAULT WEFT_CFG_REQUEST_HEADER_TIMEOUT_MS_DEFAULT

struct weft_cluster_rt;
struct weft_lb;
struct weft_route_table;

struct weft_http_cluster {
	char name[WEFT_CFG_NAME_LEN];
	struct weft_lb *lb;            /* every cluster has one */
	struct weft_cluster_rt *rt;    /* breakers, retry budget, outlier and health state (policy/resilience.h) */
	uint32_t max_idle;             /* upstream pool: idle connections per endpoint and worker */
	uint32_t pool_idle_timeout_ms;
	struct weft_health_check_cfg hc; /* active checks (dataplane/proxy/health.h); kind NONE: none */
};

/* Indexed like the listeners of the snapshot's L4 table (config order). */
struct weft_http_listener {
	uint32_t rc;                   /* index of its route table; UINT32_MAX: not an http listener */
	uint32_t request_timeout_ms;   /* default time to the response head */
	uint32_t connect_timeout_ms;
	uint32_t idle_timeout_ms;      /* 0: none */
	uint32_t request_header_timeout_ms; /* a request head from its first byte; 0: none (408 request_header_timeout) */
};

struct weft_http_snap {
	unsigned n_rc;
	struct weft_route_table *rc[WEFT_CFG_MAX_ROUTE_CONFIGS];
	char rc_key[WEFT_CFG_MAX_ROUTE_CONFIGS][48]; /* name, or the path of an inline one: matches reloads */
	unsigned n_clusters;
	struct weft_http_cluster clusters[WEFT_CFG_MAX_CLUSTERS];
	unsigned n_listeners;
	struct weft_http_listener listeners[WEFT_CFG_MAX_LISTENERS];
	unsigned n_workers;
	hs_scratch_t *scratch[WEFT_CFG_MAX_WORKERS]; /* NULL when no table has a regex */
	unsigned n_http_listeners;
};

/**
 * Compile the HTTP part of a validated config. Management thread only.
 *
 * @param prev       the snapshot part being replaced, or NULL: route tables
 *                   with the same name reuse its Hyperscan databases, the
 *                   scratches are clones of its own (never written), and
 *                   endpoints keep their resilience state (ejections,
 *                   health, totals) by address and port (prev is only read)
 * @param n_workers  workers that will route (regex rewrite copies, scratches)
 * @param err        on failure "FILE:LINE: route_configs[0].virtual_hosts[1]...: reason"
 * @return 0 with *out set, or -1 with err filled
 */
int weft_http_compile(const struct weft_config *cfg, const struct weft_http_snap *prev, unsigned n_workers,
		      struct weft_http_snap **out, char *err, size_t errlen);

/** Free everything s owns (NULL is fine), after the grace period. */
void weft_http_snap_free(struct weft_http_snap *s);

#endif
