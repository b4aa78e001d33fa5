/*
 * fuzz-findings.c -- the findings of the fuzz campaign (fuzz-int.h): a
 * confirmed failure becomes a record in the result and a directory
 * (NNN-KIND-ENDPOINT/ with finding.json, request.http minimised,
 * original.http and repro.sh); the result table (fuzz_result_print);
 * and `--replay`, which sends the findings' requests again
 * (fuzz_replay).
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fuzz-int.h"
#include "json.h"
#include "log.h"
#include "loop.h"
#include "mutate.h"
#include "xmalloc.h"

struct fuzz_expect {
	enum fuzz_kind	 kind;
	int		 status;
	char		*signature;
	char		*endpoint;
	int		 framing;
};

static char *
fuzz_slug(const char *s)
{
	struct buf	b;
	int		dash = 0;

	buf_init(&b);
	for (; *s != '\0' && b.len < 48; s++) {
		char c = *s;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
			if (dash && b.len > 0)
				buf_append_byte(&b, '-');
			dash = 0;
			buf_append_byte(&b, c);
		} else
			dash = 1;
	}
	if (b.len == 0)
		buf_append_str(&b, "request");
	return buf_detach(&b, NULL);
}

static void
fuzz_json_str(struct buf *b, const char *name, const char *s)
{
	buf_printf(b, ",\"%s\":", name);
	if (s == NULL)
		buf_append_str(b, "null");
	else
		json_append_string(b, s, strlen(s));
}

int
fuzz_write_json(const struct fuzz_config *cfg, const struct fuzz_finding *fd,
    char **cause)
{
	struct buf	 b;
	char		*path;
	int		 rv;

	buf_init(&b);
	buf_append_str(&b, "{\"id\":");
	json_append_string(&b, fd->dir, 3);
	fuzz_json_str(&b, "kind", fuzz_kind_name(fd->kind));
	fuzz_json_str(&b, "endpoint", fd->endpoint);
	if (fd->status != 0)
		buf_printf(&b, ",\"status\":%d", fd->status);
	else
		buf_append_str(&b, ",\"status\":null");
	fuzz_json_str(&b, "signature", fd->signature);
	buf_printf(&b, ",\"framing\":%s", fd->framing ? "true" : "false");
	fuzz_json_str(&b, "target", cfg->target);
	fuzz_json_str(&b, "protocol", cfg->http2 ? "h2" : "http/1.1");
	buf_printf(&b, ",\"seed\":%" PRIu64 ",\"mutant\":%" PRIu64
	    ",\"corpus_entry\":%zu", cfg->seed, fd->mutant, fd->parent);
	fuzz_json_str(&b, "op", fd->nops > 0 ? mut_op_name(fd->op) : NULL);
	if (fd->field >= 0)
		buf_printf(&b, ",\"field\":%d", (int)fd->field);
	else
		buf_append_str(&b, ",\"field\":null");
	fuzz_json_str(&b, "op_last", fd->nops > 0 ? mut_op_name(fd->last_op) :
	    NULL);
	buf_printf(&b, ",\"ops_stacked\":%u,\"elapsed_ms\":%.3f,\"hits\":%"
	    PRIu64 ",\"original_bytes\":%zu,\"minimised_bytes\":%zu,"
	    "\"minimise_attempts\":%u", fd->nops, (double)fd->elapsed_ns / 1e6,
	    fd->hits, fd->original_len, fd->minimised_len, fd->attempts);
	buf_printf(&b, ",\"found_after_s\":%.3f,\"sent_before\":%" PRIu64,
	    (double)fd->found_ns / 1e9, fd->sent_before);
	fuzz_json_str(&b, "sanitizer", fd->excerpt);
	buf_append_str(&b, ",\"response\":");
	if (fd->response != NULL)
		json_append_string(&b, fd->response, fd->response_len);
	else
		buf_append_str(&b, "null");
	buf_append_str(&b, "}\n");
	path = xasprintf("%s/%s/finding.json", cfg->findings, fd->dir);
	rv = buf_write_file(path, b.data, b.len, 0644, cause);
	free(path);
	buf_free(&b);
	return rv;
}

/* Appends s to b in single quotes, for sh. */
static void
fuzz_sh_quote(struct buf *b, const char *s)
{
	buf_append_str(b, "'");
	for (; *s != '\0'; s++) {
		if (*s == '\'')
			buf_append_str(b, "'\\''");
		else
			buf_append(b, s, 1);
	}
	buf_append_str(b, "'");
}

