#!/bin/bash
# t-workers.sh -- the responder starts one worker per CPU it may use: the
# affinity mask (taskset) and the cgroup CPU quota, not the machine's CPUs.
. "$(dirname "$0")/lib.sh"

SNAP=$top_srcdir/examples/snapshots/shop.jsonl

# workers_of NAME: the worker count the responder NAME logged at start.
workers_of() {
	wait_for "$1 to log its workers" grep -q 'workers' "$T/$1.log"
	sed -n 's/.* with \([0-9]*\) workers.*/\1/p' "$T/$1.log" | head -n 1
}

online=$(nproc --all)
start_respond plain "$SNAP"
check "no limit: one worker per online CPU ($online)" \
    [ "$(workers_of plain)" = "$online" ]
stop "$PID_plain"

if command -v taskset >/dev/null; then
	taskset -c 0 "$DECOY" respond "$SNAP" --listen 127.0.0.1:0 \
	    --port-file "$T/pinned.port" >"$T/pinned.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	wait_port "$T/pinned.port" "$pid" >/dev/null
	check "taskset -c 0: one worker" [ "$(workers_of pinned)" = 1 ]
	stop "$pid"
fi

# A CPU quota of half a CPU, in a cgroup this test makes (root only; v2
# cpu.max or v1 cpu.cfs_quota_us, whichever this machine has).
cg=
if [ "$(id -u)" -eq 0 ]; then
	if [ -f /sys/fs/cgroup/cgroup.controllers ] &&
	    grep -qw cpu /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null; then
		cg=/sys/fs/cgroup/decoy-test-$$
		mkdir "$cg" 2>/dev/null && echo "50000 100000" >"$cg/cpu.max" ||
		    { rmdir "$cg" 2>/dev/null; cg=; }
	elif [ -d /sys/fs/cgroup/cpu ]; then
		cg=/sys/fs/cgroup/cpu/decoy-test-$$
		mkdir "$cg" 2>/dev/null && echo 50000 >"$cg/cpu.cfs_quota_us" ||
		    { rmdir "$cg" 2>/dev/null; cg=; }
	fi
fi
if [ -n "$cg" ]; then
	bash -c 'echo $$ >"$1/cgroup.procs" && exec "$2" respond "$3" \
	    --listen 127.0.0.1:0 --port-file "$4"' _ "$cg" "$DECOY" "$SNAP" \
	    "$T/quota.port" >"$T/quota.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	wait_port "$T/quota.port" "$pid" >/dev/null
	check "cgroup quota of 0.5 CPU: one worker" \
	    [ "$(workers_of quota)" = 1 ]
	stop "$pid"
	rmdir "$cg" 2>/dev/null
else
	echo "# no writable cgroup CPU controller: quota check not run"
fi

done_testing
