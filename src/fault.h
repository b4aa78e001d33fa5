/*
 * fault.h -- what a chaos rule does to a transaction, and the pure,
 * seeded machinery that does it: a deterministic random stream, latency
 * samplers and body malformers.  Nothing here touches a socket; the
 * responder applies the results on the wire (respond.c).
 *
 * Every random choice comes from a struct fault_rng seeded from (seed,
 * rule name, request signature, occurrence), so the same traffic under the
 * same seed gets the same latencies and the same damaged bytes.
 */
#ifndef DECOY_FAULT_H
#define DECOY_FAULT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* --- deterministic randomness ---------------------------------------- */

struct fault_rng {
	uint64_t	s[4];		/* xoshiro256** state */
};

/* The golden-ratio increment of splitmix64 (also fault_mix's). */
#define FAULT_GAMMA	0x9e3779b97f4a7c15ULL

static inline uint64_t
fault_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* splitmix64: the next value of the sequence *x walks. */
static inline uint64_t
fault_splitmix(uint64_t *x)
{
	uint64_t	z;

	z = (*x += FAULT_GAMMA);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * Seeds from a 64-bit value (expanded with splitmix64).  Seeding and
 * drawing are inline: hot loops (the mutation engine) draw many values
 * per item, and they need no object file beyond this header.
 */
static inline void
fault_rng_seed(struct fault_rng *rng, uint64_t seed)
{
	uint64_t	x = seed;
	int		i;

	for (i = 0; i < 4; i++)
		rng->s[i] = fault_splitmix(&x);
}

/* The next 64 bits of the xoshiro256** stream. */
static inline uint64_t
fault_rng_next(struct fault_rng *rng)
{
	uint64_t	*s = rng->s, result, t;

	result = fault_rotl(s[1] * 5, 7) * 9;
	t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = fault_rotl(s[3], 45);
	return result;
}
/* Uniform in [0, 1) with 53 bits. */
double		fault_rng_double(struct fault_rng *);
/* Standard normal (Box-Muller; no cached second value, so a stream is
 * a pure function of its seed and the number of draws). */
double		fault_rng_normal(struct fault_rng *);
/* Mixes (seed, name, signature, occurrence) into one 64-bit seed. */
uint64_t	fault_seed_mix(uint64_t seed, const char *name, uint64_t sig,
		    uint64_t occurrence);

/* --- latency ---------------------------------------------------------- */

enum fault_latency_kind {
	FAULT_LAT_NONE = 0,
	FAULT_LAT_FIXED,	/* a: ns */
	FAULT_LAT_UNIFORM,	/* [a, b] ns */
	FAULT_LAT_NORMAL,	/* mean a ns, stddev b ns; clamped at 0 */
	FAULT_LAT_LOGNORMAL,	/* ln(ns) ~ N(a = mu, b = sigma) */
	FAULT_LAT_PARETO,	/* scale a ns (xm), shape b (alpha) */
	FAULT_LAT_RECORDED,	/* the transaction's recorded latency x a */
	FAULT_LAT_EMPIRICAL,	/* a sample of the endpoint's recorded ones */
};

struct fault_latency {
	enum fault_latency_kind	kind;
	double			a;
	double			b;
	double			max_ns;	/* cap on a sample, 0: none */
};

/*
 * lognormal given as median and p99: mu = ln(median), sigma =
 * (ln(p99) - mu) / 2.3263478740408408 (the 99th normal quantile).
 * Returns -1 unless 0 < median < p99.
 */
int		fault_lognormal_from_quantiles(struct fault_latency *,
		    double median_ns, double p99_ns);

/*
 * One latency sample in ns.  recorded_ns is the transaction's recorded
 * latency (-1 if unknown: RECORDED then gives 0); samples/nsamples are the
 * endpoint's recorded latencies in ns for EMPIRICAL (none: 0).
 */
uint64_t	fault_latency_sample(const struct fault_latency *,
		    struct fault_rng *, int64_t recorded_ns,
		    const int64_t *samples, size_t nsamples);

/* --- the fault of one rule -------------------------------------------- */

enum fault_malform {
	FAULT_MALFORM_NONE = 0,
	FAULT_MALFORM_TRUNCATE,		/* cut the body, honest length */
	FAULT_MALFORM_LYING_LENGTH,	/* cut the body, recorded length kept */
	FAULT_MALFORM_CORRUPT,		/* flip bytes */
	FAULT_MALFORM_INVALID_JSON,	/* break the structure */
	FAULT_MALFORM_EMPTY,		/* empty body */
	FAULT_MALFORM_WRONG_CONTENT_TYPE,
	FAULT_MALFORM_OVERSIZE,		/* a body of oversize bytes, streamed */
	FAULT_MALFORM_DROP_FIELD,	/* JSON: remove a member */
	FAULT_MALFORM_SWAP_TYPES,	/* JSON: change a value's type */
	FAULT_MALFORM_BAD_CHUNK,	/* invalid chunked framing */
	/* gRPC calls (plan.c): the message stream of the body. */
	FAULT_MALFORM_GRPC_BAD_LENGTH,	/* a length prefix promising more
					   than the body holds */
	FAULT_MALFORM_GRPC_TRUNCATE,	/* the body ends inside a message */
	FAULT_MALFORM_GRPC_BAD_PROTOBUF,/* a well-framed message holding a
					   truncated protobuf */
};

enum fault_conn {
	FAULT_CONN_NONE = 0,
	FAULT_CONN_RESET,		/* RST instead of a response */
	FAULT_CONN_CLOSE,		/* FIN, no response */
	FAULT_CONN_CLOSE_AFTER_HEADERS,
	FAULT_CONN_HANG,		/* never answer; the client gives up */
	FAULT_CONN_DRIP,		/* body at drip_bps bytes per second */
	FAULT_CONN_SLOW_HEADERS,	/* head at drip_bps bytes per second */
	/* HTTP/2 only (an HTTP/1.1 connection gets the closest: reset,
	 * close, hang). */
	FAULT_CONN_RST_STREAM,		/* RST_STREAM h2_code, no response */
	FAULT_CONN_GOAWAY,		/* GOAWAY h2_code: the connection ends */
	FAULT_CONN_STALL,		/* flow control stall: no WINDOW_UPDATE,
					   the body stops at the window */
	FAULT_CONN_SETTINGS_TIMEOUT,	/* SETTINGS not sent (or not
					   acknowledged); the stream hangs */
};

struct fault_header {
	char	*name;
	char	*value;
};

/* A rule's fault as the rule file gave it; immutable once loaded. */
struct fault_spec {
	struct fault_latency	 latency;	/* kind NONE: no latency */

	int			 status;	/* 0: keep the recorded one */
	struct fault_header	*headers;	/* set (replace) these */
	size_t			 nheaders;
	char			*body;		/* replaces the body if has_body */
	size_t			 body_len;
	int			 has_body;

	enum fault_malform	 malform;
	double			 truncate_at;	/* < 1: fraction, else bytes;
						   default 0.5 */
	size_t			 corrupt_bytes;	/* default 1 */
	char			*content_type;	/* wrong_content_type; default
						   "text/html" */
	size_t			 oversize;	/* bytes; default 1 MiB */
	char			*field;		/* drop_field/swap_types target
						   member name, NULL: chosen */

	enum fault_conn		 connection;
	double			 drip_bps;	/* drip, slow_headers; default
						   1024 */
	uint32_t		 h2_code;	/* rst_stream, goaway: RFC 9113
						   error code */

	int			 has_grpc;	/* answer a gRPC call
						   trailers-only with: */
	int			 grpc_code;	/* this grpc-status */
	char			*grpc_message;	/* and this grpc-message, or
						   NULL */
	int			 per_message;	/* latency before each message
						   of a gRPC answer */

	double			 drop;		/* packet chaos (decoy chaos):
						   probability of dropping each
						   response packet; 0: none.
						   The responder ignores it. */
};

void	fault_spec_init(struct fault_spec *);
void	fault_spec_free(struct fault_spec *);
/* Deep copy. */
void	fault_spec_copy(struct fault_spec *dst, const struct fault_spec *src);

/* Names as rule files spell them ("truncate", "reset", "lognormal"...);
 * the parse functions return -1 for an unknown name. */
const char	*fault_malform_name(enum fault_malform);
int		 fault_malform_parse(const char *, enum fault_malform *);
const char	*fault_conn_name(enum fault_conn);
int		 fault_conn_parse(const char *, enum fault_conn *);
const char	*fault_latency_name(enum fault_latency_kind);
/* HTTP/2 error codes (RFC 9113 7): "NO_ERROR" ... "HTTP_1_1_REQUIRED";
 * a code past the table is "0x..." (parse takes a name in any case, or a
 * number). */
const char	*fault_h2_code_name(uint32_t, char *buf, size_t len);
int		 fault_h2_code_parse(const char *, uint32_t *);
/* 1 for the HTTP/2-only connection faults. */
int		 fault_conn_is_h2(enum fault_conn);

/*
 * Applies a body malform to body[0..len) and appends the result to out.
 * TRUNCATE and LYING_LENGTH cut at truncate_at (at least one byte fewer
 * than len when len > 0); CORRUPT flips corrupt_bytes bytes at random
 * offsets (each flip changes the byte); INVALID_JSON breaks the structure
 * so a JSON parser rejects it (drops the last closing bracket or brace,
 * or, for a body that is not an object or array, appends a stray '}');
 * EMPTY gives nothing; DROP_FIELD removes one member of the top-level
 * object (spec->field, or one chosen by rng) and SWAP_TYPES replaces one
 * member's value by a value of another type (a number or true/false
 * becomes its text as a string, a string or null becomes 0, an object or
 * array becomes null), both on the raw bytes so every other
 * number keeps its exact digits; on a body that is not a JSON object they
 * fall back to INVALID_JSON.  Other kinds copy the body unchanged.
 */
void	fault_malform_body(const struct fault_spec *, struct fault_rng *,
	    const char *body, size_t len, struct buf *out);

#endif
