/*
 * fuzz-http-check.h -- invariant checks shared by the HTTP fuzz targets.
 */
#ifndef DECOY_FUZZ_HTTP_CHECK_H
#define DECOY_FUZZ_HTTP_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "buf.h"

#define CHECK(c)	do { if (!(c)) abort(); } while (0)

/* Aborts unless the span lies inside buf[0..len). */
void	fuzz_check_span(struct span, const char *buf, size_t len);
/*
 * Decodes body as chunked data whole and in pieces of step bytes and
 * aborts unless both give the same body, trailing bytes and error.
 */
void	fuzz_check_chunked(const uint8_t *body, size_t len, size_t step);

#endif
