#!/bin/bash
# t-kube-compose: deploy/compose/compose.yaml run without Docker.  Each
# service's command, as the file writes it, runs here with the image's
# entrypoint (this build's decoy) and the bind mounts mapped to the
# repository paths they name; only the addresses change (port 0 instead of
# the fixed ports, 127.0.0.1 instead of the service names).  The
# responder's healthcheck fails before it runs and passes after; the shop's
# orders (the service under test) answers the load; the load's report
# holds the recorded 42 requests.
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || skip "jq is not installed"
PY=/usr/bin/python3
"$PY" -c 'import yaml' 2>/dev/null || skip "no python3-yaml"
DIR=$top_srcdir/deploy/compose

"$PY" - "$DIR/compose.yaml" "$DIR" "$T" <<'PYEOF'
import os, sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
base, out = sys.argv[2], sys.argv[3]
s = c["services"]
def mounts(svc):
    m = {}
    for v in svc.get("volumes", []):
        src, dst = v.split(":")[:2]
        src = os.path.normpath(os.path.join(base, src))
        # Written mounts go to the test's directory (the source tree may
        # be read-only, as under make distcheck).
        if src == os.path.normpath(os.path.join(base, "reports")):
            src = os.path.join(out, "reports")
            os.makedirs(src, exist_ok=True)
        m[dst] = src
    return m
def mapped(svc, args):
    r = []
    for a in args:
        a = str(a)
        for dst, src in mounts(svc).items():
            if a.startswith(dst + "/"):
                a = src + a[len(dst):]
        r.append(a)
    return r
def w(name, v):
    with open(f"{out}/{name}", "w") as f:
        f.write("\n".join(v) + "\n")
w("deps.cmd", mapped(s["deps"], s["deps"]["command"]))
w("deps.health", [str(x) for x in s["deps"]["healthcheck"]["test"][1:]])
w("orders.cmd", [str(x) for x in s["orders"]["command"]])
w("load.cmd", mapped(s["load"], s["load"]["command"]))
w("facts", [s["orders"]["depends_on"]["deps"]["condition"],
            s["load"]["depends_on"]["orders"]["condition"],
            s["deps"]["image"], s["load"]["image"]])
PYEOF
check "compose.yaml was read" test -s "$T/deps.cmd"
check "orders waits for deps to be healthy" \
    test "$(sed -n 1p "$T/facts")" = service_healthy
check "deps and load run the decoy image" \
    test "$(sed -n 3p "$T/facts") $(sed -n 4p "$T/facts")" = "decoy:0.1.0 decoy:0.1.0"

# deps: its command, on free ports.
mapfile -t DEPS < <(sed -e 's|^0\.0\.0\.0:9090$|127.0.0.1:0|' \
    -e 's|^127\.0\.0\.1:9901$|127.0.0.1:0|' "$T/deps.cmd")
check "deps' files exist: ${DEPS[1]}" test -f "${DEPS[1]}"
mapfile -t HEALTH <"$T/deps.health"
check "the healthcheck is decoy ctl status" \
    test "${HEALTH[0]} ${HEALTH[1]} ${HEALTH[-1]}" = "decoy ctl status"
"$DECOY" ctl --admin 127.0.0.1:1 --timeout 1s status >/dev/null 2>&1
check "the healthcheck fails with nothing there" test $? -ne 0
start_bg deps "$T/deps.port" "$DECOY" "${DEPS[@]}" --port-file "$T/deps.port" \
    --admin-port-file "$T/admin.port" -w 1
wait_for "the admin port" test -s "$T/admin.port"
H=("${HEALTH[@]}")
for ((i = 0; i < ${#H[@]}; i++)); do
	[ "${H[$i]}" = 127.0.0.1:9901 ] && H[$i]=127.0.0.1:$(cat "$T/admin.port")
done
"$DECOY" "${H[@]:1}" >/dev/null 2>&1
check "the healthcheck passes once deps is up" test $? -eq 0

# orders: the shop's, with the compose arguments.
mapfile -t ORD < <(sed -e "s|^http://deps:9090$|http://127.0.0.1:$PORT_deps|" \
    -e 's|^8000$|0|' "$T/orders.cmd")
start_bg orders "$T/orders.port" "$SHOP/orders" "${ORD[@]}" \
    --port-file "$T/orders.port"

# load: its command, reports to $T.
mkdir -p "$T/reports"
mapfile -t LOAD < <(sed -e "s|^http://orders:8000$|http://127.0.0.1:$PORT_orders|" \
    -e "s|^$DIR/reports/|$T/reports/|" "$T/load.cmd")
"$DECOY" "${LOAD[@]}" >"$T/load.out" 2>"$T/load.log"
check "the load runs (exit 0 or 1: regressions)" test $? -le 1
check "the report holds the 42 recorded requests" \
    test "$(jq .totals.count "$T/reports/report.json")" = 42
check "the HTML report is written" test -s "$T/reports/report.html"

done_testing
