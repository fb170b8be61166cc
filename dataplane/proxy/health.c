/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Active health checks on a worker (see health.h for the behaviour).
 *
 * State: one slot per endpoint this worker checks, in an array sized for the
 * largest config (slots never move, so a slot's address is the user pointer
 * of its check connection), a packed list of the slots in use for the scans,
 * and an open-addressing index by (cluster, address, port) rebuilt whenever
 * the snapshot changes.
 *
 * Indexes into the snapshot (cluster, endpoint) are valid for the snapshot
 * version the slots were last matched against (hw->version). Every entry
 * point calls hc_sync() first, which matches them again when the worker
 * loaded a newer snapshot, so no stale index is ever used.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_common.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

#include "dataplane/http/h1.h"
#include "dataplane/proxy/health.h"
#include "dataplane/tcp/tcp.h"
#ifdef WEFT_HAVE_TLS
#include "dataplane/tls/tls_ulp.h"
#endif
#include "policy/httpcfg.h"
#include "policy/lb.h"
#include "policy/resilience.h"

#define HC_MAX_EPS WEFT_CFG_MAX_ENDPOINTS
#define HC_INDEX_SIZE 8192u /* a power of two, at least twice HC_MAX_EPS */
#define HC_INDEX_MASK (HC_INDEX_SIZE - 1)
#define HC_LINE 128u        /* status line bytes kept; the status is in the first 13 */
#define HC_SNDBUF 2048u     /* the request is at most ~600 bytes */
#define HC_RCVBUF 4096u     /* what follows the status line is read and dropped */

_Static_assert(HC_INDEX_SIZE >= 2 * HC_MAX_EPS, "health-check index too small");

enum hc_phase {
	HC_IDLE,     /* waiting for due_ms to start the next check */
	HC_CONNECT,  /* handshake in flight; due_ms is the check's deadline */
	HC_RESPONSE, /* http: request sent, reading the status line; due_ms is the deadline */
	HC_DRAIN,    /* http: verdict given, waiting for the server's close until due_ms */
};

struct hc_ep {
	/* identity across snapshots */
	char cluster[WEFT_CFG_NAME_LEN];
	struct weft_ip addr;
	uint16_t port;
	bool used;
	bool healthy;
	bool tls;        /* the check in flight originates TLS (the cluster's tls block) */
	uint8_t phase;   /* enum hc_phase */
	uint8_t kind;    /* enum weft_hc_kind */
	/* position in the snapshot of version hw->version */
	uint16_t cl;     /* index into snap->http->clusters */
	uint16_t ep;     /* index in the cluster's balancer */
	uint32_t live;   /* position in hw->live */
	uint32_t run;    /* consecutive failures while healthy, successes while unhealthy */
	uint32_t interval_ms, jitter_ms, timeout_ms, healthy_thr, unhealthy_thr;
	uint64_t seen;   /* hw->gen of the last match */
	uint64_t due_ms;
	uint64_t next_ms; /* HC_DRAIN: when the next check starts */
	struct tcp_conn *c;
	uint32_t line_len;
	char line[HC_LINE];
};

struct hc_worker {
	struct weft_worker *w;
	uint64_t tsc_per_ms;
	uint64_t version;   /* snapshot version the slots are matched against; 0: none yet */
	uint64_t gen;
	uint64_t next_due;  /* earliest due_ms of any slot */
	struct h1_prng prng;
	uint32_t n_live;
	uint32_t n_free;
	uint32_t live[HC_MAX_EPS];  /* slots in use */
	uint32_t free[HC_MAX_EPS];  /* slots free (a stack) */
	uint16_t index[HC_INDEX_SIZE]; /* slot + 1, 0: empty */
	struct health_stats st;
	struct hc_ep eps[HC_MAX_EPS];
};

static struct hc_worker *hc_by_worker[WEFT_MAX_WORKERS];

