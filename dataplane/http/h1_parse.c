/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HTTP/1 start line and header block parser (RFC 9112 2-5).
 *
 * A byte-level state machine in the manner of nginx, with tight inner loops
 * over a 256-entry class table and, on x86, a 16-byte SIMD scan for field
 * values (the longest runs in a head). Each state ends at a byte boundary,
 * so resuming after H1_AGAIN continues exactly where the previous call
 * stopped: a head split into k pieces costs the same scan as one piece plus
 * k calls. The first error met left to right is reported, and limits are
 * checked as bytes arrive, so one-shot and piecewise parsing agree on every
 * input (the fuzz targets check this).
 *
 * Nothing is repaired: obs-fold, bare CR or LF, whitespace before a colon,
 * control characters and invalid tokens are refused (RFC 9112 11.2: any
 * leniency is a chance for two parsers to disagree).
 */
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__AVX2__)
#include <immintrin.h>
#endif

#include "dataplane/http/h1_priv.h"

/* ---- character classes ------------------------------------------------------ */

#define IS_ALPHA(c) (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z'))
#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')
/* RFC 9110 5.6.2: tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
 * "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
#define IS_TCHAR(c)                                                                                \
	(IS_ALPHA(c) || IS_DIGIT(c) || (c) == '!' || (c) == '#' || (c) == '$' || (c) == '%' ||     \
	 (c) == '&' || (c) == '\'' || (c) == '*' || (c) == '+' || (c) == '-' || (c) == '.' ||      \
	 (c) == '^' || (c) == '_' || (c) == '`' || (c) == '|' || (c) == '~')
/* RFC 9110 5.5: field-vchar = VCHAR / obs-text; values also hold SP and HTAB */
#define IS_FVAL(c) ((c) == '\t' || ((c) >= 0x20 && (c) != 0x7f))
/* RFC 3986 2.3 unreserved, 2.2 sub-delims */
#define IS_UNRESERVED(c) (IS_ALPHA(c) || IS_DIGIT(c) || (c) == '-' || (c) == '.' || (c) == '_' || (c) == '~')
#define IS_SUBDELIM(c)                                                                             \
	((c) == '!' || (c) == '$' || (c) == '&' || (c) == '\'' || (c) == '(' || (c) == ')' ||      \
	 (c) == '*' || (c) == '+' || (c) == ',' || (c) == ';' || (c) == '=')
/* RFC 3986 3.3, 3.4: pchar / "/" / "?", with pct-encoded's '%'; '[' ']' for an
 * IP-literal authority in absolute-form (placement checked afterwards) */
#define IS_TARGET(c)                                                                               \
	(IS_UNRESERVED(c) || IS_SUBDELIM(c) || (c) == ':' || (c) == '@' || (c) == '/' ||           \
	 (c) == '?' || (c) == '%' || (c) == '[' || (c) == ']')
#define IS_HEX(c) (IS_DIGIT(c) || ((c) >= 'a' && (c) <= 'f') || ((c) >= 'A' && (c) <= 'F'))
/* RFC 9110 5.6.4: qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text */
#define IS_QDTEXT(c)                                                                               \
	((c) == '\t' || (c) == ' ' || (c) == 0x21 || ((c) >= 0x23 && (c) <= 0x5b) ||               \
	 ((c) >= 0x5d && (c) <= 0x7e) || (c) >= 0x80)

#define IS_SPECIAL(c) ((c) == '%' || (c) == '[' || (c) == ']')

#define CLASS(c)                                                                                   \
	((IS_TCHAR(c) ? H1_C_TCHAR : 0) | (IS_FVAL(c) ? H1_C_FVAL : 0) |                           \
	 (IS_TARGET(c) ? H1_C_TARGET : 0) | (IS_HEX(c) ? H1_C_HEX : 0) |                           \
	 (IS_UNRESERVED(c) || IS_SUBDELIM(c) ? H1_C_REGNAME : 0) | (IS_QDTEXT(c) ? H1_C_QDTEXT : 0) | \
	 (IS_DIGIT(c) ? H1_C_DIGIT : 0) | (IS_SPECIAL(c) ? H1_C_SPECIAL : 0))
#define C4(b) CLASS(b), CLASS((b) + 1), CLASS((b) + 2), CLASS((b) + 3)
#define C16(b) C4(b), C4((b) + 4), C4((b) + 8), C4((b) + 12)
#define C64(b) C16(b), C16((b) + 16), C16((b) + 32), C16((b) + 48)

