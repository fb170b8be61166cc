/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The route compiler: checks a routing model, copies it into one arena owned
 * by the table, indexes the virtual hosts by domain and compiles every regex
 * of a virtual host into one Hyperscan database. Runs on the management
 * thread; nothing here is called by workers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/lb.h"
#include "policy/route_priv.h"

/* ------------------------------------------------------------------------ */
/* Arena: the table's memory, freed in one go                                */
/* ------------------------------------------------------------------------ */

#define ARENA_CHUNK (64u << 10)

struct rt_arena_chunk {
	struct rt_arena_chunk *next;
	size_t used, cap;
	_Alignas(16) unsigned char data[];
};

/* Zeroed, 16-byte aligned memory that lives as long as the table; NULL on ENOMEM. */
static void *arena_alloc(struct weft_route_table *t, size_t n)
{
	struct rt_arena_chunk *c = t->arena;

	n = (n + 15) & ~(size_t)15;
	if (n == 0)
		n = 16;
	if (c == NULL || c->cap - c->used < n) {
		size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;

		c = malloc(sizeof(*c) + cap);
		if (c == NULL)
			return NULL;
		c->cap = cap;
		c->used = 0;
		c->next = t->arena;
		t->arena = c;
	}
	void *p = c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

static void arena_free(struct rt_arena_chunk *c)
{
	while (c != NULL) {
		struct rt_arena_chunk *next = c->next;
		free(c);
		c = next;
	}
}

/* ------------------------------------------------------------------------ */
/* Compile context and errors                                                */
/* ------------------------------------------------------------------------ */

/* A regex waiting for hs_compile_multi(), with where it came from for errors. */
struct rx_pending {
	char *expr;      /* what Hyperscan compiles (anchored for matchers) */
	char *raw;       /* the pattern as written, checked on its own first */
	unsigned flags;
	int line;
	char where[96];  /* "virtual_hosts[0].routes[3].match.regex" */
};

struct cc {
	struct weft_route_table *t;
	const struct weft_route_cfg_model *m;
	char *err;
	size_t errlen;
	bool oom;
	/* the virtual host being compiled */
	unsigned v;
	struct rx_pending *rx;
	uint32_t n_rx, cap_rx;
	struct rt_input *inputs;
	uint32_t n_inputs, cap_inputs;
};

__attribute__((format(printf, 3, 4)))
static int fail(struct cc *c, int line, const char *fmt, ...)
{
	va_list ap;
	size_t off = 0;

	if (c->err == NULL || c->errlen == 0)
		return -1;
	if (line > 0) {
		int n = snprintf(c->err, c->errlen, "line %d: ", line);
		off = n > 0 && (size_t)n < c->errlen ? (size_t)n : 0;
	}
	va_start(ap, fmt);
	vsnprintf(c->err + off, c->errlen - off, fmt, ap);
	va_end(ap);
	return -1;
}

static int fail_oom(struct cc *c)
{
	c->oom = true;
	errno = ENOMEM;
	return fail(c, 0, "out of memory compiling routes");
}

/* Copy s (len bytes) into the arena, optionally lower-cased, NUL-terminated. */
static int astr_n(struct cc *c, const char *s, size_t len, bool lower, struct weft_route_str *out)
{
	char *p = arena_alloc(c->t, len + 1);

	if (p == NULL)
		return fail_oom(c);
	for (size_t i = 0; i < len; i++)
		p[i] = lower ? (char)rt_lower((unsigned char)s[i]) : s[i];
	p[len] = '\0';
	out->p = p;
	out->len = (uint32_t)len;
	return 0;
}

static int astr(struct cc *c, const char *s, bool lower, struct weft_route_str *out)
{
	if (s == NULL) {
		out->p = "";
		out->len = 0;
		return 0;
	}
	return astr_n(c, s, strlen(s), lower, out);
}

/* ------------------------------------------------------------------------ */
/* Lexical checks                                                            */
/* ------------------------------------------------------------------------ */

/* RFC 9110 5.6.2: token = 1*tchar. */
static bool is_token(const char *s)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";

	if (s == NULL || *s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      strchr(extra, ch) != NULL))
			return false;
	}
	return true;
}

/* RFC 9110 5.5: a field value never holds CR, LF or NUL (NUL cannot be in a C string). */
static bool is_field_value(const char *s)
{
	return s != NULL && strpbrk(s, "\r\n") == NULL;
}

/* What may appear in a request target's path as weft forwards it: visible ASCII. */
static bool is_path_text(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return false;
	return true;
}

/* ------------------------------------------------------------------------ */
/* Regex collection                                                          */
/* ------------------------------------------------------------------------ */

static int input_id(struct cc *c, uint8_t kind, const struct weft_route_str *name, uint16_t *out)
{
	for (uint32_t i = 0; i < c->n_inputs; i++) {
		const struct rt_input *in = &c->inputs[i];
		if (in->kind == kind && in->name.len == name->len && memcmp(in->name.p, name->p, name->len) == 0) {
			*out = (uint16_t)i;
			return 0;
		}
	}
	if (c->n_inputs >= UINT16_MAX)
		return fail(c, 0, "virtual_hosts[%u]: more than %u distinct headers and parameters under regex",
			    c->v, UINT16_MAX);
	if (c->n_inputs == c->cap_inputs) {
		uint32_t cap = c->cap_inputs ? c->cap_inputs * 2 : 8;
		struct rt_input *p = realloc(c->inputs, cap * sizeof(*p));
		if (p == NULL)
			return fail_oom(c);
		c->inputs = p;
		c->cap_inputs = cap;
	}
	c->inputs[c->n_inputs] = (struct rt_input){.kind = kind, .name = *name};
	*out = (uint16_t)c->n_inputs++;
	return 0;
}

/*
 * Queue one regex of the current virtual host. Matcher regexes are anchored
 * at both ends, because a route regex, like Envoy's safe_regex, must match the
 * whole path or value: "\A(?:pattern)\z". \z rather than $: in PCRE syntax $
 * also matches before a final newline. Rewrite patterns stay unanchored: the
 * database only says whether they occur anywhere in the path.
 */
