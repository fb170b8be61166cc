/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The wolfSSL that weft links is the one scripts/setup builds: AES-NI,
 * TLS 1.3, ALPN, SNI, session tickets, CRL and certificate generation.
 * This suite fails (naming the missing macro) if the build in use is any
 * other, checks AES-128-GCM against the GCM specification's test vectors,
 * and runs one TLS 1.3 handshake in memory with a freshly generated
 * certificate carrying a SPIFFE URI SAN.
 */

/* options.h must come first: it carries the configure-time macros that the
 * other wolfSSL headers (and the layout of their structs) depend on. */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/random.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

/* Everything the handshake test below uses; with a wolfSSL lacking any of
 * it, that test fails instead of the file failing to compile, so the rest
 * of the tree still builds and test_build_features names what is missing. */
#if defined(WOLFSSL_TLS13) && defined(HAVE_AESGCM) && defined(HAVE_ALPN) && \
	defined(HAVE_SNI) && defined(HAVE_SESSION_TICKET) && defined(HAVE_CRL) && \
	defined(WOLFSSL_CERT_GEN) && defined(WOLFSSL_KEY_GEN) && \
	defined(WOLFSSL_ALT_NAMES) && defined(KEEP_PEER_CERT) && defined(HAVE_ECC)
#define TLS_BUILD_COMPLETE 1
#endif

/* ------------------------------------------------------------------ build */

struct feature {
	const char *macro;
	const char *what;
	bool on;
};

static const struct feature required_features[] = {
#ifdef WOLFSSL_AESNI
	{ "WOLFSSL_AESNI", "AES-NI", true },
#else
	{ "WOLFSSL_AESNI", "AES-NI", false },
#endif
#ifdef WOLFSSL_TLS13
	{ "WOLFSSL_TLS13", "TLS 1.3", true },
#else
	{ "WOLFSSL_TLS13", "TLS 1.3", false },
#endif
#ifdef HAVE_AESGCM
	{ "HAVE_AESGCM", "AES-GCM", true },
#else
	{ "HAVE_AESGCM", "AES-GCM", false },
#endif
#ifdef HAVE_ALPN
	{ "HAVE_ALPN", "ALPN", true },
#else
	{ "HAVE_ALPN", "ALPN", false },
#endif
#ifdef HAVE_SNI
	{ "HAVE_SNI", "SNI", true },
#else
	{ "HAVE_SNI", "SNI", false },
#endif
#ifdef HAVE_SESSION_TICKET
	{ "HAVE_SESSION_TICKET", "session tickets", true },
#else
	{ "HAVE_SESSION_TICKET", "session tickets", false },
#endif
#ifdef HAVE_CRL
	{ "HAVE_CRL", "CRL", true },
#else
	{ "HAVE_CRL", "CRL", false },
#endif
#ifdef WOLFSSL_CERT_GEN
	{ "WOLFSSL_CERT_GEN", "certificate generation", true },
#else
	{ "WOLFSSL_CERT_GEN", "certificate generation", false },
#endif
#ifdef WOLFSSL_CERT_REQ
	{ "WOLFSSL_CERT_REQ", "certificate requests", true },
#else
	{ "WOLFSSL_CERT_REQ", "certificate requests", false },
#endif
#ifdef WOLFSSL_CERT_EXT
	{ "WOLFSSL_CERT_EXT", "certificate extensions", true },
#else
	{ "WOLFSSL_CERT_EXT", "certificate extensions", false },
#endif
#ifdef WOLFSSL_KEY_GEN
	{ "WOLFSSL_KEY_GEN", "key generation", true },
#else
	{ "WOLFSSL_KEY_GEN", "key generation", false },
#endif
#ifdef KEEP_PEER_CERT
	{ "KEEP_PEER_CERT", "peer certificate access", true },
#else
	{ "KEEP_PEER_CERT", "peer certificate access", false },
#endif
#ifdef WOLFSSL_ALT_NAMES
	{ "WOLFSSL_ALT_NAMES", "subjectAltName in generated certificates", true },
#else
	{ "WOLFSSL_ALT_NAMES", "subjectAltName in generated certificates", false },
#endif
};

static void test_build_features(void **state)
{
	(void)state;
	size_t missing = 0;
	for (size_t i = 0; i < sizeof(required_features) / sizeof(required_features[0]); i++) {
		const struct feature *f = &required_features[i];
		if (!f->on) {
			print_error("wolfSSL built without %s (%s); run scripts/setup "
				    "and point meson at .deps/wolfssl/lib/pkgconfig\n",
				    f->what, f->macro);
			missing++;
		}
	}
	assert_int_equal(missing, 0);
}

