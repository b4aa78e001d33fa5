/*
 * test-http.c -- unit tests for the HTTP/1.1 parser, chunked decoder and
 * writer.
 *
 * Every valid message is parsed from every truncation point with its last
 * byte right before a PROT_NONE page, so a parser that reads one byte too
 * far crashes instead of passing by luck (picohttpparser's trick).
 */
#include "config.h"

#include <sys/mman.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "unit.h"

static char	*guard;		/* two pages, the second unreadable */
static size_t	 pagesz;

static void
guard_init(void)
{
	long	ps;

	ps = sysconf(_SC_PAGESIZE);
	pagesz = ps > 0 ? (size_t)ps : 4096;
	guard = mmap(NULL, pagesz * 2, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guard == MAP_FAILED || mprotect(guard + pagesz, pagesz,
	    PROT_NONE) == -1) {
		perror("mmap");
		exit(1);
	}
}

/* Copies n bytes so that they end right at the unreadable page. */
static char *
guard_place(const char *s, size_t n)
{
	char	*p;

	if (n > pagesz) {
		fprintf(stderr, "guard_place: %zu bytes do not fit\n", n);
		exit(1);
	}
	p = guard + pagesz - n;
	if (n > 0)
		memcpy(p, s, n);
	return p;
}

static size_t
head_len_of(const char *s)
{
	const char	*e = strstr(s, "\r\n\r\n");

	return e == NULL ? 0 : (size_t)(e - s) + 4;
}

struct valid_case {
	const char	*name;
	int		 request;
	int		 head_request;	/* responses: answers a HEAD */
	const char	*raw;
	/* Expected fields; NULL strings are not checked. */
	const char	*method;
	const char	*path;
	const char	*query;
	const char	*host;
	int		 status;
	const char	*reason;
	int		 version;
	enum http_framing framing;
	uint64_t	 content_length;
	int		 keep_alive;
	size_t		 nheaders;
};

static const struct valid_case valid_cases[] = {
	{ "GET keep-alive", 1, 0,
	  "GET /index.html?a=1&b=2 HTTP/1.1\r\n"
	  "Host: example.com\r\n"
	  "User-Agent: t\r\n"
	  "Accept: */*\r\n\r\n",
	  "GET", "/index.html", "a=1&b=2", "example.com", 0, NULL, 11,
	  HTTP_FRAME_NONE, 0, 1, 3 },
	{ "POST with Content-Length", 1, 0,
	  "POST /orders HTTP/1.1\r\n"
	  "Host: shop:8080\r\n"
	  "Content-Type: application/json\r\n"
	  "Content-Length: 13\r\n"
	  "Connection: close\r\n\r\n"
	  "{\"id\": 12345}",
	  "POST", "/orders", "", "shop:8080", 0, NULL, 11,
	  HTTP_FRAME_LENGTH, 13, 0, 4 },
	{ "chunked POST", 1, 0,
	  "POST /upload HTTP/1.1\r\n"
	  "Host: a\r\n"
	  "Transfer-Encoding: Chunked\r\n"
	  "Expect: 100-continue\r\n\r\n"
	  "5\r\nhello\r\n0\r\n\r\n",
	  "POST", "/upload", "", "a", 0, NULL, 11,
	  HTTP_FRAME_CHUNKED, 0, 1, 3 },
	{ "absolute-form", 1, 0,
	  "GET http://api.example.com:8080/v1/items?page=2 HTTP/1.1\r\n"
	  "Accept: application/json\r\n\r\n",
	  "GET", "/v1/items", "page=2", "", 0, NULL, 11,
	  HTTP_FRAME_NONE, 0, 1, 1 },
	{ "HTTP/1.0", 1, 0,
	  "GET / HTTP/1.0\r\n\r\n",
	  "GET", "/", "", "", 0, NULL, 10, HTTP_FRAME_NONE, 0, 0, 0 },
	{ "HTTP/1.0 keep-alive", 1, 0,
	  "HEAD /x HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
	  "HEAD", "/x", "", "", 0, NULL, 10, HTTP_FRAME_NONE, 0, 1, 1 },
	{ "pipelined GETs", 1, 0,
	  "GET /one HTTP/1.1\r\nHost: a\r\n\r\n"
	  "GET /two HTTP/1.1\r\nHost: a\r\n\r\n",
	  "GET", "/one", "", "a", 0, NULL, 11, HTTP_FRAME_NONE, 0, 1, 1 },
	{ "response 200", 0, 0,
	  "HTTP/1.1 200 OK\r\n"
	  "Content-Type: text/plain\r\n"
	  "Content-Length: 5\r\n\r\nhello",
	  NULL, NULL, NULL, NULL, 200, "OK", 11, HTTP_FRAME_LENGTH, 5, 1, 2 },
	{ "HEAD response", 0, 1,
	  "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n",
	  NULL, NULL, NULL, NULL, 200, "OK", 11, HTTP_FRAME_NONE, 1234, 1,
	  1 },
	{ "204", 0, 0,
	  "HTTP/1.1 204 No Content\r\nDate: Mon\r\n\r\n",
	  NULL, NULL, NULL, NULL, 204, "No Content", 11, HTTP_FRAME_NONE, 0,
	  1, 1 },
	{ "EOF framing", 0, 0,
	  "HTTP/1.0 200 OK\r\nServer: old\r\n\r\nbody until close",
	  NULL, NULL, NULL, NULL, 200, "OK", 10, HTTP_FRAME_EOF, 0, 0, 1 },
	{ "chunked response", 0, 0,
	  "HTTP/1.1 500 Internal Server Error\r\n"
	  "transfer-encoding: chunked\r\n\r\n0\r\n\r\n",
	  NULL, NULL, NULL, NULL, 500, "Internal Server Error", 11,
	  HTTP_FRAME_CHUNKED, 0, 1, 1 },
	{ "empty reason", 0, 0,
	  "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n",
	  NULL, NULL, NULL, NULL, 404, "", 11, HTTP_FRAME_LENGTH, 0, 1, 1 },
	{ "no reason", 0, 0,
	  "HTTP/1.1 304\r\nETag: \"x\"\r\nContent-Length: 10\r\n\r\n",
	  NULL, NULL, NULL, NULL, 304, "", 11, HTTP_FRAME_NONE, 10, 1, 2 },
};

