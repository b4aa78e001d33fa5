#!/bin/bash
# Transparent mode end to end, in two network namespaces this test makes:
# "app" (the client, decoy, the redirect rules) and "dep" (the real
# dependencies), joined by a veth pair.  An unmodified curl in app calls
# the dep IP directly; `decoy redirect install` sends the call to `decoy
# record --transparent`, which relays it to the original destination and
# records it (an h2 prior-knowledge call too); then, with the origins gone, `decoy respond --transparent`
# answers the same commands byte for byte, and a request without a Host
# header is matched by its original destination.  iptables-save in app is
# the same before install and after remove.  The root namespace's rules
# are never touched.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root (network namespaces, iptables)"
command -v ip >/dev/null || skip "ip(8) is not installed"
command -v iptables >/dev/null && command -v iptables-save >/dev/null ||
	skip "iptables is not installed"

APP=dcy-app-$$
DEP=dcy-dep-$$
NS_MADE=()
ns_cleanup() {
	local n
	for n in "${NS_MADE[@]}"; do
		ip netns del "$n" 2>/dev/null
	done
}
# lib's cleanup stops our processes (they live in the namespaces) first.
trap 'cleanup; ns_cleanup' EXIT

ip netns add "$APP" 2>/dev/null || skip "ip netns add failed"
NS_MADE+=("$APP")
ip netns add "$DEP" 2>/dev/null || skip "ip netns add failed"
NS_MADE+=("$DEP")
# Background servers are started with `ip netns exec` itself (it execs the
# command, so the PID lib.sh records is the server's), never through app().
app() { ip netns exec "$APP" "$@"; }

# 10.77.X.0/24, X from the PID (each namespace is private anyway).
X=$(($$ % 250 + 1))
A=10.77.$X.1
D=10.77.$X.2
ip -n "$APP" link add va type veth peer name vd netns "$DEP" ||
	fatal "cannot make the veth pair"
ip -n "$APP" addr add "$A/24" dev va
ip -n "$DEP" addr add "$D/24" dev vd
ip -n "$APP" link set lo up
ip -n "$DEP" link set lo up
ip -n "$APP" link set va up
ip -n "$DEP" link set vd up

# The nat table must work in app; the probe also makes the table exist, so
# the baseline below is a real nat table (with one rule of someone else's).
app iptables -w -t nat -N DCY_PROBE 2>/dev/null &&
	app iptables -w -t nat -X DCY_PROBE ||
	skip "the iptables nat table is not available"
app iptables -w -t nat -A OUTPUT -p tcp --dport 9 -j RETURN
save() {
	app iptables-save | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'
}
save >"$T/before.rules"

# --- the origins, in dep: two dependencies on one IP, two ports.
cat >"$T/payments.jsonl" <<'EOF2'
{"v":1,"id":"p-1","dir":"out","req":{"method":"GET","target":"/v1/status"},"res":{"status":200,"reason":"OK","headers":[["Content-Type","text/plain"],["X-Origin","payments"]],"body":"payments ok\n"}}
{"v":1,"id":"p-2","dir":"out","req":{"method":"POST","target":"/v1/charges","headers":[["Content-Type","application/json"]],"body":"{\"amount\":1200}"},"res":{"status":201,"reason":"Created","headers":[["Content-Type","application/json"]],"body":"{\"id\":\"ch_1\",\"amount\":1200}"}}
EOF2
cat >"$T/inventory.jsonl" <<'EOF2'
{"v":1,"id":"i-1","dir":"out","req":{"method":"GET","target":"/v1/status"},"res":{"status":200,"reason":"OK","headers":[["Content-Type","text/plain"],["X-Origin","inventory"]],"body":"inventory ok\n"}}
EOF2
start_bg pay "$T/pay.port" ip netns exec "$DEP" "$DECOY" respond "$T/payments.jsonl" \
    --listen "$D:8080" --port-file "$T/pay.port" -w 1
start_bg inv "$T/inv.port" ip netns exec "$DEP" "$DECOY" respond "$T/inventory.jsonl" \
    --listen "$D:8081" --port-file "$T/inv.port" -w 1

# --- privileges: without CAP_NET_ADMIN, a clear message and exit 2.
if command -v setpriv >/dev/null; then
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
	    "$DECOY" redirect install --ports 80 --to-port 1 2>"$T/np.err"
	st=$?
	check "redirect without CAP_NET_ADMIN: exit 2" [ "$st" -eq 2 ]
	check "... and says CAP_NET_ADMIN is required" \
	    grep -q "CAP_NET_ADMIN is required" "$T/np.err"
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
	    "$DECOY" record --transparent 127.0.0.1:0 -o /dev/null \
	    2>"$T/np2.err"
	st=$?
	check "record --transparent without CAP_NET_ADMIN: exit 2" \
	    [ "$st" -eq 2 ]
	check "... and says CAP_NET_ADMIN is required" \
	    grep -q "CAP_NET_ADMIN is required" "$T/np2.err"
