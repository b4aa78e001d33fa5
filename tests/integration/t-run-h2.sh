#!/bin/bash
# decoy run over HTTP/2: load.http2 (and load.streams) replay the
# snapshot as h2 streams against h2o (its access log says HTTP/2 for each
# request but the readiness probe; without the key, HTTP/1.1), and responder.http2: false starts
# the responder with --no-http2 (a prior-knowledge curl, run by the
# service's command before h2o starts, gets no h2 from it; by default
# it does).  --check accepts the keys and names a bad value at its line.
. "$(dirname "$0")/lib.sh"

command -v h2o >/dev/null || skip "h2o is not installed"
mkdir -p "$T/www" "$T/tmp"
export TMPDIR=$T/tmp
printf 'hello from h2o' >"$T/www/hello.txt"
for i in 1 2 3 4 5 6; do
	printf '{"v":1,"id":"r%d","dir":"in","timing":{"start_us":%d000},"req":{"method":"GET","target":"/hello.txt","headers":[]},"res":{"status":200,"headers":[],"body":"hello from h2o"}}\n' "$i" "$i"
done >"$T/snap.jsonl"
cat >"$T/h2o.tmpl" <<EOF2
user: $(id -un)
error-log: $T/h2o-error.log
listen:
  host: 127.0.0.1
  port: PORT
hosts:
  default:
    paths:
      /:
        file.dir: $T/www
    access-log:
      path: $T/access.log
      format: '%H %m %U %s'
EOF2

# scenario NAME LOAD RESPONDER: a scenario file for h2o with those extra
# lines in its load and responder sections.
scenario() {
	cat >"$T/$1.yaml" <<EOF2
name: $1
snapshot: $T/snap.jsonl
service:
  url: http://127.0.0.1:{service_port}
  command: >-
    curl -s -o /dev/null -w '%{http_version}' --http2-prior-knowledge
    http://127.0.0.1:{responder_port}/x >$T/$1.rver;
    sed s/PORT/{service_port}/ $T/h2o.tmpl >$T/$1.h2o.conf &&
    exec h2o -c $T/$1.h2o.conf
  ready: {path: /hello.txt, timeout: 10s}
responder:
  listen: 127.0.0.1:0
$3
load:
  pattern: replay
  multiplier: 100
  connections: 2
$2
assert:
  error_rate: {max: 0%}
report: {json: $T/$1.report.json}
EOF2
}

scenario h2 "  http2: true
  streams: 4" "  http2: false"
check "--check takes http2, streams and responder.http2" \
    "$DECOY" run --check "$T/h2.yaml"
: >"$T/access.log"
"$DECOY" run "$T/h2.yaml" >"$T/h2.out" 2>"$T/h2.log"
st=$?
check "h2 scenario: exit 0" [ "$st" -eq 0 ]
[ "$st" -eq 0 ] || cat "$T/h2.out" "$T/h2.log" >&2
# The readiness probe is HTTP/1.1; the load's six requests are h2.
check "h2 scenario: h2o saw the 6 requests over HTTP/2" \
    bash -c "[ \$(grep -c '^HTTP/2 GET /hello.txt 200' '$T/access.log') -eq 6 ] && [ \$(grep -c '^HTTP/1' '$T/access.log') -eq 1 ]"
check "responder.http2: false: no h2 from the responder" \
    bash -c "[ \"\$(cat '$T/h2.rver')\" != 2 ]"

scenario h1 "" ""
: >"$T/access.log"
"$DECOY" run "$T/h1.yaml" >"$T/h1.out" 2>"$T/h1.log"
check "default scenario: exit 0" [ $? -eq 0 ]
check "default: h2o saw HTTP/1.1" \
    bash -c "[ \$(grep -c '^HTTP/1.1 GET /hello.txt 200' '$T/access.log') -eq 7 ] && ! grep -q '^HTTP/2' '$T/access.log'"
check "default: the responder speaks h2 (prior knowledge)" \
    [ "$(cat "$T/h1.rver")" = 2 ]

scenario bad "  http2: maybe
  streams: 0" ""
"$DECOY" run --check "$T/bad.yaml" >"$T/bad.out" 2>&1
check "bad values: exit 2" [ $? -eq 2 ]
check "bad values: named at their lines" \
    bash -c "grep -q 'bad.yaml:[0-9]*:[0-9]*: .*http2' '$T/bad.out' && grep -q 'bad.yaml:[0-9]*:[0-9]*: .*streams' '$T/bad.out'"

done_testing
