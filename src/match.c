/*
 * match.c -- the responder's index of recorded transactions
 * (docs/design.md section 4, Responder; docs/responder.md).
 *
 * match_index_add() turns each recorded transaction into a struct
 * match_entry: the request fields the signature is made of (method,
 * lower-cased host, path, normalised query, body digest), its FNV-1a
 * signatures and the response pre-serialised, and nothing else, so the
 * index costs about one copy of the snapshot's response bytes.
 * match_index_finish() then builds, with open addressing over 64-bit keys:
 *
 *  - the set of recorded hosts, and the same keyed by host without port;
 *  - the with-host groups (entries with equal method, host, path, query
 *    and body digest, in recorded order), each holding their sig;
 *  - the host-agnostic groups, each holding their sig_nohost;
 *  - the routes (method and number of path segments) for match_closest().
 *
 * Lookups normalise the request into spans on the stack (the query pieces
 * are sorted in place of a copy), hash the fields with a word-at-a-time
 * table hash (cheaper than FNV-1a's multiply per byte; the group hands
 * back the FNV signature computed at add time) and compare every field on
 * a hit, so a hash collision cannot serve the wrong group.  The only
 * collision left is one between two body digests (request bodies are not
 * kept).  Nothing is allocated on that path unless a query has more than
 * MATCH_PIECES parameters.  The mutable things are each group's cursor,
 * atomic, and a per-thread cache of the last request host's resolution.
 *
 * Query normalisation splits on '&', drops empty pieces and sorts pieces
 * by key (up to '='), stably, so repeated keys keep their order.  Nothing
 * is percent-decoded: "a=%41" and "a=A" are different queries, as they
 * may be to the service that was recorded.
 *
 * A body is digested as is, except JSON bodies (content type containing
 * "json", or no content type and a body that starts with '{' or '['),
 * whose whitespace outside strings is skipped, so pretty-printed and
 * compact JSON agree.
 *
 * Transforms (match.h) are applied by normalising a request before any of
 * the above: match_norm_run() locates every typed or key value that
 * applies to the request's endpoint (transform_locate) and rewrites the
 * path, the raw query and the body with each value replaced by a token of
 * its kind ("\u0000uuid" inside a JSON string, "\"\u0000timestamp\""
 * for a JSON number, a raw 0x01 and the kind's name in a path, query or
 * form, which no valid request target holds).  Parts it does not touch
 * stay spans into the request, so requests on endpoints without
 * transforms cost one pass over the endpoint list.  Key values are kept
 * aside: a group whose members have them is split into sub-groups by
 * recorded key value, each with its own cursor.
 */
#include "config.h"

#include <sys/mman.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "arena.h"
#include "buf.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "match.h"
#include "shape.h"
#include "snap.h"
#include "transform.h"
#include "xmalloc.h"

#define MATCH_FNV_PRIME	UINT64_C(0x100000001b3)
#define MATCH_NONE	UINT32_MAX
/* Query parameters sorted on the stack; more than this costs a malloc. */
#define MATCH_PIECES	64
/* Hits per transform location ($.items[*] finds several). */
#define MATCH_HITS	32
/* Replacements and key values per normalised request. */
#define MATCH_EDITS	64
#define MATCH_KEYS	16
/* Request bodies kept (compact JSON) for match_explain_miss(). */
#define MATCH_KEEP_BODY	(16 * 1024)
/* Indexes this large are finished on two threads (match_index_finish). */
#define MATCH_FINISH_THREAD	50000
/* Epoch integers at a typed timestamp location: 2001 to 2100. */
#define MATCH_EPOCH_LO	INT64_C(978307200000000)
#define MATCH_EPOCH_HI	INT64_C(4102444800000000)

struct match_item {
	struct match_entry	 e;
	size_t			 method_len;
	size_t			 host_len;
	size_t			 path_len;
	size_t			 query_len;
	uint32_t		 hostid;	/* into hosts, MATCH_NONE if "" */
	uint32_t		 nseg;		/* path segments */
	uint64_t		 route;		/* table key: method and nseg */
	uint64_t		 fkey;		/* table key: sig_nohost's fields */
	/* A request body with redaction placeholders, normalised (JSON
	 * whitespace out); NULL when it holds none.  See match_mask_eq(). */
	char			*mask;
	size_t			 mask_len;
	int			 mask_json;
	uint64_t		 mkey;		/* table key: fkey without body */
	/* The path and sorted query as matched: e.path and e.query, or
	 * their normalised forms (owned) when a transform applied. */
	char			*kpath;
	size_t			 kpath_len;
	char			*kquery;
	size_t			 kquery_len;
	/* The request body as matched, compact JSON, for
	 * match_explain_miss(); NULL when not JSON or too large. */
	char			*kbody;
	size_t			 kbody_len;
	/* Recorded values at the key locations (length-prefixed). */
	char			*keyval;
	size_t			 keyval_len;
	int			 has_key;
	struct match_live	*live;
};

/* One slot of an open-addressing table: idx is an index + 1, 0 empty. */
struct match_slot {
	uint64_t	 key;
	uint32_t	 idx;
};

struct match_table {
	struct match_slot	*slots;
	size_t			 mask;
	size_t			 used;
};

/* The members of a group that share their recorded key values. */
struct match_sub {
	_Atomic uint64_t	 cursor;
	uint32_t		*members;	/* item indexes, recorded order */
	uint32_t		 n;
};

struct match_group {
	_Atomic uint64_t	 cursor;
	uint64_t		 sig;		/* the members' sig or sig_nohost */
	uint32_t		 off;		/* into members */
	uint32_t		 n;
	/* Key fields: sub-groups by recorded key values, in order of
	 * first appearance, found by a table keyed by their hash. */
	struct match_sub	*subs;
	uint32_t		 nsubs;
	struct match_table	 subtab;
};

struct match_groups {
	struct match_table	 table;
	struct match_group	*groups;
	size_t			 ngroups;
	uint32_t		*members;	/* item indexes, recorded order */
};

/*
 * Near candidates for an unmatched request (match_explain_miss,
 * match_closest): the entries sharing method, path and query; method and
 * path; the path (any method); method and route template (segments with
 * a digit as one wildcard).  Each bucket keeps at most MATCH_NEAR_K
 * members, the first recorded, so a miss examines a bounded number of
 * entries whatever the snapshot's size.  Keys are hashes only: a
 * collision merely adds candidates, which are scored anyway.
 */
#define MATCH_NEAR_K	32
enum match_near_kind {
	MATCH_NEAR_MPQ,
	MATCH_NEAR_MP,
	MATCH_NEAR_P,
	MATCH_NEAR_MT,
	MATCH_NEAR_KINDS
};

struct match_near {
	struct match_table	 table;		/* key -> bucket */
	uint32_t		*off;		/* nbuckets + 1 offsets */
	uint32_t		*members;	/* item indexes */
	size_t			 nbuckets;
};

struct match_host {
	const char	*name;			/* an entry's host */
	size_t		 len;
	size_t		 base_len;		/* without ":port" */
	int		 base_ambiguous;	/* name recorded with several ports */
};

/* Values interned in order of first appearance (match_intern). */
struct match_intern {
	struct match_table	 t;		/* by the value's hash */
	uint32_t		*first;		/* per id, its first item */
	size_t			 n;
	size_t			 cap;
};

/* An item's interned ids, see match_index.ids. */
struct match_ids {
	uint32_t	 method;	/* its method */
	uint32_t	 req;		/* method, kpath and kquery */
	uint32_t	 ep;		/* method and recorded path */
};

struct match_index {
	uint64_t		 uid;		/* never reused, see host cache */
	/* The items' strings, heads and bodies (match_prep_names,
	 * match_build_response): freed at once with the index. */
	struct arena		*arena;
	int64_t			**latencies;	/* per endpoint, see endpoint_ns */
	size_t			 nlatencies;
	struct match_item	*items;
	size_t			 nitems;
	size_t			 itemsalloc;
	size_t			 itemsready;	/* populated, see commit */
	int			 finished;
	/*
	 * Until finished, per item: the ids of its method, of its request
	 * as matched and of its endpoint, given as items are committed
	 * (the strings are still in the cache then), so finishing compares
	 * ids instead of strings scattered over the arena.
	 */
	struct match_ids	*ids;
	uint64_t		(*nearkeys)[4];	/* match_prep.nearkey */
	size_t			 nhosted;	/* items with a host */
	size_t			 nmasked;	/* items with a mask */
	struct match_intern	 imethod;
	struct match_intern	 ireq;
	struct match_intern	 iep;

	struct match_host	*hosts;
	size_t			 nhosts;
	struct match_table	 hosttab;	/* by hash of name */
	struct match_table	 basetab;	/* by hash of name without port */

	struct match_groups	 withhost;	/* by sig */
	struct match_groups	 nohost;	/* by sig_nohost */
	struct match_groups	 routes;	/* by route */
	struct match_groups	 masked;	/* by mkey: redacted bodies */
	struct match_near	 near;		/* misses: candidates */

	/* Recorded "server" (host:port) -> the first host recorded with it,
	 * for transparent mode; few entries, searched linearly. */
	char			**servers;
	char			**server_hosts;
	size_t			 nservers;

	/* Transforms (the caller's): request-side values by endpoint. */
	const struct transforms	*tf;
	struct match_tep	*teps;
	size_t			 nteps;
	int			 has_keys;
};

struct match_tv {
	const struct transform_value	*v;
	int				 key;	/* action key, else typed */
	size_t				 qname_len;	/* query name */
	int				 qslow;	/* name needs percent-
						   decoding: the locator */
};

/* A query parameter: the offsets of its key and value in the query. */
struct match_qpair {
	size_t		 koff;
	size_t		 klen;
	size_t		 voff;		/* SIZE_MAX: no '=' */
	size_t		 vlen;
	int		 coded;		/* the key holds '%' or '+' */
};

/* The request-side values of one endpoint of the transforms file. */
struct match_tep {
	const char	*method;
	size_t		 method_len;
	int		 method_any;	/* "*" */
	const char	*route;
	uint32_t	 nseg;		/* segments of route, 0 for "*" */
	struct match_tv	*tv;
	size_t		 ntv;
};

/* One replacement in a normalised request. */
struct match_edit {
	enum transform_in	 in;
	size_t			 off;
	size_t			 len;
	enum transform_enc	 enc;
	const char		*name;		/* the token: a kind, or "key" */
};

/* A key value found in a request: where, and its bytes in keys. */
struct match_keyv {
	const struct transform_loc	*where;
	size_t				 off;
	size_t				 len;
};

/*
 * A request normalised by the transforms.  A part that no value applied
 * to is not copied (its *_on is 0); keys holds the key values, each as
 * 8 bytes of length (UINT64_MAX: absent) and the bytes.
 */
struct match_norm {
	struct buf		 path;
	struct buf		 query;
	struct buf		 body;
	int			 path_on;
	int			 query_on;
	int			 body_on;
	struct buf		 keys;
	int			 has_key;
	struct match_keyv	 keyv[MATCH_KEYS];
	size_t			 nkeyv;
};

/* One query parameter; klen is the length of its key (up to '='). */
struct match_piece {
	const char	*p;
	size_t		 len;
	size_t		 klen;
};

/* A request normalised for matching: spans into the request. */
struct match_key {
	struct span	 method;
	struct span	 path;
	struct match_piece *pieces;		/* sorted query parameters */
	size_t		 npieces;
	size_t		 query_len;		/* of the pieces joined by '&' */
	struct match_piece pieces_stack[MATCH_PIECES];
	uint64_t	 digest;
	uint32_t	 hostid;		/* recorded host, or MATCH_NONE */
	uint32_t	 nseg;
	struct span	 body;			/* as matched */
	struct match_norm norm;			/* owns what the spans need */
};

enum match_kind {
	MATCH_KIND_HOST, MATCH_KIND_NOHOST, MATCH_KIND_ROUTE, MATCH_KIND_MASK
};

/*
 * Each thread remembers how it resolved the last request host: a worker
 * sees the same one or two Host values over and over.  Keyed by the
 * index's uid, so a new index (a reload) never reads a stale answer.
 */
#define MATCH_HOST_CACHE	64
struct match_host_cache {
	uint64_t	 uid;
	size_t		 len;
	uint32_t	 hostid;
	char		 host[MATCH_HOST_CACHE];
};
static _Thread_local struct match_host_cache match_host_cache;
static _Atomic uint64_t match_next_uid = 1;

/* The bytes that end a query parameter or its key. */
static const unsigned char match_query_class[256] = { ['&'] = 1, ['='] = 2 };

uint64_t
match_hash(uint64_t h, const void *p, size_t len)
{
	const unsigned char	*s = p;
	size_t			 i;

	for (i = 0; i < len; i++) {
		h ^= s[i];
		h *= MATCH_FNV_PRIME;
	}
	return h;
}

static unsigned char
match_tolower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? c | 0x20 : c;
}

static int
match_caseeq(const char *a, const char *b, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if (match_tolower((unsigned char)a[i]) !=
		    match_tolower((unsigned char)b[i]))
			return 0;
	}
	return 1;
}

/*
 * The tables' keys use a word-at-a-time multiply-xorshift hash instead of
 * FNV-1a, which costs a multiply per byte: the official signatures are
 * computed once per entry and stored in its groups.  These keys never
 * leave the process.
 */
static uint64_t
match_mix(uint64_t h, uint64_t v)
{
	h ^= v;
	h *= UINT64_C(0x9e3779b97f4a7c15);
	return h ^ (h >> 29);
}

/* ASCII lower-casing of eight bytes at once; other bytes are kept. */
static uint64_t
match_lower8(uint64_t v)
{
	const uint64_t	ones = UINT64_C(0x0101010101010101);
	uint64_t	hep, gt_z, ge_a, upper;

	hep = v & (ones * 0x7f);
	gt_z = hep + ones * (0x7f - 'Z');
	ge_a = hep + ones * (0x80 - 'A');
	upper = ~v & (ge_a ^ gt_z) & (ones * 0x80);
	return v | (upper >> 2);
}

static uint64_t
match_load32(const char *p)
{
	uint32_t	v;

	memcpy(&v, p, 4);
	return v;
}

/*
 * Hashes len bytes, optionally lower-cased.  The last 1-7 bytes are read
 * with overlapping loads rather than one by one; for 1-3 bytes only the
 * first, middle and last count, which is enough for a table key (every
 * hit is compared in full).
 */
static inline __attribute__((always_inline)) uint64_t
match_fast(uint64_t h, const char *p, size_t len, int lower)
{
	uint64_t	v;
	size_t		n = len;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&v, p, 8);
		h = match_mix(h, lower ? match_lower8(v) : v);
	}
	if (n == 0)
		v = 0;
	else if (len >= 8) {
		memcpy(&v, p + n - 8, 8);
		v >>= (8 - n) * 8;
	} else if (n >= 4)
		v = match_load32(p) | match_load32(p + n - 4) << ((n - 4) * 8);
	else {
		v = (uint64_t)(unsigned char)p[0] |
		    (uint64_t)(unsigned char)p[n / 2] << 8 |
		    (uint64_t)(unsigned char)p[n - 1] << 16;
	}
	if (lower)
		v = match_lower8(v);
	return match_mix(h, v ^ ((uint64_t)(len & 0xff) << 56));
}
#define MATCH_FAST_SEED	UINT64_C(0x243f6a8885a308d3)

static uint64_t
match_hash_byte(uint64_t h, unsigned char c)
{
	h ^= c;
	return h * MATCH_FNV_PRIME;
}

static uint64_t
match_hash_u64(uint64_t h, uint64_t v)
{
	int	i;

	for (i = 0; i < 8; i++)
		h = match_hash_byte(h, (unsigned char)(v >> (i * 8)));
	return h;
}

/* --- small string helpers ------------------------------------------- */

static int
match_contains_json(struct span s)
{
	size_t	i;

	for (i = 0; i + 4 <= s.len; i++) {
		if ((s.p[i] == 'j' || s.p[i] == 'J') &&
		    match_caseeq(s.p + i + 1, "son", 3))
			return 1;
	}
	return 0;
}

static int
match_is_json(struct span content_type, const char *body, size_t len)
{
	size_t	i;

	if (content_type.len != 0)
		return match_contains_json(content_type);
	for (i = 0; i < len; i++) {
		if (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' ||
		    body[i] == '\n')
			continue;
		return body[i] == '{' || body[i] == '[';
	}
	return 0;
}

/*
 * Digest of a body; for JSON, whitespace outside strings is left out.  The
 * scanner only tracks strings and escapes: it never validates, so invalid
 * JSON still gets a stable digest.
 */
/* JSON compaction, a byte at a time: 1 if c is kept, 0 for whitespace
 * outside strings.  *st starts at 0. */
