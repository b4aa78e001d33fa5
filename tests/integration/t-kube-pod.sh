#!/bin/bash
# t-kube-pod: a pod simulated in network namespaces, running exactly what
# `decoy kube inject` writes.  The "pod" namespace and a "dep" namespace
# (the real dependency, on $D:9090) are joined by a veth pair.  In the pod:
# the init container's command line runs as root with only CAP_NET_ADMIN
# (bounding and inheritable sets, no_new_privs: what the manifest's
# securityContext gives it); the sidecar's command runs as its uid (1337)
# on the snapshot volume; its startup probe fails before it runs and passes
# once it is up, before the app starts; the unmodified app (another uid)
# calls the dependency's real address and gets decoy's answer; decoy's own
# uid reaches the real dependency (no loop); other ports are left alone.
# Removing the pod leaves the host's iptables as they were, and `decoy
# redirect remove` leaves the pod's as they were.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, iptables)"
for c in ip iptables iptables-save setpriv curl; do
	command -v "$c" >/dev/null || skip "$c is not installed"
done
PY=/usr/bin/python3
"$PY" -c 'import yaml' 2>/dev/null || skip "no python3-yaml"

POD=dcy-pod-$$
DEP=dcy-pdep-$$
NS_MADE=()
ns_cleanup() {
	local n
	for n in "${NS_MADE[@]}"; do
		ip netns del "$n" 2>/dev/null
	done
}
trap 'cleanup; ns_cleanup' EXIT

host_rules() {
	iptables-save 2>/dev/null | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'
}
host_rules >"$T/host.before"

ip netns add "$POD" 2>/dev/null || skip "ip netns add failed"
NS_MADE+=("$POD")
ip netns add "$DEP" 2>/dev/null || skip "ip netns add failed"
NS_MADE+=("$DEP")
X=$(($$ % 250 + 1))
P=10.79.$X.1
D=10.79.$X.2
ip -n "$POD" link add vp type veth peer name vd netns "$DEP" ||
	fatal "cannot make the veth pair"
ip -n "$POD" addr add "$P/24" dev vp
ip -n "$DEP" addr add "$D/24" dev vd
for l in "$POD lo" "$POD vp" "$DEP lo" "$DEP vd"; do
	set -- $l
	ip -n "$1" link set "$2" up
done
ip netns exec "$POD" iptables -w -t nat -N DCY_PROBE 2>/dev/null &&
	ip netns exec "$POD" iptables -w -t nat -X DCY_PROBE ||
	skip "the iptables nat table is not available"
pod_rules() {
	ip netns exec "$POD" iptables-save | grep -v '^#' |
	    sed 's/\[[0-9]*:[0-9]*\]//'
}
pod_rules >"$T/pod.before"

# --- the real dependency, in dep, on two ports.
cat >"$T/real.jsonl" <<EOF2
{"v":1,"id":"r-1","dir":"out","req":{"method":"GET","target":"/v1/charge"},"res":{"status":200,"reason":"OK","headers":[["Content-Type","text/plain"]],"body":"real payments\n"}}
EOF2
start_bg real "$T/real.port" ip netns exec "$DEP" "$DECOY" respond \
    "$T/real.jsonl" --listen "$D:9090" --port-file "$T/real.port" -w 1
start_bg real2 "$T/real2.port" ip netns exec "$DEP" "$DECOY" respond \
    "$T/real.jsonl" --listen "$D:9091" --port-file "$T/real2.port" -w 1

# --- the manifest, injected.
cat >"$T/pod.yaml" <<EOF2
apiVersion: v1
kind: Pod
metadata:
  name: orders
  annotations:
    decoy.dev/inject: "true"
    decoy.dev/snapshot-volume: snaps
    decoy.dev/redirect-ports: "9090"
spec:
  containers:
  - name: app
    image: shop-orders:candidate
    securityContext: {runAsUser: 1000}
  volumes:
  - name: snaps
    persistentVolumeClaim: {claimName: snaps}
EOF2
"$DECOY" kube inject "$T/pod.yaml" >"$T/injected.yaml"
check "inject exits 0" test $? -eq 0
"$PY" - "$T/injected.yaml" "$T" <<'PYEOF'
import json, sys, yaml
pod = yaml.safe_load(open(sys.argv[1]))
init = {c["name"]: c for c in pod["spec"]["initContainers"]}
out = sys.argv[2]
def w(name, v):
    with open(f"{out}/{name}", "w") as f:
        f.write("\n".join(str(x) for x in v) + "\n")
r, s = init["decoy-redirect"], init["decoy"]
w("init.cmd", r["command"])
w("init.caps", r["securityContext"]["capabilities"]["add"])
w("init.uid", [r["securityContext"]["runAsUser"]])
w("init.escalate", [r["securityContext"]["allowPrivilegeEscalation"]])
w("side.cmd", s["command"])
w("side.uid", [s["securityContext"]["runAsUser"]])
w("side.restart", [s["restartPolicy"]])
w("side.probe", s["startupProbe"]["exec"]["command"])
w("side.ready", s["readinessProbe"]["exec"]["command"])
w("order", [c["name"] for c in pod["spec"]["initContainers"]])
PYEOF
check "the manifest was read" test -s "$T/side.cmd"
check "the init container adds only NET_ADMIN" \
    test "$(cat "$T/init.caps")" = NET_ADMIN
