/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TLS on the management thread: contexts for the listeners and clusters of
 * a configuration (built from the files their tls blocks name, checked as
 * they are built), the session-ticket keyring shared by every worker, and
 * the file watch that rebuilds contexts when a certificate, key, bundle or
 * CRL changes. Compiled into weftd only when it has the TLS engine.
 */
#ifndef WEFT_POLICY_MGMT_TLS_MGMT_H
#define WEFT_POLICY_MGMT_TLS_MGMT_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/config.h"
#include "policy/snapshot.h"

/**
 * Build the TLS configuration of every listener and cluster of cfg into
 * s->tls_listener[] and s->tls_cluster[] (indexes as in cfg). A listener in
 * mode disable gets none.
 *
 * @param err  on failure "OWNER: FILE: what is wrong", e.g.
 *             "listeners[0].tls: certs/web.pem: certificate expired on ..."
 * @return 0, or -1 with err filled (s holds what was built; weft_snapshot_free() drops it)
 */
int weft_tls_compile(const struct weft_config *cfg, struct weft_snapshot *s, char *err, size_t errlen);

/**
 * Whether a file behind a context of s changed since the context was built
 * (SHA-256 of the files' contents). A file that cannot be read counts as
 * changed, so that the rebuild reports it.
 */
bool weft_tls_files_changed(const struct weft_config *cfg, const struct weft_snapshot *s);

/** A hash of the contents of every TLS file cfg names (unreadable ones count as such). */
uint64_t weft_tls_files_hash(const struct weft_config *cfg);

/** Once a second: rotate the session-ticket keys when their period is over. */
void weft_tls_tick(void);

#endif
