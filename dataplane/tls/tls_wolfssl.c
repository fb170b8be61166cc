/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The wolfSSL engine behind dataplane/tls/tls.h. Every wolfSSL call in weft
 * is in this file.
 *
 * Choices worth knowing:
 *
 * - Certificates by SNI without the OpenSSL compatibility layer. wolfSSL
 *   5.5.4 only builds its servername callback and wolfSSL_set_SSL_CTX with
 *   OPENSSL_ALL (or the stunnel/nginx/haproxy compatibility sets). weft does
 *   not need them: a server connection reads the whole ClientHello itself
 *   (clienthello.c) before creating the WOLFSSL object, then creates it from
 *   the WOLFSSL_CTX of the certificate that the SNI selects. Each
 *   certificate of a listener has its own WOLFSSL_CTX with identical
 *   settings. The same peek yields the client's ALPN list, so the server's
 *   preference order decides (wolfSSL would take the client's).
 *
 * - Session tickets. weft seals tickets itself (wolfSSL's ticket callback)
 *   with AES-256-GCM under keys from the shared keyring. wolfSSL's ticket
 *   does not carry the peer certificate, so a resumed mTLS connection would
 *   have no principal; weft appends the client's identity (SPIFFE ID,
 *   subject, DNS names, certificate hash and expiry) to the sealed plaintext,
 *   in the room that WOLFSSL_TICKET_EXTRA_PADDING_SZ (512 in weft's build)
 *   leaves. The additional data binds each ticket to its key name and to the
 *   scope: the listener, the certificate's names, the verify mode, the trust
 *   bundle and the CRL. A ticket from another listener, or from before a
 *   bundle or CRL change, does not open; the client gets a full handshake.
 *
 * - wolfSSL's internal session cache is off on servers (tickets carry the
 *   state, and the cache is global with a mutex per row). Clients keep it
 *   on, because wolfSSL_set_session() refuses sessions when it is off.
 *
 * - wolfSSL 5.5.4 quirks handled here: its TLS 1.3 server opens a ticket
 *   once per cipher suite it tries and wipes it each time (ticket_cb keeps
 *   the first answer); it accepts only RET_OK from the ticket callback in
 *   TLS 1.3; its TLS 1.2 client cannot tell that a server refused its
 *   ticket (RFC 5077 3.4) and fails on the full handshake that follows,
 *   which weft names TLS_ERR_RESUME_REFUSED so the caller can reconnect
 *   without the session; its TLS 1.2 server sends no alert when a required
 *   client certificate is missing (RFC 5246 7.4.6 allows that).
 *
 * - Writes never leave a half-sent record inside wolfSSL: tls_write()
 *   encrypts a record only when the output queue has room for all of it,
 *   so application data is never retried with wolfSSL's "same buffer
 *   again" rule. (If it ever happens anyway, the remainder is flushed with
 *   that rule: see wpending.)
 */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/aes.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/coding.h>
#include <wolfssl/wolfcrypt/cpuid.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/error-ssl.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dataplane/counters.h"
#include "dataplane/tls/clienthello.h"
#include "dataplane/tls/tls.h"
#include "dataplane/tls/x509.h"
#include "policy/identity.h"

#ifndef WOLFSSL_TICKET_EXTRA_PADDING_SZ
#define WOLFSSL_TICKET_EXTRA_PADDING_SZ 32 /* wolfSSL's default */
#endif
#define TICKET_ROOM WOLFSSL_TICKET_EXTRA_PADDING_SZ

#define QUEUE_DEFAULT (32u << 10)
#define RECORD_MAX 16384      /* plaintext per record (RFC 8446 5.1) */
#define RECORD_OVERHEAD 64    /* header 5 + explicit nonce 8 + tag 16 + inner type 1, rounded up */
#define SOURCE_MAX (4u << 20) /* largest PEM file read */
#define CIPHERS                                                                                    \
	"TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:TLS13-CHACHA20-POLY1305-SHA256:"          \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"                               \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"                               \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* ------------------------------------------------------------- names */

#define TLS_X_NAME(e, n, h) n,
#define TLS_X_HELP(e, n, h) h,
static const char *const err_names[] = { TLS_ERRORS(TLS_X_NAME) };
static const char *const err_helps[] = { TLS_ERRORS(TLS_X_HELP) };
#undef TLS_X_NAME
#undef TLS_X_HELP

#define TLS_X_SNAME(f, h) #f,
#define TLS_X_SHELP(f, h) h,
const char *const tls_stat_name[] = { TLS_STATS(TLS_X_SNAME) };
const char *const tls_stat_help[] = { TLS_STATS(TLS_X_SHELP) };
const unsigned tls_stat_count = sizeof(tls_stat_name) / sizeof(tls_stat_name[0]);
#undef TLS_X_SNAME
#undef TLS_X_SHELP

const char *tls_err_name(enum tls_err e)
{
	return e < TLS_ERR_MAX ? err_names[e] : "?";
}

const char *tls_err_help(enum tls_err e)
{
	return e < TLS_ERR_MAX ? err_helps[e] : "?";
}

const char *tls_status_name(enum tls_status s)
{
	switch (s) {
	case TLS_DONE:
		return "done";
	case TLS_WANT_READ:
		return "want_read";
	case TLS_WANT_WRITE:
		return "want_write";
	case TLS_CLOSED:
		return "closed";
	case TLS_ERROR:
		return "error";
	}
	return "?";
}

/* ------------------------------------------------------------- clock */

static int64_t (*clock_fn)(void);

void tls_set_clock(int64_t (*now)(void))
{
	clock_fn = now;
}

static int64_t now_s(void)
{
	return clock_fn ? clock_fn() : (int64_t)time(NULL);
}

/* ------------------------------------------------------- byte queues */

/* A bounded ring; storage allocated on first use. */
struct bq {
	uint8_t *buf;
	size_t cap, head, len;
};

static int bq_alloc(struct bq *q)
{
	if (q->buf == NULL) {
		q->buf = malloc(q->cap);
		if (q->buf == NULL)
			return -1;
		q->head = q->len = 0;
	}
	return 0;
}

static void bq_free(struct bq *q)
{
	free(q->buf);
	q->buf = NULL;
	q->head = q->len = 0;
}

static size_t bq_room(const struct bq *q)
{
	return q->cap - q->len;
}

static size_t bq_put(struct bq *q, const void *data, size_t n)
{
	if (n > bq_room(q))
		n = bq_room(q);
	if (n == 0 || bq_alloc(q))
		return 0;
	size_t tail = (q->head + q->len) % q->cap;
	size_t first = q->cap - tail < n ? q->cap - tail : n;
	memcpy(q->buf + tail, data, first);
	memcpy(q->buf, (const uint8_t *)data + first, n - first);
	q->len += n;
	return n;
}

static const uint8_t *bq_peek(const struct bq *q, size_t *n)
{
	if (q->len == 0) {
		*n = 0;
		return NULL;
	}
	size_t run = q->cap - q->head;
	*n = run < q->len ? run : q->len;
	return q->buf + q->head;
}

static void bq_consume(struct bq *q, size_t n)
{
	if (n > q->len)
		n = q->len;
	q->head = (q->head + n) % q->cap;
	q->len -= n;
	if (q->len == 0)
		q->head = 0;
}

static size_t bq_get(struct bq *q, void *dst, size_t n)
{
	size_t done = 0;
	while (done < n && q->len > 0) {
		size_t run;
		const uint8_t *p = bq_peek(q, &run);
		if (run > n - done)
			run = n - done;
		memcpy((uint8_t *)dst + done, p, run);
		bq_consume(q, run);
		done += run;
	}
	return done;
}

/* --------------------------------------------------------- ticket keys */

struct ticket_key {
	uint8_t name[16];
	uint8_t key[32];
};

struct tls_ticket_keys {
	struct ticket_key cur, prev;
	bool has_prev;
};

struct tls_ticket_keyring {
	/* Written by the management thread with a release store; read by the
	 * workers' ticket callbacks with an acquire load, which orders the key
	 * bytes written before publication ahead of their use. */
	_Atomic(const struct tls_ticket_keys *) gen;
	uint32_t lifetime_s;
	WC_RNG rng; /* management thread only */
};

static int make_key(WC_RNG *rng, struct ticket_key *k)
{
	static const uint8_t zero[16];
	do {
		if (wc_RNG_GenerateBlock(rng, k->name, sizeof(k->name)) != 0)
			return -1;
	} while (memcmp(k->name, zero, sizeof(zero)) == 0); /* wolfSSL refuses an all-zero name */
	return wc_RNG_GenerateBlock(rng, k->key, sizeof(k->key)) == 0 ? 0 : -1;
}

struct tls_ticket_keyring *tls_ticket_keyring_new(uint32_t lifetime_s, char *err, size_t errlen)
{
	struct tls_ticket_keyring *r = calloc(1, sizeof(*r));
	struct tls_ticket_keys *k = calloc(1, sizeof(*k));
	if (r == NULL || k == NULL) {
		snprintf(err, errlen, "ticket keys: out of memory");
		goto fail;
	}
	if (wc_InitRng(&r->rng) != 0) {
		snprintf(err, errlen, "ticket keys: cannot seed the random generator");
		goto fail;
	}
	if (make_key(&r->rng, &k->cur)) {
		snprintf(err, errlen, "ticket keys: random generator failed");
		wc_FreeRng(&r->rng);
		goto fail;
	}
	r->lifetime_s = lifetime_s ? lifetime_s : 3600;
	atomic_store_explicit(&r->gen, k, memory_order_release);
	return r;
fail:
	free(r);
	free(k);
	return NULL;
}

const struct tls_ticket_keys *tls_ticket_keyring_rotate(struct tls_ticket_keyring *r)
{
	struct tls_ticket_keys *k = calloc(1, sizeof(*k));
	if (k == NULL || make_key(&r->rng, &k->cur)) {
		free(k);
		return NULL;
	}
	const struct tls_ticket_keys *old = atomic_load_explicit(&r->gen, memory_order_relaxed);
	k->prev = old->cur;
	k->has_prev = true;
	/* Release: the new keys are complete before any worker can see them. */
	atomic_store_explicit(&r->gen, k, memory_order_release);
	return old;
}

void tls_ticket_keys_free(const struct tls_ticket_keys *k)
{
	if (k == NULL)
		return;
	struct tls_ticket_keys *m = (struct tls_ticket_keys *)(uintptr_t)k;
	explicit_bzero(m, sizeof(*m));
	free(m);
}

void tls_ticket_keyring_free(struct tls_ticket_keyring *r)
{
	if (r == NULL)
		return;
	tls_ticket_keys_free(atomic_load_explicit(&r->gen, memory_order_relaxed));
	wc_FreeRng(&r->rng);
	free(r);
}

/* ------------------------------------------------------------ contexts */

