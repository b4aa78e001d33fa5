/*
 * redirect.c -- the nat rules of transparent mode (redirect.h): builds
 * the rule lists and runs iptables/ip6tables to install or remove them.
 *
 * A rule is a NULL-terminated vector of tokens; a command is the binary,
 * "-w -t nat", an action and a rule.  Probes (-S CHAIN: does the chain
 * exist; -C HOOK ...: is the jump there) run with their output discarded.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "json.h"
#include "record.h"
#include "redirect.h"
#include "xmalloc.h"

#define REDIRECT_MAX_ARGS	32

/* One command line being built. */
struct redirect_cmd {
	const char	*argv[REDIRECT_MAX_ARGS + 1];
	int		 argc;
};

/* What the commands of one run share. */
struct redirect_run {
	const struct redirect_config	*cfg;
	const char			*bin;	/* iptables | ip6tables */
	int				 v6;
	int				 dry_answer; /* probes under dry_run */
};

void
redirect_config_init(struct redirect_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->uid = -1;
}

static void
redirect_strv_free(char **v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void
redirect_config_free(struct redirect_config *cfg)
{
	redirect_strv_free(cfg->ports, cfg->nports);
	redirect_strv_free(cfg->exclude_ports, cfg->nexclude_ports);
	redirect_strv_free(cfg->exclude_cidr, cfg->nexclude_cidr);
	memset(cfg, 0, sizeof *cfg);
}

static void
redirect_strv_add(char ***v, size_t *n, char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof **v);
	(*v)[(*n)++] = s;
}

/* Drops what a failed parse appended past n0. */
static void
redirect_strv_truncate(char **v, size_t *n, size_t n0)
{
	while (*n > n0)
		free(v[--*n]);
}

/* A port 1..65535 spelled p[0..len) in decimal; -1 if not one. */
static long
redirect_port(const char *p, size_t len)
{
	long	v = 0;
	size_t	i;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v >= 1 && v <= 65535 ? v : -1;
}

/* The normal spelling of one port or range p[0..end), allocated; NULL if
 * it is not one. */
static char *
redirect_port_item(const char *p, const char *end)
{
	const char	*sep = p;
	long		 a, b;

	while (sep < end && *sep != '-' && *sep != ':')
		sep++;
	a = redirect_port(p, (size_t)(sep - p));
	b = sep < end ? redirect_port(sep + 1, (size_t)(end - sep - 1)) : a;
	if (a == -1 || b == -1 || b < a)
		return NULL;
	return a == b ? xasprintf("%ld", a) : xasprintf("%ld:%ld", a, b);
}

/* The normal spelling of one CIDR p[0..end) (ADDR alone: a host),
 * allocated; NULL if it is not one. */
static char *
redirect_cidr_item(const char *p, const char *end)
{
	const char	*slash;
	unsigned char	 bin[sizeof(struct in6_addr)];
	char		*addr, *ep, *s = NULL;
	long		 bits;
	int		 v6, max;

	slash = memchr(p, '/', (size_t)(end - p));
	addr = xstrndup(p, (size_t)((slash != NULL ? slash : end) - p));
	v6 = strchr(addr, ':') != NULL;
	max = v6 ? 128 : 32;
	bits = max;
	if (slash != NULL) {
		errno = 0;
		bits = strtol(slash + 1, &ep, 10);
		if (slash + 1 == end || ep != end || errno != 0)
			bits = -1;
	}
	if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, bin) == 1 &&
	    bits >= 0 && bits <= max)
		s = xasprintf("%s/%ld", addr, bits);
	free(addr);
	return s;
}

/* One kind of comma-separated list: its item parser and its messages. */
struct redirect_list {
	char		*(*item)(const char *, const char *);
	const char	*empty;		/* the message for "" */
	const char	*what;		/* "bad WHAT \"item\" (expected ...)" */
	const char	*expected;
};

static const struct redirect_list redirect_ports_list = {
	redirect_port_item, "empty port list", "port or range",
	"1..65535, or LOW-HIGH"
};

static const struct redirect_list redirect_cidrs_list = {
	redirect_cidr_item, "empty CIDR list", "CIDR",
	"ADDR/BITS, IPv4 or IPv6"
};

/* Appends each item of list, as kind spells it, to (*v, *n); on a bad
 * item, appends nothing and returns -1 with *cause. */