/* The CA argument of a repro.sh command (opt: "-CAfile", "--cacert"). */
static void
fuzz_repro_ca(const struct fuzz_config *cfg, struct buf *sh, const char *opt)
{
	char	*ca;

	if (cfg->ca_file == NULL)
		return;
	if ((ca = realpath(cfg->ca_file, NULL)) == NULL)
		ca = xstrdup(cfg->ca_file);
	buf_printf(sh, " %s ", opt);
	fuzz_sh_quote(sh, ca);
	free(ca);
}

/*
 * --http2: repro.sh sends the request with curl over h2 (prior knowledge
 * for http, ALPN for https), its method, target, headers (not the
 * hop-by-hop ones, nor curl's own it did not have) and request.body.
 */
static void
fuzz_repro_h2(struct fuzz *f, const char *req, size_t len, struct buf *sh,
    int wait)
{
	const struct fuzz_config	*cfg = f->cfg;
	struct httpc_h2_req		 r;
	struct http_msg			 m;
	const char			*why;
	char				*s;
	size_t				 i;
	int				 ua = 0, acc = 0, ct = 0;

	if (httpc_h2_req_from_http1(&r, &m, req, len, "http", "", &why) == -1) {
		buf_printf(sh, "echo 'request.http cannot go over h2: %s' >&2\n"
		    "exit 2\n", why);
		return;
	}
	buf_printf(sh, "curl -sS -i --max-time %d --path-as-is %s", wait,
	    f->target.tls != NULL ? "--http2" : "--http2-prior-knowledge");
	if (f->target.tls != NULL && cfg->insecure)
		buf_append_str(sh, " --insecure");
	else if (f->target.tls != NULL)
		fuzz_repro_ca(cfg, sh, "--cacert");
	buf_append_str(sh, " -X ");
	s = span_dup(r.method);
	fuzz_sh_quote(sh, s);
	free(s);
	for (i = 0; i < r.nheaders; i++) {
		const struct http_header *h = &r.headers[i];

		if ((httpc_h2_header_is_hop(h->name) &&
		    !span_caseeq_str(h->name, "host")) ||
		    span_caseeq_str(h->name, "content-length") ||
		    span_caseeq_str(h->name, "te"))
			continue;
		ua |= span_caseeq_str(h->name, "user-agent");
		acc |= span_caseeq_str(h->name, "accept");
		ct |= span_caseeq_str(h->name, "content-type");
		buf_append_str(sh, " \\\n    -H ");
		s = xasprintf("%.*s: %.*s", (int)h->name.len, h->name.p,
		    (int)h->value.len, h->value.p);
		fuzz_sh_quote(sh, s);
		free(s);
	}
	buf_printf(sh, "%s%s%s", ua ? "" : " -H 'User-Agent:'",
	    acc ? "" : " -H 'Accept:'", ct || r.body.len == 0 ? "" :
	    " -H 'Content-Type:'");
	if (r.body.len > 0)
		buf_append_str(sh, " --data-binary \"@$dir/request.body\"");
	buf_printf(sh, " \\\n    \"%s://$host:$port\"",
	    f->target.tls != NULL ? "https" : "http");
	s = span_dup(r.path);
	fuzz_sh_quote(sh, s);
	free(s);
	buf_printf(sh, " || echo \"(no complete answer within %d s)\" >&2\n",
	    wait);
}

