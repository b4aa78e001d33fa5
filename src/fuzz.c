/*
 * fuzz.c -- the fuzz campaign of fuzz.h: one thread, one event loop.
 *
 * The client.  httpc.h's connections (a non-blocking TCP connect, then
 * TLS for https:// with one context per campaign), driven by this loop,
 * and httpc_resp_read() for the answers; what is the fuzzer's own is
 * the use: a campaign sends arbitrary bytes, must tell a reset from a
 * close without an answer (and a malformed answer from both),
 * half-closes framing-broken mutants (conn_shutdown) and never retries
 * a request on its own.  A transport failure after the handshake is a
 * reset, a close (with close_notify or not) a close; a failed handshake
 * is a connect error.  Up to `connections` keep-alive connections carry
 * mutants; a connection is closed after any failure and after a
 * framing-broken mutant (which is always sent on a fresh connection).
 *
 * The campaign alternates two modes:
 *   - sending: loop_run() with the connections busy; each answer is
 *     classified (fuzz.h).  A failure whose key is already a finding
 *     counts as one more hit; a new one, or the death of the service,
 *     pauses the sending: no new mutant, and when the connections in
 *     flight have ended, loop_run() returns.
 *   - triage, in plain sequential code between two loop_run() calls
 *     (fuzz-triage.c): deaths and failures are confirmed by sending the
 *     suspects again alone; what reproduces becomes a finding
 *     (fuzz-findings.c).
 * A reset or a close without an answer is not classified at once when
 * decoy runs the service: the death of the service is noticed by a
 * 10 ms tick (waitpid), a little after its sockets closed, so such
 * failures wait FUZZ_GRACE_NS for it.
 *
 * The service (--service-cmd, sut.h): `/bin/sh -c CMD` in its own
 * process group, stdin from /dev/null, stdout and stderr appended to a
 * log file that is read for sanitizer reports.  Its death ends what is
 * left of the group, so a restart finds the port free.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "buf.h"
#include "conn.h"
#include "fuzz-int.h"
#include "fuzz-sched.h"
#include "fuzz.h"
#include "http.h"
#include "httpc.h"
#include "log.h"
#include "loop.h"
#include "mutate.h"
#include "sock.h"
#include "sut.h"
#include "url.h"
#include "xmalloc.h"

static void	fuzz_conn_io(struct loop_io *, uint32_t);
static void	fuzz_conn_timeout(struct loop_timer *);
static void	fuzz_job_finish(struct fuzz *, struct fuzz_job *);
static void	fuzz_conn_end(struct fuzz_conn *, enum fuzz_kind, int, int);
static void	fuzz_conn_wait(struct fuzz_conn *);
static void	fuzz_h2_start(struct fuzz_conn *);
static void	fuzz_h2_submit(struct fuzz_conn *);
static void	fuzz_h2_io(struct fuzz_conn *, uint32_t);
static int	fuzz_h2_expressible(struct fuzz *, const struct buf *);

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

/*
 * A copy of target with a port 0 (a free port, picked when decoy starts
 * the service) written as 1, which url_parse() takes; *port0 says so.
 */
static char *
fuzz_target_port0(const char *target, int *port0)
{
	char	*s = xstrdup(target), *auth, *end;

	if ((auth = strstr(s, "://")) == NULL)
		auth = s;
	else
		auth += 3;
	end = auth + strcspn(auth, "/?#");
	*port0 = end - auth >= 2 && end[-2] == ':' && end[-1] == '0';
	if (*port0)
		end[-1] = '1';
	return s;
}

/* "http[s]://HOST:PORT[/]" (url.h); the host is resolved here (start-up)
 * and an https:// target gets its TLS context (cfg->ca_file,
 * cfg->insecure). */
static int
fuzz_parse_target(struct fuzz *f, const char *target, char **cause)
{
	struct url	 u;
	const char	*why;
	int		 rv = -1, port0;
	char		*s = fuzz_target_port0(target, &port0);

	if (url_parse(s, strlen(s), 0, &u, &why) == -1)
		*cause = xasprintf("target %s: %s", target, why);
	else if (url_has_path(&u))
		*cause = xasprintf("target %s: a path prefix is not supported "
		    "(the corpus holds the paths)", target);
	else if (httpc_target_init_alpn(&f->target, &u, f->cfg->ca_file,
	    f->cfg->insecure, f->cfg->http2 ? "h2" : NULL, cause) == 0) {
		if (port0)
			sock_addr_set_port(&f->target.addr, 0);
		f->port = sock_addr_port(&f->target.addr);
		rv = 0;
	}
	free(s);
	return rv;
}

/* ---------------------------------------------------------------------- */
/* The service. */

/* One blocking connect attempt (start-up and restarts only). */
int
fuzz_port_open(struct fuzz *f)
{
	return sut_port_open(&f->target.addr, 200);
}

static int
fuzz_port_ready(void *arg)
{
	return fuzz_port_open(arg);
}

/* Reaps the service if it died; 1 (with *status) when it did. */
int
fuzz_service_reap(struct fuzz *f, int *status)
{
	if (f->svc.pid == -1 || !sut_gone(&f->svc))
		return 0;
	*status = f->svc.status;
	f->svc.pid = -1;
	return 1;
}

