/*
 * mutate-pb.c -- the mutation engine's protobuf operators (mutate-pb.h):
 * a gRPC body read into a flat list of fields, and structural mutations
 * of one field spliced back with every enclosing length fixed (or lied
 * about, when that is the operator's point).  Pure: no I/O, no state
 * beyond the parsed body; every choice comes from the caller's stream.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fault.h"
#include "grpc.h"
#include "mutate.h"
#include "mutate-pb.h"
#include "protobuf.h"
#include "xmalloc.h"

#define PB_MAX_FIELDS	4096	/* fields listed; the rest are bytes */

/* One field; offsets are into the body. */
struct mut_pbf {
	uint32_t	key;	/* its key */
	uint32_t	lenoff;	/* PB_LEN: its length varint */
	uint32_t	val;	/* its value */
	uint32_t	end;	/* past it */
	uint32_t	num;
	uint32_t	msg;	/* the gRPC message it is in */
	int32_t		parent;	/* the enclosing field, or -1 */
	uint16_t	depth;	/* 1: a message's own */
	uint8_t		wire;
	uint8_t		nested;	/* PB_LEN guessed a message */
	uint8_t		text;	/* PB_LEN printable UTF-8 */
	uint64_t	u;	/* varint, i32, i64 value */
};

struct mut_pbmsg {
	uint32_t	off;	/* its prefix */
	uint32_t	start;	/* its bytes */
	uint32_t	end;
};

struct mut_pb {
	const uint8_t		*body;
	size_t			 len;
	struct mut_pbmsg	*msgs;
	size_t			 nmsgs;
	struct mut_pbf		*f;
	size_t			 nf;
};

