/*
 * wiremock.c -- WireMock stub mappings into a snapshot and a rule file
 * (see wiremock.h for the contract, decoy(1) "import wiremock" for what
 * maps to what).
 *
 * Each mapping is parsed into a struct wm_stub with our own JSON reader:
 * request matchers as (kind, value, case) triples, the response as
 * status, headers and body bytes.  wiremock_finish() ranks the stubs as
 * WireMock does (priority, then newest first), writes a transaction for
 * each stub with one exact request, and a rule for each stub a snapshot
 * cannot express, in rank order, each with stop: true so the first rule
 * that matches answers, as the first stub that matches does in WireMock.
 * Every regex written is compiled once here with PCRE2 (the responder's
 * options) so that a Java-only pattern skips its mapping with a note
 * rather than breaking the rule file.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "base64.h"
#include "buf.h"
#include "json.h"
#include "snap.h"
#include "wiremock.h"
#include "xmalloc.h"

#define WM_MAX_FILE		(64u << 20)	/* a mapping or body file */
#define WM_DEFAULT_PRIORITY	5		/* WireMock's */

enum wm_kind { WM_EQ, WM_CONTAINS, WM_MATCHES, WM_JSON, WM_BINARY };

struct wm_matcher {
	enum wm_kind	 kind;
	int		 nocase;
	struct buf	 v;		/* WM_JSON: compact JSON text */
};

struct wm_param {
	char			*name;
	struct wm_matcher	 m;
};

enum wm_url {
	WM_URL_ANY, WM_URL, WM_URL_PATH, WM_URL_PATH_PATTERN, WM_URL_PATTERN,
	WM_URL_PATH_TEMPLATE
};

enum wm_fault { WM_FAULT_NONE, WM_FAULT_EMPTY, WM_FAULT_RESET,
    WM_FAULT_CHUNK, WM_FAULT_RANDOM };

struct wm_stub {
	char			*file;
	char			*id;
	char			*name;
	size_t			 seq;		/* load order */
	size_t			 index;		/* in its file, 1-based */
	int64_t			 priority;
	int64_t			 insertion;	/* -1: absent */
	char			*skip;		/* why it is left out */
	char			**dropped;	/* parts not imported */
	size_t			 ndropped;

	char			*method;	/* NULL: any */
	enum wm_url		 url_kind;
	char			*url;
	struct wm_param		*query;
	size_t			 nquery;
	struct wm_param		*headers;
	size_t			 nheaders;
	struct wm_matcher	*body;
	size_t			 nbody;

	int			 status;
	char			*reason;
	struct snap_header	*rh;
	size_t			 nrh;
	int			 rh_multi;	/* a header with several values */
	struct buf		 rbody;
	char			*latency;	/* YAML latency, or NULL */
	char			*delay_extra;	/* fixed delay on top of it */
	enum wm_fault		 fault;
};

struct wiremock {
	char		 *root;
	struct wm_stub	**stubs;
	size_t		  nstubs;
};

/* --- notes --- */

static void __attribute__((format(printf, 2, 3)))
wm_skip(struct wm_stub *s, const char *fmt, ...)
{
	va_list	ap;
	struct buf b;

	if (s->skip != NULL)
		return;
	buf_init(&b);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	s->skip = buf_detach(&b, NULL);
}

static void __attribute__((format(printf, 2, 3)))
wm_drop(struct wm_stub *s, const char *fmt, ...)
{
	va_list	ap;
	struct buf b;

	buf_init(&b);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	s->dropped = xreallocarray(s->dropped, s->ndropped + 1,
	    sizeof *s->dropped);
	s->dropped[s->ndropped++] = buf_detach(&b, NULL);
}

/* The member name without its quotes, for messages (escapes kept). */
#define WM_KEY(k)	(int)((k)->len - 2), (k)->p + 1

/*
 * A member this version does not import: noted (skip: the whole mapping
 * is left out, for a request matcher), and its value skipped.
 */
static int
wm_unknown(struct json_parser *p, struct wm_stub *s, const char *where,
    const struct json_value *k, int skip)
{
	if (skip)
		wm_skip(s, "%s%.*s is not supported", where, WM_KEY(k));
	else
		wm_drop(s, "%s%.*s is not imported", where, WM_KEY(k));
	return json_skip(p, NULL);
}

/* --- small readers --- */

/* Enters the object at the cursor, which must be one (named what). */
static int
wm_object(struct json_parser *p, const char *what)
{
	if (json_expect(p, JSON_OBJECT, what, "an object") == -1)
		return -1;
	return json_object_enter(p);
}

/* A string member into a C string, replacing *out (a NUL is an error). */
static int
wm_cstr(struct json_parser *p, const char *what, char **out)
{
	char	*s = NULL;

	if (json_read_cstr(p, what, &s) == -1)
		return -1;
	free(*out);
	*out = s;
	return 0;
}

static int
wm_int(struct json_parser *p, const char *what, int64_t *v)
{
	if (json_expect(p, JSON_NUMBER, what, "an integer") == -1)
		return -1;
	return json_read_int64(p, v);
}

/*
 * A number of milliseconds as decoy writes durations: digits and a
 * fraction, no sign or exponent.  *out gets the text (allocated).
 */
static int
wm_ms(struct json_parser *p, const char *what, char **out)
{
	struct json_value	v;
	size_t			i;

	if (json_expect(p, JSON_NUMBER, what, "a number") == -1 ||
	    json_skip(p, &v) == -1)
		return -1;
	for (i = 0; i < v.len; i++) {
		if (v.p[i] != '.' && (v.p[i] < '0' || v.p[i] > '9'))
			return json_fail(p, v.off, "\"%s\" must be a "
			    "non-negative number of milliseconds", what);
	}
	free(*out);
	*out = xstrndup(v.p, v.len);
	return 0;
}

/*
 * Writes the JSON value at the cursor compact, the way WireMock sends a
 * jsonBody: strings decoded and re-escaped (so "\u00e9" goes out as
 * UTF-8), numbers and literals byte for byte, never through a double.
 */
static int
wm_json_write(struct json_parser *p, struct buf *out)
{
	struct json_value	k, v;
	struct json_parser	kp;
	struct buf		s;
	int			r, first = 1, obj;

	switch (json_peek(p)) {
	case JSON_OBJECT:
	case JSON_ARRAY:
		obj = json_peek(p) == JSON_OBJECT;
		if ((obj ? json_object_enter(p) : json_array_enter(p)) == -1)
			return -1;
		buf_append_byte(out, obj ? '{' : '[');
		while ((r = obj ? json_object_next(p, &k) :
		    json_array_next(p)) == 1) {
			if (!first)
				buf_append_byte(out, ',');
			first = 0;
			if (obj) {
				buf_init(&s);
				json_init(&kp, k.p, k.len);
				r = json_read_string(&kp, &s, NULL);
				json_append_string(out, s.data == NULL ? "" :
				    s.data, s.len);
				buf_free(&s);
				buf_append_byte(out, ':');
				if (r == -1)
					return json_fail(p, k.off, "bad key");
			}
			if (wm_json_write(p, out) == -1)
				return -1;
		}
		if (r == -1)
			return -1;
		buf_append_byte(out, obj ? '}' : ']');
		return 0;
	case JSON_STRING:
		buf_init(&s);
		if (json_read_string(p, &s, NULL) == -1) {
			buf_free(&s);
			return -1;
		}
		json_append_string(out, s.data == NULL ? "" : s.data, s.len);
		buf_free(&s);
		return 0;
	default:
		if (json_skip(p, &v) == -1)
			return -1;
		buf_append(out, v.p, v.len);
		return 0;
	}
}

/* --- request matchers --- */

/* Reads a string matcher value into m. */
static int
wm_matcher_str(struct json_parser *p, const char *what, struct wm_matcher *m,
    enum wm_kind kind)
{
	if (json_expect(p, JSON_STRING, what, "a string") == -1)
		return -1;
	buf_reset(&m->v);
	m->kind = kind;
	return json_read_string(p, &m->v, NULL);
}

/*
 * equalToJson: a JSON value, or a string holding one; m->v gets it
 * compact.  Text that is not JSON sets *why.
 */
