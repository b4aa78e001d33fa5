#!/bin/bash
# t-record-emfile.sh -- the recorder out of file descriptors: with the
# open-file limit at 40 and 60 clients connected at once, accept(2) fails
# with EMFILE; the recorder stops watching its listener for 100 ms at a
# time instead of spinning (CPU measured from /proc/PID/stat), logs it
# once per interval with a count, keeps serving the connection it has,
# and accepts again once descriptors are free.  At start-up it raises the
# soft limit to the hard one.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || skip "no $PY"
command -v jq >/dev/null || skip "jq is not installed"

start_bg inv "$T/inv.port" "$SHOP/inventory" --port 0 --port-file "$T/inv.port"

# --- 1. the soft limit goes up to the hard one ----------------------------
hard=$(ulimit -Hn)
[ "$hard" = unlimited ] && hard=$(cat /proc/sys/fs/nr_open)
[ "$hard" -gt 64 ] || skip "hard open-file limit $hard"
start_bg raise "$T/raise.port" bash -c 'ulimit -S -n 64 && exec "$@"' sh \
    "$DECOY" record --upstream "http://127.0.0.1:$PORT_inv" \
    --listen 127.0.0.1:0 --port-file "$T/raise.port" -o "$T/raise.jsonl"
soft=$(awk '/^Max open files/ { print $4 }' "/proc/$PID_raise/limits")
check "soft open-file limit raised from 64 to the hard $hard" \
    [ "$soft" = "$hard" ]
stop "$PID_raise"

# --- 2. out of descriptors ----------------------------------------------------
start_bg rec "$T/rec.port" bash -c 'ulimit -n 40 && exec "$@"' sh \
    "$DECOY" record --upstream "http://127.0.0.1:$PORT_inv" \
    --listen 127.0.0.1:0 --port-file "$T/rec.port" -o "$T/rec.jsonl" \
    --stats "$T/stats.json"

# A keep-alive client: one request, then (once $T/go exists) a second one
# on the same connection; prints both statuses.
cat >"$T/keep.py" <<'PY'
import http.client, os, sys, time
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=20)
def get():
    c.request("GET", "/v1/stock/sku-1001")
    r = c.getresponse()
    r.read()
    return r.status
print(get(), flush=True)
open(sys.argv[2] + ".ready", "w").close()
t0 = time.monotonic()
while not os.path.exists(sys.argv[2]) and time.monotonic() - t0 < 30:
    time.sleep(0.02)
print(get(), flush=True)
PY
# Connections held open until killed; writes FILE once all are connected.
cat >"$T/hold.py" <<'PY'
import signal, socket, sys
s = [socket.create_connection(("127.0.0.1", int(sys.argv[1])))
     for _ in range(int(sys.argv[2]))]
open(sys.argv[3], "w").close()
signal.pause()
PY

"$PY" "$T/keep.py" "$PORT_rec" "$T/go" >"$T/keep.out" 2>"$T/keep.log" &
kpid=$!
PIDS+=("$kpid")
wait_for "the first answer" test -e "$T/go.ready"
"$PY" "$T/hold.py" "$PORT_rec" 60 "$T/held" 2>"$T/hold.log" &
hpid=$!
PIDS+=("$hpid")
wait_for "60 connections" test -e "$T/held"
wait_for "EMFILE" grep -q "accept: Too many open files" "$T/rec.log"

# CPU over 2 s of EMFILE (ticks of 1/CLK_TCK s): a spinning accept loop
# burns ~all of it; a paused one wakes 10 times a second.
ticks() {
	awk '{ print $14 + $15 }' "/proc/$PID_rec/stat"
}
hz=$(getconf CLK_TCK)
t0=$(ticks)
sleep 2	# the measuring interval, not a wait for an event
t1=$(ticks)
used=$((t1 - t0))
check "out of descriptors, the recorder stays idle ($used of $((2 * hz)) ticks; < 10%)" \
    [ "$used" -lt $((2 * hz / 10)) ]
touch "$T/go"
wait "$kpid"
check "the open connection is still served" \
    [ "$(tr '\n' ' ' <"$T/keep.out")" = "200 200 " ]
n=$(grep -c "accept: Too many open files" "$T/rec.log")
check "EMFILE logged once per interval ($n lines)" [ "$n" -le 2 ]
check "the line gives the count, the limit and the pause" grep -q \
    "accept: Too many open files (.* connections open, open-file limit 40): new connections wait 100ms at a time" \
    "$T/rec.log"

# Free the descriptors: the waiting connections are accepted, and new
# clients are served again.
kill "$hpid"
wait "$hpid" 2>/dev/null
answers() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
	    "http://127.0.0.1:$PORT_rec/v1/stock/sku-1002")" = 200 ]
}
wait_for "a new client served" answers
stop "$PID_rec"
check "exit status 0" [ $? = 0 ]
check "stats count the paused accepts" \
    [ "$(jq '.accept_errors > 0' "$T/stats.json")" = true ]
check "the transactions are recorded" [ "$(jq -r '.req.target' \
    "$T/rec.jsonl" | sort | uniq -c | awk '{print $1 "x" $2}' |
    tr '\n' ' ')" = "2x/v1/stock/sku-1001 1x/v1/stock/sku-1002 " ]

done_testing
