/*
 * protobuf.c -- the protobuf wire format without a .proto file: a field
 * reader, the lossless JSON view of a message and its encoder (the view's
 * format is in protobuf.h).
 */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "json.h"
#include "protobuf.h"
#include "xmalloc.h"

size_t
pb_varint(const uint8_t *p, size_t n, uint64_t *v, int *shortest)
{
	uint64_t	x = 0;
	size_t		i;

	for (i = 0; i < n && i < 10; i++) {
		if (i == 9 && p[i] > 1)
			return 0;	/* past 64 bits, or an 11th byte */
		x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
		if ((p[i] & 0x80) == 0) {
			if (i > 0 && p[i] == 0 && shortest != NULL)
				*shortest = 0;
			*v = x;
			return i + 1;
		}
	}
	return 0;
}

void
pb_put_varint(struct buf *b, uint64_t v)
{
	uint8_t	tmp[10];
	size_t	n = 0;

	while (v >= 0x80) {
		tmp[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (uint8_t)v;
	buf_append(b, tmp, n);
}

void
pb_put_key(struct buf *b, uint32_t num, enum pb_wire w)
{
	pb_put_varint(b, (uint64_t)num << 3 | (uint64_t)w);
}

void
pb_reader_init(struct pb_reader *r, const void *buf, size_t len)
{
	memset(r, 0, sizeof *r);
	r->buf = buf;
	r->len = len;
	r->canonical = 1;
}

static int
pb_fail(struct pb_reader *r, size_t off, const char *why)
{
	if (r->error == NULL) {
		r->error = why;
		r->error_off = off;
	}
	return -1;
}

static uint64_t
pb_le(const uint8_t *p, size_t n)
{
	uint64_t	v = 0;

	while (n-- > 0)
		v = v << 8 | p[n];
	return v;
}

/* Reads a key at r->off: its number and wire type, checked; the bytes it
 * took, or 0 with the error recorded. */
static size_t
pb_read_key(struct pb_reader *r, uint32_t *num, unsigned *wire)
{
	uint64_t	key;
	size_t		used;

	used = pb_varint(r->buf + r->off, r->len - r->off, &key,
	    &r->canonical);
	if (used == 0) {
		pb_fail(r, r->off, "field key cut short or over 64 bits");
		return 0;
	}
	if ((key >> 3) == 0 || (key >> 3) > PB_MAX_FIELD) {
		pb_fail(r, r->off, "field number out of range (1 to 536870911)");
		return 0;
	}
	*num = (uint32_t)(key >> 3);
	*wire = (unsigned)(key & 7);
	return used;
}

/*
 * The body of the group whose start key f was just read: its fields up to
 * the matching end key, which r->off is left past.  Nested groups are
 * followed with a stack of their numbers.
 */
static int
pb_read_group(struct pb_reader *r, struct pb_field *f)
{
	uint32_t	 open[PB_GROUP_DEPTH], num;
	unsigned	 wire;
	size_t		 depth = 0, body = r->off, at, used;
	struct pb_field	 g;

	open[depth++] = f->num;
	for (;;) {
		if ((at = r->off) >= r->len)
			return pb_fail(r, f->off, "group not closed");
		if ((used = pb_read_key(r, &num, &wire)) == 0)
			return -1;
		if (wire == PB_EGROUP) {
			if (num != open[depth - 1])
				return pb_fail(r, at,
				    "end-group does not match its start");
			r->off += used;
			if (--depth == 0)
				break;
		} else if (wire == PB_SGROUP) {
			if (depth == PB_GROUP_DEPTH)
				return pb_fail(r, at, "groups nested too deep");
			open[depth++] = num;
			r->off += used;
		} else if (pb_read_field(r, &g) == -1)
			return -1;
	}
	f->p = r->buf + body;
	f->len = at - body;
	return 1;
}

int
pb_read_field(struct pb_reader *r, struct pb_field *f)
{
	uint64_t	n;
	uint32_t	num;
	unsigned	wire;
	size_t		used;

	if (r->error != NULL)
		return -1;
	if (r->off >= r->len)
		return 0;
	memset(f, 0, sizeof *f);
	f->off = r->off;
	if ((used = pb_read_key(r, &num, &wire)) == 0)
		return -1;
	f->num = num;
	f->wire = (enum pb_wire)wire;
	r->off += used;
	switch (wire) {
	case PB_VARINT:
		used = pb_varint(r->buf + r->off, r->len - r->off, &f->u,
		    &r->canonical);
		if (used == 0)
			return pb_fail(r, f->off,
			    "varint cut short or over 64 bits");
		r->off += used;
		return 1;
	case PB_I64:
	case PB_I32:
		used = wire == PB_I64 ? 8 : 4;
		if (r->len - r->off < used)
			return pb_fail(r, f->off, "fixed-size value cut short");
		f->u = pb_le(r->buf + r->off, used);
		r->off += used;
		return 1;
	case PB_LEN:
		used = pb_varint(r->buf + r->off, r->len - r->off, &n,
		    &r->canonical);
		if (used == 0)
			return pb_fail(r, f->off, "length cut short");
		r->off += used;
		if (n > r->len - r->off)
			return pb_fail(r, f->off,
			    "length past the end of the message");
		f->p = r->buf + r->off;
		f->len = (size_t)n;
		r->off += (size_t)n;
		return 1;
	case PB_SGROUP:
		return pb_read_group(r, f);
	case PB_EGROUP:
		return pb_fail(r, f->off, "end-group without its start");
	default:
		return pb_fail(r, f->off, "wire type 6 or 7 (not protobuf)");
	}
}

/* --- the view --------------------------------------------------------- */

int
pb_is_text(const uint8_t *p, size_t len, int printable)
{
	size_t	i = 0, n;

	while (i < len) {
		if (p[i] < 0x80) {
			if (printable && (p[i] < 0x20 || p[i] == 0x7f))
				return 0;
			i++;
			continue;
		}
		if ((n = json_utf8_seq(p + i, len - i)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

static void
pb_view_fixed(struct buf *out, uint64_t u, int is64)
{
	double		d;
	float		f;
	uint32_t	w = (uint32_t)u;

	if (is64) {
		memcpy(&d, &u, sizeof d);
		buf_printf(out, "{\"i64\":%" PRIu64, u);
		if (isfinite(d))
			buf_printf(out, ",\"double\":%.17g", d);
	} else {
		memcpy(&f, &w, sizeof f);
		buf_printf(out, "{\"i32\":%" PRIu32, w);
		if (isfinite(f))
			buf_printf(out, ",\"float\":%.9g", (double)f);
	}
	buf_append_byte(out, '}');
}

static int	pb_view_msg(struct buf *, const uint8_t *, size_t, int);

static void
pb_view_len(struct buf *out, const uint8_t *p, size_t len, int depth)
{
	if (pb_is_text(p, len, 1)) {
		json_append_string(out, (const char *)p, len);
		return;
	}
	if (depth < PB_VIEW_DEPTH && pb_view_msg(out, p, len, depth + 1) == 0)
		return;
	if (pb_is_text(p, len, 0)) {
		json_append_string(out, (const char *)p, len);
		return;
	}
	buf_append_str(out, "{\"bytes\":\"");
	base64_encode(out, p, len);
	buf_append_str(out, "\"}");
}

/* The value of field f (not its number) at nesting depth: 0, or -1
 * with part of it appended (a group whose view is not exact). */
static int
pb_view_value(struct buf *out, const struct pb_field *f, int depth)
{
	int	rc = 0;

	switch (f->wire) {
	case PB_VARINT:
		buf_printf(out, "%" PRIu64, f->u);
		break;
	case PB_I64:
	case PB_I32:
		pb_view_fixed(out, f->u, f->wire == PB_I64);
		break;
	case PB_LEN:
		pb_view_len(out, f->p, f->len, depth);
		break;
	default:	/* a group */
		buf_append_str(out, "{\"group\":");
		if (depth >= PB_VIEW_DEPTH ||
		    pb_view_msg(out, f->p, f->len, depth + 1) == -1)
			rc = -1;
		buf_append_byte(out, '}');
		break;
	}
	return rc;
}

/* Appends the view of p[0..len) at nesting depth, or appends nothing and
 * returns -1 when it would not encode back to the same bytes. */
static int
pb_view_msg(struct buf *out, const uint8_t *p, size_t len, int depth)
{
	struct pb_reader	r;
	struct pb_field		f;
	size_t			mark = out->len;
	int			rc;

	pb_reader_init(&r, p, len);
	buf_append_byte(out, '[');
	while ((rc = pb_read_field(&r, &f)) == 1) {
		if (out->len > mark + 1)
			buf_append_byte(out, ',');
		buf_printf(out, "[%" PRIu32 ",", f.num);
		if (pb_view_value(out, &f, depth) == -1)
			rc = -1;
		buf_append_byte(out, ']');
		if (rc == -1)
			break;
	}
	if (rc == -1 || !r.canonical) {
		out->len = mark;
		if (out->data != NULL)
			out->data[mark] = '\0';
		return -1;
	}
	buf_append_byte(out, ']');
	return 0;
}

int
pb_view_field_value(struct buf *out, const struct pb_field *f, int depth)
{
	size_t	mark = out->len;

	if (depth < 1 || depth > PB_VIEW_DEPTH ||
	    pb_view_value(out, f, depth) == -1) {
		out->len = mark;
		if (out->data != NULL)
			out->data[mark] = '\0';
		return -1;
	}
	return 0;
}

int
pb_view(struct buf *out, const void *msg, size_t len)
{
	return pb_view_msg(out, msg, len, 1);
}

/* --- the encoder ------------------------------------------------------ */

/*
 * Reads an integer: *u gets it, negative ones as two's complement (64
 * bits); *neg says which.  Beyond uint64 (or below int64) is an error.
 */
static int
pb_enc_int(struct json_parser *jp, uint64_t *u, int *neg, const char *what)
{
	struct json_value	v;
	const char		*s;
	uint64_t		x = 0;
	size_t			i = 0;

	if (json_skip(jp, &v) == -1)
		return -1;
	if (v.type != JSON_NUMBER)
		return json_fail(jp, v.off, "%s must be an integer", what);
	s = v.p;
	*neg = s[0] == '-';
	i = *neg ? 1 : 0;
	for (; i < v.len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return json_fail(jp, v.off, "%s must be an integer",
			    what);
		if (x > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return json_fail(jp, v.off, "%s out of range", what);
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	if (*neg && x > (uint64_t)INT64_MAX + 1)
		return json_fail(jp, v.off, "%s out of range", what);
	*u = *neg ? ~x + 1 : x;
	return 0;
}

/* Reads a number as a double and as a float (the view's "double" and
 * "float"; each rounded once from the text). */
static int
pb_enc_real(struct json_parser *jp, double *d, float *f)
{
	struct json_value	v;
	char			*s;

	if (json_skip(jp, &v) == -1)
		return -1;
	if (v.type != JSON_NUMBER)
		return json_fail(jp, v.off, "a floating-point value must be "
		    "a number");
	s = xstrndup(v.p, v.len);
	*d = strtod(s, NULL);
	*f = strtof(s, NULL);
	free(s);
	if (isinf(*d))
		return json_fail(jp, v.off, "out of range for a double");
	return 0;
}

static int	pb_enc_msg(struct json_parser *, struct buf *);

/* The members of a fixed-size value's object: the integer and the real
 * number; when both are given, they must agree. */
struct pb_fixed {
	int		 have_int, have_real;
	uint64_t	 u;
	double		 d;
	float		 f;
};

static int
pb_enc_fixed(struct json_parser *jp, struct buf *out, uint32_t num,
    const struct pb_fixed *x, int is64, size_t off)
{
	uint64_t	bits;
	uint32_t	w;
	float		f;
	uint8_t		le[8];
	size_t		i, n = is64 ? 8 : 4;

	if (is64) {
		memcpy(&bits, &x->d, sizeof bits);
	} else {
		f = x->f;
		if (x->have_real && isinf(f))
			return json_fail(jp, off, "out of range for a float");
		memcpy(&w, &f, sizeof w);
		bits = w;
	}
	if (x->have_int && x->have_real && bits != x->u)
		return json_fail(jp, off, is64 ? "\"i64\" and \"double\" "
		    "disagree: edit one, drop the other" : "\"i32\" and "
		    "\"float\" disagree: edit one, drop the other");
	if (x->have_int)
		bits = x->u;
	pb_put_key(out, num, is64 ? PB_I64 : PB_I32);
	for (i = 0; i < n; i++)
		le[i] = (uint8_t)(bits >> (8 * i));
	buf_append(out, le, n);
	return 0;
}

enum pb_obj { PB_OBJ_NONE, PB_OBJ_BYTES, PB_OBJ_I64, PB_OBJ_I32,
    PB_OBJ_GROUP };

/* One member of a value's object into x (or sub: the bytes, or the
 * group's encoded body); *kind is set, and must not change. */
static int
pb_enc_member(struct json_parser *jp, const struct json_value *k,
    enum pb_obj *kind, struct pb_fixed *x, struct buf *sub)
{
	static const struct {
		const char	*name;
		enum pb_obj	 kind;
		int		 real;
	} names[] = {
		{ "bytes", PB_OBJ_BYTES, 0 }, { "group", PB_OBJ_GROUP, 0 },
		{ "i64", PB_OBJ_I64, 0 }, { "double", PB_OBJ_I64, 1 },
		{ "i32", PB_OBJ_I32, 0 }, { "float", PB_OBJ_I32, 1 },
	};
	struct buf	 s;
	size_t		 i, bad;
	int		 neg, rc;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (json_string_eq(k, names[i].name))
			break;
	if (i == sizeof names / sizeof names[0])
		return json_fail(jp, k->off, "unknown member: a value's "
		    "object holds bytes, group, i64/double or i32/float");
	if ((*kind != PB_OBJ_NONE && *kind != names[i].kind) ||
	    (names[i].real ? x->have_real : x->have_int) ||
	    (*kind == names[i].kind && (*kind == PB_OBJ_BYTES ||
	    *kind == PB_OBJ_GROUP)))
		return json_fail(jp, k->off, "a value's object holds one "
		    "of bytes, group, i64/double or i32/float");
	*kind = names[i].kind;
	switch (*kind) {
	case PB_OBJ_BYTES:
		buf_init(&s);
		if ((rc = json_read_string(jp, &s, &bad)) == 0 &&
		    base64_decode(sub, s.data != NULL ? s.data : "", s.len,
		    &i) == -1)
			rc = json_fail(jp, bad + 1 + i, "bad base64");
		buf_free(&s);
		return rc;
	case PB_OBJ_GROUP:
		return pb_enc_msg(jp, sub);
	default:
		if (names[i].real) {
			x->have_real = 1;
			return pb_enc_real(jp, &x->d, &x->f);
		}
		x->have_int = 1;
		if (pb_enc_int(jp, &x->u, &neg, names[i].name) == -1)
			return -1;
		if (*kind == PB_OBJ_I32 && (neg ? x->u < 0xffffffff80000000u :
		    x->u > UINT32_MAX))
			return json_fail(jp, k->off, "\"i32\" out of range");
		if (*kind == PB_OBJ_I32)
			x->u &= 0xffffffffu;
		return 0;
	}
}

static int
pb_enc_object(struct json_parser *jp, struct buf *out, uint32_t num)
{
	struct json_value	 k;
	struct pb_fixed		 x;
	struct buf		 sub;
	enum pb_obj		 kind = PB_OBJ_NONE;
	size_t			 off = jp->off;
	int			 rc;

	memset(&x, 0, sizeof x);
	buf_init(&sub);
	if (json_object_enter(jp) == -1)
		return -1;
	while ((rc = json_object_next(jp, &k)) == 1)
		if (pb_enc_member(jp, &k, &kind, &x, &sub) == -1) {
			rc = -1;
			break;
		}
	if (rc == 0 && kind == PB_OBJ_NONE)
		rc = json_fail(jp, off, "an empty object is no value");
	if (rc == 0) {
		switch (kind) {
		case PB_OBJ_BYTES:
			pb_put_key(out, num, PB_LEN);
			pb_put_varint(out, sub.len);
			buf_append(out, sub.data, sub.len);
			break;
		case PB_OBJ_GROUP:
			pb_put_key(out, num, PB_SGROUP);
			buf_append(out, sub.data, sub.len);
			pb_put_key(out, num, PB_EGROUP);
			break;
		default:
			rc = pb_enc_fixed(jp, out, num, &x,
			    kind == PB_OBJ_I64, off);
			break;
		}
	}
	buf_free(&sub);
	return rc;
}

/* The value of a field numbered num at the parser's cursor. */
static int
pb_enc_value(struct json_parser *jp, struct buf *out, uint32_t num)
{
	struct buf	sub;
	uint64_t	u;
	int		neg, rc = 0;

	buf_init(&sub);
	switch (json_peek(jp)) {
	case JSON_NUMBER:
		if ((rc = pb_enc_int(jp, &u, &neg, "a varint")) == 0) {
			pb_put_key(out, num, PB_VARINT);
			pb_put_varint(out, u);
		}
		break;
	case JSON_STRING:
	case JSON_ARRAY:
		if (json_peek(jp) == JSON_STRING)
			rc = json_read_string(jp, &sub, NULL);
		else
			rc = pb_enc_msg(jp, &sub);
		if (rc == 0) {
			pb_put_key(out, num, PB_LEN);
			pb_put_varint(out, sub.len);
			buf_append(out, sub.data, sub.len);
		}
		break;
	case JSON_OBJECT:
		rc = pb_enc_object(jp, out, num);
		break;
	default:
		rc = json_fail(jp, jp->off, "a field's value must be a "
		    "number, a string, an array or an object");
		break;
	}
	buf_free(&sub);
	return rc;
}

/* One [number, value] pair. */
static int
pb_enc_field(struct json_parser *jp, struct buf *out)
{
	uint64_t	num;
	size_t		off;
	int		neg, rc;

	if (json_peek(jp) != JSON_ARRAY)
		return json_fail(jp, jp->off, "a field must be [number, value]");
	off = jp->off;
	if (json_array_enter(jp) == -1 || json_array_next(jp) != 1)
		return json_fail(jp, off, "a field must be [number, value]");
	if (pb_enc_int(jp, &num, &neg, "a field number") == -1)
		return -1;
	if (neg || num == 0 || num > PB_MAX_FIELD)
		return json_fail(jp, off, "field number out of range "
		    "(1 to 536870911)");
	if (json_array_next(jp) != 1)
		return json_fail(jp, off, "a field must be [number, value]");
	rc = pb_enc_value(jp, out, (uint32_t)num);
	if (rc == 0 && json_array_next(jp) != 0)
		rc = json_fail(jp, off, "a field has two members: "
		    "[number, value]");
	return rc;
}

static int
pb_enc_msg(struct json_parser *jp, struct buf *out)
{
	int	rc;

	if (json_peek(jp) != JSON_ARRAY)
		return json_fail(jp, jp->off, "a message must be an array "
		    "of [number, value] fields");
	if (json_array_enter(jp) == -1)
		return -1;
	while ((rc = json_array_next(jp)) == 1)
		if (pb_enc_field(jp, out) == -1)
			return -1;
	return rc;
}

int
pb_encode_view(struct json_parser *jp, struct buf *out)
{
	return pb_enc_msg(jp, out);
}

int
pb_encode_view_value(struct json_parser *jp, uint32_t num, struct buf *out)
{
	return pb_enc_value(jp, out, num);
}

int
pb_encode_view_text(const char *json, size_t len, struct buf *out,
    char **cause)
{
	struct json_parser	jp;

	json_init(&jp, json, len);
	if (pb_enc_msg(&jp, out) == -1 || json_finish(&jp) == -1) {
		*cause = xasprintf("byte %zu: %s", jp.error_off,
		    jp.error != NULL ? jp.error : "not a message view");
		return -1;
	}
	return 0;
}
