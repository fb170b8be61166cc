/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A growable byte buffer for text the management thread renders: admin
 * responses, stats, config dumps.
 *
 * Errors are sticky: once an allocation fails the buffer stops growing, every
 * later append returns -1, and `failed` stays set until weft_buf_reset(). A
 * renderer can therefore append freely and check once at the end.
 *
 * The contents are always NUL-terminated when data is non-NULL (the NUL is
 * not counted in len), so a buffer of text can be handed to string functions.
 */
#ifndef WEFT_POLICY_BUF_H
#define WEFT_POLICY_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct weft_buf {
	char *data;  /* NULL until the first append */
	size_t len;  /* bytes in use, excluding the trailing NUL */
	size_t cap;  /* bytes allocated */
	bool failed; /* an allocation failed; contents are truncated */
};

#define WEFT_BUF_INIT {NULL, 0, 0, false}

/** Make b empty without allocating. */
void weft_buf_init(struct weft_buf *b);

/** Release the memory of b and leave it empty (reusable). */
void weft_buf_free(struct weft_buf *b);

/** Empty b but keep its memory; clears `failed`. */
void weft_buf_reset(struct weft_buf *b);

/**
 * Make room for at least `extra` more bytes (plus the NUL).
 * @return 0, or -1 (ENOMEM, or the buffer already failed; `failed` set)
 */
int weft_buf_reserve(struct weft_buf *b, size_t extra);

/** Append n bytes. @return 0 or -1 (see weft_buf_reserve) */
int weft_buf_append(struct weft_buf *b, const void *p, size_t n);

/** Append a NUL-terminated string. @return 0 or -1 */
int weft_buf_puts(struct weft_buf *b, const char *s);

/** Append one byte. @return 0 or -1 */
int weft_buf_putc(struct weft_buf *b, char c);

/** Append formatted text. @return 0 or -1 */
int weft_buf_printf(struct weft_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** va_list variant of weft_buf_printf(). @return 0 or -1 */
int weft_buf_vprintf(struct weft_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/** Remove the first n bytes (all of them if n >= len), keeping the memory. */
void weft_buf_consume(struct weft_buf *b, size_t n);

/**
 * Append s as a JSON string literal, quotes included (RFC 8259 section 7):
 * quote, backslash and control characters are escaped; bytes >= 0x80 are
 * copied as they are (the input is expected to be UTF-8).
 * @return 0 or -1
 */
int weft_buf_json_str(struct weft_buf *b, const char *s);

#endif
