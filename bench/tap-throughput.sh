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
#   tap      the same rules, queued to `decoy record --nfqueue` as it
#            runs by default (batched receives, one batch verdict per
#            receive, GSO, a capture thread that never waits for the
#            parser and polls the queue for 10 us before it sleeps),
#            recording;
#   tap-nbp  the same with --busy-poll 0 (the capture thread sleeps as
#            soon as the queue is empty);
#   tap2     the same as tap over two queues: --queue-balance Q:Q+1
#            --queue-cpu-fanout and `decoy record --nfqueue Q:Q+1` (one
#            capture thread per queue), recording.
# Odd rounds run them in this order, even rounds in the reverse order.  It
# prints each round's req/s and ratios to direct (the runs of a round are
# adjacent, so these ratios suffer least from the load of a shared
# machine), the median req/s of each and the median of the per-round
# ratios (target: tap >= 0.5x direct), and checks that the taps recorded
# every request wrk completed (wrk's count vs the snapshot's lines; wrk's
# connections may leave a few requests in flight when it stops, so up to
# CONNS fewer is tolerated and reported).
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
#   CONFIGS="direct queue tap tap-nbp tap2" (direct is always run)
# Needs root, ip, iptables (NFQUEUE), wrk, jq.  Takes about
# REPEATS * 5 * (DURATION + 2) + 2 * RATE_SECONDS + 20 s.
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
CONFIGS=${CONFIGS:-direct queue tap tap-nbp tap2}

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

rules() {	# -A|-D [NFQUEUE target options]
	local op=$1
	shift
	(( $# )) || set -- --queue-num "$QUEUE"
	ip netns exec "$NC" iptables "$op" OUTPUT -p tcp --dport 8080 \
	    -j NFQUEUE "$@" --queue-bypass
	ip netns exec "$NC" iptables "$op" INPUT -p tcp --sport 8080 \
	    -j NFQUEUE "$@" --queue-bypass
}
BALANCE=(--queue-balance "$QUEUE:$((QUEUE + 1))" --queue-cpu-fanout)

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

declare -A R RATIO NOTE
missing_max=0
read -r -a CFG <<<"$CONFIGS"
[[ " $CONFIGS " == *" direct "* ]] || CFG=(direct "${CFG[@]}")

# tap_round QUEUES [decoy options] -- RULE-OPTIONS...: one wrk run through
# `decoy record --nfqueue QUEUES`; sets r (req/s) and TAP_NOTE.
tap_round() {
	local queues=$1 opts=()
	shift
	while (( $# )) && [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	rm -f "$DIR/tap.jsonl"
	rules -A "$@"
	start_ready "$DECOY" record --nfqueue "$queues" -o "$DIR/tap.jsonl" \
	    --port 8080 -q --stats "$DIR/tap-stats.json" \
	    --ready-file "$DIR/ready" "${opts[@]}"
	read -r r n < <(run_wrk)
	stop_q
	rules -D "$@"
	got=$(wc -l <"$DIR/tap.jsonl")
	miss=$(( n - got ))
	(( miss > missing_max )) && missing_max=$miss
	TAP_NOTE="recorded $got of $n, gaps $(jq .gap_transactions "$DIR/tap-stats.json")"
}

# run CONFIG: one measurement; appends its req/s to R[CONFIG].
run() {
	local q2=("$QUEUE:$((QUEUE + 1))")
	TAP_NOTE=
	case $1 in
	direct)	read -r r _ < <(run_wrk) ;;
	queue)	rules -A
		start_ready "$REORDER" "$QUEUE" 0 --ready "$DIR/ready"
		read -r r _ < <(run_wrk)
		stop_q
		rules -D ;;
	tap)	tap_round "$QUEUE" -- ;;
	tap-nbp) tap_round "$QUEUE" --busy-poll 0 -- ;;
	tap2)	tap_round "${q2[0]}" -- "${BALANCE[@]}" ;;
	*)	die "unknown configuration $1" 2 ;;
	esac
	R[$1]+="$r "
	NOTE[$1]=$TAP_NOTE
}

