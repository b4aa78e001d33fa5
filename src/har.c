/*
 * har.c -- HAR 1.2 import and export (see har.h).
 *
 * Import maps each log.entries[] element onto one snapshot transaction:
 * the URL gives scheme (tls), authority (server "host:port", and the host
 * unless a Host header names it) and target (path?query; queryString is
 * redundant with it and ignored); headers keep their order and duplicates
 * (HTTP/2 pseudo-headers such as ":authority" are dropped); bodies are
 * postData.text and content.text, base64-decoded when "encoding" says so,
 * else their UTF-8 bytes exactly.  Browsers store content.text already
 * decoded (gunzipped), so a response Content-Encoding header is dropped on
 * import: kept, it would make a client decode the plain bytes again.  Our
 * own export marks bodies that are stored still encoded with
 * "_decoy_raw": true, and import keeps the header for those.
 *
 * Times: startedDateTime gives ts (normalised to UTC with microseconds)
 * and timing.start_us (unless our export marked it "_decoy_untimed", made
 * up for a transaction recorded without a time); time gives total_us; ttfb_us is blocked + dns +
 * connect + send + wait (ssl is part of connect in HAR 1.2), members of -1
 * counting as absent.  Millisecond numbers are converted to microseconds
 * from their decimal text, not through a double.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "buf.h"
#include "har.h"
#include "json.h"
#include "log.h"
#include "shape.h"
#include "snap.h"
#include "url.h"
#include "xmalloc.h"

/*
 * Durations above this (about 31 years) are refused, so that sums of
 * timings stay far from int64 limits and export as numbers import reads.
 */
#define HAR_MAX_US	1000000000000000LL

struct har_body {
	struct buf	 text;
	size_t		 off;		/* of the "text" string */
	int		 has_text;
	int		 b64;
	int		 raw;		/* "_decoy_raw": true */
};

/* --- small readers --- */

static int
har_type(struct json_parser *p, enum json_type want, const char *name,
    const char *what)
{
	return json_expect(p, want, name, what);
}

/* Reads a string that becomes a C string (no NUL allowed). */
static int
har_read_cstr(struct json_parser *p, const char *name, char **out)
{
	return json_read_cstr(p, name, out);
}

/* Enters the object name at p (an error unless it is one); *open gets
 * its offset, for errors about it as a whole. */
static int
har_object_enter(struct json_parser *p, const char *name, size_t *open)
{
	json_peek(p);
	*open = p->off;
	if (har_type(p, JSON_OBJECT, name, "an object") == -1)
		return -1;
	return json_object_enter(p);
}

/*
 * Converts a JSON number of milliseconds to microseconds, rounding half
 * up at the fourth decimal.  A negative value (HAR's -1, "not
 * applicable") gives -1.
 */
static int
har_ms_to_us(const char *s, size_t len, int64_t *us)
{
	char		*tmp, *end;
	double		 d;
	int64_t		 v = 0;
	size_t		 i = 0, nd = 0, nf = 0;

	if (len > 0 && s[0] == '-') {
		*us = -1;
		return 0;
	}
	if (memchr(s, 'e', len) != NULL || memchr(s, 'E', len) != NULL) {
		/* Rare: exponent form, where a double is good enough. */
		tmp = xstrndup(s, len);
		d = strtod(tmp, &end);
		free(tmp);
		if (!(d >= 0 && d * 1000.0 <= (double)HAR_MAX_US))
			return -1;
		*us = (int64_t)(d * 1000.0 + 0.5);
		return 0;
	}
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (++nd > 13)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	v *= 1000;
	if (i < len && s[i] == '.') {
		for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, nf++) {
			if (nf < 3)
				v += (s[i] - '0') * (nf == 0 ? 100 :
				    nf == 1 ? 10 : 1);
			else if (nf == 3 && s[i] >= '5')
				v++;
		}
	}
	if (v > HAR_MAX_US)
		return -1;
	*us = v;
	return 0;
}

/* Reads a number of milliseconds; null and negative values give -1. */
static int
har_read_ms(struct json_parser *p, const char *name, int64_t *us)
{
	struct json_value	v;

	if (json_peek(p) == JSON_NULL) {
		*us = -1;
		return json_skip(p, NULL);
	}
	if (har_type(p, JSON_NUMBER, name, "a number") == -1 ||
	    json_skip(p, &v) == -1)
		return -1;
	if (har_ms_to_us(v.p, v.len, us) == -1)
		return json_fail(p, v.off, "\"%s\" is out of range", name);
	return 0;
}

/* --- time stamps --- */


