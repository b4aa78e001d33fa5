/*
 * fuzz.c -- the fuzz campaign of fuzz.h: one thread, one event loop.
 *
 * The client.  A small HTTP/1.1 client of its own on loop.h and http.h,
 * not the generator's: a campaign sends arbitrary bytes, must tell a
 * reset from a close without an answer, half-closes framing-broken
 * mutants and never retries a request on its own.  https:// puts TLS
 * under it: one SSL_CTX per campaign (ca_client_ctx), one SSL per
 * connection (ca_client_ssl), the handshake driven by the loop, then
 * SSL_write and SSL_read in place of send and read; a TLS-level failure
 * after the handshake is a reset, a close (with close_notify or not) a
 * close; a failed handshake is a connect error.  Up to
 * `connections` keep-alive connections carry mutants; a connection is
 * closed after any failure and after a framing-broken mutant (which is
 * always sent on a fresh connection).
 *
 * The campaign alternates two modes:
 *   - sending: loop_run() with the connections busy; each answer is
 *     classified (fuzz.h).  A failure whose key is already a finding
 *     counts as one more hit; a new one, or the death of the service,
 *     pauses the sending: no new mutant, and when the connections in
 *     flight have ended, loop_run() returns.
 *   - triage, in plain sequential code between two loop_run() calls:
 *     after a death, the service is restarted (its port polled) and the
 *     mutants that were in flight (and those that failed just before)
 *     are re-sent one at a time, alone, until one kills it again (twice,
 *     for a new finding); unless the death's signature is that of a known
 *     crash on one of the suspects' endpoints: then it is a hit, and
 *     the suspects on other endpoints or that had waited unusually long
 *     are sent again later (once; cut short twice, alone), so a mutant
 *     that shared its moment with a known crash is still tried, and
 *     hangs and outliers are found while crashes keep killing the
 *     service.  A non-crash
 *     failure is re-sent alone once.  What reproduces becomes a
 *     finding: it is minimised (fuzz_shrink() variants, kept while the
 *     request still fails the same way, within max_attempts sends and
 *     minimise_ns) and written to the findings directory.  One request at
 *     a time is sent by fuzz_send_one(), which runs the loop until it is
 *     answered.
 * A reset or a close without an answer is not classified at once when
 * decoy runs the service: the death of the service is noticed by a
 * 10 ms tick (waitpid), a little after its sockets closed, so such
 * failures wait FUZZ_GRACE_NS for it.
 *
 * The service (--service-cmd): `/bin/sh -c CMD` in its own process
 * group, stdin from /dev/null, stdout and stderr appended to a log file
 * that is read for sanitizer reports.  A restart kills what is left of
 * the group first.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "buf.h"
#include "ca.h"
#include "fuzz.h"
#include "http.h"
#include "json.h"
#include "log.h"
#include "loop.h"
#include "mutate.h"
#include "sock.h"
#include "xmalloc.h"

#define FUZZ_READ_CHUNK		(16 * 1024)
#define FUZZ_MAX_HEAD		(64 * 1024)
#define FUZZ_MAX_BODY		(16 * 1024 * 1024)
#define FUZZ_TICK_NS		(10 * 1000000ull)
#define FUZZ_GRACE_NS		(300 * 1000000ull)
#define FUZZ_RETRY_NS		(5 * 1000000ull)	/* cut-short jobs */
#define FUZZ_DEATH_NS		(30 * 1000000ull)	/* close to zombie */
#define FUZZ_RECENT_NS		(3 * FUZZ_TICK_NS)	/* suspects */
#define FUZZ_REPORT_NS		(10000 * 1000000ull)	/* report to death */
#define FUZZ_REJECTS		3	/* unconfirmed, then ignored */
#define FUZZ_START_NS		(10 * 1000000000ull)
#define FUZZ_WARMUP		50	/* answers before outliers count */
#define FUZZ_WINDOW		101	/* latencies kept per endpoint */
#define FUZZ_SLOW_FACTOR	10
#define FUZZ_MAX_SUSPECTS	64
#define FUZZ_MAX_CANDIDATES	256
#define FUZZ_CONNECT_FAILS	200	/* in a row: the target is gone */
#define FUZZ_RESP_KEEP		1024	/* answer bytes kept after the head */

enum fuzz_cstate { FC_CLOSED, FC_CONNECTING, FC_HANDSHAKE, FC_OPEN };

/* One request to send and, once done, its outcome. */
struct fuzz_job {
	struct buf	 req;
	uint64_t	 index;		/* mutant number; UINT64_MAX: triage */
	struct mut_info	 info;
	size_t		 ep;		/* endpoint (of the corpus entry) */
	int		 head;		/* a HEAD request */

	enum fuzz_kind	 kind;
	int		 status;
	char		*sig;		/* 5xx: fuzz_body_signature() */
	struct buf	 resp;		/* 5xx, bad-response: the head and
					   the first bytes of the answer */
	uint64_t	 start;
	uint64_t	 elapsed;
	uint64_t	 done_at;
	int		 done;
	int		 retried;	/* re-sent after a death */
};

struct fuzz;

struct fuzz_conn {
	struct fuzz		*f;
	struct loop_io		 io;
	struct loop_timer	 timer;
	int			 fd;
	SSL			*ssl;		/* NULL: http:// */
	int			 wr_want_out;	/* the write waits for EPOLLOUT */
	int			 rd_want_out;	/* SSL_read does */
	enum fuzz_cstate	 state;
	int			 reused;	/* answered a request before */
	int			 oneshot;	/* close after this job */
	int			 halfclose;	/* shutdown(SHUT_WR) after it */
	struct fuzz_job		*job;		/* NULL: idle */
	size_t			 woff;
	struct buf		 in;
};

struct fuzz_endpoint {
	char		*name;		/* "POST /cart/items" */
	uint64_t	 lat[FUZZ_WINDOW];
	size_t		 nlat;		/* answers seen */
};

struct fuzz_key {
	size_t		 ep;
	enum fuzz_kind	 kind;
	int		 status;
	char		*signature;
};

struct fuzz_reject {
	size_t		 ep;
	enum fuzz_kind	 kind;
	int		 status;
	unsigned	 count;
};

struct fuzz {
	const struct fuzz_config *cfg;
	struct fuzz_result	*res;
	volatile int		*stop;
	struct loop		*loop;
	struct sock_addr	 addr;
	int			 port;
	SSL_CTX			*ssl_ctx;	/* NULL: http:// */
	char			*tls_host;	/* SNI, certificate check */
	int			 tls_up;	/* a handshake succeeded */
	int			 tls_warned;
	char			*tls_fatal;	/* stops the campaign */

	struct mut_corpus	*corpus;
	struct mut_engine	*engine;
	size_t			*entry_ep;	/* corpus entry -> endpoint */
	struct fuzz_endpoint	*eps;
	size_t			 neps;

	struct fuzz_conn	*conns;
	size_t			 nconns;
	struct loop_timer	 tick;
	struct loop_defer	 dispatch;

	/* Sending. */
	uint64_t		 next_index;
	uint64_t		 t0;
	uint64_t		 t0_clock;	/* loop_clock_ns() at start */
	int			 pausing;	/* no new mutants */
	int			 ended;		/* budget spent */
	uint64_t		 inflight;
	uint64_t		 connect_fails;	/* in a row */
	uint64_t		 last_progress;

	/* Failures waiting for triage. */
	struct fuzz_job		**cands;
	size_t			 ncands;
	/* Resets and closes waiting FUZZ_GRACE_NS for a death. */
	struct fuzz_job		**recent;
	size_t			 nrecent;
	/* Jobs cut short by a death, to send again. */
	struct fuzz_job		**retry;
	size_t			 nretry;
	/* Jobs in flight or just failed when the service died. */
	struct fuzz_job		**suspects;
	size_t			 nsuspects;
	int			 died;
	int			 died_status;

	/* The service. */
	pid_t			 pid;		/* -1: not ours, or dead */
	char			*svc_cmd;	/* {port} substituted */
	char			*svc_log;
	off_t			 log_off;	/* read up to here */
	uint64_t		 report_at;	/* a sanitizer report seen */
	int			 connect_failed;
	int			 gone_warned;

	/* Findings. */
	struct fuzz_key		*keys;		/* parallel to res->findings */
	struct fuzz_reject	*rejects;
	size_t			 nrejects;
	int			 send_one_active;
};

static char	*fuzz_service_log_new(struct fuzz *, size_t *);
static void	fuzz_conn_io(struct loop_io *, uint32_t);
static void	fuzz_conn_timeout(struct loop_timer *);
static void	fuzz_job_finish(struct fuzz *, struct fuzz_job *);

/* ---------------------------------------------------------------------- */
/* Configuration. */

void
fuzz_config_init(struct fuzz_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->requests = 10000;
	cfg->seed = 1;
	cfg->findings = xstrdup("findings");
	cfg->connections = 8;
	cfg->timeout_ns = 2000 * 1000000ull;
	cfg->slow_floor_ns = 250 * 1000000ull;
	cfg->max_attempts = 300;
	cfg->minimise_ns = 30 * 1000000000ull;
}

void
fuzz_config_free(struct fuzz_config *cfg)
{
	free(cfg->corpus);
	free(cfg->target);
	free(cfg->ca_file);
	free(cfg->findings);
	free(cfg->service_cmd);
	free(cfg->service_log);
	free(cfg->service_dir);
	for (size_t i = 0; i < cfg->nservice_env; i++)
		free(cfg->service_env[i]);
	free(cfg->service_env);
	memset(cfg, 0, sizeof *cfg);
}

void
fuzz_result_free(struct fuzz_result *res)
{
	size_t	i;

	for (i = 0; i < res->nfindings; i++) {
		free(res->findings[i].dir);
		free(res->findings[i].endpoint);
		free(res->findings[i].signature);
		free(res->findings[i].excerpt);
		free(res->findings[i].response);
	}
	free(res->findings);
	memset(res, 0, sizeof *res);
}

/* "http[s]://HOST:PORT[/]"; the host is resolved here (start-up). */
static int
fuzz_parse_target(struct fuzz *f, const char *url, char **cause)
{
	const char	*s, *slash;
	char		*hp, *addr;
	size_t		 n;
	int		 tls;

	if (strncmp(url, "http://", 7) == 0) {
		tls = 0;
		s = url + 7;
	} else if (strncmp(url, "https://", 8) == 0) {
		tls = 1;
		s = url + 8;
	} else {
		*cause = xasprintf("target %s: expected http://HOST:PORT or "
		    "https://HOST:PORT", url);
		return -1;
	}
	slash = strchr(s, '/');
	n = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (slash != NULL && slash[1] != '\0') {
		*cause = xasprintf("target %s: a path prefix is not supported "
		    "(the corpus holds the paths)", url);
		return -1;
	}
	if (n == 0) {
		*cause = xasprintf("target %s: no host", url);
		return -1;
	}
	hp = xstrndup(s, n);
	if (strrchr(hp, ':') == NULL || hp[n - 1] == ']')
		addr = xasprintf("%s:%d", hp, tls ? 443 : 80);
	else
		addr = xstrdup(hp);
	if (tls)
		f->tls_host = sock_host_name(hp);
	free(hp);
	if (sock_parse_addr(addr, &f->addr, cause) == -1) {
		free(addr);
		return -1;
	}
	free(addr);
	f->port = sock_addr_port(&f->addr);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* The service. */

/* Replaces every "{port}" in cmd. */
static char *
fuzz_subst_port(const char *cmd, int port)
{
	struct buf	 b;
	const char	*p;

	buf_init(&b);
	while ((p = strstr(cmd, "{port}")) != NULL) {
		buf_append(&b, cmd, (size_t)(p - cmd));
		buf_printf(&b, "%d", port);
		cmd = p + 6;
	}
	buf_append_str(&b, cmd);
	return buf_detach(&b, NULL);
}

/* A free port on 127.0.0.1 (bound to port 0, then released). */
static int
fuzz_free_port(char **cause)
{
	struct sock_addr	a;
	int			fd, port;

	if (sock_parse_addr("127.0.0.1:0", &a, cause) == -1)
		return -1;
	if ((fd = sock_listen(&a, SOCK_SHARE_NONE, cause)) == -1)
		return -1;
	if (sock_local_addr(fd, &a) == -1) {
		*cause = xasprintf("getsockname: %s", strerror(errno));
		close(fd);
		return -1;
	}
	port = sock_addr_port(&a);
	close(fd);
	return port;
}

/* One blocking connect attempt (start-up and restarts only). */
static int
fuzz_port_open(struct fuzz *f)
{
	struct pollfd	pfd;
	int		fd, err = 0;
	socklen_t	slen = sizeof err;

	fd = socket(f->addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return 0;
	if (connect(fd, (struct sockaddr *)&f->addr.ss, f->addr.len) == 0) {
		close(fd);
		return 1;
	}
	if (errno != EINPROGRESS) {
		close(fd);
		return 0;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, 200) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR,
	    &err, &slen) == -1 || err != 0) {
		close(fd);
		return 0;
	}
	close(fd);
	return 1;
}

