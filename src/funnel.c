/*
 * funnel.c -- the capture funnel (funnel.h): filters, sampling, caps and
 * de-duplication of transactions, with a counter per reason.
 *
 * Endpoints and signatures are 128-bit hashes (two independent 64-bit
 * hashes of the same bytes) in one open-addressing table each; a slot
 * holds the counters its rule needs.  The signature's bytes are built
 * in a scratch buffer the funnel keeps, so a decision allocates nothing
 * once the buffers have grown.
 */
#include "config.h"

#define PCRE2_CODE_UNIT_WIDTH 8

#include <ctype.h>
#include <math.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fault.h"
#include "funnel.h"
#include "hash.h"
#include "route.h"
#include "transform.h"
#include "units.h"
#include "xmalloc.h"

/* Shorter runs are never volatile (the shortest: 9-digit epoch
 * seconds); longer ones are not classified whole (a JWT is a few KiB at
 * most). */
#define FUNNEL_MIN_TOKEN	9
#define FUNNEL_MAX_TOKEN	16384
/* Body bytes masked; the rest is hashed as it is. */
#define FUNNEL_MASK_BODY	65536
/* Integers count as epoch timestamps within a day of the transaction. */
#define FUNNEL_EPOCH_SLACK_US	(86400LL * 1000000)
/* A cap's window when the transaction has no timing. */
#define FUNNEL_NO_WINDOW	INT64_MIN

struct funnel_key {
	uint64_t	a, b;
};

struct funnel_slot {
	struct funnel_key	key;		/* 0, 0: free */
	uint64_t		n;		/* occurrences (sample), kept
						   (dedup) */
	int64_t			win;		/* cap: current window */
	uint64_t		in_win;		/* cap: kept in it */
};

struct funnel_table {
	struct funnel_slot	*slots;
	size_t			 cap;		/* a power of two, or 0 */
	size_t			 used;
};

struct funnel_re {
	pcre2_code	*code;
	int		 jit;
	int		 list;		/* FUNNEL_OPT_INCLUDE_HOST ... */
};

struct funnel {
	struct funnel_config	 cfg;		/* its own copy */
	struct funnel_re	*re;		/* cfg's, compiled */
	size_t			 nre;
	pcre2_match_data	*md;
	struct funnel_table	 endpoints;
	struct funnel_table	 sigs;
	struct funnel_stats	 st;
	int			 keeps_all;	/* no option set: no work */
	struct buf		 ep;		/* scratch: the endpoint */
	struct buf		 sig;		/* scratch: the signature */
	struct buf		 tmp;
};

static const char *const funnel_opt_names[FUNNEL_NOPTS] = {
	"include-host", "exclude-host", "include-path", "exclude-path",
	"method", "status", "sample", "cap", "dedup", "seed",
};

static const char *const funnel_reason_names[FUNNEL_NREASONS] = {
	"kept", "host", "method", "path", "status", "sampled", "duplicate",
	"capped",
};

/* The request headers that are part of a signature. */
static const char *const funnel_sig_headers[] = {
	"content-type", "accept", "authorization", NULL
};

const char *
funnel_opt_name(enum funnel_opt o)
{
	return (unsigned)o < FUNNEL_NOPTS ? funnel_opt_names[o] : "?";
}

const char *
funnel_reason_name(enum funnel_reason r)
{
	return (unsigned)r < FUNNEL_NREASONS ? funnel_reason_names[r] : "?";
}

/* --- hashing --- */

static uint64_t
funnel_mix(uint64_t x)
{
	return fault_splitmix(&x);
}

static void
funnel_key_init(struct funnel_key *k)
{
	k->a = HASH_FNV_BASIS;
	k->b = 0x84222325cbf29ce4ULL;
}

/* FNV-1a (hash.h) for a, a rotate-xor-multiply hash for b. */
static void
funnel_key_add(struct funnel_key *k, const void *p, size_t len)
{
	const unsigned char	*s = p;
	uint64_t		 a = k->a, b = k->b;
	size_t			 i;

	for (i = 0; i < len; i++) {
		a = (a ^ s[i]) * HASH_FNV_PRIME;
		b = (fault_rotl(b, 5) ^ s[i]) * FAULT_GAMMA;
	}
	k->a = a;
	k->b = b;
}

static void
funnel_key_end(struct funnel_key *k)
{
	k->a = funnel_mix(k->a);
	k->b = funnel_mix(k->b ^ k->a);
	if (k->a == 0 && k->b == 0)
		k->a = 1;
}

