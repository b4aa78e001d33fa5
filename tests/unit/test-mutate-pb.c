/*
 * test-mutate-pb.c -- unit tests for the protobuf operators of the
 * mutation engine (mutate-pb.h, through mutate.h): the fields of a gRPC
 * call are found (nested ones guessed), each operator makes what it says
 * (checked by reading the mutant back with protobuf.h and grpc.h: it
 * decodes, or fails to, as intended), every length it did not mean to
 * break is exact, sizes are graded, and a mutant is made again from its
 * (seed, number, entry, operator, field).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "fault.h"
#include "grpc.h"
#include "http.h"
#include "mutate.h"
#include "mutate-pb.h"
#include "protobuf.h"
#include "unit.h"

/*
 * shop.Orders/Place with an Order: 1 quantity = 3, 2 customer {1 name
 * "Ann", 2 email "ann@x.io"}, 3 items packed [1, 2, 3], 4 note "hello",
 * 5 amount = 1000.  Fields in wire order: 0 quantity, 1 customer, 2
 * name, 3 email, 4 items, 5 note, 6 amount.
 */
static const char order_msg[] =
	"\x08\x03"
	"\x12\x0f" "\x0a\x03" "Ann" "\x12\x08" "ann@x.io"
	"\x1a\x03\x01\x02\x03"
	"\x22\x05" "hello"
	"\x28\xe8\x07";
#define ORDER_LEN	(sizeof order_msg - 1)

static void
order_request(struct buf *b, int twice)
{
	size_t	i, n = twice ? 2 : 1;

	buf_printf(b, "POST /shop.Orders/Place HTTP/1.1\r\nHost: x\r\n"
	    "content-type: application/grpc\r\nte: trailers\r\n"
	    "Content-Length: %zu\r\n\r\n", n * (ORDER_LEN + 5));
	for (i = 0; i < n; i++)
		grpc_put_msg(b, 0, order_msg, ORDER_LEN);
}

/* The body of the request in r[0..n) (its Content-Length). */
static int
body_of(const char *r, size_t n, struct span *body)
{
	struct http_msg	m;
	enum http_err	err;
	size_t		erroff;
	ssize_t		h = http_parse_request(r, n, n + 1, &m, &err, &erroff);

	if (h < 0 || m.framing != HTTP_FRAME_LENGTH ||
	    m.content_length != n - (size_t)h)
		return -1;
	*body = (struct span){ r + h, n - (size_t)h };
	return 0;
}

/* The body as exactly one uncompressed message, exactly framed. */
static int
one_message(struct span body, struct span *msg)
{
	struct grpc_msg	m;
	const char	*why;
	size_t		off = 0;

	if (grpc_next_msg((const uint8_t *)body.p, body.len, &off, &m,
	    &why) != 1 || m.compressed || off != body.len)
		return -1;
	*msg = (struct span){ (const char *)m.p, m.len };
	return 0;
}

/* Reads msg's top-level fields: the count of each number < 32 and of
 * others, the wire of the last one of number num; -1 if it fails. */
static int
read_fields(struct span msg, unsigned *count, uint32_t num,
    struct pb_field *last)
{
	struct pb_reader	r;
	struct pb_field		f;
	int			rc;

	memset(count, 0, 33 * sizeof *count);
	pb_reader_init(&r, msg.p, msg.len);
	while ((rc = pb_read_field(&r, &f)) == 1) {
		count[f.num < 32 ? f.num : 32]++;
		if (f.num == num && last != NULL)
			*last = f;
	}
	return rc;
}

static struct mut_corpus *
order_corpus(void)
{
	struct mut_corpus	*c = mut_corpus_create();
	struct buf		 b;
	char			*cause = NULL;

	buf_init(&b);
	order_request(&b, 0);
	ASSERT_EQ(mut_corpus_add(c, b.data, b.len, &cause), 0);
	buf_reset(&b);
	order_request(&b, 1);		/* a client stream of two */
	ASSERT_EQ(mut_corpus_add(c, b.data, b.len, &cause), 0);
	buf_free(&b);
	free(cause);
	return c;
}

