/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The TLS engine, in memory: handshakes (TLS 1.2 and 1.3, ECDSA and RSA),
 * ALPN, SNI, the verify-mode x client-certificate matrix, SPIFFE IDs and
 * XFCC, resumption and ticket-key rotation, data in every size with
 * WANT_READ/WANT_WRITE interleavings, close_notify, the transport mode, and
 * the refusals of bad certificates at load time. Certificates are made at
 * setup by tests/lib/certs.sh (path in WEFT_CERTS_SH).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include "dataplane/tls/clienthello.h"
#include "dataplane/tls/tls.h"
#include "dataplane/tls/x509.h"
#include "policy/identity.h"
#include "tests/unit/tls_harness.h"
#include "tests/unit/tls_sockserver.h"

#define TD "spiffe://weft.test"

static char certs[256];
static struct tls_worker *w;

static int group_setup(void **state)
{
	(void)state;
	if (tls_global_init() != 0)
		return -1;
	if (th_make_certs(certs, sizeof(certs)) != 0) {
		fprintf(stderr, "tests/lib/certs.sh failed (is openssl installed?)\n");
		return -1;
	}
	w = tls_worker_new();
	return w ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	tls_worker_free(w);
	th_remove_certs(certs);
	tls_global_cleanup();
	return 0;
}

/* ------------------------------------------------------------ helpers */

static struct tls_ctx *ctx_ok(const struct tls_ctx_params *p)
{
	char err[512] = "";
	struct tls_ctx *c = tls_ctx_new(p, err, sizeof(err));
	if (c == NULL)
		fail_msg("tls_ctx_new: %s", err);
	return c;
}

static char *ctx_err(const struct tls_ctx_params *p)
{
	static char err[512];
	err[0] = '\0';
	struct tls_ctx *c = tls_ctx_new(p, err, sizeof(err));
	if (c != NULL) {
		tls_ctx_unref(c);
		fail_msg("tls_ctx_new accepted what it should refuse");
	}
	return err;
}

static struct tls_ctx *server_ctx(const char *cert, const char *key)
{
	struct tls_ctx_params p;
	th_server_params(&p, certs, cert, key);
	p.alpn = "h2,http/1.1";
	return ctx_ok(&p);
}

static struct tls_ctx *client_ctx(const char *server_name, enum tls_versions v)
{
	struct tls_ctx_params p;
	th_client_params(&p, certs, server_name);
	p.versions = v;
	p.alpn = "h2,http/1.1";
	return ctx_ok(&p);
}

struct conns {
	struct tls_ctx *cctx, *sctx;
	struct th_pair p;
};

static void pair_open(struct conns *k, struct tls_ctx *cctx, struct tls_ctx *sctx,
		      const struct tls_conn_opts *copts, const struct tls_conn_opts *sopts)
{
	memset(&k->p, 0, sizeof(k->p));
	k->cctx = cctx;
	k->sctx = sctx;
	k->p.c = tls_conn_new(w, cctx, copts);
	k->p.s = tls_conn_new(w, sctx, sopts);
	assert_non_null(k->p.c);
	assert_non_null(k->p.s);
}

static void pair_close(struct conns *k)
{
	tls_conn_free(k->p.c);
	tls_conn_free(k->p.s);
	k->p.c = k->p.s = NULL;
}

static void expect_handshake(struct th_pair *p)
{
	if (th_handshake(p) != 0)
		fail_msg("handshake: client %s (%s: %s), server %s (%s: %s)", tls_status_name(p->cs),
			 tls_err_name(tls_conn_error(p->c)), tls_conn_error_detail(p->c), tls_status_name(p->ss),
			 tls_err_name(tls_conn_error(p->s)), tls_conn_error_detail(p->s));
}

static uint64_t stat_err(enum tls_err e)
{
	return tls_worker_stats(w)->errors[e];
}

/* Reads what there is, moving ciphertext from the peer as needed. */
static enum tls_status read_some(struct th_pair *p, struct tls_conn *peer, struct tls_conn *c, void *buf,
				 size_t len, size_t *n)
{
	enum tls_status st = TLS_WANT_READ;
	for (int i = 0; i < 100000 && st == TLS_WANT_READ; i++) {
		st = tls_read(c, buf, len, n);
		if (st == TLS_WANT_READ && th_move(p, peer, c) == 0 && tls_conn_output_pending(peer) == 0)
			break;
	}
	return st;
}

/* One round trip of application data, to flush tickets and alerts. */
static void ping(struct th_pair *p)
{
	char buf[64];
	size_t n;
	assert_int_equal(tls_write(p->c, "ping", 4, &n), TLS_DONE);
	assert_int_equal(read_some(p, p->c, p->s, buf, sizeof(buf), &n), TLS_DONE);
	assert_int_equal(n, 4);
	assert_int_equal(tls_write(p->s, "pong", 4, &n), TLS_DONE);
	assert_int_equal(read_some(p, p->s, p->c, buf, sizeof(buf), &n), TLS_DONE);
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "pong", 4);
}

/* --------------------------------------------------------- build info */

static void test_build_info(void **state)
{
	(void)state;
	char info[256];
	tls_build_info(info, sizeof(info));
	print_message("# %s\n", info);
	assert_non_null(strstr(info, "wolfSSL 5."));
	assert_non_null(strstr(info, "compiled in: AES-NI"));
}

/* ---------------------------------------------------------- handshakes */

struct hs_case {
	const char *cert, *key, *name;
	enum tls_versions v;
	const char *version, *cipher, *spiffe;
};

static void run_hs_case(const struct hs_case *hc)
{
	struct conns k;
	pair_open(&k, client_ctx(hc->name, hc->v), server_ctx(hc->cert, hc->key), NULL, NULL);
	expect_handshake(&k.p);
	struct tls_conn_info ci, si;
	assert_int_equal(tls_conn_info(k.p.c, &ci), 0);
	assert_int_equal(tls_conn_info(k.p.s, &si), 0);
	assert_string_equal(ci.version, hc->version);
	assert_string_equal(si.version, hc->version);
	assert_string_equal(ci.cipher, hc->cipher);
	assert_string_equal(si.alpn, "h2");
	assert_string_equal(ci.alpn, "h2");
	assert_string_equal(si.sni, hc->name);
	assert_false(ci.resumed);
	const struct tls_peer *peer = tls_conn_peer(k.p.c);
	assert_true(peer->present);
	assert_non_null(peer->spiffe_id);
	assert_string_equal(peer->spiffe_id, hc->spiffe);
	assert_false(tls_conn_peer(k.p.s)->present); /* no client certificate asked */
	ping(&k.p);
	pair_close(&k);
	tls_ctx_unref(k.cctx);
	tls_ctx_unref(k.sctx);
}

static void test_handshake_tls13_ecdsa(void **state)
{
	(void)state;
	struct hs_case hc = { "server-ec.pem", "server-ec.key", "api.weft.test", TLS_V12_V13,
			      "TLSv1.3", "TLS13-AES128-GCM-SHA256", TD "/ns/default/sa/api" };
	run_hs_case(&hc);
}

static void test_handshake_tls12_ecdsa(void **state)
{
	(void)state;
	struct hs_case hc = { "server-ec.pem", "server-ec.key", "api.weft.test", TLS_V12_ONLY,
			      "TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256", TD "/ns/default/sa/api" };
	run_hs_case(&hc);
}

static void test_handshake_tls13_rsa(void **state)
{
	(void)state;
	struct hs_case hc = { "server-rsa.pem", "server-rsa.key", "rsa.weft.test", TLS_V12_V13,
			      "TLSv1.3", "TLS13-AES128-GCM-SHA256", TD "/ns/default/sa/rsa" };
	run_hs_case(&hc);
}

static void test_handshake_tls12_rsa(void **state)
{
	(void)state;
	struct hs_case hc = { "server-rsa.pem", "server-rsa.key", "rsa.weft.test", TLS_V12_ONLY,
			      "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256", TD "/ns/default/sa/rsa" };
	run_hs_case(&hc);
}

/* Handshakes survive any split of the flights into pieces. */
static void test_handshake_fragmented(void **state)
{
	(void)state;
	struct tls_ctx *sctx = server_ctx("server-ec.pem", "server-ec.key");
	static const size_t chunks[] = { 1, 2, 3, 5, 7, 64, 100, 1000 };
	for (int v = 0; v < 2; v++) {
		struct tls_ctx *cctx = client_ctx("api.weft.test", v ? TLS_V12_ONLY : TLS_V13_ONLY);
		for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
			struct conns k;
			pair_open(&k, cctx, sctx, NULL, NULL);
			k.p.chunk = chunks[i];
			expect_handshake(&k.p);
			ping(&k.p);
			pair_close(&k);
		}
		tls_ctx_unref(cctx);
	}
	tls_ctx_unref(sctx);
}

