#!/usr/bin/env bash
# idle-conns.sh - an ordinary client's latency while many other connections
# sit idle or trickle their heads: decoy's responder beside nginx 1.22, in
# one run (`make bench`).
#
# Cases:
#   A  1,500 idle keep-alive connections (one request each, then silent)
#      plus 200 connections trickling a request head at 2 bytes/s (each
#      reconnects when the server's header timeout closes it)
#   B  10,000 idle keep-alive connections, all kept open
# In each case one ordinary client sends PROBES sequential GET /ping on
# one keep-alive connection, GAP_US apart, and the script prints its p50,
# p99, p99.9 and max (ms) for decoy and for nginx, run after run
# (alternating, RUNS times), then the medians and the ratio decoy/nginx.
# Target: decoy's p99 under 1 ms in every case.
#
# decoy:  decoy respond SNAP --listen 127.0.0.1:PORT (default workers: one
#         per usable CPU), --header-timeout 10s, --idle-timeout 60s;
# nginx:  worker_processes 2, client_header_timeout 10s,
#         keepalive_timeout 60s, `return 200 "pong\n"`, its own prefix and
#         configuration in a temporary directory (never the system's).
# Both answer GET /ping with a 5-byte body.  Nothing is pinned (2 cores:
# server workers, the holder and the probe share them), so run it on a
# quiet machine and compare within a run.
#
# Environment: DECOY (default ./decoy of the build tree), IDLE_CONNS (the
# helper, default bench/idle-conns of the build tree), NGINX (default
# nginx on PATH or /usr/sbin/nginx; missing: decoy alone), RUNS (3),
# PROBES (5000), GAP_US (1000), CASES ("A B").
#
# Exit status: 0; 2 when decoy or the helper is missing; 1 when a run
# failed.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=${srcdir:-$(cd "$HERE/.." && pwd)}
builddir=${builddir:-$(pwd)}
DECOY=${DECOY:-$builddir/decoy}
[ -x "$DECOY" ] || DECOY=$srcdir/decoy
IDLE_CONNS=${IDLE_CONNS:-$builddir/bench/idle-conns}
[ -x "$IDLE_CONNS" ] || IDLE_CONNS=$srcdir/bench/idle-conns
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
RUNS=${RUNS:-3}
PROBES=${PROBES:-5000}
GAP_US=${GAP_US:-1000}
CASES=${CASES:-"A B"}

