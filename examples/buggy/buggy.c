/*
 * buggy.c -- a small JSON API with planted bugs, the target of `decoy fuzz`
 * in the tests and the docs.  Normal traffic (examples/buggy/record.sh,
 * examples/snapshots/buggy.jsonl) never triggers a bug; mutating those
 * requests does.  Each bug lives on its own endpoint:
 *
 *   POST /cart/items  {"sku":"sku-1","qty":2}
 *        BUG crash: a negative qty reaches reserve(), whose invariant
 *        check aborts the process (SIGABRT).
 *   POST /users       {"name":"ann","email":"ann@example.com"}
 *        BUG 500: a missing (or non-string) email is not handled.
 *   POST /payments    {"amount":1200,"currency":"eur"}
 *        Three bugs, three different 500s (the error body names the
 *        exception, as a Python or Java service would, with a trace id
 *        that changes with every request):
 *        BUG 500 TypeError: a string amount ("1200") is not handled.
 *        BUG 500 KeyError: a missing currency is not handled.
 *        BUG 500 OverflowError: an amount of 2^31 or more passes the
 *        validation (up to 2^32-1) but not the int32 of the ledger.
 *   POST /upload      any body
 *        BUG hang: a Content-Length above 64 KiB takes the "large upload"
 *        path, which takes end of file for a slow client and waits for
 *        the rest of the body forever.
 *   GET  /search?q=..&page=..  (with an X-Request-Id header)
 *        BUG slow: a page above 1000 takes 400 ms (deep pagination walks
 *        every page before it) where an answer takes well under 1 ms.
 *        BUG crash: the cache key copies the target and each header
 *        value into a 4 KiB stack buffer, cutting each value to 4 KiB
 *        but forgetting what is already there: a long header smashes the
 *        stack (a stack-protector abort, or an ASan stack-buffer-overflow
 *        report).
 *   POST /documents   {"title":..,"tags":[..],"meta":{..}}
 *        BUG crash: the nesting check recurses without a limit on a small
 *        thread stack: deep nesting overflows it (SIGSEGV).
 *        BUG 500 IndexError: documents nested 17 to 64 levels deep
 *        (deeper ones get a 400) overflow the 16-level path stack of the
 *        indexer: only moderate nesting reaches it.
 *   GET  /items/N, GET /healthz   no bug.
 *
 * --fixed disables every bug (the same requests get 4xx answers), so a
 * test can check that `decoy fuzz --replay` reports the findings fixed.
 *
 * Correct protocol handling, which is not a bug (decoy fuzz must not
 * report it): 501 for a method it does not implement, 505 for an HTTP
 * version other than 1.x, an HTTP/0.9 answer (the body alone) to a
 * request line without a version, a close without an answer after a
 * request line that is not HTTP, 400 for other malformed heads.
 *
 * The server: one thread per connection (small stacks, see above),
 * blocking sockets, keep-alive, Content-Length bodies only (chunked
 * requests get a 411).  A test fixture, not part of decoy.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "http.h"
#include "log.h"
#include "match.h"
#include "sock.h"
#include "xmalloc.h"
#include "shop.h"

#define BUGGY_MAX_HEAD		(1024 * 1024)
#define BUGGY_MAX_BODY		(1024 * 1024)
#define BUGGY_LARGE_UPLOAD	(64 * 1024)
#define BUGGY_THREAD_STACK	(256 * 1024)
#define BUGGY_IDLE_MS		30000

static int	buggy_fixed;
static unsigned	buggy_trace;	/* trace ids of error answers */

struct buggy_conn {
	int		fd;
	struct buf	in;
};

/* ---- handlers ---- */

/* A 500 as a framework writes it: the exception, its message and a
 * trace id that differs from one request to the next. */
static void __attribute__((format(printf, 3, 4)))
buggy_500(struct shop_res *res, const char *exception, const char *fmt, ...)
{
	cJSON	*obj;
	char	 msg[256], trace[32];
	va_list	 ap;
	unsigned t = __atomic_add_fetch(&buggy_trace, 1, __ATOMIC_RELAXED);

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(trace, sizeof trace, "%08x%08x", t * 2654435761u,
	    t ^ 0x5bd1e995u);
	obj = cJSON_CreateObject();
	cJSON_AddStringToObject(obj, "error", "internal_error");
	cJSON_AddStringToObject(obj, "exception", exception);
	cJSON_AddStringToObject(obj, "message", msg);
	cJSON_AddStringToObject(obj, "trace_id", trace);
	shop_res_json(res, 500, obj);
}

