#!/usr/bin/env bash
# record-vs-haproxy.sh - `decoy record` (reverse proxy, recording every
# exchange) beside haproxy 2.6 in front of the same nginx origin (`make bench`).
#
# Origin: nginx (apt) with its own prefix and config on 127.0.0.1, one worker,
# `return 200` with a 1 KiB JSON body.  The origin and the proxy under test
# both run on SERVER_CPU (0); wrk runs on WRK_CPU (1) -- identically for
# direct, haproxy and decoy.  Per round:
#   throughput  wrk -t1 -c64 -d${DURATION}s   direct, haproxy, decoy
#   latency     wrk -t1 -c1  -d${LAT_DURATION}s --latency (p50)  same three
# haproxy: mode http, nbthread 1, keep-alive to the server (http-reuse
# always).  decoy: `decoy record --upstream http://127.0.0.1:NGINX --listen
# 127.0.0.1:0 -o $W/rec-<round>-<c>.jsonl` -- a fresh process and a fresh file
# per run; after each run decoy is stopped (SIGTERM) and the recording must
# hold as many lines as wrk completed requests, give or take the requests
# in flight when wrk stopped (at most the connection count, + SLACK).
#
# Printed: req/s of each (median of ROUNDS), decoy/haproxy (target >= 0.8x),
# p50 at c=1 of each and decoy's added p50 over direct (target <= 50 us),
# and the CPU time (user + system, from /proc/PID/stat) haproxy and decoy
# spent per request at c=64: unlike req/s, nearly independent of what else
# runs on the machine.
#
# Environment: ROUNDS=3 DURATION=10 LAT_DURATION=5 SERVER_CPU=0 WRK_CPU=1
#   DECOY=./decoy  W=(work dir; default mktemp -d /tmp/decoy-rec-bench.XXXXXX)
#   KEEP=1 keeps the work dir.
# Exit status: 0 when every run produced numbers and every recording check
# passed (the targets are reported, not enforced); 1 otherwise; 2 when a tool
# is missing.
# Only processes this script started are signalled, by PID; every wrk run is
# bounded by timeout, every wait by a deadline.

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=${srcdir:-$(cd "$HERE/.." && pwd)}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
LAT_DURATION=${LAT_DURATION:-5}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}
CONNS=64
SLACK=4

# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"
for t in nginx haproxy wrk taskset timeout python3; do
	command -v "$t" >/dev/null 2>&1 || [[ -x /usr/sbin/$t ]] || die "$t is not installed"
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
if [[ -z ${DECOY:-} ]]; then
	for d in ./decoy "$srcdir/decoy"; do [[ -x $d ]] && { DECOY=$d; break; }; done
fi
[[ -n ${DECOY:-} && -x $DECOY ]] || die "no decoy binary (make, or DECOY=...)"
DECOY=$(cd "$(dirname "$DECOY")" && pwd)/$(basename "$DECOY")

W=${W:-$(mktemp -d /tmp/decoy-rec-bench.XXXXXX)}
mkdir -p "$W"
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do [[ -n $p ]] && kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do [[ -n $p ]] && wait "$p" 2>/dev/null; done
	if [[ -n ${KEEP:-} ]]; then echo "# work dir kept: $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_open() {	# PORT PID: up to 10 s
	local i
	for ((i = 0; i < 500; i++)); do
		port_open "$1" && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.02
	done
	die "port $1 (pid $2) never opened"
}
stop_pid() {	# PID: SIGTERM, wait (bounded: SIGKILL after 10 s)
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 500; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.02
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	PIDS=("${PIDS[@]/$pid}")
}