const uint8_t h1_cc[256] = {C64(0), C64(64), C64(128), C64(192)};

#define LOWER(c) ((c) >= 'A' && (c) <= 'Z' ? (uint8_t)((c) + 32) : (uint8_t)(c))
#define L4(b) LOWER(b), LOWER((b) + 1), LOWER((b) + 2), LOWER((b) + 3)
#define L16(b) L4(b), L4((b) + 4), L4((b) + 8), L4((b) + 12)
#define L64(b) L16(b), L16((b) + 16), L16((b) + 32), L16((b) + 48)

const uint8_t h1_lower[256] = {L64(0), L64(64), L64(128), L64(192)};

/* ---- error names ---------------------------------------------------------------- */

static const struct {
	const char *name;
	const char *help;
	int status;
} h1_errs[H1_E_COUNT] = {
	[H1_E_NONE] = {"none", "not refused", 200},
#define H1_X_TAB(e, n, s, h) [H1_E_##e] = {n, h, s},
	H1_ERRORS(H1_X_TAB)
#undef H1_X_TAB
};

const char *h1_err_name(enum h1_err err)
{
	return (unsigned)err < H1_E_COUNT ? h1_errs[err].name : "?";
}

const char *h1_err_help(enum h1_err err)
{
	return (unsigned)err < H1_E_COUNT ? h1_errs[err].help : "?";
}

int h1_err_status(enum h1_err err)
{
	return (unsigned)err < H1_E_COUNT ? h1_errs[err].status : 500;
}

const struct h1_limits h1_default_limits = H1_LIMITS_DEFAULT;

/* ---- authority (shared with the semantic pass) ---------------------------------- */

bool h1_authority_valid(const char *s, size_t n, bool allow_empty_host, size_t *port_at)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	if (n > 0 && u[0] == '[') {
		/* IP-literal = "[" IPv6address "]"; RFC 9110 4.2.1 forbids nothing
		 * more, and IPvFuture and zone ids (RFC 6874) have no use here */
		i = 1;
		while (i < n && (h1_is(u[i], H1_C_HEX) || u[i] == ':' || u[i] == '.'))
			i++;
		if (i == 1 || i >= n || u[i] != ']')
			return false;
		i++;
	} else {
		for (;;) {
			while (i < n && h1_is(u[i], H1_C_REGNAME))
				i++;
			if (i >= n || u[i] != '%')
				break;
			/* RFC 3986 2.1: pct-encoded = "%" HEXDIG HEXDIG */
			if (n - i < 3 || !h1_is(u[i + 1], H1_C_HEX) || !h1_is(u[i + 2], H1_C_HEX))
				return false;
			i += 3;
		}
		if (i == 0 && !allow_empty_host)
			return false;
	}
	*port_at = n;
	if (i == n)
		return true;
	if (u[i] != ':')
		return false;
	/* port = *DIGIT (RFC 3986 3.2.3); an empty port or one beyond 65535
	 * names nothing, refuse it rather than guess */
	size_t ps = ++i;
	unsigned port = 0;
	for (; i < n; i++) {
		if (!h1_is(u[i], H1_C_DIGIT) || i - ps >= 5)
			return false;
		port = port * 10 + (u[i] - '0');
	}
	if (i == ps || port > 65535)
		return false;
	*port_at = ps;
	return true;
}

/* ---- request-target (RFC 9112 3.2) -------------------------------------------- */

static enum h1_method method_id(const char *m, size_t n)
{
	/* RFC 9110 9.1: the method token is case-sensitive */
	switch (n) {
	case 3:
		if (memcmp(m, "GET", 3) == 0)
			return H1_M_GET;
		if (memcmp(m, "PUT", 3) == 0)
			return H1_M_PUT;
		break;
	case 4:
		if (memcmp(m, "POST", 4) == 0)
			return H1_M_POST;
		if (memcmp(m, "HEAD", 4) == 0)
			return H1_M_HEAD;
		break;
	case 5:
		if (memcmp(m, "PATCH", 5) == 0)
			return H1_M_PATCH;
		if (memcmp(m, "TRACE", 5) == 0)
			return H1_M_TRACE;
		break;
	case 6:
		if (memcmp(m, "DELETE", 6) == 0)
			return H1_M_DELETE;
		break;
	case 7:
		if (memcmp(m, "OPTIONS", 7) == 0)
			return H1_M_OPTIONS;
		if (memcmp(m, "CONNECT", 7) == 0)
			return H1_M_CONNECT;
		break;
	}
	return H1_M_OTHER;
}

