/*
 * analyze.c -- the analysis behind `decoy analyze` (see analyze.h).
 *
 * Each transaction is taken apart into candidate values: request and
 * response headers (not the framing, hop-by-hop and content-negotiation
 * ones), the cookies of Cookie and Set-Cookie, query parameters, path
 * segments that hold a digit (the parameters of transform_route()), the
 * string and number leaves of JSON bodies (array elements as [*] when they
 * share a type, nesting bounded) and form fields.  Each value updates the
 * aggregate of its location (direction, endpoint, request or response,
 * where) and is remembered until the end of its transaction only, for two
 * cross-checks that need both halves:
 *   - outbound: a response value equal to a value of its own request is an
 *     echo candidate (and the request value is "echoed": a key-field hint);
 *   - inbound: a response value is remembered per session (bounded table
 *     of 64-bit hashes); when a later request of that session carries it,
 *     that is a correlation from the response location to the request
 *     location.
 * analyze_finish() then decides, per location, the kind (JWT, timestamp,
 * UUID, ULID, hex, base64) and whether it is volatile, and picks the
 * action by direction and side (analyze.h, decoy(1)).
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analyze.h"
#include "buf.h"
#include "grpc.h"
#include "http.h"
#include "json.h"
#include "jwt.h"
#include "match.h"
#include "protobuf.h"
#include "route.h"
#include "shape.h"
#include "snap.h"
#include "transform.h"
#include "xmalloc.h"

#define AZ_MAX_LOCS		16384	/* distinct locations kept */
#define AZ_MAX_LOCS_EP		512	/* per endpoint and side */
#define AZ_MAX_EPS		4096	/* distinct endpoints */
#define AZ_SET_MAX		1024	/* distinct value hashes per location */
#define AZ_SET_SAMPLE		8	/* then one value in 8 is looked up */
#define AZ_JWT_SAMPLES		4	/* tokens kept per location for --key */
#define AZ_JWT_MAX		8192	/* longest token kept */
#define AZ_MAX_DEPTH		8	/* JSON nesting walked */
#define AZ_MAX_LEAVES		256	/* values taken from one message */
#define AZ_MAX_INDEX		8	/* array elements walked when mixed */
#define AZ_PB_NUMS		64	/* field numbers told apart per message */
#define AZ_ECHO_CAND		4	/* echo sources kept per location */
#define AZ_CBUCKETS		(1u << 17)	/* (session, value) pairs:
						   8 per 64-byte bucket, 8 MiB */
#define AZ_MAX_USES		32	/* uses listed per correlation */
#define AZ_DAY_US		(INT64_C(86400) * 1000000)

/* A path segment of the Location response header: a correlation source
 * only (transform.h cannot name it, see analyze_finish). */
#define AZ_PART_LOCSEG		100

static uint64_t
az_mix(uint64_t x)
{
	x ^= x >> 32;
	x *= UINT64_C(0xd6e8feb86659fd93);
	x ^= x >> 32;
	x *= UINT64_C(0xd6e8feb86659fd93);
	x ^= x >> 32;
	return x;
}

/* A 64-bit hash of bytes, eight at a time; never 0. */
static uint64_t
az_hash(const void *p, size_t len, uint64_t seed)
{
	const unsigned char	*s = p;
	uint64_t		 h = seed ^ (len * UINT64_C(0x9e3779b97f4a7c15));
	uint64_t		 w;

	while (len >= 8) {
		memcpy(&w, s, 8);
		h = az_mix(h ^ w);
		s += 8;
		len -= 8;
	}
	w = 0;
	memcpy(&w, s, len);
	h = az_mix(h ^ w ^ ((uint64_t)len << 59));
	return h == 0 ? 1 : h;
}

/* --- a set of 64-bit hashes, bounded --- */

struct az_set {
	uint64_t	*slot;		/* 0 is empty */
	uint32_t	 n;
	uint32_t	 cap;		/* power of two */
};

/* 1: added, 0: already there, -1: full and not there. */
static int
az_set_add(struct az_set *s, uint64_t h, uint32_t max)
{
	uint64_t	*old;
	uint32_t	 i, j, ocap;

	if (s->cap != 0) {
		for (i = (uint32_t)h & (s->cap - 1); s->slot[i] != 0;
		    i = (i + 1) & (s->cap - 1)) {
			if (s->slot[i] == h)
				return 0;
		}
	}
	if (s->n >= max)
		return -1;
	if ((s->n + 1) * 2 > s->cap) {
		old = s->slot;
		ocap = s->cap;
		s->cap = ocap == 0 ? 8 : ocap * 2;
		s->slot = xcalloc(s->cap, sizeof *s->slot);
		for (j = 0; j < ocap; j++) {
			if (old[j] == 0)
				continue;
			for (i = (uint32_t)old[j] & (s->cap - 1);
			    s->slot[i] != 0; i = (i + 1) & (s->cap - 1))
				;
			s->slot[i] = old[j];
		}
		free(old);
	}
	for (i = (uint32_t)h & (s->cap - 1); s->slot[i] != 0;
	    i = (i + 1) & (s->cap - 1))
		;
	s->slot[i] = h;
	s->n++;
	return 1;
}

/* --- an index of positions in an array, by their 64-bit hashes --- */

struct az_index {
	uint32_t	*slot;		/* position + 1; 0 is empty */
	uint32_t	 cap;		/* 0 or a power of two */
};

/*
 * Empties x, with room for n positions at most half full: cap at least
 * min (a power of two), doubled as needed, never shrunk.
 */
static void
az_index_clear(struct az_index *x, uint32_t n, uint32_t min)
{
	uint32_t	cap = x->cap > min ? x->cap : min;

	while (cap < n * 2)
		cap *= 2;
	if (cap == x->cap) {
		memset(x->slot, 0, cap * sizeof *x->slot);
		return;
	}
	free(x->slot);
	x->slot = xcalloc(cap, sizeof *x->slot);
	x->cap = cap;
}

/* Puts position pos under hash h; x has an empty slot. */
static void
az_index_put(struct az_index *x, uint64_t h, uint32_t pos)
{
	uint32_t	i;

	for (i = (uint32_t)h & (x->cap - 1); x->slot[i] != 0;
	    i = (i + 1) & (x->cap - 1))
		;
	x->slot[i] = pos + 1;
}

/* --- aggregates --- */

struct az_ep {
	uint64_t	 hash;
	enum snap_dir	 dir;
	char		*method;
	char		*route;
	uint32_t	 nlocs[2];	/* per side */
};

struct az_echo {
	uint32_t	 loc;
	uint64_t	 n;
};

struct az_loc {
	uint64_t	 hash;
	uint32_t	 ep;
	uint8_t		 side;		/* 0 request, 1 response */
	uint8_t		 part;		/* enum transform_part or AZ_PART_LOCSEG */
	uint8_t		 timeish;	/* the name looks like a time */
	uint8_t		 nonceish;	/* ... like a per-call value */
	uint8_t		 idish;		/* ... like an identifier */
	uint8_t		 star;		/* a JSON path with [*] */
	unsigned	 seg;
	char		*name;		/* NULL for a path segment */
	size_t		 namelen;

	uint64_t	 count;		/* values seen */
	uint64_t	 numbers;	/* of which JSON numbers */
	uint64_t	 kinds[SHAPE_NKINDS];	/* SHAPE_TIME: not epoch */
	struct shape	 shape[SHAPE_NKINDS];	/* the first of each kind */
	char		*example[SHAPE_NKINDS];
	uint64_t	 nepoch;	/* integers that read as epoch times */
	int64_t		 epoch_lo, epoch_hi;
	struct shape	 eshape;
	char		*eexample;

	struct az_set	 set;		/* distinct value hashes */
	uint64_t	 probes;	/* values looked up in the set */
	uint64_t	 repeats;	/* of which already there */
	uint64_t	 overflow;	/* of which new past a full set */

	char		*jwt[AZ_JWT_SAMPLES];
	size_t		 jwt_len[AZ_JWT_SAMPLES];
	size_t		 njwt;
	char		 jwt_alg[16];
	unsigned	 jwt_claims;	/* 1 iat, 2 nbf, 4 exp */

	struct az_echo	 echo[AZ_ECHO_CAND];	/* response: request sources */
	size_t		 necho;
	uint64_t	 echoed;	/* request: values found in the response */
	uint64_t	 corr_hits;	/* request: values carried from a response */
};

/* A value of the transaction being taken apart. */
struct az_tval {
	uint64_t	 h;
	uint32_t	 loc;
	uint8_t		 side;
	uint8_t		 trivial;	/* not worth correlating */
	uint8_t		 marked;
	int8_t		 jwt_slot;	/* the JWT sample it left, or -1 */
};

/*
 * (session, value) -> the response location it came from, or AZ_REQ: a
 * bounded cache of 8-entry buckets, one cache line each, an entry being
 * the upper 48 bits of the pair's hash and a 16-bit location.  A full
 * bucket loses an entry picked round-robin, so memory stays fixed and
 * old pairs are forgotten first (in expectation).
 */
#define AZ_REQ		0xffffu
struct az_cbucket {
	uint64_t	 e[8];
};

/* (from location, to location) -> count. */
struct az_pair {
	uint64_t	 key;		/* (from << 32 | to) + 1; 0 empty */
	uint64_t	 n;
};

struct analyze {
	const struct analyze_config	*cfg;
	struct shape_opts		 wide;

	uint64_t			 ntxns;
	uint64_t			 dropped;
	int64_t				 start_us;	/* -1 until known */
	int64_t				 end_us;

	struct az_ep			*eps;
	uint32_t			 neps;
	uint32_t			 epcap;
	struct az_index			 epx;

	struct az_loc			*locs;
	uint32_t			 nlocs;
	uint32_t			 loccap;
	struct az_index			 locx;

	struct az_cbucket		*cbuckets;	/* aligned, in craw */
	void				*craw;
	unsigned			 cclock;
	struct az_pair			*pairs;
	uint32_t			 npairs;
	uint32_t			 paircap;

	/* Scratch for one transaction. */
	enum snap_dir			 dir;
	uint32_t			 ep;
	uint8_t				 side;
	size_t				 nleaves;
	struct az_tval			*tv;
	size_t				 ntv;
	size_t				 tvcap;
	struct az_index			 tvx;
	struct buf			 key, val, path, route, sess, tmp, hname;
	struct buf			 names[AZ_MAX_DEPTH + 1];
};

