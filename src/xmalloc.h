/*
 * xmalloc.h -- allocation wrappers that never return NULL.  Running out of
 * memory is a broken invariant for decoy: they call fatal().
 */
#ifndef DECOY_XMALLOC_H
#define DECOY_XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
/* Copies len bytes and NUL-terminates them. */
char	*xstrndup(const char *, size_t);
/* Returns a newly allocated formatted string. */
char	*xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif
