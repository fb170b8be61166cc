/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Workload identity: SPIFFE IDs, the principal patterns that listeners and
 * routes allow, and the x-forwarded-client-cert (XFCC) header that carries a
 * client's identity upstream. Plain C, no DPDK, no TLS library.
 *
 * A principal is the SPIFFE ID of the peer's certificate (its single URI
 * SAN, X509-SVID 2); plaintext connections and certificates without a valid
 * SPIFFE ID have no principal.
 */
#ifndef WEFT_POLICY_IDENTITY_H
#define WEFT_POLICY_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPIFFE_ID_MAX 2048 /* SPIFFE-ID 2.3: implementations MUST support 2048 bytes */
#define SPIFFE_TD_MAX 255  /* SPIFFE-ID 2.3: the URI host, at most 255 bytes */

/* A string that need not be NUL-terminated. */
struct id_str {
	const char *p;
	size_t len;
};

/* The parts of a valid SPIFFE ID; both point into the parsed string. */
struct spiffe_id {
	struct id_str trust_domain; /* "example.org" */
	struct id_str path;         /* "/ns/default/sa/web", or empty */
};

/**
 * Validate and split a SPIFFE ID (SPIFFE-ID 2): the scheme "spiffe" in
 * lowercase, "://", a trust domain of [a-z0-9.-_] (no userinfo, no port),
 * then an optional path of "/"-separated segments of [a-zA-Z0-9.-_], none
 * empty, "." or "..", no trailing "/", no query or fragment, 2048 bytes at
 * most in all.
 *
 * @param why  on failure, set to a static phrase ("trust domain has an
 *             invalid character", ...); may be NULL
 * @return 0 or -1
 */
int spiffe_id_parse(const char *s, size_t len, struct spiffe_id *out, const char **why);

/* ---------------------------------------------------------- principals */

/*
 * A list of allowed principals, compiled from patterns on the management
 * thread and immutable after that (shared by every worker):
 *   spiffe://td/ns/web/sa/api   exactly this ID
 *   spiffe://td/ns/web/\*       any ID under spiffe://td/ns/web/ (at least one more segment)
 *   spiffe://td/\*              any ID of trust domain td
 *   \*                          any principal (any valid SPIFFE ID; not plaintext)
 * (the backslashes are only there to keep this comment a comment)
 */
struct principal_list;

/**
 * Compile patterns into a list.
 *
 * @param err  on failure, "principal 2 'spiffe://x/a*': '*' is only allowed as a
 *             whole last segment"; may be NULL
 * @return the list (free with principal_list_free), or NULL on a bad pattern
 *         or ENOMEM (err says which)
 */
struct principal_list *principal_list_new(const char *const *patterns, size_t n, char *err, size_t errlen);
void principal_list_free(struct principal_list *l);
size_t principal_list_count(const struct principal_list *l);

/*
 * Outcome of an authorization check. X(ENUM_SUFFIX, "name", "help"); a
 * denial is counted under its name and answered with 403.
 */
#define AUTHZ_RESULTS(X)                                                                           \
	X(ALLOW, "allow", "principal allowed")                                                     \
	X(DENY_NO_PRINCIPAL, "authz_no_principal",                                                 \
	  "no verified SPIFFE ID (plaintext, no client certificate, or no valid URI SAN)")         \
	X(DENY_NOT_ALLOWED, "authz_principal_denied", "principal not in the allowed list")

#define AUTHZ_X_ENUM(e, n, h) AUTHZ_##e,
enum authz_result { AUTHZ_RESULTS(AUTHZ_X_ENUM) AUTHZ_RESULT_MAX };
#undef AUTHZ_X_ENUM

const char *authz_result_name(enum authz_result r);
const char *authz_result_help(enum authz_result r);

/**
 * Is principal (the peer's SPIFFE ID, or NULL/empty for none) allowed?
 * A NULL list allows everyone, principal or not (no restriction configured).
 */
enum authz_result principal_check(const struct principal_list *l, const char *principal, size_t len);

/* ----------------------------------------------------------------- XFCC */

#define XFCC_MAX_NAMES 16

/*
 * One XFCC element, Envoy's format: the fields present are written in the
 * order By, Hash, Subject, URI, DNS, as "Key=value" joined by ';'. A value
 * holding ',', ';', '=' or '"' is double-quoted with '"' written as '\"';
 * Subject is always quoted. Values with control characters or bytes outside
 * ASCII cannot be carried in a header safely and are left out.
 */
struct xfcc_cert {
	struct id_str by;           /* URI SAN of weft's own certificate; len 0 = none */
	const uint8_t *hash;        /* SHA-256 of the client certificate's DER (32 bytes), or NULL */
	struct id_str subject;      /* RFC 4514 subject; p NULL = none (an empty subject is "") */
	size_t n_uri, n_dns;
	struct id_str uri[XFCC_MAX_NAMES];
	struct id_str dns[XFCC_MAX_NAMES];
};

/**
 * Write one element (no trailing NUL counted).
 *
 * @return its length, or -1 if cap is too small (buf then holds a
 *         truncated, NUL-terminated prefix that must not be sent)
 */
int xfcc_format(char *buf, size_t cap, const struct xfcc_cert *c);

/**
 * Append one element to an existing header value (Envoy's APPEND_FORWARD):
 * "existing,element", or just the element when existing is empty.
 *
 * @return the total length, or -1 if it does not fit in cap
 */
int xfcc_append(char *buf, size_t cap, const char *existing, size_t existing_len, const struct xfcc_cert *c);

#endif