/* --- names --- */

static int
az_lower_eq(const char *s, size_t len, const char *w)
{
	return strlen(w) == len && strncasecmp(s, w, len) == 0;
}

static int
az_has_suffix(const char *s, size_t len, const char *suf, int nocase)
{
	size_t	n = strlen(suf);

	if (len <= n)
		return 0;
	return nocase ? strncasecmp(s + len - n, suf, n) == 0 :
	    memcmp(s + len - n, suf, n) == 0;
}

static int
az_contains(const char *s, size_t len, const char *w)
{
	size_t	n = strlen(w), i;

	for (i = 0; i + n <= len; i++) {
		if (strncasecmp(s + i, w, n) == 0)
			return 1;
	}
	return 0;
}

int
analyze_name_is_time(const char *s, size_t len)
{
	static const char *const exact[] = {
		"ts", "time", "timestamp", "date", "datetime", "iat", "exp",
		"nbf", "expires", "expiry", "expiration", "since", "until",
		"at", "now", "when", "auth_time", "updated", "created",
		"modified", "last-modified", "if-modified-since",
		"if-unmodified-since",
	};
	static const char *const suffix[] = {
		"_at", "-at", "_ts", "-ts", "_time", "-time", "_date", "-date",
		"_on", "timestamp",
	};
	size_t	i;

	for (i = 0; i < sizeof exact / sizeof exact[0]; i++) {
		if (az_lower_eq(s, len, exact[i]))
			return 1;
	}
	for (i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
		if (az_has_suffix(s, len, suffix[i], 1))
			return 1;
	}
	/* camelCase: createdAt, requestTime, issueDate, sentTs */
	return (az_has_suffix(s, len, "At", 0) ||
	    az_has_suffix(s, len, "Time", 0) ||
	    az_has_suffix(s, len, "Date", 0) ||
	    az_has_suffix(s, len, "Ts", 0)) &&
	    s[0] >= 'a' && s[0] <= 'z';
}

/* A per-call value: a nonce, an idempotency key, a request id. */
static int
az_name_is_nonce(const char *s, size_t len)
{
	static const char *const words[] = {
		"nonce", "idempot", "request-id", "request_id", "requestid",
		"correlation", "trace", "span-id", "span_id", "jti",
		"signature", "state", "csrf", "xsrf",
	};
	size_t	i;

	for (i = 0; i < sizeof words / sizeof words[0]; i++) {
		if (az_contains(s, len, words[i]))
			return 1;
	}
	return 0;
}

/* An identifier's name: id, user_id, accountId, email, number, key. */
static int
az_name_is_id(const char *s, size_t len)
{
	return az_lower_eq(s, len, "id") || az_has_suffix(s, len, "_id", 1) ||
	    az_has_suffix(s, len, "-id", 1) || az_has_suffix(s, len, "Id", 0) ||
	    az_has_suffix(s, len, "ID", 0) || az_contains(s, len, "email") ||
	    az_contains(s, len, "number") || az_contains(s, len, "account") ||
	    az_has_suffix(s, len, "key", 1);
}

/* --- sessions --- */

void
analyze_session(struct buf *out, const struct snap_txn *t)
{
	struct buf	doc;

	buf_init(&doc);
	snap_txn_session(out, t, &doc);
	buf_free(&doc);
}


/* --- endpoints and locations --- */

static uint32_t
az_ep_get(struct analyze *a, enum snap_dir dir, const char *method,
    const char *route)
{
	struct az_ep	*e;
	uint64_t	 h;
	uint32_t	 i, j;

	buf_reset(&a->key);
	buf_append_byte(&a->key, (char)('0' + dir));
	buf_append_str(&a->key, method);
	buf_append_byte(&a->key, ' ');
	buf_append_str(&a->key, route);
	h = az_hash(a->key.data, a->key.len, 1);
	if (a->epx.cap != 0) {
		for (i = (uint32_t)h & (a->epx.cap - 1); a->epx.slot[i] != 0;
		    i = (i + 1) & (a->epx.cap - 1)) {
			e = &a->eps[a->epx.slot[i] - 1];
			if (e->hash == h && e->dir == dir &&
			    strcmp(e->method, method) == 0 &&
			    strcmp(e->route, route) == 0)
				return a->epx.slot[i] - 1;
		}
	}
	if (a->neps >= AZ_MAX_EPS)
		return UINT32_MAX;
	if ((a->neps + 1) * 2 > a->epx.cap) {
		az_index_clear(&a->epx, a->neps + 1, 64);
		for (j = 0; j < a->neps; j++)
			az_index_put(&a->epx, a->eps[j].hash, j);
	}
	if (a->neps == a->epcap) {
		a->epcap = a->epcap == 0 ? 16 : a->epcap * 2;
		a->eps = xreallocarray(a->eps, a->epcap, sizeof *a->eps);
	}
	e = &a->eps[a->neps];
	memset(e, 0, sizeof *e);
	e->hash = h;
	e->dir = dir;
	e->method = xstrdup(method);
	e->route = xstrdup(route);
	az_index_put(&a->epx, h, a->neps);
	return a->neps++;
}

static uint64_t
az_loc_hash(uint32_t ep, uint8_t side, uint8_t part, unsigned seg,
    const char *name, size_t namelen)
{
	uint64_t	h = az_mix(((uint64_t)ep << 20) ^ ((uint64_t)side << 16) ^
	    ((uint64_t)part << 8) ^ ((uint64_t)seg << 32) ^ 0x5bd1e995);

	return name == NULL ? (h == 0 ? 1 : h) : az_hash(name, namelen, h);
}

/*
 * The location (current endpoint and side) of part/name/seg; created
 * when new; UINT32_MAX when a cap was reached.  leaf is the member,
 * parameter or header name the time/id heuristics read.
 */
static uint32_t
az_loc_get(struct analyze *a, uint8_t part, const char *name, size_t namelen,
    unsigned seg, const char *leaf, size_t leaflen)
{
	struct az_loc	*l;
	uint64_t	 h;
	uint32_t	 i, j;

	h = az_loc_hash(a->ep, a->side, part, seg, name, namelen);
	if (a->locx.cap != 0) {
		for (i = (uint32_t)h & (a->locx.cap - 1); a->locx.slot[i] != 0;
		    i = (i + 1) & (a->locx.cap - 1)) {
			l = &a->locs[a->locx.slot[i] - 1];
			if (l->hash != h || l->ep != a->ep ||
			    l->side != a->side || l->part != part ||
			    l->seg != seg)
				continue;
			if (name == NULL ? l->name == NULL :
			    (l->name != NULL && l->namelen == namelen &&
			    memcmp(l->name, name, namelen) == 0))
				return a->locx.slot[i] - 1;
		}
	}
	if (a->nlocs >= AZ_MAX_LOCS ||
	    a->eps[a->ep].nlocs[a->side] >= AZ_MAX_LOCS_EP) {
		a->dropped++;
		return UINT32_MAX;
	}
	if ((a->nlocs + 1) * 2 > a->locx.cap) {
		az_index_clear(&a->locx, a->nlocs + 1, 256);
		for (j = 0; j < a->nlocs; j++)
			az_index_put(&a->locx, a->locs[j].hash, j);
	}
	if (a->nlocs == a->loccap) {
		a->loccap = a->loccap == 0 ? 64 : a->loccap * 2;
		a->locs = xreallocarray(a->locs, a->loccap, sizeof *a->locs);
	}
	l = &a->locs[a->nlocs];
	memset(l, 0, sizeof *l);
	l->hash = h;
	l->ep = a->ep;
	l->side = a->side;
	l->part = part;
	l->seg = seg;
	l->name = name == NULL ? NULL : xstrndup(name, namelen);
	l->namelen = name == NULL ? 0 : namelen;
	l->star = name != NULL && (part == TRANSFORM_BODY ||
	    part == TRANSFORM_GRPC) &&
	    memmem(name, namelen, "[*]", 3) != NULL;
	if (leaf != NULL) {
		l->timeish = (uint8_t)analyze_name_is_time(leaf, leaflen);
		l->nonceish = (uint8_t)az_name_is_nonce(leaf, leaflen);
		l->idish = (uint8_t)az_name_is_id(leaf, leaflen);
	}
	a->eps[a->ep].nlocs[a->side]++;
	az_index_put(&a->locx, h, a->nlocs);
	return a->nlocs++;
}

/* A short copy of a recorded value for the example: cut on a UTF-8
 * boundary, "..." appended when cut. */
static char *
az_short(const char *v, size_t len, size_t max)
{
	struct buf	b;

	if (len <= max)
		return xstrndup(v, len);
	while (max > 0 && ((unsigned char)v[max] & 0xc0) == 0x80)
		max--;
	buf_init(&b);
	buf_append(&b, v, max);
	buf_append_str(&b, "...");
	return buf_detach(&b, NULL);
}

/* The example of a JWT: its alg and claims, never the signature. */
static void
az_jwt_first(struct az_loc *l, const char *v, size_t len)
{
	struct jwt	 j;
	struct buf	 b;
	char		*cause = NULL;

	if (jwt_parse(v, len, &j, &cause) == -1) {
		free(cause);
		l->example[SHAPE_JWT] = xstrdup("(a JWT that does not parse)");
		return;
	}
	snprintf(l->jwt_alg, sizeof l->jwt_alg, "%s", j.alg);
	l->jwt_claims = (j.iat != JWT_NO_TIME ? 1u : 0u) |
	    (j.nbf != JWT_NO_TIME ? 2u : 0u) | (j.exp != JWT_NO_TIME ? 4u : 0u);
	buf_init(&b);
	buf_append_str(&b, j.alg);
	buf_append_byte(&b, ' ');
	buf_append(&b, j.payload, j.payload_len < 96 ? j.payload_len : 96);
	if (j.payload_len > 96)
		buf_append_str(&b, "...");
	l->example[SHAPE_JWT] = buf_detach(&b, NULL);
	jwt_free(&j);
}

static int
az_all_digits(const char *v, size_t len)
{
	size_t	i;

	if (len == 0)
		return 0;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return 0;
	}
	return 1;
}