/* The fields found, nested ones guessed; what is not gRPC is not. */
static void
test_parse(void)
{
	static const unsigned	nums[] = { 1, 2, 1, 2, 3, 4, 5 };
	static const unsigned	depths[] = { 1, 1, 2, 2, 1, 1, 1 };
	struct mut_pb		*pb;
	struct buf		 b;
	uint32_t		 num;
	unsigned		 wire, depth, i;
	int			 nested;
	size_t			 cut;

	buf_init(&b);
	grpc_put_msg(&b, 0, order_msg, ORDER_LEN);
	pb = mut_pb_parse(b.data, b.len);
	ASSERT(pb != NULL);
	ASSERT_EQ(mut_pb_fields(pb), 7);
	for (i = 0; i < 7; i++) {
		ASSERT_EQ(mut_pb_field_info(pb, i, &num, &wire, &depth,
		    &nested), 0);
		ASSERT_EQ(num, nums[i]);
		ASSERT_EQ(depth, depths[i]);
		ASSERT_EQ(nested, i == 1);
	}
	ASSERT_EQ(mut_pb_field_info(pb, 7, &num, &wire, &depth, &nested),
	    -1);
	mut_pb_free(pb);
	/* Every cut of the body: no message is whole, or fewer fields. */
	for (cut = 0; cut < b.len; cut++) {
		pb = mut_pb_parse(b.data, cut);
		ASSERT(pb == NULL);
		mut_pb_free(pb);
	}
	ASSERT(mut_pb_parse("{\"a\":1}", 7) == NULL);
	buf_reset(&b);
	grpc_put_msg(&b, 1, order_msg, ORDER_LEN);	/* compressed */
	ASSERT(mut_pb_parse(b.data, b.len) == NULL);
	buf_free(&b);
}

struct seen {
	unsigned	n;		/* single-operator mutants looked at */
	unsigned	framed;		/* one exact uncompressed message */
	unsigned	decodes;
	unsigned	hit;		/* did what the operator says */
	unsigned	a, b, c, d;	/* operator-specific shapes */
};

/* 1 if p[0..len) is not valid UTF-8 or holds a NUL. */
static int
bad_utf8(const uint8_t *p, size_t len)
{
	return !pb_is_text(p, len, 0) || memchr(p, 0, len) != NULL;
}

/* The nesting depth of field 2 chains (pb.deep_nesting wraps). */
static unsigned
chain_depth(struct span msg)
{
	struct pb_reader	r;
	struct pb_field		f;
	unsigned		d = 0;
	const uint8_t		*p = (const uint8_t *)msg.p;
	size_t			len = msg.len;

	for (;;) {
		pb_reader_init(&r, p, len);
		if (pb_read_field(&r, &f) != 1 || f.wire != PB_LEN ||
		    r.off != len)
			return d;
		d++;
		p = f.p;
		len = f.len;
	}
}

