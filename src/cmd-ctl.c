/*
 * cmd-ctl.c -- `decoy ctl COMMAND`: the admin API's command-line client.
 *
 * Each command is one or two blocking HTTP/1.1 requests, one connection
 * each (Connection: close): connect with a deadline, send, read the reply
 * head with http_parse_response() and its body by Content-Length, chunked
 * coding or the end of the stream.  Replies are printed as short tables or
 * plain lines, or passed through untouched with --json.  An error reply's
 * {"error": ...} message is printed and the exit status is 1; a server
 * that cannot be reached or does not speak HTTP is exit status 2, like a
 * usage error.
 */
#include "admin.h"
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cli.h"
#include "units.h"
#include "http.h"
#include "json.h"
#include "loop.h"
#include "opt.h"
#include "sock.h"
#include "xmalloc.h"

#define CTL_DEFAULT_ADDR	"127.0.0.1:9901"
#define CTL_DEFAULT_TIMEOUT	(30ull * 1000000000u)
#define CTL_MAX_REPLY		(256 * 1024 * 1024)
#define CTL_MAX_HEAD		(64 * 1024)
#define CTL_MAX_RULE_FILE	(1024 * 1024)

static int	cmd_ctl_exec(int, char **);

/* What the options say; cmd_ctl_exec makes a struct ctl of it. */
struct cmd_ctl_o {
	const char	*admin;
	const char	*token;
	char		*token_file;	/* the token read by --token-file */
	long		 lines;
	uint64_t	 timeout_ns;
	int		 json;
	int		 have_lines;
};

static const struct opt cmd_ctl_opts[] = {
	{ "admin", 0, OPT_STRING, "ADDR",
	  "admin API address (default: $DECOY_ADMIN,\n"
	  "else " CTL_DEFAULT_ADDR ")",
	  OPT_AT(struct cmd_ctl_o, admin), .aliases = "-a" },
	{ "token", 0, OPT_STRING, "TOKEN",
	  "bearer token (default: $DECOY_TOKEN)",
	  OPT_AT(struct cmd_ctl_o, token), .aliases = "-t" },
	{ "token-file", 0, OPT_CALL, "FILE",
	  "read the bearer token from FILE",
	  OPT_AT(struct cmd_ctl_o, token_file), .call = cli_opt_token_file,
	  .flags = OPT_ARG },
	{ "json", 0, OPT_FLAG, NULL,
	  "print the server's JSON as it is",
	  OPT_AT(struct cmd_ctl_o, json) },
	{ "lines", 0, OPT_INT, NULL,
	  "chaos: how many recent lines (default 100,\n"
	  "at most 10000)",
	  OPT_AT(struct cmd_ctl_o, lines), .max = 10000,
	  OPT_SEEN(struct cmd_ctl_o, have_lines), .aliases = "-n" },
	{ "timeout", 0, OPT_DURATION, NULL,
	  "give up after DUR (default 30s)",
	  OPT_AT(struct cmd_ctl_o, timeout_ns), .min = 1 },
	OPT_END_ROW,
};

const struct cmd_entry cmd_ctl_entry = {
	.name = "ctl",
	.args = "[--admin ADDR] [--token TOKEN] COMMAND [ARG]",
	.summary = "control a running responder through its admin API",
	.opts = cmd_ctl_opts,
	.notes =
	    "commands:\n"
	    "  status                    health and counters\n"
	    "  rules                     the chaos rules: name, enabled, matched, fired\n"
	    "  add FILE                  add the rules in FILE (YAML or JSON; - for stdin)\n"
	    "  remove NAME               remove a rule\n"
	    "  enable NAME               enable a rule\n"
	    "  disable NAME              disable a rule (it stays listed)\n"
	    "  chaos                     the most recent injected faults (JSON lines)\n"
	    "  metrics                   the Prometheus metrics, as served\n"
	    "  reload                    reload the rule files and the snapshot\n"
	    "\n"
	    "Exit status: 0 on success, 1 when the server answers with an error,\n"
	    "2 on a usage error or when the server cannot be reached.\n",
	.exec = cmd_ctl_exec,
};

