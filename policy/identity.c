/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SPIFFE IDs, principal lists and XFCC formatting.
 */
#include "policy/identity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char spiffe_scheme[] = "spiffe://";
#define SCHEME_LEN (sizeof(spiffe_scheme) - 1)

static bool td_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

static bool path_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '-' || c == '_';
}

/* Checks a path (empty, or "/seg/seg"). Segment rules: SPIFFE-ID 2.2. */
static int check_path(const char *p, size_t n, const char **why)
{
	size_t i = 0;
	while (i < n) {
		/* p[i] is a '/' here */
		size_t start = ++i;
		while (i < n && p[i] != '/') {
			if (!path_char(p[i])) {
				*why = p[i] == '?' ? "a SPIFFE ID has no query"
				     : p[i] == '#' ? "a SPIFFE ID has no fragment"
						   : "path has an invalid character";
				return -1;
			}
			i++;
		}
		size_t seg = i - start;
		if (seg == 0) {
			*why = i == n ? "path has a trailing '/'" : "path has an empty segment";
			return -1;
		}
		if ((seg == 1 && p[start] == '.') || (seg == 2 && p[start] == '.' && p[start + 1] == '.')) {
			*why = "path has a '.' or '..' segment";
			return -1;
		}
	}
	return 0;
}

int spiffe_id_parse(const char *s, size_t len, struct spiffe_id *out, const char **why)
{
	const char *dummy;
	if (why == NULL)
		why = &dummy;
	if (s == NULL || len == 0) {
		*why = "empty";
		return -1;
	}
	if (len > SPIFFE_ID_MAX) {
		*why = "longer than 2048 bytes";
		return -1;
	}
	if (len < SCHEME_LEN || memcmp(s, spiffe_scheme, SCHEME_LEN) != 0) {
		*why = "scheme is not 'spiffe://'";
		return -1;
	}
	const char *td = s + SCHEME_LEN;
	size_t rest = len - SCHEME_LEN, td_len = 0;
	while (td_len < rest && td[td_len] != '/') {
		char c = td[td_len];
		if (!td_char(c)) {
			*why = c == ':' ? "trust domain has a port"
			     : c == '@' ? "trust domain has userinfo"
			     : (c >= 'A' && c <= 'Z') ? "trust domain has an uppercase letter"
			     : c == '?' ? "a SPIFFE ID has no query"
			     : c == '#' ? "a SPIFFE ID has no fragment"
					: "trust domain has an invalid character";
			return -1;
		}
		td_len++;
	}
	if (td_len == 0) {
		*why = "trust domain is missing";
		return -1;
	}
	if (td_len > SPIFFE_TD_MAX) {
		*why = "trust domain is longer than 255 bytes";
		return -1;
	}
	const char *path = td + td_len;
	size_t path_len = rest - td_len;
	if (check_path(path, path_len, why))
		return -1;
	if (out != NULL) {
		out->trust_domain = (struct id_str){ td, td_len };
		out->path = (struct id_str){ path, path_len };
	}
	return 0;
}

/* ---------------------------------------------------------- principals */

enum pat_kind {
	PAT_ANY,    /* "*" */
	PAT_EXACT,  /* text is the whole ID */
	PAT_PREFIX, /* text ends in '/': any ID that starts with it and goes on */
};

struct pattern {
	enum pat_kind kind;
	size_t len;
	char *text;
};

struct principal_list {
	size_t n;
	struct pattern p[];
};

static int compile_one(const char *s, struct pattern *out, const char **why)
{
	size_t len = strlen(s);
	if (len == 1 && s[0] == '*') {
		out->kind = PAT_ANY;
		out->len = 0;
		out->text = NULL;
		return 0;
	}
	size_t id_len = len;
	enum pat_kind kind = PAT_EXACT;
	if (len >= 2 && s[len - 1] == '*' && s[len - 2] == '/') {
		kind = PAT_PREFIX;
		id_len = len - 2; /* "spiffe://td/ns/x" or "spiffe://td" */
	}
	if (memchr(s, '*', id_len) != NULL || (kind == PAT_EXACT && memchr(s, '*', len) != NULL)) {
		*why = "'*' is only allowed alone or as a whole last segment ('.../*')";
		return -1;
	}
	if (spiffe_id_parse(s, id_len, NULL, why))
		return -1;
	out->kind = kind;
	out->len = kind == PAT_PREFIX ? id_len + 1 : id_len; /* the prefix keeps its '/' */
	out->text = malloc(out->len + 1);
	if (out->text == NULL) {
		*why = "out of memory";
		return -1;
	}
	memcpy(out->text, s, out->len);
	out->text[out->len] = '\0';
	return 0;
}

struct principal_list *principal_list_new(const char *const *patterns, size_t n, char *err, size_t errlen)
{
	struct principal_list *l = calloc(1, sizeof(*l) + n * sizeof(l->p[0]));
	if (l == NULL) {
		if (err != NULL)
			snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const char *why = NULL;
		if (patterns[i] == NULL || compile_one(patterns[i], &l->p[i], &why)) {
			if (err != NULL)
				snprintf(err, errlen, "principal %zu '%s': %s", i + 1,
					 patterns[i] ? patterns[i] : "(null)", why ? why : "missing");
			l->n = i;
			principal_list_free(l);
			return NULL;
		}
	}
	l->n = n;
	return l;
}

