/*
 * fuzz-shrink.c -- the pure parts of the fuzz campaign (fuzz.h): kind
 * names, endpoint templates, crash signatures from sanitizer reports and
 * wait statuses, and the smaller variants of a request that minimisation
 * tries.
 *
 * A request is handled as raw bytes that may not be valid HTTP: it is
 * cut into a request line, header lines and a body at the first blank
 * line, leniently, so that even a mutant with broken framing can be
 * shrunk.  A Content-Length that matched the body is kept matching it;
 * one that lied (the framing operators' point) is left as it was.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>

#include "buf.h"
#include "fuzz.h"
#include "grpc.h"
#include "protobuf.h"
#include "route.h"
#include "xmalloc.h"

#define SHRINK_MAX_HEADERS	256
#define SHRINK_MAX_UNITS	256
#define SHRINK_MAX_DEPTH	16	/* JSON levels whose members are tried */
#define SHRINK_LONG		32	/* values longer than this are halved */

/* A switch, not a table: -Wswitch names a kind left out. */
const char *
fuzz_kind_name(enum fuzz_kind k)
{
	switch (k) {
	case FUZZ_OK:
		return "ok";
	case FUZZ_5XX:
		return "5xx";
	case FUZZ_RESET:
		return "reset";
	case FUZZ_EOF:
		return "eof";
	case FUZZ_TIMEOUT:
		return "timeout";
	case FUZZ_SLOW:
		return "slow";
	case FUZZ_BAD_RESPONSE:
		return "bad-response";
	case FUZZ_CRASH:
		return "crash";
	case FUZZ_GRPC:
		return "grpc";
	case FUZZ_CONNECT:
		return "connect";
	}
	return "?";
}

enum fuzz_kind
fuzz_kind_parse(const char *name)
{
	enum fuzz_kind	k;

	for (k = FUZZ_5XX; k <= FUZZ_CONNECT; k++)
		if (strcmp(name, fuzz_kind_name(k)) == 0)
			return k;
	return FUZZ_OK;
}

/* ---- endpoints ---- */

char *
fuzz_endpoint(const char *method, size_t mlen, const char *path,
    size_t plen)
{
	struct buf	 b;
	const char	*q;

	if ((q = memchr(path, '?', plen)) != NULL)
		plen = (size_t)(q - path);
	buf_init(&b);
	buf_append(&b, method, mlen);
	buf_append_byte(&b, ' ');
	route_template(&b, path, plen);
	return buf_detach(&b, NULL);
}

/* ---- crash signatures ---- */

static const char *
fuzz_memmem(const char *h, size_t hlen, const char *n)
{
	return memmem(h, hlen, n, strlen(n));
}

/* The line that starts at p (up to end), without its newline. */
static size_t
fuzz_line_len(const char *p, const char *end)
{
	const char	*nl = memchr(p, '\n', (size_t)(end - p));

	return nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
}

/*
 * The function of the first stack frame ("    #N 0x... in FUNC FILE")
 * whose file is not the sanitizer's or the C library's own, in the
 * report starting at p.
 */
static char *
fuzz_first_frame(const char *p, const char *end)
{
	const char	*line, *in, *f, *fe, *rest, *mod, *mode, *slash;
	size_t		 n, i;
	int		 frames = 0;

	for (line = p; line < end && frames < 32; line += n + 1) {
		n = fuzz_line_len(line, end);
		for (i = 0; i < n && (line[i] == ' ' || line[i] == '\t'); i++)
			;
		if (i >= n || line[i] != '#')
			continue;
		frames++;
		if ((in = fuzz_memmem(line, n, " in ")) == NULL) {
			/* Not symbolized: "#1 0x5596 (/path/buggy+0x4d6fa)";
			 * the module stands for the frame (offsets move). */
			if ((mod = memchr(line, '(', n)) == NULL ||
			    (mode = memchr(mod, '+', (size_t)(line + n -
			    mod))) == NULL)
				continue;
			mod++;
			if (fuzz_memmem(mod, (size_t)(mode - mod), "libasan") !=
			    NULL || fuzz_memmem(mod, (size_t)(mode - mod),
			    "libubsan") != NULL || fuzz_memmem(mod,
			    (size_t)(mode - mod), "libc.so") != NULL ||
			    fuzz_memmem(mod, (size_t)(mode - mod),
			    "/usr/") != NULL || fuzz_memmem(mod,
			    (size_t)(mode - mod), "/lib/") != NULL)
				continue;
			slash = memrchr(mod, '/', (size_t)(mode - mod));
			if (slash != NULL)
				mod = slash + 1;
			return xstrndup(mod, (size_t)(mode - mod));
		}
		f = in + 4;
		fe = f;
		while (fe < line + n && *fe != ' ')
			fe++;
		rest = fe;
		if (strncmp(f, "__", 2) == 0 || fuzz_memmem(rest,
		    (size_t)(line + n - rest), "sanitizer") != NULL ||
		    fuzz_memmem(rest, (size_t)(line + n - rest),
		    "libc.so") != NULL || fuzz_memmem(rest,
		    (size_t)(line + n - rest), "libasan") != NULL ||
		    fuzz_memmem(rest, (size_t)(line + n - rest),
		    "libubsan") != NULL ||
		    fuzz_memmem(rest, (size_t)(line + n - rest),
		    "/usr/") != NULL)
			continue;
		if (fe - f == 4 && strncmp(f, "main", 4) == 0)
			continue;
		return xstrndup(f, (size_t)(fe - f));
	}
	return NULL;
}

static const char *
fuzz_signal_name(int sig)
{
	switch (sig) {
	case SIGABRT: return "SIGABRT";
	case SIGSEGV: return "SIGSEGV";
	case SIGBUS: return "SIGBUS";
	case SIGFPE: return "SIGFPE";
	case SIGILL: return "SIGILL";
	case SIGKILL: return "SIGKILL";
	case SIGTERM: return "SIGTERM";
	case SIGTRAP: return "SIGTRAP";
	case SIGPIPE: return "SIGPIPE";
	default: return NULL;
	}
}

