/*
 * json.c -- strict JSON cursor reader and string writer (see json.h).
 *
 * Strings are scanned once to validate them (escapes, surrogate pairs,
 * UTF-8, no raw control characters) and, only when the caller wants the
 * bytes, decoded in a second pass that can then trust the input.  A byte
 * class table keeps the common case -- printable ASCII -- to one load and
 * one compare per byte.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "buf.h"
#include "json.h"

/* 0: copied as is; 1: '"', '\\' or a control character; 2: not ASCII. */
static const unsigned char json_class[256] = {
	[0x00 ... 0x1f] = 1,
	['"'] = 1,
	['\\'] = 1,
	[0x80 ... 0xff] = 2,
};

static int	json_skip_value(struct json_parser *, struct json_value *);

#define JSON_ONES	0x0101010101010101ULL
#define JSON_HIGHS	0x8080808080808080ULL

/* True if no byte of w is zero (exact as a yes/no answer). */
#define JSON_HASZERO(w)	(((w) - JSON_ONES) & ~(w) & JSON_HIGHS)

/*
 * Zero if the eight bytes at s are all class 0 (printable ASCII other
 * than '"' and '\\'), tested a word at a time: strings are mostly that.
 * Otherwise the flagged bytes have their high bit set, and the lowest
 * flagged byte is exactly the first byte that is not class 0 (the
 * borrows only run upwards from it).
 */
static inline uint64_t
json_special8(const unsigned char *s)
{
	uint64_t	w, q, b;

	memcpy(&w, s, sizeof w);
	q = w ^ (JSON_ONES * '"');
	b = w ^ (JSON_ONES * '\\');
	return (w & JSON_HIGHS) | ((w - JSON_ONES * 0x20) & ~w & JSON_HIGHS) |
	    JSON_HASZERO(q) | JSON_HASZERO(b);
}

static inline int
json_plain8(const unsigned char *s)
{
	return json_special8(s) == 0;
}

/* True if none of the eight bytes at s is a backslash. */
static inline int
json_nobs8(const unsigned char *s)
{
	uint64_t	w;

	memcpy(&w, s, sizeof w);
	w ^= JSON_ONES * '\\';
	return JSON_HASZERO(w) == 0;
}

void
json_init(struct json_parser *p, const char *buf, size_t len)
{
	p->buf = buf;
	p->len = len;
	p->off = 0;
	p->depth = 0;
	p->first = 0;
	p->error = NULL;
	p->error_off = 0;
	p->errbuf[0] = '\0';
}

int
json_fail(struct json_parser *p, size_t off, const char *fmt, ...)
{
	va_list	ap;

	if (p->error != NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->errbuf, sizeof p->errbuf, fmt, ap);
	va_end(ap);
	p->error = p->errbuf;
	p->error_off = off;
	return -1;
}

/* Skips whitespace; a byte above ' ' ends it at one comparison (snapshot
 * lines have none between tokens). */
static inline void
json_ws(struct json_parser *p)
{
	const unsigned char	*s = (const unsigned char *)p->buf;
	size_t			 off = p->off;

	while (off < p->len && s[off] <= ' ' && (s[off] == ' ' ||
	    s[off] == '\t' || s[off] == '\n' || s[off] == '\r'))
		off++;
	p->off = off;
}

/* The type of the value a byte starts, JSON_INVALID if none. */
static const unsigned char json_starts[256] = {
	['{'] = JSON_OBJECT, ['['] = JSON_ARRAY, ['"'] = JSON_STRING,
	['t'] = JSON_BOOL, ['f'] = JSON_BOOL, ['n'] = JSON_NULL,
	['-'] = JSON_NUMBER, ['0' ... '9'] = JSON_NUMBER,
};

/* Names the byte at off for an error message. */
static int
json_unexpected(struct json_parser *p, const char *expected)
{
	unsigned char	c;

	if (p->off >= p->len)
		return json_fail(p, p->off, "unexpected end of line, expected %s",
		    expected);
	c = (unsigned char)p->buf[p->off];
	if (c > 0x20 && c < 0x7f)
		return json_fail(p, p->off, "unexpected '%c', expected %s", c,
		    expected);
	return json_fail(p, p->off, "unexpected byte 0x%02x, expected %s", c,
	    expected);
}

