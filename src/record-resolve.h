/*
 * record-resolve.h -- name resolution off the event loop, for the
 * recorder's forward proxy: getaddrinfo(3) runs in a detached thread per
 * lookup, the answer comes back through a pipe the loop watches, and the
 * callback runs on the loop's thread.  An IPv4 address is preferred, as
 * sock_parse_addr() does.
 */
#ifndef DECOY_RECORD_RESOLVE_H
#define DECOY_RECORD_RESOLVE_H

#include <stddef.h>

#include "loop.h"
#include "sock.h"

struct record_resolver;
struct record_lookup;

/*
 * The answer for name: err 0 and addr (port set), or err an EAI_* code
 * (gai_strerror) and addr NULL.  The lookup is freed after it returns.
 */
typedef void (*record_resolve_cb)(void *arg, const char *name, int err,
    const struct sock_addr *addr);

/* A resolver on loop (its pipe registered).  NULL with *cause. */
struct record_resolver	*record_resolver_create(struct loop *,
			    char **cause);
/*
 * Unregisters and closes the pipe.  A lookup still running then writes
 * into a closed pipe and leaks its job: call it when the process is
 * exiting, or once record_resolver_pending() is 0.
 */
void			 record_resolver_free(struct record_resolver *);
/* Lookups started whose answer has not been read yet. */
size_t			 record_resolver_pending(const struct record_resolver *);

/*
 * Starts resolving name (port goes into the answer's address).  Returns
 * the lookup, to cancel it, or NULL when no thread could start (nothing
 * will be called back).
 */
struct record_lookup	*record_resolve(struct record_resolver *,
			    const char *name, int port, record_resolve_cb cb,
			    void *arg);
/* The callback will not be called; the lookup is freed when its thread
 * answers.  NULL: nothing. */
void			 record_resolve_cancel(struct record_lookup *);

#endif
