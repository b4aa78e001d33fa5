/*
 * respond-priv.c -- the responder's privilege drop (decoy respond and
 * decoyd): after the listeners are bound, the CA, the snapshot, the
 * transforms and the rules loaded and the port files written, it keeps no
 * capability at all, optionally becomes --user, and says which of the
 * files a reload reads again it could no longer read.
 *
 * A reload (SIGHUP, POST /reload) re-reads the snapshot, the transforms
 * file and its key files and the rule files with the dropped credentials:
 * a file that only CAP_DAC_OVERRIDE let root read (another user's 0600
 * file) is then out of reach.  No capability is kept for that: the
 * responder warns at start, naming each such file, and the reload fails
 * cleanly (the running configuration stays) until it is made readable.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "respond-priv.h"
#include "respond.h"
#include "transform.h"
#include "xmalloc.h"

/* Warns when path is out of reach of the dropped credentials. */
static void
respond_priv_check(const char *what, const char *path)
{
	if (path == NULL || strcmp(path, "-") == 0 || priv_is_readable(path))
		return;
	log_warn("%s %s is not readable by uid %lu without capabilities (%s):"
	    " a reload (SIGHUP, POST /reload) would fail until it is",
	    what, path, (unsigned long)geteuid(), strerror(errno));
}

int
respond_priv_drop(const struct respond_config *cfg,
    const struct priv_user *user, char **cause)
{
	struct transforms	*tf;
	char			*why = NULL;
	size_t			 i;

	if (priv_drop(user, 0, cause) == -1)
		return -1;
	if (user != NULL && user->name != NULL)
		log_info("privileges dropped: user %s (uid %lu, gid %lu), no "
		    "capabilities, no_new_privs", user->name,
		    (unsigned long)user->uid, (unsigned long)user->gid);
	else
		log_info("privileges dropped: no capabilities, no_new_privs%s",
		    geteuid() == 0 ? " (still uid 0, owner of root's files: "
		    "--user NAME switches)" : "");
	respond_priv_check("the snapshot", cfg->snapshot);
	for (i = 0; i < cfg->nrules; i++)
		respond_priv_check("the rule file", cfg->rules[i]);
	if (cfg->transforms != NULL) {
		respond_priv_check("the transforms file", cfg->transforms);
		/* Its key files are named inside it: load it as a reload
		 * would (the file is small). */
		if (priv_is_readable(cfg->transforms)) {
			if ((tf = transforms_load(cfg->transforms, 1, &why)) ==
			    NULL) {
				log_warn("%s (without capabilities): a "
				    "reload (SIGHUP, POST /reload) would fail "
				    "until it is readable", why);
				free(why);
			} else
				transforms_free(tf);
		}
	}
	return 0;
}
