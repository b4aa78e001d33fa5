# lib.sh -- shared helpers for the benchmark scripts (sourced, bash).
#
#   HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
#   . "$HERE/lib.sh"
#
# Sets srcdir (the source tree, unless given) and BENCH_NAME (the script's
# file name, for messages).  The general helpers: die / fail / log,
# bench_need (tools), bench_find_decoy (the decoy binary), port_open,
# alive, stop_pid / stop_all (only processes the script started, by PID),
# cpu_ns (a process's CPU time), bench_nginx_conf (a one-worker nginx
# origin answering a fixed body), bench_lock (one benchmark on the cores at
# a time).
#
# The A/B responder harness (rules-overhead.sh, respond-transforms.sh):
# two `decoy respond --workers 1` pinned to SERVER_CPU, wrk -t1 -c$CONNS
# pinned to WRK_CPU with the Lua script AB_LUA (its done() prints one
# "BENCH key=value ..." line), a warm-up of each, then REPEATS runs of
# DURATION s alternating A B, B A, ... so drift hits both alike; per run a
# line in $DIR/runs.tsv, at the end the medians and the ratios B/A for
# req/s and server CPU per request (all the responder's threads, from
# /proc/PID/task/*/schedstat, over the requests wrk completed).  The
# script calls ab_defaults, sets DIR, PORT_A, PORT_B, N_ITEMS,
# BODY_BYTES, PREFIX, AB_SNAP (the snapshot both serve), AB_LUA, AB_A and
# AB_B (the two configurations' names), AB_B_OPTS, AB_TITLE and AB_TARGET,
# defines gen_data (with ab_items) and verify, and calls ab_main "$@".

srcdir=${srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BENCH_NAME=${BENCH_NAME:-$(basename "$0")}
BENCH_DIR=${BENCH_DIR:-/tmp/bench}

die() { printf '%s: %s\n' "$BENCH_NAME" "$1" >&2; exit "${2:-2}"; }
fail() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; exit 1; }
log() { printf '%s\n' "$*" >&2; }

# bench_need TOOL...: dies (exit 2) naming the first tool not on PATH.
bench_need() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null || die "$t not found"
  done
}

