/*
 * respond.h -- the responder: serves the outbound half of a snapshot.
 *
 * One worker thread per core, each with its own epoll loop and its own
 * SO_REUSEPORT listening socket per address; the match index is shared
 * read-only.  Each request is matched to a recorded transaction and
 * answered with its pre-serialised response in one writev.  Keep-alive and
 * pipelining are supported; a malformed or smuggling-shaped request gets a
 * 400 (431 for an oversized head, 413 for an oversized body or chunk
 * size, 501 for an unsupported transfer coding, 408 for a head or body
 * that does not complete in time) and the connection is closed, with a log line.  A bad peer never
 * costs more than its own connection.
 */
#ifndef DECOY_RESPOND_H
#define DECOY_RESPOND_H

#include <stddef.h>
#include <stdint.h>

#include "chaos.h"
#include "match.h"
#include "rule.h"

struct respond_config {
	char			*snapshot;	/* path, "-" for stdin */
	char			*proto_set;	/* .proto descriptor set
						   (protodesc.h), NULL: none;
						   loaded by the caller
						   (cli_proto_set) */
	char			*transforms;	/* transforms file (decoy-
						   transforms(5)), NULL: none;
						   re-read with the snapshot */
	int			 has_now;	/* the clock of replies made
						   live starts at now_us (µs
						   since the epoch) and runs */
	int64_t			 now_us;
	char			**listen;	/* "HOST:PORT" addresses */
	size_t			 nlisten;
	enum match_unmatched	 unmatched;
	int			 allow_empty;	/* serve a snapshot with no
						   dir "out" transaction with
						   a response (else an error) */
	int			 workers;	/* 0: one per online core */
	size_t			 max_head;	/* bytes */
	size_t			 max_body;	/* bytes */
	uint64_t		 header_timeout_ns;	/* head must complete */
	uint64_t		 body_timeout_ns;	/* a body, after its head;
							   0: none (only
							   header_timeout
							   between reads) */
	size_t			 body_min_rate;		/* bytes/s that extend it */
	uint64_t		 idle_timeout_ns;	/* keep-alive idle */
	size_t			 output_budget;	/* unsent output of all
						   connections, bytes; 0:
						   256 MiB or a quarter of
						   the memory if less */
	char			*port_file;	/* bound port written here */

	char			**rules;	/* rule files, in order */
	size_t			 nrules;
	uint64_t		 seed;		/* chaos seed */
	int			 has_seed;	/* seed given (else the rule
						   file's, else 0) */
	char			*chaos_log;	/* chaos log file, NULL: none */

	char			*admin;		/* admin API address, NULL: none */
	char			*admin_token;	/* bearer token, NULL: none */
	char			*admin_port_file;

	int			 tls;		/* serve HTTPS (leaves minted
						   by the CA in ca_dir) */
	char			*ca_dir;	/* NULL: ca_default_dir() */
	int			 http2;		/* serve HTTP/2 too (ALPN h2,
						   prior knowledge, h2c);
						   1 by default */

	int			 transparent;	/* connections come redirected
						   (iptables REDIRECT): the
						   original destination picks
						   the dependency when the
						   request does not name a
						   recorded host */
	int			 summary_quiet;	/* the caller prints the
						   shutdown summary (--json) */
	char			**pass_allow;	/* --passthrough-allow: HOST or
						   HOST:PORT, comma lists;
						   none: the recorded hosts */
	size_t			 npass_allow;
	char			*record_misses;	/* passed-through exchanges
						   appended here, NULL: no */
	char			*pass_ca;	/* https upstreams verified
						   against it, NULL: the
						   system CAs */
};

/* Fills the defaults: 404, one worker per core, 16 KiB heads, 8 MiB
 * bodies, 10 s header timeout, 30 s body timeout plus a second per KiB
 * received, 60 s idle timeout. */
void	respond_config_init(struct respond_config *);
void	respond_config_free(struct respond_config *);
void	respond_config_add_listen(struct respond_config *, const char *);
void	respond_config_add_rules(struct respond_config *, const char *);

struct responder;

/*
 * Loads the transforms file if any and the snapshot (its dir "out"
 * transactions), builds the index and binds the listeners.  A snapshot
 * with no dir "out" transaction with a response is an error unless
 * allow_empty ("FILE: no dir "out" transaction with a response (...)",
 * saying what it holds).  Returns NULL
 * with *cause ("FILE:LINE:COL: ..." for a bad snapshot or transforms
 * file) on failure.
 */
