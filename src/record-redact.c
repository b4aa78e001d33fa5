/*
 * record-redact.c -- redaction of recorded values before they reach the
 * disk: header values by name, JSON values by path (edited in the raw
 * bytes, never re-serialised), and PCRE2 patterns in header values and
 * bodies.  Placeholders are stable within a run: "REDACTED-" and the first
 * 8 hex digits of HMAC-SHA256(per-run key, value).
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pcre2.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "json.h"
#include "log.h"
#include "record.h"
#include "xmalloc.h"

enum redact_kind { REDACT_HEADER, REDACT_JSON, REDACT_REGEX };

enum seg_kind { SEG_KEY, SEG_INDEX, SEG_ANY };

struct redact_seg {
	int		 deep;		/* ".." before it */
	enum seg_kind	 kind;
	char		*key;
	size_t		 index;
};

struct redact_rule {
	enum redact_kind	 kind;
	char			*name;		/* header */
	struct redact_seg	*segs;		/* json */
	size_t			 nsegs;
	pcre2_code		*re;		/* regex */
};

struct record_redact {
	unsigned char		 key[32];
	struct redact_rule	*rules;
	size_t			 nrules;
	int			 has_json, has_regex;
	pcre2_match_data	*md;
};

/* One step of the path to the value being looked at. */
struct path_el {
	int		is_index;
	size_t		index;
	struct buf	key;
};

struct edit {
	size_t	off, len;
	char	*with;		/* JSON text, allocated */
};

struct walk {
	const struct record_redact	*rr;
	struct path_el			 path[JSON_MAX_DEPTH + 1];
	struct edit			*edits;
	size_t				 nedits, cap;
};

static int
redact_parse_path(const char *s, struct redact_rule *r, char **cause)
{
	const char	*p = s, *start;
	struct redact_seg seg;
	char		*end;

	if (*p != '$') {
		*cause = xasprintf("json:%s: a path starts with $", s);
		return -1;
	}
	p++;
	while (*p != '\0') {
		memset(&seg, 0, sizeof seg);
		if (p[0] == '.' && p[1] == '.') {
			seg.deep = 1;
			p += 2;
		} else if (p[0] == '.')
			p++;
		else if (p[0] != '[')
			goto bad;
		if (*p == '[') {
			p++;
			if (p[0] == '*' && p[1] == ']') {
				seg.kind = SEG_ANY;
				p += 2;
			} else if (*p == '"' || *p == '\'') {
				start = ++p;
				while (*p != '\0' && *p != start[-1])
					p++;
				if (*p == '\0' || p[1] != ']')
					goto bad;
				seg.kind = SEG_KEY;
				seg.key = xstrndup(start, (size_t)(p - start));
				p += 2;
			} else {
				if (*p < '0' || *p > '9')
					goto bad;
				seg.kind = SEG_INDEX;
				seg.index = strtoul(p, &end, 10);
				if (*end != ']')
					goto bad;
				p = end + 1;
			}
		} else if (*p == '*') {
			seg.kind = SEG_ANY;
			p++;
		} else {
			start = p;
			while (*p != '\0' && *p != '.' && *p != '[')
				p++;
			if (p == start)
				goto bad;
			seg.kind = SEG_KEY;
			seg.key = xstrndup(start, (size_t)(p - start));
		}
		r->segs = xreallocarray(r->segs, r->nsegs + 1,
		    sizeof *r->segs);
		r->segs[r->nsegs++] = seg;
	}
	if (r->nsegs == 0)
		goto bad;
	return 0;

bad:
	*cause = xasprintf("json:%s: bad path near \"%s\" (expected $.a.b, "
	    "$..key, $.a[0], $.a[*])", s, p);
	return -1;
}

static void
redact_rules_free(struct redact_rule *rules, size_t n)
{
	size_t	i, j;

	for (i = 0; i < n; i++) {
		free(rules[i].name);
		for (j = 0; j < rules[i].nsegs; j++)
			free(rules[i].segs[j].key);
		free(rules[i].segs);
		if (rules[i].re != NULL)
			pcre2_code_free(rules[i].re);
	}
	free(rules);
}