/* What mutant body says about op (on field, -1: any). */
static void
judge(unsigned op, int32_t field, struct span body, struct seen *s)
{
	struct span	 msg;
	struct pb_field	 last;
	unsigned	 cnt[33], i, total;
	int		 framed = one_message(body, &msg) == 0, rc = -1;

	memset(&last, 0, sizeof last);
	s->n++;
	s->framed += framed;
	if (framed && (rc = read_fields(msg, cnt, field == 0 ? 1 :
	    field == 5 ? 4 : 2, &last)) == 0)
		s->decodes++;
	switch (op) {
	case MUT_OP_PB_VARINT:		/* field 0: quantity */
		if (rc == 0 && last.wire == PB_VARINT) {
			s->hit++;
			s->a += last.u == UINT64_MAX;
			s->b += last.u == 2147483648ull;
			s->c += last.u == (uint64_t)0 - 3;	/* -3 */
		} else if (rc == -1)
			s->d++;		/* over 64 bits */
		break;
	case MUT_OP_PB_WIRE:
		if (rc == -1 || last.wire != PB_VARINT || cnt[1] != 1)
			s->hit++;
		break;
	case MUT_OP_PB_DUP:		/* field 1: customer */
		if (rc == 0 && cnt[2] >= 2)
			s->hit++;
		if (rc == 0 && cnt[2] > 8)
			s->a++;
		if (rc == 0 && cnt[2] > 1024)
			s->b++;
		break;
	case MUT_OP_PB_DROP:
		if (rc == 0 && cnt[2] == 0 && cnt[1] == 1 && cnt[5] == 1)
			s->hit++;
		break;
	case MUT_OP_PB_UNKNOWN:		/* one field more, or number 0 */
		for (i = 0, total = 0; i < 33; i++)
			total += cnt[i];
		if (rc == 0 && total == 6)
			s->hit++;
		if (rc == -1)
			s->a++;
		break;
	case MUT_OP_PB_PACKED:		/* field 0 made a packed run */
		if (rc == 0 && last.wire == PB_LEN) {
			s->hit++;
			s->a += last.len == 0;
			s->b += last.len > 8;
			s->c += last.len > 0 &&
			    (last.p[last.len - 1] & 0x80) != 0;
		}
		break;
	case MUT_OP_PB_LENGTH:
		/* field 2 (name, in customer): its length lies, customer's
		 * exact (a), or customer's lies (b) */
		if (rc == -1 || (last.num == 2 && last.len != 15 &&
		    last.len > 1 && last.p[1] == 3)) {
			s->hit++;
			s->b++;
		} else if (last.num == 2 && last.len > 1 && last.p[1] != 3) {
			s->hit++;
			s->a++;
		}
		break;
	case MUT_OP_PB_UTF8:		/* field 5: note */
		if (rc == 0 && last.wire == PB_LEN && bad_utf8(last.p,
		    last.len))
			s->hit++;
		break;
	case MUT_OP_PB_DEEP:
		/* Something wrapped: 2 levels and more, 100 and more (a);
		 * the whole message wrapped (b). */
		if (rc == 0 && body.len >= ORDER_LEN + 5 + 4)
			s->hit++;
		if (rc == 0 && body.len > ORDER_LEN + 5 + 200)
			s->a++;
		if (framed && chain_depth(msg) >= 2)
			s->b++;
		break;
	case MUT_OP_GRPC_FRAME:
		if (!framed)
			s->hit++;
		break;
	}
}

/*
 * Each operator, 3,000 mutants around it on a chosen field: those that
 * are the operator alone are framed exactly (but grpc.frame's), and
 * show what the operator promises.
 */
