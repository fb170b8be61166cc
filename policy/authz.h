/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Per-route allow_principals, compiled for a snapshot: which routes of
 * which route config admit which peers. The HTTP proxy asks after routing;
 * the peer's principal is the SPIFFE ID of its verified TLS certificate
 * (dataplane/tls/tls_ulp.h), none on plaintext. Immutable once built.
 */
#ifndef WEFT_POLICY_AUTHZ_H
#define WEFT_POLICY_AUTHZ_H

#include <stddef.h>
#include <stdint.h>

#include "policy/config.h"

struct principal_list;

struct weft_route_authz {
	uint32_t rc_vhost_first[WEFT_CFG_MAX_ROUTE_CONFIGS]; /* global index of a route config's first vhost */
	uint32_t vhost_route_first[WEFT_CFG_MAX_VHOSTS];     /* global index of a vhost's first route */
	uint32_t n_routes;
	struct principal_list *allow[WEFT_CFG_MAX_HTTP_ROUTES]; /* NULL: the route admits anyone */
};

/**
 * Build the table of cfg; *out NULL when no route has allow_principals.
 * An empty list admits any peer with a principal (never plaintext).
 * Returns 0, or -1 with err filled.
 */
int weft_route_authz_build(const struct weft_config *cfg, struct weft_route_authz **out, char *err, size_t errlen);
void weft_route_authz_free(struct weft_route_authz *a);

/** The list of route (rc, vhost, route) as weft_route_match() names them; NULL: no restriction. */
static inline const struct principal_list *weft_route_authz_get(const struct weft_route_authz *a, uint32_t rc,
								 uint32_t vhost, uint32_t route)
{
	if (a == NULL || rc >= WEFT_CFG_MAX_ROUTE_CONFIGS)
		return NULL;
	uint32_t v = a->rc_vhost_first[rc] + vhost;
	if (v >= WEFT_CFG_MAX_VHOSTS)
		return NULL;
	uint32_t r = a->vhost_route_first[v] + route;
	return r < a->n_routes ? a->allow[r] : NULL;
}

#endif
