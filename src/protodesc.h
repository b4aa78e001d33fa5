/*
 * protodesc.h -- a .proto descriptor set (protoc --include_imports
 * --descriptor_set_out=FILE x.proto): the services, methods, message
 * types and enums it declares, looked up by gRPC path, by type name, by
 * field number and by field name; and the named view of a message, the
 * JSON a message is shown as when its type is known.
 *
 * The set is itself a protobuf message (google.protobuf.FileDescriptorSet)
 * and is read with protobuf.h's reader: a set that is not one fails with
 * the byte offset of the offending field.
 *
 * The named view of a message is a JSON object, as protojson writes it,
 * with "@type" (the message's full name) as its first member and then the
 * fields in wire order:
 *
 *	{"@type":"shop.GetUser","userId":"42","kind":"ADMIN",
 *	 "session":{"token":"abc"},"ids":[1,2],"#9":150}
 *
 * a field under its json_name (its name is also taken on input); enums by
 * value name (a number the enum does not declare as the number); 64-bit
 * integers (int64, uint64, sint64, fixed64, sfixed64) as strings, the
 * 32-bit ones as numbers (on input either form is taken); sint32/sint64
 * zigzag decoded; bool true/false; float and double as numbers, or
 * "NaN", "Infinity", "-Infinity"; string as a string; bytes as standard
 * base64; a message (or group) as its own object without "@type"; a
 * repeated field as an array (packed or not, as the descriptor says); a
 * map as an object keyed by the map key's text, or, when its entries are
 * not each exactly key then value, as an array of {"key":..,"value":..}
 * entries.  A field the type does not declare, or one whose wire type or
 * value the declared type cannot show exactly, is kept under "#NUMBER"
 * with protobuf.h's numeric value for it.
 *
 * A named view is only written when encoding it (with the same set) gives
 * back the same bytes: fields in wire order, each at most once (a repeated
 * field's elements together), varints shortest.  Else the caller keeps
 * the numeric view (protobuf.h).
 *
 * Ownership: a set owns every string and array reachable from it; the
 * pointers the lookups return live as long as the set.  A loaded set is
 * read only: any number of threads may use it at once.
 */
#ifndef DECOY_PROTODESC_H
#define DECOY_PROTODESC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct json_parser;

/* FieldDescriptorProto.Type, numbered as descriptor.proto numbers it. */
enum protodesc_type {
	PROTODESC_DOUBLE = 1,
	PROTODESC_FLOAT = 2,
	PROTODESC_INT64 = 3,
	PROTODESC_UINT64 = 4,
	PROTODESC_INT32 = 5,
	PROTODESC_FIXED64 = 6,
	PROTODESC_FIXED32 = 7,
	PROTODESC_BOOL = 8,
	PROTODESC_STRING = 9,
	PROTODESC_GROUP = 10,
	PROTODESC_MESSAGE = 11,
	PROTODESC_BYTES = 12,
	PROTODESC_UINT32 = 13,
	PROTODESC_ENUM = 14,
	PROTODESC_SFIXED32 = 15,
	PROTODESC_SFIXED64 = 16,
	PROTODESC_SINT32 = 17,
	PROTODESC_SINT64 = 18
};

/* FieldDescriptorProto.Label. */
enum protodesc_label {
	PROTODESC_OPTIONAL = 1,
	PROTODESC_REQUIRED = 2,
	PROTODESC_REPEATED = 3
};

struct protodesc_msg;
struct protodesc_enum;

struct protodesc_field {
	uint32_t		 num;
	char			*name;		/* "session_id" */
	char			*json_name;	/* "sessionId" */
	enum protodesc_type	 type;
	enum protodesc_label	 label;
	int			 packed;	/* repeated scalars: on the wire
						 * as one length-delimited run */
	int			 oneof;		/* index in the message, or -1 */
	char			*type_name;	/* message, group, enum: the full
						 * name without the leading
						 * dot; else NULL */
	const struct protodesc_msg  *msg;	/* message, group: its type */
	const struct protodesc_enum *en;	/* enum: its type */
};

struct protodesc_msg {
	char			*name;		/* full: "pkg.Outer.Inner" */
	struct protodesc_field	*fields;	/* by number, ascending */
	size_t			 nfields;
	int			 map_entry;	/* a map<K,V>'s entry type */
};

struct protodesc_enum_value {
	char	*name;
	int32_t	 num;
};

struct protodesc_enum {
	char			    *name;	/* full name */
	struct protodesc_enum_value *values;	/* in declaration order */
	size_t			     nvalues;
};

