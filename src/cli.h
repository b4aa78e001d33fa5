/*
 * cli.h -- the decoy command table.  Each cmd-*.c file exports one const
 * struct cmd_entry holding its option table (opt.h); cli.c walks the
 * table, dispatches, parses a command's options and prints its help, all
 * in one format.
 */
#ifndef DECOY_CLI_H
#define DECOY_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "opt.h"

struct buf;

#define EXIT_OK		0
#define EXIT_FAILED	1	/* an assertion failed or a finding was made */
#define EXIT_USAGE	2	/* usage or input error */

struct cmd_entry {
	const char	*name;
	const char	*args;		/* synopsis after the name */
	const char	*summary;	/* one line for `decoy --help` */
	const char	*intro;		/* operands and prose before the options */
	const struct opt *opts;		/* the options */
	const char	*more_title;	/* a second table's heading, e.g. "job" */
	const struct opt *more;		/* options of a subcommand, or NULL */
	const char	*notes;		/* after the options: exit status ... */
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

/*
 * The -v/-q rows of every command that logs: st holds an int log_level,
 * set to LOG_LEVEL_INFO before the parse; the last of -v/-q wins.
 */
#define CLI_OPTS_LOG(st)						\
	{ "verbose", 'v', OPT_FLAG, NULL, "debug logging",		\
	  OPT_AT(st, log_level), .value = 3 /* LOG_LEVEL_DEBUG */ },	\
	{ "quiet", 'q', OPT_FLAG, NULL, "log warnings and errors only",	\
	  OPT_AT(st, log_level), .value = 1 /* LOG_LEVEL_WARN */ }
/*
 * The --ca-file and --insecure rows of the commands that call an https
 * service (replay, fuzz): ca is a char * member (an owned copy), insecure
 * an int.
 */
#define CLI_OPTS_TLS_VERIFY(st, ca, insecure)				\
	{ "ca-file", 0, OPT_PATH, NULL,					\
	  "https: verify the server with the CAs in FILE\n"		\
	  "(default: the system CAs)",					\
	  OPT_AT(st, ca), .flags = OPT_COPY, .aliases = "--ca" },	\
	{ "insecure", 0, OPT_FLAG, NULL,				\
	  "https: do not verify the server's certificate",		\
	  OPT_AT(st, insecure) }
/* The --json row of the commands that write a file and print a summary
 * (import, export, split): st holds an int json. */
#define CLI_OPT_JSON_SUMMARY(st)					\
	{ "json", 0, OPT_FLAG, NULL, "print the summary as one JSON object "	\
	  "on\nstdout (not with an output on stdout)",			\
	  OPT_AT(st, json) }
/* The --ready-file and --idle-timeout rows of the commands on an NFQUEUE
 * (chaos, record --nfqueue): ready a char * member (an owned copy), idle
 * a uint64_t of ns. */
#define CLI_OPTS_NFQUEUE(st, ready, idle)				\
	{ "ready-file", 0, OPT_PATH, NULL,				\
	  "write FILE once the queue is bound",				\
	  OPT_AT(st, ready), .flags = OPT_COPY },			\
	{ "idle-timeout", 0, OPT_DURATION, NULL,			\
	  "a flow silent for DUR ends (60s)",				\
	  OPT_AT(st, idle), .min = 1, .aliases = "--idle" }
/* The --proto-set row of the commands that write or read gRPC messages
 * in snapshots (record, respond, replay, inspect): path a char *
 * member (an owned copy). */
#define CLI_OPT_PROTO_SET(st, path)					\
	{ "proto-set", 0, OPT_PATH, "FILE",				\
	  "a .proto descriptor set (protoc\n"				\
	  "--include_imports --descriptor_set_out):\n"			\
	  "gRPC messages with field names", OPT_AT(st, path),		\
	  .flags = OPT_COPY }
/* in and out, as SNAP_DIR_IN and SNAP_DIR_OUT, for --dir rows. */
extern const struct opt_choice cli_dir_choices[];

/*
 * OPT_CALL parsers shared by several commands; field is the row's OPT_AT
 * member.  cli_opt_user: --user NAME into a struct priv_user (looked up
 * and checked).  cli_opt_token_file: a token read by admin_token_load
 * into a char * (allocated).  cli_opt_bps: "1KiB" or "1KiB/s" into a
 * size_t of bytes per second.  cli_opt_unmatched: 404 or closest into an
 * enum match_unmatched.
 */
int	cli_opt_user(void *, void *field, const char *, char **cause);
int	cli_opt_token_file(void *, void *field, const char *, char **cause);
int	cli_opt_bps(void *, void *field, const char *, char **cause);
int	cli_opt_unmatched(void *, void *field, const char *, char **cause);

/*
 * --proto-set: loads the descriptor set at path (NULL: none, *set NULL)
 * and has the snapshot codec use it (snap_set_protodesc).  0, or -1 with
 * *cause.  The caller frees *set (protodesc_free) after its last
 * snapshot read or write.
 */
struct protodesc;
int	cli_proto_set(const char *path, struct protodesc **set, char **cause);
/* The codec stops using set, which is freed (NULL: nothing). */
void	cli_proto_set_free(struct protodesc *set);

/* A TCP port 1..65535 ("--port: " is the caller's); 0, or -1 with
 * *cause. */
int	cli_port_parse(const char *, uint16_t *, char **cause);

/*
 * Reads path ("-": stdin) whole, stopping once more than max bytes are
 * in: a caller with a bound sees it passed (*len > max) without reading
 * a huge file whole.  Returns the bytes, NUL-terminated (the caller frees
 * them), or NULL with *cause ("PATH: reason").
 */
char	*cli_read_file(const char *path, size_t max, size_t *len,
	    char **cause);

/* Writes b on stdout (a command's output, its --json summary...),
 * flushes and frees b: 0, or -1 when stdout failed. */
int	cli_put(struct buf *b);

/* log_init("decoy NAME", level). */
void	cli_log_init(const struct cmd_entry *, int level);

/* Runs `decoy ARGS...`; returns the exit status. */
int	cli_main(int argc, char **argv);
/*
 * Prints "decoy NAME --help" to stdout: usage, summary, intro, options
 * (and the second table), notes and the old spellings still accepted.
 */
void	cli_help(const struct cmd_entry *);
/*
 * Parses argv (argv[0] the command name) with table t (e->opts when NULL)
 * into base (opt_parse; flags OPT_PARSE_*).  Returns 0 with *ind the index
 * of the first operand, or -1 with *status the command's exit status:
 * EXIT_OK once --help is printed, EXIT_USAGE once the error and the usage
 * line are printed ("decoy NAME: --rate: expected ...").
 */
int	cli_parse(const struct cmd_entry *, const struct opt *t, int argc,
	    char **argv, void *base, int flags, int *ind, int *status);
/* Prints "decoy NAME: message" and the usage line to stderr; returns
 * EXIT_USAGE so callers can `return cli_usage(...)`. */
int	cli_usage(const struct cmd_entry *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Prints "decoy NAME: message" to stderr and returns status. */
int	cli_error(const struct cmd_entry *, int status, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));

#endif
