#!/bin/bash
# t-bank-sandwich.sh -- issue 12's end-to-end check on the bank example:
# both halves of the sandwich an hour after the recording.  `decoy respond`
# plays tokens and ledger from the outbound half, bank (the service under
# test) runs with its clock one hour past the recording's first
# transaction, and `decoy replay` sends the inbound half.  With the
# transforms `decoy analyze` writes (keys given with --key), every inbound
# request gets its recorded status, every dependency call is matched, and
# no request is answered with another resource's response.
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || skip "jq is not installed"

SNAP=$top_srcdir/examples/snapshots/bank.jsonl
BANK=$top_builddir/examples/bank
SECRETS=$top_srcdir/examples/bank
[ -x "$BANK/bank" ] || fatal "$BANK/bank is not built"

jqr() {
	jq -r "$2" "$1"
}

"$DECOY" split "$SNAP" --in "$T/in.jsonl" --out "$T/out.jsonl" \
    >"$T/split.log" 2>&1 || fatal "decoy split failed"
nin=$(grep -c . "$T/in.jsonl")
nout=$(grep -c . "$T/out.jsonl")

# --- analyze -------------------------------------------------------------
cp "$SECRETS/admin.secret" "$SECRETS/tokens.secret" "$T/"
"$DECOY" analyze "$SNAP" -o "$T/bank.transforms.yaml" \
    --key "admin=$T/admin.secret" --key "tokens=$T/tokens.secret" \
    >"$T/analyze.log" 2>&1
check "decoy analyze exits 0" [ $? -eq 0 ]
check "no secret in the transforms file" \
    bash -c "! grep -qF \"\$(cat '$T/tokens.secret')\" '$T/bank.transforms.yaml'"
"$DECOY" analyze "$SNAP" -o "$T/again.yaml" --match-rate \
    --key "admin=$T/admin.secret" --key "tokens=$T/tokens.secret" \
    >"$T/match-rate.out" 2>&1
check "analyze --match-rate exits 0" [ $? -eq 0 ]
sed 's/^/#   /' "$T/match-rate.out" | tail -n 4

# --- every clock one hour past the first transaction -------------------
first=$(jq -r -s 'map(.ts) | min' "$SNAP")
first_s=$(date -u -d "$first" +%s.%N) || fatal "cannot read ts $first"
offset=$(awk -v f="$first_s" -v n="$(date +%s.%N)" \
    'BEGIN { printf "%.6f", f + 3600 - n }')
NOW=$(date -u -d "$first + 1 hour" +%Y-%m-%dT%H:%M:%S.%6NZ)
echo "# first transaction at $first; every clock at $NOW"

