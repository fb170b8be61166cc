/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Output side of HTTP/1: chunk framing, heads serialised from a field list,
 * field list edits, and the head a proxy forwards (RFC 9110 7.6: hop-by-hop
 * fields removed, its own framing, the forwarding fields added).
 *
 * What is written is canonical: one SP between start-line parts, "name: value"
 * with one SP, CRLF everywhere, HTTP/1.1. The values themselves are copied as
 * parsed (already checked), so the next hop reads what this one checked.
 */
#include <string.h>

#include "dataplane/http/h1_priv.h"

void h1_out_put(struct h1_out *o, const void *p, size_t n)
{
	if (n == 0)
		return;
	/* once over cap, len keeps counting what the output would need */
	if (o->len <= o->cap && n <= o->cap - o->len)
		memcpy(o->buf + o->len, p, n);
	o->len += n;
}

static void put_str(struct h1_out *o, const char *s)
{
	h1_out_put(o, s, strlen(s));
}

static const char hexdig[] = "0123456789abcdef";

void h1_out_chunk_header(struct h1_out *o, uint64_t n)
{
	/* RFC 9112 7.1: chunk-size CRLF, lower-case hex without leading zeros */
	char tmp[20];
	size_t k = sizeof(tmp);
	tmp[--k] = '\n';
	tmp[--k] = '\r';
	do {
		tmp[--k] = hexdig[n & 15];
		n >>= 4;
	} while (n != 0);
	h1_out_put(o, tmp + k, sizeof(tmp) - k);
}

void h1_out_request_line(struct h1_out *o, struct h1_str method, struct h1_str target)
{
	/* RFC 9112 3: request-line = method SP request-target SP HTTP-version */
	h1_out_put(o, method.ptr, method.len);
	h1_out_put(o, " ", 1);
	h1_out_put(o, target.ptr, target.len);
	h1_out_put(o, " HTTP/1.1\r\n", 11);
}

void h1_out_status_line(struct h1_out *o, unsigned status, struct h1_str reason)
{
	/* RFC 9112 4: status-line = HTTP-version SP status-code SP [ reason-phrase ] */
	char st[4] = {(char)('0' + status / 100 % 10), (char)('0' + status / 10 % 10),
		      (char)('0' + status % 10), ' '};
	h1_out_put(o, "HTTP/1.1 ", 9);
	h1_out_put(o, st, 4);
	h1_out_put(o, reason.ptr, reason.len);
	h1_out_put(o, "\r\n", 2);
}

void h1_out_field(struct h1_out *o, const char *name, size_t nlen, const char *value, size_t vlen)
{
	/* RFC 9112 5: field-line = field-name ":" OWS field-value OWS */
	size_t need = nlen + vlen + 4;
	if (o->len <= o->cap && need <= o->cap - o->len) {
		char *d = o->buf + o->len;
		memcpy(d, name, nlen);
		d += nlen;
		d[0] = ':';
		d[1] = ' ';
		if (vlen > 0)
			memcpy(d + 2, value, vlen);
		d[2 + vlen] = '\r';
		d[3 + vlen] = '\n';
	}
	o->len += need;
}

void h1_out_fields(struct h1_out *o, const struct h1_field *f, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (!(f[i].flags & (H1_FF_HOP | H1_FF_DROP)))
			h1_out_field(o, f[i].name, f[i].name_len, f[i].value, f[i].value_len);
}

void h1_out_end(struct h1_out *o)
{
	h1_out_put(o, "\r\n", 2);
}

/* ---- field list edits ---------------------------------------------------------- */

int h1_fields_find(const struct h1_field *f, unsigned n, unsigned from, const char *name,
		   size_t nlen)
{
	for (unsigned i = from; i < n; i++) {
		if (f[i].flags & H1_FF_DROP || f[i].name_len != nlen)
			continue;
		size_t k = 0;
		while (k < nlen && h1_lower[(unsigned char)f[i].name[k]] == h1_lower[(unsigned char)name[k]])
			k++;
		if (k == nlen)
			return (int)i;
	}
	return -1;
}

unsigned h1_fields_remove(struct h1_field *f, unsigned n, const char *name, size_t nlen)
{
	unsigned count = 0;
	for (int i = h1_fields_find(f, n, 0, name, nlen); i >= 0;
	     i = h1_fields_find(f, n, (unsigned)i + 1, name, nlen)) {
		f[i].flags |= H1_FF_DROP;
		count++;
	}
	return count;
}

