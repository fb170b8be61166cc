/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The admin API server. One poll() set holds the listening socket and every
 * client; each client has an input buffer (bytes read, not yet parsed) and an
 * output buffer (responses not yet written).
 *
 * A client's life:
 *   open      read -> parse -> handler -> queue response -> write, repeated
 *             for every request (keep-alive and pipelining);
 *   closing   a response carried "Connection: close" (or an error): once it
 *             is written, the write side is shut down;
 *   lingering input is read and thrown away until the client closes or
 *             LINGER_MS passes, then the socket is closed. Closing a socket
 *             with unread input makes the kernel send a reset, which can
 *             destroy the response the client has not read yet (the case of a
 *             413 sent while the client is still uploading).
 *
 * Memory per client is bounded: reading stops once the buffer holds the
 * current request plus one read chunk, and parsing stops while more than
 * OUT_HIGH bytes of responses wait for the client to read them.
 */
#include "policy/admin.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK (64 * 1024)
#define OUT_HIGH (256 * 1024)     /* stop answering pipelined requests above this */
#define SHRINK_ABOVE (256 * 1024) /* free idle buffers larger than this */
#define LINGER_MS 2000
#define ACCEPT_PER_POLL 128
#define ACCEPT_PAUSE_MS 100 /* after EMFILE and friends */
#define LISTEN_BACKLOG 128

#define DEFAULT_CONTENT_TYPE "text/plain; charset=utf-8"

/* parse_head() results besides an HTTP error status (>= 400). */
#define PARSE_OK 0
#define PARSE_AGAIN 1

struct client {
	int fd; /* -1: free slot */
	struct weft_buf in;
	struct weft_buf out;
	size_t out_off;      /* bytes of out already sent */
	size_t need;         /* bytes the request being received needs (head + body); 0: unknown */
	int64_t last_ms;     /* last read or write progress */
	int64_t linger_until;
	bool peer_eof;       /* the client shut down its write side */
	bool close_after;    /* close once out is written */
	bool lingering;      /* write side shut; discarding input until EOF */
	bool continue_sent;  /* "100 Continue" sent for the request being received */
	bool broken;         /* a response could not be built (no memory): drop the client */
};

struct weft_admin {
	int lfd;
	uint16_t port;
	weft_admin_handler_fn handler;
	void *ctx;
	int idle_ms;
	int64_t accept_resume_ms; /* listening socket left out of poll() until then */
	unsigned n_clients;
	struct client clients[WEFT_ADMIN_MAX_CLIENTS];
	struct weft_buf resp_body;    /* reused for every handler call */
	struct weft_buf resp_headers; /* ditto */
	struct weft_admin_header hdr[WEFT_ADMIN_MAX_HEADERS];
};