struct ctl {
	char		*addr;		/* HOST:PORT, for Host and messages */
	struct sock_addr sa;
	const char	*token;
	uint64_t	 timeout_ns;
	int		 json;
};

/* One reply: the bytes received, the body decoded within them. */
struct ctl_reply {
	int		 status;
	struct buf	 raw;
	const char	*body;
	size_t		 body_len;
};

/* --- the HTTP client -------------------------------------------------- */

/* Waits until fd is ready for events or the deadline passes: 0 or -1. */
static int
ctl_wait(int fd, short events, uint64_t deadline)
{
	struct pollfd	pfd;
	uint64_t	now;
	int		n;

	for (;;) {
		if ((now = loop_clock_ns()) >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		n = poll(&pfd, 1, (int)((deadline - now + 999999) / 1000000));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n > 0)
			return 0;
	}
}

static int
ctl_connect(const struct ctl *ctl, uint64_t deadline, char **cause)
{
	socklen_t	len;
	int		fd, error, one = 1;

	fd = socket(ctl->sa.ss.ss_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		*cause = xasprintf("socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&ctl->sa.ss,
	    ctl->sa.len) == -1) {
		if (errno != EINPROGRESS)
			goto fail;
		if (ctl_wait(fd, POLLOUT, deadline) == -1)
			goto fail;
		len = sizeof error;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == -1)
			goto fail;
		if (error != 0) {
			errno = error;
			goto fail;
		}
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
fail:
	*cause = xasprintf("cannot connect to %s: %s", ctl->addr,
	    strerror(errno));
	close(fd);
	return -1;
}

static int
ctl_send(int fd, const char *p, size_t len, uint64_t deadline)
{
	ssize_t	n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN ||
			    ctl_wait(fd, POLLOUT, deadline) == -1)
				return -1;
			continue;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads more into b: bytes read, 0 at the end of the stream, -1. */
static ssize_t
ctl_recv(int fd, struct buf *b, uint64_t deadline)
{
	ssize_t	n;

	buf_reserve(b, 16 * 1024);
	for (;;) {
		n = read(fd, b->data + b->len, b->cap - b->len - 1);
		if (n >= 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN || ctl_wait(fd, POLLIN, deadline) == -1)
			return -1;
	}
	b->len += (size_t)n;
	b->data[b->len] = '\0';
	return n;
}

/* Reads one reply into rp; 0, or -1 with *cause. */
static int
ctl_read_reply(const struct ctl *ctl, int fd, uint64_t deadline,
    struct ctl_reply *rp, char **cause)
{
	struct http_msg		*m;
	struct http_chunked	 ck;
	enum http_err		 err = HTTP_E_NONE;
	enum http_framing	 framing = HTTP_FRAME_NONE;
	uint64_t		 clen = 0;
	size_t			 head = 0, erroff = 0, dec_end = 0, len;
	ssize_t			 n, rest;
	int			 eof = 0, rv = -1;

