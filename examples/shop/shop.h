/*
 * shop.h -- code shared by the demo services in examples/shop (orders,
 * payments, inventory): option helpers, a small threaded HTTP/1.1 server,
 * a blocking keep-alive HTTP client and the --trace recorder that writes
 * what a service receives and sends as snapshot lines (decoy-snapshot(5)).
 *
 * These programs are test fixtures, not part of decoy: they favour being
 * obvious over being fast (one thread per connection, blocking sockets).
 */
#ifndef SHOP_H
#define SHOP_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "buf.h"
#include "http.h"
#include "snap.h"

/* Default time allowed for one dependency call. */
#define SHOP_TIMEOUT_MS		5000

/* Largest request or response body the services accept. */
#define SHOP_MAX_BODY		(1024 * 1024)

/*
 * Parses a decimal integer in [min, max] from the whole of s.  Returns 0,
 * or -1 when s is empty, has trailing junk or is out of range.
 */
int	 shop_parse_long(const char *s, long min, long max, long *out);

/* Microseconds since the epoch, and the same as "2026-11-26T05:01:02.123456Z". */
int64_t	 shop_now_us(void);
void	 shop_format_ts(int64_t us, char *out, size_t outlen);

/*
 * Server.  The handler is called from the connection's thread, once per
 * request, with spans into that connection's buffer; it fills res (status,
 * content type, body) and must be thread-safe.
 */
struct shop_req {
	const struct http_msg	*msg;
	struct span		 method;
	struct span		 target;
	struct span		 path;
	struct span		 query;
	const char		*body;		/* decoded body, never NULL */
	size_t			 body_len;
};

struct shop_res {
	int		 status;
	const char	*content_type;	/* static string, NULL for none */
	struct buf	 body;
	int		 untraced;	/* keep this exchange out of --trace */
	struct snap_header *headers;	/* more headers (shop_res_header) */
	size_t		 nheaders;
};

typedef void (*shop_handler_cb)(const struct shop_req *, struct shop_res *);

/*
 * Listens on 127.0.0.1:port (0 picks a free port), writes the bound port
 * number to port_file (if not NULL) by write-and-rename once listening,
 * and serves until SIGTERM or SIGINT.  Returns the exit status (0), or
 * calls fatal() when it cannot listen.  svc names the service in trace
 * lines and log messages.
 */
int	 shop_serve(const char *svc, int port, const char *port_file,
	    shop_handler_cb cb);

/*
 * main() of a service that takes only --port and --port-file: parses the
 * options (usage error: exit 2), logs as svc and serves with handler.
 */
int	 shop_main_simple(const char *svc, int argc, char **argv,
	    shop_handler_cb handler);

/* Prints text (a usage message) to stdout for status 0, else to
 * stderr, and exits with status. */
void	 shop_usage(int status, const char *text)
	    __attribute__((noreturn));

/*
 * Options.  The services spell their common options alike: the
 * getopt_long rows below (SHOP_OPTIONS_SERVE: --port, --port-file,
 * --help; SHOP_OPTIONS_CALL: --timeout, --resolve) and their short
 * letters ("p:P:h", "T:r:") go into a service's own table, and
 * shop_option() takes their values.
 */
#define SHOP_OPTIONS_SERVE \
	{ "port",	required_argument,	NULL, 'p' }, \
	{ "port-file",	required_argument,	NULL, 'P' }, \
	{ "help",	no_argument,		NULL, 'h' }
#define SHOP_OPTIONS_CALL \
	{ "timeout",	required_argument,	NULL, 'T' }, \
	{ "resolve",	required_argument,	NULL, 'r' }

struct shop_opts {
	const char	*svc;		/* the service, in messages */
	long		 port;		/* 0: any */
	const char	*port_file;
	long		 timeout;	/* ms, SHOP_TIMEOUT_MS by default */
};

/* Sets the defaults and calls log_init(svc). */
void	 shop_opts_init(struct shop_opts *, const char *svc);

/*
 * Takes the value of a common option: returns 1 when ch is 'p', 'P',
 * 'T' or 'r' (a bad value: a message "SVC: bad port: X" and exit 2),
 * else 0 for the caller's own switch.
 */
int	 shop_option(struct shop_opts *, int ch, const char *arg);

/* shop_serve() on the options' port and port file. */
int	 shop_serve_opts(const struct shop_opts *, shop_handler_cb cb);

/*
 * Routing.  shop_healthz answers /healthz (any method) with
 * {"status":"ok"} and returns 1, or returns 0 for another path.
 * shop_method returns 1 when the request's method is method, else
 * answers 405 with {"error":"<error>"} and returns 0.  shop_path_id
 * returns 1 when path is prefix followed by one non-empty segment (no
 * '/'), in *id.
 */
int	 shop_healthz(const struct shop_req *, struct shop_res *);
int	 shop_method(const struct shop_req *, struct shop_res *,
	    const char *method, const char *error);
int	 shop_path_id(struct span path, const char *prefix, struct span *id);

