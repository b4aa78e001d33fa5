#!/bin/bash
# t-record-stream.sh -- decoy record streams bodies: a 100 MiB response
# reaches the client whole while the recorder's peak RSS stays far below
# it and the snapshot keeps the first --max-body bytes flagged "truncated";
# chunked framing is relayed as it came (decoded for an HTTP/1.0 client);
# a response delimited by the upstream's close is re-chunked; the first
# bytes of a slow response reach the client before the origin sends the
# rest; a 5 MiB upload (Content-Length and chunked) reaches the origin
# intact and is stored truncated; --idle-timeout closes a client
# connection idle between exchanges, not one waiting on a slow response;
# over TLS both ways (an https upstream, an intercepted CONNECT) an 8 MiB
# body streams whole, also to a client that stalls first.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq is not installed"
command -v python3 >/dev/null || skip "python3 is not installed"

# The origin: raw HTTP/1.1 so the framing is exactly what the test says.
cat >"$T/origin.py" <<'PY'
import hashlib, os, socket, sys, threading, time

portfile, marker = sys.argv[1], sys.argv[2]
PAT = b"abcdefghijklmnop" * 4096		# 64 KiB

def read_head(f):
    lines = []
    while True:
        l = f.readline()
        if not l:
            return None
        if l == b"\r\n":
            return lines
        lines.append(l.rstrip(b"\r\n").decode())

def read_body(f, hdrs):
    h = hashlib.sha256()
    n = 0
    if "content-length" in hdrs:
        left = int(hdrs["content-length"])
        while left > 0:
            b = f.read(min(left, 65536))
            if not b:
                raise EOFError
            h.update(b); n += len(b); left -= len(b)
    elif hdrs.get("transfer-encoding") == "chunked":
        while True:
            size = int(f.readline().split(b";")[0], 16)
            if size == 0:
                while f.readline() not in (b"\r\n", b""):
                    pass
                break
            b = f.read(size)
            h.update(b); n += len(b)
            f.readline()
    return n, h.hexdigest()

def serve(c):
    f = c.makefile("rb")
    while True:
        head = read_head(f)
        if head is None:
            return
        method, target, _ = head[0].split(" ")
        hdrs = {}
        for l in head[1:]:
            k, v = l.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
        n, sha = read_body(f, hdrs)
        if target.startswith("/big?n="):
            size = int(target[7:])
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/"
                b"octet-stream\r\nContent-Length: %d\r\n\r\n" % size)
            while size > 0:
                b = PAT[:min(size, len(PAT))]
                c.sendall(b); size -= len(b)
        elif target == "/chunked":
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n")
            for part in (b"alpha-", b"beta-", b"gamma"):
                c.sendall(b"%x\r\n%s\r\n" % (len(part), part))
            c.sendall(b"0\r\n\r\n")
        elif target == "/slow":
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                b"Content-Length: 22\r\n\r\nfirst-part|")
            deadline = time.time() + 20
            while not os.path.exists(marker) and time.time() < deadline:
                time.sleep(0.01)
            c.sendall(b"second-part")
        elif target == "/pause":
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                b"Content-Length: 12\r\n\r\nbefore")
            time.sleep(0.8)	# longer than the idle timeout under test
            c.sendall(b"-after")
        elif target == "/eof":
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                b"Connection: close\r\n\r\nuntil-")
            c.sendall(b"the-end")
            c.shutdown(socket.SHUT_WR)
            return
        else:
            body = b'{"len":%d,"sha":"%s"}' % (n, sha.encode())
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json"
                b"\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))

def conn(c):
    try:
        serve(c)
    except (OSError, EOFError, ValueError):
        pass
    finally:
        c.close()

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
open(portfile + ".tmp", "w").write("%d\n" % s.getsockname()[1])
os.rename(portfile + ".tmp", portfile)
while True:
    c, _ = s.accept()
    threading.Thread(target=conn, args=(c,), daemon=True).start()
PY
start_bg origin "$T/origin.port" python3 "$T/origin.py" "$T/origin.port" \
    "$T/go"
start_bg rec "$T/rec.port" "$DECOY" record \
    --upstream "http://127.0.0.1:$PORT_origin" --listen 127.0.0.1:0 \
    --port-file "$T/rec.port" -o "$T/rec.jsonl" --max-body 1MiB
base="http://127.0.0.1:$PORT_rec"
hwm() {	# peak RSS of the recorder, KiB
	awk '/^VmHWM:/{print $2}' "/proc/$PID_rec/status"
}
# entry TARGET JQ: JQ over the recorded entry for TARGET.
entry() {
	jq -c --arg t "$1" "select(.req.target == \$t) | $2" "$T/rec.jsonl"
}

# --- 1. a 100 MiB response ---------------------------------------------------
big=$((100 * 1024 * 1024))
before=$(hwm)
check "100 MiB: the client gets every byte" [ "$(curl -s -o /dev/null \
    --max-time 60 -w '%{http_code} %{size_download}' "$base/big?n=$big")" = \
    "200 $big" ]
