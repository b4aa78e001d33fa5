/*
 * chart.c -- the pieces of decoy's HTML pages (chart.h).
 */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "chart.h"
#include "grpc.h"
#include "json.h"

const char *
chart_fmt_us(char *dst, size_t len, double us)
{
	if (us < 1000)
		snprintf(dst, len, "%.0fus", us);
	else if (us < 1000000)
		snprintf(dst, len, "%.*fms", us < 100000 ? 1 : 0, us / 1000);
	else
		snprintf(dst, len, "%.2fs", us / 1e6);
	return dst;
}

/* The entities chart_xml_escape writes, by ASCII byte. */
static const char *const chart_xml_entities[0x80] = {
	['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;", ['"'] = "&quot;",
	['\''] = "&#39;"
};

void
chart_xml_escape(struct buf *b, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n, avail = strlen(s);

	for (; avail > 0; p += n, avail -= n) {
		n = 1;
		if (*p >= 0x80) {
			if ((n = json_utf8_seq(p, avail)) == 0) {
				buf_append_str(b, "\xef\xbf\xbd");
				n = 1;
			} else
				buf_append(b, p, n);
		} else if (chart_xml_entities[*p] != NULL)
			buf_append_str(b, chart_xml_entities[*p]);
		else if ((*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') ||
		    *p == 0x7f)
			buf_append_byte(b, ' ');	/* no control characters */
		else
			buf_append_byte(b, (char)*p);
	}
}

/* A 1-2-5 step giving at most five intervals up to max. */
static double
chart_step(double max)
{
	double	step;

	if (!(max > 0))
		return 1;
	step = pow(10, floor(log10(max / 5)));
	if (max / step > 5)
		step *= 2;
	if (max / step > 5)
		step *= 2.5;
	if (max / step > 5)
		step *= 2;
	return step;
}

static void
chart_label(char *dst, size_t len, enum chart_axis axis, double v)
{
	switch (axis) {
	case CHART_LATENCY:
		chart_fmt_us(dst, len, v);
		break;
	case CHART_SECONDS:
		snprintf(dst, len, "%.0fs", v);
		break;
	default:
		snprintf(dst, len, "%.0f", v);
		break;
	}
}

/* The plot area of a chart and its scales. */
struct chart_frame {
	double	pw, ph;		/* plot width and height */
	double	xmin, xmax, ymax;
};

static double
chart_px(const struct chart_frame *f, double v)
{
	return CHART_L + (v - f->xmin) / (f->xmax - f->xmin) * f->pw;
}

static double
chart_py(const struct chart_frame *f, double v)
{
	return CHART_T + f->ph - v / f->ymax * f->ph;
}

void
chart_page_head(struct buf *b, const char *kind, const char *name)
{
	buf_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\"><meta name=\"viewport\" "
	    "content=\"width=device-width,initial-scale=1\">"
	    "<link rel=\"icon\" href=\"data:,\"><title>decoy %s: ", kind);
	chart_xml_escape(b, name);
	buf_printf(b, "</title><style>%s</style></head><body>\n<h1>",
	    chart_css);
	chart_xml_escape(b, name);
	buf_append_str(b, "</h1>\n<p class=\"meta\">");
}

/* Draws series s[k] (bars, or a line with dots) in frame f. */
static void
chart_draw_series(struct buf *b, const struct chart_frame *f,
    enum chart_axis xaxis, size_t n, const double *x,
    const struct chart_series *s)
{
	const double	 bw = f->pw / (f->xmax - f->xmin);
	double		 px, py;
	size_t		 i;
	int		 pen;

	if (s->bars) {
		for (i = 0; i < n; i++) {
			if (isnan(s->y[i]) || s->y[i] <= 0)
				continue;
			py = chart_py(f, s->y[i]);
			buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" "
			    "width=\"%.1f\" height=\"%.1f\" "
			    "fill=\"%s\"/>", chart_px(f, x[i]) + bw * 0.1, py,
			    bw * 0.8 > 0.5 ? bw * 0.8 : 0.5,
			    CHART_T + f->ph - py, s->color);
		}
		return;
	}
	buf_printf(b, "<path fill=\"none\" stroke=\"%s\" "
	    "stroke-width=\"1.8\" d=\"", s->color);
	pen = 0;
	for (i = 0; i < n; i++) {
		if (isnan(s->y[i])) {
			pen = 0;
			continue;
		}
		px = chart_px(f, x[i] + (xaxis == CHART_SECONDS ? 0.5 : 0));
		py = chart_py(f, s->y[i]);
		buf_printf(b, "%s%.1f %.1f ", pen ? "L" : "M", px, py);
		pen = 1;
	}
	buf_append_str(b, "\"/>");
	/* Dots, so a single second still shows. */
	if (xaxis == CHART_SECONDS && n <= 120) {
		for (i = 0; i < n; i++)
			if (!isnan(s->y[i]))
				buf_printf(b, "<circle cx=\"%.1f\" "
				    "cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>",
				    chart_px(f, x[i] + 0.5),
				    chart_py(f, s->y[i]),
				    s->color);
	}
}

