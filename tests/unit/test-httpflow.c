/*
 * test-httpflow.c -- HTTP over reassembled streams: pipelined requests
 * paired with their responses for every split of both streams, chunked
 * and Content-Length bodies, HEAD, interim responses, bodies until EOF,
 * gaps, non-HTTP flows and requests left unanswered.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "httpflow.h"
#include "tcpflow.h"
#include "unit.h"

#define MAXTX	8

static struct httpflow_txn	*done[MAXTX];
static int			 ndone, nreq;

static void
h_request(struct httpflow *hf, struct httpflow_txn *tx, void *arg)
{
	nreq++;
}

static void
h_done(struct httpflow *hf, struct httpflow_txn *tx, void *arg)
{
	if (ndone < MAXTX)
		done[ndone++] = tx;
	else
		httpflow_txn_free(tx);
}

static const struct httpflow_ops ops = { h_request, h_done };

static void
clear(void)
{
	int	i;

	for (i = 0; i < ndone; i++)
		httpflow_txn_free(done[i]);
	ndone = nreq = 0;
}

static void
put(struct httpflow *hf, int dir, const char *s, size_t len)
{
	httpflow_data(hf, dir, (const unsigned char *)s, len, 1);
}

static const char REQS[] =
    "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
    "POST /b?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz";
static const char RESS[] =
    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nA!"
    "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
    "3\r\nabc\r\n2\r\nde\r\n0\r\nX-Tr: t 1\r\nGrpc-Status: 0\r\n\r\n";

static void
check_pair(void)
{
	ASSERT_EQ(ndone, 2);
	if (ndone != 2)
		return;
	ASSERT_STR_EQ(done[0]->t.req.method, "GET");
	ASSERT_STR_EQ(done[0]->t.req.target, "/a");
	ASSERT_STR_EQ(done[0]->t.req.host, "h");
	ASSERT(done[0]->t.req.body == NULL);
	ASSERT_EQ(done[0]->t.res.status, 200);
	ASSERT_MEM_EQ(done[0]->t.res.body, done[0]->t.res.body_len, "A!");
	ASSERT_EQ(done[0]->complete, 1);
	ASSERT_STR_EQ(done[1]->t.req.target, "/b?x=1");
	ASSERT_MEM_EQ(done[1]->t.req.body, done[1]->t.req.body_len, "xyz");
	ASSERT_EQ(done[1]->t.res.status, 201);
	ASSERT_STR_EQ(done[1]->t.res.reason, "Created");
	ASSERT_MEM_EQ(done[1]->t.res.body, done[1]->t.res.body_len, "abcde");
	ASSERT_EQ(done[1]->t.res.nheaders, 1);
	ASSERT_EQ(done[1]->gap, 0);
	ASSERT_EQ(done[0]->t.res.ntrailers, 0);
	ASSERT_EQ(done[1]->t.req.ntrailers, 0);
	ASSERT_EQ(done[1]->t.res.ntrailers, 2);
	if (done[1]->t.res.ntrailers == 2) {
		ASSERT_STR_EQ(done[1]->t.res.trailers[0].name, "X-Tr");
		ASSERT_STR_EQ(done[1]->t.res.trailers[0].value, "t 1");
		ASSERT_STR_EQ(done[1]->t.res.trailers[1].name, "Grpc-Status");
		ASSERT_STR_EQ(done[1]->t.res.trailers[1].value, "0");
	}
}

static void
test_pipelined_splits(void)
{
	struct httpflow_stats	 st;
	struct httpflow		*hf;
	size_t			 i, j, nq = sizeof REQS - 1, ns = sizeof RESS - 1;

	for (i = 0; i <= nq; i++) {
		for (j = 0; j <= ns; j += (i % 7 == 0 ? 1 : 13)) {
			memset(&st, 0, sizeof st);
			hf = httpflow_create(&ops, NULL, &st, 0, 0);
			put(hf, TCPFLOW_C2S, REQS, i);
			put(hf, TCPFLOW_C2S, REQS + i, nq - i);
			ASSERT_EQ(nreq, 2);
			put(hf, TCPFLOW_S2C, RESS, j);
			put(hf, TCPFLOW_S2C, RESS + j, ns - j);
			check_pair();
			ASSERT_EQ(st.requests, 2);
			ASSERT_EQ(st.responses, 2);
			httpflow_free(hf);
			ASSERT_EQ(ndone, 2);
			clear();
		}
	}
	/* One byte at a time. */
	memset(&st, 0, sizeof st);
	hf = httpflow_create(&ops, NULL, &st, 0, 0);
	for (i = 0; i < nq; i++)
		put(hf, TCPFLOW_C2S, REQS + i, 1);
	for (i = 0; i < ns; i++)
		put(hf, TCPFLOW_S2C, RESS + i, 1);
	check_pair();
	httpflow_free(hf);
	clear();
}

