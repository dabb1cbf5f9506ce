/* SPDX-License-Identifier: MIT */
/*
 * A static SVG timeline of one window, for documents: one row per thread
 * coloured by GIL state, an off-CPU lane under it when the trace has
 * scheduler events, handoff arrows, failed handoffs (red crosses), drop
 * requests (ticks on the holder's row), findings as shaded bands, and the
 * number of waiters as a step line.
 *
 * Spans are accumulated per pixel column: a column covered by one state is
 * drawn as part of a run, a mixed column as a stacked bar of the states'
 * shares, so a window with millions of spans stays a few hundred kB.
 */
#include "export.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"

/* Shared with the HTML report's stylesheet (html/report.css). */
static const char *const state_color[GS_TL_STATE_MAX] = {
	"none", "#2e9d4f", "#e8a33d", "#4a7fd0", "#9a9a9a" };
#define COLOR_FAILED "#d62728"
#define COLOR_DROP "#8e44ad"
#define COLOR_ARROW "#333333"
#define COLOR_FINDING "rgba(214,39,40,0.10)"

#define LABEL_W 170
#define MAX_ARROWS 400
#define MAX_MARKS 4000

struct svg {
	FILE *out;
	uint64_t from, to;
	double x0, pw; /* plot left edge and width in px */
};

static double xof(const struct svg *s, uint64_t t)
{
	if (t <= s->from)
		return s->x0;
	if (t >= s->to)
		return s->x0 + s->pw;
	return s->x0 + (double)(t - s->from) / (double)(s->to - s->from) * s->pw;
}

