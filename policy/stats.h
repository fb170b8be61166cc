/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Statistics: a plain view of everything worth reporting, and the two
 * renderers the admin API serves (JSON for /stats, the Prometheus text format
 * 0.0.4 for /stats/prometheus).
 *
 * The management thread fills a struct weft_stats_view: pointers to the live
 * per-worker counters (read here with WEFT_CTR_READ, never written), the
 * device counters and link state it got from the port layer, and a few
 * process-wide numbers. No DPDK types appear, so the renderers unit-test
 * with hand-made counters.
 *
 * Worker busy percentages need two readings apart in time, so they come from
 * a sampler the management thread feeds once a second:
 *
 *     weft_stats_sample(&sampler, &view);          // every second
 *     ...
 *     weft_stats_sampler_apply(&sampler, &view);   // before rendering
 *     weft_stats_prometheus(&view, &resp->body);
 */
#ifndef WEFT_POLICY_STATS_H
#define WEFT_POLICY_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/counters.h"
#include "policy/buf.h"

/* Device-level counters and link state of one port, as the NIC reports them. */
struct weft_stats_port {
	char name[32];       /* the port's name from the config; "" renders as "p<index>" */
	char driver[16];     /* af_packet, tap, pci, ... */
	bool link_up;
	uint32_t speed_mbps; /* 0 when unknown */
	uint64_t ipackets;   /* received by the device */
	uint64_t opackets;   /* transmitted by the device */
	uint64_t ibytes;
	uint64_t obytes;
	uint64_t imissed;    /* dropped by the device: rx queue full */
	uint64_t ierrors;    /* received with errors */
	uint64_t oerrors;    /* failed to transmit */
	uint64_t rx_nombuf;  /* dropped by the driver: no mbuf to receive into */
};

#define WEFT_STATS_TCP_MAX_STATS 64    /* counters of one TCP stack */
#define WEFT_STATS_TCP_MAX_STATES 16   /* TCP states */
#define WEFT_STATS_PROXY_MAX_STATS 32  /* tcp_proxy counters */
#define WEFT_STATS_MAX_LISTENERS 64    /* listener stats slots (WEFT_L4_SLOTS) */

/*
 * Each worker's TCP stack, copied by the management thread from the stack's
 * own counters. The names come from the stack (its X-macro lists), so a new
 * counter there shows up here without a change. n_stats == 0 means weftd
 * runs no TCP stack: nothing of it is rendered.
 */
struct weft_stats_tcp {
	unsigned n_stats;              /* <= WEFT_STATS_TCP_MAX_STATS */
	const char *const *stat_name;  /* [n_stats]: "active_opens", ... */
	const char *const *stat_help;  /* [n_stats] */
	unsigned n_states;             /* <= WEFT_STATS_TCP_MAX_STATES */
	const char *const *state_name; /* [n_states]: "syn_sent", "established", ... */
	bool present[WEFT_MAX_WORKERS];
	uint64_t stat[WEFT_MAX_WORKERS][WEFT_STATS_TCP_MAX_STATS];
	uint64_t state[WEFT_MAX_WORKERS][WEFT_STATS_TCP_MAX_STATES]; /* gauge: connections now */
};

/*
 * The tcp_proxy application of each worker: counters named by the proxy,
 * and per listener the sessions open now and opened so far. Listener
 * series are indexed by stats slot (a listener keeps its slot across
 * reloads); a slot with an empty name is unused and not rendered.
 */
struct weft_stats_proxy {
	unsigned n_stats;              /* <= WEFT_STATS_PROXY_MAX_STATS; 0: no tcp_proxy */
	const char *const *stat_name;
	const char *const *stat_help;
	bool present[WEFT_MAX_WORKERS];
	uint64_t stat[WEFT_MAX_WORKERS][WEFT_STATS_PROXY_MAX_STATS];
	unsigned n_slots;              /* <= WEFT_STATS_MAX_LISTENERS */
	char listener[WEFT_STATS_MAX_LISTENERS][32];
	uint64_t active[WEFT_MAX_WORKERS][WEFT_STATS_MAX_LISTENERS]; /* gauge */
	uint64_t total[WEFT_MAX_WORKERS][WEFT_STATS_MAX_LISTENERS];
};

