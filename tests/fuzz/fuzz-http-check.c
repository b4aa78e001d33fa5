/*
 * fuzz-http-check.c -- invariant checks shared by the HTTP fuzz targets:
 * spans inside the input, and the chunked decoder giving the same answer
 * whether fed all at once or in pieces.
 */
#include "config.h"

#include <string.h>

#include "fuzz-http-check.h"
#include "http.h"

void
fuzz_check_span(struct span s, const char *buf, size_t len)
{
	if (s.len == 0)
		return;
	CHECK(s.p >= buf && s.len <= len && s.p - buf <= (ptrdiff_t)(len -
	    s.len));
}

/* Decodes body in pieces of step bytes; returns the decoder's result. */
static ssize_t
chunked_run(const uint8_t *body, size_t len, size_t step, struct buf *out,
    struct buf *rest, enum http_err *err)
{
	struct http_chunked	 ch;
	char			*tmp;
	size_t			 off = 0, n, dlen, erroff;
	ssize_t			 r = HTTP_PARTIAL;

	http_chunked_init(&ch);
	buf_reset(out);
	buf_reset(rest);
	*err = HTTP_E_NONE;
	if ((tmp = malloc(step)) == NULL)
		abort();
	while (off < len) {
		n = len - off < step ? len - off : step;
		memcpy(tmp, body + off, n);
		dlen = n;
		r = http_chunked_decode(&ch, tmp, &dlen, err, &erroff);
		off += n;
		if (r == HTTP_ERROR) {
			CHECK(erroff < n && dlen <= n && *err != HTTP_E_NONE);
			break;
		}
		CHECK(r == HTTP_PARTIAL || r >= 0);
		CHECK(dlen <= n);
		buf_append(out, tmp, dlen);
		if (r >= 0) {
			CHECK(dlen + (size_t)r <= n);
			buf_append(rest, tmp + dlen, (size_t)r);
			buf_append(rest, body + off, len - off);
			break;
		}
		CHECK(r == HTTP_PARTIAL);
	}
	free(tmp);
	return r;
}

void
fuzz_check_chunked(const uint8_t *body, size_t len, size_t step)
{
	struct buf	o1, r1, o2, r2;
	enum http_err	e1, e2;
	ssize_t		x1, x2;

	if (len == 0)
		return;
	buf_init(&o1);
	buf_init(&r1);
	buf_init(&o2);
	buf_init(&r2);
	x1 = chunked_run(body, len, len, &o1, &r1, &e1);
	x2 = chunked_run(body, len, step, &o2, &r2, &e2);
	/* The result counts only the last piece's trailing bytes. */
	CHECK(x1 < 0 ? x1 == x2 : x2 >= 0);
	CHECK(e1 == e2);
	if (x1 != HTTP_ERROR) {
		CHECK(span_eq((struct span){ o1.data, o1.len },
		    (struct span){ o2.data, o2.len }));
		CHECK(span_eq((struct span){ r1.data, r1.len },
		    (struct span){ r2.data, r2.len }));
		CHECK(o1.len < len);
	}
	buf_free(&o1);
	buf_free(&r1);
	buf_free(&o2);
	buf_free(&r2);
}