static void
test_operators(const struct mut_corpus *c)
{
	static const struct {
		unsigned	op;
		int32_t		field;
	} cases[] = {
		{ MUT_OP_PB_VARINT, 0 }, { MUT_OP_PB_WIRE, 0 },
		{ MUT_OP_PB_DUP, 1 }, { MUT_OP_PB_DROP, 1 },
		{ MUT_OP_PB_UNKNOWN, 5 }, { MUT_OP_PB_PACKED, 0 },
		{ MUT_OP_PB_LENGTH, 2 }, { MUT_OP_PB_UTF8, 5 },
		{ MUT_OP_PB_DEEP, -1 }, { MUT_OP_GRPC_FRAME, -1 },
	};
	struct mut_engine	*e = mut_engine_create(c, 7, MUT_NO_FRAMING);
	struct mut_info		 info;
	struct buf		 out;
	struct span		 body;
	struct seen		 s;
	size_t			 k, i;

	buf_init(&out);
	for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		unsigned	op = cases[k].op;

		memset(&s, 0, sizeof s);
		ASSERT(mut_op_weight_of(e, 0, op) > 0);
		ASSERT_EQ(mut_op_takes_field(op), cases[k].field >= 0);
		for (i = 0; i < 3000; i++) {
			mut_make(e, i, 0, op, cases[k].field, &out, &info);
			ASSERT_EQ(info.first_op, op);
			ASSERT_EQ(info.field, cases[k].field);
			ASSERT_EQ(info.framing, 0);
			if (info.nops != 1)
				continue;	/* others may break the head */
			ASSERT_EQ(body_of(out.data, out.len, &body), 0);
			judge(op, cases[k].field, body, &s);
		}
		fprintf(stderr, "%-20s alone %u: framed %u decodes %u hit %u "
		    "(%u %u %u %u)\n", mut_op_name(op), s.n, s.framed,
		    s.decodes, s.hit, s.a, s.b, s.c, s.d);
		ASSERT(s.n > 1500);
		if (op != MUT_OP_GRPC_FRAME)
			ASSERT_EQ(s.framed, s.n);
		/* Every mutant does it, but for a few shapes noted. */
		switch (op) {
		case MUT_OP_PB_VARINT:
			ASSERT_EQ(s.hit + s.d, s.n);
			ASSERT(s.a > 0 && s.b > 0 && s.c > 0 && s.d > 0);
			break;
		case MUT_OP_PB_DUP:
			ASSERT_EQ(s.hit, s.n);
			ASSERT(s.a > s.n / 10 && s.b > 0);
			break;
		case MUT_OP_PB_UNKNOWN:
			ASSERT_EQ(s.hit + s.a, s.n);
			ASSERT(s.a > 0 && s.a < s.n / 10);
			break;
		case MUT_OP_PB_PACKED:
			ASSERT_EQ(s.hit, s.n);
			ASSERT(s.a > 0 && s.b > 0 && s.c > 0);
			break;
		case MUT_OP_PB_DEEP:
			ASSERT_EQ(s.hit, s.n);
			ASSERT(s.a > 0 && s.a < s.n && s.b > 0);
			break;
		case MUT_OP_PB_LENGTH:
			ASSERT_EQ(s.hit, s.n);
			ASSERT(s.a > s.n / 4 && s.b > s.n / 20);
			break;
		default:
			ASSERT_EQ(s.hit, s.n);
			break;
		}
	}
	buf_free(&out);
	mut_engine_free(e);
}

/* The mutant (number i of the test's plan) into out. */
static void
plan_make(struct mut_engine *e, size_t i, struct buf *out)
{
	unsigned	op = MUT_OP_PB_VARINT + (unsigned)(i % 10);
	int32_t		field = mut_op_takes_field(op) ? (int32_t)(i % 7) : -1;

	mut_make(e, i, i % 2, op, field, out, NULL);
}

/*
 * Reproducible by number: 400 mutants over both entries, every operator
 * and field, each made again by a second engine right after it made
 * another one of the plan (the reverse order's): the same bytes; an
 * engine of another seed makes others.  Fields of the second entry (two
 * messages) count both messages'.
 */
static void
test_repro(const struct mut_corpus *c)
{
	struct mut_engine	*a = mut_engine_create(c, 11, MUT_NO_FRAMING);
	struct mut_engine	*b = mut_engine_create(c, 11, MUT_NO_FRAMING);
	struct mut_engine	*o = mut_engine_create(c, 12, MUT_NO_FRAMING);
	struct buf		 x, y;
	unsigned		 differ = 0;
	size_t			 i;

	ASSERT_EQ(mut_entry_fields(a, 0), 7);
	ASSERT_EQ(mut_entry_fields(a, 1), 14);
	buf_init(&x);
	buf_init(&y);
	for (i = 0; i < 400; i++) {
		plan_make(a, i, &x);
		plan_make(b, 399 - i, &y);
		plan_make(b, i, &y);
		ASSERT(x.len == y.len && memcmp(x.data, y.data, x.len) == 0);
		plan_make(o, i, &y);
		differ += x.len != y.len || memcmp(x.data, y.data, x.len) != 0;
	}
	ASSERT(differ > 300);
	buf_free(&x);
	buf_free(&y);
	mut_engine_free(a);
	mut_engine_free(b);
	mut_engine_free(o);
}

