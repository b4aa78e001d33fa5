#!/bin/bash
# A slowloris client must be cut off by --header-timeout without blocking
# others.  The malformed and smuggling-shaped requests (one 400/413/431/
# 501 each, byte-exact, then a close; the responder serves on) and the
# trickled request are cases: tests/cases/robust/ and
# tests/cases/http/trickle*.case.
. "$(dirname "$0")/lib.sh"

cat >"$T/snap.jsonl" <<'EOF2'
{"v":1,"id":"t-1","dir":"out","req":{"method":"GET","target":"/ok","host":"a"},"res":{"status":200,"body":"ok"}}
EOF2
start_respond r "$T/snap.jsonl" --header-timeout 1s
P=$PORT_r

# slowloris: a head that never completes is cut off by --header-timeout
# (1 s here) while other clients are served.
slowloris() {
	timeout 10 bash -c '
		trap "" PIPE
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 3
		printf "GET /ok HTTP/1.1\r\nHost: a\r\n" >&3
		for i in 1 2 3 4 5 6 7 8; do
			printf "X-%d: y\r\n" "$i" >&3 2>/dev/null || break
			sleep 0.5
		done
		cat <&3
	' slowloris "$1"
}
slowloris "$P" >"$T/slow.out" 2>/dev/null &
SLOW=$!
check "served while a slowloris client is connected" alive "$P"
wait "$SLOW"
rc=$?
check "slowloris cut off by the header timeout" [ "$rc" -ne 124 ]
check "slowloris got at most a 408 or 400" \
    bash -c '[ ! -s "$1" ] || grep -q "^HTTP/1.1 40[08] " "$1"' _ "$T/slow.out"

check "responder still running" kill -0 "$PID_r"
check "still serving at the end" alive "$P"
done_testing
