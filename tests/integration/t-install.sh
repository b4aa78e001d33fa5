#!/bin/bash
# t-install.sh -- `make install DESTDIR=...` installs the binaries, the man
# pages, the rule recipes and scenarios, an example decoyd.yaml (in the
# data and the configuration directories; an existing one is kept), the
# systemd unit (systemd-analyze verify passes on it) and bash completion
# (it completes commands and each command's options); decoyd says
# READY=1 on $NOTIFY_SOCKET once it serves (Type=notify).
. "$(dirname "$0")/lib.sh"

command -v make >/dev/null || skip "make is not installed"
[ -f "$top_builddir/Makefile" ] || skip "no Makefile in the build tree"
R=$T/root
make -s -C "$top_builddir" install DESTDIR="$R" >"$T/install.log" 2>&1
check "make install DESTDIR: exit 0" [ $? -eq 0 ]
(cd "$R" && find . -type f | sort) >"$T/files"
cat "$T/files"
for f in bin/decoy bin/decoyd share/man/man1/decoy.1 share/man/man8/decoyd.8 \
    share/decoy/rules/payments-flaky.yaml share/decoy/scenarios/demo.yaml \
    share/decoy/scenarios/README.md share/decoy/decoyd.yaml \
    etc/decoy/decoyd.yaml lib/systemd/system/decoyd.service \
    share/bash-completion/completions/decoy; do
	check "installed: $f" grep -q "/$f\$" "$T/files"
done
unit=$(grep '/lib/systemd/system/decoyd.service$' "$T/files" | head -n 1)
unit=$R/${unit#./}
bindir=$(sed -n 's|^ExecStart=\(.*\)/decoyd .*|\1|p' "$unit")
check "the unit runs decoyd from the configured bindir" \
    [ -x "$R$bindir/decoyd" ]
check "the unit: Type=notify, DynamicUser, ProtectSystem=strict, NoNewPrivileges" \
    sh -c "grep -q '^Type=notify$' '$unit' && grep -q '^DynamicUser=yes$' '$unit' &&
        grep -q '^ProtectSystem=strict$' '$unit' && grep -q '^NoNewPrivileges=yes$' '$unit'"
if command -v systemd-analyze >/dev/null; then
	# verify needs the binary where ExecStart says: point it into DESTDIR;
	# --man=no: the man pages are in DESTDIR, not in the manpath.
	sed "s|^ExecStart=$bindir/|ExecStart=$R$bindir/|" "$unit" \
	    >"$T/decoyd.service"
	check "systemd-analyze verify decoyd.service" \
	    sh -c "systemd-analyze verify --man=no '$T/decoyd.service' >'$T/verify.log' 2>&1"
fi

# An edited configuration survives a second install.
conf=$(grep '/etc/decoy/decoyd.yaml$' "$T/files" | head -n 1)
echo "# edited" >>"$R/${conf#./}"
make -s -C "$top_builddir" install DESTDIR="$R" >>"$T/install.log" 2>&1
check "a second install keeps an edited decoyd.yaml" \
    grep -q '^# edited$' "$R/${conf#./}"

# Bash completion: commands, then a command's options, from --help.
comp=$(grep '/completions/decoy$' "$T/files" | head -n 1)
complete_words() {
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1));
	    _decoy; printf "%s\n" "${COMPREPLY[@]}"' _ "$R/${comp#./}" "$@"
}
check "completion: a command" \
    [ "$(complete_words "$DECOY" rep | tr '\n' ' ')" = "replay report " ]
check "completion: an option of replay" \
    [ "$(complete_words "$DECOY" replay --allow-r)" = "--allow-regressions" ]

# Type=notify: READY=1 once bound.
if [ -x /usr/bin/python3 ]; then
	/usr/bin/python3 - "$T/notify.sock" >"$T/notify.out" 2>"$T/notify.log" <<'EOF2' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
print(s.recv(4096).decode(), flush=True)
EOF2
	PID_py=$!
	PIDS+=("$PID_py")
	wait_for "the notify socket" test -S "$T/notify.sock"
	cat >"$T/snap.jsonl" <<'EOF2'
{"v":1,"id":"t-1","dir":"out","req":{"method":"GET","target":"/ping"},"res":{"status":200,"body":"pong"}}
EOF2
	printf 'snapshot: snap.jsonl\nlisten: 127.0.0.1:0\nport_file: %s\n' \
	    "$T/d.port" >"$T/d.yaml"
	NOTIFY_SOCKET=$T/notify.sock "$DECOYD" -c "$T/d.yaml" >"$T/decoyd.log" 2>&1 &
	PID_d=$!
	PIDS+=("$PID_d")
	wait "$PID_py"
	check "decoyd: READY=1 on NOTIFY_SOCKET" grep -qx 'READY=1' "$T/notify.out"
	port=$(wait_port "$T/d.port" "$PID_d")
	check "decoyd: serving when it said so" \
	    [ "$(curl -s --max-time 5 "http://127.0.0.1:$port/ping")" = pong ]
fi

done_testing