static void
buggy_reserve(long qty)
{
	/* The invariant the handler forgot to check for. */
	if (qty < 0) {
		fprintf(stderr, "buggy: reserve: negative quantity %ld\n", qty);
		abort();
	}
}

static void
buggy_cart(const struct shop_req *req, struct shop_res *res)
{
	cJSON		*obj, *q, *out;
	const char	*sku;
	long		 qty;

	if ((obj = shop_json_parse(req->body, req->body_len)) == NULL) {
		shop_res_error(res, 400, "invalid_json");
		return;
	}
	sku = shop_json_str(obj, "sku");
	q = cJSON_GetObjectItemCaseSensitive(obj, "qty");
	if (sku == NULL || !cJSON_IsNumber(q) || q->valuedouble > 1000 ||
	    q->valuedouble != q->valuedouble) {
		shop_res_error(res, 400, "invalid_item");
		goto out;
	}
	qty = (long)q->valuedouble;
	if (buggy_fixed && qty < 0) {
		shop_res_error(res, 400, "invalid_qty");
		goto out;
	}
	buggy_reserve(qty);
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "sku", sku);
	cJSON_AddNumberToObject(out, "qty", (double)qty);
	shop_res_json(res, 201, out);
out:
	cJSON_Delete(obj);
}

static void
buggy_users(const struct shop_req *req, struct shop_res *res)
{
	cJSON		*obj, *out;
	const char	*name, *email;

	if ((obj = shop_json_parse(req->body, req->body_len)) == NULL) {
		shop_res_error(res, 400, "invalid_json");
		return;
	}
	name = shop_json_str(obj, "name");
	email = shop_json_str(obj, "email");
	if (name == NULL || *name == '\0') {
		shop_res_error(res, 400, "invalid_name");
		goto out;
	}
	if (email == NULL) {
		/* The bug: the validation of email was never written. */
		if (buggy_fixed)
			shop_res_error(res, 400, "invalid_email");
		else
			buggy_500(res, "AttributeError", "'NoneType' object has "
			    "no attribute 'lower' (user %s)", name);
		goto out;
	}
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "id", "u-1");
	cJSON_AddStringToObject(out, "name", name);
	cJSON_AddStringToObject(out, "email", email);
	shop_res_json(res, 201, out);
out:
	cJSON_Delete(obj);
}

static void
buggy_payments(const struct shop_req *req, struct shop_res *res)
{
	cJSON		*obj, *a, *out;
	const char	*currency;

	if ((obj = shop_json_parse(req->body, req->body_len)) == NULL) {
		shop_res_error(res, 400, "invalid_json");
		return;
	}
	a = cJSON_GetObjectItemCaseSensitive(obj, "amount");
	currency = shop_json_str(obj, "currency");
	if (a == NULL) {
		shop_res_error(res, 400, "missing_field");
		goto out;
	}
	if (currency == NULL && cJSON_GetObjectItemCaseSensitive(obj,
	    "currency") == NULL) {
		/* The bug: the currency is looked up without a default. */
		if (buggy_fixed)
			shop_res_error(res, 400, "missing_field");
		else
			buggy_500(res, "KeyError", "'currency'");
		goto out;
	}
	if (currency == NULL) {
		shop_res_error(res, 400, "invalid_currency");
		goto out;
	}
	if (cJSON_IsString(a)) {
		/* The bug: a string amount falls through to an error path
		 * that was meant to be unreachable. */
		if (buggy_fixed)
			shop_res_error(res, 400, "invalid_amount");
		else
			buggy_500(res, "TypeError", "unsupported operand "
			    "type(s) for *: 'str' and 'int' (amount '%.40s')",
			    a->valuestring);
		goto out;
	}
	if (!cJSON_IsNumber(a) || a->valuedouble < 1 ||
	    a->valuedouble > 4294967295.0) {
		shop_res_error(res, 400, "invalid_amount");
		goto out;
	}
	if (a->valuedouble > 2147483647.0) {
		/* The bug: validated as a uint32, stored as an int32. */
		if (buggy_fixed)
			shop_res_error(res, 400, "invalid_amount");
		else
			buggy_500(res, "OverflowError", "amount %.0f does not "
			    "fit the ledger's int32 (max 2147483647)",
			    a->valuedouble);
		goto out;
	}
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "id", "pay-1");
	cJSON_AddNumberToObject(out, "amount", a->valuedouble);
	cJSON_AddStringToObject(out, "currency", currency);
	shop_res_json(res, 201, out);
