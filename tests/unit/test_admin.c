/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The admin HTTP server, driven from this process: client sockets send
 * requests while the test loops weft_admin_poll() until the answer arrives.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "policy/admin.h"
#include "policy/buf.h"

#define WAIT_MS 30000 /* give up on any single expectation after this (valgrind is slow) */

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned count_fds(void)
{
	unsigned n = 0;
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL)
		return 0;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* ---- the handler under test ------------------------------------------------ */

struct seen {
	unsigned calls;
	char method[16];
	bool is_head;
	char path[256];
	char query[256];
	char ctype[64];
	unsigned minor;
	size_t body_len;
	bool body_nul_terminated;
	uint64_t body_sum;
};

static uint64_t checksum(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
	return h;
}

static void handler(const struct weft_admin_req *req, struct weft_admin_resp *resp, void *ctx)
{
	struct seen *s = ctx;
	char v[256];

	s->calls++;
	snprintf(s->method, sizeof(s->method), "%s", req->method);
	s->is_head = req->is_head;
	snprintf(s->path, sizeof(s->path), "%s", req->path);
	snprintf(s->query, sizeof(s->query), "%s", req->query);
	size_t n;
	const char *ct = weft_admin_req_header(req, "content-type", &n);
	snprintf(s->ctype, sizeof(s->ctype), "%.*s", ct ? (int)n : 0, ct ? ct : "");
	s->minor = req->minor_version;
	s->body_len = req->body_len;
	s->body_nul_terminated = req->body[req->body_len] == '\0';
	s->body_sum = checksum(req->body, req->body_len);

	if (strcmp(req->path, "/hello") == 0) {
		weft_buf_puts(&resp->body, "hello\n");
	} else if (strcmp(req->path, "/echo") == 0) {
		if (strcmp(req->method, "POST") != 0) {
			resp->status = 405;
			weft_admin_resp_header(resp, "Allow", "POST");
			return;
		}
		resp->content_type = "application/octet-stream";
		weft_buf_append(&resp->body, req->body, req->body_len);
	} else if (strcmp(req->path, "/big") == 0) {
		long len = 0;
		if (weft_admin_query_param(req, "n", v, sizeof(v)) > 0)
			len = strtol(v, NULL, 10);
		if (weft_buf_reserve(&resp->body, (size_t)len) < 0)
			return;
		for (long i = 0; i < len; i++)
			resp->body.data[i] = (char)('a' + i % 26);
		resp->body.len = (size_t)len;
		resp->body.data[len] = '\0';
	} else if (strcmp(req->path, "/close") == 0) {
		resp->close = true;
		weft_buf_puts(&resp->body, "bye\n");
	} else if (strcmp(req->path, "/status") == 0) {
		resp->status = weft_admin_query_param(req, "code", v, sizeof(v)) > 0 ? atoi(v) : 0;
	} else if (strcmp(req->path, "/hdr") == 0) {
		assert_int_equal(weft_admin_resp_header(resp, "X-Test", "yes"), 0);
		assert_int_equal(weft_admin_resp_header(resp, "X-Evil", "a\r\nSet-Cookie: x"), -1);
		assert_int_equal(weft_admin_resp_header(resp, "Bad Name", "v"), -1);
		assert_int_equal(weft_admin_resp_header(resp, "", "v"), -1);
	} else {
		resp->status = 404;
		weft_buf_puts(&resp->body, "no such path\n");
	}
}

/* ---- a test client ----------------------------------------------------------- */

struct cli {
	int fd;
	struct weft_buf in;
	bool eof;   /* orderly close or reset seen */
	bool reset; /* the close was a reset */
};

struct resp {
	int status;
	char head[16384];
	size_t clen;
	bool has_clen;
	char *body;
	size_t body_len;
};

static struct cli *cli_open_af(int af, uint16_t port)
{
	struct cli *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof(ss));
	if (af == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		s6->sin6_addr = in6addr_loopback;
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*s4);
	}
	/* A blocking connect completes through the listen backlog, no accept needed. */
	c->fd = socket(af, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->fd >= 0);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&ss, len), 0);
	weft_buf_init(&c->in);
	return c;
}

static struct cli *cli_open(struct weft_admin *a)
{
	return cli_open_af(AF_INET, weft_admin_port(a));
}

static void cli_close(struct cli *c)
{
	if (c == NULL)
		return;
	close(c->fd);
	weft_buf_free(&c->in);
	free(c);
}

