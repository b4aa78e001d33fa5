/*
 * cmd-run.c -- `decoy run SCENARIO`: the whole loop from one file
 * (docs/design.md section 4).  It starts the responder (decoy itself,
 * `decoy respond`, as a child) with the scenario's rules, starts the
 * service under test (`sh -c COMMAND` in the scenario's directory, in its
 * own process group) and waits until it answers its ready path, drives
 * the load with the generator, fetches the faults the responder injected
 * from its admin API, checks the assertions, writes the reports and stops
 * everything it started -- also on SIGINT and SIGTERM.
 *
 * Ports.  `{responder_port}` in the service's command, URL and env values
 * becomes the responder's bound port (so the responder may listen on port
 * 0); `{service_port}` in the URL makes decoy pick a free port first (bind
 * port 0, close) and substitute it in the URL, the command and the env.
 *
 * Exit: 0 every assertion passed, 1 one failed, 2 bad input or a process
 * that could not start (the reason and the last lines of its output are
 * printed), 128+N when interrupted by signal N (reports still written).
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "buf.h"
#include "ca.h"
#include "cli.h"
#include "fuzz.h"
#include "gen.h"
#include "hist.h"
#include "json.h"
#include "log.h"
#include "report.h"
#include "rule.h"
#include "scenario.h"
#include "snap.h"
#include "sock.h"
#include "transform.h"
#include "xmalloc.h"

static int	cmd_run_exec(int, char **);

struct cmd_run_o {
	int	check;
	int	json;
	int	log_level;
};

static const struct opt cmd_run_opts[] = {
	{ "check", 'n', OPT_FLAG, NULL, "validate each scenario as the start "
	  "would,\nshort of starting anything: the file, its\nsnapshot "
	  "(parsed whole), rule and transforms\nfiles, listen address, url, "
	  "CA and report\npaths; exit 0 all valid, 2 not",
	  OPT_AT(struct cmd_run_o, check) },
	{ "json", 0, OPT_FLAG, NULL, "print the report (or, with --check, "
	  "the\nverdict) as JSON on stdout, one line per\nscenario",
	  OPT_AT(struct cmd_run_o, json) },
	CLI_OPTS_LOG(struct cmd_run_o),
	OPT_END_ROW,
};

const struct cmd_entry cmd_run_entry = {
	.name = "run",
	.args = "SCENARIO... [--check] [--json]",
	.summary = "run a scenario: responder, service, load, assertions, "
	    "reports",
	.opts = cmd_run_opts,
	.notes =
	    "Placeholders in service.url, service.command and service.env:\n"
	    "  {responder_port}          the port the responder bound (listen may\n"
	    "                            use port 0)\n"
	    "  {service_port}            a free port decoy picks when service.url\n"
	    "                            holds it\n"
	    "Several scenarios run (or are checked) one after the other.\n"
	    "Exit status: 0 all assertions passed, 1 one failed, 2 bad input or\n"
	    "a process that did not start (the worst over the files), 128+N\n"
	    "interrupted by signal N.\n",
	.exec = cmd_run_exec,
};

#define RUN_PORT_WAIT_MS	10000
#define RUN_STOP_WAIT_MS	5000
#define RUN_LOG_TAIL		20

static volatile int	run_stop;
static volatile int	run_signal;

/* One process decoy started. */
struct run_child {
	const char	*what;		/* "responder", "service" */
	pid_t		 pid;		/* -1: none; leads its group */
	char		*log;		/* its stdout and stderr */
	int		 status;	/* once reaped */
	int		 reaped;
};

struct run {
	const struct cmd_entry	*e;
	struct scenario		*sc;
	char			*tmp;		/* mkdtemp */
	int			 tty;
	struct run_child	 responder;
	struct run_child	 service;
	int			 responder_port;
	int			 admin_port;
	int			 service_port;
	char			*url;		/* placeholders substituted */
	char			*command;
	char			**env;
};

static void
run_on_signal(int sig)
{
	run_stop = 1;
	run_signal = sig;
}

static uint64_t
run_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
run_sleep_ms(unsigned ms)
{
	struct timespec	ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* A phase on the single progress line (terminal only). */
static void
run_progress(struct run *r, const char *msg)
{
	if (!r->tty)
		return;
	/* log.h's status line: a log line never lands in the middle. */
	if (msg == NULL)
		log_status_end(0);
	else
		log_status("decoy run: %s", msg);
}

/* Replaces every "{name}" in s by value. */
static char *
run_subst(const char *s, const char *name, int value)
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

static void
run_subst_all(struct run *r, const char *name, int value)
{
	char	*s;
	size_t	 i;

	s = run_subst(r->url, name, value);
	free(r->url);
	r->url = s;
	s = run_subst(r->command, name, value);
	free(r->command);
	r->command = s;
	for (i = 0; i < r->sc->nenv; i++) {
		s = run_subst(r->env[i], name, value);
		free(r->env[i]);
		r->env[i] = s;
	}
}

/* A free TCP port on 127.0.0.1 (bound to port 0, then released). */
static int
run_free_port(char **cause)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;
	int			fd, port;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		*cause = xasprintf("socket: %s", strerror(errno));
		return -1;
	}
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		*cause = xasprintf("picking a free port: %s", strerror(errno));
		close(fd);
		return -1;
	}
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/*
 * Splits "http[s]://HOST[:PORT][/...]" into host and port (*tls 1 for
 * https); path (if not NULL) gets the rest ("" when none).  0 or -1.
 */
static int
run_split_url(const char *url, char **host, int *port, int *tls, char **path)
{
	const char	*p, *end, *colon, *slash;
	char		*e;
	long		 l;

	if (strncmp(url, "http://", 7) == 0) {
		p = url + 7;
		*tls = 0;
	} else if (strncmp(url, "https://", 8) == 0) {
		p = url + 8;
		*tls = 1;
	} else
		return -1;
	slash = strchr(p, '/');
	end = slash != NULL ? slash : p + strlen(p);
	colon = memchr(p, ':', (size_t)(end - p));
	if (colon != NULL) {
		errno = 0;
		l = strtol(colon + 1, &e, 10);
		if (e != end || colon + 1 == end || errno != 0 || l < 1 ||
		    l > 65535)
			return -1;
		*port = (int)l;
	} else {
		colon = end;
		*port = *tls ? 443 : 80;
	}
	if (colon == p)
		return -1;
	*host = xstrndup(p, (size_t)(colon - p));
	if (path != NULL)
		*path = xstrdup(slash != NULL ? slash : "");
	return 0;
}

