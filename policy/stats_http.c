/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Stats of the HTTP proxy: the "http" JSON object and the weft_http_*
 * Prometheus families (policy/stats.h). Every reason is rendered for every
 * worker, zeros included, as for drops: a series that appears only after
 * its first event breaks rate() over the window it appears in.
 */
#include <inttypes.h>
#include <stddef.h>
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
	return v->workers[w] != NULL && v->http.present[w];
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

static void json_map(struct weft_buf *o, const struct weft_stats_view *v, int w, const char *indent,
		     const char *key, unsigned first, unsigned n, const char *const *names,
		     const uint64_t (*vals)[WEFT_STATS_HTTP_MAX_REASONS])
{
	weft_buf_printf(o, ",\n%s  \"%s\": {", indent, key);
	for (unsigned k = first; k < n; k++) {
		weft_buf_printf(o, "%s\n%s    ", k > first ? "," : "", indent);
		weft_buf_json_str(o, names[k]);
		weft_buf_printf(o, ": %" PRIu64, SUM(v, w, vals[i][k]));
	}
	weft_buf_printf(o, "\n%s  }", indent);
}

void weft_stats_http_json(const struct weft_stats_view *v, struct weft_buf *o, int w, const char *indent)
{
	const struct weft_stats_http *h = &v->http;

	weft_buf_printf(o,
			"{\n%s  \"downstream_active\": %" PRIu64 ",\n%s  \"streams_active\": %" PRIu64
			",\n%s  \"upstream_active\": %" PRIu64 ",\n%s  \"upstream_idle\": %" PRIu64,
			indent, SUM(v, w, h->downstream_active[i]), indent, SUM(v, w, h->streams_active[i]), indent,
			SUM(v, w, h->upstream_active[i]), indent, SUM(v, w, h->upstream_idle[i]));
	for (unsigned k = 0; k < cap(h->n_stats, WEFT_STATS_HTTP_MAX_STATS); k++) {
		weft_buf_printf(o, ",\n%s  ", indent);
		weft_buf_json_str(o, h->stat_name[k]);
		weft_buf_printf(o, ": %" PRIu64, SUM(v, w, h->stat[i][k]));
	}
	unsigned nr = cap(h->n_reasons, WEFT_STATS_HTTP_MAX_REASONS);
	unsigned ne = cap(h->n_errors, WEFT_STATS_HTTP_MAX_REASONS);
	if (h->reason_name != NULL)
		json_map(o, v, w, indent, "local_reasons", 0, nr, h->reason_name,
			 (const uint64_t(*)[WEFT_STATS_HTTP_MAX_REASONS])h->reason);
	if (h->error_name != NULL) {
		json_map(o, v, w, indent, "request_errors", 1, ne, h->error_name,
			 (const uint64_t(*)[WEFT_STATS_HTTP_MAX_REASONS])h->request_error);
		json_map(o, v, w, indent, "response_errors", 1, ne, h->error_name,
			 (const uint64_t(*)[WEFT_STATS_HTTP_MAX_REASONS])h->response_error);
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

static void prom_reasons(struct weft_buf *o, const struct weft_stats_view *v, const char *fam, const char *help,
			 unsigned first, unsigned n, const char *const *names,
			 const uint64_t (*vals)[WEFT_STATS_HTTP_MAX_REASONS])
{
	family(o, fam, "counter", help);
	for (unsigned w = 0; w < workers_n(v); w++) {
		if (!on(v, w))
			continue;
		for (unsigned k = first; k < n; k++) {
			weft_buf_printf(o, "%s{worker=\"%u\",reason=\"", fam, w);
			weft_stats_prom_label(o, names[k]);
			weft_buf_printf(o, "\"} %" PRIu64 "\n", vals[w][k]);
		}
	}
}

void weft_stats_http_prometheus(const struct weft_stats_view *v, struct weft_buf *o)
{
	const struct weft_stats_http *h = &v->http;
	char name[128];
	static const struct {
		const char *name, *help;
		size_t off;
	} gauges[] = {
		{"weft_http_downstream_connections_active", "Client connections of http listeners open now.",
		 offsetof(struct weft_stats_http, downstream_active)},
		{"weft_http_streams_active", "Requests in flight to an upstream.",
		 offsetof(struct weft_stats_http, streams_active)},
		{"weft_http_upstream_connections_active", "Upstream connections open now, busy or idle.",
		 offsetof(struct weft_stats_http, upstream_active)},
		{"weft_http_upstream_connections_idle", "Upstream connections idle in the pools.",
		 offsetof(struct weft_stats_http, upstream_idle)},
	};

	for (unsigned k = 0; k < cap(h->n_stats, WEFT_STATS_HTTP_MAX_STATS); k++) {
		size_t n = (size_t)snprintf(name, sizeof(name), "weft_http_");
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
	for (size_t g = 0; g < sizeof(gauges) / sizeof(gauges[0]); g++) {
		const uint64_t *vals = (const uint64_t *)((const char *)h + gauges[g].off);
		family(o, gauges[g].name, "gauge", gauges[g].help);
		for (unsigned w = 0; w < workers_n(v); w++)
			if (on(v, w))
				weft_buf_printf(o, "%s{worker=\"%u\"} %" PRIu64 "\n", gauges[g].name, w, vals[w]);
	}
	if (h->reason_name != NULL)
		prom_reasons(o, v, "weft_http_local_errors_total",
			     "Requests weft answered itself with an error, by worker and reason (x-weft-reason).", 0,
			     cap(h->n_reasons, WEFT_STATS_HTTP_MAX_REASONS), h->reason_name,
			     (const uint64_t(*)[WEFT_STATS_HTTP_MAX_REASONS])h->reason);
	if (h->error_name != NULL) {
		unsigned ne = cap(h->n_errors, WEFT_STATS_HTTP_MAX_REASONS);
		prom_reasons(o, v, "weft_http_request_errors_total",
			     "Requests refused by the HTTP/1.1 parser (answered with the reason's status), by worker and reason.",
			     1, ne, h->error_name, (const uint64_t(*)[WEFT_STATS_HTTP_MAX_REASONS])h->request_error);
		prom_reasons(o, v, "weft_http_response_errors_total",
			     "Upstream responses refused by the HTTP/1.1 parser (answered 502), by worker and reason.", 1, ne,
			     h->error_name, (const uint64_t(*)[WEFT_STATS_HTTP_MAX_REASONS])h->response_error);
	}
}