void
chart_draw(struct buf *b, const char *title, enum chart_axis xaxis,
    enum chart_axis yaxis, size_t n, const double *x,
    const struct chart_series *s, size_t ns)
{
	static const char	*pct[] = { "0%", "90%", "99%", "99.9%",
	    "99.99%" };
	const double		 pw = CHART_W - CHART_L - CHART_R;
	const double		 ph = CHART_H - CHART_T - CHART_B;
	struct chart_frame	 f;
	double			 xmin = 0, xmax = 1, ymax = 0, step, v, px, py;
	char			 tmp[32];
	size_t			 i, k;

	for (i = 0; i < n; i++) {
		if (x[i] + 1 > xmax && xaxis == CHART_SECONDS)
			xmax = x[i] + 1;
		for (k = 0; k < ns; k++)
			if (!isnan(s[k].y[i]) && s[k].y[i] > ymax)
				ymax = s[k].y[i];
	}
	if (xaxis == CHART_PERCENTILE)
		xmax = 4;
	step = chart_step(ymax);
	ymax = step * ceil(ymax / step);
	if (ymax <= 0)
		ymax = step;
#define PX(v)	(CHART_L + ((v) - xmin) / (xmax - xmin) * pw)
#define PY(v)	(CHART_T + ph - (v) / ymax * ph)

	buf_printf(b, "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" "
	    "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\">"
	    "<title>", CHART_W, CHART_H, CHART_W, CHART_H);
	chart_xml_escape(b, title);
	buf_printf(b, "</title><rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" "
	    "fill=\"#fff\"/><text x=\"%d\" y=\"18\" class=\"t\">", CHART_W,
	    CHART_H, CHART_L);
	chart_xml_escape(b, title);
	buf_append_str(b, "</text>");

	/* Horizontal grid and y labels. */
	for (v = 0; v <= ymax * 1.0001; v += step) {
		py = PY(v);
		chart_label(tmp, sizeof tmp, yaxis, v);
		buf_printf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" "
		    "y2=\"%.1f\" class=\"g\"/><text x=\"%d\" y=\"%.1f\" "
		    "class=\"yl\">%s</text>", CHART_L, py, CHART_L + pw, py,
		    CHART_L - 6, py + 4, tmp);
	}
	/* X labels. */
	if (xaxis == CHART_PERCENTILE) {
		for (i = 0; i <= 4; i++)
			buf_printf(b, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" "
			    "y2=\"%.1f\" class=\"g\"/><text x=\"%.1f\" "
			    "y=\"%.1f\" class=\"xl\"%s>%s</text>",
			    PX((double)i), CHART_T, PX((double)i), CHART_T + ph,
			    PX((double)i), CHART_T + ph + 16, i == 4 ?
			    " style=\"text-anchor:end\"" : "", pct[i]);
	} else {
		step = chart_step(xmax);
		for (v = 0; v <= xmax * 1.0001; v += step) {
			chart_label(tmp, sizeof tmp, CHART_SECONDS, v);
			buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" class=\"xl\">"
			    "%s</text>", PX(v), CHART_T + ph + 16, tmp);
		}
	}
	buf_printf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
	    "class=\"ax\"/><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%.1f\" "
	    "class=\"ax\"/>", CHART_L, CHART_T + ph, CHART_L + pw,
	    CHART_T + ph, CHART_L, CHART_T, CHART_L, CHART_T + ph);

	/* The series. */
	f.pw = pw;
	f.ph = ph;
	f.xmin = xmin;
	f.xmax = xmax;
	f.ymax = ymax;
	for (k = 0; k < ns; k++)
		chart_draw_series(b, &f, xaxis, n, x, &s[k]);
	/* Legend. */
	px = CHART_W - CHART_R;
	for (k = ns; k-- > 0;) {
		px -= 8 * (double)strlen(s[k].label) + 26;
		buf_printf(b, "<rect x=\"%.1f\" y=\"9\" width=\"12\" "
		    "height=\"10\" fill=\"%s\"/><text x=\"%.1f\" y=\"18\" "
		    "class=\"lg\">", px, s[k].color, px + 16);
		chart_xml_escape(b, s[k].label);
		buf_append_str(b, "</text>");
	}
	buf_append_str(b, "</svg></figure>\n");
#undef PX
#undef PY
}

