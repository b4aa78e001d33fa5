#!/bin/bash
# A port held by another process is refused with "address in use" by
# decoy respond, decoyd and decoy record, even when the holder set
# SO_REUSEPORT (as every responder does for its own workers); the
# workers of one responder still share their port.
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || skip "no /usr/bin/python3"

cat >"$T/snap.jsonl" <<'EOF2'
{"v":1,"id":"t-1","dir":"out","req":{"method":"GET","target":"/ping"},"res":{"status":200,"body":"pong"}}
EOF2

# An unrelated holder with SO_REUSEPORT set: the worst case.
cat >"$T/hold.py" <<'EOF2'
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % s.getsockname()[1])
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    time.sleep(60)
EOF2
start_bg hold "$T/hold.port" "$PY" "$T/hold.py" "$T/hold.port"
P=$PORT_hold

# refused NAME: the command exited 2 and said "address in use".
refused() {
	[ "$1" -eq 2 ] && grep -q "127.0.0.1:$P: address in use" "$T/$2.log"
}

"$DECOY" respond "$T/snap.jsonl" --listen "127.0.0.1:$P" --workers 2 \
    >"$T/respond.log" 2>&1
check "respond: a port held by another process (SO_REUSEPORT) is refused" \
    refused $? respond

printf 'snapshot: %s\nlisten: 127.0.0.1:%s\nworkers: 2\n' "$T/snap.jsonl" \
    "$P" >"$T/d.yaml"
"$DECOYD" -c "$T/d.yaml" >"$T/decoyd.log" 2>&1
check "decoyd: the same port is refused" refused $? decoyd

"$DECOY" record --upstream http://127.0.0.1:1 --listen "127.0.0.1:$P" \
    -o "$T/rec.jsonl" >"$T/record.log" 2>&1
check "record: the same port is refused" refused $? record

# A responder (several workers) on a free port, then a second responder
# on its port: refused, and the first keeps serving.
start_respond one "$T/snap.jsonl" --workers 3
"$DECOY" respond "$T/snap.jsonl" --listen "127.0.0.1:$PORT_one" \
    --workers 2 >"$T/second.log" 2>&1
st=$?
check "a second responder on a responder's port exits 2" [ "$st" -eq 2 ]
check "... saying address in use" \
    grep -q "127.0.0.1:$PORT_one: address in use" "$T/second.log"
ok=0
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	b=$(curl -s "http://127.0.0.1:$PORT_one/ping") && [ "$b" = pong ] &&
	    ok=$((ok + 1))
done
check "the first responder's workers still answer every request" \
    [ "$ok" -eq 12 ]

done_testing
