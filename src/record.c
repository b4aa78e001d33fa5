/*
 * record.c -- the recorder: a single-threaded epoll reverse proxy that
 * relays HTTP/1.1 exchanges to one upstream and appends each one to a
 * snapshot (see record.h for the contract).
 *
 * A connection pairs a client side and an upstream side; each side is a
 * socket (plain or TLS) with an input and an output buffer, pumped on every
 * event: write what is pending, then read what is there.  TLS wants are
 * handled by simply retrying both directions on every event, with EPOLLOUT
 * asked for while output is pending or the TLS engine wants to write.
 * Bodies stream: bytes move from one side's input to the other side's
 * output as they are parsed, and a side is not read while the buffer it
 * feeds holds REC_HIGH_WATER bytes (EPOLLIN is dropped until it drains).
 * In the steady state an exchange costs four syscalls (read the request,
 * write it upstream, read the response, write it back) plus a share of
 * one epoll wait and of one snapshot write per loop round, and no
 * epoll_ctl.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/epoll.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <netdb.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "ca.h"
#include "conn.h"
#include "funnel.h"
#include "http.h"
#include "httpd.h"
#include "httpflow.h"
#include "json.h"
#include "log.h"
#include "loop.h"
#include "prom.h"
#include "record.h"
#include "record-h2.h"
#include "record-resolve.h"
#include "record-writer.h"
#include "snap.h"
#include "snap-ids.h"
#include "sock.h"
#include "url.h"
#include "xmalloc.h"

#define REC_READ_CHUNK		(64 * 1024)
/* Bytes waiting in a buffer past which the side feeding it is not read
 * any more (backpressure): what bounds a connection's memory. */
#define REC_HIGH_WATER		(256 * 1024)
/* The forwarded request is kept for one retry (a keep-alive upstream that
 * closed while idle) up to this size; a longer one is not retried. */
#define REC_RETRY_MAX		(64 * 1024)

/* Repeated conditions (write errors, EMFILE) are logged once per
 * interval, with a count. */
#define REC_LOG_INTERVAL_NS	(5ULL * 1000000000ULL)
/* Out of descriptors, the listener is not watched for this long: the
 * connections wait in the backlog while those open are served. */
#define REC_ACCEPT_PAUSE_NS	(100ULL * 1000000ULL)

struct rec_conn;

/* Where an exchange goes. */
struct rec_target {
	char			*hostport;	/* Host header, "server" */
	char			*name;		/* host alone: SNI, "svc" */
	int			 port;
	int			 tls;
	int			 ip;		/* name is an address */
	int			 resolved;
	struct sock_addr	 addr;
	/* Cleartext h2 clients: 1 it answered h2 (prior knowledge), -1
	 * HTTP/1.1 (streams translated down), 0 not known yet. */
	int			 h2;
};

struct rec_side {
	struct rec_conn	*c;
	struct conn	*conn;		/* tcp, or tls over it; NULL: closed */
	struct loop_io	 io;
	int		 handshaking;	/* TLS handshake not done */
	int		 connecting;	/* upstream: TCP connect not done */
	int		 eof;
	int		 more;		/* stopped at the limit, not drained */
	struct buf	 in;
	struct buf	 out;
};

/* How the response body goes to the client. */
enum rec_relay {
	REC_RELAY_RAW,		/* as received (Content-Length, chunked, EOF) */
	REC_RELAY_DECHUNK,	/* chunked decoded, for an HTTP/1.0 client */
	REC_RELAY_CHUNK,	/* EOF-framed wrapped in chunks (HTTP/1.1) */
};

enum rec_state {
	REC_S_REQ_HEAD,		/* reading a request head */
	REC_S_UPSTREAM,		/* head forwarded: body and response stream */
	REC_S_TUNNEL,		/* CONNECT not intercepted: bytes relayed */
	REC_S_CLOSING,		/* flushing the last answer, then closing */
	REC_S_H2,		/* HTTP/2: streams relayed by record-h2.c */
	REC_S_ALPN,		/* CONNECT: the upstream's ALPN choice first */
};

struct rec_conn {
	struct recorder		*r;
	struct rec_conn		*next, *prev;
	struct rec_side		 cl;
	struct rec_side		 up;
	int			 up_open;	/* up.conn is a live connection */
	int			 up_reused;	/* it carried a request before */
	int			 retried;
	enum rec_state		 state;
	char			 client[64];
	struct loop_timer	 timer;
	struct loop_defer	 reap;
	int			 dead;
	struct rec_target	*tgt;		/* &r->rt or &own */
	struct rec_target	 own;		/* forward proxy */
	struct record_lookup	*lookup;
	int			 intercepted;	/* CONNECT: TLS from the client */
	int			 tunnel;
	uint64_t		 bytes_up, bytes_down;
	char			*tunnel_error;
	int			 tunnel_recorded;
	int			 http_seen;	/* a request head parsed */
	struct record_h2	*h2;		/* REC_S_H2 */
	int			 h2_alpn;	/* the upstream's ALPN checked */
	int			 up_h2;		/* up.conn chose h2 by ALPN */

	/* The exchange in flight. */
	struct snap_txn		 t;
	enum http_framing	 req_framing;
	uint64_t		 req_left;	/* Content-Length bytes due */
	int			 req_keep_alive;
	int			 req_version;	/* 10 or 11 */
	int			 req_head;	/* HEAD: response has no body */
	int			 req_done;	/* its body is all forwarded */
	struct http_chunked	 req_ck;
	struct buf		 req_trl, res_trl;	/* chunked trailers */
	struct buf		 reqbody;	/* decoded, up to max_body */
	struct buf		 req_hdrs, res_hdrs;	/* rec_headers_copy */
	struct buf		 fwd;		/* as forwarded, for a retry */
	int			 fwd_whole;	/* fwd holds all that went */
	size_t			 req_len;	/* its body's size */
	int			 res_head_done;
	enum http_framing	 res_framing;
	enum rec_relay		 res_relay;
	uint64_t		 res_left;	/* Content-Length bytes due */
	int			 res_keep_alive;
	struct http_chunked	 ck;
	struct buf		 body;		/* response, to max_body */
	size_t			 res_len;	/* its body's size */
	uint64_t		 start_mono, ttfb_mono, last_mono;
	uint64_t		 idle_mono;	/* the client's last activity */
	uint64_t		 head_mono;	/* a request head is due
						 * (--header-timeout); 0: not */
	int64_t			 start_us;
	int			 held;		/* cl.out waits for the batch */
	size_t			 batch_line;	/* its line in r->batch */
	uint64_t		 cl_sent;	/* bytes written to the client */
	uint64_t		 res_off;	/* where its answer starts in
						 * that stream */
	char			 id[32];
	char			 ts[40];
};

struct recorder {
	struct record_config	 cfg;
	struct loop		*loop;
	int			 lfd;
	struct loop_io		 lio;
	/* accept(2) out of descriptors: paused, then retried. */
	struct loop_timer	 accept_timer;
	uint64_t		 accept_errors;
	struct log_every	 accept_log;
	size_t			 nconns;
	struct rec_target	 rt;		/* reverse proxy's upstream */
	int			 forward;	/* --proxy */
	int			 transparent;	/* --transparent */
	struct conn_tls_ctx	*up_tls;	/* https upstreams */
	struct conn_tls_ctx	*up_tls_h2;	/* ... for h2 (ALPN "h2") */
	struct conn_tls_ctx	*srv_tls;	/* intercepted CONNECTs */
	struct conn_tls_ctx	*srv_tls_h2;	/* ... offering h2 too */
	struct conn_tls_ctx	*up_tls_alpn;	/* ... upstream: h2,http/1.1 */
	struct ca		*ca;
	struct record_resolver	*resolver;	/* --proxy */
	struct record_redact	*redact;
	struct record_writer	 w;
	struct loop_timer	 sync_timer;
	struct rec_conn		*conns;
	/* Snapshot lines of this loop round, written in one write(2) before
	 * the clients that wait on them (held) get their last bytes. */
	struct buf		 batch;
	struct rec_conn		**held;
	size_t			 nheld, heldcap;
	size_t			 nbatch;		/* lines in batch */
	struct loop_defer	 batch_defer;
	char			 rt_server[300];	/* rt as "server" */
	time_t			 ts_sec;		/* ts_prefix's second */
	char			 ts_prefix[32];	/* "YYYY-MM-DDTHH:MM:SS" */
	uint64_t		 seq;
	char			 id_prefix[16];	/* snap_ids_run_prefix */
	size_t			 id_prefix_len;
	uint64_t		 ntxn, nerr;
	uint64_t		 nfunneled;	/* dropped by the funnel */
	/* Transactions the snapshot could not take. */
	uint64_t		 nlost;
	int			 werrno;	/* errno of the last failure */
	int			 wfailing;	/* the last write failed */
	struct log_every	 wlog;
	size_t			 batch_kept;	/* lines of the last batch
						 * stored */
	int			 wclose_failed;
	/* Clients too slow with a request head or body (408). */
	uint64_t		 head_timeouts, body_timeouts;
	struct log_every	 slow_log;
	/* --metrics: the endpoint and what only it counts. */
	struct prom_server	*metrics;
	uint64_t		 start_ns;
	uint64_t		 body_bytes;	/* request + response bodies */
	uint64_t		 by_status[PROM_NSTATUS];	/* responses 100..599 */
	/* Tests: upstream connections from here (record_test_upstream). */
	struct conn		*(*test_up)(void *);
	void			*test_up_arg;
};


static void	rec_side_io(struct loop_io *, uint32_t);
static void	rec_conn_progress(struct rec_conn *);
static void	rec_conn_close(struct rec_conn *);
static int	rec_transparent_tunnel(struct rec_conn *);
static void	rec_batch_fire(struct loop_defer *);
static int	rec_h2_timeout(struct rec_conn *, uint64_t);
static int	rec_intercept(struct rec_conn *, int);

void
record_config_init(struct record_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->dir = SNAP_DIR_OUT;
	cfg->fsync = RECORD_FSYNC_1S;
	cfg->max_body = (size_t)64 << 20;
	cfg->max_head = HTTP_DEFAULT_MAX_HEAD;
	cfg->upstream_timeout_ns = 30ULL * 1000000000ULL;
	cfg->idle_timeout_ns = 60ULL * 1000000000ULL;
	cfg->header_timeout_ns = 10ULL * 1000000000ULL;
	cfg->body_timeout_ns = 30ULL * 1000000000ULL;
	cfg->body_min_rate = 1024;
}

void
record_config_free(struct record_config *cfg)
{
	size_t	i;

	free(cfg->upstream);
	free(cfg->listen);
	free(cfg->output);
	free(cfg->svc);
	free(cfg->port_file);
	free(cfg->stats_path);
	free(cfg->metrics);
	free(cfg->metrics_port_file);
	free(cfg->upstream_ca);
	free(cfg->proxy);
	free(cfg->transparent);
	free(cfg->ca_dir);
	for (i = 0; i < cfg->nno_intercept; i++)
		free(cfg->no_intercept[i]);
	free(cfg->no_intercept);
	for (i = 0; i < cfg->nredact; i++)
		free(cfg->redact[i]);
	free(cfg->redact);
	memset(cfg, 0, sizeof *cfg);
}

void
record_config_add_redact(struct record_config *cfg, const char *spec)
{
	cfg->redact = xreallocarray(cfg->redact, cfg->nredact + 1,
	    sizeof *cfg->redact);
	cfg->redact[cfg->nredact++] = xstrdup(spec);
}

void
record_config_add_no_intercept(struct record_config *cfg, const char *host)
{
	cfg->no_intercept = xreallocarray(cfg->no_intercept,
	    cfg->nno_intercept + 1, sizeof *cfg->no_intercept);
	cfg->no_intercept[cfg->nno_intercept++] = xstrdup(host);
}

int
record_parse_fsync(const char *s, enum record_fsync *f)
{
	if (strcmp(s, "never") == 0)
		*f = RECORD_FSYNC_NEVER;
	else if (strcmp(s, "txn") == 0)
		*f = RECORD_FSYNC_TXN;
	else if (strcmp(s, "1s") == 0)
		*f = RECORD_FSYNC_1S;
	else
		return -1;
	return 0;
}

int
record_parse_on_write_error(const char *s, enum record_on_write_error *e)
{
	if (strcmp(s, "serve") == 0)
		*e = RECORD_WERR_SERVE;
	else if (strcmp(s, "fail") == 0)
		*e = RECORD_WERR_FAIL;
	else
		return -1;
	return 0;
}

static void
rec_sync_fire(struct loop_timer *t)
{
	struct recorder	*r = t->arg;

	record_writer_sync(&r->w);
	loop_timer_add(r->loop, &r->sync_timer, 1000000000ULL);
}

/* ---- set-up ---------------------------------------------------------- */

static void
rec_target_clear(struct rec_target *t)
{
	free(t->hostport);
	free(t->name);
	memset(t, 0, sizeof *t);
}

/* Sets t from a parsed URL or authority, not resolved.  The Host value
 * leaves out the scheme's default port. */
static void
rec_target_from_url(struct rec_target *t, const struct url *u)
{
	unsigned char	 ip[sizeof(struct in_addr)];

	rec_target_clear(t);
	t->name = url_host_dup(u);
	t->port = u->port;
	t->tls = u->tls;
	t->ip = u->ipv6 || inet_pton(AF_INET, t->name, ip) == 1;
	t->hostport = url_host_header(u);
}

/*
 * Sets t from "host[:port]" or "[v6][:port]" (url.h; port 443 with tls,
 * else 80), not resolved.  0 or -1.
 */
static int
rec_target_set(struct rec_target *t, const char *hp, int tls)
{
	struct url	 u;
	const char	*why;

	if (url_parse_authority(hp, strlen(hp), tls, &u, &why) == -1)
		return -1;
	rec_target_from_url(t, &u);
	return 0;
}

static int
rec_parse_upstream(struct recorder *r, const char *upstream, char **cause)
{
	struct url	 u;
	const char	*why;

	if (url_parse(upstream, strlen(upstream), 0, &u, &why) == -1) {
		*cause = xasprintf("upstream %s: %s", upstream, why);
		return -1;
	}
	if (url_has_path(&u)) {
		*cause = xasprintf("upstream %s: a path prefix is not "
		    "supported", upstream);
		return -1;
	}
	rec_target_from_url(&r->rt, &u);
	if (sock_resolve_url(&u, &r->rt.addr, cause) == -1)
		return -1;
	r->rt.resolved = 1;
	return 0;
}

