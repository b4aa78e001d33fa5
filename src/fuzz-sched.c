/*
 * fuzz-sched.c -- the campaign's scheduler of fuzz-sched.h: energies per
 * entry and per (entry, operator) arm, raised by new behaviour, lowered
 * by known answers, and a window of the latest mutants whose outcomes
 * are applied in mutant order only once they are older than the lag;
 * the sweep before it (its order, handed out first, credited to arms).
 *
 * Integer arithmetic only (energies in 1/1024), so a campaign chooses
 * the same on every machine.  The behaviours seen are one open-addressing
 * table of 64-bit keys: a class (kept with the number of its shapes) and
 * each (class, shape) pair.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "fuzz-sched.h"
#include "xmalloc.h"

struct fuzz_sched_slot {
	uint64_t			 index;
	size_t				 entry;
	unsigned			 op;
	int32_t				 field;
	int				 fed;	/* 1 fed, 2 settled */
	struct fuzz_sched_outcome	 o;
};

struct fuzz_sched_seen {
	uint64_t	key;		/* 0: empty */
	uint32_t	shapes;		/* a class: its shapes seen */
};

struct fuzz_sched {
	size_t			 n;
	unsigned		 nops;
	uint32_t		*prior;		/* n * nops */
	uint32_t		*arm;		/* n * nops energies */
	uint32_t		*ent;		/* n energies */
	uint8_t			*tried;		/* n * nops: the arm was picked */
	size_t			*foff;		/* n + 1: entry e's fields are
						   fld[foff[e] .. foff[e+1]) */
	uint32_t		*fld;		/* field energies */
	uint64_t		 field_ops;	/* bit op: op takes a field */
	struct fault_rng	 rng;
	unsigned		 lag;

	struct fuzz_sched_slot	*ring;
	size_t			 mask;
	uint64_t		 next;		/* the next number to choose */
	uint64_t		 applied;	/* outcomes before it applied */

	struct fuzz_sched_seen	*seen;
	size_t			 nseen, cap;

	struct fuzz_sweep_item	*sweep;	/* mutants 0 .. nsweep-1 */
	size_t			 nsweep;
};

/* splitmix64's finaliser over h and x: table keys. */
static uint64_t
sched_mix(uint64_t h, uint64_t x)
{
	h ^= x + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
	h ^= h >> 31;
	return h != 0 ? h : 1;
}

struct fuzz_sched *
fuzz_sched_create(size_t nentries, unsigned nops, const uint32_t *prior,
    const size_t *nfields, uint64_t field_ops, uint64_t seed, unsigned lag)
{
	struct fuzz_sched	*s = xcalloc(1, sizeof *s);
	size_t			 i, ring = 4;

	s->foff = xcalloc(nentries + 1, sizeof *s->foff);
	for (i = 0; i < nentries; i++)
		s->foff[i + 1] = s->foff[i] + (nfields != NULL ? nfields[i] :
		    0);
	s->fld = xreallocarray(NULL, s->foff[nentries] + 1, sizeof *s->fld);
	for (i = 0; i < s->foff[nentries]; i++)
		s->fld[i] = FUZZ_SCHED_ONE;
	s->field_ops = field_ops;
	s->n = nentries;
	s->nops = nops;
	s->lag = lag;
	if (nentries > 0 && nops > 0) {
		s->prior = xreallocarray(NULL, nentries, nops *
		    sizeof *s->prior);
		memcpy(s->prior, prior, nentries * nops * sizeof *s->prior);
		s->arm = xreallocarray(NULL, nentries, nops * sizeof *s->arm);
		s->tried = xcalloc(nentries * nops, 1);
		for (i = 0; i < nentries * nops; i++)
			s->arm[i] = FUZZ_SCHED_ONE;
	}
	s->ent = xreallocarray(NULL, nentries > 0 ? nentries : 1,
	    sizeof *s->ent);
	for (i = 0; i < nentries; i++)
		s->ent[i] = FUZZ_SCHED_ONE;
	while (ring < (size_t)lag + 2)
		ring *= 2;
	s->ring = xcalloc(ring, sizeof *s->ring);
	s->mask = ring - 1;
	fault_rng_seed(&s->rng, sched_mix(seed, 0x5c4ed));
	s->cap = 256;
	s->seen = xcalloc(s->cap, sizeof *s->seen);
	return s;
}

void
fuzz_sched_free(struct fuzz_sched *s)
{
	if (s == NULL)
		return;
	free(s->prior);
	free(s->arm);
	free(s->ent);
	free(s->tried);
	free(s->foff);
	free(s->fld);
	free(s->ring);
	free(s->seen);
	free(s->sweep);
	free(s);
}

