/*
 * protobuf.h -- the protobuf wire format without a .proto file.
 *
 * A reader steps through a message field by field (number, wire type,
 * value), checking every length against the bytes there are.  On top of
 * it, a lossless JSON view of a message, so a recording of a gRPC call can
 * be read and edited without the service's schema, and the encoder that
 * turns a view (edited or not) back into bytes.
 *
 * The view of a message is a JSON array of its fields in wire order, each
 * a two-element array [number, value]:
 *
 *	varint		a number: the unsigned 64-bit value.  On input a
 *			negative number is also taken, encoded as two's
 *			complement in ten bytes (as int32 and int64 are).
 *	length-delimited
 *			a string when the bytes are UTF-8 text; an array when
 *			they parse as a message (a guess: protobuf does not
 *			say); else {"bytes": BASE64}
 *	64-bit		{"i64": N, "double": X}
 *	32-bit		{"i32": N, "float": X}
 *	group		{"group": [fields]} (the deprecated start/end group)
 *
 * e.g. [[1,150],[2,[[1,"abc"]]],[3,{"bytes":"AAH/"}],[4,{"i32":1065353216,
 * "float":1}]].  "double" and "float" are shown for reading, and left out
 * where the value is not a finite number; on input either the integer or
 * the floating-point member may be given, and when both are they must
 * agree.  Text is preferred to a nested message when every byte is
 * printable; a length-delimited value that is neither text nor a message
 * the view can show exactly is bytes.
 *
 * A view is only written when encoding it gives back the same bytes
 * (varints in their shortest form, every length exact), so a recording
 * that keeps a view keeps its exact bytes.
 */
#ifndef DECOY_PROTOBUF_H
#define DECOY_PROTOBUF_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct json_parser;

enum pb_wire {
	PB_VARINT = 0,
	PB_I64 = 1,
	PB_LEN = 2,
	PB_SGROUP = 3,
	PB_EGROUP = 4,
	PB_I32 = 5
};

#define PB_MAX_FIELD	536870911u	/* 2^29 - 1 */
/* Nested messages the view shows as such; deeper ones are bytes.  With
 * the view's two JSON levels per message this stays within json.h's
 * JSON_MAX_DEPTH. */
#define PB_VIEW_DEPTH	16
/* Groups nested in groups the reader follows. */
#define PB_GROUP_DEPTH	32

struct pb_field {
	uint32_t	 num;
	enum pb_wire	 wire;
	uint64_t	 u;	/* the value of a varint, i64 or i32 */
	const uint8_t	*p;	/* length-delimited: the bytes; group: its body */
	size_t		 len;
	size_t		 off;	/* offset of the field's key in the message */
};

struct pb_reader {
	const uint8_t	*buf;
	size_t		 len;
	size_t		 off;
	int		 canonical;	/* every varint so far in shortest form */
	const char	*error;		/* static text, NULL until a failure */
	size_t		 error_off;
};

/*
 * Reads a varint at p[0..n): returns the bytes it takes (1..10), or 0 if
 * it runs past n or past 64 bits.  *shortest (if not NULL) is cleared when
 * the encoding has redundant bytes.
 */
size_t	pb_varint(const uint8_t *p, size_t n, uint64_t *v, int *shortest);
/* 1 if p[0..len) is UTF-8; with printable, also free of control
 * characters (C0 and DEL). */
int	pb_is_text(const uint8_t *p, size_t len, int printable);
/* Appends v as a varint in its shortest form. */
void	pb_put_varint(struct buf *, uint64_t v);
/* Appends the key of field num with wire type w. */
void	pb_put_key(struct buf *, uint32_t num, enum pb_wire w);

/* Starts reading the message buf[0..len) (the caller's bytes). */
void	pb_reader_init(struct pb_reader *, const void *buf, size_t len);
/*
 * Reads the next field: 1 with *f filled, 0 at the end of the message, -1
 * with r->error and r->error_off (the offset of the offending field's
 * key) when the bytes are not a message: a varint cut short or over 64
 * bits, field number 0 or over PB_MAX_FIELD, wire type 6 or 7, a length
 * past the end, an end-group without its start, a group not closed (or
 * nested deeper than PB_GROUP_DEPTH).  A reader that failed stays failed.
 */
int	pb_read_field(struct pb_reader *, struct pb_field *);

/*
 * Appends the view of the message msg[0..len) to out and returns 0, or
 * returns -1 with nothing appended when the bytes are not a message or its
 * view would not encode back to the same bytes.
 */
int	pb_view(struct buf *out, const void *msg, size_t len);

/*
 * Appends the view of one field's value (what follows the number in its
 * [number, value] pair) at message nesting depth (1: a top-level
 * message's field; nested messages past PB_VIEW_DEPTH are bytes) and
 * returns 0, or returns -1 with nothing appended when it would not encode
 * back to the same bytes.  For views that embed field values (protodesc).
 */
int	pb_view_field_value(struct buf *out, const struct pb_field *f,
	    int depth);

/*
 * Encodes the view at the parser's cursor (consuming it) and appends the
 * message's bytes to out.  Returns 0, or -1 with the parser's error and
 * error offset set (json_fail): a value of the wrong shape, a field
 * number out of range, a number that is not an integer in range, bad
 * base64, an "i32" and a "float" that disagree.
 */
int	pb_encode_view(struct json_parser *, struct buf *out);

/* Encodes one field's value as the view writes it (a number, a string,
 * an array or an object, consumed) as field num; as pb_encode_view(). */
int	pb_encode_view_value(struct json_parser *, uint32_t num,
	    struct buf *out);

/*
 * pb_encode_view() over the whole text json[0..len): 0, or -1 with *cause
 * (allocated: "byte N: why").
 */
int	pb_encode_view_text(const char *json, size_t len, struct buf *out,
	    char **cause);

#endif