static void
check_fields(const struct valid_case *vc, const struct http_msg *m,
    size_t head_len)
{
	ASSERT_EQ(m->head_len, head_len);
	ASSERT_EQ(m->version, vc->version);
	ASSERT_EQ(m->framing, vc->framing);
	ASSERT_EQ(m->keep_alive, vc->keep_alive);
	ASSERT_EQ(m->nheaders, vc->nheaders);
	if (vc->framing == HTTP_FRAME_LENGTH || vc->content_length != 0)
		ASSERT_EQ(m->content_length, vc->content_length);
	if (vc->method != NULL)
		ASSERT_SPAN_EQ(m->method, vc->method);
	if (vc->path != NULL)
		ASSERT_SPAN_EQ(m->path, vc->path);
	if (vc->query != NULL)
		ASSERT_SPAN_EQ(m->query, vc->query);
	if (vc->host != NULL)
		ASSERT_SPAN_EQ(m->host, vc->host);
	if (!vc->request) {
		ASSERT_EQ(m->status, vc->status);
		ASSERT_SPAN_EQ(m->reason, vc->reason);
	}
}

static ssize_t
parse(int request, int head_request, const char *p, size_t n, size_t max,
    struct http_msg *m, enum http_err *err, size_t *erroff)
{
	if (request)
		return http_parse_request(p, n, max, m, err, erroff);
	return http_parse_response(p, n, max, head_request, m, err, erroff);
}

/* Every prefix shorter than the head is partial; longer ones parse. */
static void
test_truncations(void)
{
	const struct valid_case	*vc;
	struct http_msg		 m;
	enum http_err		 err;
	size_t			 i, n, total, head, erroff;
	ssize_t			 r;
	char			*p;
	int			 bad;

	for (i = 0; i < sizeof valid_cases / sizeof valid_cases[0]; i++) {
		vc = &valid_cases[i];
		total = strlen(vc->raw);
		head = head_len_of(vc->raw);
		bad = 0;
		for (n = 0; n <= total; n++) {
			p = guard_place(vc->raw, n);
			r = parse(vc->request, vc->head_request, p, n, 0, &m,
			    &err, &erroff);
			if (n < head && r != HTTP_PARTIAL) {
				UNIT_FAIL("%s: prefix %zu: got %zd (%s at %zu)",
				    vc->name, n, r, http_strerror(err),
				    erroff);
				bad = 1;
			} else if (n >= head && r != (ssize_t)head) {
				UNIT_FAIL("%s: length %zu: got %zd (%s at %zu)",
				    vc->name, n, r, http_strerror(err),
				    erroff);
				bad = 1;
			}
			unit_checks++;
			if (bad)
				break;
		}
		p = guard_place(vc->raw, head);
		r = parse(vc->request, vc->head_request, p, head, 0, &m, &err,
		    &erroff);
		ASSERT_EQ(r, head);
		check_fields(vc, &m, head);
	}
}

static void
test_pipelined(void)
{
	const char	*raw =
	    "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz"
	    "GET /b?q HTTP/1.1\r\nHost: h\r\n\r\n";
	struct http_msg	 m;
	enum http_err	 err;
	size_t		 erroff, total = strlen(raw), off;
	ssize_t		 r;
	char		*p;

	p = guard_place(raw, total);
	r = http_parse_request(p, total, 0, &m, &err, &erroff);
	ASSERT(r > 0);
	ASSERT_EQ(m.framing, HTTP_FRAME_LENGTH);
	ASSERT_EQ(m.content_length, 3);
	off = (size_t)r + m.content_length;
	r = http_parse_request(p + off, total - off, 0, &m, &err, &erroff);
	ASSERT_EQ(r, total - off);
	ASSERT_SPAN_EQ(m.path, "/b");
	ASSERT_SPAN_EQ(m.query, "q");
	ASSERT_SPAN_EQ(m.method, "GET");
}

static ssize_t
req(const char *s, struct http_msg *m, enum http_err *err, size_t *erroff)
{
	size_t	n = strlen(s);

	return http_parse_request(guard_place(s, n), n, 0, m, err, erroff);
}

static ssize_t
resp(const char *s, int head, struct http_msg *m, enum http_err *err,
    size_t *erroff)
{
	size_t	n = strlen(s);

	return http_parse_response(guard_place(s, n), n, 0, head, m, err,
	    erroff);
}

