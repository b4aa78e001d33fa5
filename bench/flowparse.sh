#!/usr/bin/env bash
# flowparse.sh - per-transaction cost of the passive-capture parse path.
#
# Runs bench/flowparse (built by `make bench`, or `make bench/flowparse`)
# RUNS times (default 3) for the small GET and for the 1 KiB JSON POST,
# and prints each run and the median ns per transaction.  All runs of one
# traffic must print the same checksum (the snapshot bytes); a difference
# is a bug.  Pinned to CPU $CPU (default 1) when taskset exists.
#
# Environment: FLOWPARSE_BENCH (default <builddir>/bench/flowparse)
#   RUNS=3  CPU=1  ARGS= (extra flowparse options, e.g. "-c 256 -m 500")
#
# Exit status: 0 ok; 1 checksums differ or a run failed; 2 missing binary.

set -uo pipefail

builddir=${top_builddir:-$(pwd)}
BIN=${FLOWPARSE_BENCH:-$builddir/bench/flowparse}
RUNS=${RUNS:-3}
CPU=${CPU:-1}
ARGS=${ARGS:-}

if [ ! -x "$BIN" ]; then
	echo "flowparse.sh: $BIN not built (make bench/flowparse)" >&2
	exit 2
fi
PIN=
if command -v taskset >/dev/null 2>&1; then
	PIN="taskset -c $CPU"
fi

status=0
for traffic in "" "-p"; do
	sums=()
	ns=()
	for i in $(seq 1 "$RUNS"); do
		# shellcheck disable=SC2086
		out=$($PIN "$BIN" $ARGS $traffic) || status=1
		echo "$out"
		ns+=("$(echo "$out" | sed -n 's/.* \([0-9.]*\) ns\/txn.*/\1/p')")
		sums+=("$(echo "$out" | sed -n 's/.*checksum \([0-9a-f]*\).*/\1/p')")
	done
	med=$(printf '%s\n' "${ns[@]}" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p")
	echo "flowparse.sh: ${traffic:-GET}: median of $RUNS: $med ns/txn"
	if [ "$(printf '%s\n' "${sums[@]}" | sort -u | wc -l)" -ne 1 ]; then
		echo "flowparse.sh: ${traffic:-GET}: checksums differ" >&2
		status=1
	fi
done
exit $status
