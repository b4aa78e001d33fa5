/*
 * test-mutate.c -- unit tests for the mutation engine (mutate.h):
 * determinism, framing, auth preservation, operator coverage, the bug
 * shapes the fuzz campaign relies on, mut_mutate_buf, the sweep
 * (MUT_SWEEP) and corpus loading.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "http.h"
#include "mutate.h"
#include "unit.h"

static const char *const corpus_reqs[] = {
	"POST /v1/orders HTTP/1.1\r\n"
	"Host: shop.local\r\n"
	"Content-Type: application/json\r\n"
	"Authorization: Bearer secret-token\r\n"
	"Accept: application/json\r\n"
	"Content-Length: 107\r\n"
	"\r\n"
	"{\"item\":\"widget\",\"quantity\":2,\"price\":9.99,\"tags\":[\"a\",\"b\"],"
	"\"customer\":{\"id\":17,\"name\":\"Ann\"},\"gift\":false}",

	"GET /v1/orders/17?expand=items&limit=10 HTTP/1.1\r\n"
	"Host: shop.local\r\n"
	"Cookie: session=abc123\r\n"
	"Accept: */*\r\n"
	"\r\n",

	"POST /login HTTP/1.1\r\n"
	"Host: shop.local\r\n"
	"Content-Type: application/x-www-form-urlencoded\r\n"
	"Content-Length: 24\r\n"
	"\r\n"
	"user=ann&pass=x&remember",

	"PUT /v1/items/3 HTTP/1.1\r\n"
	"Host: shop.local\r\n"
	"Content-Type: application/json\r\n"
	"User-Agent: test\r\n"
	"Transfer-Encoding: chunked\r\n"
	"\r\n"
	"19\r\n{\"name\":\"x\",\"stock\":5,\"ac\r\n"
	"f\r\ntive\":true,\"n\":\r\n"
	"6\r\nnull}\n\r\n"
	"0\r\n\r\n",

	"this is not HTTP at all\r\n\r\n",
};
#define NREQ	(sizeof(corpus_reqs) / sizeof(corpus_reqs[0]))

