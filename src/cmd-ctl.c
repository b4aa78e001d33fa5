/*
 * cmd-ctl.c -- `decoy ctl COMMAND`: the admin API's command-line client.
 *
 * Each command is one or two blocking HTTP/1.1 requests, one connection
 * each (Connection: close), through httpc_fetch() with the --timeout
 * deadline.  Replies are printed as short tables or plain lines, or
 * passed through untouched with --json.  An error reply's
 * {"error": ...} message is printed and the exit status is 1; a server
 * that cannot be reached or does not speak HTTP is exit status 2, like a
 * usage error.
 */
#include "admin.h"
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cli.h"
#include "units.h"
#include "http.h"
#include "httpc.h"
#include "json.h"
#include "opt.h"
#include "sock.h"
#include "url.h"
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
	struct httpc_target t;		/* t.host is addr */
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

/*
 * Sends one request (httpc_fetch: one connection, Connection: close, the
 * --timeout deadline) and reads its reply into rp (the caller frees
 * rp->raw).  0 whatever the status, -1 with *cause if no reply could be
 * had.
 */
static int
ctl_request(const struct ctl *ctl, const char *method, const char *target,
    const char *body, size_t body_len, const char *ctype,
    struct ctl_reply *rp, char **cause)
{
	struct httpc_request	 req;
	struct httpc_reply	 hr;
	struct buf		 hdr;
	int			 rv;