#define WEFT_STATS_HTTP_MAX_STATS 48   /* http_proxy counters */
#define WEFT_STATS_HTTP_MAX_REASONS 64 /* local-answer reasons, parser refusal reasons */

/*
 * The HTTP proxy of each worker (policy/stats_http.c renders it): counters
 * named by the proxy, gauges, local answers by reason, and requests and
 * upstream responses the parser refused, by reason. Names come from the
 * proxy's and the parser's X-macro lists. n_stats == 0: no HTTP proxy.
 */
struct weft_stats_http {
	unsigned n_stats;                /* <= WEFT_STATS_HTTP_MAX_STATS */
	const char *const *stat_name;
	const char *const *stat_help;
	unsigned n_reasons;              /* <= WEFT_STATS_HTTP_MAX_REASONS */
	const char *const *reason_name;
	unsigned n_errors;               /* <= WEFT_STATS_HTTP_MAX_REASONS; entry 0 ("none") is skipped */
	const char *const *error_name;
	bool present[WEFT_MAX_WORKERS];
	uint64_t stat[WEFT_MAX_WORKERS][WEFT_STATS_HTTP_MAX_STATS];
	uint64_t reason[WEFT_MAX_WORKERS][WEFT_STATS_HTTP_MAX_REASONS];
	uint64_t request_error[WEFT_MAX_WORKERS][WEFT_STATS_HTTP_MAX_REASONS];
	uint64_t response_error[WEFT_MAX_WORKERS][WEFT_STATS_HTTP_MAX_REASONS];
	uint64_t downstream_active[WEFT_MAX_WORKERS]; /* gauges */
	uint64_t streams_active[WEFT_MAX_WORKERS];
	uint64_t upstream_active[WEFT_MAX_WORKERS];
	uint64_t upstream_idle[WEFT_MAX_WORKERS];
};

#define WEFT_STATS_HC_MAX_STATS 16   /* health checker counters */
#define WEFT_STATS_HC_MAX_REASONS 16 /* health-check failure reasons */

/*
 * The health checker of each worker (policy/stats_health.c renders it):
 * counters and failure reasons named by dataplane/proxy/health.h, and two
 * gauges. n_stats == 0: no checker.
 */
struct weft_stats_hc {
	unsigned n_stats;                /* <= WEFT_STATS_HC_MAX_STATS */
	const char *const *stat_name;
	const char *const *stat_help;
	unsigned n_reasons;              /* <= WEFT_STATS_HC_MAX_REASONS */
	const char *const *reason_name;
	bool present[WEFT_MAX_WORKERS];
	uint64_t stat[WEFT_MAX_WORKERS][WEFT_STATS_HC_MAX_STATS];
	uint64_t failure[WEFT_MAX_WORKERS][WEFT_STATS_HC_MAX_REASONS];
	uint64_t endpoints[WEFT_MAX_WORKERS]; /* gauge: endpoints the worker checks */
	uint64_t unhealthy[WEFT_MAX_WORKERS]; /* gauge: of those, unhealthy now */
};

#define WEFT_STATS_TLS_MAX_STATS 32   /* TLS engine counters plus the TLS layer's */
#define WEFT_STATS_TLS_MAX_REASONS 32 /* TLS error reasons */

/*
 * TLS of each worker (policy/stats_tls.c renders it): the engine's counters
 * (handshakes, resumed, ...) and the TCP layer's (timeouts, plaintext in
 * permissive, principal_denied), then failures by reason. n_stats == 0: no TLS.
 */
struct weft_stats_tls {
	unsigned n_stats;                /* <= WEFT_STATS_TLS_MAX_STATS */
	const char *stat_name[WEFT_STATS_TLS_MAX_STATS];
	const char *stat_help[WEFT_STATS_TLS_MAX_STATS];
	unsigned n_reasons;              /* <= WEFT_STATS_TLS_MAX_REASONS; entry 0 ("none") is skipped */
	const char *const *reason_name;
	bool present[WEFT_MAX_WORKERS];
	uint64_t stat[WEFT_MAX_WORKERS][WEFT_STATS_TLS_MAX_STATS];
	uint64_t error[WEFT_MAX_WORKERS][WEFT_STATS_TLS_MAX_REASONS];
};