static struct fuzz_sched_seen *
sched_slot(struct fuzz_sched_seen *t, size_t cap, uint64_t key)
{
	size_t	i = (size_t)key & (cap - 1);

	while (t[i].key != 0 && t[i].key != key)
		i = (i + 1) & (cap - 1);
	return &t[i];
}

/* The entry of key in the table of behaviours; *isnew says whether it
 * was just added. */
static struct fuzz_sched_seen *
sched_seen(struct fuzz_sched *s, uint64_t key, int *isnew)
{
	struct fuzz_sched_seen	*e, *old;
	size_t			 i, ocap;

	if ((s->nseen + 1) * 2 > s->cap) {
		old = s->seen;
		ocap = s->cap;
		s->cap *= 2;
		s->seen = xcalloc(s->cap, sizeof *s->seen);
		for (i = 0; i < ocap; i++)
			if (old[i].key != 0)
				*sched_slot(s->seen, s->cap, old[i].key) =
				    old[i];
		free(old);
	}
	e = sched_slot(s->seen, s->cap, key);
	*isnew = e->key == 0;
	if (*isnew) {
		e->key = key;
		e->shapes = 0;
		s->nseen++;
	}
	return e;
}

static uint32_t
sched_raise(uint32_t x, uint32_t mul2, uint32_t add)
{
	uint64_t	v = (uint64_t)x * mul2 / 2 + add;

	return v > FUZZ_SCHED_CAP ? FUZZ_SCHED_CAP : (uint32_t)v;
}

static uint32_t
sched_decay(uint32_t x, unsigned shift)
{
	x -= x >> shift;
	return x < FUZZ_SCHED_FLOOR ? FUZZ_SCHED_FLOOR : x;
}

/*
 * One outcome of arm (entry, op): a new class quadruples-ish the arm
 * and doubles the entry; a new shape of a known class (the first
 * FUZZ_SCHED_SHAPES of it: services that echo input make endless ones)
 * raises them by half and a quarter; a known answer lowers the arm (and
 * the field) by 1/32 and the entry by 1/128.
 */
static void
sched_apply(struct fuzz_sched *s, const struct fuzz_sched_slot *sl)
{
	struct fuzz_sched_seen	*c;
	uint64_t		 ckey = sched_mix(sl->o.cls, 1);
	uint32_t		*arm = &s->arm[sl->entry * s->nops +
				    (sl->op < s->nops ? sl->op : 0)];
	uint32_t		*ent = &s->ent[sl->entry];
	uint32_t		 dummy = FUZZ_SCHED_ONE, adummy;
	uint32_t		*fld = sl->field >= 0 ? &s->fld[s->foff[sl->entry] +
				    (size_t)sl->field] : &dummy;
	int			 clsnew, shapenew = 0;

	if (sl->op >= s->nops)		/* a sweep item of no arm */
		arm = &adummy;
	c = sched_seen(s, ckey, &clsnew);
	if (c->shapes < FUZZ_SCHED_SHAPES) {
		(void)sched_seen(s, sched_mix(sl->o.cls, sl->o.shape + 2),
		    &shapenew);
		/* The table may have grown: look the class up again. */
		if (shapenew)
			sched_slot(s->seen, s->cap, ckey)->shapes++;
	}
	if (clsnew) {
		*fld = sched_raise(*fld, 4, 2 * FUZZ_SCHED_ONE);
		*arm = sched_raise(*arm, 4, 2 * FUZZ_SCHED_ONE);
		*ent = sched_raise(*ent, 4, FUZZ_SCHED_ONE);
	} else if (shapenew) {
		*fld = sched_raise(*fld, 3, FUZZ_SCHED_ONE / 2);
		*arm = sched_raise(*arm, 3, FUZZ_SCHED_ONE / 2);
		*ent = sched_raise(*ent, 2, FUZZ_SCHED_ONE / 4) +
		    (*ent >> 2);
		if (*ent > FUZZ_SCHED_CAP)
			*ent = FUZZ_SCHED_CAP;
	} else {
		*fld = sched_decay(*fld, 5);
		*arm = sched_decay(*arm, 5);
		*ent = sched_decay(*ent, 7);
	}
}

/* Applies the outcomes of every mutant before upto (all fed). */
static void
sched_apply_upto(struct fuzz_sched *s, uint64_t upto)
{
	while (s->applied < upto) {
		const struct fuzz_sched_slot *sl = &s->ring[s->applied &
		    s->mask];

		if (sl->fed == 1)
			sched_apply(s, sl);
		s->applied++;
	}
}

int
fuzz_sched_ready(const struct fuzz_sched *s, uint64_t index)
{
	uint64_t	i, upto = index > s->lag ? index - s->lag : 0;

	for (i = s->applied; i < upto; i++)
		if (!s->ring[i & s->mask].fed)
			return 0;
	return 1;
}

