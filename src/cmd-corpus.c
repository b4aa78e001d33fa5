/*
 * cmd-corpus.c -- `decoy corpus SNAP -o DIR`: turn the captured requests
 * into the service under test (dir "in") into a fuzzing corpus.
 *
 * Each distinct request (de-duplicated by the responder's signature:
 * method, host, path, normalised query, body digest; match.h) becomes one
 * raw HTTP/1.1 request file NNNNNN-<slug>.http: the request line in
 * origin-form, the recorded headers in order without the hop-by-hop and
 * framing ones, one Host header (the recorded host), Content-Length from
 * the stored body, CRLF, the body.  index.jsonl lists the files, one JSON
 * object a line: file, signature, method, target, host, the first
 * transaction's id and snapshot line, and how many recorded requests had
 * that signature.  `decoy fuzz` (mutate.h) reads the .http files.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "gen-transform.h"
#include "log.h"
#include "http.h"
#include "json.h"
#include "match.h"
#include "opt.h"
#include "snap.h"
#include "xmalloc.h"

static int	cmd_corpus_exec(int, char **);

struct cmd_corpus_o {
	const char	*dir;
	int		 json;
	int		 log_level;
	const char	*proto_set;
};

static const struct opt cmd_corpus_opts[] = {
	{ "output", 'o', OPT_PATH, "DIR", "corpus directory (created; must "
	  "not hold\n.http files yet): one NNNNNN-slug.http raw\nrequest "
	  "per distinct signature, and\nindex.jsonl",
	  OPT_AT(struct cmd_corpus_o, dir) },
	{ "json", 0, OPT_FLAG, NULL, "print the summary as one JSON object "
	  "on\nstdout", OPT_AT(struct cmd_corpus_o, json) },
	CLI_OPT_PROTO_SET(struct cmd_corpus_o, proto_set),
	CLI_OPTS_LOG(struct cmd_corpus_o),
	OPT_END_ROW,
};

const struct cmd_entry cmd_corpus_entry = {
	.name = "corpus",
	.args = "SNAP -o DIR [--json]",
	.summary = "extract the captured requests of a snapshot into a fuzzing "
	    "corpus",
	.intro =
	    "  SNAP                      snapshot file, - for stdin; its dir:in\n"
	    "                            transactions are used\n",
	.opts = cmd_corpus_opts,
	.exec = cmd_corpus_exec,
};

struct corpus_entry {
	uint64_t	 sig;
	char		*file;
	char		*method;
	char		*target;
	char		*host;
	char		*txn;
	size_t		 line;
	size_t		 count;
};

/* The host of a request: recorded host, Host header, authority. */
static const char *
corpus_host(const struct snap_txn *t)
{
	const char	*p;
	size_t		 i;

	if (t->req.host != NULL && *t->req.host != '\0')
		return t->req.host;
	for (i = 0; i < t->req.nheaders; i++)
		if (strcasecmp(t->req.headers[i].name, "Host") == 0)
			return t->req.headers[i].value;
	if ((p = strstr(t->req.target, "://")) != NULL)
		return NULL;	/* the caller cuts it from the target */
	return "localhost";
}

/* Writes t's request as the generator sends it (gen-transform.h), with
 * the host corpus_host names, else the authority of the target. */
static void
corpus_build(const struct snap_txn *t, struct buf *b)
{
	const char	*host = corpus_host(t), *p, *end;
	char		*auth = NULL;

	if (host == NULL) {
		p = strstr(t->req.target, "://") + 3;
		end = strchr(p, '/');
		auth = end != NULL ? xstrndup(p, (size_t)(end - p)) :
		    xstrdup(p);
		host = auth;
	}
	gen_transform_write_request(b, &t->req, host, "");
	free(auth);
}

/* "get-items-42" from the method and the path (no query). */
static char *
corpus_slug(const char *method, const char *target)
{
	struct buf	b;
	const char	*p;
	int		dash = 0;

	buf_init(&b);
	for (p = method; *p != '\0' && b.len < 10; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
			buf_append_byte(&b, *p);
		else if (*p >= 'A' && *p <= 'Z')
			buf_append_byte(&b, (char)(*p - 'A' + 'a'));
	}
	for (p = gen_transform_origin_form(target); *p != '\0' && *p != '?' &&
	    b.len < 48; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    (*p >= 'A' && *p <= 'Z')) {
			if (dash)
				buf_append_byte(&b, '-');
			dash = 0;
			buf_append_byte(&b, (*p >= 'A' && *p <= 'Z') ?
			    (char)(*p - 'A' + 'a') : *p);
		} else
			dash = 1;
	}
	if (b.len == 0)
		buf_append_str(&b, "request");
	return buf_detach(&b, NULL);
}

/* Creates dir if needed; -1 if it cannot, or if it holds .http files. */
static int
corpus_prepare_dir(const char *dir, char **cause)
{
	DIR		*d;
	struct dirent	*de;
	size_t		 n;

	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		*cause = xasprintf("%s: %s", dir, strerror(errno));
		return -1;
	}
	if ((d = opendir(dir)) == NULL) {
		*cause = xasprintf("%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n > 5 && strcmp(de->d_name + n - 5, ".http") == 0) {
			*cause = xasprintf("%s: already holds .http files (%s); "
			    "give an empty or new directory", dir, de->d_name);
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return 0;
}

static void
corpus_entries_free(struct corpus_entry *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(v[i].file);
		free(v[i].method);
		free(v[i].target);
		free(v[i].host);
		free(v[i].txn);
	}
	free(v);
}

