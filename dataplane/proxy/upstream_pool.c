/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Per-worker upstream connection pools and buffers.
 *
 * A connection that finished an exchange cleanly (the response complete,
 * nothing unread, both sides willing to keep it) goes to the idle list of
 * its endpoint, keyed by address and port: endpoints, not clusters, so that
 * two clusters naming one server share its connections, and a reload that
 * only reshuffles clusters keeps them. Lists are LIFO (the most recently
 * used connection is the warmest: its congestion window is open, and the
 * cold ones at the tail are those that time out); an endpoint keeps at most
 * its cluster's max_idle_connections, and every idle connection is closed
 * after its cluster's idle_timeout_ms, which defaults below the keep-alive
 * timeouts of common servers so that weft, not the server, closes first
 * (a server closing a connection just as weft reuses it costs a retry).
 *
 * An idle connection that the upstream closes or resets, or that sends
 * anything at all, is dropped from the pool at once (hp_up_event).
 *
 * Buffers are 64 KiB blocks from a per-worker free list, malloc'd when the
 * list is empty (rarely, once warm) and returned when a connection has
 * nothing left to hold: an idle keep-alive client costs no buffer. The list
 * keeps up to FREE_BUFS_KEPT of them (64 MiB): a request in flight holds up
 * to four at once, and handing them back to malloc() and taking them again
 * under load cost page faults that doubled the cycles per request
 * (perf/bench_http with 64 connections: 14,500 -> 7,300).
 */
#include <stdlib.h>
#include <string.h>

#include "dataplane/proxy/hp_priv.h"

#define FREE_BUFS_KEPT 1024u

struct hp_buf *hp_buf_get(struct hp_worker *hw)
{
	struct hp_buf *b = hw->free_buf;

	if (b != NULL) {
		hw->free_buf = b->next;
		hw->n_free_buf--;
	} else {
		b = malloc(sizeof(*b));
		if (b == NULL)
			return NULL;
		hw->n_buf++;
	}
	b->next = NULL;
	b->len = 0;
	return b;
}

void hp_buf_put(struct hp_worker *hw, struct hp_buf *b)
{
	if (b == NULL)
		return;
	if (hw->n_free_buf >= FREE_BUFS_KEPT) {
		free(b);
		hw->n_buf--;
		return;
	}
	b->next = hw->free_buf;
	hw->free_buf = b;
	hw->n_free_buf++;
}

void hp_bufs_free(struct hp_worker *hw)
{
	while (hw->free_buf != NULL) {
		struct hp_buf *b = hw->free_buf;
		hw->free_buf = b->next;
		free(b);
	}
	hw->n_free_buf = 0;
}

struct hp_up *hp_up_alloc(struct hp_worker *hw)
{
	struct hp_up *up = hw->free_up;

	if (up == NULL)
		return NULL;
	hw->free_up = up->free_next;
	memset(up, 0, sizeof(*up));
	up->bucket = UINT32_MAX;
	WEFT_CTR_ADD(hw->st.upstream_active, 1);
	return up;
}

void hp_up_free(struct hp_worker *hw, struct hp_up *up)
{
	if (up->state == UP_FREE)
		return;
	up->state = UP_FREE;
	up->c = NULL;
	up->d = NULL;
	up->free_next = hw->free_up;
	hw->free_up = up;
	HP_GAUGE_SUB(hw->st.upstream_active);
}

void hp_up_close(struct hp_worker *hw, struct hp_up *up)
{
	if (up->c != NULL)
		tcp_close(hw->w, up->c); /* no callback after this */
	hp_up_free(hw, up);
}

void hp_up_abort(struct hp_worker *hw, struct hp_up *up)
{
	if (up->c != NULL)
		tcp_abort(hw->w, up->c);
	hp_up_free(hw, up);
}

static bool ip_eq(const struct weft_ip *a, const struct weft_ip *b)
{
	if (a->af != b->af)
		return false;
	return a->af == 4 ? a->v4 == b->v4 : memcmp(a->v6, b->v6, 16) == 0;
}

