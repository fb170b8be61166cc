/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "policy/stats.h"
#include "policy/stats_emit.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- sampling ----------------------------------------------------------- */

void weft_stats_sampler_init(struct weft_stats_sampler *s)
{
	memset(s, 0, sizeof(*s));
}

void weft_stats_sample(struct weft_stats_sampler *s, const struct weft_stats_view *v)
{
	unsigned n = v->n_workers < WEFT_MAX_WORKERS ? v->n_workers : WEFT_MAX_WORKERS;

	for (unsigned i = 0; i < n; i++) {
		const struct weft_worker_counters *c = v->workers[i];
		if (c == NULL)
			continue;
		uint64_t busy = WEFT_CTR_READ(c->busy_cycles);
		uint64_t idle = WEFT_CTR_READ(c->idle_cycles);
		uint64_t pb = 0, pi = 0;

		/*
		 * An unprimed worker measures from zero (since it started); so
		 * does one whose counters went backwards, which only happens
		 * when the worker's counters were recreated.
		 */
		if (s->primed[i] && busy >= s->busy[i] && idle >= s->idle[i]) {
			pb = s->busy[i];
			pi = s->idle[i];
		}
		uint64_t db = busy - pb, di = idle - pi;
		/* In double: the sum of two cycle deltas cannot overflow there. */
		double total = (double)db + (double)di;
		s->busy_pct[i] = total > 0 ? 100.0 * (double)db / total : 0.0;
		s->busy[i] = busy;
		s->idle[i] = idle;
		s->primed[i] = true;
	}
}

void weft_stats_sampler_apply(const struct weft_stats_sampler *s, struct weft_stats_view *v)
{
	for (unsigned i = 0; i < WEFT_MAX_WORKERS; i++)
		v->busy_pct[i] = s->busy_pct[i];
}

/* ---- shared helpers ------------------------------------------------------ */

static unsigned n_workers(const struct weft_stats_view *v)
{
	return weft_stats_workers_n(v);
}

static unsigned n_ports(const struct weft_stats_view *v)
{
	return v->n_ports < WEFT_MAX_PORTS ? v->n_ports : WEFT_MAX_PORTS;
}

/* A percentage fit for both JSON and Prometheus: finite, within 0..100. */
static double clamp_pct(double p)
{
	if (!isfinite(p) || p < 0)
		return 0;
	return p > 100 ? 100 : p;
}

static uint64_t drop_total(const struct weft_stats_view *v, unsigned r)
{
	uint64_t sum = 0;
	for (unsigned w = 0; w < n_workers(v); w++)
		if (v->workers[w] != NULL)
			sum += WEFT_CTR_READ(v->workers[w]->drops[r]);
	return sum;
}

static uint64_t event_total(const struct weft_stats_view *v, unsigned e)
{
	uint64_t sum = 0;
	for (unsigned w = 0; w < n_workers(v); w++)
		if (v->workers[w] != NULL)
			sum += WEFT_CTR_READ(v->workers[w]->events[e]);
	return sum;
}

/* Software counters of port p summed over the workers. */
static struct weft_port_counters port_sw(const struct weft_stats_view *v, unsigned p)
{
	struct weft_port_counters t = {0};
	for (unsigned w = 0; w < n_workers(v); w++) {
		const struct weft_worker_counters *c = v->workers[w];
		if (c == NULL)
			continue;
		t.rx_packets += WEFT_CTR_READ(c->port[p].rx_packets);
		t.rx_bytes += WEFT_CTR_READ(c->port[p].rx_bytes);
		t.tx_packets += WEFT_CTR_READ(c->port[p].tx_packets);
		t.tx_bytes += WEFT_CTR_READ(c->port[p].tx_bytes);
	}
	return t;
}

/*
 * The name a port is shown under. The config always names ports; the
 * fallback only keeps a half-filled view from rendering an empty label.
 */
