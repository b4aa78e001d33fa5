#!/usr/bin/env bash
# analyze.sh - `decoy analyze` on a large snapshot: wall time and peak RSS.
#
# 1. bench/analyze-gen (built by `make bench`, or `make bench/analyze-gen`)
#    writes a snapshot of $N transactions (default 1,000,000): a bank-like
#    service in sessions of about ten (login JWTs carried in Authorization,
#    client clock headers, server-issued transfer ids read back) and its
#    two dependencies (a token service answering JWTs, a ledger given
#    idempotency keys, nonces and epoch-ms times).  Every volatile value is
#    new per transaction.  The file is kept for the next run (KEEP=0
#    deletes it).
# 2. Runs `decoy analyze SNAP -o OUT` RUNS times (default 3) under
#    /usr/bin/time -v (pinned to CPUS with taskset when set: the analysis
#    reads and decodes in a second thread, so give it two), and prints
#    each run's wall seconds and maximum resident set size, the medians,
#    and the RSS / file size ratio, against the targets: <= 10 s and
#    <= 1.5x the file size.
# 3. Checks the result is the one the generator implies (the login token
#    and transfer id correlations, the ledger's any entries).
#
# A build configured with --enable-debug runs at -O0: the script says so;
# measure a default (-O2) build.
#
# Environment: DECOY (default <builddir>/decoy)  GEN (default
#   <builddir>/bench/analyze-gen)  N=1000000  RUNS=3  CPUS= (e.g. 0,1)
#   DIR=/tmp/bench/analyze  KEEP=1  STRICT=0 (1: exit 3 when a target is
#   missed)
#
# Exit status: 0 ok; 1 a run failed or the result is wrong; 2 missing
# tool or binary; 3 a target missed (STRICT=1 only).

set -uo pipefail

builddir=${top_builddir:-$(pwd)}
DECOY=${DECOY:-$builddir/decoy}
GEN=${GEN:-$builddir/bench/analyze-gen}
N=${N:-1000000}
RUNS=${RUNS:-3}
CPUS=${CPUS:-}
DIR=${DIR:-${BENCH_DIR:-/tmp/bench}/analyze}
KEEP=${KEEP:-1}
STRICT=${STRICT:-0}

die() { printf 'analyze.sh: %s\n' "$*" >&2; exit "${2:-2}"; }

[ -x "$DECOY" ] || die "$DECOY not built (make, or set DECOY=)"
[ -x "$GEN" ] || die "$GEN not built (make bench/analyze-gen)"
[ -x /usr/bin/time ] || die "/usr/bin/time not found (apt-get install time)"
PIN=
if [ -n "$CPUS" ] && command -v taskset >/dev/null 2>&1; then
	PIN="taskset -c $CPUS"
fi
if [ -f "$(dirname "$DECOY")/Makefile" ] && grep -q -- '^DECOY_CFLAGS = .*-O0' \
    "$(dirname "$DECOY")/Makefile"; then
	echo "analyze.sh: note: $DECOY is a --enable-debug build (-O0);" \
	    "the targets are for a default build"
fi

mkdir -p "$DIR" || die "cannot create $DIR"
SNAP=$DIR/snapshot-$N.jsonl
OUT=$DIR/snapshot-$N.transforms.yaml
if [ ! -s "$SNAP" ]; then
	echo "analyze.sh: writing $N transactions to $SNAP"
	"$GEN" "$N" >"$SNAP.tmp" && mv "$SNAP.tmp" "$SNAP" ||
	    die "analyze-gen failed" 1
fi
size=$(stat -c %s "$SNAP")
printf 'analyze.sh: %s: %d transactions, %.1f MiB\n' "$SNAP" "$N" \
    "$(echo "$size / 1048576" | bc -l)"

secs=()
cpus=()
rss=()
status=0
for i in $(seq 1 "$RUNS"); do
	# shellcheck disable=SC2086
	$PIN /usr/bin/time -v "$DECOY" analyze "$SNAP" -o "$OUT" \
	    >"$DIR/run.out" 2>"$DIR/run.err" || {
		cat "$DIR/run.err" >&2
		die "decoy analyze failed" 1
	}
	wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' \
	    "$DIR/run.err" | awk -F: '{ s = 0; for (i = 1; i <= NF; i++)
	    s = s * 60 + $i; printf "%.2f", s }')
	kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$DIR/run.err")
	cpu=$(awk -F': ' '/User time|System time/ { s += $2 } END {
	    printf "%.2f", s }' "$DIR/run.err")
	secs+=("$wall")
	cpus+=("$cpu")
	rss+=("$kb")
	printf 'analyze.sh: run %d: %s s wall, %s s CPU, peak RSS %.1f MiB\n' \
	    "$i" "$wall" "$cpu" "$(echo "$kb / 1024" | bc -l)"
done
med_s=$(printf '%s\n' "${secs[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
med_cpu=$(printf '%s\n' "${cpus[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
med_kb=$(printf '%s\n' "${rss[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
ratio=$(echo "$med_kb * 1024 / $size" | bc -l)
printf 'analyze.sh: median of %d: %s s wall (target <= 10; %s s CPU), peak RSS %.1f MiB = %.3fx the file (target <= 1.5)\n' \
    "$RUNS" "$med_s" "$med_cpu" "$(echo "$med_kb / 1024" | bc -l)" "$ratio"
grep 'decoy analyze:' "$DIR/run.err"

# The result: what the generator put there.
for want in 'where: "res.body $.token"' 'where: "res.body $.id"' \
    'where: "req.body $.nonce"' 'where: "req.body $.idempotency_key"' \
    'action: echo'; do
	grep -qF "$want" "$OUT" || {
		echo "analyze.sh: $OUT lacks $want" >&2
		status=1
	}
done

if [ "$STRICT" = 1 ] && { awk -v s="$med_s" 'BEGIN { exit !(s > 10) }' ||
    awk -v r="$ratio" 'BEGIN { exit !(r > 1.5) }'; }; then
	status=3
fi
[ "$KEEP" = 1 ] || rm -f "$SNAP"
rm -f "$DIR/run.out" "$DIR/run.err"
exit $status
