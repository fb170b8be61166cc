/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * weft's TCP stack: one instance per worker, share nothing.
 *
 * Upward, the stack talks to its users (TLS, HTTP, the TCP proxy, health
 * checks) through one event callback per connection and a handful of calls
 * (send, receive, shut down, close, abort). Downward, it is fed by the IP
 * layer through tcp_input() and sends through net_ip4_output() and
 * net_ip6_output(). Time comes from w->now; tcp_timers() advances the timer
 * wheel and must be called about once a millisecond.
 *
 * Listeners are not sockets: a worker registers one accept hook, asked for
 * every SYN that matches no connection. That keeps the listener table where
 * it belongs (in the snapshot the application compiled) and lets a refusal
 * be an RST at once (RFC 9293 3.10.7.1).
 *
 * Threading: every function takes the worker that owns the connection and
 * must be called on that worker's lcore. Nothing here locks.
 *
 * Callbacks: events are delivered from inside tcp_input(), tcp_timers() and,
 * for TCP_EV_WRITABLE, never from inside a tcp_send*() call. A callback may
 * call any function of this API, on its own connection or another, including
 * tcp_close() and tcp_abort() of the connection being notified; the stack
 * defers the free until the callback has returned. After TCP_EV_RESET and
 * TCP_EV_CLOSED the connection pointer is dead once the callback returns.
 * After tcp_close() or tcp_abort() no callback is delivered any more.
 *
 * Backpressure (DESIGN principle 5): the send buffer and the receive buffer
 * are bounded per connection. tcp_send() takes what fits and says how much;
 * TCP_EV_WRITABLE follows once the peer's ACKs free room. The receive window
 * advertised to the peer is the room left in the receive buffer, so a reader
 * that does not call tcp_recv() closes the peer's window instead of making
 * the stack buffer without bound.
 */
#ifndef WEFT_DATAPLANE_TCP_H
#define WEFT_DATAPLANE_TCP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "dataplane/worker.h"
#include "policy/config.h"

struct tcp_conn;
struct tcp_stack;

/* RFC 9293 3.3.2. X(ENUM_SUFFIX, "name"). There is no LISTEN: see the accept hook. */
#define TCP_STATES(X)                                                                              \
	X(CLOSED, "closed")                                                                        \
	X(SYN_SENT, "syn_sent")                                                                    \
	X(SYN_RECEIVED, "syn_received")                                                            \
	X(ESTABLISHED, "established")                                                              \
	X(FIN_WAIT_1, "fin_wait_1")                                                                \
	X(FIN_WAIT_2, "fin_wait_2")                                                                \
	X(CLOSE_WAIT, "close_wait")                                                                \
	X(CLOSING, "closing")                                                                      \
	X(LAST_ACK, "last_ack")                                                                    \
	X(TIME_WAIT, "time_wait")

#define TCP_X_ENUM_STATE(e, n) TCP_##e,
enum tcp_state { TCP_STATES(TCP_X_ENUM_STATE) TCP_STATE_MAX };
#undef TCP_X_ENUM_STATE

/** "established", ... for stats and logs. */
const char *tcp_state_name(enum tcp_state s);

enum tcp_event {
	/* Handshake complete: active open got its SYN-ACK, or a passive open its final ACK. */
	TCP_EV_ESTABLISHED,
	/* New in-order data arrived (tcp_rx_ready() > 0). Sent again with each arrival, not while it
	 * sits unread: a reader that holds back (backpressure) comes back to tcp_recv() on its own. */
	TCP_EV_READABLE,
	/* Send buffer space was freed after a tcp_send*() call could not take everything. */
	TCP_EV_WRITABLE,
	/* FIN received: no more data will arrive (whatever is buffered can still be read). */
	TCP_EV_PEER_CLOSED,
	/* RST received, connect refused, or aborted by timeout (retransmissions, keepalive).
	 * The stack frees the connection after the callback returns. */
	TCP_EV_RESET,
	/* Both directions closed cleanly. The stack frees the connection after the callback
	 * returns (it may linger in TIME_WAIT internally, invisible to the application). */
	TCP_EV_CLOSED,
};