/*
 * Everything the renderers report. Index i of workers[], worker_lcore[] and
 * busy_pct[] is worker i (the "worker" label); index i of ports[] is weft port
 * i, which is also the index into each worker's counters.port[]. Software
 * port counters (what the workers counted) are summed over the workers here;
 * device counters come from ports[].
 */
struct weft_stats_view {
	unsigned n_workers;                                         /* <= WEFT_MAX_WORKERS */
	const struct weft_worker_counters *workers[WEFT_MAX_WORKERS]; /* NULL entries are skipped */
	unsigned worker_lcore[WEFT_MAX_WORKERS];
	double busy_pct[WEFT_MAX_WORKERS]; /* 0..100, see weft_stats_sampler_apply() */

	unsigned n_ports; /* <= WEFT_MAX_PORTS */
	struct weft_stats_port ports[WEFT_MAX_PORTS];

	uint64_t config_version; /* version of the snapshot the workers run */
	uint64_t uptime_s;       /* seconds since weftd started */

	struct weft_stats_tcp tcp;     /* zeroed: no TCP stack */
	struct weft_stats_proxy proxy; /* zeroed: no tcp_proxy */
	struct weft_stats_http http;   /* zeroed: no HTTP proxy */
	struct weft_stats_hc hc;       /* zeroed: no health checker */
	/* The running snapshot's HTTP part: clusters' resilience state (policy/stats_res.c); NULL: none. */
	const struct weft_http_snap *http_snap;
	struct weft_stats_tls tls;     /* zeroed: no TLS */
};

/*
 * Previous busy/idle cycle readings per worker and the busy percentage over
 * the last window. Zero-initialise it or call weft_stats_sampler_init().
 */
struct weft_stats_sampler {
	bool primed[WEFT_MAX_WORKERS];
	uint64_t busy[WEFT_MAX_WORKERS];
	uint64_t idle[WEFT_MAX_WORKERS];
	double busy_pct[WEFT_MAX_WORKERS];
};

void weft_stats_sampler_init(struct weft_stats_sampler *s);

/**
 * Take one reading of every worker's busy and idle cycle counters and set
 * s->busy_pct[i] = 100 * dbusy / (dbusy + didle) over the window since the
 * previous call. The first call measures since the worker started. A window
 * in which the worker completed no iteration reports 0; a counter that went
 * backwards (worker restarted) starts a new window from zero.
 */
void weft_stats_sample(struct weft_stats_sampler *s, const struct weft_stats_view *v);

/** Copy the sampler's busy percentages into v->busy_pct[]. */
void weft_stats_sampler_apply(const struct weft_stats_sampler *s, struct weft_stats_view *v);

/**
 * Render v as one JSON object (appended to out):
 *
 *   {"config_version":N, "uptime_seconds":N,
 *    "drops":{"<reason>":N, ...},          every reason, summed over workers
 *    "events":{"<event>":N, ...},          every event, summed over workers
 *    "workers":[{"worker":0, "lcore":1, "busy_pct":12.5, "iterations":N,
 *                "drops":{...}, "events":{...}}, ...],
 *    "ports":[{"port":0, "name":"p0", "driver":"tap", "link_up":true,
 *              "speed_mbps":N, "rx_packets":N, "tx_packets":N, "rx_bytes":N,
 *              "tx_bytes":N,                  software, summed over workers
 *              "device":{"rx_packets":N, "tx_packets":N, "rx_bytes":N,
 *                        "tx_bytes":N, "rx_missed":N, "rx_errors":N,
 *                        "tx_errors":N, "rx_nombuf":N}}, ...]}
 *
 * With a TCP stack (v->tcp.n_stats > 0) the top level and every worker
 * also carry
 *
 *    "tcp":{"connections":{"<state>":N, ...}, "<stat>":N, ...}
 *
 * and with tcp_proxy (v->proxy.n_stats > 0)
 *
 *    "tcp_proxy":{"sessions_active":N, "<stat>":N, ...,
 *                 "listeners":[{"listener":"tcp_in", "sessions_active":N,
 *                               "sessions_total":N}, ...]}
 *
 * (top level: summed over the workers).
 *
 * @return 0, or -1 when out ran out of memory (out->failed)
 */
