#!/bin/bash
# The admin API and `decoy ctl`: health and stats, listing the rules of a
# --rules file, adding a rule live and seeing it fire on a real request,
# disabling, enabling and removing it, a bad rule refused with the running
# rules unchanged, Prometheus metrics, the chaos log tail, reloads, and the
# bearer token.
. "$(dirname "$0")/lib.sh"

cat >"$T/snap.jsonl" <<'EOF2'
{"v":1,"id":"t-ping","dir":"out","req":{"method":"GET","target":"/v1/ping","host":"svc"},"res":{"status":200,"body":"pong"}}
{"v":1,"id":"t-tea","dir":"out","req":{"method":"GET","target":"/v1/tea","host":"svc"},"res":{"status":200,"body":"tea"}}
{"v":1,"id":"t-sku","dir":"out","req":{"method":"GET","target":"/v1/stock/sku-1","host":"svc"},"res":{"status":200,"body":"{\"sku\":\"sku-1\"}"}}
EOF2
cat >"$T/rules.yaml" <<'EOF2'
seed: 7
rules:
  - name: never
    match: {path: '^/nothing-here$'}
    fault: {status: 500}
EOF2
cat >"$T/maint.yaml" <<'EOF2'
name: maint
match: {path: '^/v1/ping$'}
fault: {status: 503}
EOF2
cat >"$T/bad.yaml" <<'EOF2'
name: broken
match: {path: '('}
fault: {status: 500}
EOF2

# rc CMD...: the exit status of CMD, its output dropped.
rc() {
	"$@" >/dev/null 2>&1
	echo $?
}
# code [CURL ARGS...] URL: the status code curl sees.
code() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$@"
}

start_respond r "$T/snap.jsonl" --rules "$T/rules.yaml" \
    --chaos-log "$T/chaos.jsonl" \
    --admin 127.0.0.1:0 --admin-port-file "$T/admin.port"
APORT=$(wait_port "$T/admin.port" "$PID_r") || exit 1
U="http://127.0.0.1:$PORT_r"
A="http://127.0.0.1:$APORT"
export DECOY_ADMIN="127.0.0.1:$APORT"
unset DECOY_TOKEN

# --- health and status
curl -s -D "$T/health.h" -o "$T/health" "$A/health"
check "GET /health: 200" grep -q '^HTTP/1.1 200' "$T/health.h"
check "GET /health: JSON" grep -qi '^Content-Type: application/json' "$T/health.h"
check "GET /health: status ok" grep -q '"status":"ok"' "$T/health"
check "GET /health: uptime" grep -q '"uptime_s":[0-9]' "$T/health"
"$DECOY" ctl status >"$T/status" 2>&1
check "ctl status: exit 0" [ $? -eq 0 ]
check "ctl status: a table" grep -Eq '^status +ok$' "$T/status"
check "ctl status: counters" grep -Eq '^requests +[0-9]+$' "$T/status"
"$DECOY" ctl status --json >"$T/status.json"
check "ctl status --json: both documents" \
    grep -q '^{"health":{.*"stats":{.*"requests":' "$T/status.json"

# --- the rules of the --rules file
curl -s "$A/rules" >"$T/rules0"
check "GET /rules: the file's rule" grep -q '"name":"never"' "$T/rules0"
check "GET /rules: the seed" grep -q '"seed":7' "$T/rules0"
"$DECOY" ctl rules >"$T/rules0.txt"
check "ctl rules: a table" grep -Eq '^NAME +ENABLED +MATCHED +FIRED$' "$T/rules0.txt"
check "ctl rules: the file's rule, enabled" grep -Eq '^never +yes +0 +0$' "$T/rules0.txt"
check "ctl rules --json" grep -q '"name":"never"' <("$DECOY" ctl rules --json)

