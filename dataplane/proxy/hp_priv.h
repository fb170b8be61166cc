/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inside http_proxy: the per-worker state, downstream streams, upstream
 * connections and their pool. Shared by http_proxy.c (streams) and
 * upstream_pool.c (pool, buffers); nothing else includes it.
 */
#ifndef WEFT_DATAPLANE_PROXY_HP_PRIV_H
#define WEFT_DATAPLANE_PROXY_HP_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_mbuf.h>

#include "dataplane/proxy/http_proxy.h"
#include "policy/lb.h"
#include "policy/resilience.h"
#include "policy/route.h"

#define HP_BUF_SIZE (64u << 10)  /* a head up to the parser's 60 KiB limit, or bytes waiting for room */
#define HP_PARSE_FIELDS 100      /* field lines a head may have (the parser's default limit) */
#define HP_FIELDS (HP_PARSE_FIELDS + 64) /* room for the fields route header edits add */
#define HP_IN_CAP (16u << 10)    /* bytes of a chunked body decoded per step */
#define HP_LINGER_MS 2000u       /* reading and dropping after our FIN, before the final close */
#define HP_WHEEL_SLOTS 1024u
#define HP_WHEEL_MASK (HP_WHEEL_SLOTS - 1)
#define HP_BUCKETS 8192u         /* endpoints a worker pools connections for (power of two) */
#define HP_MAX_CLUSTERS WEFT_CFG_MAX_CLUSTERS

/*
 * A buffer: a head being read (with the field array its parse fills) or
 * bytes waiting for send room. Taken from a per-worker free list; only a
 * connection with something to hold has one.
 */
struct hp_buf {
	struct hp_buf *next;
	uint32_t len;
	struct h1_field fields[HP_FIELDS];
	char data[HP_BUF_SIZE];
};

/* Bytes for one connection that tcp_send() has not taken yet: b->data[off, b->len). */
struct hp_out {
	struct hp_buf *b;
	uint32_t off;
	bool keep; /* keep the bytes after they are sent (a request head that may be sent again) ... */
	uint32_t keep_end; /* ... b->data[0, keep_end): what follows may be dropped once sent */
};

enum hp_up_state {
	UP_FREE,
	UP_CONNECTING, /* handshake in flight for a stream */
	UP_BUSY,       /* carrying a stream's exchange */
	UP_IDLE,       /* in the pool */
};

struct hp_down;

struct hp_up {
	struct tcp_conn *c;       /* NULL once the stack freed it or we closed it */
	struct hp_down *d;        /* the stream it works for; NULL when idle */
	struct weft_ip addr;
	uint16_t port;
	uint8_t state;            /* enum hp_up_state */
	uint8_t eof;              /* the upstream sent its FIN */
	uint32_t bucket;          /* pool bucket, UINT32_MAX: none */
	const void *tls;          /* the cluster TLS it was opened with (pool key with addr, port); NULL: plaintext */
	uint64_t idle_deadline_ms;
	struct hp_up *bnext, *bprev; /* idle list of its endpoint */
	struct hp_up *lnext, *lprev; /* every idle connection, oldest first */
	struct hp_up *free_next;
};

struct hp_bucket {
	struct weft_ip addr;
	uint16_t port;
	bool used;
	uint32_t n_idle;
	struct hp_up *head;       /* most recently returned first */
};

enum hp_phase {
	HD_FREE,
	HD_HEAD,    /* reading a request head (or idle between requests) */
	HD_CONNECT, /* request routed, upstream handshake in flight */
	HD_EXCHANGE, /* request and response flowing */
	HD_BACKOFF, /* an attempt failed (or waits for a connection slot): the timer moves it on */
	HD_LINGER,  /* our FIN is out; dropping what the client still sends until its FIN */
};

