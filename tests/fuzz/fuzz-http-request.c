/*
 * fuzz-http-request.c -- fuzz target for http_parse_request() and the
 * chunked decoder.
 *
 * Invariants: a result is a head length no longer than the input, partial
 * or an error inside the input; every span lies in the head; the framing
 * agrees with the headers; the head's last byte decides completeness (one
 * byte less is partial, a max_head one byte short is too large); a head
 * written back with the writer parses the same; the chunked decoder gives
 * the same answer whether fed all at once or in pieces.
 *
 * With libFuzzer (DECOY_LIBFUZZER) it also defines LLVMFuzzerCustomMutator:
 * half the time the mutation engine's HTTP-aware operators
 * (mut_mutate_buf, over an engine whose dictionary comes from a few
 * built-in requests), otherwise libFuzzer's own LLVMFuzzerMutate, so
 * structure-aware and blind mutations both happen.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz-http-check.h"
#include "http.h"
#include "mutate.h"

#ifdef DECOY_LIBFUZZER
size_t	LLVMFuzzerMutate(uint8_t *, size_t, size_t);
size_t	LLVMFuzzerCustomMutator(uint8_t *, size_t, size_t, unsigned int);

static const char *const dict_reqs[] = {
	("POST /v1/orders?expand=items HTTP/1.1\r\nHost: a\r\n"
	"Content-Type: application/json\r\nContent-Length: 38\r\n\r\n"
	"{\"sku\":\"A-1\",\"quantity\":2,\"note\":null}"),
	("POST /login HTTP/1.1\r\nHost: a\r\n"
	"Content-Type: application/x-www-form-urlencoded\r\n"
	"Content-Length: 15\r\n\r\nuser=a&pass=b&x"),
	("GET /v1/items/7?limit=10&page=2 HTTP/1.1\r\nHost: a\r\n"
	"Accept: */*\r\nConnection: keep-alive\r\n\r\n"),
};

size_t
LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max,
    unsigned int seed)
{
	static struct mut_corpus	*corpus;
	static struct mut_engine	*engine;
	char				*cause = NULL;
	size_t				 i;

	if (engine == NULL) {
		corpus = mut_corpus_create();
		for (i = 0; i < sizeof dict_reqs / sizeof dict_reqs[0]; i++) {
			if (mut_corpus_add(corpus, dict_reqs[i],
			    strlen(dict_reqs[i]), &cause) == -1)
				abort();
		}
		engine = mut_engine_create(corpus, 0, MUT_MUTATE_AUTH);
	}
	if (seed & 1)
		return LLVMFuzzerMutate(data, size, max);
	return mut_mutate_buf(engine, data, size, max, seed >> 1);
}
#endif

/* Writes the parsed request back out and parses that. */
static void
check_roundtrip(const struct http_msg *m)
{
	struct http_msg	*m2;
	struct buf	 b;
	enum http_err	 err;
	size_t		 i, erroff;
	ssize_t		 r;

	if ((m2 = malloc(sizeof *m2)) == NULL)
		abort();
	buf_init(&b);
	http_write_request_line(&b, m->method, m->target);
	for (i = 0; i < m->nheaders; i++)
		http_write_header(&b, m->headers[i].name, m->headers[i].value);
	buf_append(&b, "\r\n", 2);
	r = http_parse_request(b.data, b.len, b.len, m2, &err, &erroff);
	CHECK(r == (ssize_t)b.len);
	CHECK(m2->nheaders == m->nheaders);
	CHECK(m2->framing == m->framing);
	CHECK(m2->content_length == m->content_length);
	CHECK(m2->keep_alive == m->keep_alive);
	CHECK(m2->expect_continue == m->expect_continue);
	CHECK(span_eq(m2->method, m->method));
	CHECK(span_eq(m2->target, m->target));
	CHECK(span_eq(m2->path, m->path));
	CHECK(span_eq(m2->query, m->query));
	CHECK(span_eq(m2->host, m->host));
	for (i = 0; i < m->nheaders; i++) {
		CHECK(span_eq(m2->headers[i].name, m->headers[i].name));
		CHECK(span_eq(m2->headers[i].value, m->headers[i].value));
	}
	buf_free(&b);
	free(m2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char			*buf = (const char *)data;
	struct http_msg			*m;
	const struct http_header	*h;
	enum http_err			 err;
	size_t				 i, erroff, head;
	ssize_t				 r, r2;

	if ((m = malloc(sizeof *m)) == NULL)
		abort();
	r = http_parse_request(buf, size, 0, m, &err, &erroff);
	if (r == HTTP_ERROR) {
		CHECK(err != HTTP_E_NONE && erroff <= size);
		goto out;
	}
	if (r == HTTP_PARTIAL) {
		CHECK(err == HTTP_E_NONE && size < HTTP_DEFAULT_MAX_HEAD);
		goto out;
	}
	CHECK(r > 0 && (size_t)r <= size && (size_t)r == m->head_len);
	CHECK(err == HTTP_E_NONE);
	head = (size_t)r;

	fuzz_check_span(m->method, buf, head);
	fuzz_check_span(m->target, buf, head);
	fuzz_check_span(m->scheme, buf, head);
	fuzz_check_span(m->authority, buf, head);
	fuzz_check_span(m->path, buf, head);
	fuzz_check_span(m->query, buf, head);
	fuzz_check_span(m->host, buf, head);
	CHECK(m->method.len > 0 && m->target.len > 0);
	CHECK(m->version == 10 || m->version == 11);
	CHECK(m->nheaders <= HTTP_MAX_HEADERS);
	for (i = 0; i < m->nheaders; i++) {
		fuzz_check_span(m->headers[i].name, buf, head);
		fuzz_check_span(m->headers[i].value, buf, head);
		CHECK(m->headers[i].name.len > 0);
	}
	CHECK(m->keep_alive == 0 || m->keep_alive == 1);
	CHECK(m->framing != HTTP_FRAME_EOF);
	h = http_find_header(m, "Transfer-Encoding");
	CHECK((m->framing == HTTP_FRAME_CHUNKED) == (h != NULL));
	h = http_find_header(m, "Content-Length");
	CHECK((m->framing == HTTP_FRAME_LENGTH) == (h != NULL));
	if (m->version == 11)
		CHECK(m->host.p != NULL || m->authority.len > 0);

	/* The head's last byte completes it; the limit is inclusive. */
	r2 = http_parse_request(buf, head - 1, 0, m, &err, &erroff);
	CHECK(r2 == HTTP_PARTIAL);
	r2 = http_parse_request(buf, size, head - 1, m, &err, &erroff);
	CHECK(r2 == HTTP_ERROR && err == HTTP_E_HEAD_TOO_LARGE);
	r2 = http_parse_request(buf, head, head, m, &err, &erroff);
	CHECK(r2 == r);

	if (m->version == 11)
		check_roundtrip(m);
	if (m->framing == HTTP_FRAME_CHUNKED)
		fuzz_check_chunked(data + head, size - head,
		    1 + (size > 0 ? data[size - 1] % 7 : 0));
out:
	free(m);
	return 0;
}
