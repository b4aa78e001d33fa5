/*
 * tap.h -- passive capture from an NFQUEUE (`decoy record --nfqueue N`,
 * or N:M for the queues of an iptables --queue-balance N:M rule, one
 * capture thread each): every packet the user's iptables rules queue is
 * copied and accepted at once (one batch verdict per receive, never
 * waiting for the parser), then parsed in the main thread: TCP reassembly per flow
 * (tcpflow.h), HTTP/1.1 in both directions paired first in, first out
 * (httpflow.h), each transaction appended to the snapshot as one line
 * (O_APPEND; the lines a parsed batch of packets completes go out whole
 * in one write(2) right after it, so a reader never sees half a line).  Timing: start_us is the
 * request's first packet, ttfb_us the response's first packet, total_us
 * its last.  A transaction with missing bytes carries "gap":true; one
 * whose response was not seen carries "error":"no response captured".
 * Timestamps are taken when a batch is received, not when it is parsed.
 *
 * After binding the queues the process keeps only CAP_NET_ADMIN.
 */
#ifndef DECOY_TAP_H
#define DECOY_TAP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "snap.h"
#include "tcpflow.h"

struct priv_user;

#define TAP_MAX_QUEUES	64
/*
 * A capture thread that finds its queue empty polls it for this long
 * (yielding the CPU between polls) before it sleeps: at high packet rates
 * it then takes packets without being woken, which costs the traffic and
 * the machine less than a wake-up per batch; at low rates it costs at most
 * this much CPU time per burst.
 */
#define TAP_BUSY_POLL_NS	(10ULL * 1000)

struct tap_config {
	unsigned int	 queue;		/* the first queue */
	unsigned int	 nqueues;	/* queue..queue+nqueues-1 (0: 1) */
	char		*output;	/* snapshot path, "-" for stdout */
	int		 append;
	enum snap_dir	 dir;
	uint16_t	*ports;		/* server ports recorded; none: all */
	size_t		 nports;
	char		*stats_path;	/* JSON counters at exit, or NULL */
	char		*ready_path;	/* written once the queue is bound */
	/* Prometheus /metrics address and its port file, or NULL;
	 * borrowed (read by tap_create only). */
	const char	*metrics;
	const char	*metrics_port_file;
	uint64_t	 idle_ns;	/* flow idle timeout (default 60 s) */
	size_t		 max_body;	/* 0: 64 MiB */
	uint64_t	 max_txns;	/* stop after this many (0: never) */
	uint64_t	 busy_poll_ns;	/* poll this long before sleeping
					   (TAP_BUSY_POLL_NS; 0: off) */
	const struct priv_user *user;	/* become it after binding, or
					   NULL; borrowed, outlives the tap */
	struct funnel	*funnel;	/* borrowed; NULL: keep all */
	int		 funnel_set;	/* options given: summary line */
};

void	tap_config_init(struct tap_config *);

/*
 * The tap's snapshot lines, also used by bench/flowparse: the transaction
 * counter (ids t-000001...), the clocks (realtime rt0_ns was mono0_ns on
 * the monotonic clock of the packet times), the direction recorded and a
 * cache of the timestamp's date, formatted once per second.
 */
struct tap_lines {
	uint64_t	 rt0_ns, mono0_ns;
	uint64_t	 txns;
	enum snap_dir	 dir;
	time_t		 iso_sec;
	char		 iso_prefix[80];
	char		 id_prefix[16];	/* snap_ids_run_prefix; "": "t-" */
};

struct buf;
struct httpflow_txn;
/* Appends tx to out as one snapshot line (client and server "addr:port")
 * and frees tx. */
void	tap_lines_encode(struct tap_lines *, struct buf *out,
	    struct httpflow_txn *tx, char *client, char *server);
struct funnel;
/*
 * The capture funnel's decision on tx (funnel.h), with the start and
 * server tap_lines_encode() would write: 0 when it is kept (encode it),
 * 1 when it is dropped -- counted in the funnel, tx freed, its id not
 * reused.  fn NULL: 0.
 */
int	tap_lines_funnel(struct tap_lines *, struct funnel *fn,
	    struct httpflow_txn *tx, char *server);

/*
 * The HTTP side of a captured TCP flow, for the tap and the capture
 * import: the flow's httpflow first (httpflow_tcp_* find it in f->user),
 * the owner given to tap_flow_open, and the endpoints as snapshot lines
 * name them ("addr:port", "[addr]:port").
 */
struct tap_flow {
	struct httpflow	*hf;
	void		*owner;
	char		 client[64];
	char		 server[64];
};
struct httpflow_ops;
struct httpflow_stats;
/* Makes f->user a tap_flow of owner whose httpflow reports to ops (with
 * the tap_flow as argument), counts in st and gives the flow up beyond
 * max_body. */
void	tap_flow_open(struct tcpflow *f, const struct httpflow_ops *ops,
	    void *owner, struct httpflow_stats *st, size_t max_body);
/* Frees f's tap_flow, if it has one: a tcpflow_ops close (why and arg
 * unused). */
void	tap_flow_close(struct tcpflow *f, enum tcpflow_end why, void *arg);

void	tap_config_free(struct tap_config *);
void	tap_config_add_port(struct tap_config *, uint16_t);

struct tap;

/* Opens the snapshot, binds the queue, drops every capability but
 * CAP_NET_ADMIN (becoming cfg->user, if set), before any thread starts.
 * NULL with *cause on failure (the caller exits 2). */
struct tap	*tap_create(const struct tap_config *, char **cause);
/* Captures until SIGINT or SIGTERM; 0, or -1 if the loop or the queue
 * failed.  Prints the counters (stderr, and the stats file). */
int		 tap_run(struct tap *);
void		 tap_free(struct tap *);

#endif