struct responder	*respond_create(const struct respond_config *,
			    char **cause);
/*
 * Checks a configuration without serving: the listen addresses parse,
 * the transforms file loads (keys included) and the snapshot loads and
 * indexes.  0, or -1 with *cause.
 */
int			 respond_check(const struct respond_config *,
			    char **cause);
/* The port the n-th listen address is bound to (useful with port 0). */
int			 respond_port(const struct responder *, size_t n);
/* Number of recorded transactions served. */
size_t			 respond_count(const struct responder *);
/*
 * Runs the workers until SIGTERM or SIGINT, then drains: stops accepting,
 * lets in-flight responses finish (bounded) and returns 0.
 */
int			 respond_run(struct responder *);
void			 respond_free(struct responder *);
/*
 * Serves xc (a transport, conn.h; TLS is added with --tls) on the first
 * worker, as if it had been accepted from peer.  For tests over the mem
 * transport, without respond_run: the caller drives the connection with
 * hconn_io (httpd.h) from its own thread.  NULL if refused.
 */
struct conn;
struct hconn;
struct hconn		*respond_adopt(struct responder *, struct conn *xc,
			    const char *peer);

/* --- live control (the admin API); all thread-safe ------------------- */

#define RESPOND_NBUCKETS	16

/* Upper bounds in seconds of the service-time histogram's buckets (the
 * last is +Inf). */
extern const double	respond_latency_bounds[RESPOND_NBUCKETS];

struct respond_stats {
	uint64_t	requests;
	uint64_t	matched;
	uint64_t	closest;
	uint64_t	unmatched;
	uint64_t	rejected;	/* malformed or refused requests */
	uint64_t	faulted;	/* transactions a rule fired on */
	uint64_t	connections;	/* accepted so far */
	uint64_t	open;		/* open now */
	uint64_t	accept_errors;	/* accept(2) failures (EMFILE...):
					   each paused a listener */
	uint64_t	output_queued;	/* unsent output held now, bytes */
	uint64_t	output_budget;	/* the budget it is held to */
	uint64_t	output_throttled; /* times a connection was held
					   back by the budget */
	uint64_t	head_timeouts;	/* 408: head not complete in time */
	uint64_t	body_timeouts;	/* 408: body not complete in time */
	/* Time from a complete request to the start of its response,
	 * injected latency included: cumulative-free bucket counts. */
	uint64_t	buckets[RESPOND_NBUCKETS];
	double		latency_sum;	/* seconds */
	uint64_t	uptime_ns;
};

/* Sums the workers' counters (a consistent-enough view, not a snapshot). */
void	respond_stats(struct responder *, struct respond_stats *);

/*
 * Match rate per endpoint: requests by method and route (the path with
 * each segment that holds a digit as a parameter, transform_route()),
 * answered with their recorded transaction (matched), with the closest
 * one (closest) or with a 404 (unmatched); rejected requests are not
 * counted.  Each worker counts a bounded number of endpoints; the rest
 * are summed in a row whose method and route are "*".
 */
struct respond_endpoint {
	char		*method;
	char		*route;
	uint64_t	 matched;
	uint64_t	 closest;
	uint64_t	 unmatched;
};

/*
 * Sums the workers' counters into *out (allocated, sorted by method then
 * route, "*" last), returns the number of rows; free with
 * respond_endpoints_free().  Thread-safe.
 */
size_t	respond_endpoints(struct responder *, struct respond_endpoint **out);
void	respond_endpoints_free(struct respond_endpoint *, size_t);
struct chaos_log *respond_chaos(struct responder *);
uint64_t respond_seed(const struct responder *);
size_t	respond_workers(const struct responder *);

/*
 * Runs fn on the current rule set under the edit lock; fn returns a new
 * set (which is published atomically; the old one is freed once no worker
 * and no queued reply uses it) or NULL with *cause, in
 * which case nothing changes.  Returns 0 or -1.  fn may also just read the
 * set and return NULL with *cause NULL: then 0 is returned.
 */
typedef struct rule_set *(*respond_rules_cb)(const struct rule_set *,
	    void *arg, char **cause);
int	respond_rules_edit(struct responder *, respond_rules_cb, void *arg,
	    char **cause);

/*
 * Reloads the rule files, the transforms file and the snapshot (SIGHUP):
 * all are loaded first and published together only if all load;
 * otherwise the running configuration stays and -1 is returned with
 * *cause.  Connections are not
 * dropped; replies already queued finish from the old snapshot.
 */
int	respond_reload(struct responder *, char **cause);

#endif