check "the init container runs as root without privilege escalation" \
    test "$(cat "$T/init.uid") $(cat "$T/init.escalate")" = "0 False"
check "the sidecar is a native sidecar" test "$(cat "$T/side.restart")" = Always
check "the redirect runs before the sidecar" \
    test "$(tr '\n' ' ' <"$T/order")" = "decoy-redirect decoy "
uid=$(cat "$T/side.uid")
check "the sidecar runs as uid 1337" test "$uid" = 1337

# The snapshot volume, mounted where the sidecar reads it; the pod's
# binaries are this build's.
mkdir -p "$T/data"
cat >"$T/data/deps.jsonl" <<EOF2
{"v":1,"id":"d-1","dir":"out","server":"$D:9090","req":{"method":"GET","target":"/v1/charge","host":"$D:9090"},"res":{"status":200,"reason":"OK","headers":[["Content-Type","text/plain"]],"body":"from decoy\n"}}
EOF2
chmod 755 "$T" "$T/data"
chmod 644 "$T/data/deps.jsonl"
mapfile -t INIT <"$T/init.cmd"
mapfile -t SIDE < <(sed "s|^/var/lib/decoy/data/|$T/data/|" "$T/side.cmd")
mapfile -t PROBE <"$T/side.probe"
mapfile -t READY <"$T/side.ready"
export PATH="$top_builddir:$PATH"

# --- the init container: root, CAP_NET_ADMIN alone, no new privileges.
CAPS=(setpriv --no-new-privs --bounding-set=-all,+net_admin
    --inh-caps=-all,+net_admin)
ip netns exec "$POD" "${CAPS[@]}" grep CapEff /proc/self/status >"$T/capeff"
check "the init container's capabilities are NET_ADMIN only (bit 12)" \
    grep -q -P 'CapEff:\t0000000000001000$' "$T/capeff"
ip netns exec "$POD" "${CAPS[@]}" "${INIT[@]}" >"$T/init.log" 2>&1
check "the init container's command succeeds: ${INIT[*]}" test $? -eq 0
check "it installed the redirect" grep -q DECOY_REDIRECT <(pod_rules)

# --- the sidecar, as its uid, unprivileged.
AS_SIDE=(setpriv --reuid="$uid" --regid="$uid" --clear-groups --no-new-privs
    --inh-caps=-all --bounding-set=-all)
ip netns exec "$POD" "${AS_SIDE[@]}" "${PROBE[@]}" >/dev/null 2>&1
check "the startup probe fails before the sidecar runs" test $? -ne 0
ip netns exec "$POD" "${AS_SIDE[@]}" "${SIDE[@]}" >"$T/sidecar.log" 2>&1 &
PIDS+=("$!")
SIDE_PID=$!
ready=0
for ((i = 0; i < 500; i++)); do
	if ip netns exec "$POD" "${AS_SIDE[@]}" "${PROBE[@]}" >/dev/null 2>&1; then
		ready=1
		break
	fi
	kill -0 "$SIDE_PID" 2>/dev/null || break
	sleep 0.02
done
check "the startup probe passes once the sidecar is up" test "$ready" = 1
ip netns exec "$POD" "${AS_SIDE[@]}" "${READY[@]}" >/dev/null 2>&1
check "the readiness probe passes" test $? -eq 0

# --- the app, started after the probe passed, as another uid.
AS_APP=(setpriv --reuid=1000 --regid=1000 --clear-groups --no-new-privs
    --inh-caps=-all --bounding-set=-all)
ip netns exec "$POD" "${AS_APP[@]}" curl -s -S --max-time 10 \
    "http://$D:9090/v1/charge" >"$T/app.out" 2>&1
check "the app's call to $D:9090 is answered by decoy" \
    grep -q -x 'from decoy' "$T/app.out"
ip netns exec "$POD" "${AS_APP[@]}" curl -s -S --max-time 10 \
    "http://$D:9091/v1/charge" >"$T/app2.out" 2>&1
check "a port not named by the annotation reaches the real dependency" \
    grep -q -x 'real payments' "$T/app2.out"
ip netns exec "$POD" "${AS_SIDE[@]}" curl -s -S --max-time 10 \
    "http://$D:9090/v1/charge" >"$T/own.out" 2>&1
check "decoy's own uid is not redirected (no loop)" \
    grep -q -x 'real payments' "$T/own.out"

# --- the pod goes away.
stop "$SIDE_PID"
ip netns exec "$POD" "${CAPS[@]}" "$DECOY" redirect remove >>"$T/init.log" 2>&1
check "redirect remove leaves the pod's rules as they were" \
    diff "$T/pod.before" <(pod_rules)
stop_all
ns_cleanup
NS_MADE=()
check "the host's iptables are as they were" \
    diff "$T/host.before" <(host_rules)
check "no decoy chain on the host" bash -c "! iptables-save | grep -q DECOY"

done_testing