out:
	cJSON_Delete(obj);
}

static void
buggy_upload(const struct shop_req *req, struct shop_res *res)
{
	cJSON	*out;

	out = cJSON_CreateObject();
	cJSON_AddNumberToObject(out, "size", (double)req->body_len);
	shop_res_json(res, 201, out);
}

/*
 * The cache key: the target, then every header value, each cut to the
 * key's size.  The bug: the cut ignores what the key already holds, so a
 * value as long as the key overflows it by the bytes before it.
 */
static __attribute__((noinline)) size_t
buggy_search_key(const struct shop_req *req, char *digest, size_t dlen)
{
	const struct http_msg	*m = req->msg;
	char			 key[4096];
	size_t			 off, i, n;

	off = req->target.len < sizeof key ? req->target.len : sizeof key;
	memcpy(key, req->target.p, off);
	for (i = 0; i < m->nheaders && off < sizeof key; i++) {
		n = m->headers[i].value.len;
		if (n > sizeof key)
			n = sizeof key;
		if (buggy_fixed && n > sizeof key - off)
			n = sizeof key - off;
		memcpy(key + off, m->headers[i].value.p, n);
		off += n;
	}
	snprintf(digest, dlen, "%016llx", (unsigned long long)match_hash(
	    MATCH_HASH_INIT, key, off < sizeof key ? off : sizeof key));
	return off;
}

/* The value of query parameter name as a number (leading digits), or 0. */
static long
buggy_query_long(struct span q, const char *name)
{
	const char	*p = q.p, *end = q.p + q.len;
	size_t		 nlen = strlen(name);
	long		 v = 0;

	while (p < end) {
		if ((size_t)(end - p) > nlen && memcmp(p, name, nlen) == 0 &&
		    p[nlen] == '=') {
			for (p += nlen + 1; p < end && *p >= '0' && *p <= '9';
			    p++)
				v = v < 100000000 ? v * 10 + (*p - '0') : v;
			return v;
		}
		while (p < end && *p != '&')
			p++;
		p++;
	}
	return 0;
}

static void
buggy_search(const struct shop_req *req, struct shop_res *res)
{
	cJSON	*out;
	char	 digest[32];
	size_t	 n;
	long	 page;

	/* The bug: deep pages are reached by walking every page before
	 * them (a fixed cost of 400 ms here, well above the usual <1 ms). */
	page = buggy_query_long(req->query, "page");
	if (page > 1000) {
		if (buggy_fixed) {
			shop_res_error(res, 400, "page_too_deep");
			return;
		}
		usleep(400 * 1000);
	}
	n = buggy_search_key(req, digest, sizeof digest);
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "cache_key", digest);
	cJSON_AddNumberToObject(out, "key_bytes", (double)n);
	cJSON_AddItemToObject(out, "results", cJSON_CreateArray());
	shop_res_json(res, 200, out);
}

/* The depth of the JSON value at *p (the bug: no limit, and a big frame). */
static __attribute__((noinline)) int
buggy_depth(const char **p, const char *end)
{
	volatile char	scratch[1024];
	int		d, best = 0;
	char		open, close;

	scratch[0] = **p;
	open = scratch[0];
	close = open == '{' ? '}' : ']';
	(*p)++;
	while (*p < end && **p != close) {
		if (**p == '{' || **p == '[') {
			d = buggy_depth(p, end);
			if (d > best)
				best = d;
			continue;
		}
		if (**p == '"') {
			for ((*p)++; *p < end && **p != '"'; (*p)++)
				if (**p == '\\' && *p + 1 < end)
					(*p)++;
		}
		(*p)++;
	}
	if (*p < end)
		(*p)++;
	return best + 1;
}

