/*
 * http.h -- incremental, zero-copy HTTP/1.1 message parser and writer.
 *
 * The parsers never allocate and never copy: every field of a struct
 * http_msg is a span into the caller's buffer, valid as long as that buffer
 * is.  They are strict on purpose: anything a front-end and a back-end
 * could read differently (request smuggling shapes) is an error, not a
 * guess.  Rejected: Content-Length together with Transfer-Encoding,
 * duplicate or non-numeric or overflowing Content-Length, any
 * Transfer-Encoding but "chunked", obs-fold, NUL bytes, bare CR, bare LF
 * line endings, whitespace before a header's colon, a header line without
 * a colon, control characters in names or values, a head longer than the
 * caller's limit, and bad chunk sizes.
 *
 * Tri-state results: a parser returns the number of bytes it consumed
 * (> 0), HTTP_PARTIAL when the buffer holds an incomplete but so far valid
 * message, or HTTP_ERROR with an error code and the byte offset of the
 * offending byte.
 */
#ifndef DECOY_HTTP_H
#define DECOY_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "buf.h"

#define HTTP_PARTIAL		(-2)
#define HTTP_ERROR		(-1)

#define HTTP_MAX_HEADERS	100
#define HTTP_DEFAULT_MAX_HEAD	(16 * 1024)

enum http_err {
	HTTP_E_NONE = 0,
	HTTP_E_REQUEST_LINE,	/* malformed request line */
	HTTP_E_METHOD,		/* empty method or a non-token character */
	HTTP_E_TARGET,		/* empty target or a forbidden character */
	HTTP_E_VERSION,		/* not HTTP/1.0 or HTTP/1.1 */
	HTTP_E_STATUS_LINE,	/* malformed status line */
	HTTP_E_STATUS,		/* status code not three digits 100..999 */
	HTTP_E_HEADER_NAME,	/* empty name or a non-token character */
	HTTP_E_HEADER_VALUE,	/* control character in a value */
	HTTP_E_NO_COLON,	/* header line without a colon */
	HTTP_E_SPACE_BEFORE_COLON,
	HTTP_E_OBS_FOLD,	/* continuation line */
	HTTP_E_BARE_CR,		/* CR not followed by LF */
	HTTP_E_BARE_LF,		/* LF not preceded by CR */
	HTTP_E_NUL,		/* NUL byte in the head */
	HTTP_E_TOO_MANY_HEADERS,
	HTTP_E_HEAD_TOO_LARGE,
	HTTP_E_CL_INVALID,	/* non-numeric, negative or overflowing */
	HTTP_E_CL_DUPLICATE,
	HTTP_E_CL_AND_TE,
	HTTP_E_TE_UNSUPPORTED,	/* Transfer-Encoding other than chunked */
	HTTP_E_HOST,		/* HTTP/1.1 request without Host, or several */
	HTTP_E_CHUNK_SIZE,	/* bad or overflowing chunk size */
	HTTP_E_CHUNK_FRAMING,	/* missing CRLF after chunk data, bad trailer */
	HTTP_E_CHUNK_TOO_LARGE,	/* chunk size line or trailers too long */
	HTTP_E_BODY_TOO_LARGE,	/* chunk sizes announce more than the
				   decoder's max_body */
};

/* A short English description ("duplicate Content-Length"). */
const char	*http_strerror(enum http_err);

struct http_header {
	struct span	name;
	struct span	value;	/* leading and trailing whitespace removed */
};

enum http_framing {
	HTTP_FRAME_NONE,	/* no body */
	HTTP_FRAME_LENGTH,	/* content_length bytes follow the head */
	HTTP_FRAME_CHUNKED,	/* chunked transfer coding */
	HTTP_FRAME_EOF,		/* response body runs until the peer closes */
};

struct http_msg {
	/* Requests. */
	struct span	method;
	struct span	target;		/* as sent */
	struct span	scheme;		/* absolute-form only, else empty */
	struct span	authority;	/* absolute-form only, else empty */
	struct span	path;		/* target up to '?' ("*" for OPTIONS *) */
	struct span	query;		/* after '?', without it; empty if none */
	struct span	host;		/* Host header value, empty if absent */

	/* Responses. */
	int		status;
	struct span	reason;		/* may be empty */

	int		version;	/* 10 or 11 */
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t		nheaders;

