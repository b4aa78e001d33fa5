/*
 * admin.h -- the admin API: a small HTTP/1.1 server on its own thread for
 * live control of a running responder (decoyd(8) lists the endpoints).
 *
 * It listens on 127.0.0.1 unless told otherwise; bound to any other
 * address it requires a bearer token (Authorization: Bearer TOKEN) and
 * refuses to start without one.
 */
#ifndef DECOY_ADMIN_H
#define DECOY_ADMIN_H

#include "respond.h"

struct admin;

/*
 * Binds addr ("HOST:PORT", port 0 picks one; the port is written to
 * port_file if not NULL) and serves from a new thread.  token may be NULL
 * only for a loopback address.  NULL with *cause on failure.
 */
struct admin	*admin_start(struct responder *, const char *addr,
		    const char *token, const char *port_file, char **cause);
/*
 * admin_start in two steps, so that privileges can be dropped between
 * them (priv.h): admin_create binds and writes the port file, no thread
 * yet; admin_serve starts the thread (0, or -1 with *cause: then
 * admin_stop it).  admin_stop takes an admin that was never served.
 */
struct admin	*admin_create(struct responder *, const char *addr,
		    const char *token, const char *port_file, char **cause);
int		 admin_serve(struct admin *, char **cause);
int		 admin_port(const struct admin *);
/*
 * What admin_start checks before it binds: addr parses, a token given is
 * not empty, and an address other than loopback has a token.  The check
 * modes (decoyd -n) call it so they refuse what the start refuses.  0, or
 * -1 with *cause.
 */
int		 admin_check(const char *addr, const char *token, char **cause);
/*
 * Reads a bearer token from path (its bytes, one trailing newline
 * removed; empty, or holding a control character, is an error), so that
 * the token need not appear on a command line (ps shows those).  Warns
 * when the file is readable by group or others.  Returns the token
 * (caller frees) or NULL with *cause naming the path, never the token.
 */
char		*admin_token_load(const char *path, char **cause);
/*
 * Serves xc (a transport, conn.h) as an admin connection from peer.  For
 * tests over the mem transport, on an admin that was created but not
 * served: the caller drives it with hconn_io (httpd.h).  NULL if
 * refused.
 */
struct conn;
struct hconn;
struct hconn	*admin_adopt(struct admin *, struct conn *xc, const char *peer);
/*
 * Appends the counters GET /stats answers (one JSON object and a newline:
 * requests, matched..., faults, endpoints) to b; thread-safe, like /stats.
 * decoy respond --json prints it at shutdown.
 */
struct buf;
void		 admin_stats_json(struct responder *, struct buf *b);
/* Stops the thread, closes every admin connection and frees. */
void		 admin_stop(struct admin *);

#endif