/* ---------------------------------------------------------------- ALPN */

static const char *alpn_of(const char *server_alpn, const char *client_alpn)
{
	static char got[32];
	struct tls_ctx_params sp, cp;
	th_server_params(&sp, certs, "server-ec.pem", "server-ec.key");
	sp.alpn = server_alpn;
	th_client_params(&cp, certs, "api.weft.test");
	cp.alpn = client_alpn;
	struct conns k;
	pair_open(&k, ctx_ok(&cp), ctx_ok(&sp), NULL, NULL);
	expect_handshake(&k.p);
	struct tls_conn_info ci, si;
	tls_conn_info(k.p.c, &ci);
	tls_conn_info(k.p.s, &si);
	assert_string_equal(ci.alpn, si.alpn);
	snprintf(got, sizeof(got), "%s", si.alpn);
	pair_close(&k);
	tls_ctx_unref(k.cctx);
	tls_ctx_unref(k.sctx);
	return got;
}

static void test_alpn(void **state)
{
	(void)state;
	assert_string_equal(alpn_of("h2,http/1.1", "h2,http/1.1"), "h2");
	assert_string_equal(alpn_of("h2,http/1.1", "http/1.1"), "http/1.1");
	/* the server's preference wins over the client's order */
	assert_string_equal(alpn_of("h2,http/1.1", "http/1.1,h2"), "h2");
	assert_string_equal(alpn_of("http/1.1,h2", "h2,http/1.1"), "http/1.1");
	/* no overlap, or no ALPN on either side: none negotiated, handshake fine */
	assert_string_equal(alpn_of("h2", "http/1.1"), "");
	assert_string_equal(alpn_of(NULL, "h2,http/1.1"), "");
	assert_string_equal(alpn_of("h2,http/1.1", NULL), "");
}

/* ----------------------------------------------------------------- SNI */

static void test_sni_selects_certificate(void **state)
{
	(void)state;
	struct tls_ctx_params sp;
	th_server_params(&sp, certs, "server-ec.pem", "server-ec.key"); /* 0: default */
	th_add_cert(&sp, certs, "other.pem", "other.key");              /* 1 */
	th_add_cert(&sp, certs, "wild.pem", "wild.key");                /* 2: *.wild.weft.test */
	th_add_cert(&sp, certs, "server-rsa.pem", "server-rsa.key");    /* 3 */
	th_add_cert(&sp, certs, "client2.pem", "client2.key");          /* 4: explicit names */
	sp.certs[4].names[0] = "Explicit.Weft.Test";
	sp.certs[4].n_names = 1;
	struct tls_ctx *sctx = ctx_ok(&sp);
	assert_int_equal(tls_ctx_cert_count(sctx), 5);
	struct tls_cert_info info;
	assert_int_equal(tls_ctx_cert_info(sctx, 0, &info), 0);
	assert_string_equal(info.names, "api.weft.test,*.apps.weft.test");
	assert_string_equal(info.key_type, "ECDSA");
	assert_int_equal(tls_ctx_cert_info(sctx, 3, &info), 0);
	assert_string_equal(info.key_type, "RSA");

	static const struct {
		const char *sni;
		unsigned index;
		bool verify; /* the client can check the name against what it gets */
	} cases[] = {
		{ "api.weft.test", 0, true },      { "API.Weft.Test", 0, true },
		{ "x.apps.weft.test", 0, true },   { "other.weft.test", 1, true },
		{ "a.wild.weft.test", 2, true },   { "a.b.wild.weft.test", 0, false },
		{ "wild.weft.test", 0, false },    { "rsa.weft.test", 3, true },
		{ "explicit.weft.test", 4, false }, { "unknown.test", 0, false },
		{ NULL, 0, false },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tls_ctx_params cp;
		th_client_params(&cp, certs, cases[i].sni);
		if (!cases[i].verify)
			cp.verify = TLS_VERIFY_NONE;
		struct conns k;
		pair_open(&k, ctx_ok(&cp), sctx, NULL, NULL);
		expect_handshake(&k.p);
		struct tls_conn_info si;
		tls_conn_info(k.p.s, &si);
		if (si.cert_index != cases[i].index)
			fail_msg("SNI '%s': certificate %u, expected %u", cases[i].sni ? cases[i].sni : "(none)",
				 si.cert_index, cases[i].index);
		assert_true(strcasecmp(si.sni, cases[i].sni ? cases[i].sni : "") == 0);
		pair_close(&k);
		tls_ctx_unref(k.cctx);
	}
	tls_ctx_unref(sctx);
}

/* A client that expects another name than the server's certificate has. */
static void test_client_checks_server_name(void **state)
{
	(void)state;
	struct tls_ctx *sctx = server_ctx("server-ec.pem", "server-ec.key");
	static const struct {
		const char *sni;
		const char *expect[2];
		bool ok;
	} cases[] = {
		{ "api.weft.test", { NULL }, true },
		{ "rsa.weft.test", { NULL }, false }, /* default cert, wrong DNS name */
		{ "api.weft.test", { TD "/ns/default/sa/api" }, true },
		{ "api.weft.test", { TD "/ns/default/*" }, true },
		{ "api.weft.test", { TD "/ns/other/*", "api.weft.test" }, true },
		{ "api.weft.test", { TD "/ns/default/sa/web" }, false },
		{ "api.weft.test", { "spiffe://elsewhere.test/*" }, false },
		{ "x.apps.weft.test", { NULL }, true }, /* wildcard in the certificate */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tls_ctx_params cp;
		th_client_params(&cp, certs, cases[i].sni);
		for (unsigned n = 0; n < 2 && cases[i].expect[n]; n++)
			cp.verify_names[cp.n_verify_names++] = cases[i].expect[n];
		struct conns k;
		uint64_t before = stat_err(TLS_ERR_PEER_NAME);
		pair_open(&k, ctx_ok(&cp), sctx, NULL, NULL);
		int rc = th_handshake(&k.p);
		if (cases[i].ok) {
			if (rc != 0)
				fail_msg("case %zu: %s", i, tls_conn_error_detail(k.p.c));
		} else {
			assert_int_equal(k.p.cs, TLS_ERROR);
			assert_int_equal(tls_conn_error(k.p.c), TLS_ERR_PEER_NAME);
			assert_int_equal(stat_err(TLS_ERR_PEER_NAME), before + 1);
		}
		pair_close(&k);
		tls_ctx_unref(k.cctx);
	}
	tls_ctx_unref(sctx);

	/* a per-connection name (an upstream endpoint) instead of the context's */
	struct tls_ctx_params sp;
	th_server_params(&sp, certs, "server-ec.pem", "server-ec.key");
	th_add_cert(&sp, certs, "other.pem", "other.key");
	sctx = ctx_ok(&sp);
	struct tls_ctx *cctx = client_ctx("api.weft.test", TLS_V12_V13);
	struct tls_conn_opts o = { .server_name = "Other.Weft.Test" };
	struct conns k;
	pair_open(&k, cctx, sctx, &o, NULL);
	expect_handshake(&k.p);
	struct tls_conn_info si;
	tls_conn_info(k.p.s, &si);
	assert_int_equal(si.cert_index, 1);
	assert_string_equal(si.sni, "other.weft.test");
	pair_close(&k);
	o.server_name = "not a name";
	assert_null(tls_conn_new(w, cctx, &o));
	o.server_name = "*.weft.test";
	assert_null(tls_conn_new(w, cctx, &o));
	tls_ctx_unref(cctx);
	tls_ctx_unref(sctx);
}

/* ----------------------------------------------------- mTLS matrix */

struct mtls_case {
	const char *cert, *key; /* client certificate, NULL for none */
	int64_t load_at;        /* when the client loads it (its own check would refuse it today) */
	enum tls_err strict;    /* outcome on a strict listener (NONE: accepted) */
	enum tls_err optional;  /* on a permissive one */
	const char *spiffe;     /* principal when accepted */
};

static const struct mtls_case mtls_cases[] = {
	{ NULL, NULL, 0, TLS_ERR_PEER_CERT_MISSING, TLS_ERR_NONE, NULL },
	{ "client.pem", "client.key", 0, TLS_ERR_NONE, TLS_ERR_NONE, TD "/ns/web/sa/frontend" },
	{ "unknown.pem", "unknown.key", 0, TLS_ERR_PEER_CERT_UNKNOWN_CA, TLS_ERR_PEER_CERT_UNKNOWN_CA, NULL },
	{ "expired.pem", "expired.key", 1590969600 /* 2020-06 */, TLS_ERR_PEER_CERT_EXPIRED,
	  TLS_ERR_PEER_CERT_EXPIRED, NULL },
	{ "future.pem", "future.key", 3800000000 /* 2090 */, TLS_ERR_PEER_CERT_NOT_YET_VALID,
	  TLS_ERR_PEER_CERT_NOT_YET_VALID, NULL },
	{ "revoked.pem", "revoked.key", 0, TLS_ERR_PEER_CERT_REVOKED, TLS_ERR_PEER_CERT_REVOKED, NULL },
};