#define HC_X_NAME(f, h) #f,
#define HC_X_HELP(f, h) h,
const char *const health_stat_name[HEALTH_STAT_MAX] = {HEALTH_STATS(HC_X_NAME)};
const char *const health_stat_help[HEALTH_STAT_MAX] = {HEALTH_STATS(HC_X_HELP)};
#undef HC_X_NAME
#undef HC_X_HELP
#define HC_X_FNAME(e, n, h) n,
#define HC_X_FHELP(e, n, h) h,
const char *const health_failure_name[HEALTH_F_COUNT] = {HEALTH_FAILURES(HC_X_FNAME)};
const char *const health_failure_help[HEALTH_F_COUNT] = {HEALTH_FAILURES(HC_X_FHELP)};
#undef HC_X_FNAME
#undef HC_X_FHELP

#define HC_ST_ADD(hw, f, n) WEFT_CTR_ADD((hw)->st.stat[HEALTH_##f], (n))

static inline struct hc_worker *hc_of(const struct weft_worker *w)
{
	return w->id < WEFT_MAX_WORKERS ? hc_by_worker[w->id] : NULL;
}

static inline uint64_t hc_now_ms(const struct hc_worker *hw)
{
	return hw->w->now / hw->tsc_per_ms;
}

/* Bytes of an address that identify it (the union's unused tail is not compared). */
static size_t ip_len(const struct weft_ip *ip)
{
	return ip->af == 4 ? 4 : 16;
}

static bool same_ep(const struct hc_ep *e, const char *cluster, const struct weft_ip *addr, uint16_t port)
{
	return e->port == port && e->addr.af == addr->af && memcmp(&e->addr.v4, &addr->v4, ip_len(addr)) == 0 &&
	       strcmp(e->cluster, cluster) == 0;
}

/* Which worker checks addr:port. The same on every worker: only the address and port go in. */
static unsigned owner_of(const struct weft_ip *addr, uint16_t port, unsigned n_workers)
{
	uint8_t key[19] = {0};

	key[0] = addr->af;
	memcpy(&key[1], &addr->v4, ip_len(addr));
	key[17] = (uint8_t)(port >> 8);
	key[18] = (uint8_t)port;
	return n_workers > 1 ? (unsigned)(weft_hash64(key, sizeof(key), 0x6865616c7468ULL) % n_workers) : 0;
}

static uint32_t key_of(const char *cluster, const struct weft_ip *addr, uint16_t port)
{
	uint64_t h = weft_hash64(cluster, strlen(cluster), port);
	return (uint32_t)weft_hash64(&addr->v4, ip_len(addr), h);
}

static void index_put(struct hc_worker *hw, uint32_t slot)
{
	const struct hc_ep *e = &hw->eps[slot];

	for (uint32_t i = key_of(e->cluster, &e->addr, e->port) & HC_INDEX_MASK;; i = (i + 1) & HC_INDEX_MASK)
		if (hw->index[i] == 0) {
			hw->index[i] = (uint16_t)(slot + 1);
			return;
		}
}

static struct hc_ep *index_find(struct hc_worker *hw, const char *cluster, const struct weft_ip *addr, uint16_t port)
{
	for (uint32_t i = key_of(cluster, addr, port) & HC_INDEX_MASK; hw->index[i] != 0; i = (i + 1) & HC_INDEX_MASK) {
		struct hc_ep *e = &hw->eps[hw->index[i] - 1];
		if (same_ep(e, cluster, addr, port))
			return e;
	}
	return NULL;
}

static void set_due(struct hc_worker *hw, struct hc_ep *e, uint64_t t)
{
	e->due_ms = t;
	if (t < hw->next_due)
		hw->next_due = t;
}

static uint64_t jitter(struct hc_worker *hw, uint32_t max_ms)
{
	return max_ms ? h1_prng_next(&hw->prng) % ((uint64_t)max_ms + 1) : 0;
}

/* The snapshot's cluster of a matched slot (valid after hc_sync()). */
static const struct weft_http_cluster *cluster_of(const struct hc_worker *hw, const struct hc_ep *e)
{
	const struct weft_snapshot *s = hw->w->snap;
	return s != NULL && s->http != NULL && e->cl < s->http->n_clusters ? &s->http->clusters[e->cl] : NULL;
}