#define MATCH_JSON_STR	1
#define MATCH_JSON_ESC	2
static inline int
match_json_keep(unsigned *st, unsigned char c)
{
	if (*st & MATCH_JSON_ESC)
		*st = MATCH_JSON_STR;
	else if (*st & MATCH_JSON_STR) {
		if (c == '\\')
			*st = MATCH_JSON_STR | MATCH_JSON_ESC;
		else if (c == '"')
			*st = 0;
	} else if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
		return 0;
	else if (c == '"')
		*st = MATCH_JSON_STR;
	return 1;
}

static uint64_t
match_digest(struct span content_type, const char *body, size_t len)
{
	uint64_t	h = MATCH_HASH_INIT;
	size_t		i;
	unsigned	st = 0;

	if (len == 0)
		return h;
	if (!match_is_json(content_type, body, len))
		return match_hash(h, body, len);
	for (i = 0; i < len; i++) {
		if (match_json_keep(&st, (unsigned char)body[i]))
			h = match_hash_byte(h, (unsigned char)body[i]);
	}
	return h;
}

/*
 * Appends the body as match_digest() sees it: JSON without whitespace
 * outside strings, anything else as is.  Returns 1 if it was taken as
 * JSON.
 */
static int
match_normalise(struct span content_type, const char *body, size_t len,
    struct buf *out)
{
	size_t		i;
	unsigned	st = 0;

	if (len == 0 || !match_is_json(content_type, body, len)) {
		buf_append(out, body, len);
		return 0;
	}
	buf_reserve(out, len);
	for (i = 0; i < len; i++) {
		if (match_json_keep(&st, (unsigned char)body[i]))
			out->data[out->len++] = body[i];
	}
	out->data[out->len] = '\0';
	return 1;
}

/*
 * Redaction placeholders.  `decoy record --redact` writes a redacted
 * value as "REDACTED-" and 8 lower-case hex digits (record-redact.c).  A
 * recorded request body that holds one cannot match the live request by
 * digest (the service sends the real value), so such entries are also
 * kept as masks: the normalised body in which every placeholder is a
 * wildcard.  A placeholder that is a whole JSON string ("REDACTED-…",
 * quotes included) matches one JSON scalar: a string, a number, true,
 * false or null (a redacted number is stored as a string); any other
 * placeholder (a regex: redaction inside text) matches any run of bytes.
 * Exact matching is always tried first.
 */
#define MATCH_PH_PREFIX		"REDACTED-"
#define MATCH_PH_PREFIX_LEN	(sizeof MATCH_PH_PREFIX - 1)
#define MATCH_PH_LEN		(MATCH_PH_PREFIX_LEN + 8)
/* Steps a mask comparison may take before it gives up (no match). */
#define MATCH_MASK_BUDGET	100000

static int
match_is_hexlower(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* The offset of the first placeholder in p[0..len), or len. */
static size_t
match_find_placeholder(const char *p, size_t len)
{
	const char	*q = p, *end = p + len;
	size_t		 i;

	while ((size_t)(end - q) >= MATCH_PH_LEN &&
	    (q = memmem(q, (size_t)(end - q), MATCH_PH_PREFIX,
	    MATCH_PH_PREFIX_LEN)) != NULL) {
		if ((size_t)(end - q) < MATCH_PH_LEN)
			break;
		for (i = 0; i < 8; i++) {
			if (!match_is_hexlower(q[MATCH_PH_PREFIX_LEN + i]))
				break;
		}
		if (i == 8)
			return (size_t)(q - p);
		q += MATCH_PH_PREFIX_LEN;
	}
	return len;
}

/* The length of the JSON scalar at s (0 if there is none). */
static size_t
match_json_scalar(const char *s, size_t len)
{
	size_t	i;

	if (len == 0)
		return 0;
	if (s[0] == '"') {
		for (i = 1; i < len; i++) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				return i + 1;
		}
		return 0;
	}
	for (i = 0; i < len; i++) {
		if (s[i] == ',' || s[i] == '}' || s[i] == ']' || s[i] == '{' ||
		    s[i] == '[' || s[i] == ':' || s[i] == '"')
			break;
	}
	return i;
}

static int
match_mask_rec(const char *m, size_t mlen, const char *s, size_t slen,
    int json, long *budget)
{
	size_t	p, ws, we, n;

	if (--*budget < 0)
		return 0;
	p = match_find_placeholder(m, mlen);
	if (p == mlen)
		return mlen == slen && memcmp(m, s, mlen) == 0;
	ws = p;
	we = p + MATCH_PH_LEN;
	if (json && p > 0 && m[p - 1] == '"' && we < mlen && m[we] == '"') {
		ws--;
		we++;
	}
	if (slen < ws || memcmp(m, s, ws) != 0)
		return 0;
	s += ws;
	slen -= ws;
	m += we;
	mlen -= we;
	if (ws != p) {
		if ((n = match_json_scalar(s, slen)) == 0)
			return 0;
		return match_mask_rec(m, mlen, s + n, slen - n, json, budget);
	}
	/* Any run of bytes, at least one: try each end that the rest of
	 * the mask could start at. */
	if (mlen == 0)
		return slen >= 1;
	for (n = 1; n <= slen; n++) {
		if (mlen > 0 && n < slen && s[n] != m[0] &&
		    match_find_placeholder(m, mlen) != 0)
			continue;
		if (match_mask_rec(m, mlen, s + n, slen - n, json, budget))
			return 1;
		if (*budget < 0)
			return 0;
	}
	return 0;
}

/* 1 if the normalised body s[0..slen) fits the item's mask. */
static int
match_mask_eq(const struct match_item *it, const char *s, size_t slen)
{
	long	budget = MATCH_MASK_BUDGET;

	return match_mask_rec(it->mask, it->mask_len, s, slen, it->mask_json,
	    &budget);
}

/*
 * Splits a target into authority (absolute-form only), path and query.
 * "http://h:1/p?q" gives "h:1", "/p", "q"; an absolute-form target without
 * a path has path "/".  Userinfo is dropped from the authority.
 */
static void
match_split_target(struct span t, struct span *authority, struct span *path,
    struct span *query)
{
	const char	*p = t.p, *end = t.p + t.len, *q, *a;
	size_t		 i;

	*authority = SPAN_NULL;
	if (t.len > 0 && p[0] != '/') {
		for (i = 0; i < t.len; i++) {
			if (!isalnum((unsigned char)p[i]) && p[i] != '+' &&
			    p[i] != '-' && p[i] != '.')
				break;
		}
		if (i > 0 && t.len - i >= 3 && memcmp(p + i, "://", 3) == 0) {
			a = p + i + 3;
			for (q = a; q < end; q++) {
				if (*q == '/' || *q == '?' || *q == '#')
					break;
			}
			authority->p = a;
			authority->len = (size_t)(q - a);
			if ((a = memchr(authority->p, '@', authority->len)) !=
			    NULL) {
				authority->len -= (size_t)(a + 1 -
				    authority->p);
				authority->p = a + 1;
			}
			p = q;
		}
	}
	if ((q = memchr(p, '?', (size_t)(end - p))) != NULL) {
		*path = (struct span){ p, (size_t)(q - p) };
		*query = (struct span){ q + 1, (size_t)(end - q - 1) };
	} else {
		*path = (struct span){ p, (size_t)(end - p) };
		*query = SPAN_NULL;
	}
	if (authority->p != NULL && path->len == 0)
		*path = SPAN_LIT("/");
}

/* The host without its port: "[::1]:80" gives "[::1]", "a:80" gives "a". */
static size_t
match_host_base(const char *p, size_t len)
{
	const char	*c;

	if (len > 0 && p[0] == '[') {
		if ((c = memchr(p, ']', len)) != NULL)
			return (size_t)(c + 1 - p);
		return len;
	}
	if ((c = memchr(p, ':', len)) == NULL)
		return len;
	/* A bare IPv6 address has several colons and no port. */
	if (memchr(c + 1, ':', len - (size_t)(c + 1 - p)) != NULL)
		return len;
	return (size_t)(c - p);
}

static uint32_t
match_count_segments(const char *p, size_t len)
{
	uint32_t	n = 1;
	size_t		i;

	for (i = 0; i < len; i++) {
		if (p[i] == '/' && i > 0)
			n++;
	}
	return n;
}

/* Next segment of a path at *p; *p becomes NULL after the last one. */
static int
match_next_segment(const char **p, const char *end, struct span *seg)
{
	const char	*s = *p, *e;

	if (s == NULL)
		return 0;
	if (s == end || (e = memchr(s, '/', (size_t)(end - s))) == NULL) {
		*seg = (struct span){ s, (size_t)(end - s) };
		*p = NULL;
	} else {
		*seg = (struct span){ s, (size_t)(e - s) };
		*p = e + 1;
	}
	return 1;
}

static const char *
match_path_start(const char *p, size_t len)
{
	return len > 0 && p[0] == '/' ? p + 1 : p;
}

static int
match_has_digit(struct span s)
{
	size_t	i;

	for (i = 0; i < s.len; i++) {
		if (s.p[i] >= '0' && s.p[i] <= '9')
			return 1;
	}
	return 0;
}

/* --- query normalisation -------------------------------------------- */

static int
match_keycmp(const struct match_piece *a, const struct match_piece *b)
{
	size_t	i, n = a->klen < b->klen ? a->klen : b->klen;

	/* Keys are short: a loop beats a call to memcmp. */
	for (i = 0; i < n; i++) {
		if (a->p[i] != b->p[i])
			return (unsigned char)a->p[i] < (unsigned char)b->p[i] ?
			    -1 : 1;
	}
	return a->klen < b->klen ? -1 : a->klen > b->klen;
}

/* Stable sort by key: insertion for short lists, merge sort above. */
static void
match_sort_pieces(struct match_piece *v, size_t n)
{
	struct match_piece	*tmp, *src, *dst, *sw, x;
	size_t		 i, j, w, lo, mid, hi, a, b, k;

	if (n <= MATCH_PIECES) {
		for (i = 1; i < n; i++) {
			x = v[i];
			for (j = i; j > 0 && match_keycmp(&v[j - 1], &x) > 0; j--)
				v[j] = v[j - 1];
			v[j] = x;
		}
		return;
	}
	tmp = xreallocarray(NULL, n, sizeof *tmp);
	src = v;
	dst = tmp;
	for (w = 1; w < n; w *= 2) {
		for (lo = 0; lo < n; lo += 2 * w) {
			mid = lo + w < n ? lo + w : n;
			hi = lo + 2 * w < n ? lo + 2 * w : n;
			a = lo;
			b = mid;
			for (k = lo; k < hi; k++) {
				if (a < mid && (b >= hi ||
				    match_keycmp(&src[a], &src[b]) <= 0))
					dst[k] = src[a++];
				else
					dst[k] = src[b++];
			}
		}
		sw = src;
		src = dst;
		dst = sw;
	}
	if (src != v)
		memcpy(v, src, n * sizeof *v);
	free(tmp);
}

/*
 * Splits q on '&' without empty pieces into k->pieces (the stack array, or
 * an allocated one when there are too many) and sorts them.
 */
static void
match_key_query(struct match_key *k, struct span q)
{
	struct match_piece	*pieces = k->pieces_stack, *pc;
	const char		*p = q.p, *end = q.p + q.len, *start, *eq;
	size_t			 n = 0, cap = MATCH_PIECES, total = 0;

	while (p < end) {
		start = p;
		eq = NULL;
			while (p < end) {
			if (match_query_class[(unsigned char)*p] != 0) {
				if (*p == '&')
					break;
				if (eq == NULL)
					eq = p;
			}
			p++;
		}
		if (p > start) {
			if (n == cap) {
				cap *= 4;
				if (pieces == k->pieces_stack) {
					pieces = xreallocarray(NULL, cap,
					    sizeof *pieces);
					memcpy(pieces, k->pieces_stack,
					    sizeof k->pieces_stack);
				} else {
					pieces = xreallocarray(pieces, cap,
					    sizeof *pieces);
				}
			}
			pc = &pieces[n++];
			pc->p = start;
			pc->len = (size_t)(p - start);
			pc->klen = eq == NULL ? pc->len : (size_t)(eq - start);
			total += pc->len;
		}
		p++;
	}
	k->pieces = pieces;
	k->npieces = n;
	k->query_len = n > 1 ? total + n - 1 : total;
	match_sort_pieces(pieces, n);
}

static void
match_key_free(struct match_key *k)
{
	if (k->pieces != k->pieces_stack)
		free(k->pieces);
	k->pieces = NULL;
}

/* Also frees what match_key_init() normalised. */
static void	match_norm_free(struct match_norm *);
static void
match_key_done(struct match_key *k)
{
	match_key_free(k);
	match_norm_free(&k->norm);
}

/* True if the sorted pieces joined by '&' are exactly q[0..len). */
static int
match_query_eq(const struct match_key *k, const char *q, size_t len)
{
	size_t	i, off = 0;

	if (k->query_len != len)
		return 0;
	for (i = 0; i < k->npieces; i++) {
		if (i > 0 && q[off++] != '&')
			return 0;
		if (memcmp(q + off, k->pieces[i].p, k->pieces[i].len) != 0)
			return 0;
		off += k->pieces[i].len;
	}
	return 1;
}

/* --- transforms: typed values and keys ------------------------------- */

static struct span
match_buf_span(const struct buf *b)
{
	return (struct span){ b->data != NULL ? b->data : "", b->len };
}

static void
match_norm_init(struct match_norm *n)
{
	buf_init(&n->path);
	buf_init(&n->query);
	buf_init(&n->body);
	buf_init(&n->keys);
	n->path_on = n->query_on = n->body_on = 0;
	n->has_key = 0;
	n->nkeyv = 0;
}

static void
match_norm_free(struct match_norm *n)
{
	buf_free(&n->path);
	buf_free(&n->query);
	buf_free(&n->body);
	buf_free(&n->keys);
}

/*
 * The decoded value of a hit: its raw bytes when they need no decoding
 * (the usual case: no escape, no percent sign), else decoded into tmp.
 */
static struct span
match_hit_span(const struct transform_msg *m, const struct transform_hit *h,
    struct buf *tmp)
{
	struct span	raw = transform_hit_raw(m, h);

	switch (h->enc) {
	case TRANSFORM_ENC_RAW:
	case TRANSFORM_ENC_JSONNUM:
	case TRANSFORM_ENC_PB_BYTES:
		return raw;
	case TRANSFORM_ENC_PB_VARINT:
	case TRANSFORM_ENC_PB_I64:
	case TRANSFORM_ENC_PB_I32:
		break;
	case TRANSFORM_ENC_JSON:
		if (raw.len == 0 || memchr(raw.p, '\\', raw.len) == NULL)
			return raw;
		break;
	case TRANSFORM_ENC_PCT:
		if (raw.len == 0 || (memchr(raw.p, '%', raw.len) == NULL &&
		    memchr(raw.p, '+', raw.len) == NULL))
			return raw;
		break;
	}
	buf_reset(tmp);
	transform_hit_value(tmp, m, h);
	return match_buf_span(tmp);
}

/* 1 if s[0..len) is of the kind (SHAPE_NONE: anything is). */
static int
match_fits(enum shape_kind kind, const char *s, size_t len)
{
	struct shape_opts	o = { MATCH_EPOCH_LO, MATCH_EPOCH_HI };
	struct shape		sh;

	if (kind == SHAPE_NONE)
		return 1;
	return shape_classify(s, len, &o, &sh) == kind;
}

static const char *
match_kind_token(enum shape_kind kind)
{
	return kind == SHAPE_NONE ? "any" : shape_kind_name(kind);
}

static void
match_norm_key_len(struct buf *b, uint64_t len)
{
	unsigned char	v[8];
	int		i;

	for (i = 0; i < 8; i++)
		v[i] = (unsigned char)(len >> (i * 8));
	buf_append(b, v, 8);
}

/*
 * Appends the key values found at one key location: each hit's decoded
 * value, or an "absent" mark, and remembers the first for echoes.
 */
static void
match_norm_keys(struct match_norm *n, const struct transform_loc *where,
    const struct transform_msg *m, const struct transform_hit *hits,
    size_t nh)
{
	size_t	h, at;

	n->has_key = 1;
	if (nh == 0) {
		match_norm_key_len(&n->keys, UINT64_MAX);
		return;
	}
	for (h = 0; h < nh; h++) {
		at = n->keys.len;
		match_norm_key_len(&n->keys, 0);
		transform_hit_value(&n->keys, m, &hits[h]);
		/* The length, now that it is known. */
		{
			uint64_t	len = n->keys.len - at - 8;
			int		i;

			for (i = 0; i < 8; i++)
				n->keys.data[at + (size_t)i] =
				    (char)(unsigned char)(len >> (i * 8));
		}
		if (h == 0 && n->nkeyv < MATCH_KEYS) {
			n->keyv[n->nkeyv].where = where;
			n->keyv[n->nkeyv].off = at + 8;
			n->keyv[n->nkeyv].len = n->keys.len - at - 8;
			n->nkeyv++;
		}
	}
}