/* A value in [0, n) for 0 < n, from the scheduler's stream. */
static uint64_t
sched_below(struct fuzz_sched *s, uint64_t n)
{
	return fault_rng_next(&s->rng) % n;
}

/*
 * The operator of entry e: an arm never tried yet, the one of the
 * highest prior (optimism: an arm's yield is unknown until it is
 * tried, and one bug may hide behind one operator), else one drawn by
 * prior times the arm's energy (the prior alone when !energy).
 */
static unsigned
sched_pick_op(struct fuzz_sched *s, size_t e, int energy)
{
	const uint32_t	*p = &s->prior[e * s->nops];
	const uint32_t	*a = &s->arm[e * s->nops];
	uint8_t		*tried = &s->tried[e * s->nops];
	uint64_t	 t = 0, x;
	unsigned	 o, best = s->nops;

	for (o = 0; energy && o < s->nops; o++)
		if (p[o] > 0 && !tried[o] && (best == s->nops ||
		    p[o] > p[best]))
			best = o;
	if (best < s->nops) {
		tried[best] = 1;
		return best;
	}

	for (o = 0; o < s->nops; o++)
		t += (uint64_t)p[o] * (energy ? a[o] : 1);
	if (t == 0)
		return 0;
	x = sched_below(s, t);
	for (o = 0; o < s->nops; o++) {
		uint64_t w = (uint64_t)p[o] * (energy ? a[o] : 1);

		if (x < w)
			break;
		x -= w;
	}
	if (o == s->nops)
		o = s->nops - 1;
	tried[o] = 1;
	return o;
}

/* The field of entry e for a field operator: by energy, or uniformly
 * when exploring; -1 when the entry has none. */
static int32_t
sched_pick_field(struct fuzz_sched *s, size_t e, int energy)
{
	const uint32_t	*f = &s->fld[s->foff[e]];
	size_t		 i, nf = s->foff[e + 1] - s->foff[e];
	uint64_t	 t = 0, x;

	if (nf == 0)
		return -1;
	if (!energy)
		return (int32_t)sched_below(s, nf);
	for (i = 0; i < nf; i++)
		t += f[i];
	x = sched_below(s, t);
	for (i = 0; i + 1 < nf && x >= f[i]; i++)
		x -= f[i];
	return (int32_t)i;
}

/* Mutant index of the sweep: its item, credited to its arm. */
static void
sched_pick_sweep(struct fuzz_sched *s, uint64_t index, size_t *entry,
    unsigned *op, int32_t *field)
{
	const struct fuzz_sweep_item	*it = &s->sweep[index];
	struct fuzz_sched_slot		*sl = &s->ring[index & s->mask];

	*entry = it->entry;
	*op = it->op;
	*field = it->field;
	memset(sl, 0, sizeof *sl);
	sl->index = index;
	sl->entry = it->entry;
	sl->op = it->arm_op < s->nops ? it->arm_op : s->nops;
	sl->field = it->arm_op < s->nops && it->arm_field >= 0 &&
	    (size_t)it->arm_field < s->foff[it->entry + 1] -
	    s->foff[it->entry] ? it->arm_field : -1;
	if (it->arm_op < s->nops)
		s->tried[it->entry * s->nops + it->arm_op] = 1;
	s->next = index + 1;
}

void
fuzz_sched_pick(struct fuzz_sched *s, uint64_t index, size_t *entry,
    unsigned *op, int32_t *field)
{
	struct fuzz_sched_slot	*sl;
	uint64_t		 t = 0, x;
	size_t			 e;
	int			 explore;

	sched_apply_upto(s, index > s->lag ? index - s->lag : 0);
	*entry = 0;
	*op = 0;
	*field = -1;
	if (index < s->nsweep) {
		sched_pick_sweep(s, index, entry, op, field);
		return;
	}
	if (s->n == 0 || s->nops == 0)
		goto out;
	explore = sched_below(s, FUZZ_SCHED_EXPLORE) == 0;
	if (explore)
		e = (size_t)sched_below(s, s->n);
	else {
		for (e = 0; e < s->n; e++)
			t += s->ent[e];
		x = sched_below(s, t);
		for (e = 0; e + 1 < s->n && x >= s->ent[e]; e++)
			x -= s->ent[e];
	}
	*entry = e;
	*op = sched_pick_op(s, e, !explore);
	if (*op < 64 && (s->field_ops >> *op) & 1)
		*field = sched_pick_field(s, e, !explore);
out:
	sl = &s->ring[index & s->mask];
	memset(sl, 0, sizeof *sl);
	sl->index = index;
	sl->entry = *entry;
	sl->op = *op;
	sl->field = *field;
	s->next = index + 1;
}

