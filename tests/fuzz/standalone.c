/*
 * standalone.c -- replays fuzz inputs without libFuzzer.
 *
 * Linked into each fuzz target when the tree is not built with
 * --enable-fuzzing, so `make check` runs the checked-in corpus through the
 * target's invariants on every build.  With arguments it replays each file
 * given (directories recursively); without, it replays
 * $srcdir/corpora/FUZZ_NAME, where FUZZ_NAME comes from the Makefile and
 * srcdir from the environment (default ".").  It prints "replayed N
 * inputs" and exits 0, or 1 when an input cannot be read or there is
 * nothing to replay.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#ifndef FUZZ_NAME
#error "FUZZ_NAME must name the target's corpus (-DFUZZ_NAME='\"x\"')"
#endif

static size_t	standalone_count;

static int	standalone_path(const char *);

static int
standalone_file(const char *path)
{
	FILE		*f;
	unsigned char	*data = NULL, *p;
	size_t		 len = 0, cap = 0, n;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	for (;;) {
		if (len == cap) {
			cap = cap == 0 ? 4096 : cap * 2;
			if ((p = realloc(data, cap)) == NULL) {
				fprintf(stderr, "%s: out of memory\n", path);
				free(data);
				fclose(f);
				return -1;
			}
			data = p;
		}
		n = fread(data + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f)) {
		fprintf(stderr, "%s: read error\n", path);
		free(data);
		fclose(f);
		return -1;
	}
	fclose(f);

	/* An exact-size copy, so ASan sees a read past the input. */
	if ((p = malloc(len == 0 ? 1 : len)) == NULL) {
		free(data);
		return -1;
	}
	if (len > 0)
		memcpy(p, data, len);
	free(data);
	LLVMFuzzerTestOneInput(p, len);
	free(p);
	standalone_count++;
	return 0;
}

static int
standalone_dir(const char *path)
{
	DIR		*d;
	struct dirent	*de;
	char		 sub[PATH_MAX];
	int		 n, rc = 0;

	if ((d = opendir(path)) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		n = snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
		if (n < 0 || (size_t)n >= sizeof sub) {
			fprintf(stderr, "%s/%s: path too long\n", path,
			    de->d_name);
			rc = -1;
			continue;
		}
		if (standalone_path(sub) == -1)
			rc = -1;
	}
	closedir(d);
	return rc;
}

static int
standalone_path(const char *path)
{
	struct stat	sb;

	if (stat(path, &sb) == -1) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(sb.st_mode))
		return standalone_dir(path);
	return standalone_file(path);
}

int
main(int argc, char **argv)
{
	const char	*srcdir;
	char		 corpus[PATH_MAX];
	int		 i, n, rc = 0;

	if (argc > 1) {
		for (i = 1; i < argc; i++) {
			if (standalone_path(argv[i]) == -1)
				rc = 1;
		}
	} else {
		if ((srcdir = getenv("srcdir")) == NULL || *srcdir == '\0')
			srcdir = ".";
		n = snprintf(corpus, sizeof corpus, "%s/corpora/%s", srcdir,
		    FUZZ_NAME);
		if (n < 0 || (size_t)n >= sizeof corpus) {
			fprintf(stderr, "corpus path too long\n");
			return 1;
		}
		if (standalone_path(corpus) == -1)
			rc = 1;
	}
	printf("replayed %zu inputs\n", standalone_count);
	if (standalone_count == 0) {
		fprintf(stderr, "no inputs to replay\n");
		rc = 1;
	}
	return rc;
}