typedef void (*tcp_event_fn)(struct weft_worker *w, struct tcp_conn *c, enum tcp_event ev, void *user);

/* A connection's addresses as seen from weft. Ports in host byte order. */
struct tcp_endpoints {
	struct weft_ip local;
	struct weft_ip remote;
	uint16_t lport;
	uint16_t rport;
	uint16_t port; /* weft port index the connection lives on */
};

/*
 * What the application gives for a new connection: the accept hook fills it
 * for passive opens; tcp_connect_ex() takes it for active ones. Zero sizes
 * mean the stack defaults from struct tcp_params.
 */
struct tcp_accept {
	tcp_event_fn fn;
	void *user;
	uint32_t sndbuf; /* bytes the send buffer holds (unacknowledged + unsent) */
	uint32_t rcvbuf; /* bytes of received data held before the window closes */
};

/**
 * The accept hook: asked for every SYN that matches no connection.
 *
 * @param ep   the connection the SYN asks for (local = our address and port)
 * @param out  to fill with the event callback, its argument and optional sizes
 * @return 0 to accept; non-zero to refuse: the stack answers with an RST
 *         (RFC 9293 3.10.7.1) and counts the refusal under the drop reason
 *         the hook returns when it is a positive enum weft_drop (a listener
 *         with no room, say), else under tcp_no_listener.
 *
 * With SYN cookies in play (backlog full) the hook is asked at the SYN, to
 * decide between RST and cookie, and again when the cookie-bearing ACK
 * arrives, to bind the connection; it must therefore be cheap and give the
 * same answer twice. No event reaches the application for a passive
 * connection before TCP_EV_ESTABLISHED; a handshake that fails is freed
 * silently.
 */
typedef int (*tcp_accept_fn)(struct weft_worker *w, const struct tcp_endpoints *ep, struct tcp_accept *out);

enum tcp_cc_algo {
	TCP_CC_CUBIC,   /* RFC 9438, the default */
	TCP_CC_NEWRENO, /* RFC 5681 + RFC 6582 */
};

/*
 * Stack parameters, per worker. Fill with tcp_params_default() and change
 * what you need; every field has a sane default.
 */
struct tcp_params {
	uint32_t max_conns;      /* preallocated connection objects (TIME_WAIT included): 16384 */
	uint32_t sndbuf;         /* default send buffer bytes: 256 KiB */
	uint32_t rcvbuf;         /* default receive buffer bytes: 256 KiB */
	uint32_t syn_backlog;    /* SYN_RECEIVED entries before SYN cookies take over: 1024 */
	bool syncookies;         /* true: overflow answered with cookies (RFC 4987 3.6); false: dropped */
	bool opt_wscale;         /* offer window scaling (RFC 7323 2): true */
	bool opt_ts;             /* offer timestamps (RFC 7323 3): true */
	bool opt_sack;           /* offer SACK (RFC 2018): true */
	bool tlp;                /* tail loss probes (RFC 8985 7) on SACK connections: true */
	enum tcp_cc_algo cc;     /* congestion control for new connections: CUBIC */
	uint32_t rto_initial_ms; /* RFC 6298 2.1: 1000 */
	uint32_t rto_min_ms;     /* RFC 6298 2.4 says 1 s; a data plane on short paths uses 200 */
	uint32_t rto_max_ms;     /* RFC 6298 2.5 allows a cap of at least 60 s: 60000 */
	uint32_t max_retries;    /* data retransmissions of one segment before reset: 8 */
	uint32_t syn_retries;    /* SYN / SYN-ACK retransmissions before giving up: 5 */
	uint32_t delack_ms;      /* RFC 1122 4.2.3.2 / RFC 9293 3.8.6.3 (< 500 ms): 40 */
	uint32_t time_wait_ms;   /* 2*MSL. RFC 9293 says MSL = 2 min; a proxy's tuples are plentiful
	                          * and reuse is guarded by RFC 6191, so 10000 */
	uint32_t fin_wait2_ms;   /* orphaned FIN_WAIT_2 (after tcp_close) before it is freed: 30000 */
	uint32_t keepalive_ms;   /* idle time before the first probe; 0 = off (RFC 1122 4.2.3.6): 0 */
	uint32_t keepalive_intvl_ms; /* between probes: 75000 */
	uint32_t keepalive_probes;   /* unanswered probes before reset: 9 */
	uint32_t ooo_max_segs;   /* out-of-order queue bound, segments; 0: a full window (see tcp_ooo_max_segs): 0 */
	uint32_t ooo_max_bytes;  /* out-of-order queue bound, bytes: rcvbuf */
	uint32_t challenge_ack_per_s; /* RFC 5961 7 rate limit, per worker: 1000 */
	uint16_t ephemeral_lo;   /* source ports for tcp_connect (RFC 6056): 32768 */
	uint16_t ephemeral_hi;   /* ...to 60999 inclusive */
	uint8_t linear_tx_ports; /* bitmask of weft ports whose PMD cannot send mbuf chains
	                          * (af_xdp in 22.11): output is copied into one segment there */
};

