/*
 * buf.c -- growable byte buffers and span helpers.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "xmalloc.h"

void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->cap > 0)
		b->data[0] = '\0';
}

void
buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void
buf_reserve(struct buf *b, size_t n)
{
	size_t	need, cap;

	need = b->len + n + 1;		/* room for the NUL */
	if (need <= b->cap)
		return;
	cap = b->cap < 64 ? 64 : b->cap;
	while (cap < need)
		cap = cap * 2 < cap ? need : cap * 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void
buf_append(struct buf *b, const void *p, size_t n)
{
	buf_reserve(b, n);
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
buf_append_str(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void
buf_append_field(struct buf *b, const char *prefix, const char *s,
    buf_quote_cb quote, const char *suffix)
{
	if (s == NULL)
		return;
	buf_append_str(b, prefix);
	quote(b, s);
	buf_append_str(b, suffix);
}

void
buf_append_span(struct buf *b, struct span s)
{
	buf_append(b, s.p, s.len);
}

void
buf_append_byte(struct buf *b, char c)
{
	buf_reserve(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

void
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list	ap2;
	int	n;

	va_copy(ap2, ap);
	buf_reserve(b, 64);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	if (n >= 0 && (size_t)n >= b->cap - b->len) {
		buf_reserve(b, (size_t)n);
		n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap2);
	}
	va_end(ap2);
	if (n > 0)
		b->len += (size_t)n;
}

void
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

char *
buf_put_u64(char *p, uint64_t v, size_t width)
{
	char	tmp[20];
	size_t	n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (; width > n; width--)
		*p++ = '0';
	while (n > 0)
		*p++ = tmp[--n];
	return p;
}

void
buf_append_u64(struct buf *b, uint64_t v)
{
	char	d[20];

	buf_append(b, d, (size_t)(buf_put_u64(d, v, 0) - d));
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

char *
buf_detach(struct buf *b, size_t *len)
{
	char	*p;

	if (b->data == NULL) {
		buf_reserve(b, 0);
		b->data[0] = '\0';
	}
	p = b->data;
	if (len != NULL)
		*len = b->len;
	buf_init(b);
	return p;
}

struct span
span_from_str(const char *s)
{
	return (struct span){ s, s == NULL ? 0 : strlen(s) };
}

int
span_eq(struct span a, struct span b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

int
span_eq_str(struct span a, const char *s)
{
	return span_eq(a, span_from_str(s));
}

int
span_caseeq(struct span a, struct span b)
{
	return a.len == b.len &&
	    (a.len == 0 || strncasecmp(a.p, b.p, a.len) == 0);
}

int
span_caseeq_str(struct span a, const char *s)
{
	return span_caseeq(a, span_from_str(s));
}

struct span
span_trim(struct span s)
{
	while (s.len > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) {
		s.p++;
		s.len--;
	}
	while (s.len > 0 && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
		s.len--;
	return s;
}

char *
span_dup(struct span s)
{
	return xstrndup(s.p == NULL ? "" : s.p, s.len);
}

int
buf_read_stream(struct buf *b, FILE *f, size_t max)
{
	size_t	n;

	do {
		buf_reserve(b, 64 * 1024);
		n = fread(b->data + b->len, 1, 64 * 1024, f);
		b->len += n;
		b->data[b->len] = '\0';
	} while (n > 0 && b->len <= max);
	return ferror(f) ? -1 : 0;
}

int
buf_write_file(const char *path, const void *data, size_t len, int mode,
    char **cause)
{
	const char	*p = data;
	ssize_t		 n;
	size_t		 off = 0;
	int		 fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    mode)) == -1) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	while (off < len) {
		if ((n = write(fd, p + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			*cause = xasprintf("%s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		off += (size_t)n;
	}
	if (close(fd) == -1) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

char *
buf_subst_int(const char *s, const char *name, int value)
{
	struct buf	 b;
	char		 pat[64];
	const char	*hit;
	size_t		 plen;

	if (s == NULL)
		return NULL;
	plen = (size_t)snprintf(pat, sizeof pat, "{%s}", name);
	buf_init(&b);
	while ((hit = strstr(s, pat)) != NULL) {
		buf_append(&b, s, (size_t)(hit - s));
		buf_printf(&b, "%d", value);
		s = hit + plen;
	}
	buf_append_str(&b, s);
	return buf_detach(&b, NULL);
}
