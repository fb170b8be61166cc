/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Private to dataplane/tcp: the connection object, the per-worker stack,
 * sequence arithmetic and the functions the files of the stack call on each
 * other.
 *
 * Files, by concern (as in VPP's src/vnet/tcp):
 *   tcp_conn.c       stack set-up, connection table and objects, active open
 *   tcp_input.c      segment validation and the RFC 9293 3.10.7 state machine
 *   tcp_output.c     segment building, the send loop, ACK/RST/SYN senders
 *   tcp_api.c        what the application calls: send, receive, close
 *   tcp_timer.c      the hashed timer wheel and the timer handlers
 *   tcp_sack.c       the RFC 6675 scoreboard
 *   tcp_cc_*.c       congestion control behind struct tcp_cc_ops
 *   tcp_syncookie.c  RFC 4987 SYN cookies, RFC 6528 ISNs, SipHash
 *
 * Mbuf ownership inside the stack: a function taking an mbuf owns it unless
 * its comment says otherwise. Queued payload lives in three places per
 * connection: the send queue (until acknowledged), the receive queue (until
 * the application takes it) and the out-of-order queue.
 */
#ifndef WEFT_DATAPLANE_TCP_PRIV_H
#define WEFT_DATAPLANE_TCP_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mbuf_dyn.h>

#include "dataplane/tcp/tcp.h"
#include "dataplane/worker.h"

/* TCP header flags (RFC 9293 3.1). */
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20

/* Option kinds (RFC 9293 3.2, RFC 7323 2.2 and 3.2, RFC 2018 2 and 3). */
#define TCPOPT_EOL 0
#define TCPOPT_NOP 1
#define TCPOPT_MSS 2
#define TCPOPT_WS 3
#define TCPOPT_SACK_PERM 4
#define TCPOPT_SACK 5
#define TCPOPT_TS 8

#define TCP_HDR_LEN 20
#define TCP_MAX_OPT_LEN 40
#define TCP_TS_OPT_LEN 12 /* NOP NOP TS, as sent on every segment once negotiated */
#define TCP_MAX_WSCALE 14 /* RFC 7323 2.3 */
#define TCP_DEFAULT_MSS4 536  /* RFC 9293 3.7.1: assumed without an MSS option */
#define TCP_DEFAULT_MSS6 1220 /* RFC 8200 5: 1280 minimum MTU less headers */
#define TCP_MIN_MSS 88        /* below this a peer's MSS option is refused (as Linux does) */
#define TCP_DUPTHRESH 3       /* RFC 5681 3.2, RFC 6675 2 */
#define TCP_SB_MAX 16         /* SACK scoreboard ranges kept */
#define TCP_RSACK_MAX 4       /* SACK blocks remembered for sending */
#define TCP_RXT_MAX 32        /* retransmissions in flight tracked for lost-retransmission detection */
#define TCP_INIT_CWND_SEGS 10 /* RFC 6928 */
#define TCP_COPY_MAX 256      /* payloads this small are copied into the header mbuf */
#define TCP_PAWS_IDLE_MS (24ull * 24 * 3600 * 1000) /* RFC 7323 5.5: TS.Recent expires after 24 days */
#define TCP_PAWS_WINDOW 1 /* ticks of the peer's timestamp clock PAWS forgives (reordering) */
#define TCP_COOKIE_PERIOD_MS 64000u /* SYN cookie time slot; a cookie lives two of them */

/* Sequence arithmetic modulo 2^32 (RFC 9293 3.4). */
static inline bool seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}
static inline bool seq_le(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}
static inline bool seq_gt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}
static inline bool seq_ge(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) >= 0;
}
static inline uint32_t seq_max(uint32_t a, uint32_t b)
{
	return seq_gt(a, b) ? a : b;
}
static inline uint32_t seq_min(uint32_t a, uint32_t b)
{
	return seq_lt(a, b) ? a : b;
}

/* Our window shift: the smallest that lets rcvbuf be advertised (RFC 7323 2.3). */
static inline uint8_t tcp_wscale_for(uint32_t rcvbuf)
{
	uint8_t s = 0;
	while (s < TCP_MAX_WSCALE && (rcvbuf >> s) > 65535)
		s++;
	return s;
}

