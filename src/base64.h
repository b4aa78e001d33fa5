/*
 * base64.h -- base64 with the standard alphabet and '=' padding (RFC 4648
 * section 4), used for snapshot bodies that are not UTF-8 text.
 *
 * Decoding is strict: the length must be a multiple of four, only
 * alphabet characters may appear, padding only at the end, and the unused
 * bits of the last group must be zero, so every byte string has exactly
 * one accepted encoding.  No whitespace or line breaks are allowed.
 */
#ifndef DECOY_BASE64_H
#define DECOY_BASE64_H

#include <stddef.h>

#include "buf.h"

/* Length of the encoding of n bytes, padding included, NUL excluded. */
size_t	base64_encoded_len(size_t n);

/* Appends the encoding of p[0..n) to out. */
void	base64_encode(struct buf *out, const void *p, size_t n);

/*
 * Appends the bytes encoded by s[0..len) to out.  Returns 0, or -1 with
 * *erroff (if not NULL) set to the offset in s of the first offending
 * character; out may then hold a partial result.
 */
int	base64_decode(struct buf *out, const char *s, size_t len,
	    size_t *erroff);

/* The value of a hex digit (either case), or -1. */
static inline int
base16_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif
