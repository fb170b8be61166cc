/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Load balancer tables: checks and the common part of the build, the pick
 * dispatcher, the 64-bit hash and the request key helpers. The policies live
 * in lb_rr.c, lb_random.c (random and least_request), lb_ring.c, lb_maglev.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/lb_priv.h"
#include "policy/resilience.h"
#include "policy/route.h"

/* ------------------------------------------------------------------------ */
/* Hash                                                                      */
/* ------------------------------------------------------------------------ */

/* Odd constants drawn at random once; nothing depends on their values but stability. */
#define H0 UINT64_C(0xd7271457c6bb668f)
#define H1 UINT64_C(0x4dee9f04b86aedc1)
#define H2 UINT64_C(0xd26d60edae0d78ed)
#define H3 UINT64_C(0x35214f1308791c85)

/* 64x64 -> 128-bit multiply, both halves folded: every input bit reaches every output bit. */
static inline uint64_t fold_mul(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;
	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t load64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* 0..8 bytes, little-endian, without reading past the end. */
static inline uint64_t load_tail(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

uint64_t weft_hash64(const void *data, size_t len, uint64_t seed)
{
	const uint8_t *p = data;
	uint64_t h = fold_mul(seed ^ H0, (uint64_t)len ^ H1);
	size_t n = len;

	while (n > 16) {
		h = fold_mul(load64(p) ^ H2, load64(p + 8) ^ h);
		p += 16;
		n -= 16;
	}
	uint64_t a, b;
	if (n > 8) {
		a = load64(p);
		b = load_tail(p + 8, n - 8);
	} else {
		a = load_tail(p, n);
		b = 0;
	}
	h = fold_mul(a ^ H3, b ^ h ^ H1);
	return fold_mul(h ^ H0, h ^ H2 ^ (uint64_t)len);
}

uint64_t weft_lb_hash_ip(const struct weft_ip *ip)
{
	if (ip->af == 4)
		return weft_hash64(&ip->v4, 4, 4);
	return weft_hash64(ip->v6, 16, 6);
}

size_t lb_endpoint_key(const struct weft_lb *lb, unsigned i, uint8_t out[19])
{
	const struct weft_lb_endpoint *e = &lb->ep[i];
	size_t n = 0;

	out[n++] = e->addr.af;
	if (e->addr.af == 4) {
		memcpy(out + n, &e->addr.v4, 4);
		n += 4;
	} else {
		memcpy(out + n, e->addr.v6, 16);
		n += 16;
	}
	out[n++] = (uint8_t)(e->port >> 8);
	out[n++] = (uint8_t)e->port;
	return n;
}

/* ------------------------------------------------------------------------ */
/* Request keys                                                              */
/* ------------------------------------------------------------------------ */

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

bool weft_lb_cookie_find(const char *hdr, size_t len, const char *name, size_t name_len, const char **val,
			 size_t *val_len)
{
	size_t i = 0;

	while (i < len) {
		const char *semi = memchr(hdr + i, ';', len - i);
		size_t end = semi != NULL ? (size_t)(semi - hdr) : len;
		size_t s = i, e = end;
		while (s < e && is_ows(hdr[s]))
			s++;
		while (e > s && is_ows(hdr[e - 1]))
			e--;
		const char *eq = memchr(hdr + s, '=', e - s);
		if (eq != NULL && (size_t)(eq - (hdr + s)) == name_len && memcmp(hdr + s, name, name_len) == 0) {
			const char *v = eq + 1;
			size_t vl = (size_t)(hdr + e - v);
			if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
				v++;
				vl -= 2;
			}
			*val = v;
			*val_len = vl;
			return true;
		}
		i = end + 1;
	}
	return false;
}

bool weft_lb_request_hash(const struct weft_lb *lb, const struct weft_http_req_view *req, const struct weft_ip *src,
			  uint64_t *hash)
{
	switch (lb->key) {
	case WEFT_LB_KEY_HEADER: {
		const struct weft_http_hdr_view *h = weft_http_req_header(req, lb->key_name, lb->key_name_len);
		if (h == NULL)
			return false;
		*hash = weft_hash64(h->value, h->value_len, 0);
		return true;
	}
	case WEFT_LB_KEY_COOKIE:
		/* HTTP/2 may split cookies over several fields (RFC 9113 8.2.3): look at each. */
		for (unsigned i = 0; i < req->n_headers; i++) {
			const struct weft_http_hdr_view *h = &req->headers[i];
			const char *v;
			size_t vl;
			if (h->name_len != 6 || strncasecmp(h->name, "cookie", 6) != 0)
				continue;
			if (weft_lb_cookie_find(h->value, h->value_len, lb->key_name, lb->key_name_len, &v, &vl)) {
				*hash = weft_hash64(v, vl, 0);
				return true;
			}
		}
		return false;
	case WEFT_LB_KEY_SOURCE_IP:
		if (src == NULL)
			return false;
		*hash = weft_lb_hash_ip(src);
		return true;
	default:
		return false;
	}
}

/* ------------------------------------------------------------------------ */
/* Build                                                                     */
/* ------------------------------------------------------------------------ */

static uint64_t next_gen; /* management thread only */

__attribute__((format(printf, 5, 6)))
static int fail(char *err, size_t errlen, int line, const char *cluster, const char *fmt, ...)
{
	va_list ap;
	size_t off = 0;
	int n;

	if (err == NULL || errlen == 0)
		return -1;
	if (line > 0)
		n = snprintf(err, errlen, "line %d: clusters.%s.", line, cluster != NULL ? cluster : "?");
	else
		n = snprintf(err, errlen, "clusters.%s.", cluster != NULL ? cluster : "?");
	off = n > 0 && (size_t)n < errlen ? (size_t)n : 0;
	va_start(ap, fmt);
	vsnprintf(err + off, errlen - off, fmt, ap);
	va_end(ap);
	return -1;
}

static bool is_prime(uint32_t n)
{
	if (n < 2)
		return false;
	for (uint32_t d = 2; (uint64_t)d * d <= n; d++)
		if (n % d == 0)
			return false;
	return true;
}

static bool same_endpoint(const struct weft_lb_endpoint_cfg *a, const struct weft_lb_endpoint_cfg *b)
{
	if (a->addr.af != b->addr.af || a->port != b->port)
		return false;
	return a->addr.af == 4 ? a->addr.v4 == b->addr.v4 : memcmp(a->addr.v6, b->addr.v6, 16) == 0;
}

static bool is_hash_algo(enum weft_lb_algo a)
{
	return a == WEFT_LB_ALGO_RING_HASH || a == WEFT_LB_ALGO_MAGLEV;
}

static char *dup_lower(const char *s, bool lower)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1);

	if (d == NULL)
		return NULL;
	for (size_t i = 0; i <= n; i++)
		d[i] = lower && s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] | 0x20) : s[i];
	return d;
}