/* A finding's repro.sh: any bytes, framing broken or not, with bash's
 * /dev/tcp, or with openssl s_client for https; with --http2, curl. */
static void
fuzz_repro_sh(struct fuzz *f, const struct fuzz_finding *fd,
    const char *req, size_t len, struct buf *sh)
{
	const struct fuzz_config	*cfg = f->cfg;
	int				 wait;

	wait = (int)(cfg->timeout_ns / 1000000000ull) + 3;
	buf_printf(sh, "#!/usr/bin/env bash\n"
	    "# decoy fuzz finding %s: %s on %s%s%s\n"
	    "# Mutant %" PRIu64 " of seed %" PRIu64 ", corpus entry %zu, "
	    "operator %s, field %d\n"
	    "# Sends request.http (%s) and prints the answer.\n"
	    "# usage: repro.sh [HOST [PORT]]   (default: the fuzzed "
	    "target)\n"
	    "set -eu\n"
	    "host=${1:-%s}\nport=${2:-%d}\n"
	    "dir=$(cd \"$(dirname \"$0\")\" && pwd)\n", fd->dir,
	    fuzz_kind_name(fd->kind), fd->endpoint,
	    fd->signature != NULL ? ": " : "",
	    fd->signature != NULL ? fd->signature : "", fd->mutant,
	    cfg->seed, fd->parent, fd->nops > 0 ? mut_op_name(fd->op) : "-",
	    (int)fd->field,
	    cfg->http2 ? "as an h2 request, with curl" : f->target.tls !=
	    NULL ? "raw bytes, over TLS" : "raw bytes",
	    f->target.tls != NULL ? f->target.tls_name : "127.0.0.1", f->port);
	if (cfg->http2) {
		fuzz_repro_h2(f, req, len, sh, wait);
		return;
	}
	if (f->target.tls == NULL) {
		buf_printf(sh, "exec 3<>\"/dev/tcp/$host/$port\"\n"
		    "cat \"$dir/request.http\" >&3\n"
		    "timeout %d cat <&3 || ", wait);
	} else {
		buf_printf(sh, "timeout %d openssl s_client -quiet "
		    "-connect \"$host:$port\" -servername \"$host\"", wait);
		if (!cfg->insecure) {
			fuzz_repro_ca(cfg, sh, "-CAfile");
			buf_append_str(sh, " -verify_return_error");
		}
		buf_append_str(sh, " <\"$dir/request.http\" || ");
	}
	buf_printf(sh, "echo \"(no complete answer within %d s)\" >&2\n",
	    wait);
}

static int
fuzz_write_finding(struct fuzz *f, const struct fuzz_finding *fd,
    const char *orig, size_t olen, const char *min, size_t mlen,
    char **cause)
{
	const struct fuzz_config	*cfg = f->cfg;
	struct buf			 sh;
	char				*dir, *path;
	int				 rv;

	dir = xasprintf("%s/%s", cfg->findings, fd->dir);
	if (mkdir(dir, 0755) == -1 && errno != EEXIST) {
		*cause = xasprintf("%s: %s", dir, strerror(errno));
		free(dir);
		return -1;
	}
	path = xasprintf("%s/request.http", dir);
	rv = buf_write_file(path, min, mlen, 0644, cause);
	free(path);
	if (rv == 0 && cfg->http2) {
		struct httpc_h2_req	 r;
		struct http_msg		 m;
		const char		*why;

		/* repro.sh's curl sends it with --data-binary. */
		if (httpc_h2_req_from_http1(&r, &m, min, mlen, "http", "",
		    &why) == 0 && r.body.len > 0) {
			path = xasprintf("%s/request.body", dir);
			rv = buf_write_file(path, r.body.p, r.body.len, 0644,
			    cause);
			free(path);
		}
	}
	if (rv == 0) {
		path = xasprintf("%s/original.http", dir);
		rv = buf_write_file(path, orig, olen, 0644, cause);
		free(path);
	}
	if (rv == 0) {
		buf_init(&sh);
		fuzz_repro_sh(f, fd, min, mlen, &sh);
		path = xasprintf("%s/repro.sh", dir);
		rv = buf_write_file(path, sh.data, sh.len, 0755, cause);
		free(path);
		buf_free(&sh);
	}
	free(dir);
	if (rv == 0)
		rv = fuzz_write_json(cfg, fd, cause);
	return rv;
}

