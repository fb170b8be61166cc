/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The few facts weft needs from an X.509 certificate (RFC 5280), read from
 * its DER encoding: validity dates, the subject as an RFC 4514 string, and
 * the subjectAltName entries by type. Plain C, no allocation, no TLS
 * library; used by the TLS engine for the peer's identity and for checking
 * certificates when they are loaded.
 *
 * This is not a verifier: signatures, chains and constraints are the TLS
 * library's business. Input is bounds-checked throughout and may be hostile.
 */
#ifndef WEFT_DATAPLANE_TLS_X509_H
#define WEFT_DATAPLANE_TLS_X509_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TLS_X509_MAX_SANS 16     /* URI and DNS entries kept (each list) */
#define TLS_X509_SUBJECT_MAX 512 /* RFC 4514 subject string, NUL included */

/* A string inside the DER buffer (not NUL-terminated). */
struct tls_x509_str {
	const char *p;
	size_t len;
};

struct tls_x509 {
	int64_t not_before; /* seconds since the epoch, UTC */
	int64_t not_after;
	/* RFC 4514 (the "RFC 2253" form OpenSSL and Envoy print): most specific
	 * RDN first, "CN=client,O=weft,C=US". Empty for an empty subject. */
	char subject[TLS_X509_SUBJECT_MAX];
	bool subject_truncated;
	unsigned n_uri, n_dns;       /* entries kept */
	unsigned uri_total;          /* URI SANs present (may exceed n_uri) */
	struct tls_x509_str uri[TLS_X509_MAX_SANS]; /* uniformResourceIdentifier, in order */
	struct tls_x509_str dns[TLS_X509_MAX_SANS]; /* dNSName, in order */
	bool is_ca;                  /* basicConstraints cA = TRUE */
	char key_type[24];           /* "ECDSA P-256", "RSA 2048", "Ed25519", or "unknown" */
	const uint8_t *subject_der;  /* the subject Name, whole TLV, inside the input */
	size_t subject_der_len;
};

/* A certificate revocation list (RFC 5280 5.1). */
struct tls_x509_crl {
	int64_t this_update;
	int64_t next_update;         /* 0 when absent */
	char issuer[TLS_X509_SUBJECT_MAX];
	const uint8_t *issuer_der;   /* the issuer Name, whole TLV, inside the input */
	size_t issuer_der_len;
	unsigned n_revoked;
};

/** Parse a DER CRL; 0 or -1. */
int tls_x509_crl_parse(const uint8_t *der, size_t len, struct tls_x509_crl *out);

/**
 * Parse a DER certificate.
 *
 * @param der,len  the certificate; out's strings point into it
 * @return 0, or -1 when the encoding is not a certificate this reader
 *         understands (out is then unspecified)
 */
int tls_x509_parse(const uint8_t *der, size_t len, struct tls_x509 *out);

/** "2026-01-01T00:00:00Z" into buf (at least 21 bytes). Returns buf. */
char *tls_x509_time_str(int64_t t, char *buf, size_t len);

#endif