static void
test_head_interim_eof(void)
{
	struct httpflow_stats	 st;
	struct httpflow		*hf;
	static const char	 q[] =
	    "HEAD /h HTTP/1.1\r\nHost: h\r\n\r\n"
	    "PUT /p HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n"
	    "Content-Length: 2\r\n\r\nok"
	    "GET /e HTTP/1.1\r\nHost: h\r\n\r\n";
	static const char	 r[] =
	    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
	    "HTTP/1.1 100 Continue\r\n\r\n"
	    "HTTP/1.1 204 No Content\r\n\r\n"
	    "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nto the end";

	memset(&st, 0, sizeof st);
	hf = httpflow_create(&ops, NULL, &st, 0, 0);
	put(hf, TCPFLOW_C2S, q, sizeof q - 1);
	put(hf, TCPFLOW_S2C, r, sizeof r - 1);
	ASSERT_EQ(ndone, 2);
	ASSERT_EQ(done[0]->t.res.status, 200);
	ASSERT(done[0]->t.res.body == NULL);
	ASSERT_EQ(done[1]->t.res.status, 204);
	ASSERT(httpflow_front(hf) != NULL);
	httpflow_eof(hf, TCPFLOW_S2C, 2);
	ASSERT_EQ(ndone, 3);
	ASSERT_MEM_EQ(done[2]->t.res.body, done[2]->t.res.body_len,
	    "to the end");
	ASSERT_EQ(done[2]->end_ns, 2);
	httpflow_free(hf);
	clear();
}

static void
test_gap_and_garbage(void)
{
	struct httpflow_stats	 st;
	struct httpflow		*hf;
	static const char	 q[] = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
	    "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc";
	static const char	 r[] =
	    "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\npart";

	memset(&st, 0, sizeof st);
	hf = httpflow_create(&ops, NULL, &st, 0, 0);
	put(hf, TCPFLOW_C2S, q, sizeof q - 1);
	put(hf, TCPFLOW_S2C, r, sizeof r - 1);
	ASSERT_EQ(ndone, 0);
	ASSERT(httpflow_response_started(hf));
	httpflow_gap(hf, TCPFLOW_S2C);
	ASSERT(httpflow_is_dead(hf));
	ASSERT_EQ(ndone, 2);
	ASSERT_EQ(done[0]->gap, 1);
	ASSERT_EQ(done[0]->t.has_res, 1);
	ASSERT_MEM_EQ(done[0]->t.res.body, done[0]->t.res.body_len, "part");
	ASSERT_EQ(done[1]->gap, 1);
	ASSERT_MEM_EQ(done[1]->t.req.body, done[1]->t.req.body_len, "abc");
	ASSERT_EQ(st.gap_txns, 2);
	put(hf, TCPFLOW_C2S, q, sizeof q - 1);
	ASSERT_EQ(ndone, 2);
	httpflow_free(hf);
	clear();

	/* Not HTTP. */
	memset(&st, 0, sizeof st);
	hf = httpflow_create(&ops, NULL, &st, 0, 0);
	put(hf, TCPFLOW_C2S, "SSH-2.0-OpenSSH_9.2\r\n", 21);
	ASSERT(httpflow_is_dead(hf));
	ASSERT_EQ(st.parse_errors, 1);
	httpflow_free(hf);
	ASSERT_EQ(ndone, 0);

	/* A request never answered ends with the flow. */
	memset(&st, 0, sizeof st);
	hf = httpflow_create(&ops, NULL, &st, 0, 0);
	put(hf, TCPFLOW_C2S, q, 28);
	httpflow_free(hf);
	ASSERT_EQ(ndone, 1);
	ASSERT_EQ(done[0]->complete, 0);
	ASSERT_EQ(done[0]->gap, 0);
	ASSERT_EQ(done[0]->t.has_res, 0);
	ASSERT_EQ(st.unanswered, 1);
	clear();

	/* A response with no request: the start was missed. */
	memset(&st, 0, sizeof st);
	hf = httpflow_create(&ops, NULL, &st, 0, 0);
	put(hf, TCPFLOW_S2C, r, sizeof r - 1);
	ASSERT(httpflow_is_dead(hf));
	ASSERT_EQ(st.orphan_responses, 1);
	httpflow_free(hf);
	clear();
}

int
main(void)
{
	test_pipelined_splits();
	test_head_interim_eof();
	test_gap_and_garbage();
	UNIT_DONE();
}