/* A confirmed failure becomes finding number res->nfindings + 1. */
int
fuzz_new_finding(struct fuzz *f, const struct fuzz_job *j,
    const struct fuzz_outcome *o, char **cause)
{
	struct fuzz_result	*res = f->res;
	struct fuzz_finding	*fd;
	struct fuzz_key		*k;
	struct buf		 min;
	char			*slug, *kslug;
	int			 rv;

	res->findings = xreallocarray(res->findings, res->nfindings + 1,
	    sizeof *res->findings);
	f->keys = xreallocarray(f->keys, res->nfindings + 1, sizeof *f->keys);
	fd = &res->findings[res->nfindings];
	k = &f->keys[res->nfindings];
	memset(fd, 0, sizeof *fd);
	memset(k, 0, sizeof *k);
	res->nfindings++;

	fd->kind = o->kind;
	fd->endpoint = xstrdup(f->eps[j->ep].name);
	fd->status = o->kind == FUZZ_5XX ? o->status : 0;
	fd->signature = o->signature != NULL ? xstrdup(o->signature) : NULL;
	fd->excerpt = o->excerpt != NULL ? xstrdup(o->excerpt) : NULL;
	if (o->resp.len > 0) {
		fd->response = xmalloc(o->resp.len);
		memcpy(fd->response, o->resp.data, o->resp.len);
		fd->response_len = o->resp.len;
	} else if (j->resp.len > 0) {
		fd->response = xmalloc(j->resp.len);
		memcpy(fd->response, j->resp.data, j->resp.len);
		fd->response_len = j->resp.len;
	}
	fd->framing = j->info.framing;
	fd->mutant = j->index;
	fd->parent = j->info.parent;
	fd->op = j->info.first_op;
	fd->last_op = j->info.op;
	fd->field = j->info.field;
	fd->nops = j->info.nops;
	fd->elapsed_ns = o->elapsed > 0 ? o->elapsed : j->elapsed;
	fd->found_ns = loop_clock_ns() - f->t0_clock;
	fd->sent_before = res->sent;
	fd->hits = 1;
	fd->original_len = j->req.len;
	slug = fuzz_slug(f->eps[j->ep].name);
	kslug = fuzz_slug(fuzz_kind_name(o->kind));
	fd->dir = xasprintf("%03zu-%s-%s", res->nfindings, kslug, slug);
	free(slug);
	free(kslug);
	k->ep = j->ep;
	k->kind = o->kind;
	k->status = fd->status;
	k->signature = fd->signature != NULL ? xstrdup(fd->signature) : NULL;

	log_info("finding %s: %s%s%s (mutant %" PRIu64 "); minimising",
	    fd->dir, fuzz_kind_name(fd->kind), fd->signature != NULL ? ": " :
	    "", fd->signature != NULL ? fd->signature : "", fd->mutant);
	buf_init(&min);
	if (fuzz_minimise(f, j->req.data, j->req.len, j->info.framing, j->ep,
	    o, &min, &fd->attempts, cause) == -1) {
		buf_free(&min);
		return -1;
	}
	fd->minimised_len = min.len;
	rv = fuzz_write_finding(f, fd, j->req.data, j->req.len, min.data,
	    min.len, cause);
	buf_free(&min);
	return rv;
}

