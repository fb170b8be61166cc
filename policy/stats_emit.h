/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the stats renderers (policy/stats*.c) share: per-worker counter
 * families as /stats JSON members and as Prometheus families. A family's
 * values are a [WEFT_MAX_WORKERS][N] table of the view (WEFT_STATS_COLS())
 * or a [WEFT_MAX_WORKERS] gauge (WEFT_STATS_COL()); the workers rendered are
 * those of the view with counters whose present[] entry is set.
 * Management thread only.
 */
#ifndef WEFT_POLICY_STATS_EMIT_H
#define WEFT_POLICY_STATS_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/buf.h"
#include "policy/stats.h"

/* Value (w, k) of a per-worker table is v[w * stride + k]. */
struct weft_stats_cols {
	const uint64_t *v;
	size_t stride;
};

#define WEFT_STATS_COLS(tbl) ((struct weft_stats_cols){&(tbl)[0][0], sizeof((tbl)[0]) / sizeof((tbl)[0][0])})
#define WEFT_STATS_COL(arr) ((struct weft_stats_cols){&(arr)[0], 1})

/* Which workers a module reports: present[w] of its part of the view. */
struct weft_stats_src {
	const struct weft_stats_view *v;
	const bool *present;
};

/* The view's workers, bounded by WEFT_MAX_WORKERS. */
unsigned weft_stats_workers_n(const struct weft_stats_view *v);

static inline unsigned weft_stats_cap(unsigned n, unsigned max)
{
	return n < max ? n : max;
}

/* Worker w has counters in the view and the module runs on it. */
bool weft_stats_on(struct weft_stats_src s, unsigned w);

/* Column k of vals summed over worker w, or every worker when w is -1. */
uint64_t weft_stats_sum(struct weft_stats_src s, int w, struct weft_stats_cols vals, unsigned k);

/*
 * JSON members, one per name k in [first, n): newline, indent, pad, the
 * quoted name, ": " and the sum over worker w (-1: all). A comma goes before
 * each but the first, and before the first too when comma is set.
 */
void weft_stats_json_members(struct weft_buf *o, struct weft_stats_src s, int w, const char *indent,
			     const char *pad, bool comma, unsigned first, unsigned n, const char *const *names,
			     struct weft_stats_cols vals);

/* "key": {members at indent + 4}, on its own line at indent + 2, preceded by a comma when comma is set. */
void weft_stats_json_map(struct weft_buf *o, struct weft_stats_src s, int w, const char *indent, bool comma,
			 const char *key, unsigned first, unsigned n, const char *const *names,
			 struct weft_stats_cols vals);

/* # HELP (backslash and newline escaped) and # TYPE lines. */
void weft_stats_prom_family(struct weft_buf *o, const char *name, const char *type, const char *help);

/* prefix, stat with every character Prometheus does not allow in a name as '_', suffix. */
void weft_stats_prom_name(char *out, size_t len, const char *prefix, const char *stat, const char *suffix);

/* A family of one series per worker: name{worker="W"} column k of vals. */
void weft_stats_prom_workers(struct weft_buf *o, struct weft_stats_src s, const char *name, const char *type,
			     const char *help, struct weft_stats_cols vals, unsigned k);

/*
 * One counter family per stat k < n: prefix + name + "_total", help from
 * helps[k] ("" when helps or helps[k] is NULL), a series per worker.
 */
void weft_stats_prom_stat_families(struct weft_buf *o, struct weft_stats_src s, const char *prefix, unsigned n,
				   const char *const *names, const char *const *helps, struct weft_stats_cols vals);

/* A family of series per worker and label value: name{worker="W",label="names[k]"} for k in [first, n). */
void weft_stats_prom_labelled(struct weft_buf *o, struct weft_stats_src s, const char *name, const char *type,
			      const char *help, const char *label, unsigned first, unsigned n,
			      const char *const *names, struct weft_stats_cols vals);

#endif
