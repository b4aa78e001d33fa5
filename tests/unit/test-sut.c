/*
 * test-sut.c -- the service under test (sut.h) with real children of
 * /bin/sh: placeholders, free ports, start with env and directory, exit
 * statuses, readiness waits (ready, gone, timeout, probe failure, stop),
 * stopping a group, the leader's exit ending its group, the log (new
 * bytes, sanitizer reports, the tail).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "sock.h"
#include "sut.h"
#include "unit.h"
#include "xmalloc.h"

static char	*tmpdir;

static char *
tmp_path(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

static char *
read_all(const char *path)
{
	char	buf[4096];
	size_t	n;
	FILE	*f;

	if ((f = fopen(path, "r")) == NULL)
		return xstrdup("");
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	return xstrdup(buf);
}

static void
start_sh(struct sut *s, const char *cmd, int flags)
{
	struct sut_spec	 spec;
	char		*cause = NULL;

	memset(&spec, 0, sizeof spec);
	spec.command = cmd;
	spec.prog = "test-sut";
	spec.log_mode = 0600;
	spec.flags = flags;
	ASSERT_EQ(sut_start(s, &spec, &cause), 0);
	if (cause != NULL) {
		UNIT_FAIL("sut_start: %s", cause);
		free(cause);
	}
}

static void
test_subst(void)
{
	char	*s;

	s = buf_subst_int("srv --port {port} --x {port}{", "port", 8080);
	ASSERT_STR_EQ(s, "srv --port 8080 --x 8080{");
	free(s);
	s = buf_subst_int("{service_port}/{port}", "service_port", 1);
	ASSERT_STR_EQ(s, "1/{port}");
	free(s);
	ASSERT(buf_subst_int(NULL, "port", 1) == NULL);
}

static void
test_ports(void)
{
	struct sock_addr	 a;
	char			*cause = NULL;
	int			 port, fd;

	port = sut_free_port(&cause);
	ASSERT(port > 0 && port < 65536);
	ASSERT(sock_parse_addr("127.0.0.1:0", &a, &cause) == 0);
	fd = sock_listen(&a, 0, &cause);
	ASSERT(fd != -1);
	ASSERT(sock_local_addr(fd, &a) == 0);
	ASSERT_EQ(sut_port_open(&a, 200), 1);
	close(fd);
	ASSERT_EQ(sut_port_open(&a, 200), 0);
	free(cause);
}

static void
test_exit_env_dir(void)
{
	struct sut_spec	 spec;
	struct sut	 s;
	struct buf	 b;
	char		*env[1] = { (char *)"SUT_TEST_VAR=hello" };
	char		*cause = NULL, *out;

	sut_init(&s, "service");
	ASSERT_EQ(s.pid, -1);
	ASSERT_EQ(sut_gone(&s), 1);
	s.log = tmp_path("exit.log");
	memset(&spec, 0, sizeof spec);
	spec.command = "echo \"$SUT_TEST_VAR in $(pwd)\"; exit 3";
	spec.dir = "/";
	spec.env = env;
	spec.nenv = 1;
	spec.prog = "test-sut";
	spec.log_mode = 0600;
	ASSERT_EQ(sut_start(&s, &spec, &cause), 0);
	while (!sut_gone(&s))
		sut_sleep_ms(5);
	buf_init(&b);
	sut_describe_exit(&s, &b);
	buf_append_byte(&b, '\0');
	ASSERT_STR_EQ(b.data, "exited with status 3");
	buf_free(&b);
	out = sut_log_new(&s, NULL);
	ASSERT_STR_EQ(out, "hello in /\n");
	free(out);
	out = sut_log_new(&s, NULL);
	ASSERT_STR_EQ(out, "");
	free(out);
	ASSERT(getenv("SUT_TEST_VAR") == NULL);
	sut_stop(&s, 100);
	ASSERT_EQ(s.pid, -1);

	/* A directory that is not there: status 127 and the reason. */
	spec.dir = "/nonexistent-sut-dir";
	ASSERT_EQ(sut_start(&s, &spec, &cause), 0);
	while (!sut_gone(&s))
		sut_sleep_ms(5);
	ASSERT(WIFEXITED(s.status) && WEXITSTATUS(s.status) == 127);
	out = read_all(s.log);
	ASSERT(strstr(out, "test-sut: /nonexistent-sut-dir: ") != NULL);
	free(out);
	sut_stop(&s, 100);

	/* A log that cannot be opened. */
	free(s.log);
	s.log = xstrdup("/nonexistent-sut-dir/x.log");
	ASSERT_EQ(sut_start(&s, &spec, &cause), -1);
	ASSERT(cause != NULL && strstr(cause, "x.log") != NULL);
	free(cause);
	free(s.log);
}

