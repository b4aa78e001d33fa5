/*
 * mutate.h -- the mutation engine (`decoy fuzz`, docs/design.md section
 * 4): a pure, seeded module that turns captured HTTP/1.1 requests into
 * mutants.  No sockets, no clocks, no global state: the same corpus and
 * the same seed give the same sequence of mutants, byte for byte, on every
 * machine.
 *
 * A corpus is a set of raw requests (one `decoy corpus` file each: request
 * line, headers, CRLF, body framed by Content-Length).  On load every entry
 * is parsed once (method, target split into path segments and query
 * parameters, headers, body; JSON bodies into a token list, form bodies
 * into pairs) and a dictionary is learned from all entries (header names
 * and values, JSON member names and scalar values, query names and values,
 * path segments).
 *
 * Operators (each has a stable name, MUT_OP_*):
 *   byte level   bit flip, interesting integers (0, -1, 0x7f, 0x80, 0xff,
 *                0x7fff..., 2^31-1, 2^63-1 written as bytes or digits),
 *                insert, delete, duplicate a run, splice with another entry;
 *   HTTP         method, path segments (replace with dictionary/huge/
 *                traversal/encoded), query parameters (drop, duplicate,
 *                replace value), header add/remove/duplicate/oversize,
 *                Content-Length lies, Transfer-Encoding lies, chunk-size
 *                edge cases;
 *   JSON bodies  type swaps, boundary numbers (-1, 0, 2^31, 2^53+1, 1e309,
 *                -0, 1.5 where an int was), huge strings, deep nesting,
 *                unicode edge cases (lone surrogates, overlong UTF-8, NUL,
 *                RTL), missing, extra and null members;
 *   form bodies  the same for application/x-www-form-urlencoded pairs;
 *   gRPC calls   (content-type application/grpc, a body of protobuf
 *                messages) structural protobuf mutations of one field --
 *                varint boundaries, wire types, duplicated, dropped and
 *                unknown fields, packed runs, length lies, invalid
 *                UTF-8 -- deep nesting and gRPC framing lies
 *                (mutate-pb.h);
 *   dictionary   a learned name or value put in place of another.
 * Mutants stay well framed (Content-Length rewritten to the body's length,
 * Host kept) unless breaking the framing is the operator's point (the
 * framing operators set mut_info.framing).  Authentication headers
 * (Authorization, Proxy-Authorization, Cookie, X-Api-Key, X-Auth-Token)
 * are never mutated or removed unless MUT_MUTATE_AUTH is set.
 */
#ifndef DECOY_MUTATE_H
#define DECOY_MUTATE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct mut_corpus;
struct mut_engine;

/* Operators, in the order of their numbers (mut_info.op); names below. */
enum mut_op {
	MUT_OP_BITFLIP,		/* byte.bitflip */
	MUT_OP_INTERESTING,	/* byte.interesting */
	MUT_OP_INSERT,		/* byte.insert */
	MUT_OP_DELETE,		/* byte.delete */
	MUT_OP_DUPLICATE,	/* byte.duplicate */
	MUT_OP_SPLICE,		/* byte.splice */
	MUT_OP_METHOD,		/* http.method */
	MUT_OP_PATH,		/* http.path_segment */
	MUT_OP_QUERY,		/* http.query */
	MUT_OP_HDR_ADD,		/* http.header_add */
	MUT_OP_HDR_REMOVE,	/* http.header_remove */
	MUT_OP_HDR_DUP,		/* http.header_duplicate */
	MUT_OP_HDR_OVERSIZE,	/* http.header_oversize */
	MUT_OP_CL_LIE,		/* http.cl_lie (framing) */
	MUT_OP_TE_LIE,		/* http.te_lie (framing) */
	MUT_OP_CHUNK_EDGE,	/* http.chunk_edge (framing when broken) */
	MUT_OP_J_TYPE,		/* json.type_swap */
	MUT_OP_J_BOUNDARY,	/* json.boundary_number */
	MUT_OP_J_HUGE,		/* json.huge_string */
	MUT_OP_J_DEEP,		/* json.deep_nesting */
	MUT_OP_J_UNICODE,	/* json.unicode */
	MUT_OP_J_REMOVE,	/* json.remove_member */
	MUT_OP_J_ADD,		/* json.add_member */
	MUT_OP_J_NULL,		/* json.null_member */
	MUT_OP_F_VALUE,		/* form.value */
	MUT_OP_F_REMOVE,	/* form.remove */
	MUT_OP_F_EXTRA,		/* form.extra */
	MUT_OP_DICT,		/* dict.replace */
	MUT_OP_PB_VARINT,	/* pb.varint_boundary (gRPC entries: */
	MUT_OP_PB_WIRE,		/* pb.wire_type        mutate-pb.h) */
	MUT_OP_PB_DUP,		/* pb.duplicate_field */
	MUT_OP_PB_DROP,		/* pb.drop_field */
	MUT_OP_PB_UNKNOWN,	/* pb.unknown_field */
	MUT_OP_PB_PACKED,	/* pb.packed */
	MUT_OP_PB_LENGTH,	/* pb.length_lie */
	MUT_OP_PB_UTF8,		/* pb.invalid_utf8 */
	MUT_OP_PB_DEEP,		/* pb.deep_nesting */
	MUT_OP_GRPC_FRAME,	/* grpc.frame */
	MUT_OP_COUNT
};

