/*
 * rule-int.h -- the layouts and reference counting that the rule loader
 * (rule-load.c) and rule evaluation (rule.c) share.  Not for other
 * modules: they see struct rule and struct rule_set only through rule.h.
 *
 * A set holds struct rule pointers; a struct rule is a reference-counted
 * pair of the enabled flag and a pointer to the shared, also
 * reference-counted struct rule_body (name, match, when, fault, counters).
 */
#ifndef DECOY_RULE_INT_H
#define DECOY_RULE_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "fault.h"
#include "rule.h"
#include "snap.h"

struct rule_re {
	char		*src;		/* as written, for rule_describe */
	pcre2_code	*code;		/* NULL: not given */
	int		 jit;
};

struct rule_kv {
	char		*name;
	struct rule_re	 re;
};

struct rule_body {
	atomic_uint		 refs;
	char			*name;
	char			*origin;	/* "FILE:LINE:COL" */
	int			 stop;

	int			 has_dir;
	enum snap_dir		 dir;
	struct rule_re		 host;
	struct rule_re		 method;
	struct rule_re		 path;
	char			*route;		/* an endpoint template
						   (route.h), or NULL */
	struct rule_re		 body;
	struct rule_kv		*query;
	size_t			 nquery;
	struct rule_kv		*headers;
	size_t			 nheaders;

	int			 has_probability;
	double			 probability;
	uint64_t		 after;
	uint64_t		 every;		/* 0: not given */
	int			 has_limit;
	uint64_t		 limit;
	uint64_t		 burst;
	int			 has_between;
	uint64_t		 between[2];	/* ns, [a, b) */

	struct fault_spec	 fault;

	atomic_uint_fast64_t	 matched;
	atomic_uint_fast64_t	 fired;
	atomic_uint_fast64_t	 burst_left;
};

struct rule {
	atomic_uint		 refs;
	int			 enabled;
	struct rule_body	*b;
};

struct rule_set {
	struct rule	**rules;
	size_t		  n;
};


/* Frees a regex's source and code (not re itself). */
void			 rule_re_free(struct rule_re *);
/* Drops a reference to b (NULL: nothing); the last one frees it. */
void			 rule_body_free(struct rule_body *b);
/* A new rule (one reference) around b, whose reference it takes. */
struct rule		*rule_new(struct rule_body *b, int enabled);
/* Drops a reference to r (NULL: nothing); the last one frees it. */
void			 rule_unref(struct rule *r);
/* An empty set with room for cap rules. */
struct rule_set		*rule_set_new(size_t cap);

#endif
