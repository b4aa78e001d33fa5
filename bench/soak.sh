#!/usr/bin/env bash
# soak.sh - issue 17's soak: many reloads of a large snapshot under load.
#
# Generates the 100,000-transaction snapshot of bench/load-snapshot.sh
# (GEN_ONLY=1), starts `decoy respond` on it with the admin API and a rule
# file, then runs tests/integration/reload-churn.py: a client keeps sending
# keep-alive GETs over the snapshot's routes (every one must be answered
# 200) while the responder is reloaded $RELOADS times (POST /reload and
# SIGHUP in turn) with $EDITS admin rule edits (add + remove) after each.
# Prints VmRSS after the initial load, after the first $WARMUP reloads and
# at the end.  Before the generations were freed, each reload of this
# snapshot kept ~65 MB.
#
# Environment: DECOY (default ./decoy, else <repo>/decoy)  N=100000
#   RELOADS=100  WARMUP=5  EDITS=20  WORKERS=2  DIR=/tmp/bench/soak
#   TOLERANCE=0.10
# Exit status: 0 flat within TOLERANCE and every request answered; 1 not;
# 2 missing tool or binary.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=${srcdir:-$(cd "$HERE/.." && pwd)}
N=${N:-100000}
RELOADS=${RELOADS:-100}
WARMUP=${WARMUP:-5}
EDITS=${EDITS:-20}
WORKERS=${WORKERS:-2}
DIR=${DIR:-${BENCH_DIR:-/tmp/bench}/soak}
TOLERANCE=${TOLERANCE:-0.10}
PY=/usr/bin/python3

die() { printf 'soak.sh: %s\n' "$*" >&2; exit "${2:-2}"; }
if [[ -z ${DECOY:-} ]]; then
  for d in ./decoy "$srcdir/decoy"; do [[ -x $d ]] && { DECOY=$d; break; }; done
fi
[[ -n ${DECOY:-} && -x $DECOY ]] || die "no decoy binary (make, or DECOY=...)"
[[ -x $PY ]] || die "no $PY"

mkdir -p "$DIR" || die "cannot create $DIR"
DIR=$DIR N=$N GEN_ONLY=1 DECOY=$DECOY bash "$HERE/load-snapshot.sh" ||
  die "snapshot generation failed" 1
SNAP=$DIR/snapshot-$N.jsonl
printf 'rules:\n  - name: never\n    match: {path: "^/nothing-here$"}\n    fault: {status: 500}\n' >"$DIR/rules.yaml"
rm -f "$DIR/port" "$DIR/admin.port"
"$DECOY" respond "$SNAP" --listen 127.0.0.1:0 --port-file "$DIR/port" \
  --workers "$WORKERS" --rules "$DIR/rules.yaml" --admin 127.0.0.1:0 \
  --admin-port-file "$DIR/admin.port" >"$DIR/decoy.log" 2>&1 &
DPID=$!
trap 'kill -TERM "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null' EXIT
for ((i = 0; i < 6000; i++)); do
  [[ -s $DIR/port && -s $DIR/admin.port ]] && break
  kill -0 "$DPID" 2>/dev/null || { cat "$DIR/decoy.log" >&2; die "decoy exited" 1; }
  sleep 0.02
done
[[ -s $DIR/admin.port ]] || die "decoy did not start" 1
rss0=$(awk '/^VmRSS:/ {print $2}' "/proc/$DPID/status")
printf 'soak: %s transactions (%d MiB file), %d reloads, %d rule edits per reload, %d workers\n' \
  "$N" $(($(stat -c %s "$SNAP") / 1048576)) "$RELOADS" "$EDITS" "$WORKERS"
printf 'soak: RSS after the initial load: %d MiB\n' $((rss0 / 1024))
"$PY" "$srcdir/tests/integration/reload-churn.py" --pid "$DPID" \
  --port "$(<"$DIR/port")" --admin-port "$(<"$DIR/admin.port")" \
  --log "$DIR/decoy.log" --paths "$DIR/get-paths.txt" --reloads "$RELOADS" \
  --warmup "$WARMUP" --edits "$EDITS" --tolerance "$TOLERANCE" \
  --reload-timeout 300 | tee "$DIR/churn.out"
st=${PIPESTATUS[0]}
awk -v w="$WARMUP" '/^rss_kb_before=/ { split($1, b, "="); split($2, a, "=")
  printf "soak: RSS %d MiB after %d warm-up reloads, %d MiB at the end (%+.1f%%)\n",
  b[2] / 1024, w, a[2] / 1024, 100 * (a[2] - b[2]) / b[2] }' "$DIR/churn.out"
[[ $st == 0 ]] && echo "soak: PASS" || echo "soak: FAIL"
exit "$st"