char *
fuzz_crash_signature(const char *err, size_t len, int wstatus,
    char **excerpt)
{
	const char	*end = err + len, *p, *t, *te;
	char		*frame, *sig, *type;
	const char	*name;
	size_t		 n;
	int		 signo;

	if (excerpt != NULL)
		*excerpt = NULL;
	if ((p = fuzz_memmem(err, len, "ERROR: AddressSanitizer: ")) != NULL ||
	    (p = fuzz_memmem(err, len, "ERROR: LeakSanitizer: ")) != NULL ||
	    (p = fuzz_memmem(err, len, "ERROR: ThreadSanitizer: ")) != NULL) {
		t = p + 7;
		te = t;
		/* "AddressSanitizer: stack-overflow on address ...": the
		 * tool and the error type. */
		while (te < end && *te != ':')
			te++;
		te++;
		while (te < end && *te == ' ')
			te++;
		while (te < end && *te != ' ' && *te != '\n')
			te++;
		type = xstrndup(t, (size_t)(te - t));
		frame = fuzz_first_frame(te, end);
		sig = frame != NULL ? xasprintf("%s in %s", type, frame) :
		    xstrdup(type);
		free(type);
		free(frame);
		if (excerpt != NULL) {
			n = (size_t)(end - p) < 2048 ? (size_t)(end - p) : 2048;
			*excerpt = xstrndup(p, n);
		}
		return sig;
	}
	if ((p = fuzz_memmem(err, len, "runtime error: ")) != NULL) {
		/* "file.c:12:5: runtime error: signed integer overflow: ..." */
		t = p;
		while (t > err && t[-1] != '\n')
			t--;
		te = p + 15;
		while (te < end && *te != ':' && *te != '\n')
			te++;
		sig = xasprintf("runtime error: %.*s at %.*s", (int)(te - p - 15),
		    p + 15, (int)(p - t > 2 ? p - t - 2 : 0), t);
		if (excerpt != NULL) {
			n = (size_t)(end - t) < 2048 ? (size_t)(end - t) : 2048;
			*excerpt = xstrndup(t, n);
		}
		return sig;
	}
	if (wstatus == -1)
		return NULL;
	if (WIFSIGNALED(wstatus))
		signo = WTERMSIG(wstatus);
	else if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) > 128 &&
	    WEXITSTATUS(wstatus) < 128 + 32)
		signo = WEXITSTATUS(wstatus) - 128;	/* through sh -c */
	else if (WIFEXITED(wstatus))
		return xasprintf("exit %d", WEXITSTATUS(wstatus));
	else
		return xstrdup("died");
	if ((name = fuzz_signal_name(signo)) != NULL)
		return xasprintf("signal %s", name);
	return xasprintf("signal %d", signo);
}

/* ---- response signatures ---- */

#define SIG_BODY_MAX	2048	/* body bytes looked at */
#define SIG_MAX		160	/* signature bytes */
#define SIG_QUOTED_MAX	200	/* quoted values longer are left alone */

static int
sig_word(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

static int
sig_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

/* Bytes that are data, not text a developer wrote. */
static int
sig_data(char c)
{
	return (unsigned char)c < 0x20 || (unsigned char)c >= 0x7f ||
	    c == '\\';
}

/* White space and brackets: what separates the runs of a message. */
static int
sig_gap(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '(' ||
	    c == ')' || c == '[' || c == ']' || c == '{' || c == '}' ||
	    c == '<' || c == '>';
}

/* Does t[0..n) hold a bracket or a quote (which tokens stop at)? */
static int
sig_has_bracket(const char *t, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strchr("()[]{}<>'\"", t[i]) != NULL)
			return 1;
	return 0;
}

/* Bytes that end a token of an error message. */
static int
sig_stop(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '(' ||
	    c == ')' || c == '[' || c == ']' || c == '{' || c == '}' ||
	    c == '<' || c == '>' || c == ',' || c == ';' || c == '"' ||
	    c == '\'' || c == '=' || c == ':';
}

/* Does t[0..n) occur in the request as a whole token (not inside a
 * longer word)? */
static int
sig_echoed(const char *t, size_t n, const char *req, size_t rlen)
{
	const char	*p = req, *end = req + rlen, *hit;

	size_t		 i;

	if (req == NULL || n == 0)
		return 0;
	/* A number is a number (#) whether the request held it or not. */
	for (i = 0; i < n && ((t[i] >= '0' && t[i] <= '9') || t[i] == '.' ||
	    t[i] == '-' || t[i] == '+' || t[i] == 'e' || t[i] == 'E'); i++)
		;
	if (i == n) {
		/* ... unless it was sent as a JSON string: a name "001"
		 * echoed is a name, as "ann" is. */
		for (p = req; p < end && (hit = memmem(p, (size_t)(end - p),
		    t, n)) != NULL; p = hit + 1)
			if (hit > req && hit + n < end && hit[-1] == '"' &&
			    hit[n] == '"')
				return 1;
		return 0;
	}
	while (p < end && (hit = memmem(p, (size_t)(end - p), t, n)) != NULL) {
		if (n < 3) {
			/* Short words only as a whole JSON string (or its
			 * head up to an escape or a raw NUL) or a form or
			 * query value: "en", "en\u0000x", =en& */
			if (hit > req && hit + n < end && ((hit[-1] == '"' &&
			    (hit[n] == '"' || hit[n] == '\\' ||
			    hit[n] == '\0')) ||
			    (hit[-1] == '=' && (hit[n] == '&' || hit[n] == ' ' ||
			    hit[n] == '\r'))))
				return 1;
		} else if (hit > req && hit[-1] == '"' && hit + n < end &&
		    hit[n] == '\\') {
			/* The head of a JSON string up to an escape: a C
			 * service decodes "bo\u0000b" and echoes "bo". */
			return 1;
		} else if ((hit == req || !sig_word(hit[-1]) ||
		    !sig_word(t[0])) &&
		    (hit + n == end || !sig_word(hit[n]) ||
		    !sig_word(t[n - 1])))
			return 1;
		p = hit + 1;
	}
	return 0;
}