/* Starts the service and waits until its port accepts. */
int
fuzz_service_start(struct fuzz *f, char **cause)
{
	struct sut_spec	spec;

	memset(&spec, 0, sizeof spec);
	spec.command = f->svc_cmd;
	spec.dir = f->cfg->service_dir;
	spec.env = f->cfg->service_env;
	spec.nenv = f->cfg->nservice_env;
	spec.prog = "decoy fuzz";
	spec.log_mode = 0644;
	spec.flags = SUT_LOG_APPEND | SUT_ASAN_QUICK | SUT_KILL_GROUP;
	if (sut_start(&f->svc, &spec, cause) == -1)
		return -1;
	switch (sut_wait(&f->svc, fuzz_port_ready, f, FUZZ_START_NS / 1000000,
	    2, NULL)) {
	case SUT_READY:
		return 0;
	case SUT_GONE:
		*cause = xasprintf("service command exited before accepting "
		    "connections on port %d (status %d); see %s", f->port,
		    f->svc.status, f->svc.log);
		f->svc.pid = -1;
		return -1;
	default:
		*cause = xasprintf("service does not accept connections on "
		    "port %d after %d s; see %s", f->port,
		    (int)(FUZZ_START_NS / 1000000000ull), f->svc.log);
		return -1;
	}
}

/*
 * Before a request sent on its own (replay): the service decoy runs is
 * alive and accepting, restarted if it died or stopped accepting (a
 * death that came after the last answer, too late to be seen then).  No
 * service of ours: nothing to do.  -1 with *cause if it cannot start.
 */
int
fuzz_service_ensure(struct fuzz *f, char **cause)
{
	if (f->svc_cmd == NULL)
		return 0;
	if (f->svc.pid != -1) {
		switch (sut_wait(&f->svc, fuzz_port_ready, f,
		    FUZZ_GRACE_NS / 1000000, 5, NULL)) {
		case SUT_READY:
			return 0;
		case SUT_GONE:
			f->svc.pid = -1;
			break;
		default:
			sut_stop(&f->svc, FUZZ_STOP_MS);
			break;
		}
	}
	free(sut_log_new(&f->svc, NULL));	/* that death is told */
	return fuzz_service_start(f, cause);
}

/* ---------------------------------------------------------------------- */
/* The client. */