/* Writes DIR/index.jsonl, one line per entry, built in idx.  0, or -1
 * with *cause. */
static int
corpus_write_index(const char *dir, const struct corpus_entry *v, size_t n,
    struct buf *idx, char **cause)
{
	char	*path;
	size_t	 i;
	int	 rc;

	for (i = 0; i < n; i++) {
		buf_printf(idx, "{\"file\":");
		json_append_string(idx, v[i].file, strlen(v[i].file));
		buf_printf(idx, ",\"signature\":\"%016" PRIx64 "\",\"method\":",
		    v[i].sig);
		json_append_string(idx, v[i].method, strlen(v[i].method));
		buf_append_str(idx, ",\"target\":");
		json_append_string(idx, v[i].target, strlen(v[i].target));
		buf_append_str(idx, ",\"host\":");
		if (v[i].host != NULL)
			json_append_string(idx, v[i].host, strlen(v[i].host));
		else
			buf_append_str(idx, "null");
		buf_append_str(idx, ",\"txn\":");
		if (v[i].txn != NULL)
			json_append_string(idx, v[i].txn, strlen(v[i].txn));
		else
			buf_append_str(idx, "null");
		buf_printf(idx, ",\"line\":%zu,\"count\":%zu}\n", v[i].line,
		    v[i].count);
	}
	path = xasprintf("%s/index.jsonl", dir);
	rc = buf_write_file(path, idx->data, idx->len, 0644, cause);
	free(path);
	return rc;
}

static int
cmd_corpus_exec(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_corpus_entry;
	struct snap_reader	*r = NULL;
	struct snap_txn		 t;
	struct corpus_entry	*v = NULL, *ce;
	struct buf		 req, idx;
	struct protodesc	*pset = NULL;
	const char		*snap, *dir = NULL, *host;
	char			*cause = NULL, *slug, *path;
	size_t			 n = 0, cap = 0, i, nin = 0;
	uint64_t		 sig;
	struct cmd_corpus_o	 o = { .log_level = LOG_LEVEL_INFO };
	int			 ind, rc, status = EXIT_USAGE, json;

	if (cli_parse(e, NULL, argc, argv, &o, 0, &ind, &status) == -1)
		return status;
	cli_log_init(e, o.log_level);
	dir = o.dir;
	json = o.json;
	status = EXIT_USAGE;
	if (argc - ind != 1)
		return cli_usage(e, argc - ind == 0 ? "no snapshot given" :
		    "one snapshot at a time");
	if (dir == NULL)
		return cli_usage(e, "no output directory (-o DIR)");
	snap = argv[ind];

	buf_init(&req);
	buf_init(&idx);
	if (cli_proto_set(o.proto_set, &pset, &cause) == -1 ||
	    (r = snap_reader_open(snap, &cause)) == NULL)
		goto fail;
	while ((rc = snap_reader_next(r, &t, &cause)) == 1) {
		if (t.dir != SNAP_DIR_IN || t.req.method == NULL ||
		    t.req.target == NULL || *t.req.target == '\0') {
			snap_txn_free(&t);
			continue;
		}
		nin++;
		sig = match_txn_signature(&t, 1);
		for (i = 0; i < n; i++)
			if (v[i].sig == sig)
				break;
		if (i < n) {
			v[i].count++;
			snap_txn_free(&t);
			continue;
		}
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			v = xreallocarray(v, cap, sizeof *v);
		}
		ce = &v[n++];
		memset(ce, 0, sizeof *ce);
		ce->sig = sig;
		ce->count = 1;
		ce->method = xstrdup(t.req.method);
		ce->target = xstrdup(t.req.target);
		host = corpus_host(&t);
		ce->host = host != NULL ? xstrdup(host) : NULL;
		ce->txn = t.id != NULL ? xstrdup(t.id) : NULL;
		ce->line = t.line;
		slug = corpus_slug(t.req.method, t.req.target);
		ce->file = xasprintf("%06zu-%s.http", n, slug);
		free(slug);
		buf_reset(&req);
		corpus_build(&t, &req);
		snap_txn_free(&t);
		if (n == 1 && corpus_prepare_dir(dir, &cause) == -1)
			goto fail;
		path = xasprintf("%s/%s", dir, ce->file);
		rc = buf_write_file(path, req.data, req.len, 0644, &cause);
		free(path);
		if (rc == -1)
			goto fail;
	}
	if (rc == -1)
		goto fail;
	if (n == 0) {
		cause = xasprintf("%s: no dir:in transactions (a corpus is made "
		    "of requests into the service: record with --dir in)",
		    snap);
		goto fail;
	}
	if (corpus_write_index(dir, v, n, &idx, &cause) == -1)
		goto fail;
	if (json) {
		buf_reset(&idx);
		buf_printf(&idx, "{\"requests\":%zu,\"distinct\":%zu,"
		    "\"files\":%zu,\"dir\":", nin, n, n);
		json_append_string(&idx, dir, strlen(dir));
		buf_append_str(&idx, "}\n");
		if (cli_put(&idx) == -1) {
			cause = xstrdup("writing output failed");
			goto fail;
		}
	} else
		fprintf(stderr, "%zu requests, %zu distinct: wrote %zu .http "
		    "files and index.jsonl to %s\n", nin, n, n, dir);
	status = EXIT_OK;
	goto out;

fail:
	cli_error(e, EXIT_USAGE, "%s", cause);
	free(cause);
out:
	if (r != NULL)
		snap_reader_close(r);
	cli_proto_set_free(pset);
	corpus_entries_free(v, n);
	buf_free(&req);
	buf_free(&idx);
	return status;
}