static int
wm_matcher_json(struct json_parser *p, struct wm_matcher *m, char **why)
{
	struct json_parser	sp;
	struct json_value	v;
	struct buf		s;

	buf_reset(&m->v);
	m->kind = WM_JSON;
	if (json_peek(p) != JSON_STRING) {
		if (json_skip(p, &v) == -1)
			return -1;
		json_append_compact(&m->v, v.p, v.len);
		return 0;
	}
	buf_init(&s);
	if (json_read_string(p, &s, NULL) == -1) {
		buf_free(&s);
		return -1;
	}
	json_init(&sp, s.data == NULL ? "" : s.data, s.len);
	if (json_skip(&sp, &v) == -1 || json_finish(&sp) == -1) {
		if (*why == NULL)
			*why = xasprintf("equalToJson: not JSON (%s at byte "
			    "%zu)", sp.error, sp.error_off);
	} else
		json_append_compact(&m->v, v.p, v.len);
	buf_free(&s);
	return 0;
}

static int	wm_matcher(struct json_parser *, const char *,
		    struct wm_matcher *, char **, int);

/* hasExactly / includes: one matcher is expressible, more are not. */
static int
wm_matcher_list(struct json_parser *p, const char *what,
    const struct json_value *k, struct wm_matcher *m, char **why, int *n)
{
	int	r, count = 0;

	if (json_expect(p, JSON_ARRAY, what, "an array") == -1 ||
	    json_array_enter(p) == -1)
		return -1;
	while ((r = json_array_next(p)) == 1) {
		if (count++ == 0) {
			if (wm_matcher(p, what, m, why, 1) == -1)
				return -1;
		} else if (json_skip(p, NULL) == -1)
			return -1;
	}
	if (r == -1)
		return -1;
	if (count != 1 && *why == NULL)
		*why = xasprintf("%s: %.*s with %d values (a rule holds one "
		    "regex per name)", what, WM_KEY(k), count);
	(*n)++;
	return 0;
}

/*
 * Reads one matcher object ({"equalTo": "x", "caseInsensitive": true},
 * ...) into m.  A matcher decoy cannot express sets *why (first reason
 * only); -1 is for JSON errors alone.
 */
static int
wm_matcher(struct json_parser *p, const char *what, struct wm_matcher *m,
    char **why, int nested)
{
	struct json_value	k;
	int			r, n = 0, flag;

	if (wm_object(p, what) == -1)
		return -1;
	while ((r = json_object_next(p, &k)) == 1) {
		if (json_string_eq(&k, "equalTo"))
			r = (n++, wm_matcher_str(p, what, m, WM_EQ));
		else if (json_string_eq(&k, "contains"))
			r = (n++, wm_matcher_str(p, what, m, WM_CONTAINS));
		else if (json_string_eq(&k, "matches"))
			r = (n++, wm_matcher_str(p, what, m, WM_MATCHES));
		else if (json_string_eq(&k, "equalToJson"))
			r = (n++, wm_matcher_json(p, m, why));
		else if (json_string_eq(&k, "binaryEqualTo")) {
			struct buf s;

			n++;
			buf_init(&s);
			if ((r = wm_matcher_str(p, what, m, WM_BINARY)) == 0) {
				if (base64_decode(&s, m->v.data == NULL ? "" :
				    m->v.data, m->v.len, NULL) == -1 &&
				    *why == NULL)
					*why = xasprintf("%s: binaryEqualTo "
					    "is not base64", what);
				buf_free(&m->v);
				m->v = s;
			} else
				buf_free(&s);
		} else if (json_string_eq(&k, "caseInsensitive"))
			r = json_read_bool(p, &m->nocase);
		else if (json_string_eq(&k, "ignoreArrayOrder") ||
		    json_string_eq(&k, "ignoreExtraElements")) {
			if ((r = json_read_bool(p, &flag)) == 0 && flag &&
			    *why == NULL)
				*why = xasprintf("%s: equalToJson with "
				    "%.*s", what, WM_KEY(&k));
		} else if (!nested && (json_string_eq(&k, "hasExactly") ||
		    json_string_eq(&k, "includes")))
			r = wm_matcher_list(p, what, &k, m, why, &n);
		else {
			if (*why == NULL)
				*why = xasprintf("%s: matcher %.*s is not "
				    "supported", what, WM_KEY(&k));
			n++;
			r = json_skip(p, NULL);
		}
		if (r == -1)
			return -1;
	}
	if (r == -1)
		return -1;
	if (n != 1 && *why == NULL)
		*why = xasprintf("%s: give exactly one of equalTo, contains, "
		    "matches, equalToJson, binaryEqualTo", what);
	return 0;
}

/* One matcher of s; one it cannot express skips s. */
static int
wm_stub_matcher(struct json_parser *p, struct wm_stub *s, const char *what,
    struct wm_matcher *m, int nested)
{
	char	*why = NULL;
	int	 r;

	r = wm_matcher(p, what, m, &why, nested);
	if (why != NULL)
		wm_skip(s, "%s", why);
	free(why);
	return r;
}

/* headers or queryParameters: {name: matcher, ...}. */
static int
wm_params(struct json_parser *p, struct wm_stub *s, const char *what,
    struct wm_param **out, size_t *nout)
{
	struct json_value	 k;
	struct json_parser	 kp;
	struct wm_param		*q;
	struct buf		 name;
	char			*label;
	int			 r;

	if (wm_object(p, what) == -1)
		return -1;
	while ((r = json_object_next(p, &k)) == 1) {
		buf_init(&name);
		json_init(&kp, k.p, k.len);
		(void)json_read_string(&kp, &name, NULL);
		*out = xreallocarray(*out, *nout + 1, sizeof **out);
		q = &(*out)[(*nout)++];
		memset(q, 0, sizeof *q);
		q->name = name.data == NULL ? xstrdup("") :
		    buf_detach(&name, NULL);
		label = xasprintf("%s %s", what, q->name);
		r = wm_stub_matcher(p, s, label, &q->m, 0);
		free(label);
		if (r == -1)
			return -1;
	}
	return r;
}

static int
wm_body_patterns(struct json_parser *p, struct wm_stub *s)
{
	struct wm_matcher	*m;
	int			 r;

	if (json_expect(p, JSON_ARRAY, "bodyPatterns", "an array") == -1 ||
	    json_array_enter(p) == -1)
		return -1;
	while ((r = json_array_next(p)) == 1) {
		s->body = xreallocarray(s->body, s->nbody + 1,
		    sizeof *s->body);
		m = &s->body[s->nbody++];
		memset(m, 0, sizeof *m);
		if (wm_stub_matcher(p, s, "bodyPatterns", m, 1) == -1)
			return -1;
	}
	return r;
}

static int
wm_url_member(struct json_parser *p, struct wm_stub *s, const char *name,
    enum wm_url kind)
{
	if (s->url_kind != WM_URL_ANY)
		wm_skip(s, "request: more than one of url, urlPath, "
		    "urlPathPattern, urlPattern, urlPathTemplate");
	s->url_kind = kind;
	return wm_cstr(p, name, &s->url);
}

static int
wm_request(struct json_parser *p, struct wm_stub *s)
{
	static const struct { const char *key; enum wm_url kind; } urls[] = {
		{ "url", WM_URL }, { "urlPath", WM_URL_PATH },
		{ "urlPathPattern", WM_URL_PATH_PATTERN },
		{ "urlPattern", WM_URL_PATTERN },
		{ "urlPathTemplate", WM_URL_PATH_TEMPLATE },
	};
	struct json_value	k;
	size_t			i;
	int			r;

	if (wm_object(p, "request") == -1)
		return -1;
	while ((r = json_object_next(p, &k)) == 1) {
		for (i = 0; i < sizeof urls / sizeof urls[0]; i++)
			if (json_string_eq(&k, urls[i].key))
				break;
		if (i < sizeof urls / sizeof urls[0])
			r = wm_url_member(p, s, urls[i].key, urls[i].kind);
		else if (json_string_eq(&k, "method")) {
			r = wm_cstr(p, "method", &s->method);
			if (r == 0 && strcmp(s->method, "ANY") == 0) {
				free(s->method);
				s->method = NULL;
			}
		} else if (json_string_eq(&k, "headers"))
			r = wm_params(p, s, "header", &s->headers,
			    &s->nheaders);
		else if (json_string_eq(&k, "queryParameters"))
			r = wm_params(p, s, "query parameter", &s->query,
			    &s->nquery);
		else if (json_string_eq(&k, "bodyPatterns"))
			r = wm_body_patterns(p, s);
		else
			r = wm_unknown(p, s, "request: matching on ", &k, 1);
		if (r == -1)
			return -1;
	}
	return r;
}