/* Not worth correlating: short strings, small or fractional numbers. */
static int
az_trivial(const char *v, size_t len, int number)
{
	if (number)
		return !az_all_digits(v, len) || len < 4;
	if (az_all_digits(v, len))
		return len < 4;
	return len < 4 || az_lower_eq(v, len, "true") ||
	    az_lower_eq(v, len, "false") || az_lower_eq(v, len, "null");
}

/* One value found at part/name/seg of the current message. */
static void
az_emit(struct analyze *a, uint8_t part, const char *name, size_t namelen,
    unsigned seg, const char *leaf, size_t leaflen, const char *v,
    size_t vlen, int number)
{
	struct az_loc	*l;
	struct az_tval	*tv;
	struct shape	 sh;
	enum shape_kind	 k;
	uint64_t	 h;
	uint32_t	 li;
	size_t		 i;
	int		 r;

	if (vlen == 0 || a->nleaves >= AZ_MAX_LEAVES)
		return;
	a->nleaves++;
	if ((li = az_loc_get(a, part, name, namelen, seg, leaf, leaflen)) ==
	    UINT32_MAX)
		return;
	l = &a->locs[li];
	h = az_hash(v, vlen, 7);

	if (a->ntv == a->tvcap) {
		a->tvcap = a->tvcap == 0 ? 64 : a->tvcap * 2;
		a->tv = xreallocarray(a->tv, a->tvcap, sizeof *a->tv);
	}
	tv = &a->tv[a->ntv++];
	tv->h = h;
	tv->loc = li;
	tv->side = a->side;
	tv->trivial = (uint8_t)az_trivial(v, vlen, number);
	tv->marked = 0;
	tv->jwt_slot = -1;
	if (part == AZ_PART_LOCSEG)
		return;

	l->count++;
	if (number)
		l->numbers++;
	/*
	 * Once the set is full, one value in AZ_SET_SAMPLE is looked up (a
	 * probe of a large set misses the cache): repeats and overflow are
	 * counted for the sample and scaled when the analysis ends.
	 */
	if (l->set.n < AZ_SET_MAX || l->count % AZ_SET_SAMPLE == 0) {
		l->probes++;
		r = az_set_add(&l->set, h, AZ_SET_MAX);
		if (r == 0)
			l->repeats++;
		else if (r == -1)
			l->overflow++;
	} else
		r = -2;

	k = shape_classify(v, vlen, &a->wide, &sh);
	if (k == SHAPE_TIME && sh.time.fmt != SHAPE_T_RFC3339 &&
	    sh.time.fmt != SHAPE_T_HTTPDATE) {
		if (l->nepoch++ == 0) {
			l->eshape = sh;
			l->eexample = az_short(v, vlen, 40);
			l->epoch_lo = l->epoch_hi = sh.time.us;
		} else if (sh.time.us < l->epoch_lo)
			l->epoch_lo = sh.time.us;
		else if (sh.time.us > l->epoch_hi)
			l->epoch_hi = sh.time.us;
		return;
	}
	if (k < 0 || k >= SHAPE_NKINDS)
		k = SHAPE_NONE;
	if (l->kinds[k]++ == 0) {
		l->shape[k] = sh;
		if (k == SHAPE_JWT)
			az_jwt_first(l, v, vlen);
		else
			l->example[k] = az_short(v, vlen,
			    k == SHAPE_HEX || k == SHAPE_B64 ? 12 : 40);
	}
	if (k == SHAPE_JWT && r == 1 && l->njwt < AZ_JWT_SAMPLES &&
	    vlen <= AZ_JWT_MAX) {
		for (i = 0; l->jwt[i] != NULL; i++)
			;
		l->jwt[i] = xstrndup(v, vlen);
		l->jwt_len[i] = vlen;
		l->njwt++;
		tv->jwt_slot = (int8_t)i;
	}
}

/* --- taking messages apart --- */



/* name=value pairs separated by sep (query, form, cookie), first
 * occurrence of each name only. */
static void
az_pairs(struct analyze *a, uint8_t part, const char *p, size_t len,
    char sep, int plus)
{
	const char	*e = p + len, *q, *eq, *n;
	size_t		 nlen, i, j, nseen = 0;
	struct span	 seen[64];
	int		 dup;

	while (p < e) {
		q = memchr(p, sep, (size_t)(e - p));
		if (q == NULL)
			q = e;
		n = p;
		while (n < q && (*n == ' ' || *n == '\t'))
			n++;
		eq = memchr(n, '=', (size_t)(q - n));
		if (eq != NULL && eq > n) {
			buf_reset(&a->tmp);
			transform_pct_decode(&a->tmp, n, (size_t)(eq - n), plus);
			nlen = a->tmp.len;
			dup = 0;
			for (i = 0; i < nseen && !dup; i++)
				dup = seen[i].len == (size_t)(eq - n) &&
				    memcmp(seen[i].p, n, seen[i].len) == 0;
			if (!dup) {
				if (nseen < sizeof seen / sizeof seen[0])
					seen[nseen++] = (struct span){ n,
					    (size_t)(eq - n) };
				buf_reset(&a->val);
				j = (size_t)(q - eq - 1);
				if (part == TRANSFORM_COOKIE ||
				    part == TRANSFORM_SETCOOKIE) {
					/* a quoted cookie value */
					while (j > 0 && (eq[j] == ' ' ||
					    eq[j] == '\t'))
						j--;
					if (j >= 2 && eq[1] == '"' &&
					    eq[j] == '"')
						transform_pct_decode(&a->val, eq + 2,
						    j - 2, 0);
					else
						transform_pct_decode(&a->val, eq + 1,
						    j, 0);
				} else
					transform_pct_decode(&a->val, eq + 1, j,
					    plus);
				az_emit(a, part, a->tmp.data, nlen, 0,
				    a->tmp.data, nlen, a->val.data,
				    a->val.len, 0);
			}
		}
		p = q + 1;
	}
}

/* The path segments that the route makes parameters ("{...}"). */
static void
az_path(struct analyze *a, uint8_t part, struct span path, const char *route)
{
	const char	*p = path.p, *e = path.p + path.len, *q;
	const char	*r = route, *rq;
	unsigned	 seg = 0;

	if (p < e && *p == '/')
		p++;
	if (*r == '/')
		r++;
	while (p < e) {
		q = memchr(p, '/', (size_t)(e - p));
		if (q == NULL)
			q = e;
		rq = strchr(r, '/');
		if (rq == NULL)
			rq = r + strlen(r);
		if (*r == '{' && q > p) {
			buf_reset(&a->val);
			transform_pct_decode(&a->val, p, (size_t)(q - p), 0);
			az_emit(a, part, NULL, 0, seg, NULL, 0, a->val.data,
			    a->val.len, 0);
		}
		seg++;
		p = q + 1;
		r = *rq == '/' ? rq + 1 : rq;
	}
}

/* The route of a Location header's path: its parameters are the
 * correlation sources. */
static void
az_location(struct analyze *a, struct span path)
{
	buf_reset(&a->key);
	transform_route(&a->key, path.p, path.len);
	az_path(a, AZ_PART_LOCSEG, path, a->key.data == NULL ? "" :
	    a->key.data);
}

/* Headers that carry no volatile value of the service's own: framing,
 * hop-by-hop, content negotiation (name in lower case). */
static int
az_skip_header(const char *name, size_t n)
{
	static const char *const skip[] = {
		"host", "content-length", "content-type", "user-agent",
		"accept", "connection", "keep-alive", "proxy-connection",
		"transfer-encoding", "te", "trailer", "upgrade",
		"content-encoding", "cache-control", "pragma", "expect",
		"vary", "server", "via",
	};
	size_t	i;

	if (n > 7 && memcmp(name, "accept-", 7) == 0)
		return 1;
	for (i = 0; i < sizeof skip / sizeof skip[0]; i++) {
		if (skip[i][0] == name[0] && strlen(skip[i]) == n &&
		    memcmp(name, skip[i], n) == 0)
			return 1;
	}
	return 0;
}

/* "Bearer TOKEN": a scheme of letters, one space, a token without
 * spaces; the locator's rule (transform.h). */
static struct span
az_header_token(const char *v)
{
	const char	*p = v;

	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
		p++;
	if (p > v && *p == ' ' && p[1] != '\0' && strchr(p + 1, ' ') == NULL)
		return span_from_str(p + 1);
	return span_from_str(v);
}

static void
az_headers(struct analyze *a, const struct snap_header *h, size_t n,
    struct span *location)
{
	struct span	 v, path, q;
	uint64_t	 seen[HTTP_MAX_HEADERS], hh;
	size_t		 i, j, nseen = 0;
	const char	*name;
	int		 dup;

	for (i = 0; i < n; i++) {
		buf_reset(&a->hname);
		j = strlen(h[i].name);
		if (j == 0)
			continue;
		buf_append(&a->hname, h[i].name, j);
		name = a->hname.data;
		for (j = 0; j < a->hname.len; j++)
			a->hname.data[j] = (char)tolower(
			    (unsigned char)a->hname.data[j]);
		if (a->side == 0 && j == 6 && memcmp(name, "cookie", 6) == 0) {
			az_pairs(a, TRANSFORM_COOKIE, h[i].value,
			    strlen(h[i].value), ';', 0);
			continue;
		}
		if (a->side == 1 && j == 10 &&
		    memcmp(name, "set-cookie", 10) == 0) {
			v = span_from_str(h[i].value);
			v.len = strcspn(v.p, ";");
			az_pairs(a, TRANSFORM_SETCOOKIE, v.p, v.len, ';', 0);
			continue;
		}
		if (az_skip_header(name, j))
			continue;
		/* The first of each name only (the locator's rule). */
		hh = az_hash(name, j, 5);
		for (dup = 0, j = 0; j < nseen && !dup; j++)
			dup = seen[j] == hh;
		if (dup)
			continue;
		if (nseen < HTTP_MAX_HEADERS)
			seen[nseen++] = hh;
		v = az_header_token(h[i].value);
		az_emit(a, TRANSFORM_HEADER, name, a->hname.len, 0, name,
		    a->hname.len, v.p, v.len, 0);
		if (a->side == 1 && a->hname.len == 8 &&
		    memcmp(name, "location", 8) == 0) {
			route_split_target(h[i].value, NULL, &path, &q);
			*location = path;
		}
	}
}

static void	az_json(struct analyze *, struct json_parser *, const char *,
		    size_t, int);

