#!/usr/bin/env bash
# tap-throughput.sh - what passive capture (`decoy record --nfqueue`) costs
# the traffic it watches, and whether it keeps up.
#
# Two network namespaces joined by a veth pair (made here, removed on
# exit): the server namespace runs `decoy respond --workers 1` on a
# one-transaction snapshot (GET /small, a 64-byte body) pinned to
# SERVER_CPU; the client namespace runs wrk -t1 -c$CONNS pinned to
# WRK_CPU.  Side by side, REPEATS rounds of DURATION s each, alternating:
#   direct   no iptables rule;
#   queue    the client namespace's port-8080 traffic (OUTPUT --dport and
#            INPUT --sport) queued to tests/tools/nfq-reorder 0, a plain
#            accept-all program (one verdict per packet, no batching);
#   tap      the same rules, queued to `decoy record --nfqueue` (batched
#            receives, one batch verdict per receive, GSO), recording.
# Odd rounds run direct, queue, tap; even rounds tap, queue, direct.  It
# prints each round's req/s and ratios to direct (the three runs of a round
# are adjacent, so these ratios suffer least from the load of a shared
# machine), the median req/s of each and the median of the per-round
# ratios (target: tap >= 0.5x direct), and checks that the tap
# recorded every request wrk completed (wrk's count vs the snapshot's
# lines; wrk's connections may leave a few requests in flight when it
# stops, so up to CONNS fewer is tolerated and reported).
#
# Then completeness at a fixed rate: `decoy replay --rate RATE/s
# --duration RATE_SECONDS s --loop` (the generator, open model) through
# the tap; it prints requests sent (replay's report) against transactions
# recorded, and the tap's gap and ENOBUFS counters.
#
# Environment (all optional): DECOY (default <repo>/decoy)
#   BENCH_DIR=/tmp/bench  DIR=$BENCH_DIR/tap-throughput  DURATION=10
#   REPEATS=3  CONNS=32  SERVER_CPU=0  WRK_CPU=1  RATE=20000
#   RATE_SECONDS=5  QUEUE=3100
# Needs root, ip, iptables (NFQUEUE), wrk, jq.  Takes about
# REPEATS * 3 * (DURATION + 2) + RATE_SECONDS + 10 s.
#
# Exit status: 0 ok; 1 a step failed; 2 a tool or binary is missing.

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=${srcdir:-$(cd "$HERE/.." && pwd)}
builddir=${builddir:-$srcdir}
DECOY=${DECOY:-$builddir/decoy}
REORDER=${REORDER:-$builddir/tests/tools/nfq-reorder}
BENCH_DIR=${BENCH_DIR:-/tmp/bench}
DIR=${DIR:-$BENCH_DIR/tap-throughput}
DURATION=${DURATION:-10}
REPEATS=${REPEATS:-3}
CONNS=${CONNS:-32}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}
RATE=${RATE:-20000}
RATE_SECONDS=${RATE_SECONDS:-5}
QUEUE=${QUEUE:-3100}

die() { echo "tap-throughput: $*" >&2; exit "${2:-1}"; }
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, iptables)" 2
for t in ip iptables wrk jq taskset; do
	command -v "$t" >/dev/null || die "$t is not installed" 2
done
[ -x "$DECOY" ] || die "$DECOY is not built" 2
[ -x "$REORDER" ] || die "$REORDER is not built (make check builds it)" 2

mkdir -p "$DIR"
NC=dcy-bc-$$
NS=dcy-bs-$$
X=$(( $$ % 250 + 1 ))
IPC=10.79.$X.1
IPS=10.79.$X.2
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	ip netns del "$NC" 2>/dev/null
	ip netns del "$NS" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ip netns add "$NC" && ip netns add "$NS" || die "cannot create namespaces"
ip link add "bc$$" netns "$NC" type veth peer name "bs$$" netns "$NS" ||
    die "cannot create a veth pair"