static int
har_digits(const char *s, size_t len, size_t *i, int n, int *out)
{
	int	v = 0;

	for (; n > 0; n--, (*i)++) {
		if (*i >= len || s[*i] < '0' || s[*i] > '9')
			return -1;
		v = v * 10 + (s[*i] - '0');
	}
	*out = v;
	return 0;
}

/*
 * Parses an ISO 8601 date-time, YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|
 * -hh:mm|+hhmm), into microseconds since the epoch.
 */
static int
har_parse_time(const char *s, int64_t *out)
{
	size_t	len = strlen(s), i = 0, nf;
	int	y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	int64_t	us = 0, scale = 100000;

	if (har_digits(s, len, &i, 4, &y) == -1 || i >= len || s[i++] != '-' ||
	    har_digits(s, len, &i, 2, &mo) == -1 || i >= len ||
	    s[i++] != '-' || har_digits(s, len, &i, 2, &d) == -1 ||
	    i >= len || (s[i] != 'T' && s[i] != 't' && s[i] != ' '))
		return -1;
	i++;
	if (har_digits(s, len, &i, 2, &h) == -1 || i >= len ||
	    s[i++] != ':' || har_digits(s, len, &i, 2, &mi) == -1 ||
	    i >= len || s[i++] != ':' ||
	    har_digits(s, len, &i, 2, &sec) == -1)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	if (i < len && s[i] == '.') {
		for (i++, nf = 0; i < len && s[i] >= '0' && s[i] <= '9';
		    i++, nf++) {
			if (nf < 6) {
				us += (s[i] - '0') * scale;
				scale /= 10;
			}
		}
		if (nf == 0)
			return -1;
	}
	if (i < len && (s[i] == 'Z' || s[i] == 'z'))
		i++;
	else if (i < len && (s[i] == '+' || s[i] == '-')) {
		sign = s[i++] == '-' ? -1 : 1;
		if (har_digits(s, len, &i, 2, &oh) == -1)
			return -1;
		if (i < len && s[i] == ':')
			i++;
		if (har_digits(s, len, &i, 2, &om) == -1 || oh > 23 ||
		    om > 59)
			return -1;
	} else
		return -1;
	if (i != len)
		return -1;
	*out = ((shape_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 +
	    sec) - sign * (oh * 3600 + om * 60)) * 1000000 + us;
	return 0;
}

/* Formats microseconds since the epoch as 2026-11-26T05:01:02.123456Z. */
static char *
har_format_time(int64_t t)
{
	int64_t	days, secs, us, y;
	int	m, d;

	us = t % 1000000;
	secs = t / 1000000;
	if (us < 0) {
		us += 1000000;
		secs--;
	}
	days = secs / 86400;
	secs %= 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	shape_civil_from_days(days, &y, &m, &d);
	return xasprintf("%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", (int)y, m, d,
	    (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60),
	    (int)us);
}

/* --- URLs --- */

struct har_url {
	int	 ok;		/* an http(s)/ws(s) URL */
	int	 tls;
	char	*host;		/* authority without userinfo and default port */
	char	*server;	/* host:port */
	char	*target;	/* path?query, never empty */
};

static void
har_url_free(struct har_url *u)
{
	free(u->host);
	free(u->server);
	free(u->target);
	memset(u, 0, sizeof *u);
}

/* Lower-cases s in place (host names compare that way). */
static char *
har_lower(char *s)
{
	size_t	i;

	for (i = 0; s[i] != '\0'; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] += 'a' - 'A';
	return s;
}

/*
 * Splits an absolute URL (url.h; userinfo skipped).  Returns 0 with
 * u->ok = 0 for schemes that are not HTTP, 0 with u->ok = 1 and the
 * parts, or -1 with *why (allocated).
 */
static int
har_url_parse(const char *url, struct har_url *u, char **why)
{
	struct url	 p;
	const char	*w;
	size_t		 len = strlen(url);

	memset(u, 0, sizeof *u);
	if (!url_is_http(url, len, URL_WEBSOCKET)) {
		if (strchr(url, ':') != NULL)
			return 0;	/* data:, about:, blob: ... */
		*why = xstrdup("\"url\" is not an absolute URL");
		return -1;
	}
	if (url_parse(url, len, URL_WEBSOCKET | URL_USERINFO, &p, &w) == -1) {
		*why = xasprintf("\"url\": %s", w);
		return -1;
	}
	u->ok = 1;
	u->tls = p.tls;
	u->host = har_lower(url_host_header(&p));
	u->server = har_lower(url_addr_dup(&p));
	u->target = url_request_target(&p);
	return 0;
}

/* --- entries --- */

static void
har_add_header(struct snap_header **hp, size_t *np, char *name,
    char *value)
{
	*hp = xreallocarray(*hp, *np + 1, sizeof **hp);
	(*hp)[*np].name = name;
	(*hp)[*np].value = value;
	(*np)++;
}

