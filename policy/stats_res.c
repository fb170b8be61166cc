/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Stats of the resilience state of every cluster (policy/resilience.h):
 * breaker and retry-budget overflows, ejections, the usable view, and per
 * endpoint outcomes, success rate, ejection and health. Rendered for /stats
 * (a "clusters" array), /stats/prometheus and the admin API's /clusters
 * (Envoy-like "cluster::host::stat::value" lines, or JSON).
 *
 * Management thread only: it reads the workers' slots with relaxed loads
 * (weft_cluster_rt_stats()) and the management-owned fields directly.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "policy/httpcfg.h"
#include "policy/resilience.h"
#include "policy/stats.h"

static const char *const outcome_names[WEFT_OUT_N] = {
	[WEFT_OUT_SUCCESS] = "success",
	[WEFT_OUT_5XX] = "5xx",
	[WEFT_OUT_GATEWAY] = "gateway_error",
	[WEFT_OUT_LOCAL] = "local_failure",
};

static const char *const active_names[WEFT_BRK_N] = {
	[WEFT_BRK_CONNECTIONS] = "connections",
	[WEFT_BRK_PENDING] = "pending_requests",
	[WEFT_BRK_REQUESTS] = "requests",
	[WEFT_BRK_RETRIES] = "retries",
};

/* "198.18.1.2:80" or "[2001:db8::1]:80". */
static const char *hostport(const struct weft_rt_ep *e, char *buf, size_t len)
{
	char a[64];

	weft_ip_fmt(&e->addr, a, sizeof(a));
	snprintf(buf, len, e->addr.af == 6 ? "[%s]:%u" : "%s:%u", a, e->port);
	return buf;
}

static uint64_t ejections_sum(const struct weft_rt_cluster_stats *cs)
{
	uint64_t s = 0;

	for (int r = 0; r < WEFT_EJECT_N; r++)
		s += cs->ejections_total[r];
	return s;
}

static const struct weft_cluster_rt *rt_of(const struct weft_http_snap *hs, unsigned c)
{
	return c < hs->n_clusters ? hs->clusters[c].rt : NULL;
}

/* ---- JSON ------------------------------------------------------------------------------------- */

void weft_stats_res_json(const struct weft_http_snap *hs, struct weft_buf *o, const char *indent)
{
	bool first = true;

	weft_buf_putc(o, '[');
	for (unsigned c = 0; hs != NULL && c < hs->n_clusters; c++) {
		const struct weft_cluster_rt *rt = rt_of(hs, c);
		struct weft_rt_cluster_stats cs;
		char hp[80];

		if (rt == NULL)
			continue;
		weft_cluster_rt_stats(rt, &cs);
		weft_buf_printf(o, "%s\n%s  {\n%s    \"name\": ", first ? "" : ",", indent, indent);
		weft_buf_json_str(o, rt->name);
		weft_buf_printf(o, ",\n%s    \"active\": {", indent);
		for (int b = 0; b < WEFT_BRK_N; b++)
			weft_buf_printf(o, "%s\"%s\": %" PRIu64, b ? ", " : "", active_names[b], cs.active[b]);
		weft_buf_printf(o, "},\n%s    \"breaker_overflow\": {", indent);
		for (int b = 0; b < WEFT_BRK_N; b++)
			weft_buf_printf(o, "%s\"%s\": %" PRIu64, b ? ", " : "", weft_breaker_name((enum weft_breaker)b),
					cs.overflow[b]);
		weft_buf_printf(o,
				"},\n%s    \"retry_budget_overflow\": %" PRIu64 ",\n%s    \"retries_admitted\": %" PRIu64
				",\n%s    \"ejections_active\": %u,\n%s    \"ejections_total\": %" PRIu64
				",\n%s    \"ejections\": {",
				indent, cs.budget_overflow, indent, cs.retries, indent, cs.ejected_now, indent,
				ejections_sum(&cs), indent);
		for (int r = 0; r < WEFT_EJECT_N; r++)
			weft_buf_printf(o, "%s\"%s\": %" PRIu64, r ? ", " : "",
					weft_eject_reason_name((enum weft_eject_reason)r), cs.ejections_total[r]);
		weft_buf_printf(o, "},\n%s    \"endpoints_usable\": %u,\n%s    \"panic\": %s,\n%s    \"endpoints\": [",
				indent, cs.n_usable, indent, cs.panic ? "true" : "false", indent);
		for (unsigned e = 0; e < rt->n_ep; e++) {
			struct weft_rt_ep_stats es;
			weft_cluster_rt_ep_stats(rt, e, &es);
			weft_buf_printf(o, "%s\n%s      {\"address\": \"%s\", \"requests\": %" PRIu64, e ? "," : "", indent,
					hostport(&rt->ep[e], hp, sizeof(hp)), es.requests);
			for (int k = 0; k < WEFT_OUT_N; k++)
				weft_buf_printf(o, ", \"%s\": %" PRIu64, outcome_names[k], es.n[k]);
			if (es.success_rate_ppm >= 0)
				weft_buf_printf(o, ", \"success_rate\": %.4f", es.success_rate_ppm / 1e6);
			else
				weft_buf_puts(o, ", \"success_rate\": null");
			weft_buf_printf(o,
					", \"ejected\": %s, \"healthy\": %s, \"times_ejected\": %u, \"ejections_total\": %" PRIu64
					"}",
					es.ejected ? "true" : "false", es.hc_down ? "false" : "true", es.times_ejected,
					es.ejections_total);
		}
		if (rt->n_ep > 0)
			weft_buf_printf(o, "\n%s    ", indent);
		weft_buf_printf(o, "]\n%s  }", indent);
		first = false;
	}
	weft_buf_printf(o, first ? "]" : "\n%s]", indent);
}