static void publish(struct hc_worker *hw, const struct hc_ep *e)
{
	const struct weft_http_cluster *hc = cluster_of(hw, e);

	if (hc != NULL && hc->rt != NULL && e->ep < weft_lb_size(hc->lb))
		weft_hc_set(hc->rt, e->ep, e->healthy);
}

/* Drop the check in flight, if any (an RST; no callback follows). */
static void conn_abort(struct hc_worker *hw, struct hc_ep *e)
{
	if (e->c != NULL) {
		tcp_abort(hw->w, e->c);
		e->c = NULL;
	}
}

/*
 * A check ended: count it, move the endpoint's run and maybe its health,
 * and schedule the next check interval_ms + jitter from now.
 */
static void verdict(struct hc_worker *hw, struct hc_ep *e, bool ok, enum health_failure why)
{
	uint64_t now = hc_now_ms(hw);

	if (ok) {
		HC_ST_ADD(hw, successes, 1);
		if (e->healthy) {
			e->run = 0;
		} else if (++e->run >= e->healthy_thr) {
			e->healthy = true;
			e->run = 0;
			HC_ST_ADD(hw, became_healthy, 1);
			WEFT_CTR_ADD(hw->st.unhealthy, -1);
			publish(hw, e);
		}
	} else {
		HC_ST_ADD(hw, failures, 1);
		WEFT_CTR_ADD(hw->st.failure[why], 1);
		if (!e->healthy) {
			e->run = 0;
		} else if (++e->run >= e->unhealthy_thr) {
			e->healthy = false;
			e->run = 0;
			HC_ST_ADD(hw, became_unhealthy, 1);
			WEFT_CTR_ADD(hw->st.unhealthy, 1);
			publish(hw, e);
		}
	}
	e->next_ms = now + e->interval_ms + jitter(hw, e->jitter_ms);
	if (e->phase == HC_DRAIN) {
		/* Wait for the server's close no longer than the check's deadline or the next check. */
		set_due(hw, e, e->due_ms < e->next_ms ? e->due_ms : e->next_ms);
	} else {
		e->phase = HC_IDLE;
		set_due(hw, e, e->next_ms);
	}
}

static void event(struct weft_worker *w, struct tcp_conn *c, enum tcp_event ev, void *user);

/* The TLS a cluster's connections originate (NULL: plaintext, or a build without TLS); checks speak it too. */
static struct tls_ulp_cfg *tls_of(const struct hc_worker *hw, const struct hc_ep *e)
{
	const struct weft_snapshot *s = hw->w->snap;
	return s != NULL && e->cl < WEFT_L4_MAX_CLUSTERS ? s->tls_cluster[e->cl] : NULL;
}

static void check_start(struct hc_worker *hw, struct hc_ep *e)
{
	struct tcp_accept opt = {.fn = event, .user = e, .sndbuf = HC_SNDBUF, .rcvbuf = HC_RCVBUF};
	struct tls_ulp_cfg *tls = tls_of(hw, e);
	int err = 0;

	HC_ST_ADD(hw, checks, 1);
	e->line_len = 0;
	if (tls != NULL) {
		/* Room for the handshake's records (certificates) both ways. */
		opt.sndbuf = opt.rcvbuf = 0;
	}
	e->c = tcp_connect_ex(hw->w, &e->addr, e->port, &opt, &err);
#ifdef WEFT_HAVE_TLS
	if (e->c != NULL && tls != NULL && tls_ulp_connect(hw->w, e->c, tls, event, e) != 0) {
		tcp_abort(hw->w, e->c);
		e->c = NULL;
	}
#endif
	if (e->c == NULL) {
		e->phase = HC_IDLE;
		verdict(hw, e, false, HEALTH_F_CONNECT_ERROR);
		return;
	}
	e->tls = tls != NULL;
	e->phase = HC_CONNECT;
	set_due(hw, e, hc_now_ms(hw) + e->timeout_ms);
}

/* The check's deadline or the drain's end passed. */
static void check_expire(struct hc_worker *hw, struct hc_ep *e)
{
	conn_abort(hw, e);
	if (e->phase == HC_DRAIN) {
		e->phase = HC_IDLE;
		set_due(hw, e, e->next_ms);
		return;
	}
	e->phase = HC_IDLE;
	verdict(hw, e, false, HEALTH_F_TIMEOUT);
}

