/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ClientHello reader: record layer (RFC 8446 5.1), handshake header (RFC
 * 8446 4), ClientHello body (RFC 8446 4.1.2, RFC 5246 7.4.1.2) and the
 * extensions a router needs: server_name (RFC 6066 3), ALPN (RFC 7301 3.1),
 * supported_versions (RFC 8446 4.2.1).
 *
 * Two passes. The first walks the records, validating each header, until
 * the handshake header and then the whole message are covered. When the
 * message lies in the first record (the usual case) the second pass parses
 * it in place; otherwise the fragments are gathered into a stack buffer
 * bounded by TLS_CH_MAX_LEN.
 */
#include "dataplane/tls/clienthello.h"

#include <string.h>

#define REC_HDR 5
#define REC_MAX 16384 /* RFC 8446 5.1: fragment length MUST NOT exceed 2^14 */
#define HS_HDR 4
#define CT_HANDSHAKE 22
#define HS_CLIENT_HELLO 1

#define EXT_SERVER_NAME 0
#define EXT_ALPN 16
#define EXT_SESSION_TICKET 35
#define EXT_PRE_SHARED_KEY 41
#define EXT_EARLY_DATA 42
#define EXT_SUPPORTED_VERSIONS 43
#define MAX_EXTENSIONS 128

const char *tls_ch_status_name(enum tls_ch_status s)
{
	switch (s) {
	case TLS_CH_OK:
		return "ok";
	case TLS_CH_NEED_MORE:
		return "need_more";
	case TLS_CH_NOT_TLS:
		return "not_tls";
	case TLS_CH_MALFORMED:
		return "malformed";
	}
	return "?";
}

enum tls_sniff tls_sniff(const uint8_t *buf, size_t len)
{
	if (len >= 1 && buf[0] != CT_HANDSHAKE)
		return TLS_SNIFF_PLAIN;
	if (len >= 2 && buf[1] != 0x03)
		return TLS_SNIFF_PLAIN;
	if (len >= 3 && buf[2] > 0x04)
		return TLS_SNIFF_PLAIN;
	return len >= 3 ? TLS_SNIFF_TLS : TLS_SNIFF_NEED_MORE;
}

/* A bounds-checked cursor over one contiguous byte range. Every read either
 * succeeds entirely or sets bad and reads nothing, so a chain of reads can
 * be checked once at the end. */
struct cur {
	const uint8_t *p;
	size_t left;
	bool bad;
};

