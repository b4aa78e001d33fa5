#!/bin/bash
# t-bank-replay.sh -- the generator's half of issue 12 on the bank example:
# bank with its real dependencies (tokens and ledger, not the responder:
# that half has its own test), every clock one hour past the recording.
# A naive replay misses most recorded statuses; `decoy analyze` writes the
# transforms (keys given with --key) and `decoy replay --transforms --now
# FIRST+1h` gets every recorded status and every body equal to the
# recording but for what the transforms declare volatile.
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || skip "jq is not installed"
"$DECOY" analyze --help >/dev/null 2>&1 || skip "decoy analyze is not built in"

SNAP=$top_srcdir/examples/snapshots/bank.jsonl
BANK=$top_builddir/examples/bank
SECRETS=$top_srcdir/examples/bank
[ -x "$BANK/bank" ] || fatal "$BANK/bank is not built"
[ -s "$SNAP" ] || fatal "$SNAP is missing"

jqr() {
	jq -r "$2" "$1"
}

"$DECOY" split "$SNAP" --in "$T/in.jsonl" --out "$T/out.jsonl" \
    >"$T/split.log" 2>&1 || fatal "decoy split failed"
nin=$(grep -c . "$T/in.jsonl")

# The keys sit beside the transforms file (analyze names them by path).
cp "$SECRETS/admin.secret" "$SECRETS/tokens.secret" "$T/"
"$DECOY" analyze "$T/in.jsonl" -o "$T/bank.transforms.yaml" \
    --key "admin=$T/admin.secret" --key "tokens=$T/tokens.secret" \
    >"$T/analyze.log" 2>&1
check "decoy analyze exits 0" [ $? -eq 0 ]

# --- every service's clock one hour past the first transaction --------
first=$(jq -r -s 'map(.ts) | min' "$SNAP")
first_s=$(date -u -d "$first" +%s.%N) || fatal "cannot read ts $first"
offset=$(awk -v f="$first_s" -v n="$(date +%s.%N)" \
    'BEGIN { printf "%.6f", f + 3600 - n }')
NOW=$(date -u -d "$first + 1 hour" +%Y-%m-%dT%H:%M:%S.%6NZ)
echo "# first transaction at $first; clocks at $NOW"

start_bg tokens "$T/tokens.port" "$BANK/tokens" --port 0 \
    --port-file "$T/tokens.port" --secret-file "$SECRETS/tokens.secret" \
    --clock-offset "$offset"
start_bg ledger "$T/ledger.port" "$BANK/ledger" --port 0 \
    --port-file "$T/ledger.port" --clock-offset "$offset"
start_bg bank "$T/bank.port" "$BANK/bank" --port 0 \
    --port-file "$T/bank.port" \
    --tokens "http://127.0.0.1:$PORT_tokens" \
    --ledger "http://127.0.0.1:$PORT_ledger" \
    --secret-file "$SECRETS/tokens.secret" \
    --admin-secret-file "$SECRETS/admin.secret" \
    --clock-offset "$offset"
URL=http://127.0.0.1:$PORT_bank

summary() {
	jq -r '.endpoints[] | select(.regressions > 0) |
	    "#   \(.method) \(.path): \(.compared - .regressions)/\(.compared); \(.diffs[0].field) \(.diffs[0].expected) -> \(.diffs[0].actual)"' "$1"
}

# --- naive --------------------------------------------------------------
"$DECOY" replay "$T/in.jsonl" --target "$URL" --body none \
    --report "$T/naive.json" >"$T/naive.out" 2>"$T/naive.log"
check "naive replay exits 1 (regressions)" [ $? -eq 1 ]
reg=$(jqr "$T/naive.json" .totals.regressions)
echo "# naive: $((nin - reg)) of $nin got their recorded status"
check "naive: more than half miss their recorded status" \
    [ $((reg * 2)) -gt "$nin" ]

# --- with the transforms (one run: the bank keeps state) ---------------
"$DECOY" replay "$T/in.jsonl" --target "$URL" --now "$NOW" \
    --transforms "$T/bank.transforms.yaml" \
    --report "$T/tx.json" >"$T/tx.out" 2>"$T/tx.log"
check "replay --transforms exits 0" [ $? -eq 0 ]
summary "$T/tx.json"
check "transforms: all $nin answered, no transport error" \
    [ "$(jqr "$T/tx.json" '"\(.totals.count) \([.totals.errors[]] | add)"')" = "$nin 0" ]
check "transforms: every request gets its recorded status" \
    [ "$(jqr "$T/tx.json" '[.endpoints[].diffs[] | select(.field == "status")] | length')" = 0 ]
check "transforms: bodies equal but for the declared volatile values" \
    [ "$(jqr "$T/tx.json" .totals.regressions)" = 0 ]

done_testing