/* Headers and library come from the same build. */
static void test_headers_match_library(void **state)
{
	(void)state;
	assert_int_equal(wolfSSL_lib_version_hex(), LIBWOLFSSL_VERSION_HEX);
	assert_string_equal(wolfSSL_lib_version(), LIBWOLFSSL_VERSION_STRING);
	assert_true(LIBWOLFSSL_VERSION_HEX >= 0x05005000);
}

/* ------------------------------------------------------------ AES-128-GCM */

/* Test cases 1-4 of McGrew and Viega, "The Galois/Counter Mode of Operation
 * (GCM)", appendix B: AES-128, 96-bit IV. */
struct gcm_vector {
	const char *name, *key, *iv, *pt, *aad, *ct, *tag;
};

static const struct gcm_vector gcm_vectors[] = {
	{ "test case 1",
	  "00000000000000000000000000000000", "000000000000000000000000",
	  "", "", "", "58e2fccefa7e3061367f1d57a4e7455a" },
	{ "test case 2",
	  "00000000000000000000000000000000", "000000000000000000000000",
	  "00000000000000000000000000000000", "",
	  "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf" },
	{ "test case 3",
	  "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
	  "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	  "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
	  "",
	  "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
	  "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
	  "4d5c2af327cd64a62cf35abd2ba6fab4" },
	{ "test case 4",
	  "feffe9928665731c6d6a8f9467308308", "cafebabefacedbaddecaf888",
	  "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
	  "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
	  "feedfacedeadbeeffeedfacedeadbeefabaddad2",
	  "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
	  "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
	  "5bc94fbc3221a5db94fae95ae7121a47" },
};

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2;
	assert_true(strlen(hex) % 2 == 0);
	assert_true(n <= cap);
	for (size_t i = 0; i < n; i++) {
		unsigned int b;
		assert_int_equal(sscanf(hex + 2 * i, "%2x", &b), 1);
		out[i] = (uint8_t)b;
	}
	return n;
}

static void test_aes128_gcm_vectors(void **state)
{
	(void)state;
	for (size_t v = 0; v < sizeof(gcm_vectors) / sizeof(gcm_vectors[0]); v++) {
		const struct gcm_vector *tv = &gcm_vectors[v];
		uint8_t key[16], iv[12], pt[64], aad[32], ct[64], tag[16];
		uint8_t out[64], back[64], out_tag[16];
		size_t key_len = unhex(tv->key, key, sizeof(key));
		size_t iv_len = unhex(tv->iv, iv, sizeof(iv));
		size_t pt_len = unhex(tv->pt, pt, sizeof(pt));
		size_t aad_len = unhex(tv->aad, aad, sizeof(aad));
		size_t ct_len = unhex(tv->ct, ct, sizeof(ct));
		size_t tag_len = unhex(tv->tag, tag, sizeof(tag));
		assert_int_equal(key_len, 16);
		assert_int_equal(ct_len, pt_len);

		Aes aes;
		assert_int_equal(wc_AesInit(&aes, NULL, INVALID_DEVID), 0);
		assert_int_equal(wc_AesGcmSetKey(&aes, key, (word32)key_len), 0);

		memset(out, 0xa5, sizeof(out));
		memset(out_tag, 0xa5, sizeof(out_tag));
		int rc = wc_AesGcmEncrypt(&aes, pt_len ? out : NULL, pt_len ? pt : NULL,
					  (word32)pt_len, iv, (word32)iv_len,
					  out_tag, (word32)tag_len,
					  aad_len ? aad : NULL, (word32)aad_len);
		if (rc != 0)
			print_error("%s: wc_AesGcmEncrypt returned %d\n", tv->name, rc);
		assert_int_equal(rc, 0);
		assert_memory_equal(out, ct, ct_len);
		assert_memory_equal(out_tag, tag, tag_len);

		memset(back, 0, sizeof(back));
		rc = wc_AesGcmDecrypt(&aes, pt_len ? back : NULL, ct_len ? ct : NULL,
				      (word32)ct_len, iv, (word32)iv_len,
				      tag, (word32)tag_len,
				      aad_len ? aad : NULL, (word32)aad_len);
		if (rc != 0)
			print_error("%s: wc_AesGcmDecrypt returned %d\n", tv->name, rc);
		assert_int_equal(rc, 0);
		assert_memory_equal(back, pt, pt_len);

		wc_AesFree(&aes);
	}
}

