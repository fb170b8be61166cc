/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The management loop and the admin API handlers.
 *
 * Everything here runs on the management thread: admin requests, the
 * once-a-second counter sampling, configuration reloads and RCU
 * reclamation. It may block (poll, file reads); the workers never wait for
 * it, because all it shares with them is the snapshot slot (written here
 * with a release store) and the counters (read here with relaxed loads).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dataplane/l4/tcp_proxy.h"
#include "dataplane/proxy/health.h"
#include "dataplane/proxy/http_proxy.h"
#include "dataplane/tcp/tcp.h"
#include "drivers/port.h"
#include "policy/admin.h"
#include "policy/authz.h"
#include "policy/buf.h"
#include "policy/httpcfg.h"
#include "policy/mgmt/mgmt.h"
#include "policy/resilience.h"
#include "policy/stats.h"
#ifdef WEFT_HAVE_TLS
#include "dataplane/tls/tls_ulp.h"
#include "policy/mgmt/tls_mgmt.h"
#endif

uint64_t weft_hash_bytes(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

struct weft_snapshot *weft_mgmt_compile(const struct weft_config *cfg, uint64_t hash, char *err,
					size_t errlen)
{
	uint8_t macs[WEFT_CFG_MAX_PORTS][6];
	struct weft_snapshot *s = weft_snapshot_alloc();

	if (s == NULL) {
		snprintf(err, errlen, "out of memory compiling the configuration");
		return NULL;
	}
	for (unsigned i = 0; i < cfg->n_ports; i++)
		memcpy(macs[i], weft_port_info((uint16_t)i)->mac, 6);
	if (weft_net_compile(cfg, (const uint8_t(*)[6])macs, &s->net, err, errlen) != 0 ||
	    weft_l4_compile(cfg, &s->l4, err, errlen) != 0) {
		weft_snapshot_free(s);
		return NULL;
	}
	if (weft_route_authz_build(cfg, &s->authz, err, errlen) != 0) {
		weft_snapshot_free(s);
		return NULL;
	}
#ifdef WEFT_HAVE_TLS
	if (weft_tls_compile(cfg, s, err, errlen) != 0) {
		weft_snapshot_free(s);
		return NULL;
	}
#else
	for (unsigned i = 0; i < cfg->tls.n_blocks; i++) {
		if (cfg->tls.blocks[i].mode != WEFT_TLS_DISABLE) {
			snprintf(err, errlen, "%s: this weftd was built without TLS (meson -Dtls=enabled)",
				 cfg->tls.blocks[i].owner);
			weft_snapshot_free(s);
			return NULL;
		}
	}
#endif
	s->hash = hash;
	s->applied_at = time(NULL);
	return s;
}

int weft_mgmt_compile_http(const struct weft_publisher *pub, const struct weft_config *cfg,
			   struct weft_snapshot *s, char *err, size_t errlen)
{
	const struct weft_http_snap *prev = pub->slot != NULL ? pub->slot->http : NULL;

	/* Scratches are cloned from the running snapshot's and grown before s is published. */
	return weft_http_compile(cfg, prev, cfg->eal.n_workers, &s->http, err, errlen);
}

/*
 * Ports, EAL and admin settings are bound when weftd starts; a reload may
 * change addresses, gateways and routes. Returns NULL when nothing
 * restart-bound changed, else the name of the first thing that did.
 */
static const char *restart_bound_change(const struct weft_config *old, const struct weft_config *nw,
					char *buf, size_t len)
{
	if (memcmp(&old->eal, &nw->eal, sizeof(old->eal)) != 0)
		return "eal";
	if (memcmp(&old->admin, &nw->admin, sizeof(old->admin)) != 0)
		return "admin";
	/* The stacks' objects and buffers are allocated at start-up; listeners and clusters may change. */
	if (memcmp(&old->tcp, &nw->tcp, sizeof(old->tcp)) != 0)
		return "tcp";
	if (old->n_ports != nw->n_ports)
		return "ports (number of ports)";
	for (unsigned i = 0; i < old->n_ports; i++) {
		struct weft_port_cfg a = old->ports[i], b = nw->ports[i];
		/* Blank out what may change, compare the rest. */
		b.n_addrs = a.n_addrs;
		memcpy(b.addrs, a.addrs, sizeof(a.addrs));
		b.has_gw4 = a.has_gw4;
		b.gw4 = a.gw4;
		b.has_gw6 = a.has_gw6;
		b.gw6 = a.gw6;
		b.line = a.line;
		if (memcmp(&a, &b, sizeof(a)) != 0) {
			snprintf(buf, len, "ports[%u] (%s): only addresses, gateway and gateway6", i, a.name);
			return buf;
		}
	}
	return NULL;
}

static void record_rejection(struct weft_mgmt *m, const char *err)
{
	m->rejected_count++;
	m->rejected_at = time(NULL);
	snprintf(m->rejected_error, sizeof(m->rejected_error), "%s", err);
	fprintf(stderr, "weftd: configuration rejected, still serving version %lu: %s\n",
		(unsigned long)m->pub.version, err);
}

int weft_mgmt_apply(struct weft_mgmt *m, const char *text, size_t len, const char *name, char *err,
		    size_t errlen)
{
	struct weft_config *cfg = malloc(sizeof(*cfg));
	char why[160];
	int rc = -1;

	if (cfg == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (weft_config_parse(text, len, name, cfg, err, errlen) != 0)
		goto out;
	const char *changed = restart_bound_change(&m->cfg, cfg, why, sizeof(why));
	if (changed != NULL) {
		snprintf(err, errlen, "%s: changing %s needs a restart of weftd", name, changed);
		goto out;
	}
	uint64_t hash = weft_hash_bytes(text, len);
	struct weft_snapshot *s = weft_mgmt_compile(cfg, hash, err, errlen);
	if (s == NULL)
		goto out;
	if (weft_mgmt_compile_http(&m->pub, cfg, s, err, errlen) != 0) {
		weft_snapshot_free(s);
		goto out;
	}
	/* A listener keeps its stats slot by name, so its sessions stay on one series. */
	if (m->pub.slot != NULL)
		weft_l4_inherit_slots(&s->l4, &m->pub.slot->l4);
	weft_publish(&m->pub, s);
	m->cfg = *cfg;
	m->cfg_hash = hash;
	char *copy = malloc(len + 1);
	if (copy != NULL) {
		memcpy(copy, text, len);
		copy[len] = '\0';
		free(m->cfg_text);
		m->cfg_text = copy;
		m->cfg_len = len;
	}
	m->applied_at = s->applied_at;
	fprintf(stderr, "weftd: configuration version %lu applied from %s\n", (unsigned long)s->version,
		name);
	rc = 0;
out:
	if (rc != 0)
		record_rejection(m, err);
	free(cfg);
	return rc;
}

static void reload_file(struct weft_mgmt *m)
{
	char err[WEFT_CFG_ERR_LEN];
	FILE *f = fopen(m->cfg_path, "rb");
	struct weft_buf b;

	weft_buf_init(&b);
	if (f == NULL) {
		snprintf(err, sizeof(err), "%.400s: cannot read: %s", m->cfg_path, strerror(errno));
		record_rejection(m, err);
		return;
	}
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		weft_buf_append(&b, chunk, n);
	fclose(f);
	weft_mgmt_apply(m, b.len ? b.data : "", b.len, m->cfg_path, err, sizeof(err));
	weft_buf_free(&b);
}

static const char *const tcp_state_names[] = {
#define X_STATE(e, n) n,
	TCP_STATES(X_STATE)
#undef X_STATE
};

_Static_assert(TCP_STATE_MAX <= WEFT_STATS_TCP_MAX_STATES, "TCP states do not fit the stats view");
_Static_assert(TCP_PROXY_STAT_MAX <= WEFT_STATS_PROXY_MAX_STATS, "tcp_proxy counters do not fit the stats view");
_Static_assert(WEFT_L4_SLOTS <= WEFT_STATS_MAX_LISTENERS, "listener slots do not fit the stats view");

/* Copy each worker's TCP stack and tcp_proxy counters into the plain view. */
static void fill_tcp_view(struct weft_mgmt *m, struct weft_stats_view *v)
{
	unsigned n_stats = tcp_stat_count < WEFT_STATS_TCP_MAX_STATS ? tcp_stat_count : WEFT_STATS_TCP_MAX_STATS;

	for (unsigned i = 0; i < m->n_workers && i < WEFT_MAX_WORKERS; i++) {
		const struct tcp_stats *ts = tcp_stack_stats(&m->workers[i]);
		const struct tcp_proxy_stats *ps = tcp_proxy_stats(&m->workers[i]);

		if (ts != NULL) {
			uint64_t vals[] = {
#define X_STAT(f, h) WEFT_CTR_READ(ts->f),
				TCP_STATS(X_STAT)
#undef X_STAT
			};
			v->tcp.present[i] = true;
			for (unsigned k = 0; k < n_stats && k < sizeof(vals) / sizeof(vals[0]); k++)
				v->tcp.stat[i][k] = vals[k];
			for (unsigned s = 0; s < TCP_STATE_MAX; s++)
				v->tcp.state[i][s] = WEFT_CTR_READ(ts->state[s]);
		}
		if (ps != NULL) {
			v->proxy.present[i] = true;
			for (unsigned k = 0; k < TCP_PROXY_STAT_MAX; k++)
				v->proxy.stat[i][k] = WEFT_CTR_READ(ps->stat[k]);
			for (unsigned s = 0; s < WEFT_L4_SLOTS; s++) {
				v->proxy.active[i][s] = WEFT_CTR_READ(ps->active[s]);
				v->proxy.total[i][s] = WEFT_CTR_READ(ps->total[s]);
			}
		}
	}
	v->tcp.n_stats = n_stats;
	v->tcp.stat_name = tcp_stat_name;
	v->tcp.stat_help = tcp_stat_help;
	v->tcp.n_states = TCP_STATE_MAX;
	v->tcp.state_name = tcp_state_names;
	v->proxy.n_stats = TCP_PROXY_STAT_MAX;
	v->proxy.stat_name = tcp_proxy_stat_name;
	v->proxy.stat_help = tcp_proxy_stat_help;
	v->proxy.n_slots = WEFT_L4_SLOTS;
	/* The management thread publishes the snapshots: reading the current one needs no grace period. */
	if (m->pub.slot != NULL)
		for (unsigned s = 0; s < WEFT_L4_SLOTS; s++)
			snprintf(v->proxy.listener[s], sizeof(v->proxy.listener[s]), "%s", m->pub.slot->l4.slot_name[s]);
}

_Static_assert(HTTP_PROXY_STAT_MAX <= WEFT_STATS_HTTP_MAX_STATS, "http_proxy counters do not fit the stats view");
_Static_assert(HP_R_COUNT <= WEFT_STATS_HTTP_MAX_REASONS, "http_proxy reasons do not fit the stats view");
_Static_assert(H1_E_COUNT <= WEFT_STATS_HTTP_MAX_REASONS, "HTTP/1 parser reasons do not fit the stats view");

/* Copy each worker's HTTP proxy counters into the plain view. */
static void fill_http_view(struct weft_mgmt *m, struct weft_stats_view *v)
{
	struct weft_stats_http *h = &v->http;

	for (unsigned i = 0; i < m->n_workers && i < WEFT_MAX_WORKERS; i++) {
		const struct http_proxy_stats *hs = http_proxy_stats(&m->workers[i]);
		if (hs == NULL)
			continue;
		h->present[i] = true;
		for (unsigned k = 0; k < HTTP_PROXY_STAT_MAX; k++)
			h->stat[i][k] = WEFT_CTR_READ(hs->stat[k]);
		for (unsigned k = 0; k < HP_R_COUNT; k++)
			h->reason[i][k] = WEFT_CTR_READ(hs->reason[k]);
		for (unsigned k = 0; k < H1_E_COUNT; k++) {
			h->request_error[i][k] = WEFT_CTR_READ(hs->request_error[k]);
			h->response_error[i][k] = WEFT_CTR_READ(hs->response_error[k]);
		}
		h->downstream_active[i] = WEFT_CTR_READ(hs->downstream_active);
		h->streams_active[i] = WEFT_CTR_READ(hs->streams_active);
		h->upstream_active[i] = WEFT_CTR_READ(hs->upstream_active);
		h->upstream_idle[i] = WEFT_CTR_READ(hs->upstream_idle);
	}
	h->n_stats = HTTP_PROXY_STAT_MAX;
	h->stat_name = http_proxy_stat_name;
	h->stat_help = http_proxy_stat_help;
	h->n_reasons = HP_R_COUNT;
	h->reason_name = http_proxy_reason_name;
	h->n_errors = H1_E_COUNT;
	h->error_name = http_proxy_h1_err_name;
}

_Static_assert(HEALTH_STAT_MAX <= WEFT_STATS_HC_MAX_STATS, "health-check counters do not fit the stats view");
_Static_assert(HEALTH_F_COUNT <= WEFT_STATS_HC_MAX_REASONS, "health-check reasons do not fit the stats view");

/* Copy each worker's health-check counters into the plain view. */
static void fill_hc_view(struct weft_mgmt *m, struct weft_stats_view *v)
{
	struct weft_stats_hc *h = &v->hc;

	for (unsigned i = 0; i < m->n_workers && i < WEFT_MAX_WORKERS; i++) {
		const struct health_stats *hs = health_stats(&m->workers[i]);
		if (hs == NULL)
			continue;
		h->present[i] = true;
		for (unsigned k = 0; k < HEALTH_STAT_MAX; k++)
			h->stat[i][k] = WEFT_CTR_READ(hs->stat[k]);
		for (unsigned k = 0; k < HEALTH_F_COUNT; k++)
			h->failure[i][k] = WEFT_CTR_READ(hs->failure[k]);
		h->endpoints[i] = WEFT_CTR_READ(hs->endpoints);
		h->unhealthy[i] = WEFT_CTR_READ(hs->unhealthy);
	}
	h->n_stats = HEALTH_STAT_MAX;
	h->stat_name = health_stat_name;
	h->stat_help = health_stat_help;
	h->n_reasons = HEALTH_F_COUNT;
	h->reason_name = health_failure_name;
}

#ifdef WEFT_HAVE_TLS
static const char *const tls_err_names[] = {
#define X_TLS_ERR(e, n, h) n,
	TLS_ERRORS(X_TLS_ERR)
#undef X_TLS_ERR
};
_Static_assert(TLS_ERR_MAX <= WEFT_STATS_TLS_MAX_REASONS, "TLS reasons do not fit the stats view");
_Static_assert(TLS_ULP_STAT_MAX + 16 <= WEFT_STATS_TLS_MAX_STATS, "TLS counters do not fit the stats view");
#endif

/* Each worker's TLS engine and TLS layer counters. */
static void fill_tls_view(struct weft_mgmt *m, struct weft_stats_view *v)
{
#ifdef WEFT_HAVE_TLS
	struct weft_stats_tls *t = &v->tls;
	unsigned ne = tls_stat_count < 16 ? tls_stat_count : 16;

	for (unsigned k = 0; k < ne; k++) {
		t->stat_name[k] = tls_stat_name[k];
		t->stat_help[k] = tls_stat_help[k];
	}
	for (unsigned k = 0; k < TLS_ULP_STAT_MAX; k++) {
		t->stat_name[ne + k] = tls_ulp_stat_name[k];
		t->stat_help[ne + k] = tls_ulp_stat_help[k];
	}
	t->n_stats = ne + TLS_ULP_STAT_MAX;
	t->reason_name = tls_err_names;
	t->n_reasons = TLS_ERR_MAX;
	for (unsigned i = 0; i < m->n_workers && i < WEFT_MAX_WORKERS; i++) {
		const struct tls_stats *es = tls_ulp_engine_stats(&m->workers[i]);
		const struct tls_ulp_stats *us = tls_ulp_stats(&m->workers[i]);
		if (es == NULL || us == NULL)
			continue;
		t->present[i] = true;
		const uint64_t *ev = (const uint64_t *)es; /* the TLS_STATS fields, in order, then errors */
		for (unsigned k = 0; k < ne; k++)
			t->stat[i][k] = __atomic_load_n(&ev[k], __ATOMIC_RELAXED);
		for (unsigned k = 0; k < TLS_ULP_STAT_MAX; k++)
			t->stat[i][ne + k] = WEFT_CTR_READ(us->stat[k]);
		for (unsigned k = 0; k < TLS_ERR_MAX; k++)
			t->error[i][k] = __atomic_load_n(&es->errors[k], __ATOMIC_RELAXED);
	}
#else
	(void)m;
	(void)v;
#endif
}

static void fill_view(struct weft_mgmt *m, struct weft_stats_view *v)
{
	memset(v, 0, sizeof(*v));
	v->n_workers = m->n_workers;
	for (unsigned i = 0; i < m->n_workers; i++) {
		v->workers[i] = &m->ctrs[i];
		v->worker_lcore[i] = m->workers[i].lcore;
	}
	v->n_ports = weft_port_count();
	for (unsigned p = 0; p < v->n_ports; p++) {
		struct weft_stats_port *sp = &v->ports[p];
		struct weft_port_hw_stats hw;

		snprintf(sp->name, sizeof(sp->name), "%s", weft_port_info((uint16_t)p)->name);
		snprintf(sp->driver, sizeof(sp->driver), "%s", weft_driver_name(m->cfg.ports[p].driver));
		if (weft_port_hw_stats((uint16_t)p, &hw) == 0) {
			sp->link_up = hw.link_up;
			sp->speed_mbps = hw.link_speed_mbps;
			sp->ipackets = hw.ipackets;
			sp->opackets = hw.opackets;
			sp->ibytes = hw.ibytes;
			sp->obytes = hw.obytes;
			sp->imissed = hw.imissed;
			sp->ierrors = hw.ierrors;
			sp->oerrors = hw.oerrors;
			sp->rx_nombuf = hw.rx_nombuf;
		}
	}
	v->config_version = m->pub.version;
	v->uptime_s = (uint64_t)(time(NULL) - m->started_at);
	fill_tcp_view(m, v);
	fill_http_view(m, v);
	fill_hc_view(m, v);
	v->http_snap = m->pub.slot != NULL ? m->pub.slot->http : NULL;
	fill_tls_view(m, v);
	weft_stats_sampler_apply(&m->sampler, v);
}

static void iso_time(time_t t, char *buf, size_t len)
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static void config_status(struct weft_mgmt *m, struct weft_buf *o)
{
	char t[32];

	iso_time(m->applied_at, t, sizeof(t));
	weft_buf_printf(o, "{\"version\":%lu,\"hash\":\"%016lx\",\"applied_at\":\"%s\",\"source\":",
			(unsigned long)m->pub.version, (unsigned long)m->cfg_hash, t);
	weft_buf_json_str(o, m->cfg_path);
	weft_buf_printf(o, ",\"rejected_count\":%lu,\"last_rejected\":", (unsigned long)m->rejected_count);
	if (m->rejected_count == 0) {
		weft_buf_puts(o, "null}\n");
		return;
	}
	iso_time(m->rejected_at, t, sizeof(t));
	weft_buf_printf(o, "{\"at\":\"%s\",\"error\":", t);
	weft_buf_json_str(o, m->rejected_error);
	weft_buf_puts(o, "}}\n");
}

static void handle(const struct weft_admin_req *req, struct weft_admin_resp *resp, void *ctx)
{
	struct weft_mgmt *m = ctx;
	bool get = strcmp(req->method, "GET") == 0;

	if (strcmp(req->path, "/ready") == 0 && get) {
		bool ready = __atomic_load_n(&m->running, __ATOMIC_RELAXED) && m->pub.slot != NULL;
		resp->status = ready ? 200 : 503;
		weft_buf_puts(&resp->body, ready ? "LIVE\n" : "NOT READY\n");
	} else if (strcmp(req->path, "/stats") == 0 && get) {
		struct weft_stats_view v;
		fill_view(m, &v);
		resp->content_type = "application/json";
		weft_stats_json(&v, &resp->body);
	} else if (strcmp(req->path, "/stats/prometheus") == 0 && get) {
		struct weft_stats_view v;
		fill_view(m, &v);
		resp->content_type = "text/plain; version=0.0.4";
		weft_stats_prometheus(&v, &resp->body);
	} else if (strcmp(req->path, "/config/status") == 0 && get) {
		resp->content_type = "application/json";
		config_status(m, &resp->body);
	} else if (strcmp(req->path, "/config_dump") == 0 && get) {
		/* What is applied, byte for byte: the source of the running snapshot. */
		resp->content_type = "application/yaml";
		if (m->cfg_text != NULL)
			weft_buf_append(&resp->body, m->cfg_text, m->cfg_len);
	} else if (strcmp(req->path, "/config") == 0 && strcmp(req->method, "POST") == 0) {
		char err[WEFT_CFG_ERR_LEN];
		if (weft_mgmt_apply(m, req->body, req->body_len, "POST /config", err, sizeof(err)) == 0) {
			weft_buf_printf(&resp->body, "applied version %lu\n", (unsigned long)m->pub.version);
		} else {
			resp->status = 400;
			weft_buf_printf(&resp->body, "rejected: %s\n", err);
		}
	} else if (strcmp(req->path, "/clusters") == 0 && get) {
		/* Envoy-like text; ?format=json: the "clusters" array of /stats. */
		const struct weft_http_snap *hs = m->pub.slot != NULL ? m->pub.slot->http : NULL;
		if (strcmp(req->query, "format=json") == 0) {
			resp->content_type = "application/json";
			weft_stats_res_json(hs, &resp->body, "");
			weft_buf_putc(&resp->body, '\n');
		} else {
			weft_stats_res_clusters_text(hs, &resp->body);
		}
	} else if (strcmp(req->path, "/") == 0 && get) {
		weft_buf_puts(&resp->body, "weftd admin: /ready /stats /stats/prometheus /clusters /config/status "
					   "/config_dump POST /config\n");
	} else if (strcmp(req->path, "/tls/reload") == 0 && strcmp(req->method, "POST") == 0) {
		/* Rebuild every TLS context from its files now (what the file watch does on a change). */
		char err[WEFT_CFG_ERR_LEN];
		if (m->cfg_text == NULL) {
			resp->status = 503;
			weft_buf_puts(&resp->body, "no configuration applied yet\n");
		} else if (weft_mgmt_apply(m, m->cfg_text, m->cfg_len, "POST /tls/reload", err, sizeof(err)) == 0) {
			weft_buf_printf(&resp->body, "applied version %lu\n", (unsigned long)m->pub.version);
		} else {
			resp->status = 400;
			weft_buf_printf(&resp->body, "rejected: %s\n", err);
		}
	} else if (strcmp(req->path, "/") == 0 && get) {
		weft_buf_puts(&resp->body, "weftd admin: /ready /stats /stats/prometheus /config/status /config_dump "
					   "POST /config POST /tls/reload\n");
	} else {
		resp->status = 404;
		weft_buf_puts(&resp->body, "not found\n");
	}
}

int weft_mgmt_admin_open(struct weft_mgmt *m, char *err, size_t errlen)
{
	m->admin = weft_admin_open(&m->cfg.admin, handle, m, err, errlen);
	return m->admin != NULL ? 0 : -1;
}

/*
 * A changed config file is applied like a SIGHUP. The file counts as changed
 * when its modification time, size or inode differ from the last look (an
 * editor that writes a new file and renames it changes the inode). A file
 * caught half written fails to parse and is refused like any bad file; the
 * write that completes it changes the file again and is picked up then.
 */
static void watch_file(struct weft_mgmt *m)
{
	struct stat st;

	if (m->cfg_path[0] == '\0' || stat(m->cfg_path, &st) != 0)
		return;
	int64_t mt = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
	bool changed = m->cfg_seen && (mt != m->cfg_mtime_ns || (int64_t)st.st_size != m->cfg_size ||
				       (uint64_t)st.st_ino != m->cfg_ino);
	m->cfg_seen = true;
	m->cfg_mtime_ns = mt;
	m->cfg_size = (int64_t)st.st_size;
	m->cfg_ino = (uint64_t)st.st_ino;
	if (changed) {
		fprintf(stderr, "weftd: %s changed, reloading\n", m->cfg_path);
		reload_file(m);
	}
}

/*
 * Certificates, keys, bundles and CRLs: hashed once a second; a change
 * rebuilds the snapshot from the applied configuration, so new handshakes
 * use the new files while established connections keep their contexts. A
 * rebuild that is refused (an expired certificate, a key that does not
 * match) leaves the old contexts serving and is not retried until the files
 * change again.
 */
static void watch_tls(struct weft_mgmt *m)
{
#ifdef WEFT_HAVE_TLS
	char err[WEFT_CFG_ERR_LEN];

	weft_tls_tick();
	if (m->cfg_text == NULL || !weft_tls_files_changed(&m->cfg, m->pub.slot))
		return;
	uint64_t seen = weft_tls_files_hash(&m->cfg);
	if (m->tls_refused && seen == m->tls_refused_hash)
		return;
	fprintf(stderr, "weftd: TLS files changed, rebuilding contexts\n");
	m->tls_refused = weft_mgmt_apply(m, m->cfg_text, m->cfg_len, "TLS file watch", err, sizeof(err)) != 0;
	m->tls_refused_hash = seen;
#else
	(void)m;
#endif
}

void weft_mgmt_loop(struct weft_mgmt *m)
{
	struct timespec last, now;
	uint64_t last_tick_ms = 0;

	weft_stats_sampler_init(&m->sampler);
	watch_file(m); /* the file as it was applied at start-up */
	clock_gettime(CLOCK_MONOTONIC, &last);
	while (!weft_sig_stop) {
		/* Wait for the admin API until the next resilience tick is due, not a whole period
		 * from now: with scrapes waking the poll, a fixed 100 ms let ticks slip to ~200 ms. */
		clock_gettime(CLOCK_MONOTONIC, &now);
		uint64_t since = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000 - last_tick_ms;
		weft_admin_poll(m->admin, since >= WEFT_RT_TICK_MS ? 0 : (int)(WEFT_RT_TICK_MS - since));
		if (weft_sig_reload) {
			weft_sig_reload = 0;
			reload_file(m);
			watch_file(m); /* what SIGHUP applied is the file as it is now */
		}
		weft_publisher_reclaim(&m->pub);
		clock_gettime(CLOCK_MONOTONIC, &now);
		/* Outlier detection and the usable-endpoint views: every WEFT_RT_TICK_MS (100 ms). */
		uint64_t now_ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
		if (now_ms - last_tick_ms >= WEFT_RT_TICK_MS) {
			weft_resilience_tick(m->pub.slot, now_ms);
			last_tick_ms = now_ms;
		}
		if (now.tv_sec > last.tv_sec) {
			struct weft_stats_view v;
			fill_view(m, &v);
			weft_stats_sample(&m->sampler, &v);
			watch_file(m);
			watch_tls(m);
			last = now;
		}
	}
}