/* --- the tables --- */

static struct funnel_slot *
funnel_table_get(struct funnel_table *t, const struct funnel_key *k)
{
	struct funnel_slot	*old, *s;
	size_t			 i, oldcap;

	if (t->used + 1 > t->cap / 2) {
		old = t->slots;
		oldcap = t->cap;
		t->cap = oldcap == 0 ? 64 : oldcap * 2;
		t->slots = xcalloc(t->cap, sizeof *t->slots);
		t->used = 0;
		for (i = 0; i < oldcap; i++) {
			if (old[i].key.a == 0 && old[i].key.b == 0)
				continue;
			s = funnel_table_get(t, &old[i].key);
			*s = old[i];
		}
		free(old);
	}
	for (i = (size_t)k->a & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		s = &t->slots[i];
		if (s->key.a == k->a && s->key.b == k->b)
			return s;
		if (s->key.a == 0 && s->key.b == 0) {
			s->key = *k;
			s->win = FUNNEL_NO_WINDOW;
			t->used++;
			return s;
		}
	}
}

/* --- options --- */

/* Appends a copy of s to the list *v of *n strings. */
static void
funnel_list_add(char ***v, size_t *n, const char *s, size_t len)
{
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = xstrndup(s, len);
}

static pcre2_code *
funnel_re_compile(const char *re, char **cause)
{
	PCRE2_UCHAR	 msg[160];
	PCRE2_SIZE	 off;
	pcre2_code	*code;
	int		 err;

	code = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, 0, &err,
	    &off, NULL);
	if (code == NULL) {
		if (pcre2_get_error_message(err, msg, sizeof msg) < 0)
			msg[0] = '\0';
		*cause = xasprintf("bad regular expression \"%s\" at offset "
		    "%zu: %s", re, (size_t)off, (const char *)msg);
	}
	return code;
}

/* A method is an HTTP token. */
static int
funnel_is_method(const char *s, size_t len)
{
	static const char	tchar[] = "!#$%&'*+-.^_`|~0123456789"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	size_t			n = 0;

	while (n < len && s[n] != '\0' && strchr(tchar, s[n]) != NULL)
		n++;
	return len > 0 && n == len;
}

/* "5xx", "200-299", "404" or "none" (len bytes) into *st: 0 or -1. */
static int
funnel_status_parse(const char *s, size_t len, struct funnel_status *st)
{
	const char	*dash;
	int		 v[2] = { 0, 0 }, k, i;
	size_t		 n;

	if (len == 4 && strncasecmp(s, "none", 4) == 0) {
		st->lo = st->hi = 0;
		return 0;
	}
	if (len == 3 && s[0] >= '1' && s[0] <= '5' &&
	    (s[1] == 'x' || s[1] == 'X') && (s[2] == 'x' || s[2] == 'X')) {
		st->lo = (s[0] - '0') * 100;
		st->hi = st->lo + 99;
		return 0;
	}
	dash = memchr(s, '-', len);
	for (k = 0; k < (dash != NULL ? 2 : 1); k++) {
		n = k == 0 ? (dash != NULL ? (size_t)(dash - s) : len) :
		    len - (size_t)(dash - s) - 1;
		if (n != 3)
			return -1;
		for (v[k] = 0, i = 0; i < 3; i++) {
			if (!isdigit((unsigned char)(k == 0 ? s : dash + 1)[i]))
				return -1;
			v[k] = v[k] * 10 + (k == 0 ? s : dash + 1)[i] - '0';
		}
		if (v[k] < 100 || v[k] > 599)
			return -1;
	}
	st->lo = v[0];
	st->hi = dash != NULL ? v[1] : v[0];
	return st->lo <= st->hi ? 0 : -1;
}

/* "0.25", "1", "25%" (0 to 1, 0% to 100%): 0 or -1. */
static int
funnel_sample_parse(const char *s, double *f)
{
	size_t	 len = strlen(s), i, dots = 0;
	int	 pct = len > 0 && s[len - 1] == '%';
	double	 v;
	char	*end;

	if (pct)
		len--;
	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] == '.')
			dots++;
		else if (!isdigit((unsigned char)s[i]))
			return -1;
	}
	if (dots > 1 || (len == 1 && dots == 1))
		return -1;
	v = strtod(s, &end);
	if (end != s + len || !isfinite(v))
		return -1;
	if (pct)
		v /= 100;
	if (v < 0 || v > 1)
		return -1;
	*f = v;
	return 0;
}