int h1_fields_add(struct h1_field *f, unsigned *n, unsigned cap, const char *name, size_t nlen,
		  const char *value, size_t vlen)
{
	if (*n >= cap || nlen > UINT16_MAX || vlen > UINT32_MAX)
		return -1;
	f[*n] = (struct h1_field){
		.name = name,
		.value = value,
		.value_len = (uint32_t)vlen,
		.name_len = (uint16_t)nlen,
		.id = (uint8_t)h1_field_id_of(name, nlen),
	};
	(*n)++;
	return 0;
}

int h1_fields_set(struct h1_field *f, unsigned *n, unsigned cap, const char *name, size_t nlen,
		  const char *value, size_t vlen)
{
	if (*n >= cap)
		return -1;
	h1_fields_remove(f, *n, name, nlen);
	return h1_fields_add(f, n, cap, name, nlen, value, vlen);
}

/* ---- request ids ------------------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void h1_prng_seed(struct h1_prng *r, uint64_t seed)
{
	/* xoshiro's authors seed it from splitmix64, which never yields an
	 * all-zero state */
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t h1_prng_next(struct h1_prng *r)
{
	/* xoshiro256** */
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

void h1_request_id(struct h1_prng *r, char out[H1_REQUEST_ID_LEN])
{
	uint8_t b[16];
	uint64_t a = h1_prng_next(r), c = h1_prng_next(r);
	for (int i = 0; i < 8; i++) {
		b[i] = (uint8_t)(a >> (8 * i));
		b[8 + i] = (uint8_t)(c >> (8 * i));
	}
	/* RFC 9562 5.4: version 4 in the high nibble of octet 6, variant 10 in
	 * the two high bits of octet 8 */
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	size_t k = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[k++] = '-';
		out[k++] = hexdig[b[i] >> 4];
		out[k++] = hexdig[b[i] & 15];
	}
}

/*
 * An incoming x-request-id worth keeping: 1 to 128 bytes of RFC 3986
 * unreserved characters and "+/=:" (UUIDs, base64 and similar ids), so that
 * logs and upstreams never see anything odd in it.
 */
static bool request_id_valid(const struct h1_field *f)
{
	if (f->value_len == 0 || f->value_len > 128)
		return false;
	for (uint32_t i = 0; i < f->value_len; i++) {
		unsigned char c = (unsigned char)f->value[i];
		bool ok = (h1_is(c, H1_C_REGNAME) && !strchr("!$&'()*,;", c)) || c == '+' ||
			  c == '/' || c == '=' || c == ':';
		if (!ok)
			return false;
	}
	return true;
}

/* ---- forwarded heads ----------------------------------------------------------------- */

