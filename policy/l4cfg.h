/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The compiled L4 table: listeners, clusters and their endpoints as the
 * workers read them from the current snapshot, with the lookup the TCP
 * accept hook calls and the load-balancing pick. Plain C, pure functions.
 *
 * Listener lookup is by (destination address, destination port). A listener
 * on a specific address wins over a wildcard (0.0.0.0 or ::) of the same
 * family on the same port; a wildcard only covers its own family. Tables
 * hold at most 64 listeners, so the lookup scans a packed array of ports
 * (two cache lines) and compares addresses only on a port match: it runs
 * once per SYN, never per segment.
 *
 * Stats slots: per-listener counters live in per-worker arrays indexed by
 * a slot number that stays with a listener's name across reloads
 * (weft_l4_inherit_slots()), so a gauge incremented under one snapshot is
 * decremented on the same series under the next.
 */
#ifndef WEFT_POLICY_L4CFG_H
#define WEFT_POLICY_L4CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/config.h"

#define WEFT_L4_MAX_LISTENERS WEFT_CFG_MAX_LISTENERS
#define WEFT_L4_MAX_CLUSTERS WEFT_CFG_MAX_CLUSTERS
#define WEFT_L4_MAX_ENDPOINTS WEFT_CFG_MAX_ENDPOINTS
#define WEFT_L4_SLOTS WEFT_L4_MAX_LISTENERS /* stats slots: one per listener that can exist at once */

struct weft_l4_endpoint {
	struct weft_ip addr;
	uint16_t port;
	uint32_t weight;
};

struct weft_l4_cluster {
	char name[WEFT_CFG_NAME_LEN];
	enum weft_lb_policy lb;
	uint32_t first;        /* index of the first endpoint in weft_l4_table.endpoints */
	uint32_t n;            /* endpoints, at least 1 */
	uint32_t total_weight;
};

struct weft_l4_listener {
	char name[WEFT_CFG_NAME_LEN];
	enum weft_listener_kind kind;
	struct weft_ip addr;   /* ignored but for its family when any */
	bool any;
	uint16_t port;
	uint16_t cluster;      /* index into weft_l4_table.clusters */
	uint16_t slot;         /* stats slot, 0..WEFT_L4_SLOTS-1 */
	uint32_t connect_timeout_ms;
	uint32_t idle_timeout_ms;   /* 0: none */
	uint32_t max_per_worker;    /* ceil(max_connections / workers) */
	/* kind tls_passthrough: server names in weft_l4_table.sni[sni_first .. sni_first + n_sni) */
	uint16_t sni_first, n_sni;
};

#define WEFT_L4_MAX_SNI WEFT_CFG_MAX_SNI

/* A server name of a tls_passthrough listener: exact, "*.suffix" or "*", lower case. */
struct weft_l4_sni {
	char name[WEFT_CFG_SNI_LEN];
	uint16_t len;
	uint16_t cluster;      /* index into weft_l4_table.clusters */
};

struct weft_l4_table {
	unsigned n_listeners;
	uint16_t port_of[WEFT_L4_MAX_LISTENERS]; /* listeners[i].port, packed for the scan */
	struct weft_l4_listener listeners[WEFT_L4_MAX_LISTENERS];
	unsigned n_clusters;
	struct weft_l4_cluster clusters[WEFT_L4_MAX_CLUSTERS];
	unsigned n_endpoints;
	struct weft_l4_endpoint endpoints[WEFT_L4_MAX_ENDPOINTS];
	unsigned n_sni;
	struct weft_l4_sni sni[WEFT_L4_MAX_SNI];
	/*
	 * The listener name behind each stats slot; "" for a slot never used.
	 * A removed listener's name stays until its slot is reused, so the
	 * sessions it still carries keep being reported under it.
	 */
	char slot_name[WEFT_L4_SLOTS][WEFT_CFG_NAME_LEN];
};

/**
 * Compile the listeners and clusters of a validated config. Slots are the
 * listeners' indexes; call weft_l4_inherit_slots() to keep the slots of a
 * table being replaced.
 *
 * @return 0, or -1 with err filled (a config that skipped validation)
 */
int weft_l4_compile(const struct weft_config *cfg, struct weft_l4_table *t, char *err, size_t errlen);

/**
 * Give every listener of t the slot its name had in prev; new names take
 * a never-used slot first, then one whose listener is gone. t->slot_name
 * starts from prev's so that retired names stay visible.
 */
void weft_l4_inherit_slots(struct weft_l4_table *t, const struct weft_l4_table *prev);

/**
 * The listener for a connection to dst:port (port in host order), or NULL.
 * An exact address match wins over a wildcard of dst's family.
 */
const struct weft_l4_listener *weft_l4_lookup(const struct weft_l4_table *t, const struct weft_ip *dst,
					      uint16_t port);

/** The listener whose name is name, or NULL. */
const struct weft_l4_listener *weft_l4_listener_by_name(const struct weft_l4_table *t, const char *name);

/**
 * The cluster a tls_passthrough listener sends a ClientHello with server
 * name sni (len bytes, any case, one trailing dot ignored; NULL or len 0
 * when the hello had no server_name) to: an exact name beats the longest
 * matching "*.suffix" (which needs at least one byte before the suffix),
 * which beats "*".
 *
 * @return an index into t->clusters, or -1 when no name matches
 */
int weft_l4_sni_match(const struct weft_l4_table *t, const struct weft_l4_listener *l, const char *sni, size_t len);

/**
 * Smooth weighted round robin (as in nginx): every endpoint of weight w gets
 * w picks out of each total_weight consecutive ones, interleaved rather than
 * in runs. cur holds the per-endpoint state of the caller (indexed like
 * t->endpoints, zeroed to start); each worker keeps its own.
 *
 * @return the index into t->endpoints of the endpoint to use
 */
uint32_t weft_l4_pick(const struct weft_l4_table *t, const struct weft_l4_cluster *c, int32_t *cur);

#endif