static const char *port_name(const struct weft_stats_view *v, unsigned p, char *tmp, size_t len)
{
	if (v->ports[p].name[0] != '\0') {
		/* Bounded copy: the field need not be NUL-terminated. */
		size_t n = strnlen(v->ports[p].name, sizeof(v->ports[p].name));
		if (n >= len)
			n = len - 1;
		memcpy(tmp, v->ports[p].name, n);
		tmp[n] = '\0';
	} else {
		snprintf(tmp, len, "p%u", p);
	}
	return tmp;
}

static const char *port_driver(const struct weft_stats_view *v, unsigned p, char *tmp, size_t len)
{
	size_t n = strnlen(v->ports[p].driver, sizeof(v->ports[p].driver));
	if (n >= len)
		n = len - 1;
	memcpy(tmp, v->ports[p].driver, n);
	tmp[n] = '\0';
	return tmp;
}

/* TCP and tcp_proxy sizes, bounded by what the view can hold. */
static unsigned tcp_stats_n(const struct weft_stats_view *v)
{
	if (v->tcp.stat_name == NULL)
		return 0;
	return v->tcp.n_stats < WEFT_STATS_TCP_MAX_STATS ? v->tcp.n_stats : WEFT_STATS_TCP_MAX_STATS;
}

static unsigned tcp_states_n(const struct weft_stats_view *v)
{
	if (v->tcp.state_name == NULL)
		return 0;
	return v->tcp.n_states < WEFT_STATS_TCP_MAX_STATES ? v->tcp.n_states : WEFT_STATS_TCP_MAX_STATES;
}

static unsigned proxy_stats_n(const struct weft_stats_view *v)
{
	if (v->proxy.stat_name == NULL)
		return 0;
	return v->proxy.n_stats < WEFT_STATS_PROXY_MAX_STATS ? v->proxy.n_stats : WEFT_STATS_PROXY_MAX_STATS;
}

static unsigned proxy_slots_n(const struct weft_stats_view *v)
{
	return v->proxy.n_slots < WEFT_STATS_MAX_LISTENERS ? v->proxy.n_slots : WEFT_STATS_MAX_LISTENERS;
}

/* Workers with a TCP stack (or a proxy): present and with counters in the view. */
static bool tcp_on(const struct weft_stats_view *v, unsigned w)
{
	return v->workers[w] != NULL && v->tcp.present[w];
}

static bool proxy_on(const struct weft_stats_view *v, unsigned w)
{
	return v->workers[w] != NULL && v->proxy.present[w];
}

/* A listener slot's name, bounded; NULL for an unused slot. */
static const char *slot_name(const struct weft_stats_view *v, unsigned s, char *tmp, size_t len)
{
	size_t n = strnlen(v->proxy.listener[s], sizeof(v->proxy.listener[s]));

	if (n == 0)
		return NULL;
	if (n >= len)
		n = len - 1;
	memcpy(tmp, v->proxy.listener[s], n);
	tmp[n] = '\0';
	return tmp;
}

/* ---- JSON ---------------------------------------------------------------- */

static void json_drops(struct weft_buf *o, const struct weft_worker_counters *c,
		       const struct weft_stats_view *v, const char *indent)
{
	weft_buf_puts(o, "{");
	for (unsigned r = 0; r < WEFT_DROP_MAX; r++) {
		weft_buf_printf(o, "%s\n%s  ", r ? "," : "", indent);
		weft_buf_json_str(o, weft_drop_name[r]);
		uint64_t n = c ? WEFT_CTR_READ(c->drops[r]) : drop_total(v, r);
		weft_buf_printf(o, ": %" PRIu64, n);
	}
	weft_buf_printf(o, "\n%s}", indent);
}

static void json_events(struct weft_buf *o, const struct weft_worker_counters *c,
			const struct weft_stats_view *v, const char *indent)
{
	weft_buf_puts(o, "{");
	for (unsigned e = 0; e < WEFT_EV_MAX; e++) {
		weft_buf_printf(o, "%s\n%s  ", e ? "," : "", indent);
		weft_buf_json_str(o, weft_event_name[e]);
		uint64_t n = c ? WEFT_CTR_READ(c->events[e]) : event_total(v, e);
		weft_buf_printf(o, ": %" PRIu64, n);
	}
	weft_buf_printf(o, "\n%s}", indent);
}