	m = xmalloc(sizeof *m);
	for (;;) {
		if (head == 0) {
			n = http_parse_response(rp->raw.data, rp->raw.len,
			    CTL_MAX_HEAD, 0, m, &err, &erroff);
			if (n == HTTP_ERROR) {
				*cause = xasprintf("%s: bad reply: %s",
				    ctl->addr, http_strerror(err));
				goto out;
			}
			if (n > 0 && m->status < 200) {
				/* An interim reply (100 Continue): skip it. */
				buf_consume(&rp->raw, (size_t)n);
				continue;
			}
			if (n > 0) {
				head = (size_t)n;
				rp->status = m->status;
				framing = m->framing;
				clen = m->content_length;
				dec_end = head;
				http_chunked_init(&ck);
			}
		}
		if (head > 0) {
			if (framing == HTTP_FRAME_NONE) {
				dec_end = head;
				break;
			}
			if (framing == HTTP_FRAME_LENGTH &&
			    rp->raw.len - head >= clen) {
				dec_end = head + (size_t)clen;
				break;
			}
			if (framing == HTTP_FRAME_CHUNKED &&
			    rp->raw.len > dec_end) {
				len = rp->raw.len - dec_end;
				rest = http_chunked_decode(&ck,
				    rp->raw.data + dec_end, &len, &err,
				    &erroff);
				if (rest == HTTP_ERROR) {
					*cause = xasprintf("%s: bad chunked "
					    "reply: %s", ctl->addr,
					    http_strerror(err));
					goto out;
				}
				dec_end += len;
				rp->raw.len = dec_end;
				if (rest != HTTP_PARTIAL)
					break;
			}
			if (framing == HTTP_FRAME_EOF && eof) {
				dec_end = rp->raw.len;
				break;
			}
		}
		if (eof) {
			*cause = xasprintf("%s: the connection closed before "
			    "the reply was complete", ctl->addr);
			goto out;
		}
		if (rp->raw.len > CTL_MAX_REPLY) {
			*cause = xasprintf("%s: reply too large", ctl->addr);
			goto out;
		}
		if ((n = ctl_recv(fd, &rp->raw, deadline)) == -1) {
			*cause = xasprintf("%s: %s", ctl->addr,
			    errno == ETIMEDOUT ? "no reply in time" :
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			eof = 1;
	}
	rp->body = rp->raw.data + head;
	rp->body_len = dec_end - head;
	rv = 0;
out:
	free(m);
	return rv;
}

/*
 * Sends one request and reads its reply into rp (initialised here; the
 * caller frees rp->raw).  0 whatever the status, -1 with *cause if no
 * reply could be had.
 */
static int
ctl_request(const struct ctl *ctl, const char *method, const char *target,
    const char *body, size_t body_len, const char *ctype,
    struct ctl_reply *rp, char **cause)
{
	struct buf	 req;
	uint64_t	 deadline;
	char		 num[32];
	int		 fd, n, rv = -1;

	memset(rp, 0, sizeof *rp);
	buf_init(&rp->raw);
	deadline = loop_clock_ns() + ctl->timeout_ns;
	if ((fd = ctl_connect(ctl, deadline, cause)) == -1)
		return -1;

	buf_init(&req);
	http_write_request_line(&req, span_from_str(method),
	    span_from_str(target));
	http_write_header(&req, SPAN_LIT("Host"), span_from_str(ctl->addr));
	http_write_header(&req, SPAN_LIT("User-Agent"),
	    SPAN_LIT("decoy-ctl/" PACKAGE_VERSION));
	http_write_header(&req, SPAN_LIT("Accept"), SPAN_LIT("*/*"));
	if (ctl->token != NULL) {
		buf_append_str(&req, "Authorization: Bearer ");
		buf_append_str(&req, ctl->token);
		buf_append_str(&req, "\r\n");
	}
	if (body == NULL && strcmp(method, "POST") == 0)
		body = "";
	if (body != NULL) {
		if (ctype != NULL)
			http_write_header(&req, SPAN_LIT("Content-Type"),
			    span_from_str(ctype));
		n = snprintf(num, sizeof num, "%zu", body_len);
		http_write_header(&req, SPAN_LIT("Content-Length"),
		    (struct span){ num, (size_t)n });
	}
	http_write_header(&req, SPAN_LIT("Connection"), SPAN_LIT("close"));
	buf_append(&req, "\r\n", 2);
	if (body != NULL)
		buf_append(&req, body, body_len);

	if (ctl_send(fd, req.data, req.len, deadline) == -1) {
		/* The server may have answered early (401, 413): read it. */
		if (errno != EPIPE && errno != ECONNRESET) {
			*cause = xasprintf("%s: %s", ctl->addr,
			    errno == ETIMEDOUT ? "timed out sending" :
			    strerror(errno));
			goto out;
		}
	}
	rv = ctl_read_reply(ctl, fd, deadline, rp, cause);
out:
	buf_free(&req);
	close(fd);
	return rv;
}

/* --- reading replies -------------------------------------------------- */

/* Decodes a raw JSON string (quotes included) into out. */
static void
ctl_json_decode(const struct json_value *v, struct buf *out)
{
	struct json_parser	p;

	buf_reset(out);
	json_init(&p, v->p, v->len);
	if (json_read_string(&p, out, NULL) == -1) {
		buf_reset(out);
		buf_append(out, v->p, v->len);
	}
}

/* The "error" member of an error reply, or NULL. */
static char *
ctl_error_message(const char *body, size_t len)
{
	struct json_parser	p;
	struct json_value	key;
	struct buf		s;

	json_init(&p, body, len);
	if (json_object_enter(&p) == -1)
		return NULL;
	while (json_object_next(&p, &key) == 1) {
		if (json_string_eq(&key, "error") &&
		    json_peek(&p) == JSON_STRING) {
			buf_init(&s);
			if (json_read_string(&p, &s, NULL) == -1) {
				buf_free(&s);
				return NULL;
			}
			return buf_detach(&s, NULL);
		}
		if (json_skip(&p, NULL) == -1)
			return NULL;
	}
	return NULL;
}

/* Prints an error reply's message; returns EXIT_FAILED. */
static int
ctl_fail(const struct ctl_reply *rp)
{
	const struct cmd_entry	*e = &cmd_ctl_entry;
	const char		*nl;
	char			*msg;
	int			 n;

	if ((msg = ctl_error_message(rp->body, rp->body_len)) != NULL) {
		cli_error(e, EXIT_FAILED, "%d %s: %s%s", rp->status,
		    http_reason(rp->status), msg, rp->status == 401 ?
		    " (give --token or set DECOY_TOKEN)" : "");
		free(msg);
		return EXIT_FAILED;
	}
	nl = memchr(rp->body, '\n', rp->body_len);
	n = (int)(nl != NULL ? (size_t)(nl - rp->body) : rp->body_len);
	if (n > 200)
		n = 200;
	cli_error(e, EXIT_FAILED, "%d %s%s%.*s", rp->status,
	    http_reason(rp->status), n > 0 ? ": " : "", n, rp->body);
	return EXIT_FAILED;
}

static int
ctl_is_ok(const struct ctl_reply *rp)
{
	return rp->status >= 200 && rp->status <= 299;
}

/* Writes a reply body as it is, with a final newline. */
static void
ctl_print_body(const struct ctl_reply *rp)
{
	fwrite(rp->body, 1, rp->body_len, stdout);
	if (rp->body_len > 0 && rp->body[rp->body_len - 1] != '\n')
		putchar('\n');
}

/*
 * Prints the members of a JSON object as "key value" lines: numbers,
 * strings and booleans as they are; the faults object as its total and
 * one line per kind; skip names a member not to print.
 */
static int
ctl_print_members(const char *body, size_t len, const char *skip)
{
	struct json_parser	p;
	struct json_value	key, v, k2, k3;
	struct buf		name, s;
	int			rv = -1;

	json_init(&p, body, len);
	buf_init(&name);
	buf_init(&s);
	if (json_object_enter(&p) == -1)
		goto out;
	while (json_object_next(&p, &key) == 1) {
		ctl_json_decode(&key, &name);
		if (skip != NULL && strcmp(name.data, skip) == 0) {
			if (json_skip(&p, NULL) == -1)
				goto out;
			continue;
		}
		switch (json_peek(&p)) {
		case JSON_STRING:
			buf_reset(&s);
			if (json_read_string(&p, &s, NULL) == -1)
				goto out;
			printf("%-14s %s\n", name.data, s.len > 0 ? s.data :
			    "");
			break;
		case JSON_NUMBER:
		case JSON_BOOL:
		case JSON_NULL:
			if (json_skip(&p, &v) == -1)
				goto out;
			printf("%-14s %.*s\n", name.data, (int)v.len, v.p);
			break;
		case JSON_OBJECT:
			if (strcmp(name.data, "faults") != 0) {
				if (json_skip(&p, NULL) == -1)
					goto out;
				break;
			}
			if (json_object_enter(&p) == -1)
				goto out;
			while (json_object_next(&p, &k2) == 1) {
				if (json_string_eq(&k2, "total") &&
				    json_peek(&p) == JSON_NUMBER) {
					if (json_skip(&p, &v) == -1)
						goto out;
					printf("%-14s %.*s\n", "faults",
					    (int)v.len, v.p);
				} else if (json_string_eq(&k2, "by_kind") &&
				    json_peek(&p) == JSON_OBJECT) {
					if (json_object_enter(&p) == -1)
						goto out;
					while (json_object_next(&p, &k3) == 1) {
						if (json_skip(&p, &v) == -1)
							goto out;
						ctl_json_decode(&k3, &s);
						printf("  %-12s %.*s\n", s.data,
						    (int)v.len, v.p);
					}
				} else if (json_skip(&p, NULL) == -1)
					goto out;
			}
			break;
		default:
			if (json_skip(&p, NULL) == -1)
				goto out;
			break;
		}
	}
	rv = p.error == NULL ? 0 : -1;
out:
	buf_free(&name);
	buf_free(&s);
	return rv;
}

struct ctl_row {
	char		*name;
	int		 enabled;
	char		 matched[24];
	char		 fired[24];
};

/* Prints {"seed":N,"rules":[...]} as a table. */
static int
ctl_print_rules(const char *body, size_t len)
{
	struct json_parser	 p;
	struct json_value	 key, v;
	struct ctl_row		*rows = NULL, *row;
	struct buf		 s;
	size_t			 nrows = 0, i, w = 4;
	int			 rv = -1, b;

	json_init(&p, body, len);
	buf_init(&s);
	if (json_object_enter(&p) == -1)
		goto out;
	while (json_object_next(&p, &key) == 1) {
		if (!json_string_eq(&key, "rules") ||
		    json_peek(&p) != JSON_ARRAY) {
			if (json_skip(&p, NULL) == -1)
				goto out;
			continue;
		}
		if (json_array_enter(&p) == -1)
			goto out;
		while (json_array_next(&p) == 1) {
			rows = xreallocarray(rows, nrows + 1, sizeof *rows);
			row = &rows[nrows++];
			memset(row, 0, sizeof *row);
			row->enabled = 1;
			memcpy(row->matched, "-", 2);
			memcpy(row->fired, "-", 2);
			if (json_object_enter(&p) == -1)
				goto out;
			while (json_object_next(&p, &key) == 1) {
				if (json_string_eq(&key, "name") &&
				    json_peek(&p) == JSON_STRING) {
					buf_reset(&s);
					if (json_read_string(&p, &s, NULL) == -1)
						goto out;
					free(row->name);
					row->name = xstrdup(s.len > 0 ?
					    s.data : "");
				} else if (json_string_eq(&key, "enabled") &&
				    json_peek(&p) == JSON_BOOL) {
					if (json_read_bool(&p, &b) == -1)
						goto out;
					row->enabled = b;
				} else if ((json_string_eq(&key, "matched") ||
				    json_string_eq(&key, "fired")) &&
				    json_peek(&p) == JSON_NUMBER) {
					if (json_skip(&p, &v) == -1)
						goto out;
					snprintf(json_string_eq(&key,
					    "matched") ? row->matched :
					    row->fired, sizeof row->fired,
					    "%.*s", (int)v.len, v.p);
				} else if (json_skip(&p, NULL) == -1)
					goto out;
			}
		}
	}
	if (p.error != NULL)
		goto out;
	for (i = 0; i < nrows; i++) {
		if (rows[i].name == NULL)
			rows[i].name = xstrdup("?");
		if (strlen(rows[i].name) > w)
			w = strlen(rows[i].name);
	}
	printf("%-*s  %-7s  %10s  %10s\n", (int)w, "NAME", "ENABLED",
	    "MATCHED", "FIRED");
	for (i = 0; i < nrows; i++)
		printf("%-*s  %-7s  %10s  %10s\n", (int)w, rows[i].name,
		    rows[i].enabled ? "yes" : "no", rows[i].matched,
		    rows[i].fired);
	rv = 0;
out:
	for (i = 0; i < nrows; i++)
		free(rows[i].name);
	free(rows);
	buf_free(&s);
	return rv;
}

/* Prints the names in {"rules":[{"name":...},...]} after verb. */
static void
ctl_print_added(const char *body, size_t len)
{
	struct json_parser	p;
	struct json_value	key;
	struct buf		s;

	json_init(&p, body, len);
	buf_init(&s);
	if (json_object_enter(&p) == -1)
		goto out;
	while (json_object_next(&p, &key) == 1) {
		if (!json_string_eq(&key, "rules") ||
		    json_peek(&p) != JSON_ARRAY) {
			if (json_skip(&p, NULL) == -1)
				goto out;
			continue;
		}
		if (json_array_enter(&p) == -1)
			goto out;
		while (json_array_next(&p) == 1) {
			if (json_object_enter(&p) == -1)
				goto out;
			while (json_object_next(&p, &key) == 1) {
				if (json_string_eq(&key, "name") &&
				    json_peek(&p) == JSON_STRING) {
					buf_reset(&s);
					if (json_read_string(&p, &s, NULL) == -1)
						goto out;
					printf("added %s\n", s.len > 0 ?
					    s.data : "");
				} else if (json_skip(&p, NULL) == -1)
					goto out;
			}
		}
	}
out:
	buf_free(&s);
}

/* --- commands --------------------------------------------------------- */

/* Runs one request; prints transport failures.  Returns -1 or 0. */
static int
ctl_call(const struct ctl *ctl, const char *method, const char *target,
    const char *body, size_t body_len, const char *ctype,
    struct ctl_reply *rp)
{
	char	*cause = NULL;

	if (ctl_request(ctl, method, target, body, body_len, ctype, rp,
	    &cause) == -1) {
		cli_error(&cmd_ctl_entry, EXIT_USAGE, "%s", cause);
		free(cause);
		buf_free(&rp->raw);
		return -1;
	}
	return 0;
}

static int
ctl_status(const struct ctl *ctl)
{
	struct ctl_reply	health, stats;
	int			rv = EXIT_USAGE;

	if (ctl_call(ctl, "GET", "/health", NULL, 0, NULL, &health) == -1)
		return EXIT_USAGE;
	if (!ctl_is_ok(&health)) {
		rv = ctl_fail(&health);
		buf_free(&health.raw);
		return rv;
	}
	if (ctl_call(ctl, "GET", "/stats", NULL, 0, NULL, &stats) == -1) {
		buf_free(&health.raw);
		return EXIT_USAGE;
	}
	if (!ctl_is_ok(&stats))
		rv = ctl_fail(&stats);
	else if (ctl->json) {
		/* Both documents, whitespace around them dropped. */
		printf("{\"health\":");
		while (health.body_len > 0 && (health.body[health.body_len -
		    1] == '\n' || health.body[health.body_len - 1] == ' '))
			health.body_len--;
		while (stats.body_len > 0 && (stats.body[stats.body_len -
		    1] == '\n' || stats.body[stats.body_len - 1] == ' '))
			stats.body_len--;
		printf("%.*s,\"stats\":%.*s}\n", (int)health.body_len,
		    health.body, (int)stats.body_len, stats.body);
		rv = EXIT_OK;
	} else if (ctl_print_members(health.body, health.body_len,
	    NULL) == -1 || ctl_print_members(stats.body, stats.body_len,
	    "uptime_s") == -1)
		rv = cli_error(&cmd_ctl_entry, EXIT_USAGE, "%s: the reply is "
		    "not the JSON expected", ctl->addr);
	else
		rv = EXIT_OK;
	buf_free(&health.raw);
	buf_free(&stats.raw);
	return rv;
}

/* Reads a whole rule file ("-": stdin); NULL with *cause. */
static char *
ctl_read_file(const char *path, size_t *len, char **cause)
{
	struct buf	b;
	ssize_t		n;
	int		fd;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return NULL;
	}
	buf_init(&b);
	for (;;) {
		buf_reserve(&b, 64 * 1024);
		n = read(fd, b.data + b.len, b.cap - b.len - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		b.len += (size_t)n;
		if (b.len > CTL_MAX_RULE_FILE) {
			errno = EFBIG;
			n = -1;
			break;
		}
	}
	if (fd != STDIN_FILENO)
		close(fd);
	if (n == -1) {
		*cause = errno == EFBIG ? xasprintf("%s: larger than 1MiB",
		    path) : xasprintf("%s: %s", path, strerror(errno));
		buf_free(&b);
		return NULL;
	}
	return buf_detach(&b, len);
}

static int
ctl_add(const struct ctl *ctl, const char *path)
{
	struct ctl_reply	 rp;
	const char		*ctype, *p;
	char			*text, *cause = NULL;
	size_t			 len;
	int			 rv;

	if ((text = ctl_read_file(path, &len, &cause)) == NULL) {
		rv = cli_error(&cmd_ctl_entry, EXIT_USAGE, "%s", cause);
		free(cause);
		return rv;
	}
	for (p = text; p < text + len && (*p == ' ' || *p == '\t' ||
	    *p == '\r' || *p == '\n'); p++)
		;
	ctype = p < text + len && (*p == '{' || *p == '[') ?
	    "application/json" : "application/yaml";
	if (ctl_call(ctl, "POST", "/rules", text, len, ctype, &rp) == -1) {
		free(text);
		return EXIT_USAGE;
	}
	free(text);
	if (!ctl_is_ok(&rp))
		rv = ctl_fail(&rp);
	else {
		if (ctl->json)
			ctl_print_body(&rp);
		else
			ctl_print_added(rp.body, rp.body_len);
		rv = EXIT_OK;
	}
	buf_free(&rp.raw);
	return rv;
}

/* Appends s percent-encoded as one path segment. */
static void
ctl_append_segment(struct buf *b, const char *s)
{
	static const char	hex[] = "0123456789ABCDEF";
	unsigned char		ch;

	for (; *s != '\0'; s++) {
		ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '.' ||
		    ch == '_' || ch == '~')
			buf_append_byte(b, (char)ch);
		else {
			buf_append_byte(b, '%');
			buf_append_byte(b, hex[ch >> 4]);
			buf_append_byte(b, hex[ch & 15]);
		}
	}
}

/* remove, enable, disable */
static int
ctl_rule(const struct ctl *ctl, const char *verb, const char *name)
{
	struct ctl_reply	rp;
	struct buf		target;
	const char		*method = "POST", *done;
	int			rv;

	buf_init(&target);
	buf_append_str(&target, "/rules/");
	ctl_append_segment(&target, name);
	if (strcmp(verb, "remove") == 0) {
		method = "DELETE";
		done = "removed";
	} else {
		buf_append_byte(&target, '/');
		buf_append_str(&target, verb);
		done = strcmp(verb, "enable") == 0 ? "enabled" : "disabled";
	}
	if (ctl_call(ctl, method, target.data, NULL, 0, NULL, &rp) == -1) {
		buf_free(&target);
		return EXIT_USAGE;
	}
	buf_free(&target);
	if (!ctl_is_ok(&rp))
		rv = ctl_fail(&rp);
	else {
		if (ctl->json)
			ctl_print_body(&rp);
		else
			printf("%s %s\n", done, name);
		rv = EXIT_OK;
	}
	buf_free(&rp.raw);
	return rv;
}

/* rules, chaos, metrics, reload: one request, the body or a table. */
static int
ctl_simple(const struct ctl *ctl, const char *cmd, const char *method,
    const char *target)
{
	struct ctl_reply	rp;
	int			rv = EXIT_OK;

	if (ctl_call(ctl, method, target, NULL, 0, NULL, &rp) == -1)
		return EXIT_USAGE;
	if (!ctl_is_ok(&rp))
		rv = ctl_fail(&rp);
	else if (strcmp(cmd, "rules") == 0 && !ctl->json) {
		if (ctl_print_rules(rp.body, rp.body_len) == -1)
			rv = cli_error(&cmd_ctl_entry, EXIT_USAGE, "%s: the "
			    "reply is not the JSON expected", ctl->addr);
	} else if (strcmp(cmd, "reload") == 0 && !ctl->json)
		printf("reloaded\n");
	else
		ctl_print_body(&rp);
	buf_free(&rp.raw);
	return rv;
}

/* Accepts "HOST:PORT", "[V6]:PORT" or "http://HOST:PORT[/]". */
static char *
ctl_parse_addr(const char *s, struct sock_addr *sa, char **cause)
{
	char	*addr;
	size_t	 len;

	if (strncmp(s, "https://", 8) == 0) {
		*cause = xstrdup("the admin API speaks plain HTTP, not https");
		return NULL;
	}
	if (strncmp(s, "http://", 7) == 0)
		s += 7;
	addr = xstrdup(s);
	len = strlen(addr);
	while (len > 0 && addr[len - 1] == '/')
		addr[--len] = '\0';
	if (sock_parse_addr(addr, sa, cause) == -1) {
		free(addr);
		return NULL;
	}
	return addr;
}

/* A token read by --token-file (kept for the life of the process). */
static char	*ctl_token_file;

static int
cmd_ctl_exec(int argc, char **argv)
{
	const struct cmd_entry	*e = &cmd_ctl_entry;
	struct cmd_ctl_o	 o = { .lines = 100,
				     .timeout_ns = CTL_DEFAULT_TIMEOUT };
	struct ctl		 ctl;
	const char		*admin, *cmd, *arg;
	char			*cause = NULL, target[64];
	long			 n;
	int			 ind, rv = EXIT_USAGE, nargs;

	if (cli_parse(e, NULL, argc, argv, &o, 0, &ind, &rv) == -1) {
		free(o.token_file);
		return rv;
	}
	memset(&ctl, 0, sizeof ctl);
	admin = o.admin;
	ctl.token = o.token;
	if (o.token_file != NULL) {
		free(ctl_token_file);
		ctl.token = ctl_token_file = o.token_file;
	}
	ctl.json = o.json;
	ctl.timeout_ns = o.timeout_ns;
	n = o.lines;
	if (ind >= argc)
		return cli_usage(e, "expected a command");
	cmd = argv[ind];
	arg = ind + 1 < argc ? argv[ind + 1] : NULL;
	nargs = argc - ind - 1;
	if (strcmp(cmd, "add") == 0 || strcmp(cmd, "remove") == 0 ||
	    strcmp(cmd, "enable") == 0 || strcmp(cmd, "disable") == 0) {
		if (nargs != 1)
			return cli_usage(e, "%s: expected one %s", cmd,
			    strcmp(cmd, "add") == 0 ? "FILE" : "NAME");
	} else if (strcmp(cmd, "status") == 0 || strcmp(cmd, "rules") == 0 ||
	    strcmp(cmd, "chaos") == 0 || strcmp(cmd, "metrics") == 0 ||
	    strcmp(cmd, "reload") == 0) {
		if (nargs != 0)
			return cli_usage(e, "%s: unexpected argument \"%s\"",
			    cmd, arg);
	} else
		return cli_usage(e, "unknown command \"%s\"", cmd);
	if (o.have_lines && strcmp(cmd, "chaos") != 0)
		return cli_usage(e, "--lines applies to chaos only");

	if (admin == NULL && (admin = getenv("DECOY_ADMIN")) != NULL &&
	    admin[0] == '\0')
		admin = NULL;
	if (admin == NULL)
		admin = CTL_DEFAULT_ADDR;
	if (ctl.token == NULL)
		ctl.token = getenv("DECOY_TOKEN");
	if (ctl.token != NULL && ctl.token[0] == '\0')
		ctl.token = NULL;
	if (ctl.token != NULL && strpbrk(ctl.token, "\r\n") != NULL)
		return cli_usage(e, "the token cannot hold a line break");
	if ((ctl.addr = ctl_parse_addr(admin, &ctl.sa, &cause)) == NULL) {
		rv = cli_usage(e, "%s", cause);
		free(cause);
		return rv;
	}

	if (strcmp(cmd, "status") == 0)
		rv = ctl_status(&ctl);
	else if (strcmp(cmd, "rules") == 0)
		rv = ctl_simple(&ctl, cmd, "GET", "/rules");
	else if (strcmp(cmd, "add") == 0)
		rv = ctl_add(&ctl, arg);
	else if (strcmp(cmd, "chaos") == 0) {
		snprintf(target, sizeof target, "/chaos?tail=%ld", n);
		rv = ctl_simple(&ctl, cmd, "GET", target);
	} else if (strcmp(cmd, "metrics") == 0)
		rv = ctl_simple(&ctl, cmd, "GET", "/metrics");
	else if (strcmp(cmd, "reload") == 0)
		rv = ctl_simple(&ctl, cmd, "POST", "/reload");
	else
		rv = ctl_rule(&ctl, cmd, arg);
	free(ctl.addr);
	return rv;
}
