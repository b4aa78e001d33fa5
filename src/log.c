/*
 * log.c -- leveled logging.  Each line is formatted into a stack buffer and
 * written with one write(2), so lines from several worker threads never
 * interleave.
 */
#include "config.h"

#include <errno.h>
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

static void
log_vwrite(enum log_level level, const char *suffix, const char *fmt,
    va_list ap)
{
	char		 line[2048];
	struct timespec	 ts;
	struct tm	 tm;
	size_t		 off;
	int		 n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	off = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
	n = snprintf(line + off, sizeof line - off, ".%03ldZ %s %s: ",
	    ts.tv_nsec / 1000000, log_progname, log_names[level]);
	if (n > 0)
		off += (size_t)n < sizeof line - off ? (size_t)n : 0;
	n = vsnprintf(line + off, sizeof line - off, fmt, ap);
	if (n > 0)
		off = off + (size_t)n < sizeof line - 1 ? off + (size_t)n :
		    sizeof line - 2;
	if (suffix != NULL) {
		n = snprintf(line + off, sizeof line - off, ": %s", suffix);
		if (n > 0)
			off = off + (size_t)n < sizeof line - 1 ?
			    off + (size_t)n : sizeof line - 2;
	}
	line[off++] = '\n';
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