static void
fuzz_sleep_ms(int ms)
{
	struct timespec	ts;

	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Reaps the service if it died; 1 (with *status) when it did. */
static int
fuzz_service_reap(struct fuzz *f, int *status)
{
	pid_t	r;

	if (f->pid == -1)
		return 0;
	r = waitpid(f->pid, status, WNOHANG);
	if (r == f->pid) {
		kill(-f->pid, SIGKILL);		/* what is left of the group */
		f->pid = -1;
		return 1;
	}
	return 0;
}

static int
fuzz_service_start(struct fuzz *f, char **cause)
{
	uint64_t	deadline;
	int		fd, nfd, status;
	size_t		i;
	pid_t		pid;

	if ((fd = open(f->svc_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0644)) == -1) {
		*cause = xasprintf("%s: %s", f->svc_log, strerror(errno));
		return -1;
	}
	if ((pid = fork()) == -1) {
		*cause = xasprintf("fork: %s", strerror(errno));
		close(fd);
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		/* Symbolizing each report costs ~0.25 s a death; the
		 * signature does without (see fuzz_crash_signature()). */
		if (getenv("ASAN_OPTIONS") == NULL)
			setenv("ASAN_OPTIONS", "symbolize=0", 1);
		for (i = 0; i < f->cfg->nservice_env; i++)
			putenv(f->cfg->service_env[i]);
		if (f->cfg->service_dir != NULL &&
		    chdir(f->cfg->service_dir) == -1) {
			dprintf(2, "decoy fuzz: %s: %s\n",
			    f->cfg->service_dir, strerror(errno));
			_exit(127);
		}
		if ((nfd = open("/dev/null", O_RDONLY)) != -1)
			dup2(nfd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		execl("/bin/sh", "sh", "-c", f->svc_cmd, (char *)NULL);
		_exit(127);
	}
	setpgid(pid, pid);
	close(fd);
	f->pid = pid;
	deadline = loop_clock_ns() + FUZZ_START_NS;
	while (!fuzz_port_open(f)) {
		if (fuzz_service_reap(f, &status)) {
			*cause = xasprintf("service command exited before "
			    "accepting connections on port %d (status %d); see "
			    "%s", f->port, status, f->svc_log);
			return -1;
		}
		if (loop_clock_ns() > deadline) {
			*cause = xasprintf("service does not accept connections "
			    "on port %d after %d s; see %s", f->port,
			    (int)(FUZZ_START_NS / 1000000000ull), f->svc_log);
			return -1;
		}
		fuzz_sleep_ms(2);
	}
	return 0;
}

static void
fuzz_service_stop(struct fuzz *f)
{
	int	i, status;

	if (f->pid == -1)
		return;
	kill(-f->pid, SIGTERM);
	for (i = 0; i < 100; i++) {
		if (waitpid(f->pid, &status, WNOHANG) == f->pid) {
			kill(-f->pid, SIGKILL);
			f->pid = -1;
			return;
		}
		fuzz_sleep_ms(10);
	}
	kill(-f->pid, SIGKILL);
	waitpid(f->pid, &status, 0);
	f->pid = -1;
}

/*
 * Before a request sent on its own (replay): the service decoy runs is
 * alive and accepting, restarted if it died or stopped accepting (a
 * death that came after the last answer, too late to be seen then).  No
 * service of ours: nothing to do.  -1 with *cause if it cannot start.
 */
static int
fuzz_service_ensure(struct fuzz *f, char **cause)
{
	uint64_t	 deadline;
	int		 status;
	size_t		 len;

	if (f->svc_cmd == NULL)
		return 0;
	deadline = loop_clock_ns() + FUZZ_GRACE_NS;
	while (f->pid != -1 && !fuzz_port_open(f)) {
		if (fuzz_service_reap(f, &status))
			break;
		if (loop_clock_ns() > deadline) {
			fuzz_service_stop(f);
			break;
		}
		fuzz_sleep_ms(5);
	}
	if (f->pid != -1)
		return 0;
	free(fuzz_service_log_new(f, &len));	/* that death is told */
	return fuzz_service_start(f, cause);
}

/* What the service wrote since last time (NUL-terminated; may be ""). */
static char *
fuzz_service_log_new(struct fuzz *f, size_t *len)
{
	struct buf	b;
	char		chunk[8192];
	ssize_t		n;
	int		fd;

	buf_init(&b);
	buf_append(&b, "", 0);
	if ((fd = open(f->svc_log, O_RDONLY | O_CLOEXEC)) != -1) {
		if (lseek(fd, f->log_off, SEEK_SET) != -1) {
			while ((n = read(fd, chunk, sizeof chunk)) > 0) {
				buf_append(&b, chunk, (size_t)n);
				f->log_off += n;
			}
		}
		close(fd);
	}
	buf_reserve(&b, 1);
	return buf_detach(&b, len);
}

/* True if the log grew with a sanitizer report (without consuming it). */
static int
fuzz_service_log_has_report(struct fuzz *f)
{
	struct stat	st;
	char		buf[4096];
	ssize_t		n;
	int		fd, found = 0;
	off_t		off;

	if (stat(f->svc_log, &st) == -1 || st.st_size <= f->log_off)
		return 0;
	if ((fd = open(f->svc_log, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	off = f->log_off;
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

/* ---------------------------------------------------------------------- */
/* The client. */

/* Closes c (a TLS connection without close_notify: nothing is sent). */
static void
fuzz_conn_close(struct fuzz_conn *c)
{
	if (c->ssl != NULL) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd != -1) {
		loop_io_del(c->f->loop, &c->io);
		close(c->fd);
		c->fd = -1;
	}
	c->state = FC_CLOSED;
	c->wr_want_out = c->rd_want_out = 0;
	c->reused = 0;
	buf_reset(&c->in);
}

/* Ends the connection's job with kind (and closes unless it may be
 * reused). */
static void
fuzz_conn_end(struct fuzz_conn *c, enum fuzz_kind kind, int status,
    int keep)
{
	struct fuzz	*f = c->f;
	struct fuzz_job	*j = c->job;
	uint64_t	 now = loop_now_update(f->loop);

	loop_timer_del(f->loop, &c->timer);
	if (!keep || c->oneshot)
		fuzz_conn_close(c);
	else {
		buf_reset(&c->in);
		c->reused = 1;
	}
	c->job = NULL;
	if (j == NULL)
		return;
	j->kind = kind;
	j->status = status;
	j->elapsed = now - j->start;
	j->done_at = now;
	j->done = 1;
	f->inflight--;
	fuzz_job_finish(f, j);
}

static void
fuzz_conn_timeout(struct loop_timer *t)
{
	fuzz_conn_end(t->arg, FUZZ_TIMEOUT, 0, 0);
}

/* Interest: always readable; writable while a write (or, TLS, a read)
 * waits for it. */
static void
fuzz_conn_wait(struct fuzz_conn *c)
{
	loop_io_mod(c->f->loop, &c->io, EPOLLIN |
	    (c->wr_want_out || c->rd_want_out ? EPOLLOUT : 0));
}

/* After an SSL_read or SSL_write that returned n <= 0: -1 with errno
 * EAGAIN when it waits for the socket (*want_out: for writability), 0
 * for a close (clean or not: HTTP framing tells whether an answer is
 * whole), else -1 with errno (ECONNRESET for a TLS-level failure, which
 * counts as a reset). */
static ssize_t
fuzz_tls_result(struct fuzz_conn *c, int n, int *want_out)
{
	int	err = SSL_get_error(c->ssl, n);

	ERR_clear_error();
	switch (err) {
	case SSL_ERROR_WANT_READ:
		*want_out = 0;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		*want_out = 1;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (errno == 0)
			return 0;
		return -1;
	default:
		errno = ECONNRESET;
		return -1;
	}
}

/* send(2) or SSL_write: the bytes written, or -1 with errno (EAGAIN:
 * again once the loop says so). */
static ssize_t
fuzz_conn_xmit(struct fuzz_conn *c, const char *p, size_t len)
{
	ssize_t	n;

	if (c->ssl == NULL) {
		n = send(c->fd, p, len, MSG_NOSIGNAL);
		c->wr_want_out = n == -1 && (errno == EAGAIN ||
		    errno == EWOULDBLOCK);
		return n;
	}
	if (len > INT_MAX)
		len = INT_MAX;
	ERR_clear_error();
	errno = 0;
	if ((n = SSL_write(c->ssl, p, (int)len)) > 0)
		return n;
	if ((n = fuzz_tls_result(c, (int)n, &c->wr_want_out)) == 0) {
		errno = EPIPE;
		n = -1;
	}
	return n;
}

/* read(2) or SSL_read: the bytes read, 0 at the end, or -1 with errno
 * (EAGAIN: nothing yet). */
static ssize_t
fuzz_conn_recv(struct fuzz_conn *c, char *p, size_t len)
{
	int	n;

	if (c->ssl == NULL)
		return read(c->fd, p, len);
	if (len > INT_MAX)
		len = INT_MAX;
	ERR_clear_error();
	errno = 0;
	c->rd_want_out = 0;
	if ((n = SSL_read(c->ssl, p, (int)len)) > 0)
		return n;
	return fuzz_tls_result(c, n, &c->rd_want_out);
}

static void
fuzz_conn_write(struct fuzz_conn *c)
{
	struct fuzz_job	*j = c->job;
	ssize_t		 n;

	while (c->woff < j->req.len) {
		n = fuzz_conn_xmit(c, j->req.data + c->woff,
		    j->req.len - c->woff);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				fuzz_conn_wait(c);
				return;
			}
			/* The server may have answered and closed before
			 * reading everything: read what it said first. */
			c->wr_want_out = 0;
			fuzz_conn_wait(c);
			c->woff = j->req.len;
			return;
		}
		c->woff += (size_t)n;
	}
	/* TLS too: the server reads the end of the stream (no
	 * close_notify). */
	if (c->halfclose)
		shutdown(c->fd, SHUT_WR);
	c->wr_want_out = 0;
	fuzz_conn_wait(c);
}

/*
 * Keeps what a 5xx answer (head of head_len bytes, then its body, whole
 * in c->in) says: its head and first bytes in the job, for finding.json,
 * and the signature of its body (decoded when chunked).
 */
static void
fuzz_conn_keep_answer(struct fuzz_conn *c, size_t head_len, int chunked,
    size_t body_len)
{
	struct fuzz_job		*j = c->job;
	struct http_chunked	 ch;
	enum http_err		 err;
	size_t			 len = c->in.len - head_len, erroff;
	char			*body;

	if (j == NULL)
		return;
	/* Not what follows it (an answer to bytes after the request). */
	if (!chunked && body_len < len)
		len = body_len;
	buf_reset(&j->resp);
	buf_append(&j->resp, c->in.data, head_len + (len < FUZZ_RESP_KEEP ?
	    len : FUZZ_RESP_KEEP));
	body = xmalloc(len + 1);
	memcpy(body, c->in.data + head_len, len);
	if (chunked) {
		http_chunked_init(&ch);
		if (http_chunked_decode(&ch, body, &len, &err, &erroff) ==
		    HTTP_ERROR)
			len = 0;
	}
	free(j->sig);
	j->sig = fuzz_body_signature(body, len, j->req.data, j->req.len);
	free(body);
}

/* Parses what has been read; ends the job when the answer is complete or
 * cannot be. */
static void
fuzz_conn_parse(struct fuzz_conn *c, int eof, int reset)
{
	struct http_msg		m;
	struct http_chunked	ch;
	enum http_err		err;
	size_t			erroff, len;
	ssize_t			n, r;
	int			keep;

	for (;;) {
		n = http_parse_response(c->in.data == NULL ? "" : c->in.data,
		    c->in.len, FUZZ_MAX_HEAD, c->job->head, &m, &err, &erroff);
		if (n == HTTP_ERROR) {
			if (c->job != NULL) {
				buf_reset(&c->job->resp);
				buf_append(&c->job->resp, c->in.data,
				    c->in.len < FUZZ_RESP_KEEP ? c->in.len :
				    FUZZ_RESP_KEEP);
			}
			fuzz_conn_end(c, FUZZ_BAD_RESPONSE, 0, 0);
			return;
		}
		if (n == HTTP_PARTIAL) {
			if (reset)
				fuzz_conn_end(c, FUZZ_RESET, 0, 0);
			else if (eof)
				fuzz_conn_end(c, c->in.len == 0 ? FUZZ_EOF :
				    FUZZ_BAD_RESPONSE, 0, 0);
			return;
		}
		if (m.status >= 100 && m.status < 200) {
			buf_consume(&c->in, (size_t)n);
			continue;
		}
		break;
	}
	keep = m.keep_alive && !eof && !reset;
	switch (m.framing) {
	case HTTP_FRAME_NONE:
		break;
	case HTTP_FRAME_LENGTH:
		if (m.content_length > FUZZ_MAX_BODY) {
			fuzz_conn_end(c, FUZZ_BAD_RESPONSE, m.status, 0);
			return;
		}
		if (c->in.len - (size_t)n < m.content_length) {
			if (eof || reset)
				fuzz_conn_end(c, reset ? FUZZ_RESET : FUZZ_EOF,
				    m.status, 0);
			return;
		}
		if (c->in.len - (size_t)n > m.content_length)
			keep = 0;
		break;
	case HTTP_FRAME_CHUNKED:
		/* Decode a copy: the buffer stays as read until complete. */
		http_chunked_init(&ch);
		{
			char	*copy = xmalloc(c->in.len - (size_t)n + 1);

			len = c->in.len - (size_t)n;
			memcpy(copy, c->in.data + n, len);
			r = http_chunked_decode(&ch, copy, &len, &err, &erroff);
			free(copy);
		}
		if (r == HTTP_ERROR) {
			fuzz_conn_end(c, FUZZ_BAD_RESPONSE, m.status, 0);
			return;
		}
		if (r == HTTP_PARTIAL) {
			if (eof || reset)
				fuzz_conn_end(c, reset ? FUZZ_RESET : FUZZ_EOF,
				    m.status, 0);
			return;
		}
		if (r > 0)
			keep = 0;
		break;
	case HTTP_FRAME_EOF:
		if (!eof && !reset)
			return;
		keep = 0;
		break;
	}
	if (m.status >= 500)
		fuzz_conn_keep_answer(c, (size_t)n, m.framing ==
		    HTTP_FRAME_CHUNKED, m.framing == HTTP_FRAME_LENGTH ?
		    (size_t)m.content_length : m.framing == HTTP_FRAME_NONE ?
		    0 : SIZE_MAX);
	fuzz_conn_end(c, m.status >= 500 ? FUZZ_5XX : FUZZ_OK, m.status,
	    keep);
}

/* A handshake failed.  Before any succeeded, a TLS-level failure
 * (verification, protocol) stops the campaign: every connection would
 * fail the same way.  Else the reason is logged once. */
static void
fuzz_tls_failed(struct fuzz_conn *c, int sslerr)
{
	struct fuzz	*f = c->f;
	long		 vr;
	char		 ebuf[256], *why;
	unsigned long	 e;

	vr = c->ssl != NULL ? SSL_get_verify_result(c->ssl) : X509_V_OK;
	if (!f->cfg->insecure && vr != X509_V_OK)
		why = xasprintf("certificate verification failed: %s (give "
		    "the CA with --ca FILE, or --insecure)",
		    X509_verify_cert_error_string(vr));
	else if ((e = ERR_peek_error()) != 0) {
		ERR_error_string_n(e, ebuf, sizeof ebuf);
		why = xstrdup(ebuf);
	} else if (sslerr == SSL_ERROR_SYSCALL && errno != 0)
		why = xstrdup(strerror(errno));
	else
		why = xstrdup("connection closed by the server");
	ERR_clear_error();
	if (!f->tls_up && sslerr == SSL_ERROR_SSL && f->tls_fatal == NULL) {
		f->tls_fatal = xasprintf("target %s: TLS handshake failed: %s",
		    f->cfg->target, why);
		f->ended = 1;
	} else if (!f->tls_warned && f->tls_fatal == NULL) {
		log_warn("%s: TLS handshake failed: %s", f->cfg->target, why);
		f->tls_warned = 1;
	}
	free(why);
}

/* TLS: drives the handshake; once done, sends the job. */
static void
fuzz_conn_handshake(struct fuzz_conn *c)
{
	int	r, err;

	ERR_clear_error();
	errno = 0;
	if ((r = SSL_do_handshake(c->ssl)) == 1) {
		c->state = FC_OPEN;
		c->f->tls_up = 1;
		c->wr_want_out = 0;
		if (c->job != NULL)
			fuzz_conn_write(c);
		else
			fuzz_conn_wait(c);
		return;
	}
	err = SSL_get_error(c->ssl, r);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
		c->wr_want_out = err == SSL_ERROR_WANT_WRITE;
		fuzz_conn_wait(c);
		return;
	}
	fuzz_tls_failed(c, err);
	fuzz_conn_end(c, FUZZ_CONNECT, 0, 0);
}

/* The TCP connection is up: TLS starts, or the job is written. */
static void
fuzz_conn_up(struct fuzz_conn *c)
{
	struct fuzz	*f = c->f;

	if (f->ssl_ctx == NULL) {
		c->state = FC_OPEN;
		if (c->job != NULL)
			fuzz_conn_write(c);
		return;
	}
	ERR_clear_error();
	if ((c->ssl = ca_client_ssl(f->ssl_ctx, c->fd, f->tls_host,
	    f->cfg->insecure)) == NULL) {
		fuzz_tls_failed(c, SSL_ERROR_SSL);
		fuzz_conn_end(c, FUZZ_CONNECT, 0, 0);
		return;
	}
	c->state = FC_HANDSHAKE;
	fuzz_conn_handshake(c);
}

static void
fuzz_conn_io(struct loop_io *io, uint32_t events)
{
	struct fuzz_conn	*c = io->arg;
	ssize_t			 n;
	int			 soerr = 0;
	socklen_t		 slen = sizeof soerr;

	if (c->fd == -1)
		return;
	if (c->state == FC_CONNECTING) {
		if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
			return;
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr,
		    &slen) == -1 || soerr != 0) {
			fuzz_conn_end(c, FUZZ_CONNECT, 0, 0);
			return;
		}
		fuzz_conn_up(c);
		return;
	}
	if (c->state == FC_HANDSHAKE) {
		fuzz_conn_handshake(c);
		return;
	}
	if (c->job == NULL) {
		/* Bytes or a close on an idle connection: drop it (TLS
		 * records without application data, such as session
		 * tickets, are no news). */
		buf_reserve(&c->in, FUZZ_READ_CHUNK);
		if (c->ssl == NULL || fuzz_conn_recv(c, c->in.data,
		    c->in.cap - 1) != -1 || errno != EAGAIN)
			fuzz_conn_close(c);
		else
			fuzz_conn_wait(c);
		return;
	}
	/* TLS: SSL_write may wait for readability, SSL_read for
	 * writability; both are tried on any event. */
	if (c->woff < c->job->req.len && ((events & EPOLLOUT) ||
	    c->ssl != NULL)) {
		fuzz_conn_write(c);
		if (c->fd == -1 || c->job == NULL)
			return;
	}
	if (!(events & (EPOLLIN | EPOLLERR | EPOLLHUP)) && c->ssl == NULL)
		return;
	for (;;) {
		buf_reserve(&c->in, FUZZ_READ_CHUNK);
		n = fuzz_conn_recv(c, c->in.data + c->in.len,
		    c->in.cap - c->in.len - 1);
		if (n > 0) {
			c->in.len += (size_t)n;
			c->in.data[c->in.len] = '\0';
			if (c->in.len > FUZZ_MAX_HEAD + FUZZ_MAX_BODY) {
				fuzz_conn_end(c, FUZZ_BAD_RESPONSE, 0, 0);
				return;
			}
			continue;
		}
		if (n == 0) {
			fuzz_conn_parse(c, 1, 0);
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		fuzz_conn_parse(c, 0, 1);
		return;
	}
	if (c->ssl != NULL)
		fuzz_conn_wait(c);
	fuzz_conn_parse(c, 0, 0);
}

static int
fuzz_conn_connect(struct fuzz_conn *c)
{
	struct fuzz	*f = c->f;
	int		 fd, one = 1;

	fd = socket(f->addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&f->addr.ss, f->addr.len) == -1 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	if (loop_io_add(f->loop, &c->io, fd, EPOLLIN | EPOLLOUT, fuzz_conn_io,
	    c) == -1) {
		close(fd);
		return -1;
	}
	c->fd = fd;
	c->state = FC_CONNECTING;
	c->reused = 0;
	buf_reset(&c->in);
	return 0;
}

/* Starts job j on c (connecting if c is closed); oneshot: on a fresh
 * connection, closed after the job. */
static void
fuzz_conn_send(struct fuzz_conn *c, struct fuzz_job *j, int oneshot,
    int halfclose)
{
	struct fuzz	*f = c->f;

	if (oneshot && c->fd != -1)
		fuzz_conn_close(c);
	c->job = j;
	c->woff = 0;
	c->oneshot = oneshot;
	c->halfclose = halfclose;
	j->done = 0;
	j->start = loop_now_update(f->loop);
	f->inflight++;
	loop_timer_add(f->loop, &c->timer, f->cfg->timeout_ns);
	if (c->fd == -1) {
		if (fuzz_conn_connect(c) == -1) {
			fuzz_conn_end(c, FUZZ_CONNECT, 0, 0);
			return;
		}
		return;		/* written once connected */
	}
	fuzz_conn_write(c);
}

/* ---------------------------------------------------------------------- */
/* Endpoints, keys, outliers. */

static size_t
fuzz_endpoint_intern(struct fuzz *f, char *name)
{
	size_t	i;

	for (i = 0; i < f->neps; i++) {
		if (strcmp(f->eps[i].name, name) == 0) {
			free(name);
			return i;
		}
	}
	f->eps = xreallocarray(f->eps, f->neps + 1, sizeof *f->eps);
	memset(&f->eps[f->neps], 0, sizeof f->eps[0]);
	f->eps[f->neps].name = name;
	return f->neps++;
}

/* The endpoint of a raw request (its method and path). */
static char *
fuzz_raw_endpoint(const char *raw, size_t len)
{
	const char	*sp1, *sp2, *eol;

	eol = memchr(raw, '\n', len);
	if (eol == NULL)
		eol = raw + len;
	sp1 = memchr(raw, ' ', (size_t)(eol - raw));
	sp2 = sp1 != NULL ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) :
	    NULL;
	if (sp1 == NULL || sp2 == NULL)
		return xstrdup("? /");
	return fuzz_endpoint(raw, (size_t)(sp1 - raw), sp1 + 1,
	    (size_t)(sp2 - sp1 - 1));
}

