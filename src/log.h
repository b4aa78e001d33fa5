/*
 * log.h -- leveled logging to stderr (or a file) and fatal exits.
 *
 * Every line carries a UTC timestamp, the program name and the level.
 * log_init() is called once at start-up; the functions are thread-safe
 * (one write(2) per line).  A message is one line whatever it holds:
 * bytes a peer or a file may have put there (a header name, a request
 * target) cannot forge lines or drive a terminal, as every control
 * character and every byte that is not part of valid UTF-8 is escaped
 * (\n, \r, \t stays a tab, otherwise \xNN; C1 controls too).
 */
#ifndef DECOY_LOG_H
#define DECOY_LOG_H

#include <stdarg.h>
#include <stdint.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Sets the program name shown in each line and the most verbose level kept. */
void	log_init(const char *progname, enum log_level level);
/* Sends log lines to fd instead of stderr (the fd stays owned by the caller). */
void	log_set_fd(int fd);
enum log_level log_get_level(void);

void	log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Rate limiting for a condition that repeats (a full disk, EMFILE): one
 * line per interval with a count, not one per occurrence.
 * log_every_count() counts n occurrences at now_ns and returns how many
 * the caller should report in a line it logs now -- those counted since
 * the last line, these included -- at the first occurrence and once
 * interval_ns has passed since the last line; otherwise 0 (stay quiet:
 * they are reported with the next line).  The struct starts zeroed and is
 * the caller's (one thread).
 */
struct log_every {
	uint64_t	last_ns;	/* when a line last went out */
	uint64_t	pending;	/* counted since, not yet reported */
	uint64_t	total;
	int		logged;		/* a line went out */
};

uint64_t log_every_count(struct log_every *, uint64_t n, uint64_t now_ns,
	    uint64_t interval_ns);

/*
 * A status line on a terminal (a progress line): log_status(s) draws s
 * on stderr in place of the previous one; every log line written to
 * stderr meanwhile first clears it and draws it again after itself, so
 * the two never collide.  log_status_end(keep) ends it: keep leaves the
 * last one on its own line, else it is cleared.  Callers draw it only
 * when stderr is a terminal.
 */
void	log_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_status_end(int keep);

/* Logs and exits with status 1; fatal() appends strerror(errno). Only for
 * start-up failures and broken invariants, never for a bad peer. */
void	fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
