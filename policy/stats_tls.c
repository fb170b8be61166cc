/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Stats of TLS: the "tls" JSON object and the weft_tls_* Prometheus
 * families (policy/stats.h). Every reason is rendered for every worker,
 * zeros included, so that rate() works from the first sample.
 */
#include "policy/stats.h"
#include "policy/stats_emit.h"

static unsigned n_reasons(const struct weft_stats_tls *t)
{
	return t->reason_name == NULL ? 0 : weft_stats_cap(t->n_reasons, WEFT_STATS_TLS_MAX_REASONS);
}

void weft_stats_tls_json(const struct weft_stats_view *v, struct weft_buf *o, const char *indent)
{
	const struct weft_stats_tls *t = &v->tls;
	const struct weft_stats_src s = {v, t->present};
	unsigned ns = weft_stats_cap(t->n_stats, WEFT_STATS_TLS_MAX_STATS);

	weft_buf_puts(o, "{");
	weft_stats_json_members(o, s, -1, indent, "  ", false, 0, ns, t->stat_name, WEFT_STATS_COLS(t->stat));
	/* Entry 0 of the reasons ("none") is not a failure. */
	weft_stats_json_map(o, s, -1, indent, ns > 0, "errors", 1, n_reasons(t), t->reason_name,
			    WEFT_STATS_COLS(t->error));
	weft_buf_printf(o, "\n%s}", indent);
}

void weft_stats_tls_prometheus(const struct weft_stats_view *v, struct weft_buf *o)
{
	const struct weft_stats_tls *t = &v->tls;
	const struct weft_stats_src s = {v, t->present};

	weft_stats_prom_stat_families(o, s, "weft_tls_", weft_stats_cap(t->n_stats, WEFT_STATS_TLS_MAX_STATS),
				      t->stat_name, t->stat_help, WEFT_STATS_COLS(t->stat));
	weft_stats_prom_labelled(
		o, s, "weft_tls_errors_total", "counter",
		"TLS handshakes and connections that failed, by worker and reason (tls_peer_cert_missing, ...).", "reason",
		1, n_reasons(t), t->reason_name, WEFT_STATS_COLS(t->error));
}
