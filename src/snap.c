/*
 * snap.c -- the snapshot codec: one transaction per JSON line
 * (decoy-snapshot(5), docs/design.md section 5), a streaming reader and an appending
 * writer.
 *
 * Lines are read with our own strict JSON cursor (json.c), never cJSON:
 * bodies and header values come straight out of the JSON strings (or out
 * of base64), and members this version does not know are kept as their
 * raw text and written back verbatim, big integers and all.  The encoder
 * writes one canonical form (member order, no whitespace, "body" only for
 * UTF-8 text without NUL), so decode(encode(t)) == t and a canonical line
 * survives decode + encode byte for byte.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base64.h"
#include "buf.h"
#include "grpc.h"
#include "json.h"
#include "log.h"
#include "protobuf.h"
#include "protodesc.h"
#include "snap.h"
#include "xmalloc.h"

/* Lines are read with read(2) into one buffer and split in place, or
 * (chunks of a regular file) taken from a read-only mapping; a line
 * longer than SNAP_LINE_MAX is an error (not a snapshot: /dev/zero, a
 * binary file), so memory stays bounded whatever the input. */
#define SNAP_LINE_MAX	((size_t)64 << 20)
#define SNAP_READ_CHUNK	((size_t)1 << 20)

struct snap_reader {
	int	 fd;
	char	*name;		/* for messages */
	char	*buf;
	size_t	 cap;
	size_t	 start;		/* the next line */
	size_t	 end;		/* bytes read */
	int	 eof;
	size_t	 lineno;
	/* snap_reader_chunk(): the file up to its last newline, mapped
	 * PROT_READ (NULL: none), and where the next chunk starts. */
	char	*map;
	size_t	 maplen;
	size_t	 mapoff;
	int	 maptried;
	int	 failed;	/* a chunk held a line too long: the end */
};

struct snap_writer {
	struct snap_out	 o;
	struct buf	 out;
};

void
snap_txn_init(struct snap_txn *t)
{
	memset(t, 0, sizeof *t);
	t->v = SNAP_VERSION;
	t->dir = SNAP_DIR_OUT;
	t->start_us = t->ttfb_us = t->total_us = -1;
}

static void
snap_headers_free(struct snap_header *h, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	free(h);
}

void
snap_txn_free(struct snap_txn *t)
{
	if (t->borrowed) {
		snap_txn_init(t);
		return;
	}
	free(t->id);
	free(t->ts);
	free(t->svc);
	free(t->proto);
	free(t->client);
	free(t->server);
	if (t->req.store != NULL)
		free(t->req.store);
	else {
		free(t->req.method);
		free(t->req.target);
		free(t->req.host);
		snap_headers_free(t->req.headers, t->req.nheaders);
	}
	snap_headers_free(t->req.trailers, t->req.ntrailers);
	free(t->req.body);
	if (t->res.store != NULL)
		free(t->res.store);
	else {
		free(t->res.reason);
		snap_headers_free(t->res.headers, t->res.nheaders);
	}
	snap_headers_free(t->res.trailers, t->res.ntrailers);
	free(t->res.body);
	free(t->extra);
	snap_txn_init(t);
}

const char *
snap_dir_name(enum snap_dir dir)
{
	return dir == SNAP_DIR_IN ? "in" : "out";
}