static struct tls_ctx *mtls_server(enum tls_verify v, enum tls_versions ver, bool crl)
{
	struct tls_ctx_params sp;
	th_server_params(&sp, certs, "server-ec.pem", "server-ec.key");
	sp.verify = v;
	sp.versions = ver;
	sp.trust.path = th_path(certs, "ca.pem");
	if (crl)
		sp.crl.path = th_path(certs, "crl.pem");
	return ctx_ok(&sp);
}

/* The client must not believe in a connection the server refused: with
 * TLS 1.3 it finishes first and learns of the refusal from the alert. */
static void client_sees_refusal(struct th_pair *p)
{
	if (p->cs == TLS_ERROR)
		return;
	char buf[16];
	size_t n;
	enum tls_status st = read_some(p, p->s, p->c, buf, sizeof(buf), &n);
	if (st == TLS_WANT_READ) {
		/* TLS 1.2 sends no alert for a missing certificate (RFC 5246 7.4.6
		 * allows that): the listener closes the connection. */
		tls_conn_input_eof(p->c);
		st = tls_read(p->c, buf, sizeof(buf), &n);
	}
	enum tls_err e = tls_conn_error(p->c);
	if (st != TLS_ERROR || (e != TLS_ERR_PEER_ALERT && e != TLS_ERR_TRUNCATED))
		fail_msg("client: %s %s (%s)", tls_status_name(st), tls_err_name(e), tls_conn_error_detail(p->c));
	print_message("#   client: %s\n", tls_conn_error_detail(p->c));
}

static void run_matrix(enum tls_versions ver)
{
	struct tls_ctx *strict = mtls_server(TLS_VERIFY_REQUIRE, ver, true);
	struct tls_ctx *optional = mtls_server(TLS_VERIFY_OPTIONAL, ver, true);
	for (size_t i = 0; i < sizeof(mtls_cases) / sizeof(mtls_cases[0]); i++) {
		const struct mtls_case *mc = &mtls_cases[i];
		for (int mode = 0; mode < 2; mode++) {
			struct tls_ctx_params cp;
			th_client_params(&cp, certs, "api.weft.test");
			cp.versions = ver;
			if (mc->cert)
				th_client_cert(&cp, certs, mc->cert, mc->key);
			if (mc->load_at) {
				/* the bundle is not valid in 2020 or 2090: this client checks nothing */
				cp.now = mc->load_at;
				cp.verify = TLS_VERIFY_NONE;
				cp.trust.path = NULL;
			}
			enum tls_err want = mode == 0 ? mc->strict : mc->optional;
			struct conns k;
			uint64_t before = stat_err(want);
			pair_open(&k, ctx_ok(&cp), mode == 0 ? strict : optional, NULL, NULL);
			int rc = th_handshake(&k.p);
			const char *label = mc->cert ? mc->cert : "no certificate";
			if (want == TLS_ERR_NONE) {
				if (rc != 0)
					fail_msg("%s, %s: refused (%s: %s)", label, mode ? "optional" : "strict",
						 tls_err_name(tls_conn_error(k.p.s)), tls_conn_error_detail(k.p.s));
				const struct tls_peer *peer = tls_conn_peer(k.p.s);
				assert_int_equal(peer->present, mc->spiffe != NULL);
				if (mc->spiffe)
					assert_string_equal(peer->spiffe_id, mc->spiffe);
				ping(&k.p);
			} else {
				if (k.p.ss != TLS_ERROR || tls_conn_error(k.p.s) != want)
					fail_msg("%s, %s: server %s (%s: %s), expected %s", label,
						 mode ? "optional" : "strict", tls_status_name(k.p.ss),
						 tls_err_name(tls_conn_error(k.p.s)), tls_conn_error_detail(k.p.s),
						 tls_err_name(want));
				assert_int_equal(stat_err(want), before + 1);
				client_sees_refusal(&k.p);
			}
			pair_close(&k);
			tls_ctx_unref(k.cctx);
		}
	}
	tls_ctx_unref(strict);
	tls_ctx_unref(optional);
}

static void test_mtls_matrix_tls13(void **state)
{
	(void)state;
	run_matrix(TLS_V12_V13);
}

static void test_mtls_matrix_tls12(void **state)
{
	(void)state;
	run_matrix(TLS_V12_ONLY);
}

/* Without the CRL the revoked certificate is just a valid one. */
static void test_mtls_without_crl(void **state)
{
	(void)state;
	struct tls_ctx *s = mtls_server(TLS_VERIFY_REQUIRE, TLS_V12_V13, false);
	struct tls_ctx_params cp;
	th_client_params(&cp, certs, "api.weft.test");
	th_client_cert(&cp, certs, "revoked.pem", "revoked.key");
	struct conns k;
	pair_open(&k, ctx_ok(&cp), s, NULL, NULL);
	expect_handshake(&k.p);
	assert_string_equal(tls_conn_peer(k.p.s)->spiffe_id, TD "/ns/web/sa/revoked");
	pair_close(&k);
	tls_ctx_unref(k.cctx);
	tls_ctx_unref(s);
}

/* ------------------------------------------------------ identity, XFCC */

/* Runs a shell command and returns its first output line. */
static const char *sh(const char *fmt, ...)
{
	static char out[1024];
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	out[0] = '\0';
	if (fgets(out, sizeof(out), f) == NULL)
		out[0] = '\0';
	pclose(f);
	out[strcspn(out, "\n")] = '\0';
	return out;
}

static void test_peer_identity_and_xfcc(void **state)
{
	(void)state;
	struct tls_ctx *s = mtls_server(TLS_VERIFY_REQUIRE, TLS_V12_V13, false);
	struct tls_ctx_params cp;
	th_client_params(&cp, certs, "api.weft.test");
	th_client_cert(&cp, certs, "client.pem", "client.key");
	struct conns k;
	pair_open(&k, ctx_ok(&cp), s, NULL, NULL);
	expect_handshake(&k.p);

	const struct tls_peer *peer = tls_conn_peer(k.p.s);
	assert_true(peer->present);
	assert_string_equal(peer->spiffe_id, TD "/ns/web/sa/frontend");
	/* the subject exactly as OpenSSL prints RFC 2253, and the DER's SHA-256 */
	char subject[512], hash[128];
	snprintf(subject, sizeof(subject), "%s",
		 sh("openssl x509 -in %s -noout -subject -nameopt RFC2253 | sed 's/^subject=//'",
		    th_path(certs, "client.pem")));
	snprintf(hash, sizeof(hash), "%s",
		 sh("openssl x509 -in %s -outform DER | sha256sum | cut -d' ' -f1", th_path(certs, "client.pem")));
	assert_string_equal(peer->subject, subject);
	assert_string_equal(peer->subject, "CN=frontend,OU=web,O=weft\\, Inc.");
	char hex[65];
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", peer->sha256[i]);
	assert_string_equal(hex, hash);
	assert_int_equal(peer->n_dns, 1);
	assert_string_equal(peer->dns[0], "frontend.web.svc");

	char xfcc[1024], want[1024];
	int n = tls_conn_xfcc(k.p.s, TD "/ns/default/sa/api", xfcc, sizeof(xfcc));
	snprintf(want, sizeof(want),
		 "By=" TD "/ns/default/sa/api;Hash=%s;Subject=\"CN=frontend,OU=web,O=weft\\, Inc.\";"
		 "URI=" TD "/ns/web/sa/frontend;DNS=frontend.web.svc",
		 hash);
	assert_string_equal(xfcc, want);
	assert_int_equal(n, (int)strlen(want));
	assert_int_equal(tls_conn_xfcc(k.p.s, NULL, xfcc, 10), -1);
	/* the client side sees the server's identity */
	assert_string_equal(tls_conn_peer(k.p.c)->spiffe_id, TD "/ns/default/sa/api");
	pair_close(&k);
	tls_ctx_unref(k.cctx);

	/* two URI SANs: no SPIFFE ID (X509-SVID 2), both URIs in XFCC */
	th_client_cert(&cp, certs, "client-two-uris.pem", "client-two-uris.key");
	pair_open(&k, ctx_ok(&cp), s, NULL, NULL);
	expect_handshake(&k.p);
	peer = tls_conn_peer(k.p.s);
	assert_true(peer->present);
	assert_null(peer->spiffe_id);
	assert_int_equal(peer->n_uri, 2);
	tls_conn_xfcc(k.p.s, NULL, xfcc, sizeof(xfcc));
	assert_non_null(strstr(xfcc, ";URI=" TD "/ns/a/sa/one;URI=" TD "/ns/a/sa/two"));
	pair_close(&k);
	tls_ctx_unref(k.cctx);
	tls_ctx_unref(s);
}