/* Every '%' starts a pct-encoded triplet; no '[' or ']' (RFC 3986 3.3, 3.4). */
static bool path_valid(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '[' || s[i] == ']')
			return false;
		if (s[i] == '%') {
			if (n - i < 3 || !h1_is(s[i + 1], H1_C_HEX) || !h1_is(s[i + 2], H1_C_HEX))
				return false;
			i += 2;
		}
	}
	return true;
}

/*
 * The form of a complete request-target, its characters being known to be
 * H1_C_TARGET; special says whether any is '%', '[' or ']' (without them
 * a path needs no further check). Returns the form, or -1 (bad_target).
 */
static int target_form(const char *t, size_t n, enum h1_method m, bool special)
{
	const unsigned char *u = (const unsigned char *)t;

	if (u[0] == '/')
		return !special || path_valid(u, n) ? H1_TF_ORIGIN : -1;
	/* RFC 9112 3.2.4: asterisk-form, only for a server-wide OPTIONS */
	if (u[0] == '*')
		return n == 1 && m == H1_M_OPTIONS ? H1_TF_ASTERISK : -1;
	/* RFC 9112 3.2.2: absolute-form = absolute-URI; a proxy speaks http(s)
	 * only. authority-form (3.2.3) is for CONNECT, refused before this. */
	size_t s;
	if (n >= 7 && H1_IEQ(t, 7, "http://"))
		s = 7;
	else if (n >= 8 && H1_IEQ(t, 8, "https://"))
		s = 8;
	else
		return -1;
	size_t e = s;
	while (e < n && u[e] != '/' && u[e] != '?')
		e++;
	/* RFC 9110 4.2.4: userinfo is refused; 4.2.1: the host is not empty */
	size_t port_at;
	if (memchr(t + s, '@', e - s) != NULL || !h1_authority_valid(t + s, e - s, false, &port_at))
		return -1;
	return !special || path_valid(u + e, n - e) ? H1_TF_ABSOLUTE : -1;
}

/* ---- the state machine ------------------------------------------------------------ */

enum {
	PS_RL_START = 0, /* before the request line; empty lines are skipped */
	PS_RL_LEAD_LF,   /* CR of such an empty line seen */
	PS_METHOD,
	PS_TARGET,
	PS_RL_VERSION,
	PS_RL_LF,
	PS_SL_VERSION,
	PS_SL_STATUS,
	PS_SL_AFTER_STATUS,
	PS_SL_REASON,
	PS_SL_LF,
	PS_LINE_START, /* start of a field line or of the final empty line */
	PS_NAME,
	PS_OWS,
	PS_VALUE,
	PS_VALUE_LF,
	PS_END_LF,
	PS_DONE,
};

void h1_parser_init(struct h1_parser *p, const struct h1_limits *lim)
{
	memset(p, 0, sizeof(*p));
	p->lim = lim != NULL ? lim : &h1_default_limits;
}

static int fail(struct h1_parser *p, size_t at, enum h1_err err)
{
	p->off = (uint32_t)at;
	p->err = (uint8_t)err;
	p->state = PS_DONE;
	return H1_ERROR;
}

/* First byte at or after i that may not appear in a field value. */
static inline size_t scan_value(const unsigned char *b, size_t i, size_t end)
{
#if defined(__AVX2__)
	const __m256i sp32 = _mm256_set1_epi8(0x20), tab32 = _mm256_set1_epi8(0x09);
	const __m256i del32 = _mm256_set1_epi8(0x7f);
	while (end - i >= 32) {
		__m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(b + i));
		__m256i ge = _mm256_cmpeq_epi8(_mm256_max_epu8(x, sp32), x);
		__m256i ok = _mm256_andnot_si256(_mm256_cmpeq_epi8(x, del32),
						 _mm256_or_si256(ge, _mm256_cmpeq_epi8(x, tab32)));
		uint32_t bad = ~(uint32_t)_mm256_movemask_epi8(ok);
		if (bad != 0)
			return i + (size_t)__builtin_ctz(bad);
		i += 32;
	}