/* "10/1m", "5/s" (N >= 1, a window from 1ms to 1 year): 0 or -1. */
static int
funnel_cap_parse(const char *s, uint64_t *n, uint64_t *window_us)
{
	const char	*slash = strchr(s, '/');
	char		*num, *win;
	uint64_t	 ns;
	int		 rc;

	if (slash == NULL || slash == s || slash[1] == '\0')
		return -1;
	num = xstrndup(s, (size_t)(slash - s));
	/* A bare unit is one of it: "5/s" is "5/1s". */
	win = isalpha((unsigned char)slash[1]) ? xasprintf("1%s", slash + 1) :
	    xstrdup(slash + 1);
	rc = units_parse_seed(num, n) == 0 && *n > 0 &&
	    units_parse_duration(win, &ns) == 0 && ns >= 1000000ULL &&
	    ns <= 366ULL * 86400 * 1000000000ULL ? 0 : -1;
	free(num);
	free(win);
	if (rc == 0)
		*window_us = ns / 1000;
	return rc;
}

/* Adds each comma-separated item of arg: methods or statuses. */
static int
funnel_items_set(struct funnel_config *cfg, enum funnel_opt which,
    const char *arg, char **cause)
{
	struct funnel_status	*st = NULL;
	const char		*p = arg, *q;
	size_t			 n = 0, len, i;

	for (;; p = q + 1) {
		q = p + strcspn(p, ",");
		len = (size_t)(q - p);
		st = xreallocarray(st, n + 1, sizeof *st);
		if (which == FUNNEL_OPT_STATUS ?
		    funnel_status_parse(p, len, &st[n]) == -1 :
		    !funnel_is_method(p, len)) {
			*cause = xasprintf(which == FUNNEL_OPT_STATUS ?
			    "expected statuses like 5xx, 200-299, 404 or none, "
			    "got \"%.*s\"" : "expected methods like GET,POST, "
			    "got \"%.*s\"", (int)len, p);
			free(st);
			return -1;
		}
		n++;
		if (*q == '\0')
			break;
	}
	if (which == FUNNEL_OPT_STATUS) {
		cfg->status = xreallocarray(cfg->status, cfg->nstatus + n,
		    sizeof *cfg->status);
		memcpy(cfg->status + cfg->nstatus, st, n * sizeof *st);
		cfg->nstatus += n;
	} else
		for (p = arg, i = 0; i < n; i++, p = q + 1) {
			q = p + strcspn(p, ",");
			funnel_list_add(&cfg->list[which], &cfg->nlist[which],
			    p, (size_t)(q - p));
		}
	free(st);
	return 0;
}

int
funnel_config_set(struct funnel_config *cfg, enum funnel_opt which,
    const char *arg, char **cause)
{
	pcre2_code	*code;
	double		 f;
	uint64_t	 n, w;

	switch (which) {
	case FUNNEL_OPT_INCLUDE_HOST:
	case FUNNEL_OPT_EXCLUDE_HOST:
	case FUNNEL_OPT_INCLUDE_PATH:
	case FUNNEL_OPT_EXCLUDE_PATH:
		if ((code = funnel_re_compile(arg, cause)) == NULL)
			return -1;
		pcre2_code_free(code);
		funnel_list_add(&cfg->list[which], &cfg->nlist[which], arg,
		    strlen(arg));
		return 0;
	case FUNNEL_OPT_METHOD:
	case FUNNEL_OPT_STATUS:
		return funnel_items_set(cfg, which, arg, cause);
	case FUNNEL_OPT_SAMPLE:
		if (funnel_sample_parse(arg, &f) == -1)
			break;
		cfg->sampling = 1;
		cfg->sample = f;
		return 0;
	case FUNNEL_OPT_CAP:
		if (funnel_cap_parse(arg, &n, &w) == -1)
			break;
		cfg->cap = n;
		cfg->cap_window_us = w;
		return 0;
	case FUNNEL_OPT_DEDUP:
		if (units_parse_seed(arg, &n) == -1 || n == 0)
			break;
		cfg->dedup = n;
		return 0;
	case FUNNEL_OPT_SEED:
		if (units_parse_seed(arg, &n) == -1)
			break;
		cfg->seed = n;
		return 0;
	default:
		*cause = xstrdup("no such funnel option");
		return -1;
	}
	*cause = xasprintf("expected %s, got \"%s\"",
	    which == FUNNEL_OPT_SAMPLE ? "a fraction like 0.1 or 10%" :
	    which == FUNNEL_OPT_CAP ? "N/WINDOW like 10/1m or 100/s (a "
	    "window from 1ms to 366 days)" :
	    which == FUNNEL_OPT_DEDUP ? "a count of 1 or more" :
	    "an unsigned integer", arg);
	return -1;
}