/* ---------------------------------------------------------- resumption */

static int64_t fake_now;
static int64_t fake_clock(void)
{
	return fake_now;
}

/* Full handshake, then the session; the client reads once so that a TLS 1.3
 * ticket (sent after the handshake) is processed. */
static struct tls_session *first_session(struct tls_ctx *cctx, struct tls_ctx *sctx, bool *resumed)
{
	struct conns k;
	pair_open(&k, cctx, sctx, NULL, NULL);
	expect_handshake(&k.p);
	ping(&k.p);
	struct tls_conn_info ci;
	tls_conn_info(k.p.c, &ci);
	if (resumed)
		*resumed = ci.resumed;
	struct tls_session *s = tls_conn_session(k.p.c);
	pair_close(&k);
	return s;
}

enum resume_outcome {
	FULL,    /* a full handshake */
	RESUMED, /* the ticket was taken */
	REFUSED, /* TLS 1.2 client: the server refused the ticket (see TLS_ERR_RESUME_REFUSED) */
};

/* Another connection with a session; the server side's principal in
 * principal (if not NULL), the session it gives in next (if not NULL). */
static enum resume_outcome resume_with(struct tls_ctx *cctx, struct tls_ctx *sctx, struct tls_session *sess,
				       char *principal, struct tls_session **next)
{
	struct conns k;
	struct tls_conn_opts o = { .session = sess };
	pair_open(&k, cctx, sctx, &o, NULL);
	if (th_handshake(&k.p) != 0 && tls_conn_error(k.p.c) == TLS_ERR_RESUME_REFUSED) {
		pair_close(&k);
		return REFUSED;
	}
	expect_handshake(&k.p);
	ping(&k.p);
	struct tls_conn_info ci, si;
	tls_conn_info(k.p.c, &ci);
	tls_conn_info(k.p.s, &si);
	assert_int_equal(ci.resumed, si.resumed);
	if (principal) {
		const struct tls_peer *p = tls_conn_peer(k.p.s);
		snprintf(principal, 256, "%s", p->spiffe_id ? p->spiffe_id : "");
	}
	/* the client keeps knowing who the server is, resumed or not */
	assert_string_equal(tls_conn_peer(k.p.c)->spiffe_id, TD "/ns/default/sa/api");
	if (next)
		*next = tls_conn_session(k.p.c);
	pair_close(&k);
	return si.resumed ? RESUMED : FULL;
}

static struct tls_ctx *ticket_server(struct tls_ticket_keyring *ring, enum tls_verify v, const char *scope)
{
	struct tls_ctx_params sp;
	th_server_params(&sp, certs, "server-ec.pem", "server-ec.key");
	sp.tickets = ring;
	sp.verify = v;
	sp.scope = scope;
	sp.alpn = "h2";
	if (v != TLS_VERIFY_NONE)
		sp.trust.path = th_path(certs, "ca.pem");
	return ctx_ok(&sp);
}

/* What a refused ticket looks like to weft's own client (wolfSSL 5.5.4). */
static enum resume_outcome refused(enum tls_versions ver)
{
	return ver == TLS_V12_ONLY ? REFUSED : FULL;
}

static void run_resumption(enum tls_versions ver, enum tls_verify v)
{
	char err[256];
	struct tls_ticket_keyring *ring = tls_ticket_keyring_new(3600, err, sizeof(err));
	assert_non_null(ring);
	struct tls_ctx *sctx = ticket_server(ring, v, "listener-a");
	struct tls_ctx_params cp;
	th_client_params(&cp, certs, "api.weft.test");
	cp.versions = ver;
	if (v != TLS_VERIFY_NONE)
		th_client_cert(&cp, certs, "client.pem", "client.key");
	struct tls_ctx *cctx = ctx_ok(&cp);

	bool resumed = true;
	struct tls_session *s1 = first_session(cctx, sctx, &resumed);
	assert_false(resumed);
	assert_non_null(s1);
	char principal[256];
	uint64_t before = tls_worker_stats(w)->resumed;
	struct tls_session *s2 = NULL;
	assert_int_equal(resume_with(cctx, sctx, s1, principal, &s2), RESUMED);
	assert_int_equal(tls_worker_stats(w)->resumed, before + 2); /* both sides count */
	if (v != TLS_VERIFY_NONE)
		assert_string_equal(principal, TD "/ns/web/sa/frontend"); /* identity kept in the ticket */
	/* and again from the session the resumed connection gave */
	assert_non_null(s2);
	assert_int_equal(resume_with(cctx, sctx, s2, NULL, NULL), RESUMED);

	/* another listener (scope) does not take the ticket */
	struct tls_ctx *other = ticket_server(ring, v, "listener-b");
	uint64_t rejected = tls_worker_stats(w)->tickets_rejected;
	assert_int_equal(resume_with(cctx, other, s1, NULL, NULL), refused(ver));
	assert_int_equal(tls_worker_stats(w)->tickets_rejected, rejected + 1);
	tls_ctx_unref(other);

	tls_session_free(s1);
	tls_session_free(s2);
	tls_ctx_unref(cctx);
	tls_ctx_unref(sctx);
	tls_ticket_keyring_free(ring);
}

static void test_resumption_tls13(void **state)
{
	(void)state;
	run_resumption(TLS_V13_ONLY, TLS_VERIFY_NONE);
}

static void test_resumption_tls12(void **state)
{
	(void)state;
	run_resumption(TLS_V12_ONLY, TLS_VERIFY_NONE);
}

static void test_resumption_mtls_tls13(void **state)
{
	(void)state;
	run_resumption(TLS_V13_ONLY, TLS_VERIFY_REQUIRE);
}

static void test_resumption_mtls_tls12(void **state)
{
	(void)state;
	run_resumption(TLS_V12_ONLY, TLS_VERIFY_REQUIRE);
}

/* An identity too large for the ticket's room: a full handshake each time. */
static void test_resumption_identity_too_big(void **state)
{
	(void)state;
	char err[256];
	struct tls_ticket_keyring *ring = tls_ticket_keyring_new(0, err, sizeof(err));
	struct tls_ctx *sctx = ticket_server(ring, TLS_VERIFY_REQUIRE, "l");
	struct tls_ctx_params cp;
	th_client_params(&cp, certs, "api.weft.test");
	th_client_cert(&cp, certs, "client-big.pem", "client-big.key");
	struct tls_ctx *cctx = ctx_ok(&cp);
	struct tls_session *s = first_session(cctx, sctx, NULL);
	assert_non_null(s);
	char principal[256];
	assert_int_equal(resume_with(cctx, sctx, s, principal, NULL), FULL);
	assert_string_equal(principal, TD "/ns/web/sa/big");
	tls_session_free(s);
	tls_ctx_unref(cctx);
	tls_ctx_unref(sctx);
	tls_ticket_keyring_free(ring);
}

static void run_rotation(enum tls_versions ver)
{
	char err[256];
	struct tls_ticket_keyring *ring = tls_ticket_keyring_new(3600, err, sizeof(err));
	struct tls_ctx *sctx = ticket_server(ring, TLS_VERIFY_NONE, "l");
	struct tls_ctx_params cp;
	th_client_params(&cp, certs, "api.weft.test");
	cp.versions = ver;
	struct tls_ctx *cctx = ctx_ok(&cp);

	struct tls_session *s = first_session(cctx, sctx, NULL);
	assert_non_null(s);
	/* one rotation: the old key is the previous one, still opens (and reissues) */
	tls_ticket_keys_free(tls_ticket_keyring_rotate(ring));
	uint64_t prev = tls_worker_stats(w)->tickets_previous_key;
	struct tls_session *again = NULL;
	assert_int_equal(resume_with(cctx, sctx, s, NULL, &again), RESUMED);
	assert_int_equal(tls_worker_stats(w)->tickets_previous_key, prev + 1);
	/* a second rotation: that key is gone */
	tls_ticket_keys_free(tls_ticket_keyring_rotate(ring));
	uint64_t rejected = tls_worker_stats(w)->tickets_rejected;
	assert_int_equal(resume_with(cctx, sctx, s, NULL, NULL), refused(ver));
	assert_int_equal(tls_worker_stats(w)->tickets_rejected, rejected + 1);
	/* TLS 1.3 sent a new ticket under the then-current key: it still resumes.
	 * TLS 1.2 renews no ticket on an abbreviated handshake: same old one. */
	assert_non_null(again);
	assert_int_equal(resume_with(cctx, sctx, again, NULL, NULL), ver == TLS_V12_ONLY ? REFUSED : RESUMED);

	/* past the ticket lifetime: refused even with a current key */
	struct tls_session *fresh = first_session(cctx, sctx, NULL);
	fake_now = time(NULL) + 3601;
	tls_set_clock(fake_clock);
	assert_int_equal(resume_with(cctx, sctx, fresh, NULL, NULL), refused(ver));
	tls_set_clock(NULL);

	tls_session_free(s);
	tls_session_free(again);
	tls_session_free(fresh);
	tls_ctx_unref(cctx);
	tls_ctx_unref(sctx);
	tls_ticket_keyring_free(ring);
}