# --- add a rule live; it fires on a real request
check "before: /v1/ping answers 200" [ "$(code "$U/v1/ping")" = 200 ]
out=$("$DECOY" ctl add "$T/maint.yaml" 2>&1)
check "ctl add: exit 0" [ $? -eq 0 ]
check "ctl add: names the rule" [ "$out" = "added maint" ]
check "the added rule fires: 503" [ "$(code "$U/v1/ping")" = 503 ]
check "other paths are untouched" [ "$(code "$U/v1/stock/sku-1")" = 200 ]
printf '{"name":"teapot","match":{"path":"^/v1/tea$"},"fault":{"status":418}}\n' |
    "$DECOY" ctl add - >/dev/null
check "ctl add - (JSON on stdin): the rule fires" [ "$(code "$U/v1/tea")" = 418 ]
check "GET /rules lists the added rules" \
    grep -q '"name":"maint".*"name":"teapot"' <(curl -s "$A/rules")
check "ctl add of an existing name: exit 1" [ "$(rc "$DECOY" ctl add "$T/maint.yaml")" = 1 ]
check "POST /rules of an existing name: 409" \
    [ "$(code --data-binary @"$T/maint.yaml" "$A/rules")" = 409 ]
check "POST /rules with an empty body: 400" \
    [ "$(code -X POST "$A/rules")" = 400 ]

# --- the chaos log
curl -s -D "$T/chaos.h" -o "$T/chaos" "$A/chaos"
check "GET /chaos: NDJSON" grep -qi '^Content-Type: application/x-ndjson' "$T/chaos.h"
check "GET /chaos: the injected fault" grep -q '"rule":"maint"' "$T/chaos"
check "ctl chaos: the injected fault" grep -q '"rule":"maint"' <("$DECOY" ctl chaos)
check "GET /chaos?tail=1: one line" [ "$(curl -s "$A/chaos?tail=1" | wc -l)" -eq 1 ]
check "ctl chaos -n 1: one line" [ "$("$DECOY" ctl chaos -n 1 | wc -l)" -eq 1 ]
check "GET /chaos?tail=x: 400" [ "$(code "$A/chaos?tail=x")" = 400 ]

# --- disable, enable
check "ctl disable: exit 0" [ "$(rc "$DECOY" ctl disable maint)" = 0 ]
check "a disabled rule does not fire" [ "$(code "$U/v1/ping")" = 200 ]
check "ctl rules: disabled" grep -Eq '^maint +no ' <("$DECOY" ctl rules)
check "ctl enable: exit 0" [ "$(rc "$DECOY" ctl enable maint)" = 0 ]
check "an enabled rule fires again" [ "$(code "$U/v1/ping")" = 503 ]
check "ctl rules: counts the matches" grep -Eq '^maint +yes +[1-9][0-9]* +[1-9][0-9]*$' <("$DECOY" ctl rules)
check "enable an unknown rule: 404" [ "$(code -X POST "$A/rules/nope/enable")" = 404 ]
check "ctl disable of an unknown rule: exit 1" [ "$(rc "$DECOY" ctl disable nope)" = 1 ]

# --- metrics
curl -s -D "$T/metrics.h" -o "$T/metrics" "$A/metrics"
check "GET /metrics: Prometheus text 0.0.4" \
    grep -qi '^Content-Type: text/plain; version=0.0.4' "$T/metrics.h"
for m in decoy_requests_total decoy_matched_total decoy_closest_total \
    decoy_unmatched_total decoy_rejected_total decoy_faulted_total \
    decoy_connections_total decoy_open_connections; do
	check "metrics: $m" grep -Eq "^$m [0-9]+\$" "$T/metrics"
done
check "metrics: decoy_requests_total counts the requests" \
    [ "$(sed -n 's/^decoy_requests_total //p' "$T/metrics")" -ge 6 ]
check "metrics: decoy_faults_total by rule and kind" \
    grep -Eq '^decoy_faults_total\{rule="maint",kind="[a-z_]+"\} [1-9]' "$T/metrics"
check "metrics: decoy_rule_matches_total" \
    grep -Eq '^decoy_rule_matches_total\{rule="maint"\} [1-9]' "$T/metrics"
