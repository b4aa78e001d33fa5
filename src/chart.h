/*
 * chart.h -- the pieces of decoy's HTML pages (the run report, `decoy
 * inspect --html`): one stylesheet, inline SVG charts drawn here (lines
 * and bars over seconds, latency by percentile), cards and table cells,
 * XML escaping that always yields a well-formed document, and the latency
 * format of every table.  No scripts, nothing fetched.
 */
#ifndef DECOY_CHART_H
#define DECOY_CHART_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define CHART_W		560
#define CHART_H		250
#define CHART_L		64	/* margins of the plot area */
#define CHART_R		16
#define CHART_T		30
#define CHART_B		36

enum chart_axis {
	CHART_SECONDS,		/* x: seconds from the start */
	CHART_PERCENTILE,	/* x: log10(1 / (1 - p)), 0 .. 4 */
	CHART_LATENCY,		/* y: microseconds */
	CHART_RATE		/* y: per second */
};

struct chart_series {
	const char	*label;
	const char	*color;
	const double	*y;	/* NAN: no value (breaks the line) */
	int		 bars;
};

/*
 * Opens an HTML page titled "decoy KIND: NAME" (escaped) with chart_css,
 * its h1 naming NAME, up to an open <p class="meta">.
 */
void	chart_page_head(struct buf *, const char *kind, const char *name);

/* The page's stylesheet (the report's look). */
extern const char chart_css[];

/* Formats a latency: "850us", "12.3ms", "1.23s"; returns dst. */
const char	*chart_fmt_us(char *dst, size_t len, double us);
/*
 * Appends s escaped for XML and HTML text and attributes.  Control
 * characters XML 1.0 cannot hold become spaces and invalid UTF-8 becomes
 * U+FFFD, so the document is always well-formed.
 */
void	chart_xml_escape(struct buf *, const char *s);
/*
 * Draws one chart: n points at x[i] (in the x axis' units) for each of
 * the ns series; lines, or bars one unit wide.
 */
void	chart_draw(struct buf *, const char *title, enum chart_axis xaxis,
	    enum chart_axis yaxis, size_t n, const double *x,
	    const struct chart_series *s, size_t ns);
/* The colour of a status class (2xx green ... 5xx red). */
const char	*chart_status_color(int status);
/* A table cell (num: right-aligned figures). */
void	chart_td(struct buf *, const char *s, int num);
/* A summary card: a big value over a small label. */
void	chart_card(struct buf *, const char *value, const char *label);
/* Opens the table of gRPC methods (rows from chart_grpc_row; the caller
 * closes it with "</table>"). */
void	chart_grpc_head(struct buf *);
/*
 * One gRPC method's row: service, method, calls, and its grpc-status mix
 * as a bar (OK green, no status grey, every other code red; each segment
 * titled with its code and count) and as text ("OK:3 UNAVAILABLE:1").
 * codes[0..GRPC_CODE_MAX + 1]: calls per code, the last those without a
 * status.
 */
void	chart_grpc_row(struct buf *, const char *service, const char *method,
	    uint64_t calls, const uint64_t *codes);

#endif
