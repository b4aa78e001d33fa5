/*
 * buf.h -- growable byte buffers and spans.
 *
 * A struct buf owns its storage (data may be NULL while empty); a struct
 * span points into storage owned by somebody else and is never freed.
 * Data is always NUL-terminated past len when cap > 0, so a buffer that
 * holds text can be passed to C string functions.
 */
#ifndef DECOY_BUF_H
#define DECOY_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct span {
	const char	*p;
	size_t		 len;
};

#define SPAN_LIT(s)	((struct span){ (s), sizeof(s) - 1 })
#define SPAN_NULL	((struct span){ NULL, 0 })

struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

void	 buf_init(struct buf *);
/* Empties the buffer but keeps its storage. */
void	 buf_reset(struct buf *);
void	 buf_free(struct buf *);
/* Makes room for at least n more bytes past len. */
void	 buf_reserve(struct buf *, size_t n);
void	 buf_append(struct buf *, const void *, size_t);
void	 buf_append_str(struct buf *, const char *);
void	 buf_append_span(struct buf *, struct span);
void	 buf_append_byte(struct buf *, char);
void	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 buf_vprintf(struct buf *, const char *, va_list);
/*
 * Writes v in decimal at p, zero-padded to at least width digits, and
 * returns the end (no NUL): for text built by hand where buf_printf's
 * vfprintf would cost too much.  p has room for width and 20 bytes.
 */
char	*buf_put_u64(char *p, uint64_t v, size_t width);
/* Appends v in decimal. */
void	 buf_append_u64(struct buf *, uint64_t v);
/* Drops n bytes from the front. */
void	 buf_consume(struct buf *, size_t n);
/* Hands the storage to the caller (NUL-terminated) and empties the buffer. */
char	*buf_detach(struct buf *, size_t *len);
/* A writer of one value in some quoting (YAML, JSON ...). */
typedef void (*buf_quote_cb)(struct buf *, const char *);
/* An optional field: appends prefix, quote(b, s) and suffix, or nothing
 * when s is NULL. */
void	 buf_append_field(struct buf *, const char *prefix, const char *s,
	    buf_quote_cb quote, const char *suffix);
/* s (may be NULL: NULL) with every "{name}" replaced by the decimal value
 * (command lines and URLs with {port} placeholders); the caller frees it. */
char	*buf_subst_int(const char *s, const char *name, int value);

/*
 * Appends stream f to b up to its end, or until b holds more than max
 * bytes (the caller tells by b->len > max): a file read whole with a
 * bound, so that -r /dev/zero cannot eat the memory.  0, or -1 on a read
 * error (errno set).
 */
int	 buf_read_stream(struct buf *, FILE *f, size_t max);

/*
 * Writes data[0..len) to path, created with mode or truncated: a small
 * result file (stats, a ready marker, a finding).  0, or -1 with *cause
 * naming the path.
 */
int	 buf_write_file(const char *path, const void *data, size_t len,
	    int mode, char **cause);

struct span span_from_str(const char *);
int	 span_eq(struct span, struct span);
int	 span_eq_str(struct span, const char *);
/* ASCII case-insensitive comparison. */
int	 span_caseeq(struct span, struct span);
int	 span_caseeq_str(struct span, const char *);
/* Removes leading and trailing spaces and tabs. */
struct span span_trim(struct span);
char	*span_dup(struct span);

#endif
