/*
 * transform-grpc.c -- the req.grpc / res.grpc locations of the
 * transforms file (transform.h): their field paths, the locator that
 * finds a field's value in a gRPC call's length-prefixed protobuf
 * messages, and the renderer that writes new values back.
 *
 * Protobuf has no text form to splice into: a new value of another
 * length changes the length of every message that encloses it and the
 * gRPC prefix of its message.  The renderer therefore walks the body
 * again and rebuilds only the messages on the way to an edit (a field
 * with its new value, each enclosing message with its new length); every
 * other field is copied as recorded, so an edit-free render is the
 * recorded body byte for byte.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "grpc.h"
#include "protobuf.h"
#include "transform.h"
#include "xmalloc.h"

#define TGRPC_MAX_INDEX	1000000L

/* Parses "[N]" or "[*]" at *pp into *index; -1 when it is not one. */
static int
tgrpc_index(const char **pp, long *index)
{
	const char	*p = *pp;
	char		*end;
	long		 v;

	if (p[0] != '[')
		return -1;
	if (p[1] == '*' && p[2] == ']') {
		*index = TRANSFORM_GRPC_EVERY;
		*pp = p + 3;
		return 0;
	}
	if (!isdigit((unsigned char)p[1]))
		return -1;
	errno = 0;
	v = strtol(p + 1, &end, 10);
	if (errno != 0 || *end != ']' || v > TGRPC_MAX_INDEX)
		return -1;
	*index = v;
	*pp = end + 1;
	return 0;
}

/* One FIELD at *pp into seg; -1 with *cause. */
static int
tgrpc_field(const char *s, const char **pp, struct transform_grpc_seg *seg,
    char **cause)
{
	const char	*p = *pp, *start = p;
	char		*end;
	unsigned long	 v;

	memset(seg, 0, sizeof *seg);
	seg->index = TRANSFORM_GRPC_FIRST;
	if (isdigit((unsigned char)*p)) {
		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno != 0 || v == 0 || v > PB_MAX_FIELD || *p == '0') {
			*cause = xasprintf("gRPC path \"%s\": field number out "
			    "of range (1 to %u) at byte %zu", s, PB_MAX_FIELD,
			    (size_t)(start - s));
			return -1;
		}
		seg->num = (uint32_t)v;
		p = end;
	} else if (isalpha((unsigned char)*p) || *p == '_') {
		while (isalnum((unsigned char)*p) || *p == '_')
			p++;
		seg->name = start;
		seg->name_len = (size_t)(p - start);
	} else {
		*cause = xasprintf("gRPC path \"%s\": expected a field number "
		    "at byte %zu", s, (size_t)(p - s));
		return -1;
	}
	if (*p == '[' && tgrpc_index(&p, &seg->index) == -1) {
		*cause = xasprintf("gRPC path \"%s\": expected [N] or [*] at "
		    "byte %zu", s, (size_t)(p - s));
		return -1;
	}
	*pp = p;
	return 0;
}

int
transform_grpc_path_parse(const char *s, struct transform_grpc_path *gp,
    char **cause)
{
	const char	*p = s;

	memset(gp, 0, sizeof *gp);
	gp->msg = TRANSFORM_GRPC_EVERY;
	if (*p == '[') {
		if (tgrpc_index(&p, &gp->msg) == -1) {
			*cause = xasprintf("gRPC path \"%s\": expected a "
			    "message index [N] or [*] at byte 0", s);
			return -1;
		}
		if (*p == '.')
			p++;
	}
	for (;;) {
		if (gp->nseg == TRANSFORM_GRPC_DEPTH) {
			*cause = xasprintf("gRPC path \"%s\": more than %d "
			    "fields", s, TRANSFORM_GRPC_DEPTH);
			return -1;
		}
		if (tgrpc_field(s, &p, &gp->seg[gp->nseg], cause) == -1)
			return -1;
		gp->nseg++;
		if (*p == '\0')
			return 0;
		if (*p != '.') {
			*cause = xasprintf("gRPC path \"%s\": expected . or "
			    "the end at byte %zu", s, (size_t)(p - s));
			return -1;
		}
		p++;
	}
}

static void
tgrpc_index_format(struct buf *b, long index)
{
	if (index == TRANSFORM_GRPC_EVERY)
		buf_append_str(b, "[*]");
	else if (index >= 0)
		buf_printf(b, "[%ld]", index);
}