static uint32_t get_n(struct cur *c, size_t n)
{
	uint32_t v = 0;
	if (c->bad || c->left < n) {
		c->bad = true;
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | c->p[i];
	c->p += n;
	c->left -= n;
	return v;
}

static const uint8_t *get_bytes(struct cur *c, size_t n)
{
	if (c->bad || c->left < n) {
		c->bad = true;
		return NULL;
	}
	const uint8_t *p = c->p;
	c->p += n;
	c->left -= n;
	return p;
}

/* A sub-cursor over the next n bytes (a length-prefixed vector's body). */
static struct cur sub(struct cur *c, size_t n)
{
	struct cur s = { .p = NULL, .left = 0, .bad = true };
	const uint8_t *p = get_bytes(c, n);
	if (p != NULL) {
		s.p = p;
		s.left = n;
		s.bad = false;
	}
	return s;
}

/* RFC 8701 GREASE values (0x0A0A, 0x1A1A, ... 0xFAFA) are never real versions. */
static bool is_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* RFC 6066 3: a server_name list with one host_name at most. */
static bool parse_sni(struct cur ext, struct tls_clienthello *out)
{
	size_t list_len = get_n(&ext, 2);
	if (ext.bad || list_len != ext.left || list_len == 0)
		return false;
	while (ext.left > 0) {
		uint8_t type = (uint8_t)get_n(&ext, 1);
		size_t n = get_n(&ext, 2);
		const uint8_t *name = get_bytes(&ext, n);
		if (ext.bad)
			return false;
		if (type != 0)
			continue; /* other name types are skipped, as the RFC says */
		if (out->has_sni)
			return false; /* "MUST NOT contain more than one name of the same name_type" */
		if (n == 0 || n > TLS_CH_SNI_MAX)
			return false;
		for (size_t i = 0; i < n; i++) {
			/* HostName is ASCII (RFC 6066 3); no control bytes, no NUL, no space. */
			if (name[i] <= 0x20 || name[i] >= 0x7f)
				return false;
		}
		memcpy(out->sni, name, n);
		out->sni[n] = '\0';
		out->sni_len = (uint8_t)n;
		out->has_sni = true;
	}
	return true;
}

/* RFC 7301 3.1: ProtocolNameList protocol_name_list<2..2^16-1>, names <1..2^8-1>. */
static bool parse_alpn(struct cur ext, struct tls_clienthello *out)
{
	size_t list_len = get_n(&ext, 2);
	if (ext.bad || list_len != ext.left || list_len < 2)
		return false;
	while (ext.left > 0) {
		size_t n = get_n(&ext, 1);
		const uint8_t *name = get_bytes(&ext, n);
		if (ext.bad || n == 0)
			return false;
		if (out->alpn_count == TLS_CH_ALPN_MAX) {
			out->alpn_truncated = true;
			continue;
		}
		memcpy(out->alpn[out->alpn_count].name, name, n);
		out->alpn[out->alpn_count].name[n] = '\0';
		out->alpn[out->alpn_count].len = (uint8_t)n;
		out->alpn_count++;
	}
	return true;
}

/* RFC 8446 4.2.1: ProtocolVersion versions<2..254> in a ClientHello. */
static bool parse_versions(struct cur ext, struct tls_clienthello *out)
{
	size_t n = get_n(&ext, 1);
	if (ext.bad || n != ext.left || n < 2 || n % 2 != 0)
		return false;
	uint16_t max = 0;
	while (ext.left > 0) {
		uint16_t v = (uint16_t)get_n(&ext, 2);
		if (!is_grease(v) && v > max)
			max = v;
	}
	if (max != 0)
		out->max_version = max;
	return true;
}

/* The ClientHello body (after the 4-byte handshake header). */
static enum tls_ch_status parse_body(const uint8_t *p, size_t n, struct tls_clienthello *out)
{
	struct cur c = { .p = p, .left = n, .bad = false };

	out->legacy_version = (uint16_t)get_n(&c, 2);
	out->max_version = out->legacy_version;
	get_bytes(&c, 32); /* random */
	size_t sid = get_n(&c, 1);
	if (sid > 32)
		return TLS_CH_MALFORMED;
	get_bytes(&c, sid);
	size_t suites = get_n(&c, 2);
	if (suites < 2 || suites % 2 != 0)
		return TLS_CH_MALFORMED;
	get_bytes(&c, suites);
	size_t comp = get_n(&c, 1);
	if (comp < 1)
		return TLS_CH_MALFORMED;
	get_bytes(&c, comp);
	if (c.bad)
		return TLS_CH_MALFORMED;
	if ((out->legacy_version >> 8) != 0x03)
		return TLS_CH_MALFORMED;

	/* RFC 5246 7.4.1.2: a TLS 1.2 hello may end without extensions. */
	if (c.left == 0)
		return TLS_CH_OK;

	size_t ext_total = get_n(&c, 2);
	if (c.bad || ext_total != c.left)
		return TLS_CH_MALFORMED; /* short, or trailing bytes after the extensions */

	uint16_t seen[MAX_EXTENSIONS];
	unsigned n_seen = 0;
	while (c.left > 0) {
		uint16_t type = (uint16_t)get_n(&c, 2);
		size_t len = get_n(&c, 2);
		struct cur ext = sub(&c, len);
		if (c.bad)
			return TLS_CH_MALFORMED;
		/* RFC 8446 4.2: no two extensions of the same type. */
		for (unsigned i = 0; i < n_seen; i++)
			if (seen[i] == type)
				return TLS_CH_MALFORMED;
		if (n_seen == MAX_EXTENSIONS)
			return TLS_CH_MALFORMED;
		seen[n_seen++] = type;

		switch (type) {
		case EXT_SERVER_NAME:
			if (!parse_sni(ext, out))
				return TLS_CH_MALFORMED;
			break;
		case EXT_ALPN:
			if (!parse_alpn(ext, out))
				return TLS_CH_MALFORMED;
			break;
		case EXT_SUPPORTED_VERSIONS:
			if (!parse_versions(ext, out))
				return TLS_CH_MALFORMED;
			break;
		case EXT_SESSION_TICKET:
			out->has_session_ticket = true;
			break;
		case EXT_PRE_SHARED_KEY:
			/* RFC 8446 4.2.11: MUST be the last extension in the ClientHello. */
			if (c.left != 0)
				return TLS_CH_MALFORMED;
			out->has_psk = true;
			break;
		case EXT_EARLY_DATA:
			if (len != 0)
				return TLS_CH_MALFORMED;
			out->has_early_data = true;
			break;
		default:
			break;
		}
	}
	return TLS_CH_OK;
}

/* A record header at off: validates it and returns its payload length, 0 when
 * fewer than 5 bytes are there yet, -1 when it is not a handshake record. */
static long record_at(const uint8_t *buf, size_t len, size_t off)
{
	if (len - off < REC_HDR)
		return 0;
	const uint8_t *h = buf + off;
	if (h[0] != CT_HANDSHAKE || h[1] != 0x03 || h[2] > 0x04)
		return -1;
	size_t n = ((size_t)h[3] << 8) | h[4];
	/* RFC 8446 5.1: no zero-length handshake fragments, none over 2^14. */
	if (n == 0 || n > REC_MAX)
		return -1;
	return (long)n;
}

/* Copies handshake bytes [from, from + n) out of the records starting at buf
 * (all of them already validated by pass 1). */
static void gather(const uint8_t *buf, size_t from, size_t n, uint8_t *dst)
{
	size_t off = 0, hs = 0; /* hs: handshake offset of the current record's payload */
	while (n > 0) {
		size_t rl = ((size_t)buf[off + 3] << 8) | buf[off + 4];
		const uint8_t *payload = buf + off + REC_HDR;
		if (from < hs + rl) {
			size_t skip = from > hs ? from - hs : 0;
			size_t take = rl - skip < n ? rl - skip : n;
			memcpy(dst, payload + skip, take);
			dst += take;
			from += take;
			n -= take;
		}
		hs += rl;
		off += REC_HDR + rl;
	}
}

enum tls_ch_status tls_clienthello_parse(const uint8_t *buf, size_t len, struct tls_clienthello *out)
{
	memset(out, 0, sizeof(*out));

	switch (tls_sniff(buf, len)) {
	case TLS_SNIFF_PLAIN:
		return TLS_CH_NOT_TLS;
	case TLS_SNIFF_NEED_MORE:
		out->need = REC_HDR;
		return TLS_CH_NEED_MORE;
	case TLS_SNIFF_TLS:
		break;
	}

	/* Pass 1: walk the records until they cover the whole message. */
	uint8_t hdr[HS_HDR];
	size_t hs_total = 0; /* handshake bytes in the complete records walked so far */
	size_t msg_len = 0;  /* ClientHello body length, once the header is known */
	bool have_hdr = false;
	size_t off = 0;
	for (;;) {
		long rl = record_at(buf, len, off);
		if (rl < 0)
			return TLS_CH_MALFORMED;
		if (rl == 0) {
			out->need = off + REC_HDR;
			return TLS_CH_NEED_MORE;
		}
		size_t payload = off + REC_HDR;
		size_t rec_end = payload + (size_t)rl;
		size_t avail = (len < rec_end ? len : rec_end) - payload;

		/* The 4-byte handshake header may itself be split across records. */
		for (size_t i = 0; i < avail && hs_total + i < HS_HDR; i++)
			hdr[hs_total + i] = buf[payload + i];
		if (hs_total + avail >= 1 && hdr[0] != HS_CLIENT_HELLO)
			return TLS_CH_MALFORMED; /* known from the first handshake byte */
		if (!have_hdr && hs_total + avail >= HS_HDR) {
			have_hdr = true;
			msg_len = ((size_t)hdr[1] << 16) | ((size_t)hdr[2] << 8) | hdr[3];
			/* version, random, session id length, one suite, one compression method */
			if (msg_len < 2 + 32 + 1 + 2 + 2 + 1 + 1 || msg_len > TLS_CH_MAX_LEN)
				return TLS_CH_MALFORMED;
		}
		if (avail < (size_t)rl) {
			out->need = rec_end;
			return TLS_CH_NEED_MORE;
		}
		hs_total += (size_t)rl;
		off = rec_end;
		if (have_hdr && hs_total >= HS_HDR + msg_len)
			break;
	}
	out->consumed = off;

	/* Pass 2: parse the body, in place when the first record holds it all. */
	size_t first_rl = ((size_t)buf[3] << 8) | buf[4];
	if (HS_HDR + msg_len <= first_rl)
		return parse_body(buf + REC_HDR + HS_HDR, msg_len, out);
	uint8_t tmp[TLS_CH_MAX_LEN];
	gather(buf, HS_HDR, msg_len, tmp);
	return parse_body(tmp, msg_len, out);
}
