/*
 * test-record-writer.c -- unit tests for the recorder's snapshot writer
 * (record-writer.c): lines reach the file whole under each fsync policy,
 * the sync thread starts only when a policy needs it, stops on close
 * after a last flush, and an unwritable path fails with a cause.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "record-writer.h"
#include "snap.h"
#include "xmalloc.h"

#include "unit.h"

static char	tmpdir[] = "/tmp/test-record-writer.XXXXXX";

static char *
slurp(const char *path)
{
	FILE	*f;
	char	*p;
	long	 n;

	if ((f = fopen(path, "rb")) == NULL)
		return xstrdup("(missing)");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	p = xmalloc((size_t)n + 1);
	p[fread(p, 1, (size_t)n, f)] = '\0';
	fclose(f);
	return p;
}

static void
test_policy(enum record_fsync policy, int started)
{
	struct record_writer	 w;
	char			*path, *got, *cause = NULL;
	const char		*lines = "{\"v\":1}\n{\"v\":1,\"id\":\"t-2\"}\n";
	int			 err = -1;
	int			 i;

	path = xasprintf("%s/s-%d.jsonl", tmpdir, (int)policy);
	ASSERT_EQ(record_writer_open(&w, path, 0, policy, &cause), 0);
	record_writer_start(&w);
	ASSERT_EQ(w.started, started);
	record_writer_start(&w);	/* a second start: nothing */
	ASSERT_EQ(snap_out_write(&w.out, lines, strlen(lines), &err),
	    strlen(lines));
	ASSERT_EQ(err, 0);
	for (i = 0; i < 100; i++)
		record_writer_sync(&w);
	ASSERT_EQ(record_writer_close(&w), 0);
	ASSERT_EQ(w.started, 0);
	ASSERT_EQ(w.sync_errors, 0);
	got = slurp(path);
	ASSERT_STR_EQ(got, lines);
	free(got);

	/* Append keeps what is there. */
	ASSERT_EQ(record_writer_open(&w, path, 1, policy, &cause), 0);
	record_writer_start(&w);
	ASSERT_EQ(snap_out_write(&w.out, "{}\n", 3, &err), 3);
	record_writer_sync(&w);
	ASSERT_EQ(record_writer_close(&w), 0);
	got = slurp(path);
	ASSERT(strlen(got) == strlen(lines) + 3);
	ASSERT(strcmp(got + strlen(lines), "{}\n") == 0);
	free(got);
	unlink(path);
	free(path);
}

static void
test_open_fails(void)
{
	struct record_writer	 w;
	char			*path, *cause = NULL;

	path = xasprintf("%s/no/such/dir.jsonl", tmpdir);
	ASSERT_EQ(record_writer_open(&w, path, 0, RECORD_FSYNC_TXN, &cause),
	    -1);
	ASSERT(cause != NULL && strstr(cause, "no/such/dir.jsonl") != NULL);
	free(cause);
	free(path);
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	test_policy(RECORD_FSYNC_NEVER, 0);
	test_policy(RECORD_FSYNC_TXN, 1);
	test_policy(RECORD_FSYNC_1S, 1);
	test_open_fails();
	rmdir(tmpdir);
	UNIT_DONE();
}