/* --- response --- */

/* headers: {name: "v"} or {name: ["v1", "v2"]}. */
static int
wm_res_headers(struct json_parser *p, struct wm_stub *s)
{
	struct json_value	 k;
	struct json_parser	 kp;
	struct buf		 name;
	char			*v = NULL;
	int			 r, n;

	if (wm_object(p, "headers") == -1)
		return -1;
	while ((r = json_object_next(p, &k)) == 1) {
		buf_init(&name);
		json_init(&kp, k.p, k.len);
		(void)json_read_string(&kp, &name, NULL);
		buf_append_byte(&name, '\0');
		n = 0;
		if (json_peek(p) == JSON_ARRAY) {
			if (json_array_enter(p) == -1)
				r = -1;
			while (r != -1 && (r = json_array_next(p)) == 1) {
				if ((r = wm_cstr(p, name.data, &v)) == -1)
					break;
				s->rh = xreallocarray(s->rh, s->nrh + 1,
				    sizeof *s->rh);
				s->rh[s->nrh].name = xstrdup(name.data);
				s->rh[s->nrh++].value = v;
				v = NULL;
				n++;
			}
			if (n > 1)
				s->rh_multi = 1;
		} else if ((r = wm_cstr(p, name.data, &v)) == 0) {
			s->rh = xreallocarray(s->rh, s->nrh + 1,
			    sizeof *s->rh);
			s->rh[s->nrh].name = xstrdup(name.data);
			s->rh[s->nrh++].value = v;
			v = NULL;
		}
		buf_free(&name);
		if (r == -1)
			return -1;
	}
	return r;
}

/* Reads ROOT/__files/NAME into s->rbody, or skips the mapping. */
static void
wm_body_file(const struct wiremock *w, struct wm_stub *s, const char *name)
{
	struct stat	 st;
	char		*path;
	const char	*c, *why = NULL;
	ssize_t		 n = 0;
	int		 fd;

	for (c = name; c != NULL; c = strchr(c, '/'), c = c != NULL ?
	    c + 1 : NULL) {
		if (strncmp(c, "..", 2) == 0 && (c[2] == '/' || c[2] == '\0'))
			break;
	}
	if (*name == '/' || c != NULL) {
		wm_skip(s, "bodyFileName %s: outside __files", name);
		return;
	}
	if (w->root == NULL) {
		wm_skip(s, "bodyFileName %s: no __files directory", name);
		return;
	}
	path = xasprintf("%s/__files/%s", w->root, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1)
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (st.st_size > (off_t)WM_MAX_FILE)
		why = "larger than 64 MiB";
	if (why == NULL) {
		buf_reset(&s->rbody);
		buf_reserve(&s->rbody, (size_t)st.st_size + 1);
		for (;;) {
			if (s->rbody.len + 1 >= s->rbody.cap)
				buf_reserve(&s->rbody, 65536);
			n = read(fd, s->rbody.data + s->rbody.len,
			    s->rbody.cap - s->rbody.len - 1);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			s->rbody.len += (size_t)n;
		}
		if (n == -1)
			why = strerror(errno);
	}
	if (why != NULL)
		wm_skip(s, "bodyFileName %s: %s", path, why);
	if (fd != -1)
		close(fd);
	free(path);
}

/* delayDistribution: lognormal {median, sigma}, uniform {lower, upper},
 * fixed {milliseconds}; maxValue caps it. */
static int
wm_delay(struct json_parser *p, struct wm_stub *s)
{
	struct json_value	 k;
	char			*type = NULL, *a = NULL, *b = NULL, *max = NULL;
	int			 r;

	if (wm_object(p, "delayDistribution") == -1)
		return -1;
	while ((r = json_object_next(p, &k)) == 1) {
		if (json_string_eq(&k, "type"))
			r = wm_cstr(p, "type", &type);
		else if (json_string_eq(&k, "median") ||
		    json_string_eq(&k, "lower") ||
		    json_string_eq(&k, "milliseconds"))
			r = wm_ms(p, "delayDistribution", &a);
		else if (json_string_eq(&k, "sigma") ||
		    json_string_eq(&k, "upper"))
			r = wm_ms(p, "delayDistribution", &b);
		else if (json_string_eq(&k, "maxValue"))
			r = wm_ms(p, "maxValue", &max);
		else
			r = wm_unknown(p, s, "delayDistribution: ", &k, 0);
		if (r == -1)
			break;
	}
	if (r == 0) {
		free(s->latency);
		s->latency = NULL;
		if (type != NULL && strcmp(type, "lognormal") == 0 &&
		    a != NULL && b != NULL && strtod(a, NULL) > 0)
			s->latency = xasprintf("{lognormal: {mu: %.9g, sigma: "
			    "%s}%s%s%s}", log(strtod(a, NULL)), b,
			    max != NULL ? ", max: " : "", max != NULL ? max :
			    "", max != NULL ? "ms" : "");
		else if (type != NULL && strcmp(type, "uniform") == 0 &&
		    a != NULL && b != NULL && strtod(a, NULL) <
		    strtod(b, NULL))
			s->latency = xasprintf("{uniform: [%sms, %sms]}", a, b);
		else if (type != NULL && (strcmp(type, "fixed") == 0 ||
		    strcmp(type, "uniform") == 0) && a != NULL)
			s->latency = xasprintf("%sms", a);
		else
			wm_skip(s, "delayDistribution: type %s with these "
			    "parameters is not supported", type != NULL ?
			    type : "(none)");
	}
	free(type);
	free(a);
	free(b);
	free(max);
	return r;
}

static int
wm_fault(struct json_parser *p, struct wm_stub *s)
{
	static const struct { const char *name; enum wm_fault f; } faults[] = {
		{ "EMPTY_RESPONSE", WM_FAULT_EMPTY },
		{ "CONNECTION_RESET_BY_PEER", WM_FAULT_RESET },
		{ "MALFORMED_RESPONSE_CHUNK", WM_FAULT_CHUNK },
		{ "RANDOM_DATA_THEN_CLOSE", WM_FAULT_RANDOM },
	};
	char	*name = NULL;
	size_t	 i;

	if (wm_cstr(p, "fault", &name) == -1)
		return -1;
	for (i = 0; i < sizeof faults / sizeof faults[0]; i++)
		if (strcmp(name, faults[i].name) == 0)
			s->fault = faults[i].f;
	if (s->fault == WM_FAULT_NONE)
		wm_skip(s, "fault %s is not supported", name);
	free(name);
	return 0;
}

/* The body members: body, jsonBody, base64Body, bodyFileName. */
static int
wm_res_body(const struct wiremock *w, struct json_parser *p,
    struct wm_stub *s, const struct json_value *k)
{
	struct buf	 t;
	char		*name = NULL;
	int		 r;

	buf_reset(&s->rbody);
	if (json_string_eq(k, "body")) {
		if (json_expect(p, JSON_STRING, "body", "a string") == -1)
			return -1;
		return json_read_string(p, &s->rbody, NULL);
	}
	if (json_string_eq(k, "jsonBody"))
		return wm_json_write(p, &s->rbody);
	if (json_string_eq(k, "base64Body")) {
		if (json_expect(p, JSON_STRING, "base64Body", "a string") == -1)
			return -1;
		buf_init(&t);
		if ((r = json_read_string(p, &t, NULL)) == 0 &&
		    base64_decode(&s->rbody, t.data == NULL ? "" : t.data,
		    t.len, NULL) == -1)
			r = json_fail(p, p->off, "\"base64Body\" is not base64");
		buf_free(&t);
		return r;
	}
	if (wm_cstr(p, "bodyFileName", &name) == -1)
		return -1;
	wm_body_file(w, s, name);
	free(name);
	return 0;
}