struct tls_entry {
	WOLFSSL_CTX *wctx;
	struct tls_ctx *ctx;
	unsigned index;
	unsigned n_names;
	char names[TLS_MAX_NAMES][256]; /* lowercase; "*.example.com" for a wildcard */
	uint8_t scope[32];              /* ticket additional data (see the file comment) */
	struct tls_cert_info info;
};

struct tls_ctx {
	atomic_uint refs;
	enum tls_role role;
	enum tls_verify verify;
	unsigned n_entries;
	struct tls_entry *entries; /* server: one per certificate; client: exactly one */
	unsigned n_alpn;
	char alpn[8][64];     /* server preference order */
	char alpn_list[512];  /* "h2,http/1.1" as wolfSSL's client API takes it */
	char server_name[256];
	struct principal_list *verify_ids; /* client: SPIFFE patterns among verify_names */
	unsigned n_verify_dns;
	char verify_dns[TLS_MAX_NAMES][256];
	struct tls_ticket_keyring *tickets;
	uint32_t lifetime_s;
	uint8_t digest[32];
};

struct tls_worker {
	WC_RNG rng;
	struct tls_stats stats;
};

struct tls_session {
	WOLFSSL_SESSION *ws;
	uint8_t *blob; /* the server's identity, as verified when the session was made */
	size_t blob_len;
};

struct tls_conn {
	WOLFSSL *ssl;
	struct tls_ctx *ctx;
	struct tls_worker *w;
	const struct tls_entry *entry;
	struct tls_transport tp;
	bool has_tp;
	bool eof;         /* the transport said the peer closed (FIN) */
	bool established;
	bool failed;
	bool closed_in;   /* close_notify received */
	bool shutdown_sent;
	bool resumed;
	bool tried_resume; /* client: a session was offered */
	const void *tk_seen; /* server: the ticket last opened, the answer, the plaintext */
	int tk_seen_len, tk_ret, tk_out_len;
	uint8_t *tk_plain;
	enum tls_err err;
	size_t wpending;  /* plaintext of a record wolfSSL holds half-sent (see file comment) */
	struct bq in, out;
	char sni[TLS_CH_SNI_MAX + 1];
	char alpn[256];
	char server_name[256];
	char detail[160];
	uint8_t *blob;        /* the peer's identity (see struct identity blob below) */
	size_t blob_len;
	uint8_t *ticket_blob; /* server: identity read from a ticket, used if resumption succeeds */
	size_t ticket_blob_len;
	struct tls_peer peer;
};

/* ------------------------------------------------------- identity blob */

/*
 * The peer's identity in one buffer, so it can be sealed into a ticket and
 * pointed into by struct tls_peer. Strings keep their NUL.
 *   u8 version (1) | i64 not_after | u8[32] sha256 |
 *   u16 len, subject, NUL | u8 n_uri, (u16 len, uri, NUL)* | u8 n_dns, (u16 len, dns, NUL)*
 */
#define BLOB_VERSION 1

struct wbuf {
	uint8_t *p;
	size_t cap, len;
	bool over;
};

