/*
 * inspect.h -- what flows through a snapshot (`decoy inspect`): per
 * direction (in: requests into the service; out: its calls to
 * dependencies) the hosts, the endpoints as route templates (route.h:
 * "/orders/{id}" for the 40 order ids a recording holds) with their
 * count, distinct paths, status mix and recorded latency (p50/p99 of
 * timing.total_us, nearest rank), and the same over time: per interval
 * of the recording, throughput, latency percentiles and status mix, for
 * each direction and each endpoint.
 *
 * The snapshot is read once; memory is per distinct path plus 24 bytes
 * per transaction (its start, latency and status, for the time view).
 * Rendered as terminal tables, one JSON document, or a self-contained
 * HTML page in the report's style (chart.h).
 */
#ifndef DECOY_INSPECT_H
#define DECOY_INSPECT_H

#include <stdint.h>
#include <stdio.h>

#include "buf.h"

struct inspect_opts {
	uint64_t	interval_us;	/* 0: chosen from the span, <= 30
					   intervals of a round length */
	int		raw_paths;	/* no templates: one row per path */
	size_t		min_distinct;	/* route_set_create(); 0: default */
	/* A .proto descriptor set, or NULL: gRPC methods are shown with
	 * their message types and their first call's first request and
	 * response message by field name (protodesc.h). */
	const struct protodesc *protos;
};

struct inspect;
struct protodesc;

/* Reads the snapshot at path ("-": stdin).  NULL with *cause (file:line
 * of a bad line, or the open error). */
struct inspect	*inspect_load(const char *path, const struct inspect_opts *,
		    char **cause);
void		 inspect_free(struct inspect *);

/* Terminal tables on f. */
void	inspect_write_text(const struct inspect *, FILE *f);
/* One JSON document (and a newline) appended to b. */
void	inspect_write_json(const struct inspect *, struct buf *b);
/* A self-contained HTML page appended to b. */
void	inspect_write_html(const struct inspect *, struct buf *b);

#endif
