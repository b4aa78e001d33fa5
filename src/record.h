/*
 * record.h -- the recorder (`decoy record`): an event-loop HTTP/1.1 proxy
 * that relays every exchange between a client and an upstream and appends
 * it to a snapshot (decoy-snapshot(5)) as one transaction.
 *
 * Reverse proxy (--upstream URL --listen ADDR): every request on the
 * listener goes to the one upstream (http or https), over one keep-alive
 * upstream connection per client connection, with Host rewritten to the
 * upstream's.  Bodies are streamed: the request head is forwarded as soon
 * as it is parsed and its body follows as it arrives; the response comes
 * back the same way.  A body keeps the framing it came with
 * (Content-Length or chunked, relayed byte for byte) and is re-framed only
 * where the client could not take it: a chunked response to an HTTP/1.0
 * client goes decoded (and the connection closes after it), a response
 * delimited by the upstream's close goes chunked to an HTTP/1.1 client.
 * A buffer holding about 256 KiB stops the reading of the side that fills
 * it, so a connection's memory does not grow with the size of a body.
 * The record keeps each body decoded up to --max-body bytes; a longer one
 * is stored truncated and flagged "truncated":{"req":N,"res":N} with the
 * original sizes, never silently cut.  The recorded headers keep
 * Transfer-Encoding as received.  An upstream failure before any of the
 * response went out answers 502 (connect refused, reset, closed early) or
 * 504 (--upstream-timeout: no byte moved either way for that long) with a
 * JSON body; after the response started, the client's connection is cut
 * short.  Either way the transaction is recorded with an "error" member
 * (without "res" if no response head came).  A client connection idle
 * between exchanges for --idle-timeout (60s) is closed.  A request head
 * must be complete --header-timeout (10s) after its first byte (after the
 * accept, for a connection's first), a request body --body-timeout (30s)
 * after its head plus a second per --body-min-rate (1 KiB) bytes that
 * came; a client too slow gets 408 and its connection closes (nothing
 * recorded), counted and logged once per interval.  Out of descriptors
 * (accept(2) EMFILE, ENFILE...), the listener is not watched for 100 ms at
 * a time while the open connections are served (logged once per
 * interval); the caller raises RLIMIT_NOFILE first (sock_raise_nofile).
 *
 * The snapshot is written with write(2) to an O_APPEND descriptor: the
 * lines of the transactions completed in one event-loop round go out in
 * one call, and the clients of those transactions get the last bytes of
 * their responses only after it: a transaction the client saw complete is
 * in the file (the page cache) even if the recorder is killed with
 * SIGKILL.  fsync(2) never runs in the event loop: a helper thread flushes
 * after each write (fsync txn) or once a second (fsync 1s).
 *
 * A snapshot is created mode 0600 and never keeps a torn line (snap.h,
 * snap_out): a write that fails part-way (a full disk) is cut back to the
 * last whole line, and --append mends a torn tail first.  Every
 * transaction that could not be stored is counted as lost: the
 * write errors are logged once per interval with a count, the summary
 * at exit and the --stats file give the total, and record_run() fails.
 * With --on-write-error serve (the default) clients are answered all the
 * same; with fail a client whose transaction was not stored gets a 503
 * instead of its answer (or, if its response had started to go out, its
 * connection is cut before the last bytes) -- the upstream has handled
 * the request either way.
 *
 * Forward proxy (--proxy ADDR): absolute-form requests (http://host/path)
 * go to that host (recorded in origin-form); CONNECT host:port is answered
 * 200, then intercepted -- TLS towards the client with a leaf minted by
 * decoy's CA for the SNI, TLS towards the real host -- and the plaintext
 * exchanges are recorded with tls true; a --no-intercept host is tunnelled
 * blindly and recorded as one opaque CONNECT entry.  Names are resolved
 * with getaddrinfo in a short-lived thread, never in the loop.
 *
 * Transparent proxy (--transparent ADDR): connections that an iptables or
 * nft REDIRECT sent to ADDR are relayed to their original destination
 * (SO_ORIGINAL_DST / IP6T_SO_ORIGINAL_DST), one upstream per client
 * connection; "server" is that destination ("10.0.0.2:8080"), req.host
 * the Host header as sent (else the destination).  The Host header is
 * forwarded unchanged (added from the destination when absent).  A
 * connection whose original destination is the listener itself (not
 * redirected) is refused with a log line, so a missing exclusion rule
 * cannot loop.  The recorder's upstream sockets carry SO_MARK mark (when
 * not 0) so `decoy redirect` rules let them pass.  A connection that does
 * not start with an HTTP request (a TLS handshake record, another
 * protocol: a first byte that is not A-Z, or a first head that does not
 * parse) is not intercepted: it is tunnelled blindly to the destination
 * and recorded as one opaque CONNECT entry (byte counts), as
 * --no-intercept does.  Protocols where the server speaks first are not
 * supported: leave their ports out of the redirect.
 *
 * Redaction (record-redact.c) runs before anything reaches the disk.
 */
#ifndef DECOY_RECORD_H
#define DECOY_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "snap.h"

enum record_fsync { RECORD_FSYNC_NEVER, RECORD_FSYNC_TXN, RECORD_FSYNC_1S };

/* What a client gets when its transaction cannot be stored. */
enum record_on_write_error {
	RECORD_WERR_SERVE,	/* its answer, as usual (counted as lost) */
	RECORD_WERR_FAIL,	/* 503, or a cut connection */
};