# --- origin: nginx -----------------------------------------------------------
NPORT=$(free_port)
pad=$(printf '%*s' 1000 '' | tr ' ' 'x')
body="{\"id\":42,\"status\":\"ok\",\"pad\":\"${pad:0:$((1024 - 32))}\"}"
[[ ${#body} -eq 1024 ]] || die "body is ${#body} bytes, not 1024"
bench_nginx_conf "$W/nginx" "$NPORT" "$body"
taskset -c "$SERVER_CPU" "$NGINX" -p "$W/nginx" -e "$W/nginx/logs/error.log" \
    -c "$W/nginx/nginx.conf" >"$W/nginx.log" 2>&1 &
NGINX_PID=$!
PIDS+=("$NGINX_PID")
wait_open "$NPORT" "$NGINX_PID"
got=$(curl -s --max-time 5 "http://127.0.0.1:$NPORT/api/x" | wc -c)
[[ $got -eq 1024 ]] || die "nginx answered $got bytes, not 1024"

# --- haproxy -----------------------------------------------------------------
HPORT=$(free_port)
cat >"$W/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn 4096
defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend fe
    bind 127.0.0.1:$HPORT
    default_backend be
backend be
    server origin 127.0.0.1:$NPORT
EOF
"$HAPROXY" -c -q -f "$W/haproxy.cfg" || die "haproxy rejects its config"
taskset -c "$SERVER_CPU" "$HAPROXY" -db -f "$W/haproxy.cfg" >"$W/haproxy.log" 2>&1 &
HAPROXY_PID=$!
PIDS+=("$HAPROXY_PID")
wait_open "$HPORT" "$HAPROXY_PID"

# --- helpers -------------------------------------------------------------------
FAILS=0
run_wrk() {	# OUT CONNS SECS PORT
	local out=$1 c=$2 d=$3 port=$4
	taskset -c "$WRK_CPU" timeout $((d + 30)) wrk -t1 -c"$c" -d"${d}s" --latency \
	    "http://127.0.0.1:$port/api/orders/42" >"$out" 2>&1 ||
	    { echo "# wrk failed: $(tail -1 "$out")"; FAILS=$((FAILS + 1)); }
}
rps_of() { awk '/^Requests\/sec:/{print $2}' "$1"; }
reqs_of() { awk '/requests in/{print $1; exit}' "$1"; }
errs_of() { awk '/Non-2xx|Socket errors/{print}' "$1"; }
p50_us_of() {	# wrk --latency "50%" line in microseconds
	awk '$1=="50%"{v=$2; u=v; sub(/[0-9.]+/,"",u); sub(/[a-z]+$/,"",v);
	    m = (u=="us") ? 1 : (u=="ms") ? 1000 : (u=="s") ? 1000000 : -1;
	    printf "%.1f\n", v*m; exit}' "$1"
}
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
TCK=$(getconf CLK_TCK)
cpu_us_per_req() {	# TICKS REQUESTS
	awk -v t="$1" -v n="$2" -v k="$TCK" 'BEGIN{printf "%.1f", (n > 0) ? t * 1e6 / k / n : 0}'
}

DECOY_PID=""
start_decoy() {	# SNAP
	rm -f "$1" "$W/decoy.port"
	taskset -c "$SERVER_CPU" "$DECOY" record --upstream "http://127.0.0.1:$NPORT" \
	    --listen 127.0.0.1:0 --port-file "$W/decoy.port" -o "$1" -q \
	    >>"$W/decoy.log" 2>&1 &
	DECOY_PID=$!
	PIDS+=("$DECOY_PID")
	local i
	for ((i = 0; i < 500; i++)); do
		[[ -s $W/decoy.port ]] && break
		kill -0 "$DECOY_PID" 2>/dev/null || die "decoy record exited: $(tail -3 "$W/decoy.log")"
		sleep 0.02
	done
	DPORT=$(cat "$W/decoy.port")
	wait_open "$DPORT" "$DECOY_PID"
}
target() {	# WHO SNAP -> port (and, for decoy, a fresh recorder writing SNAP)
	case $1 in
	direct) port=$NPORT ;;
	haproxy) port=$HPORT ;;
	decoy) start_decoy "$2"; port=$DPORT ;;
	esac
}
check_rec() {	# SNAP WRKOUT CONNS
	local lines reqs
	lines=$(grep -c '' "$1")
	reqs=$(reqs_of "$2")
	if ((lines >= reqs && lines <= reqs + $3 + SLACK)); then
		echo "#   recording ok: $lines lines for $reqs requests wrk completed (c=$3)"
	else
		echo "#   RECORDING MISMATCH: $lines lines for $reqs requests wrk completed (c=$3)"
		FAILS=$((FAILS + 1))
	fi
	bad=$(grep -c -v '"status":200' "$1")
	[[ $bad -eq 0 ]] || { echo "#   $bad recorded lines without status 200"; FAILS=$((FAILS + 1)); }
}

echo "# record-vs-haproxy: nginx :$NPORT, haproxy :$HPORT, decoy $DECOY"
echo "# origin+proxy on CPU $SERVER_CPU, wrk on CPU $WRK_CPU; $ROUNDS round(s);" \
    "c=$CONNS ${DURATION}s, c=1 ${LAT_DURATION}s; load $(cut -d' ' -f1-3 /proc/loadavg)"

