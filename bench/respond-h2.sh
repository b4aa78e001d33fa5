#!/usr/bin/env bash
# respond-h2.sh - decoy's responder over HTTP/2 beside nghttpd and h2o
# (`make bench`), with h2load as the load tool.
#
# The three serve the same body (BODY_BYTES, default 1 KiB) at /body.json
# over cleartext h2 (prior knowledge), each pinned to SERVER_CPU with one
# thread (decoy respond --workers 1, nghttpd -n 1, h2o num-threads: 1);
# h2load runs on LOAD_CPU (-t 1 -c CONNS -m STREAMS, DURATION s after a
# WARMUP s warm-up).  The servers are measured in turn, the order rotated
# each of RUNS rounds so drift hits all alike; each round prints the
# req/s of each and decoy's ratio to the better of the two peers, and the
# end the medians.  Target: decoy >= 1.0x the better peer.  Bodies are
# checked byte for byte (curl --http2-prior-knowledge) before measuring.
#
# A build configured with --enable-debug runs at -O0: the script says so;
# measure a default (-O2) build.
#
# Environment: DECOY (default ./decoy)  BODY_BYTES=1024  CONNS=64
#   STREAMS=10  DURATION=10  WARMUP=2  RUNS=3  SERVER_CPU=0  LOAD_CPU=1
#   DIR=$BENCH_DIR/respond-h2  STRICT=0 (1: exit 3 when the target is missed)
#
# Exit status: 0 ok; 1 a server failed or served the wrong body; 2 a tool
# or binary is missing; 3 the target missed (STRICT=1 only).

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/lib.sh"

BODY_BYTES=${BODY_BYTES:-1024}
CONNS=${CONNS:-64}
STREAMS=${STREAMS:-10}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
RUNS=${RUNS:-3}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
DIR=${DIR:-$BENCH_DIR/respond-h2}
STRICT=${STRICT:-0}

bench_need h2load nghttpd h2o curl taskset
bench_find_decoy
if [ -f "$(dirname "$DECOY")/Makefile" ] && grep -q -- '^DECOY_CFLAGS = .*-O0' \
    "$(dirname "$DECOY")/Makefile"; then
	log "respond-h2.sh: note: $DECOY is a --enable-debug build (-O0);" \
	    "the target is for a default build"
fi
bench_lock
trap stop_all EXIT

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_port() {	# PORT PID
	local i
	for ((i = 0; i < 100; i++)); do
		port_open "$1" && return 0
		alive "$2" || return 1
		sleep 0.1
	done
	return 1
}

rm -rf "$DIR"
mkdir -p "$DIR/www" || die "cannot create $DIR"
head -c $((BODY_BYTES * 3)) /dev/urandom | base64 -w0 | head -c "$BODY_BYTES" \
    >"$DIR/www/body.json"
chmod -R a+rX "$DIR"
P_DECOY=$(free_port) P_NGHTTPD=$(free_port) P_H2O=$(free_port)
printf '{"v":1,"id":"t-1","dir":"out","req":{"method":"GET","target":"/body.json","host":"127.0.0.1:%s"},"res":{"status":200,"reason":"OK","headers":[["Content-Type","application/json"]],"body":"%s"}}\n' \
    "$P_DECOY" "$(cat "$DIR/www/body.json")" >"$DIR/snap.jsonl"
cat >"$DIR/h2o.conf" <<EOF
listen:
  host: 127.0.0.1
  port: $P_H2O
num-threads: 1
user: nobody
hosts:
  "default":
    paths:
      /:
        file.dir: $DIR/www
EOF

taskset -c "$SERVER_CPU" "$DECOY" respond "$DIR/snap.jsonl" \
    --listen "127.0.0.1:$P_DECOY" --workers 1 --quiet \
    >"$DIR/decoy.log" 2>&1 &