int
funnel_config_is_set(const struct funnel_config *cfg)
{
	size_t	i;

	for (i = 0; i < 5; i++)
		if (cfg->nlist[i] > 0)
			return 1;
	return cfg->nstatus > 0 || cfg->sampling || cfg->cap > 0 ||
	    cfg->dedup > 0;
}

void
funnel_config_free(struct funnel_config *cfg)
{
	size_t	i, j;

	for (i = 0; i < 5; i++) {
		for (j = cfg->nlist[i]; j > 0; j--)
			free(cfg->list[i][j - 1]);
		free(cfg->list[i]);
	}
	free(cfg->status);
	memset(cfg, 0, sizeof *cfg);
}

/* --- creating --- */

struct funnel *
funnel_create(const struct funnel_config *cfg, char **cause)
{
	struct funnel	*f;
	struct funnel_re *re;
	size_t		 i, j, n = 0;

	f = xcalloc(1, sizeof *f);
	for (i = 0; i < 5; i++) {
		for (j = 0; j < cfg->nlist[i]; j++)
			funnel_list_add(&f->cfg.list[i], &f->cfg.nlist[i],
			    cfg->list[i][j], strlen(cfg->list[i][j]));
		if (i != FUNNEL_OPT_METHOD)
			n += cfg->nlist[i];
	}
	f->cfg.status = xreallocarray(NULL, cfg->nstatus + 1,
	    sizeof *cfg->status);
	if (cfg->nstatus > 0)
		memcpy(f->cfg.status, cfg->status,
		    cfg->nstatus * sizeof *cfg->status);
	f->cfg.nstatus = cfg->nstatus;
	f->cfg.sampling = cfg->sampling;
	f->cfg.sample = cfg->sample;
	f->cfg.cap = cfg->cap;
	f->cfg.cap_window_us = cfg->cap_window_us;
	f->cfg.dedup = cfg->dedup;
	f->cfg.seed = cfg->seed;
	buf_init(&f->ep);
	buf_init(&f->sig);
	buf_init(&f->tmp);
	f->re = xcalloc(n + 1, sizeof *f->re);
	for (i = 0; i < FUNNEL_OPT_METHOD; i++)
		for (j = 0; j < cfg->nlist[i]; j++) {
			re = &f->re[f->nre];
			if ((re->code = funnel_re_compile(cfg->list[i][j],
			    cause)) == NULL) {
				funnel_free(f);
				return NULL;
			}
			re->jit = pcre2_jit_compile(re->code,
			    PCRE2_JIT_COMPLETE) == 0;
			re->list = (int)i;
			f->nre++;
		}
	if ((f->md = pcre2_match_data_create(1, NULL)) == NULL) {
		*cause = xstrdup("out of memory for pcre2 match data");
		funnel_free(f);
		return NULL;
	}
	f->keeps_all = !funnel_config_is_set(&f->cfg);
	return f;
}

void
funnel_free(struct funnel *f)
{
	if (f == NULL)
		return;
	while (f->nre > 0)
		pcre2_code_free(f->re[--f->nre].code);
	free(f->re);
	pcre2_match_data_free(f->md);
	funnel_config_free(&f->cfg);
	free(f->endpoints.slots);
	free(f->sigs.slots);
	buf_free(&f->ep);
	buf_free(&f->sig);
	buf_free(&f->tmp);
	free(f);
}

/* --- the parts of a transaction --- */

/*
 * The host (see funnel.h), the path and the query (without '?') of t.
 */
static void
funnel_parts(const struct snap_txn *t, struct span *host, struct span *path,
    struct span *query)
{
	struct span	 auth, p;
	size_t		 i;