void
fuzz_result_print(FILE *fp, const struct fuzz_config *cfg,
    const struct fuzz_result *res, int json)
{
	struct buf	b;
	size_t		i;
	double		secs = (double)res->elapsed_ns / 1e9;

	if (json) {
		buf_init(&b);
		buf_printf(&b, "{\"target\":");
		json_append_string(&b, cfg->target, strlen(cfg->target));
		buf_printf(&b, ",\"seed\":%" PRIu64 ",\"mutants\":%" PRIu64
		    ",\"sent\":%" PRIu64
		    ",\"answered\":%" PRIu64 ",\"failures\":%" PRIu64
		    ",\"crashes\":%" PRIu64 ",\"unconfirmed\":%" PRIu64
		    ",\"elapsed_s\":%.3f", cfg->seed, res->mutants, res->sent,
		    res->answered, res->failures, res->crashes,
		    res->unconfirmed, secs);
		buf_printf(&b, ",\"sweep\":%" PRIu64, res->sweep);
		if (cfg->http2)
			buf_printf(&b, ",\"protocol\":\"h2\",\"h2_skipped\":%"
			    PRIu64, res->h2_skipped);
		buf_printf(&b, ",\"protocol_noise\":%" PRIu64 ",\"noise_by"
		    "\":{", res->noise);
		for (i = 1; i < FUZZ_NOISE_COUNT; i++)
			buf_printf(&b, "%s\"%s\":%" PRIu64, i > 1 ? "," : "",
			    fuzz_noise_name((enum fuzz_noise)i),
			    res->noise_by[i]);
		buf_printf(&b, "},\"strict_protocol\":%s",
		    cfg->strict_protocol ? "true" : "false");
		buf_append_str(&b, ",\"findings_dir\":");
		json_append_string(&b, cfg->findings, strlen(cfg->findings));
		buf_append_str(&b, ",\"findings\":[");
		for (i = 0; i < res->nfindings; i++) {
			const struct fuzz_finding *fd = &res->findings[i];

			buf_append_str(&b, i > 0 ? ",{\"dir\":" : "{\"dir\":");
			json_append_string(&b, fd->dir, strlen(fd->dir));
			fuzz_json_str(&b, "kind", fuzz_kind_name(fd->kind));
			fuzz_json_str(&b, "endpoint", fd->endpoint);
			buf_printf(&b, ",\"status\":%d", fd->status);
			fuzz_json_str(&b, "signature", fd->signature);
			buf_printf(&b, ",\"hits\":%" PRIu64 ",\"original_bytes"
			    "\":%zu,\"minimised_bytes\":%zu}", fd->hits,
			    fd->original_len, fd->minimised_len);
		}
		buf_append_str(&b, "]}\n");
		fwrite(b.data, 1, b.len, fp);
		buf_free(&b);
		return;
	}
	fprintf(fp, "%" PRIu64 " mutants, %" PRIu64 " requests sent in %.1f s "
	    "(%.0f/s), %" PRIu64 " failures, %" PRIu64 " service deaths, %zu "
	    "findings\n", res->mutants, res->sent, secs, secs > 0 ? (double)res->sent / secs : 0.0, res->failures,
	    res->crashes, res->nfindings);
	fprintf(fp, "sweep: %" PRIu64 " of the mutants were the first pass "
	    "(one per field and class)%s\n", res->sweep, cfg->no_sweep ?
	    ", off (--no-sweep)" : "");
	if (cfg->http2)
		fprintf(fp, "over h2: %" PRIu64 " mutants h2 cannot carry "
		    "(request line, header syntax) were skipped, not sent\n",
		    res->h2_skipped);
	if (res->noise > 0) {
		fprintf(fp, "%" PRIu64 " of the failures were correct answers to "
		    "requests the mutants made malformed (%s:", res->noise,
		    cfg->strict_protocol ? "reported, --strict-protocol" :
		    "not findings");
		for (i = 1; i < FUZZ_NOISE_COUNT; i++)
			if (res->noise_by[i] > 0)
				fprintf(fp, " %s %" PRIu64, fuzz_noise_name(
				    (enum fuzz_noise)i), res->noise_by[i]);
		fprintf(fp, ")\n");
	}
	if (res->nfindings == 0)
		return;
	fprintf(fp, "%-34s %-8s %-18s %6s %-13s %s\n", "FINDING", "KIND",
	    "ENDPOINT", "HITS", "BYTES", "STATUS/SIGNATURE");
	for (i = 0; i < res->nfindings; i++) {
		const struct fuzz_finding *fd = &res->findings[i];
		char	bytes[32];

		snprintf(bytes, sizeof bytes, "%zu -> %zu", fd->original_len,
		    fd->minimised_len);
		fprintf(fp, "%-34s %-8s %-18s %6" PRIu64 " %-13s ", fd->dir,
		    fuzz_kind_name(fd->kind), fd->endpoint, fd->hits, bytes);
		if (fd->status != 0)
			fprintf(fp, "%d%s", fd->status, fd->signature != NULL &&
			    fd->signature[0] != '\0' ? " " : "");
		if (fd->signature != NULL)
			fprintf(fp, "%s", fd->signature);
		else if (fd->status == 0)
			fprintf(fp, "-");
		fputc('\n', fp);
	}
	/* Endpoints with more than one bug. */
	for (i = 0; i < res->nfindings; i++) {
		size_t	k, n = 0, seen = 0;

		for (k = 0; k < i; k++)
			if (strcmp(res->findings[k].endpoint,
			    res->findings[i].endpoint) == 0)
				seen = 1;
		if (seen)
			continue;
		for (k = i; k < res->nfindings; k++)
			n += strcmp(res->findings[k].endpoint,
			    res->findings[i].endpoint) == 0;
		if (n > 1)
			fprintf(fp, "%s: %zu distinct signatures\n",
			    res->findings[i].endpoint, n);
	}
	fprintf(fp, "findings in %s/\n", cfg->findings);
}

