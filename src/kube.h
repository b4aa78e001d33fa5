/*
 * kube.h -- `decoy kube inject|eject`: adds decoy to (or removes it from)
 * the Kubernetes workloads of a multi-document YAML stream.
 *
 * A workload (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet,
 * ReplicationController, Job, CronJob, also inside a List's items) that
 * carries the annotation decoy.dev/inject: "true" (on the workload or its
 * pod template), or every workload not annotated "false" with `all`, gets
 * in its pod spec:
 *
 *   - initContainers[0] "decoy-redirect": `decoy redirect install` for the
 *     ports of decoy.dev/redirect-ports (else --all, minus
 *     decoy.dev/exclude-ports), root with only NET_ADMIN;
 *   - initContainers[1] "decoy": the native sidecar (restartPolicy:
 *     Always) as uid KUBE_UID, `decoy respond` (decoy.dev/mode: respond,
 *     the default) on the snapshot, rules and transforms files of the
 *     volume decoy.dev/snapshot-volume, or `decoy record` into it (mode
 *     record); startup and readiness probes (respond: the admin API on
 *     loopback through `decoy ctl status`), resources, a read-only root
 *     filesystem, no capabilities;
 *   - the emptyDir volumes decoy-tmp and decoy-xtables.
 *
 * Inject ejects first, so injecting twice gives what injecting once gives;
 * eject removes exactly those containers and volumes (and an
 * initContainers or volumes list it leaves empty).
 *
 * Text: documents with no workload to change are copied byte for byte,
 * comments and all.  A changed document is re-emitted by libyaml from its
 * node tree: key order, scalar styles (plain, quoted, literal, folded),
 * flow or block collections, tags and anchors (renamed) are kept; the
 * text before its first node (the "---" and %YAML lines, comments, blank
 * lines) and the lines after its last value (comments, "...") are kept;
 * comments inside it are lost (libyaml's parser does not report
 * them) and indentation becomes libyaml's.
 */
#ifndef DECOY_KUBE_H
#define DECOY_KUBE_H

#include <stddef.h>

#include "buf.h"

#define KUBE_UID		1337	/* the sidecar's uid, the image's */
#define KUBE_PORT		15001	/* the transparent listener */
#define KUBE_ADMIN_PORT		15020	/* the admin API, on loopback */
#define KUBE_DATA_DIR		"/var/lib/decoy/data"
#define KUBE_ANNOTATION		"decoy.dev/"

struct kube_opts {
	int		 eject;		/* remove decoy instead of adding it */
	int		 all;		/* every workload not annotated "false" */
	const char	*image;		/* decoy's image; NULL: KUBE_IMAGE */
};

/*
 * Rewrites the YAML stream text[0..len), labelled name in messages, into
 * out (appended).  *nchanged (may be NULL) counts the workloads changed.
 * 0, or -1 with *cause: every problem found, one "NAME:LINE:COL: message"
 * per line (a syntax error stops at the first); out is then undefined.
 */
int	kube_rewrite(const struct kube_opts *, const char *name,
	    const char *text, size_t len, struct buf *out, size_t *nchanged,
	    char **cause);

/*
 * `decoy kube job`: an Indexed Job (completionMode: Indexed, completions
 * and parallelism N) whose pod i runs
 *
 *   decoy replay SNAP --target URL --shard i/N --start-at TIME
 *       --report REPORTS/NAME-i.json [replay options]
 *
 * as uid KUBE_UID, the snapshot from a PVC or an image volume (read-only,
 * KUBE_DATA_DIR), the reports on a PVC (KUBE_REPORTS_DIR); i is
 * $(JOB_COMPLETION_INDEX), from the pod's completion-index annotation.
 * With merge: instead, the Pod NAME-merge that runs `decoy report merge`
 * over the N reports of that claim and prints the merged report.
 */
#define KUBE_REPORTS_DIR	"/var/lib/decoy/reports"

struct kube_job {
	const char	*name;		/* the Job, and the reports' prefix */
	const char	*image;		/* NULL: KUBE_IMAGE */
	unsigned	 parallelism;	/* N, 1..KUBE_MAX_SHARDS */
	const char	*target;	/* replay --target */
	const char	*snapshot;	/* file in the snapshot volume */
	const char	*snapshot_claim;	/* a PVC, or */
	const char	*snapshot_image;	/* an image volume */
	const char	*reports_claim;	/* a PVC (ReadWriteMany for N nodes) */
	const char	*start_at;	/* RFC 3339 */
	char *const	*replay_args;	/* more replay options, NULL-ended */
	int		 merge;		/* the merge Pod instead */
	const char	*scenario;	/* NULL, or the scenario, for comments */
};
#define KUBE_MAX_SHARDS		1000

/* Appends the manifest to out.  0, or -1 with *cause (a name, claim or
 * image that Kubernetes would refuse). */
int	kube_job_render(const struct kube_job *, struct buf *out,
	    char **cause);

#endif
