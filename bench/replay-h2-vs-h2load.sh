#!/usr/bin/env bash
# replay-h2-vs-h2load.sh - decoy's generator over HTTP/2 beside h2load
# (nghttp2-client), the load tool of the nghttp2 project, against the same
# nghttpd (nghttp2-server) with prior knowledge.
#
# nghttpd (one worker, pinned to SERVER_CPU) serves a 1 KiB JSON file.
# Against it, alternating the order run by run, each pinned to GEN_CPU:
#   closed loop, the highest throughput at the same concurrency:
#     h2load -c C -m M -D D URL
#     decoy replay SNAP --target URL --http2 --closed -c C --streams M -d D
#   open loop, the same rate R (h2load: --rps R/C per client):
#     h2load -c C -m M --rps R/C -D D URL
#     decoy replay SNAP --target URL --http2 --rate R -c C --streams M -d D
# SNAP holds one GET of the file with its recorded answer, so decoy also
# compares every answer (status and exact body) while it measures.  Per
# run: req/s of both, the generator's CPU (user+sys) per request, and the
# ratios decoy/h2load; at the end the medians of the ratios.  decoy's
# errors and regressions must be 0 (else exit 1).
#
# Environment (all optional):
#   DECOY       decoy binary (default: ./decoy of the build tree, else of
#               the source tree): use a non-debug (-O2) build
#   CONNS (4)   STREAMS (16)   DURATION seconds (10)   RATE req/s (20000)
#   REPEATS     runs of each pair (3)
#   SERVER_CPU  (0)   GEN_CPU (1)
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"

CONNS=${CONNS:-4}
STREAMS=${STREAMS:-16}
DURATION=${DURATION:-10}
RATE=${RATE:-20000}
REPEATS=${REPEATS:-3}
SERVER_CPU=${SERVER_CPU:-0}
GEN_CPU=${GEN_CPU:-1}

bench_need nghttpd h2load taskset jq ss awk
bench_find_decoy
"$DECOY" replay --help 2>&1 | grep -q -- --http2 ||
    die "$DECOY has no replay --http2"
bench_lock

tmp=$(mktemp -d "${TMPDIR:-/tmp}/decoy-bench-h2.XXXXXX")
trap 'stop_all; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

mkdir "$tmp/www"
awk 'BEGIN { s = "{\"id\":\"o-42\",\"status\":\"paid\",\"pad\":\"";
	while (length(s) < 1022) s = s "x"; printf "%s\"}", s }' \
    >"$tmp/www/item.json"
jq -nc --rawfile body "$tmp/www/item.json" \
    '{v: 1, id: "t-1", dir: "in",
      req: {method: "GET", target: "/item.json", headers: []},
      res: {status: 200, headers: [], body: $body}}' >"$tmp/snap.jsonl"

taskset -c "$SERVER_CPU" nghttpd --no-tls -a 127.0.0.1 -n 1 \
    -d "$tmp/www" 0 >"$tmp/nghttpd.log" 2>&1 &
srv=$!
STARTED+=("$srv")
port=
for ((i = 0; i < 250; i++)); do
	port=$(ss -ltnpH 2>/dev/null | awk -v p="pid=$srv," \
	    'index($0, p) { n = split($4, a, ":"); print a[n]; exit }')
	[[ -n $port ]] && break
	alive "$srv" || die "nghttpd exited (see $tmp/nghttpd.log)"
	sleep 0.02
done
[[ -n $port ]] || die "nghttpd does not listen"
URL="http://127.0.0.1:$port"