const char *
chart_status_color(int status)
{
	if (status >= 500)
		return "#d62728";
	if (status >= 400)
		return "#ff7f0e";
	if (status >= 300)
		return "#1f77b4";
	if (status >= 200)
		return "#2ca02c";
	return "#7f7f7f";
}

void
chart_td(struct buf *b, const char *s, int num)
{
	buf_append_str(b, num ? "<td class=\"n\">" : "<td>");
	chart_xml_escape(b, s);
	buf_append_str(b, "</td>");
}

void
chart_grpc_head(struct buf *b)
{
	buf_append_str(b, "<h3>gRPC methods</h3>\n<table><tr><th>service</th>"
	    "<th>method</th><th>calls</th><th>status mix</th><th>grpc-status</th>"
	    "</tr>\n");
}

void
chart_grpc_row(struct buf *b, const char *service, const char *method,
    uint64_t calls, const uint64_t *codes)
{
	const double	 w = 160, h = 14;
	struct buf	 mix;
	uint64_t	 tot = 0;
	double		 x = 0, sw;
	size_t		 c;
	char		 tmp[32];
	const char	*name;

	buf_init(&mix);
	for (c = 0; c <= GRPC_CODE_MAX + 1; c++)
		tot += codes[c];
	buf_append_str(b, "<tr>");
	chart_td(b, service, 0);
	chart_td(b, method, 0);
	snprintf(tmp, sizeof tmp, "%" PRIu64, calls);
	chart_td(b, tmp, 1);
	buf_printf(b, "<td><svg xmlns=\"http://www.w3.org/2000/svg\" "
	    "width=\"%.0f\" height=\"%.0f\" role=\"img\">", w, h);
	for (c = 0; c <= GRPC_CODE_MAX + 1 && tot > 0; c++) {
		if (codes[c] == 0)
			continue;
		name = c <= GRPC_CODE_MAX ? grpc_code_name((int)c) : "none";
		sw = w * (double)codes[c] / (double)tot;
		buf_printf(b, "<rect x=\"%.1f\" y=\"0\" width=\"%.1f\" "
		    "height=\"%.0f\" fill=\"%s\"><title>%s: %" PRIu64
		    "</title></rect>", x, sw, h, c == 0 ? "#2ca02c" :
		    c > GRPC_CODE_MAX ? "#7f7f7f" : "#d62728", name,
		    codes[c]);
		x += sw;
		buf_printf(&mix, "%s%s:%" PRIu64, mix.len == 0 ? "" : " ",
		    name, codes[c]);
	}
	buf_append_str(b, "</svg></td>");
	chart_td(b, mix.len > 0 ? mix.data : "-", 0);
	buf_append_str(b, "</tr>\n");
	buf_free(&mix);
}

const char chart_css[] =
    "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;"
    "margin:24px;color:#222;background:#f6f7f9}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}"
    ".meta{color:#555;margin:0 0 12px}"
    ".verdict{display:inline-block;padding:4px 12px;border-radius:4px;"
    "font-weight:600;color:#fff}.pass{background:#2ca02c}"
    ".fail{background:#d62728}"
    ".cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}"
    ".card{background:#fff;border:1px solid #ddd;border-radius:6px;"
    "padding:8px 14px;min-width:110px}.card b{display:block;font-size:20px}"
    ".card span{color:#666;font-size:12px}"
    ".charts{display:flex;flex-wrap:wrap;gap:12px}"
    "figure{margin:0;background:#fff;border:1px solid #ddd;"
    "border-radius:6px}svg{display:block;max-width:100%;height:auto}"
    "svg text{font:11px system-ui,sans-serif;fill:#444}"
    "svg .t{font-size:13px;font-weight:600;fill:#222}"
    "svg .yl{text-anchor:end}svg .xl{text-anchor:middle}"
    "svg .g{stroke:#e5e5e5;stroke-width:1}svg .ax{stroke:#888}"
    "table{border-collapse:collapse;background:#fff;margin:4px 0}"
    "th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;"
    "vertical-align:top}th{background:#eef0f3}td.n{text-align:right;"
    "font-variant-numeric:tabular-nums;white-space:nowrap}"
    "tr.tot td{font-weight:600;background:#fafafa}"
    ".bad{color:#d62728;font-weight:600}.ok{color:#2ca02c;font-weight:600}"
    "pre{margin:0;white-space:pre-wrap;word-break:break-all;"
    "font:12px ui-monospace,monospace}";

void
chart_card(struct buf *b, const char *value, const char *label)
{
	buf_append_str(b, "<div class=\"card\"><b>");
	chart_xml_escape(b, value);
	buf_append_str(b, "</b><span>");
	chart_xml_escape(b, label);
	buf_append_str(b, "</span></div>");
}