static void
az_json_array(struct analyze *a, struct json_parser *p, const char *leaf,
    size_t leaflen, int depth)
{
	struct json_parser	scan = *p;
	enum json_type		first = JSON_INVALID, ty;
	size_t			mark = a->path.len, i = 0;
	int			same = 1, r;

	/* [*] when every element has the type of the first. */
	if (json_array_enter(&scan) == -1)
		return;
	while ((r = json_array_next(&scan)) == 1) {
		ty = json_peek(&scan);
		if (first == JSON_INVALID)
			first = ty;
		else if (ty != first)
			same = 0;
		if (json_skip(&scan, NULL) == -1)
			return;
	}
	if (r == -1 || json_array_enter(p) == -1)
		return;
	while ((r = json_array_next(p)) == 1) {
		if (!same && i >= AZ_MAX_INDEX) {
			if (json_skip(p, NULL) == -1)
				return;
			continue;
		}
		if (same)
			buf_append_str(&a->path, "[*]");
		else
			buf_printf(&a->path, "[%zu]", i);
		az_json(a, p, leaf, leaflen, depth + 1);
		a->path.len = mark;
		a->path.data[mark] = '\0';
		if (p->error != NULL)
			return;
		i++;
	}
}

/* Walks one JSON value whose path is a->path; leaf is the name of the
 * member that holds it (for the time and id heuristics). */
static void
az_json(struct analyze *a, struct json_parser *p, const char *leaf,
    size_t leaflen, int depth)
{
	struct json_value	 key, v;
	struct json_parser	 kp;
	struct buf		*kb;
	size_t			 mark = a->path.len;
	int			 r;

	switch (json_peek(p)) {
	case JSON_OBJECT:
		if (depth >= AZ_MAX_DEPTH) {
			(void)json_skip(p, NULL);
			return;
		}
		if (json_object_enter(p) == -1)
			return;
		kb = &a->names[depth];
		while ((r = json_object_next(p, &key)) == 1) {
			buf_reset(kb);
			if (key.escaped) {
				json_init(&kp, key.p, key.len);
				if (json_read_string(&kp, kb, NULL) == -1)
					return;
			} else
				buf_append(kb, key.p + 1, key.len - 2);
			transform_jpath_member(&a->path, kb->data == NULL ? "" :
			    kb->data, kb->len);
			az_json(a, p, kb->data == NULL ? "" : kb->data,
			    kb->len, depth + 1);
			a->path.len = mark;
			a->path.data[mark] = '\0';
			if (p->error != NULL)
				return;
		}
		return;
	case JSON_ARRAY:
		if (depth >= AZ_MAX_DEPTH) {
			(void)json_skip(p, NULL);
			return;
		}
		az_json_array(a, p, leaf, leaflen, depth);
		return;
	case JSON_STRING:
		buf_reset(&a->val);
		if (json_read_string(p, &a->val, NULL) == -1)
			return;
		az_emit(a, TRANSFORM_BODY, a->path.data, a->path.len, 0, leaf,
		    leaflen, a->val.data == NULL ? "" : a->val.data,
		    a->val.len, 0);
		return;
	case JSON_NUMBER:
		if (json_skip(p, &v) == -1)
			return;
		az_emit(a, TRANSFORM_BODY, a->path.data, a->path.len, 0, leaf,
		    leaflen, v.p, v.len, 1);
		return;
	default:
		(void)json_skip(p, NULL);
		return;
	}
}

/* 1 when p[0..len) reads as text (no control bytes but tab, CR, LF). */
static int
az_pb_text(const uint8_t *p, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\r' &&
		    p[i] != '\n') || p[i] == 0x7f)
			return 0;
	return 1;
}

/* 1 when p[0..len) reads as a protobuf message to its end. */
static int
az_pb_is_msg(const uint8_t *p, size_t len)
{
	struct pb_reader	r;
	struct pb_field		f;
	int			rc;

	pb_reader_init(&r, p, len);
	while ((rc = pb_read_field(&r, &f)) == 1)
		;
	return rc == 0 && len > 0;
}

/*
 * Walks one protobuf message whose field path so far is a->path (a
 * req.grpc/res.grpc path, transform.h): numbers as decimal text, text
 * as it is, nested messages (length-delimited bytes that are not text
 * but parse) field by field; a field number seen more than once in the
 * message is a repeated field, its path gets [*].  Binary bytes and
 * groups are left out.
 */
static void
az_pb(struct analyze *a, const uint8_t *msg, size_t len, int depth)
{
	struct pb_reader	 r;
	struct pb_field		 f;
	struct {
		uint32_t	num;
		uint32_t	count;
	}			 seen[AZ_PB_NUMS];
	size_t			 mark = a->path.len, nseen = 0, i;
	int			 rep, text;

	/* How often each number occurs (the first AZ_PB_NUMS numbers). */
	pb_reader_init(&r, msg, len);
	while (pb_read_field(&r, &f) == 1) {
		for (i = 0; i < nseen && seen[i].num != f.num; i++)
			;
		if (i < nseen)
			seen[i].count++;
		else if (nseen < AZ_PB_NUMS) {
			seen[nseen].num = f.num;
			seen[nseen++].count = 1;
		}
	}
	pb_reader_init(&r, msg, len);
	while (pb_read_field(&r, &f) == 1) {
		for (i = 0; i < nseen && seen[i].num != f.num; i++)
			;
		rep = i < nseen && seen[i].count > 1;
		buf_printf(&a->path, "%s%" PRIu32 "%s", mark > 0 ? "." : "",
		    f.num, rep ? "[*]" : "");
		buf_reset(&a->val);
		switch (f.wire) {
		case PB_VARINT:
		case PB_I64:
		case PB_I32:
			buf_printf(&a->val, "%" PRIu64, f.u);
			az_emit(a, TRANSFORM_GRPC, a->path.data, a->path.len,
			    0, "", 0, a->val.data, a->val.len, 1);
			break;
		case PB_LEN:
			/* Protobuf does not say whether bytes are text or a
			 * message: printable ones are taken as text, and
			 * walked as well when they parse as a message (a
			 * nested message of printable bytes). */
			text = az_pb_text(f.p, f.len);
			if (text)
				az_emit(a, TRANSFORM_GRPC, a->path.data,
				    a->path.len, 0, "", 0, (const char *)f.p,
				    f.len, 0);
			if (depth < AZ_MAX_DEPTH && az_pb_is_msg(f.p, f.len))
				az_pb(a, f.p, f.len, depth + 1);
			break;
		default:
			break;
		}
		a->path.len = mark;
		if (a->path.data != NULL)
			a->path.data[mark] = '\0';
	}
}

/* A gRPC body: each uncompressed message walked by az_pb(). */
static void
az_grpc(struct analyze *a, const char *body, size_t len)
{
	struct grpc_msg	 m;
	const char	*why;
	size_t		 off = 0;

	while (grpc_next_msg((const uint8_t *)body, len, &off, &m,
	    &why) == 1) {
		if (m.compressed)
			continue;
		buf_reset(&a->path);
		az_pb(a, m.p, m.len, 0);
	}
}

static const char *
az_find_header(const struct snap_header *h, size_t n, const char *name)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (strcasecmp(h[i].name, name) == 0)
			return h[i].value;
	}
	return NULL;
}

static void
az_body(struct analyze *a, const struct snap_header *h, size_t n,
    const char *body, size_t len)
{
	struct json_parser	 p;
	const char		*ct = az_find_header(h, n, "content-type");
	size_t			 i = 0;

	if (body == NULL || len == 0)
		return;
	if (ct != NULL && strncasecmp(ct,
	    "application/x-www-form-urlencoded", 33) == 0) {
		az_pairs(a, TRANSFORM_FORM, body, len, '&', 1);
		return;
	}
	if (ct != NULL && grpc_is_content_type(span_from_str(ct))) {
		az_grpc(a, body, len);
		return;
	}
	while (i < len && (body[i] == ' ' || body[i] == '\t' ||
	    body[i] == '\r' || body[i] == '\n'))
		i++;
	if (i == len || (body[i] != '{' && body[i] != '['))
		return;
	json_init(&p, body, len);
	buf_reset(&a->path);
	buf_append_byte(&a->path, '$');
	az_json(a, &p, "", 0, 0);
}

/* --- cross-checks within a transaction --- */

/* Echo candidates (outbound): response values equal to request values. */
static void
az_echo(struct analyze *a)
{
	struct az_tval	*rq, *rs;
	struct az_loc	*l;
	size_t		 i, j, nreq = 0, slot;

	for (i = 0; i < a->ntv; i++)
		nreq += a->tv[i].side == 0;
	if (nreq == 0)
		return;
	az_index_clear(&a->tvx, (uint32_t)nreq, 16);
	for (i = 0; i < a->ntv; i++) {
		if (a->tv[i].side != 0 ||
		    a->locs[a->tv[i].loc].part == AZ_PART_LOCSEG)
			continue;
		az_index_put(&a->tvx, a->tv[i].h, (uint32_t)i);
	}
	for (j = 0; j < a->ntv; j++) {
		rs = &a->tv[j];
		if (rs->side != 1 || a->locs[rs->loc].part == AZ_PART_LOCSEG)
			continue;
		for (slot = rs->h & (a->tvx.cap - 1); a->tvx.slot[slot] != 0;
		    slot = (slot + 1) & (a->tvx.cap - 1)) {
			rq = &a->tv[a->tvx.slot[slot] - 1];
			if (rq->h != rs->h)
				continue;
			rq->marked = 1;
			l = &a->locs[rs->loc];
			for (i = 0; i < l->necho; i++) {
				if (l->echo[i].loc == rq->loc)
					break;
			}
			if (i < l->necho)
				l->echo[i].n++;
			else if (l->necho < AZ_ECHO_CAND) {
				l->echo[l->necho].loc = rq->loc;
				l->echo[l->necho++].n = 1;
			}
		}
	}
	for (i = 0; i < a->ntv; i++) {
		if (a->tv[i].side == 0 && a->tv[i].marked)
			a->locs[a->tv[i].loc].echoed++;
	}
}

