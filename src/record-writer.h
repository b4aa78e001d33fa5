/*
 * record-writer.h -- the recorder's snapshot writer: the snapshot file
 * (snap_out: whole lines with write(2), never a torn line) and the helper
 * thread that runs fdatasync(2) off the event loop, after each write
 * (fsync txn) or once a second (fsync 1s, the caller's timer).
 *
 * The loop writes with snap_out_write(&w->out, ...) and then asks for a
 * sync with record_writer_sync(); the thread coalesces requests and logs
 * its failures (once per interval, with a count).
 */
#ifndef DECOY_RECORD_WRITER_H
#define DECOY_RECORD_WRITER_H

#include <pthread.h>
#include <stdint.h>

#include "log.h"
#include "record.h"
#include "snap.h"

/* Caller storage; the members but out and policy are the thread's. */
struct record_writer {
	struct snap_out		 out;
	enum record_fsync	 policy;
	pthread_t		 thread;
	int			 started;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	int			 dirty;
	int			 stop;
	/* The sync thread's, under mtx; read them after close. */
	uint64_t		 sync_errors;
	int			 sync_errno;
	struct log_every	 sync_log;
};

/* Opens path (snap_out_open: "-" is stdout; append or truncate).  0, or
 * -1 with *cause. */
int	record_writer_open(struct record_writer *, const char *path,
	    int append, enum record_fsync policy, char **cause);
/*
 * Starts the sync thread unless the policy is never (or it runs).  Call
 * it after dropping privileges: a thread keeps the capabilities it was
 * created with.  Exits (fatalx) if the thread cannot start.
 */
void	record_writer_start(struct record_writer *);
/* Asks the thread for an fdatasync(2); returns at once. */
void	record_writer_sync(struct record_writer *);
/* Stops the sync thread (after a last flush) and closes the file; 0, or
 * -1 when close(2) reports an error (logged). */
int	record_writer_close(struct record_writer *);

#endif