static void
match_token(struct buf *b, const struct match_edit *ed)
{
	switch (ed->enc) {
	case TRANSFORM_ENC_JSON:
		buf_append_str(b, "\\u0000");
		buf_append_str(b, ed->name);
		break;
	case TRANSFORM_ENC_JSONNUM:
		buf_append_str(b, "\"\\u0000");
		buf_append_str(b, ed->name);
		buf_append_byte(b, '"');
		break;
	default:
		buf_append_byte(b, '\x01');
		buf_append_str(b, ed->name);
		break;
	}
}

static int
match_edit_cmp(const void *a, const void *b)
{
	const struct match_edit	*x = a, *y = b;

	if (x->in != y->in)
		return x->in < y->in ? -1 : 1;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return 0;
}

/*
 * Rewrites part `in` of the request (raw) with the edits ev[0..n) that
 * fall in it (sorted) into out; returns 1 if one applied.  Overlapping
 * edits after the first are dropped.
 */
/*
 * A gRPC body's edits (req.grpc): each field replaced by its token as a
 * length-delimited field, the messages re-encoded (transform.h).
 */
static int
match_splice_grpc(struct buf *out, struct span raw,
    const struct match_edit *ev, size_t n)
{
	struct transform_edit	 te[MATCH_EDITS];
	char			 tok[MATCH_EDITS][24];
	size_t			 i, nt = 0;

	for (i = 0; i < n && nt < MATCH_EDITS; i++) {
		if (ev[i].in != TRANSFORM_IN_BODY ||
		    !TRANSFORM_ENC_IS_PB(ev[i].enc))
			continue;
		memset(&te[nt], 0, sizeof te[nt]);
		te[nt].hit.in = ev[i].in;
		te[nt].hit.off = ev[i].off;
		te[nt].hit.len = ev[i].len;
		te[nt].hit.enc = ev[i].enc;
		/* The token: 0x01 and the kind's name (short). */
		tok[nt][0] = '\x01';
		te[nt].len = strnlen(ev[i].name, sizeof tok[nt] - 1);
		memcpy(tok[nt] + 1, ev[i].name, te[nt].len);
		te[nt].len++;
		te[nt].val = tok[nt];
		nt++;
	}
	return transform_grpc_render(out, raw, te, nt);
}

static int
match_splice(struct buf *out, struct span raw, enum transform_in in,
    const struct match_edit *ev, size_t n)
{
	size_t	i, pos = 0;
	int	on = 0;

	for (i = 0; in == TRANSFORM_IN_BODY && i < n; i++)
		if (ev[i].in == in && TRANSFORM_ENC_IS_PB(ev[i].enc))
			return match_splice_grpc(out, raw, ev, n);
	for (i = 0; i < n; i++) {
		if (ev[i].in != in || ev[i].off < pos ||
		    ev[i].off + ev[i].len > raw.len)
			continue;
		if (!on) {
			buf_reserve(out, raw.len + 32);
			on = 1;
		}
		buf_append(out, raw.p + pos, ev[i].off - pos);
		match_token(out, &ev[i]);
		pos = ev[i].off + ev[i].len;
	}
	if (on)
		buf_append(out, raw.p + pos, raw.len - pos);
	return on;
}

/* Splits a query into at most max pairs (as transform_locate() reads
 * them: split at '&', key up to the first '='). */
static size_t
match_query_pairs(struct span q, struct match_qpair *qp, size_t max)
{
	size_t	i = 0, start, eq, n = 0;

	while (i <= q.len && n < max) {
		start = i;
		while (i < q.len && q.p[i] != '&')
			i++;
		for (eq = start; eq < i && q.p[eq] != '='; eq++)
			;
		qp[n].koff = start;
		qp[n].klen = eq - start;
		qp[n].coded = memchr(q.p + start, '%', eq - start) != NULL ||
		    memchr(q.p + start, '+', eq - start) != NULL;
		qp[n].voff = eq < i ? eq + 1 : SIZE_MAX;
		qp[n].vlen = eq < i ? i - eq - 1 : 0;
		n++;
		i++;
	}
	return n;
}

/*
 * The first parameter named name (len bytes) as a locator hit, like
 * transform_locate() of "req.query NAME"; a pair whose key is
 * percent-coded makes it fall back to the locator.
 */
static size_t
match_query_find(struct span q, const struct match_qpair *qp, size_t n,
    const char *name, size_t len, struct transform_hit *hit)
{
	struct transform_loc	loc;
	struct transform_msg	m;
	size_t			i;

	for (i = 0; i < n; i++) {
		if (qp[i].coded) {
			memset(&loc, 0, sizeof loc);
			loc.part = TRANSFORM_QUERY;
			loc.name = (char *)name;
			memset(&m, 0, sizeof m);
			m.path = SPAN_LIT("");
			m.query = q;
			return transform_locate(&loc, &m, hit, 1);
		}
		if (qp[i].klen == len && memcmp(q.p + qp[i].koff, name,
		    len) == 0 && qp[i].voff != SIZE_MAX) {
			hit->in = TRANSFORM_IN_QUERY;
			hit->header = 0;
			hit->off = qp[i].voff;
			hit->len = qp[i].vlen;
			hit->enc = TRANSFORM_ENC_PCT;
			return 1;
		}
	}
	return 0;
}

/*
 * Normalises the request m (method and the transform view of it) into
 * n, which the caller initialised: see the comment at the top.
 */
static void
match_norm_run(const struct match_index *mi, struct span method,
    const struct transform_msg *m, struct match_norm *n)
{
	const struct match_tep	*tep;
	const struct match_tv	*tv;
	struct transform_hit	 hits[MATCH_HITS];
	struct match_edit	 ev[MATCH_EDITS], x;
	struct match_qpair	 qp[MATCH_PIECES];
	struct buf		 val;
	size_t			 i, j, h, nh, ne = 0, nq = SIZE_MAX;
	uint32_t		 nseg = 0;

	buf_init(&val);
	for (i = 0; i < mi->nteps; i++) {
		tep = &mi->teps[i];
		if (!tep->method_any && (method.len != tep->method_len ||
		    memcmp(method.p, tep->method, method.len) != 0))
			continue;
		if (tep->nseg != 0) {
			if (nseg == 0)
				nseg = match_count_segments(m->path.p,
				    m->path.len);
			if (nseg != tep->nseg)
				continue;
		}
		if (!transform_endpoint_match(tep->method, tep->route, method,
		    m->path))
			continue;
		for (j = 0; j < tep->ntv; j++) {
			tv = &tep->tv[j];
			if (nq == SIZE_MAX &&
			    tv->v->where.part == TRANSFORM_QUERY)
				nq = match_query_pairs(m->query, qp,
				    MATCH_PIECES);
			if (tv->v->where.part == TRANSFORM_QUERY &&
			    tv->v->where.name != NULL && !tv->qslow &&
			    nq < MATCH_PIECES) {
				/* The query is split once, not per value
				 * (a longer one goes to the locator). */
				nh = match_query_find(m->query, qp, nq,
				    tv->v->where.name, tv->qname_len, hits);
			} else
				nh = transform_locate(&tv->v->where, m, hits,
				    MATCH_HITS);
			if (tv->key)
				match_norm_keys(n, &tv->v->where, m, hits, nh);
			for (h = 0; h < nh && ne < MATCH_EDITS; h++) {
				/* Headers are not part of the signature. */
				if (hits[h].in == TRANSFORM_IN_HEADER)
					continue;
				if (!tv->key) {
					struct span sv = match_hit_span(m,
					    &hits[h], &val);

					if (!match_fits(tv->v->kind, sv.p,
					    sv.len))
						continue;
				}
				ev[ne].in = hits[h].in;
				ev[ne].off = hits[h].off;
				ev[ne].len = hits[h].len;
				ev[ne].enc = hits[h].enc;
				ev[ne].name = tv->key ? "key" :
				    match_kind_token(tv->v->kind);
				ne++;
			}
		}
	}
	buf_free(&val);
	if (ne == 0)
		return;
	/* Few edits: insertion sort, stable. */
	for (i = 1; i < ne; i++) {
		x = ev[i];
		for (j = i; j > 0 && match_edit_cmp(&ev[j - 1], &x) > 0; j--)
			ev[j] = ev[j - 1];
		ev[j] = x;
	}
	n->path_on = match_splice(&n->path, m->path, TRANSFORM_IN_PATH, ev,
	    ne);
	n->query_on = match_splice(&n->query, m->query, TRANSFORM_IN_QUERY,
	    ev, ne);
	n->body_on = match_splice(&n->body, m->body, TRANSFORM_IN_BODY, ev,
	    ne);
}


/* 1 for the actions that make a request location typed (any). */
static int
match_action_typed(enum transform_action a)
{
	return a == TRANSFORM_ANY || a == TRANSFORM_SHIFT ||
	    a == TRANSFORM_FRESH || a == TRANSFORM_RESIGN;
}

void
match_index_set_transforms(struct match_index *mi,
    const struct transforms *t)
{
	const struct transform_value	*v;
	struct match_tep		*tep;
	size_t				 i, j, nokey = 0;

	if (mi->nitems > 0 || mi->finished)
		fatalx("%s: transforms set after the first add", __func__);
	mi->tf = t;
	if (t == NULL)
		return;
	for (i = 0; i < t->nvalues; i++) {
		v = &t->values[i];
		if (v->dir != SNAP_DIR_OUT)
			continue;
		if (v->where.res) {
			/* A key named but not loaded (transforms_load
			 * without keys: an offline tool) is the caller's
			 * choice, not the file's gap. */
			if (v->action == TRANSFORM_RESIGN && v->key == NULL)
				nokey++;
			continue;
		}
		if (!match_action_typed(v->action) &&
		    v->action != TRANSFORM_KEY)
			continue;
		for (j = 0; j < mi->nteps; j++) {
			tep = &mi->teps[j];
			if (strcmp(tep->method, v->method) == 0 &&
			    strcmp(tep->route, v->route) == 0)
				break;
		}
		if (j == mi->nteps) {
			mi->teps = xreallocarray(mi->teps, mi->nteps + 1,
			    sizeof *mi->teps);
			tep = &mi->teps[mi->nteps++];
			memset(tep, 0, sizeof *tep);
			tep->method = v->method;
			tep->method_len = strlen(v->method);
			tep->method_any = strcmp(v->method, "*") == 0;
			tep->route = v->route;
			tep->nseg = strcmp(v->route, "*") == 0 ? 0 :
			    match_count_segments(v->route, strlen(v->route));
		}
		tep->tv = xreallocarray(tep->tv, tep->ntv + 1,
		    sizeof *tep->tv);
		tep->tv[tep->ntv].v = v;
		tep->tv[tep->ntv].key = v->action == TRANSFORM_KEY;
		tep->tv[tep->ntv].qname_len = v->where.name != NULL ?
		    strlen(v->where.name) : 0;
		tep->tv[tep->ntv].qslow = v->where.name != NULL &&
		    strpbrk(v->where.name, "%+") != NULL;
		tep->ntv++;
		if (v->action == TRANSFORM_KEY)
			mi->has_keys = 1;
	}
	if (nokey > 0)
		log_warn("%s: %zu response JWT%s to re-sign without a key: "
		    "sent as recorded", t->path != NULL ? t->path :
		    "transforms", nokey, nokey == 1 ? "" : "s");
}

/* --- signatures ------------------------------------------------------ */

/*
 * The signature: each field followed by a NUL (none of them holds one), the
 * query as its sorted pieces joined by '&', then the digest's 8 bytes.  host
 * NULL leaves the host out (sig_nohost).
 */
static uint64_t
match_sig(struct span method, const char *host, size_t host_len,
    struct span path, const struct match_piece *pieces, size_t npieces,
    uint64_t digest)
{
	uint64_t	h = MATCH_HASH_INIT;
	size_t		i;

	h = match_hash(h, method.p, method.len);
	h = match_hash_byte(h, 0);
	if (host != NULL) {
		h = match_hash(h, host, host_len);
		h = match_hash_byte(h, 0);
	}
	h = match_hash(h, path.p, path.len);
	h = match_hash_byte(h, 0);
	for (i = 0; i < npieces; i++) {
		if (i > 0)
			h = match_hash_byte(h, '&');
		h = match_hash(h, pieces[i].p, pieces[i].len);
	}
	h = match_hash_byte(h, 0);
	return match_hash_u64(h, digest);
}

/* The tables' key for a signature without host. */
static uint64_t
match_fastkey(struct span method, struct span path,
    const struct match_piece *pieces, size_t npieces, uint64_t digest)
{
	uint64_t	h = MATCH_FAST_SEED;
	size_t		i;

	h = match_fast(h, method.p, method.len, 0);
	h = match_fast(h, path.p, path.len, 0);
	for (i = 0; i < npieces; i++)
		h = match_fast(h, pieces[i].p, pieces[i].len, 0);
	h = match_mix(h, npieces);
	return match_mix(h, digest);
}

static uint64_t
match_fastkey_host(uint64_t fkey, uint32_t hostid)
{
	return match_mix(fkey, (uint64_t)hostid + 1);
}

static uint64_t
match_route(const char *method, size_t len, uint32_t nseg)
{
	return match_mix(match_fast(MATCH_FAST_SEED, method, len, 0), nseg);
}

/* --- open-addressing tables ----------------------------------------- */

static void
match_table_init(struct match_table *t, size_t n)
{
	size_t	size = 16;

	while (size < n * 2)
		size *= 2;
	t->slots = xcalloc(size, sizeof *t->slots);
	t->mask = size - 1;
	t->used = 0;
}

static void
match_table_free(struct match_table *t)
{
	free(t->slots);
	t->slots = NULL;
	t->mask = 0;
	t->used = 0;
}

static void
match_table_put(struct match_table *t, uint64_t key, uint32_t idx)
{
	struct match_slot	*old;
	size_t			 i, oldsize;

	if ((t->used + 1) * 2 > t->mask + 1) {
		old = t->slots;
		oldsize = t->mask + 1;
		match_table_init(t, oldsize);
		for (i = 0; i < oldsize; i++) {
			if (old[i].idx != 0)
				match_table_put(t, old[i].key, old[i].idx - 1);
		}
		free(old);
	}
	for (i = key & t->mask; t->slots[i].idx != 0; i = (i + 1) & t->mask)
		;
	t->slots[i].key = key;
	t->slots[i].idx = idx + 1;
	t->used++;
}

/* Rebuilds t with a size fitting n keys, when that is smaller. */
static void
match_table_shrink(struct match_table *t, size_t n)
{
	struct match_table	 nt;
	size_t			 i;

	match_table_init(&nt, n);
	if (nt.mask >= t->mask) {
		match_table_free(&nt);
		return;
	}
	for (i = 0; i <= t->mask; i++) {
		if (t->slots[i].idx != 0)
			match_table_put(&nt, t->slots[i].key,
			    t->slots[i].idx - 1);
	}
	match_table_free(t);
	*t = nt;
}

/* --- adding ---------------------------------------------------------- */

struct match_index *
match_index_create(void)
{
	struct match_index	*mi;

	mi = xcalloc(1, sizeof *mi);
	mi->uid = atomic_fetch_add_explicit(&match_next_uid, 1,
	    memory_order_relaxed);
	mi->arena = arena_create(0);
	return mi;
}

/* Case-insensitive header lookup; the first byte is tested inline, so
 * the usual mismatch costs no call. */
static const char *
match_header(const struct snap_header *h, size_t n, const char *name)
{
	size_t	i;
	int	c0 = match_tolower((unsigned char)*name);

	for (i = 0; i < n; i++) {
		if (match_tolower((unsigned char)h[i].name[0]) == c0 &&
		    strcasecmp(h[i].name, name) == 0)
			return h[i].value;
	}
	return NULL;
}

