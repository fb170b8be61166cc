/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Per-worker counter families for the stats renderers: see policy/stats_emit.h. */
#include "policy/stats_emit.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

unsigned weft_stats_workers_n(const struct weft_stats_view *v)
{
	return v->n_workers < WEFT_MAX_WORKERS ? v->n_workers : WEFT_MAX_WORKERS;
}

bool weft_stats_on(struct weft_stats_src s, unsigned w)
{
	return s.v->workers[w] != NULL && s.present[w];
}

uint64_t weft_stats_sum(struct weft_stats_src s, int w, struct weft_stats_cols vals, unsigned k)
{
	uint64_t sum = 0;

	for (unsigned i = 0; i < weft_stats_workers_n(s.v); i++)
		if ((w < 0 || (unsigned)w == i) && weft_stats_on(s, i))
			sum += vals.v[i * vals.stride + k];
	return sum;
}

void weft_stats_json_members(struct weft_buf *o, struct weft_stats_src s, int w, const char *indent,
			     const char *pad, bool comma, unsigned first, unsigned n, const char *const *names,
			     struct weft_stats_cols vals)
{
	for (unsigned k = first; k < n; k++) {
		weft_buf_printf(o, "%s\n%s%s", comma || k > first ? "," : "", indent, pad);
		weft_buf_json_str(o, names[k]);
		weft_buf_printf(o, ": %" PRIu64, weft_stats_sum(s, w, vals, k));
	}
}

void weft_stats_json_map(struct weft_buf *o, struct weft_stats_src s, int w, const char *indent, bool comma,
			 const char *key, unsigned first, unsigned n, const char *const *names,
			 struct weft_stats_cols vals)
{
	weft_buf_printf(o, "%s\n%s  ", comma ? "," : "", indent);
	weft_buf_json_str(o, key);
	weft_buf_puts(o, ": {");
	weft_stats_json_members(o, s, w, indent, "    ", false, first, n, names, vals);
	weft_buf_printf(o, "\n%s  }", indent);
}

void weft_stats_prom_family(struct weft_buf *o, const char *name, const char *type, const char *help)
{
	weft_buf_printf(o, "# HELP %s ", name);
	/* HELP text escapes only backslash and newline (quotes stay as they are). */
	for (const char *p = help; *p != '\0'; p++) {
		if (*p == '\\')
			weft_buf_puts(o, "\\\\");
		else if (*p == '\n')
			weft_buf_puts(o, "\\n");
		else
			weft_buf_putc(o, *p);
	}
	weft_buf_printf(o, "\n# TYPE %s %s\n", name, type);
}

void weft_stats_prom_name(char *out, size_t len, const char *prefix, const char *stat, const char *suffix)
{
	size_t n = (size_t)snprintf(out, len, "%s", prefix), room = strlen(suffix) + 1;

	if (n >= len)
		return;
	/* Only what Prometheus allows in a name ([a-zA-Z0-9_:]); the suffix always fits. */
	for (const char *p = stat; *p != '\0' && n + room < len; p++) {
		char c = *p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
		out[n++] = ok ? c : '_';
	}
	snprintf(out + n, len - n, "%s", suffix);
}

void weft_stats_prom_workers(struct weft_buf *o, struct weft_stats_src s, const char *name, const char *type,
			     const char *help, struct weft_stats_cols vals, unsigned k)
{
	weft_stats_prom_family(o, name, type, help);
	for (unsigned w = 0; w < weft_stats_workers_n(s.v); w++)
		if (weft_stats_on(s, w))
			weft_buf_printf(o, "%s{worker=\"%u\"} %" PRIu64 "\n", name, w, vals.v[w * vals.stride + k]);
}

void weft_stats_prom_stat_families(struct weft_buf *o, struct weft_stats_src s, const char *prefix, unsigned n,
				   const char *const *names, const char *const *helps, struct weft_stats_cols vals)
{
	char name[128];

	for (unsigned k = 0; k < n; k++) {
		weft_stats_prom_name(name, sizeof(name), prefix, names[k], "_total");
		weft_stats_prom_workers(o, s, name, "counter", helps != NULL && helps[k] != NULL ? helps[k] : "", vals,
					k);
	}
}

void weft_stats_prom_labelled(struct weft_buf *o, struct weft_stats_src s, const char *name, const char *type,
			      const char *help, const char *label, unsigned first, unsigned n,
			      const char *const *names, struct weft_stats_cols vals)
{
	weft_stats_prom_family(o, name, type, help);
	for (unsigned w = 0; w < weft_stats_workers_n(s.v); w++) {
		if (!weft_stats_on(s, w))
			continue;
		for (unsigned k = first; k < n; k++) {
			weft_buf_printf(o, "%s{worker=\"%u\",%s=\"", name, w, label);
			weft_stats_prom_label(o, names[k]);
			weft_buf_printf(o, "\"} %" PRIu64 "\n", vals.v[w * vals.stride + k]);
		}
	}
}
