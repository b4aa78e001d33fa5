#!/usr/bin/env bash
# respond-vs-peers.sh - decoy's responder beside nginx, haproxy, WireMock and
# mountebank (`make bench`).
#
# Runs the shared peer harness (../shared/bench/peers.sh, see its header) with
# decoy added as a row, then prints a short comparison: per workload the req/s,
# p99 latency, server CPU and RSS of decoy and of each peer, and the ratios
# decoy/peer for req/s and for server CPU per request; for the delay workload
# also a block with each peer's req/s as a fraction of the ideal
# (conns / DELAY_MS), its p99, and decoy's ratios to WireMock and mountebank.
#
# decoy runs as
#   decoy respond "$DECOY_SNAPSHOT" --listen 127.0.0.1:$DECOY_PORT --workers 1 \
#     [--rules "$DECOY_RULES"]
# pinned to one core (SERVER_CPU), like every peer (nginx: 1 worker; haproxy:
# nbthread 1; WireMock and mountebank: the JVM / node pinned to the same
# core); wrk runs on the other core (WRK_CPU).  The snapshot is the one
# peers.sh generates for the workload, so decoy serves the same 1 KiB bodies
# as the peers.
#
# Workloads: `single` (one route), `many` (1000 routes, cycled in order) and
# `delay` (the single route with a fixed injected delay of DELAY_MS=100 ms, at
# DELAY_CONNS="64 512" connections; ideal req/s = conns / 0.1 s).  For delay,
# peers.sh hands decoy a chaos rule file it generates itself
# ($BENCH_DIR/data/decoy-delay.yaml: one rule, match GET ^/api/orders/42$,
# fault latency fixed 100ms) in DECOY_RULES; decoy gets it with --rules.
# nginx has no delay (peers.sh skips it).  peers.sh runs once per peer and
# workload (results in $RESULTS/<peer>-<workload>/), waiting between runs until
# the port is free.
#
# Environment (all optional):
#   PEERS_SH   the harness (default: <repo>/../shared/bench/peers.sh); missing
#              -> message and exit 2
#   DECOY      decoy binary (default: ./decoy of the build tree, else of the
#              source tree); missing -> message and exit 2
#   PEERS      peers to run (default "nginx haproxy wiremock mountebank decoy")
#   WORKLOADS  (default "single many delay")
#   RESULTS    results folder (default $BENCH_DIR/results/respond-<UTC time>)
#   DECOY_EXTRA  extra options for `decoy respond` (default empty)
#   everything else is passed to peers.sh as is: DURATION=10 REPEATS=3 CONNS=64
#   DELAY_CONNS="64 512" DELAY_MS=100 WARMUP=5 JVM_WARMUP=60 NODE_WARMUP=10
#   SERVER_CPU=0 WRK_CPU=1 BENCH_DIR=/tmp/bench ...
#
# A full run (defaults) takes about 16 minutes, mostly WireMock's JVM warm-up
# (60 s per workload) and the 2 x 3 x 10 s delay measurements per peer.
# Quick check: DURATION=3 REPEATS=1 JVM_WARMUP=10 bench/respond-vs-peers.sh
# The delay numbers only:  WORKLOADS=delay PEERS="haproxy wiremock mountebank
# decoy" bench/respond-vs-peers.sh
#
# bench/respond-vs-peers.sh --summary RESULTS_DIR  prints the comparison of an
# earlier run again (PEERS and WORKLOADS default to what the folder holds).
#
# Targets printed for delay at 512 connections: decoy >= 0.97x of the ideal
# req/s, p99 <= DELAY_MS + 2 ms.
#
# Exit status: peers.sh's status; 2 when the harness or decoy is missing;
# 1 when a decoy row has no numbers.

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=${srcdir:-$(cd "$HERE/.." && pwd)}
PEERS_SH=${PEERS_SH:-$srcdir/../shared/bench/peers.sh}
PEERS_GIVEN=${PEERS:+1} WORKLOADS_GIVEN=${WORKLOADS:+1}
PEERS=${PEERS:-"nginx haproxy wiremock mountebank decoy"}
WORKLOADS=${WORKLOADS:-"single many delay"}
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
  # DECOY_WORKLOAD, and DECOY_RULES (its own rule file for delay, else empty).
  # shellcheck disable=SC2016
  export DECOY_RESPOND_CMD='exec "$DECOY_BIN" respond "$DECOY_SNAPSHOT" --listen "127.0.0.1:$DECOY_PORT" --workers 1 ${DECOY_RULES:+--rules "$DECOY_RULES"} $DECOY_EXTRA'
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
# --summary of a folder: unless given, the peers and workloads it holds (in
# the usual order).
if [[ ${1:-} == --summary ]]; then
  held=$(find "$RESULTS" -mindepth 2 -name summary.tsv 2>/dev/null | awk -F/ '{print $(NF - 1)}')
  if [[ -z $PEERS_GIVEN ]]; then
    PEERS=$(for p in nginx haproxy wiremock mountebank decoy; do grep -q "^$p-" <<<"$held" && printf '%s ' "$p"; done)
  fi
  if [[ -z $WORKLOADS_GIVEN ]]; then
    WORKLOADS=$(for w in single many delay; do grep -q -- "-$w\$" <<<"$held" && printf '%s ' "$w"; done)
  fi