/* RFC 9110 tchar. */
static const unsigned char match_tchar[256] = {
	['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
	['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
	['`'] = 1, ['|'] = 1, ['~'] = 1,
	['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
};

static int
match_is_token(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (!match_tchar[(unsigned char)*s])
			return 0;
	}
	return 1;
}

#define MATCH_ONES	0x0101010101010101ULL
#define MATCH_HIGHS	0x8080808080808080ULL

/*
 * 1 if s[0..len) holds no control character but tab (RFC 9110
 * field-value).  Eight bytes at a time while none is below 0x20 or 0x7f
 * (each test exact as a yes/no answer); a word with one, a tab say, and
 * the rest go byte by byte.
 */
static int
match_is_field_value(const char *s, size_t len)
{
	uint64_t	w, d;
	size_t		i = 0;
#ifdef __SSE2__
	__m128i		v;
	unsigned int	ok;

	/* Sixteen at a time first: the bytes at or above 0x20 (unsigned)
	 * that are not 0x7f. */
	for (; len - i >= 16; i += 16) {
		v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		ok = (unsigned int)_mm_movemask_epi8(_mm_andnot_si128(
		    _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)), _mm_cmpeq_epi8(
		    _mm_max_epu8(v, _mm_set1_epi8(0x20)), v)));
		if (ok != 0xffff)
			break;
	}
#endif

	for (; len - i >= 8; i += 8) {
		memcpy(&w, s + i, sizeof w);
		d = w ^ (MATCH_ONES * 0x7f);
		if ((((w - MATCH_ONES * 0x20) & ~w) |
		    ((d - MATCH_ONES) & ~d)) & MATCH_HIGHS)
			break;
	}
	for (; i < len; i++) {
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') ||
		    s[i] == 0x7f)
			return 0;
	}
	return 1;
}

/* Writes n in decimal at d; returns the number of digits. */
static size_t
match_put_size(char *d, size_t n)
{
	size_t	len = 1, m, i;

	for (m = n; m >= 10; m /= 10)
		len++;
	for (i = len; i > 0; i--, n /= 10)
		d[i - 1] = (char)('0' + n % 10);
	return len;
}

/* Copies s[0..n) to *d and moves *d past it. */
static inline void
match_put(char **d, const char *s, size_t n)
{
	memcpy(*d, s, n);
	*d += n;
}

/* 1 if name (of length len) is Name, without case. */
static inline int
match_name_is(const char *name, size_t len, const char *Name, size_t n)
{
	return len == n && strcasecmp(name, Name) == 0;
}

/* What the pre-serialised head does with a recorded header. */
enum match_hd { MATCH_HD_HOP, MATCH_HD_BAD, MATCH_HD_KEEP, MATCH_HD_CL };

static enum match_hd
match_head_action(const struct snap_header *h, size_t nlen, size_t vlen)
{
	if (match_name_is(h->name, nlen, "Transfer-Encoding", 17) ||
	    match_name_is(h->name, nlen, "Connection", 10) ||
	    match_name_is(h->name, nlen, "Keep-Alive", 10))
		return MATCH_HD_HOP;
	if (!match_is_token(h->name) || !match_is_field_value(h->value, vlen))
		return MATCH_HD_BAD;
	if (match_name_is(h->name, nlen, "Content-Length", 14))
		return MATCH_HD_CL;
	return MATCH_HD_KEEP;
}

/*
 * Writes the head of t's response at d (which has room for it: see
 * match_build_response) and returns its length; lens holds each
 * header's name and value lengths.  A header that is not valid HTTP is
 * dropped with a warning.
 */
static size_t
match_write_head(char *d, const struct snap_txn *t, const char *reason,
    size_t body_len, int nobody, int chunked, const size_t *lens)
{
	const struct snap_res	*res = &t->res;
	const struct snap_header *h;
	char			*start = d;
	size_t			 i, nlen, vlen;
	int			 status = res->status, cl_done = 0, keep_cl;

	/* A 304 and the answer to a recorded HEAD keep the recorded
	 * Content-Length: it describes the representation (RFC 9110). */
	keep_cl = status == 304 || (t->req.method != NULL &&
	    strcmp(t->req.method, "HEAD") == 0);
	match_put(&d, "HTTP/1.1 ", 9);
	d += match_put_size(d, (size_t)status);
	*d++ = ' ';
	match_put(&d, reason, strlen(reason));
	match_put(&d, "\r\n", 2);
	for (i = 0; i < res->nheaders; i++) {
		h = &res->headers[i];
		nlen = lens[2 * i];
		vlen = lens[2 * i + 1];
		switch (match_head_action(h, nlen, vlen)) {
		case MATCH_HD_HOP:
			continue;
		case MATCH_HD_BAD:
			log_warn("line %zu: response header \"%s\" is not "
			    "valid HTTP, dropped", t->line, h->name);
			continue;
		case MATCH_HD_CL:
			if (cl_done || chunked || (nobody && !keep_cl))
				continue;
			cl_done = 1;
			match_put(&d, h->name, nlen);
			match_put(&d, ": ", 2);
			if (keep_cl)
				match_put(&d, h->value, vlen);
			else
				d += match_put_size(d, body_len);
			match_put(&d, "\r\n", 2);
			continue;
		case MATCH_HD_KEEP:
			break;
		}
		match_put(&d, h->name, nlen);
		match_put(&d, ": ", 2);
		match_put(&d, h->value, vlen);
		match_put(&d, "\r\n", 2);
	}
	if (chunked)
		match_put(&d, "Transfer-Encoding: chunked\r\n", 28);
	else if (!cl_done && !nobody) {
		match_put(&d, "Content-Length: ", 16);
		d += match_put_size(d, body_len);
		match_put(&d, "\r\n", 2);
	}
	*d = '\0';
	return (size_t)(d - start);
}

/*
 * match_build_response() for a response with trailers: chunked, the body
 * in one chunk, the trailers (those that are valid HTTP) in the trailer
 * section, which the h2 glue turns into a trailing HEADERS frame.
 */
static void
match_build_chunked(struct arena *arena, struct match_entry *e,
    const struct snap_txn *t, const char *reason, size_t bound,
    size_t body_len, const size_t *lens)
{
	const struct snap_res	*res = &t->res;
	const struct snap_header *h;
	size_t			 i, tlen = 0, nlen;
	char			*d;

	for (i = 0; i < res->ntrailers; i++)
		tlen += strlen(res->trailers[i].name) + 2 +
		    strlen(res->trailers[i].value) + 2;
	e->head = arena_alloc(arena, bound + 28 + 1 + 16 + 2 + body_len +
	    2 + 5 + tlen + 2 + 1);
	e->head_len = match_write_head(e->head, t, reason, body_len, 0, 1,
	    lens);
	e->body = d = e->head + e->head_len + 1;
	if (body_len > 0) {
		d += snprintf(d, 18, "%zx\r\n", body_len);
		match_put(&d, res->body, body_len);
		match_put(&d, "\r\n", 2);
	}
	match_put(&d, "0\r\n", 3);
	for (i = 0; i < res->ntrailers; i++) {
		h = &res->trailers[i];
		nlen = strlen(h->name);
		if (match_head_action(h, nlen, strlen(h->value)) !=
		    MATCH_HD_KEEP) {
			log_warn("line %zu: trailer \"%s\" is not valid here, "
			    "dropped", t->line, h->name);
			continue;
		}
		match_put(&d, h->name, nlen);
		match_put(&d, ": ", 2);
		match_put(&d, h->value, strlen(h->value));
		match_put(&d, "\r\n", 2);
	}
	match_put(&d, "\r\n", 2);
	*d = '\0';
	e->body_len = (size_t)(d - e->body);
}

/*
 * Builds the head and body of one entry, in one piece of the arena.  1xx
 * and 204 responses get no Content-Length and no body; a 304 keeps its
 * recorded Content-Length (it describes the representation, not this
 * message) and gets no body; so does the answer to a recorded HEAD.
 */
static void
match_build_response(struct arena *arena, struct match_entry *e,
    const struct snap_txn *t)
{
	const struct snap_res	*res = &t->res;
	const char		*reason;
	size_t			 i, body_len, bound, nlen, vlen, stack[64];
	size_t			*lens = stack;
	int			 status = res->status, nobody;

	nobody = status < 200 || status == 204 || status == 304 ||
	    (t->req.method != NULL && strcmp(t->req.method, "HEAD") == 0);
	body_len = nobody ? 0 : res->body_len;
	reason = res->reason;
	if (reason == NULL || *reason == '\0' ||
	    !match_is_field_value(reason, strlen(reason)))
		reason = http_reason(status);

	/* At most: every header kept, a Content-Length of 20 digits added
	 * or put in place of the recorded value. */
	bound = 9 + 20 + 1 + strlen(reason) + 2 + 16 + 20 + 2;
	if (res->nheaders > sizeof stack / sizeof stack[0] / 2)
		lens = xreallocarray(NULL, res->nheaders, 2 * sizeof *lens);
	for (i = 0; i < res->nheaders; i++) {
		nlen = lens[2 * i] = strlen(res->headers[i].name);
		vlen = lens[2 * i + 1] = strlen(res->headers[i].value);
		if (vlen < 20 && match_name_is(res->headers[i].name, nlen,
		    "Content-Length", 14))
			vlen = 20;
		bound += nlen + 2 + vlen + 2;
	}
	if (!nobody && res->ntrailers > 0) {
		match_build_chunked(arena, e, t, reason, bound, body_len,
		    lens);
		if (lens != stack)
			free(lens);
		return;
	}
	e->head = arena_alloc(arena, bound + 1 + body_len + 1);
	e->head_len = match_write_head(e->head, t, reason, body_len, nobody,
	    0, lens);
	/* bound allows for what the head may add (~70 bytes an entry): the
	 * rest goes back, unwritten. */
	arena_trim(arena, e->head, bound + 1 + body_len + 1, e->head_len + 1 +
	    body_len + 1);
	if (lens != stack)
		free(lens);
	e->body_len = body_len;
	e->body = NULL;
	if (body_len > 0) {
		e->body = e->head + e->head_len + 1;
		memcpy(e->body, res->body, body_len);
		e->body[body_len] = '\0';
	}
}

/* The recorded headers as spans, for the locator. */
static struct http_header *
match_txn_headers(const struct snap_req *rq)
{
	struct http_header	*h;
	size_t			 i;

	h = xcalloc(rq->nheaders == 0 ? 1 : rq->nheaders, sizeof *h);
	for (i = 0; i < rq->nheaders; i++) {
		h[i].name = span_from_str(rq->headers[i].name);
		h[i].value = span_trim(span_from_str(rq->headers[i].value));
	}
	return h;
}

/* Every placeholder's digits made alike, so masks that differ only in
 * which value was redacted are one group. */
static void
match_mask_canon(char *p, size_t len)
{
	size_t	off = 0, at;

	while (off < len && (at = match_find_placeholder(p + off,
	    len - off)) != len - off) {
		memset(p + off + at + MATCH_PH_PREFIX_LEN, '0', 8);
		off += at + MATCH_PH_LEN;
	}
}

/* The sorted pieces of a query joined by '&'. */
static void
match_join_pieces(struct buf *q, const struct match_key *k)
{
	size_t	i;

	for (i = 0; i < k->npieces; i++) {
		if (i > 0)
			buf_append_byte(q, '&');
		buf_append(q, k->pieces[i].p, k->pieces[i].len);
	}
}

/* A prepared item.  preps live in arrays that grow (moving them), so the
 * recorded "server" is copied in, not pointed to; a long one goes to
 * the arena. */
#define MATCH_SERVER_IN	64
struct match_prep {
	struct match_item	 it;
	/* Keys committing and finishing need, hashed by
	 * match_index_prepare() (on the loader's threads): the host's, the
	 * endpoint's (method and recorded path) and the near buckets'.
	 * Not kept in the item: serving needs none of them. */
	uint64_t		 hkey;
	uint64_t		 epkey;
	uint64_t		 nearkey[4];
	char			*server_long;	/* or NULL */
	char			 server_in[MATCH_SERVER_IN];	/* "": none */
};

static const char *
match_prep_server(const struct match_prep *p)
{
	if (p->server_long != NULL)
		return p->server_long;
	return p->server_in[0] != '\0' ? p->server_in : NULL;
}

int
match_index_add(struct match_index *mi, const struct snap_txn *t,
    char **cause)
{
	struct match_prep	p;

	if (match_index_prepare(mi, t, &p, cause) == -1)
		return -1;
	match_index_commit(mi, &p);
	return 0;
}

size_t
match_prep_size(void)
{
	return sizeof (struct match_prep);
}

static void	match_host_add(struct match_index *, struct match_item *,
		    uint64_t);
static void	match_ids_add(struct match_index *, uint32_t, uint64_t);

/*
 * Populates the item array's next megabyte (or what is left of it) in one
 * madvise(MADV_POPULATE_WRITE), as arena.c does for the arena: a 1M
 * snapshot's array is ~90,000 pages, each a page fault otherwise.  The
 * pages would be written at once anyway; realloc moves populated pages
 * along (mremap) or copies into them.  Without the flag (older kernels)
 * the pages fault in one by one.
 */
static void
match_items_populate(struct match_index *mi)
{
	const size_t	step = 1 << 20;
	uintptr_t	from, to, end;
	long		ps;

	mi->itemsready = mi->nitems + step / sizeof *mi->items;
	if (mi->itemsready > mi->itemsalloc)
		mi->itemsready = mi->itemsalloc;
#ifdef MADV_POPULATE_WRITE
	if (mi->itemsalloc * sizeof *mi->items < step ||
	    (ps = sysconf(_SC_PAGESIZE)) <= 0)
		return;
	from = (uintptr_t)(mi->items + mi->nitems) & ~((uintptr_t)ps - 1);
	to = (uintptr_t)(mi->items + mi->itemsready);
	end = (uintptr_t)(mi->items + mi->itemsalloc);
	/* Whole pages of the array only (madvise needs a page-aligned
	 * start; the length is rounded up within the array's mapping). */
	if (to > end)
		to = end;
	if (to > from)
		(void)madvise((void *)from, to - from, MADV_POPULATE_WRITE);
#else
	(void)from;
	(void)to;
	(void)end;
	(void)ps;
#endif
}

void
match_index_commit(struct match_index *mi, struct match_prep *p)
{
	const char	*server = match_prep_server(p);

	if (mi->finished)
		fatalx("%s: index already finished", __func__);
	if (server != NULL && match_server_host(mi, server) == NULL) {
		mi->servers = xreallocarray(mi->servers, mi->nservers + 1,
		    sizeof *mi->servers);
		mi->server_hosts = xreallocarray(mi->server_hosts,
		    mi->nservers + 1, sizeof *mi->server_hosts);
		mi->servers[mi->nservers] = xstrdup(server);
		mi->server_hosts[mi->nservers++] = xstrdup(p->it.e.host);
	}
	if (mi->nitems == mi->itemsalloc) {
		mi->itemsalloc = mi->itemsalloc == 0 ? 64 : mi->itemsalloc * 2;
		mi->items = xreallocarray(mi->items, mi->itemsalloc,
		    sizeof *mi->items);
		mi->ids = xreallocarray(mi->ids, mi->itemsalloc,
		    sizeof *mi->ids);
		mi->nearkeys = xreallocarray(mi->nearkeys, mi->itemsalloc,
		    sizeof *mi->nearkeys);
	}
	if (mi->nitems >= mi->itemsready)
		match_items_populate(mi);
	mi->items[mi->nitems] = p->it;
	match_host_add(mi, &mi->items[mi->nitems], p->hkey);
	mi->nhosted += mi->items[mi->nitems].hostid != MATCH_NONE;
	mi->nmasked += mi->items[mi->nitems].mask != NULL;
	memcpy(mi->nearkeys[mi->nitems], p->nearkey, sizeof p->nearkey);
	match_ids_add(mi, (uint32_t)mi->nitems++, p->epkey);
	memset(p, 0, sizeof *p);
}

/* The item's own allocations; its strings, head, body and kept body
 * are the index's arena's. */
static void
match_item_free(struct match_item *it)
{
	free(it->mask);
	if (it->kpath != it->e.path)
		free(it->kpath);
	if (it->kquery != it->e.query)
		free(it->kquery);
	free(it->keyval);
	match_live_free(it->live);
}

void
match_prep_free(struct match_prep *p)
{
	if (p == NULL)
		return;
	match_item_free(&p->it);
	memset(p, 0, sizeof *p);
}

/* Why t cannot be added, or NULL. */
static char *
match_prep_refuse(const struct match_index *mi, const struct snap_txn *t)
{
	if (mi->finished)
		fatalx("%s: index already finished", __func__);
	if (t->dir != SNAP_DIR_OUT)
		return xasprintf("line %zu: inbound transaction (dir in), "
		    "not for the responder", t->line);
	if (!t->has_res)
		return xasprintf("line %zu: no response recorded", t->line);
	if (t->res.status < 100 || t->res.status > 999)
		return xasprintf("line %zu: status %d out of range",
		    t->line, t->res.status);
	if (t->req.method == NULL || *t->req.method == '\0' ||
	    t->req.target == NULL || *t->req.target == '\0')
		return xasprintf("line %zu: request without method or "
		    "target", t->line);
	if (mi->nitems >= MATCH_NONE - 1)
		return xasprintf("line %zu: too many transactions", t->line);
	return NULL;
}