/*
 * Ones'-complement sum (RFC 1071, not complemented, folded to 16 bits) of
 * chain m from byte off to its end. DPDK 22.11's rte_raw_cksum_mbuf()
 * byte-swaps the partial sum of a segment that starts at an odd offset
 * after truncating it to 16 bits, dropping its carries; here each
 * segment's sum is folded before the swap. Reads m only.
 */
static inline uint16_t tcp_chain_sum(const struct rte_mbuf *m, uint32_t off)
{
	uint64_t sum = 0;
	uint32_t done = 0;

	while (m != NULL && off >= m->data_len) {
		off -= m->data_len;
		m = m->next;
	}
	for (; m != NULL; m = m->next, off = 0) {
		uint32_t seglen = m->data_len - off;
		uint16_t part = __rte_raw_cksum_reduce(
			__rte_raw_cksum(rte_pktmbuf_mtod_offset(m, const void *, off), seglen, 0));
		/* A segment starting at an odd offset of the sum holds its bytes swapped. */
		sum += (done & 1) ? rte_bswap16(part) : part;
		done += seglen;
	}
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/*
 * Per-mbuf metadata the stack keeps in a registered dynamic field: the
 * sequence number of the first payload byte (out-of-order queue), the link
 * of the out-of-order list, and whether the stack may append to the mbuf.
 */
struct tcp_mb {
	struct rte_mbuf *qnext;
	uint32_t seq;
	uint8_t fin;       /* out-of-order segment carried a FIN after its data */
	uint8_t appendable; /* a direct mbuf the stack filled itself (send queue) */
};
extern int tcp_mb_offset;
static inline struct tcp_mb *tcp_mb(struct rte_mbuf *m)
{
	return RTE_MBUF_DYNFIELD(m, tcp_mb_offset, struct tcp_mb *);
}

/*
 * A byte queue made of mbuf segments linked through m->next. Only segment
 * fields are meaningful (data_off, data_len, next); the head's pkt_len and
 * nb_segs are not maintained while queued and are fixed when a chain leaves.
 */
struct tcp_q {
	struct rte_mbuf *head;
	struct rte_mbuf *tail;
	uint32_t bytes;
	uint32_t segs;
};

/* Parsed options of a received segment. */
struct tcp_opts {
	uint16_t mss;
	uint8_t wscale;
	bool has_mss, has_ws, has_ts, sack_perm;
	uint32_t tsval, tsecr;
	uint8_t n_sack;
	struct {
		uint32_t start, end;
	} sack[4];
};

/* A received segment, decoded once. */
struct tcp_seg {
	uint32_t seq, ack;
	uint32_t len;   /* payload bytes */
	uint32_t wnd;   /* raw window field */
	uint8_t flags;
	struct tcp_opts opt;
};

enum tcp_timer {
	TCP_T_RTX,    /* retransmission, SYN/SYN-ACK retransmission, or zero-window probe */
	TCP_T_DELACK, /* delayed ACK */
	TCP_T_KEEP,   /* keepalive */
	TCP_T_WAIT,   /* TIME_WAIT expiry, orphaned FIN_WAIT_2 */
	TCP_T_EVENT,  /* events posted outside input (CLOSED once the reader drained the queue) */
	TCP_T_PTO,    /* RFC 8985 7: tail loss probe */
	TCP_T_REO,    /* RFC 8985 6.3: RACK reordering window, before SACKed data makes a hole lost */
	TCP_T_MAX,
};

/* Connection flags. */
#define CF_ATTACHED 0x00000001u   /* the application knows the connection: callbacks go out */
#define CF_PASSIVE 0x00000002u    /* opened by a SYN we received */
#define CF_FIN_QUEUED 0x00000004u /* FIN goes out after the queued data */
#define CF_FIN_RCVD 0x00000008u
#define CF_TS 0x00000010u         /* timestamps negotiated */
#define CF_SACK 0x00000020u       /* SACK negotiated */
#define CF_WSCALE 0x00000040u     /* window scaling negotiated */
#define CF_ACK_NOW 0x00000080u    /* send an ACK before leaving the current entry point */
#define CF_WANT_WRITABLE 0x00000100u
#define CF_CLOSED_PENDING 0x00000200u /* both directions done; CLOSED waits for the reader */
#define CF_DEAD 0x00000400u       /* freed, or on the reap list */
#define CF_SYN_RTX 0x00000800u    /* the SYN or SYN-ACK was retransmitted (RFC 6298 5.7) */
#define CF_PERSIST 0x00001000u    /* the RTX timer is the zero-window probe timer */
#define CF_RTT_TIMING 0x00002000u /* rtt_seq is being timed (Karn) */
#define CF_ORPHAN 0x00004000u     /* tcp_close() called: no callbacks, data answered with RST */
#define CF_IN_WHEEL 0x00008000u
#define CF_RCV_SHUT 0x00010000u   /* application closed: arriving data is refused */
#define CF_ACK_OWED 0x00020000u     /* data received and not yet acknowledged (delayed ACK) */
#define CF_RESCUE 0x00040000u     /* RFC 6675 RescueRxt is defined (a rescue retransmission went out) */
#define CF_TLP_OUT 0x00080000u    /* RFC 8985 7: a loss probe is outstanding (tlp_end) */
#define CF_TLP_RTX 0x00100000u    /* ...and it was a retransmission */
#define CF_PTO_RESTART 0x00200000u /* new data was acknowledged: restart the probe timer */
#define CF_REORD 0x00400000u      /* RFC 8985 RACK.reord: the peer saw our segments out of order */

/*
 * Loss recovery in progress: SACK-based fast recovery (RFC 6675), NewReno
 * without SACK (RFC 6582), or repair after a retransmission timeout with
 * SACK (the RFC 6675 5.1 slow start that resends only unSACKed data).
 */
enum tcp_recovery { TCP_REC_NONE, TCP_REC_SACK, TCP_REC_NEWRENO, TCP_REC_LOSS };

struct tcp_sack_block {
	uint32_t start, end;
};

/*
 * A retransmission in flight, kept in the order they were sent. It is lost
 * once something sent after it has been delivered (RFC 8985 6.2's rule,
 * with the send order standing for the send time): a later retransmission,
 * or original data at or above hi_orig (SND.MAX when it went, so sent
 * afterwards). RFC 6675 alone never resends a segment twice before the RTO.
 */
struct tcp_rxt {
	uint32_t start, end;
	uint32_t hi_orig;
	uint32_t lost; /* found lost, to be sent again */
};

struct tcp_cubic {
	double w_max;      /* segments, window before the last reduction */
	double w_last_max; /* for fast convergence (RFC 9438 4.7) */
	double k;          /* seconds */
	double w_est;      /* Reno-friendly estimate (RFC 9438 4.3), segments */
	uint64_t epoch_us; /* start of the current congestion-avoidance epoch, 0: none */
	uint32_t cwnd_epoch; /* cwnd in bytes at the epoch start */
	double acked_frac; /* sub-segment growth carried between ACKs */
};

struct tcp_conn {
	/* Lookup: written at creation only. */
	struct tcp_endpoints ep;
	uint32_t hash;
	uint32_t idx;           /* index in the stack's object array */
	enum tcp_state state;
	uint32_t flags;
	uint16_t port;          /* weft port for output */
	uint8_t cc_algo;
	uint8_t recovery;       /* enum tcp_recovery */

	tcp_event_fn fn;
	void *user;
	const struct tcp_ulp_ops *ulp_ops; /* an upper-layer protocol (tcp.h), NULL: none */
	void *ulp;
	uint32_t ev_pending;    /* bits 1 << enum tcp_event, delivered by tcp_deliver() */

	/* Send sequence variables (RFC 9293 3.3.1). */
	uint32_t iss;
	uint32_t snd_una;
	uint32_t snd_nxt;       /* next sequence to send (moves back after an RTO) */
	uint32_t snd_max;       /* highest sequence sent + 1 */
	uint32_t snd_wnd;       /* bytes, scaled */
	uint32_t snd_wl1, snd_wl2;
	uint32_t max_snd_wnd;   /* largest window the peer ever offered (RFC 5961 5.2) */
	uint32_t sndq_seq;      /* sequence number of the first byte in sndq */
	uint32_t fin_seq;       /* our FIN's sequence number, once CF_FIN_QUEUED */

	/* Receive sequence variables. */
	uint32_t irs;
	uint32_t rcv_nxt;
	uint32_t rcv_adv;       /* right edge of the window last advertised */
	uint32_t last_ack_sent; /* RFC 7323 4.3 */

	uint16_t mss;           /* payload bytes per segment we send (options excluded) */
	uint16_t adv_mss;       /* MSS we advertised */
	uint16_t rcv_mss;       /* largest segment seen from the peer, for delayed ACKs */
	uint8_t snd_wscale;     /* shift applied to windows the peer sends */
	uint8_t rcv_wscale;     /* shift applied to windows we send */

	/* Timestamps (RFC 7323). */
	uint32_t ts_recent;
	uint64_t ts_recent_ms;  /* when ts_recent was stored */
	uint32_t ts_offset;     /* per-tuple offset added to our clock (RFC 7323 5.4) */

	/* Buffers. */
	struct tcp_q sndq;
	struct tcp_q rcvq;
	struct rte_mbuf *ooo;   /* out-of-order segments, sorted, linked through tcp_mb()->qnext */
	uint32_t ooo_bytes;
	uint32_t ooo_segs;
	uint32_t sndbuf;
	uint32_t rcvbuf;
	uint32_t want_space;    /* size a refused tcp_send_mbuf() needed */
	struct rte_mbuf *snd_cache;  /* sndq segment holding snd_cache_seq, speeds up lookups */
	uint32_t snd_cache_seq;

	/* RTT and RTO (RFC 6298), Karn's algorithm. */
	uint32_t srtt_us;
	uint32_t rttvar_us;
	uint32_t rto_ms;
	uint32_t rtt_seq;
	uint64_t rtt_start_us;
	uint8_t backoff;        /* consecutive RTO expiries / probes */
	uint8_t keep_probes;    /* unanswered keepalive probes */

	/* Congestion control and loss recovery. */
	uint32_t cwnd;
	uint32_t ssthresh;
	uint32_t recover;       /* RFC 6582 "recover", RFC 6675 RecoveryPoint */
	uint32_t high_rxt;      /* RFC 6675 HighRxt */
	uint32_t dupacks;
	uint32_t prior_cwnd, prior_ssthresh; /* to undo a spurious RTO */
	uint32_t rto_tsval;     /* our TSval when the RTO fired (spurious detection) */
	struct tcp_cubic cubic;
	uint32_t cc_bytes_acked; /* congestion avoidance byte counter (RFC 5681 3.1, RFC 3465) */
	uint32_t rescue_rxt;    /* RFC 6675 RescueRxt, valid with CF_RESCUE */
	uint32_t tlp_end;       /* RFC 8985 TLP.end_seq: SND.MAX after the probe, valid with CF_TLP_OUT */
	uint32_t tlp_tsval;     /* our TSval on the probe (was the original or the probe ACKed?) */

	/* SACK: scoreboard of what the peer holds above snd_una (RFC 6675). */
	struct tcp_sack_block sb[TCP_SB_MAX];
	uint8_t sb_n;
	uint8_t rxt_n;          /* entries in rxt[] */
	/*
	 * In recovery, every unSACKed octet below lost_below is lost (RFC 8985
	 * 6.2 with a zero reordering window while no reordering was seen: data
	 * sent after it arrived; after an RTO, everything outstanding).
	 */
	uint32_t lost_below;
	struct tcp_rxt rxt[TCP_RXT_MAX];
	/* SACK blocks we report, most recent first (RFC 2018 4). */
	struct tcp_sack_block rsack[TCP_RSACK_MAX];
	uint8_t rsack_n;

	uint8_t unacked_segs;   /* full segments received since our last ACK */

	/* Keepalive (RFC 1122 4.2.3.6). */
	uint32_t keep_idle_ms, keep_intvl_ms, keep_max;

	/* Timers: absolute deadlines in ms of the stack clock, 0 when off. */
	uint64_t tmr[TCP_T_MAX];
	uint64_t wheel_at;      /* deadline the wheel entry was filed under */
	struct tcp_conn *tw_next, *tw_prev;
	struct tcp_conn *reap_next;
	struct tcp_conn *due_next; /* timers due in the slot being processed */

	/* Counters for introspection. */
	uint64_t bytes_in, bytes_out;
	uint32_t retransmits;
	uint64_t last_rx_ms;    /* keepalive idle reference */
} __rte_cache_aligned;

#include "dataplane/tcp/tcp_cc.h"

const struct tcp_cc_ops *tcp_cc(const struct tcp_conn *c);

/*
 * Out-of-order queue bound in segments. Configured, or else derived: as
 * many full-size segments as the byte bound (ooo_max_bytes, rcvbuf by
 * default) holds, plus 16 for the short ones that end a write. A whole
 * window of full segments fits (a 4 MiB buffer at 1448 bytes per segment
 * is 2897 of them; a fixed 64 kept a third of a 256 KiB window), while a
 * peer sending runts still cannot pin more mbufs than a full window of
 * full segments would.
 */
static inline uint32_t tcp_ooo_max_segs(const struct tcp_stack *st, const struct tcp_conn *c);

/* Bytes in flight outside SACK recovery: sent and not acknowledged. */
static inline uint32_t tcp_flight(const struct tcp_conn *c)
{
	return c->snd_nxt - c->snd_una;
}

#define TCP_WHEEL_SLOTS 4096u /* 1 ms per slot: a turn is about 4 s */

struct tcp_stack {
	struct tcp_params p;
	tcp_accept_fn accept;
	tcp_output_fn output;

	/* Connections: preallocated objects, a free list and an open-addressing table. */
	struct tcp_conn *conns;
	uint32_t n_free;
	uint32_t *free_list;
	uint32_t *table;        /* idx + 1, 0 = empty; linear probing, backward-shift delete */
	uint32_t table_mask;
	uint32_t hash_seed;

	/* Clock, derived from w->now. */
	uint64_t tsc_cached;
	uint64_t now_us;
	uint64_t now_ms;

	/* Timer wheel. */
	struct tcp_conn *wheel[TCP_WHEEL_SLOTS];
	uint64_t wheel_ms;      /* last slot processed */

	/* Deferred frees while callbacks run. */
	unsigned depth;
	struct tcp_conn *reap;

	/* Secrets: ISN and timestamp offsets (RFC 6528), SYN cookies (RFC 4987), table hash. */
	uint8_t isn_key[16];
	uint8_t cookie_key[2][16];
	uint64_t cookie_period;     /* absolute period of cookie_key[period & 1] */
	uint64_t cookie_sent_ms;    /* last cookie sent; ACKs are checked only shortly after */
	bool cookie_ever;
	uint8_t def_rcv_wscale;     /* our window shift when the SYN-ACK is stateless */

	/* RFC 5961 7 challenge ACK limiter. */
	uint64_t chack_epoch_ms;
	uint32_t chack_count;

	uint16_t port_hint;     /* ephemeral port search start */
	struct tcp_stats stats;
};

#define TCP_STAT(st, f, n) WEFT_CTR_ADD((st)->stats.f, (n))

static inline uint32_t tcp_ooo_max_segs(const struct tcp_stack *st, const struct tcp_conn *c)
{
	if (st->p.ooo_max_segs)
		return st->p.ooo_max_segs;
	uint32_t bound = st->p.ooo_max_bytes < c->rcvbuf ? st->p.ooo_max_bytes : c->rcvbuf;
	uint32_t seg = c->adv_mss > TCP_TS_OPT_LEN + 64 ? c->adv_mss - ((c->flags & CF_TS) ? TCP_TS_OPT_LEN : 0) : 64;
	return (bound + seg - 1) / seg + 16;
}

static inline struct tcp_stack *tcp_st(const struct weft_worker *w)
{
	return w->tcp;
}

/* Refresh the stack clock from w->now. */
void tcp_clock(struct weft_worker *w);

/* tcp_conn.c */
struct tcp_conn *tcp_conn_lookup(struct tcp_stack *st, const struct tcp_endpoints *ep);
struct tcp_conn *tcp_conn_alloc(struct weft_worker *w, const struct tcp_endpoints *ep, const struct tcp_accept *a);
/* Remove from the table and timers, free queued mbufs, return the object (deferred while callbacks run). */
void tcp_conn_free(struct weft_worker *w, struct tcp_conn *c);
void tcp_set_state(struct tcp_stack *st, struct tcp_conn *c, enum tcp_state s);
void tcp_reap(struct weft_worker *w);
uint32_t tcp_iface_mss(const struct weft_worker *w, uint16_t port, uint8_t af);
/* Port to send from for a remote address; false when there is no route. */
bool tcp_route(const struct weft_worker *w, const struct weft_ip *dst, uint16_t *port);
/* Queue an event for the application (ignored once detached). */
static inline void tcp_post(struct tcp_conn *c, enum tcp_event ev)
{
	c->ev_pending |= 1u << ev;
}
/* Deliver pending events, run output, reap. The end of every input and timer path. */
void tcp_finish(struct weft_worker *w, struct tcp_conn *c);
/* Application-visible failure: post RESET if attached, then free. */
void tcp_conn_reset(struct weft_worker *w, struct tcp_conn *c);
/* The RTO from srtt/rttvar, clamped (RFC 6298 2.3, 2.4, 2.5). */
void tcp_rto_update(struct tcp_stack *st, struct tcp_conn *c);
void tcp_rtt_sample(struct tcp_stack *st, struct tcp_conn *c, uint32_t rtt_us);

/* tcp_syncookie.c */
uint64_t tcp_siphash(const uint8_t key[16], const void *data, size_t len);
uint32_t tcp_isn(struct tcp_stack *st, const struct tcp_endpoints *ep);
uint32_t tcp_ts_offset(struct tcp_stack *st, const struct tcp_endpoints *ep);
uint32_t tcp_cookie_make(struct tcp_stack *st, const struct tcp_endpoints *ep, uint32_t peer_isn, uint16_t mss,
			 uint16_t *mss_out);
/* The MSS encoded in a valid cookie (ack - 1), 0 when invalid or expired. */
uint16_t tcp_cookie_check(struct tcp_stack *st, const struct tcp_endpoints *ep, uint32_t peer_isn, uint32_t cookie);
/* Options folded into our SYN-ACK TSval, and recovered from the echo (RFC 4987 3.6). */
uint32_t tcp_cookie_ts_encode(uint32_t tsval, bool sack, int wscale);
void tcp_cookie_ts_decode(uint32_t tsecr, bool *sack, int *wscale);
void tcp_cookie_rotate(struct tcp_stack *st);

/* tcp_output.c */
/**
 * Build and send one segment: seq, payload [seq, seq+len) from the send
 * queue (len 0: none), flags. SYN segments carry the handshake options.
 * Returns 0 or -ENOBUFS (nothing sent; the timers retry).
 */
int tcp_xmit(struct weft_worker *w, struct tcp_conn *c, uint32_t seq, uint32_t len, uint8_t flags);
/* Send what the windows allow, then an ACK if one is owed. */
void tcp_output(struct weft_worker *w, struct tcp_conn *c);
void tcp_send_ack(struct weft_worker *w, struct tcp_conn *c);
/* RFC 5961 7: a challenge ACK, rate limited per worker. */
void tcp_send_challenge_ack(struct weft_worker *w, struct tcp_conn *c);
/* RST for connection c (seq = snd_nxt). */
void tcp_send_rst(struct weft_worker *w, struct tcp_conn *c);
/**
 * RST answering segment s that matches no connection (RFC 9293 3.10.7.1):
 * seq = SEG.ACK if ACK was set, else seq 0 with ACK = SEG.SEQ + SEG.LEN.
 */
void tcp_send_rst_reply(struct weft_worker *w, uint16_t port, const struct tcp_endpoints *ep,
			const struct tcp_seg *s);
/* A SYN-ACK without state for a SYN cookie. */
void tcp_send_synack_cookie(struct weft_worker *w, uint16_t port, const struct tcp_endpoints *ep,
			    const struct tcp_seg *s, uint32_t cookie, uint16_t mss);
/* Zero-window or keepalive probe: SEG.SEQ = SND.UNA - 1, no data (RFC 1122 4.2.3.6). */
void tcp_send_probe(struct weft_worker *w, struct tcp_conn *c);
/* Window we can advertise now, in bytes, receiver SWS avoidance applied (RFC 9293 3.8.6.2.2). */
uint32_t tcp_rcv_window(const struct tcp_conn *c);
/* Retransmit the first unacknowledged segment. */
void tcp_retransmit_head(struct weft_worker *w, struct tcp_conn *c);
/* RFC 8985 7.3: send a loss probe (new data if possible, else the last segment again). */
void tcp_tlp_send(struct weft_worker *w, struct tcp_conn *c);
/* tcp_input.c: fast retransmit and the start of loss recovery (RFC 6675 5, RFC 6582 3.2). */
void tcp_enter_recovery(struct weft_worker *w, struct tcp_conn *c);
/* Free the payload at the head of the send queue up to new_una. */
void tcp_sndq_ack(struct tcp_conn *c, uint32_t new_una);
void tcp_q_free(struct tcp_q *q);
uint32_t tcp_tsval(const struct tcp_stack *st, const struct tcp_conn *c);

/* tcp_timer.c */
void tcp_timer_set(struct tcp_stack *st, struct tcp_conn *c, enum tcp_timer t, uint64_t after_ms);
void tcp_timer_stop(struct tcp_stack *st, struct tcp_conn *c, enum tcp_timer t);
void tcp_timer_unlink(struct tcp_stack *st, struct tcp_conn *c);
/* (Re)arm the retransmission timer for data in flight, stop it when nothing is. */
void tcp_rtx_arm(struct tcp_stack *st, struct tcp_conn *c);
void tcp_keepalive_arm(struct tcp_stack *st, struct tcp_conn *c);
/*
 * RFC 8985 6.2 and 6.3, outside recovery: data sent after SND.UNA's
 * segment was SACKed, yet too little for RFC 6675's DupThresh. Arm the
 * reordering window; when it ends with the hole still there, recovery starts.
 */
void tcp_reo_arm(struct tcp_stack *st, struct tcp_conn *c);
/* RFC 8985 7.2: arm, restart (restart) or stop the tail loss probe timer as the state allows. */
void tcp_tlp_arm(struct tcp_stack *st, struct tcp_conn *c, bool restart);

/* tcp_sack.c */
/* Fold received SACK blocks into the scoreboard. Returns true if it learned something new. */
bool tcp_sack_update(struct tcp_conn *c, const struct tcp_opts *o);
/* Drop scoreboard ranges at or below snd_una. */
void tcp_sack_trim(struct tcp_conn *c);
void tcp_sack_clear(struct tcp_conn *c);
/* RFC 6675 IsLost(seq), or below lost_below. */
bool tcp_sack_is_lost(const struct tcp_conn *c, uint32_t seq);
/* RFC 6675 SetPipe(). */
uint32_t tcp_sack_pipe(const struct tcp_conn *c);
/* RFC 6675 NextSeg() rule 1 and 3: an unSACKed range above HighRxt to retransmit. */
bool tcp_sack_next_hole(const struct tcp_conn *c, bool need_lost, uint32_t *seq, uint32_t *len);
bool tcp_sack_is_sacked(const struct tcp_conn *c, uint32_t seq);
/* Before the scoreboard takes o's blocks: do they or the ACK show an original delivered late? */
bool tcp_sack_reordered(const struct tcp_conn *c, const struct tcp_opts *o, uint32_t ack);
/* A retransmission of [start, end) went out in recovery: track it. */
void tcp_rxt_add(struct tcp_conn *c, uint32_t start, uint32_t end);
/* After an ACK in recovery: move lost_below up, drop delivered retransmissions, mark lost ones. */
void tcp_loss_detect(struct tcp_conn *c);
/* The oldest retransmission found lost: [*seq, *seq + *len) to send again (entry *i). */
bool tcp_rxt_next_lost(const struct tcp_conn *c, unsigned *i, uint32_t *seq, uint32_t *len);
void tcp_rxt_remove(struct tcp_conn *c, unsigned i);
/* Record a received out-of-order block for our own SACK option (RFC 2018 4). */
void tcp_rsack_add(struct tcp_conn *c, uint32_t start, uint32_t end);
/* Drop reported blocks now covered by rcv_nxt. */
void tcp_rsack_trim(struct tcp_conn *c);

#endif