static void wput(struct wbuf *b, const void *d, size_t n)
{
	if (b->over || b->cap - b->len < n) {
		b->over = true;
		return;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void wput_u8(struct wbuf *b, uint8_t v)
{
	wput(b, &v, 1);
}

static void wput_u16(struct wbuf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };
	wput(b, x, 2);
}

static void wput_i64(struct wbuf *b, int64_t v)
{
	uint8_t x[8];
	for (int i = 0; i < 8; i++)
		x[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
	wput(b, x, 8);
}

static void wput_str(struct wbuf *b, const char *s, size_t n)
{
	wput_u16(b, (uint16_t)n);
	wput(b, s, n);
	wput_u8(b, 0);
}

static bool printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

/* Builds the blob from a DER certificate. Returns a malloc'd buffer or NULL. */
static uint8_t *blob_from_der(const uint8_t *der, size_t der_len, size_t *out_len)
{
	struct tls_x509 x;
	if (tls_x509_parse(der, der_len, &x))
		return NULL;
	uint8_t hash[WC_SHA256_DIGEST_SIZE];
	if (wc_Sha256Hash(der, (word32)der_len, hash) != 0)
		return NULL;
	size_t cap = 64 + strlen(x.subject);
	unsigned n_uri = 0, n_dns = 0;
	for (unsigned i = 0; i < x.n_uri && n_uri < TLS_PEER_MAX_NAMES; i++)
		if (x.uri[i].len <= SPIFFE_ID_MAX && printable(x.uri[i].p, x.uri[i].len)) {
			cap += x.uri[i].len + 3;
			n_uri++;
		}
	for (unsigned i = 0; i < x.n_dns && n_dns < TLS_PEER_MAX_NAMES; i++)
		if (x.dns[i].len <= 255 && printable(x.dns[i].p, x.dns[i].len)) {
			cap += x.dns[i].len + 3;
			n_dns++;
		}
	struct wbuf b = { .p = malloc(cap), .cap = cap };
	if (b.p == NULL)
		return NULL;
	wput_u8(&b, BLOB_VERSION);
	wput_i64(&b, x.not_after);
	wput(&b, hash, sizeof(hash));
	wput_str(&b, x.subject, strlen(x.subject));
	/* X509-SVID 2: the SPIFFE ID is "the" URI SAN; a certificate with several
	 * keeps them all for XFCC, and tls_conn_peer() reports no SPIFFE ID. */
	wput_u8(&b, (uint8_t)(x.uri_total > TLS_PEER_MAX_NAMES ? 0xff : n_uri));
	for (unsigned i = 0, k = 0; i < x.n_uri && k < n_uri; i++)
		if (x.uri[i].len <= SPIFFE_ID_MAX && printable(x.uri[i].p, x.uri[i].len)) {
			wput_str(&b, x.uri[i].p, x.uri[i].len);
			k++;
		}
	wput_u8(&b, (uint8_t)n_dns);
	for (unsigned i = 0, k = 0; i < x.n_dns && k < n_dns; i++)
		if (x.dns[i].len <= 255 && printable(x.dns[i].p, x.dns[i].len)) {
			wput_str(&b, x.dns[i].p, x.dns[i].len);
			k++;
		}
	if (b.over) {
		free(b.p);
		return NULL;
	}
	*out_len = b.len;
	return b.p;
}

struct rbuf {
	const uint8_t *p;
	size_t left;
	bool bad;
};

static const uint8_t *rget(struct rbuf *r, size_t n)
{
	if (r->bad || r->left < n) {
		r->bad = true;
		return NULL;
	}
	const uint8_t *p = r->p;
	r->p += n;
	r->left -= n;
	return p;
}

static unsigned rget_u8(struct rbuf *r)
{
	const uint8_t *p = rget(r, 1);
	return p ? p[0] : 0;
}

static unsigned rget_u16(struct rbuf *r)
{
	const uint8_t *p = rget(r, 2);
	return p ? (unsigned)(p[0] << 8 | p[1]) : 0;
}

static int64_t rget_i64(struct rbuf *r)
{
	const uint8_t *p = rget(r, 8);
	uint64_t v = 0;
	for (int i = 0; p && i < 8; i++)
		v = v << 8 | p[i];
	return (int64_t)v;
}

static const char *rget_str(struct rbuf *r)
{
	size_t n = rget_u16(r);
	const uint8_t *p = rget(r, n + 1);
	if (p == NULL || p[n] != '\0' || memchr(p, '\0', n) != NULL) {
		r->bad = true;
		return NULL;
	}
	return (const char *)p;
}

/* Fills peer from a blob (pointing into it). Returns 0 or -1 if it is malformed. */
static int blob_to_peer(const uint8_t *blob, size_t len, struct tls_peer *peer)
{
	struct rbuf r = { .p = blob, .left = len, .bad = false };
	memset(peer, 0, sizeof(*peer));
	if (rget_u8(&r) != BLOB_VERSION)
		return -1;
	peer->not_after = rget_i64(&r);
	const uint8_t *h = rget(&r, 32);
	if (h != NULL)
		memcpy(peer->sha256, h, 32);
	peer->subject = rget_str(&r);
	unsigned n_uri = rget_u8(&r);
	bool many_uris = n_uri == 0xff;
	if (many_uris)
		n_uri = 0;
	if (n_uri > TLS_PEER_MAX_NAMES)
		return -1;
	for (unsigned i = 0; i < n_uri; i++)
		peer->uri[i] = rget_str(&r);
	unsigned n_dns = rget_u8(&r);
	if (n_dns > TLS_PEER_MAX_NAMES)
		return -1;
	for (unsigned i = 0; i < n_dns; i++)
		peer->dns[i] = rget_str(&r);
	if (r.bad || r.left != 0)
		return -1;
	peer->n_uri = n_uri;
	peer->n_dns = n_dns;
	if (n_uri == 1 && !many_uris && spiffe_id_parse(peer->uri[0], strlen(peer->uri[0]), NULL, NULL) == 0)
		peer->spiffe_id = peer->uri[0];
	peer->present = true;
	return 0;
}

/* --------------------------------------------------------- errors */

static const char *alert_name(int code)
{
	switch (code) {
	case 0: return "close_notify";
	case 10: return "unexpected_message";
	case 20: return "bad_record_mac";
	case 22: return "record_overflow";
	case 40: return "handshake_failure";
	case 42: return "bad_certificate";
	case 43: return "unsupported_certificate";
	case 44: return "certificate_revoked";
	case 45: return "certificate_expired";
	case 46: return "certificate_unknown";
	case 47: return "illegal_parameter";
	case 48: return "unknown_ca";
	case 50: return "decode_error";
	case 51: return "decrypt_error";
	case 70: return "protocol_version";
	case 71: return "insufficient_security";
	case 80: return "internal_error";
	case 86: return "inappropriate_fallback";
	case 109: return "missing_extension";
	case 112: return "unrecognized_name";
	case 116: return "certificate_required";
	case 120: return "no_application_protocol";
	}
	return "?";
}

static enum tls_err map_lib_error(const struct tls_conn *c, int e)
{
	/* wolfSSL 5.5.4's TLS 1.2 client takes any ServerHello as accepting its
	 * ticket (it ignores RFC 5077 3.4) and then chokes on the Certificate
	 * of the full handshake the server chose instead. */
	if (e == OUT_OF_ORDER_E && c->tried_resume && !c->established && wolfSSL_GetVersion(c->ssl) != WOLFSSL_TLSV1_3)
		return TLS_ERR_RESUME_REFUSED;
	switch (e) {
	case ASN_AFTER_DATE_E:
		return TLS_ERR_PEER_CERT_EXPIRED;
	case ASN_BEFORE_DATE_E:
		return TLS_ERR_PEER_CERT_NOT_YET_VALID;
	case ASN_NO_SIGNER_E:
	case ASN_SELF_SIGNED_E:
		return TLS_ERR_PEER_CERT_UNKNOWN_CA;
	case CRL_CERT_REVOKED:
		return TLS_ERR_PEER_CERT_REVOKED;
	case CRL_MISSING:
	case CRL_CERT_DATE_ERR:
	case ASN_SIG_CONFIRM_E:
	case ASN_PARSE_E:
	case SIG_VERIFY_E:
	case ASN_PATHLEN_SIZE_E:
	case ASN_PATHLEN_INV_E:
		return TLS_ERR_PEER_CERT_BAD;
	case NO_PEER_CERT:
		return TLS_ERR_PEER_CERT_MISSING;
	case FATAL_ERROR:
		return TLS_ERR_PEER_ALERT;
	case VERSION_ERROR:
		return TLS_ERR_VERSION;
	case MATCH_SUITE_ERROR:
	case UNSUPPORTED_SUITE:
		return TLS_ERR_CIPHER;
	case UNKNOWN_ALPN_PROTOCOL_NAME_E:
		return TLS_ERR_ALPN;
	case VERIFY_MAC_ERROR:
	case DECRYPT_ERROR:
	case AES_GCM_AUTH_E:
	case MAC_CMP_FAILED_E:
		return TLS_ERR_DECRYPT;
	case SOCKET_PEER_CLOSED_E:
	case SOCKET_ERROR_E:
		return c->eof ? TLS_ERR_TRUNCATED : TLS_ERR_TRANSPORT;
	case MEMORY_E:
	case MEMORY_ERROR:
		return TLS_ERR_NO_MEMORY;
	case BUFFER_ERROR:
	case LENGTH_ERROR:
	case UNKNOWN_RECORD_TYPE:
	case OUT_OF_ORDER_E:
	case SANITY_MSG_E:
	case DUPLICATE_MSG_E:
	case INCOMPLETE_DATA:
	case BAD_BINDER:
	case EXT_MISSING:
	case INVALID_PARAMETER:
	case BAD_KEY_SHARE_DATA:
	case ECC_PEERKEY_ERROR:
	case PEER_KEY_ERROR:
	case PARSE_ERROR:
	case NO_PEER_VERIFY:
		return TLS_ERR_PROTOCOL;
	}
	return TLS_ERR_INTERNAL;
}

static enum tls_status fail(struct tls_conn *c, enum tls_err e, const char *detail)
{
	if (!c->failed) {
		c->failed = true;
		c->err = e;
		snprintf(c->detail, sizeof(c->detail), "%s", detail ? detail : "");
		WEFT_CTR_ADD(c->w->stats.errors[e], 1);
		if (!c->established)
			WEFT_CTR_ADD(c->w->stats.failed, 1);
	}
	return TLS_ERROR;
}

static enum tls_status fail_lib(struct tls_conn *c, int e)
{
	char msg[WOLFSSL_MAX_ERROR_SZ];
	char detail[sizeof(c->detail)];
	wolfSSL_ERR_error_string_n((unsigned long)e, msg, sizeof(msg));
	enum tls_err te = map_lib_error(c, e);
	if (te == TLS_ERR_PEER_ALERT) {
		WOLFSSL_ALERT_HISTORY h;
		if (wolfSSL_get_alert_history(c->ssl, &h) == WOLFSSL_SUCCESS) {
			snprintf(detail, sizeof(detail), "received fatal alert %d (%s)", h.last_rx.code,
				 alert_name(h.last_rx.code));
			return fail(c, te, detail);
		}
	}
	snprintf(detail, sizeof(detail), "wolfSSL %d: %s", e, msg);
	return fail(c, te, detail);
}

/* The status for a library call that returned rc (not success). */
static enum tls_status lib_status(struct tls_conn *c, int rc)
{
	int e = wolfSSL_get_error(c->ssl, rc);
	switch (e) {
	case WOLFSSL_ERROR_WANT_READ:
		if (c->eof)
			return fail(c, TLS_ERR_TRUNCATED, "the transport closed in the middle of a record or handshake");
		return TLS_WANT_READ;
	case WOLFSSL_ERROR_WANT_WRITE:
		return TLS_WANT_WRITE;
	case WOLFSSL_ERROR_ZERO_RETURN:
		return fail(c, TLS_ERR_PROTOCOL, "close_notify during the handshake");
	}
	return fail_lib(c, e);
}

/* ------------------------------------------------------------- I/O */

static int io_recv(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
	(void)ssl;
	struct tls_conn *c = arg;
	size_t n = bq_get(&c->in, buf, (size_t)sz);
	if (n < (size_t)sz && c->has_tp && !c->eof) {
		long r = c->tp.recv(c->tp.arg, buf + n, (size_t)sz - n);
		if (r > 0)
			n += (size_t)r;
		else if (r < 0)
			c->eof = true;
	}
	if (n > 0)
		return (int)n;
	return c->eof ? WOLFSSL_CBIO_ERR_CONN_CLOSE : WOLFSSL_CBIO_ERR_WANT_READ;
}

static int io_send(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
	(void)ssl;
	struct tls_conn *c = arg;
	size_t done = 0;
	/* Straight to the transport, unless older bytes wait in the queue. */
	if (c->has_tp && c->out.len == 0) {
		long r = c->tp.send(c->tp.arg, buf, (size_t)sz);
		if (r < 0)
			return WOLFSSL_CBIO_ERR_CONN_CLOSE;
		done = (size_t)r;
	}
	if (done < (size_t)sz)
		done += bq_put(&c->out, buf + done, (size_t)sz - done);
	return done > 0 ? (int)done : WOLFSSL_CBIO_ERR_WANT_WRITE;
}

/* Transport mode: move queued output to the transport. Returns -1 if it died. */
static int push_queued(struct tls_conn *c)
{
	while (c->has_tp && c->out.len > 0) {
		size_t run;
		const uint8_t *p = bq_peek(&c->out, &run);
		long r = c->tp.send(c->tp.arg, p, run);
		if (r < 0)
			return -1;
		if (r == 0)
			return 0;
		bq_consume(&c->out, (size_t)r);
	}
	if (c->has_tp && c->out.len == 0 && c->out.buf != NULL)
		bq_free(&c->out); /* spills are rare: do not keep the memory */
	return 0;
}

static enum tls_status flush_output(struct tls_conn *c)
{
	if (push_queued(c))
		return fail(c, TLS_ERR_TRANSPORT, "the transport refused output");
	if (c->wpending > 0) {
		/* wolfSSL's rule after WANT_WRITE: call again with the same length;
		 * it only flushes its buffer and does not read the data. */
		static const uint8_t unused;
		int rc = wolfSSL_write(c->ssl, &unused, (int)c->wpending);
		if (rc <= 0)
			return lib_status(c, rc);
		c->wpending = 0;
		if (push_queued(c))
			return fail(c, TLS_ERR_TRANSPORT, "the transport refused output");
	}
	/* queue mode: queued output is the caller's to send, not ours to wait for */
	return c->has_tp && c->out.len > 0 ? TLS_WANT_WRITE : TLS_DONE;
}

/* ---------------------------------------------------- ticket callback */

enum {
	TK_VERSION = 1,
	TK_PEER = 1 << 0,     /* the session had a verified peer certificate */
	TK_IDENTITY = 1 << 1, /* ... and its identity is in the ticket */
	TK_TRAILER = 1 + 1 + 8 + 2 + 2, /* version, flags, issued, blob len, internal len */
};

/* Identity for the ticket: built now if the handshake has not built it yet. */
static void ensure_blob(struct tls_conn *c);

static int ticket_aead(bool seal, const uint8_t key[32], const uint8_t *iv, uint8_t *tag,
		       const uint8_t *aad, size_t aad_len, uint8_t *data, size_t len)
{
	Aes aes;
	int rc = wc_AesInit(&aes, NULL, INVALID_DEVID);
	if (rc == 0)
		rc = wc_AesGcmSetKey(&aes, key, 32);
	if (rc == 0 && seal)
		rc = wc_AesGcmEncrypt(&aes, data, data, (word32)len, iv, 12, tag, 16, aad, (word32)aad_len);
	else if (rc == 0)
		rc = wc_AesGcmDecrypt(&aes, data, data, (word32)len, iv, 12, tag, 16, aad, (word32)aad_len);
	wc_AesFree(&aes);
	return rc;
}

/* key_name | iv | mac[16..32) | scope: everything in the ticket that is not sealed. */
static size_t ticket_aad(uint8_t *aad, const uint8_t *name, const uint8_t *iv, const uint8_t *mac,
			 const uint8_t *scope)
{
	memcpy(aad, name, 16);
	memcpy(aad + 16, iv, 16);
	memcpy(aad + 32, mac + 16, 16);
	memcpy(aad + 48, scope, 32);
	return 80;
}

/* The opened ticket holds the resumption secret: wipe it. */
static void clear_plain(struct tls_conn *c)
{
	if (c->tk_plain != NULL) {
		explicit_bzero(c->tk_plain, (size_t)c->tk_out_len);
		free(c->tk_plain);
		c->tk_plain = NULL;
	}
}

static int ticket_cb(WOLFSSL *ssl, unsigned char key_name[WOLFSSL_TICKET_NAME_SZ],
		     unsigned char iv[WOLFSSL_TICKET_IV_SZ], unsigned char mac[WOLFSSL_TICKET_MAC_SZ],
		     int enc, unsigned char *ticket, int in_len, int *out_len, void *user)
{
	const struct tls_entry *e = user;
	struct tls_conn *c = wolfSSL_GetIOReadCtx(ssl);
	struct tls_ticket_keyring *ring = e->ctx->tickets;
	if (c == NULL || ring == NULL || in_len < 0)
		return WOLFSSL_TICKET_RET_FATAL;
	/* Acquire: pairs with the release store in tls_ticket_keyring_rotate(). */
	const struct tls_ticket_keys *k = atomic_load_explicit(&ring->gen, memory_order_acquire);
	uint8_t aad[80];

	if (enc) {
		size_t il = (size_t)in_len;
		uint8_t *t = ticket + il;
		uint8_t flags = 0;
		size_t blob_len = 0;
		/* on a resumed connection the identity came with the old ticket */
		const uint8_t *id;
		size_t id_len;
		if (wolfSSL_session_reused(ssl)) {
			id = c->ticket_blob;
			id_len = c->ticket_blob_len;
		} else {
			ensure_blob(c);
			id = c->blob;
			id_len = c->blob_len;
		}
		if (id != NULL) {
			flags |= TK_PEER;
			if (id_len + TK_TRAILER <= TICKET_ROOM) {
				flags |= TK_IDENTITY;
				blob_len = id_len;
				memcpy(t, id, blob_len);
			}
		}
		struct wbuf b = { .p = t + blob_len, .cap = TK_TRAILER };
		wput_u8(&b, TK_VERSION);
		wput_u8(&b, flags);
		wput_i64(&b, now_s());
		wput_u16(&b, (uint16_t)blob_len);
		wput_u16(&b, (uint16_t)il);
		size_t total = il + blob_len + TK_TRAILER;

		memcpy(key_name, k->cur.name, 16);
		if (wc_RNG_GenerateBlock(&c->w->rng, iv, WOLFSSL_TICKET_IV_SZ) != 0 ||
		    wc_RNG_GenerateBlock(&c->w->rng, mac + 16, 16) != 0)
			return WOLFSSL_TICKET_RET_FATAL;
		size_t aad_len = ticket_aad(aad, key_name, iv, mac, e->scope);
		if (ticket_aead(true, k->cur.key, iv, mac, aad, aad_len, ticket, total) != 0)
			return WOLFSSL_TICKET_RET_FATAL;
		*out_len = (int)total;
		WEFT_CTR_ADD(c->w->stats.tickets_issued, 1);
		return WOLFSSL_TICKET_RET_OK;
	}

	/* wolfSSL 5.5.4's TLS 1.3 server opens the same ticket once per cipher
	 * suite it tries, in place, and wipes the plaintext after each look. The
	 * first answer stands for the others: a refusal is not counted again,
	 * and an opened ticket is put back as it was opened. */
	if (c->tk_seen == ticket && c->tk_seen_len == in_len) {
		if (c->tk_ret == WOLFSSL_TICKET_RET_OK) {
			memcpy(ticket, c->tk_plain, (size_t)c->tk_out_len);
			*out_len = c->tk_out_len;
		}
		return c->tk_ret;
	}
	c->tk_seen = ticket;
	c->tk_seen_len = in_len;
	c->tk_ret = WOLFSSL_TICKET_RET_REJECT;
	const struct ticket_key *key = NULL;
	bool previous = false;
	if (memcmp(key_name, k->cur.name, 16) == 0) {
		key = &k->cur;
	} else if (k->has_prev && memcmp(key_name, k->prev.name, 16) == 0) {
		key = &k->prev;
		previous = true;
	}
	size_t len = (size_t)in_len;
	if (key == NULL || len < TK_TRAILER)
		goto reject;
	size_t aad_len = ticket_aad(aad, key_name, iv, mac, e->scope);
	if (ticket_aead(false, key->key, iv, mac, aad, aad_len, ticket, len) != 0)
		goto reject;

	struct rbuf r = { .p = ticket + len - TK_TRAILER, .left = TK_TRAILER, .bad = false };
	unsigned version = rget_u8(&r), flags = rget_u8(&r);
	int64_t issued = rget_i64(&r);
	size_t blob_len = rget_u16(&r), il = rget_u16(&r);
	if (version != TK_VERSION || il + blob_len + TK_TRAILER != len)
		goto reject;
	int64_t now = now_s();
	if (now < issued || now - issued > (int64_t)e->ctx->lifetime_s)
		goto reject;
	if ((flags & TK_PEER) && !(flags & TK_IDENTITY))
		goto reject; /* the identity did not fit: a full handshake will establish it */
	if (!(flags & TK_PEER) && e->ctx->verify == TLS_VERIFY_REQUIRE)
		goto reject;
	free(c->ticket_blob);
	c->ticket_blob = NULL;
	c->ticket_blob_len = 0;
	if (flags & TK_IDENTITY) {
		struct tls_peer p;
		if (blob_to_peer(ticket + il, blob_len, &p) || p.not_after < now)
			goto reject; /* the client certificate expired since: authenticate again */
		c->ticket_blob = malloc(blob_len);
		if (c->ticket_blob == NULL)
			goto reject;
		memcpy(c->ticket_blob, ticket + il, blob_len);
		c->ticket_blob_len = blob_len;
	}
	clear_plain(c);
	c->tk_plain = malloc(il);
	if (c->tk_plain == NULL)
		goto reject;
	memcpy(c->tk_plain, ticket, il);
	*out_len = (int)il;
	c->tk_out_len = (int)il;
	c->tk_ret = WOLFSSL_TICKET_RET_OK;
	/* Not RET_CREATE for the previous key: wolfSSL's TLS 1.3 server takes
	 * only OK (and sends a fresh ticket after every resumption anyway), and
	 * its TLS 1.2 server does not send a new ticket in an abbreviated
	 * handshake. A TLS 1.2 client keeps its ticket until it expires. */
	if (previous)
		WEFT_CTR_ADD(c->w->stats.tickets_previous_key, 1);
	return c->tk_ret;
reject:
	WEFT_CTR_ADD(c->w->stats.tickets_rejected, 1);
	return WOLFSSL_TICKET_RET_REJECT;
}

/* ------------------------------------------------------ context build */

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (err == NULL || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static const char *src_name(const struct tls_source *s)
{
	return s->path ? s->path : "(inline PEM)";
}

static bool src_set(const struct tls_source *s)
{
	return s->pem != NULL || s->path != NULL;
}

/* Reads a source into a NUL-terminated buffer (freed by the caller). */
static char *src_load(const struct tls_source *s, size_t *len, char *err, size_t errlen)
{
	if (s->pem != NULL) {
		char *b = malloc(s->pem_len + 1);
		if (b == NULL) {
			set_err(err, errlen, "%s: out of memory", src_name(s));
			return NULL;
		}
		memcpy(b, s->pem, s->pem_len);
		b[s->pem_len] = '\0';
		*len = s->pem_len;
		return b;
	}
	FILE *f = fopen(s->path, "rb");
	if (f == NULL) {
		set_err(err, errlen, "%s: cannot read: %s", s->path, strerror(errno));
		return NULL;
	}
	char *b = malloc(SOURCE_MAX + 1);
	size_t n = b ? fread(b, 1, SOURCE_MAX + 1, f) : 0;
	int rerr = ferror(f);
	fclose(f);
	if (b == NULL || rerr || n > SOURCE_MAX) {
		set_err(err, errlen, "%s: %s", s->path,
			b == NULL ? "out of memory" : rerr ? "read error" : "larger than 4 MiB");
		free(b);
		return NULL;
	}
	b[n] = '\0';
	*len = n;
	return b;
}

/* DER certificates of a PEM buffer, in order. */
struct der_list {
	unsigned n;
	uint8_t *der[256];
	size_t len[256];
};

static void der_list_free(struct der_list *l)
{
	for (unsigned i = 0; i < l->n; i++)
		free(l->der[i]);
	l->n = 0;
}

static int pem_certs(const struct tls_source *s, const char *pem, size_t pem_len, struct der_list *out,
		     char *err, size_t errlen)
{
	static const char begin[] = "-----BEGIN CERTIFICATE-----";
	static const char end[] = "-----END CERTIFICATE-----";
	const char *p = pem, *stop = pem + pem_len;
	out->n = 0;
	for (;;) {
		const char *b = strstr(p, begin);
		if (b == NULL || b >= stop)
			break;
		const char *e = strstr(b, end);
		if (e == NULL) {
			set_err(err, errlen, "%s: certificate %u: no END CERTIFICATE line", src_name(s), out->n + 1);
			goto fail;
		}
		e += sizeof(end) - 1;
		if (out->n == sizeof(out->der) / sizeof(out->der[0])) {
			set_err(err, errlen, "%s: more than %zu certificates", src_name(s),
				sizeof(out->der) / sizeof(out->der[0]));
			goto fail;
		}
		size_t blen = (size_t)(e - b);
		uint8_t *der = malloc(blen);
		int n = der ? wc_CertPemToDer((const unsigned char *)b, (int)blen, der, (int)blen, CERT_TYPE) : -1;
		if (n <= 0) {
			free(der);
			set_err(err, errlen, "%s: certificate %u: not valid PEM (bad base64 or DER)", src_name(s),
				out->n + 1);
			goto fail;
		}
		out->der[out->n] = der;
		out->len[out->n] = (size_t)n;
		out->n++;
		p = e;
	}
	if (out->n == 0) {
		set_err(err, errlen, "%s: no PEM certificate found", src_name(s));
		return -1;
	}
	return 0;
fail:
	der_list_free(out);
	return -1;
}

/* Parses and date-checks every certificate of a list; the first one's facts in first. */
static int check_certs(const struct tls_source *s, const struct der_list *l, int64_t now,
		       struct tls_x509 *first, char *err, size_t errlen)
{
	for (unsigned i = 0; i < l->n; i++) {
		struct tls_x509 x;
		char when[32];
		if (tls_x509_parse(l->der[i], l->len[i], &x)) {
			set_err(err, errlen, "%s: certificate %u is not a valid X.509 certificate", src_name(s), i + 1);
			return -1;
		}
		char which[24] = "certificate";
		if (i > 0)
			snprintf(which, sizeof(which), "certificate %u", i + 1);
		const char *subj = x.subject[0] ? x.subject : "empty subject";
		if (now > x.not_after) {
			set_err(err, errlen, "%s: %s expired on %s (%s)", src_name(s), which,
				tls_x509_time_str(x.not_after, when, sizeof(when)), subj);
			return -1;
		}
		if (now < x.not_before) {
			set_err(err, errlen, "%s: %s is not valid before %s (%s)", src_name(s), which,
				tls_x509_time_str(x.not_before, when, sizeof(when)), subj);
			return -1;
		}
		if (i == 0 && first != NULL)
			*first = x;
	}
	return 0;
}

/*
 * A CRL must be PEM, issued by a CA of the bundle (same subject, byte for
 * byte) and current: wolfSSL checks its signature only when a handshake
 * first needs it, and an expired CRL would fail every handshake.
 */
static int check_crl(const struct tls_source *s, const char *pem, size_t len, const struct der_list *bundle,
		     int64_t now, char *err, size_t errlen)
{
	static const char begin[] = "-----BEGIN X509 CRL-----";
	static const char end[] = "-----END X509 CRL-----";
	const char *b = strstr(pem, begin);
	const char *e = b ? strstr(b, end) : NULL;
	if (b == NULL || e == NULL || (size_t)(e - pem) > len) {
		set_err(err, errlen, "%s: no PEM CRL found", src_name(s));
		return -1;
	}
	b += sizeof(begin) - 1;
	word32 der_len = (word32)(e - b);
	uint8_t *der = malloc(der_len + 1);
	struct tls_x509_crl crl;
	char when[32];
	int ret = -1;
	if (der == NULL || Base64_Decode((const byte *)b, (word32)(e - b), der, &der_len) != 0 ||
	    tls_x509_crl_parse(der, der_len, &crl) != 0) {
		set_err(err, errlen, "%s: not a valid CRL (bad base64 or DER)", src_name(s));
		goto out;
	}
	if (crl.next_update != 0 && now > crl.next_update) {
		set_err(err, errlen, "%s: CRL expired on %s (issuer %s)", src_name(s),
			tls_x509_time_str(crl.next_update, when, sizeof(when)), crl.issuer);
		goto out;
	}
	for (unsigned i = 0; i < bundle->n; i++) {
		struct tls_x509 x;
		if (tls_x509_parse(bundle->der[i], bundle->len[i], &x) == 0 &&
		    x.subject_der_len == crl.issuer_der_len &&
		    memcmp(x.subject_der, crl.issuer_der, crl.issuer_der_len) == 0) {
			ret = 0;
			goto out;
		}
	}
	set_err(err, errlen, "%s: CRL issuer %s is not a CA of the trust bundle", src_name(s), crl.issuer);
out:
	free(der);
	return ret;
}

/* Hostname checks for SNI names: labels of [a-z0-9-_], an optional "*." in front. */
static int check_name(const char *in, char *out, size_t cap)
{
	size_t n = strlen(in);
	if (n == 0 || n >= cap || n > 253)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char ch = (char)tolower((unsigned char)in[i]);
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
			  ch == '.' || (ch == '*' && i == 0 && n > 2 && in[1] == '.');
		if (!ok)
			return -1;
		out[i] = ch;
	}
	out[n] = '\0';
	if (out[n - 1] == '.' || strstr(out, "..") != NULL)
		return -1;
	return 0;
}

static void scope_digest(const struct tls_ctx_params *p, const struct tls_entry *e, const char *trust,
			 size_t trust_len, const char *crl, size_t crl_len, uint8_t out[32])
{
	wc_Sha256 h;
	static const char tag[] = "weft ticket scope v1";
	uint8_t v = (uint8_t)p->verify;
	wc_InitSha256(&h);
	wc_Sha256Update(&h, (const byte *)tag, sizeof(tag));
	if (p->scope)
		wc_Sha256Update(&h, (const byte *)p->scope, (word32)strlen(p->scope) + 1);
	wc_Sha256Update(&h, &v, 1);
	for (unsigned i = 0; i < e->n_names; i++)
		wc_Sha256Update(&h, (const byte *)e->names[i], (word32)strlen(e->names[i]) + 1);
	if (trust)
		wc_Sha256Update(&h, (const byte *)trust, (word32)trust_len);
	if (crl)
		wc_Sha256Update(&h, (const byte *)crl, (word32)crl_len);
	wc_Sha256Final(&h, out);
	wc_Sha256Free(&h);
}

static WOLFSSL_CTX *new_wctx(const struct tls_ctx_params *p, struct tls_ctx *ctx, char *err, size_t errlen)
{
	WOLFSSL_METHOD *m;
	bool server = p->role == TLS_ROLE_SERVER;
	switch (p->versions) {
	case TLS_V13_ONLY:
		m = server ? wolfTLSv1_3_server_method() : wolfTLSv1_3_client_method();
		break;
	case TLS_V12_ONLY:
		m = server ? wolfTLSv1_2_server_method() : wolfTLSv1_2_client_method();
		break;
	default:
		m = server ? wolfSSLv23_server_method() : wolfSSLv23_client_method();
		break;
	}
	WOLFSSL_CTX *w = m ? wolfSSL_CTX_new(m) : NULL;
	if (w == NULL) {
		set_err(err, errlen, "TLS: cannot create a library context (out of memory)");
		return NULL;
	}
	/* TLS 1.2+ only, AEAD with ECDHE only (no RSA key exchange, no CBC), so
	 * a scanner finds nothing weak; the server's order decides. */
	int groups[] = { WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1, WOLFSSL_ECC_SECP384R1 };
	int rc = wolfSSL_CTX_SetMinVersion(w, WOLFSSL_TLSV1_2);
	if (rc == WOLFSSL_SUCCESS)
		rc = wolfSSL_CTX_set_cipher_list(w, CIPHERS);
	/* set_groups (TLS 1.3 key shares, and supported_groups) wants a 1.3-capable method */
	if (rc == WOLFSSL_SUCCESS && p->versions != TLS_V12_ONLY)
		rc = wolfSSL_CTX_set_groups(w, groups, 3);
	for (unsigned i = 0; rc == WOLFSSL_SUCCESS && p->versions == TLS_V12_ONLY && i < 3; i++)
		rc = wolfSSL_CTX_UseSupportedCurve(w, (word16)groups[i]);
	if (rc != WOLFSSL_SUCCESS) {
		set_err(err, errlen, "TLS: the library refused weft's protocol policy (%d)", rc);
		wolfSSL_CTX_free(w);
		return NULL;
	}
	if (p->role == TLS_ROLE_CLIENT) {
		wolfSSL_CTX_UseSessionTicket(w);
	} else {
		wolfSSL_CTX_set_session_cache_mode(w, WOLFSSL_SESS_CACHE_OFF);
	}
	wolfSSL_CTX_SetIORecv(w, io_recv);
	wolfSSL_CTX_SetIOSend(w, io_send);
	wolfSSL_CTX_set_timeout(w, ctx->lifetime_s);
	int mode = WOLFSSL_VERIFY_NONE;
	if (p->verify == TLS_VERIFY_OPTIONAL)
		mode = WOLFSSL_VERIFY_PEER;
	else if (p->verify == TLS_VERIFY_REQUIRE)
		mode = WOLFSSL_VERIFY_PEER | WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	if (p->role == TLS_ROLE_CLIENT && p->verify != TLS_VERIFY_NONE)
		mode = WOLFSSL_VERIFY_PEER;
	wolfSSL_CTX_set_verify(w, mode, NULL);
	return w;
}

static int load_trust(WOLFSSL_CTX *w, const struct tls_ctx_params *p, const char *trust, size_t trust_len,
		      const char *crl, size_t crl_len, char *err, size_t errlen)
{
	if (trust != NULL) {
		int rc = wolfSSL_CTX_load_verify_buffer(w, (const unsigned char *)trust, (long)trust_len,
							 WOLFSSL_FILETYPE_PEM);
		if (rc != WOLFSSL_SUCCESS) {
			set_err(err, errlen, "%s: the trust bundle does not load (wolfSSL %d)",
				src_name(&p->trust), rc);
			return -1;
		}
	}
	if (crl != NULL) {
		/* Every certificate of the peer's chain is checked (CHECKALL); a CA
		 * that signs without a CRL here fails the handshake, as in Envoy. */
		int rc = wolfSSL_CTX_EnableCRL(w, WOLFSSL_CRL_CHECKALL);
		if (rc == WOLFSSL_SUCCESS)
			rc = wolfSSL_CTX_LoadCRLBuffer(w, (const unsigned char *)crl, (long)crl_len,
						       WOLFSSL_FILETYPE_PEM);
		if (rc != WOLFSSL_SUCCESS) {
			char msg[WOLFSSL_MAX_ERROR_SZ];
			wolfSSL_ERR_error_string_n((unsigned long)rc, msg, sizeof(msg));
			set_err(err, errlen,
				"%s: the CRL does not load: not a PEM CRL, expired, or not signed by a CA of %s (wolfSSL %d: %s)",
				src_name(&p->crl), src_name(&p->trust), rc, msg);
			return -1;
		}
	}
	return 0;
}

static int load_cert(struct tls_entry *e, const struct tls_ctx_params *p, const struct tls_cert_params *cp,
		     int64_t now, char *err, size_t errlen)
{
	size_t chain_len = 0, key_len = 0;
	char *chain = NULL, *key = NULL;
	struct der_list l = { 0 };
	struct tls_x509 leaf;
	int ret = -1;

	if (!src_set(&cp->chain) || !src_set(&cp->key)) {
		set_err(err, errlen, "certificate %u: both a certificate chain and a key are needed", e->index + 1);
		return -1;
	}
	chain = src_load(&cp->chain, &chain_len, err, errlen);
	if (chain == NULL)
		goto out;
	if (pem_certs(&cp->chain, chain, chain_len, &l, err, errlen) ||
	    check_certs(&cp->chain, &l, now, &leaf, err, errlen))
		goto out;
	key = src_load(&cp->key, &key_len, err, errlen);
	if (key == NULL)
		goto out;
	if (strstr(key, "ENCRYPTED") != NULL) {
		set_err(err, errlen, "%s: encrypted private keys are not supported", src_name(&cp->key));
		goto out;
	}
	if (strstr(key, "PRIVATE KEY-----") == NULL) {
		set_err(err, errlen, "%s: no PEM private key found", src_name(&cp->key));
		goto out;
	}
	if (wolfSSL_CTX_use_certificate_chain_buffer(e->wctx, (const unsigned char *)chain, (long)chain_len) !=
	    WOLFSSL_SUCCESS) {
		set_err(err, errlen, "%s: the TLS library refused the certificate chain", src_name(&cp->chain));
		goto out;
	}
	if (wolfSSL_CTX_use_PrivateKey_buffer(e->wctx, (const unsigned char *)key, (long)key_len,
					      WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
		set_err(err, errlen, "%s: not a usable private key (PKCS#8, SEC1 EC or PKCS#1 RSA PEM expected)",
			src_name(&cp->key));
		goto out;
	}
	if (wolfSSL_CTX_check_private_key(e->wctx) != WOLFSSL_SUCCESS) {
		set_err(err, errlen, "%s: private key does not match the certificate in %s", src_name(&cp->key),
			src_name(&cp->chain));
		goto out;
	}

	/* names: given, or the certificate's DNS SANs */
	e->n_names = 0;
	if (cp->n_names > 0) {
		for (unsigned i = 0; i < cp->n_names && i < TLS_MAX_NAMES; i++) {
			if (cp->names[i] == NULL ||
			    check_name(cp->names[i], e->names[e->n_names], sizeof(e->names[0]))) {
				set_err(err, errlen, "certificate %u (%s): server name '%s' is not a host name or '*.domain'",
					e->index + 1, src_name(&cp->chain), cp->names[i] ? cp->names[i] : "(null)");
				goto out;
			}
			e->n_names++;
		}
	} else {
		for (unsigned i = 0; i < leaf.n_dns && e->n_names < TLS_MAX_NAMES; i++) {
			char tmp[256];
			size_t n = leaf.dns[i].len < sizeof(tmp) - 1 ? leaf.dns[i].len : sizeof(tmp) - 1;
			memcpy(tmp, leaf.dns[i].p, n);
			tmp[n] = '\0';
			if (check_name(tmp, e->names[e->n_names], sizeof(e->names[0])) == 0)
				e->n_names++;
		}
	}

	struct tls_cert_info *ci = &e->info;
	snprintf(ci->subject, sizeof(ci->subject), "%s", leaf.subject);
	ci->names[0] = '\0';
	for (unsigned i = 0; i < e->n_names; i++) {
		size_t used = strlen(ci->names);
		snprintf(ci->names + used, sizeof(ci->names) - used, "%s%s", i ? "," : "", e->names[i]);
	}
	ci->not_before = leaf.not_before;
	ci->not_after = leaf.not_after;
	ci->uri[0] = '\0';
	if (leaf.n_uri > 0 && leaf.uri[0].len < sizeof(ci->uri) && printable(leaf.uri[0].p, leaf.uri[0].len)) {
		memcpy(ci->uri, leaf.uri[0].p, leaf.uri[0].len);
		ci->uri[leaf.uri[0].len] = '\0';
	}
	wc_Sha256Hash(l.der[0], (word32)l.len[0], ci->sha256);
	ci->key_type = strncmp(leaf.key_type, "RSA", 3) == 0 ? "RSA"
		     : strncmp(leaf.key_type, "ECDSA", 5) == 0 ? "ECDSA"
							      : "other";
	ret = 0;
out:
	der_list_free(&l);
	if (key != NULL) {
		explicit_bzero(key, key_len);
		free(key);
	}
	free(chain);
	return ret;
}

static int parse_alpn_list(struct tls_ctx *ctx, const char *list, char *err, size_t errlen)
{
	ctx->n_alpn = 0;
	if (list == NULL || list[0] == '\0')
		return 0;
	if (strlen(list) >= sizeof(ctx->alpn_list)) {
		set_err(err, errlen, "ALPN list too long");
		return -1;
	}
	snprintf(ctx->alpn_list, sizeof(ctx->alpn_list), "%s", list);
	const char *p = list;
	while (*p) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		if (n == 0 || n >= sizeof(ctx->alpn[0]) || ctx->n_alpn == sizeof(ctx->alpn) / sizeof(ctx->alpn[0])) {
			set_err(err, errlen, "ALPN list '%s': empty, too long or too many names", list);
			return -1;
		}
		memcpy(ctx->alpn[ctx->n_alpn], p, n);
		ctx->alpn[ctx->n_alpn][n] = '\0';
		ctx->n_alpn++;
		p += n + (c != NULL);
	}
	return 0;
}

static void ctx_free(struct tls_ctx *ctx)
{
	if (ctx == NULL)
		return;
	for (unsigned i = 0; i < ctx->n_entries; i++)
		if (ctx->entries[i].wctx)
			wolfSSL_CTX_free(ctx->entries[i].wctx);
	free(ctx->entries);
	principal_list_free(ctx->verify_ids);
	free(ctx);
}

struct tls_ctx *tls_ctx_new(const struct tls_ctx_params *p, char *err, size_t errlen)
{
	char *trust = NULL, *crl = NULL;
	size_t trust_len = 0, crl_len = 0;
	struct tls_ctx *ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		set_err(err, errlen, "TLS context: out of memory");
		return NULL;
	}
	atomic_init(&ctx->refs, 1);
	ctx->role = p->role;
	ctx->verify = p->verify;
	ctx->tickets = p->role == TLS_ROLE_SERVER ? p->tickets : NULL;
	ctx->lifetime_s = ctx->tickets ? ctx->tickets->lifetime_s : 3600;
	int64_t now = p->now ? p->now : now_s();

	if (p->role == TLS_ROLE_SERVER && (p->n_certs == 0 || p->n_certs > TLS_MAX_CERTS)) {
		set_err(err, errlen, "a TLS listener needs 1 to %d certificates", TLS_MAX_CERTS);
		goto fail;
	}
	if (p->role == TLS_ROLE_CLIENT && p->n_certs > 1) {
		set_err(err, errlen, "a TLS client presents at most one certificate");
		goto fail;
	}
	if (p->verify != TLS_VERIFY_NONE && !src_set(&p->trust)) {
		set_err(err, errlen, "certificate verification needs a trust bundle");
		goto fail;
	}
	if (src_set(&p->crl) && !src_set(&p->trust)) {
		set_err(err, errlen, "a CRL needs the trust bundle of its CA");
		goto fail;
	}
	if (parse_alpn_list(ctx, p->alpn, err, errlen))
		goto fail;
	if (p->server_name != NULL) {
		if (check_name(p->server_name, ctx->server_name, sizeof(ctx->server_name)) ||
		    ctx->server_name[0] == '*') {
			set_err(err, errlen, "server name '%s' is not a host name", p->server_name);
			goto fail;
		}
	}
	if (p->role == TLS_ROLE_CLIENT && p->n_verify_names > 0) {
		const char *ids[TLS_MAX_NAMES];
		unsigned n_ids = 0;
		for (unsigned i = 0; i < p->n_verify_names && i < TLS_MAX_NAMES; i++) {
			const char *v = p->verify_names[i];
			if (v == NULL)
				continue;
			if (strncmp(v, "spiffe://", 9) == 0 || strcmp(v, "*") == 0) {
				ids[n_ids++] = v;
			} else if (check_name(v, ctx->verify_dns[ctx->n_verify_dns], sizeof(ctx->verify_dns[0])) == 0) {
				ctx->n_verify_dns++;
			} else {
				set_err(err, errlen, "expected server name '%s' is neither a SPIFFE ID pattern nor a DNS name", v);
				goto fail;
			}
		}
		if (n_ids > 0) {
			ctx->verify_ids = principal_list_new(ids, n_ids, err, errlen);
			if (ctx->verify_ids == NULL)
				goto fail;
		}
	}

	struct der_list bundle = { 0 };
	if (src_set(&p->trust)) {
		trust = src_load(&p->trust, &trust_len, err, errlen);
		if (trust == NULL)
			goto fail;
		if (pem_certs(&p->trust, trust, trust_len, &bundle, err, errlen) ||
		    check_certs(&p->trust, &bundle, now, NULL, err, errlen)) {
			der_list_free(&bundle);
			goto fail;
		}
	}
	if (src_set(&p->crl)) {
		crl = src_load(&p->crl, &crl_len, err, errlen);
		int bad = crl == NULL || check_crl(&p->crl, crl, crl_len, &bundle, now, err, errlen);
		der_list_free(&bundle);
		if (bad)
			goto fail;
	}
	der_list_free(&bundle);

	ctx->n_entries = p->role == TLS_ROLE_SERVER ? p->n_certs : 1;
	ctx->entries = calloc(ctx->n_entries, sizeof(ctx->entries[0]));
	if (ctx->entries == NULL) {
		set_err(err, errlen, "TLS context: out of memory");
		goto fail;
	}
	for (unsigned i = 0; i < ctx->n_entries; i++) {
		struct tls_entry *e = &ctx->entries[i];
		e->ctx = ctx;
		e->index = i;
		e->wctx = new_wctx(p, ctx, err, errlen);
		if (e->wctx == NULL)
			goto fail;
		if (i < p->n_certs && load_cert(e, p, &p->certs[i], now, err, errlen))
			goto fail;
		if (load_trust(e->wctx, p, trust, trust_len, crl, crl_len, err, errlen))
			goto fail;
		if (p->role == TLS_ROLE_SERVER && ctx->tickets != NULL) {
			scope_digest(p, e, trust, trust_len, crl, crl_len, e->scope);
			wolfSSL_CTX_set_TicketEncCb(e->wctx, ticket_cb);
			wolfSSL_CTX_set_TicketEncCtx(e->wctx, e);
			wolfSSL_CTX_set_TicketHint(e->wctx, (int)ctx->lifetime_s);
		} else if (p->role == TLS_ROLE_SERVER) {
			wolfSSL_CTX_NoTicketTLSv12(e->wctx);
			wolfSSL_CTX_no_ticket_TLSv13(e->wctx);
		}
	}
	if (tls_params_digest(p, ctx->digest))
		memset(ctx->digest, 0, sizeof(ctx->digest));
	free(trust);
	free(crl);
	return ctx;
fail:
	free(trust);
	free(crl);
	ctx_free(ctx);
	return NULL;
}

void tls_ctx_ref(struct tls_ctx *c)
{
	atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

void tls_ctx_unref(struct tls_ctx *c)
{
	if (c == NULL)
		return;
	/* acq_rel: the last holder sees every other holder's writes before freeing. */
	if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
		ctx_free(c);
}

static int digest_source(wc_Sha256 *h, const struct tls_source *s)
{
	if (!src_set(s))
		return 0;
	size_t len;
	char *b = src_load(s, &len, NULL, 0);
	if (b == NULL)
		return -1;
	wc_Sha256Update(h, (const byte *)b, (word32)len);
	explicit_bzero(b, len);
	free(b);
	return 0;
}

int tls_params_digest(const struct tls_ctx_params *p, uint8_t out[32])
{
	wc_Sha256 h;
	int rc = 0;
	wc_InitSha256(&h);
	for (unsigned i = 0; i < p->n_certs && i < TLS_MAX_CERTS; i++) {
		rc |= digest_source(&h, &p->certs[i].chain);
		rc |= digest_source(&h, &p->certs[i].key);
	}
	rc |= digest_source(&h, &p->trust);
	rc |= digest_source(&h, &p->crl);
	wc_Sha256Final(&h, out);
	wc_Sha256Free(&h);
	return rc ? -1 : 0;
}

const uint8_t *tls_ctx_digest(const struct tls_ctx *c)
{
	return c->digest;
}

unsigned tls_ctx_cert_count(const struct tls_ctx *c)
{
	return c->role == TLS_ROLE_SERVER ? c->n_entries : (c->entries[0].info.not_after ? 1 : 0);
}

int tls_ctx_cert_info(const struct tls_ctx *c, unsigned i, struct tls_cert_info *out)
{
	if (i >= tls_ctx_cert_count(c))
		return -1;
	*out = c->entries[i].info;
	return 0;
}

/* -------------------------------------------------------------- engine */

int tls_global_init(void)
{
	return wolfSSL_Init() == WOLFSSL_SUCCESS ? 0 : -1;
}

void tls_global_cleanup(void)
{
	wolfSSL_Cleanup();
}

void tls_build_info(char *buf, size_t len)
{
	const char *aes = "C (no AES-NI in this build)";
	const char *ghash = "C";
#ifdef WOLFSSL_AESNI
	static const uint8_t key[16];
	Aes a;
	int use_aesni = 0;
	if (wc_AesInit(&a, NULL, INVALID_DEVID) == 0) {
		if (wc_AesGcmSetKey(&a, key, sizeof(key)) == 0)
			use_aesni = a.use_aesni;
		wc_AesFree(&a);
	}
	aes = use_aesni ? "AES-NI" : "C (the CPU has no AES-NI)";
#endif
#ifdef USE_INTEL_SPEEDUP
	word32 f = cpuid_get_flags();
	ghash = IS_INTEL_AVX2(f) ? "AVX2 assembly" : IS_INTEL_AVX1(f) ? "AVX1 assembly" : "PCLMULQDQ/C";
#endif
	snprintf(buf, len,
		 "wolfSSL %s; AES: %s; GCM/GHASH: %s; compiled in:%s%s%s; ticket identity room %d bytes",
		 wolfSSL_lib_version(), aes, ghash,
#ifdef WOLFSSL_AESNI
		 " AES-NI",
#else
		 "",
#endif
#ifdef USE_INTEL_SPEEDUP
		 " AVX1/AVX2",
#else
		 "",
#endif
#ifdef WOLFSSL_SP_X86_64_ASM
		 " SP-x86_64-asm",
#else
		 "",
#endif
		 TICKET_ROOM);
}

struct tls_worker *tls_worker_new(void)
{
	struct tls_worker *w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	if (wc_InitRng(&w->rng) != 0) {
		free(w);
		return NULL;
	}
	return w;
}

void tls_worker_free(struct tls_worker *w)
{
	if (w == NULL)
		return;
	wc_FreeRng(&w->rng);
	free(w);
}

const struct tls_stats *tls_worker_stats(const struct tls_worker *w)
{
	return &w->stats;
}

/* --------------------------------------------------------- connections */

static void attach(struct tls_conn *c)
{
	wolfSSL_SetIOReadCtx(c->ssl, c);
	wolfSSL_SetIOWriteCtx(c->ssl, c);
}

struct tls_conn *tls_conn_new(struct tls_worker *w, struct tls_ctx *ctx, const struct tls_conn_opts *opts)
{
	struct tls_conn *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		WEFT_CTR_ADD(w->stats.errors[TLS_ERR_NO_MEMORY], 1);
		return NULL;
	}
	c->w = w;
	c->ctx = ctx;
	tls_ctx_ref(ctx);
	c->in.cap = opts && opts->in_cap ? opts->in_cap : QUEUE_DEFAULT;
	c->out.cap = opts && opts->out_cap ? opts->out_cap : QUEUE_DEFAULT;
	if (opts && opts->transport) {
		c->tp = *opts->transport;
		c->has_tp = true;
	}
	if (ctx->role == TLS_ROLE_SERVER)
		return c; /* the WOLFSSL object waits for the ClientHello */

	const struct tls_entry *e = &ctx->entries[0];
	c->entry = e;
	c->ssl = wolfSSL_new(e->wctx);
	if (c->ssl == NULL)
		goto nomem;
	attach(c);
	if (opts && opts->server_name) {
		/* a bad name must not quietly turn the name check off */
		if (check_name(opts->server_name, c->server_name, sizeof(c->server_name)) ||
		    c->server_name[0] == '*') {
			WEFT_CTR_ADD(w->stats.errors[TLS_ERR_INTERNAL], 1);
			tls_conn_free(c);
			return NULL;
		}
	} else {
		memcpy(c->server_name, ctx->server_name, sizeof(c->server_name));
	}
	if (c->server_name[0] != '\0') {
		snprintf(c->sni, sizeof(c->sni), "%s", c->server_name);
		if (wolfSSL_UseSNI(c->ssl, WOLFSSL_SNI_HOST_NAME, c->server_name,
				   (unsigned short)strlen(c->server_name)) != WOLFSSL_SUCCESS)
			goto nomem;
	}
	if (ctx->n_alpn > 0) {
		char list[sizeof(ctx->alpn_list)];
		memcpy(list, ctx->alpn_list, sizeof(list));
		if (wolfSSL_UseALPN(c->ssl, list, (unsigned)strlen(list), WOLFSSL_ALPN_FAILED_ON_MISMATCH) !=
		    WOLFSSL_SUCCESS)
			goto nomem;
	}
	if (opts && opts->session && opts->session->ws) {
		/* A session that expired or does not fit is simply not resumed. */
		if (wolfSSL_set_session(c->ssl, opts->session->ws) == WOLFSSL_SUCCESS)
			c->tried_resume = true;
		if (c->tried_resume && opts->session->blob_len > 0) {
			c->ticket_blob = malloc(opts->session->blob_len);
			if (c->ticket_blob == NULL)
				goto nomem;
			memcpy(c->ticket_blob, opts->session->blob, opts->session->blob_len);
			c->ticket_blob_len = opts->session->blob_len;
		}
	}
	return c;
nomem:
	WEFT_CTR_ADD(w->stats.errors[TLS_ERR_NO_MEMORY], 1);
	tls_conn_free(c);
	return NULL;
}

void tls_conn_free(struct tls_conn *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL)
		wolfSSL_free(c->ssl);
	bq_free(&c->in);
	bq_free(&c->out);
	free(c->blob);
	free(c->ticket_blob);
	clear_plain(c);
	tls_ctx_unref(c->ctx);
	free(c);
}