int
utf8_is_valid(const char *buf, size_t len)
{
	const unsigned char	*s = (const unsigned char *)buf;
	size_t			 i = 0, n;
	uint64_t		 w;

	while (i < len) {
		if (len - i >= 8) {
			memcpy(&w, s + i, sizeof w);
			if ((w & 0x8080808080808080ULL) == 0) {
				i += 8;
				continue;
			}
		}
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if ((n = json_utf8_seq(s + i, len - i)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

/* --- decoding --- */

/*
 * A decode in progress.  here NULL: every string is a new allocation
 * that the transaction owns.  here the line (writable): strings are
 * decoded in place in it, and the headers and the extra members go to
 * the scratch arrays below, which outlive one line (snap_chunk_next()
 * lends the transaction out: no allocation per line).
 */
struct snap_scratch {
	struct snap_header	*hdr;		/* req's, then res's */
	size_t			 caphdr;
	struct buf		 extra;
	struct buf		 grpc[2];	/* req's, res's rebuilt bodies */
	/* Offsets of the chunk's newlines, found when its lines were
	 * counted, so that decoding does not search them again. */
	uint32_t		*nl;
	size_t			 nnl;
	size_t			 capnl;
	size_t			 inl;		/* the next one */
};

struct snap_dec {
	struct json_parser	 p;
	char			*here;
	struct snap_scratch	*sc;		/* here: where the rest goes */
	size_t			 nhdr;		/* in sc->hdr */
	size_t			 hdr_req;	/* where req's start in sc->hdr */
	size_t			 hdr_res;
	size_t			 trl_req;	/* where req's trailers start */
	size_t			 trl_res;
};

/* 1 if key is names[i]. */
static int
snap_member_is(const struct json_value *key, const char *const *names, int i)
{
	const char	*nm = names[i];
	size_t		 klen = key->len - 2, j;

	/* The common case, an unescaped name, without strlen(); a raw name
	 * holds no NUL, so the loop stops at the end of names[i]. */
	if (key->escaped)
		return json_string_eq(key, nm);
	for (j = 0; j < klen && nm[j] == key->p[1 + j]; j++)
		;
	return j == klen && nm[j] == '\0';
}

/*
 * Returns the index of the member named by key in names, or -1.  *next
 * is where the next member is tried first: writers put members in the
 * order of names, so a line costs one comparison per member.
 */
static int
snap_member(const struct json_value *key, const char *const *names, int n,
    int *next)
{
	int	i;

	if (*next < n && snap_member_is(key, names, *next))
		return (*next)++;
	for (i = 0; i < n; i++) {
		if (snap_member_is(key, names, i)) {
			*next = i + 1;
			return i;
		}
	}
	return -1;
}

/*
 * Steps to the next member of the object being read: 1 with *idx its
 * index in names (-1: unknown), 0 at the '}', -1 on error.  names[*next]
 * (lens[*next] bytes) is tried first without scanning the key, then
 * snap_member().
 */
static int
snap_next_member(struct json_parser *p, struct json_value *key,
    const char *const *names, const unsigned char *lens, int n, int *next,
    int *idx)
{
	int	r;

	if (*next < n)
		r = json_object_next_as(p, key, names[*next], lens[*next]);
	else
		r = json_object_next(p, key);
	if (r == 2) {
		*idx = (*next)++;
		return 1;
	}
	if (r == 1)
		*idx = snap_member(key, names, n, next);
	return r;
}

static int
snap_seen(struct json_parser *p, const struct json_value *key,
    unsigned int *seen, int idx, const char *name)
{
	if (*seen & (1U << idx))
		return json_fail(p, key->off, "duplicate member \"%s\"", name);
	*seen |= 1U << idx;
	return 0;
}

/* Reads a string member that must not contain NUL (it becomes a C string). */
static int
snap_read_str(struct snap_dec *d, const char *name, char **out)
{
	struct json_parser	*p = &d->p;
	size_t			 off, len;

	if (d->here == NULL)
		return json_read_cstr(p, name, out);
	if (json_expect(p, JSON_STRING, name, "a string") == -1)
		return -1;
	if (json_read_string_here(p, d->here, out, &len, &off) == -1)
		return -1;
	/* Only an escape (\u0000) decodes to a NUL, and a string with one
	 * decodes shorter than its source. */
	if (len != p->off - off - 2 && memchr(*out, '\0', len) != NULL)
		return json_fail(p, off, "\"%s\" contains a NUL character",
		    name);
	return 0;
}

static int
snap_read_nonempty(struct snap_dec *d, const char *name, char **out)
{
	struct json_parser	*p = &d->p;
	size_t			 off;

	json_peek(p);
	off = p->off;
	if (snap_read_str(d, name, out) == -1)
		return -1;
	if (**out == '\0')
		return json_fail(p, off, "\"%s\" must not be empty", name);
	return 0;
}

static int
snap_read_int(struct json_parser *p, const char *name, int64_t *out)
{
	struct json_value	v;

	if (json_peek(p) != JSON_NUMBER)
		return json_fail(p, p->off, "\"%s\" must be an integer", name);
	if (json_read_int_plain(p, out) == 1)
		return 0;
	if (json_skip(p, &v) == -1)
		return -1;
	if (json_number_to_int64(v.p, v.len, out) == -1) {
		if (memchr(v.p, '.', v.len) != NULL ||
		    memchr(v.p, 'e', v.len) != NULL ||
		    memchr(v.p, 'E', v.len) != NULL)
			return json_fail(p, v.off, "\"%s\" must be an integer",
			    name);
		return json_fail(p, v.off, "\"%s\" is out of range", name);
	}
	return 0;
}

/* The next header slot: in *hp, or (in place) in d's scratch array. */
static struct snap_header *
snap_header_slot(struct snap_dec *d, struct snap_header **hp, size_t *np,
    size_t *cap)
{
	struct snap_scratch	*sc = d->sc;

	if (d->here != NULL) {
		if (d->nhdr == sc->caphdr) {
			sc->caphdr = sc->caphdr == 0 ? 32 : sc->caphdr * 2;
			sc->hdr = xreallocarray(sc->hdr, sc->caphdr,
			    sizeof *sc->hdr);
		}
		(*np)++;
		return &sc->hdr[d->nhdr++];
	}
	if (*np == *cap) {
		*cap = *cap == 0 ? 8 : *cap * 2;
		*hp = xreallocarray(*hp, *cap, sizeof **hp);
	}
	return &(*hp)[(*np)++];
}

static int
snap_read_headers(struct snap_dec *d, const char *what,
    struct snap_header **hp, size_t *np)
{
	struct json_parser	*p = &d->p;
	struct snap_header	*h;
	size_t			 cap = 0, at, nlen, vlen;
	char			*name, *value;
	int			 r;

	if (json_peek(p) != JSON_ARRAY)
		return json_fail(p, p->off,
		    "\"%s\" must be an array of [name, value] pairs", what);
	if (json_array_enter(p) == -1)
		return -1;
	while ((r = json_array_next(p)) == 1) {
		/* The usual pair of plain strings in one step (no escape,
		 * so no NUL); anything else token by token. */
		if (d->here != NULL && json_read_pair_here(p, d->here, &name,
		    &nlen, &value, &vlen) == 1) {
			h = snap_header_slot(d, hp, np, &cap);
			h->name = name;
			h->value = value;
			continue;
		}
		at = p->off;
		if (json_peek(p) != JSON_ARRAY || json_array_enter(p) == -1)
			return json_fail(p, at,
			    "a header must be a [name, value] pair");
		h = snap_header_slot(d, hp, np, &cap);
		h->name = h->value = NULL;
		if (json_array_next(p) != 1 ||
		    snap_read_str(d, "header name", &h->name) == -1 ||
		    json_array_next(p) != 1 ||
		    snap_read_str(d, "header value", &h->value) == -1 ||
		    json_array_next(p) != 0)
			return json_fail(p, at,
			    "a header must be a [name, value] pair");
	}
	return r;
}

/* snap_read_body() in place: base64 decodes to fewer bytes than it
 * takes, so the decoded body fits where its text was. */
static int
snap_read_body_here(struct snap_dec *d, int b64, char **body, size_t *len)
{
	struct json_parser	*p = &d->p;
	struct buf		 b;
	size_t			 off, erroff, n;
	char			*s;

	if (json_read_string_here(p, d->here, &s, &n, &off) == -1)
		return -1;
	if (b64 && n > 0) {
		buf_init(&b);
		if (base64_decode(&b, s, n, &erroff) == -1) {
			buf_free(&b);
			/* Escapes shift offsets; then point at the string. */
			if (p->off - off - 2 != n)
				return json_fail(p, off,
				    "bad base64 in \"body_b64\"");
			return json_fail(p, off + 1 + erroff,
			    "bad base64 in \"body_b64\"");
		}
		n = b.len;
		if (n > 0)
			memcpy(s, b.data, n);
		s[n] = '\0';
		buf_free(&b);
	}
	*body = n == 0 ? NULL : s;
	*len = n;
	return 0;
}

/*
 * Reads "body" (b64 == 0) or "body_b64" (b64 == 1) into *body / *len.  An
 * empty body is stored as NULL.
 */
static int
snap_read_body(struct snap_dec *d, int b64, char **body, size_t *len)
{
	struct json_parser	*p = &d->p;
	struct buf		 b, raw;
	size_t			 off, erroff;
	const char		*name = b64 ? "body_b64" : "body";
	int			 escaped;

	if (json_peek(p) != JSON_STRING)
		return json_fail(p, p->off, "\"%s\" must be a string", name);
	if (d->here != NULL)
		return snap_read_body_here(d, b64, body, len);
	buf_init(&b);
	if (!b64) {
		if (json_read_string(p, &b, &off) == -1) {
			buf_free(&b);
			return -1;
		}
	} else {
		buf_init(&raw);
		if (json_read_string(p, &raw, &off) == -1) {
			buf_free(&raw);
			return -1;
		}
		/* Escapes shift offsets; then point at the string. */
		escaped = p->off - off - 2 != raw.len;
		if (base64_decode(&b, raw.data, raw.len, &erroff) == -1) {
			buf_free(&raw);
			buf_free(&b);
			if (escaped)
				return json_fail(p, off, "bad base64 in \"%s\"",
				    name);
			return json_fail(p, off + 1 + erroff,
			    "bad base64 in \"%s\"", name);
		}
		buf_free(&raw);
	}
	if (b.len == 0) {
		buf_free(&b);
		*body = NULL;
		*len = 0;
		return 0;
	}
	*body = buf_detach(&b, len);
	return 0;
}

enum {
	SNAP_M_METHOD, SNAP_M_TARGET, SNAP_M_HOST, SNAP_M_HEADERS,
	SNAP_M_BODY, SNAP_M_BODY_B64, SNAP_M_STATUS, SNAP_M_REASON,
	SNAP_M_TRAILERS, SNAP_M_GRPC
};
static const char *const snap_msg_names[] = {
	"method", "target", "host", "headers", "body", "body_b64", "status",
	"reason", "trailers", "grpc"
};
static const unsigned char snap_msg_lens[] = { 6, 6, 4, 7, 4, 8, 6, 6, 8, 4 };

/* The descriptor set named views are written with and read by. */
static const struct protodesc *snap_pd;

void
snap_set_protodesc(const struct protodesc *set)
{
	snap_pd = set;
}

const struct protodesc *
snap_protodesc(void)
{
	return snap_pd;
}

/* A gRPC message given as {"b64": BASE64, "compressed": BOOL}. */
static int
snap_read_grpc_raw(struct json_parser *p, struct buf *msg, int *compressed)
{
	struct json_value	 key;
	struct buf		 raw;
	size_t			 erroff;
	int			 r;

	if (json_peek(p) != JSON_OBJECT)
		return json_fail(p, p->off, "a gRPC message must be a view "
		    "(an array) or {\"b64\": ...}");
	if (json_object_enter(p) == -1)
		return -1;
	buf_init(&raw);
	while ((r = json_object_next(p, &key)) == 1) {
		if (json_string_eq(&key, "compressed"))
			r = json_read_bool(p, compressed);
		else if (json_string_eq(&key, "@type"))
			r = json_fail(p, key.off, "\"@type\" comes first in "
			    "a named view");
		else if (!json_string_eq(&key, "b64"))
			r = json_skip(p, NULL);
		else if (json_peek(p) != JSON_STRING ||
		    json_read_string(p, &raw, NULL) == -1 ||
		    base64_decode(msg, raw.data != NULL ? raw.data : "",
		    raw.len, &erroff) == -1)
			r = json_fail(p, key.off, "bad \"b64\" in a gRPC "
			    "message");
		if (r == -1)
			break;
	}
	buf_free(&raw);
	return r;
}

/*
 * "grpc": the body as gRPC messages, rebuilt into out (5-byte prefixes
 * and all): a view (an array, protobuf.h) or a named view (an object
 * with "@type" first, protodesc.h) is encoded back, an object
 * {"b64": BASE64, "compressed": BOOL} is taken as it is.
 */
static int
snap_read_grpc(struct snap_dec *d, struct buf *out)
{
	struct json_parser	*p = &d->p;
	struct buf		 msg;
	int			 r, compressed;

	if (json_peek(p) != JSON_ARRAY)
		return json_fail(p, p->off, "\"grpc\" must be an array of "
		    "messages");
	if (json_array_enter(p) == -1)
		return -1;
	buf_init(&msg);
	while ((r = json_array_next(p)) == 1) {
		buf_reset(&msg);
		compressed = 0;
		if (json_peek(p) == JSON_ARRAY)
			r = pb_encode_view(p, &msg);
		else if (protodesc_is_view(p))
			r = protodesc_encode_view(snap_pd, p, &msg);
		else
			r = snap_read_grpc_raw(p, &msg, &compressed);
		if (r == -1)
			break;
		grpc_put_msg(out, compressed, msg.data, msg.len);
	}
	buf_free(&msg);
	return r;
}

/* "grpc" into *body / *len: in place, the scratch buffer of req's or
 * res's; else an allocation.  *grpc set. */
static int
snap_decode_grpc(struct snap_dec *d, int *grpc, char **body, size_t *len,
    int isreq)
{
	struct buf	 own, *out = d->here != NULL ?
			    &d->sc->grpc[isreq ? 0 : 1] : &own;

	buf_init(&own);
	buf_reset(out);
	if (snap_read_grpc(d, out) == -1) {
		buf_free(&own);
		return -1;
	}
	*grpc = 1;
	*len = out->len;
	if (out->len == 0)
		*body = NULL;
	else if (d->here != NULL)
		*body = out->data;
	else
		*body = buf_detach(out, NULL);
	return 0;
}

/* Decodes "req" (res == NULL) or "res" (req == NULL). */
static int
snap_decode_msg(struct snap_dec *d, struct snap_req *req,
    struct snap_res *res)
{
	struct json_parser	*p = &d->p;
	struct json_value	 key;
	struct snap_header	**hp, **tp;
	size_t			 open, *np, *tnp, *lenp, off;
	char			**bodyp;
	unsigned int		 seen = 0;
	const char		*what = req != NULL ? "req" : "res";
	int64_t			 n;
	int			 r, idx, next = req != NULL ? 0 : SNAP_M_STATUS;

	if (json_peek(p) != JSON_OBJECT)
		return json_fail(p, p->off, "\"%s\" must be an object", what);
	open = p->off;
	if (json_object_enter(p) == -1)
		return -1;
	if (req != NULL) {
		hp = &req->headers;
		np = &req->nheaders;
		tp = &req->trailers;
		tnp = &req->ntrailers;
		bodyp = &req->body;
		lenp = &req->body_len;
	} else {
		hp = &res->headers;
		np = &res->nheaders;
		tp = &res->trailers;
		tnp = &res->ntrailers;
		bodyp = &res->body;
		lenp = &res->body_len;
	}
	while ((r = snap_next_member(p, &key, snap_msg_names, snap_msg_lens,
	    10, &next, &idx)) == 1) {
		if (idx != -1 && (req != NULL ? idx == SNAP_M_STATUS ||
		    idx == SNAP_M_REASON :
		    idx == SNAP_M_METHOD || idx == SNAP_M_TARGET ||
		    idx == SNAP_M_HOST))
			idx = -1;
		if (idx == -1) {
			/* Unknown members of req/res are not kept. */
			if (json_skip(p, NULL) == -1)
				return -1;
			continue;
		}
		if (snap_seen(p, &key, &seen, idx, snap_msg_names[idx]) == -1)
			return -1;
		switch (idx) {
		case SNAP_M_METHOD:
			r = snap_read_nonempty(d, "method", &req->method);
			break;
		case SNAP_M_TARGET:
			r = snap_read_nonempty(d, "target", &req->target);
			break;
		case SNAP_M_HOST:
			r = snap_read_str(d, "host", &req->host);
			break;
		case SNAP_M_HEADERS:
			*(req != NULL ? &d->hdr_req : &d->hdr_res) = d->nhdr;
			r = snap_read_headers(d, "headers", hp, np);
			break;
		case SNAP_M_TRAILERS:
			*(req != NULL ? &d->trl_req : &d->trl_res) = d->nhdr;
			r = snap_read_headers(d, "trailers", tp, tnp);
			break;
		case SNAP_M_GRPC:
		case SNAP_M_BODY:
		case SNAP_M_BODY_B64:
			if (seen & (1U << SNAP_M_GRPC) && seen &
			    (1U << SNAP_M_BODY | 1U << SNAP_M_BODY_B64))
				return json_fail(p, key.off, "both \"grpc\" and "
				    "a body in \"%s\"", what);
			if (idx == SNAP_M_GRPC) {
				r = snap_decode_grpc(d, req != NULL ? &req->grpc :
				    &res->grpc, bodyp, lenp, req != NULL);
				break;
			}
			if (seen & (1U << SNAP_M_BODY) &&
			    seen & (1U << SNAP_M_BODY_B64))
				return json_fail(p, key.off, "both \"body\" and "
				    "\"body_b64\" in \"%s\"", what);
			r = snap_read_body(d, idx == SNAP_M_BODY_B64, bodyp,
			    lenp);
			break;
		case SNAP_M_STATUS:
			json_peek(p);
			off = p->off;
			if ((r = snap_read_int(p, "status", &n)) == -1)
				break;
			if (n < 100 || n > 999)
				return json_fail(p, off,
				    "\"status\" must be from 100 to 999");
			res->status = (int)n;
			break;
		case SNAP_M_REASON:
			r = snap_read_str(d, "reason", &res->reason);
			break;
		}
		if (r == -1)
			return -1;
	}
	if (r == -1)
		return -1;
	if (req != NULL && !(seen & (1U << SNAP_M_METHOD)))
		return json_fail(p, open, "\"req\" has no \"method\"");
	if (req != NULL && !(seen & (1U << SNAP_M_TARGET)))
		return json_fail(p, open, "\"req\" has no \"target\"");
	if (res != NULL && !(seen & (1U << SNAP_M_STATUS)))
		return json_fail(p, open, "\"res\" has no \"status\"");
	return 0;
}

static const char *const snap_timing_names[] = {
	"start_us", "ttfb_us", "total_us"
};
static const unsigned char snap_timing_lens[] = { 8, 7, 8 };

static int
snap_decode_timing(struct json_parser *p, struct snap_txn *t)
{
	struct json_value	 key;
	int64_t			*fields[3] = {
	    &t->start_us, &t->ttfb_us, &t->total_us
	};
	unsigned int		 seen = 0;
	size_t			 off;
	int			 r, idx, next = 0;

	if (json_peek(p) != JSON_OBJECT)
		return json_fail(p, p->off, "\"timing\" must be an object");
	if (json_object_enter(p) == -1)
		return -1;
	while ((r = snap_next_member(p, &key, snap_timing_names,
	    snap_timing_lens, 3, &next, &idx)) == 1) {
		if (idx == -1) {
			/* Unknown members of timing are not kept. */
			if (json_skip(p, NULL) == -1)
				return -1;
			continue;
		}
		if (snap_seen(p, &key, &seen, idx, snap_timing_names[idx]) == -1)
			return -1;
		json_peek(p);
		off = p->off;
		if (snap_read_int(p, snap_timing_names[idx], fields[idx]) == -1)
			return -1;
		if (*fields[idx] < 0)
			return json_fail(p, off, "\"%s\" must not be negative",
			    snap_timing_names[idx]);
	}
	return r;
}

enum {
	SNAP_T_V, SNAP_T_ID, SNAP_T_TS, SNAP_T_DIR, SNAP_T_SVC, SNAP_T_PROTO,
	SNAP_T_TLS, SNAP_T_CLIENT, SNAP_T_SERVER, SNAP_T_REQ, SNAP_T_RES,
	SNAP_T_TIMING
};
static const char *const snap_top_names[] = {
	"v", "id", "ts", "dir", "svc", "proto", "tls", "client", "server",
	"req", "res", "timing"
};
static const unsigned char snap_top_lens[] = {
	1, 2, 2, 3, 3, 5, 3, 6, 6, 3, 3, 6
};

/* Reads the value of the known top-level member idx into t. */
static int
snap_decode_member(struct snap_dec *d, struct snap_txn *t, int idx)
{
	struct json_parser	*p = &d->p;
	char			*s;
	size_t			 off;
	int64_t			 n;
	int			 r = 0;

	json_peek(p);
	off = p->off;
	switch (idx) {
	case SNAP_T_V:
		if ((r = snap_read_int(p, "v", &n)) == -1)
			break;
		if (n > SNAP_VERSION)
			r = json_fail(p, off, "snapshot format version "
			    "%lld is newer than this decoy reads (%d)",
			    (long long)n, SNAP_VERSION);
		else if (n != SNAP_VERSION)
			r = json_fail(p, off, "\"v\" must be %d",
			    SNAP_VERSION);
		break;
	case SNAP_T_ID:
		r = snap_read_str(d, "id", &t->id);
		break;
	case SNAP_T_TS:
		r = snap_read_str(d, "ts", &t->ts);
		break;
	case SNAP_T_DIR:
		if ((r = snap_read_str(d, "dir", &s)) == -1)
			break;
		if (strcmp(s, "in") == 0)
			t->dir = SNAP_DIR_IN;
		else if (strcmp(s, "out") == 0)
			t->dir = SNAP_DIR_OUT;
		else
			r = json_fail(p, off,
			    "\"dir\" must be \"in\" or \"out\"");
		if (d->here == NULL)
			free(s);
		break;
	case SNAP_T_SVC:
		r = snap_read_str(d, "svc", &t->svc);
		break;
	case SNAP_T_PROTO:
		r = snap_read_str(d, "proto", &t->proto);
		break;
	case SNAP_T_TLS:
		if (json_peek(p) != JSON_BOOL)
			r = json_fail(p, off,
			    "\"tls\" must be true or false");
		else
			r = json_read_bool(p, &t->tls);
		break;
	case SNAP_T_CLIENT:
		r = snap_read_str(d, "client", &t->client);
		break;
	case SNAP_T_SERVER:
		r = snap_read_str(d, "server", &t->server);
		break;
	case SNAP_T_REQ:
		r = snap_decode_msg(d, &t->req, NULL);
		break;
	case SNAP_T_RES:
		r = snap_decode_msg(d, NULL, &t->res);
		t->has_res = 1;
		break;
	case SNAP_T_TIMING:
		r = snap_decode_timing(p, t);
		break;
	}
	return r;
}

static int
snap_decode(struct snap_dec *d, struct snap_txn *t)
{
	struct json_parser	*p = &d->p;
	struct json_value	 key, v;
	struct buf		 own, *extra = d->here != NULL ? &d->sc->extra :
				    &own;
	unsigned int		 seen = 0;
	int			 r, idx, next = 0;

	if (json_peek(p) != JSON_OBJECT)
		return json_fail(p, p->off,
		    "a transaction must be a JSON object");
	if (json_object_enter(p) == -1)
		return -1;
	if (d->here == NULL)
		buf_init(&own);
	else
		buf_reset(extra);
	while ((r = snap_next_member(p, &key, snap_top_names, snap_top_lens,
	    12, &next, &idx)) == 1) {
		if (idx == -1) {
			if ((r = json_skip(p, &v)) == -1)
				break;
			buf_append_byte(extra, ',');
			buf_append(extra, key.p, key.len);
			buf_append_byte(extra, ':');
			/* Compacted: a raw newline would split the line. */
			json_append_compact(extra, v.p, v.len);
			continue;
		}
		if ((r = snap_seen(p, &key, &seen, idx,
		    snap_top_names[idx])) == -1)
			break;
		r = snap_decode_member(d, t, idx);
		if (r == -1)
			break;
	}
	if (r == 0) {
		if (!(seen & (1U << SNAP_T_V)))
			r = json_fail(p, 0, "no \"v\" (format version)");
		else if (!(seen & (1U << SNAP_T_DIR)))
			r = json_fail(p, 0, "no \"dir\"");
		else if (!(seen & (1U << SNAP_T_REQ)))
			r = json_fail(p, 0, "no \"req\"");
	}
	if (d->here != NULL) {
		if (r == 0 && extra->len > 0)
			t->extra = extra->data;
		return r;
	}
	if (r == -1) {
		buf_free(&own);
		return -1;
	}
	if (own.len > 0)
		t->extra = buf_detach(&own, NULL);
	return 0;
}

/*
 * Decodes line into t.  here NULL: t owns what it holds.  here the line
 * (writable): its strings are decoded in place and t borrows them and
 * sc's arrays (t->borrowed).  On failure t is freed and *col / *msg get
 * the 1-based column and an allocated message.
 */
static int
snap_decode_at(const char *line, char *here, struct snap_scratch *sc,
    size_t len, struct snap_txn *t, size_t *col, char **msg)
{
	struct snap_dec	d;

	snap_txn_init(t);
	json_init(&d.p, line, len);
	d.here = here;
	d.sc = sc;
	d.nhdr = d.hdr_req = d.hdr_res = d.trl_req = d.trl_res = 0;
	t->borrowed = here != NULL;
	if (snap_decode(&d, t) == -1 || json_finish(&d.p) == -1) {
		snap_txn_free(t);
		*col = d.p.error_off + 1;
		*msg = xstrdup(d.p.error);
		return -1;
	}
	/* The scratch array has stopped moving. */
	if (here != NULL && t->req.nheaders > 0)
		t->req.headers = sc->hdr + d.hdr_req;
	if (here != NULL && t->res.nheaders > 0)
		t->res.headers = sc->hdr + d.hdr_res;
	if (here != NULL && t->req.ntrailers > 0)
		t->req.trailers = sc->hdr + d.trl_req;
	if (here != NULL && t->res.ntrailers > 0)
		t->res.trailers = sc->hdr + d.trl_res;
	return 0;
}

int
snap_decode_line(const char *line, size_t len, struct snap_txn *t,
    char **cause)
{
	char	*msg;
	size_t	 col;

	if (snap_decode_at(line, NULL, NULL, len, t, &col, &msg) == -1) {
		*cause = xasprintf("column %zu: %s", col, msg);
		free(msg);
		return -1;
	}
	return 0;
}

/* --- encoding --- */

/*
 * The encoder appends with snap_raw(), which leaves the NUL past the data
 * to snap_encode()'s end: one capacity check and one memcpy per piece.
 */
static inline void
snap_raw(struct buf *b, const char *p, size_t n)
{
	if (b->cap - b->len <= n)
		buf_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

#define SNAP_LIT(b, s)	snap_raw((b), (s), sizeof(s) - 1)

static void
snap_put_int(struct buf *b, int64_t v)
{
	static const char	 pairs[] =
	    "00010203040506070809101112131415161718192021222324252627282930"
	    "31323334353637383940414243444546474849505152535455565758596061"
	    "6263646566676869707172737475767778798081828384858687888990919293"
	    "949596979899";
	char			 tmp[24], *e = tmp + sizeof tmp, *s = e;
	uint64_t		 u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	/* Two digits per division. */
	while (u >= 100) {
		s -= 2;
		memcpy(s, pairs + 2 * (u % 100), 2);
		u /= 100;
	}
	if (u >= 10) {
		s -= 2;
		memcpy(s, pairs + 2 * u, 2);
	} else
		*--s = (char)('0' + u);
	if (v < 0)
		*--s = '-';
	snap_raw(b, s, (size_t)(e - s));
}

static void
snap_put_cstr(struct buf *b, const char *s)
{
	if (s == NULL)
		json_append_string(b, "", 0);
	else
		json_append_string(b, s, strlen(s));
}

/* Appends key (",\"name\":", needing no escaping) and value, if any. */
static void
snap_put_str(struct buf *b, const char *key, size_t keylen, const char *value)
{
	if (value == NULL)
		return;
	snap_raw(b, key, keylen);
	json_append_string(b, value, strlen(value));
}

#define SNAP_PUT_STR(b, name, v)					\
	snap_put_str((b), ",\"" name "\":", sizeof(",\"" name "\":") - 1, (v))

/* ,"headers":[[...]] (key ",\"headers\":[[" or the trailers'). */
static void
snap_put_fields(struct buf *b, const char *key, size_t klen,
    const struct snap_header *h, size_t n)
{
	size_t	i;

	if (n == 0)
		return;
	snap_raw(b, key, klen);
	for (i = 0; i < n; i++) {
		if (i > 0)
			SNAP_LIT(b, "],[");
		snap_put_cstr(b, h[i].name);
		SNAP_LIT(b, ",");
		snap_put_cstr(b, h[i].value);
	}
	SNAP_LIT(b, "]]");
}

#define snap_put_headers(b, h, n)					\
	snap_put_fields((b), ",\"headers\":[[", 13, (h), (n))
#define snap_put_trailers(b, h, n)					\
	snap_put_fields((b), ",\"trailers\":[[", 14, (h), (n))

static void
snap_put_body(struct buf *b, const char *body, size_t len)
{
	size_t	start = b->len;

	if (body == NULL || len == 0)
		return;
	/* Text without NUL as "body", in one pass; anything else base64. */
	SNAP_LIT(b, ",\"body\":");
	if (json_append_text(b, body, len) == 0)
		return;
	b->len = start;
	SNAP_LIT(b, ",\"body_b64\":\"");
	base64_encode(b, body, len);
	SNAP_LIT(b, "\"");
}

/*
 * ,"grpc":[...]: the body's gRPC messages, each its named view (type
 * not NULL) or its protobuf view where that is lossless, else
 * {"b64":...} (and "compressed":true).  -1 with nothing written when the
 * body does not frame as gRPC.
 */
static int
snap_put_grpc(struct buf *b, const char *body, size_t len,
    const struct protodesc_msg *type)
{
	struct grpc_msg	 m;
	size_t		 off = 0, start = b->len, n = 0;
	const char	*why;
	int		 r;

	if (body == NULL || len == 0)
		return -1;
	SNAP_LIT(b, ",\"grpc\":[");
	while ((r = grpc_next_msg((const uint8_t *)body, len, &off, &m,
	    &why)) == 1) {
		if (n++ > 0)
			SNAP_LIT(b, ",");
		if (!m.compressed && ((type != NULL && protodesc_view(type, b,
		    m.p, m.len) == 0) || pb_view(b, m.p, m.len) == 0))
			continue;
		SNAP_LIT(b, "{\"b64\":\"");
		base64_encode(b, m.p, m.len);
		if (m.compressed)
			SNAP_LIT(b, "\",\"compressed\":true}");
		else
			SNAP_LIT(b, "\"}");
	}
	if (r == -1) {
		b->len = start;
		return -1;
	}
	SNAP_LIT(b, "]");
	return 0;
}

/* The message type of t's request or response messages in the set, by
 * the call's path; NULL without a set or when it does not know it. */
static const struct protodesc_msg *
snap_grpc_type(const struct snap_txn *t, int response)
{
	if (snap_pd == NULL || t->req.target == NULL)
		return NULL;
	return protodesc_call_type(snap_pd, t->req.target,
	    strlen(t->req.target), response);
}

/* The recorders' members: error, truncated, gap, opaque. */
static void
snap_put_status(struct buf *b, const struct snap_txn *t)
{
	SNAP_PUT_STR(b, "error", t->error);
	if (t->truncated) {
		SNAP_LIT(b, ",\"truncated\":{\"req\":");
		snap_put_int(b, (int64_t)t->truncated_req);
		SNAP_LIT(b, ",\"res\":");
		snap_put_int(b, (int64_t)t->truncated_res);
		SNAP_LIT(b, "}");
	}
	if (t->gap)
		SNAP_LIT(b, ",\"gap\":true");
	if (t->opaque)
		buf_printf(b, ",\"opaque\":{\"bytes_up\":%" PRIu64
		    ",\"bytes_down\":%" PRIu64 "}", t->opaque_up,
		    t->opaque_down);
}

void
snap_encode(struct buf *b, const struct snap_txn *t)
{
	static const struct {
		const char	*key;	/* the first one opens "timing" */
		size_t		 len;
	} timing[2][3] = {
	    { { ",\"start_us\":", 12 }, { ",\"ttfb_us\":", 11 },
	      { ",\"total_us\":", 12 } },
	    { { ",\"timing\":{\"start_us\":", 22 },
	      { ",\"timing\":{\"ttfb_us\":", 21 },
	      { ",\"timing\":{\"total_us\":", 22 } },
	};
	int64_t			 tv[3];
	int			 i, first;

	/* Most of a line without a body or many headers: one growth. */
	buf_reserve(b, 512);
	SNAP_LIT(b, "{\"v\":");
	snap_put_int(b, SNAP_VERSION);
	SNAP_PUT_STR(b, "id", t->id);
	SNAP_PUT_STR(b, "ts", t->ts);
	if (t->dir == SNAP_DIR_IN)
		SNAP_LIT(b, ",\"dir\":\"in\"");
	else
		SNAP_LIT(b, ",\"dir\":\"out\"");
	SNAP_PUT_STR(b, "svc", t->svc);
	SNAP_PUT_STR(b, "proto", t->proto);
	if (t->tls)
		SNAP_LIT(b, ",\"tls\":true");
	SNAP_PUT_STR(b, "client", t->client);
	SNAP_PUT_STR(b, "server", t->server);

	SNAP_LIT(b, ",\"req\":{\"method\":");
	snap_put_cstr(b, t->req.method);
	SNAP_PUT_STR(b, "target", t->req.target == NULL ? "" : t->req.target);
	SNAP_PUT_STR(b, "host", t->req.host);
	snap_put_headers(b, t->req.headers, t->req.nheaders);
	if (!t->req.grpc || snap_put_grpc(b, t->req.body,
	    t->req.body_len, snap_grpc_type(t, 0)) == -1)
		snap_put_body(b, t->req.body, t->req.body_len);
	snap_put_trailers(b, t->req.trailers, t->req.ntrailers);
	SNAP_LIT(b, "}");

	if (t->has_res) {
		SNAP_LIT(b, ",\"res\":{\"status\":");
		snap_put_int(b, t->res.status);
		SNAP_PUT_STR(b, "reason", t->res.reason);
		snap_put_headers(b, t->res.headers, t->res.nheaders);
		if (!t->res.grpc || snap_put_grpc(b, t->res.body,
		    t->res.body_len, snap_grpc_type(t, 1)) == -1)
			snap_put_body(b, t->res.body, t->res.body_len);
		snap_put_trailers(b, t->res.trailers, t->res.ntrailers);
		SNAP_LIT(b, "}");
	}

	tv[0] = t->start_us;
	tv[1] = t->ttfb_us;
	tv[2] = t->total_us;
	first = 1;
	for (i = 0; i < 3; i++) {
		if (tv[i] < 0)
			continue;
		snap_raw(b, timing[first][i].key, timing[first][i].len);
		snap_put_int(b, tv[i]);
		first = 0;
	}
	if (!first)
		SNAP_LIT(b, "}");

	snap_put_status(b, t);
	if (t->extra != NULL)
		snap_raw(b, t->extra, strlen(t->extra));
	SNAP_LIT(b, "}\n");
	b->data[b->len] = '\0';
}

/* --- reading --- */

struct snap_reader *
snap_reader_open(const char *path, char **cause)
{
	struct snap_reader	*r;
	int			 fd;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	r = xcalloc(1, sizeof *r);
	r->fd = fd;
	r->name = xstrdup(fd == STDIN_FILENO ? "<stdin>" : path);
	return r;
}

/*
 * The next line, NUL-terminated in place of its newline: 1 with *p, *len
 * and *torn (no newline: the end of the file), 0 at the end, -1 with
 * *cause.
 */
static int
snap_reader_line(struct snap_reader *r, char **p, size_t *len, int *torn,
    char **cause)
{
	size_t	 scanned = 0, have;
	char	*nl;
	ssize_t	 n;

	for (;;) {
		have = r->end - r->start;
		nl = have > scanned ? memchr(r->buf + r->start + scanned, '\n',
		    have - scanned) : NULL;
		if (nl != NULL) {
			*nl = '\0';
			*p = r->buf + r->start;
			*len = (size_t)(nl - *p);
			*torn = 0;
			r->start = (size_t)(nl + 1 - r->buf);
			return 1;
		}
		scanned = have;
		if (have > SNAP_LINE_MAX) {
			*cause = xasprintf("%s:%zu:%zu: line longer than "
			    "%zu MiB (not a snapshot?)", r->name,
			    r->lineno + 1, SNAP_LINE_MAX + 1,
			    SNAP_LINE_MAX >> 20);
			return -1;
		}
		if (r->eof) {
			if (have == 0)
				return 0;
			r->buf[r->end] = '\0';
			*p = r->buf + r->start;
			*len = have;
			*torn = 1;
			r->start = r->end;
			return 1;
		}
		/* Keep the partial line, make room, read more. */
		if (r->start > 0) {
			memmove(r->buf, r->buf + r->start, have);
			r->start = 0;
			r->end = have;
		}
		if (r->cap - r->end < SNAP_READ_CHUNK / 2) {
			r->cap = r->cap == 0 ? SNAP_READ_CHUNK : r->cap * 2;
			r->buf = xrealloc(r->buf, r->cap);
		}
		/* One byte stays free for the terminator. */
		n = read(r->fd, r->buf + r->end, r->cap - r->end - 1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			*cause = xasprintf("%s: %s", r->name, strerror(errno));
			return -1;
		}
		if (n == 0)
			r->eof = 1;
		r->end += (size_t)n;
	}
}

static int
snap_is_blank(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	}
	return 1;
}

int
snap_reader_next(struct snap_reader *r, struct snap_txn *t, char **cause)
{
	size_t	 len, col;
	char	*msg, *line;
	int	 torn, rv;

	for (;;) {
		if ((rv = snap_reader_line(r, &line, &len, &torn, cause)) != 1)
			return rv;
		r->lineno++;
		if (snap_is_blank(line, len))
			continue;
		if (snap_decode_at(line, NULL, NULL, len, t, &col,
		    &msg) == -1) {
			/*
			 * A line comes without its newline only at the end
			 * of the file: a last line that does not parse
			 * and lacks the newline every writer ends a line
			 * with is a write cut short by a crash, not a
			 * corrupt file.
			 */
			if (torn) {
				log_warn("%s:%zu: incomplete last line skipped "
				    "(the recording was interrupted?)",
				    r->name, r->lineno);
				free(msg);
				return 0;
			}
			*cause = xasprintf("%s:%zu:%zu: %s", r->name,
			    r->lineno, col, msg);
			free(msg);
			return -1;
		}
		t->line = r->lineno;
		return 1;
	}
}

/* Lists the newlines of data[0..len) in sc (a chunk is < 4 GiB). */
static void
snap_chunk_lines(struct snap_scratch *sc, const char *data, size_t len)
{
	const char	*p, *end = data + len;

	sc->nnl = sc->inl = 0;
	for (p = data; (p = memchr(p, '\n', (size_t)(end - p))) != NULL;
	    p++) {
		if (sc->nnl == sc->capnl) {
			sc->capnl = sc->capnl == 0 ? 4096 : sc->capnl * 2;
			sc->nl = xreallocarray(sc->nl, sc->capnl,
			    sizeof *sc->nl);
		}
		sc->nl[sc->nnl++] = (uint32_t)(p - data);
	}
}

/*
 * The length of fd's first size bytes up to and including the last
 * newline, looked for in the last SNAP_LINE_MAX + 1 bytes (a longer last
 * line is an error the read path reports), or 0.
 */
static size_t
snap_map_end(int fd, off_t size)
{
	char	 blk[65536];
	off_t	 at = size, stop;
	size_t	 n;
	ssize_t	 got;
	char	*nl;

	stop = size > (off_t)SNAP_LINE_MAX + 1 ? size - (off_t)SNAP_LINE_MAX -
	    1 : 0;
	while (at > stop) {
		n = at - stop < (off_t)sizeof blk ? (size_t)(at - stop) :
		    sizeof blk;
		at -= (off_t)n;
		if ((got = pread(fd, blk, n, at)) != (ssize_t)n)
			return 0;
		if ((nl = memrchr(blk, '\n', n)) != NULL)
			return (size_t)at + (size_t)(nl - blk) + 1;
	}
	return 0;
}

/*
 * Maps r's file up to its last newline, once, before anything is read
 * (stdin, pipes and devices are read as before), and moves the
 * descriptor past it for the read path to read the rest.  Not mapping is
 * not an error: the read path then reads it all.
 */
static void
snap_map_open(struct snap_reader *r)
{
	struct stat	 st;
	size_t		 len;
	void		*m;

	if (r->maptried)
		return;
	r->maptried = 1;
	if (r->fd == STDIN_FILENO || r->end > 0 || r->eof ||
	    fstat(r->fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size <= 0 || (uint64_t)st.st_size > SIZE_MAX ||
	    (len = snap_map_end(r->fd, st.st_size)) == 0)
		return;
	m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, r->fd, 0);
	if (m == MAP_FAILED)
		return;
	if (lseek(r->fd, (off_t)len, SEEK_SET) == -1) {
		munmap(m, len);
		return;
	}
	(void)madvise(m, len, MADV_SEQUENTIAL);
	r->map = m;
	r->maplen = len;
	r->mapoff = 0;
}

/* Readies c for a new run of len bytes of lines at data: listed and
 * counted later, on the thread that decodes it (snap_chunk_count()). */
static void
snap_chunk_start(const struct snap_reader *r, struct snap_chunk *c,
    size_t len)
{
	if (c->scratch == NULL)
		c->scratch = xcalloc(1, sizeof *c->scratch);
	c->name = r->name;
	c->len = len;
	c->off = c->first = c->lineno = c->nlines = 0;
	c->listed = c->stop = 0;
	free(c->err);
	c->err = NULL;
}

/* Makes c the chunk that holds only the error of a line longer than
 * SNAP_LINE_MAX, the first line after those before it: the reader ends
 * there. */
static int
snap_chunk_long(struct snap_reader *r, struct snap_chunk *c)
{
	snap_chunk_start(r, c, 0);
	c->listed = 1;
	c->err = xasprintf("%zu: line longer than %zu MiB (not a snapshot?)",
	    SNAP_LINE_MAX + 1, SNAP_LINE_MAX >> 20);
	r->failed = 1;
	return 1;
}

/*
 * snap_reader_chunk() from the mapping (which ends with a newline): the
 * lines that end in its next want bytes, else the one line that starts
 * there, unless that is longer than SNAP_LINE_MAX.  Only the bytes around
 * the cut are read here: the lines are listed by the thread that decodes
 * them, which takes the page faults too.
 */
static int
snap_map_chunk(struct snap_reader *r, size_t want, struct snap_chunk *c)
{
	char		*start = r->map + r->mapoff;
	const char	*nl;
	size_t		 rest = r->maplen - r->mapoff, len, win;

	if (want == 0)
		want = 1;
	if (want > SNAP_LINE_MAX)
		want = SNAP_LINE_MAX;
	if (rest <= want)
		len = rest;
	else if ((nl = memrchr(start, '\n', want)) != NULL)
		len = (size_t)(nl + 1 - start);
	else {
		/* One line: its newline within the bound, or the error. */
		win = rest < SNAP_LINE_MAX + 1 ? rest : SNAP_LINE_MAX + 1;
		if ((nl = memchr(start + want, '\n', win - want)) == NULL)
			return snap_chunk_long(r, c);
		len = (size_t)(nl + 1 - start);
	}
	if (!c->mapped)
		free(c->data);
	c->mapped = 1;
	c->released = 0;
	c->data = start;
	c->cap = 0;
	if (c->outcap < len + JSON_APART_SLACK + 1) {
		free(c->out);
		c->outcap = (len > want ? len : want) + JSON_APART_SLACK + 1;
		c->out = xmalloc(c->outcap);
	}
	snap_chunk_start(r, c, len);
	r->mapoff += len;
	return 1;
}

int
snap_reader_chunk(struct snap_reader *r, size_t want, struct snap_chunk *c,
    char **cause)
{
	size_t	 have, cap, len;
	char	*data, *nl;
	ssize_t	 n;

	if (r->failed)
		return 0;
	snap_map_open(r);
	if (r->map != NULL && r->mapoff < r->maplen)
		return snap_map_chunk(r, want, c);
	if (c->mapped) {
		/* c's bytes were the mapping's: nothing of its own. */
		c->data = NULL;
		c->cap = 0;
		c->mapped = 0;
	}

	/* The partial line left from the last chunk comes first. */
	have = r->end - r->start;
	cap = (have > want ? have : want) + SNAP_READ_CHUNK + 1;
	if (c->data != NULL && c->cap >= cap) {
		data = c->data;
		cap = c->cap;
	} else {
		free(c->data);
		data = xmalloc(cap);
	}
	c->data = NULL;
	c->cap = 0;
	if (have > 0)
		memcpy(data, r->buf + r->start, have);
	r->start = r->end = 0;
	len = have;
	for (;;) {
		while (!r->eof && len < want) {
			if (cap - len - 1 < SNAP_READ_CHUNK / 2) {
				cap *= 2;
				data = xrealloc(data, cap);
			}
			n = read(r->fd, data + len, cap - len - 1);
			if (n == -1) {
				if (errno == EINTR)
					continue;
				*cause = xasprintf("%s: %s", r->name,
				    strerror(errno));
				free(data);
				return -1;
			}
			if (n == 0)
				r->eof = 1;
			len += (size_t)n;
		}
		if (len == 0) {
			free(data);
			return 0;
		}
		if ((nl = memrchr(data, '\n', len)) != NULL || r->eof)
			break;
		/* One line longer than want: read on, within the bound
		 * (no newline in data: the line is the chunk's first). */
		if (len > SNAP_LINE_MAX) {
			free(data);
			return snap_chunk_long(r, c);
		}
		want = len + SNAP_READ_CHUNK;
	}
	if (nl != NULL && (size_t)(nl + 1 - data) < len) {
		/* Keep what follows the last newline for the next chunk. */
		have = len - (size_t)(nl + 1 - data);
		if (r->cap < have + 1) {
			r->cap = have + SNAP_READ_CHUNK;
			r->buf = xrealloc(r->buf, r->cap);
		}
		memcpy(r->buf, nl + 1, have);
		r->end = have;
		len -= have;
	}
	data[len] = '\0';
	c->data = data;
	c->cap = cap;
	snap_chunk_start(r, c, len);
	return 1;
}

/* A mapped chunk's whole pages leave the resident set (the file's pages
 * stay in the page cache); the pages it shares with the chunks around it
 * stay mapped until the reader is closed. */
static void
snap_chunk_release(struct snap_chunk *c)
{
	uintptr_t	from, to, pg;
	long		ps;

	c->released = 1;
	if ((ps = sysconf(_SC_PAGESIZE)) <= 0)
		return;
	pg = (uintptr_t)ps;
	from = ((uintptr_t)c->data + pg - 1) & ~(pg - 1);
	to = ((uintptr_t)c->data + c->len) & ~(pg - 1);
	if (to > from)
		(void)madvise((void *)from, to - from, MADV_DONTNEED);
}

size_t
snap_chunk_count(struct snap_chunk *c)
{
	if (c->scratch == NULL || c->listed)
		return c->nlines;
	snap_chunk_lines(c->scratch, c->data, c->len);
	c->nlines = c->scratch->nnl + (c->len > 0 &&
	    c->data[c->len - 1] != '\n');
	c->listed = 1;
	return c->nlines;
}

int
snap_chunk_next(struct snap_chunk *c, struct snap_txn *t, char **cause)
{
	struct snap_scratch	*sc = c->scratch;
	size_t			 len, col;
	char			*msg, *line, *nl, *here;
	int			 torn;

	/* Only snap_reader_chunk() fills a chunk. */
	if (sc == NULL)
		return 0;
	if (c->err != NULL) {
		*cause = xasprintf("%s:%zu:%s", c->name, c->first + 1, c->err);
		return -1;
	}
	(void)snap_chunk_count(c);
	while (!c->stop && c->off < c->len) {
		line = c->data + c->off;
		/* A mapped chunk is read only: its strings are decoded at
		 * the same offsets in c->out. */
		here = c->mapped ? c->out + c->off : line;
		nl = sc->inl < sc->nnl ? c->data + sc->nl[sc->inl++] : NULL;
		if (nl != NULL) {
			if (!c->mapped)
				*nl = '\0';
			len = (size_t)(nl - line);
			c->off += len + 1;
			torn = 0;
		} else {
			len = c->len - c->off;
			c->off = c->len;
			torn = 1;
		}
		c->lineno++;
		if (snap_is_blank(line, len))
			continue;
		if (snap_decode_at(line, here, sc, len, t, &col,
		    &msg) == -1) {
			/* As in snap_reader_next(): a torn last line. */
			if (torn) {
				log_warn("%s:%zu: incomplete last line skipped "
				    "(the recording was interrupted?)",
				    c->name, c->first + c->lineno);
				free(msg);
				c->stop = 1;
				return 0;
			}
			*cause = xasprintf("%s:%zu:%zu: %s", c->name,
			    c->first + c->lineno, col, msg);
			free(msg);
			return -1;
		}
		t->line = c->first + c->lineno;
		return 1;
	}
	if (c->mapped && !c->released)
		snap_chunk_release(c);
	return 0;
}

void
snap_chunk_free(struct snap_chunk *c)
{
	if (!c->mapped)
		free(c->data);
	c->data = NULL;
	c->cap = 0;
	c->mapped = 0;
	free(c->out);
	c->out = NULL;
	c->outcap = 0;
	free(c->err);
	c->err = NULL;
	if (c->scratch != NULL) {
		free(c->scratch->nl);
		free(c->scratch->hdr);
		buf_free(&c->scratch->extra);
		buf_free(&c->scratch->grpc[0]);
		buf_free(&c->scratch->grpc[1]);
		free(c->scratch);
		c->scratch = NULL;
	}
}

size_t
snap_reader_left(struct snap_reader *r)
{
	snap_map_open(r);
	return r->map != NULL && !r->failed ? r->maplen - r->mapoff : 0;
}

void
snap_reader_close(struct snap_reader *r)
{
	if (r == NULL)
		return;
	if (r->fd != STDIN_FILENO)
		close(r->fd);
	if (r->map != NULL)
		munmap(r->map, r->maplen);
	free(r->buf);
	free(r->name);
	free(r);
}

/* --- writing --- */

/* Largest last line snap_out_open() reads to see whether it parses; a
 * longer one without its newline is taken as torn. */
#define SNAP_TAIL_MAX	((off_t)1 << 30)

/*
 * Where the last line of fd (size bytes, not ending with a newline)
 * starts: just past the last newline, or 0.  -1 with errno.
 */
static off_t
snap_out_last_line(int fd, off_t size)
{
	char	 chunk[65536];
	off_t	 end = size, from;
	ssize_t	 n;
	char	*nl;

	while (end > 0) {
		from = end > (off_t)sizeof chunk ? end - (off_t)sizeof chunk : 0;
		if ((n = pread(fd, chunk, (size_t)(end - from), from)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n != end - from) {
			errno = EIO;
			return -1;
		}
		if ((nl = memrchr(chunk, '\n', (size_t)n)) != NULL)
			return from + (nl - chunk) + 1;
		end = from;
	}
	return 0;
}

/* 1 if fd[from..size) is one snapshot line that parses. */
static int
snap_out_tail_parses(int fd, off_t from, off_t size)
{
	struct snap_txn	 t;
	size_t		 len = (size_t)(size - from), off = 0;
	ssize_t		 n;
	char		*line, *msg = NULL;
	int		 ok;

	if (size - from > SNAP_TAIL_MAX)
		return 0;
	line = xmalloc(len + 1);
	while (off < len) {
		if ((n = pread(fd, line + off, len - off,
		    from + (off_t)off)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			free(line);
			return 0;
		}
		off += (size_t)n;
	}
	line[len] = '\0';
	ok = snap_decode_line(line, len, &t, &msg) == 0;
	if (ok)
		snap_txn_free(&t);
	free(msg);
	free(line);
	return ok;
}

/*
 * --append onto a file whose last line lacks its newline: a line that
 * parses gets one, a torn one is cut away.  0, or -1 with *cause.
 */
static int
snap_out_mend(struct snap_out *o, off_t size, char **cause)
{
	off_t	from;

	if ((from = snap_out_last_line(o->fd, size)) == -1) {
		*cause = xasprintf("%s: reading its last line: %s", o->name,
		    strerror(errno));
		return -1;
	}
	if (snap_out_tail_parses(o->fd, from, size)) {
		if (write(o->fd, "\n", 1) != 1) {
			*cause = xasprintf("%s: ending its last line: %s",
			    o->name, errno != 0 ? strerror(errno) :
			    "short write");
			return -1;
		}
		log_warn("%s: the last line had no newline; added one before "
		    "appending", o->name);
		return 0;
	}
	if (ftruncate(o->fd, from) == -1) {
		*cause = xasprintf("%s: cannot cut its torn last line (bytes "
		    "%lld-%lld): %s", o->name, (long long)from,
		    (long long)size - 1, strerror(errno));
		return -1;
	}
	log_warn("%s: dropped %lld bytes of a torn last line (bytes "
	    "%lld-%lld: a recording interrupted, or a full disk?) before "
	    "appending", o->name, (long long)(size - from), (long long)from,
	    (long long)size - 1);
	return 0;
}

int
snap_out_open(struct snap_out *o, const char *path, int append,
    char **cause)
{
	struct stat	st;
	ssize_t		n;
	char		last;
	int		flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;
	int		readable = 0;

	memset(o, 0, sizeof *o);
	if (strcmp(path, "-") == 0) {
		/* Anything already buffered on stdout goes first. */
		fflush(stdout);
		o->fd = STDOUT_FILENO;
		o->name = xstrdup("<stdout>");
	} else {
		/* Appending reads the last line first. */
		if (append && (o->fd = open(path, O_RDWR | O_CREAT | O_APPEND |
		    O_CLOEXEC, 0600)) != -1)
			readable = 1;
		else if ((o->fd = open(path, flags | (append ? 0 : O_TRUNC),
		    0600)) == -1) {
			*cause = xasprintf("%s: %s", path, strerror(errno));
			return -1;
		}
		o->owned = 1;
		o->name = xstrdup(path);
	}
	if (fstat(o->fd, &st) == -1) {
		*cause = xasprintf("%s: %s", o->name, strerror(errno));
		goto fail;
	}
	o->regular = S_ISREG(st.st_mode);
	if (!o->regular)
		return 0;
	/* Created 0600 (the umask only takes bits away): wider means the
	 * file was there before, and decoy does not change its mode. */
	if (o->owned && (st.st_mode & 077) != 0)
		log_warn("%s: mode %04o lets %s read the recorded headers, "
		    "cookies and bodies; chmod 600 %s", o->name,
		    (unsigned int)(st.st_mode & 07777), (st.st_mode & 007) ?
		    "every user" : "the file's group", o->name);
	if (append && st.st_size > 0 && !readable)
		log_warn("%s: cannot read it, so its last line is not checked "
		    "before appending", o->name);
	else if (append && st.st_size > 0) {
		while ((n = pread(o->fd, &last, 1, st.st_size - 1)) == -1 &&
		    errno == EINTR)
			;
		if (n != 1) {
			*cause = xasprintf("%s: reading its last byte: %s",
			    o->name, n == -1 ? strerror(errno) : "short read");
			goto fail;
		}
		if (last != '\n' && snap_out_mend(o, st.st_size, cause) == -1)
			goto fail;
	}
	return 0;

fail:
	if (o->owned)
		close(o->fd);
	free(o->name);
	memset(o, 0, sizeof *o);
	o->fd = -1;
	return -1;
}

/* Cuts the last torn bytes off o's file; 0, or -1 with errno. */
static int
snap_out_cut(struct snap_out *o, size_t torn)
{
	struct stat	st;

	if (!o->regular) {
		errno = ESPIPE;
		return -1;
	}
	if (fstat(o->fd, &st) == -1)
		return -1;
	if ((uintmax_t)st.st_size < torn) {
		errno = EIO;
		return -1;
	}
	return ftruncate(o->fd, st.st_size - (off_t)torn);
}

size_t
snap_out_write(struct snap_out *o, const char *buf, size_t len, int *err)
{
	size_t	off = 0, keep;
	ssize_t	n;
	int	tries = 0;

	*err = 0;
	if (o->torn) {
		/* A line an earlier failure could not cut: the next one
		 * starts on a fresh line rather than glued to it. */
		if ((n = write(o->fd, "\n", 1)) != 1) {
			*err = n == -1 ? errno : EIO;
			return 0;
		}
		o->torn = 0;
	}
	while (off < len) {
		n = write(o->fd, buf + off, len - off);
		if (n == -1) {
			/* EAGAIN: stdout may be a non-blocking pipe. */
			if ((errno == EINTR || errno == EAGAIN) &&
			    ++tries < 1000)
				continue;
			*err = errno;
			break;
		}
		if (n == 0) {
			*err = EIO;
			break;
		}
		off += (size_t)n;
	}
	if (*err == 0)
		return len;
	keep = off;
	while (keep > 0 && buf[keep - 1] != '\n')
		keep--;
	if (keep < off && snap_out_cut(o, off - keep) == -1) {
		log_error("%s: cannot cut the %zu bytes of a line left torn by "
		    "a failed write (%s); the next line starts on a fresh one",
		    o->name, off - keep, strerror(errno));
		o->torn = 1;
	}
	return keep;
}

int
snap_out_close(struct snap_out *o, char **cause)
{
	int	rc = 0;

	if (o->owned && o->fd != -1 && close(o->fd) == -1) {
		if (cause != NULL)
			*cause = xasprintf("%s: %s", o->name, strerror(errno));
		rc = -1;
	}
	free(o->name);
	memset(o, 0, sizeof *o);
	o->fd = -1;
	return rc;
}

struct snap_writer *
snap_writer_open(const char *path, int append, char **cause)
{
	struct snap_writer	*w;

	w = xcalloc(1, sizeof *w);
	if (snap_out_open(&w->o, path, append, cause) == -1) {
		free(w);
		return NULL;
	}
	buf_init(&w->out);
	return w;
}

int
snap_writer_write(struct snap_writer *w, const struct snap_txn *t,
    char **cause)
{
	int	err;

	buf_reset(&w->out);
	snap_encode(&w->out, t);
	if (snap_out_write(&w->o, w->out.data, w->out.len, &err) !=
	    w->out.len) {
		*cause = xasprintf("%s: %s", w->o.name, strerror(err));
		return -1;
	}
	return 0;
}

int
snap_writer_close(struct snap_writer *w, char **cause)
{
	int	rc;

	if (w == NULL)
		return 0;
	rc = snap_out_close(&w->o, cause);
	buf_free(&w->out);
	free(w);
	return rc;
}

void
snap_txn_session(struct buf *out, const struct snap_txn *t, struct buf *doc)
{
	struct json_parser	p, tp;
	struct json_value	key;
	size_t			mark = out->len;
	int			r;

	if (t->extra != NULL && strstr(t->extra, "\"session\"") != NULL) {
		buf_reset(doc);
		buf_append_byte(doc, '{');
		buf_append_str(doc, t->extra + 1);	/* skip its ',' */
		buf_append_byte(doc, '}');
		json_init(&p, doc->data, doc->len);
		if (json_object_enter(&p) == 0) {
			while ((r = json_object_next(&p, &key)) == 1) {
				if (!json_string_eq(&key, "tags") ||
				    json_peek(&p) != JSON_OBJECT) {
					if (json_skip(&p, NULL) == -1)
						break;
					continue;
				}
				tp = p;
				if (json_object_enter(&tp) == -1)
					break;
				while (json_object_next(&tp, &key) == 1) {
					if (json_string_eq(&key, "session") &&
					    json_peek(&tp) == JSON_STRING) {
						if (json_read_string(&tp, out,
						    NULL) == -1)
							out->len = mark;
						break;
					}
					if (json_skip(&tp, NULL) == -1)
						break;
				}
				break;
			}
		}
		if (out->len > mark)
			return;
		out->len = mark;
		if (out->data != NULL)
			out->data[mark] = '\0';
	}
	if (t->client != NULL)
		buf_append_str(out, t->client);
}
