#!/bin/bash
# t-respond-slow-body.sh -- a request body has a deadline for the whole
# message: --body-timeout after its head plus one second per
# --body-min-rate bytes received, not reset by every read, so a body
# trickled a byte at a time gets 408 (Content-Length and chunked alike),
# while a body that arrives at a steady pace is answered.  A chunk size
# past --max-body is refused with 413 as soon as its size line is read.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || skip "no $PY"
command -v jq >/dev/null || skip "jq is not installed"

cat >"$T/snap.jsonl" <<'EOF2'
{"v":1,"id":"t-1","dir":"out","req":{"method":"POST","target":"/v1/upload","host":"files","body":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},"res":{"status":201,"body":"{\"ok\":true}"}}
EOF2
start_respond r "$T/snap.jsonl" --body-timeout 1s --body-min-rate 1KiB \
    --max-body 64KiB --admin 127.0.0.1:0 --admin-port-file "$T/admin.port"
wait_for "the admin port" test -s "$T/admin.port"

# client.py PORT MODE: sends a request, prints "STATUS SECONDS" (the time
# from the head to the answer) or "closed SECONDS".
#   trickle       Content-Length 100, one byte every 0.2 s
#   trickle-chunk chunked, one 1-byte chunk every 0.2 s
#   steady        Content-Length 100, two halves 0.3 s apart
#   big-chunk     chunked, one chunk of 1 MiB announced, no data sent
#   many-chunks   chunked, 40 KiB chunks sent in full, past 64 KiB
cat >"$T/client.py" <<'PY'
import socket, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(20)
def head(extra):
    s.sendall(("POST /v1/upload HTTP/1.1\r\nHost: files\r\n" + extra +
        "\r\n").encode())
t0 = time.monotonic()
def answer():
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            d = s.recv(65536)
            if not d:
                break
            data += d
    except (ConnectionResetError, socket.timeout):
        pass
    el = time.monotonic() - t0
    if not data:
        return "closed %.2f" % el
    return "%s %.2f" % (data.split(b" ")[1].decode(), el)
try:
    if mode == "trickle":
        head("Content-Length: 100\r\n")
        for i in range(100):
            s.sendall(b"a")
            time.sleep(0.2)
    elif mode == "trickle-chunk":
        head("Transfer-Encoding: chunked\r\n")
        for i in range(100):
            s.sendall(b"1\r\na\r\n")
            time.sleep(0.2)
        s.sendall(b"0\r\n\r\n")
    elif mode == "steady":
        head("Content-Length: 100\r\n")
        s.sendall(b"a" * 50)
        time.sleep(0.3)
        s.sendall(b"a" * 50)
    elif mode == "big-chunk":
        head("Transfer-Encoding: chunked\r\n")
        s.sendall(b"100000\r\n")
    elif mode == "many-chunks":
        head("Transfer-Encoding: chunked\r\n")
        s.sendall(b"a000\r\n" + b"a" * 0xa000 + b"\r\n")
        s.sendall(b"a000\r\n")
except (BrokenPipeError, ConnectionResetError):
    pass
print(answer())
PY

status() { cut -d' ' -f1 "$1"; }
secs() { cut -d' ' -f2 "$1"; }
"$PY" "$T/client.py" "$PORT_r" trickle >"$T/trickle.out" &
a=$!
"$PY" "$T/client.py" "$PORT_r" trickle-chunk >"$T/chunk.out" &
b=$!
PIDS+=("$a" "$b")
wait "$a" "$b"
check "a Content-Length body trickled at 5 B/s: 408 ($(cat "$T/trickle.out"))" \
    [ "$(status "$T/trickle.out")" = 408 ]
check "... after --body-timeout plus 1 s per KiB, not at the end of the body" \
    awk -v s="$(secs "$T/trickle.out")" 'BEGIN { exit !(s >= 0.9 && s < 5) }'
check "a chunked body trickled a chunk at a time: 408 ($(cat "$T/chunk.out"))" \
    [ "$(status "$T/chunk.out")" = 408 ]
check "... in time" \
    awk -v s="$(secs "$T/chunk.out")" 'BEGIN { exit !(s >= 0.9 && s < 5) }'
check "the 408 names the body" grep -q "408 request body not complete in time" \
    "$T/r.log"

"$PY" "$T/client.py" "$PORT_r" steady >"$T/steady.out"
check "a body at a steady pace is answered ($(cat "$T/steady.out"))" \
    [ "$(status "$T/steady.out")" = 201 ]