/** Fill p with the defaults documented above. */
void tcp_params_default(struct tcp_params *p);

/*
 * Per-worker counters, written by the worker only (WEFT_CTR_ADD), read by
 * the management thread with WEFT_CTR_READ. X(field, "help").
 */
#define TCP_STATS(X)                                                                               \
	X(active_opens, "connections opened by tcp_connect")                                      \
	X(passive_opens, "connections accepted (handshake completed)")                            \
	X(connect_failed, "active opens refused by RST or timed out")                             \
	X(closed, "connections closed cleanly")                                                   \
	X(resets_in, "connections reset by the peer")                                             \
	X(resets_out, "RST segments sent")                                                        \
	X(aborted, "connections aborted by the application or a timeout")                         \
	X(timeouts, "connections reset after too many retransmissions or keepalive probes")       \
	X(segs_in, "segments received for a connection")                                          \
	X(segs_out, "segments sent")                                                              \
	X(bytes_in, "payload bytes delivered in order")                                           \
	X(bytes_out, "payload bytes sent for the first time")                                     \
	X(retransmits, "segments retransmitted")                                                  \
	X(retrans_bytes, "payload bytes retransmitted")                                           \
	X(rto_fires, "retransmission timeouts")                                                   \
	X(fast_retransmits, "fast retransmits (three duplicate ACKs or SACK loss detection)")     \
	X(dup_acks, "duplicate ACKs received")                                                    \
	X(sack_recoveries, "loss recoveries driven by SACK (RFC 6675)")                           \
	X(newreno_recoveries, "loss recoveries without SACK (RFC 6582)")                          \
	X(partial_acks, "partial ACKs during recovery")                                           \
	X(spurious_rto, "RTOs undone because the original was ACKed (timestamps)")                \
	X(limited_transmits, "new segments sent on the first two duplicate ACKs (RFC 3042)")      \
	X(rescue_retransmits, "RFC 6675 rescue retransmissions of the tail in SACK recovery")    \
	X(tlp_probes, "tail loss probes sent (RFC 8985 7)")                                       \
	X(lost_retransmits, "retransmissions found lost and sent again (RFC 8985 6.2)")          \
	X(rto_recoveries, "RTO repairs resending only unSACKed data (RFC 6675 5.1)")             \
	X(rack_timeouts, "recoveries started when RACK's reordering window ran out (RFC 8985 6.3)") \
	X(reordering_seen, "connections whose peer saw reordering (RFC 8985 RACK.reord)")        \
	X(tlp_recoveries, "losses repaired by a tail loss probe (window reduced)")                \
	X(delayed_acks, "ACKs sent by the delayed-ACK timer")                                     \
	X(ooo_segs, "segments queued out of order")                                               \
	X(ooo_drops, "out-of-order segments dropped over the queue bound")                        \
	X(zero_window_probes, "zero-window probes sent")                                          \
	X(keepalive_probes, "keepalive probes sent")                                              \
	X(syn_backlog_full, "SYNs beyond the backlog")                                            \
	X(syncookies_sent, "SYN cookies sent")                                                    \
	X(syncookies_ok, "SYN cookies validated")                                                 \
	X(syncookies_bad, "ACKs with an invalid SYN cookie")                                      \
	X(challenge_acks, "RFC 5961 challenge ACKs sent")                                         \
	X(challenge_acks_limited, "challenge ACKs suppressed by the rate limit")                  \
	X(paws_rejects, "segments rejected by PAWS (RFC 7323 5)")                                 \
	X(time_wait_reuse, "TIME_WAIT tuples reused by a new SYN (RFC 6191)")                     \
	X(rst_after_close, "RSTs sent for data arriving after tcp_close (RFC 9293 3.10.7.4)")     \
	X(conn_table_full, "connections refused for lack of a free connection object")            \
	X(no_mbuf, "segments not sent for lack of mbufs (retried by the timers)")

