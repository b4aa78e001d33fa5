/*
 * respond.h -- the responder: serves the outbound half of a snapshot.
 *
 * One worker thread per core, each with its own epoll loop and its own
 * SO_REUSEPORT listening socket per address; the match index is shared
 * read-only.  Each request is matched to a recorded transaction and
 * answered with its pre-serialised response in one writev.  Keep-alive and
 * pipelining are supported; a malformed or smuggling-shaped request gets a
 * 400 (431 for an oversized head, 413 for an oversized body, 501 for an
 * unsupported transfer coding, 408 for a head that does not complete in
 * time) and the connection is closed, with a log line.  A bad peer never
 * costs more than its own connection.
 */
#ifndef DECOY_RESPOND_H
#define DECOY_RESPOND_H

#include <stddef.h>
#include <stdint.h>

#include "match.h"

struct respond_config {
	char			*snapshot;	/* path, "-" for stdin */
	char			**listen;	/* "HOST:PORT" addresses */
	size_t			 nlisten;
	enum match_unmatched	 unmatched;
	int			 workers;	/* 0: one per online core */
	size_t			 max_head;	/* bytes */
	size_t			 max_body;	/* bytes */
	uint64_t		 header_timeout_ns;	/* head must complete */
	uint64_t		 idle_timeout_ns;	/* keep-alive idle */
	char			*port_file;	/* bound port written here */
};

/* Fills the defaults: 404, one worker per core, 16 KiB heads, 8 MiB
 * bodies, 10 s header timeout, 60 s idle timeout. */
void	respond_config_init(struct respond_config *);
void	respond_config_free(struct respond_config *);
void	respond_config_add_listen(struct respond_config *, const char *);

struct responder;

/*
 * Loads the snapshot (its dir "out" transactions), builds the index and
 * binds the listeners.  Returns NULL with *cause ("FILE:LINE:COL: ..." for
 * a bad snapshot) on failure.
 */
struct responder	*respond_create(const struct respond_config *,
			    char **cause);
/*
 * Checks a configuration without serving: the listen addresses parse and
 * the snapshot loads and indexes.  0, or -1 with *cause.
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

#endif