/* Appends the token t[0..n) with its words masked: a word with a digit,
 * or of 8 or more hex digits, is '#'. */
static void
sig_words(struct buf *b, const char *t, size_t n)
{
	size_t	k, w;
	int	digit, hex;

	for (k = 0; k < n; k = w) {
		if (!sig_word(t[k])) {
			buf_append_byte(b, t[k]);
			w = k + 1;
			continue;
		}
		digit = 0;
		hex = 1;
		for (w = k; w < n && sig_word(t[w]); w++) {
			if (t[w] >= '0' && t[w] <= '9')
				digit = 1;
			if (!sig_hex(t[w]))
				hex = 0;
		}
		if (digit || (hex && w - k >= 8))
			buf_append_byte(b, '#');
		else
			buf_append(b, t + k, w - k);
	}
}

/* Masked tokens from start on separated only by spaces or punctuation
 * (echoed input of several words) become one; trailing spaces go. */
static void
sig_join_masked(struct buf *b, size_t start)
{
	size_t	i, j, k;

	for (i = j = start; i < b->len; i++) {
		if (b->data[i] == '*' && j > start) {
			for (k = j; k > start && strchr(" ,;:.", b->data[k - 1]) !=
			    NULL; k--)
				;
			if (k < j && k > start && b->data[k - 1] == '*' &&
			    (k < 2 || (b->data[k - 2] != '\'' &&
			    b->data[k - 2] != '"'))) {
				j = k;
				continue;
			}
		}
		b->data[j++] = b->data[i];
	}
	b->len = j;
	while (b->len > start && b->data[b->len - 1] == ' ')
		b->len--;
	b->data[b->len] = '\0';
}

/*
 * Appends text t to b with what changes from one occurrence of a bug to
 * the next masked.  Quoted values ('x' or "x") become '*'.  A token (a
 * run up to white space or punctuation) that is data rather than words a
 * developer wrote becomes *: one the service echoed from the request
 * (found whole in it, or as the head of a JSON string up to an escape
 * such as \u0000 that the service decoded and cut the string at; one or
 * two bytes only as a whole JSON string or form value), one with bytes
 * outside printable
 * ASCII or a backslash escape, one longer than 32 bytes.  A path of two or
 * more segments becomes "/" and a star; in other tokens, words with a
 * digit (numbers, ids, hashes, addresses) and hex words of 8 or more
 * become #.  Brackets, which a service cutting its message short leaves
 * unbalanced, and runs of white space become one space.
 */
static void
sig_text(struct buf *b, const char *t, size_t n, const char *req,
    size_t rlen)
{
	size_t		i = 0, j, k, start = b->len;
	int		space = 0, data, glued = 0;
	const char	*q;

	while (i < n && b->len - start < SIG_MAX) {
		char c = t[i];

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
		    c == '(' || c == ')' || c == '[' || c == ']' || c == '{' ||
		    c == '}' || c == '<' || c == '>') {
			if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
				glued = 0;
			space = 1;
			i++;
			continue;
		}
		if (space && b->len > start)
			buf_append_byte(b, ' ');
		space = 0;
		/* A run up to white space with data in it (bytes outside
		 * printable ASCII, a backslash escape), or found whole in
		 * the request with brackets or quotes in it, is echoed
		 * input, whatever punctuation the service cut it at. */
		if (i == 0 || sig_gap(t[i - 1])) {
			for (j = i, data = 0; j < n && t[j] != ' ' &&
			    t[j] != '\t' && t[j] != '\r' && t[j] != '\n'; j++)
				data |= sig_data(t[j]);
			/* A quoted value stays '*' (below), data or not. */
			if (c == '\'' || c == '"')
				data = 0;
			/* Echoed whole, brackets or quotes and all ("b{b",
			 * "'''ann"). */
			for (k = j; k > i && strchr(")]}>,.;:", t[k - 1]) !=
			    NULL; k--)
				;
			if (!data && k > i && sig_has_bracket(t + i,
			    k - i) && sig_echoed(t + i, k - i, req, rlen))
				data = 1;
			if (data) {
				buf_append_byte(b, '*');
				glued = 1;
				i = j;
				continue;
			}
		}
		if ((c == '\'' || c == '"') && (i == 0 || !sig_word(t[i - 1])) &&
		    (q = memchr(t + i + 1, c, n - i - 1)) != NULL &&
		    (size_t)(q - t - i) <= SIG_QUOTED_MAX &&
		    memchr(t + i + 1, '\n', (size_t)(q - t - i - 1)) == NULL) {
			buf_append_byte(b, c);
			buf_append_byte(b, '*');
			buf_append_byte(b, c);
			i = (size_t)(q - t) + 1;
			continue;
		}
		if (sig_stop(c)) {
			buf_append_byte(b, c);
			glued = 0;
			i++;
			continue;
		}
		/* Echoed input with punctuation in it ("aGVsbG8=", "a:b,c")
		 * goes whole. */
		for (j = i; j < n && t[j] != ' ' && t[j] != '\t' &&
		    t[j] != '\n' && t[j] != '\r' && t[j] != '"' &&
		    t[j] != '\'' && t[j] != '(' && t[j] != ')' && t[j] != '[' &&
		    t[j] != ']' && t[j] != '{' && t[j] != '}' && t[j] != '<' &&
		    t[j] != '>'; j++)
			;
		if (j > i + 1 && sig_echoed(t + i, j - i, req, rlen)) {
			buf_append_byte(b, '*');
			glued = 1;
			i = j;
			continue;
		}
		data = 0;
		/* An escaped quote does not end a token. */
		for (j = i; j < n && (!sig_stop(t[j]) || (j > i &&
		    t[j - 1] == '\\')); j++)
			if ((unsigned char)t[j] < 0x20 ||
			    (unsigned char)t[j] >= 0x7f || t[j] == '\\')
				data = 1;
		/* glued: only brackets since masked data -- echoed input
		 * the service re-encoded in part ("bo{\u0011(b" for the
		 * raw bytes it was sent) is one run of data. */
		if (data || glued || j - i > 32 || sig_echoed(t + i, j - i, req,
		    rlen)) {
			buf_append_byte(b, '*');
			glued = 1;
			i = j;
			continue;
		}
		glued = 0;
		if (c == '/' && memchr(t + i + 1, '/', j - i - 1) != NULL) {
			buf_append_str(b, "/*");
			i = j;
			continue;
		}
		sig_words(b, t + i, j - i);
		i = j;
	}
	sig_join_masked(b, start);
}