ip -n "$NC" addr add "$IPC/24" dev "bc$$"
ip -n "$NS" addr add "$IPS/24" dev "bs$$"
for n in "$NC" "$NS"; do ip -n "$n" link set lo up; done
ip -n "$NC" link set "bc$$" up
ip -n "$NS" link set "bs$$" up

printf '{"v":1,"dir":"out","req":{"method":"GET","target":"/small","host":"svc"},"res":{"status":200,"headers":[["Content-Type","text/plain"]],"body":"%s"}}\n' \
    "$(printf 'b%.0s' $(seq 1 64))" >"$DIR/out.jsonl"
sed 's/"dir":"out"/"dir":"in"/' "$DIR/out.jsonl" >"$DIR/in.jsonl"
rm -f "$DIR/respond.port"
ip netns exec "$NS" taskset -c "$SERVER_CPU" "$DECOY" respond "$DIR/out.jsonl" \
    --listen "$IPS:8080" --workers 1 --port-file "$DIR/respond.port" -q \
    >"$DIR/respond.log" 2>&1 &
PIDS+=($!)
for ((i = 0; i < 500; i++)); do [ -s "$DIR/respond.port" ] && break; sleep 0.02; done
[ -s "$DIR/respond.port" ] || die "decoy respond did not start"

rules() {	# -A|-D
	ip netns exec "$NC" iptables "$1" OUTPUT -p tcp --dport 8080 \
	    -j NFQUEUE --queue-num "$QUEUE" --queue-bypass
	ip netns exec "$NC" iptables "$1" INPUT -p tcp --sport 8080 \
	    -j NFQUEUE --queue-num "$QUEUE" --queue-bypass
}

# start_ready CMD...: starts a queue program in the client namespace with
# --ready-file/--ready $DIR/ready and waits for it; sets QPID.
start_ready() {
	rm -f "$DIR/ready"
	ip netns exec "$NC" "$@" >>"$DIR/queue.log" 2>&1 &
	QPID=$!
	for ((i = 0; i < 500; i++)); do [ -s "$DIR/ready" ] && return 0; sleep 0.02; done
	die "queue program did not bind: $*"
}
stop_q() { kill -TERM "$QPID"; wait "$QPID"; }

# run_wrk: one wrk run; prints "req/s requests".
run_wrk() {
	ip netns exec "$NC" taskset -c "$WRK_CPU" wrk -t1 -c"$CONNS" \
	    -d"${DURATION}s" "http://$IPS:8080/small" >"$DIR/wrk.out" 2>&1 ||
	    die "wrk failed: $(cat "$DIR/wrk.out")"
	awk '/Requests\/sec/ { r = $2 } / requests in / { n = $1 }
	    END { print r, n }' "$DIR/wrk.out"
}

declare -a R_direct R_queue R_tap Q_ratio T_ratio TQ_ratio
missing_max=0

run_direct() { read -r r _ < <(run_wrk); R_direct+=("$r"); }
run_queue() {
	rules -A
	start_ready "$REORDER" "$QUEUE" 0 --ready "$DIR/ready"
	read -r r _ < <(run_wrk)
	R_queue+=("$r")
	stop_q
	rules -D
}
run_tap() {
	rm -f "$DIR/tap.jsonl"
	rules -A
	start_ready "$DECOY" record --nfqueue "$QUEUE" -o "$DIR/tap.jsonl" \
	    --port 8080 -q --stats "$DIR/tap-stats.json" \
	    --ready-file "$DIR/ready"
	read -r r n < <(run_wrk)
	R_tap+=("$r")
	stop_q
	rules -D
	got=$(wc -l <"$DIR/tap.jsonl")
	miss=$(( n - got ))
	(( miss > missing_max )) && missing_max=$miss
	TAP_NOTE="tap recorded $got, wrk completed $n (gaps $(jq .gap_transactions "$DIR/tap-stats.json"), enobufs $(jq .enobufs "$DIR/tap-stats.json"))"
}