/* Sets a JSON response: prints obj (and frees it). */
void	 shop_res_json(struct shop_res *, int status, cJSON *obj);
/* Sets {"error":"<error>"} with the given status. */
void	 shop_res_error(struct shop_res *, int status, const char *error);
/* Sets a binary or text response; the bytes are copied. */
void	 shop_res_bytes(struct shop_res *, int status,
	    const char *content_type, const void *body, size_t len);

/* Adds a response header (after Content-Type); name and value are copied. */
void	 shop_res_header(struct shop_res *, const char *name,
	    const char *value);

/*
 * If path starts with prefix, sets *rest to what follows and returns 1;
 * otherwise returns 0.
 */
int	 shop_path_prefix(struct span path, const char *prefix,
	    struct span *rest);

/* Parses a JSON body; NULL if it is not a JSON object. */
cJSON	*shop_json_parse(const char *body, size_t len);
/* The member as a string, or NULL if absent or not a string. */
const char *shop_json_str(const cJSON *obj, const char *name);
/* The member as an integer in [min, max]; -1 if absent, not an integer
 * or out of range. */
int	 shop_json_int(const cJSON *obj, const char *name, long min, long max,
	    long *out);

/*
 * Client.  An upstream is a base URL "http://host:port[/prefix]" shared
 * by all threads; each thread keeps its own keep-alive connection to it.
 */
struct shop_upstream {
	char		*svc;		/* dependency name in trace lines */
	char		*host;
	char		*port;
	char		*authority;	/* "host:port", sent as Host */
	char		*prefix;	/* no trailing '/', may be "" */
	const char	*user_agent;	/* "shop-orders/1.0" unless changed */
	int		 timeout_ms;
	pthread_key_t	 key;		/* this thread's connection */
};

/*
 * Parses url into u.  Returns 0, or -1 with *cause allocated.  The
 * upstream lives for the whole process.
 */
int	 shop_upstream_init(struct shop_upstream *u, const char *svc,
	    const char *url, int timeout_ms, char **cause);

/*
 * Adds "NAME:ADDR" (curl's --resolve without the port): connections to
 * an upstream whose URL host is NAME go to ADDR, while the Host header
 * still says NAME.  Lets a recording carry real dependency names without
 * DNS.  Returns 0, or -1 with *cause.  Call before serving.
 */
int	 shop_resolve_add(const char *spec, char **cause);

/*
 * shop_upstream_init() with the options' timeout; a bad URL is a message
 * "SVC: CAUSE" and exit 2.
 */
void	 shop_upstream_init_opts(struct shop_upstream *,
	    const struct shop_opts *, const char *name, const char *url);

enum shop_call_err {
	SHOP_CALL_OK = 0,
	SHOP_CALL_CONNECT,	/* refused, unreachable, unresolvable */
	SHOP_CALL_IO,		/* reset or closed mid-exchange */
	SHOP_CALL_TIMEOUT,
	SHOP_CALL_PROTO,	/* the answer is not valid HTTP/1.1 */
};

/*
 * Sends one request (body may be NULL; content_type is sent only with a
 * body) and reads the response into t: t->req holds the request as sent
 * and t->res the response as received, with timings.  A stale keep-alive
 * connection is replaced once.  Returns SHOP_CALL_OK, or an error with
 * t->has_res = 0 and *cause allocated.  The call is traced when --trace
 * is on.  The caller frees t with snap_txn_free().
 */
enum shop_call_err shop_call(struct shop_upstream *u, const char *method,
	    const char *target, const char *content_type, const void *body,
	    size_t body_len, struct snap_txn *t, char **cause);

/*
 * The same with more request headers, sent (in order) after Accept and
 * before Content-Type; the caller keeps them.
 */
enum shop_call_err shop_call_headers(struct shop_upstream *u,
	    const char *method, const char *target,
	    const struct snap_header *headers, size_t nheaders,
	    const char *content_type, const void *body, size_t body_len,
	    struct snap_txn *t, char **cause);

/*
 * A call whose answer the caller reads as JSON: body (may be NULL) is
 * sent as application/json and freed.  Returns 0 when t holds an answer
 * below 500; otherwise logs, answers res 502 (504 on a timeout) with
 * {"error":"<svc> unavailable"}, frees t and returns -1.
 */
int	 shop_call_json(struct shop_upstream *u, const char *method,
	    const char *target, const struct snap_header *headers,
	    size_t nheaders, cJSON *body, struct snap_txn *t,
	    struct shop_res *res);

/* The answer's body as a JSON object, or NULL (logged). */
cJSON	*shop_answer_json(const struct snap_txn *);

/* Answers {"error":"<svc of u> unavailable"} with status. */
void	 shop_res_unavailable(struct shop_res *,
	    const struct shop_upstream *u, int status);

/* First header of the name in a snapshot header list, or NULL. */
const char *shop_header(const struct snap_header *, size_t n,
	    const char *name);

/*
 * Trace.  Opens (truncates) path for snapshot lines; every later
 * transaction served by shop_serve() and every shop_call() is written to
 * it.  Returns 0, or -1 with *cause.
 */
int	 shop_trace_open(const char *path, char **cause);
/* Writes one transaction, giving it the next "t-NNNNNN" id. */
void	 shop_trace_write(struct snap_txn *);

#endif