static void
buggy_documents(const struct shop_req *req, struct shop_res *res)
{
	cJSON		*obj, *out;
	const char	*p = req->body, *end = req->body + req->body_len;
	const char	*title;
	int		 depth = 0;
	size_t		 i, nest = 0;

	if (buggy_fixed) {
		for (i = 0; i < req->body_len; i++)
			if (req->body[i] == '{' || req->body[i] == '[')
				nest++;
		if (nest > 32) {
			shop_res_error(res, 400, "too_deep");
			return;
		}
	}
	while (p < end && *p != '{' && *p != '[')
		p++;
	if (p < end)
		depth = buggy_depth(&p, end);
	if (depth > 64 || (buggy_fixed && depth > 16)) {
		shop_res_error(res, 400, "too_deep");
		return;
	}
	if (depth > 16) {
		/* The bug: the indexer keeps the path to each value in a
		 * 16-level stack; it fails on anything deeper (which only
		 * the 400 above was meant to catch, at 64). */
		buggy_500(res, "IndexError", "path stack overflow at depth %d "
		    "(max 16)", depth);
		return;
	}
	if ((obj = shop_json_parse(req->body, req->body_len)) == NULL) {
		shop_res_error(res, 400, "invalid_json");
		return;
	}
	if ((title = shop_json_str(obj, "title")) == NULL) {
		shop_res_error(res, 400, "invalid_title");
		cJSON_Delete(obj);
		return;
	}
	out = cJSON_CreateObject();
	cJSON_AddStringToObject(out, "id", "doc-1");
	cJSON_AddStringToObject(out, "title", title);
	cJSON_AddNumberToObject(out, "depth", depth);
	shop_res_json(res, 201, out);
	cJSON_Delete(obj);
}

static void
buggy_items(struct span id, struct shop_res *res)
{
	cJSON	*out;
	char	*s = span_dup(id);
	long	 n;

	if (shop_parse_long(s, 1, 1000, &n) == -1) {
		shop_res_error(res, 404, "item_not_found");
		free(s);
		return;
	}
	free(s);
	out = cJSON_CreateObject();
	cJSON_AddNumberToObject(out, "id", (double)n);
	cJSON_AddStringToObject(out, "name", "widget");
	shop_res_json(res, 200, out);
}

static void
buggy_handle(const struct shop_req *req, struct shop_res *res)
{
	struct span	rest;
	cJSON		*obj;
	int		post = span_eq_str(req->method, "POST");

	if (span_eq_str(req->path, "/healthz")) {
		obj = cJSON_CreateObject();
		cJSON_AddStringToObject(obj, "status", "ok");
		shop_res_json(res, 200, obj);
	} else if (span_eq_str(req->path, "/cart/items") && post)
		buggy_cart(req, res);
	else if (span_eq_str(req->path, "/users") && post)
		buggy_users(req, res);
	else if (span_eq_str(req->path, "/payments") && post)
		buggy_payments(req, res);
	else if (span_eq_str(req->path, "/upload") && post)
		buggy_upload(req, res);
	else if (span_eq_str(req->path, "/documents") && post)
		buggy_documents(req, res);
	else if (span_eq_str(req->path, "/search") &&
	    span_eq_str(req->method, "GET"))
		buggy_search(req, res);
	else if (shop_path_prefix(req->path, "/items/", &rest) &&
	    span_eq_str(req->method, "GET"))
		buggy_items(rest, res);
	else
		shop_res_error(res, 404, "not_found");
}

/* ---- server ---- */

