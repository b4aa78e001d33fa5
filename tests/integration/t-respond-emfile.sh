#!/bin/bash
# t-respond-emfile.sh -- the responder (and its admin API) out of file
# descriptors: with the open-file limit at 40 and 60 clients connected at
# once, accept(2) fails with EMFILE; the workers stop watching their
# listeners for 100 ms at a time instead of spinning (CPU measured from
# /proc/PID/stat), log it once per interval with a count, keep serving the
# connections they have, and accept again once descriptors are free.  At
# start-up decoy respond and decoyd raise the soft limit to the hard one.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || skip "no $PY"
command -v jq >/dev/null || skip "jq is not installed"

cat >"$T/snap.jsonl" <<'EOF2'
{"v":1,"id":"t-1","dir":"out","req":{"method":"GET","target":"/v1/stock/sku-1001","host":"inventory"},"res":{"status":200,"body":"{\"sku\":\"sku-1001\"}"}}
{"v":1,"id":"t-2","dir":"out","req":{"method":"GET","target":"/v1/stock/sku-1002","host":"inventory"},"res":{"status":200,"body":"{\"sku\":\"sku-1002\"}"}}
EOF2

# --- 1. the soft limit goes up to the hard one ----------------------------
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] && hard=$(cat /proc/sys/fs/nr_open)
[ "$hard" -gt 64 ] || skip "hard open-file limit $hard"
start_bg raise "$T/raise.port" bash -c 'ulimit -S -n 64 && exec "$@"' sh \
    "$DECOY" respond "$T/snap.jsonl" --listen 127.0.0.1:0 \
    --port-file "$T/raise.port"
soft=$(awk '/^Max open files/ { print $4 }' "/proc/$PID_raise/limits")
check "respond: soft open-file limit raised from 64 to the hard $hard" \
    [ "$soft" = "$hard" ]
stop "$PID_raise"
cat >"$T/d.yaml" <<EOF2
snapshot: $T/snap.jsonl
listen: 127.0.0.1:0
port_file: $T/d.port
EOF2
start_bg d "$T/d.port" bash -c 'ulimit -S -n 64 && exec "$@"' sh \
    "$DECOYD" -c "$T/d.yaml"
soft=$(awk '/^Max open files/ { print $4 }' "/proc/$PID_d/limits")
check "decoyd: soft open-file limit raised from 64 to the hard $hard" \
    [ "$soft" = "$hard" ]
stop "$PID_d"

# --- 2. out of descriptors ----------------------------------------------------
# Two workers, so both listeners run out; the admin API shares the limit.
start_bg r "$T/r.port" bash -c 'ulimit -n 40 && exec "$@"' sh \
    "$DECOY" respond "$T/snap.jsonl" --listen 127.0.0.1:0 --workers 2 \
    --port-file "$T/r.port" --admin 127.0.0.1:0 \
    --admin-port-file "$T/admin.port"
wait_for "the admin port" test -s "$T/admin.port"
APORT=$(cat "$T/admin.port")

# A keep-alive client: one request, then (once $T/go exists) a second one
# on the same connection; prints both statuses.  Its first answer is
# signalled in a file of its own (GO.PORT.ready).
cat >"$T/keep.py" <<'PY'
import http.client, os, sys, time
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=20)
def get(path):
    c.request("GET", path)
    r = c.getresponse()
    r.read()
    return r.status
print(get(sys.argv[3]), flush=True)
open(sys.argv[2] + "." + sys.argv[1] + ".ready", "w").close()
t0 = time.monotonic()
while not os.path.exists(sys.argv[2]) and time.monotonic() - t0 < 30:
    time.sleep(0.02)
print(get(sys.argv[3]), flush=True)
PY
# Connections held open until killed; writes FILE once all are connected.
cat >"$T/hold.py" <<'PY'
import signal, socket, sys
s = [socket.create_connection(("127.0.0.1", int(sys.argv[1])))
     for _ in range(int(sys.argv[2]))]
