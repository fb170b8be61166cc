/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Route matching, called by workers for every request: find the virtual host
 * by Host, run its Hyperscan database once over each input that one of its
 * regexes looks at, then walk the candidate routes in config order. Reads the
 * table only; no allocation; the only memory written besides *out is the
 * caller's scratch and a bitset on the stack.
 */
#include <errno.h>
#include <string.h>

#include "policy/lb.h"
#include "policy/route_priv.h"

uint32_t weft_http_method_bit(const char *s, size_t len)
{
	switch (len) {
	case 3:
		if (memcmp(s, "GET", 3) == 0)
			return WEFT_HTTP_M_GET;
		if (memcmp(s, "PUT", 3) == 0)
			return WEFT_HTTP_M_PUT;
		break;
	case 4:
		if (memcmp(s, "POST", 4) == 0)
			return WEFT_HTTP_M_POST;
		if (memcmp(s, "HEAD", 4) == 0)
			return WEFT_HTTP_M_HEAD;
		break;
	case 5:
		if (memcmp(s, "PATCH", 5) == 0)
			return WEFT_HTTP_M_PATCH;
		if (memcmp(s, "TRACE", 5) == 0)
			return WEFT_HTTP_M_TRACE;
		break;
	case 6:
		if (memcmp(s, "DELETE", 6) == 0)
			return WEFT_HTTP_M_DELETE;
		break;
	case 7:
		if (memcmp(s, "OPTIONS", 7) == 0)
			return WEFT_HTTP_M_OPTIONS;
		if (memcmp(s, "CONNECT", 7) == 0)
			return WEFT_HTTP_M_CONNECT;
		break;
	}
	return 0;
}

/* name is lower case (the table's); request names may be any case. */
static bool hdr_is(const struct weft_http_hdr_view *h, const struct weft_route_str *name)
{
	return h->name_len == name->len && rt_eq_lower(h->name, name->p, name->len);
}