/* Flags for mut_engine_create. */
#define MUT_MUTATE_AUTH		0x01	/* auth headers and cookies too */
#define MUT_NO_FRAMING		0x02	/* never break the framing */

struct mut_info {
	size_t		 parent;	/* corpus entry mutated */
	size_t		 other;		/* splice partner, or parent */
	unsigned	 op;		/* last operator applied */
	unsigned	 first_op;	/* the operator the mutant was made
					   around (mut_make's op; applied
					   first) */
	int32_t		 field;		/* the field it worked on, or -1 */
	unsigned	 nops;		/* operators stacked (1..) */
	int		 framing;	/* framing deliberately broken (also
					   1 for byte-level mutants of an
					   entry that did not parse) */
};

/* An empty corpus.  Never NULL. */
struct mut_corpus *mut_corpus_create(void);
void	mut_corpus_free(struct mut_corpus *);
/*
 * Adds one raw request (copied).  A request that does not parse as
 * HTTP/1.1 is still added (byte-level operators only) and -1 is
 * returned with *cause saying why; 0 when it parsed.
 */
int	mut_corpus_add(struct mut_corpus *, const char *raw, size_t len,
	    char **cause);
/*
 * Adds every regular file whose name ends in ".http" in dir, in name
 * order.  -1 with *cause (naming the file) if the directory or a file
 * cannot be read, or if it holds no .http file.
 */
int	mut_corpus_load_dir(struct mut_corpus *, const char *dir,
	    char **cause);
size_t	mut_corpus_count(const struct mut_corpus *);
/* The raw bytes of entry i (owned by the corpus). */
const char *mut_corpus_entry(const struct mut_corpus *, size_t i,
	    size_t *len);

/*
 * An engine over corpus (which must outlive it and not change) seeded
 * with seed.  Never NULL.
 */
struct mut_engine *mut_engine_create(const struct mut_corpus *,
	    uint64_t seed, unsigned flags);
void	mut_engine_free(struct mut_engine *);

/*
 * Writes mutant number index of corpus entry entry, made around operator
 * op, into out (reset first) and describes it in *info (may be NULL).
 * op is applied first; 0-3 more operators may be stacked after it, drawn
 * by weight.  field: for an operator that works on one JSON member or
 * array element, or one protobuf field (mut_op_takes_field), which one (0 ..
 * mut_entry_fields() - 1, in body order); -1 lets the operator choose.
 * A pure function of (corpus, seed, flags, index, entry, op, field): no
 * state carries over from one mutant to the next, so a mutant is made
 * again from these alone, whatever was made before.  An op the entry
 * cannot take (mut_op_weight_of() is 0) is replaced by one drawn by
 * weight; entry is taken modulo the corpus size; a field out of range or
 * for another operator is -1.
 */
void	mut_make(struct mut_engine *, uint64_t index, size_t entry,
	    unsigned op, int32_t field, struct buf *out, struct mut_info *info);

/* 1 when op works on one JSON member or element, or one protobuf field
 * of a gRPC call (a field), else 0. */
int	mut_op_takes_field(unsigned op);
/* The fields of entry: its JSON members and array elements, or a gRPC
 * call's protobuf fields (nested ones too, in wire order); 0 for other
 * bodies. */
size_t	mut_entry_fields(const struct mut_engine *, size_t entry);