static uint32_t bucket_of(struct hp_worker *hw, const struct weft_ip *addr, uint16_t port, bool create)
{
	uint64_t h = weft_lb_hash_ip(addr) ^ ((uint64_t)port * 0x9e3779b97f4a7c15ull);
	uint32_t i = (uint32_t)(h ^ (h >> 32)) & (HP_BUCKETS - 1);

	/* Open addressing, linear probing; buckets are never removed (endpoints are few and stable). */
	for (uint32_t k = 0; k < HP_BUCKETS; k++, i = (i + 1) & (HP_BUCKETS - 1)) {
		struct hp_bucket *b = &hw->buckets[i];
		if (!b->used) {
			/* Keep a quarter free so that probes stay short. */
			if (!create || hw->n_buckets_used >= HP_BUCKETS - HP_BUCKETS / 4)
				return UINT32_MAX;
			b->used = true;
			b->addr = *addr;
			b->port = port;
			hw->n_buckets_used++;
			return i;
		}
		if (b->port == port && ip_eq(&b->addr, addr))
			return i;
	}
	return UINT32_MAX;
}

static void lru_unlink(struct hp_worker *hw, struct hp_up *up)
{
	if (up->lprev != NULL)
		up->lprev->lnext = up->lnext;
	else
		hw->lru_head = up->lnext;
	if (up->lnext != NULL)
		up->lnext->lprev = up->lprev;
	else
		hw->lru_tail = up->lprev;
	up->lnext = up->lprev = NULL;
}

void hp_pool_remove(struct hp_worker *hw, struct hp_up *up)
{
	struct hp_bucket *b;

	if (up->state != UP_IDLE || up->bucket == UINT32_MAX)
		return;
	b = &hw->buckets[up->bucket];
	if (up->bprev != NULL)
		up->bprev->bnext = up->bnext;
	else
		b->head = up->bnext;
	if (up->bnext != NULL)
		up->bnext->bprev = up->bprev;
	up->bnext = up->bprev = NULL;
	b->n_idle--;
	lru_unlink(hw, up);
	up->state = UP_BUSY;
	HP_GAUGE_SUB(hw->st.upstream_idle);
}

struct hp_up *hp_pool_take(struct hp_worker *hw, const struct weft_ip *addr, uint16_t port)
{
	uint32_t i = bucket_of(hw, addr, port, false);
	struct hp_up *up;

	if (i == UINT32_MAX || hw->buckets[i].head == NULL)
		return NULL;
	up = hw->buckets[i].head;
	hp_pool_remove(hw, up);
	return up;
}

void hp_pool_put(struct hp_worker *hw, struct hp_up *up, uint32_t max_idle, uint32_t idle_ms)
{
	uint32_t i = bucket_of(hw, &up->addr, up->port, true);
	struct hp_bucket *b;

	up->d = NULL;
	if (i == UINT32_MAX || hw->buckets[i].n_idle >= max_idle) {
		HP_ST_ADD(hw, pool_full, 1);
		hp_up_close(hw, up);
		return;
	}
	b = &hw->buckets[i];
	up->bucket = i;
	up->state = UP_IDLE;
	up->idle_deadline_ms = hp_now_ms(hw) + idle_ms;
	up->bprev = NULL;
	up->bnext = b->head;
	if (b->head != NULL)
		b->head->bprev = up;
	b->head = up;
	b->n_idle++;
	up->lnext = NULL;
	up->lprev = hw->lru_tail;
	if (hw->lru_tail != NULL)
		hw->lru_tail->lnext = up;
	else
		hw->lru_head = up;
	hw->lru_tail = up;
	HP_ST_ADD(hw, pool_returned, 1);
	WEFT_CTR_ADD(hw->st.upstream_idle, 1);
}

void hp_pool_sweep(struct hp_worker *hw, uint64_t now_ms)
{
	/* Deadlines differ per cluster, so the whole list is looked at; it is only the idle connections. */
	for (struct hp_up *up = hw->lru_head, *next; up != NULL; up = next) {
		next = up->lnext;
		if (up->idle_deadline_ms > now_ms)
			continue;
		hp_pool_remove(hw, up);
		HP_ST_ADD(hw, pool_closed_idle, 1);
		hp_up_close(hw, up);
	}
}