/* hp_down.held: counts taken on the cluster's breakers, given back when the reason ends. */
#define HELD_REQUEST 0x01 /* WEFT_BRK_REQUESTS: routed to the end of the exchange */
#define HELD_PENDING 0x02 /* WEFT_BRK_PENDING: waiting for a max_connections slot or a handshake */
#define HELD_CONN 0x04    /* WEFT_BRK_CONNECTIONS: d->up (new or pooled), while this stream uses it */
#define HELD_RETRY 0x08   /* WEFT_BRK_RETRIES: from the retry's admission to the end of that attempt */

enum hp_timer {
	TK_NONE,
	TK_IDLE,  /* due idle_ms after the last event, or at hdr_deadline_ms if that comes first */
	TK_FIXED, /* due at deadline_ms */
};

struct hp_down {
	struct tcp_conn *c;
	struct hp_up *up;
	struct hp_buf *rb;        /* the request head and the bytes that followed it */
	struct hp_buf *sb;        /* the response head while it is read */
	struct hp_out od, ou;     /* waiting for room: to the client, to the upstream */
	struct rte_mbuf *held_req, *held_resp; /* payload tcp_send_mbuf() refused for lack of room */
	uint8_t phase;            /* enum hp_phase */
	uint8_t rd_eof;           /* the client sent its FIN */
	uint8_t close_after;      /* close once the current response is out */
	uint8_t tkind;            /* enum hp_timer */
	uint8_t in_wheel;
	uint8_t client_len;
	uint16_t slot;            /* listener stats slot (max_connections share) */
	char client[46];          /* the client's address, for x-forwarded-for */
	struct weft_ip client_ip;
	uint32_t idle_ms;
	uint32_t hdr_ms;          /* the listener's request_header_timeout_ms (0: none) */
	uint64_t hdr_deadline_ms; /* the head being read must be whole by then; 0: no head started */
	uint64_t deadline_ms, last_ms;
	struct hp_down *tnext, *tprev;

	/* The request in flight. */
	const struct weft_snapshot *snap; /* held from routing to the end of the exchange */
	const struct weft_route_action *act;
	uint32_t cluster, ep;     /* for the in-flight counts of least_request */
	uint64_t active_ver;
	struct weft_ip ep_addr;
	uint16_t ep_port;
	uint32_t max_idle, pool_idle_ms, timeout_ms;
	struct h1_parser p;
	struct h1_request req;
	struct h1_msg_info info;
	uint32_t head_len;        /* bytes of rb the head takes */
	uint32_t consumed;        /* bytes of rb handled: the head and body bytes passed on */
	uint64_t req_remaining;   /* Content-Length body bytes still to pass on */
	struct h1_chunked req_ch;
	/* Attempts (policy/resilience.h decides; docs/configuration.md "Retries"). */
	const struct weft_retry_policy *retry; /* the route's, in the held snapshot; NULL: no retry */
	struct weft_cluster_rt *rt;         /* the cluster's breakers and outlier state; may be NULL */
	uint64_t lb_hash;         /* the request's balancer key, to pick again */
	bool lb_has_hash;
	bool idempotent;          /* the method may be replayed once it reached an upstream */
	bool replay;              /* the head is kept in ou and the body so far in rb: it can be sent again */
	bool queued;              /* HD_BACKOFF: waiting for a max_connections slot, not for a retry */
	uint8_t held;             /* HELD_* breaker counts this stream holds */
	const char *overflow;     /* x-weft-overflow of the local answer being written; NULL: none */
	uint32_t attempt_pos;     /* offset in ou.b of the x-weft-attempt-count value (the head's last field) */
	uint8_t attempt;          /* this request's attempt upstream, 1 for the first */
	uint32_t connect_ms;      /* the listener's connect_timeout_ms */
	uint32_t replay_max;      /* request body bytes kept for replay at most */
	uint64_t req_deadline_ms; /* the route timeout over every attempt; 0: not started */
	uint64_t try_deadline_ms; /* this attempt's per-try deadline; 0: none */
	uint64_t conn_deadline_ms; /* this attempt's connect deadline (HD_CONNECT) */
	bool proxied;             /* sent upstream (not answered locally) */
	bool resp_timer;          /* the request is all sent: the response timeout runs */
	bool req_done, reused, retried, resp_started, resp_head_done, resp_done, keep_down;
	bool req_acked;           /* reused: the upstream acknowledged a byte of this request (it reached it) */
	uint64_t reuse_acked;     /* reused: the connection's bytes acknowledged when this request took it */