/* Everything about the model that does not depend on the policy's own structure. */
static int check(const struct weft_lb_cfg *cfg, char *err, size_t errlen)
{
	const char *cl = cfg->cluster;
	uint64_t total = 0;

	if ((unsigned)cfg->algo > WEFT_LB_ALGO_MAGLEV)
		return fail(err, errlen, cfg->line, cl, "lb_policy: unknown policy %d", (int)cfg->algo);
	if (cfg->n_endpoints == 0 || cfg->endpoints == NULL)
		return fail(err, errlen, cfg->line, cl, "endpoints: a cluster needs at least one");
	if (cfg->n_endpoints > WEFT_LB_MAX_ENDPOINTS)
		return fail(err, errlen, cfg->line, cl, "endpoints: %u listed, at most %u", cfg->n_endpoints,
			    WEFT_LB_MAX_ENDPOINTS);
	for (unsigned i = 0; i < cfg->n_endpoints; i++) {
		const struct weft_lb_endpoint_cfg *e = &cfg->endpoints[i];
		int line = e->line > 0 ? e->line : cfg->line;
		if (e->addr.af != 4 && e->addr.af != 6)
			return fail(err, errlen, line, cl, "endpoints[%u].address: no address", i);
		if (e->port == 0)
			return fail(err, errlen, line, cl, "endpoints[%u].port: must be 1..65535", i);
		if (e->weight == 0)
			return fail(err, errlen, line, cl, "endpoints[%u].weight: must be at least 1", i);
		total += e->weight;
		if (total > UINT32_MAX)
			return fail(err, errlen, line, cl, "endpoints: weights add up past %u", UINT32_MAX);
		for (unsigned j = 0; j < i; j++)
			if (same_endpoint(e, &cfg->endpoints[j]))
				return fail(err, errlen, line, cl, "endpoints[%u]: same address and port as endpoints[%u]", i,
					    j);
	}
	if (cfg->key != WEFT_LB_KEY_NONE && !is_hash_algo(cfg->algo))
		return fail(err, errlen, cfg->line, cl, "hash_policy: only ring_hash and maglev use a key");
	if ((unsigned)cfg->key > WEFT_LB_KEY_SOURCE_IP)
		return fail(err, errlen, cfg->line, cl, "hash_policy: unknown key kind %d", (int)cfg->key);
	if ((cfg->key == WEFT_LB_KEY_HEADER || cfg->key == WEFT_LB_KEY_COOKIE) &&
	    (cfg->key_name == NULL || cfg->key_name[0] == '\0'))
		return fail(err, errlen, cfg->line, cl, "hash_policy.%s: missing",
			    cfg->key == WEFT_LB_KEY_HEADER ? "header" : "cookie");
	if (cfg->algo == WEFT_LB_ALGO_RING_HASH) {
		uint32_t mn = cfg->ring_min ? cfg->ring_min : WEFT_LB_RING_MIN_DEFAULT;
		uint32_t mx = cfg->ring_max ? cfg->ring_max : WEFT_LB_RING_MAX_DEFAULT;
		if (mx > WEFT_LB_RING_MAX_DEFAULT)
			return fail(err, errlen, cfg->line, cl, "ring_hash.maximum_ring_size: at most %u",
				    WEFT_LB_RING_MAX_DEFAULT);
		if (mn > mx)
			return fail(err, errlen, cfg->line, cl, "ring_hash.minimum_ring_size: %u is above the maximum %u",
				    mn, mx);
	}
	if (cfg->algo == WEFT_LB_ALGO_MAGLEV) {
		uint32_t m = cfg->maglev_size ? cfg->maglev_size : WEFT_LB_MAGLEV_SIZE_DEFAULT;
		if (m > WEFT_LB_MAGLEV_SIZE_MAX || !is_prime(m))
			return fail(err, errlen, cfg->line, cl, "maglev.table_size: %u is not a prime up to %u", m,
				    WEFT_LB_MAGLEV_SIZE_MAX);
		if (m < cfg->n_endpoints)
			return fail(err, errlen, cfg->line, cl, "maglev.table_size: %u is smaller than the %u endpoints",
				    m, cfg->n_endpoints);
	}
	if (cfg->algo == WEFT_LB_ALGO_LEAST_REQUEST && cfg->choice_count == 1)
		return fail(err, errlen, cfg->line, cl, "least_request.choice_count: at least 2");
	if (cfg->choice_count > 16)
		return fail(err, errlen, cfg->line, cl, "least_request.choice_count: at most 16");
	return 0;
}

