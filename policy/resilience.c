/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Retry decisions, circuit breakers, the retry budget, outlier detection and
 * the usable-endpoint view (policy/resilience.h).
 *
 * Memory ordering, in one place:
 *  - A worker's slots (struct weft_rt_worker, struct weft_rt_ep_slot) have
 *    one writer, that worker: it updates them with a relaxed load and a
 *    relaxed store (no read-modify-write is needed with one writer). Other
 *    workers (breaker sums) and the management thread read them relaxed: a
 *    count a few nanoseconds old is as good as the current one.
 *  - A slot's streaks belong to the endpoint generation in slot->gen. A
 *    worker that sees a new generation zeroes its streaks and then stores
 *    the generation with release; the management thread loads slot->gen with
 *    acquire before the streaks, so the streaks it reads are never older than
 *    the generation it compares.
 *  - weft_rt_ep.gen and .hc_down are written relaxed by their one writer and
 *    read relaxed: each is a single word, and nothing else is published with it.
 *  - The usable view is double-buffered and sequenced: the management thread
 *    fills the view workers are not told about as a seqlock writer (odd seq,
 *    fields, even seq with release) and switches rt->cur with release;
 *    pickers copy it with weft_rt_view_read() (acquire, copy, fence, recheck).
 */
#include "policy/resilience.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/httpcfg.h"
#include "policy/route.h"
#include "policy/snapshot.h"

#define LD(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define ST(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)
/* One writer: no read-modify-write needed (see above). */
#define INC(x) ST(x, LD(x) + 1)

/* ------------------------------------------------------------------------ */
/* Retry decisions                                                           */
/* ------------------------------------------------------------------------ */

static const char *const cause_names[WEFT_RETRY_CAUSE_N] = {
	[WEFT_RETRY_CONNECT_FAILURE] = "connect_failure", [WEFT_RETRY_REFUSED_STREAM] = "refused_stream",
	[WEFT_RETRY_RESET] = "reset",			  [WEFT_RETRY_STATUS] = "status",
	[WEFT_RETRY_PER_TRY_TIMEOUT] = "per_try_timeout",
};

const char *weft_retry_cause_name(enum weft_retry_cause c)
{
	return (unsigned)c < WEFT_RETRY_CAUSE_N ? cause_names[c] : "unknown";
}

bool weft_retry_idempotent(uint32_t method_bit)
{
	return (method_bit & (WEFT_HTTP_M_GET | WEFT_HTTP_M_HEAD | WEFT_HTTP_M_OPTIONS | WEFT_HTTP_M_TRACE |
			      WEFT_HTTP_M_PUT | WEFT_HTTP_M_DELETE)) != 0 &&
	       (method_bit & (method_bit - 1)) == 0;
}

static bool status_listed(const struct weft_retry_policy *p, unsigned status)
{
	for (uint32_t i = 0; i < p->n_status && i < WEFT_RETRY_MAX_STATUS; i++)
		if (p->status[i] == status)
			return true;
	return false;
}

bool weft_retry_wanted(const struct weft_retry_policy *p, enum weft_retry_cause c, unsigned status,
		       bool idempotent, bool reached_upstream)
{
	uint32_t on = p->retry_on;
	bool want = false;

	if (p->num_retries == 0)
		return false;
	/* Replaying a request the upstream may have acted on is only safe when it is idempotent. */
	if (reached_upstream && !idempotent)
		return false;
	switch (c) {
	case WEFT_RETRY_CONNECT_FAILURE:
		want = on & (WEFT_RETRY_ON_CONNECT_FAILURE | WEFT_RETRY_ON_5XX);
		break;
	case WEFT_RETRY_REFUSED_STREAM:
		want = on & (WEFT_RETRY_ON_REFUSED_STREAM | WEFT_RETRY_ON_5XX);
		break;
	case WEFT_RETRY_RESET:
		want = on & (WEFT_RETRY_ON_RESET | WEFT_RETRY_ON_5XX);
		break;
	case WEFT_RETRY_PER_TRY_TIMEOUT:
		/* Weft answers a timed-out try with 504 itself: a gateway error, and a kind of reset. */
		want = on & (WEFT_RETRY_ON_5XX | WEFT_RETRY_ON_GATEWAY_ERROR | WEFT_RETRY_ON_RESET);
		break;
	case WEFT_RETRY_STATUS:
		if ((on & WEFT_RETRY_ON_5XX) && status >= 500 && status <= 599)
			want = true;
		if ((on & WEFT_RETRY_ON_GATEWAY_ERROR) && (status == 502 || status == 503 || status == 504))
			want = true;
		if ((on & WEFT_RETRY_ON_RETRIABLE_STATUS) && status_listed(p, status))
			want = true;
		break;
	default:
		break;
	}
	return want;
}