check "metrics: decoy_rule_fired_total" \
    grep -Eq '^decoy_rule_fired_total\{rule="maint"\} [1-9]' "$T/metrics"
check "metrics: the histogram's type" \
    grep -q '^# TYPE decoy_response_delay_seconds histogram$' "$T/metrics"
inf=$(sed -n 's/^decoy_response_delay_seconds_bucket{le="+Inf"} //p' "$T/metrics")
cnt=$(sed -n 's/^decoy_response_delay_seconds_count //p' "$T/metrics")
check "metrics: +Inf bucket equals _count" [ "${inf:-x}" = "${cnt:-y}" ]
check "metrics: _sum" grep -Eq '^decoy_response_delay_seconds_sum [0-9.e+-]+$' "$T/metrics"
check "metrics: no sentinel bucket before +Inf" \
    sh -c "! grep -q 'le=\"1e+300\"' '$T/metrics'"
check "metrics: decoy_build_info" \
    grep -Eq '^decoy_build_info\{version="[^"]+"\} 1$' "$T/metrics"
now_s=$(date +%s)
start_s=$(sed -n 's/^process_start_time_seconds \([0-9]*\).*/\1/p' "$T/metrics")
check "metrics: process_start_time_seconds within the last hour" \
    awk -v s="${start_s:-}" -v n="$now_s" \
    'BEGIN { exit !(s != "" && s + 0 <= n + 0 && s + 0 > n - 3600) }'
if command -v promtool >/dev/null; then
	check "metrics: promtool check metrics is clean" \
	    sh -c "promtool check metrics <'$T/metrics' >'$T/promtool.log' 2>&1"
fi
# Buckets are cumulative: never decreasing.
check "metrics: buckets cumulative" awk '
	/^decoy_response_delay_seconds_bucket/ { if ($2 + 0 < last) bad = 1; last = $2 + 0; n++ }
	END { exit (bad || n < 2) }' "$T/metrics"
# Every sample line is `name{labels} value` or `name value`.
name='[a-zA-Z_:][a-zA-Z0-9_:]*'
label='[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*"'
value='(-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?|[-+]Inf|NaN)'
check "metrics: every line parses as Prometheus text" [ "$(grep -v '^#' "$T/metrics" |
    grep -Evc "^$name(\\{$label(,$label)*\\})? $value\$")" -eq 0 ]
