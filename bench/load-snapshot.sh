#!/usr/bin/env bash
# load-snapshot.sh - how fast decoy loads a large snapshot, and what it costs.
#
# 1. Generates (awk only) a snapshot of $N transactions (default 100,000;
#    dir "out", 1000 distinct routes over 8 dependencies, ~1 KiB JSON response
#    bodies that differ per transaction, realistic request/response headers,
#    timing; about 10% POST routes with a JSON request body, some queries).
# 2. Starts `decoy respond SNAP --listen 127.0.0.1:0 --port-file F` under
#    /usr/bin/time -v and takes the time until F appears: decoy writes the port
#    file after the snapshot is loaded and indexed and the socket is bound (the
#    work `decoyd -n` does, plus the bind).  The file was just written, so this
#    is a warm page cache load.
# 3. Reads VmRSS (and VmHWM) from /proc/PID/status after the load, runs a short
#    wrk over every GET route to confirm it serves (no errors, no non-2xx),
#    reads VmRSS again, then sends SIGTERM to that PID.
# 4. Prints: file size MiB, load seconds, RSS MiB, RSS/file ratio, against the
#    targets (issue 17): load <= 3 s, RSS <= 1.5x the file size.  The load
#    decodes on one thread per CPU decoy may use: SERVER_CPU=0,1 lets it use
#    two (wrk then shares CPU 1 for the short serve check).  On a shared box
#    the wall time is the box's, not decoy's: the report also gives the load
#    average at the start and the projected wall on idle CPUs (load CPU
#    seconds / CPUs given, what a load that keeps every CPU busy takes).
#
# Environment: DECOY (default ./decoy, else <repo>/decoy)  N=100000
#   ROUTES=1000  DIR=/tmp/bench/load  WORKERS=1  WRK_SECONDS=5  WRK_CONNS=64
#   SERVER_CPU=0  WRK_CPU=1  LOAD_TIMEOUT=120  KEEP=1 (keep the snapshot;
#   0 deletes it at the end)  STRICT=0 (1: exit 3 when a target is missed)
#   GEN_ONLY=1 (write $DIR/snapshot-$N.jsonl and its paths, then exit 0)
#   REUSE=1 (load $DIR/snapshot-$N.jsonl as it is when it and its paths
#   file exist: a 1M snapshot takes minutes to generate)  RULES=FILE (a
#   rules file to load with the snapshot: --rules FILE; the rules are
#   judged against every transaction as it is decoded, for the start-up
#   warnings, so this measures what they add to the load)
#
# Exit status: 0 ok; 1 decoy did not load or serve; 2 missing tool/binary;
# 3 a target missed (STRICT=1 only).

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=${srcdir:-$(cd "$HERE/.." && pwd)}
N=${N:-100000}
ROUTES=${ROUTES:-1000}
DIR=${DIR:-${BENCH_DIR:-/tmp/bench}/load}
WORKERS=${WORKERS:-1}
WRK_SECONDS=${WRK_SECONDS:-5}
WRK_CONNS=${WRK_CONNS:-64}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}
LOAD_TIMEOUT=${LOAD_TIMEOUT:-120}
KEEP=${KEEP:-1}
STRICT=${STRICT:-0}

die() { printf 'load-snapshot.sh: %s\n' "$*" >&2; exit "${2:-2}"; }
log() { printf '%s\n' "$*" >&2; }

if [[ -z ${DECOY:-} ]]; then
  for d in ./decoy "$srcdir/decoy"; do [[ -x $d ]] && { DECOY=$d; break; }; done
fi
[[ -n ${DECOY:-} && -x $DECOY ]] || die "no decoy binary (build it with make, or set DECOY=/path/to/decoy)"
for t in /usr/bin/time wrk taskset curl awk; do
  command -v "$t" >/dev/null || die "$t not found (apt-get install time wrk util-linux curl)"
done

