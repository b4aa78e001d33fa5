/*
 * prom.h -- Prometheus metrics: the text exposition format (families,
 * counters and escaped label values, the build-info and process start
 * time every decoy endpoint carries) and a small /metrics server on an
 * event loop (httpd.h) for the roles without an admin API, the recorder
 * and the tap.
 */
#ifndef DECOY_PROM_H
#define DECOY_PROM_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct conn;
struct hconn;
struct loop;

/* Appends a label value: backslash, quote and newline escaped. */
void	prom_label(struct buf *, const char *);
/* Appends the "# HELP" and "# TYPE" lines of a family. */
void	prom_family(struct buf *, const char *name, const char *type,
	    const char *help);
/* A family with one sample without labels: name v. */
void	prom_counter(struct buf *, const char *name, const char *type,
	    const char *help, uint64_t v);
/* decoy_build_info{version=...} 1 and process_start_time_seconds (now
 * less uptime_s). */
void	prom_process(struct buf *, double uptime_s);

/* A family of one sample each: a name ending in _total is a counter,
 * any other a gauge. */
struct prom_row {
	const char	*name;
	const char	*help;
	uint64_t	 v;
};
void	prom_rows(struct buf *, const struct prom_row *, size_t n);
/* A counter family of responses by status label, from counts of the
 * statuses 100..599 (counts[s - 100]); statuses never seen are left out. */
#define PROM_NSTATUS	500
void	prom_status_counts(struct buf *, const char *name,
	    const uint64_t *counts);
/* decoy_uptime_seconds, then prom_process. */
void	prom_uptime(struct buf *, double uptime_s);

/* Appends the whole exposition text to b; arg is the one given to
 * prom_server_create.  Called on the loop's thread. */
typedef void (*prom_fill_cb)(struct buf *b, void *arg);

struct prom_server;

/*
 * Binds addr ("HOST:PORT"; port 0 picks one) and serves GET (and HEAD)
 * /metrics on loop with fill's text; any other path is 404, any other
 * method 405.  A bad peer costs its own connection.  NULL with *cause.
 */
struct prom_server *prom_server_create(struct loop *, const char *addr,
		    prom_fill_cb fill, void *arg, char **cause);
/* The bound port. */
int		 prom_server_port(const struct prom_server *);
/* Serves xc (mem transport, tests) as a connection from peer; NULL if
 * refused.  The caller drives it with hconn_io (httpd.h). */
struct hconn	*prom_server_adopt(struct prom_server *, struct conn *xc,
		    const char *peer);
/* Closes the listener and every connection; takes NULL. */
void		 prom_server_free(struct prom_server *);

#endif