struct tcp_stats {
#define TCP_X_FIELD(f, h) uint64_t f;
	TCP_STATS(TCP_X_FIELD)
#undef TCP_X_FIELD
	uint64_t state[TCP_STATE_MAX]; /* gauge: connections in each state now */
};

extern const char *const tcp_stat_name[];   /* "active_opens", ... in TCP_STATS order */
extern const char *const tcp_stat_help[];
extern const unsigned tcp_stat_count;        /* entries in the two arrays above */

/** Counters of w's stack (NULL before tcp_stack_init). Read fields with WEFT_CTR_READ. */
const struct tcp_stats *tcp_stack_stats(const struct weft_worker *w);

/**
 * Create w's stack and set w->tcp. Allocates every connection object and the
 * tables up front (on the worker's NUMA node); nothing is allocated per
 * packet except mbufs from w->pool.
 *
 * @param p  parameters, NULL for the defaults
 * @return 0, -EINVAL (bad parameters), -ENOMEM
 */
int tcp_stack_init(struct weft_worker *w, const struct tcp_params *p);

/** Free every connection (silently, no RST, no callback) and the stack. w->tcp becomes NULL. */
void tcp_stack_free(struct weft_worker *w);

/** Register the accept hook (NULL: refuse every SYN with RST). */
void tcp_set_accept(struct weft_worker *w, tcp_accept_fn fn);

/**
 * A TCP segment for this host. Called by the IPv4/IPv6 layer after it has
 * validated its header and found the destination to be ours.
 *
 * @param m    the segment; data offset at the TCP header, pkt_len exactly the
 *             TCP header plus payload (link padding trimmed). Headers must be
 *             in the first segment. Takes ownership of m: the payload is
 *             handed up without copying, everything else is freed or dropped
 *             with a named reason.
 * @param src  the IP source (the peer), dst the IP destination (us)
 */
void tcp_input(struct weft_worker *w, uint16_t port, struct rte_mbuf *m, const struct weft_ip *src,
	       const struct weft_ip *dst);

/** Advance the timer wheel to w->now. Call about every millisecond (the worker loop does). */
void tcp_timers(struct weft_worker *w);

/**
 * Active open towards dst:dport with the stack's default sizes.
 * The source address is the one net_ip*_output() will route from; the source
 * port is chosen so that the peer's replies hash back to this worker.
 *
 * @param err  set on failure: EHOSTUNREACH (no route), EADDRNOTAVAIL (no
 *             source address or no free source port), ENOMEM (no free
 *             connection object), EINVAL (bad address)
 * @return the connection in SYN_SENT (TCP_EV_ESTABLISHED or TCP_EV_RESET
 *         follows), or NULL
 */
struct tcp_conn *tcp_connect(struct weft_worker *w, const struct weft_ip *dst, uint16_t dport, tcp_event_fn fn,
			     void *user, int *err);

/** Same, with callback and buffer sizes from opt (zero sizes: defaults). */
struct tcp_conn *tcp_connect_ex(struct weft_worker *w, const struct weft_ip *dst, uint16_t dport,
				const struct tcp_accept *opt, int *err);

/** Replace the event callback and its argument (a proxy handing a connection over). */
void tcp_set_handler(struct tcp_conn *c, tcp_event_fn fn, void *user);

