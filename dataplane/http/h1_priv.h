/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Character classes and helpers shared by the HTTP/1 parser, the chunked
 * decoder, the semantic pass and the codec. Private to dataplane/http.
 */
#ifndef WEFT_DATAPLANE_HTTP_H1_PRIV_H
#define WEFT_DATAPLANE_HTTP_H1_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/http/h1.h"

/* h1_cc[] bits */
#define H1_C_TCHAR 0x01  /* tchar (RFC 9110 5.6.2) */
#define H1_C_FVAL 0x02   /* field-vchar, SP, HTAB (RFC 9110 5.5), obs-text included */
#define H1_C_TARGET 0x04 /* may appear in a request-target (RFC 3986 2, 3) */
#define H1_C_HEX 0x08    /* HEXDIG */
#define H1_C_REGNAME 0x10 /* unreserved / sub-delims (RFC 3986 3.2.2), '%' apart */
#define H1_C_QDTEXT 0x20 /* qdtext (RFC 9110 5.6.4) */
#define H1_C_DIGIT 0x40
#define H1_C_SPECIAL 0x80 /* '%', '[', ']': a target holding one is checked further */

extern const uint8_t h1_cc[256];
extern const uint8_t h1_lower[256];

static inline bool h1_is(unsigned char c, unsigned cls)
{
	return (h1_cc[c] & cls) != 0;
}

static inline bool h1_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Reason for an unexpected byte c where dflt names any other unexpected
 * byte: an LF is a bare LF (a CR would have moved on, RFC 9112 2.2), a NUL
 * or other control character is named as such (RFC 9110 5.5).
 */
static inline enum h1_err h1_odd_byte(unsigned char c, enum h1_err dflt)
{
	if (c == '\n')
		return H1_E_BARE_LF;
	if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f)
		return H1_E_NUL_OR_CTL;
	return dflt;
}

/* Case-insensitive equality of a span and a lower-case literal. */
static inline bool h1_ieq(const char *s, size_t n, const char *lit, size_t litn)
{
	if (n != litn)
		return false;
	for (size_t i = 0; i < n; i++)
		if (h1_lower[(unsigned char)s[i]] != (unsigned char)lit[i])
			return false;
	return true;
}

#define H1_IEQ(s, n, lit) h1_ieq((s), (n), lit, sizeof(lit) - 1)

/*
 * uri-host [ ":" port ] (RFC 9110 7.2, RFC 3986 3.2.2-3.2.3): an IP-literal
 * without IPvFuture or zone, or a reg-name with well-formed pct-encodings,
 * then an optional port of 1 to 5 digits up to 65535. allow_empty_host lets
 * an empty reg-name through (an empty Host is valid, RFC 9112 3.2; an http
 * URI's is not, RFC 9110 4.2.1). The port's offset (after the colon) is
 * stored in *port_at, or n without a port.
 */
bool h1_authority_valid(const char *s, size_t n, bool allow_empty_host, size_t *port_at);

/* Well-known field id of a name (case-insensitive). */
enum h1_field_id h1_field_id_of(const char *name, size_t n);

#endif