/* A flipped tag bit, ciphertext bit or AAD bit must fail authentication. */
static void test_aes128_gcm_rejects_tampering(void **state)
{
	(void)state;
	const struct gcm_vector *tv = &gcm_vectors[3];
	uint8_t key[16], iv[12], aad[32], ct[64], tag[16], back[64];
	unhex(tv->key, key, sizeof(key));
	unhex(tv->iv, iv, sizeof(iv));
	size_t aad_len = unhex(tv->aad, aad, sizeof(aad));
	size_t ct_len = unhex(tv->ct, ct, sizeof(ct));
	unhex(tv->tag, tag, sizeof(tag));

	Aes aes;
	assert_int_equal(wc_AesInit(&aes, NULL, INVALID_DEVID), 0);
	assert_int_equal(wc_AesGcmSetKey(&aes, key, sizeof(key)), 0);

	tag[15] ^= 0x01;
	assert_int_equal(wc_AesGcmDecrypt(&aes, back, ct, (word32)ct_len, iv, sizeof(iv),
					  tag, sizeof(tag), aad, (word32)aad_len),
			 AES_GCM_AUTH_E);
	tag[15] ^= 0x01;

	ct[7] ^= 0x80;
	assert_int_equal(wc_AesGcmDecrypt(&aes, back, ct, (word32)ct_len, iv, sizeof(iv),
					  tag, sizeof(tag), aad, (word32)aad_len),
			 AES_GCM_AUTH_E);
	ct[7] ^= 0x80;

	aad[0] ^= 0x01;
	assert_int_equal(wc_AesGcmDecrypt(&aes, back, ct, (word32)ct_len, iv, sizeof(iv),
					  tag, sizeof(tag), aad, (word32)aad_len),
			 AES_GCM_AUTH_E);
	aad[0] ^= 0x01;

	assert_int_equal(wc_AesGcmDecrypt(&aes, back, ct, (word32)ct_len, iv, sizeof(iv),
					  tag, sizeof(tag), aad, (word32)aad_len),
			 0);
	wc_AesFree(&aes);
}

static bool cpu_has_aesni(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned int a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d))
		return false;
	return (c & bit_AES) != 0;
#else
	return false;
#endif
}

/* On a CPU with AES-NI, the key schedule must select the AES-NI code path. */
static void test_aesni_path_selected(void **state)
{
	(void)state;
	if (!cpu_has_aesni()) {
		print_message("# CPU has no AES-NI; wolfSSL uses its C AES here\n");
		skip();
	}
#ifdef WOLFSSL_AESNI
	static const uint8_t key[16] = { 0 };
	Aes aes;
	assert_int_equal(wc_AesInit(&aes, NULL, INVALID_DEVID), 0);
	assert_int_equal(wc_AesGcmSetKey(&aes, key, sizeof(key)), 0);
	assert_int_equal(aes.use_aesni, 1);
	wc_AesFree(&aes);
#else
	fail_msg("WOLFSSL_AESNI is not defined in this wolfSSL build");
#endif
}

/* ------------------------------------------------------- TLS API surface */

#ifdef TLS_BUILD_COMPLETE

static void test_tls_features_usable(void **state)
{
	(void)state;
	/* server side: CRL checking, SNI, AES-GCM-only TLS 1.3 suites */
	WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfTLSv1_3_server_method());
	assert_non_null(ctx);
	assert_int_equal(wolfSSL_CTX_EnableCRL(ctx, WOLFSSL_CRL_CHECKALL), WOLFSSL_SUCCESS);
	assert_int_equal(wolfSSL_CTX_UseSNI(ctx, WOLFSSL_SNI_HOST_NAME, "weft.test", 9),
			 WOLFSSL_SUCCESS);
	assert_int_equal(wolfSSL_CTX_set_cipher_list(ctx, "TLS13-AES128-GCM-SHA256:"
							  "TLS13-AES256-GCM-SHA384"),
			 WOLFSSL_SUCCESS);
	wolfSSL_CTX_free(ctx);

	/* client side: ALPN, SNI, session tickets (a server WOLFSSL needs its
	 * certificate first; the handshake test covers that side) */
	ctx = wolfSSL_CTX_new(wolfTLSv1_3_client_method());
	assert_non_null(ctx);
	WOLFSSL *ssl = wolfSSL_new(ctx);
	assert_non_null(ssl);
	char alpn[] = "h2,http/1.1";
	assert_int_equal(wolfSSL_UseALPN(ssl, alpn, (unsigned int)strlen(alpn),
					 WOLFSSL_ALPN_FAILED_ON_MISMATCH),
			 WOLFSSL_SUCCESS);
	assert_int_equal(wolfSSL_UseSNI(ssl, WOLFSSL_SNI_HOST_NAME, "weft.test", 9),
			 WOLFSSL_SUCCESS);
	assert_int_equal(wolfSSL_UseSessionTicket(ssl), WOLFSSL_SUCCESS);
	wolfSSL_free(ssl);
	wolfSSL_CTX_free(ctx);
}

