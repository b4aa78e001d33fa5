/*
 * cli.h -- the decoy command table.  Each cmd-*.c file exports one const
 * struct cmd_entry; cli.c walks the table, dispatches and prints help.
 */
#ifndef DECOY_CLI_H
#define DECOY_CLI_H

#define EXIT_OK		0
#define EXIT_FAILED	1	/* an assertion failed or a finding was made */
#define EXIT_USAGE	2	/* usage or input error */

struct cmd_entry {
	const char	*name;
	const char	*args;		/* synopsis after the name */
	const char	*summary;	/* one line for `decoy --help` */
	const char	*help;		/* options, one per line, for --help */
	/* argv[0] is the command name; returns the exit status. */
	int		(*exec)(int argc, char **argv);
};

extern const struct cmd_entry cmd_record_entry;
extern const struct cmd_entry cmd_redirect_entry;
extern const struct cmd_entry cmd_kube_entry;
extern const struct cmd_entry cmd_inspect_entry;
extern const struct cmd_entry cmd_analyze_entry;
extern const struct cmd_entry cmd_split_entry;
extern const struct cmd_entry cmd_respond_entry;
extern const struct cmd_entry cmd_ctl_entry;
extern const struct cmd_entry cmd_report_entry;
extern const struct cmd_entry cmd_replay_entry;
extern const struct cmd_entry cmd_run_entry;
extern const struct cmd_entry cmd_import_entry;
extern const struct cmd_entry cmd_export_entry;
extern const struct cmd_entry cmd_ca_entry;
extern const struct cmd_entry cmd_chaos_entry;

/* `decoy record --nfqueue ...` (cmd-tap.c); argv as for exec. */
int	cmd_record_nfqueue(int argc, char **argv);
extern const struct cmd_entry cmd_corpus_entry;
extern const struct cmd_entry cmd_fuzz_entry;

/* Runs `decoy ARGS...`; returns the exit status. */
int	cli_main(int argc, char **argv);
/* Prints "decoy NAME --help" text to stdout. */
void	cli_help(const struct cmd_entry *);
/* Prints "decoy NAME: message" and the usage line to stderr; returns
 * EXIT_USAGE so callers can `return cli_usage(...)`. */
int	cli_usage(const struct cmd_entry *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Prints "decoy NAME: message" to stderr and returns status. */
int	cli_error(const struct cmd_entry *, int status, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#endif