static int
fuzz_cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Records an answer's latency; 1 if it is an outlier. */
static int
fuzz_latency(struct fuzz *f, size_t ep, uint64_t ns)
{
	struct fuzz_endpoint	*e = &f->eps[ep];
	uint64_t		 tmp[FUZZ_WINDOW], median;
	size_t			 n = e->nlat < FUZZ_WINDOW ? e->nlat : FUZZ_WINDOW;
	int			 slow = 0;

	if (e->nlat >= FUZZ_WARMUP) {
		memcpy(tmp, e->lat, n * sizeof tmp[0]);
		qsort(tmp, n, sizeof tmp[0], fuzz_cmp_u64);
		median = tmp[n / 2];
		slow = ns > f->cfg->slow_floor_ns &&
		    ns > median * FUZZ_SLOW_FACTOR;
	}
	if (!slow) {
		e->lat[e->nlat % FUZZ_WINDOW] = ns;
		e->nlat++;
	}
	return slow;
}

/* The finding with this key, or -1. */
static ssize_t
fuzz_key_find(struct fuzz *f, size_t ep, enum fuzz_kind kind, int status,
    const char *signature)
{
	size_t	i;

	for (i = 0; i < f->res->nfindings; i++) {
		const struct fuzz_key *k = &f->keys[i];

		if (k->ep != ep || k->kind != kind)
			continue;
		if (kind == FUZZ_5XX && (k->status != status ||
		    strcmp(k->signature != NULL ? k->signature : "",
		    signature != NULL ? signature : "") != 0))
			continue;
		if (kind == FUZZ_CRASH && (signature == NULL ||
		    k->signature == NULL || strcmp(k->signature,
		    signature) != 0))
			continue;
		return (ssize_t)i;
	}
	return -1;
}

/*
 * The endpoint a mutant is charged to: its own method and path template
 * when that is one of the corpus's endpoints (a mutated path may lead
 * to another handler), else the endpoint of the entry it came from
 * (mangled paths would otherwise make a new endpoint each).
 */