/* RFC 6125 6.4: exact (case-insensitive) or a wildcard for the leftmost label only. */
static bool dns_match(const char *pattern, size_t plen, const char *name)
{
	size_t nlen = strlen(name);
	if (plen == nlen && strncasecmp(pattern, name, nlen) == 0)
		return true;
	if (plen > 2 && pattern[0] == '*' && pattern[1] == '.') {
		const char *dot = strchr(name, '.');
		return dot != NULL && dot != name && (size_t)(name + nlen - dot) == plen - 1 &&
		       strncasecmp(dot, pattern + 1, plen - 1) == 0;
	}
	return false;
}

/* The entry whose names match the SNI: exact first, then "*.domain", else the default. */
static const struct tls_entry *choose_entry(const struct tls_ctx *ctx, const char *sni)
{
	if (sni[0] == '\0')
		return &ctx->entries[0];
	for (unsigned i = 0; i < ctx->n_entries; i++)
		for (unsigned k = 0; k < ctx->entries[i].n_names; k++)
			if (ctx->entries[i].names[k][0] != '*' && strcasecmp(ctx->entries[i].names[k], sni) == 0)
				return &ctx->entries[i];
	for (unsigned i = 0; i < ctx->n_entries; i++)
		for (unsigned k = 0; k < ctx->entries[i].n_names; k++)
			if (ctx->entries[i].names[k][0] == '*' &&
			    dns_match(ctx->entries[i].names[k], strlen(ctx->entries[i].names[k]), sni))
				return &ctx->entries[i];
	return &ctx->entries[0];
}