/* Reads headers [{name, value}, ...], dropping HTTP/2 pseudo-headers. */
static int
har_read_headers(struct json_parser *p, struct snap_header **hp, size_t *np)
{
	struct json_value	 key;
	char			*name, *value;
	size_t			 at;
	int			 r, re;

	if (har_type(p, JSON_ARRAY, "headers", "an array") == -1 ||
	    json_array_enter(p) == -1)
		return -1;
	while ((r = json_array_next(p)) == 1) {
		at = p->off;
		if (har_type(p, JSON_OBJECT, "header", "an object") == -1 ||
		    json_object_enter(p) == -1)
			return -1;
		name = value = NULL;
		while ((re = json_object_next(p, &key)) == 1) {
			if (json_string_eq(&key, "name") && name == NULL)
				re = har_read_cstr(p, "name", &name);
			else if (json_string_eq(&key, "value") &&
			    value == NULL)
				re = har_read_cstr(p, "value", &value);
			else
				re = json_skip(p, NULL);
			if (re == -1)
				break;
		}
		if (re == -1 || name == NULL || value == NULL ||
		    name[0] == '\0') {
			free(name);
			free(value);
			if (re == -1)
				return -1;
			return json_fail(p, at,
			    "a header needs a non-empty \"name\" and a "
			    "\"value\"");
		}
		if (name[0] == ':') {
			free(name);
			free(value);
			continue;
		}
		har_add_header(hp, np, name, value);
	}
	return r;
}

/* Reads postData or content: text, encoding, _decoy_raw. */
static int
har_read_body(struct json_parser *p, const char *what, struct har_body *b)
{
	struct json_value	 key;
	struct buf		 enc;
	size_t			 eoff;
	int			 r;

	if (har_type(p, JSON_OBJECT, what, "an object") == -1 ||
	    json_object_enter(p) == -1)
		return -1;
	while ((r = json_object_next(p, &key)) == 1) {
		if (json_string_eq(&key, "text")) {
			if (json_peek(p) == JSON_NULL) {
				r = json_skip(p, NULL);
			} else if ((r = har_type(p, JSON_STRING, "text",
			    "a string")) == 0) {
				buf_reset(&b->text);
				r = json_read_string(p, &b->text, &b->off);
				b->has_text = 1;
			}
		} else if (json_string_eq(&key, "encoding")) {
			if (har_type(p, JSON_STRING, "encoding",
			    "a string") == -1)
				return -1;
			buf_init(&enc);
			r = json_read_string(p, &enc, &eoff);
			if (r == 0 && enc.len > 0) {
				if (strcmp(enc.data, "base64") == 0)
					b->b64 = 1;
				else
					r = json_fail(p, eoff, "unsupported "
					    "\"encoding\" (only base64)");
			}
			buf_free(&enc);
		} else if (json_string_eq(&key, "_decoy_raw")) {
			if (json_peek(p) == JSON_BOOL)
				r = json_read_bool(p, &b->raw);
			else
				r = json_skip(p, NULL);
		} else
			r = json_skip(p, NULL);
		if (r == -1)
			return -1;
	}
	return r;
}

/* Turns a body read by har_read_body() into bytes. */
static int
har_body_bytes(struct json_parser *p, struct har_body *b, char **body,
    size_t *len)
{
	struct buf	out, clean;
	size_t		i, erroff;

	*body = NULL;
	*len = 0;
	if (!b->has_text || b->text.len == 0)
		return 0;
	if (!b->b64) {
		*body = buf_detach(&b->text, len);
		return 0;
	}
	/* Some writers wrap base64 text in lines. */
	buf_init(&clean);
	for (i = 0; i < b->text.len; i++) {
		if (strchr(" \t\r\n", b->text.data[i]) == NULL ||
		    b->text.data[i] == '\0')
			buf_append_byte(&clean, b->text.data[i]);
	}
	buf_init(&out);
	if (base64_decode(&out, clean.data == NULL ? "" : clean.data,
	    clean.len, &erroff) == -1) {
		buf_free(&clean);
		buf_free(&out);
		return json_fail(p, b->off, "bad base64 in \"text\"");
	}
	buf_free(&clean);
	if (out.len == 0) {
		buf_free(&out);
		return 0;
	}
	*body = buf_detach(&out, len);
	return 0;
}

static const char *
har_header_get(const struct snap_header *h, size_t n, const char *name)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcasecmp(h[i].name, name) == 0)
			return h[i].value;
	return NULL;
}

