#!/usr/bin/env bash
# mutate.sh - mutants per second of the mutation engine on one core.
#
# Runs bench/mutate (built by `make bench`, or `make bench/mutate`): a
# corpus of one POST with a 1 KiB JSON body and one GET (built in), or the
# corpus directory given as $CORPUS; N mutants (default 2,000,000) from
# mut_next() into one reused buffer, then N/10 mut_mutate_buf() calls.
# Prints mutants/s, MB/s and the mean mutant size, and checks them against
# the target: at least 500,000 mutants/s for the 1 KiB JSON request.  The
# run is repeated with the same seed and the checksums compared
# (determinism).  Pinned to CPU $CPU (default 1) when taskset exists.
#
# Environment: MUTATE_BENCH (default <builddir>/bench/mutate)  N=2000000
#   SEED=1  CPU=1  CORPUS=  STRICT=0 (1: exit 3 when the target is missed)
#
# Exit status: 0 ok; 1 the two runs differ; 2 missing binary; 3 target
# missed (STRICT=1 only).

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
builddir=${top_builddir:-$(pwd)}
BIN=${MUTATE_BENCH:-$builddir/bench/mutate}
N=${N:-2000000}
SEED=${SEED:-1}
CPU=${CPU:-1}
CORPUS=${CORPUS:-}
STRICT=${STRICT:-0}

if [ ! -x "$BIN" ]; then
	BIN=$HERE/mutate
	if [ ! -x "$BIN" ]; then
		echo "mutate.sh: bench/mutate not built (make bench/mutate)" >&2
		exit 2
	fi
fi
pin=()
if command -v taskset >/dev/null 2>&1; then
	pin=(taskset -c "$CPU")
fi
args=(-n "$N" -s "$SEED")
[ -n "$CORPUS" ] && args+=("$CORPUS")

echo "== mutation engine: $N mutants, seed $SEED${CORPUS:+, corpus $CORPUS}"
out1=$("${pin[@]}" "$BIN" "${args[@]}") || exit 1
echo "$out1"
out2=$("${pin[@]}" "$BIN" "${args[@]}") || exit 1
sum1=$(echo "$out1" | sed -n 's/.*checksum \([0-9a-f]*\).*/\1/p')
sum2=$(echo "$out2" | sed -n 's/.*checksum \([0-9a-f]*\).*/\1/p')
if [ -z "$sum1" ] || [ "$sum1" != "$sum2" ]; then
	echo "mutate.sh: two runs with seed $SEED differ ($sum1 vs $sum2)" >&2
	exit 1
fi
echo "determinism: second run, same checksum $sum2"
rate=$(echo "$out1" | sed -n 's/^mut_next: .*: \([0-9]*\) mutants\/s.*/\1/p')
rate2=$(echo "$out2" | sed -n 's/^mut_next: .*: \([0-9]*\) mutants\/s.*/\1/p')
echo "mut_next: run 1 $rate mutants/s, run 2 $rate2 mutants/s (target >= 500000)"
if [ -z "$CORPUS" ] && [ "${rate:-0}" -lt 500000 ] && [ "${rate2:-0}" -lt 500000 ]; then
	echo "mutate.sh: below the 500,000 mutants/s target" >&2
	[ "$STRICT" = 1 ] && exit 3
fi
exit 0