static char *
fuzz_read_file(const char *path, size_t *len, char **cause)
{
	struct buf	b;
	char		chunk[8192];
	ssize_t		n;
	int		fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	buf_init(&b);
	while ((n = read(fd, chunk, sizeof chunk)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			*cause = xasprintf("%s: %s", path, strerror(errno));
			close(fd);
			buf_free(&b);
			return NULL;
		}
		buf_append(&b, chunk, (size_t)n);
	}
	close(fd);
	buf_reserve(&b, 1);
	return buf_detach(&b, len);
}

/* Reads the members replay needs from finding.json. */
static int
fuzz_read_expect(const char *path, struct fuzz_expect *x, char **cause)
{
	struct json_parser	 p;
	struct json_value	 key, v;
	struct buf		 s;
	char			*text;
	size_t			 len;
	int64_t			 n;
	int			 r, b;

	memset(x, 0, sizeof *x);
	if ((text = fuzz_read_file(path, &len, cause)) == NULL)
		return -1;
	buf_init(&s);
	json_init(&p, text, len);
	if (json_object_enter(&p) == -1)
		goto bad;
	while ((r = json_object_next(&p, &key)) == 1) {
		if (json_string_eq(&key, "kind") || json_string_eq(&key,
		    "signature") || json_string_eq(&key, "endpoint")) {
			if (json_peek(&p) == JSON_NULL) {
				if (json_skip(&p, NULL) == -1)
					goto bad;
				continue;
			}
			buf_reset(&s);
			if (json_read_string(&p, &s, NULL) == -1)
				goto bad;
			if (json_string_eq(&key, "kind"))
				x->kind = fuzz_kind_parse(s.data);
			else if (json_string_eq(&key, "signature"))
				x->signature = xstrdup(s.data);
			else
				x->endpoint = xstrdup(s.data);
		} else if (json_string_eq(&key, "status") &&
		    json_peek(&p) == JSON_NUMBER) {
			if (json_read_int64(&p, &n) == -1)
				goto bad;
			x->status = (int)n;
		} else if (json_string_eq(&key, "framing") &&
		    json_peek(&p) == JSON_BOOL) {
			if (json_read_bool(&p, &b) == -1)
				goto bad;
			x->framing = b;
		} else if (json_skip(&p, &v) == -1)
			goto bad;
	}
	if (r == -1)
		goto bad;
	if (x->kind == FUZZ_OK) {
		*cause = xasprintf("%s: no known \"kind\"", path);
		goto fail;
	}
	free(text);
	buf_free(&s);
	return 0;
bad:
	*cause = xasprintf("%s: byte %zu: %s", path, p.error_off,
	    p.error != NULL ? p.error : "not a finding");
fail:
	free(text);
	buf_free(&s);
	free(x->signature);
	free(x->endpoint);
	memset(x, 0, sizeof *x);
	return -1;
}

