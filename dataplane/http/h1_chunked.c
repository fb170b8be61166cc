/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The chunked transfer coding (RFC 9112 7.1):
 *
 *   chunked-body   = *chunk last-chunk trailer-section CRLF
 *   chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   chunk-size     = 1*HEXDIG
 *   last-chunk     = 1*("0") [ chunk-ext ] CRLF
 *   chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
 *   chunk-ext-val  = token / quoted-string
 *   trailer-section = *( field-line CRLF )
 *
 * A byte-level state machine: framing bytes are few and examined one by one,
 * data runs are skipped in one step and reported in place. Any split of the
 * input gives the same result. Refused, with a name each: a chunk-size that
 * is not pure hex ("0x10", "+5", " 5", "5 "), longer than 16 digits,
 * malformed or overlong extensions (a CR inside a quoted value, RFC 9112
 * 7.1.1), a missing CRLF after chunk data, and trailer fields with the same
 * strictness as header fields, bounded in size and count.
 */
#include <string.h>

#include "dataplane/http/h1_priv.h"

enum {
	CS_SIZE0 = 0,     /* first HEXDIG of chunk-size */
	CS_SIZE,          /* more HEXDIG */
	CS_SIZE_BWS,      /* BWS after chunk-size: only ";" may follow */
	CS_EXT_NAME_BWS,  /* after ";" */
	CS_EXT_NAME,      /* chunk-ext-name = token */
	CS_EXT_AFTER_NAME, /* BWS after the name: "=" or ";" may follow */
	CS_EXT_VAL_BWS,   /* after "=" */
	CS_EXT_TOKEN,     /* token value */
	CS_EXT_QS,        /* quoted-string value */
	CS_EXT_QP,        /* after "\" in it */
	CS_EXT_BWS,       /* BWS after a value: only ";" may follow */
	CS_SIZE_LF,       /* CR of the chunk line seen */
	CS_DATA,
	CS_DATA_CR,
	CS_DATA_LF,
	CS_TR_START, /* start of a trailer field line or of the final CRLF */
	CS_TR_NAME,
	CS_TR_VALUE,
	CS_TR_LF,
	CS_END_LF,
	CS_DONE,
	CS_ERROR,
};

void h1_chunked_init(struct h1_chunked *d, const struct h1_limits *lim)
{
	memset(d, 0, sizeof(*d));
	d->lim = lim != NULL ? lim : &h1_default_limits;
}

bool h1_chunked_done(const struct h1_chunked *d)
{
	return d->state == CS_DONE;
}

static long cerr(struct h1_chunked *d, enum h1_err e)
{
	d->state = CS_ERROR;
	d->err = (uint8_t)e;
	return H1_ERROR;
}

static unsigned hexval(unsigned char c)
{
	return c <= '9' ? (unsigned)c - '0' : (unsigned)(c | 0x20) - 'a' + 10;
}

/* Where decoded bytes go: spans in place, or a canonical re-encoding. */
struct sink {
	struct h1_str *spans;
	unsigned max, n;
	struct h1_out *out; /* re-encoding when not NULL */
};

static unsigned hex_digits(uint64_t v)
{
	unsigned n = 1;
	while (v >>= 4)
		n++;
	return n;
}

/*
 * Trailer fields must not frame, route or describe the connection (RFC 9110
 * 6.5.1: a sender MUST NOT generate such trailers, and a recipient merging
 * them could be led to reframe); name holds the lower-cased name.
 */
static bool trailer_forbidden(const struct h1_chunked *d)
{
	if (d->nlen > 17)
		return false;
	switch (h1_field_id_of(d->name, d->nlen)) {
	case H1_F_HOST:
	case H1_F_CONTENT_LENGTH:
	case H1_F_TRANSFER_ENCODING:
	case H1_F_CONNECTION:
	case H1_F_KEEP_ALIVE:
	case H1_F_PROXY_CONNECTION:
	case H1_F_TE:
	case H1_F_TRAILER:
	case H1_F_UPGRADE:
		return true;
	default:
		return false;
	}
}