static int
buggy_write_all(int fd, const char *p, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = send(fd, p, len, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static ssize_t
buggy_read_more(struct buggy_conn *c)
{
	ssize_t	n;

	buf_reserve(&c->in, 16384);
	do
		n = read(c->fd, c->in.data + c->in.len,
		    c->in.cap - c->in.len - 1);
	while (n == -1 && errno == EINTR);
	if (n > 0) {
		c->in.len += (size_t)n;
		c->in.data[c->in.len] = '\0';
	}
	return n;
}

static void
buggy_answer(struct buggy_conn *c, int status, const struct shop_res *res,
    int close_after)
{
	struct buf	out;

	buf_init(&out);
	http_write_status_line(&out, status, SPAN_NULL);
	if (res != NULL && res->content_type != NULL)
		buf_printf(&out, "Content-Type: %s\r\n", res->content_type);
	buf_printf(&out, "Content-Length: %zu\r\n%s\r\n",
	    res != NULL ? res->body.len : 0,
	    close_after ? "Connection: close\r\n" : "");
	if (res != NULL)
		buf_append(&out, res->body.data, res->body.len);
	buggy_write_all(c->fd, out.data, out.len);
	buf_free(&out);
}

/* Reads a body of need bytes past head_len; 0, or -1 when the peer went
 * away.  Bodies above BUGGY_LARGE_UPLOAD take the buggy path. */
static int
buggy_read_body(struct buggy_conn *c, size_t head_len, uint64_t need,
    int upload)
{
	ssize_t	n;

	while (c->in.len - head_len < need) {
		n = buggy_read_more(c);
		if (n > 0)
			continue;
		if (n == 0 && upload && need > BUGGY_LARGE_UPLOAD &&
		    !buggy_fixed) {
			/* The bug: a large upload takes end of file for a
			 * slow client and waits for the rest, forever. */
			usleep(100 * 1000);
			continue;
		}
		return -1;
	}
	return 0;
}

/*
 * A head http_parse_request() refused, answered as RFC 9110/9112 allow:
 * 505 for another HTTP version, an HTTP/0.9 reply (the body alone) to a
 * request line without a version, nothing (a close) when the request line
 * is not HTTP at all, 400 otherwise.  The connection is closed after.
 */
static void
buggy_refuse(struct buggy_conn *c, enum http_err err)
{
	static const char	 v09[] = "<html><body><h1>400 Bad Request"
				    "</h1></body></html>\n";
	const char		*line = c->in.data, *eol, *sp1, *sp2;
	size_t			 n;

	eol = memchr(line, '\n', c->in.len);
	n = eol != NULL ? (size_t)(eol - line) : c->in.len;
	if (n > 0 && line[n - 1] == '\r')
		n--;
	sp1 = memchr(line, ' ', n);
	sp2 = sp1 != NULL ? memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 -
	    line)) : NULL;
	switch (err) {
	case HTTP_E_VERSION:
		if (sp2 != NULL && (size_t)(line + n - sp2 - 1) == 8 &&
		    memcmp(sp2 + 1, "HTTP/", 5) == 0 && sp2[6] >= '0' &&
		    sp2[6] <= '9' && sp2[7] == '.' && sp2[8] >= '0' &&
		    sp2[8] <= '9')
			buggy_answer(c, 505, NULL, 1);
		else
			buggy_answer(c, 400, NULL, 1);
		return;
	case HTTP_E_REQUEST_LINE:
		if (sp1 != NULL && sp2 == NULL && sp1 > line &&
		    (size_t)(sp1 + 1 - line) < n)
			buggy_write_all(c->fd, v09, sizeof v09 - 1);
		return;
	case HTTP_E_METHOD:
		return;
	default:
		buggy_answer(c, 400, NULL, 1);
		return;
	}
}

/* The methods this server implements (others: 501, RFC 9110 9.1). */
static int
buggy_method_known(struct span m)
{
	static const char *const known[] = { "GET", "HEAD", "POST", "PUT",
	    "DELETE", "PATCH", "OPTIONS" };
	size_t	i;

	for (i = 0; i < sizeof known / sizeof known[0]; i++)
		if (span_eq_str(m, known[i]))
			return 1;
	return 0;
}