# run_h2load ARGS...: "req/s cpu_s done" of one h2load run.
run_h2load() {
	local out cpu
	TIMEFORMAT='%U %S'
	cpu=$( { time taskset -c "$GEN_CPU" h2load "$@" "$URL/item.json" \
	    >"$tmp/h2load.out" 2>&1; } 2>&1 )
	out=$(awk '/^finished in/ { r = $4 }
	    /^requests:/ { d = $8 } END { print r + 0, d + 0 }' "$tmp/h2load.out")
	echo "$(cut -d' ' -f1 <<<"$out") $(awk '{ print $1 + $2 }' <<<"$cpu") $(cut -d' ' -f2 <<<"$out")"
}

# run_decoy ARGS...: "req/s cpu_s done bad" (bad: errors and
# regressions, which must be 0).
run_decoy() {
	local cpu
	TIMEFORMAT='%U %S'
	cpu=$( { time taskset -c "$GEN_CPU" "$DECOY" replay "$tmp/snap.jsonl" \
	    --target "$URL" --http2 -c "$CONNS" --streams "$STREAMS" \
	    -d "${DURATION}s" "$@" --report "$tmp/r.json" \
	    >"$tmp/decoy.out" 2>"$tmp/decoy.log"; } 2>&1 )
	jq -r --arg cpu "$(awk '{ print $1 + $2 }' <<<"$cpu")" \
	    '"\(.totals.count / (.duration_us / 1e6)) \($cpu) \(.totals.count) \(([.totals.errors[]] | add) + .totals.regressions)"' \
	    "$tmp/r.json" || echo "0 0 0 unknown"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

log "nghttpd on CPU $SERVER_CPU, generators on CPU $GEN_CPU; $CONNS connections x $STREAMS streams, ${DURATION}s runs, $REPEATS pairs"
printf '%-7s %3s  %12s %12s %6s  %12s %12s %6s\n' MODE RUN \
    "h2load r/s" "decoy r/s" ratio "h2load us/r" "decoy us/r" ratio
: >"$tmp/closed.ratios"; : >"$tmp/open.ratios"; : >"$tmp/closed.cpu"; : >"$tmp/open.cpu"
rps_per=$(( (RATE + CONNS - 1) / CONNS ))
for mode in closed open; do
	for ((r = 1; r <= REPEATS; r++)); do
		if [[ $mode == closed ]]; then
			hargs=(-c "$CONNS" -m "$STREAMS" -D "$DURATION")
			dargs=(--closed)
		else
			hargs=(-c "$CONNS" -m "$STREAMS" --rps "$rps_per" -D "$DURATION")
			dargs=(--rate "$RATE")
		fi
		# Alternate the order so drift hits both alike.
		if ((r % 2)); then
			h=$(run_h2load "${hargs[@]}"); d=$(run_decoy "${dargs[@]}")
		else
			d=$(run_decoy "${dargs[@]}"); h=$(run_h2load "${hargs[@]}")
		fi
		read -r hr hc hn <<<"$h"
		read -r dr dc dn bad <<<"$d"
		[[ $bad == 0 ]] ||
		    fail "decoy saw $bad errors or regressions (see $tmp/decoy.out)"
		hus=$(awk -v c="$hc" -v n="$hn" 'BEGIN { printf "%.2f", (n > 0 ? c * 1e6 / n : 0) }')
		dus=$(awk -v c="$dc" -v n="$dn" 'BEGIN { printf "%.2f", (n > 0 ? c * 1e6 / n : 0) }')
		printf '%-7s %3d  %12.0f %12.0f %6s  %12s %12s %6s\n' "$mode" "$r" \
		    "$hr" "$dr" "$(ratio "$dr" "$hr")" "$hus" "$dus" \
		    "$(ratio "$dus" "$hus")"
		ratio "$dr" "$hr" >>"$tmp/$mode.ratios"; echo >>"$tmp/$mode.ratios"
		ratio "$dus" "$hus" >>"$tmp/$mode.cpu"; echo >>"$tmp/$mode.cpu"
	done
done
for mode in closed open; do
	printf 'median %s: decoy/h2load req/s %s, CPU per request %s\n' "$mode" \
	    "$(median <"$tmp/$mode.ratios")" "$(median <"$tmp/$mode.cpu")"
done