static void test_ticket_rotation_tls13(void **state)
{
	(void)state;
	run_rotation(TLS_V13_ONLY);
}

static void test_ticket_rotation_tls12(void **state)
{
	(void)state;
	run_rotation(TLS_V12_ONLY);
}

/* Without a keyring the server issues no tickets and the client has no session. */
static void test_no_tickets(void **state)
{
	(void)state;
	struct tls_ctx *sctx = server_ctx("server-ec.pem", "server-ec.key");
	struct tls_ctx *cctx = client_ctx("api.weft.test", TLS_V12_V13);
	assert_null(first_session(cctx, sctx, NULL));
	tls_ctx_unref(cctx);
	tls_ctx_unref(sctx);
}

/* ---------------------------------------------------------------- data */

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)((i * 2654435761u) >> 13);
}

struct stream {
	uint64_t sent, recvd, total;
	size_t wsize; /* write size: 0 = random 1..max */
};

static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

/* Writes what the sender can, reads what the receiver has, checks every byte. */
static bool pump(struct th_pair *p, struct tls_conn *from, struct tls_conn *to, struct stream *s, size_t maxw,
		 uint64_t *want_writes)
{
	static uint8_t buf[70000];
	bool progress = false;
	/* several writes per step, so that small ones fill the output queue too */
	for (int k = 0; k < 64 && s->sent < s->total; k++) {
		size_t n = s->wsize ? s->wsize : 1 + rnd() % maxw;
		if (n > s->total - s->sent)
			n = s->total - s->sent;
		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(s->sent + i);
		size_t put;
		enum tls_status st = tls_write(from, buf, n, &put);
		assert_true(st == TLS_DONE || st == TLS_WANT_WRITE);
		s->sent += put;
		progress |= put > 0;
		if (st == TLS_WANT_WRITE) {
			(*want_writes)++;
			break;
		}
	}
	progress |= th_move(p, from, to) > 0;
	for (;;) {
		size_t got;
		size_t cap = 1 + rnd() % sizeof(buf);
		enum tls_status st = tls_read(to, buf, cap, &got);
		if (st == TLS_WANT_READ)
			break;
		assert_int_equal(st, TLS_DONE);
		for (size_t i = 0; i < got; i++)
			if (buf[i] != pattern(s->recvd + i))
				fail_msg("byte %llu differs", (unsigned long long)(s->recvd + i));
		s->recvd += got;
		progress = true;
	}
	return progress;
}

static void run_data(enum tls_versions ver, size_t out_cap, size_t chunk, uint64_t total, size_t wsize,
		     size_t maxw)
{
	struct tls_ctx *sctx = server_ctx("server-ec.pem", "server-ec.key");
	struct tls_ctx *cctx = client_ctx("api.weft.test", ver);
	struct tls_conn_opts o = { .out_cap = out_cap, .in_cap = out_cap };
	struct conns k;
	pair_open(&k, cctx, sctx, &o, &o);
	k.p.chunk = chunk;
	k.p.rng = chunk ? 99 : 0;
	expect_handshake(&k.p);
	struct stream up = { .total = total, .wsize = wsize }, down = { .total = total, .wsize = wsize };
	uint64_t ww = 0;
	for (int i = 0; i < 10000000 && (up.recvd < total || down.recvd < total); i++) {
		bool a = pump(&k.p, k.p.c, k.p.s, &up, maxw, &ww);
		bool b = pump(&k.p, k.p.s, k.p.c, &down, maxw, &ww);
		if (!a && !b)
			fail_msg("stalled at up %llu/%llu down %llu/%llu", (unsigned long long)up.recvd,
				 (unsigned long long)total, (unsigned long long)down.recvd, (unsigned long long)total);
	}
	assert_int_equal(up.recvd, total);
	assert_int_equal(down.recvd, total);
	if (out_cap < (64u << 10))
		assert_true(ww > 0); /* the small queue pushed back */
	pair_close(&k);
	tls_ctx_unref(cctx);
	tls_ctx_unref(sctx);
}

static void test_data_small_writes(void **state)
{
	(void)state;
	run_data(TLS_V13_ONLY, 4096, 300, 200000, 0, 100);
	run_data(TLS_V12_ONLY, 4096, 300, 200000, 1, 1);
}

static void test_data_large_writes(void **state)
{
	(void)state;
	run_data(TLS_V13_ONLY, 0, 0, 8u << 20, 65536, 0);
	run_data(TLS_V12_ONLY, 20000, 7000, 4u << 20, 0, 65536);
	run_data(TLS_V13_ONLY, 17000, 1, 40000, 0, 20000); /* one byte moved at a time */
}

/* ------------------------------------------------------ close_notify */

static void test_close_notify(void **state)
{
	(void)state;
	struct tls_ctx *sctx = server_ctx("server-ec.pem", "server-ec.key");
	for (int v = 0; v < 2; v++) {
		struct tls_ctx *cctx = client_ctx("api.weft.test", v ? TLS_V12_ONLY : TLS_V13_ONLY);
		struct conns k;
		pair_open(&k, cctx, sctx, NULL, NULL);
		expect_handshake(&k.p);
		size_t n;
		char buf[32];
		assert_int_equal(tls_write(k.p.c, "last words", 10, &n), TLS_DONE);
		assert_int_equal(tls_shutdown(k.p.c), TLS_DONE);
		assert_int_equal(tls_shutdown(k.p.c), TLS_DONE); /* idempotent */
		th_move(&k.p, k.p.c, k.p.s);
		assert_int_equal(tls_read(k.p.s, buf, sizeof(buf), &n), TLS_DONE);
		assert_int_equal(n, 10);
		assert_int_equal(tls_read(k.p.s, buf, sizeof(buf), &n), TLS_CLOSED);
		assert_int_equal(tls_read(k.p.s, buf, sizeof(buf), &n), TLS_CLOSED);
		/* half-closed: the server may still answer, then close too */
		assert_int_equal(tls_write(k.p.s, "bye", 3, &n), TLS_DONE);
		assert_int_equal(tls_shutdown(k.p.s), TLS_DONE);
		th_move(&k.p, k.p.s, k.p.c);
		assert_int_equal(tls_read(k.p.c, buf, sizeof(buf), &n), TLS_DONE);
		assert_memory_equal(buf, "bye", 3);
		assert_int_equal(tls_read(k.p.c, buf, sizeof(buf), &n), TLS_CLOSED);
		assert_int_equal(tls_write(k.p.c, "x", 1, &n), TLS_ERROR); /* after our close_notify */
		pair_close(&k);
		tls_ctx_unref(cctx);
	}
	tls_ctx_unref(sctx);
}

static void test_truncation(void **state)
{
	(void)state;
	struct tls_ctx *sctx = server_ctx("server-ec.pem", "server-ec.key");
	struct tls_ctx *cctx = client_ctx("api.weft.test", TLS_V12_V13);
	struct conns k;
	pair_open(&k, cctx, sctx, NULL, NULL);
	expect_handshake(&k.p);
	ping(&k.p);
	tls_conn_input_eof(k.p.s); /* FIN without close_notify */
	char buf[8];
	size_t n;
	uint64_t before = stat_err(TLS_ERR_TRUNCATED);
	assert_int_equal(tls_read(k.p.s, buf, sizeof(buf), &n), TLS_ERROR);
	assert_int_equal(tls_conn_error(k.p.s), TLS_ERR_TRUNCATED);
	assert_int_equal(stat_err(TLS_ERR_TRUNCATED), before + 1);
	pair_close(&k);

	/* a tampered record fails authentication */
	pair_open(&k, cctx, sctx, NULL, NULL);
	expect_handshake(&k.p);
	ping(&k.p);
	assert_int_equal(tls_write(k.p.c, "secret", 6, &n), TLS_DONE);
	uint8_t rec[128];
	size_t len = tls_conn_output(k.p.c, rec, sizeof(rec));
	rec[len - 3] ^= 0x40;
	tls_conn_input(k.p.s, rec, len);
	assert_int_equal(tls_read(k.p.s, buf, sizeof(buf), &n), TLS_ERROR);
	if (tls_conn_error(k.p.s) != TLS_ERR_DECRYPT)
		fail_msg("%s: %s", tls_err_name(tls_conn_error(k.p.s)), tls_conn_error_detail(k.p.s));
	pair_close(&k);
	tls_ctx_unref(cctx);
	tls_ctx_unref(sctx);
}

