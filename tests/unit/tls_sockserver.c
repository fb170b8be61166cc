/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Loopback TLS server for interoperability tests (see tls_sockserver.h).
 * Built with -DTLS_SOCKSERVER_MAIN it is also a standalone program, to point
 * testssl or curl at by hand:
 *   tls_sockserver CERTDIR PORT [strict|optional]
 */
#include "tests/unit/tls_sockserver.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNS 128

enum cstate { HANDSHAKE, READING, CLOSING };

struct sconn {
	int fd;
	enum cstate st;
	struct tls_conn *c;
	struct tls_transport tp;
};

struct sockserver {
	int lfd;
	struct tls_ctx *ctx;
	pthread_t thread;
	atomic_bool stop;
	pthread_mutex_t lock;
	unsigned failures;
	char last[256];
	struct sconn conns[MAX_CONNS];
};

static long t_recv(void *arg, void *buf, size_t len)
{
	struct sconn *k = arg;
	ssize_t n = recv(k->fd, buf, len, MSG_DONTWAIT);
	if (n > 0)
		return n;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	return -1; /* FIN or error */
}

static long t_send(void *arg, const void *buf, size_t len)
{
	struct sconn *k = arg;
	ssize_t n = send(k->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	return -1;
}

static void drop(struct sockserver *s, struct sconn *k, bool failed)
{
	if (failed) {
		pthread_mutex_lock(&s->lock);
		s->failures++;
		snprintf(s->last, sizeof(s->last), "%s: %s", tls_err_name(tls_conn_error(k->c)),
			 tls_conn_error_detail(k->c));
		pthread_mutex_unlock(&s->lock);
	}
	tls_conn_free(k->c);
	close(k->fd);
	k->fd = -1;
	k->c = NULL;
}

static void answer(struct sconn *k)
{
	struct tls_conn_info ci;
	const struct tls_peer *p = tls_conn_peer(k->c);
	char xfcc[1024], body[2048], msg[2304];
	tls_conn_info(k->c, &ci);
	if (tls_conn_xfcc(k->c, "spiffe://weft.test/ns/default/sa/api", xfcc, sizeof(xfcc)) <= 0)
		snprintf(xfcc, sizeof(xfcc), "-");
	int n = snprintf(body, sizeof(body), "weft version=%s cipher=%s alpn=%s sni=%s resumed=%d principal=%s xfcc=%s\n",
			 ci.version, ci.cipher, ci.alpn[0] ? ci.alpn : "-", ci.sni[0] ? ci.sni : "-", ci.resumed,
			 p->spiffe_id ? p->spiffe_id : "-", xfcc);
	int m = snprintf(msg, sizeof(msg), "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", n, body);
	size_t put;
	tls_write(k->c, msg, (size_t)m, &put);
	tls_shutdown(k->c);
}

/* Advance one connection as far as it goes. */
static void step(struct sockserver *s, struct sconn *k)
{
	for (;;) {
		enum tls_status st;
		switch (k->st) {
		case HANDSHAKE:
			st = tls_handshake_step(k->c);
			if (st == TLS_ERROR) {
				drop(s, k, true);
				return;
			}
			if (st != TLS_DONE)
				return;
			k->st = READING;
			break;
		case READING: {
			char buf[4096];
			size_t got;
			st = tls_read(k->c, buf, sizeof(buf), &got);
			if (st == TLS_ERROR || st == TLS_CLOSED) {
				drop(s, k, false);
				return;
			}
			if (st != TLS_DONE)
				return;
			answer(k);
			k->st = CLOSING;
			break;
		}
		case CLOSING:
			st = tls_flush(k->c);
			if (st == TLS_WANT_WRITE)
				return;
			shutdown(k->fd, SHUT_WR);
			drop(s, k, false);
			return;
		}
	}
}

static void *run(void *arg)
{
	struct sockserver *s = arg;
	struct tls_worker *w = tls_worker_new();
	struct pollfd pfd[MAX_CONNS + 1];
	while (!atomic_load(&s->stop) && w != NULL) {
		int n = 0;
		pfd[n++] = (struct pollfd){ .fd = s->lfd, .events = POLLIN };
		for (int i = 0; i < MAX_CONNS; i++) {
			struct sconn *k = &s->conns[i];
			pfd[n++] = (struct pollfd){ .fd = k->fd, .events = POLLIN | (k->st == CLOSING ? POLLOUT : 0) };
		}
		if (poll(pfd, (nfds_t)n, 50) <= 0)
			continue;
		if (pfd[0].revents & POLLIN) {
			int fd = accept(s->lfd, NULL, NULL);
			for (int i = 0; fd >= 0 && i < MAX_CONNS; i++) {
				struct sconn *k = &s->conns[i];
				if (k->fd >= 0)
					continue;
				k->fd = fd;
				k->st = HANDSHAKE;
				k->tp = (struct tls_transport){ t_recv, t_send, k };
				struct tls_conn_opts o = { .transport = &k->tp };
				k->c = tls_conn_new(w, s->ctx, &o);
				fd = -1;
				if (k->c == NULL) {
					close(k->fd);
					k->fd = -1;
				}
			}
			if (fd >= 0)
				close(fd); /* full */
		}
		for (int i = 0; i < MAX_CONNS; i++)
			if (s->conns[i].fd >= 0 && pfd[i + 1].revents)
				step(s, &s->conns[i]);
	}
	for (int i = 0; i < MAX_CONNS; i++)
		if (s->conns[i].fd >= 0)
			drop(s, &s->conns[i], false);
	tls_worker_free(w);
	return NULL;
}

struct sockserver *sockserver_start(struct tls_ctx *ctx, uint16_t *port)
{
	struct sockserver *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	for (int i = 0; i < MAX_CONNS; i++)
		s->conns[i].fd = -1;
	s->ctx = ctx;
	pthread_mutex_init(&s->lock, NULL);
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int one = 1;
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(*port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	if (s->lfd < 0 || bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(s->lfd, 64) != 0 ||
	    getsockname(s->lfd, (struct sockaddr *)&a, &al) != 0 ||
	    pthread_create(&s->thread, NULL, run, s) != 0) {
		if (s->lfd >= 0)
			close(s->lfd);
		free(s);
		return NULL;
	}
	*port = ntohs(a.sin_port);
	return s;
}

void sockserver_stop(struct sockserver *s)
{
	if (s == NULL)
		return;
	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
	close(s->lfd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

unsigned sockserver_failures(struct sockserver *s, char *last, size_t len)
{
	pthread_mutex_lock(&s->lock);
	unsigned n = s->failures;
	if (last)
		snprintf(last, len, "%s", s->last);
	pthread_mutex_unlock(&s->lock);
	return n;
}

#ifdef TLS_SOCKSERVER_MAIN
#include <signal.h>

#include "tests/unit/tls_harness.h"

static volatile sig_atomic_t quit;
static void on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: tls_sockserver CERTDIR PORT [strict|optional]\n");
		return 2;
	}
	char err[512], info[256];
	if (tls_global_init() != 0)
		return 1;
	tls_build_info(info, sizeof(info));
	fprintf(stderr, "%s\n", info);
	struct tls_ticket_keyring *ring = tls_ticket_keyring_new(3600, err, sizeof(err));
	struct tls_ctx_params p;
	th_server_params(&p, argv[1], "server-ec.pem", "server-ec.key");
	th_add_cert(&p, argv[1], "server-rsa.pem", "server-rsa.key");
	p.alpn = "h2,http/1.1";
	p.tickets = ring;
	if (argc > 3) {
		p.verify = strcmp(argv[3], "strict") == 0 ? TLS_VERIFY_REQUIRE : TLS_VERIFY_OPTIONAL;
		p.trust.path = th_path(argv[1], "ca.pem");
		p.crl.path = th_path(argv[1], "crl.pem");
	}
	struct tls_ctx *ctx = tls_ctx_new(&p, err, sizeof(err));
	if (ctx == NULL) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	uint16_t port = (uint16_t)atoi(argv[2]);
	struct sockserver *s = sockserver_start(ctx, &port);
	if (s == NULL) {
		perror("sockserver_start");
		return 1;
	}
	fprintf(stderr, "listening on 127.0.0.1:%u\n", port);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	while (!quit)
		pause();
	sockserver_stop(s);
	tls_ctx_unref(ctx);
	tls_ticket_keyring_free(ring);
	tls_global_cleanup();
	return 0;
}
#endif