int h1_write_request_head(struct h1_out *o, const struct h1_request *req,
			  const struct h1_msg_info *info, struct h1_fwd *fwd)
{
	const struct h1_field *f = req->fields;
	unsigned n = req->n_fields;
	int last_xff = -1, n_rid = 0, rid = -1, new_host = -1;

	for (unsigned i = 0; i < n; i++) {
		if (f[i].flags & (H1_FF_HOP | H1_FF_DROP))
			continue;
		if (f[i].id == H1_F_HOST && (int)i != info->host)
			new_host = (int)i; /* one the proxy added */
		if (f[i].id == H1_F_X_FORWARDED_FOR)
			last_xff = (int)i;
		if (f[i].id == H1_F_X_REQUEST_ID) {
			n_rid++;
			rid = (int)i;
		}
	}
	bool keep_rid = (fwd->flags & H1_FWD_KEEP_REQUEST_ID) && n_rid == 1 &&
			request_id_valid(&f[rid]);
	bool new_rid = (fwd->flags & H1_FWD_REQUEST_ID) && !keep_rid;
	fwd->request_id_generated = false;

	/* RFC 9112 3.2.1: to an origin server, origin-form; an empty path is
	 * sent as "/" (and as "*" for OPTIONS, RFC 9112 3.2.4) */
	if (req->target_form == H1_TF_ABSOLUTE) {
		struct h1_str path = info->path;
		h1_out_put(o, req->method.ptr, req->method.len);
		if (path.len == 0 && req->method_id == H1_M_OPTIONS)
			h1_out_put(o, " *", 2);
		else if (path.len == 0 || path.ptr[0] != '/')
			h1_out_put(o, " /", 2);
		else
			h1_out_put(o, " ", 1);
		h1_out_put(o, path.ptr, path.len);
		h1_out_put(o, " HTTP/1.1\r\n", 11);
		/* RFC 9112 3.2.2: Host is the target's authority, unless the
		 * proxy set another (the received one agreed with the target) */
		if (new_host < 0)
			h1_out_field(o, "host", 4, info->authority.ptr, info->authority.len);
	} else {
		h1_out_request_line(o, req->method, req->target);
		/* HTTP/1.1 requires Host; an HTTP/1.0 client may have sent none,
		 * and then it is empty (RFC 9112 3.2) */
		if (h1_fields_find(f, n, 0, "host", 4) < 0)
			h1_out_field(o, "host", 4, "", 0);
	}

	for (unsigned i = 0; i < n; i++) {
		if (f[i].flags & (H1_FF_HOP | H1_FF_DROP))
			continue;
		switch (f[i].id) {
		case H1_F_HOST:
			if (req->target_form == H1_TF_ABSOLUTE && (int)i == info->host)
				continue;
			break;
		case H1_F_X_FORWARDED_PROTO:
			if (fwd->flags & H1_FWD_XFP)
				continue;
			break;
		case H1_F_X_REQUEST_ID:
			if (fwd->flags & H1_FWD_REQUEST_ID && !keep_rid)
				continue;
			break;
		case H1_F_X_FORWARDED_FOR:
			if ((fwd->flags & H1_FWD_XFF) && (int)i == last_xff) {
				/* append to the list (RFC 7239 5.2 keeps the order
				 * of hops for Forwarded; x-forwarded-for follows it) */
				h1_out_put(o, f[i].name, f[i].name_len);
				h1_out_put(o, ": ", 2);
				h1_out_put(o, f[i].value, f[i].value_len);
				if (f[i].value_len > 0)
					h1_out_put(o, ", ", 2);
				h1_out_put(o, fwd->client_addr.ptr, fwd->client_addr.len);
				h1_out_put(o, "\r\n", 2);
				continue;
			}
			break;
		default:
			break;
		}
		h1_out_field(o, f[i].name, f[i].name_len, f[i].value, f[i].value_len);
	}

	if ((fwd->flags & H1_FWD_XFF) && last_xff < 0)
		h1_out_field(o, "x-forwarded-for", 15, fwd->client_addr.ptr, fwd->client_addr.len);
	if (fwd->flags & H1_FWD_XFP)
		h1_out_field(o, "x-forwarded-proto", 17, fwd->proto.ptr, fwd->proto.len);
	if (new_rid) {
		h1_request_id(fwd->prng, fwd->request_id);
		fwd->request_id_generated = true;
		h1_out_field(o, "x-request-id", 12, fwd->request_id, H1_REQUEST_ID_LEN);
	}
	/* the body was checked as chunked and goes on chunked; Content-Length
	 * went through above unchanged */
	if (info->body == H1_BODY_CHUNKED)
		put_str(o, "transfer-encoding: chunked\r\n");
	if (fwd->flags & H1_FWD_CLOSE)
		put_str(o, "connection: close\r\n");
	h1_out_end(o);
	return h1_out_ok(o) ? 0 : -1;
}

int h1_write_response_head(struct h1_out *o, const struct h1_response *resp,
			   const struct h1_msg_info *info, const struct h1_fwd *fwd)
{
	h1_out_status_line(o, resp->status, resp->reason);
	h1_out_fields(o, resp->fields, resp->n_fields);
	bool chunk_close = info->body == H1_BODY_CLOSE && (fwd->flags & H1_FWD_CHUNK_CLOSE_BODY);
	if (info->body == H1_BODY_CHUNKED || chunk_close)
		put_str(o, "transfer-encoding: chunked\r\n");
	/* a close-delimited body forwarded as is is delimited by our close too */
	if ((fwd->flags & H1_FWD_CLOSE) || (info->body == H1_BODY_CLOSE && !chunk_close))
		put_str(o, "connection: close\r\n");
	h1_out_end(o);
	return h1_out_ok(o) ? 0 : -1;
}
