/*
 * fuzz-noise.c -- the protocol-noise classifier of the fuzz campaign
 * (fuzz.h): whether a failure is the service answering a request the
 * mutant made malformed or unsupported the way RFC 9110 and RFC 9112 say
 * it may, rather than a bug.
 *
 * The request is judged by decoy's own strict HTTP/1.1 parser
 * (http_parse_request): what it refuses, and why, says which part the
 * mutant broke (request line, method, target, version, header section,
 * framing), or that the request is incomplete.  A well-formed request
 * whose method is not the corpus entry's is "unknown method" (RFC 9110
 * 9.1: 501 for a method the server does not implement).  Then:
 *
 *   501            to a broken or unknown method, a broken request line
 *                  or an unsupported transfer coding (RFC 9110 15.6.2,
 *                  RFC 9112 6.1)
 *   505            to a broken version or request line (RFC 9110 15.6.6)
 *   eof / reset    a close without an answer after any syntactic
 *                  breakage (request line, method, target, version,
 *                  headers, framing) or an over-long head (RFC 9112 2.2,
 *                  a server may close after a request it cannot parse)
 *   bad-response   an answer that is not HTTP/1.x to a broken request
 *                  line (the HTTP/0.9 reply a server gives when it takes
 *                  it for an HTTP/0.9 request: Python splits the line at
 *                  white space), or to any broken request whose line has
 *                  no HTTP/1.x version
 *   timeout        the server still waiting for the rest of a request
 *                  that is incomplete and was not half-closed
 *
 * Anything else is a finding: another 5xx (500 to garbage is a bug too),
 * any 5xx to a well-formed request with the recorded method, a crash, a
 * sanitizer report, a slow answer, a hang after the client half-closed.
 * 4xx answers are not failures at all (fuzz.h).  Pure: no I/O.
 */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "grpc.h"
#include "http.h"

/* Heads longer than this are over the limits servers commonly apply
 * (nginx's large_client_header_buffers, Go's 1 MiB is the exception):
 * refusing them, or closing, is their right (RFC 9110 15.5.20, 431). */
#define NOISE_HEAD_LIMIT	(8 * 1024)
#define NOISE_PARSE_MAX		(1024 * 1024)

/* A switch, not a table: -Wswitch names a noise class left out. */
const char *
fuzz_noise_name(enum fuzz_noise n)
{
	switch (n) {
	case FUZZ_NOISE_NONE:
		return "none";
	case FUZZ_NOISE_LINE:
		return "request-line";
	case FUZZ_NOISE_METHOD:
		return "method";
	case FUZZ_NOISE_TARGET:
		return "target";
	case FUZZ_NOISE_VERSION:
		return "version";
	case FUZZ_NOISE_HEADERS:
		return "headers";
	case FUZZ_NOISE_FRAMING:
		return "framing";
	case FUZZ_NOISE_INCOMPLETE:
		return "incomplete";
	case FUZZ_NOISE_GRPC_FRAMING:
		return "grpc-framing";
	case FUZZ_NOISE_COUNT:
		break;
	}
	return "?";
}

/* A request line "METHOD SP TARGET" with no version (HTTP/0.9 style) or
 * a version that is not HTTP/1.x. */
static int
noise_line_has_http1(const char *req, size_t len)
{
	const char	*eol = memchr(req, '\n', len), *v;
	size_t		 n;

	n = eol != NULL ? (size_t)(eol - req) : len;
	if (n > 0 && req[n - 1] == '\r')
		n--;
	for (v = req + n; v > req && v[-1] != ' '; v--)
		;
	if (v == req)
		return 0;
	return (size_t)(req + n - v) == 8 && memcmp(v, "HTTP/1.", 7) == 0;
}

/* The request's method is a token other than the corpus entry's (a
 * server may answer 501 before it looks further, whatever follows). */
static int
noise_method_unknown(const char *req, size_t len, const char *method,
    size_t mlen)
{
	static const char	tchar[] = "!#$%&'*+-.^_`|~";
	size_t			i;

	for (i = 0; i < len && req[i] != ' '; i++)
		if (!((req[i] >= 'a' && req[i] <= 'z') || (req[i] >= 'A' &&
		    req[i] <= 'Z') || (req[i] >= '0' && req[i] <= '9') ||
		    (req[i] != '\0' && strchr(tchar, req[i]) != NULL)))
			return 0;
	if (i == 0 || i == len)
		return 0;
	return i != mlen || memcmp(req, method, mlen) != 0;
}

