/*
 * test-respond-pass.c -- the responder's passthrough (respond-pass.h):
 * the allow list, the 502, and whole exchanges on a loop against a
 * one-shot server thread on 127.0.0.1 (a chunked answer re-framed with
 * Content-Length and recorded to the misses file; a refused connect; a
 * dependency that never answers, and a cancelled exchange).
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "http.h"
#include "loop.h"
#include "respond-pass.h"
#include "unit.h"

static char	tmpdir[] = "/tmp/test-respond-pass.XXXXXX";

static void
test_allowed(void)
{
	char			*allow[] = { "api.example,localhost:8080",
				    "[::1]:9" };
	struct respond_pass	*p;
	char			*cause = NULL;

	p = respond_pass_create(allow, 2, NULL, NULL, 0, &cause);
	ASSERT(p != NULL);
	ASSERT_EQ(respond_pass_allowed(p, span_from_str("API.example:443"),
	    0), 1);
	ASSERT_EQ(respond_pass_allowed(p, span_from_str("api.example"), 0),
	    1);
	ASSERT_EQ(respond_pass_allowed(p, span_from_str("localhost:8080"),
	    0), 1);
	ASSERT_EQ(respond_pass_allowed(p, span_from_str("localhost:9090"),
	    1), 0);
	ASSERT_EQ(respond_pass_allowed(p, span_from_str("localhost"), 1), 0);
	ASSERT_EQ(respond_pass_allowed(p, span_from_str("[::1]:9"), 0), 1);
	ASSERT_EQ(respond_pass_allowed(p, span_from_str("[::1]:10"), 0), 0);
	ASSERT_EQ(respond_pass_allowed(p, span_from_str("api.example.evil"),
	    0), 0);
	respond_pass_free(p);

	p = respond_pass_create(NULL, 0, NULL, NULL, 0, &cause);
	ASSERT_EQ(respond_pass_allowed(p, span_from_str("any:1"), 1), 1);
	ASSERT_EQ(respond_pass_allowed(p, span_from_str("any:1"), 0), 0);
	ASSERT_EQ(respond_pass_allowed(p, span_from_str(""), 1), 0);
	respond_pass_free(p);

	p = respond_pass_create(NULL, 0, "/nonexistent/dir/m.jsonl", NULL,
	    0, &cause);
	ASSERT(p == NULL);
	ASSERT(cause != NULL && strstr(cause, "/nonexistent/dir") != NULL);
	free(cause);
}

static void
test_error(void)
{
	struct buf	head, body;

	buf_init(&head);
	buf_init(&body);
	respond_pass_error(&head, &body, "h:1: timed out");
	ASSERT_MEM_EQ(body.data, body.len,
	    "decoy: passthrough failed: h:1: timed out\n");
	buf_append_byte(&head, '\0');
	ASSERT(strncmp(head.data, "HTTP/1.1 502 Bad Gateway\r\n", 26) == 0);
	ASSERT(strstr(head.data, "Content-Length: 42\r\n") != NULL);
	buf_free(&head);
	buf_free(&body);
}

/* The one-shot server: reads a head, answers, closes. */
struct server {
	int		 fd;
	const char	*answer;
	char		 got[2048];
};

static void *
server_main(void *arg)
{
	struct server	*s = arg;
	size_t		 n = 0;
	ssize_t		 r;
	int		 c;

	if ((c = accept(s->fd, NULL, NULL)) == -1)
		return NULL;
	while (n < sizeof s->got - 1 && (r = read(c, s->got + n,
	    sizeof s->got - 1 - n)) > 0) {
		n += (size_t)r;
		s->got[n] = '\0';
		if (strstr(s->got, "\r\n\r\n") != NULL)
			break;
	}
	if (write(c, s->answer, strlen(s->answer)) < 0)
		perror("write");
	close(c);
	return NULL;
}

static int
listen_local(int *port)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;
	int			fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
	    listen(fd, 4) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		return -1;
	*port = ntohs(sin.sin_port);
	return fd;
}

struct result {
	struct loop	*loop;
	int		 done;
	struct buf	 head, body;
};

static void
done_cb(void *arg, struct buf *head, struct buf *body)
{
	struct result	*res = arg;

	res->done = 1;
	res->head = *head;
	res->body = *body;
	buf_append_byte(&res->head, '\0');
	loop_stop(res->loop);
}

/* One exchange of "GET /x" with Host host through p; res filled. */
static void
exchange(struct respond_pass *p, struct loop *loop, const char *host,
    struct result *res)
{
	struct http_msg	 m;
	struct buf	 req;
	enum http_err	 err;
	size_t		 off;

	buf_init(&req);
	buf_printf(&req, "GET /x?a=1 HTTP/1.1\r\nHost: %s\r\n"
	    "Connection: keep-alive\r\nX-Req: yes\r\n\r\n", host);
	ASSERT(http_parse_request(req.data, req.len, 0, &m, &err, &off) > 0);
	memset(res, 0, sizeof *res);
	res->loop = loop;
	respond_pass_start(p, loop, &m, NULL, 0, NULL, 0, done_cb, res);
	if (!res->done)
		loop_run(loop);
	buf_free(&req);
}