/* ---- Prometheus ------------------------------------------------------------------------------- */

static void family(struct weft_buf *o, const char *name, const char *type, const char *help)
{
	weft_buf_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void cl_label(struct weft_buf *o, const char *name, const struct weft_cluster_rt *rt)
{
	weft_buf_printf(o, "%s{cluster=\"", name);
	weft_stats_prom_label(o, rt->name);
	weft_buf_putc(o, '"');
}

static void ep_label(struct weft_buf *o, const char *name, const struct weft_cluster_rt *rt, unsigned e)
{
	char hp[80];

	cl_label(o, name, rt);
	weft_buf_printf(o, ",endpoint=\"%s\"", hostport(&rt->ep[e], hp, sizeof(hp)));
}

void weft_stats_res_prometheus(const struct weft_http_snap *hs, struct weft_buf *o)
{
	unsigned n = hs != NULL ? hs->n_clusters : 0;
	struct weft_rt_cluster_stats cs;

	if (n == 0)
		return;
	family(o, "weft_cluster_active", "gauge",
	       "What the circuit breakers count now, all workers together, by cluster and resource.");
	for (unsigned c = 0; c < n; c++) {
		const struct weft_cluster_rt *rt = rt_of(hs, c);
		if (rt == NULL)
			continue;
		weft_cluster_rt_stats(rt, &cs);
		for (int b = 0; b < WEFT_BRK_N; b++) {
			cl_label(o, "weft_cluster_active", rt);
			weft_buf_printf(o, ",resource=\"%s\"} %" PRIu64 "\n", active_names[b], cs.active[b]);
		}
	}
	family(o, "weft_cluster_breaker_overflow_total", "counter",
	       "Admissions refused by a circuit breaker (503 with x-weft-overflow), by cluster and threshold.");
	for (unsigned c = 0; c < n; c++) {
		const struct weft_cluster_rt *rt = rt_of(hs, c);
		if (rt == NULL)
			continue;
		weft_cluster_rt_stats(rt, &cs);
		for (int b = 0; b < WEFT_BRK_N; b++) {
			cl_label(o, "weft_cluster_breaker_overflow_total", rt);
			weft_buf_printf(o, ",threshold=\"%s\"} %" PRIu64 "\n", weft_breaker_name((enum weft_breaker)b),
					cs.overflow[b]);
		}
	}
	struct {
		const char *name, *type, *help;
		int what;
	} per_cluster[] = {
		{"weft_cluster_retry_budget_overflow_total", "counter", "Retries not made because the retry budget was spent.", 0},
		{"weft_cluster_retries_admitted_total", "counter", "Retries the retry budget and max_retries admitted.", 1},
		{"weft_outlier_ejections_active", "gauge", "Endpoints of the cluster ejected now.", 2},
		{"weft_outlier_ejections_total", "counter", "Ejections of the cluster's endpoints, all reasons.", 3},
		{"weft_cluster_endpoints_usable", "gauge", "Endpoints neither ejected nor failing health checks.", 4},
		{"weft_cluster_panic", "gauge", "1 while fewer endpoints than panic_threshold_percent are usable.", 5},
	};
	for (size_t k = 0; k < sizeof(per_cluster) / sizeof(per_cluster[0]); k++) {
		family(o, per_cluster[k].name, per_cluster[k].type, per_cluster[k].help);
		for (unsigned c = 0; c < n; c++) {
			const struct weft_cluster_rt *rt = rt_of(hs, c);
			if (rt == NULL)
				continue;
			weft_cluster_rt_stats(rt, &cs);
			uint64_t v = per_cluster[k].what == 0   ? cs.budget_overflow
				     : per_cluster[k].what == 1 ? cs.retries
				     : per_cluster[k].what == 2 ? cs.ejected_now
				     : per_cluster[k].what == 3 ? ejections_sum(&cs)
				     : per_cluster[k].what == 4 ? cs.n_usable
								: (uint64_t)cs.panic;
			cl_label(o, per_cluster[k].name, rt);
			weft_buf_printf(o, "} %" PRIu64 "\n", v);
		}
	}
	family(o, "weft_outlier_ejections_reason_total", "counter", "Ejections by cluster and detector.");
	for (unsigned c = 0; c < n; c++) {
		const struct weft_cluster_rt *rt = rt_of(hs, c);
		if (rt == NULL)
			continue;
		weft_cluster_rt_stats(rt, &cs);
		for (int r = 0; r < WEFT_EJECT_N; r++) {
			cl_label(o, "weft_outlier_ejections_reason_total", rt);
			weft_buf_printf(o, ",reason=\"%s\"} %" PRIu64 "\n", weft_eject_reason_name((enum weft_eject_reason)r),
					cs.ejections_total[r]);
		}
	}

	/* Per endpoint. */
	family(o, "weft_endpoint_requests_total", "counter", "Attempts on the endpoint that ended with an outcome.");
	for (unsigned c = 0; c < n; c++) {
		const struct weft_cluster_rt *rt = rt_of(hs, c);
		for (unsigned e = 0; rt != NULL && e < rt->n_ep; e++) {
			struct weft_rt_ep_stats es;
			weft_cluster_rt_ep_stats(rt, e, &es);
			ep_label(o, "weft_endpoint_requests_total", rt, e);
			weft_buf_printf(o, "} %" PRIu64 "\n", es.requests);
		}
	}
	family(o, "weft_endpoint_outcomes_total", "counter",
	       "Attempts on the endpoint by outcome: success (below 500), 5xx, gateway_error (502-504), "
	       "local_failure (connect failure, reset, timeout).");
	for (unsigned c = 0; c < n; c++) {
		const struct weft_cluster_rt *rt = rt_of(hs, c);
		for (unsigned e = 0; rt != NULL && e < rt->n_ep; e++) {
			struct weft_rt_ep_stats es;
			weft_cluster_rt_ep_stats(rt, e, &es);
			for (int k = 0; k < WEFT_OUT_N; k++) {
				ep_label(o, "weft_endpoint_outcomes_total", rt, e);
				weft_buf_printf(o, ",outcome=\"%s\"} %" PRIu64 "\n", outcome_names[k], es.n[k]);
			}
		}
	}
	family(o, "weft_endpoint_success_rate", "gauge",
	       "Share of successful attempts over the last outlier_detection interval (NaN: too few requests).");
	for (unsigned c = 0; c < n; c++) {
		const struct weft_cluster_rt *rt = rt_of(hs, c);
		for (unsigned e = 0; rt != NULL && e < rt->n_ep; e++) {
			struct weft_rt_ep_stats es;
			weft_cluster_rt_ep_stats(rt, e, &es);
			ep_label(o, "weft_endpoint_success_rate", rt, e);
			if (es.success_rate_ppm >= 0)
				weft_buf_printf(o, "} %.6f\n", es.success_rate_ppm / 1e6);
			else
				weft_buf_puts(o, "} NaN\n");
		}
	}
	struct {
		const char *name, *type, *help;
		int what;
	} per_ep[] = {
		{"weft_endpoint_ejected", "gauge", "1 while the outlier detector has the endpoint ejected.", 0},
		{"weft_endpoint_healthy", "gauge", "0 while the endpoint fails its active health checks.", 1},
		{"weft_endpoint_ejections_total", "counter", "Times the endpoint was ejected.", 2},
	};
	for (size_t k = 0; k < sizeof(per_ep) / sizeof(per_ep[0]); k++) {
		family(o, per_ep[k].name, per_ep[k].type, per_ep[k].help);
		for (unsigned c = 0; c < n; c++) {
			const struct weft_cluster_rt *rt = rt_of(hs, c);
			for (unsigned e = 0; rt != NULL && e < rt->n_ep; e++) {
				struct weft_rt_ep_stats es;
				weft_cluster_rt_ep_stats(rt, e, &es);
				uint64_t v = per_ep[k].what == 0 ? es.ejected : per_ep[k].what == 1 ? !es.hc_down : es.ejections_total;
				ep_label(o, per_ep[k].name, rt, e);
				weft_buf_printf(o, "} %" PRIu64 "\n", v);
			}
		}
	}
}

/* ---- /clusters -------------------------------------------------------------------------------- */

void weft_stats_res_clusters_text(const struct weft_http_snap *hs, struct weft_buf *o)
{
	for (unsigned c = 0; hs != NULL && c < hs->n_clusters; c++) {
		const struct weft_cluster_rt *rt = rt_of(hs, c);
		struct weft_rt_cluster_stats cs;
		const char *n;
		char hp[80];

		if (rt == NULL)
			continue;
		n = rt->name;
		weft_cluster_rt_stats(rt, &cs);
		weft_buf_printf(o, "%s::default_priority::max_connections::%u\n", n, rt->brk.max_connections);
		weft_buf_printf(o, "%s::default_priority::max_pending_requests::%u\n", n, rt->brk.max_pending_requests);
		weft_buf_printf(o, "%s::default_priority::max_requests::%u\n", n, rt->brk.max_requests);
		weft_buf_printf(o, "%s::default_priority::max_retries::%u\n", n, rt->brk.max_retries);
		for (int b = 0; b < WEFT_BRK_N; b++)
			weft_buf_printf(o, "%s::active::%s::%" PRIu64 "\n", n, active_names[b], cs.active[b]);
		for (int b = 0; b < WEFT_BRK_N; b++)
			weft_buf_printf(o, "%s::overflow::%s::%" PRIu64 "\n", n, weft_breaker_name((enum weft_breaker)b),
					cs.overflow[b]);
		weft_buf_printf(o, "%s::overflow::retry_budget::%" PRIu64 "\n", n, cs.budget_overflow);
		weft_buf_printf(o, "%s::retries_admitted::%" PRIu64 "\n", n, cs.retries);
		weft_buf_printf(o, "%s::outlier::ejections_active::%u\n", n, cs.ejected_now);
		weft_buf_printf(o, "%s::outlier::ejections_total::%" PRIu64 "\n", n, ejections_sum(&cs));
		for (int r = 0; r < WEFT_EJECT_N; r++)
			weft_buf_printf(o, "%s::outlier::ejections_%s::%" PRIu64 "\n", n,
					weft_eject_reason_name((enum weft_eject_reason)r), cs.ejections_total[r]);
		weft_buf_printf(o, "%s::endpoints_usable::%u\n", n, cs.n_usable);
		weft_buf_printf(o, "%s::panic::%s\n", n, cs.panic ? "true" : "false");
		for (unsigned e = 0; e < rt->n_ep; e++) {
			struct weft_rt_ep_stats es;
			const char *h = hostport(&rt->ep[e], hp, sizeof(hp));
			weft_cluster_rt_ep_stats(rt, e, &es);
			/* Envoy's health flags: "healthy", else every reason joined. */
			if (!es.ejected && !es.hc_down)
				weft_buf_printf(o, "%s::%s::health_flags::healthy\n", n, h);
			else
				weft_buf_printf(o, "%s::%s::health_flags::%s%s\n", n, h, es.hc_down ? "/failed_active_hc" : "",
						es.ejected ? "/failed_outlier_check" : "");
			weft_buf_printf(o, "%s::%s::rq_total::%" PRIu64 "\n", n, h, es.requests);
			weft_buf_printf(o, "%s::%s::rq_success::%" PRIu64 "\n", n, h, es.n[WEFT_OUT_SUCCESS]);
			weft_buf_printf(o, "%s::%s::rq_error::%" PRIu64 "\n", n, h, es.requests - es.n[WEFT_OUT_SUCCESS]);
			weft_buf_printf(o, "%s::%s::rq_5xx::%" PRIu64 "\n", n, h, es.n[WEFT_OUT_5XX] + es.n[WEFT_OUT_GATEWAY]);
			weft_buf_printf(o, "%s::%s::rq_gateway_error::%" PRIu64 "\n", n, h, es.n[WEFT_OUT_GATEWAY]);
			weft_buf_printf(o, "%s::%s::rq_local_failure::%" PRIu64 "\n", n, h, es.n[WEFT_OUT_LOCAL]);
			if (es.success_rate_ppm >= 0)
				weft_buf_printf(o, "%s::%s::success_rate::%.2f\n", n, h, es.success_rate_ppm / 1e4);
			else
				weft_buf_printf(o, "%s::%s::success_rate::-1\n", n, h);
			weft_buf_printf(o, "%s::%s::times_ejected::%u\n", n, h, es.times_ejected);
			weft_buf_printf(o, "%s::%s::ejections_total::%" PRIu64 "\n", n, h, es.ejections_total);
		}
	}
}