/*
 * The next mutant with the engine's own fixed schedule: an entry drawn
 * uniformly and an operator by weight (a stream seeded with the seed),
 * then mut_make(number of calls so far, entry, operator, -1).  A pure
 * function of (corpus, seed, flags, number of calls so far).
 */
void	mut_next(struct mut_engine *, struct buf *out, struct mut_info *info);

/* The relative weight of op for entry (its prior, what mut_next draws
 * by); 0 when the entry cannot take it. */
unsigned	mut_op_weight_of(const struct mut_engine *, size_t entry,
	    unsigned op);

/*
 * Applies one seeded mutation to an arbitrary request in data[0..len)
 * (HTTP-aware when it parses, byte-level otherwise), writing at most max
 * bytes back into data; returns the new length.  For
 * LLVMFuzzerCustomMutator: pure in (data, len, max, seed) plus the
 * corpus's dictionary, and it leaves the engine's mut_next stream where
 * it was.  When no mutant fits in max it flips one bit instead.
 */
size_t	mut_mutate_buf(struct mut_engine *, uint8_t *data, size_t len,
	    size_t max, uint64_t seed);

/*
 * The sweep (docs/fuzzing.md, "The sweep"): a fixed list of single-edit
 * mutants of an entry, one per (field, class): each JSON member or
 * element removed, null, of another type, an empty string, a number
 * boundary (0, -1, -2^31-1, 2^31-1, 2^31, 2^63, 1e308, 1.5 where an
 * integer was), a 1 KiB string; each query or form pair and each path
 * segment removed, empty, of the other type (a number where a word was
 * and the other way round) and, where it is a number, the boundaries;
 * each ordinary header grown by 4 KiB; the request with a 1, 4 or 8 KiB
 * header or 17 or 65 extra headers; each protobuf field of a gRPC call
 * dropped, a varint 0, -1 (ten bytes, also 2^64-1), 2^31-1, 2^31, 2^63
 * and, where it looks like a sint, the zigzag edges; a length-delimited
 * value emptied (a nested message too), a string with invalid UTF-8, a
 * repeated field grown to 17 and 65 elements, the field with another
 * wire type (mutate-pb.h's mut_pb_edit).  Items are numbered class-major
 * (every removal first, then the request's header sizes and counts,
 * then every null...), targets in request order.
 * mut_make(index, entry, MUT_SWEEP, item) makes item `item` of entry
 * alone (no stacked operator); a pure function of those like any
 * mutant; mut_info's op and first_op are MUT_SWEEP, field the item.
 */
#define MUT_SWEEP	0x100u

enum mut_sweep_kind {
	MUT_SW_JSON,		/* target: the field (mut_entry_fields) */
	MUT_SW_QUERY,		/* a query pair */
	MUT_SW_FORM,		/* a form pair */
	MUT_SW_PATH,		/* a path segment */
	MUT_SW_HEADER,		/* an ordinary header (not Host, auth,
				   framing) */
	MUT_SW_REQUEST,		/* the request: target 0 */
	MUT_SW_PB,		/* a gRPC call's protobuf field (target:
				   the field, mut_entry_fields) */
};

struct mut_sweep_item {
	unsigned	kind;		/* enum mut_sweep_kind */
	size_t		target;	/* which field, pair, segment... */
	unsigned	cls;		/* class, mut_sweep_class_name */
	unsigned	arm_op;		/* the operator of that kind
					   (json.remove_member for a
					   removal...): its arm is credited
					   with the outcome */
	int32_t		arm_field;	/* its JSON or protobuf field, or
					   -1 */
};

/* The number of sweep items of entry (0 for an entry that did not
 * parse). */
size_t	mut_sweep_count(const struct mut_engine *, size_t entry);
/* Describes item k (< mut_sweep_count) of entry; -1 out of range. */
int	mut_sweep_item(const struct mut_engine *, size_t entry, size_t k,
	    struct mut_sweep_item *);
/* The class's stable name ("removed", "null", "int32_max"...). */
const char *mut_sweep_class_name(unsigned cls);
unsigned	mut_sweep_class_count(void);

/* The operator's stable name ("json.type_swap", "http.cl_lie", ...;
 * "sweep" for MUT_SWEEP). */
const char *mut_op_name(unsigned op);
unsigned	mut_op_count(void);

#endif
