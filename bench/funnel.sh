#!/usr/bin/env bash
# funnel.sh - what the capture funnel costs per transaction.
#
# Generates a HAR of N transactions (default 50000: 40 endpoints with
# numeric ids, a JWT in Authorization whose exp changes, JSON bodies with
# a timestamp and a UUID nonce, 1 in 4 of them alike but for those) and
# imports it with `decoy import har` RUNS times (default 5) per option
# set, the sets alternating within each round: none, then each rule set
# so that it keeps every transaction (filters that match all, --sample 1,
# --dedup 1000000, --cap 1000000/1m, all of them), so that the output,
# the HAR decoding and the snapshot write are the same in every set and
# the difference is the funnel's work; then the sets that drop (the
# output shrinks, so their times are not the funnel's cost).  Prints each
# run (CPU time, user + system, which the machine's noise moves less
# than wall time) and each set's median, with the extra ns per
# transaction over "none".  Pinned to CPU $CPU (default 1) when taskset
# exists.  Build without --enable-debug.
#
# Environment: DECOY (default <builddir>/decoy)  N=50000  RUNS=5  CPU=1
# Exit status: 0 ok; 1 a run failed; 2 missing binary or python.

set -uo pipefail

builddir=${top_builddir:-$(pwd)}
DECOY=${DECOY:-$builddir/decoy}
N=${N:-50000}
RUNS=${RUNS:-5}
CPU=${CPU:-1}
PY=/usr/bin/python3

[ -x "$DECOY" ] || { echo "funnel.sh: $DECOY not built" >&2; exit 2; }
[ -x "$PY" ] || { echo "funnel.sh: $PY missing" >&2; exit 2; }
PIN=
command -v taskset >/dev/null 2>&1 && PIN="taskset -c $CPU"
T=$(mktemp -d "${TMPDIR:-/tmp}/decoy-bench-funnel.XXXXXX")
trap 'rm -rf "$T"' EXIT

"$PY" - "$N" "$T/in.har" <<'PYEOF'
import base64, json, sys, time, uuid
n, out = int(sys.argv[1]), sys.argv[2]
t0 = 1764133260
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
head = b64(b'{"alg":"HS256","typ":"JWT"}')
with open(out, "w") as f:
    f.write('{"log":{"version":"1.2","creator":{"name":"bench","version":"1"},"entries":[')
    for i in range(n):
        ts = t0 + i * 0.01
        iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(int(ts))) + ".%03dZ" % (i % 1000)
        tok = head + "." + b64(json.dumps({"sub": "u-%d" % (i % 97), "exp": int(ts) + 3600}).encode()) + "." + b64(bytes((i + k) % 256 for k in range(32)))
        ep = i % 40
        acct = i % 4 if i % 4 else i
        body = json.dumps({"account": "acct-%d" % acct, "qty": ep, "at": iso, "nonce": str(uuid.UUID(int=i * 7919 + 1, version=4))})
        e = {"startedDateTime": iso, "time": 2,
             "request": {"method": "POST" if ep % 3 else "GET",
                         "url": "http://api%d.example/v1/r%d/%d/items?page=%d" % (ep % 3, ep, i % 1000, i % 5),
                         "httpVersion": "HTTP/1.1",
                         "headers": [{"name": "Host", "value": "api%d.example" % (ep % 3)},
                                     {"name": "Authorization", "value": "Bearer " + tok},
                                     {"name": "Content-Type", "value": "application/json"}],
                         "queryString": [], "cookies": [], "headersSize": -1, "bodySize": len(body),
                         "postData": {"mimeType": "application/json", "text": body}},
             "response": {"status": 200 if i % 11 else 503, "statusText": "", "httpVersion": "HTTP/1.1",
                          "headers": [], "cookies": [],
                          "content": {"size": 2, "mimeType": "application/json", "text": "{}"},
                          "redirectURL": "", "headersSize": -1, "bodySize": 2},
             "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 1}}
        f.write(("," if i else "") + json.dumps(e))
    f.write("]}}")
PYEOF

names=(none filters sample dedup cap all drop-dedup drop-all)
keepall="--include-host . --include-path . --method GET,POST --status 100-599"
args=("" "$keepall" "--sample 1" "--dedup 1000000" "--cap 1000000/1m"
    "$keepall --sample 1 --dedup 1000000 --cap 1000000/1m" "--dedup 1"
    "--exclude-host ^api2 --include-path ^/v1/ --status 2xx --dedup 1 --sample 0.5 --cap 10/1m")
declare -A times
status=0
for r in $(seq 1 "$RUNS"); do
	for k in "${!names[@]}"; do
		# shellcheck disable=SC2086
		/usr/bin/time -o "$T/time" -f "%U %S" $PIN "$DECOY" import har \
		    "$T/in.har" -o "$T/out.jsonl" --json ${args[$k]} \
		    >"$T/sum.json" 2>/dev/null || status=1
		e=$(awk '{ printf "%d", ($1 + $2) * 1000 }' "$T/time")
		times[${names[$k]}]+="$e "
		echo "run $r ${names[$k]}: $e ms CPU, kept $(sed 's/.*"kept":\([0-9]*\).*/\1/' "$T/sum.json")"
	done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
base=$(echo "${times[none]}" | median)
for k in "${names[@]}"; do
	m=$(echo "${times[$k]}" | median)
	echo "$k: median $m ms CPU over $N transactions ($(( (m - base) * 1000000 / N )) ns/txn more than none)"
done
exit $status
