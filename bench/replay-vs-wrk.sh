#!/usr/bin/env bash
# replay-vs-wrk.sh - the highest throughput of decoy's generator beside wrk's.
#
# One nginx (from apt, its own prefix in a temp dir, 1 worker, pinned to
# SERVER_CPU) answers every request with `return 200` and a 1 KiB JSON body.
# Against it, one after the other, each pinned to GEN_CPU:
#   decoy replay SNAP --target URL --closed --connections C --duration D
#   wrk -t1 -cC -dD URL
# where SNAP holds one inbound GET / whose recorded response is nginx's body,
# so decoy also compares every answer (status and exact body) while it
# measures.  Prints the req/s of both and decoy/wrk (goal: >= 1.0x), and the
# regressions decoy found (expected 0).
#
# Environment (all optional):
#   DECOY       decoy binary (default: ./decoy of the build tree, else of the
#               source tree); missing -> message and exit 2
#   CONNS       connections (64)    DURATION  seconds (10)
#   REPEATS     runs of each, the best is kept (1)
#   SERVER_CPU  (0)    GEN_CPU (1)    PORT (18480)
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/lib.sh"
DECOY=${DECOY:-}
if [ -z "$DECOY" ]; then
	if [ -x "$PWD/decoy" ]; then DECOY=$PWD/decoy; else DECOY=$top/decoy; fi
fi
CONNS=${CONNS:-64}
DURATION=${DURATION:-10}
REPEATS=${REPEATS:-1}
SERVER_CPU=${SERVER_CPU:-0}
GEN_CPU=${GEN_CPU:-1}
PORT=${PORT:-18480}

for tool in nginx wrk taskset jq; do
	command -v "$tool" >/dev/null || {
		echo "replay-vs-wrk: $tool is needed (apt-get install $tool)" >&2
		exit 2
	}
done
"$DECOY" replay --help >/dev/null 2>&1 || {
	echo "replay-vs-wrk: $DECOY has no replay command" >&2
	exit 2
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/decoy-bench-replay.XXXXXX")
nginx_pid=
cleanup() {
	[ -n "$nginx_pid" ] && kill -TERM "$nginx_pid" 2>/dev/null
	[ -n "$nginx_pid" ] && wait "$nginx_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A 1 KiB JSON body: {"items":[...],"pad":"xxx..."} cut to exactly 1024.
body=$(awk 'BEGIN {
	s = "{\"id\":\"o-42\",\"status\":\"paid\",\"items\":["
	for (i = 0; i < 8; i++)
		s = s sprintf("%s{\"sku\":\"sku-%04d\",\"qty\":%d,\"price\":%d}",
		    i ? "," : "", 1000 + i, i + 1, 990 + i * 10)
	s = s "],\"pad\":\""
	while (length(s) < 1024 - 2) s = s "x"
	printf "%s\"}", s }')
[ ${#body} -eq 1024 ] || { echo "replay-vs-wrk: body is ${#body} bytes" >&2; exit 1; }

bench_nginx_conf "$tmp/nginx" "$PORT" "$body"
taskset -c "$SERVER_CPU" nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" \
    >"$tmp/nginx/logs/stdout.log" 2>&1 &
nginx_pid=$!
for ((i = 0; i < 250; i++)); do
	curl -s -o /dev/null "http://127.0.0.1:$PORT/" 2>/dev/null && break
	kill -0 "$nginx_pid" 2>/dev/null || break
	sleep 0.02
done
got=$(curl -s "http://127.0.0.1:$PORT/") || true
[ "$got" = "$body" ] || {
	echo "replay-vs-wrk: nginx did not come up; its log:" >&2
	cat "$tmp/nginx/logs/"*.log >&2
	exit 1
}

# The snapshot: one inbound GET / recorded with nginx's answer.
jq -cn --arg body "$body" '{v:1, id:"i-1", dir:"in",
    req:{method:"GET", target:"/", headers:[["Accept","application/json"]]},
    res:{status:200, headers:[["Content-Type","application/json"]],
    body:$body}}' >"$tmp/snap.jsonl"

best_decoy=0 best_wrk=0 regressions=
for ((r = 1; r <= REPEATS; r++)); do
	taskset -c "$GEN_CPU" "$DECOY" replay "$tmp/snap.jsonl" \
	    --target "http://127.0.0.1:$PORT" --closed \
	    --connections "$CONNS" --duration "${DURATION}s" \
	    --report "$tmp/decoy-$r.json" >"$tmp/decoy-$r.out" 2>&1 || {
		echo "replay-vs-wrk: decoy replay failed:" >&2
		cat "$tmp/decoy-$r.out" >&2
		exit 1
	}
	d=$(jq -r '.totals.summary.throughput' "$tmp/decoy-$r.json")
	regressions=$(jq -r '"\(.totals.regressions)/\(.totals.compared)"' \
	    "$tmp/decoy-$r.json")
	errors=$(jq -r '[.totals.errors[]] | add' "$tmp/decoy-$r.json")
	taskset -c "$GEN_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" \
	    "http://127.0.0.1:$PORT/" >"$tmp/wrk-$r.out" 2>&1
	w=$(awk '/^Requests\/sec:/ { print $2 }' "$tmp/wrk-$r.out")
	printf 'run %d: decoy %.0f req/s (regressions %s, errors %s), wrk %.0f req/s\n' \
	    "$r" "$d" "$regressions" "$errors" "${w:-0}"
	best_decoy=$(awk -v a="$best_decoy" -v b="$d" 'BEGIN { print (b > a ? b : a) }')
	best_wrk=$(awk -v a="$best_wrk" -v b="${w:-0}" 'BEGIN { print (b > a ? b : a) }')
done

echo "replay-vs-wrk: nginx 1 worker on CPU $SERVER_CPU, generators on CPU" \
    "$GEN_CPU, $CONNS connections, ${DURATION}s, 1 KiB JSON body"
awk -v d="$best_decoy" -v w="$best_wrk" 'BEGIN {
	printf "  decoy replay --closed  %10.0f req/s\n", d
	printf "  wrk -t1                %10.0f req/s\n", w
	printf "  decoy / wrk            %10.2fx (goal >= 1.00x)\n", (w > 0 ? d / w : 0) }'