static size_t
fuzz_job_endpoint(struct fuzz *f, const struct fuzz_job *j)
{
	char	*name = fuzz_raw_endpoint(j->req.data, j->req.len);
	size_t	 i;

	for (i = 0; i < f->neps; i++) {
		if (strcmp(f->eps[i].name, name) == 0) {
			free(name);
			return i;
		}
	}
	free(name);
	return f->entry_ep[j->info.parent];
}

/* ---------------------------------------------------------------------- */
/* Sending mutants. */

static struct fuzz_job *
fuzz_job_new(void)
{
	struct fuzz_job	*j = xcalloc(1, sizeof *j);

	buf_init(&j->req);
	buf_init(&j->resp);
	j->index = UINT64_MAX;
	return j;
}

static void
fuzz_job_free(struct fuzz_job *j)
{
	if (j == NULL)
		return;
	buf_free(&j->req);
	buf_free(&j->resp);
	free(j->sig);
	free(j);
}

static int
fuzz_budget_left(struct fuzz *f)
{
	const struct fuzz_config	*cfg = f->cfg;

	if (cfg->requests > 0 && f->next_index >= cfg->requests)
		return 0;
	if (cfg->duration_ns > 0 &&
	    loop_now(f->loop) - f->t0 >= cfg->duration_ns)
		return 0;
	if (*f->stop)
		return 0;
	return 1;
}

static void
fuzz_maybe_return(struct fuzz *f)
{
	if (f->inflight == 0 && (f->pausing || f->ended))
		loop_stop(f->loop);
}

/* Fills every idle connection with a new mutant (deferred: never from
 * inside an I/O callback of a connection that may be reopened). */
static void
fuzz_dispatch(struct loop_defer *d)
{
	struct fuzz	*f = d->arg;
	struct fuzz_job	*j;
	size_t		 i;

	for (i = 0; i < f->nconns; i++) {
		struct fuzz_conn *c = &f->conns[i];

		if (c->job != NULL)
			continue;
		if (f->pausing || f->ended)
			break;
		if (f->nretry > 0) {
			j = f->retry[--f->nretry];
			f->res->sent++;
			fuzz_conn_send(c, j, j->info.framing, j->info.framing);
			continue;
		}
		if (!fuzz_budget_left(f)) {
			f->ended = 1;
			break;
		}
		j = fuzz_job_new();
		mut_next(f->engine, &j->req, &j->info);
		j->index = f->next_index++;
		f->res->mutants = f->next_index;
		j->ep = fuzz_job_endpoint(f, j);
		j->head = j->req.len >= 5 && memcmp(j->req.data, "HEAD ",
		    5) == 0;
		f->res->sent++;
		fuzz_conn_send(c, j, j->info.framing, j->info.framing);
	}
	fuzz_maybe_return(f);
}

static void
fuzz_push(struct fuzz_job ***v, size_t *n, size_t max, struct fuzz_job *j)
{
	if (*n >= max) {
		fuzz_job_free(j);
		return;
	}
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = j;
}

/* The rejected key of (ep, kind, status): its slot, created if new. */
static struct fuzz_reject *
fuzz_reject_slot(struct fuzz *f, size_t ep, enum fuzz_kind kind, int status)
{
	size_t	i;

	for (i = 0; i < f->nrejects; i++)
		if (f->rejects[i].ep == ep && f->rejects[i].kind == kind &&
		    f->rejects[i].status == status)
			return &f->rejects[i];
	f->rejects = xreallocarray(f->rejects, f->nrejects + 1,
	    sizeof *f->rejects);
	memset(&f->rejects[f->nrejects], 0, sizeof f->rejects[0]);
	f->rejects[f->nrejects].ep = ep;
	f->rejects[f->nrejects].kind = kind;
	f->rejects[f->nrejects].status = status;
	return &f->rejects[f->nrejects++];
}

/*
 * Protocol noise (fuzz_noise_classify): is the failure (kind, status) of
 * j the service's correct answer to what the mutant broke?  Counted in
 * the result when it is; 1 if so and the campaign does not report such
 * answers (always counted and 1 when force: a framing-broken mutant's
 * close was never a finding).
 */
static int
fuzz_noise(struct fuzz *f, const struct fuzz_job *j, enum fuzz_kind kind,
    int status, int force)
{
	const char	*raw, *sp;
	size_t		 len;
	enum fuzz_noise	 n;

	raw = mut_corpus_entry(f->corpus, j->info.parent, &len);
	sp = raw != NULL ? memchr(raw, ' ', len) : NULL;
	n = fuzz_noise_classify(j->req.data, j->req.len, raw != NULL ? raw :
	    "", sp != NULL ? (size_t)(sp - raw) : 0, j->info.framing, kind,
	    status);
	if (n == FUZZ_NOISE_NONE)
		return force;
	if (f->cfg->strict_protocol && !force)
		return 0;
	f->res->noise++;
	f->res->noise_by[n]++;
	return 1;
}

/* A failure that is not a death: protocol noise (counted), a hit of a
 * known finding, or a candidate that pauses the campaign (unless failures
 * like it were not reproduced FUZZ_REJECTS times: flaky, not worth a
 * pause). */
static void
fuzz_failure(struct fuzz *f, struct fuzz_job *j)
{
	ssize_t	k;

	f->res->failures++;
	if (fuzz_noise(f, j, j->kind, j->status, 0)) {
		fuzz_job_free(j);
		return;
	}
	k = fuzz_key_find(f, j->ep, j->kind, j->status, j->sig);
	if (k != -1) {
		f->res->findings[k].hits++;
		fuzz_job_free(j);
		return;
	}
	if (fuzz_reject_slot(f, j->ep, j->kind, j->status)->count >=
	    FUZZ_REJECTS) {
		fuzz_job_free(j);
		return;
	}
	fuzz_push(&f->cands, &f->ncands, FUZZ_MAX_CANDIDATES, j);
	f->pausing = 1;
}

/* A job of the campaign is over. */
static void
fuzz_job_finish(struct fuzz *f, struct fuzz_job *j)
{
	if (f->send_one_active) {
		loop_stop(f->loop);
		return;
	}
	switch (j->kind) {
	case FUZZ_OK:
	case FUZZ_5XX:
		f->connect_fails = 0;
		f->res->answered++;
		if (j->kind == FUZZ_OK && fuzz_latency(f, j->ep, j->elapsed))
			j->kind = FUZZ_SLOW;
		if (f->died) {
			fuzz_job_free(j);
		} else if (j->kind == FUZZ_OK) {
			fuzz_job_free(j);
		} else
			fuzz_failure(f, j);
		break;
	case FUZZ_RESET:
	case FUZZ_EOF:
	case FUZZ_CONNECT:
		if (j->kind == FUZZ_CONNECT && (f->died || f->pid != -1)) {
			/* It never reached the service: not a suspect.  The
			 * service of ours is probably dead: no new mutant
			 * until that is settled. */
			f->res->sent--;
			f->connect_failed = 1;
			f->pausing = 1;
			fuzz_push(&f->retry, &f->nretry, FUZZ_MAX_CANDIDATES,
			    j);
		} else if (f->died) {
			fuzz_push(&f->suspects, &f->nsuspects,
			    FUZZ_MAX_SUSPECTS, j);
		} else if (f->pid != -1) {
			/* Wait for the tick to tell whether the service
			 * died. */
			fuzz_push(&f->recent, &f->nrecent, FUZZ_MAX_SUSPECTS,
			    j);
		} else if (j->kind == FUZZ_CONNECT) {
			if (++f->connect_fails >= FUZZ_CONNECT_FAILS) {
				log_warn("the target refuses %d connections in "
				    "a row: stopping", FUZZ_CONNECT_FAILS);
				f->ended = 1;
			}
			fuzz_job_free(j);
		} else if (j->info.framing) {
			f->res->failures++;	/* expected */
			fuzz_noise(f, j, j->kind, j->status, 1);
			fuzz_job_free(j);
		} else
			fuzz_failure(f, j);
		break;
	case FUZZ_TIMEOUT:
	case FUZZ_BAD_RESPONSE:
	case FUZZ_SLOW:
		if (f->died)
			fuzz_push(&f->suspects, &f->nsuspects,
			    FUZZ_MAX_SUSPECTS, j);
		else
			fuzz_failure(f, j);
		break;
	case FUZZ_CRASH:
		fuzz_job_free(j);
		break;
	}
	loop_defer(f->loop, &f->dispatch);
}

static void
fuzz_progress(struct fuzz *f, uint64_t now)
{
	double	secs = (double)(now - f->t0) / 1e9;

	fprintf(stderr, "\rfuzz: %" PRIu64 " sent, %.0f/s, %zu findings, %"
	    PRIu64 " crashes   ", f->res->sent,
	    secs > 0 ? (double)f->res->sent / secs : 0.0, f->res->nfindings,
	    f->res->crashes);
	fflush(stderr);
}

/* The death of the service: every job in flight and every recent reset
 * becomes a suspect; the sending pauses. */
static void
fuzz_died(struct fuzz *f, int status)
{
	size_t	i;

	uint64_t	now = loop_now_update(f->loop);

	f->died = 1;
	f->died_status = status;
	f->pausing = 1;
	f->res->crashes++;
	/*
	 * Suspects: first the resets and closes of the last moments,
	 * newest first (a dying process keeps its sockets open until it is
	 * gone, however long its sanitizer report takes, so the culprit's
	 * connection closes with it), then the jobs still in flight (each
	 * ends now, a suspect in fuzz_job_finish()).
	 */
	for (i = f->nrecent; i > 0; i--) {
		struct fuzz_job *j = f->recent[i - 1];

		if (now - j->done_at <= FUZZ_RECENT_NS)
			fuzz_push(&f->suspects, &f->nsuspects,
			    FUZZ_MAX_SUSPECTS, j);
		else
			fuzz_job_free(j);
	}
	for (i = 0; i < f->nconns; i++)
		if (f->conns[i].job != NULL)
			fuzz_conn_end(&f->conns[i], FUZZ_RESET, 0, 0);
	f->nrecent = 0;
}

static void
fuzz_tick(struct loop_timer *t)
{
	struct fuzz	*f = t->arg;
	uint64_t	 now = loop_now_update(f->loop);
	size_t		 i, n;
	int		 status;

	loop_timer_add(f->loop, &f->tick, FUZZ_TICK_NS);
	if (f->send_one_active)
		return;		/* fuzz_send_one() watches the service */
	if (!f->died && fuzz_service_reap(f, &status))
		fuzz_died(f, status);
	else if (!f->died && f->pid != -1 && f->report_at == 0 &&
	    fuzz_service_log_has_report(f)) {
		/* A sanitizer report: the service usually dies once it is
		 * written; if it goes on (recover mode), it counts too. */
		f->report_at = now;
	} else if (!f->died && f->report_at != 0 &&
	    now - f->report_at > FUZZ_REPORT_NS)
		fuzz_died(f, -1);
	/* Resets older than the grace period, with the service alive. */
	for (i = n = 0; i < f->nrecent; i++) {
		struct fuzz_job *j = f->recent[i];

		if (f->died || now - j->done_at < FUZZ_GRACE_NS) {
			f->recent[n++] = j;
			continue;
		}
		if (j->kind == FUZZ_CONNECT)
			fuzz_job_free(j);
		else if (j->info.framing) {
			f->res->failures++;	/* expected */
			fuzz_noise(f, j, j->kind, j->status, 1);
			fuzz_job_free(j);
		} else
			fuzz_failure(f, j);
	}
	if (!f->died)
		f->nrecent = n;
	if (*f->stop)
		f->ended = 1;
	if (f->cfg->progress && now - f->last_progress >= 1000000000ull) {
		f->last_progress = now;
		fuzz_progress(f, now);
	}
	loop_defer(f->loop, &f->dispatch);
	fuzz_maybe_return(f);
}

/* ---------------------------------------------------------------------- */
/* Triage: one request at a time. */

struct fuzz_outcome {
	enum fuzz_kind	 kind;
	int		 status;
	uint64_t	 elapsed;
	char		*signature;	/* crash; 5xx: the body's */
	char		*excerpt;
	struct buf	 resp;		/* 5xx, bad-response: head, first bytes */
};

static void
fuzz_outcome_free(struct fuzz_outcome *o)
{
	free(o->signature);
	free(o->excerpt);
	buf_free(&o->resp);
	memset(o, 0, sizeof *o);
}

