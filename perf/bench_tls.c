/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TLS engine benchmark, in process, on one core (pin it: perf/tls.sh does):
 * full handshakes per second with ECDSA P-256 and RSA-2048 server
 * certificates, resumed handshakes per second, and bulk AES-128-GCM
 * throughput through tls_write()/tls_read(). Client and server both run in
 * this thread, so every figure pays for both sides.
 *
 * Each case prints one JSON line with the median of the repeats, next to a
 * bound computed from `openssl speed` figures measured in the same run and
 * passed on the command line (perf/tls.sh). perf/README.md explains the
 * bounds.
 *
 *   bench_tls CERTDIR [-t SECONDS] [-r REPEATS] [key=value ...]
 *   keys: ecdsa_sign ecdsa_verify rsa_sign rsa_verify x25519 (operations/s)
 *         gcm (AES-128-GCM bytes/s at 16 KiB blocks)
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dataplane/tls/tls.h"
#include "tests/unit/tls_harness.h"

static const char *certs;
static double seconds = 3;
static int repeats = 3;
static struct tls_worker *w;

struct peer {
	double ecdsa_sign, ecdsa_verify, rsa_sign, rsa_verify, x25519, gcm;
} peer;

/* CPU time of this process, as `openssl speed` divides by CPU time too (its
 * default without -elapsed): on a shared machine, wall time would measure
 * the neighbours. */
static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static struct tls_ctx *make_ctx(const struct tls_ctx_params *p)
{
	char err[512];
	struct tls_ctx *c = tls_ctx_new(p, err, sizeof(err));
	if (c == NULL) {
		fprintf(stderr, "bench_tls: %s\n", err);
		exit(1);
	}
	return c;
}

static struct tls_ctx *server(const char *cert, const char *key, struct tls_ticket_keyring *ring)
{
	struct tls_ctx_params p;
	th_server_params(&p, certs, cert, key);
	p.alpn = "h2,http/1.1";
	p.tickets = ring;
	return make_ctx(&p);
}

static struct tls_ctx *client(const char *name, enum tls_versions v)
{
	struct tls_ctx_params p;
	th_client_params(&p, certs, name);
	p.alpn = "h2,http/1.1";
	p.versions = v;
	return make_ctx(&p);
}

/* One handshake; the session for the next one if asked. */
static bool handshake(struct tls_ctx *c, struct tls_ctx *s, const struct tls_session *sess, bool want_resumed,
		      struct tls_session **out)
{
	struct tls_conn_opts o = { .session = sess };
	struct th_pair p = { 0 };
	p.c = tls_conn_new(w, c, &o);
	p.s = tls_conn_new(w, s, NULL);
	bool ok = th_handshake(&p) == 0;
	if (ok && (want_resumed || out)) {
		struct tls_conn_info ci;
		tls_conn_info(p.s, &ci);
		ok = ci.resumed == want_resumed;
	}
	if (ok && out) {
		/* a TLS 1.3 ticket arrives after the handshake: one read takes it in */
		char b[8];
		size_t n;
		th_move(&p, p.s, p.c);
		tls_read(p.c, b, sizeof(b), &n);
		*out = tls_conn_session(p.c);
	}
	if (!ok)
		fprintf(stderr, "bench_tls: handshake failed: %s / %s\n", tls_conn_error_detail(p.c),
			tls_conn_error_detail(p.s));
	tls_conn_free(p.c);
	tls_conn_free(p.s);
	return ok;
}

static double handshakes_per_s(struct tls_ctx *c, struct tls_ctx *s, const struct tls_session *sess)
{
	double v[16];
	for (int r = 0; r < repeats; r++) {
		long n = 0;
		double t0 = now(), t;
		do {
			if (!handshake(c, s, sess, sess != NULL, NULL))
				exit(1);
			n++;
		} while ((t = now()) - t0 < seconds);
		v[r] = (double)n / (t - t0);
	}
	return median(v, repeats);
}