mkdir -p "$DIR" || die "cannot create $DIR"
SNAP=$DIR/snapshot-$N.jsonl
PATHS=$DIR/get-paths.txt
PF=$DIR/port
DPID=""
TPID=""
cleanup() {
  if [[ -n $DPID ]] && kill -0 "$DPID" 2>/dev/null; then kill -TERM "$DPID" 2>/dev/null; fi
  [[ -n $TPID ]] && wait "$TPID" 2>/dev/null
  [[ $KEEP == 1 ]] || rm -f "$SNAP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- generate

if [[ ${REUSE:-0} == 1 && -s $SNAP && -s $PATHS ]]; then
  log "reusing $SNAP"
else
log "generating $SNAP ($N transactions, $ROUTES routes)"
g0=$(date +%s%N)
awk -v n="$N" -v nroutes="$ROUTES" -v paths="$PATHS" '
  function hex(k,   s) { s = ""; while (k-- > 0) s = s substr("0123456789abcdef", int(rand() * 16) + 1, 1); return s }
  function esc(s) { gsub(/"/, "\\\"", s); return s }     # bodies hold no backslash or control character
  function hdr(name, value) { return "[\"" name "\",\"" value "\"]" }
  function ts(us,   s, d, h, m) {   # offset in microseconds from 2026-01-01T00:00:00Z (< 1 day)
    s = int(us / 1000000); us -= s * 1000000
    h = int(s / 3600); m = int((s % 3600) / 60)
    return sprintf("2026-01-01T%02d:%02d:%02d.%06dZ", h, m, s % 60, us)
  }
  BEGIN {
    srand(20260101)
    ns = split("catalog pricing inventory users payments search reviews shipping", svc, " ")
    split("catalog.internal:8080 pricing.internal:8080 inventory.internal:8080 users.internal:8443 api.payments.example:443 search.internal:9200 reviews.internal:8080 api.shipping.example:443", host, " ")
    split("products prices stock accounts charges queries reviews shipments", res, " ")
    split("false false false true true false false true", tls, " ")
    split("envoy nginx/1.24.0 envoy Jetty(11.0.20) payments-gw openresty gunicorn shipping-api", server, " ")
    split("red blue green black white silver navy olive", colour, " ")
    lorem = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt mollit anim id est laborum. "
    while (length(lorem) < 4096) lorem = lorem lorem
    # routes: method, target, request body, status
    for (r = 0; r < nroutes; r++) {
      s = r % ns + 1; rs[r] = s; id = 10000 + r
      if (r % 10 == 3) {
        meth[r] = "POST"; target[r] = "/v1/" res[s] "/" id "/events"; st[r] = 201; reason[r] = "Created"
        rqb[r] = "{\"type\":\"" (r % 3 ? "updated" : "viewed") "\",\"source\":\"orders\",\"ref\":\"ord-" sprintf("%06d", r * 37) "\",\"qty\":" (r % 7 + 1) "}"
      } else {
        meth[r] = "GET"; target[r] = "/v1/" res[s] "/" id; st[r] = 200; reason[r] = "OK"; rqb[r] = ""
        if (r % 4 == 1) target[r] = target[r] "?fields=id,name,price,stock&locale=en-US"
        print target[r] > paths
      }
    }
    close(paths)
    off = 0
    for (i = 0; i < n; i++) {
      r = (i < nroutes) ? i : int(rand() * nroutes)
      s = rs[r]
      off += 100 + int(rand() * 700000)            # ~0.35 s between calls
      ttfb = 800 + int(rand() * rand() * 40000)
      total = ttfb + 50 + int(rand() * 3000)
      rid = hex(8) "-" hex(4) "-4" hex(3) "-a" hex(3) "-" hex(12)
      # response body: ~1 KiB JSON, different per transaction
      b = "{\"id\":\"" res[s] "-" (10000 + r) "\",\"seq\":" i ",\"etag\":\"" hex(16) "\",\"updated_at\":\"" ts(off) "\"," \
          "\"name\":\"" svc[s] " item " r "\",\"status\":\"" (i % 9 ? "active" : "pending") "\"," \
          "\"price\":{\"amount\":" (100 + (r * 7919 + i) % 99900) ",\"currency\":\"EUR\",\"tax_rate\":0.19}," \
          "\"stock\":{\"available\":" ((r * 13 + i) % 500) ",\"reserved\":" (i % 17) ",\"warehouse\":\"wh-" (r % 12) "\"}," \
          "\"attributes\":{\"colour\":\"" colour[r % 8 + 1] "\",\"weight_g\":" (50 + r % 950) ",\"tags\":[\"t" (r % 10) "\",\"s" s "\",\"bench\"]}," \
          "\"links\":{\"self\":\"https://" host[s] "/v1/" res[s] "/" (10000 + r) "\",\"next\":\"https://" host[s] "/v1/" res[s] "?after=" (10000 + r) "\"}," \
          "\"description\":\""
      want = 900 + int(rand() * 250)               # body size 900..1149 bytes
      need = want - length(b) - 2
      if (need < 0) need = 0
      b = b substr(lorem, (i * 53) % 1024 + 1, need) "\"}"
      rqh = hdr("Host", host[s]) "," hdr("User-Agent", "orders/2.14.1 (+okhttp/4.12.0)") "," hdr("Accept", "application/json") "," \
            hdr("traceparent", "00-" hex(32) "-" hex(16) "-01") "," hdr("X-Request-Id", rid)
      if (s == 5) rqh = rqh "," hdr("Authorization", "Bearer eyJhbGciOiJIUzI1NiJ9." hex(24) "." hex(22))
      req = "{\"method\":\"" meth[r] "\",\"target\":\"" target[r] "\",\"host\":\"" host[s] "\",\"headers\":[" rqh
      if (rqb[r] != "") req = req "," hdr("Content-Type", "application/json") "," hdr("Content-Length", length(rqb[r])) "],\"body\":\"" esc(rqb[r]) "\"}"
      else req = req "]}"
      rsh = hdr("Content-Type", "application/json; charset=utf-8") "," hdr("Content-Length", length(b)) "," \
            hdr("Date", "Thu, 01 Jan 2026 00:00:00 GMT") "," hdr("Server", server[s]) "," \
            hdr("Cache-Control", (meth[r] == "GET") ? "private, max-age=30" : "no-store") "," \
            hdr("ETag", "W/\\\"" hex(16) "\\\"") "," hdr("Vary", "Accept-Encoding") "," hdr("X-Request-Id", rid)
      printf "{\"v\":1,\"id\":\"t-%06d\",\"ts\":\"%s\",\"dir\":\"out\",\"svc\":\"%s\",\"proto\":\"http/1.1\",\"tls\":%s,\"client\":\"10.0.3.17:%d\",\"server\":\"%s\",\"req\":%s,\"res\":{\"status\":%d,\"reason\":\"%s\",\"headers\":[%s],\"body\":\"%s\"},\"timing\":{\"start_us\":%.0f,\"ttfb_us\":%d,\"total_us\":%d},\"tags\":{\"session\":\"u-%d\"}}\n",
        i, ts(off), svc[s], tls[s], 32768 + i % 28000, host[s], req, st[r], reason[r], rsh, esc(b), 1767225600000000 + off, ttfb, total, i % 977
    }
  }' >"$SNAP" || die "snapshot generation failed" 1
g1=$(date +%s%N)
log "  generated in $(awk -v a="$g0" -v b="$g1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }') s"
fi
size=$(stat -c %s "$SNAP")
lines=$(wc -l <"$SNAP")
log "  $lines lines, $size bytes"
[[ ${GEN_ONLY:-0} == 1 ]] && { KEEP=1; exit 0; }   # bench/soak.sh: the snapshot only