static int
wm_response(const struct wiremock *w, struct json_parser *p,
    struct wm_stub *s)
{
	struct json_value	 k;
	int64_t			 v;
	int			 r;

	if (wm_object(p, "response") == -1)
		return -1;
	while ((r = json_object_next(p, &k)) == 1) {
		if (json_string_eq(&k, "status")) {
			if ((r = wm_int(p, "status", &v)) == 0 &&
			    (v < 100 || v > 599))
				wm_skip(s, "status %lld is outside 100..599",
				    (long long)v);
			s->status = (int)(v < 100 || v > 599 ? 200 : v);
		} else if (json_string_eq(&k, "statusMessage"))
			r = wm_cstr(p, "statusMessage", &s->reason);
		else if (json_string_eq(&k, "headers"))
			r = wm_res_headers(p, s);
		else if (json_string_eq(&k, "body") ||
		    json_string_eq(&k, "jsonBody") ||
		    json_string_eq(&k, "base64Body") ||
		    json_string_eq(&k, "bodyFileName"))
			r = wm_res_body(w, p, s, &k);
		else if (json_string_eq(&k, "fixedDelayMilliseconds"))
			r = wm_ms(p, "fixedDelayMilliseconds",
			    &s->delay_extra);
		else if (json_string_eq(&k, "delayDistribution"))
			r = wm_delay(p, s);
		else if (json_string_eq(&k, "fault"))
			r = wm_fault(p, s);
		else if (json_string_eq(&k, "transformers") ||
		    json_string_eq(&k, "proxyBaseUrl")) {
			struct json_value	a;
			struct json_parser	ap;

			if ((r = json_skip(p, &a)) == 0) {
				json_init(&ap, a.p, a.len);
				if (a.type != JSON_ARRAY ||
				    json_array_enter(&ap) == -1 ||
				    json_array_next(&ap) != 0)
					wm_skip(s, "response: %.*s (templating "
					    "and proxying are not imported)",
					    WM_KEY(&k));
			}
		} else
			r = wm_unknown(p, s, "response: ", &k, 0);
		if (r == -1)
			return -1;
	}
	return r;
}

/* --- mappings and files --- */

static void
wm_stub_free(struct wm_stub *s)
{
	size_t	i;

	if (s == NULL)
		return;
	free(s->file);
	free(s->id);
	free(s->name);
	free(s->skip);
	for (i = 0; i < s->ndropped; i++)
		free(s->dropped[i]);
	free(s->dropped);
	free(s->method);
	free(s->url);
	for (i = 0; i < s->nquery; i++) {
		free(s->query[i].name);
		buf_free(&s->query[i].m.v);
	}
	free(s->query);
	for (i = 0; i < s->nheaders; i++) {
		free(s->headers[i].name);
		buf_free(&s->headers[i].m.v);
	}
	free(s->headers);
	for (i = 0; i < s->nbody; i++)
		buf_free(&s->body[i].v);
	free(s->body);
	free(s->reason);
	for (i = 0; i < s->nrh; i++) {
		free(s->rh[i].name);
		free(s->rh[i].value);
	}
	free(s->rh);
	buf_free(&s->rbody);
	free(s->latency);
	free(s->delay_extra);
	free(s);
}

/* Members that only name or rank the stub, or carry no behaviour. */
static int
wm_mapping_meta(struct json_parser *p, struct wm_stub *s,
    const struct json_value *k, int *r)
{
	if (json_string_eq(k, "id") || json_string_eq(k, "uuid"))
		*r = wm_cstr(p, "id", &s->id);
	else if (json_string_eq(k, "name"))
		*r = wm_cstr(p, "name", &s->name);
	else if (json_string_eq(k, "priority"))
		*r = wm_int(p, "priority", &s->priority);
	else if (json_string_eq(k, "insertionIndex"))
		*r = wm_int(p, "insertionIndex", &s->insertion);
	else if (json_string_eq(k, "persistent") ||
	    json_string_eq(k, "metadata"))
		*r = json_skip(p, NULL);
	else
		return 0;
	return 1;
}

/* One mapping object at the cursor; the stub is appended to w. */
static int
wm_mapping(struct wiremock *w, struct json_parser *p, const char *file,
    size_t index)
{
	struct wm_stub		*s;
	struct json_value	 k;
	int			 r, has_request = 0;

	if (json_expect(p, JSON_OBJECT, "mappings[]", "an object") == -1)
		return -1;
	s = xcalloc(1, sizeof *s);
	s->file = xstrdup(file);
	s->index = index;
	s->seq = w->nstubs;
	s->priority = WM_DEFAULT_PRIORITY;
	s->insertion = -1;
	s->status = 200;
	buf_init(&s->rbody);
	w->stubs = xreallocarray(w->stubs, w->nstubs + 1, sizeof *w->stubs);
	w->stubs[w->nstubs++] = s;
	if (json_object_enter(p) == -1)
		return -1;
	while ((r = json_object_next(p, &k)) == 1) {
		if (wm_mapping_meta(p, s, &k, &r))
			;
		else if (json_string_eq(&k, "request"))
			r = (has_request = 1, wm_request(p, s));
		else if (json_string_eq(&k, "response"))
			r = wm_response(w, p, s);
		else if (json_string_eq(&k, "scenarioName") ||
		    json_string_eq(&k, "requiredScenarioState") ||
		    json_string_eq(&k, "newScenarioState")) {
			wm_skip(s, "scenario states are not imported");
			r = json_skip(p, NULL);
		} else
			r = wm_unknown(p, s, "", &k, 0);
		if (r == -1)
			return -1;
	}
	if (r == 0 && !has_request)
		wm_skip(s, "no request");
	return r;
}

/* True if the top-level object has a "mappings" member. */
static int
wm_is_list(const char *buf, size_t len)
{
	struct json_parser	p;
	struct json_value	k;

	json_init(&p, buf, len);
	if (json_peek(&p) != JSON_OBJECT || json_object_enter(&p) == -1)
		return 0;
	while (json_object_next(&p, &k) == 1) {
		if (json_string_eq(&k, "mappings"))
			return 1;
		if (json_skip(&p, NULL) == -1)
			return 0;
	}
	return 0;
}

static int
wm_file(struct wiremock *w, struct json_parser *p, const char *name)
{
	struct json_value	k;
	size_t			n = 0;
	int			r;

	if (!wm_is_list(p->buf, p->len))
		return wm_mapping(w, p, name, 0);
	if (json_object_enter(p) == -1)
		return -1;
	while ((r = json_object_next(p, &k)) == 1) {
		if (!json_string_eq(&k, "mappings")) {
			r = json_skip(p, NULL);
		} else if ((r = json_expect(p, JSON_ARRAY, "mappings",
		    "an array")) == 0 && (r = json_array_enter(p)) == 0) {
			while ((r = json_array_next(p)) == 1)
				if ((r = wm_mapping(w, p, name, ++n)) == -1)
					break;
		}
		if (r == -1)
			return -1;
	}
	return r;
}

struct wiremock *
wiremock_create(const char *root)
{
	struct wiremock	*w;

	w = xcalloc(1, sizeof *w);
	w->root = root != NULL ? xstrdup(root) : NULL;
	return w;
}

void
wiremock_free(struct wiremock *w)
{
	size_t	i;

	if (w == NULL)
		return;
	for (i = 0; i < w->nstubs; i++)
		wm_stub_free(w->stubs[i]);
	free(w->stubs);
	free(w->root);
	free(w);
}

int
wiremock_add(struct wiremock *w, const char *name, const char *buf,
    size_t len, char **cause)
{
	struct json_parser	 p;
	const char		*nl, *start = buf;
	size_t			 before = w->nstubs, line = 1;

	json_init(&p, buf, len);
	if (wm_file(w, &p, name) == 0 && json_finish(&p) == 0)
		return 0;
	while (w->nstubs > before)
		wm_stub_free(w->stubs[--w->nstubs]);
	while ((nl = memchr(start, '\n', (size_t)(buf + p.error_off -
	    start))) != NULL) {
		line++;
		start = nl + 1;
	}
	*cause = xasprintf("%s:%zu:%zu: %s", name, line,
	    (size_t)(buf + p.error_off - start) + 1, p.error);
	return -1;
}