static int	probe_calls;

static int
probe_third(void *arg)
{
	(void)arg;
	return ++probe_calls >= 3;
}

static int
probe_never(void *arg)
{
	(void)arg;
	return 0;
}

static int
probe_fail(void *arg)
{
	(void)arg;
	return -1;
}

static void
test_wait_stop(void)
{
	struct sut	 s;
	struct buf	 b;
	volatile int	 stop = 1;

	sut_init(&s, "service");
	s.log = tmp_path("wait.log");
	start_sh(&s, "exec sleep 30", 0);
	probe_calls = 0;
	ASSERT_EQ(sut_wait(&s, probe_third, NULL, 5000, 1, NULL), SUT_READY);
	ASSERT_EQ(probe_calls, 3);
	ASSERT_EQ(sut_wait(&s, probe_never, NULL, 30, 5, NULL), SUT_TIMEOUT);
	ASSERT_EQ(sut_wait(&s, probe_fail, NULL, 30, 5, NULL), SUT_FAILED);
	ASSERT_EQ(sut_wait(&s, probe_never, NULL, 30, 5, &stop),
	    SUT_STOPPED);
	/* No child of ours: never gone. */
	ASSERT_EQ(sut_wait(NULL, probe_never, NULL, 20, 5, NULL),
	    SUT_TIMEOUT);
	ASSERT_EQ(sut_gone(&s), 0);
	sut_stop(&s, 2000);
	ASSERT_EQ(s.pid, -1);
	ASSERT(s.reaped && WIFSIGNALED(s.status) &&
	    WTERMSIG(s.status) == SIGTERM);
	buf_init(&b);
	sut_describe_exit(&s, &b);
	buf_append_byte(&b, '\0');
	ASSERT_STR_EQ(b.data, "was killed by signal 15");
	buf_free(&b);

	/* It dies while decoy waits for it. */
	start_sh(&s, "exit 0", 0);
	ASSERT_EQ(sut_wait(&s, probe_never, NULL, 5000, 2, NULL), SUT_GONE);
	sut_stop(&s, 100);
	free(s.log);
}

/* SIGTERM ignored: SIGKILL after the wait. */
static void
test_stop_kill(void)
{
	struct sut	s;

	sut_init(&s, "service");
	s.log = tmp_path("kill.log");
	start_sh(&s, "trap '' TERM; echo up; while :; do sleep 0.05; done", 0);
	while (s.log_off == 0) {
		free(sut_log_new(&s, NULL));
		sut_sleep_ms(5);
	}
	sut_stop(&s, 100);
	ASSERT_EQ(s.pid, -1);
	ASSERT(WIFSIGNALED(s.status) && WTERMSIG(s.status) == SIGKILL);
	free(s.log);
}

/* What the shell leaves behind in the group goes with it. */
static void
test_group(int flags, int stop)
{
	struct sut	 s;
	char		*pidfile, *cmd, *text;
	pid_t		 bg;
	int		 i;

	sut_init(&s, "service");
	s.log = tmp_path("group.log");
	pidfile = tmp_path("bg.pid");
	unlink(pidfile);
	cmd = xasprintf("sleep 30 & echo $! > %s.tmp; mv %s.tmp %s; %s",
	    pidfile, pidfile, pidfile, stop ? "wait" : "exit 0");
	start_sh(&s, cmd, flags);
	for (i = 0; i < 1000 && access(pidfile, R_OK) == -1; i++)
		sut_sleep_ms(5);
	text = read_all(pidfile);
	bg = (pid_t)strtol(text, NULL, 10);
	free(text);
	ASSERT(bg > 0);
	if (stop)
		sut_stop(&s, 2000);
	else {
		while (!sut_gone(&s))
			sut_sleep_ms(5);
	}
	/* The background sleep was in the group; it is gone (a zombie
	 * of init at most) once killed. */
	for (i = 0; i < 400 && kill(bg, 0) == 0; i++) {
		char	*stat = xasprintf("/proc/%d/stat", (int)bg);

		text = read_all(stat);
		free(stat);
		if (strstr(text, ") Z ") != NULL) {
			free(text);
			break;
		}
		free(text);
		sut_sleep_ms(5);
	}
	ASSERT(kill(bg, 0) == -1 || i < 400);
	if (bg > 0)
		kill(bg, SIGKILL);
	sut_stop(&s, 100);
	free(cmd);
	free(pidfile);
	free(s.log);
}

