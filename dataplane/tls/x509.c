/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A small DER walker for the parts of RFC 5280 4.1 that weft reads.
 */
#include "dataplane/tls/x509.h"

#include <stdio.h>
#include <string.h>

/* One TLV inside [p, p + left). */
struct der {
	const uint8_t *p;
	size_t left;
};

struct tlv {
	uint8_t tag;
	const uint8_t *v;
	size_t len;
};

/* Reads the next TLV; -1 on anything DER does not allow or the bounds do not hold. */
static int der_next(struct der *d, struct tlv *t)
{
	if (d->left < 2)
		return -1;
	uint8_t tag = d->p[0];
	if ((tag & 0x1f) == 0x1f)
		return -1; /* high tag numbers: nothing in a certificate uses them */
	size_t i = 1, len = d->p[i++];
	if (len & 0x80) {
		size_t n = len & 0x7f;
		if (n == 0 || n > 4 || d->left - i < n)
			return -1; /* indefinite length is BER, not DER */
		len = 0;
		for (size_t k = 0; k < n; k++)
			len = (len << 8) | d->p[i++];
		if (len < 0x80)
			return -1; /* DER: the shortest form */
	}
	if (d->left - i < len)
		return -1;
	t->tag = tag;
	t->v = d->p + i;
	t->len = len;
	d->p += i + len;
	d->left -= i + len;
	return 0;
}

static int der_expect(struct der *d, uint8_t tag, struct tlv *t)
{
	return der_next(d, t) == 0 && t->tag == tag ? 0 : -1;
}

