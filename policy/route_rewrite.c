/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a matched route changes: the path (prefix or regex rewrite), the
 * Location of a redirect, and header lists. Called by workers on the one route
 * that matched; writes only into caller buffers.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "policy/route_priv.h"

/* A bounded writer: remembers overflow instead of failing at every step. */
struct wbuf {
	char *p;
	size_t cap, len;
	bool over;
};

static void put(struct wbuf *w, const char *s, size_t n)
{
	if (w->over || n >= w->cap - w->len) { /* keep one byte for the NUL */
		w->over = true;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
}

static int finish(struct wbuf *w)
{
	if (w->over || w->cap == 0) {
		errno = ENOSPC;
		return -1;
	}
	w->p[w->len] = '\0';
	return (int)w->len;
}

static const struct rt_route *route_of(const struct weft_route_table *t, const struct weft_route_result *r)
{
	if (r->action == NULL || r->vhost >= t->n_vhosts || r->route >= t->vhosts[r->vhost].n_routes)
		return NULL;
	return &t->vhosts[r->vhost].routes[r->route];
}

/*
 * Prefix rewrite: a prefix route swaps the prefix it matched, an exact route
 * swaps the whole path (Envoy's prefix_rewrite). The route matched, so the
 * path is at least as long as its prefix.
 */
static void put_prefix_rewrite(struct wbuf *w, const struct rt_route *rt, const struct weft_http_req_view *req)
{
	size_t keep = rt->path_kind == WEFT_ROUTE_PATH_PREFIX ? rt->path.len : req->path_len;

	if (keep > req->path_len)
		keep = req->path_len;
	put(w, rt->prefix_rewrite.p, rt->prefix_rewrite.len);
	put(w, req->path + keep, req->path_len - keep);
}

static void put_subst(struct wbuf *w, const struct weft_route_str *subst, const char *s, const regmatch_t *m,
		      size_t nm)
{
	const char *p = subst->p, *end = subst->p + subst->len;

	while (p < end) {
		const char *bs = memchr(p, '\\', (size_t)(end - p));
		if (bs == NULL) {
			put(w, p, (size_t)(end - p));
			return;
		}
		put(w, p, (size_t)(bs - p));
		/* The compiler checked that a digit within the groups or a backslash follows. */
		if (bs[1] == '\\') {
			put(w, "\\", 1);
		} else {
			size_t g = (size_t)(bs[1] - '0');
			if (g < nm && m[g].rm_so >= 0)
				put(w, s + m[g].rm_so, (size_t)(m[g].rm_eo - m[g].rm_so));
		}
		p = bs + 2;
	}
}

/*
 * Replace every non-overlapping match, left to right (RE2's GlobalReplace,
 * which Envoy's regex_rewrite uses). REG_STARTEND lets regexec() run over the
 * path in place, without a NUL; '^' still means the start of the path only.
 */
static unsigned put_regex_rewrite(struct wbuf *w, const struct rt_rewrite *rw, unsigned worker, const char *path,
				  size_t len)
{
	unsigned hits = 0;

	const regex_t *re = &rw->re[worker % rw->n_copies];
	regmatch_t m[10];
	size_t nm = rw->nsub + 1 < 10 ? rw->nsub + 1 : 10;
	size_t pos = 0;

	while (pos <= len) {
		m[0].rm_so = (regoff_t)pos;
		m[0].rm_eo = (regoff_t)len;
		if (regexec(re, path, nm, m, REG_STARTEND) != 0)
			break;
		size_t so = (size_t)m[0].rm_so, eo = (size_t)m[0].rm_eo;
		hits++;
		put(w, path + pos, so - pos);
		put_subst(w, &rw->subst, path, m, nm);
		if (eo == so) {
			/* An empty match: keep the next character and move past it. */
			if (so < len)
				put(w, path + so, 1);
			pos = so + 1;
		} else {
			pos = eo;
		}
	}
	if (pos < len)
		put(w, path + pos, len - pos);
	return hits;
}

static void put_query(struct wbuf *w, const struct weft_http_req_view *req)
{
	if (req->query != NULL && req->query_len > 0) {
		put(w, "?", 1);
		put(w, req->query, req->query_len);
	}
}

int weft_route_rewrite_path(const struct weft_route_table *t, const struct weft_route_result *r,
			    const struct weft_http_req_view *req, unsigned worker, char *buf, size_t cap)
{
	const struct rt_route *rt = route_of(t, r);
	struct wbuf w = {.p = buf, .cap = cap};
	const char *path = req->path != NULL ? req->path : "";

	if (rt == NULL || !rt->act.rewrites_path)
		return 0;
	if (rt->prefix_rewrite_set) {
		put_prefix_rewrite(&w, rt, req);
	} else if (rt->regex_rewrite != NULL) {
		if (!r->regex_rewrite_hit)
			return 0; /* Hyperscan saw no occurrence: nothing to replace */
		if (put_regex_rewrite(&w, rt->regex_rewrite, worker, path, req->path_len) == 0)
			return 0;
	}
	put_query(&w, req);
	return finish(&w);
}

/* Host without its ":port" (IPv6 literals keep their brackets). */
static size_t host_name_len(const char *h, size_t len)
{
	if (len > 0 && h[0] == '[') {
		const char *end = memchr(h, ']', len);
		return end != NULL ? (size_t)(end - h) + 1 : len;
	}
	const char *colon = memchr(h, ':', len);
	return colon != NULL ? (size_t)(colon - h) : len;
}

/*
 * Location = scheme "://" host [":" port] path ["?" query].
 * Host: host_redirect if set, else the request's Host as sent (port included).
 * Port: port_redirect replaces any port; with only a scheme_redirect, a port
 * of 80 or 443 is dropped (it belonged to the old scheme); otherwise it stays.
 * Path: path_redirect (its own "?query" replaces the request's), or the
 * prefix rewrite, or the request's path. strip_query drops the query.
 */
int weft_route_redirect_location(const struct weft_route_table *t, const struct weft_route_result *r,
				 const struct weft_http_req_view *req, char *buf, size_t cap)
{
	const struct rt_route *rt = route_of(t, r);
	struct wbuf w = {.p = buf, .cap = cap};
	bool query;

	if (rt == NULL || rt->act.kind != WEFT_ROUTE_ACT_REDIRECT) {
		errno = EINVAL;
		return -1;
	}
	const typeof(rt->act.redirect) *rd = &rt->act.redirect;

	if (rd->scheme.len > 0)
		put(&w, rd->scheme.p, rd->scheme.len);
	else if (req->scheme != NULL && req->scheme_len > 0)
		put(&w, req->scheme, req->scheme_len);
	else
		put(&w, "http", 4);
	put(&w, "://", 3);

	const char *host = rd->host.len > 0 ? rd->host.p : req->host;
	size_t host_len = rd->host.len > 0 ? rd->host.len : req->host != NULL ? req->host_len : 0;
	size_t name_len = host_len > 0 ? host_name_len(host, host_len) : 0;
	put(&w, host, name_len);
	if (rd->port != 0) {
		char port[8];
		int n = snprintf(port, sizeof(port), ":%u", rd->port);
		put(&w, port, (size_t)n);
	} else if (name_len < host_len) {
		const char *port = host + name_len;
		size_t plen = host_len - name_len;
		bool dflt = (plen == 3 && memcmp(port, ":80", 3) == 0) || (plen == 4 && memcmp(port, ":443", 4) == 0);
		if (!(rd->scheme.len > 0 && dflt))
			put(&w, port, plen);
	}

	query = !rd->strip_query;
	if (rd->path.len > 0) {
		put(&w, rd->path.p, rd->path.len);
		if (memchr(rd->path.p, '?', rd->path.len) != NULL)
			query = false;
	} else if (rt->prefix_rewrite_set) {
		put_prefix_rewrite(&w, rt, req);
	} else if (req->path != NULL) {
		put(&w, req->path, req->path_len);
	}
	if (query)
		put_query(&w, req);
	return finish(&w);
}

static bool named_in(const struct weft_http_hdr_view *h, const struct weft_route_str *names, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (h->name_len == names[i].len && rt_eq_lower(h->name, names[i].p, names[i].len))
			return true;
	return false;
}

static bool named_in_views(const struct weft_http_hdr_view *h, const struct weft_http_hdr_view *v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (h->name_len == v[i].name_len && rt_eq_lower(h->name, v[i].name, v[i].name_len))
			return true;
	return false;
}

int weft_route_headers_apply(const struct weft_route_header_ops *ops, const struct weft_http_hdr_view *in,
			     unsigned n_in, struct weft_http_hdr_view *out, unsigned cap)
{
	unsigned n = 0;

	for (unsigned i = 0; i < n_in; i++) {
		if (named_in(&in[i], ops->remove, ops->n_remove) || named_in_views(&in[i], ops->set, ops->n_set))
			continue;
		if (n == cap)
			goto full;
		out[n++] = in[i];
	}
	if (cap - n < (unsigned)ops->n_set + ops->n_add)
		goto full;
	for (unsigned i = 0; i < ops->n_set; i++)
		out[n++] = ops->set[i];
	for (unsigned i = 0; i < ops->n_add; i++)
		out[n++] = ops->add[i];
	return (int)n;
full:
	errno = ENOSPC;
	return -1;
}
