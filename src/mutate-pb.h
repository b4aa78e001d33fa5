/*
 * mutate-pb.h -- the mutation engine's protobuf side (module mutate; used
 * by mutate.c and its tests, no one else): the operators that mutate a
 * captured gRPC call structurally.
 *
 * A gRPC request body is a run of length-prefixed messages (grpc.h); each
 * message is read with protobuf.h's reader into a flat list of fields in
 * wire order, nested messages guessed as protobuf.c's view guesses them (a
 * length-delimited value that is printable UTF-8 is text, else one that
 * reads as a message whole is a message, else bytes), to PB_VIEW_DEPTH
 * levels.  An operator rewrites one field (or inserts next to it, or wraps
 * the message) and the splice fixes every length that encloses it -- the
 * nested messages' lengths and the gRPC prefix -- unless lying about one
 * is its point.  The result is a whole new body: the engine replaces the
 * entry's body with it.
 *
 * Operators (mutate.h's MUT_OP_PB_* and MUT_OP_GRPC_FRAME) and what they
 * do to the field:
 *   pb.varint_boundary  a varint of 0, -1 (ten bytes), 2^7-1, 2^7, 2^31-1,
 *                       2^31, 2^32, 2^63-1, 2^64-1, zigzag edges, the
 *                       recorded value negated or off by one, an overlong
 *                       or an over-64-bit encoding
 *   pb.wire_type        the same number with another wire type (varint,
 *                       len, i32, i64, a group start or end, 6, 7)
 *   pb.duplicate_field  the field again (last wins), with another value,
 *                       or 2..N times (graded counts)
 *   pb.drop_field       the field removed (a missing nested message too)
 *   pb.unknown_field    a field of a number the message does not use
 *                       (the next one, 1000, reserved 19000-19999, the
 *                       maximum 2^29-1, 0) beside it
 *   pb.packed           a packed run in its place: empty, N elements
 *                       (graded counts), cut inside its last varint, or
 *                       fixed-size with a length not a multiple of 4
 *   pb.length_lie       its length (or an enclosing message's) one or N
 *                       more or less than the bytes, 0, or huge
 *   pb.invalid_utf8     a string with invalid UTF-8 (a stray 0xff,
 *                       overlong forms, surrogates, a cut sequence, NUL),
 *                       of graded sizes
 *   pb.deep_nesting     a field wrapped in itself 2..N levels deep
 *                       (graded), exact lengths (no field chosen)
 *   grpc.frame          the gRPC framing itself: the compressed flag
 *                       without grpc-encoding, a length prefix that lies,
 *                       a second message on the call, no message, a flag
 *                       of 2, bytes after the last message (no field)
 * Every choice is drawn from the caller's random stream, so a mutant is
 * a pure function of what the engine seeds it with.
 */
#ifndef DECOY_MUTATE_PB_H
#define DECOY_MUTATE_PB_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct fault_rng;
struct mut_pb;

/*
 * Reads body[0..len) (the caller's; it must outlive the result) as gRPC
 * messages of protobuf.  NULL when it is not: it does not frame, holds no
 * message, a message is compressed, or a message is not protobuf.
 */
struct mut_pb	*mut_pb_parse(const char *body, size_t len);
void		 mut_pb_free(struct mut_pb *);
/* The fields of every message, nested ones included, in wire order. */
size_t		 mut_pb_fields(const struct mut_pb *);
/*
 * Field i: its number, wire type, nesting depth (1: a message's own
 * field) and whether its value was guessed a message.  0, or -1 when i
 * is out of range.
 */
int		 mut_pb_field_info(const struct mut_pb *, size_t i,
		    uint32_t *num, unsigned *wire, unsigned *depth,
		    int *nested);
/* 1 if op is one of the operators here (and needs a gRPC entry). */
int		 mut_pb_is_op(unsigned op);
/* 1 if op works on one field (the others need no field). */
int		 mut_pb_op_takes_field(unsigned op);
/*
 * Appends to out the whole body mutated by op on field (0 ..
 * mut_pb_fields() - 1; -1: chosen from r as the operator prefers) and
 * returns 0, or -1 with out unchanged when op cannot apply (a field
 * operator on a body without fields).  At most about max bytes: graded
 * sizes are capped so that the body stays under it.
 */
int		 mut_pb_mutate(const struct mut_pb *, unsigned op,
		    int32_t field, struct fault_rng *r, size_t max,
		    struct buf *out);

/*
 * The sweep's edits of one field (mutate.h's MUT_SWEEP items of a gRPC
 * call, docs/fuzzing.md "The sweep"): each a single deterministic
 * change, every enclosing length and the gRPC prefix exact.
 */
enum mut_pb_edit {
	MUT_PB_DROP,	/* the field removed (a nested message too) */
	MUT_PB_VARINT,	/* a varint field: the value arg */
	MUT_PB_ZIGZAG,	/* a varint that looks like a sint (its value odd,
			   zigzag's negative numbers, under 2^32): arg */
	MUT_PB_EMPTY,	/* a non-empty length-delimited value emptied */
	MUT_PB_UTF8,	/* a text value with a stray 0xff after it */
	MUT_PB_REPEAT,	/* a repeated field grown to arg elements: a packed
			   run (a length-delimited value that is not text
			   nor a message and reads whole as varints) its
			   elements cycled, or a number seen again in its
			   message (at its first) copied until the message
			   holds arg */
	MUT_PB_WIRE,	/* another wire type: a varint as length-delimited
			   (its bytes the payload), a length-delimited as a
			   varint (its length), a fixed one as a varint */
};

/*
 * Appends to out the whole body with edit (arg as it says) on field
 * (0 .. mut_pb_fields() - 1) and returns 0; -1 with out unchanged when
 * the edit does not apply to that field (a varint edit on a string, the
 * value it already has...).  out NULL: only says whether it applies.
 */
int		 mut_pb_edit(const struct mut_pb *, size_t field,
		    unsigned edit, uint64_t arg, struct buf *out);

/*
 * mutate.c's size ladder (mutate.c has its contract): half the time a
 * power of two in [lo, hi] or one off it, else base doubled
 * geometrically up to cap.
 */
size_t		 mut_ladder_size(struct fault_rng *, size_t lo, size_t hi,
		    size_t base, size_t cap);

#endif
