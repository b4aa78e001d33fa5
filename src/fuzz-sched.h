/*
 * fuzz-sched.h -- the campaign's scheduler (docs/fuzzing.md, "Scheduling
 * by yield"): which corpus entry and which operator the next mutant
 * number gets, from what the service answered to the mutants before.
 * Pure: no sockets, no clocks, no allocation after create but for the
 * table of behaviours seen; the same seed and the same outcomes fed for
 * the same mutant numbers give the same choices.
 *
 * Arms are (entry, operator) pairs an entry can take (a prior weight
 * above 0, mutate.h's mut_op_weight_of); an operator that works on one
 * JSON member (a field) is also given the field, by the field's energy,
 * so the fields whose mutation changed the answer get more mutants.
 * An entry's arms are first tried once each, highest prior first (a
 * bug may hide behind one operator; its yield is unknown until it is
 * tried).  Each arm, each field and each entry has an energy: an outcome that shows new behaviour (a behaviour class -- the
 * endpoint, the kind of failure or the status, a latency bucket -- not
 * seen before, or a new shape of the answer's body within a class) raises
 * the energy of its arm and of its entry; an outcome already seen lowers
 * them a little.  Energies stay between a floor and a cap, and one pick
 * in FUZZ_SCHED_EXPLORE draws by the priors alone, so nothing starves.
 *
 * Determinism with several requests in flight: the choice for mutant n
 * depends on the outcomes of mutants 0 .. n-lag-1 only, applied in
 * mutant order, whatever order they arrived in; fuzz_sched_ready() says
 * whether they are all in.  A mutant is made from (seed, number, entry,
 * operator) alone (mut_make), so a finding is reproduced from those four
 * without replaying the schedule.
 */
#ifndef DECOY_FUZZ_SCHED_H
#define DECOY_FUZZ_SCHED_H

#include <stddef.h>
#include <stdint.h>

#define FUZZ_SCHED_ONE		1024u	/* energy 1.0 */
#define FUZZ_SCHED_FLOOR	256u	/* energies never fall below 1/4 */
#define FUZZ_SCHED_CAP		(64u * FUZZ_SCHED_ONE)
#define FUZZ_SCHED_EXPLORE	16	/* 1 pick in 16 by the priors */
#define FUZZ_SCHED_SHAPES	16	/* new body shapes rewarded per class */

struct fuzz_sched;

/* What the service did with one mutant. */
struct fuzz_sched_outcome {
	uint64_t	cls;		/* behaviour class: endpoint, kind or
					   status, latency bucket (hashed) */
	uint64_t	shape;		/* the answer body's shape (hashed),
					   0: none */
};

/*
 * A scheduler over nentries entries and nops operators; prior holds
 * nentries * nops weights (entry-major, copied; 0: the entry cannot take
 * the operator; every entry must have one above 0).  nfields (may be
 * NULL: none) the number of fields of each entry (mutate.h's
 * mut_entry_fields), field_ops the operators that work on one field (bit
 * op set).  lag: how many of the latest mutants' outcomes a choice may
 * not wait for (the requests in flight and some slack).  Never NULL.
 */
struct fuzz_sched *fuzz_sched_create(size_t nentries, unsigned nops,
	    const uint32_t *prior, const size_t *nfields, uint64_t field_ops,
	    uint64_t seed, unsigned lag);
void	fuzz_sched_free(struct fuzz_sched *);

/* 1 when mutant index (the next one) can be chosen: the outcomes of
 * every mutant before index - lag are in.  0: wait for them. */
int	fuzz_sched_ready(const struct fuzz_sched *, uint64_t index);

/*
 * Chooses the entry, operator and field (-1: none, the operator takes
 * no field or the entry has none) of mutant index, which must be the
 * next number (0, 1, 2, ...) and ready.  Applies the outcomes of
 * mutants up to index - lag - 1 first, in order.
 */
void	fuzz_sched_pick(struct fuzz_sched *, uint64_t index, size_t *entry,
	    unsigned *op, int32_t *field);

/*
 * The outcome of mutant index (chosen before and not older than the
 * lag allows: index >= the next number - lag - 1).  A second outcome for
 * one number is ignored.  0, or -1 for a number out of the window.
 */
int	fuzz_sched_feed(struct fuzz_sched *, uint64_t index,
	    const struct fuzz_sched_outcome *);

/* Mutant index's outcome will never be known: nothing is applied for
 * it (0, or -1 for a number out of the window). */
int	fuzz_sched_skip(struct fuzz_sched *, uint64_t index);

/* Gives up on the outcomes of every mutant before index - lag that has
 * none (for a campaign that cannot wait any longer): nothing is applied
 * for them. */
void	fuzz_sched_settle(struct fuzz_sched *, uint64_t index);

/*
 * The sweep (docs/fuzzing.md, "The sweep"): a deterministic first pass
 * of mutants before the schedule by yield.  One item: the entry, what
 * mut_make gets as operator and field (mutate.h's MUT_SWEEP and the
 * item number), and the arm its outcome is credited to (the operator
 * of that kind and its field, -1 for none).
 */
struct fuzz_sweep_item {
	size_t		entry;
	unsigned	op;
	int32_t		field;
	unsigned	arm_op;
	int32_t		arm_field;
};

/*
 * The order of the sweep, a pure function of its arguments: per
 * endpoint (endpoint[e] of each entry e) the entry with the most items
 * (nitems[e]; the first on ties) stands for it, and the endpoints take
 * turns, one item each, in an order drawn from seed, each its items in
 * order (0, 1, ...), until every one is done: so every endpoint gets
 * its first items early.  Returns the list (the caller frees it), its
 * length in *n; op, arm_op and arm_field are left 0 / -1 for the caller
 * to fill, field is the item number.
 */
struct fuzz_sweep_item *fuzz_sweep_order(size_t nentries,
	    const size_t *endpoint, const size_t *nitems, uint64_t seed,
	    size_t *n);

/*
 * Mutants 0 .. n-1 of the campaign are the items (copied), in order;
 * the schedule by yield starts at mutant n.  Their outcomes are applied
 * like any (fuzz_sched_feed) to their arm (entry, arm_op, arm_field),
 * which also counts as tried.  Call before the first pick; an arm_op
 * out of range credits the entry alone.
 */
void	fuzz_sched_set_sweep(struct fuzz_sched *,
	    const struct fuzz_sweep_item *, size_t n);
size_t	fuzz_sched_sweep_size(const struct fuzz_sched *);

/* The energies, for tests and the summary: of an entry, of an arm. */
uint32_t fuzz_sched_entry_energy(const struct fuzz_sched *, size_t entry);
uint32_t fuzz_sched_arm_energy(const struct fuzz_sched *, size_t entry,
	    unsigned op);
uint32_t fuzz_sched_field_energy(const struct fuzz_sched *, size_t entry,
	    size_t field);
/* Distinct behaviour classes and (class, shape) pairs seen. */
size_t	fuzz_sched_behaviours(const struct fuzz_sched *);

#endif