/* Server: read the ClientHello, then create the WOLFSSL object for its SNI. */
static enum tls_status server_start(struct tls_conn *c)
{
	if (c->has_tp) {
		/* pull what the transport has into the input queue for the peek */
		while (!c->eof && bq_room(&c->in) > 0) {
			if (bq_alloc(&c->in))
				return fail(c, TLS_ERR_NO_MEMORY, "input queue");
			size_t room = bq_room(&c->in);
			size_t tail = c->in.len; /* never consumed yet: head is 0 */
			long r = c->tp.recv(c->tp.arg, c->in.buf + tail, room);
			if (r < 0)
				c->eof = true;
			if (r <= 0)
				break;
			c->in.len += (size_t)r;
		}
	}
	struct tls_clienthello ch;
	size_t avail;
	const uint8_t *data = bq_peek(&c->in, &avail);
	if (data == NULL)
		return c->eof ? fail(c, TLS_ERR_TRUNCATED, "closed before a ClientHello") : TLS_WANT_READ;
	switch (tls_clienthello_parse(data, avail, &ch)) {
	case TLS_CH_NEED_MORE:
		if (c->eof)
			return fail(c, TLS_ERR_TRUNCATED, "closed in the middle of the ClientHello");
		if (ch.need > c->in.cap)
			return fail(c, TLS_ERR_CLIENTHELLO_TOO_BIG, "ClientHello larger than the input queue");
		return TLS_WANT_READ;
	case TLS_CH_NOT_TLS:
		return fail(c, TLS_ERR_NOT_TLS, "first bytes are not a TLS handshake record");
	case TLS_CH_MALFORMED:
		return fail(c, TLS_ERR_CLIENTHELLO, "malformed ClientHello");
	case TLS_CH_OK:
		break;
	}
	snprintf(c->sni, sizeof(c->sni), "%s", ch.sni);
	const struct tls_entry *e = choose_entry(c->ctx, c->sni);
	c->entry = e;
	c->ssl = wolfSSL_new(e->wctx);
	if (c->ssl == NULL)
		return fail(c, TLS_ERR_NO_MEMORY, "wolfSSL_new");
	attach(c);
	/* RFC 7301 3.2: the server picks; weft takes its own first choice that
	 * the client offers. No overlap: no ALPN in the answer (the client may
	 * then close with no_application_protocol, or go on with HTTP/1.1). */
	for (unsigned i = 0; i < c->ctx->n_alpn; i++) {
		for (unsigned k = 0; k < ch.alpn_count; k++) {
			if (strcmp(c->ctx->alpn[i], ch.alpn[k].name) != 0)
				continue;
			char one[64];
			snprintf(one, sizeof(one), "%s", c->ctx->alpn[i]);
			if (wolfSSL_UseALPN(c->ssl, one, (unsigned)strlen(one), WOLFSSL_ALPN_CONTINUE_ON_MISMATCH) !=
			    WOLFSSL_SUCCESS)
				return fail(c, TLS_ERR_NO_MEMORY, "wolfSSL_UseALPN");
			goto alpn_done;
		}
	}
alpn_done:
	return TLS_DONE;
}

