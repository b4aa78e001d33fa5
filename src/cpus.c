/*
 * cpus.c -- the CPUs a process may use: affinity mask and cgroup quota
 * (see cpus.h).
 */
#include "config.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cpus.h"
#include "xmalloc.h"

/* Reads a small file into b (reset first); 0, or -1 if it cannot. */
static int
cpus_read(const char *path, struct buf *b)
{
	FILE	*f;
	char	 chunk[512];
	size_t	 n;

	buf_reset(b);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0 && b->len < 65536)
		buf_append(b, chunk, n);
	fclose(f);
	buf_append_byte(b, '\0');
	return 0;
}

/* CPUs allowed by quota/period, rounded up; 0 when unlimited. */
static int
cpus_of_quota(long long quota, long long period)
{
	if (quota <= 0 || period <= 0)
		return 0;
	return (int)((quota + period - 1) / period);
}

/* The tightest quota on dir and its parents up to base; 0 if none. */
static int
cpus_walk(const char *base, const char *cgpath, int v2)
{
	struct buf	 b;
	char		*dir, *slash, *path;
	long long	 quota, period;
	char		 word[32];
	int		 best = 0, n;

	buf_init(&b);
	dir = xstrdup(cgpath);
	for (;;) {
		n = 0;
		if (v2) {
			path = xasprintf("%s%s/cpu.max", base, dir);
			if (cpus_read(path, &b) == 0 &&
			    sscanf(b.data, "%31s %lld", word, &period) == 2 &&
			    strcmp(word, "max") != 0)
				n = cpus_of_quota(strtoll(word, NULL, 10),
				    period);
			free(path);
		} else {
			path = xasprintf("%s%s/cpu.cfs_quota_us", base, dir);
			if (cpus_read(path, &b) == 0 &&
			    sscanf(b.data, "%lld", &quota) == 1) {
				free(path);
				path = xasprintf("%s%s/cpu.cfs_period_us",
				    base, dir);
				if (cpus_read(path, &b) == 0 &&
				    sscanf(b.data, "%lld", &period) == 1)
					n = cpus_of_quota(quota, period);
			}
			free(path);
		}
		if (n > 0 && (best == 0 || n < best))
			best = n;
		if ((slash = strrchr(dir, '/')) == NULL || dir[0] == '\0')
			break;
		*slash = '\0';		/* "/a/b" -> "/a" -> "" (the root) */
	}
	free(dir);
	buf_free(&b);
	return best;
}

int
cpus_usable_from(int ncpu, const char *proc_cgroup, const char *root)
{
	const char	*line, *end, *c1, *c2;
	char		*ctrl, *cgpath, *base;
	int		 n, limit = 0;

	if (ncpu < 1)
		ncpu = 1;
	for (line = proc_cgroup; line != NULL && *line != '\0';
	    line = *end != '\0' ? end + 1 : end) {
		if ((end = strchr(line, '\n')) == NULL)
			end = line + strlen(line);
		/* "ID:CONTROLLERS:PATH" */
		if ((c1 = memchr(line, ':', (size_t)(end - line))) == NULL ||
		    (c2 = memchr(c1 + 1, ':', (size_t)(end - c1 - 1))) ==
		    NULL)
			continue;
		ctrl = xstrndup(c1 + 1, (size_t)(c2 - c1 - 1));
		cgpath = xstrndup(c2 + 1, (size_t)(end - c2 - 1));
		if (strcmp(cgpath, "/") == 0)
			cgpath[0] = '\0';
		n = 0;
		if (ctrl[0] == '\0') {
			/* v2: the unified hierarchy at root (or root/unified
			 * on a hybrid system, where it has no controllers). */
			n = cpus_walk(root, cgpath, 1);
		} else if (strcmp(ctrl, "cpu") == 0 ||
		    strcmp(ctrl, "cpu,cpuacct") == 0 ||
		    strcmp(ctrl, "cpuacct,cpu") == 0) {
			base = xasprintf("%s/%s", root, ctrl);
			n = cpus_walk(base, cgpath, 0);
			free(base);
		}
		if (n > 0 && (limit == 0 || n < limit))
			limit = n;
		free(ctrl);
		free(cgpath);
	}
	return limit > 0 && limit < ncpu ? limit : ncpu;
}

int
cpus_usable(void)
{
	cpu_set_t	 set;
	struct buf	 b;
	long		 online;
	int		 n, ncpu;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		ncpu = CPU_COUNT(&set);
	else {
		online = sysconf(_SC_NPROCESSORS_ONLN);
		ncpu = online > 0 ? (int)online : 1;
	}
	buf_init(&b);
	if (cpus_read("/proc/self/cgroup", &b) == -1) {
		buf_free(&b);
		return ncpu < 1 ? 1 : ncpu;
	}
	n = cpus_usable_from(ncpu, b.data, "/sys/fs/cgroup");
	buf_free(&b);
	return n;
}