struct record_redact *
record_redact_create_key(char *const *specs, size_t n,
    const unsigned char *key, size_t keylen, char **cause)
{
	struct record_redact	*rr;
	struct redact_rule	*r;
	PCRE2_UCHAR		 msg[256];
	PCRE2_SIZE		 eoff;
	int			 ecode;
	size_t			 i;

	rr = xcalloc(1, sizeof *rr);
	memcpy(rr->key, key, keylen < sizeof rr->key ? keylen :
	    sizeof rr->key);
	rr->rules = xcalloc(n + 1, sizeof *rr->rules);
	for (i = 0; i < n; i++) {
		r = &rr->rules[rr->nrules++];
		if (strncmp(specs[i], "header:", 7) == 0 &&
		    specs[i][7] != '\0') {
			r->kind = REDACT_HEADER;
			r->name = xstrdup(specs[i] + 7);
		} else if (strncmp(specs[i], "json:", 5) == 0) {
			r->kind = REDACT_JSON;
			rr->has_json = 1;
			if (redact_parse_path(specs[i] + 5, r, cause) == -1)
				goto fail;
		} else if (strncmp(specs[i], "regex:", 6) == 0 &&
		    specs[i][6] != '\0') {
			r->kind = REDACT_REGEX;
			rr->has_regex = 1;
			r->re = pcre2_compile((PCRE2_SPTR)specs[i] + 6,
			    PCRE2_ZERO_TERMINATED, 0, &ecode, &eoff, NULL);
			if (r->re == NULL) {
				pcre2_get_error_message(ecode, msg, sizeof msg);
				*cause = xasprintf("%s: at offset %zu: %s",
				    specs[i], (size_t)eoff, (char *)msg);
				goto fail;
			}
			(void)pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE);
		} else {
			*cause = xasprintf("--redact %s: expected header:NAME, "
			    "json:PATH or regex:PATTERN", specs[i]);
			goto fail;
		}
	}
	if (rr->has_regex &&
	    (rr->md = pcre2_match_data_create(1, NULL)) == NULL)
		fatalx("out of memory");
	return rr;

fail:
	record_redact_free(rr);
	return NULL;
}

struct record_redact *
record_redact_create(char *const *specs, size_t n, char **cause)
{
	unsigned char	key[32];

	if (RAND_bytes(key, sizeof key) != 1) {
		*cause = xstrdup("no random bytes for the redaction key");
		return NULL;
	}
	return record_redact_create_key(specs, n, key, sizeof key, cause);
}

void
record_redact_free(struct record_redact *rr)
{
	if (rr == NULL)
		return;
	redact_rules_free(rr->rules, rr->nrules);
	if (rr->md != NULL)
		pcre2_match_data_free(rr->md);
	OPENSSL_cleanse(rr->key, sizeof rr->key);
	free(rr);
}

void
record_redact_placeholder(const struct record_redact *rr, struct buf *out,
    const char *value, size_t len)
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen = 0;

	if (HMAC(EVP_sha256(), rr->key, sizeof rr->key,
	    (const unsigned char *)value, len, md, &mdlen) == NULL)
		memset(md, 0, sizeof md);
	buf_printf(out, "REDACTED-%02x%02x%02x%02x", md[0], md[1], md[2],
	    md[3]);
}

