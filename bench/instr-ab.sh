#!/usr/bin/env bash
# instr-ab.sh - instructions per request of two decoy builds, side by side,
# for the responder, the generator and the recorder (`make bench` does not
# run it; run it by hand to compare a change with its base).
#
#   A=/path/to/base/decoy B=/path/to/new/decoy bench/instr-ab.sh
#
# Wall-clock benchmarks (respond-vs-peers.sh, replay-vs-wrk.sh,
# record-vs-haproxy.sh) need quiet cores; this one counts instructions
# under valgrind's callgrind, which other work on the machine does not
# change, so it compares two builds on a busy machine.  Per role and build
# it runs N1 and then N2 requests through a fresh process and reports the
# marginal cost (Ir(N2) - Ir(N1)) / (N2 - N1): start-up, snapshot loading
# and shutdown cancel out.
#
#   respond  decoy respond SNAP --workers 1 under callgrind;
#            h2load --h1 -n N -c 8 against it (SNAP: 100 GET routes with
#            1 KiB JSON bodies)
#   replay   decoy replay IN --closed -c 8 under callgrind against nginx
#            (IN: N GETs over the 100 routes, one pass: exactly N)
#   record   decoy record --upstream nginx under callgrind; h2load --h1
#            -n N -c 8 through it (the recording is checked: N lines)
#
# Both builds should be built alike (same configure flags, e.g. the
# default -O2).  Environment: N1=2000 N2=8000, W (work dir, default
# mktemp), KEEP=1 keeps it.  Needs valgrind, h2load (nghttp2-client),
# nginx, curl.  Exit status: 0 with the table printed, 1 when a run failed
# (its log named), 2 when a tool or a build is missing.
# Only processes this script started are signalled, by PID.

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"

N1=${N1:-2000}
N2=${N2:-8000}
bench_need valgrind h2load nginx curl callgrind_annotate
for b in "${A:-}" "${B:-}"; do
	[[ -n $b && -x $b ]] || die "set A and B to two decoy binaries"
done
W=${W:-$(mktemp -d "${TMPDIR:-/tmp}/decoy-instr.XXXXXX")}
cleanup() {
	stop_all
	[[ ${KEEP:-0} == 1 ]] || rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
	/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port_file() {  # FILE PID
	local i
	for ((i = 0; i < 600; i++)); do
		[[ -s $1 ]] && return 0
		alive "$2" || return 1
		sleep 0.05
	done
	return 1
}

# --- the origin and the data ------------------------------------------
body=$(awk 'BEGIN { s = "{\"id\":\"o-42\",\"pad\":\""
	while (length(s) < 1022) s = s "x"; printf "%s\"}", s }')
NPORT=$(free_port)
bench_nginx_conf "$W/nginx" "$NPORT" "$body"
nginx -p "$W/nginx" -c "$W/nginx/nginx.conf" >"$W/nginx/logs/out.log" 2>&1 &
STARTED+=("$!")
for ((i = 0; i < 250; i++)); do
	curl -fs -o /dev/null "http://127.0.0.1:$NPORT/" && break
	sleep 0.02
done
curl -fs -o /dev/null "http://127.0.0.1:$NPORT/" || die "nginx did not come up" 1

awk -v body="$body" 'BEGIN {
	gsub(/"/, "\\\"", body)
	for (i = 0; i < 100; i++)
		printf "{\"v\":1,\"id\":\"o-%d\",\"dir\":\"out\",\"req\":{\"method\":\"GET\",\"target\":\"/item/%d\",\"headers\":[[\"Accept\",\"*/*\"]]},\"res\":{\"status\":200,\"headers\":[[\"Content-Type\",\"application/json\"],[\"Content-Length\",\"1024\"]],\"body\":\"%s\"}}\n", i, i, body
}' >"$W/respond.jsonl"
for n in "$N1" "$N2"; do
	awk -v n="$n" -v body="$body" 'BEGIN {
		gsub(/"/, "\\\"", body)
		for (i = 0; i < n; i++)
			printf "{\"v\":1,\"id\":\"i-%d\",\"dir\":\"in\",\"req\":{\"method\":\"GET\",\"target\":\"/item/%d\",\"headers\":[[\"Accept\",\"application/json\"]]},\"res\":{\"status\":200,\"headers\":[[\"Content-Type\",\"application/json\"]],\"body\":\"%s\"}}\n", i, i % 100, body
	}' >"$W/in-$n.jsonl"