/* The "tcp" object of worker w, or summed over the workers when w is -1. */
static void json_tcp(struct weft_buf *o, const struct weft_stats_view *v, int w, const char *indent)
{
	const struct weft_stats_src src = {v, v->tcp.present};

	weft_buf_puts(o, "{");
	weft_stats_json_map(o, src, w, indent, false, "connections", 0, tcp_states_n(v), v->tcp.state_name,
			    WEFT_STATS_COLS(v->tcp.state));
	weft_stats_json_members(o, src, w, indent, "  ", true, 0, tcp_stats_n(v), v->tcp.stat_name,
				WEFT_STATS_COLS(v->tcp.stat));
	weft_buf_printf(o, "\n%s}", indent);
}

/* The "tcp_proxy" object of worker w, or summed over the workers when w is -1. */
static void json_proxy(struct weft_buf *o, const struct weft_stats_view *v, int w, const char *indent)
{
	const struct weft_stats_src src = {v, v->proxy.present};
	char tmp[64];
	uint64_t active = 0;

	for (unsigned i = 0; i < n_workers(v); i++)
		if ((w < 0 || (unsigned)w == i) && proxy_on(v, i))
			for (unsigned s = 0; s < proxy_slots_n(v); s++)
				active += v->proxy.active[i][s];
	weft_buf_printf(o, "{\n%s  \"sessions_active\": %" PRIu64, indent, active);
	weft_stats_json_members(o, src, w, indent, "  ", true, 0, proxy_stats_n(v), v->proxy.stat_name,
				WEFT_STATS_COLS(v->proxy.stat));
	weft_buf_printf(o, ",\n%s  \"listeners\": [", indent);
	bool first = true;
	for (unsigned s = 0; s < proxy_slots_n(v); s++) {
		const char *name = slot_name(v, s, tmp, sizeof(tmp));
		if (name == NULL)
			continue;
		uint64_t a = weft_stats_sum(src, w, WEFT_STATS_COLS(v->proxy.active), s);
		uint64_t t = weft_stats_sum(src, w, WEFT_STATS_COLS(v->proxy.total), s);
		weft_buf_printf(o, "%s\n%s    {\"listener\": ", first ? "" : ",", indent);
		weft_buf_json_str(o, name);
		weft_buf_printf(o, ", \"sessions_active\": %" PRIu64 ", \"sessions_total\": %" PRIu64 "}", a, t);
		first = false;
	}
	if (first)
		weft_buf_puts(o, "]");
	else
		weft_buf_printf(o, "\n%s  ]", indent);
	weft_buf_printf(o, "\n%s}", indent);
}

