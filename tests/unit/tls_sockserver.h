/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A TLS server on a loopback socket, driven by weft's engine in transport
 * mode, for interoperability tests with real clients (openssl s_client,
 * curl, testssl). Not weft's data path: plain sockets and poll() in a
 * thread of its own.
 *
 * Every connection: handshake, then, once the client sends anything, one
 * answer and a clean close (close_notify). The answer is an HTTP/1.1 200
 * whose body is one line describing the connection as the server saw it:
 *   "weft version=TLSv1.3 cipher=... alpn=h2 sni=api.weft.test resumed=0
 *    principal=spiffe://... xfcc=..."
 */
#ifndef WEFT_TESTS_TLS_SOCKSERVER_H
#define WEFT_TESTS_TLS_SOCKSERVER_H

#include <stdint.h>

#include "dataplane/tls/tls.h"

struct sockserver;

/**
 * Listen on 127.0.0.1:port (0: any free port) and serve ctx from a thread.
 * @param port  in: wanted port; out: the port bound
 * @return the server, or NULL (errno set)
 */
struct sockserver *sockserver_start(struct tls_ctx *ctx, uint16_t *port);

/** Stop the thread, close everything. */
void sockserver_stop(struct sockserver *s);

/** Handshakes that failed, and the last failure's reason and detail. */
unsigned sockserver_failures(struct sockserver *s, char *last, size_t len);

#endif