int
fuzz_sched_feed(struct fuzz_sched *s, uint64_t index,
    const struct fuzz_sched_outcome *o)
{
	struct fuzz_sched_slot	*sl;

	if (index < s->applied || index >= s->next)
		return -1;
	sl = &s->ring[index & s->mask];
	if (sl->index != index || sl->fed)
		return 0;
	sl->o = *o;
	sl->fed = 1;
	return 0;
}

int
fuzz_sched_skip(struct fuzz_sched *s, uint64_t index)
{
	struct fuzz_sched_slot	*sl;

	if (index < s->applied || index >= s->next)
		return -1;
	sl = &s->ring[index & s->mask];
	if (sl->index == index && !sl->fed)
		sl->fed = 2;
	return 0;
}

void
fuzz_sched_settle(struct fuzz_sched *s, uint64_t index)
{
	uint64_t	i, upto = index > s->lag ? index - s->lag : 0;

	for (i = s->applied; i < upto && i < s->next; i++) {
		struct fuzz_sched_slot *sl = &s->ring[i & s->mask];

		if (!sl->fed)
			sl->fed = 2;	/* settled: nothing to apply */
	}
}

uint32_t
fuzz_sched_entry_energy(const struct fuzz_sched *s, size_t entry)
{
	return entry < s->n ? s->ent[entry] : 0;
}

uint32_t
fuzz_sched_arm_energy(const struct fuzz_sched *s, size_t entry, unsigned op)
{
	return entry < s->n && op < s->nops ? s->arm[entry * s->nops + op] :
	    0;
}

uint32_t
fuzz_sched_field_energy(const struct fuzz_sched *s, size_t entry,
    size_t field)
{
	return entry < s->n && field < s->foff[entry + 1] - s->foff[entry] ?
	    s->fld[s->foff[entry] + field] : 0;
}

size_t
fuzz_sched_behaviours(const struct fuzz_sched *s)
{
	return s->nseen;
}

/* The order of the endpoints: a permutation of 0 .. n-1 from seed. */
static void
sweep_shuffle(size_t *v, size_t n, uint64_t seed)
{
	struct fault_rng	rng;
	size_t			i, j, t;

	for (i = 0; i < n; i++)
		v[i] = i;
	fault_rng_seed(&rng, sched_mix(seed, 0x5eeb));
	for (i = n; i > 1; i--) {
		j = (size_t)(fault_rng_next(&rng) % i);
		t = v[i - 1];
		v[i - 1] = v[j];
		v[j] = t;
	}
}

struct fuzz_sweep_item *
fuzz_sweep_order(size_t nentries, const size_t *endpoint,
    const size_t *nitems, uint64_t seed, size_t *n)
{
	struct fuzz_sweep_item	*out;
	size_t			*rep, *order, neps = 0, total = 0;
	size_t			 i, k, r;
	int			 more;

	for (i = 0; i < nentries; i++)
		if (endpoint[i] + 1 > neps)
			neps = endpoint[i] + 1;
	/* rep[ep]: the entry that stands for it, nentries: none. */
	rep = xreallocarray(NULL, neps + 1, sizeof *rep);
	order = xreallocarray(NULL, neps + 1, sizeof *order);
	for (k = 0; k < neps; k++)
		rep[k] = nentries;
	for (i = 0; i < nentries; i++) {
		k = endpoint[i];
		if (rep[k] == nentries || nitems[i] > nitems[rep[k]])
			rep[k] = i;
	}
	for (k = 0; k < neps; k++)
		if (rep[k] < nentries)
			total += nitems[rep[k]];
	sweep_shuffle(order, neps, seed);
	out = xreallocarray(NULL, total + 1, sizeof *out);
	*n = 0;
	for (r = 0, more = 1; more; r++) {
		more = 0;
		for (k = 0; k < neps; k++) {
			i = rep[order[k]];
			if (i == nentries || r >= nitems[i])
				continue;
			more = 1;
			out[(*n)++] = (struct fuzz_sweep_item){ i, 0,
			    (int32_t)r, 0, -1 };
		}
	}
	free(rep);
	free(order);
	return out;
}

void
fuzz_sched_set_sweep(struct fuzz_sched *s, const struct fuzz_sweep_item *v,
    size_t n)
{
	size_t	i, m = 0;

	free(s->sweep);
	s->sweep = xreallocarray(NULL, n + 1, sizeof *s->sweep);
	for (i = 0; i < n; i++)
		if (v[i].entry < s->n)
			s->sweep[m++] = v[i];
	s->nsweep = m;
}

size_t
fuzz_sched_sweep_size(const struct fuzz_sched *s)
{
	return s->nsweep;
}
