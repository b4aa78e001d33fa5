# netns.sh -- network namespaces for the packet-path tests (sourced after
# lib.sh).  ns_setup makes two namespaces joined by a veth pair:
#   $NS_C (client, $IP_C) and $NS_S (server, $IP_S), 10.78.X.1 and .2 with
#   X derived from $$ (and fd78:X::1, ::2 as $IP6_C, $IP6_S), and saves
#   each namespace's iptables and ip6tables rules so ns_check_rules can
#   compare them at the end.  Everything is removed on
#   exit.  Skips (77) unless root with ip, iptables and NFQUEUE.

NS_C=dcy-c-$$
NS_S=dcy-s-$$
NS_X=$(( $$ % 250 + 1 ))
IP_C=10.78.$NS_X.1
IP_S=10.78.$NS_X.2
IP6_C=fd78:$NS_X::1
IP6_S=fd78:$NS_X::2
NS_MADE=0

ns_cleanup() {
	stop_all
	if [ "$NS_MADE" = 1 ]; then
		ip netns del "$NS_C" 2>/dev/null
		ip netns del "$NS_S" 2>/dev/null
	fi
}
trap 'ns_cleanup; cleanup' EXIT

# inc NS CMD...: runs CMD in namespace NS.
inc() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

ns_setup() {
	[ "$(id -u)" = 0 ] || skip "not root"
	command -v ip >/dev/null || skip "ip (iproute2) is not installed"
	command -v iptables >/dev/null || skip "iptables is not installed"
	ip netns add "$NS_C" 2>/dev/null || skip "cannot create a network namespace"
	NS_MADE=1
	ip netns add "$NS_S" || skip "cannot create a network namespace"
	ip link add "vc$$" netns "$NS_C" type veth peer name "vs$$" \
	    netns "$NS_S" || skip "cannot create a veth pair"
	inc "$NS_C" ip addr add "$IP_C/24" dev "vc$$"
	inc "$NS_S" ip addr add "$IP_S/24" dev "vs$$"
	inc "$NS_C" ip link set "vc$$" up
	inc "$NS_S" ip link set "vs$$" up
	inc "$NS_C" ip link set lo up
	inc "$NS_S" ip link set lo up
	inc "$NS_C" ip addr add "$IP6_C/64" dev "vc$$" nodad 2>/dev/null
	inc "$NS_S" ip addr add "$IP6_S/64" dev "vs$$" nodad 2>/dev/null
	inc "$NS_C" ip6tables-save >"$T/rules6-c.before" 2>/dev/null
	inc "$NS_S" ip6tables-save >"$T/rules6-s.before" 2>/dev/null
	inc "$NS_C" iptables-save >"$T/rules-c.before"
	inc "$NS_S" iptables-save >"$T/rules-s.before"
	# NFQUEUE must exist: a rule that queues nothing proves it.
	inc "$NS_C" iptables -A OUTPUT -p tcp --dport 9 -j NFQUEUE \
	    --queue-num 9 --queue-bypass 2>/dev/null ||
	    skip "iptables NFQUEUE is not available"
	inc "$NS_C" iptables -D OUTPUT -p tcp --dport 9 -j NFQUEUE \
	    --queue-num 9 --queue-bypass
	# ... and a queue can be bound in the namespace.
	local pid i
	# (ip netns exec directly, not through inc: $! must be the process.)
	ip netns exec "$NS_C" "$DECOY" record --nfqueue 9 -o /dev/null -q \
	    --ready-file "$T/probe.ready" >"$T/probe.out" 2>&1 &
	pid=$!
	for ((i = 0; i < 250; i++)); do
		[ -s "$T/probe.ready" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.02
	done
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	[ -s "$T/probe.ready" ] ||
	    skip "cannot bind an NFQUEUE: $(head -n 1 "$T/probe.out")"
}

# rules_same FILE1 FILE2: two iptables-save outputs hold the same rules,
# user chains and policies (an empty table that listing created, comments
# and counters do not count).
rules_norm() {
	awk '/^\*/ { t = $1 } /^-/ { print t, $0 }
	    /^:/ && $2 != "ACCEPT" { print t, $1, $2 }' "$1"
}
rules_same() {
	diff <(rules_norm "$1") <(rules_norm "$2") >&2
}

# ns_check_rules: after the test removed its rules, each namespace's rule
# set is what it was before.
ns_check_rules() {
	inc "$NS_C" iptables-save >"$T/rules-c.after"
	inc "$NS_S" iptables-save >"$T/rules-s.after"
	check "client namespace rules restored" \
	    rules_same "$T/rules-c.before" "$T/rules-c.after"
	check "server namespace rules restored" \
	    rules_same "$T/rules-s.before" "$T/rules-s.after"
	inc "$NS_C" ip6tables-save >"$T/rules6-c.after" 2>/dev/null
	inc "$NS_S" ip6tables-save >"$T/rules6-s.after" 2>/dev/null
	check "client namespace ip6tables rules restored" \
	    rules_same "$T/rules6-c.before" "$T/rules6-c.after"
	check "server namespace ip6tables rules restored" \
	    rules_same "$T/rules6-s.before" "$T/rules6-s.after"
}

# has_ipv6: both ends have their IPv6 address and ip6tables NFQUEUE works.
has_ipv6() {
	command -v ip6tables >/dev/null &&
	    inc "$NS_C" ip -6 addr show dev "vc$$" | grep -q "$IP6_C" &&
	    inc "$NS_S" ip -6 addr show dev "vs$$" | grep -q "$IP6_S"
}

# start_ns NAME NS READYFILE CMD...: a process in a namespace, waiting until
# it writes READYFILE; sets PID_<NAME>.
start_ns() {
	local name=$1 ns=$2 ready=$3 pid
	shift 3
	ip netns exec "$ns" "$@" >"$T/$name.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	wait_port "$ready" "$pid" >/dev/null || exit 1
	printf -v "PID_$name" '%s' "$pid"
}