/* The location remembered for pair key, AZ_REQ, or -1 when none is. */
static int
az_cfind(struct analyze *a, uint64_t key)
{
	const struct az_cbucket	*bk;
	uint64_t		 tag = key >> 16;
	int			 i;

	if (a->cbuckets == NULL)
		return -1;
	bk = &a->cbuckets[key & (AZ_CBUCKETS - 1)];
	for (i = 0; i < 8; i++) {
		if (bk->e[i] != 0 && bk->e[i] >> 16 == tag)
			return (int)(bk->e[i] & 0xffff);
	}
	return -1;
}

static void
az_cput(struct analyze *a, uint64_t key, uint32_t from)
{
	struct az_cbucket	*bk;
	uintptr_t		 p;
	int			 i;

	if (a->cbuckets == NULL) {
		/* calloc of this size maps zero pages lazily: a small
		 * snapshot touches few of them. */
		a->craw = xcalloc(1, AZ_CBUCKETS * sizeof *bk + 64);
		p = ((uintptr_t)a->craw + 63) & ~(uintptr_t)63;
		a->cbuckets = (struct az_cbucket *)p;
	}
	bk = &a->cbuckets[key & (AZ_CBUCKETS - 1)];
	for (i = 0; i < 8 && bk->e[i] != 0; i++)
		;
	if (i == 8)
		i = (int)(a->cclock++ & 7);
	bk->e[i] = (key >> 16) << 16 | (from & 0xffff);
}

static void
az_pair_add(struct analyze *a, uint32_t from, uint32_t to)
{
	struct az_pair	*old;
	uint64_t	 key = (((uint64_t)from << 32) | to) + 1;
	uint32_t	 i, j, ocap;

	if (a->paircap != 0) {
		for (i = (uint32_t)az_mix(key) & (a->paircap - 1);
		    a->pairs[i].key != 0; i = (i + 1) & (a->paircap - 1)) {
			if (a->pairs[i].key == key) {
				a->pairs[i].n++;
				return;
			}
		}
	}
	if ((a->npairs + 1) * 2 > a->paircap) {
		old = a->pairs;
		ocap = a->paircap;
		a->paircap = ocap == 0 ? 64 : ocap * 2;
		a->pairs = xcalloc(a->paircap, sizeof *a->pairs);
		for (j = 0; j < ocap; j++) {
			if (old[j].key == 0)
				continue;
			for (i = (uint32_t)az_mix(old[j].key) &
			    (a->paircap - 1); a->pairs[i].key != 0;
			    i = (i + 1) & (a->paircap - 1))
				;
			a->pairs[i] = old[j];
		}
		free(old);
	}
	for (i = (uint32_t)az_mix(key) & (a->paircap - 1);
	    a->pairs[i].key != 0; i = (i + 1) & (a->paircap - 1))
		;
	a->pairs[i].key = key;
	a->pairs[i].n = 1;
	a->npairs++;
}

/* Correlations (inbound): request values first (the request came
 * first), then the response's values are remembered for the session. */
static void
az_correlate(struct analyze *a, uint64_t sess)
{
	struct az_tval		*tv;
	struct az_loc		*l;
	uint64_t		 key;
	size_t			 i;
	int			 from;

	for (i = 0; i < a->ntv; i++) {
		tv = &a->tv[i];
		if (tv->side != 0 || tv->trivial)
			continue;
		key = az_mix(sess ^ az_mix(tv->h));
		if ((from = az_cfind(a, key)) == -1)
			az_cput(a, key, AZ_REQ);
		else if (from != AZ_REQ) {
			az_pair_add(a, (uint32_t)from, tv->loc);
			a->locs[tv->loc].corr_hits++;
			/* A token the session got from an earlier answer
			 * is not one a --key must verify. */
			if (tv->jwt_slot >= 0) {
				l = &a->locs[tv->loc];
				free(l->jwt[tv->jwt_slot]);
				l->jwt[tv->jwt_slot] = NULL;
				l->njwt--;
			}
		}
	}
	for (i = 0; i < a->ntv; i++) {
		tv = &a->tv[i];
		if (tv->side != 1 || tv->trivial)
			continue;
		key = az_mix(sess ^ az_mix(tv->h));
		if (az_cfind(a, key) == -1)
			az_cput(a, key, tv->loc);
	}
}

/* --- the analysis --- */

struct analyze *
analyze_create(const struct analyze_config *cfg)
{
	struct analyze	*a = xcalloc(1, sizeof *a);
	size_t		 i;

	a->cfg = cfg;
	/* Integers are read as epoch times within 2001..2100; the window
	 * is narrowed per location when the analysis ends. */
	a->wide.epoch_lo_us = INT64_C(978307200) * 1000000;
	a->wide.epoch_hi_us = INT64_C(4102444800) * 1000000;
	a->start_us = -1;
	a->end_us = -1;
	buf_init(&a->key);
	buf_init(&a->val);
	buf_init(&a->path);
	buf_init(&a->route);
	buf_init(&a->sess);
	buf_init(&a->tmp);
	buf_init(&a->hname);
	for (i = 0; i <= AZ_MAX_DEPTH; i++)
		buf_init(&a->names[i]);
	return a;
}

/*
 * 1 for a gRPC call: its route is its path as it is, since a package
 * with a digit ("helloworld.v1.Greeter") is no resource id.
 */
static int
az_is_grpc_call(const struct snap_txn *t, struct span path)
{
	const char	*ct = az_find_header(t->req.headers, t->req.nheaders,
			    "content-type");
	struct span	 svc, method;

	return ct != NULL && grpc_is_content_type(span_from_str(ct)) &&
	    grpc_path_split(path, &svc, &method) == 0;
}

static int64_t
az_txn_start(const struct snap_txn *t)
{
	struct shape_time	st;

	if (t->start_us >= 0)
		return t->start_us;
	if (t->ts != NULL && shape_time_parse(t->ts, strlen(t->ts), &st) == 0)
		return st.us;
	return -1;
}

void
analyze_add(struct analyze *a, const struct snap_txn *t)
{
	struct span	 path, query, location = SPAN_NULL;
	int64_t		 start, end;
	uint64_t	 sess;
	uint32_t	 ep;

	a->ntxns++;
	if ((start = az_txn_start(t)) >= 0) {
		end = start + (t->total_us > 0 ? t->total_us : 0);
		if (a->start_us < 0 || start < a->start_us)
			a->start_us = start;
		if (end > a->end_us)
			a->end_us = end;
	}

	route_split_target(t->req.target, NULL, &path, &query);
	buf_reset(&a->route);
	if (az_is_grpc_call(t, path))
		buf_append_span(&a->route, path);	/* one method, as it is */
	else
		transform_route(&a->route, path.p, path.len);
	if ((ep = az_ep_get(a, t->dir, t->req.method, a->route.data == NULL ?
	    "/" : a->route.data)) == UINT32_MAX) {
		a->dropped++;
		return;
	}
	a->dir = t->dir;
	a->ep = ep;
	a->ntv = 0;

	a->side = 0;
	a->nleaves = 0;
	az_path(a, TRANSFORM_PATH, path, a->route.data == NULL ? "/" :
	    a->route.data);
	if (query.len > 0)
		az_pairs(a, TRANSFORM_QUERY, query.p, query.len, '&', 1);
	az_headers(a, t->req.headers, t->req.nheaders, &location);
	az_body(a, t->req.headers, t->req.nheaders, t->req.body,
	    t->req.body_len);

	if (t->has_res) {
		a->side = 1;
		a->nleaves = 0;
		location = SPAN_NULL;
		az_headers(a, t->res.headers, t->res.nheaders, &location);
		az_body(a, t->res.headers, t->res.nheaders, t->res.body,
		    t->res.body_len);
		if (location.len > 0)
			az_location(a, location);
	}

	if (t->dir == SNAP_DIR_OUT)
		az_echo(a);
	else {
		buf_reset(&a->sess);
		snap_txn_session(&a->sess, t, &a->tmp);
		sess = az_hash(a->sess.data == NULL ? "" : a->sess.data,
		    a->sess.len, 3);
		az_correlate(a, sess);
	}
}

uint64_t
analyze_count(const struct analyze *a)
{
	return a->ntxns;
}

uint64_t
analyze_dropped(const struct analyze *a)
{
	return a->dropped;
}

void
analyze_free(struct analyze *a)
{
	struct az_loc	*l;
	uint32_t	 i;
	size_t		 k;

	if (a == NULL)
		return;
	for (i = 0; i < a->neps; i++) {
		free(a->eps[i].method);
		free(a->eps[i].route);
	}
	free(a->eps);
	free(a->epx.slot);
	for (i = 0; i < a->nlocs; i++) {
		l = &a->locs[i];
		free(l->name);
		for (k = 0; k < SHAPE_NKINDS; k++)
			free(l->example[k]);
		free(l->eexample);
		free(l->set.slot);
		for (k = 0; k < AZ_JWT_SAMPLES; k++)
			free(l->jwt[k]);
	}
	free(a->locs);
	free(a->locx.slot);
	free(a->craw);
	free(a->pairs);
	free(a->tv);
	free(a->tvx.slot);
	buf_free(&a->key);
	buf_free(&a->val);
	buf_free(&a->path);
	buf_free(&a->route);
	buf_free(&a->sess);
	buf_free(&a->tmp);
	buf_free(&a->hname);
	for (k = 0; k <= AZ_MAX_DEPTH; k++)
		buf_free(&a->names[k]);
	free(a);
}

/* --- decisions --- */

struct az_dec {
	uint32_t		 loc;
	enum shape_kind		 kind;
	enum transform_action	 act;
	uint32_t		 from;		/* TRANSFORM_ECHO */
	int			 key;		/* cfg key index, -1 none */
	char			*why;
};

/* Distinct values and repeats, scaled from the sample once the set was
 * full. */
static uint64_t
az_distinct(const struct az_loc *l)
{
	if (l->probes == 0)
		return 0;
	return l->set.n + (uint64_t)((double)l->overflow *
	    (double)l->count / (double)l->probes + 0.5);
}

static uint64_t
az_repeats(const struct az_loc *l)
{
	if (l->probes == 0)
		return 0;
	return (uint64_t)((double)l->repeats * (double)l->count /
	    (double)l->probes + 0.5);
}

/* Epoch integers count as times when the name says so, or when all of
 * them fall within the recording window +- a day. */
static int
az_epoch_ok(const struct analyze *a, const struct az_loc *l)
{
	if (l->nepoch == 0)
		return 0;
	if (l->timeish)
		return 1;
	return a->start_us >= 0 && l->epoch_lo >= a->start_us - AZ_DAY_US &&
	    l->epoch_hi <= a->end_us + AZ_DAY_US;
}