# run_sandwich NAME [RESPOND ARGS...] -- [REPLAY ARGS...]: a responder and
# a fresh bank (it keeps state), one replay; the report in $T/NAME.json,
# the responder's /stats in $T/NAME.stats.
run_sandwich() {
	local name=$1 rargs=() gargs=()
	shift
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		rargs+=("$1")
		shift
	done
	[ $# -gt 0 ] && shift
	gargs=("$@")
	start_respond "r_$name" "$T/out.jsonl" --admin 127.0.0.1:0 \
	    --admin-port-file "$T/$name.admin" ${rargs[@]+"${rargs[@]}"}
	local rport=PORT_r_$name rpid=PID_r_$name
	local admin
	admin=$(wait_port "$T/$name.admin" "${!rpid}")
	offset=$(awk -v f="$first_s" -v n="$(date +%s.%N)" \
	    'BEGIN { printf "%.6f", f + 3600 - n }')
	start_bg "b_$name" "$T/b_$name.port" "$BANK/bank" --port 0 \
	    --port-file "$T/b_$name.port" \
	    --tokens "http://127.0.0.1:${!rport}" \
	    --ledger "http://127.0.0.1:${!rport}" \
	    --secret-file "$SECRETS/tokens.secret" \
	    --admin-secret-file "$SECRETS/admin.secret" \
	    --clock-offset "$offset"
	local bport=PORT_b_$name bpid=PID_b_$name
	"$DECOY" replay "$T/in.jsonl" --target "http://127.0.0.1:${!bport}" \
	    --body none --report "$T/$name.json" ${gargs[@]+"${gargs[@]}"} \
	    >"$T/$name.out" 2>"$T/$name.log"
	echo $? >"$T/$name.rc"
	curl -s --max-time 5 "http://127.0.0.1:$admin/stats" >"$T/$name.stats"
	echo "$admin" >"$T/$name.adminport"
	echo "${!rport}" >"$T/$name.rport"
	stop "${!bpid}"
}

# --- naive ---------------------------------------------------------------
run_sandwich naive
reg=$(jqr "$T/naive.json" .totals.regressions)
echo "# naive: $((nin - reg)) of $nin inbound statuses as recorded;" \
    "responder: $(jq -c '{matched, unmatched}' "$T/naive.stats")"
check "naive: more than half of the inbound requests miss their status" \
    [ $((reg * 2)) -gt "$nin" ]
check "naive: decoy replay exits 1 (regressions)" [ "$(cat "$T/naive.rc")" = 1 ]
check "naive: some dependency calls are not matched" \
    [ "$(jqr "$T/naive.stats" .unmatched)" -gt 0 ]
stop "$PID_r_naive"

# --- with the transforms ---------------------------------------------------
run_sandwich tx --now "$NOW" --transforms "$T/bank.transforms.yaml" -- \
    --now "$NOW" --transforms "$T/bank.transforms.yaml"
check "transforms: replay exits 0" [ "$(cat "$T/tx.rc")" = 0 ]
jq -r '.endpoints[] | select(.regressions > 0) |
    "#   \(.method) \(.path): \(.compared - .regressions)/\(.compared); \(.diffs[0].field) \(.diffs[0].expected) -> \(.diffs[0].actual)"' "$T/tx.json"
echo "# transforms: $(jqr "$T/tx.json" '.totals.compared - .totals.regressions')" \
    "of $nin inbound statuses as recorded; responder:" \
    "$(jq -c '{requests, matched, unmatched, closest}' "$T/tx.stats")"
check "transforms: all $nin inbound requests answered, no transport error" \
    [ "$(jqr "$T/tx.json" '"\(.totals.count) \([.totals.errors[]] | add)"')" = "$nin 0" ]
check "transforms: every inbound request gets its recorded status" \
    [ "$(jqr "$T/tx.json" .totals.regressions)" = 0 ]
check "transforms: every dependency call is matched ($nout recorded)" \
    [ "$(jqr "$T/tx.stats" '"\(.requests) \(.matched) \(.unmatched)"')" = "$nout $nout 0" ]

# Zero false matches: a request for another resource, or the same one with
# a field that is not volatile changed, is never answered with a recorded
# response.  The volatile values are fresh, so only typed matching could
# make these match.
R=http://127.0.0.1:$(cat "$T/tx.rport")
body=$(jq -c -s '[.[] | select(.req.method == "POST" and
    (.req.target | endswith("/entries")))][0].req.body | fromjson' \
    "$T/out.jsonl")
fresh() {
	jq -c --arg k "$(cat /proc/sys/kernel/random/uuid)" \
	    --arg n "$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
	    --argjson t "$(($(date +%s) * 1000))" \
	    '.idempotency_key = $k | .nonce = $n | .requested_at = $t' <<<"$1"
}
post() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 5 -X POST \
	    -H 'Content-Type: application/json' --data-binary "$2" "$R$1"
}
ok_body=$(fresh "$body")
check "typed matching: the recorded entry with fresh volatile values: 201" \
    [ "$(post /v1/entries "$ok_body")" = 201 ]
check "no false match: another amount is not answered" \
    [ "$(post /v1/entries "$(jq -c '.amount += 1' <<<"$ok_body")")" = 404 ]
check "no false match: another payee is not answered" \
    [ "$(post /v1/entries "$(jq -c '.to = "acct-mallory"' <<<"$ok_body")")" = 404 ]
check "no false match: a nonce that is not hex is not answered" \
    [ "$(post /v1/entries "$(jq -c '.nonce = "not-a-nonce"' <<<"$ok_body")")" = 404 ]
check "no false match: an unknown account is not answered" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$R/v1/accounts/acct-zed")" = 404 ]
stop "$PID_r_tx"

done_testing
