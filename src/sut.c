/*
 * sut.c -- the service under test of sut.h: fork and exec in a process
 * group of its own, readiness waits, reaping, stopping, its log.
 *
 * The child and decoy both put it in its own group (setpgid on both
 * sides), so a kill right after fork finds the group.  Stopping kills
 * the whole group: `sh -c` may leave the real server behind as the
 * shell's child.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "sock.h"
#include "sut.h"
#include "xmalloc.h"

#define SUT_TAIL_MAX	256	/* lines sut_print_tail() keeps */
#define SUT_LINE_MAX	1024

uint64_t
sut_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
sut_sleep_ms(unsigned ms)
{
	struct timespec	ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

void
sut_catch_signals(void (*handler)(int), struct sut_signals *saved)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &saved->old_int);
	sigaction(SIGTERM, &sa, &saved->old_term);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &saved->old_pipe);
}

void
sut_restore_signals(const struct sut_signals *saved)
{
	sigaction(SIGINT, &saved->old_int, NULL);
	sigaction(SIGTERM, &saved->old_term, NULL);
	sigaction(SIGPIPE, &saved->old_pipe, NULL);
}

void
sut_init(struct sut *s, const char *what)
{
	memset(s, 0, sizeof *s);
	s->what = what;
	s->pid = -1;
}

/* In the child: never returns. */
static void
sut_exec(const struct sut_spec *spec, int logfd)
{
	struct sigaction	sa;
	size_t			i;
	int			fd;

	setpgid(0, 0);
	if (spec->flags & SUT_PDEATHSIG)
		prctl(PR_SET_PDEATHSIG, SIGTERM);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);
	if (dup2(logfd, STDOUT_FILENO) == -1 ||
	    dup2(logfd, STDERR_FILENO) == -1)
		_exit(127);
	if ((fd = open("/dev/null", O_RDONLY)) != -1)
		dup2(fd, STDIN_FILENO);
	/* Symbolizing each report costs ~0.25 s a death; a crash
	 * signature does without (fuzz_crash_signature()). */
	if ((spec->flags & SUT_ASAN_QUICK) && getenv("ASAN_OPTIONS") == NULL)
		setenv("ASAN_OPTIONS", "symbolize=0", 1);
	for (i = 0; i < spec->nenv; i++)
		putenv(spec->env[i]);
	if (spec->unset != NULL)
		unsetenv(spec->unset);
	if (spec->dir != NULL && chdir(spec->dir) == -1) {
		fprintf(stderr, "%s: %s: %s\n", spec->prog, spec->dir,
		    strerror(errno));
		_exit(127);
	}
	if (spec->command != NULL) {
		execl("/bin/sh", "sh", "-c", spec->command, (char *)NULL);
		fprintf(stderr, "%s: exec /bin/sh: %s\n", spec->prog,
		    strerror(errno));
	} else {
		execv(spec->exe, spec->argv);
		fprintf(stderr, "%s: exec %s: %s\n", spec->prog, spec->exe,
		    strerror(errno));
	}
	_exit(127);
}

