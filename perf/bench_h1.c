/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * In-process benchmark of the HTTP/1.1 parser: TSC cycles to parse one
 * request head (syntax and the semantic pass: framing, Host, Connection),
 * for a typical 300-byte API request and a 1.5 KiB browser request, and
 * cycles to write the forwarded head. When built with llhttp (Node.js's
 * parser, shipped as C sources by Debian's node-llhttp) the same heads are
 * parsed by it in the same run, with callbacks that only record the spans,
 * as weft's parser does.
 *
 * Usage: bench_h1 [iterations]   (pin it: taskset -c 1 bench_h1)
 * Prints one JSON line per case; each figure is the median of 7 rounds, the
 * contenders' rounds alternating.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>

#include "dataplane/http/h1.h"

#ifdef WEFT_HAVE_LLHTTP
#include <llhttp.h>
#endif

#define ROUNDS 7

/* Build a request of exactly size bytes by padding one field's value. */
static char *make_request(const char *head, const char *pad_name, size_t size)
{
	size_t hl = strlen(head), nl = strlen(pad_name);
	/* head, then "pad_name: " value CRLF CRLF */
	size_t fixed = hl + nl + 2 + 2 + 2;
	if (size < fixed + 1) {
		fprintf(stderr, "request template longer than %zu bytes\n", size);
		exit(1);
	}
	char *s = malloc(size + 1);
	if (s == NULL)
		exit(1);
	size_t k = 0;
	memcpy(s + k, head, hl);
	k += hl;
	memcpy(s + k, pad_name, nl);
	k += nl;
	memcpy(s + k, ": ", 2);
	k += 2;
	for (size_t i = 0; k < size - 4; i++)
		s[k++] = "0123456789abcdef"[i % 16];
	memcpy(s + k, "\r\n\r\n", 4);
	k += 4;
	s[k] = '\0';
	return s;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

static volatile unsigned sink;

static uint64_t weft_parse(const char *req, size_t len, unsigned iters)
{
	struct h1_field f[100];
	struct h1_parser p;
	struct h1_request r = {.fields = f, .max_fields = 100};
	struct h1_msg_info mi;

	uint64_t t0 = __rdtsc();
	for (unsigned i = 0; i < iters; i++) {
		h1_parser_init(&p, NULL);
		if (h1_parse_request(&p, req, len, &r) != (int)len ||
		    h1_request_info(&r, NULL, &mi) != H1_E_NONE) {
			fprintf(stderr, "weft refused the benchmark request\n");
			exit(1);
		}
		sink += r.n_fields;
	}
	return __rdtsc() - t0;
}

static uint64_t weft_forward(const char *req, size_t len, unsigned iters)
{
	struct h1_field f[100];
	struct h1_parser p;
	struct h1_request r = {.fields = f, .max_fields = 100};
	struct h1_msg_info mi;
	struct h1_prng prng;
	static char out[4096];
	struct h1_out o;

	h1_prng_seed(&prng, 1);
	h1_parser_init(&p, NULL);
	if (h1_parse_request(&p, req, len, &r) != (int)len || h1_request_info(&r, NULL, &mi) != H1_E_NONE)
		exit(1);
	struct h1_fwd fwd = {
		.client_addr = {"198.18.0.1", 10},
		.proto = {"https", 5},
		.prng = &prng,
		.flags = H1_FWD_XFF | H1_FWD_XFP | H1_FWD_REQUEST_ID,
	};
	uint64_t t0 = __rdtsc();
	for (unsigned i = 0; i < iters; i++) {
		h1_out_init(&o, out, sizeof(out));
		if (h1_write_request_head(&o, &r, &mi, &fwd) != 0)
			exit(1);
		sink += (unsigned)o.len;
	}
	return __rdtsc() - t0;
}

#ifdef WEFT_HAVE_LLHTTP
/* Callbacks record spans, as a zero-copy consumer of llhttp would. */
struct ll_spans {
	const char *p[256];
	size_t n[256];
	unsigned k;
	int done;
};

static int ll_span(llhttp_t *ll, const char *at, size_t len)
{
	struct ll_spans *s = ll->data;
	s->p[s->k & 255] = at;
	s->n[s->k & 255] = len;
	s->k++;
	return 0;
}

static int ll_headers_done(llhttp_t *ll)
{
	struct ll_spans *s = ll->data;
	s->done = 1;
	return 0;
}

static uint64_t llhttp_parse(const char *req, size_t len, unsigned iters)
{
	llhttp_settings_t set;
	llhttp_t ll;
	struct ll_spans s;

	llhttp_settings_init(&set);
	set.on_method = ll_span;
	set.on_url = ll_span;
	set.on_header_field = ll_span;
	set.on_header_value = ll_span;
	set.on_headers_complete = ll_headers_done;
	uint64_t t0 = __rdtsc();
	for (unsigned i = 0; i < iters; i++) {
		llhttp_init(&ll, HTTP_REQUEST, &set);
		ll.data = &s;
		s.k = 0;
		s.done = 0;
		if (llhttp_execute(&ll, req, len) != HPE_OK || !s.done) {
			fprintf(stderr, "llhttp refused the benchmark request\n");
			exit(1);
		}
		sink += s.k;
	}
	return __rdtsc() - t0;
}
#endif

typedef uint64_t (*bench_fn)(const char *, size_t, unsigned);

static uint64_t cycles_per(bench_fn fn, const char *req, size_t len, unsigned iters)
{
	uint64_t v[ROUNDS];
	fn(req, len, iters / 10 + 1); /* warm caches and branch predictors */
	for (int r = 0; r < ROUNDS; r++)
		v[r] = fn(req, len, iters) / iters;
	return median(v, ROUNDS);
}

static void report(const char *name, const char *req, size_t len, unsigned iters)
{
#ifdef WEFT_HAVE_LLHTTP
	/* rounds alternate between the contenders, so both see the same load */
	uint64_t w[ROUNDS], p[ROUNDS];
	weft_parse(req, len, iters / 10 + 1);
	llhttp_parse(req, len, iters / 10 + 1);
	for (int r = 0; r < ROUNDS; r++) {
		w[r] = weft_parse(req, len, iters) / iters;
		p[r] = llhttp_parse(req, len, iters) / iters;
	}
	uint64_t wm = median(w, ROUNDS), pm = median(p, ROUNDS);
	printf("{\"bench\":\"http\",\"case\":\"%s\",\"metric\":\"cycles_per_request\",\"unit\":\"cycles\","
	       "\"weft\":%llu,\"peer\":\"llhttp-%d.%d.%d\",\"peer_value\":%llu,\"ratio\":%.3f,"
	       "\"better\":\"lower\"}\n",
	       name, (unsigned long long)wm, LLHTTP_VERSION_MAJOR, LLHTTP_VERSION_MINOR,
	       LLHTTP_VERSION_PATCH, (unsigned long long)pm, (double)wm / (double)pm);
#else
	uint64_t w = cycles_per(weft_parse, req, len, iters);
	printf("{\"bench\":\"http\",\"case\":\"%s\",\"metric\":\"cycles_per_request\",\"unit\":\"cycles\","
	       "\"weft\":%llu,\"better\":\"lower\"}\n",
	       name, (unsigned long long)w);
#endif
}

int main(int argc, char **argv)
{
	unsigned iters = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 200000;
	if (iters == 0)
		iters = 1;

	char *small = make_request("GET /api/v1/users/12345/profile?fields=name,email HTTP/1.1\r\n"
				   "Host: api.example.com\r\n"
				   "User-Agent: curl/7.88.1\r\n"
				   "Accept: application/json\r\n"
				   "Accept-Encoding: gzip\r\n"
				   "X-Request-Id: 7f9c2ba4-e88f-4d1a-9b3c-2f1e6d5a4c3b\r\n",
				   "Authorization", 300);
	char *big = make_request(
		"GET /catalog/products/widgets?category=tools&sort=price&page=3 HTTP/1.1\r\n"
		"Host: www.example.com\r\n"
		"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
		"Chrome/120.0.0.0 Safari/537.36\r\n"
		"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,"
		"image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n"
		"Accept-Language: en-US,en;q=0.9,de;q=0.8\r\n"
		"Accept-Encoding: gzip, deflate, br\r\n"
		"Referer: https://www.example.com/catalog/products?category=tools\r\n"
		"Sec-Ch-Ua: \"Not_A Brand\";v=\"8\", \"Chromium\";v=\"120\"\r\n"
		"Sec-Ch-Ua-Mobile: ?0\r\n"
		"Sec-Ch-Ua-Platform: \"Linux\"\r\n"
		"Sec-Fetch-Dest: document\r\n"
		"Sec-Fetch-Mode: navigate\r\n"
		"Sec-Fetch-Site: same-origin\r\n"
		"Sec-Fetch-User: ?1\r\n"
		"Upgrade-Insecure-Requests: 1\r\n"
		"Cache-Control: max-age=0\r\n"
		"Connection: keep-alive\r\n",
		"Cookie", 1536);

	report("parse-300B", small, strlen(small), iters);
	report("parse-1536B", big, strlen(big), iters / 4);
	uint64_t fw = cycles_per(weft_forward, small, strlen(small), iters);
	printf("{\"bench\":\"http\",\"case\":\"forward-head-300B\",\"metric\":\"cycles_per_request\","
	       "\"unit\":\"cycles\",\"weft\":%llu,\"better\":\"lower\"}\n",
	       (unsigned long long)fw);
	free(small);
	free(big);
	return 0;
}