/* The volatile kind that most values of l have (more than half of them),
 * with its count in *n; SHAPE_NONE when none does. */
static enum shape_kind
az_kind(const struct analyze *a, const struct az_loc *l, uint64_t *n)
{
	enum shape_kind	best = SHAPE_NONE, k;
	uint64_t	bn = 0, c;

	for (k = SHAPE_JWT; k < SHAPE_NKINDS; k++) {
		c = l->kinds[k];
		if (k == SHAPE_TIME && az_epoch_ok(a, l))
			c += l->nepoch;
		if (c > bn) {
			bn = c;
			best = k;
		}
	}
	*n = bn;
	if (bn * 2 <= l->count)
		return SHAPE_NONE;
	return best;
}

/* A generated id that never (or almost never: 1 in 20) repeats. */
static int
az_id_volatile(const struct az_loc *l)
{
	if (l->count == 1)
		return 1;
	return az_distinct(l) >= 2 && az_repeats(l) * 20 <= l->count;
}

static const struct shape *
az_kind_shape(const struct az_loc *l, enum shape_kind k)
{
	if (k == SHAPE_TIME && l->kinds[SHAPE_TIME] == 0)
		return &l->eshape;
	return &l->shape[k];
}

static const char *
az_kind_example(const struct az_loc *l, enum shape_kind k)
{
	if (k == SHAPE_TIME && l->kinds[SHAPE_TIME] == 0)
		return l->eexample;
	return l->example[k];
}

static char *
az_format(const struct az_loc *l, enum shape_kind k)
{
	const struct shape	*sh = az_kind_shape(l, k);

	switch (k) {
	case SHAPE_JWT:
		return xstrdup(l->jwt_alg[0] != '\0' ? l->jwt_alg : "jwt");
	case SHAPE_TIME:
		return xstrdup(shape_time_fmt_name(sh->time.fmt));
	case SHAPE_UUID:
		return xasprintf("uuid-v%d", sh->version);
	case SHAPE_ULID:
		return xstrdup("ulid");
	case SHAPE_HEX:
		return xstrdup("hex");
	case SHAPE_B64:
		return xstrdup(sh->url ? "base64url" : "base64");
	default:
		return xstrdup(l->numbers == l->count ? "integer" : "text");
	}
}

static void
az_claims(struct buf *b, unsigned claims)
{
	const char	*sep = "";

	if (claims == 0) {
		buf_append_str(b, "no date claims");
		return;
	}
	buf_append_str(b, "date claims ");
	if (claims & 1) {
		buf_append_str(b, "iat");
		sep = ", ";
	}
	if (claims & 2) {
		buf_printf(b, "%snbf", sep);
		sep = ", ";
	}
	if (claims & 4)
		buf_printf(b, "%sexp", sep);
}

static const char *const az_time_desc[] = {
	[SHAPE_T_RFC3339] = "RFC 3339 timestamp",
	[SHAPE_T_HTTPDATE] = "HTTP-date timestamp",
	[SHAPE_T_EPOCH_S] = "epoch-seconds timestamp",
	[SHAPE_T_EPOCH_MS] = "epoch-milliseconds timestamp",
	[SHAPE_T_EPOCH_US] = "epoch-microseconds timestamp"
};

static void
az_kind_desc(struct buf *b, const struct az_loc *l, enum shape_kind k)
{
	const struct shape	*sh = az_kind_shape(l, k);

	switch (k) {
	case SHAPE_JWT:
		buf_printf(b, "JWT (%s, ", l->jwt_alg[0] != '\0' ?
		    l->jwt_alg : "alg unknown");
		az_claims(b, l->jwt_claims);
		buf_append_byte(b, ')');
		return;
	case SHAPE_TIME:
		buf_append_str(b, az_time_desc[sh->time.fmt]);
		/* A number is a time only by its name or its range. */
		if (sh->time.fmt != SHAPE_T_RFC3339 &&
		    sh->time.fmt != SHAPE_T_HTTPDATE)
			buf_append_str(b, l->timeish ? " (named like a time)" :
			    " (within the recording window)");
		return;
	case SHAPE_UUID:
		buf_printf(b, "UUID v%d", sh->version);
		return;
	case SHAPE_ULID:
		buf_append_str(b, "ULID");
		return;
	case SHAPE_HEX:
		buf_append_str(b, "hex token");
		return;
	case SHAPE_B64:
		buf_append_str(b, "base64 token");
		return;
	default:
		buf_append_str(b, "value");
		return;
	}
}

static const char *
az_noun(const struct az_loc *l)
{
	if (l->star)
		return "values";
	return l->side == 0 ? "requests" : "responses";
}

/* Which --key verified every sampled token of l; -1 if none did. */
static int
az_find_key(const struct analyze *a, const struct az_loc *l)
{
	const struct analyze_key	*k;
	size_t				 i, j;

	if (l->njwt == 0)
		return -1;
	for (i = 0; i < a->cfg->nkeys; i++) {
		k = &a->cfg->keys[i];
		if (k->key == NULL || (l->jwt_alg[0] != '\0' &&
		    !jwt_key_fits(k->key, l->jwt_alg)))
			continue;
		for (j = 0; j < AZ_JWT_SAMPLES; j++) {
			if (l->jwt[j] != NULL && jwt_verify(l->jwt[j],
			    l->jwt_len[j], k->key) == -1)
				break;
		}
		if (j == AZ_JWT_SAMPLES)
			return (int)i;
	}
	return -1;
}

static void
az_loc_where(const struct az_loc *l, struct transform_loc *w)
{
	struct buf	b;
	size_t		i;

	memset(w, 0, sizeof *w);
	w->res = l->side;
	w->part = (enum transform_part)l->part;
	w->seg = l->seg;
	if (l->name == NULL)
		return;
	if (l->part != TRANSFORM_HEADER) {
		w->name = xstrdup(l->name);
		return;
	}
	/* Header names are kept in lower case; written as they are
	 * usually spelt (X-Client-Time). */
	buf_init(&b);
	for (i = 0; l->name[i] != '\0'; i++)
		buf_append_byte(&b, (char)(i == 0 || l->name[i - 1] == '-' ?
		    toupper((unsigned char)l->name[i]) : l->name[i]));
	w->name = buf_detach(&b, NULL);
}

static void
az_loc_text(struct buf *b, const struct analyze *a, const struct az_loc *l)
{
	struct transform_loc	w;

	if (l->part == AZ_PART_LOCSEG) {
		buf_printf(b, "segment %u of res.header Location", l->seg);
		return;
	}
	az_loc_where(l, &w);
	transform_loc_format(b, &w);
	transform_loc_free(&w);
}

static int
az_part_rank(uint8_t part)
{
	switch (part) {
	case TRANSFORM_PATH:
		return 0;
	case TRANSFORM_QUERY:
		return 1;
	case TRANSFORM_HEADER:
		return 2;
	case TRANSFORM_COOKIE:
	case TRANSFORM_SETCOOKIE:
		return 3;
	case TRANSFORM_FORM:
		return 4;
	case TRANSFORM_BODY:
	case TRANSFORM_GRPC:
		return 5;
	default:
		return 6;
	}
}

/* Inbound first, then by route, method, side, part, name, segment. */
static int
az_cmp_loc(const void *x, const void *y, void *arg)
{
	const struct analyze	*a = arg;
	const struct az_loc	*l = &a->locs[*(const uint32_t *)x];
	const struct az_loc	*m = &a->locs[*(const uint32_t *)y];
	const struct az_ep	*e = &a->eps[l->ep], *f = &a->eps[m->ep];
	int			 c;

	if (e->dir != f->dir)
		return e->dir == SNAP_DIR_IN ? -1 : 1;
	if ((c = strcmp(e->route, f->route)) != 0)
		return c;
	if ((c = strcmp(e->method, f->method)) != 0)
		return c;
	if (l->side != m->side)
		return l->side < m->side ? -1 : 1;
	if (az_part_rank(l->part) != az_part_rank(m->part))
		return az_part_rank(l->part) < az_part_rank(m->part) ? -1 : 1;
	if (l->name != NULL && m->name != NULL &&
	    (c = strcmp(l->name, m->name)) != 0)
		return c;
	return (l->seg > m->seg) - (l->seg < m->seg);
}

static int
az_cmp_dec(const void *x, const void *y, void *arg)
{
	return az_cmp_loc(&((const struct az_dec *)x)->loc,
	    &((const struct az_dec *)y)->loc, arg);
}

/*
 * An accepted correlation: its source is not a constant (a value every
 * response repeats is not a server-issued one), and it was seen twice or
 * the value has the shape of an id or a token (a value without one, seen
 * once, may be a coincidence: a client that happened to ask for what an
 * earlier answer listed).
 */
static int
az_pair_ok(const struct analyze *a, uint32_t from, uint64_t n)
{
	const struct az_loc	*f = &a->locs[from];
	uint64_t		 kn;

	if (f->count >= 2 && az_distinct(f) == 1)
		return 0;
	return n >= 2 || az_kind(a, f, &kn) != SHAPE_NONE;
}

/* Adds the key-field hint to why when l qualifies: an outbound request
 * field with several distinct values, each found in its response. */
static int
az_key_hint(const struct az_loc *l, struct buf *why)
{
	if (l->side != 0 || l->count < 2 || az_distinct(l) < 2 ||
	    l->echoed * 10 < l->count * 9)
		return 0;
	if (l->part != TRANSFORM_PATH && l->part != TRANSFORM_QUERY &&
	    l->part != TRANSFORM_BODY && l->part != TRANSFORM_FORM &&
	    l->part != TRANSFORM_GRPC)
		return 0;
	if (l->numbers > 0 && !l->idish)
		return 0;
	buf_printf(why, "%s%" PRIu64 " distinct values, echoed in %" PRIu64
	    " of %" PRIu64 " responses: a key field? set action: key to "
	    "answer any value with one of these recordings",
	    why->len > 0 ? "; " : "", az_distinct(l), l->echoed, l->count);
	return 1;
}

/* Decides a location of an inbound request (what the replay sends);
 * covered is how many of its values a correlation carries.  1: decided. */
