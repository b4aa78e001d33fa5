/*
 * transform.h -- the transforms file: what `decoy analyze` found volatile
 * in a recording (JWTs, timestamps, generated ids, values a later request
 * echoes from an earlier response) and what the generator (`decoy replay
 * --transforms`) and the responder (`decoy respond --transforms`, decoyd)
 * do with each.  The file is YAML, written by transform_write() and
 * edited by hand; decoy-transforms(5) documents it.  The recording itself
 * is never rewritten.
 *
 * A value is found by a location ("where"):
 *   req.header NAME      a header's value (first occurrence, name without
 *                        case); a value "SCHEME TOKEN" ("Bearer eyJ...",
 *                        a scheme of letters, one space, a token without
 *                        spaces) locates the TOKEN
 *   req.cookie NAME      a cookie of the Cookie header
 *   req.query NAME       a query parameter (first occurrence; the value
 *                        percent-decoded, re-encoded when written)
 *   req.path N           path segment N, 0-based ("/a/b": a is 0)
 *   req.body JSONPATH    a JSON body member: $.a.b, $.items[0].id,
 *                        $.items[*].id (every element), $["odd key"]
 *   req.form NAME        an application/x-www-form-urlencoded body field
 *   req.grpc PATH        a field of a gRPC call's messages (the body as
 *                        length-prefixed protobuf messages, grpc.h):
 *                        [N] or [*] picks the message (default every
 *                        one), then field numbers "1.3" (field 1, a
 *                        nested message, its field 3), each with [N] or
 *                        [*] for a repeated field (default its first
 *                        occurrence); see transform_grpc_path_parse()
 *   res.header NAME, res.body JSONPATH, res.set-cookie NAME (the value of
 *                        the Set-Cookie header that sets cookie NAME),
 *                        res.grpc PATH
 * A located value is its decoded bytes (JSON escapes and percent-encoding
 * removed); writing one back encodes it the same way (a JSON number stays
 * a number when the new value is one).  A protobuf string or bytes field
 * is its bytes, a varint or fixed-size field its unsigned value as
 * decimal text; a new value is written back as a field of the same
 * number and wire type (a number that is not one: as bytes), the length
 * prefixes of the enclosing messages and of the gRPC message recomputed.
 *
 * Endpoints are "METHOD ROUTE": ROUTE is a path whose segments "{...}"
 * match any one segment ("/transfers/{id}"); "*" for either part matches
 * anything.  transform_route() infers a route from a path the way the
 * analyzer does (a segment holding a digit is a parameter, but "v1").
 */
#ifndef DECOY_TRANSFORM_H
#define DECOY_TRANSFORM_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "http.h"
#include "jwt.h"
#include "shape.h"
#include "snap.h"

#define TRANSFORM_VERSION	1

enum transform_part {
	TRANSFORM_HEADER,
	TRANSFORM_COOKIE,
	TRANSFORM_SETCOOKIE,
	TRANSFORM_QUERY,
	TRANSFORM_PATH,
	TRANSFORM_BODY,
	TRANSFORM_FORM,
	TRANSFORM_GRPC,
};

struct transform_grpc_path;

struct transform_loc {
	int			 res;	/* 0 the request, 1 the response */
	enum transform_part	 part;
	char			*name;	/* header/cookie/query/form name,
					   JSON path or gRPC field path;
					   NULL for PATH */
	unsigned		 seg;	/* TRANSFORM_PATH */
	struct transform_grpc_path *grpc;	/* TRANSFORM_GRPC: name
					   parsed (owned; set by
					   transform_loc_parse), NULL:
					   parsed per use */
};

enum transform_action {
	TRANSFORM_KEEP,		/* found and reported, left alone */
	TRANSFORM_SHIFT,	/* timestamp: moved with the clock */
	TRANSFORM_RESIGN,	/* JWT: times moved, re-signed with `key` */
	TRANSFORM_FRESH,	/* generator: a new value of the format per send */
	TRANSFORM_ANY,		/* responder matching: any value of the same
				   kind matches; generator: ignored when
				   comparing the answer */
	TRANSFORM_KEY,		/* responder: a generalised key field (any
				   value; answered with a recorded transaction
				   picked from a hash of the live value, the
				   live value echoed where the recorded was) */
	TRANSFORM_ECHO,		/* response value = the live request's value
				   at `from` */
};