/* The end of the JSON string whose opening quote is at b[i] (the index
 * of its closing quote, or n). */
static size_t
sig_json_string_end(const char *b, size_t i, size_t n)
{
	for (i++; i < n && b[i] != '"'; i++)
		if (b[i] == '\\')
			i++;
	return i < n ? i : n;
}

/*
 * A JSON object's members as "key=value ..." (string values, escapes and
 * all, through sig_text; numbers #; objects and arrays {} and []).  A
 * scanner, not a parser: the body may be cut short or carry bytes that
 * are not UTF-8 (services echo what they were sent).  -1 if it is not an
 * object.
 */
static int
sig_json(struct buf *b, const char *body, size_t len, const char *req,
    size_t rlen)
{
	size_t	i = 1, e, start = b->len;
	int	depth;

	while (i < len && b->len - start < SIG_MAX) {
		while (i < len && (body[i] == ' ' || body[i] == ',' ||
		    body[i] == '\n' || body[i] == '\r' || body[i] == '\t'))
			i++;
		if (i >= len || body[i] == '}')
			break;
		if (body[i] != '"')
			return -1;
		e = sig_json_string_end(body, i, len);
		if (b->len > start)
			buf_append_byte(b, ' ');
		buf_append(b, body + i + 1, e - i - 1);
		buf_append_byte(b, '=');
		for (i = e + 1; i < len && (body[i] == ' ' || body[i] == ':');
		    i++)
			;
		if (i >= len)
			break;
		if (body[i] == '"') {
			e = sig_json_string_end(body, i, len);
			sig_text(b, body + i + 1, e - i - 1, req, rlen);
			i = e + 1;
		} else if (body[i] == '{' || body[i] == '[') {
			buf_append_str(b, body[i] == '{' ? "{}" : "[]");
			for (depth = 0; i < len; i++) {
				if (body[i] == '"')
					i = sig_json_string_end(body, i, len);
				else if (body[i] == '{' || body[i] == '[')
					depth++;
				else if ((body[i] == '}' || body[i] == ']') &&
				    --depth == 0)
					break;
			}
			i++;
		} else {
			for (e = i; e < len && body[e] != ',' && body[e] != '}';
			    e++)
				;
			if ((body[i] >= '0' && body[i] <= '9') || body[i] == '-')
				buf_append_byte(b, '#');
			else
				buf_append(b, body + i, e - i);
			i = e;
		}
	}
	return 0;
}

/* The text between <tag> and </tag> (case-insensitive), or NULL. */
static const char *
sig_html_tag(const char *body, size_t len, const char *tag, size_t *n)
{
	char		 open[16], close[16];
	const char	*s, *e;
	size_t		 i;

	snprintf(open, sizeof open, "<%s>", tag);
	snprintf(close, sizeof close, "</%s>", tag);
	for (i = 0; i + strlen(open) <= len; i++) {
		if (strncasecmp(body + i, open, strlen(open)) != 0)
			continue;
		s = body + i + strlen(open);
		for (e = s; e + strlen(close) <= body + len; e++)
			if (strncasecmp(e, close, strlen(close)) == 0) {
				*n = (size_t)(e - s);
				return s;
			}
		return NULL;
	}
	return NULL;
}

