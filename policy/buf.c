/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "policy/buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_MIN_CAP 256

void weft_buf_init(struct weft_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->failed = false;
}

void weft_buf_free(struct weft_buf *b)
{
	free(b->data);
	weft_buf_init(b);
}

void weft_buf_reset(struct weft_buf *b)
{
	b->len = 0;
	b->failed = false;
	if (b->data != NULL)
		b->data[0] = '\0';
}

int weft_buf_reserve(struct weft_buf *b, size_t extra)
{
	if (b->failed) {
		errno = ENOMEM;
		return -1;
	}
	/* +1 keeps room for the terminating NUL. */
	if (extra >= SIZE_MAX / 2 - b->len) {
		b->failed = true;
		errno = ENOMEM;
		return -1;
	}
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;

	size_t cap = b->cap ? b->cap : BUF_MIN_CAP;
	while (cap < need)
		cap *= 2;
	char *p = realloc(b->data, cap);
	if (p == NULL) {
		b->failed = true;
		errno = ENOMEM;
		return -1;
	}
	if (b->data == NULL)
		p[0] = '\0';
	b->data = p;
	b->cap = cap;
	return 0;
}

int weft_buf_append(struct weft_buf *b, const void *p, size_t n)
{
	if (weft_buf_reserve(b, n) < 0)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int weft_buf_puts(struct weft_buf *b, const char *s)
{
	return weft_buf_append(b, s, strlen(s));
}

int weft_buf_putc(struct weft_buf *b, char c)
{
	return weft_buf_append(b, &c, 1);
}

int weft_buf_vprintf(struct weft_buf *b, const char *fmt, va_list ap)
{
	if (weft_buf_reserve(b, 64) < 0)
		return -1;

	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		b->data[b->len] = '\0';
		b->failed = true;
		return -1;
	}
	if ((size_t)n >= b->cap - b->len) {
		/* Did not fit: grow to the exact size and format again. */
		if (weft_buf_reserve(b, (size_t)n) < 0) {
			b->data[b->len] = '\0';
			return -1;
		}
		va_copy(ap2, ap);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
		va_end(ap2);
	}
	b->len += (size_t)n;
	return 0;
}

int weft_buf_printf(struct weft_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = weft_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void weft_buf_consume(struct weft_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
	} else {
		memmove(b->data, b->data + n, b->len - n);
		b->len -= n;
	}
	if (b->data != NULL)
		b->data[b->len] = '\0';
}

int weft_buf_json_str(struct weft_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	if (weft_buf_putc(b, '"') < 0)
		return -1;
	const char *run = s; /* start of bytes that need no escaping */
	for (;; s++) {
		unsigned char c = (unsigned char)*s;
		if (c != '\0' && c >= 0x20 && c != '"' && c != '\\')
			continue;
		weft_buf_append(b, run, (size_t)(s - run));
		run = s + 1;
		if (c == '\0')
			break;
		switch (c) {
		case '"': weft_buf_puts(b, "\\\""); break;
		case '\\': weft_buf_puts(b, "\\\\"); break;
		case '\n': weft_buf_puts(b, "\\n"); break;
		case '\r': weft_buf_puts(b, "\\r"); break;
		case '\t': weft_buf_puts(b, "\\t"); break;
		default: {
			char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
			weft_buf_append(b, u, sizeof(u));
		}
		}
	}
	weft_buf_putc(b, '"');
	return b->failed ? -1 : 0;
}