echo "tap-throughput: $(uptime)"
for ((rep = 1; rep <= REPEATS; rep++)); do
	# Odd rounds direct, queue, tap; even rounds the other way round, so
	# drift on a shared machine hits all three alike.
	if (( rep % 2 )); then run_direct; run_queue; run_tap
	else run_tap; run_queue; run_direct; fi
	Q_ratio+=("$(awk -v a="${R_queue[-1]}" -v b="${R_direct[-1]}" 'BEGIN{printf "%.3f", a/b}')")
	T_ratio+=("$(awk -v a="${R_tap[-1]}" -v b="${R_direct[-1]}" 'BEGIN{printf "%.3f", a/b}')")
	TQ_ratio+=("$(awk -v a="${R_tap[-1]}" -v b="${R_queue[-1]}" 'BEGIN{printf "%.3f", a/b}')")
	printf 'round %d: direct %s  queue %s (%sx)  tap %s (%sx) req/s; %s\n' \
	    "$rep" "${R_direct[-1]}" "${R_queue[-1]}" "${Q_ratio[-1]}" \
	    "${R_tap[-1]}" "${T_ratio[-1]}" "$TAP_NOTE"
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
md=$(median "${R_direct[@]}")
mq=$(median "${R_queue[@]}")
mt=$(median "${R_tap[@]}")
printf '\nmedian req/s (wrk -t1 -c%s, %ss, %s rounds):\n' "$CONNS" "$DURATION" "$REPEATS"
printf '  direct %10.0f\n  queue  %10.0f  median of per-round ratios %sx direct (plain accept-all program)\n  tap    %10.0f  median of per-round ratios %sx direct (target >= 0.5x)\n' \
    "$md" "$mq" "$(median "${Q_ratio[@]}")" "$mt" "$(median "${T_ratio[@]}")"
printf '  tap vs the plain queue program: median of per-round ratios %sx (what parsing and recording cost beyond the queue itself)\n' \
    "$(median "${TQ_ratio[@]}")"
printf '  tap completeness: at most %s requests not recorded in a round (wrk in-flight at stop: up to %s)\n' \
    "$missing_max" "$CONNS"

# Completeness at a fixed rate.
rules -A
rm -f "$DIR/rate.jsonl"
start_ready "$DECOY" record --nfqueue "$QUEUE" -o "$DIR/rate.jsonl" \
    --port 8080 -q --stats "$DIR/rate-stats.json" --ready-file "$DIR/ready"
ip netns exec "$NC" taskset -c "$WRK_CPU" "$DECOY" replay "$DIR/in.jsonl" \
    --target "http://$IPS:8080" --rate "$RATE/s" --loop \
    --duration "${RATE_SECONDS}s" --connections "$CONNS" \
    --report "$DIR/rate-report.json" >"$DIR/replay.out" 2>&1 ||
    echo "tap-throughput: decoy replay exited $? (see $DIR/replay.out)"
stop_q
rules -D
sent=$(jq '.totals.count' "$DIR/rate-report.json" 2>/dev/null)
sched=$(jq '.scheduled' "$DIR/rate-report.json" 2>/dev/null)
gdrop=$(jq '.dropped' "$DIR/rate-report.json" 2>/dev/null)
tput=$(jq '.totals.summary.throughput | floor' "$DIR/rate-report.json" 2>/dev/null)
got=$(wc -l <"$DIR/rate.jsonl")
printf '\ncompleteness at %s req/s for %ss: replay scheduled %s, sent and answered %s (%s req/s; %s not sent: generator behind), tap recorded %s (gaps %s, enobufs %s, kernel drops %s)\n' \
    "$RATE" "$RATE_SECONDS" "$sched" "$sent" "$tput" "$gdrop" "$got" \
    "$(jq .gap_transactions "$DIR/rate-stats.json")" \
    "$(jq .enobufs "$DIR/rate-stats.json")" \
    "$(jq '.kernel_dropped + .kernel_user_dropped' "$DIR/rate-stats.json")"
echo "tap-throughput: $(uptime)"