	enum http_framing framing;
	uint64_t	content_length;	/* with HTTP_FRAME_LENGTH */
	int		keep_alive;	/* 1 if the connection may be reused */
	int		expect_continue;
	size_t		head_len;	/* bytes of status/request line + headers */
	/* Request trailer fields (an HTTP/2 request's trailing HEADERS, in
	 * the same storage as the headers); none from the parsers. */
	const struct http_header *trailers;
	size_t		ntrailers;
};

/*
 * Parses a request head from buf[0..len).  max_head bounds the head's
 * size (0 means HTTP_DEFAULT_MAX_HEAD); a longer head is
 * HTTP_E_HEAD_TOO_LARGE even when incomplete.  Returns the head length,
 * HTTP_PARTIAL or HTTP_ERROR (with *err and *erroff set).  The body is not
 * consumed: m->framing says how to read it.  An HTTP/1.1 request must
 * carry exactly one Host header (or an absolute-form target).
 */
ssize_t	 http_parse_request(const char *buf, size_t len, size_t max_head,
	    struct http_msg *m, enum http_err *err, size_t *erroff);

/*
 * Parses a response head.  head_request says the response answers a HEAD
 * request (so it has no body whatever its headers say); 1xx, 204 and 304
 * responses have no body either.  Same results as http_parse_request().
 */
ssize_t	 http_parse_response(const char *buf, size_t len, size_t max_head,
	    int head_request, struct http_msg *m, enum http_err *err,
	    size_t *erroff);

/* Case-insensitive lookup of the first header called name; NULL if none. */
const struct http_header *http_find_header(const struct http_msg *,
	    const char *name);

/*
 * Incremental, in-place chunked decoder.  Feed it the raw bytes that follow
 * what it has already seen; it moves the decoded body bytes to the front of
 * the region it was given and sets *len to their number.  Returns
 * HTTP_PARTIAL when the terminating chunk and trailers are not complete
 * yet, HTTP_ERROR (with *err and *erroff, offsets relative to the region)
 * on bad framing, or, when complete, the number of bytes that follow the
 * message: they are left at buf[*len .. *len + result) for the caller (the
 * next pipelined message).  With max_body set (after http_chunked_init),
 * a chunk size that takes the body past it is an HTTP_E_BODY_TOO_LARGE
 * error as soon as its digits are read, before any of its data arrives.
 */
struct http_chunked {
	int		state;
	uint64_t	max_body;	/* 0: no limit */
	uint64_t	announced;	/* data bytes of the chunks so far */
	uint64_t	left;		/* bytes of chunk data still to come */
	size_t		line_len;	/* bytes of the current size/trailer line */
	size_t		trailer_len;	/* bytes of trailers so far */
	int		ndigits;
	/* NULL, or where the trailer section's field lines go as they
	 * pass ("name: value\r\n" each, checked, bounded like the
	 * section; set after http_chunked_init). */
	struct buf	*trailers;
};

void	 http_chunked_init(struct http_chunked *);
ssize_t	 http_chunked_decode(struct http_chunked *, char *buf, size_t *len,
	    enum http_err *err, size_t *erroff);
/*
 * Splits trailer field lines as a decoder kept them (p[0..len), each
 * "name: value\r\n") into out[0..max): spans into p, values without
 * their surrounding whitespace.  Returns the number of fields stored
 * (lines past max are left out).
 */
size_t	 http_trailer_fields(const char *p, size_t len,
	    struct http_header *out, size_t max);

/*
 * Writer.  Appends a status line "HTTP/1.1 <status> <reason>\r\n" (reason
 * defaults to the standard phrase when empty), one header line, or a whole
 * simple response with Content-Length and an optional Connection: close.
 */
void	 http_write_status_line(struct buf *, int status, struct span reason);
void	 http_write_header(struct buf *, struct span name, struct span value);
void	 http_write_simple(struct buf *, int status, const char *content_type,
	    const void *body, size_t body_len, int close);
/* Appends a request line "METHOD target HTTP/1.1\r\n" (add Host with
 * http_write_header). */
void	 http_write_request_line(struct buf *, struct span method,
	    struct span target);
/* Standard reason phrase for a status code, "" if unknown. */
const char	*http_reason(int status);
/* True for headers the writer frames itself: Content-Length,
 * Transfer-Encoding, Connection, Keep-Alive. */
int	 http_is_framing_header(struct span name);

#endif
