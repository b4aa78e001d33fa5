/*
 * idle-conns.c -- the load of bench/idle-conns.sh: connections that sit
 * idle or trickle their request head, and an ordinary client that times
 * its requests meanwhile.
 *
 *	idle-conns hold PORT NIDLE NTRICKLE READYFILE
 *		Opens NIDLE keep-alive connections to 127.0.0.1:PORT, each
 *		sends one GET /ping and reads its answer, then stays open
 *		and silent; opens NTRICKLE connections that send a request
 *		head one byte at a time, each one byte per 0.5 s (spread
 *		evenly), and reconnect when the server closes them (a 408
 *		after its header timeout).  Writes READYFILE once the idle
 *		connections are all open, then runs until killed.
 *	idle-conns probe PORT N GAP_US
 *		One keep-alive connection: N sequential GET /ping, GAP_US
 *		microseconds apart; prints "p50_ms p99_ms p999_ms max_ms"
 *		of the time from sending a request to its whole answer.
 *
 * Exit status 0, 1 when the server misbehaves (an error is printed), 2
 * for bad arguments.
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char	ping[] = "GET /ping HTTP/1.1\r\nHost: bench\r\n\r\n";
static const char	slow[] = "GET /ping HTTP/1.1\r\nHost: bench\r\n"
			    "X-Slow: ";

static uint64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int
dial(int port)
{
	struct sockaddr_in	sin;
	int			fd, one = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof sin) == -1) {
		close(fd);
		return -1;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* Sends one GET /ping and reads its whole answer (Content-Length).
 * 0, or -1. */
static int
roundtrip(int fd)
{
	char		 buf[4096], *h, *cl;
	size_t		 have = 0, need = 0;
	ssize_t		 n;

	if (write(fd, ping, sizeof ping - 1) != (ssize_t)(sizeof ping - 1))
		return -1;
	for (;;) {
		if ((n = read(fd, buf + have, sizeof buf - 1 - have)) <= 0)
			return -1;
		have += (size_t)n;
		buf[have] = '\0';
		if (need == 0 && (h = strstr(buf, "\r\n\r\n")) != NULL) {
			cl = strcasestr(buf, "content-length:");
			if (cl == NULL || cl > h)
				return -1;
			need = (size_t)(h + 4 - buf) +
			    (size_t)strtoul(cl + 15, NULL, 10);
		}
		if (need != 0 && have >= need)
			return have == need ? 0 : -1;
		if (have == sizeof buf - 1)
			return -1;
	}
}

static int
hold(int port, int nidle, int ntrickle, const char *ready)
{
	int		*idle, *tr, i, fd;
	size_t		*sent;
	uint64_t	 gap, next;
	char		 sink[512];
	FILE		*f;

	idle = calloc((size_t)nidle + 1, sizeof *idle);
	tr = calloc((size_t)ntrickle + 1, sizeof *tr);
	sent = calloc((size_t)ntrickle + 1, sizeof *sent);
	if (idle == NULL || tr == NULL || sent == NULL)
		return 1;
	for (i = 0; i < nidle; i++) {
		if ((idle[i] = dial(port)) == -1 || roundtrip(idle[i]) == -1) {
			fprintf(stderr, "idle-conns: idle connection %d: %s\n",
			    i, strerror(errno));
			return 1;
		}
	}
	for (i = 0; i < ntrickle; i++)
		tr[i] = -1;
	if ((f = fopen(ready, "w")) == NULL)
		return 1;
	fclose(f);
	if (ntrickle == 0)
		for (;;)
			pause();
	/* One byte per connection per 0.5 s, spread evenly. */
	gap = 500000000ull / (uint64_t)ntrickle;
	next = now_ns();
	for (i = 0;; i = (i + 1) % ntrickle) {
		uint64_t now = now_ns();

		if (next > now) {
			struct timespec ts = { 0, (long)(next - now) };

			nanosleep(&ts, NULL);
		}
		next += gap;
		if (tr[i] != -1) {
			/* Closed by the server (a 408)?  Start again. */
			ssize_t n = recv(tr[i], sink, sizeof sink,
			    MSG_DONTWAIT);

			if (n == 0 || (n == -1 && errno != EAGAIN) || n > 0) {
				close(tr[i]);
				tr[i] = -1;
			}
		}
		if (tr[i] == -1) {
			if ((tr[i] = dial(port)) == -1)
				continue;
			sent[i] = 0;
		}
		fd = tr[i];
		if (sent[i] < sizeof slow - 1) {
			if (send(fd, slow + sent[i], 1, MSG_NOSIGNAL) != 1) {
				close(fd);
				tr[i] = -1;
				continue;
			}
		} else if (send(fd, "a", 1, MSG_NOSIGNAL) != 1) {
			close(fd);
			tr[i] = -1;
			continue;
		}
		sent[i]++;
	}
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
probe(int port, int n, long gap_us)
{
	uint64_t	*lat, t0;
	int		 fd, i;

	if ((lat = calloc((size_t)n, sizeof *lat)) == NULL)
		return 1;
	if ((fd = dial(port)) == -1) {
		fprintf(stderr, "idle-conns: connect: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < n; i++) {
		struct timespec ts = { gap_us / 1000000,
		    (gap_us % 1000000) * 1000 };

		t0 = now_ns();
		if (roundtrip(fd) == -1) {
			fprintf(stderr, "idle-conns: request %d failed\n", i);
			return 1;
		}
		lat[i] = now_ns() - t0;
		nanosleep(&ts, NULL);
	}
	qsort(lat, (size_t)n, sizeof *lat, cmp_u64);
	printf("%.3f %.3f %.3f %.3f\n", lat[n / 2] / 1e6,
	    lat[(size_t)n * 99 / 100] / 1e6, lat[(size_t)n * 999 / 1000] / 1e6,
	    lat[n - 1] / 1e6);
	close(fd);
	free(lat);
	return 0;
}

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc == 6 && strcmp(argv[1], "hold") == 0)
		return hold((int)strtol(argv[2], NULL, 10),
		    (int)strtol(argv[3], NULL, 10),
		    (int)strtol(argv[4], NULL, 10), argv[5]);
	if (argc == 5 && strcmp(argv[1], "probe") == 0)
		return probe((int)strtol(argv[2], NULL, 10),
		    (int)strtol(argv[3], NULL, 10), strtol(argv[4], NULL, 10));
	fprintf(stderr, "usage: idle-conns hold PORT NIDLE NTRICKLE READY\n"
	    "       idle-conns probe PORT N GAP_US\n");
	return 2;
}