	route_split_target(t->req.target != NULL ? t->req.target : "", &auth,
	    &p, query);
	*path = p.len > 0 && p.p[0] == '/' ? p : SPAN_LIT("/");
	if (t->req.host != NULL && *t->req.host != '\0') {
		*host = span_from_str(t->req.host);
		return;
	}
	for (i = 0; i < t->req.nheaders; i++)
		if (strcasecmp(t->req.headers[i].name, "host") == 0 &&
		    *t->req.headers[i].value != '\0') {
			*host = span_from_str(t->req.headers[i].value);
			return;
		}
	if (auth.len > 0)
		*host = auth;
	else
		*host = span_from_str(t->server != NULL ? t->server : "");
}

/*
 * 1 when s passes the include list inc (one must be found in s, when
 * there is one) and the exclude list inc + 1 (none may be).
 */
static int
funnel_re_pass(struct funnel *f, int inc, struct span s)
{
	PCRE2_SPTR		 subj = (PCRE2_SPTR)(s.p != NULL ? s.p : "");
	const struct funnel_re	*re;
	size_t			 i;
	int			 found = 0, rc;

	if (f->cfg.nlist[inc] == 0 && f->cfg.nlist[inc + 1] == 0)
		return 1;
	for (i = 0; i < f->nre; i++) {
		re = &f->re[i];
		if (re->list != inc && re->list != inc + 1)
			continue;
		/* An include already found needs no other include. */
		if (re->list == inc && found)
			continue;
		rc = re->jit ? pcre2_jit_match(re->code, subj, s.len, 0, 0,
		    f->md, NULL) : pcre2_match(re->code, subj, s.len, 0, 0,
		    f->md, NULL);
		if (rc >= 0 && re->list == inc + 1)
			return 0;
		if (rc >= 0)
			found = 1;
	}
	return found || f->cfg.nlist[inc] == 0;
}

/* The filters: FUNNEL_KEPT or the reason. */
static enum funnel_reason
funnel_filter(struct funnel *f, const struct snap_txn *t, struct span host,
    struct span path)
{
	const char	*m = t->req.method != NULL ? t->req.method : "";
	int		 status = t->has_res ? t->res.status : 0;
	size_t		 i;

	if (!funnel_re_pass(f, FUNNEL_OPT_INCLUDE_HOST, host))
		return FUNNEL_HOST;
	if (f->cfg.nlist[FUNNEL_OPT_METHOD] > 0) {
		for (i = 0; i < f->cfg.nlist[FUNNEL_OPT_METHOD]; i++)
			if (strcasecmp(f->cfg.list[FUNNEL_OPT_METHOD][i],
			    m) == 0)
				break;
		if (i == f->cfg.nlist[FUNNEL_OPT_METHOD])
			return FUNNEL_METHOD;
	}
	if (!funnel_re_pass(f, FUNNEL_OPT_INCLUDE_PATH, path))
		return FUNNEL_PATH;
	if (f->cfg.nstatus > 0) {
		for (i = 0; i < f->cfg.nstatus; i++)
			if (status >= f->cfg.status[i].lo &&
			    status <= f->cfg.status[i].hi)
				break;
		if (i == f->cfg.nstatus)
			return FUNNEL_STATUS;
	}
	return FUNNEL_KEPT;
}

/* --- masking --- */

/*
 * The separators of each level, a bit each: runs (white space, quotes,
 * brackets ...), then the parts of a run around '=', then around ':',
 * then around '/'.  ':' comes after '=' so that a timestamp in
 * "since=2025-12-07T17:54:34Z" is found whole.
 */
static const unsigned char funnel_sep[256] = {
	[0 ... ' '] = 1, [0x7f] = 1,
	['"'] = 1, ['\''] = 1, ['\\'] = 1, [','] = 1, [';'] = 1, ['&'] = 1,
	['?'] = 1, ['#'] = 1, ['<'] = 1, ['>'] = 1, ['('] = 1, [')'] = 1,
	['['] = 1, [']'] = 1, ['{'] = 1, ['}'] = 1, ['|'] = 1, ['`'] = 1,
	['='] = 2, [':'] = 4, ['/'] = 8,
};

static int
funnel_is_sep(int level, unsigned char c)
{
	return (funnel_sep[c] >> level) & 1;
}