static void
har_header_drop(struct snap_header *h, size_t *n, const char *name)
{
	size_t	i, j;

	for (i = j = 0; i < *n; i++) {
		if (strcasecmp(h[i].name, name) == 0) {
			free(h[i].name);
			free(h[i].value);
		} else
			h[j++] = h[i];
	}
	*n = j;
}

/* Maps an httpVersion to the snapshot's proto (NULL for HTTP/1.1). */
static char *
har_proto(const char *v)
{
	char	*s;
	size_t	 i;

	s = xstrdup(v);
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] += 'a' - 'A';
	if (s[0] == '\0' || strcmp(s, "http/1.1") == 0) {
		free(s);
		return NULL;
	}
	if (strcmp(s, "http/2") == 0 || strcmp(s, "http/2.0") == 0) {
		free(s);
		return xstrdup("h2");
	}
	if (strcmp(s, "http/3") == 0 || strcmp(s, "http/3.0") == 0) {
		free(s);
		return xstrdup("h3");
	}
	return s;
}

static int
har_request(struct json_parser *p, struct snap_txn *t, char **url,
    size_t *urloff)
{
	struct json_value	 key;
	struct har_body		 body;
	char			*ver;
	size_t			 open;
	int			 r;

	memset(&body, 0, sizeof body);
	buf_init(&body.text);
	if (har_object_enter(p, "request", &open) == -1)
		return -1;
	while ((r = json_object_next(p, &key)) == 1) {
		if (json_string_eq(&key, "method") && t->req.method == NULL)
			r = har_read_cstr(p, "method", &t->req.method);
		else if (json_string_eq(&key, "url") && *url == NULL) {
			json_peek(p);
			*urloff = p->off;
			r = har_read_cstr(p, "url", url);
		} else if (json_string_eq(&key, "httpVersion") &&
		    t->proto == NULL) {
			if ((r = har_read_cstr(p, "httpVersion", &ver)) == 0) {
				t->proto = har_proto(ver);
				free(ver);
			}
		} else if (json_string_eq(&key, "headers") &&
		    t->req.nheaders == 0)
			r = har_read_headers(p, &t->req.headers,
			    &t->req.nheaders);
		else if (json_string_eq(&key, "postData"))
			r = har_read_body(p, "postData", &body);
		else
			r = json_skip(p, NULL);
		if (r == -1)
			break;
	}
	if (r == 0 && (t->req.method == NULL || t->req.method[0] == '\0'))
		r = json_fail(p, open, "\"request\" has no \"method\"");
	if (r == 0 && *url == NULL)
		r = json_fail(p, open, "\"request\" has no \"url\"");
	if (r == 0)
		r = har_body_bytes(p, &body, &t->req.body, &t->req.body_len);
	buf_free(&body.text);
	return r;
}

static void
har_res_clear(struct snap_res *res)
{
	size_t	i;

	free(res->reason);
	for (i = 0; i < res->nheaders; i++) {
		free(res->headers[i].name);
		free(res->headers[i].value);
	}
	free(res->headers);
	free(res->body);
	memset(res, 0, sizeof *res);
}

static int
har_response(struct json_parser *p, struct snap_txn *t)
{
	struct json_value	 key;
	struct har_body		 body;
	int64_t			 status = -1;
	size_t			 open, soff = 0;
	int			 r;

	memset(&body, 0, sizeof body);
	buf_init(&body.text);
	if (har_object_enter(p, "response", &open) == -1)
		return -1;
	while ((r = json_object_next(p, &key)) == 1) {
		if (json_string_eq(&key, "status") && status == -1) {
			json_peek(p);
			soff = p->off;
			if ((r = har_type(p, JSON_NUMBER, "status",
			    "an integer")) == 0 &&
			    (r = json_read_int64(p, &status)) == 0 &&
			    status != 0 && (status < 100 || status > 999))
				r = json_fail(p, soff, "\"status\" must be "
				    "0 or from 100 to 999");
		} else if (json_string_eq(&key, "statusText") &&
		    t->res.reason == NULL)
			r = har_read_cstr(p, "statusText", &t->res.reason);
		else if (json_string_eq(&key, "headers") &&
		    t->res.nheaders == 0)
			r = har_read_headers(p, &t->res.headers,
			    &t->res.nheaders);
		else if (json_string_eq(&key, "content"))
			r = har_read_body(p, "content", &body);
		else
			r = json_skip(p, NULL);
		if (r == -1)
			break;
	}
	if (r == 0 && status == -1)
		r = json_fail(p, open, "\"response\" has no \"status\"");
	if (r == 0)
		r = har_body_bytes(p, &body, &t->res.body, &t->res.body_len);
	buf_free(&body.text);
	if (r == -1)
		return -1;
	if (t->res.reason != NULL && t->res.reason[0] == '\0') {
		free(t->res.reason);
		t->res.reason = NULL;
	}
	if (!body.raw)
		har_header_drop(t->res.headers, &t->res.nheaders,
		    "Content-Encoding");
	t->res.status = (int)status;
	t->has_res = status != 0;
	if (!t->has_res) {
		/* A request that got no response (blocked, failed). */
		har_res_clear(&t->res);
	}
	return 0;
}

