/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TLS as an upper-layer protocol of weft's TCP (see "Upper-layer protocols"
 * in dataplane/tcp/tcp.h): a TLS layer attached to a connection makes the
 * TCP API carry plaintext. The proxies keep calling tcp_recv(),
 * tcp_send_mbuf(), tcp_close() ... unchanged:
 *
 *   - received ciphertext is pulled from the TCP receive queue by the TLS
 *     engine (transport mode) and decrypted into a bounded plaintext queue;
 *     tcp_rx_ready()/tcp_recv()/tcp_recv_copy() and TCP_EV_READABLE see
 *     plaintext. A full plaintext queue stops the pulling, so the TCP window
 *     closes (backpressure is kept end to end).
 *   - tcp_send()/tcp_send_mbuf() encrypt into the TCP send buffer;
 *     tcp_send_space() is the send buffer's room less record overhead.
 *   - TCP_EV_ESTABLISHED reaches the application only once the handshake is
 *     done (and the peer passed the listener's allow_principals). A failed
 *     or timed-out handshake is counted by reason and reset; a passive
 *     connection's application never hears of it, an active one's gets
 *     TCP_EV_RESET.
 *   - tcp_shutdown()/tcp_close() send close_notify first.
 *
 * Events the layer cannot deliver where it notices them (a close_notify
 * found while the application reads) are delivered by tls_ulp_timers().
 *
 * Worker-local: every function runs on the worker that owns the connection,
 * except the configuration objects, which the management thread builds and
 * the workers share read-only (reference counted).
 */
#ifndef WEFT_DATAPLANE_TLS_ULP_H
#define WEFT_DATAPLANE_TLS_ULP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/tcp/tcp.h"
#include "dataplane/tls/tls.h"
#include "dataplane/worker.h"

struct principal_list;

/*
 * What a listener (server) or cluster (client) terminates or originates
 * TLS with. Built on the management thread, immutable once published, held
 * by the snapshot and by every connection that uses it (so a rotation or a
 * reload never pulls a context from under an established connection).
 */
struct tls_ulp_cfg {
	uint32_t refs;                 /* atomic */
	struct tls_ctx *ctx;           /* one reference */
	bool client;
	bool permissive;               /* server: plaintext accepted too (first byte not 0x16) */
	uint32_t handshake_timeout_ms;
	struct principal_list *allow;  /* server: listener-wide allow_principals; NULL: any peer */
	char by[256];                  /* weft's own URI SAN (the XFCC By), "" if none */
	char sni[256];                 /* client: the name sent, "" for none */
};

/** A configuration holding one reference on ctx (taken over) and allow (taken over). NULL: no memory. */
struct tls_ulp_cfg *tls_ulp_cfg_new(struct tls_ctx *ctx, bool client, bool permissive, uint32_t handshake_timeout_ms,
				    struct principal_list *allow, const char *by, const char *sni);
void tls_ulp_cfg_ref(struct tls_ulp_cfg *cfg);
void tls_ulp_cfg_unref(struct tls_ulp_cfg *cfg);

/* X(field, "help"): the layer's own counters, next to the engine's (struct tls_stats). */
#define TLS_ULP_STATS(X)                                                                           \
	X(server_conns, "connections accepted into a TLS handshake")                              \
	X(client_conns, "connections originating TLS")                                            \
	X(handshake_timeouts, "handshakes reset at the listener's handshake_timeout_ms")          \
	X(plaintext_in_permissive, "plaintext connections accepted by a permissive listener")     \
	X(principal_denied, "connections refused by the listener's allow_principals")            \
	X(resets, "TLS connections reset after a TLS error (see the errors by reason)")

enum tls_ulp_stat {
#define TLS_ULP_X_ENUM(f, h) TLS_ULP_##f,
	TLS_ULP_STATS(TLS_ULP_X_ENUM)
#undef TLS_ULP_X_ENUM
	TLS_ULP_STAT_MAX
};

extern const char *const tls_ulp_stat_name[];
extern const char *const tls_ulp_stat_help[];

struct tls_ulp_stats {
	uint64_t stat[TLS_ULP_STAT_MAX];
};

/** Per-worker state (TLS engine worker, counters, timers). 0 or -ENOMEM / -EINVAL. */
int tls_ulp_init(struct weft_worker *w);
void tls_ulp_free(struct weft_worker *w);

/** Handshake deadlines and deferred events; call about every millisecond. */
void tls_ulp_timers(struct weft_worker *w);

/** Counters of w (NULL before tls_ulp_init). Read with WEFT_CTR_READ. */
const struct tls_ulp_stats *tls_ulp_stats(const struct weft_worker *w);
const struct tls_stats *tls_ulp_engine_stats(const struct weft_worker *w);

/*
 * The user pointer an application's handler receives with the
 * TCP_EV_ESTABLISHED the layer delivers after a server handshake (or after
 * a permissive listener found plaintext): it tells the accept handler that
 * TLS is settled and it should go on as for any connection.
 */
extern const char tls_ulp_settled_marker;
#define TLS_ULP_SETTLED ((void *)&tls_ulp_settled_marker)

/**
 * Server: c has just been accepted on a listener with cfg. Attach the layer
 * and start the handshake; fn gets TCP_EV_ESTABLISHED with TLS_ULP_SETTLED
 * once it is done. On failure (no memory) c is aborted.
 *
 * @return 0, or -1 (c was aborted)
 */
int tls_ulp_accept(struct weft_worker *w, struct tcp_conn *c, struct tls_ulp_cfg *cfg, tcp_event_fn fn);

/**
 * Client: c was just opened with tcp_connect*() (SYN_SENT) towards an
 * endpoint of a cluster with cfg. The handshake starts once TCP is
 * established; fn/user get TCP_EV_ESTABLISHED after it, or TCP_EV_RESET.
 *
 * @return 0, or -1 (nothing attached; the caller still owns c)
 */
int tls_ulp_connect(struct weft_worker *w, struct tcp_conn *c, struct tls_ulp_cfg *cfg, tcp_event_fn fn,
		    void *user);

/** True when c carries TLS (its handshake done). */
bool tls_ulp_active(const struct tcp_conn *c);

/** The peer's SPIFFE ID (verified certificate, or from a resumed ticket); NULL if none or no TLS. */
const char *tls_ulp_principal(const struct tcp_conn *c);

/**
 * The x-forwarded-client-cert element for c's peer: By (the listener's own
 * URI SAN), Hash (SHA-256 of the peer certificate), URI (its SPIFFE ID).
 * Returns its length, 0 when c has no verified peer, -1 if cap is too small.
 */
int tls_ulp_xfcc(const struct tcp_conn *c, char *buf, size_t cap);

#endif
