/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * HTTP/1.1 message parsing and serialisation (RFC 9110, RFC 9112).
 *
 * Plain C over byte buffers: no DPDK, no allocation, no copies. Every span the
 * parsers report is a pointer and a length into the caller's buffer.
 *
 * Three layers:
 *   1. h1_parse_request() / h1_parse_response(): the syntax of the start line
 *      and the header block (RFC 9112 2-5). Resumable at any byte: a head
 *      arriving in many pieces is scanned once in total, never from the start
 *      again (see struct h1_parser).
 *   2. h1_request_info() / h1_response_info(): the meaning of the head once it
 *      is complete: message framing (RFC 9112 6), Host and the target's
 *      authority, Connection options and keep-alive, Expect, Upgrade.
 *   3. h1_chunked_decode(): the chunked transfer coding (RFC 9112 7.1), a
 *      resumable state machine that reports body data in place; and the
 *      output side: chunk framing, head serialisation with hop-by-hop
 *      stripping and the forwarding fields (x-forwarded-*, x-request-id).
 *
 * Everything refused is refused with a named reason from H1_ERRORS, which
 * also says which status answers the client. The policy is strict: anything
 * two implementations could read differently (request smuggling, RFC 9112
 * 11.2) is an error, never repaired.
 */
#ifndef WEFT_DATAPLANE_HTTP_H1_H
#define WEFT_DATAPLANE_HTTP_H1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * X(ENUM_SUFFIX, "name", status, "help")
 *
 * status answers a client whose request was refused. A refused response from
 * an upstream is answered 502 whatever the reason; the names are shared so
 * one set of counters covers both directions.
 */
