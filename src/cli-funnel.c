/*
 * cli-funnel.c -- the option parsers of the funnel's rows (cli-funnel.h).
 */
#include "config.h"

#include "cli-funnel.h"

#define CLI_FUNNEL_CB(fn, which)					\
int									\
fn(void *base, void *field, const char *arg, char **cause)		\
{									\
	(void)base;							\
	return funnel_config_set(field, which, arg, cause);		\
}

CLI_FUNNEL_CB(cli_opt_funnel_include_host, FUNNEL_OPT_INCLUDE_HOST)
CLI_FUNNEL_CB(cli_opt_funnel_exclude_host, FUNNEL_OPT_EXCLUDE_HOST)
CLI_FUNNEL_CB(cli_opt_funnel_include_path, FUNNEL_OPT_INCLUDE_PATH)
CLI_FUNNEL_CB(cli_opt_funnel_exclude_path, FUNNEL_OPT_EXCLUDE_PATH)
CLI_FUNNEL_CB(cli_opt_funnel_method, FUNNEL_OPT_METHOD)
CLI_FUNNEL_CB(cli_opt_funnel_status, FUNNEL_OPT_STATUS)
CLI_FUNNEL_CB(cli_opt_funnel_sample, FUNNEL_OPT_SAMPLE)
CLI_FUNNEL_CB(cli_opt_funnel_cap, FUNNEL_OPT_CAP)
CLI_FUNNEL_CB(cli_opt_funnel_dedup, FUNNEL_OPT_DEDUP)
CLI_FUNNEL_CB(cli_opt_funnel_seed, FUNNEL_OPT_SEED)
