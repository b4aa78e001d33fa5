#!/bin/bash
# Least privilege (decoy(1) PRIVILEGES, decoyd(8) PRIVILEGES): started as
# root, every serving mode -- respond, respond --transparent, respond
# --tls, record --upstream, record --proxy, record --transparent, decoyd
# -- keeps no capability once bound (CAP_NET_ADMIN alone for record
# --transparent's SO_MARK and record --nfqueue), in every thread, with no_new_privs; with
# --user (decoyd: user:) it runs as that user, still serves and still
# reloads a world-readable snapshot on SIGHUP.  Capabilities are read
# from /proc/PID/task/*/status.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || skip "needs root"
getent passwd nobody >/dev/null || skip "no user nobody"
NOBODY_UID=$(id -u nobody)
NOBODY_GID=$(id -g nobody)

# The files --user nobody reads again on a reload must be reachable.
chmod 755 "$T"

cat >"$T/snap.jsonl" <<'EOF2'
{"v":1,"id":"t-1","dir":"out","req":{"method":"GET","host":"a.test","target":"/ping"},"res":{"status":200,"body":"pong"}}
EOF2
cat >"$T/snap2.jsonl" <<'EOF2'
{"v":1,"id":"t-1","dir":"out","req":{"method":"GET","host":"a.test","target":"/ping"},"res":{"status":200,"body":"pong"}}
{"v":1,"id":"t-2","dir":"out","req":{"method":"GET","host":"a.test","target":"/pong"},"res":{"status":200,"body":"ping"}}
EOF2
chmod 644 "$T/snap.jsonl" "$T/snap2.jsonl"
"$DECOY" ca init --ca "$T/ca" 2>"$T/ca-init.log" ||
    fatal "decoy ca init failed"

# task_field PID FIELD: the distinct values of FIELD over every thread.
task_field() {
	local pid=$1 field=$2
	cat /proc/"$pid"/task/*/status 2>/dev/null |
	    sed -n "s/^$field:[[:space:]]*//p" | sort -u
}

# ntasks PID: how many threads PID has.
ntasks() {
	ls /proc/"$1"/task | wc -l
}

# caps_are PID EFF PRM BND: every thread's CapEff, CapPrm, CapBnd, CapInh,
# CapAmb and NoNewPrivs are as given (CapInh and CapAmb empty,
# NoNewPrivs 1).
caps_are() {
	local pid=$1 eff=$2 prm=$3 bnd=$4 ok=0 f v want
	for f in CapEff CapPrm CapBnd CapInh CapAmb NoNewPrivs; do
		case $f in
		CapEff) want=$eff ;;
		CapPrm) want=$prm ;;
		CapBnd) want=$bnd ;;
		CapInh|CapAmb) want=0000000000000000 ;;
		NoNewPrivs) want=1 ;;
		esac
		v=$(task_field "$pid" "$f" | tr '\n' ' ' | sed 's/ $//')
		if [ "$v" != "$want" ]; then
			echo "# $f: expected $want in every thread, got '$v'" >&2
			ok=1
		fi
	done
	return $ok
}

# ids_are PID UID GID [GROUPS]: the Uid and Gid lines (real, effective,
# saved, filesystem) of every thread, and the supplementary groups (by
# default GID alone; - does not look).
ids_are() {
	local pid=$1 uid=$2 gid=$3 groups=${4:-$3} u g gr
	u=$(task_field "$pid" Uid)
	g=$(task_field "$pid" Gid)
	gr=$(task_field "$pid" Groups | sed 's/[[:space:]]*$//')
	[ "$groups" = - ] && gr=-
	if [ "$u" != "$(printf '%s\t%s\t%s\t%s' "$uid" "$uid" "$uid" "$uid")" ] ||
	    [ "$g" != "$(printf '%s\t%s\t%s\t%s' "$gid" "$gid" "$gid" "$gid")" ] ||
	    [ "$gr" != "$groups" ]; then
		echo "# expected uid $uid gid $gid groups $gid; got Uid '$u'" \
		    "Gid '$g' Groups '$gr'" >&2
		return 1
	fi
}

# ready NAME: the port file comes before the drop; the threads start
# after it, and the "serving"/"recording" line after them.
ready() {
	wait_for "$1 to start its threads" \
	    grep -q -E '(serving|recording) ' "$T/$1.log"
}

NONE=0000000000000000
NET_ADMIN=0000000000001000	# bit 12