#define H1_ERRORS(X)                                                                               \
	X(BAD_REQUEST_LINE, "bad_request_line", 400,                                               \
	  "request line is not method SP request-target SP HTTP-version CRLF (RFC 9112 3)")        \
	X(BAD_METHOD_TOKEN, "bad_method_token", 400, "method is empty or not a token (RFC 9110 9.1)") \
	X(BAD_TARGET, "bad_target", 400,                                                           \
	  "request-target malformed or in a form the method does not allow (RFC 9112 3.2)")        \
	X(URI_TOO_LONG, "uri_too_long", 414, "request-target longer than the configured limit")    \
	X(BAD_VERSION, "bad_version", 505, "HTTP-version other than HTTP/1.0 or HTTP/1.1")         \
	X(BAD_STATUS_LINE, "bad_status_line", 502,                                                 \
	  "status line is not HTTP-version SP 3DIGIT SP reason CRLF (RFC 9112 4)")                 \
	X(HEADERS_TOO_LARGE, "headers_too_large", 431, "message head longer than the configured limit") \
	X(TOO_MANY_HEADERS, "too_many_headers", 431, "more header fields than the configured limit") \
	X(BARE_CR, "bare_cr", 400, "CR not followed by LF (RFC 9112 2.2)")                          \
	X(BARE_LF, "bare_lf", 400, "LF not preceded by CR (RFC 9112 2.2)")                          \
	X(OBS_FOLD, "obs_fold", 400, "field line folded onto the previous one (RFC 9112 5.2)")      \
	X(WS_AFTER_START_LINE, "ws_after_start_line", 400,                                         \
	  "whitespace between the start line and the first field (RFC 9112 2.2)")                 \
	X(NUL_OR_CTL, "nul_or_ctl", 400, "NUL or control character in the head (RFC 9110 5.5)")     \
	X(WS_BEFORE_COLON, "ws_before_colon", 400,                                                 \
	  "whitespace between a field name and the colon (RFC 9112 5.1)")                          \
	X(BAD_HEADER_NAME, "bad_header_name", 400,                                                 \
	  "field name empty, not a token, or without a colon (RFC 9110 5.1)")                      \
	X(MISSING_HOST, "missing_host", 400, "HTTP/1.1 request without Host (RFC 9112 3.2)")       \
	X(MULTIPLE_HOST, "multiple_host", 400, "request with more than one Host (RFC 9112 3.2)")   \
	X(BAD_HOST, "bad_host", 400, "Host is not uri-host [ \":\" port ] (RFC 9110 7.2)")          \
	X(HOST_MISMATCH, "host_mismatch", 400, "absolute-form authority differs from Host")        \
	X(CL_INVALID, "cl_invalid", 400, "Content-Length is not a decimal number (RFC 9110 8.6)")   \
	X(CL_REPEATED, "cl_repeated", 400, "Content-Length repeated, as a second field or a list") \
	X(TE_NOT_CHUNKED, "te_not_chunked", 400,                                                   \
	  "Transfer-Encoding whose final coding is not chunked, or chunked twice (RFC 9112 6.1)")  \
	X(TE_UNSUPPORTED, "te_unsupported", 501, "transfer coding other than chunked (RFC 9112 6.1)") \
	X(TE_HTTP10, "te_http10", 400, "Transfer-Encoding in an HTTP/1.0 message (RFC 9112 6.1)")   \
	X(CL_WITH_TE, "cl_with_te", 400, "both Content-Length and Transfer-Encoding (RFC 9112 6.3)") \
	X(BAD_CONNECTION, "bad_connection", 400,                                                   \
	  "Connection option not a token (RFC 9110 7.6.1), or more than 32 of them")               \
	X(BAD_CHUNK_SIZE, "bad_chunk_size", 400, "chunk-size is not 1*HEXDIG (RFC 9112 7.1)")      \
	X(CHUNK_SIZE_OVERFLOW, "chunk_size_overflow", 400, "chunk-size longer than 16 hex digits") \
	X(BAD_CHUNK_EXT, "bad_chunk_ext", 400, "chunk extension malformed (RFC 9112 7.1.1)")        \
	X(CHUNK_EXT_TOO_LONG, "chunk_ext_too_long", 400, "chunk extensions longer than the configured limit") \
	X(BAD_CHUNK_CRLF, "bad_chunk_crlf", 400, "chunk line or chunk data not ended by CRLF (RFC 9112 7.1)") \
	X(BAD_TRAILER, "bad_trailer", 400,                                                         \
	  "trailer field that frames or routes the message (RFC 9110 6.5.1)")                      \
	X(TRAILER_TOO_LARGE, "trailer_too_large", 431, "trailer section over the configured limits") \
	X(EXPECT_UNSUPPORTED, "expect_unsupported", 417,                                           \
	  "expectation other than 100-continue (RFC 9110 10.1.1)")                                 \
	X(UPGRADE_REFUSED, "upgrade_refused", 501, "protocol upgrade requested or switched (RFC 9110 7.8)") \
	X(CONNECT_UNSUPPORTED, "connect_unsupported", 501, "CONNECT method (tunnels not supported)")

enum h1_err {
	H1_E_NONE = 0,
#define H1_X_ENUM(e, name, status, help) H1_E_##e,
	H1_ERRORS(H1_X_ENUM)
#undef H1_X_ENUM
	H1_E_COUNT
};

/** Name of err ("bad_target"), "none" for H1_E_NONE, "?" out of range. */
const char *h1_err_name(enum h1_err err);
/** Help text of err. */
const char *h1_err_help(enum h1_err err);
/** Status that answers a client whose request was refused with err (200 for H1_E_NONE). */
int h1_err_status(enum h1_err err);

/* Return values of the parsers besides a byte count. */
#define H1_ERROR (-1) /* refused; the reason is in the state's err */
#define H1_AGAIN (-2) /* incomplete: call again with more bytes */

/*
 * Limits; HAProxy's and Envoy's defaults. max_header_bytes counts the whole
 * head, start line and the final empty line included.
 */
