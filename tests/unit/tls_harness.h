/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * In-memory TLS pairs for the unit tests and the benchmark: a client and a
 * server connection from weft's engine, wired back to back through their
 * output and input queues, with a knob for how many bytes move per step
 * (to split records and flights anywhere).
 */
#ifndef WEFT_TESTS_TLS_HARNESS_H
#define WEFT_TESTS_TLS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/tls/tls.h"

/* Certificates made by tests/lib/certs.sh: the directory, and paths in it. */
int th_make_certs(char *dir, size_t len);
void th_remove_certs(const char *dir);
const char *th_path(const char *dir, const char *file); /* a static buffer per call, 16 in rotation */

/* params helpers */
void th_server_params(struct tls_ctx_params *p, const char *dir, const char *cert, const char *key);
void th_add_cert(struct tls_ctx_params *p, const char *dir, const char *cert, const char *key);
void th_client_params(struct tls_ctx_params *p, const char *dir, const char *server_name);
void th_client_cert(struct tls_ctx_params *p, const char *dir, const char *cert, const char *key);

struct th_pair {
	struct tls_conn *c, *s;
	size_t chunk;       /* most bytes moved per direction per step; 0: all */
	uint32_t rng;       /* when non-zero, each move is 1..chunk bytes at random */
	enum tls_status cs, ss; /* last handshake status of each side */
};

/* Moves ciphertext from one side's output to the other's input. Returns bytes moved. */
size_t th_move(struct th_pair *p, struct tls_conn *from, struct tls_conn *to);

/* Handshakes both sides to the end. Returns 0 if both are DONE, -1 otherwise
 * (cs/ss tell which failed; a side that failed is not stepped again). */
int th_handshake(struct th_pair *p);

#endif