/**
 * Queue len bytes for sending (copied into mbufs from w->pool) and send what
 * the windows allow now. Segments go out as soon as they are queued (no
 * Nagle: weft's users write whole messages).
 *
 * @return bytes taken, 0..len. Fewer than len means the send buffer is full:
 *         TCP_EV_WRITABLE follows when room frees up. -ENOTCONN when the
 *         connection can no longer send (FIN already queued, reset, closed),
 *         -ENOBUFS when no mbuf was available and nothing was taken.
 */
int tcp_send(struct weft_worker *w, struct tcp_conn *c, const void *data, size_t len);

/**
 * Zero-copy send of the payload chain m (for example one returned by
 * tcp_recv() on another connection). All or nothing.
 *
 * @param m  takes ownership on success only; every segment's data (from its
 *           data offset, data_len bytes) is sent as is. Segments may be
 *           indirect or shared: the stack only reads them.
 * @return 0, -EAGAIN (not enough send space: m is still the caller's,
 *         TCP_EV_WRITABLE follows), -ENOTCONN (m is still the caller's)
 */
int tcp_send_mbuf(struct weft_worker *w, struct tcp_conn *c, struct rte_mbuf *m);

/**
 * Pop up to max_bytes of in-order payload.
 *
 * @return an mbuf chain (data offset at the payload, pkt_len the byte count,
 *         ownership passes to the caller), or NULL when nothing is ready. The
 *         receive window opens by what was taken; a window update goes out
 *         when that is worth it (RFC 9293 3.8.6.2.2, receiver SWS avoidance).
 */
struct rte_mbuf *tcp_recv(struct weft_worker *w, struct tcp_conn *c, uint32_t max_bytes);

/** Copy up to len bytes of in-order payload into buf and consume them. Returns bytes copied. */
size_t tcp_recv_copy(struct weft_worker *w, struct tcp_conn *c, void *buf, size_t len);

/** In-order bytes ready for tcp_recv(). */
size_t tcp_rx_ready(const struct tcp_conn *c);

/** Bytes tcp_send() would take now. 0 once the connection can no longer send. */
size_t tcp_send_space(const struct tcp_conn *c);

/** Send a FIN after the queued data; keep receiving (half close, RFC 9293 3.6). */
void tcp_shutdown(struct weft_worker *w, struct tcp_conn *c);

/**
 * The application is done with c: FIN after the queued data, no callback
 * ever again, c must not be used after the call. The stack finishes the
 * close on its own (FIN_WAIT, TIME_WAIT) and answers data that still arrives
 * with an RST (RFC 9293 3.10.7.4, RFC 1122 4.2.2.13). Unread received data
 * is dropped and also answered with an RST at once.
 */
void tcp_close(struct weft_worker *w, struct tcp_conn *c);

/** Send an RST now and free c. No callback; c must not be used after the call. */
void tcp_abort(struct weft_worker *w, struct tcp_conn *c);

/**
 * Turn keepalive on (idle_ms > 0) or off for c (RFC 1122 4.2.3.6): after idle_ms without
 * a segment from the peer, probe every intvl_ms (0: 75 s); probes unanswered (0: 9) reset it.
 */
void tcp_set_keepalive(struct weft_worker *w, struct tcp_conn *c, uint32_t idle_ms, uint32_t intvl_ms,
		       uint32_t probes);

/* Introspection, for stats, logs and tests. */
struct tcp_conn_info {
	enum tcp_state state;
	struct tcp_endpoints ep;
	enum tcp_cc_algo cc;
	uint32_t mss;        /* effective send MSS (payload bytes per segment) */
	uint32_t cwnd;       /* bytes */
	uint32_t ssthresh;   /* bytes */
	uint32_t snd_wnd;    /* peer's advertised window, bytes */
	uint32_t rcv_wnd;    /* window we advertise, bytes */
	uint32_t flight;     /* bytes sent and not yet acknowledged */
	uint32_t srtt_us;    /* 0 until the first sample */
	uint32_t rttvar_us;
	uint32_t rto_ms;
	uint64_t bytes_in;   /* payload delivered in order */
	uint64_t bytes_out;  /* payload acknowledged by the peer */
	uint32_t retransmits;
	uint8_t snd_wscale;  /* peer's shift (applied to windows it sends) */
	uint8_t rcv_wscale;  /* our shift */
	bool ts;             /* timestamps negotiated */
	bool sack;           /* SACK negotiated */
	bool in_recovery;
};

