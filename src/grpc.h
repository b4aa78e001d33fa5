/*
 * grpc.h -- gRPC over HTTP/2 as far as it is bytes and names: the status
 * codes, the mapping gRPC clients apply to an HTTP status without a
 * grpc-status, the length-prefixed message framing of request and
 * response bodies, the percent-encoding of grpc-message, grpc-timeout
 * values, and the service/method of a call's :path.  No I/O.
 *
 * The reference is gRPC's "gRPC over HTTP2" protocol description and its
 * HTTP-to-gRPC status mapping document.
 */
#ifndef DECOY_GRPC_H
#define DECOY_GRPC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum grpc_code {
	GRPC_OK = 0,
	GRPC_CANCELLED = 1,
	GRPC_UNKNOWN = 2,
	GRPC_INVALID_ARGUMENT = 3,
	GRPC_DEADLINE_EXCEEDED = 4,
	GRPC_NOT_FOUND = 5,
	GRPC_ALREADY_EXISTS = 6,
	GRPC_PERMISSION_DENIED = 7,
	GRPC_RESOURCE_EXHAUSTED = 8,
	GRPC_FAILED_PRECONDITION = 9,
	GRPC_ABORTED = 10,
	GRPC_OUT_OF_RANGE = 11,
	GRPC_UNIMPLEMENTED = 12,
	GRPC_INTERNAL = 13,
	GRPC_UNAVAILABLE = 14,
	GRPC_DATA_LOSS = 15,
	GRPC_UNAUTHENTICATED = 16
};
#define GRPC_CODE_MAX	16

/* The length prefix of a message: a flag byte (1: compressed) and a
 * 4-byte big-endian length. */
#define GRPC_PREFIX_LEN	5

/* "UNAVAILABLE" for 14; NULL outside 0..16. */
const char	*grpc_code_name(int code);
/*
 * A code from its name in any case ("UNAVAILABLE", "unavailable",
 * "Unavailable"; "DEADLINE_EXCEEDED" also as "deadline-exceeded") or its
 * number ("14"): the code, or -1.
 */
int		 grpc_code_parse(const char *s, size_t len);
/*
 * The code a gRPC client reports for an HTTP response status that came
 * without grpc-status: 400 INTERNAL, 401 UNAUTHENTICATED, 403
 * PERMISSION_DENIED, 404 UNIMPLEMENTED, 429/502/503/504 UNAVAILABLE, 1xx
 * INTERNAL, anything else UNKNOWN.  Used both ways here: an HTTP status
 * fault on a gRPC call is answered with the code this gives.
 */
int		 grpc_code_from_http(int status);

struct grpc_msg {
	int		 compressed;
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;	/* of the prefix in the body */
};

/*
 * The next length-prefixed message of body[0..len) at *off: 1 with *m
 * filled and *off past it, 0 at the end, -1 with *why (static) when the
 * body does not frame: a flag byte other than 0 or 1, a prefix or a
 * message cut short (*off is left at the offending prefix).
 */
int		 grpc_next_msg(const uint8_t *body, size_t len, size_t *off,
		    struct grpc_msg *m, const char **why);
/* Appends one length-prefixed message. */
void		 grpc_put_msg(struct buf *, int compressed, const void *p,
		    size_t len);

/* Appends s[0..len) percent-encoded for grpc-message (every byte outside
 * 0x20..0x7e, and '%', as %XX). */
void		 grpc_message_encode(struct buf *, const char *s, size_t len);
/* Appends the decoded grpc-message value; a '%' not followed by two hex
 * digits is kept as it is, as the protocol asks of receivers. */
void		 grpc_message_decode(struct buf *, const char *s, size_t len);

/*
 * A grpc-timeout value ("100m", "5S": at most 8 digits and one of
 * H M S m u n) in nanoseconds (saturated at UINT64_MAX): 0, or -1 if it
 * is not one.
 */
int		 grpc_timeout_parse(const char *s, size_t len, uint64_t *ns);

/*
 * Splits a call's :path "/package.Service/Method" into service
 * ("package.Service") and method ("Method"): 0, or -1 if it is not of
 * that form (both parts non-empty, nothing after the method).
 */
int		 grpc_path_split(struct span path, struct span *service,
		    struct span *method);
/* 1 if a content-type is gRPC's: "application/grpc", optionally
 * followed by "+format" or ";parameters" (case-insensitive). */
int		 grpc_is_content_type(struct span ct);

#endif
