/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Stats of the health checker: the "health_check" JSON object and the
 * weft_health_check_* Prometheus families (policy/stats.h). Every reason is
 * rendered for every worker, zeros included, as for drops.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "policy/stats.h"

static unsigned workers_n(const struct weft_stats_view *v)
{
	return v->n_workers < WEFT_MAX_WORKERS ? v->n_workers : WEFT_MAX_WORKERS;
}

static unsigned cap(unsigned n, unsigned max)
{
	return n < max ? n : max;
}

static bool on(const struct weft_stats_view *v, unsigned w)
{
	return v->workers[w] != NULL && v->hc.present[w];
}

/* Sum of one value over worker w, or every worker when w is -1. */
#define SUM(v, w, expr)                                                                            \
	({                                                                                         \
		uint64_t s_ = 0;                                                                   \
		for (unsigned i = 0; i < workers_n(v); i++)                                        \
			if (((w) < 0 || (unsigned)(w) == i) && on((v), i))                         \
				s_ += (expr);                                                      \
		s_;                                                                                \
	})

void weft_stats_hc_json(const struct weft_stats_view *v, struct weft_buf *o, int w, const char *indent)
{
	const struct weft_stats_hc *h = &v->hc;
	unsigned nr = cap(h->n_reasons, WEFT_STATS_HC_MAX_REASONS);

	weft_buf_printf(o, "{\n%s  \"endpoints\": %" PRIu64 ",\n%s  \"unhealthy\": %" PRIu64, indent,
			SUM(v, w, h->endpoints[i]), indent, SUM(v, w, h->unhealthy[i]));
	for (unsigned k = 0; k < cap(h->n_stats, WEFT_STATS_HC_MAX_STATS); k++) {
		weft_buf_printf(o, ",\n%s  ", indent);
		weft_buf_json_str(o, h->stat_name[k]);
		weft_buf_printf(o, ": %" PRIu64, SUM(v, w, h->stat[i][k]));
	}
	if (h->reason_name != NULL) {
		weft_buf_printf(o, ",\n%s  \"failure_reasons\": {", indent);
		for (unsigned k = 0; k < nr; k++) {
			weft_buf_printf(o, "%s\n%s    ", k > 0 ? "," : "", indent);
			weft_buf_json_str(o, h->reason_name[k]);
			weft_buf_printf(o, ": %" PRIu64, SUM(v, w, h->failure[i][k]));
		}
		weft_buf_printf(o, "\n%s  }", indent);
	}
	weft_buf_printf(o, "\n%s}", indent);
}

static void family(struct weft_buf *o, const char *name, const char *type, const char *help)
{
	weft_buf_printf(o, "# HELP %s ", name);
	for (const char *s = help; *s != '\0'; s++) {
		if (*s == '\\')
			weft_buf_puts(o, "\\\\");
		else if (*s == '\n')
			weft_buf_puts(o, "\\n");
		else
			weft_buf_putc(o, *s);
	}
	weft_buf_printf(o, "\n# TYPE %s %s\n", name, type);
}

void weft_stats_hc_prometheus(const struct weft_stats_view *v, struct weft_buf *o)
{
	const struct weft_stats_hc *h = &v->hc;
	char name[128];

	for (unsigned k = 0; k < cap(h->n_stats, WEFT_STATS_HC_MAX_STATS); k++) {
		size_t n = (size_t)snprintf(name, sizeof(name), "weft_health_check_");
		for (const char *s = h->stat_name[k]; *s != '\0' && n + 8 < sizeof(name); s++) {
			char c = *s;
			bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
			name[n++] = ok ? c : '_';
		}
		snprintf(name + n, sizeof(name) - n, "_total");
		family(o, name, "counter", h->stat_help != NULL ? h->stat_help[k] : "");
		for (unsigned w = 0; w < workers_n(v); w++)
			if (on(v, w))
				weft_buf_printf(o, "%s{worker=\"%u\"} %" PRIu64 "\n", name, w, h->stat[w][k]);
	}
	if (h->reason_name != NULL) {
		const char *fam = "weft_health_check_failure_reasons_total";
		family(o, fam, "counter", "Failed health checks, by worker and reason.");
		for (unsigned w = 0; w < workers_n(v); w++) {
			if (!on(v, w))
				continue;
			for (unsigned k = 0; k < cap(h->n_reasons, WEFT_STATS_HC_MAX_REASONS); k++) {
				weft_buf_printf(o, "%s{worker=\"%u\",reason=\"", fam, w);
				weft_stats_prom_label(o, h->reason_name[k]);
				weft_buf_printf(o, "\"} %" PRIu64 "\n", h->failure[w][k]);
			}
		}
	}
	family(o, "weft_health_check_endpoints", "gauge", "Endpoints the worker runs health checks for.");
	for (unsigned w = 0; w < workers_n(v); w++)
		if (on(v, w))
			weft_buf_printf(o, "weft_health_check_endpoints{worker=\"%u\"} %" PRIu64 "\n", w, h->endpoints[w]);
	family(o, "weft_health_check_endpoints_unhealthy", "gauge",
	       "Endpoints the worker checks that are unhealthy now (failed unhealthy_threshold checks in a row).");
	for (unsigned w = 0; w < workers_n(v); w++)
		if (on(v, w))
			weft_buf_printf(o, "weft_health_check_endpoints_unhealthy{worker=\"%u\"} %" PRIu64 "\n", w,
					h->unhealthy[w]);
}