#endif
#if defined(__SSE2__)
	/* x >= 0x20 unsigned is max(x, 0x20) == x; obs-text passes, DEL does not */
	const __m128i sp = _mm_set1_epi8(0x20), tab = _mm_set1_epi8(0x09), del = _mm_set1_epi8(0x7f);
	while (end - i >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(b + i));
		__m128i ge = _mm_cmpeq_epi8(_mm_max_epu8(x, sp), x);
		__m128i ok = _mm_andnot_si128(_mm_cmpeq_epi8(x, del), _mm_or_si128(ge, _mm_cmpeq_epi8(x, tab)));
		unsigned bad = (unsigned)_mm_movemask_epi8(ok) ^ 0xffffu;
		if (bad != 0)
			return i + (size_t)__builtin_ctz(bad);
		i += 16;
	}
#endif
	while (i < end && h1_is(b[i], H1_C_FVAL))
		i++;
	return i;
}

/*
 * Fast paths for names and targets: skip 16 bytes at a time while they all
 * belong to a common subset of the class (letters, digits and a few marks);
 * the table loop that follows checks the rest and finds the end. Bytes of
 * 0x80 and above are negative as signed chars and fall outside every range.
 */
#if defined(__SSE2__)
static inline __m128i in_range(__m128i x, char lo, char hi)
{
	return _mm_and_si128(_mm_cmpgt_epi8(x, _mm_set1_epi8((char)(lo - 1))),
			     _mm_cmplt_epi8(x, _mm_set1_epi8((char)(hi + 1))));
}

static inline __m128i alnum16(__m128i x)
{
	__m128i l = _mm_or_si128(x, _mm_set1_epi8(0x20)); /* A-Z to a-z */
	return _mm_or_si128(in_range(l, 'a', 'z'), in_range(x, '0', '9'));
}

static inline __m128i eq(__m128i x, char c)
{
	return _mm_cmpeq_epi8(x, _mm_set1_epi8(c));
}
#endif

/* Letters, digits and '-': tchar (RFC 9110 5.6.2). */
static inline size_t skip_name(const unsigned char *b, size_t i, size_t end)
{
#if defined(__SSE2__)
	while (end - i >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(b + i));
		__m128i ok = _mm_or_si128(alnum16(x), eq(x, '-'));
		unsigned bad = (unsigned)_mm_movemask_epi8(ok) ^ 0xffffu;
		if (bad != 0)
			return i + (size_t)__builtin_ctz(bad);
		i += 16;
	}
#endif
	return i;
}

/* Letters, digits and "/-._=&?": target characters needing no further check. */
static inline size_t skip_target(const unsigned char *b, size_t i, size_t end)
{
#if defined(__SSE2__)
	while (end - i >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(b + i));
		__m128i ok = _mm_or_si128(_mm_or_si128(alnum16(x), _mm_or_si128(eq(x, '/'), eq(x, '-'))),
					  _mm_or_si128(_mm_or_si128(eq(x, '.'), eq(x, '_')),
						       _mm_or_si128(eq(x, '='), _mm_or_si128(eq(x, '&'), eq(x, '?')))));
		unsigned bad = (unsigned)_mm_movemask_epi8(ok) ^ 0xffffu;
		if (bad != 0)
			return i + (size_t)__builtin_ctz(bad);
		i += 16;
	}
#endif
	return i;
}

/*
 * Checks one byte of "HTTP/" DIGIT "." DIGIT (RFC 9112 2.3; HTTP-name is
 * case-sensitive) at position pos; records the digits.
 */
static bool version_byte(struct h1_parser *p, unsigned pos, unsigned char c)
{
	static const char name[] = "HTTP/";

	if (pos < 5)
		return c == (unsigned char)name[pos];
	if (pos == 6)
		return c == '.';
	if (!h1_is(c, H1_C_DIGIT))
		return false;
	if (pos == 5)
		p->major = (uint8_t)(c - '0');
	else
		p->minor = (uint8_t)(c - '0');
	return true;
}

struct start_line {
	struct h1_request *req;
	struct h1_response *resp;
};

static int parse_head(struct h1_parser *p, const char *buf, size_t len, struct h1_field *fields,
		      struct start_line sl)
{
	const unsigned char *b = (const unsigned char *)buf;
	const struct h1_limits *lim = p->lim;
	size_t end, i;
	unsigned char c;

