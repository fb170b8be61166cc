/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What a complete HTTP/1 head means: message framing (RFC 9112 6), Host and
 * the target's authority (RFC 9112 3.2), connection options and persistence
 * (RFC 9110 7.6.1, RFC 9112 9.3), expectations (RFC 9110 10.1.1) and
 * upgrades (RFC 9110 7.8).
 *
 * Where RFC 9112 lets a recipient choose between repairing and refusing, this
 * refuses: a repeated Content-Length, Content-Length beside Transfer-Encoding,
 * a coding other than a single chunked, an absolute-form target whose
 * authority is not the Host. A proxy that repairs such a message forwards
 * something its upstream may frame differently (RFC 9112 11.2).
 */
#include <string.h>

#include "dataplane/http/h1_priv.h"

enum h1_field_id h1_field_id_of(const char *n, size_t len)
{
	switch (len) {
	case 2:
		return H1_IEQ(n, len, "te") ? H1_F_TE : H1_F_OTHER;
	case 4:
		return H1_IEQ(n, len, "host") ? H1_F_HOST : H1_F_OTHER;
	case 6:
		return H1_IEQ(n, len, "expect") ? H1_F_EXPECT : H1_F_OTHER;
	case 7:
		if (H1_IEQ(n, len, "upgrade"))
			return H1_F_UPGRADE;
		return H1_IEQ(n, len, "trailer") ? H1_F_TRAILER : H1_F_OTHER;
	case 10:
		if (H1_IEQ(n, len, "connection"))
			return H1_F_CONNECTION;
		return H1_IEQ(n, len, "keep-alive") ? H1_F_KEEP_ALIVE : H1_F_OTHER;
	case 12:
		return H1_IEQ(n, len, "x-request-id") ? H1_F_X_REQUEST_ID : H1_F_OTHER;
	case 14:
		if (H1_IEQ(n, len, "content-length"))
			return H1_F_CONTENT_LENGTH;
		return H1_IEQ(n, len, "http2-settings") ? H1_F_HTTP2_SETTINGS : H1_F_OTHER;
	case 15:
		return H1_IEQ(n, len, "x-forwarded-for") ? H1_F_X_FORWARDED_FOR : H1_F_OTHER;
	case 16:
		return H1_IEQ(n, len, "proxy-connection") ? H1_F_PROXY_CONNECTION : H1_F_OTHER;
	case 17:
		if (H1_IEQ(n, len, "transfer-encoding"))
			return H1_F_TRANSFER_ENCODING;
		return H1_IEQ(n, len, "x-forwarded-proto") ? H1_F_X_FORWARDED_PROTO : H1_F_OTHER;
	}
	return H1_F_OTHER;
}

/*
 * Fields that describe one connection, never forwarded: RFC 9110 7.6.1
 * (Connection and the fields it names; Proxy-Connection, Keep-Alive, TE,
 * Transfer-Encoding, Upgrade), Trailer (the proxy re-frames the body and
 * decides itself what trailers follow) and HTTP2-Settings (RFC 7540 3.2.1,
 * meaningful only with the Upgrade this proxy refuses).
 */
static bool hop_by_hop(enum h1_field_id id)
{
	switch (id) {
	case H1_F_CONNECTION:
	case H1_F_KEEP_ALIVE:
	case H1_F_PROXY_CONNECTION:
	case H1_F_TE:
	case H1_F_TRAILER:
	case H1_F_TRANSFER_ENCODING:
	case H1_F_UPGRADE:
	case H1_F_HTTP2_SETTINGS:
		return true;
	default:
		return false;
	}
}

/*
 * Iterates the elements of a list-based field value (RFC 9110 5.6.1):
 * #element = [ element ] *( OWS "," OWS [ element ] ). Empty elements are
 * skipped, as a recipient MUST accept them. Returns false at the end.
 */
struct list_it {
	const char *p, *end;
};

static bool list_next(struct list_it *it, struct h1_str *el)
{
	for (;;) {
		while (it->p < it->end && (h1_ows((unsigned char)*it->p) || *it->p == ','))
			it->p++;
		if (it->p >= it->end)
			return false;
		const char *s = it->p;
		while (it->p < it->end && *it->p != ',')
			it->p++;
		const char *e = it->p;
		while (e > s && h1_ows((unsigned char)e[-1]))
			e--;
		el->ptr = s;
		el->len = (size_t)(e - s);
		return true;
	}
}