STARTED+=($!)
wait_port "$P_DECOY" $! || fail "decoy did not start (see $DIR/decoy.log)"
taskset -c "$SERVER_CPU" nghttpd --no-tls -n 1 -d "$DIR/www" "$P_NGHTTPD" \
    >"$DIR/nghttpd.log" 2>&1 &
STARTED+=($!)
wait_port "$P_NGHTTPD" $! || fail "nghttpd did not start"
taskset -c "$SERVER_CPU" h2o -c "$DIR/h2o.conf" >"$DIR/h2o.log" 2>&1 &
STARTED+=($!)
wait_port "$P_H2O" $! || fail "h2o did not start (see $DIR/h2o.log)"

declare -A PORT=([decoy]=$P_DECOY [nghttpd]=$P_NGHTTPD [h2o]=$P_H2O)
for s in decoy nghttpd h2o; do
	curl -s --max-time 5 --http2-prior-knowledge -o "$DIR/got-$s" \
	    "http://127.0.0.1:${PORT[$s]}/body.json" ||
	    fail "$s: curl --http2-prior-knowledge failed"
	cmp -s "$DIR/got-$s" "$DIR/www/body.json" || fail "$s: wrong body"
done

measure() {	# NAME -> req/s
	taskset -c "$LOAD_CPU" h2load -t 1 -c "$CONNS" -m "$STREAMS" \
	    -D "$DURATION" --warm-up-time "$WARMUP" \
	    "http://127.0.0.1:${PORT[$1]}/body.json" >"$DIR/h2load-$1.out" 2>&1
	awk '/^finished in/ { for (i = 1; i <= NF; i++) if ($(i + 1) ~ /^req\/s/) { sub(/,/, "", $i); print int($i) } }
	    /^requests:/ { if ($10 + 0 > 0 || $12 + 0 > 0) bad = 1 }
	    END { if (bad) print "errors" > "/dev/stderr" }' "$DIR/h2load-$1.out"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

printf '%s: %d B body, h2load -c %d -m %d, %d s x %d rounds; servers on CPU %s, h2load on CPU %s\n' \
    "$BENCH_NAME" "$BODY_BYTES" "$CONNS" "$STREAMS" "$DURATION" "$RUNS" \
    "$SERVER_CPU" "$LOAD_CPU"
printf '%-6s %10s %10s %10s %12s\n' round decoy nghttpd h2o "decoy/best"
ORDER=(decoy nghttpd h2o)
: >"$DIR/runs.tsv"
for ((r = 1; r <= RUNS; r++)); do
	declare -A RPS=()
	for s in "${ORDER[@]}"; do
		RPS[$s]=$(measure "$s")
		[ -n "${RPS[$s]}" ] || fail "$s: no h2load result (see $DIR/h2load-$s.out)"
	done
	best=$((RPS[nghttpd] > RPS[h2o] ? RPS[nghttpd] : RPS[h2o]))
	ratio=$(awk -v a="${RPS[decoy]}" -v b="$best" 'BEGIN { printf "%.2f", a / b }')
	printf '%-6s %10s %10s %10s %11sx\n' "$r" "${RPS[decoy]}" \
	    "${RPS[nghttpd]}" "${RPS[h2o]}" "$ratio"
	printf '%s\t%s\t%s\t%s\n' "${RPS[decoy]}" "${RPS[nghttpd]}" \
	    "${RPS[h2o]}" "$ratio" >>"$DIR/runs.tsv"
	ORDER=("${ORDER[@]:1}" "${ORDER[0]}")
done
md=$(cut -f1 "$DIR/runs.tsv" | median)
mn=$(cut -f2 "$DIR/runs.tsv" | median)
mh=$(cut -f3 "$DIR/runs.tsv" | median)
mr=$(cut -f4 "$DIR/runs.tsv" | median)
printf '%-6s %10s %10s %10s %11sx  (target >= 1.00x)\n' median "$md" "$mn" "$mh" "$mr"
if [ "$STRICT" = 1 ] && awk -v r="$mr" 'BEGIN { exit !(r < 1.0) }'; then
	exit 3
fi
exit 0
