#!/usr/bin/env bash
#
# fuzz-effect.sh -- how fast `decoy fuzz` finds the planted bugs of the
# two planted-bug services, examples/buggy (C) and examples/buggy-py
# (Python's http.server and json: other parsers), against byte-mutation
# baselines on the same corpus (corpora/buggy, corpora/buggy-py): zzuf
# (the Debian package) and a radamsa-style mutator (bench/fuzz-effect.py;
# radamsa is not packaged).  For each seed, prints per service and bug
# the requests sent before its first hit and the seconds, side by side
# ("-" for a bug not found within N requests); then, over the seeds, the
# per-bug medians (a miss counts as above N; a bug a tool finds on fewer
# than half the seeds is "-"), the ratio of decoy's median to the better
# baseline's with the under-a-tenth verdict, the per-seed ratios, and
# each campaign's time and bugs found.
#
# decoy's numbers come from finding.json: "mutant" (the index of the
# mutant that first showed the bug, counted from 1 here) and
# "found_after_s" (campaign time, which includes confirming and
# minimising the findings before it).  The baselines send one request per
# connection, half-closed after it, and restart the service when it dies;
# they are deterministic per seed and run once per seed, whatever the
# number of decoys compared.
#
# usage: make examples/buggy/buggy && bash bench/fuzz-effect.sh [N [SEEDS [SERVICE...]]]
#        (N = 5000 requests each, SEEDS = "1 2 3 4 5" (or $SEEDS),
#        SERVICE = buggy buggy-py)
#   DECOYS="main=/path/to/decoy new=./decoy"  decoy binaries compared
#                                            (default: decoy=./decoy)
#   WORK=dir                                 keep the runs there; the
#                                            baselines' runs kept there for
#                                            the same N are used again
#   ALSO="label..."                          also show decoy runs kept in
#                                            WORK under these labels
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-5000}
SEEDS=${2:-${SEEDS:-1 2 3 4 5}}
shift $(($# < 2 ? $# : 2))
SERVICES=${*:-buggy buggy-py}
DECOYS=${DECOYS:-decoy=$top/decoy}
PY=/usr/bin/python3
labels=${ALSO:-}
for d in $DECOYS; do
	[ -x "${d#*=}" ] || { echo "no decoy binary ${d#*=}" >&2; exit 2; }
	labels="$labels ${d%%=*}"
done
[ -x "$PY" ] || { echo "no $PY" >&2; exit 2; }
command -v zzuf >/dev/null || { echo "zzuf not installed (apt-get install zzuf)" >&2; exit 2; }
if [ -n "${WORK:-}" ]; then
	T=$WORK
	mkdir -p "$T"
else
	T=$(mktemp -d)
	trap 'rm -rf "$T"' EXIT
fi

for s in $SERVICES; do
	case $s in
	buggy)	svc=$top/examples/buggy/buggy; cmd="$svc --port {port}"
		[ -x "$svc" ] || { echo "build examples/buggy/buggy first" >&2; exit 2; } ;;
	buggy-py) svc=$top/examples/buggy-py/buggy.py
		cmd="$PY $svc --port {port}" ;;
	*)	echo "unknown service $s (buggy, buggy-py)" >&2; exit 2 ;;
	esac
	for seed in $SEEDS; do
		d=$T/$s/$seed
		mkdir -p "$d"
		for x in $DECOYS; do
			rm -rf "${d:?}/${x%%=*}"
			mkdir -p "$d/${x%%=*}"
			"${x#*=}" fuzz "$top/corpora/$s" \
			    --target http://127.0.0.1:0 --service-cmd "$cmd" \
			    --requests "$N" --seed "$seed" --timeout 1s \
			    --findings "$d/${x%%=*}/f" --json -q \
			    >"$d/${x%%=*}/decoy.json"
		done
		for m in zzuf rad; do
			grep -qs "\"requests\": $N," "$d/$m.json" && continue
			SERVICE_LOG=$d/$m.log "$PY" "$top/bench/fuzz-effect.py" \
			    "$([ $m = rad ] && echo radamsa || echo $m)" "$s" \
			    "$svc" "$top/corpora/$s" "$N" "$seed" >"$d/$m.json"
		done
		echo "== $s, seed $seed, $N requests"
		# shellcheck disable=SC2086
		"$PY" "$top/bench/fuzz-effect.py" table "$s" "$d" $labels
		echo
	done
	"$PY" "$top/bench/fuzz-effect.py" summary "$s" "$T/$s" "$SEEDS" \
	    "$labels" "$N"
	echo
done