/* After a death: the signature from the log, a restart. */
static int
fuzz_after_death(struct fuzz *f, int status, struct fuzz_outcome *o,
    char **cause)
{
	char	*log;
	size_t	 len;

	log = fuzz_service_log_new(f, &len);
	o->kind = FUZZ_CRASH;
	free(o->signature);
	free(o->excerpt);
	o->signature = fuzz_crash_signature(log, len, status, &o->excerpt);
	if (o->signature == NULL)
		o->signature = xstrdup("died");
	free(log);
	f->report_at = 0;
	if (f->pid != -1) {
		/* Alive after a sanitizer report (recover mode): leave it
		 * running. */
		return 0;
	}
	return fuzz_service_start(f, cause);
}

/*
 * Sends raw alone on a fresh connection (half-closed after when
 * framing) and classifies the outcome, a death of the service included
 * (then restarted).  -1 with *cause only when the service cannot be
 * restarted.
 */
static int
fuzz_send_one(struct fuzz *f, const char *raw, size_t len, int framing,
    size_t ep, struct fuzz_outcome *o, char **cause)
{
	struct fuzz_conn	*c = &f->conns[0];
	struct fuzz_job		*j = fuzz_job_new();
	uint64_t		 deadline;
	int			 status, reported = 0, extended = 0;

	memset(o, 0, sizeof *o);
	buf_append(&j->req, raw, len);
	j->ep = ep;
	j->head = len >= 5 && memcmp(raw, "HEAD ", 5) == 0;
	f->send_one_active = 1;
	fuzz_conn_send(c, j, 1, framing);
	if (!j->done)
		loop_run(f->loop);
	f->send_one_active = 0;
	fuzz_conn_close(c);
	o->kind = j->kind;
	o->status = j->status;
	o->elapsed = j->elapsed;
	if (j->kind == FUZZ_5XX) {
		o->signature = j->sig;
		j->sig = NULL;
	}
	o->resp = j->resp;
	buf_init(&j->resp);
	fuzz_job_free(j);
	if (f->tls_fatal != NULL) {
		*cause = xstrdup(f->tls_fatal);
		return -1;
	}

	if (f->svc_cmd == NULL)
		return 0;
	/* A failure may be the service dying, and a sanitizer report is
	 * followed by its death: wait a little for it. */
	deadline = loop_clock_ns() + FUZZ_DEATH_NS;
	if (o->kind == FUZZ_OK || o->kind == FUZZ_5XX)
		deadline = loop_clock_ns();
	for (;;) {
		if (fuzz_service_reap(f, &status))
			return fuzz_after_death(f, status, o, cause);
		if (!reported && !extended && loop_clock_ns() >= deadline &&
		    (o->kind == FUZZ_EOF || o->kind == FUZZ_RESET) &&
		    !fuzz_port_open(f)) {
			/* It no longer accepts: dying, slowly (a loaded
			 * machine); wait for it a little longer. */
			extended = 1;
			deadline = loop_clock_ns() + FUZZ_GRACE_NS;
		}
		if (fuzz_service_log_has_report(f)) {
			if (!reported) {
				reported = 1;
				deadline = loop_clock_ns() + FUZZ_REPORT_NS;
			}
		}
		if (loop_clock_ns() >= deadline)
			break;
		fuzz_sleep_ms(5);
	}
	if (reported)
		return fuzz_after_death(f, -1, o, cause);
	return 0;
}

/* Does o fail the same way as want? */
static int
fuzz_same(const struct fuzz_outcome *o, enum fuzz_kind kind, int status,
    const char *signature, int framing)
{
	if (kind == FUZZ_CRASH)
		return o->kind == FUZZ_CRASH && (signature == NULL ||
		    (o->signature != NULL && strcmp(o->signature,
		    signature) == 0));
	if (o->kind != kind) {
		/* Without a service of ours a crash shows as a reset or a
		 * close; either is the same failure. */
		if ((kind == FUZZ_RESET || kind == FUZZ_EOF) && !framing &&
		    (o->kind == FUZZ_RESET || o->kind == FUZZ_EOF))
			return 1;
		return 0;
	}
	if (kind == FUZZ_5XX)
		return o->status == status && (signature == NULL ||
		    strcmp(o->signature != NULL ? o->signature : "",
		    signature) == 0);
	return 1;
}

/* A slow answer is confirmed when it is again slower than the floor and
 * than 10x the median. */
static int
fuzz_confirm_slow(struct fuzz *f, const struct fuzz_outcome *o, size_t ep)
{
	struct fuzz_endpoint	*e = &f->eps[ep];
	uint64_t		 tmp[FUZZ_WINDOW];
	size_t			 n = e->nlat < FUZZ_WINDOW ? e->nlat :
				    FUZZ_WINDOW;

	if (o->kind != FUZZ_OK || n == 0)
		return 0;
	memcpy(tmp, e->lat, n * sizeof tmp[0]);
	qsort(tmp, n, sizeof tmp[0], fuzz_cmp_u64);
	return o->elapsed > f->cfg->slow_floor_ns &&
	    o->elapsed > tmp[n / 2] * FUZZ_SLOW_FACTOR;
}

/* Minimises raw (which failed as want) into out. */
static int
fuzz_minimise(struct fuzz *f, const char *raw, size_t len, int framing,
    size_t ep, const struct fuzz_outcome *want, struct buf *out,
    unsigned *attempts, char **cause)
{
	struct fuzz_outcome	 o;
	struct buf		 cand;
	uint64_t		 deadline = loop_clock_ns() + f->cfg->minimise_ns;
	size_t			 i = 0;
	int			 progress = 0, same;

	buf_reset(out);
	buf_append(out, raw, len);
	buf_init(&cand);
	*attempts = 0;
	while (*attempts < f->cfg->max_attempts &&
	    loop_clock_ns() < deadline && !*f->stop) {
		if (!fuzz_shrink(out->data, out->len, i, &cand)) {
			if (!progress)
				break;
			progress = 0;
			i = 0;
			continue;
		}
		if (cand.len >= out->len) {
			i++;
			continue;
		}
		(*attempts)++;
		if (fuzz_send_one(f, cand.data, cand.len, framing, ep, &o,
		    cause) == -1) {
			buf_free(&cand);
			return -1;
		}
		if (o.kind == FUZZ_CONNECT && f->svc_cmd == NULL) {
			/* The service is gone (and not ours to restart):
			 * nothing more can be learnt. */
			fuzz_outcome_free(&o);
			break;
		}
		if (want->kind == FUZZ_SLOW)
			same = fuzz_confirm_slow(f, &o, ep);
		else
			same = fuzz_same(&o, want->kind, want->status,
			    want->signature, framing);
		fuzz_outcome_free(&o);
		if (same) {
			buf_reset(out);
			buf_append(out, cand.data, cand.len);
			progress = 1;
		} else
			i++;
	}
	buf_free(&cand);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Findings on disk. */

static char *
fuzz_slug(const char *s)
{
	struct buf	b;
	int		dash = 0;

	buf_init(&b);
	for (; *s != '\0' && b.len < 48; s++) {
		char c = *s;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			if (dash && b.len > 0)
				buf_append_byte(&b, '-');
			dash = 0;
			buf_append_byte(&b, c);
		} else
			dash = 1;
	}
	if (b.len == 0)
		buf_append_str(&b, "request");
	return buf_detach(&b, NULL);
}

static void
fuzz_json_str(struct buf *b, const char *name, const char *s)
{
	buf_printf(b, ",\"%s\":", name);
	if (s == NULL)
		buf_append_str(b, "null");
	else
		json_append_string(b, s, strlen(s));
}

static int
fuzz_write_json(const struct fuzz_config *cfg, const struct fuzz_finding *fd,
    char **cause)
{
	struct buf	 b;
	char		*path;
	int		 rv;

	buf_init(&b);
	buf_append_str(&b, "{\"id\":");
	json_append_string(&b, fd->dir, 3);
	fuzz_json_str(&b, "kind", fuzz_kind_name(fd->kind));
	fuzz_json_str(&b, "endpoint", fd->endpoint);
	if (fd->status != 0)
		buf_printf(&b, ",\"status\":%d", fd->status);
	else
		buf_append_str(&b, ",\"status\":null");
	fuzz_json_str(&b, "signature", fd->signature);
	buf_printf(&b, ",\"framing\":%s", fd->framing ? "true" : "false");
	fuzz_json_str(&b, "target", cfg->target);
	buf_printf(&b, ",\"seed\":%" PRIu64 ",\"mutant\":%" PRIu64
	    ",\"corpus_entry\":%zu", cfg->seed, fd->mutant, fd->parent);
	fuzz_json_str(&b, "op", fd->nops > 0 ? mut_op_name(fd->op) : NULL);
	buf_printf(&b, ",\"ops_stacked\":%u,\"elapsed_ms\":%.3f,\"hits\":%"
	    PRIu64 ",\"original_bytes\":%zu,\"minimised_bytes\":%zu,"
	    "\"minimise_attempts\":%u", fd->nops, (double)fd->elapsed_ns / 1e6,
	    fd->hits, fd->original_len, fd->minimised_len, fd->attempts);
	buf_printf(&b, ",\"found_after_s\":%.3f,\"sent_before\":%" PRIu64,
	    (double)fd->found_ns / 1e9, fd->sent_before);
	fuzz_json_str(&b, "sanitizer", fd->excerpt);
	buf_append_str(&b, ",\"response\":");
	if (fd->response != NULL)
		json_append_string(&b, fd->response, fd->response_len);
	else
		buf_append_str(&b, "null");
	buf_append_str(&b, "}\n");
	path = xasprintf("%s/%s/finding.json", cfg->findings, fd->dir);
	rv = buf_write_file(path, b.data, b.len, 0644, cause);
	free(path);
	buf_free(&b);
	return rv;
}

/* Appends s to b in single quotes, for sh. */
static void
fuzz_sh_quote(struct buf *b, const char *s)
{
	buf_append_str(b, "'");
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			buf_append_str(b, "'\\''");
		else
			buf_append(b, s, 1);
	}
	buf_append_str(b, "'");
}

/* A finding's repro.sh: any bytes, framing broken or not, with bash's
 * /dev/tcp, or with openssl s_client for https. */
static void
fuzz_repro_sh(struct fuzz *f, const struct fuzz_finding *fd, struct buf *sh)
{
	const struct fuzz_config	*cfg = f->cfg;
	int				 wait;
	char				*ca;

	wait = (int)(cfg->timeout_ns / 1000000000ull) + 3;
	buf_printf(sh, "#!/usr/bin/env bash\n"
	    "# decoy fuzz finding %s: %s on %s%s%s\n"
	    "# Sends request.http (raw bytes%s) and prints the answer.\n"
	    "# usage: repro.sh [HOST [PORT]]   (default: the fuzzed "
	    "target)\n"
	    "set -eu\n"
	    "host=${1:-%s}\nport=${2:-%d}\n"
	    "dir=$(cd \"$(dirname \"$0\")\" && pwd)\n", fd->dir,
	    fuzz_kind_name(fd->kind), fd->endpoint,
	    fd->signature != NULL ? ": " : "",
	    fd->signature != NULL ? fd->signature : "",
	    f->ssl_ctx != NULL ? ", over TLS" : "",
	    f->ssl_ctx != NULL ? f->tls_host : "127.0.0.1", f->port);
	if (f->ssl_ctx == NULL) {
		buf_printf(sh, "exec 3<>\"/dev/tcp/$host/$port\"\n"
		    "cat \"$dir/request.http\" >&3\n"
		    "timeout %d cat <&3 || ", wait);
	} else {
		buf_printf(sh, "timeout %d openssl s_client -quiet "
		    "-connect \"$host:$port\" -servername \"$host\"", wait);
		if (!cfg->insecure) {
			if (cfg->ca_file != NULL) {
				if ((ca = realpath(cfg->ca_file, NULL)) == NULL)
					ca = xstrdup(cfg->ca_file);
				buf_append_str(sh, " -CAfile ");
				fuzz_sh_quote(sh, ca);
				free(ca);
			}
			buf_append_str(sh, " -verify_return_error");
		}
		buf_append_str(sh, " <\"$dir/request.http\" || ");
	}
	buf_printf(sh, "echo \"(no complete answer within %d s)\" >&2\n",
	    wait);
}