static void slot_free(struct hc_worker *hw, struct hc_ep *e)
{
	uint32_t slot = (uint32_t)(e - hw->eps);
	uint32_t pos = e->live;

	conn_abort(hw, e);
	if (!e->healthy)
		WEFT_CTR_ADD(hw->st.unhealthy, -1);
	WEFT_CTR_ADD(hw->st.endpoints, -1);
	e->used = false;
	hw->live[pos] = hw->live[--hw->n_live];
	hw->eps[hw->live[pos]].live = pos;
	hw->free[hw->n_free++] = slot;
}

/*
 * Match the slots against the worker's current snapshot when its version
 * changed: keep the endpoints that stay (by cluster name, address and port),
 * add new ones (healthy, first check within jitter_ms), drop the others, and
 * write every verdict into the new snapshot's cluster state, so the pickers
 * never see a checked endpoint forget its health across a reload.
 */
static void hc_sync(struct hc_worker *hw)
{
	struct weft_worker *w = hw->w;
	const struct weft_snapshot *s = w->snap;
	const struct weft_http_snap *h;
	uint64_t now;

	if (s == NULL || s->version == hw->version)
		return;
	hw->version = s->version;
	hw->gen++;
	now = hc_now_ms(hw);
	memset(hw->index, 0, sizeof(hw->index));
	for (uint32_t i = 0; i < hw->n_live; i++)
		index_put(hw, hw->live[i]);

	h = s->http;
	for (unsigned ci = 0; h != NULL && ci < h->n_clusters; ci++) {
		const struct weft_http_cluster *cl = &h->clusters[ci];
		const struct weft_health_check_cfg *cfg = &cl->hc;
		unsigned n = cl->lb != NULL ? weft_lb_size(cl->lb) : 0;

		if (cfg->kind == WEFT_HC_NONE)
			continue;
		for (unsigned i = 0; i < n; i++) {
			const struct weft_lb_endpoint *le = weft_lb_endpoint(cl->lb, i);
			struct hc_ep *e;

			if (owner_of(&le->addr, le->port, w->n_workers) != w->id)
				continue;
			e = index_find(hw, cl->name, &le->addr, le->port);
			if (e != NULL && e->seen == hw->gen)
				continue; /* listed twice: the loader refuses that, but never check one endpoint twice */
			if (e == NULL) {
				if (hw->n_free == 0)
					continue; /* cannot happen: slots for every endpoint a config can hold */
				uint32_t slot = hw->free[--hw->n_free];
				e = &hw->eps[slot];
				memset(e, 0, sizeof(*e));
				snprintf(e->cluster, sizeof(e->cluster), "%s", cl->name);
				e->addr = le->addr;
				e->port = le->port;
				e->used = true;
				e->healthy = true;
				e->phase = HC_IDLE;
				e->kind = (uint8_t)cfg->kind;
				e->live = hw->n_live;
				hw->live[hw->n_live++] = slot;
				index_put(hw, slot);
				WEFT_CTR_ADD(hw->st.endpoints, 1);
				e->due_ms = now + jitter(hw, cfg->jitter_ms);
			} else if (e->kind != (uint8_t)cfg->kind) {
				/* tcp <-> http: the check in flight speaks the other kind; start over. */
				conn_abort(hw, e);
				e->phase = HC_IDLE;
				e->kind = (uint8_t)cfg->kind;
				e->due_ms = now + jitter(hw, cfg->jitter_ms);
			}
			e->seen = hw->gen;
			e->cl = (uint16_t)ci;
			e->ep = (uint16_t)i;
			e->interval_ms = cfg->interval_ms;
			e->jitter_ms = cfg->jitter_ms;
			e->timeout_ms = cfg->timeout_ms;
			e->healthy_thr = cfg->healthy_threshold ? cfg->healthy_threshold : 1;
			e->unhealthy_thr = cfg->unhealthy_threshold ? cfg->unhealthy_threshold : 1;
			if (e->run >= (e->healthy ? e->unhealthy_thr : e->healthy_thr))
				e->run = 0; /* a lowered threshold: count afresh rather than flip on no new evidence */
			publish(hw, e);
		}
	}
	for (uint32_t i = 0; i < hw->n_live;) {
		struct hc_ep *e = &hw->eps[hw->live[i]];
		if (e->seen != hw->gen)
			slot_free(hw, e); /* moves the last live slot to i */
		else
			i++;
	}
	hw->next_due = 0; /* rescan: due times were added and removed */
}