# bench_find_decoy: DECOY (as given, else ./decoy, else $srcdir/decoy)
# made absolute; dies (exit 2) when there is none.
bench_find_decoy() {
  local d
  if [[ -z ${DECOY:-} ]]; then
    for d in ./decoy "$srcdir/decoy"; do
      [[ -x $d ]] && { DECOY=$d; break; }
    done
  fi
  [[ -n ${DECOY:-} && -x $DECOY ]] ||
    die "no decoy binary (build it with make, or set DECOY=/path/to/decoy)"
  DECOY=$(cd "$(dirname "$DECOY")" && pwd)/$(basename "$DECOY")
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
alive() { local st; st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; [[ ${st##*) } != Z* ]]; }

STARTED=()

stop_pid() {  # PID: TERM, then KILL after 5 s; only processes we started
  local p=$1 i
  alive "$p" || { wait "$p" 2>/dev/null; return 0; }
  kill -TERM "$p" 2>/dev/null
  for ((i = 0; i < 50; i++)); do alive "$p" || break; sleep 0.1; done
  alive "$p" && kill -KILL "$p" 2>/dev/null
  wait "$p" 2>/dev/null
  return 0
}
stop_all() { local p; for p in "${STARTED[@]}"; do stop_pid "$p"; done; STARTED=(); }
# wait_file FILE PID: until FILE is not empty (a port file); 1 when PID
# ends first or after 10 s.
wait_file() {
  local i
  for ((i = 0; i < 200; i++)); do
    [[ -s $1 ]] && return 0
    alive "$2" || return 1
    sleep 0.05
  done
  return 1
}

cpu_ns() {  # PID -> CPU time of all its threads, ns (schedstat), else ticks
  local t sum=0 a
  if [[ -r /proc/$1/task/$1/schedstat ]]; then
    for t in /proc/"$1"/task/*/schedstat; do
      read -r a _ <"$t" 2>/dev/null && sum=$((sum + a))
    done
    echo "$sum"
  else
    read -r -a a <<<"$(cut -d')' -f2- "/proc/$1/stat")"
    echo $(((a[11] + a[12]) * 1000000000 / $(getconf CLK_TCK)))
  fi
}

# bench_nginx_conf DIR PORT BODY: writes DIR/nginx.conf (logs and temp
# paths under DIR) for one nginx worker on 127.0.0.1:PORT answering every
# request 200 with BODY as application/json, keep-alive without limit.
# Start it with: nginx -p DIR -c DIR/nginx.conf
bench_nginx_conf() {
  local dir=$1 port=$2 body=$3
  mkdir -p "$dir/logs"
  cat >"$dir/nginx.conf" <<EOF
daemon off;
worker_processes 1;
error_log $dir/logs/error.log warn;
pid $dir/nginx.pid;
events { worker_connections 4096; }
http {
	access_log off;
	keepalive_requests 100000000;
	keepalive_timeout 120s;
	client_body_temp_path $dir/body;
	proxy_temp_path $dir/proxy;
	fastcgi_temp_path $dir/fastcgi;
	uwsgi_temp_path $dir/uwsgi;
	scgi_temp_path $dir/scgi;
	server {
		listen 127.0.0.1:$port;
		default_type application/json;
		location / { return 200 '$body'; }
	}
}
EOF
}

# bench_lock: takes the lock respond-vs-peers.sh takes
# ($BENCH_DIR/.respond-vs-peers.lock, on descriptor 9), waiting up to
# LOCK_WAIT (1800) s, so two benchmarks never share the cores.
bench_lock() {
  mkdir -p "$BENCH_DIR" || die "cannot create $BENCH_DIR"
  exec 9>"$BENCH_DIR/.respond-vs-peers.lock"
  if ! flock -n 9; then
    log "$BENCH_NAME: another benchmark holds $BENCH_DIR/.respond-vs-peers.lock; waiting (up to ${LOCK_WAIT:-1800} s)"
    flock -w "${LOCK_WAIT:-1800}" 9 || die "lock not released after ${LOCK_WAIT:-1800} s"
  fi
}

# ---------------------------------------------------------------- A/B

declare -A SRV_PID=()

# ab_defaults: the settings of the harness, each overridable from the
# environment.
ab_defaults() {
  : "${DURATION:=10}" "${REPEATS:=3}" "${WARMUP:=5}" "${CONNS:=64}" \
    "${SERVER_CPU:=0}" "${WRK_CPU:=1}" "${WRK_TIMEOUT:=5s}" "${STRICT:=0}"
}

# ab_items PROGRAM: a fresh $DIR (items/, raw/, verify/) and the data of
# the harness, made by the awk PROGRAM (a BEGIN block) with these awk
# functions and variables: item(I, TARGET, XHDR, HEAD) writes item I --
# its body (the JSON object head HEAD padded to BODY_BYTES with a "pad"
# string) to $DIR/items/I.json and its transaction (GET TARGET with a
# Host header for PORT_A and the JSON header pairs XHDR, e.g.
# ',["X-Id","7"]'; 200 with that body) as a line of AB_SNAP; dir, n
# (N_ITEMS), prefix (PREFIX).
ab_items() {
  rm -rf "$DIR"
  mkdir -p "$DIR/items" "$DIR/raw" "$DIR/verify" || die "cannot create $DIR"
  awk -v dir="$DIR" -v n="$N_ITEMS" -v size="$BODY_BYTES" -v prefix="$PREFIX" \
      -v port="$PORT_A" -v snap="$AB_SNAP" '
    function mkbody(head, seed,   need, s, k) {
      need = size - length(head) - 2
      s = ""
      for (k = 0; k < need; k++) s = s substr(alpha, (seed + k) % 62 + 1, 1)
      return head s "\"}"
    }
    function jesc(s) { gsub(/"/, "\\\"", s); return s }
    function item(i, target, xhdr, head,   b, f) {
      b = mkbody(head, i)
      f = dir "/items/" i ".json"; printf "%s", b > f; close(f)
      printf "{\"v\":1,\"id\":\"t-%06d\",\"ts\":\"2026-01-01T00:00:00.000000Z\",\"dir\":\"out\",\"svc\":\"bench\",\"proto\":\"http/1.1\",\"tls\":false,\"client\":\"127.0.0.1:40000\",\"server\":\"127.0.0.1:%d\",", i, port > snap
      printf "\"req\":{\"method\":\"GET\",\"target\":\"%s\",\"host\":\"127.0.0.1:%d\",\"headers\":[[\"Host\",\"127.0.0.1:%d\"]%s]},", target, port, port, xhdr > snap
      printf "\"res\":{\"status\":200,\"reason\":\"OK\",\"headers\":[[\"Content-Type\",\"application/json\"],[\"Content-Length\",\"%d\"]],\"body\":\"%s\"},", length(b), jesc(b) > snap
      printf "\"timing\":{\"start_us\":%.0f,\"ttfb_us\":50,\"total_us\":60}}\n", 1767225600000000 + i * 1000 > snap
    }
    BEGIN { alpha = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ" }
    '"$1"' END { close(snap) }' </dev/null || die "data generation failed"
}

# ab_start NAME PORT [decoy options...]: `decoy respond AB_SNAP` on PORT,
# pinned to SERVER_CPU, log in $DIR/NAME.log -> SRV_PID[NAME].
ab_start() {
  local name=$1 port=$2 i
  shift 2
  port_open "$port" && fail "port $port already in use"
  taskset -c "$SERVER_CPU" "$DECOY" respond "$AB_SNAP" --listen "127.0.0.1:$port" \
    --workers 1 -q "$@" >"$DIR/$name.log" 2>&1 &
  SRV_PID[$name]=$!
  STARTED+=("$!")
  for ((i = 0; i < 300; i++)); do
    port_open "$port" && return 0
    alive "${SRV_PID[$name]}" || break
    sleep 0.1
  done
  fail "$name: not listening on $port (log: $DIR/$name.log: $(tail -3 "$DIR/$name.log"))"
}

# ab_wrk PORT SECONDS OUT -> wrk output in OUT (its BENCH line), "real user
# sys" of wrk in OUT.time
ab_wrk() {
  local TIMEFORMAT='%R %U %S'
  { time env BENCH_ITEMS=$N_ITEMS BENCH_PREFIX=$PREFIX taskset -c "$WRK_CPU" \
      timeout $(($2 + 30)) wrk -t1 -c"$CONNS" -d"$2s" --timeout "$WRK_TIMEOUT" --latency \
      -s "$AB_LUA" "http://127.0.0.1:$1$PREFIX" >"$3" 2>&1; } 2>"$3.time"
}

ab_measure() {  # NAME PORT RUN -> a line in $DIR/runs.tsv
  local name=$1 port=$2 r=$3 f c0 c1 b
  f=$DIR/raw/$name-run$r.txt
  c0=$(cpu_ns "${SRV_PID[$name]}")
  ab_wrk "$port" "$DURATION" "$f"
  c1=$(cpu_ns "${SRV_PID[$name]}")
  b=$(grep '^BENCH ' "$f") || { log "  $name run $r: wrk printed no result (see $f)"; return 1; }
  awk -v name="$name" -v r="$r" -v b="$b" -v ns=$((c1 - c0)) -v tm="$(cat "$f.time")" 'BEGIN {
    n = split(b, kv, /[ =]/); for (i = 2; i < n; i += 2) v[kv[i]] = kv[i + 1]
    split(tm, w, " "); s = v["duration_us"] / 1e6
    printf "%s\t%d\t%.0f\t%.3f\t%.3f\t%.1f\t%.1f\t%.3f\t%d\t%d\t%d\n", name, r, v["requests"] / s,
      v["p50_us"] / 1000, v["p99_us"] / 1000, 100 * ns / 1e9 / s, 100 * (w[2] + w[3]) / w[1],
      (v["requests"] ? ns / 1000 / v["requests"] : 0), v["non2xx"],
      v["connect"] + v["read"] + v["write"] + v["timeout"], v["requests"] }' >>"$DIR/runs.tsv"
  tail -1 "$DIR/runs.tsv" | awk -F'\t' '{ printf "  %-10s run %d: %8d req/s  p99 %7.3f ms  srv %5.1f%%  wrk %5.1f%%  %6.3f us/req\n", $1, $2, $3, $5, $6, $7, $8 }' >&2
}

# ab_summary TITLE A B TARGET: the medians per configuration from
# $DIR/runs.tsv, then the ratios B/A against TARGET (req/s of B >= TARGET
# x A); exit 1 when a configuration has no result, 3 when STRICT=1 and
# the target is missed.
ab_summary() {
echo
echo "== $1"
echo "   ($(cat "$DIR/settings.txt" 2>/dev/null))"
awk -F'\t' -v a="$2" -v b="$3" -v target="$4" -v strict="$STRICT" '
  function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  NR > 1 {
    c = $1; rps[c] = rps[c] " " $3; p50[c] = p50[c] " " $4; p99[c] = p99[c] " " $5
    srv[c] = srv[c] " " $6; wrk[c] = wrk[c] " " $7; cpu[c] = cpu[c] " " $8
    n2[c] += $9; se[c] += $10; runs[c] = runs[c] (runs[c] == "" ? "" : "/") $3
  }
  END {
    printf "%-10s %9s  %-24s %8s %8s %6s %6s %10s %7s %7s\n", "config", "req/s", "req/s per run", "p50 ms", "p99 ms", "srv%", "wrk%", "CPU us/req", "non2xx", "sockerr"
    C[1] = a; C[2] = b
    for (i = 1; i <= 2; i++) {
      c = C[i]
      if (!(c in rps)) { printf "%-10s no result\n", c; bad = 1; continue }
      m[c, "rps"] = median(rps[c]); m[c, "p99"] = median(p99[c]); m[c, "cpu"] = median(cpu[c])
      printf "%-10s %9.0f  %-24s %8.3f %8.3f %6.1f %6.1f %10.3f %7d %7d\n", c, m[c, "rps"], runs[c],
        median(p50[c]), m[c, "p99"], median(srv[c]), median(wrk[c]), m[c, "cpu"], n2[c], se[c]
    }
    if (bad) exit 1
    rr = m[b, "rps"] / m[a, "rps"]
    cr = m[b, "cpu"] / m[a, "cpu"]
    printf "ratio %s/%s: req/s %.3fx, CPU per request %.3fx (%+.3f us; capacity per core %.3fx), p99 %.3fx\n",
      b, a, rr, cr, m[b, "cpu"] - m[a, "cpu"], 1 / cr, m[b, "p99"] / m[a, "p99"]
    printf "target req/s with %s >= %.2fx without: %s (%.3fx); on CPU per request: %s (%.3fx)\n", b, target,
      (rr >= target) ? "MET" : "MISSED", rr, (1 / cr >= target) ? "MET" : "MISSED", 1 / cr
    if (strict && (rr < target)) exit 3
  }' "$DIR/runs.tsv"
}

# ab_prepare: the lock, the descriptor limit, the load average before,
# the header of $DIR/runs.tsv and $DIR/settings.txt.
ab_prepare() {
  bench_lock
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
  LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
}

# ab_run A PORT_A B PORT_B: after the warm-up of each, REPEATS runs of
# each, alternating.
ab_run() {
  local r name
  printf 'config\trun\treq_s\tp50_ms\tp99_ms\tsrv_pct\twrk_pct\tcpu_us_per_req\tnon2xx\tsockerr\trequests\n' >"$DIR/runs.tsv"
  echo "wrk -t1 -c$CONNS -d${DURATION}s x $REPEATS alternating, after ${WARMUP}s warm-up; server CPU $SERVER_CPU, wrk CPU $WRK_CPU; $("$DECOY" --version 2>&1 | head -1)" >"$DIR/settings.txt"
  log "decoy: $("$DECOY" --version 2>&1 | head -1) ($DECOY); $1 pid ${SRV_PID[$1]} on :$2, $3 pid ${SRV_PID[$3]} on :$4, CPU $SERVER_CPU; wrk CPU $WRK_CPU"
  if ((WARMUP > 0)); then
    log "warm-up ${WARMUP}s each"
    ab_wrk "$2" "$WARMUP" "$DIR/raw/$1-warmup.txt"
    ab_wrk "$4" "$WARMUP" "$DIR/raw/$3-warmup.txt"
  fi
  for ((r = 1; r <= REPEATS; r++)); do
    if ((r % 2)); then
      ab_measure "$1" "$2" "$r"; ab_measure "$3" "$4" "$r"
    else
      ab_measure "$3" "$4" "$r"; ab_measure "$1" "$2" "$r"
    fi
  done
}

# ab_finish TITLE A B TARGET: stops the responders, prints the summary
# (also to $DIR/summary.txt) and exits with its status.
ab_finish() {
  local st
  stop_all
  ab_summary "$@" | tee "$DIR/summary.txt"
  st=${PIPESTATUS[0]}
  echo "load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$DIR/summary.txt"
  echo "data and raw wrk output: $DIR (runs.tsv, summary.txt, raw/)"
  exit "$st"
}

# ab_main [--summary [DIR]]: the script's command line.  With --summary,
# the numbers of an earlier run again (from DIR/runs.tsv).  Else the whole
# benchmark: ab_prepare, the script's gen_data, responder AB_A on PORT_A
# and AB_B on PORT_B (with the options AB_B_OPTS), the script's verify,
# ab_run, the script's ab_after if it defines one, and ab_finish with
# AB_TITLE and AB_TARGET.  Exits.
ab_main() {
  if [[ ${1:-} == --summary ]]; then
    DIR=${2:-$DIR}
    [[ -f $DIR/runs.tsv ]] || die "no $DIR/runs.tsv"
    ab_summary "$AB_TITLE" "$AB_A" "$AB_B" "$AB_TARGET"
    exit
  fi
  ab_prepare
  gen_data
  ab_start "$AB_A" "$PORT_A"
  ab_start "$AB_B" "$PORT_B" "${AB_B_OPTS[@]}"
  verify
  ab_run "$AB_A" "$PORT_A" "$AB_B" "$PORT_B"
  if declare -F ab_after >/dev/null; then
    ab_after
  fi
  ab_finish "$AB_TITLE" "$AB_A" "$AB_B" "$AB_TARGET"
}
