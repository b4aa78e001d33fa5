#!/usr/bin/env bash
#
# t-fuzz-run.sh -- `decoy run` with a fuzz section (scenarios/fuzz-buggy.yaml):
# the campaign starts the service, the findings count goes into the
# report's assertions (exit 1 when there are more than assert.findings.max,
# 0 otherwise), and the scenario loader's errors for the fuzz section.

. "$(dirname "$0")/lib.sh"

BUGGY=$top_builddir/examples/buggy/buggy
[ -x "$BUGGY" ] || skip "examples/buggy/buggy not built"

# scenario OUT [SED...]: scenarios/fuzz-buggy.yaml with its paths pointed
# at the source and build trees, its output into $T/OUT, 3000 mutants.
scenario() {
	local out=$1
	shift
	sed -e "s|\.\./examples/snapshots/|$top_srcdir/examples/snapshots/|g" \
	    -e "s|\.\./examples/buggy/buggy|$BUGGY|g" \
	    -e "s|\.\./corpora/|$top_srcdir/corpora/|g" \
	    -e "s|\.\./out/fuzz-buggy/|$T/$out/|g" \
	    -e "s|requests: 20000|requests: 3000|" \
	    "$@" "$top_srcdir/scenarios/fuzz-buggy.yaml" >"$T/$out.yaml"
}

check "run --check fuzz-buggy.yaml" \
    "$DECOY" run --check "$top_srcdir/scenarios/fuzz-buggy.yaml"

scenario buggy
"$DECOY" run "$T/buggy.yaml" >"$T/buggy.out" 2>"$T/buggy.err"
rc=$?
check "findings against the buggy service: exit 1 (got $rc)" test "$rc" -eq 1
check "the findings.max assertion fails" \
    grep -q 'FAIL  findings.max' "$T/buggy.out"
check "findings written where the scenario says" \
    bash -c 'ls -d "$1"/findings/0*-* >/dev/null' _ "$T/buggy"
check "the JSON report holds the assertion" \
    grep -q '"findings.max"' "$T/buggy/report.json"
check "the JUnit report fails" grep -q '<failure' "$T/buggy/junit.xml"

scenario allowed -e 's|findings: {max: 0}|findings: {max: 100}|'
"$DECOY" run "$T/allowed.yaml" >"$T/allowed.out" 2>"$T/allowed.err"
rc=$?
check "assert.findings.max 100 allows them: exit 0 (got $rc)" test "$rc" -eq 0

scenario fixed -e 's|--port {service_port}|--fixed --port {service_port}|'
"$DECOY" run "$T/fixed.yaml" >"$T/fixed.out" 2>"$T/fixed.err"
rc=$?
check "the fixed service: exit 0 (got $rc)" test "$rc" -eq 0
check "the fixed service: no findings" \
    grep -q 'PASS  findings.max .*actual 0 ' "$T/fixed.out"

# Loader errors: file:line, exit 2.
scenario both -e 's|^fuzz:|load: {pattern: replay}\nfuzz:|'
"$DECOY" run --check "$T/both.yaml" >/dev/null 2>"$T/both.err"
check "fuzz and load together: exit 2" test $? -eq 2
check "fuzz and load together: file:line" \
    grep -q 'both.yaml:[0-9]*:[0-9]*: fuzz: .*not both' "$T/both.err"
scenario unknown -e 's|  seed: 7|  seed: 7\n  speed: 3|'
"$DECOY" run --check "$T/unknown.yaml" >/dev/null 2>"$T/unknown.err"
check "unknown fuzz key: exit 2" test $? -eq 2
check "unknown fuzz key: file:line" \
    grep -q 'unknown.yaml:[0-9]*:[0-9]*: fuzz: unknown key "speed"' \
    "$T/unknown.err"
scenario nocorpus -e 's|  corpus: .*|  corpus: /nonexistent/corpus|'
"$DECOY" run --check "$T/nocorpus.yaml" >/dev/null 2>"$T/nocorpus.err"
check "missing corpus directory: exit 2" test $? -eq 2

done_testing