int weft_stats_json(const struct weft_stats_view *v, struct weft_buf *o)
{
	char tmp[64];

	weft_buf_printf(o, "{\n  \"config_version\": %" PRIu64 ",\n  \"uptime_seconds\": %" PRIu64
			",\n", v->config_version, v->uptime_s);

	/* Totals: passing c == NULL sums over the workers. */
	weft_buf_puts(o, "  \"drops\": ");
	json_drops(o, NULL, v, "  ");
	weft_buf_puts(o, ",\n  \"events\": ");
	json_events(o, NULL, v, "  ");
	if (tcp_stats_n(v) > 0) {
		weft_buf_puts(o, ",\n  \"tcp\": ");
		json_tcp(o, v, -1, "  ");
	}
	if (proxy_stats_n(v) > 0) {
		weft_buf_puts(o, ",\n  \"tcp_proxy\": ");
		json_proxy(o, v, -1, "  ");
	}
	if (v->http.n_stats > 0) {
		weft_buf_puts(o, ",\n  \"http\": ");
		weft_stats_http_json(v, o, -1, "  ");
	}
	if (v->hc.n_stats > 0) {
		weft_buf_puts(o, ",\n  \"health_check\": ");
		weft_stats_hc_json(v, o, -1, "  ");
	}
	if (v->http_snap != NULL) {
		weft_buf_puts(o, ",\n  \"clusters\": ");
		weft_stats_res_json(v->http_snap, o, "  ");
	}
	if (v->tls.n_stats > 0) {
		weft_buf_puts(o, ",\n  \"tls\": ");
		weft_stats_tls_json(v, o, "  ");
	}

	weft_buf_puts(o, ",\n  \"workers\": [");
	bool first = true;
	for (unsigned w = 0; w < n_workers(v); w++) {
		const struct weft_worker_counters *c = v->workers[w];
		if (c == NULL)
			continue;
		weft_buf_printf(o, "%s\n    {\n      \"worker\": %u,\n      \"lcore\": %u,\n"
				"      \"busy_pct\": %.2f,\n      \"iterations\": %" PRIu64 ",\n"
				"      \"drops\": ",
				first ? "" : ",", w, v->worker_lcore[w], clamp_pct(v->busy_pct[w]),
				WEFT_CTR_READ(c->iterations));
		json_drops(o, c, v, "      ");
		weft_buf_puts(o, ",\n      \"events\": ");
		json_events(o, c, v, "      ");
		if (tcp_stats_n(v) > 0 && tcp_on(v, w)) {
			weft_buf_puts(o, ",\n      \"tcp\": ");
			json_tcp(o, v, (int)w, "      ");
		}
		if (proxy_stats_n(v) > 0 && proxy_on(v, w)) {
			weft_buf_puts(o, ",\n      \"tcp_proxy\": ");
			json_proxy(o, v, (int)w, "      ");
		}
		if (v->http.n_stats > 0 && v->http.present[w]) {
			weft_buf_puts(o, ",\n      \"http\": ");
			weft_stats_http_json(v, o, (int)w, "      ");
		}
		if (v->hc.n_stats > 0 && v->hc.present[w]) {
			weft_buf_puts(o, ",\n      \"health_check\": ");
			weft_stats_hc_json(v, o, (int)w, "      ");
		}
		weft_buf_puts(o, "\n    }");
		first = false;
	}
	weft_buf_puts(o, first ? "],\n" : "\n  ],\n");

	weft_buf_puts(o, "  \"ports\": [");
	for (unsigned p = 0; p < n_ports(v); p++) {
		const struct weft_stats_port *d = &v->ports[p];
		struct weft_port_counters sw = port_sw(v, p);

		weft_buf_printf(o, "%s\n    {\n      \"port\": %u,\n      \"name\": ", p ? "," : "", p);
		weft_buf_json_str(o, port_name(v, p, tmp, sizeof(tmp)));
		weft_buf_puts(o, ",\n      \"driver\": ");
		weft_buf_json_str(o, port_driver(v, p, tmp, sizeof(tmp)));
		weft_buf_printf(o,
				",\n      \"link_up\": %s,\n      \"speed_mbps\": %" PRIu32 ",\n"
				"      \"rx_packets\": %" PRIu64 ",\n      \"tx_packets\": %" PRIu64 ",\n"
				"      \"rx_bytes\": %" PRIu64 ",\n      \"tx_bytes\": %" PRIu64 ",\n"
				"      \"device\": {\n"
				"        \"rx_packets\": %" PRIu64 ",\n        \"tx_packets\": %" PRIu64 ",\n"
				"        \"rx_bytes\": %" PRIu64 ",\n        \"tx_bytes\": %" PRIu64 ",\n"
				"        \"rx_missed\": %" PRIu64 ",\n        \"rx_errors\": %" PRIu64 ",\n"
				"        \"tx_errors\": %" PRIu64 ",\n        \"rx_nombuf\": %" PRIu64 "\n"
				"      }\n    }",
				d->link_up ? "true" : "false", d->speed_mbps, sw.rx_packets,
				sw.tx_packets, sw.rx_bytes, sw.tx_bytes, d->ipackets, d->opackets,
				d->ibytes, d->obytes, d->imissed, d->ierrors, d->oerrors, d->rx_nombuf);
	}
	weft_buf_puts(o, n_ports(v) ? "\n  ]\n}\n" : "]\n}\n");
	return o->failed ? -1 : 0;
}

