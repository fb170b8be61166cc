/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The ClientHello reader: real hellos captured from `openssl s_client`
 * (tests/fuzz/corpus/clienthello, path in WEFT_CH_CORPUS) split at every
 * byte and re-framed over several records, hand-built hellos with one
 * defect each, and the permissive-mode sniffer.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "dataplane/tls/clienthello.h"

static uint8_t file_buf[70000];

static size_t load(const char *name)
{
	const char *dir = getenv("WEFT_CH_CORPUS");
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/fuzz/corpus/clienthello", name);
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		fail_msg("cannot open %s", path);
	size_t n = fread(file_buf, 1, sizeof(file_buf), f);
	fclose(f);
	return n;
}

static void alpn_join(const struct tls_clienthello *ch, char *out, size_t cap)
{
	out[0] = '\0';
	for (unsigned i = 0; i < ch->alpn_count; i++)
		snprintf(out + strlen(out), cap - strlen(out), "%s%s", i ? "," : "", ch->alpn[i].name);
}

static void check_every_prefix(const uint8_t *d, size_t n)
{
	struct tls_clienthello ch;
	for (size_t cut = 0; cut < n; cut++) {
		enum tls_ch_status st = tls_clienthello_parse(d, cut, &ch);
		if (st != TLS_CH_NEED_MORE)
			fail_msg("prefix of %zu/%zu bytes: %s", cut, n, tls_ch_status_name(st));
		if (ch.need <= cut || ch.need > n)
			fail_msg("prefix of %zu: need %zu (total %zu)", cut, ch.need, n);
	}
}

static void test_captured_hellos(void **state)
{
	(void)state;
	static const struct {
		const char *file, *sni, *alpn;
		uint16_t max_version;
		bool truncated;
	} cases[] = {
		{ "openssl_tls13_sni_alpn.bin", "api.weft.test", "h2,http/1.1", 0x0304, false },
		{ "openssl_tls12_only.bin", "www.example.com", "http/1.1", 0x0303, false },
		{ "openssl_no_sni.bin", NULL, "", 0x0304, false },
		{ "openssl_many_alpn.bin", "a.b", "p1,p2,p3,p4,p5,p6,p7,p8", 0x0304, true },
		{ "openssl_tls13_groups.bin", "groups.test", "", 0x0304, false },
		{ "frag_1byte_records.bin", "api.weft.test", "h2,http/1.1", 0x0304, false },
		{ "frag_header_split.bin", "api.weft.test", "h2,http/1.1", 0x0304, false },
		{ "frag_two_records.bin", "a.b", "p1,p2,p3,p4,p5,p6,p7,p8", 0x0304, true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = load(cases[i].file);
		check_every_prefix(file_buf, n);
		struct tls_clienthello ch;
		enum tls_ch_status st = tls_clienthello_parse(file_buf, n, &ch);
		if (st != TLS_CH_OK)
			fail_msg("%s: %s", cases[i].file, tls_ch_status_name(st));
		assert_int_equal(ch.consumed, n);
		assert_int_equal(ch.has_sni, cases[i].sni != NULL);
		if (cases[i].sni) {
			assert_string_equal(ch.sni, cases[i].sni);
			assert_int_equal(ch.sni_len, strlen(cases[i].sni));
		}
		char alpn[256];
		alpn_join(&ch, alpn, sizeof(alpn));
		assert_string_equal(alpn, cases[i].alpn);
		assert_int_equal(ch.alpn_truncated, cases[i].truncated);
		assert_int_equal(ch.legacy_version, 0x0303);
		assert_int_equal(ch.max_version, cases[i].max_version);

		/* bytes after the hello (early data, a pipelined record) are not the parser's business */
		memcpy(file_buf + n, "\x17\x03\x03\x00\x01z", 6);
		assert_int_equal(tls_clienthello_parse(file_buf, n + 6, &ch), TLS_CH_OK);
		assert_int_equal(ch.consumed, n);
	}

	size_t n = load("openssl_long_sni.bin");
	struct tls_clienthello ch;
	assert_int_equal(tls_clienthello_parse(file_buf, n, &ch), TLS_CH_OK);
	assert_int_equal(ch.sni_len, 63 * 3 + 3 + 7);
}

static void test_not_tls(void **state)
{
	(void)state;
	static const char *const files[] = { "http1_get.bin", "h2_preface.bin", "sslv2_hello.bin" };
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		size_t n = load(files[i]);
		struct tls_clienthello ch;
		assert_int_equal(tls_clienthello_parse(file_buf, n, &ch), TLS_CH_NOT_TLS);
		assert_int_equal(tls_clienthello_parse(file_buf, 1, &ch), TLS_CH_NOT_TLS);
		assert_int_equal(tls_sniff(file_buf, n), TLS_SNIFF_PLAIN);
	}
	struct tls_clienthello ch;
	assert_int_equal(tls_clienthello_parse(file_buf, 0, &ch), TLS_CH_NEED_MORE);
	assert_int_equal(ch.need, 5);
	size_t n = load("truncated_header.bin");
	assert_int_equal(tls_clienthello_parse(file_buf, n, &ch), TLS_CH_NEED_MORE);
	n = load("truncated_body.bin");
	assert_int_equal(tls_clienthello_parse(file_buf, n, &ch), TLS_CH_NEED_MORE);
}