# ---------------------------------------------------------------- load

rm -f "$PF" "$PF.tmp"
loadavg=$(cut -d' ' -f1 /proc/loadavg)
ncpu=$(awk -v l="$SERVER_CPU" 'BEGIN { n = 0; k = split(l, r, ","); for (i = 1; i <= k; i++) {
  if (split(r[i], a, "-") == 2) n += a[2] - a[1] + 1; else n++ } print n }')
rules=()
if [[ -n ${RULES:-} ]]; then
  [[ -r $RULES ]] || die "cannot read RULES=$RULES"
  rules=(--rules "$RULES")
fi
log "loading: /usr/bin/time -v $DECOY respond $SNAP --listen 127.0.0.1:0 --port-file $PF --workers $WORKERS ${rules[*]}"
t0=$(date +%s%N)
/usr/bin/time -v -o "$DIR/time.txt" taskset -c "$SERVER_CPU" "$DECOY" respond "$SNAP" --listen 127.0.0.1:0 \
  --port-file "$PF" --workers "$WORKERS" "${rules[@]}" >"$DIR/decoy.log" 2>&1 &
TPID=$!
deadline=$((t0 + LOAD_TIMEOUT * 1000000000))
while [[ ! -s $PF ]]; do
  kill -0 "$TPID" 2>/dev/null || { cat "$DIR/decoy.log" >&2; TPID=""; die "decoy exited before writing $PF" 1; }
  (($(date +%s%N) < deadline)) || die "no port file after ${LOAD_TIMEOUT}s" 1
  sleep 0.005