int weft_stats_json(const struct weft_stats_view *v, struct weft_buf *out);

/**
 * Render v in the Prometheus text exposition format 0.0.4 (appended to out;
 * serve with content type WEFT_STATS_PROM_CONTENT_TYPE). Each family has one
 * HELP and one TYPE line followed by its samples:
 *
 *   weft_drops_total{worker,reason}            counter, every reason x worker
 *   weft_events_total{worker,event}            counter, every event x worker
 *   weft_port_{rx,tx}_{packets,bytes}_total{port}            counter, software
 *   weft_port_device_{rx,tx}_{packets,bytes}_total{port}     counter, device
 *   weft_port_device_rx_missed_total{port}     counter
 *   weft_port_device_rx_errors_total{port}     counter
 *   weft_port_device_tx_errors_total{port}     counter
 *   weft_port_rx_nombuf_total{port}            counter
 *   weft_port_link_up{port}                    gauge, 0 or 1
 *   weft_port_link_speed_mbps{port}            gauge
 *   weft_worker_busy_percent{worker,lcore}     gauge
 *   weft_worker_iterations_total{worker}       counter
 *   weft_config_version                        gauge
 *   weft_uptime_seconds                        gauge
 *
 * and, when the view has them (see struct weft_stats_tcp and _proxy):
 *
 *   weft_tcp_connections{worker,state}         gauge, every state x worker
 *   weft_tcp_<stat>_total{worker}              counter, one family per stack counter
 *   weft_tcp_proxy_sessions_active{worker,listener}   gauge
 *   weft_tcp_proxy_sessions_total{worker,listener}    counter
 *   weft_tcp_proxy_<stat>_total{worker}        counter, one family per proxy counter
 *
 * @return 0, or -1 when out ran out of memory (out->failed)
 */
int weft_stats_prometheus(const struct weft_stats_view *v, struct weft_buf *out);

/**
 * Render what every drop reason and event means (appended to out), from the
 * help strings of dataplane/counters.h:
 *
 *   {"drops":{"<reason>":"<help>", ...}, "events":{"<event>":"<help>", ...}}
 *
 * Prometheus has room for one HELP line per family only, so this is where
 * the per-reason text is served (for weftctl and the operations guide).
 * @return 0, or -1 when out ran out of memory (out->failed)
 */
int weft_stats_reasons_json(struct weft_buf *out);

/**
 * The "http" object (policy/stats_http.c) of worker w, or summed over the
 * workers when w is -1, appended to out; weft_stats_json() places it at the
 * top level and in every worker when v->http.n_stats > 0:
 *
 *    "http":{"downstream_active":N, "streams_active":N, "upstream_active":N,
 *            "upstream_idle":N, "<stat>":N, ...,
 *            "local_reasons":{"<reason>":N, ...},
 *            "request_errors":{"<h1 reason>":N, ...},
 *            "response_errors":{"<h1 reason>":N, ...}}
 */
void weft_stats_http_json(const struct weft_stats_view *v, struct weft_buf *out, int w, const char *indent);

/**
 * The HTTP proxy's Prometheus families, appended to out (weft_stats_prometheus()
 * calls it when v->http.n_stats > 0):
 *
 *   weft_http_<stat>_total{worker}                     counter, one family per proxy counter
 *   weft_http_downstream_connections_active{worker}    gauge
 *   weft_http_streams_active{worker}                   gauge, requests in flight
 *   weft_http_upstream_connections_active{worker}      gauge, busy and idle
 *   weft_http_upstream_connections_idle{worker}        gauge, in the pool
 *   weft_http_local_errors_total{worker,reason}        counter, every reason
 *   weft_http_request_errors_total{worker,reason}      counter, every parser reason
 *   weft_http_response_errors_total{worker,reason}     counter, every parser reason
 */
void weft_stats_http_prometheus(const struct weft_stats_view *v, struct weft_buf *out);

/**
 * The "health_check" object (policy/stats_health.c) of worker w, or summed
 * over the workers when w is -1; weft_stats_json() places it at the top
 * level and in every worker when v->hc.n_stats > 0:
 *
 *    "health_check":{"endpoints":N, "unhealthy":N, "<stat>":N, ...,
 *                    "failure_reasons":{"<reason>":N, ...}}
 */
