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
int		 admin_port(const struct admin *);
/* Stops the thread, closes every admin connection and frees. */
void		 admin_stop(struct admin *);

#endif