static bool is_token(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!h1_is((unsigned char)s[i], H1_C_TCHAR))
			return false;
	return true;
}

/*
 * RFC 9110 8.6: Content-Length = 1*DIGIT. No sign, no spaces inside, no
 * list: a list, even of identical values, is a repetition and refused like a
 * second field (RFC 9112 6.3 item 5 allows accepting identical ones; the
 * safer reading is not to).
 */
static enum h1_err content_length(const struct h1_field *f, uint64_t *out)
{
	uint64_t v = 0;

	if (f->value_len == 0)
		return H1_E_CL_INVALID;
	if (memchr(f->value, ',', f->value_len) != NULL)
		return H1_E_CL_REPEATED;
	for (uint32_t i = 0; i < f->value_len; i++) {
		unsigned char c = (unsigned char)f->value[i];
		if (!h1_is(c, H1_C_DIGIT))
			return H1_E_CL_INVALID;
		/* no more than 2^63 - 1: body sizes are signed in most stacks */
		if (v > (uint64_t)(INT64_MAX - (c - '0')) / 10)
			return H1_E_CL_INVALID;
		v = v * 10 + (c - '0');
	}
	*out = v;
	return H1_E_NONE;
}

/*
 * RFC 9112 6.1: Transfer-Encoding = #transfer-coding, the codings listed in
 * the order applied, across every Transfer-Encoding field. Accepted: exactly
 * one coding, "chunked" (case-insensitive, RFC 9112 7), without parameters.
 * chunked not last, or twice, or absent: the length cannot be known (RFC
 * 9112 6.3 item 4), te_not_chunked. Another coding before a final chunked
 * is well-framed but not implemented here: te_unsupported (RFC 9112 6.1
 * suggests 501).
 */
static enum h1_err transfer_encoding(const struct h1_field *f, unsigned n)
{
	unsigned n_chunked = 0, n_other = 0, n_bad = 0;
	bool last_chunked = false;

	for (unsigned i = 0; i < n; i++) {
		if (f[i].id != H1_F_TRANSFER_ENCODING)
			continue;
		struct list_it it = {f[i].value, f[i].value + f[i].value_len};
		struct h1_str el;
		while (list_next(&it, &el)) {
			last_chunked = H1_IEQ(el.ptr, el.len, "chunked");
			if (last_chunked)
				n_chunked++;
			else if (is_token(el.ptr, el.len))
				n_other++;
			else
				n_bad++;
		}
	}
	if (!last_chunked || n_chunked != 1 || n_bad != 0)
		return H1_E_TE_NOT_CHUNKED;
	if (n_other != 0)
		return H1_E_TE_UNSUPPORTED;
	return H1_E_NONE;
}

/* Does a Connection option name field f? Host and Content-Length are never
 * taken out this way: a client naming them would have the proxy forward a
 * message framed or routed differently from the one it checked. */
static void mark_named(struct h1_field *f, unsigned n, struct h1_str opt)
{
	for (unsigned i = 0; i < n; i++) {
		if (f[i].id == H1_F_HOST || f[i].id == H1_F_CONTENT_LENGTH)
			continue;
		if (f[i].name_len != opt.len)
			continue;
		size_t k = 0;
		while (k < opt.len &&
		       h1_lower[(unsigned char)f[i].name[k]] == h1_lower[(unsigned char)opt.ptr[k]])
			k++;
		if (k == opt.len)
			f[i].flags |= H1_FF_HOP;
	}
}

/* Common to requests and responses: field ids, hop-by-hop marks, Connection
 * options, Content-Length and Transfer-Encoding. */
struct common {
	unsigned n_cl, n_te, n_host, n_upgrade;
	int host, cl;
};