fi

# No iptables binary: named, exit 2, nothing changed.
app env PATH=/nonexistent "$DECOY" redirect install --ports 80 --to-port 1 \
    2>"$T/nobin.err"
check "redirect without iptables: exit 2" [ $? -eq 2 ]
check "... naming the binary" grep -q "cannot run iptables" "$T/nobin.err"
check "... and nothing changed" same "$T/before.rules" <(save)

# --- record.
start_bg rec "$T/rec.port" ip netns exec "$APP" "$DECOY" record --transparent 127.0.0.1:0 \
    -o "$T/rec.jsonl" --port-file "$T/rec.port" --fsync never
# Set up, the recorder keeps CAP_NET_ADMIN (bit 12, for SO_MARK) only
# (it drops the rest just after writing the port file: poll).
rec_caps() {
	grep -q "^$1:[[:space:]]*0000000000001000\$" "/proc/$PID_rec/status"
}
wait_for "the recorder to drop its capabilities" rec_caps CapEff
check "the recorder's effective capabilities: CAP_NET_ADMIN only" \
    rec_caps CapEff
check "... its permitted set" rec_caps CapPrm
check "... and its bounding set" rec_caps CapBnd
app "$DECOY" redirect install --ports 8080,8081,8443 --to-port "$PORT_rec" \
    >"$T/install.out" 2>&1
check "redirect install" [ $? -eq 0 ]
save >"$T/installed1.rules"
app "$DECOY" redirect install --ports 8080,8081,8443 --to-port "$PORT_rec" \
    >>"$T/install.out" 2>&1
check "redirect install again" [ $? -eq 0 ]
save >"$T/installed2.rules"
check "install is idempotent (one set of rules)" \
    same "$T/installed1.rules" "$T/installed2.rules"
check "one jump from OUTPUT" \
    [ "$(grep -c -- '-A OUTPUT -p tcp -j DECOY_REDIRECT' "$T/installed2.rules")" = 1 ]
check "the other rule is kept" \
    grep -q -- '-A OUTPUT -p tcp -m tcp --dport 9 -j RETURN' \
    "$T/installed2.rules"

# The unmodified client commands, run once through the recorder and once
# against the responder.
calls() {
	local tag=$1
	app curl -s -S --max-time 10 -i "http://$D:8080/v1/status" \
	    >"$T/$tag.pay" 2>>"$T/$tag.curl.err"
	app curl -s -S --max-time 10 -i -H 'Content-Type: application/json' \
	    -d '{"amount":1200}' "http://$D:8080/v1/charges" \
	    >"$T/$tag.charge" 2>>"$T/$tag.curl.err"
	app curl -s -S --max-time 10 -i "http://$D:8081/v1/status" \
	    >"$T/$tag.inv" 2>>"$T/$tag.curl.err"
}
# HTTP/1.0 without a Host header, on a raw socket.
nohost() {
	app timeout 10 bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 3
		printf "GET /v1/status HTTP/1.0\r\n\r\n" >&3
		cat <&3' nohost "$D" "$1"
}

calls rec
check "through decoy: payments answers" \
    grep -q '^payments ok$' "$T/rec.pay"
check "through decoy: the charge is created" \
    grep -q '^HTTP/1.1 201' "$T/rec.charge"
check "through decoy: inventory answers" \
    grep -q '^inventory ok$' "$T/rec.inv"
# HTTP/2 with prior knowledge: relayed as h2 to the original destination
# (decoy respond speaks it), on a path the replay below does not call.
app curl -s -S --max-time 10 --http2-prior-knowledge -o "$T/rec.h2" \
    -w '%{http_version} %{http_code}' "http://$D:8080/v1/h2probe" \
    >"$T/rec.h2v" 2>>"$T/rec.curl.err"
check "through decoy: h2 prior knowledge reaches payments" \
    [ "$(cat "$T/rec.h2v")" = "2 404" ]
nohost 8081 >"$T/rec.nohost"
check "through decoy: HTTP/1.0 without Host reaches inventory" \
    grep -q '^inventory ok' "$T/rec.nohost"

# TLS is tunnelled blindly (not intercepted): an HTTPS origin in dep.
"$DECOY" ca init --ca "$T/ca" >/dev/null 2>&1 || fatal "ca init failed"
start_bg tls "$T/tls.port" ip netns exec "$DEP" "$DECOY" respond "$T/payments.jsonl" \
    --listen "$D:8443" --port-file "$T/tls.port" -w 1 --tls --ca "$T/ca"