struct h1_limits {
	uint32_t max_header_bytes;   /* 60 KiB; at most H1_MAX_HEADER_BYTES */
	uint32_t max_uri;            /* 8 KiB of request-target */
	uint32_t max_trailer_bytes;  /* 8 KiB of trailer section */
	uint16_t max_fields;         /* 100 header fields */
	uint16_t max_trailer_fields; /* 32 trailer fields */
	uint16_t max_chunk_ext;      /* 1 KiB of extensions on one chunk line */
	uint16_t flags;              /* H1_LIM_* */
};

/* Refuse a request carrying Upgrade (upgrade_refused) instead of flagging it. */
#define H1_LIM_REJECT_UPGRADE 0x0001u

#define H1_MAX_HEADER_BYTES (1u << 20)

#define H1_LIMITS_DEFAULT                                                                          \
	{                                                                                          \
		.max_header_bytes = 60 * 1024, .max_uri = 8 * 1024, .max_trailer_bytes = 8 * 1024, \
		.max_fields = 100, .max_trailer_fields = 32, .max_chunk_ext = 1024, .flags = 0,    \
	}

extern const struct h1_limits h1_default_limits;

/* A span of the caller's buffer. */
struct h1_str {
	const char *ptr;
	size_t len;
};

/* Well-known fields, recognised by the semantic pass (case-insensitive). */
enum h1_field_id {
	H1_F_OTHER = 0,
	H1_F_HOST,
	H1_F_CONTENT_LENGTH,
	H1_F_TRANSFER_ENCODING,
	H1_F_CONNECTION,
	H1_F_KEEP_ALIVE,
	H1_F_PROXY_CONNECTION,
	H1_F_TE,
	H1_F_TRAILER,
	H1_F_UPGRADE,
	H1_F_HTTP2_SETTINGS,
	H1_F_EXPECT,
	H1_F_X_FORWARDED_FOR,
	H1_F_X_FORWARDED_PROTO,
	H1_F_X_REQUEST_ID,
};

/* h1_field.flags */
#define H1_FF_HOP 0x01  /* hop-by-hop: never forwarded (RFC 9110 7.6.1) */
#define H1_FF_DROP 0x02 /* removed by the proxy (h1_fields_remove) */

/*
 * One field line: name and value in the caller's buffer (or, for fields the
 * proxy adds, in memory that outlives the serialisation). The value has its
 * leading and trailing whitespace removed (RFC 9112 5.1). 24 bytes.
 */
struct h1_field {
	const char *name;
	const char *value;
	uint32_t value_len;
	uint16_t name_len;
	uint8_t id;    /* enum h1_field_id, set by h1_*_info() */
	uint8_t flags; /* H1_FF_* */
};

enum h1_method {
	H1_M_OTHER = 0,
	H1_M_GET,
	H1_M_HEAD,
	H1_M_POST,
	H1_M_PUT,
	H1_M_DELETE,
	H1_M_CONNECT,
	H1_M_OPTIONS,
	H1_M_TRACE,
	H1_M_PATCH,
};

/* RFC 9112 3.2 */
enum h1_target_form {
	H1_TF_ORIGIN = 0, /* /path?query */
	H1_TF_ABSOLUTE,   /* http://authority/path?query */
	H1_TF_ASTERISK,   /* *, OPTIONS only */
};

/*
 * A request head. The caller points fields at an array of max_fields
 * entries before the first call; the parser fills the rest.
 */
struct h1_request {
	struct h1_str method;
	struct h1_str target;
	struct h1_field *fields;
	uint16_t max_fields; /* capacity of fields (the limit is the smaller of it and the limits') */
	uint16_t n_fields;
	uint8_t method_id;   /* enum h1_method */
	uint8_t target_form; /* enum h1_target_form */
	uint8_t minor;       /* 0 or 1 */
};

struct h1_response {
	struct h1_str reason;
	struct h1_field *fields;
	uint16_t max_fields;
	uint16_t n_fields;
	uint16_t status; /* 100..599 */
	uint8_t minor;
};

/*
 * Parser state for one message head. Resumption: every state ends at a byte
 * boundary, so a call continues exactly where the previous one stopped and
 * each byte is examined once however the head is split. Field entries are
 * written as their lines complete, as pointers into the buffer, so the caller
 * must present the same buffer (same address, the earlier bytes unchanged,
 * more appended) on every call for one head. If the address changes the
 * parser notices and starts over from the first byte: correct, at the cost
 * of one rescan.
 */