static int
wm_read_file(const char *path, struct buf *b, char **cause)
{
	struct stat	st;
	ssize_t		n;
	int		fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	if (st.st_size > (off_t)WM_MAX_FILE) {
		*cause = xasprintf("%s: larger than 64 MiB", path);
		close(fd);
		return -1;
	}
	for (;;) {
		buf_reserve(b, 65536);
		n = read(fd, b->data + b->len, b->cap - b->len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		b->len += (size_t)n;
		b->data[b->len] = '\0';
	}
	if (n == -1)
		*cause = xasprintf("%s: %s", path, strerror(errno));
	close(fd);
	return n == -1 ? -1 : 0;
}

/* Every *.json file under dir (not hidden ones), depth at most 16. */
static int
wm_collect(const char *dir, char ***paths, size_t *n, int depth,
    char **cause)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	char		*path;
	size_t		 len;
	int		 rc = 0;

	if ((d = opendir(dir)) == NULL) {
		*cause = xasprintf("%s: %s", dir, strerror(errno));
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		len = strlen(de->d_name);
		if (stat(path, &st) == -1)
			;
		else if (S_ISDIR(st.st_mode) && depth < 16)
			rc = wm_collect(path, paths, n, depth + 1, cause);
		else if (S_ISREG(st.st_mode) && len > 5 &&
		    strcmp(de->d_name + len - 5, ".json") == 0) {
			*paths = xreallocarray(*paths, *n + 1, sizeof **paths);
			(*paths)[(*n)++] = path;
			path = NULL;
		}
		free(path);
	}
	closedir(d);
	return rc;
}

static int
wm_strcmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
wiremock_add_dir(struct wiremock *w, char **cause)
{
	struct buf	 b;
	char		*dir, **paths = NULL;
	size_t		 n = 0, i;
	int		 rc;

	dir = xasprintf("%s/mappings", w->root != NULL ? w->root : ".");
	rc = wm_collect(dir, &paths, &n, 0, cause);
	free(dir);
	if (rc == 0 && n > 0)
		qsort(paths, n, sizeof *paths, wm_strcmp);
	buf_init(&b);
	for (i = 0; i < n; i++) {
		buf_reset(&b);
		if (rc == 0 && (wm_read_file(paths[i], &b, cause) == -1 ||
		    wiremock_add(w, paths[i], b.data == NULL ? "" : b.data,
		    b.len, cause) == -1))
			rc = -1;
		free(paths[i]);
	}
	free(paths);
	buf_free(&b);
	return rc;
}

/* --- output: regexes --- */

/* One byte as a PCRE2 literal (ASCII only, so the YAML stays plain). */
static void
wm_re_byte(struct buf *b, unsigned char c)
{
	if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	    (c >= 'a' && c <= 'z'))
		buf_append_byte(b, (char)c);
	else if (c > 0x20 && c < 0x7f) {
		buf_append_byte(b, '\\');
		buf_append_byte(b, (char)c);
	} else
		buf_printf(b, "\\x%02x", c);
}

/*
 * A byte of a decoded query value, as the raw query may carry it: the
 * byte itself or its %XX escape (either case; '+' for a space).
 */
static void
wm_re_query_byte(struct buf *b, unsigned char c)
{
	static const char	hex[] = "0123456789ABCDEF";
	char			d[2];
	int			i;

	if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
	    (c >= 'a' && c <= 'z') || c == '-' || c == '.' || c == '_' ||
	    c == '~') {
		wm_re_byte(b, c);
		return;
	}
	buf_append_str(b, "(?:");
	wm_re_byte(b, c);
	buf_append_str(b, "|%");
	d[0] = hex[c >> 4];
	d[1] = hex[c & 15];
	for (i = 0; i < 2; i++) {
		if (d[i] >= 'A')
			buf_printf(b, "[%c%c]", d[i], d[i] - 'A' + 'a');
		else
			buf_append_byte(b, d[i]);
	}
	buf_append_str(b, c == ' ' ? "|\\+)" : ")");
}

/* Compact JSON as a regex that allows whitespace between tokens. */
static void
wm_re_json(struct buf *b, const char *s, size_t len)
{
	size_t	i;
	int	instr = 0, esc = 0;

	buf_append_str(b, "\\s*");
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (instr) {
			wm_re_byte(b, c);
			if (esc)
				esc = 0;
			else if (c == '\\')
				esc = 1;
			else if (c == '"')
				instr = 0;
		} else if (strchr("{}[]:,", c) != NULL && c != '\0') {
			buf_append_str(b, "\\s*");
			wm_re_byte(b, c);
			buf_append_str(b, "\\s*");
		} else {
			instr = c == '"';
			wm_re_byte(b, c);
		}
	}
	buf_append_str(b, "\\s*");
}

/* A matcher as a regex tail that holds from the start of the value. */
static void
wm_re_tail(struct buf *b, const struct wm_matcher *m, int query)
{
	const unsigned char	*v = (const unsigned char *)m->v.data;
	size_t			 i;

	if (m->nocase)
		buf_append_str(b, "(?i)");
	switch (m->kind) {
	case WM_CONTAINS:
		buf_append_str(b, "[\\s\\S]*?");
		/* FALLTHROUGH */
	case WM_EQ:
	case WM_BINARY:
		for (i = 0; i < m->v.len; i++) {
			if (query)
				wm_re_query_byte(b, v[i]);
			else
				wm_re_byte(b, v[i]);
		}
		break;
	case WM_MATCHES:
		/* Java's String.matches(): the whole value. */
		buf_append_str(b, "(?:");
		buf_append(b, m->v.data, m->v.len);
		buf_append_str(b, ")");
		break;
	case WM_JSON:
		wm_re_json(b, m->v.data, m->v.len);
		break;
	}
	if (m->kind != WM_CONTAINS)
		buf_append_str(b, "\\z");
}

/* All of n matchers as one regex: lookaheads from the start. */
static void
wm_re(struct buf *b, const struct wm_matcher *m, size_t n, int query)
{
	size_t	i;

	buf_append_str(b, "\\A");
	for (i = 0; i < n; i++) {
		if (n > 1)
			buf_append_str(b, "(?=");
		wm_re_tail(b, &m[i], query);
		if (n > 1)
			buf_append_byte(b, ')');
	}
}

/* Compiles re as the responder will (PCRE2, no UTF mode). */
static int
wm_re_check(const char *re, size_t len, char **why)
{
	PCRE2_UCHAR	 msg[160];
	PCRE2_SIZE	 off;
	pcre2_code	*code;
	int		 err;

	if ((code = pcre2_compile((PCRE2_SPTR)re, len, 0, &err, &off,
	    NULL)) != NULL) {
		pcre2_code_free(code);
		return 0;
	}
	if (pcre2_get_error_message(err, msg, sizeof msg) < 0)
		snprintf((char *)msg, sizeof msg, "unknown error");
	if (*why == NULL)
		*why = xasprintf("regex %.*s does not compile in PCRE2 at "
		    "offset %zu: %s", (int)len, re, (size_t)off, (char *)msg);
	return -1;
}

/* --- output: YAML --- */

