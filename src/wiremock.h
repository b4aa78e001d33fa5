/*
 * wiremock.h -- import of WireMock stub mappings (the JSON files under
 * DIR/mappings, bodies in DIR/__files) into snapshot transactions plus a
 * rule file (decoy-rules(5)) for what a snapshot cannot say.
 *
 * A stub whose request is one exact request (a method, "url", no header
 * matcher, an exact body or none) and that has no delay and no fault
 * becomes a dir "out" transaction only.  Every other stub becomes a rule
 * whose match holds its matchers as regexes and whose fault restates its
 * response (status, headers, body) with stop: true, plus latency and
 * connection faults for delays and WireMock faults; stubs that also have
 * an exact request get a transaction too.  Rules follow WireMock's
 * precedence (priority, then the newest first), and a snapshot stub that
 * outranks a rule gets a rule of its own placed before it, so the rule
 * cannot answer in its place.  decoy-import(1)'s man page section lists
 * what maps to what.
 *
 * A mapping or a matcher that cannot be expressed is never dropped
 * silently: each becomes a note (file, mapping id or name, what).  A
 * mapping whose request matcher cannot be expressed is skipped whole (a
 * looser match would answer requests WireMock refuses); a response part
 * that cannot be expressed (webhooks, a dribble delay) is noted and the
 * rest imported.
 *
 * Bodies go through the project's JSON reader (json.h), never cJSON:
 * jsonBody keeps its numbers digit for digit.
 */
#ifndef DECOY_WIREMOCK_H
#define DECOY_WIREMOCK_H

#include <stddef.h>

#include "snap.h"

struct wiremock;

/* One thing not imported. */
struct wiremock_note {
	char	*file;		/* the mapping file, as named to wiremock_add */
	char	*mapping;	/* "id (name)", "id", "name" or "#N" */
	char	*what;		/* the matcher or feature and why */
	int	 skipped;	/* 1: the whole mapping was left out */
};

/* The result of wiremock_finish(); free with wiremock_out_free(). */
struct wiremock_out {
	struct snap_txn		*txns;		/* dir "out", precedence order */
	size_t			 ntxns;
	char			*rules;		/* YAML text, NUL-terminated */
	size_t			 rules_len;
	size_t			 nrules;
	size_t			 mappings;	/* read */
	size_t			 imported;	/* mappings not skipped */
	struct wiremock_note	*notes;
	size_t			 nnotes;
};

/*
 * An importer.  root is the WireMock root directory whose __files/
 * holds bodyFileName bodies, or NULL (a bodyFileName then skips its
 * mapping with a note).  Free with wiremock_free().
 */
struct wiremock	*wiremock_create(const char *root);
void		 wiremock_free(struct wiremock *);

/*
 * Reads one mapping file's text buf[0..len): a single mapping or
 * {"mappings": [...]}.  name labels notes and errors.  Returns 0, or -1
 * with *cause = "NAME:LINE:COL: message" (allocated) when the file is not
 * JSON or a known member has the wrong type; the mappings of a broken
 * file are not kept.
 */
int	wiremock_add(struct wiremock *, const char *name, const char *buf,
	    size_t len, char **cause);

/*
 * Reads every *.json file under ROOT/mappings (subdirectories included)
 * in name order, ROOT being the directory given to wiremock_create().
 * Returns 0, or -1 with *cause (a missing directory, an unreadable or
 * broken file).
 */
int	wiremock_add_dir(struct wiremock *, char **cause);

/*
 * Ranks the mappings read so far and builds the transactions, the rule
 * file and the notes into *out (which it initialises).
 */
void	wiremock_finish(struct wiremock *, struct wiremock_out *out);
void	wiremock_out_free(struct wiremock_out *);

#endif