int weft_lb_build(const struct weft_lb_cfg *cfg, struct weft_lb **out, char *err, size_t errlen)
{
	struct weft_lb *lb;
	int rc = 0;

	*out = NULL;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (check(cfg, err, errlen) < 0) {
		errno = EINVAL;
		return -1;
	}
	lb = calloc(1, sizeof(*lb));
	if (lb == NULL)
		goto nomem;
	lb->algo = cfg->algo;
	lb->gen = ++next_gen;
	lb->n = cfg->n_endpoints;
	lb->ep = calloc(lb->n, sizeof(*lb->ep));
	lb->weight = calloc(lb->n, sizeof(*lb->weight));
	if (lb->ep == NULL || lb->weight == NULL)
		goto nomem;
	for (unsigned i = 0; i < lb->n; i++) {
		const struct weft_lb_endpoint_cfg *e = &cfg->endpoints[i];
		struct weft_lb_endpoint *d = &lb->ep[i];
		d->addr = e->addr;
		d->port = e->port;
		d->weight = e->weight;
		d->healthy = e->healthy;
		d->locality = dup_lower(e->locality != NULL ? e->locality : "", false);
		if (d->locality == NULL)
			goto nomem;
		lb->weight[i] = e->weight;
		lb->total_weight += e->weight;
		if (e->weight > lb->max_weight)
			lb->max_weight = e->weight;
		weft_lb_health_set(&lb->configured, i, e->healthy);
	}
	lb->key = cfg->key;
	if (cfg->key == WEFT_LB_KEY_HEADER || cfg->key == WEFT_LB_KEY_COOKIE) {
		/* Header names compare in any case; cookie names exactly (RFC 6265 5.4). */
		lb->key_name = dup_lower(cfg->key_name, cfg->key == WEFT_LB_KEY_HEADER);
		if (lb->key_name == NULL)
			goto nomem;
		lb->key_name_len = strlen(lb->key_name);
	}
	lb->choice_count = cfg->choice_count ? cfg->choice_count : 2;

	switch (lb->algo) {
	case WEFT_LB_ALGO_ROUND_ROBIN:
		break;
	case WEFT_LB_ALGO_LEAST_REQUEST:
	case WEFT_LB_ALGO_RANDOM:
		rc = lb_alias_build(lb);
		break;
	case WEFT_LB_ALGO_RING_HASH:
		rc = lb_ring_build(lb, cfg->ring_min ? cfg->ring_min : WEFT_LB_RING_MIN_DEFAULT,
				   cfg->ring_max ? cfg->ring_max : WEFT_LB_RING_MAX_DEFAULT);
		break;
	case WEFT_LB_ALGO_MAGLEV:
		rc = lb_maglev_build(lb, cfg->maglev_size ? cfg->maglev_size : WEFT_LB_MAGLEV_SIZE_DEFAULT);
		break;
	}
	if (rc < 0)
		goto nomem;
	*out = lb;
	return 0;

nomem:
	weft_lb_free(lb);
	errno = ENOMEM;
	return fail(err, errlen, cfg->line, cfg->cluster, "lb_policy: out of memory building the table");
}