/* A recorded request's parts as matching sees them (spans into t). */
struct match_rq {
	struct span	 method;
	struct span	 host;
	struct span	 path;
	struct span	 query;
	struct span	 ct;		/* Content-Type */
};

static void
match_rq_from_txn(struct match_rq *rq, const struct snap_txn *t)
{
	struct span	 target, authority;
	const char	*s;

	target = span_from_str(t->req.target);
	match_split_target(target, &authority, &rq->path, &rq->query);
	if (t->req.host != NULL && *t->req.host != '\0')
		rq->host = span_from_str(t->req.host);
	else if ((s = match_header(t->req.headers, t->req.nheaders,
	    "Host")) != NULL && *s != '\0')
		rq->host = span_from_str(s);
	else
		rq->host = authority;
	rq->host = span_trim(rq->host);
	rq->method = span_from_str(t->req.method);
	s = match_header(t->req.headers, t->req.nheaders, "Content-Type");
	rq->ct = s == NULL ? SPAN_NULL : span_from_str(s);
}

/* Runs the transforms over t's request into norm (nothing without). */
static void
match_prep_norm(const struct match_index *mi, const struct snap_txn *t,
    const struct match_rq *rq, struct match_norm *norm)
{
	struct transform_msg	 tm;
	struct http_header	*hdrs;

	match_norm_init(norm);
	if (mi->nteps == 0)
		return;
	hdrs = match_txn_headers(&t->req);
	memset(&tm, 0, sizeof tm);
	tm.path = rq->path;
	tm.query = rq->query;
	tm.headers = hdrs;
	tm.nheaders = t->req.nheaders;
	tm.body = (struct span){ t->req.body != NULL ? t->req.body : "",
	    t->req.body_len };
	match_norm_run(mi, rq->method, &tm, norm);
	free(hdrs);
}

/*
 * Id, method, host (lower-cased), path and the recorded query sorted, in
 * one piece of the arena; k holds the sorted pieces of the recorded
 * query.
 */
static void
match_prep_names(struct arena *arena, struct match_item *it,
    const struct snap_txn *t, const struct match_rq *rq,
    const struct match_key *k)
{
	struct match_entry	*e = &it->e;
	char			 lineid[32], *d;
	const char		*id;
	size_t			 id_len, i;

	if (t->id != NULL)
		id = t->id;
	else {
		snprintf(lineid, sizeof lineid, "line %zu", t->line);
		id = lineid;
	}
	id_len = strlen(id);
	it->method_len = rq->method.len;
	it->host_len = rq->host.len;
	it->path_len = rq->path.len;
	it->query_len = k->query_len;
	d = arena_alloc(arena, id_len + it->method_len + it->host_len +
	    it->path_len + it->query_len + 5);
	e->id = d;
	match_put(&d, id, id_len + 1);
	e->method = d;
	match_put(&d, rq->method.p, it->method_len + 1);
	e->host = d;
	for (i = 0; i < rq->host.len; i++)
		*d++ = (char)match_tolower((unsigned char)rq->host.p[i]);
	*d++ = '\0';
	e->path = d;
	if (rq->path.len > 0)
		match_put(&d, rq->path.p, rq->path.len);
	*d++ = '\0';
	e->query = d;
	for (i = 0; i < k->npieces; i++) {
		if (i > 0)
			*d++ = '&';
		match_put(&d, k->pieces[i].p, k->pieces[i].len);
	}
	*d = '\0';
}

/*
 * The request as matched: normalised by the transforms (norm), the sorted
 * query, the digest and the signatures, built with the code lookups use;
 * the bodies kept for redaction masks and for match_explain_miss().
 */
static void
match_prep_keys(struct arena *arena, struct match_item *it,
    const struct match_rq *rq, const struct snap_txn *t,
    struct match_norm *norm)
{
	struct match_entry	*e = &it->e;
	struct match_key	 k;
	struct span		 kpath, kquery, kbody;
	struct buf		 b;

	kpath = norm->path_on ? match_buf_span(&norm->path) : rq->path;
	kquery = norm->query_on ? match_buf_span(&norm->query) : rq->query;
	kbody = norm->body_on ? match_buf_span(&norm->body) :
	    (struct span){ t->req.body != NULL ? t->req.body : "",
	    t->req.body_len };

	match_key_query(&k, kquery);
	e->body_digest = match_digest(rq->ct, kbody.p, kbody.len);
	e->sig = match_sig(rq->method, e->host, it->host_len, kpath,
	    k.pieces, k.npieces, e->body_digest);
	e->sig_nohost = match_sig(rq->method, NULL, 0, kpath, k.pieces,
	    k.npieces, e->body_digest);
	it->fkey = match_fastkey(rq->method, kpath, k.pieces, k.npieces,
	    e->body_digest);
	it->mkey = match_fastkey(rq->method, kpath, k.pieces, k.npieces, 0);
	if (norm->query_on) {
		buf_init(&b);
		match_join_pieces(&b, &k);
		it->kquery = buf_detach(&b, &it->kquery_len);
	} else {
		it->kquery = e->query;
		it->kquery_len = it->query_len;
	}
	match_key_free(&k);
	if (norm->path_on) {
		it->kpath = xstrndup(kpath.p, kpath.len);
		it->kpath_len = kpath.len;
	} else {
		it->kpath = e->path;
		it->kpath_len = it->path_len;
	}
	if (norm->has_key) {
		it->has_key = 1;
		it->keyval = xmalloc(norm->keys.len + 1);
		memcpy(it->keyval, norm->keys.data, norm->keys.len);
		it->keyval_len = norm->keys.len;
	}
	if (kbody.len >= MATCH_PH_LEN && match_find_placeholder(kbody.p,
	    kbody.len) != kbody.len) {
		buf_init(&b);
		it->mask_json = match_normalise(rq->ct, kbody.p, kbody.len, &b);
		match_mask_canon(b.data, b.len);
		if (b.len > 0)
			it->mask = buf_detach(&b, &it->mask_len);
		else
			it->mask_json = 0;
		buf_free(&b);
	}
	if (kbody.len > 0 && kbody.len <= MATCH_KEEP_BODY &&
	    match_is_json(rq->ct, kbody.p, kbody.len)) {
		buf_init(&b);
		match_normalise(rq->ct, kbody.p, kbody.len, &b);
		if (b.len > 0) {
			it->kbody = arena_strndup(arena, b.data, b.len);
			it->kbody_len = b.len;
		}
		buf_free(&b);
	}
}

static uint64_t	match_host_key(const char *, size_t);
static uint64_t	match_near_key(enum match_near_kind, struct span,
		    struct span, uint64_t);
static uint64_t	match_near_item_key(const struct match_item *,
		    enum match_near_kind);
_Static_assert(MATCH_NEAR_KINDS == 4, "match_prep.nearkey[]");

/* The keys of p's item that committing and finishing look up. */
static void
match_prep_hash(struct match_prep *p)
{
	const struct match_item	*it = &p->it;
	int			 kind;

	p->hkey = match_host_key(it->e.host, it->host_len);
	p->epkey = match_near_key(MATCH_NEAR_MP, (struct span){
	    it->e.method, it->method_len }, (struct span){ it->e.path,
	    it->path_len }, 0);
	for (kind = 0; kind < MATCH_NEAR_KINDS; kind++)
		p->nearkey[kind] = match_near_item_key(it, kind);
}

int
match_index_prepare(const struct match_index *mi, const struct snap_txn *t,
    struct match_prep *p, char **cause)
{
	struct match_item	*it;
	struct match_entry	*e;
	struct match_key	 k;
	struct match_norm	 norm;
	struct match_rq		 rq;
	struct match_live_key	 lkeys[MATCH_KEYS];
	size_t			 i;

	if ((*cause = match_prep_refuse(mi, t)) != NULL)
		return -1;
	match_rq_from_txn(&rq, t);
	match_prep_norm(mi, t, &rq, &norm);
	memset(p, 0, sizeof *p);
	it = &p->it;
	e = &it->e;

	/* The recorded query, sorted, as shown. */
	match_key_query(&k, rq.query);
	match_prep_names(mi->arena, it, t, &rq, &k);
	match_key_free(&k);
	match_prep_keys(mi->arena, it, &rq, t, &norm);
	/* The servers table is the committer's (match_index_commit). */
	if (t->server != NULL && *t->server != '\0' && rq.host.len > 0) {
		if ((i = strlen(t->server)) < MATCH_SERVER_IN)
			memcpy(p->server_in, t->server, i + 1);
		else
			p->server_long = arena_strndup(mi->arena, t->server,
			    i);
	}

	e->body_len_req = t->req.body_len;
	it->nseg = match_count_segments(e->path, it->path_len);
	it->route = match_route(e->method, it->method_len, it->nseg);
	it->hostid = MATCH_NONE;
	match_prep_hash(p);

	e->status = t->res.status;
	match_build_response(mi->arena, e, t);
	e->total_us = t->total_us < 0 ? -1 : t->total_us;
	e->line = t->line;
	e->start_us = t->start_us;

	if (mi->tf != NULL) {
		for (i = 0; i < norm.nkeyv; i++) {
			lkeys[i].where = norm.keyv[i].where;
			lkeys[i].val = norm.keys.data + norm.keyv[i].off;
			lkeys[i].len = norm.keyv[i].len;
		}
		it->live = match_live_create(mi->tf, t, e, lkeys, norm.nkeyv);
		e->live = it->live;
	}
	match_norm_free(&norm);
	return 0;
}

/* --- interning ------------------------------------------------------ */

static int
match_same_method(const struct match_item *a, const struct match_item *b)
{
	return a->method_len == b->method_len &&
	    memcmp(a->e.method, b->e.method, a->method_len) == 0;
}

/* The request as matched: method, path and sorted query. */
static int
match_same_req(const struct match_item *a, const struct match_item *b)
{
	return match_same_method(a, b) && a->kpath_len == b->kpath_len &&
	    memcmp(a->kpath, b->kpath, a->kpath_len) == 0 &&
	    a->kquery_len == b->kquery_len &&
	    memcmp(a->kquery, b->kquery, a->kquery_len) == 0;
}

/* The endpoint: method and recorded path. */
static int
match_same_ep(const struct match_item *a, const struct match_item *b)
{
	return match_same_method(a, b) && a->path_len == b->path_len &&
	    memcmp(a->e.path, b->e.path, a->path_len) == 0;
}

/*
 * The id of item i's value (key its hash, same its equality): that of
 * the first item with the same value, else the next id.
 */
static uint32_t
match_intern(const struct match_index *mi, struct match_intern *in,
    uint64_t key, uint32_t i,
    int (*same)(const struct match_item *, const struct match_item *))
{
	const struct match_slot	*sl;
	size_t			 j;

	if (in->t.slots == NULL)
		match_table_init(&in->t, 64);
	for (j = key & in->t.mask; (sl = &in->t.slots[j])->idx != 0;
	    j = (j + 1) & in->t.mask) {
		if (sl->key == key && same(&mi->items[in->first[sl->idx - 1]],
		    &mi->items[i]))
			return sl->idx - 1;
	}
	if (in->n == in->cap) {
		in->cap = in->cap == 0 ? 64 : in->cap * 2;
		in->first = xreallocarray(in->first, in->cap,
		    sizeof *in->first);
	}
	in->first[in->n] = i;
	match_table_put(&in->t, key, (uint32_t)in->n);
	return (uint32_t)in->n++;
}

static void
match_intern_free(struct match_intern *in)
{
	match_table_free(&in->t);
	free(in->first);
	memset(in, 0, sizeof *in);
}

/*
 * Interns committed item i's request as matched, and its method and
 * endpoint: those of the request's first item when the request was seen
 * before (the same method; the same path too when neither path was
 * rewritten by a transform), so the usual item costs one lookup.
 */
static void
match_ids_add(struct match_index *mi, uint32_t i, uint64_t epkey)
{
	const struct match_item	*it = &mi->items[i], *f;
	struct match_ids	*d = &mi->ids[i];
	size_t			 n = mi->ireq.n;

	/* mkey hashes method, kpath and the sorted query pieces, which
	 * kquery joins. */
	d->req = match_intern(mi, &mi->ireq, it->mkey, i, match_same_req);
	if (d->req < n) {
		f = &mi->items[mi->ireq.first[d->req]];
		d->method = mi->ids[mi->ireq.first[d->req]].method;
		if (it->kpath == it->e.path && f->kpath == f->e.path) {
			d->ep = mi->ids[mi->ireq.first[d->req]].ep;
			return;
		}
	} else
		d->method = match_intern(mi, &mi->imethod, match_fast(
		    MATCH_FAST_SEED, it->e.method, it->method_len, 0), i,
		    match_same_method);
	d->ep = match_intern(mi, &mi->iep, epkey, i, match_same_ep);
}

/* What only finishing needs. */
static void
match_ids_free(struct match_index *mi)
{
	free(mi->ids);
	mi->ids = NULL;
	free(mi->nearkeys);
	mi->nearkeys = NULL;
	match_intern_free(&mi->imethod);
	match_intern_free(&mi->ireq);
	match_intern_free(&mi->iep);
}

/* --- finishing ------------------------------------------------------- */

static uint64_t
match_item_key(const struct match_item *it, enum match_kind kind)
{
	switch (kind) {
	case MATCH_KIND_HOST:
		return match_fastkey_host(it->fkey, it->hostid);
	case MATCH_KIND_NOHOST:
		return it->fkey;
	case MATCH_KIND_ROUTE:
		return it->route;
	case MATCH_KIND_MASK:
		return it->mkey;
	}
	return 0;
}

/* True if items x and y belong in one group of that kind (their
 * methods and requests compared by their ids). */
static int
match_item_same(const struct match_index *mi, uint32_t x, uint32_t y,
    enum match_kind kind)
{
	const struct match_item	*a = &mi->items[x], *b = &mi->items[y];

	if (kind == MATCH_KIND_ROUTE)
		return mi->ids[x].method == mi->ids[y].method &&
		    a->nseg == b->nseg;
	if (mi->ids[x].req != mi->ids[y].req)
		return 0;
	if ((kind == MATCH_KIND_HOST || kind == MATCH_KIND_MASK) &&
	    a->hostid != b->hostid)
		return 0;
	/* Masks are compared whole: their digests differ in the
	 * placeholders' digits. */
	if (kind == MATCH_KIND_MASK)
		return a->mask_len == b->mask_len &&
		    memcmp(a->mask, b->mask, a->mask_len) == 0;
	return a->e.body_digest == b->e.body_digest;
}

/* True if the item belongs in the groups of that kind. */
static int
match_groups_has(const struct match_item *it, enum match_kind kind)
{
	if (kind == MATCH_KIND_HOST)
		return it->hostid != MATCH_NONE;
	if (kind == MATCH_KIND_MASK)
		return it->mask != NULL;
	return 1;
}

static uint64_t
match_keyval_hash(const char *p, size_t len)
{
	return match_hash(MATCH_HASH_INIT, p, len);
}

/* The sub-group of grp whose key values are p[0..len), or NULL. */
static struct match_sub *
match_sub_find(const struct match_index *mi, const struct match_group *grp,
    const char *p, size_t len, uint64_t key)
{
	const struct match_slot	*sl;
	const struct match_item	*it;
	size_t			 i;

	for (i = key & grp->subtab.mask;; i = (i + 1) & grp->subtab.mask) {
		sl = &grp->subtab.slots[i];
		if (sl->idx == 0)
			return NULL;
		if (sl->key != key)
			continue;
		it = &mi->items[grp->subs[sl->idx - 1].members[0]];
		if (it->keyval_len == len && (len == 0 ||
		    memcmp(it->keyval, p, len) == 0))
			return &grp->subs[sl->idx - 1];
	}
}

/*
 * Splits a group whose members have key values into sub-groups, one per
 * recorded key value, in order of first appearance; members keep their
 * recorded order.
 */
static void
match_subs_build(struct match_index *mi, struct match_groups *g,
    struct match_group *grp)
{
	const struct match_item	*it;
	struct match_sub	*sub;
	uint32_t		*subof, i, j;
	uint64_t		 key;
	int			 any = 0;

