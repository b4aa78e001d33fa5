/*
 * http-parse.c -- strict, incremental, zero-copy HTTP/1.1 head parser and
 * chunked decoder.
 *
 * The head parsers keep no state between calls: the caller appends bytes
 * and calls again, and the head is parsed from its first byte each time
 * (as picohttpparser does).  Only complete lines are parsed; each line is
 * first scanned for CR, LF and NUL (so bare CR, bare LF and NUL are found
 * wherever they are) and then checked against its own grammar, so the
 * error reported is the first bad line's.  Everything a front-end and a
 * back-end could read differently is an error rather than a guess: see
 * http.h for the list.
 *
 * The chunked decoder does keep state (struct http_chunked) because it
 * consumes its input: it runs one byte class at a time through a small
 * state machine and compacts the body bytes in place.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "base64.h"
#include "http.h"

/* RFC 9110 tchar. */
static const unsigned char http_tchar[256] = {
	['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
	['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
	['`'] = 1, ['|'] = 1, ['~'] = 1,
};

#define HTTP_IS_TCHAR(c)	(http_tchar[(unsigned char)(c)])
/* Allowed in field values and reason phrases: HTAB, SP, VCHAR, obs-text. */
#define HTTP_IS_VCHAR(c)						\
	((unsigned char)(c) == '\t' ||					\
	((unsigned char)(c) >= 0x20 && (unsigned char)(c) != 0x7f))
#define HTTP_IS_WS(c)		((c) == ' ' || (c) == '\t')

/*
 * Eight bytes at a time: HTTP_HASLESS(w, n) is nonzero when some byte of
 * w is below n (n <= 128), exact as a yes/no answer.  Lines are scanned a
 * word at a time and only a word that may hold a byte of interest is
 * looked at byte by byte.
 */
#define HTTP_ONES		0x0101010101010101ULL
#define HTTP_HIGHS		0x8080808080808080ULL
#define HTTP_HASLESS(w, n)	(((w) - HTTP_ONES * (n)) & ~(w) & HTTP_HIGHS)

static inline uint64_t
http_word(const char *p)
{
	uint64_t	w;

	memcpy(&w, p, sizeof w);
	return w;
}

/*
 * A header name equal to the literal lit (letters and '-'), ignoring
 * ASCII case; the length and the first letter (folded) are compared
 * before strncasecmp() is called.
 */
#define HTTP_NAME_IS(sp, lit)						\
	((sp).len == sizeof(lit) - 1 &&					\
	((unsigned char)(sp).p[0] | 0x20) == ((lit)[0] | 0x20) &&	\
	strncasecmp((sp).p, (lit), sizeof(lit) - 1) == 0)

/* Longest chunk-size line (with extensions) and trailer section. */
#define HTTP_CHUNK_LINE_MAX	4096
#define HTTP_CHUNK_TRAILER_MAX	(16 * 1024)

/* Work state of one head parse. */
struct http_ctx {
	const char	*buf;
	size_t		 len;		/* bytes the caller has */
	size_t		 end;		/* bytes we may look at: min(len, max) */
	size_t		 max_head;
	int		 request;
	enum http_err	*err;
	size_t		*erroff;

	int		 ncl;		/* Content-Length headers seen */
	int		 nte;		/* Transfer-Encoding headers seen */
	int		 nhost;
	int		 absolute;	/* absolute-form target */
	int		 conn_close;
	int		 conn_keep_alive;
};

static const char *const http_errors[] = {
	[HTTP_E_NONE] = "no error",
	[HTTP_E_REQUEST_LINE] = "malformed request line",
	[HTTP_E_METHOD] = "bad method",
	[HTTP_E_TARGET] = "bad request target",
	[HTTP_E_VERSION] = "unsupported HTTP version",
	[HTTP_E_STATUS_LINE] = "malformed status line",
	[HTTP_E_STATUS] = "bad status code",
	[HTTP_E_HEADER_NAME] = "bad header name",
	[HTTP_E_HEADER_VALUE] = "control character in header value",
	[HTTP_E_NO_COLON] = "header line without a colon",
	[HTTP_E_SPACE_BEFORE_COLON] = "whitespace before header colon",
	[HTTP_E_OBS_FOLD] = "obsolete header line folding",
	[HTTP_E_BARE_CR] = "CR not followed by LF",
	[HTTP_E_BARE_LF] = "LF not preceded by CR",
	[HTTP_E_NUL] = "NUL byte",
	[HTTP_E_TOO_MANY_HEADERS] = "too many headers",
	[HTTP_E_HEAD_TOO_LARGE] = "head too large",
	[HTTP_E_CL_INVALID] = "invalid Content-Length",
	[HTTP_E_CL_DUPLICATE] = "duplicate Content-Length",
	[HTTP_E_CL_AND_TE] = "both Content-Length and Transfer-Encoding",
	[HTTP_E_TE_UNSUPPORTED] = "unsupported Transfer-Encoding",
	[HTTP_E_HOST] = "missing or repeated Host",
	[HTTP_E_CHUNK_SIZE] = "bad chunk size",
	[HTTP_E_CHUNK_FRAMING] = "bad chunk framing",
	[HTTP_E_CHUNK_TOO_LARGE] = "chunk size line or trailers too long",
	[HTTP_E_BODY_TOO_LARGE] = "chunked body too large",
};

/*
 * Returns the fixed English description of an error code; "unknown error"
 * for a value outside the enum.
 */
const char *
http_strerror(enum http_err e)
{
	if ((size_t)e >= sizeof http_errors / sizeof http_errors[0] ||
	    http_errors[e] == NULL)
		return "unknown error";
	return http_errors[e];
}

static ssize_t
http_fail(struct http_ctx *c, enum http_err e, size_t off)
{
	*c->err = e;
	*c->erroff = off;
	return HTTP_ERROR;
}

/*
 * Out of bytes in the middle of the head: partial, unless the head can no
 * longer fit in max_head.
 */
static ssize_t
http_short(struct http_ctx *c)
{
	if (c->len >= c->max_head)
		return http_fail(c, HTTP_E_HEAD_TOO_LARGE, c->max_head);
	return HTTP_PARTIAL;
}

/*
 * Finds the CRLF that ends the line starting at pos and stores the offset
 * of its CR in *eol.  Returns 0, HTTP_PARTIAL or HTTP_ERROR.
 */
static ssize_t
http_find_eol(struct http_ctx *c, size_t pos, size_t *eol)
{
	const char	*b = c->buf;
	size_t		 i;
	uint64_t	 m;

	/*
	 * CR, LF and NUL are all below 14: skip words without any, and in
	 * the first word with one go straight to it (the lowest flagged
	 * byte is exact; a TAB or another control byte below it is looked
	 * at byte by byte from there).
	 */
	for (i = pos; i + 8 <= c->end; i += 8) {
		if ((m = HTTP_HASLESS(http_word(b + i), 14)) != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			i += (size_t)__builtin_ctzll(m) >> 3;
#endif
			break;
		}
	}
	for (; i < c->end; i++) {
		switch (b[i]) {
		case '\r':
			if (i + 1 == c->end)
				return http_short(c);
			if (b[i + 1] != '\n')
				return http_fail(c, HTTP_E_BARE_CR, i);
			*eol = i;
			return 0;
		case '\n':
			return http_fail(c, HTTP_E_BARE_LF, i);
		case '\0':
			return http_fail(c, HTTP_E_NUL, i);
		}
	}
	return http_short(c);
}

/* 1 if s is exactly "HTTP/1.0" or "HTTP/1.1"; sets *version. */
static int
http_version(const char *s, size_t len, int *version)
{
	if (len != 8 || memcmp(s, "HTTP/1.", 7) != 0)
		return 0;
	if (s[7] == '0')
		*version = 10;
	else if (s[7] == '1')
		*version = 11;
	else
		return 0;
	return 1;
}

/* CONNECT's authority-form: host ":" port, nothing else. */
static int
http_is_authority_form(const char *s, size_t len)
{
	size_t	i, colon = len;

	for (i = 0; i < len; i++) {
		switch (s[i]) {
		case '/':
		case '?':
		case '#':
		case '@':
			return 0;
		case ':':
			colon = i;
			break;
		}
	}
	if (colon == 0 || colon >= len - 1 || len - colon - 1 > 5)
		return 0;
	for (i = colon + 1; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
	}
	return 1;
}

/* Splits path from query in t (which starts with '/' or is "*"). */
static void
http_split_query(struct span t, struct http_msg *m)
{
	const char	*q;

	if ((q = memchr(t.p, '?', t.len)) == NULL) {
		m->path = t;
		return;
	}
	m->path.p = t.p;
	m->path.len = (size_t)(q - t.p);
	m->query.p = q + 1;
	m->query.len = t.len - m->path.len - 1;
}

/*
 * Fills scheme, authority, path and query from the target; slash points at
 * a '/' in the buffer used as the path when an absolute-form target has
 * none.  Returns 0 or the offset (+1) of the bad byte.
 */
static size_t
http_parse_target(struct http_ctx *c, struct span method, struct span t,
    const char *slash, struct http_msg *m)
{
	size_t	i, a0, a1;

	if (span_eq_str(method, "CONNECT")) {
		if (!http_is_authority_form(t.p, t.len))
			return 1;
		m->authority = t;
		return 0;
	}
	if (t.len == 1 && t.p[0] == '*') {
		if (!span_eq_str(method, "OPTIONS"))
			return 1;
		m->path = t;
		return 0;
	}
	if (t.p[0] == '/') {
		http_split_query(t, m);
		return 0;
	}

	/* absolute-form: scheme "://" authority [path-abempty] ["?" query] */
	for (i = 0; i < t.len; i++) {
		if ((t.p[i] >= 'a' && t.p[i] <= 'z') ||
		    (t.p[i] >= 'A' && t.p[i] <= 'Z'))
			continue;
		if (i > 0 && ((t.p[i] >= '0' && t.p[i] <= '9') ||
		    t.p[i] == '+' || t.p[i] == '-' || t.p[i] == '.'))
			continue;
		break;
	}
	if (i == 0 || t.len - i < 3 || memcmp(t.p + i, "://", 3) != 0)
		return i + 1;
	m->scheme.p = t.p;
	m->scheme.len = i;
	a0 = a1 = i + 3;
	while (a1 < t.len && t.p[a1] != '/' && t.p[a1] != '?') {
		/* userinfo and fragments have no place in a request target */
		if (t.p[a1] == '@' || t.p[a1] == '#')
			return a1 + 1;
		a1++;
	}
	if (a1 == a0)
		return a0 + 1;
	m->authority.p = t.p + a0;
	m->authority.len = a1 - a0;
	if (a1 < t.len && t.p[a1] == '/')
		http_split_query((struct span){ t.p + a1, t.len - a1 }, m);
	else {
		m->path.p = slash;
		m->path.len = 1;
		if (a1 < t.len) {
			m->query.p = t.p + a1 + 1;
			m->query.len = t.len - a1 - 1;
		}
	}
	c->absolute = 1;
	return 0;
}

/* Request line: METHOD SP target SP HTTP/1.x, single spaces. */
static ssize_t
http_parse_request_line(struct http_ctx *c, size_t pos, size_t eol,
    struct http_msg *m)
{
	const char	*b = c->buf;
	size_t		 i, t0, v0, bad;

	for (i = pos; i < eol && HTTP_IS_TCHAR(b[i]); i++)
		;
	if (i == eol)
		return http_fail(c, HTTP_E_REQUEST_LINE, i);
	if (b[i] != ' ' || i == pos)
		return http_fail(c, HTTP_E_METHOD, i);
	m->method.p = b + pos;
	m->method.len = i - pos;

	t0 = ++i;
	for (; i < eol && b[i] != ' '; i++) {
		/* RFC 3986: raw non-ASCII bytes must be percent-encoded. */
		if ((unsigned char)b[i] <= 0x20 || (unsigned char)b[i] >= 0x7f)
			return http_fail(c, HTTP_E_TARGET, i);
	}
	if (i == t0)
		return http_fail(c, HTTP_E_TARGET, i);
	if (i == eol)
		return http_fail(c, HTTP_E_REQUEST_LINE, i);
	m->target.p = b + t0;
	m->target.len = i - t0;

	v0 = i + 1;
	if (!http_version(b + v0, eol - v0, &m->version))
		return http_fail(c, HTTP_E_VERSION, v0);

	/* b[v0 + 4] is the '/' of "HTTP/1.x". */
	if ((bad = http_parse_target(c, m->method, m->target, b + v0 + 4,
	    m)) != 0)
		return http_fail(c, HTTP_E_TARGET, t0 + bad - 1);
	return 0;
}

/* Status line: HTTP/1.x SP 3DIGIT [SP reason]. */
static ssize_t
http_parse_status_line(struct http_ctx *c, size_t pos, size_t eol,
    struct http_msg *m)
{
	const char	*b = c->buf;
	size_t		 i;

	if (eol - pos < 5 || memcmp(b + pos, "HTTP/", 5) != 0)
		return http_fail(c, HTTP_E_STATUS_LINE, pos);
	for (i = pos; i < eol && b[i] != ' '; i++)
		;
	if (!http_version(b + pos, i - pos, &m->version))
		return http_fail(c, HTTP_E_VERSION, pos);
	if (i == eol)
		return http_fail(c, HTTP_E_STATUS_LINE, i);

	i++;
	if (eol - i < 3 || b[i] < '1' || b[i] > '9' ||
	    b[i + 1] < '0' || b[i + 1] > '9' ||
	    b[i + 2] < '0' || b[i + 2] > '9')
		return http_fail(c, HTTP_E_STATUS, i);
	m->status = (b[i] - '0') * 100 + (b[i + 1] - '0') * 10 +
	    (b[i + 2] - '0');
	i += 3;
	if (i == eol)
		return 0;
	if (b[i] != ' ')
		return http_fail(c, HTTP_E_STATUS, i);
	m->reason.p = b + i + 1;
	m->reason.len = eol - i - 1;
	for (i++; i < eol; i++) {
		if (!HTTP_IS_VCHAR(b[i]))
			return http_fail(c, HTTP_E_STATUS_LINE, i);
	}
	return 0;
}

/* Content-Length: 1*DIGIT, at most INT64_MAX so it fits an off_t. */
static ssize_t
http_parse_cl(struct http_ctx *c, struct span v, struct http_msg *m)
{
	uint64_t	n = 0;
	size_t		i;
	unsigned	d;

	if (v.len == 0)
		return http_fail(c, HTTP_E_CL_INVALID, (size_t)(v.p - c->buf));
	for (i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			goto bad;
		d = (unsigned)(v.p[i] - '0');
		if (n > ((uint64_t)INT64_MAX - d) / 10)
			goto bad;
		n = n * 10 + d;
	}
	m->content_length = n;
	return 0;

bad:
	return http_fail(c, HTTP_E_CL_INVALID, (size_t)(v.p + i - c->buf));
}

/* Host: uri-host [":" port]; nothing that could hide a second host. */
static int
http_is_host(struct span v)
{
	size_t	i;

	for (i = 0; i < v.len; i++) {
		switch (v.p[i]) {
		case ' ':
		case '\t':
		case '/':
		case '\\':
		case '@':
		case '?':
		case '#':
		case ',':
			return 0;
		}
	}
	return 1;
}

/* Connection is a comma-separated token list. */
static void
http_parse_connection(struct http_ctx *c, struct span v)
{
	struct span	tok;
	const char	*comma;
	size_t		 n;

	while (v.len > 0) {
		comma = memchr(v.p, ',', v.len);
		n = comma == NULL ? v.len : (size_t)(comma - v.p);
		tok = span_trim((struct span){ v.p, n });
		if (span_caseeq_str(tok, "close"))
			c->conn_close = 1;
		else if (span_caseeq_str(tok, "keep-alive"))
			c->conn_keep_alive = 1;
		if (comma == NULL)
			break;
		v.p += n + 1;
		v.len -= n + 1;
	}
}

/* Checks one header line, stores it and notes the framing headers. */
static ssize_t
http_parse_header_line(struct http_ctx *c, size_t pos, size_t eol,
    struct http_msg *m)
{
	const char		*b = c->buf, *colon;
	struct http_header	*h;
	size_t			 i, k, ci;
	uint64_t		 w;

	if (HTTP_IS_WS(b[pos]))
		return http_fail(c, HTTP_E_OBS_FOLD, pos);
	/*
	 * The common case in one pass: a non-empty token up to the colon
	 * (':' is not a tchar, so it is the first colon).  Anything else
	 * takes the checks below, which find the error to report.
	 */
	for (ci = pos; ci < eol && HTTP_IS_TCHAR(b[ci]); ci++)
		;
	if (ci == pos || ci == eol || b[ci] != ':') {
		if ((colon = memchr(b + pos, ':', eol - pos)) == NULL)
			return http_fail(c, HTTP_E_NO_COLON, pos);
		ci = (size_t)(colon - b);
		if (ci == pos)
			return http_fail(c, HTTP_E_HEADER_NAME, pos);
		for (i = pos; i < ci; i++) {
			if (HTTP_IS_TCHAR(b[i]))
				continue;
			if (HTTP_IS_WS(b[i])) {
				for (k = i; k < ci && HTTP_IS_WS(b[k]); k++)
					;
				if (k == ci)
					return http_fail(c,
					    HTTP_E_SPACE_BEFORE_COLON, i);
			}
			return http_fail(c, HTTP_E_HEADER_NAME, i);
		}
	}
	for (i = ci + 1; i < eol; i++) {
		/* Words without control characters (TAB included) or DEL. */
		while (eol - i >= 8) {
			w = http_word(b + i);
			if (HTTP_HASLESS(w, 0x20) ||
			    HTTP_HASLESS(w ^ (HTTP_ONES * 0x7f), 1))
				break;
			i += 8;
		}
		if (i == eol)
			break;
		/* The last bytes as one word, overlapping bytes checked. */
		if (eol - i < 8 && eol - ci - 1 >= 8) {
			w = http_word(b + eol - 8);
			if (!HTTP_HASLESS(w, 0x20) &&
			    !HTTP_HASLESS(w ^ (HTTP_ONES * 0x7f), 1))
				break;
		}
		if (!HTTP_IS_VCHAR(b[i]))
			return http_fail(c, HTTP_E_HEADER_VALUE, i);
	}
	if (m->nheaders == HTTP_MAX_HEADERS)
		return http_fail(c, HTTP_E_TOO_MANY_HEADERS, pos);

	h = &m->headers[m->nheaders++];
	h->name.p = b + pos;
	h->name.len = ci - pos;
	/* span_trim(), inline: leading and trailing SP and HTAB. */
	for (i = ci + 1; i < eol && HTTP_IS_WS(b[i]); i++)
		;
	for (k = eol; k > i && HTTP_IS_WS(b[k - 1]); k--)
		;
	h->value.p = b + i;
	h->value.len = k - i;
	if (h->value.len == 0)
		h->value.p = b + eol;

	if (HTTP_NAME_IS(h->name, "Content-Length")) {
		if (++c->ncl > 1)
			return http_fail(c, HTTP_E_CL_DUPLICATE, pos);
		if (c->nte > 0)
			return http_fail(c, HTTP_E_CL_AND_TE, pos);
		return http_parse_cl(c, h->value, m);
	}
	if (HTTP_NAME_IS(h->name, "Transfer-Encoding")) {
		/*
		 * Two headers would mean "chunked, chunked"; HTTP/1.0 has no
		 * chunked coding and RFC 9112 6.1 says to treat its framing
		 * as faulty.
		 */
		if (++c->nte > 1 || m->version == 10)
			return http_fail(c, HTTP_E_TE_UNSUPPORTED, pos);
		if (c->ncl > 0)
			return http_fail(c, HTTP_E_CL_AND_TE, pos);
		if (!span_caseeq_str(h->value, "chunked"))
			return http_fail(c, HTTP_E_TE_UNSUPPORTED,
			    (size_t)(h->value.p - b));
		return 0;
	}
	if (HTTP_NAME_IS(h->name, "Connection")) {
		http_parse_connection(c, h->value);
		return 0;
	}
	if (!c->request)
		return 0;
	if (HTTP_NAME_IS(h->name, "Host")) {
		if (++c->nhost > 1 || !http_is_host(h->value))
			return http_fail(c, HTTP_E_HOST, pos);
		m->host = h->value;
		return 0;
	}
	/* RFC 9110 10.1.1: an HTTP/1.0 100-continue is ignored. */
	if (m->version == 11 && HTTP_NAME_IS(h->name, "Expect") &&
	    span_caseeq_str(h->value, "100-continue"))
		m->expect_continue = 1;
	return 0;
}

static void
http_msg_clear(struct http_msg *m)
{
	m->method = m->target = m->scheme = m->authority = SPAN_NULL;
	m->path = m->query = m->host = m->reason = SPAN_NULL;
	m->status = 0;
	m->version = 0;
	m->nheaders = 0;
	m->framing = HTTP_FRAME_NONE;
	m->content_length = 0;
	m->keep_alive = 0;
	m->expect_continue = 0;
	m->head_len = 0;
	m->trailers = NULL;
	m->ntrailers = 0;
}

static ssize_t
http_parse_head(struct http_ctx *c, int head_request, struct http_msg *m)
{
	const char	*b = c->buf;
	size_t		 pos = 0, eol, i;
	ssize_t		 r;

	http_msg_clear(m);

	/* RFC 9112 2.2: ignore empty lines before a request line. */
	while (c->request && pos < c->end && b[pos] == '\r') {
		if (pos + 1 == c->end)
			return http_short(c);
		if (b[pos + 1] != '\n')
			return http_fail(c, HTTP_E_BARE_CR, pos);
		pos += 2;
	}

	if ((r = http_find_eol(c, pos, &eol)) != 0) {
		/*
		 * Refuse a request that cannot be HTTP without waiting for
		 * max_head bytes of it (a TLS hello on a plain port).
		 */
		if (r == HTTP_PARTIAL && c->request) {
			for (i = pos; i < c->end && HTTP_IS_TCHAR(b[i]); i++)
				;
			if (i < c->end && (b[i] != ' ' || i == pos))
				return http_fail(c, HTTP_E_METHOD, i);
		}
		return r;
	}
	if (c->request)
		r = http_parse_request_line(c, pos, eol, m);
	else
		r = http_parse_status_line(c, pos, eol, m);
	if (r != 0)
		return r;

	for (pos = eol + 2;; pos = eol + 2) {
		if ((r = http_find_eol(c, pos, &eol)) != 0)
			return r;
		if (eol == pos)
			break;
		if ((r = http_parse_header_line(c, pos, eol, m)) != 0)
			return r;
	}
	m->head_len = pos + 2;

	if (m->version == 11)
		m->keep_alive = !c->conn_close;
	else
		m->keep_alive = c->conn_keep_alive && !c->conn_close;

	if (c->request) {
		if (m->version == 11 && c->nhost == 0 && !c->absolute)
			return http_fail(c, HTTP_E_HOST, pos);
		if (c->nte > 0)
			m->framing = HTTP_FRAME_CHUNKED;
		else if (c->ncl > 0)
			m->framing = HTTP_FRAME_LENGTH;
	} else {
		if (head_request || m->status / 100 == 1 ||
		    m->status == 204 || m->status == 304)
			m->framing = HTTP_FRAME_NONE;
		else if (c->nte > 0)
			m->framing = HTTP_FRAME_CHUNKED;
		else if (c->ncl > 0)
			m->framing = HTTP_FRAME_LENGTH;
		else {
			m->framing = HTTP_FRAME_EOF;
			m->keep_alive = 0;
		}
	}
	return (ssize_t)m->head_len;
}

static void
http_ctx_init(struct http_ctx *c, const char *buf, size_t len,
    size_t max_head, int request, enum http_err *err, size_t *erroff)
{
	memset(c, 0, sizeof *c);
	c->buf = buf;
	c->len = len;
	c->max_head = max_head == 0 ? HTTP_DEFAULT_MAX_HEAD : max_head;
	c->end = len < c->max_head ? len : c->max_head;
	c->request = request;
	c->err = err;
	c->erroff = erroff;
	*err = HTTP_E_NONE;
	*erroff = 0;
}

/*
 * Parses a request head from buf[0..len); see http.h.  m is overwritten on
 * every call and its spans point into buf.
 */
ssize_t
http_parse_request(const char *buf, size_t len, size_t max_head,
    struct http_msg *m, enum http_err *err, size_t *erroff)
{
	struct http_ctx	c;

	http_ctx_init(&c, buf, len, max_head, 1, err, erroff);
	return http_parse_head(&c, 0, m);
}

/*
 * Parses a response head from buf[0..len); see http.h.  head_request: the
 * response answers a HEAD request and so has no body.
 */
ssize_t
http_parse_response(const char *buf, size_t len, size_t max_head,
    int head_request, struct http_msg *m, enum http_err *err, size_t *erroff)
{
	struct http_ctx	c;

	http_ctx_init(&c, buf, len, max_head, 0, err, erroff);
	return http_parse_head(&c, head_request, m);
}

/*
 * Returns the first header of m whose name matches name ignoring ASCII
 * case, or NULL.  The result points into m.
 */
const struct http_header *
http_find_header(const struct http_msg *m, const char *name)
{
	struct span	n = span_from_str(name);
	size_t		i;

	for (i = 0; i < m->nheaders; i++) {
		if (span_caseeq(m->headers[i].name, n))
			return &m->headers[i];
	}
	return NULL;
}

/* Chunked decoder states. */
enum {
	HTTP_CH_SIZE,		/* hex digits of a chunk size */
	HTTP_CH_SIZE_WS,	/* whitespace after the size: ';' next */
	HTTP_CH_EXT_NAME,	/* after ';': BWS, then an extension name */
	HTTP_CH_EXT,		/* the rest of an extension, up to ';' or CR */
	HTTP_CH_SIZE_LF,	/* LF ending the size line */
	HTTP_CH_DATA,
	HTTP_CH_DATA_CR,	/* CRLF after chunk data */
	HTTP_CH_DATA_LF,
	HTTP_CH_TRAILER,	/* start of a trailer line or the final CRLF */
	HTTP_CH_TRAILER_NAME,
	HTTP_CH_TRAILER_VALUE,
	HTTP_CH_TRAILER_LF,
	HTTP_CH_END_LF,		/* LF of the final CRLF */
	HTTP_CH_DONE,
};

/* Readies a decoder for the first byte after a chunked message's head. */
void
http_chunked_init(struct http_chunked *ch)
{
	memset(ch, 0, sizeof *ch);
	ch->state = HTTP_CH_SIZE;
}


/* Steps the chunk-size line (size, BWS, extensions) by byte c. */
static enum http_err
http_chunked_size_byte(struct http_chunked *ch, char c)
{
	int	d;

	switch (ch->state) {
	case HTTP_CH_SIZE:
		if ((d = base16_value((unsigned char)c)) != -1) {
			if (ch->ndigits == 16)
				return HTTP_E_CHUNK_SIZE;
			ch->left = (ch->left << 4) | (uint64_t)d;
			ch->ndigits++;
			/* Refused on its size, not after the data. */
			if (ch->max_body != 0 && (ch->left >
			    ch->max_body || ch->announced >
			    ch->max_body - ch->left))
				return HTTP_E_BODY_TOO_LARGE;
			break;
		}
		if (ch->ndigits == 0)
			return HTTP_E_CHUNK_SIZE;
		if (c == '\r')
			ch->state = HTTP_CH_SIZE_LF;
		else if (c == ';')
			ch->state = HTTP_CH_EXT_NAME;
		else if (HTTP_IS_WS(c))
			ch->state = HTTP_CH_SIZE_WS;
		else
			return HTTP_E_CHUNK_SIZE;
		break;
	case HTTP_CH_SIZE_WS:
		/*
		 * RFC 9112 7.1.1: whitespace after the size is the
		 * BWS before a chunk-ext, never before the CRLF.
		 */
		if (c == ';')
			ch->state = HTTP_CH_EXT_NAME;
		else if (!HTTP_IS_WS(c))
			return HTTP_E_CHUNK_SIZE;
		break;
	case HTTP_CH_EXT_NAME:
		/* chunk-ext-name is a token: never empty. */
		if (HTTP_IS_TCHAR(c))
			ch->state = HTTP_CH_EXT;
		else if (!HTTP_IS_WS(c))
			return HTTP_E_CHUNK_FRAMING;
		break;
	case HTTP_CH_EXT:
		if (c == '\r')
			ch->state = HTTP_CH_SIZE_LF;
		else if (c == ';')
			ch->state = HTTP_CH_EXT_NAME;
		else if (!HTTP_IS_VCHAR(c) && !HTTP_IS_WS(c))
			return HTTP_E_CHUNK_FRAMING;
		break;
	default:
		break;
	}
	return HTTP_E_NONE;
}

/* Steps the line ends after the size line and the data, and the trailer
 * section, by byte c. */
static enum http_err
http_chunked_tail_byte(struct http_chunked *ch, char c)
{
	switch (ch->state) {
	case HTTP_CH_SIZE_LF:
		if (c != '\n')
			return HTTP_E_BARE_CR;
		ch->line_len = 0;
		ch->ndigits = 0;
		ch->announced += ch->left;
		ch->state = ch->left == 0 ? HTTP_CH_TRAILER :
		    HTTP_CH_DATA;
		break;
	case HTTP_CH_DATA_CR:
		if (c != '\r')
			return HTTP_E_CHUNK_FRAMING;
		ch->state = HTTP_CH_DATA_LF;
		break;
	case HTTP_CH_DATA_LF:
		if (c != '\n')
			return HTTP_E_CHUNK_FRAMING;
		ch->state = HTTP_CH_SIZE;
		break;
	case HTTP_CH_TRAILER:
		if (c == '\r')
			ch->state = HTTP_CH_END_LF;
		else if (HTTP_IS_TCHAR(c))
			ch->state = HTTP_CH_TRAILER_NAME;
		else
			return HTTP_E_CHUNK_FRAMING;
		break;
	case HTTP_CH_TRAILER_NAME:
		if (c == ':')
			ch->state = HTTP_CH_TRAILER_VALUE;
		else if (!HTTP_IS_TCHAR(c))
			return HTTP_E_CHUNK_FRAMING;
		break;
	case HTTP_CH_TRAILER_VALUE:
		if (c == '\r')
			ch->state = HTTP_CH_TRAILER_LF;
		else if (!HTTP_IS_VCHAR(c))
			return HTTP_E_CHUNK_FRAMING;
		break;
	case HTTP_CH_TRAILER_LF:
		if (c != '\n')
			return HTTP_E_BARE_CR;
		ch->state = HTTP_CH_TRAILER;
		break;
	case HTTP_CH_END_LF:
		if (c != '\n')
			return HTTP_E_BARE_CR;
		ch->state = HTTP_CH_DONE;
		break;
	default:
		break;
	}
	return HTTP_E_NONE;
}

/* Steps the decoder by one framing byte c (not in a chunk's data). */
static enum http_err
http_chunked_byte(struct http_chunked *ch, char c)
{
	if (ch->state <= HTTP_CH_SIZE_LF &&
	    ++ch->line_len > HTTP_CHUNK_LINE_MAX)
		return HTTP_E_CHUNK_TOO_LARGE;
	if (ch->state >= HTTP_CH_TRAILER &&
	    ++ch->trailer_len > HTTP_CHUNK_TRAILER_MAX)
		return HTTP_E_CHUNK_TOO_LARGE;
	/* Bare CR and LF are framing errors in every state. */
	if (c == '\n' && ch->state != HTTP_CH_SIZE_LF &&
	    ch->state != HTTP_CH_DATA_LF &&
	    ch->state != HTTP_CH_TRAILER_LF &&
	    ch->state != HTTP_CH_END_LF)
		return HTTP_E_BARE_LF;
	if (ch->state < HTTP_CH_SIZE_LF)
		return http_chunked_size_byte(ch, c);
	return http_chunked_tail_byte(ch, c);
}

/*
 * Decodes buf[0..*len) in place; see http.h.  On HTTP_PARTIAL all input is
 * consumed and the body bytes decoded so far are at buf[0..*len).  On
 * HTTP_ERROR *len is the body bytes decoded before the error and the
 * decoder must not be used again.
 */
ssize_t
http_chunked_decode(struct http_chunked *ch, char *buf, size_t *len,
    enum http_err *err, size_t *erroff)
{
	size_t		 src = 0, dst = 0, n, total = *len;
	enum http_err	 e;
	int		 prev;

	*err = HTTP_E_NONE;
	*erroff = 0;
	while (src < total && ch->state != HTTP_CH_DONE) {
		if (ch->state == HTTP_CH_DATA) {
			n = total - src;
			if (ch->left < n)
				n = (size_t)ch->left;
			if (dst != src)
				memmove(buf + dst, buf + src, n);
			dst += n;
			src += n;
			if ((ch->left -= n) == 0)
				ch->state = HTTP_CH_DATA_CR;
			continue;
		}
		prev = ch->state;
		if ((e = http_chunked_byte(ch, buf[src])) != HTTP_E_NONE) {
			*len = dst;
			*err = e;
			*erroff = src;
			return HTTP_ERROR;
		}
		/* A trailer line's byte (not the section's final CRLF). */
		if (ch->trailers != NULL && prev >= HTTP_CH_TRAILER &&
		    prev <= HTTP_CH_TRAILER_LF && ch->state != HTTP_CH_END_LF)
			buf_append(ch->trailers, buf + src, 1);
		src++;
	}

	if (ch->state != HTTP_CH_DONE) {
		*len = dst;
		return HTTP_PARTIAL;
	}
	n = total - src;
	if (n > 0 && dst != src)
		memmove(buf + dst, buf + src, n);
	*len = dst;
	return (ssize_t)n;
}

size_t
http_trailer_fields(const char *p, size_t len, struct http_header *out,
    size_t max)
{
	const char	*end = p + len, *eol, *colon, *v, *ve;
	size_t		 n = 0;

	while (p < end && n < max) {
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
			eol = end;
		if ((colon = memchr(p, ':', (size_t)(eol - p))) != NULL) {
			v = colon + 1;
			ve = eol;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' ||
			    ve[-1] == '\t'))
				ve--;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			out[n].name = (struct span){ p, (size_t)(colon - p) };
			out[n].value = (struct span){ v, (size_t)(ve - v) };
			n++;
		}
		p = eol < end ? eol + 1 : end;
	}
	return n;
}