static int
har_timings(struct json_parser *p, int64_t *ttfb)
{
	static const char	*const parts[] = {
	    "blocked", "dns", "connect", "send", "wait"
	};
	struct json_value	 key;
	int64_t			 v, sum = 0;
	size_t			 i, open;
	int			 r, any = 0;

	if (har_object_enter(p, "timings", &open) == -1)
		return -1;
	while ((r = json_object_next(p, &key)) == 1) {
		for (i = 0; i < sizeof parts / sizeof parts[0]; i++)
			if (json_string_eq(&key, parts[i]))
				break;
		if (i == sizeof parts / sizeof parts[0]) {
			if (json_skip(p, NULL) == -1)
				return -1;
			continue;
		}
		if (har_read_ms(p, parts[i], &v) == -1)
			return -1;
		if (v >= 0) {
			sum += v;
			/* blocked/dns/connect alone are no first byte. */
			if (i >= 3)
				any = 1;
		}
	}
	if (r == 0 && sum > HAR_MAX_US)
		return json_fail(p, open, "\"timings\" add up to too much");
	if (r == 0)
		*ttfb = any ? sum : -1;
	return r;
}

/* The 1-based line and column (in bytes) of offset off of buf. */
static void
har_line_col(const char *buf, size_t len, size_t off, size_t *line,
    size_t *col)
{
	const char	*nl;
	size_t		 start = 0;

	*line = 1;
	if (off > len)
		off = len;
	while ((nl = memchr(buf + start, '\n', off - start)) != NULL) {
		(*line)++;
		start = (size_t)(nl - buf) + 1;
	}
	*col = off - start + 1;
}

/*
 * An entry our export wrote: "_decoy" holds the transaction's snapshot
 * line without its bodies (every member: dir, svc, client, server, proto,
 * id, ts, timing, tags and any other), and the bodies are the HAR's
 * postData and content, read into t.  t becomes that transaction, so
 * export then import gives the same snapshot byte for byte.
 */
static int
har_entry_decoy(struct json_parser *p, struct snap_txn *t,
    const struct json_value *dv, size_t doff)
{
	struct snap_txn	 d;
	char		*why = NULL;
	int		 r;

	if (snap_decode_line(dv->p, dv->len, &d, &why) == -1) {
		r = json_fail(p, doff, "\"_decoy\": %s", why);
		free(why);
		return r;
	}
	if (d.req.body_len > 0 || (d.has_res && d.res.body_len > 0)) {
		snap_txn_free(&d);
		return json_fail(p, doff, "\"_decoy\" holds a body (the "
		    "bodies are the entry's postData and content)");
	}
	free(d.req.body);
	d.req.body = t->req.body;
	d.req.body_len = t->req.body_len;
	t->req.body = NULL;
	t->req.body_len = 0;
	if (d.has_res) {
		free(d.res.body);
		d.res.body = t->res.body;
		d.res.body_len = t->res.body_len;
		t->res.body = NULL;
		t->res.body_len = 0;
	}
	snap_txn_free(t);
	*t = d;
	return 0;
}

