/*
 * gen-transform.h -- the generator's side of the transforms file
 * (transform.h): what `decoy replay --transforms FILE` does to each
 * recorded inbound request before it sends it, and what it learns from
 * each live answer.  Pure: recorded transactions, live responses as
 * spans and a clock value in, request bytes out; no sockets, no clock
 * reads, so the generator (gen.c) and the unit tests drive it alike.
 *
 * A request is touched by
 *   - the value entries with dir in, a request location and the action
 *     shift (a timestamp moved by send time - recorded time, written back
 *     in its own layout), resign (a JWT re-signed with its key, its times
 *     moved by the same shift, its claim overrides set) or fresh (a new
 *     value of the same format per send);
 *   - the correlations: each `to` location of a `to` endpoint whose value
 *     is a recorded value the session's map knows is sent with the live
 *     value instead.  A correlated value wins over shift, resign and
 *     fresh at the same location.
 * The map (recorded value -> live value) belongs to one session (one
 * clone of one session): gen_transform_capture() fills it from the live
 * answer to a transaction of a correlation's `from` endpoint.
 */
#ifndef DECOY_GEN_TRANSFORM_H
#define DECOY_GEN_TRANSFORM_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "snap.h"
#include "transform.h"

struct gen_transform;
struct gen_transform_map;

/*
 * Takes t (the caller must not use or free it any more) and prepares it
 * for the generator.  Appends to warnings one line per entry that cannot
 * do its work ("FILE:LINE: the JWT at req.header Authorization of GET
 * /admin/audit cannot be re-signed: no key (add keys: with
 * secret_file); sent as recorded\n"); never a secret.
 */
struct gen_transform	*gen_transform_create(struct transforms *t,
			    struct buf *warnings);
void			 gen_transform_free(struct gen_transform *);
/* The transforms themselves (owned by gx). */
const struct transforms	*gen_transform_set(const struct gen_transform *);
/* 1 when the set has correlations (replay must keep sessions in order). */
int			 gen_transform_has_corrs(const struct gen_transform *);

/* What a recorded transaction needs, see gen_transform_flags(). */
#define GEN_TRANSFORM_BUILD	0x1	/* its request is built per send */
#define GEN_TRANSFORM_CAPTURE	0x2	/* its answer feeds correlations */

/*
 * GEN_TRANSFORM_BUILD when an entry or a correlation's `to` applies to
 * t's request (its endpoint matches and its location is present in the
 * recorded request), GEN_TRANSFORM_CAPTURE when t is dir in, has a
 * recorded response and its endpoint is a correlation's `from` or has
 * response values with the action any; 0 for the transactions the
 * transforms leave alone (sent as pre-serialised).
 */
int	gen_transform_flags(const struct gen_transform *,
	    const struct snap_txn *t);

/*
 * What the comparison of the live answer with the recorded one must
 * leave out for t's endpoint: the response locations of the dir in
 * entries with the action any and the `from` locations of the
 * correlations.  paths are JSON paths in gen_json_diff()'s syntax,
 * headers are header names (res.header NAME; "Set-Cookie" for
 * res.set-cookie), grpc are gRPC field paths (res.grpc PATH, see
 * gen_transform_grpc_same()).  NULL when nothing is left out.  Owned by
 * gx, shared by every transaction of the same entries.
 */
struct gen_transform_cmp {
	char	**paths;
	size_t	  npaths;
	char	**headers;
	size_t	  nheaders;
	char	**grpc;
	size_t	  ngrpc;
};
const struct gen_transform_cmp	*gen_transform_cmp(struct gen_transform *,
				    const struct snap_txn *t);

/*
 * 1 when the gRPC bodies rec (recorded) and live are equal once the
 * values at cmp's grpc paths (cmp may be NULL) are left out (each
 * replaced on both sides by one mark) and each string or bytes field of
 * rec whose value map (may be NULL) holds reads as its live value, the
 * lengths around them recomputed; 0 when they differ.
 */
int	gen_transform_grpc_same(const struct gen_transform_cmp *cmp,
	    const struct gen_transform_map *map, struct span rec,
	    struct span live);

/*
 * The origin-form part of a recorded target: an absolute-form target
 * loses its scheme and authority ("http://h/a?b" -> "/a?b").
 */
const char	*gen_transform_origin_form(const char *target);

/*
 * Appends request r as the generator sends it: request line with prefix
 * before the recorded origin-form target, Host: host, the recorded
 * headers but Host and the hop-by-hop and framing ones, Content-Length
 * from the body (always for POST, PUT and PATCH), the body.
 */
void	gen_transform_write_request(struct buf *, const struct snap_req *r,
	    const char *host, const char *prefix);

/* One send: the clock and the session it belongs to. */
struct gen_transform_send {
	int64_t			 now_us;	/* send-time wall clock, µs */
	int64_t			 rec_us;	/* the transaction's recorded
						   start, µs; -1: unknown (no
						   shift) */
	uint64_t		*rng;		/* shape_rand() state */
	struct gen_transform_map *map;		/* NULL: no correlations */
};

/*
 * Appends t's request, as gen_transform_write_request() writes it, with
 * the transforms applied for send s (see the top of this file).
 * Returns the number of values replaced.  A JWT that cannot be re-signed
 * is sent as recorded, with one log_warn() per entry for the run.
 */
size_t	gen_transform_request(struct gen_transform *,
	    const struct snap_txn *t, const char *host, const char *prefix,
	    const struct gen_transform_send *s, struct buf *out);

/*
 * The live answer live (a response: path and query empty) to t came:
 * for each correlation whose `from` endpoint is t's, the value at its
 * `from` location in t's recorded response and in live (the n-th found
 * with the n-th found, for paths with [*]) become map[recorded] = live
 * when both exist and differ; the same for the response values of t's
 * endpoint with the action any (not compared themselves, and a later
 * answer that repeats one compares through the map).  Returns the
 * number of values mapped.
 */
size_t	gen_transform_capture(const struct gen_transform *,
	    const struct snap_txn *t, const struct transform_msg *live,
	    struct gen_transform_map *);

/*
 * A transform_msg over the recorded request or response of t (res 0 or
 * 1); the spans point into t, headers into *hdrs, an array the caller
 * frees.
 */
void	gen_transform_msg(const struct snap_txn *t, int res,
	    struct transform_msg *m, struct http_header **hdrs);

/* Per-session map of recorded values to live ones. */
struct gen_transform_map	*gen_transform_map_create(void);
void				 gen_transform_map_free(
				    struct gen_transform_map *);
/* The live value for recorded value v[0..len), or NULL (*livelen set). */
const char	*gen_transform_map_get(const struct gen_transform_map *,
		    const char *v, size_t len, size_t *livelen);
/* Sets (or replaces) map[rec] = live; both are copied. */
void		 gen_transform_map_set(struct gen_transform_map *,
		    const char *rec, size_t reclen, const char *live,
		    size_t livelen);
size_t		 gen_transform_map_count(const struct gen_transform_map *);

#endif
