/*
 * cli-funnel.h -- the capture funnel's options (funnel.h) as rows of a
 * command's option table (opt.h), so every command that records or
 * imports spells them the same: --include-host, --exclude-host,
 * --include-path, --exclude-path, --method, --status, --sample, --cap,
 * --dedup and --seed (decoy(1), FUNNEL).
 *
 * A command puts a struct funnel_config member in its options struct,
 * zeroed before the parse, and CLI_OPTS_FUNNEL(struct its_o, member) in
 * its table; after the parse, funnel_create(&o.member, &cause) gives the
 * funnel (or, when !funnel_config_is_set(), the caller may skip it), and
 * funnel_config_free(&o.member) frees what the options held.
 */
#ifndef DECOY_CLI_FUNNEL_H
#define DECOY_CLI_FUNNEL_H

#include "funnel.h"
#include "opt.h"

/*
 * OPT_CALL parsers: field is the struct funnel_config; each calls
 * funnel_config_set() with its option.
 */
int	cli_opt_funnel_include_host(void *, void *field, const char *,
	    char **cause);
int	cli_opt_funnel_exclude_host(void *, void *field, const char *,
	    char **cause);
int	cli_opt_funnel_include_path(void *, void *field, const char *,
	    char **cause);
int	cli_opt_funnel_exclude_path(void *, void *field, const char *,
	    char **cause);
int	cli_opt_funnel_method(void *, void *field, const char *, char **cause);
int	cli_opt_funnel_status(void *, void *field, const char *, char **cause);
int	cli_opt_funnel_sample(void *, void *field, const char *, char **cause);
int	cli_opt_funnel_cap(void *, void *field, const char *, char **cause);
int	cli_opt_funnel_dedup(void *, void *field, const char *, char **cause);
int	cli_opt_funnel_seed(void *, void *field, const char *, char **cause);

/* The funnel's rows; m is the struct funnel_config member of st. */
#define CLI_OPTS_FUNNEL(st, m)						\
	{ "include-host", 0, OPT_CALL, "RE",				\
	  "funnel: keep only hosts matching RE\n"			\
	  "(pcre2, unanchored; repeat: any)",				\
	  OPT_AT(st, m), .call = cli_opt_funnel_include_host,		\
	  .flags = OPT_ARG },						\
	{ "exclude-host", 0, OPT_CALL, "RE",				\
	  "funnel: drop hosts matching RE",				\
	  OPT_AT(st, m), .call = cli_opt_funnel_exclude_host,		\
	  .flags = OPT_ARG },						\
	{ "include-path", 0, OPT_CALL, "RE",				\
	  "funnel: keep only paths matching RE\n"			\
	  "(the path without its query)",				\
	  OPT_AT(st, m), .call = cli_opt_funnel_include_path,		\
	  .flags = OPT_ARG },						\
	{ "exclude-path", 0, OPT_CALL, "RE",				\
	  "funnel: drop paths matching RE",				\
	  OPT_AT(st, m), .call = cli_opt_funnel_exclude_path,		\
	  .flags = OPT_ARG },						\
	{ "method", 0, OPT_CALL, "M[,M]",				\
	  "funnel: keep only these methods",				\
	  OPT_AT(st, m), .call = cli_opt_funnel_method,			\
	  .flags = OPT_ARG },						\
	{ "status", 0, OPT_CALL, "LIST",				\
	  "funnel: keep only these statuses:\n"				\
	  "5xx, 200-299, 404, none (no response)",			\
	  OPT_AT(st, m), .call = cli_opt_funnel_status,			\
	  .flags = OPT_ARG },						\
	{ "sample", 0, OPT_CALL, "F",					\
	  "funnel: keep a fraction F (0.1 or 10%)\n"			\
	  "of each endpoint, reproducibly",				\
	  OPT_AT(st, m), .call = cli_opt_funnel_sample,			\
	  .flags = OPT_ARG },						\
	{ "cap", 0, OPT_CALL, "N/WINDOW",				\
	  "funnel: at most N per endpoint per\n"			\
	  "window (10/1m)",						\
	  OPT_AT(st, m), .call = cli_opt_funnel_cap,			\
	  .flags = OPT_ARG },						\
	{ "dedup", 0, OPT_CALL, "N",					\
	  "funnel: keep the first N of each request\n"			\
	  "signature (volatile values masked)",				\
	  OPT_AT(st, m), .call = cli_opt_funnel_dedup,			\
	  .flags = OPT_ARG },						\
	{ "seed", 0, OPT_CALL, "S",					\
	  "funnel: the seed of --sample (default 0)",			\
	  OPT_AT(st, m), .call = cli_opt_funnel_seed,			\
	  .flags = OPT_ARG }

#endif