void
transform_grpc_path_format(struct buf *b, const struct transform_grpc_path *gp)
{
	size_t	i;

	if (gp->msg != TRANSFORM_GRPC_EVERY) {
		tgrpc_index_format(b, gp->msg);
		buf_append_byte(b, '.');
	}
	for (i = 0; i < gp->nseg; i++) {
		if (i > 0)
			buf_append_byte(b, '.');
		if (gp->seg[i].name != NULL)
			buf_append(b, gp->seg[i].name, gp->seg[i].name_len);
		else
			buf_printf(b, "%" PRIu32, gp->seg[i].num);
		tgrpc_index_format(b, gp->seg[i].index);
	}
}

/* --- the locator ------------------------------------------------------ */

/* Where field f's value sits in its message: [*off, *off + *len). */
static enum transform_enc
tgrpc_value_span(const uint8_t *msg, const struct pb_field *f, size_t end,
    size_t *off, size_t *len)
{
	uint64_t	key;
	size_t		klen = pb_varint(msg + f->off, end - f->off, &key, NULL);

	switch (f->wire) {
	case PB_LEN:
		*off = (size_t)(f->p - msg);
		*len = f->len;
		return TRANSFORM_ENC_PB_BYTES;
	case PB_VARINT:
		*off = f->off + klen;
		*len = end - *off;
		return TRANSFORM_ENC_PB_VARINT;
	case PB_I64:
		*off = f->off + klen;
		*len = 8;
		return TRANSFORM_ENC_PB_I64;
	case PB_I32:
		*off = f->off + klen;
		*len = 4;
		return TRANSFORM_ENC_PB_I32;
	default:
		*off = *len = 0;
		return TRANSFORM_ENC_RAW;
	}
}

static size_t
tgrpc_push(struct transform_hit *hits, size_t n, size_t max, size_t off,
    size_t len, enum transform_enc enc)
{
	if (n < max) {
		hits[n].in = TRANSFORM_IN_BODY;
		hits[n].header = 0;
		hits[n].off = off;
		hits[n].len = len;
		hits[n].enc = enc;
	}
	return n + 1;
}

/* Walks message msg[0..len) (at body offset base) along segs. */
static size_t
tgrpc_walk(const uint8_t *msg, size_t len, size_t base,
    const struct transform_grpc_seg *segs, size_t nseg,
    struct transform_hit *hits, size_t n, size_t max)
{
	struct pb_reader	 r;
	struct pb_field		 f;
	enum transform_enc	 enc;
	size_t			 off, vlen;
	long			 occ = 0;

	if (segs->num == 0)
		return n;	/* a name no descriptor resolved */
	pb_reader_init(&r, msg, len);
	while (pb_read_field(&r, &f) == 1) {
		if (f.num != segs->num)
			continue;
		if (segs->index == TRANSFORM_GRPC_FIRST ? occ > 0 :
		    segs->index != TRANSFORM_GRPC_EVERY && occ != segs->index) {
			occ++;
			continue;
		}
		occ++;
		if (nseg > 1) {
			if (f.wire == PB_LEN)
				n = tgrpc_walk(f.p, f.len, base + (size_t)(f.p -
				    msg), segs + 1, nseg - 1, hits, n, max);
		} else if ((enc = tgrpc_value_span(msg, &f, r.off, &off,
		    &vlen)) != TRANSFORM_ENC_RAW)
			n = tgrpc_push(hits, n, max, base + off, vlen, enc);
		if (segs->index == TRANSFORM_GRPC_FIRST ||
		    segs->index == occ - 1)
			break;
	}
	return n;
}

size_t
transform_grpc_locate(const struct transform_grpc_path *gp, struct span body,
    struct transform_hit *hits, size_t max)
{
	const uint8_t	*b = (const uint8_t *)body.p;
	struct grpc_msg	 m;
	const char	*why;
	size_t		 off = 0, n = 0;
	long		 i = 0;

	if (gp->nseg == 0)
		return 0;
	while (grpc_next_msg(b, body.len, &off, &m, &why) == 1) {
		if (!m.compressed && (gp->msg == TRANSFORM_GRPC_EVERY ||
		    gp->msg == i))
			n = tgrpc_walk(m.p, m.len, m.off + GRPC_PREFIX_LEN,
			    gp->seg, gp->nseg, hits, n, max);
		if (gp->msg == i++)
			break;
	}
	return n < max ? n : max;
}