static uint64_t
fnv64(const char *p, size_t n)
{
	uint64_t	h = 0xcbf29ce484222325ULL;
	size_t		i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

static struct mut_corpus *
make_corpus(void)
{
	struct mut_corpus	*c = mut_corpus_create();
	char			*cause = NULL;
	size_t			 i;
	int			 rc;

	for (i = 0; i < NREQ; i++) {
		rc = mut_corpus_add(c, corpus_reqs[i], strlen(corpus_reqs[i]),
		    &cause);
		if (i == NREQ - 1) {
			ASSERT_EQ(rc, -1);
			ASSERT(cause != NULL);
		} else {
			if (rc != 0)
				UNIT_FAIL("entry %zu: %s", i, cause);
			ASSERT_EQ(rc, 0);
		}
		free(cause);
		cause = NULL;
	}
	ASSERT_EQ(mut_corpus_count(c), NREQ);
	return c;
}

/*
 * mut_make: a mutant is a function of (seed, number, entry, operator,
 * field) alone.  500 mutants made in one order by one engine are made
 * again, byte for byte, in reverse order by a fresh engine (and
 * interleaved with mut_next and other mutants): no state carries over.
 * The operator asked for is the one applied first, a field operator
 * works on the field asked for, and another number, entry or operator
 * gives another mutant.
 */
static void
test_make(const struct mut_corpus *c)
{
	struct mut_engine	*a, *b;
	struct buf		 x, y;
	struct mut_info		 ia, ib;
	uint64_t		 sums[500];
	size_t			 lens[500], n = mut_corpus_count(c), i, same = 0;
	size_t			 ents[500];
	unsigned		 ops[500];
	int32_t			 fields[500];

	buf_init(&x);
	buf_init(&y);
	a = mut_engine_create(c, 42, 0);
	b = mut_engine_create(c, 42, 0);
	for (i = 0; i < 500; i++) {
		ents[i] = (i * 7) % n;
		ops[i] = (unsigned)((i * 13) % MUT_OP_COUNT);
		fields[i] = mut_op_takes_field(ops[i]) &&
		    mut_entry_fields(a, ents[i]) > 0 ? (int32_t)(i %
		    mut_entry_fields(a, ents[i])) : -1;
		mut_make(a, 1000 + i, ents[i], ops[i], fields[i], &x, &ia);
		sums[i] = fnv64(x.data, x.len);
		lens[i] = x.len;
		ASSERT_EQ(ia.parent, ents[i]);
		if (mut_op_weight_of(a, ents[i], ops[i]) > 0)
			ASSERT_EQ(ia.first_op, ops[i]);
		else
			ASSERT(ia.first_op < MUT_OP_COUNT);
		ASSERT_EQ(ia.field, fields[i]);
		mut_next(a, &y, NULL);
	}
	for (i = 500; i > 0; i--) {
		mut_make(b, 1000 + i - 1, ents[i - 1], ops[i - 1],
		    fields[i - 1], &y, &ib);
		if (y.len == lens[i - 1] && fnv64(y.data, y.len) ==
		    sums[i - 1])
			same++;
		mut_make(b, 7, 0, MUT_OP_BITFLIP, -1, &x, NULL);
	}
	ASSERT_EQ(same, 500);

	/* Another number, entry or operator: another mutant (mostly). */
	for (same = 0, i = 0; i < 200; i++) {
		mut_make(a, i, 0, MUT_OP_J_BOUNDARY, -1, &x, NULL);
		mut_make(a, i + 1, 0, MUT_OP_J_BOUNDARY, -1, &y, NULL);
		same += x.len == y.len && memcmp(x.data, y.data, x.len) == 0;
		mut_make(a, i, 0, MUT_OP_J_TYPE, -1, &y, NULL);
		same += x.len == y.len && memcmp(x.data, y.data, x.len) == 0;
		mut_make(a, i, 1, MUT_OP_J_BOUNDARY, -1, &y, NULL);
		same += x.len == y.len && memcmp(x.data, y.data, x.len) == 0;
	}
	ASSERT(same < 60);

	/* A field operator works on its field: json.remove_member of each
	 * field of entry 0 removes that member (alone, when one operator
	 * is stacked), and every field is removed by some mutant. */
	{
		size_t	nf = mut_entry_fields(a, 0), f, k, hits;
		size_t	rawlen;

		(void)mut_corpus_entry(c, 0, &rawlen);

		ASSERT(nf >= 2);
		for (f = 0; f < nf; f++) {
			for (hits = 0, k = 0; k < 40; k++) {
				mut_make(a, k, 0, MUT_OP_J_REMOVE, (int32_t)f,
				    &x, &ia);
				ASSERT_EQ(ia.field, (int32_t)f);
				if (ia.nops == 1 && x.len < rawlen)
					hits++;
			}
			ASSERT(hits > 10);
		}
		/* Two different fields: two different bodies. */
		mut_make(a, 3, 0, MUT_OP_J_NULL, 0, &x, &ia);
		mut_make(a, 3, 0, MUT_OP_J_NULL, 1, &y, &ib);
		if (ia.nops == 1 && ib.nops == 1)
			ASSERT(x.len != y.len || memcmp(x.data, y.data,
			    x.len) != 0);
	}
	mut_engine_free(a);
	mut_engine_free(b);
	buf_free(&x);
	buf_free(&y);
}

static void
test_determinism(const struct mut_corpus *c)
{
	struct mut_engine	*a, *b, *d;
	struct buf		 x, y;
	struct mut_info		 ia, ib;
	size_t			 i, same_a = 0, same_d = 0;

	buf_init(&x);
	buf_init(&y);
	a = mut_engine_create(c, 42, 0);
	b = mut_engine_create(c, 42, 0);
	d = mut_engine_create(c, 43, 0);
	for (i = 0; i < 1000; i++) {
		mut_next(a, &x, &ia);
		mut_next(b, &y, &ib);
		if (x.len == y.len && fnv64(x.data, x.len) ==
		    fnv64(y.data, y.len) && ia.op == ib.op &&
		    ia.parent == ib.parent && ia.nops == ib.nops &&
		    ia.framing == ib.framing)
			same_a++;
		mut_next(d, &y, &ib);
		if (x.len == y.len && fnv64(x.data, x.len) ==
		    fnv64(y.data, y.len))
			same_d++;
	}
	ASSERT_EQ(same_a, 1000);
	ASSERT(same_d < 100);

	/* mut_mutate_buf between two mut_next calls changes nothing. */
	{
		uint8_t	scratch[512];
		size_t	len = strlen(corpus_reqs[0]);

		memcpy(scratch, corpus_reqs[0], len < sizeof scratch ? len :
		    sizeof scratch);
		for (i = 0; i < 100; i++) {
			mut_next(a, &x, &ia);
			mut_mutate_buf(a, scratch, len < sizeof scratch ? len :
			    sizeof scratch, sizeof scratch, i);
			mut_next(b, &y, &ib);
			ASSERT(x.len == y.len && memcmp(x.data, y.data,
			    x.len) == 0);
		}
	}
	mut_engine_free(a);
	mut_engine_free(b);
	mut_engine_free(d);
	buf_free(&x);
	buf_free(&y);
}

/* The longest header line of a parsed head. */
static size_t
longest_header(const struct http_msg *m)
{
	size_t	i, best = 0;

	for (i = 0; i < m->nheaders; i++)
		if (m->headers[i].name.len + m->headers[i].value.len > best)
			best = m->headers[i].name.len + m->headers[i].value.len;
	return best;
}

static size_t
max_run(const char *p, size_t n, const char *pat, size_t plen)
{
	size_t	i = 0, run, best = 0;

	while (i + plen <= n) {
		run = 0;
		while (i + plen <= n && memcmp(p + i, pat, plen) == 0) {
			run++;
			i += plen;
		}
		if (run > best)
			best = run;
		if (run == 0)
			i++;
	}
	return best;
}

static const char *
memfind(const char *h, size_t n, const char *needle)
{
	return memmem(h, n, needle, strlen(needle));
}

struct shapes {
	size_t	parent0;
	size_t	neg_quantity;
	size_t	missing_quantity;
	size_t	wrong_type_quantity;
	size_t	long_header;
	size_t	deep;
	size_t	moderate;	/* nesting 17..100 */
	size_t	str256;		/* a string of 255, 256 or 257 bytes */
	size_t	hdr4k;		/* a header of 1-8 KiB */
	size_t	cl_over;
	size_t	cl_checked;
};

static void
test_stream(const struct mut_corpus *c)
{
	struct mut_engine	*e;
	struct buf		 out;
	struct mut_info		 info;
	struct http_msg		*m;
	struct shapes		 sh;
	enum http_err		 err;
	size_t			 i, erroff, body, opcount[64];
	size_t			 auth_kept = 0, cookie_kept = 0, from0 = 0,
				 from1 = 0, bad_cl = 0;
	ssize_t			 r;
	const char		*q;
	unsigned		 op;

	memset(&sh, 0, sizeof sh);
	memset(opcount, 0, sizeof opcount);
	ASSERT(mut_op_count() < 64);
	m = malloc(sizeof *m);
	buf_init(&out);
	e = mut_engine_create(c, 7, 0);
	for (i = 0; i < 50000; i++) {
		mut_next(e, &out, &info);
		ASSERT(info.parent < NREQ && info.other < NREQ);
		ASSERT(info.nops >= 1 && info.nops <= 8);
		if (info.op < 64)
			opcount[info.op]++;
		if (info.parent == 0) {
			from0++;
			if (memfind(out.data, out.len,
			    "\r\nAuthorization: Bearer secret-token\r\n"))
				auth_kept++;
		}
		if (info.parent == 1) {
			from1++;
			if (memfind(out.data, out.len,
			    "\r\nCookie: session=abc123\r\n"))
				cookie_kept++;
		}
		r = http_parse_request(out.data, out.len, out.len + 1, m, &err,
		    &erroff);
		if (r <= 0)
			continue;
		body = out.len - (size_t)r;
		if (m->framing == HTTP_FRAME_LENGTH && info.framing == 0) {
			sh.cl_checked++;
			if (m->content_length != body) {
				bad_cl++;
				if (getenv("MUT_DEBUG") != NULL)
					fprintf(stderr, "bad CL op %s nops %u:\n%.*s\n",
					    mut_op_name(info.op), info.nops,
					    (int)(out.len > 600 ? 600 : out.len), out.data);
			}
		}
		if (m->framing == HTTP_FRAME_LENGTH &&
		    m->content_length > body)
			sh.cl_over++;
		if (longest_header(m) > 8192)
			sh.long_header++;
		if (max_run(out.data + r, body, "[", 1) >= 1000 ||
		    max_run(out.data + r, body, "{\"a\":", 5) >= 1000 ||
		    max_run(out.data + r, body, "[{\"a\":", 6) >= 500)
			sh.deep++;
		{
			size_t d = max_run(out.data + r, body, "[", 1), a;

			a = max_run(out.data + r, body, "{\"a\":", 5);
			if (a > d)
				d = a;
			if (d >= 17 && d <= 100)
				sh.moderate++;
			a = max_run(out.data + r, body, "A", 1);
			if (a >= 255 && a <= 257)
				sh.str256++;
			a = longest_header(m);
			if (a > 1000 && a <= 8192)
				sh.hdr4k++;
		}
		if (info.parent != 0 || info.framing)
			continue;
		sh.parent0++;
		if ((q = memfind(out.data + r, body, "\"quantity\":")) != NULL) {
			q += strlen("\"quantity\":");
			if (q < out.data + out.len && *q == '-')
				sh.neg_quantity++;
			else if (q < out.data + out.len && *q != '2')
				sh.wrong_type_quantity++;
		} else if (body > 0 && memfind(out.data + r, body,
		    "\"item\":\"widget\"") != NULL)
			sh.missing_quantity++;
	}
	mut_engine_free(e);

	ASSERT(sh.cl_checked > 10000);
	ASSERT_EQ(bad_cl, 0);
	ASSERT(from0 > 5000 && from1 > 5000);
	ASSERT_EQ(auth_kept, from0);
	ASSERT_EQ(cookie_kept, from1);
	for (op = 0; op < mut_op_count(); op++) {
		if (opcount[op] == 0)
			UNIT_FAIL("operator %s never applied",
			    mut_op_name(op));
		ASSERT(opcount[op] > 0);
	}
	/* At least 0.5% of the mutants of the JSON order for each shape. */
	fprintf(stderr, "parent0 %zu: negative quantity %zu, missing %zu, "
	    "wrong type %zu; all: long header %zu, deep %zu, cl over %zu, "
	    "nesting 17-100 %zu, string 255-257 %zu, header 1-8 KiB %zu\n",
	    sh.parent0, sh.neg_quantity, sh.missing_quantity,
	    sh.wrong_type_quantity, sh.long_header, sh.deep, sh.cl_over,
	    sh.moderate, sh.str256, sh.hdr4k);
	/* The ladder: moderate sizes as well as extreme ones (of the
	 * JSON-bodied quarter for nesting and strings). */
	ASSERT(sh.moderate * 400 >= 50000 / 4);
	ASSERT(sh.str256 * 400 >= 50000 / 4);
	ASSERT(sh.hdr4k * 500 >= 50000);
	ASSERT(sh.neg_quantity * 200 >= from0);
	ASSERT(sh.missing_quantity * 200 >= from0);
	ASSERT(sh.wrong_type_quantity * 200 >= from0);
	ASSERT(sh.long_header * 200 >= 50000);
	ASSERT(sh.deep * 200 >= 50000 / 4);
	ASSERT(sh.cl_over * 200 >= 50000);

	/* With MUT_MUTATE_AUTH the credentials are fair game. */
	e = mut_engine_create(c, 7, MUT_MUTATE_AUTH);
	auth_kept = from0 = 0;
	for (i = 0; i < 20000; i++) {
		mut_next(e, &out, &info);
		if (info.parent != 0)
			continue;
		from0++;
		if (memfind(out.data, out.len,
		    "\r\nAuthorization: Bearer secret-token\r\n"))
			auth_kept++;
	}
	ASSERT(auth_kept < from0);
	mut_engine_free(e);

	/* MUT_NO_FRAMING: every parsed mutant is honestly framed. */
	e = mut_engine_create(c, 9, MUT_NO_FRAMING);
	for (i = 0; i < 20000; i++) {
		mut_next(e, &out, &info);
		/* The unparsed entry promises nothing. */
		ASSERT(info.framing == 0 || info.parent == NREQ - 1);
		ASSERT(info.op != MUT_OP_CL_LIE && info.op != MUT_OP_TE_LIE);
	}
	mut_engine_free(e);
	buf_free(&out);
	free(m);
}

/* How many of entry's sweep mutants contain needle (and, with !want,
 * lack it): mutants made through mut_make(MUT_SWEEP, k). */
static size_t
sweep_hits(struct mut_engine *e, size_t entry, const char *needle, int want)
{
	struct buf	x;
	size_t		k, n = mut_sweep_count(e, entry), hits = 0;

	buf_init(&x);
	for (k = 0; k < n; k++) {
		mut_make(e, k, entry, MUT_SWEEP, (int32_t)k, &x, NULL);
		hits += (memfind(x.data, x.len, needle) != NULL) == want;
	}
	buf_free(&x);
	return hits;
}

/* The body after the head, and whether Content-Length (if any) says
 * its length. */
static int
sweep_framed(const struct buf *x)
{
	const char	*h = memfind(x->data, x->len, "\r\n\r\n");
	const char	*cl = memfind(x->data, x->len, "Content-Length: ");
	size_t		 body;

	if (h == NULL)
		return 0;
	body = x->len - (size_t)(h + 4 - x->data);
	if (cl == NULL || cl > h)
		return body == 0 || memfind(x->data, x->len,
		    "Transfer-Encoding") != NULL;
	return strtoull(cl + 16, NULL, 10) == body;
}

/*
 * The sweep (mutate.h, MUT_SWEEP): every field of every entry once per
 * class that applies to it, items class-major, each mutant the one edit
 * it says, well framed, made again from (seed, number, entry, item)
 * whatever came before, auth headers untouched.
 */
static void
test_sweep(const struct mut_corpus *c)
{
	struct mut_engine	*a, *b;
	struct mut_sweep_item	 it;
	struct mut_info		 ia;
	struct buf		 x, y;
	size_t			 n = mut_corpus_count(c), ent, k, cnt, f;
	unsigned		 cls, prev;
	static unsigned char	 seen[64][4096];

	buf_init(&x);
	buf_init(&y);
	a = mut_engine_create(c, 5, 0);
	b = mut_engine_create(c, 5, 0);
	ASSERT_EQ(mut_sweep_count(a, 4), 0);	/* not HTTP */
	mut_make(a, 0, 4, MUT_SWEEP, 0, &x, &ia);
	ASSERT(ia.first_op < MUT_OP_COUNT);	/* an ordinary mutant */
	ASSERT_STR_EQ(mut_op_name(MUT_SWEEP), "sweep");
	for (ent = 0; ent < n; ent++) {
		cnt = mut_sweep_count(a, ent);
		memset(seen, 0, sizeof seen);
		prev = 0;
		for (k = 0; k < cnt; k++) {
			ASSERT_EQ(mut_sweep_item(a, ent, k, &it), 0);
			ASSERT(it.cls >= prev);	/* class-major */
			prev = it.cls;
			ASSERT(it.target < 4096 && it.kind < 8);
			/* Once per (kind, target, class). */
			ASSERT_EQ(seen[it.kind * 8 + it.cls % 8][it.target] &
			    (1u << (it.cls / 8)), 0);
			seen[it.kind * 8 + it.cls % 8][it.target] |=
			    (unsigned char)(1u << (it.cls / 8));
			ASSERT(it.arm_op < MUT_OP_COUNT);
			ASSERT(mut_op_weight_of(a, ent, it.arm_op) > 0);
			ASSERT_EQ(it.arm_field, it.kind == MUT_SW_JSON ?
			    (int32_t)it.target : -1);
			mut_make(a, 100 + k, ent, MUT_SWEEP, (int32_t)k, &x,
			    &ia);
			ASSERT_EQ(ia.first_op, MUT_SWEEP);
			ASSERT_EQ(ia.op, MUT_SWEEP);
			ASSERT_EQ(ia.field, (int32_t)k);
			ASSERT_EQ(ia.nops, 1);
			ASSERT_EQ(ia.framing, 0);
			ASSERT(sweep_framed(&x));
			/* Pure: made again by another engine, other mutants
			 * in between. */
			mut_make(b, 7, 0, MUT_OP_J_DEEP, -1, &y, NULL);
			mut_make(b, 100 + k, ent, MUT_SWEEP, (int32_t)k, &y,
			    NULL);
			ASSERT(x.len == y.len && memcmp(x.data, y.data,
			    x.len) == 0);
		}
		ASSERT_EQ(mut_sweep_item(a, ent, cnt, &it), -1);
		/* Every field removed once, made null once unless it is
		 * (entry 3's last member). */
		for (f = 0; f < mut_entry_fields(a, ent); f++)
			for (cls = 0; cls < mut_sweep_class_count(); cls++) {
				int null = strcmp(mut_sweep_class_name(cls),
				    "null") == 0;

				if (!null && strcmp(mut_sweep_class_name(cls),
				    "removed") != 0)
					continue;
				ASSERT((seen[MUT_SW_JSON * 8 + cls % 8][f] &
				    (1u << (cls / 8))) || (null && ent == 3 &&
				    f == 3));
			}
	}
	/* The order entry: 6 members, 2 tags, 2 customer members. */
	ASSERT_EQ(mut_entry_fields(a, 0), 10);
	ASSERT_EQ(sweep_hits(a, 0, "\"quantity\"", 0), 1);
	ASSERT_EQ(sweep_hits(a, 0, "\"quantity\":2147483648,", 1), 1);
	ASSERT_EQ(sweep_hits(a, 0, "\"quantity\":-2147483649,", 1), 1);
	ASSERT_EQ(sweep_hits(a, 0, "\"quantity\":1.5,", 1), 1);
	ASSERT_EQ(sweep_hits(a, 0, "\"quantity\":\"2\",", 1), 1);
	ASSERT_EQ(sweep_hits(a, 0, "\"quantity\":null,", 1), 1);
	ASSERT_EQ(sweep_hits(a, 0, "\"quantity\":\"\",", 1), 1);
	ASSERT_EQ(sweep_hits(a, 0, "\"price\":1.5,", 1), 0);	/* 9.99 */
	ASSERT_EQ(sweep_hits(a, 0, "\"price\":1e308,", 1), 1);
	ASSERT_EQ(sweep_hits(a, 0, "\"item\":1,", 1), 1);
	ASSERT_EQ(sweep_hits(a, 0, "\"name\":\"AAAAAAAA", 1), 1);
	ASSERT_EQ(sweep_hits(a, 0, "\"id\":9223372036854775808,", 1), 1);
	ASSERT_EQ(sweep_hits(a, 0, "\"gift\":\"false\"}", 1), 1);
	ASSERT_EQ(sweep_hits(a, 0, "Authorization: Bearer secret-token\r\n",
	    1), mut_sweep_count(a, 0));
	/* Query, path, headers: limit=10, expand=items, /v1/orders/17. */
	ASSERT_EQ(sweep_hits(a, 1, "limit", 0), 1);
	ASSERT_EQ(sweep_hits(a, 1, "limit= HTTP", 1), 1);
	ASSERT_EQ(sweep_hits(a, 1, "limit=a HTTP", 1), 1);
	ASSERT_EQ(sweep_hits(a, 1, "limit=2147483647 HTTP", 1), 1);
	ASSERT_EQ(sweep_hits(a, 1, "expand=1&", 1), 1);
	ASSERT_EQ(sweep_hits(a, 1, "expand=0&", 1), 0);	/* a word */
	ASSERT_EQ(sweep_hits(a, 1, "/v1/orders/-1?", 1), 1);
	/* Only the parameter 17 is swept, not the route (v1, orders). */
	ASSERT_EQ(sweep_hits(a, 1, "/v1/orders?", 1), 1);
	ASSERT_EQ(sweep_hits(a, 1, "/v1/orders/a?", 1), 1);
	ASSERT_EQ(sweep_hits(a, 1, "/v1/17?", 1), 0);
	ASSERT_EQ(sweep_hits(a, 1, "GET /orders/17?", 1), 0);
	ASSERT_EQ(sweep_hits(a, 1, "/v1/1/17?", 1), 0);
	ASSERT_EQ(sweep_hits(a, 1, "Accept: */*AAAA", 1), 1);
	ASSERT_EQ(sweep_hits(a, 1, "X-Pad-0016", 1), 2);	/* 17, 65 */
	ASSERT_EQ(sweep_hits(a, 1, "X-Pad-0064", 1), 1);
	ASSERT_EQ(sweep_hits(a, 1, "X-Pad-0065", 1), 0);
	ASSERT_EQ(sweep_hits(a, 1, "Cookie: session=abc123\r\n", 1),
	    mut_sweep_count(a, 1));
	/* Form: "remember" has no value: a number is "remember=1". */
	ASSERT_EQ(sweep_hits(a, 2, "&remember=1", 1), 1);
	ASSERT_EQ(sweep_hits(a, 2, "user=&", 1), 1);
	/* The chunked entry: its JSON, re-framed by length. */
	ASSERT_EQ(sweep_hits(a, 3, "\"stock\":2147483648,", 1), 1);
	mut_engine_free(a);
	mut_engine_free(b);
	buf_free(&x);
	buf_free(&y);
}

static void
test_names(void)
{
	unsigned	i, j;

	ASSERT(mut_op_count() >= 20);
	for (i = 0; i < mut_op_count(); i++) {
		ASSERT(strcmp(mut_op_name(i), "unknown") != 0);
		for (j = 0; j < i; j++)
			ASSERT(strcmp(mut_op_name(i), mut_op_name(j)) != 0);
	}
	ASSERT_STR_EQ(mut_op_name(mut_op_count()), "unknown");
	ASSERT_EQ(mut_op_count(), MUT_OP_COUNT);
	ASSERT_STR_EQ(mut_op_name(MUT_OP_CL_LIE), "http.cl_lie");
	ASSERT_STR_EQ(mut_op_name(MUT_OP_TE_LIE), "http.te_lie");
	ASSERT_STR_EQ(mut_op_name(MUT_OP_J_DEEP), "json.deep_nesting");
	ASSERT_STR_EQ(mut_op_name(MUT_OP_DICT), "dict.replace");
}

static void
test_mutate_buf(const struct mut_corpus *c)
{
	struct mut_engine	*e, *empty_e;
	struct mut_corpus	*empty;
	uint8_t			 a[4096], b[4096], orig[4096];
	size_t			 i, k, la, lb, len, max, changed = 0;
	uint64_t		 x = 1;

	e = mut_engine_create(c, 1, 0);
	empty = mut_corpus_create();
	empty_e = mut_engine_create(empty, 1, 0);
	for (i = 0; i < 3000; i++) {
		const char *src = corpus_reqs[i % NREQ];

		len = strlen(src);
		if (i % 3 == 2) {
			/* Random bytes. */
			len = i % 200;
			for (k = 0; k < len; k++) {
				x = x * 6364136223846793005ULL + 1;
				a[k] = (uint8_t)(x >> 56);
			}
			memcpy(b, a, len);
		} else {
			memcpy(a, src, len);
			memcpy(b, src, len);
		}
		memcpy(orig, a, len);
		max = i % 5 == 0 ? len : sizeof a;
		la = mut_mutate_buf(i % 2 ? e : empty_e, a, len, max, i);
		lb = mut_mutate_buf(i % 2 ? e : empty_e, b, len, max, i);
		ASSERT(la <= max);
		ASSERT_EQ(la, lb);
		ASSERT(memcmp(a, b, la) == 0);
		if (la != len || memcmp(a, orig, la) != 0)
			changed++;
	}
	ASSERT(changed > 2500);
	mut_engine_free(e);
	mut_engine_free(empty_e);

	/* An engine over an empty corpus gives empty mutants. */
	{
		struct buf	out;
		struct mut_info	info;

		buf_init(&out);
		e = mut_engine_create(empty, 3, 0);
		mut_next(e, &out, &info);
		ASSERT_EQ(out.len, 0);
		mut_engine_free(e);
		buf_free(&out);
	}
	mut_corpus_free(empty);
}

static void
write_file(const char *path, const char *s)
{
	FILE	*f = fopen(path, "wb");

	if (f == NULL) {
		UNIT_FAIL("%s: cannot create", path);
		return;
	}
	fputs(s, f);
	fclose(f);
}

static void
test_load_dir(void)
{
	char			 dir[] = "/tmp/test-mutate.XXXXXX", path[512];
	struct mut_corpus	*c;
	char			*cause = NULL;
	const char		*p;
	size_t			 len;

	if (mkdtemp(dir) == NULL) {
		UNIT_FAIL("mkdtemp failed");
		return;
	}
	c = mut_corpus_create();
	ASSERT_EQ(mut_corpus_load_dir(c, dir, &cause), -1);
	ASSERT(cause != NULL && strstr(cause, "no .http") != NULL);
	free(cause);
	cause = NULL;

	snprintf(path, sizeof path, "%s/b.http", dir);
	write_file(path, corpus_reqs[1]);
	snprintf(path, sizeof path, "%s/a.http", dir);
	write_file(path, corpus_reqs[0]);
	snprintf(path, sizeof path, "%s/index.json", dir);
	write_file(path, "{}");
	ASSERT_EQ(mut_corpus_load_dir(c, dir, &cause), 0);
	ASSERT_EQ(mut_corpus_count(c), 2);
	p = mut_corpus_entry(c, 0, &len);
	ASSERT(p != NULL && len == strlen(corpus_reqs[0]) &&
	    memcmp(p, corpus_reqs[0], len) == 0);
	p = mut_corpus_entry(c, 1, &len);
	ASSERT(p != NULL && len == strlen(corpus_reqs[1]));
	ASSERT(mut_corpus_entry(c, 2, &len) == NULL && len == 0);
	mut_corpus_free(c);

	snprintf(path, sizeof path, "%s/a.http", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/b.http", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/index.json", dir);
	unlink(path);
	rmdir(dir);

	c = mut_corpus_create();
	ASSERT_EQ(mut_corpus_load_dir(c, "/nonexistent/decoy", &cause), -1);
	ASSERT(cause != NULL && strstr(cause, "/nonexistent/decoy") != NULL);
	free(cause);
	mut_corpus_free(c);
}

int
main(void)
{
	struct mut_corpus	*c;

	test_names();
	c = make_corpus();
	test_determinism(c);
	test_make(c);
	test_stream(c);
	test_mutate_buf(c);
	test_sweep(c);
	mut_corpus_free(c);
	test_load_dir();
	UNIT_DONE();
}
