/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target for the ClientHello reader (dataplane/tls/clienthello.c):
 * any byte string must get an answer without reading out of bounds, and
 * the answer must be consistent:
 *   - NOT_TLS exactly when the sniffer says plaintext;
 *   - NEED_MORE asks for more than it was given;
 *   - OK fills well-formed fields, parses the same from exactly the bytes it
 *     says it consumed, and wants more from one byte less.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/tls/clienthello.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

static void check_ok(const struct tls_clienthello *ch, size_t size)
{
	CHECK(ch->consumed > 5 && ch->consumed <= size);
	CHECK((ch->legacy_version >> 8) == 3);
	CHECK(ch->has_sni == (ch->sni_len > 0));
	CHECK(strlen(ch->sni) == ch->sni_len);
	for (size_t i = 0; i < ch->sni_len; i++)
		CHECK(ch->sni[i] > 0x20 && ch->sni[i] < 0x7f);
	CHECK(ch->alpn_count <= TLS_CH_ALPN_MAX);
	CHECK(!ch->alpn_truncated || ch->alpn_count == TLS_CH_ALPN_MAX);
	for (unsigned i = 0; i < ch->alpn_count; i++)
		CHECK(ch->alpn[i].len > 0 && ch->alpn[i].name[ch->alpn[i].len] == '\0');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A heap copy of exactly size bytes, so ASan sees any over-read. */
	uint8_t *buf = malloc(size ? size : 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);

	struct tls_clienthello ch;
	enum tls_ch_status st = tls_clienthello_parse(buf, size, &ch);
	enum tls_sniff sn = tls_sniff(buf, size);
	CHECK((st == TLS_CH_NOT_TLS) == (sn == TLS_SNIFF_PLAIN));

	switch (st) {
	case TLS_CH_NEED_MORE:
		CHECK(ch.need > size);
		break;
	case TLS_CH_OK: {
		check_ok(&ch, size);
		struct tls_clienthello again;
		CHECK(tls_clienthello_parse(buf, ch.consumed, &again) == TLS_CH_OK);
		CHECK(again.consumed == ch.consumed && strcmp(again.sni, ch.sni) == 0 &&
		      again.alpn_count == ch.alpn_count);
		CHECK(tls_clienthello_parse(buf, ch.consumed - 1, &again) == TLS_CH_NEED_MORE);
		break;
	}
	case TLS_CH_NOT_TLS:
	case TLS_CH_MALFORMED:
		break;
	default:
		abort();
	}
	free(buf);
	return 0;
}