/* Every match of every regex: rule in s[0..len) replaced; NULL if none. */
static char *
redact_regex(const struct record_redact *rr, const char *s, size_t len,
    size_t *outlen, size_t *count)
{
	struct buf	 out;
	PCRE2_SIZE	*ov;
	const char	*cur = s;
	size_t		 curlen = len, i, from, copied, n = 0;
	char		*next;
	int		 rc;

	if (!rr->has_regex)
		return NULL;
	buf_init(&out);
	for (i = 0; i < rr->nrules; i++) {
		if (rr->rules[i].kind != REDACT_REGEX)
			continue;
		buf_reset(&out);
		from = copied = 0;
		while (from <= curlen) {
			rc = pcre2_match(rr->rules[i].re, (PCRE2_SPTR)cur,
			    curlen, from, 0, rr->md, NULL);
			if (rc < 0)
				break;
			ov = pcre2_get_ovector_pointer(rr->md);
			if (ov[1] == ov[0]) {	/* empty match: step on */
				from = ov[1] + 1;
				continue;
			}
			buf_append(&out, cur + copied, ov[0] - copied);
			record_redact_placeholder(rr, &out, cur + ov[0],
			    ov[1] - ov[0]);
			copied = from = ov[1];
			n++;
		}
		if (copied == 0 && out.len == 0)
			continue;
		buf_append(&out, cur + copied, curlen - copied);
		if (cur != s)
			free((char *)cur);
		next = buf_detach(&out, &curlen);
		cur = next;
	}
	buf_free(&out);
	*count += n;
	if (cur == s)
		return NULL;
	*outlen = curlen;
	return (char *)cur;
}

void
record_redact_headers(const struct record_redact *rr, struct snap_header *h,
    size_t n)
{
	struct buf	 b;
	size_t		 i, j, len, count = 0;
	char		*v;

	if (rr == NULL)
		return;
	for (i = 0; i < n; i++) {
		for (j = 0; j < rr->nrules; j++) {
			if (rr->rules[j].kind == REDACT_HEADER &&
			    strcasecmp(rr->rules[j].name, h[i].name) == 0)
				break;
		}
		if (j < rr->nrules) {
			buf_init(&b);
			record_redact_placeholder(rr, &b, h[i].value,
			    strlen(h[i].value));
			free(h[i].value);
			h[i].value = buf_detach(&b, NULL);
			continue;
		}
		v = redact_regex(rr, h[i].value, strlen(h[i].value), &len,
		    &count);
		if (v != NULL) {
			free(h[i].value);
			h[i].value = v;
		}
	}
}

static int
seg_match(const struct redact_seg *s, const struct path_el *e)
{
	switch (s->kind) {
	case SEG_ANY:
		return 1;
	case SEG_INDEX:
		return e->is_index && e->index == s->index;
	case SEG_KEY:
		return !e->is_index && e->key.len == strlen(s->key) &&
		    memcmp(e->key.data, s->key, e->key.len) == 0;
	}
	return 0;
}

static int
path_match(const struct redact_seg *s, size_t ns, const struct path_el *p,
    size_t np)
{
	size_t	i;

	if (ns == 0)
		return np == 0;
	if (s->deep) {
		for (i = 0; i < np; i++) {
			if (seg_match(s, &p[i]) &&
			    path_match(s + 1, ns - 1, p + i + 1, np - i - 1))
				return 1;
		}
		return 0;
	}
	return np > 0 && seg_match(s, p) &&
	    path_match(s + 1, ns - 1, p + 1, np - 1);
}

static int
walk_matches(struct walk *w, size_t depth)
{
	const struct record_redact	*rr = w->rr;
	size_t				 i;

	for (i = 0; i < rr->nrules; i++) {
		if (rr->rules[i].kind == REDACT_JSON &&
		    path_match(rr->rules[i].segs, rr->rules[i].nsegs,
		    w->path + 1, depth))
			return 1;
	}
	return 0;
}

static void
walk_edit(struct walk *w, size_t off, size_t len, const char *value,
    size_t vlen)
{
	struct buf	ph, js;

	buf_init(&ph);
	buf_init(&js);
	record_redact_placeholder(w->rr, &ph, value, vlen);
	json_append_string(&js, ph.data, ph.len);
	buf_free(&ph);
	if (w->nedits == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 8;
		w->edits = xreallocarray(w->edits, w->cap, sizeof *w->edits);
	}
	w->edits[w->nedits].off = off;
	w->edits[w->nedits].len = len;
	w->edits[w->nedits].with = buf_detach(&js, NULL);
	w->nedits++;
}