app curl -s -S --max-time 10 --cacert "$T/ca/ca.pem" \
    "https://$D:8443/v1/status" >"$T/rec.tls" 2>"$T/rec.tls.err"
check "through decoy: TLS is tunnelled to the origin" \
    grep -q '^payments ok$' "$T/rec.tls"

# Not HTTP at all (a first byte that is no method letter): tunnelled to
# the origin as is, which answers it (decoy respond's 400), not refused.
app timeout 10 bash -c 'exec 3<>"/dev/tcp/$1/8080" || exit 3
	printf "\001\002binary\r\n\r\n" >&3
	cat <&3' raw "$D" >"$T/rec.binary"
check "through decoy: a non-HTTP connection reaches the origin" \
    grep -q '^HTTP/1.1 400' "$T/rec.binary"

# Loop protection: a connection straight to the listener is refused.
app curl -s --max-time 5 "http://127.0.0.1:$PORT_rec/v1/status" \
    >"$T/loop.out" 2>&1
check "a connection that was not redirected gets no answer" \
    [ ! -s "$T/loop.out" ]
wait_for "the loop protection log line" \
    grep -q 'loop protection' "$T/rec.log"

stop "$PID_rec"
check "recorder exits 0" [ $? -eq 0 ]
check "recorded: payments with the original destination as server" \
    grep -q "\"server\":\"$D:8080\".*\"target\":\"/v1/status\"" \
    "$T/rec.jsonl"
check "recorded: req.host from the Host header" \
    grep -q "\"host\":\"$D:8080\"" "$T/rec.jsonl"
check "recorded: inventory with its original destination" \
    grep -q "\"server\":\"$D:8081\"" "$T/rec.jsonl"
check "recorded: the HTTP/1.0 request, host from the destination" \
    [ "$(grep -c "\"server\":\"$D:8081\".*\"host\":\"$D:8081\"" \
    "$T/rec.jsonl")" = 2 ]
check "recorded: the TLS tunnel as one opaque entry" \
    grep -q "\"method\":\"CONNECT\",\"target\":\"$D:8443\".*\"opaque\"" \
    "$T/rec.jsonl"
check "recorded: the non-HTTP connection as one opaque entry" \
    grep -q "\"target\":\"$D:8080\".*\"opaque\":{\"bytes_up\":[1-9][0-9]*,\"bytes_down\":[1-9]" \
    "$T/rec.jsonl"
check "recorded: the h2 stream, proto h2, to the original destination" \
    grep -q "\"proto\":\"h2\",\"client\":\"[^\"]*\",\"server\":\"$D:8080\".*\"target\":\"/v1/h2probe\"" \
    "$T/rec.jsonl"
check "recorded: 7 transactions" [ "$(wc -l <"$T/rec.jsonl")" -eq 7 ]

# --- replay: the origins are gone; the responder takes their place.
stop "$PID_pay"
stop "$PID_inv"
stop "$PID_tls"
start_bg resp "$T/resp.port" ip netns exec "$APP" "$DECOY" respond "$T/rec.jsonl" \
    --transparent 127.0.0.1:0 --port-file "$T/resp.port" -w 1
app "$DECOY" redirect install --ports 8080,8081 --to-port "$PORT_resp" \
    >>"$T/install.out" 2>&1
check "redirect install with a new port" [ $? -eq 0 ]
check "the rules now point at the responder" \
    grep -q -- "--to-ports $PORT_resp" <(save)
calls resp
check "replayed payments status, byte for byte" same "$T/rec.pay" "$T/resp.pay"
check "replayed charge, byte for byte" same "$T/rec.charge" "$T/resp.charge"
check "replayed inventory, byte for byte" same "$T/rec.inv" "$T/resp.inv"
# Both dependencies recorded GET /v1/status: without a Host header only
# the original destination tells them apart (several times: recorded
# order cycles, so guessing would be caught).
for i in 1 2; do
	nohost 8081 >"$T/resp.nohost.inv$i"
	nohost 8080 >"$T/resp.nohost.pay$i"
	check "no Host, port 8081: inventory's answer ($i)" \
	    grep -q '^inventory ok' "$T/resp.nohost.inv$i"
	check "no Host, port 8080: payments' answer ($i)" \
	    grep -q '^payments ok' "$T/resp.nohost.pay$i"
done
stop "$PID_resp"

# --tls --transparent: curl to an IP sends no SNI; the leaf's IP SAN is the
# original destination (curl verifies it), and so is the dependency.
start_bg tresp "$T/tresp.port" ip netns exec "$APP" "$DECOY" respond \
    "$T/rec.jsonl" --transparent 127.0.0.1:0 --port-file "$T/tresp.port" \
    -w 1 --tls --ca "$T/ca"