/* done: s was classified already (a part that is its whole parent). */
static void
funnel_mask_level(struct buf *b, const char *s, size_t len,
    const struct shape_opts *opts, int level, int done)
{
	const char	*p, *q, *e = s + len;
	struct shape	 sh;
	enum shape_kind	 k;

	/* A part too short to be volatile has no volatile part either. */
	if (len < FUNNEL_MIN_TOKEN) {
		buf_append(b, s, len);
		return;
	}
	if (!done && len <= FUNNEL_MAX_TOKEN &&
	    (k = shape_classify(s, len, opts, &sh)) != SHAPE_NONE) {
		buf_append_byte(b, '{');
		buf_append_str(b, shape_kind_name(k));
		buf_append_byte(b, '}');
		return;
	}
	if (level > 3) {
		buf_append(b, s, len);
		return;
	}
	for (p = s; p < e; p = q + 1) {
		for (q = p; q < e && !funnel_is_sep(level, (unsigned char)*q);)
			q++;
		funnel_mask_level(b, p, (size_t)(q - p), opts, level + 1,
		    (size_t)(q - p) == len);
		if (q == e)
			break;
		buf_append_byte(b, *q);
	}
}

void
funnel_mask(struct buf *b, const char *s, size_t len,
    const struct shape_opts *opts)
{
	funnel_mask_level(b, s, len, opts, 0, 0);
}

/* --- signatures --- */

/* The endpoint: "METHOD route". */
static void
funnel_endpoint(struct funnel *f, const struct snap_txn *t,
    struct span path, struct funnel_key *k)
{
	buf_reset(&f->ep);
	buf_append_str(&f->ep, t->req.method != NULL ? t->req.method : "");
	buf_append_byte(&f->ep, ' ');
	route_template(&f->ep, path.p, path.len);
	funnel_key_init(k);
	funnel_key_add(k, f->ep.data, f->ep.len);
	funnel_key_end(k);
}

static void
funnel_sig(struct funnel *f, const struct snap_txn *t, struct span query,
    struct funnel_key *k)
{
	struct shape_opts	 o, *op = NULL;
	size_t			 i, j, mlen;

	if (t->start_us >= 0) {
		o.epoch_lo_us = t->start_us - FUNNEL_EPOCH_SLACK_US;
		o.epoch_hi_us = t->start_us + FUNNEL_EPOCH_SLACK_US;
		op = &o;
	}
	buf_reset(&f->sig);
	buf_append(&f->sig, f->ep.data, f->ep.len);
	buf_append_byte(&f->sig, '\0');
	buf_reset(&f->tmp);
	transform_pct_decode(&f->tmp, query.p != NULL ? query.p : "",
	    query.len, 1);
	funnel_mask(&f->sig, f->tmp.data != NULL ? f->tmp.data : "",
	    f->tmp.len, op);
	buf_append_byte(&f->sig, '\0');
	for (i = 0; i < t->req.nheaders; i++) {
		for (j = 0; funnel_sig_headers[j] != NULL; j++)
			if (strcasecmp(t->req.headers[i].name,
			    funnel_sig_headers[j]) == 0)
				break;
		if (funnel_sig_headers[j] == NULL)
			continue;
		buf_printf(&f->sig, "%s:", funnel_sig_headers[j]);
		funnel_mask(&f->sig, t->req.headers[i].value,
		    strlen(t->req.headers[i].value), op);
		buf_append_byte(&f->sig, '\n');
	}
	buf_append_byte(&f->sig, '\0');
	mlen = t->req.body_len < FUNNEL_MASK_BODY ? t->req.body_len :
	    FUNNEL_MASK_BODY;
	if (mlen > 0)
		funnel_mask(&f->sig, t->req.body, mlen, op);
	funnel_key_init(k);
	funnel_key_add(k, f->sig.data, f->sig.len);
	if (t->req.body_len > mlen)
		funnel_key_add(k, t->req.body + mlen, t->req.body_len - mlen);
	funnel_key_end(k);
}

void
funnel_signature(struct funnel *f, const struct snap_txn *t, uint64_t sig[2],
    uint64_t endpoint[2])
{
	struct span		host, path, query;
	struct funnel_key	ek, sk;

	funnel_parts(t, &host, &path, &query);
	funnel_endpoint(f, t, path, &ek);
	funnel_sig(f, t, query, &sk);
	sig[0] = sk.a;
	sig[1] = sk.b;
	endpoint[0] = ek.a;
	endpoint[1] = ek.b;
}

/* --- deciding --- */

/* The sampler: keep the n-th transaction of endpoint k? */
static int
funnel_sampled_in(const struct funnel *f, const struct funnel_key *k,
    uint64_t n)
{
	uint64_t	u;

	u = funnel_mix(f->cfg.seed ^ funnel_mix(k->a ^
	    funnel_mix(k->b + n * FAULT_GAMMA)));
	return (double)(u >> 11) * 0x1.0p-53 < f->cfg.sample;
}

