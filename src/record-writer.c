/*
 * record-writer.c -- the recorder's snapshot writer (record-writer.h):
 * the snapshot file and the thread that syncs it off the event loop.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "record-writer.h"
#include "snap.h"

/* Sync failures are logged once per interval, with a count. */
#define RECORD_WRITER_LOG_NS	(5ULL * 1000000000ULL)

static void *
record_writer_main(void *arg)
{
	struct record_writer	*w = arg;
	uint64_t		 n;
	int			 e;

	pthread_mutex_lock(&w->mtx);
	for (;;) {
		while (!w->dirty && !w->stop)
			pthread_cond_wait(&w->cond, &w->mtx);
		if (!w->dirty && w->stop)
			break;
		w->dirty = 0;
		pthread_mutex_unlock(&w->mtx);
		/* EINVAL: stdout is a pipe or a terminal. */
		e = fdatasync(w->out.fd) == -1 && errno != EINVAL ? errno : 0;
		pthread_mutex_lock(&w->mtx);
		if (e != 0) {
			w->sync_errors++;
			w->sync_errno = e;
			if ((n = log_every_count(&w->sync_log, 1,
			    loop_clock_ns(), RECORD_WRITER_LOG_NS)) > 0)
				log_error("snapshot %s: fdatasync: %s (%llu "
				    "time%s since the last report): what was "
				    "written may not be on disk", w->out.name,
				    strerror(e), (unsigned long long)n,
				    n == 1 ? "" : "s");
		}
	}
	pthread_mutex_unlock(&w->mtx);
	return NULL;
}

int
record_writer_open(struct record_writer *w, const char *path, int append,
    enum record_fsync policy, char **cause)
{
	memset(w, 0, sizeof *w);
	w->policy = policy;
	if (snap_out_open(&w->out, path, append, cause) == -1)
		return -1;
	pthread_mutex_init(&w->mtx, NULL);
	pthread_cond_init(&w->cond, NULL);
	return 0;
}

/* The sync thread starts with record_run(), after the caller dropped its
 * privileges: a thread keeps the capabilities it was created with. */
void
record_writer_start(struct record_writer *w)
{
	if (w->policy == RECORD_FSYNC_NEVER || w->started)
		return;
	if (pthread_create(&w->thread, NULL, record_writer_main, w) != 0)
		fatalx("cannot start the snapshot sync thread");
	w->started = 1;
}

void
record_writer_sync(struct record_writer *w)
{
	if (!w->started)
		return;
	pthread_mutex_lock(&w->mtx);
	w->dirty = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->mtx);
}

int
record_writer_close(struct record_writer *w)
{
	char	*cause = NULL;
	int	 rv = 0;

	if (w->started) {
		pthread_mutex_lock(&w->mtx);
		w->dirty = 1;
		w->stop = 1;
		pthread_cond_signal(&w->cond);
		pthread_mutex_unlock(&w->mtx);
		pthread_join(w->thread, NULL);
	}
	w->started = 0;
	if (snap_out_close(&w->out, &cause) == -1) {
		log_error("snapshot %s", cause);
		free(cause);
		rv = -1;
	}
	pthread_mutex_destroy(&w->mtx);
	pthread_cond_destroy(&w->cond);
	return rv;
}