done

# Ir of a finished callgrind run.
total_ir() {
	awk '/^(summary|totals):/ { print $2; exit }' "$1"
}

CG=(valgrind --tool=callgrind --trace-children=no)

# run_respond BIN N TAG -> Ir
run_respond() {
	local out="$W/$3-respond-$2" pid
	rm -f "$out.port"
	"${CG[@]}" --callgrind-out-file="$out.cg" "$1" respond "$W/respond.jsonl" \
	    --listen 127.0.0.1:0 --port-file "$out.port" --workers 1 \
	    >"$out.log" 2>&1 &
	pid=$!
	STARTED+=("$pid")
	wait_port_file "$out.port" "$pid" || fail "respond did not start: $out.log"
	h2load --h1 -n "$2" -c 8 -m 1 "http://127.0.0.1:$(cat "$out.port")/item/7" \
	    >"$out.load" 2>&1 || fail "h2load failed: $out.load"
	grep -q "$2 succeeded" "$out.load" || fail "not every request succeeded: $out.load"
	kill -TERM "$pid"
	wait "$pid"
	total_ir "$out.cg"
}

run_replay() {
	local out="$W/$3-replay-$2"
	"${CG[@]}" --callgrind-out-file="$out.cg" "$1" replay "$W/in-$2.jsonl" \
	    --target "http://127.0.0.1:$NPORT" --closed --connections 8 \
	    --report "$out.json" >"$out.log" 2>&1 || fail "replay failed: $out.log"
	total_ir "$out.cg"
}

run_record() {
	local out="$W/$3-record-$2" pid lines
	rm -f "$out.port" "$out.jsonl"
	"${CG[@]}" --callgrind-out-file="$out.cg" "$1" record \
	    --upstream "http://127.0.0.1:$NPORT" --listen 127.0.0.1:0 \
	    --port-file "$out.port" -o "$out.jsonl" >"$out.log" 2>&1 &
	pid=$!
	STARTED+=("$pid")
	wait_port_file "$out.port" "$pid" || fail "record did not start: $out.log"
	h2load --h1 -n "$2" -c 8 -m 1 "http://127.0.0.1:$(cat "$out.port")/item/7" \
	    >"$out.load" 2>&1 || fail "h2load failed: $out.load"
	grep -q "$2 succeeded" "$out.load" || fail "not every request succeeded: $out.load"
	kill -TERM "$pid"
	wait "$pid"
	lines=$(wc -l <"$out.jsonl")
	[[ $lines -eq $2 ]] || fail "recorded $lines of $2: $out.jsonl"
	total_ir "$out.cg"
}

printf '%-8s %14s %14s %8s\n' role "A Ir/req" "B Ir/req" "B/A"
for role in respond replay record; do
	declare -A per=()
	for who in A B; do
		bin=${!who}
		i1=$("run_$role" "$bin" "$N1" "$who") || exit 1
		i2=$("run_$role" "$bin" "$N2" "$who") || exit 1
		per[$who]=$(( (i2 - i1) / (N2 - N1) ))
	done
	printf '%-8s %14s %14s %8s\n' "$role" "${per[A]}" "${per[B]}" \
	    "$(awk -v a="${per[A]}" -v b="${per[B]}" 'BEGIN { printf "%.3fx", b / a }')"
done
echo "instructions per request (marginal, $N1 -> $N2 requests, callgrind); B/A < 1: B is cheaper"
