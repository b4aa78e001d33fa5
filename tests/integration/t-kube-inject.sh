#!/bin/bash
# t-kube-inject: `decoy kube inject|eject` on the sample manifests of
# tests/kube/cases (NAME.in.yaml, optional NAME.args, golden NAME.out.yaml):
# the output is the golden file; injecting the output again changes
# nothing; ejecting it gives the input's objects back (compared as data by
# Python's yaml) and ejecting the input changes nothing; stdin and a file
# give the same.  tests/kube/errors/NAME.yaml fail with exit 2 and exactly
# the messages of NAME.err (FILE:LINE:COL each).  Every truncation of a
# case fails cleanly or succeeds, never crashes.
# UPDATE_GOLDEN=1 rewrites the golden files instead of comparing.
. "$(dirname "$0")/lib.sh"

CASES=$top_srcdir/tests/kube/cases
ERRORS=$top_srcdir/tests/kube/errors
PY=/usr/bin/python3

same_objects() {
	"$PY" - "$1" "$2" <<'PYEOF'
import sys, yaml
a = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None]
b = [d for d in yaml.safe_load_all(open(sys.argv[2])) if d is not None]
sys.exit(0 if a == b else 1)
PYEOF
}

n=0
for in in "$CASES"/*.in.yaml; do
	name=$(basename "$in" .in.yaml)
	args=()
	[ -f "$CASES/$name.args" ] && read -r -a args <"$CASES/$name.args"
	golden=$CASES/$name.out.yaml
	out=$T/$name.out.yaml
	"$DECOY" kube inject "${args[@]}" "$in" >"$out" 2>"$T/$name.err"
	check "$name: inject exits 0" test $? -eq 0
	if [ -n "${UPDATE_GOLDEN:-}" ]; then
		cp "$out" "$golden"
	fi
	check "$name: the output is the golden file" diff -u "$golden" "$out"
	check "$name: something was injected" \
	    grep -q -e '- name: decoy$' -e 'name: decoy,' "$out"
	"$DECOY" kube inject "${args[@]}" "$out" >"$T/$name.again.yaml"
	check "$name: inject of the output changes nothing" \
	    cmp "$out" "$T/$name.again.yaml"
	"$DECOY" kube eject "$out" >"$T/$name.ejected.yaml"
	check "$name: eject exits 0" test $? -eq 0
	check "$name: eject gives the input's objects back" \
	    same_objects "$in" "$T/$name.ejected.yaml"
	check "$name: eject leaves no decoy container or volume" \
	    bash -c "! grep -q -e 'decoy-redirect' -e 'decoy-tmp' -e 'decoy-xtables' '$T/$name.ejected.yaml'"
	"$DECOY" kube eject "$in" >"$T/$name.noop.yaml"
	check "$name: eject of the input copies it byte for byte" \
	    cmp "$in" "$T/$name.noop.yaml"
	"$DECOY" kube inject "${args[@]}" <"$in" >"$T/$name.stdin.yaml"
	check "$name: stdin gives what the file gives" cmp "$out" "$T/$name.stdin.yaml"
	n=$((n + 1))
done
check "there are cases ($n)" test "$n" -ge 4

# Without the annotation (and without --all) nothing changes.
"$DECOY" kube inject "$CASES/list-all.in.yaml" >"$T/noall.yaml"
check "list-all without --all: byte for byte" \
    cmp "$CASES/list-all.in.yaml" "$T/noall.yaml"

# Bad input: exit 2, each problem at FILE:LINE:COL, nothing on stdout.
for bad in "$ERRORS"/*.yaml; do
	name=$(basename "$bad" .yaml)
	(cd "$ERRORS" && "$DECOY" kube inject "$name.yaml") \
	    >"$T/$name.stdout" 2>"$T/$name.stderr"
	st=$?
	check "error $name: exit 2 (got $st)" test "$st" -eq 2
	check "error $name: nothing on stdout" test ! -s "$T/$name.stdout"
	if [ -n "${UPDATE_GOLDEN:-}" ]; then
		cp "$T/$name.stderr" "$ERRORS/$name.err"
	fi
	check "error $name: the expected messages" \
	    diff -u "$ERRORS/$name.err" "$T/$name.stderr"
done

# Usage errors.
"$DECOY" kube >/dev/null 2>&1
check "no subcommand: exit 2" test $? -eq 2
"$DECOY" kube inject --image 'a b' "$CASES/pod-multi.in.yaml" >/dev/null 2>&1
check "a bad --image: exit 2" test $? -eq 2
"$DECOY" kube inject "$T/missing.yaml" >/dev/null 2>&1
check "a missing file: exit 2" test $? -eq 2
"$DECOY" kube inject --image registry.example/decoy:9 "$CASES/pod-multi.in.yaml" |
    grep -c 'image: "registry.example/decoy:9"' >"$T/img.count"
check "--image names the image of both containers" test "$(cat "$T/img.count")" = 2

# Every truncation of a case: exit 0 or 2, never a crash.
src=$CASES/jobs-record.in.yaml
size=$(wc -c <"$src")
bad=0
for ((i = 0; i < size; i += 5)); do
	head -c "$i" "$src" >"$T/trunc.yaml"
	"$DECOY" kube inject "$T/trunc.yaml" >/dev/null 2>"$T/trunc.err"
	st=$?
	if [ "$st" -ne 0 ] && [ "$st" -ne 2 ]; then
		bad=$((bad + 1))
		echo "# truncated at $i: exit $st"
	fi
	grep -q -E 'Sanitizer|runtime error' "$T/trunc.err" && bad=$((bad + 1))
done
check "every truncation exits 0 or 2 ($bad did not)" test "$bad" -eq 0

done_testing