int
sut_start(struct sut *s, const struct sut_spec *spec, char **cause)
{
	pid_t	pid;
	int	fd, mode;

	mode = O_WRONLY | O_CREAT | O_CLOEXEC |
	    ((spec->flags & SUT_LOG_APPEND) ? O_APPEND : O_TRUNC);
	if ((fd = open(s->log, mode, spec->log_mode)) == -1) {
		*cause = xasprintf("%s: %s", s->log, strerror(errno));
		return -1;
	}
	fflush(NULL);
	if ((pid = fork()) == -1) {
		*cause = xasprintf("fork: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (pid == 0)
		sut_exec(spec, fd);
	close(fd);
	/* Both sides set the group so that a kill right away finds it. */
	setpgid(pid, pid);
	s->pid = pid;
	s->status = 0;
	s->reaped = 0;
	s->kill_group = (spec->flags & SUT_KILL_GROUP) != 0;
	return 0;
}

int
sut_gone(struct sut *s)
{
	pid_t	p;

	if (s->pid == -1 || s->reaped)
		return 1;
	while ((p = waitpid(s->pid, &s->status, WNOHANG)) == -1 &&
	    errno == EINTR)
		;
	if (p == s->pid || (p == -1 && errno == ECHILD)) {
		s->reaped = 1;
		if (s->kill_group)
			kill(-s->pid, SIGKILL);
		return 1;
	}
	return 0;
}

void
sut_stop(struct sut *s, unsigned wait_ms)
{
	uint64_t	deadline;

	if (s->pid == -1)
		return;
	if (!sut_gone(s)) {
		kill(-s->pid, SIGTERM);
		deadline = sut_now_ms() + wait_ms;
		while (!sut_gone(s) && sut_now_ms() < deadline)
			sut_sleep_ms(10);
		if (!sut_gone(s)) {
			kill(-s->pid, SIGKILL);
			while (waitpid(s->pid, &s->status, 0) == -1 &&
			    errno == EINTR)
				;
			s->reaped = 1;
		}
	}
	/* Whatever the shell left behind in the group goes too. */
	kill(-s->pid, SIGKILL);
	s->pid = -1;
}

enum sut_wait
sut_wait(struct sut *s, sut_ready_cb ready, void *arg, uint64_t timeout_ms,
    unsigned poll_ms, volatile int *stop)
{
	uint64_t	deadline = sut_now_ms() + timeout_ms;
	int		r;

	for (;;) {
		if (stop != NULL && *stop)
			return SUT_STOPPED;
		if ((r = ready(arg)) == 1)
			return SUT_READY;
		if (r == -1)
			return SUT_FAILED;
		if (s != NULL && s->pid != -1 && sut_gone(s))
			return SUT_GONE;
		if (sut_now_ms() >= deadline)
			return SUT_TIMEOUT;
		sut_sleep_ms(poll_ms);
	}
}

void
sut_describe_exit(const struct sut *s, struct buf *b)
{
	if (!s->reaped)
		buf_printf(b, "is still running");
	else if (WIFEXITED(s->status))
		buf_printf(b, "exited with status %d", WEXITSTATUS(s->status));
	else if (WIFSIGNALED(s->status))
		buf_printf(b, "was killed by signal %d", WTERMSIG(s->status));
	else
		buf_printf(b, "stopped");
}

void
sut_print_tail(const struct sut *s, FILE *fp, size_t nlines)
{
	char	*lines[SUT_TAIL_MAX];
	char	 line[SUT_LINE_MAX];
	size_t	 n = 0, i;
	FILE	*f;

	if (nlines > SUT_TAIL_MAX)
		nlines = SUT_TAIL_MAX;
	if (nlines == 0 || s->log == NULL || (f = fopen(s->log, "r")) == NULL)
		return;
	memset(lines, 0, sizeof lines);
	while (fgets(line, sizeof line, f) != NULL) {
		free(lines[n % nlines]);
		lines[n % nlines] = xstrdup(line);
		n++;
	}
	fclose(f);
	if (n == 0) {
		fprintf(fp, "  (the %s printed nothing)\n", s->what);
		return;
	}
	fprintf(fp, "  last lines of the %s's output:\n", s->what);
	for (i = n > nlines ? n - nlines : 0; i < n; i++) {
		fprintf(fp, "  | %s", lines[i % nlines]);
		if (strchr(lines[i % nlines], '\n') == NULL)
			fputc('\n', fp);
	}
	for (i = 0; i < nlines; i++)
		free(lines[i]);
}

char *
sut_log_new(struct sut *s, size_t *len)
{
	struct buf	b;
	char		chunk[8192];
	ssize_t		n;
	int		fd;

	buf_init(&b);
	buf_append(&b, "", 0);
	if ((fd = open(s->log, O_RDONLY | O_CLOEXEC)) != -1) {
		if (lseek(fd, s->log_off, SEEK_SET) != -1) {
			while ((n = read(fd, chunk, sizeof chunk)) > 0) {
				buf_append(&b, chunk, (size_t)n);
				s->log_off += n;
			}
		}
		close(fd);
	}
	buf_reserve(&b, 1);
	return buf_detach(&b, len);
}

void
sut_log_skip(struct sut *s)
{
	struct stat	st;

	if (stat(s->log, &st) == 0)
		s->log_off = st.st_size;
}

int
sut_log_has_report(const struct sut *s)
{
	struct stat	st;
	char		buf[4096];
	ssize_t		n;
	int		fd, found = 0;
	off_t		off;

	if (stat(s->log, &st) == -1 || st.st_size <= s->log_off)
		return 0;
	if ((fd = open(s->log, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	off = s->log_off;
	while (!found && (n = pread(fd, buf, sizeof buf - 1, off)) > 0) {
		buf[n] = '\0';
		found = memmem(buf, (size_t)n, "ERROR: AddressSanitizer",
		    23) != NULL || memmem(buf, (size_t)n, "runtime error:",
		    14) != NULL || memmem(buf, (size_t)n, "Sanitizer:",
		    10) != NULL;
		/* Overlap so a marker across two reads is seen. */
		off += n > 64 ? n - 64 : n;
		if (n < (ssize_t)sizeof buf - 1)
			break;
	}
	close(fd);
	return found;
}

int
sut_free_port(char **cause)
{
	struct sock_addr	a;
	char			*why = NULL;
	int			fd, port;

	if (sock_parse_addr("127.0.0.1:0", &a, &why) == -1 ||
	    (fd = sock_listen(&a, 0, &why)) == -1) {
		*cause = xasprintf("picking a free port: %s", why);
		free(why);
		return -1;
	}
	if (sock_local_addr(fd, &a) == -1) {
		*cause = xasprintf("picking a free port: %s", strerror(errno));
		close(fd);
		return -1;
	}
	port = sock_addr_port(&a);
	close(fd);
	return port;
}

int
sut_port_open(const struct sock_addr *addr, int timeout_ms)
{
	struct pollfd	pfd;
	int		fd, err = 0;
	socklen_t	slen = sizeof err;

	fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return 0;
	if (connect(fd, (const struct sockaddr *)&addr->ss, addr->len) == 0) {
		close(fd);
		return 1;
	}
	if (errno != EINPROGRESS) {
		close(fd);
		return 0;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET,
	    SO_ERROR, &err, &slen) == -1 || err != 0) {
		close(fd);
		return 0;
	}
	close(fd);
	return 1;
}