void weft_stats_hc_json(const struct weft_stats_view *v, struct weft_buf *out, int w, const char *indent);

/**
 * The health checker's Prometheus families (when v->hc.n_stats > 0):
 *
 *   weft_health_check_<stat>_total{worker}                    counter, one family per checker counter
 *   weft_health_check_failure_reasons_total{worker,reason}    counter, every reason
 *   weft_health_check_endpoints{worker}                       gauge, endpoints the worker checks
 *   weft_health_check_endpoints_unhealthy{worker}             gauge
 */
void weft_stats_hc_prometheus(const struct weft_stats_view *v, struct weft_buf *out);
struct weft_http_snap; /* policy/httpcfg.h */

/**
 * The resilience state of every cluster of hs (NULL: none) as a JSON array,
 * appended to out; weft_stats_json() places it as "clusters" when
 * v->http_snap is set. Management thread only.
 *
 *    [{"name":"web", "active":{"connections":N, "pending_requests":N, "requests":N, "retries":N},
 *      "breaker_overflow":{"max_connections":N, ...}, "retry_budget_overflow":N,
 *      "retries_admitted":N, "ejections_active":N, "ejections_total":N,
 *      "ejections":{"consecutive_5xx":N, ...}, "endpoints_usable":N, "panic":false,
 *      "endpoints":[{"address":"198.18.1.2:80", "requests":N, "success":N, "5xx":N,
 *                    "gateway_error":N, "local_failure":N, "success_rate":0.99|null,
 *                    "ejected":false, "healthy":true, "times_ejected":N, "ejections_total":N}]}]
 */
void weft_stats_res_json(const struct weft_http_snap *hs, struct weft_buf *out, const char *indent);

/**
 * The resilience families (weft_stats_prometheus() appends them when
 * v->http_snap is set):
 *
 *   weft_cluster_active{cluster,resource}                  gauge
 *   weft_cluster_breaker_overflow_total{cluster,threshold}  counter
 *   weft_cluster_retry_budget_overflow_total{cluster}       counter
 *   weft_cluster_retries_admitted_total{cluster}            counter
 *   weft_outlier_ejections_active{cluster}                  gauge
 *   weft_outlier_ejections_total{cluster}                   counter
 *   weft_cluster_endpoints_usable{cluster}                  gauge
 *   weft_cluster_panic{cluster}                             gauge
 *   weft_outlier_ejections_reason_total{cluster,reason}     counter
 *   weft_endpoint_requests_total{cluster,endpoint}          counter
 *   weft_endpoint_outcomes_total{cluster,endpoint,outcome}  counter
 *   weft_endpoint_success_rate{cluster,endpoint}            gauge (NaN: too few requests)
 *   weft_endpoint_ejected{cluster,endpoint}                 gauge
 *   weft_endpoint_healthy{cluster,endpoint}                 gauge
 *   weft_endpoint_ejections_total{cluster,endpoint}         counter
 */
void weft_stats_res_prometheus(const struct weft_http_snap *hs, struct weft_buf *out);

/**
 * The admin API's GET /clusters: Envoy-like "CLUSTER::STAT::VALUE" and
 * "CLUSTER::ADDR:PORT::STAT::VALUE" lines (docs/operations.md).
 */
void weft_stats_res_clusters_text(const struct weft_http_snap *hs, struct weft_buf *out);

#define WEFT_STATS_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define WEFT_STATS_JSON_CONTENT_TYPE "application/json"

/** Append s as a Prometheus label value body (no quotes): \ " and newline escaped. */
int weft_stats_prom_label(struct weft_buf *out, const char *s);

/**
 * The "tls" object (policy/stats_tls.c), summed over the workers:
 *   "tls":{"handshakes":N, ..., "errors":{"tls_peer_cert_missing":N, ...}}
 */
void weft_stats_tls_json(const struct weft_stats_view *v, struct weft_buf *out, const char *indent);

/**
 * The TLS families:
 *   weft_tls_<stat>_total{worker}          counter, one family per counter
 *   weft_tls_errors_total{worker,reason}   counter, handshake and record failures by reason
 */
void weft_stats_tls_prometheus(const struct weft_stats_view *v, struct weft_buf *out);

#endif
