/*
 * analyze-gen.c -- writes a synthetic snapshot for bench/analyze.sh: N
 * transactions (default 1,000,000) of a bank-like service and its two
 * dependencies, in sessions of about ten (tags.session): a login whose
 * answer is a JWT, balance reads and transfers that carry it with a
 * client clock header, reads of the transfers by their server-issued
 * ids, and the outbound calls (a token service answering JWTs, a ledger
 * given idempotency keys, nonces and epoch-ms timestamps, echoing the key
 * and answering ULIDs).  Every volatile value is new per transaction, as
 * in a real recording, so the analyzer's sets and tables are exercised
 * at their bounds.
 *
 * usage: analyze-gen [N] > snapshot.jsonl
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t	gen_state = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t
gen_rand(void)
{
	uint64_t	z = (gen_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static const char	b64u[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char	crock[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static char *
put_b64url(char *o, const unsigned char *p, size_t n)
{
	size_t		i;
	uint32_t	v;

	for (i = 0; i + 2 < n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = b64u[v >> 18];
		*o++ = b64u[(v >> 12) & 63];
		*o++ = b64u[(v >> 6) & 63];
		*o++ = b64u[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)p[i] << 16;
		*o++ = b64u[v >> 18];
		*o++ = b64u[(v >> 12) & 63];
	} else if (n - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*o++ = b64u[v >> 18];
		*o++ = b64u[(v >> 12) & 63];
		*o++ = b64u[(v >> 6) & 63];
	}
	return o;
}

/* An HS256-shaped JWT for sub issued at iat (the signature is random). */
static void
jwt(char *out, const char *sub, int64_t iat)
{
	char		payload[160], *o = out;
	unsigned char	sig[32];
	uint64_t	r;
	size_t		i;
	int		n;

	o = put_b64url(o, (const unsigned char *)
	    "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", 27);
	*o++ = '.';
	n = snprintf(payload, sizeof payload, "{\"sub\":\"%s\",\"scope\":"
	    "\"transfers:write\",\"iat\":%" PRId64 ",\"exp\":%" PRId64 "}",
	    sub, iat, iat + 900);
	o = put_b64url(o, (const unsigned char *)payload, (size_t)n);
	*o++ = '.';
	for (i = 0; i < sizeof sig; i += 8) {
		r = gen_rand();
		memcpy(sig + i, &r, 8);
	}
	o = put_b64url(o, sig, sizeof sig);
	*o = '\0';
}

static void
uuid4(char *out)
{
	uint64_t	a = gen_rand(), b = gen_rand();

	snprintf(out, 37, "%08" PRIx64 "-%04" PRIx64 "-4%03" PRIx64 "-%04"
	    PRIx64 "-%012" PRIx64, a >> 32, (a >> 16) & 0xffff,
	    a & 0xfff, (b >> 48 & 0x3fff) | 0x8000, b & UINT64_C(0xffffffffffff));
}

static void
ulid(char *out, int64_t ms)
{
	uint64_t	r = gen_rand(), r2 = gen_rand();
	int		i;

	for (i = 9; i >= 0; i--) {
		out[i] = crock[ms & 31];
		ms >>= 5;
	}
	for (i = 10; i < 26; i++) {
		out[i] = crock[(i < 22 ? r : r2) & 31];
		if (i < 22)
			r >>= 5;
		else
			r2 >>= 5;
	}
	out[26] = '\0';
}

static void
hex(char *out, size_t n)
{
	static const char	d[] = "0123456789abcdef";
	uint64_t		r = 0;
	size_t			i;

	for (i = 0; i < n; i++) {
		if (i % 16 == 0)
			r = gen_rand();
		out[i] = d[r & 15];
		r >>= 4;
	}
	out[n] = '\0';
}

static void
rfc3339(char *out, size_t len, int64_t us, int ms)
{
	time_t		s = (time_t)(us / 1000000);
	struct tm	tm;

	gmtime_r(&s, &tm);
	if (ms)
		snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec, (int)(us / 1000 % 1000));
	else
		snprintf(out, len, "%04d-%02d-%02dT%02d:%02d:%02dZ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
}