/* The window of t's start for --cap. */
static int64_t
funnel_window(const struct funnel *f, const struct snap_txn *t)
{
	int64_t	w = (int64_t)f->cfg.cap_window_us;

	if (t->start_us < 0)
		return FUNNEL_NO_WINDOW + 1;
	return t->start_us / w;
}

/* Sampling, de-duplication and the cap, after the filters. */
static enum funnel_reason
funnel_select(struct funnel *f, const struct snap_txn *t, struct span path,
    struct span query)
{
	struct funnel_slot	*ep = NULL, *sig = NULL;
	struct funnel_key	 ek, sk;
	int64_t			 win = 0;

	if (f->cfg.sampling || f->cfg.cap > 0) {
		funnel_endpoint(f, t, path, &ek);
		ep = funnel_table_get(&f->endpoints, &ek);
	}
	if (f->cfg.sampling && !funnel_sampled_in(f, &ek, ep->n++))
		return FUNNEL_SAMPLED;
	if (f->cfg.dedup > 0) {
		if (ep == NULL)
			funnel_endpoint(f, t, path, &ek);
		funnel_sig(f, t, query, &sk);
		sig = funnel_table_get(&f->sigs, &sk);
		if (sig->n >= f->cfg.dedup)
			return FUNNEL_DUPLICATE;
	}
	if (f->cfg.cap > 0) {
		win = funnel_window(f, t);
		/* A new window; an older one counts in the current. */
		if (win > ep->win) {
			ep->win = win;
			ep->in_win = 0;
		}
		if (ep->in_win >= f->cfg.cap)
			return FUNNEL_CAPPED;
		ep->in_win++;
	}
	if (sig != NULL)
		sig->n++;
	return FUNNEL_KEPT;
}

enum funnel_reason
funnel_decide(struct funnel *f, const struct snap_txn *t)
{
	struct span		host, path, query;
	enum funnel_reason	r;

	f->st.seen++;
	if (f->keeps_all) {
		f->st.n[FUNNEL_KEPT]++;
		return FUNNEL_KEPT;
	}
	funnel_parts(t, &host, &path, &query);
	if ((r = funnel_filter(f, t, host, path)) == FUNNEL_KEPT &&
	    (f->cfg.sampling || f->cfg.dedup > 0 || f->cfg.cap > 0))
		r = funnel_select(f, t, path, query);
	f->st.n[r]++;
	return r;
}

const struct funnel_stats *
funnel_stats(const struct funnel *f)
{
	return &f->st;
}

/* --- reporting --- */

void
funnel_stats_json(struct buf *b, const struct funnel_stats *st)
{
	buf_printf(b, "{\"seen\":%llu,\"kept\":%llu,\"filtered\":{"
	    "\"host\":%llu,\"method\":%llu,\"path\":%llu,\"status\":%llu},"
	    "\"sampled\":%llu,\"duplicate\":%llu,\"capped\":%llu}",
	    (unsigned long long)st->seen,
	    (unsigned long long)st->n[FUNNEL_KEPT],
	    (unsigned long long)st->n[FUNNEL_HOST],
	    (unsigned long long)st->n[FUNNEL_METHOD],
	    (unsigned long long)st->n[FUNNEL_PATH],
	    (unsigned long long)st->n[FUNNEL_STATUS],
	    (unsigned long long)st->n[FUNNEL_SAMPLED],
	    (unsigned long long)st->n[FUNNEL_DUPLICATE],
	    (unsigned long long)st->n[FUNNEL_CAPPED]);
}

void
funnel_stats_text(struct buf *b, const struct funnel_stats *st)
{
	int	r, first = 1;

	buf_printf(b, "%llu seen, %llu kept, %llu dropped",
	    (unsigned long long)st->seen,
	    (unsigned long long)st->n[FUNNEL_KEPT],
	    (unsigned long long)(st->seen - st->n[FUNNEL_KEPT]));
	for (r = FUNNEL_KEPT + 1; r < FUNNEL_NREASONS; r++) {
		if (st->n[r] == 0)
			continue;
		buf_printf(b, "%s%llu %s", first ? " (" : ", ",
		    (unsigned long long)st->n[r], funnel_reason_names[r]);
		first = 0;
	}
	if (!first)
		buf_append_byte(b, ')');
}
