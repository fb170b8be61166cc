/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inside the compiled route table. Shared by route.c (compiler), route_match.c
 * (Host lookup and matching) and route_rewrite.c (rewrites, header edits);
 * nothing outside policy/route*.c includes it.
 */
#ifndef WEFT_POLICY_ROUTE_PRIV_H
#define WEFT_POLICY_ROUTE_PRIV_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

#include "policy/route.h"

#define RT_NONE UINT32_MAX

/* Where a regex of a virtual host looks: the path, or one header, or one query parameter. */
enum rt_input_kind {
	RT_IN_PATH,
	RT_IN_HEADER,
	RT_IN_QUERY,
};

struct rt_input {
	uint8_t kind;              /* enum rt_input_kind */
	struct weft_route_str name; /* header (lower case) or parameter name */
};

/* A header or query condition. */
struct rt_kv {
	struct weft_route_str name; /* header names lower case */
	struct weft_route_str value;
	uint32_t rx;                /* REGEX: id in the vhost database */
	uint8_t kind;               /* enum weft_route_value_kind */
	bool invert;
};

/* A regex rewrite: POSIX copies (one per worker) for the substitution. */
struct rt_rewrite {
	uint32_t rx;               /* id of the pattern in the vhost database (unanchored) */
	unsigned n_copies;
	regex_t *re;               /* n_copies compiled copies of the same pattern */
	struct weft_route_str subst;
	size_t nsub;               /* capture groups in the pattern */
};

struct rt_route {
	uint8_t path_kind;         /* enum weft_route_path_kind */
	bool has_regex;            /* at least one matcher regex (the gate) */
	uint16_t n_hdr, n_query;
	uint32_t methods;          /* WEFT_HTTP_M_* mask; 0 = any */
	struct weft_route_str path; /* EXACT / PREFIX */
	uint32_t path_rx;          /* REGEX */
	const struct rt_kv *hdr;
	const struct rt_kv *query;
	struct weft_route_str prefix_rewrite; /* len 0 with prefix_rewrite_set: rewrite to "" */
	bool prefix_rewrite_set;
	const struct rt_rewrite *regex_rewrite; /* NULL when none */
	struct weft_route_action act;
};

struct rt_vhost {
	struct weft_route_str name;
	uint32_t n_routes;
	const struct rt_route *routes;
	/*
	 * The routes fall into three ordered sequences, merged at match time so
	 * that candidates are still tried in config order:
	 *
	 *  - gated: routes with a matcher regex. Their first matcher regex (the
	 *    gate) must have matched, and gates are numbered in route order, so
	 *    the set gate bits, in increasing id order, are the gated candidates
	 *    in route order. Routes whose regex failed are never looked at.
	 *  - exact: routes whose only path condition is an exact path and that
	 *    have no regex, found through a hash of the path: one chain of route
	 *    indexes, ascending, per distinct path.
	 *  - ungated: all the others (prefix, any path), walked in order.
	 *
	 * The Hyperscan scan runs lazily, only when the walk reaches first_gated:
	 * a request taken by an earlier route never pays for it.
	 */
	uint32_t n_ungated;
	const uint32_t *ungated;
	uint32_t first_gated;      /* RT_NONE when no route has a regex */
	uint32_t exact_mask;       /* slots - 1; 0 with exact_slots NULL when none */
	const uint32_t *exact_slots; /* first route of a distinct exact path, or RT_NONE */
	const uint32_t *exact_next;  /* per route: the next route with the same exact path */
	uint32_t n_rx;             /* regex ids 0..n_rx-1 */
	const uint64_t *gate_bits; /* n_rx bits: this id is the gate of rx_route[id] */
	const uint32_t *rx_route;  /* per id: the route it belongs to */
	const uint16_t *rx_input;  /* per id: index into inputs */
	uint16_t n_inputs;
	const struct rt_input *inputs;
	bool has_query;            /* some route looks at query parameters */
	hs_database_t *db;         /* NULL when n_rx == 0 */
	uint64_t rx_digest[2];     /* of the expressions behind db, to reuse it on reload */
};

/* Host index: exact names, "*suffix" and "prefix*" wildcards, in one open-addressing table. */
enum rt_dom_kind {
	RT_DOM_EXACT,
	RT_DOM_SUFFIX, /* stored without the '*' */
	RT_DOM_PREFIX, /* stored without the '*' */
};

struct rt_dom {
	const char *s;  /* lower case; NULL marks an empty slot */
	uint32_t len;
	uint32_t vhost;
	uint8_t kind;
};

struct rt_arena_chunk;

struct weft_route_table {
	uint32_t n_vhosts;
	struct rt_vhost *vhosts;
	uint32_t default_vhost;    /* "*", or RT_NONE */
	uint32_t dom_mask;         /* slots - 1 (power of two) */
	struct rt_dom *doms;
	uint32_t n_suffix_lens;    /* distinct wildcard lengths, longest first */
	const uint32_t *suffix_lens;
	uint32_t n_prefix_lens;
	const uint32_t *prefix_lens;
	unsigned n_workers;
	uint32_t n_regex;          /* over all vhosts */
	uint32_t n_routes;
	uint32_t n_rewrites;
	struct rt_rewrite *rewrites; /* every regex_rewrite, for regfree() */
	uint32_t max_rx;           /* largest n_rx of one vhost */
	uint32_t n_reused;         /* databases copied from the previous table */
	struct rt_arena_chunk *arena;
};

/* Hash of a lower-case domain, salted by its kind. */
uint64_t rt_dom_hash(uint8_t kind, const char *s, size_t len);
/* Hash of an exact path, for the exact-path index. */
uint64_t rt_path_hash(const char *s, size_t len);

static inline unsigned char rt_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c | 0x20) : c;
}

/* a (any case) equals b (already lower case), both of length n. */
static inline bool rt_eq_lower(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (rt_lower((unsigned char)a[i]) != (unsigned char)b[i])
			return false;
	return true;
}

#endif