/* A parsed request head; pointers into the client's input buffer. */
struct head {
	size_t len; /* request line + header fields + empty line */
	size_t body_len;
	char *method;
	size_t method_len;
	char *target;
	size_t target_len;
	unsigned minor;
	unsigned n_headers;
	struct weft_admin_header *hdr; /* WEFT_ADMIN_MAX_HEADERS entries */
	bool close;           /* the client asked to close after this request */
	bool expect_continue;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- status codes ------------------------------------------------------ */

const char *weft_admin_status_text(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

/* ---- request parsing (RFC 9112 sections 2 to 6) ------------------------- */

/* tchar, RFC 9110 5.6.2 */
static bool is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* field-vchar, SP, HTAB and obs-text: what a field value may hold (RFC 9110 5.5) */
static bool is_field_char(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static bool token_eq(const char *p, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(p, lit, n) == 0;
}

/* Does the comma-separated list in [p, p+n) hold token lit? */
static bool list_has(const char *p, size_t n, const char *lit)
{
	const char *end = p + n;
	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
			p++;
		const char *s = p;
		while (p < end && *p != ',')
			p++;
		const char *e = p;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e > s && token_eq(s, (size_t)(e - s), lit))
			return true;
	}
	return false;
}

/*
 * Request line: method SP request-target SP HTTP-version (RFC 9112 3).
 * [p, p+n) is the line without its CRLF or LF.
 */
static int parse_request_line(char *p, size_t n, struct head *h)
{
	size_t i = 0;
	while (i < n && is_tchar((unsigned char)p[i]))
		i++;
	if (i == 0 || i >= n || p[i] != ' ')
		return 400;
	h->method = p;
	h->method_len = i++;

	size_t t = i;
	while (i < n && (unsigned char)p[i] > 0x20 && (unsigned char)p[i] < 0x7f)
		i++;
	if (i == t || i >= n || p[i] != ' ')
		return 400;
	/* Origin form only: the admin API is no proxy (absolute form, RFC 9112 3.2.2). */
	if (p[t] != '/')
		return 400;
	h->target = p + t;
	h->target_len = i - t;
	i++;

	const char *v = p + i;
	size_t vn = n - i;
	if (vn != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' || v[5] < '0' || v[5] > '9' ||
	    v[7] < '0' || v[7] > '9')
		return 400;
	if (v[5] != '1')
		return 505;
	h->minor = (unsigned)(v[7] - '0');
	return PARSE_OK;
}

/* Can [p, p+n) still grow into a valid request line? Lets garbage fail early. */
static bool request_line_prefix_ok(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == ' ')
			return i > 0;
		if (!is_tchar((unsigned char)p[i]))
			return false;
	}
	return true;
}

/*
 * Parse the request head at the start of [p, p+n). On PARSE_OK, h describes
 * it; the buffer is not modified. Returns PARSE_OK, PARSE_AGAIN (incomplete)
 * or the status to answer with.
 */
