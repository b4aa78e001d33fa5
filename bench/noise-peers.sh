#!/usr/bin/env bash
#
# noise-peers.sh -- how real servers answer the malformed requests that
# decoy fuzz's mutants make: the source of the tables in
# tests/unit/test-fuzz.c (test_noise_peers), which check that each answer
# is classified as protocol noise (fuzz-noise.c) or not.  Starts, each on
# a free loopback port, whichever of nginx, Python's http.server, Node's
# http and Go's net/http are installed, sends every request of the list
# below on a fresh connection (half-closed after it, as the campaign does
# for broken framing only when the request says so) and prints one line
# per (server, request): the status, "eof", "reset", "timeout" or
# "bad-response" (an answer that is not HTTP/1.x).
#
# --record FILE re-records tests/noise-peers/answers.txt, the raw answers
# test-fuzz.c reads (test_noise_recorded): one line per (server,
# request), tab-separated: server, label, the corpus method the request
# stands for, the noise classes it may be (the parts of RFC 9112 it
# breaks, comma-separated), the request and the answer's first 1 KiB
# (escaped: \r \n \t \\ \xNN; "-" for no answer, "timeout" for none
# within 2 s).
#
# usage: bash bench/noise-peers.sh [--record FILE]
set -u
REC=
[ "${1:-}" = --record ] && REC=$2
T=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {
	for _ in $(seq 200); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

servers=()
if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then
	p=$(free_port)
	mkdir -p "$T/nginx/logs" "$T/www"
	echo ok >"$T/www/x"
	cat >"$T/nginx/nginx.conf" <<CONF
daemon off; worker_processes 1; pid $T/nginx/pid; error_log $T/nginx/err;
events {}
http { access_log off; client_body_temp_path $T/nginx;
  server { listen 127.0.0.1:$p; root $T/www; } }
CONF
	/usr/sbin/nginx -p "$T/nginx" -c "$T/nginx/nginx.conf" 2>/dev/null &
	pids+=($!)
	wait_port "$p" && servers+=("nginx-$(/usr/sbin/nginx -v 2>&1 | sed 's|.*/||'):$p")
fi
p=$(free_port)
(cd "$T/www" 2>/dev/null || cd "$T"; exec /usr/bin/python3 -m http.server "$p" --bind 127.0.0.1 >/dev/null 2>&1) &
pids+=($!)
wait_port "$p" && servers+=("python-$(/usr/bin/python3 -c 'import platform; print(platform.python_version())'):$p")
if command -v node >/dev/null; then
	p=$(free_port)
	node -e "require('http').createServer((q,r)=>{r.end('ok')}).listen($p,'127.0.0.1')" &
	pids+=($!)
	wait_port "$p" && servers+=("node-$(node --version):$p")
fi
if command -v go >/dev/null; then
	p=$(free_port)
	mkdir -p "$T/go"
	cat >"$T/go/main.go" <<GO
package main
import ("net/http"; "os")
func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	http.ListenAndServe("127.0.0.1:"+os.Args[1], nil)
}
GO
	(cd "$T/go" && GOCACHE=$T/go/cache GOPATH=$T/go/path go build -o srv main.go 2>/dev/null) &&
	{ "$T/go/srv" "$p" & pids+=($!); wait_port "$p" &&
	    servers+=("go-$(go version | awk '{print $3}'):$p"); }
fi

/usr/bin/python3 - "$REC" "${servers[@]}" <<'PY'
import socket, sys
# label, the corpus method it stands for, the noise classes it may be,
# the request.
reqs = [
 ("unknown method",  "GET", "method", b"PROPFIND /x HTTP/1.1\r\nHost: h\r\n\r\n"),
 ("CONNECT",         "GET", "method,target", b"CONNECT /x HTTP/1.1\r\nHost: h\r\n\r\n"),
 ("non-token method","GET", "method", b"G(T /x HTTP/1.1\r\nHost: h\r\n\r\n"),
 ("HTTP/2.0",        "GET", "version", b"GET /x HTTP/2.0\r\nHost: h\r\n\r\n"),
 ("HTTP/1&1",        "GET", "version", b"GET /x HTTP/1&1\r\nHost: h\r\n\r\n"),
 ("HTTP/0.9 line",   "GET", "request-line", b"GET /x\r\n\r\n"),
 ("garbage line",    "GET", "method,request-line", b"\x16\x03\x01\x02\x00\x01\r\n\r\n"),
 ("empty line",      "GET", "incomplete", b"\r\n\r\n\r\n"),
 ("space in target", "GET", "version,target", b"GET /a b HTTP/1.1\r\nHost: h\r\n\r\n"),
 ("raw 0xff target", "GET", "target", b"GET /\xff HTTP/1.1\r\nHost: h\r\n\r\n"),
 ("header no colon", "GET", "headers", b"GET /x HTTP/1.1\r\nHost: h\r\nX-A 1\r\n\r\n"),
 ("space before :",  "GET", "headers", b"GET /x HTTP/1.1\r\nHost: h\r\nX-A : 1\r\n\r\n"),
 ("70 KiB header",   "GET", "headers", b"GET /x HTTP/1.1\r\nHost: h\r\nX-P: " + b"A"*70000 + b"\r\n\r\n"),
 ("bad CL",          "GET", "framing,method", b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n1"),
 ("TE gzip",         "POST", "framing", b"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\nab"),
 ("CL and TE",       "GET", "framing,method", b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
]
answers = {}


def esc(b):
    out = []
    for c in b:
        if c == 13: out.append("\\r")
        elif c == 10: out.append("\\n")
        elif c == 9: out.append("\\t")
        elif c == 92: out.append("\\\\")
        elif 32 <= c < 127: out.append(chr(c))
        else: out.append("\\x%02x" % c)
    return "".join(out)
def probe(port, raw):
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(2)
    try:
        s.sendall(raw)
    except OSError:
        pass
    data = b""
    answers[(port, raw)] = data
    try:
        while True:
            c = s.recv(65536)
            if not c: break
            data += c
            answers[(port, raw)] = data
            if b"\r\n\r\n" in data and data.startswith(b"HTTP/") and \
                    (not rec or len(data) >= 1024 or complete(data)):
                break
    except socket.timeout:
        answers[(port, raw)] = data or None
        if not data: return "timeout"
    except ConnectionResetError:
        if not data: return "reset"
    finally:
        s.close()
    if not data: return "eof"
    if data[:7] in (b"HTTP/1.", ) and len(data) > 12:
        return data[9:12].decode()
    return "bad-response(%r)" % data[:24]
def complete(data):
    head, _, body = data.partition(b"\r\n\r\n")
    for h in head.split(b"\r\n"):
        if h.lower().startswith(b"content-length:"):
            return len(body) >= int(h.split(b":")[1])
    return False


rec = sys.argv[1]
lines = []
for srv in sys.argv[2:]:
    name, port = srv.rsplit(":", 1)
    for label, method, classes, raw in reqs:
        print("%-22s %-18s %s" % (name, label, probe(int(port), raw)))
        a = answers.get((int(port), raw))
        lines.append("\t".join((name, label, method, classes, esc(raw),
                                "timeout" if a is None else
                                esc(a[:1024]) or "-")))
if rec:
    with open(rec, "w") as f:
        f.write("# bench/noise-peers.sh --record: server, label, method, "
                "classes, request, answer\n")
        f.write("\n".join(lines) + "\n")
PY