/* Pushes every length-delimited field of msg (at body offset base). */
static size_t
tgrpc_strings(const uint8_t *msg, size_t len, size_t base,
    struct transform_hit *hits, size_t n, size_t max, int depth)
{
	struct pb_reader	r;
	struct pb_field		f;

	pb_reader_init(&r, msg, len);
	while (n < max && pb_read_field(&r, &f) == 1) {
		if (f.wire != PB_LEN)
			continue;
		n = tgrpc_push(hits, n, max, base + (size_t)(f.p - msg), f.len,
		    TRANSFORM_ENC_PB_BYTES);
		if (depth < TRANSFORM_GRPC_DEPTH)
			n = tgrpc_strings(f.p, f.len, base + (size_t)(f.p - msg),
			    hits, n, max, depth + 1);
	}
	return n;
}

size_t
transform_grpc_strings(struct span body, struct transform_hit *hits,
    size_t max)
{
	const uint8_t	*b = (const uint8_t *)body.p;
	struct grpc_msg	 m;
	const char	*why;
	size_t		 off = 0, n = 0;

	while (n < max && grpc_next_msg(b, body.len, &off, &m, &why) == 1)
		if (!m.compressed)
			n = tgrpc_strings(m.p, m.len, m.off + GRPC_PREFIX_LEN,
			    hits, n, max, 0);
	return n < max ? n : max;
}

void
transform_grpc_number(struct buf *b, enum transform_enc enc, struct span raw)
{
	const uint8_t	*p = (const uint8_t *)raw.p;
	uint64_t	 v = 0;
	size_t		 i;

	switch (enc) {
	case TRANSFORM_ENC_PB_VARINT:
		if (pb_varint(p, raw.len, &v, NULL) == 0)
			return;
		break;
	case TRANSFORM_ENC_PB_I64:
	case TRANSFORM_ENC_PB_I32:
		for (i = raw.len; i > 0; i--)
			v = v << 8 | p[i - 1];
		break;
	default:
		buf_append_span(b, raw);
		return;
	}
	buf_append_u64(b, v);
}

/* --- the renderer ----------------------------------------------------- */

/*
 * v[0..len) as an unsigned 64-bit number: decimal digits, or a minus
 * sign and digits of an int64 (two's complement, as int64 fields are
 * sent).  -1 when it is not one.
 */
static int
tgrpc_parse_number(const char *v, size_t len, uint64_t *out)
{
	char		 tmp[24];
	char		*end;
	size_t		 i = 0;

	if (len == 0 || len >= sizeof tmp)
		return -1;
	if (v[0] == '-')
		i = 1;
	if (i == len)
		return -1;
	for (; i < len; i++)
		if (!isdigit((unsigned char)v[i]))
			return -1;
	memcpy(tmp, v, len);
	tmp[len] = '\0';
	errno = 0;
	if (v[0] == '-') {
		long long s = strtoll(tmp, &end, 10);

		if (errno != 0)
			return -1;
		*out = (uint64_t)s;
	} else {
		unsigned long long u = strtoull(tmp, &end, 10);

		if (errno != 0)
			return -1;
		*out = (uint64_t)u;
	}
	return 0;
}

static void
tgrpc_put_le(struct buf *b, uint64_t v, size_t n)
{
	while (n-- > 0) {
		buf_append_byte(b, (char)(uint8_t)v);
		v >>= 8;
	}
}

/* Appends field num with the new value of edit ed. */
static void
tgrpc_put_field(struct buf *b, uint32_t num, const struct transform_edit *ed)
{
	uint64_t	v;
	int		number;

	number = tgrpc_parse_number(ed->val, ed->len, &v) == 0;
	if (ed->hit.enc == TRANSFORM_ENC_PB_VARINT && number) {
		pb_put_key(b, num, PB_VARINT);
		pb_put_varint(b, v);
	} else if (ed->hit.enc == TRANSFORM_ENC_PB_I64 && number) {
		pb_put_key(b, num, PB_I64);
		tgrpc_put_le(b, v, 8);
	} else if (ed->hit.enc == TRANSFORM_ENC_PB_I32 && number &&
	    (v <= UINT32_MAX || (int64_t)v >= INT32_MIN)) {
		pb_put_key(b, num, PB_I32);
		tgrpc_put_le(b, v, 4);
	} else {
		pb_put_key(b, num, PB_LEN);
		pb_put_varint(b, ed->len);
		buf_append(b, ed->val, ed->len);
	}
}