/* s as a YAML double-quoted scalar (s is UTF-8 text or ASCII). */
static void
wm_yq(struct buf *b, const char *s, size_t len)
{
	const unsigned char	*u = (const unsigned char *)s;
	unsigned		 cp;
	size_t			 i, n;

	buf_append_byte(b, '"');
	for (i = 0; i < len; i += n) {
		n = 1;
		if (u[i] == '"' || u[i] == '\\') {
			buf_append_byte(b, '\\');
			buf_append_byte(b, (char)u[i]);
		} else if (u[i] == '\n')
			buf_append_str(b, "\\n");
		else if (u[i] == '\t')
			buf_append_str(b, "\\t");
		else if (u[i] < 0x20 || u[i] == 0x7f)
			buf_printf(b, "\\x%02x", u[i]);
		else if (u[i] < 0x80)
			buf_append_byte(b, (char)u[i]);
		else if ((n = json_utf8_seq(u + i, len - i)) == 0) {
			n = 1;
			buf_printf(b, "\\x%02x", u[i]);
		} else {
			/* libyaml refuses C1 controls and non-characters
			 * in its input: escape them. */
			cp = n == 2 ? ((u[i] & 0x1fu) << 6 | (u[i + 1] & 0x3fu)) :
			    n == 3 ? ((u[i] & 0x0fu) << 12 |
			    (u[i + 1] & 0x3fu) << 6 | (u[i + 2] & 0x3fu)) : 0;
			if ((cp >= 0x80 && cp <= 0x9f) || cp == 0xfeff ||
			    cp >= 0xfffe)
				buf_printf(b, "\\u%04x", cp);
			else
				buf_append(b, u + i, n);
		}
	}
	buf_append_byte(b, '"');
}

/* A mapping key: plain when it is a simple word, else quoted. */
static void
wm_yaml_key(struct buf *b, const char *key)
{
	size_t	i;

	for (i = 0; key[i] != '\0'; i++)
		if (!((key[i] >= '0' && key[i] <= '9') || (key[i] >= 'A' &&
		    key[i] <= 'Z') || (key[i] >= 'a' && key[i] <= 'z') ||
		    key[i] == '_' || (key[i] == '-' && i > 0)))
			break;
	if (i > 0 && key[i] == '\0' && strchr("yYnNtTfFoO", key[0]) == NULL)
		buf_append_str(b, key);
	else
		wm_yq(b, key, strlen(key));
}

/* "      KEY: REGEX\n" after checking the regex. */
static void
wm_yaml_re(struct buf *b, const char *indent, const char *key,
    const struct buf *re, char **why)
{
	buf_printf(b, "%s", indent);
	if (key != NULL) {
		wm_yaml_key(b, key);
		buf_append_str(b, ": ");
	}
	wm_yq(b, re->data, re->len);
	buf_append_byte(b, '\n');
	(void)wm_re_check(re->data, re->len, why);
}

/* --- output: rules --- */

/* The path regex of the stub's URL matcher into re (empty: none). */
static void
wm_rule_path(struct buf *re, const struct wm_stub *s, char **why)
{
	const char	*u = s->url, *q, *e;
	size_t		 i;

	switch (s->url_kind) {
	case WM_URL_ANY:
		return;
	case WM_URL:
	case WM_URL_PATH:
		q = s->url_kind == WM_URL ? strchr(u, '?') : NULL;
		buf_append_str(re, "\\A");
		for (i = 0; u[i] != '\0' && u + i != q; i++)
			wm_re_byte(re, (unsigned char)u[i]);
		buf_append_str(re, "\\z");
		return;
	case WM_URL_PATTERN:
		if (strstr(u, "\\?") != NULL || strstr(u, "[?") != NULL ||
		    strstr(u, "\\Q") != NULL) {
			if (*why == NULL)
				*why = xasprintf("urlPattern %s matches the "
				    "query (rules match the path alone)", u);
			return;
		}
		/* FALLTHROUGH */
	case WM_URL_PATH_PATTERN:
		buf_printf(re, "\\A(?:%s)\\z", u);
		return;
	case WM_URL_PATH_TEMPLATE:
		buf_append_str(re, "\\A");
		for (; *u != '\0'; u++) {
			if (*u == '{' && (e = strchr(u, '}')) != NULL) {
				buf_append_str(re, "[^/]+");
				u = e;
			} else
				wm_re_byte(re, (unsigned char)*u);
		}
		buf_append_str(re, "\\z");
		return;
	}
}

/* Appends "name: regex" to the query map, refusing a second name. */
static void
wm_rule_query_one(struct buf *b, char ***names, size_t *n, const char *name,
    const struct buf *re, char **why)
{
	size_t	i;

	for (i = 0; i < *n; i++) {
		if (strcmp((*names)[i], name) == 0 && *why == NULL)
			*why = xasprintf("query parameter %s: given twice (a "
			    "rule holds one regex per name)", name);
	}
	if (*n == 0)
		buf_append_str(b, "      query:\n");
	*names = xreallocarray(*names, *n + 1, sizeof **names);
	(*names)[(*n)++] = xstrdup(name);
	wm_yaml_re(b, "        ", name, re, why);
}

/* The query map: the pieces of a "url" and the queryParameters. */
static void
wm_rule_query(struct buf *b, const struct wm_stub *s, char **why)
{
	struct buf	 re;
	const char	*q, *piece, *eq, *end;
	char		*name, **names = NULL;
	size_t		 i, n = 0;

	buf_init(&re);
	q = s->url_kind == WM_URL ? strchr(s->url, '?') : NULL;
	for (piece = q != NULL ? q + 1 : NULL; piece != NULL && *piece !=
	    '\0'; piece = *end == '&' ? end + 1 : end) {
		end = piece + strcspn(piece, "&");
		if (end == piece)
			continue;
		eq = memchr(piece, '=', (size_t)(end - piece));
		name = xstrndup(piece, (size_t)((eq != NULL ? eq : end) -
		    piece));
		buf_reset(&re);
		buf_append_str(&re, "\\A");
		for (eq = eq != NULL ? eq + 1 : end; eq < end; eq++)
			wm_re_byte(&re, (unsigned char)*eq);
		buf_append_str(&re, "\\z");
		wm_rule_query_one(b, &names, &n, name, &re, why);
		free(name);
	}
	for (i = 0; i < s->nquery; i++) {
		buf_reset(&re);
		wm_re(&re, &s->query[i].m, 1, 1);
		wm_rule_query_one(b, &names, &n, s->query[i].name, &re, why);
	}
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	buf_free(&re);
}

/* "    match:" of the stub's rule; *why when something cannot be said. */
static void
wm_rule_match(struct buf *b, const struct wm_stub *s, char **why)
{
	struct buf	re;
	size_t		i;

	buf_init(&re);
	buf_append_str(b, "    match:\n      dir: out\n");
	if (s->method != NULL) {
		/* A plain word matches exactly; anything else as a regex. */
		buf_reset(&re);
		buf_append_str(&re, "\\A");
		for (i = 0; s->method[i] != '\0'; i++)
			wm_re_byte(&re, (unsigned char)s->method[i]);
		buf_append_str(&re, "\\z");
		if (re.len == i + 4 && i > 0) {
			buf_append_str(b, "      method: ");
			wm_yq(b, s->method, i);
			buf_append_byte(b, '\n');
		} else
			wm_yaml_re(b, "      ", "method", &re, why);
	}
	buf_reset(&re);
	wm_rule_path(&re, s, why);
	if (re.len > 0)
		wm_yaml_re(b, "      ", "path", &re, why);
	wm_rule_query(b, s, why);
	for (i = 0; i < s->nheaders; i++) {
		if (i == 0)
			buf_append_str(b, "      headers:\n");
		buf_reset(&re);
		wm_re(&re, &s->headers[i].m, 1, 0);
		wm_yaml_re(b, "        ", s->headers[i].name, &re, why);
	}
	if (s->nbody > 0) {
		buf_reset(&re);
		wm_re(&re, s->body, s->nbody, 0);
		wm_yaml_re(b, "      ", "body", &re, why);
	}
	buf_free(&re);
}

/* Why the stub's response cannot be a rule's fault, or NULL. */
static const char *
wm_unrestatable(const struct wm_stub *s)
{
	const char	*c;
	size_t		 i;

	if (s->fault != WM_FAULT_NONE)
		return NULL;
	if (s->rbody.len > 0 && (memchr(s->rbody.data, '\0',
	    s->rbody.len) != NULL || !utf8_is_valid(s->rbody.data,
	    s->rbody.len)))
		return "its body is not UTF-8 text";
	if (s->rh_multi)
		return "a header with several values";
	for (i = 0; i < s->nrh; i++) {
		for (c = s->rh[i].name; *c != '\0'; c++)
			if (*c <= ' ' || *c >= 0x7f || strchr("\"(),/:;<=>?@"
			    "[\\]{}", *c) != NULL)
				return "a header name that is not a token";
		if (c == s->rh[i].name)
			return "an empty header name";
		for (c = s->rh[i].value; *c != '\0'; c++)
			if ((unsigned char)*c < ' ' && *c != '\t')
				return "a header value with control "
				    "characters";
	}
	return NULL;
}