# --- decoy respond: no capability in any thread, the admin thread too ---
start_respond r "$T/snap.jsonl" -w 2 --admin 127.0.0.1:0 \
    --admin-port-file "$T/r.admin"
ready r
wait_for "the admin port" test -s "$T/r.admin"
check "respond: 4 threads (main, 2 workers, admin)" [ "$(ntasks "$PID_r")" -eq 4 ]
check "respond as root: no capability left, no_new_privs" \
    caps_are "$PID_r" $NONE $NONE $NONE
check "respond without --user stays uid 0" ids_are "$PID_r" 0 0 -
check "respond says so" grep -q 'privileges dropped: no capabilities' "$T/r.log"
b=$(curl -s -H 'Host: a.test' "http://127.0.0.1:$PORT_r/ping")
check "respond serves after the drop" [ "$b" = pong ]
stop "$PID_r"

# --- --transparent needs only its listener -------------------------------
"$DECOY" respond "$T/snap.jsonl" --transparent 127.0.0.1:0 -w 2 \
    --port-file "$T/tr.port" >"$T/tr.log" 2>&1 &
PIDS+=($!)
PID_tr=$!
wait_port "$T/tr.port" "$PID_tr" >/dev/null
ready tr
check "respond --transparent: no capability left" \
    caps_are "$PID_tr" $NONE $NONE $NONE
stop "$PID_tr"

# --- --tls: the CA key is read before the drop ---------------------------
start_respond tls "$T/snap.jsonl" -w 2 --tls --ca "$T/ca" --user nobody
ready tls
check "respond --tls --user nobody: no capability left" \
    caps_are "$PID_tls" $NONE $NONE $NONE
check "respond --tls --user nobody: uid and gid are nobody's" \
    ids_are "$PID_tls" "$NOBODY_UID" "$NOBODY_GID"
b=$(curl -s --cacert "$T/ca/ca.pem" --resolve "a.test:$PORT_tls:127.0.0.1" \
    "https://a.test:$PORT_tls/ping")
check "respond --tls --user nobody mints a leaf and serves" [ "$b" = pong ]
stop "$PID_tls"

# --- --user nobody: serves, reloads on SIGHUP and POST /reload ----------
cp "$T/snap.jsonl" "$T/live.jsonl"
chmod 644 "$T/live.jsonl"
start_respond u "$T/live.jsonl" -w 2 --user nobody --admin 127.0.0.1:0 \
    --admin-port-file "$T/u.admin"
ready u
wait_for "the admin port" test -s "$T/u.admin"
check "respond --user nobody: uid and gid are nobody's, in every thread" \
    ids_are "$PID_u" "$NOBODY_UID" "$NOBODY_GID"
check "respond --user nobody: no capability left" \
    caps_are "$PID_u" $NONE $NONE $NONE
check "the port file was written before the switch (owned by root)" \
    [ "$(stat -c %u "$T/u.port")" = 0 ]
b=$(curl -s -H 'Host: a.test' "http://127.0.0.1:$PORT_u/ping")
check "respond --user nobody serves" [ "$b" = pong ]
cp "$T/snap2.jsonl" "$T/live.jsonl"
kill -HUP "$PID_u"
wait_for "the SIGHUP reload" grep -q 'reloaded: 2 recorded' "$T/u.log"
b=$(curl -s -H 'Host: a.test' "http://127.0.0.1:$PORT_u/pong")
check "after SIGHUP, --user nobody serves the new snapshot" [ "$b" = ping ]
s=$(curl -s -X POST "http://127.0.0.1:$(cat "$T/u.admin")/reload")
check "POST /reload works as nobody too" grep -q reloaded <<<"$s"
stop "$PID_u"

# --- a file only root could read: warned at start, reload fails cleanly --
cp "$T/snap.jsonl" "$T/secret.jsonl"
chmod 600 "$T/secret.jsonl"
start_respond sec "$T/secret.jsonl" -w 1 --user nobody
ready sec
check "an unreadable snapshot is named at start" \
    grep -q "secret.jsonl is not readable by uid $NOBODY_UID" "$T/sec.log"
kill -HUP "$PID_sec"
wait_for "the failed reload" grep -q 'reload failed' "$T/sec.log"
b=$(curl -s -H 'Host: a.test' "http://127.0.0.1:$PORT_sec/ping")
check "after the refused reload the old snapshot is still served" [ "$b" = pong ]
stop "$PID_sec"

