#!/bin/bash
# t-kube-validate: every manifest `decoy kube inject` produces from the
# sample cases, the Indexed Job and merge Pod of `decoy kube job`, the
# cases themselves and the examples in deploy/ validate (also the Jobs
# rendered from scenarios)
# against the Kubernetes OpenAPI schema (kubernetes-models, with field
# names checked against its declarations: tests/kube/validate.mjs).  The
# validator comes from npm (tests/kube/npm-install.sh, cached); the test
# skips when npm or the registry is not there.  A manifest with a misspelt
# field, a bad enum value and a missing required field must fail.
. "$(dirname "$0")/lib.sh"

npmdir=$(sh "$top_srcdir/tests/kube/npm-install.sh") ||
    skip "the npm packages kubernetes-models and js-yaml could not be installed"
cp "$top_srcdir/tests/kube/validate.mjs" "$T/validate.mjs"
ln -s "$npmdir/node_modules" "$T/node_modules"

CASES=$top_srcdir/tests/kube/cases
for in in "$CASES"/*.in.yaml; do
	name=$(basename "$in" .in.yaml)
	args=()
	[ -f "$CASES/$name.args" ] && read -r -a args <"$CASES/$name.args"
	"$DECOY" kube inject "${args[@]}" "$in" >"$T/$name.injected.yaml"
	"$DECOY" kube eject "$T/$name.injected.yaml" >"$T/$name.ejected.yaml"
	check "$name: the input validates" node "$T/validate.mjs" "$in"
	check "$name: the injected output validates" \
	    node "$T/validate.mjs" "$T/$name.injected.yaml"
	check "$name: the ejected output validates" \
	    node "$T/validate.mjs" "$T/$name.ejected.yaml"
done
for f in "$top_srcdir"/deploy/*.yaml; do
	[ -f "$f" ] || continue
	# deploy/ also holds decoyd's example configuration: not a manifest.
	grep -q '^apiVersion:' "$f" || continue
	check "deploy/$(basename "$f") validates" node "$T/validate.mjs" "$f"
	"$DECOY" kube inject "$f" >"$T/deploy.yaml"
	check "deploy/$(basename "$f") injected validates" \
	    node "$T/validate.mjs" "$T/deploy.yaml"
done

# decoy kube job: the Indexed Job (snapshot on a claim, or in an image
# volume) and the merge Pod.
J=(--parallelism 4 --target http://orders --reports-claim reports
    --start-at 2026-12-08T10:00:00Z)
"$DECOY" kube job "${J[@]}" --snapshot-claim snaps -- --rate 50 \
    --duration 1m >"$T/job-claim.yaml"
"$DECOY" kube job "${J[@]}" --snapshot-image registry.example/snaps:1 \
    >"$T/job-image.yaml"
"$DECOY" kube job "${J[@]}" --merge >"$T/job-merge.yaml"
# decoy kube job SCENARIO: a rate scenario, one with transforms.
"$DECOY" kube job "$top_srcdir/scenarios/soak.yaml" "${J[@]}" \
    --snapshot-claim snaps >"$T/job-soak.yaml"
"$DECOY" kube job "$top_srcdir/scenarios/bank.yaml" "${J[@]}" \
    --snapshot-image registry.example/snaps:1 >"$T/job-bank.yaml"
"$DECOY" kube job "$top_srcdir/scenarios/bank.yaml" "${J[@]}" --merge \
    >"$T/job-bank-merge.yaml"
for f in job-claim job-image job-merge job-soak job-bank job-bank-merge; do
	check "kube job: $f validates" node "$T/validate.mjs" "$T/$f.yaml"
done

# The validator can fail.
cat >"$T/bad.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: bad}
spec:
  selector: {matchLabels: {a: b}}
  template:
    metadata: {labels: {a: b}}
    spec:
      initContainers:
      - name: decoy
        image: decoy
        restartPolicyy: Always
      containers:
      - image: app
        imagePullPolicy: Sometimes
YAML
node "$T/validate.mjs" "$T/bad.yaml" >"$T/bad.out" 2>&1
check "a bad manifest fails validation" test $? -eq 1
check "... on the misspelt field" grep -q 'unknown field "restartPolicyy"' "$T/bad.out"
check "... on the bad enum value" grep -q '"Sometimes" is not one of' "$T/bad.out"
check "... on the missing name" grep -q "required property name" "$T/bad.out"

done_testing