static int
fuzz_write_finding(struct fuzz *f, const struct fuzz_finding *fd,
    const char *orig, size_t olen, const char *min, size_t mlen,
    char **cause)
{
	const struct fuzz_config	*cfg = f->cfg;
	struct buf			 sh;
	char				*dir, *path;
	int				 rv;

	dir = xasprintf("%s/%s", cfg->findings, fd->dir);
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		*cause = xasprintf("%s: %s", dir, strerror(errno));
		free(dir);
		return -1;
	}
	path = xasprintf("%s/request.http", dir);
	rv = buf_write_file(path, min, mlen, 0644, cause);
	free(path);
	if (rv == 0) {
		path = xasprintf("%s/original.http", dir);
		rv = buf_write_file(path, orig, olen, 0644, cause);
		free(path);
	}
	if (rv == 0) {
		buf_init(&sh);
		fuzz_repro_sh(f, fd, &sh);
		path = xasprintf("%s/repro.sh", dir);
		rv = buf_write_file(path, sh.data, sh.len, 0755, cause);
		free(path);
		buf_free(&sh);
	}
	free(dir);
	if (rv == 0)
		rv = fuzz_write_json(cfg, fd, cause);
	return rv;
}

/* A confirmed failure becomes finding number res->nfindings + 1. */
static int
fuzz_new_finding(struct fuzz *f, const struct fuzz_job *j,
    const struct fuzz_outcome *o, char **cause)
{
	struct fuzz_result	*res = f->res;
	struct fuzz_finding	*fd;
	struct fuzz_key		*k;
	struct buf		 min;
	char			*slug, *kslug;
	int			 rv;

	res->findings = xreallocarray(res->findings, res->nfindings + 1,
	    sizeof *res->findings);
	f->keys = xreallocarray(f->keys, res->nfindings + 1, sizeof *f->keys);
	fd = &res->findings[res->nfindings];
	k = &f->keys[res->nfindings];
	memset(fd, 0, sizeof *fd);
	memset(k, 0, sizeof *k);
	res->nfindings++;

	fd->kind = o->kind;
	fd->endpoint = xstrdup(f->eps[j->ep].name);
	fd->status = o->kind == FUZZ_5XX ? o->status : 0;
	fd->signature = o->signature != NULL ? xstrdup(o->signature) : NULL;
	fd->excerpt = o->excerpt != NULL ? xstrdup(o->excerpt) : NULL;
	if (o->resp.len > 0) {
		fd->response = xmalloc(o->resp.len);
		memcpy(fd->response, o->resp.data, o->resp.len);
		fd->response_len = o->resp.len;
	} else if (j->resp.len > 0) {
		fd->response = xmalloc(j->resp.len);
		memcpy(fd->response, j->resp.data, j->resp.len);
		fd->response_len = j->resp.len;
	}
	fd->framing = j->info.framing;
	fd->mutant = j->index;
	fd->parent = j->info.parent;
	fd->op = j->info.op;
	fd->nops = j->info.nops;
	fd->elapsed_ns = o->elapsed > 0 ? o->elapsed : j->elapsed;
	fd->found_ns = loop_clock_ns() - f->t0_clock;
	fd->sent_before = res->sent;
	fd->hits = 1;
	fd->original_len = j->req.len;
	slug = fuzz_slug(f->eps[j->ep].name);
	kslug = fuzz_slug(fuzz_kind_name(o->kind));
	fd->dir = xasprintf("%03zu-%s-%s", res->nfindings, kslug, slug);
	free(slug);
	free(kslug);
	k->ep = j->ep;
	k->kind = o->kind;
	k->status = fd->status;
	k->signature = fd->signature != NULL ? xstrdup(fd->signature) : NULL;

	log_info("finding %s: %s%s%s (mutant %" PRIu64 "); minimising",
	    fd->dir, fuzz_kind_name(fd->kind), fd->signature != NULL ? ": " :
	    "", fd->signature != NULL ? fd->signature : "", fd->mutant);
	buf_init(&min);
	if (fuzz_minimise(f, j->req.data, j->req.len, j->info.framing, j->ep,
	    o, &min, &fd->attempts, cause) == -1) {
		buf_free(&min);
		return -1;
	}
	fd->minimised_len = min.len;
	rv = fuzz_write_finding(f, fd, j->req.data, j->req.len, min.data,
	    min.len, cause);
	buf_free(&min);
	return rv;
}

/* Re-sends j alone once more: 1 if it kills the service again with the
 * same signature, 0 if not, -1 with *cause. */
static int
fuzz_crash_again(struct fuzz *f, const struct fuzz_job *j,
    const struct fuzz_outcome *o, char **cause)
{
	struct fuzz_outcome	o2;
	int			same;

	if (fuzz_send_one(f, j->req.data, j->req.len, j->info.framing, j->ep,
	    &o2, cause) == -1)
		return -1;
	same = fuzz_same(&o2, FUZZ_CRASH, 0, o->signature, 0);
	fuzz_outcome_free(&o2);
	return same;
}

/* Re-sends a failed job alone; a finding if it fails the same way. */
static int
fuzz_triage_one(struct fuzz *f, struct fuzz_job *j, char **cause)
{
	struct fuzz_outcome	o;
	ssize_t			k;
	int			same;

	if ((k = fuzz_key_find(f, j->ep, j->kind, j->status, j->sig)) != -1) {
		f->res->findings[k].hits++;
		return 0;
	}
	if (fuzz_send_one(f, j->req.data, j->req.len, j->info.framing, j->ep,
	    &o, cause) == -1)
		return -1;
	if (o.kind == FUZZ_CRASH) {
		/* Alone, it kills the service: a crash finding, once a
		 * second death confirms it (the first may have been a
		 * report that was still being written). */
		if ((k = fuzz_key_find(f, j->ep, FUZZ_CRASH, 0,
		    o.signature)) != -1)
			f->res->findings[k].hits++;
		else {
			if ((same = fuzz_crash_again(f, j, &o, cause)) == -1) {
				fuzz_outcome_free(&o);
				return -1;
			}
			if (same && fuzz_new_finding(f, j, &o, cause) == -1) {
				fuzz_outcome_free(&o);
				return -1;
			}
		}
		fuzz_outcome_free(&o);
		return 0;
	}
	if (j->kind == FUZZ_SLOW) {
		/* Twice: a loaded machine stalls a request now and then. */
		same = fuzz_confirm_slow(f, &o, j->ep);
		if (same) {
			fuzz_outcome_free(&o);
			if (fuzz_send_one(f, j->req.data, j->req.len,
			    j->info.framing, j->ep, &o, cause) == -1)
				return -1;
			same = fuzz_confirm_slow(f, &o, j->ep);
		}
	} else
		same = fuzz_same(&o, j->kind, j->status, j->sig,
		    j->info.framing);
	if (!same && f->svc_cmd == NULL && o.kind == FUZZ_CONNECT &&
	    !f->gone_warned) {
		/* Probably killed by one of the mutants that failed just
		 * before; which one cannot be told without restarting it. */
		f->gone_warned = 1;
		log_warn("the service stopped accepting connections after "
		    "mutant %" PRIu64 " (%s on %s); the failures in flight are "
		    "unconfirmed: give --service-cmd to have decoy restart it "
		    "and find the culprit", j->index, fuzz_kind_name(j->kind),
		    f->eps[j->ep].name);
	}
	if (!same) {
		f->res->unconfirmed++;
		fuzz_reject_slot(f, j->ep, j->kind, j->status)->count++;
		log_debug("mutant %" PRIu64 ": %s not reproduced alone (%s)",
		    j->index, fuzz_kind_name(j->kind), fuzz_kind_name(o.kind));
		fuzz_outcome_free(&o);
		return 0;
	}
	o.kind = j->kind;
	if (fuzz_new_finding(f, j, &o, cause) == -1) {
		fuzz_outcome_free(&o);
		return -1;
	}
	fuzz_outcome_free(&o);
	return 0;
}

/* How long a job cut short by a death must have waited for its answer
 * to be sent again: FUZZ_RETRY_NS or 10x its endpoint's median. */
static uint64_t
fuzz_retry_after(struct fuzz *f, size_t ep)
{
	struct fuzz_endpoint	*e = &f->eps[ep];
	uint64_t		 tmp[FUZZ_WINDOW];
	size_t			 n = e->nlat < FUZZ_WINDOW ? e->nlat :
				    FUZZ_WINDOW;

	if (n < FUZZ_WARMUP / 5)
		return f->cfg->timeout_ns / 2;
	memcpy(tmp, e->lat, n * sizeof tmp[0]);
	qsort(tmp, n, sizeof tmp[0], fuzz_cmp_u64);
	if (tmp[n / 2] * FUZZ_SLOW_FACTOR > FUZZ_RETRY_NS)
		return tmp[n / 2] * FUZZ_SLOW_FACTOR;
	return FUZZ_RETRY_NS;
}

/* Well-framed suspects first (a framing-broken one alone ends with a
 * close, after which the death must be waited for), then those that
 * were in flight for the shortest time (a crash kills at once, a hang
 * re-sent alone costs a whole timeout). */
