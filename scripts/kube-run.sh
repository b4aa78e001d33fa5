#!/bin/bash
# kube-run.sh -- a decoy run in a Kubernetes cluster, with kubectl only:
# inject decoy into the service's manifests and apply them, wait for the
# Deployment's rollout (decoy's startup probe holds the app back until the
# responder answers; the app's readiness probe says the service is up),
# run the load as an Indexed Job (`decoy kube job`: a scenario's load with
# -s, else the replay options after --), wait for it, merge the shard
# reports in a Pod (`decoy kube job --merge`), fetch the merged report,
# evaluate the scenario's assertions on it (`decoy report merge --assert`),
# check it with `decoy report`, and delete every object it created,
# whatever happened (also on failure or Ctrl-C).
#
#   scripts/kube-run.sh -f deploy/orders.yaml -d orders -p 4 \
#       -t http://orders --snapshot-claim decoy-snapshots \
#       --reports-claim decoy-reports [-s SCENARIO] [-n NAMESPACE] \
#       [-o report.json] [--timeout 30m] [-- REPLAY-OPTIONS...]
#
# Exit status: 0 the run passed, 1 the report holds a failed assertion (or
# a shard failed), 2 bad usage or a step that could not be done.
# Environment: KUBECTL (default kubectl), DECOY (default decoy).
set -u
KUBECTL=${KUBECTL:-kubectl}
DECOY=${DECOY:-decoy}

usage() {
	sed -n 's/^#   //p' "$0" | head -n 4 >&2
	exit 2
}

manifest= deploy= par= target= sclaim= rclaim= ns= out=report.json
timeout=30m name=decoy-run image= scenario=
while [ $# -gt 0 ]; do
	case $1 in
	-f) manifest=$2; shift 2 ;;
	-d) deploy=$2; shift 2 ;;
	-p) par=$2; shift 2 ;;
	-t) target=$2; shift 2 ;;
	-n) ns=$2; shift 2 ;;
	-o) out=$2; shift 2 ;;
	-s) scenario=$2; shift 2 ;;
	--snapshot-claim) sclaim=$2; shift 2 ;;
	--reports-claim) rclaim=$2; shift 2 ;;
	--snapshot) snapshot=$2; shift 2 ;;
	--image) image=$2; shift 2 ;;
	--name) name=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--) shift; break ;;
	*) usage ;;
	esac
done
[ -n "$manifest" ] && [ -n "$deploy" ] && [ -n "$par" ] && [ -n "$target" ] &&
    [ -n "$sclaim" ] && [ -n "$rclaim" ] || usage

K=("$KUBECTL")
[ -n "$ns" ] && K+=(--namespace "$ns")
IMG=()
[ -n "$image" ] && IMG=(--image "$image")
W=$(mktemp -d "${TMPDIR:-/tmp}/decoy-kube-run.XXXXXX") || exit 2
APPLIED=()

say() { echo "kube-run: $*" >&2; }

# Deletes what was applied, newest first, and waits for it to go.
cleanup() {
	local i
	for ((i = ${#APPLIED[@]} - 1; i >= 0; i--)); do
		say "deleting what ${APPLIED[$i]##*/} created"
		"${K[@]}" delete --ignore-not-found --wait=true -f "${APPLIED[$i]}" \
		    >&2 || say "could not delete everything of ${APPLIED[$i]}"
	done
	rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 2' INT TERM

# apply FILE: kubectl apply, remembered for the cleanup.
apply() {
	APPLIED+=("$1")
	"${K[@]}" apply -f "$1" >&2 || { say "kubectl apply -f $1 failed"; exit 2; }
}

"$DECOY" kube inject "${IMG[@]}" "$manifest" >"$W/app.yaml" || exit 2
apply "$W/app.yaml"
say "waiting for deployment/$deploy (decoy, then the service)"
"${K[@]}" rollout status "deployment/$deploy" --timeout="$timeout" >&2 ||
    { say "deployment/$deploy did not become ready"; exit 2; }

JOB=(--name "$name" --parallelism "$par" --reports-claim "$rclaim" "${IMG[@]}")
# The shards start together half a minute from now: time to schedule them.
start=$(( $(date +%s) + 30 ))
"$DECOY" kube job ${scenario:+"$scenario"} "${JOB[@]}" --target "$target" --snapshot-claim "$sclaim" \
    ${snapshot:+--snapshot "$snapshot"} --start-at "$start" -- "$@" \
    >"$W/job.yaml" || exit 2
apply "$W/job.yaml"
say "waiting for job/$name ($par shards)"
if ! "${K[@]}" wait --for=condition=complete --timeout="$timeout" \
    "job/$name" >&2; then
	say "job/$name did not complete (a shard failed or timed out); merging what is there"
	shard_failed=1
fi

"$DECOY" kube job --merge "${JOB[@]}" >"$W/merge.yaml" || exit 2
apply "$W/merge.yaml"
"${K[@]}" wait --for=jsonpath='{.status.phase}'=Succeeded --timeout=5m \
    "pod/$name-merge" >&2 || { say "the merge pod failed"; exit 2; }
"${K[@]}" logs "pod/$name-merge" >"$out" || exit 2
say "merged report: $out"
if [ -n "$scenario" ]; then
	# The scenario's assertions, on the merged report, kept in it.
	"$DECOY" report merge "$out" --assert "$scenario" -o "$out"
	[ $? -le 1 ] || exit 2
fi
"$DECOY" report "$out"
st=$?
[ "$st" -eq 0 ] && [ -n "${shard_failed:-}" ] && st=1
exit "$st"