/* mut_next over a gRPC corpus applies the protobuf operators, and only
 * to it: a JSON entry never gets one. */
static void
test_schedule(void)
{
	struct mut_corpus	*c = order_corpus();
	struct mut_engine	*e;
	struct mut_info		 info;
	struct buf		 out;
	unsigned		 pb = 0, i;
	char			*cause = NULL;
	static const char	 json[] = "POST /a HTTP/1.1\r\nHost: x\r\n"
	    "Content-Type: application/json\r\nContent-Length: 7\r\n\r\n"
	    "{\"a\":1}";

	ASSERT_EQ(mut_corpus_add(c, json, sizeof json - 1, &cause), 0);
	e = mut_engine_create(c, 5, MUT_NO_FRAMING);
	for (i = MUT_OP_PB_VARINT; i < MUT_OP_COUNT; i++)
		ASSERT_EQ(mut_op_weight_of(e, 2, i), 0);
	buf_init(&out);
	for (i = 0; i < 3000; i++) {
		mut_next(e, &out, &info);
		if (info.first_op >= MUT_OP_PB_VARINT)
			pb++;
		if (info.parent == 2)
			ASSERT(info.first_op < MUT_OP_PB_VARINT);
	}
	fprintf(stderr, "mut_next: %u of 3000 around a protobuf operator\n",
	    pb);
	ASSERT(pb > 3000 / 3 / 2);
	buf_free(&out);
	mut_engine_free(e);
	mut_corpus_free(c);
	free(cause);
}

/*
 * The view of target t of the order's sweep (fields as test_parse
 * lists them): the counts of its message (customer's for name and
 * email) and its last field of its number; rc as read_fields's.
 */
static int
sweep_view(struct span msg, size_t t, unsigned *cnt, struct pb_field *last)
{
	static const unsigned	nums[] = { 1, 2, 1, 2, 3, 4, 5 };
	struct pb_field		cust;

	if (t == 2 || t == 3) {
		memset(&cust, 0, sizeof cust);
		if (read_fields(msg, cnt, 2, &cust) != 0 || cnt[2] != 1 ||
		    cust.wire != PB_LEN)
			return -1;
		msg = (struct span){ (const char *)cust.p, cust.len };
	}
	memset(last, 0, sizeof *last);
	return read_fields(msg, cnt, nums[t], last);
}

/* The varints of a packed run, -1 if it does not read whole. */
static long
packed_len(const struct pb_field *f)
{
	size_t		off = 0, k;
	uint64_t	v;
	long		n = 0;

	while (off < f->len) {
		if ((k = pb_varint(f->p + off, f->len - off, &v, NULL)) == 0)
			return -1;
		off += k;
		n++;
	}
	return n;
}

