/* SPDX-License-Identifier: MIT */
/*
 * Pictures and exports of a timeline (timeline.h):
 *   - Chrome trace-event JSON (export_chrome.c): chrome://tracing, Perfetto
 *     UI's JSON importer, speedscope;
 *   - Perfetto protobuf (export_perfetto.c): TrackEvent packets for the
 *     Perfetto UI and trace processor;
 *   - a static SVG timeline (export_svg.c) for documents;
 *   - the self-contained HTML report (html_report.c).
 * Windows: from/to are absolute trace times in ns; to == 0 means the end.
 * Everything that overlaps the window is written, clipped to it.
 * All return 0, or -1 with errno set when writing failed.
 */
#ifndef GILSCOPE_EXPORT_H
#define GILSCOPE_EXPORT_H

#include <stdint.h>
#include <stdio.h>

#include "timeline.h"

/* Viewers (chrome://tracing, speedscope, Perfetto's JSON importer) give up
 * on JSON much above this size. */
#define GS_CHROME_JSON_SOFT_LIMIT (256ull << 20)

int gs_export_chrome_json(const struct gs_timeline *tl, FILE *out,
			  uint64_t from, uint64_t to);
/* Bytes gs_export_chrome_json() would write, within ~25% (a window's
 * estimate grows with its end, which is how a fitting window is found). */
uint64_t gs_export_chrome_json_estimate(const struct gs_timeline *tl,
					uint64_t from, uint64_t to);

int gs_export_perfetto(const struct gs_timeline *tl, FILE *out, uint64_t from,
		       uint64_t to);

struct gs_svg_opts {
	unsigned width;       /* pixels, 0 = 1200 */
	unsigned row_height;  /* pixels, 0 = 26 */
	const char *title;    /* NULL: from the trace */
};
int gs_render_svg(const struct gs_timeline *tl, FILE *out, uint64_t from,
		  uint64_t to, const struct gs_svg_opts *opts);

struct gs_html_opts {
	const char *title;       /* NULL: from the trace */
	/* Optional JSON object written verbatim into the page (the report's
	 * own figures, shown under "Report"); NULL for none. */
	const char *report_json;
	/* Optional SVG (a blame flame graph, code_report.h) shown under
	 * "Blame"; NULL for none. */
	const char *blame_svg;
	/* Above this many spans only a window is embedded (the busiest part is
	 * not guessed: the start of the trace); 0 = 12 million. */
	uint64_t max_spans;
	/* Embed only this window (absolute ns); 0, 0 = the whole trace. */
	uint64_t window_from, window_to;
};
int gs_render_html(const struct gs_timeline *tl, FILE *out,
		   const struct gs_html_opts *opts);

/* Resolves a window: to == 0 or past the end is the end; from before the
 * start is the start. Returns 0, or -1 when the window is empty. */
int gs_export_window(const struct gs_timeline *tl, uint64_t *from,
		     uint64_t *to);

/* Splits off-CPU spans at the GIL spans' edges so every piece lies inside
 * one GIL span or in a gap (viewers that nest slices require that).
 * Calls fn for each piece; returns the number of pieces. */
size_t gs_export_offcpu_pieces(const struct gs_tl_thread *th, uint64_t from,
			       uint64_t to,
			       void (*fn)(void *ctx, const struct gs_tl_span *piece,
					  int nested),
			       void *ctx);

/* A finding's name for viewers: "convoy: TEXT" unless TEXT says it. */
const char *gs_export_finding_name(const struct gs_tl_finding *f, char *buf,
				   size_t n);


/* Text and attribute values in SVG or HTML: escapes <, >, & and ". SVG is
 * XML 1.0, which allows no control characters, so they are left out there;
 * the HTML report keeps them (newlines of the embedded report JSON). */
enum gs_markup { GS_MARKUP_HTML, GS_MARKUP_SVG };
void gs_export_markup_text(FILE *out, const char *p, enum gs_markup lang);

/* "hold GIL", "wait GIL", "blocked: read", "off CPU (sleeping)", ...
 * HOLD spans with a stack (record --stacks) are named after their code:
 * "hold GIL: function (file:line)"; tl may be NULL. The returned string
 * is valid until the next call. */
const char *gs_export_span_name(const struct gs_timeline *tl,
				const struct gs_tl_span *s);

#endif
