/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The neighbour table: IPv4 (ARP) and IPv6 (ND) next hops to MAC addresses,
 * one table per worker, never written by another thread.
 *
 * A fixed-size open-addressed hash with linear probing, keyed on (family,
 * port, address); deletion shifts the following run back, so there are no
 * tombstones to age. Packets waiting for resolution sit in a small array in
 * their entry: nothing is allocated per packet.
 *
 * States, a reduced RFC 4861 7.3.2 machine that serves ARP as well:
 *   INCOMPLETE  soliciting; packets queue (at most NEIGH_QUEUE_LEN)
 *   REACHABLE   MAC known and confirmed within NEIGH_REACHABLE_S
 *   PROBE       MAC still used while it is re-validated with unicast
 *               solicitations
 * When the reachable time runs out, an entry that carried traffic since it
 * was last confirmed is probed, an idle one is deleted. A probe or a
 * resolution without answer after NEIGH_MAX_SOLICIT solicitations deletes the
 * entry and drops whatever waited as neigh_timeout.
 *
 * Workers share what they learn: ARP and ND frames have no flow hash and land
 * on whichever worker polls the queue, often not the one that asked. The
 * learner sends a struct weft_neigh_msg to each peer's neigh_in ring.
 * Messages come from the sender's own mempool; the receiver returns them
 * there in net_neigh_apply(), so the sender never frees one it has sent.
 */
#include <rte_hash_crc.h>
#include <rte_malloc.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include "dataplane/net/net_priv.h"

#define NEIGH_SLOTS 1024 /* power of two */
#define NEIGH_MAX_ENTRIES (NEIGH_SLOTS * 3 / 4) /* keeps probe runs short */
#define NEIGH_QUEUE_LEN 8
/* RFC 4861 10: RETRANS_TIMER 1 s, MAX_MULTICAST_SOLICIT and MAX_UNICAST_SOLICIT 3. */
#define NEIGH_RETRANS_MS 1000
#define NEIGH_MAX_SOLICIT 3
/*
 * RFC 4861 suggests 30 s; weft's neighbours are gateways and peers on a
 * stable segment, and every re-validation costs a solicitation per worker.
 */
#define NEIGH_REACHABLE_S 300
/* A confirmed entry is re-broadcast at most this often unless it changed. */
#define NEIGH_BCAST_MIN_MS 100
#define NEIGH_MSG_POOL 512

enum neigh_state { NEIGH_FREE = 0, NEIGH_INCOMPLETE, NEIGH_REACHABLE, NEIGH_PROBE };

struct neigh_key {
	uint8_t af;
	uint8_t pad;
	uint16_t port;
	uint8_t ip[16]; /* IPv4 in the first 4 bytes, the rest zero */
};

struct neigh_entry {
	struct neigh_key key;
	uint32_t hash;
	uint8_t state;
	uint8_t n_sent; /* solicitations sent in this INCOMPLETE or PROBE round */
	uint8_t n_q;
	bool used;      /* carried a packet since the last confirmation */
	uint8_t mac[6];
	uint64_t deadline;  /* INCOMPLETE/PROBE: next solicitation; REACHABLE: expiry */
	uint64_t bcast_at;  /* last broadcast to the other workers */
	struct rte_mbuf *q[NEIGH_QUEUE_LEN];
};

struct weft_neigh_table {
	unsigned n;
	uint64_t next_deadline; /* earliest deadline of any entry; timers skip work until then */
	struct rte_mempool *msg_pool; /* NULL with a single worker */
	struct neigh_entry slot[NEIGH_SLOTS];
};

static void key_make(struct neigh_key *k, uint8_t af, uint16_t port, const void *ip)
{
	memset(k, 0, sizeof(*k));
	k->af = af;
	k->port = port;
	memcpy(k->ip, ip, af == NET_AF4 ? 4 : 16);
}

static uint64_t ms_to_tsc(const struct weft_worker *w, uint64_t ms)
{
	return w->hz * ms / 1000;
}

static struct neigh_entry *neigh_find(struct weft_neigh_table *t, const struct neigh_key *k, uint32_t hash)
{
	for (unsigned i = hash & (NEIGH_SLOTS - 1);; i = (i + 1) & (NEIGH_SLOTS - 1)) {
		struct neigh_entry *e = &t->slot[i];
		if (e->state == NEIGH_FREE)
			return NULL;
		if (e->hash == hash && memcmp(&e->key, k, sizeof(*k)) == 0)
			return e;
	}
}

