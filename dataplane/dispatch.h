/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Software dispatcher for ports whose PMD cannot spread flows over several
 * rx queues (af_packet, tap, ring, ...). One worker polls the single queue
 * and hands every frame to the worker that RSS would have picked: the
 * Toeplitz hash of the IPv4/IPv6 addresses and TCP/UDP ports with the
 * port's key, through a 128-entry redirection table. The same function
 * tells the TCP stack which worker the replies of a given 4-tuple reach, so
 * a worker can choose source ports whose return traffic comes back to it.
 * Frames without an L3/L4 tuple (ARP, ND) stay on the polling worker.
 */
#ifndef WEFT_DATAPLANE_DISPATCH_H
#define WEFT_DATAPLANE_DISPATCH_H

#include <stdint.h>

#include <rte_mbuf.h>

#include "dataplane/worker.h"

#define WEFT_RETA_SIZE 128

/**
 * Worker that owns frame m received on port, or UINT32_MAX when the frame
 * carries no IP tuple (the polling worker keeps it). Reads headers only.
 */
uint32_t weft_dispatch_pick(const struct weft_worker *w, uint16_t port, const struct rte_mbuf *m);

/**
 * Dispatch a burst received by w on a shared single queue of port. Frames
 * owned by w are processed at once; the others are enqueued to their
 * worker's inbox (dropped as dispatch_full when it is full). Takes ownership
 * of every mbuf in pkts.
 */
void weft_dispatch_burst(struct weft_worker *w, uint16_t port, struct rte_mbuf **pkts, uint16_t n);

#endif
