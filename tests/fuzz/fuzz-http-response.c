/*
 * fuzz-http-response.c -- fuzz target for http_parse_response() and the
 * chunked decoder.
 *
 * Invariants: the same head length whether or not the response answers a
 * HEAD request; every span lies in the head; status 100..999; the framing
 * agrees with the status and the headers, and EOF framing never keeps the
 * connection; one byte less is partial; a head written back with the
 * writer parses the same; the chunked decoder gives the same answer fed
 * all at once or in pieces.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz-http-check.h"
#include "http.h"

/* Writes the parsed response head back out and parses that. */
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
	http_write_status_line(&b, m->status, m->reason);
	for (i = 0; i < m->nheaders; i++)
		http_write_header(&b, m->headers[i].name, m->headers[i].value);
	buf_append(&b, "\r\n", 2);
	r = http_parse_response(b.data, b.len, b.len, 0, m2, &err, &erroff);
	CHECK(r == (ssize_t)b.len);
	CHECK(m2->status == m->status);
	CHECK(m->reason.len == 0 || span_eq(m2->reason, m->reason));
	CHECK(m2->nheaders == m->nheaders);
	CHECK(m2->framing == m->framing);
	CHECK(m2->content_length == m->content_length);
	CHECK(m2->keep_alive == m->keep_alive);
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
	int				 nobody;

	if ((m = malloc(sizeof *m)) == NULL)
		abort();

	/* A HEAD answer parses to the same length, without a body. */
	r = http_parse_response(buf, size, 0, 1, m, &err, &erroff);
	CHECK(r == HTTP_ERROR || r == HTTP_PARTIAL || r > 0);
	if (r > 0)
		CHECK(m->framing == HTTP_FRAME_NONE);
	r2 = http_parse_response(buf, size, 0, 0, m, &err, &erroff);
	CHECK(r2 == r);

	if (r == HTTP_ERROR) {
		CHECK(err != HTTP_E_NONE && erroff <= size);
		goto out;
	}
	if (r == HTTP_PARTIAL) {
		CHECK(err == HTTP_E_NONE && size < HTTP_DEFAULT_MAX_HEAD);
		goto out;
	}
	CHECK((size_t)r <= size && (size_t)r == m->head_len);
	head = (size_t)r;

	fuzz_check_span(m->reason, buf, head);
	CHECK(m->status >= 100 && m->status <= 999);
	CHECK(m->version == 10 || m->version == 11);
	CHECK(m->nheaders <= HTTP_MAX_HEADERS);
	CHECK(m->method.len == 0 && m->target.len == 0);
	for (i = 0; i < m->nheaders; i++) {
		fuzz_check_span(m->headers[i].name, buf, head);
		fuzz_check_span(m->headers[i].value, buf, head);
		CHECK(m->headers[i].name.len > 0);
	}
	nobody = m->status / 100 == 1 || m->status == 204 ||
	    m->status == 304;
	if (nobody)
		CHECK(m->framing == HTTP_FRAME_NONE);
	else {
		CHECK(m->framing != HTTP_FRAME_NONE);
		h = http_find_header(m, "Transfer-Encoding");
		CHECK((m->framing == HTTP_FRAME_CHUNKED) == (h != NULL));
		h = http_find_header(m, "Content-Length");
		CHECK((m->framing == HTTP_FRAME_LENGTH) == (h != NULL));
	}
	if (m->framing == HTTP_FRAME_EOF)
		CHECK(m->keep_alive == 0);

	r2 = http_parse_response(buf, head - 1, 0, 0, m, &err, &erroff);
	CHECK(r2 == HTTP_PARTIAL);
	r2 = http_parse_response(buf, size, head - 1, 0, m, &err, &erroff);
	CHECK(r2 == HTTP_ERROR && err == HTTP_E_HEAD_TOO_LARGE);
	r2 = http_parse_response(buf, head, head, 0, m, &err, &erroff);
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