/* The load bound guarantees a free slot, so the probe loop ends. */
static struct neigh_entry *neigh_insert(struct weft_neigh_table *t, const struct neigh_key *k, uint32_t hash)
{
	if (t->n >= NEIGH_MAX_ENTRIES)
		return NULL;
	for (unsigned i = hash & (NEIGH_SLOTS - 1);; i = (i + 1) & (NEIGH_SLOTS - 1)) {
		struct neigh_entry *e = &t->slot[i];
		if (e->state == NEIGH_FREE) {
			memset(e, 0, sizeof(*e));
			e->key = *k;
			e->hash = hash;
			t->n++;
			return e;
		}
	}
}

/*
 * Backward-shift deletion (Knuth 6.4, algorithm R): move later members of
 * the run into the hole unless their home slot lies cyclically after it.
 */
static void neigh_delete(struct weft_neigh_table *t, struct neigh_entry *e)
{
	unsigned hole = (unsigned)(e - t->slot);

	for (unsigned j = (hole + 1) & (NEIGH_SLOTS - 1);; j = (j + 1) & (NEIGH_SLOTS - 1)) {
		struct neigh_entry *n = &t->slot[j];
		unsigned home;
		bool stays;

		if (n->state == NEIGH_FREE)
			break;
		home = n->hash & (NEIGH_SLOTS - 1);
		stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
		if (stays)
			continue;
		t->slot[hole] = *n;
		hole = j;
	}
	t->slot[hole].state = NEIGH_FREE;
	t->n--;
}

static void neigh_arm(struct weft_neigh_table *t, struct neigh_entry *e, uint64_t deadline)
{
	e->deadline = deadline;
	if (deadline < t->next_deadline)
		t->next_deadline = deadline;
}

static uint16_t af_ethertype(uint8_t af)
{
	return af == NET_AF4 ? RTE_ETHER_TYPE_IPV4 : RTE_ETHER_TYPE_IPV6;
}

static void neigh_solicit(struct weft_worker *w, struct neigh_entry *e, const uint8_t *dst_mac)
{
	uint32_t ip4;

	if (e->key.af == NET_AF4) {
		memcpy(&ip4, e->key.ip, 4);
		net_arp_solicit(w, e->key.port, ip4, dst_mac);
	} else {
		net_nd_solicit(w, e->key.port, e->key.ip, dst_mac);
	}
	e->n_sent++;
}

static void neigh_flush(struct weft_worker *w, struct neigh_entry *e)
{
	/* Empty the queue before transmitting, so the entry is consistent whatever the tx path does. */
	struct rte_mbuf *q[NEIGH_QUEUE_LEN];
	unsigned n = e->n_q;
	uint8_t mac[6];

	memcpy(q, e->q, n * sizeof(q[0]));
	memcpy(mac, e->mac, 6);
	e->n_q = 0;
	for (unsigned i = 0; i < n; i++)
		net_eth_output(w, e->key.port, q[i], mac, af_ethertype(e->key.af));
}

static void neigh_drop_queue(struct weft_worker *w, struct neigh_entry *e, enum weft_drop why)
{
	for (unsigned i = 0; i < e->n_q; i++)
		weft_drop(w, e->q[i], why);
	e->n_q = 0;
}

static void neigh_broadcast(struct weft_worker *w, const struct neigh_entry *e)
{
	struct rte_mempool *mp = w->neigh->msg_pool;

	if (w->n_workers <= 1 || mp == NULL || w->peers == NULL)
		return;
	for (unsigned i = 0; i < w->n_workers; i++) {
		struct weft_neigh_msg *msg;

		if (i == w->id || w->peers[i].neigh_in == NULL)
			continue;
		/* Pool empty or ring full: the peer resolves on its own, at the cost of a solicitation. */
		if (rte_mempool_get(mp, (void **)&msg) < 0)
			return;
		memset(msg, 0, sizeof(*msg));
		msg->af = e->key.af;
		msg->port = e->key.port;
		memcpy(msg->mac, e->mac, 6);
		memcpy(msg->ip, e->key.ip, 16);
		/* The ring's own mode applies: several workers enqueue, its owner alone dequeues. */
		if (rte_ring_enqueue(w->peers[i].neigh_in, msg) < 0)
			rte_mempool_put(mp, msg);
	}
}

/* What neigh_update() did, in increasing order of news for the peers. */
enum neigh_change { NEIGH_SAME = 0, NEIGH_CONFIRMED, NEIGH_CHANGED };