/* What sweep item it says about the mutant's message; 1 if it did. */
static int
sweep_judge(const struct mut_sweep_item *it, struct span msg)
{
	static const struct {
		const char	*name;
		uint64_t	 v;
	} nums[] = {
		{ "zero", 0 }, { "minus_one", UINT64_MAX },
		{ "int32_max", 2147483647ull }, { "int32_over", 2147483648ull },
		{ "int64_over", 9223372036854775808ull },
		{ "zigzag_int32_max", 4294967294ull },
		{ "zigzag_int32_min", 4294967295ull },
		{ "zigzag_int64_max", 18446744073709551614ull },
	};
	static const unsigned	 wires[] = { PB_VARINT, PB_LEN, PB_LEN,
				    PB_LEN, PB_LEN, PB_LEN, PB_VARINT };
	static const unsigned	 nums_of[] = { 1, 2, 1, 2, 3, 4, 5 };
	const char		*cls = mut_sweep_class_name(it->cls);
	struct pb_field		 last;
	unsigned		 cnt[33], orig[33], i, num = nums_of[it->target];
	struct span		 o = { order_msg, ORDER_LEN };

	if (sweep_view(msg, it->target, cnt, &last) != 0 ||
	    sweep_view(o, it->target, orig, &(struct pb_field){ 0 }) != 0)
		return 0;
	/* One edit: the other numbers of its message as they were. */
	for (i = 0; i < 33; i++)
		if (i != num && cnt[i] != orig[i])
			return 0;
	if (strcmp(cls, "removed") == 0)
		return cnt[num] == 0;
	if (cnt[num] < 1)
		return 0;
	if (strcmp(cls, "empty") == 0)
		return last.wire == PB_LEN && last.len == 0;
	if (strcmp(cls, "invalid_utf8") == 0)
		return cnt[num] == 1 && last.wire == PB_LEN &&
		    bad_utf8(last.p, last.len);
	if (strcmp(cls, "repeated_17") == 0 || strcmp(cls,
	    "repeated_65") == 0)
		return last.wire == PB_LEN && packed_len(&last) ==
		    (cls[9] == '1' ? 17 : 65);
	if (strcmp(cls, "wire_type") == 0)
		return cnt[num] == 1 && last.wire != wires[it->target];
	for (i = 0; i < sizeof nums / sizeof nums[0]; i++)
		if (strcmp(cls, nums[i].name) == 0)
			return cnt[num] == 1 && last.wire == PB_VARINT &&
			    last.u == nums[i].v;
	return 0;
}

/*
 * The sweep on a gRPC call (mutate.h's MUT_SWEEP, kind MUT_SW_PB):
 * each protobuf field once per class that applies to it, each mutant the
 * one edit it says, exactly framed (every enclosing length and the
 * prefix), credited to the pb arm of that field, made again from (seed,
 * number, entry, item) whatever came before.  A repeated field that is
 * not packed grows by copies.
 */