/* The client context for https upstreams: TLS 1.2+, verified against
 * --upstream-ca (a file or a hashed directory) or the system CAs unless
 * --insecure; an upstream's close without close_notify ends the stream. */
static int
rec_tls_init(struct recorder *r, char **cause)
{
	struct conn_tls_config	cfg;

	memset(&cfg, 0, sizeof cfg);
	cfg.ca_file = r->cfg.upstream_ca;
	cfg.insecure = r->cfg.insecure;
	if ((r->up_tls = conn_tls_client_ctx(&cfg, cause)) == NULL)
		return -1;
	if (r->cfg.no_http2)
		return 0;
	cfg.alpn = "h2";
	r->up_tls_h2 = conn_tls_client_ctx(&cfg, cause);
	return r->up_tls_h2 == NULL ? -1 : 0;
}

static void	rec_accept(struct loop_io *, uint32_t);
static struct rec_conn *rec_conn_new(struct recorder *, struct conn *,
		    const char *);
static void	rec_accept_resume(struct loop_timer *);

/* The forward proxy: the upstream TLS context, the CA for interception
 * (optional: without one, CONNECT is only tunnelled for --no-intercept
 * hosts), and the resolver's pipe. */
static int
rec_proxy_init(struct recorder *r, char **cause)
{
	struct conn_tls_config	 cfg;
	const char		*dir;
	char			*why = NULL;

	if (rec_tls_init(r, cause) == -1)
		return -1;
	dir = r->cfg.ca_dir != NULL ? r->cfg.ca_dir : ca_default_dir();
	if ((r->ca = ca_load(dir, &why)) == NULL) {
		if (r->cfg.ca_dir != NULL) {
			*cause = xasprintf("CA %s: %s (make one with `decoy "
			    "ca init`)", dir, why);
			free(why);
			return -1;
		}
		log_warn("no CA in %s (%s): CONNECT is tunnelled, not "
		    "intercepted; `decoy ca init` makes one", dir, why);
		free(why);
	} else {
		/* Leaves minted per SNI (or local address) by the CA. */
		memset(&cfg, 0, sizeof cfg);
		cfg.cert_cb = ca_conn_cert;
		cfg.cert_arg = r->ca;
		if ((r->srv_tls = conn_tls_server_ctx(&cfg, cause)) == NULL)
			return -1;
		if (r->cfg.no_http2)
			return 0;
		/* h2 towards the client only where the upstream took it:
		 * the upstream's handshake comes first (REC_S_ALPN). */
		cfg.alpn = "h2,http/1.1";
		if ((r->srv_tls_h2 = conn_tls_server_ctx(&cfg, cause)) == NULL)
			return -1;
		memset(&cfg, 0, sizeof cfg);
		cfg.ca_file = r->cfg.upstream_ca;
		cfg.insecure = r->cfg.insecure;
		cfg.alpn = "h2,http/1.1";
		if ((r->up_tls_alpn = conn_tls_client_ctx(&cfg, cause)) ==
		    NULL)
			return -1;
	}
	return 0;
}

/* --metrics: the counters in Prometheus's text format (prom.h). */
static void
rec_metrics_fill(struct buf *b, void *arg)
{
	struct recorder		*r = arg;
	const struct prom_row	 row[] = {
		{ "decoy_record_transactions_total", "Exchanges the recorder "
		    "completed (stored or lost).", r->ntxn },
		{ "decoy_record_recorded_total", "Transactions written to the "
		    "snapshot.", r->ntxn - r->nlost },
		{ "decoy_record_lost_total", "Transactions the snapshot could "
		    "not take (write errors).", r->nlost },
		{ "decoy_record_upstream_errors_total", "Exchanges that failed "
		    "upstream (refused, reset, timed out).", r->nerr },
		{ "decoy_record_body_bytes_total", "Request and response body "
		    "bytes relayed.", r->body_bytes },
		{ "decoy_record_open_connections", "Client connections open "
		    "now.", r->nconns },
		{ "decoy_record_accept_errors_total", "accept(2) failures (out "
		    "of descriptors...).", r->accept_errors },
		{ "decoy_record_head_timeouts_total", "Requests refused with "
		    "408: head not complete in time.", r->head_timeouts },
		{ "decoy_record_body_timeouts_total", "Requests refused with "
		    "408: body not complete in time.", r->body_timeouts },
	};

	prom_rows(b, row, sizeof row / sizeof row[0]);
	prom_status_counts(b, "decoy_record_responses_total", r->by_status);
	prom_uptime(b, (double)(loop_clock_ns() - r->start_ns) / 1e9);
}

struct recorder *
record_create(const struct record_config *cfg, char **cause)
{
	struct recorder		*r;
	struct sock_addr	 la;
	size_t			 i;

	r = xcalloc(1, sizeof *r);
	r->cfg = *cfg;
	r->forward = cfg->proxy != NULL;
	r->transparent = cfg->transparent != NULL;
	r->cfg.upstream = cfg->upstream ? xstrdup(cfg->upstream) : NULL;
	r->cfg.listen = xstrdup(r->forward ? cfg->proxy : r->transparent ?
	    cfg->transparent : cfg->listen);
	r->cfg.proxy = cfg->proxy ? xstrdup(cfg->proxy) : NULL;
	r->cfg.transparent = cfg->transparent ? xstrdup(cfg->transparent) :
	    NULL;
	r->cfg.ca_dir = cfg->ca_dir ? xstrdup(cfg->ca_dir) : NULL;
	r->cfg.no_intercept = xcalloc(cfg->nno_intercept + 1,
	    sizeof *r->cfg.no_intercept);
	for (i = 0; i < cfg->nno_intercept; i++)
		r->cfg.no_intercept[i] = xstrdup(cfg->no_intercept[i]);
	r->cfg.output = xstrdup(cfg->output);
	r->cfg.svc = cfg->svc != NULL ? xstrdup(cfg->svc) : NULL;
	r->cfg.port_file = cfg->port_file ? xstrdup(cfg->port_file) : NULL;
	r->cfg.stats_path = cfg->stats_path ? xstrdup(cfg->stats_path) : NULL;
	r->cfg.metrics = cfg->metrics ? xstrdup(cfg->metrics) : NULL;
	r->cfg.metrics_port_file = cfg->metrics_port_file ?
	    xstrdup(cfg->metrics_port_file) : NULL;
	r->start_ns = loop_clock_ns();
	r->cfg.upstream_ca = cfg->upstream_ca ? xstrdup(cfg->upstream_ca) :
	    NULL;
	r->cfg.redact = xcalloc(cfg->nredact + 1, sizeof *r->cfg.redact);
	for (i = 0; i < cfg->nredact; i++)
		r->cfg.redact[i] = xstrdup(cfg->redact[i]);
	r->lfd = -1;
	r->w.out.fd = -1;
	snap_ids_run_prefix(r->id_prefix, sizeof r->id_prefix, cfg->append);
	r->id_prefix_len = strlen(r->id_prefix);
	if (r->forward) {
		if (rec_proxy_init(r, cause) == -1)
			goto fail;
	} else if (r->transparent) {
		/* Plain TCP/HTTP only: TLS is tunnelled, never verified. */
	} else {
		if (rec_parse_upstream(r, cfg->upstream, cause) == -1)
			goto fail;
		if (r->rt.tls && rec_tls_init(r, cause) == -1)
			goto fail;
	}
	if (cfg->nredact > 0 && (r->redact = record_redact_create(cfg->redact,
	    cfg->nredact, cause)) == NULL)
		goto fail;
	if ((r->loop = loop_create(cause)) == NULL)
		goto fail;
	if (r->forward && (r->resolver = record_resolver_create(r->loop,
	    cause)) == NULL)
		goto fail;
	if (sock_parse_addr(r->cfg.listen, &la, cause) == -1)
		goto fail;
	if ((r->lfd = sock_listen(&la, SOCK_SHARE_NONE, cause)) == -1)
		goto fail;
	if (record_writer_open(&r->w, cfg->output, cfg->append, cfg->fsync,
	    cause) == -1)
		goto fail;
	if (cfg->metrics != NULL && (r->metrics = prom_server_create(r->loop,
	    cfg->metrics, rec_metrics_fill, r, cause)) == NULL)
		goto fail;
	if (r->metrics != NULL && cfg->metrics_port_file != NULL &&
	    sock_write_port_file(cfg->metrics_port_file,
	    prom_server_port(r->metrics), cause) == -1)
		goto fail;
	if (loop_io_add(r->loop, &r->lio, r->lfd, EPOLLIN, rec_accept,
	    r) == -1) {
		*cause = xasprintf("epoll: %s", strerror(errno));
		goto fail;
	}
	loop_timer_init(&r->sync_timer, rec_sync_fire, r);
	loop_timer_init(&r->accept_timer, rec_accept_resume, r);
	loop_defer_init(&r->batch_defer, rec_batch_fire, r);
	if (cfg->fsync == RECORD_FSYNC_1S)
		loop_timer_add(r->loop, &r->sync_timer, 1000000000ULL);
	if (cfg->port_file != NULL) {
		sock_local_addr(r->lfd, &la);
		if (sock_write_port_file(cfg->port_file, sock_addr_port(&la),
		    cause) == -1)
			goto fail;
	}
	return r;

fail:
	record_free(r);
	return NULL;
}

/* ---- sides ----------------------------------------------------------- */

static void
rec_side_init(struct rec_conn *c, struct rec_side *s)
{
	memset(s, 0, sizeof *s);
	s->c = c;
	buf_init(&s->in);
	buf_init(&s->out);
}

static void
rec_side_close(struct recorder *r, struct rec_side *s)
{
	if (s->conn == NULL)
		return;
	loop_io_del(r->loop, &s->io);
	/* TLS: a close_notify once established, unless it failed. */
	conn_close(s->conn);
	s->conn = NULL;
	s->handshaking = s->connecting = s->eof = 0;
	buf_reset(&s->in);
	buf_reset(&s->out);
}

/* How much a side's input buffer may hold before reading stops. */
static size_t
rec_in_limit(const struct recorder *r)
{
	return r->cfg.max_head >= REC_HIGH_WATER ? r->cfg.max_head + 1 :
	    REC_HIGH_WATER;
}

/* Reading a side goes on while its input buffer is below the limit (the
 * other side's output drains it); past that the peer waits in TCP. */
static int
rec_side_wants_read(const struct rec_side *s)
{
	/* A CONNECT waiting for the upstream: the client's TLS bytes stay
	 * in the socket for the handshake to come. */
	if (s == &s->c->cl && s->c->state == REC_S_ALPN)
		return 0;
	return s->conn != NULL && !s->eof &&
	    s->in.len < rec_in_limit(s->c->r);
}

/*
 * Level-triggered interest: reading while the side may be read, writing
 * while output is pending (not while it waits for the batch write:
 * held); during a handshake, and for what a blocked TLS read or write
 * waits for, the conn says (conn_events).  In the steady state (a request
 * in, a response out, both written at once) this changes nothing and
 * costs no epoll_ctl.
 */
static void
rec_side_events(struct recorder *r, struct rec_side *s)
{
	uint32_t	ev;
	int		want = 0;

	if (s->conn == NULL)
		return;
	if (rec_side_wants_read(s))
		want |= CONN_READ;
	if (s->out.len > 0 && !(s == &s->c->cl && s->c->held))
		want |= CONN_WRITE;
	ev = conn_epoll_events(conn_events(s->conn, want));
	if (ev != s->io.events)
		loop_io_mod(r->loop, &s->io, ev);
}

/* Writes pending output: 0, or -1 with errno (EPROTO for TLS).  A client
 * whose last bytes wait for the snapshot batch is not written. */
static int
rec_side_flush(struct rec_side *s)
{
	ssize_t	n;

	if (s == &s->c->cl && s->c->held)
		return 0;
	while (s->out.len > 0) {
		n = conn_write(s->conn, s->out.data, s->out.len);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == EINTR)
				return 0;
			if (errno == EIO)
				errno = EPROTO;
			return -1;
		}
		buf_consume(&s->out, (size_t)n);
		if (s == &s->c->cl)
			s->c->cl_sent += (size_t)n;
	}
	return 0;
}

/*
 * Reads what there is, up to the input limit (s->more says it stopped
 * there with bytes possibly left): 0 (s->eof set at the end), or -1 with
 * errno.  A short read means the socket is drained (unless TLS holds
 * decrypted bytes): no read(2) just to see EAGAIN.
 */
static int
rec_side_read(struct rec_side *s)
{
	ssize_t	n;
	size_t	space, limit = rec_in_limit(s->c->r);

	for (;;) {
		if (s->eof)
			return 0;
		if (s->in.len >= limit) {
			s->more = 1;
			return 0;
		}
		s->more = 0;
		buf_reserve(&s->in, REC_READ_CHUNK);
		space = s->in.cap - s->in.len - 1;
		n = conn_read(s->conn, s->in.data + s->in.len, space);
		if (n == -1) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			if (errno == EINTR)
				continue;
			if (errno == EIO)
				errno = EPROTO;
			return -1;
		}
		if (n == 0) {
			s->eof = 1;
			return 0;
		}
		s->in.len += (size_t)n;
		if ((size_t)n < space && conn_pending(s->conn) == 0)
			return 0;
	}
}

/* ---- the exchange ---------------------------------------------------- */

static int64_t
rec_wall_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * Copies m's headers for the record.  Without redaction (which reallocates
 * values) they live in store, the array and then the strings, reused from
 * one exchange to the next: lent to c->t, taken back by rec_txn_clear.
 */
static void
rec_headers_copy(struct rec_conn *c, struct buf *store,
    const struct http_msg *m, struct snap_header **h, size_t *n)
{
	const struct http_header	*mh = m->headers;
	struct snap_header		*sh;
	size_t				 i, need;
	char				*p;

	*n = m->nheaders;
	if (c->r->redact != NULL) {
		*h = xcalloc(m->nheaders + 1, sizeof **h);
		for (i = 0; i < m->nheaders; i++) {
			(*h)[i].name = span_dup(mh[i].name);
			(*h)[i].value = span_dup(mh[i].value);
		}
		return;
	}
	need = (m->nheaders + 1) * sizeof *sh;
	for (i = 0; i < m->nheaders; i++)
		need += mh[i].name.len + mh[i].value.len + 2;
	buf_reset(store);
	buf_reserve(store, need);
	sh = (struct snap_header *)(void *)store->data;
	p = store->data + (m->nheaders + 1) * sizeof *sh;
	for (i = 0; i < m->nheaders; i++) {
		sh[i].name = p;
		memcpy(p, mh[i].name.p, mh[i].name.len);
		p += mh[i].name.len;
		*p++ = '\0';
		sh[i].value = p;
		memcpy(p, mh[i].value.p, mh[i].value.len);
		p += mh[i].value.len;
		*p++ = '\0';
	}
	sh[i].name = sh[i].value = NULL;
	store->len = need;
	*h = sh;
}