void principal_list_free(struct principal_list *l)
{
	if (l == NULL)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->p[i].text);
	free(l);
}

size_t principal_list_count(const struct principal_list *l)
{
	return l ? l->n : 0;
}

#define AUTHZ_X_NAME(e, n, h) n,
#define AUTHZ_X_HELP(e, n, h) h,
static const char *const authz_names[] = { AUTHZ_RESULTS(AUTHZ_X_NAME) };
static const char *const authz_helps[] = { AUTHZ_RESULTS(AUTHZ_X_HELP) };

const char *authz_result_name(enum authz_result r)
{
	return r < AUTHZ_RESULT_MAX ? authz_names[r] : "?";
}

const char *authz_result_help(enum authz_result r)
{
	return r < AUTHZ_RESULT_MAX ? authz_helps[r] : "?";
}

enum authz_result principal_check(const struct principal_list *l, const char *principal, size_t len)
{
	if (l == NULL)
		return AUTHZ_ALLOW;
	if (principal == NULL || len == 0)
		return AUTHZ_DENY_NO_PRINCIPAL;
	for (size_t i = 0; i < l->n; i++) {
		const struct pattern *p = &l->p[i];
		switch (p->kind) {
		case PAT_ANY:
			return AUTHZ_ALLOW;
		case PAT_EXACT:
			if (len == p->len && memcmp(principal, p->text, len) == 0)
				return AUTHZ_ALLOW;
			break;
		case PAT_PREFIX:
			if (len > p->len && memcmp(principal, p->text, p->len) == 0)
				return AUTHZ_ALLOW;
			break;
		}
	}
	return AUTHZ_DENY_NOT_ALLOWED;
}

/* ----------------------------------------------------------------- XFCC */

struct out {
	char *p;
	size_t cap, len;
	bool overflow;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->overflow || o->cap - o->len <= n) {
		o->overflow = true;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static bool header_safe(struct id_str v)
{
	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.p[i];
		if (c < 0x20 || c >= 0x7f)
			return false;
	}
	return true;
}

/* "key=value", quoted when the value holds a delimiter or always_quote. */
static void put_pair(struct out *o, bool *first, const char *key, struct id_str v, bool always_quote)
{
	bool quote = always_quote;
	for (size_t i = 0; i < v.len && !quote; i++)
		quote = v.p[i] == ',' || v.p[i] == ';' || v.p[i] == '=' || v.p[i] == '"';
	if (!*first)
		put(o, ";", 1);
	*first = false;
	put(o, key, strlen(key));
	put(o, "=", 1);
	if (quote)
		put(o, "\"", 1);
	size_t run = 0;
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] == '"') {
			put(o, v.p + run, i - run);
			put(o, "\\\"", 2);
			run = i + 1;
		}
	}
	put(o, v.p + run, v.len - run);
	if (quote)
		put(o, "\"", 1);
}

static void format_into(struct out *o, const struct xfcc_cert *c)
{
	bool first = true;
	if (c->by.len > 0 && header_safe(c->by))
		put_pair(o, &first, "By", c->by, false);
	if (c->hash != NULL) {
		static const char hex[] = "0123456789abcdef";
		char h[64];
		for (int i = 0; i < 32; i++) {
			h[2 * i] = hex[c->hash[i] >> 4];
			h[2 * i + 1] = hex[c->hash[i] & 15];
		}
		put_pair(o, &first, "Hash", (struct id_str){ h, sizeof(h) }, false);
	}
	if (c->subject.p != NULL && header_safe(c->subject))
		put_pair(o, &first, "Subject", c->subject, true);
	for (size_t i = 0; i < c->n_uri && i < XFCC_MAX_NAMES; i++)
		if (c->uri[i].len > 0 && header_safe(c->uri[i]))
			put_pair(o, &first, "URI", c->uri[i], false);
	for (size_t i = 0; i < c->n_dns && i < XFCC_MAX_NAMES; i++)
		if (c->dns[i].len > 0 && header_safe(c->dns[i]))
			put_pair(o, &first, "DNS", c->dns[i], false);
}

int xfcc_format(char *buf, size_t cap, const struct xfcc_cert *c)
{
	if (cap == 0)
		return -1;
	struct out o = { .p = buf, .cap = cap, .len = 0, .overflow = false };
	buf[0] = '\0';
	format_into(&o, c);
	return o.overflow ? -1 : (int)o.len;
}

int xfcc_append(char *buf, size_t cap, const char *existing, size_t existing_len, const struct xfcc_cert *c)
{
	if (cap == 0)
		return -1;
	struct out o = { .p = buf, .cap = cap, .len = 0, .overflow = false };
	buf[0] = '\0';
	if (existing_len > 0) {
		put(&o, existing, existing_len);
		put(&o, ",", 1);
	}
	format_into(&o, c);
	return o.overflow ? -1 : (int)o.len;
}