char *
fuzz_body_signature(const char *body, size_t len, const char *req,
    size_t rlen)
{
	struct buf	 b;
	const char	*t, *end, *line, *last = NULL;
	size_t		 n, lastn = 0, full;

	while (len > 0 && (*body == ' ' || *body == '\t' || *body == '\r' ||
	    *body == '\n')) {
		body++;
		len--;
	}
	/* A Python traceback names the exception on its last line, which a
	 * deep recursion pushes far beyond SIG_BODY_MAX: read it all. */
	full = len;
	if (len > SIG_BODY_MAX)
		len = SIG_BODY_MAX;
	buf_init(&b);
	buf_append(&b, "", 0);
	if (len > 0 && *body == '{' && sig_json(&b, body, len, req, rlen) == 0)
		return buf_detach(&b, NULL);
	buf_reset(&b);
	buf_append(&b, "", 0);
	if (len > 0 && *body == '<') {
		if ((t = sig_html_tag(body, len, "title", &n)) != NULL ||
		    (t = sig_html_tag(body, len, "h1", &n)) != NULL)
			sig_text(&b, t, n, req, rlen);
		return buf_detach(&b, NULL);
	}
	if (len >= 9 && memcmp(body, "Traceback", 9) == 0) {
		/*
		 * Python: the exception's class (the last line, up to its
		 * ':') and where it was raised (the innermost frame, '  File
		 * "PATH", line N, in FUNC'): the message varies with the
		 * input ("can't multiply sequence", "can only concatenate
		 * str" are one unchecked type), the place does not.
		 */
		const char	*frame = NULL, *q, *fq, *fl;
		size_t		 framen = 0, cn;

		end = body + full;
		for (line = body; line < end; line += n + 1) {
			n = fuzz_line_len(line, end);
			if (n > 7 && memcmp(line, "  File ", 7) == 0) {
				frame = line;
				framen = n;
			} else if (n > 0 && line[0] != ' ' && line[0] != '\r') {
				last = line;
				lastn = n;
			}
		}
		if (last == NULL)
			return buf_detach(&b, NULL);
		q = memchr(last, ':', lastn);
		cn = q != NULL ? (size_t)(q - last) : lastn;
		sig_text(&b, last, cn, NULL, 0);
		if (frame != NULL && (fq = memchr(frame + 8, '"', framen - 8)) !=
		    NULL && (fl = memmem(fq, (size_t)(frame + framen - fq),
		    ", in ", 5)) != NULL) {
			q = memrchr(frame + 8, '/', (size_t)(fq - frame - 8));
			q = q != NULL ? q + 1 : frame + 8;
			buf_printf(&b, " in %.*s (%.*s:", (int)(frame + framen -
			    fl - 5), fl + 5, (int)(fq - q), q);
			for (q = fq; q < fl && (*q < '0' || *q > '9'); q++)
				;
			buf_printf(&b, "%.*s)", (int)(fl - q), q);
		}
		return buf_detach(&b, NULL);
	}
	end = body + len;
	if (len > 0)
		sig_text(&b, body, fuzz_line_len(body, end), req, rlen);
	return buf_detach(&b, NULL);
}

/* ---- requests cut into parts ---- */

struct shrink_line {
	const char	*p;
	size_t		 len;
};

struct shrink_req {
	struct shrink_line	 line;		/* request line */
	struct shrink_line	 method, target, version;
	int			 has_target;
	struct shrink_line	 hdrs[SHRINK_MAX_HEADERS];
	size_t			 nhdrs;
	const char		*sep;		/* "\r\n\r\n", "\n\n" or "" */
	const char		*body;
	size_t			 body_len;
	int			 cl;		/* header index or -1 */
	int			 cl_exact;	/* it matched the body */
};

static int
shrink_hdr_is(const struct shrink_line *h, const char *name)
{
	size_t	n = strlen(name);

	return h->len > n && h->p[n] == ':' && strncasecmp(h->p, name, n) == 0;
}

static void
shrink_parse(const char *req, size_t len, struct shrink_req *r)
{
	const char	*head_end, *p, *end, *nl, *sp1, *sp2, *v;
	size_t		 vlen, clv;
	int		 te = 0;

	memset(r, 0, sizeof *r);
	r->cl = -1;
	if ((head_end = memmem(req, len, "\r\n\r\n", 4)) != NULL) {
		r->sep = "\r\n\r\n";
		r->body = head_end + 4;
	} else if ((head_end = memmem(req, len, "\n\n", 2)) != NULL) {
		r->sep = "\n\n";
		r->body = head_end + 2;
	} else {
		r->sep = "";
		head_end = req + len;
		r->body = req + len;
	}
	r->body_len = (size_t)(req + len - r->body);
	end = head_end;
	for (p = req; p <= end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		vlen = (size_t)(nl - p);
		if (vlen > 0 && p[vlen - 1] == '\r' && nl != end)
			vlen--;
		if (p == req) {
			r->line.p = p;
			r->line.len = vlen;
		} else if (r->nhdrs < SHRINK_MAX_HEADERS) {
			r->hdrs[r->nhdrs].p = p;
			r->hdrs[r->nhdrs].len = vlen;
			r->nhdrs++;
		}
		if (nl == end)
			break;
	}
	sp1 = memchr(r->line.p, ' ', r->line.len);
	sp2 = sp1 != NULL ? memrchr(r->line.p, ' ', r->line.len) : NULL;
	if (sp1 != NULL && sp2 != NULL && sp2 > sp1) {
		r->has_target = 1;
		r->method.p = r->line.p;
		r->method.len = (size_t)(sp1 - r->line.p);
		r->target.p = sp1 + 1;
		r->target.len = (size_t)(sp2 - sp1 - 1);
		r->version.p = sp2 + 1;
		r->version.len = (size_t)(r->line.p + r->line.len - sp2 - 1);
	}
	for (size_t i = 0; i < r->nhdrs; i++) {
		if (shrink_hdr_is(&r->hdrs[i], "Transfer-Encoding"))
			te = 1;
		if (!shrink_hdr_is(&r->hdrs[i], "Content-Length"))
			continue;
		if (r->cl != -1) {
			r->cl = -2;	/* several: leave them alone */
			continue;
		}
		r->cl = (int)i;
	}
	if (r->cl >= 0 && !te) {
		v = r->hdrs[r->cl].p + 15;
		vlen = r->hdrs[r->cl].len - 15;
		while (vlen > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			vlen--;
		}
		while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
		clv = 0;
		for (size_t i = 0; i < vlen && vlen <= 18; i++) {
			if (v[i] < '0' || v[i] > '9') {
				clv = (size_t)-1;
				break;
			}
			clv = clv * 10 + (size_t)(v[i] - '0');
		}
		r->cl_exact = vlen > 0 && vlen <= 18 && clv == r->body_len;
	}
	if (r->cl < 0)
		r->cl = -1;
}

/* An edit: the parts that replace the request's own. */
struct shrink_edit {
	ssize_t		 drop_hdr;	/* -1: none; -2: every removable */
	ssize_t		 hdr;		/* header whose value is replaced */
	struct buf	 value;		/* its new full line */
	int		 target_set;
	struct buf	 target;
	int		 body_set;
	struct buf	 body;
};