static inline uint32_t
pb_below(struct fault_rng *r, uint32_t n)
{
	return (uint32_t)(((fault_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* --- reading ------------------------------------------------------------ */

/*
 * Lists the fields of the message at body[start..end) under parent: 0
 * when it reads whole as a message (or the list is full), else -1 (a
 * nested guess is then undone by the caller).  A length-delimited value
 * that is not printable text and reads as a message is listed as one.
 */
static int
pb_scan(struct mut_pb *pb, size_t start, size_t end, int32_t parent,
    unsigned depth, uint32_t msg)
{
	struct pb_reader	r;
	struct pb_field		f;
	struct mut_pbf		*x;
	size_t			 i, klen, mark;
	uint64_t		 k;
	int			 rc;

	pb_reader_init(&r, pb->body + start, end - start);
	while ((rc = pb_read_field(&r, &f)) == 1) {
		if (pb->nf == PB_MAX_FIELDS)
			return 0;
		pb->f = xreallocarray(pb->f, pb->nf + 1, sizeof *pb->f);
		i = pb->nf++;
		x = &pb->f[i];
		memset(x, 0, sizeof *x);
		x->key = (uint32_t)(start + f.off);
		x->end = (uint32_t)(start + r.off);
		x->num = f.num;
		x->wire = (uint8_t)f.wire;
		x->u = f.u;
		x->msg = msg;
		x->parent = parent;
		x->depth = (uint16_t)depth;
		klen = pb_varint(pb->body + x->key, x->end - x->key, &k, NULL);
		x->lenoff = x->key + (uint32_t)klen;
		x->val = x->lenoff;
		if (f.wire == PB_LEN || f.wire == PB_SGROUP)
			x->val = (uint32_t)(f.p - pb->body);
		if (f.wire != PB_LEN)
			continue;
		x->text = (uint8_t)pb_is_text(f.p, f.len, 1);
		if (x->text || f.len == 0 || depth >= PB_VIEW_DEPTH)
			continue;
		mark = pb->nf;
		if (pb_scan(pb, x->val, x->val + f.len, (int32_t)i, depth + 1,
		    msg) == 0)
			pb->f[i].nested = 1;
		else
			pb->nf = mark;
	}
	return rc == 0 ? 0 : -1;
}

struct mut_pb *
mut_pb_parse(const char *body, size_t len)
{
	struct mut_pb	*pb;
	struct grpc_msg	 m;
	const char	*why;
	size_t		 off = 0;
	int		 rc;

	if (len == 0 || len > UINT32_MAX / 2)
		return NULL;
	pb = xcalloc(1, sizeof *pb);
	pb->body = (const uint8_t *)body;
	pb->len = len;
	while ((rc = grpc_next_msg(pb->body, len, &off, &m, &why)) == 1) {
		if (m.compressed)
			break;
		pb->msgs = xreallocarray(pb->msgs, pb->nmsgs + 1,
		    sizeof *pb->msgs);
		pb->msgs[pb->nmsgs++] = (struct mut_pbmsg){ (uint32_t)m.off,
		    (uint32_t)(m.p - pb->body), (uint32_t)(m.p - pb->body +
		    m.len) };
	}
	for (off = 0; rc == 0 && off < pb->nmsgs; off++)
		if (pb_scan(pb, pb->msgs[off].start, pb->msgs[off].end, -1, 1,
		    (uint32_t)off) == -1)
			rc = -1;
	if (rc != 0 || pb->nmsgs == 0) {
		mut_pb_free(pb);
		return NULL;
	}
	return pb;
}

void
mut_pb_free(struct mut_pb *pb)
{
	if (pb != NULL) {
		free(pb->msgs);
		free(pb->f);
	}
	free(pb);
}

size_t
mut_pb_fields(const struct mut_pb *pb)
{
	return pb != NULL ? pb->nf : 0;
}

int
mut_pb_field_info(const struct mut_pb *pb, size_t i, uint32_t *num,
    unsigned *wire, unsigned *depth, int *nested)
{
	if (pb == NULL || i >= pb->nf)
		return -1;
	*num = pb->f[i].num;
	*wire = pb->f[i].wire;
	*depth = pb->f[i].depth;
	*nested = pb->f[i].nested;
	return 0;
}

int
mut_pb_is_op(unsigned op)
{
	return op >= MUT_OP_PB_VARINT && op <= MUT_OP_GRPC_FRAME;
}

int
mut_pb_op_takes_field(unsigned op)
{
	return mut_pb_is_op(op) && op != MUT_OP_PB_DEEP &&
	    op != MUT_OP_GRPC_FRAME;
}

/* --- writing ------------------------------------------------------------ */

/* How an enclosing length lies (pb_splice): none, +v, -v, or v. */
enum { LIE_NONE, LIE_MORE, LIE_LESS, LIE_ABS };

struct pb_lie {
	int32_t		field;	/* the field whose length lies, or -1 */
	int		how;
	uint64_t	v;
};

static uint64_t
pb_lie_len(const struct pb_lie *lie, uint64_t n)
{
	switch (lie->how) {
	case LIE_MORE:
		return n + lie->v;
	case LIE_LESS:
		return n > lie->v ? n - lie->v : 0;
	case LIE_ABS:
		return lie->v;
	default:
		return n;
	}
}

static void
pb_put(struct buf *b, const void *p, size_t n)
{
	if (n > 0)
		buf_append(b, p, n);
}

/* v's low n bytes, little-endian (protobuf's fixed32/fixed64). */
static void
pb_put_le(struct buf *b, uint64_t v, unsigned n)
{
	unsigned	i;

	for (i = 0; i < n; i++)
		buf_append_byte(b, (char)(v >> (8 * i)));
}

static void
pb_key(struct buf *b, uint32_t num, unsigned wire)
{
	pb_put_varint(b, ((uint64_t)num << 3) | (wire & 7));
}

/* A gRPC length prefix. */
static void
pb_put_prefix(struct buf *b, unsigned flag, uint64_t len)
{
	uint8_t	pre[GRPC_PREFIX_LEN];

	pre[0] = (uint8_t)flag;
	pre[1] = (uint8_t)(len >> 24);
	pre[2] = (uint8_t)(len >> 16);
	pre[3] = (uint8_t)(len >> 8);
	pre[4] = (uint8_t)len;
	pb_put(b, pre, sizeof pre);
}

/*
 * Appends to out the body with bytes [a, b) of the value of field parent
 * (of message msg when parent is -1) replaced by rep[0..n), each
 * enclosing length and the gRPC prefix rewritten to the new sizes, but
 * lie's field's length as lie says.
 */
static void
pb_splice(const struct mut_pb *pb, int32_t parent, uint32_t msg, size_t a,
    size_t b, const void *rep, size_t n, const struct pb_lie *lie,
    struct buf *out)
{
	const struct mut_pbmsg	*m = &pb->msgs[msg];
	struct buf		 cur, nxt;
	size_t			 inner, mlen;

	buf_init(&cur);
	pb_put(&cur, rep, n);
	while (parent >= 0) {
		const struct mut_pbf *p = &pb->f[parent];

		inner = (a - p->val) + cur.len + (p->end - b);
		buf_init(&nxt);
		buf_reserve(&nxt, inner + 16);
		pb_put(&nxt, pb->body + p->key, p->lenoff - p->key);
		pb_put_varint(&nxt, lie->field == parent ?
		    pb_lie_len(lie, inner) : inner);
		pb_put(&nxt, pb->body + p->val, a - p->val);
		pb_put(&nxt, cur.data, cur.len);
		pb_put(&nxt, pb->body + b, p->end - b);
		buf_free(&cur);
		cur = nxt;
		a = p->key;
		b = p->end;
		parent = p->parent;
	}
	mlen = (a - m->start) + cur.len + (m->end - b);
	pb_put(out, pb->body, m->off);
	pb_put_prefix(out, pb->body[m->off], mlen);
	pb_put(out, pb->body + m->start, a - m->start);
	pb_put(out, cur.data, cur.len);
	pb_put(out, pb->body + b, pb->len - b);
	buf_free(&cur);
}

/* Field f replaced by rep[0..n), lengths fixed. */
static void
pb_replace(const struct mut_pb *pb, int32_t f, const void *rep, size_t n,
    struct buf *out)
{
	const struct mut_pbf	*x = &pb->f[f];
	struct pb_lie		 none = { -1, LIE_NONE, 0 };

	pb_splice(pb, x->parent, x->msg, x->key, x->end, rep, n, &none, out);
}

/* Bytes [a, b) of parent's value (msg's own when -1) replaced. */
static void
pb_replace_range(const struct mut_pb *pb, int32_t parent, uint32_t msg,
    size_t a, size_t b, const void *rep, size_t n, struct buf *out)
{
	struct pb_lie	none = { -1, LIE_NONE, 0 };

	pb_splice(pb, parent, msg, a, b, rep, n, &none, out);
}

/* Field f replaced by a length-delimited field of its number whose
 * value is val (freed). */
static void
pb_replace_len(const struct mut_pb *pb, int32_t f, struct buf *val,
    struct buf *out)
{
	struct buf	rep;

	buf_init(&rep);
	pb_key(&rep, pb->f[f].num, PB_LEN);
	pb_put_varint(&rep, val->len);
	pb_put(&rep, val->data, val->len);
	pb_replace(pb, f, rep.data, rep.len, out);
	buf_free(&rep);
	buf_free(val);
}

/* A field of the preferred kind 3 times in 4 when there is one. */
static int32_t
pb_pick(const struct mut_pb *pb, struct fault_rng *r, int want)
{
	uint32_t	cand[64];
	size_t		i, n = 0;

	if (want >= 0 && pb_below(r, 4) != 0) {
		for (i = 0; i < pb->nf && n < 64; i++) {
			const struct mut_pbf *x = &pb->f[i];

			if ((want == 0 && x->wire == PB_VARINT) ||
			    (want == 1 && x->wire == PB_LEN && !x->nested) ||
			    (want == 2 && x->wire == PB_LEN))
				cand[n++] = (uint32_t)i;
		}
		if (n > 0)
			return (int32_t)cand[pb_below(r, (uint32_t)n)];
	}
	return (int32_t)pb_below(r, (uint32_t)pb->nf);
}

static const uint64_t pb_boundaries[] = {
	0, 1, 127, 128, 255, 256, 16383, 16384, 32767, 32768, 65535, 65536,
	2147483647ull, 2147483648ull, 4294967295ull, 4294967296ull,
	9007199254740993ull, 9223372036854775807ull, 9223372036854775808ull,
	18446744073709551615ull,		/* -1 as ten bytes */
	18446744071562067968ull,		/* INT32_MIN as ten bytes */
	18446744071562067967ull,		/* INT32_MIN - 1 */
	4294967294ull, 4294967295ull,		/* zigzag INT32_MAX, MIN */
	18446744073709551614ull,		/* zigzag INT64_MAX */
	3, 2,					/* zigzag -2, 1 */
};

static size_t
pb_varint_len(uint64_t v)
{
	size_t	n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* An encoding of v padded to width bytes (overlong: the same value;
 * width at least pb_varint_len(v)). */
static void
pb_put_overlong(struct buf *b, uint64_t v, unsigned width)
{
	unsigned	i;

	for (i = 0; i + 1 < width; i++) {
		buf_append_byte(b, (char)((v & 0x7f) | 0x80));
		v >>= 7;
	}
	buf_append_byte(b, (char)(v & 0x7f));
}

static int
op_varint(const struct mut_pb *pb, int32_t f, struct fault_rng *r,
    struct buf *out)
{
	const struct mut_pbf	*x = &pb->f[f];
	struct buf		 rep;
	uint64_t		 v = x->wire == PB_VARINT ? x->u : 0;
	unsigned		 i;

	buf_init(&rep);
	pb_key(&rep, x->num, PB_VARINT);
	switch (pb_below(r, 8)) {
	case 0:		/* the recorded value negated: int32/int64 */
		pb_put_varint(&rep, (uint64_t)0 - (v != 0 ? v : 1));
		break;
	case 1:		/* off by one */
		pb_put_varint(&rep, pb_below(r, 2) ? v + 1 : v - 1);
		break;
	case 2:		/* overlong, or past 64 bits (invalid) */
		if (pb_below(r, 3) == 0) {
			for (i = 0; i < 10; i++)
				buf_append_byte(&rep, (char)0xff);
			buf_append_byte(&rep, 0x01);
		} else {
			i = 2 + pb_below(r, 9);
			pb_put_overlong(&rep, v, i > pb_varint_len(v) ? i :
			    (unsigned)pb_varint_len(v));
		}
		break;
	default:
		pb_put_varint(&rep, pb_boundaries[pb_below(r,
		    sizeof pb_boundaries / sizeof pb_boundaries[0])]);
		break;
	}
	pb_replace(pb, f, rep.data, rep.len, out);
	buf_free(&rep);
	return 0;
}

static int
op_wire(const struct mut_pb *pb, int32_t f, struct fault_rng *r,
    struct buf *out)
{
	static const uint8_t	 wires[] = { 0, 1, 2, 5, 3, 4, 6, 7 };
	const struct mut_pbf	*x = &pb->f[f];
	const uint8_t		*v = pb->body + x->val;
	size_t			 vlen = x->end - x->val;
	struct buf		 rep;
	unsigned		 w;
	uint8_t			 fixed[8];

	do
		w = wires[pb_below(r, pb_below(r, 4) ? 4 : 8)];
	while (w == x->wire);
	buf_init(&rep);
	pb_key(&rep, x->num, w);
	memset(fixed, 0, sizeof fixed);
	memcpy(fixed, v, vlen < 8 ? vlen : 8);
	switch (w) {
	case PB_VARINT:
		pb_put_varint(&rep, x->wire == PB_LEN ? x->end - x->val :
		    x->u);
		break;
	case PB_I64:
		pb_put(&rep, fixed, 8);
		break;
	case PB_I32:
		pb_put(&rep, fixed, 4);
		break;
	case PB_LEN:	/* the old value's bytes as its payload */
		pb_put_varint(&rep, vlen);
		pb_put(&rep, v, vlen);
		break;
	case PB_SGROUP:	/* a group: unclosed half the time */
		pb_put(&rep, v, vlen);
		if (pb_below(r, 2))
			pb_key(&rep, x->num, PB_EGROUP);
		break;
	default:	/* an end-group alone, 6, 7: the old bytes after */
		pb_put(&rep, v, vlen);
		break;
	}
	pb_replace(pb, f, rep.data, rep.len, out);
	buf_free(&rep);
	return 0;
}

static int
op_dup(const struct mut_pb *pb, int32_t f, struct fault_rng *r, size_t max,
    struct buf *out)
{
	const struct mut_pbf	*x = &pb->f[f];
	size_t			 flen = x->end - x->key, n, i;
	struct buf		 rep;

	buf_init(&rep);
	pb_put(&rep, pb->body + x->key, flen);
	switch (pb_below(r, 3)) {
	case 0:		/* twice: last wins */
		pb_put(&rep, pb->body + x->key, flen);
		break;
	case 1:		/* again with another value */
		pb_key(&rep, x->num, x->wire == PB_LEN ? PB_LEN : x->wire);
		if (x->wire == PB_VARINT)
			pb_put_varint(&rep, pb_boundaries[pb_below(r,
			    sizeof pb_boundaries / sizeof pb_boundaries[0])]);
		else if (x->wire == PB_LEN)
			pb_put_varint(&rep, 0);
		else
			pb_put(&rep, pb->body + x->lenoff, x->end - x->lenoff);
		break;
	default:	/* n times: a repeated field's counts */
		n = mut_ladder_size(r, 2, 512, 1024, 100000);
		if (n * flen > max)
			n = max / (flen > 0 ? flen : 1);
		for (i = 1; i < n; i++)
			pb_put(&rep, pb->body + x->key, flen);
		break;
	}
	pb_replace(pb, f, rep.data, rep.len, out);
	buf_free(&rep);
	return 0;
}

/* A field number the field's message does not use, or an edge. */
static uint32_t
pb_unused_num(const struct mut_pb *pb, int32_t f, struct fault_rng *r)
{
	uint32_t	hi = 0;
	size_t		i;

	switch (pb_below(r, 6)) {
	case 0:
		return 19000 + pb_below(r, 1000);	/* reserved */
	case 1:
		return PB_MAX_FIELD;
	case 2:
		return 1000;
	case 3:
		return pb_below(r, 8) == 0 ? 0 : 1 + pb_below(r, 15);
	default:
		for (i = 0; i < pb->nf; i++)
			if (f < 0 || pb->f[i].parent == pb->f[f].parent)
				hi = pb->f[i].num > hi ? pb->f[i].num : hi;
		return hi < PB_MAX_FIELD ? hi + 1 : 1;
	}
}

static int
op_unknown(const struct mut_pb *pb, int32_t f, struct fault_rng *r,
    struct buf *out)
{
	struct pb_lie	 none = { -1, LIE_NONE, 0 };
	struct buf	 rep;
	uint32_t	 num = pb_unused_num(pb, f, r);
	uint64_t	 v = fault_rng_next(r);
	int32_t		 parent = f >= 0 ? pb->f[f].parent : -1;
	uint32_t	 msg = f >= 0 ? pb->f[f].msg : 0;
	size_t		 at = f >= 0 ? pb->f[f].end : pb->msgs[0].end;

	buf_init(&rep);
	switch (pb_below(r, 4)) {
	case 0:
		pb_key(&rep, num, PB_VARINT);
		pb_put_varint(&rep, v >> pb_below(r, 64));
		break;
	case 1:
		pb_key(&rep, num, PB_LEN);
		pb_put_varint(&rep, 5);
		pb_put(&rep, "decoy", 5);
		break;
	case 2:
		pb_key(&rep, num, PB_I32);
		pb_put_le(&rep, v, 4);
		break;
	default:
		pb_key(&rep, num, PB_I64);
		pb_put_le(&rep, v, 8);
		break;
	}
	pb_splice(pb, parent, msg, at, at, rep.data, rep.len, &none, out);
	buf_free(&rep);
	return 0;
}

static int
op_packed(const struct mut_pb *pb, int32_t f, struct fault_rng *r,
    size_t max, struct buf *out)
{
	const struct mut_pbf	*x = &pb->f[f];
	struct buf		 run;
	uint64_t		 v = x->wire == PB_VARINT ? x->u : 1;
	size_t			 n, i;
	unsigned		 variant = pb_below(r, 4);

	buf_init(&run);
	n = variant == 0 ? 0 : mut_ladder_size(r, 2, 512, 1024, 1u << 20);
	if (n > max / 10)
		n = max / 10;
	for (i = 0; i < n; i++) {
		if (variant == 3)
			pb_put_le(&run, v, 4);
		else
			pb_put_varint(&run, v);
	}
	if (variant == 2)	/* cut inside its last varint */
		buf_append_byte(&run, (char)0x80);
	else if (variant == 3)	/* fixed32 with a length not 4n */
		buf_append_byte(&run, 0x01);
	pb_replace_len(pb, f, &run, out);
	return 0;
}

static int
op_length(const struct mut_pb *pb, int32_t f, struct fault_rng *r,
    struct buf *out)
{
	static const uint64_t	 huge[] = { 4294967295ull, 4294967296ull,
	    2147483648ull, 9223372036854775807ull, 18446744073709551615ull };
	const struct mut_pbf	*x = &pb->f[f];
	struct pb_lie		 lie = { -1, LIE_MORE, 1 };
	int32_t			 g = f;

	/* A nested length: the field's own, or an enclosing one's. */
	while (g >= 0 && (pb->f[g].wire != PB_LEN || pb_below(r, 3) == 0))
		g = pb->f[g].parent;
	if (g < 0) {
		/* No length to lie about: the field made one that lies. */
		struct buf	rep;

		buf_init(&rep);
		pb_key(&rep, x->num, PB_LEN);
		pb_put_varint(&rep, x->end - x->val + 1 + pb_below(r, 64));
		pb_put(&rep, pb->body + x->val, x->end - x->val);
		pb_replace(pb, f, rep.data, rep.len, out);
		buf_free(&rep);
		return 0;
	}
	lie.field = g;
	switch (pb_below(r, 6)) {
	case 0:
		break;
	case 1:
		lie.how = LIE_LESS;
		break;
	case 2:
		lie.how = pb_below(r, 2) ? LIE_MORE : LIE_LESS;
		lie.v = mut_ladder_size(r, 2, 512, 1024, 1u << 20);
		break;
	case 3:
		lie.how = LIE_ABS;
		lie.v = 0;
		break;
	default:
		lie.how = LIE_ABS;
		lie.v = huge[pb_below(r, sizeof huge / sizeof huge[0])];
		break;
	}
	/* The lying field rewritten in place: its bytes as they were. */
	x = &pb->f[g];
	{
		struct buf	rep;

		buf_init(&rep);
		pb_put(&rep, pb->body + x->key, x->lenoff - x->key);
		pb_put_varint(&rep, pb_lie_len(&lie, x->end - x->val));
		pb_put(&rep, pb->body + x->val, x->end - x->val);
		pb_replace(pb, g, rep.data, rep.len, out);
		buf_free(&rep);
	}
	return 0;
}

static const char *const pb_bad_utf8[] = {
	"\xff", "\xfe", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
	"\xed\xbf\xbf", "\xe2\x82", "\xf4\x90\x80\x80", "\x80", "\xf8\x88\x80"
	"\x80\x80", "\xc3",
};

static int
op_utf8(const struct mut_pb *pb, int32_t f, struct fault_rng *r,
    size_t max, struct buf *out)
{
	const struct mut_pbf	*x = &pb->f[f];
	const char		*bad = pb_bad_utf8[pb_below(r, sizeof
				    pb_bad_utf8 / sizeof pb_bad_utf8[0])];
	struct buf		 val;
	size_t			 n, vlen = x->wire == PB_LEN ? x->end - x->val :
				    0, blen = strlen(bad);

	buf_init(&val);
	switch (pb_below(r, 5)) {
	case 0:		/* at the start */
		pb_put(&val, bad, blen);
		pb_put(&val, pb->body + x->val, vlen);
		break;
	case 1:		/* a NUL inside */
		pb_put(&val, pb->body + x->val, vlen / 2);
		buf_append_byte(&val, '\0');
		pb_put(&val, pb->body + x->val + vlen / 2, vlen - vlen / 2);
		break;
	case 2:		/* a long string ending in it */
		n = mut_ladder_size(r, 16, 512, 1024, 256 * 1024);
		if (n > max)
			n = max;
		while (val.len < n)
			buf_append_byte(&val, 'a');
		pb_put(&val, bad, blen);
		break;
	default:	/* at the end */
		pb_put(&val, pb->body + x->val, vlen);
		pb_put(&val, bad, blen);
		break;
	}
	pb_replace_len(pb, f, &val, out);
	return 0;
}

/*
 * Wraps a field (a nested one half the time when there is one, as a
 * message of itself) or the whole message in n levels of field 1 (or the
 * field's own number): every length exact.  The lengths are summed from
 * the inside out first, so the bytes are written once.
 */
static int
op_deep(const struct mut_pb *pb, struct fault_rng *r, size_t max,
    struct buf *out)
{
	struct buf	 rep;
	uint64_t	*lens;
	int32_t		 f = -1;
	uint32_t	 num = 1, msg = 0;
	size_t		 n, i, a, b, klen;

	if (pb->nf > 0 && pb_below(r, 4) != 0) {
		f = pb_pick(pb, r, 2);
		num = pb->f[f].num;
		msg = pb->f[f].msg;
		a = pb->f[f].key;
		b = pb->f[f].end;
	} else {
		msg = pb_below(r, (uint32_t)pb->nmsgs);
		a = pb->msgs[msg].start;
		b = pb->msgs[msg].end;
	}
	n = mut_ladder_size(r, 2, 512, 1000, 100000);
	if (n * 8 > max)
		n = max / 8;
	klen = pb_varint_len((uint64_t)num << 3);
	lens = xreallocarray(NULL, n + 1, sizeof *lens);
	lens[0] = b - a;
	for (i = 1; i <= n; i++)
		lens[i] = klen + pb_varint_len(lens[i - 1]) + lens[i - 1];
	buf_init(&rep);
	buf_reserve(&rep, (size_t)lens[n] + 1);
	for (i = n; i >= 1; i--) {
		pb_key(&rep, num, PB_LEN);
		pb_put_varint(&rep, lens[i - 1]);
	}
	pb_put(&rep, pb->body + a, b - a);
	free(lens);
	pb_replace_range(pb, f >= 0 ? pb->f[f].parent : -1, msg, a, b,
	    rep.data, rep.len, out);
	buf_free(&rep);
	return 0;
}

/* The gRPC framing of the body's first (or a random) message. */
static int
op_frame(const struct mut_pb *pb, struct fault_rng *r, struct buf *out)
{
	const struct mut_pbmsg	*m = &pb->msgs[pb_below(r,
				    (uint32_t)pb->nmsgs)];
	size_t			 mlen = m->end - m->start, i;
	uint64_t		 lie = mlen;
	unsigned		 flag = pb->body[m->off];

	switch (pb_below(r, 9)) {
	case 0:		/* compressed, without grpc-encoding */
		flag = 1;
		break;
	case 1:
		flag = 2 + pb_below(r, 254);
		break;
	case 2:
		lie = mlen + 1 + pb_below(r, 16);
		break;
	case 3:
		lie = mlen > 0 ? mlen - 1 - pb_below(r, (uint32_t)mlen) : 0;
		break;
	case 4:
		lie = pb_below(r, 2) ? 0xffffffffu : 0x80000000u;
		break;
	case 5:		/* the message twice: two on a unary call */
		pb_put(out, pb->body, m->end);
		pb_put(out, pb->body + m->off, pb->len - m->off);
		return 0;
	case 6:		/* no message at all */
		pb_put(out, pb->body, m->off);
		pb_put(out, pb->body + m->end, pb->len - m->end);
		return 0;
	case 7:		/* a prefix cut short after the last message */
		pb_put(out, pb->body, pb->len);
		for (i = 0; i < 1 + pb_below(r, 4); i++)
			buf_append_byte(out, 0);
		return 0;
	default:	/* the message cut short, the prefix unchanged */
		pb_put(out, pb->body, m->start);
		pb_put(out, pb->body + m->start, pb_below(r, (uint32_t)mlen));
		return 0;
	}
	pb_put(out, pb->body, m->off);
	pb_put_prefix(out, flag, lie);
	pb_put(out, pb->body + m->start, pb->len - m->start);
	return 0;
}

int
mut_pb_mutate(const struct mut_pb *pb, unsigned op, int32_t field,
    struct fault_rng *r, size_t max, struct buf *out)
{
	int	want = -1;

	if (pb == NULL || !mut_pb_is_op(op))
		return -1;
	if (op == MUT_OP_PB_DEEP)
		return op_deep(pb, r, max, out);
	if (op == MUT_OP_GRPC_FRAME)
		return op_frame(pb, r, out);
	if (field >= 0 && (size_t)field >= pb->nf)
		field = -1;
	if (field < 0) {
		if (pb->nf == 0)
			return op == MUT_OP_PB_UNKNOWN ? op_unknown(pb, -1, r,
			    out) : -1;
		if (op == MUT_OP_PB_VARINT || op == MUT_OP_PB_PACKED)
			want = 0;
		else if (op == MUT_OP_PB_UTF8)
			want = 1;
		else if (op == MUT_OP_PB_LENGTH)
			want = 2;
		field = pb_pick(pb, r, want);
	}
	switch (op) {
	case MUT_OP_PB_VARINT:	return op_varint(pb, field, r, out);
	case MUT_OP_PB_WIRE:	return op_wire(pb, field, r, out);
	case MUT_OP_PB_DUP:	return op_dup(pb, field, r, max, out);
	case MUT_OP_PB_DROP:
		pb_replace(pb, field, NULL, 0, out);
		return 0;
	case MUT_OP_PB_UNKNOWN:	return op_unknown(pb, field, r, out);
	case MUT_OP_PB_PACKED:	return op_packed(pb, field, r, max, out);
	case MUT_OP_PB_LENGTH:	return op_length(pb, field, r, out);
	default:		return op_utf8(pb, field, r, max, out);
	}
}

/* --- the sweep's edits -------------------------------------------------- */

/* The varints of a packed run in x's value: their count, 0 when it does
 * not read whole as varints (or is text, a message, empty). */
static size_t
pb_packed_count(const struct mut_pb *pb, const struct mut_pbf *x)
{
	size_t		off = x->val, n = 0, k;
	uint64_t	v;

	if (x->wire != PB_LEN || x->text || x->nested)
		return 0;
	while (off < x->end) {
		if ((k = pb_varint(pb->body + off, x->end - off, &v,
		    NULL)) == 0)
			return 0;
		off += k;
		n++;
	}
	return n;
}

/* How many fields of f's number its message holds, f included; -1
 * when one comes before f (f is not the first). */
static long
pb_occurrences(const struct mut_pb *pb, size_t f)
{
	const struct mut_pbf	*x = &pb->f[f];
	long			 n = 0;
	size_t			 i;

	for (i = 0; i < pb->nf; i++) {
		const struct mut_pbf *y = &pb->f[i];

		if (y->parent != x->parent || y->msg != x->msg ||
		    y->num != x->num)
			continue;
		if (i < f)
			return -1;
		n++;
	}
	return n;
}

/* A packed run of n elements: x's own, cycled. */
static void
pb_edit_packed(const struct mut_pb *pb, int32_t f, size_t n,
    struct buf *out)
{
	const struct mut_pbf	*x = &pb->f[f];
	struct buf		 run;
	size_t			 off = x->val, i, k;
	uint64_t		 v;

	buf_init(&run);
	for (i = 0; i < n; i++) {
		if (off >= x->end)
			off = x->val;
		k = pb_varint(pb->body + off, x->end - off, &v, NULL);
		pb_put(&run, pb->body + off, k);
		off += k;
	}
	pb_replace_len(pb, f, &run, out);
}

/* The field as another wire type, its value carried over. */
static void
pb_edit_wire(const struct mut_pb *pb, int32_t f, struct buf *out)
{
	const struct mut_pbf	*x = &pb->f[f];
	struct buf		 rep;

	buf_init(&rep);
	if (x->wire == PB_VARINT) {
		pb_key(&rep, x->num, PB_LEN);
		pb_put_varint(&rep, x->end - x->val);
		pb_put(&rep, pb->body + x->val, x->end - x->val);
	} else {
		pb_key(&rep, x->num, PB_VARINT);
		pb_put_varint(&rep, x->wire == PB_LEN ? x->end - x->val :
		    x->u);
	}
	pb_replace(pb, f, rep.data, rep.len, out);
	buf_free(&rep);
}

/* Does edit (arg) apply to field f?  1 or 0. */
static int
pb_edit_applies(const struct mut_pb *pb, size_t f, unsigned edit,
    uint64_t arg)
{
	const struct mut_pbf	*x = &pb->f[f];

	switch (edit) {
	case MUT_PB_DROP:
		return 1;
	case MUT_PB_ZIGZAG:
		if ((x->u & 1) == 0 || x->u >= 4294967296ull)
			return 0;
		/* FALLTHROUGH */
	case MUT_PB_VARINT:
		return x->wire == PB_VARINT && x->u != arg;
	case MUT_PB_EMPTY:
		return x->wire == PB_LEN && x->end > x->val;
	case MUT_PB_UTF8:
		return x->wire == PB_LEN && x->text && x->end > x->val;
	case MUT_PB_REPEAT:
		if (pb_packed_count(pb, x) > 0)
			return pb_packed_count(pb, x) < arg;
		return pb_occurrences(pb, f) > 1 &&
		    (uint64_t)pb_occurrences(pb, f) < arg;
	case MUT_PB_WIRE:
		return x->wire == PB_VARINT || x->wire == PB_LEN ||
		    x->wire == PB_I32 || x->wire == PB_I64;
	default:
		return 0;
	}
}

int
mut_pb_edit(const struct mut_pb *pb, size_t field, unsigned edit,
    uint64_t arg, struct buf *out)
{
	const struct mut_pbf	*x;
	struct buf		 rep;
	int32_t			 f = (int32_t)field;
	size_t			 i, n;

	if (pb == NULL || field >= pb->nf ||
	    !pb_edit_applies(pb, field, edit, arg))
		return -1;
	if (out == NULL)
		return 0;
	x = &pb->f[f];
	buf_init(&rep);
	switch (edit) {
	case MUT_PB_DROP:
		break;
	case MUT_PB_VARINT:
	case MUT_PB_ZIGZAG:
		pb_key(&rep, x->num, PB_VARINT);
		pb_put_varint(&rep, arg);
		break;
	case MUT_PB_EMPTY:
		pb_key(&rep, x->num, PB_LEN);
		pb_put_varint(&rep, 0);
		break;
	case MUT_PB_UTF8:
		pb_key(&rep, x->num, PB_LEN);
		pb_put_varint(&rep, x->end - x->val + 1);
		pb_put(&rep, pb->body + x->val, x->end - x->val);
		buf_append_byte(&rep, (char)0xff);
		break;
	case MUT_PB_REPEAT:
		if (pb_packed_count(pb, x) > 0) {
			pb_edit_packed(pb, f, (size_t)arg, out);
			return 0;
		}
		/* This one and copies: the message holds arg. */
		n = (size_t)arg - (size_t)pb_occurrences(pb, field) + 1;
		for (i = 0; i < n; i++)
			pb_put(&rep, pb->body + x->key, x->end - x->key);
		break;
	default:
		pb_edit_wire(pb, f, out);
		return 0;
	}
	pb_replace(pb, f, rep.data, rep.len, out);
	buf_free(&rep);
	return 0;
}