void tcp_conn_info(const struct tcp_conn *c, struct tcp_conn_info *out);
enum tcp_state tcp_conn_state(const struct tcp_conn *c);
const struct tcp_endpoints *tcp_conn_endpoints(const struct tcp_conn *c);

/*
 * Upper-layer protocols (as Linux's kTLS ULP): a layer attached to one
 * connection sits between the stack and the application. The application
 * keeps calling tcp_send(), tcp_send_mbuf(), tcp_recv(), tcp_recv_copy(),
 * tcp_rx_ready(), tcp_send_space(), tcp_shutdown(), tcp_close(),
 * tcp_abort() and tcp_set_handler(); while a layer is attached each of them
 * goes to the layer's ops instead (one predictable branch when none is).
 * The layer reaches the connection underneath through the tcp_lower_*()
 * calls, and receives the stack's events by installing its own handler with
 * tcp_lower_set_handler(); what the application sees of events is up to the
 * layer. dataplane/tls/tls_ulp.c is the one layer: TLS.
 */
struct tcp_ulp_ops {
	int (*send)(struct weft_worker *w, struct tcp_conn *c, void *ulp, const void *data, size_t len);
	int (*send_mbuf)(struct weft_worker *w, struct tcp_conn *c, void *ulp, struct rte_mbuf *m);
	struct rte_mbuf *(*recv)(struct weft_worker *w, struct tcp_conn *c, void *ulp, uint32_t max_bytes);
	size_t (*recv_copy)(struct weft_worker *w, struct tcp_conn *c, void *ulp, void *buf, size_t len);
	size_t (*rx_ready)(const struct tcp_conn *c, const void *ulp);
	size_t (*send_space)(const struct tcp_conn *c, const void *ulp);
	void (*shutdown)(struct weft_worker *w, struct tcp_conn *c, void *ulp);
	void (*close)(struct weft_worker *w, struct tcp_conn *c, void *ulp);
	void (*abort)(struct weft_worker *w, struct tcp_conn *c, void *ulp);
	void (*set_handler)(struct tcp_conn *c, void *ulp, tcp_event_fn fn, void *user);
};

/** Attach a layer to c (ops NULL: detach). The layer owns ulp and frees it when it detaches. */
void tcp_ulp_set(struct tcp_conn *c, const struct tcp_ulp_ops *ops, void *ulp);
/** c's layer state when its layer is ops, else NULL. */
void *tcp_ulp_get(const struct tcp_conn *c, const struct tcp_ulp_ops *ops);

/* The connection under the layer: the same calls as above, never redirected. */
int tcp_lower_send(struct weft_worker *w, struct tcp_conn *c, const void *data, size_t len);
size_t tcp_lower_recv_copy(struct weft_worker *w, struct tcp_conn *c, void *buf, size_t len);
/** Copy up to len bytes of received in-order payload without consuming them. */
size_t tcp_lower_peek(const struct tcp_conn *c, void *buf, size_t len);
size_t tcp_lower_rx_ready(const struct tcp_conn *c);
size_t tcp_lower_send_space(const struct tcp_conn *c);
/** Ask for TCP_EV_WRITABLE when send space frees up, without queueing anything. */
void tcp_lower_want_writable(struct tcp_conn *c);
void tcp_lower_shutdown(struct weft_worker *w, struct tcp_conn *c);
void tcp_lower_close(struct weft_worker *w, struct tcp_conn *c);
void tcp_lower_abort(struct weft_worker *w, struct tcp_conn *c);
void tcp_lower_set_handler(struct tcp_conn *c, tcp_event_fn fn, void *user);

/*
 * Test seam: replace the output path (default net_ip4_output/net_ip6_output).
 * fn receives a complete IP packet (m at the IPv4 or IPv6 header, TCP
 * checksum filled in) and takes ownership of it. NULL restores the default.
 */
typedef void (*tcp_output_fn)(struct weft_worker *w, uint16_t port, struct rte_mbuf *m, uint8_t af);
void tcp_set_output(struct weft_worker *w, tcp_output_fn fn);

#endif