static int parse_head(char *p, size_t n, struct head *h)
{
	size_t lim = n < WEFT_ADMIN_MAX_HEADER ? n : WEFT_ADMIN_MAX_HEADER;
	char *nl = memchr(p, '\n', lim);

	if (nl == NULL) {
		if (!request_line_prefix_ok(p, lim))
			return 400;
		return n >= WEFT_ADMIN_MAX_HEADER ? 414 : PARSE_AGAIN;
	}
	size_t ll = (size_t)(nl - p);
	if (ll > 0 && p[ll - 1] == '\r')
		ll--;
	int rc = parse_request_line(p, ll, h);
	if (rc != PARSE_OK)
		return rc;

	h->n_headers = 0;
	h->body_len = 0;
	h->close = h->minor == 0; /* HTTP/1.0 closes unless it asks for keep-alive */
	h->expect_continue = false;

	bool have_cl = false;
	unsigned n_host = 0;
	bool te = false, te_chunked = false, expect_other = false;
	size_t pos = (size_t)(nl - p) + 1;

	for (;;) {
		if (pos >= lim)
			return n >= WEFT_ADMIN_MAX_HEADER ? 431 : PARSE_AGAIN;
		nl = memchr(p + pos, '\n', lim - pos);
		if (nl == NULL)
			return n >= WEFT_ADMIN_MAX_HEADER ? 431 : PARSE_AGAIN;
		char *line = p + pos;
		size_t len = (size_t)(nl - line);
		pos += len + 1;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		if (len == 0)
			break; /* end of the head */

		/* Line folding is obsolete and must be refused (RFC 9112 5.2). */
		if (line[0] == ' ' || line[0] == '\t')
			return 400;
		size_t i = 0;
		while (i < len && is_tchar((unsigned char)line[i]))
			i++;
		/* No whitespace between name and colon (RFC 9112 5.1). */
		if (i == 0 || i >= len || line[i] != ':')
			return 400;
		size_t name_len = i++;
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		size_t vs = i;
		for (; i < len; i++)
			if (!is_field_char((unsigned char)line[i]))
				return 400;
		size_t ve = len;
		while (ve > vs && (line[ve - 1] == ' ' || line[ve - 1] == '\t'))
			ve--;

		if (h->n_headers == WEFT_ADMIN_MAX_HEADERS)
			return 431;
		struct weft_admin_header *f = &h->hdr[h->n_headers++];
		f->name = line;
		f->name_len = name_len;
		f->value = line + vs;
		f->value_len = ve - vs;

		if (token_eq(f->name, name_len, "content-length")) {
			/* Digits only; a repeated field must agree (RFC 9112 6.3). */
			if (f->value_len == 0 || f->value_len > 18)
				return 400;
			size_t v = 0;
			for (size_t k = 0; k < f->value_len; k++) {
				if (f->value[k] < '0' || f->value[k] > '9')
					return 400;
				v = v * 10 + (size_t)(f->value[k] - '0');
			}
			if (have_cl && v != h->body_len)
				return 400;
			have_cl = true;
			h->body_len = v;
		} else if (token_eq(f->name, name_len, "host")) {
			n_host++;
		} else if (token_eq(f->name, name_len, "transfer-encoding")) {
			te = true;
			te_chunked = te_chunked || list_has(f->value, f->value_len, "chunked");
		} else if (token_eq(f->name, name_len, "connection")) {
			if (list_has(f->value, f->value_len, "close"))
				h->close = true;
			else if (h->minor == 0 && list_has(f->value, f->value_len, "keep-alive"))
				h->close = false;
		} else if (token_eq(f->name, name_len, "expect")) {
			if (token_eq(f->value, f->value_len, "100-continue"))
				h->expect_continue = true;
			else
				expect_other = true;
		}
	}
	h->len = pos;

	/* A client must send exactly one Host on HTTP/1.1 (RFC 9112 3.2). */
	if (h->minor >= 1 && n_host != 1)
		return 400;
	if (n_host > 1)
		return 400;
	/* Bodies come with Content-Length only; chunked is understood but refused. */
	if (te)
		return te_chunked ? 411 : 501;
	if (expect_other)
		return 417;
	/* HTTP/1.0 clients know nothing of 100-continue (RFC 9110 10.1.1). */
	if (h->minor == 0 || h->body_len == 0)
		h->expect_continue = false;
	if (h->body_len > WEFT_ADMIN_MAX_BODY)
		return 413;
	return PARSE_OK;
}

/* ---- responses ---------------------------------------------------------- */

static size_t pending(const struct client *c)
{
	return c->out.len - c->out_off;
}

static void queue_response(struct client *c, int status, const char *ctype, const char *extra,
			   size_t extra_len, const char *body, size_t body_len, bool head_only,
			   bool close, bool keep_alive_header)
{
	weft_buf_printf(&c->out, "HTTP/1.1 %d %s\r\n", status, weft_admin_status_text(status));
	/* 204 and 304 carry no body; 204 not even a Content-Length (RFC 9110 8.6). */
	bool no_body = status == 204 || status == 304;
	if (!no_body)
		weft_buf_printf(&c->out, "Content-Type: %s\r\n", ctype);
	if (status != 204)
		weft_buf_printf(&c->out, "Content-Length: %zu\r\n", body_len);
	weft_buf_puts(&c->out, "Cache-Control: no-store\r\n");
	if (close)
		weft_buf_puts(&c->out, "Connection: close\r\n");
	else if (keep_alive_header)
		weft_buf_puts(&c->out, "Connection: keep-alive\r\n");
	weft_buf_append(&c->out, extra, extra_len);
	weft_buf_puts(&c->out, "\r\n");
	if (!no_body && !head_only)
		weft_buf_append(&c->out, body, body_len);
}

/* An error the server answers on its own; the connection closes after it. */
static void queue_error(struct client *c, int status)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%s\n", weft_admin_status_text(status));
	queue_response(c, status, DEFAULT_CONTENT_TYPE, NULL, 0, body, (size_t)n, false, true, false);
	c->close_after = true;
}