static void
test_sweep(const struct mut_corpus *c)
{
	/* Classes per field: quantity 3 (odd: it may be a sint), customer,
	 * name, email, items [1, 2, 3], note, amount 1000. */
	static const unsigned	 want[7] = { 10, 3, 4, 4, 5, 4, 7 };
	static const char	 rep[] = "\x38\x01\x38\x02"
	    "\x42\x02\x08\x01\x42\x02\x08\x02";
	struct mut_engine	*a = mut_engine_create(c, 3, 0);
	struct mut_engine	*b = mut_engine_create(c, 3, 0);
	struct mut_corpus	*c2 = mut_corpus_create();
	struct mut_engine	*e2;
	struct mut_pb		*pb;
	struct mut_sweep_item	 it;
	struct mut_info		 info;
	struct buf		 x, y;
	struct span		 body, msg;
	unsigned		 per[7] = { 0 }, pbitems = 0, prev = 0, hits[3];
	static unsigned char	 seen[64][16];
	size_t			 k, n = mut_sweep_count(a, 0);
	char			*cause = NULL;

	buf_init(&x);
	buf_init(&y);
	memset(seen, 0, sizeof seen);
	for (k = 0; k < n; k++) {
		ASSERT_EQ(mut_sweep_item(a, 0, k, &it), 0);
		ASSERT(it.cls >= prev);
		prev = it.cls;
		mut_make(a, 40 + k, 0, MUT_SWEEP, (int32_t)k, &x, &info);
		ASSERT_EQ(info.first_op, MUT_SWEEP);
		ASSERT_EQ(info.op, MUT_SWEEP);
		ASSERT_EQ(info.field, (int32_t)k);
		ASSERT_EQ(info.nops, 1);
		ASSERT_EQ(info.framing, 0);
		ASSERT_EQ(body_of(x.data, x.len, &body), 0);
		mut_make(b, 9, 1, MUT_OP_PB_DEEP, -1, &y, NULL);
		mut_make(b, 40 + k, 0, MUT_SWEEP, (int32_t)k, &y, NULL);
		ASSERT(x.len == y.len && memcmp(x.data, y.data, x.len) == 0);
		if (it.kind != MUT_SW_PB) {
			/* Headers: the body as it was. */
			ASSERT(body.len == ORDER_LEN + 5 && memcmp(body.p + 5,
			    order_msg, ORDER_LEN) == 0);
			continue;
		}
		ASSERT(it.target < 7 && it.cls < 64);
		ASSERT_EQ(seen[it.cls][it.target], 0);
		seen[it.cls][it.target] = 1;
		per[it.target]++;
		pbitems++;
		ASSERT(it.arm_op >= MUT_OP_PB_VARINT && it.arm_op <=
		    MUT_OP_PB_UTF8);
		ASSERT(mut_op_weight_of(a, 0, it.arm_op) > 0);
		ASSERT_EQ(it.arm_field, (int32_t)it.target);
		/* Exactly framed, the one edit it says. */
		ASSERT_EQ(one_message(body, &msg), 0);
		if (!sweep_judge(&it, msg))
			fprintf(stderr, "item %zu: field %zu %s\n", k,
			    it.target, mut_sweep_class_name(it.cls));
		ASSERT(sweep_judge(&it, msg));
	}
	ASSERT_EQ(mut_sweep_item(a, 0, n, &it), -1);
	ASSERT_EQ(pbitems, 37);
	for (k = 0; k < 7; k++)
		ASSERT_EQ(per[k], want[k]);
	/* The stream of two: each message's fields, framed both. */
	ASSERT_EQ(mut_sweep_count(a, 1), 2 * 37 + n - 37);
	for (k = 0; k < mut_sweep_count(a, 1); k++) {
		mut_make(a, k, 1, MUT_SWEEP, (int32_t)k, &x, NULL);
		ASSERT_EQ(body_of(x.data, x.len, &body), 0);
		pb = mut_pb_parse(body.p, body.len);
		ASSERT(pb != NULL);
		mut_pb_free(pb);
	}
	/* Not packed: a number seen twice (7, varints; 8, messages)
	 * grows by copies, at its first only. */
	buf_reset(&x);
	buf_printf(&x, "POST /a.B/C HTTP/1.1\r\nHost: x\r\n"
	    "content-type: application/grpc\r\nContent-Length: %zu\r\n\r\n",
	    sizeof rep - 1 + 5);
	grpc_put_msg(&x, 0, rep, sizeof rep - 1);
	ASSERT_EQ(mut_corpus_add(c2, x.data, x.len, &cause), 0);
	e2 = mut_engine_create(c2, 1, 0);
	memset(hits, 0, sizeof hits);
	for (k = 0; k < mut_sweep_count(e2, 0); k++) {
		unsigned	cnt[33];

		ASSERT_EQ(mut_sweep_item(e2, 0, k, &it), 0);
		if (strncmp(mut_sweep_class_name(it.cls), "repeated_", 9) != 0)
			continue;
		mut_make(e2, k, 0, MUT_SWEEP, (int32_t)k, &x, NULL);
		ASSERT_EQ(body_of(x.data, x.len, &body), 0);
		ASSERT_EQ(one_message(body, &msg), 0);
		ASSERT_EQ(read_fields(msg, cnt, 0, NULL), 0);
		ASSERT(it.target == 0 || it.target == 2);
		ASSERT_EQ(cnt[it.target == 0 ? 7 : 8], mut_sweep_class_name(
		    it.cls)[9] == '1' ? 17 : 65);
		ASSERT_EQ(cnt[it.target == 0 ? 8 : 7], 2);
		ASSERT_EQ(it.arm_op, MUT_OP_PB_DUP);
		hits[it.target / 2]++;
	}
	ASSERT(hits[0] == 2 && hits[1] == 2);
	mut_engine_free(e2);
	mut_corpus_free(c2);
	free(cause);
	buf_free(&x);
	buf_free(&y);
	mut_engine_free(a);
	mut_engine_free(b);
}

int
main(void)
{
	struct mut_corpus	*c;

	test_parse();
	c = order_corpus();
	test_operators(c);
	test_repro(c);
	test_sweep(c);
	mut_corpus_free(c);
	test_schedule();
	UNIT_DONE();
}