/* One TLS read or write on a blocking socket: bytes, 0 at EOF, -1. */
static ssize_t
run_tls_io(SSL *ssl, int wr, void *p, size_t len)
{
	int	n, err;

	ERR_clear_error();
	n = wr ? SSL_write(ssl, p, (int)len) : SSL_read(ssl, p, (int)len);
	if (n > 0)
		return n;
	err = SSL_get_error(ssl, n);
	if (!wr && (err == SSL_ERROR_ZERO_RETURN || (err ==
	    SSL_ERROR_SYSCALL && ERR_peek_error() == 0 && errno == 0)))
		return 0;
	if (errno == 0)
		errno = EPROTO;
	return -1;
}

/*
 * One blocking HTTP/1.1 GET with Connection: close, bounded by timeout_ms
 * per socket operation, over TLS with ctx (NULL: plain).  Returns the
 * status (body, if not NULL, gets the body), or -1 with *cause (*fatal,
 * if not NULL, set to 1 when the server's certificate failed
 * verification: waiting will not help).
 */
static int
run_http_get(const char *host, int port, const char *path,
    unsigned timeout_ms, SSL_CTX *ctx, int insecure, int *fatal,
    struct buf *body, char **cause)
{
	SSL		*ssl = NULL;
	long		 vr;
	unsigned long	 e;
	char		 ebuf[256], *name;
	struct addrinfo	 hints, *res = NULL, *ai;
	struct timeval	 tv;
	struct buf	 b;
	char		 service[16], chunk[4096];
	const char	*hdr_end;
	ssize_t		 n;
	size_t		 off;
	int		 fd = -1, error, status;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(service, sizeof service, "%d", port);
	if ((error = getaddrinfo(host, service, &hints, &res)) != 0) {
		*cause = xasprintf("%s: %s", host, gai_strerror(error));
		return -1;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000;
	errno = ECONNREFUSED;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		error = errno;
		close(fd);
		fd = -1;
		errno = error;
	}
	freeaddrinfo(res);
	if (fd == -1) {
		*cause = xasprintf("%s:%d: %s", host, port, strerror(errno));
		return -1;
	}
	buf_init(&b);
	if (ctx != NULL) {
		name = xstrdup(host);
		ERR_clear_error();
		ssl = ca_client_ssl(ctx, fd, name, insecure);
		free(name);
		if (ssl == NULL || SSL_connect(ssl) != 1) {
			vr = ssl != NULL ? SSL_get_verify_result(ssl) :
			    X509_V_OK;
			if (!insecure && vr != X509_V_OK) {
				*cause = xasprintf("%s:%d: TLS handshake "
				    "failed: certificate verify failed: %s",
				    host, port,
				    X509_verify_cert_error_string(vr));
				if (fatal != NULL)
					*fatal = 1;
			} else if ((e = ERR_get_error()) != 0) {
				ERR_error_string_n(e, ebuf, sizeof ebuf);
				*cause = xasprintf("%s:%d: TLS handshake "
				    "failed: %s", host, port, ebuf);
			} else
				*cause = xasprintf("%s:%d: TLS handshake "
				    "failed", host, port);
			ERR_clear_error();
			goto fail;
		}
	}
	buf_printf(&b, "GET %s HTTP/1.1\r\nHost: %s:%d\r\n"
	    "User-Agent: decoy-run\r\nConnection: close\r\n\r\n", path, host,
	    port);
	for (off = 0; off < b.len; off += (size_t)n) {
		errno = 0;
		if ((n = ssl != NULL ? run_tls_io(ssl, 1, b.data + off,
		    b.len - off) : write(fd, b.data + off, b.len - off)) ==
		    -1) {
			if (errno == EINTR)
				n = 0;
			else {
				*cause = xasprintf("%s:%d: %s", host, port,
				    strerror(errno));
				goto fail;
			}
		}
	}
	buf_reset(&b);
	for (;;) {
		errno = 0;
		if ((n = ssl != NULL ? run_tls_io(ssl, 0, chunk,
		    sizeof chunk) : read(fd, chunk, sizeof chunk)) == -1) {
			if (errno == EINTR)
				continue;
			*cause = xasprintf("%s:%d: %s", host, port,
			    errno == EAGAIN ? "timed out" : strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		buf_append(&b, chunk, (size_t)n);
		if (b.len > 16 * 1024 * 1024) {
			*cause = xasprintf("%s:%d: answer too large", host,
			    port);
			goto fail;
		}
	}
	buf_append_byte(&b, '\0');
	b.len--;
	if (b.len < 12 || strncmp(b.data, "HTTP/1.", 7) != 0 ||
	    b.data[9] < '1' || b.data[9] > '5' || b.data[10] < '0' ||
	    b.data[10] > '9' || b.data[11] < '0' || b.data[11] > '9') {
		*cause = xasprintf("%s:%d: not an HTTP answer", host, port);
		goto fail;
	}
	status = (b.data[9] - '0') * 100 + (b.data[10] - '0') * 10 +
	    (b.data[11] - '0');
	if (body != NULL && (hdr_end = strstr(b.data, "\r\n\r\n")) != NULL)
		buf_append(body, hdr_end + 4,
		    b.len - (size_t)(hdr_end + 4 - b.data));
	buf_free(&b);
	if (ssl != NULL) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	close(fd);
	return status;
fail:
	buf_free(&b);
	if (ssl != NULL)
		SSL_free(ssl);
	close(fd);
	return -1;
}

/* --- child processes -------------------------------------------------- */

/* Reaps c if it has exited; 1 when it is gone. */
static int
run_child_gone(struct run_child *c)
{
	pid_t	p;

	if (c->pid == -1 || c->reaped)
		return 1;
	while ((p = waitpid(c->pid, &c->status, WNOHANG)) == -1 &&
	    errno == EINTR)
		;
	if (p == c->pid || (p == -1 && errno == ECHILD)) {
		c->reaped = 1;
		return 1;
	}
	return 0;
}

/* SIGTERM to c's process group, then SIGKILL after RUN_STOP_WAIT_MS. */
static void
run_child_stop(struct run_child *c)
{
	uint64_t	deadline;

	if (c->pid == -1)
		return;
	if (!run_child_gone(c)) {
		kill(-c->pid, SIGTERM);
		deadline = run_now_ms() + RUN_STOP_WAIT_MS;
		while (!run_child_gone(c) && run_now_ms() < deadline)
			run_sleep_ms(20);
		if (!run_child_gone(c)) {
			kill(-c->pid, SIGKILL);
			while (waitpid(c->pid, &c->status, 0) == -1 &&
			    errno == EINTR)
				;
			c->reaped = 1;
		}
	}
	/* Whatever the shell left behind in the group goes too. */
	kill(-c->pid, SIGKILL);
	c->pid = -1;
}

static void
run_child_describe_exit(const struct run_child *c, struct buf *b)
{
	if (!c->reaped)
		buf_printf(b, "is still running");
	else if (WIFEXITED(c->status))
		buf_printf(b, "exited with status %d",
		    WEXITSTATUS(c->status));
	else if (WIFSIGNALED(c->status))
		buf_printf(b, "was killed by signal %d",
		    WTERMSIG(c->status));
	else
		buf_printf(b, "stopped");
}

/* Prints the last lines of c's log to stderr. */
static void
run_child_tail(const struct run_child *c)
{
	char	*lines[RUN_LOG_TAIL];
	char	 line[1024];
	size_t	 n = 0, i;
	FILE	*f;

	memset(lines, 0, sizeof lines);
	if (c->log == NULL || (f = fopen(c->log, "r")) == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL) {
		free(lines[n % RUN_LOG_TAIL]);
		lines[n % RUN_LOG_TAIL] = xstrdup(line);
		n++;
	}
	fclose(f);
	if (n == 0) {
		fprintf(stderr, "  (the %s printed nothing)\n", c->what);
		return;
	}
	fprintf(stderr, "  last lines of the %s's output:\n", c->what);
	for (i = n > RUN_LOG_TAIL ? n - RUN_LOG_TAIL : 0; i < n; i++) {
		fprintf(stderr, "  | %s", lines[i % RUN_LOG_TAIL]);
		if (strchr(lines[i % RUN_LOG_TAIL], '\n') == NULL)
			fputc('\n', stderr);
	}
	for (i = 0; i < RUN_LOG_TAIL; i++)
		free(lines[i]);
}

/* Prints why c failed and its output; returns EXIT_USAGE. */
static int
run_child_failed(struct run *r, struct run_child *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
run_child_failed(struct run *r, struct run_child *c, const char *fmt, ...)
{
	struct buf	b;
	va_list		ap;

	run_progress(r, NULL);
	buf_init(&b);
	va_start(ap, fmt);
	buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (c->pid != -1 && run_child_gone(c)) {
		buf_append_str(&b, " (it ");
		run_child_describe_exit(c, &b);
		buf_append_str(&b, ")");
	}
	cli_error(r->e, EXIT_USAGE, "%s", b.data);
	buf_free(&b);
	run_child_tail(c);
	return EXIT_USAGE;
}

/*
 * Forks a child in its own process group with stdout and stderr going to
 * c->log; the child runs argv (execv) or, with argv NULL, `sh -c command`
 * in dir with env added.  0 or -1 with *cause.
 */
static int
run_child_start(struct run_child *c, char *const *argv, const char *command,
    const char *dir, char *const *env, size_t nenv, char **cause)
{
	pid_t	pid;
	size_t	i;
	int	fd;

	if ((fd = open(c->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) == -1) {
		*cause = xasprintf("%s: %s", c->log, strerror(errno));
		return -1;
	}
	fflush(NULL);
	if ((pid = fork()) == -1) {
		*cause = xasprintf("fork: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (pid == 0) {
		struct sigaction	sa;

		setpgid(0, 0);
		/* Stop with decoy even if it is killed outright. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = SIG_DFL;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGPIPE, &sa, NULL);
		if (dup2(fd, STDOUT_FILENO) == -1 ||
		    dup2(fd, STDERR_FILENO) == -1)
			_exit(127);
		if ((fd = open("/dev/null", O_RDONLY)) != -1)
			dup2(fd, STDIN_FILENO);
		for (i = 0; i < nenv; i++)
			putenv(env[i]);
		if (argv != NULL) {
			/* The admin API stays on loopback: no token. */
			unsetenv("DECOY_TOKEN");
			execv("/proc/self/exe", argv);
			fprintf(stderr, "decoy run: exec /proc/self/exe: %s\n",
			    strerror(errno));
			_exit(127);
		}
		if (chdir(dir) == -1) {
			fprintf(stderr, "decoy run: %s: %s\n", dir,
			    strerror(errno));
			_exit(127);
		}
		execl("/bin/sh", "sh", "-c", command, (char *)NULL);
		fprintf(stderr, "decoy run: exec /bin/sh: %s\n",
		    strerror(errno));
		_exit(127);
	}
	close(fd);
	/* Both sides set the group so that a kill right away finds it. */
	setpgid(pid, pid);
	c->pid = pid;
	c->reaped = 0;
	return 0;
}

/* Waits for a port file written by c; the port, or -1. */
static int
run_wait_port(struct run_child *c, const char *path)
{
	uint64_t	 deadline = run_now_ms() + RUN_PORT_WAIT_MS;
	char		 line[32], *end;
	long		 l;
	FILE		*f;

	while (!run_stop) {
		if ((f = fopen(path, "r")) != NULL) {
			if (fgets(line, sizeof line, f) != NULL) {
				l = strtol(line, &end, 10);
				if (end != line && l > 0 && l < 65536 &&
				    (*end == '\n' || *end == '\0')) {
					fclose(f);
					return (int)l;
				}
			}
			fclose(f);
		}
		if (run_child_gone(c) || run_now_ms() >= deadline)
			return -1;
		run_sleep_ms(20);
	}
	return -1;
}

static int
run_start_responder(struct run *r)
{
	struct scenario	*sc = r->sc;
	char		**argv, *port_file, *admin_file, *chaos, seed[32];
	char		 now[64];
	char		*cause = NULL;
	size_t		 n = 0, i;
	int		 rv;

	port_file = xasprintf("%s/responder.port", r->tmp);
	admin_file = xasprintf("%s/admin.port", r->tmp);
	chaos = xasprintf("%s/chaos.jsonl", r->tmp);
	argv = xcalloc(32 + 2 * sc->nrules, sizeof *argv);
	argv[n++] = (char *)"decoy";
	argv[n++] = (char *)"respond";
	argv[n++] = sc->snapshot;
	argv[n++] = (char *)"--listen";
	argv[n++] = sc->listen;
	argv[n++] = (char *)"--port-file";
	argv[n++] = port_file;
	/* The scenario's snapshot also feeds the load: a service without
	 * dependencies records no dir "out" transaction. */
	argv[n++] = (char *)"--allow-empty";
	for (i = 0; i < sc->nrules; i++) {
		argv[n++] = (char *)"--rules";
		argv[n++] = sc->rules[i];
	}
	if (sc->has_seed) {
		snprintf(seed, sizeof seed, "%llu",
		    (unsigned long long)sc->seed);
		argv[n++] = (char *)"--seed";
		argv[n++] = seed;
	}
	if (sc->unmatched != NULL) {
		argv[n++] = (char *)"--unmatched";
		argv[n++] = sc->unmatched;
	}
	if (sc->responder_transforms != NULL) {
		argv[n++] = (char *)"--transforms";
		argv[n++] = sc->responder_transforms;
		if (sc->has_now) {
			/* The responder's clock starts where the load's does. */
			time_t		sec = (time_t)(sc->now_us / 1000000);
			struct tm	tm;

			gmtime_r(&sec, &tm);
			snprintf(now, sizeof now, "%04d-%02d-%02dT%02d:%02d:"
			    "%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
			    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			    (int)(sc->now_us % 1000000));
			argv[n++] = (char *)"--now";
			argv[n++] = now;
		}
	}
	argv[n++] = (char *)"--chaos-log";
	argv[n++] = chaos;
	argv[n++] = (char *)"--admin";
	argv[n++] = (char *)"127.0.0.1:0";
	argv[n++] = (char *)"--admin-port-file";
	argv[n++] = admin_file;
	argv[n] = NULL;

	r->responder.log = xasprintf("%s/responder.log", r->tmp);
	rv = -1;
	if (run_child_start(&r->responder, argv, NULL, NULL, NULL, 0,
	    &cause) == -1) {
		cli_error(r->e, EXIT_USAGE, "responder: %s", cause);
		goto out;
	}
	if ((r->responder_port = run_wait_port(&r->responder,
	    port_file)) == -1 || (r->admin_port = run_wait_port(&r->responder,
	    admin_file)) == -1) {
		if (!run_stop)
			run_child_failed(r, &r->responder, "the responder did "
			    "not start on %s within %d s", sc->listen,
			    RUN_PORT_WAIT_MS / 1000);
		goto out;
	}
	rv = 0;
out:
	free(cause);
	free(argv);
	free(port_file);
	free(admin_file);
	free(chaos);
	return rv;
}

/* Polls the service's ready path until 2xx (any answer without a ready
 * path) or the timeout.  0 or -1 (reported). */
static int
run_wait_ready(struct run *r)
{
	struct scenario	*sc = r->sc;
	const char	*path = sc->ready_path != NULL ? sc->ready_path : "/";
	uint64_t	 deadline;
	char		*host = NULL, *cause = NULL, *last = NULL;
	int		 port, status = -1, tls, fatal = 0;
	SSL_CTX		*ctx = NULL;

	if (run_split_url(r->url, &host, &port, &tls, NULL) == -1) {
		cli_error(r->e, EXIT_USAGE, "service.url: cannot use \"%s\"",
		    r->url);
		return -1;
	}
	if (tls && (ctx = ca_client_ctx(sc->ca_file, sc->insecure,
	    &cause)) == NULL) {
		cli_error(r->e, EXIT_USAGE, "service.ca: %s", cause);
		free(cause);
		free(host);
		return -1;
	}
	deadline = run_now_ms() + sc->ready_timeout_ns / 1000000;
	while (!run_stop) {
		free(cause);
		cause = NULL;
		status = run_http_get(host, port, path, 1000, ctx,
		    sc->insecure, &fatal, NULL, &cause);
		if (status >= 200 && status < 300)
			break;
		if (fatal) {
			/* Every connection would fail the same way. */
			cli_error(r->e, EXIT_USAGE, "service: %s (service.ca "
			    "names the CA, service.insecure: true skips the "
			    "check)", cause);
			goto fail;
		}
		if (status != -1 && sc->ready_path == NULL)
			break;
		free(last);
		last = status == -1 ? xstrdup(cause) :
		    xasprintf("GET %s answered %d", path, status);
		if (r->service.pid != -1 && run_child_gone(&r->service)) {
			run_child_failed(r, &r->service, "the service exited "
			    "before it was ready (%s)", last);
			goto fail;
		}
		if (run_now_ms() >= deadline) {
			if (r->service.pid != -1)
				run_child_failed(r, &r->service, "the service "
				    "was not ready within %llu ms at %s:%d%s "
				    "(%s)", (unsigned long long)
				    (sc->ready_timeout_ns / 1000000), host,
				    port, path, last);
			else
				cli_error(r->e, EXIT_USAGE, "the service at "
				    "%s:%d%s was not ready within %llu ms "
				    "(%s)", host, port, path,
				    (unsigned long long)
				    (sc->ready_timeout_ns / 1000000), last);
			goto fail;
		}
		run_sleep_ms(50);
	}
	free(host);
	free(cause);
	free(last);
	if (ctx != NULL)
		SSL_CTX_free(ctx);
	return run_stop ? -1 : 0;
fail:
	free(host);
	free(cause);
	free(last);
	if (ctx != NULL)
		SSL_CTX_free(ctx);
	return -1;
}

/* --- faults and assertions -------------------------------------------- */

/* Decodes a raw member name (quotes included) into out. */
static int
run_json_key(const struct json_value *k, struct buf *out)
{
	struct json_parser	kp;

	buf_reset(out);
	json_init(&kp, k->p, k->len);
	if (json_read_string(&kp, out, NULL) == -1)
		return -1;
	buf_append_byte(out, '\0');
	return 0;
}

/*
 * Reads the responder's /stats answer,
 * {"faults":{"by_rule":{RULE:{KIND:N,...},...},...},...}, into the
 * report.  0 or -1 (not the JSON expected).
 */
static int
run_read_faults(struct report *rep, const char *text, size_t len)
{
	struct json_parser	p;
	struct json_value	k;
	struct buf		rule, kind;
	int64_t			n;
	int			rv = -1, r1, r2, r3, r4;

	json_init(&p, text, len);
	buf_init(&rule);
	buf_init(&kind);
	if (json_object_enter(&p) == -1)
		goto out;
	while ((r1 = json_object_next(&p, &k)) == 1) {
		if (!json_string_eq(&k, "faults") ||
		    json_peek(&p) != JSON_OBJECT) {
			if (json_skip(&p, NULL) == -1)
				goto out;
			continue;
		}
		json_object_enter(&p);
		while ((r2 = json_object_next(&p, &k)) == 1) {
			if (!json_string_eq(&k, "by_rule") ||
			    json_peek(&p) != JSON_OBJECT) {
				if (json_skip(&p, NULL) == -1)
					goto out;
				continue;
			}
			json_object_enter(&p);
			while ((r3 = json_object_next(&p, &k)) == 1) {
				if (run_json_key(&k, &rule) == -1 ||
				    json_object_enter(&p) == -1)
					goto out;
				while ((r4 = json_object_next(&p, &k)) == 1) {
					if (run_json_key(&k, &kind) == -1 ||
					    json_read_int64(&p, &n) == -1)
						goto out;
					if (n > 0)
						report_add_fault(rep,
						    rule.data, kind.data,
						    (uint64_t)n);
				}
				if (r4 == -1)
					goto out;
			}
			if (r3 == -1)
				goto out;
		}
		if (r2 == -1)
			goto out;
	}
	rv = r1 == -1 ? -1 : 0;
out:
	buf_free(&rule);
	buf_free(&kind);
	return rv;
}

/* Asks the responder's admin API what it injected. */
static void
run_fetch_faults(struct run *r, struct report *rep)
{
	struct buf	 body;
	char		*cause = NULL;
	int		 status;

	buf_init(&body);
	status = run_http_get("127.0.0.1", r->admin_port, "/stats", 5000,
	    NULL, 0, NULL, &body, &cause);
	if (status == -1)
		cli_error(r->e, 0, "warning: responder stats: %s", cause);
	else if (status != 200)
		cli_error(r->e, 0, "warning: responder stats: GET /stats "
		    "answered %d", status);
	else if (run_read_faults(rep, body.data == NULL ? "" : body.data,
	    body.len) == -1)
		cli_error(r->e, 0, "warning: responder stats: not the JSON "
		    "expected");
	free(cause);
	buf_free(&body);
}

/* The scenario's assertions on the report (report_assert), and a run
 * cut short fails. */
static void
run_assert(struct run *r, struct report *rep)
{
	report_assert(rep, r->sc);
	if (run_stop)
		report_add_assertion(rep, "run.completed", "the whole load",
		    "interrupted", 0);
}

/* Appends "WHERE: WHAT: cause" (each line of a multi-line cause gets
 * its own prefix) as a new line of errors. */
static void
run_ref_error(const struct scenario *sc, struct buf *errors, const char *what,
    const char *path, const char *cause)
{
	char		*where = scenario_where(sc, what, path);
	const char	*line, *nl;

	for (line = cause; *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		buf_printf(errors, "%s%s: %s: %.*s", errors->len > 0 ? "\n" :
		    "", where, what, nl != NULL ? (int)(nl - line) :
		    (int)strlen(line), line);
		if (nl == NULL)
			break;
	}
	free(where);
}

/*
 * Makes the reports' directories and checks every report path before
 * anything starts (create), or only checks them (--check): a run's
 * results are never lost to a bad path found at the end.  0, or -1 with
 * the problems in errors.
 */
static int
run_check_outputs(const struct scenario *sc, int create, struct buf *errors)
{
	static const char *const whats[3] = { "report.json",
			    "report.junit", "report.html" };
	const char	*paths[3] = { sc->report_json, sc->report_junit,
			    sc->report_html };
	char		*cause = NULL;
	size_t		 i;
	int		 rv = 0;

	for (i = 0; i < 3; i++) {
		if (paths[i] == NULL ||
		    report_check_output(paths[i], create, &cause) == 0)
			continue;
		run_ref_error(sc, errors, whats[i], NULL, cause);
		free(cause);
		cause = NULL;
		rv = -1;
	}
	return rv;
}

static int
run_write_reports(struct run *r, struct report *rep)
{
	struct scenario	*sc = r->sc;
	char		*cause = NULL;
	int		 rv = 0;

	if (sc->report_json != NULL) {
		if (report_write_json(rep, sc->report_json, &cause) == -1) {
			cli_error(r->e, 0, "%s", cause);
			free(cause);
			cause = NULL;
			rv = -1;
		}
	}
	if (sc->report_junit != NULL) {
		if (report_write_junit(rep, sc->report_junit, &cause) == -1) {
			cli_error(r->e, 0, "%s", cause);
			free(cause);
			cause = NULL;
			rv = -1;
		}
	}
	if (sc->report_html != NULL) {
		if (report_write_html(rep, sc->report_html, &cause) == -1) {
			cli_error(r->e, 0, "%s", cause);
			free(cause);
			rv = -1;
		}
	}
	return rv;
}

/* --- the command ------------------------------------------------------ */

/*
 * Reads the snapshot whole, as the responder and the generator will: a
 * line that does not parse is an error at its FILE:LINE:COL; the load
 * needs inbound transactions.  0 or -1 with *cause.
 */
static int
run_check_snapshot(const struct scenario *sc, char **cause)
{
	struct snap_reader	*sr;
	struct snap_txn		 t;
	struct stat		 st;
	size_t			 nin = 0, n = 0;
	int			 r;

	if (stat(sc->snapshot, &st) == -1) {
		*cause = xasprintf("%s: %s", sc->snapshot, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*cause = xasprintf("%s: not a regular file", sc->snapshot);
		return -1;
	}
	if ((sr = snap_reader_open(sc->snapshot, cause)) == NULL)
		return -1;
	while ((r = snap_reader_next(sr, &t, cause)) == 1) {
		n++;
		if (t.dir == SNAP_DIR_IN)
			nin++;
		snap_txn_free(&t);
	}
	snap_reader_close(sr);
	if (r == -1)
		return -1;
	if (n == 0) {
		*cause = xasprintf("%s: no transactions", sc->snapshot);
		return -1;
	}
	if (!sc->has_fuzz && nin == 0) {
		*cause = xasprintf("%s: no inbound (dir \"in\") transactions "
		    "to replay", sc->snapshot);
		return -1;
	}
	return 0;
}

/*
 * Checks what the start would find wrong beyond the file itself, each
 * problem prefixed by where the scenario names the file: the snapshot
 * (parsed whole), each rule file, the transforms files (keys included),
 * the fuzz corpus and the https CA.  --check and the start both run it.
 * 0, or -1 with every problem in errors.
 */
static int
run_check_refs(const struct scenario *sc, struct buf *errors)
{
	struct rule_set		*set;
	struct transforms	*tf;
	struct stat		 st;
	struct sock_addr	 sa;
	SSL_CTX			*ctx;
	char			*cause = NULL;
	size_t			 i;
	int			 rv = 0, rules_ok = 1;

	for (i = 0; i < sc->nrules; i++) {
		set = rule_set_load((const char *const *)&sc->rules[i], 1,
		    NULL, NULL, &cause);
		if (set == NULL) {
			run_ref_error(sc, errors, "responder.rules",
			    sc->rules[i], cause);
			free(cause);
			cause = NULL;
			rv = -1;
			rules_ok = 0;
		}
		rule_set_free(set);
	}
	/* What only the files together can get wrong (a name twice). */
	if (rules_ok && sc->nrules > 1) {
		set = rule_set_load((const char *const *)sc->rules, sc->nrules,
		    NULL, NULL, &cause);
		if (set == NULL) {
			run_ref_error(sc, errors, "responder.rules", NULL,
			    cause);
			free(cause);
			cause = NULL;
			rv = -1;
		}
		rule_set_free(set);
	}
	if (sc->has_fuzz && stat(sc->fuzz_corpus, &st) == -1) {
		cause = xasprintf("%s: %s", sc->fuzz_corpus, strerror(errno));
		run_ref_error(sc, errors, "fuzz.corpus", NULL, cause);
		rv = -1;
	} else if (sc->has_fuzz && !S_ISDIR(st.st_mode)) {
		cause = xasprintf("%s: not a directory", sc->fuzz_corpus);
		run_ref_error(sc, errors, "fuzz.corpus", NULL, cause);
		rv = -1;
	}
	free(cause);
	cause = NULL;
	if (sc->transforms != NULL) {
		if ((tf = transforms_load(sc->transforms, 1, &cause)) == NULL) {
			run_ref_error(sc, errors, "load.transforms", NULL,
			    cause);
			free(cause);
			cause = NULL;
			rv = -1;
		} else
			transforms_free(tf);
	}
	if (sc->responder_transforms != NULL && (sc->transforms == NULL ||
	    strcmp(sc->transforms, sc->responder_transforms) != 0)) {
		if ((tf = transforms_load(sc->responder_transforms, 1,
		    &cause)) == NULL) {
			run_ref_error(sc, errors, "responder.transforms", NULL,
			    cause);
			free(cause);
			cause = NULL;
			rv = -1;
		} else
			transforms_free(tf);
	}
	/* The listen address as the responder will take it (names
	 * resolved). */
	if (sc->has_responder && sock_parse_addr(sc->listen, &sa,
	    &cause) == -1) {
		run_ref_error(sc, errors, "responder.listen", NULL, cause);
		free(cause);
		cause = NULL;
		rv = -1;
	}
	if (sc->ca_file != NULL) {
		if ((ctx = ca_client_ctx(sc->ca_file, 0, &cause)) == NULL) {
			run_ref_error(sc, errors, "service.ca", NULL, cause);
			free(cause);
			cause = NULL;
			rv = -1;
		} else
			SSL_CTX_free(ctx);
	}
	if (run_check_snapshot(sc, &cause) == -1) {
		run_ref_error(sc, errors, "snapshot", NULL, cause);
		free(cause);
		cause = NULL;
		rv = -1;
	}
	return rv;
}

static void
run_print_check_json(const char *path, const char *errors)
{
	struct buf	 b;
	const char	*line, *nl;
	int		 first = 1;

	buf_init(&b);
	buf_append_str(&b, "{\"scenario\":");
	json_append_string(&b, path, strlen(path));
	buf_printf(&b, ",\"valid\":%s,\"errors\":[", errors == NULL ?
	    "true" : "false");
	for (line = errors; line != NULL && *line != '\0'; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!first)
			buf_append_byte(&b, ',');
		first = 0;
		json_append_string(&b, line, nl != NULL ?
		    (size_t)(nl - line) : strlen(line));
		if (nl == NULL)
			break;
	}
	buf_append_str(&b, "]}\n");
	fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
}

static void
run_config(struct run *r, struct gen_config *cfg)
{
	static const enum gen_pattern patterns[] = {
		[SCENARIO_REPLAY] = GEN_REPLAY,
		[SCENARIO_CONSTANT] = GEN_CONSTANT,
		[SCENARIO_RAMP] = GEN_RAMP,
		[SCENARIO_STEPS] = GEN_STEPS,
		[SCENARIO_CLOSED] = GEN_CLOSED,
	};
	static const enum gen_body_cmp bodies[] = {
		[SCENARIO_BODY_EXACT] = GEN_BODY_EXACT,
		[SCENARIO_BODY_JSON] = GEN_BODY_JSON,
		[SCENARIO_BODY_IGNORE] = GEN_BODY_NONE,
	};
	struct scenario	*sc = r->sc;
	size_t		 i;

	gen_config_init(cfg);
	cfg->snapshot = xstrdup(sc->snapshot);
	cfg->target = xstrdup(r->url);
	if (sc->ca_file != NULL)
		cfg->ca_file = xstrdup(sc->ca_file);
	cfg->insecure = sc->insecure;
	cfg->pattern = patterns[sc->pattern];
	cfg->multiplier = sc->multiplier;
	cfg->clones = sc->clones;
	if (sc->rate > 0)
		cfg->rate = sc->rate;
	cfg->rate_from = sc->rate_from;
	if (sc->steps > 0)
		cfg->nsteps = sc->steps;
	if (sc->connections > 0)
		cfg->connections = sc->connections;
	cfg->duration_ns = sc->duration_ns;
	/* A duration means "keep going that long": cycle the traffic. */
	cfg->loop = sc->duration_ns > 0;
	if (sc->timeout_ns > 0)
		cfg->timeout_ns = sc->timeout_ns;
	if (sc->transforms != NULL)
		cfg->transforms = xstrdup(sc->transforms);
	cfg->has_now = sc->has_now;
	cfg->now_us = sc->now_us;
	cfg->has_seed = sc->load_has_seed;
	cfg->seed = sc->load_seed;
	if (!sc->has_regression) {
		/* No regression assertion, no comparison: the JUnit file
		 * must not fail what the exit status passes. */
		cfg->cmp_status = 0;
		cfg->cmp_body = GEN_BODY_NONE;
	} else {
		cfg->cmp_status = sc->cmp_status;
		cfg->cmp_body = bodies[sc->cmp_body];
		cfg->numeric = sc->cmp_numeric;
		cfg->cmp_headers = xcalloc(sc->ncmp_headers + 1,
		    sizeof *cfg->cmp_headers);
		for (i = 0; i < sc->ncmp_headers; i++)
			cfg->cmp_headers[i] = xstrdup(sc->cmp_headers[i]);
		cfg->ncmp_headers = sc->ncmp_headers;
		cfg->ignore = xcalloc(sc->nignore + 1, sizeof *cfg->ignore);
		for (i = 0; i < sc->nignore; i++)
			cfg->ignore[i] = xstrdup(sc->ignore[i]);
		cfg->nignore = sc->nignore;
	}
	cfg->progress = r->tty;
}

/* Removes the temporary directory and what decoy put in it. */
static void
run_cleanup_tmp(struct run *r)
{
	static const char *const files[] = {
		"responder.port", "admin.port", "chaos.jsonl",
		"responder.log", "service.log",
	};
	char	*p;
	size_t	 i;

	if (r->tmp == NULL)
		return;
	for (i = 0; i < sizeof files / sizeof *files; i++) {
		p = xasprintf("%s/%s", r->tmp, files[i]);
		unlink(p);
		free(p);
	}
	if (rmdir(r->tmp) == -1)
		cli_error(r->e, 0, "warning: %s: %s (left behind)", r->tmp,
		    strerror(errno));
}

/*
 * The fuzz section: the campaign starts the service itself (so it sees
 * crashes and restarts it), or reaches a running one; the findings are
 * asserted (at most assert.findings.max, default 0).
 */
static int
run_fuzz(struct run *r, int json)
{
	struct scenario		*sc = r->sc;
	struct fuzz_config	 cfg;
	struct fuzz_result	 res;
	struct report		*rep;
	struct buf		 out;
	char			*cause = NULL, want[64], got[64];
	size_t			 i;
	int			 rv;

	fuzz_config_init(&cfg);
	cfg.corpus = xstrdup(sc->fuzz_corpus);
	cfg.target = xstrdup(r->url);
	if (sc->ca_file != NULL)
		cfg.ca_file = xstrdup(sc->ca_file);
	cfg.insecure = sc->insecure;
	free(cfg.findings);
	cfg.findings = xstrdup(sc->fuzz_findings);
	if (sc->fuzz_requests > 0 || sc->fuzz_duration_ns > 0)
		cfg.requests = sc->fuzz_requests;
	cfg.duration_ns = sc->fuzz_duration_ns;
	if (sc->fuzz_has_seed)
		cfg.seed = sc->fuzz_seed;
	if (sc->fuzz_connections > 0)
		cfg.connections = sc->fuzz_connections;
	if (sc->fuzz_timeout_ns > 0)
		cfg.timeout_ns = sc->fuzz_timeout_ns;
	cfg.mutate_auth = sc->fuzz_mutate_auth;
	cfg.progress = isatty(STDERR_FILENO) && !json;
	if (r->command != NULL) {
		cfg.service_cmd = xstrdup(r->command);
		cfg.service_dir = xstrdup(sc->dir);
		cfg.service_env = xcalloc(sc->nenv + 1, sizeof *cfg.service_env);
		for (i = 0; i < sc->nenv; i++)
			cfg.service_env[i] = xstrdup(r->env[i]);
		cfg.nservice_env = sc->nenv;
	} else {
		run_progress(r, "waiting for the service to be ready");
		if (run_wait_ready(r) == -1) {
			fuzz_config_free(&cfg);
			return EXIT_USAGE;
		}
	}
	run_progress(r, "fuzzing");
	if (fuzz_run(&cfg, &res, &run_stop, &cause) == -1) {
		run_progress(r, NULL);
		cli_error(r->e, EXIT_USAGE, "fuzz: %s", cause);
		free(cause);
		fuzz_result_free(&res);
		fuzz_config_free(&cfg);
		return EXIT_USAGE;
	}
	run_progress(r, NULL);
	rep = report_create(sc->name, r->url);
	snprintf(want, sizeof want, "<= %u",
	    sc->has_findings_max ? sc->findings_max : 0);
	snprintf(got, sizeof got, "%zu (%llu mutants, %llu service deaths)",
	    res.nfindings, (unsigned long long)res.sent,
	    (unsigned long long)res.crashes);
	report_add_assertion(rep, "findings.max", want, got,
	    res.nfindings <= (sc->has_findings_max ? sc->findings_max : 0));
	if (run_stop)
		report_add_assertion(rep, "run.completed", "the whole campaign",
		    "interrupted", 0);
	rv = report_passed(rep) ? EXIT_OK : EXIT_FAILED;
	if (run_write_reports(r, rep) == -1)
		rv = EXIT_USAGE;
	if (json) {
		buf_init(&out);
		report_to_json(rep, &out);
		fwrite(out.data, 1, out.len, stdout);
		if (out.len == 0 || out.data[out.len - 1] != '\n')
			fputc('\n', stdout);
		buf_free(&out);
	} else {
		fuzz_result_print(stdout, &cfg, &res, 0);
		report_print(rep, stdout);
	}
	fflush(stdout);
	report_free(rep);
	fuzz_result_free(&res);
	fuzz_config_free(&cfg);
	return rv;
}

static int
run_scenario(struct run *r, int json)
{
	struct scenario		*sc = r->sc;
	struct gen_config	 cfg;
	struct report		*rep = NULL;
	struct sigaction	 sa, old_int, old_term, old_pipe;
	struct buf		 out;
	char			*cause = NULL, tmpl[PATH_MAX];
	const char		*tmpdir;
	size_t			 i;
	int			 rv = EXIT_USAGE, gen_rv;

	buf_init(&out);
	if (run_check_outputs(sc, 1, &out) == -1) {
		buf_append_byte(&out, '\0');
		cli_error(r->e, EXIT_USAGE, "%s", out.data);
		buf_free(&out);
		return EXIT_USAGE;
	}
	buf_free(&out);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = run_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &old_pipe);

	if ((tmpdir = getenv("TMPDIR")) == NULL || *tmpdir == '\0')
		tmpdir = "/tmp";
	snprintf(tmpl, sizeof tmpl, "%s/decoy-run.XXXXXX", tmpdir);
	if (mkdtemp(tmpl) == NULL) {
		cli_error(r->e, EXIT_USAGE, "%s: %s", tmpl, strerror(errno));
		goto out;
	}
	r->tmp = xstrdup(tmpl);
	r->url = xstrdup(sc->url);
	r->command = sc->command != NULL ? xstrdup(sc->command) : NULL;
	r->env = xcalloc(sc->nenv + 1, sizeof *r->env);
	for (i = 0; i < sc->nenv; i++)
		r->env[i] = xstrdup(sc->env[i]);

	if (strstr(sc->url, "{service_port}") != NULL) {
		if ((r->service_port = run_free_port(&cause)) == -1) {
			cli_error(r->e, EXIT_USAGE, "%s", cause);
			goto out;
		}
		run_subst_all(r, "service_port", r->service_port);
	}
	if (sc->has_responder) {
		run_progress(r, "starting the responder");
		if (run_start_responder(r) == -1)
			goto out;
		run_subst_all(r, "responder_port", r->responder_port);
	}
	if (strchr(r->url, '{') != NULL) {
		cli_error(r->e, EXIT_USAGE, "service.url: a placeholder is "
		    "left in \"%s\" ({responder_port} needs a responder "
		    "section)", r->url);
		goto out;
	}
	if (sc->has_fuzz) {
		rv = run_fuzz(r, json);
		goto out;
	}
	if (r->command != NULL) {
		run_progress(r, "starting the service");
		r->service.log = xasprintf("%s/service.log", r->tmp);
		if (run_child_start(&r->service, NULL, r->command, sc->dir,
		    r->env, sc->nenv, &cause) == -1) {
			cli_error(r->e, EXIT_USAGE, "service: %s", cause);
			goto out;
		}
	}
	run_progress(r, "waiting for the service to be ready");
	if (run_wait_ready(r) == -1)
		goto out;

	run_progress(r, "running the load");
	run_config(r, &cfg);
	rep = report_create(sc->name, r->url);
	gen_rv = gen_run(&cfg, rep, &run_stop, &cause);
	gen_config_free(&cfg);
	run_progress(r, NULL);
	if (gen_rv == -1) {
		cli_error(r->e, EXIT_USAGE, "%s", cause);
		if (r->service.pid != -1 && run_child_gone(&r->service)) {
			run_child_failed(r, &r->service, "the service is gone");
		}
		goto out;
	}
	if (sc->has_responder)
		run_fetch_faults(r, rep);
	run_assert(r, rep);
	rv = report_passed(rep) ? EXIT_OK : EXIT_FAILED;
	if (run_write_reports(r, rep) == -1)
		rv = EXIT_USAGE;
	if (json) {
		buf_init(&out);
		report_to_json(rep, &out);
		fwrite(out.data, 1, out.len, stdout);
		if (out.len == 0 || out.data[out.len - 1] != '\n')
			fputc('\n', stdout);
		buf_free(&out);
	} else
		report_print(rep, stdout);
	fflush(stdout);
out:
	run_progress(r, NULL);
	run_child_stop(&r->service);
	run_child_stop(&r->responder);
	run_cleanup_tmp(r);
	report_free(rep);
	free(cause);
	free(r->tmp);
	free(r->url);
	free(r->command);
	for (i = 0; r->env != NULL && i < sc->nenv; i++)
		free(r->env[i]);
	free(r->env);
	free(r->responder.log);
	free(r->service.log);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	if (run_stop && run_signal != 0)
		return 128 + run_signal;
	return rv;
}

/* Checks one scenario file and, unless check, runs it.  The exit status
 * of that file. */
static int
run_one(const char *path, int check, int json)
{
	const struct cmd_entry	*e = &cmd_run_entry;
	struct run		 r;
	struct buf		 errors;
	char			*cause = NULL;
	int			 rv;

	memset(&r, 0, sizeof r);
	r.e = e;
	r.responder.what = "responder";
	r.responder.pid = -1;
	r.service.what = "service";
	r.service.pid = -1;
	r.tty = isatty(STDERR_FILENO);

	buf_init(&errors);
	if ((r.sc = scenario_load(path, &cause)) == NULL) {
		buf_append_str(&errors, cause);
		free(cause);
	} else {
		run_check_refs(r.sc, &errors);
		run_check_outputs(r.sc, 0, &errors);
	}
	if (errors.len > 0) {
		buf_append_byte(&errors, '\0');
		if (check && json)
			run_print_check_json(path, errors.data);
		else
			fprintf(stderr, "%s\n", errors.data);
		buf_free(&errors);
		scenario_free(r.sc);
		return EXIT_USAGE;
	}
	buf_free(&errors);
	if (check) {
		if (json)
			run_print_check_json(path, NULL);
		else
			printf("%s: scenario OK\n", path);
		scenario_free(r.sc);
		return EXIT_OK;
	}
	rv = run_scenario(&r, json);
	scenario_free(r.sc);
	return rv;
}

static int
cmd_run_exec(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_run_entry;
	struct cmd_run_o	 o = { .log_level = LOG_LEVEL_INFO };
	int			 ind, rv = EXIT_OK, one;

	if (cli_parse(e, NULL, argc, argv, &o, 0, &ind, &rv) == -1)
		return rv;
	cli_log_init(e, o.log_level);
	if (argc - ind < 1)
		return cli_usage(e, "expected a scenario file");

	/* Each file in turn; the worst status wins (2 over 1 over 0), and
	 * a signal ends the series. */
	run_stop = 0;
	run_signal = 0;
	for (; ind < argc; ind++) {
		one = run_one(argv[ind], o.check, o.json);
		if (one > rv)
			rv = one;
		if (run_stop)
			break;
	}
	return rv;
}