static enum h1_err common_pass(struct h1_field *f, unsigned n, unsigned minor, struct common *c,
			       struct h1_msg_info *info)
{
	memset(c, 0, sizeof(*c));
	c->host = c->cl = -1;
	for (unsigned i = 0; i < n; i++) {
		enum h1_field_id id = h1_field_id_of(f[i].name, f[i].name_len);
		f[i].id = (uint8_t)id;
		f[i].flags = hop_by_hop(id) ? H1_FF_HOP : 0;
		switch (id) {
		case H1_F_HOST:
			if (c->n_host++ == 0)
				c->host = (int)i;
			break;
		case H1_F_CONTENT_LENGTH:
			if (c->n_cl++ == 0)
				c->cl = (int)i;
			break;
		case H1_F_TRANSFER_ENCODING:
			c->n_te++;
			break;
		case H1_F_UPGRADE:
			c->n_upgrade++;
			break;
		default:
			break;
		}
	}
	/* RFC 9110 7.6.1: Connection = #connection-option, each a token; the
	 * fields it names are hop-by-hop. Each option is matched against every
	 * field, so their number is bounded (real clients send one or two). */
	unsigned n_opts = 0;
	for (unsigned i = 0; i < n; i++) {
		if (f[i].id != H1_F_CONNECTION)
			continue;
		struct list_it it = {f[i].value, f[i].value + f[i].value_len};
		struct h1_str el;
		while (list_next(&it, &el)) {
			if (!is_token(el.ptr, el.len) || ++n_opts > H1_MAX_CONNECTION_OPTIONS)
				return H1_E_BAD_CONNECTION;
			if (H1_IEQ(el.ptr, el.len, "close"))
				info->flags |= H1_MI_CONN_CLOSE;
			else if (H1_IEQ(el.ptr, el.len, "keep-alive"))
				info->flags |= H1_MI_CONN_KEEP_ALIVE;
			else
				mark_named(f, n, el);
		}
	}
	/* RFC 9112 6.3 item 3: both present "ought to be handled as an error";
	 * it is the classic smuggling vector */
	if (c->n_te > 0 && c->n_cl > 0)
		return H1_E_CL_WITH_TE;
	if (c->n_te > 0) {
		/* RFC 9112 6.1: an HTTP/1.0 recipient of Transfer-Encoding MUST
		 * treat the framing as faulty */
		if (minor == 0)
			return H1_E_TE_HTTP10;
		enum h1_err e = transfer_encoding(f, n);
		if (e != H1_E_NONE)
			return e;
	}
	if (c->n_cl > 1)
		return H1_E_CL_REPEATED;
	if (c->n_cl == 1)
		return content_length(&f[c->cl], &info->content_length);
	return H1_E_NONE;
}

/* RFC 9112 9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive". */
static void persistence(struct h1_msg_info *info, unsigned minor)
{
	bool keep = minor >= 1 ? !(info->flags & H1_MI_CONN_CLOSE)
			       : (info->flags & H1_MI_CONN_KEEP_ALIVE) && !(info->flags & H1_MI_CONN_CLOSE);
	if (keep)
		info->flags |= H1_MI_KEEP_ALIVE;
}

/* Length of an authority without a port that is the scheme's default. */
static size_t strip_default_port(const char *a, size_t n, bool https)
{
	const char *port = https ? ":443" : ":80";
	size_t pl = https ? 4 : 3;
	if (n > pl && memcmp(a + n - pl, port, pl) == 0)
		return n - pl;
	return n;
}

enum h1_err h1_request_info(struct h1_request *req, const struct h1_limits *lim,
			    struct h1_msg_info *info)
{
	struct common c;
	enum h1_err e;

	if (lim == NULL)
		lim = &h1_default_limits;
	memset(info, 0, sizeof(*info));
	info->host = -1;
	e = common_pass(req->fields, req->n_fields, req->minor, &c, info);
	if (e != H1_E_NONE)
		return e;

	/* RFC 9112 3.2: 400 for an HTTP/1.1 request without Host, for any
	 * request with more than one, or with an invalid one */
	if (c.n_host > 1)
		return H1_E_MULTIPLE_HOST;
	if (c.n_host == 0 && req->minor >= 1)
		return H1_E_MISSING_HOST;
	const struct h1_field *host = c.host >= 0 ? &req->fields[c.host] : NULL;
	size_t port_at;
	if (host != NULL && !h1_authority_valid(host->value, host->value_len, true, &port_at))
		return H1_E_BAD_HOST;
	info->host = (int16_t)c.host;

