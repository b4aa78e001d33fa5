/*
 * snap-ids.c -- transaction ids made unique (snap-ids.h): an
 * open-addressing set of strings, each with the line it was first seen on.
 */
#include "config.h"

#include <sys/random.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hash.h"
#include "snap-ids.h"
#include "xmalloc.h"

/* One id and the line it was first recorded with. */
struct snap_ids_entry {
	char	*id;		/* NULL: empty */
	size_t	 line;
};

struct snap_ids {
	struct snap_ids_entry	*slots;
	size_t			 nslots;	/* 0 or a power of two */
	size_t			 n;
	size_t			 renamed;
};

/* The slot of id: empty, or holding it. */
static struct snap_ids_entry *
snap_ids_slot(const struct snap_ids *set, const char *id)
{
	size_t	i = (size_t)hash_fnv1a_str(id) & (set->nslots - 1);

	while (set->slots[i].id != NULL && strcmp(set->slots[i].id, id) != 0)
		i = (i + 1) & (set->nslots - 1);
	return &set->slots[i];
}

/*
 * Adds id (copied) with line if absent; 1 if it was added, 0 if it was
 * there, with *first (when not NULL) set to the line it was added with.
 */
static int
snap_ids_add(struct snap_ids *set, const char *id, size_t line,
    size_t *first)
{
	struct snap_ids_entry	*old = set->slots, *s;
	size_t			 nold = set->nslots, i;

	if ((set->n + 1) * 2 > set->nslots) {
		set->nslots = set->nslots == 0 ? 256 : set->nslots * 2;
		set->slots = xcalloc(set->nslots, sizeof *set->slots);
		for (i = 0; i < nold; i++)
			if (old[i].id != NULL)
				*snap_ids_slot(set, old[i].id) = old[i];
		free(old);
	}
	s = snap_ids_slot(set, id);
	if (s->id != NULL) {
		if (first != NULL)
			*first = s->line;
		return 0;
	}
	s->id = xstrdup(id);
	s->line = line;
	set->n++;
	return 1;
}

struct snap_ids *
snap_ids_create(void)
{
	return xcalloc(1, sizeof(struct snap_ids));
}

void
snap_ids_free(struct snap_ids *set)
{
	size_t	i;

	if (set == NULL)
		return;
	for (i = 0; i < set->nslots; i++)
		free(set->slots[i].id);
	free(set->slots);
	free(set);
}

int
snap_ids_seen(struct snap_ids *set, const char *id, size_t line,
    size_t *first)
{
	return !snap_ids_add(set, id, line, first);
}

const char *
snap_ids_unique(struct snap_ids *set, const char *id, char **fresh)
{
	unsigned long	n;

	*fresh = NULL;
	if (snap_ids_add(set, id, 0, NULL))
		return id;
	for (n = 2;; n++) {
		*fresh = xasprintf("%s~%lu", id, n);
		if (snap_ids_add(set, *fresh, 0, NULL))
			break;
		free(*fresh);
	}
	set->renamed++;
	return *fresh;
}

size_t
snap_ids_renamed(const struct snap_ids *set)
{
	return set->renamed;
}

void
snap_ids_run_prefix(char *buf, size_t size, int append)
{
	static const char	 digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	char			 tag[7];
	unsigned char		 rnd[6];
	struct timespec		 ts;
	uint64_t		 mix;
	size_t			 i;

	if (!append) {
		snprintf(buf, size, "t-");
		return;
	}
	if (getrandom(rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd) {
		/* No entropy yet (early boot): the clock and the pid. */
		clock_gettime(CLOCK_REALTIME, &ts);
		mix = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^
		    ((uint64_t)getpid() << 40);
		for (i = 0; i < sizeof rnd; i++)
			rnd[i] = (unsigned char)(mix >> (8 * i));
	}
	for (i = 0; i < 6; i++)
		tag[i] = digits[rnd[i] % 36];
	tag[6] = '\0';
	snprintf(buf, size, "t-%s-", tag);
}