	for (i = 0; i < grp->n; i++) {
		if (mi->items[g->members[grp->off + i]].has_key)
			any = 1;
	}
	if (!any)
		return;
	grp->subs = xcalloc(grp->n, sizeof *grp->subs);
	subof = xcalloc(grp->n, sizeof *subof);
	match_table_init(&grp->subtab, grp->n);
	for (i = 0; i < grp->n; i++) {
		it = &mi->items[g->members[grp->off + i]];
		key = match_keyval_hash(it->keyval, it->keyval_len);
		sub = grp->nsubs == 0 ? NULL : match_sub_find(mi, grp,
		    it->keyval, it->keyval_len, key);
		if (sub == NULL) {
			sub = &grp->subs[grp->nsubs];
			/* The first member, so that lookups can compare. */
			sub->members = xcalloc(1, sizeof *sub->members);
			sub->members[0] = g->members[grp->off + i];
			atomic_init(&sub->cursor, 0);
			match_table_put(&grp->subtab, key, grp->nsubs);
			grp->nsubs++;
		}
		subof[i] = (uint32_t)(sub - grp->subs);
		sub->n++;
	}
	for (j = 0; j < grp->nsubs; j++) {
		sub = &grp->subs[j];
		free(sub->members);
		sub->members = xcalloc(sub->n, sizeof *sub->members);
		sub->n = 0;
	}
	for (i = 0; i < grp->n; i++) {
		sub = &grp->subs[subof[i]];
		sub->members[sub->n++] = g->members[grp->off + i];
	}
	free(subof);
}

static void
match_groups_build(struct match_index *mi, struct match_groups *g,
    enum match_kind kind)
{
	struct match_item	*it;
	struct match_group	*grp;
	struct match_slot	*sl;
	uint32_t		*gid, *fill;
	uint64_t		 key;
	size_t			 i, j, n;

	/* The items it holds, counted as they were committed. */
	n = kind == MATCH_KIND_HOST ? mi->nhosted : kind == MATCH_KIND_MASK ?
	    mi->nmasked : mi->nitems;
	match_table_init(&g->table, n);
	g->groups = xcalloc(n, sizeof *g->groups);
	g->ngroups = 0;
	gid = xcalloc(mi->nitems, sizeof *gid);

	/* None of them: no pass over the items (the usual masks). */
	for (i = 0; n > 0 && i < mi->nitems; i++) {
		it = &mi->items[i];
		gid[i] = MATCH_NONE;
		if (!match_groups_has(it, kind))
			continue;
		key = match_item_key(it, kind);
		for (j = key & g->table.mask;; j = (j + 1) & g->table.mask) {
			sl = &g->table.slots[j];
			if (sl->idx == 0)
				break;
			grp = &g->groups[sl->idx - 1];
			/* While building, off is the group's first item. */
			if (sl->key == key &&
			    match_item_same(mi, grp->off, (uint32_t)i, kind))
				break;
		}
		if (sl->idx == 0) {
			grp = &g->groups[g->ngroups];
			grp->sig = kind == MATCH_KIND_HOST ? it->e.sig :
			    kind == MATCH_KIND_ROUTE ? 0 : it->e.sig_nohost;
			grp->off = (uint32_t)i;	/* first item, for now */
			atomic_init(&grp->cursor, 0);
			sl->key = key;
			sl->idx = (uint32_t)++g->ngroups;
			g->table.used++;
		}
		gid[i] = sl->idx - 1;
		g->groups[gid[i]].n++;
	}

	g->groups = xreallocarray(g->groups, g->ngroups == 0 ? 1 :
	    g->ngroups, sizeof *g->groups);
	match_table_shrink(&g->table, g->ngroups);

	/* Lay the members out group after group, in recorded order. */
	g->members = xcalloc(n, sizeof *g->members);
	fill = xcalloc(g->ngroups, sizeof *fill);
	for (i = 0, j = 0; i < g->ngroups; i++) {
		g->groups[i].off = (uint32_t)j;
		j += g->groups[i].n;
	}
	for (i = 0; n > 0 && i < mi->nitems; i++) {
		if (gid[i] == MATCH_NONE)
			continue;
		grp = &g->groups[gid[i]];
		g->members[grp->off + fill[gid[i]]++] = (uint32_t)i;
	}
	free(fill);
	free(gid);
	if (mi->has_keys && kind != MATCH_KIND_ROUTE) {
		for (i = 0; i < g->ngroups; i++)
			match_subs_build(mi, g, &g->groups[i]);
	}
}

static void
match_groups_free(struct match_groups *g)
{
	size_t		i;
	uint32_t	j;

	for (i = 0; g->groups != NULL && i < g->ngroups; i++) {
		for (j = 0; j < g->groups[i].nsubs; j++)
			free(g->groups[i].subs[j].members);
		free(g->groups[i].subs);
		match_table_free(&g->groups[i].subtab);
	}
	match_table_free(&g->table);
	free(g->groups);
	free(g->members);
	memset(g, 0, sizeof *g);
}

static uint64_t
match_host_key(const char *p, size_t len)
{
	return match_fast(MATCH_FAST_SEED, p, len, 1);
}

/* The recorded host p[0..len) (any case), MATCH_NONE if none. */
static uint32_t
match_find_host(const struct match_index *mi, const char *p, size_t len,
    uint64_t key)
{
	const struct match_slot	*sl;
	const struct match_host	*h;
	size_t			 i;

	if (mi->hosttab.slots == NULL)
		return MATCH_NONE;
	for (i = key & mi->hosttab.mask;; i = (i + 1) & mi->hosttab.mask) {
		sl = &mi->hosttab.slots[i];
		if (sl->idx == 0)
			return MATCH_NONE;
		h = &mi->hosts[sl->idx - 1];
		if (sl->key == key && h->len == len &&
		    match_caseeq(h->name, p, len))
			return sl->idx - 1;
	}
}

/*
 * The slot of the base table for a host without port, NULL if none; key is
 * match_host_key() of the same bytes.
 */
static struct match_slot *
match_find_base(const struct match_index *mi, const char *p, size_t len,
    uint64_t key)
{
	struct match_slot	*sl;
	const struct match_host	*h;
	size_t			 i;

	if (mi->basetab.slots == NULL)
		return NULL;
	for (i = key & mi->basetab.mask;; i = (i + 1) & mi->basetab.mask) {
		sl = &mi->basetab.slots[i];
		if (sl->idx == 0)
			return NULL;
		h = &mi->hosts[sl->idx - 1];
		if (sl->key == key && h->base_len == len &&
		    match_caseeq(h->name, p, len))
			return sl;
	}
}

/*
 * The set of recorded hosts, and for each host without its port the
 * recorded host it stands for: the one recorded without a port if there
 * is one, else the only one recorded with a port; a name recorded with
 * several ports and never without stands for none (base_ambiguous).
 * Items are added as they are committed, in recorded order, while the
 * strings they compare are still in the cache.
 */
static void
match_host_add(struct match_index *mi, struct match_item *it, uint64_t hkey)
{
	struct match_host	*h;
	struct match_slot	*sl;
	uint32_t		 id;

	if (it->host_len == 0)
		return;
	if (mi->hosttab.slots == NULL) {
		match_table_init(&mi->hosttab, 8);
		match_table_init(&mi->basetab, 8);
	}
	id = match_find_host(mi, it->e.host, it->host_len, hkey);
	if (id == MATCH_NONE) {
		id = (uint32_t)mi->nhosts;
		mi->hosts = xreallocarray(mi->hosts, mi->nhosts + 1,
		    sizeof *mi->hosts);
		h = &mi->hosts[mi->nhosts++];
		h->name = it->e.host;
		h->len = it->host_len;
		h->base_len = match_host_base(h->name, h->len);
		h->base_ambiguous = 0;
		match_table_put(&mi->hosttab,
		    match_host_key(h->name, h->len), id);

		sl = match_find_base(mi, h->name, h->base_len,
		    match_host_key(h->name, h->base_len));
		if (sl == NULL) {
			match_table_put(&mi->basetab,
			    match_host_key(h->name, h->base_len), id);
		} else if (h->base_len == h->len) {
			/* Prefer the host recorded without a port. */
			sl->idx = id + 1;
		} else if (mi->hosts[sl->idx - 1].base_len !=
		    mi->hosts[sl->idx - 1].len) {
			/*
			 * One name, several ports (127.0.0.1:9001 and
			 * :9002): a request for yet another port
			 * names none of them, so it is host-agnostic.
			 */
			mi->hosts[sl->idx - 1].base_ambiguous = 1;
		}
	}
	it->hostid = id;
}

static uint64_t	match_near_key(enum match_near_kind, struct span,
		    struct span, uint64_t);

/*
 * Collects, per endpoint (method and path), the recorded latencies of its
 * transactions, in recorded order, and points each entry at its
 * endpoint's array.  The endpoints are numbered as items are committed
 * (match_ids_add), not sorted: at a million transactions the sort's
 * string comparisons were a tenth of the load.
 */
static void
match_endpoints_build(struct match_index *mi)
{
	uint32_t	*cnt;
	int64_t		**lat;
	size_t		 i, g, ng = mi->iep.n;

	if (mi->nitems == 0)
		return;
	/* The endpoints' ids number them in order of first appearance. */
	cnt = xcalloc(ng, sizeof *cnt);
	for (i = 0; i < mi->nitems; i++) {
		if (mi->items[i].e.total_us >= 0)
			cnt[mi->ids[i].ep]++;
	}
	lat = xcalloc(ng, sizeof *lat);
	for (g = 0; g < ng; g++) {
		if (cnt[g] == 0)
			continue;
		lat[g] = xreallocarray(NULL, cnt[g], sizeof **lat);
		mi->latencies = xreallocarray(mi->latencies,
		    mi->nlatencies + 1, sizeof *mi->latencies);
		mi->latencies[mi->nlatencies++] = lat[g];
		cnt[g] = 0;
	}
	for (i = 0; i < mi->nitems; i++) {
		struct match_entry *e = &mi->items[i].e;

		g = mi->ids[i].ep;
		if (e->total_us >= 0)
			lat[g][cnt[g]++] = e->total_us * 1000;
	}
	for (i = 0; i < mi->nitems; i++) {
		g = mi->ids[i].ep;
		mi->items[i].e.endpoint_ns = lat[g];
		mi->items[i].e.endpoint_n = cnt[g];
	}
	free(lat);
	free(cnt);
}

/* The hash of a sorted query as its pieces joined by '&'. */
static uint64_t
match_near_query(const struct match_piece *pieces, size_t n)
{
	uint64_t	h = MATCH_HASH_INIT;
	size_t		i;

	for (i = 0; i < n; i++) {
		if (i > 0)
			h = match_hash_byte(h, '&');
		h = match_hash(h, pieces[i].p, pieces[i].len);
	}
	return h;
}

static uint64_t
match_near_key(enum match_near_kind kind, struct span method,
    struct span path, uint64_t qhash)
{
	const char	*p, *end;
	struct span	 seg;
	uint64_t	 h = match_mix(MATCH_FAST_SEED, (uint64_t)kind + 1);
	uint64_t	 nseg = 0;

	if (kind != MATCH_NEAR_P)
		h = match_fast(h, method.p, method.len, 0);
	if (kind != MATCH_NEAR_MT)
		h = match_fast(h, path.p, path.len, 0);
	else {
		p = match_path_start(path.p, path.len);
		end = path.p + path.len;
		while (match_next_segment(&p, end, &seg)) {
			nseg++;
			h = match_has_digit(seg) ? match_mix(h, 0x7b7d) :
			    match_fast(h, seg.p, seg.len, 0);
		}
		h = match_mix(h, nseg);
	}
	if (kind == MATCH_NEAR_MPQ)
		h = match_mix(h, qhash);
	return h;
}

static uint64_t
match_near_item_key(const struct match_item *it, enum match_near_kind kind)
{
	return match_near_key(kind,
	    (struct span){ it->e.method, it->method_len },
	    (struct span){ it->kpath, it->kpath_len },
	    kind == MATCH_NEAR_MPQ ? match_hash(MATCH_HASH_INIT, it->kquery,
	    it->kquery_len) : 0);
}

/* The bucket of key (its slot's index + 1 in *b), 0 if none. */
static size_t
match_near_slot(const struct match_table *t, uint64_t key)
{
	size_t	i;

	for (i = key & t->mask; t->slots[i].idx != 0; i = (i + 1) & t->mask)
		if (t->slots[i].key == key)
			return t->slots[i].idx;
	return 0;
}

static void
match_near_build(struct match_index *mi)
{
	struct match_near	*nr = &mi->near;
	uint32_t		*bid, *cnt = NULL;
	size_t			 nkeys, ncap = 0, i, b, x;
	uint64_t		 key;
	int			 kind;

	if (mi->nitems == 0)
		return;
	nkeys = mi->nitems * MATCH_NEAR_KINDS;
	bid = xcalloc(nkeys, sizeof *bid);
	match_table_init(&nr->table, mi->nitems);
	for (i = 0; i < mi->nitems; i++) {
		for (kind = 0; kind < MATCH_NEAR_KINDS; kind++) {
			key = mi->nearkeys[i][kind];
			if ((b = match_near_slot(&nr->table, key)) == 0) {
				if (nr->nbuckets == ncap) {
					ncap = ncap == 0 ? 1024 : ncap * 2;
					cnt = xreallocarray(cnt, ncap,
					    sizeof *cnt);
				}
				cnt[nr->nbuckets] = 0;
				match_table_put(&nr->table, key,
				    (uint32_t)nr->nbuckets);
				b = ++nr->nbuckets;
			}
			bid[i * MATCH_NEAR_KINDS + kind] = (uint32_t)(b - 1);
			if (cnt[b - 1] < MATCH_NEAR_K)
				cnt[b - 1]++;
		}
	}
	nr->off = xcalloc(nr->nbuckets + 1, sizeof *nr->off);
	for (b = 0; b < nr->nbuckets; b++) {
		nr->off[b + 1] = nr->off[b] + cnt[b];
		cnt[b] = 0;
	}
	nr->members = xcalloc(nr->off[nr->nbuckets] == 0 ? 1 :
	    nr->off[nr->nbuckets], sizeof *nr->members);
	for (i = 0; i < nkeys; i++) {
		b = bid[i];
		x = nr->off[b] + cnt[b];
		if (x < nr->off[b + 1]) {
			nr->members[x] = (uint32_t)(i / MATCH_NEAR_KINDS);
			cnt[b]++;
		}
	}
	free(cnt);
	free(bid);
}

static void
match_near_free(struct match_near *nr)
{
	match_table_free(&nr->table);
	free(nr->off);
	free(nr->members);
}

/*
 * The parts of match_index_finish(), largest first (as measured at 1M
 * entries): each writes only its own tables (the endpoints only the
 * items' endpoint_ns and endpoint_n, which no other part reads), so any
 * two run at once.
 */
enum {
	MATCH_FIN_NEAR, MATCH_FIN_HOST, MATCH_FIN_NOHOST, MATCH_FIN_ENDPOINTS,
	MATCH_FIN_ROUTE, MATCH_FIN_MASK, MATCH_FIN_PARTS
};

struct match_fin {
	struct match_index	*mi;
	atomic_uint		 next;		/* the next part to build */
};

/* Builds parts until none is left (on each finishing thread). */
static void *
match_finish_run(void *arg)
{
	struct match_fin	*f = arg;
	struct match_index	*mi = f->mi;
	unsigned int		 part;

	while ((part = atomic_fetch_add_explicit(&f->next, 1,
	    memory_order_relaxed)) < MATCH_FIN_PARTS) {
		switch (part) {
		case MATCH_FIN_NEAR:
			match_near_build(mi);
			break;
		case MATCH_FIN_HOST:
			match_groups_build(mi, &mi->withhost,
			    MATCH_KIND_HOST);
			break;
		case MATCH_FIN_NOHOST:
			match_groups_build(mi, &mi->nohost, MATCH_KIND_NOHOST);
			break;
		case MATCH_FIN_ENDPOINTS:
			match_endpoints_build(mi);
			break;
		case MATCH_FIN_ROUTE:
			match_groups_build(mi, &mi->routes, MATCH_KIND_ROUTE);
			break;
		case MATCH_FIN_MASK:
			match_groups_build(mi, &mi->masked, MATCH_KIND_MASK);
			break;
		}
	}
	return NULL;
}

/*
 * The hosts are known (match_index_commit resolves them) and the items'
 * methods, requests and endpoints numbered (match_ids_add).  The tables
 * are built in parts that share nothing they write, taken in turn by
 * this thread and, when the index is large and a second CPU is there to
 * run it, a second one, so neither waits long for the other.
 */
void
match_index_finish(struct match_index *mi, unsigned int threads)
{
	struct match_fin	f;
	pthread_t		th;
	int			side = 0;

	if (mi->finished)
		fatalx("%s: index already finished", __func__);
	mi->finished = 1;
	if (mi->nitems > 0 && mi->nitems < mi->itemsalloc) {
		mi->items = xreallocarray(mi->items, mi->nitems,
		    sizeof *mi->items);
		mi->itemsalloc = mi->nitems;
	}
	f.mi = mi;
	atomic_init(&f.next, 0);
	if (mi->nitems >= MATCH_FINISH_THREAD && threads > 1 &&
	    pthread_create(&th, NULL, match_finish_run, &f) == 0)
		side = 1;
	match_finish_run(&f);
	if (side)
		pthread_join(th, NULL);
	match_ids_free(mi);
}

