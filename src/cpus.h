/*
 * cpus.h -- how many CPUs this process may really use: the CPUs of its
 * affinity mask (taskset, cpusets), capped by its cgroup's CPU quota
 * (cgroup v2 cpu.max, or v1 cpu.cfs_quota_us / cpu.cfs_period_us, the
 * tightest along the path to the root), rounded up.  Roles that start
 * one thread per CPU ask here instead of counting online CPUs, so that a
 * sidecar limited to 500m on a 16-core node starts one worker, not 16.
 */
#ifndef DECOY_CPUS_H
#define DECOY_CPUS_H

/* The CPUs this process may use, at least 1. */
int	cpus_usable(void);

/*
 * The same computed from given sources, for tests: ncpu_affinity CPUs in
 * the affinity mask, proc_cgroup the text of /proc/self/cgroup, and the
 * cgroup filesystems mounted under root ("/sys/fs/cgroup": v2 files at
 * root/PATH/cpu.max, v1 at root/cpu/PATH/ or root/cpu,cpuacct/PATH/).
 */
int	cpus_usable_from(int ncpu_affinity, const char *proc_cgroup,
	    const char *root);

#endif