	if (req->target_form == H1_TF_ABSOLUTE) {
		/* target_form() checked the syntax: scheme "://" authority path */
		const char *t = req->target.ptr;
		bool https = h1_lower[(unsigned char)t[4]] == 's';
		size_t s = https ? 8 : 7, a = s;
		while (a < req->target.len && t[a] != '/' && t[a] != '?')
			a++;
		info->authority.ptr = t + s;
		info->authority.len = a - s;
		info->path.ptr = t + a;
		info->path.len = req->target.len - a;
		/* RFC 9112 3.2.2 has a proxy ignore Host in favour of the
		 * target; two disagreeing authorities are refused instead, so no
		 * hop behind can pick the other one */
		if (host != NULL) {
			size_t ta = strip_default_port(info->authority.ptr, info->authority.len, https);
			size_t ha = strip_default_port(host->value, host->value_len, https);
			if (ta != ha)
				return H1_E_HOST_MISMATCH;
			for (size_t k = 0; k < ta; k++)
				if (h1_lower[(unsigned char)info->authority.ptr[k]] !=
				    h1_lower[(unsigned char)host->value[k]])
					return H1_E_HOST_MISMATCH;
		}
	} else {
		if (host != NULL) {
			info->authority.ptr = host->value;
			info->authority.len = host->value_len;
		}
		info->path = req->target;
	}

	/* RFC 9110 10.1.1: 100-continue is the only expectation; others MAY
	 * be answered 417. An HTTP/1.0 request's 100-continue is ignored. */
	for (unsigned i = 0; i < req->n_fields; i++) {
		const struct h1_field *f = &req->fields[i];
		if (f->id != H1_F_EXPECT)
			continue;
		struct list_it it = {f->value, f->value + f->value_len};
		struct h1_str el;
		while (list_next(&it, &el)) {
			if (!H1_IEQ(el.ptr, el.len, "100-continue"))
				return H1_E_EXPECT_UNSUPPORTED;
			if (req->minor >= 1)
				info->flags |= H1_MI_EXPECT_CONTINUE;
		}
	}

	/* RFC 9110 7.8: a server MAY ignore Upgrade; it is hop-by-hop and is
	 * stripped, so the request goes on in HTTP/1.1 unless configured to be
	 * refused */
	if (c.n_upgrade > 0) {
		info->flags |= H1_MI_UPGRADE;
		if (lim->flags & H1_LIM_REJECT_UPGRADE)
			return H1_E_UPGRADE_REFUSED;
	}

	/* RFC 9112 6.3 items 4-6 */
	if (c.n_te > 0)
		info->body = H1_BODY_CHUNKED;
	else if (c.n_cl > 0 && info->content_length > 0)
		info->body = H1_BODY_LENGTH;
	else
		info->body = H1_BODY_NONE;
	persistence(info, req->minor);
	return H1_E_NONE;
}

enum h1_err h1_response_info(struct h1_response *resp, enum h1_method req_method,
			     struct h1_msg_info *info)
{
	struct common c;
	enum h1_err e;

	memset(info, 0, sizeof(*info));
	info->host = -1;
	e = common_pass(resp->fields, resp->n_fields, resp->minor, &c, info);
	if (e != H1_E_NONE)
		return e;

	unsigned st = resp->status;
	if (st == 101) {
		/* RFC 9110 15.2.2: a server switches only to a protocol the
		 * client asked for, and this proxy forwards no Upgrade */
		return H1_E_UPGRADE_REFUSED;
	}
	/* RFC 9112 6.3 items 1-2 (CONNECT is refused earlier) */
	if (st < 200) {
		info->flags |= H1_MI_INFORMATIONAL;
		info->body = H1_BODY_NONE;
	} else if (req_method == H1_M_HEAD || st == 204 || st == 304) {
		info->body = H1_BODY_NONE;
	} else if (c.n_te > 0) {
		info->body = H1_BODY_CHUNKED;
	} else if (c.n_cl > 0) {
		info->body = info->content_length > 0 ? H1_BODY_LENGTH : H1_BODY_NONE;
	} else {
		/* item 8: read until the server closes */
		info->body = H1_BODY_CLOSE;
	}
	persistence(info, resp->minor);
	if (info->body == H1_BODY_CLOSE)
		info->flags &= (uint8_t)~H1_MI_KEEP_ALIVE;
	return H1_E_NONE;
}