/* Plaintext bytes per second, written on one side and read on the other. */
static double bulk_bytes_per_s(struct tls_ctx *c, struct tls_ctx *s)
{
	static uint8_t src[1 << 16], dst[1 << 16];
	memset(src, 0x5a, sizeof(src));
	struct tls_conn_opts o = { .in_cap = 1 << 20, .out_cap = 1 << 20 };
	struct th_pair p = { 0 };
	p.c = tls_conn_new(w, c, &o);
	p.s = tls_conn_new(w, s, &o);
	if (th_handshake(&p) != 0)
		exit(1);
	struct tls_conn_info ci;
	tls_conn_info(p.c, &ci);
	fprintf(stderr, "bench_tls: bulk cipher %s\n", ci.cipher);
	double v[16];
	for (int r = 0; r < repeats; r++) {
		uint64_t bytes = 0;
		double t0 = now(), t;
		do {
			size_t put, got;
			if (tls_write(p.c, src, sizeof(src), &put) != TLS_DONE)
				exit(1);
			th_move(&p, p.c, p.s);
			size_t left = put;
			while (left > 0) {
				if (tls_read(p.s, dst, sizeof(dst), &got) != TLS_DONE)
					exit(1);
				left -= got;
			}
			bytes += put;
		} while ((t = now()) - t0 < seconds);
		v[r] = (double)bytes / (t - t0);
	}
	tls_conn_free(p.c);
	tls_conn_free(p.s);
	return median(v, repeats);
}

static void emit(const char *name, const char *metric, const char *unit, double weft, double bound,
		 const char *how)
{
	if (!(bound > 0)) { /* no meaningful bound: the figure alone */
		printf("{\"bench\":\"tls\",\"case\":\"%s\",\"metric\":\"%s\",\"unit\":\"%s\",\"weft\":%.1f,"
		       "\"better\":\"higher\",\"note\":\"%s\",\"repeats\":%d,\"seconds\":%.1f}\n",
		       name, metric, unit, weft, how, repeats, seconds);
		fflush(stdout);
		return;
	}
	printf("{\"bench\":\"tls\",\"case\":\"%s\",\"metric\":\"%s\",\"unit\":\"%s\",\"weft\":%.1f,"
	       "\"peer\":\"openssl-speed-bound\",\"peer_value\":%.1f,\"ratio\":%.3f,\"better\":\"higher\","
	       "\"bound\":\"%s\",\"repeats\":%d,\"seconds\":%.1f}\n",
	       name, metric, unit, weft, bound, bound > 0 ? weft / bound : 0.0, how, repeats, seconds);
	fflush(stdout);
}

