#!/usr/bin/env bash
# respond-vs-peers.sh - decoy's responder beside nginx and WireMock (`make bench`).
#
# Runs the shared peer harness (../shared/bench/peers.sh, see its header) with
# decoy added as a row, then prints a short comparison: per workload the req/s,
# p99 latency, server CPU and RSS of decoy and of each peer, and the ratios
# decoy/peer for req/s and for server CPU per request.
#
# decoy runs as
#   decoy respond "$DECOY_SNAPSHOT" --listen 127.0.0.1:$DECOY_PORT --workers 1
# pinned to one core (SERVER_CPU), like every peer (nginx: 1 worker; WireMock:
# the JVM pinned to the same core); wrk runs on the other core (WRK_CPU).
# The snapshot is the one peers.sh generates for the workload, so decoy serves
# the same 1 KiB bodies as the peers.
#
# Workloads: `single` (one route) and `many` (1000 routes, cycled in order).
# The `delay` workload is NOT run for decoy: it needs chaos rules
# (`--rules`, DESIGN.md section 4), which the responder does not have yet.
# If WORKLOADS includes delay, the other peers are measured on it and decoy's
# row says "skipped".  peers.sh runs once per peer and workload (results in
# $RESULTS/<peer>-<workload>/), waiting between runs until the port is free.
#
# Environment (all optional):
#   PEERS_SH   the harness (default: <repo>/../shared/bench/peers.sh); missing
#              -> message and exit 2
#   DECOY      decoy binary (default: ./decoy of the build tree, else of the
#              source tree); missing -> message and exit 2
#   PEERS      peers to run (default "nginx wiremock decoy")
#   WORKLOADS  (default "single many")
#   RESULTS    results folder (default $BENCH_DIR/results/respond-<UTC time>)
#   DECOY_EXTRA  extra options for `decoy respond` (default empty)
#   everything else is passed to peers.sh as is: DURATION=10 REPEATS=3 CONNS=64
#   WARMUP=5 JVM_WARMUP=60 SERVER_CPU=0 WRK_CPU=1 BENCH_DIR=/tmp/bench ...
#
# A full run (defaults) takes about 6 minutes, mostly WireMock's JVM warm-up.
# Quick check: DURATION=3 REPEATS=1 JVM_WARMUP=10 bench/respond-vs-peers.sh
#
# bench/respond-vs-peers.sh --summary RESULTS_DIR  prints the comparison of an
# earlier run again.
#
# Exit status: peers.sh's status; 2 when the harness or decoy is missing;
# 1 when a decoy row has no numbers.

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=${srcdir:-$(cd "$HERE/.." && pwd)}
PEERS_SH=${PEERS_SH:-$srcdir/../shared/bench/peers.sh}
PEERS=${PEERS:-"nginx wiremock decoy"}
WORKLOADS=${WORKLOADS:-"single many"}
BENCH_DIR=${BENCH_DIR:-/tmp/bench}
RESULTS=${RESULTS:-$BENCH_DIR/results/respond-$(date -u +%Y%m%dT%H%M%SZ)}
export BENCH_DIR

die() { printf 'respond-vs-peers.sh: %s\n' "$*" >&2; exit 2; }

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port_free() {  # PORT: up to 60 s
  local i
  for ((i = 0; i < 600; i++)); do port_open "$1" || return 0; sleep 0.1; done
  echo "respond-vs-peers.sh: port $1 still open after 60 s" >&2
}

run_bench() {
  local d p w
  [[ -f $PEERS_SH ]] || die "peer harness not found: $PEERS_SH
  (it lives in the shared tree next to the repository; set PEERS_SH=/path/to/peers.sh)"

  if [[ -z ${DECOY:-} ]]; then
    for d in ./decoy "$srcdir/decoy"; do
      [[ -x $d ]] && { DECOY=$d; break; }
    done
  fi
  [[ -n ${DECOY:-} && -x $DECOY ]] || die "no decoy binary (build it with make, or set DECOY=/path/to/decoy)"
  DECOY_BIN=$(cd "$(dirname "$DECOY")" && pwd)/$(basename "$DECOY")
  "$DECOY_BIN" --version >/dev/null 2>&1 || die "$DECOY_BIN does not run"
  export DECOY_BIN DECOY_EXTRA=${DECOY_EXTRA:-}

  # peers.sh runs this with bash -c and sets DECOY_PORT, DECOY_SNAPSHOT,
  # DECOY_WORKLOAD (and DECOY_RULES for delay, which decoy cannot use yet).
  # shellcheck disable=SC2016
  export DECOY_RESPOND_CMD='exec "$DECOY_BIN" respond "$DECOY_SNAPSHOT" --listen "127.0.0.1:$DECOY_PORT" --workers 1 $DECOY_EXTRA'
  # shellcheck disable=SC2016
  export DECOY_VERSION_CMD='"$DECOY_BIN" --version'
  export DECOY_NOTE="respond --workers 1${DECOY_EXTRA:+ $DECOY_EXTRA}"

  # Two benchmarks at once share the two cores, the fixed peer ports and
  # $BENCH_DIR/run, and spoil each other: take a lock, wait up to LOCK_WAIT s.
  mkdir -p "$BENCH_DIR" || die "cannot create $BENCH_DIR"
  exec 9>"$BENCH_DIR/.respond-vs-peers.lock"
  if ! flock -n 9; then
    echo "respond-vs-peers.sh: another benchmark holds $BENCH_DIR/.respond-vs-peers.lock; waiting (up to ${LOCK_WAIT:-1800} s)" >&2
    flock -w "${LOCK_WAIT:-1800}" 9 || die "lock not released after ${LOCK_WAIT:-1800} s"
  fi

  # One peers.sh run per peer and workload, each into $RESULTS/<peer>-<wl>.
  # Before each run the peer's port must be closed: a stopped WireMock JVM
  # was seen to keep 18083 open after peers.sh had stopped it, and peers.sh
  # then reports the next workload as "port already in use".
  declare -A PEER_PORT=([nginx]=18081 [haproxy]=18082 [wiremock]=18083 [mountebank]=18084 [decoy]=${DECOY_PORT:-18085})
  for p in $PEERS; do
    for w in $WORKLOADS; do
      if [[ $p == decoy && $w == delay ]]; then
        echo "note: decoy/delay skipped: the delay workload needs chaos rules, not in decoy yet" >&2
        continue
      fi
      [[ -n ${PEER_PORT[$p]:-} ]] && wait_port_free "${PEER_PORT[$p]}"
      RESULTS=$RESULTS/$p-$w WORKLOADS=$w bash "$PEERS_SH" run "$p" || rc=$?
    done
  done
  exec 9>&-
}

