/*
 * unit.h -- a tiny assertion header for the unit test programs.
 *
 * Each ASSERT_* prints the expression, expected and actual values with
 * file:line and counts a failure; the test program's main() ends with
 * UNIT_DONE(), which prints "N checks, N failed" and returns the exit
 * status automake's harness expects (0 pass, 1 fail).
 */
#ifndef DECOY_UNIT_H
#define DECOY_UNIT_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int unit_checks;
static int unit_failures;

#define UNIT_FAIL(...) do {						\
	unit_failures++;						\
	fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);			\
	fprintf(stderr, __VA_ARGS__);					\
	fputc('\n', stderr);						\
} while (0)

#define ASSERT(cond) do {						\
	unit_checks++;							\
	if (!(cond))							\
		UNIT_FAIL("assertion failed: %s", #cond);		\
} while (0)

#define ASSERT_EQ(a, b) do {						\
	long long unit_a_ = (long long)(a), unit_b_ = (long long)(b);	\
	unit_checks++;							\
	if (unit_a_ != unit_b_)						\
		UNIT_FAIL("%s == %s: expected %lld, got %lld",		\
		    #a, #b, unit_b_, unit_a_);				\
} while (0)

#define ASSERT_STR_EQ(a, b) do {					\
	const char *unit_a_ = (a), *unit_b_ = (b);			\
	unit_checks++;							\
	if (unit_a_ == NULL || unit_b_ == NULL ||			\
	    strcmp(unit_a_, unit_b_) != 0)				\
		UNIT_FAIL("%s == %s: expected \"%s\", got \"%s\"",	\
		    #a, #b, unit_b_ ? unit_b_ : "(null)",		\
		    unit_a_ ? unit_a_ : "(null)");			\
} while (0)

/* Compares a span (or pointer + length) with a C string. */
#define ASSERT_MEM_EQ(p, n, s) do {					\
	const char *unit_p_ = (const char *)(p), *unit_s_ = (s);	\
	size_t unit_n_ = (n);						\
	unit_checks++;							\
	if (unit_n_ != strlen(unit_s_) ||				\
	    (unit_n_ > 0 && memcmp(unit_p_, unit_s_, unit_n_) != 0))	\
		UNIT_FAIL("%s: expected \"%s\", got \"%.*s\"", #p,	\
		    unit_s_, (int)unit_n_, unit_p_ ? unit_p_ : "");	\
} while (0)

#define ASSERT_SPAN_EQ(sp, s)	ASSERT_MEM_EQ((sp).p, (sp).len, (s))

#define UNIT_DONE() do {						\
	printf("%d checks, %d failed\n", unit_checks, unit_failures);	\
	return unit_failures == 0 ? 0 : 1;				\
} while (0)

#endif