int weft_admin_resp_header(struct weft_admin_resp *resp, const char *name, const char *value)
{
	/* Refuse anything that could split the response. */
	for (const char *s = name; *s; s++)
		if (!is_tchar((unsigned char)*s))
			return -1;
	for (const char *s = value; *s; s++)
		if (*s == '\r' || *s == '\n' || *s == '\0')
			return -1;
	if (name[0] == '\0')
		return -1;
	return weft_buf_printf(&resp->headers, "%s: %s\r\n", name, value);
}

/* ---- requests ----------------------------------------------------------- */

/*
 * Hand a complete request (head h, body after it, all inside c->in) to the
 * handler and queue its response. The head is NUL-terminated in place.
 */
static void dispatch(struct weft_admin *a, struct client *c, struct head *h)
{
	char *buf = c->in.data;

	h->method[h->method_len] = '\0';
	h->target[h->target_len] = '\0';
	for (unsigned i = 0; i < h->n_headers; i++) {
		/* Both end on a ':' or on whitespace or CR or LF of the head. */
		((char *)h->hdr[i].name)[h->hdr[i].name_len] = '\0';
		((char *)h->hdr[i].value)[h->hdr[i].value_len] = '\0';
	}
	char *q = strchr(h->target, '?');
	if (q != NULL)
		*q++ = '\0';

	bool is_head = strcmp(h->method, "HEAD") == 0;
	struct weft_admin_req req = {
		.method = is_head ? "GET" : h->method,
		.is_head = is_head,
		.path = h->target,
		.query = q ? q : "",
		.body = buf + h->len,
		.body_len = h->body_len,
		.minor_version = h->minor,
		.n_headers = h->n_headers,
		.headers = h->hdr,
	};

	/*
	 * Terminate the body too. The byte after it may be the start of a
	 * pipelined request, so it is put back after the call. (At the end
	 * of the buffer the NUL weft_buf keeps is already there.)
	 */
	char *body_end = buf + h->len + h->body_len;
	char saved = *body_end;
	*body_end = '\0';

	weft_buf_reset(&a->resp_body);
	weft_buf_reset(&a->resp_headers);
	struct weft_admin_resp resp = {
		.status = 200,
		.content_type = DEFAULT_CONTENT_TYPE,
		.body = a->resp_body,
		.headers = a->resp_headers,
		.close = false,
	};
	a->handler(&req, &resp, a->ctx);
	*body_end = saved;
	/* The handler may have grown (reallocated) them: keep the memory. */
	a->resp_body = resp.body;
	a->resp_headers = resp.headers;

	int status = resp.status;
	const char *ctype = resp.content_type ? resp.content_type : DEFAULT_CONTENT_TYPE;
	const char *body = resp.body.data ? resp.body.data : "";
	size_t body_len = resp.body.len;
	const char *extra = resp.headers.data;
	size_t extra_len = resp.headers.len;

	if (resp.body.failed || resp.headers.failed || status < 200 || status > 599) {
		status = 500;
		ctype = DEFAULT_CONTENT_TYPE;
		body = "Internal Server Error\n";
		body_len = strlen(body);
		extra = NULL;
		extra_len = 0;
	}
	bool close = h->close || resp.close;
	queue_response(c, status, ctype, extra, extra_len, body, body_len, is_head, close,
		       h->minor == 0);
	if (close)
		c->close_after = true;

	if (a->resp_body.cap > SHRINK_ABOVE)
		weft_buf_free(&a->resp_body);
}

/*
 * Answer every complete request in c->in, in order, until input runs out or
 * too much output is waiting. Returns the number of requests answered.
 */