static int
har_entry(struct json_parser *p, struct snap_txn *t, enum snap_dir dir,
    int *skip)
{
	struct json_value	 key;
	struct har_url		 u;
	struct json_value	 dv;
	const char		*hosthdr;
	char			*url = NULL, *started = NULL, *why = NULL;
	size_t			 open, urloff = 0, toff = 0, doff = 0;
	int64_t			 total = -1, ttfb = -1;
	int			 r, seen_req = 0, seen_res = 0, untimed = 0;
	int			 has_decoy = 0;

	memset(&u, 0, sizeof u);
	*skip = 0;
	if (har_object_enter(p, "entry", &open) == -1)
		return -1;
	while ((r = json_object_next(p, &key)) == 1) {
		if (json_string_eq(&key, "startedDateTime") &&
		    started == NULL) {
			json_peek(p);
			toff = p->off;
			r = har_read_cstr(p, "startedDateTime", &started);
		} else if (json_string_eq(&key, "time"))
			r = har_read_ms(p, "time", &total);
		else if (json_string_eq(&key, "request") && !seen_req) {
			seen_req = 1;
			r = har_request(p, t, &url, &urloff);
		} else if (json_string_eq(&key, "response") && !seen_res) {
			seen_res = 1;
			r = har_response(p, t);
		}
		else if (json_string_eq(&key, "timings"))
			r = har_timings(p, &ttfb);
		else if (json_string_eq(&key, "_decoy_untimed") &&
		    json_peek(p) == JSON_BOOL)
			r = json_read_bool(p, &untimed);
		else if (json_string_eq(&key, "_decoy") && !has_decoy &&
		    json_peek(p) == JSON_OBJECT) {
			has_decoy = 1;
			doff = p->off;
			r = json_skip(p, &dv);
		} else
			r = json_skip(p, NULL);
		if (r == -1)
			break;
	}
	if (r == 0 && !seen_req)
		r = json_fail(p, open, "entry has no \"request\"");
	if (r == 0 && has_decoy) {
		r = har_entry_decoy(p, t, &dv, doff);
		goto out;
	}
	if (r == 0 && started != NULL && !untimed) {
		if (har_parse_time(started, &t->start_us) == -1)
			r = json_fail(p, toff, "\"startedDateTime\" is not an "
			    "ISO 8601 date-time");
		else
			t->ts = har_format_time(t->start_us);
	}
	if (r == 0 && har_url_parse(url, &u, &why) == -1) {
		r = json_fail(p, urloff, "%s", why);
		free(why);
	}
	if (r == 0 && !u.ok) {
		*skip = 1;
		size_t	line, col;

		har_line_col(p->buf, p->len, open, &line, &col);
		log_warn("entry at %zu:%zu: not an HTTP URL, skipped", line,
		    col);
	} else if (r == 0) {
		t->dir = dir;
		t->tls = u.tls;
		t->server = u.server;
		t->req.target = u.target;
		hosthdr = har_header_get(t->req.headers, t->req.nheaders,
		    "Host");
		if (hosthdr != NULL)
			t->req.host = xstrdup(hosthdr);
		else {
			t->req.host = u.host;
			u.host = NULL;
		}
		u.server = u.target = NULL;
		t->total_us = total;
		t->ttfb_us = ttfb;
	}
out:
	har_url_free(&u);
	free(url);
	free(started);
	return r;
}

static int
har_log(struct json_parser *p, enum snap_dir dir, struct snap_txn **txns,
    size_t *n)
{
	struct json_value	 key;
	size_t			 cap = 0, open;
	int			 r, skip, seen = 0;

	if (har_object_enter(p, "log", &open) == -1)
		return -1;
	while ((r = json_object_next(p, &key)) == 1) {
		if (!json_string_eq(&key, "entries") || seen) {
			if (json_skip(p, NULL) == -1)
				return -1;
			continue;
		}
		seen = 1;
		if (har_type(p, JSON_ARRAY, "entries", "an array") == -1 ||
		    json_array_enter(p) == -1)
			return -1;
		while ((r = json_array_next(p)) == 1) {
			if (*n == cap) {
				cap = cap == 0 ? 16 : cap * 2;
				*txns = xreallocarray(*txns, cap,
				    sizeof **txns);
			}
			snap_txn_init(&(*txns)[*n]);
			if (har_entry(p, &(*txns)[*n], dir, &skip) == -1) {
				snap_txn_free(&(*txns)[*n]);
				return -1;
			}
			if (skip)
				snap_txn_free(&(*txns)[*n]);
			else
				(*n)++;
		}
		if (r == -1)
			return -1;
	}
	if (r == 0 && !seen)
		return json_fail(p, open, "\"log\" has no \"entries\"");
	return r;
}

int
har_import(const char *name, const char *buf, size_t len, enum snap_dir dir,
    struct snap_txn **txns, size_t *n, char **cause)
{
	struct json_parser	 p;
	struct json_value	 key;
	size_t			 line, col;
	int			 r, seen = 0;

