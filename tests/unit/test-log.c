/*
 * test-log.c -- log lines: whatever a message holds (a header name or a
 * request target from a peer or a snapshot), each is one line with no
 * control character and no invalid UTF-8 left raw; and the rate limiter
 * that turns a repeated condition into one line per interval.
 */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "unit.h"

/* Logs "%s" of msg at warn and returns the message part of the line
 * (after "warn: "), newline included, in out. */
static void
logged(const char *msg, char *out, size_t outlen)
{
	char	 path[] = "/tmp/test-log.XXXXXX", line[16384], *p;
	ssize_t	 n;
	int	 fd;

	out[0] = '\0';
	if ((fd = mkstemp(path)) == -1)
		return;
	unlink(path);
	log_set_fd(fd);
	log_warn("%s", msg);
	log_set_fd(STDERR_FILENO);
	n = pread(fd, line, sizeof line - 1, 0);
	close(fd);
	if (n <= 0)
		return;
	line[n] = '\0';
	if ((p = strstr(line, "warn: ")) == NULL)
		return;
	snprintf(out, outlen, "%s", p + 6);
}

static void
test_escape(void)
{
	char	got[16384], big[3000];

	logged("plain text, tab\there", got, sizeof got);
	ASSERT_STR_EQ(got, "plain text, tab\there\n");
	/* A header name with an escape sequence and a forged line. */
	logged("response header \"X\x1b[31mRed\r\n2026-01-01T00:00:00.000Z "
	    "decoy error: forged\" dropped", got, sizeof got);
	ASSERT_STR_EQ(got, "response header \"X\\x1b[31mRed\\r\\n"
	    "2026-01-01T00:00:00.000Z decoy error: forged\" dropped\n");
	logged("del \x7f nul-less \x01", got, sizeof got);
	ASSERT_STR_EQ(got, "del \\x7f nul-less \\x01\n");
	/* Valid UTF-8 stays; C1 controls, overlongs, surrogates and stray
	 * bytes do not. */
	logged("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", got, sizeof got);
	ASSERT_STR_EQ(got, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n");
	logged("csi \xc2\x9b" "2J", got, sizeof got);
	ASSERT_STR_EQ(got, "csi \\xc2\\x9b2J\n");
	logged("raw \x9b" "2J", got, sizeof got);
	ASSERT_STR_EQ(got, "raw \\x9b2J\n");
	logged("overlong \xc0\xaf, surrogate \xed\xa0\x80, cut \xe2\x82",
	    got, sizeof got);
	ASSERT_STR_EQ(got, "overlong \\xc0\\xaf, surrogate \\xed\\xa0\\x80, "
	    "cut \\xe2\\x82\n");
	/* A long message of control bytes: one line, escaped, bounded. */
	memset(big, '\n', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	logged(big, got, sizeof got);
	ASSERT(strchr(got, '\n') == got + strlen(got) - 1);
	ASSERT(strlen(got) > 2000 && strlen(got) < 2 * 2048 + 2);
}

static void
test_every(void)
{
	struct log_every	e;
	const uint64_t		s = 1000000000ULL;

	memset(&e, 0, sizeof e);
	/* The first occurrence is due at once, even at time 0. */
	ASSERT_EQ(log_every_count(&e, 1, 0, 5 * s), 1);
	ASSERT_EQ(log_every_count(&e, 3, 1 * s, 5 * s), 0);
	ASSERT_EQ(log_every_count(&e, 2, 4 * s, 5 * s), 0);
	/* An interval after the last line: the five since, and these. */
	ASSERT_EQ(log_every_count(&e, 1, 5 * s, 5 * s), 6);
	ASSERT_EQ(log_every_count(&e, 1, 6 * s, 5 * s), 0);
	ASSERT_EQ(e.pending, 1);
	ASSERT_EQ(e.total, 8);
	ASSERT_EQ(log_every_count(&e, 0, 11 * s, 5 * s), 1);
}

/* A log line under a status line clears it first and draws it again
 * after itself; the end leaves the last one on its own line. */
static void
test_status(void)
{
	char	 path[] = "/tmp/test-log.XXXXXX", out[4096], *p;
	ssize_t	 n;
	int	 fd, saved;

	if ((fd = mkstemp(path)) == -1)
		return;
	unlink(path);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	log_status("[%d%%] working", 40);
	log_warn("a line");
	log_status("[%d%%] working", 80);
	log_status_end(1);
	log_warn("after");
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, out, sizeof out - 1, 0);
	close(fd);
	ASSERT(n > 0);
	if (n <= 0)
		return;
	out[n] = '\0';
	ASSERT(strncmp(out, "\r\033[K[40%] working\r\033[K", 21) == 0);
	p = strstr(out, "warn: a line\n[40%] working\r\033[K[80%] working\n");
	ASSERT(p != NULL);
	/* After the end, a log line is plain. */
	p = p != NULL ? strstr(p, "working\n") + 8 : NULL;
	ASSERT(p != NULL && strncmp(p, "\r", 1) != 0 &&
	    strstr(p, "warn: after\n") != NULL && strchr(p, '\r') == NULL);
}

int
main(void)
{
	log_init("decoy", LOG_LEVEL_DEBUG);
	test_escape();
	test_every();
	test_status();
	UNIT_DONE();
}