static int serve(struct weft_admin *a, struct client *c)
{
	int served = 0;
	struct head h = {.hdr = a->hdr};

	while (!c->close_after && !c->lingering && pending(c) < OUT_HIGH) {
		/* Empty lines before a request line are ignored (RFC 9112 2.2). */
		size_t skip = 0;
		while (skip < c->in.len && (c->in.data[skip] == '\r' || c->in.data[skip] == '\n'))
			skip++;
		if (skip > 0)
			weft_buf_consume(&c->in, skip);
		c->need = 0;
		if (c->in.len == 0)
			break;

		int rc = parse_head(c->in.data, c->in.len, &h);
		if (rc == PARSE_AGAIN)
			break;
		if (rc != PARSE_OK) {
			queue_error(c, rc);
			break;
		}
		size_t total = h.len + h.body_len;
		if (c->in.len < total) {
			c->need = total;
			if (h.expect_continue && !c->continue_sent) {
				weft_buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
				c->continue_sent = true;
			}
			break;
		}
		dispatch(a, c, &h);
		weft_buf_consume(&c->in, total);
		c->continue_sent = false;
		served++;
	}
	if (c->in.len == 0 && c->in.cap > SHRINK_ABOVE)
		weft_buf_free(&c->in);
	if (c->out.failed)
		c->broken = true; /* a truncated response would corrupt the stream */
	return served;
}

/* ---- client I/O --------------------------------------------------------- */

static void client_close(struct weft_admin *a, struct client *c)
{
	close(c->fd);
	weft_buf_free(&c->in);
	weft_buf_free(&c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	a->n_clients--;
}

/* How much input to hold at most: the request being received plus a chunk. */
static size_t read_limit(const struct client *c)
{
	return (c->need ? c->need : WEFT_ADMIN_MAX_HEADER) + READ_CHUNK;
}

static bool wants_input(const struct client *c)
{
	if (c->lingering)
		return true;
	return !c->peer_eof && !c->close_after && pending(c) < OUT_HIGH &&
	       c->in.len < read_limit(c);
}

/* Read what is available. Returns -1 when the client must be dropped. */
static int client_read(struct client *c, int64_t now)
{
	if (c->lingering) {
		char sink[4096];
		for (;;) {
			ssize_t k = recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT);
			if (k > 0)
				continue;
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return 0;
			return -1; /* EOF or error: lingering is over */
		}
	}
	while (!c->peer_eof && c->in.len < read_limit(c)) {
		size_t room = read_limit(c) - c->in.len;
		if (room > READ_CHUNK)
			room = READ_CHUNK;
		if (weft_buf_reserve(&c->in, room) < 0)
			return -1;
		ssize_t k = recv(c->fd, c->in.data + c->in.len, room, MSG_DONTWAIT);
		if (k > 0) {
			c->in.len += (size_t)k;
			c->in.data[c->in.len] = '\0';
			c->last_ms = now;
		} else if (k == 0) {
			c->peer_eof = true;
		} else if (errno == EINTR) {
			continue;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			break;
		} else {
			return -1;
		}
	}
	return 0;
}

/* Write what the socket takes. Returns -1 when the client must be dropped. */
static int client_write(struct client *c, int64_t now)
{
	while (c->out_off < c->out.len) {
		ssize_t k = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (k > 0) {
			c->out_off += (size_t)k;
			c->last_ms = now;
		} else if (k < 0 && errno == EINTR) {
			continue;
		} else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return 0;
		} else {
			return -1;
		}
	}
	c->out_off = 0;
	if (c->out.cap > SHRINK_ABOVE)
		weft_buf_free(&c->out);
	else
		weft_buf_reset(&c->out);
	return 0;
}

/*
 * Read, answer and write for one client until it waits on the network.
 * Returns the number of requests answered; the client may be closed.
 */