/* The leaf certificate the peer sent, verified by the library. */
static const uint8_t *peer_leaf(struct tls_conn *c, size_t *len)
{
	WOLFSSL_X509_CHAIN *chain = wolfSSL_get_peer_chain(c->ssl);
	if (chain != NULL && wolfSSL_get_chain_count(chain) > 0) {
		int n = wolfSSL_get_chain_length(chain, 0);
		const uint8_t *der = wolfSSL_get_chain_cert(chain, 0);
		if (der != NULL && n > 0) {
			*len = (size_t)n;
			return der;
		}
	}
	return NULL;
}

static void ensure_blob(struct tls_conn *c)
{
	if (c->blob != NULL || c->ctx->verify == TLS_VERIFY_NONE)
		return;
	size_t len;
	const uint8_t *der = peer_leaf(c, &len);
	if (der != NULL)
		c->blob = blob_from_der(der, len, &c->blob_len);
}

static bool name_ok(const struct tls_conn *c)
{
	const struct tls_ctx *ctx = c->ctx;
	const struct tls_peer *p = &c->peer;
	if (!p->present)
		return false;
	if (ctx->verify_ids != NULL && p->spiffe_id != NULL &&
	    principal_check(ctx->verify_ids, p->spiffe_id, strlen(p->spiffe_id)) == AUTHZ_ALLOW)
		return true;
	for (unsigned i = 0; i < ctx->n_verify_dns; i++)
		for (unsigned k = 0; k < p->n_dns; k++)
			if (dns_match(p->dns[k], strlen(p->dns[k]), ctx->verify_dns[i]))
				return true;
	if (ctx->verify_ids == NULL && ctx->n_verify_dns == 0) {
		if (c->server_name[0] == '\0')
			return true; /* nothing to check beyond the chain */
		for (unsigned k = 0; k < p->n_dns; k++)
			if (dns_match(p->dns[k], strlen(p->dns[k]), c->server_name))
				return true;
	}
	return false;
}