int weft_stats_reasons_json(struct weft_buf *o)
{
	weft_buf_puts(o, "{\n  \"drops\": {");
	for (unsigned r = 0; r < WEFT_DROP_MAX; r++) {
		weft_buf_puts(o, r ? ",\n    " : "\n    ");
		weft_buf_json_str(o, weft_drop_name[r]);
		weft_buf_puts(o, ": ");
		weft_buf_json_str(o, weft_drop_help[r]);
	}
	weft_buf_puts(o, "\n  },\n  \"events\": {");
	for (unsigned e = 0; e < WEFT_EV_MAX; e++) {
		weft_buf_puts(o, e ? ",\n    " : "\n    ");
		weft_buf_json_str(o, weft_event_name[e]);
		weft_buf_puts(o, ": ");
		weft_buf_json_str(o, weft_event_help[e]);
	}
	weft_buf_puts(o, "\n  }\n}\n");
	return o->failed ? -1 : 0;
}

/* ---- Prometheus text format 0.0.4 ---------------------------------------- */

int weft_stats_prom_label(struct weft_buf *o, const char *s)
{
	const char *run = s;
	for (;; s++) {
		char c = *s;
		if (c != '\0' && c != '\\' && c != '"' && c != '\n')
			continue;
		weft_buf_append(o, run, (size_t)(s - run));
		run = s + 1;
		if (c == '\0')
			break;
		weft_buf_puts(o, c == '\\' ? "\\\\" : c == '"' ? "\\\"" : "\\n");
	}
	return o->failed ? -1 : 0;
}

/* Per-port counter family; get() picks the value of port p. */
typedef uint64_t (*port_value_fn)(const struct weft_stats_view *v, unsigned p);

static void prom_port_family(struct weft_buf *o, const struct weft_stats_view *v, const char *name,
			     const char *type, const char *help, port_value_fn get)
{
	char tmp[64];

	weft_stats_prom_family(o, name, type, help);
	for (unsigned p = 0; p < n_ports(v); p++) {
		weft_buf_printf(o, "%s{port=\"", name);
		weft_stats_prom_label(o, port_name(v, p, tmp, sizeof(tmp)));
		weft_buf_printf(o, "\"} %" PRIu64 "\n", get(v, p));
	}
}

static uint64_t sw_rx_packets(const struct weft_stats_view *v, unsigned p)
{
	return port_sw(v, p).rx_packets;
}
static uint64_t sw_tx_packets(const struct weft_stats_view *v, unsigned p)
{
	return port_sw(v, p).tx_packets;
}
static uint64_t sw_rx_bytes(const struct weft_stats_view *v, unsigned p)
{
	return port_sw(v, p).rx_bytes;
}
static uint64_t sw_tx_bytes(const struct weft_stats_view *v, unsigned p)
{
	return port_sw(v, p).tx_bytes;
}
static uint64_t dev_rx_packets(const struct weft_stats_view *v, unsigned p)
{
	return v->ports[p].ipackets;
}
static uint64_t dev_tx_packets(const struct weft_stats_view *v, unsigned p)
{
	return v->ports[p].opackets;
}
static uint64_t dev_rx_bytes(const struct weft_stats_view *v, unsigned p)
{
	return v->ports[p].ibytes;
}
static uint64_t dev_tx_bytes(const struct weft_stats_view *v, unsigned p)
{
	return v->ports[p].obytes;
}
static uint64_t dev_rx_missed(const struct weft_stats_view *v, unsigned p)
{
	return v->ports[p].imissed;
}
static uint64_t dev_rx_errors(const struct weft_stats_view *v, unsigned p)
{
	return v->ports[p].ierrors;
}
static uint64_t dev_tx_errors(const struct weft_stats_view *v, unsigned p)
{
	return v->ports[p].oerrors;
}
static uint64_t dev_rx_nombuf(const struct weft_stats_view *v, unsigned p)
{
	return v->ports[p].rx_nombuf;
}
static uint64_t dev_link_up(const struct weft_stats_view *v, unsigned p)
{
	return v->ports[p].link_up ? 1 : 0;
}
static uint64_t dev_speed(const struct weft_stats_view *v, unsigned p)
{
	return v->ports[p].speed_mbps;
}