	*txns = NULL;
	*n = 0;
	json_init(&p, buf, len);
	if (json_peek(&p) != JSON_OBJECT) {
		r = json_fail(&p, p.off, "a HAR file is a JSON object");
		goto out;
	}
	if ((r = json_object_enter(&p)) == -1)
		goto out;
	while ((r = json_object_next(&p, &key)) == 1) {
		if (json_string_eq(&key, "log") && !seen) {
			seen = 1;
			r = har_log(&p, dir, txns, n);
		} else
			r = json_skip(&p, NULL);
		if (r == -1)
			goto out;
	}
	if (r == 0 && !seen)
		r = json_fail(&p, 0, "no \"log\" member (not a HAR file?)");
	if (r == 0)
		r = json_finish(&p);
out:
	if (r == -1) {
		har_line_col(buf, len, p.error_off, &line, &col);
		*cause = xasprintf("%s:%zu:%zu: %s", name, line, col,
		    p.error != NULL ? p.error : "invalid");
		har_txns_free(*txns, *n);
		*txns = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

void
har_txns_free(struct snap_txn *txns, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		snap_txn_free(&txns[i]);
	free(txns);
}

/* --- export --- */

static void
har_put_str(struct buf *b, const char *s)
{
	if (s == NULL)
		s = "";
	json_append_string(b, s, strlen(s));
}

/* Appends microseconds as a decimal number of milliseconds. */
static void
har_put_ms(struct buf *b, int64_t us)
{
	if (us < 0) {
		buf_append_str(b, "-1");
		return;
	}
	buf_printf(b, "%lld", (long long)(us / 1000));
	if (us % 1000 != 0)
		buf_printf(b, ".%03d", (int)(us % 1000));
}

static void
har_put_headers(struct buf *b, const struct snap_header *h, size_t n)
{
	size_t	i;

	buf_append_str(b, "\"headers\":[");
	for (i = 0; i < n; i++) {
		buf_append_str(b, i == 0 ? "{\"name\":" : ",{\"name\":");
		har_put_str(b, h[i].name);
		buf_append_str(b, ",\"value\":");
		har_put_str(b, h[i].value);
		buf_append_byte(b, '}');
	}
	buf_append_byte(b, ']');
}

/* Appends "text" (and "encoding") for a body; nothing when empty. */
static void
har_put_text(struct buf *b, const char *body, size_t len)
{
	if (body == NULL || len == 0)
		return;
	buf_append_str(b, ",\"text\":");
	if (memchr(body, '\0', len) == NULL && utf8_is_valid(body, len))
		json_append_string(b, body, len);
	else {
		buf_append_byte(b, '"');
		base64_encode(b, body, len);
		buf_append_str(b, "\",\"encoding\":\"base64\"");
	}
}

static const char *
har_version(const char *proto)
{
	if (proto == NULL || strcasecmp(proto, "http/1.1") == 0)
		return "HTTP/1.1";
	if (strcasecmp(proto, "http/1.0") == 0)
		return "HTTP/1.0";
	return proto;
}

/* The URL of a transaction: absolute-form targets are kept. */
static void
har_put_url(struct buf *b, const struct snap_txn *t)
{
	struct buf	 u;
	const char	*target = t->req.target == NULL ? "/" : t->req.target;
	const char	*colon;
	size_t		 hlen;

	buf_init(&u);
	if (strncasecmp(target, "http://", 7) == 0 ||
	    strncasecmp(target, "https://", 8) == 0) {
		har_put_str(b, target);
		return;
	}
	buf_append_str(&u, t->tls ? "https://" : "http://");
	if (t->server != NULL && (colon = strrchr(t->server, ':')) != NULL &&
	    colon[1] != '\0' && strchr(colon, ']') == NULL) {
		hlen = (size_t)(colon - t->server);
		if (strcmp(colon + 1, t->tls ? "443" : "80") == 0)
			buf_append(&u, t->server, hlen);
		else
			buf_append_str(&u, t->server);
	} else if (t->req.host != NULL)
		buf_append_str(&u, t->req.host);
	else if (t->server != NULL)
		buf_append_str(&u, t->server);
	else
		buf_append_str(&u, "localhost");
	if (target[0] != '/')
		buf_append_byte(&u, '/');
	buf_append_str(&u, target);
	json_append_string(b, u.data, u.len);
	buf_free(&u);
}

/* queryString from the target's query, split but not decoded. */
static void
har_put_query(struct buf *b, const char *target)
{
	const char	*q, *end, *eq;
	int		 first = 1;

	buf_append_str(b, "\"queryString\":[");
	if (target != NULL && (q = strchr(target, '?')) != NULL) {
		for (q++; *q != '\0'; q = *end == '\0' ? end : end + 1) {
			end = q + strcspn(q, "&");
			if (end == q)
				continue;
			eq = memchr(q, '=', (size_t)(end - q));
			buf_append_str(b, first ? "{\"name\":" : ",{\"name\":");
			first = 0;
			json_append_string(b, q, (size_t)((eq != NULL ? eq :
			    end) - q));
			buf_append_str(b, ",\"value\":");
			if (eq != NULL)
				json_append_string(b, eq + 1,
				    (size_t)(end - eq - 1));
			else
				buf_append_str(b, "\"\"");
			buf_append_byte(b, '}');
		}
	}
	buf_append_byte(b, ']');
}

/*
 * ,"_decoy":{...}: the transaction's snapshot line without its bodies
 * (those are postData and content), so that import restores every member
 * HAR has no place for -- dir, svc, client, server, proto, id, tags and
 * any member this version does not know -- and the exact ts and timing.
 */
static void
har_put_decoy(struct buf *b, const struct snap_txn *t)
{
	struct snap_txn	c = *t;
	size_t		start;

	c.req.body = NULL;
	c.req.body_len = 0;
	c.res.body = NULL;
	c.res.body_len = 0;
	buf_append_str(b, ",\"_decoy\":");
	start = b->len;
	snap_encode(b, &c);
	if (b->len > start && b->data[b->len - 1] == '\n')
		b->len--;
}

void
har_export_begin(struct buf *out)
{
	buf_append_str(out, "{\"log\":{\"version\":\"1.2\",\"creator\":"
	    "{\"name\":\"decoy\",\"version\":");
	har_put_str(out, PACKAGE_VERSION);
	buf_append_str(out, "},\"entries\":[");
}

void
har_export_entry(struct buf *b, const struct snap_txn *t, size_t index)
{
	const struct snap_res	*res = &t->res;
	const char		*ct, *loc;
	char			*ts;
	int64_t			 recv;

	buf_append_str(b, index == 0 ? "\n{" : ",\n{");
	buf_append_str(b, "\"startedDateTime\":");
	if (t->ts != NULL)
		har_put_str(b, t->ts);
	else {
		ts = har_format_time(t->start_us >= 0 ? t->start_us : 0);
		har_put_str(b, ts);
		free(ts);
		/* HAR requires a start; say that this one is made up. */
		if (t->start_us < 0)
			buf_append_str(b, ",\"_decoy_untimed\":true");
	}
	buf_append_str(b, ",\"time\":");
	har_put_ms(b, t->total_us);

	buf_append_str(b, ",\"request\":{\"method\":");
	har_put_str(b, t->req.method);
	buf_append_str(b, ",\"url\":");
	har_put_url(b, t);
	buf_append_str(b, ",\"httpVersion\":");
	har_put_str(b, har_version(t->proto));
	buf_append_str(b, ",\"cookies\":[],");
	har_put_headers(b, t->req.headers, t->req.nheaders);
	buf_append_byte(b, ',');
	har_put_query(b, t->req.target);
	if (t->req.body_len > 0) {
		ct = har_header_get(t->req.headers, t->req.nheaders,
		    "Content-Type");
		buf_append_str(b, ",\"postData\":{\"mimeType\":");
		har_put_str(b, ct);
		har_put_text(b, t->req.body, t->req.body_len);
		buf_append_byte(b, '}');
	}
	buf_printf(b, ",\"headersSize\":-1,\"bodySize\":%zu}",
	    t->req.body_len);

	buf_printf(b, ",\"response\":{\"status\":%d,\"statusText\":",
	    t->has_res ? res->status : 0);
	har_put_str(b, t->has_res ? res->reason : NULL);
	buf_append_str(b, ",\"httpVersion\":");
	har_put_str(b, har_version(t->proto));
	buf_append_str(b, ",\"cookies\":[],");
	har_put_headers(b, res->headers, t->has_res ? res->nheaders : 0);
	ct = har_header_get(res->headers, res->nheaders, "Content-Type");
	buf_printf(b, ",\"content\":{\"size\":%zu,\"mimeType\":",
	    res->body_len);
	har_put_str(b, ct);
	har_put_text(b, res->body, res->body_len);
	/* Our bodies keep their content coding; HAR readers expect it
	 * removed, so say so. */
	if (har_header_get(res->headers, res->nheaders,
	    "Content-Encoding") != NULL)
		buf_append_str(b, ",\"_decoy_raw\":true");
	buf_append_str(b, "},\"redirectURL\":");
	loc = har_header_get(res->headers, res->nheaders, "Location");
	har_put_str(b, loc);
	buf_printf(b, ",\"headersSize\":-1,\"bodySize\":%zu}",
	    res->body_len);

	buf_append_str(b, ",\"cache\":{},\"timings\":{\"send\":");
	if (t->ttfb_us < 0)
		buf_append_str(b, "-1,\"wait\":-1,\"receive\":-1}");
	else {
		buf_append_str(b, "0,\"wait\":");
		har_put_ms(b, t->ttfb_us);
		recv = t->total_us >= t->ttfb_us ? t->total_us - t->ttfb_us : 0;
		buf_append_str(b, ",\"receive\":");
		har_put_ms(b, recv);
		buf_append_byte(b, '}');
	}
	har_put_decoy(b, t);
	buf_append_byte(b, '}');
}

void
har_export_end(struct buf *out)
{
	buf_append_str(out, "\n]}}\n");
}