/* A JWT signing key of the `keys:` list. */
struct transform_key {
	char		*name;
	char		*alg;		/* NULL: guessed from the key */
	char		*secret_file;	/* resolved against the file's dir */
	char		*key_file;
	char		*secret_env;
	struct jwt_key	*key;		/* loaded by transforms_load */
	size_t		 line, col;
};

/* One volatile value found at one location of one endpoint. */
struct transform_value {
	enum shape_kind		 kind;
	enum snap_dir		 dir;
	char			*method;	/* "*" any */
	char			*route;		/* "*" any */
	struct transform_loc	 where;
	enum transform_action	 action;
	struct transform_loc	 from;		/* TRANSFORM_ECHO: in the request */
	struct transform_key	*key;		/* TRANSFORM_RESIGN; NULL: none */
	struct jwt_claim	*claims;	/* TRANSFORM_RESIGN overrides */
	size_t			 nclaims;
	char			*format;	/* informative: "rfc3339", "HS256" */
	char			*example;	/* informative: a recorded value */
	uint64_t		 seen;		/* transactions it was seen in */
	char			*why;
	size_t			 line, col;	/* of the entry, 0 if built */
};

struct transform_use {
	char			*method;
	char			*route;
	struct transform_loc	 where;		/* in the request */
};

/*
 * A correlation (dir in): the value at `from` of a response of endpoint
 * from_method/from_route reappears in later requests of the same session
 * at each `to` location.  The generator captures the live value and
 * sends it in place of the recorded one.
 */
struct transform_corr {
	char			*name;
	enum shape_kind		 kind;		/* SHAPE_NONE: any value */
	char			*from_method;
	char			*from_route;
	struct transform_loc	 from;
	struct transform_use	*to;
	size_t			 nto;
	uint64_t		 seen;
	char			*why;
	size_t			 line, col;
};

struct transforms {
	char			*path;		/* NULL when built */
	char			*snapshot;	/* informative */
	int64_t			 start_us;	/* recording window */
	int64_t			 end_us;
	struct transform_key	*keys;
	size_t			 nkeys;
	struct transform_value	*values;
	size_t			 nvalues;
	struct transform_corr	*corrs;
	size_t			 ncorrs;
};

/* An empty set (no values, window 0). */
struct transforms	*transforms_create(void);
void			 transforms_free(struct transforms *);

/*
 * Loads path: every problem is collected as "PATH:LINE:COL: message" and
 * reported at once in *cause (returns NULL).  With load_keys, each key
 * is loaded (files relative to the transforms file); a key that cannot
 * be read is an error naming the key's line, never the secret.
 */
struct transforms	*transforms_load(const char *path, int load_keys,
			    char **cause);

/*
 * Appends t as YAML, one entry per value and correlation, each with its
 * where, seen and why, after a header comment naming the snapshot.
 * transforms_load() of the result gives back the same set.
 */
void	transforms_write(struct buf *, const struct transforms *);

/* Appends a value/correlation built by the caller (strings are copied). */
struct transform_value	*transforms_add_value(struct transforms *);
struct transform_corr	*transforms_add_corr(struct transforms *);
struct transform_use	*transform_corr_add_use(struct transform_corr *);

/*
 * Appends p[0..len) percent-decoded ("%41" is "A"; a '%' not followed by
 * two hex digits stays as it is), '+' as a space when plus (a query or a
 * form; not a path).
 */
void	transform_pct_decode(struct buf *, const char *p, size_t len,
	    int plus);

/*
 * Appends member name[0..len) to a JSON path as transform_loc_parse reads
 * it: ".name" when name is ASCII letters, digits and _ and does not start
 * with a digit, else ["name"] (a JSON string).
 */
void	transform_jpath_member(struct buf *, const char *name, size_t len);

/*
 * A req.grpc/res.grpc location whose path names fields ("meta.sent_ms")
 * rewritten in field numbers ("1.2"), the message type being route's
 * (a gRPC path "/pkg.Service/Method") request or response (l->res) type
 * in set.  0 (also for any other location or a path of numbers), or -1
 * with *cause: no set, a route that names no one method, a name the type
 * does not declare.  transforms_load() does this for every entry with
 * the set snap_set_protodesc() gave.
 */
