/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The TLS part of the config loader: listener and cluster tls blocks, and
 * allow_principals on listeners and routes. Refusals are checked on their
 * full "FILE:LINE: key.path: reason" message. (The files are only read when
 * contexts are built for a snapshot, so paths here need not exist.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "policy/authz.h"
#include "policy/config.h"
#include "policy/identity.h"

static struct weft_config cfg;
static char err[WEFT_CFG_ERR_LEN];

static int parse(const char *yaml)
{
	return weft_config_parse(yaml, strlen(yaml), "weft.yaml", &cfg, err, sizeof(err));
}

static void check_ok(const char *yaml)
{
	if (parse(yaml) != 0)
		fail_msg("unexpected error: %s", err);
}

static void check_err(const char *yaml, const char *want)
{
	int rc = parse(yaml);
	if (rc != -1 || strcmp(err, want) != 0)
		fail_msg("\nwant: %s\n got: %s (rc %d)", want, err, rc);
}

/* Lines 1-7: a port, a cluster, a route config; "listeners:" at line 8, an entry from line 9. */
#define BASE                                                                                       \
	"ports: [{name: p0, driver: ring, addresses: [198.18.0.1/24]}]\n"          /* 1 */         \
	"clusters:\n"                                                             /* 2 */         \
	"  - {name: up, endpoints: [{address: 198.18.0.2, port: 80}]}\n"          /* 3 */         \
	"route_configs:\n"                                                        /* 4 */         \
	"  - name: main\n"                                                        /* 5 */         \
	"    virtual_hosts: [{name: all, domains: ['*'], routes: [{match: {prefix: /}, route: {cluster: up}}]}]\n" /* 6 */ \
	"listeners:\n"                                                            /* 7 */         \
	"  - name: web\n"                                                         /* 8 */         \
	"    kind: http\n"                                                        /* 9 */         \
	"    address: 198.18.0.1\n"                                               /* 10 */        \
	"    port: 8443\n"                                                        /* 11 */        \
	"    route_config: main\n"                                                /* 12 */

static void test_listener_tls_full(void **state)
{
	(void)state;
	check_ok(BASE "    tls:\n"                                                            /* 13 */
		      "      mode: strict\n"                                                   /* 14 */
		      "      certificates:\n"                                                  /* 15 */
		      "        - {cert: c/web.pem, key: c/web.key, names: [web.weft.test, \"*.weft.test\"]}\n"
		      "        - {cert: c/rsa.pem, key: c/rsa.key}\n"
		      "      trust_bundle: c/ca.pem\n"
		      "      crl: c/crl.pem\n"
		      "      alpn: [h2, http/1.1]\n"
		      "      versions: tls13\n"
		      "      session_tickets: false\n"
		      "      handshake_timeout_ms: 2500\n"
		      "      allow_principals: [\"spiffe://weft.test/ns/a/*\", \"spiffe://weft.test/ns/b/sa/c\"]\n");
	assert_int_equal(cfg.listeners[0].tls, 1);
	const struct weft_tls_cfg *t = &cfg.tls;
	const struct weft_tls_block_cfg *b = &t->blocks[0];
	assert_false(b->client);
	assert_int_equal(b->mode, WEFT_TLS_STRICT);
	assert_int_equal(b->n_certs, 2);
	assert_string_equal(weft_tls_s(t, b->certs[0].cert), "c/web.pem");
	assert_string_equal(weft_tls_s(t, b->certs[0].key), "c/web.key");
	assert_int_equal(b->certs[0].n_names, 2);
	assert_string_equal(weft_tls_s(t, b->certs[0].names[1]), "*.weft.test");
	assert_int_equal(b->certs[1].n_names, 0);
	assert_string_equal(weft_tls_s(t, b->trust_bundle), "c/ca.pem");
	assert_string_equal(weft_tls_s(t, b->crl), "c/crl.pem");
	assert_string_equal(weft_tls_s(t, b->alpn), "h2,http/1.1");
	assert_int_equal(b->versions, WEFT_TLS_V13);
	assert_false(b->session_tickets);
	assert_int_equal(b->handshake_timeout_ms, 2500);
	assert_int_equal(b->principals.n, 2);
	assert_string_equal(weft_tls_s(t, t->principals[b->principals.first + 1]), "spiffe://weft.test/ns/b/sa/c");
	assert_string_equal(b->owner, "listeners[0].tls");
}

static void test_listener_tls_defaults(void **state)
{
	(void)state;
	check_ok(BASE "    tls: {mode: permissive, certificates: [{cert: a.pem, key: a.key}], trust_bundle: ca.pem}\n");
	const struct weft_tls_block_cfg *b = &cfg.tls.blocks[0];
	assert_int_equal(b->mode, WEFT_TLS_PERMISSIVE);
	assert_string_equal(weft_tls_s(&cfg.tls, b->alpn), "http/1.1"); /* http listener default */
	assert_int_equal(b->versions, WEFT_TLS_V12_PLUS);
	assert_true(b->session_tickets);
	assert_int_equal(b->handshake_timeout_ms, 10000);
	assert_int_equal(b->principals.n, 0);
	/* disable needs nothing else; tcp_proxy gets no ALPN by default */
	check_ok(BASE "    tls: {mode: disable}\n"
		      "  - {name: t, kind: tcp_proxy, address: 198.18.0.1, port: 9000, cluster: up,\n"
		      "     tls: {mode: strict, certificates: [{cert: a.pem, key: a.key}], trust_bundle: ca.pem}}\n");
	assert_int_equal(cfg.tls.blocks[0].mode, WEFT_TLS_DISABLE);
	assert_int_equal(cfg.tls.blocks[1].alpn, 0);
	assert_int_equal(cfg.listeners[1].tls, 2);
	/* no tls key: plaintext */
	check_ok(BASE);
	assert_int_equal(cfg.listeners[0].tls, 0);
	assert_int_equal(cfg.tls.n_blocks, 0);
}

static void test_listener_tls_errors(void **state)
{
	(void)state;
	check_err(BASE "    tls: {certificates: [{cert: a.pem, key: a.key}], trust_bundle: ca.pem}\n",
		  "weft.yaml:13: listeners[0].tls.mode: required key is missing (disable, permissive or strict)");
	check_err(BASE "    tls: {mode: lax}\n",
		  "weft.yaml:13: listeners[0].tls.mode: unknown mode \"lax\" (expected disable, permissive or strict)");
	check_err(BASE "    tls: {mode: strict, trust_bundle: ca.pem}\n",
		  "weft.yaml:13: listeners[0].tls.certificates: required key is missing");
	check_err(BASE "    tls: {mode: strict, certificates: [{cert: a.pem, key: a.key}]}\n",
		  "weft.yaml:13: listeners[0].tls.trust_bundle: required key is missing (mode strict verifies client "
		  "certificates)");
	check_err(BASE "    tls: {mode: strict, certificates: [], trust_bundle: ca.pem}\n",
		  "weft.yaml:13: listeners[0].tls.certificates: expected a non-empty sequence of {cert, key, names}");
	check_err(BASE "    tls: {mode: strict, certificates: [{cert: a.pem}], trust_bundle: ca.pem}\n",
		  "weft.yaml:13: listeners[0].tls.certificates[0].key: required key is missing");
	check_err(BASE "    tls:\n"
		      "      mode: strict\n"
		      "      certificates: [{cert: a.pem, key: a.key, names: [\"a..b\"]}]\n"
		      "      trust_bundle: ca.pem\n",
		  "weft.yaml:15: listeners[0].tls.certificates[0].names[0]: \"a..b\" is not a DNS name");
	check_err(BASE "    tls:\n"
		      "      mode: strict\n"
		      "      certificates: [{cert: a.pem, key: a.key}]\n"
		      "      trust_bundle: ca.pem\n"
		      "      versions: tls11\n",
		  "weft.yaml:17: listeners[0].tls.versions: unknown versions \"tls11\" (expected tls12+ or tls13)");
	check_err(BASE "    tls:\n"
		      "      mode: strict\n"
		      "      certificates: [{cert: a.pem, key: a.key}]\n"
		      "      trust_bundle: ca.pem\n"
		      "      alpn: [spdy/3]\n",
		  "weft.yaml:17: listeners[0].tls.alpn[0]: unknown protocol \"spdy/3\" (expected h2, http/1.1 or "
		  "http/1.0)");
	check_err(BASE "    tls:\n"
		      "      mode: strict\n"
		      "      certificates: [{cert: a.pem, key: a.key}]\n"
		      "      trust_bundle: ca.pem\n"
		      "      handshake_timeout_ms: 0\n",
		  "weft.yaml:17: listeners[0].tls.handshake_timeout_ms: 0 is out of range (1..600000)");
	check_err(BASE "    tls: {mode: strict, certificates: [{cert: a.pem, key: a.key}], trust_bundle: ca.pem, "
		      "sni: x}\n",
		  "weft.yaml:13: listeners[0].tls.sni: unknown key");
}

static void test_principal_errors(void **state)
{
	(void)state;
	int rc = parse(BASE "    tls:\n"
			    "      mode: strict\n"
			    "      certificates: [{cert: a.pem, key: a.key}]\n"
			    "      trust_bundle: ca.pem\n"
			    "      allow_principals: [\"spiffe://weft.test/ns/a*\"]\n");
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, "weft.yaml:17: listeners[0].tls.allow_principals[0]: "));
	rc = parse(BASE "    tls:\n"
			"      mode: strict\n"
			"      certificates: [{cert: a.pem, key: a.key}]\n"
			"      trust_bundle: ca.pem\n"
			"      allow_principals: [\"http://x\"]\n");
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, "weft.yaml:17: listeners[0].tls.allow_principals[0]: "));
}