static int
fuzz_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The finding directories under dir (those with a request.http),
 * sorted; *n of them.  NULL with *cause when there are none. */
static char **
fuzz_replay_list(const char *dir, size_t *n, char **cause)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	char		**names = NULL, *path;

	*n = 0;
	if ((d = opendir(dir)) == NULL) {
		*cause = xasprintf("%s: %s", dir, strerror(errno));
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s/request.http", dir, de->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			names = xreallocarray(names, *n + 1, sizeof *names);
			names[(*n)++] = xstrdup(de->d_name);
		}
		free(path);
	}
	closedir(d);
	if (*n == 0) {
		*cause = xasprintf("%s: no findings (directories with "
		    "request.http)", dir);
		return NULL;
	}
	qsort(names, *n, sizeof *names, fuzz_cmp_str);
	return names;
}

/* Sends the request of finding dir/name (expected to fail as x) into
 * *o; a service of ours is restarted first if needed.  0 or -1 with
 * *cause. */
static int
fuzz_replay_send(struct fuzz *f, const char *dir, const char *name,
    const struct fuzz_expect *x, struct fuzz_outcome *o, char **cause)
{
	char	*path, *raw;
	size_t	 len;
	int	 rv;

	path = xasprintf("%s/%s/request.http", dir, name);
	raw = fuzz_read_file(path, &len, cause);
	free(path);
	if (raw == NULL)
		return -1;
	if (fuzz_service_ensure(f, cause) == -1) {
		free(raw);
		return -1;
	}
	rv = fuzz_send_one(f, raw, len, x->framing, 0, o, cause);
	if (rv == 0 && o->kind == FUZZ_CONNECT && f->svc_cmd != NULL) {
		/* It died after the last answer, too late to be seen then:
		 * once more with it restarted. */
		fuzz_outcome_free(o);
		if ((rv = fuzz_service_ensure(f, cause)) == 0)
			rv = fuzz_send_one(f, raw, len, x->framing, 0, o,
			    cause);
	}
	free(raw);
	return rv;
}

/* Does the outcome o of a replay still fail as x?  *gone: nobody
 * answered (neither fixed nor failing). */
static int
fuzz_replay_same(const struct fuzz *f, const struct fuzz_expect *x,
    const struct fuzz_outcome *o, int *gone)
{
	const struct fuzz_config	*cfg = f->cfg;

	/* Nobody answers (an earlier finding killed a service that is
	 * not ours to restart): neither fixed nor failing. */
	*gone = o->kind == FUZZ_CONNECT && (x->kind != FUZZ_CRASH ||
	    f->svc_cmd != NULL);
	if (*gone)
		return 0;
	if (x->kind == FUZZ_CRASH && cfg->service_cmd == NULL)
		return o->kind == FUZZ_RESET || o->kind == FUZZ_EOF ||
		    o->kind == FUZZ_CONNECT;
	if (x->kind == FUZZ_SLOW)
		return o->kind == FUZZ_OK && o->elapsed > cfg->slow_floor_ns;
	return fuzz_same(o, x->kind, x->status, x->signature, x->framing);
}