/* Plaintext on a TLS listener, garbage, and an oversized hello. */
static void test_server_refuses_non_tls(void **state)
{
	(void)state;
	struct tls_ctx *sctx = server_ctx("server-ec.pem", "server-ec.key");
	struct tls_conn *s = tls_conn_new(w, sctx, NULL);
	tls_conn_input(s, "GET / HTTP/1.1\r\n", 16);
	assert_int_equal(tls_handshake_step(s), TLS_ERROR);
	assert_int_equal(tls_conn_error(s), TLS_ERR_NOT_TLS);
	tls_conn_free(s);

	static const uint8_t bad[] = { 0x16, 0x03, 0x01, 0x00, 0x05, 0x02, 0x00, 0x00, 0x01, 0x00 };
	s = tls_conn_new(w, sctx, NULL);
	tls_conn_input(s, bad, sizeof(bad));
	assert_int_equal(tls_handshake_step(s), TLS_ERROR);
	assert_int_equal(tls_conn_error(s), TLS_ERR_CLIENTHELLO);
	tls_conn_free(s);

	struct tls_conn_opts o = { .in_cap = 512 };
	static const uint8_t big[] = { 0x16, 0x03, 0x01, 0x08, 0x00, 0x01, 0x00, 0x07, 0xfc };
	s = tls_conn_new(w, sctx, &o);
	tls_conn_input(s, big, sizeof(big));
	assert_int_equal(tls_handshake_step(s), TLS_ERROR);
	assert_int_equal(tls_conn_error(s), TLS_ERR_CLIENTHELLO_TOO_BIG);
	tls_conn_free(s);

	s = tls_conn_new(w, sctx, NULL);
	tls_conn_input(s, big, 3);
	assert_int_equal(tls_handshake_step(s), TLS_WANT_READ);
	tls_conn_input_eof(s);
	assert_int_equal(tls_handshake_step(s), TLS_ERROR);
	assert_int_equal(tls_conn_error(s), TLS_ERR_TRUNCATED);
	tls_conn_free(s);
	tls_ctx_unref(sctx);
}

/* Real ClientHellos from the engine's client, split at every byte. */
static void test_clienthello_from_engine(void **state)
{
	(void)state;
	static const struct {
		const char *sni, *alpn;
		enum tls_versions v;
	} cases[] = {
		{ "api.weft.test", "h2,http/1.1", TLS_V12_V13 },
		{ "rsa.weft.test", NULL, TLS_V12_ONLY },
		{ NULL, "http/1.1", TLS_V13_ONLY },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tls_ctx_params cp;
		th_client_params(&cp, certs, cases[i].sni);
		cp.alpn = cases[i].alpn;
		cp.versions = cases[i].v;
		struct tls_ctx *cctx = ctx_ok(&cp);
		struct tls_conn *c = tls_conn_new(w, cctx, NULL);
		assert_int_equal(tls_handshake_step(c), TLS_WANT_READ);
		uint8_t hello[4096];
		size_t len = tls_conn_output(c, hello, sizeof(hello));
		assert_true(len > 100);
		struct tls_clienthello ch;
		for (size_t cut = 0; cut < len; cut++) {
			enum tls_ch_status st = tls_clienthello_parse(hello, cut, &ch);
			if (st != TLS_CH_NEED_MORE)
				fail_msg("prefix of %zu bytes: %s", cut, tls_ch_status_name(st));
			assert_true(ch.need > cut && ch.need <= len);
		}
		assert_int_equal(tls_clienthello_parse(hello, len, &ch), TLS_CH_OK);
		assert_int_equal(ch.consumed, len);
		assert_int_equal(ch.has_sni, cases[i].sni != NULL);
		if (cases[i].sni)
			assert_string_equal(ch.sni, cases[i].sni);
		assert_int_equal(ch.max_version, cases[i].v == TLS_V12_ONLY ? 0x0303 : 0x0304);
		if (cases[i].alpn) {
			char joined[64] = "";
			for (unsigned a = 0; a < ch.alpn_count; a++)
				snprintf(joined + strlen(joined), sizeof(joined) - strlen(joined), "%s%s", a ? "," : "",
					 ch.alpn[a].name);
			assert_string_equal(joined, cases[i].alpn);
		} else {
			assert_int_equal(ch.alpn_count, 0);
		}
		tls_conn_free(c);
		tls_ctx_unref(cctx);
	}
}

/* ------------------------------------------------------ transport mode */

/* A pipe with limited room, moved by the test in between calls. */
struct tpipe {
	uint8_t buf[1 << 20];
	size_t len, room_limit, recv_limit;
	bool closed;
};

static long tp_recv(void *arg, void *buf, size_t len)
{
	struct tpipe *p = ((struct tpipe **)arg)[0];
	if (p->len == 0)
		return p->closed ? -1 : 0;
	size_t n = len < p->len ? len : p->len;
	if (p->recv_limit && n > p->recv_limit)
		n = p->recv_limit;
	memcpy(buf, p->buf, n);
	memmove(p->buf, p->buf + n, p->len - n);
	p->len -= n;
	return (long)n;
}

static long tp_send(void *arg, const void *buf, size_t len)
{
	struct tpipe *p = ((struct tpipe **)arg)[1];
	size_t room = p->room_limit - p->len;
	size_t n = len < room ? len : room;
	memcpy(p->buf + p->len, buf, n);
	p->len += n;
	return (long)n;
}

static void test_transport_mode(void **state)
{
	(void)state;
	static struct tpipe c2s, s2c;
	memset(&c2s, 0, sizeof(c2s));
	memset(&s2c, 0, sizeof(s2c));
	c2s.room_limit = s2c.room_limit = 3000; /* smaller than a server flight */
	c2s.recv_limit = s2c.recv_limit = 700;
	struct tpipe *cio[2] = { &s2c, &c2s }, *sio[2] = { &c2s, &s2c };
	struct tls_transport ct = { tp_recv, tp_send, cio }, st = { tp_recv, tp_send, sio };
	struct tls_conn_opts co = { .transport = &ct }, so = { .transport = &st };
	struct tls_ctx *sctx = server_ctx("server-ec.pem", "server-ec.key");
	struct tls_ctx *cctx = client_ctx("api.weft.test", TLS_V12_V13);
	struct tls_conn *c = tls_conn_new(w, cctx, &co), *s = tls_conn_new(w, sctx, &so);
	/* a permissive listener sniffs the first bytes off the transport, then
	 * hands them to the connection before the transport's own */
	assert_int_equal(tls_handshake_step(c), TLS_WANT_READ);
	uint8_t first[3];
	assert_int_equal(tp_recv(sio, first, sizeof(first)), 3);
	assert_int_equal(tls_sniff(first, sizeof(first)), TLS_SNIFF_TLS);
	assert_int_equal(tls_conn_input(s, first, sizeof(first)), 3);
	enum tls_status cs = TLS_WANT_READ, ss = TLS_WANT_READ;
	for (int i = 0; i < 1000 && (cs != TLS_DONE || ss != TLS_DONE); i++) {
		cs = tls_handshake_step(c);
		ss = tls_handshake_step(s);
		assert_true(cs != TLS_ERROR && ss != TLS_ERROR);
	}
	assert_int_equal(cs, TLS_DONE);
	assert_int_equal(ss, TLS_DONE);

	/* 1 MiB each way through 3000-byte pipes */
	static uint8_t big[1 << 20], back[1 << 20];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = pattern(i);
	size_t sent = 0, recvd = 0;
	uint64_t want_writes = 0;
	for (int i = 0; i < 1000000 && recvd < sizeof(big); i++) {
		size_t put = 0, got = 0;
		if (sent < sizeof(big)) {
			enum tls_status r = tls_write(c, big + sent, sizeof(big) - sent, &put);
			assert_true(r == TLS_DONE || r == TLS_WANT_WRITE);
			want_writes += r == TLS_WANT_WRITE;
			sent += put;
		}
		tls_flush(c);
		enum tls_status r = tls_read(s, back + recvd, sizeof(back) - recvd, &got);
		assert_true(r == TLS_DONE || r == TLS_WANT_READ);
		recvd += got;
	}
	assert_int_equal(recvd, sizeof(big));
	assert_memory_equal(back, big, sizeof(big));
	assert_true(want_writes > 0);

	/* FIN from the transport without close_notify */
	c2s.closed = true;
	size_t got;
	char b[4];
	assert_int_equal(tls_read(s, b, sizeof(b), &got), TLS_ERROR);
	assert_int_equal(tls_conn_error(s), TLS_ERR_TRUNCATED);
	tls_conn_free(c);
	tls_conn_free(s);
	tls_ctx_unref(cctx);
	tls_ctx_unref(sctx);
}