declare -A RPS P50 CPU
for ((r = 1; r <= ROUNDS; r++)); do
	echo "# round $r"
	for who in direct haproxy decoy; do
		target "$who" "$W/rec-$r-c$CONNS.jsonl"
		case $who in
		haproxy) ppid=$HAPROXY_PID ;;
		decoy) ppid=$DECOY_PID ;;
		*) ppid="" ;;
		esac
		[[ -n $ppid ]] && t0=$(cpu_ticks "$ppid")
		run_wrk "$W/$who-$r-c$CONNS.txt" "$CONNS" "$DURATION" "$port"
		RPS[$who]+="$(rps_of "$W/$who-$r-c$CONNS.txt") "
		cpu=""
		if [[ -n $ppid ]]; then
			cpr=$(cpu_us_per_req $(($(cpu_ticks "$ppid") - t0)) \
			    "$(reqs_of "$W/$who-$r-c$CONNS.txt")")
			CPU[$who]+="$cpr "
			cpu=", $cpr us of CPU per request"
		fi
		e=$(errs_of "$W/$who-$r-c$CONNS.txt")
		[[ -n $e ]] && { echo "#   $who: $e"; FAILS=$((FAILS + 1)); }
		echo "#   $who c=$CONNS: $(rps_of "$W/$who-$r-c$CONNS.txt") req/s," \
		    "$(reqs_of "$W/$who-$r-c$CONNS.txt") requests$cpu"
		if [[ $who == decoy ]]; then
			stop_pid "$DECOY_PID"
			check_rec "$W/rec-$r-c$CONNS.jsonl" "$W/$who-$r-c$CONNS.txt" "$CONNS"
		fi
	done
	for who in direct haproxy decoy; do
		target "$who" "$W/rec-$r-c1.jsonl"
		run_wrk "$W/$who-$r-c1.txt" 1 "$LAT_DURATION" "$port"
		P50[$who]+="$(p50_us_of "$W/$who-$r-c1.txt") "
		echo "#   $who c=1: p50 $(p50_us_of "$W/$who-$r-c1.txt") us," \
		    "$(rps_of "$W/$who-$r-c1.txt") req/s"
		if [[ $who == decoy ]]; then
			stop_pid "$DECOY_PID"
			check_rec "$W/rec-$r-c1.jsonl" "$W/$who-$r-c1.txt" 1
		fi
	done
done

for who in direct haproxy decoy; do
	# shellcheck disable=SC2086
	{ [[ -n $(echo ${RPS[$who]}) ]] && [[ -n $(echo ${P50[$who]}) ]]; } ||
	    { echo "no numbers for $who"; exit 1; }
done
# shellcheck disable=SC2086
{
	rd=$(median ${RPS[direct]}); rh=$(median ${RPS[haproxy]}); rc=$(median ${RPS[decoy]})
	pd=$(median ${P50[direct]}); ph=$(median ${P50[haproxy]}); pc=$(median ${P50[decoy]})
}
what="median of $ROUNDS"; ((ROUNDS == 1)) && what="1 run each"
echo
echo "== record-vs-haproxy ($what; c=$CONNS ${DURATION}s, c=1 ${LAT_DURATION}s)"
printf '%-10s %12s %12s   %s\n' "" "req/s c=$CONNS" "p50 c=1 us" "(all rounds: req/s | p50)"
printf '%-10s %12.0f %12.1f   %s| %s\n' direct "$rd" "$pd" "${RPS[direct]}" "${P50[direct]}"
printf '%-10s %12.0f %12.1f   %s| %s\n' haproxy "$rh" "$ph" "${RPS[haproxy]}" "${P50[haproxy]}"
printf '%-10s %12.0f %12.1f   %s| %s\n' decoy "$rc" "$pc" "${RPS[decoy]}" "${P50[decoy]}"
awk -v c="$rc" -v h="$rh" 'BEGIN{r=c/h; printf "decoy/haproxy req/s: %.2fx (target >= 0.8x: %s)\n", r, (r>=0.8)?"met":"MISSED"}'
awk -v c="$pc" -v d="$pd" -v h="$ph" 'BEGIN{a=c-d; printf "added p50 over direct: decoy %+.1f us (target <= 50 us: %s), haproxy %+.1f us\n", a, (a<=50)?"met":"MISSED", h-d}'
# shellcheck disable=SC2086
{ ch=$(median ${CPU[haproxy]}); cc=$(median ${CPU[decoy]}); }
awk -v c="$cc" -v h="$ch" 'BEGIN{printf "CPU per request at c=64 (user+system): haproxy %.1f us, decoy %.1f us (%.2fx)\n", h, c, (h > 0) ? c / h : 0}'
echo "recording checks: $([[ $FAILS -eq 0 ]] && echo all passed || echo "$FAILS FAILED")"
[[ $FAILS -eq 0 ]]