static int
az_decide_in_req(const struct az_loc *l, uint64_t covered, int locseg_src,
    enum shape_kind k, int vol, struct buf *why, struct az_dec *d)
{
	/* Carried (a bounded table may forget a few pairs in a
	 * large recording: 1 in 200 uncarried still counts). */
	if (covered * 200 >= l->count * 199 || !vol)
		return 0;
	if (covered > 0)
		buf_printf(why, " (%" PRIu64 " of them carried from "
		    "an earlier response by a correlation)", covered);
	if (k == SHAPE_TIME) {
		d->act = TRANSFORM_SHIFT;
		buf_append_str(why, ": moved with the clock");
	} else if (k == SHAPE_JWT)
		d->act = TRANSFORM_RESIGN;
	else if (l->part == TRANSFORM_PATH || l->count == 1) {
		d->act = TRANSFORM_KEEP;
		buf_append_str(why, l->part == TRANSFORM_PATH ?
		    ": a resource id in the path, kept (the service "
		    "must know it; set action: fresh if the client "
		    "makes it up)" : ": seen once, kept (set action: "
		    "fresh if it is a per-call value)");
		if (locseg_src)
			buf_append_str(why, "; it comes from the "
			    "Location header of an earlier response, "
			    "which transforms cannot carry yet");
	} else {
		d->act = TRANSFORM_FRESH;
		buf_append_str(why, ": a per-call value, made fresh "
		    "per send");
	}
	return 1;
}

/* Decides a location of an outbound request (what the responder
 * matches); may reset *k and *n.  1: decided. */
static int
az_decide_out_req(struct az_loc *l, enum shape_kind *k, uint64_t *n,
    int vol, struct buf *why, struct az_dec *d)
{
	if (!vol) {
		if (!az_key_hint(l, why))
			return 0;
		d->act = TRANSFORM_KEEP;
		*k = SHAPE_NONE;
		*n = l->count;
	} else if (*k != SHAPE_TIME && *k != SHAPE_JWT &&
	    (l->part == TRANSFORM_PATH ||
	    (l->echoed >= l->count && l->count >= 2 && !l->nonceish))) {
		/* A resource id, not a per-call value: matching it
		 * as "any" would answer one resource's request with
		 * another's response. */
		d->act = TRANSFORM_KEEP;
		buf_append_str(why, ": an id that selects the "
		    "answer, kept");
		(void)az_key_hint(l, why);
	} else {
		d->act = TRANSFORM_ANY;
		buf_printf(why, ": matched as any %s",
		    shape_kind_name(*k));
	}
	return 1;
}

/* Decides a location of an outbound response (what the responder
 * serves): an echo of the request when one holds; may reset *k and *n.
 * 1: decided. */
static int
az_decide_out_res(struct analyze *a, const struct az_loc *l,
    enum shape_kind *k, uint64_t *n, int vol, struct buf *why,
    struct az_dec *d)
{
	const struct az_echo *best = NULL;
	struct az_loc	*src;
	enum shape_kind	 sk;
	uint64_t	 sn;
	size_t		 i;

	for (i = 0; i < l->necho; i++) {
		src = &a->locs[l->echo[i].loc];
		sk = az_kind(a, src, &sn);
		if (sk == SHAPE_NONE || (sk != SHAPE_TIME &&
		    sk != SHAPE_JWT && !az_id_volatile(src)))
			continue;
		if (l->echo[i].n * 10 < l->count * 9)
			continue;
		if (best == NULL || l->echo[i].n > best->n)
			best = &l->echo[i];
	}
	if (best != NULL) {
		d->act = TRANSFORM_ECHO;
		d->from = best->loc;
		if (*k == SHAPE_NONE) {
			*k = az_kind(a, &a->locs[best->loc], n);
			buf_reset(why);
		}
		if (why->len > 0)
			buf_append_str(why, ": ");
		buf_append_str(why, "equals the request's ");
		az_loc_text(why, a, &a->locs[best->loc]);
		buf_printf(why, " in %" PRIu64 " of %" PRIu64 " %s",
		    best->n, l->count, az_noun(l));
	} else if (!vol)
		return 0;
	else if (*k == SHAPE_TIME) {
		d->act = TRANSFORM_SHIFT;
		buf_append_str(why, ": moved with the clock");
	} else if (*k == SHAPE_JWT)
		d->act = TRANSFORM_RESIGN;
	else {
		d->act = TRANSFORM_KEEP;
		buf_append_str(why, ": a generated id, the recorded "
		    "value is served");
	}
	return 1;
}

/* For a re-signed token: its date claims and the key that signs it. */
static void
az_decide_resign(struct analyze *a, const struct az_loc *l,
    struct buf *why, struct az_dec *d)
{
	if (l->jwt_claims != 0)
		buf_append_str(why, "; its date claims move with "
		    "the clock when it is re-signed");
	d->key = az_find_key(a, l);
	if (d->key >= 0) {
		buf_printf(why, "; re-signed with key %s, which "
		    "verified the recorded tokens",
		    a->cfg->keys[d->key].name);
		a->cfg->keys[d->key].used = 1;
	} else
		buf_printf(why, "; cannot be re-signed until a key "
		    "is given (decoy analyze --key NAME=FILE%s, or "
		    "edit keys:)", a->cfg->nkeys > 0 ?
		    "; no key given verified the recorded tokens" :
		    "");
}

/* Decides l; 1 with *d filled when it gets an entry. */
static int
az_decide(struct analyze *a, uint32_t li, const uint64_t *covered,
    const uint8_t *locseg_src, struct az_dec *d)
{
	struct az_loc	*l = &a->locs[li];
	struct az_ep	*ep = &a->eps[l->ep];
	struct buf	 why;
	enum shape_kind	 k;
	uint64_t	 n;
	int		 vol, ok;

	memset(d, 0, sizeof *d);
	d->loc = li;
	d->key = -1;
	if (l->part == AZ_PART_LOCSEG || l->count == 0)
		return 0;
	k = az_kind(a, l, &n);
	vol = k == SHAPE_JWT || k == SHAPE_TIME ||
	    (k != SHAPE_NONE && az_id_volatile(l));
	buf_init(&why);
	if (k != SHAPE_NONE) {
		az_kind_desc(&why, l, k);
		buf_printf(&why, " in %" PRIu64 " of %" PRIu64 " %s, %" PRIu64
		    " repeats", n, l->count, az_noun(l), az_repeats(l));
	}

	if (ep->dir == SNAP_DIR_IN && l->side == 0)
		ok = az_decide_in_req(l, covered[li], locseg_src[li], k, vol,
		    &why, d);
	else if (ep->dir == SNAP_DIR_IN) {
		if ((ok = vol))
			d->act = TRANSFORM_ANY;
		buf_append_str(&why, ": ignored when comparing the answer");
	} else if (l->side == 0)
		ok = az_decide_out_req(l, &k, &n, vol, &why, d);
	else
		ok = az_decide_out_res(a, l, &k, &n, vol, &why, d);
	if (!ok) {
		buf_free(&why);
		return 0;
	}
	if (d->act == TRANSFORM_RESIGN)
		az_decide_resign(a, l, &why, d);
	d->kind = k;
	d->why = buf_detach(&why, NULL);
	return 1;
}

/* The short name of a correlation: the last name of its source. */
static char *
az_corr_name(const struct az_loc *l, struct transforms *t)
{
	const char	*s, *e, *p;
	struct buf	 b;
	char		*name, *base;
	size_t		 i, n;
	int		 dup;

	buf_init(&b);
	if (l->name == NULL)
		buf_printf(&b, "path%u", l->seg);
	else if (l->part == TRANSFORM_GRPC) {
		/* "2.1[*]": field1 */
		s = strrchr(l->name, '.');
		s = s != NULL ? s + 1 : l->name;
		buf_append_str(&b, "field");
		for (; *s >= '0' && *s <= '9'; s++)
			buf_append_byte(&b, *s);
	} else {
		s = l->name;
		e = s + strlen(s);
		/* the last member of a JSON path, without [*] or quotes */
		for (p = e; p > s; p--) {
			if (p[-1] == '.' || p[-1] == '[' || p[-1] == '$')
				break;
		}
		for (; p < e; p++) {
			if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' &&
			    *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			    *p == '_' || *p == '-')
				buf_append_byte(&b, (char)tolower(
				    (unsigned char)*p));
		}
		if (b.len == 0) {
			/* "$.items[*]": the member before the brackets */
			for (p = s; p < e && *p != '['; p++)
				;
			while (p > s && p[-1] != '.' && p[-1] != '$')
				p--;
			for (; p < e && *p != '['; p++)
				buf_append_byte(&b, *p);
		}
		if (b.len == 0)
			buf_append_str(&b, "value");
	}
	base = buf_detach(&b, NULL);
	name = xstrdup(base);
	for (n = 2;; n++) {
		for (dup = 0, i = 0; i < t->ncorrs && !dup; i++)
			dup = t->corrs[i].name != NULL &&
			    strcmp(t->corrs[i].name, name) == 0;
		if (!dup)
			break;
		free(name);
		name = xasprintf("%s-%zu", base, n);
	}
	free(base);
	return name;
}

static int
az_cmp_pair(const void *x, const void *y, void *arg)
{
	const struct az_pair	*p = x, *q = y;
	uint32_t		 pf = (uint32_t)((p->key - 1) >> 32);
	uint32_t		 qf = (uint32_t)((q->key - 1) >> 32);
	uint32_t		 pt = (uint32_t)(p->key - 1);
	uint32_t		 qt = (uint32_t)(q->key - 1);
	int			 c;

	if (pf != qf && (c = az_cmp_loc(&pf, &qf, arg)) != 0)
		return c;
	if (pf != qf)
		return pf < qf ? -1 : 1;
	if (pt != qt && (c = az_cmp_loc(&pt, &qt, arg)) != 0)
		return c;
	return (pt > qt) - (pt < qt);
}

static void
az_build_corrs(struct analyze *a, struct transforms *t,
    struct az_pair *pairs, size_t np)
{
	struct transform_corr	*c = NULL;
	struct transform_use	*u;
	struct az_loc		*f, *to;
	struct az_ep		*fe, *te;
	struct buf		 why;
	uint32_t		 from, cur = UINT32_MAX;
	uint64_t		 seen = 0;
	size_t			 i, nto = 0;
	enum shape_kind		 k;
	uint64_t		 kn;

