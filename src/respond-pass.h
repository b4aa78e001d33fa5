/*
 * respond-pass.h -- passthrough for the responder (`--unmatched
 * passthrough`): an unmatched request is forwarded to the real dependency
 * on the worker's loop (a non-blocking httpc exchange, nothing blocks but
 * the first resolution of a host name), and the dependency's answer is the
 * reply (plain HTTP, or HTTPS verified against --passthrough-ca or the
 * system CAs); `--record-misses FILE` appends each exchange to a
 * snapshot.
 *
 * Only allowed hosts are forwarded to (never an open proxy): those of
 * --passthrough-allow, else the hosts the snapshot records.  One struct
 * respond_pass is shared by the workers: its target cache and its writer
 * are under locks; an exchange belongs to one worker's loop.
 */
#ifndef DECOY_RESPOND_PASS_H
#define DECOY_RESPOND_PASS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "http.h"

struct loop;
struct respond_pass;
struct respond_pass_x;

/*
 * Called once when an exchange ends: head is the reply's status line and
 * headers (each line ending in CRLF, no blank line, framing headers
 * replaced by Content-Length), body its body; the callee takes both bufs.
 * A failure (not allowed, connect, timeout, a bad answer) comes as a 502
 * whose body names the cause.  The exchange is freed after the call.
 */
typedef void (*respond_pass_cb)(void *arg, struct buf *head,
    struct buf *body);

/*
 * A passthrough: allow[0..nallow) are HOST or HOST:PORT (case-insensitive;
 * no port: any port; an item may be a comma-separated list), empty: the
 * hosts the snapshot records (the caller says, see respond_pass_allowed);
 * misses, if not NULL, is the snapshot the exchanges are appended to
 * (created mode 0600); https upstreams are verified against ca (a PEM
 * file or a hashed directory; NULL: the system CAs); timeout_ns bounds
 * each exchange (0: 30 s).  NULL with *cause if misses cannot be opened.
 */
struct respond_pass *respond_pass_create(char *const *allow, size_t nallow,
	    const char *misses, const char *ca, uint64_t timeout_ns,
	    char **cause);
void	respond_pass_free(struct respond_pass *);

/* 1 if host (an authority as the request gives it) may be forwarded to:
 * it is in the allow list, or the list is empty and recorded is set. */
int	respond_pass_allowed(const struct respond_pass *, struct span host,
	    int recorded);

/*
 * Forwards request m (body decoded, body_len bytes) on loop to dest (an
 * authority "HOST[:PORT]"; NULL: m's absolute-form authority, else its
 * Host header), over TLS (verified, SNI) if tls, and calls done(arg, ...)
 * from the loop when it ends, or at once (before returning NULL) when it
 * cannot start.  The returned exchange is the caller's to cancel until
 * done is called.
 */
struct respond_pass_x *respond_pass_start(struct respond_pass *,
	    struct loop *, const struct http_msg *m, const char *body,
	    size_t body_len, const char *dest, int tls, respond_pass_cb done,
	    void *arg);
/* Ends an exchange without calling its callback (the client left). */
void	respond_pass_cancel(struct respond_pass_x *);

/* The 502 reply naming cause, as head and body (for done callbacks). */
void	respond_pass_error(struct buf *head, struct buf *body,
	    const char *cause);

#endif