/* ------------------------------------------- TLS 1.3 handshake in memory */

#define SPIFFE_ID "spiffe://weft.test/ns/default/sa/web"
#define DNS_NAME "weft.test"

struct pipe {
	uint8_t buf[1 << 16];
	size_t len;
};

static int pipe_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	(void)ssl;
	struct pipe *p = ctx;
	if (p->len == 0)
		return WOLFSSL_CBIO_ERR_WANT_READ;
	size_t n = (size_t)sz < p->len ? (size_t)sz : p->len;
	memcpy(buf, p->buf, n);
	memmove(p->buf, p->buf + n, p->len - n);
	p->len -= n;
	return (int)n;
}

static int pipe_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	(void)ssl;
	struct pipe *p = ctx;
	size_t room = sizeof(p->buf) - p->len;
	if (room == 0)
		return WOLFSSL_CBIO_ERR_WANT_WRITE;
	size_t n = (size_t)sz < room ? (size_t)sz : room;
	memcpy(p->buf + p->len, buf, n);
	p->len += n;
	return (int)n;
}

/* GeneralNames { uniformResourceIdentifier, dNSName }, DER. */
static int encode_san(uint8_t *out, size_t cap)
{
	const size_t ulen = strlen(SPIFFE_ID), dlen = strlen(DNS_NAME);
	const size_t body = 2 + ulen + 2 + dlen;
	assert_true(body < 128 && body + 2 <= cap);
	size_t i = 0;
	out[i++] = 0x30; /* SEQUENCE */
	out[i++] = (uint8_t)body;
	out[i++] = 0x86; /* [6] IA5String uniformResourceIdentifier */
	out[i++] = (uint8_t)ulen;
	memcpy(out + i, SPIFFE_ID, ulen);
	i += ulen;
	out[i++] = 0x82; /* [2] IA5String dNSName */
	out[i++] = (uint8_t)dlen;
	memcpy(out + i, DNS_NAME, dlen);
	i += dlen;
	return (int)i;
}

struct identity {
	uint8_t cert[2048];
	int cert_len;
	uint8_t key[256];
	int key_len;
};

/* Self-signed P-256 certificate with the SPIFFE ID and DNS name as SANs. */
static void make_identity(struct identity *id)
{
	WC_RNG rng;
	ecc_key key;
	Cert *cert = calloc(1, sizeof(*cert));
	assert_non_null(cert);

	assert_int_equal(wc_InitRng(&rng), 0);
	assert_int_equal(wc_ecc_init(&key), 0);
	assert_int_equal(wc_ecc_make_key(&rng, 32, &key), 0);
	assert_int_equal(wc_ecc_set_rng(&key, &rng), 0);

	assert_int_equal(wc_InitCert(cert), 0);
	snprintf(cert->subject.commonName, CTC_NAME_SIZE, "%s", DNS_NAME);
	snprintf(cert->subject.org, CTC_NAME_SIZE, "%s", "weft unit tests");
	cert->sigType = CTC_SHA256wECDSA;
	cert->daysValid = 2;
	cert->isCA = 1; /* its own trust anchor */
	cert->altNamesSz = encode_san(cert->altNames, sizeof(cert->altNames));

	int rc = wc_MakeCert(cert, id->cert, sizeof(id->cert), NULL, &key, &rng);
	assert_true(rc > 0);
	rc = wc_SignCert(cert->bodySz, cert->sigType, id->cert, sizeof(id->cert),
			 NULL, &key, &rng);
	assert_true(rc > 0);
	id->cert_len = rc;

	rc = wc_EccKeyToDer(&key, id->key, sizeof(id->key));
	assert_true(rc > 0);
	id->key_len = rc;

	wc_ecc_free(&key);
	wc_FreeRng(&rng);
	free(cert);
}

