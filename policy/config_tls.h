/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The TLS part of the configuration model: the `tls:` blocks of listeners
 * (termination) and clusters (origination), and the principal lists of
 * listeners and routes (allow_principals). Parsed and checked for shape by
 * policy/config_tls.c; the files they name are read and checked when the
 * snapshot is built (policy/mgmt/tls_mgmt.c), so a bad certificate is
 * refused like any bad configuration and the last good one keeps serving.
 *
 * Like the HTTP model (config_http.h) it holds no pointers: strings are
 * offsets into one arena, lists are ranges of one array. Plain C, no DPDK.
 */
#ifndef WEFT_POLICY_CONFIG_TLS_H
#define WEFT_POLICY_CONFIG_TLS_H

#include <stdbool.h>
#include <stdint.h>

#include "policy/config_http.h"

#define WEFT_CFG_MAX_TLS 64              /* tls blocks of listeners and clusters together */
#define WEFT_CFG_TLS_MAX_CERTS 16        /* certificates of one listener */
#define WEFT_CFG_TLS_MAX_NAMES 16        /* names of one certificate; verify_san entries */
#define WEFT_CFG_TLS_MAX_ALPN 4          /* protocols of one alpn list */
#define WEFT_CFG_TLS_MAX_PRINCIPALS 1024 /* allow_principals entries, listeners and routes together */
#define WEFT_CFG_TLS_STRINGS (128u << 10) /* bytes of paths, names and patterns */
#define WEFT_CFG_TLS_HANDSHAKE_TIMEOUT_MS_DEFAULT 10000u
#define WEFT_CFG_TLS_HANDSHAKE_TIMEOUT_MS_MAX 600000u

enum weft_tls_mode {
	WEFT_TLS_DISABLE,    /* plaintext only (the block is parsed and checked, not used) */
	WEFT_TLS_PERMISSIVE, /* TLS or plaintext, told apart by the first byte; client certificate optional */
	WEFT_TLS_STRICT,     /* TLS only, client certificate required */
};

enum weft_tls_versions_cfg {
	WEFT_TLS_V12_PLUS, /* "tls12+": TLS 1.2 and 1.3 */
	WEFT_TLS_V13,      /* "tls13" */
};

struct weft_tls_cert_cfg {
	weft_cfg_str cert, key;
	unsigned n_names;
	weft_cfg_str names[WEFT_CFG_TLS_MAX_NAMES];
	int line;
};

struct weft_tls_block_cfg {
	bool client;                 /* a cluster's block (origination); else a listener's */
	uint8_t mode;                /* enum weft_tls_mode (listeners) */
	uint8_t versions;            /* enum weft_tls_versions_cfg */
	bool session_tickets;        /* listeners: issue and accept tickets */
	uint32_t handshake_timeout_ms;
	unsigned n_certs;            /* listener: 1..16; cluster: 0 or 1 (cert/key) */
	struct weft_tls_cert_cfg certs[WEFT_CFG_TLS_MAX_CERTS];
	weft_cfg_str trust_bundle;   /* 0: none */
	weft_cfg_str crl;            /* 0: none */
	weft_cfg_str alpn;           /* "h2,http/1.1" in preference order; 0: no ALPN */
	weft_cfg_str sni;            /* cluster: the name sent; 0: none */
	unsigned n_verify;           /* cluster: SANs the upstream must present (SPIFFE patterns or DNS) */
	weft_cfg_str verify[WEFT_CFG_TLS_MAX_NAMES];
	struct weft_cfg_range principals; /* listener: allow_principals, into weft_tls_cfg.principals */
	char owner[48];              /* "listeners[2].tls", "clusters[0].tls": for messages */
	int line;
};

struct weft_tls_cfg {
	unsigned n_blocks;
	struct weft_tls_block_cfg blocks[WEFT_CFG_MAX_TLS];
	unsigned n_principals;
	weft_cfg_str principals[WEFT_CFG_TLS_MAX_PRINCIPALS];
	uint32_t str_len;            /* bytes used in str, at least 1 */
	char str[WEFT_CFG_TLS_STRINGS];
};

/** The string at offset s of t ("" for 0). */
static inline const char *weft_tls_s(const struct weft_tls_cfg *t, weft_cfg_str s)
{
	return s < t->str_len ? &t->str[s] : "";
}

/** "disable", "permissive", "strict". */
const char *weft_tls_mode_name(enum weft_tls_mode m);

#endif