static const struct {
	const char *name;
	const char *type;
	const char *help;
	port_value_fn get;
} port_families[] = {
	{"weft_port_rx_packets_total", "counter", "Packets received by the workers on the port.",
	 sw_rx_packets},
	{"weft_port_tx_packets_total", "counter", "Packets sent by the workers on the port.",
	 sw_tx_packets},
	{"weft_port_rx_bytes_total", "counter", "Bytes received by the workers on the port.",
	 sw_rx_bytes},
	{"weft_port_tx_bytes_total", "counter", "Bytes sent by the workers on the port.",
	 sw_tx_bytes},
	{"weft_port_device_rx_packets_total", "counter", "Packets received, as the device counts.",
	 dev_rx_packets},
	{"weft_port_device_tx_packets_total", "counter", "Packets transmitted, as the device counts.",
	 dev_tx_packets},
	{"weft_port_device_rx_bytes_total", "counter", "Bytes received, as the device counts.",
	 dev_rx_bytes},
	{"weft_port_device_tx_bytes_total", "counter", "Bytes transmitted, as the device counts.",
	 dev_tx_bytes},
	{"weft_port_device_rx_missed_total", "counter",
	 "Packets the device dropped because a receive queue was full.", dev_rx_missed},
	{"weft_port_device_rx_errors_total", "counter", "Packets the device received with errors.",
	 dev_rx_errors},
	{"weft_port_device_tx_errors_total", "counter", "Packets the device failed to transmit.",
	 dev_tx_errors},
	{"weft_port_rx_nombuf_total", "counter",
	 "Packets the driver dropped because no mbuf was free to receive into.", dev_rx_nombuf},
	{"weft_port_link_up", "gauge", "Whether the port's link is up (1) or down (0).", dev_link_up},
	{"weft_port_link_speed_mbps", "gauge", "Link speed of the port in Mbit/s (0 if unknown).",
	 dev_speed},
};

static void prom_tcp(const struct weft_stats_view *v, struct weft_buf *o)
{
	const struct weft_stats_src src = {v, v->tcp.present};

	weft_stats_prom_labelled(o, src, "weft_tcp_connections", "gauge", "TCP connections of the worker's stack, by state.",
				 "state", 0, tcp_states_n(v), v->tcp.state_name, WEFT_STATS_COLS(v->tcp.state));
	weft_stats_prom_stat_families(o, src, "weft_tcp_", tcp_stats_n(v), v->tcp.stat_name, v->tcp.stat_help,
				      WEFT_STATS_COLS(v->tcp.stat));
}

static void prom_proxy(const struct weft_stats_view *v, struct weft_buf *o)
{
	char tmp[64];

	for (int total = 0; total < 2; total++) {
		const char *fam = total ? "weft_tcp_proxy_sessions_total" : "weft_tcp_proxy_sessions_active";
		weft_stats_prom_family(o, fam, total ? "counter" : "gauge",
			    total ? "tcp_proxy sessions opened, by worker and listener."
				  : "tcp_proxy sessions open now, by worker and listener.");
		for (unsigned w = 0; w < n_workers(v); w++) {
			if (!proxy_on(v, w))
				continue;
			for (unsigned s = 0; s < proxy_slots_n(v); s++) {
				const char *l = slot_name(v, s, tmp, sizeof(tmp));
				if (l == NULL)
					continue;
				weft_buf_printf(o, "%s{worker=\"%u\",listener=\"", fam, w);
				weft_stats_prom_label(o, l);
				weft_buf_printf(o, "\"} %" PRIu64 "\n", total ? v->proxy.total[w][s] : v->proxy.active[w][s]);
			}
		}
	}
	weft_stats_prom_stat_families(o, (struct weft_stats_src){v, v->proxy.present}, "weft_tcp_proxy_",
				      proxy_stats_n(v), v->proxy.stat_name, v->proxy.stat_help,
				      WEFT_STATS_COLS(v->proxy.stat));
}