/* The edit at exactly [off, off + len) of the body, or NULL. */
static const struct transform_edit *
tgrpc_edit_at(const struct transform_edit *ev, size_t n, size_t off,
    size_t len)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (ev[i].hit.in == TRANSFORM_IN_BODY &&
		    TRANSFORM_ENC_IS_PB(ev[i].hit.enc) && ev[i].hit.off == off &&
		    ev[i].hit.len == len)
			return &ev[i];
	return NULL;
}

/* 1 when an edit falls inside [off, off + len) of the body. */
static int
tgrpc_edit_within(const struct transform_edit *ev, size_t n, size_t off,
    size_t len)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (ev[i].hit.in == TRANSFORM_IN_BODY &&
		    TRANSFORM_ENC_IS_PB(ev[i].hit.enc) && ev[i].hit.off >= off &&
		    ev[i].hit.off + ev[i].hit.len <= off + len)
			return 1;
	return 0;
}

/*
 * Appends message msg[0..len) (at body offset base) with the edits that
 * fall in it applied; returns 1 when one applied, -1 (out unchanged in
 * length terms: the caller drops what was appended) when the bytes do
 * not read as a message.
 */
static int
tgrpc_rewrite(struct buf *out, const uint8_t *msg, size_t len, size_t base,
    const struct transform_edit *ev, size_t n, int depth)
{
	const struct transform_edit	*ed;
	struct pb_reader		 r;
	struct pb_field			 f;
	struct buf			 sub;
	size_t				 voff, vlen, mark;
	int				 rc, any = 0, subany;

	pb_reader_init(&r, msg, len);
	while ((rc = pb_read_field(&r, &f)) == 1) {
		if (tgrpc_value_span(msg, &f, r.off, &voff, &vlen) !=
		    TRANSFORM_ENC_RAW && (ed = tgrpc_edit_at(ev, n,
		    base + voff, vlen)) != NULL) {
			tgrpc_put_field(out, f.num, ed);
			any = 1;
			continue;
		}
		if (f.wire == PB_LEN && depth < TRANSFORM_GRPC_DEPTH &&
		    tgrpc_edit_within(ev, n, base + voff, vlen)) {
			buf_init(&sub);
			subany = tgrpc_rewrite(&sub, f.p, f.len, base + voff,
			    ev, n, depth + 1);
			if (subany == 1) {
				pb_put_key(out, f.num, PB_LEN);
				pb_put_varint(out, sub.len);
				buf_append(out, sub.data, sub.len);
				buf_free(&sub);
				any = 1;
				continue;
			}
			buf_free(&sub);
		}
		buf_append(out, msg + f.off, r.off - f.off);
	}
	if (rc == -1) {
		/* Not a message after all: the rest as it is. */
		mark = f.off < len ? f.off : len;
		buf_append(out, msg + mark, len - mark);
		return any ? 1 : -1;
	}
	return any;
}

int
transform_grpc_render(struct buf *out, struct span body,
    const struct transform_edit *ev, size_t n)
{
	const uint8_t	*b = (const uint8_t *)body.p;
	struct grpc_msg	 m;
	struct buf	 msg;
	const char	*why;
	size_t		 off = 0, at = 0;
	int		 any = 0;

	buf_init(&msg);
	while (grpc_next_msg(b, body.len, &off, &m, &why) == 1) {
		if (!m.compressed && tgrpc_edit_within(ev, n, m.off +
		    GRPC_PREFIX_LEN, m.len)) {
			buf_reset(&msg);
			if (tgrpc_rewrite(&msg, m.p, m.len, m.off +
			    GRPC_PREFIX_LEN, ev, n, 0) == 1) {
				grpc_put_msg(out, 0, msg.data != NULL ?
				    msg.data : "", msg.len);
				any = 1;
				at = off;
				continue;
			}
		}
		buf_append(out, body.p + m.off, off - m.off);
		at = off;
	}
	/* What does not frame, as recorded. */
	buf_append(out, body.p + at, body.len - at);
	buf_free(&msg);
	return any;
}
