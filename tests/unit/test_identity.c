/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SPIFFE ID validation, principal patterns and XFCC formatting.
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

#include "policy/identity.h"

static int parse(const char *s, struct spiffe_id *id, const char **why)
{
	return spiffe_id_parse(s, strlen(s), id, why);
}

static void test_spiffe_valid(void **state)
{
	(void)state;
	struct spiffe_id id;
	assert_int_equal(parse("spiffe://example.org/ns/default/sa/web", &id, NULL), 0);
	assert_int_equal(id.trust_domain.len, 11);
	assert_memory_equal(id.trust_domain.p, "example.org", 11);
	assert_int_equal(id.path.len, 18);
	assert_memory_equal(id.path.p, "/ns/default/sa/web", 18);

	assert_int_equal(parse("spiffe://example.org", &id, NULL), 0);
	assert_int_equal(id.path.len, 0);
	static const char *const ok[] = {
		"spiffe://a", "spiffe://trust_domain-1.x/Path.With-Upper_case/9",
		"spiffe://td/...", "spiffe://td/.a/a./..b",
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (parse(ok[i], NULL, NULL) != 0)
			fail_msg("refused %s", ok[i]);

	/* 2048 bytes exactly is allowed, one more is not */
	char big[2100] = "spiffe://td/";
	size_t n = strlen(big);
	while (n < 2048)
		big[n++] = 'a';
	big[n] = '\0';
	assert_int_equal(parse(big, NULL, NULL), 0);
	big[n++] = 'a';
	big[n] = '\0';
	assert_int_equal(parse(big, NULL, NULL), -1);
}

static void test_spiffe_invalid(void **state)
{
	(void)state;
	static const struct {
		const char *id, *why;
	} bad[] = {
		{ "", "empty" },
		{ "http://example.org/x", "scheme is not 'spiffe://'" },
		{ "SPIFFE://example.org/x", "scheme is not 'spiffe://'" },
		{ "spiffe:/example.org", "scheme is not 'spiffe://'" },
		{ "spiffe://", "trust domain is missing" },
		{ "spiffe:///path", "trust domain is missing" },
		{ "spiffe://Example.org/x", "trust domain has an uppercase letter" },
		{ "spiffe://example.org:8443/x", "trust domain has a port" },
		{ "spiffe://user@example.org/x", "trust domain has userinfo" },
		{ "spiffe://exa mple.org", "trust domain has an invalid character" },
		{ "spiffe://example.org/", "path has a trailing '/'" },
		{ "spiffe://example.org/a/", "path has a trailing '/'" },
		{ "spiffe://example.org//a", "path has an empty segment" },
		{ "spiffe://example.org/a/./b", "path has a '.' or '..' segment" },
		{ "spiffe://example.org/a/..", "path has a '.' or '..' segment" },
		{ "spiffe://example.org/a?x=1", "a SPIFFE ID has no query" },
		{ "spiffe://example.org/a#frag", "a SPIFFE ID has no fragment" },
		{ "spiffe://example.org/a%20b", "path has an invalid character" },
		{ "spiffe://example.org/a*", "path has an invalid character" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;
		if (parse(bad[i].id, NULL, &why) != -1)
			fail_msg("accepted '%s'", bad[i].id);
		assert_non_null(why);
		if (strcmp(why, bad[i].why) != 0)
			fail_msg("'%s': '%s', expected '%s'", bad[i].id, why, bad[i].why);
	}
	char td[300] = "spiffe://";
	memset(td + 9, 'a', 256);
	td[9 + 256] = '\0';
	const char *why;
	assert_int_equal(parse(td, NULL, &why), -1);
	assert_string_equal(why, "trust domain is longer than 255 bytes");
	assert_int_equal(spiffe_id_parse(NULL, 0, NULL, NULL), -1);
	/* an embedded NUL is just an invalid character */
	assert_int_equal(spiffe_id_parse("spiffe://td/a\0b", 15, NULL, NULL), -1);
}

static enum authz_result check(const struct principal_list *l, const char *p)
{
	return principal_check(l, p, p ? strlen(p) : 0);
}

static void test_principal_patterns(void **state)
{
	(void)state;
	const char *pats[] = {
		"spiffe://weft.test/ns/web/sa/frontend",
		"spiffe://weft.test/ns/batch/*",
		"spiffe://partner.test/*",
	};
	char err[256];
	struct principal_list *l = principal_list_new(pats, 3, err, sizeof(err));
	assert_non_null(l);
	assert_int_equal(principal_list_count(l), 3);

	assert_int_equal(check(l, "spiffe://weft.test/ns/web/sa/frontend"), AUTHZ_ALLOW);
	assert_int_equal(check(l, "spiffe://weft.test/ns/web/sa/frontend2"), AUTHZ_DENY_NOT_ALLOWED);
	assert_int_equal(check(l, "spiffe://weft.test/ns/web/sa/frontend/x"), AUTHZ_DENY_NOT_ALLOWED);
	assert_int_equal(check(l, "spiffe://weft.test/ns/web/sa"), AUTHZ_DENY_NOT_ALLOWED);
	assert_int_equal(check(l, "spiffe://weft.test/ns/batch/sa/job"), AUTHZ_ALLOW);
	assert_int_equal(check(l, "spiffe://weft.test/ns/batch/x"), AUTHZ_ALLOW);
	/* the prefix stops at a segment boundary and needs one more segment */
	assert_int_equal(check(l, "spiffe://weft.test/ns/batch"), AUTHZ_DENY_NOT_ALLOWED);
	assert_int_equal(check(l, "spiffe://weft.test/ns/batchy/sa/x"), AUTHZ_DENY_NOT_ALLOWED);
	assert_int_equal(check(l, "spiffe://partner.test/anything/at/all"), AUTHZ_ALLOW);
	assert_int_equal(check(l, "spiffe://partner.test"), AUTHZ_DENY_NOT_ALLOWED);
	assert_int_equal(check(l, "spiffe://partner.testx/a"), AUTHZ_DENY_NOT_ALLOWED);
	/* case matters (trust domains are lowercase by rule, paths are exact) */
	assert_int_equal(check(l, "spiffe://weft.test/ns/WEB/sa/frontend"), AUTHZ_DENY_NOT_ALLOWED);
	/* no principal at all */
	assert_int_equal(check(l, NULL), AUTHZ_DENY_NO_PRINCIPAL);
	assert_int_equal(check(l, ""), AUTHZ_DENY_NO_PRINCIPAL);
	principal_list_free(l);

	const char *any[] = { "*" };
	l = principal_list_new(any, 1, err, sizeof(err));
	assert_non_null(l);
	assert_int_equal(check(l, "spiffe://x/y"), AUTHZ_ALLOW);
	assert_int_equal(check(l, NULL), AUTHZ_DENY_NO_PRINCIPAL);
	principal_list_free(l);

	/* no list: no restriction */
	assert_int_equal(check(NULL, NULL), AUTHZ_ALLOW);
	/* an empty list: nobody */
	l = principal_list_new(NULL, 0, err, sizeof(err));
	assert_non_null(l);
	assert_int_equal(check(l, "spiffe://x/y"), AUTHZ_DENY_NOT_ALLOWED);
	principal_list_free(l);

	assert_string_equal(authz_result_name(AUTHZ_DENY_NOT_ALLOWED), "authz_principal_denied");
	assert_string_equal(authz_result_name(AUTHZ_DENY_NO_PRINCIPAL), "authz_no_principal");
	assert_non_null(authz_result_help(AUTHZ_ALLOW));
}

static void test_principal_bad_patterns(void **state)
{
	(void)state;
	static const struct {
		const char *pat, *err;
	} bad[] = {
		{ "spiffe://weft.test/ns/*/sa/x", "principal 2 'spiffe://weft.test/ns/*/sa/x': '*' is only allowed alone or as a whole last segment ('.../*')" },
		{ "spiffe://weft.test/ns/web*", "principal 2 'spiffe://weft.test/ns/web*': '*' is only allowed alone or as a whole last segment ('.../*')" },
		{ "weft.test/ns/web", "principal 2 'weft.test/ns/web': scheme is not 'spiffe://'" },
		{ "spiffe://Weft.test/*", "principal 2 'spiffe://Weft.test/*': trust domain has an uppercase letter" },
		{ "spiffe:///*", "principal 2 'spiffe:///*': trust domain is missing" },
		{ "**", "principal 2 '**': '*' is only allowed alone or as a whole last segment ('.../*')" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *pats[] = { "spiffe://ok.test/a", bad[i].pat };
		char err[256] = "";
		assert_null(principal_list_new(pats, 2, err, sizeof(err)));
		assert_string_equal(err, bad[i].err);
	}
}

static struct id_str S(const char *s)
{
	return (struct id_str){ s, strlen(s) };
}

static void test_xfcc_format(void **state)
{
	(void)state;
	static const uint8_t hash[32] = { 0x46, 0x8e, 0xd3, 0x3b, 0xe7, 0x4e, 0xee, 0x65, 0x56, 0xd9, 0x0c,
					  0x01, 0x49, 0xc1, 0x30, 0x9e, 0x9b, 0xa6, 0x1d, 0x64, 0x25, 0x30,
					  0x34, 0x43, 0xc0, 0x74, 0x8a, 0x02, 0xdd, 0x8d, 0xe6, 0x88 };
	struct xfcc_cert c = {
		.by = S("http://frontend.lyft.com"),
		.hash = hash,
		.subject = S("/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client"),
		.n_uri = 1,
		.uri = { S("http://testclient.lyft.com") },
		.n_dns = 2,
		.dns = { S("lyft.com"), S("www.lyft.com") },
	};
	char buf[512];
	/* Envoy's documented example, field for field */
	const char *want = "By=http://frontend.lyft.com;"
			   "Hash=468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688;"
			   "Subject=\"/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client\";"
			   "URI=http://testclient.lyft.com;DNS=lyft.com;DNS=www.lyft.com";
	assert_int_equal(xfcc_format(buf, sizeof(buf), &c), (int)strlen(want));
	assert_string_equal(buf, want);

	/* quoting: ',', ';', '=' and '"' force quotes; '"' becomes '\"' */
	struct xfcc_cert q = {
		.subject = S("CN=a \"quoted\" name,O=x\\, Inc."),
		.n_uri = 2,
		.uri = { S("spiffe://td/ns/a"), S("urn:x;y=z") },
	};
	assert_true(xfcc_format(buf, sizeof(buf), &q) > 0);
	assert_string_equal(buf, "Subject=\"CN=a \\\"quoted\\\" name,O=x\\, Inc.\";URI=spiffe://td/ns/a;"
				 "URI=\"urn:x;y=z\"");

	/* Subject is always quoted, even empty; values unsafe in a header are left out */
	struct xfcc_cert e = {
		.subject = S(""),
		.n_uri = 1,
		.uri = { S("spiffe://td/evil\r\nx-injected: 1") },
		.n_dns = 1,
		.dns = { S("ok.test") },
	};
	assert_true(xfcc_format(buf, sizeof(buf), &e) > 0);
	assert_string_equal(buf, "Subject=\"\";DNS=ok.test");

	/* append to a previous hop's element */
	struct xfcc_cert h = { .n_uri = 1, .uri = { S("spiffe://td/b") } };
	const char *prev = "By=spiffe://td/a;URI=spiffe://td/x";
	assert_int_equal(xfcc_append(buf, sizeof(buf), prev, strlen(prev), &h),
			 (int)strlen("By=spiffe://td/a;URI=spiffe://td/x,URI=spiffe://td/b"));
	assert_string_equal(buf, "By=spiffe://td/a;URI=spiffe://td/x,URI=spiffe://td/b");
	assert_true(xfcc_append(buf, sizeof(buf), "", 0, &h) > 0);
	assert_string_equal(buf, "URI=spiffe://td/b");

	/* too small: -1 at every size below the length */
	int full = xfcc_format(buf, sizeof(buf), &c);
	for (int cap = 1; cap <= full; cap++) {
		char small[512];
		assert_int_equal(xfcc_format(small, (size_t)cap, &c), -1);
		assert_true(strlen(small) < (size_t)cap);
	}
	assert_int_equal(xfcc_format(buf, (size_t)full + 1, &c), full);
	assert_int_equal(xfcc_format(buf, 0, &c), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spiffe_valid),
		cmocka_unit_test(test_spiffe_invalid),
		cmocka_unit_test(test_principal_patterns),
		cmocka_unit_test(test_principal_bad_patterns),
		cmocka_unit_test(test_xfcc_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