static bool status_expected(const struct weft_health_check_cfg *cfg, unsigned status)
{
	for (unsigned i = 0; i < cfg->n_status && i < WEFT_HC_MAX_STATUS_RANGES; i++)
		if (status >= cfg->status_lo[i] && status <= cfg->status_hi[i])
			return true;
	return false;
}

/* http: the handshake completed; send the request. */
static void send_request(struct hc_worker *hw, struct hc_ep *e)
{
	const struct weft_http_cluster *cl = cluster_of(hw, e);
	char req[640];
	int len;

	if (cl == NULL)
		return;
	len = snprintf(req, sizeof(req),
		       "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: weft-health-check\r\nConnection: close\r\n\r\n",
		       cl->hc.path, cl->hc.host);
	if (len < 0 || (size_t)len >= sizeof(req) || tcp_send(hw->w, e->c, req, (size_t)len) != len) {
		/* Cannot happen with the config's limits and an empty send buffer; count it as a reset. */
		conn_abort(hw, e);
		verdict(hw, e, false, HEALTH_F_RESET);
		return;
	}
	e->phase = HC_RESPONSE;
}

/* Read and drop whatever arrived. */
static void discard(struct hc_worker *hw, struct hc_ep *e)
{
	struct rte_mbuf *m;

	while (e->c != NULL && (m = tcp_recv(hw->w, e->c, UINT32_MAX)) != NULL)
		rte_pktmbuf_free(m);
}

/* http: read towards the status line; give the verdict once it is complete. */
static void read_status(struct hc_worker *hw, struct hc_ep *e)
{
	const struct weft_http_cluster *cl = cluster_of(hw, e);
	struct h1_field f[1];
	struct h1_response r = {.fields = f, .max_fields = 1};
	struct h1_parser p;
	const char *nl;
	size_t upto;
	int rc;

	e->line_len += (uint32_t)tcp_recv_copy(hw->w, e->c, e->line + e->line_len, HC_LINE - e->line_len);
	nl = memchr(e->line, '\n', e->line_len);
	upto = nl != NULL ? (size_t)(nl - e->line) + 1 : e->line_len;
	/* At most HC_LINE bytes: parsing from the start each time costs less than keeping state. */
	h1_parser_init(&p, NULL);
	rc = h1_parse_response(&p, e->line, upto, &r);
	if (rc == H1_ERROR) {
		e->phase = HC_DRAIN;
		verdict(hw, e, false, HEALTH_F_BAD_RESPONSE);
	} else if (nl != NULL || e->line_len == HC_LINE) {
		/* A status line longer than HC_LINE: its status code was parsed and checked all the same. */
		e->phase = HC_DRAIN;
		if (r.status == 0)
			verdict(hw, e, false, HEALTH_F_BAD_RESPONSE);
		else if (cl != NULL && status_expected(&cl->hc, r.status))
			verdict(hw, e, true, 0);
		else
			verdict(hw, e, false, HEALTH_F_BAD_STATUS);
	}
	if (e->phase == HC_DRAIN)
		discard(hw, e);
}

