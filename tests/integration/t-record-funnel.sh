#!/bin/bash
# t-record-funnel.sh -- the capture funnel (decoy(1), FUNNEL) in `decoy
# record`: real curl traffic to nginx through a reverse-proxy recorder
# without the funnel and one with it, request by request; what the funnel
# kept and dropped counted by reason (stats file and summary line), the kept
# transactions identical to the same ones in the full recording (but the
# Date header and the timings), with the same ids (a dropped transaction's
# id is not reused); sampling reproducible with a seed; the forward proxy
# dropping by host.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq is not installed"
command -v nginx >/dev/null || skip "nginx is not installed"

mkdir -p "$T/www/skip"
printf 'alpha\n' >"$T/www/a.txt"
printf 'bravo\n' >"$T/www/b.txt"
printf 'charlie\n' >"$T/www/c.txt"
printf 'sampled\n' >"$T/www/s.txt"
printf 'skipped\n' >"$T/www/skip/x.txt"
chmod a+rx "$T" "$T/www" "$T/www/skip"	# nginx's worker runs as nobody
chmod a+r "$T"/www/*.txt "$T"/www/skip/*
start_nginx "$T/www" /a.txt "" 'location = /err { return 503 "down\n"; }'
up="http://127.0.0.1:$NPORT"

# not_grep RE FILE: RE does not occur in FILE.
not_grep() {
	! grep -q -- "$1" "$2"
}

# start_record NAME [ARGS...]: a reverse proxy to nginx; PORT_<NAME>.
start_record() {
	local name=$1
	shift
	start_bg "$name" "$T/$name.port" "$DECOY" record --upstream "$up" \
	    --listen 127.0.0.1:0 --port-file "$T/$name.port" \
	    -o "$T/$name.jsonl" --stats "$T/$name.stats" "$@"
}

# --- 1. filters, dedup, cap: the same requests through both -------------
start_record full
start_record fun --exclude-path '^/skip/' --method GET,HEAD \
    --status 200-499 --dedup 2 --cap 3/1h
# req ARGS...: the same curl through both recorders, one after the other
# (one Host header for both).
req() {
	local path=${*: -1} args=(-H 'Host: svc.test' "${@:1:$#-1}")
	curl -s -o /dev/null --max-time 10 "${args[@]}" \
	    "http://127.0.0.1:$PORT_full$path"
	curl -s -o /dev/null --max-time 10 "${args[@]}" \
	    "http://127.0.0.1:$PORT_fun$path"
}
req /a.txt					# kept
req /skip/x.txt					# path
req /skip/y.txt					# path
req -X POST --data-binary 'x=1' /a.txt		# method
req /err					# status
for u in 3f2c1a9e-8b7d-4c6e-9a1b-2d3e4f5a6b7c \
    0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d \
    7d6c5b4a-3f2e-4d1c-b0a9-8f7e6d5c4b3a \
    c0ffee00-1234-4abc-9def-0123456789ab; do
	req "/b.txt?id=$u"			# 2 kept, 2 duplicate
done
for n in 1 2 3 4 5; do
	req "/c.txt?n=$n"			# 3 kept, 2 capped
done
check "full recorder exits 0" stop "$PID_full"
check "funnel recorder exits 0" stop "$PID_fun"

check "the full recording holds all 14" \
    test "$(wc -l <"$T/full.jsonl")" -eq 14
check "the funnel kept 6" test "$(wc -l <"$T/fun.jsonl")" -eq 6
check "stats: seen, kept and each reason counted" test \
    "$(jq -c '.funnel' "$T/fun.stats")" = \
    '{"seen":14,"kept":6,"filtered":{"host":0,"method":1,"path":2,"status":1},"sampled":0,"duplicate":2,"capped":2}'
check "stats: 14 transactions, 6 recorded, none lost" test \
    "$(jq -c '[.transactions,.recorded,.lost]' "$T/fun.stats")" = '[14,6,0]'
check "stats without funnel options: all kept" test \
    "$(jq -c '[.transactions,.recorded,.funnel.seen,.funnel.kept]' \
    "$T/full.stats")" = '[14,14,14,14]'
check "summary line: what was dropped, by reason" grep -q -F \
    'funnel: 14 seen, 6 kept, 8 dropped (1 method, 2 path, 1 status, 2 duplicate, 2 capped)' \
    "$T/fun.log"
check "no funnel line without funnel options" not_grep ' funnel: ' \
    "$T/full.log"

# The kept ones, as the full recording has them (but Date and timings).
norm='del(.ts, .timing, .client) | .res.headers |= map(select(.[0] != "Date"))'
check "kept transactions identical to the full recording's (same ids)" \
    cmp <(jq -c "$norm" "$T/fun.jsonl") \
    <(jq -c "select(.id as \$i | [$(jq -r '"\"" + .id + "\""' \
    "$T/fun.jsonl" | paste -sd,)] | index(\$i)) | $norm" "$T/full.jsonl")
check "kept: all six answered 200" test "$(jq -r .res.status \
    "$T/fun.jsonl" | sort | uniq -c | awk '{print $1 "x" $2}' | \
    paste -sd' ')" = "6x200"
check "kept: the right requests" test "$(jq -r '.req.target' \
    "$T/fun.jsonl" | paste -sd' ')" = "/a.txt /b.txt?id=3f2c1a9e-8b7d-4c6e-9a1b-2d3e4f5a6b7c /b.txt?id=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d /c.txt?n=1 /c.txt?n=2 /c.txt?n=3"
check "the funnel's snapshot loads" "$DECOY" inspect "$T/fun.jsonl"

# --- 2. sampling: reproducible with a seed --------------------------------
sample_run() {	# NAME SEED
	start_record "$1" --sample 50% --seed "$2"
	local i port_var=PORT_$1
	for ((i = 1; i <= 40; i++)); do
		curl -s -o /dev/null --max-time 10 \
		    "http://127.0.0.1:${!port_var}/s.txt?k=$i"
	done
	local pid_var=PID_$1
	stop "${!pid_var}"
}
sample_run s1 7
sample_run s2 7
k1=$(jq '.funnel.kept' "$T/s1.stats")
check "sampling: kept + sampled = 40" test \
    "$(jq '.funnel.kept + .funnel.sampled' "$T/s1.stats")" -eq 40
check "sampling: some kept, some sampled out ($k1 of 40)" \
    test "$k1" -gt 5 -a "$k1" -lt 35
check "sampling: the same seed keeps the same transactions" cmp \
    <(jq -r .req.target "$T/s1.jsonl") <(jq -r .req.target "$T/s2.jsonl")
check "sampling: snapshot lines = kept" test \
    "$(wc -l <"$T/s1.jsonl")" -eq "$k1"

# --- 3. the forward proxy drops by host -----------------------------------
start_bg fwd "$T/fwd.port" "$DECOY" record --proxy 127.0.0.1:0 \
    --port-file "$T/fwd.port" -o "$T/fwd.jsonl" --stats "$T/fwd.stats" \
    --exclude-host '^localhost'
curl -s -o /dev/null --max-time 10 -x "http://127.0.0.1:$PORT_fwd" \
    "http://localhost:$NPORT/a.txt"
curl -s -o /dev/null --max-time 10 -x "http://127.0.0.1:$PORT_fwd" \
    "http://127.0.0.1:$NPORT/b.txt"
check "forward recorder exits 0" stop "$PID_fwd"
check "forward: the host filter dropped localhost, kept 127.0.0.1" test \
    "$(jq -c '[.funnel.seen,.funnel.kept,.funnel.filtered.host]' \
    "$T/fwd.stats")" = '[2,1,1]'
check "forward: the kept one is b.txt" test \
    "$(jq -r '[.req.target,.res.status]|@tsv' "$T/fwd.jsonl")" = \
    "$(printf '/b.txt\t200')"

# --- 4. a bad funnel option is a usage error -------------------------------
"$DECOY" record --upstream "$up" --listen 127.0.0.1:0 -o "$T/bad.jsonl" \
    --include-path '(' >"$T/bad.out" 2>&1
check "bad --include-path: exit 2" test $? -eq 2
check "bad --include-path: named" grep -q -- '--include-path' "$T/bad.out"

done_testing
