/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * weft's TLS engine: the interface the rest of weft sees. One engine
 * implements it (tls_wolfssl.c, on wolfSSL); nothing outside that file
 * includes a wolfSSL header. A second engine would be a second .c file
 * implementing these functions, chosen at build time: a call costs no
 * indirection.
 *
 * Objects and threads
 *   tls_ctx     Immutable configuration built on the management thread from
 *               PEM (certificates and keys per SNI name, trust bundle, CRL,
 *               verify mode, ALPN, protocol policy), validated as it is
 *               built. Shared read-only by every worker. Reference counted:
 *               the snapshot holds one reference, every connection another,
 *               so a rotated-out context lives until its last connection
 *               closes ("established connections carry on").
 *   tls_ticket_keyring
 *               Session-ticket keys, generated and rotated by the management
 *               thread, read by every worker's handshakes through one atomic
 *               pointer (RCU): see the section below.
 *   tls_worker  Per-worker engine state (random generator, counters). One
 *               per worker, never shared.
 *   tls_conn    One TLS connection, owned by the worker that created it.
 *
 * Moving bytes (ciphertext never crosses more copies than the TLS library
 * needs: one in, one out)
 *   Queue mode (no transport given): the caller feeds received ciphertext
 *   with tls_conn_input() and takes ciphertext to send with
 *   tls_conn_output_peek()/tls_conn_output_consume() or tls_conn_output().
 *   Both queues are bounded: a full input queue makes tls_conn_input() take
 *   less, a full output queue makes tls_write() return WANT_WRITE. This is
 *   what the tests and the benchmark drive.
 *
 *   Transport mode (struct tls_transport given): wolfSSL's record layer
 *   pulls ciphertext straight from the transport into its record buffer
 *   (for weft's TCP: tcp_recv_copy() out of the receive mbufs, one copy) and
 *   pushes each finished record straight to it (tcp_send(), one copy into
 *   the send mbufs). The input queue then only holds a server's first bytes
 *   while the ClientHello is read, and the output queue only what the
 *   transport could not take (freed as soon as it drains).
 *
 * Non-blocking: every call returns at once with one of enum tls_status.
 * WANT_READ means "call again when more ciphertext has arrived", WANT_WRITE
 * "call again when the output has drained". In queue mode, after any call,
 * send whatever tls_conn_output_pending() reports.
 *
 * Errors are named (TLS_ERRORS below) and counted per worker, so a refused
 * handshake shows up in stats as "tls_peer_cert_expired" rather than as a
 * library error number.
 */
#ifndef WEFT_DATAPLANE_TLS_H
#define WEFT_DATAPLANE_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tls_ctx;
struct tls_conn;
struct tls_worker;
struct tls_ticket_keyring;
struct tls_ticket_keys;
struct tls_session;

/* ------------------------------------------------------------- status */

enum tls_status {
	TLS_DONE,       /* the operation completed (handshake done, data moved, close_notify sent) */
	TLS_WANT_READ,  /* needs more ciphertext from the peer */
	TLS_WANT_WRITE, /* needs the output drained first */
	TLS_CLOSED,     /* the peer sent close_notify: no more data will come */
	TLS_ERROR,      /* fatal; tls_conn_error() names the reason. Free the connection */
};

const char *tls_status_name(enum tls_status s);

/* X(ENUM_SUFFIX, "name", "help"). The names are counter labels. */
#define TLS_ERRORS(X)                                                                              \
	X(NONE, "tls_none", "no error")                                                            \
	X(NOT_TLS, "tls_not_tls", "the first bytes are not a TLS ClientHello")                     \
	X(CLIENTHELLO, "tls_bad_clienthello", "the ClientHello is malformed")                      \
	X(CLIENTHELLO_TOO_BIG, "tls_clienthello_too_big", "the ClientHello does not fit the input buffer") \
	X(VERSION, "tls_version", "no protocol version in common (TLS 1.2 and 1.3 only)")          \
	X(CIPHER, "tls_no_shared_cipher", "no cipher suite, group or signature algorithm in common") \
	X(ALPN, "tls_alpn", "the server chose an application protocol the client did not offer")   \
	X(PEER_CERT_MISSING, "tls_peer_cert_missing", "a certificate was required and the peer sent none") \
	X(PEER_CERT_EXPIRED, "tls_peer_cert_expired", "the peer's certificate (or a CA in its chain) has expired") \
	X(PEER_CERT_NOT_YET_VALID, "tls_peer_cert_not_yet_valid", "the peer's certificate is not valid yet") \
	X(PEER_CERT_UNKNOWN_CA, "tls_peer_cert_unknown_ca", "the peer's certificate does not chain to the trust bundle") \
	X(PEER_CERT_REVOKED, "tls_peer_cert_revoked", "the peer's certificate is revoked by the CRL") \
	X(PEER_CERT_BAD, "tls_peer_cert_bad", "the peer's certificate is malformed or its signature is wrong") \
	X(PEER_NAME, "tls_peer_name_mismatch", "the server's certificate has none of the expected SANs") \
	X(PEER_ALERT, "tls_peer_alert", "the peer sent a fatal alert")                            \
	X(RESUME_REFUSED, "tls_resume_refused",                                                    \
	  "client: a TLS 1.2 server refused the session ticket; forget the session and reconnect") \
	X(DECRYPT, "tls_decrypt", "a record failed authentication")                               \
	X(PROTOCOL, "tls_protocol", "the peer broke the protocol (unexpected or malformed message)") \
	X(TRUNCATED, "tls_truncated", "the transport closed without close_notify")                \
	X(TRANSPORT, "tls_transport", "the transport failed")                                     \
	X(NO_MEMORY, "tls_no_memory", "out of memory")                                            \
	X(INTERNAL, "tls_internal", "unexpected TLS library error (see the log detail)")

#define TLS_X_ENUM(e, n, h) TLS_ERR_##e,
enum tls_err { TLS_ERRORS(TLS_X_ENUM) TLS_ERR_MAX };
#undef TLS_X_ENUM

const char *tls_err_name(enum tls_err e);
const char *tls_err_help(enum tls_err e);

/* ------------------------------------------------------------- engine */

/**
 * Initialise the TLS library. Call once, on the management thread, before
 * anything else here. Returns 0 or -1.
 */
int tls_global_init(void);
void tls_global_cleanup(void);

/**
 * One line for the start-up log: library and version, and which AES and
 * GHASH implementation runs on this CPU, e.g.
 * "wolfSSL 5.5.4, AES-GCM: AES-NI with AVX2 GHASH (compiled in: AES-NI, AVX1/AVX2), ...".
 */
void tls_build_info(char *buf, size_t len);

/** Test seam: the wall clock (seconds since the epoch) used for ticket ages
 * and certificate checks at run time. NULL restores time(). */
void tls_set_clock(int64_t (*now)(void));

/* ------------------------------------------------------- ticket keys */

/*
 * Session tickets (RFC 5077 for TLS 1.2, RFC 8446 4.6.1 for TLS 1.3) are
 * sealed with AES-256-GCM under a key known to every worker. A key
 * generation holds the current key (sealing and opening) and the previous
 * one (opening only). The management thread calls tls_ticket_keyring_rotate()
 * every rotate period: it publishes a new generation with a release store;
 * handshakes on the workers load it with an acquire load. The generation it
 * replaced may still be read by a handshake in progress, so the caller frees
 * it with tls_ticket_keys_free() only after a grace period (DPDK QSBR in
 * weftd; at once in single-threaded tests).
 *
 * A ticket opened with the previous key is accepted and replaced by one
 * under the current key. With a ticket lifetime no longer than the rotate
 * period, every ticket stays openable for its whole lifetime; after two
 * rotations its key is gone and the client gets a full handshake.
 */

/**
 * @param lifetime_s  ticket lifetime announced to clients and enforced
 *                    (seconds; 0 means 3600)
 * @return the keyring with a first generation, or NULL (no memory, or no
 *         randomness: err says which)
 */
struct tls_ticket_keyring *tls_ticket_keyring_new(uint32_t lifetime_s, char *err, size_t errlen);

/**
 * Publish a new generation (fresh current key, the old current as previous).
 * Management thread only.
 *
 * @return the generation replaced, for tls_ticket_keys_free() after the
 *         grace period; NULL if no new key could be made (the old one stays)
 */
const struct tls_ticket_keys *tls_ticket_keyring_rotate(struct tls_ticket_keyring *r);

void tls_ticket_keys_free(const struct tls_ticket_keys *k);

/** Frees the ring and its current generation. No handshake may be running. */
void tls_ticket_keyring_free(struct tls_ticket_keyring *r);

/* ---------------------------------------------------------- contexts */

enum tls_role {
	TLS_ROLE_SERVER, /* a listener: terminates TLS from downstream */
	TLS_ROLE_CLIENT, /* a cluster: originates TLS (or mTLS) to upstream */
};

enum tls_verify {
	TLS_VERIFY_NONE,     /* server: ask for no certificate. client: do not check the server's */
	TLS_VERIFY_OPTIONAL, /* server: ask; verify one if sent (permissive listeners) */
	TLS_VERIFY_REQUIRE,  /* server: a valid client certificate is required (strict).
	                      * client: the server's certificate is checked */
};

enum tls_versions {
	TLS_V12_V13,  /* TLS 1.2 and 1.3 (never anything older) */
	TLS_V13_ONLY,
	TLS_V12_ONLY, /* for peers that mishandle 1.3, and for tests */
};

/* PEM from a file (pem == NULL) or from memory. path names it in errors either way. */
struct tls_source {
	const char *path;
	const char *pem;
	size_t pem_len;
};

#define TLS_MAX_CERTS 16
#define TLS_MAX_NAMES 16

struct tls_cert_params {
	struct tls_source chain; /* leaf first, then intermediates */
	struct tls_source key;   /* unencrypted PKCS#8, SEC1 EC or PKCS#1 RSA */
	/* SNI names this certificate serves: exact ("api.example.com") or a
	 * leftmost wildcard ("*.example.com", one label). n_names == 0: the
	 * certificate's own DNS SANs. */
	const char *names[TLS_MAX_NAMES];
	unsigned n_names;
};

struct tls_ctx_params {
	enum tls_role role;
	/* server: 1..TLS_MAX_CERTS; certs[0] answers clients whose SNI matches
	 * nothing (or who send none). client: 0, or 1 for mTLS. */
	unsigned n_certs;
	struct tls_cert_params certs[TLS_MAX_CERTS];
	struct tls_source trust;   /* CA bundle (PEM, several certificates); path and pem NULL: none */
	struct tls_source crl;     /* optional CRL (PEM) signed by a CA of the bundle */
	enum tls_verify verify;
	const char *alpn;          /* "h2,http/1.1" in preference order; NULL: no ALPN */
	enum tls_versions versions; /* default TLS_V12_V13 */
	/* client */
	const char *server_name;   /* SNI sent; also the DNS name checked when verify_names is empty */
	const char *verify_names[TLS_MAX_NAMES]; /* the server must present one: SPIFFE ID patterns
	                                           * (see policy/identity.h) or DNS names */
	unsigned n_verify_names;
	/* server */
	struct tls_ticket_keyring *tickets; /* NULL: no session tickets, no resumption */
	const char *scope;         /* tickets resume only in the scope (listener) that issued them */
	/* both */
	int64_t now;               /* certificate validity is checked at this time; 0: now */
};

/**
 * Build a context: read and check every file, set up the library.
 * Management thread only (it reads files and allocates).
 *
 * Refused, with the file named in err: unreadable or garbled PEM, an
 * expired or not-yet-valid certificate (own chain or trust bundle), a key
 * that does not match its certificate, an encrypted key, a CRL that does
 * not load, a server without certificates, verification without a bundle.
 * Example: "certs/server.pem: certificate expired on 2026-01-01T00:00:00Z
 * (CN=api.weft.test)".
 *
 * @return a context holding one reference, or NULL
 */
struct tls_ctx *tls_ctx_new(const struct tls_ctx_params *p, char *err, size_t errlen);

/** Take and drop references (atomic: any thread). The last drop frees. */
void tls_ctx_ref(struct tls_ctx *c);
void tls_ctx_unref(struct tls_ctx *c);

/**
 * SHA-256 over the current contents of every file p names (and the PEM given
 * in memory). The management thread polls it: a value different from
 * tls_ctx_digest() of the running context means a file changed and the
 * context should be rebuilt. Returns 0, or -1 if a file cannot be read.
 */
int tls_params_digest(const struct tls_ctx_params *p, uint8_t out[32]);
const uint8_t *tls_ctx_digest(const struct tls_ctx *c);

/* What a context serves, for logs and the admin API. */
struct tls_cert_info {
	char subject[512];   /* RFC 4514 */
	char names[512];    /* SNI names, comma-separated */
	int64_t not_before, not_after;
	uint8_t sha256[32]; /* of the leaf's DER */
	const char *key_type; /* "ECDSA P-256", "RSA 2048", ... */
	char uri[256];      /* the leaf's first URI SAN (weft's SPIFFE ID), "" if none */
};
unsigned tls_ctx_cert_count(const struct tls_ctx *c);
int tls_ctx_cert_info(const struct tls_ctx *c, unsigned i, struct tls_cert_info *out);

/* ------------------------------------------------------------ workers */

#define TLS_STATS(X)                                                                               \
	X(handshakes, "handshakes completed")                                                     \
	X(full, "full handshakes (certificate exchange)")                                         \
	X(resumed, "handshakes resumed from a session ticket")                                    \
	X(tls12, "handshakes at TLS 1.2")                                                         \
	X(tls13, "handshakes at TLS 1.3")                                                         \
	X(failed, "handshakes that failed (see errors by reason)")                                \
	X(tickets_issued, "session tickets sealed")                                               \
	X(tickets_previous_key, "tickets opened with the previous key (and reissued)")            \
	X(tickets_rejected, "tickets refused: unknown key, expired, foreign scope or no identity") \
	X(close_notify_in, "close_notify alerts received")                                        \
	X(close_notify_out, "close_notify alerts sent")

struct tls_stats {
#define TLS_X_FIELD(f, h) uint64_t f;
	TLS_STATS(TLS_X_FIELD)
#undef TLS_X_FIELD
	uint64_t errors[TLS_ERR_MAX];
};

extern const char *const tls_stat_name[];
extern const char *const tls_stat_help[];
extern const unsigned tls_stat_count;

/** Per-worker state; create on the worker's NUMA node or anywhere. NULL on failure. */
struct tls_worker *tls_worker_new(void);
void tls_worker_free(struct tls_worker *w);
/** Counters, written by the owning worker only (relaxed stores: read them with relaxed loads). */
const struct tls_stats *tls_worker_stats(const struct tls_worker *w);

/* -------------------------------------------------------- connections */

/*
 * Transport hooks (optional). Both are called from inside tls_* calls on the
 * owning worker, never re-entered.
 *   recv: copy up to len bytes of received ciphertext into buf. Return the
 *         count, 0 when none is ready now, -1 when the peer has closed its
 *         side (FIN) or the transport is dead.
 *   send: take up to len bytes of ciphertext. Return the count taken (0: no
 *         room now; the rest waits in the output queue), -1 when dead.
 */
struct tls_transport {
	long (*recv)(void *arg, void *buf, size_t len);
	long (*send)(void *arg, const void *buf, size_t len);
	void *arg;
};

struct tls_conn_opts {
	const struct tls_transport *transport; /* NULL: queue mode */
	const struct tls_session *session;     /* client: try to resume this session */
	const char *server_name;               /* client: SNI (and DNS name check) instead of the ctx's */
	size_t in_cap, out_cap;                /* queue bounds in bytes; 0: 32 KiB each */
};

/**
 * A connection in its handshake. Takes a reference on ctx.
 *
 * @param opts  NULL for queue mode with defaults
 * @return the connection, or NULL: no memory (counted as tls_no_memory), or
 *         opts->server_name is not a host name (counted as tls_internal)
 */
struct tls_conn *tls_conn_new(struct tls_worker *w, struct tls_ctx *ctx, const struct tls_conn_opts *opts);

/** Free everything (no alert is sent: call tls_shutdown() first for a clean close). */
void tls_conn_free(struct tls_conn *c);

/**
 * Advance the handshake. A server first reads the whole ClientHello (to pick
 * the certificate by SNI and the protocol by ALPN) before the library sees it.
 *
 * @return DONE (established; call again: DONE), WANT_READ, WANT_WRITE, ERROR
 */
enum tls_status tls_handshake_step(struct tls_conn *c);

/**
 * Decrypt up to len bytes of application data.
 *
 * @param got  bytes written to buf (0 unless DONE)
 * @return DONE (*got > 0), WANT_READ, WANT_WRITE (a post-handshake message
 *         needs an answer sent), CLOSED (close_notify received), ERROR
 */
enum tls_status tls_read(struct tls_conn *c, void *buf, size_t len, size_t *got);

/**
 * Encrypt and queue up to len bytes, one record per 16 KiB, as far as the
 * output has room for whole records. Bytes reported in *put are taken for
 * good (the caller may reuse buf).
 *
 * @return DONE (everything taken), WANT_WRITE (*put < len: call again once
 *         the output drained), ERROR
 */
enum tls_status tls_write(struct tls_conn *c, const void *buf, size_t len, size_t *put);

/**
 * Send close_notify (RFC 8446 6.1) after what is queued. Does not wait for
 * the peer's. DONE once the alert is queued or sent, WANT_WRITE, ERROR.
 */
enum tls_status tls_shutdown(struct tls_conn *c);

/** Transport mode: push queued output to the transport. DONE when empty, else WANT_WRITE. */
enum tls_status tls_flush(struct tls_conn *c);

enum tls_err tls_conn_error(const struct tls_conn *c);
/** Library-level detail of the last error for logs ("wolfSSL -151: ..."), "" if none. */
const char *tls_conn_error_detail(const struct tls_conn *c);

/*
 * Queue mode I/O. tls_conn_input() also works in transport mode, for bytes
 * the caller already took from the transport (a permissive listener's
 * sniffed first bytes): they are read before what the transport still holds.
 */
size_t tls_conn_input(struct tls_conn *c, const void *data, size_t len); /* returns bytes taken */
size_t tls_conn_input_room(const struct tls_conn *c);
void tls_conn_input_eof(struct tls_conn *c);                             /* the peer sent FIN */
size_t tls_conn_output_pending(const struct tls_conn *c);
/** The next contiguous run of output (NULL, *len 0 when empty). Consume what was sent. */
const uint8_t *tls_conn_output_peek(const struct tls_conn *c, size_t *len);
void tls_conn_output_consume(struct tls_conn *c, size_t n);
size_t tls_conn_output(struct tls_conn *c, void *buf, size_t len);      /* copy and consume */

/* ------------------------------------------------- after the handshake */

struct tls_conn_info {
	const char *version;   /* "TLSv1.2", "TLSv1.3" */
	const char *cipher;    /* the library's suite name, e.g. "TLS13-AES128-GCM-SHA256" */
	const char *alpn;      /* negotiated protocol, "" if none */
	const char *sni;       /* server: what the client asked for; client: what was sent; "" if none */
	bool resumed;
	unsigned cert_index;   /* server: which of the ctx's certificates answered */
};

/** Valid once the handshake is DONE; the strings live as long as c. */
int tls_conn_info(const struct tls_conn *c, struct tls_conn_info *out);

#define TLS_PEER_MAX_NAMES 8

/*
 * The peer's identity, from its verified certificate (full handshake) or
 * carried in the session ticket (resumption). All strings are NUL-terminated
 * and live as long as the connection.
 */
struct tls_peer {
	bool present;           /* a verified certificate (or its identity from a ticket) */
	const char *spiffe_id;  /* the one URI SAN, if it is a valid SPIFFE ID; else NULL */
	const char *subject;    /* RFC 4514 */
	uint8_t sha256[32];     /* of the certificate's DER (XFCC Hash) */
	int64_t not_after;
	unsigned n_uri, n_dns;
	const char *uri[TLS_PEER_MAX_NAMES];
	const char *dns[TLS_PEER_MAX_NAMES];
};

/** The peer (present false if none, or before the handshake is done). */
const struct tls_peer *tls_conn_peer(const struct tls_conn *c);

/**
 * The x-forwarded-client-cert element for this connection's peer (Envoy's
 * format, see policy/identity.h), with By set to by (weft's own SPIFFE ID,
 * or NULL). Returns its length, 0 when there is no peer certificate, -1 when
 * buf is too small.
 */
int tls_conn_xfcc(const struct tls_conn *c, const char *by, char *buf, size_t cap);

/* --------------------------------------------------- client sessions */

/**
 * Client: the session to resume next time (with TLS 1.3 the ticket arrives
 * after the handshake, so ask after the first tls_read() or before freeing
 * the connection). NULL if the server issued no ticket. Owned by the caller.
 */
struct tls_session *tls_conn_session(const struct tls_conn *c);
void tls_session_free(struct tls_session *s);

#endif
