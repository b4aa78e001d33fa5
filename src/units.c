/*
 * units.c -- parsers for the units users write: durations ("250ms"),
 * sizes ("16KiB") and seeds.  Shared by every command-line, configuration
 * and rule file reader.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "units.h"

struct units_unit {
	const char	*suffix;
	double		 scale;
};

/*
 * A non-negative decimal number followed by one of the suffixes, scaled
 * and rounded; -1 when the suffix is unknown or the result exceeds max.
 */
static int
units_parse_scaled(const char *s, const struct units_unit *units, size_t n,
    double max, double *out)
{
	char	*end;
	double	 v;
	size_t	 i;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || errno != 0 || !isfinite(v) || v < 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (strcmp(end, units[i].suffix) == 0) {
			v *= units[i].scale;
			if (v > max)
				return -1;
			*out = (double)llround(v);
			return 0;
		}
	}
	return -1;
}

int
units_parse_duration(const char *s, uint64_t *ns)
{
	static const struct units_unit units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 },
		{ "m", 60e9 }, { "h", 3600e9 },
	};
	double	v;

	if (units_parse_scaled(s, units, sizeof units / sizeof units[0], 1e18,
	    &v) == -1)
		return -1;
	*ns = (uint64_t)v;
	return 0;
}

int
units_parse_size(const char *s, size_t *bytes)
{
	static const struct units_unit units[] = {
		{ "", 1 }, { "B", 1 },
		{ "KiB", 1024.0 }, { "MiB", 1048576.0 },
		{ "GiB", 1073741824.0 },
		{ "KB", 1e3 }, { "MB", 1e6 }, { "GB", 1e9 },
	};
	double	v;

	if (units_parse_scaled(s, units, sizeof units / sizeof units[0],
	    (double)SIZE_MAX / 2, &v) == -1)
		return -1;
	*bytes = (size_t)v;
	return 0;
}

int
units_parse_seed(const char *s, uint64_t *seed)
{
	unsigned long long	 v;
	char			*end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0' || errno != 0)
		return -1;
	*seed = v;
	return 0;
}
