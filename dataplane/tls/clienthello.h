/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reading a TLS ClientHello without terminating TLS.
 *
 * Two users: SNI passthrough listeners, which route a connection by the
 * server_name the client asks for and then splice bytes without ever
 * decrypting them, and weft's own TLS server, which reads the name (and the
 * ALPN list) before choosing the certificate and the protocol it answers
 * with.
 *
 * The parser is plain C with no allocation and no TLS library. It looks at
 * the bytes received so far (the caller keeps them: nothing is consumed)
 * and answers NEED_MORE until the whole ClientHello handshake message has
 * arrived, which may take several TLS records (RFC 8446 5.1 lets a
 * handshake message span records, and some clients split large hellos).
 * Every length is checked against its container; nothing is read past len.
 *
 * Not supported, reported as NOT_TLS: SSL 2.0-compatible hellos (first byte
 * 0x80), which no TLS 1.2+ client sends.
 */
#ifndef WEFT_DATAPLANE_TLS_CLIENTHELLO_H
#define WEFT_DATAPLANE_TLS_CLIENTHELLO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 6066 3: a HostName is at most 255 bytes (a DNS name). */
#define TLS_CH_SNI_MAX 255
/* ALPN protocol names kept, in the client's order (RFC 7301 3.1). The
 * bytes of a longer list are still validated; the rest is not kept. */
#define TLS_CH_ALPN_MAX 8
/* Largest ClientHello message accepted (the 4-byte header excluded). Real
 * ones are 200 bytes to 2 KiB; post-quantum key shares add about 1.2 KiB
 * each. Anything larger is refused as MALFORMED rather than buffered. */
#define TLS_CH_MAX_LEN 16384

enum tls_ch_status {
	TLS_CH_OK,        /* complete and well formed; out is filled */
	TLS_CH_NEED_MORE, /* consistent so far; out->need says how many bytes to wait for */
	TLS_CH_NOT_TLS,   /* the stream does not start with a TLS handshake record */
	TLS_CH_MALFORMED, /* a TLS handshake record, but not a valid ClientHello */
};

struct tls_clienthello {
	/* Bytes of the input that the records carrying the ClientHello occupy.
	 * A passthrough proxy forwards these (and whatever follows) verbatim. */
	size_t consumed;
	/* With NEED_MORE: total input length needed for the next step (at least
	 * len + 1; the exact total once the record or message length is known). */
	size_t need;
	uint16_t legacy_version;    /* client_version field, 0x0303 for TLS 1.2 and 1.3 */
	uint16_t max_version;       /* highest of supported_versions, else legacy_version */
	bool has_sni;               /* server_name with a host_name entry */
	bool alpn_truncated;        /* more protocols than TLS_CH_ALPN_MAX */
	bool has_session_ticket;    /* session_ticket extension (RFC 5077), empty or not */
	bool has_psk;               /* pre_shared_key (TLS 1.3 resumption attempt) */
	bool has_early_data;        /* early_data (0-RTT) */
	uint8_t sni_len;
	char sni[TLS_CH_SNI_MAX + 1]; /* NUL-terminated, as sent (case kept) */
	uint8_t alpn_count;         /* protocols kept in alpn[] */
	struct {
		uint8_t len;
		char name[256];     /* NUL-terminated; may contain any byte but NUL */
	} alpn[TLS_CH_ALPN_MAX];
};

/**
 * Parse the ClientHello at the start of buf.
 *
 * @param buf  the first bytes the client sent (may be partial)
 * @param len  bytes available in buf
 * @param out  filled on OK; on NEED_MORE only out->need is meaningful
 * @return see enum tls_ch_status. NOT_TLS is decided from the first byte
 *         already; MALFORMED may come before the message is complete.
 */
enum tls_ch_status tls_clienthello_parse(const uint8_t *buf, size_t len, struct tls_clienthello *out);

/** "ok", "need_more", "not_tls", "malformed". */
const char *tls_ch_status_name(enum tls_ch_status s);

enum tls_sniff {
	TLS_SNIFF_NEED_MORE, /* fewer than 3 bytes, all consistent with TLS */
	TLS_SNIFF_TLS,       /* 0x16 0x03 0x00..0x04: a TLS handshake record */
	TLS_SNIFF_PLAIN,     /* anything else: plaintext (HTTP, or an unknown protocol) */
};

/**
 * Permissive listeners: tell a TLS ClientHello from plaintext by the first
 * three bytes (record type handshake, legacy record version 3.x with x at
 * most 4). An HTTP/1 request starts with a method token and HTTP/2 with
 * "PRI ", neither of which starts with 0x16.
 */
enum tls_sniff tls_sniff(const uint8_t *buf, size_t len);

#endif
