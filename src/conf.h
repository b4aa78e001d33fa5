/*
 * conf.h -- decoyd's configuration file (YAML).
 *
 * The file (decoyd(8) documents it):
 *
 *	snapshot: ../examples/snapshots/shop.jsonl   # relative to this file
 *	transforms: shop.transforms.yaml             # optional, re-read on
 *	                                             # reload with the snapshot
 *	listen: 127.0.0.1:18080                      # or a list of addresses
 *	unmatched: 404                               # 404 | closest |
 *	                                             # passthrough
 *	passthrough_allow: api.example:443,localhost # default: recorded hosts
 *	record_misses: misses.jsonl                  # passed-through exchanges
 *	workers: 0                                   # 0: one per core
 *	port_file: /run/decoyd.port                  # optional
 *	log_level: info                              # error|warn|info|debug
 *	rules: [../rules/payments-flaky.yaml]        # chaos rules, in order
 *	seed: 42                                     # default: the rules'
 *	chaos_log: /var/log/decoy/chaos.jsonl        # optional
 *	transparent: false                           # true: connections come
 *	                                             # redirected (REDIRECT)
 *	user: nobody                                 # optional: become it once
 *	                                             # bound and loaded
 *	admin:                                       # optional admin API
 *	  listen: 127.0.0.1:9901
 *	  token: secret                              # required off loopback
 *	  port_file: /run/decoyd-admin.port
 *	limits:
 *	  max_head: 16KiB
 *	  max_body: 8MiB
 *	  header_timeout: 10s
 *	  body_timeout: 30s                          # 0s: none
 *	  body_min_rate: 1KiB/s                      # extends body_timeout
 *	  idle_timeout: 60s
 *	  output_budget: 256MiB                      # unsent output, all
 *	                                             # connections
 *
 * Unknown keys, wrong types and bad values are errors; the loader collects
 * all of them, each as "FILE:LINE:COL: message", and fails once.
 */
#ifndef DECOY_CONF_H
#define DECOY_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "priv.h"
#include "respond.h"
#include "units.h"

struct decoyd_conf {
	struct respond_config	respond;
	enum log_level		log_level;
	struct priv_user	user;		/* user.name NULL: none */
};

/* Fills the defaults. */
void	conf_init(struct decoyd_conf *);
void	conf_free(struct decoyd_conf *);
/*
 * Loads path into c (initialised first).  Returns 0, or -1 with *cause
 * holding every error, one "FILE:LINE:COL: message" per line.
 */
int	conf_load(const char *path, struct decoyd_conf *c, char **cause);

/* "1KiB" or "1KiB/s": bytes per second.  0, or -1 if it does not parse. */
int	conf_parse_rate(const char *, size_t *bps);

/* "404" | "closest" (and "passthrough", refused as not implemented). */
int	conf_parse_unmatched(const char *, enum match_unmatched *, char **cause);

#endif