static int
redirect_parse_list(const struct redirect_list *kind, const char *list,
    char ***v, size_t *n, char **cause)
{
	const char	*p = list, *end;
	char		*s;
	size_t		 n0 = *n;

	if (*list == '\0') {
		*cause = xstrdup(kind->empty);
		return -1;
	}
	for (;;) {
		if ((end = strchr(p, ',')) == NULL)
			end = p + strlen(p);
		if ((s = kind->item(p, end)) == NULL) {
			*cause = xasprintf("bad %s \"%.*s\" (expected %s)",
			    kind->what, (int)(end - p), p, kind->expected);
			redirect_strv_truncate(*v, n, n0);
			return -1;
		}
		redirect_strv_add(v, n, s);
		if (*end == '\0')
			break;
		p = end + 1;
	}
	return 0;
}

int
redirect_parse_ports(const char *list, char ***v, size_t *n, char **cause)
{
	return redirect_parse_list(&redirect_ports_list, list, v, n, cause);
}

int
redirect_parse_cidrs(const char *list, char ***v, size_t *n, char **cause)
{
	return redirect_parse_list(&redirect_cidrs_list, list, v, n, cause);
}

static void
redirect_cmd_add(struct redirect_cmd *c, const char *tok)
{
	if (c->argc < REDIRECT_MAX_ARGS)
		c->argv[c->argc++] = tok;
	c->argv[c->argc] = NULL;
}

/*
 * Calls fn with each rule of a chain (v6, in: see redirect_rules_text), as
 * NULL-terminated tokens valid during the call; stops at the first -1.
 */
typedef int (*redirect_rule_cb)(const char *const *rule, void *arg);

static int
redirect_each_rule(const struct redirect_config *cfg, int v6, int in,
    redirect_rule_cb fn, void *arg)
{
	char		 mark[16], uid[24], port[16];
	const char	*r[16];
	size_t		 i;
	int		 use_mark;

	use_mark = cfg->has_mark || cfg->uid == -1;
	snprintf(mark, sizeof mark, "0x%x", cfg->has_mark ? cfg->mark :
	    RECORD_DEFAULT_MARK);
	snprintf(uid, sizeof uid, "%ld", cfg->uid);
	snprintf(port, sizeof port, "%d", cfg->to_port);
#define RULE(...) do {							\
	const char *const rv_[] = { __VA_ARGS__, NULL };		\
	memcpy(r, rv_, sizeof rv_);					\
	if (fn(r, arg) == -1)						\
		return -1;						\
} while (0)
	/* Arriving traffic is never decoy's own: no exclusion (and the
	 * owner match does not exist in PREROUTING). */
	if (!in && use_mark)
		RULE("-m", "mark", "--mark", mark, "-j", "RETURN");
	if (!in && cfg->uid != -1)
		RULE("-m", "owner", "--uid-owner", uid, "-j", "RETURN");
	if (!cfg->include_loopback)
		RULE("-d", v6 ? "::1/128" : "127.0.0.0/8", "-j", "RETURN");
	for (i = 0; i < cfg->nexclude_cidr; i++) {
		if ((strchr(cfg->exclude_cidr[i], ':') != NULL) != v6)
			continue;
		RULE("-d", cfg->exclude_cidr[i], "-j", "RETURN");
	}
	if (cfg->all) {
		for (i = 0; i < cfg->nexclude_ports; i++)
			RULE("-p", "tcp", "--dport", cfg->exclude_ports[i], "-j",
			    "RETURN");
		RULE("-p", "tcp", "-j", "REDIRECT", "--to-ports", port);
	} else {
		for (i = 0; i < cfg->nports; i++)
			RULE("-p", "tcp", "--dport", cfg->ports[i], "-j",
			    "REDIRECT", "--to-ports", port);
	}
#undef RULE
	return 0;
}

static int
redirect_text_cb(const char *const *rule, void *arg)
{
	struct buf	*out = arg;
	size_t		 i;

	for (i = 0; rule[i] != NULL; i++) {
		if (i > 0)
			buf_append_byte(out, ' ');
		buf_append_str(out, rule[i]);
	}
	buf_append_byte(out, '\n');
	return 0;
}

void
redirect_rules_text(const struct redirect_config *cfg, int v6, int in,
    struct buf *out)
{
	redirect_each_rule(cfg, v6, in, redirect_text_cb, out);
}