struct record_config {
	char		*upstream;	/* reverse proxy: http[s]://HOST[:PORT] */
	char		*listen;	/* reverse proxy listen address */
	char		*output;	/* snapshot path */
	char		*svc;		/* "svc" of every entry; NULL: the
					   upstream host */
	int		 append;	/* keep what the snapshot holds */
	enum snap_dir	 dir;
	char		*port_file;
	char		*upstream_ca;	/* PEM bundle for https upstreams */
	int		 insecure;	/* do not verify upstream certificates */
	int		 no_http2;	/* HTTP/1.1 only: no h2 relay */
	enum record_fsync fsync;
	enum record_on_write_error on_write_error;
	char		*stats_path;	/* counters as JSON at exit */
	char		*metrics;	/* Prometheus /metrics address */
	char		*metrics_port_file;
	int		 json;		/* ... and on stdout, instead of the
					   summary line */
	size_t		 max_body;	/* stored body size; larger is truncated */
	size_t		 max_head;
	uint64_t	 upstream_timeout_ns;	/* no byte moved */
	uint64_t	 idle_timeout_ns;	/* client idle; 0: none */
	uint64_t	 header_timeout_ns;	/* a request head is due */
	uint64_t	 body_timeout_ns;	/* a request body; 0: none */
	size_t		 body_min_rate;		/* bytes/s that extend it */
	char		**redact;	/* "header:NAME" | "json:PATH" | "regex:RE" */
	size_t		 nredact;
	/* Forward proxy (instead of upstream and listen). */
	char		*proxy;		/* listen address */
	char		*ca_dir;	/* NULL: ca_default_dir() */
	char		**no_intercept;	/* CONNECT hosts tunnelled blindly */
	size_t		 nno_intercept;
	/* Transparent proxy (instead of upstream and listen). */
	char		*transparent;	/* listen address */
	unsigned int	 mark;		/* SO_MARK of upstream sockets, 0: none */
	/* The capture funnel (funnel.h), the caller's, used by the loop
	 * thread only; NULL: keep all.  funnel_set: options were given
	 * (the summary line says what it dropped). */
	struct funnel	*funnel;
	int		 funnel_set;
};

/* The default SO_MARK of --transparent's upstream connections. */
#define RECORD_DEFAULT_MARK	0xdec0u

void	record_config_init(struct record_config *);
void	record_config_free(struct record_config *);
void	record_config_add_redact(struct record_config *, const char *);
void	record_config_add_no_intercept(struct record_config *, const char *);
/* "never" | "txn" | "1s"; 0 or -1. */
int	record_parse_fsync(const char *, enum record_fsync *);
/* "serve" | "fail"; 0 or -1. */
int	record_parse_on_write_error(const char *,
	    enum record_on_write_error *);

struct recorder;

/* Parses the upstream, opens the snapshot and the listener (writing the
 * port file); starts no thread (record_run does), so that the caller can
 * drop privileges in between (priv.h).  NULL with *cause on failure. */
struct recorder	*record_create(const struct record_config *, char **cause);
/* Runs until SIGINT or SIGTERM, then writes what is pending, logs the
 * summary and the --stats file.  0, or -1 if the loop failed, a
 * transaction could not be stored, or the snapshot could not be flushed
 * to disk (fdatasync). */
int		 record_run(struct recorder *);
/* Closes everything, flushing the snapshot.  Takes NULL. */
void		 record_free(struct recorder *);

/*
 * Tests over the in-memory transport (conn.h), without record_run and
 * without sockets: record_test_upstream makes every upstream connection
 * the recorder opens come from up(arg) (a connected conn, e.g. a mem
 * end; TLS is layered over it when the upstream URL is https; NULL: the
 * connection is refused); record_test_adopt relays xc (the recorder's end
 * of a client connection) as if accepted from peer (0, or -1: xc is
 * closed); record_test_pump runs one round of the loop for every
 * connection -- each side read and written as far as it goes, then the
 * end-of-round work (snapshot lines written, closed connections freed)
 * -- and returns how many client connections remain.
 */
struct conn;
void		 record_test_upstream(struct recorder *,
		    struct conn *(*up)(void *), void *arg);
int		 record_test_adopt(struct recorder *, struct conn *xc,
		    const char *peer);
size_t		 record_test_pump(struct recorder *);

/*
 * Redaction (record-redact.c).  Specs: "header:NAME" (case-insensitive
 * header name; the whole value), "json:PATH" (JSONPath subset: $.a.b,
 * $..key, $.a[0], $.a[*], $.*; strings and numbers at the path, or inside
 * an object or array at the path, become string placeholders, edited in
 * the raw bytes), "regex:PATTERN" (PCRE2; every match in header values
 * and bodies).  A value becomes "REDACTED-" and 8 hex digits of
 * HMAC-SHA256(key, value) with one random key per redactor, so equal
 * values get equal placeholders within a run.
 */
struct record_redact;

/* NULL with *cause (naming the bad spec) on failure. */
struct record_redact *record_redact_create(char *const *specs, size_t n,
		    char **cause);
/* Like create, but with a fixed key (tests). */
struct record_redact *record_redact_create_key(char *const *specs, size_t n,
		    const unsigned char *key, size_t keylen, char **cause);
void	record_redact_free(struct record_redact *);
/* Appends the placeholder for value[0..len) to out. */
void	record_redact_placeholder(const struct record_redact *, struct buf *out,
	    const char *value, size_t len);
/* Redacts header values in place (values are reallocated). */
void	record_redact_headers(const struct record_redact *,
	    struct snap_header *, size_t n);
/* Redacts a body in place: json: paths (if the body is JSON), then
 * regex: patterns.  *body (NUL-terminated, NULL if empty) may be
 * replaced; returns the number of values replaced. */
size_t	record_redact_body(const struct record_redact *, char **body,
	    size_t *len);

#endif