#define CL_BASE                                                                                    \
	"ports: [{name: p0, driver: ring, addresses: [198.18.0.1/24]}]\n" /* 1 */                  \
	"clusters:\n"                                                     /* 2 */                  \
	"  - name: up\n"                                                  /* 3 */                  \
	"    endpoints: [{address: 198.18.0.2, port: 443}]\n"             /* 4 */

static void test_cluster_tls(void **state)
{
	(void)state;
	check_ok(CL_BASE "    tls:\n"
			 "      cert: c/mesh.pem\n"
			 "      key: c/mesh.key\n"
			 "      trust_bundle: c/ca.pem\n"
			 "      sni: api.backend.weft.test\n"
			 "      verify_san: [\"spiffe://weft.test/ns/backend/sa/api\", api.backend.weft.test]\n"
			 "      alpn: [http/1.1]\n");
	assert_int_equal(cfg.clusters[0].tls, 1);
	const struct weft_tls_cfg *t = &cfg.tls;
	const struct weft_tls_block_cfg *b = &t->blocks[0];
	assert_true(b->client);
	assert_int_equal(b->n_certs, 1);
	assert_string_equal(weft_tls_s(t, b->certs[0].cert), "c/mesh.pem");
	assert_string_equal(weft_tls_s(t, b->sni), "api.backend.weft.test");
	assert_int_equal(b->n_verify, 2);
	assert_string_equal(weft_tls_s(t, b->verify[0]), "spiffe://weft.test/ns/backend/sa/api");
	assert_string_equal(weft_tls_s(t, b->alpn), "http/1.1");
	check_ok(CL_BASE "    tls: {trust_bundle: ca.pem}\n");
	assert_int_equal(cfg.tls.blocks[0].n_certs, 0);
	assert_int_equal(cfg.tls.blocks[0].sni, 0);
	assert_int_equal(cfg.tls.blocks[0].alpn, 0);

	check_err(CL_BASE "    tls: {sni: a.b}\n",
		  "weft.yaml:5: clusters[0].tls.trust_bundle: required key is missing (the upstream's certificate is "
		  "verified)");
	check_err(CL_BASE "    tls: {trust_bundle: ca.pem, cert: a.pem}\n",
		  "weft.yaml:5: clusters[0].tls.key: cert and key go together (the client certificate for mTLS)");
	check_err(CL_BASE "    tls: {trust_bundle: ca.pem, mode: strict}\n",
		  "weft.yaml:5: clusters[0].tls.mode: unknown key");
	check_err(CL_BASE "    tls: {trust_bundle: ca.pem, sni: \"*.x\"}\n",
		  "weft.yaml:5: clusters[0].tls.sni: \"*.x\" is not a DNS name");
}