/* Walks the value at the cursor; depth is the length of w->path[1..]. */
static int
walk_value(struct walk *w, struct json_parser *p, size_t depth, int all)
{
	struct json_value	 key, v;
	struct json_parser	 kp;
	struct buf		 s;
	size_t			 idx, off;
	int			 r;

	if (!all && depth > 0)
		all = walk_matches(w, depth);
	switch (json_peek(p)) {
	case JSON_OBJECT:
		if (depth >= JSON_MAX_DEPTH || json_object_enter(p) == -1)
			return -1;
		while ((r = json_object_next(p, &key)) == 1) {
			buf_reset(&w->path[depth + 1].key);
			w->path[depth + 1].is_index = 0;
			json_init(&kp, key.p, key.len);
			if (json_read_string(&kp, &w->path[depth + 1].key,
			    NULL) == -1)
				return -1;
			if (walk_value(w, p, depth + 1, all) == -1)
				return -1;
		}
		return r;
	case JSON_ARRAY:
		if (depth >= JSON_MAX_DEPTH || json_array_enter(p) == -1)
			return -1;
		idx = 0;
		while ((r = json_array_next(p)) == 1) {
			w->path[depth + 1].is_index = 1;
			w->path[depth + 1].index = idx++;
			if (walk_value(w, p, depth + 1, all) == -1)
				return -1;
		}
		return r;
	case JSON_STRING:
		if (!all)
			return json_skip(p, NULL);
		buf_init(&s);
		if (json_read_string(p, &s, &off) == -1) {
			buf_free(&s);
			return -1;
		}
		walk_edit(w, off, p->off - off, s.data, s.len);
		buf_free(&s);
		return 0;
	case JSON_NUMBER:
		if (json_skip(p, &v) == -1)
			return -1;
		if (all)
			walk_edit(w, v.off, v.len, v.p, v.len);
		return 0;
	default:
		return json_skip(p, NULL);
	}
}

static size_t
redact_json(const struct record_redact *rr, char **body, size_t *len)
{
	struct walk		 w;
	struct json_parser	 p;
	struct buf		 out;
	size_t			 i, at = 0, n;
	const char		*b = *body;

	memset(&w, 0, sizeof w);
	w.rr = rr;
	for (i = 0; i <= JSON_MAX_DEPTH; i++)
		buf_init(&w.path[i].key);
	json_init(&p, b, *len);
	/* A body that is not JSON is left alone. */
	n = w.nedits;
	if (walk_value(&w, &p, 0, 0) == -1 || json_finish(&p) == -1)
		n = 0;
	else
		n = w.nedits;
	if (n > 0) {
		buf_init(&out);
		for (i = 0; i < n; i++) {
			buf_append(&out, b + at, w.edits[i].off - at);
			buf_append_str(&out, w.edits[i].with);
			at = w.edits[i].off + w.edits[i].len;
		}
		buf_append(&out, b + at, *len - at);
		free(*body);
		*body = buf_detach(&out, len);
	}
	for (i = 0; i < w.nedits; i++)
		free(w.edits[i].with);
	free(w.edits);
	for (i = 0; i <= JSON_MAX_DEPTH; i++)
		buf_free(&w.path[i].key);
	return n;
}

size_t
record_redact_body(const struct record_redact *rr, char **body, size_t *len)
{
	size_t	count = 0, nlen;
	char	*v;

	if (rr == NULL || *body == NULL || *len == 0)
		return 0;
	if (rr->has_json)
		count += redact_json(rr, body, len);
	v = redact_regex(rr, *body, *len, &nlen, &count);
	if (v != NULL) {
		free(*body);
		*body = v;
		*len = nlen;
	}
	return count;
}