static void test_sniff(void **state)
{
	(void)state;
	static const uint8_t tls10[] = { 0x16, 0x03, 0x01 }, tls13[] = { 0x16, 0x03, 0x04 },
			     ssl3[] = { 0x16, 0x03, 0x00 }, v5[] = { 0x16, 0x03, 0x05 }, v2[] = { 0x16, 0x02, 0x01 };
	assert_int_equal(tls_sniff(tls10, 3), TLS_SNIFF_TLS);
	assert_int_equal(tls_sniff(tls13, 3), TLS_SNIFF_TLS);
	assert_int_equal(tls_sniff(ssl3, 3), TLS_SNIFF_TLS);
	assert_int_equal(tls_sniff(v5, 3), TLS_SNIFF_PLAIN);
	assert_int_equal(tls_sniff(v2, 3), TLS_SNIFF_PLAIN);
	assert_int_equal(tls_sniff(tls10, 0), TLS_SNIFF_NEED_MORE);
	assert_int_equal(tls_sniff(tls10, 1), TLS_SNIFF_NEED_MORE);
	assert_int_equal(tls_sniff(tls10, 2), TLS_SNIFF_NEED_MORE);
	assert_int_equal(tls_sniff((const uint8_t *)"G", 1), TLS_SNIFF_PLAIN);
	assert_int_equal(tls_sniff((const uint8_t *)"\x16x", 2), TLS_SNIFF_PLAIN);
	assert_int_equal(tls_sniff((const uint8_t *)"PRI * HTTP/2.0", 14), TLS_SNIFF_PLAIN);
}

/* ------------------------------------------- hand-built hellos */

struct hb {
	uint8_t b[8192];
	size_t n;
};

static void put(struct hb *h, const void *d, size_t n)
{
	if (n == 0)
		return;
	assert_true(h->n + n <= sizeof(h->b));
	memcpy(h->b + h->n, d, n);
	h->n += n;
}

static void u8(struct hb *h, unsigned v)
{
	uint8_t x = (uint8_t)v;
	put(h, &x, 1);
}

static void u16(struct hb *h, unsigned v)
{
	u8(h, v >> 8);
	u8(h, v);
}

static void ext(struct hb *h, unsigned type, const void *d, size_t n)
{
	u16(h, type);
	u16(h, (unsigned)n);
	put(h, d, n);
}

static void sni_ext(struct hb *h, const char *name)
{
	struct hb e = { .n = 0 };
	size_t n = strlen(name);
	u16(&e, (unsigned)n + 3);
	u8(&e, 0);
	u16(&e, (unsigned)n);
	put(&e, name, n);
	ext(h, 0, e.b, e.n);
}

/* A ClientHello record around the given extensions block (NULL: no extensions). */
static size_t hello(uint8_t *out, const struct hb *exts, size_t sid_len, size_t suites_len)
{
	struct hb body = { .n = 0 };
	u16(&body, 0x0303);
	for (int i = 0; i < 32; i++)
		u8(&body, i);
	u8(&body, (unsigned)sid_len);
	for (size_t i = 0; i < sid_len; i++)
		u8(&body, 0xaa);
	u16(&body, (unsigned)suites_len);
	for (size_t i = 0; i < suites_len; i++)
		u8(&body, i % 2 ? 0x01 : 0x13);
	u8(&body, 1);
	u8(&body, 0);
	if (exts) {
		u16(&body, (unsigned)exts->n);
		put(&body, exts->b, exts->n);
	}
	struct hb rec = { .n = 0 };
	u8(&rec, 0x16);
	u16(&rec, 0x0301);
	u16(&rec, (unsigned)body.n + 4);
	u8(&rec, 1);
	u8(&rec, 0);
	u16(&rec, (unsigned)body.n);
	put(&rec, body.b, body.n);
	memcpy(out, rec.b, rec.n);
	return rec.n;
}