const struct weft_http_hdr_view *weft_http_req_header(const struct weft_http_req_view *req, const char *name,
						       size_t name_len)
{
	for (unsigned i = 0; i < req->n_headers; i++) {
		const struct weft_http_hdr_view *h = &req->headers[i];
		if (h->name_len != name_len)
			continue;
		size_t k = 0;
		while (k < name_len && rt_lower((unsigned char)h->name[k]) == rt_lower((unsigned char)name[k]))
			k++;
		if (k == name_len)
			return h;
	}
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Virtual host by Host                                                      */
/* ------------------------------------------------------------------------ */

/* s is lower case: the table's domains are stored so, requests are folded into a buffer first. */
uint64_t rt_dom_hash(uint8_t kind, const char *s, size_t len)
{
	return weft_hash64(s, len, kind);
}

uint64_t rt_path_hash(const char *s, size_t len)
{
	return weft_hash64(s, len, UINT64_C(0x70617468)); /* 16 bytes a step: paths are long */
}

static uint32_t dom_find(const struct weft_route_table *t, uint8_t kind, const char *s, size_t len)
{
	uint32_t i = (uint32_t)rt_dom_hash(kind, s, len) & t->dom_mask;

	for (;; i = (i + 1) & t->dom_mask) {
		const struct rt_dom *e = &t->doms[i];
		if (e->s == NULL)
			return RT_NONE;
		if (e->kind == kind && e->len == len && memcmp(s, e->s, len) == 0)
			return e->vhost;
	}
}

/*
 * Envoy's order: an exact domain, then suffix wildcards longest first, then
 * prefix wildcards longest first, then "*". A wildcard stands for at least
 * one character, hence the strict "L < len". The port is ignored: a Host of
 * "api.example:8080" looks for "api.example", "[2001:db8::1]:443" for
 * "[2001:db8::1]".
 */
static uint32_t find_vhost(const struct weft_route_table *t, const char *host, size_t len)
{
	uint32_t v;

	if (host == NULL)
		len = 0;
	if (len > 0 && host[0] == '[') {
		const char *end = memchr(host, ']', len);
		if (end != NULL)
			len = (size_t)(end - host) + 1;
	} else if (len > 0) {
		const char *colon = memchr(host, ':', len);
		if (colon != NULL && colon == memrchr(host, ':', len)) {
			size_t k = (size_t)(colon - host) + 1;
			while (k < len && host[k] >= '0' && host[k] <= '9')
				k++;
			if (k == len)
				len = (size_t)(colon - host);
		}
	}
	/*
	 * Fold the name to lower case once, so that every probe below hashes and
	 * compares plain bytes. A DNS name has at most 253 characters (RFC 1035
	 * 2.3.4); anything longer can only be the default's.
	 */
	if (len == 0 || len > WEFT_ROUTE_MAX_HOST)
		return t->default_vhost;
	char low[WEFT_ROUTE_MAX_HOST];
	for (size_t i = 0; i < len; i++)
		low[i] = (char)rt_lower((unsigned char)host[i]);
	host = low;
	v = dom_find(t, RT_DOM_EXACT, host, len);
	if (v != RT_NONE)
		return v;
	for (uint32_t i = 0; i < t->n_suffix_lens; i++) {
		uint32_t l = t->suffix_lens[i];
		if (l >= len)
			continue;
		v = dom_find(t, RT_DOM_SUFFIX, host + len - l, l);
		if (v != RT_NONE)
			return v;
	}
	for (uint32_t i = 0; i < t->n_prefix_lens; i++) {
		uint32_t l = t->prefix_lens[i];
		if (l >= len)
			continue;
		v = dom_find(t, RT_DOM_PREFIX, host, l);
		if (v != RT_NONE)
			return v;
	}
	return t->default_vhost;
}

/* ------------------------------------------------------------------------ */
/* Query parameters                                                          */
/* ------------------------------------------------------------------------ */

struct qparam {
	const char *name, *value;
	uint32_t name_len, value_len;
};

/* Split "a=1&b&c=3" without decoding; parameters past the bound are not seen. */
static unsigned parse_query(const char *q, size_t len, struct qparam *out, unsigned cap)
{
	unsigned n = 0;
	size_t i = 0;

	if (q == NULL)
		return 0;
	while (i < len && n < cap) {
		const char *amp = memchr(q + i, '&', len - i);
		size_t end = amp != NULL ? (size_t)(amp - q) : len;
		if (end > i) {
			const char *eq = memchr(q + i, '=', end - i);
			struct qparam *p = &out[n++];
			p->name = q + i;
			if (eq != NULL) {
				p->name_len = (uint32_t)(eq - (q + i));
				p->value = eq + 1;
				p->value_len = (uint32_t)(q + end - (eq + 1));
			} else {
				p->name_len = (uint32_t)(end - i);
				p->value = q + end;
				p->value_len = 0;
			}
		}
		i = end + 1;
	}
	return n;
}

/* The first parameter with this name (case-sensitive, as Envoy does). */
static const struct qparam *query_find(const struct qparam *qp, unsigned n, const struct weft_route_str *name)
{
	for (unsigned i = 0; i < n; i++)
		if (qp[i].name_len == name->len && memcmp(qp[i].name, name->p, name->len) == 0)
			return &qp[i];
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* Scanning and the route walk                                               */
/* ------------------------------------------------------------------------ */

struct scan_ctx {
	uint64_t *bits;
	const uint16_t *rx_input;
	uint16_t input;
};

/*
 * One database holds the regexes of every input of the virtual host, so a
 * scan of the path also runs the header patterns over it: keep only the ids
 * that belong to the input being scanned.
 */
static int on_match(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags, void *arg)
{
	struct scan_ctx *s = arg;

	(void)from;
	(void)to;
	(void)flags;
	if (s->rx_input[id] == s->input)
		s->bits[id / 64] |= UINT64_C(1) << (id % 64);
	return 0;
}

static int scan(const struct rt_vhost *vh, hs_scratch_t *scratch, struct scan_ctx *s, const char *p, size_t len)
{
	hs_error_t e = hs_scan(vh->db, p != NULL ? p : "", (unsigned int)len, 0, scratch, on_match, s);
	return e == HS_SUCCESS ? 0 : -1;
}

static int run_db(const struct rt_vhost *vh, const struct weft_http_req_view *req, hs_scratch_t *scratch,
		  const struct qparam *qp, unsigned n_qp, uint64_t *bits)
{
	struct scan_ctx s = {.bits = bits, .rx_input = vh->rx_input};

	for (uint16_t i = 0; i < vh->n_inputs; i++) {
		const struct rt_input *in = &vh->inputs[i];
		s.input = i;
		switch (in->kind) {
		case RT_IN_PATH:
			if (scan(vh, scratch, &s, req->path, req->path_len) < 0)
				return -1;
			break;
		case RT_IN_HEADER:
			/* Every instance of a repeated header: a condition holds if any value meets it. */
			for (unsigned h = 0; h < req->n_headers; h++) {
				if (!hdr_is(&req->headers[h], &in->name))
					continue;
				if (scan(vh, scratch, &s, req->headers[h].value, req->headers[h].value_len) < 0)
					return -1;
			}
			break;
		case RT_IN_QUERY: {
			const struct qparam *q = query_find(qp, n_qp, &in->name);
			if (q != NULL && scan(vh, scratch, &s, q->value, q->value_len) < 0)
				return -1;
			break;
		}
		}
	}
	return 0;
}

static bool bit(const uint64_t *bits, uint32_t id)
{
	return (bits[id / 64] >> (id % 64)) & 1;
}

static bool kv_holds(const struct rt_kv *kv, const uint64_t *bits, bool present, bool exact_hit)
{
	bool ok;

	switch (kv->kind) {
	case WEFT_ROUTE_VALUE_EXACT:
		ok = exact_hit;
		break;
	case WEFT_ROUTE_VALUE_REGEX:
		ok = bit(bits, kv->rx);
		break;
	case WEFT_ROUTE_VALUE_PRESENT:
		ok = present;
		break;
	default: /* ABSENT */
		ok = !present;
		break;
	}
	return ok != kv->invert;
}

static bool headers_hold(const struct rt_route *rt, const struct weft_http_req_view *req, const uint64_t *bits)
{
	for (unsigned i = 0; i < rt->n_hdr; i++) {
		const struct rt_kv *kv = &rt->hdr[i];
		bool present = false, exact = false;
		for (unsigned h = 0; h < req->n_headers; h++) {
			const struct weft_http_hdr_view *hv = &req->headers[h];
			if (!hdr_is(hv, &kv->name))
				continue;
			present = true;
			if (kv->kind != WEFT_ROUTE_VALUE_EXACT)
				break;
			if (hv->value_len == kv->value.len && memcmp(hv->value, kv->value.p, kv->value.len) == 0) {
				exact = true;
				break;
			}
		}
		if (!kv_holds(kv, bits, present, exact))
			return false;
	}
	return true;
}

static bool query_holds(const struct rt_route *rt, const struct qparam *qp, unsigned n_qp, const uint64_t *bits)
{
	for (unsigned i = 0; i < rt->n_query; i++) {
		const struct rt_kv *kv = &rt->query[i];
		const struct qparam *q = query_find(qp, n_qp, &kv->name);
		bool exact = kv->kind == WEFT_ROUTE_VALUE_EXACT && q != NULL && q->value_len == kv->value.len &&
			     memcmp(q->value, kv->value.p, kv->value.len) == 0;
		if (!kv_holds(kv, bits, q != NULL, exact))
			return false;
	}
	return true;
}

/*
 * Sibling routes share their start ("/api/v1/users/", "/api/v1/orders/") and
 * differ towards the end: the last byte rejects most candidates before memcmp().
 */
static inline bool same_bytes(const char *a, const char *b, size_t n)
{
	return n == 0 || (a[n - 1] == b[n - 1] && memcmp(a, b, n - 1) == 0);
}

/* Cheapest conditions first: method, path, headers, query. */
static bool route_holds(const struct rt_route *rt, const struct weft_http_req_view *req, uint32_t mbit,
			const uint64_t *bits, const struct qparam *qp, unsigned n_qp)
{
	if (rt->methods != 0 && (rt->methods & mbit) == 0)
		return false;
	switch (rt->path_kind) {
	case WEFT_ROUTE_PATH_EXACT:
		if (req->path_len != rt->path.len || !same_bytes(req->path, rt->path.p, rt->path.len))
			return false;
		break;
	case WEFT_ROUTE_PATH_PREFIX:
		if (req->path_len < rt->path.len || !same_bytes(req->path, rt->path.p, rt->path.len))
			return false;
		break;
	case WEFT_ROUTE_PATH_REGEX:
		if (!bit(bits, rt->path_rx))
			return false;
		break;
	default:
		break;
	}
	if (rt->n_hdr > 0 && !headers_hold(rt, req, bits))
		return false;
	if (rt->n_query > 0 && !query_holds(rt, qp, n_qp, bits))
		return false;
	return true;
}

/* Next gate whose bit is set, at or after id; RT_NONE when none. */
static uint32_t next_gate(const struct rt_vhost *vh, const uint64_t *bits, uint32_t id)
{
	uint32_t nw = (vh->n_rx + 63) / 64;

	for (uint32_t w = id / 64; w < nw; w++) {
		uint64_t m = bits[w] & vh->gate_bits[w];
		if (w == id / 64)
			m &= ~UINT64_C(0) << (id % 64);
		if (m != 0)
			return w * 64 + (uint32_t)__builtin_ctzll(m);
	}
	return RT_NONE;
}

/* First route of the exact-path index whose path is the request's; RT_NONE when none. */
static uint32_t exact_first(const struct rt_vhost *vh, const struct weft_http_req_view *req)
{
	if (vh->exact_slots == NULL)
		return RT_NONE;
	uint32_t i = (uint32_t)rt_path_hash(req->path, req->path_len) & vh->exact_mask;
	for (;; i = (i + 1) & vh->exact_mask) {
		uint32_t r = vh->exact_slots[i];
		if (r == RT_NONE)
			return RT_NONE;
		const struct weft_route_str *p = &vh->routes[r].path;
		if (p->len == req->path_len && memcmp(p->p, req->path, p->len) == 0)
			return r;
	}
}

static void set_result(const struct rt_route *rt, const struct weft_http_req_view *req, uint32_t v, uint32_t r,
		       const uint64_t *bits, struct weft_route_result *out)
{
	const struct weft_route_action *a = &rt->act;

	out->vhost = v;
	out->route = r;
	out->action = a;
	out->cluster = RT_NONE;
	/* Without a scan (bits NULL) nobody knows: let the rewrite run regexec() and see. */
	out->regex_rewrite_hit = rt->regex_rewrite != NULL && (bits == NULL || bit(bits, rt->regex_rewrite->rx));
	if (a->kind == WEFT_ROUTE_ACT_CLUSTER) {
		out->cluster = a->cluster;
	} else if (a->kind == WEFT_ROUTE_ACT_WEIGHTED) {
		/* The first entry whose cumulative weight exceeds the draw; zero weights are never chosen. */
		uint32_t draw = (uint32_t)(req->random % a->total_weight);
		uint32_t lo = 0, hi = a->n_weighted - 1;
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			if (a->weighted[mid].cum_weight > draw)
				hi = mid;
			else
				lo = mid + 1;
		}
		out->cluster = a->weighted[lo].cluster;
	}
}

static uint32_t min3(uint32_t a, uint32_t b, uint32_t c)
{
	uint32_t m = a < b ? a : b;
	return m < c ? m : c;
}

int weft_route_match(const struct weft_route_table *t, const struct weft_http_req_view *req, hs_scratch_t *scratch,
		     struct weft_route_result *out)
{
	uint64_t bits[WEFT_ROUTE_MAX_VHOST_REGEX / 64];
	struct qparam qp[WEFT_ROUTE_MAX_QUERY_PARAMS];
	unsigned n_qp = 0;
	uint32_t v = find_vhost(t, req->host, req->host_len);
	uint32_t mbit;
	struct weft_http_req_view rq;

	out->vhost = v;
	out->route = RT_NONE;
	out->action = NULL;
	out->cluster = RT_NONE;
	out->regex_rewrite_hit = false;
	if (v == RT_NONE)
		return 0;

	/* A missing path compares as an empty one (memcmp() must not see NULL). */
	if (req->path == NULL) {
		rq = *req;
		rq.path = "";
		rq.path_len = 0;
		req = &rq;
	}
	const struct rt_vhost *vh = &t->vhosts[v];
	mbit = req->method_bit;
	if (mbit == 0 && req->method != NULL)
		mbit = weft_http_method_bit(req->method, req->method_len);
	if (mbit == 0)
		mbit = WEFT_HTTP_M_OTHER;
	if (vh->has_query)
		n_qp = parse_query(req->query, req->query_len, qp, WEFT_ROUTE_MAX_QUERY_PARAMS);

	/*
	 * Merge the three candidate sequences (struct rt_vhost) in route order.
	 * Until the scan has run, the gated sequence is represented by its first
	 * route; reaching it triggers the scan and the real sequence takes over.
	 */
	const uint64_t *scanned = NULL;
	uint32_t ui = 0, g = RT_NONE;
	uint32_t re = exact_first(vh, req);
	for (;;) {
		uint32_t ru = ui < vh->n_ungated ? vh->ungated[ui] : RT_NONE;
		uint32_t rg = scanned == NULL ? vh->first_gated : g != RT_NONE ? vh->rx_route[g] : RT_NONE;
		uint32_t r = min3(ru, re, rg);

		if (r == RT_NONE)
			return 0;
		if (r == rg && scanned == NULL) {
			if (scratch == NULL) {
				errno = EINVAL;
				return -1;
			}
			/* Only the words this virtual host uses: 157 of them for 10,000 regexes. */
			memset(bits, 0, ((vh->n_rx + 63) / 64) * sizeof(bits[0]));
			if (run_db(vh, req, scratch, qp, n_qp, bits) < 0) {
				errno = EINVAL;
				return -1;
			}
			scanned = bits;
			g = next_gate(vh, bits, 0);
			continue;
		}
		if (r == ru)
			ui++;
		else if (r == re)
			re = vh->exact_next[re];
		else
			g = next_gate(vh, bits, g + 1);
		const struct rt_route *rt = &vh->routes[r];
		if (route_holds(rt, req, mbit, scanned, qp, n_qp)) {
			set_result(rt, req, v, r, scanned, out);
			return 1;
		}
	}
}
