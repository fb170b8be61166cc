/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Stats of the health checker: the "health_check" JSON object and the
 * weft_health_check_* Prometheus families (policy/stats.h). Every reason is
 * rendered for every worker, zeros included, as for drops.
 */
#include <inttypes.h>

#include "policy/stats.h"
#include "policy/stats_emit.h"

void weft_stats_hc_json(const struct weft_stats_view *v, struct weft_buf *o, int w, const char *indent)
{
	const struct weft_stats_hc *h = &v->hc;
	const struct weft_stats_src s = {v, h->present};

	weft_buf_printf(o, "{\n%s  \"endpoints\": %" PRIu64 ",\n%s  \"unhealthy\": %" PRIu64, indent,
			weft_stats_sum(s, w, WEFT_STATS_COL(h->endpoints), 0), indent,
			weft_stats_sum(s, w, WEFT_STATS_COL(h->unhealthy), 0));
	weft_stats_json_members(o, s, w, indent, "  ", true, 0, weft_stats_cap(h->n_stats, WEFT_STATS_HC_MAX_STATS),
				h->stat_name, WEFT_STATS_COLS(h->stat));
	if (h->reason_name != NULL)
		weft_stats_json_map(o, s, w, indent, true, "failure_reasons", 0,
				    weft_stats_cap(h->n_reasons, WEFT_STATS_HC_MAX_REASONS), h->reason_name,
				    WEFT_STATS_COLS(h->failure));
	weft_buf_printf(o, "\n%s}", indent);
}

void weft_stats_hc_prometheus(const struct weft_stats_view *v, struct weft_buf *o)
{
	const struct weft_stats_hc *h = &v->hc;
	const struct weft_stats_src s = {v, h->present};

	weft_stats_prom_stat_families(o, s, "weft_health_check_", weft_stats_cap(h->n_stats, WEFT_STATS_HC_MAX_STATS),
				      h->stat_name, h->stat_help, WEFT_STATS_COLS(h->stat));
	if (h->reason_name != NULL)
		weft_stats_prom_labelled(o, s, "weft_health_check_failure_reasons_total", "counter",
					 "Failed health checks, by worker and reason.", "reason", 0,
					 weft_stats_cap(h->n_reasons, WEFT_STATS_HC_MAX_REASONS), h->reason_name,
					 WEFT_STATS_COLS(h->failure));
	weft_stats_prom_workers(o, s, "weft_health_check_endpoints", "gauge",
				"Endpoints the worker runs health checks for.", WEFT_STATS_COL(h->endpoints), 0);
	weft_stats_prom_workers(o, s, "weft_health_check_endpoints_unhealthy", "gauge",
				"Endpoints the worker checks that are unhealthy now (failed unhealthy_threshold checks in a row).",
				WEFT_STATS_COL(h->unhealthy), 0);
}