# Every sample's family has # HELP and # TYPE lines.
check "metrics: HELP and TYPE for every family" awk '
	/^# HELP / { help[$3] = 1; next }
	/^# TYPE / { type[$3] = 1; next }
	/^#/ || /^$/ { next }
	{ n = $1; sub(/\{.*/, "", n)
	  if (!(n in type)) sub(/_(bucket|sum|count)$/, "", n)
	  if (!(n in type) || !(n in help)) { print "no HELP/TYPE: " n; bad = 1 } }
	END { exit bad }' "$T/metrics"
check "ctl metrics: the same text" grep -q '^decoy_requests_total ' <("$DECOY" ctl metrics)

# --- a bad rule is refused; the running rules are unchanged
curl -s "$A/rules" >"$T/before"
curl -s -o "$T/bad.out" -w '%{http_code}' --data-binary @"$T/bad.yaml" \
    "$A/rules" >"$T/bad.code"
check "POST /rules with a bad rule: 400" [ "$(cat "$T/bad.code")" = 400 ]
check "the error names admin:LINE:COL" grep -Eq '"error":"admin:[0-9]+:[0-9]+: ' "$T/bad.out"
"$DECOY" ctl add "$T/bad.yaml" >/dev/null 2>"$T/bad.err"
check "ctl add of a bad rule: exit 1" [ $? -eq 1 ]
check "ctl add prints the parser's message" grep -Eq 'admin:[0-9]+:[0-9]+: ' "$T/bad.err"
curl -s "$A/rules" >"$T/after"
check "the running rules are unchanged" same "$T/before" "$T/after"

# --- remove
check "ctl remove: exit 0" [ "$(rc "$DECOY" ctl remove maint)" = 0 ]
check "a removed rule does not fire" [ "$(code "$U/v1/ping")" = 200 ]
check "a removed rule is not listed" \
    bash -c '! curl -s "$1/rules" | grep -q "\"name\":\"maint\""' _ "$A"
check "DELETE of an unknown rule: 404" [ "$(code -X DELETE "$A/rules/maint")" = 404 ]
"$DECOY" ctl remove maint >/dev/null 2>"$T/rm.err"
check "ctl remove of an unknown rule: exit 1" [ $? -eq 1 ]
check "ctl remove of an unknown rule: says so" grep -q 'maint' "$T/rm.err"

# --- methods and paths
curl -s -D "$T/405.h" -o /dev/null -X PUT "$A/rules"
check "PUT /rules: 405" grep -q '^HTTP/1.1 405' "$T/405.h"
check "405 says what is allowed" grep -qi '^Allow: .*POST' "$T/405.h"
check "unknown path: 404" [ "$(code "$A/nope")" = 404 ]
printf 'GET /health HTTP/1.1\r\n\r\n' >"$T/nohost.req"
raw "$APORT" "$T/nohost.req" >"$T/nohost.resp"
check "a request without Host: 400" [ "$(status_of "$T/nohost.resp")" = 400 ]
check "the admin API survives it" [ "$(code "$A/health")" = 200 ]

# --- reload: a good one, then a broken rule file that is refused
check "ctl reload: exit 0" [ "$(rc "$DECOY" ctl reload)" = 0 ]
printf 'rules:\n  - name: never\n    match: {path: "("}\n    fault: {status: 500}\n' >"$T/rules.yaml"
check "POST /reload of a broken file: 422 (the files, not the server)" [ "$(code -X POST "$A/reload")" = 422 ]
"$DECOY" ctl reload >/dev/null 2>"$T/reload.err"
check "ctl reload of a broken file: exit 1" [ $? -eq 1 ]
check "ctl reload: the cause names the file" grep -q 'rules.yaml:' "$T/reload.err"
check "the running rules stay" grep -q '"name":"never"' <(curl -s "$A/rules")

# --- an admin API beyond loopback without a token: refused, the prefix
# "admin API:" said once (respond and decoyd)
"$DECOY" respond "$T/snap.jsonl" --listen 127.0.0.1:0 --admin 0.0.0.0:0 \
    >"$T/open.err" 2>&1
check "respond --admin 0.0.0.0 without a token: exit 2" [ $? -eq 2 ]
check "... 'admin API:' said once" \
    [ "$(grep -o 'admin API:' "$T/open.err" | wc -l)" = 1 ]
printf 'snapshot: %s\nlisten: 127.0.0.1:0\nadmin: {listen: 0.0.0.0:0}\n' \
    "$T/snap.jsonl" >"$T/open.yaml"
"$DECOYD" -c "$T/open.yaml" >"$T/dopen.err" 2>&1
check "decoyd: the same, exit 2" [ $? -eq 2 ]
check "... 'admin API:' at most once" \
    [ "$(grep -o 'admin API:' "$T/dopen.err" | wc -l)" -le 1 ]

# --- ctl without a server, and usage errors
"$DECOY" ctl --admin 127.0.0.1:1 status >/dev/null 2>"$T/conn.err"
check "ctl without a server: exit 2" [ $? -eq 2 ]
check "ctl without a server: names the address" grep -q '127.0.0.1:1' "$T/conn.err"
check "ctl with an unknown command: exit 2" [ "$(rc "$DECOY" ctl frobnicate)" = 2 ]
check "ctl --help: exit 0" [ "$(rc "$DECOY" ctl --help)" = 0 ]

# --- a bearer token
start_respond s "$T/snap.jsonl" --admin 127.0.0.1:0 \
    --admin-port-file "$T/admin-s.port" --admin-token s3cret
SPORT=$(wait_port "$T/admin-s.port" "$PID_s") || exit 1
S="http://127.0.0.1:$SPORT"
curl -s -D "$T/401.h" -o /dev/null "$S/health"
check "token: without it, 401" grep -q '^HTTP/1.1 401' "$T/401.h"
check "token: 401 asks for a bearer token" grep -qi '^WWW-Authenticate: Bearer' "$T/401.h"
check "token: a wrong one, 401" [ "$(code -H 'Authorization: Bearer wrong' "$S/health")" = 401 ]
check "token: the right one, 200" [ "$(code -H 'Authorization: Bearer s3cret' "$S/health")" = 200 ]
check "token: every endpoint" [ "$(code "$S/metrics")" = 401 ]
check "ctl without the token: exit 1" [ "$(rc "$DECOY" ctl --admin "127.0.0.1:$SPORT" status)" = 1 ]
check "ctl --token: exit 0" [ "$(rc "$DECOY" ctl --admin "127.0.0.1:$SPORT" --token s3cret status)" = 0 ]
check "ctl with DECOY_TOKEN: exit 0" \
    [ "$(DECOY_TOKEN=s3cret rc "$DECOY" ctl --admin "127.0.0.1:$SPORT" status)" = 0 ]

# --- not loopback and no token: refused at start
timeout 10 "$DECOY" respond "$T/snap.jsonl" --listen 127.0.0.1:0 \
    --admin 0.0.0.0:0 >"$T/open.log" 2>&1
check "a non-loopback admin address without a token: refused" [ $? -ne 0 ]
check "... saying a token is needed" grep -qi 'token' "$T/open.log"

# --- a token from a file, not the command line (ps shows those)
tok=tok-$RANDOM$RANDOM
printf '%s\n' "$tok" >"$T/token"
chmod 600 "$T/token"
"$DECOY" respond "$T/snap.jsonl" --listen 127.0.0.1:0 --port-file "$T/tf.port" \
    --admin 127.0.0.1:0 --admin-port-file "$T/tfa.port" \
    --admin-token-file "$T/token" >"$T/tf.log" 2>&1 &
tfpid=$!
PIDS+=("$tfpid")
tfa=$(wait_port "$T/tfa.port" "$tfpid")
check "--admin-token-file: no token, 401" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$tfa/stats")" = 401 ]
check "--admin-token-file: the file's token, 200" \
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" \
    "http://127.0.0.1:$tfa/stats")" = 200 ]