static void
test_request_details(void)
{
	struct http_msg			 m;
	const struct http_header	*h;
	enum http_err			 err;
	size_t				 erroff;
	ssize_t				 r;

	r = req("GET http://a.example HTTP/1.1\r\n\r\n", &m, &err, &erroff);
	ASSERT(r > 0);
	ASSERT_SPAN_EQ(m.scheme, "http");
	ASSERT_SPAN_EQ(m.authority, "a.example");
	ASSERT_SPAN_EQ(m.path, "/");
	ASSERT_EQ(m.query.len, 0);

	r = req("GET HTTPS://b:1?x=1 HTTP/1.1\r\nHost: b:1\r\n\r\n", &m, &err,
	    &erroff);
	ASSERT(r > 0);
	ASSERT_SPAN_EQ(m.scheme, "HTTPS");
	ASSERT_SPAN_EQ(m.authority, "b:1");
	ASSERT_SPAN_EQ(m.path, "/");
	ASSERT_SPAN_EQ(m.query, "x=1");
	ASSERT_SPAN_EQ(m.host, "b:1");

	r = req("CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432"
	    "\r\n\r\n", &m, &err, &erroff);
	ASSERT(r > 0);
	ASSERT_SPAN_EQ(m.authority, "db.internal:5432");
	ASSERT_EQ(m.path.len, 0);

	r = req("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &m, &err, &erroff);
	ASSERT(r > 0);
	ASSERT_SPAN_EQ(m.path, "*");
	ASSERT_SPAN_EQ(m.target, "*");

	/* Leading empty lines are skipped (RFC 9112 2.2). */
	r = req("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", &m, &err,
	    &erroff);
	ASSERT_EQ(r, 31);
	ASSERT_SPAN_EQ(m.method, "GET");

	r = req("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, CLOSE\r\n\r\n",
	    &m, &err, &erroff);
	ASSERT(r > 0);
	ASSERT_EQ(m.keep_alive, 0);

	r = req("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", &m,
	    &err, &erroff);
	ASSERT(r > 0);
	ASSERT_EQ(m.keep_alive, 0);

	r = req("POST / HTTP/1.1\r\nHost: a\r\nexpect:  100-Continue \r\n"
	    "content-length: 0\r\n\r\n", &m, &err, &erroff);
	ASSERT(r > 0);
	ASSERT_EQ(m.expect_continue, 1);
	ASSERT_EQ(m.framing, HTTP_FRAME_LENGTH);
	ASSERT_EQ(m.content_length, 0);

	/* An HTTP/1.0 100-continue is ignored. */
	r = req("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n", &m, &err,
	    &erroff);
	ASSERT(r > 0);
	ASSERT_EQ(m.expect_continue, 0);

	r = req("GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Tab:\tv \t\r\n"
	    "X-High: caf\xc3\xa9\r\n\r\n", &m, &err, &erroff);
	ASSERT(r > 0);
	ASSERT_EQ(m.nheaders, 4);
	h = http_find_header(&m, "x-tab");
	ASSERT(h != NULL);
	if (h != NULL)
		ASSERT_SPAN_EQ(h->value, "v");
	h = http_find_header(&m, "X-EMPTY");
	ASSERT(h != NULL);
	if (h != NULL)
		ASSERT_EQ(h->value.len, 0);
	ASSERT(http_find_header(&m, "X-Missing") == NULL);

	/* Largest Content-Length accepted is INT64_MAX. */
	r = req("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: "
	    "9223372036854775807\r\n\r\n", &m, &err, &erroff);
	ASSERT(r > 0);
	ASSERT_EQ(m.content_length == (uint64_t)INT64_MAX, 1);

	/* A head exactly max_head long is fine; one byte less is not. */
	{
		const char	*s = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
		size_t		 n = strlen(s);

		r = http_parse_request(guard_place(s, n), n, n, &m, &err,
		    &erroff);
		ASSERT_EQ(r, n);
		r = http_parse_request(guard_place(s, n), n, n - 1, &m, &err,
		    &erroff);
		ASSERT_EQ(r, HTTP_ERROR);
		ASSERT_EQ(err, HTTP_E_HEAD_TOO_LARGE);
		ASSERT_EQ(erroff, n - 1);
		r = http_parse_request(guard_place(s, n - 1), n - 1, n - 1,
		    &m, &err, &erroff);
		ASSERT_EQ(r, HTTP_ERROR);
		ASSERT_EQ(err, HTTP_E_HEAD_TOO_LARGE);
		r = http_parse_request(guard_place(s, n - 2), n - 2, n - 1,
		    &m, &err, &erroff);
		ASSERT_EQ(r, HTTP_PARTIAL);
	}

	/* Exactly HTTP_MAX_HEADERS headers are accepted. */
	{
		struct buf	b;
		int		i;

		buf_init(&b);
		buf_append_str(&b, "GET / HTTP/1.1\r\nHost: a\r\n");
		for (i = 1; i < HTTP_MAX_HEADERS; i++)
			buf_printf(&b, "X-%d: %d\r\n", i, i);
		buf_append_str(&b, "\r\n");
		r = http_parse_request(b.data, b.len, 0, &m, &err, &erroff);
		ASSERT_EQ(r, b.len);
		ASSERT_EQ(m.nheaders, HTTP_MAX_HEADERS);
		buf_free(&b);
	}
}

static void
test_response_details(void)
{
	struct http_msg	m;
	enum http_err	err;
	size_t		erroff;
	ssize_t		r;

	r = resp("HTTP/1.1 100 Continue\r\n\r\n", 0, &m, &err, &erroff);
	ASSERT_EQ(r, 25);
	ASSERT_EQ(m.status, 100);
	ASSERT_EQ(m.framing, HTTP_FRAME_NONE);

	r = resp("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2"
	    "\r\n\r\nok", 0, &m, &err, &erroff);
	ASSERT(r > 0);
	ASSERT_EQ(m.keep_alive, 0);
	ASSERT_EQ(m.framing, HTTP_FRAME_LENGTH);

	/* EOF framing forbids reuse even on HTTP/1.1. */
	r = resp("HTTP/1.1 200 OK\r\n\r\n", 0, &m, &err, &erroff);
	ASSERT(r > 0);
	ASSERT_EQ(m.framing, HTTP_FRAME_EOF);
	ASSERT_EQ(m.keep_alive, 0);

	r = resp("HTTP/1.1 999 Whatever Works\r\n\r\n", 1, &m, &err, &erroff);
	ASSERT(r > 0);
	ASSERT_EQ(m.status, 999);
	ASSERT_SPAN_EQ(m.reason, "Whatever Works");
	ASSERT_EQ(m.framing, HTTP_FRAME_NONE);

	/* Responses need no Host. */
	r = resp("HTTP/1.1 301 Moved\r\nLocation: /x\r\nContent-Length: 0\r\n"
	    "\r\n", 0, &m, &err, &erroff);
	ASSERT(r > 0);
	ASSERT_EQ(m.host.len, 0);
}

struct bad_case {
	int		 request;
	const char	*raw;
	size_t		 len;		/* 0: strlen(raw) */
	enum http_err	 err;
};

#define H	"GET / HTTP/1.1\r\nHost: a\r\n"
#define R	"HTTP/1.1 200 OK\r\n"

static const struct bad_case bad_cases[] = {
	/* Request line. */
	{ 1, "GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 0, HTTP_E_TARGET },
	{ 1, "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 0, HTTP_E_VERSION },
	{ 1, "GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 0, HTTP_E_VERSION },
	{ 1, "GET /\r\nHost: a\r\n\r\n", 0, HTTP_E_REQUEST_LINE },
	{ 1, "GET\r\n\r\n", 0, HTTP_E_REQUEST_LINE },
	{ 1, " GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0, HTTP_E_METHOD },
	{ 1, "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 0, HTTP_E_METHOD },
	{ 1, "GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 0, HTTP_E_METHOD },
	{ 1, "\x16\x03\x01\x02", 0, HTTP_E_METHOD },
	{ 1, "GET / HTTP/2.0\r\nHost: a\r\n\r\n", 0, HTTP_E_VERSION },
	{ 1, "GET / HTTP/1.2\r\nHost: a\r\n\r\n", 0, HTTP_E_VERSION },
	{ 1, "GET / HTTP/0.9\r\n\r\n", 0, HTTP_E_VERSION },
	{ 1, "GET / http/1.1\r\nHost: a\r\n\r\n", 0, HTTP_E_VERSION },
	{ 1, "GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 0, HTTP_E_TARGET },
	{ 1, "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 0, HTTP_E_TARGET },
	{ 1, "GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", 0, HTTP_E_TARGET },
	{ 1, "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", 0, HTTP_E_TARGET },
	{ 1, "GET /a?q=\xff HTTP/1.1\r\nHost: a\r\n\r\n", 0, HTTP_E_TARGET },
	{ 1, "GET foo HTTP/1.1\r\nHost: a\r\n\r\n", 0, HTTP_E_TARGET },
	{ 1, "GET * HTTP/1.1\r\nHost: a\r\n\r\n", 0, HTTP_E_TARGET },
	{ 1, "CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n", 0, HTTP_E_TARGET },
	{ 1, "CONNECT a HTTP/1.1\r\nHost: a\r\n\r\n", 0, HTTP_E_TARGET },
	{ 1, "GET http://u@h/ HTTP/1.1\r\nHost: h\r\n\r\n", 0, HTTP_E_TARGET },
	{ 1, "GET http:///x HTTP/1.1\r\nHost: h\r\n\r\n", 0, HTTP_E_TARGET },
	{ 1, "GET http:/x HTTP/1.1\r\nHost: h\r\n\r\n", 0, HTTP_E_TARGET },
	/* Host. */
	{ 1, "GET / HTTP/1.1\r\n\r\n", 0, HTTP_E_HOST },
	{ 1, H "Host: b\r\n\r\n", 0, HTTP_E_HOST },
	{ 1, H "HOST: a\r\n\r\n", 0, HTTP_E_HOST },
	{ 1, "GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", 0, HTTP_E_HOST },
	{ 1, "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 0, HTTP_E_HOST },
	{ 1, "GET / HTTP/1.1\r\nHost: evil@a\r\n\r\n", 0, HTTP_E_HOST },
	{ 1, "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", 0, HTTP_E_HOST },
	/* Content-Length and Transfer-Encoding. */
	{ 1, H "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
	    HTTP_E_CL_AND_TE },
	{ 1, H "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 0,
	    HTTP_E_CL_AND_TE },
	{ 1, H "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", 0,
	    HTTP_E_CL_DUPLICATE },
	{ 1, H "Content-Length: 5\r\ncontent-length: 6\r\n\r\n", 0,
	    HTTP_E_CL_DUPLICATE },
	{ 1, H "Content-Length: -1\r\n\r\n", 0, HTTP_E_CL_INVALID },
	{ 1, H "Content-Length: +5\r\n\r\n", 0, HTTP_E_CL_INVALID },
	{ 1, H "Content-Length: abc\r\n\r\n", 0, HTTP_E_CL_INVALID },
	{ 1, H "Content-Length: 0x10\r\n\r\n", 0, HTTP_E_CL_INVALID },
	{ 1, H "Content-Length:\r\n\r\n", 0, HTTP_E_CL_INVALID },
	{ 1, H "Content-Length: 5, 5\r\n\r\n", 0, HTTP_E_CL_INVALID },
	{ 1, H "Content-Length: 5 5\r\n\r\n", 0, HTTP_E_CL_INVALID },
	{ 1, H "Content-Length: 9223372036854775808\r\n\r\n", 0,
	    HTTP_E_CL_INVALID },
	{ 1, H "Content-Length: 99999999999999999999999\r\n\r\n", 0,
	    HTTP_E_CL_INVALID },
	{ 1, H "Transfer-Encoding: gzip, chunked\r\n\r\n", 0,
	    HTTP_E_TE_UNSUPPORTED },
	{ 1, H "Transfer-Encoding: chunked, identity\r\n\r\n", 0,
	    HTTP_E_TE_UNSUPPORTED },
	{ 1, H "Transfer-Encoding: xchunked\r\n\r\n", 0,
	    HTTP_E_TE_UNSUPPORTED },
	{ 1, H "Transfer-Encoding: identity\r\n\r\n", 0,
	    HTTP_E_TE_UNSUPPORTED },
	{ 1, H "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"
	    "\r\n", 0, HTTP_E_TE_UNSUPPORTED },
	{ 1, "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
	    HTTP_E_TE_UNSUPPORTED },
	/* Header syntax. */
	{ 1, H "Foo: a\r\n b\r\n\r\n", 0, HTTP_E_OBS_FOLD },
	{ 1, "GET / HTTP/1.1\r\n Host: a\r\n\r\n", 0, HTTP_E_OBS_FOLD },
	{ 1, H "Foo: a\tb\r\n\tc\r\n\r\n", 0, HTTP_E_OBS_FOLD },
	{ 1, H "Foo: a\0b\r\n\r\n", sizeof(H "Foo: a\0b\r\n\r\n") - 1,
	    HTTP_E_NUL },
	{ 1, H "Foo: a\rb\r\n\r\n", 0, HTTP_E_BARE_CR },
	{ 1, "GET / HTTP/1.1\nHost: a\n\n", 0, HTTP_E_BARE_LF },
	{ 1, H "Foo: a\n\r\n", 0, HTTP_E_BARE_LF },
	{ 1, H "Content-Length : 5\r\n\r\n", 0, HTTP_E_SPACE_BEFORE_COLON },
	{ 1, H "Transfer-Encoding\t: chunked\r\n\r\n", 0,
	    HTTP_E_SPACE_BEFORE_COLON },
	{ 1, H "No colon here\r\n\r\n", 0, HTTP_E_NO_COLON },
	{ 1, H ": value\r\n\r\n", 0, HTTP_E_HEADER_NAME },
	{ 1, H "Fo(o: x\r\n\r\n", 0, HTTP_E_HEADER_NAME },
	{ 1, H "Foo Bar: x\r\n\r\n", 0, HTTP_E_HEADER_NAME },
	{ 1, H "Foo: a\x01" "b\r\n\r\n", 0, HTTP_E_HEADER_VALUE },
	{ 1, H "Foo: a\x7f\r\n\r\n", 0, HTTP_E_HEADER_VALUE },
	{ 1, H "Foo: a\x1b[31m\r\n\r\n", 0, HTTP_E_HEADER_VALUE },
	/* Status line. */
	{ 0, "HTTP/1.1 20 OK\r\n\r\n", 0, HTTP_E_STATUS },
	{ 0, "HTTP/1.1 2000 OK\r\n\r\n", 0, HTTP_E_STATUS },
	{ 0, "HTTP/1.1 099 OK\r\n\r\n", 0, HTTP_E_STATUS },
	{ 0, "HTTP/1.1 abc OK\r\n\r\n", 0, HTTP_E_STATUS },
	{ 0, "HTTP/1.1 200OK\r\n\r\n", 0, HTTP_E_STATUS },
	{ 0, "HTTP/1.1  200 OK\r\n\r\n", 0, HTTP_E_STATUS },
	{ 0, "HTTP/2 200 OK\r\n\r\n", 0, HTTP_E_VERSION },
	{ 0, "HTTP/1.1\r\n\r\n", 0, HTTP_E_STATUS_LINE },
	{ 0, "XTTP/1.1 200 OK\r\n\r\n", 0, HTTP_E_STATUS_LINE },
	{ 0, "HTTP/1.1 200 O\x01K\r\n\r\n", 0, HTTP_E_STATUS_LINE },
	{ 0, "\r\nHTTP/1.1 200 OK\r\n\r\n", 0, HTTP_E_STATUS_LINE },
	{ 0, R "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 0,
	    HTTP_E_CL_AND_TE },
	{ 0, R "Content-Length: 1\r\nContent-Length: 1\r\n\r\n", 0,
	    HTTP_E_CL_DUPLICATE },
	{ 0, R "Transfer-Encoding: gzip\r\n\r\n", 0, HTTP_E_TE_UNSUPPORTED },
	{ 0, R "X: y\r\nX\r\n\r\n", 0, HTTP_E_NO_COLON },
	{ 0, "HTTP/1.1 204 No Content\r\nContent-Length: x\r\n\r\n", 0,
	    HTTP_E_CL_INVALID },
};

static void
test_bad(void)
{
	const struct bad_case	*bc;
	struct http_msg		 m;
	enum http_err		 err;
	size_t			 i, n, erroff;
	ssize_t			 r;
	char			*p;

	for (i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		bc = &bad_cases[i];
		n = bc->len != 0 ? bc->len : strlen(bc->raw);
		p = guard_place(bc->raw, n);
		err = HTTP_E_NONE;
		erroff = (size_t)-1;
		r = parse(bc->request, 0, p, n, 0, &m, &err, &erroff);
		unit_checks++;
		if (r != HTTP_ERROR || err != bc->err || erroff >= n) {
			UNIT_FAIL("bad case %zu \"%.*s\": expected %s, got %zd"
			    " %s at %zu", i, (int)n, bc->raw,
			    http_strerror(bc->err), r, http_strerror(err),
			    erroff);
		}
	}
}

static void
test_bad_offsets(void)
{
	struct http_msg	 m;
	enum http_err	 err;
	size_t		 erroff;
	struct buf	 b;
	ssize_t		 r;
	int		 i;

	r = req(H "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", &m, &err,
	    &erroff);
	ASSERT_EQ(r, HTTP_ERROR);
	ASSERT_EQ(erroff, strlen(H "Content-Length: 5\r\n"));

	r = req(H "Foo: a\rb\r\n\r\n", &m, &err, &erroff);
	ASSERT_EQ(erroff, strlen(H "Foo: a"));

	r = req("GET /a\x7f HTTP/1.1\r\n", &m, &err, &erroff);
	ASSERT_EQ(err, HTTP_E_TARGET);
	ASSERT_EQ(erroff, 6);

	/* Too many headers. */
	buf_init(&b);
	buf_append_str(&b, H);
	for (i = 0; i < HTTP_MAX_HEADERS; i++)
		buf_printf(&b, "X-%d: %d\r\n", i, i);
	buf_append_str(&b, "\r\n");
	r = http_parse_request(b.data, b.len, 64 * 1024, &m, &err, &erroff);
	ASSERT_EQ(r, HTTP_ERROR);
	ASSERT_EQ(err, HTTP_E_TOO_MANY_HEADERS);

	/* Head too large: complete, and incomplete with len >= max_head. */
	r = http_parse_request(b.data, b.len, 0, &m, &err, &erroff);
	ASSERT_EQ(r, HTTP_ERROR);
	ASSERT(err == HTTP_E_TOO_MANY_HEADERS || err == HTTP_E_HEAD_TOO_LARGE);
	r = http_parse_request(b.data, b.len, 512, &m, &err, &erroff);
	ASSERT_EQ(r, HTTP_ERROR);
	ASSERT_EQ(err, HTTP_E_HEAD_TOO_LARGE);
	ASSERT_EQ(erroff, 512);
	buf_reset(&b);
	buf_append_str(&b, "GET /");
	for (i = 0; i < 1000; i++)
		buf_append_str(&b, "aaaaaaaaaaaaaaaaaaaa");
	r = http_parse_request(b.data, b.len, 0, &m, &err, &erroff);
	ASSERT_EQ(r, HTTP_ERROR);
	ASSERT_EQ(err, HTTP_E_HEAD_TOO_LARGE);
	ASSERT_EQ(erroff, HTTP_DEFAULT_MAX_HEAD);
	r = http_parse_request(b.data, HTTP_DEFAULT_MAX_HEAD - 1, 0, &m, &err,
	    &erroff);
	ASSERT_EQ(r, HTTP_PARTIAL);
	buf_free(&b);

	/* Errors in complete lines show before the head is complete. */
	r = req(H "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n", &m,
	    &err, &erroff);
	ASSERT_EQ(r, HTTP_ERROR);
	ASSERT_EQ(err, HTTP_E_CL_AND_TE);
}

/* Feeds raw to a decoder in pieces of the given sizes (cycled). */
static void
chunked_feed(const char *raw, size_t rawlen, const size_t *pieces,
    size_t npieces, struct buf *body, struct buf *rest, ssize_t *result,
    enum http_err *err)
{
	struct http_chunked	 ch;
	size_t			 off = 0, n, len, erroff, k = 0;
	ssize_t			 r = HTTP_PARTIAL;
	char			*tmp;

	http_chunked_init(&ch);
	buf_reset(body);
	buf_reset(rest);
	*err = HTTP_E_NONE;
	while (off < rawlen) {
		n = pieces[k++ % npieces];
		if (n > rawlen - off)
			n = rawlen - off;
		tmp = guard_place(raw + off, n);
		len = n;
		r = http_chunked_decode(&ch, tmp, &len, err, &erroff);
		off += n;
		if (r == HTTP_ERROR)
			break;
		buf_append(body, tmp, len);
		if (r >= 0) {
			buf_append(rest, tmp + len, (size_t)r);
			buf_append(rest, raw + off, rawlen - off);
			break;
		}
	}
	*result = r;
}

static void
test_chunked(void)
{
	const char	*raw =
	    "5\r\nhello\r\n"
	    "6;name=value;x=\"q\"\r\n world\r\n"
	    "1A\r\nabcdefghijklmnopqrstuvwxyz\r\n"
	    "000 \t;ext\r\n"
	    "Trailer-One: 1\r\n"
	    "checksum: abc\t\r\n"
	    "\r\n"
	    "GET /next HTTP/1.1\r\n";
	const char	*want = "hello worldabcdefghijklmnopqrstuvwxyz";
	const char	*rest_want = "GET /next HTTP/1.1\r\n";
	size_t		 rawlen = strlen(raw), pieces[8], i, one = 1, all;
	struct buf	 body, rest;
	enum http_err	 err;
	ssize_t		 r;
	int		 round;

	buf_init(&body);
	buf_init(&rest);

	all = rawlen;
	chunked_feed(raw, rawlen, &all, 1, &body, &rest, &r, &err);
	ASSERT_EQ(r, strlen(rest_want));
	ASSERT_MEM_EQ(body.data, body.len, want);
	ASSERT_MEM_EQ(rest.data, rest.len, rest_want);

	chunked_feed(raw, rawlen, &one, 1, &body, &rest, &r, &err);
	ASSERT_EQ(r, 0);	/* the last byte fed completes the message */
	ASSERT_MEM_EQ(body.data, body.len, want);
	ASSERT_MEM_EQ(rest.data, rest.len, rest_want);

	srandom(1);
	for (round = 0; round < 500; round++) {
		for (i = 0; i < 8; i++)
			pieces[i] = 1 + (size_t)random() % 13;
		chunked_feed(raw, rawlen, pieces, 8, &body, &rest, &r, &err);
		unit_checks++;
		if (r < 0 || body.len != strlen(want) ||
		    memcmp(body.data, want, body.len) != 0 ||
		    rest.len != strlen(rest_want) ||
		    memcmp(rest.data, rest_want, rest.len) != 0) {
			UNIT_FAIL("random split %d: r=%zd err=%s", round, r,
			    http_strerror(err));
			break;
		}
	}

	/* Nothing after the message. */
	all = 5;
	chunked_feed("0\r\n\r\n", 5, &all, 1, &body, &rest, &r, &err);
	ASSERT_EQ(r, 0);
	ASSERT_EQ(body.len, 0);

	/* Sixteen hex digits are fine (left is then huge, so stop early). */
	all = 19;
	chunked_feed("000000000000000F\r\nx", 19, &all, 1, &body, &rest, &r,
	    &err);
	ASSERT_EQ(r, HTTP_PARTIAL);
	ASSERT_MEM_EQ(body.data, body.len, "x");

	buf_free(&body);
	buf_free(&rest);
}

struct chunk_bad {
	const char	*raw;
	enum http_err	 err;
};

static void
test_chunked_bad(void)
{
	static const struct chunk_bad	 cases[] = {
		{ "x\r\n", HTTP_E_CHUNK_SIZE },
		{ "\r\n", HTTP_E_CHUNK_SIZE },
		{ ";ext\r\n", HTTP_E_CHUNK_SIZE },
		{ "-1\r\n", HTTP_E_CHUNK_SIZE },
		{ "0x5\r\n", HTTP_E_CHUNK_SIZE },
		{ "5 x\r\n", HTTP_E_CHUNK_SIZE },
		{ "+5\r\n", HTTP_E_CHUNK_SIZE },
		{ "00000000000000001\r\n", HTTP_E_CHUNK_SIZE },
		{ "fffffffffffffffff\r\n", HTTP_E_CHUNK_SIZE },
		{ "5\r\nhelloXX", HTTP_E_CHUNK_FRAMING },
		{ "5\r\nhello\rX", HTTP_E_CHUNK_FRAMING },
		{ "5\r\nhello\n", HTTP_E_BARE_LF },
		{ "5\nhello\r\n", HTTP_E_BARE_LF },
		{ "5\rhello", HTTP_E_BARE_CR },
		{ "5;a=\x01\r\n", HTTP_E_CHUNK_FRAMING },
		/* RFC 9112 7.1.1: no empty extension name, no BWS before
		 * the CRLF. */
		{ "2;\r\n", HTTP_E_CHUNK_FRAMING },
		{ "2; \r\n", HTTP_E_CHUNK_FRAMING },
		{ "2;a;\r\n", HTTP_E_CHUNK_FRAMING },
		{ "2;=v\r\n", HTTP_E_CHUNK_FRAMING },
		{ "5 \r\n", HTTP_E_CHUNK_SIZE },
		{ "5\t\r\n", HTTP_E_CHUNK_SIZE },
		{ "0\r\nbad trailer\r\n\r\n", HTTP_E_CHUNK_FRAMING },
		{ "0\r\n folded: x\r\n\r\n", HTTP_E_CHUNK_FRAMING },
		{ "0\r\nX: a\nb\r\n\r\n", HTTP_E_BARE_LF },
		{ "0\r\n\n", HTTP_E_BARE_LF },
		{ "0\r\n\rX", HTTP_E_BARE_CR },
	};
	struct buf	 body, rest, big;
	enum http_err	 err;
	ssize_t		 r;
	size_t		 i, all;

	buf_init(&body);
	buf_init(&rest);
	buf_init(&big);
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		all = strlen(cases[i].raw);
		chunked_feed(cases[i].raw, all, &all, 1, &body, &rest, &r,
		    &err);
		unit_checks++;
		if (r != HTTP_ERROR || err != cases[i].err)
			UNIT_FAIL("chunk case %zu: expected %s, got %zd %s", i,
			    http_strerror(cases[i].err), r,
			    http_strerror(err));
	}

	/* Overlong size line (extensions), one byte at a time. */
	buf_append_str(&big, "5;");
	for (i = 0; i < 5000; i++)
		buf_append_byte(&big, 'e');
	all = 1;
	chunked_feed(big.data, big.len, &all, 1, &body, &rest, &r, &err);
	ASSERT_EQ(r, HTTP_ERROR);
	ASSERT_EQ(err, HTTP_E_CHUNK_TOO_LARGE);

	/* Overlong trailers. */
	buf_reset(&big);
	buf_append_str(&big, "0\r\n");
	for (i = 0; i < 2000; i++)
		buf_append_str(&big, "X-Trailer: 12345\r\n");
	buf_append_str(&big, "\r\n");
	all = 4096;
	chunked_feed(big.data, big.len, &all, 1, &body, &rest, &r, &err);
	ASSERT_EQ(r, HTTP_ERROR);
	ASSERT_EQ(err, HTTP_E_CHUNK_TOO_LARGE);

	buf_free(&body);
	buf_free(&rest);
	buf_free(&big);
}

static void
test_writer(void)
{
	struct buf	 b;
	struct http_msg	 m;
	enum http_err	 err;
	size_t		 erroff;
	ssize_t		 r;

	buf_init(&b);
	http_write_simple(&b, 404, "text/plain", "nope\n", 5, 0);
	ASSERT_MEM_EQ(b.data, b.len,
	    "HTTP/1.1 404 Not Found\r\n"
	    "Content-Type: text/plain\r\n"
	    "Content-Length: 5\r\n"
	    "\r\n"
	    "nope\n");
	r = http_parse_response(b.data, b.len, 0, 0, &m, &err, &erroff);
	ASSERT_EQ(r, b.len - 5);
	ASSERT_EQ(m.status, 404);
	ASSERT_EQ(m.framing, HTTP_FRAME_LENGTH);
	ASSERT_EQ(m.content_length, 5);
	ASSERT_EQ(m.keep_alive, 1);

	buf_reset(&b);
	http_write_simple(&b, 400, NULL, NULL, 0, 1);
	ASSERT_MEM_EQ(b.data, b.len,
	    "HTTP/1.1 400 Bad Request\r\n"
	    "Content-Length: 0\r\n"
	    "Connection: close\r\n"
	    "\r\n");
	r = http_parse_response(b.data, b.len, 0, 0, &m, &err, &erroff);
	ASSERT_EQ(r, b.len);
	ASSERT_EQ(m.keep_alive, 0);

	buf_reset(&b);
	http_write_status_line(&b, 599, SPAN_NULL);
	ASSERT_MEM_EQ(b.data, b.len, "HTTP/1.1 599 \r\n");
	buf_reset(&b);
	http_write_status_line(&b, 200, SPAN_LIT("Fine"));
	ASSERT_MEM_EQ(b.data, b.len, "HTTP/1.1 200 Fine\r\n");
	buf_reset(&b);
	http_write_status_line(&b, 200, SPAN_LIT("A\r\nX-Evil: 1"));
	ASSERT_MEM_EQ(b.data, b.len, "HTTP/1.1 200 A  X-Evil: 1\r\n");

	buf_reset(&b);
	http_write_header(&b, SPAN_LIT("X-Id"), SPAN_LIT("42"));
	ASSERT_MEM_EQ(b.data, b.len, "X-Id: 42\r\n");
	buf_reset(&b);
	http_write_header(&b, SPAN_LIT("X-Id"), SPAN_LIT("4\r\n\r\nbody"));
	ASSERT_MEM_EQ(b.data, b.len, "X-Id: 4    body\r\n");
	buf_reset(&b);
	http_write_header(&b, SPAN_LIT("X"), SPAN_NULL);
	ASSERT_MEM_EQ(b.data, b.len, "X: \r\n");

	buf_reset(&b);
	http_write_request_line(&b, SPAN_LIT("DELETE"), SPAN_LIT("/a?b=c"));
	http_write_header(&b, SPAN_LIT("Host"), SPAN_LIT("svc"));
	buf_append_str(&b, "\r\n");
	ASSERT_MEM_EQ(b.data, b.len,
	    "DELETE /a?b=c HTTP/1.1\r\nHost: svc\r\n\r\n");
	r = http_parse_request(b.data, b.len, 0, &m, &err, &erroff);
	ASSERT_EQ(r, b.len);
	ASSERT_SPAN_EQ(m.method, "DELETE");
	ASSERT_SPAN_EQ(m.host, "svc");

	ASSERT_STR_EQ(http_reason(200), "OK");
	ASSERT_STR_EQ(http_reason(100), "Continue");
	ASSERT_STR_EQ(http_reason(418), "I'm a teapot");
	ASSERT_STR_EQ(http_reason(431), "Request Header Fields Too Large");
	ASSERT_STR_EQ(http_reason(511), "Network Authentication Required");
	ASSERT_STR_EQ(http_reason(299), "");
	ASSERT_STR_EQ(http_reason(-1), "");

	ASSERT_EQ(http_is_framing_header(SPAN_LIT("content-length")), 1);
	ASSERT_EQ(http_is_framing_header(SPAN_LIT("TRANSFER-ENCODING")), 1);
	ASSERT_EQ(http_is_framing_header(SPAN_LIT("Connection")), 1);
	ASSERT_EQ(http_is_framing_header(SPAN_LIT("keep-alive")), 1);
	ASSERT_EQ(http_is_framing_header(SPAN_LIT("Content-Type")), 0);
	ASSERT_EQ(http_is_framing_header(SPAN_LIT("Content-Length2")), 0);
	ASSERT_EQ(http_is_framing_header(SPAN_NULL), 0);

	buf_free(&b);
}

/* max_body: a chunk size past it is refused on its digits, before data. */
static void
test_chunked_max_body(void)
{
	struct http_chunked	ch;
	enum http_err		err;
	size_t			len, erroff;
	ssize_t			r;
	char			buf[64];

	/* 10 + 6 = 16 bytes fit a 16-byte limit. */
	http_chunked_init(&ch);
	ch.max_body = 16;
	len = strlen("a\r\n0123456789\r\n6\r\nabcdef\r\n0\r\n\r\n");
	memcpy(buf, "a\r\n0123456789\r\n6\r\nabcdef\r\n0\r\n\r\n", len);
	r = http_chunked_decode(&ch, buf, &len, &err, &erroff);
	ASSERT_EQ(r, 0);
	ASSERT_EQ(len, 16);

	/* One byte more is refused at the second size's digit. */
	http_chunked_init(&ch);
	ch.max_body = 16;
	len = strlen("a\r\n0123456789\r\n7\r\n");
	memcpy(buf, "a\r\n0123456789\r\n7\r\n", len);
	r = http_chunked_decode(&ch, buf, &len, &err, &erroff);
	ASSERT_EQ(r, HTTP_ERROR);
	ASSERT_EQ(err, HTTP_E_BODY_TOO_LARGE);
	ASSERT_EQ(erroff, 15);

	/* A huge size is refused on its first digits, no data sent. */
	http_chunked_init(&ch);
	ch.max_body = 8 * 1024 * 1024;
	memcpy(buf, "10000000", 8);
	len = 8;
	r = http_chunked_decode(&ch, buf, &len, &err, &erroff);
	ASSERT_EQ(r, HTTP_ERROR);
	ASSERT_EQ(err, HTTP_E_BODY_TOO_LARGE);
	ASSERT_EQ(erroff, 6);
	ASSERT_STR_EQ(http_strerror(err), "chunked body too large");

	/* No limit: the same size is only partial. */
	http_chunked_init(&ch);
	len = 8;
	memcpy(buf, "10000000", 8);
	r = http_chunked_decode(&ch, buf, &len, &err, &erroff);
	ASSERT_EQ(r, HTTP_PARTIAL);
}

/* Trailers kept for the caller, fed in two parts at every split. */
static void
test_chunked_trailers(void)
{
	static const char	 in[] = "3\r\nabc\r\n0\r\nX-T:  v 1 \r\n"
				    "Grpc-Status:0\r\n\r\nNEXT";
	struct http_chunked	 ch;
	struct http_header	 f[4];
	struct buf		 trl;
	enum http_err		 err;
	size_t			 n = sizeof in - 1, i, len, erroff, nf, got;
	ssize_t			 r;
	char			 buf[sizeof in];

	buf_init(&trl);
	for (i = 0; i <= n; i++) {
		http_chunked_init(&ch);
		buf_reset(&trl);
		ch.trailers = &trl;
		memcpy(buf, in, n);
		len = i;
		r = http_chunked_decode(&ch, buf, &len, &err, &erroff);
		got = len;
		if (r != HTTP_PARTIAL) {
			/* Only the last four bytes (NEXT) can be left. */
			ASSERT(i >= n - 4);
			continue;
		}
		memmove(buf + got, in + i, n - i);
		len = n - i;
		r = http_chunked_decode(&ch, buf + got, &len, &err, &erroff);
		ASSERT_EQ(r, 4);
		ASSERT_MEM_EQ(buf, got + len, "abc");
		ASSERT_MEM_EQ(trl.data, trl.len,
		    "X-T:  v 1 \r\nGrpc-Status:0\r\n");
	}
	nf = http_trailer_fields(trl.data, trl.len, f, 4);
	ASSERT_EQ(nf, 2);
	ASSERT_SPAN_EQ(f[0].name, "X-T");
	ASSERT_SPAN_EQ(f[0].value, "v 1");
	ASSERT_SPAN_EQ(f[1].name, "Grpc-Status");
	ASSERT_SPAN_EQ(f[1].value, "0");
	ASSERT_EQ(http_trailer_fields(trl.data, trl.len, f, 1), 1);
	ASSERT_EQ(http_trailer_fields("", 0, f, 4), 0);

	/* No trailers: nothing kept; a bad trailer line is still an error. */
	http_chunked_init(&ch);
	buf_reset(&trl);
	ch.trailers = &trl;
	len = strlen("0\r\n\r\n");
	memcpy(buf, "0\r\n\r\n", len);
	ASSERT_EQ(http_chunked_decode(&ch, buf, &len, &err, &erroff), 0);
	ASSERT_EQ(trl.len, 0);
	http_chunked_init(&ch);
	ch.trailers = &trl;
	len = strlen("0\r\nX T: v\r\n\r\n");
	memcpy(buf, "0\r\nX T: v\r\n\r\n", len);
	ASSERT_EQ(http_chunked_decode(&ch, buf, &len, &err, &erroff),
	    HTTP_ERROR);
	buf_free(&trl);
}

static void
test_strerror(void)
{
	int	e;

	for (e = HTTP_E_NONE; e <= HTTP_E_BODY_TOO_LARGE; e++) {
		ASSERT(http_strerror((enum http_err)e) != NULL);
		ASSERT(strcmp(http_strerror((enum http_err)e),
		    "unknown error") != 0);
	}
	ASSERT_STR_EQ(http_strerror(HTTP_E_CL_DUPLICATE),
	    "duplicate Content-Length");
	ASSERT_STR_EQ(http_strerror((enum http_err)1000), "unknown error");
}

int
main(void)
{
	guard_init();
	test_truncations();
	test_pipelined();
	test_request_details();
	test_response_details();
	test_bad();
	test_bad_offsets();
	test_chunked();
	test_chunked_bad();
	test_writer();
	test_chunked_max_body();
	test_chunked_trailers();
	test_strerror();
	UNIT_DONE();
}