	/* The response. */
	struct h1_parser rp;
	struct h1_response resp;
	struct h1_msg_info rinfo;
	uint32_t rconsumed;       /* bytes of sb handled */
	uint64_t resp_remaining;
	struct h1_chunked resp_ch;
	bool resp_extra;          /* the upstream sent bytes past its response: never reuse it */
	bool resp_dechunk;        /* an HTTP/1.0 client: the chunked body goes out plain, delimited by close */

	struct hp_down *free_next;
};

struct hp_worker {
	struct http_proxy_stats st;
	struct weft_worker *w;
	struct hp_down *downs, *free_down;
	struct hp_up *ups, *free_up;
	uint32_t max_down, max_up;
	struct hp_buf *free_buf;
	uint32_t n_buf, n_free_buf;
	uint64_t tsc_per_ms;
	uint64_t wheel_ms;
	uint64_t next_sweep_ms;
	struct hp_down *wheel[HP_WHEEL_SLOTS];
	struct hp_up *lru_head, *lru_tail;
	struct hp_bucket *buckets; /* HP_BUCKETS */
	uint32_t n_buckets_used;
	uint64_t slot_active[WEFT_L4_SLOTS];
	struct h1_prng prng;
	/* Balancing state: round robin per cluster slot, in-flight requests per endpoint. */
	struct weft_lb_state rr[HP_MAX_CLUSTERS];
	uint64_t active_ver;
	uint32_t active[HP_MAX_CLUSTERS][WEFT_LB_MAX_ENDPOINTS];
	/* Scratch for one request at a time. */
	struct weft_http_hdr_view hv[HP_FIELDS];
	char in[HP_IN_CAP];
	char path[8192 + 64];
};

#define HP_ST_ADD(hw, f, n) WEFT_CTR_ADD((hw)->st.stat[HTTP_PROXY_##f], (n))
#define HP_GAUGE_SUB(field)                                                                        \
	__atomic_store_n(&(field), __atomic_load_n(&(field), __ATOMIC_RELAXED) - 1, __ATOMIC_RELAXED)

static inline uint64_t hp_now_ms(const struct hp_worker *hw)
{
	return hw->w->now / hw->tsc_per_ms;
}

/* upstream_pool.c */
struct hp_buf *hp_buf_get(struct hp_worker *hw);
void hp_buf_put(struct hp_worker *hw, struct hp_buf *b);
void hp_bufs_free(struct hp_worker *hw);
struct hp_up *hp_up_alloc(struct hp_worker *hw);
void hp_up_free(struct hp_worker *hw, struct hp_up *up);
/** An idle connection to addr:port, taken out of the pool, or NULL. */
struct hp_up *hp_pool_take(struct hp_worker *hw, const struct weft_ip *addr, uint16_t port);
/** Put up (busy, healthy, nothing unread) into its endpoint's pool, or close it when the pool is full. */
void hp_pool_put(struct hp_worker *hw, struct hp_up *up, uint32_t max_idle, uint32_t idle_ms);
/** Take up out of the pool (it is idle). */
void hp_pool_remove(struct hp_worker *hw, struct hp_up *up);
/** Close the idle connections past their deadline. */
void hp_pool_sweep(struct hp_worker *hw, uint64_t now_ms);
/** Close up (FIN after what it queued) and free it; it must be out of the pool. */
void hp_up_close(struct hp_worker *hw, struct hp_up *up);
/** Reset up and free it; it must be out of the pool. */
void hp_up_abort(struct hp_worker *hw, struct hp_up *up);
/** The event handler of upstream connections (http_proxy.c). */
void hp_up_event(struct weft_worker *w, struct tcp_conn *c, enum tcp_event ev, void *user);

#endif