static int client_run(struct weft_admin *a, struct client *c, short revents, int64_t now)
{
	int served = 0;

	if (revents & POLLNVAL) {
		client_close(a, c);
		return 0;
	}
	/* On POLLERR or POLLHUP the read or write below reports what happened. */
	if ((revents & (POLLIN | POLLHUP | POLLERR)) && client_read(c, now) < 0) {
		client_close(a, c);
		return 0;
	}
	if (c->lingering) {
		if (now >= c->linger_until) /* keep a flood of input from extending it */
			client_close(a, c);
		return 0;
	}
	for (;;) {
		int k = serve(a, c);
		served += k;
		if (c->broken || client_write(c, now) < 0) {
			client_close(a, c);
			return served;
		}
		/*
		 * serve() stops answering while output piles up; once it is
		 * written, answer the pipelined requests still waiting. Every
		 * round answers one request at least, so this ends.
		 */
		if (k > 0 && pending(c) == 0 && !c->close_after && c->in.len > 0)
			continue;
		break;
	}
	if (pending(c) > 0)
		return served;
	if (c->close_after) {
		/* Half-close and wait for the client's FIN (see the top of the file). */
		shutdown(c->fd, SHUT_WR);
		if (c->peer_eof) {
			client_close(a, c);
		} else {
			c->lingering = true;
			c->linger_until = now + (a->idle_ms < LINGER_MS ? a->idle_ms : LINGER_MS);
			weft_buf_free(&c->in);
		}
	} else if (c->peer_eof) {
		/* Nothing more will come; a partial request is abandoned. */
		client_close(a, c);
	}
	return served;
}

static int64_t client_deadline(const struct weft_admin *a, const struct client *c)
{
	return c->lingering ? c->linger_until : c->last_ms + a->idle_ms;
}

static void expire_clients(struct weft_admin *a, int64_t now)
{
	static const char timeout_resp[] = "HTTP/1.1 408 Request Timeout\r\n"
					   "Content-Type: " DEFAULT_CONTENT_TYPE "\r\n"
					   "Content-Length: 16\r\n"
					   "Connection: close\r\n\r\n"
					   "Request Timeout\n";

	for (unsigned i = 0; i < WEFT_ADMIN_MAX_CLIENTS; i++) {
		struct client *c = &a->clients[i];
		if (c->fd < 0 || now < client_deadline(a, c))
			continue;
		/* Best effort: tell a client that left a partial request why it goes. */
		if (!c->lingering && c->in.len > 0 && pending(c) == 0)
			(void)send(c->fd, timeout_resp, sizeof(timeout_resp) - 1,
				   MSG_DONTWAIT | MSG_NOSIGNAL);
		client_close(a, c);
	}
}

static void accept_clients(struct weft_admin *a, int64_t now)
{
	static const char busy_resp[] = "HTTP/1.1 503 Service Unavailable\r\n"
					"Content-Type: " DEFAULT_CONTENT_TYPE "\r\n"
					"Content-Length: 23\r\n"
					"Connection: close\r\n\r\n"
					"too many admin clients\n";

	for (int n = 0; n < ACCEPT_PER_POLL; n++) {
		int fd = accept4(a->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				/* EMFILE, ENOBUFS...: the socket stays readable; back off. */
				a->accept_resume_ms = now + ACCEPT_PAUSE_MS;
			return;
		}
		if (a->n_clients >= WEFT_ADMIN_MAX_CLIENTS) {
			(void)send(fd, busy_resp, sizeof(busy_resp) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
			shutdown(fd, SHUT_WR);
			close(fd);
			continue;
		}
		for (unsigned i = 0; i < WEFT_ADMIN_MAX_CLIENTS; i++) {
			struct client *c = &a->clients[i];
			if (c->fd >= 0)
				continue;
			memset(c, 0, sizeof(*c));
			c->fd = fd;
			c->last_ms = now;
			a->n_clients++;
			break;
		}
	}
}

/* ---- public API --------------------------------------------------------- */

static bool is_loopback(const struct weft_ip *ip)
{
	static const uint8_t lo6[16] = {[15] = 1};
	static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};

	if (ip->af == 4)
		return (ntohl(ip->v4) >> 24) == 127;
	if (ip->af == 6)
		return memcmp(ip->v6, lo6, 16) == 0 ||
		       (memcmp(ip->v6, mapped, 12) == 0 && ip->v6[12] == 127);
	return false;
}