static bool io_pending(WOLFSSL *ssl, int rc)
{
	int err = wolfSSL_get_error(ssl, rc);
	if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE)
		return true;
	char msg[WOLFSSL_MAX_ERROR_SZ];
	print_error("TLS error %d: %s\n", err, wolfSSL_ERR_error_string((unsigned long)err, msg));
	return false;
}

static void test_tls13_handshake_in_memory(void **state)
{
	(void)state;
	struct identity *id = calloc(1, sizeof(*id));
	struct pipe *c2s = calloc(1, sizeof(*c2s));
	struct pipe *s2c = calloc(1, sizeof(*s2c));
	assert_non_null(id);
	assert_non_null(c2s);
	assert_non_null(s2c);
	make_identity(id);

	/* server */
	WOLFSSL_CTX *sctx = wolfSSL_CTX_new(wolfTLSv1_3_server_method());
	assert_non_null(sctx);
	assert_int_equal(wolfSSL_CTX_use_certificate_buffer(sctx, id->cert, id->cert_len,
							    WOLFSSL_FILETYPE_ASN1),
			 WOLFSSL_SUCCESS);
	assert_int_equal(wolfSSL_CTX_use_PrivateKey_buffer(sctx, id->key, id->key_len,
							   WOLFSSL_FILETYPE_ASN1),
			 WOLFSSL_SUCCESS);
	assert_int_equal(wolfSSL_CTX_set_cipher_list(sctx, "TLS13-AES128-GCM-SHA256"),
			 WOLFSSL_SUCCESS);
	assert_int_equal(wolfSSL_CTX_UseSNI(sctx, WOLFSSL_SNI_HOST_NAME, DNS_NAME,
					    (unsigned short)strlen(DNS_NAME)),
			 WOLFSSL_SUCCESS);

	/* client */
	WOLFSSL_CTX *cctx = wolfSSL_CTX_new(wolfTLSv1_3_client_method());
	assert_non_null(cctx);
	assert_int_equal(wolfSSL_CTX_load_verify_buffer(cctx, id->cert, id->cert_len,
							WOLFSSL_FILETYPE_ASN1),
			 WOLFSSL_SUCCESS);
	wolfSSL_CTX_set_verify(cctx, WOLFSSL_VERIFY_PEER, NULL);
	assert_int_equal(wolfSSL_CTX_set_cipher_list(cctx, "TLS13-AES128-GCM-SHA256"),
			 WOLFSSL_SUCCESS);

	WOLFSSL *s = wolfSSL_new(sctx);
	WOLFSSL *c = wolfSSL_new(cctx);
	assert_non_null(s);
	assert_non_null(c);
	wolfSSL_SSLSetIORecv(s, pipe_recv);
	wolfSSL_SSLSetIOSend(s, pipe_send);
	wolfSSL_SetIOReadCtx(s, c2s);
	wolfSSL_SetIOWriteCtx(s, s2c);
	wolfSSL_SSLSetIORecv(c, pipe_recv);
	wolfSSL_SSLSetIOSend(c, pipe_send);
	wolfSSL_SetIOReadCtx(c, s2c);
	wolfSSL_SetIOWriteCtx(c, c2s);

	char server_alpn[] = "h2,http/1.1";
	char client_alpn[] = "h2";
	assert_int_equal(wolfSSL_UseALPN(s, server_alpn, (unsigned int)strlen(server_alpn),
					 WOLFSSL_ALPN_FAILED_ON_MISMATCH),
			 WOLFSSL_SUCCESS);
	assert_int_equal(wolfSSL_UseALPN(c, client_alpn, (unsigned int)strlen(client_alpn),
					 WOLFSSL_ALPN_FAILED_ON_MISMATCH),
			 WOLFSSL_SUCCESS);
	assert_int_equal(wolfSSL_UseSNI(c, WOLFSSL_SNI_HOST_NAME, DNS_NAME,
					(unsigned short)strlen(DNS_NAME)),
			 WOLFSSL_SUCCESS);
	assert_int_equal(wolfSSL_check_domain_name(c, DNS_NAME), WOLFSSL_SUCCESS);
	assert_int_equal(wolfSSL_UseSessionTicket(c), WOLFSSL_SUCCESS);

	bool c_done = false, s_done = false;
	for (int round = 0; round < 32 && !(c_done && s_done); round++) {
		if (!c_done) {
			int rc = wolfSSL_connect(c);
			if (rc == WOLFSSL_SUCCESS)
				c_done = true;
			else
				assert_true(io_pending(c, rc));
		}
		if (!s_done) {
			int rc = wolfSSL_accept(s);
			if (rc == WOLFSSL_SUCCESS)
				s_done = true;
			else
				assert_true(io_pending(s, rc));
		}
	}
	assert_true(c_done);
	assert_true(s_done);

	/* negotiated parameters */
	assert_string_equal(wolfSSL_get_version(c), "TLSv1.3");
	assert_string_equal(wolfSSL_get_cipher_name(c), "TLS13-AES128-GCM-SHA256");
	char *proto = NULL;
	unsigned short proto_len = 0;
	assert_int_equal(wolfSSL_ALPN_GetProtocol(s, &proto, &proto_len), WOLFSSL_SUCCESS);
	assert_int_equal(proto_len, 2);
	assert_memory_equal(proto, "h2", 2);
	void *sni = NULL;
	unsigned short sni_len = wolfSSL_SNI_GetRequest(s, WOLFSSL_SNI_HOST_NAME, &sni);
	assert_int_equal(sni_len, strlen(DNS_NAME));
	assert_memory_equal(sni, DNS_NAME, sni_len);

	/* the peer's SPIFFE ID through wolfSSL's own X.509 API */
	WOLFSSL_X509 *peer = wolfSSL_get_peer_certificate(c);
	assert_non_null(peer);
	bool found_uri = false, found_dns = false;
	for (char *name; (name = wolfSSL_X509_get_next_altname(peer)) != NULL;) {
		found_uri |= strcmp(name, SPIFFE_ID) == 0;
		found_dns |= strcmp(name, DNS_NAME) == 0;
	}
	wolfSSL_X509_free(peer);
	assert_true(found_uri);
	assert_true(found_dns);

	/* application data both ways; the client's first read also takes in
	 * the server's NewSessionTicket */
	assert_int_equal(wolfSSL_write(s, "ping", 4), 4);
	char buf[16];
	int n = 0;
	for (int round = 0; round < 8 && n <= 0; round++) {
		n = wolfSSL_read(c, buf, sizeof(buf));
		if (n <= 0)
			assert_true(io_pending(c, n));
	}
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "ping", 4);

	assert_int_equal(wolfSSL_write(c, "pong", 4), 4);
	n = 0;
	for (int round = 0; round < 8 && n <= 0; round++) {
		n = wolfSSL_read(s, buf, sizeof(buf));
		if (n <= 0)
			assert_true(io_pending(s, n));
	}
	assert_int_equal(n, 4);
	assert_memory_equal(buf, "pong", 4);

	uint8_t ticket[2048];
	word32 ticket_len = sizeof(ticket);
	assert_int_equal(wolfSSL_get_SessionTicket(c, ticket, &ticket_len), WOLFSSL_SUCCESS);
	assert_true(ticket_len > 0);

	wolfSSL_free(c);
	wolfSSL_free(s);
	wolfSSL_CTX_free(cctx);
	wolfSSL_CTX_free(sctx);
	free(s2c);
	free(c2s);
	free(id);
}

#else /* !TLS_BUILD_COMPLETE */

static void test_tls_features_usable(void **state)
{
	(void)state;
	fail_msg("this wolfSSL lacks features weft needs (see test_build_features)");
}

static void test_tls13_handshake_in_memory(void **state)
{
	(void)state;
	fail_msg("this wolfSSL lacks features weft needs (see test_build_features)");
}

#endif /* TLS_BUILD_COMPLETE */

/* ------------------------------------------------------------------ main */

static int group_setup(void **state)
{
	(void)state;
	return wolfSSL_Init() == WOLFSSL_SUCCESS ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	return wolfSSL_Cleanup() == WOLFSSL_SUCCESS ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_features),
		cmocka_unit_test(test_headers_match_library),
		cmocka_unit_test(test_aes128_gcm_vectors),
		cmocka_unit_test(test_aes128_gcm_rejects_tampering),
		cmocka_unit_test(test_aesni_path_selected),
		cmocka_unit_test(test_tls_features_usable),
		cmocka_unit_test(test_tls13_handshake_in_memory),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