static void
httpdate(char *out, size_t len, int64_t us)
{
	time_t		s = (time_t)(us / 1000000);
	struct tm	tm;

	gmtime_r(&s, &tm);
	strftime(out, len, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static uint64_t	txn_no;

static void
head(const char *dir, const char *svc, int64_t us, const char *client,
    const char *server)
{
	char	ts[40];

	rfc3339(ts, sizeof ts, us, 0);
	printf("{\"v\":1,\"id\":\"t-%08" PRIu64 "\",\"ts\":\"%s\",\"dir\":"
	    "\"%s\",\"svc\":\"%s\",\"proto\":\"http/1.1\",\"client\":\"%s\","
	    "\"server\":\"%s\",", ++txn_no, ts, dir, svc, client, server);
}

static void
tail(int64_t us, const char *session)
{
	printf("\"timing\":{\"start_us\":%" PRId64 ",\"ttfb_us\":812,"
	    "\"total_us\":904},\"tags\":{\"session\":\"%s\"}}\n", us,
	    session);
}

int
main(int argc, char **argv)
{
	static const char *users[] = { "alice", "bob", "carol", "dave",
	    "erin", "frank", "grace", "heidi" };
	uint64_t	n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
	uint64_t	done = 0, s = 0, k;
	int64_t		us = INT64_C(1796667044000000);
	char		tok[512], id[40], id2[40], ul[32], nonce[40];
	char		clk[80], date[40], t2[80], sess[32], client[32];
	char		transfers[4][40];
	const char	*u;
	int		ntr, i;

	while (done < n) {
		s++;
		snprintf(sess, sizeof sess, "s-%" PRIu64, s);
		snprintf(client, sizeof client, "10.%d.%d.%d:%d",
		    (int)(s >> 16 & 255), (int)(s >> 8 & 255), (int)(s & 255),
		    1024 + (int)(s % 60000));
		u = users[s % 8];
		ntr = 0;

		/* the token service, then the login */
		jwt(tok, u, us / 1000000);
		uuid4(id);
		rfc3339(t2, sizeof t2, us, 0);
		httpdate(date, sizeof date, us);
		head("out", "tokens", us, "127.0.0.1:40000",
		    "127.0.0.1:9001");
		printf("\"req\":{\"method\":\"POST\",\"target\":\"/v1/tokens\","
		    "\"host\":\"tokens.internal\",\"headers\":[[\"Host\","
		    "\"tokens.internal\"],[\"Content-Type\",\"application/json\"],"
		    "[\"X-Request-Id\",\"%s\"]],\"body\":\"{\\\"sub\\\":"
		    "\\\"%s\\\",\\\"requested_at\\\":\\\"%s\\\"}\"},\"res\":"
		    "{\"status\":201,\"headers\":[[\"Content-Type\","
		    "\"application/json\"],[\"Date\",\"%s\"],[\"X-Request-Id\","
		    "\"%s\"]],\"body\":\"{\\\"access_token\\\":\\\"%s\\\","
		    "\\\"issued_at\\\":\\\"%s\\\"}\"},", id, u, t2, date, id,
		    tok, t2);
		tail(us, sess);
		head("in", "bank", us, client, "127.0.0.1:8080");
		printf("\"req\":{\"method\":\"POST\",\"target\":\"/login\","
		    "\"headers\":[[\"Host\",\"bank\"],[\"Content-Type\","
		    "\"application/json\"],[\"User-Agent\",\"drive/1.0\"]],"
		    "\"body\":\"{\\\"user\\\":\\\"%s\\\",\\\"password\\\":"
		    "\\\"pw-%s\\\"}\"},\"res\":{\"status\":200,\"headers\":"
		    "[[\"Content-Type\",\"application/json\"],[\"Date\",\"%s\"]],"
		    "\"body\":\"{\\\"token\\\":\\\"%s\\\",\\\"expires_at\\\":"
		    "\\\"%s\\\"}\"},", u, u, date, tok, t2);
		tail(us, sess);
		done += 2;

		for (k = 0; k < 4 && done < n; k++) {
			us += 1000 + (int64_t)(gen_rand() % 50000);
			rfc3339(clk, sizeof clk, us, 1);
			httpdate(date, sizeof date, us);
			switch (gen_rand() % 3) {
			case 0:	/* a balance: in, and the ledger read */
				head("out", "ledger", us, "127.0.0.1:40002",
				    "127.0.0.1:9002");
				printf("\"req\":{\"method\":\"GET\",\"target\":"
				    "\"/v1/accounts/acct-%s\",\"headers\":"
				    "[[\"Host\",\"ledger.internal\"]]},\"res\":"
				    "{\"status\":200,\"headers\":[[\"Content-Type\""
				    ",\"application/json\"],[\"Date\",\"%s\"]],"
				    "\"body\":\"{\\\"account\\\":\\\"acct-%s\\\","
				    "\\\"balance\\\":%" PRIu64 ",\\\"as_of\\\":"
				    "\\\"%s\\\"}\"},", u, date, u,
				    gen_rand() % 1000000, date);
				tail(us, sess);
				head("in", "bank", us, client,
				    "127.0.0.1:8080");
				printf("\"req\":{\"method\":\"GET\",\"target\":"
				    "\"/accounts/acct-%s/balance\",\"headers\":"
				    "[[\"Host\",\"bank\"],[\"Authorization\","
				    "\"Bearer %s\"],[\"X-Client-Time\",\"%s\"]]},"
				    "\"res\":{\"status\":200,\"headers\":"
				    "[[\"Content-Type\",\"application/json\"],"
				    "[\"Date\",\"%s\"]],\"body\":\"{\\\"account"
				    "\\\":\\\"acct-%s\\\",\\\"balance\\\":%" PRIu64
				    "}\"},", u, tok, clk, date, u,
				    gen_rand() % 1000000);
				tail(us, sess);
				done += 2;
				break;
			case 1:	/* a transfer: the ledger entry, then in */
				uuid4(id2);
				hex(nonce, 32);
				ulid(ul, us / 1000);
				rfc3339(t2, sizeof t2, us, 0);
				head("out", "ledger", us, "127.0.0.1:40002",
				    "127.0.0.1:9002");
				printf("\"req\":{\"method\":\"POST\",\"target\":"
				    "\"/v1/entries\",\"headers\":[[\"Host\","
				    "\"ledger.internal\"],[\"Content-Type\","
				    "\"application/json\"],[\"Idempotency-Key\","
				    "\"%s\"]],\"body\":\"{\\\"account\\\":\\\"acct-"
				    "%s\\\",\\\"amount\\\":%" PRIu64 ",\\\""
				    "idempotency_key\\\":\\\"%s\\\",\\\"requested_at"
				    "\\\":%" PRId64 ",\\\"nonce\\\":\\\"%s\\\"}\"},"
				    "\"res\":{\"status\":201,\"headers\":"
				    "[[\"Content-Type\",\"application/json\"],"
				    "[\"Date\",\"%s\"]],\"body\":\"{\\\"entry\\\":"
				    "\\\"%s\\\",\\\"idempotency_key\\\":\\\"%s\\\","
				    "\\\"created_at\\\":\\\"%s\\\"}\"},", id2, u,
				    gen_rand() % 10000, id2, us / 1000, nonce,
				    date, ul, id2, t2);
				tail(us, sess);
				hex(transfers[ntr % 4], 32);
				head("in", "bank", us, client,
				    "127.0.0.1:8080");
				printf("\"req\":{\"method\":\"POST\",\"target\":"
				    "\"/transfers\",\"headers\":[[\"Host\","
				    "\"bank\"],[\"Authorization\",\"Bearer %s\"],"
				    "[\"X-Client-Time\",\"%s\"],[\"Content-Type\","
				    "\"application/json\"]],\"body\":\"{\\\"to\\\":"
				    "\\\"acct-%s\\\",\\\"amount\\\":%" PRIu64 "}\"},"
				    "\"res\":{\"status\":201,\"headers\":"
				    "[[\"Content-Type\",\"application/json\"],"
				    "[\"Date\",\"%s\"],[\"Location\","
				    "\"/transfers/tr_%s\"]],\"body\":\"{\\\"id\\\":"
				    "\\\"tr_%s\\\",\\\"entry\\\":\\\"%s\\\","
				    "\\\"status\\\":\\\"posted\\\",\\\"created_at"
				    "\\\":\\\"%s\\\"}\"},", tok, clk,
				    users[(s + 1) % 8], gen_rand() % 10000, date,
				    transfers[ntr % 4], transfers[ntr % 4], ul,
				    t2);
				tail(us, sess);
				ntr++;
				done += 2;
				break;
			default:	/* read a transfer back */
				if (ntr == 0)
					hex(transfers[0], 32);
				i = ntr == 0 ? 0 : (int)(gen_rand() %
				    (uint64_t)(ntr < 4 ? ntr : 4));
				head("in", "bank", us, client,
				    "127.0.0.1:8080");
				printf("\"req\":{\"method\":\"GET\",\"target\":"
				    "\"/transfers/tr_%s\",\"headers\":[[\"Host\","
				    "\"bank\"],[\"Authorization\",\"Bearer %s\"],"
				    "[\"X-Client-Time\",\"%s\"]]},\"res\":"
				    "{\"status\":%d,\"headers\":[[\"Content-Type\","
				    "\"application/json\"],[\"Date\",\"%s\"]],"
				    "\"body\":\"{\\\"id\\\":\\\"tr_%s\\\","
				    "\\\"status\\\":\\\"posted\\\"}\"},",
				    transfers[i], tok, clk, ntr == 0 ? 404 : 200,
				    date, transfers[i]);
				tail(us, sess);
				done++;
				break;
			}
		}
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
