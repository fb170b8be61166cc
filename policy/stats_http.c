/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Stats of the HTTP proxy: the "http" JSON object and the weft_http_*
 * Prometheus families (policy/stats.h). Every reason is rendered for every
 * worker, zeros included, as for drops: a series that appears only after
 * its first event breaks rate() over the window it appears in.
 */
#include <inttypes.h>

#include "policy/stats.h"
#include "policy/stats_emit.h"

void weft_stats_http_json(const struct weft_stats_view *v, struct weft_buf *o, int w, const char *indent)
{
	const struct weft_stats_http *h = &v->http;
	const struct weft_stats_src s = {v, h->present};

	weft_buf_printf(o,
			"{\n%s  \"downstream_active\": %" PRIu64 ",\n%s  \"streams_active\": %" PRIu64
			",\n%s  \"upstream_active\": %" PRIu64 ",\n%s  \"upstream_idle\": %" PRIu64,
			indent, weft_stats_sum(s, w, WEFT_STATS_COL(h->downstream_active), 0), indent,
			weft_stats_sum(s, w, WEFT_STATS_COL(h->streams_active), 0), indent,
			weft_stats_sum(s, w, WEFT_STATS_COL(h->upstream_active), 0), indent,
			weft_stats_sum(s, w, WEFT_STATS_COL(h->upstream_idle), 0));
	weft_stats_json_members(o, s, w, indent, "  ", true, 0, weft_stats_cap(h->n_stats, WEFT_STATS_HTTP_MAX_STATS),
				h->stat_name, WEFT_STATS_COLS(h->stat));
	unsigned nr = weft_stats_cap(h->n_reasons, WEFT_STATS_HTTP_MAX_REASONS);
	unsigned ne = weft_stats_cap(h->n_errors, WEFT_STATS_HTTP_MAX_REASONS);
	if (h->reason_name != NULL)
		weft_stats_json_map(o, s, w, indent, true, "local_reasons", 0, nr, h->reason_name,
				    WEFT_STATS_COLS(h->reason));
	if (h->error_name != NULL) {
		/* Entry 0 of the parser's reasons ("none") is not a refusal. */
		weft_stats_json_map(o, s, w, indent, true, "request_errors", 1, ne, h->error_name,
				    WEFT_STATS_COLS(h->request_error));
		weft_stats_json_map(o, s, w, indent, true, "response_errors", 1, ne, h->error_name,
				    WEFT_STATS_COLS(h->response_error));
	}
	weft_buf_printf(o, "\n%s}", indent);
}

void weft_stats_http_prometheus(const struct weft_stats_view *v, struct weft_buf *o)
{
	const struct weft_stats_http *h = &v->http;
	const struct weft_stats_src s = {v, h->present};
	const struct {
		const char *name, *help;
		struct weft_stats_cols vals;
	} gauges[] = {
		{"weft_http_downstream_connections_active", "Client connections of http listeners open now.",
		 WEFT_STATS_COL(h->downstream_active)},
		{"weft_http_streams_active", "Requests in flight to an upstream.", WEFT_STATS_COL(h->streams_active)},
		{"weft_http_upstream_connections_active", "Upstream connections open now, busy or idle.",
		 WEFT_STATS_COL(h->upstream_active)},
		{"weft_http_upstream_connections_idle", "Upstream connections idle in the pools.",
		 WEFT_STATS_COL(h->upstream_idle)},
	};

	weft_stats_prom_stat_families(o, s, "weft_http_", weft_stats_cap(h->n_stats, WEFT_STATS_HTTP_MAX_STATS),
				      h->stat_name, h->stat_help, WEFT_STATS_COLS(h->stat));
	for (size_t g = 0; g < sizeof(gauges) / sizeof(gauges[0]); g++)
		weft_stats_prom_workers(o, s, gauges[g].name, "gauge", gauges[g].help, gauges[g].vals, 0);
	if (h->reason_name != NULL)
		weft_stats_prom_labelled(o, s, "weft_http_local_errors_total", "counter",
					 "Requests weft answered itself with an error, by worker and reason (x-weft-reason).",
					 "reason", 0, weft_stats_cap(h->n_reasons, WEFT_STATS_HTTP_MAX_REASONS),
					 h->reason_name, WEFT_STATS_COLS(h->reason));
	if (h->error_name != NULL) {
		unsigned ne = weft_stats_cap(h->n_errors, WEFT_STATS_HTTP_MAX_REASONS);
		weft_stats_prom_labelled(
			o, s, "weft_http_request_errors_total", "counter",
			"Requests refused by the HTTP/1.1 parser (answered with the reason's status), by worker and reason.",
			"reason", 1, ne, h->error_name, WEFT_STATS_COLS(h->request_error));
		weft_stats_prom_labelled(
			o, s, "weft_http_response_errors_total", "counter",
			"Upstream responses refused by the HTTP/1.1 parser (answered 502), by worker and reason.", "reason", 1,
			ne, h->error_name, WEFT_STATS_COLS(h->response_error));
	}
}