/* Serves one request; 0 to keep the connection, -1 to close it. */
static int
buggy_one(struct buggy_conn *c)
{
	struct http_msg	 m;
	struct shop_req	 req;
	struct shop_res	 res;
	enum http_err	 err;
	size_t		 erroff, head_len, body_len = 0;
	ssize_t		 n;
	int		 close_after;

	for (;;) {
		n = http_parse_request(c->in.data == NULL ? "" : c->in.data,
		    c->in.len, BUGGY_MAX_HEAD, &m, &err, &erroff);
		if (n > 0)
			break;
		if (n == HTTP_ERROR) {
			buggy_refuse(c, err);
			return -1;
		}
		if (buggy_read_more(c) <= 0)
			return -1;
	}
	head_len = (size_t)n;
	if (!buggy_method_known(m.method)) {
		buggy_answer(c, 501, NULL, 1);
		return -1;
	}
	if (m.framing == HTTP_FRAME_CHUNKED) {
		buggy_answer(c, 411, NULL, 1);
		return -1;
	}
	if (m.framing == HTTP_FRAME_LENGTH) {
		/* Only /upload streams large bodies (and hangs, see above). */
		if (m.content_length > BUGGY_MAX_BODY &&
		    (buggy_fixed || !span_eq_str(m.path, "/upload"))) {
			buggy_answer(c, 413, NULL, 1);
			return -1;
		}
		if (buggy_read_body(c, head_len, m.content_length,
		    span_eq_str(m.path, "/upload")) == -1)
			return -1;
		body_len = (size_t)m.content_length;
	}
	/* The buffer may have moved: parse the head again. */
	if (http_parse_request(c->in.data, head_len, BUGGY_MAX_HEAD, &m, &err,
	    &erroff) != (ssize_t)head_len)
		fatalx("request head changed under the parser");

	memset(&req, 0, sizeof req);
	req.msg = &m;
	req.method = m.method;
	req.target = m.target;
	req.path = m.path;
	req.query = m.query;
	req.body = c->in.data + head_len;
	req.body_len = body_len;
	buf_init(&res.body);
	res.status = 500;
	res.content_type = NULL;
	res.untraced = 0;
	buggy_handle(&req, &res);
	close_after = !m.keep_alive;
	buggy_answer(c, res.status, &res, close_after);
	buf_free(&res.body);
	buf_consume(&c->in, head_len + body_len);
	return close_after ? -1 : 0;
}

static void *
buggy_conn_main(void *arg)
{
	struct buggy_conn	*c = arg;

	while (buggy_one(c) == 0)
		/* nothing */;
	close(c->fd);
	buf_free(&c->in);
	free(c);
	return NULL;
}

static void
buggy_usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
	    "usage: buggy [--port N] [--port-file FILE] [--fixed]\n");
	exit(status);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port",	required_argument,	NULL, 'p' },
		{ "port-file",	required_argument,	NULL, 'P' },
		{ "fixed",	no_argument,		NULL, 'f' },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	struct sockaddr_in	 sin;
	struct buggy_conn	*c;
	struct timeval		 tv;
	pthread_attr_t		 attr;
	pthread_t		 tid;
	socklen_t		 slen;
	const char		*port_file = NULL;
	char			*cause = NULL;
	long			 port = 0;
	int			 ch, lfd, fd, one = 1;

	log_init("buggy", LOG_LEVEL_INFO);
	while ((ch = getopt_long(argc, argv, "p:P:fh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (shop_parse_long(optarg, 0, 65535, &port) == -1)
				buggy_usage(2);
			break;
		case 'P':
			port_file = optarg;
			break;
		case 'f':
			buggy_fixed = 1;
			break;
		case 'h':
			buggy_usage(0);
			break;
		default:
			buggy_usage(2);
		}
	}
	if (optind != argc)
		buggy_usage(2);
	signal(SIGPIPE, SIG_IGN);

	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		fatal("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sin, sizeof sin) == -1)
		fatal("bind 127.0.0.1:%ld", port);
	if (listen(lfd, 128) == -1)
		fatal("listen");
	slen = sizeof sin;
	if (getsockname(lfd, (struct sockaddr *)&sin, &slen) == -1)
		fatal("getsockname");
	if (port_file != NULL && sock_write_port_file(port_file,
	    ntohs(sin.sin_port), &cause) == -1)
		fatalx("%s", cause);
	log_info("listening on 127.0.0.1:%d%s", ntohs(sin.sin_port),
	    buggy_fixed ? " (fixed)" : "");

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, BUGGY_THREAD_STACK);
	for (;;) {
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
			if (errno != EINTR && errno != ECONNABORTED)
				log_warn("accept: %s", strerror(errno));
			continue;
		}
		tv.tv_sec = BUGGY_IDLE_MS / 1000;
		tv.tv_usec = 0;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		c = xcalloc(1, sizeof *c);
		c->fd = fd;
		buf_init(&c->in);
		if (pthread_create(&tid, &attr, buggy_conn_main, c) != 0) {
			log_warn("pthread_create failed");
			close(fd);
			buf_free(&c->in);
			free(c);
		}
	}
}