/* Frees c->t, but for what it only borrows. */
static void
rec_txn_clear(struct rec_conn *c)
{
	if (c->r->redact == NULL) {
		c->t.req.headers = c->t.res.headers = NULL;
		c->t.req.nheaders = c->t.res.nheaders = 0;
	}
	snap_txn_free(&c->t);
}

/* Hop-by-hop headers, and the ones whose framing the recorder writes. */
static int
rec_is_hop_span(struct span n)
{
	switch (n.len) {
	case 2:
		return span_caseeq_str(n, "TE");
	case 6:
		return span_caseeq_str(n, "Expect");
	case 7:
		return span_caseeq_str(n, "Trailer") ||
		    span_caseeq_str(n, "Upgrade");
	case 10:
		return span_caseeq_str(n, "Connection") ||
		    span_caseeq_str(n, "Keep-Alive");
	case 14:
		return span_caseeq_str(n, "Content-Length");
	case 16:
		return span_caseeq_str(n, "Proxy-Connection");
	case 17:
		return span_caseeq_str(n, "Transfer-Encoding");
	case 19:
		return span_caseeq_str(n, "Proxy-Authorization");
	}
	return 0;
}

/* Appends data[0..len) to a recorded body, up to max bytes in all. */
static void
rec_body_keep(struct buf *b, const char *data, size_t len, size_t max)
{
	if (b->len >= max)
		return;
	if (len > max - b->len)
		len = max - b->len;
	buf_append(b, data, len);
}

/* Empties a per-exchange buffer, giving back the storage a big body
 * made it grow to. */
static void
rec_buf_recycle(struct buf *b)
{
	if (b->cap > 4 * REC_READ_CHUNK)
		buf_free(b);
	else
		buf_reset(b);
}

static void
rec_txn_reset(struct rec_conn *c)
{
	rec_txn_clear(c);
	snap_txn_init(&c->t);
	rec_buf_recycle(&c->body);
	rec_buf_recycle(&c->reqbody);
	rec_buf_recycle(&c->fwd);
	c->res_head_done = 0;
	c->retried = 0;
	c->req_done = 0;
	c->fwd_whole = 1;
	c->req_len = c->res_len = 0;
}

/* The Host header of the request in flight, else the target's. */
static const char *
rec_host_header(const struct rec_conn *c)
{
	size_t	i;

	for (i = 0; i < c->t.req.nheaders; i++) {
		if (strcasecmp(c->t.req.headers[i].name, "Host") == 0 &&
		    c->t.req.headers[i].value[0] != '\0')
			return c->t.req.headers[i].value;
	}
	return c->tgt->hostport;
}

/* Writes v in decimal, at least width digits, NUL-terminated; returns
 * the number of digits. */
static size_t
rec_put_u64(char *p, uint64_t v, size_t width)
{
	char	tmp[24];
	size_t	n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n < width && n < sizeof tmp)
		tmp[n++] = '0';
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	p[n] = '\0';
	return n;
}

/* ISO 8601 UTC with microseconds into out (40 bytes); the part up to the
 * second is formatted once per second. */
static void
rec_txn_ts(struct recorder *r, int64_t us, char *out)
{
	time_t		sec = (time_t)(us / 1000000);
	struct tm	tm;
	size_t		n;

	if (r->ts_prefix[0] == '\0' || sec != r->ts_sec) {
		gmtime_r(&sec, &tm);
		strftime(r->ts_prefix, sizeof r->ts_prefix,
		    "%Y-%m-%dT%H:%M:%S", &tm);
		r->ts_sec = sec;
	}
	n = strlen(r->ts_prefix);
	memcpy(out, r->ts_prefix, n);
	out[n++] = '.';
	n += rec_put_u64(out + n, (uint64_t)(us % 1000000), 6);
	out[n++] = 'Z';
	out[n] = '\0';
}

/* The number of newlines in p[0..len). */
static size_t
rec_count_lines(const char *p, size_t len)
{
	const char	*end = p + len, *nl;
	size_t		 n = 0;

	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		n++;
		p = nl + 1;
	}
	return n;
}

/*
 * Writes the lines of this round in one write(2).  What the file does
 * not take is counted lost (r->batch_kept says how many lines went), and
 * logged once per interval.
 */
static void
rec_batch_write(struct recorder *r)
{
	size_t		kept, lost;
	uint64_t	n;
	int		err;

	r->batch_kept = r->nbatch;
	if (r->batch.len == 0)
		return;
	kept = snap_out_write(&r->w.out, r->batch.data, r->batch.len, &err);
	if (err != 0) {
		r->batch_kept = rec_count_lines(r->batch.data, kept);
		lost = r->nbatch - r->batch_kept;
		r->nlost += lost;
		r->werrno = err;
		r->wfailing = 1;
		n = log_every_count(&r->wlog, lost,
		    loop_clock_ns(), REC_LOG_INTERVAL_NS);
		if (n > 0)
			log_error("snapshot %s: write: %s: %llu transaction%s "
			    "lost since the last report (%llu in all)%s",
			    r->w.out.name, strerror(err), (unsigned long long)n,
			    n == 1 ? "" : "s", (unsigned long long)r->nlost,
			    r->cfg.on_write_error == RECORD_WERR_FAIL ?
			    "; their clients get 503" : "; clients are served "
			    "all the same (--on-write-error fail refuses them)");
	} else if (r->wfailing) {
		r->wfailing = 0;
		log_warn("snapshot %s: writing again, %llu transaction%s lost "
		    "so far", r->w.out.name, (unsigned long long)r->nlost,
		    r->nlost == 1 ? "" : "s");
	}
	if (kept > 0 && r->w.policy == RECORD_FSYNC_TXN)
		record_writer_sync(&r->w);
	rec_buf_recycle(&r->batch);
	r->nbatch = 0;
}

/*
 * --on-write-error fail: c's transaction is not in the snapshot, so its
 * client must not take the answer for a recorded one.  If none of that
 * answer has gone out it is replaced by a 503; otherwise the connection
 * is cut before its last bytes.
 */
static void
rec_unrecorded(struct rec_conn *c)
{
	struct recorder	*r = c->r;
	struct buf	 body;
	const char	*why = strerror(r->werrno);

	if (c->h2 != NULL || c->cl_sent > c->res_off ||
	    c->res_off - c->cl_sent > c->cl.out.len) {
		log_debug("%s: transaction not recorded, connection cut",
		    c->client);
		rec_conn_close(c);
		return;
	}
	c->cl.out.len = (size_t)(c->res_off - c->cl_sent);
	if (c->cl.out.cap > 0)
		c->cl.out.data[c->cl.out.len] = '\0';
	rec_side_close(r, &c->up);
	c->up_open = 0;
	rec_txn_reset(c);
	buf_init(&body);
	buf_append_str(&body, "{\"error\":");
	buf_printf(&body, "\"not recorded: the snapshot write failed: %s\"",
	    why);
	buf_append_str(&body, ",\"by\":\"decoy record\"}\n");
	http_write_simple(&c->cl.out, 503, "application/json", body.data,
	    body.len, 1);
	buf_free(&body);
	c->state = REC_S_CLOSING;
}

/*
 * End of a loop round: the snapshot lines go to the file, then the
 * clients that wait on them get their last bytes -- so a client never
 * sees an exchange complete that the file does not hold.
 */
static void
rec_batch_fire(struct loop_defer *d)
{
	struct recorder	*r = d->arg;
	struct rec_conn	*c;
	size_t		 i, n;

	rec_batch_write(r);
	n = r->nheld;
	for (i = 0; i < n; i++) {
		/* Progress may hold again, growing (moving) r->held. */
		c = r->held[i];
		c->held = 0;
		if (c->dead)
			continue;
		if (c->batch_line >= r->batch_kept &&
		    r->cfg.on_write_error == RECORD_WERR_FAIL) {
			rec_unrecorded(c);
			if (c->dead)
				continue;
		}
		rec_conn_progress(c);
	}
	memmove(r->held, r->held + n, (r->nheld - n) * sizeof *r->held);
	r->nheld -= n;
}

/* Keeps c's output back until the batch holding its line is written. */
static void
rec_hold(struct rec_conn *c)
{
	struct recorder	*r = c->r;

	if (c->held)
		return;
	if (r->nheld == r->heldcap) {
		r->heldcap = r->heldcap == 0 ? 64 : r->heldcap * 2;
		r->held = xreallocarray(r->held, r->heldcap, sizeof *r->held);
	}
	r->held[r->nheld++] = c;
	c->held = 1;
}

/*
 * The capture funnel's decision on c->t, filled in by rec_txn_write:
 * 1 when it is dropped (counted by reason in the funnel; the strings
 * lent to c->t are taken back, its id is not reused), else 0.
 */
static int
rec_funnel_drop(struct rec_conn *c, const char *error, int lend)
{
	struct recorder	*r = c->r;
	struct snap_txn	*t = &c->t;

	if (r->cfg.funnel == NULL ||
	    funnel_decide(r->cfg.funnel, t) == FUNNEL_KEPT)
		return 0;
	t->id = t->ts = t->svc = t->proto = t->client = t->server = NULL;
	t->req.host = NULL;
	if (lend)
		t->req.body = t->res.body = NULL;
	r->ntxn++;
	r->nfunneled++;
	if (error != NULL)
		r->nerr++;
	return 1;
}

/*
 * Redacts and queues c->t (the caller has filled in the messages; the
 * bodies are c->reqbody and c->body) for this round's batch.  hold: the
 * client's output waits for the batch.  The strings the line shares with
 * the connection are lent to c->t only while it is encoded.
 */
static void
rec_txn_write(struct rec_conn *c, const char *error, int hold)
{
	static char	 proto[] = "http/1.1", proto_h2[] = "h2";
	struct recorder	*r = c->r;
	struct snap_txn	*t = &c->t;
	char		 server[300], host[300];
	int		 lend = r->redact == NULL;
	uint64_t	 now = loop_now_update(r->loop);
	size_t		 n;

	memcpy(c->id, r->id_prefix, r->id_prefix_len);
	rec_put_u64(c->id + r->id_prefix_len, ++r->seq, 6);
	rec_txn_ts(r, c->start_us, c->ts);
	t->id = c->id;
	t->ts = c->ts;
	t->dir = r->cfg.dir;
	t->svc = r->cfg.svc != NULL ? r->cfg.svc : c->tgt->name;
	t->proto = c->h2 != NULL ? proto_h2 : proto;
	t->tls = c->tgt->tls;
	t->client = c->client;
	if (c->tgt != &r->rt || r->rt_server[0] == '\0')
		snprintf(c->tgt == &r->rt ? r->rt_server : server,
		    sizeof server, "%s%s%s:%d", strchr(c->tgt->name, ':') ?
		    "[" : "", c->tgt->name, strchr(c->tgt->name, ':') ? "]" :
		    "", c->tgt->port);
	t->server = c->tgt == &r->rt ? r->rt_server : server;
	/* Transparent: the Host the client sent (copied: redaction may
	 * reallocate header values), else the original destination. */
	if (r->transparent) {
		snprintf(host, sizeof host, "%s", rec_host_header(c));
		t->req.host = host;
	} else
		t->req.host = c->tgt->hostport;
	t->start_us = c->start_us;
	t->ttfb_us = c->ttfb_mono ? (int64_t)(c->ttfb_mono - c->start_mono) /
	    1000 : -1;
	t->total_us = (int64_t)(now - c->start_mono) / 1000;
	if ((n = c->reqbody.len) > 0) {
		t->req.body = lend ? c->reqbody.data :
		    xstrndup(c->reqbody.data, n);
		t->req.body_len = n;
	}
	if (t->has_res && (n = c->body.len) > 0) {
		t->res.body = lend ? c->body.data : xstrndup(c->body.data, n);
		t->res.body_len = n;
	}
	if (rec_funnel_drop(c, error, lend))
		return;
	t->error = error;
	if (c->req_len > r->cfg.max_body || c->res_len > r->cfg.max_body) {
		t->truncated = 1;
		t->truncated_req = c->req_len;
		t->truncated_res = c->res_len;
	}
	if (r->redact != NULL) {
		record_redact_headers(r->redact, t->req.headers,
		    t->req.nheaders);
		record_redact_body(r->redact, &t->req.body, &t->req.body_len);
		record_redact_headers(r->redact, t->req.trailers,
		    t->req.ntrailers);
		if (t->has_res) {
			record_redact_headers(r->redact, t->res.headers,
			    t->res.nheaders);
			record_redact_headers(r->redact, t->res.trailers,
			    t->res.ntrailers);
			record_redact_body(r->redact, &t->res.body,
			    &t->res.body_len);
		}
	}
	snap_encode(&r->batch, t);
	c->batch_line = r->nbatch++;
	t->id = t->ts = t->svc = t->proto = t->client = t->server = NULL;
	t->req.host = NULL;
	t->error = NULL;
	t->truncated = t->opaque = 0;
	if (lend)
		t->req.body = t->res.body = NULL;
	loop_defer(r->loop, &r->batch_defer);
	if (hold)
		rec_hold(c);
	r->ntxn++;
	r->body_bytes += c->req_len + c->res_len;
	if (t->has_res && t->res.status >= 100 && t->res.status <= 599)
		r->by_status[t->res.status - 100]++;
	if (error != NULL)
		r->nerr++;
}

/*
 * The request target as the logs show it: the path, then the query with
 * every value replaced by <redacted> (names kept), since a query often
 * carries an API key or a token.  Allocated.
 */
static char *
rec_target_for_log(const char *target)
{
	struct buf	 b;
	const char	*q, *p, *end, *eq;

	buf_init(&b);
	if ((q = strchr(target, '?')) == NULL) {
		buf_append_str(&b, target);
		return buf_detach(&b, NULL);
	}
	buf_append(&b, target, (size_t)(q - target) + 1);
	for (p = q + 1; *p != '\0'; p = *end != '\0' ? end + 1 : end) {
		end = p + strcspn(p, "&;");
		if (p > q + 1)
			buf_append(&b, p - 1, 1);	/* the separator */
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq != NULL) {
			buf_append(&b, p, (size_t)(eq - p) + 1);
			if (eq + 1 < end)
				buf_append_str(&b, "<redacted>");
		} else if (end > p)
			buf_append_str(&b, "<redacted>");
	}
	return buf_detach(&b, NULL);
}

