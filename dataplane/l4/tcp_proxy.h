/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * tcp_proxy: the first L4 application. Every downstream connection that a
 * listener of kind tcp_proxy accepts gets an upstream connection to an
 * endpoint of the listener's cluster (smooth weighted round robin, per
 * worker), and the bytes are piped both ways without copying: the payload
 * mbufs tcp_recv() returns on one connection go to tcp_send_mbuf() on the
 * other.
 *
 * Backpressure (DESIGN principle 5): a side is read only as far as the
 * other side's send buffer has room; the rest stays in its receive buffer,
 * so its advertised window closes and the fast sender waits.
 *
 * Closing: a FIN from one side is passed on (tcp_shutdown() of the other)
 * once everything it sent has been handed over; when both directions are
 * finished both connections are closed. An RST on either side aborts the
 * other (the peer gets a clean RST). An upstream that refuses (RST before
 * ESTABLISHED) or does not answer within connect_timeout_ms resets the
 * downstream; a session with no byte either way for idle_timeout_ms is
 * reset on both sides. Each case has its counter.
 *
 * Sessions are preallocated per worker; a listener admits at most its
 * share (max_connections / workers, rounded up) on each worker, and a SYN
 * beyond it is refused with an RST and a named drop reason.
 *
 * A session copies what it needs from the snapshot it started under (the
 * endpoint, the timeouts, the listener's stats slot): the snapshot may be
 * freed while the session lives on.
 *
 * Listeners of kind tls_passthrough share all of the above. Their session
 * starts in a sniffing phase: the downstream's first bytes are read into
 * the session (at most TCP_PROXY_HELLO_MAX, for at most connect_timeout_ms)
 * until tls_clienthello_parse() has a whole ClientHello; its server name
 * picks the cluster (weft_l4_sni_match()), the upstream is connected like
 * a tcp_proxy one, and the bytes read so far are the first it is sent.
 * Plaintext, a malformed hello, no matching name or a timeout reset the
 * client, each with its tls_* counter.
 *
 * Threading: everything here runs on the worker that owns the connections,
 * except tcp_proxy_stats(), whose counters the management thread reads
 * with WEFT_CTR_READ.
 */
#ifndef WEFT_DATAPLANE_L4_TCP_PROXY_H
#define WEFT_DATAPLANE_L4_TCP_PROXY_H

#include <stdint.h>

#include "dataplane/tcp/tcp.h"
#include "dataplane/worker.h"
#include "policy/l4cfg.h"

/* Bytes a tls_passthrough session reads while waiting for the ClientHello. */
#define TCP_PROXY_HELLO_MAX (16384 + 1024)

/* Per-worker counters. X(field, "help"). */
#define TCP_PROXY_STATS(X)                                                                         \
	X(upstream_connected, "upstream connections established")                                 \
	X(connect_errors, "upstream connections that could not be opened (no route, source port or connection object)") \
	X(connect_timeouts, "upstream handshakes that took longer than connect_timeout_ms")       \
	X(connect_refused, "upstream connections refused before they were established")          \
	X(idle_timeouts, "sessions reset after idle_timeout_ms without a byte either way")        \
	X(downstream_resets, "sessions ended by an RST from the downstream side")                 \
	X(upstream_resets, "sessions ended by an RST from an established upstream")               \
	X(closed, "sessions closed cleanly in both directions")                                   \
	X(refused_listener_full, "connections refused: the listener's share of this worker in use") \
	X(refused_no_session, "connections refused: every session object of this worker in use") \
	X(listener_gone, "handshakes completed after a reload removed their listener (reset)")   \
	X(bytes_to_upstream, "payload bytes passed from downstream to upstream")                 \
	X(bytes_to_downstream, "payload bytes passed from upstream to downstream")               \
	X(tls_routed, "tls_passthrough connections routed to a cluster by their ClientHello's SNI") \
	X(tls_no_route, "tls_passthrough connections reset: no name of sni_routes matches the SNI") \
	X(tls_not_tls, "tls_passthrough connections reset: the first bytes are not a TLS handshake record") \
	X(tls_malformed, "tls_passthrough connections reset: a malformed or oversized ClientHello") \
	X(tls_hello_timeouts, "tls_passthrough connections reset: no complete ClientHello within connect_timeout_ms") \
	X(tls_incomplete, "tls_passthrough connections closed by the client before a complete ClientHello")

#define TCP_PROXY_X_ENUM(f, h) TCP_PROXY_##f,
enum tcp_proxy_stat { TCP_PROXY_STATS(TCP_PROXY_X_ENUM) TCP_PROXY_STAT_MAX };
#undef TCP_PROXY_X_ENUM

extern const char *const tcp_proxy_stat_name[TCP_PROXY_STAT_MAX];
extern const char *const tcp_proxy_stat_help[TCP_PROXY_STAT_MAX];

/* Written by the worker only; read with WEFT_CTR_READ. */
struct tcp_proxy_stats {
	uint64_t stat[TCP_PROXY_STAT_MAX];
	uint64_t active[WEFT_L4_SLOTS]; /* gauge: sessions open now, by listener stats slot */
	uint64_t total[WEFT_L4_SLOTS];  /* sessions opened, by listener stats slot */
} __attribute__((aligned(64)));

/**
 * Allocate w's sessions (on the worker's NUMA node) and register the
 * accept hook with w's TCP stack, which must exist (tcp_stack_init()).
 *
 * @param max_sessions  sessions of this worker; each holds two connections,
 *                      so half the stack's max_conns is the natural size
 * @param sndbuf, rcvbuf  buffer sizes of both connections of a session
 *                      (0: the stack's defaults)
 * @return 0, -EINVAL (no stack, no sessions, w->id out of range), -ENOMEM
 */
int tcp_proxy_init(struct weft_worker *w, uint32_t max_sessions, uint32_t sndbuf, uint32_t rcvbuf);

/**
 * Forget every session and free w's proxy state. Call after the worker has
 * stopped and before tcp_stack_free(): the connections themselves are the
 * stack's to free. Held payload is freed here.
 */
void tcp_proxy_free(struct weft_worker *w);

/**
 * The accept hook (see tcp_accept_fn): a listener of w's current snapshot
 * at ep->local:ep->lport, with room on this worker.
 *
 * @return 0 to accept; -1 when no listener matches; when one matches but
 *         this worker has no room for it, the drop reason as a positive
 *         enum weft_drop (WEFT_DROP_TCP_PROXY_LISTENER_FULL or
 *         WEFT_DROP_TCP_PROXY_NO_SESSION). The stack answers every refusal
 *         with an RST.
 */
int tcp_proxy_accept(struct weft_worker *w, const struct tcp_endpoints *ep, struct tcp_accept *out);

/** Fire connect and idle timeouts that are due at w->now. Call about once a millisecond. */
void tcp_proxy_timers(struct weft_worker *w);

/** w's counters, or NULL when w runs no proxy. */
const struct tcp_proxy_stats *tcp_proxy_stats(const struct weft_worker *w);

/** Sessions open on w (for tests and shutdown checks). */
uint32_t tcp_proxy_sessions(const struct weft_worker *w);

#endif
