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
#include "policy/stats_emit.h"

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

static const char *active_label(int b)
{
	return active_names[b];
}

static const char *breaker_label(int b)
{
	return weft_breaker_name((enum weft_breaker)b);
}

static const char *eject_label(int r)
{
	return weft_eject_reason_name((enum weft_eject_reason)r);
}

static const char *outcome_label(int k)
{
	return outcome_names[k];
}

/* n series of a cluster (e < 0) or of its endpoint e, by a second label: ...,label="label_of(i)"} vals[i]. */
static void series_by(struct weft_buf *o, const char *name, const struct weft_cluster_rt *rt, int e, const char *label,
		      int n, const char *(*label_of)(int), const uint64_t *vals)
{
	for (int i = 0; i < n; i++) {
		if (e < 0)
			cl_label(o, name, rt);
		else
			ep_label(o, name, rt, (unsigned)e);
		weft_buf_printf(o, ",%s=\"%s\"} %" PRIu64 "\n", label, label_of(i), vals[i]);
	}
}

/* The per-cluster families, in the order they are rendered. */
enum cl_fam { CL_ACTIVE, CL_OVERFLOW, CL_BUDGET, CL_RETRIES, CL_EJ_ACTIVE, CL_EJ_TOTAL, CL_USABLE, CL_PANIC, CL_EJ_REASON };

static const struct {
	const char *name, *type, *help;
} cl_fams[] = {
	[CL_ACTIVE] = {"weft_cluster_active", "gauge",
		       "What the circuit breakers count now, all workers together, by cluster and resource."},
	[CL_OVERFLOW] = {"weft_cluster_breaker_overflow_total", "counter",
			 "Admissions refused by a circuit breaker (503 with x-weft-overflow), by cluster and threshold."},
	[CL_BUDGET] = {"weft_cluster_retry_budget_overflow_total", "counter",
		       "Retries not made because the retry budget was spent."},
	[CL_RETRIES] = {"weft_cluster_retries_admitted_total", "counter",
			"Retries the retry budget and max_retries admitted."},
	[CL_EJ_ACTIVE] = {"weft_outlier_ejections_active", "gauge", "Endpoints of the cluster ejected now."},
	[CL_EJ_TOTAL] = {"weft_outlier_ejections_total", "counter", "Ejections of the cluster's endpoints, all reasons."},
	[CL_USABLE] = {"weft_cluster_endpoints_usable", "gauge", "Endpoints neither ejected nor failing health checks."},
	[CL_PANIC] = {"weft_cluster_panic", "gauge", "1 while fewer endpoints than panic_threshold_percent are usable."},
	[CL_EJ_REASON] = {"weft_outlier_ejections_reason_total", "counter", "Ejections by cluster and detector."},
};

/* The series of family f for one cluster. */
static void cl_series(struct weft_buf *o, enum cl_fam f, const struct weft_cluster_rt *rt,
		      const struct weft_rt_cluster_stats *cs)
{
	const char *name = cl_fams[f].name;
	uint64_t v;

	switch (f) {
	case CL_ACTIVE: series_by(o, name, rt, -1, "resource", WEFT_BRK_N, active_label, cs->active); return;
	case CL_OVERFLOW: series_by(o, name, rt, -1, "threshold", WEFT_BRK_N, breaker_label, cs->overflow); return;
	case CL_EJ_REASON:
		series_by(o, name, rt, -1, "reason", WEFT_EJECT_N, eject_label, cs->ejections_total);
		return;
	case CL_BUDGET: v = cs->budget_overflow; break;
	case CL_RETRIES: v = cs->retries; break;
	case CL_EJ_ACTIVE: v = cs->ejected_now; break;
	case CL_EJ_TOTAL: v = ejections_sum(cs); break;
	case CL_USABLE: v = cs->n_usable; break;
	default: v = cs->panic; break;
	}
	cl_label(o, name, rt);
	weft_buf_printf(o, "} %" PRIu64 "\n", v);
}

/* The per-endpoint families, in the order they are rendered. */
enum ep_fam { EP_REQUESTS, EP_OUTCOMES, EP_SUCCESS_RATE, EP_EJECTED, EP_HEALTHY, EP_EJECTIONS };

static const struct {
	const char *name, *type, *help;
} ep_fams[] = {
	[EP_REQUESTS] = {"weft_endpoint_requests_total", "counter", "Attempts on the endpoint that ended with an outcome."},
	[EP_OUTCOMES] = {"weft_endpoint_outcomes_total", "counter",
			 "Attempts on the endpoint by outcome: success (below 500), 5xx, gateway_error (502-504), "
			 "local_failure (connect failure, reset, timeout)."},
	[EP_SUCCESS_RATE] = {"weft_endpoint_success_rate", "gauge",
			     "Share of successful attempts over the last outlier_detection interval (NaN: too few requests)."},
	[EP_EJECTED] = {"weft_endpoint_ejected", "gauge", "1 while the outlier detector has the endpoint ejected."},
	[EP_HEALTHY] = {"weft_endpoint_healthy", "gauge", "0 while the endpoint fails its active health checks."},
	[EP_EJECTIONS] = {"weft_endpoint_ejections_total", "counter", "Times the endpoint was ejected."},
};

/* The series of family f for endpoint e of a cluster. */
static void ep_series(struct weft_buf *o, enum ep_fam f, const struct weft_cluster_rt *rt, unsigned e,
		      const struct weft_rt_ep_stats *es)
{
	const char *name = ep_fams[f].name;
	uint64_t v;

	switch (f) {
	case EP_OUTCOMES: series_by(o, name, rt, (int)e, "outcome", WEFT_OUT_N, outcome_label, es->n); return;
	case EP_SUCCESS_RATE:
		ep_label(o, name, rt, e);
		if (es->success_rate_ppm >= 0)
			weft_buf_printf(o, "} %.6f\n", es->success_rate_ppm / 1e6);
		else
			weft_buf_puts(o, "} NaN\n");
		return;
	case EP_REQUESTS: v = es->requests; break;
	case EP_EJECTED: v = es->ejected; break;
	case EP_HEALTHY: v = !es->hc_down; break;
	default: v = es->ejections_total; break;
	}
	ep_label(o, name, rt, e);
	weft_buf_printf(o, "} %" PRIu64 "\n", v);
}

void weft_stats_res_prometheus(const struct weft_http_snap *hs, struct weft_buf *o)
{
	unsigned n = hs != NULL ? hs->n_clusters : 0;
	struct weft_rt_cluster_stats cs;
	struct weft_rt_ep_stats es;

	if (n == 0)
		return;
	for (size_t f = 0; f < sizeof(cl_fams) / sizeof(cl_fams[0]); f++) {
		weft_stats_prom_family(o, cl_fams[f].name, cl_fams[f].type, cl_fams[f].help);
		for (unsigned c = 0; c < n; c++) {
			const struct weft_cluster_rt *rt = rt_of(hs, c);
			if (rt == NULL)
				continue;
			weft_cluster_rt_stats(rt, &cs);
			cl_series(o, (enum cl_fam)f, rt, &cs);
		}
	}
	for (size_t f = 0; f < sizeof(ep_fams) / sizeof(ep_fams[0]); f++) {
		weft_stats_prom_family(o, ep_fams[f].name, ep_fams[f].type, ep_fams[f].help);
		for (unsigned c = 0; c < n; c++) {
			const struct weft_cluster_rt *rt = rt_of(hs, c);
			for (unsigned e = 0; rt != NULL && e < rt->n_ep; e++) {
				weft_cluster_rt_ep_stats(rt, e, &es);
				ep_series(o, (enum ep_fam)f, rt, e, &es);
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