static struct der der_in(const struct tlv *t)
{
	return (struct der){ .p = t->v, .left = t->len };
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const uint8_t *p, size_t n, unsigned *out)
{
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

/* RFC 5280 4.1.2.5: UTCTime YYMMDDHHMMSSZ (YY < 50 is 20YY) or
 * GeneralizedTime YYYYMMDDHHMMSSZ, always UTC, seconds always present. */
static int der_time(const struct tlv *t, int64_t *out)
{
	const uint8_t *p = t->v;
	unsigned year, mon, day, hh, mm, ss;
	size_t i;
	if (t->tag == 0x17 && t->len == 13) {
		if (digits(p, 2, &year))
			return -1;
		year += year < 50 ? 2000 : 1900;
		i = 2;
	} else if (t->tag == 0x18 && t->len == 15) {
		if (digits(p, 4, &year))
			return -1;
		i = 4;
	} else {
		return -1;
	}
	if (digits(p + i, 2, &mon) || digits(p + i + 2, 2, &day) || digits(p + i + 4, 2, &hh) ||
	    digits(p + i + 6, 2, &mm) || digits(p + i + 8, 2, &ss) || p[i + 10] != 'Z')
		return -1;
	if (mon < 1 || mon > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60)
		return -1;
	*out = days_from_civil(year, mon, day) * 86400 + hh * 3600 + mm * 60 + ss;
	return 0;
}

char *tls_x509_time_str(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (gmtime_r(&tt, &tm) == NULL || strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "@%lld", (long long)t);
	return buf;
}

/* ------------------------------------------------------------ subject */

struct strbuf {
	char *p;
	size_t cap, len;
	bool truncated;
};

static void sb_putc(struct strbuf *b, char c)
{
	if (b->len + 1 < b->cap)
		b->p[b->len++] = c;
	else
		b->truncated = true;
	b->p[b->len < b->cap ? b->len : b->cap - 1] = '\0';
}

static void sb_puts(struct strbuf *b, const char *s)
{
	while (*s)
		sb_putc(b, *s++);
}

static void sb_hex(struct strbuf *b, uint8_t v)
{
	static const char hex[] = "0123456789ABCDEF";
	sb_putc(b, hex[v >> 4]);
	sb_putc(b, hex[v & 15]);
}

struct attr_name {
	uint8_t oid[10];
	uint8_t len;
	const char *name;
};

/* Short names as RFC 4514 3 lists them, plus emailAddress as OpenSSL prints it. */
static const struct attr_name attr_names[] = {
	{ { 0x55, 0x04, 0x03 }, 3, "CN" },
	{ { 0x55, 0x04, 0x06 }, 3, "C" },
	{ { 0x55, 0x04, 0x07 }, 3, "L" },
	{ { 0x55, 0x04, 0x08 }, 3, "ST" },
	{ { 0x55, 0x04, 0x09 }, 3, "STREET" },
	{ { 0x55, 0x04, 0x0a }, 3, "O" },
	{ { 0x55, 0x04, 0x0b }, 3, "OU" },
	{ { 0x55, 0x04, 0x05 }, 3, "serialNumber" },
	{ { 0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19 }, 10, "DC" },
	{ { 0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01 }, 10, "UID" },
	{ { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01 }, 9, "emailAddress" },
};

/* Dotted decimal form of an OID for attribute types without a short name. */
static void put_oid(struct strbuf *b, const uint8_t *p, size_t n)
{
	char tmp[24];
	uint64_t v = 0;
	bool first = true;
	for (size_t i = 0; i < n; i++) {
		if (v > (UINT64_MAX >> 7))
			return;
		v = (v << 7) | (p[i] & 0x7f);
		if (p[i] & 0x80)
			continue;
		if (first) {
			unsigned a = v < 40 ? 0 : v < 80 ? 1 : 2;
			snprintf(tmp, sizeof(tmp), "%u.%llu", a, (unsigned long long)(v - 40 * a));
			first = false;
		} else {
			snprintf(tmp, sizeof(tmp), ".%llu", (unsigned long long)v);
		}
		sb_puts(b, tmp);
		v = 0;
	}
}

/* One AttributeValue, escaped per RFC 4514 2.4 (bytes >= 0x80 as \XX, as
 * OpenSSL's RFC 2253 mode does). Non-string types print as #hex of the
 * whole encoding (RFC 4514 2.4, first paragraph). */
static void put_value(struct strbuf *b, const struct tlv *v, const uint8_t *enc, size_t enc_len)
{
	switch (v->tag) {
	case 0x0c: /* UTF8String */
	case 0x13: /* PrintableString */
	case 0x14: /* TeletexString */
	case 0x16: /* IA5String */
		break;
	default:
		sb_putc(b, '#');
		for (size_t i = 0; i < enc_len; i++)
			sb_hex(b, enc[i]);
		return;
	}
	for (size_t i = 0; i < v->len; i++) {
		uint8_t c = v->v[i];
		bool edge = (i == 0 && (c == ' ' || c == '#')) || (i + 1 == v->len && c == ' ');
		if (c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' || c == ';' || edge) {
			sb_putc(b, '\\');
			sb_putc(b, (char)c);
		} else if (c < 0x20 || c >= 0x7f) {
			sb_putc(b, '\\');
			sb_hex(b, c);
		} else {
			sb_putc(b, (char)c);
		}
	}
}

/* Name ::= SEQUENCE OF RelativeDistinguishedName, printed last RDN first. */
static int put_name(const struct tlv *name, char *out, size_t cap, bool *truncated)
{
	struct tlv rdns[32];
	size_t n = 0;
	struct der d = der_in(name);
	while (d.left > 0) {
		if (n == sizeof(rdns) / sizeof(rdns[0]))
			return -1;
		if (der_expect(&d, 0x31, &rdns[n]))
			return -1;
		n++;
	}
	struct strbuf b = { .p = out, .cap = cap, .len = 0, .truncated = false };
	out[0] = '\0';
	for (size_t r = n; r-- > 0;) {
		struct der set = der_in(&rdns[r]);
		bool first_in_rdn = true;
		while (set.left > 0) {
			struct tlv atv, oid, val;
			if (der_expect(&set, 0x30, &atv))
				return -1;
			struct der a = der_in(&atv);
			const uint8_t *val_start;
			if (der_expect(&a, 0x06, &oid))
				return -1;
			val_start = a.p;
			if (der_next(&a, &val) || a.left != 0)
				return -1;
			if (!first_in_rdn)
				sb_putc(&b, '+');
			else if (r + 1 != n)
				sb_putc(&b, ',');
			first_in_rdn = false;
			const char *sn = NULL;
			for (size_t k = 0; k < sizeof(attr_names) / sizeof(attr_names[0]); k++)
				if (attr_names[k].len == oid.len && memcmp(attr_names[k].oid, oid.v, oid.len) == 0)
					sn = attr_names[k].name;
			if (sn != NULL)
				sb_puts(&b, sn);
			else
				put_oid(&b, oid.v, oid.len);
			sb_putc(&b, '=');
			put_value(&b, &val, val_start, (size_t)(val.v + val.len - val_start));
		}
	}
	*truncated = b.truncated;
	return 0;
}

/* --------------------------------------------------------- extensions */

static const uint8_t oid_san[] = { 0x55, 0x1d, 0x11 };
static const uint8_t oid_basic_constraints[] = { 0x55, 0x1d, 0x13 };

static int parse_san(const uint8_t *p, size_t n, struct tls_x509 *out)
{
	struct der d = { .p = p, .left = n };
	struct tlv seq, gn;
	if (der_expect(&d, 0x30, &seq) || d.left != 0)
		return -1;
	struct der names = der_in(&seq);
	while (names.left > 0) {
		if (der_next(&names, &gn))
			return -1;
		struct tls_x509_str s = { .p = (const char *)gn.v, .len = gn.len };
		if (gn.tag == 0x86) { /* [6] uniformResourceIdentifier */
			out->uri_total++;
			if (out->n_uri < TLS_X509_MAX_SANS)
				out->uri[out->n_uri++] = s;
		} else if (gn.tag == 0x82) { /* [2] dNSName */
			if (out->n_dns < TLS_X509_MAX_SANS)
				out->dns[out->n_dns++] = s;
		}
	}
	return 0;
}

static int parse_extensions(const struct tlv *exts_explicit, struct tls_x509 *out)
{
	struct der outer = der_in(exts_explicit);
	struct tlv exts;
	if (der_expect(&outer, 0x30, &exts) || outer.left != 0)
		return -1;
	struct der d = der_in(&exts);
	while (d.left > 0) {
		struct tlv ext, oid, v;
		if (der_expect(&d, 0x30, &ext))
			return -1;
		struct der e = der_in(&ext);
		if (der_expect(&e, 0x06, &oid) || der_next(&e, &v))
			return -1;
		if (v.tag == 0x01 && der_next(&e, &v)) /* critical BOOLEAN */
			return -1;
		if (v.tag != 0x04 || e.left != 0)
			return -1;
		if (oid.len == sizeof(oid_san) && memcmp(oid.v, oid_san, sizeof(oid_san)) == 0) {
			if (parse_san(v.v, v.len, out))
				return -1;
		} else if (oid.len == sizeof(oid_basic_constraints) &&
			   memcmp(oid.v, oid_basic_constraints, sizeof(oid_basic_constraints)) == 0) {
			struct der bc = { .p = v.v, .left = v.len };
			struct tlv seq, ca;
			if (der_expect(&bc, 0x30, &seq))
				return -1;
			struct der s = der_in(&seq);
			if (s.left > 0 && der_next(&s, &ca) == 0 && ca.tag == 0x01 && ca.len == 1)
				out->is_ca = ca.v[0] != 0;
		}
	}
	return 0;
}

/* SubjectPublicKeyInfo: algorithm, and the curve or the modulus size. */
static void parse_spki(const struct tlv *spki, struct tls_x509 *out)
{
	static const uint8_t oid_ec[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
	static const uint8_t oid_rsa[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };
	static const uint8_t oid_ed25519[] = { 0x2b, 0x65, 0x70 };
	static const uint8_t oid_p256[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
	static const uint8_t oid_p384[] = { 0x2b, 0x81, 0x04, 0x00, 0x22 };
	static const uint8_t oid_p521[] = { 0x2b, 0x81, 0x04, 0x00, 0x23 };
	snprintf(out->key_type, sizeof(out->key_type), "unknown");
	struct der d = der_in(spki);
	struct tlv alg, oid, param, bits;
	if (der_expect(&d, 0x30, &alg) || der_expect(&d, 0x03, &bits))
		return;
	struct der a = der_in(&alg);
	if (der_expect(&a, 0x06, &oid))
		return;
#define OID_IS(t, o) ((t).len == sizeof(o) && memcmp((t).v, (o), sizeof(o)) == 0)
	if (OID_IS(oid, oid_ec)) {
		const char *curve = "EC";
		if (der_expect(&a, 0x06, &param) == 0)
			curve = OID_IS(param, oid_p256)   ? "ECDSA P-256"
			      : OID_IS(param, oid_p384) ? "ECDSA P-384"
			      : OID_IS(param, oid_p521) ? "ECDSA P-521"
							: "ECDSA (other curve)";
		snprintf(out->key_type, sizeof(out->key_type), "%s", curve);
	} else if (OID_IS(oid, oid_ed25519)) {
		snprintf(out->key_type, sizeof(out->key_type), "Ed25519");
	} else if (OID_IS(oid, oid_rsa)) {
		/* BIT STRING: unused-bits byte, then RSAPublicKey ::= SEQUENCE { n, e } */
		if (bits.len < 1)
			return;
		struct der k = { .p = bits.v + 1, .left = bits.len - 1 };
		struct tlv seq, n;
		if (der_expect(&k, 0x30, &seq))
			return;
		struct der s = der_in(&seq);
		if (der_expect(&s, 0x02, &n) || n.len == 0)
			return;
		const uint8_t *p = n.v;
		size_t nl = n.len;
		while (nl > 0 && *p == 0) {
			p++;
			nl--;
		}
		unsigned nbits = 0;
		if (nl > 0) {
			nbits = (unsigned)(nl - 1) * 8;
			for (uint8_t top = p[0]; top; top >>= 1)
				nbits++;
		}
		snprintf(out->key_type, sizeof(out->key_type), "RSA %u", nbits);
	}
#undef OID_IS
}

int tls_x509_parse(const uint8_t *der, size_t len, struct tls_x509 *out)
{
	memset(out, 0, sizeof(*out));
	struct der d = { .p = der, .left = len };
	struct tlv cert, tbs, t;
	if (der_expect(&d, 0x30, &cert) || d.left != 0)
		return -1;
	struct der c = der_in(&cert);
	if (der_expect(&c, 0x30, &tbs))
		return -1;
	struct der b = der_in(&tbs);

	if (der_next(&b, &t))
		return -1;
	if (t.tag == 0xa0 && der_next(&b, &t)) /* [0] EXPLICIT version */
		return -1;
	if (t.tag != 0x02) /* serialNumber */
		return -1;
	struct tlv alg, issuer, validity, subject, spki;
	if (der_expect(&b, 0x30, &alg) || der_expect(&b, 0x30, &issuer) || der_expect(&b, 0x30, &validity))
		return -1;
	const uint8_t *subject_start = b.p;
	if (der_expect(&b, 0x30, &subject) || der_expect(&b, 0x30, &spki))
		return -1;
	out->subject_der = subject_start;
	out->subject_der_len = (size_t)(subject.v + subject.len - subject_start);

	struct der v = der_in(&validity);
	struct tlv nb, na;
	if (der_next(&v, &nb) || der_next(&v, &na) || v.left != 0)
		return -1;
	if (der_time(&nb, &out->not_before) || der_time(&na, &out->not_after))
		return -1;

	if (put_name(&subject, out->subject, sizeof(out->subject), &out->subject_truncated))
		return -1;
	parse_spki(&spki, out);

	while (b.left > 0) {
		if (der_next(&b, &t))
			return -1;
		if (t.tag == 0xa3 && parse_extensions(&t, out))
			return -1;
		/* [1] and [2] unique identifiers are skipped */
	}
	return 0;
}

int tls_x509_crl_parse(const uint8_t *der, size_t len, struct tls_x509_crl *out)
{
	memset(out, 0, sizeof(*out));
	struct der d = { .p = der, .left = len };
	struct tlv list, tbs, t, issuer;
	if (der_expect(&d, 0x30, &list) || d.left != 0)
		return -1;
	struct der l = der_in(&list);
	if (der_expect(&l, 0x30, &tbs))
		return -1;
	struct der b = der_in(&tbs);
	if (der_next(&b, &t))
		return -1;
	if (t.tag == 0x02 && der_next(&b, &t)) /* version v2 */
		return -1;
	if (t.tag != 0x30) /* signature AlgorithmIdentifier */
		return -1;
	const uint8_t *issuer_start = b.p;
	if (der_expect(&b, 0x30, &issuer))
		return -1;
	out->issuer_der = issuer_start;
	out->issuer_der_len = (size_t)(issuer.v + issuer.len - issuer_start);
	bool truncated;
	if (put_name(&issuer, out->issuer, sizeof(out->issuer), &truncated))
		return -1;
	if (der_next(&b, &t) || der_time(&t, &out->this_update))
		return -1;
	if (b.left > 0) {
		const uint8_t *save = b.p;
		size_t save_left = b.left;
		if (der_next(&b, &t))
			return -1;
		if (t.tag == 0x17 || t.tag == 0x18) {
			if (der_time(&t, &out->next_update))
				return -1;
		} else {
			b.p = save;
			b.left = save_left;
		}
	}
	if (b.left > 0) {
		if (der_next(&b, &t))
			return -1;
		if (t.tag == 0x30) { /* revokedCertificates */
			struct der r = der_in(&t);
			struct tlv e;
			while (r.left > 0) {
				if (der_expect(&r, 0x30, &e))
					return -1;
				out->n_revoked++;
			}
		}
	}
	return 0;
}