/* "    fault:" of the stub's rule, then stop. */
static void
wm_rule_fault(struct buf *b, const struct wm_stub *s, const char *latency)
{
	size_t	i;

	buf_append_str(b, "    fault:\n");
	switch (s->fault) {
	case WM_FAULT_EMPTY:
	case WM_FAULT_RANDOM:
		buf_append_str(b, "      connection: close\n");
		break;
	case WM_FAULT_RESET:
		buf_append_str(b, "      connection: reset\n");
		break;
	case WM_FAULT_CHUNK:
		/* WireMock's own garbage: a chunk that cannot parse. */
		buf_append_str(b, "      status: 200\n"
		    "      body: \"lskdu018973t09sylgasjkfg1][]'./.sdlv\"\n"
		    "      malform: bad_chunk\n");
		break;
	case WM_FAULT_NONE:
		buf_printf(b, "      status: %d\n", s->status);
		for (i = 0; i < s->nrh; i++) {
			if (i == 0)
				buf_append_str(b, "      headers:\n");
			buf_append_str(b, "        ");
			wm_yaml_key(b, s->rh[i].name);
			buf_append_str(b, ": ");
			wm_yq(b, s->rh[i].value, strlen(s->rh[i].value));
			buf_append_byte(b, '\n');
		}
		buf_append_str(b, "      body: ");
		wm_yq(b, s->rbody.data, s->rbody.len);
		buf_append_byte(b, '\n');
		break;
	}
	if (latency != NULL)
		buf_printf(b, "      latency: %s\n", latency);
}

/* The rule name: rank and the stub's name or id, as names allow. */
static void
wm_rule_name(struct buf *b, const struct wm_stub *s, size_t rank,
    const char *suffix)
{
	const char	*l = s->name != NULL ? s->name : s->id;
	size_t		 i, n = 0;

	buf_printf(b, "  - name: wm-%zu", rank);
	for (i = 0; l != NULL && l[i] != '\0' && n < 96; i++) {
		char c = l[i];

		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
		    (c >= 'a' && c <= 'z') || c == '.' || c == '_'))
			c = '-';
		if (n++ == 0)
			buf_append_byte(b, '-');
		buf_append_byte(b, c);
	}
	buf_printf(b, "%s\n", suffix);
}

/*
 * The stub's rule(s) into b: an extra latency-only rule first when a
 * fixed delay adds to a distribution, then the answer.  Returns the
 * number of rules, 0 with *why when a matcher cannot be said.
 */
static size_t
wm_rule(struct buf *b, const struct wm_stub *s, size_t rank, char **why)
{
	struct buf	match, out;
	char		*fixed = NULL;
	size_t		 n = 1;

	buf_init(&match);
	buf_init(&out);
	wm_rule_match(&match, s, why);
	if (s->latency != NULL && s->delay_extra != NULL) {
		wm_rule_name(&out, s, rank, "-delay");
		buf_append(&out, match.data, match.len);
		fixed = xasprintf("%sms", s->delay_extra);
		buf_printf(&out, "    fault:\n      latency: %s\n", fixed);
		n++;
	} else if (s->delay_extra != NULL && strtod(s->delay_extra,
	    NULL) > 0)
		fixed = xasprintf("%sms", s->delay_extra);
	wm_rule_name(&out, s, rank, "");
	buf_append(&out, match.data, match.len);
	wm_rule_fault(&out, s, s->latency != NULL ? s->latency : fixed);
	buf_append_str(&out, "    stop: true\n");
	if (*why == NULL)
		buf_append(b, out.data, out.len);
	free(fixed);
	buf_free(&match);
	buf_free(&out);
	return *why == NULL ? n : 0;
}

/* --- output: transactions --- */

static int
wm_bodiless(const char *method)
{
	return strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0 ||
	    strcmp(method, "DELETE") == 0 || strcmp(method, "OPTIONS") == 0 ||
	    strcmp(method, "TRACE") == 0;
}

/* True if the stub's request is one exact request (see wm_txn). */
static int
wm_concrete(const struct wm_stub *s)
{
	size_t	i;

	if (s->method == NULL || s->nheaders > 0 || (s->url_kind != WM_URL &&
	    s->url_kind != WM_URL_PATH))
		return 0;
	for (i = 0; i < s->nquery; i++)
		if (s->query[i].m.kind != WM_EQ || s->query[i].m.nocase)
			return 0;
	if (s->nbody == 0)
		return 1;
	return s->nbody == 1 && !s->body[0].nocase &&
	    (s->body[0].kind == WM_EQ || s->body[0].kind == WM_JSON ||
	    s->body[0].kind == WM_BINARY);
}

/* True if a transaction alone answers exactly the stub's requests. */
static int
wm_exact(const struct wm_stub *s)
{
	return wm_concrete(s) && s->url_kind == WM_URL && s->nquery == 0 &&
	    (s->nbody == 1 || wm_bodiless(s->method)) &&
	    s->fault == WM_FAULT_NONE && s->latency == NULL &&
	    (s->delay_extra == NULL || strtod(s->delay_extra, NULL) <= 0);
}

static char *
wm_bytes(const struct buf *b)
{
	char	*p;

	if (b->len == 0)
		return NULL;
	p = xmalloc(b->len + 1);
	memcpy(p, b->data, b->len);
	p[b->len] = '\0';
	return p;
}

/* The stub as a dir "out" transaction (wm_concrete() must hold). */
static void
wm_txn(const struct wm_stub *s, struct snap_txn *t)
{
	static const char	 hex[] = "0123456789ABCDEF";
	struct buf		 target;
	const unsigned char	*v;
	size_t			 i, j;

	snap_txn_init(t);
	t->dir = SNAP_DIR_OUT;
	t->id = s->id != NULL ? xstrdup(s->id) : xasprintf("wiremock-%zu",
	    s->seq + 1);
	t->req.method = xstrdup(s->method);
	buf_init(&target);
	buf_append_str(&target, s->url);
	for (i = 0; i < s->nquery; i++) {
		buf_append_byte(&target, i == 0 && strchr(s->url, '?') ==
		    NULL ? '?' : '&');
		buf_append_str(&target, s->query[i].name);
		buf_append_byte(&target, '=');
		v = (const unsigned char *)s->query[i].m.v.data;
		for (j = 0; j < s->query[i].m.v.len; j++) {
			if ((v[j] >= '0' && v[j] <= '9') || (v[j] >= 'A' &&
			    v[j] <= 'Z') || (v[j] >= 'a' && v[j] <= 'z') ||
			    strchr("-._~", v[j]) != NULL)
				buf_append_byte(&target, (char)v[j]);
			else
				buf_printf(&target, "%%%c%c", hex[v[j] >> 4],
				    hex[v[j] & 15]);
		}
	}
	buf_append_byte(&target, '\0');
	t->req.target = buf_detach(&target, NULL);
	if (s->nbody == 1) {
		t->req.body = wm_bytes(&s->body[0].v);
		t->req.body_len = s->body[0].v.len;
		if (s->body[0].kind == WM_JSON) {
			/* So the index compares it without whitespace. */
			t->req.headers = xcalloc(1, sizeof *t->req.headers);
			t->req.headers[0].name = xstrdup("Content-Type");
			t->req.headers[0].value = xstrdup("application/json");
			t->req.nheaders = 1;
		}
	}
	t->has_res = 1;
	t->res.status = s->status;
	t->res.reason = s->reason != NULL ? xstrdup(s->reason) : NULL;
	t->res.headers = xcalloc(s->nrh + 1, sizeof *t->res.headers);
	for (i = 0; i < s->nrh; i++) {
		t->res.headers[i].name = xstrdup(s->rh[i].name);
		t->res.headers[i].value = xstrdup(s->rh[i].value);
	}
	t->res.nheaders = s->nrh;
	t->res.body = wm_bytes(&s->rbody);
	t->res.body_len = s->rbody.len;
}

