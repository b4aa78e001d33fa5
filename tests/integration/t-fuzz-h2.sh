#!/bin/bash
# t-fuzz-h2.sh -- `decoy fuzz --http2`: examples/buggy speaks HTTP/1.1
# only, so h2o (a server nobody here wrote) is its h2 front, a reverse
# proxy.  The corpus is buggy's POST /payments (its three planted 500s,
# and no crash that would take the service down behind the proxy).
# Checked: the campaign finds the three 500s as three findings over h2
# (h2o's access log: every request HTTP/2), says how many mutants h2
# cannot carry were skipped, finding.json says "protocol":"h2", repro.sh
# reproduces a finding with curl over h2 (prior knowledge), and
# `decoy fuzz --replay --http2` finds them all still failing (exit 1).
. "$(dirname "$0")/lib.sh"

BUGGY=$top_builddir/examples/buggy/buggy
SNAP=$top_srcdir/examples/snapshots/buggy.jsonl
[ -x "$BUGGY" ] || skip "examples/buggy/buggy not built"
command -v h2o >/dev/null || skip "h2o is not installed"
command -v curl >/dev/null || skip "curl is not installed"
curl --version | grep -qi 'HTTP2' || skip "curl has no HTTP/2"
command -v jq >/dev/null || skip "jq is not installed"

start_bg buggy "$T/buggy.port" "$BUGGY" --port-file "$T/buggy.port"

start_h2o /healthz "user: $(id -un)
error-log: $T/h2o-error.log
listen:
  host: 127.0.0.1
  port: @PORT@
hosts:
  default:
    paths:
      /:
        proxy.reverse.url: http://127.0.0.1:$PORT_buggy/
    access-log:
      path: $T/access.log
      format: '%H %m %U %s'"
P=$HPORT
: >"$T/access.log"

"$DECOY" corpus "$SNAP" -o "$T/all" >/dev/null || fatal "decoy corpus failed"
mkdir "$T/corpus"
cp "$T"/all/*post-payments*.http "$T/corpus/" || fatal "no payments request"

"$DECOY" fuzz "$T/corpus" --target "http://127.0.0.1:$P" --http2 \
    --requests 2000 --seed 1 --findings "$T/f" >"$T/fuzz.out" 2>"$T/fuzz.log"
check "campaign: exit 1 (findings)" [ $? -eq 1 ]
counts=
for e in KeyError TypeError OverflowError; do
	counts="$counts$(grep -c "^[0-9]*-5xx-post-payments .*exception=$e" \
	    "$T/fuzz.out") "
done
check "campaign: the three planted 500s, each once" [ "$counts" = "1 1 1 " ]
check "campaign: nothing but 5xx findings" \
    [ "$(grep -c '^[0-9][0-9][0-9]-' "$T/fuzz.out")" -eq 3 ]
check "campaign: the skipped mutants are said" \
    grep -q '^over h2: [0-9]* mutants h2 cannot carry' "$T/fuzz.out"
check "h2o: every request arrived over HTTP/2" \
    eval "[ \$(grep -c '^HTTP/2 ' '$T/access.log') -gt 1000 ] &&
    ! grep -qv '^HTTP/2 ' '$T/access.log'"
f1=$(ls -d "$T"/f/001-* | head -n 1)
check "finding.json: protocol h2" \
    [ "$(jq -r .protocol "$f1/finding.json")" = h2 ]
check "finding.json: the answer kept is h2o's 500" \
    grep -q '^HTTP/2 500' <(jq -r .response "$f1/finding.json")
check "repro.sh: curl over h2" \
    grep -q -- '--http2-prior-knowledge' "$f1/repro.sh"
bash "$f1/repro.sh" >"$T/repro.out" 2>&1
check "repro.sh: reproduces the 500 over h2" \
    grep -q '^HTTP/2 500' "$T/repro.out"
check "repro.sh: the same exception" \
    eval "grep -q \"\$(jq -r .signature '$f1/finding.json' |
    sed -n 's/.*exception=\\([A-Za-z]*\\).*/\\1/p')\" '$T/repro.out'"

"$DECOY" fuzz --replay "$T/f" --target "http://127.0.0.1:$P" --http2 \
    >"$T/replay.out" 2>"$T/replay.log"
rc=$?
check "--replay --http2: exit 1" [ "$rc" -eq 1 ]
check "--replay --http2: all three still fail" \
    grep -q '^3 of 3 findings still fail' "$T/replay.out"

done_testing
