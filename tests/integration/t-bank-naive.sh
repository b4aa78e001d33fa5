#!/bin/bash
# t-bank-naive.sh -- the bank example (examples/bank, issue 12) replayed
# naively an hour after its recording: `decoy respond` plays tokens and
# ledger from the outbound half, bank runs with its clock one hour past
# the recording's first transaction, and `decoy replay` sends the inbound
# half as recorded.  The recording's volatile values (expired JWTs, client
# times, fresh nonces and idempotency keys, server-issued ids) make most
# requests miss their recorded status, and every login fails.  This is the
# baseline that `decoy analyze` and the transforms must turn around.
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || skip "jq is not installed"

SNAP=$top_srcdir/examples/snapshots/bank.jsonl
BANK=$top_builddir/examples/bank
SECRETS=$top_srcdir/examples/bank
[ -x "$BANK/bank" ] || fatal "$BANK/bank is not built"
[ -s "$SNAP" ] || fatal "$SNAP is missing"

# jqr FILE FILTER: one value from a JSON document.
jqr() {
	jq -r "$2" "$1"
}

# --- the halves -------------------------------------------------------
"$DECOY" split "$SNAP" --in "$T/in.jsonl" --out "$T/out.jsonl" \
    >"$T/split.log" 2>&1
check "decoy split exits 0" [ $? -eq 0 ]
nin=$(grep -c . "$T/in.jsonl")
nout=$(grep -c . "$T/out.jsonl")
echo "# recording: $nin inbound, $nout dependency calls"
check "the recording has 40 to 60 inbound transactions" \
    [ "$nin" -ge 40 -a "$nin" -le 60 ]
nlogin=$(jq -s '[.[] | select(.req.target == "/login" and
    .res.status == 200)] | length' "$T/in.jsonl")
check "the recording has successful logins" [ "$nlogin" -gt 0 ]

# --- bank, its clock one hour past the recording ------------------------
# The offset is computed from the first transaction's "ts" (to the
# microsecond), so bank's now is that instant plus 3600 s when it starts.
first=$(jq -r -s 'map(.ts) | min' "$SNAP")
first_s=$(date -u -d "$first" +%s.%N) || fatal "cannot read ts $first"
offset=$(awk -v f="$first_s" -v n="$(date +%s.%N)" \
    'BEGIN { printf "%.6f", f + 3600 - n }')
echo "# first transaction at $first; bank's clock offset ${offset}s"

start_respond deps "$T/out.jsonl"
start_bg bank "$T/bank.port" "$BANK/bank" --port 0 \
    --port-file "$T/bank.port" \
    --tokens "http://127.0.0.1:$PORT_deps" \
    --ledger "http://127.0.0.1:$PORT_deps" \
    --secret-file "$SECRETS/tokens.secret" \
    --admin-secret-file "$SECRETS/admin.secret" \
    --clock-offset "$offset"

# bank's Date header says where its clock is: an hour past the recording.
date_hdr=$(curl -s -D - -o /dev/null --max-time 5 \
    "http://127.0.0.1:$PORT_bank/healthz" | tr -d '\r' |
    sed -n 's/^Date: //p')
skew=$(( $(date -u -d "$date_hdr" +%s) - ${first_s%.*} - 3600 ))
echo "# bank says Date: $date_hdr (${skew}s from first ts + 1h)"
check "bank's clock is one hour past the recording" \
    [ "$skew" -ge -1 -a "$skew" -le 5 ]

# --- the naive replay -------------------------------------------------
# Statuses only (--body none): bodies are full of values that change
# every run anyway; the status is what must survive a replay.
"$DECOY" replay "$T/in.jsonl" --target "http://127.0.0.1:$PORT_bank" \
    --body none --report "$T/naive.json" >"$T/naive.out" 2>"$T/naive.log"
check "decoy replay exits 1: the answers differ from the recording" [ $? -eq 1 ]
check "every inbound request was sent and answered" \
    [ "$(jqr "$T/naive.json" .totals.count)" = "$nin" ]
check "no transport errors" \
    [ "$(jqr "$T/naive.json" '[.totals.errors[]] | add')" = 0 ]

compared=$(jqr "$T/naive.json" .totals.compared)
regressions=$(jqr "$T/naive.json" .totals.regressions)
matched=$((compared - regressions))
echo "# naive replay: $matched of $compared requests got their recorded" \
    "status, $regressions did not"
jq -r '.endpoints[] | "#   \(.method) \(.path): \(.compared - .regressions)/\(.compared) as recorded; got \(.status | map("\(.[0])x\(.[1])") | join(" "))"' \
    "$T/naive.json"
check "all $nin requests were compared" [ "$compared" = "$nin" ]
check "fewer than half get their recorded status ($matched of $nin)" \
    [ $((matched * 2)) -lt "$nin" ]

# Logins: the token service's recorded answer does not match today's
# request (requested_at, and the JWT it carries expired long ago), so no
# login gets its 200.
login_200=$(jq '[.endpoints[] | select(.method == "POST" and
    .path == "/login") | .status[] | select(.[0] == 200) | .[1]] | add // 0' \
    "$T/naive.json")
login_reg=$(jq '[.endpoints[] | select(.method == "POST" and
    .path == "/login") | .regressions] | add // 0' "$T/naive.json")
check "no login succeeds" [ "$login_200" = 0 ]
check "each of the $nlogin recorded successful logins fails" \
    [ "$login_reg" = "$nlogin" ]

# Every other request is turned away with 401: the ones that carried a
# recorded bearer token because it has expired (and the one that carried
# none, as recorded); none of them reaches the clock or the ledger.
expired=$(jq -s '[.[] | select(.req.headers | map(.[0] |
    ascii_downcase) | index("authorization"))] | length' "$T/in.jsonl")
others=$(jq -s '[.[] | select(.req.target != "/login")] | length' \
    "$T/in.jsonl")
got_401=$(jq '[.endpoints[] | select(.path != "/login") | .status[] |
    select(.[0] == 401) | .[1]] | add // 0' "$T/naive.json")
echo "# $expired requests carried a recorded bearer token; $got_401 of" \
    "the $others requests besides logins got 401"
check "every request besides logins gets 401" [ "$got_401" = "$others" ]
echo "# bank: $(grep -c 'tokens answered' "$T/bank.log") token service" \
    "answers refused: $(grep 'tokens answered' "$T/bank.log" |
    sed 's/.*tokens answered/answered/' | sort | uniq -c | tr -s ' \n' ' ')"

done_testing