echo "tap-throughput: $(uptime)"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", a/b}'; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
last() { local a=($1); echo "${a[-1]}"; }
for ((rep = 1; rep <= REPEATS; rep++)); do
	# Odd rounds in order, even rounds reversed, so drift on a shared
	# machine hits all alike.
	order=("${CFG[@]}")
	if (( rep % 2 == 0 )); then
		order=()
		for ((i = ${#CFG[@]} - 1; i >= 0; i--)); do order+=("${CFG[i]}"); done
	fi
	for c in "${order[@]}"; do run "$c"; done
	d=$(last "${R[direct]}")
	line="round $rep: direct $d"
	for c in "${CFG[@]}"; do
		[ "$c" = direct ] && continue
		v=$(last "${R[$c]}")
		RATIO[$c]+="$(ratio "$v" "$d") "
		line+="  $c $v ($(last "${RATIO[$c]}")x${NOTE[$c]:+; ${NOTE[$c]}})"
	done
	echo "$line req/s"
done

printf '\nmedian req/s (wrk -t1 -c%s, %ss, %s rounds) and median of the per-round ratios to direct:\n' \
    "$CONNS" "$DURATION" "$REPEATS"
printf '  %-8s %10.0f\n' direct "$(median ${R[direct]})"
for c in "${CFG[@]}"; do
	case $c in
	direct)	continue ;;
	queue)	what="a plain accept-all program, one queue, one verdict per packet" ;;
	tap)	what="one queue, defaults (target >= 0.5x)" ;;
	tap-nbp) what="one queue, --busy-poll 0" ;;
	tap2)	what="two queues, --queue-balance --queue-cpu-fanout" ;;
	esac
	printf '  %-8s %10.0f  %sx  (%s)\n' "$c" "$(median ${R[$c]})" \
	    "$(median ${RATIO[$c]})" "$what"
done
printf '  tap completeness: at most %s requests not recorded in a round (wrk in-flight at stop: up to %s)\n' \
    "$missing_max" "$CONNS"

# Completeness at a fixed rate, and what the tap costs in CPU there, with
# its defaults and with --busy-poll 0.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
rate_round() {	# [decoy options]
	rules -A
	rm -f "$DIR/rate.jsonl"
	start_ready "$DECOY" record --nfqueue "$QUEUE" -o "$DIR/rate.jsonl" \
	    --port 8080 -q --stats "$DIR/rate-stats.json" \
	    --ready-file "$DIR/ready" "$@"
	t0=$(ticks "$QPID")
	ip netns exec "$NC" taskset -c "$WRK_CPU" "$DECOY" replay \
	    "$DIR/in.jsonl" --target "http://$IPS:8080" --rate "$RATE/s" --loop \
	    --duration "${RATE_SECONDS}s" --connections "$CONNS" \
	    --report "$DIR/rate-report.json" >"$DIR/replay.out" 2>&1 ||
	    echo "tap-throughput: decoy replay exited $? (see $DIR/replay.out)"
	t1=$(ticks "$QPID")
	stop_q
	rules -D
	sent=$(jq '.totals.count' "$DIR/rate-report.json" 2>/dev/null)
	sched=$(jq '.scheduled' "$DIR/rate-report.json" 2>/dev/null)
	gdrop=$(jq '.dropped' "$DIR/rate-report.json" 2>/dev/null)
	tput=$(jq '.totals.summary.throughput | floor' "$DIR/rate-report.json" 2>/dev/null)
	p50=$(jq '.totals.summary.p50_us' "$DIR/rate-report.json" 2>/dev/null)
	got=$(wc -l <"$DIR/rate.jsonl")
	printf '\ncompleteness at %s req/s for %ss (tap %s): replay scheduled %s, sent and answered %s (%s req/s, p50 %s us; %s not sent: generator behind), tap recorded %s (gaps %s, enobufs %s, kernel drops %s); tap CPU %s%% of a core\n' \
	    "$RATE" "$RATE_SECONDS" "${*:-defaults}" "$sched" "$sent" "$tput" \
	    "$p50" "$gdrop" "$got" \
	    "$(jq .gap_transactions "$DIR/rate-stats.json")" \
	    "$(jq .enobufs "$DIR/rate-stats.json")" \
	    "$(jq '.kernel_dropped + .kernel_user_dropped' "$DIR/rate-stats.json")" \
	    "$(awk -v t=$((t1 - t0)) -v hz="$hz" -v s="$RATE_SECONDS" 'BEGIN { printf "%.0f", 100 * t / hz / s }')"
}
rate_round
rate_round --busy-poll 0
echo "tap-throughput: $(uptime)"