struct weft_admin *weft_admin_open(const struct weft_admin_cfg *cfg, weft_admin_handler_fn handler,
				   void *ctx, char *err, size_t errlen)
{
	char addr[INET6_ADDRSTRLEN] = "?";
	struct sockaddr_storage ss;
	socklen_t sslen;

	memset(&ss, 0, sizeof(ss));
	if (cfg->addr.af == 4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons(cfg->port);
		sin->sin_addr.s_addr = cfg->addr.v4;
		sslen = sizeof(*sin);
		inet_ntop(AF_INET, &sin->sin_addr, addr, sizeof(addr));
	} else if (cfg->addr.af == 6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(cfg->port);
		memcpy(&sin6->sin6_addr, cfg->addr.v6, 16);
		sslen = sizeof(*sin6);
		inet_ntop(AF_INET6, &sin6->sin6_addr, addr, sizeof(addr));
	} else {
		snprintf(err, errlen, "admin: address family %u is neither 4 nor 6", cfg->addr.af);
		errno = EINVAL;
		return NULL;
	}
	if (handler == NULL) {
		snprintf(err, errlen, "admin: no request handler");
		errno = EINVAL;
		return NULL;
	}
	if (!is_loopback(&cfg->addr)) {
		snprintf(err, errlen,
			 "admin: %s is not a loopback address (the admin API has no authentication)",
			 addr);
		errno = EINVAL;
		return NULL;
	}

	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "admin: socket: %s", strerror(errno));
		return NULL;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));

	char where[INET6_ADDRSTRLEN + 16];
	if (ss.ss_family == AF_INET6)
		snprintf(where, sizeof(where), "[%s]:%u", addr, cfg->port);
	else
		snprintf(where, sizeof(where), "%s:%u", addr, cfg->port);

	if (bind(fd, (struct sockaddr *)&ss, sslen) < 0) {
		int e = errno;
		snprintf(err, errlen, "admin: bind %s: %s", where, strerror(e));
		close(fd);
		errno = e;
		return NULL;
	}
	if (listen(fd, LISTEN_BACKLOG) < 0) {
		int e = errno;
		snprintf(err, errlen, "admin: listen %s: %s", where, strerror(e));
		close(fd);
		errno = e;
		return NULL;
	}
	sslen = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0) {
		int e = errno;
		snprintf(err, errlen, "admin: getsockname %s: %s", where, strerror(e));
		close(fd);
		errno = e;
		return NULL;
	}

	struct weft_admin *a = calloc(1, sizeof(*a));
	if (a == NULL) {
		snprintf(err, errlen, "admin: out of memory");
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	a->lfd = fd;
	a->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						 : ((struct sockaddr_in *)&ss)->sin_port);
	a->handler = handler;
	a->ctx = ctx;
	a->idle_ms = WEFT_ADMIN_IDLE_TIMEOUT_MS;
	for (unsigned i = 0; i < WEFT_ADMIN_MAX_CLIENTS; i++)
		a->clients[i].fd = -1;
	return a;
}

void weft_admin_close(struct weft_admin *a)
{
	if (a == NULL)
		return;
	for (unsigned i = 0; i < WEFT_ADMIN_MAX_CLIENTS; i++)
		if (a->clients[i].fd >= 0)
			client_close(a, &a->clients[i]);
	close(a->lfd);
	weft_buf_free(&a->resp_body);
	weft_buf_free(&a->resp_headers);
	free(a);
}

uint16_t weft_admin_port(const struct weft_admin *a)
{
	return a->port;
}

unsigned weft_admin_clients(const struct weft_admin *a)
{
	return a->n_clients;
}