static enum tls_status handshake_finished(struct tls_conn *c)
{
	c->established = true;
	c->resumed = wolfSSL_session_reused(c->ssl) != 0;
	if (c->resumed && c->ticket_blob != NULL) {
		free(c->blob);
		c->blob = c->ticket_blob;
		c->blob_len = c->ticket_blob_len;
		c->ticket_blob = NULL;
		c->ticket_blob_len = 0;
	}
	free(c->ticket_blob); /* an identity from a ticket that was not used */
	c->ticket_blob = NULL;
	clear_plain(c);
	if (!c->resumed)
		ensure_blob(c);
	if (c->blob != NULL && blob_to_peer(c->blob, c->blob_len, &c->peer)) {
		free(c->blob);
		c->blob = NULL;
		memset(&c->peer, 0, sizeof(c->peer));
	}

	char *proto = NULL;
	unsigned short plen = 0;
	if (wolfSSL_ALPN_GetProtocol(c->ssl, &proto, &plen) == WOLFSSL_SUCCESS && proto != NULL &&
	    plen < sizeof(c->alpn)) {
		memcpy(c->alpn, proto, plen);
		c->alpn[plen] = '\0';
	}

	if (c->ctx->role == TLS_ROLE_CLIENT && c->ctx->verify != TLS_VERIFY_NONE && !name_ok(c)) {
		c->established = false;
		char d[sizeof(c->detail)];
		snprintf(d, sizeof(d), "server certificate %s has none of the expected names",
			 c->peer.subject && c->peer.subject[0] ? c->peer.subject : "(empty subject)");
		return fail(c, TLS_ERR_PEER_NAME, d);
	}