/* Seconds per operation, 0 when the figure is missing. */
static double per(double ops)
{
	return ops > 0 ? 1 / ops : NAN;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: bench_tls CERTDIR [-t SECONDS] [-r REPEATS] [key=value ...]\n");
		return 2;
	}
	certs = argv[1];
	for (int i = 2; i < argc; i++) {
		double v;
		char key[32];
		if (strcmp(argv[i], "-t") == 0 && i + 1 < argc) {
			seconds = atof(argv[++i]);
		} else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc) {
			repeats = atoi(argv[++i]);
			if (repeats < 1 || repeats > 16)
				repeats = 3;
		} else if (sscanf(argv[i], "%31[a-z0-9_]=%lf", key, &v) == 2) {
			double *f = strcmp(key, "ecdsa_sign") == 0     ? &peer.ecdsa_sign
				  : strcmp(key, "ecdsa_verify") == 0 ? &peer.ecdsa_verify
				  : strcmp(key, "rsa_sign") == 0     ? &peer.rsa_sign
				  : strcmp(key, "rsa_verify") == 0   ? &peer.rsa_verify
				  : strcmp(key, "x25519") == 0       ? &peer.x25519
				  : strcmp(key, "gcm") == 0          ? &peer.gcm
									: NULL;
			if (f == NULL) {
				fprintf(stderr, "bench_tls: unknown figure %s\n", key);
				return 2;
			}
			*f = v;
		} else {
			fprintf(stderr, "bench_tls: bad argument %s\n", argv[i]);
			return 2;
		}
	}
	if (tls_global_init() != 0 || (w = tls_worker_new()) == NULL)
		return 1;
	char info[256];
	tls_build_info(info, sizeof(info));
	fprintf(stderr, "bench_tls: %s\n", info);

	char err[256];
	struct tls_ticket_keyring *ring = tls_ticket_keyring_new(3600, err, sizeof(err));
	struct tls_ctx *ec = server("server-ec.pem", "server-ec.key", NULL);
	struct tls_ctx *rsa = server("server-rsa.pem", "server-rsa.key", NULL);
	struct tls_ctx *ec_tickets = server("server-ec.pem", "server-ec.key", ring);
	struct tls_ctx *c13 = client("api.weft.test", TLS_V13_ONLY);
	struct tls_ctx *c12 = client("api.weft.test", TLS_V12_ONLY);
	struct tls_ctx *c13_rsa = client("rsa.weft.test", TLS_V13_ONLY);

	/*
	 * Bounds, in seconds per handshake for both sides together, from what
	 * the handshake cannot avoid (README: TLS section):
	 *   ECDSA: server signs CertificateVerify (1 sign); client verifies it
	 *          and the certificate's signature by the CA (2 verifies);
	 *          X25519 key generation and agreement on each side (4 ops).
	 *   RSA:   1 RSA sign, 1 RSA verify (CertificateVerify), 1 ECDSA verify
	 *          (the leaf is signed by the ECDSA test CA), 4 X25519.
	 *   resumed (psk_dhe_ke): the 4 X25519 operations only.
	 */
	double x4 = 4 * per(peer.x25519);
	double b_ec = 1 / (per(peer.ecdsa_sign) + 2 * per(peer.ecdsa_verify) + x4);
	double b_rsa = 1 / (per(peer.rsa_sign) + per(peer.rsa_verify) + per(peer.ecdsa_verify) + x4);
	double b_res = 1 / x4;
	double b_gcm = peer.gcm / 2; /* one encryption and one decryption per byte */

	emit("handshake-full-ecdsa-p256-tls13", "handshakes_per_s", "hs/s", handshakes_per_s(c13, ec, NULL), b_ec,
	     "1 ECDSA sign + 2 ECDSA verify + 4 X25519");
	emit("handshake-full-ecdsa-p256-tls12", "handshakes_per_s", "hs/s", handshakes_per_s(c12, ec, NULL), b_ec,
	     "1 ECDSA sign + 2 ECDSA verify + 4 X25519");
	emit("handshake-full-rsa2048-tls13", "handshakes_per_s", "hs/s", handshakes_per_s(c13_rsa, rsa, NULL),
	     b_rsa, "1 RSA sign + 1 RSA verify + 1 ECDSA verify + 4 X25519");

	struct tls_session *s13 = NULL, *s12 = NULL;
	if (!handshake(c13, ec_tickets, NULL, false, &s13) || s13 == NULL ||
	    !handshake(c12, ec_tickets, NULL, false, &s12) || s12 == NULL) {
		fprintf(stderr, "bench_tls: no session to resume\n");
		return 1;
	}
	emit("handshake-resumed-tls13", "handshakes_per_s", "hs/s", handshakes_per_s(c13, ec_tickets, s13), b_res,
	     "4 X25519 (psk_dhe_ke)");
	emit("handshake-resumed-tls12", "handshakes_per_s", "hs/s", handshakes_per_s(c12, ec_tickets, s12), 0,
	     "abbreviated handshake: no public-key operation, so openssl speed gives no bound");

	double gcm = bulk_bytes_per_s(c13, ec);
	emit("bulk-aes128gcm", "throughput", "MB/s", gcm / 1e6, b_gcm / 1e6,
	     "openssl AES-128-GCM at 16 KiB, halved: encrypt and decrypt on one core");

	tls_session_free(s13);
	tls_session_free(s12);
	tls_ctx_unref(ec);
	tls_ctx_unref(rsa);
	tls_ctx_unref(ec_tickets);
	tls_ctx_unref(c13);
	tls_ctx_unref(c12);
	tls_ctx_unref(c13_rsa);
	tls_ticket_keyring_free(ring);
	tls_worker_free(w);
	tls_global_cleanup();
	return 0;
}