struct h1_parser {
	const char *base;   /* buffer of the previous call */
	uint32_t off;       /* next byte to examine */
	uint32_t mark;      /* start of the current element (method, target, field name) */
	uint32_t vstart;    /* start of the current field value */
	uint16_t nlen;      /* length of the current field name */
	uint16_t n_fields;  /* field lines completed */
	uint16_t max_fields;
	uint16_t status;
	uint8_t state;
	uint8_t vpos;       /* position within "HTTP/x.y" */
	uint8_t major, minor;
	uint8_t err;        /* enum h1_err after H1_ERROR */
	uint8_t is_response;
	uint8_t tseen;      /* class bits seen in the target */
	const struct h1_limits *lim;
};

/** Prepare p for a new message head; lim NULL means h1_default_limits. */
void h1_parser_init(struct h1_parser *p, const struct h1_limits *lim);

/**
 * Parse a request head from buf[0..len): leading empty lines (RFC 9112 2.2),
 * the request line, the field lines and the empty line.
 *
 * @return bytes of buf the head takes (the body or the next request starts
 *   there), H1_AGAIN when more bytes are needed (req holds what is complete
 *   so far), or H1_ERROR with p->err set. After H1_ERROR or a byte count, call
 *   h1_parser_init() before the next message.
 */
int h1_parse_request(struct h1_parser *p, const char *buf, size_t len, struct h1_request *req);

/** Same for a response head (status line, fields, empty line). */
int h1_parse_response(struct h1_parser *p, const char *buf, size_t len, struct h1_response *resp);

/* ---- semantics of a complete head ------------------------------------- */

enum h1_body {
	H1_BODY_NONE = 0, /* no body: the next message starts after the head */
	H1_BODY_LENGTH,   /* content_length bytes */
	H1_BODY_CHUNKED,  /* chunked transfer coding (h1_chunked_decode) */
	H1_BODY_CLOSE,    /* response delimited by the connection's close (RFC 9112 6.3 p8) */
};

/* Connection options accepted in one message (bad_connection beyond). */
#define H1_MAX_CONNECTION_OPTIONS 32

/* h1_msg_info.flags */
#define H1_MI_KEEP_ALIVE 0x01      /* the connection persists after this message (RFC 9112 9.3) */
#define H1_MI_EXPECT_CONTINUE 0x02 /* Expect: 100-continue on an HTTP/1.1 request */
#define H1_MI_UPGRADE 0x04         /* Upgrade present (stripped as hop-by-hop unless refused) */
#define H1_MI_CONN_CLOSE 0x08      /* Connection: close */
#define H1_MI_CONN_KEEP_ALIVE 0x10 /* Connection: keep-alive */
#define H1_MI_INFORMATIONAL 0x20   /* 1xx response: the final response follows */

struct h1_msg_info {
	uint64_t content_length; /* H1_BODY_LENGTH */
	struct h1_str authority; /* request: absolute-form authority, else Host (maybe empty) */
	struct h1_str path;      /* request: what follows the authority in origin-form (maybe empty) */
	int16_t host;            /* index of the Host field, -1 without */
	uint8_t body;            /* enum h1_body */
	uint8_t flags;           /* H1_MI_* */
};

/**
 * Meaning of a complete request head: framing, Host, Connection, Expect,
 * Upgrade. Sets each field's id and marks hop-by-hop fields H1_FF_HOP.
 * @return H1_E_NONE, or the reason to refuse the request.
 */
enum h1_err h1_request_info(struct h1_request *req, const struct h1_limits *lim,
			    struct h1_msg_info *info);