	buf_init(&why);
	for (i = 0; i <= np; i++) {
		from = i < np ? (uint32_t)((pairs[i].key - 1) >> 32) :
		    UINT32_MAX;
		if (from != cur && c != NULL) {
			buf_printf(&why, "; %" PRIu64 " later request%s of "
			    "the same session carry it: the generator "
			    "sends the live value", seen, seen == 1 ? "" :
			    "s");
			c->seen = seen;
			c->why = buf_detach(&why, NULL);
			c = NULL;
		}
		if (i == np)
			break;
		if (from != cur) {
			cur = from;
			f = &a->locs[from];
			fe = &a->eps[f->ep];
			c = transforms_add_corr(t);
			c->name = az_corr_name(f, t);
			k = az_kind(a, f, &kn);
			c->kind = k == SHAPE_TIME || k == SHAPE_JWT ||
			    (k != SHAPE_NONE && az_id_volatile(f)) ? k :
			    SHAPE_NONE;
			c->from_method = xstrdup(fe->method);
			c->from_route = xstrdup(fe->route);
			az_loc_where(f, &c->from);
			buf_reset(&why);
			buf_append_str(&why, "the value of ");
			az_loc_text(&why, a, f);
			buf_printf(&why, " in %s %s responses (%" PRIu64
			    " of them, %" PRIu64 " distinct)", fe->method,
			    fe->route, f->count, az_distinct(f));
			seen = 0;
			nto = 0;
		}
		seen += pairs[i].n;
		if (nto++ >= AZ_MAX_USES)
			continue;
		to = &a->locs[(uint32_t)(pairs[i].key - 1)];
		te = &a->eps[to->ep];
		u = transform_corr_add_use(c);
		u->method = xstrdup(te->method);
		u->route = xstrdup(te->route);
		az_loc_where(to, &u->where);
	}
	buf_free(&why);
}

struct transforms *
analyze_finish(struct analyze *a)
{
	struct transforms	*t = transforms_create();
	struct transform_value	*v;
	struct transform_key	*tk;
	struct analyze_key	*ak;
	struct az_dec		*decs;
	struct az_pair		*pairs;
	struct az_loc		*l;
	struct az_ep		*ep;
	uint64_t		*covered;
	uint8_t			*locseg_src;
	uint32_t		 i, from, to;
	size_t			 nd = 0, np = 0, j, nkeys = 0;
	int			*keymap;
	const char		*ex;

	if (a->cfg->snapshot != NULL)
		t->snapshot = xstrdup(a->cfg->snapshot);
	t->start_us = a->start_us < 0 ? 0 : a->start_us;
	t->end_us = a->end_us < 0 ? 0 : a->end_us;

	/* Correlations first: a request location they cover gets no
	 * entry of its own. */
	covered = xcalloc(a->nlocs + 1, sizeof *covered);
	locseg_src = xcalloc(a->nlocs + 1, 1);
	pairs = xcalloc(a->npairs + 1, sizeof *pairs);
	for (i = 0; i < a->paircap; i++) {
		if (a->pairs[i].key == 0)
			continue;
		from = (uint32_t)((a->pairs[i].key - 1) >> 32);
		to = (uint32_t)(a->pairs[i].key - 1);
		if (a->locs[from].part == AZ_PART_LOCSEG) {
			locseg_src[to] = 1;
			continue;
		}
		if (!az_pair_ok(a, from, a->pairs[i].n))
			continue;
		covered[to] += a->pairs[i].n;
		pairs[np++] = a->pairs[i];
	}
	qsort_r(pairs, np, sizeof *pairs, az_cmp_pair, a);

	decs = xcalloc(a->nlocs + 1, sizeof *decs);
	for (i = 0; i < a->nlocs; i++) {
		if (az_decide(a, i, covered, locseg_src, &decs[nd]))
			nd++;
	}
	qsort_r(decs, nd, sizeof *decs, az_cmp_dec, a);

	/* The keys that verified tokens, in the order given. */
	keymap = xcalloc(a->cfg->nkeys + 1, sizeof *keymap);
	for (j = 0; j < a->cfg->nkeys; j++)
		nkeys += a->cfg->keys[j].used != 0;
	if (nkeys > 0) {
		t->keys = xcalloc(nkeys, sizeof *t->keys);
		for (j = 0; j < a->cfg->nkeys; j++) {
			ak = &a->cfg->keys[j];
			keymap[j] = -1;
			if (!ak->used)
				continue;
			keymap[j] = (int)t->nkeys;
			tk = &t->keys[t->nkeys++];
			tk->name = xstrdup(ak->name);
			if (ak->pem)
				tk->key_file = xstrdup(ak->file);
			else
				tk->secret_file = xstrdup(ak->file);
		}
	}

	for (j = 0; j < nd; j++) {
		l = &a->locs[decs[j].loc];
		ep = &a->eps[l->ep];
		v = transforms_add_value(t);
		v->kind = decs[j].kind;
		v->dir = ep->dir;
		v->method = xstrdup(ep->method);
		v->route = xstrdup(ep->route);
		az_loc_where(l, &v->where);
		v->action = decs[j].act;
		if (decs[j].act == TRANSFORM_ECHO)
			az_loc_where(&a->locs[decs[j].from], &v->from);
		if (decs[j].key >= 0) {
			v->key = &t->keys[keymap[decs[j].key]];
			if (v->key->alg == NULL && l->jwt_alg[0] != '\0')
				v->key->alg = xstrdup(l->jwt_alg);
		}
		v->format = az_format(l, decs[j].kind);
		ex = decs[j].kind == SHAPE_NONE ? NULL :
		    az_kind_example(l, decs[j].kind);
		if (ex == NULL)
			ex = l->example[SHAPE_NONE];
		v->example = ex != NULL ? xstrdup(ex) : NULL;
		v->seen = l->count;
		v->why = decs[j].why;
		decs[j].why = NULL;
	}
	az_build_corrs(a, t, pairs, np);

	free(keymap);
	for (j = 0; j < nd; j++)
		free(decs[j].why);
	free(decs);
	free(pairs);
	free(covered);
	free(locseg_src);
	return t;
}

/* --- --explain --- */

static void
az_cell(struct buf *b, const char *s, int w)
{
	size_t	n = 0;

	for (; *s != '\0'; s++, n++)
		buf_append_byte(b, (unsigned char)*s < 0x20 || *s == 0x7f ?
		    '?' : *s);
	for (; (int)n < w; n++)
		buf_append_byte(b, ' ');
}

void
analyze_explain(struct buf *out, const struct transforms *t)
{
	const struct transform_value	*v;
	const struct transform_corr	*c;
	struct buf			*cells;
	size_t				 nrows = 1, r, i, j, ncol = 7;
	int				 w[7] = { 0 };

	for (i = 0; i < t->ncorrs; i++)
		nrows += t->corrs[i].nto;
	nrows += t->nvalues;
	cells = xcalloc(nrows * ncol, sizeof *cells);
	for (i = 0; i < nrows * ncol; i++)
		buf_init(&cells[i]);
	buf_append_str(&cells[0], "KIND");
	buf_append_str(&cells[1], "DIR");
	buf_append_str(&cells[2], "ENDPOINT");
	buf_append_str(&cells[3], "LOCATION");
	buf_append_str(&cells[4], "COUNT");
	buf_append_str(&cells[5], "ACTION");
	buf_append_str(&cells[6], "WHY");
	r = 1;
	for (i = 0; i < t->nvalues; i++, r++) {
		v = &t->values[i];
		buf_append_str(&cells[r * ncol + 0], shape_kind_name(v->kind));
		buf_append_str(&cells[r * ncol + 1], snap_dir_name(v->dir));
		buf_printf(&cells[r * ncol + 2], "%s %s", v->method, v->route);
		transform_loc_format(&cells[r * ncol + 3], &v->where);
		buf_printf(&cells[r * ncol + 4], "%" PRIu64, v->seen);
		buf_append_str(&cells[r * ncol + 5],
		    transform_action_name(v->action));
		if (v->action == TRANSFORM_ECHO) {
			buf_append_byte(&cells[r * ncol + 5], ' ');
			transform_loc_format(&cells[r * ncol + 5], &v->from);
		}
		buf_append_str(&cells[r * ncol + 6], v->why != NULL ?
		    v->why : "");
	}
	for (i = 0; i < t->ncorrs; i++) {
		c = &t->corrs[i];
		for (j = 0; j < c->nto; j++, r++) {
			buf_printf(&cells[r * ncol + 0], "%s",
			    c->kind == SHAPE_NONE ? "value" :
			    shape_kind_name(c->kind));
			buf_append_str(&cells[r * ncol + 1], "in");
			buf_printf(&cells[r * ncol + 2], "%s %s",
			    c->from_method, c->from_route);
			transform_loc_format(&cells[r * ncol + 3], &c->from);
			buf_printf(&cells[r * ncol + 3], " -> %s %s ",
			    c->to[j].method, c->to[j].route);
			transform_loc_format(&cells[r * ncol + 3],
			    &c->to[j].where);
			buf_printf(&cells[r * ncol + 4], "%" PRIu64, c->seen);
			buf_printf(&cells[r * ncol + 5], "correlate %s",
			    c->name);
			buf_append_str(&cells[r * ncol + 6], j == 0 &&
			    c->why != NULL ? c->why : "");
		}
	}
	for (r = 0; r < nrows; r++) {
		for (j = 0; j + 1 < ncol; j++) {
			if ((int)cells[r * ncol + j].len > w[j])
				w[j] = (int)cells[r * ncol + j].len;
		}
	}
	for (r = 0; r < nrows; r++) {
		for (j = 0; j < ncol; j++) {
			az_cell(out, cells[r * ncol + j].data == NULL ? "" :
			    cells[r * ncol + j].data, j + 1 < ncol ? w[j] : 0);
			if (j + 1 < ncol)
				buf_append_str(out, "  ");
		}
		while (out->len > 0 && out->data[out->len - 1] == ' ')
			out->len--;
		buf_append_byte(out, '\n');
	}
	if (t->nvalues == 0 && t->ncorrs == 0)
		buf_append_str(out, "(nothing volatile found)\n");
	for (i = 0; i < nrows * ncol; i++)
		buf_free(&cells[i]);
	free(cells);
}