struct protodesc;
int	transform_loc_resolve(struct transform_loc *l,
	    const struct protodesc *set, const char *route, char **cause);

/* "req.header Authorization" and back.  0, or -1 with *cause. */
int	transform_loc_parse(const char *s, struct transform_loc *,
	    char **cause);
void	transform_loc_format(struct buf *, const struct transform_loc *);
void	transform_loc_free(struct transform_loc *);
int	transform_loc_eq(const struct transform_loc *,
	    const struct transform_loc *);

const char		*transform_action_name(enum transform_action);
int			 transform_action_parse(const char *,
			    enum transform_action *);

/*
 * Appends the route of path (no query): each segment that holds a digit
 * becomes "{id}" (or "{n}" when all digits, "{uuid}" for a UUID), but
 * API versions ("v1", "v2.1") stay as they are.
 */
void	transform_route(struct buf *, const char *path, size_t len);
/* 1 when request method + path (no query) fall under method/route. */
int	transform_endpoint_match(const char *method, const char *route,
	    struct span req_method, struct span req_path);

/*
 * A message as the locator sees it: spans into the caller's buffers.
 * For a response, path and query are empty.
 */
struct transform_msg {
	struct span			 path;
	struct span			 query;
	const struct http_header	*headers;
	size_t				 nheaders;
	struct span			 body;
};

/* Where a located value sits, for reading and for splicing a new one. */
enum transform_enc {
	TRANSFORM_ENC_RAW,	/* bytes as they are */
	TRANSFORM_ENC_JSON,	/* inside a JSON string's quotes */
	TRANSFORM_ENC_JSONNUM,	/* a JSON number */
	TRANSFORM_ENC_PCT,	/* percent-encoded (query, form, cookie) */
	TRANSFORM_ENC_PB_BYTES,	/* a protobuf length-delimited value */
	TRANSFORM_ENC_PB_VARINT,	/* a protobuf varint */
	TRANSFORM_ENC_PB_I64,	/* a protobuf 64-bit value (8 bytes LE) */
	TRANSFORM_ENC_PB_I32,	/* a protobuf 32-bit value (4 bytes LE) */
};

/* 1 for the protobuf encodings (a req.grpc/res.grpc hit). */
#define TRANSFORM_ENC_IS_PB(e)	((e) >= TRANSFORM_ENC_PB_BYTES)

enum transform_in {
	TRANSFORM_IN_PATH,
	TRANSFORM_IN_QUERY,
	TRANSFORM_IN_HEADER,	/* header number `header` */
	TRANSFORM_IN_BODY,
};

struct transform_hit {
	enum transform_in	 in;
	size_t			 header;	/* TRANSFORM_IN_HEADER */
	size_t			 off;		/* the raw bytes in that part */
	size_t			 len;
	enum transform_enc	 enc;
};

/*
 * Finds the value(s) at loc in m (loc->res is not checked: the caller
 * passes the request or the response).  Fills up to max hits in
 * document order and returns how many were found (JSON paths with [*]
 * find several), 0 when the location is absent.
 */
size_t	transform_locate(const struct transform_loc *loc,
	    const struct transform_msg *m, struct transform_hit *hits,
	    size_t max);
/* The raw span of a hit in m. */
struct span	transform_hit_raw(const struct transform_msg *m,
		    const struct transform_hit *h);
/* Appends the decoded value of a hit. */
void	transform_hit_value(struct buf *, const struct transform_msg *m,
	    const struct transform_hit *h);
/*
 * Appends v encoded for the hit's place: JSON-escaped inside a string,
 * as it is for a protobuf field (transform_edits_render() and
 * transform_grpc_render() encode the field),
 * percent-encoded where the recorded value was (only the bytes that need
 * it), as it is in a header, a path segment or a cookie; in place of a
 * JSON number, v itself when it is number text, else v as a JSON string.
 */
void	transform_hit_encode(struct buf *, const struct transform_hit *h,
	    const char *v, size_t len);

/*
 * A set of replacements in one message, applied in one pass.  Add any
 * number of (hit, new decoded value) pairs, then render each part.
 */
struct transform_edits {
	struct transform_edit {
		struct transform_hit	 hit;
		char			*val;	/* encoded replacement */
		size_t			 len;
	}		*v;
	size_t		 n;
	size_t		 cap;
};