/*
 * The upstream failed.  Before any of the response reached the client:
 * answers it with status and a JSON error body.  After: the client's
 * connection is cut short (it cannot take another status), and the record
 * keeps what came.  Either way the failure is recorded and the upstream
 * connection dropped.
 */
static void
rec_upstream_fail(struct rec_conn *c, int status, const char *what)
{
	struct recorder	*r = c->r;
	struct buf	 body;
	char		*target;

	if (c->tunnel) {
		free(c->tunnel_error);
		c->tunnel_error = xstrdup(what);
		log_warn("CONNECT %s: %s", c->tgt->hostport, what);
		c->state = REC_S_CLOSING;
		return;
	}
	if (c->state == REC_S_ALPN) {
		/* The client is served over HTTP/1.1, which answers the
		 * failure (502) once its first request comes. */
		log_info("%s: CONNECT %s: %s", c->client, c->tgt->hostport,
		    what);
		rec_side_close(r, &c->up);
		c->up_open = 0;
		(void)rec_intercept(c, 0);
		return;
	}
	if (c->state == REC_S_H2) {
		/* Every stream in flight fails; the client gets a GOAWAY. */
		log_warn("%s: h2: upstream %s: %s", c->client,
		    c->tgt->hostport, what);
		rec_side_close(r, &c->up);
		c->up_open = 0;
		record_h2_lost(c->h2, 1, what);
		return;
	}
	target = rec_target_for_log(c->t.req.target);
	log_warn("%s %s: upstream %s: %s", c->t.req.method, target,
	    c->tgt->hostport, what);
	free(target);
	rec_side_close(r, &c->up);
	c->up_open = 0;
	if (c->res_head_done) {
		c->t.has_res = 1;
		rec_txn_write(c, what, 1);
		rec_txn_reset(c);
		c->state = REC_S_CLOSING;
		return;
	}
	c->res_off = c->cl_sent + c->cl.out.len;
	rec_txn_write(c, what, 1);
	if (!c->req_done)	/* the rest of its body is not read */
		c->req_keep_alive = 0;
	buf_init(&body);
	buf_append_str(&body, "{\"error\":");
	json_append_string(&body, what, strlen(what));
	buf_append_str(&body, ",\"upstream\":");
	json_append_string(&body, c->tgt->hostport,
	    strlen(c->tgt->hostport));
	buf_append_str(&body, ",\"by\":\"decoy record\"}\n");
	http_write_simple(&c->cl.out, status, "application/json", body.data,
	    body.len, !c->req_keep_alive);
	buf_free(&body);
	rec_txn_reset(c);
	c->state = c->req_keep_alive ? REC_S_REQ_HEAD : REC_S_CLOSING;
}

/* The last sign of life of an exchange: a byte moved, or the client
 * (sending, or reading a response the upstream outpaces). */
static uint64_t
rec_exchange_mono(const struct rec_conn *c)
{
	return c->last_mono > c->idle_mono ? c->last_mono : c->idle_mono;
}

/*
 * The request body's deadline, against clients that trickle it: its head
 * went upstream --body-timeout ago, plus one second per --body-min-rate
 * bytes received.  0: none (off, the body is in, or the answer started).
 */
static uint64_t
rec_body_deadline(const struct rec_conn *c)
{
	const struct record_config	*cfg = &c->r->cfg;
	uint64_t			 rate = cfg->body_min_rate, n = c->req_len;
	uint64_t			 extra = 0;

	if (c->state != REC_S_UPSTREAM || c->req_done || c->res_head_done ||
	    cfg->body_timeout_ns == 0)
		return 0;
	if (rate > 0)
		extra = n / rate * 1000000000ULL +
		    n % rate * 1000000000ULL / rate;
	return c->start_mono + cfg->body_timeout_ns + extra;
}

/* The request head's: --header-timeout after its first byte came (after
 * the accept, for a connection's first head).  0: none. */
static uint64_t
rec_head_deadline(const struct rec_conn *c)
{
	if (c->state != REC_S_REQ_HEAD || c->head_mono == 0)
		return 0;
	return c->head_mono + c->r->cfg.header_timeout_ns;
}

/* The earlier of two deadlines, 0 standing for none. */
static uint64_t
rec_earlier(uint64_t a, uint64_t b)
{
	if (a == 0 || (b != 0 && b < a))
		return b;
	return a;
}

/*
 * When the connection's timer must fire next (0: never): with an exchange
 * in flight, --upstream-timeout from the last byte moved either way, or
 * the body's deadline; otherwise --idle-timeout from the client's last
 * sign of life, or the head's deadline.  A tunnel has none.
 */
static uint64_t
rec_deadline(const struct rec_conn *c)
{
	const struct record_config	*cfg = &c->r->cfg;
	uint64_t			 idle = 0;

	switch (c->state) {
	case REC_S_UPSTREAM:
		return rec_earlier(rec_exchange_mono(c) +
		    cfg->upstream_timeout_ns, rec_body_deadline(c));
	case REC_S_REQ_HEAD:
	case REC_S_CLOSING:
		if (cfg->idle_timeout_ns != 0)
			idle = c->idle_mono + cfg->idle_timeout_ns;
		return rec_earlier(idle, rec_head_deadline(c));
	case REC_S_ALPN:
		return c->start_mono + cfg->upstream_timeout_ns;
	case REC_S_H2:
		if (record_h2_streams(c->h2) > 0)
			return rec_exchange_mono(c) + cfg->upstream_timeout_ns;
		return cfg->idle_timeout_ns == 0 ? 0 :
		    c->idle_mono + cfg->idle_timeout_ns;
	default:
		return 0;
	}
}

/*
 * The connection's one timer is armed for its deadline and moved on only
 * when it fires (no timer work while deadlines move later, as they do
 * with every byte); rec_timer_pull moves it earlier when the deadline
 * comes closer (a head starts, an exchange with a shorter timeout).
 */
static void
rec_timer_arm(struct rec_conn *c)
{
	struct recorder	*r = c->r;
	uint64_t	 now = loop_now(r->loop), d = rec_deadline(c);

	if (d != 0)
		loop_timer_add(r->loop, &c->timer, d > now ? d - now : 0);
}

static void
rec_timer_pull(struct rec_conn *c)
{
	uint64_t	d = rec_deadline(c);

	if (d != 0 && (!loop_timer_is_pending(&c->timer) ||
	    c->timer.when > d))
		rec_timer_arm(c);
}

/*
 * A client too slow with its request head or body: 408 and the
 * connection closes (one that sent nothing is closed quietly).  Nothing
 * is recorded: the upstream saw at most part of a request.  Logged once
 * per interval with a count.
 */
static void
rec_slow_client(struct rec_conn *c, int body)
{
	struct recorder	*r = c->r;
	const char	*what = body ? "request body not complete in time" :
			    "request head not complete in time";
	uint64_t	 n, to;

	if (body)
		r->body_timeouts++;
	else
		r->head_timeouts++;
	to = body ? r->cfg.body_timeout_ns : r->cfg.header_timeout_ns;
	if ((n = log_every_count(&r->slow_log, 1, loop_now(r->loop),
	    REC_LOG_INTERVAL_NS)) > 0)
		log_warn("%s: 408: %s (%s %llums%s); %llu slow client%s since "
		    "the last report, %llu heads and %llu bodies in all",
		    c->client, what, body ? "--body-timeout" :
		    "--header-timeout", (unsigned long long)(to / 1000000),
		    body ? " plus --body-min-rate" : "", (unsigned long long)n,
		    n == 1 ? "" : "s", (unsigned long long)r->head_timeouts,
		    (unsigned long long)r->body_timeouts);
	c->head_mono = 0;
	if (!body && c->cl.in.len == 0 && c->cl.out.len == 0 && !c->held) {
		rec_conn_close(c);
		return;
	}
	rec_side_close(r, &c->up);
	c->up_open = 0;
	rec_txn_reset(c);
	buf_reset(&c->cl.in);
	http_write_simple(&c->cl.out, 408, "text/plain", what, strlen(what),
	    1);
	buf_append_str(&c->cl.out, "\n");
	c->state = REC_S_CLOSING;
}

static void
rec_timeout(struct loop_timer *t)
{
	struct rec_conn	*c = t->arg;
	struct recorder	*r = c->r;
	uint64_t	 now = loop_now(r->loop), to, d;
	char		 what[96];

	switch (c->state) {
	case REC_S_UPSTREAM:
		if ((d = rec_body_deadline(c)) != 0 && d <= now) {
			rec_slow_client(c, 1);
			rec_conn_progress(c);
			if (c->dead)
				return;
			break;
		}
		to = r->cfg.upstream_timeout_ns;
		if (rec_exchange_mono(c) + to > now)
			break;
		snprintf(what, sizeof what, "timeout: %s %llums",
		    c->cl.out.len >= REC_HIGH_WATER ? "the client read nothing "
		    "for" : c->res_head_done ? "the response stalled for" :
		    "no response within", (unsigned long long)(to / 1000000));
		rec_upstream_fail(c, 504, what);
		rec_conn_progress(c);
		if (c->dead)
			return;
		break;
	case REC_S_REQ_HEAD:
	case REC_S_CLOSING:
		if ((d = rec_head_deadline(c)) != 0 && d <= now) {
			rec_slow_client(c, 0);
			if (c->dead)
				return;
			rec_conn_progress(c);
			if (c->dead)
				return;
			break;
		}
		to = r->cfg.idle_timeout_ns;
		if (to == 0 || c->idle_mono + to > now)
			break;
		log_debug("%s: idle for %llums, closed", c->client,
		    (unsigned long long)(to / 1000000));
		rec_conn_close(c);
		return;
	case REC_S_H2:
		if (rec_h2_timeout(c, now) == -1)
			return;
		break;
	case REC_S_ALPN:
		if (c->start_mono + r->cfg.upstream_timeout_ns > now)
			break;
		rec_upstream_fail(c, 504, "timeout: no TLS handshake");
		rec_conn_progress(c);
		if (c->dead)
			return;
		break;
	default:
		return;
	}
	if (!loop_timer_is_pending(&c->timer))
		rec_timer_arm(c);
}

/* A new client connection: idle from now, and its first head due within
 * --header-timeout. */
static void
rec_conn_started(struct rec_conn *c)
{
	c->idle_mono = c->head_mono = loop_now(c->r->loop);
	rec_timer_arm(c);
}

/* The TLS context of an upstream connection: offering h2 and
 * http/1.1 while a CONNECT waits for its choice, h2 alone for an h2
 * relay, else none. */
static struct conn_tls_ctx *
rec_up_ctx(const struct rec_conn *c)
{
	if (c->state == REC_S_ALPN)
		return c->r->up_tls_alpn;
	return c->h2 != NULL ? c->r->up_tls_h2 : c->r->up_tls;
}

/* Tests: the upstream connection comes from record_test_upstream's hook
 * (a mem end, already connected; TLS over it when the upstream is). */
static void
rec_test_connect(struct rec_conn *c)
{
	struct recorder	*r = c->r;
	struct conn	*xc = r->test_up(r->test_up_arg);
	char		 what[256], *cause = NULL;

	if (xc != NULL && c->tgt->tls && (xc = conn_tls_client(rec_up_ctx(c),
	    xc,
	    c->tgt->name, &cause)) == NULL) {
		snprintf(what, sizeof what, "tls: %s", cause);
		free(cause);
		rec_upstream_fail(c, 502, what);
		return;
	}
	if (xc == NULL) {
		rec_upstream_fail(c, 502, "connect: refused (test)");
		return;
	}
	c->up.conn = xc;
	c->up.handshaking = c->tgt->tls;
	c->up_open = 1;
	c->up_reused = 0;
	(void)loop_io_add(r->loop, &c->up.io, -1, 0, rec_side_io, &c->up);
}

