#!/bin/bash
# t-record-slow.sh -- clients too slow for the recorder: heads trickled a
# byte at a time and bodies trickled after their head get 408 once
# --header-timeout or --body-timeout (plus --body-min-rate) is past, a
# connection that sends nothing is closed, none of them is recorded, and
# they are counted (--stats) and logged once per interval; a body slower
# than --body-timeout but faster than --body-min-rate goes through.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || skip "no $PY"
command -v jq >/dev/null || skip "jq is not installed"

start_bg inv "$T/inv.port" "$SHOP/inventory" --port 0 --port-file "$T/inv.port"
start_bg rec "$T/rec.port" "$DECOY" record \
    --upstream "http://127.0.0.1:$PORT_inv" --listen 127.0.0.1:0 \
    --port-file "$T/rec.port" -o "$T/slow.jsonl" --stats "$T/stats.json" \
    --header-timeout 1s --body-timeout 1s --body-min-rate 1KiB/s

# All at once: 20 trickled heads, 20 trickled bodies, one silent
# connection, one slow but steady upload; each line "KIND STATUS SECONDS".
"$PY" "$(dirname "$0")/slow-client.py" "$PORT_rec" head:20 body:20 \
    silent:1 slowok:1 >"$T/clients.out"

# all KIND STATUS LO HI: every KIND line has STATUS, SECONDS in [LO, HI].
all() {
	awk -v k="$1" -v s="$2" -v lo="$3" -v hi="$4" '
	    $1 == k { n++; if ($2 != s || $3 < lo || $3 > hi) bad++ }
	    END { exit !(n > 0 && bad == 0) }' "$T/clients.out"
}
count() {
	awk -v k="$1" '$1 == k' "$T/clients.out" | wc -l
}
check "20 trickled heads: 408 after 1 s (0.9-5 s)" all head 408 0.9 5
check "... all 20 answered" [ "$(count head)" = 20 ]
check "20 trickled bodies: 408 after 1 s + 1 s/KiB (0.9-5 s)" \
    all body 408 0.9 5
check "... all 20 answered" [ "$(count body)" = 20 ]
check "a silent connection is closed after 1 s" all silent eof 0.9 5
check "a 4 KiB body over 1.4 s (> --body-timeout, > 1 KiB/s) goes through" \
    awk '$1 == "slowok" { ok = $2 != "408" && $2 != "eof" && $3 > 1.2 }
    END { exit !ok }' "$T/clients.out"
stop "$PID_rec"
check "the recorder stays up and exits 0" [ $? = 0 ]
check "only the steady upload is recorded" [ "$(jq -r \
    '[.req.method, .req.target, (.req.body | length)] | join(" ")' \
    "$T/slow.jsonl")" = "POST /v1/reservations 4096" ]
check "stats count 21 slow heads and 20 slow bodies" [ "$(jq -c \
    '[.head_timeouts, .body_timeouts]' "$T/stats.json")" = "[21,20]" ]
n=$(grep -c '408: request' "$T/rec.log")
check "slow clients logged once per interval ($n lines for 41)" \
    [ "$n" -ge 1 ] && [ "$n" -le 3 ]

# The defaults: a head is due 10 s after the accept, like the responder.
check "--header-timeout defaults to 10s" bash -c \
    "'$DECOY' record --help | grep -A2 -e '--header-timeout' | grep -q '(10s'"
check "--header-timeout 0s is refused" bash -c \
    "! '$DECOY' record --upstream http://127.0.0.1:1 --listen 127.0.0.1:0 \
    -o '$T/x.jsonl' --header-timeout 0s 2>/dev/null"

done_testing