/* One finding's line (or JSON object, the i-th) in out. */
static void
fuzz_replay_line(struct buf *out, int json, size_t i, const char *name,
    const struct fuzz_expect *x, const struct fuzz_outcome *o, int same,
    int gone)
{
	if (json) {
		buf_append_str(out, i > 0 ? ",{\"dir\":" : "{\"dir\":");
		json_append_string(out, name, strlen(name));
		buf_printf(out, ",\"still_fails\":%s,\"untested\":%s,"
		    "\"got\":\"%s\",\"status\":%d", same ? "true" : "false",
		    gone ? "true" : "false", fuzz_kind_name(o->kind),
		    o->status);
		fuzz_json_str(out, "signature", o->signature);
		buf_append_str(out, "}");
		return;
	}
	buf_printf(out, "%-40s %s (%s", name, same ? "STILL FAILS" : gone ?
	    "UNTESTED" : "fixed", gone ? "the service does not accept "
	    "connections" : fuzz_kind_name(same ? x->kind : o->kind));
	if (o->status != 0)
		buf_printf(out, " %d", o->status);
	if (x->kind == FUZZ_SLOW && !gone)
		buf_printf(out, " in %.0f ms", (double)o->elapsed / 1e6);
	if (o->signature != NULL && o->signature[0] != '\0')
		buf_printf(out, ": %s", o->signature);
	buf_append_str(out, ")\n");
}

int
fuzz_replay(const struct fuzz_config *cfg, const char *dir, FILE *fp,
    int json, char **cause)
{
	struct fuzz		 f;
	struct fuzz_result	 res;
	struct fuzz_outcome	 o;
	struct fuzz_expect	 x;
	struct buf		 out;
	char			**names, *path;
	size_t			 n = 0, i;
	int			 still = 0, untested = 0, rv = -1, same;
	int			 gone;
	static volatile int	 nostop;

	if ((names = fuzz_replay_list(dir, &n, cause)) == NULL)
		return -1;
	memset(&f, 0, sizeof f);
	memset(&res, 0, sizeof res);
	f.cfg = cfg;
	f.res = &res;
	f.stop = &nostop;
	sut_init(&f.svc, "service");
	buf_init(&out);
	if (fuzz_setup(&f, dir, cause) == -1)
		goto out;
	f.eps = xcalloc(1, sizeof *f.eps);
	f.eps[0].name = xstrdup("-");
	f.neps = 1;
	if (json)
		buf_append_str(&out, "{\"findings\":[");
	for (i = 0; i < n; i++) {
		path = xasprintf("%s/%s/finding.json", dir, names[i]);
		rv = fuzz_read_expect(path, &x, cause);
		free(path);
		if (rv == -1)
			goto out;
		rv = fuzz_replay_send(&f, dir, names[i], &x, &o, cause);
		if (rv == 0) {
			same = fuzz_replay_same(&f, &x, &o, &gone);
			still += same;
			untested += gone;
			fuzz_replay_line(&out, json, i, names[i], &x, &o, same,
			    gone);
			fuzz_outcome_free(&o);
		}
		free(x.signature);
		free(x.endpoint);
		if (rv == -1)
			goto out;
	}
	if (json)
		buf_printf(&out, "],\"still_failing\":%d,\"untested\":%d,"
		    "\"fixed\":%zu}\n", still, untested, n - (size_t)still -
		    (size_t)untested);
	else {
		buf_printf(&out, "%d of %zu findings still fail", still, n);
		if (untested > 0)
			buf_printf(&out, ", %d untested: the service stopped "
			    "accepting connections%s", untested,
			    f.svc_cmd == NULL ? " (give --service-cmd to have "
			    "decoy restart it)" : "");
		buf_append_str(&out, "\n");
	}
	fwrite(out.data, 1, out.len, fp);
	rv = still + untested;
out:
	buf_free(&out);
	fuzz_teardown(&f);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rv;
}