struct protodesc_method {
	char			   *path;	/* "/pkg.Svc/Method" */
	char			   *service;	/* "pkg.Svc" */
	char			   *name;	/* "Method" */
	const struct protodesc_msg *input;
	const struct protodesc_msg *output;
	int			    client_streaming;
	int			    server_streaming;
};

struct protodesc {
	char			*file;		/* the set's file name */
	struct protodesc_method	*methods;	/* by path, ascending */
	size_t			 nmethods;
	struct protodesc_msg	*msgs;		/* by name, ascending */
	size_t			 nmsgs;
	struct protodesc_enum	*enums;		/* by name, ascending */
	size_t			 nenums;
};

/*
 * Reads the descriptor set in buf[0..len) (name is for messages only).
 * Returns the set (free it with protodesc_free), or NULL with *cause
 * (allocated): "NAME: byte N: why" where the bytes are not a
 * FileDescriptorSet, "NAME: why" where they are but do not hold together
 * (a field's type_name or a method's input type that no file of the set
 * declares: pass protoc --include_imports).
 */
struct protodesc *protodesc_parse(const void *buf, size_t len,
		    const char *name, char **cause);
/* protodesc_parse() of the file at path; NULL with *cause ("PATH: ..."). */
struct protodesc *protodesc_load(const char *path, char **cause);
void		 protodesc_free(struct protodesc *);

/* The method whose gRPC path is path[0..len) ("/pkg.Svc/Method"), or
 * NULL. */
const struct protodesc_method *protodesc_method(const struct protodesc *,
		    const char *path, size_t len);
/* The message type named name[0..len) (full name, a leading dot allowed),
 * or NULL. */
const struct protodesc_msg *protodesc_message(const struct protodesc *,
		    const char *name, size_t len);
/* The message type of a call's request (response = 0) or response
 * (response = 1) messages, by the call's path; NULL if the set does not
 * know the method. */
const struct protodesc_msg *protodesc_call_type(const struct protodesc *,
		    const char *path, size_t len, int response);
/* The field numbered num, or NULL. */
const struct protodesc_field *protodesc_field_by_number(
		    const struct protodesc_msg *, uint32_t num);
/* The field whose name or json_name is name[0..len), or NULL. */
const struct protodesc_field *protodesc_field_by_name(
		    const struct protodesc_msg *, const char *name, size_t len);

/*
 * Resolves a dotted field path ("user.session_id", "user.3") from message
 * type m to field numbers: each segment is a field name or json_name, or
 * a decimal field number (taken as it is, so a numeric path passes
 * through); every segment but the last must be a message or group field.
 * Past a segment that is a number the set does not declare, the rest
 * must be numbers too.  Fills nums[0..*n) (*n <= max) and returns 0, or
 * returns -1 with *cause (allocated: "field \"x\" not in pkg.Msg", "path
 * deeper than MAX", ...).
 */
int		 protodesc_resolve_path(const struct protodesc_msg *m,
		    const char *path, size_t len, uint32_t *nums, size_t max,
		    size_t *n, char **cause);
/*
 * The same from a call: the request (response = 0) or response type of
 * the method at gRPC path call[0..call_len).  -1 with *cause also when the
 * set does not know the method.
 */
int		 protodesc_resolve_call_path(const struct protodesc *,
		    const char *call, size_t call_len, int response,
		    const char *path, size_t len, uint32_t *nums, size_t max,
		    size_t *n, char **cause);

/*
 * Appends the named view of msg[0..len), a message of type m, to out and
 * returns 0; or returns -1 with nothing appended when the bytes are not a
 * message or the view would not encode back to the same bytes.
 */
int		 protodesc_view(const struct protodesc_msg *m, struct buf *out,
		    const void *msg, size_t len);

/* 1 if the JSON value at the parser's cursor is an object whose first
 * member is "@type" (a named view); does not move the cursor. */
int		 protodesc_is_view(const struct json_parser *);

/*
 * Encodes the named view at the parser's cursor (consuming it), its type
 * looked up in set by "@type", and appends the message's bytes to out.
 * Returns 0, or -1 with the parser's error set (json_fail): a type or
 * field the set does not know, a value of the wrong shape or out of range
 * for its field's type, an enum name the enum does not declare, bad
 * base64, and set == NULL ("a named view (\"@type\") needs the descriptor set: pass
 * --proto-set FILE (decoyd: proto_set)").
 */
int		 protodesc_encode_view(const struct protodesc *set,
		    struct json_parser *, struct buf *out);

/* protodesc_encode_view() over the whole text json[0..len): 0, or -1 with
 * *cause (allocated: "byte N: why"). */
int		 protodesc_encode_view_text(const struct protodesc *set,
		    const char *json, size_t len, struct buf *out,
		    char **cause);

#endif