/**
 * Meaning of a complete response head; req_method is the method of the
 * request it answers (a response to HEAD has no body, RFC 9112 6.3).
 *
 * The framing rules are the request's: a Transfer-Encoding other than a
 * single chunked is refused (te_not_chunked, te_unsupported) rather than
 * read until close as RFC 9112 6.3 item 4 would allow for a response, and
 * Content-Length beside Transfer-Encoding is refused rather than ignored:
 * the proxy answers the client 502 and never forwards a body it could frame
 * differently from the next hop. A 101 is refused (upgrade_refused): no
 * Upgrade is ever forwarded, so no switch can be legitimate. Content-Length
 * or Transfer-Encoding on 1xx, 204 and 304 responses and on responses to
 * HEAD is accepted and ignored (such responses never have a body).
 */
enum h1_err h1_response_info(struct h1_response *resp, enum h1_method req_method,
			     struct h1_msg_info *info);

/* ---- chunked transfer coding (RFC 9112 7.1) ---------------------------- */

/* Decoder state; zero it with h1_chunked_init(). */
struct h1_chunked {
	uint64_t remaining;   /* data bytes left in the current chunk */
	uint64_t size;        /* chunk-size being read */
	uint32_t ext_len;     /* extension bytes on the current chunk line */
	uint32_t trailer_len; /* bytes of the trailer section */
	uint16_t n_trailers;
	uint8_t state;
	uint8_t ndigits;
	uint8_t err;  /* enum h1_err after H1_ERROR */
	uint8_t nlen; /* bytes of the trailer name kept in name[] */
	char name[18]; /* lower-cased start of the current trailer name */
	const struct h1_limits *lim;
};

void h1_chunked_init(struct h1_chunked *d, const struct h1_limits *lim);

/**
 * Decode chunked body bytes in[0..len). Body data found is reported in place
 * as up to max spans of in; framing (chunk lines, CRLFs, the trailer section)
 * is validated and skipped.
 *
 * @return bytes consumed (all of len unless data[] filled up or the body
 *   ended: bytes after the end belong to the next message), or H1_ERROR with
 *   d->err set. *n receives the number of spans written.
 */
long h1_chunked_decode(struct h1_chunked *d, const char *in, size_t len, struct h1_str *data,
		       unsigned max, unsigned *n);

/**
 * Copying variant: decode in[0..len) and write the body again in canonical
 * chunked form to out (one chunk per data span, no extensions, trailer fields
 * copied as received), so what the next hop reads cannot differ from what
 * was checked.
 *
 * @return bytes consumed (less than len when out is full: at least
 *   H1_REENCODE_MIN bytes of room make progress), or H1_ERROR. *out_len
 *   receives the bytes written.
 */
long h1_chunked_reencode(struct h1_chunked *d, const char *in, size_t len, char *out, size_t cap,
			 size_t *out_len);

/* "1" CRLF, one data byte, CRLF */
#define H1_REENCODE_MIN 6

/** True once the last chunk and the trailer section have been read. */
bool h1_chunked_done(const struct h1_chunked *d);

/* ---- output --------------------------------------------------------------- */

/*
 * A caller-provided output buffer. Writes past cap are counted but not made,
 * so one check of h1_out_ok() at the end covers a whole serialisation.
 */
struct h1_out {
	char *buf;
	size_t cap;
	size_t len; /* may exceed cap: the output did not fit */
};

static inline void h1_out_init(struct h1_out *o, char *buf, size_t cap)
{
	o->buf = buf;
	o->cap = cap;
	o->len = 0;
}

static inline bool h1_out_ok(const struct h1_out *o)
{
	return o->len <= o->cap;
}

void h1_out_put(struct h1_out *o, const void *p, size_t n);

/** Chunk-size line for n data bytes ("1a2b\r\n"); n == 0 writes the last-chunk "0\r\n". */
void h1_out_chunk_header(struct h1_out *o, uint64_t n);