static void
rec_upstream_connect(struct rec_conn *c)
{
	struct recorder	*r = c->r;
	char		 what[160];
	int		 fd, one = 1;

	if (r->test_up != NULL) {
		rec_test_connect(c);
		return;
	}
	fd = socket(c->tgt->addr.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(what, sizeof what, "socket: %s", strerror(errno));
		rec_upstream_fail(c, 502, what);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (r->cfg.mark != 0 && sock_set_mark(fd, r->cfg.mark) == -1) {
		snprintf(what, sizeof what, "SO_MARK: %s", strerror(errno));
		close(fd);
		rec_upstream_fail(c, 502, what);
		return;
	}
	if (connect(fd, (struct sockaddr *)&c->tgt->addr.ss,
	    c->tgt->addr.len) ==
	    -1 && errno != EINPROGRESS) {
		snprintf(what, sizeof what, "connect: %s", strerror(errno));
		close(fd);
		rec_upstream_fail(c, 502, what);
		return;
	}
	c->up.conn = conn_tcp_create(fd, CONN_F_CONNECTING);
	c->up.connecting = 1;
	c->up_open = 1;
	c->up_reused = 0;
	loop_io_add(r->loop, &c->up.io, fd, conn_epoll_events(CONN_READ |
	    CONN_WRITE), rec_side_io, &c->up);
}

/*
 * The upstream's TCP connect, then (https) its TLS handshake, with SNI and
 * the name or address checked unless --insecure (conn_tls_client).  1:
 * done, 0: waiting, -1: failed (answered 502, the connection driven on).
 */
static int
rec_upstream_handshake(struct rec_conn *c)
{
	struct recorder	*r = c->r;
	struct rec_side	*s = &c->up;
	char		 what[256], *cause = NULL;
	int		 rv;

	while (s->connecting || s->handshaking) {
		if ((rv = conn_handshake(s->conn)) == 0) {
			rec_side_events(r, s);
			return 0;
		}
		if (rv == -1) {
			snprintf(what, sizeof what, "%s: %s", s->connecting ?
			    "connect" : "tls", conn_error(s->conn));
			goto fail;
		}
		if (s->handshaking || !c->tgt->tls) {
			s->connecting = s->handshaking = 0;
			break;
		}
		/* Connected: TLS next.  The tls conn takes the tcp one
		 * (closed on failure, and the descriptor with it). */
		s->connecting = 0;
		s->conn = conn_tls_client(rec_up_ctx(c), s->conn, c->tgt->name,
		    &cause);
		if (s->conn == NULL) {
			loop_io_del(r->loop, &s->io);
			buf_reset(&s->in);
			buf_reset(&s->out);
			snprintf(what, sizeof what, "tls: %s", cause);
			free(cause);
			goto fail;
		}
		s->handshaking = 1;
	}
	return 1;
fail:
	rec_upstream_fail(c, 502, what);
	rec_conn_progress(c);
	return -1;
}

/* The name of c->tgt is resolved (record-resolve.h): connect, or fail. */
static void
rec_resolved(void *arg, const char *name, int err,
    const struct sock_addr *addr)
{
	struct rec_conn	*c = arg;
	char		 what[256];

	c->lookup = NULL;
	if (err != 0) {
		snprintf(what, sizeof what, "resolve %s: %s", name,
		    gai_strerror(err));
		rec_upstream_fail(c, 502, what);
	} else {
		c->tgt->addr = *addr;
		c->tgt->resolved = 1;
		rec_upstream_connect(c);
	}
	rec_conn_progress(c);
}

/* Resolves c->tgt off the loop (a numeric address right here), then
 * connects. */
static void
rec_resolve_start(struct rec_conn *c)
{
	char	*a;

	if (c->tgt->ip) {
		a = xasprintf("%s%s%s:%d", strchr(c->tgt->name, ':') ? "[" : "",
		    c->tgt->name, strchr(c->tgt->name, ':') ? "]" : "",
		    c->tgt->port);
		if (sock_parse_addr(a, &c->tgt->addr, NULL) == 0)
			c->tgt->resolved = 1;
		free(a);
		if (c->tgt->resolved) {
			rec_upstream_connect(c);
			return;
		}
	}
	if (c->r->resolver == NULL || (c->lookup = record_resolve(
	    c->r->resolver, c->tgt->name, c->tgt->port, rec_resolved,
	    c)) == NULL)
		rec_upstream_fail(c, 502, "resolve: cannot start a thread");
}

/* Keeps what went to the upstream for a retry, while it is small. */
static void
rec_fwd_keep(struct rec_conn *c, const char *p, size_t n)
{
	if (!c->fwd_whole)
		return;
	if (c->fwd.len + n > REC_RETRY_MAX) {
		c->fwd_whole = 0;
		rec_buf_recycle(&c->fwd);
		return;
	}
	buf_append(&c->fwd, p, n);
}

/*
 * Starts the exchange whose request head is in c->t.req: the head as
 * the upstream gets it (Host rewritten, hop-by-hop headers dropped, the
 * body's framing as the client sent it: Content-Length or chunked) goes
 * out now; the body follows as it arrives (rec_request_body).
 */
static void
rec_forward_head(struct rec_conn *c, const struct http_msg *m)
{
	struct recorder			*r = c->r;
	struct snap_req			*q = &c->t.req;
	const struct http_header	*h;
	size_t				 i;
	char				 num[24];

	buf_reset(&c->fwd);
	http_write_request_line(&c->fwd, span_from_str(q->method),
	    span_from_str(q->target));
	/* Transparent: the Host the client sent goes through unchanged. */
	http_write_header(&c->fwd, SPAN_LIT("Host"), span_from_str(
	    r->transparent ? rec_host_header(c) : c->tgt->hostport));
	/* The parser let no CR, LF or NUL into a name or value. */
	for (i = 0; i < m->nheaders; i++) {
		h = &m->headers[i];
		if (span_caseeq_str(h->name, "Host") ||
		    rec_is_hop_span(h->name))
			continue;
		buf_reserve(&c->fwd, h->name.len + h->value.len + 4);
		buf_append(&c->fwd, h->name.p, h->name.len);
		buf_append(&c->fwd, ": ", 2);
		buf_append(&c->fwd, h->value.p, h->value.len);
		buf_append(&c->fwd, "\r\n", 2);
	}
	if (c->req_framing == HTTP_FRAME_LENGTH) {
		buf_append_str(&c->fwd, "Content-Length: ");
		buf_append(&c->fwd, num, rec_put_u64(num, c->req_left, 0));
		buf_append_str(&c->fwd, "\r\n");
	} else if (c->req_framing == HTTP_FRAME_CHUNKED)
		buf_append_str(&c->fwd, "Transfer-Encoding: chunked\r\n");
	buf_append_str(&c->fwd, "\r\n");
	c->fwd_whole = 1;
	c->req_done = c->req_framing == HTTP_FRAME_NONE ||
	    (c->req_framing == HTTP_FRAME_LENGTH && c->req_left == 0);

	c->start_mono = c->last_mono = loop_now_update(r->loop);
	c->start_us = rec_wall_us();
	c->ttfb_mono = 0;
	c->state = REC_S_UPSTREAM;
	c->res_head_done = 0;
	/* Armed for idleness, or for a timeout longer than this one. */
	rec_timer_pull(c);
	buf_reset(&c->up.in);
	buf_append(&c->up.out, c->fwd.data, c->fwd.len);
	if (c->up_open)
		c->up_reused = 1;
	else if (!c->tgt->resolved)
		rec_resolve_start(c);
	else
		rec_upstream_connect(c);
}

static int
rec_no_intercept(struct recorder *r, const char *name)
{
	size_t	i;

	for (i = 0; i < r->cfg.nno_intercept; i++) {
		if (strcasecmp(r->cfg.no_intercept[i], name) == 0)
			return 1;
	}
	return 0;
}

static int
rec_proxy_refuse(struct rec_conn *c, int status, const char *msg)
{
	http_write_simple(&c->cl.out, status, "text/plain", msg, strlen(msg),
	    1);
	c->state = REC_S_CLOSING;
	return -1;
}

/*
 * The forward proxy's view of a request head (already copied to c->t):
 * CONNECT starts a tunnel or an interception, absolute-form picks the
 * target.  1: go on reading the body, 0: wait, -1: done.
 */
static int
rec_proxy_head(struct rec_conn *c, const struct http_msg *m)
{
	struct recorder	*r = c->r;
	char		*hp;
	int		 rv;

	if (span_eq_str(m->method, "CONNECT")) {
		if (c->intercepted || c->tunnel)
			return rec_proxy_refuse(c, 400, "CONNECT inside a "
			    "tunnel\n");
		hp = span_dup(m->authority);
		rv = rec_target_set(&c->own, hp, 1);
		free(hp);
		if (rv == -1)
			return rec_proxy_refuse(c, 400, "bad CONNECT target\n");
		c->tgt = &c->own;
		c->start_mono = loop_now_update(r->loop);
		c->start_us = rec_wall_us();
		buf_append_str(&c->cl.out,
		    "HTTP/1.1 200 Connection established\r\n\r\n");
		if (rec_no_intercept(r, c->own.name)) {
			c->tunnel = 1;
			c->own.tls = 0;	/* bytes pass as they are */
			c->state = REC_S_TUNNEL;
			rec_resolve_start(c);
			return 0;
		}
		if (r->srv_tls == NULL)
			return rec_proxy_refuse(c, 502, "no CA to intercept "
			    "with\n");
		/* The 200 goes out in clear before the handshake starts. */
		if (rec_side_flush(&c->cl) == -1 || c->cl.out.len > 0) {
			c->state = REC_S_CLOSING;
			return -1;
		}
		if (r->srv_tls_h2 == NULL)
			return rec_intercept(c, 0);
		c->state = REC_S_ALPN;
		rec_resolve_start(c);
		return 0;
	}
	if (m->scheme.len > 0) {
		if (!span_caseeq_str(m->scheme, "http"))
			return rec_proxy_refuse(c, 400, "only http:// targets "
			    "in absolute-form (use CONNECT for https)\n");
		hp = span_dup(m->authority);
		if (c->own.hostport == NULL || c->own.tls ||
		    strcasecmp(hp, c->own.hostport) != 0) {
			rec_side_close(r, &c->up);
			c->up_open = 0;
			rv = rec_target_set(&c->own, hp, 0);
			if (rv == -1) {
				free(hp);
				return rec_proxy_refuse(c, 400,
				    "bad target authority\n");
			}
		}
		free(hp);
		c->tgt = &c->own;
		/* Recorded and forwarded in origin-form. */
		free(c->t.req.target);
		if (m->path.p != NULL)
			c->t.req.target = xstrndup(m->path.p, (size_t)(
			    m->target.p + m->target.len - m->path.p));
		else
			c->t.req.target = xstrdup("");
		if (c->t.req.target[0] == '\0') {
			free(c->t.req.target);
			c->t.req.target = xstrdup("/");
		}
		return 1;
	}
	if (!c->intercepted)
		return rec_proxy_refuse(c, 400, "this is a proxy: send "
		    "absolute-form requests or CONNECT\n");
	return 1;
}

/*
 * CONNECT intercepted: TLS towards the client (leaves minted per SNI),
 * offering h2 when the upstream chose it.  0, or -1 (closing).
 */
static int
rec_intercept(struct rec_conn *c, int h2)
{
	struct recorder	*r = c->r;
	char		*cause = NULL;

	/* The tls conn takes the client's tcp one (closed with its
	 * descriptor on failure). */
	if ((c->cl.conn = conn_tls_server(h2 ? r->srv_tls_h2 : r->srv_tls,
	    c->cl.conn, &cause)) == NULL) {
		log_info("%s: CONNECT %s: %s", c->client, c->tgt->hostport,
		    cause);
		free(cause);
		loop_io_del(r->loop, &c->cl.io);
		c->state = REC_S_CLOSING;
		return -1;
	}
	c->cl.handshaking = 1;
	c->intercepted = 1;
	c->http_seen = 0;	/* the tunnel's own first bytes come */
	c->state = REC_S_REQ_HEAD;
	/* The handshake and the first head inside are due. */
	c->head_mono = loop_now(r->loop);
	rec_timer_pull(c);
	return 0;
}

/* REC_S_ALPN: once the upstream's handshake is done, the client's
 * starts, offering h2 if the upstream chose it.  1: moved on. */
static int
rec_alpn_step(struct rec_conn *c)
{
	char	proto[16];

	if (c->up.conn == NULL || c->up.connecting || c->up.handshaking)
		return 0;
	c->up_h2 = conn_tls_alpn(c->up.conn, proto, sizeof proto) == 1 &&
	    strcmp(proto, "h2") == 0;
	(void)rec_intercept(c, c->up_h2);
	return 1;
}

/* ---- HTTP/2 (record-h2.c) ----------------------------------------------- */

/*
 * A stream's transaction from record-h2: written as an HTTP/1.1
 * exchange's is (rec_txn_write: ids, redaction, funnel, the batch), c->t
 * and the body buffers lent to it for the call, the client's output held
 * until the batch is written.
 */
static void
rec_h2_txn(void *arg, struct record_h2_txn *x)
{
	struct rec_conn	*c = arg;
	struct buf	 reqbody = c->reqbody, body = c->body;
	char		*authority = x->t.req.host;

	if (x->error != NULL)
		log_info("%s: h2 %s %s: %s", c->client, x->t.req.method,
		    x->t.req.target, x->error);
	c->t = x->t;
	c->t.req.host = NULL;
	c->reqbody = (struct buf){ x->t.req.body, x->t.req.body_len,
	    x->t.req.body_len };
	c->body = (struct buf){ x->t.res.body, x->t.res.body_len,
	    x->t.res.body_len };
	c->t.req.body = c->t.res.body = NULL;
	c->t.req.body_len = c->t.res.body_len = 0;
	/* The stream's start on the wall clock, from the monotonic one. */
	c->start_us = rec_wall_us() - (int64_t)((loop_clock_ns() -
	    x->start_ns) / 1000);
	c->start_mono = x->start_ns;
	c->ttfb_mono = x->ttfb_ns;
	c->req_len = x->req_len;
	c->res_len = x->res_len;
	rec_txn_write(c, x->error, !c->dead);
	x->t = c->t;
	buf_free(&c->reqbody);
	buf_free(&c->body);
	free(authority);
	c->reqbody = reqbody;
	c->body = body;
	snap_txn_init(&c->t);
}

/* The client sent the h2 preface: the connection is relayed as HTTP/2,
 * to an upstream connection of its own.  1, or -1 (closing). */
static int
rec_h2_start(struct rec_conn *c)
{
	struct recorder		*r = c->r;
	struct record_h2_config	 cfg;
	char			*cause = NULL;

	memset(&cfg, 0, sizeof cfg);
	cfg.max_body = r->cfg.max_body;
	cfg.scheme = c->tgt->tls ? "https" : "http";
	/* Transparent: the :authority the client sent goes through, as
	 * its Host does over HTTP/1.1. */
	cfg.authority = r->transparent ? NULL : c->tgt->hostport;
	cfg.txn = rec_h2_txn;
	cfg.arg = c;
	/* A cleartext upstream not known to speak h2 is asked first. */
	cfg.h1 = !c->tgt->tls && c->tgt->h2 == -1;
	cfg.probe = !c->tgt->tls && c->tgt->h2 == 0;
	if ((c->h2 = record_h2_create(&cfg, &cause)) == NULL) {
		log_warn("%s: h2: %s", c->client, cause);
		free(cause);
		return -1;
	}
	rec_txn_reset(c);
	c->http_seen = 1;
	c->head_mono = 0;
	c->state = REC_S_H2;
	c->start_mono = c->last_mono = loop_now_update(r->loop);
	c->ttfb_mono = 0;
	if (c->up_open && !c->up_h2) {
		/* An h2 session of its own, not a kept-alive HTTP/1.1 one. */
		rec_side_close(r, &c->up);
		c->up_open = 0;
	}
	/* (A CONNECT's upstream connection took h2 already.) */
	if (!c->up_open && !c->tgt->resolved)
		rec_resolve_start(c);
	else if (!c->up_open)
		rec_upstream_connect(c);
	rec_timer_pull(c);
	return 1;
}

/*
 * Upgrade: h2c on a request without a body: 101, then the connection is
 * relayed as h2 with the request as its stream 1.  0: not an h2c
 * upgrade (served as HTTP/1.1), 1: upgraded, -1: failed (closing).
 */
static int
rec_h2_upgrade(struct rec_conn *c, const struct http_msg *m)
{
	static const char	 sw[] = "HTTP/1.1 101 Switching Protocols\r\n"
				    "Connection: Upgrade\r\nUpgrade: h2c\r\n\r\n";
	struct buf		 set;
	int			 rv = 1;

	buf_init(&set);
	if (httpd_h2_upgrade_settings(m, &set) == -1) {
		buf_free(&set);
		return 0;
	}
	buf_append(&c->cl.out, sw, sizeof sw - 1);
	if (rec_h2_start(c) == -1 ||
	    record_h2_upgrade(c->h2, set.data, set.len, m) == -1) {
		log_info("%s: h2c upgrade failed; closing", c->client);
		c->state = REC_S_CLOSING;
		rv = -1;
	}
	buf_free(&set);
	return rv;
}

/*
 * The first bytes of an upstream not known to speak h2: an HTTP/1.1
 * answer (to our preface) makes its streams HTTP/1.1 exchanges, on a new
 * connection (this one processed nothing); anything else is h2.  1: the
 * bytes are for the h2 session, 0: not.
 */
static int
rec_h2_probe(struct rec_conn *c)
{
	struct rec_side	*up = &c->up;
	size_t		 n = up->in.len < 5 ? up->in.len : 5;

	if (memcmp(up->in.data, "HTTP/", n) != 0) {
		c->tgt->h2 = 1;
		return 1;
	}
	if (n < 5 && !up->eof)
		return 0;
	log_info("%s: h2: upstream %s answered HTTP/1.1: its streams go as "
	    "HTTP/1.1 requests (recorded as h2)", c->client,
	    c->tgt->hostport);
	c->tgt->h2 = -1;
	rec_side_close(c->r, up);
	c->up_open = 0;
	record_h2_upstream_h1(c->h2);
	return 0;
}

/* HTTP/1.1 upstream: a connection that takes no more exchanges is
 * closed, and one is made while streams wait. */
static void
rec_h2_h1_conn(struct rec_conn *c)
{
	struct rec_side	*up = &c->up;

	if (c->up_open && record_h2_h1_done(c->h2) && up->out.len == 0) {
		rec_side_close(c->r, up);
		c->up_open = 0;
	}
	if (c->up_open || !record_h2_h1_waiting(c->h2))
		return;
	record_h2_h1_conn(c->h2);
	rec_upstream_connect(c);
	if (up->conn != NULL)
		(void)record_h2_upstream_out(c->h2, &up->out, REC_HIGH_WATER);
}

/* Both sessions' bytes in, their frames out.  1: the state changed. */
static int
rec_h2_step(struct rec_conn *c)
{
	struct recorder	*r = c->r;
	struct rec_side	*up = &c->up;
	int		 up_ready, rv;

	if (c->cl.in.len > 0) {
		rv = record_h2_client_in(c->h2, c->cl.in.data, c->cl.in.len);
		buf_reset(&c->cl.in);
		if (rv == -1)
			log_info("%s: h2: the client broke the protocol",
			    c->client);
	}
	up_ready = up->conn != NULL && !up->connecting && !up->handshaking;
	if (up_ready && c->tgt->tls && !c->h2_alpn) {
		char	proto[16];

		c->h2_alpn = 1;
		if (conn_tls_alpn(up->conn, proto, sizeof proto) != 1 ||
		    strcmp(proto, "h2") != 0) {
			rec_upstream_fail(c, 502, "tls: the upstream did not "
			    "pick h2 by ALPN (HTTP/1.1 upstreams take HTTP/1.1 "
			    "clients only)");
			up_ready = 0;
		}
	}
	if (up_ready && up->in.len > 0 && record_h2_is_probing(c->h2))
		up_ready = rec_h2_probe(c);
	if (up_ready && up->in.len > 0 && !record_h2_upstream_full(c->h2)) {
		c->last_mono = loop_now(r->loop);
		rv = record_h2_upstream_in(c->h2, up->in.data, up->in.len);
		buf_reset(&up->in);
		if (rv == -1)
			log_warn("%s: h2: upstream %s broke the protocol",
			    c->client, c->tgt->hostport);
	}
	if (c->cl.eof) {
		record_h2_lost(c->h2, 0, "the client closed the connection");
		rec_side_close(r, up);
		c->up_open = 0;
		c->state = REC_S_CLOSING;
		return 1;
	}
	if (up_ready && up->eof && up->in.len == 0 &&
	    record_h2_is_h1(c->h2)) {
		record_h2_upstream_eof(c->h2);
		rec_side_close(r, up);
		c->up_open = 0;
	} else if (up_ready && up->eof && up->in.len == 0)
		rec_upstream_fail(c, 502, "the upstream closed the "
		    "connection");
	if (record_h2_is_h1(c->h2))
		rec_h2_h1_conn(c);
	if (up->conn != NULL && up->out.len < REC_HIGH_WATER &&
	    record_h2_upstream_out(c->h2, &up->out, REC_HIGH_WATER) == -1 &&
	    up->out.len == 0) {
		rec_side_close(r, up);
		c->up_open = 0;
	}
	if (c->cl.out.len < REC_HIGH_WATER && record_h2_client_out(c->h2,
	    &c->cl.out, REC_HIGH_WATER) == -1) {
		rec_side_close(r, up);
		c->up_open = 0;
		c->state = REC_S_CLOSING;
		return 1;
	}
	/* What the client's frames gave back (WINDOW_UPDATE) goes up. */
	if (up->conn != NULL && up->out.len < REC_HIGH_WATER)
		(void)record_h2_upstream_out(c->h2, &up->out, REC_HIGH_WATER);
	/* HTTP/1.1 answer bytes left unread while the stream was full,
	 * which the client's share just made room for. */
	if (up_ready && up->conn != NULL && up->in.len > 0 &&
	    record_h2_is_h1(c->h2) && !record_h2_upstream_full(c->h2) &&
	    c->cl.out.len < REC_HIGH_WATER)
		return 1;
	return 0;
}

/* The timer of an h2 connection: streams in flight past
 * --upstream-timeout fail (the upstream is dropped), an idle one closes.
 * 0, or -1 when c is closed. */
static int
rec_h2_timeout(struct rec_conn *c, uint64_t now)
{
	struct recorder	*r = c->r;
	uint64_t	 to = r->cfg.upstream_timeout_ns;
	char		 what[96];

	if (record_h2_streams(c->h2) > 0) {
		if (rec_exchange_mono(c) + to > now)
			return 0;
		snprintf(what, sizeof what, "timeout: nothing moved for "
		    "%llums", (unsigned long long)(to / 1000000));
		rec_upstream_fail(c, 504, what);
		rec_conn_progress(c);
		return c->dead ? -1 : 0;
	}
	to = r->cfg.idle_timeout_ns;
	if (to == 0 || c->idle_mono + to > now)
		return 0;
	log_debug("%s: h2: idle for %llums, closed", c->client,
	    (unsigned long long)(to / 1000000));
	rec_conn_close(c);
	return -1;
}

/* Parses the client's next request head and starts its exchange.
 * 1: started (or answered), 0: need more bytes, -1: the connection is
 * done. */
static int
rec_request_head(struct rec_conn *c)
{
	struct recorder	*r = c->r;
	struct rec_side	*s = &c->cl;
	struct http_msg	 m;
	enum http_err	 err;
	size_t		 erroff;
	ssize_t		 n;
	char		 msg[128];
	int		 rv;

	if (s->in.len == 0)
		return s->eof ? -1 : 0;
	/*
	 * Transparent: what does not start like an HTTP request (a TLS
	 * handshake, another protocol) is tunnelled, not refused.
	 */
	if (r->transparent && !c->http_seen && (s->in.data[0] < 'A' ||
	    s->in.data[0] > 'Z'))
		return rec_transparent_tunnel(c);
	/* HTTP/2 with prior knowledge: the connection preface. */
	if ((!r->forward || c->up_h2) && !c->http_seen &&
	    !r->cfg.no_http2 && record_h2_is_preface(s->in.data, s->in.len)) {
		if (s->in.len < 24)
			return s->eof ? -1 : 0;
		return rec_h2_start(c);
	}
	n = http_parse_request(s->in.data, s->in.len, r->cfg.max_head, &m,
	    &err, &erroff);
	if (n == HTTP_PARTIAL) {
		if (c->head_mono == 0) {	/* a head starts: it is due */
			c->head_mono = loop_now(r->loop);
			rec_timer_pull(c);
		}
		return s->eof ? -1 : 0;
	}
	if (n == HTTP_ERROR && r->transparent && !c->http_seen)
		return rec_transparent_tunnel(c);
	if (n == HTTP_ERROR) {
		snprintf(msg, sizeof msg, "bad request: %s\n",
		    http_strerror(err));
		http_write_simple(&s->out, 400, "text/plain", msg, strlen(msg),
		    1);
		c->state = REC_S_CLOSING;
		return -1;
	}
	if (!r->forward && !r->transparent && !r->cfg.no_http2 &&
	    m.framing == HTTP_FRAME_NONE) {
		rv = rec_h2_upgrade(c, &m);
		if (rv != 0) {
			buf_consume(&s->in, (size_t)n);
			return rv;
		}
	}
	if (c->up_h2) {
		/* The client took HTTP/1.1: not over the upstream's h2. */
		rec_side_close(r, &c->up);
		c->up_open = 0;
		c->up_h2 = 0;
	}
	rec_txn_reset(c);
	c->http_seen = 1;
	c->head_mono = 0;
	c->t.req.method = span_dup(m.method);
	c->t.req.target = span_dup(m.target);
	rec_headers_copy(c, &c->req_hdrs, &m, &c->t.req.headers,
	    &c->t.req.nheaders);
	c->req_framing = m.framing;
	c->req_left = m.framing == HTTP_FRAME_LENGTH ? m.content_length : 0;
	c->req_keep_alive = m.keep_alive;
	c->req_version = m.version;
	c->req_head = span_eq_str(m.method, "HEAD");
	if (m.framing == HTTP_FRAME_CHUNKED) {
		http_chunked_init(&c->req_ck);
		buf_reset(&c->req_trl);
		c->req_ck.trailers = &c->req_trl;
	}
	if (m.expect_continue)
		buf_append_str(&s->out, "HTTP/1.1 100 Continue\r\n\r\n");
	/* Before the consume: m points into s->in. */
	rv = r->forward ? rec_proxy_head(c, &m) : 1;
	if (rv == 1)
		rec_forward_head(c, &m);
	buf_consume(&s->in, (size_t)n);
	return rv;
}

/* The client broke its request's framing: 400 if the response has not
 * started, and the connection ends. */
static void
rec_request_bad(struct rec_conn *c, const char *why)
{
	struct recorder	*r = c->r;
	char		 msg[128];

	rec_side_close(r, &c->up);
	c->up_open = 0;
	if (!c->res_head_done) {
		snprintf(msg, sizeof msg, "bad chunked body: %s\n", why);
		http_write_simple(&c->cl.out, 400, "text/plain", msg,
		    strlen(msg), 1);
	}
	rec_txn_reset(c);
	c->state = REC_S_CLOSING;
}

/*
 * Moves the request body from the client to the upstream as it arrives,
 * in its own framing, keeping a decoded copy (up to --max-body) for the
 * record.  Stops while the upstream has REC_HIGH_WATER bytes unsent.
 */
static void
rec_request_body(struct rec_conn *c)
{
	struct recorder	*r = c->r;
	struct rec_side	*s = &c->cl;
	struct buf	*o = &c->up.out;
	enum http_err	 err;
	size_t		 n, len, pre, erroff;
	ssize_t		 rest;

	if (c->req_done || s->in.len == 0 || o->len >= REC_HIGH_WATER)
		return;
	c->last_mono = loop_now(r->loop);
	if (c->req_framing == HTTP_FRAME_LENGTH) {
		n = s->in.len < c->req_left ? s->in.len : (size_t)c->req_left;
		buf_append(o, s->in.data, n);
		rec_fwd_keep(c, s->in.data, n);
		rec_body_keep(&c->reqbody, s->in.data, n, r->cfg.max_body);
		c->req_len += n;
		buf_consume(&s->in, n);
		c->req_left -= n;
		c->req_done = c->req_left == 0;
		return;
	}
	/* Chunked: relayed as it came, decoded (in place) for the record. */
	pre = o->len;
	buf_append(o, s->in.data, s->in.len);
	len = s->in.len;
	rest = http_chunked_decode(&c->req_ck, s->in.data, &len, &err,
	    &erroff);
	if (rest == HTTP_ERROR) {
		rec_request_bad(c, http_strerror(err));
		return;
	}
	if (rest != HTTP_PARTIAL) {
		o->len -= (size_t)rest;	/* the next request's bytes */
		o->data[o->len] = '\0';
		c->req_done = 1;
		httpflow_trailers(&c->req_trl, &c->t.req.trailers,
		    &c->t.req.ntrailers);
	}
	rec_fwd_keep(c, o->data + pre, o->len - pre);
	rec_body_keep(&c->reqbody, s->in.data, len, r->cfg.max_body);
	c->req_len += len;
	if (rest == HTTP_PARTIAL)
		s->in.len = 0;
	else {
		memmove(s->in.data, s->in.data + len, (size_t)rest);
		s->in.len = (size_t)rest;
	}
	s->in.data[s->in.len] = '\0';
}

/*
 * Relays the response head to the client.  The body keeps the upstream's
 * framing (Content-Length, chunked) where the client can take it;
 * re-framed only when it must be: chunked to an HTTP/1.0 client goes
 * decoded and the connection closes after it; a body delimited by the
 * upstream's close goes chunked to an HTTP/1.1 client.
 */
static void
rec_response_head(struct rec_conn *c, const struct http_msg *m)
{
	struct snap_res			*res = &c->t.res;
	struct buf			*o = &c->cl.out;
	const struct http_header	*h;
	size_t				 i;
	int				 nobody;
	char				 num[24];

	nobody = c->req_head || res->status == 204 || res->status == 304;
	c->res_relay = REC_RELAY_RAW;
	if (c->res_framing == HTTP_FRAME_CHUNKED && c->req_version < 11) {
		c->res_relay = REC_RELAY_DECHUNK;
		c->req_keep_alive = 0;
	} else if (c->res_framing == HTTP_FRAME_EOF) {
		if (c->req_version >= 11)
			c->res_relay = REC_RELAY_CHUNK;
		else
			c->req_keep_alive = 0;
	}
	if (!c->req_done)	/* answered before its body was all in */
		c->req_keep_alive = 0;
	c->res_off = c->cl_sent + o->len;
	http_write_status_line(o, res->status, res->reason != NULL ?
	    span_from_str(res->reason) : SPAN_NULL);
	for (i = 0; i < m->nheaders; i++) {
		h = &m->headers[i];
		if (rec_is_hop_span(h->name) && !(nobody &&
		    span_caseeq_str(h->name, "Content-Length")))
			continue;
		buf_reserve(o, h->name.len + h->value.len + 4);
		buf_append(o, h->name.p, h->name.len);
		buf_append(o, ": ", 2);
		buf_append(o, h->value.p, h->value.len);
		buf_append(o, "\r\n", 2);
	}
	if (!nobody && c->res_framing == HTTP_FRAME_LENGTH) {
		buf_append_str(o, "Content-Length: ");
		buf_append(o, num, rec_put_u64(num, c->res_left, 0));
		buf_append_str(o, "\r\n");
	} else if (!nobody && (c->res_relay == REC_RELAY_CHUNK ||
	    (c->res_relay == REC_RELAY_RAW &&
	    c->res_framing == HTTP_FRAME_CHUNKED)))
		buf_append_str(o, "Transfer-Encoding: chunked\r\n");
	if (!c->req_keep_alive)
		buf_append_str(o, "Connection: close\r\n");
	buf_append_str(o, "\r\n");
}

/* The response is complete (its last bytes are in cl.out): record it,
 * then the client gets them (after the batch write). */
static void
rec_response_done(struct rec_conn *c)
{
	struct recorder	*r = c->r;

	c->t.has_res = 1;
	c->idle_mono = loop_now(r->loop);
	rec_txn_write(c, NULL, 1);
	if (!c->res_keep_alive || c->res_framing == HTTP_FRAME_EOF ||
	    !c->req_done) {
		rec_side_close(r, &c->up);
		c->up_open = 0;
	}
	rec_txn_reset(c);
	c->state = c->req_keep_alive ? REC_S_REQ_HEAD : REC_S_CLOSING;
}

/* Response body bytes for the record. */
static void
rec_response_keep(struct rec_conn *c, const char *p, size_t n)
{
	rec_body_keep(&c->body, p, n, c->r->cfg.max_body);
	c->res_len += n;
}

/* Parses the upstream's response and relays what there is of it.
 * 1: complete, 0: need more (or room), -1: failed (answered). */
static int
rec_response(struct rec_conn *c)
{
	struct rec_side	*s = &c->up;
	struct buf	*o = &c->cl.out;
	struct http_msg	 m;
	enum http_err	 err;
	size_t		 erroff, len, pre, n;
	ssize_t		 rest;
	char		 what[160];

	while (!c->res_head_done) {
		if (s->in.len == 0)
			return 0;
		n = 0;
		rest = http_parse_response(s->in.data, s->in.len,
		    c->r->cfg.max_head, c->req_head, &m, &err, &erroff);
		if (rest == HTTP_PARTIAL)
			return 0;
		if (rest == HTTP_ERROR) {
			snprintf(what, sizeof what, "bad response: %s",
			    http_strerror(err));
			rec_upstream_fail(c, 502, what);
			return -1;
		}
		if (m.status < 200) {	/* 1xx: not relayed */
			buf_consume(&s->in, (size_t)rest);
			continue;
		}
		c->t.res.status = m.status;
		c->t.res.reason = span_dup(m.reason);
		rec_headers_copy(c, &c->res_hdrs, &m, &c->t.res.headers,
		    &c->t.res.nheaders);
		c->res_framing = m.framing;
		c->res_left = m.framing == HTTP_FRAME_LENGTH ?
		    m.content_length : 0;
		c->res_keep_alive = m.keep_alive;
		c->res_head_done = 1;
		if (m.framing == HTTP_FRAME_CHUNKED) {
			http_chunked_init(&c->ck);
			buf_reset(&c->res_trl);
			c->ck.trailers = &c->res_trl;
		}
		rec_response_head(c, &m);
		buf_consume(&s->in, (size_t)rest);
	}
	if (c->res_framing == HTTP_FRAME_NONE)
		return 1;
	if (o->len >= REC_HIGH_WATER)
		return 0;
	if (s->in.len > 0)
		c->last_mono = loop_now(c->r->loop);
	switch (c->res_framing) {
	case HTTP_FRAME_LENGTH:
		n = s->in.len < c->res_left ? s->in.len : (size_t)c->res_left;
		if (n > 0) {
			buf_append(o, s->in.data, n);
			rec_response_keep(c, s->in.data, n);
			buf_consume(&s->in, n);
			c->res_left -= n;
		}
		return c->res_left == 0 ? 1 : 0;
	case HTTP_FRAME_CHUNKED:
		if (s->in.len == 0)
			return 0;
		pre = o->len;
		if (c->res_relay == REC_RELAY_RAW)
			buf_append(o, s->in.data, s->in.len);
		len = s->in.len;
		rest = http_chunked_decode(&c->ck, s->in.data, &len, &err,
		    &erroff);
		if (rest == HTTP_ERROR) {
			o->len = pre;
			if (o->cap > 0)
				o->data[o->len] = '\0';
			snprintf(what, sizeof what, "bad chunked response: %s",
			    http_strerror(err));
			rec_upstream_fail(c, 502, what);
			return -1;
		}
		if (rest != HTTP_PARTIAL && c->res_relay == REC_RELAY_RAW) {
			o->len -= (size_t)rest;	/* not ours */
			o->data[o->len] = '\0';
		}
		if (c->res_relay == REC_RELAY_DECHUNK)
			buf_append(o, s->in.data, len);
		rec_response_keep(c, s->in.data, len);
		buf_reset(&s->in);	/* what follows is not ours */
		if (rest != HTTP_PARTIAL)
			httpflow_trailers(&c->res_trl, &c->t.res.trailers,
			    &c->t.res.ntrailers);
		return rest == HTTP_PARTIAL ? 0 : 1;
	case HTTP_FRAME_EOF:
		if (s->in.len > 0) {
			if (c->res_relay == REC_RELAY_CHUNK)
				buf_printf(o, "%zx\r\n", s->in.len);
			buf_append(o, s->in.data, s->in.len);
			if (c->res_relay == REC_RELAY_CHUNK)
				buf_append_str(o, "\r\n");
			rec_response_keep(c, s->in.data, s->in.len);
			buf_reset(&s->in);
		}
		if (!s->eof)
			return 0;
		if (c->res_relay == REC_RELAY_CHUNK)
			buf_append_str(o, "0\r\n\r\n");
		return 1;
	default:
		return 1;
	}
}

/* The upstream socket failed (op: "read" or "send"). */
static void
rec_up_error(struct rec_conn *c, int e)
{
	char	what[160];

	if (c->state == REC_S_UPSTREAM || c->state == REC_S_H2) {
		snprintf(what, sizeof what, "%s: %s", c->ttfb_mono ||
		    c->up.in.len ? "read" : "send", strerror(e));
		rec_upstream_fail(c, 502, what);
		return;
	}
	rec_side_close(c->r, &c->up);
	c->up_open = 0;
	if (c->state == REC_S_TUNNEL)
		c->state = REC_S_CLOSING;
}

/* The exchange in flight, after I/O: the request body forward, the
 * response back.  1: its state changed, 0: waits for I/O. */
static int
rec_exchange(struct rec_conn *c)
{
	struct recorder	*r = c->r;
	int		 rv;

	rec_request_body(c);
	if (c->state != REC_S_UPSTREAM)
		return 1;
	if (!c->req_done && c->cl.eof && c->cl.in.len == 0) {
		/* The client left in the middle of its body. */
		rec_txn_reset(c);
		c->state = REC_S_CLOSING;
		return 1;
	}
	if (c->up.conn == NULL)
		return 0;
	if (c->up.in.len > 0 && c->ttfb_mono == 0)
		c->ttfb_mono = loop_now_update(r->loop);
	rv = rec_response(c);
	if (rv == 1) {
		rec_response_done(c);
		return 1;
	}
	if (rv == -1)
		return 1;
	if (!c->up.eof || (c->up.in.len > 0 && c->res_head_done))
		return 0;
	if (c->up_reused && !c->retried && !c->res_head_done &&
	    c->up.in.len == 0 && c->fwd_whole) {
		/* A keep-alive connection the upstream closed while idle:
		 * once more on a fresh one. */
		rec_side_close(r, &c->up);
		c->up_open = 0;
		c->retried = 1;
		buf_append(&c->up.out, c->fwd.data, c->fwd.len);
		rec_upstream_connect(c);
		return 1;
	}
	rec_upstream_fail(c, 502, c->res_head_done ? "closed before the "
	    "response was complete" : "closed without a response");
	return 1;
}

/* Reads a side again that stopped at its input limit, now that there may
 * be room.  1: something came (or the end), 0: nothing, -1: failed. */
static int
rec_side_reread(struct rec_side *s)
{
	size_t	before = s->in.len;

	if (!s->more || s->handshaking || s->connecting ||
	    !rec_side_wants_read(s))
		return 0;
	if (rec_side_read(s) == -1)
		return -1;
	return s->in.len != before || s->eof;
}

/* Drives the connection after I/O on either side. */
static void
rec_conn_progress(struct rec_conn *c)
{
	struct recorder	*r = c->r;
	size_t		 before;
	int		 rv;

	for (;;) {
		switch (c->state) {
		case REC_S_REQ_HEAD:
			rv = rec_request_head(c);
			if (rv == -1) {
				c->state = REC_S_CLOSING;
				continue;
			}
			if (rv == 1)
				continue;
			break;
		case REC_S_UPSTREAM:
			if (rec_exchange(c) == 1)
				continue;
			break;
		case REC_S_TUNNEL:
			if (c->cl.in.len > 0 &&
			    c->up.out.len < REC_HIGH_WATER) {
				c->bytes_up += c->cl.in.len;
				buf_append(&c->up.out, c->cl.in.data,
				    c->cl.in.len);
				buf_reset(&c->cl.in);
			}
			if (c->up.in.len > 0 &&
			    c->cl.out.len < REC_HIGH_WATER) {
				c->bytes_down += c->up.in.len;
				buf_append(&c->cl.out, c->up.in.data,
				    c->up.in.len);
				buf_reset(&c->up.in);
			}
			if ((c->cl.eof && c->cl.in.len == 0 &&
			    c->up.out.len == 0) || (c->up.eof &&
			    c->up.in.len == 0))
				c->state = REC_S_CLOSING;
			break;
		case REC_S_H2:
			if (rec_h2_step(c) == 1)
				continue;
			break;
		case REC_S_ALPN:
			if (rec_alpn_step(c) == 1)
				continue;
			break;
		case REC_S_CLOSING:
			break;
		}
		/* Both sides get what is due now, not on a later EPOLLOUT;
		 * a buffer that drains below the high-water mark lets the
		 * other side's bytes move again. */
		before = c->up.out.len;
		if (c->up.conn != NULL && before > 0 && !c->up.connecting &&
		    !c->up.handshaking) {
			if (rec_side_flush(&c->up) == -1) {
				rec_up_error(c, errno);
				continue;
			}
			if (before >= REC_HIGH_WATER &&
			    c->up.out.len < REC_HIGH_WATER)
				continue;
		}
		before = c->cl.out.len;
		if (before > 0 && !c->cl.handshaking) {
			if (rec_side_flush(&c->cl) == -1) {
				rec_conn_close(c);
				return;
			}
			if (before >= REC_HIGH_WATER &&
			    c->cl.out.len < REC_HIGH_WATER)
				continue;
		}
		if ((rv = rec_side_reread(&c->up)) == -1) {
			rec_up_error(c, errno);
			continue;
		}
		if (rv == 1)
			continue;
		if ((rv = rec_side_reread(&c->cl)) == -1) {
			rec_conn_close(c);
			return;
		}
		if (rv == 1)
			continue;
		break;
	}
	if (c->state == REC_S_CLOSING && c->cl.out.len == 0 && !c->held) {
		rec_conn_close(c);
		return;
	}
	if (c->cl.eof && c->state == REC_S_REQ_HEAD && c->cl.in.len == 0) {
		if (c->cl.out.len == 0 && !c->held) {
			rec_conn_close(c);
			return;
		}
		c->state = REC_S_CLOSING;
	}
	/* The next deadline may come before the one the timer was armed
	 * for (between exchanges: an --idle-timeout shorter than the
	 * --upstream-timeout, a head that started). */
	rec_timer_pull(c);
	rec_side_events(r, &c->cl);
	rec_side_events(r, &c->up);
}

/* Reads a side if the event (or TLS, whose records may hide in the
 * engine: conn_pending) calls for it and its input has room. */
static int
rec_side_io_read(struct rec_side *s, uint32_t events)
{
	if (!rec_side_wants_read(s))
		return 0;
	if (!(conn_ready(s->conn, conn_epoll_ready(events)) & CONN_READ) &&
	    conn_pending(s->conn) == 0)
		return 0;
	return rec_side_read(s);
}

static void
rec_side_io(struct loop_io *io, uint32_t events)
{
	struct rec_side	*s = io->arg;
	struct rec_conn	*c = s->c;
	struct recorder	*r = c->r;
	int		 rv;

	if (c->dead)
		return;
	if (s == &c->up) {
		if ((s->connecting || s->handshaking) &&
		    rec_upstream_handshake(c) != 1)
			return;
		if (rec_side_flush(s) == -1 ||
		    rec_side_io_read(s, events) == -1) {
			rec_up_error(c, errno);
			rec_conn_progress(c);
			return;
		}
		if (s->eof && c->state != REC_S_UPSTREAM &&
		    c->state != REC_S_TUNNEL && c->state != REC_S_CLOSING &&
		    c->state != REC_S_H2) {
			rec_side_close(r, s);	/* idle close */
			c->up_open = 0;
		}
		rec_conn_progress(c);
		return;
	}
	if (c->state == REC_S_ALPN) {
		/* Not read while the upstream's handshake runs: only a
		 * client gone ends the wait (level-triggered, it would
		 * fire again and again). */
		if (events & (EPOLLHUP | EPOLLERR))
			rec_conn_close(c);
		return;
	}
	if (s->handshaking) {
		if ((rv = conn_handshake(s->conn)) == 0) {
			rec_side_events(r, s);
			return;
		}
		if (rv == -1) {
			log_info("%s: CONNECT %s: client tls: %s", c->client,
			    c->tgt->hostport, conn_error(s->conn));
			rec_conn_close(c);
			return;
		}
		s->handshaking = 0;
	}
	if (rec_side_flush(s) == -1 || rec_side_io_read(s, events) == -1) {
		rec_conn_close(c);
		return;
	}
	c->idle_mono = loop_now(r->loop);
	rec_conn_progress(c);
}

/* ---- connections ------------------------------------------------------ */

static void
rec_conn_reap(struct loop_defer *d)
{
	struct rec_conn	*c = d->arg;

	rec_txn_clear(c);
	record_h2_free(c->h2);
	buf_free(&c->req_hdrs);
	buf_free(&c->res_hdrs);
	buf_free(&c->cl.in);
	buf_free(&c->cl.out);
	buf_free(&c->up.in);
	buf_free(&c->up.out);
	buf_free(&c->body);
	buf_free(&c->reqbody);
	buf_free(&c->fwd);
	buf_free(&c->req_trl);
	buf_free(&c->res_trl);
	rec_target_clear(&c->own);
	free(c->tunnel_error);
	free(c);
}

/* One opaque entry for a tunnel that was not intercepted. */
static void
rec_tunnel_record(struct rec_conn *c)
{
	c->tunnel_recorded = 1;
	c->t.opaque = 1;
	c->t.opaque_up = c->bytes_up;
	c->t.opaque_down = c->bytes_down;
	free(c->t.req.target);
	c->t.req.target = xasprintf("%s%s%s:%d", strchr(c->tgt->name, ':') ?
	    "[" : "", c->tgt->name, strchr(c->tgt->name, ':') ? "]" : "",
	    c->tgt->port);
	if (c->tunnel_error == NULL) {
		c->t.has_res = 1;
		c->t.res.status = 200;
		c->t.res.reason = xstrdup("Connection established");
	}
	rec_txn_write(c, c->tunnel_error, 0);
}

static void
rec_conn_close(struct rec_conn *c)
{
	struct recorder	*r = c->r;

	if (c->dead)
		return;
	if (c->tunnel && !c->tunnel_recorded)
		rec_tunnel_record(c);
	if (c->h2 != NULL && record_h2_streams(c->h2) > 0)
		record_h2_lost(c->h2, 0, "the connection closed");
	record_resolve_cancel(c->lookup);	/* freed when it comes back */
	c->dead = 1;
	loop_timer_del(r->loop, &c->timer);
	rec_side_close(r, &c->cl);
	rec_side_close(r, &c->up);
	r->nconns--;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		r->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	loop_defer(r->loop, &c->reap);
}

/*
 * Transparent mode: the connection goes to its original destination.  -1
 * (logged) when there is none, or when it is this listener: a connection
 * that was not redirected would otherwise loop back here.
 */
static int
rec_transparent_target(struct rec_conn *c)
{
	struct sock_addr	dst, local;
	char			a[INET6_ADDRSTRLEN + 16];

	if (sock_original_dst(conn_fd(c->cl.conn), &dst) == -1) {
		log_warn("%s: refused: no original destination (%s); is the "
		    "connection redirected?", c->client, strerror(errno));
		return -1;
	}
	sock_addr_str(&dst, a, sizeof a);
	if (sock_local_addr(conn_fd(c->cl.conn), &local) == 0 &&
	    sock_addr_equal(&dst, &local)) {
		log_warn("%s: refused: original destination %s is this "
		    "listener (not redirected; loop protection)", c->client, a);
		return -1;
	}
	if (rec_target_set(&c->own, a, 0) == -1) {
		log_warn("%s: refused: bad original destination %s", c->client,
		    a);
		return -1;
	}
	c->own.addr = dst;
	c->own.resolved = 1;
	c->tgt = &c->own;
	log_debug("%s: redirected, original destination %s", c->client, a);
	return 0;
}

/* Transparent mode, a connection that is not HTTP (a TLS ClientHello
 * first, or another protocol): relayed blindly, recorded as one opaque
 * entry when the connection ends.  Returns 1 (go on). */
static int
rec_transparent_tunnel(struct rec_conn *c)
{
	c->t.req.method = xstrdup("CONNECT");
	c->start_mono = loop_now_update(c->r->loop);
	c->start_us = rec_wall_us();
	c->tunnel = 1;
	c->state = REC_S_TUNNEL;
	rec_resolve_start(c);
	return 1;
}

/*
 * accept(2) failed for want of descriptors (EMFILE, ENFILE) or memory,
 * or for a reason that may well repeat: the connection stays queued and
 * a level-triggered listener would wake the loop at once, for ever.  So
 * the listener is not watched for REC_ACCEPT_PAUSE_NS while the
 * connections already open are served; logged once per interval.
 */
static void
rec_accept_pause(struct recorder *r, int err)
{
	struct rlimit	rl;
	uint64_t	n;

	r->accept_errors++;
	if (loop_io_mod(r->loop, &r->lio, 0) == -1)
		log_warn("epoll: %s", strerror(errno));
	loop_timer_add(r->loop, &r->accept_timer, REC_ACCEPT_PAUSE_NS);
	if ((n = log_every_count(&r->accept_log, 1, loop_now(r->loop),
	    REC_LOG_INTERVAL_NS)) == 0)
		return;
	if (sock_accept_is_exhausted(err) && getrlimit(RLIMIT_NOFILE,
	    &rl) == 0)
		log_warn("accept: %s (%zu connections open, open-file limit "
		    "%llu): new connections wait %llums at a time; %llu time%s "
		    "since the last report", strerror(err), r->nconns,
		    (unsigned long long)rl.rlim_cur,
		    (unsigned long long)(REC_ACCEPT_PAUSE_NS / 1000000),
		    (unsigned long long)n, n == 1 ? "" : "s");
	else
		log_warn("accept: %s: new connections wait %llums at a time; "
		    "%llu time%s since the last report", strerror(err),
		    (unsigned long long)(REC_ACCEPT_PAUSE_NS / 1000000),
		    (unsigned long long)n, n == 1 ? "" : "s");
}

static void
rec_accept_resume(struct loop_timer *t)
{
	struct recorder	*r = t->arg;

	if (loop_io_mod(r->loop, &r->lio, EPOLLIN) == -1)
		log_warn("epoll: %s", strerror(errno));
}

static void
rec_accept(struct loop_io *io, uint32_t events)
{
	struct recorder		*r = io->arg;
	struct sock_addr	 peer;
	char			 client[64];
	int			 fd, one = 1, i;

	for (i = 0; i < 64; i++) {
		peer.len = sizeof peer.ss;
		fd = accept4(r->lfd, (struct sockaddr *)&peer.ss, &peer.len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				rec_accept_pause(r, errno);
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		sock_addr_str(&peer, client, sizeof client);
		(void)rec_conn_new(r, conn_tcp_create(fd, CONN_F_SERVER),
		    client);
	}
}

/* A client connection xc (an accepted tcp conn, or a test's mem end)
 * relayed from now on, or NULL (xc closed). */
static struct rec_conn *
rec_conn_new(struct recorder *r, struct conn *xc, const char *client)
{
	struct rec_conn	*c;
	int		 fd = conn_fd(xc);

	c = xcalloc(1, sizeof *c);
	c->r = r;
	rec_side_init(c, &c->cl);
	rec_side_init(c, &c->up);
	buf_init(&c->body);
	buf_init(&c->fwd);
	buf_init(&c->req_trl);
	buf_init(&c->res_trl);
	snap_txn_init(&c->t);
	snprintf(c->client, sizeof c->client, "%s", client);
	loop_timer_init(&c->timer, rec_timeout, c);
	loop_defer_init(&c->reap, rec_conn_reap, c);
	c->cl.conn = xc;
	c->state = REC_S_REQ_HEAD;
	c->tgt = &r->rt;
	if (r->transparent && rec_transparent_target(c) == -1) {
		conn_close(c->cl.conn);
		rec_conn_reap(&c->reap);
		return NULL;
	}
	/* A mem conn has no descriptor: record_test_pump drives it. */
	if (loop_io_add(r->loop, &c->cl.io, fd,
	    conn_epoll_events(CONN_READ), rec_side_io, &c->cl) == -1 &&
	    fd != -1) {
		conn_close(c->cl.conn);
		free(c);
		return NULL;
	}
	c->next = r->conns;
	if (r->conns != NULL)
		r->conns->prev = c;
	r->conns = c;
	r->nconns++;
	rec_conn_started(c);
	return c;
}

void
record_test_upstream(struct recorder *r, struct conn *(*up)(void *),
    void *arg)
{
	r->test_up = up;
	r->test_up_arg = arg;
}

int
record_test_adopt(struct recorder *r, struct conn *xc, const char *peer)
{
	return rec_conn_new(r, xc, peer) != NULL ? 0 : -1;
}

size_t
record_test_pump(struct recorder *r)
{
	struct rec_conn	*c, *next;
	uint32_t	 ev = EPOLLIN | EPOLLOUT;

	loop_now_update(r->loop);
	for (c = r->conns; c != NULL; c = next) {
		next = c->next;
		if (c->up.conn != NULL)
			rec_side_io(&c->up.io, ev);
		if (!c->dead && c->cl.conn != NULL)
			rec_side_io(&c->cl.io, ev);
	}
	loop_run_deferred(r->loop);
	return r->nconns;
}

/* The counters, as one JSON object and a newline. */
static void
rec_stats_json(struct recorder *r, struct buf *b, uint64_t sync_errors)
{
	buf_printf(b, "{\"transactions\":%llu,\"recorded\":%llu,"
	    "\"lost\":%llu,\"upstream_failures\":%llu,\"write_error\":",
	    (unsigned long long)r->ntxn,
	    (unsigned long long)(r->ntxn - r->nfunneled - r->nlost),
	    (unsigned long long)r->nlost, (unsigned long long)r->nerr);
	if (r->werrno != 0)
		json_append_string(b, strerror(r->werrno),
		    strlen(strerror(r->werrno)));
	else
		buf_append_str(b, "null");
	buf_printf(b, ",\"sync_errors\":%llu,\"head_timeouts\":%llu,"
	    "\"body_timeouts\":%llu,\"accept_errors\":%llu",
	    (unsigned long long)sync_errors,
	    (unsigned long long)r->head_timeouts,
	    (unsigned long long)r->body_timeouts,
	    (unsigned long long)r->accept_errors);
	if (r->cfg.funnel != NULL) {
		buf_append_str(b, ",\"funnel\":");
		funnel_stats_json(b, funnel_stats(r->cfg.funnel));
	}
	buf_append_str(b, "}\n");
}

/*
 * After the loop: the connections still open end (a tunnel's entry is
 * written then), the last lines go out, the file is flushed and closed;
 * then the summary and the stats.  0, or -1 when anything was lost.
 */
static int
rec_finish(struct recorder *r)
{
	struct buf	 b;
	char		*cause = NULL;
	uint64_t	 sync_errors = 0;
	int		 sync_errno = 0, rv = 0;

	while (r->conns != NULL)
		rec_conn_close(r->conns);
	loop_run_deferred(r->loop);
	if (r->w.out.fd != -1) {
		rec_batch_write(r);
		if (record_writer_close(&r->w) == -1)
			r->wclose_failed = 1;
		sync_errors = r->w.sync_errors;
		sync_errno = r->w.sync_errno;
	}
	if (r->nlost > 0) {
		log_error("recorded %llu transactions (%llu upstream "
		    "failures), LOST %llu (%s) into %s",
		    (unsigned long long)(r->ntxn - r->nlost),
		    (unsigned long long)r->nerr, (unsigned long long)r->nlost,
		    strerror(r->werrno), r->cfg.output);
		rv = -1;
	} else if (!r->cfg.json)
		log_info("recorded %llu transactions (%llu upstream failures)",
		    (unsigned long long)(r->ntxn - r->nfunneled),
		    (unsigned long long)r->nerr);
	if (r->cfg.funnel != NULL && r->cfg.funnel_set) {
		buf_init(&b);
		funnel_stats_text(&b, funnel_stats(r->cfg.funnel));
		log_info("funnel: %.*s", (int)b.len, b.data);
		buf_free(&b);
	}
	if (sync_errors > 0) {
		log_error("snapshot %s: fdatasync failed %llu time%s (%s): "
		    "what was written may not be on disk", r->cfg.output,
		    (unsigned long long)sync_errors, sync_errors == 1 ? "" : "s",
		    strerror(sync_errno));
		rv = -1;
	}
	if (r->wclose_failed)
		rv = -1;
	if (r->cfg.stats_path != NULL) {
		buf_init(&b);
		rec_stats_json(r, &b, sync_errors);
		if (buf_write_file(r->cfg.stats_path, b.data, b.len, 0644,
		    &cause) == -1) {
			log_error("stats: %s", cause);
			free(cause);
			rv = -1;
		}
		buf_free(&b);
	}
	if (r->cfg.json) {
		buf_init(&b);
		rec_stats_json(r, &b, sync_errors);
		if (fwrite(b.data, 1, b.len, stdout) != b.len ||
		    fflush(stdout) == EOF) {
			log_error("--json: writing output failed");
			rv = -1;
		}
		buf_free(&b);
	}
	return rv;
}

int
record_run(struct recorder *r)
{
	struct sock_addr	la;
	char			bound[64];
	int			rv;

	loop_stop_on_signals(r->loop);
	record_writer_start(&r->w);
	/* The port actually bound (--listen HOST:0 picks one). */
	if (sock_local_addr(r->lfd, &la) == -1)
		snprintf(bound, sizeof bound, "%s", r->cfg.listen);
	else
		sock_addr_str(&la, bound, sizeof bound);
	log_info("recording %s -> %s into %s", bound,
	    r->forward ? (r->srv_tls != NULL ? "forward proxy, intercepting "
	    "CONNECT" : "forward proxy") : r->transparent ? "original "
	    "destinations (transparent)" : r->cfg.upstream, r->cfg.output);
	rv = loop_run(r->loop);
	if (rec_finish(r) == -1)
		rv = -1;
	return rv;
}

void
record_free(struct recorder *r)
{
	if (r == NULL)
		return;
	while (r->conns != NULL)
		rec_conn_close(r->conns);
	if (r->loop != NULL) {
		loop_run_deferred(r->loop);
		prom_server_free(r->metrics);
		loop_run_deferred(r->loop);
		loop_timer_del(r->loop, &r->sync_timer);
		loop_timer_del(r->loop, &r->accept_timer);
		if (r->lfd != -1)
			loop_io_del(r->loop, &r->lio);
	}
	if (r->lfd != -1)
		close(r->lfd);
	if (r->w.out.fd != -1) {
		rec_batch_write(r);
		record_writer_close(&r->w);
	}
	free(r->held);
	buf_free(&r->batch);
	/* A lookup still running writes into a closed pipe and leaks its
	 * job; the process is exiting. */
	record_resolver_free(r->resolver);
	if (r->loop != NULL)
		loop_free(r->loop);
	conn_tls_ctx_free(r->up_tls);
	conn_tls_ctx_free(r->up_tls_h2);
	conn_tls_ctx_free(r->srv_tls);
	conn_tls_ctx_free(r->srv_tls_h2);
	conn_tls_ctx_free(r->up_tls_alpn);
	if (r->ca != NULL)
		ca_free(r->ca);
	record_redact_free(r->redact);
	loop_stop_on_signals(NULL);
	rec_target_clear(&r->rt);
	record_config_free(&r->cfg);
	free(r);
}
