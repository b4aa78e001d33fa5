/*
 * nfq-reorder.c -- test helper: reorders packets on an NFQUEUE.  Every
 * Nth packet is held until the packet after it has been verdicted (so the
 * two swap places), or for at most 5 ms when nothing follows.  GSO
 * super-packets are segmented by the kernel first, so the segments of one
 * TCP write are reordered among themselves.
 *
 *   nfq-reorder QUEUE [N] [--ready FILE]
 *
 * N = 0 accepts every packet at once, one verdict each (a plain
 * accept-all queue program, for bench/tap-throughput.sh).
 *
 * Runs until SIGTERM or SIGINT; prints "reordered K of P packets" on
 * stderr.  Exit 2 when the queue cannot be bound.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netfilter.h>

#include "nfqueue.h"

static volatile sig_atomic_t	stop;

static void
on_signal(int sig)
{
	stop = 1;
}

int
main(int argc, char **argv)
{
	struct nfqueue			*q;
	const struct nfqueue_pkt	*pkts;
	struct sigaction		 sa;
	struct pollfd			 pfd;
	unsigned long			 queue, every = 7, count = 0, swapped = 0;
	const char			*ready = NULL;
	char				*cause = NULL, *end;
	uint32_t			 held = 0;
	int				 have_held = 0, i, r;
	ssize_t				 n, k;
	FILE				*f;

	if (argc < 2) {
		fprintf(stderr, "usage: nfq-reorder QUEUE [N] [--ready FILE]\n");
		return 2;
	}
	queue = strtoul(argv[1], &end, 10);
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--ready") == 0 && i + 1 < argc)
			ready = argv[++i];
		else if ((every = strtoul(argv[i], &end, 10)) == 1) {
			fprintf(stderr, "nfq-reorder: N must be 0 or >= 2\n");
			return 2;
		}
	}
	if ((q = nfqueue_open((unsigned int)queue, 64, 64, NFQUEUE_F_NO_GSO,
	    &cause)) == NULL) {
		fprintf(stderr, "nfq-reorder: %s\n", cause);
		free(cause);
		return 2;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (ready != NULL && (f = fopen(ready, "w")) != NULL) {
		fprintf(f, "%lu\n", queue);
		fclose(f);
	}
	pfd.fd = nfqueue_fd(q);
	pfd.events = POLLIN;
	while (!stop) {
		r = poll(&pfd, 1, have_held ? 5 : 200);
		if (r == -1 && errno != EINTR)
			break;
		if (r == 0 && have_held) {
			nfqueue_verdict(q, held, NF_ACCEPT);
			have_held = 0;
		}
		if ((n = nfqueue_recv(q, &pkts, &cause)) == -1) {
			fprintf(stderr, "nfq-reorder: %s\n", cause);
			free(cause);
			break;
		}
		for (k = 0; k < n; k++) {
			count++;
			if (every != 0 && !have_held && count % every == 0) {
				held = pkts[k].id;
				have_held = 1;
				continue;
			}
			nfqueue_verdict(q, pkts[k].id, NF_ACCEPT);
			if (have_held) {
				nfqueue_verdict(q, held, NF_ACCEPT);
				have_held = 0;
				swapped++;
			}
		}
		if (nfqueue_flush(q, &cause) == -1) {
			fprintf(stderr, "nfq-reorder: %s\n", cause);
			free(cause);
			cause = NULL;
		}
	}
	if (have_held)
		nfqueue_verdict(q, held, NF_ACCEPT);
	nfqueue_close(q);
	fprintf(stderr, "reordered %lu of %lu packets\n", swapped, count);
	return 0;
}