void weft_lb_free(struct weft_lb *lb)
{
	if (lb == NULL)
		return;
	if (lb->ep != NULL)
		for (unsigned i = 0; i < lb->n; i++)
			free((char *)lb->ep[i].locality);
	free(lb->ep);
	free(lb->weight);
	free(lb->key_name);
	free(lb->alias_thr);
	free(lb->alias_to);
	free(lb->ring_hash);
	free(lb->ring_ep);
	free(lb->mag);
	free(lb);
}

/* ------------------------------------------------------------------------ */
/* Accessors                                                                 */
/* ------------------------------------------------------------------------ */

static const char *const algo_names[] = {
	[WEFT_LB_ALGO_ROUND_ROBIN] = "round_robin",
	[WEFT_LB_ALGO_LEAST_REQUEST] = "least_request",
	[WEFT_LB_ALGO_RANDOM] = "random",
	[WEFT_LB_ALGO_RING_HASH] = "ring_hash",
	[WEFT_LB_ALGO_MAGLEV] = "maglev",
};

const char *weft_lb_algo_name(enum weft_lb_algo a)
{
	return (unsigned)a <= WEFT_LB_ALGO_MAGLEV ? algo_names[a] : "?";
}

int weft_lb_algo_parse(const char *s, enum weft_lb_algo *a)
{
	for (unsigned i = 0; i <= WEFT_LB_ALGO_MAGLEV; i++) {
		if (strcmp(s, algo_names[i]) == 0) {
			*a = (enum weft_lb_algo)i;
			return 0;
		}
	}
	return -1;
}