void weft_admin_set_idle_timeout(struct weft_admin *a, int timeout_ms)
{
	a->idle_ms = timeout_ms > 0 ? timeout_ms : 1;
}

int weft_admin_poll(struct weft_admin *a, int timeout_ms)
{
	struct pollfd pfd[1 + WEFT_ADMIN_MAX_CLIENTS];
	struct client *owner[1 + WEFT_ADMIN_MAX_CLIENTS];
	nfds_t n = 0;
	int64_t now = now_ms();
	int64_t deadline = timeout_ms < 0 ? INT64_MAX : now + timeout_ms;

	if (now >= a->accept_resume_ms) {
		pfd[n] = (struct pollfd){.fd = a->lfd, .events = POLLIN};
		owner[n++] = NULL;
	} else if (a->accept_resume_ms < deadline) {
		deadline = a->accept_resume_ms;
	}
	for (unsigned i = 0; i < WEFT_ADMIN_MAX_CLIENTS; i++) {
		struct client *c = &a->clients[i];
		if (c->fd < 0)
			continue;
		short ev = 0;
		if (wants_input(c))
			ev |= POLLIN;
		if (!c->lingering && pending(c) > 0)
			ev |= POLLOUT;
		pfd[n] = (struct pollfd){.fd = c->fd, .events = ev};
		owner[n++] = c;
		if (client_deadline(a, c) < deadline)
			deadline = client_deadline(a, c);
	}

	/* deadline is at most now + timeout_ms unless timeout_ms is negative. */
	int wait;
	if (deadline == INT64_MAX)
		wait = -1;
	else if (deadline <= now)
		wait = 0;
	else if (deadline - now > INT32_MAX)
		wait = INT32_MAX;
	else
		wait = (int)(deadline - now);

	int rc = poll(pfd, n, wait);
	if (rc < 0)
		return errno == EINTR ? 0 : -1;

	now = now_ms();
	int served = 0;
	bool listen_ready = false;
	for (nfds_t i = 0; i < n && rc > 0; i++) {
		if (pfd[i].revents == 0)
			continue;
		rc--;
		if (owner[i] == NULL)
			listen_ready = true;
		else
			served += client_run(a, owner[i], pfd[i].revents, now);
	}
	expire_clients(a, now);
	if (listen_ready)
		accept_clients(a, now);
	return served;
}

/* ---- request helpers ---------------------------------------------------- */

const char *weft_admin_req_header(const struct weft_admin_req *req, const char *name, size_t *len)
{
	size_t n = strlen(name);
	for (unsigned i = 0; i < req->n_headers; i++) {
		const struct weft_admin_header *h = &req->headers[i];
		if (h->name_len == n && strncasecmp(h->name, name, n) == 0) {
			if (len != NULL)
				*len = h->value_len;
			return h->value;
		}
	}
	return NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int weft_admin_query_param(const struct weft_admin_req *req, const char *name, char *out,
			   size_t outlen)
{
	size_t nlen = strlen(name);
	const char *p = req->query;

	while (*p) {
		const char *end = strchr(p, '&');
		if (end == NULL)
			end = p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(end - p));
		const char *kend = eq ? eq : end;
		if ((size_t)(kend - p) == nlen && memcmp(p, name, nlen) == 0) {
			size_t o = 0;
			for (const char *s = eq ? eq + 1 : end; s < end; s++) {
				char ch = *s;
				if (ch == '+') {
					ch = ' ';
				} else if (ch == '%') {
					if (end - s < 3 || hexval(s[1]) < 0 || hexval(s[2]) < 0)
						return -2;
					ch = (char)(hexval(s[1]) * 16 + hexval(s[2]));
					s += 2;
				}
				if (o + 1 >= outlen)
					return -2;
				out[o++] = ch;
			}
			if (outlen == 0)
				return -2;
			out[o] = '\0';
			return o > INT32_MAX ? -2 : (int)o;
		}
		p = *end ? end + 1 : end;
	}
	return -1;
}