/* What the mutant broke, by the parser's verdict. */
static enum fuzz_noise
noise_breakage(const char *req, size_t len, const char *method,
    size_t mlen, int halfclosed, int *unknown_method, int *te)
{
	struct http_msg	m;
	enum http_err	err;
	size_t		erroff;
	ssize_t		n;

	*unknown_method = noise_method_unknown(req, len, method, mlen);
	*te = 0;
	n = http_parse_request(req, len, NOISE_PARSE_MAX, &m, &err, &erroff);
	if (n == HTTP_PARTIAL)
		return halfclosed ? FUZZ_NOISE_FRAMING : FUZZ_NOISE_INCOMPLETE;
	if (n == HTTP_ERROR) {
		const char *eol = memchr(req, '\n', len);

		switch (err) {
		case HTTP_E_REQUEST_LINE:
			/* "GET /x" without a version is HTTP/0.9. */
			return FUZZ_NOISE_LINE;
		case HTTP_E_METHOD:
			return FUZZ_NOISE_METHOD;
		case HTTP_E_TARGET:
			return FUZZ_NOISE_TARGET;
		case HTTP_E_VERSION:
			return FUZZ_NOISE_VERSION;
		case HTTP_E_CL_INVALID:
		case HTTP_E_CL_DUPLICATE:
		case HTTP_E_CL_AND_TE:
		case HTTP_E_CHUNK_SIZE:
		case HTTP_E_CHUNK_FRAMING:
		case HTTP_E_CHUNK_TOO_LARGE:
			return FUZZ_NOISE_FRAMING;
		case HTTP_E_TE_UNSUPPORTED:
			*te = 1;
			return FUZZ_NOISE_FRAMING;
		default:
			/* A NUL, a bare CR or LF in the first line: the
			 * request line is broken. */
			if (eol == NULL || erroff <= (size_t)(eol - req))
				return FUZZ_NOISE_LINE;
			return FUZZ_NOISE_HEADERS;
		}
	}
	if ((size_t)n > NOISE_HEAD_LIMIT)
		return FUZZ_NOISE_HEADERS;
	if (m.framing == HTTP_FRAME_LENGTH &&
	    (uint64_t)(len - (size_t)n) < m.content_length)
		return halfclosed ? FUZZ_NOISE_FRAMING : FUZZ_NOISE_INCOMPLETE;
	if (halfclosed)
		/* The mutant broke the framing in a way the parser lets
		 * through (a body longer than its length, chunks). */
		return FUZZ_NOISE_FRAMING;
	return FUZZ_NOISE_NONE;
}

static enum fuzz_noise
noise_classify(const char *req, size_t len, const char *method,
    size_t mlen, int halfclosed, enum fuzz_kind kind, int status)
{
	enum fuzz_noise	b;
	int		unknown_method, te;

	switch (kind) {
	case FUZZ_5XX:
	case FUZZ_RESET:
	case FUZZ_EOF:
	case FUZZ_BAD_RESPONSE:
	case FUZZ_TIMEOUT:
		break;
	default:
		return FUZZ_NOISE_NONE;
	}
	b = noise_breakage(req, len, method, mlen, halfclosed,
	    &unknown_method, &te);
	switch (kind) {
	case FUZZ_5XX:
		if (status == 501) {
			if (b == FUZZ_NOISE_METHOD || b == FUZZ_NOISE_LINE ||
			    (b == FUZZ_NOISE_FRAMING && te))
				return b;
			if (unknown_method)
				return FUZZ_NOISE_METHOD;
		}
		if (status == 505 && (b == FUZZ_NOISE_VERSION ||
		    b == FUZZ_NOISE_LINE))
			return b;
		return FUZZ_NOISE_NONE;
	case FUZZ_RESET:
	case FUZZ_EOF:
		return b;
	case FUZZ_BAD_RESPONSE:
		/* A server that cannot parse the request line may take it
		 * for HTTP/0.9 (Python splits it at white space). */
		if (b == FUZZ_NOISE_LINE || b == FUZZ_NOISE_VERSION ||
		    b == FUZZ_NOISE_METHOD || b == FUZZ_NOISE_TARGET ||
		    (b != FUZZ_NOISE_NONE && !noise_line_has_http1(req, len)))
			return b;
		return FUZZ_NOISE_NONE;
	case FUZZ_TIMEOUT:
		return b == FUZZ_NOISE_INCOMPLETE ? b : FUZZ_NOISE_NONE;
	default:
		return FUZZ_NOISE_NONE;
	}
}