static long run(struct h1_chunked *d, const char *in, size_t len, struct sink *s)
{
	const unsigned char *b = (const unsigned char *)in;
	const struct h1_limits *lim = d->lim;
	size_t i = 0;

	if (d->state == CS_ERROR)
		return H1_ERROR;
	while (i < len && d->state != CS_DONE) {
		unsigned char c = b[i];
		/* re-encoding copies the trailer section as received, each byte
		 * once it is checked; without room, stop before the byte */
		bool copy = s->out != NULL && d->state >= CS_TR_START && d->state <= CS_END_LF;
		if (copy && s->out->len >= s->out->cap)
			return (long)i;

		/* every byte of a chunk line after chunk-size counts against
		 * the extension limit */
		if (d->state >= CS_SIZE_BWS && d->state <= CS_EXT_BWS && c != '\r' &&
		    ++d->ext_len > lim->max_chunk_ext)
			return cerr(d, H1_E_CHUNK_EXT_TOO_LONG);
		/* the trailer section is bounded as a whole */
		if (d->state >= CS_TR_START && d->state <= CS_END_LF &&
		    ++d->trailer_len > lim->max_trailer_bytes)
			return cerr(d, H1_E_TRAILER_TOO_LARGE);

		/* RFC 9112 7.1: chunk lines end with CRLF, nothing else */
		if (c == '\n' && d->state <= CS_EXT_BWS)
			return cerr(d, H1_E_BAD_CHUNK_CRLF);

		switch (d->state) {
		case CS_SIZE0:
			if (!h1_is(c, H1_C_HEX))
				return cerr(d, h1_odd_byte(c, H1_E_BAD_CHUNK_SIZE));
			d->size = hexval(c);
			d->ndigits = 1;
			d->ext_len = 0;
			d->state = CS_SIZE;
			break;
		case CS_SIZE:
			if (h1_is(c, H1_C_HEX)) {
				/* 16 digits fill 64 bits: no overflow below that */
				if (++d->ndigits > 16)
					return cerr(d, H1_E_CHUNK_SIZE_OVERFLOW);
				d->size = d->size << 4 | hexval(c);
			} else if (c == '\r') {
				d->state = CS_SIZE_LF;
			} else if (c == ';') {
				d->ext_len = 1;
				d->state = CS_EXT_NAME_BWS;
			} else if (h1_ows(c)) {
				d->ext_len = 1;
				d->state = CS_SIZE_BWS;

			} else {
				return cerr(d, h1_odd_byte(c, H1_E_BAD_CHUNK_SIZE));
			}
			break;
		case CS_SIZE_BWS:
			/* BWS belongs to a following ";" (RFC 9112 7.1.1): "5 " CRLF
			 * is not a chunk-size */
			if (c == ';')
				d->state = CS_EXT_NAME_BWS;
			else if (!h1_ows(c))
				return cerr(d, h1_odd_byte(c, H1_E_BAD_CHUNK_SIZE));
			break;
		case CS_EXT_NAME_BWS:
			if (h1_is(c, H1_C_TCHAR))
				d->state = CS_EXT_NAME;
			else if (!h1_ows(c))
				return cerr(d, h1_odd_byte(c, H1_E_BAD_CHUNK_EXT));
			break;
		case CS_EXT_NAME:
			if (h1_is(c, H1_C_TCHAR))
				break;
			if (c == '=')
				d->state = CS_EXT_VAL_BWS;
			else if (c == ';')
				d->state = CS_EXT_NAME_BWS;
			else if (c == '\r')
				d->state = CS_SIZE_LF;
			else if (h1_ows(c))
				d->state = CS_EXT_AFTER_NAME;
			else
				return cerr(d, h1_odd_byte(c, H1_E_BAD_CHUNK_EXT));
			break;
		case CS_EXT_AFTER_NAME:
			if (c == '=')
				d->state = CS_EXT_VAL_BWS;
			else if (c == ';')
				d->state = CS_EXT_NAME_BWS;
			else if (!h1_ows(c))
				return cerr(d, h1_odd_byte(c, H1_E_BAD_CHUNK_EXT));
			break;
		case CS_EXT_VAL_BWS:
			if (c == '"')
				d->state = CS_EXT_QS;
			else if (h1_is(c, H1_C_TCHAR))
				d->state = CS_EXT_TOKEN;
			else if (!h1_ows(c))
				return cerr(d, h1_odd_byte(c, H1_E_BAD_CHUNK_EXT));
			break;
		case CS_EXT_TOKEN:
			if (h1_is(c, H1_C_TCHAR))
				break;
			if (c == ';')
				d->state = CS_EXT_NAME_BWS;
			else if (c == '\r')
				d->state = CS_SIZE_LF;
			else if (h1_ows(c))
				d->state = CS_EXT_BWS;
			else
				return cerr(d, h1_odd_byte(c, H1_E_BAD_CHUNK_EXT));
			break;
		case CS_EXT_QS:
			/* RFC 9110 5.6.4: qdtext and quoted-pair only; a CR or LF
			 * inside the quotes is the classic smuggling probe */
			if (c == '"')
				d->state = CS_EXT_BWS;
			else if (c == '\\')
				d->state = CS_EXT_QP;
			else if (!h1_is(c, H1_C_QDTEXT))
				return cerr(d, h1_odd_byte(c, H1_E_BAD_CHUNK_EXT));
			break;
		case CS_EXT_QP:
			/* quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) */
			if (!h1_is(c, H1_C_FVAL))
				return cerr(d, h1_odd_byte(c, H1_E_BAD_CHUNK_EXT));
			d->state = CS_EXT_QS;
			break;
		case CS_EXT_BWS:
			if (c == ';')
				d->state = CS_EXT_NAME_BWS;
			else if (c == '\r')
				d->state = CS_SIZE_LF;
			else if (!h1_ows(c))
				return cerr(d, h1_odd_byte(c, H1_E_BAD_CHUNK_EXT));
			break;
		case CS_SIZE_LF:
			if (c != '\n')
				return cerr(d, H1_E_BAD_CHUNK_CRLF);
			if (d->size == 0) {
				/* last-chunk: the trailer section follows */
				if (s->out != NULL) {
					if (s->out->cap - s->out->len < 3)
						return (long)i;
					h1_out_put(s->out, "0\r\n", 3);
				}
				d->state = CS_TR_START;
			} else {
				d->remaining = d->size;
				d->state = CS_DATA;
			}
			break;
		case CS_DATA: {
			size_t n = len - i;
			if (n > d->remaining)
				n = (size_t)d->remaining;
			if (s->out != NULL) {
				/* one output chunk per span: size line, data, CRLF */
				size_t room = s->out->cap - s->out->len;
				size_t over = hex_digits(n < room ? n : room) + 4;
				if (room < over + 1)
					return (long)i;
				if (n > room - over)
					n = room - over;
				h1_out_chunk_header(s->out, n);
				h1_out_put(s->out, in + i, n);
				h1_out_put(s->out, "\r\n", 2);
			} else {
				if (s->n == s->max)
					return (long)i;
				s->spans[s->n].ptr = in + i;
				s->spans[s->n].len = n;
				s->n++;
			}
			i += n;
			d->remaining -= n;
			if (d->remaining == 0)
				d->state = CS_DATA_CR;
			continue;
		}
		case CS_DATA_CR:
			if (c != '\r')
				return cerr(d, H1_E_BAD_CHUNK_CRLF);
			d->state = CS_DATA_LF;
			break;
		case CS_DATA_LF:
			if (c != '\n')
				return cerr(d, H1_E_BAD_CHUNK_CRLF);
			d->state = CS_SIZE0;
			break;

		/* trailer-section: field lines as strict as the header's */
		case CS_TR_START:
			if (c == '\r') {
				d->state = CS_END_LF;
			} else if (h1_is(c, H1_C_TCHAR)) {
				if (++d->n_trailers > lim->max_trailer_fields)
					return cerr(d, H1_E_TRAILER_TOO_LARGE);
				d->name[0] = (char)h1_lower[c];
				d->nlen = 1;
				d->state = CS_TR_NAME;
			} else if (h1_ows(c)) {
				return cerr(d, H1_E_OBS_FOLD);
			} else {
				return cerr(d, h1_odd_byte(c, H1_E_BAD_HEADER_NAME));
			}
			break;
		case CS_TR_NAME:
			if (h1_is(c, H1_C_TCHAR)) {
				if (d->nlen < sizeof(d->name))
					d->name[d->nlen++] = (char)h1_lower[c];
			} else if (c == ':') {
				if (trailer_forbidden(d))
					return cerr(d, H1_E_BAD_TRAILER);
				d->state = CS_TR_VALUE;
			} else if (h1_ows(c)) {
				return cerr(d, H1_E_WS_BEFORE_COLON);
			} else {
				return cerr(d, h1_odd_byte(c, H1_E_BAD_HEADER_NAME));
			}
			break;
		case CS_TR_VALUE:
			if (c == '\r')
				d->state = CS_TR_LF;
			else if (!h1_is(c, H1_C_FVAL))
				return cerr(d, h1_odd_byte(c, H1_E_NUL_OR_CTL));
			break;
		case CS_TR_LF:
			if (c != '\n')
				return cerr(d, H1_E_BARE_CR);
			d->state = CS_TR_START;
			break;
		case CS_END_LF:
			if (c != '\n')
				return cerr(d, H1_E_BARE_CR);
			d->state = CS_DONE;
			break;
		default:
			return cerr(d, H1_E_BAD_CHUNK_SIZE);
		}
		if (copy)
			h1_out_put(s->out, &c, 1);
		i++;
	}
	return (long)i;
}

long h1_chunked_decode(struct h1_chunked *d, const char *in, size_t len, struct h1_str *data,
		       unsigned max, unsigned *n)
{
	struct sink s = {.spans = data, .max = max};
	long rc = run(d, in, len, &s);
	*n = s.n;
	return rc;
}

long h1_chunked_reencode(struct h1_chunked *d, const char *in, size_t len, char *out, size_t cap,
			 size_t *out_len)
{
	struct h1_out o;
	h1_out_init(&o, out, cap);
	struct sink s = {.out = &o};
	long rc = run(d, in, len, &s);
	*out_len = o.len;
	return rc;
}