static enum tls_ch_status parse_exts(const struct hb *e, struct tls_clienthello *ch)
{
	static uint8_t buf[9000];
	size_t n = hello(buf, e, 0, 2);
	return tls_clienthello_parse(buf, n, ch);
}

static void test_built_hellos(void **state)
{
	(void)state;
	struct tls_clienthello ch;
	uint8_t buf[9000];

	/* minimal TLS 1.2 hello without extensions */
	size_t n = hello(buf, NULL, 0, 2);
	assert_int_equal(tls_clienthello_parse(buf, n, &ch), TLS_CH_OK);
	assert_false(ch.has_sni);
	assert_int_equal(ch.max_version, 0x0303);

	struct hb e = { .n = 0 };
	sni_ext(&e, "Mixed.Case.example");
	static const uint8_t alpn[] = { 0x00, 0x0c, 0x02, 'h', '2', 0x08, 'h', 't', 't', 'p', '/', '1', '.', '1' };
	ext(&e, 16, alpn, sizeof(alpn));
	static const uint8_t versions[] = { 0x06, 0x7a, 0x7a, 0x03, 0x04, 0x03, 0x03 }; /* GREASE first */
	ext(&e, 43, versions, sizeof(versions));
	ext(&e, 35, NULL, 0);
	ext(&e, 42, NULL, 0);
	static const uint8_t psk[] = { 0x00, 0x00 };
	ext(&e, 41, psk, sizeof(psk)); /* last, as it must be */
	assert_int_equal(parse_exts(&e, &ch), TLS_CH_OK);
	assert_string_equal(ch.sni, "Mixed.Case.example");
	assert_int_equal(ch.alpn_count, 2);
	assert_string_equal(ch.alpn[1].name, "http/1.1");
	assert_int_equal(ch.max_version, 0x0304);
	assert_true(ch.has_session_ticket && ch.has_early_data && ch.has_psk);

	/* session id of 32 is fine, 33 is not; cipher suites must be even and non-empty */
	n = hello(buf, NULL, 32, 2);
	assert_int_equal(tls_clienthello_parse(buf, n, &ch), TLS_CH_OK);
	n = hello(buf, NULL, 33, 2);
	assert_int_equal(tls_clienthello_parse(buf, n, &ch), TLS_CH_MALFORMED);
	n = hello(buf, NULL, 0, 3);
	assert_int_equal(tls_clienthello_parse(buf, n, &ch), TLS_CH_MALFORMED);
	n = hello(buf, NULL, 0, 0);
	assert_int_equal(tls_clienthello_parse(buf, n, &ch), TLS_CH_MALFORMED);
}

static void test_malformed_extensions(void **state)
{
	(void)state;
	struct tls_clienthello ch;
	static const uint8_t dup_alpn[] = { 0x00, 0x03, 0x02, 'h', '2' };
	struct {
		const char *what;
		struct hb e;
	} c[16];
	memset(c, 0, sizeof(c));
	int k = 0;

	c[k].what = "duplicate extension";
	ext(&c[k].e, 16, dup_alpn, sizeof(dup_alpn));
	ext(&c[k].e, 16, dup_alpn, sizeof(dup_alpn));
	k++;
	c[k].what = "two host names";
	{
		struct hb s = { .n = 0 };
		u16(&s, 10);
		u8(&s, 0);
		u16(&s, 2);
		put(&s, "ab", 2);
		u8(&s, 0);
		u16(&s, 2);
		put(&s, "cd", 2);
		ext(&c[k].e, 0, s.b, s.n);
	}
	k++;
	c[k].what = "space in host name";
	sni_ext(&c[k].e, "bad name");
	k++;
	c[k].what = "NUL in host name";
	{
		struct hb s = { .n = 0 };
		u16(&s, 6);
		u8(&s, 0);
		u16(&s, 3);
		put(&s, "a\0b", 3);
		ext(&c[k].e, 0, s.b, s.n);
	}
	k++;
	c[k].what = "empty host name";
	{
		static const uint8_t s[] = { 0x00, 0x03, 0x00, 0x00, 0x00 };
		ext(&c[k].e, 0, s, sizeof(s));
	}
	k++;
	c[k].what = "server_name list length off by one";
	{
		static const uint8_t s[] = { 0x00, 0x05, 0x00, 0x00, 0x01, 'a' };
		ext(&c[k].e, 0, s, sizeof(s));
	}
	k++;
	c[k].what = "empty ALPN name";
	{
		static const uint8_t s[] = { 0x00, 0x04, 0x02, 'h', '2', 0x00 };
		ext(&c[k].e, 16, s, sizeof(s));
	}
	k++;
	c[k].what = "ALPN name past its list";
	{
		static const uint8_t s[] = { 0x00, 0x03, 0x05, 'h', '2' };
		ext(&c[k].e, 16, s, sizeof(s));
	}
	k++;
	c[k].what = "pre_shared_key not last";
	{
		static const uint8_t s[] = { 0x00, 0x00 };
		ext(&c[k].e, 41, s, sizeof(s));
		ext(&c[k].e, 35, NULL, 0);
	}
	k++;
	c[k].what = "odd supported_versions";
	{
		static const uint8_t s[] = { 0x03, 0x03, 0x04, 0x03 };
		ext(&c[k].e, 43, s, sizeof(s));
	}
	k++;
	c[k].what = "early_data with a body";
	{
		static const uint8_t s[] = { 0x00 };
		ext(&c[k].e, 42, s, sizeof(s));
	}
	k++;
	c[k].what = "extension longer than the block";
	u16(&c[k].e, 0x1234);
	u16(&c[k].e, 10);
	put(&c[k].e, "abc", 3);
	k++;
	c[k].what = "a stray byte after the extensions";
	ext(&c[k].e, 35, NULL, 0);
	u8(&c[k].e, 0);
	k++;
	for (int i = 0; i < k; i++) {
		enum tls_ch_status st = parse_exts(&c[i].e, &ch);
		if (st != TLS_CH_MALFORMED)
			fail_msg("%s: %s", c[i].what, tls_ch_status_name(st));
	}
}

