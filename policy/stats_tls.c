/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Stats of TLS: the "tls" JSON object and the weft_tls_* Prometheus
 * families (policy/stats.h). Every reason is rendered for every worker,
 * zeros included, so that rate() works from the first sample.
 */
#include <inttypes.h>
#include <stdio.h>

#include "policy/stats.h"

static unsigned workers_n(const struct weft_stats_view *v)
{
	return v->n_workers < WEFT_MAX_WORKERS ? v->n_workers : WEFT_MAX_WORKERS;
}

static bool on(const struct weft_stats_view *v, unsigned w)
{
	return v->workers[w] != NULL && v->tls.present[w];
}

static unsigned n_stats(const struct weft_stats_tls *t)
{
	return t->n_stats < WEFT_STATS_TLS_MAX_STATS ? t->n_stats : WEFT_STATS_TLS_MAX_STATS;
}

static unsigned n_reasons(const struct weft_stats_tls *t)
{
	return t->reason_name == NULL ? 0 : t->n_reasons < WEFT_STATS_TLS_MAX_REASONS ? t->n_reasons : WEFT_STATS_TLS_MAX_REASONS;
}

void weft_stats_tls_json(const struct weft_stats_view *v, struct weft_buf *o, const char *indent)
{
	const struct weft_stats_tls *t = &v->tls;

	weft_buf_puts(o, "{");
	for (unsigned k = 0; k < n_stats(t); k++) {
		uint64_t sum = 0;
		for (unsigned w = 0; w < workers_n(v); w++)
			if (on(v, w))
				sum += t->stat[w][k];
		weft_buf_printf(o, "%s\n%s  ", k ? "," : "", indent);
		weft_buf_json_str(o, t->stat_name[k]);
		weft_buf_printf(o, ": %" PRIu64, sum);
	}
	weft_buf_printf(o, "%s\n%s  \"errors\": {", n_stats(t) ? "," : "", indent);
	for (unsigned k = 1; k < n_reasons(t); k++) {
		uint64_t sum = 0;
		for (unsigned w = 0; w < workers_n(v); w++)
			if (on(v, w))
				sum += t->error[w][k];
		weft_buf_printf(o, "%s\n%s    ", k > 1 ? "," : "", indent);
		weft_buf_json_str(o, t->reason_name[k]);
		weft_buf_printf(o, ": %" PRIu64, sum);
	}
	weft_buf_printf(o, "\n%s  }\n%s}", indent, indent);
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

void weft_stats_tls_prometheus(const struct weft_stats_view *v, struct weft_buf *o)
{
	const struct weft_stats_tls *t = &v->tls;
	char name[128];

	for (unsigned k = 0; k < n_stats(t); k++) {
		size_t n = (size_t)snprintf(name, sizeof(name), "weft_tls_");
		for (const char *s = t->stat_name[k]; *s != '\0' && n + 8 < sizeof(name); s++) {
			char c = *s;
			bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
			name[n++] = ok ? c : '_';
		}
		snprintf(name + n, sizeof(name) - n, "_total");
		family(o, name, "counter", t->stat_help[k] != NULL ? t->stat_help[k] : "");
		for (unsigned w = 0; w < workers_n(v); w++)
			if (on(v, w))
				weft_buf_printf(o, "%s{worker=\"%u\"} %" PRIu64 "\n", name, w, t->stat[w][k]);
	}
	family(o, "weft_tls_errors_total", "counter",
	       "TLS handshakes and connections that failed, by worker and reason (tls_peer_cert_missing, ...).");
	for (unsigned w = 0; w < workers_n(v); w++) {
		if (!on(v, w))
			continue;
		for (unsigned k = 1; k < n_reasons(t); k++) {
			weft_buf_printf(o, "weft_tls_errors_total{worker=\"%u\",reason=\"", w);
			weft_stats_prom_label(o, t->reason_name[k]);
			weft_buf_printf(o, "\"} %" PRIu64 "\n", t->error[w][k]);
		}
	}
}