static int
shrink_removable(const struct shrink_req *r, size_t i)
{
	if (shrink_hdr_is(&r->hdrs[i], "Host"))
		return 0;
	if ((int)i == r->cl && r->cl_exact)
		return 0;
	return 1;
}

static void
shrink_build(const struct shrink_req *r, const struct shrink_edit *e,
    struct buf *out)
{
	const char	*body = e->body_set ? e->body.data : r->body;
	size_t		 body_len = e->body_set ? e->body.len : r->body_len;
	const char	*eol = r->sep[0] == '\n' ? "\n" : "\r\n";
	size_t		 i;

	buf_reset(out);
	if (r->has_target) {
		buf_append(out, r->method.p, r->method.len);
		buf_append_byte(out, ' ');
		if (e->target_set)
			buf_append(out, e->target.data, e->target.len);
		else
			buf_append(out, r->target.p, r->target.len);
		buf_append_byte(out, ' ');
		buf_append(out, r->version.p, r->version.len);
	} else
		buf_append(out, r->line.p, r->line.len);
	for (i = 0; i < r->nhdrs; i++) {
		if (e->drop_hdr == (ssize_t)i ||
		    (e->drop_hdr == -2 && shrink_removable(r, i)))
			continue;
		buf_append_str(out, eol);
		if ((int)i == r->cl && r->cl_exact)
			buf_printf(out, "Content-Length: %zu", body_len);
		else if (e->hdr == (ssize_t)i)
			buf_append(out, e->value.data, e->value.len);
		else
			buf_append(out, r->hdrs[i].p, r->hdrs[i].len);
	}
	buf_append_str(out, r->sep);
	buf_append(out, body, body_len);
}

/* ---- JSON-ish bodies: members, elements and long strings ---- */

struct shrink_units {
	size_t	start[SHRINK_MAX_UNITS];	/* removal spans */
	size_t	end[SHRINK_MAX_UNITS];
	size_t	n;
	size_t	sstart[SHRINK_MAX_UNITS];	/* long strings' contents */
	size_t	send[SHRINK_MAX_UNITS];
	size_t	ns;
};

struct shrink_level {
	size_t	last_start;	/* start of the current element */
	size_t	prev_end;	/* end of the previous element, or 0 */
	int	has;		/* an element started */
};

static void
shrink_unit_add(struct shrink_units *u, size_t s, size_t e)
{
	if (u->n < SHRINK_MAX_UNITS && e > s) {
		u->start[u->n] = s;
		u->end[u->n] = e;
		u->n++;
	}
}

/*
 * Finds the members and elements of the containers (down to
 * SHRINK_MAX_DEPTH levels) and the long strings of a JSON-looking body,
 * tolerating anything.  A member's removal span takes its comma with it.
 */
static void
shrink_json_units(const char *b, size_t len, struct shrink_units *u)
{
	struct shrink_level	lv[SHRINK_MAX_DEPTH + 1];
	size_t			i, s, elem_end = 0;
	int			depth = 0;

	u->n = u->ns = 0;
	for (i = 0; i < len; i++) {
		char	c = b[i];

		if (c == '"') {
			s = i;
			for (i++; i < len && b[i] != '"'; i++)
				if (b[i] == '\\')
					i++;
			if (i - s - 1 > SHRINK_LONG && u->ns < SHRINK_MAX_UNITS) {
				u->sstart[u->ns] = s + 1;
				u->send[u->ns] = i < len ? i : len;
				u->ns++;
			}
			if (depth > 0 && depth <= SHRINK_MAX_DEPTH &&
			    !lv[depth].has) {
				lv[depth].has = 1;
				lv[depth].last_start = s;
			}
			continue;
		}
		if (c == '{' || c == '[') {
			if (depth > 0 && depth <= SHRINK_MAX_DEPTH &&
			    !lv[depth].has) {
				lv[depth].has = 1;
				lv[depth].last_start = i;
			}
			depth++;
			if (depth <= SHRINK_MAX_DEPTH) {
				lv[depth].has = 0;
				lv[depth].prev_end = 0;
			}
			continue;
		}
		if (c == ',' || c == '}' || c == ']') {
			if (depth > 0 && depth <= SHRINK_MAX_DEPTH &&
			    lv[depth].has) {
				elem_end = i;
				if (c == ',')
					shrink_unit_add(u, lv[depth].last_start,
					    i + 1);
				else if (lv[depth].prev_end > 0)
					shrink_unit_add(u, lv[depth].prev_end,
					    elem_end);
				else
					shrink_unit_add(u, lv[depth].last_start,
					    elem_end);
				lv[depth].prev_end = i;
				lv[depth].has = 0;
			}
			if (c != ',' && depth > 0)
				depth--;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
		    c == ':')
			continue;
		if (depth > 0 && depth <= SHRINK_MAX_DEPTH && !lv[depth].has) {
			lv[depth].has = 1;
			lv[depth].last_start = i;
		}
	}
}

/*
 * The longest run (at least 8 repetitions) of a pattern of period p
 * (1..maxp) whose bytes satisfy ok() and whose first byte is in first:
 * its start, period and repetitions.  0 if there is none.
 */
static int
shrink_run(const char *b, size_t len, size_t maxp, const char *first,
    const char *allowed, size_t *start, size_t *period, size_t *reps)
{
	size_t	p, i, r, best = 0;

	for (p = 1; p <= maxp; p++) {
		for (i = 0; i + p <= len; ) {
			if (strchr(first, b[i]) == NULL || (allowed != NULL &&
			    strspn(b + i, allowed) < p)) {
				i++;
				continue;
			}
			for (r = 1; i + (r + 1) * p <= len &&
			    memcmp(b + i, b + i + r * p, p) == 0; r++)
				;
			if (r >= 8 && r * p > best) {
				best = r * p;
				*start = i;
				*period = p;
				*reps = r;
			}
			i += r > 1 ? (r - 1) * p + 1 : 1;
		}
	}
	return best > 0;
}