	if (p->state == PS_DONE)
		return p->err != H1_E_NONE ? H1_ERROR : (int)p->off;
	if (p->base != buf || len < p->off) {
		/* a different buffer (or a shorter one): the field pointers taken
		 * so far are stale, start over */
		const struct h1_limits *l = p->lim;
		uint8_t resp = p->is_response;
		uint16_t maxf = p->max_fields;
		memset(p, 0, sizeof(*p));
		p->lim = l;
		p->is_response = resp;
		p->max_fields = maxf;
		p->state = resp ? PS_SL_VERSION : PS_RL_START;
		p->base = buf;
	}
	/* the whole head, empty line included, within max_header_bytes: never
	 * look past it; reaching it with more bytes available is the error */
	size_t max = lim->max_header_bytes < H1_MAX_HEADER_BYTES ? lim->max_header_bytes
								 : H1_MAX_HEADER_BYTES;
	end = len < max ? len : max;
	i = p->off;

	for (;;) {
		switch (p->state) {
		case PS_RL_START:
			/* RFC 9112 2.2: a server SHOULD ignore at least one empty
			 * line (CRLF) before the request-line */
			if (i >= end)
				goto more;
			c = b[i];
			if (c == '\r') {
				i++;
				p->state = PS_RL_LEAD_LF;
				break;
			}
			if (!h1_is(c, H1_C_TCHAR))
				return fail(p, i, h1_odd_byte(c, H1_E_BAD_METHOD_TOKEN));
			p->mark = (uint32_t)i;
			p->state = PS_METHOD;
			/* fallthrough */
		case PS_METHOD:
			/* RFC 9110 9.1: method = token */
			while (i < end && h1_is(b[i], H1_C_TCHAR))
				i++;
			if (i >= end)
				goto more;
			c = b[i];
			if (c != ' ') {
				/* RFC 9112 3: exactly one SP between the parts */
				if (c == '\r' || c == '\t')
					return fail(p, i, H1_E_BAD_REQUEST_LINE);
				return fail(p, i, h1_odd_byte(c, H1_E_BAD_METHOD_TOKEN));
			}
			sl.req->method.ptr = buf + p->mark;
			sl.req->method.len = i - p->mark;
			sl.req->method_id = (uint8_t)method_id(buf + p->mark, i - p->mark);
			/* RFC 9112 3.2.3: CONNECT makes a tunnel; not offered */
			if (sl.req->method_id == H1_M_CONNECT)
				return fail(p, i, H1_E_CONNECT_UNSUPPORTED);
			p->mark = (uint32_t)++i;
			p->state = PS_TARGET;
			/* fallthrough */
		case PS_TARGET:
			for (;;) {
				i = skip_target(b, i, end);
				if (i >= end || !h1_is(b[i], H1_C_TARGET))
					break;
				p->tseen |= h1_cc[b[i++]];
			}
			/* the length first, so that a long target is refused the
			 * same way whether or not more of it has arrived */
			if (i - p->mark > lim->max_uri)
				return fail(p, i, H1_E_URI_TOO_LONG);
			if (i >= end)
				goto more;
			c = b[i];
			if (c != ' ') {
				if (c == '\r' || c == '\t')
					return fail(p, i, H1_E_BAD_REQUEST_LINE);
				return fail(p, i, h1_odd_byte(c, H1_E_BAD_TARGET));
			}
			if (i == p->mark)
				return fail(p, i, H1_E_BAD_REQUEST_LINE);
			{
				int form = target_form(buf + p->mark, i - p->mark,
						       (enum h1_method)sl.req->method_id,
						       (p->tseen & H1_C_SPECIAL) != 0);
				if (form < 0)
					return fail(p, p->mark, H1_E_BAD_TARGET);
				sl.req->target_form = (uint8_t)form;
			}
			sl.req->target.ptr = buf + p->mark;
			sl.req->target.len = i - p->mark;
			i++;
			p->vpos = 0;
			p->state = PS_RL_VERSION;
			/* fallthrough */
		case PS_RL_VERSION:
			for (; p->vpos < 8; p->vpos++, i++) {
				if (i >= end)
					goto more;
				if (!version_byte(p, p->vpos, b[i]))
					return fail(p, i, h1_odd_byte(b[i], H1_E_BAD_REQUEST_LINE));
			}
			if (i >= end)
				goto more;
			if (b[i] != '\r')
				return fail(p, i, h1_odd_byte(b[i], H1_E_BAD_REQUEST_LINE));
			/* RFC 9110 2.5, 6.2: only HTTP/1.0 and HTTP/1.1 are spoken;
			 * 505 for the rest (RFC 9110 15.6.6) */
			if (p->major != 1 || p->minor > 1)
				return fail(p, i, H1_E_BAD_VERSION);
			sl.req->minor = p->minor;
			i++;
			p->state = PS_RL_LF;
			/* fallthrough */
		case PS_RL_LF:
			if (i >= end)
				goto more;
			if (b[i] != '\n')
				return fail(p, i, H1_E_BARE_CR);
			i++;
			p->state = PS_LINE_START;
			break;

		case PS_RL_LEAD_LF:
			if (i >= end)
				goto more;
			if (b[i] != '\n')
				return fail(p, i, H1_E_BARE_CR);
			i++;
			p->state = PS_RL_START;
			break;

		case PS_SL_VERSION:
			/* RFC 9112 4: status-line = HTTP-version SP status-code SP [ reason-phrase ] */
			for (; p->vpos < 8; p->vpos++, i++) {
				if (i >= end)
					goto more;
				if (!version_byte(p, p->vpos, b[i]))
					return fail(p, i, h1_odd_byte(b[i], H1_E_BAD_STATUS_LINE));
			}
			if (i >= end)
				goto more;
			if (b[i] != ' ')
				return fail(p, i, h1_odd_byte(b[i], H1_E_BAD_STATUS_LINE));
			if (p->major != 1 || p->minor > 1)
				return fail(p, i, H1_E_BAD_VERSION);
			sl.resp->minor = p->minor;
			i++;
			p->vpos = 0;
			p->state = PS_SL_STATUS;
			/* fallthrough */
		case PS_SL_STATUS:
			/* status-code = 3DIGIT; RFC 9110 15: 100 to 599 */
			for (; p->vpos < 3; p->vpos++, i++) {
				if (i >= end)
					goto more;
				c = b[i];
				if (!h1_is(c, H1_C_DIGIT) || (p->vpos == 0 && (c < '1' || c > '5')))
					return fail(p, i, h1_odd_byte(c, H1_E_BAD_STATUS_LINE));
				p->status = (uint16_t)(p->status * 10 + (c - '0'));
			}
			sl.resp->status = p->status;
			p->state = PS_SL_AFTER_STATUS;
			/* fallthrough */
		case PS_SL_AFTER_STATUS:
			if (i >= end)
				goto more;
			c = b[i];
			if (c == '\r') {
				/* leniency: "HTTP/1.1 200" CRLF without the SP,
				 * which servers send; nothing is ambiguous */
				sl.resp->reason.ptr = buf + i;
				sl.resp->reason.len = 0;
				i++;
				p->state = PS_SL_LF;
				break;
			}
			if (c != ' ')
				return fail(p, i, h1_odd_byte(c, H1_E_BAD_STATUS_LINE));
			p->mark = (uint32_t)++i;
			p->state = PS_SL_REASON;
			/* fallthrough */
		case PS_SL_REASON:
			/* reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ) */
			i = scan_value(b, i, end);
			if (i >= end)
				goto more;
			if (b[i] != '\r')
				return fail(p, i, h1_odd_byte(b[i], H1_E_NUL_OR_CTL));
			sl.resp->reason.ptr = buf + p->mark;
			sl.resp->reason.len = i - p->mark;
			i++;
			p->state = PS_SL_LF;
			/* fallthrough */
		case PS_SL_LF:
			if (i >= end)
				goto more;
			if (b[i] != '\n')
				return fail(p, i, H1_E_BARE_CR);
			i++;
			p->state = PS_LINE_START;
			break;

		case PS_LINE_START:
			if (i >= end)
				goto more;
			c = b[i];
			if (c == '\r') {
				i++;
				p->state = PS_END_LF;
				break;
			}
			if (!h1_is(c, H1_C_TCHAR)) {
				/* RFC 9112 5.2: obs-fold is refused (a server MUST
				 * reject or replace it; replacing is a repair);
				 * RFC 9112 2.2: so is whitespace before the first field */
				if (h1_ows(c))
					return fail(p, i, p->n_fields > 0 ? H1_E_OBS_FOLD
									 : H1_E_WS_AFTER_START_LINE);
				return fail(p, i, h1_odd_byte(c, H1_E_BAD_HEADER_NAME));
			}
			if (p->n_fields >= p->max_fields)
				return fail(p, i, H1_E_TOO_MANY_HEADERS);
			p->mark = (uint32_t)i++;
			p->state = PS_NAME;
			/* fallthrough */
		case PS_NAME:
			/* RFC 9110 5.1: field-name = token */
			i = skip_name(b, i, end);
			while (i < end && h1_is(b[i], H1_C_TCHAR))
				i++;
			if (i >= end)
				goto more;
			c = b[i];
			if (c != ':') {
				/* RFC 9112 5.1: no whitespace between name and colon,
				 * a server MUST reject it with 400 */
				if (h1_ows(c))
					return fail(p, i, H1_E_WS_BEFORE_COLON);
				return fail(p, i, h1_odd_byte(c, H1_E_BAD_HEADER_NAME));
			}
			if (i - p->mark > UINT16_MAX)
				return fail(p, i, H1_E_HEADERS_TOO_LARGE);
			p->nlen = (uint16_t)(i - p->mark);
			i++;
			p->state = PS_OWS;
			/* fallthrough */
		case PS_OWS:
			while (i < end && h1_ows(b[i]))
				i++;
			if (i >= end)
				goto more;
			p->vstart = (uint32_t)i;
			p->state = PS_VALUE;
			/* fallthrough */
		case PS_VALUE: {
			/* RFC 9110 5.5: field-value = *field-content; CR, LF, NUL
			 * and the other controls are refused, not replaced by SP */
			i = scan_value(b, i, end);
			if (i >= end)
				goto more;
			if (b[i] != '\r')
				return fail(p, i, h1_odd_byte(b[i], H1_E_NUL_OR_CTL));
			/* RFC 9112 5.1: OWS around the value is not part of it */
			size_t ve = i;
			while (ve > p->vstart && h1_ows(b[ve - 1]))
				ve--;
			struct h1_field *f = &fields[p->n_fields++];
			f->name = buf + p->mark;
			f->name_len = p->nlen;
			f->value = buf + p->vstart;
			f->value_len = (uint32_t)(ve - p->vstart);
			f->id = H1_F_OTHER;
			f->flags = 0;
			i++;
			p->state = PS_VALUE_LF;
		}
			/* fallthrough */
		case PS_VALUE_LF:
			if (i >= end)
				goto more;
			if (b[i] != '\n')
				return fail(p, i, H1_E_BARE_CR);
			i++;
			p->state = PS_LINE_START;
			break;

		case PS_END_LF:
			if (i >= end)
				goto more;
			if (b[i] != '\n')
				return fail(p, i, H1_E_BARE_CR);
			i++;
			p->state = PS_DONE;
			p->off = (uint32_t)i;
			return (int)i;

		default:
			return fail(p, i, H1_E_BAD_REQUEST_LINE);
		}
	}

more:
	p->off = (uint32_t)i;
	if (len > end)
		return fail(p, i, H1_E_HEADERS_TOO_LARGE);
	return H1_AGAIN;
}

int h1_parse_request(struct h1_parser *p, const char *buf, size_t len, struct h1_request *req)
{
	if (p->base == NULL) {
		p->is_response = 0;
		p->state = PS_RL_START;
		req->n_fields = 0;
	}
	p->max_fields = req->max_fields < p->lim->max_fields ? req->max_fields : p->lim->max_fields;
	int rc = parse_head(p, buf, len, req->fields, (struct start_line){.req = req});
	req->n_fields = p->n_fields;
	return rc;
}

int h1_parse_response(struct h1_parser *p, const char *buf, size_t len, struct h1_response *resp)
{
	if (p->base == NULL) {
		p->is_response = 1;
		p->state = PS_SL_VERSION;
		resp->n_fields = 0;
	}
	p->max_fields = resp->max_fields < p->lim->max_fields ? resp->max_fields : p->lim->max_fields;
	int rc = parse_head(p, buf, len, resp->fields, (struct start_line){.resp = resp});
	resp->n_fields = p->n_fields;
	return rc;
}