/* The one place entries gain or change a MAC. *out is the entry, or NULL when there is none. */
static enum neigh_change neigh_update(struct weft_worker *w, uint8_t af, uint16_t port, const void *ip,
				      const uint8_t *mac, unsigned flags, struct neigh_entry **out)
{
	struct weft_neigh_table *t = w->neigh;
	const uint64_t reachable = w->hz * NEIGH_REACHABLE_S;
	enum neigh_change ch = NEIGH_SAME;
	struct neigh_key k;
	struct neigh_entry *e;
	uint32_t hash;

	key_make(&k, af, port, ip);
	hash = rte_hash_crc(&k, sizeof(k), 0);
	e = neigh_find(t, &k, hash);
	*out = e;
	if (e == NULL) {
		if (mac == NULL || !(flags & NEIGH_F_CREATE))
			return NEIGH_SAME;
		e = neigh_insert(t, &k, hash);
		if (e == NULL)
			return NEIGH_SAME; /* full: the next solicitation tries again */
		memcpy(e->mac, mac, 6);
		e->state = NEIGH_REACHABLE;
		neigh_arm(t, e, w->now + reachable);
		*out = e;
		return NEIGH_CHANGED;
	}
	if (e->state == NEIGH_INCOMPLETE) {
		/* Any answer with an address resolves, whatever its override flag (RFC 4861 7.2.5). */
		if (mac == NULL)
			return NEIGH_SAME;
		memcpy(e->mac, mac, 6);
		e->state = NEIGH_REACHABLE;
		e->used = false;
		e->n_sent = 0;
		neigh_arm(t, e, w->now + reachable);
		neigh_flush(w, e);
		return NEIGH_CHANGED;
	}
	if (mac != NULL && memcmp(e->mac, mac, 6) != 0) {
		/* Without override a different MAC is ignored (RFC 4861 7.2.5); ARP always overrides (RFC 826). */
		if (!(flags & NEIGH_F_OVERRIDE))
			return NEIGH_SAME;
		memcpy(e->mac, mac, 6);
		ch = NEIGH_CHANGED;
	}
	if (flags & NEIGH_F_CONFIRM) {
		e->state = NEIGH_REACHABLE;
		e->used = false;
		e->n_sent = 0;
		neigh_arm(t, e, w->now + reachable);
		if (ch == NEIGH_SAME)
			ch = NEIGH_CONFIRMED;
	}
	return ch;
}

void net_neigh_learn(struct weft_worker *w, uint8_t af, uint16_t port, const void *ip, const uint8_t mac[6],
		     unsigned flags)
{
	struct neigh_entry *e;
	enum neigh_change ch = neigh_update(w, af, port, ip, mac, flags, &e);

	if (ch == NEIGH_SAME)
		return;
	weft_event(w, WEFT_EV_NEIGH_LEARNED);
	/*
	 * News goes out at once. Confirmations go out too, at a bounded rate:
	 * the peer that solicited may be waiting on exactly this answer even
	 * though nothing changed here.
	 */
	if (ch == NEIGH_CHANGED || e->bcast_at == 0 || w->now - e->bcast_at >= ms_to_tsc(w, NEIGH_BCAST_MIN_MS)) {
		e->bcast_at = w->now;
		neigh_broadcast(w, e);
	}
}

void net_neigh_apply(struct weft_worker *w, struct weft_neigh_msg *msg)
{
	struct neigh_entry *e;

	/* Another worker saw the answer: as good as seeing it here, but never passed on again. */
	if ((msg->af == NET_AF4 || msg->af == NET_AF6) &&
	    neigh_update(w, msg->af, msg->port, msg->ip, msg->mac, NEIGH_F_CREATE | NEIGH_F_CONFIRM | NEIGH_F_OVERRIDE,
			 &e) != NEIGH_SAME)
		weft_event(w, WEFT_EV_NEIGH_LEARNED);
	rte_mempool_put(rte_mempool_from_obj(msg), msg);
}

void net_neigh_output(struct weft_worker *w, uint16_t port, uint8_t af, const void *nh, struct rte_mbuf *m)
{
	struct weft_neigh_table *t = w->neigh;
	struct neigh_key k;
	struct neigh_entry *e;
	uint32_t hash;

	key_make(&k, af, port, nh); /* nh may point into m: copy before m is queued or freed */
	hash = rte_hash_crc(&k, sizeof(k), 0);
	e = neigh_find(t, &k, hash);
	if (e != NULL && e->state != NEIGH_INCOMPLETE) {
		e->used = true;
		net_eth_output(w, port, m, e->mac, af_ethertype(af));
		return;
	}
	if (e == NULL) {
		e = neigh_insert(t, &k, hash);
		if (e == NULL) {
			weft_drop(w, m, WEFT_DROP_NEIGH_TABLE_FULL);
			return;
		}
		e->state = NEIGH_INCOMPLETE;
		e->q[e->n_q++] = m;
		neigh_solicit(w, e, NULL);
		neigh_arm(t, e, w->now + ms_to_tsc(w, NEIGH_RETRANS_MS));
		return;
	}
	/* Bounded: a dead next hop must not hold the pool hostage. */
	if (e->n_q == NEIGH_QUEUE_LEN) {
		weft_drop(w, m, WEFT_DROP_NEIGH_QUEUE_FULL);
		return;
	}
	e->q[e->n_q++] = m;
}

