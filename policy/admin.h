/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The admin API server: a small non-blocking HTTP/1.1 server on loopback,
 * driven by the management thread's loop.
 *
 *     a = weft_admin_open(&cfg->admin, handler, ctx, err, sizeof(err));
 *     for (;;) {
 *             weft_admin_poll(a, 100);  // accepts, reads, calls handler, writes
 *             ...periodic work...
 *     }
 *     weft_admin_close(a);
 *
 * Everything happens inside weft_admin_poll() on the calling thread: the
 * handler runs there, synchronously, one request at a time, so it may touch
 * management-thread state without locks. It must not block.
 *
 * What the server enforces (RFC 9112 where it says so):
 * - request line and headers at most 16 KiB, at most 64 header fields (431);
 * - a Host header on HTTP/1.1 requests (400, RFC 9112 3.2);
 * - bodies by Content-Length only, at most 4 MiB (413); Transfer-Encoding
 *   chunked is refused with 411, any other transfer coding with 501;
 * - "Expect: 100-continue" is answered before the body is read;
 * - persistent connections by default on HTTP/1.1, on HTTP/1.0 only with
 *   "Connection: keep-alive"; "Connection: close" honoured; pipelined
 *   requests are answered in order;
 * - at most 64 clients (a new connection beyond that is closed at once);
 * - a client that neither sends nor takes a byte for 10 s is closed (with a
 *   408 first if it left a partial request);
 * - any malformed request gets 400 and the connection is closed.
 * HEAD is served as GET without the body (the handler sees "GET", is_head set).
 */
#ifndef WEFT_POLICY_ADMIN_H
#define WEFT_POLICY_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/buf.h"
#include "policy/config.h"

#define WEFT_ADMIN_MAX_CLIENTS 64
#define WEFT_ADMIN_MAX_HEADER (16 * 1024)     /* request line + header fields */
#define WEFT_ADMIN_MAX_HEADERS 64              /* header fields per request */
#define WEFT_ADMIN_MAX_BODY (4 * 1024 * 1024)  /* Content-Length limit */
#define WEFT_ADMIN_IDLE_TIMEOUT_MS 10000

struct weft_admin;

struct weft_admin_header {
	const char *name; /* as sent; compare case-insensitively */
	size_t name_len;
	const char *value; /* leading and trailing whitespace removed */
	size_t value_len;
};

/*
 * One request, valid only during the handler call. Strings are
 * NUL-terminated and point into the server's buffer.
 */
struct weft_admin_req {
	const char *method; /* "GET", "POST", ...; "GET" for HEAD requests */
	bool is_head;       /* a HEAD request: the body the handler writes is not sent */
	const char *path;   /* request target before '?', as sent (not percent-decoded) */
	const char *query;  /* after '?', "" when there is none (not percent-decoded) */
	const char *body;   /* Content-Length bytes (followed by a NUL); "" when none */
	size_t body_len;
	unsigned minor_version; /* HTTP/1.<minor_version> */
	unsigned n_headers;
	const struct weft_admin_header *headers;
};

/*
 * The handler's answer. The server initialises it to 200, text/plain, an
 * empty body, and sends whatever the handler leaves in it.
 */
struct weft_admin_resp {
	int status;               /* 100..599; anything else is sent as 500 */
	const char *content_type; /* must outlive the handler call (a literal) */
	struct weft_buf body;
	struct weft_buf headers;  /* extra header lines, see weft_admin_resp_header() */
	bool close;               /* close the connection after this response */
};

/**
 * Called once per complete request, from weft_admin_poll().
 * Fill resp; set resp->status to 404 for paths it does not serve and 405
 * (with an Allow header) for methods it does not accept.
 */
typedef void (*weft_admin_handler_fn)(const struct weft_admin_req *req,
				      struct weft_admin_resp *resp, void *ctx);

/**
 * Listen on cfg->addr:cfg->port (port 0 picks a free port, see
 * weft_admin_port()). The address must be a loopback address: the API
 * carries no authentication.
 *
 * @return the server, or NULL with a message in err
 */
struct weft_admin *weft_admin_open(const struct weft_admin_cfg *cfg, weft_admin_handler_fn handler,
				   void *ctx, char *err, size_t errlen);

/** Close the listening socket and every client. NULL is accepted. */
void weft_admin_close(struct weft_admin *a);

/**
 * Wait up to timeout_ms (0: do not wait; negative: until something happens)
 * for activity, then accept new clients, read, answer complete requests
 * through the handler, write pending responses and expire idle clients.
 * Never blocks longer than timeout_ms.
 *
 * @return the number of requests answered, or -1 with errno set if poll()
 *         failed (EINTR is not a failure: it returns 0)
 */
int weft_admin_poll(struct weft_admin *a, int timeout_ms);

/** The port the server listens on, in host byte order. */
uint16_t weft_admin_port(const struct weft_admin *a);

/** Number of connected clients. */
unsigned weft_admin_clients(const struct weft_admin *a);

/** Change the idle timeout (default WEFT_ADMIN_IDLE_TIMEOUT_MS); applies at once. */
void weft_admin_set_idle_timeout(struct weft_admin *a, int timeout_ms);

/**
 * Find a request header by name (case-insensitive).
 * @return its value (not NUL-terminated) with *len set, or NULL
 */
const char *weft_admin_req_header(const struct weft_admin_req *req, const char *name, size_t *len);

/**
 * Find query parameter `name` in req->query ("a=1&b=x%20y"), percent-decode
 * it ('+' as space) into out, NUL-terminated.
 * @return the decoded length, 0 for a parameter without value ("?a" or "?a="),
 *         -1 when absent, or -2 when it does not fit in out or is malformed
 */
int weft_admin_query_param(const struct weft_admin_req *req, const char *name, char *out,
			   size_t outlen);

/** Add a header line "Name: value" to the response (e.g. Allow, Location). */
int weft_admin_resp_header(struct weft_admin_resp *resp, const char *name, const char *value);

/** Reason phrase for a status code ("Not Found"); "Unknown" for others. */
const char *weft_admin_status_text(int status);

#endif