static void
test_exchange(void)
{
	struct server		 s;
	struct respond_pass	*p;
	struct loop		*loop;
	struct result		 res;
	struct stat		 st;
	pthread_t		 th;
	char			 host[64], misses[256], line[4096];
	char			*cause = NULL;
	FILE			*f;
	int			 port = 0;

	snprintf(misses, sizeof misses, "%s/misses.jsonl", tmpdir);
	ASSERT((loop = loop_create(&cause)) != NULL);
	p = respond_pass_create(NULL, 0, misses, NULL, 0, &cause);
	ASSERT(p != NULL);
	if (loop == NULL || p == NULL)
		return;

	memset(&s, 0, sizeof s);
	s.answer = "HTTP/1.1 201 Made\r\nTransfer-Encoding: chunked\r\n"
	    "X-A: 1\r\nConnection: keep-alive\r\n\r\n"
	    "5\r\nhello\r\n3\r\n!!\n\r\n0\r\n\r\n";
	ASSERT((s.fd = listen_local(&port)) != -1);
	snprintf(host, sizeof host, "127.0.0.1:%d", port);
	pthread_create(&th, NULL, server_main, &s);
	exchange(p, loop, host, &res);
	pthread_join(th, NULL);
	ASSERT_EQ(res.done, 1);
	ASSERT_STR_EQ(res.head.data, "HTTP/1.1 201 Made\r\nX-A: 1\r\n"
	    "Content-Length: 8\r\n");
	ASSERT_MEM_EQ(res.body.data, res.body.len, "hello!!\n");
	ASSERT(strstr(s.got, "GET /x?a=1 HTTP/1.1\r\n") == s.got);
	ASSERT(strstr(s.got, "X-Req: yes\r\n") != NULL);
	ASSERT(strstr(s.got, "Connection: close\r\n") != NULL);
	ASSERT(strstr(s.got, "keep-alive") == NULL);
	buf_free(&res.head);
	buf_free(&res.body);

	/* Recorded: one line, 0600, with both halves. */
	ASSERT(stat(misses, &st) == 0 && (st.st_mode & 0777) == 0600);
	ASSERT((f = fopen(misses, "r")) != NULL);
	if (f != NULL) {
		ASSERT(fgets(line, sizeof line, f) != NULL);
		ASSERT(strstr(line, "\"dir\":\"out\"") != NULL);
		ASSERT(strstr(line, "\"target\":\"/x?a=1\"") != NULL);
		ASSERT(strstr(line, "\"status\":201") != NULL);
		ASSERT(strstr(line, "hello!!\\n") != NULL);
		ASSERT(fgets(line, sizeof line, f) == NULL);
		fclose(f);
	}

	/* Nobody listens any more: a 502 naming host and cause, and no
	 * second line in the misses file. */
	close(s.fd);
	exchange(p, loop, host, &res);
	ASSERT_EQ(res.done, 1);
	ASSERT(strncmp(res.head.data, "HTTP/1.1 502 ", 13) == 0);
	buf_append_byte(&res.body, '\0');
	ASSERT(strstr(res.body.data, host) != NULL);
	ASSERT(strstr(res.body.data, "refused") != NULL);
	buf_free(&res.head);
	buf_free(&res.body);
	respond_pass_free(p);
	ASSERT(stat(misses, &st) == 0);
	ASSERT((f = fopen(misses, "r")) != NULL);
	if (f != NULL) {
		int	n = 0;

		while (fgets(line, sizeof line, f) != NULL)
			n++;
		ASSERT_EQ(n, 1);
		fclose(f);
	}
	unlink(misses);
	loop_free(loop);
}

/* A dependency that accepts and never answers: the exchange times out
 * (a 502 saying so); another one is cancelled before its end. */
static void
test_timeout(void)
{
	struct respond_pass	*p;
	struct respond_pass_x	*x;
	struct loop		*loop;
	struct result		 res;
	struct http_msg		 m;
	char			 host[64], req[128];
	char			*cause = NULL;
	enum http_err		 err;
	size_t			 off;
	uint64_t		 t0;
	int			 fd, port = 0;

	ASSERT((loop = loop_create(&cause)) != NULL);
	ASSERT((fd = listen_local(&port)) != -1);
	p = respond_pass_create(NULL, 0, NULL, NULL, 200000000, &cause);
	if (loop == NULL || fd == -1 || p == NULL)
		return;
	snprintf(host, sizeof host, "127.0.0.1:%d", port);
	t0 = loop_clock_ns();
	exchange(p, loop, host, &res);
	ASSERT_EQ(res.done, 1);
	ASSERT(loop_clock_ns() - t0 >= 150000000);
	ASSERT(strncmp(res.head.data, "HTTP/1.1 502 ", 13) == 0);
	buf_append_byte(&res.body, '\0');
	ASSERT(strstr(res.body.data, "timed out") != NULL);
	buf_free(&res.head);
	buf_free(&res.body);

	/* Cancelled while it waits: no callback, nothing left behind. */
	snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", host);
	ASSERT(http_parse_request(req, strlen(req), 0, &m, &err, &off) > 0);
	memset(&res, 0, sizeof res);
	res.loop = loop;
	x = respond_pass_start(p, loop, &m, NULL, 0, NULL, 0, done_cb, &res);
	ASSERT(x != NULL);
	respond_pass_cancel(x);
	ASSERT_EQ(res.done, 0);
	respond_pass_free(p);
	close(fd);
	loop_free(loop);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 99;
	}
	test_allowed();
	test_error();
	test_exchange();
	test_timeout();
	rmdir(tmpdir);
	UNIT_DONE();
}