done
t1=$(date +%s%N)
port=$(<"$PF")
DPID=$(ps -o pid= --ppid "$TPID" | tr -d ' ' | head -1)   # time -> decoy (taskset execs)
[[ -n $DPID && -r /proc/$DPID/status ]] || die "cannot find decoy's PID under $TPID" 1
rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$DPID/status")
hwm_kb=$(awk '/^VmHWM:/ {print $2}' "/proc/$DPID/status")
st=$(<"/proc/$DPID/stat"); read -r -a f <<<"${st##*) }"
load_cpu=$(awk -v u="${f[11]}" -v s="${f[12]}" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f %.2f", u / hz, s / hz }')
log "  port $port after $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }') s (pid $DPID)"
grep -h 'serving' "$DIR/decoy.log" >&2

# ---------------------------------------------------------------- serve

served=0
code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port$(head -1 "$PATHS")")
cat >"$DIR/paths.lua" <<'EOF'
local reqs, n, i = {}, 0, 0
init = function(args)
  for p in io.lines(os.getenv("PATHS_FILE")) do reqs[n] = wrk.format("GET", p); n = n + 1 end
end
request = function() local r = reqs[i]; i = (i + 1) % n; return r end
done = function(s, lat, req)
  local e = s.errors
  io.write(string.format("LOAD requests=%d duration_us=%d p99_us=%d non2xx=%d sockerr=%d\n", s.requests,
    s.duration, lat:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
EOF
PATHS_FILE=$PATHS timeout $((WRK_SECONDS + 30)) taskset -c "$WRK_CPU" wrk -t1 -c"$WRK_CONNS" -d"${WRK_SECONDS}s" \
  --timeout 5s -s "$DIR/paths.lua" "http://127.0.0.1:$port/" >"$DIR/wrk.txt" 2>&1
wl=$(grep '^LOAD ' "$DIR/wrk.txt")
rss2_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$DPID/status" 2>/dev/null)
if [[ $code == 200 && -n $wl ]]; then
  read -r reqs non2xx sockerr < <(awk -v l="$wl" 'BEGIN { n = split(l, kv, /[ =]/); for (i = 2; i < n; i += 2) v[kv[i]] = kv[i + 1]
    print v["requests"], v["non2xx"], v["sockerr"] }')
  ((reqs > 0 && non2xx == 0 && sockerr == 0)) && served=1
fi
log "  serve check: first GET -> $code; wrk: ${wl:-no result (see $DIR/wrk.txt)}"

kill -TERM "$DPID" 2>/dev/null
wait "$TPID"
trc=$?
TPID=""
DPID_DONE=$DPID; DPID=""
maxrss_kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$DIR/time.txt")
log "  pid $DPID_DONE stopped by SIGTERM (exit $trc)"

# ---------------------------------------------------------------- report

NGET=$(wc -l <"$PATHS") awk -v size="$size" -v lines="$lines" -v t0="$t0" -v t1="$t1" -v rss="$rss_kb" -v hwm="$hwm_kb" \
    -v cpu="$load_cpu" -v ncpu="$ncpu" -v loadavg="$loadavg" -v rss2="${rss2_kb:-0}" -v maxrss="${maxrss_kb:-0}" -v wl="$wl" -v served="$served" -v strict="$STRICT" '
  BEGIN {
    mib = size / 1048576; secs = (t1 - t0) / 1e9; r = rss / 1024
    n = split(wl, kv, /[ =]/); for (i = 2; i < n; i += 2) v[kv[i]] = kv[i + 1]
    printf "\n== snapshot load (%d transactions)\n", lines
    printf "file size         %10.1f MiB\n", mib
    printf "load time         %10.3f s      target <= 3 s       %s\n", secs, secs <= 3 ? "met" : "MISSED"
    split(cpu, c, " ")
    printf "load CPU time     %10.2f s      (user %.2f + sys %.2f; wall > CPU when the core is shared)\n", c[1] + c[2], c[1], c[2]
    printf "projected idle    %10.2f s      (CPU s / %d CPU%s; load average %s at the start)\n", (c[1] + c[2]) / ncpu, ncpu, ncpu == 1 ? "" : "s", loadavg
    printf "RSS after load    %10.1f MiB    target <= %.1f MiB %s\n", r, 1.5 * mib, r <= 1.5 * mib ? "met" : "MISSED"
    printf "RSS / file size   %10.2f\n", r / mib
    printf "peak RSS (VmHWM)  %10.1f MiB    (time -v max RSS: %.1f MiB)\n", hwm / 1024, maxrss / 1024
    if (v["duration_us"] > 0)
      printf "serve check       %10.0f req/s  over %d GET routes, p99 %.2f ms, non-2xx %d, socket errors %d, RSS after %.1f MiB: %s\n",
        v["requests"] / (v["duration_us"] / 1e6), 0 + ENVIRON["NGET"], v["p99_us"] / 1000, v["non2xx"], v["sockerr"], rss2 / 1024, served ? "ok" : "FAILED"
    else
      print "serve check       FAILED"
    if (!served) exit 1
    if (strict == 1 && (secs > 3 || r > 1.5 * mib)) exit 3
  }'