enum weft_lb_algo weft_lb_algo_of(const struct weft_lb *lb)
{
	return lb->algo;
}

unsigned weft_lb_size(const struct weft_lb *lb)
{
	return lb->n;
}

const struct weft_lb_endpoint *weft_lb_endpoint(const struct weft_lb *lb, unsigned i)
{
	return i < lb->n ? &lb->ep[i] : NULL;
}

size_t weft_lb_table_size(const struct weft_lb *lb)
{
	return lb->algo == WEFT_LB_ALGO_RING_HASH ? lb->ring_n : lb->algo == WEFT_LB_ALGO_MAGLEV ? lb->mag_size : 0;
}

void weft_lb_health_init(const struct weft_lb *lb, struct weft_lb_health *h)
{
	*h = lb->configured;
}

/* ------------------------------------------------------------------------ */
/* Pick                                                                      */
/* ------------------------------------------------------------------------ */

/* Candidates among lb's endpoints: popcount of h's first lb->n bits. */
static unsigned count_up(const struct weft_lb *lb, const struct weft_lb_health *h)
{
	unsigned c = 0;

	for (unsigned w = 0; w < (lb->n + 63) / 64; w++) {
		uint64_t m = h->bits[w];
		if (w == lb->n / 64)
			m &= (UINT64_C(1) << (lb->n % 64)) - 1;
		c += (unsigned)__builtin_popcountll(m);
	}
	return c;
}

/*
 * Narrow h down with the cluster's resilience view into *out: drop ejected
 * and failing endpoints unless the cluster is in panic (Envoy's
 * healthy_panic_threshold: when too small a share is left, balance over
 * every endpoint rather than crush the few that remain), then drop avoid if
 * anything else is left. Returns the number of candidates.
 */
static unsigned narrow(const struct weft_lb *lb, const struct weft_lb_ctx *ctx, const struct weft_lb_health *h,
		       struct weft_lb_health *out)
{
	struct weft_rt_view v;
	unsigned words = (lb->n + 63) / 64;
	unsigned c;

	weft_rt_view_read(ctx->rt, &v);
	*out = *h;
	/* A state built for another endpoint list (never, from the compile step) is not applied. */
	if (ctx->rt->n_ep == lb->n && !v.panic) {
		for (unsigned w = 0; w < words; w++)
			out->bits[w] &= v.usable[w];
	}
	c = count_up(lb, out);
	if (ctx->avoid < lb->n && c > 1 && lb_up(out, ctx->avoid)) {
		weft_lb_health_set(out, ctx->avoid, false);
		c--;
	}
	return c;
}

int weft_lb_pick(const struct weft_lb *lb, const struct weft_lb_ctx *ctx)
{
	const struct weft_lb_health *h = ctx->health != NULL ? ctx->health : &lb->configured;
	struct weft_lb_health narrowed;

	if (ctx->rt != NULL) {
		if (narrow(lb, ctx, h, &narrowed) == 0) {
			errno = ENOENT;
			return -1;
		}
		h = &narrowed;
	} else if (count_up(lb, h) == 0) {
		errno = ENOENT;
		return -1;
	}
	switch (lb->algo) {
	case WEFT_LB_ALGO_ROUND_ROBIN:
		if (ctx->state == NULL) {
			errno = EINVAL;
			return -1;
		}
		return lb_rr_pick(lb, h, ctx->state);
	case WEFT_LB_ALGO_LEAST_REQUEST:
		return lb_lr_pick(lb, h, ctx);
	case WEFT_LB_ALGO_RANDOM:
		return lb_weighted_pick(lb, h, ctx->random);
	case WEFT_LB_ALGO_RING_HASH:
		return lb_ring_pick(lb, h, ctx->has_hash ? ctx->hash : ctx->random);
	case WEFT_LB_ALGO_MAGLEV:
		return lb_maglev_pick(lb, h, ctx->has_hash ? ctx->hash : ctx->random);
	}
	errno = EINVAL;
	return -1;
}