/** Request line "method SP target SP HTTP/1.1 CRLF" (this proxy speaks 1.1). */
void h1_out_request_line(struct h1_out *o, struct h1_str method, struct h1_str target);
/** Status line "HTTP/1.1 SP status SP reason CRLF". */
void h1_out_status_line(struct h1_out *o, unsigned status, struct h1_str reason);
/** One field line "name: value CRLF". */
void h1_out_field(struct h1_out *o, const char *name, size_t nlen, const char *value, size_t vlen);
/** Every field not marked H1_FF_HOP or H1_FF_DROP, in order. */
void h1_out_fields(struct h1_out *o, const struct h1_field *f, unsigned n);
/** The empty line that ends a head. */
void h1_out_end(struct h1_out *o);

/* ---- editing a field list -------------------------------------------------- */

/** Index of the first field at or after from named name (case-insensitive), or -1. */
int h1_fields_find(const struct h1_field *f, unsigned n, unsigned from, const char *name,
		   size_t nlen);
/** Mark every field named name H1_FF_DROP; returns how many. */
unsigned h1_fields_remove(struct h1_field *f, unsigned n, const char *name, size_t nlen);
/**
 * Append a field (name and value must outlive the serialisation).
 * @return 0, or -1 when *n == cap.
 */
int h1_fields_add(struct h1_field *f, unsigned *n, unsigned cap, const char *name, size_t nlen,
		  const char *value, size_t vlen);
/** Remove every field named name, then add one with value. */
int h1_fields_set(struct h1_field *f, unsigned *n, unsigned cap, const char *name, size_t nlen,
		  const char *value, size_t vlen);

/* ---- forwarding ---------------------------------------------------------------- */

/* A fast per-worker generator for request ids (xoshiro256**); not for secrets. */
struct h1_prng {
	uint64_t s[4];
};

void h1_prng_seed(struct h1_prng *r, uint64_t seed);
uint64_t h1_prng_next(struct h1_prng *r);

#define H1_REQUEST_ID_LEN 36

/** A random UUID version 4 in its 36-character text form (RFC 9562 5.4), no NUL. */
void h1_request_id(struct h1_prng *r, char out[H1_REQUEST_ID_LEN]);

/* h1_fwd.flags */
#define H1_FWD_XFF 0x01              /* append client_addr to x-forwarded-for */
#define H1_FWD_XFP 0x02              /* set x-forwarded-proto to proto */
#define H1_FWD_REQUEST_ID 0x04       /* make sure x-request-id is present */
#define H1_FWD_KEEP_REQUEST_ID 0x08  /* keep a valid incoming x-request-id instead of replacing it */
#define H1_FWD_CLOSE 0x10            /* add "connection: close" */
#define H1_FWD_CHUNK_CLOSE_BODY 0x20 /* response: re-frame a close-delimited body as chunked */

/* What the proxy adds when it forwards a head. */
struct h1_fwd {
	struct h1_str client_addr; /* text form of the downstream peer's address */
	struct h1_str proto;       /* "http" or "https" */
	struct h1_prng *prng;      /* for generated request ids */
	uint32_t flags;            /* H1_FWD_* */
	char request_id[H1_REQUEST_ID_LEN]; /* out: the id generated, if one was */
	bool request_id_generated;
};

/**
 * Write the head to forward upstream for a request that h1_request_info()
 * accepted: origin-form target (absolute-form rewritten, RFC 9112 3.2.1),
 * HTTP/1.1, every field but the hop-by-hop ones and those marked dropped,
 * Host from the authority, the forwarding fields per fwd->flags, and the
 * framing of info (Content-Length as received, or transfer-encoding:
 * chunked, the body to be re-encoded with h1_chunked_reencode() or copied
 * as decoded and validated).
 * @return 0, or -1 when out is too small.
 */
int h1_write_request_head(struct h1_out *o, const struct h1_request *req,
			  const struct h1_msg_info *info, struct h1_fwd *fwd);

/**
 * Write the head to forward downstream for a response that
 * h1_response_info() accepted.
 * @return 0, or -1 when out is too small.
 */
int h1_write_response_head(struct h1_out *o, const struct h1_response *resp,
			   const struct h1_msg_info *info, const struct h1_fwd *fwd);

#endif