/* -------------------------------------------- certificate load checks */

static void test_load_refusals(void **state)
{
	(void)state;
	struct tls_ctx_params p;
	char want[512];

	th_server_params(&p, certs, "server-expired.pem", "server-expired.key");
	snprintf(want, sizeof(want), "%s: certificate expired on 2026-01-01T00:00:00Z (CN=old.weft.test,O=weft)",
		 th_path(certs, "server-expired.pem"));
	assert_string_equal(ctx_err(&p), want);

	th_server_params(&p, certs, "server-future.pem", "server-future.key");
	snprintf(want, sizeof(want),
		 "%s: certificate is not valid before 2090-01-01T00:00:00Z (CN=new.weft.test,O=weft)",
		 th_path(certs, "server-future.pem"));
	assert_string_equal(ctx_err(&p), want);

	th_server_params(&p, certs, "server-ec.pem", "other.key");
	snprintf(want, sizeof(want), "%s: private key does not match the certificate in %s",
		 th_path(certs, "other.key"), th_path(certs, "server-ec.pem"));
	assert_string_equal(ctx_err(&p), want);

	th_server_params(&p, certs, "server-ec.pem", "server-rsa.key"); /* other key type too */
	assert_non_null(strstr(ctx_err(&p), "does not match"));

	th_server_params(&p, certs, "garbled.pem", "server-ec.key");
	snprintf(want, sizeof(want), "%s: certificate 1: not valid PEM (bad base64 or DER)",
		 th_path(certs, "garbled.pem"));
	assert_string_equal(ctx_err(&p), want);

	th_server_params(&p, certs, "missing.pem", "server-ec.key");
	snprintf(want, sizeof(want), "%s: cannot read: No such file or directory", th_path(certs, "missing.pem"));
	assert_string_equal(ctx_err(&p), want);

	th_server_params(&p, certs, "server-ec.key", "server-ec.key");
	snprintf(want, sizeof(want), "%s: no PEM certificate found", th_path(certs, "server-ec.key"));
	assert_string_equal(ctx_err(&p), want);

	th_server_params(&p, certs, "server-ec.pem", "server-ec.pem");
	snprintf(want, sizeof(want), "%s: no PEM private key found", th_path(certs, "server-ec.pem"));
	assert_string_equal(ctx_err(&p), want);

	/* an encrypted key, made on the spot */
	sh("openssl pkey -in %s -aes256 -passout pass:x -out %s 2>&1", th_path(certs, "server-ec.key"),
	   th_path(certs, "enc.key"));
	th_server_params(&p, certs, "server-ec.pem", "enc.key");
	assert_non_null(strstr(ctx_err(&p), "encrypted private keys are not supported"));

	/* trust bundle with an expired certificate in second place */
	sh("cat %s %s > %s", th_path(certs, "ca.pem"), th_path(certs, "expired.pem"), th_path(certs, "bad-bundle.pem"));
	th_server_params(&p, certs, "server-ec.pem", "server-ec.key");
	p.verify = TLS_VERIFY_REQUIRE;
	p.trust.path = th_path(certs, "bad-bundle.pem");
	snprintf(want, sizeof(want), "%s: certificate 2 expired on 2021-01-01T00:00:00Z (CN=expired,O=weft)",
		 th_path(certs, "bad-bundle.pem"));
	assert_string_equal(ctx_err(&p), want);

	th_server_params(&p, certs, "server-ec.pem", "server-ec.key");
	p.verify = TLS_VERIFY_REQUIRE;
	assert_string_equal(ctx_err(&p), "certificate verification needs a trust bundle");

	th_server_params(&p, certs, "server-ec.pem", "server-ec.key");
	p.verify = TLS_VERIFY_REQUIRE;
	p.trust.path = th_path(certs, "ca.pem");
	p.crl.path = th_path(certs, "ca.pem");
	assert_non_null(strstr(ctx_err(&p), "no PEM CRL found"));
	p.crl.path = th_path(certs, "unknown-crl.pem");
	sh("cd %s && openssl ca -batch -config unknown-ca.cnf -gencrl -out unknown-crl.pem 2>&1; true", certs);
	snprintf(want, sizeof(want), "%s: CRL issuer CN=unknown root,O=elsewhere is not a CA of the trust bundle",
		 th_path(certs, "unknown-crl.pem"));
	assert_string_equal(ctx_err(&p), want);
	p.crl.path = th_path(certs, "crl.pem");
	p.now = time(NULL) + 60 * 86400; /* the CRL's next update is 30 days out */
	assert_non_null(strstr(ctx_err(&p), "crl.pem: CRL expired on 20"));
	p.now = 0;

	memset(&p, 0, sizeof(p));
	p.role = TLS_ROLE_SERVER;
	assert_string_equal(ctx_err(&p), "a TLS listener needs 1 to 16 certificates");

	th_server_params(&p, certs, "server-ec.pem", "server-ec.key");
	p.certs[0].names[0] = "bad name!";
	p.certs[0].n_names = 1;
	assert_non_null(strstr(ctx_err(&p), "server name 'bad name!' is not a host name"));

	th_server_params(&p, certs, "server-ec.pem", "server-ec.key");
	p.alpn = "h2,,http/1.1";
	assert_non_null(strstr(ctx_err(&p), "ALPN list"));

	/* the load time decides */
	th_server_params(&p, certs, "server-ec.pem", "server-ec.key");
	p.now = 4102444800; /* 2100 */
	assert_non_null(strstr(ctx_err(&p), "expired on"));
	th_server_params(&p, certs, "server-expired.pem", "server-expired.key");
	p.now = 1700000000; /* 2023 */
	tls_ctx_unref(ctx_ok(&p));
}

/* A rotation that fails keeps the old context serving; one that works
 * serves new handshakes while established connections carry on. */
static void test_rotation_keeps_old_context(void **state)
{
	(void)state;
	sh("cp %s %s; cp %s %s", th_path(certs, "server-ec.pem"), th_path(certs, "live.pem"),
	   th_path(certs, "server-ec.key"), th_path(certs, "live.key"));
	struct tls_ctx_params p;
	th_server_params(&p, certs, "live.pem", "live.key");
	struct tls_ctx *running = ctx_ok(&p);
	uint8_t d[32];
	assert_int_equal(tls_params_digest(&p, d), 0);
	assert_memory_equal(d, tls_ctx_digest(running), 32);

	struct tls_ctx *cctx = client_ctx("api.weft.test", TLS_V12_V13);
	struct conns old;
	pair_open(&old, cctx, running, NULL, NULL);
	expect_handshake(&old.p);

	/* a bad file lands: the digest changes, the rebuild fails, the old one serves */
	sh("cp %s %s", th_path(certs, "garbled.pem"), th_path(certs, "live.pem"));
	assert_int_equal(tls_params_digest(&p, d), 0);
	assert_memory_not_equal(d, tls_ctx_digest(running), 32);
	assert_non_null(strstr(ctx_err(&p), "not valid PEM"));
	struct conns k;
	pair_open(&k, cctx, running, NULL, NULL);
	expect_handshake(&k.p);
	pair_close(&k);

	/* a good new certificate: the new context answers new handshakes */
	sh("cp %s %s; cp %s %s", th_path(certs, "server-rsa.pem"), th_path(certs, "live.pem"),
	   th_path(certs, "server-rsa.key"), th_path(certs, "live.key"));
	struct tls_ctx *next = ctx_ok(&p);
	tls_ctx_unref(running); /* the snapshot lets go; the old connection holds its reference */
	struct tls_ctx_params cp;
	th_client_params(&cp, certs, "rsa.weft.test");
	struct tls_ctx *rsa_client = ctx_ok(&cp);
	pair_open(&k, rsa_client, next, NULL, NULL);
	expect_handshake(&k.p);
	assert_string_equal(tls_conn_peer(k.p.c)->spiffe_id, TD "/ns/default/sa/rsa");
	pair_close(&k);
	ping(&old.p); /* established on the old certificate, still fine */
	assert_string_equal(tls_conn_peer(old.p.c)->spiffe_id, TD "/ns/default/sa/api");
	pair_close(&old);
	tls_ctx_unref(next);
	tls_ctx_unref(rsa_client);
	tls_ctx_unref(cctx);
}