size_t
json_utf8_seq(const unsigned char *s, size_t avail)
{
	unsigned char	c = s[0], lo = 0x80, hi = 0xbf;

	if (c < 0x80)
		return 1;
	if (c < 0xc2)
		return 0;	/* continuation byte or overlong lead */
	if (c < 0xe0) {
		if (avail < 2 || s[1] < 0x80 || s[1] > 0xbf)
			return 0;
		return 2;
	}
	if (c < 0xf0) {
		if (c == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (c == 0xed)
			hi = 0x9f;	/* surrogates */
		if (avail < 3 || s[1] < lo || s[1] > hi ||
		    s[2] < 0x80 || s[2] > 0xbf)
			return 0;
		return 3;
	}
	if (c < 0xf5) {
		if (c == 0xf0)
			lo = 0x90;	/* overlong */
		else if (c == 0xf4)
			hi = 0x8f;	/* past U+10FFFF */
		if (avail < 4 || s[1] < lo || s[1] > hi ||
		    s[2] < 0x80 || s[2] > 0xbf || s[3] < 0x80 || s[3] > 0xbf)
			return 0;
		return 4;
	}
	return 0;
}

static int
json_hex4(const unsigned char *s, size_t avail, unsigned int *out)
{
	unsigned int	v = 0;
	size_t		i;
	unsigned char	c;

	if (avail < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		c = s[i];
		if (c >= '0' && c <= '9')
			v = v * 16 + (c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + (c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v = v * 16 + (c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t
json_utf8_len(unsigned int cp)
{
	if (cp < 0x80)
		return 1;
	if (cp < 0x800)
		return 2;
	return cp < 0x10000 ? 3 : 4;
}

static size_t
json_put_utf8(char *out, unsigned int cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* buf_append() without the NUL, inlined for the per-escape appends. */
static inline void
json_put(struct buf *b, const void *p, size_t n)
{
	if (b->cap - b->len <= n)
		buf_reserve(b, n);
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

#ifdef __SSE2__
/* A bit per byte of the sixteen at s that is not class 0: '"', '\\',
 * and (one signed compare) below 0x20 or above 0x7f. */
static inline unsigned int
json_special16(const unsigned char *s)
{
	__m128i	v, q, b, c;

	v = _mm_loadu_si128((const __m128i *)(const void *)s);
	q = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
	b = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
	c = _mm_cmplt_epi8(v, _mm_set1_epi8(0x20));
	return (unsigned int)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(q,
	    b), c));
}
#endif

/* The offset of the first byte from s[i] on that is not class 0, or len:
 * sixteen or eight at a time, the lowest flag naming it exactly. */
static inline size_t
json_plain_run(const unsigned char *s, size_t i, size_t len)
{
	uint64_t	w;

#ifdef __SSE2__
	unsigned int	m;

	for (; len - i >= 16; i += 16) {
		if ((m = json_special16(s + i)) != 0)
			return i + (size_t)__builtin_ctz(m);
	}
#endif
	for (; len - i >= 8; i += 8) {
		if ((w = json_special8(s + i)) != 0) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
			return i + ((size_t)__builtin_ctzll(w) >> 3);
#else
			break;
#endif
		}
	}
	while (i < len && json_class[s[i]] == 0)
		i++;
	return i;
}

/*
 * Where json_scan_string() puts the decoded bytes: appended to buf, or
 * (buf NULL) written over the string's own bytes in here, the parser's
 * buffer, at offset w.  Decoded text is never longer than its source, so
 * w never passes the byte being read.
 */
struct json_sink {
	struct buf	*buf;
	char		*here;
	size_t		 w;
	int		 apart;		/* here is not the parser's buffer */
};

/*
 * Copies n bytes from s down to d < s, a word at a time: each word is
 * read before its bytes are written, and no write reaches a byte not yet
 * read, so the overlap is safe.  (The runs between escapes are short: a
 * memmove call apiece cost more than the copy.)
 */
static inline void
json_move_down(char *d, const char *s, size_t n, size_t avail)
{
	uint64_t	w, tail;

	if (n >= 8) {
		/*
		 * The last eight bytes are read first and stored last, over
		 * the words' (the same values): no byte loop for the rest.
		 * Nothing at or past s + n is written (d < s).
		 */
		memcpy(&tail, s + n - 8, sizeof tail);
		for (; n >= 8; n -= 8, d += 8, s += 8) {
			memcpy(&w, s, sizeof w);
			memcpy(d, &w, sizeof w);
		}
		memcpy(d + n - 8, &tail, sizeof tail);
		return;
	}
	/*
	 * A short run as one word when eight bytes can be read at s and
	 * written at d without reaching s + n: the bytes past the run land
	 * where the output goes next.
	 */
	if (avail >= 8 && (size_t)(s - d) >= 8 - n) {
		memcpy(&w, s, sizeof w);
		memcpy(d, &w, sizeof w);
		return;
	}
	while (n-- > 0)
		*d++ = *s++;
}

/*
 * Copies n bytes from s to d in another buffer: a run of at most 16
 * bytes as one 16-byte copy when 16 bytes can be read at s (d has room:
 * see json_read_string_here), no length-dependent branch.
 */
static inline void
json_copy_apart(char *d, const char *s, size_t n, size_t avail)
{
	if (n <= 16 && avail >= 16)
		memcpy(d, s, 16);
	else
		memcpy(d, s, n);
}

/* n bytes from src to k; avail bytes can be read at src (>= n). */
static inline void
json_sink_put(struct json_sink *k, const void *src, size_t n, size_t avail)
{
	if (k->buf != NULL)
		json_put(k->buf, src, n);
	else if (k->apart) {
		json_copy_apart(k->here + k->w, src, n, avail);
		k->w += n;
	} else {
		/* Before the first escape the bytes are already there. */
		if (k->here + k->w != (const char *)src)
			json_move_down(k->here + k->w, src, n, avail);
		k->w += n;
	}
}

/* A decoded escape (at most 4 bytes) to k. */
static inline void
json_sink_dec(struct json_sink *k, const char *dec, size_t n)
{
	size_t	i;

	if (k->buf != NULL)
		json_put(k->buf, dec, n);
	else {
		for (i = 0; i < n; i++)
			k->here[k->w++] = dec[i];
	}
}

#ifdef __SSE2__
/* What a simple escape's letter decodes to; 0: not one (\\u, or bad). */
static const char json_unescape[256] = {
	['"'] = '"', ['\\'] = '\\', ['/'] = '/', ['b'] = '\b', ['f'] = '\f',
	['n'] = '\n', ['r'] = '\r', ['t'] = '\t',
};

/*
 * The scan's inner loop for a sink apart, where every byte is copied
 * anyway: each block of sixteen is stored whole whatever it holds, the
 * bytes before its first special byte then count as copied, and a
 * simple escape is decoded on the spot, so an escape every few bytes
 * costs one block test, not a scan and a copy of its own.  Returns the
 * offset of the first byte it leaves to the general loop (the closing
 * quote, a \u escape, a byte that is not ASCII, an error, the last
 * fifteen bytes), everything before it copied.
 */
static inline size_t
json_apart_run(const unsigned char *s, size_t i, size_t len,
    struct json_sink *k, int *escaped)
{
	char		*d = k->here;
	size_t		 w = k->w, n;
	unsigned int	 m;
	char		 c;

	while (len - i >= 16) {
		m = json_special16(s + i);
		/* w <= i: the store ends before len. */
		memcpy(d + w, s + i, 16);
		if (m == 0) {
			i += 16;
			w += 16;
			continue;
		}
		n = (size_t)__builtin_ctz(m);
		i += n;
		w += n;
		if (s[i] != '\\' || i + 1 >= len ||
		    (c = json_unescape[s[i + 1]]) == 0)
			break;
		d[w++] = c;
		i += 2;
		*escaped = 1;
	}
	k->w = w;
	return i;
}
#endif

/*
 * Validates the string token at p->off (which holds '"') and sets *end to
 * the offset just past its closing quote and *escaped if it holds a
 * backslash.  If out is not NULL the decoded bytes go to it in the same
 * pass (partially, on error), NUL-terminated.  The cursor does not move.
 */
static int
json_scan_string(struct json_parser *p, size_t *end, int *escaped,
    struct json_sink *out)
{
	const unsigned char	*s = (const unsigned char *)p->buf;
	size_t			 i = p->off + 1, len = p->len, n, run = i;
	unsigned int		 cp, lo;
	unsigned char		 c;
	char			 dec[4];

	*escaped = 0;
	for (;;) {
#ifdef __SSE2__
		if (out != NULL && out->apart) {
			/* What a multi-byte character left pending first. */
			if (run != i)
				json_sink_put(out, s + run, i - run, len - run);
			run = i = json_apart_run(s, i, len, out, escaped);
		}
#endif
		i = json_plain_run(s, i, len);
		if (i >= len)
			return json_fail(p, p->off, "unterminated string");
		c = s[i];
		if (c == '"')
			break;
		if (c >= 0x80) {
			if ((n = json_utf8_seq(s + i, len - i)) == 0)
				return json_fail(p, i, "invalid UTF-8 in string");
			i += n;
			continue;
		}
		if (c != '\\')
			return json_fail(p, i,
			    "control character 0x%02x in string", c);
		*escaped = 1;
		if (out != NULL)
			json_sink_put(out, s + run, i - run, len - run);
		if (i + 1 >= len)
			return json_fail(p, p->off, "unterminated string");
		n = 1;
		switch (s[i + 1]) {
		case '"': case '\\': case '/':
			dec[0] = (char)s[i + 1];
			break;
		case 'b': dec[0] = '\b'; break;
		case 'f': dec[0] = '\f'; break;
		case 'n': dec[0] = '\n'; break;
		case 'r': dec[0] = '\r'; break;
		case 't': dec[0] = '\t'; break;
		case 'u':
			n = 0;
			break;
		default:
			return json_fail(p, i, "bad escape in string");
		}
		if (n == 1) {
			if (out != NULL)
				json_sink_dec(out, dec, 1);
			i += 2;
			run = i;
			continue;
		}
		if (json_hex4(s + i + 2, len - i - 2, &cp) == -1)
			return json_fail(p, i, "bad \\u escape in string");
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return json_fail(p, i, "lone low surrogate in string");
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (i + 7 >= len || s[i + 6] != '\\' || s[i + 7] != 'u' ||
			    json_hex4(s + i + 8, len - i - 8, &lo) == -1 ||
			    lo < 0xdc00 || lo > 0xdfff)
				return json_fail(p, i,
				    "lone high surrogate in string");
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			i += 12;
		} else
			i += 6;
		if (out != NULL)
			json_sink_dec(out, dec, json_put_utf8(dec, cp));
		run = i;
	}
	if (out != NULL) {
		json_sink_put(out, s + run, i - run, len - run);
		if (out->buf == NULL)
			out->here[out->w] = '\0';
		else {
			if (out->buf->cap == 0)
				buf_reserve(out->buf, 0);
			out->buf->data[out->buf->len] = '\0';
		}
	}
	*end = i + 1;
	return 0;
}

/*
 * json_scan_string() for the usual string: one whose first byte that is
 * not class 0 is its closing quote, within the first four blocks of
 * sixteen.  Keys and most values are that (a timestamp, a host:port);
 * they then cost a block test or a few, not a call of the general
 * scanner.
 */
static inline int
json_scan_short(struct json_parser *p, size_t *end, int *escaped,
    struct json_sink *out)
{
#ifdef __SSE2__
	const unsigned char	*s = (const unsigned char *)p->buf;
	size_t			 i = p->off + 1, j = i, k, n;
	unsigned int		 m = 0;

	while (p->len - j >= 16 && j - i < 64 &&
	    (m = json_special16(s + j)) == 0)
		j += 16;
	if (m != 0 && s[j + (n = (size_t)__builtin_ctz(m))] == '"') {
		n += j - i;
		*escaped = 0;
		*end = i + n + 1;
		if (out == NULL)
			return 0;
		if (out->buf != NULL) {
			json_put(out->buf, s + i, n);
			out->buf->data[out->buf->len] = '\0';
			return 0;
		}
		/* out->w is i: the bytes go where they are read from, each
		 * block tested read whole (the last ends before p->len). */
		if (out->apart) {
			for (k = i; k <= j; k += 16)
				memcpy(out->here + k, s + k, 16);
		}
		out->w = i + n;
		out->here[out->w] = '\0';
		return 0;
	}
#endif
	return json_scan_string(p, end, escaped, out);
}

/*
 * Decodes the contents s[0..n) of a string already validated by
 * json_scan_string into out, which has room for cap bytes.  Returns the
 * decoded length, or (size_t)-1 if it would not fit.  Decoded text is
 * never longer than its source.
 */
static size_t
json_decode(const unsigned char *s, size_t n, char *out, size_t cap)
{
	size_t			 o = 0, run;
	unsigned int		 cp = 0, lo = 0xdc00;
	char			 c;

	while (n > 0) {
		/* Runs between escapes are short in escaped text. */
		run = 0;
		while (n - run >= 8 && json_nobs8(s + run))
			run += 8;
		while (run < n && s[run] != '\\')
			run++;
		if (run > cap - o)
			return (size_t)-1;
		memcpy(out + o, s, run);
		o += run;
		s += run;
		n -= run;
		if (n == 0)
			break;
		if (cap - o < 1)
			return (size_t)-1;
		switch (s[1]) {
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'u':
			json_hex4(s + 2, 4, &cp);
			if (cp >= 0xd800 && cp <= 0xdbff) {
				json_hex4(s + 8, 4, &lo);
				cp = 0x10000 + ((cp - 0xd800) << 10) +
				    (lo - 0xdc00);
				s += 6;
				n -= 6;
			}
			if (cap - o < 4 && cap - o < json_utf8_len(cp))
				return (size_t)-1;
			o += json_put_utf8(out + o, cp);
			s += 6;
			n -= 6;
			continue;
		default: c = (char)s[1]; break;	/* '"', '\\', '/' */
		}
		out[o++] = c;
		s += 2;
		n -= 2;
	}
	return o;
}

static int
json_scan_number(struct json_parser *p, size_t *end)
{
	const char	*s = p->buf;
	size_t		 i = p->off, len = p->len;

	if (i < len && s[i] == '-')
		i++;
	if (i < len && s[i] == '0') {
		i++;
		if (i < len && s[i] >= '0' && s[i] <= '9')
			return json_fail(p, i - 1, "leading zero in number");
	} else if (i < len && s[i] >= '1' && s[i] <= '9') {
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	} else
		return json_fail(p, p->off, "bad number");
	if (i < len && s[i] == '.') {
		i++;
		if (i >= len || s[i] < '0' || s[i] > '9')
			return json_fail(p, p->off, "bad number");
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= len || s[i] < '0' || s[i] > '9')
			return json_fail(p, p->off, "bad number");
		while (i < len && s[i] >= '0' && s[i] <= '9')
			i++;
	}
	*end = i;
	return 0;
}

static int
json_enter(struct json_parser *p, char open, const char *what)
{
	if (p->error != NULL)
		return -1;
	json_ws(p);
	if (p->off >= p->len || p->buf[p->off] != open)
		return json_unexpected(p, what);
	if (p->depth >= JSON_MAX_DEPTH)
		return json_fail(p, p->off, "nested deeper than %d levels",
		    JSON_MAX_DEPTH);
	p->depth++;
	p->off++;
	p->first = 1;
	return 0;
}

int
json_object_enter(struct json_parser *p)
{
	return json_enter(p, '{', "an object");
}

int
json_array_enter(struct json_parser *p)
{
	return json_enter(p, '[', "an array");
}

int
json_object_next(struct json_parser *p, struct json_value *key)
{
	return json_object_next_as(p, key, NULL, 0);
}

/* The k (4 or 2) bytes at a as a number. */
static inline uint32_t
json_load_word(const char *a, size_t k)
{
	uint32_t	x4;
	uint16_t	x2;

	if (k == 4) {
		memcpy(&x4, a, 4);
		return x4;
	}
	memcpy(&x2, a, 2);
	return x2;
}

/* The n bytes at a and b are equal: a word (or two overlapping halves, or
 * quarters) at a time, never reading outside either run.  Names are a few
 * bytes: no call to memcmp(), and no loop of bytes. */
static inline int
json_bytes_eq(const char *a, const char *b, size_t n)
{
	uint64_t	x8, y8;
	size_t		i, k;

	if (n >= 8) {
		for (i = 0; i + 8 < n; i += 8) {
			memcpy(&x8, a + i, 8);
			memcpy(&y8, b + i, 8);
			if (x8 != y8)
				return 0;
		}
		memcpy(&x8, a + n - 8, 8);
		memcpy(&y8, b + n - 8, 8);
		return x8 == y8;
	}
	if (n >= 2) {
		k = n >= 4 ? 4 : 2;
		return ((json_load_word(a, k) ^ json_load_word(b, k)) |
		    (json_load_word(a + n - k, k) ^
		    json_load_word(b + n - k, k))) == 0;
	}
	return n == 0 || a[0] == b[0];
}

/* The member name at p->off (a '"') is exactly name (no escape) and a ':'
 * follows at once: *key set, the cursor past the ':'. */
static inline int
json_key_is(struct json_parser *p, struct json_value *key, const char *name,
    size_t nlen)
{
	const char	*s = p->buf + p->off;

	if (name == NULL || p->len - p->off < nlen + 3 || s[nlen + 1] != '"' ||
	    s[nlen + 2] != ':')
		return 0;
	if (!json_bytes_eq(s + 1, name, nlen))
		return 0;
	key->type = JSON_STRING;
	key->escaped = 0;
	key->p = s;
	key->len = nlen + 2;
	key->off = p->off;
	p->off += nlen + 3;
	return 1;
}

/* json_object_next_as() past its fast path: whitespace, '}', a name other
 * than the expected one, or an error.  Out of line, so that the common
 * case saves and restores no registers for it. */
static __attribute__((noinline)) int
json_object_next_slow(struct json_parser *p, struct json_value *key,
    const char *name, size_t nlen)
{
	size_t	end;
	int	escaped;
	char	c;

	if (p->error != NULL)
		return -1;
	json_ws(p);
	if (p->off >= p->len)
		return json_unexpected(p, p->first ? "a member name or '}'" :
		    "',' or '}'");
	c = p->buf[p->off];
	if (c == '}') {
		p->off++;
		p->depth--;
		p->first = 0;
		return 0;
	}
	if (!p->first) {
		if (c != ',')
			return json_unexpected(p, "',' or '}'");
		p->off++;
		json_ws(p);
		if (p->off >= p->len || p->buf[p->off] != '"')
			return json_unexpected(p, "a member name");
	} else if (c != '"')
		return json_unexpected(p, "a member name or '}'");
	p->first = 0;
	if (json_key_is(p, key, name, nlen)) {
		json_ws(p);
		return 2;
	}
	if (json_scan_short(p, &end, &escaped, NULL) == -1)
		return -1;
	key->type = JSON_STRING;
	key->escaped = escaped;
	key->p = p->buf + p->off;
	key->len = end - p->off;
	key->off = p->off;
	p->off = end;
	json_ws(p);
	if (p->off >= p->len || p->buf[p->off] != ':')
		return json_unexpected(p, "':'");
	p->off++;
	json_ws(p);
	return 1;
}

int
json_object_next_as(struct json_parser *p, struct json_value *key,
    const char *name, size_t nlen)
{
	const char	*s = p->buf;
	size_t		 o = p->off + !p->first;

	/* The expected name right after the '{' or the ',': what the slow
	 * path would find, without its whitespace and '}' checks. */
	if (p->error == NULL && name != NULL && p->len - p->off > nlen + 4 &&
	    (p->first || s[p->off] == ',') && s[o] == '"' &&
	    s[o + nlen + 1] == '"' && s[o + nlen + 2] == ':' &&
	    json_bytes_eq(s + o + 1, name, nlen)) {
		key->type = JSON_STRING;
		key->escaped = 0;
		key->p = s + o;
		key->len = nlen + 2;
		key->off = o;
		p->first = 0;
		p->off = o + nlen + 3;
		if ((unsigned char)s[p->off] <= ' ')
			json_ws(p);
		return 2;
	}
	return json_object_next_slow(p, key, name, nlen);
}

int
json_array_next(struct json_parser *p)
{
	char	c;

	if (p->error != NULL)
		return -1;
	json_ws(p);
	if (p->off >= p->len)
		return json_unexpected(p, p->first ? "a value or ']'" :
		    "',' or ']'");
	c = p->buf[p->off];
	if (c == ']') {
		p->off++;
		p->depth--;
		p->first = 0;
		return 0;
	}
	if (!p->first) {
		if (c != ',')
			return json_unexpected(p, "',' or ']'");
		p->off++;
		json_ws(p);
	}
	p->first = 0;
	return 1;
}

enum json_type
json_peek(struct json_parser *p)
{
	if (p->error != NULL)
		return JSON_INVALID;
	json_ws(p);
	if (p->off >= p->len)
		return JSON_INVALID;
	return (enum json_type)json_starts[(unsigned char)p->buf[p->off]];
}

static int
json_literal(struct json_parser *p, const char *word)
{
	size_t	n = strlen(word);

	if (p->len - p->off < n || memcmp(p->buf + p->off, word, n) != 0)
		return json_fail(p, p->off, "bad literal, expected %s", word);
	p->off += n;
	return 0;
}

static int
json_skip_value(struct json_parser *p, struct json_value *v)
{
	struct json_value	key;
	enum json_type		type;
	size_t			start, end;
	int			r, escaped = 0;

	type = json_peek(p);
	if (p->error != NULL)
		return -1;
	start = p->off;
	switch (type) {
	case JSON_OBJECT:
		if (json_object_enter(p) == -1)
			return -1;
		while ((r = json_object_next(p, &key)) == 1) {
			if (json_skip_value(p, NULL) == -1)
				return -1;
		}
		if (r == -1)
			return -1;
		break;
	case JSON_ARRAY:
		if (json_array_enter(p) == -1)
			return -1;
		while ((r = json_array_next(p)) == 1) {
			if (json_skip_value(p, NULL) == -1)
				return -1;
		}
		if (r == -1)
			return -1;
		break;
	case JSON_STRING:
		if (json_scan_short(p, &end, &escaped, NULL) == -1)
			return -1;
		p->off = end;
		break;
	case JSON_NUMBER:
		if (json_scan_number(p, &end) == -1)
			return -1;
		p->off = end;
		break;
	case JSON_BOOL:
		if (json_literal(p, p->buf[p->off] == 't' ? "true" :
		    "false") == -1)
			return -1;
		break;
	case JSON_NULL:
		if (json_literal(p, "null") == -1)
			return -1;
		break;
	default:
		return json_unexpected(p, "a value");
	}
	p->first = 0;
	if (v != NULL) {
		v->type = type;
		v->escaped = type == JSON_STRING && escaped;
		v->p = p->buf + start;
		v->len = p->off - start;
		v->off = start;
	}
	return 0;
}

int
json_skip(struct json_parser *p, struct json_value *v)
{
	return json_skip_value(p, v);
}

/* Reads the string at the cursor into k; *offp (if not NULL) gets the
 * offset of its opening quote. */
static int
json_read_sink(struct json_parser *p, struct json_sink *k, size_t *offp)
{
	size_t	end, off;
	int	escaped;

	if (json_peek(p) != JSON_STRING)
		return json_unexpected(p, "a string");
	off = p->off;
	if (k->buf == NULL)
		k->w = off + 1;
	if (json_scan_short(p, &end, &escaped, k) == -1)
		return -1;
	if (offp != NULL)
		*offp = off;
	p->off = end;
	p->first = 0;
	return 0;
}

int
json_read_string(struct json_parser *p, struct buf *out, size_t *offp)
{
	struct json_sink	k = { out, NULL, 0, 0 };

	return json_read_sink(p, &k, offp);
}

int
json_read_string_here(struct json_parser *p, char *buf, char **s,
    size_t *len, size_t *offp)
{
	struct json_sink	k = { NULL, buf, 0, buf != p->buf };
	size_t			off;

	if (json_read_sink(p, &k, &off) == -1)
		return -1;
	*s = buf + off + 1;
	*len = k.w - (off + 1);
	if (offp != NULL)
		*offp = off;
	return 0;
}

int
json_read_pair_here(struct json_parser *p, char *buf, char **a,
    size_t *alen, char **b, size_t *blen)
{
	const unsigned char	*s = (const unsigned char *)p->buf;
	size_t			 len = p->len, i = p->off, a0, a1, b0, b1;

	if (p->error != NULL || p->depth >= JSON_MAX_DEPTH || len - i < 7 ||
	    s[i] != '[' || s[i + 1] != '"')
		return 0;
	a0 = i + 2;
	if ((a1 = json_plain_run(s, a0, len)) + 3 >= len || s[a1] != '"' ||
	    s[a1 + 1] != ',' || s[a1 + 2] != '"')
		return 0;
	b0 = a1 + 3;
	if ((b1 = json_plain_run(s, b0, len)) + 1 >= len || s[b1] != '"' ||
	    s[b1 + 1] != ']')
		return 0;
	if (buf != p->buf) {
		memcpy(buf + a0, s + a0, a1 - a0);
		memcpy(buf + b0, s + b0, b1 - b0);
	}
	buf[a1] = '\0';
	buf[b1] = '\0';
	*a = buf + a0;
	*alen = a1 - a0;
	*b = buf + b0;
	*blen = b1 - b0;
	p->off = b1 + 2;
	p->first = 0;
	return 1;
}

int
json_read_int_plain(struct json_parser *p, int64_t *out)
{
	const char	*s = p->buf + p->off;
	size_t		 n = p->len - p->off, i;
	uint64_t	 v = 0;

	if (p->error != NULL || p->off >= p->len)
		return 0;
	/* A nineteenth digit stops the loop: that is left to the caller. */
	for (i = 0; i < n && i < 19 && s[i] >= '0' && s[i] <= '9'; i++)
		v = v * 10 + (uint64_t)(s[i] - '0');
	if (i == 0 || i > 18 || (s[0] == '0' && i > 1) ||
	    (i < n && (s[i] == '.' || s[i] == 'e' || s[i] == 'E')))
		return 0;
	p->off += i;
	p->first = 0;
	*out = (int64_t)v;
	return 1;
}

int
json_number_to_int64(const char *s, size_t len, int64_t *out)
{
	uint64_t	v = 0, limit;
	size_t		i = 0;
	int		neg = 0;

	if (len > 0 && s[0] == '-') {
		neg = 1;
		i++;
	}
	if (i == len)
		return -1;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	/* Eighteen digits or fewer cannot pass it (timestamps in
	 * microseconds have sixteen): no test per digit. */
	for (; len - i <= 18 && i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (limit - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (neg)
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	else
		*out = (int64_t)v;
	return 0;
}

int
json_read_int64(struct json_parser *p, int64_t *out)
{
	size_t	start, end, i;

	if (json_peek(p) != JSON_NUMBER)
		return json_unexpected(p, "an integer");
	start = p->off;
	if (json_scan_number(p, &end) == -1)
		return -1;
	for (i = start; i < end; i++) {
		if (p->buf[i] == '.' || p->buf[i] == 'e' || p->buf[i] == 'E')
			return json_fail(p, start, "expected an integer");
	}
	if (json_number_to_int64(p->buf + start, end - start, out) == -1)
		return json_fail(p, start, "integer out of range");
	p->off = end;
	p->first = 0;
	return 0;
}

int
json_expect(struct json_parser *p, enum json_type want, const char *name,
    const char *what)
{
	if (json_peek(p) != want)
		return json_fail(p, p->off, "\"%s\" must be %s", name, what);
	return 0;
}

int
json_read_cstr(struct json_parser *p, const char *name, char **out)
{
	struct buf	b;
	size_t		off;

	if (json_expect(p, JSON_STRING, name, "a string") == -1)
		return -1;
	buf_init(&b);
	if (json_read_string(p, &b, &off) == -1) {
		buf_free(&b);
		return -1;
	}
	if (b.len > 0 && memchr(b.data, '\0', b.len) != NULL) {
		buf_free(&b);
		return json_fail(p, off, "\"%s\" contains a NUL character",
		    name);
	}
	*out = buf_detach(&b, NULL);
	return 0;
}

int
json_read_bool(struct json_parser *p, int *out)
{
	if (json_peek(p) != JSON_BOOL)
		return json_unexpected(p, "true or false");
	if (p->buf[p->off] == 't') {
		if (json_literal(p, "true") == -1)
			return -1;
		*out = 1;
	} else {
		if (json_literal(p, "false") == -1)
			return -1;
		*out = 0;
	}
	p->first = 0;
	return 0;
}

int
json_finish(struct json_parser *p)
{
	if (p->error != NULL)
		return -1;
	json_ws(p);
	if (p->off < p->len)
		return json_unexpected(p, "the end of the line");
	return 0;
}

int
json_string_eq(const struct json_value *s, const char *name)
{
	const unsigned char	*c = (const unsigned char *)s->p + 1;
	size_t			 n = s->len - 2, nlen = strlen(name), got;
	char			 tmp[64];

	if (!s->escaped)
		return n == nlen && memcmp(c, name, n) == 0;
	/* Escapes only make the raw text longer than what it decodes to. */
	if (n <= nlen || nlen > sizeof tmp)
		return 0;
	got = json_decode(c, n, tmp, sizeof tmp);
	return got == nlen && memcmp(tmp, name, nlen) == 0;
}

/* Input bytes escaped per capacity check (6 output bytes at most each). */
#define JSON_ESC_CHUNK	4096

/*
 * json_append_string() and json_append_text(): with strict set, a NUL or
 * a byte that is not part of valid UTF-8 stops it with -1 (b->len then
 * where it was at the start, the NUL after it restored).
 */
static inline int
json_append_str(struct buf *b, const char *s, size_t len, int strict)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*u = (const unsigned char *)s;
	size_t			 i = 0, end, n, need, back, start = b->len;
	uint64_t		 m;
	char			*o;
	unsigned char		 c;

	/*
	 * Written through a cursor: each chunk of input first makes room for
	 * its worst case (every byte a \u00XX, a UTF-8 sequence running 3
	 * bytes past the chunk, the quotes).  Plain text is copied a word at
	 * a time; a chunk's last bytes are tested and copied as the word that
	 * ends the chunk (the bytes it overlaps were plain too, so they were
	 * copied as they are and sit just before the cursor); everything
	 * else goes byte by byte.
	 */
	end = len < JSON_ESC_CHUNK ? len : JSON_ESC_CHUNK;
	need = 6 * end + 10;
	if (b->cap - b->len <= need)
		buf_reserve(b, need);
	o = b->data + b->len;
	*o++ = '"';
	for (;;) {
		while (i < end) {
			if (end - i >= 8) {
				m = json_special8(u + i);
				memcpy(o, u + i, 8);
				if (m == 0) {
					o += 8;
					i += 8;
					continue;
				}
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
				/*
				 * The lowest flagged byte is exact: the bytes
				 * before it are plain and were just copied.
				 */
				n = (size_t)__builtin_ctzll(m) >> 3;
				o += n;
				i += n;
#endif
			} else if (end >= 8 && json_plain8(u + end - 8)) {
				back = i - (end - 8);
				memcpy(o - back, u + end - 8, 8);
				o += 8 - back;
				i = end;
				break;
			}
			c = u[i];
			if (json_class[c] == 0) {
				*o++ = (char)c;
				i++;
				continue;
			}
			if (c >= 0x80 && (n = json_utf8_seq(u + i, len - i)) !=
			    0) {
				while (n-- > 0)
					*o++ = (char)u[i++];
				continue;
			}
			if (strict && (c == '\0' || c >= 0x80)) {
				b->data[start] = '\0';
				b->len = start;
				return -1;
			}
			*o++ = '\\';
			switch (c) {
			case '"':  *o++ = '"'; break;
			case '\\': *o++ = '\\'; break;
			case '\b': *o++ = 'b'; break;
			case '\f': *o++ = 'f'; break;
			case '\n': *o++ = 'n'; break;
			case '\r': *o++ = 'r'; break;
			case '\t': *o++ = 't'; break;
			default:
				*o++ = 'u';
				*o++ = '0';
				*o++ = '0';
				*o++ = hex[c >> 4];
				*o++ = hex[c & 0xf];
				break;
			}
			i++;
		}
		if (i >= len)
			break;
		/* The next chunk. */
		b->len = (size_t)(o - b->data);
		end = i + (len - i < JSON_ESC_CHUNK ? len - i : JSON_ESC_CHUNK);
		need = 6 * (end - i) + 10;
		if (b->cap - b->len <= need)
			buf_reserve(b, need);
		o = b->data + b->len;
	}
	*o++ = '"';
	*o = '\0';
	b->len = (size_t)(o - b->data);
	return 0;
}

void
json_append_string(struct buf *b, const char *s, size_t len)
{
	(void)json_append_str(b, s, len, 0);
}

int
json_append_text(struct buf *b, const char *s, size_t len)
{
	return json_append_str(b, s, len, 1);
}

void
json_append_compact(struct buf *b, const char *raw, size_t len)
{
	size_t	i, start = 0;
	int	instr = 0;
	char	c;

	buf_reserve(b, len);
	for (i = 0; i < len; i++) {
		c = raw[i];
		if (instr) {
			if (c == '\\')
				i++;
			else if (c == '"')
				instr = 0;
			continue;
		}
		if (c == '"')
			instr = 1;
		else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			buf_append(b, raw + start, i - start);
			start = i + 1;
		}
	}
	buf_append(b, raw + start, len - start);
}
