/*
 * hash.h -- FNV-1a, the one string hash of decoy's open-addressing
 * tables (endpoint rows, route trees, id sets): 64 bits, fast on short
 * keys, no seed (the keys are the user's own data, not an attacker's on
 * a shared table).
 */
#ifndef DECOY_HASH_H
#define DECOY_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV_BASIS	14695981039346656037ULL
#define HASH_FNV_PRIME	1099511628211ULL

/* FNV-1a of p[0..len). */
static inline uint64_t
hash_fnv1a(const void *p, size_t len)
{
	const unsigned char	*s = p;
	uint64_t		 h = HASH_FNV_BASIS;

	while (len-- > 0)
		h = (h ^ *s++) * HASH_FNV_PRIME;
	return h;
}

/* FNV-1a of a NUL-terminated string. */
static inline uint64_t
hash_fnv1a_str(const char *s)
{
	uint64_t	h = HASH_FNV_BASIS;

	while (*s != '\0')
		h = (h ^ (unsigned char)*s++) * HASH_FNV_PRIME;
	return h;
}

#endif