static double nice_step(double span, int want)
{
	double raw = span / want, p = pow(10, floor(log10(raw)));
	double m = raw / p;
	return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

/* Draws one lane: accumulate each span's share of every pixel column. */
static void lane(struct svg *s, const struct gs_tl_span *sp, size_t n,
		 double y, double h, double *acc /* [pw][STATE_MAX] */,
		 size_t cols)
{
	memset(acc, 0, cols * GS_TL_STATE_MAX * sizeof(*acc));
	double ns_per_px = (double)(s->to - s->from) / s->pw;
	for (size_t k = gs_tl_first_span(sp, n, s->from);
	     k < n && sp[k].t0 < s->to; k++) {
		double a = (double)((sp[k].t0 > s->from ? sp[k].t0 : s->from) -
				    s->from) / ns_per_px;
		double b = (double)((sp[k].t1 < s->to ? sp[k].t1 : s->to) -
				    s->from) / ns_per_px;
		size_t c0 = (size_t)a, c1 = (size_t)b;
		for (size_t c = c0; c <= c1 && c < cols; c++) {
			double lo = a > c ? a : (double)c;
			double hi = b < c + 1 ? b : (double)(c + 1);
			if (hi > lo)
				acc[c * GS_TL_STATE_MAX + sp[k].state] += hi - lo;
		}
	}
	/* Runs of columns filled by one state become one rectangle. */
	size_t c = 0;
	while (c < cols) {
		double *col = &acc[c * GS_TL_STATE_MAX];
		int pure = -1;
		double sum = 0;
		for (int st = 1; st < GS_TL_STATE_MAX; st++) {
			sum += col[st];
			if (col[st] >= 0.98)
				pure = st;
		}
		if (sum < 0.02) {
			c++;
			continue;
		}
		if (pure > 0) {
			size_t e = c + 1;
			while (e < cols && acc[e * GS_TL_STATE_MAX + pure] >= 0.98)
				e++;
			double left = c, right = e;
			fprintf(s->out,
				"<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%s\"/>\n",
				s->x0 + left, y, right - left, h, state_color[pure]);
			c = e;
			continue;
		}
		double yy = y;
		for (int st = 1; st < GS_TL_STATE_MAX; st++) {
			if (col[st] <= 0)
				continue;
			double hh = h * col[st];
			fprintf(s->out,
				"<rect x=\"%.2f\" y=\"%.2f\" width=\"1\" height=\"%.2f\" fill=\"%s\"/>\n",
				s->x0 + c, yy, hh, state_color[st]);
			yy += hh;
		}
		c++;
	}
}

int gs_render_svg(const struct gs_timeline *tl, FILE *out, uint64_t from,
		  uint64_t to, const struct gs_svg_opts *opts)
{
	if (gs_export_window(tl, &from, &to)) {
		errno = EINVAL;
		return -1;
	}
	if (to == from)
		to = from + 1000;
	unsigned width = opts && opts->width ? opts->width : 1200;
	unsigned rh = opts && opts->row_height ? opts->row_height : 26;
	if (width < LABEL_W + 100)
		width = LABEL_W + 100;
	struct svg s = { .out = out, .from = from, .to = to, .x0 = LABEL_W,
			 .pw = width - LABEL_W - 20 };
	double top = 64, lane_h = rh - 8, off_h = tl->has_sched ? 5 : 0;
	double rows_h = (double)tl->nthreads * rh;
	double counter_y = top + rows_h + 10, counter_h = 36;
	double legend_y = counter_y + counter_h + 28;
	double height = legend_y + 24;

	fprintf(out,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%u\" height=\"%.0f\" "
		"viewBox=\"0 0 %u %.0f\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
		width, height, width, height);

	char title[256], a[32], b[32], w[32];
	if (opts && opts->title)
		snprintf(title, sizeof(title), "%s", opts->title);
	else
		snprintf(title, sizeof(title), "%s — GIL policy %s%s",
			 tl->command[0] ? tl->command : "gilscope trace",
			 tl->policy[0] ? tl->policy : "unknown",
			 "");
	fputs("<text x=\"10\" y=\"20\" font-size=\"15\" font-weight=\"bold\">", out);
	gs_export_markup_text(out, title, GS_MARKUP_SVG);
	fputs("</text>\n", out);
	gs_format_duration(a, sizeof(a), (double)(from - tl->t_start));
	gs_format_duration(b, sizeof(b), (double)(to - tl->t_start));
	gs_format_duration(w, sizeof(w), (double)(to - from));
	fprintf(out, "<text x=\"10\" y=\"38\" fill=\"#555\">window %s to %s after the trace start (%s)", a, b, w);
	if (tl->interval_us)
		fprintf(out, ", switch interval %u us", tl->interval_us);
	fputs("</text>\n", out);

	/* Time axis. */
	double step = nice_step((double)(to - from), 8);
	double first = ceil((double)(from - tl->t_start) / step) * step;
	for (double t = first; t <= (double)(to - tl->t_start) + 1e-9; t += step) {
		double x = xof(&s, tl->t_start + (uint64_t)llround(t));
		char lab[32];
		gs_format_duration(lab, sizeof(lab), t);
		fprintf(out,
			"<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n"
			"<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\" fill=\"#555\" font-size=\"10\">%s</text>\n",
			x, top - 6, x, top + rows_h, x, top - 10, lab);
	}

	/* Findings behind everything. */
	for (size_t k = 0; k < tl->nfindings; k++) {
		const struct gs_tl_finding *f = &tl->findings[k];
		if (f->t1 < from || f->t0 >= to)
			continue;
		double x1 = xof(&s, f->t0), x2 = xof(&s, f->t1);
		if (x2 - x1 < 2)
			x2 = x1 + 2;
		fprintf(out,
			"<rect x=\"%.2f\" y=\"%.0f\" width=\"%.2f\" height=\"%.0f\" fill=\"%s\"><title>",
			x1, top, x2 - x1, rows_h, COLOR_FINDING);
		fprintf(out, "%s: ", gs_tl_finding_name(f->kind));
		gs_export_markup_text(out, f->text, GS_MARKUP_SVG);
		fputs("</title></rect>\n", out);
	}

	size_t cols = (size_t)s.pw + 1;
	double *acc = malloc(cols * GS_TL_STATE_MAX * sizeof(*acc));
	if (!acc)
		return -1;
	for (size_t i = 0; i < tl->nthreads; i++) {
		const struct gs_tl_thread *th = &tl->threads[i];
		double y = top + (double)i * rh;
		fprintf(out, "<text x=\"10\" y=\"%.1f\">", y + rh / 2.0 + 3);
		gs_export_markup_text(out, th->name, GS_MARKUP_SVG);
		fprintf(out, "</text>\n<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"#888\" font-size=\"10\">%u</text>\n",
			LABEL_W - 8, y + rh / 2.0 + 3, th->tid);
		fprintf(out, "<g class=\"row\" data-tid=\"%u\">\n", th->tid);
		lane(&s, th->spans, th->nspans, y + 2, lane_h - off_h, acc, cols);
		if (th->noffcpu)
			lane(&s, th->offcpu, th->noffcpu, y + 2 + lane_h - off_h + 1,
			     off_h, acc, cols);
		fputs("</g>\n", out);
	}
	free(acc);

	/* Marks: count first, so a crowded window says what it left out. */
	size_t narrows = 0, nmarks = 0;
	for (size_t k = 0; k < tl->nmarks; k++) {
		const struct gs_tl_mark *m = &tl->marks[k];
		if (m->ts < from || m->ts >= to)
			continue;
		if (m->kind == GS_TL_MARK_HANDOFF)
			narrows++;
		else
			nmarks++;
	}
	fputs("<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" "
	      "markerWidth=\"6\" markerHeight=\"6\" orient=\"auto-start-reverse\">"
	      "<path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"" COLOR_ARROW "\"/></marker></defs>\n",
	      out);
	double last_x[GS_TL_MARK_MAX] = { -10, -10, -10, -10, -10 };
	for (size_t k = 0; k < tl->nmarks; k++) {
		const struct gs_tl_mark *m = &tl->marks[k];
		if (m->ts < from || m->ts >= to)
			continue;
		int r1 = gs_tl_thread_index(tl, m->tid);
		int r2 = gs_tl_thread_index(tl, m->tid2);
		double x1 = xof(&s, m->ts);
		if (m->kind == GS_TL_MARK_HANDOFF && narrows <= MAX_ARROWS &&
		    r1 >= 0 && r2 >= 0) {
			double x2 = xof(&s, m->ts2);
			double y1 = top + r1 * rh + rh / 2.0;
			double y2 = top + r2 * rh + rh / 2.0;
			y2 += y2 > y1 ? -lane_h / 2 : lane_h / 2;
			fprintf(out,
				"<line class=\"handoff\" x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\" "
				"stroke=\"" COLOR_ARROW "\" stroke-width=\"1\" marker-end=\"url(#arrow)\"/>\n",
				x1, y1, x2, y2);
		} else if (m->kind == GS_TL_MARK_FAILED_HANDOFF && r1 >= 0) {
			if (nmarks > MAX_MARKS && x1 - last_x[m->kind] < 1)
				continue;
			last_x[m->kind] = x1;
			double y = top + r1 * rh + rh / 2.0;
			fprintf(out,
				"<path class=\"failed\" d=\"M %.1f %.1f l 6 6 m 0 -6 l -6 6\" "
				"stroke=\"" COLOR_FAILED "\" stroke-width=\"2\"/>\n",
				x1 - 3, y - 3);
		} else if (m->kind == GS_TL_MARK_DROP_REQUEST) {
			int r = r2 >= 0 ? r2 : r1;
			if (r < 0 || (nmarks > MAX_MARKS && x1 - last_x[m->kind] < 1))
				continue;
			last_x[m->kind] = x1;
			double y = top + r * rh;
			fprintf(out,
				"<line class=\"drop\" x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\" "
				"stroke=\"" COLOR_DROP "\" stroke-width=\"1.5\"/>\n",
				x1, y, x1, y + 7);
		}
	}
	if (narrows > MAX_ARROWS)
		fprintf(out,
			"<text x=\"%.0f\" y=\"38\" text-anchor=\"end\" fill=\"#555\">%zu handoffs in this window: "
			"arrows left out, narrow it with --from/--to</text>\n",
			s.x0 + s.pw, narrows);

	/* Waiters: a step line scaled to the window's maximum. */
	uint32_t maxw = 1;
	size_t w0 = gs_tl_waiters_at(tl, from);
	for (size_t k = w0; k < tl->nwaiters && tl->waiters[k].ts < to; k++)
		if (tl->waiters[k].value > maxw)
			maxw = tl->waiters[k].value;
	fprintf(out, "<text x=\"10\" y=\"%.1f\">GIL waiters</text>\n"
		     "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"#888\" font-size=\"10\">max %u</text>\n",
		counter_y + counter_h / 2 + 4, LABEL_W - 8, counter_y + 10, maxw);
	fprintf(out, "<rect x=\"%.0f\" y=\"%.1f\" width=\"%.0f\" height=\"%.0f\" fill=\"#f6f6f6\"/>\n",
		s.x0, counter_y, s.pw, counter_h);
	if (tl->nwaiters) {
		fputs("<path fill=\"none\" stroke=\"#555\" stroke-width=\"1\" d=\"", out);
		double prev_y = -1;
		double px = s.x0;
		for (size_t k = w0; k < tl->nwaiters && tl->waiters[k].ts < to; k++) {
			double x = xof(&s, tl->waiters[k].ts);
			double y = counter_y + counter_h -
				   counter_h * tl->waiters[k].value / maxw;
			if (prev_y < 0)
				fprintf(out, "M %.2f %.2f", x, y);
			else if (x - px >= 0.25 || k + 1 == tl->nwaiters)
				fprintf(out, " H %.2f V %.2f", x, y);
			else
				continue;
			px = x;
			prev_y = y;
		}
		fprintf(out, " H %.2f\"/>\n", s.x0 + s.pw);
	}

	/* Legend. */
	static const char *const labels[] = { NULL, "holds the GIL",
		"waits for the GIL", "blocking call", "off CPU" };
	double lx = 10;
	for (int st = 1; st < GS_TL_STATE_MAX; st++) {
		if (st == GS_TL_OFFCPU && !tl->has_sched)
			continue;
		fprintf(out,
			"<rect x=\"%.0f\" y=\"%.0f\" width=\"14\" height=\"12\" fill=\"%s\"/>"
			"<text x=\"%.0f\" y=\"%.0f\">%s</text>\n",
			lx, legend_y - 10, state_color[st], lx + 18, legend_y, labels[st]);
		lx += 40 + 7.0 * strlen(labels[st]);
	}
	fprintf(out,
		"<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"" COLOR_ARROW "\" marker-end=\"url(#arrow)\"/>"
		"<text x=\"%.0f\" y=\"%.0f\">handoff</text>\n",
		lx, legend_y - 4, lx + 22, legend_y - 4, lx + 28, legend_y);
	lx += 90;
	fprintf(out,
		"<path d=\"M %.0f %.0f l 8 8 m 0 -8 l -8 8\" stroke=\"" COLOR_FAILED "\" stroke-width=\"2\"/>"
		"<text x=\"%.0f\" y=\"%.0f\">failed handoff</text>\n",
		lx, legend_y - 9, lx + 14, legend_y);
	lx += 125;
	fprintf(out,
		"<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"" COLOR_DROP "\" stroke-width=\"1.5\"/>"
		"<text x=\"%.0f\" y=\"%.0f\">drop request</text>\n",
		lx, legend_y - 11, lx, legend_y - 2, lx + 6, legend_y);
	lx += 110;
	if (tl->nfindings)
		fprintf(out,
			"<rect x=\"%.0f\" y=\"%.0f\" width=\"14\" height=\"12\" fill=\"%s\" stroke=\"#d62728\"/>"
			"<text x=\"%.0f\" y=\"%.0f\">finding</text>\n",
			lx, legend_y - 10, COLOR_FINDING, lx + 18, legend_y);
	fputs("</svg>\n", out);
	if (fflush(out) || ferror(out))
		return -1;
	return 0;
}