check "--admin-token-file: the token is not on the command line" \
    bash -c "! tr '\\0' ' ' </proc/$tfpid/cmdline | grep -q '$tok'"
check "--admin-token-file: no warning for a 0600 file" \
    bash -c "! grep -q 'readable by' '$T/tf.log'"
check "ctl --token-file: exit 0" [ "$(rc "$DECOY" ctl -a "127.0.0.1:$tfa" \
    --token-file "$T/token" status)" = 0 ]
check "ctl without the token: refused" [ "$(rc "$DECOY" ctl -a "127.0.0.1:$tfa" \
    status)" != 0 ]
stop "$tfpid"
chmod 644 "$T/token"
"$DECOY" respond "$T/snap.jsonl" --listen 127.0.0.1:0 --port-file "$T/tf2.port" \
    --admin 127.0.0.1:0 --admin-token-file "$T/token" >"$T/tf2.log" 2>&1 &
tfpid=$!
PIDS+=("$tfpid")
wait_port "$T/tf2.port" "$tfpid" >/dev/null
check "--admin-token-file readable by others: a warning" \
    grep -q 'readable by everyone' "$T/tf2.log"
stop "$tfpid"
: >"$T/empty"
check "--admin-token-file empty: exit 2" [ "$(rc "$DECOY" respond "$T/snap.jsonl" \
    --listen 127.0.0.1:0 --admin 127.0.0.1:0 --admin-token-file "$T/empty")" = 2 ]

done_testing