/*
 * Deep nesting halved: half the repetitions of the longest run of an
 * opening pattern ("[", "{\"a\":", ...) and as many of the longest run
 * of closing brackets after it, so that the body keeps its shape.
 */
static int
shrink_nesting(struct shrink_edit *e, const char *b, size_t len)
{
	size_t	os, op, on, cs = 0, cp = 0, cn = 0, k, ck;

	if (!shrink_run(b, len, 8, "[{", NULL, &os, &op, &on))
		return 0;
	k = on / 2;
	ck = 0;
	if (shrink_run(b + os + on * op, len - os - on * op, 2, "]}", "]}",
	    &cs, &cp, &cn)) {
		cs += os + on * op;
		if (cn < k)
			k = cn;
		ck = k;
	}
	e->body_set = 1;
	buf_reset(&e->body);
	buf_append(&e->body, b, os);
	buf_append(&e->body, b + os + k * op, ck > 0 ? cs - os - k * op :
	    len - os - k * op);
	if (ck > 0)
		buf_append(&e->body, b + cs + ck * cp, len - cs - ck * cp);
	return 1;
}

static int
shrink_is_json(const char *b, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n')
			continue;
		return b[i] == '{' || b[i] == '[';
	}
	return 0;
}

static void
shrink_edit_init(struct shrink_edit *e)
{
	memset(e, 0, sizeof *e);
	e->drop_hdr = -1;
	e->hdr = -1;
	buf_init(&e->value);
	buf_init(&e->target);
	buf_init(&e->body);
}

static void
shrink_edit_free(struct shrink_edit *e)
{
	buf_free(&e->value);
	buf_free(&e->target);
	buf_free(&e->body);
}

/* Sets the body to b with [s, e) removed. */
static void
shrink_body_cut(struct shrink_edit *ed, const char *b, size_t len, size_t s,
    size_t e)
{
	ed->body_set = 1;
	buf_reset(&ed->body);
	buf_append(&ed->body, b, s);
	buf_append(&ed->body, b + e, len - e);
}

/*
 * The stages of fuzz_shrink(), in order.  Each returns 1 when the i-th
 * variant is one of its own (the edit e is set), else 0 with *i less
 * the number of its variants.
 */

/* Every removable header at once; each removable header; each long
 * header value halved. */
static int
shrink_stage_headers(const struct shrink_req *r, struct shrink_edit *e,
    size_t *i)
{
	const char	*v;
	size_t		 k, n, nrem = 0;

	for (k = 0; k < r->nhdrs; k++)
		nrem += shrink_removable(r, k);
	if (nrem >= 2) {
		if (*i == 0) {
			e->drop_hdr = -2;
			return 1;
		}
		(*i)--;
	}
	for (k = 0; k < r->nhdrs; k++) {
		if (!shrink_removable(r, k))
			continue;
		if (*i == 0) {
			e->drop_hdr = (ssize_t)k;
			return 1;
		}
		(*i)--;
	}
	for (k = 0; k < r->nhdrs; k++) {
		if ((v = memchr(r->hdrs[k].p, ':', r->hdrs[k].len)) == NULL ||
		    (int)k == r->cl)
			continue;
		n = (size_t)(r->hdrs[k].p + r->hdrs[k].len - v - 1);
		if (n <= SHRINK_LONG)
			continue;
		if (*i == 0) {
			e->hdr = (ssize_t)k;
			buf_append(&e->value, r->hdrs[k].p,
			    (size_t)(v + 1 - r->hdrs[k].p) + n / 2);
			return 1;
		}
		(*i)--;
	}
	return 0;
}

/* A JSON body: deep nesting halved; each member or element removed;
 * each long string halved. */
static int
shrink_stage_json(const struct shrink_req *r, struct shrink_edit *e,
    size_t *i)
{
	struct shrink_units	*u;
	size_t			 n;
	int			 found = 0;

	if (shrink_nesting(e, r->body, r->body_len)) {
		if (*i == 0)
			return 1;
		(*i)--;
		e->body_set = 0;
	}
	u = xmalloc(sizeof *u);
	u->n = u->ns = 0;
	shrink_json_units(r->body, r->body_len, u);
	if (*i < u->n) {
		shrink_body_cut(e, r->body, r->body_len, u->start[*i],
		    u->end[*i]);
		found = 1;
	} else if (*i - u->n < u->ns) {
		*i -= u->n;
		n = u->send[*i] - u->sstart[*i];
		shrink_body_cut(e, r->body, r->body_len, u->sstart[*i] + n / 2,
		    u->send[*i]);
		found = 1;
	} else
		*i -= u->n + u->ns;
	free(u);
	return found;
}

/* 1 if r's content-type is gRPC's. */
static int
shrink_is_grpc(const struct shrink_req *r)
{
	const char	*v;
	size_t		 k;

	for (k = 0; k < r->nhdrs; k++)
		if (shrink_hdr_is(&r->hdrs[k], "content-type")) {
			v = (const char *)memchr(r->hdrs[k].p, ':',
			    r->hdrs[k].len) + 1;
			return grpc_is_content_type(span_trim((struct span){
			    v, (size_t)(r->hdrs[k].p + r->hdrs[k].len - v) }));
		}
	return 0;
}

/*
 * A gRPC call whose first message reads as protobuf: its fields in runs
 * (halves, quarters, eighths: a field repeated thousands of times goes
 * in a few steps), then each field alone, removed with the length
 * prefix rewritten.  0 with *i less its variants when it has none.
 */
