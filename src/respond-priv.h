/*
 * respond-priv.h -- the responder's privilege drop (respond-priv.c).
 */
#ifndef DECOY_RESPOND_PRIV_H
#define DECOY_RESPOND_PRIV_H

#include "priv.h"
#include "respond.h"

/*
 * Drops every capability (and becomes user, when user and user->name are
 * set) in the calling thread: call it after respond_create() and
 * admin_create(), before admin_serve() and respond_run() start threads.
 * Logs what it did, and warns about each file a reload reads (snapshot,
 * rules, transforms and their keys) that the dropped credentials cannot
 * read.  0, or -1 with *cause.
 */
int	respond_priv_drop(const struct respond_config *cfg,
	    const struct priv_user *user, char **cause);

#endif