die() { printf 'idle-conns.sh: %s\n' "$*" >&2; exit 2; }
[ -x "$DECOY" ] || die "no decoy binary (set DECOY)"
[ -x "$IDLE_CONNS" ] || die "no bench/idle-conns (make bench/idle-conns)"
[ -x "$NGINX" ] || { echo "idle-conns.sh: no nginx: decoy alone" >&2; NGINX=; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" -ge 10100 ] || [ "$(ulimit -n)" = unlimited ] ||
    echo "idle-conns.sh: open-file limit $(ulimit -n): case B may fail" >&2

D=$(mktemp -d "${TMPDIR:-/tmp}/idle-conns.XXXXXX")
SERVER=
HOLDER=
cleanup() {
	[ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null && wait "$HOLDER" 2>/dev/null
	[ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null && wait "$SERVER" 2>/dev/null
	rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

cat >"$D/snap.jsonl" <<'EOF'
{"v":1,"id":"ping","dir":"out","req":{"method":"GET","target":"/ping","host":"bench"},"res":{"status":200,"headers":[["Content-Type","text/plain"]],"body":"pong\n"}}
EOF

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() {
	local i
	for ((i = 0; i < 500; i++)); do port_open "$1" && return 0; sleep 0.02; done
	return 1
}

# start_server decoy|nginx PORT: sets SERVER.
start_server() {
	local port=$2
	rm -rf "$D/srv" && mkdir -p "$D/srv/logs"
	case $1 in
	decoy)
		"$DECOY" respond "$D/snap.jsonl" --listen "127.0.0.1:$port" \
		    --header-timeout 10s --idle-timeout 60s -q \
		    >"$D/srv/decoy.log" 2>&1 &
		;;
	nginx)
		cat >"$D/srv/nginx.conf" <<EOF
worker_processes 2;
worker_rlimit_nofile 40000;
pid $D/srv/nginx.pid;
error_log $D/srv/logs/error.log warn;
daemon off;
events { worker_connections 30000; }
http {
	access_log off;
	client_header_timeout 10s;
	keepalive_timeout 60s;
	keepalive_requests 10000000;
	server {
		listen 127.0.0.1:$port;
		location /ping { default_type text/plain; return 200 "pong\n"; }
	}
}
EOF
		"$NGINX" -p "$D/srv" -c "$D/srv/nginx.conf" \
		    >"$D/srv/nginx.out" 2>&1 &
		;;
	esac
	SERVER=$!
	wait_port "$port" || { echo "idle-conns.sh: $1 did not start" >&2; return 1; }
}

stop_server() {
	kill "$SERVER" 2>/dev/null
	wait "$SERVER" 2>/dev/null
	SERVER=
}

# one_run SERVER CASE: prints "p50 p99 p999 max" or returns 1.
one_run() {
	local port nidle ntrickle out i
	case $2 in
	A) nidle=1500 ntrickle=200 ;;
	B) nidle=10000 ntrickle=0 ;;
	esac
	port=$(free_port)
	start_server "$1" "$port" || return 1
	rm -f "$D/ready"
	"$IDLE_CONNS" hold "$port" "$nidle" "$ntrickle" "$D/ready" \
	    2>"$D/hold.err" &
	HOLDER=$!
	for ((i = 0; i < 3000; i++)); do
		[ -e "$D/ready" ] && break
		kill -0 "$HOLDER" 2>/dev/null || break
		sleep 0.02
	done
	if [ ! -e "$D/ready" ]; then
		echo "idle-conns.sh: $1 case $2: holder failed: $(cat "$D/hold.err")" >&2
		kill "$HOLDER" 2>/dev/null; wait "$HOLDER" 2>/dev/null; HOLDER=
		stop_server
		return 1
	fi
	sleep 1	# let the trickling connections get going
	out=$("$IDLE_CONNS" probe "$port" "$PROBES" "$GAP_US") || out=
	kill "$HOLDER" 2>/dev/null; wait "$HOLDER" 2>/dev/null; HOLDER=
	stop_server
	[ -n "$out" ] || return 1
	echo "$out"
}

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }

servers="decoy${NGINX:+ nginx}"
rc=0
echo "# idle-conns: ordinary-client latency (ms) on a keep-alive connection,"
echo "# $PROBES requests ${GAP_US}us apart; load $(cut -d' ' -f1-3 /proc/loadavg)"
for c in $CASES; do
	case $c in
	A) echo "## case A: 1,500 idle + 200 trickling-header connections" ;;
	B) echo "## case B: 10,000 idle connections, kept open" ;;
	*) die "unknown case $c" ;;
	esac
	printf '%-6s %-4s %8s %8s %8s %8s\n' server run p50 p99 p99.9 max
	for ((r = 1; r <= RUNS; r++)); do
		for s in $servers; do
			if res=$(one_run "$s" "$c"); then
				# shellcheck disable=SC2086
				printf '%-6s %-4s %8s %8s %8s %8s\n' "$s" "$r" $res
				echo "$res" >>"$D/$s-$c"
			else
				rc=1
			fi
		done
	done
	for s in $servers; do
		[ -s "$D/$s-$c" ] || continue
		printf '%-6s %-4s %8s %8s %8s %8s\n' "$s" med \
		    "$(awk '{print $1}' "$D/$s-$c" | median)" \
		    "$(awk '{print $2}' "$D/$s-$c" | median)" \
		    "$(awk '{print $3}' "$D/$s-$c" | median)" \
		    "$(awk '{print $4}' "$D/$s-$c" | median)"
	done
	if [ -s "$D/decoy-$c" ] && [ -n "$NGINX" ] && [ -s "$D/nginx-$c" ]; then
		dp=$(awk '{print $2}' "$D/decoy-$c" | median)
		np=$(awk '{print $2}' "$D/nginx-$c" | median)
		awk -v d="$dp" -v n="$np" 'BEGIN {
			printf "p99 decoy/nginx: %.2fx (decoy %.3f ms, nginx %.3f ms); target decoy p99 < 1 ms: %s\n",
			    d / n, d, n, d < 1 ? "met" : "NOT met" }'
	fi
done
exit $rc