	memset(rp, 0, sizeof *rp);
	buf_init(&hdr);
	buf_append_str(&hdr, "User-Agent: decoy-ctl/" PACKAGE_VERSION "\r\n"
	    "Accept: */*\r\n");
	if (ctl->token != NULL)
		buf_printf(&hdr, "Authorization: Bearer %s\r\n", ctl->token);
	if (ctype != NULL && (body != NULL || strcmp(method, "POST") == 0))
		buf_printf(&hdr, "Content-Type: %s\r\n", ctype);
	memset(&req, 0, sizeof req);
	req.method = method;
	req.target = target;
	req.headers = hdr.data;
	req.body = body;
	req.body_len = body_len;
	req.timeout_ns = ctl->timeout_ns;
	req.max_head = CTL_MAX_HEAD;
	req.max_reply = CTL_MAX_REPLY;
	rv = httpc_fetch(&ctl->t, &req, &hr, cause);
	buf_free(&hdr);
	if (rv == -1)
		return -1;
	rp->status = hr.status;
	rp->raw = hr.raw;
	rp->body = hr.body.p;
	rp->body_len = hr.body.len;
	return 0;
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

/* Reads the string value at p, decoded, as an allocated C string; NULL
 * if it is not a well-formed string. */
static char *
ctl_json_strdup(struct json_parser *p)
{
	struct buf	s;

	buf_init(&s);
	if (json_read_string(p, &s, NULL) == -1) {
		buf_free(&s);
		return NULL;
	}
	return buf_detach(&s, NULL);
}

/* The "error" member of an error reply, or NULL. */
static char *
ctl_error_message(const char *body, size_t len)
{
	struct json_parser	p;
	struct json_value	key;

	json_init(&p, body, len);
	if (json_object_enter(&p) == -1)
		return NULL;
	while (json_object_next(&p, &key) == 1) {
		if (json_string_eq(&key, "error") &&
		    json_peek(&p) == JSON_STRING)
			return ctl_json_strdup(&p);
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

/*
 * Reads the rules of {"rules":[{"name":...,"enabled":...,"matched":N,
 * "fired":N},...]} (other members skipped) into *rowsp / *nrowsp, which
 * hold what was read also on failure (the caller frees the names and
 * the array).  0, or -1 when body is not such a document.
 */
static int
ctl_rows_read(const char *body, size_t len, struct ctl_row **rowsp,
    size_t *nrowsp)
{
	struct json_parser	 p;
	struct json_value	 key, v;
	struct ctl_row		*row;
	int			 b;

	*rowsp = NULL;
	*nrowsp = 0;
	json_init(&p, body, len);
	if (json_object_enter(&p) == -1)
		return -1;
	while (json_object_next(&p, &key) == 1) {
		if (!json_string_eq(&key, "rules") ||
		    json_peek(&p) != JSON_ARRAY) {
			if (json_skip(&p, NULL) == -1)
				return -1;
			continue;
		}
		if (json_array_enter(&p) == -1)
			return -1;
		while (json_array_next(&p) == 1) {
			*rowsp = xreallocarray(*rowsp, *nrowsp + 1,
			    sizeof **rowsp);
			row = &(*rowsp)[(*nrowsp)++];
			memset(row, 0, sizeof *row);
			row->enabled = 1;
			memcpy(row->matched, "-", 2);
			memcpy(row->fired, "-", 2);
			if (json_object_enter(&p) == -1)
				return -1;
			while (json_object_next(&p, &key) == 1) {
				if (json_string_eq(&key, "name") &&
				    json_peek(&p) == JSON_STRING) {
					free(row->name);
					if ((row->name = ctl_json_strdup(&p)) ==
					    NULL)
						return -1;
				} else if (json_string_eq(&key, "enabled") &&
				    json_peek(&p) == JSON_BOOL) {
					if (json_read_bool(&p, &b) == -1)
						return -1;
					row->enabled = b;
				} else if ((json_string_eq(&key, "matched") ||
				    json_string_eq(&key, "fired")) &&
				    json_peek(&p) == JSON_NUMBER) {
					if (json_skip(&p, &v) == -1)
						return -1;
					snprintf(json_string_eq(&key,
					    "matched") ? row->matched :
					    row->fired, sizeof row->fired,
					    "%.*s", (int)v.len, v.p);
				} else if (json_skip(&p, NULL) == -1)
					return -1;
			}
		}
	}
	return p.error == NULL ? 0 : -1;
}

/* Prints {"seed":N,"rules":[...]} as a table. */
static int
ctl_print_rules(const char *body, size_t len)
{
	struct ctl_row	*rows;
	size_t		 nrows, i, w = 4;
	int		 rv;

	if ((rv = ctl_rows_read(body, len, &rows, &nrows)) == 0) {
		for (i = 0; i < nrows; i++) {
			if (rows[i].name == NULL)
				rows[i].name = xstrdup("?");
			if (strlen(rows[i].name) > w)
				w = strlen(rows[i].name);
		}
		printf("%-*s  %-7s  %10s  %10s\n", (int)w, "NAME",
		    "ENABLED", "MATCHED", "FIRED");
		for (i = 0; i < nrows; i++)
			printf("%-*s  %-7s  %10s  %10s\n", (int)w,
			    rows[i].name, rows[i].enabled ? "yes" : "no",
			    rows[i].matched, rows[i].fired);
	}
	for (i = 0; i < nrows; i++)
		free(rows[i].name);
	free(rows);
	return rv;
}

/* Prints "added NAME" for the rules in the reply {"rules":[{"name":...},
 * ...]}, as far as they can be read. */
static void
ctl_print_added(const struct ctl_reply *rp, const void *arg)
{
	struct ctl_row	*rows;
	size_t		 nrows, i;

	(void)arg;
	(void)ctl_rows_read(rp->body, rp->body_len, &rows, &nrows);
	for (i = 0; i < nrows; i++) {
		if (rows[i].name != NULL)
			printf("added %s\n", rows[i].name);
		free(rows[i].name);
	}
	free(rows);
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

/* Prints an argument string and a newline (a ctl_finish printer). */
static void
ctl_print_line(const struct ctl_reply *rp, const void *arg)
{
	(void)rp;
	printf("%s\n", (const char *)arg);
}

/*
 * Ends a command on its reply: an error reply's message (EXIT_FAILED),
 * else the body as it is with --json, else what human prints with arg
 * (EXIT_OK).  Frees the reply.
 */
static int
ctl_finish(const struct ctl *ctl, struct ctl_reply *rp,
    void (*human)(const struct ctl_reply *, const void *), const void *arg)
{
	int	rv = EXIT_OK;

	if (!ctl_is_ok(rp))
		rv = ctl_fail(rp);
	else if (ctl->json)
		ctl_print_body(rp);
	else
		human(rp, arg);
	buf_free(&rp->raw);
	return rv;
}

/* Reads a whole rule file ("-": stdin); NULL with *cause. */
static char *
ctl_read_file(const char *path, size_t *len, char **cause)
{
	char	*text;

	text = cli_read_file(path, CTL_MAX_RULE_FILE, len, cause);
	if (text != NULL && *len > CTL_MAX_RULE_FILE) {
		*cause = xasprintf("%s: larger than 1MiB", path);
		free(text);
		return NULL;
	}
	return text;
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
	return ctl_finish(ctl, &rp, ctl_print_added, NULL);
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
	char			*line;
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
	line = xasprintf("%s %s", done, name);
	rv = ctl_finish(ctl, &rp, ctl_print_line, line);
	free(line);
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

/*
 * Accepts "HOST:PORT", "[V6]:PORT", ":PORT" or "http://HOST[:PORT][/]"
 * (url.h: any case, port 80 when left out); returns "HOST:PORT" for the
 * Host header and messages.
 */
static char *
ctl_parse_addr(const char *s, struct sock_addr *sa, char **cause)
{
	struct url	 u;
	const char	*why;
	char		*addr;
	size_t		 len;

	if (strstr(s, "://") != NULL) {
		if (url_parse(s, strlen(s), 0, &u, &why) == -1) {
			*cause = xasprintf("admin address %s: %s", s, why);
			return NULL;
		}
		if (u.tls) {
			*cause = xstrdup("the admin API speaks plain HTTP, "
			    "not https");
			return NULL;
		}
		if (url_has_path(&u)) {
			*cause = xasprintf("admin address %s: a path is not "
			    "supported", s);
			return NULL;
		}
		addr = url_addr_dup(&u);
	} else {
		addr = xstrdup(s);
		len = strlen(addr);
		while (len > 0 && addr[len - 1] == '/')
			addr[--len] = '\0';
	}
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
	if ((ctl.addr = ctl_parse_addr(admin, &ctl.t.addr, &cause)) == NULL) {
		rv = cli_usage(e, "%s", cause);
		free(cause);
		return rv;
	}
	ctl.t.host = ctl.addr;

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
