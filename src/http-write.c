/*
 * http-write.c -- HTTP/1.1 head writer.
 *
 * Everything is appended to a caller's struct buf.  The writer never lets
 * its input break the framing: CR, LF and NUL in a reason phrase, a header
 * name or a header value become spaces, so a recorded or rule-supplied
 * string cannot smuggle a header or end the head early.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "http.h"

struct http_reason_entry {
	int		 status;
	const char	*reason;
};

static const struct http_reason_entry http_reasons[] = {
	{ 100, "Continue" },
	{ 101, "Switching Protocols" },
	{ 102, "Processing" },
	{ 103, "Early Hints" },
	{ 200, "OK" },
	{ 201, "Created" },
	{ 202, "Accepted" },
	{ 203, "Non-Authoritative Information" },
	{ 204, "No Content" },
	{ 205, "Reset Content" },
	{ 206, "Partial Content" },
	{ 207, "Multi-Status" },
	{ 208, "Already Reported" },
	{ 226, "IM Used" },
	{ 300, "Multiple Choices" },
	{ 301, "Moved Permanently" },
	{ 302, "Found" },
	{ 303, "See Other" },
	{ 304, "Not Modified" },
	{ 305, "Use Proxy" },
	{ 307, "Temporary Redirect" },
	{ 308, "Permanent Redirect" },
	{ 400, "Bad Request" },
	{ 401, "Unauthorized" },
	{ 402, "Payment Required" },
	{ 403, "Forbidden" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 406, "Not Acceptable" },
	{ 407, "Proxy Authentication Required" },
	{ 408, "Request Timeout" },
	{ 409, "Conflict" },
	{ 410, "Gone" },
	{ 411, "Length Required" },
	{ 412, "Precondition Failed" },
	{ 413, "Content Too Large" },
	{ 414, "URI Too Long" },
	{ 415, "Unsupported Media Type" },
	{ 416, "Range Not Satisfiable" },
	{ 417, "Expectation Failed" },
	{ 418, "I'm a teapot" },
	{ 421, "Misdirected Request" },
	{ 422, "Unprocessable Content" },
	{ 423, "Locked" },
	{ 424, "Failed Dependency" },
	{ 425, "Too Early" },
	{ 426, "Upgrade Required" },
	{ 428, "Precondition Required" },
	{ 429, "Too Many Requests" },
	{ 431, "Request Header Fields Too Large" },
	{ 451, "Unavailable For Legal Reasons" },
	{ 500, "Internal Server Error" },
	{ 501, "Not Implemented" },
	{ 502, "Bad Gateway" },
	{ 503, "Service Unavailable" },
	{ 504, "Gateway Timeout" },
	{ 505, "HTTP Version Not Supported" },
	{ 506, "Variant Also Negotiates" },
	{ 507, "Insufficient Storage" },
	{ 508, "Loop Detected" },
	{ 510, "Not Extended" },
	{ 511, "Network Authentication Required" },
};

/*
 * Returns the standard reason phrase for status (a static string), or ""
 * when the code has none.
 */
const char *
http_reason(int status)
{
	size_t	lo = 0, hi = sizeof http_reasons / sizeof http_reasons[0], mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (http_reasons[mid].status == status)
			return http_reasons[mid].reason;
		if (http_reasons[mid].status < status)
			lo = mid + 1;
		else
			hi = mid;
	}
	return "";
}

/* Appends s with CR, LF and NUL replaced by spaces. */
static void
http_append_safe(struct buf *b, struct span s)
{
	size_t	i, start = 0;

	if (s.len == 0)
		return;
	for (i = 0; i < s.len; i++) {
		if (s.p[i] != '\r' && s.p[i] != '\n' && s.p[i] != '\0')
			continue;
		buf_append(b, s.p + start, i - start);
		buf_append_byte(b, ' ');
		start = i + 1;
	}
	buf_append(b, s.p + start, s.len - start);
}

/*
 * Appends "HTTP/1.1 <status> <reason>\r\n".  An empty reason is replaced by
 * http_reason(status); the space before the reason is always written, as
 * RFC 9112 asks.
 */
void
http_write_status_line(struct buf *b, int status, struct span reason)
{
	buf_printf(b, "HTTP/1.1 %03d ", status);
	if (reason.len == 0)
		buf_append_str(b, http_reason(status));
	else
		http_append_safe(b, reason);
	buf_append(b, "\r\n", 2);
}

/* Appends "name: value\r\n". */
void
http_write_header(struct buf *b, struct span name, struct span value)
{
	http_append_safe(b, name);
	buf_append(b, ": ", 2);
	http_append_safe(b, value);
	buf_append(b, "\r\n", 2);
}

/*
 * Appends a complete response: status line, Content-Type when content_type
 * is not NULL, Content-Length, "Connection: close" when close is set, the
 * blank line and body_len bytes of body (which may be NULL when body_len is
 * 0).
 */
void
http_write_simple(struct buf *b, int status, const char *content_type,
    const void *body, size_t body_len, int close)
{
	char	num[32];
	int	n;

	http_write_status_line(b, status, SPAN_NULL);
	if (content_type != NULL)
		http_write_header(b, SPAN_LIT("Content-Type"),
		    span_from_str(content_type));
	n = snprintf(num, sizeof num, "%zu", body_len);
	http_write_header(b, SPAN_LIT("Content-Length"),
	    (struct span){ num, (size_t)n });
	if (close)
		http_write_header(b, SPAN_LIT("Connection"), SPAN_LIT("close"));
	buf_append(b, "\r\n", 2);
	if (body_len > 0)
		buf_append(b, body, body_len);
}

/*
 * Appends "METHOD target HTTP/1.1\r\n".  The caller adds Host and the other
 * headers with http_write_header().
 */
void
http_write_request_line(struct buf *b, struct span method, struct span target)
{
	http_append_safe(b, method);
	buf_append_byte(b, ' ');
	http_append_safe(b, target);
	buf_append(b, " HTTP/1.1\r\n", 11);
}

/*
 * Returns 1 for the headers the writer's callers frame themselves
 * (Content-Length, Transfer-Encoding, Connection, Keep-Alive), matched
 * ignoring case; 0 otherwise.
 */
int
http_is_framing_header(struct span name)
{
	return span_caseeq_str(name, "Content-Length") ||
	    span_caseeq_str(name, "Transfer-Encoding") ||
	    span_caseeq_str(name, "Connection") ||
	    span_caseeq_str(name, "Keep-Alive");
}