static int add_rx(struct cc *c, const char *pattern, bool anchored, int line, uint32_t *id,
		  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int add_rx(struct cc *c, const char *pattern, bool anchored, int line, uint32_t *id,
		  const char *fmt, ...)
{
	struct rx_pending *rx;
	va_list ap;

	if (c->n_rx >= WEFT_ROUTE_MAX_VHOST_REGEX)
		return fail(c, line, "virtual_hosts[%u]: more than %u regexes", c->v, WEFT_ROUTE_MAX_VHOST_REGEX);
	if (c->n_rx == c->cap_rx) {
		uint32_t cap = c->cap_rx ? c->cap_rx * 2 : 16;
		struct rx_pending *p = realloc(c->rx, cap * sizeof(*p));
		if (p == NULL)
			return fail_oom(c);
		c->rx = p;
		c->cap_rx = cap;
	}
	rx = &c->rx[c->n_rx];
	memset(rx, 0, sizeof(*rx));
	size_t n = strlen(pattern) + 16;
	rx->expr = malloc(n);
	rx->raw = strdup(pattern);
	if (rx->expr == NULL || rx->raw == NULL) {
		free(rx->expr);
		free(rx->raw);
		return fail_oom(c);
	}
	if (anchored)
		snprintf(rx->expr, n, "\\A(?:%s)\\z", pattern);
	else
		snprintf(rx->expr, n, "%s", pattern);
	/*
	 * SINGLEMATCH: one report per pattern is all the bitset needs, and lets
	 * Hyperscan stop tracking a pattern once it has fired. ALLOWEMPTY: ".*"
	 * on an empty header value is a legitimate match. No DOTALL: like RE2,
	 * '.' does not match '\n', which an HTTP path or value cannot hold anyway.
	 */
	rx->flags = HS_FLAG_SINGLEMATCH | HS_FLAG_ALLOWEMPTY;
	rx->line = line;
	va_start(ap, fmt);
	vsnprintf(rx->where, sizeof(rx->where), fmt, ap);
	va_end(ap);
	*id = c->n_rx++;
	return 0;
}

static void rx_reset(struct cc *c)
{
	for (uint32_t i = 0; i < c->n_rx; i++) {
		free(c->rx[i].expr);
		free(c->rx[i].raw);
	}
	c->n_rx = 0;
	c->n_inputs = 0;
}

/* ------------------------------------------------------------------------ */
/* POSIX copy of a rewrite pattern                                           */
/* ------------------------------------------------------------------------ */

/*
 * Hyperscan reports where a pattern matches but has no capture groups, so the
 * substitution runs glibc's regexec() on the one route that matched. The
 * pattern is written once, in Hyperscan's PCRE syntax; this turns it into the
 * POSIX extended syntax regcomp() reads. Their common ground is large (groups,
 * alternation, classes, anchors, counted repeats, glibc's \w \W \s \S \b);
 * \d and \D are spelt out; constructs whose meaning would silently differ
 * are refused: (?...) groups, lazy quantifiers, escapes inside brackets.
 */
static int pcre_to_ere(struct cc *c, int line, const char *where, const char *in, char **out)
{
	size_t n = strlen(in);
	char *o = malloc(n * 6 + 1), *p = o;
	bool bracket = false;

	if (o == NULL)
		return fail_oom(c);
	for (size_t i = 0; i < n; i++) {
		char ch = in[i];
		if (bracket) {
			if (ch == '\\') {
				free(o);
				return fail(c, line, "%s: no escape inside [...] in a rewrite pattern (POSIX reads it literally)",
					    where);
			}
			/* "[]...]" and "[^]...]": a ']' first in the set is a literal. */
			if (ch == ']' && !(in[i - 1] == '[' || (in[i - 1] == '^' && i >= 2 && in[i - 2] == '[')))
				bracket = false;
			*p++ = ch;
			continue;
		}
		if (ch == '[') {
			bracket = true;
			*p++ = ch;
			continue;
		}
		if (ch == '(' && in[i + 1] == '?') {
			free(o);
			return fail(c, line, "%s: (?...) groups are not supported in a rewrite pattern", where);
		}
		if ((ch == '*' || ch == '+' || ch == '?' || ch == '}') && in[i + 1] == '?') {
			free(o);
			return fail(c, line, "%s: lazy quantifiers are not supported in a rewrite pattern", where);
		}
		if (ch == '\\' && (in[i + 1] == 'd' || in[i + 1] == 'D')) {
			const char *cls = in[i + 1] == 'd' ? "[0-9]" : "[^0-9]";
			memcpy(p, cls, strlen(cls));
			p += strlen(cls);
			i++;
			continue;
		}
		if (ch == '\\' && in[i + 1] != '\0') {
			*p++ = ch;
			*p++ = in[++i];
			continue;
		}
		*p++ = ch;
	}
	*p = '\0';
	*out = o;
	return 0;
}

/* Check a substitution: \0..\9 within the pattern's groups, \\ for a backslash. */
static int check_subst(struct cc *c, int line, const char *where, const char *s, size_t nsub)
{
	for (; *s != '\0'; s++) {
		if (*s != '\\')
			continue;
		s++;
		if (*s == '\\')
			continue;
		if (*s >= '0' && *s <= '9') {
			if ((size_t)(*s - '0') > nsub)
				return fail(c, line, "%s: \\%c but the pattern has %zu group(s)", where, *s, nsub);
			continue;
		}
		return fail(c, line, "%s: only \\0..\\9 and \\\\ may follow a backslash", where);
	}
	return 0;
}

static int compile_rewrite(struct cc *c, const struct weft_route_cfg_route *rc, unsigned r,
			   struct rt_route *rt)
{
	char where[96];
	struct rt_rewrite *rw = &c->t->rewrites[c->t->n_rewrites];
	char *ere = NULL;

	snprintf(where, sizeof(where), "virtual_hosts[%u].routes[%u].route.regex_rewrite", c->v, r);
	if (rc->regex_rewrite_substitution == NULL)
		return fail(c, rc->line, "%s.substitution: missing", where);
	if (!is_path_text(rc->regex_rewrite_substitution))
		return fail(c, rc->line, "%s.substitution: spaces and control characters are not allowed", where);
	if (add_rx(c, rc->regex_rewrite_pattern, false, rc->line, &rw->rx, "%s.pattern", where) < 0)
		return -1;
	char pw[112];
	snprintf(pw, sizeof(pw), "%s.pattern", where);
	if (pcre_to_ere(c, rc->line, pw, rc->regex_rewrite_pattern, &ere) < 0)
		return -1;
	rw->re = calloc(c->t->n_workers, sizeof(*rw->re));
	if (rw->re == NULL) {
		free(ere);
		return fail_oom(c);
	}
	c->t->n_rewrites++; /* from here on weft_routes_free() cleans it up */
	for (unsigned w = 0; w < c->t->n_workers; w++) {
		int rc2 = regcomp(&rw->re[w], ere, REG_EXTENDED);
		if (rc2 != 0) {
			char msg[160];
			regerror(rc2, &rw->re[w], msg, sizeof(msg));
			free(ere);
			return fail(c, rc->line, "%s: %s", pw, msg);
		}
		rw->n_copies++;
	}
	free(ere);
	rw->nsub = rw->re[0].re_nsub;
	if (check_subst(c, rc->line, where, rc->regex_rewrite_substitution, rw->nsub) < 0)
		return -1;
	if (astr(c, rc->regex_rewrite_substitution, false, &rw->subst) < 0)
		return -1;
	rt->regex_rewrite = rw;
	rt->act.rewrites_path = true;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Routes                                                                    */
/* ------------------------------------------------------------------------ */

static int find_cluster(struct cc *c, const char *name, uint32_t *idx)
{
	for (unsigned i = 0; i < c->m->n_clusters; i++) {
		if (c->m->clusters[i] != NULL && strcmp(c->m->clusters[i], name) == 0) {
			*idx = i;
			return 0;
		}
	}
	return -1;
}

static int compile_kv(struct cc *c, unsigned r, const char *what, unsigned i,
		      const struct weft_route_cfg_kv_match *kc, struct rt_kv *kv)
{
	bool header = strcmp(what, "headers") == 0;
	int line = kc->line;

	if (header ? !is_token(kc->name) : (kc->name == NULL || kc->name[0] == '\0'))
		return fail(c, line, "virtual_hosts[%u].routes[%u].match.%s[%u].name: %s", c->v, r, what, i,
			    header ? "not a valid header name" : "missing");
	if (astr(c, kc->name, header, &kv->name) < 0)
		return -1;
	kv->kind = (uint8_t)kc->kind;
	kv->invert = kc->invert;
	switch (kc->kind) {
	case WEFT_ROUTE_VALUE_EXACT:
		if (kc->value == NULL)
			return fail(c, line, "virtual_hosts[%u].routes[%u].match.%s[%u].exact: missing", c->v, r,
				    what, i);
		return astr(c, kc->value, false, &kv->value);
	case WEFT_ROUTE_VALUE_REGEX:
		if (kc->value == NULL)
			return fail(c, line, "virtual_hosts[%u].routes[%u].match.%s[%u].regex: missing", c->v, r,
				    what, i);
		return add_rx(c, kc->value, true, line, &kv->rx, "virtual_hosts[%u].routes[%u].match.%s[%u].regex",
			      c->v, r, what, i);
	case WEFT_ROUTE_VALUE_PRESENT:
	case WEFT_ROUTE_VALUE_ABSENT:
		return 0;
	}
	return fail(c, line, "virtual_hosts[%u].routes[%u].match.%s[%u]: unknown kind %d", c->v, r, what, i,
		    (int)kc->kind);
}

static int compile_ops(struct cc *c, unsigned r, const char *what, const struct weft_route_cfg_header_ops *oc,
		       struct weft_route_header_ops *ops, int line)
{
	const struct {
		const char *key;
		unsigned n;
		const struct weft_route_cfg_header *h;
		const struct weft_http_hdr_view **out;
		uint16_t *count;
	} lists[2] = {
		{"add", oc->n_add, oc->add, &ops->add, &ops->n_add},
		{"set", oc->n_set, oc->set, &ops->set, &ops->n_set},
	};

	for (unsigned l = 0; l < 2; l++) {
		if (lists[l].n == 0)
			continue;
		if (lists[l].h == NULL)
			return fail(c, line, "virtual_hosts[%u].routes[%u].%s_to_%s: missing", c->v, r, what, lists[l].key);
		if (lists[l].n > UINT16_MAX)
			return fail(c, line, "virtual_hosts[%u].routes[%u].%s_to_%s: too many headers", c->v, r, what,
				    lists[l].key);
		struct weft_http_hdr_view *hv = arena_alloc(c->t, lists[l].n * sizeof(*hv));
		if (hv == NULL)
			return fail_oom(c);
		for (unsigned i = 0; i < lists[l].n; i++) {
			const struct weft_route_cfg_header *h = &lists[l].h[i];
			struct weft_route_str name, value;
			if (!is_token(h->name))
				return fail(c, line, "virtual_hosts[%u].routes[%u].%s_to_%s[%u].name: not a valid header name",
					    c->v, r, what, lists[l].key, i);
			if (!is_field_value(h->value))
				return fail(c, line,
					    "virtual_hosts[%u].routes[%u].%s_to_%s[%u].value: missing, or holds CR or LF",
					    c->v, r, what, lists[l].key, i);
			if (astr(c, h->name, true, &name) < 0 || astr(c, h->value, false, &value) < 0)
				return -1;
			hv[i] = (struct weft_http_hdr_view){name.p, value.p, name.len, value.len};
		}
		*lists[l].out = hv;
		*lists[l].count = (uint16_t)lists[l].n;
	}
	if (oc->n_remove > 0) {
		if (oc->remove == NULL)
			return fail(c, line, "virtual_hosts[%u].routes[%u].%s_to_remove: missing", c->v, r, what);
		if (oc->n_remove > UINT16_MAX)
			return fail(c, line, "virtual_hosts[%u].routes[%u].%s_to_remove: too many headers", c->v, r, what);
		struct weft_route_str *rm = arena_alloc(c->t, oc->n_remove * sizeof(*rm));
		if (rm == NULL)
			return fail_oom(c);
		for (unsigned i = 0; i < oc->n_remove; i++) {
			if (!is_token(oc->remove[i]))
				return fail(c, line, "virtual_hosts[%u].routes[%u].%s_to_remove[%u]: not a valid header name",
					    c->v, r, what, i);
			if (astr(c, oc->remove[i], true, &rm[i]) < 0)
				return -1;
		}
		ops->remove = rm;
		ops->n_remove = (uint16_t)oc->n_remove;
	}
	return 0;
}

static bool path_kind_rewritable(enum weft_route_path_kind k)
{
	return k == WEFT_ROUTE_PATH_PREFIX || k == WEFT_ROUTE_PATH_EXACT;
}

static int compile_action(struct cc *c, unsigned r, const struct weft_route_cfg_route *rc, struct rt_route *rt)
{
	struct weft_route_action *a = &rt->act;
	int line = rc->line;
	bool forwards = rc->action == WEFT_ROUTE_ACT_CLUSTER || rc->action == WEFT_ROUTE_ACT_WEIGHTED;

	a->kind = rc->action;
	a->timeout_ms = rc->timeout_ms;
	a->retry = rc->retry;
	if (!forwards && (rc->prefix_rewrite != NULL || rc->regex_rewrite_pattern != NULL || rc->host_rewrite != NULL))
		return fail(c, line, "virtual_hosts[%u].routes[%u].route: rewrites need a cluster or weighted_clusters",
			    c->v, r);
	if (rc->action != WEFT_ROUTE_ACT_CLUSTER && rc->cluster != NULL)
		return fail(c, line, "virtual_hosts[%u].routes[%u].route.cluster: not allowed with this action", c->v, r);
	if (rc->action != WEFT_ROUTE_ACT_WEIGHTED && rc->n_weighted > 0)
		return fail(c, line, "virtual_hosts[%u].routes[%u].route.weighted_clusters: not allowed with this action",
			    c->v, r);

	switch (rc->action) {
	case WEFT_ROUTE_ACT_CLUSTER:
		if (rc->cluster == NULL)
			return fail(c, line, "virtual_hosts[%u].routes[%u].route.cluster: missing", c->v, r);
		if (find_cluster(c, rc->cluster, &a->cluster) < 0)
			return fail(c, line, "virtual_hosts[%u].routes[%u].route.cluster: unknown cluster '%s'", c->v, r,
				    rc->cluster);
		if (astr(c, rc->cluster, false, &a->cluster_name) < 0)
			return -1;
		break;
	case WEFT_ROUTE_ACT_WEIGHTED: {
		if (rc->n_weighted == 0 || rc->weighted == NULL)
			return fail(c, line, "virtual_hosts[%u].routes[%u].route.weighted_clusters: empty", c->v, r);
		struct weft_route_weighted *w = arena_alloc(c->t, rc->n_weighted * sizeof(*w));
		uint64_t sum = 0;
		if (w == NULL)
			return fail_oom(c);
		for (unsigned i = 0; i < rc->n_weighted; i++) {
			const struct weft_route_cfg_weighted *wc = &rc->weighted[i];
			if (wc->cluster == NULL || find_cluster(c, wc->cluster, &w[i].cluster) < 0)
				return fail(c, line,
					    "virtual_hosts[%u].routes[%u].route.weighted_clusters[%u].name: unknown cluster '%s'",
					    c->v, r, i, wc->cluster ? wc->cluster : "");
			sum += wc->weight;
			if (sum > UINT32_MAX)
				return fail(c, line,
					    "virtual_hosts[%u].routes[%u].route.weighted_clusters: weights add up past %u",
					    c->v, r, UINT32_MAX);
			w[i].cum_weight = (uint32_t)sum;
			if (astr(c, wc->cluster, false, &w[i].name) < 0)
				return -1;
		}
		if (sum == 0)
			return fail(c, line, "virtual_hosts[%u].routes[%u].route.weighted_clusters: every weight is 0",
				    c->v, r);
		a->weighted = w;
		a->n_weighted = rc->n_weighted;
		a->total_weight = (uint32_t)sum;
		break;
	}
	case WEFT_ROUTE_ACT_REDIRECT: {
		const struct weft_route_cfg_redirect *rd = &rc->redirect;
		uint16_t st = rd->status ? rd->status : 301;
		if (st != 301 && st != 302 && st != 303 && st != 307 && st != 308)
			return fail(c, line, "virtual_hosts[%u].routes[%u].redirect.response_code: %u is not 301, 302, 303, 307 or 308",
				    c->v, r, st);
		if (rd->path != NULL && rd->prefix_rewrite != NULL)
			return fail(c, line, "virtual_hosts[%u].routes[%u].redirect: path_redirect and prefix_rewrite exclude each other",
				    c->v, r);
		if (rd->prefix_rewrite != NULL && !path_kind_rewritable(rc->match.path_kind))
			return fail(c, line, "virtual_hosts[%u].routes[%u].redirect.prefix_rewrite: needs a prefix or path match",
				    c->v, r);
		if (rd->scheme != NULL && (!is_token(rd->scheme) || strpbrk(rd->scheme, ":/") != NULL))
			return fail(c, line, "virtual_hosts[%u].routes[%u].redirect.scheme_redirect: not a scheme", c->v, r);
		if (rd->host != NULL && (rd->host[0] == '\0' || !is_path_text(rd->host) || strpbrk(rd->host, "/?#@") != NULL))
			return fail(c, line, "virtual_hosts[%u].routes[%u].redirect.host_redirect: not a host", c->v, r);
		if ((rd->path != NULL && (rd->path[0] != '/' || !is_path_text(rd->path))) ||
		    (rd->prefix_rewrite != NULL && !is_path_text(rd->prefix_rewrite)))
			return fail(c, line, "virtual_hosts[%u].routes[%u].redirect: a path must start with '/' and hold visible characters only",
				    c->v, r);
		if (astr(c, rd->scheme, true, &a->redirect.scheme) < 0 || astr(c, rd->host, true, &a->redirect.host) < 0 ||
		    astr(c, rd->path, false, &a->redirect.path) < 0 ||
		    astr(c, rd->prefix_rewrite, false, &a->redirect.prefix_rewrite) < 0)
			return -1;
		if (rd->prefix_rewrite != NULL) {
			rt->prefix_rewrite = a->redirect.prefix_rewrite;
			rt->prefix_rewrite_set = true;
		}
		a->redirect.port = rd->port;
		a->redirect.status = st;
		a->redirect.strip_query = rd->strip_query;
		break;
	}
	case WEFT_ROUTE_ACT_DIRECT:
		if (rc->direct.status < 100 || rc->direct.status > 599)
			return fail(c, line, "virtual_hosts[%u].routes[%u].direct_response.status: %u is not in 100..599",
				    c->v, r, rc->direct.status);
		a->direct.status = rc->direct.status;
		if (astr(c, rc->direct.body, false, &a->direct.body) < 0)
			return -1;
		break;
	default:
		return fail(c, line, "virtual_hosts[%u].routes[%u]: unknown action %d", c->v, r, (int)rc->action);
	}

	if (forwards) {
		if (rc->prefix_rewrite != NULL && rc->regex_rewrite_pattern != NULL)
			return fail(c, line, "virtual_hosts[%u].routes[%u].route: prefix_rewrite and regex_rewrite exclude each other",
				    c->v, r);
		if (rc->prefix_rewrite != NULL) {
			if (!path_kind_rewritable(rc->match.path_kind))
				return fail(c, line, "virtual_hosts[%u].routes[%u].route.prefix_rewrite: needs a prefix or path match",
					    c->v, r);
			if (!is_path_text(rc->prefix_rewrite))
				return fail(c, line, "virtual_hosts[%u].routes[%u].route.prefix_rewrite: spaces and control characters are not allowed",
					    c->v, r);
			if (astr(c, rc->prefix_rewrite, false, &rt->prefix_rewrite) < 0)
				return -1;
			rt->prefix_rewrite_set = true;
			a->rewrites_path = true;
		}
		if (rc->host_rewrite != NULL) {
			if (rc->host_rewrite[0] == '\0' || !is_path_text(rc->host_rewrite))
				return fail(c, line, "virtual_hosts[%u].routes[%u].route.host_rewrite: not a host", c->v, r);
			if (astr(c, rc->host_rewrite, true, &a->host_rewrite) < 0)
				return -1;
		}
	}
	if (compile_ops(c, r, "request_headers", &rc->request_headers, &a->request_headers, line) < 0 ||
	    compile_ops(c, r, "response_headers", &rc->response_headers, &a->response_headers, line) < 0)
		return -1;
	return astr(c, rc->name, false, &a->name);
}

/*
 * One route. Its matcher regexes get ids before its rewrite pattern, and all
 * of them after the previous route's, so that the first matcher regex of each
 * route (its gate) is numbered in route order; see struct rt_vhost.
 */
static int compile_route(struct cc *c, unsigned r, const struct weft_route_cfg_route *rc, struct rt_route *rt,
			 uint32_t *gate)
{
	const struct weft_route_cfg_match *mc = &rc->match;
	int line = mc->line > 0 ? mc->line : rc->line;
	uint32_t first = c->n_rx;

	*gate = RT_NONE;
	rt->path_kind = (uint8_t)mc->path_kind;
	switch (mc->path_kind) {
	case WEFT_ROUTE_PATH_ANY:
		break;
	case WEFT_ROUTE_PATH_EXACT:
	case WEFT_ROUTE_PATH_PREFIX:
		if (mc->path == NULL)
			return fail(c, line, "virtual_hosts[%u].routes[%u].match.%s: missing", c->v, r,
				    mc->path_kind == WEFT_ROUTE_PATH_EXACT ? "path" : "prefix");
		if (astr(c, mc->path, false, &rt->path) < 0)
			return -1;
		break;
	case WEFT_ROUTE_PATH_REGEX:
		if (mc->path == NULL)
			return fail(c, line, "virtual_hosts[%u].routes[%u].match.regex: missing", c->v, r);
		if (add_rx(c, mc->path, true, line, &rt->path_rx, "virtual_hosts[%u].routes[%u].match.regex", c->v, r) < 0)
			return -1;
		break;
	default:
		return fail(c, line, "virtual_hosts[%u].routes[%u].match: unknown path kind %d", c->v, r,
			    (int)mc->path_kind);
	}
	if (mc->methods & ~((WEFT_HTTP_M_PATCH << 1) - 1))
		return fail(c, line, "virtual_hosts[%u].routes[%u].match.methods: unknown method bit", c->v, r);
	rt->methods = mc->methods;

	for (unsigned pass = 0; pass < 2; pass++) {
		const char *what = pass == 0 ? "headers" : "query";
		unsigned n = pass == 0 ? mc->n_headers : mc->n_query;
		const struct weft_route_cfg_kv_match *src = pass == 0 ? mc->headers : mc->query;
		if (n == 0)
			continue;
		if (src == NULL)
			return fail(c, line, "virtual_hosts[%u].routes[%u].match.%s: missing", c->v, r, what);
		if (n > UINT16_MAX)
			return fail(c, line, "virtual_hosts[%u].routes[%u].match.%s: too many", c->v, r, what);
		struct rt_kv *kv = arena_alloc(c->t, n * sizeof(*kv));
		if (kv == NULL)
			return fail_oom(c);
		for (unsigned i = 0; i < n; i++)
			if (compile_kv(c, r, what, i, &src[i], &kv[i]) < 0)
				return -1;
		if (pass == 0) {
			rt->hdr = kv;
			rt->n_hdr = (uint16_t)n;
		} else {
			rt->query = kv;
			rt->n_query = (uint16_t)n;
		}
	}
	rt->has_regex = c->n_rx > first;
	if (rt->has_regex)
		*gate = first;
	if (rc->regex_rewrite_pattern != NULL) {
		if (rc->action != WEFT_ROUTE_ACT_CLUSTER && rc->action != WEFT_ROUTE_ACT_WEIGHTED)
			return fail(c, rc->line, "virtual_hosts[%u].routes[%u].route: rewrites need a cluster or weighted_clusters",
				    c->v, r);
		if (rc->prefix_rewrite != NULL)
			return fail(c, rc->line, "virtual_hosts[%u].routes[%u].route: prefix_rewrite and regex_rewrite exclude each other",
				    c->v, r);
		if (compile_rewrite(c, rc, r, rt) < 0)
			return -1;
	}
	return compile_action(c, r, rc, rt);
}

/* ------------------------------------------------------------------------ */
/* Virtual hosts                                                             */
/* ------------------------------------------------------------------------ */

/* Two independent 64-bit hashes over the ordered list of expressions and flags. */
static void rx_digest(const struct cc *c, uint64_t d[2])
{
	d[0] = UINT64_C(0x726567657870) ^ c->n_rx;
	d[1] = UINT64_C(0x6869706572) ^ c->n_rx;
	for (uint32_t i = 0; i < c->n_rx; i++) {
		size_t n = strlen(c->rx[i].expr) + 1; /* the NUL separates expressions */
		d[0] = weft_hash64(c->rx[i].expr, n, d[0] ^ c->rx[i].flags);
		d[1] = weft_hash64(c->rx[i].expr, n, d[1] + c->rx[i].flags);
	}
}

/*
 * A virtual host whose regexes are exactly those of one in the previous
 * table (same expressions, flags and order, so the same ids) takes a copy of
 * its database: Hyperscan compiles about a millisecond per pattern, a copy
 * through hs_serialize_database() costs a memcpy. A reload of a big table
 * that only moved a cluster weight then does not recompile anything.
 */
static int reuse_db(struct cc *c, struct rt_vhost *vh)
{
	const struct weft_route_table *prev = c->m->previous;
	char *bytes = NULL;
	size_t len = 0;

	if (prev == NULL)
		return 0;
	for (uint32_t v = 0; v < prev->n_vhosts; v++) {
		const struct rt_vhost *pv = &prev->vhosts[v];
		if (pv->db == NULL || pv->n_rx != c->n_rx || pv->rx_digest[0] != vh->rx_digest[0] ||
		    pv->rx_digest[1] != vh->rx_digest[1])
			continue;
		if (hs_serialize_database(pv->db, &bytes, &len) != HS_SUCCESS)
			return 0; /* no memory for the copy: compile instead */
		hs_error_t e = hs_deserialize_database(bytes, len, &vh->db);
		free(bytes);
		if (e != HS_SUCCESS) {
			vh->db = NULL;
			return 0;
		}
		c->t->n_reused++;
		return 1;
	}
	return 0;
}

/*
 * Parse every pattern alone before it is wrapped. Without this, a pattern
 * with an unbalanced parenthesis could close the anchoring group early:
 * "/x)|(.*" wrapped is "\A(?:/x)|(.*)\z", valid, and no longer anchored at
 * the start. Checking it alone also gives error offsets in the user's own
 * pattern. About 0.1 ms per pattern, against 1 ms or more to compile it.
 */
static int check_patterns(struct cc *c)
{
	for (uint32_t i = 0; i < c->n_rx; i++) {
		const struct rx_pending *p = &c->rx[i];
		hs_expr_info_t *info = NULL;
		hs_compile_error_t *ce = NULL;
		if (hs_expression_info(p->raw, p->flags, &info, &ce) != HS_SUCCESS) {
			fail(c, p->line, "%s: %s", p->where, ce != NULL ? ce->message : "not a valid pattern");
			hs_free_compile_error(ce);
			return -1;
		}
		free(info); /* allocated with Hyperscan's default allocator, malloc() */
	}
	return 0;
}

static int build_db(struct cc *c, const struct weft_route_cfg_vhost *vc, struct rt_vhost *vh)
{
	hs_compile_error_t *ce = NULL;

	rx_digest(c, vh->rx_digest);
	if (reuse_db(c, vh) == 1)
		return 0;
	if (check_patterns(c) < 0)
		return -1;

	const char **exprs = malloc(c->n_rx * sizeof(*exprs));
	unsigned *flags = malloc(c->n_rx * sizeof(*flags));
	unsigned *ids = malloc(c->n_rx * sizeof(*ids));
	if (exprs == NULL || flags == NULL || ids == NULL) {
		free(exprs);
		free(flags);
		free(ids);
		return fail_oom(c);
	}
	for (uint32_t i = 0; i < c->n_rx; i++) {
		exprs[i] = c->rx[i].expr;
		flags[i] = c->rx[i].flags;
		ids[i] = i;
	}
	hs_error_t he = hs_compile_multi(exprs, flags, ids, c->n_rx, HS_MODE_BLOCK, NULL, &vh->db, &ce);
	free(exprs);
	free(flags);
	free(ids);
	if (he == HS_SUCCESS)
		return 0;
	vh->db = NULL;
	if (ce != NULL && ce->expression >= 0 && (uint32_t)ce->expression < c->n_rx) {
		const struct rx_pending *p = &c->rx[ce->expression];
		fail(c, p->line, "%s: %s", p->where, ce->message);
	} else {
		fail(c, vc->line, "virtual_hosts[%u]: hyperscan: %s", c->v, ce != NULL ? ce->message : "compile failed");
	}
	hs_free_compile_error(ce);
	return -1;
}

/*
 * Index the exact-path routes without regex by path. Walking the routes
 * backwards and pushing each at the head of its path's chain leaves every
 * chain in ascending route order.
 */
static int build_exact_index(struct cc *c, struct rt_vhost *vh, const struct rt_route *routes, const uint32_t *gates,
			     uint32_t n_exact)
{
	uint32_t slots = 8;
	uint32_t *slot, *next;

	while (slots < 2 * n_exact)
		slots *= 2;
	slot = arena_alloc(c->t, slots * sizeof(*slot));
	next = arena_alloc(c->t, vh->n_routes * sizeof(*next));
	if (slot == NULL || next == NULL)
		return fail_oom(c);
	memset(slot, 0xff, slots * sizeof(*slot)); /* RT_NONE */
	for (uint32_t r = vh->n_routes; r-- > 0;) {
		const struct rt_route *rt = &routes[r];
		next[r] = RT_NONE;
		if (gates[r] != RT_NONE || rt->path_kind != WEFT_ROUTE_PATH_EXACT)
			continue;
		uint32_t i = (uint32_t)rt_path_hash(rt->path.p, rt->path.len) & (slots - 1);
		for (;; i = (i + 1) & (slots - 1)) {
			if (slot[i] == RT_NONE)
				break;
			const struct weft_route_str *p = &routes[slot[i]].path;
			if (p->len == rt->path.len && memcmp(p->p, rt->path.p, p->len) == 0) {
				next[r] = slot[i];
				break;
			}
		}
		slot[i] = r;
	}
	vh->exact_mask = slots - 1;
	vh->exact_slots = slot;
	vh->exact_next = next;
	return 0;
}

static int compile_vhost(struct cc *c, const struct weft_route_cfg_vhost *vc, struct rt_vhost *vh)
{
	struct weft_route_table *t = c->t;
	uint32_t *gates = NULL, *ungated;
	int rc = -1;

	rx_reset(c);
	if (astr(c, vc->name, false, &vh->name) < 0)
		return -1;
	if (vc->n_routes > 0 && vc->routes == NULL)
		return fail(c, vc->line, "virtual_hosts[%u].routes: missing", c->v);
	struct rt_route *routes = arena_alloc(t, (vc->n_routes ? vc->n_routes : 1) * sizeof(*routes));
	ungated = arena_alloc(t, (vc->n_routes ? vc->n_routes : 1) * sizeof(*ungated));
	gates = malloc((vc->n_routes ? vc->n_routes : 1) * sizeof(*gates));
	if (routes == NULL || ungated == NULL || gates == NULL) {
		fail_oom(c);
		goto out;
	}
	vh->routes = routes;
	vh->n_routes = vc->n_routes;
	vh->ungated = ungated;

	uint32_t n_exact = 0;
	vh->first_gated = RT_NONE;
	for (unsigned r = 0; r < vc->n_routes; r++) {
		if (compile_route(c, r, &vc->routes[r], &routes[r], &gates[r]) < 0)
			goto out;
		if (routes[r].n_query > 0)
			vh->has_query = true;
		if (gates[r] != RT_NONE) {
			if (vh->first_gated == RT_NONE)
				vh->first_gated = r;
		} else if (routes[r].path_kind == WEFT_ROUTE_PATH_EXACT) {
			n_exact++;
		} else {
			ungated[vh->n_ungated++] = r;
		}
	}
	if (n_exact > 0 && build_exact_index(c, vh, routes, gates, n_exact) < 0)
		goto out;

	/* Per regex id: its route, its input, and whether it gates its route. */
	vh->n_rx = c->n_rx;
	if (c->n_rx > 0) {
		uint32_t *rx_route = arena_alloc(t, c->n_rx * sizeof(*rx_route));
		uint16_t *rx_input = arena_alloc(t, c->n_rx * sizeof(*rx_input));
		uint64_t *gate_bits = arena_alloc(t, ((c->n_rx + 63) / 64) * sizeof(*gate_bits));
		if (rx_route == NULL || rx_input == NULL || gate_bits == NULL) {
			fail_oom(c);
			goto out;
		}
		for (uint32_t id = 0; id < c->n_rx; id++)
			rx_route[id] = RT_NONE;
		for (unsigned r = 0; r < vc->n_routes; r++) {
			const struct rt_route *rt = &routes[r];
			static const struct weft_route_str none = {"", 0};
			uint16_t in;
			if (rt->path_kind == WEFT_ROUTE_PATH_REGEX) {
				if (input_id(c, RT_IN_PATH, &none, &in) < 0)
					goto out;
				rx_route[rt->path_rx] = r;
				rx_input[rt->path_rx] = in;
			}
			for (unsigned pass = 0; pass < 2; pass++) {
				const struct rt_kv *kv = pass == 0 ? rt->hdr : rt->query;
				unsigned n = pass == 0 ? rt->n_hdr : rt->n_query;
				for (unsigned i = 0; i < n; i++) {
					if (kv[i].kind != WEFT_ROUTE_VALUE_REGEX)
						continue;
					if (input_id(c, pass == 0 ? RT_IN_HEADER : RT_IN_QUERY, &kv[i].name, &in) < 0)
						goto out;
					rx_route[kv[i].rx] = r;
					rx_input[kv[i].rx] = in;
				}
			}
			if (rt->regex_rewrite != NULL) {
				if (input_id(c, RT_IN_PATH, &none, &in) < 0)
					goto out;
				rx_route[rt->regex_rewrite->rx] = r;
				rx_input[rt->regex_rewrite->rx] = in;
			}
			if (gates[r] != RT_NONE)
				gate_bits[gates[r] / 64] |= UINT64_C(1) << (gates[r] % 64);
		}
		vh->rx_route = rx_route;
		vh->rx_input = rx_input;
		vh->gate_bits = gate_bits;
		struct rt_input *inputs = arena_alloc(t, c->n_inputs * sizeof(*inputs));
		if (inputs == NULL) {
			fail_oom(c);
			goto out;
		}
		memcpy(inputs, c->inputs, c->n_inputs * sizeof(*inputs));
		vh->inputs = inputs;
		vh->n_inputs = (uint16_t)c->n_inputs;

		if (build_db(c, vc, vh) < 0)
			goto out;
		if (c->n_rx > t->max_rx)
			t->max_rx = c->n_rx;
		t->n_regex += c->n_rx;
	}
	t->n_routes += vc->n_routes;
	rc = 0;
out:
	free(gates);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Domains                                                                   */
/* ------------------------------------------------------------------------ */

static bool is_domain_char(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' || ch == '_' ||
	       ch == ':' || ch == '[' || ch == ']';
}

static int add_length(uint32_t *lens, uint32_t *n, uint32_t len)
{
	for (uint32_t i = 0; i < *n; i++)
		if (lens[i] == len)
			return 0;
	lens[(*n)++] = len;
	return 0;
}

static int cmp_desc(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? 1 : x > y ? -1 : 0;
}

static int build_domains(struct cc *c)
{
	struct weft_route_table *t = c->t;
	const struct weft_route_cfg_model *m = c->m;
	uint32_t n = 0, slots = 8;
	uint32_t *suffix, *prefix;

	for (unsigned v = 0; v < m->n_vhosts; v++)
		n += m->vhosts[v].n_domains;
	while (slots < 2 * n)
		slots *= 2;
	t->doms = arena_alloc(t, slots * sizeof(*t->doms));
	suffix = arena_alloc(t, (n ? n : 1) * sizeof(*suffix));
	prefix = arena_alloc(t, (n ? n : 1) * sizeof(*prefix));
	if (t->doms == NULL || suffix == NULL || prefix == NULL)
		return fail_oom(c);
	t->dom_mask = slots - 1;
	t->default_vhost = RT_NONE;

	for (unsigned v = 0; v < m->n_vhosts; v++) {
		const struct weft_route_cfg_vhost *vc = &m->vhosts[v];
		if (vc->n_domains > 0 && vc->domains == NULL)
			return fail(c, vc->line, "virtual_hosts[%u].domains: missing", v);
		for (unsigned d = 0; d < vc->n_domains; d++) {
			const char *dom = vc->domains[d];
			struct weft_route_str s;
			uint8_t kind;

			if (dom == NULL || dom[0] == '\0')
				return fail(c, vc->line, "virtual_hosts[%u].domains[%u]: empty", v, d);
			if (strcmp(dom, "*") == 0) {
				if (t->default_vhost != RT_NONE)
					return fail(c, vc->line,
						    "virtual_hosts[%u].domains[%u]: '*' already belongs to virtual_hosts[%u]",
						    v, d, t->default_vhost);
				t->default_vhost = v;
				continue;
			}
			size_t len = strlen(dom);
			const char *body = dom;
			if (dom[0] == '*') {
				kind = RT_DOM_SUFFIX;
				body++;
				len--;
			} else if (dom[len - 1] == '*') {
				kind = RT_DOM_PREFIX;
				len--;
			} else {
				kind = RT_DOM_EXACT;
			}
			for (size_t i = 0; i < len; i++) {
				unsigned char ch = rt_lower((unsigned char)body[i]);
				if (!is_domain_char(ch))
					return fail(c, vc->line,
						    "virtual_hosts[%u].domains[%u]: '%s': a wildcard goes only first or last, and a domain holds letters, digits, '-', '.', '_', ':', '[' or ']'",
						    v, d, dom);
			}
			if (astr_n(c, body, len, true, &s) < 0)
				return -1;

			uint32_t i = (uint32_t)rt_dom_hash(kind, s.p, s.len) & t->dom_mask;
			for (;; i = (i + 1) & t->dom_mask) {
				struct rt_dom *e = &t->doms[i];
				if (e->s == NULL) {
					*e = (struct rt_dom){.s = s.p, .len = s.len, .vhost = v, .kind = kind};
					break;
				}
				if (e->kind == kind && e->len == s.len && memcmp(e->s, s.p, s.len) == 0)
					return fail(c, vc->line, "virtual_hosts[%u].domains[%u]: '%s' already belongs to virtual_hosts[%u]",
						    v, d, dom, e->vhost);
			}
			if (kind == RT_DOM_SUFFIX)
				add_length(suffix, &t->n_suffix_lens, s.len);
			else if (kind == RT_DOM_PREFIX)
				add_length(prefix, &t->n_prefix_lens, s.len);
		}
	}
	qsort(suffix, t->n_suffix_lens, sizeof(*suffix), cmp_desc);
	qsort(prefix, t->n_prefix_lens, sizeof(*prefix), cmp_desc);
	t->suffix_lens = suffix;
	t->prefix_lens = prefix;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Public entry points                                                       */
/* ------------------------------------------------------------------------ */

int weft_routes_compile(const struct weft_route_cfg_model *m, struct weft_route_table **out, char *err,
			size_t errlen)
{
	struct cc c = {.m = m, .err = err, .errlen = errlen};
	struct weft_route_table *t;
	unsigned n_rewrites = 0;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	*out = NULL;
	if ((m->n_vhosts > 0 && m->vhosts == NULL) || (m->n_clusters > 0 && m->clusters == NULL)) {
		errno = EINVAL;
		return fail(&c, 0, "%s: missing", m->n_vhosts > 0 && m->vhosts == NULL ? "virtual_hosts" : "clusters");
	}
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return fail_oom(&c);
	c.t = t;
	t->n_workers = m->n_workers ? m->n_workers : 1;
	for (unsigned v = 0; v < m->n_vhosts; v++)
		for (unsigned r = 0; r < m->vhosts[v].n_routes; r++)
			if (m->vhosts[v].routes != NULL && m->vhosts[v].routes[r].regex_rewrite_pattern != NULL)
				n_rewrites++;
	if (n_rewrites > 0) {
		t->rewrites = calloc(n_rewrites, sizeof(*t->rewrites));
		if (t->rewrites == NULL)
			goto fail_nomem;
	}
	t->vhosts = arena_alloc(t, (m->n_vhosts ? m->n_vhosts : 1) * sizeof(*t->vhosts));
	if (t->vhosts == NULL)
		goto fail_nomem;
	t->n_vhosts = m->n_vhosts;
	if (build_domains(&c) < 0)
		goto fail;
	for (unsigned v = 0; v < m->n_vhosts; v++) {
		c.v = v;
		if (compile_vhost(&c, &m->vhosts[v], &t->vhosts[v]) < 0)
			goto fail;
	}
	rx_reset(&c);
	free(c.rx);
	free(c.inputs);
	*out = t;
	return 0;

fail_nomem:
	fail_oom(&c);
fail:
	rx_reset(&c);
	free(c.rx);
	free(c.inputs);
	weft_routes_free(t);
	if (c.oom)
		errno = ENOMEM;
	else
		errno = EINVAL;
	return -1;
}

void weft_routes_free(struct weft_route_table *t)
{
	if (t == NULL)
		return;
	for (uint32_t v = 0; v < t->n_vhosts && t->vhosts != NULL; v++)
		hs_free_database(t->vhosts[v].db);
	for (uint32_t i = 0; i < t->n_rewrites; i++) {
		for (unsigned w = 0; w < t->rewrites[i].n_copies; w++)
			regfree(&t->rewrites[i].re[w]);
		free(t->rewrites[i].re);
	}
	free(t->rewrites);
	arena_free(t->arena);
	free(t);
}

int weft_route_scratch_alloc(const struct weft_route_table *t, hs_scratch_t **out)
{
	hs_scratch_t *s = NULL;

	*out = NULL;
	for (uint32_t v = 0; v < t->n_vhosts; v++) {
		if (t->vhosts[v].db == NULL)
			continue;
		if (hs_alloc_scratch(t->vhosts[v].db, &s) != HS_SUCCESS) {
			hs_free_scratch(s);
			errno = ENOMEM;
			return -1;
		}
	}
	*out = s;
	return 0;
}

int weft_route_scratch_fit(const struct weft_route_table *t, hs_scratch_t **s)
{
	hs_scratch_t *n = NULL;

	if (t->n_regex == 0)
		return 0;
	/* hs_clone_scratch() only reads its source: safe while its worker scans. */
	if (*s != NULL && hs_clone_scratch(*s, &n) != HS_SUCCESS) {
		errno = ENOMEM;
		return -1;
	}
	for (uint32_t v = 0; v < t->n_vhosts; v++) {
		if (t->vhosts[v].db == NULL)
			continue;
		if (hs_alloc_scratch(t->vhosts[v].db, &n) != HS_SUCCESS) {
			hs_free_scratch(n);
			errno = ENOMEM;
			return -1;
		}
	}
	*s = n;
	return 1;
}

void weft_route_scratch_free(hs_scratch_t *s)
{
	hs_free_scratch(s);
}

unsigned weft_routes_vhost_count(const struct weft_route_table *t)
{
	return t->n_vhosts;
}

unsigned weft_routes_regex_count(const struct weft_route_table *t)
{
	return t->n_regex;
}

unsigned weft_routes_route_count(const struct weft_route_table *t)
{
	return t->n_routes;
}

unsigned weft_routes_reused_count(const struct weft_route_table *t)
{
	return t->n_reused;
}