size_t
match_index_count(const struct match_index *mi)
{
	return mi->nitems;
}

void
match_index_free(struct match_index *mi)
{
	size_t	i;

	if (mi == NULL)
		return;
	for (i = 0; i < mi->nitems; i++)
		match_item_free(&mi->items[i]);
	for (i = 0; i < mi->nteps; i++)
		free(mi->teps[i].tv);
	free(mi->teps);
	for (i = 0; i < mi->nlatencies; i++)
		free(mi->latencies[i]);
	free(mi->latencies);
	free(mi->items);
	match_ids_free(mi);
	for (i = 0; i < mi->nservers; i++) {
		free(mi->servers[i]);
		free(mi->server_hosts[i]);
	}
	free(mi->servers);
	free(mi->server_hosts);
	free(mi->hosts);
	match_table_free(&mi->hosttab);
	match_table_free(&mi->basetab);
	match_groups_free(&mi->withhost);
	match_groups_free(&mi->nohost);
	match_groups_free(&mi->routes);
	match_groups_free(&mi->masked);
	match_near_free(&mi->near);
	arena_free(mi->arena);
	free(mi);
}

/* --- lookups --------------------------------------------------------- */

void
match_req_from_http(struct match_req *r, const struct http_msg *m,
    const char *body, size_t body_len)
{
	struct span	authority, path, query;
	const char	*a;
	size_t		 i;

	memset(r, 0, sizeof *r);
	r->method = m->method;
	/* An absolute-form authority wins over Host (RFC 9112 3.2.2). */
	if (m->authority.len > 0) {
		r->host = m->authority;
		if ((a = memchr(r->host.p, '@', r->host.len)) != NULL) {
			r->host.len -= (size_t)(a + 1 - r->host.p);
			r->host.p = a + 1;
		}
	} else
		r->host = m->host;
	r->path = m->path;
	r->query = m->query;
	if (m->authority.len > 0 && r->path.len > 0 && r->path.p[0] != '/' &&
	    r->path.p[0] != '*') {
		match_split_target(m->path, &authority, &path, &query);
		r->path = path;
	}
	for (i = 0; i < m->nheaders; i++) {
		if (span_caseeq_str(m->headers[i].name, "Content-Type")) {
			r->content_type = m->headers[i].value;
			break;
		}
	}
	r->body = body;
	r->body_len = body_len;
	r->headers = m->headers;
	r->nheaders = m->nheaders;
}

static uint32_t
match_resolve_host(const struct match_index *mi, struct span host)
{
	struct match_host_cache	*c = &match_host_cache;
	const struct match_slot	*sl;
	uint64_t		 key;
	size_t			 base;
	uint32_t		 id;

	if (mi->nhosts == 0)
		return MATCH_NONE;
	while (host.len > 0 && (host.p[0] == ' ' || host.p[0] == '\t')) {
		host.p++;
		host.len--;
	}
	while (host.len > 0 && (host.p[host.len - 1] == ' ' ||
	    host.p[host.len - 1] == '\t'))
		host.len--;
	if (host.len == 0)
		return MATCH_NONE;
	if (c->uid == mi->uid && c->len == host.len &&
	    memcmp(c->host, host.p, host.len) == 0)
		return c->hostid;
	key = match_host_key(host.p, host.len);
	if ((id = match_find_host(mi, host.p, host.len, key)) == MATCH_NONE) {
		if ((base = match_host_base(host.p, host.len)) != host.len)
			key = match_host_key(host.p, base);
		sl = match_find_base(mi, host.p, base, key);
		id = sl == NULL || mi->hosts[sl->idx - 1].base_ambiguous ?
		    MATCH_NONE : sl->idx - 1;
	}
	if (host.len <= sizeof c->host) {
		c->uid = mi->uid;
		c->len = host.len;
		memcpy(c->host, host.p, host.len);
		c->hostid = id;
	}
	return id;
}

static void
match_key_init(struct match_key *k, const struct match_index *mi,
    const struct match_req *r)
{
	struct transform_msg	 m;
	struct span		 query = r->query;

	k->method = r->method.p == NULL ? SPAN_LIT("") : r->method;
	k->path = r->path.p == NULL ? SPAN_LIT("") : r->path;
	k->body = (struct span){ r->body != NULL ? r->body : "",
	    r->body_len };
	match_norm_init(&k->norm);
	if (mi->nteps > 0) {
		m.path = k->path;
		m.query = query.p == NULL ? SPAN_LIT("") : query;
		m.headers = r->headers;
		m.nheaders = r->headers == NULL ? 0 : r->nheaders;
		m.body = k->body;
		match_norm_run(mi, k->method, &m, &k->norm);
		if (k->norm.path_on)
			k->path = match_buf_span(&k->norm.path);
		if (k->norm.query_on)
			query = match_buf_span(&k->norm.query);
		if (k->norm.body_on)
			k->body = match_buf_span(&k->norm.body);
	}
	match_key_query(k, query);
	k->digest = match_digest(r->content_type, k->body.p, k->body.len);
	k->hostid = match_resolve_host(mi, r->host);
	k->nseg = 0;		/* only match_closest() needs it */
}

static int
match_key_method_eq(const struct match_key *k, const struct match_item *it)
{
	return k->method.len == it->method_len &&
	    memcmp(k->method.p, it->e.method, it->method_len) == 0;
}

static int
match_key_path_eq(const struct match_key *k, const struct match_item *it)
{
	return k->path.len == it->kpath_len &&
	    (it->kpath_len == 0 ||
	    memcmp(k->path.p, it->kpath, it->kpath_len) == 0);
}

static const struct match_group *
match_groups_find(const struct match_index *mi, const struct match_groups *g,
    uint64_t key, const struct match_key *k, enum match_kind kind)
{
	const struct match_slot		*sl;
	const struct match_group	*grp;
	const struct match_item		*it;
	size_t				 i;

	if (g->table.slots == NULL)
		return NULL;
	for (i = key & g->table.mask;; i = (i + 1) & g->table.mask) {
		sl = &g->table.slots[i];
		if (sl->idx == 0)
			return NULL;
		if (sl->key != key)
			continue;
		grp = &g->groups[sl->idx - 1];
		it = &mi->items[g->members[grp->off]];
		if (!match_key_method_eq(k, it))
			continue;
		if (kind == MATCH_KIND_ROUTE) {
			if (it->nseg == k->nseg)
				return grp;
			continue;
		}
		if (kind == MATCH_KIND_HOST && it->hostid != k->hostid)
			continue;
		if (it->e.body_digest == k->digest &&
		    match_key_path_eq(k, it) &&
		    match_query_eq(k, it->kquery, it->kquery_len))
			return grp;
	}
}

/*
 * The group of entries with redacted request bodies (see
 * match_find_placeholder) on the request's method, path and query whose
 * mask the request's body fits; NULL if none.  With a recorded host, only
 * that host's entries.
 */
static const struct match_group *
match_masked_find(const struct match_index *mi, const struct match_key *k,
    const struct match_req *r)
{
	const struct match_groups	*g = &mi->masked;
	const struct match_slot		*sl;
	const struct match_group	*grp, *found = NULL;
	const struct match_item		*it;
	struct buf			 body;
	uint64_t			 key;
	size_t				 i;

	key = match_fastkey(k->method, k->path, k->pieces, k->npieces, 0);
	buf_init(&body);
	match_normalise(r->content_type, k->body.p, k->body.len, &body);
	for (i = key & g->table.mask;; i = (i + 1) & g->table.mask) {
		sl = &g->table.slots[i];
		if (sl->idx == 0)
			break;
		if (sl->key != key)
			continue;
		grp = &g->groups[sl->idx - 1];
		it = &mi->items[g->members[grp->off]];
		if (!match_key_method_eq(k, it) || !match_key_path_eq(k, it) ||
		    !match_query_eq(k, it->kquery, it->kquery_len))
			continue;
		if (k->hostid != MATCH_NONE && it->hostid != k->hostid)
			continue;
		if (match_mask_eq(it, body.data == NULL ? "" : body.data,
		    body.len)) {
			found = grp;
			break;
		}
	}
	buf_free(&body);
	return found;
}

const char *
match_server_host(const struct match_index *mi, const char *server)
{
	size_t	i;

	for (i = 0; i < mi->nservers; i++) {
		if (strcasecmp(mi->servers[i], server) == 0)
			return mi->server_hosts[i];
	}
	return NULL;
}

int
match_has_host(const struct match_index *mi, struct span host)
{
	return match_resolve_host(mi, host) != MATCH_NONE;
}

uint64_t
match_txn_signature(const struct snap_txn *t, int with_host)
{
	struct match_key	 k;
	struct span		 target, authority, path, query, host, ct;
	const char		*s;
	char			*lhost;
	uint64_t		 digest, sig;
	size_t			 i;

	target = span_from_str(t->req.target != NULL ? t->req.target : "");
	match_split_target(target, &authority, &path, &query);
	if (t->req.host != NULL && *t->req.host != '\0')
		host = span_from_str(t->req.host);
	else if ((s = match_header(t->req.headers, t->req.nheaders,
	    "Host")) != NULL && *s != '\0')
		host = span_from_str(s);
	else
		host = authority;
	host = span_trim(host);
	match_key_query(&k, query);
	s = match_header(t->req.headers, t->req.nheaders, "Content-Type");
	ct = s == NULL ? SPAN_NULL : span_from_str(s);
	digest = match_digest(ct, t->req.body, t->req.body_len);
	lhost = xstrndup(host.p == NULL ? "" : host.p, host.len);
	for (i = 0; i < host.len; i++)
		lhost[i] = (char)match_tolower((unsigned char)lhost[i]);
	sig = match_sig(span_from_str(t->req.method != NULL ?
	    t->req.method : ""), with_host ? lhost : NULL, host.len, path,
	    k.pieces, k.npieces, digest);
	free(lhost);
	match_key_free(&k);
	return sig;
}

const struct match_entry *
match_lookup(struct match_index *mi, const struct match_req *r,
    uint64_t *sig, uint64_t *occurrence)
{
	const struct match_groups	*g;
	const struct match_group	*grp;
	struct match_group		*wgrp;
	struct match_key		 k;
	enum match_kind			 kind;
	uint64_t			 key, occ;

	match_key_init(&k, mi, r);
	key = match_fastkey(k.method, k.path, k.pieces, k.npieces, k.digest);
	if (k.hostid != MATCH_NONE) {
		key = match_fastkey_host(key, k.hostid);
		g = &mi->withhost;
		kind = MATCH_KIND_HOST;
	} else {
		g = &mi->nohost;
		kind = MATCH_KIND_NOHOST;
	}
	grp = match_groups_find(mi, g, key, &k, kind);
	if (grp == NULL && mi->masked.ngroups > 0) {
		g = &mi->masked;
		grp = match_masked_find(mi, &k, r);
	}
	if (grp == NULL) {
		match_key_done(&k);
		return NULL;
	}

	/*
	 * The groups are ours and only the cursors ever change.  Every
	 * field is equal, so the group's stored signature is the request's.
	 */
	wgrp = (struct match_group *)grp;
	if (grp->nsubs > 0) {
		/* Key fields: the live value's recorded transactions, or
		 * those of the recorded value its hash picks. */
		const char	*kv = k.norm.keys.data != NULL ?
		    k.norm.keys.data : "";
		size_t		 kl = k.norm.keys.len;
		uint64_t	 h = match_keyval_hash(kv, kl);
		struct match_sub *sub;

		if ((sub = match_sub_find(mi, grp, kv, kl, h)) == NULL)
			sub = &wgrp->subs[h % grp->nsubs];
		match_key_done(&k);
		occ = atomic_fetch_add_explicit(&sub->cursor, 1,
		    memory_order_relaxed);
		if (sig != NULL)
			*sig = match_hash_u64(grp->sig,
			    (uint64_t)(sub - grp->subs));
		if (occurrence != NULL)
			*occurrence = occ;
		return &mi->items[sub->members[occ % sub->n]].e;
	}
	match_key_done(&k);
	occ = atomic_fetch_add_explicit(&wgrp->cursor, 1,
	    memory_order_relaxed);
	if (sig != NULL)
		*sig = grp->sig;
	if (occurrence != NULL)
		*occurrence = occ;
	return &mi->items[g->members[grp->off + occ % grp->n]].e;
}

/* Appends the members of key's bucket to v. */
static size_t
match_near_add(const struct match_index *mi, uint64_t key, uint32_t *v,
    size_t n)
{
	const struct match_near	*nr = &mi->near;
	size_t			 b, i;

	if (nr->table.slots == NULL || (b = match_near_slot(&nr->table,
	    key)) == 0)
		return n;
	b--;
	for (i = nr->off[b]; i < nr->off[b + 1]; i++)
		v[n++] = nr->members[i];
	return n;
}