	struct tls_stats *s = &c->w->stats;
	WEFT_CTR_ADD(s->handshakes, 1);
	if (c->resumed)
		WEFT_CTR_ADD(s->resumed, 1);
	else
		WEFT_CTR_ADD(s->full, 1);
	if (wolfSSL_GetVersion(c->ssl) == WOLFSSL_TLSV1_3)
		WEFT_CTR_ADD(s->tls13, 1);
	else
		WEFT_CTR_ADD(s->tls12, 1);
	return TLS_DONE;
}

enum tls_status tls_handshake_step(struct tls_conn *c)
{
	if (c->failed)
		return TLS_ERROR;
	if (c->established)
		return TLS_DONE;
	if (c->ssl != NULL && flush_output(c) == TLS_ERROR)
		return TLS_ERROR;
	if (c->ssl == NULL) {
		enum tls_status st = server_start(c);
		if (st != TLS_DONE)
			return st;
	}
	int rc = c->ctx->role == TLS_ROLE_SERVER ? wolfSSL_accept(c->ssl) : wolfSSL_connect(c->ssl);
	if (rc != WOLFSSL_SUCCESS)
		return lib_status(c, rc);
	if (c->has_tp && c->in.buf != NULL && c->in.len == 0)
		bq_free(&c->in); /* transport mode: the peek buffer is no longer needed */
	return handshake_finished(c);
}

enum tls_status tls_read(struct tls_conn *c, void *buf, size_t len, size_t *got)
{
	*got = 0;
	if (c->failed)
		return TLS_ERROR;
	if (!c->established) {
		enum tls_status st = tls_handshake_step(c);
		if (st != TLS_DONE)
			return st;
	}
	if (c->closed_in)
		return TLS_CLOSED;
	if (len == 0)
		return TLS_DONE;
	if (len > INT_MAX)
		len = INT_MAX;
	int n = wolfSSL_read(c->ssl, buf, (int)len);
	if (n > 0) {
		*got = (size_t)n;
		return TLS_DONE;
	}
	int e = wolfSSL_get_error(c->ssl, n);
	if (e == WOLFSSL_ERROR_ZERO_RETURN) {
		c->closed_in = true;
		WEFT_CTR_ADD(c->w->stats.close_notify_in, 1);
		return TLS_CLOSED;
	}
	if (e == WOLFSSL_ERROR_WANT_READ && c->eof)
		return fail(c, TLS_ERR_TRUNCATED, "the transport closed without close_notify");
	if (e == WOLFSSL_ERROR_WANT_READ)
		return TLS_WANT_READ;
	if (e == WOLFSSL_ERROR_WANT_WRITE)
		return TLS_WANT_WRITE;
	return fail_lib(c, e);
}

enum tls_status tls_write(struct tls_conn *c, const void *buf, size_t len, size_t *put)
{
	*put = 0;
	if (c->failed)
		return TLS_ERROR;
	if (!c->established) {
		enum tls_status st = tls_handshake_step(c);
		if (st != TLS_DONE)
			return st;
	}
	if (c->shutdown_sent)
		return fail(c, TLS_ERR_INTERNAL, "write after close_notify");
	enum tls_status st = flush_output(c);
	if (st == TLS_ERROR)
		return st;
	if (c->wpending > 0)
		return TLS_WANT_WRITE;
	const uint8_t *p = buf;
	while (*put < len) {
		size_t want = len - *put < RECORD_MAX ? len - *put : RECORD_MAX;
		size_t room = bq_room(&c->out);
		if (room < want + RECORD_OVERHEAD) {
			/* a shorter record only if it is not a tiny one */
			if (room < RECORD_OVERHEAD + (want < 1024 ? want : 1024))
				break;
			want = room - RECORD_OVERHEAD;
		}
		int n = wolfSSL_write(c->ssl, p + *put, (int)want);
		if (n <= 0) {
			int e = wolfSSL_get_error(c->ssl, n);
			if (e == WOLFSSL_ERROR_WANT_WRITE) {
				/* The record is built and partly sent: its plaintext is taken. */
				c->wpending = want;
				*put += want;
				break;
			}
			return fail_lib(c, e);
		}
		*put += (size_t)n;
		if (push_queued(c))
			return fail(c, TLS_ERR_TRANSPORT, "the transport refused output");
	}
	return *put == len ? TLS_DONE : TLS_WANT_WRITE;
}

enum tls_status tls_shutdown(struct tls_conn *c)
{
	if (c->failed)
		return TLS_ERROR;
	if (c->ssl == NULL || !c->established)
		return TLS_DONE; /* nothing established to close */
	enum tls_status st = flush_output(c);
	if (st == TLS_ERROR)
		return st;
	if (c->shutdown_sent)
		return st;
	if (c->wpending > 0)
		return TLS_WANT_WRITE;
	int rc = wolfSSL_shutdown(c->ssl);
	if (rc == WOLFSSL_SUCCESS || rc == WOLFSSL_SHUTDOWN_NOT_DONE) {
		c->shutdown_sent = true;
		WEFT_CTR_ADD(c->w->stats.close_notify_out, 1);
		return flush_output(c) == TLS_ERROR ? TLS_ERROR : TLS_DONE;
	}
	int e = wolfSSL_get_error(c->ssl, rc);
	if (e == WOLFSSL_ERROR_WANT_WRITE)
		return TLS_WANT_WRITE;
	return fail_lib(c, e);
}

enum tls_status tls_flush(struct tls_conn *c)
{
	if (c->failed)
		return TLS_ERROR;
	if (c->ssl == NULL)
		return TLS_DONE;
	return flush_output(c);
}

enum tls_err tls_conn_error(const struct tls_conn *c)
{
	return c->failed ? c->err : TLS_ERR_NONE;
}

const char *tls_conn_error_detail(const struct tls_conn *c)
{
	return c->detail;
}

size_t tls_conn_input(struct tls_conn *c, const void *data, size_t len)
{
	return bq_put(&c->in, data, len);
}

size_t tls_conn_input_room(const struct tls_conn *c)
{
	return bq_room(&c->in);
}

void tls_conn_input_eof(struct tls_conn *c)
{
	c->eof = true;
}

size_t tls_conn_output_pending(const struct tls_conn *c)
{
	return c->out.len;
}

const uint8_t *tls_conn_output_peek(const struct tls_conn *c, size_t *len)
{
	return bq_peek(&c->out, len);
}

void tls_conn_output_consume(struct tls_conn *c, size_t n)
{
	bq_consume(&c->out, n);
}

size_t tls_conn_output(struct tls_conn *c, void *buf, size_t len)
{
	return bq_get(&c->out, buf, len);
}

int tls_conn_info(const struct tls_conn *c, struct tls_conn_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!c->established)
		return -1;
	out->version = wolfSSL_get_version(c->ssl);
	out->cipher = wolfSSL_get_cipher_name(c->ssl);
	out->alpn = c->alpn;
	out->sni = c->sni;
	out->resumed = c->resumed;
	out->cert_index = c->entry ? c->entry->index : 0;
	return 0;
}

const struct tls_peer *tls_conn_peer(const struct tls_conn *c)
{
	return &c->peer;
}

int tls_conn_xfcc(const struct tls_conn *c, const char *by, char *buf, size_t cap)
{
	const struct tls_peer *p = &c->peer;
	if (!p->present) {
		if (cap > 0)
			buf[0] = '\0';
		return 0;
	}
	struct xfcc_cert x = { 0 };
	if (by != NULL)
		x.by = (struct id_str){ by, strlen(by) };
	x.hash = p->sha256;
	x.subject = (struct id_str){ p->subject ? p->subject : "", p->subject ? strlen(p->subject) : 0 };
	for (unsigned i = 0; i < p->n_uri && x.n_uri < XFCC_MAX_NAMES; i++)
		x.uri[x.n_uri++] = (struct id_str){ p->uri[i], strlen(p->uri[i]) };
	for (unsigned i = 0; i < p->n_dns && x.n_dns < XFCC_MAX_NAMES; i++)
		x.dns[x.n_dns++] = (struct id_str){ p->dns[i], strlen(p->dns[i]) };
	return xfcc_format(buf, cap, &x);
}

struct tls_session *tls_conn_session(const struct tls_conn *c)
{
	if (c->ctx->role != TLS_ROLE_CLIENT || !c->established || c->ssl == NULL)
		return NULL;
	/* No ticket, no resumption: weft's servers keep no session cache. The
	 * library only tells the ticket's length by copying it. */
	word32 tlen = 65535;
	uint8_t *probe = malloc(tlen);
	if (probe == NULL)
		return NULL;
	int rc = wolfSSL_get_SessionTicket(c->ssl, probe, &tlen);
	free(probe);
	if (rc != WOLFSSL_SUCCESS || tlen == 0)
		return NULL;
	struct tls_session *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	/* A reference to the connection's own session object (wolfSSL_SESSION_dup
	 * needs HAVE_EXT_CACHE); wolfSSL_set_session() copies it into the next
	 * connection, so sharing it is safe. */
	s->ws = wolfSSL_get1_session(c->ssl);
	if (s->ws == NULL) {
		free(s);
		return NULL;
	}
	if (c->blob != NULL) {
		s->blob = malloc(c->blob_len);
		if (s->blob == NULL) {
			tls_session_free(s);
			return NULL;
		}
		memcpy(s->blob, c->blob, c->blob_len);
		s->blob_len = c->blob_len;
	}
	return s;
}

void tls_session_free(struct tls_session *s)
{
	if (s == NULL)
		return;
	if (s->ws != NULL)
		wolfSSL_SESSION_free(s->ws);
	free(s->blob);
	free(s);
}