/* In-memory PEM works like files; errors name the label. */
static void test_inline_pem(void **state)
{
	(void)state;
	FILE *f = fopen(th_path(certs, "server-ec.pem"), "r");
	static char cert[8192], key[4096];
	size_t cl = fread(cert, 1, sizeof(cert), f);
	fclose(f);
	f = fopen(th_path(certs, "server-ec.key"), "r");
	size_t kl = fread(key, 1, sizeof(key), f);
	fclose(f);
	struct tls_ctx_params p = { .role = TLS_ROLE_SERVER, .n_certs = 1 };
	p.certs[0].chain = (struct tls_source){ .path = "admin:cert", .pem = cert, .pem_len = cl };
	p.certs[0].key = (struct tls_source){ .path = "admin:key", .pem = key, .pem_len = kl };
	tls_ctx_unref(ctx_ok(&p));
	p.certs[0].chain.pem_len = 40;
	assert_string_equal(ctx_err(&p), "admin:cert: certificate 1: no END CERTIFICATE line");
}

/* ------------------------------------------- interop: openssl s_client */

/* Runs openssl s_client against port; returns its whole output (static). */
static const char *s_client(uint16_t port, const char *args)
{
	static char out[16384];
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "echo GET | timeout 10 openssl s_client -connect 127.0.0.1:%u -ign_eof -CAfile %s %s 2>&1", port,
		 th_path(certs, "ca.pem"), args);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	size_t n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	pclose(f);
	return out;
}

static bool has(const char *out, const char *what)
{
	if (strstr(out, what) != NULL)
		return true;
	print_message("# no '%s' in:\n%s\n", what, out);
	return false;
}

static void test_interop_openssl(void **state)
{
	(void)state;
	if (system("command -v openssl >/dev/null 2>&1") != 0)
		skip();
	char err[256];
	struct tls_ticket_keyring *ring = tls_ticket_keyring_new(3600, err, sizeof(err));
	struct tls_ctx_params sp;
	th_server_params(&sp, certs, "server-ec.pem", "server-ec.key");
	th_add_cert(&sp, certs, "server-rsa.pem", "server-rsa.key");
	sp.alpn = "h2,http/1.1";
	sp.tickets = ring;
	struct tls_ctx *ctx = ctx_ok(&sp);
	uint16_t port = 0;
	struct sockserver *srv = sockserver_start(ctx, &port);
	assert_non_null(srv);
	char sess[600];
	snprintf(sess, sizeof(sess), "%s", th_path(certs, "s_client.sess"));
	char args[1024];
	const char *o;

	/* TLS 1.3, SNI, ALPN; the server's view comes back in the body */
	o = s_client(port, "-servername api.weft.test -alpn http/1.1,h2 -verify_return_error");
	assert_true(has(o, "Protocol  : TLSv1.3"));
	assert_true(has(o, "ALPN protocol: h2"));
	assert_true(has(o, "Verify return code: 0 (ok)"));
	assert_true(has(o, "weft version=TLSv1.3 cipher=TLS13-AES128-GCM-SHA256 alpn=h2 sni=api.weft.test resumed=0"));

	/* SNI picks the RSA certificate */
	o = s_client(port, "-servername rsa.weft.test -verify_return_error");
	assert_true(has(o, "CN = rsa.weft.test"));
	assert_true(has(o, "Peer signature type: RSA-PSS"));

	/* TLS 1.2: ECDHE + AES-GCM; resumption with a ticket, both versions */
	for (int v = 0; v < 2; v++) {
		const char *ver = v ? "-tls1_2" : "-tls1_3";
		snprintf(args, sizeof(args), "%s -servername api.weft.test -sess_out %s", ver, sess);
		o = s_client(port, args);
		assert_true(has(o, v ? "Protocol  : TLSv1.2" : "Protocol  : TLSv1.3"));
		if (v)
			assert_true(has(o, "Cipher is ECDHE-ECDSA-AES128-GCM-SHA256"));
		snprintf(args, sizeof(args), "%s -servername api.weft.test -sess_in %s", ver, sess);
		o = s_client(port, args);
		assert_true(has(o, "Reused,"));
		assert_true(has(o, "resumed=1"));
	}

	/* a session on the server's second suite: wolfSSL opens the ticket once per
	 * suite it tries, and the second try must still see it */
	snprintf(args, sizeof(args), "-tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384 -servername api.weft.test -sess_out %s",
		 sess);
	o = s_client(port, args);
	assert_true(has(o, "TLS_AES_256_GCM_SHA384"));
	snprintf(args, sizeof(args), "-tls1_3 -servername api.weft.test -sess_in %s", sess);
	o = s_client(port, args);
	assert_true(has(o, "Reused,"));
	assert_true(has(o, "resumed=1"));

	/* what weft refuses: old versions, CBC, RSA key exchange */
	static const char *const refused[] = {
		"-tls1_1 -cipher DEFAULT@SECLEVEL=0",
		"-tls1 -cipher DEFAULT@SECLEVEL=0",
		"-tls1_2 -cipher AES128-SHA256:AES256-SHA",
		"-tls1_2 -cipher AES128-GCM-SHA256:AES256-GCM-SHA384",
		"-tls1_2 -cipher ECDHE-ECDSA-AES128-SHA256:ECDHE-RSA-AES128-SHA",
	};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		o = s_client(port, refused[i]);
		if (strstr(o, "weft version=") != NULL)
			fail_msg("accepted '%s':\n%s", refused[i], o);
	}
	sockserver_stop(srv);
	tls_ctx_unref(ctx);
	tls_ticket_keyring_free(ring);
}

static void test_interop_openssl_mtls(void **state)
{
	(void)state;
	if (system("command -v openssl >/dev/null 2>&1") != 0)
		skip();
	struct tls_ctx *ctx = mtls_server(TLS_VERIFY_REQUIRE, TLS_V12_V13, true);
	uint16_t port = 0;
	struct sockserver *srv = sockserver_start(ctx, &port);
	assert_non_null(srv);
	char args[1024];
	for (int v = 0; v < 2; v++) {
		const char *ver = v ? "-tls1_2" : "-tls1_3";
		snprintf(args, sizeof(args), "%s -servername api.weft.test -cert %s -key %s", ver,
			 th_path(certs, "client.pem"), th_path(certs, "client.key"));
		const char *o = s_client(port, args);
		assert_true(has(o, "principal=" TD "/ns/web/sa/frontend"));
		assert_true(has(o, "xfcc=By=" TD "/ns/default/sa/api;Hash="));

		unsigned before = sockserver_failures(srv, NULL, 0);
		snprintf(args, sizeof(args), "%s -servername api.weft.test -cert %s -key %s", ver,
			 th_path(certs, "revoked.pem"), th_path(certs, "revoked.key"));
		o = s_client(port, args);
		assert_null(strstr(o, "weft version="));
		snprintf(args, sizeof(args), "%s -servername api.weft.test", ver);
		o = s_client(port, args);
		assert_null(strstr(o, "weft version="));
		char last[256];
		assert_int_equal(sockserver_failures(srv, last, sizeof(last)), before + 2);
		assert_non_null(strstr(last, "tls_peer_cert_missing"));
	}
	sockserver_stop(srv);
	tls_ctx_unref(ctx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_info),
		cmocka_unit_test(test_handshake_tls13_ecdsa),
		cmocka_unit_test(test_handshake_tls12_ecdsa),
		cmocka_unit_test(test_handshake_tls13_rsa),
		cmocka_unit_test(test_handshake_tls12_rsa),
		cmocka_unit_test(test_handshake_fragmented),
		cmocka_unit_test(test_alpn),
		cmocka_unit_test(test_sni_selects_certificate),
		cmocka_unit_test(test_client_checks_server_name),
		cmocka_unit_test(test_mtls_matrix_tls13),
		cmocka_unit_test(test_mtls_matrix_tls12),
		cmocka_unit_test(test_mtls_without_crl),
		cmocka_unit_test(test_peer_identity_and_xfcc),
		cmocka_unit_test(test_resumption_tls13),
		cmocka_unit_test(test_resumption_tls12),
		cmocka_unit_test(test_resumption_mtls_tls13),
		cmocka_unit_test(test_resumption_mtls_tls12),
		cmocka_unit_test(test_resumption_identity_too_big),
		cmocka_unit_test(test_ticket_rotation_tls13),
		cmocka_unit_test(test_ticket_rotation_tls12),
		cmocka_unit_test(test_no_tickets),
		cmocka_unit_test(test_data_small_writes),
		cmocka_unit_test(test_data_large_writes),
		cmocka_unit_test(test_close_notify),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_server_refuses_non_tls),
		cmocka_unit_test(test_clienthello_from_engine),
		cmocka_unit_test(test_transport_mode),
		cmocka_unit_test(test_load_refusals),
		cmocka_unit_test(test_rotation_keeps_old_context),
		cmocka_unit_test(test_inline_pem),
		cmocka_unit_test(test_interop_openssl),
		cmocka_unit_test(test_interop_openssl_mtls),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