# A JWT key file the transforms file names, 0600 root: named at start.
printf 'version: 1\nkeys:\n  - name: "k"\n    alg: "HS256"\n    secret_file: "k.secret"\n' \
    >"$T/t.yaml"
printf 'a-secret-of-at-least-32-bytes-0123456789\n' >"$T/k.secret"
chmod 644 "$T/t.yaml"
chmod 600 "$T/k.secret"
start_respond key "$T/snap.jsonl" -w 1 -T "$T/t.yaml" --user nobody
ready key
check "an unreadable key file of the transforms is named at start" \
    grep -q 't.yaml:3:5: key "k": .*k.secret: Permission denied (without capabilities)' \
    "$T/key.log"
stop "$PID_key"

# --- bad --user ----------------------------------------------------------
"$DECOY" respond "$T/snap.jsonl" --listen 127.0.0.1:0 \
    --user no-such-user-here >"$T/bad.out" 2>&1
check "respond --user with an unknown name: exit 2" [ $? -eq 2 ]
check "... naming the user" grep -q 'no such user "no-such-user-here"' "$T/bad.out"
"$DECOY" record --upstream http://127.0.0.1:1 --listen 127.0.0.1:0 \
    -o "$T/x.jsonl" --user no-such-user-here >"$T/badr.out" 2>&1
check "record --user with an unknown name: exit 2" [ $? -eq 2 ]
check "... naming the user" grep -q 'no such user "no-such-user-here"' "$T/badr.out"
setpriv --reuid "$NOBODY_UID" --regid "$NOBODY_GID" --clear-groups \
    "$DECOY" respond "$T/snap.jsonl" --listen 127.0.0.1:0 --user root \
    >"$T/nonroot.out" 2>&1
check "--user without root: exit 2" [ $? -eq 2 ]
check "... saying it needs root" grep -q 'switching to user root needs root' \
    "$T/nonroot.out"

# --- decoy record --upstream ---------------------------------------------
start_respond up "$T/snap.jsonl" -w 1
ready up
mkdir -m 777 "$T/stats"
start_bg rec "$T/rec.port" "$DECOY" record \
    --upstream "http://127.0.0.1:$PORT_up" --listen 127.0.0.1:0 \
    --port-file "$T/rec.port" -o "$T/rec.jsonl" --fsync txn
ready rec
check "record --upstream: 2 threads (main, fsync)" [ "$(ntasks "$PID_rec")" -eq 2 ]
check "record --upstream: no capability left, in the fsync thread too" \
    caps_are "$PID_rec" $NONE $NONE $NONE
stop "$PID_rec"

start_bg recu "$T/recu.port" "$DECOY" record \
    --upstream "http://127.0.0.1:$PORT_up" --listen 127.0.0.1:0 \
    --port-file "$T/recu.port" -o "$T/recu.jsonl" --user nobody \
    --stats "$T/stats/recu.json"
ready recu
check "record --upstream --user nobody: uid and gid are nobody's" \
    ids_are "$PID_recu" "$NOBODY_UID" "$NOBODY_GID"
check "record --upstream --user nobody: no capability left" \
    caps_are "$PID_recu" $NONE $NONE $NONE
b=$(curl -s -H 'Host: a.test' "http://127.0.0.1:$PORT_recu/ping")
check "record --user nobody relays" [ "$b" = pong ]
stop "$PID_recu"
check "... and records (into the snapshot root opened, mode 0600)" \
    grep -q '"/ping"' "$T/recu.jsonl"
check "... and writes --stats at exit as nobody" grep -q '"recorded":1' \
    "$T/stats/recu.json"
"$DECOY" record --upstream "http://127.0.0.1:$PORT_up" \
    --listen 127.0.0.1:0 -o "$T/recs.jsonl" --user nobody \
    --stats "$T/stats.json" >"$T/recs.out" 2>&1
check "record --user: a --stats path nobody cannot write is exit 2 at start" \
    [ $? -eq 2 ]
check "... naming it" grep -q -- "--stats $T/stats.json: not writable" \
    "$T/recs.out"

# --- decoy record --proxy ------------------------------------------------
start_bg px "$T/px.port" "$DECOY" record --proxy 127.0.0.1:0 \
    --port-file "$T/px.port" -o "$T/px.jsonl" --ca "$T/ca" --user nobody
ready px
check "record --proxy --user nobody: no capability left" \
    caps_are "$PID_px" $NONE $NONE $NONE