fi
mapfile -t tsvs < <(find "$RESULTS" -mindepth 2 -name summary.tsv 2>/dev/null | sort)
if ((${#tsvs[@]} == 0)); then
  echo "respond-vs-peers.sh: no results in $RESULTS" >&2
  exit $((rc ? rc : 1))
fi

# The delay workload: req/s against the ideal (every connection answered once
# per DELAY_MS), p99 against DELAY_MS, and decoy against WireMock / mountebank.
delay_summary() {
local dms
case " $WORKLOADS " in *" delay "*) ;; *) return 0 ;; esac
dms=$(sed -n 's/^settings: .*DELAY_MS=\([0-9.]*\).*/\1/p' "$(dirname "${tsvs[0]}")/env.txt" 2>/dev/null)
dms=${dms:-100}
echo
echo "== delay: fixed ${dms} ms injected on the single route; ideal req/s = conns / $(awk -v d="$dms" 'BEGIN { printf "%g", d / 1000 }') s"
cat "${tsvs[@]}" | awk -F'\t' -v peers="$PEERS" -v dms="$dms" '
  $2 == "delay" && NF >= 14 && $4 ~ /^[0-9]+$/ {
    k = $1 SUBSEP $3; rps[k] = $4; p99[k] = $7; ok[k] = 1
    if (!($3 in seen)) { seen[$3] = 1; cl = cl " " $3 }
  }
  END {
    np = split(peers, P, " "); nc = split(cl, C, " ")
    if (nc == 0) { print "(no delay results)"; exit }
    # the connection counts in ascending order
    for (i = 1; i <= nc; i++) for (j = i + 1; j <= nc; j++) if (C[j] + 0 < C[i] + 0) { t = C[i]; C[i] = C[j]; C[j] = t }
    printf "%5s %-10s %8s %8s %9s %8s %10s  %s\n", "conns", "peer", "ideal", "req/s", "of ideal", "p99 ms", "p99-delay", "decoy/peer"
    for (c = 1; c <= nc; c++) {
      ideal = C[c] * 1000 / dms; d = "decoy" SUBSEP C[c]
      for (p = 1; p <= np; p++) {
        k = P[p] SUBSEP C[c]
        if (!(k in ok)) continue
        r = ""
        if (P[p] != "decoy" && (d in ok) && rps[k] > 0)
          r = sprintf("req/s %.3fx, p99 %.3fx", rps[d] / rps[k], (p99[k] > 0) ? p99[d] / p99[k] : 0)
        printf "%5s %-10s %8.0f %8d %8.3fx %8.2f %+10.2f  %s\n", C[c], P[p], ideal, rps[k], rps[k] / ideal, p99[k], p99[k] - dms, r
      }
    }
    for (c = 1; c <= nc; c++) {
      d = "decoy" SUBSEP C[c]
      if (!(d in ok)) { printf "decoy @%s: no result\n", C[c]; continue }
      line = sprintf("decoy @%s: %.3fx of ideal, p99 %.2f ms", C[c], rps[d] / (C[c] * 1000 / dms), p99[d])
      split("wiremock mountebank", V, " ")
      for (v = 1; v <= 2; v++) {
        k = V[v] SUBSEP C[c]
        if ((k in ok) && rps[k] > 0)
          line = line sprintf("; vs %s: req/s %.3fx, p99 %.3fx", V[v], rps[d] / rps[k], p99[d] / p99[k])
      }
      print line
    }
    d = "decoy" SUBSEP 512
    if (d in ok)
      printf "target @512: >= 0.970x of ideal and p99 <= %.0f ms: %s (%.3fx, %.2f ms)\n", dms + 2,
        (rps[d] / (512 * 1000 / dms) >= 0.97 && p99[d] <= dms + 2) ? "MET" : "MISSED", rps[d] / (512 * 1000 / dms), p99[d]
  }'
}

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
            if (P[p] == "decoy") bad = 1
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
delay_summary
echo "load average before: $LOAD_BEFORE, after: $(loadavg) (the bench adds about 2; more = other work on the cores)"
echo "results: $RESULTS (summary.txt; per run: <peer>-<workload>/summary.md, raw/)"
return $st
}
summary | tee "$RESULTS/summary.txt"
((PIPESTATUS[0] == 0)) || ((rc)) || rc=1
exit "$rc"