static int
fuzz_cmp_suspect(const void *a, const void *b)
{
	const struct fuzz_job	*x = *(struct fuzz_job *const *)a;
	const struct fuzz_job	*y = *(struct fuzz_job *const *)b;

	if (x->info.framing != y->info.framing)
		return x->info.framing - y->info.framing;
	if (x->elapsed != y->elapsed)
		return x->elapsed < y->elapsed ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static void
fuzz_suspects_order(struct fuzz *f)
{
	if (f->nsuspects > 1)
		qsort(f->suspects, f->nsuspects, sizeof *f->suspects,
		    fuzz_cmp_suspect);
}

/* A suspect that, alone, failed some other way: that failure counts
 * (sent alone, it is confirmed). */
static int
fuzz_suspect_failure(struct fuzz *f, struct fuzz_job *j,
    struct fuzz_outcome *o, char **cause)
{
	ssize_t	k;

	if (o->kind == FUZZ_OK && fuzz_confirm_slow(f, o, j->ep))
		o->kind = FUZZ_SLOW;	/* answered, but an outlier */
	if (o->kind == FUZZ_OK || o->kind == FUZZ_CONNECT)
		return 0;
	if (fuzz_noise(f, j, o->kind, o->status, (o->kind == FUZZ_RESET ||
	    o->kind == FUZZ_EOF) && j->info.framing))
		return 0;
	if ((k = fuzz_key_find(f, j->ep, o->kind, o->status,
	    o->signature)) != -1) {
		f->res->findings[k].hits++;
		return 0;
	}
	j->kind = o->kind;
	j->status = o->status;
	return fuzz_new_finding(f, j, o, cause);
}

/* After a death: restart, then find the suspect that kills alone. */
static int
fuzz_triage_death(struct fuzz *f, char **cause)
{
	struct fuzz_outcome	 o;
	char			*log;
	size_t			 len, i, culprit_ep = SIZE_MAX;
	ssize_t			 k = -1;
	int			 found = 0, rv, other;

	memset(&o, 0, sizeof o);
	log = fuzz_service_log_new(f, &len);
	o.signature = fuzz_crash_signature(log, len, f->died_status, NULL);
	free(log);
	f->report_at = 0;
	if (f->pid == -1 && fuzz_service_start(f, cause) == -1) {
		fuzz_outcome_free(&o);
		return -1;
	}
	/*
	 * A suspect on the endpoint of a known crash with this signature:
	 * one more hit of it, nothing re-sent (deaths are frequent once a
	 * crash is known).  Two bugs on one endpoint that die the same way
	 * (SIGABRT without a sanitizer) are one finding.
	 */
	for (i = 0; i < f->nsuspects && o.signature != NULL; i++) {
		if ((k = fuzz_key_find(f, f->suspects[i]->ep, FUZZ_CRASH, 0,
		    o.signature)) != -1) {
			culprit_ep = f->suspects[i]->ep;
			break;
		}
	}
	fuzz_outcome_free(&o);
	if (k != -1) {
		f->res->findings[k].hits++;
		/*
		 * The suspects on other endpoints, and the slow ones, were
		 * cut short by the death, probably innocent: each goes back
		 * into the campaign, once (a hang would never be seen while
		 * crashes keep killing it, and a mutant that shared its
		 * moment with a known crash must still be tried).
		 */
		for (i = 0; i < f->nsuspects; i++) {
			struct fuzz_job *j = f->suspects[i];

			other = j->ep != culprit_ep;
			if (!other && j->elapsed < fuzz_retry_after(f, j->ep))
				continue;
			if (!j->retried) {
				j->retried = 1;
				fuzz_push(&f->retry, &f->nretry,
				    FUZZ_MAX_CANDIDATES, j);
				f->suspects[i] = NULL;
				continue;
			}
			/* Cut short twice: alone, it shows what it does,
			 * unless it was slow on an endpoint known to hang. */
			if (j->elapsed >= fuzz_retry_after(f, j->ep) &&
			    (k = fuzz_key_find(f, j->ep, FUZZ_TIMEOUT, 0,
			    NULL)) != -1) {
				f->res->findings[k].hits++;
				continue;
			}
			if (fuzz_send_one(f, j->req.data, j->req.len,
			    j->info.framing, j->ep, &o, cause) == -1)
				return -1;
			if (o.kind == FUZZ_CRASH) {
				/* Not the hang it looked like: counted as a
				 * death of its own only if new. */
				fuzz_outcome_free(&o);
				continue;
			}
			rv = fuzz_suspect_failure(f, j, &o, cause);
			fuzz_outcome_free(&o);
			if (rv == -1)
				return -1;
		}
		return 0;
	}
	fuzz_suspects_order(f);
	for (i = 0; i < f->nsuspects && !found && !*f->stop; i++) {
		struct fuzz_job *j = f->suspects[i];

		if (fuzz_send_one(f, j->req.data, j->req.len, j->info.framing,
		    j->ep, &o, cause) == -1)
			return -1;
		log_debug("suspect %zu/%zu: mutant %" PRIu64 " (%s): %s%s%s",
		    i + 1, f->nsuspects, j->index, f->eps[j->ep].name,
		    fuzz_kind_name(o.kind), o.signature != NULL ? " " : "",
		    o.signature != NULL ? o.signature : "");
		if (o.kind != FUZZ_CRASH) {
			rv = fuzz_suspect_failure(f, j, &o, cause);
			fuzz_outcome_free(&o);
			if (rv == -1)
				return -1;
			continue;
		}
		if ((k = fuzz_key_find(f, j->ep, FUZZ_CRASH, 0,
		    o.signature)) != -1) {
			found = 1;
			f->res->findings[k].hits++;
		} else {
			/* A new finding is confirmed by a second death: a
			 * crash that comes late (after the answer) would
			 * otherwise be blamed on the next suspect. */
			if ((rv = fuzz_crash_again(f, j, &o, cause)) == -1) {
				fuzz_outcome_free(&o);
				return -1;
			}
			if (rv == 1) {
				found = 1;
				if (fuzz_new_finding(f, j, &o, cause) == -1) {
					fuzz_outcome_free(&o);
					return -1;
				}
			}
		}
		fuzz_outcome_free(&o);
	}
	if (!found) {
		f->res->unconfirmed++;
		log_info("the service died but none of the %zu mutants in "
		    "flight kills it alone", f->nsuspects);
	}
	return 0;
}

static void
fuzz_jobs_clear(struct fuzz_job ***v, size_t *n)
{
	size_t	i;

	for (i = 0; i < *n; i++)
		fuzz_job_free((*v)[i]);
	free(*v);
	*v = NULL;
	*n = 0;
}

/* ---------------------------------------------------------------------- */
/* The campaign. */

/* The loop, the connections, the service (its log in logdir unless
 * cfg->service_log) or a first connection to the target. */
static int
fuzz_setup(struct fuzz *f, const char *logdir, char **cause)
{
	const struct fuzz_config	*cfg = f->cfg;
	size_t				 i;
	int				 port;

	if (fuzz_parse_target(f, cfg->target, cause) == -1)
		return -1;
	if (f->tls_host != NULL && (f->ssl_ctx = ca_client_ctx(cfg->ca_file,
	    cfg->insecure, cause)) == NULL)
		return -1;
	if ((f->loop = loop_create(cause)) == NULL)
		return -1;
	f->nconns = cfg->connections > 0 ? cfg->connections : 1;
	f->conns = xcalloc(f->nconns, sizeof *f->conns);
	for (i = 0; i < f->nconns; i++) {
		struct fuzz_conn *c = &f->conns[i];

		c->f = f;
		c->fd = -1;
		buf_init(&c->in);
		loop_timer_init(&c->timer, fuzz_conn_timeout, c);
	}
	loop_timer_init(&f->tick, fuzz_tick, f);
	loop_defer_init(&f->dispatch, fuzz_dispatch, f);
	f->pid = -1;
	if (cfg->service_cmd != NULL) {
		if (f->port == 0) {
			if ((port = fuzz_free_port(cause)) == -1)
				return -1;
			sock_addr_set_port(&f->addr, port);
			f->port = port;
		}
		f->svc_cmd = fuzz_subst_port(cfg->service_cmd, f->port);
		f->svc_log = cfg->service_log != NULL ?
		    xstrdup(cfg->service_log) :
		    xasprintf("%s/service.log", logdir);
		if (fuzz_service_start(f, cause) == -1)
			return -1;
		{
			struct stat st;

			if (stat(f->svc_log, &st) == 0)
				f->log_off = st.st_size;
		}
	} else if (!fuzz_port_open(f)) {
		*cause = xasprintf("target %s: cannot connect", cfg->target);
		return -1;
	}
	return 0;
}

/* mkdir -p dir. */
static int
fuzz_mkdir(const char *dir, char **cause)
{
	char	*p = xstrdup(dir), *s;

	for (s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0755) == -1 && errno != EEXIST) {
			*cause = xasprintf("%s: %s", p, strerror(errno));
			free(p);
			return -1;
		}
		*s = '/';
	}
	free(p);
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		*cause = xasprintf("%s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

static void
fuzz_teardown(struct fuzz *f)
{
	size_t	i;

	fuzz_service_stop(f);
	for (i = 0; f->conns != NULL && i < f->nconns; i++) {
		fuzz_conn_close(&f->conns[i]);
		loop_timer_del(f->loop, &f->conns[i].timer);
		buf_free(&f->conns[i].in);
	}
	free(f->conns);
	if (f->loop != NULL) {
		loop_timer_del(f->loop, &f->tick);
		loop_free(f->loop);
	}
	fuzz_jobs_clear(&f->cands, &f->ncands);
	fuzz_jobs_clear(&f->retry, &f->nretry);
	fuzz_jobs_clear(&f->recent, &f->nrecent);
	fuzz_jobs_clear(&f->suspects, &f->nsuspects);
	for (i = 0; i < f->neps; i++)
		free(f->eps[i].name);
	free(f->eps);
	free(f->entry_ep);
	for (i = 0; f->keys != NULL && i < f->res->nfindings; i++)
		free(f->keys[i].signature);
	free(f->keys);
	free(f->rejects);
	if (f->engine != NULL)
		mut_engine_free(f->engine);
	if (f->corpus != NULL)
		mut_corpus_free(f->corpus);
	free(f->svc_cmd);
	free(f->svc_log);
	if (f->ssl_ctx != NULL)
		SSL_CTX_free(f->ssl_ctx);
	free(f->tls_host);
	free(f->tls_fatal);
}

int
fuzz_run(const struct fuzz_config *cfg, struct fuzz_result *res,
    volatile int *stop, char **cause)
{
	struct fuzz	 f;
	const char	*raw;
	size_t		 i, len;
	int		 rv = -1;
	uint64_t	 t_start;

	memset(res, 0, sizeof *res);
	memset(&f, 0, sizeof f);
	f.cfg = cfg;
	f.res = res;
	f.stop = stop;
	f.pid = -1;
	t_start = loop_clock_ns();

	f.corpus = mut_corpus_create();
	if (mut_corpus_load_dir(f.corpus, cfg->corpus, cause) == -1)
		goto out;
	f.entry_ep = xcalloc(mut_corpus_count(f.corpus), sizeof *f.entry_ep);
	for (i = 0; i < mut_corpus_count(f.corpus); i++) {
		raw = mut_corpus_entry(f.corpus, i, &len);
		f.entry_ep[i] = fuzz_endpoint_intern(&f,
		    fuzz_raw_endpoint(raw, len));
	}
	f.engine = mut_engine_create(f.corpus, cfg->seed,
	    cfg->mutate_auth ? MUT_MUTATE_AUTH : 0);
	if (fuzz_mkdir(cfg->findings, cause) == -1)
		goto out;
	if (fuzz_setup(&f, cfg->findings, cause) == -1)
		goto out;

	f.t0 = loop_now_update(f.loop);
	f.t0_clock = loop_clock_ns();
	loop_timer_add(f.loop, &f.tick, FUZZ_TICK_NS);
	for (;;) {
		loop_defer(f.loop, &f.dispatch);
		if (loop_run(f.loop) == -1) {
			*cause = xstrdup("event loop failed");
			goto out;
		}
		if (f.tls_fatal != NULL) {
			*cause = xstrdup(f.tls_fatal);
			goto out;
		}
		/* Paused (or done): nothing in flight.  Connections were
		 * refused: the service is dying or dead, or not. */
		if (!f.died && f.connect_failed && f.pid != -1) {
			uint64_t deadline = loop_clock_ns() + FUZZ_GRACE_NS;
			int status;

			while (loop_clock_ns() < deadline) {
				if (fuzz_service_reap(&f, &status)) {
					fuzz_died(&f, status);
					break;
				}
				fuzz_sleep_ms(2);
			}
		}
		f.connect_failed = 0;
		/* A sanitizer report on its way: the death comes first. */
		if (!f.died && f.pid != -1 && (f.report_at != 0 ||
		    fuzz_service_log_has_report(&f))) {
			uint64_t deadline = loop_clock_ns() + FUZZ_REPORT_NS;
			int status;

			while (loop_clock_ns() < deadline) {
				if (fuzz_service_reap(&f, &status)) {
					fuzz_died(&f, status);
					break;
				}
				fuzz_sleep_ms(2);
			}
			if (!f.died)
				fuzz_died(&f, -1);
		}
		if (f.died) {
			if (fuzz_triage_death(&f, cause) == -1)
				goto out;
			fuzz_jobs_clear(&f.suspects, &f.nsuspects);
			f.died = 0;
		}
		for (i = 0; i < f.ncands; i++)
			if (fuzz_triage_one(&f, f.cands[i], cause) == -1)
				goto out;
		fuzz_jobs_clear(&f.cands, &f.ncands);
		f.pausing = 0;
		if (f.ended || *stop) {
			if (f.nrecent == 0)
				break;
			/* Let the tick settle the last resets. */
			f.ended = 1;
			f.pausing = 1;
			while (f.nrecent > 0 && !f.died) {
				uint64_t now = loop_clock_ns();
				struct fuzz_job *j;
				size_t k, n;
				int status;

				if (fuzz_service_reap(&f, &status)) {
					fuzz_died(&f, status);
					break;
				}
				for (k = n = 0; k < f.nrecent; k++) {
					j = f.recent[k];
					if (now - j->done_at < FUZZ_GRACE_NS) {
						f.recent[n++] = j;
						continue;
					}
					if (j->kind == FUZZ_CONNECT)
						fuzz_job_free(j);
					else if (j->info.framing) {
						f.res->failures++;
						fuzz_noise(&f, j, j->kind,
						    j->status, 1);
						fuzz_job_free(j);
					} else
						fuzz_failure(&f, j);
				}
				f.nrecent = n;
				if (n > 0)
					fuzz_sleep_ms(10);
			}
			if (f.died) {
				if (fuzz_triage_death(&f, cause) == -1)
					goto out;
				fuzz_jobs_clear(&f.suspects, &f.nsuspects);
				f.died = 0;
			}
			for (i = 0; i < f.ncands; i++)
				if (fuzz_triage_one(&f, f.cands[i],
				    cause) == -1)
					goto out;
			fuzz_jobs_clear(&f.cands, &f.ncands);
			break;
		}
	}
	if (cfg->progress)
		fputc('\n', stderr);
	/* The hit counts are final now. */
	for (i = 0; i < res->nfindings; i++)
		if (fuzz_write_json(cfg, &res->findings[i], cause) == -1)
			goto out;
	rv = 0;
out:
	res->elapsed_ns = loop_clock_ns() - t_start;
	fuzz_teardown(&f);
	return rv;
}

/* ---------------------------------------------------------------------- */
/* Output. */

void
fuzz_result_print(FILE *fp, const struct fuzz_config *cfg,
    const struct fuzz_result *res, int json)
{
	struct buf	b;
	size_t		i;
	double		secs = (double)res->elapsed_ns / 1e9;

	if (json) {
		buf_init(&b);
		buf_printf(&b, "{\"target\":");
		json_append_string(&b, cfg->target, strlen(cfg->target));
		buf_printf(&b, ",\"seed\":%" PRIu64 ",\"mutants\":%" PRIu64
		    ",\"sent\":%" PRIu64
		    ",\"answered\":%" PRIu64 ",\"failures\":%" PRIu64
		    ",\"crashes\":%" PRIu64 ",\"unconfirmed\":%" PRIu64
		    ",\"elapsed_s\":%.3f", cfg->seed, res->mutants, res->sent,
		    res->answered, res->failures, res->crashes,
		    res->unconfirmed, secs);
		buf_printf(&b, ",\"protocol_noise\":%" PRIu64 ",\"noise_by"
		    "\":{", res->noise);
		for (i = 1; i < FUZZ_NOISE_COUNT; i++)
			buf_printf(&b, "%s\"%s\":%" PRIu64, i > 1 ? "," : "",
			    fuzz_noise_name((enum fuzz_noise)i),
			    res->noise_by[i]);
		buf_printf(&b, "},\"strict_protocol\":%s",
		    cfg->strict_protocol ? "true" : "false");
		buf_append_str(&b, ",\"findings_dir\":");
		json_append_string(&b, cfg->findings, strlen(cfg->findings));
		buf_append_str(&b, ",\"findings\":[");
		for (i = 0; i < res->nfindings; i++) {
			const struct fuzz_finding *fd = &res->findings[i];

			buf_append_str(&b, i > 0 ? ",{\"dir\":" : "{\"dir\":");
			json_append_string(&b, fd->dir, strlen(fd->dir));
			fuzz_json_str(&b, "kind", fuzz_kind_name(fd->kind));
			fuzz_json_str(&b, "endpoint", fd->endpoint);
			buf_printf(&b, ",\"status\":%d", fd->status);
			fuzz_json_str(&b, "signature", fd->signature);
			buf_printf(&b, ",\"hits\":%" PRIu64 ",\"original_bytes"
			    "\":%zu,\"minimised_bytes\":%zu}", fd->hits,
			    fd->original_len, fd->minimised_len);
		}
		buf_append_str(&b, "]}\n");
		fwrite(b.data, 1, b.len, fp);
		buf_free(&b);
		return;
	}
	fprintf(fp, "%" PRIu64 " mutants, %" PRIu64 " requests sent in %.1f s "
	    "(%.0f/s), %" PRIu64 " failures, %" PRIu64 " service deaths, %zu "
	    "findings\n", res->mutants, res->sent, secs, secs > 0 ? (double)res->sent / secs : 0.0, res->failures,
	    res->crashes, res->nfindings);
	if (res->noise > 0) {
		fprintf(fp, "%" PRIu64 " of the failures were correct answers to "
		    "requests the mutants made malformed (%s:", res->noise,
		    cfg->strict_protocol ? "reported, --strict-protocol" :
		    "not findings");
		for (i = 1; i < FUZZ_NOISE_COUNT; i++)
			if (res->noise_by[i] > 0)
				fprintf(fp, " %s %" PRIu64, fuzz_noise_name(
				    (enum fuzz_noise)i), res->noise_by[i]);
		fprintf(fp, ")\n");
	}
	if (res->nfindings == 0)
		return;
	fprintf(fp, "%-34s %-8s %-18s %6s %-13s %s\n", "FINDING", "KIND",
	    "ENDPOINT", "HITS", "BYTES", "STATUS/SIGNATURE");
	for (i = 0; i < res->nfindings; i++) {
		const struct fuzz_finding *fd = &res->findings[i];
		char	bytes[32];

		snprintf(bytes, sizeof bytes, "%zu -> %zu", fd->original_len,
		    fd->minimised_len);
		fprintf(fp, "%-34s %-8s %-18s %6" PRIu64 " %-13s ", fd->dir,
		    fuzz_kind_name(fd->kind), fd->endpoint, fd->hits, bytes);
		if (fd->status != 0)
			fprintf(fp, "%d%s", fd->status, fd->signature != NULL &&
			    fd->signature[0] != '\0' ? " " : "");
		if (fd->signature != NULL)
			fprintf(fp, "%s", fd->signature);
		else if (fd->status == 0)
			fprintf(fp, "-");
		fputc('\n', fp);
	}
	/* Endpoints with more than one bug. */
	for (i = 0; i < res->nfindings; i++) {
		size_t	k, n = 0, seen = 0;

		for (k = 0; k < i; k++)
			if (strcmp(res->findings[k].endpoint,
			    res->findings[i].endpoint) == 0)
				seen = 1;
		if (seen)
			continue;
		for (k = i; k < res->nfindings; k++)
			n += strcmp(res->findings[k].endpoint,
			    res->findings[i].endpoint) == 0;
		if (n > 1)
			fprintf(fp, "%s: %zu distinct signatures\n",
			    res->findings[i].endpoint, n);
	}
	fprintf(fp, "findings in %s/\n", cfg->findings);
}

/* ---------------------------------------------------------------------- */
/* Replay. */

static char *
fuzz_read_file(const char *path, size_t *len, char **cause)
{
	struct buf	b;
	char		chunk[8192];
	ssize_t		n;
	int		fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	buf_init(&b);
	while ((n = read(fd, chunk, sizeof chunk)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			*cause = xasprintf("%s: %s", path, strerror(errno));
			close(fd);
			buf_free(&b);
			return NULL;
		}
		buf_append(&b, chunk, (size_t)n);
	}
	close(fd);
	buf_reserve(&b, 1);
	return buf_detach(&b, len);
}

struct fuzz_expect {
	enum fuzz_kind	 kind;
	int		 status;
	char		*signature;
	char		*endpoint;
	int		 framing;
};

/* Reads the members replay needs from finding.json. */
static int
fuzz_read_expect(const char *path, struct fuzz_expect *x, char **cause)
{
	struct json_parser	 p;
	struct json_value	 key, v;
	struct buf		 s;
	char			*text;
	size_t			 len;
	int64_t			 n;
	int			 r, b;

	memset(x, 0, sizeof *x);
	if ((text = fuzz_read_file(path, &len, cause)) == NULL)
		return -1;
	buf_init(&s);
	json_init(&p, text, len);
	if (json_object_enter(&p) == -1)
		goto bad;
	while ((r = json_object_next(&p, &key)) == 1) {
		if (json_string_eq(&key, "kind") || json_string_eq(&key,
		    "signature") || json_string_eq(&key, "endpoint")) {
			if (json_peek(&p) == JSON_NULL) {
				if (json_skip(&p, NULL) == -1)
					goto bad;
				continue;
			}
			buf_reset(&s);
			if (json_read_string(&p, &s, NULL) == -1)
				goto bad;
			if (json_string_eq(&key, "kind"))
				x->kind = fuzz_kind_parse(s.data);
			else if (json_string_eq(&key, "signature"))
				x->signature = xstrdup(s.data);
			else
				x->endpoint = xstrdup(s.data);
		} else if (json_string_eq(&key, "status") &&
		    json_peek(&p) == JSON_NUMBER) {
			if (json_read_int64(&p, &n) == -1)
				goto bad;
			x->status = (int)n;
		} else if (json_string_eq(&key, "framing") &&
		    json_peek(&p) == JSON_BOOL) {
			if (json_read_bool(&p, &b) == -1)
				goto bad;
			x->framing = b;
		} else if (json_skip(&p, &v) == -1)
			goto bad;
	}
	if (r == -1)
		goto bad;
	if (x->kind == FUZZ_OK) {
		*cause = xasprintf("%s: no known \"kind\"", path);
		goto fail;
	}
	free(text);
	buf_free(&s);
	return 0;
bad:
	*cause = xasprintf("%s: byte %zu: %s", path, p.error_off,
	    p.error != NULL ? p.error : "not a finding");
fail:
	free(text);
	buf_free(&s);
	free(x->signature);
	free(x->endpoint);
	memset(x, 0, sizeof *x);
	return -1;
}

static int
fuzz_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
fuzz_replay(const struct fuzz_config *cfg, const char *dir, FILE *fp,
    int json, char **cause)
{
	struct fuzz		 f;
	struct fuzz_result	 res;
	struct fuzz_outcome	 o;
	struct fuzz_expect	 x;
	struct dirent		*de;
	struct buf		 out;
	DIR			*d;
	char			**names = NULL, *path, *raw;
	size_t			 n = 0, i, len;
	int			 still = 0, untested = 0, rv = -1, same;
	int			 gone;
	static volatile int	 nostop;

	if ((d = opendir(dir)) == NULL) {
		*cause = xasprintf("%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (de->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s/request.http", dir, de->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			names = xreallocarray(names, n + 1, sizeof *names);
			names[n++] = xstrdup(de->d_name);
		}
		free(path);
	}
	closedir(d);
	if (n == 0) {
		*cause = xasprintf("%s: no findings (directories with "
		    "request.http)", dir);
		return -1;
	}
	qsort(names, n, sizeof *names, fuzz_cmp_str);

	memset(&f, 0, sizeof f);
	memset(&res, 0, sizeof res);
	f.cfg = cfg;
	f.res = &res;
	f.stop = &nostop;
	f.pid = -1;
	if (fuzz_setup(&f, dir, cause) == -1)
		goto out;
	f.eps = xcalloc(1, sizeof *f.eps);
	f.eps[0].name = xstrdup("-");
	f.neps = 1;
	buf_init(&out);
	if (json)
		buf_append_str(&out, "{\"findings\":[");
	for (i = 0; i < n; i++) {
		path = xasprintf("%s/%s/finding.json", dir, names[i]);
		rv = fuzz_read_expect(path, &x, cause);
		free(path);
		if (rv == -1)
			goto out_buf;
		path = xasprintf("%s/%s/request.http", dir, names[i]);
		raw = fuzz_read_file(path, &len, cause);
		free(path);
		if (raw == NULL) {
			rv = -1;
			goto out_x;
		}
		if (fuzz_service_ensure(&f, cause) == -1) {
			free(raw);
			rv = -1;
			goto out_x;
		}
		rv = fuzz_send_one(&f, raw, len, x.framing, 0, &o, cause);
		if (rv == 0 && o.kind == FUZZ_CONNECT && f.svc_cmd != NULL) {
			/* It died after the last answer, too late to be seen
			 * then: once more with it restarted. */
			fuzz_outcome_free(&o);
			if ((rv = fuzz_service_ensure(&f, cause)) == 0)
				rv = fuzz_send_one(&f, raw, len, x.framing, 0,
				    &o, cause);
		}
		free(raw);
		if (rv == -1)
			goto out_x;
		/* Nobody answers (an earlier finding killed a service that
		 * is not ours to restart): neither fixed nor failing. */
		gone = o.kind == FUZZ_CONNECT && (x.kind != FUZZ_CRASH ||
		    f.svc_cmd != NULL);
		untested += gone;
		if (gone)
			same = 0;
		else if (x.kind == FUZZ_CRASH && cfg->service_cmd == NULL)
			same = o.kind == FUZZ_RESET || o.kind == FUZZ_EOF ||
			    o.kind == FUZZ_CONNECT;
		else if (x.kind == FUZZ_SLOW)
			same = o.kind == FUZZ_OK && o.elapsed >
			    cfg->slow_floor_ns;
		else
			same = fuzz_same(&o, x.kind, x.status, x.signature,
			    x.framing);
		still += same;
		if (json) {
			buf_append_str(&out, i > 0 ? ",{\"dir\":" :
			    "{\"dir\":");
			json_append_string(&out, names[i], strlen(names[i]));
			buf_printf(&out, ",\"still_fails\":%s,\"untested\":%s,"
			    "\"got\":\"%s\",\"status\":%d", same ? "true" :
			    "false", gone ? "true" : "false",
			    fuzz_kind_name(o.kind), o.status);
			fuzz_json_str(&out, "signature", o.signature);
			buf_append_str(&out, "}");
		} else {
			buf_printf(&out, "%-40s %s (%s", names[i],
			    same ? "STILL FAILS" : gone ? "UNTESTED" : "fixed",
			    gone ? "the service does not accept connections" :
			    fuzz_kind_name(same ? x.kind : o.kind));
			if (o.status != 0)
				buf_printf(&out, " %d", o.status);
			if (x.kind == FUZZ_SLOW && !gone)
				buf_printf(&out, " in %.0f ms",
				    (double)o.elapsed / 1e6);
			if (o.signature != NULL && o.signature[0] != '\0')
				buf_printf(&out, ": %s", o.signature);
			buf_append_str(&out, ")\n");
		}
		fuzz_outcome_free(&o);
		free(x.signature);
		free(x.endpoint);
	}
	if (json)
		buf_printf(&out, "],\"still_failing\":%d,\"untested\":%d,"
		    "\"fixed\":%zu}\n", still, untested, n - (size_t)still -
		    (size_t)untested);
	else {
		buf_printf(&out, "%d of %zu findings still fail", still, n);
		if (untested > 0)
			buf_printf(&out, ", %d untested: the service stopped "
			    "accepting connections%s", untested,
			    f.svc_cmd == NULL ? " (give --service-cmd to have "
			    "decoy restart it)" : "");
		buf_append_str(&out, "\n");
	}
	fwrite(out.data, 1, out.len, fp);
	rv = still + untested;
	goto out_buf;
out_x:
	free(x.signature);
	free(x.endpoint);
out_buf:
	buf_free(&out);
out:
	fuzz_teardown(&f);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rv;
}