static int
shrink_stage_grpc(const struct shrink_req *r, struct shrink_edit *e,
    size_t *i)
{
	const uint8_t	*b = (const uint8_t *)r->body;
	struct grpc_msg	 m;
	struct pb_reader rd;
	struct pb_field	 f;
	const char	*why;
	size_t		 off = 0, at[SHRINK_MAX_UNITS + 1], n = 0, div;
	size_t		 s = 0, t = 0, mlen;

	if (!shrink_is_grpc(r) || grpc_next_msg(b, r->body_len, &off, &m,
	    &why) != 1 || m.compressed)
		return 0;
	pb_reader_init(&rd, m.p, m.len);
	while (n < SHRINK_MAX_UNITS && pb_read_field(&rd, &f) == 1)
		at[n++] = f.off;
	if (rd.error != NULL || n == 0)
		return 0;
	at[n] = rd.off;
	for (div = 2; div <= 8 && n >= div && t == s; div *= 2) {
		if (*i < div) {
			s = at[*i * (n / div)];
			t = at[*i == div - 1 ? n : (*i + 1) * (n / div)];
		} else
			*i -= div;
	}
	if (t == s) {
		if (*i >= n) {
			*i -= n;
			return 0;
		}
		s = at[*i];
		t = at[*i + 1];
	}
	mlen = m.len - (t - s);
	e->body_set = 1;
	buf_reset(&e->body);
	grpc_put_msg(&e->body, 0, m.p, s);
	buf_append(&e->body, m.p + t, m.len - t);
	e->body.data[m.off + 1] = (char)(mlen >> 24);
	e->body.data[m.off + 2] = (char)(mlen >> 16);
	e->body.data[m.off + 3] = (char)(mlen >> 8);
	e->body.data[m.off + 4] = (char)mlen;
	buf_append(&e->body, r->body + off, r->body_len - off);
	return 1;
}

/* The whole body; then a JSON body's parts, a gRPC message's fields, or
 * a half, a quarter, an eighth of another body. */
static int
shrink_stage_body(const struct shrink_req *r, struct shrink_edit *e,
    size_t *i)
{
	size_t	div, chunk;

	if (r->body_len == 0)
		return 0;
	if (*i == 0) {
		shrink_body_cut(e, r->body, r->body_len, 0, r->body_len);
		return 1;
	}
	(*i)--;
	if (shrink_is_json(r->body, r->body_len))
		return shrink_stage_json(r, e, i);
	if (shrink_is_grpc(r))
		return shrink_stage_grpc(r, e, i);
	for (div = 2; div <= 8 && r->body_len >= div; div *= 2) {
		chunk = r->body_len / div;
		if (*i < div) {
			shrink_body_cut(e, r->body, r->body_len, *i * chunk,
			    *i == div - 1 ? r->body_len : (*i + 1) * chunk);
			return 1;
		}
		*i -= div;
	}
	return 0;
}

/* The whole query; each query parameter with one of its '&' (when
 * there are several: one alone is the whole query); each long path
 * segment halved. */
static int
shrink_stage_target(const struct shrink_req *r, struct shrink_edit *e,
    size_t *i)
{
	const char	*t = r->target.p, *q, *seg, *segend, *end;
	size_t		 tlen = r->target.len, plen, n;

	if (!r->has_target)
		return 0;
	end = t + tlen;
	q = memchr(t, '?', tlen);
	plen = q != NULL ? (size_t)(q - t) : tlen;
	if (q != NULL && (*i)-- == 0) {
		e->target_set = 1;
		buf_append(&e->target, t, plen);
		return 1;
	}
	for (seg = q + 1; q != NULL && memchr(q + 1, '&', (size_t)(end - q -
	    1)) != NULL && seg < end; seg = segend + 1) {
		if ((segend = memchr(seg, '&', (size_t)(end - seg))) == NULL)
			segend = end;
		if ((*i)-- > 0)
			continue;
		e->target_set = 1;
		buf_append(&e->target, t, (size_t)(seg - t) -
		    (segend < end ? 0 : 1));
		if (segend < end)
			buf_append(&e->target, segend + 1,
			    (size_t)(end - segend - 1));
		return 1;
	}
	for (seg = t; seg < t + plen; seg = segend) {
		for (segend = ++seg; segend < t + plen && *segend != '/';
		    segend++)
			;
		if ((n = (size_t)(segend - seg)) <= SHRINK_LONG)
			continue;
		if ((*i)-- == 0) {
			e->target_set = 1;
			buf_append(&e->target, t, (size_t)(seg - t) + n / 2);
			buf_append(&e->target, segend, (size_t)(end - segend));
			return 1;
		}
	}
	return 0;
}

/*
 * The i-th variant, in this order: every removable header at once; each
 * removable header; each long header value halved; an empty body; deep
 * JSON nesting halved; each JSON member or element (or a gRPC call's
 * protobuf fields, in runs then alone; or a half, quarter, eighth of
 * another body) removed; each long JSON string halved; the query
 * removed; each query parameter removed; each long path segment halved.
 */
int
fuzz_shrink(const char *req, size_t len, size_t i, struct buf *out)
{
	struct shrink_req	*r;
	struct shrink_edit	 e;
	int			 ok = 0;

	r = xmalloc(sizeof *r);
	shrink_parse(req, len, r);
	shrink_edit_init(&e);
	if (shrink_stage_headers(r, &e, &i) || shrink_stage_body(r, &e, &i) ||
	    shrink_stage_target(r, &e, &i)) {
		shrink_build(r, &e, out);
		ok = 1;
		if (out->len >= len) {
			/* Not smaller (a Content-Length grew a digit): skip
			 * it by handing back the original, which the caller
			 * sees as no progress; never loop on it. */
			buf_reset(out);
			buf_append(out, req, len);
		}
	}
	shrink_edit_free(&e);
	free(r);
	return ok;
}