void	transform_edits_init(struct transform_edits *);
void	transform_edits_reset(struct transform_edits *);
void	transform_edits_free(struct transform_edits *);
/* Queues the decoded value v for hit h (encoded here).  A hit that
 * overlaps one already queued is ignored. */
void	transform_edits_add(struct transform_edits *,
	    const struct transform_hit *h, const char *v, size_t len);
/*
 * Appends part `in` (header number `header` for TRANSFORM_IN_HEADER) of
 * m with the queued edits applied; returns 1 when an edit applied to
 * that part, 0 when it was copied unchanged.  A body with protobuf edits
 * (req.grpc, res.grpc) is rewritten by transform_grpc_render().
 */
int	transform_edits_render(struct buf *, const struct transform_edits *,
	    const struct transform_msg *m, enum transform_in in,
	    size_t header);

/*
 * gRPC field paths (transform-grpc.c).  PATH of req.grpc/res.grpc:
 *	[ "[" N "]" | "[*]" ] FIELD { "." FIELD }
 *	FIELD := NUMBER [ "[" N "]" | "[*]" ]  |  NAME [ ... ]
 * e.g. "1", "2.1", "[0].3[*].1", "[*].4[1]".  A leading message index
 * picks the call's N-th message (0-based; default every message); a
 * field index picks the N-th occurrence of a repeated field (default
 * the first).  NAME segments (letters, digits, _) are parsed and kept
 * with num 0; transform_loc_resolve() makes them numbers with a
 * descriptor set (protodesc.h), and the locator finds nothing through
 * an unresolved one.
 */
#define TRANSFORM_GRPC_DEPTH	16	/* fields in a path */
#define TRANSFORM_GRPC_EVERY	(-1L)	/* [*] */
#define TRANSFORM_GRPC_FIRST	(-2L)	/* no index on a field */

struct transform_grpc_seg {
	uint32_t	 num;		/* 0: a name not resolved */
	const char	*name;		/* NULL, or the name in the text */
	size_t		 name_len;
	long		 index;		/* N, EVERY or FIRST */
};

struct transform_grpc_path {
	long				 msg;	/* N or EVERY */
	struct transform_grpc_seg	 seg[TRANSFORM_GRPC_DEPTH];
	size_t				 nseg;
};

/*
 * Parses s into *p (names point into s).  0, or -1 with *cause naming
 * the byte offset of the problem.
 */
int	transform_grpc_path_parse(const char *s, struct transform_grpc_path *p,
	    char **cause);
/* Appends the path as transform_grpc_path_parse() reads it. */
void	transform_grpc_path_format(struct buf *,
	    const struct transform_grpc_path *);

/*
 * Finds the values at path p in the gRPC body (length-prefixed messages;
 * compressed ones are skipped, a body that does not frame stops the
 * search where it breaks).  Fills up to max hits (in TRANSFORM_IN_BODY,
 * encodings TRANSFORM_ENC_PB_*) in body order and returns how many were
 * found.
 */
size_t	transform_grpc_locate(const struct transform_grpc_path *p,
	    struct span body, struct transform_hit *hits, size_t max);
/*
 * Every length-delimited field of every message of the gRPC body, at
 * any depth (one that parses as a message is listed and walked), as
 * hits of TRANSFORM_ENC_PB_BYTES in body order: up to max filled, the
 * number found returned.
 */
size_t	transform_grpc_strings(struct span body, struct transform_hit *hits,
	    size_t max);
/* Appends a protobuf number hit's raw bytes as decimal text. */
void	transform_grpc_number(struct buf *, enum transform_enc enc,
	    struct span raw);

/*
 * Appends the gRPC body with the edits ev[0..n) (each a hit of
 * transform_grpc_locate() and its new decoded value) applied: each
 * edited field is written again with its number, the value encoded for
 * its wire type (a value that is not a number where a number was is
 * written as a length-delimited field), and every enclosing message's
 * length and its gRPC prefix recomputed; the rest is copied byte for
 * byte.  Edits outside any field are ignored.  Returns 1 when an edit
 * applied.
 */
int	transform_grpc_render(struct buf *, struct span body,
	    const struct transform_edit *ev, size_t n);

#endif