int weft_stats_prometheus(const struct weft_stats_view *v, struct weft_buf *o)
{
	/*
	 * Every reason for every worker, zeros included: a series that appears
	 * only after its first drop breaks rate() over the window it appears in.
	 */
	weft_stats_prom_family(o, "weft_drops_total", "counter",
		    "Packets, connections or requests refused, by worker and reason.");
	for (unsigned w = 0; w < n_workers(v); w++) {
		const struct weft_worker_counters *c = v->workers[w];
		if (c == NULL)
			continue;
		for (unsigned r = 0; r < WEFT_DROP_MAX; r++)
			weft_buf_printf(o, "weft_drops_total{worker=\"%u\",reason=\"%s\"} %" PRIu64 "\n",
					w, weft_drop_name[r], WEFT_CTR_READ(c->drops[r]));
	}

	weft_stats_prom_family(o, "weft_events_total", "counter", "Things that happened, by worker and event.");
	for (unsigned w = 0; w < n_workers(v); w++) {
		const struct weft_worker_counters *c = v->workers[w];
		if (c == NULL)
			continue;
		for (unsigned e = 0; e < WEFT_EV_MAX; e++)
			weft_buf_printf(o, "weft_events_total{worker=\"%u\",event=\"%s\"} %" PRIu64 "\n",
					w, weft_event_name[e], WEFT_CTR_READ(c->events[e]));
	}

	for (size_t i = 0; i < sizeof(port_families) / sizeof(port_families[0]); i++)
		prom_port_family(o, v, port_families[i].name, port_families[i].type,
				 port_families[i].help, port_families[i].get);

	weft_stats_prom_family(o, "weft_worker_busy_percent", "gauge",
		    "Share of the last sampling window the worker spent on iterations that found work.");
	for (unsigned w = 0; w < n_workers(v); w++)
		if (v->workers[w] != NULL)
			weft_buf_printf(o, "weft_worker_busy_percent{worker=\"%u\",lcore=\"%u\"} %.2f\n",
					w, v->worker_lcore[w], clamp_pct(v->busy_pct[w]));

	weft_stats_prom_family(o, "weft_worker_iterations_total", "counter",
		    "Poll-loop iterations the worker has run.");
	for (unsigned w = 0; w < n_workers(v); w++)
		if (v->workers[w] != NULL)
			weft_buf_printf(o, "weft_worker_iterations_total{worker=\"%u\"} %" PRIu64 "\n", w,
					WEFT_CTR_READ(v->workers[w]->iterations));

	if (tcp_stats_n(v) > 0)
		prom_tcp(v, o);
	if (proxy_stats_n(v) > 0)
		prom_proxy(v, o);
	if (v->http.n_stats > 0)
		weft_stats_http_prometheus(v, o);
	if (v->hc.n_stats > 0)
		weft_stats_hc_prometheus(v, o);
	if (v->http_snap != NULL)
		weft_stats_res_prometheus(v->http_snap, o);
	if (v->tls.n_stats > 0)
		weft_stats_tls_prometheus(v, o);

	weft_stats_prom_family(o, "weft_config_version", "gauge",
		    "Version of the configuration snapshot the workers run.");
	weft_buf_printf(o, "weft_config_version %" PRIu64 "\n", v->config_version);

	weft_stats_prom_family(o, "weft_uptime_seconds", "gauge", "Seconds since weftd started.");
	weft_buf_printf(o, "weft_uptime_seconds %" PRIu64 "\n", v->uptime_s);

	return o->failed ? -1 : 0;
}