static void cli_read(struct cli *c)
{
	char tmp[65536];
	for (;;) {
		ssize_t k = recv(c->fd, tmp, sizeof(tmp), MSG_DONTWAIT);
		if (k > 0) {
			weft_buf_append(&c->in, tmp, (size_t)k);
			continue;
		}
		if (k == 0) {
			c->eof = true;
		} else if (errno == ECONNRESET) {
			c->eof = true;
			c->reset = true;
		} else {
			assert_true(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
		}
		return;
	}
}

/* Send all of [p, p+n), polling the server whenever the socket is full. */
static void cli_send(struct weft_admin *a, struct cli *c, const void *p, size_t n)
{
	const char *s = p;
	int64_t end = now_ms() + WAIT_MS;
	while (n > 0) {
		ssize_t k = send(c->fd, s, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (k > 0) {
			s += k;
			n -= (size_t)k;
			continue;
		}
		assert_true(k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
		assert_true(weft_admin_poll(a, 1) >= 0);
		assert_true(now_ms() < end);
	}
}

static void cli_sends(struct weft_admin *a, struct cli *c, const char *s)
{
	cli_send(a, c, s, strlen(s));
}

/* Try to take one complete response off c->in. */
static bool take_response(struct cli *c, struct resp *r, bool head_request)
{
	char *eoh = c->in.data ? strstr(c->in.data, "\r\n\r\n") : NULL;
	if (eoh == NULL)
		return false;
	size_t hlen = (size_t)(eoh - c->in.data) + 4;
	assert_true(hlen < sizeof(r->head));
	memcpy(r->head, c->in.data, hlen);
	r->head[hlen] = '\0';
	assert_int_equal(strncmp(r->head, "HTTP/1.1 ", 9), 0);
	int status = atoi(r->head + 9);
	const char *cl = strstr(r->head, "\r\nContent-Length: ");
	size_t clen = cl ? strtoul(cl + 18, NULL, 10) : 0;
	bool bodyless = head_request || status == 204 || status == 304 || status < 200;
	size_t blen = bodyless ? 0 : clen;
	if (c->in.len < hlen + blen)
		return false;

	r->status = status;
	r->has_clen = cl != NULL;
	r->clen = clen;
	r->body = malloc(blen + 1);
	assert_non_null(r->body);
	memcpy(r->body, c->in.data + hlen, blen);
	r->body[blen] = '\0';
	r->body_len = blen;
	weft_buf_consume(&c->in, hlen + blen);
	return true;
}

/* Poll the server until a whole response arrived; false if the connection ended first. */
static bool cli_response_ex(struct weft_admin *a, struct cli *c, struct resp *r, bool head)
{
	int64_t end = now_ms() + WAIT_MS;
	memset(r, 0, sizeof(*r));
	for (;;) {
		cli_read(c);
		if (take_response(c, r, head))
			return true;
		if (c->eof)
			return false;
		if (now_ms() > end)
			fail_msg("no response within %d ms", WAIT_MS);
		assert_true(weft_admin_poll(a, 5) >= 0);
	}
}

static bool cli_response(struct weft_admin *a, struct cli *c, struct resp *r)
{
	return cli_response_ex(a, c, r, false);
}

static void resp_free(struct resp *r)
{
	free(r->body);
	r->body = NULL;
}

/* Poll until the server closed the connection (and nothing else arrived). */
static void cli_expect_closed(struct weft_admin *a, struct cli *c)
{
	int64_t end = now_ms() + WAIT_MS;
	while (!c->eof) {
		assert_true(now_ms() < end);
		assert_true(weft_admin_poll(a, 5) >= 0);
		cli_read(c);
	}
	assert_int_equal(c->in.len, 0);
}

/* Poll until the server's client count reaches n. */
static void wait_clients(struct weft_admin *a, unsigned n)
{
	int64_t end = now_ms() + WAIT_MS;
	while (weft_admin_clients(a) != n) {
		if (now_ms() > end)
			fail_msg("%u clients, expected %u", weft_admin_clients(a), n);
		assert_true(weft_admin_poll(a, 5) >= 0);
	}
}

static bool has_header(const struct resp *r, const char *line)
{
	char needle[256];
	snprintf(needle, sizeof(needle), "\r\n%s\r\n", line);
	return strstr(r->head, needle) != NULL;
}

/* ---- fixture ------------------------------------------------------------------ */

struct fx {
	struct weft_admin *a;
	struct seen seen;
	unsigned fds_before;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char err[256] = "";
	struct weft_admin_cfg cfg = {.addr = {.af = 4, .v4 = htonl(INADDR_LOOPBACK)}, .port = 0};

	assert_non_null(f);
	f->fds_before = count_fds();
	f->a = weft_admin_open(&cfg, handler, &f->seen, err, sizeof(err));
	if (f->a == NULL)
		fail_msg("open: %s", err);
	assert_true(weft_admin_port(f->a) != 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	weft_admin_close(f->a);
	/* Every socket the server and the test opened is closed again. */
	assert_int_equal(count_fds(), f->fds_before);
	free(f);
	return 0;
}

/* One request on a fresh connection; returns the response. */
static void one_shot(struct fx *f, const char *req, struct resp *r)
{
	struct cli *c = cli_open(f->a);
	cli_sends(f->a, c, req);
	assert_true(cli_response(f->a, c, r));
	cli_close(c);
}

/* ---- tests ---------------------------------------------------------------------- */

static void test_get(void **state)
{
	struct fx *f = *state;
	struct resp r;
	struct cli *c = cli_open(f->a);

	cli_sends(f->a, c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(cli_response(f->a, c, &r));
	assert_int_equal(r.status, 200);
	assert_int_equal(strncmp(r.head, "HTTP/1.1 200 OK\r\n", 17), 0);
	assert_true(has_header(&r, "Content-Length: 6"));
	assert_true(has_header(&r, "Content-Type: text/plain; charset=utf-8"));
	assert_false(has_header(&r, "Connection: close"));
	assert_string_equal(r.body, "hello\n");
	assert_int_equal(f->seen.calls, 1);
	assert_string_equal(f->seen.method, "GET");
	assert_string_equal(f->seen.path, "/hello");
	assert_string_equal(f->seen.query, "");
	assert_int_equal(f->seen.minor, 1);
	assert_int_equal(f->seen.body_len, 0);
	assert_true(f->seen.body_nul_terminated);
	resp_free(&r);
	assert_int_equal(weft_admin_clients(f->a), 1);
	cli_close(c);
	wait_clients(f->a, 0);
}

static void test_not_found_and_405(void **state)
{
	struct fx *f = *state;
	struct resp r;

	one_shot(f, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 404);
	assert_int_equal(strncmp(r.head, "HTTP/1.1 404 Not Found\r\n", 24), 0);
	assert_string_equal(r.body, "no such path\n");
	resp_free(&r);

	one_shot(f, "DELETE /echo HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 405);
	assert_true(has_header(&r, "Allow: POST"));
	assert_string_equal(f->seen.method, "DELETE");
	resp_free(&r);
	wait_clients(f->a, 0);
}

static void test_query_split(void **state)
{
	struct fx *f = *state;
	struct resp r;

	one_shot(f, "GET /status?code=201&x=a%20b+c&flag HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 201);
	assert_string_equal(f->seen.path, "/status");
	assert_string_equal(f->seen.query, "code=201&x=a%20b+c&flag");
	resp_free(&r);

	/* The query helper itself. */
	struct weft_admin_req req = {.query = "code=201&x=a%20b+c&flag&e=&bad=%zz&long=abcdefgh&fit=abcdefg"};
	char v[8];
	assert_int_equal(weft_admin_query_param(&req, "code", v, sizeof(v)), 3);
	assert_string_equal(v, "201");
	assert_int_equal(weft_admin_query_param(&req, "x", v, sizeof(v)), 5);
	assert_string_equal(v, "a b c");
	assert_int_equal(weft_admin_query_param(&req, "flag", v, sizeof(v)), 0);
	assert_string_equal(v, "");
	assert_int_equal(weft_admin_query_param(&req, "e", v, sizeof(v)), 0);
	assert_int_equal(weft_admin_query_param(&req, "co", v, sizeof(v)), -1);
	assert_int_equal(weft_admin_query_param(&req, "missing", v, sizeof(v)), -1);
	assert_int_equal(weft_admin_query_param(&req, "bad", v, sizeof(v)), -2);
	assert_int_equal(weft_admin_query_param(&req, "long", v, sizeof(v)), -2);
	assert_int_equal(weft_admin_query_param(&req, "fit", v, sizeof(v)), 7);
	assert_string_equal(v, "abcdefg");
	req.query = "";
	assert_int_equal(weft_admin_query_param(&req, "code", v, sizeof(v)), -1);
}

static void test_keepalive(void **state)
{
	struct fx *f = *state;
	struct resp r;
	struct cli *c = cli_open(f->a);

	for (int i = 0; i < 3; i++) {
		cli_sends(f->a, c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
		assert_true(cli_response(f->a, c, &r));
		assert_int_equal(r.status, 200);
		assert_string_equal(r.body, "hello\n");
		resp_free(&r);
	}
	assert_int_equal(f->seen.calls, 3);
	assert_int_equal(weft_admin_clients(f->a), 1);
	cli_close(c);
	wait_clients(f->a, 0);
}

static void test_pipelined(void **state)
{
	struct fx *f = *state;
	struct resp r;
	struct cli *c = cli_open(f->a);

	cli_sends(f->a, c,
		  "GET /status?code=202 HTTP/1.1\r\nHost: x\r\n\r\n"
		  "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde"
		  "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(cli_response(f->a, c, &r));
	assert_int_equal(r.status, 202);
	resp_free(&r);
	assert_true(cli_response(f->a, c, &r));
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "abcde");
	resp_free(&r);
	assert_true(cli_response(f->a, c, &r));
	assert_string_equal(r.body, "hello\n");
	resp_free(&r);
	assert_int_equal(f->seen.calls, 3);
	cli_close(c);
	wait_clients(f->a, 0);
}

/* Pipelined requests whose answers exceed what the server buffers at once. */
static void test_pipelined_large(void **state)
{
	struct fx *f = *state;
	struct resp r;
	struct cli *c = cli_open(f->a);
	struct weft_buf req = WEFT_BUF_INIT;

	for (int i = 0; i < 40; i++)
		weft_buf_puts(&req, "GET /big?n=100000 HTTP/1.1\r\nHost: x\r\n\r\n");
	cli_send(f->a, c, req.data, req.len);
	weft_buf_free(&req);
	for (int i = 0; i < 40; i++) {
		assert_true(cli_response(f->a, c, &r));
		assert_int_equal(r.status, 200);
		assert_int_equal(r.body_len, 100000);
		assert_int_equal(r.body[99999], 'a' + 99999 % 26);
		resp_free(&r);
	}
	assert_int_equal(f->seen.calls, 40);
	cli_close(c);
	wait_clients(f->a, 0);
}

/* A response much larger than the socket buffers: written in many parts. */
static void test_large_response(void **state)
{
	struct fx *f = *state;
	struct resp r;
	struct cli *c = cli_open(f->a);

	cli_sends(f->a, c, "GET /big?n=8000000 HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(cli_response(f->a, c, &r));
	assert_int_equal(r.body_len, 8000000);
	for (size_t i = 0; i < r.body_len; i += 99991)
		assert_int_equal(r.body[i], 'a' + i % 26);
	resp_free(&r);
	/* The connection is still usable. */
	cli_sends(f->a, c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(cli_response(f->a, c, &r));
	assert_string_equal(r.body, "hello\n");
	resp_free(&r);
	cli_close(c);
	wait_clients(f->a, 0);
}

static void test_connection_close(void **state)
{
	struct fx *f = *state;
	struct resp r;
	struct cli *c = cli_open(f->a);

	/* Requests behind the closing one are not answered. */
	cli_sends(f->a, c,
		  "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: Keep-Alive, Close\r\n\r\n"
		  "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(cli_response(f->a, c, &r));
	assert_int_equal(r.status, 200);
	assert_true(has_header(&r, "Connection: close"));
	resp_free(&r);
	cli_expect_closed(f->a, c);
	assert_false(c->reset);
	assert_int_equal(f->seen.calls, 1);
	cli_close(c);
	wait_clients(f->a, 0);

	/* The handler can ask for the close too. */
	c = cli_open(f->a);
	cli_sends(f->a, c, "GET /close HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(cli_response(f->a, c, &r));
	assert_true(has_header(&r, "Connection: close"));
	assert_string_equal(r.body, "bye\n");
	resp_free(&r);
	cli_expect_closed(f->a, c);
	cli_close(c);
	wait_clients(f->a, 0);
}

static void test_http10(void **state)
{
	struct fx *f = *state;
	struct resp r;
	struct cli *c = cli_open(f->a);

	/* HTTP/1.0 needs no Host and closes by default. */
	cli_sends(f->a, c, "GET /hello HTTP/1.0\r\n\r\n");
	assert_true(cli_response(f->a, c, &r));
	assert_int_equal(r.status, 200);
	assert_true(has_header(&r, "Connection: close"));
	assert_int_equal(f->seen.minor, 0);
	resp_free(&r);
	cli_expect_closed(f->a, c);
	cli_close(c);

	c = cli_open(f->a);
	for (int i = 0; i < 2; i++) {
		cli_sends(f->a, c, "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
		assert_true(cli_response(f->a, c, &r));
		assert_true(has_header(&r, "Connection: keep-alive"));
		resp_free(&r);
	}
	cli_close(c);
	wait_clients(f->a, 0);
}

static void test_head(void **state)
{
	struct fx *f = *state;
	struct resp r;
	struct cli *c = cli_open(f->a);

	cli_sends(f->a, c, "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(cli_response_ex(f->a, c, &r, true));
	assert_int_equal(r.status, 200);
	assert_true(has_header(&r, "Content-Length: 6"));
	assert_string_equal(f->seen.method, "GET");
	assert_true(f->seen.is_head);
	resp_free(&r);
	/* No body bytes followed: the next response starts right away. */
	cli_sends(f->a, c, "GET /status?code=203 HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(cli_response(f->a, c, &r));
	assert_int_equal(r.status, 203);
	resp_free(&r);
	cli_close(c);
	wait_clients(f->a, 0);
}

static void test_post_body(void **state)
{
	struct fx *f = *state;
	struct resp r;
	struct cli *c = cli_open(f->a);

	cli_sends(f->a, c,
		  "POST /echo?v=1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/yaml\r\n"
		  "Content-Length: 11\r\n\r\n");
	/* Body in two parts, with polls between them. */
	for (int i = 0; i < 5; i++)
		assert_int_equal(weft_admin_poll(f->a, 2), 0);
	cli_sends(f->a, c, "ports: ");
	for (int i = 0; i < 5; i++)
		assert_int_equal(weft_admin_poll(f->a, 2), 0);
	cli_sends(f->a, c, "[]\n\n");
	assert_true(cli_response(f->a, c, &r));
	assert_int_equal(r.status, 200);
	assert_true(has_header(&r, "Content-Type: application/octet-stream"));
	assert_string_equal(r.body, "ports: []\n\n");
	assert_string_equal(f->seen.method, "POST");
	assert_string_equal(f->seen.path, "/echo");
	assert_string_equal(f->seen.query, "v=1");
	assert_string_equal(f->seen.ctype, "application/yaml");
	assert_int_equal(f->seen.body_len, 11);
	assert_true(f->seen.body_nul_terminated);
	resp_free(&r);
	cli_close(c);
	wait_clients(f->a, 0);
}

static void test_body_at_limit(void **state)
{
	struct fx *f = *state;
	struct resp r;
	struct cli *c = cli_open(f->a);
	size_t n = WEFT_ADMIN_MAX_BODY;
	char *body = malloc(n);
	char head[128];

	assert_non_null(body);
	for (size_t i = 0; i < n; i++)
		body[i] = (char)(i * 7 + i / 251);
	snprintf(head, sizeof(head), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n",
		 n);
	cli_sends(f->a, c, head);
	cli_send(f->a, c, body, n);
	assert_true(cli_response(f->a, c, &r));
	assert_int_equal(r.status, 200);
	assert_int_equal(f->seen.body_len, n);
	assert_true(f->seen.body_sum == checksum(body, n));
	assert_int_equal(r.body_len, n);
	assert_memory_equal(r.body, body, n);
	resp_free(&r);
	free(body);
	cli_close(c);
	wait_clients(f->a, 0);
}

static void test_body_too_large(void **state)
{
	struct fx *f = *state;
	struct resp r;
	struct cli *c = cli_open(f->a);
	char head[128];

	snprintf(head, sizeof(head), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n",
		 WEFT_ADMIN_MAX_BODY + 1);
	cli_sends(f->a, c, head);
	/* The client keeps uploading; the 413 must still reach it. */
	char chunk[65536];
	memset(chunk, 'x', sizeof(chunk));
	for (int i = 0; i < 8; i++)
		cli_send(f->a, c, chunk, sizeof(chunk));
	assert_true(cli_response(f->a, c, &r));
	assert_int_equal(r.status, 413);
	assert_true(has_header(&r, "Connection: close"));
	resp_free(&r);
	assert_int_equal(f->seen.calls, 0);
	cli_expect_closed(f->a, c);
	cli_close(c);
	wait_clients(f->a, 0);
}

static void test_expect_continue(void **state)
{
	struct fx *f = *state;
	struct resp r;
	struct cli *c = cli_open(f->a);

	cli_sends(f->a, c,
		  "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n");
	assert_true(cli_response(f->a, c, &r));
	assert_int_equal(r.status, 100);
	assert_string_equal(r.head, "HTTP/1.1 100 Continue\r\n\r\n");
	resp_free(&r);
	cli_sends(f->a, c, "abc");
	assert_true(cli_response(f->a, c, &r));
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "abc");
	resp_free(&r);
	cli_close(c);

	/* Body sent along anyway: no interim response then. */
	c = cli_open(f->a);
	cli_sends(f->a, c, "POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
			   "Content-Length: 3\r\n\r\nxyz");
	assert_true(cli_response(f->a, c, &r));
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "xyz");
	resp_free(&r);
	cli_close(c);
	wait_clients(f->a, 0);
}

/* Requests the server refuses by itself, then closes the connection. */
static void test_refused_requests(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *req;
		int status;
	} cases[] = {
		{"garbage\r\n\r\n", 400},
		{"\x16\x03\x01\x02\x10\x01\x10\x01\xfc\x03\x03", 400}, /* like a TLS ClientHello */
		{" GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"GET hello HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"GET http://x/hello HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"GET /hello HTTP/1.1 \r\nHost: x\r\n\r\n", 400},
		{"GET /hello HTTX/1.1\r\nHost: x\r\n\r\n", 400},
		{"GET /hello HTTP/1.12\r\nHost: x\r\n\r\n", 400},
		{"GET /he\x01llo HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"GET /hello HTTP/2.0\r\nHost: x\r\n\r\n", 505},
		{"GET /hello HTTP/1.1\r\n\r\n", 400},                              /* no Host */
		{"GET /hello HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400},
		{"GET /hello HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n", 400},
		{"GET /hello HTTP/1.1\r\nHost: x\r\nName : v\r\n\r\n", 400},
		{"GET /hello HTTP/1.1\r\nHost: x\r\nA: b\r\n  folded\r\n\r\n", 400},
		{"GET /hello HTTP/1.1\r\nHost: x\r\n: empty\r\n\r\n", 400},
		{"GET /hello HTTP/1.1\r\nHost: x\r\nA: b\rc\r\n\r\n", 400},
		{"GET /hello HTTP/1.1\r\nHost: x\r\nA: \x01\r\n\r\n", 400},
		{"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400},
		{"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400},
		{"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1 2\r\n\r\n", 400},
		{"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
		 400},
		{"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
		 400},
		{"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n", 413},
		{"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", 411},
		{"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
		{"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 1\r\n\r\nx", 417},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct resp r;
		struct cli *c = cli_open(f->a);
		cli_sends(f->a, c, cases[i].req);
		if (!cli_response(f->a, c, &r))
			fail_msg("case %zu: no response", i);
		if (r.status != cases[i].status)
			fail_msg("case %zu: status %d, expected %d", i, r.status, cases[i].status);
		assert_true(has_header(&r, "Connection: close"));
		assert_true(r.has_clen);
		assert_int_equal(r.clen, r.body_len);
		resp_free(&r);
		cli_expect_closed(f->a, c);
		cli_close(c);
	}
	assert_int_equal(f->seen.calls, 0);
	wait_clients(f->a, 0);
}

static void test_lenient_framing(void **state)
{
	struct fx *f = *state;
	struct resp r;
	struct cli *c = cli_open(f->a);

	/* Empty lines before a request, bare LF line ends, odd header case and spacing. */
	cli_sends(f->a, c, "\r\n\r\nGET /hello HTTP/1.1\nhOsT:x\ncontent-TYPE: \t a/b \t\n\n");
	assert_true(cli_response(f->a, c, &r));
	assert_int_equal(r.status, 200);
	assert_string_equal(f->seen.ctype, "a/b");
	resp_free(&r);
	cli_close(c);
	wait_clients(f->a, 0);
}

static void test_oversized_headers(void **state)
{
	struct fx *f = *state;
	struct resp r;
	struct weft_buf req = WEFT_BUF_INIT;
	char filler[1001];

	memset(filler, 'v', 1000);
	filler[1000] = '\0';

	/* Just under the limit: accepted. */
	weft_buf_puts(&req, "GET /hello HTTP/1.1\r\nHost: x\r\n");
	for (int i = 0; i < 15; i++)
		weft_buf_printf(&req, "X-F%d: %s\r\n", i, filler);
	weft_buf_puts(&req, "\r\n");
	assert_true(req.len < WEFT_ADMIN_MAX_HEADER);
	one_shot(f, req.data, &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);

	/* Over it, in one field, ending or not. */
	for (int variant = 0; variant < 2; variant++) {
		weft_buf_reset(&req);
		weft_buf_puts(&req, "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: ");
		for (int i = 0; i < 20; i++)
			weft_buf_puts(&req, filler);
		if (variant == 1)
			weft_buf_puts(&req, "\r\n\r\n");
		struct cli *c = cli_open(f->a);
		cli_send(f->a, c, req.data, req.len);
		assert_true(cli_response(f->a, c, &r));
		assert_int_equal(r.status, 431);
		resp_free(&r);
		cli_expect_closed(f->a, c);
		cli_close(c);
	}

	/* Too many fields. */
	weft_buf_reset(&req);
	weft_buf_puts(&req, "GET /hello HTTP/1.1\r\nHost: x\r\n");
	for (int i = 0; i < WEFT_ADMIN_MAX_HEADERS; i++)
		weft_buf_printf(&req, "X-%d: 1\r\n", i);
	weft_buf_puts(&req, "\r\n");
	one_shot(f, req.data, &r);
	assert_int_equal(r.status, 431);
	resp_free(&r);

	/* An endless request line. */
	weft_buf_reset(&req);
	weft_buf_puts(&req, "GET /");
	for (int i = 0; i < 20; i++)
		weft_buf_puts(&req, filler);
	one_shot(f, req.data, &r);
	assert_int_equal(r.status, 414);
	resp_free(&r);

	weft_buf_free(&req);
	assert_int_equal(f->seen.calls, 1);
	wait_clients(f->a, 0);
}

static void test_handler_status_edge_cases(void **state)
{
	struct fx *f = *state;
	struct resp r;
	struct cli *c = cli_open(f->a);

	cli_sends(f->a, c, "GET /status?code=0 HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(cli_response(f->a, c, &r));
	assert_int_equal(r.status, 500);
	resp_free(&r);
	cli_sends(f->a, c, "GET /status?code=99 HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(cli_response(f->a, c, &r));
	assert_int_equal(r.status, 500);
	resp_free(&r);
	cli_sends(f->a, c, "GET /status?code=204 HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(cli_response(f->a, c, &r));
	assert_int_equal(r.status, 204);
	assert_false(r.has_clen);
	resp_free(&r);
	cli_sends(f->a, c, "GET /status?code=599 HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(cli_response(f->a, c, &r));
	assert_int_equal(strncmp(r.head, "HTTP/1.1 599 Unknown\r\n", 22), 0);
	resp_free(&r);
	cli_sends(f->a, c, "GET /hdr HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(cli_response(f->a, c, &r));
	assert_true(has_header(&r, "X-Test: yes"));
	assert_null(strstr(r.head, "Set-Cookie"));
	assert_null(strstr(r.head, "X-Evil"));
	resp_free(&r);
	/* Extra headers do not leak into the next response. */
	cli_sends(f->a, c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(cli_response(f->a, c, &r));
	assert_null(strstr(r.head, "X-Test"));
	resp_free(&r);
	cli_close(c);
	wait_clients(f->a, 0);

	assert_string_equal(weft_admin_status_text(413), "Content Too Large");
	assert_string_equal(weft_admin_status_text(431), "Request Header Fields Too Large");
}

/* Clients vanishing at every stage leave nothing behind (fds are checked in teardown). */
static void test_disconnects(void **state)
{
	struct fx *f = *state;
	static const char *const partial[] = {
		"",
		"GET /hel",
		"GET /hello HTTP/1.1\r\nHost:",
		"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly some",
		"POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n",
	};

	for (int hard = 0; hard < 2; hard++) {
		for (size_t i = 0; i < sizeof(partial) / sizeof(partial[0]); i++) {
			struct cli *c = cli_open(f->a);
			cli_sends(f->a, c, partial[i]);
			for (int k = 0; k < 3; k++)
				assert_true(weft_admin_poll(f->a, 1) >= 0);
			if (hard) {
				/* Abortive close: the server sees a reset. */
				struct linger lg = {.l_onoff = 1, .l_linger = 0};
				setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			}
			cli_close(c);
			wait_clients(f->a, 0);
		}
	}

	/* Gone while a large response is being written. */
	struct cli *c = cli_open(f->a);
	cli_sends(f->a, c, "GET /big?n=4000000 HTTP/1.1\r\nHost: x\r\n\r\n");
	for (int k = 0; k < 3; k++)
		assert_true(weft_admin_poll(f->a, 1) >= 0);
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	cli_close(c);
	wait_clients(f->a, 0);

	/* Half-close after a complete request: answered, then closed. */
	c = cli_open(f->a);
	cli_sends(f->a, c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	shutdown(c->fd, SHUT_WR);
	struct resp r;
	assert_true(cli_response(f->a, c, &r));
	assert_string_equal(r.body, "hello\n");
	resp_free(&r);
	cli_expect_closed(f->a, c);
	cli_close(c);
	wait_clients(f->a, 0);

	/* The server still works. */
	one_shot(f, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", &r);
	assert_int_equal(r.status, 200);
	resp_free(&r);
	wait_clients(f->a, 0);
}

static void test_client_limit(void **state)
{
	struct fx *f = *state;
	enum { N = WEFT_ADMIN_MAX_CLIENTS + 1 };
	struct cli *c[N];
	struct resp r;

	for (int i = 0; i < N; i++)
		c[i] = cli_open(f->a);
	wait_clients(f->a, WEFT_ADMIN_MAX_CLIENTS);
	/* Give the server the chance to (wrongly) take one more. */
	for (int k = 0; k < 5; k++)
		assert_true(weft_admin_poll(f->a, 2) >= 0);
	assert_int_equal(weft_admin_clients(f->a), WEFT_ADMIN_MAX_CLIENTS);

	/* The one beyond the limit was closed, after a 503 at most. */
	int refused = -1;
	int64_t end = now_ms() + WAIT_MS;
	while (refused < 0) {
		assert_true(now_ms() < end);
		assert_true(weft_admin_poll(f->a, 2) >= 0);
		for (int i = 0; i < N; i++) {
			cli_read(c[i]);
			if (c[i]->eof) {
				assert_int_equal(refused, -1);
				refused = i;
			}
		}
	}
	if (take_response(c[refused], &r, false)) {
		assert_int_equal(r.status, 503);
		assert_string_equal(r.body, "too many admin clients\n");
		resp_free(&r);
	}
	cli_close(c[refused]);
	c[refused] = NULL;

	for (int i = 0; i < N; i++) {
		if (c[i] == NULL)
			continue;
		cli_sends(f->a, c[i], "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
		assert_true(cli_response(f->a, c[i], &r));
		assert_int_equal(r.status, 200);
		resp_free(&r);
	}
	assert_int_equal(f->seen.calls, WEFT_ADMIN_MAX_CLIENTS);

	/* A slot freed is a slot for the next client. */
	int victim = refused == 0 ? 1 : 0;
	cli_close(c[victim]);
	c[victim] = NULL;
	wait_clients(f->a, WEFT_ADMIN_MAX_CLIENTS - 1);
	struct cli *extra = cli_open(f->a);
	cli_sends(f->a, extra, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(cli_response(f->a, extra, &r));
	assert_int_equal(r.status, 200);
	resp_free(&r);
	cli_close(extra);
	for (int i = 0; i < N; i++)
		cli_close(c[i]);
	wait_clients(f->a, 0);
}

static void test_idle_timeout(void **state)
{
	struct fx *f = *state;
	struct resp r;

	weft_admin_set_idle_timeout(f->a, 150);

	/* An idle keep-alive connection is closed quietly. */
	struct cli *c = cli_open(f->a);
	cli_sends(f->a, c, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
	assert_true(cli_response(f->a, c, &r));
	resp_free(&r);
	int64_t t0 = now_ms();
	cli_expect_closed(f->a, c);
	int64_t dt = now_ms() - t0;
	assert_true(dt >= 100);
	assert_true(dt < 2000);
	cli_close(c);
	wait_clients(f->a, 0);

	/* One that left half a request gets a 408 first. */
	c = cli_open(f->a);
	cli_sends(f->a, c, "GET /hello HTTP/1.1\r\nHo");
	assert_true(cli_response(f->a, c, &r));
	assert_int_equal(r.status, 408);
	assert_string_equal(r.body, "Request Timeout\n");
	resp_free(&r);
	cli_expect_closed(f->a, c);
	cli_close(c);

	/* One that never sends anything. */
	c = cli_open(f->a);
	cli_expect_closed(f->a, c);
	cli_close(c);
	wait_clients(f->a, 0);
}

static void test_poll_timeout(void **state)
{
	struct fx *f = *state;

	int64_t t0 = now_ms();
	assert_int_equal(weft_admin_poll(f->a, 50), 0);
	int64_t dt = now_ms() - t0;
	assert_true(dt >= 40);
	assert_true(dt < 1000);

	t0 = now_ms();
	assert_int_equal(weft_admin_poll(f->a, 0), 0);
	assert_true(now_ms() - t0 < 100);

	/* An idle client's deadline never stretches the wait beyond the timeout. */
	struct cli *c = cli_open(f->a);
	wait_clients(f->a, 1);
	t0 = now_ms();
	assert_int_equal(weft_admin_poll(f->a, 30), 0);
	dt = now_ms() - t0;
	assert_true(dt >= 20);
	assert_true(dt < 1000);
	cli_close(c);
	wait_clients(f->a, 0);
}

static void test_open_errors(void **state)
{
	char err[256];
	struct weft_admin_cfg cfg = {.addr = {.af = 4, .v4 = htonl(0xc6120001)}, .port = 0};
	(void)state;

	err[0] = '\0';
	assert_null(weft_admin_open(&cfg, handler, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "198.18.0.1 is not a loopback address"));

	cfg.addr.v4 = htonl(INADDR_ANY);
	assert_null(weft_admin_open(&cfg, handler, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "loopback"));

	cfg.addr.af = 6;
	memset(cfg.addr.v6, 0, 16); /* :: */
	assert_null(weft_admin_open(&cfg, handler, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "loopback"));

	cfg.addr.af = 5;
	assert_null(weft_admin_open(&cfg, handler, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "family"));

	cfg.addr.af = 4;
	cfg.addr.v4 = htonl(INADDR_LOOPBACK);
	assert_null(weft_admin_open(&cfg, NULL, NULL, err, sizeof(err)));

	/* The port is taken. */
	struct weft_admin *a = weft_admin_open(&cfg, handler, NULL, err, sizeof(err));
	assert_non_null(a);
	cfg.port = weft_admin_port(a);
	assert_null(weft_admin_open(&cfg, handler, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "bind 127.0.0.1:"));
	assert_non_null(strstr(err, "in use"));
	weft_admin_close(a);
	weft_admin_close(NULL);
}

static void test_ipv6(void **state)
{
	char err[256];
	struct seen seen = {0};
	struct weft_admin_cfg cfg = {.addr = {.af = 6, .v6 = {[15] = 1}}, .port = 0};
	struct resp r;
	(void)state;

	struct weft_admin *a = weft_admin_open(&cfg, handler, &seen, err, sizeof(err));
	if (a == NULL) {
		print_message("# skipping: %s\n", err);
		skip();
	}
	struct cli *c = cli_open_af(AF_INET6, weft_admin_port(a));
	cli_sends(a, c, "GET /hello HTTP/1.1\r\nHost: [::1]\r\n\r\n");
	assert_true(cli_response(a, c, &r));
	assert_int_equal(r.status, 200);
	assert_string_equal(r.body, "hello\n");
	resp_free(&r);
	cli_close(c);
	weft_admin_close(a);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_get),
		T(test_not_found_and_405),
		T(test_query_split),
		T(test_keepalive),
		T(test_pipelined),
		T(test_pipelined_large),
		T(test_large_response),
		T(test_connection_close),
		T(test_http10),
		T(test_head),
		T(test_post_body),
		T(test_body_at_limit),
		T(test_body_too_large),
		T(test_expect_continue),
		T(test_refused_requests),
		T(test_lenient_framing),
		T(test_oversized_headers),
		T(test_handler_status_edge_cases),
		T(test_disconnects),
		T(test_client_limit),
		T(test_idle_timeout),
		T(test_poll_timeout),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_ipv6),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