open(sys.argv[3], "w").close()
signal.pause()
PY

"$PY" "$T/keep.py" "$PORT_r" "$T/go" /v1/stock/sku-1001 >"$T/keep.out" \
    2>"$T/keep.log" &
kpid=$!
PIDS+=("$kpid")
"$PY" "$T/keep.py" "$APORT" "$T/go" /stats >"$T/akeep.out" \
    2>"$T/akeep.log" &
akpid=$!
PIDS+=("$akpid")
# Both first answers, so both connections were accepted before the
# descriptors run out (one shared file let the admin's come too late).
wait_for "the first answer" test -e "$T/go.$PORT_r.ready"
wait_for "the first admin answer" test -e "$T/go.$APORT.ready"
"$PY" "$T/hold.py" "$PORT_r" 60 "$T/held" 2>"$T/hold.log" &
hpid=$!
PIDS+=("$hpid")
wait_for "60 connections" test -e "$T/held"
wait_for "EMFILE" grep -q "accept: Too many open files" "$T/r.log"
# The admin API's listener runs out too.
"$PY" "$T/hold.py" "$APORT" 10 "$T/aheld" 2>"$T/ahold.log" &
ahpid=$!
PIDS+=("$ahpid")
wait_for "admin connections" test -e "$T/aheld"
wait_for "admin EMFILE" grep -q "admin: accept: Too many open files" \
    "$T/r.log"

# CPU over 2 s of EMFILE (ticks of 1/CLK_TCK s): a spinning accept loop
# burns ~all of a core; paused listeners wake 10 times a second.
ticks() {
	awk '{ print $14 + $15 }' "/proc/$PID_r/stat"
}
hz=$(getconf CLK_TCK)
t0=$(ticks)
sleep 2	# the measuring interval, not a wait for an event
t1=$(ticks)
used=$((t1 - t0))
check "out of descriptors, the responder stays idle ($used of $((2 * hz)) ticks; < 10%)" \
    [ "$used" -lt $((2 * hz / 10)) ]
touch "$T/go"
wait "$kpid"
wait "$akpid"
check "the open connection is still served" \
    [ "$(tr '\n' ' ' <"$T/keep.out")" = "200 200 " ]
check "the open admin connection is still served" \
    [ "$(tr '\n' ' ' <"$T/akeep.out")" = "200 200 " ]
n=$(grep -c "warn: accept: Too many open files" "$T/r.log")
check "EMFILE logged once per interval for all workers ($n lines)" \
    [ "$n" -le 2 ]
check "the line gives the count, the limit and the pause" grep -q \
    "accept: Too many open files (.* connections open, open-file limit 40): new connections wait 100ms at a time; [0-9]* time" \
    "$T/r.log"
n=$(grep -c "admin: accept: Too many open files" "$T/r.log")
check "admin EMFILE logged once per interval ($n lines)" [ "$n" -le 2 ]

# Free the descriptors: the waiting connections are accepted, and new
# clients are served again.
kill "$hpid" "$ahpid"
wait "$hpid" 2>/dev/null
wait "$ahpid" 2>/dev/null
answers() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
	    "http://127.0.0.1:$1$2")" = 200 ]
}
wait_for "a new client served" answers "$PORT_r" /v1/stock/sku-1002
wait_for "a new admin client served" answers "$APORT" /stats
curl -s "http://127.0.0.1:$APORT/stats" >"$T/stats.json"
check "/stats counts the paused accepts" \
    [ "$(jq '.accept_errors > 0' "$T/stats.json")" = true ]
curl -s "http://127.0.0.1:$APORT/metrics" >"$T/metrics.txt"
check "/metrics counts them" grep -q '^decoy_accept_errors_total [1-9]' \
    "$T/metrics.txt"
stop "$PID_r"
check "exit status 0" [ $? = 0 ]

done_testing