/* One entry's timer fired. Returns true when the entry was deleted. */
static bool neigh_expire(struct weft_worker *w, struct neigh_entry *e)
{
	struct weft_neigh_table *t = w->neigh;

	switch (e->state) {
	case NEIGH_REACHABLE:
		if (!e->used) {
			neigh_delete(t, e);
			return true;
		}
		/* Still in use: re-validate at the known MAC while traffic keeps flowing (RFC 4861 7.3.3). */
		e->state = NEIGH_PROBE;
		e->n_sent = 0;
		/* fall through */
	case NEIGH_PROBE:
	case NEIGH_INCOMPLETE:
		if (e->n_sent >= NEIGH_MAX_SOLICIT) {
			neigh_drop_queue(w, e, WEFT_DROP_NEIGH_TIMEOUT);
			neigh_delete(t, e);
			return true;
		}
		neigh_solicit(w, e, e->state == NEIGH_PROBE ? e->mac : NULL);
		e->deadline = w->now + ms_to_tsc(w, NEIGH_RETRANS_MS);
		return false;
	default:
		return false;
	}
}

void net_neigh_timers(struct weft_worker *w)
{
	struct weft_neigh_table *t = w->neigh;
	uint64_t next = UINT64_MAX;

	if (t == NULL || w->now < t->next_deadline)
		return;
	/*
	 * A full sweep, but only when some deadline has passed: about once a
	 * second per resolution in progress, once per reachable time otherwise.
	 * Deletion may shift a later entry into slot i, so i is examined again;
	 * an entry wrapping from the start to the end of the table may be seen
	 * twice, which is harmless since its deadline was just moved forward.
	 */
	for (unsigned i = 0; i < NEIGH_SLOTS;) {
		struct neigh_entry *e = &t->slot[i];

		if (e->state == NEIGH_FREE) {
			i++;
			continue;
		}
		if (e->deadline <= w->now && neigh_expire(w, e))
			continue;
		if (e->deadline < next)
			next = e->deadline;
		i++;
	}
	t->next_deadline = next;
}

int net_neigh_init(struct weft_worker *w)
{
	int socket = w->lcore < RTE_MAX_LCORE ? (int)rte_lcore_to_socket_id(w->lcore) : SOCKET_ID_ANY;
	struct weft_neigh_table *t;
	char name[RTE_MEMPOOL_NAMESIZE];

	if (socket < 0)
		socket = SOCKET_ID_ANY;
	t = rte_zmalloc_socket("weft_neigh", sizeof(*t), RTE_CACHE_LINE_SIZE, socket);
	if (t == NULL)
		return -1;
	t->next_deadline = UINT64_MAX;
	if (w->n_workers > 1) {
		/*
		 * Gets only from this worker, puts from any peer: single-consumer
		 * get, multi-producer put, no per-lcore cache (the puts happen on
		 * other lcores, whose caches this worker would never drain).
		 */
		snprintf(name, sizeof(name), "weft_nmsg%u", w->id);
		t->msg_pool = rte_mempool_create(name, NEIGH_MSG_POOL, sizeof(struct weft_neigh_msg), 0, 0, NULL,
						 NULL, NULL, NULL, socket, RTE_MEMPOOL_F_SC_GET);
		if (t->msg_pool == NULL) {
			rte_free(t);
			return -1;
		}
	}
	w->neigh = t;
	return 0;
}

void net_neigh_free(struct weft_worker *w)
{
	struct weft_neigh_table *t = w->neigh;

	if (t == NULL)
		return;
	for (unsigned i = 0; i < NEIGH_SLOTS; i++) {
		struct neigh_entry *e = &t->slot[i];
		for (unsigned j = 0; e->state != NEIGH_FREE && j < e->n_q; j++)
			rte_pktmbuf_free(e->q[j]);
	}
	/* Messages still in peers' rings point into this pool: free workers only after all have stopped. */
	rte_mempool_free(t->msg_pool);
	rte_free(t);
	w->neigh = NULL;
}