static void
test_log(void)
{
	struct sut	 s;
	char		*text, *tail;
	FILE		*fp;
	int		 i;
	struct buf	 b;

	sut_init(&s, "responder");
	s.log = tmp_path("log.log");
	buf_init(&b);
	for (i = 1; i <= 30; i++)
		buf_printf(&b, "line %d\n", i);
	ASSERT(buf_write_file(s.log, b.data, b.len, 0600, NULL) == 0);
	buf_free(&b);
	sut_log_skip(&s);
	ASSERT_EQ(sut_log_has_report(&s), 0);
	fp = fopen(s.log, "a");
	fputs("==1==ERROR: AddressSanitizer: heap-use-after-free\n", fp);
	fclose(fp);
	ASSERT_EQ(sut_log_has_report(&s), 1);
	ASSERT_EQ(sut_log_has_report(&s), 1);	/* nothing consumed */
	text = sut_log_new(&s, NULL);
	ASSERT(strncmp(text, "==1==ERROR: AddressSanitizer", 28) == 0);
	free(text);
	ASSERT_EQ(sut_log_has_report(&s), 0);

	tail = tmp_path("tail.txt");
	fp = fopen(tail, "w");
	sut_print_tail(&s, fp, 2);
	fclose(fp);
	text = read_all(tail);
	ASSERT_STR_EQ(text, "  last lines of the responder's output:\n"
	    "  | line 30\n  | ==1==ERROR: AddressSanitizer: "
	    "heap-use-after-free\n");
	free(text);
	fp = fopen(s.log, "w");
	fclose(fp);
	fp = fopen(tail, "w");
	sut_print_tail(&s, fp, 20);
	fclose(fp);
	text = read_all(tail);
	ASSERT_STR_EQ(text, "  (the responder printed nothing)\n");
	free(text);
	unlink(tail);
	free(tail);
	free(s.log);
}

static volatile int	caught;

static void
on_signal(int sig)
{
	caught = sig;
}

/* SIGTERM calls the handler, SIGPIPE is ignored; both as they were
 * after. */
static void
test_signals(void)
{
	struct sut_signals	saved;
	struct sigaction	now, term0, pipe0;

	sigaction(SIGTERM, NULL, &term0);
	sigaction(SIGPIPE, NULL, &pipe0);
	sut_catch_signals(on_signal, &saved);
	caught = 0;
	raise(SIGTERM);
	ASSERT_EQ(caught, SIGTERM);
	raise(SIGPIPE);				/* would end the test */
	sigaction(SIGPIPE, NULL, &now);
	ASSERT(now.sa_handler == SIG_IGN);
	sut_restore_signals(&saved);
	sigaction(SIGTERM, NULL, &now);
	ASSERT(now.sa_handler == term0.sa_handler);
	sigaction(SIGPIPE, NULL, &now);
	ASSERT(now.sa_handler == pipe0.sa_handler);
}

int
main(void)
{
	char	tmpl[] = "/tmp/test-sut.XXXXXX";
	char	*rm;

	if ((tmpdir = mkdtemp(tmpl)) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_subst();
	test_ports();
	test_exit_env_dir();
	test_wait_stop();
	test_stop_kill();
	test_group(0, 1);
	test_group(SUT_KILL_GROUP, 0);
	test_log();
	test_signals();
	rm = xasprintf("rm -rf '%s'", tmpdir);
	if (system(rm) != 0)
		fprintf(stderr, "warning: %s left behind\n", tmpdir);
	free(rm);
	UNIT_DONE();
}