/* True if an earlier transaction has t's method, target and body. */
static int
wm_txn_dup(const struct snap_txn *txns, size_t n, const struct snap_txn *t)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (strcmp(txns[i].req.method, t->req.method) == 0 &&
		    strcmp(txns[i].req.target, t->req.target) == 0 &&
		    txns[i].req.body_len == t->req.body_len &&
		    (t->req.body_len == 0 || memcmp(txns[i].req.body,
		    t->req.body, t->req.body_len) == 0))
			return 1;
	}
	return 0;
}

/* --- ranking and the result --- */

/* WireMock's order: priority (1 first), then the newest stub first. */
static int
wm_rank_cmp(const void *a, const void *b)
{
	const struct wm_stub	*x = *(struct wm_stub *const *)a;
	const struct wm_stub	*y = *(struct wm_stub *const *)b;

	if (x->priority != y->priority)
		return x->priority < y->priority ? -1 : 1;
	if (x->insertion != y->insertion)
		return x->insertion > y->insertion ? -1 : 1;
	return x->seq > y->seq ? -1 : x->seq < y->seq;
}

static void
wm_note(struct wiremock_out *out, const struct wm_stub *s, const char *what,
    int skipped)
{
	struct wiremock_note	*n;

	out->notes = xreallocarray(out->notes, out->nnotes + 1,
	    sizeof *out->notes);
	n = &out->notes[out->nnotes++];
	n->file = xstrdup(s->file);
	if (s->id != NULL && s->name != NULL)
		n->mapping = xasprintf("%s (%s)", s->id, s->name);
	else if (s->id != NULL || s->name != NULL)
		n->mapping = xstrdup(s->id != NULL ? s->id : s->name);
	else
		n->mapping = xasprintf("#%zu", s->index);
	n->what = xstrdup(what);
	n->skipped = skipped;
}

/*
 * The path regex of each stub that needs a rule, compiled once; NULL
 * where the rule matches any path (or no rule is needed).
 */
static pcre2_code **
wm_path_codes(struct wm_stub **v, size_t n, const char *need)
{
	pcre2_code	**codes;
	struct buf	  re;
	char		 *why = NULL;
	size_t		  i;
	int		  err;
	PCRE2_SIZE	  off;

	codes = xcalloc(n + 1, sizeof *codes);
	buf_init(&re);
	for (i = 0; i < n; i++) {
		if (!need[i])
			continue;
		buf_reset(&re);
		wm_rule_path(&re, v[i], &why);
		if (re.len > 0)
			codes[i] = pcre2_compile((PCRE2_SPTR)re.data, re.len, 0,
			    &err, &off, NULL);
	}
	free(why);
	buf_free(&re);
	return codes;
}

/*
 * True if a stub ranked after v[i] needs a rule that may answer a
 * request of v[i]: same method (or any) and a path regex that matches
 * v[i]'s path.  Query, header and body matchers are taken to match (the
 * cautious side).
 */
static int
wm_outranked_rule(struct wm_stub **v, size_t n, size_t i, const char *need,
    pcre2_code **codes, pcre2_match_data *md)
{
	size_t	j, len = strcspn(v[i]->url, "?");

	for (j = i + 1; j < n; j++) {
		if (!need[j] || (v[j]->method != NULL &&
		    strcmp(v[j]->method, v[i]->method) != 0))
			continue;
		if (codes[j] == NULL || pcre2_match(codes[j],
		    (PCRE2_SPTR)v[i]->url, len, 0, 0, md, NULL) >= 0)
			return 1;
	}
	return 0;
}

/*
 * Writes the rules and transactions of the ranked stubs v[0..n).  A stub
 * that needs a rule and cannot have one is skipped; a snapshot stub that
 * outranks a rule gets a rule too, so that rule cannot answer for it.
 */
static void
wm_emit(struct wm_stub **v, size_t n, struct wiremock_out *out,
    struct buf *rules)
{
	struct buf		 *text;
	char			**why, *need;
	size_t			 *nr, i;
	int			  guard;
	pcre2_code		**codes;
	pcre2_match_data	 *md;

	need = xcalloc(n + 1, 1);
	text = xcalloc(n + 1, sizeof *text);
	why = xcalloc(n + 1, sizeof *why);
	nr = xcalloc(n + 1, sizeof *nr);
	for (i = 0; i < n; i++) {
		const char *u;

		if (v[i]->skip != NULL)
			continue;
		buf_init(&text[i]);
		nr[i] = wm_rule(&text[i], v[i], i + 1, &why[i]);
		if ((u = wm_unrestatable(v[i])) != NULL && why[i] == NULL)
			why[i] = xasprintf("its response cannot be a rule: "
			    "%s", u);
		if (wm_exact(v[i]))
			continue;
		if (why[i] != NULL)
			wm_skip(v[i], "%s", why[i]);
		else
			need[i] = 1;
	}
	codes = wm_path_codes(v, n, need);
	md = pcre2_match_data_create(1, NULL);
	for (i = 0; i < n; i++) {
		struct snap_txn	t;

		if (v[i]->skip != NULL) {
			buf_free(&text[i]);
			free(why[i]);
			continue;
		}
		if (wm_concrete(v[i])) {
			wm_txn(v[i], &t);
			if (wm_txn_dup(out->txns, out->ntxns, &t))
				snap_txn_free(&t);
			else {
				out->txns = xreallocarray(out->txns,
				    out->ntxns + 1, sizeof *out->txns);
				out->txns[out->ntxns++] = t;
			}
		}
		guard = !need[i] && wm_outranked_rule(v, n, i, need, codes, md);
		if (need[i] || (guard && why[i] == NULL)) {
			buf_append(rules, text[i].data, text[i].len);
			out->nrules += nr[i];
			if (v[i]->reason != NULL)
				wm_drop(v[i], "statusMessage: a rule cannot "
				    "set the reason phrase");
		} else if (guard)
			wm_drop(v[i], "it outranks a pattern stub, but %s: "
			    "that stub's rule may answer its requests",
			    why[i]);
		buf_free(&text[i]);
		free(why[i]);
	}
	for (i = 0; i < n; i++)
		pcre2_code_free(codes[i]);
	free(codes);
	pcre2_match_data_free(md);
	free(text);
	free(why);
	free(nr);
	free(need);
}

void
wiremock_finish(struct wiremock *w, struct wiremock_out *out)
{
	struct wm_stub	**v;
	struct buf	  rules;
	size_t		  i, j;

	memset(out, 0, sizeof *out);
	v = xcalloc(w->nstubs + 1, sizeof *v);
	for (i = 0; i < w->nstubs; i++)
		v[i] = w->stubs[i];
	if (w->nstubs > 1)
		qsort(v, w->nstubs, sizeof *v, wm_rank_cmp);
	buf_init(&rules);
	buf_append_str(&rules, "# Made by decoy import wiremock: the stubs "
	    "a snapshot cannot express,\n# in WireMock's order (the first "
	    "rule that matches answers).\nrules:\n");
	wm_emit(v, w->nstubs, out, &rules);
	if (out->nrules == 0)
		buf_append_str(&rules, "  []\n");
	out->rules = buf_detach(&rules, &out->rules_len);
	free(v);
	out->mappings = w->nstubs;
	for (i = 0; i < w->nstubs; i++) {
		if (w->stubs[i]->skip != NULL)
			wm_note(out, w->stubs[i], w->stubs[i]->skip, 1);
		else
			out->imported++;
		for (j = 0; j < w->stubs[i]->ndropped; j++)
			wm_note(out, w->stubs[i], w->stubs[i]->dropped[j], 0);
	}
}

void
wiremock_out_free(struct wiremock_out *out)
{
	size_t	i;

	for (i = 0; i < out->ntxns; i++)
		snap_txn_free(&out->txns[i]);
	free(out->txns);
	free(out->rules);
	for (i = 0; i < out->nnotes; i++) {
		free(out->notes[i].file);
		free(out->notes[i].mapping);
		free(out->notes[i].what);
	}
	free(out->notes);
	memset(out, 0, sizeof *out);
}
