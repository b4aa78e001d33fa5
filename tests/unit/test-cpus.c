/*
 * test-cpus.c -- CPUs a process may use: the affinity count capped by
 * cgroup v1 and v2 quotas along the cgroup's path, rounded up.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cpus.h"
#include "unit.h"
#include "xmalloc.h"

static char	root[64];

static void
put(const char *rel, const char *text)
{
	char	*path = xasprintf("%s/%s", root, rel), *p;
	FILE	*f;

	/* mkdir -p of the file's directory. */
	for (p = path + strlen(root) + 1; *p != '\0'; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	if ((f = fopen(path, "w")) != NULL) {
		fputs(text, f);
		fclose(f);
	}
	free(path);
}

int
main(void)
{
	char	*cmd;

	snprintf(root, sizeof root, "/tmp/test-cpus.XXXXXX");
	if (mkdtemp(root) == NULL)
		return 99;

	/* No cgroup information: the affinity count, at least 1. */
	ASSERT_EQ(cpus_usable_from(16, "", root), 16);
	ASSERT_EQ(cpus_usable_from(0, "", root), 1);
	ASSERT_EQ(cpus_usable_from(4, "0::/\n", root), 4);

	/* v2: 500m on 16 CPUs is one; 1.5 is two; max is no limit. */
	put("pod/app/cpu.max", "50000 100000\n");
	ASSERT_EQ(cpus_usable_from(16, "0::/pod/app\n", root), 1);
	put("pod/app/cpu.max", "150000 100000\n");
	ASSERT_EQ(cpus_usable_from(16, "0::/pod/app\n", root), 2);
	put("pod/app/cpu.max", "max 100000\n");
	ASSERT_EQ(cpus_usable_from(16, "0::/pod/app\n", root), 16);
	/* A parent's quota counts too, the tightest wins. */
	put("pod/cpu.max", "300000 100000\n");
	ASSERT_EQ(cpus_usable_from(16, "0::/pod/app\n", root), 3);
	put("pod/app/cpu.max", "100000 100000\n");
	ASSERT_EQ(cpus_usable_from(16, "0::/pod/app\n", root), 1);
	/* A quota above the affinity count does not add CPUs. */
	ASSERT_EQ(cpus_usable_from(2, "0::/pod\n", root), 2);

	/* v1: cpu and cpu,cpuacct hierarchies; -1 is no limit. */
	put("cpu/job/cpu.cfs_quota_us", "250000\n");
	put("cpu/job/cpu.cfs_period_us", "100000\n");
	ASSERT_EQ(cpus_usable_from(8, "4:memory:/x\n1:cpu:/job\n0::/\n",
	    root), 3);
	put("cpu,cpuacct/j2/cpu.cfs_quota_us", "-1\n");
	put("cpu,cpuacct/j2/cpu.cfs_period_us", "100000\n");
	ASSERT_EQ(cpus_usable_from(8, "3:cpu,cpuacct:/j2\n", root), 8);
	/* Garbage lines are skipped. */
	ASSERT_EQ(cpus_usable_from(8, "garbage\n::\n1:cpu:/job", root), 3);

	/* This process: at least one, no more than online. */
	ASSERT(cpus_usable() >= 1);
	ASSERT(cpus_usable() <= sysconf(_SC_NPROCESSORS_ONLN));

	cmd = xasprintf("rm -rf '%s'", root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", root);
	free(cmd);
	UNIT_DONE();
}