/* Appends ["word",...] for c, after a comma unless it is the first. */
static void
redirect_json_cmd(struct buf *b, const struct redirect_cmd *c)
{
	int	i;

	if (b->len > 0)
		buf_append_byte(b, ',');
	buf_append_byte(b, '[');
	for (i = 0; i < c->argc; i++) {
		if (i > 0)
			buf_append_byte(b, ',');
		json_append_string(b, c->argv[i], strlen(c->argv[i]));
	}
	buf_append_byte(b, ']');
}

/*
 * Runs (or, dry, prints) one command.  probe: output discarded, and the
 * exit status is the answer (0: yes, 1: no).  Returns 0 on success, 1
 * when a probe says no, -1 with *cause when the command cannot run or a
 * change fails.
 */
static int
redirect_exec(const struct redirect_run *rr, struct redirect_cmd *c,
    int probe, char **cause)
{
	struct buf	 line;
	pid_t		 pid;
	int		 status, fd, i;

	if (rr->cfg->dry_run) {
		if (probe)
			return rr->dry_answer ? 0 : 1;
		if (rr->cfg->commands != NULL) {
			redirect_json_cmd(rr->cfg->commands, c);
			return 0;
		}
		for (i = 0; i < c->argc; i++)
			printf("%s%s", i > 0 ? " " : "", c->argv[i]);
		printf("\n");
		return 0;
	}
	fflush(stdout);
	fflush(stderr);
	if ((pid = fork()) == -1) {
		*cause = xasprintf("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		if (probe && (fd = open("/dev/null", O_WRONLY)) != -1) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execvp(c->argv[0], (char *const *)c->argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1) {
		if (errno != EINTR) {
			*cause = xasprintf("waitpid: %s", strerror(errno));
			return -1;
		}
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (!probe && rr->cfg->commands != NULL)
			redirect_json_cmd(rr->cfg->commands, c);
		return 0;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		*cause = xasprintf("cannot run %s (not installed, or not in "
		    "PATH: apt-get install iptables)", c->argv[0]);
		return -1;
	}
	/* -C says 1 for a missing rule, 2 when its target chain is
	 * missing too. */
	if (probe && WIFEXITED(status) && (WEXITSTATUS(status) == 1 ||
	    WEXITSTATUS(status) == 2))
		return 1;
	buf_init(&line);
	for (i = 0; i < c->argc; i++) {
		if (i > 0)
			buf_append_byte(&line, ' ');
		buf_append_str(&line, c->argv[i]);
	}
	buf_append_byte(&line, '\0');
	if (WIFEXITED(status))
		*cause = xasprintf("`%s` failed (exit %d%s)", line.data,
		    WEXITSTATUS(status), WEXITSTATUS(status) == 4 ?
		    ": permission denied or the nat table is not available" :
		    "");
	else
		*cause = xasprintf("`%s` killed by signal %d", line.data,
		    WTERMSIG(status));
	buf_free(&line);
	return -1;
}

static void
redirect_cmd_start(const struct redirect_run *rr, struct redirect_cmd *c,
    const char *action, const char *chain)
{
	c->argc = 0;
	redirect_cmd_add(c, rr->bin);
	redirect_cmd_add(c, "-w");
	redirect_cmd_add(c, "-t");
	redirect_cmd_add(c, "nat");
	redirect_cmd_add(c, action);
	redirect_cmd_add(c, chain);
}

/* chain, hook: -A hook -p tcp -j chain, for -C, -A and -D. */
static int
redirect_jump(const struct redirect_run *rr, const char *action,
    const char *hook, const char *chain, int probe, char **cause)
{
	struct redirect_cmd	c;

	redirect_cmd_start(rr, &c, action, hook);
	redirect_cmd_add(&c, "-p");
	redirect_cmd_add(&c, "tcp");
	redirect_cmd_add(&c, "-j");
	redirect_cmd_add(&c, chain);
	return redirect_exec(rr, &c, probe, cause);
}

/* -S chain: 0 if the chain exists, 1 if not, -1 on error. */
static int
redirect_chain_exists(const struct redirect_run *rr, const char *chain,
    char **cause)
{
	struct redirect_cmd	c;

	redirect_cmd_start(rr, &c, "-S", chain);
	return redirect_exec(rr, &c, 1, cause);
}

static int
redirect_chain_op(const struct redirect_run *rr, const char *action,
    const char *chain, char **cause)
{
	struct redirect_cmd	c;

	redirect_cmd_start(rr, &c, action, chain);
	return redirect_exec(rr, &c, 0, cause);
}

struct redirect_append {
	const struct redirect_run	*rr;
	const char			*chain;
	char				**cause;
};

static int
redirect_append_cb(const char *const *rule, void *arg)
{
	struct redirect_append	*a = arg;
	struct redirect_cmd	 c;
	size_t			 i;

	redirect_cmd_start(a->rr, &c, "-A", a->chain);
	for (i = 0; rule[i] != NULL; i++)
		redirect_cmd_add(&c, rule[i]);
	return redirect_exec(a->rr, &c, 0, a->cause);
}

/* Removes one hook's jumps (all copies) and the chain, if there. */
static int
redirect_remove_chain(const struct redirect_run *rr, const char *hook,
    const char *chain, char **cause)
{
	int	rv, n;

	/* No chain, no jump to it (iptables refuses dangling jumps). */
	if ((rv = redirect_chain_exists(rr, chain, cause)) != 0)
		return rv == 1 ? 0 : -1;
	for (n = 0; n < 64; n++) {
		if ((rv = redirect_jump(rr, "-C", hook, chain, 1, cause)) == -1)
			return -1;
		if (rv == 1)
			break;
		if (redirect_jump(rr, "-D", hook, chain, 0, cause) == -1)
			return -1;
		if (rr->cfg->dry_run)
			break;
	}
	if (redirect_chain_op(rr, "-F", chain, cause) == -1 ||
	    redirect_chain_op(rr, "-X", chain, cause) == -1)
		return -1;
	return 0;
}

/* Installs one chain and its jump for one family. */
static int
redirect_install_chain(const struct redirect_run *rr, const char *hook,
    const char *chain, int in, char **cause)
{
	struct redirect_append	a = { rr, chain, cause };
	int			rv;

	if ((rv = redirect_chain_exists(rr, chain, cause)) == -1)
		return -1;
	if (redirect_chain_op(rr, rv == 0 ? "-F" : "-N", chain, cause) == -1)
		return -1;
	if (redirect_each_rule(rr->cfg, rr->v6, in, redirect_append_cb,
	    &a) == -1)
		return -1;
	if ((rv = redirect_jump(rr, "-C", hook, chain, 1, cause)) == -1)
		return -1;
	if (rv == 1 && redirect_jump(rr, "-A", hook, chain, 0, cause) == -1)
		return -1;
	return 0;
}

int
redirect_install(const struct redirect_config *cfg, char **cause)
{
	struct redirect_run	rr = { cfg, "iptables", 0, 0 };
	int			v6;

	for (v6 = 0; v6 <= cfg->ipv6; v6++) {
		rr.bin = v6 ? "ip6tables" : "iptables";
		rr.v6 = v6;
		if (redirect_install_chain(&rr, "OUTPUT", REDIRECT_CHAIN, 0,
		    cause) == -1)
			return -1;
		if (cfg->prerouting) {
			if (redirect_install_chain(&rr, "PREROUTING",
			    REDIRECT_CHAIN_IN, 1, cause) == -1)
				return -1;
		} else if (!cfg->dry_run && redirect_remove_chain(&rr,
		    "PREROUTING", REDIRECT_CHAIN_IN, cause) == -1)
			return -1;	/* left by an install --prerouting */
	}
	return 0;
}

/* 1 if ip6tables holds one of decoy's chains (silently 0 when it cannot
 * be asked: not installed, no IPv6 nat). */
static int
redirect_v6_present(const struct redirect_run *rr)
{
	char	*why = NULL;
	int	 rv;

	if ((rv = redirect_chain_exists(rr, REDIRECT_CHAIN, &why)) == 1)
		rv = redirect_chain_exists(rr, REDIRECT_CHAIN_IN, &why);
	free(why);
	return rv == 0;
}

int
redirect_remove(const struct redirect_config *cfg, char **cause)
{
	struct redirect_run	rr = { cfg, "iptables", 0, 1 };
	int			v6;

	for (v6 = 0; v6 <= 1; v6++) {
		rr.bin = v6 ? "ip6tables" : "iptables";
		rr.v6 = v6;
		/* IPv6 when asked, else only when decoy's chains are there. */
		if (v6 && !cfg->ipv6 && (cfg->dry_run ||
		    !redirect_v6_present(&rr)))
			continue;
		if (redirect_remove_chain(&rr, "OUTPUT", REDIRECT_CHAIN,
		    cause) == -1)
			return -1;
		if ((!cfg->dry_run || cfg->prerouting) &&
		    redirect_remove_chain(&rr, "PREROUTING", REDIRECT_CHAIN_IN,
		    cause) == -1)
			return -1;
	}
	return 0;
}
