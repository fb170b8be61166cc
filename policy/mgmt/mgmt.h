/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The management thread: owns the configuration, builds and publishes
 * snapshots, serves the admin API, samples worker counters. It runs on the
 * main lcore as an ordinary blocking Linux thread; workers never wait on it.
 */
#ifndef WEFT_POLICY_MGMT_MGMT_H
#define WEFT_POLICY_MGMT_MGMT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "dataplane/worker.h"
#include "policy/config.h"
#include "policy/mgmt/publish.h"
#include "policy/stats.h"

struct weft_admin;

struct weft_mgmt {
	char cfg_path[4096];
	struct weft_config cfg;        /* the applied configuration */
	uint64_t cfg_hash;             /* FNV-1a of the applied file */
	char *cfg_text;                /* the applied source, served by /config_dump */
	size_t cfg_len;
	time_t started_at;

	unsigned n_workers;
	struct weft_worker *workers;   /* rte_zmalloc'd, cache aligned */
	struct weft_worker_counters *ctrs;
	bool running;                  /* workers loop while true */

	struct weft_publisher pub;
	struct weft_admin *admin;
	struct weft_stats_sampler sampler;
	double busy_pct[WEFT_MAX_WORKERS];

	/* /config/status */
	time_t applied_at;
	uint64_t rejected_count;
	time_t rejected_at;
	char rejected_error[WEFT_CFG_ERR_LEN];

	/* The config file as last seen, to reload it when it changes (checked once a second). */
	bool cfg_seen;
	int64_t cfg_mtime_ns;
	int64_t cfg_size;
	uint64_t cfg_ino;

	/* TLS file watch: a refused rebuild is not retried until the files change again. */
	bool tls_refused;
	uint64_t tls_refused_hash;
};

/** Flags set from signal handlers, read by the loop. */
extern volatile sig_atomic_t weft_sig_stop;
extern volatile sig_atomic_t weft_sig_reload;

/**
 * Build a snapshot of cfg for the running ports.
 * Returns the snapshot, or NULL with err filled.
 */
struct weft_snapshot *weft_mgmt_compile(const struct weft_config *cfg, uint64_t hash, char *err,
					size_t errlen);

/**
 * Compile cfg's HTTP part (route tables, balancers, per-worker scratches)
 * into s, against the snapshot pub serves now. Returns 0 or -1 with err.
 */
int weft_mgmt_compile_http(const struct weft_publisher *pub, const struct weft_config *cfg,
			   struct weft_snapshot *s, char *err, size_t errlen);

/** Open the admin API; returns 0 or -1 with err. */
int weft_mgmt_admin_open(struct weft_mgmt *m, char *err, size_t errlen);

/** Run until weft_sig_stop: admin requests, stats sampling, reloads, RCU reclaim. */
void weft_mgmt_loop(struct weft_mgmt *m);

/**
 * Try to apply a new config text (file reload or POST /config). On success
 * the new snapshot is published; on failure the old one keeps serving and
 * the error is recorded for /config/status. Returns 0 or -1 with err.
 */
int weft_mgmt_apply(struct weft_mgmt *m, const char *text, size_t len, const char *name, char *err,
		    size_t errlen);

/** FNV-1a 64 over len bytes. */
uint64_t weft_hash_bytes(const void *p, size_t len);

#endif