"$PY" "$T/client.py" "$PORT_r" big-chunk >"$T/big.out"
check "a chunk size past --max-body: 413 at once ($(cat "$T/big.out"))" \
    [ "$(status "$T/big.out")" = 413 ]
check "... on the size line, not after the data" \
    awk -v s="$(secs "$T/big.out")" 'BEGIN { exit !(s < 0.9) }'
"$PY" "$T/client.py" "$PORT_r" many-chunks >"$T/many.out"
check "chunk sizes adding up past --max-body: 413 ($(cat "$T/many.out"))" \
    [ "$(status "$T/many.out")" = 413 ]
check "the 413 is logged as such" grep -q "413 chunked body too large" \
    "$T/r.log"

curl -s "http://127.0.0.1:$(cat "$T/admin.port")/stats" >"$T/stats.json"
check "/stats counts the body timeouts" \
    [ "$(jq .body_timeouts "$T/stats.json")" = 2 ]
check "... apart from head timeouts" \
    [ "$(jq .head_timeouts "$T/stats.json")" = 0 ]

# --body-timeout 0s: only --header-timeout between reads (the old rule).
start_respond z "$T/snap.jsonl" --body-timeout 0s --header-timeout 1s
"$PY" "$T/client.py" "$PORT_z" steady >"$T/z.out"
check "--body-timeout 0s: a body with pauses under --header-timeout passes" \
    [ "$(status "$T/z.out")" = 201 ]

# The other deadlines, on per-connection timers that move lazily: an idle
# keep-alive connection is closed after --idle-timeout, one that keeps
# sending requests more often than that stays open, a silent one is
# closed after --header-timeout.
start_respond t "$T/snap.jsonl" --idle-timeout 1s --header-timeout 1s
cat >"$T/idle.py" <<'PY'
import socket, sys, time
port, mode = int(sys.argv[1]), sys.argv[2]
req = (b"POST /v1/upload HTTP/1.1\r\nHost: files\r\nContent-Length: 100\r\n"
    b"\r\n" + b"a" * 100)
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(10)
def ask():
    s.sendall(req)
    data = b""
    while b'{"ok":true}' not in data:
        d = s.recv(4096)
        if not d:
            return "closed"
        data += d
    return data.split(b" ")[1].decode()
t0 = time.monotonic()
if mode == "busy":
    # A request every 0.3 s for 2.5 s: past the 1 s idle timeout in all.
    codes = set()
    while time.monotonic() - t0 < 2.5:
        codes.add(ask())
        time.sleep(0.3)
    print(" ".join(sorted(codes)))
    sys.exit(0)
if mode == "idle":
    ask()
    t0 = time.monotonic()
try:
    d = s.recv(4096)
except ConnectionResetError:
    d = b""
print("closed %.2f" % (time.monotonic() - t0) if not d else "data")
PY
"$PY" "$T/idle.py" "$PORT_t" idle >"$T/idle.out"
check "an idle keep-alive connection is closed after --idle-timeout ($(cat "$T/idle.out"))" \
    awk '$1 == "closed" && $2 >= 0.9 && $2 < 3 { ok = 1 } END { exit !ok }' \
    "$T/idle.out"
"$PY" "$T/idle.py" "$PORT_t" busy >"$T/busy.out"
check "a connection busier than --idle-timeout stays open ($(cat "$T/busy.out"))" \
    [ "$(cat "$T/busy.out")" = 201 ]
"$PY" "$T/idle.py" "$PORT_t" silent >"$T/silent.out"
check "a silent connection is closed after --header-timeout ($(cat "$T/silent.out"))" \
    awk '$1 == "closed" && $2 >= 0.9 && $2 < 3 { ok = 1 } END { exit !ok }' \
    "$T/silent.out"

# decoyd takes the same limits.
cat >"$T/d.yaml" <<EOF2
snapshot: $T/snap.jsonl
listen: 127.0.0.1:0
limits: {body_timeout: 1s, body_min_rate: 1KiB/s}
EOF2
check "decoyd -n accepts body_timeout and body_min_rate" \
    "$DECOYD" -n -c "$T/d.yaml"
printf 'snapshot: %s\nlisten: 127.0.0.1:0\nlimits: {body_min_rate: fast}\n' \
    "$T/snap.jsonl" >"$T/bad.yaml"
"$DECOYD" -n -c "$T/bad.yaml" 2>"$T/bad.err"
check "a bad body_min_rate names file:line:col" \
    grep -q "bad.yaml:3:[0-9]*: body_min_rate: bad rate" "$T/bad.err"

done_testing