app "$DECOY" redirect install --ports 8080,8081 --to-port "$PORT_tresp" \
    >>"$T/install.out" 2>&1
app curl -s -S --max-time 10 --cacert "$T/ca/ca.pem" \
    "https://$D:8081/v1/status" >"$T/tresp.inv" 2>"$T/tresp.err"
check "--tls --transparent: verified leaf for the original IP, inventory" \
    grep -q '^inventory ok$' "$T/tresp.inv"
stop "$PID_tresp"

# The same from decoyd's configuration (transparent: true).
cat >"$T/decoyd.yaml" <<EOF2
snapshot: rec.jsonl
listen: 127.0.0.1:0
port_file: decoyd.port
workers: 1
transparent: true
EOF2
printf 'snapshot: rec.jsonl\nlisten: 127.0.0.1:0\ntransparent: maybe\n' \
    >"$T/bad.yaml"
"$DECOYD" -n -c "$T/bad.yaml" >"$T/bad.out" 2>&1
check "decoyd -n: a bad transparent value is exit 2" [ $? -eq 2 ]
check "... named with line and column" \
    grep -q 'bad.yaml:3:14: transparent' "$T/bad.out"
start_bg d "$T/decoyd.port" ip netns exec "$APP" "$DECOYD" -c "$T/decoyd.yaml"
app "$DECOY" redirect install --ports 8080,8081 --to-port "$PORT_d" \
    >>"$T/install.out" 2>&1
nohost 8081 >"$T/d.nohost.inv"
nohost 8080 >"$T/d.nohost.pay"
check "decoyd transparent: no Host, port 8081: inventory's answer" \
    grep -q '^inventory ok' "$T/d.nohost.inv"
check "decoyd transparent: no Host, port 8080: payments' answer" \
    grep -q '^payments ok' "$T/d.nohost.pay"
stop "$PID_d"

# --- remove: nothing left behind.
app "$DECOY" redirect remove >>"$T/install.out" 2>&1
check "redirect remove" [ $? -eq 0 ]
save >"$T/after.rules"
check "iptables-save after remove == before install" \
    same "$T/before.rules" "$T/after.rules"
app "$DECOY" redirect remove >>"$T/install.out" 2>&1
check "remove again is a no-op" [ $? -eq 0 ]

# --- IPv6 (IP6T_SO_ORIGINAL_DST, ip6tables), if the namespace has it.
if ip -n "$APP" addr add "fd77:$X::1/64" dev va nodad 2>/dev/null &&
    ip -n "$DEP" addr add "fd77:$X::2/64" dev vd nodad 2>/dev/null &&
    app ip6tables -w -t nat -N DCY_PROBE 2>/dev/null &&
    app ip6tables -w -t nat -X DCY_PROBE; then
	save6() {
		app ip6tables-save | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'
	}
	save6 >"$T/before6.rules"
	start_bg pay6 "$T/pay6.port" ip netns exec "$DEP" "$DECOY" respond \
	    "$T/payments.jsonl" --listen "[fd77:$X::2]:8082" \
	    --port-file "$T/pay6.port" -w 1
	start_bg rec6 "$T/rec6.port" ip netns exec "$APP" "$DECOY" record \
	    --transparent "[::1]:0" -o "$T/rec6.jsonl" \
	    --port-file "$T/rec6.port" --fsync never
	app "$DECOY" redirect install --ipv6 --ports 8082 \
	    --to-port "$PORT_rec6" >>"$T/install.out" 2>&1
	check "IPv6: redirect install --ipv6" [ $? -eq 0 ]
	app curl -s -S --max-time 10 "http://[fd77:$X::2]:8082/v1/status" \
	    >"$T/rec6.out" 2>&1
	check "IPv6: through decoy, payments answers" \
	    grep -q '^payments ok$' "$T/rec6.out"
	stop "$PID_rec6"
	check "IPv6: recorded with the original destination as server" \
	    grep -q "\"server\":\"\[fd77:$X::2\]:8082\"" "$T/rec6.jsonl"
	stop "$PID_pay6"
	app "$DECOY" redirect remove >>"$T/install.out" 2>&1
	check "IPv6: redirect remove (finds the ip6tables chains itself)" \
	    [ $? -eq 0 ]
	check "IPv6: ip6tables-save after remove == before install" \
	    same "$T/before6.rules" <(save6)
	check "IPv4 rules still as before" same "$T/before.rules" <(save)
else
	echo "# IPv6 part skipped (no IPv6 addresses or ip6tables nat)"
fi

done_testing
