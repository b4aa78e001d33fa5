#!/usr/bin/env bash
#
# fuzz-effect.sh -- how fast `decoy fuzz` finds the planted bugs of the
# two planted-bug services, examples/buggy (C) and examples/buggy-py
# (Python's http.server and json: other parsers), against byte-mutation
# baselines on the same corpus (corpora/buggy, corpora/buggy-py): zzuf
# (the Debian package) and a radamsa-style mutator (bench/fuzz-effect.py;
# radamsa is not packaged).  Prints, per service and bug, the requests
# sent before its first hit and the seconds, side by side; "-" for a bug
# not found within N requests.
#
# decoy's numbers come from finding.json: "mutant" (the index of the
# mutant that first showed the bug, counted from 1 here) and
# "found_after_s" (campaign time, which includes confirming and
# minimising the findings before it).  The baselines send one request per
# connection, half-closed after it, and restart the service when it dies.
#
# usage: make examples/buggy/buggy && bash bench/fuzz-effect.sh [N [SEED [SERVICE...]]]
#        (N = 20000 requests each, SEED = 7, SERVICE = buggy buggy-py)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
N=${1:-20000}
SEED=${2:-7}
shift $(($# < 2 ? $# : 2))
SERVICES=${*:-buggy buggy-py}
DECOY=$top/decoy
PY=/usr/bin/python3
[ -x "$DECOY" ] || { echo "build decoy first" >&2; exit 2; }
[ -x "$PY" ] || { echo "no $PY" >&2; exit 2; }
command -v zzuf >/dev/null || { echo "zzuf not installed (apt-get install zzuf)" >&2; exit 2; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

for s in $SERVICES; do
	case $s in
	buggy)	svc=$top/examples/buggy/buggy; cmd="$svc --port {port}"
		[ -x "$svc" ] || { echo "build examples/buggy/buggy first" >&2; exit 2; } ;;
	buggy-py) svc=$top/examples/buggy-py/buggy.py
		cmd="$PY $svc --port {port}" ;;
	*)	echo "unknown service $s (buggy, buggy-py)" >&2; exit 2 ;;
	esac
	d=$T/$s
	mkdir -p "$d"
	"$DECOY" fuzz "$top/corpora/$s" --target http://127.0.0.1:0 \
	    --service-cmd "$cmd" --requests "$N" --seed "$SEED" --timeout 1s \
	    --findings "$d/f" --json -q >"$d/decoy.json"
	for m in zzuf radamsa; do
		SERVICE_LOG=$d/$m.log "$PY" "$top/bench/fuzz-effect.py" "$m" \
		    "$s" "$svc" "$top/corpora/$s" "$N" "$SEED" >"$d/$m.json"
	done
	mv "$d/radamsa.json" "$d/rad.json"
	"$PY" "$top/bench/fuzz-effect.py" table "$s" "$d"
	echo
done
