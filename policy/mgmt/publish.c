/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>

#include "policy/authz.h"
#include "policy/httpcfg.h"
#include "policy/mgmt/publish.h"
#ifdef WEFT_HAVE_TLS
#include "dataplane/tls/tls_ulp.h"
#endif

#define DQ_SIZE 64

struct weft_snapshot *weft_snapshot_alloc(void)
{
	/* Cache-line aligned: the per-worker reference counts each take a line of their own. */
	size_t sz = (sizeof(struct weft_snapshot) + 63) & ~(size_t)63;
	struct weft_snapshot *s = aligned_alloc(64, sz);

	if (s != NULL)
		memset(s, 0, sz);
	return s;
}

void weft_snapshot_free(struct weft_snapshot *s)
{
	if (s == NULL)
		return;
	weft_http_snap_free(s->http);
	weft_route_authz_free(s->authz);
#ifdef WEFT_HAVE_TLS
	for (unsigned i = 0; i < WEFT_L4_MAX_LISTENERS; i++)
		tls_ulp_cfg_unref(s->tls_listener[i]);
	for (unsigned i = 0; i < WEFT_L4_MAX_CLUSTERS; i++)
		tls_ulp_cfg_unref(s->tls_cluster[i]);
#endif
	free(s);
}

/*
 * Whether a request in flight still holds s. Acquire pairs with the
 * worker's release store when it lets go, so the worker's last reads of s
 * happen before the free.
 */
static bool snapshot_held(const struct weft_snapshot *s)
{
	for (unsigned w = 0; w < WEFT_CFG_MAX_WORKERS; w++)
		if (__atomic_load_n(&s->refs[w].n, __ATOMIC_ACQUIRE) != 0)
			return true;
	return false;
}

/*
 * The grace period of s is over: no worker can load it any more. Counts
 * taken before (within a read-side section) are visible here, since the
 * worker's quiescent report orders them. Free it, or keep it until the
 * requests that hold it have ended.
 */
static void retire(struct weft_publisher *p, struct weft_snapshot *s)
{
	if (snapshot_held(s)) {
		if (p->n_linger == p->cap_linger) {
			unsigned cap = p->cap_linger ? p->cap_linger * 2 : 16;
			struct weft_snapshot **n = realloc(p->linger, cap * sizeof(*n));
			if (n != NULL) {
				p->linger = n;
				p->cap_linger = cap;
			}
		}
		if (p->n_linger < p->cap_linger) {
			p->linger[p->n_linger++] = s;
			return;
		}
		/* No memory to remember it: leaking is safer than freeing what a request reads. */
		fprintf(stderr, "weftd: cannot track a snapshot still in use; it is not freed\n");
		return;
	}
	weft_snapshot_free(s);
	p->freed++;
}

static void dq_free(void *ctx, void *e, unsigned n)
{
	struct weft_publisher *p = ctx;
	struct weft_snapshot **arr = e;

	for (unsigned i = 0; i < n; i++)
		retire(p, arr[i]);
}

int weft_publisher_init(struct weft_publisher *p, unsigned n_workers, char *err, size_t errlen)
{
	size_t sz = rte_rcu_qsbr_get_memsize(n_workers);

	memset(p, 0, sizeof(*p));
	p->qsbr = rte_zmalloc("weft_qsbr", sz, RTE_CACHE_LINE_SIZE);
	if (p->qsbr == NULL || rte_rcu_qsbr_init(p->qsbr, n_workers) != 0) {
		snprintf(err, errlen, "rcu: cannot allocate QSBR state for %u workers", n_workers);
		rte_free(p->qsbr);
		p->qsbr = NULL;
		return -1;
	}
	struct rte_rcu_qsbr_dq_parameters prm = {
		.name = "weft_snap_dq",
		.flags = RTE_RCU_QSBR_DQ_MT_UNSAFE, /* only the management thread touches it */
		.size = DQ_SIZE,
		.esize = sizeof(struct weft_snapshot *),
		.trigger_reclaim_limit = 1,
		.max_reclaim_size = DQ_SIZE,
		.free_fn = dq_free,
		.p = p,
		.v = p->qsbr,
	};
	p->dq = rte_rcu_qsbr_dq_create(&prm);
	if (p->dq == NULL) {
		snprintf(err, errlen, "rcu: cannot create defer queue: %s", rte_strerror(rte_errno));
		rte_free(p->qsbr);
		p->qsbr = NULL;
		return -1;
	}
	return 0;
}

int weft_publish(struct weft_publisher *p, struct weft_snapshot *s)
{
	struct weft_snapshot *old = (struct weft_snapshot *)p->slot;

	s->version = p->version + 1;
	/*
	 * Release: the snapshot's contents are written before the pointer
	 * becomes visible; pairs with the worker's acquire load.
	 */
	__atomic_store_n(&p->slot, s, __ATOMIC_RELEASE);
	p->version = s->version;
	if (old == NULL)
		return 0;
	/*
	 * The enqueue records the QSBR token after the store above, so no
	 * worker that could have loaded old is counted as past the grace
	 * period before it reports again.
	 */
	if (rte_rcu_qsbr_dq_enqueue(p->dq, &old) != 0) {
		/* Queue full even after reclaiming: wait out a grace period once. */
		rte_rcu_qsbr_synchronize(p->qsbr, RTE_QSBR_THRID_INVALID);
		retire(p, old);
	}
	return 0;
}

void weft_publisher_reclaim(struct weft_publisher *p)
{
	unsigned freed, pending, avail;

	if (p->dq != NULL)
		rte_rcu_qsbr_dq_reclaim(p->dq, DQ_SIZE, &freed, &pending, &avail);
	for (unsigned i = 0; i < p->n_linger;) {
		if (snapshot_held(p->linger[i])) {
			i++;
			continue;
		}
		weft_snapshot_free(p->linger[i]);
		p->freed++;
		p->linger[i] = p->linger[--p->n_linger];
	}
}

void weft_publisher_fini(struct weft_publisher *p)
{
	if (p->dq != NULL) {
		/* Workers are offline: every grace period is over. */
		rte_rcu_qsbr_dq_delete(p->dq);
		p->dq = NULL;
	}
	weft_snapshot_free((struct weft_snapshot *)p->slot);
	p->slot = NULL;
	/* Workers are stopped and their requests forgotten: nothing holds these any more. */
	for (unsigned i = 0; i < p->n_linger; i++)
		weft_snapshot_free(p->linger[i]);
	free(p->linger);
	p->linger = NULL;
	p->n_linger = p->cap_linger = 0;
	rte_free(p->qsbr);
	p->qsbr = NULL;
}