check "record --proxy --user nobody: uid and gid are nobody's" \
    ids_are "$PID_px" "$NOBODY_UID" "$NOBODY_GID"
b=$(curl -s -x "http://127.0.0.1:$PORT_px" -H 'Host: a.test' \
    "http://127.0.0.1:$PORT_up/ping")
check "record --proxy --user nobody relays" [ "$b" = pong ]
stop "$PID_px"

# --- decoy record --transparent: CAP_NET_ADMIN alone, for SO_MARK -------
start_bg tp "$T/tp.port" "$DECOY" record --transparent 127.0.0.1:0 \
    --port-file "$T/tp.port" -o "$T/tp.jsonl" --user nobody
ready tp
check "record --transparent --user nobody: CAP_NET_ADMIN alone (SO_MARK)" \
    caps_are "$PID_tp" $NET_ADMIN $NET_ADMIN $NET_ADMIN
check "record --transparent --user nobody: uid and gid are nobody's" \
    ids_are "$PID_tp" "$NOBODY_UID" "$NOBODY_GID"
stop "$PID_tp"
start_bg tp0 "$T/tp0.port" "$DECOY" record --transparent 127.0.0.1:0 \
    --port-file "$T/tp0.port" -o "$T/tp0.jsonl" --mark 0
ready tp0
check "record --transparent --mark 0: no capability left" \
    caps_are "$PID_tp0" $NONE $NONE $NONE
stop "$PID_tp0"

# --- decoy record --nfqueue: CAP_NET_ADMIN alone, capture threads too ----
# In a network namespace of its own, so its queue is nobody else's.
if unshare -n true 2>/dev/null; then
	unshare -n "$DECOY" record --nfqueue 3 -o "$T/stats/tap.jsonl" \
	    --ready-file "$T/stats/tap.ready" --user nobody >"$T/tap.log" 2>&1 &
	PID_tap=$!
	PIDS+=("$PID_tap")
	wait_for "the queue to be bound" test -s "$T/stats/tap.ready"
	check "record --nfqueue --user nobody: CAP_NET_ADMIN alone, every thread" \
	    caps_are "$PID_tap" $NET_ADMIN $NET_ADMIN $NET_ADMIN
	check "record --nfqueue --user nobody: uid and gid are nobody's" \
	    ids_are "$PID_tap" "$NOBODY_UID" "$NOBODY_GID"
	stop "$PID_tap"
else
	echo "# no network namespaces here: record --nfqueue not checked"
fi

# --- decoyd, with user: in its configuration ------------------------------
cat >"$T/d.yaml" <<EOF2
snapshot: live.jsonl
listen: 127.0.0.1:0
workers: 2
port_file: $T/d.port
user: nobody
admin:
  listen: 127.0.0.1:0
  port_file: $T/d.admin
EOF2
cp "$T/snap.jsonl" "$T/live.jsonl"
start_bg d "$T/d.port" "$DECOYD" -c "$T/d.yaml"
ready d
wait_for "the admin port" test -s "$T/d.admin"
check "decoyd: 4 threads" [ "$(ntasks "$PID_d")" -eq 4 ]
check "decoyd (user: nobody): no capability left" \
    caps_are "$PID_d" $NONE $NONE $NONE
check "decoyd (user: nobody): uid and gid are nobody's" \
    ids_are "$PID_d" "$NOBODY_UID" "$NOBODY_GID"
b=$(curl -s -H 'Host: a.test' "http://127.0.0.1:$PORT_d/ping")
check "decoyd as nobody serves" [ "$b" = pong ]
cp "$T/snap2.jsonl" "$T/live.jsonl"
kill -HUP "$PID_d"
wait_for "decoyd's SIGHUP reload" grep -q 'reloaded: 2 recorded' "$T/d.log"
b=$(curl -s -H 'Host: a.test' "http://127.0.0.1:$PORT_d/pong")
check "decoyd as nobody reloads on SIGHUP" [ "$b" = ping ]
stop "$PID_d"

sed 's/^user: nobody$/user: no-such-user-here/' "$T/d.yaml" >"$T/dbad.yaml"
"$DECOYD" -n -c "$T/dbad.yaml" >"$T/dbad.out" 2>&1
check "decoyd: an unknown user is exit 2" [ $? -eq 2 ]
check "... with file:line:col" \
    grep -q 'dbad.yaml:5:7: user: no such user "no-such-user-here"' "$T/dbad.out"

done_testing
