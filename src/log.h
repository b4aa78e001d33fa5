/*
 * log.h -- leveled logging to stderr (or a file) and fatal exits.
 *
 * Every line carries a UTC timestamp, the program name and the level.
 * log_init() is called once at start-up; the functions are thread-safe
 * (one write(2) per line).
 */
#ifndef DECOY_LOG_H
#define DECOY_LOG_H

#include <stdarg.h>

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

/* Logs and exits with status 1; fatal() appends strerror(errno). Only for
 * start-up failures and broken invariants, never for a bad peer. */
void	fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
