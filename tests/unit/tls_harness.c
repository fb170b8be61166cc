/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tests/unit/tls_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int th_make_certs(char *dir, size_t len)
{
	const char *script = getenv("WEFT_CERTS_SH");
	if (script == NULL)
		script = "tests/lib/certs.sh";
	snprintf(dir, len, "/tmp/weft-tls-certs.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "bash '%s' '%s' >/dev/null 2>&1", script, dir);
	return system(cmd) == 0 ? 0 : -1;
}

void th_remove_certs(const char *dir)
{
	char cmd[512];
	if (strncmp(dir, "/tmp/weft-tls-certs.", 20) != 0)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

const char *th_path(const char *dir, const char *file)
{
	static char bufs[16][512];
	static unsigned next;
	char *b = bufs[next++ % 16];
	snprintf(b, sizeof(bufs[0]), "%s/%s", dir, file);
	return b;
}

void th_server_params(struct tls_ctx_params *p, const char *dir, const char *cert, const char *key)
{
	memset(p, 0, sizeof(*p));
	p->role = TLS_ROLE_SERVER;
	th_add_cert(p, dir, cert, key);
}

void th_add_cert(struct tls_ctx_params *p, const char *dir, const char *cert, const char *key)
{
	struct tls_cert_params *c = &p->certs[p->n_certs++];
	c->chain.path = th_path(dir, cert);
	c->key.path = th_path(dir, key);
}

void th_client_params(struct tls_ctx_params *p, const char *dir, const char *server_name)
{
	memset(p, 0, sizeof(*p));
	p->role = TLS_ROLE_CLIENT;
	p->verify = TLS_VERIFY_REQUIRE;
	p->trust.path = th_path(dir, "ca.pem");
	p->server_name = server_name;
}

void th_client_cert(struct tls_ctx_params *p, const char *dir, const char *cert, const char *key)
{
	p->n_certs = 1;
	p->certs[0].chain.path = th_path(dir, cert);
	p->certs[0].key.path = th_path(dir, key);
}

static uint32_t xs(uint32_t *s)
{
	uint32_t x = *s;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *s = x;
}

size_t th_move(struct th_pair *p, struct tls_conn *from, struct tls_conn *to)
{
	size_t moved = 0;
	size_t limit = p->chunk ? p->chunk : SIZE_MAX;
	if (p->rng && p->chunk)
		limit = 1 + xs(&p->rng) % p->chunk;
	while (moved < limit) {
		size_t run;
		const uint8_t *d = tls_conn_output_peek(from, &run);
		if (d == NULL)
			break;
		if (run > limit - moved)
			run = limit - moved;
		size_t took = tls_conn_input(to, d, run);
		tls_conn_output_consume(from, took);
		moved += took;
		if (took < run)
			break;
	}
	return moved;
}

int th_handshake(struct th_pair *p)
{
	p->cs = p->ss = TLS_WANT_READ;
	for (int round = 0; round < 100000; round++) {
		enum tls_status cs = p->cs, ss = p->ss;
		bool progress = false;
		if (p->cs != TLS_DONE && p->cs != TLS_ERROR)
			p->cs = tls_handshake_step(p->c);
		progress |= th_move(p, p->c, p->s) > 0;
		if (p->ss != TLS_DONE && p->ss != TLS_ERROR)
			p->ss = tls_handshake_step(p->s);
		progress |= th_move(p, p->s, p->c) > 0;
		/* stop once nothing moves and nobody's state changes: done, failed or stuck */
		if (!progress && cs == p->cs && ss == p->ss)
			break;
	}
	return p->cs == TLS_DONE && p->ss == TLS_DONE ? 0 : -1;
}