static int
match_u32_cmp(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

#define MATCH_NEAR_MAX	(6 * MATCH_NEAR_K)

/*
 * The candidates for an unmatched request k into v (MATCH_NEAR_MAX
 * slots), item indexes sorted, each once.  closest: only those on the
 * request's route template (the only ones match_closest_score() accepts);
 * else also those on the path with any method, the first of the
 * method's route (method and segment count) and, so that an explanation
 * always names someone, the first recorded entries.
 */
static size_t
match_near_candidates(const struct match_index *mi,
    const struct match_key *k, int closest, uint32_t *v)
{
	const struct match_group	*grp;
	uint64_t			 q;
	size_t				 n = 0, i, j;
	uint32_t			 x;

	q = match_near_query(k->pieces, k->npieces);
	n = match_near_add(mi, match_near_key(MATCH_NEAR_MPQ, k->method,
	    k->path, q), v, n);
	n = match_near_add(mi, match_near_key(MATCH_NEAR_MP, k->method,
	    k->path, 0), v, n);
	n = match_near_add(mi, match_near_key(MATCH_NEAR_MT, k->method,
	    k->path, 0), v, n);
	if (!closest) {
		n = match_near_add(mi, match_near_key(MATCH_NEAR_P, k->method,
		    k->path, 0), v, n);
		grp = match_groups_find(mi, &mi->routes,
		    match_route(k->method.p, k->method.len, k->nseg), k,
		    MATCH_KIND_ROUTE);
		for (x = 0; grp != NULL && x < grp->n && x < MATCH_NEAR_K;
		    x++)
			v[n++] = mi->routes.members[grp->off + x];
		for (x = 0; x < mi->nitems && x < MATCH_NEAR_K; x++)
			v[n++] = x;
	}
	qsort(v, n, sizeof *v, match_u32_cmp);
	for (i = 0, j = 0; i < n; i++) {
		if (j == 0 || v[j - 1] != v[i])
			v[j++] = v[i];
	}
	return j;
}

/* How many of the request's query pieces the entry's query holds too. */
static size_t
match_query_common(const struct match_key *k, const struct match_item *it)
{
	const char	*p, *end = it->kquery + it->kquery_len, *e;
	size_t		 i, n = 0;

	for (i = 0; i < k->npieces; i++) {
		for (p = it->kquery; p < end; p = e + 1) {
			if ((e = memchr(p, '&', (size_t)(end - p))) == NULL)
				e = end;
			if ((size_t)(e - p) == k->pieces[i].len &&
			    memcmp(p, k->pieces[i].p, k->pieces[i].len) == 0) {
				n++;
				break;
			}
		}
	}
	return n;
}

/*
 * Scores an entry on the request's route: -1 if a segment differs and is
 * not identifier-like on both sides, else 4 per equal segment, 2 per
 * common query parameter, 3 for an equal body, 1 for an equal host.
 */
static long
match_closest_score(const struct match_key *k, const struct match_item *it)
{
	const char	*pa, *pb, *ea, *eb;
	struct span	 sa, sb;
	long		 score = 0;

	pa = match_path_start(k->path.p, k->path.len);
	ea = k->path.p + k->path.len;
	pb = match_path_start(it->kpath, it->kpath_len);
	eb = it->kpath + it->kpath_len;
	while (match_next_segment(&pa, ea, &sa)) {
		if (!match_next_segment(&pb, eb, &sb))
			return -1;
		if (span_eq(sa, sb))
			score += 4;
		else if (!match_has_digit(sa) || !match_has_digit(sb))
			return -1;
	}
	score += 2 * (long)match_query_common(k, it);
	if (it->e.body_digest == k->digest)
		score += 3;
	if (k->hostid != MATCH_NONE && it->hostid == k->hostid)
		score += 1;
	return score;
}

const struct match_entry *
match_closest(const struct match_index *mi, const struct match_req *r)
{
	const struct match_item		*it, *best = NULL;
	struct match_key		 k;
	long				 score, best_score = -1;
	uint32_t			 cand[MATCH_NEAR_MAX];
	size_t				 i, ncand;

	match_key_init(&k, mi, r);
	k.nseg = match_count_segments(k.path.p, k.path.len);
	/* Recorded order among equal scores, as the candidates are. */
	ncand = match_near_candidates(mi, &k, 1, cand);
	for (i = 0; i < ncand; i++) {
		it = &mi->items[cand[i]];
		score = match_closest_score(&k, it);
		if (score > best_score) {
			best_score = score;
			best = it;
		}
	}
	match_key_done(&k);
	return best == NULL ? NULL : &best->e;
}

enum {
	MATCH_DIFF_METHOD = 0x01,
	MATCH_DIFF_HOST = 0x02,
	MATCH_DIFF_PATH = 0x04,
	MATCH_DIFF_QUERY = 0x08,
	MATCH_DIFF_BODY = 0x10,
};

static const char *const match_diff_names[] = {
	"method", "host", "path", "query", "body"
};

/*
 * The fields an entry differs in.  The host only counts when the request
 * names a recorded host: otherwise matching ignores it.
 */
static int
match_differs(const struct match_key *k, const struct match_item *it,
    size_t *common)
{
	const char	*pa, *pb, *ea, *eb;
	struct span	 sa, sb;
	int		 d = 0;

	if (!match_key_method_eq(k, it))
		d |= MATCH_DIFF_METHOD;
	if (k->hostid != MATCH_NONE && it->hostid != k->hostid)
		d |= MATCH_DIFF_HOST;
	if (!match_key_path_eq(k, it))
		d |= MATCH_DIFF_PATH;
	if (!match_query_eq(k, it->kquery, it->kquery_len))
		d |= MATCH_DIFF_QUERY;
	if (it->e.body_digest != k->digest)
		d |= MATCH_DIFF_BODY;

	*common = 0;
	pa = match_path_start(k->path.p, k->path.len);
	ea = k->path.p + k->path.len;
	pb = match_path_start(it->kpath, it->kpath_len);
	eb = it->kpath + it->kpath_len;
	while (match_next_segment(&pa, ea, &sa) &&
	    match_next_segment(&pb, eb, &sb) && span_eq(sa, sb))
		(*common)++;
	return d;
}

static void
match_json_str(struct buf *out, const char *p, size_t len)
{
	json_append_string(out, p == NULL ? "" : p, len);
}

/* --- where a candidate differs --------------------------------------- */

/* Body members named per candidate, and the depth the diff descends. */
#define MATCH_FIELDS_MAX	8
#define MATCH_DIFF_DEPTH	32

struct match_fields {
	struct buf	 out;		/* JSON strings, comma-separated */
	size_t		 n;
	size_t		 body;		/* body members named */
};

static void
match_field(struct match_fields *f, const char *s, size_t len)
{
	if (f->n++ > 0)
		buf_append_byte(&f->out, ',');
	json_append_string(&f->out, s, len);
}

/* A JSON member of an object: its decoded name and raw value. */
struct match_member {
	char		*name;
	size_t		 len;
	struct span	 val;
};

/* The members of the object text s (validated), or -1 if not one. */
static int
match_members(struct span s, struct match_member **out, size_t *n)
{
	struct json_parser	 p, kp;
	struct json_value	 key, v;
	struct match_member	*m = NULL;
	struct buf		 name;
	size_t			 cap = 0;
	int			 r;

	*n = 0;
	json_init(&p, s.p, s.len);
	if (json_object_enter(&p) == -1)
		return -1;
	while ((r = json_object_next(&p, &key)) == 1) {
		if (json_skip(&p, &v) == -1) {
			r = -1;
			break;
		}
		buf_init(&name);
		json_init(&kp, key.p, key.len);
		(void)json_read_string(&kp, &name, NULL);
		if (*n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			m = xreallocarray(m, cap, sizeof *m);
		}
		m[*n].len = name.len;
		m[*n].name = buf_detach(&name, NULL);
		if (m[*n].name == NULL)
			m[*n].name = xstrdup("");
		m[*n].val = (struct span){ v.p, v.len };
		(*n)++;
	}
	*out = m;
	return r == -1 ? -1 : 0;
}

static void
match_members_free(struct match_member *m, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(m[i].name);
	free(m);
}

/* The elements of the array text s (validated), or -1 if not one. */
static int
match_elements(struct span s, struct span **out, size_t *n)
{
	struct json_parser	 p;
	struct json_value	 v;
	struct span		*e = NULL;
	size_t			 cap = 0;
	int			 r;

	*n = 0;
	json_init(&p, s.p, s.len);
	if (json_array_enter(&p) == -1)
		return -1;
	while ((r = json_array_next(&p)) == 1) {
		if (json_skip(&p, &v) == -1) {
			r = -1;
			break;
		}
		if (*n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			e = xreallocarray(e, cap, sizeof *e);
		}
		e[(*n)++] = (struct span){ v.p, v.len };
	}
	*out = e;
	return r == -1 ? -1 : 0;
}

static void
match_body_field(struct match_fields *f, const struct buf *path)
{
	struct buf	b;

	if (f->body >= MATCH_FIELDS_MAX)
		return;
	f->body++;
	buf_init(&b);
	buf_append_str(&b, "body ");
	buf_append(&b, path->data, path->len);
	match_field(f, b.data, b.len);
	buf_free(&b);
}

/* 1 if the JSON texts a and b are equal but for whitespace. */
static int
match_json_same(struct span a, struct span b)
{
	struct buf	x, y;
	int		same;

	buf_init(&x);
	buf_init(&y);
	json_append_compact(&x, a.p, a.len);
	json_append_compact(&y, b.p, b.len);
	same = x.len == y.len && (x.len == 0 ||
	    memcmp(x.data, y.data, x.len) == 0);
	buf_free(&x);
	buf_free(&y);
	return same;
}

/*
 * Names, as JSON paths from path, the members where the JSON values a
 * (recorded) and b (live) differ: a member on one side only, or a scalar
 * that differs; objects and arrays are compared member by member.
 */
static void
match_json_diff(struct span a, struct span b, struct buf *path,
    struct match_fields *f, int depth)
{
	struct match_member	*ma, *mb;
	struct span		*ea, *eb;
	struct json_parser	 pa, pb;
	enum json_type		 ta, tb;
	size_t			 na, nb, i, j, at = path->len;

	if (f->body >= MATCH_FIELDS_MAX || match_json_same(a, b))
		return;
	json_init(&pa, a.p, a.len);
	json_init(&pb, b.p, b.len);
	ta = json_peek(&pa);
	tb = json_peek(&pb);
	if (depth >= MATCH_DIFF_DEPTH || ta != tb ||
	    (ta != JSON_OBJECT && ta != JSON_ARRAY)) {
		match_body_field(f, path);
		return;
	}
	if (ta == JSON_OBJECT) {
		ma = mb = NULL;
		if (match_members(a, &ma, &na) == -1 ||
		    match_members(b, &mb, &nb) == -1) {
			match_body_field(f, path);
		} else {
			for (i = 0; i < na; i++) {
				for (j = 0; j < nb; j++) {
					if (mb[j].len == ma[i].len &&
					    memcmp(mb[j].name, ma[i].name,
					    ma[i].len) == 0)
						break;
				}
				transform_jpath_member(path, ma[i].name, ma[i].len);
				if (j == nb)
					match_body_field(f, path);
				else
					match_json_diff(ma[i].val, mb[j].val,
					    path, f, depth + 1);
				path->len = at;
			}
			for (j = 0; j < nb; j++) {
				for (i = 0; i < na; i++) {
					if (mb[j].len == ma[i].len &&
					    memcmp(mb[j].name, ma[i].name,
					    ma[i].len) == 0)
						break;
				}
				if (i < na)
					continue;
				transform_jpath_member(path, mb[j].name, mb[j].len);
				match_body_field(f, path);
				path->len = at;
			}
		}
		match_members_free(ma, ma == NULL ? 0 : na);
		match_members_free(mb, mb == NULL ? 0 : nb);
		return;
	}
	ea = eb = NULL;
	if (match_elements(a, &ea, &na) == -1 ||
	    match_elements(b, &eb, &nb) == -1)
		match_body_field(f, path);
	else {
		for (i = 0; i < na || i < nb; i++) {
			buf_printf(path, "[%zu]", i);
			if (i >= na || i >= nb)
				match_body_field(f, path);
			else
				match_json_diff(ea[i], eb[i], path, f,
				    depth + 1);
			path->len = at;
		}
	}
	free(ea);
	free(eb);
}

/* 1 if the JSON text s is valid. */
static int
match_json_valid(struct span s)
{
	struct json_parser	p;

	json_init(&p, s.p, s.len);
	return json_skip(&p, NULL) == 0 && json_finish(&p) == 0;
}

/* Query parameter key (up to '=') of a piece. */
static struct span
match_piece_key(const char *p, size_t len)
{
	const char	*eq = memchr(p, '=', len);

	return (struct span){ p, eq == NULL ? len : (size_t)(eq - p) };
}

static int
match_span_cmp(struct span a, struct span b)
{
	size_t	n = a.len < b.len ? a.len : b.len;
	int	c;

	if (n > 0 && (c = memcmp(a.p, b.p, n)) != 0)
		return c;
	return a.len < b.len ? -1 : a.len > b.len;
}

/*
 * Names "query KEY" for each key whose pieces differ between the request
 * and the entry (both sorted by key, repeated keys in order).
 */
static void
match_query_fields(const struct match_key *k, const struct match_item *it,
    struct match_fields *f)
{
	struct span	*ep = NULL, key, ki, kj;
	const char	*p, *end = it->kquery + it->kquery_len, *e;
	size_t		 n = 0, cap = 0, i = 0, j = 0, i2, j2, x;
	struct buf	 b;
	int		 c, same;

	for (p = it->kquery; p < end; p = e + 1) {
		if ((e = memchr(p, '&', (size_t)(end - p))) == NULL)
			e = end;
		if (n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			ep = xreallocarray(ep, cap, sizeof *ep);
		}
		ep[n++] = (struct span){ p, (size_t)(e - p) };
	}
	buf_init(&b);
	while (i < k->npieces || j < n) {
		ki = i < k->npieces ? match_piece_key(k->pieces[i].p,
		    k->pieces[i].len) : SPAN_NULL;
		kj = j < n ? match_piece_key(ep[j].p, ep[j].len) : SPAN_NULL;
		if (i >= k->npieces)
			c = 1;
		else if (j >= n)
			c = -1;
		else
			c = match_span_cmp(ki, kj);
		key = c <= 0 ? ki : kj;
		for (i2 = i; i2 < k->npieces && span_eq(key, match_piece_key(
		    k->pieces[i2].p, k->pieces[i2].len)); i2++)
			;
		for (j2 = j; j2 < n && span_eq(key, match_piece_key(ep[j2].p,
		    ep[j2].len)); j2++)
			;
		same = i2 - i == j2 - j;
		for (x = 0; same && x < i2 - i; x++)
			same = span_eq((struct span){ k->pieces[i + x].p,
			    k->pieces[i + x].len }, ep[j + x]);
		if (!same) {
			buf_reset(&b);
			buf_append_str(&b, "query ");
			buf_append_span(&b, key);
			match_field(f, b.data, b.len);
		}
		i = i2;
		j = j2;
	}
	buf_free(&b);
	free(ep);
}

/*
 * Names where entry it differs from the request k (normalised), in the
 * transforms file's location syntax, into f->out: "method", "host",
 * "path N" per differing segment, "query NAME" per parameter whose
 * values differ, "body $.a.b" per differing JSON member (or "body").
 */
static void
match_fields(const struct match_key *k, const struct match_item *it, int d,
    struct match_fields *f)
{
	const char	*pa, *pb, *ea, *eb;
	struct span	 sa, sb;
	struct buf	 b, path;
	size_t		 seg;
	int		 ha, hb;

	buf_init(&b);
	if (d & MATCH_DIFF_METHOD)
		match_field(f, "method", 6);
	if (d & MATCH_DIFF_HOST)
		match_field(f, "host", 4);
	if (d & MATCH_DIFF_PATH) {
		pa = match_path_start(k->path.p, k->path.len);
		ea = k->path.p + k->path.len;
		pb = match_path_start(it->kpath, it->kpath_len);
		eb = it->kpath + it->kpath_len;
		for (seg = 0;; seg++) {
			ha = match_next_segment(&pa, ea, &sa);
			hb = match_next_segment(&pb, eb, &sb);
			if (!ha && !hb)
				break;
			if (ha && hb && span_eq(sa, sb))
				continue;
			buf_reset(&b);
			buf_printf(&b, "path %zu", seg);
			match_field(f, b.data, b.len);
		}
	}
	if (d & MATCH_DIFF_QUERY)
		match_query_fields(k, it, f);
	if (d & MATCH_DIFF_BODY) {
		struct span	rec = { it->kbody, it->kbody_len };

		if (it->kbody != NULL && k->body.len > 0 &&
		    match_json_valid(rec) && match_json_valid(k->body)) {
			buf_init(&path);
			buf_append_byte(&path, '$');
			match_json_diff(rec, k->body, &path, f, 0);
			buf_free(&path);
			if (f->body == 0)
				match_field(f, "body", 4);
		} else
			match_field(f, "body", 4);
	}
	buf_free(&b);
}

void
match_explain_miss(const struct match_index *mi, const struct match_req *r,
    struct buf *out, size_t n)
{
	const struct match_item	*it;
	struct match_key	 k;
	struct match_fields	 fields;
	size_t			*best, nbest = 0, i, j, c, common, ncand;
	uint32_t		 cand[MATCH_NEAR_MAX];
	long			*scores, score;
	int			 d, bit, first;

	match_key_init(&k, mi, r);
	k.nseg = match_count_segments(k.path.p, k.path.len);
	ncand = match_near_candidates(mi, &k, 0, cand);
	if (n > mi->nitems)
		n = mi->nitems;
	best = xcalloc(n == 0 ? 1 : n, sizeof *best);
	scores = xcalloc(n == 0 ? 1 : n, sizeof *scores);

	/*
	 * Fewer differing fields first, then more leading path segments in
	 * common; ties keep recorded order (strictly better displaces).
	 * Only the near candidates are scored, never the whole snapshot.
	 */
	for (c = 0; c < ncand && n > 0; c++) {
		i = cand[c];
		d = match_differs(&k, &mi->items[i], &common);
		score = (long)(5 - __builtin_popcount((unsigned)d)) * 100000L +
		    (long)(common > 99999 ? 99999 : common);
		if (nbest == n && score <= scores[n - 1])
			continue;
		j = nbest < n ? nbest++ : n - 1;
		while (j > 0 && scores[j - 1] < score) {
			best[j] = best[j - 1];
			scores[j] = scores[j - 1];
			j--;
		}
		best[j] = i;
		scores[j] = score;
	}

	buf_append_str(out, "{\"error\":\"no recorded transaction matches "
	    "this request\",\"request\":{\"method\":");
	match_json_str(out, r->method.p, r->method.len);
	buf_append_str(out, ",\"host\":");
	match_json_str(out, r->host.p, r->host.len);
	buf_append_str(out, ",\"path\":");
	match_json_str(out, r->path.p, r->path.len);
	buf_append_str(out, ",\"query\":");
	match_json_str(out, r->query.p, r->query.len);
	buf_append_str(out, "},\"candidates\":[");
	for (i = 0; i < nbest; i++) {
		it = &mi->items[best[i]];
		if (i > 0)
			buf_append_byte(out, ',');
		buf_append_str(out, "{\"id\":");
		match_json_str(out, it->e.id, strlen(it->e.id));
		buf_printf(out, ",\"line\":%zu,\"method\":", it->e.line);
		match_json_str(out, it->e.method, it->method_len);
		buf_append_str(out, ",\"host\":");
		match_json_str(out, it->e.host, it->host_len);
		buf_append_str(out, ",\"path\":");
		match_json_str(out, it->e.path, it->path_len);
		buf_append_str(out, ",\"query\":");
		match_json_str(out, it->e.query, it->query_len);
		buf_append_str(out, ",\"differs\":[");
		d = match_differs(&k, it, &common);
		first = 1;
		for (bit = 0; bit < 5; bit++) {
			if ((d & (1 << bit)) == 0)
				continue;
			if (!first)
				buf_append_byte(out, ',');
			first = 0;
			buf_append_byte(out, '"');
			buf_append_str(out, match_diff_names[bit]);
			buf_append_byte(out, '"');
		}
		buf_append_str(out, "],\"fields\":[");
		buf_init(&fields.out);
		fields.n = fields.body = 0;
		match_fields(&k, it, d, &fields);
		buf_append(out, fields.out.data, fields.out.len);
		buf_free(&fields.out);
		buf_append_str(out, "]}");
	}
	buf_append_str(out, "]}");

	free(scores);
	free(best);
	match_key_done(&k);
}