uint32_t weft_retry_backoff_ms(const struct weft_retry_policy *p, unsigned retry_no, uint64_t rnd)
{
	uint64_t ceil = p->base_interval_ms;

	if (ceil == 0 || retry_no == 0)
		return 0;
	/* base * 2^(retry_no - 1), saturating at the maximum (no shift past 63 bits). */
	for (unsigned i = 1; i < retry_no && ceil < p->max_interval_ms; i++)
		ceil <<= 1;
	if (ceil > p->max_interval_ms)
		ceil = p->max_interval_ms;
	/* Full jitter: uniform over the ceil + 1 values 0..ceil (multiply-shift, no modulo bias to speak of). */
	return (uint32_t)(((unsigned __int128)rnd * (ceil + 1)) >> 64);
}

/* ------------------------------------------------------------------------ */
/* Names                                                                     */
/* ------------------------------------------------------------------------ */

static const char *const breaker_names[WEFT_BRK_N] = {
	[WEFT_BRK_CONNECTIONS] = "max_connections",
	[WEFT_BRK_PENDING] = "max_pending_requests",
	[WEFT_BRK_REQUESTS] = "max_requests",
	[WEFT_BRK_RETRIES] = "max_retries",
};

const char *weft_breaker_name(enum weft_breaker b)
{
	return (unsigned)b < WEFT_BRK_N ? breaker_names[b] : "unknown";
}

static const char *const eject_names[WEFT_EJECT_N] = {
	[WEFT_EJECT_CONSECUTIVE_5XX] = "consecutive_5xx",
	[WEFT_EJECT_CONSECUTIVE_GATEWAY] = "consecutive_gateway_failure",
	[WEFT_EJECT_CONSECUTIVE_LOCAL] = "consecutive_local_origin_failure",
	[WEFT_EJECT_SUCCESS_RATE] = "success_rate",
};

const char *weft_eject_reason_name(enum weft_eject_reason r)
{
	return (unsigned)r < WEFT_EJECT_N ? eject_names[r] : "unknown";
}