enum fuzz_noise
fuzz_noise_classify(const char *req, size_t len, const char *method,
    size_t mlen, int halfclosed, enum fuzz_kind kind, int status)
{
	enum fuzz_noise	n;
	size_t		k;

	n = noise_classify(req, len, method, mlen, halfclosed, kind, status);
	/*
	 * Servers may ignore empty lines before the request line (RFC 9112
	 * 2.2: "\r\nAcceGET /x" is the method AcceGET to them) or take
	 * the first for an empty request line and close (Python's
	 * http.server): an answer that is right either way is noise.
	 */
	for (k = 0; k < len && (req[k] == '\r' || req[k] == '\n'); k++)
		;
	if (n != FUZZ_NOISE_NONE || k == 0 || k == len)
		return n;
	if (kind == FUZZ_EOF || kind == FUZZ_RESET ||
	    kind == FUZZ_BAD_RESPONSE)
		return FUZZ_NOISE_LINE;
	return noise_classify(req + k, len - k, method, mlen, halfclosed,
	    kind, status);
}

/* --- gRPC ---------------------------------------------------------------- */

enum fuzz_kind
fuzz_grpc_kind(int code)
{
	return code == GRPC_INTERNAL || code == GRPC_UNKNOWN ? FUZZ_GRPC :
	    FUZZ_OK;
}

/* The value of header name in m, or a null span. */
static struct span
noise_header(const struct http_msg *m, const char *name)
{
	size_t	i;

	for (i = 0; i < m->nheaders; i++)
		if (span_caseeq_str(m->headers[i].name, name))
			return m->headers[i].value;
	return SPAN_NULL;
}

/*
 * The messages of a gRPC request's body, or -1 when the body does not
 * frame as uncompressed messages (a flag other than 0, a message cut
 * short, bytes left over); -2 when r is not an HTTP request with a
 * framed body, -3 when its content-type is not gRPC's.
 */
static long
noise_grpc_msgs(const char *r, size_t len, struct http_msg *m)
{
	struct grpc_msg	 g;
	enum http_err	 err;
	const char	*why;
	const uint8_t	*body;
	size_t		 erroff, off = 0, blen;
	ssize_t		 h;
	long		 n = 0;
	int		 rc;

	h = http_parse_request(r, len, NOISE_PARSE_MAX, m, &err, &erroff);
	if (h < 0 || m->framing == HTTP_FRAME_CHUNKED)
		return -2;
	if (!grpc_is_content_type(noise_header(m, "content-type")))
		return -3;
	body = (const uint8_t *)r + h;
	blen = len - (size_t)h;
	if (m->framing == HTTP_FRAME_LENGTH && m->content_length < blen)
		blen = (size_t)m->content_length;
	while ((rc = grpc_next_msg(body, blen, &off, &g, &why)) == 1) {
		if (g.compressed)
			return -1;
		n++;
	}
	return rc == 0 ? n : -1;
}

enum fuzz_noise
fuzz_noise_grpc(const char *req, size_t len, const char *entry,
    size_t elen, enum fuzz_kind kind)
{
	struct http_msg	m;
	long		want, got;

	if (kind != FUZZ_GRPC && kind != FUZZ_RESET && kind != FUZZ_EOF)
		return FUZZ_NOISE_NONE;
	if ((want = noise_grpc_msgs(entry, elen, &m)) < 0)
		return FUZZ_NOISE_NONE;
	got = noise_grpc_msgs(req, len, &m);
	if (got == -2)		/* not HTTP: the HTTP classifier's */
		return FUZZ_NOISE_NONE;
	if (got == -3 || !span_eq_str(span_trim(noise_header(&m, "te")),
	    "trailers"))
		return FUZZ_NOISE_HEADERS;
	if (!span_eq_str(m.method, "POST"))
		return FUZZ_NOISE_METHOD;
	if (got != want)
		return FUZZ_NOISE_GRPC_FRAMING;
	return FUZZ_NOISE_NONE;
}
