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

# --- 3. --check runs the validation of the start ------------------------
# A file that is no snapshot, a snapshot broken in its middle, a listen
# address out of range, a missing rule file: each exit 2, each named at
# the scenario's line and column and, for a file, at the file's own.
base() {
	cat <<EOF2
snapshot: ${1:-$SNAP}
service: {url: 'http://127.0.0.1:{responder_port}'}
responder:
  listen: ${2:-127.0.0.1:0}
  rules: [${3:-$top_srcdir/rules/payments-flaky.yaml}]
EOF2
}
head -n 20 "$SNAP" >"$T/broken.jsonl"
echo '{"v":1,"id":"x","dir":"in","req":{"method":"GET",' >>"$T/broken.jsonl"
tail -n 5 "$SNAP" >>"$T/broken.jsonl"
base /etc/passwd >"$T/passwd.yaml"
base "$T/broken.jsonl" >"$T/broken.yaml"
base "" 999.1.1.1:99999 >"$T/range.yaml"
base "" 127.0.0.1:70000 >"$T/port.yaml"
base "" "" "$T/nope.yaml" >"$T/norules.yaml"
for f in passwd broken range port norules; do
	"$DECOY" run --check "$T/$f.yaml" >"$T/$f.out" 2>"$T/$f.err"
	check "--check $f: exit 2" [ $? -eq 2 ]
	check "--check $f: no \"scenario OK\"" [ ! -s "$T/$f.out" ]
done
check "/etc/passwd: at the snapshot key and the file's line 1" \
    grep -q "^$T/passwd.yaml:1:11: snapshot: /etc/passwd:1:1: " "$T/passwd.err"
check "a broken line in the middle: named at 21:COL" \
    grep -q "^$T/broken.yaml:1:11: snapshot: $T/broken.jsonl:21:[0-9]*: " \
    "$T/broken.err"
check "999.1.1.1:99999: at responder.listen" \
    grep -q "^$T/range.yaml:4:11: responder.listen: " "$T/range.err"
check "port 70000: at responder.listen, the range said" \
    grep -q "^$T/port.yaml:4:11: responder.listen: the port must be 0..65535" \
    "$T/port.err"
check "a missing rule file: at the scenario's line, the file named" \
    grep -q "^$T/norules.yaml:5:11: responder.rules: $T/nope.yaml: " \
    "$T/norules.err"
# The start refuses the same, before it starts anything.
"$DECOY" run "$T/broken.yaml" >/dev/null 2>"$T/brokenrun.err"
check "run (not --check) on the broken snapshot: exit 2" [ $? -eq 2 ]
check "run (not --check) on the broken snapshot: the same error" \
    grep -q "broken.jsonl:21:" "$T/brokenrun.err"
check "run (not --check): nothing was started (no responder log)" \
    [ -z "$(ls "$T/tmp")" ]

# --- 4. several files: each checked, the worst status wins ---------------
"$DECOY" run --check "$top_srcdir"/scenarios/*.yaml >"$T/all.out" 2>&1
check "--check scenarios/*.yaml: exit 0" [ $? -eq 0 ]
check "--check scenarios/*.yaml: one OK per file" \
    [ "$(grep -c 'scenario OK' "$T/all.out")" = \
    "$(ls "$top_srcdir"/scenarios/*.yaml | wc -l)" ]
"$DECOY" run --check --json "$top_srcdir/scenarios/demo.yaml" \
    "$T/passwd.yaml" >"$T/two.json" 2>/dev/null
check "--check --json with two files: exit 2" [ $? -eq 2 ]
check "--check --json with two files: one verdict per line" \
    [ "$(jq -r .valid "$T/two.json" | tr '\n' ' ')" = "true false " ]

# --- 5. https in the service block --------------------------------------
cat >"$T/https.yaml" <<EOF2
snapshot: $SNAP
service: {url: 'https://127.0.0.1:99999'}
EOF2
"$DECOY" run --check "$T/https.yaml" >/dev/null 2>"$T/https.err"
check "https url with port 99999: exit 2 at service.url" \
    grep -q "^$T/https.yaml:2:16: service.url: expected http\[s\]" "$T/https.err"
cat >"$T/httpsca.yaml" <<EOF2
snapshot: $SNAP
service:
  url: 'https://127.0.0.1:{service_port}'
  ca: $T/nope.pem
EOF2
"$DECOY" run --check "$T/httpsca.yaml" >/dev/null 2>"$T/httpsca.err"
check "a missing service.ca: exit 2 at its line" \
    grep -q "^$T/httpsca.yaml:4:7: service.ca: " "$T/httpsca.err"
sed 's|https://|http://|' "$T/httpsca.yaml" >"$T/httpca.yaml"
"$DECOY" run --check "$T/httpca.yaml" >/dev/null 2>"$T/httpca.err"
check "service.ca on an http:// url: exit 2" \
    grep -q "ca and insecure apply to an https:// url" "$T/httpca.err"

done_testing
