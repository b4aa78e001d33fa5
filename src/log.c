/*
 * log.c -- leveled logging.  Each line is formatted into a stack buffer and
 * written with one write(2), so lines from several worker threads never
 * interleave.
 */
#include "config.h"

#include <sys/uio.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char	*log_progname = "decoy";
static enum log_level	 log_level = LOG_LEVEL_INFO;
static int		 log_fd = STDERR_FILENO;

static const char *const log_names[] = { "error", "warn", "info", "debug" };

/* The status line (log_status); the lock keeps a log line and a redraw
 * from interleaving. */
static pthread_mutex_t	 log_status_lock = PTHREAD_MUTEX_INITIALIZER;
static char		 log_status_text[512];
static int		 log_status_on;

#define LOG_CLEAR	"\r\033[K"

void
log_status(const char *fmt, ...)
{
	char	out[sizeof log_status_text + 8];
	va_list	ap;
	int	n;

	pthread_mutex_lock(&log_status_lock);
	va_start(ap, fmt);
	n = vsnprintf(log_status_text, sizeof log_status_text, fmt, ap);
	va_end(ap);
	if (n < 0)
		log_status_text[0] = '\0';
	log_status_on = 1;
	n = snprintf(out, sizeof out, LOG_CLEAR "%s", log_status_text);
	if (n > 0 && write(STDERR_FILENO, out, (size_t)n < sizeof out ?
	    (size_t)n : sizeof out - 1) == -1)
		log_status_on = 1;	/* best effort */
	pthread_mutex_unlock(&log_status_lock);
}

void
log_status_end(int keep)
{
	pthread_mutex_lock(&log_status_lock);
	if (log_status_on && write(STDERR_FILENO, keep ? "\n" : LOG_CLEAR,
	    keep ? 1 : sizeof LOG_CLEAR - 1) == -1)
		log_status_on = 0;
	log_status_on = 0;
	log_status_text[0] = '\0';
	pthread_mutex_unlock(&log_status_lock);
}

void
log_init(const char *progname, enum log_level level)
{
	log_progname = progname;
	log_level = level;
}

void
log_set_fd(int fd)
{
	log_fd = fd;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

/*
 * Copies msg[0..len) to out (room for 4 bytes per input byte), escaping
 * what must not reach a log line raw: C0 controls and DEL (\n, \r, \xNN;
 * a tab stays), bytes that do not form valid UTF-8, and the C1 controls
 * U+0080..U+009F (as \xc2\xNN), which some terminals obey.  Returns the
 * length written.
 */
static size_t
log_escape(const unsigned char *msg, size_t len, char *out)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 i = 0, o = 0, n, k;
	unsigned int		 c, cp, min;

	while (i < len) {
		c = msg[i];
		if (c >= 0x20 && c < 0x7f) {
			out[o++] = (char)c;
			i++;
			continue;
		}
		n = 0;
		if (c >= 0xc2 && c <= 0xdf) {
			n = 2; cp = c & 0x1f; min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 3; cp = c & 0x0f; min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 4; cp = c & 0x07; min = 0x10000;
		} else
			cp = min = 0;
		for (k = 1; k < n; k++) {
			if (i + k >= len || (msg[i + k] & 0xc0) != 0x80) {
				n = 0;
				break;
			}
			cp = (cp << 6) | (msg[i + k] & 0x3f);
		}
		if (n != 0 && cp >= min && cp <= 0x10ffff &&
		    !(cp >= 0xd800 && cp <= 0xdfff) && !(cp >= 0x80 &&
		    cp <= 0x9f)) {
			memcpy(out + o, msg + i, n);
			o += n;
			i += n;
			continue;
		}
		if (c == '\t') {
			out[o++] = '\t';
		} else if (c == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (c == '\r') {
			out[o++] = '\\';
			out[o++] = 'r';
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
		i++;
	}
	return o;
}

/* Appends s to the string buf[0..len) of size bytes, as far as it fits;
 * returns the new length. */
static size_t
log_append(char *buf, size_t size, size_t len, const char *s)
{
	size_t	n = strlen(s);

	if (n > size - 1 - len)
		n = size - 1 - len;
	memcpy(buf + len, s, n);
	buf[len + n] = '\0';
	return len + n;
}

static void
log_vwrite(enum log_level level, const char *suffix, const char *fmt,
    va_list ap)
{
	char		 msg[2048], line[128 + 4 * sizeof msg];
	struct timespec	 ts;
	struct tm	 tm;
	size_t		 off, len;
	int		 n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	off = strftime(line, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line + off, 128 - off, ".%03ldZ %s %s: ",
	    ts.tv_nsec / 1000000, log_progname, log_names[level]);
	if (n > 0)
		off += (size_t)n < 128 - off ? (size_t)n : 0;
	n = vsnprintf(msg, sizeof msg, fmt, ap);
	len = n < 0 ? 0 : (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1;
	if (suffix != NULL) {
		len = log_append(msg, sizeof msg, len, ": ");
		len = log_append(msg, sizeof msg, len, suffix);
	}
	off += log_escape((const unsigned char *)msg, len, line + off);
	line[off++] = '\n';
	if (log_fd == STDERR_FILENO) {
		struct iovec	iov[3];

		/* Under a status line: clear it, the line, draw it again;
		 * one writev, so the three stay together. */
		pthread_mutex_lock(&log_status_lock);
		if (log_status_on) {
			iov[0].iov_base = (void *)LOG_CLEAR;
			iov[0].iov_len = sizeof LOG_CLEAR - 1;
			iov[1].iov_base = line;
			iov[1].iov_len = off;
			iov[2].iov_base = log_status_text;
			iov[2].iov_len = strlen(log_status_text);
			if (writev(STDERR_FILENO, iov, 3) == -1)
				off = 0;
			pthread_mutex_unlock(&log_status_lock);
			return;
		}
		pthread_mutex_unlock(&log_status_lock);
	}
	/* Best effort: a log line that cannot be written is dropped. */
	if (write(log_fd, line, off) == -1)
		return;
}

#define LOG_FN(fn, lvl)							\
void									\
fn(const char *fmt, ...)						\
{									\
	va_list	ap;							\
									\
	if (log_level < (lvl))						\
		return;							\
	va_start(ap, fmt);						\
	log_vwrite((lvl), NULL, fmt, ap);				\
	va_end(ap);							\
}

LOG_FN(log_error, LOG_LEVEL_ERROR)
LOG_FN(log_warn, LOG_LEVEL_WARN)
LOG_FN(log_info, LOG_LEVEL_INFO)
LOG_FN(log_debug, LOG_LEVEL_DEBUG)

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	char	 err[256];

	strerror_r(errno, err, sizeof err);
	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, err, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERROR, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

uint64_t
log_every_count(struct log_every *e, uint64_t n, uint64_t now_ns,
    uint64_t interval_ns)
{
	uint64_t	due;

	e->pending += n;
	e->total += n;
	if (e->logged && now_ns - e->last_ns < interval_ns)
		return 0;
	e->logged = 1;
	e->last_ns = now_ns;
	due = e->pending;
	e->pending = 0;
	return due;
}