after=$(hwm)
echo "# recorder VmHWM: $before KiB before, $after KiB after the 100 MiB body"
check "100 MiB: the recorder's peak RSS grew by less than 24 MiB" \
    [ $((after - before)) -lt $((24 * 1024)) ]
check "100 MiB: stored truncated at --max-body, flagged with the sizes" \
    [ "$(entry "/big?n=$big" '[(.res.body | length), .truncated,
    .res.body[0:20]]')" = \
    "[1048576,{\"req\":0,\"res\":$big},\"abcdefghijklmnopabcd\"]" ]

# A client that reads nothing for a second, then all of a 50 MiB body:
# the recorder stops reading the origin meanwhile instead of buffering.
stalled_reader() {	# SIZE [PORT [TARGET]]
	python3 - "${2:-$PORT_rec}" "${3:-/big?n=$1}" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    % sys.argv[2].encode())
time.sleep(1)	# not a synchronisation: the stall under test
s.settimeout(30)
data = b""
while b"\r\n\r\n" not in data:
    data += s.recv(65536)
n = len(data) - data.index(b"\r\n\r\n") - 4
while True:
    b = s.recv(1 << 20)
    if not b:
        break
    n += len(b)
print(n)
PY
}
mid=$((50 * 1024 * 1024))
before=$(hwm)
check "stalled client: every byte in the end" [ "$(stalled_reader "$mid")" = \
    "$mid" ]
after=$(hwm)
echo "# recorder VmHWM: $before KiB before, $after KiB after the stalled 50 MiB"
check "stalled client: the recorder did not buffer the body" \
    [ $((after - before)) -lt $((24 * 1024)) ]

# --- 2. chunked relayed as it came ---------------------------------------------
printf 'GET /chunked HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' \
    >"$T/chunked.req"
raw "$PORT_rec" "$T/chunked.req" >"$T/chunked.out"
check "chunked: relayed in its own framing" grep -q -F \
    "$(printf '6\r\nalpha-\r\n5\r\nbeta-\r\n5\r\ngamma\r\n0\r\n\r\n')" \
    "$T/chunked.out"
check "chunked: Transfer-Encoding kept towards the client" \
    grep -q -i '^Transfer-Encoding: chunked' "$T/chunked.out"
check "chunked: recorded decoded" [ "$(entry /chunked '.res.body' | head -1)" \
    = '"alpha-beta-gamma"' ]
printf 'GET /chunked HTTP/1.0\r\n\r\n' >"$T/chunked10.req"
raw "$PORT_rec" "$T/chunked10.req" >"$T/chunked10.out"
check "chunked to an HTTP/1.0 client: decoded, then the connection closes" \
    [ "$(tail -c 16 "$T/chunked10.out")" = "alpha-beta-gamma" ]
check "chunked to an HTTP/1.0 client: Connection: close" \
    grep -q '^Connection: close' "$T/chunked10.out"

# --- 3. a body delimited by the origin's close -----------------------------
printf 'GET /eof HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' \
    >"$T/eof.req"
raw "$PORT_rec" "$T/eof.req" >"$T/eof.out"
check "EOF-delimited: re-chunked for an HTTP/1.1 client" grep -q -i \
    '^Transfer-Encoding: chunked' "$T/eof.out"
check "EOF-delimited: the whole body" [ "$(curl -s --max-time 10 \
    "$base/eof")" = "until-the-end" ]

# --- 4. a slow origin: the first bytes go through before the rest exists -----
curl -s -N --max-time 30 "$base/slow" >"$T/slow.out" &
cpid=$!
PIDS+=("$cpid")
wait_for "the first part of /slow" grep -q first-part "$T/slow.out"
check "slow: the client has the first part while the origin waits" \
    kill -0 "$cpid"
check "slow: not recorded before it is complete" \
    [ -z "$(entry /slow '.id')" ]
touch "$T/go"
wait "$cpid"
PIDS=("${PIDS[@]/$cpid}")
check "slow: then the rest" [ "$(cat "$T/slow.out")" = \
    "first-part|second-part" ]
check "slow: recorded whole" [ "$(entry /slow '.res.body')" = \
    '"first-part|second-part"' ]

# --- 5. uploads: Content-Length and chunked ---------------------------------
up=$((5 * 1024 * 1024))
yes 0123456789abcdef | head -c "$up" >"$T/upload.bin"
sha=$(sha256sum "$T/upload.bin" | cut -d' ' -f1)
check "upload (Content-Length): the origin gets it intact" [ "$(curl -s \
    --max-time 30 --data-binary @"$T/upload.bin" "$base/upload-cl")" = \
    "{\"len\":$up,\"sha\":\"$sha\"}" ]
check "upload (chunked): the origin gets it intact" [ "$(curl -s \
    --max-time 30 -H 'Transfer-Encoding: chunked' \
    --data-binary @"$T/upload.bin" "$base/upload-chunked")" = \
    "{\"len\":$up,\"sha\":\"$sha\"}" ]
check "upload: stored truncated, flagged" [ "$(entry /upload-chunked \
    '[(.req.body | length), .truncated.req]')" = "[1048576,$up]" ]