enum weft_outcome weft_outcome_of_status(unsigned status)
{
	if (status == 502 || status == 503 || status == 504)
		return WEFT_OUT_GATEWAY;
	if (status >= 500 && status <= 599)
		return WEFT_OUT_5XX;
	return WEFT_OUT_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* Allocation                                                                */
/* ------------------------------------------------------------------------ */

static void *zalloc64(size_t n)
{
	size_t sz = (n + 63) & ~(size_t)63;
	void *p = aligned_alloc(64, sz ? sz : 64);

	if (p != NULL)
		memset(p, 0, sz ? sz : 64);
	return p;
}

static bool same_addr(const struct weft_rt_ep *a, const struct weft_ip *ip, uint16_t port)
{
	if (a->port != port || a->addr.af != ip->af)
		return false;
	return ip->af == 4 ? a->addr.v4 == ip->v4 : memcmp(a->addr.v6, ip->v6, 16) == 0;
}

static uint64_t slot_sum(const struct weft_cluster_rt *rt, unsigned ep, enum weft_outcome o)
{
	uint64_t s = 0;

	for (unsigned w = 0; w < rt->n_workers; w++)
		s += LD(rt->slot[(size_t)w * rt->n_ep + ep].n[o]);
	return s;
}

/* Write the view workers do not read, then switch to it. Management thread. */
static void publish_view(struct weft_cluster_rt *rt)
{
	uint32_t cur = __atomic_load_n(&rt->cur, __ATOMIC_RELAXED) & 1;
	const struct weft_rt_view *old = &rt->view[cur];
	struct weft_rt_view nv;

	memset(&nv, 0, sizeof(nv));
	for (unsigned i = 0; i < rt->n_ep; i++) {
		if (rt->ep[i].ejected || LD(rt->ep[i].hc_down))
			continue;
		nv.usable[i / 64] |= UINT64_C(1) << (i % 64);
		nv.n_usable++;
	}
	/* Envoy's healthy_panic_threshold: too few left to carry the load, so spread it over everyone. */
	nv.panic = (uint64_t)nv.n_usable * 100 < (uint64_t)rt->panic_threshold_percent * rt->n_ep;
	if (rt->view_published && nv.n_usable == old->n_usable && nv.panic == old->panic &&
	    memcmp(nv.usable, old->usable, sizeof(nv.usable)) == 0)
		return;
	/*
	 * Seqlock writer on the spare view: odd seq, then the fields, then the
	 * next even seq with release; a reader that copied across the rewrite
	 * sees seq change and copies again. Then the switch, with release.
	 */
	struct weft_rt_view *t = &rt->view[cur ^ 1];
	uint32_t seq = t->seq;
	ST(t->seq, seq + 1);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	ST(t->n_usable, nv.n_usable);
	ST(t->panic, nv.panic);
	for (unsigned w = 0; w < WEFT_RT_WORDS; w++)
		ST(t->usable[w], nv.usable[w]);
	__atomic_store_n(&t->seq, seq + 2, __ATOMIC_RELEASE);
	__atomic_store_n(&rt->cur, cur ^ 1, __ATOMIC_RELEASE);
	rt->view_published = true;
}

struct weft_cluster_rt *weft_cluster_rt_new(const struct weft_config *cfg, const struct weft_cluster_cfg *c,
					    unsigned n_workers, const struct weft_cluster_rt *prev)
{
	struct weft_cluster_rt *rt = calloc(1, sizeof(*rt));
	unsigned n = c->n_endpoints;

	if (rt == NULL)
		return NULL;
	if (n_workers == 0)
		n_workers = 1;
	if (n_workers > WEFT_RT_MAX_WORKERS)
		n_workers = WEFT_RT_MAX_WORKERS;
	if (n > WEFT_RT_MAX_ENDPOINTS)
		n = WEFT_RT_MAX_ENDPOINTS;
	snprintf(rt->name, sizeof(rt->name), "%s", c->name);
	rt->n_workers = n_workers;
	rt->n_ep = n;
	rt->brk = c->breakers;
	rt->od = c->outlier;
	rt->panic_threshold_percent = c->panic_threshold_percent;
	rt->w = zalloc64(n_workers * sizeof(*rt->w));
	rt->slot = zalloc64((size_t)n_workers * (n ? n : 1) * sizeof(*rt->slot));
	rt->ep = calloc(n ? n : 1, sizeof(*rt->ep));
	rt->seen_trips = calloc((size_t)n_workers * (n ? n : 1) * WEFT_RT_STREAKS, sizeof(*rt->seen_trips));
	if (rt->w == NULL || rt->slot == NULL || rt->ep == NULL || rt->seen_trips == NULL) {
		weft_cluster_rt_free(rt);
		return NULL;
	}
	for (unsigned i = 0; i < n; i++) {
		const struct weft_endpoint_cfg *e = &cfg->endpoints[c->first_endpoint + i];
		struct weft_rt_ep *x = &rt->ep[i];
		x->addr = e->addr;
		x->port = e->port;
		x->success_rate_ppm = -1;
		if (prev == NULL)
			continue;
		for (unsigned j = 0; j < prev->n_ep; j++) {
			const struct weft_rt_ep *o = &prev->ep[j];
			if (!same_addr(o, &e->addr, e->port))
				continue;
			x->hc_down = LD(o->hc_down);
			x->ejected = o->ejected && rt->od.enabled;
			x->reason = o->reason;
			x->times_ejected = o->times_ejected;
			x->ejected_until_ms = o->ejected_until_ms;
			x->calm_since_ms = o->calm_since_ms;
			x->ejections_total = o->ejections_total;
			x->success_rate_ppm = o->success_rate_ppm;
			for (int k = 0; k < WEFT_OUT_N; k++)
				x->base[k] = o->base[k] + slot_sum(prev, j, (enum weft_outcome)k);
			x->sr_total = o->sr_total;
			x->sr_success = o->sr_success;
			if (x->ejected)
				rt->n_ejected++;
			break;
		}
	}
	if (prev != NULL && strcmp(prev->name, c->name) == 0) {
		struct weft_rt_cluster_stats ps;
		weft_cluster_rt_stats(prev, &ps);
		memcpy(rt->base_overflow, ps.overflow, sizeof(rt->base_overflow));
		rt->base_budget_overflow = ps.budget_overflow;
		rt->base_retries = ps.retries;
		memcpy(rt->ejections_total, prev->ejections_total, sizeof(rt->ejections_total));
		rt->next_interval_ms = prev->next_interval_ms;
	}
	publish_view(rt);
	return rt;
}

void weft_cluster_rt_free(struct weft_cluster_rt *rt)
{
	if (rt == NULL)
		return;
	free(rt->w);
	free(rt->slot);
	free(rt->ep);
	free(rt->seen_trips);
	free(rt);
}

/* ------------------------------------------------------------------------ */
/* Workers: breakers, budget, outcomes, health                               */
/* ------------------------------------------------------------------------ */

static uint64_t active_sum(const struct weft_cluster_rt *rt, enum weft_breaker b)
{
	uint64_t s = 0;

	for (unsigned w = 0; w < rt->n_workers; w++)
		s += LD(rt->w[w].active[b]);
	return s;
}

static uint64_t limit_of(const struct weft_cluster_rt *rt, enum weft_breaker b)
{
	switch (b) {
	case WEFT_BRK_CONNECTIONS: return rt->brk.max_connections;
	case WEFT_BRK_PENDING: return rt->brk.max_pending_requests;
	case WEFT_BRK_REQUESTS: return rt->brk.max_requests;
	case WEFT_BRK_RETRIES: return rt->brk.max_retries ? rt->brk.max_retries : UINT64_MAX;
	default: return 0;
	}
}

int weft_breaker_acquire(struct weft_cluster_rt *rt, unsigned worker, enum weft_breaker b)
{
	if ((unsigned)b >= WEFT_BRK_N || worker >= rt->n_workers)
		return -1;
	struct weft_rt_worker *me = &rt->w[worker];
	if (active_sum(rt, b) >= limit_of(rt, b)) {
		INC(me->overflow[b]);
		return -1;
	}
	INC(me->active[b]);
	return 0;
}

void weft_breaker_release(struct weft_cluster_rt *rt, unsigned worker, enum weft_breaker b)
{
	if ((unsigned)b >= WEFT_BRK_N || worker >= rt->n_workers)
		return;
	struct weft_rt_worker *me = &rt->w[worker];
	uint64_t v = LD(me->active[b]);
	if (v > 0)
		ST(me->active[b], v - 1);
}

int weft_retry_budget_acquire(struct weft_cluster_rt *rt, unsigned worker)
{
	if (worker >= rt->n_workers)
		return -1;
	struct weft_rt_worker *me = &rt->w[worker];
	uint64_t retries = active_sum(rt, WEFT_BRK_RETRIES);

	if (rt->brk.max_retries != 0 && retries >= rt->brk.max_retries) {
		INC(me->overflow[WEFT_BRK_RETRIES]);
		return -1;
	}
	if (rt->brk.budget_enabled) {
		uint64_t allowed = active_sum(rt, WEFT_BRK_REQUESTS) * rt->brk.budget_percent / 100;
		if (allowed < rt->brk.min_retry_concurrency)
			allowed = rt->brk.min_retry_concurrency;
		if (retries >= allowed) {
			INC(me->budget_overflow);
			return -1;
		}
	}
	INC(me->active[WEFT_BRK_RETRIES]);
	INC(me->retries);
	return 0;
}

static uint32_t threshold(const struct weft_outlier_cfg *od, int k)
{
	return k == 0 ? od->consecutive_5xx : k == 1 ? od->consecutive_gateway_failure
						     : od->consecutive_local_origin_failure;
}

static void streak_up(struct weft_rt_ep_slot *s, const struct weft_outlier_cfg *od, int k)
{
	uint32_t v = LD(s->streak[k]) + 1;

	ST(s->streak[k], v);
	if (v == threshold(od, k))
		INC(s->trips[k]);
}

void weft_outlier_report(struct weft_cluster_rt *rt, unsigned worker, unsigned ep, enum weft_outcome o)
{
	if (worker >= rt->n_workers || ep >= rt->n_ep || (unsigned)o >= WEFT_OUT_N)
		return;
	struct weft_rt_ep_slot *s = &rt->slot[(size_t)worker * rt->n_ep + ep];

	INC(s->n[o]);
	if (!rt->od.enabled)
		return;
	uint32_t gen = LD(rt->ep[ep].gen);
	if (LD(s->gen) != gen) {
		/* The management thread restarted this endpoint's streaks (ejected or re-admitted it). */
		for (int k = 0; k < WEFT_RT_STREAKS; k++)
			ST(s->streak[k], 0);
		__atomic_store_n(&s->gen, gen, __ATOMIC_RELEASE);
	}
	switch (o) {
	case WEFT_OUT_SUCCESS:
		for (int k = 0; k < WEFT_RT_STREAKS; k++)
			ST(s->streak[k], 0);
		break;
	case WEFT_OUT_GATEWAY:
		streak_up(s, &rt->od, 1);
		/* a gateway error is a 5xx too */
		__attribute__((fallthrough));
	case WEFT_OUT_5XX:
		streak_up(s, &rt->od, 0);
		ST(s->streak[2], 0); /* it answered: the connection works */
		break;
	case WEFT_OUT_LOCAL:
		streak_up(s, &rt->od, 2);
		break;
	default:
		break;
	}
}

void weft_hc_set(struct weft_cluster_rt *rt, unsigned ep, bool healthy)
{
	if (ep < rt->n_ep)
		ST(rt->ep[ep].hc_down, (uint8_t)!healthy);
}

/* ------------------------------------------------------------------------ */
/* Management thread                                                         */
/* ------------------------------------------------------------------------ */

static uint32_t *seen(struct weft_cluster_rt *rt, unsigned w, unsigned ep)
{
	return &rt->seen_trips[((size_t)w * rt->n_ep + ep) * WEFT_RT_STREAKS];
}

/* Take every worker's trip counts of ep as seen: only later ones can eject it. */
static void catch_up_trips(struct weft_cluster_rt *rt, unsigned ep)
{
	for (unsigned w = 0; w < rt->n_workers; w++) {
		const struct weft_rt_ep_slot *s = &rt->slot[(size_t)w * rt->n_ep + ep];
		uint32_t *sn = seen(rt, w, ep);
		for (int k = 0; k < WEFT_RT_STREAKS; k++)
			sn[k] = LD(s->trips[k]);
	}
}

/* Restart ep's streaks on every worker (each notices on its next report). */
static void restart_streaks(struct weft_cluster_rt *rt, unsigned ep)
{
	ST(rt->ep[ep].gen, rt->ep[ep].gen + 1);
	catch_up_trips(rt, ep);
}

static bool eject(struct weft_cluster_rt *rt, unsigned ep, enum weft_eject_reason why, uint64_t now_ms)
{
	struct weft_rt_ep *x = &rt->ep[ep];

	/* max_ejection_percent, but one endpoint may always go (Envoy does the same since 1.21). */
	if (rt->n_ejected > 0 && (uint64_t)(rt->n_ejected + 1) * 100 > (uint64_t)rt->od.max_ejection_percent * rt->n_ep)
		return false;
	x->ejected = true;
	x->reason = why;
	x->times_ejected++;
	uint64_t t = (uint64_t)rt->od.base_ejection_time_ms * x->times_ejected;
	if (t > rt->od.max_ejection_time_ms)
		t = rt->od.max_ejection_time_ms;
	x->ejected_until_ms = now_ms + t;
	x->ejections_total++;
	rt->ejections_total[why]++;
	rt->n_ejected++;
	restart_streaks(rt, ep);
	return true;
}

static void readmit(struct weft_cluster_rt *rt, unsigned ep, uint64_t now_ms)
{
	struct weft_rt_ep *x = &rt->ep[ep];

	x->ejected = false;
	x->calm_since_ms = now_ms;
	rt->n_ejected--;
	restart_streaks(rt, ep);
}

/* Consecutive failures: this worker's own streak reached the threshold, or all workers' together do. */
static void check_consecutive(struct weft_cluster_rt *rt, unsigned ep, uint64_t now_ms)
{
	static const enum weft_eject_reason why[WEFT_RT_STREAKS] = {
		WEFT_EJECT_CONSECUTIVE_5XX, WEFT_EJECT_CONSECUTIVE_GATEWAY, WEFT_EJECT_CONSECUTIVE_LOCAL};
	uint32_t gen = rt->ep[ep].gen;
	uint64_t sum[WEFT_RT_STREAKS] = {0};
	bool tripped[WEFT_RT_STREAKS] = {false};

	for (unsigned w = 0; w < rt->n_workers; w++) {
		const struct weft_rt_ep_slot *s = &rt->slot[(size_t)w * rt->n_ep + ep];
		uint32_t *sn = seen(rt, w, ep);
		bool current = __atomic_load_n(&s->gen, __ATOMIC_ACQUIRE) == gen;
		for (int k = 0; k < WEFT_RT_STREAKS; k++) {
			uint32_t tr = LD(s->trips[k]);
			/* Trips counted under an older generation were caught up when it changed. */
			if (tr != sn[k] && current)
				tripped[k] = true;
			sn[k] = tr;
			if (current)
				sum[k] += LD(s->streak[k]);
		}
	}
	/* Gateway first: it is the most specific reason for the same failures. */
	static const int order[WEFT_RT_STREAKS] = {1, 0, 2};
	for (int i = 0; i < WEFT_RT_STREAKS; i++) {
		int k = order[i];
		uint32_t thr = threshold(&rt->od, k);
		if (thr == 0)
			continue;
		if (tripped[k] || sum[k] >= thr) {
			eject(rt, ep, why[k], now_ms);
			return;
		}
	}
}

/* Envoy's success-rate detector, once per interval. */
static void check_success_rate(struct weft_cluster_rt *rt, uint64_t now_ms)
{
	double rate[WEFT_RT_MAX_ENDPOINTS];
	bool counts[WEFT_RT_MAX_ENDPOINTS];
	unsigned n = 0;
	double sum = 0, sq = 0;

	for (unsigned i = 0; i < rt->n_ep; i++) {
		struct weft_rt_ep *x = &rt->ep[i];
		uint64_t total = 0, succ = x->base[WEFT_OUT_SUCCESS] + slot_sum(rt, i, WEFT_OUT_SUCCESS);
		for (int k = 0; k < WEFT_OUT_N; k++)
			total += x->base[k] + slot_sum(rt, i, (enum weft_outcome)k);
		uint64_t dt = total - x->sr_total, ds = succ - x->sr_success;
		x->sr_total = total;
		x->sr_success = succ;
		counts[i] = false;
		if (dt == 0 || dt < rt->od.success_rate_request_volume) {
			x->success_rate_ppm = -1; /* too few requests in the interval to judge */
			continue;
		}
		rate[i] = (double)ds / (double)dt;
		x->success_rate_ppm = (int32_t)(rate[i] * 1e6);
		if (x->ejected)
			continue;
		counts[i] = true;
		sum += rate[i];
		sq += rate[i] * rate[i];
		n++;
	}
	if (!rt->od.enabled || rt->od.success_rate_minimum_hosts == 0 || n < rt->od.success_rate_minimum_hosts)
		return;
	double mean = sum / n;
	double var = sq / n - mean * mean;
	double limit = mean - (double)rt->od.success_rate_stdev_factor / 1000.0 * sqrt(var > 0 ? var : 0);
	for (unsigned i = 0; i < rt->n_ep; i++)
		if (counts[i] && rate[i] < limit)
			eject(rt, i, WEFT_EJECT_SUCCESS_RATE, now_ms);
}

void weft_cluster_rt_tick(struct weft_cluster_rt *rt, uint64_t now_ms)
{
	const struct weft_outlier_cfg *od = &rt->od;

	for (unsigned i = 0; i < rt->n_ep; i++) {
		struct weft_rt_ep *x = &rt->ep[i];
		if (x->ejected && (!od->enabled || now_ms >= x->ejected_until_ms)) {
			readmit(rt, i, now_ms);
		} else if (!x->ejected && x->times_ejected > 0 && now_ms - x->calm_since_ms >= od->base_ejection_time_ms) {
			/* Behaving for a base ejection time: the next ejection is one step shorter. */
			x->times_ejected--;
			x->calm_since_ms = now_ms;
		}
	}
	if (od->enabled)
		for (unsigned i = 0; i < rt->n_ep; i++)
			if (!rt->ep[i].ejected)
				check_consecutive(rt, i, now_ms);
	if (rt->next_interval_ms == 0)
		rt->next_interval_ms = now_ms + od->interval_ms;
	else if (now_ms >= rt->next_interval_ms) {
		rt->next_interval_ms = now_ms + od->interval_ms;
		check_success_rate(rt, now_ms);
	}
	publish_view(rt);
}

void weft_resilience_tick(const struct weft_snapshot *snap, uint64_t now_ms)
{
	if (snap == NULL || snap->http == NULL)
		return;
	for (unsigned i = 0; i < snap->http->n_clusters; i++)
		if (snap->http->clusters[i].rt != NULL)
			weft_cluster_rt_tick(snap->http->clusters[i].rt, now_ms);
}

/* ------------------------------------------------------------------------ */
/* Stats                                                                     */
/* ------------------------------------------------------------------------ */

void weft_cluster_rt_stats(const struct weft_cluster_rt *rt, struct weft_rt_cluster_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (int b = 0; b < WEFT_BRK_N; b++)
		out->overflow[b] = rt->base_overflow[b];
	out->budget_overflow = rt->base_budget_overflow;
	out->retries = rt->base_retries;
	for (unsigned w = 0; w < rt->n_workers; w++) {
		for (int b = 0; b < WEFT_BRK_N; b++) {
			out->active[b] += LD(rt->w[w].active[b]);
			out->overflow[b] += LD(rt->w[w].overflow[b]);
		}
		out->budget_overflow += LD(rt->w[w].budget_overflow);
		out->retries += LD(rt->w[w].retries);
	}
	memcpy(out->ejections_total, rt->ejections_total, sizeof(out->ejections_total));
	out->ejected_now = rt->n_ejected;
	const struct weft_rt_view *v = weft_rt_view_get(rt);
	out->n_usable = v->n_usable;
	out->panic = v->panic;
}

void weft_cluster_rt_ep_stats(const struct weft_cluster_rt *rt, unsigned ep, struct weft_rt_ep_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (ep >= rt->n_ep)
		return;
	const struct weft_rt_ep *x = &rt->ep[ep];
	for (int k = 0; k < WEFT_OUT_N; k++) {
		out->n[k] = x->base[k] + slot_sum(rt, ep, (enum weft_outcome)k);
		out->requests += out->n[k];
	}
	out->success_rate_ppm = x->success_rate_ppm;
	out->ejected = x->ejected;
	out->hc_down = LD(x->hc_down) != 0;
	out->times_ejected = x->times_ejected;
	out->ejections_total = x->ejections_total;
}