static void event(struct weft_worker *w, struct tcp_conn *c, enum tcp_event ev, void *user)
{
	struct hc_worker *hw = hc_of(w);
	struct hc_ep *e = user;

	if (hw == NULL)
		return;
	/* A reload may have dropped this endpoint (its connection is then aborted) or reused its slot. */
	hc_sync(hw);
	if (!e->used || e->c != c)
		return;

	switch (ev) {
	case TCP_EV_ESTABLISHED:
		if (e->phase != HC_CONNECT)
			break;
		if (e->kind == WEFT_HC_TCP) {
			conn_abort(hw, e);
			verdict(hw, e, true, 0);
		} else {
			send_request(hw, e);
		}
		break;
	case TCP_EV_READABLE:
		if (e->phase == HC_RESPONSE)
			read_status(hw, e);
		else
			discard(hw, e);
		break;
	case TCP_EV_WRITABLE:
		break;
	case TCP_EV_PEER_CLOSED:
		if (e->phase == HC_RESPONSE) {
			read_status(hw, e);
			if (e->phase == HC_RESPONSE) {
				/* Closed before a whole status line. */
				e->phase = HC_DRAIN;
				verdict(hw, e, false, HEALTH_F_RESET);
			}
		}
		discard(hw, e);
		/* We asked for the close: finish it (no TIME_WAIT on our side, the server closed first). */
		tcp_close(w, c);
		e->c = NULL;
		if (e->phase == HC_DRAIN) {
			e->phase = HC_IDLE;
			set_due(hw, e, e->next_ms);
		} else if (e->phase != HC_IDLE) {
			e->phase = HC_IDLE;
			verdict(hw, e, false, HEALTH_F_RESET);
		}
		break;
	case TCP_EV_RESET:
	case TCP_EV_CLOSED:
		/* The stack frees c after we return. */
		e->c = NULL;
		switch (e->phase) {
		case HC_CONNECT:
			/* With TLS the layer reports a refused connection and a failed handshake alike. */
			e->phase = HC_IDLE;
			verdict(hw, e, false, e->tls ? HEALTH_F_TLS : HEALTH_F_CONNECT_REFUSED);
			break;
		case HC_RESPONSE:
			e->phase = HC_IDLE;
			verdict(hw, e, false, HEALTH_F_RESET);
			break;
		case HC_DRAIN:
			e->phase = HC_IDLE;
			set_due(hw, e, e->next_ms);
			break;
		default:
			break;
		}
		break;
	}
}

void health_timers(struct weft_worker *w)
{
	struct hc_worker *hw = hc_of(w);
	uint64_t now, next = UINT64_MAX;

	if (hw == NULL)
		return;
	hc_sync(hw);
	now = hc_now_ms(hw);
	if (now < hw->next_due)
		return;
	for (uint32_t i = 0; i < hw->n_live; i++) {
		struct hc_ep *e = &hw->eps[hw->live[i]];
		if (now >= e->due_ms) {
			if (e->phase == HC_IDLE)
				check_start(hw, e);
			else
				check_expire(hw, e);
		}
		if (e->due_ms < next)
			next = e->due_ms;
	}
	/* next covers every slot as the loop left it; no event fires during the loop. */
	hw->next_due = next;
}

int health_init(struct weft_worker *w)
{
	int socket = (int)rte_lcore_to_socket_id(w->lcore);
	struct hc_worker *hw;

	if (w->tcp == NULL || w->id >= WEFT_MAX_WORKERS || hc_by_worker[w->id] != NULL)
		return -EINVAL;
	if (socket < 0 || socket >= RTE_MAX_NUMA_NODES)
		socket = SOCKET_ID_ANY;
	hw = rte_zmalloc_socket("weft_health", sizeof(*hw), RTE_CACHE_LINE_SIZE, socket);
	if (hw == NULL)
		return -ENOMEM;
	hw->w = w;
	hw->tsc_per_ms = w->hz >= 1000 ? w->hz / 1000 : 1;
	h1_prng_seed(&hw->prng, w->hz ^ ((uint64_t)w->id << 40) ^ (uint64_t)(uintptr_t)hw ^ 0x6863ULL);
	for (uint32_t i = HC_MAX_EPS; i-- > 0;)
		hw->free[hw->n_free++] = i;
	hc_by_worker[w->id] = hw;
	return 0;
}

void health_free(struct weft_worker *w)
{
	struct hc_worker *hw = hc_of(w);

	if (hw == NULL)
		return;
	/* The stack frees the connections; nothing else is held. */
	hc_by_worker[w->id] = NULL;
	rte_free(hw);
}

const struct health_stats *health_stats(const struct weft_worker *w)
{
	const struct hc_worker *hw = hc_of(w);
	return hw != NULL ? &hw->st : NULL;
}
