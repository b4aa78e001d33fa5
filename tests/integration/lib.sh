# lib.sh -- shared helpers for the integration tests (sourced, bash).
#
# Each test makes a temp dir, starts real processes on 127.0.0.1 with port
# 0, learns the bound ports from --port-file files, waits for readiness by
# polling (never a fixed sleep), and stops what it started, by PID, on exit.
# `check DESC CMD...` runs one assertion; the test exits 1 if any failed,
# 77 (skip) via `skip REASON`.

set -u

top_builddir=${top_builddir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
DECOY=$top_builddir/decoy
DECOYD=$top_builddir/decoyd
SHOP=$top_builddir/examples/shop
TESTNAME=$(basename "$0" .sh)

T=$(mktemp -d "${TMPDIR:-/tmp}/decoy-$TESTNAME.XXXXXX")
PIDS=()
CHECKS=0
FAILS=0

cleanup() {
	stop_all
	if [ "$FAILS" -ne 0 ] || [ -n "${KEEP:-}" ]; then
		echo "# logs kept in $T" >&2
		for f in "$T"/*.log; do
			[ -f "$f" ] || continue
			echo "# --- $f (last 20 lines)" >&2
			tail -n 20 "$f" >&2
		done
	else
		rm -rf "$T"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

skip() {
	echo "SKIP: $*"
	exit 77
}

# check DESC CMD...: runs CMD; counts and reports the result.
check() {
	local desc=$1
	shift
	CHECKS=$((CHECKS + 1))
	if "$@"; then
		echo "ok $CHECKS - $desc"
	else
		FAILS=$((FAILS + 1))
		echo "not ok $CHECKS - $desc"
	fi
}

# stop_all: SIGTERM to every process the test started, and wait.
stop_all() {
	local pid
	for pid in "${PIDS[@]}"; do
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${PIDS[@]}"; do
		[ -n "$pid" ] && wait "$pid" 2>/dev/null
	done
	PIDS=()
}

# done_testing: stops what the test started, fails the test if any of
# their logs holds a sanitizer report, and exits with the test's status.
done_testing() {
	local f
	stop_all
	for f in "$T"/*.log; do
		[ -f "$f" ] || continue
		if grep -q -E 'Sanitizer|runtime error:' "$f"; then
			FAILS=$((FAILS + 1))
			echo "not ok - sanitizer report in $(basename "$f"):"
			grep -E -A12 'Sanitizer|runtime error:' "$f" | head -40
		fi
	done
	echo "# $CHECKS checks, $FAILS failed"
	[ "$FAILS" -eq 0 ] && exit 0
	exit 1
}

fatal() {
	echo "FATAL: $*" >&2
	FAILS=$((FAILS + 1))
	exit 1
}

# wait_for DESC CMD...: polls CMD every 20 ms, for up to 10 s.
wait_for() {
	local desc=$1 i
	shift
	for ((i = 0; i < 500; i++)); do
		"$@" 2>/dev/null && return 0
		sleep 0.02
	done
	fatal "timed out waiting for $desc"
}

# wait_port FILE PID: waits for a port file written by the process PID.
wait_port() {
	local file=$1 pid=$2 i
	for ((i = 0; i < 500; i++)); do
		if [ -s "$file" ]; then
			cat "$file"
			return 0
		fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.02
	done
	fatal "no port in $file (process $pid exited or hung)"
}

# start_respond NAME SNAP [ARGS...]: `decoy respond` in the background;
# sets PORT_<NAME> and PID_<NAME>; logs to $T/NAME.log.
start_respond() {
	local name=$1 snap=$2 pid port
	shift 2
	"$DECOY" respond "$snap" --listen 127.0.0.1:0 \
	    --port-file "$T/$name.port" "$@" >"$T/$name.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	port=$(wait_port "$T/$name.port" "$pid") || exit 1
	printf -v "PORT_$name" '%s' "$port"
	printf -v "PID_$name" '%s' "$pid"
}

# start_nginx ROOT PROBE HTTP SERVER: nginx serving ROOT on 127.0.0.1 (it
# takes no port 0: a free port is picked, and another if it is taken
# before nginx binds it); HTTP and SERVER are extra lines for its http and
# server blocks, @PORT@ standing for the port.  Polls PROBE (a path) until
# nginx answers; sets NPORT and NGINX_PID.
start_nginx() {
	local root=$1 probe=$2 http=$3 server=$4 try port i
	mkdir -p "$T/nginx"
	for try in 1 2 3 4 5; do
		port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
		cat >"$T/nginx.conf" <<-EOF2
		daemon off;
		worker_processes 1;
		pid $T/nginx/nginx.pid;
		error_log $T/nginx-error.log;
		events { worker_connections 64; }
		http {
			access_log off;
			client_body_temp_path $T/nginx;
			proxy_temp_path $T/nginx;
			fastcgi_temp_path $T/nginx;
			uwsgi_temp_path $T/nginx;
			scgi_temp_path $T/nginx;
			${http//@PORT@/$port}
			server {
				listen 127.0.0.1:$port;
				root $root;
				${server//@PORT@/$port}
			}
		}
		EOF2
		nginx -c "$T/nginx.conf" -p "$T/nginx" >"$T/nginx.log" 2>&1 &
		NGINX_PID=$!
		PIDS+=("$NGINX_PID")
		for ((i = 0; i < 250; i++)); do
			if curl -s -o /dev/null "http://127.0.0.1:$port$probe"; then
				NPORT=$port
				return 0
			fi
			kill -0 "$NGINX_PID" 2>/dev/null || break
			sleep 0.02
		done
		stop "$NGINX_PID"
	done
	fatal "nginx did not start (see $T/nginx-error.log)"
}

# start_h2o PROBE CONF: h2o (fixed ports only: free ones are picked, and
# picked again if taken) with CONF, a YAML text in which @PORT@ and
# @PORT2@ stand for two free ports, until http://127.0.0.1:@PORT@PROBE
# answers (over h2 with prior knowledge); sets HPORT, HPORT2, H2O_PID.
start_h2o() {
	local probe=$1 conf=$2 try i
	for try in 1 2 3 4 5; do
		HPORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
		HPORT2=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
		conf=${conf//@PORT@/$HPORT}
		printf '%s\n' "${conf//@PORT2@/$HPORT2}" >"$T/h2o.conf"
		h2o -c "$T/h2o.conf" >"$T/h2o.log" 2>&1 &
		H2O_PID=$!
		PIDS+=("$H2O_PID")
		for ((i = 0; i < 250; i++)); do
			if curl -s -o /dev/null --http2-prior-knowledge \
			    "http://127.0.0.1:$HPORT$probe"; then
				return 0
			fi
			kill -0 "$H2O_PID" 2>/dev/null || break
			sleep 0.02
		done
		stop "$H2O_PID"
		conf=$2
	done
	fatal "h2o did not start (see $T/h2o.log)"
}

# start_bg NAME PORTFILE CMD...: any server that writes a port file.
start_bg() {
	local name=$1 portfile=$2 pid port
	shift 2
	"$@" >"$T/$name.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	port=$(wait_port "$portfile" "$pid") || exit 1
	printf -v "PORT_$name" '%s' "$port"
	printf -v "PID_$name" '%s' "$pid"
}

# stop PID: SIGTERM and wait; returns the process's exit status.
stop() {
	local pid=$1 st
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	st=$?
	PIDS=("${PIDS[@]/$pid}")
	return $st
}

# raw PORT FILE: sends the bytes of FILE on one connection, half-closes,
# and prints everything the server sends until it closes (10 s bound).
raw() {
	local port=$1 file=$2
	timeout 10 bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 3
		cat "$2" >&3
		cat <&3
	' raw "$port" "$file"
}

# trickle PORT FILE [DELAY]: like raw, but one byte per write, DELAY
# seconds apart (default 0.001), to exercise partial reads.
trickle() {
	local port=$1 file=$2 delay=${3:-0.001}
	timeout 60 bash -c '
		exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 3
		while IFS= read -r -d "" -n 1 c; do
			if [ -z "$c" ]; then printf "\\0"; else printf "%s" "$c"; fi
			sleep "$3"
		done <"$2" >&3
		cat <&3
	' trickle "$port" "$file" "$delay"
}

# status_of FILE: the status code of the first response in FILE.
status_of() {
	head -c 64 "$1" | sed -n '1s/^HTTP\/1\.[01] \([0-9][0-9][0-9]\).*/\1/p'
}

# alive PORT: the responder still answers a plain request.
alive() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
	    "http://127.0.0.1:$1/__decoy_probe__" | grep -q '^404$'
}

# same FILE1 FILE2: byte-identical, with a diff on failure.
same() {
	if cmp -s "$1" "$2"; then
		return 0
	fi
	echo "# $1 and $2 differ:" >&2
	diff <(od -c "$1" | head -40) <(od -c "$2" | head -40) >&2 || true
	return 1
}

command -v curl >/dev/null || skip "curl is not installed"
[ -x "$DECOY" ] || fatal "$DECOY is not built"
