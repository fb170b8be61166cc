/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Per-route allow_principals for a snapshot (see authz.h). */
#include <stdio.h>
#include <stdlib.h>

#include "policy/authz.h"
#include "policy/identity.h"

void weft_route_authz_free(struct weft_route_authz *a)
{
	if (a == NULL)
		return;
	for (uint32_t i = 0; i < a->n_routes; i++)
		principal_list_free(a->allow[i]);
	free(a);
}

int weft_route_authz_build(const struct weft_config *cfg, struct weft_route_authz **out, char *err, size_t errlen)
{
	const struct weft_http_cfg *h = &cfg->http;
	const struct weft_tls_cfg *t = &cfg->tls;
	struct weft_route_authz *a;
	bool any = false;

	*out = NULL;
	for (unsigned i = 0; i < h->n_routes; i++)
		any = any || h->routes[i].has_principals;
	if (!any)
		return 0;
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		snprintf(err, errlen, "out of memory building allow_principals");
		return -1;
	}
	for (unsigned r = 0; r < h->n_rc && r < WEFT_CFG_MAX_ROUTE_CONFIGS; r++)
		a->rc_vhost_first[r] = h->rc[r].vhosts.first;
	for (unsigned v = 0; v < h->n_vhosts && v < WEFT_CFG_MAX_VHOSTS; v++)
		a->vhost_route_first[v] = h->vhosts[v].routes.first;
	a->n_routes = h->n_routes;
	for (unsigned i = 0; i < h->n_routes; i++) {
		const struct weft_http_route_cfg *rt = &h->routes[i];
		const char *pat[WEFT_CFG_TLS_MAX_PRINCIPALS];
		static const char *const any_peer[] = {"*"};
		char e[256];
		if (!rt->has_principals)
			continue;
		for (uint32_t k = 0; k < rt->principals.n; k++)
			pat[k] = weft_tls_s(t, t->principals[rt->principals.first + k]);
		a->allow[i] = rt->principals.n > 0 ? principal_list_new(pat, rt->principals.n, e, sizeof(e))
						   : principal_list_new(any_peer, 1, e, sizeof(e));
		if (a->allow[i] == NULL) {
			snprintf(err, errlen, "%s:%d: allow_principals: %s", h->source, rt->line, e);
			weft_route_authz_free(a);
			return -1;
		}
	}
	*out = a;
	return 0;
}