static void test_route_principals(void **state)
{
	struct weft_route_authz *a = NULL;

	(void)state;
	check_ok("ports: [{name: p0, driver: ring, addresses: [198.18.0.1/24]}]\n"
		 "clusters: [{name: up, endpoints: [{address: 198.18.0.2, port: 80}]}]\n"
		 "route_configs:\n"
		 "  - name: main\n"
		 "    virtual_hosts:\n"
		 "      - name: a\n"
		 "        domains: [a]\n"
		 "        routes: [{match: {prefix: /}, route: {cluster: up}}]\n"
		 "      - name: b\n"
		 "        domains: ['*']\n"
		 "        routes:\n"
		 "          - {match: {prefix: /open}, route: {cluster: up}}\n"
		 "          - match: {prefix: /admin}\n"
		 "            allow_principals: [\"spiffe://weft.test/ns/ops/sa/admin\"]\n"
		 "            route: {cluster: up}\n"
		 "          - {match: {prefix: /any}, allow_principals: [], route: {cluster: up}}\n");
	const struct weft_http_route_cfg *r = &cfg.http.routes[2];
	assert_true(r->has_principals);
	assert_int_equal(r->principals.n, 1);
	assert_false(cfg.http.routes[1].has_principals);
	assert_int_equal(weft_route_authz_build(&cfg, &a, err, sizeof(err)), 0);
	assert_non_null(a);
	assert_null(weft_route_authz_get(a, 0, 0, 0));
	assert_null(weft_route_authz_get(a, 0, 1, 0));
	const struct principal_list *pl = weft_route_authz_get(a, 0, 1, 1);
	assert_non_null(pl);
	const char *ok = "spiffe://weft.test/ns/ops/sa/admin", *no = "spiffe://weft.test/ns/web/sa/x";
	assert_int_equal(principal_check(pl, ok, strlen(ok)), AUTHZ_ALLOW);
	assert_int_not_equal(principal_check(pl, no, strlen(no)), AUTHZ_ALLOW);
	assert_int_not_equal(principal_check(pl, NULL, 0), AUTHZ_ALLOW);
	pl = weft_route_authz_get(a, 0, 1, 2); /* []: any peer with a principal */
	assert_non_null(pl);
	assert_int_equal(principal_check(pl, no, strlen(no)), AUTHZ_ALLOW);
	assert_int_not_equal(principal_check(pl, NULL, 0), AUTHZ_ALLOW);
	weft_route_authz_free(a);

	int rc = parse("ports: [{name: p0, driver: ring, addresses: [198.18.0.1/24]}]\n"
		       "clusters: [{name: up, endpoints: [{address: 198.18.0.2, port: 80}]}]\n"
		       "route_configs:\n"
		       "  - name: main\n"
		       "    virtual_hosts: [{name: b, domains: ['*'], routes: [{match: {prefix: /}, "
		       "allow_principals: [\"spiffe://weft.test/a*b\"], route: {cluster: up}}]}]\n");
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, "weft.yaml:5: route_configs[0].virtual_hosts[0].routes[0].allow_principals[0]: "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listener_tls_full),
		cmocka_unit_test(test_listener_tls_defaults),
		cmocka_unit_test(test_listener_tls_errors),
		cmocka_unit_test(test_principal_errors),
		cmocka_unit_test(test_cluster_tls),
		cmocka_unit_test(test_route_principals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
