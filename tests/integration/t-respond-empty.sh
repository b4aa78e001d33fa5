#!/bin/bash
# Issue 17, item 10: a snapshot with nothing to serve is an error unless
# asked for.  /dev/null, a file of dir "in" transactions only and one whose
# dir "out" transactions have no response make `decoy respond` and
# `decoyd -n` exit 2 naming the file and what it holds; --allow-empty (and
# decoyd's allow_empty) serve them (every request a 404).  /dev/zero stops
# at line 1, column 64 MiB + 1, within seconds.  A reload to an empty
# snapshot is refused and the running one stays.
. "$(dirname "$0")/lib.sh"

in_line='{"v":1,"dir":"in","req":{"method":"GET","target":"/a","host":"svc"},"res":{"status":200,"body":"in"}}'
out_line='{"v":1,"id":"o1","dir":"out","req":{"method":"GET","target":"/a","host":"svc"},"res":{"status":200,"body":"out"}}'
nores_line='{"v":1,"dir":"out","req":{"method":"GET","target":"/b","host":"svc"}}'
printf '%s\n%s\n%s\n' "$in_line" "$in_line" "$in_line" >"$T/in.jsonl"
printf '%s\n%s\n' "$in_line" "$nores_line" >"$T/nores.jsonl"
printf '%s\n' "$out_line" >"$T/good.jsonl"

# expect2 DESC WANT CMD...: CMD exits 2 (within 60 s) with WANT on stderr.
expect2() {
	local desc=$1 want=$2 st
	shift 2
	timeout 60 "$@" >"$T/out.txt" 2>"$T/err.txt"
	st=$?
	check "$desc: exit 2 (got $st)" [ "$st" -eq 2 ]
	check "$desc: says \"$want\"" grep -qF -- "$want" "$T/err.txt"
}

expect2 "respond /dev/null" \
    '/dev/null: no dir "out" transaction with a response (0 transactions read)' \
    "$DECOY" respond /dev/null --listen 127.0.0.1:0 --port-file "$T/never.port"
expect2 "respond, all dir in" \
    "$T/in.jsonl: no dir \"out\" transaction with a response (3 transactions read, all dir \"in\")" \
    "$DECOY" respond "$T/in.jsonl" --listen 127.0.0.1:0 --port-file "$T/never.port"
expect2 "respond, out without a response" \
    "$T/nores.jsonl: no dir \"out\" transaction with a response (2 transactions read: 1 dir \"in\", 1 dir \"out\" skipped)" \
    "$DECOY" respond "$T/nores.jsonl" --listen 127.0.0.1:0 --port-file "$T/never.port"
check "it never listened" [ ! -e "$T/never.port" ]
expect2 "respond /dev/zero" '/dev/zero:1:67108865: line longer than 64 MiB' \
    "$DECOY" respond /dev/zero --listen 127.0.0.1:0 --port-file "$T/never.port"
expect2 "inspect /dev/zero" '/dev/zero:1:67108865: ' "$DECOY" inspect /dev/zero

printf 'snapshot: in.jsonl\nlisten: 127.0.0.1:0\n' >"$T/d.yaml"
expect2 "decoyd -n, all dir in" 'in.jsonl: no dir "out" transaction with a response (3 transactions read, all dir "in")' \
    "$DECOYD" -n -c "$T/d.yaml"
printf 'snapshot: in.jsonl\nlisten: 127.0.0.1:0\nallow_empty: true\n' >"$T/d2.yaml"
check "decoyd -n with allow_empty: true: exit 0" \
    timeout 60 "$DECOYD" -n -c "$T/d2.yaml"
printf 'snapshot: in.jsonl\nlisten: 127.0.0.1:0\nallow_empty: maybe\n' >"$T/d3.yaml"
expect2 "decoyd -n, allow_empty: maybe" 'd3.yaml:3:' "$DECOYD" -n -c "$T/d3.yaml"

# --allow-empty serves it: a 404 for everything.
start_respond e "$T/in.jsonl" --allow-empty
check "--allow-empty: serves, every request a 404" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT_e/a")" = 404 ]

# A reload to an empty snapshot is refused; the running one stays.
cp "$T/good.jsonl" "$T/live.jsonl"
start_respond r "$T/live.jsonl"
cp "$T/in.jsonl" "$T/live.jsonl"
kill -HUP "$PID_r"
wait_for "the refused reload" grep -q 'reload failed' "$T/r.log"
check "the reload names the file and what it holds" \
    grep -qF "live.jsonl: no dir \"out\" transaction with a response (3 transactions read, all dir \"in\")" "$T/r.log"
check "the running snapshot stays" \
    [ "$(curl -s "http://127.0.0.1:$PORT_r/a")" = out ]
done_testing