static void test_malformed_records(void **state)
{
	(void)state;
	struct tls_clienthello ch;
	uint8_t buf[9000];
	struct hb e = { .n = 0 };
	sni_ext(&e, "x.test");
	size_t n = hello(buf, &e, 0, 2);
	assert_int_equal(tls_clienthello_parse(buf, n, &ch), TLS_CH_OK);

	uint8_t m[9000];
	/* record version 3.5 */
	memcpy(m, buf, n);
	m[2] = 0x05;
	assert_int_equal(tls_clienthello_parse(m, n, &ch), TLS_CH_NOT_TLS);
	/* a ServerHello, not a ClientHello */
	memcpy(m, buf, n);
	m[5] = 2;
	assert_int_equal(tls_clienthello_parse(m, n, &ch), TLS_CH_MALFORMED);
	assert_int_equal(tls_clienthello_parse(m, 6, &ch), TLS_CH_MALFORMED); /* known from byte 6 on */
	/* zero-length record */
	static const uint8_t zero[] = { 0x16, 0x03, 0x01, 0x00, 0x00 };
	assert_int_equal(tls_clienthello_parse(zero, sizeof(zero), &ch), TLS_CH_MALFORMED);
	/* record over 2^14 */
	static const uint8_t huge[] = { 0x16, 0x03, 0x01, 0x40, 0x01, 0x01 };
	assert_int_equal(tls_clienthello_parse(huge, sizeof(huge), &ch), TLS_CH_MALFORMED);
	/* message length beyond TLS_CH_MAX_LEN */
	static const uint8_t big[] = { 0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x01, 0x00, 0x00 };
	assert_int_equal(tls_clienthello_parse(big, sizeof(big), &ch), TLS_CH_MALFORMED);
	/* a tiny message length */
	static const uint8_t tiny[] = { 0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x05 };
	assert_int_equal(tls_clienthello_parse(tiny, sizeof(tiny), &ch), TLS_CH_MALFORMED);
	/* a second record that is not a handshake record */
	memcpy(m, buf, 5 + 10);
	m[3] = 0;
	m[4] = 10;
	static const uint8_t alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28 };
	memcpy(m + 15, alert, sizeof(alert));
	assert_int_equal(tls_clienthello_parse(m, 15 + sizeof(alert), &ch), TLS_CH_MALFORMED);
	/* the handshake length says more than the message holds: NEED_MORE until
	 * a record arrives that cannot belong to it */
	memcpy(m, buf, n);
	m[8] += 1;
	m[4] += 1;
	assert_int_equal(tls_clienthello_parse(m, n, &ch), TLS_CH_NEED_MORE);
	m[n] = 0;
	assert_int_equal(tls_clienthello_parse(m, n + 1, &ch), TLS_CH_MALFORMED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_captured_hellos),
		cmocka_unit_test(test_not_tls),
		cmocka_unit_test(test_sniff),
		cmocka_unit_test(test_built_hellos),
		cmocka_unit_test(test_malformed_extensions),
		cmocka_unit_test(test_malformed_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
