/*
 * units.h -- parsers for durations, sizes and seeds as users write them.
 */
#ifndef DECOY_UNITS_H
#define DECOY_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* "250ms", "10s", "1.5s", "2m", "100us", "1h", "5ns" -> ns; a unit is
 * required.  0 or -1. */
int	units_parse_duration(const char *, uint64_t *ns);
/* "1024", "16KiB", "8MiB", "1GiB" (also B, and KB/MB/GB as powers of
 * 1000) -> bytes.  0 or -1. */
int	units_parse_size(const char *, size_t *bytes);
/* A decimal unsigned 64-bit integer (a chaos seed).  0 or -1. */
int	units_parse_seed(const char *, uint64_t *);

#endif