/* Closes c (TLS: close_notify first, best effort). */
void
fuzz_conn_close(struct fuzz_conn *c)
{
	if (c->registered) {
		loop_io_del(c->f->loop, &c->io);
		c->registered = 0;
	}
	httpc_h2_free(c->h2);
	c->h2 = NULL;
	httpc_conn_close(&c->hc);
	c->reused = 0;
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
	/* An answer that came before the whole request was written leaves
	 * the rest unsent: the connection cannot carry another. */
	if (!keep || c->oneshot || c->hc.woff < c->hc.req_len)
		fuzz_conn_close(c);
	else {
		buf_reset(&c->hc.in);
		c->reused = 1;
	}
	/* The request was the job's, which goes now. */
	c->hc.req = NULL;
	c->hc.req_len = c->hc.woff = 0;
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

/* Interest: what the connection waits for (httpc_conn_events: always
 * readable once open; writable while request bytes are left or TLS
 * waits for it). */
static void
fuzz_conn_wait(struct fuzz_conn *c)
{
	int	ev = c->h2 != NULL ? httpc_h2_events(c->h2) :
		    httpc_conn_events(&c->hc);

	if (!c->registered)
		return;
	loop_io_mod(c->f->loop, &c->io, ((ev & CONN_READ) ? EPOLLIN : 0) |
	    ((ev & CONN_WRITE) ? EPOLLOUT : 0));
}

static void
fuzz_conn_write(struct fuzz_conn *c)
{
	int	r;

	if (c->job == NULL)
		c->hc.woff = c->hc.req_len;	/* its request is gone */
	else if ((r = httpc_conn_write(&c->hc)) == 1) {
		/* The server reads the end of the stream (TLS: after a
		 * close_notify). */
		if (c->halfclose)
			conn_shutdown(c->hc.conn);
	} else if (r == -1) {
		/* The server may have answered and closed before reading
		 * everything: read what it said first. */
		c->hc.woff = c->hc.req_len;
	}
	fuzz_conn_wait(c);
}

/*
 * Keeps what a 5xx answer (head of head_len bytes at c->hc.in, then its
 * body, decoded) says: its head and first bytes in the job, for
 * finding.json, and the signature of its body.
 */
static void
fuzz_conn_keep_answer(struct fuzz_conn *c, size_t head_len, struct span body)
{
	struct fuzz_job	*j = c->job;

	if (j == NULL)
		return;
	buf_reset(&j->resp);
	buf_append(&j->resp, c->hc.in.data, head_len);
	buf_append(&j->resp, body.p, body.len < FUZZ_RESP_KEEP ? body.len :
	    FUZZ_RESP_KEEP);
	free(j->sig);
	j->sig = fuzz_body_signature(body.p, body.len, j->req.data,
	    j->req.len);
}

/* FNV-1a of p[0..len): shapes for the scheduler. */
static uint64_t
fuzz_hash(const char *p, size_t len)
{
	uint64_t	h = 0xcbf29ce484222325ull;

	while (len-- > 0)
		h = (h ^ (unsigned char)*p++) * 0x100000001b3ull;
	return h;
}

/* The shape of any other answer's body (its signature, hashed), for
 * the scheduler. */
static void
fuzz_conn_shape(struct fuzz_conn *c, struct span body)
{
	char	*sig;

	if (c->job == NULL)
		return;
	/* Without the request: looking for echoed input costs a search of
	 * the request per word, and echoes are capped as shapes anyway
	 * (FUZZ_SCHED_SHAPES). */
	sig = fuzz_body_signature(body.p, body.len, NULL, 0);
	c->job->shape = fuzz_hash(sig, strlen(sig));
	free(sig);
}

/* An answer that cannot be complete (httpc_resp_read() failed): what
 * kind of failure it is. */
static void
fuzz_conn_failed(struct fuzz_conn *c, int eof, int reset)
{
	const struct httpc_resp	*r = &c->hc.resp;
	int			 status = r->head_done ? r->status : 0;

	if (r->err == HTTPC_E_PROTOCOL) {
		if (c->job != NULL && !r->head_done) {
			buf_reset(&c->job->resp);
			buf_append(&c->job->resp, c->hc.in.data,
			    c->hc.in.len < FUZZ_RESP_KEEP ? c->hc.in.len :
			    FUZZ_RESP_KEEP);
		}
		fuzz_conn_end(c, FUZZ_BAD_RESPONSE, status, 0);
	} else if (reset)
		fuzz_conn_end(c, FUZZ_RESET, status, 0);
	else if (eof && !r->head_done && c->hc.in.len > 0)
		fuzz_conn_end(c, FUZZ_BAD_RESPONSE, 0, 0);
	else
		fuzz_conn_end(c, FUZZ_EOF, status, 0);
}

/* Reads the answer in what has been read (httpc_resp_read: interim 1xx
 * skipped, chunked decoded); ends the job when it is complete or cannot
 * be.  eof: the server closed; reset: the connection failed. */
static void
fuzz_conn_parse(struct fuzz_conn *c, int eof, int reset)
{
	const struct httpc_resp	*r = &c->hc.resp;
	struct span		 body;
	int			 rv;

	rv = httpc_resp_read(&c->hc.resp, &c->hc.in, eof || reset, &body);
	if (rv == -1) {
		fuzz_conn_failed(c, eof, reset);
		return;
	}
	if (r->head_done && r->framing == HTTP_FRAME_LENGTH &&
	    r->content_length > FUZZ_MAX_BODY) {
		fuzz_conn_end(c, FUZZ_BAD_RESPONSE, r->status, 0);
		return;
	}
	if (rv == 0)
		return;
	if (r->status >= 500)
		fuzz_conn_keep_answer(c, r->head_len, body);
	else
		fuzz_conn_shape(c, body);
	fuzz_conn_end(c, r->status >= 500 ? FUZZ_5XX : FUZZ_OK, r->status,
	    r->keep_alive && !eof && !reset);
}

/* A connect or handshake failed.  Before any handshake succeeded, a
 * TLS-level failure (verification, protocol) stops the campaign: every
 * connection would fail the same way.  Else the reason is logged once. */
static void
fuzz_tls_failed(struct fuzz_conn *c)
{
	struct fuzz	*f = c->f;
	const char	*verr = NULL, *err = c->hc.err;
	char		*why;
	int		 closed;

	if (c->hc.conn != NULL && conn_is_tls(c->hc.conn))
		verr = conn_tls_verify_error(c->hc.conn);
	closed = strcmp(err, "peer closed") == 0 || strcmp(err,
	    strerror(ECONNRESET)) == 0 || strcmp(err, strerror(EPIPE)) == 0;
	if (verr != NULL)
		why = xasprintf("certificate verification failed: %s (give "
		    "the CA with --ca-file FILE, or --insecure)", verr);
	else if (closed && strcmp(err, "peer closed") == 0)
		why = xstrdup("connection closed by the server");
	else
		why = xstrdup(err);
	if (!f->tls_up && !closed && f->tls_fatal == NULL) {
		f->tls_fatal = xasprintf("target %s: TLS handshake failed: %s",
		    f->cfg->target, why);
		f->ended = 1;
	} else if (!f->tls_warned && f->tls_fatal == NULL) {
		log_warn("%s: TLS handshake failed: %s", f->cfg->target, why);
		f->tls_warned = 1;
	}
	free(why);
}

/* Connecting (TCP, then TLS for https): once open, the job is written. */
static void
fuzz_conn_handshake(struct fuzz_conn *c)
{
	int	r;

	if ((r = httpc_conn_handshake(&c->hc)) == 0) {
		fuzz_conn_wait(c);
		return;
	}
	if (r == -1) {
		if (c->hc.state == HTTPC_HANDSHAKE)
			fuzz_tls_failed(c);
		fuzz_conn_end(c, FUZZ_CONNECT, 0, 0);
		return;
	}
	c->f->tls_up |= c->f->target.tls != NULL;
	if (c->f->cfg->http2) {
		fuzz_h2_start(c);
		return;
	}
	/* Only a job opens a connection (and its end closes it). */
	fuzz_conn_write(c);
}

/* Any event: the connection's steps decide what can be done. */
static void
fuzz_conn_io(struct loop_io *io, uint32_t events)
{
	struct fuzz_conn	*c = io->arg;

	if (c->h2 != NULL) {
		fuzz_h2_io(c, events);
		return;
	}
	if (c->hc.state == HTTPC_CLOSED)
		return;
	if (c->hc.state != HTTPC_OPEN) {
		fuzz_conn_handshake(c);
		return;
	}
	if (c->job == NULL) {
		/* Bytes or a close on an idle connection: drop it (TLS
		 * records without application data, such as session
		 * tickets, are no news). */
		if (httpc_conn_read(&c->hc) != 0 || c->hc.in.len > 0)
			fuzz_conn_close(c);
		else
			fuzz_conn_wait(c);
		return;
	}
	/* TLS: a write may wait for readability, a read for
	 * writability; both are tried on any event. */
	if (c->hc.woff < c->hc.req_len) {
		fuzz_conn_write(c);
		if (c->hc.state == HTTPC_CLOSED || c->job == NULL)
			return;
	}
	if (httpc_conn_read(&c->hc) == -1) {
		fuzz_conn_parse(c, 0, 1);
		return;
	}
	if (c->hc.in.len > FUZZ_MAX_HEAD + FUZZ_MAX_BODY) {
		fuzz_conn_end(c, FUZZ_BAD_RESPONSE, 0, 0);
		return;
	}
	if (c->hc.eof) {
		fuzz_conn_parse(c, 1, 0);
		return;
	}
	fuzz_conn_wait(c);
	fuzz_conn_parse(c, 0, 0);
}

static int
fuzz_conn_connect(struct fuzz_conn *c)
{
	struct fuzz	*f = c->f;

	if (httpc_conn_open(&c->hc) == -1)
		return -1;
	if (loop_io_add(f->loop, &c->io, httpc_conn_fd(&c->hc), EPOLLIN |
	    EPOLLOUT, fuzz_conn_io, c) == -1) {
		httpc_conn_close(&c->hc);
		return -1;
	}
	c->registered = 1;
	c->reused = 0;
	return 0;
}

/* Starts job j on c (connecting if c is closed); oneshot: on a fresh
 * connection, closed after the job. */
void
fuzz_conn_send(struct fuzz_conn *c, struct fuzz_job *j, int oneshot,
    int halfclose)
{
	struct fuzz	*f = c->f;

	/* An h2 session that takes no stream (a GOAWAY came) is replaced. */
	if ((oneshot || (c->h2 != NULL && !httpc_h2_is_open(c->h2))) &&
	    (c->h2 != NULL || c->hc.state != HTTPC_CLOSED))
		fuzz_conn_close(c);
	c->job = j;
	c->oneshot = oneshot;
	c->halfclose = halfclose;
	j->done = 0;
	j->start = loop_now_update(f->loop);
	f->inflight++;
	loop_timer_add(f->loop, &c->timer, f->cfg->timeout_ns);
	if (c->h2 != NULL) {
		fuzz_h2_submit(c);
		return;
	}
	if (!f->cfg->http2)
		httpc_conn_send(&c->hc, j->req.data, j->req.len, j->head);
	if (c->hc.state == HTTPC_CLOSED) {
		if (fuzz_conn_connect(c) == -1)
			fuzz_conn_end(c, FUZZ_CONNECT, 0, 0);
		return;		/* written once connected */
	}
	fuzz_conn_write(c);
}

/* ---------------------------------------------------------------------- */
/* HTTP/2 (--http2): one stream at a time per connection, so a mutant's
 * failure is its own, as over HTTP/1.1. */

/* 1 if h2 can carry the HTTP/1.1 request in b (httpc-h2.h). */
static int
fuzz_h2_expressible(struct fuzz *f, const struct buf *b)
{
	struct httpc_h2_req	 req;
	struct http_msg		 m;
	const char		*why;

	(void)f;
	return httpc_h2_req_from_http1(&req, &m, b->data, b->len, "http",
	    "", &why) == 0;
}

/* Sends c's job as a stream of c's session. */
static void
fuzz_h2_submit(struct fuzz_conn *c)
{
	struct fuzz		*f = c->f;
	struct httpc_h2_req	 req;
	struct http_msg		 m;
	const char		*why;

	if (httpc_h2_req_from_http1(&req, &m, c->job->req.data,
	    c->job->req.len, f->target.tls != NULL ? "https" : "http",
	    f->target.host, &why) == -1) {
		/* Only triage gets here (a minimised candidate, a finding
		 * of HTTP/1.1 replayed): nothing sent, nothing failed. */
		if (!f->h2_warned++)
			log_warn("a request h2 cannot carry is not sent: %s",
			    why);
		fuzz_conn_end(c, FUZZ_OK, 0, 1);
		return;
	}
	if (httpc_h2_submit(c->h2, &req, c->job) == -1) {
		fuzz_conn_end(c, FUZZ_RESET, 0, 0);
		return;
	}
	fuzz_conn_wait(c);
}

/* The connection is made: an h2 session over it (TLS must have chosen
 * h2), then the job as its first stream. */
static void
fuzz_h2_start(struct fuzz_conn *c)
{
	struct fuzz	*f = c->f;
	struct conn	*conn = c->hc.conn;
	char		 alpn[32], *cause = NULL;

	if (conn_is_tls(conn) && (!conn_tls_alpn(conn, alpn, sizeof alpn) ||
	    strcmp(alpn, "h2") != 0)) {
		if (f->tls_fatal == NULL)
			f->tls_fatal = xasprintf("target %s: --http2: the "
			    "server did not choose h2 by ALPN", f->cfg->target);
		f->ended = 1;
		fuzz_conn_end(c, FUZZ_CONNECT, 0, 0);
		return;
	}
	c->hc.conn = NULL;		/* the session's now */
	c->hc.state = HTTPC_CLOSED;
	if ((c->h2 = httpc_h2_create(conn, NULL, &cause)) == NULL) {
		log_warn("%s: %s", f->cfg->target, cause);
		free(cause);
		fuzz_conn_end(c, FUZZ_CONNECT, 0, 0);
		return;
	}
	if (c->job != NULL)
		fuzz_h2_submit(c);
	else
		fuzz_conn_wait(c);
}

/* A 5xx answer's status line, headers and first body bytes (as text
 * for finding.json), and its body's signature. */
static void
fuzz_h2_keep_answer(struct fuzz_conn *c, const struct httpc_h2_resp *r)
{
	struct fuzz_job	*j = c->job;
	size_t		 i;

	buf_reset(&j->resp);
	buf_printf(&j->resp, "HTTP/2 %d\r\n", r->status);
	for (i = 0; i < r->nheaders; i++)
		buf_printf(&j->resp, "%.*s: %.*s\r\n",
		    (int)r->headers[i].name.len, r->headers[i].name.p,
		    (int)r->headers[i].value.len, r->headers[i].value.p);
	buf_append_str(&j->resp, "\r\n");
	buf_append(&j->resp, r->body.p, r->body.len < FUZZ_RESP_KEEP ?
	    r->body.len : FUZZ_RESP_KEEP);
	free(j->sig);
	j->sig = fuzz_body_signature(r->body.p, r->body.len, j->req.data,
	    j->req.len);
}

/* The end of c's stream: the job's outcome.  A stream reset leaves the
 * connection usable; its end, or a malformed answer, does not. */
static void
fuzz_h2_result(struct fuzz_conn *c, const struct httpc_h2_resp *r)
{
	int	open = httpc_h2_is_open(c->h2);

	if (c->job == NULL || r->arg != c->job)
		return;
	switch (r->err) {
	case HTTPC_H2_E_NONE:
		if (r->status >= 500)
			fuzz_h2_keep_answer(c, r);
		fuzz_conn_end(c, r->status >= 500 ? FUZZ_5XX : FUZZ_OK,
		    r->status, open);
		break;
	case HTTPC_H2_E_RESET:
	case HTTPC_H2_E_GOAWAY:
		fuzz_conn_end(c, FUZZ_RESET, 0, open);
		break;
	case HTTPC_H2_E_NOT_SENT:
		/* libnghttp2 would not send it: as if h2 could not carry
		 * it (skipped), not a failure of the service. */
		c->f->res->h2_skipped++;
		fuzz_conn_end(c, FUZZ_OK, 0, open);
		break;
	case HTTPC_H2_E_CLOSED:
		fuzz_conn_end(c, strcmp(httpc_h2_error(c->h2),
		    "closed by the peer") == 0 ? FUZZ_EOF : FUZZ_RESET, 0, 0);
		break;
	default:
		fuzz_conn_end(c, FUZZ_BAD_RESPONSE, r->status, 0);
		break;
	}
}

static void
fuzz_h2_io(struct fuzz_conn *c, uint32_t events)
{
	struct httpc_h2_resp	r;
	int			over;

	over = httpc_h2_io(c->h2, httpc_h2_ready(c->h2,
	    conn_epoll_ready(events))) == -1;
	while (c->h2 != NULL && httpc_h2_done(c->h2, &r))
		fuzz_h2_result(c, &r);
	if (c->h2 == NULL)
		return;
	if (over) {
		if (c->job != NULL)
			fuzz_conn_end(c, FUZZ_RESET, 0, 0);
		else
			fuzz_conn_close(c);
		return;
	}
	fuzz_conn_wait(c);
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

int
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
ssize_t
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
 * to another handler), else the one corpus endpoint with its path (a
 * mutated method), else the endpoint of the entry it came from (mangled
 * paths would otherwise make a new endpoint each).
 */
static size_t
fuzz_job_endpoint(struct fuzz *f, const struct fuzz_job *j)
{
	char		*name = fuzz_raw_endpoint(j->req.data, j->req.len);
	const char	*path = strchr(name, ' '), *p;
	size_t		 i, found = SIZE_MAX, n = 0;

	for (i = 0; i < f->neps; i++) {
		if (strcmp(f->eps[i].name, name) == 0) {
			free(name);
			return i;
		}
		/* Another method on a corpus path reaches its handler
		 * (a mutant's GET /upload hangs like POST /upload). */
		p = strchr(f->eps[i].name, ' ');
		if (path != NULL && p != NULL && strcmp(p, path) == 0) {
			found = i;
			n++;
		}
	}
	free(name);
	return n == 1 ? found : f->entry_ep[j->info.parent];
}

/* ---------------------------------------------------------------------- */
/* Sending mutants. */

struct fuzz_job *
fuzz_job_new(void)
{
	struct fuzz_job	*j = xcalloc(1, sizeof *j);

	buf_init(&j->req);
	buf_init(&j->resp);
	j->index = UINT64_MAX;
	return j;
}

void
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
	size_t		 i, entry;
	unsigned	 op;
	int32_t		 field;

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
		if (!fuzz_sched_ready(f->sched, f->next_index)) {
			if (f->inflight > 0 || f->nrecent > 0 ||
			    f->nretry > 0)
				break;	/* an older outcome is due */
			/* Outcomes that will never come (jobs dropped from
			 * a full list): do not wait for them. */
			log_debug("scheduler: settling before mutant %" PRIu64,
			    f->next_index);
			fuzz_sched_settle(f->sched, f->next_index);
		}
		j = fuzz_job_new();
		fuzz_sched_pick(f->sched, f->next_index, &entry, &op, &field);
		mut_make(f->engine, f->next_index, entry, op, field, &j->req,
		    &j->info);
		log_debug("mutant %" PRIu64 ": entry %zu, %s, field %d",
		    f->next_index, entry, mut_op_name(op), (int)field);
		/* --http2: what h2 cannot carry is skipped, not sent (its
		 * number is used up and has no outcome). */
		if (f->cfg->http2 && !fuzz_h2_expressible(f, &j->req)) {
			f->res->h2_skipped++;
			fuzz_sched_skip(f->sched, f->next_index);
			f->res->mutants = ++f->next_index;
			fuzz_job_free(j);
			continue;
		}
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

void
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
struct fuzz_reject *
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
int
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

/*
 * Tells the scheduler what mutant j did, once: kind, status, sig (a 5xx
 * body's or a crash's signature, or NULL: j's answer's shape).  Its
 * behaviour class is the endpoint and the kind of failure or the
 * status; its shape the signature of the answer.  Protocol noise (a 501
 * for a broken method...) is one class per endpoint.  Latency is left
 * out: it is what a loaded machine changes from run to run, and the
 * schedule would follow the load (slow answers are still findings).
 * kind FUZZ_CONNECT: the outcome will never be known (nothing is
 * applied).
 */
void
fuzz_feed(struct fuzz *f, struct fuzz_job *j, enum fuzz_kind kind,
    int status, const char *sig)
{
	struct fuzz_sched_outcome	 o;
	const char			*raw, *sp;
	size_t				 len;

	if (j->index == UINT64_MAX || j->fed || f->sched == NULL)
		return;
	j->fed = 1;
	if (kind == FUZZ_CONNECT) {
		fuzz_sched_skip(f->sched, j->index);
		return;
	}
	raw = mut_corpus_entry(f->corpus, j->info.parent, &len);
	sp = raw != NULL ? memchr(raw, ' ', len) : NULL;
	/* A request broken so that a close is a correct answer (the
	 * noise classifier's verdict for a close) gets a 4xx, a close or
	 * a reset, whichever comes first on the wire (a server that closes
	 * with unread bytes resets): one answer, whatever the timing. */
	if (((kind == FUZZ_OK && status >= 400 && status < 500) ||
	    kind == FUZZ_RESET || kind == FUZZ_EOF) &&
	    fuzz_noise_classify(j->req.data, j->req.len, raw != NULL ? raw :
	    "", sp != NULL ? (size_t)(sp - raw) : 0, j->info.framing,
	    FUZZ_EOF, 0) != FUZZ_NOISE_NONE)
		kind = FUZZ_EOF;
	if (kind != FUZZ_OK && fuzz_noise_classify(j->req.data, j->req.len,
	    raw != NULL ? raw : "", sp != NULL ? (size_t)(sp - raw) : 0,
	    j->info.framing, kind, status) != FUZZ_NOISE_NONE) {
		/* A correct answer to garbage is no news about the service:
		 * one class per endpoint. */
		o.cls = ((uint64_t)j->ep << 32) ^ 0xdec0;
		o.shape = 0;
		(void)fuzz_sched_feed(f->sched, j->index, &o);
		return;
	}
	o.cls = ((uint64_t)j->ep << 32) ^ ((uint64_t)kind << 24) ^
	    (uint64_t)(unsigned)status;
	o.shape = sig != NULL ? fuzz_hash(sig, strlen(sig)) : kind == FUZZ_OK ?
	    j->shape : 0;
	(void)fuzz_sched_feed(f->sched, j->index, &o);
}

/*
 * The outcome of a finished job, when it is its own: a complete answer
 * always is; a reset, a close or a refused connection from a service
 * decoy runs waits (for FUZZ_GRACE_NS, fuzz_settle_recent, or for the
 * triage of a death, which sends it alone or back into the campaign),
 * and so does anything cut short by a death: which mutants a death cuts
 * short is timing, and the schedule must not depend on it.
 */
static void
fuzz_feed_finished(struct fuzz *f, struct fuzz_job *j)
{
	int	ours = f->cfg->service_cmd != NULL;

	switch (j->kind) {
	case FUZZ_OK:
	case FUZZ_5XX:
		break;
	case FUZZ_RESET:
	case FUZZ_EOF:
	case FUZZ_CONNECT:
		if (ours)
			return;
		break;
	default:
		if (f->died)
			return;
		break;
	}
	fuzz_feed(f, j, j->kind, j->status, j->sig);
}

/* A job of the campaign is over. */
static void
fuzz_job_finish(struct fuzz *f, struct fuzz_job *j)
{
	if (f->send_one_active) {
		loop_stop(f->loop);
		return;
	}
	fuzz_feed_finished(f, j);
	switch (j->kind) {
	case FUZZ_OK:
	case FUZZ_5XX:
		f->connect_fails = 0;
		f->res->answered++;
		if (j->kind == FUZZ_OK && fuzz_latency(f, j->ep, j->elapsed))
			j->kind = FUZZ_SLOW;
		/* A complete 5xx is the mutant's own answer, a death or
		 * not: a candidate, confirmed alone once the death is
		 * triaged (a sweep mutant is sent once). */
		if (j->kind == FUZZ_OK || (f->died && j->kind == FUZZ_SLOW))
			fuzz_job_free(j);
		else
			fuzz_failure(f, j);
		break;
	case FUZZ_RESET:
	case FUZZ_EOF:
	case FUZZ_CONNECT:
		if (j->kind == FUZZ_CONNECT && (f->died || f->svc.pid != -1)) {
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
		} else if (f->svc.pid != -1) {
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

	/* log_status: a log line meanwhile clears it and redraws it. */
	log_status("fuzz: %" PRIu64 " sent, %.0f/s, %zu findings, %"
	    PRIu64 " crashes", f->res->sent,
	    secs > 0 ? (double)f->res->sent / secs : 0.0, f->res->nfindings,
	    f->res->crashes);
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
		else {
			fuzz_feed(f, j, j->kind, j->status, j->sig);
			fuzz_job_free(j);
		}
	}
	for (i = 0; i < f->nconns; i++)
		if (f->conns[i].job != NULL)
			fuzz_conn_end(&f->conns[i], FUZZ_RESET, 0, 0);
	f->nrecent = 0;
}

/* Resets and closes older than the grace period, with the service
 * alive: not a death after all, each is a failure (or, framing broken,
 * expected). */
static void
fuzz_settle_recent(struct fuzz *f, uint64_t now)
{
	size_t	i, n;

	if (f->died)
		return;		/* all of them are suspects */
	for (i = n = 0; i < f->nrecent; i++) {
		struct fuzz_job *j = f->recent[i];

		/* Past FUZZ_RECENT_NS a death would not make it a suspect
		 * (fuzz_died): its answer is its own, and the scheduler
		 * need not wait for the grace period. */
		if (now - j->done_at > FUZZ_RECENT_NS && f->report_at == 0)
			fuzz_feed(f, j, j->kind, j->status, j->sig);
		if (now - j->done_at < FUZZ_GRACE_NS) {
			f->recent[n++] = j;
			continue;
		}
		/* Not cut short by a death: its own answer. */
		fuzz_feed(f, j, j->kind, j->status, j->sig);
		if (j->kind == FUZZ_CONNECT)
			fuzz_job_free(j);
		else if (j->info.framing) {
			f->res->failures++;	/* expected */
			fuzz_noise(f, j, j->kind, j->status, 1);
			fuzz_job_free(j);
		} else
			fuzz_failure(f, j);
	}
	f->nrecent = n;
}

static void
fuzz_tick(struct loop_timer *t)
{
	struct fuzz	*f = t->arg;
	uint64_t	 now = loop_now_update(f->loop);
	int		 status;

	loop_timer_add(f->loop, &f->tick, FUZZ_TICK_NS);
	if (f->send_one_active)
		return;		/* fuzz_send_one() watches the service */
	if (!f->died && fuzz_service_reap(f, &status))
		fuzz_died(f, status);
	else if (!f->died && f->svc.pid != -1 && f->report_at == 0 &&
	    sut_log_has_report(&f->svc)) {
		/* A sanitizer report: the service usually dies once it is
		 * written; if it goes on (recover mode), it counts too. */
		f->report_at = now;
	} else if (!f->died && f->report_at != 0 &&
	    now - f->report_at > FUZZ_REPORT_NS)
		fuzz_died(f, -1);
	fuzz_settle_recent(f, now);
	if (*f->stop)
		f->ended = 1;
	if (f->cfg->progress && now - f->last_progress >= 1000000000ull) {
		f->last_progress = now;
		fuzz_progress(f, now);
	}
	loop_defer(f->loop, &f->dispatch);
	fuzz_maybe_return(f);
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
int
fuzz_setup(struct fuzz *f, const char *logdir, char **cause)
{
	const struct fuzz_config	*cfg = f->cfg;
	size_t				 i;
	int				 port;

	if (fuzz_parse_target(f, cfg->target, cause) == -1)
		return -1;
	if ((f->loop = loop_create(cause)) == NULL)
		return -1;
	f->nconns = cfg->connections > 0 ? cfg->connections : 1;
	f->conns = xcalloc(f->nconns, sizeof *f->conns);
	for (i = 0; i < f->nconns; i++) {
		struct fuzz_conn *c = &f->conns[i];

		c->f = f;
		httpc_conn_init(&c->hc, &f->target);
		c->hc.resp.max_head = FUZZ_MAX_HEAD;
		loop_timer_init(&c->timer, fuzz_conn_timeout, c);
	}
	loop_timer_init(&f->tick, fuzz_tick, f);
	loop_defer_init(&f->dispatch, fuzz_dispatch, f);
	if (cfg->service_cmd != NULL) {
		if (f->port == 0) {
			if ((port = sut_free_port(cause)) == -1)
				return -1;
			sock_addr_set_port(&f->target.addr, port);
			f->port = port;
		}
		f->svc_cmd = buf_subst_int(cfg->service_cmd, "port",
		    f->port);
		f->svc.log = cfg->service_log != NULL ?
		    xstrdup(cfg->service_log) :
		    xasprintf("%s/service.log", logdir);
		if (fuzz_service_start(f, cause) == -1)
			return -1;
		sut_log_skip(&f->svc);
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

void
fuzz_teardown(struct fuzz *f)
{
	size_t	i;

	sut_stop(&f->svc, FUZZ_STOP_MS);
	for (i = 0; f->conns != NULL && i < f->nconns; i++) {
		fuzz_conn_close(&f->conns[i]);
		loop_timer_del(f->loop, &f->conns[i].timer);
		httpc_conn_free(&f->conns[i].hc);
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
	fuzz_sched_free(f->sched);
	if (f->engine != NULL)
		mut_engine_free(f->engine);
	if (f->corpus != NULL)
		mut_corpus_free(f->corpus);
	free(f->svc_cmd);
	free(f->svc.log);
	httpc_target_free(&f->target);
	free(f->tls_fatal);
}

/* The sweep before the schedule: each endpoint's items (mutate.h's
 * mut_sweep_*), in fuzz_sweep_order's order; nitems is scratch of the
 * corpus's size. */
static void
fuzz_sweep_setup(struct fuzz *f, size_t *nitems)
{
	struct fuzz_sweep_item	*v;
	struct mut_sweep_item	 it;
	size_t			 i, n = mut_corpus_count(f->corpus), nv;

	for (i = 0; i < n; i++)
		nitems[i] = mut_sweep_count(f->engine, i);
	v = fuzz_sweep_order(n, f->entry_ep, nitems, f->cfg->seed, &nv);
	for (i = 0; i < nv; i++) {
		if (mut_sweep_item(f->engine, v[i].entry, (size_t)v[i].field,
		    &it) == -1)
			continue;	/* not reached: counted above */
		v[i].op = MUT_SWEEP;
		v[i].arm_op = it.arm_op;
		v[i].arm_field = it.arm_field;
	}
	fuzz_sched_set_sweep(f->sched, v, nv);
	f->res->sweep = fuzz_sched_sweep_size(f->sched);
	free(v);
}

/*
 * The scheduler: every (entry, operator) the entry can take, weighted
 * by the engine's priors; the choice for mutant n waits for the
 * outcomes up to n - FUZZ_SCHED_LAG_PER_CONN * connections - 1.
 */
static void
fuzz_sched_setup(struct fuzz *f)
{
	size_t		 i, n = mut_corpus_count(f->corpus), *nfields;
	unsigned	 op, nops = mut_op_count();
	uint32_t	*prior;
	uint64_t	 field_ops = 0;

	prior = xreallocarray(NULL, n > 0 ? n : 1, nops * sizeof *prior);
	nfields = xreallocarray(NULL, n > 0 ? n : 1, sizeof *nfields);
	for (i = 0; i < n; i++) {
		for (op = 0; op < nops; op++)
			prior[i * nops + op] = mut_op_weight_of(f->engine, i,
			    op);
		nfields[i] = mut_entry_fields(f->engine, i);
	}
	for (op = 0; op < nops && op < 64; op++)
		if (mut_op_takes_field(op))
			field_ops |= (uint64_t)1 << op;
	f->sched = fuzz_sched_create(n, nops, prior, nfields, field_ops,
	    f->cfg->seed, FUZZ_SCHED_LAG_PER_CONN * (f->cfg->connections > 0 ?
	    f->cfg->connections : 1));
	if (!f->cfg->no_sweep)
		fuzz_sweep_setup(f, nfields);
	free(prior);
	free(nfields);
}

/* The corpus, its endpoints, the mutation engine and the scheduler.  0
 * or -1 with *cause. */
static int
fuzz_load(struct fuzz *f, char **cause)
{
	const char	*raw;
	size_t		 i, len;

	f->corpus = mut_corpus_create();
	if (mut_corpus_load_dir(f->corpus, f->cfg->corpus, cause) == -1)
		return -1;
	f->entry_ep = xcalloc(mut_corpus_count(f->corpus),
	    sizeof *f->entry_ep);
	for (i = 0; i < mut_corpus_count(f->corpus); i++) {
		raw = mut_corpus_entry(f->corpus, i, &len);
		f->entry_ep[i] = fuzz_endpoint_intern(f,
		    fuzz_raw_endpoint(raw, len));
	}
	/* h2 frames the body itself: no framing operators. */
	f->engine = mut_engine_create(f->corpus, f->cfg->seed,
	    (f->cfg->mutate_auth ? MUT_MUTATE_AUTH : 0) |
	    (f->cfg->http2 ? MUT_NO_FRAMING : 0));
	fuzz_sched_setup(f);
	return 0;
}

/* Waits up to ns for the service of ours to die; 1 (fuzz_died() told)
 * if it did. */
static int
fuzz_wait_death(struct fuzz *f, uint64_t ns)
{
	uint64_t	deadline = loop_clock_ns() + ns;
	int		status;

	while (loop_clock_ns() < deadline) {
		if (fuzz_service_reap(f, &status)) {
			fuzz_died(f, status);
			return 1;
		}
		sut_sleep_ms(2);
	}
	return 0;
}

/* Paused (or done), nothing in flight: is the service dying? */
static void
fuzz_settle(struct fuzz *f)
{
	/* Connections were refused: the service is dying or dead, or
	 * not. */
	if (!f->died && f->connect_failed && f->svc.pid != -1)
		fuzz_wait_death(f, FUZZ_GRACE_NS);
	f->connect_failed = 0;
	/* A sanitizer report on its way: the death comes first. */
	if (!f->died && f->svc.pid != -1 && (f->report_at != 0 ||
	    sut_log_has_report(&f->svc)) && !fuzz_wait_death(f,
	    FUZZ_REPORT_NS))
		fuzz_died(f, -1);
}

/* The death (if any), then the candidates.  0 or -1 with *cause. */
static int
fuzz_triage(struct fuzz *f, char **cause)
{
	size_t	i;

	if (f->died) {
		if (fuzz_triage_death(f, cause) == -1)
			return -1;
		/* Suspects neither sent alone nor sent again: their own
		 * outcome will never be known. */
		for (i = 0; i < f->nsuspects; i++)
			if (f->suspects[i] != NULL)
				fuzz_feed(f, f->suspects[i], FUZZ_CONNECT, 0,
				    NULL);
		fuzz_jobs_clear(&f->suspects, &f->nsuspects);
		f->died = 0;
	}
	for (i = 0; i < f->ncands; i++)
		if (fuzz_triage_one(f, f->cands[i], cause) == -1)
			return -1;
	fuzz_jobs_clear(&f->cands, &f->ncands);
	return 0;
}

/* The budget is spent or the campaign stopped: the last resets are
 * settled (the tick no longer runs), then triaged.  0 or -1. */
static int
fuzz_finish(struct fuzz *f, char **cause)
{
	int	status;

	f->ended = 1;
	f->pausing = 1;
	while (f->nrecent > 0 && !f->died) {
		if (fuzz_service_reap(f, &status)) {
			fuzz_died(f, status);
			break;
		}
		fuzz_settle_recent(f, loop_clock_ns());
		if (f->nrecent > 0)
			sut_sleep_ms(10);
	}
	return fuzz_triage(f, cause);
}

int
fuzz_run(const struct fuzz_config *cfg, struct fuzz_result *res,
    volatile int *stop, char **cause)
{
	struct fuzz	 f;
	size_t		 i;
	int		 rv = -1;
	uint64_t	 t_start;

	memset(res, 0, sizeof *res);
	memset(&f, 0, sizeof f);
	f.cfg = cfg;
	f.res = res;
	f.stop = stop;
	sut_init(&f.svc, "service");
	t_start = loop_clock_ns();
	if (fuzz_load(&f, cause) == -1 || fuzz_mkdir(cfg->findings,
	    cause) == -1 || fuzz_setup(&f, cfg->findings, cause) == -1)
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
		fuzz_settle(&f);
		if (fuzz_triage(&f, cause) == -1)
			goto out;
		f.pausing = 0;
		if (f.ended || *stop) {
			if (fuzz_finish(&f, cause) == -1)
				goto out;
			break;
		}
	}
	if (cfg->progress)
		log_status_end(1);
	/* The hit counts are final now. */
	for (i = 0; i < res->nfindings; i++)
		if (fuzz_write_json(cfg, &res->findings[i], cause) == -1)
			goto out;
	rv = 0;
out:
	if (cfg->progress && rv == -1)
		log_status_end(1);
	res->elapsed_ns = loop_clock_ns() - t_start;
	fuzz_teardown(&f);
	return rv;
}