# --- 6. one keep-alive connection across streamed exchanges ---------------
check "keep-alive: chunked, big and small on one connection" [ "$(curl -s \
    --max-time 30 -o /dev/null -o /dev/null -o /dev/null \
    -w '%{http_code}:%{num_connects} ' "$base/chunked" "$base/big?n=300000" \
    "$base/upload-none")" = "200:1 200:0 200:0 " ]

# --- 7. pipelined requests: answered in order, each recorded -------------
printf 'POST /pipe-1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /chunked HTTP/1.1\r\nHost: x\r\n\r\nPOST /pipe-3 HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\nwxyz' \
    >"$T/pipe.req"
raw "$PORT_rec" "$T/pipe.req" >"$T/pipe.out"
check "pipelined: three answers, in order" [ "$(grep -a -o \
    -e '"len":[0-9]*' -e 'alpha-' "$T/pipe.out" | tr '\n' ' ')" = \
    '"len":3 alpha- "len":4 ' ]
check "pipelined: each recorded with its body" [ "$(jq -c -s \
    'map(select(.req.target | startswith("/pipe"))) |
    map([.req.target, .req.body])' "$T/rec.jsonl")" = \
    '[["/pipe-1","abc"],["/pipe-3","wxyz"]]' ]

stop "$PID_rec"
check "snapshot loads" "$DECOY" inspect "$T/rec.jsonl"

# --- 8. --idle-timeout --------------------------------------------------------
start_bg idle "$T/idle.port" "$DECOY" record \
    --upstream "http://127.0.0.1:$PORT_origin" --listen 127.0.0.1:0 \
    --port-file "$T/idle.port" -o "$T/idle.jsonl" --idle-timeout 300ms
# closed_after PORT REQUEST: sends REQUEST (may be empty), reads until the
# recorder closes the connection, prints what came; fails if it is still
# open after 10 s.
closed_after() {
	python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode())
s.settimeout(10)
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
sys.stdout.write(data.decode())
PY
}
check "idle: a connection that never sends is closed" \
    closed_after "$PORT_idle" ''
idle_after_exchange() {
	closed_after "$PORT_idle" 'GET /chunked HTTP/1.1\r\nHost: x\r\n\r\n' \
	    >"$T/idle.out" && grep -q -F \
	    "$(printf '5\r\ngamma\r\n0\r\n\r\n')" "$T/idle.out"
}
check "idle: closed after its exchange, the answer whole" idle_after_exchange
check "idle: a response slower than the idle timeout is not cut" \
    [ "$(curl -s --max-time 10 "http://127.0.0.1:$PORT_idle/pause")" = \
    before-after ]

# --- 9. TLS both ways ---------------------------------------------------------
"$DECOY" ca init --ca "$T/ca" 2>"$T/ca-init.log" || fatal "decoy ca init"
tbig=$((8 * 1024 * 1024))
python3 - "$tbig" >"$T/tls.jsonl" <<'PY'
import json, sys
body = ("0123456789abcdef" * (int(sys.argv[1]) // 16))
print(json.dumps({"v": 1, "dir": "out", "req": {"method": "GET",
    "target": "/tls-big"}, "res": {"status": 200, "body": body}}))
PY
tsha=$(jq -j '.res.body' "$T/tls.jsonl" | sha256sum | cut -d' ' -f1)
start_respond tlsorigin "$T/tls.jsonl" --tls --ca "$T/ca"
start_bg trec "$T/trec.port" "$DECOY" record \
    --upstream "https://localhost:$PORT_tlsorigin" --upstream-ca "$T/ca/ca.pem" \
    --listen 127.0.0.1:0 --port-file "$T/trec.port" -o "$T/trec.jsonl" \
    --max-body 1MiB
check "https upstream: 8 MiB streamed whole" [ "$(curl -s --max-time 30 \
    "http://127.0.0.1:$PORT_trec/tls-big" | sha256sum | cut -d' ' -f1)" = \
    "$tsha" ]
check "https upstream: a stalled client gets it all in the end" \
    [ "$(stalled_reader "$tbig" "$PORT_trec" /tls-big)" = "$tbig" ]
start_bg tproxy "$T/tproxy.port" "$DECOY" record --proxy 127.0.0.1:0 \
    --port-file "$T/tproxy.port" -o "$T/tproxy.jsonl" --ca "$T/ca" \
    --upstream-ca "$T/ca/ca.pem" --max-body 1MiB
check "CONNECT intercepted: 8 MiB streamed whole" [ "$(curl -s --max-time 30 \
    -x "http://127.0.0.1:$PORT_tproxy" --cacert "$T/ca/ca.pem" \
    "https://localhost:$PORT_tlsorigin/tls-big" | sha256sum | \
    cut -d' ' -f1)" = "$tsha" ]
stop "$PID_trec"
stop "$PID_tproxy"
check "TLS: recorded truncated, flagged" [ "$(jq -c \
    '[.tls, (.res.body | length), .truncated.res]' "$T/tproxy.jsonl")" = \
    "[true,1048576,$tbig]" ]
done_testing