rc=0
LOAD_BEFORE=$(loadavg)
if [[ ${1:-} == --summary ]]; then   # --summary DIR: the comparison of an earlier run
  [[ -d ${2:-} ]] || die "usage: respond-vs-peers.sh [--summary RESULTS_DIR]"
  RESULTS=$2
  LOAD_BEFORE="(not measured: --summary)"
else
  run_bench
fi

# ---------------------------------------------------------------- summary
# summary.tsv rows (peers.sh): peer wl conns req/s runs p50 p99 max non2xx
# sockerr B/rsp RSS_MiB srv% wrk% note; a row without numbers is
# peer wl conns text.
mapfile -t tsvs < <(find "$RESULTS" -mindepth 2 -name summary.tsv 2>/dev/null | sort)
if ((${#tsvs[@]} == 0)); then
  echo "respond-vs-peers.sh: no results in $RESULTS" >&2
  exit $((rc ? rc : 1))
fi

summary() {
echo
local set
set=$(sed -n 's/^settings: //p' "$(dirname "${tsvs[0]}")/env.txt" 2>/dev/null | tr ' ' '\n' | grep -E '^(DURATION|REPEATS|CONNS|SERVER_CPU|WRK_CPU)=' | tr '\n' ' ')
echo "== decoy vs peers (medians; ${set:-settings unknown})"
cat "${tsvs[@]}" | awk -F'\t' -v peers="$PEERS" -v wls="$WORKLOADS" '
  {
    if (NF >= 14 && $4 ~ /^[0-9]+$/) {
      k = $1 SUBSEP $2 SUBSEP $3
      rps[k] = $4; p99[k] = $7; rss[k] = $12; srv[k] = $13; wrk[k] = $14; ok[k] = 1
      if (!(($2 SUBSEP $3) in seen)) { seen[$2 SUBSEP $3] = 1; cl[$2] = cl[$2] " " $3 }
    } else {
      why[$1 SUBSEP $2] = $4
    }
  }
  function cpu_us(k) { return (rps[k] > 0) ? srv[k] / 100 * 1e6 / rps[k] : 0 }
  END {
    np = split(peers, P, " "); nw = split(wls, W, " ")
    printf "%-8s %5s %-9s %9s %8s %5s %5s %8s %10s  %s\n", "workload", "conns", "peer", "req/s", "p99 ms", "srv%", "wrk%", "RSS MiB", "CPU us/req", "ratios (decoy/peer)"
    bad = 0
    for (w = 1; w <= nw; w++) {
      wl = W[w]
      if ((nc = split(cl[wl], C, " ")) == 0) { nc = 1; C[1] = "-" }
      for (c = 1; c <= nc; c++) {
        d = "decoy" SUBSEP wl SUBSEP C[c]
        for (p = 1; p <= np; p++) {
          k = P[p] SUBSEP wl SUBSEP C[c]
          if (!(k in ok)) {
            msg = ((P[p] SUBSEP wl) in why) ? why[P[p] SUBSEP wl] : "no result"
            if (P[p] == "decoy" && wl == "delay") msg = "skipped: needs chaos rules (--rules), not in decoy yet"
            else if (P[p] == "decoy") bad = 1
            printf "%-8s %5s %-9s %s\n", wl, C[c], P[p], msg
            continue
          }
          r = ""
          if (P[p] != "decoy" && (d in ok) && rps[k] > 0) {
            r = sprintf("req/s %.3gx", rps[d] / rps[k])
            if (cpu_us(k) > 0 && cpu_us(d) > 0) r = r sprintf(", CPU/req %.3gx", cpu_us(d) / cpu_us(k))
            if (p99[k] > 0) r = r sprintf(", p99 %.3gx", p99[d] / p99[k])
          }
          printf "%-8s %5s %-9s %9d %8.2f %5s %5s %8s %10.2f  %s\n", wl, C[c], P[p], rps[k], p99[k], srv[k], wrk[k], rss[k], cpu_us(k), r
        }
      }
    }
    print "req/s ratio > 1: decoy serves more; CPU/req and p99 ratios < 1: decoy is cheaper / faster."
    print "srv%/wrk%: CPU of the server / of wrk over the run (100 = one core). With wrk% near 100 the load"
    print "generator, not the server, set the req/s (wrk + bench.lua tops out near 100k req/s on one core"
    print "here); with srv% well below 100 the core was shared. Then compare CPU us/req (srv CPU / req/s)."
    exit bad
  }'
local st=$?
echo "load average before: $LOAD_BEFORE, after: $(loadavg) (the bench adds about 2; more = other work on the cores)"
echo "results: $RESULTS (summary.txt; per run: <peer>-<workload>/summary.md, raw/)"
return $st
}
summary | tee "$RESULTS/summary.txt"
((PIPESTATUS[0] == 0)) || ((rc)) || rc=1
exit "$rc"
