#!/bin/bash
# t-run-check.sh -- `decoy run --check` tells the truth, and `decoy run`
# checks before it starts anything: report paths that cannot be written
# fail with exit 2 before the service starts (a new report directory is
# made); the check modes refuse what the start refuses.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/tmp"
export TMPDIR=$T/tmp
SNAP=$top_srcdir/examples/snapshots/shop.jsonl

# scen NAME [REPORT_JSON]: a scenario whose service is a shell that marks
# $T/NAME.started and exits (a run that got that far would say so).
scen() {
	cat >"$T/$1.yaml" <<EOF2
snapshot: $SNAP
service:
  url: http://127.0.0.1:1
  command: touch $T/$1.started; exit 3
load: {pattern: replay}
report:
  json: ${2:-$T/out/$1.json}
EOF2
}

# --- 1. a report path under a regular file: exit 2 before anything starts
: >"$T/plainfile"
scen badout "$T/plainfile/r.json"
"$DECOY" run "$T/badout.yaml" >"$T/badout.out" 2>"$T/badout.log"
check "bad report path: exit 2" [ $? -eq 2 ]
check "bad report path: named" grep -q "plainfile/r.json" "$T/badout.log"
check "bad report path: the service was never started" \
    [ ! -e "$T/badout.started" ]
"$DECOY" run --check "$T/badout.yaml" >/dev/null 2>"$T/badout-check.log"
check "bad report path: --check agrees (exit 2)" [ $? -eq 2 ]
check "bad report path: --check names it" \
    grep -q "plainfile/r.json" "$T/badout-check.log"

# --- 2. a report directory that does not exist yet is made --------------
scen newdir "$T/new/deeper/r.json"
"$DECOY" run --check "$T/newdir.yaml" >/dev/null 2>"$T/newdir-check.log"
check "a new report directory: --check passes" [ $? -eq 0 ]
check "a new report directory: --check makes nothing" [ ! -e "$T/new" ]
"$DECOY" run "$T/newdir.yaml" >/dev/null 2>"$T/newdir.log"
check "a new report directory: made before the start" [ -d "$T/new/deeper" ]
check "a new report directory: the service was started" \
    [ -e "$T/newdir.started" ]

done_testing
