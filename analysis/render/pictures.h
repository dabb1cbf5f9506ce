/* SPDX-License-Identifier: MIT */
/*
 * The CLI side of the pictures: `gilscope export` and `gilscope report
 * --html/--svg` both come here, so a trace is analysed once and every
 * requested output is written from the same timeline (docs/pictures.md).
 */
#ifndef GILSCOPE_CLI_PICTURES_H
#define GILSCOPE_CLI_PICTURES_H

#include <stdint.h>

struct gs_pictures_req {
	const char *html, *svg, *chrome_json, *perfetto; /* outputs; "-" = stdout */
	/* Window, relative to the trace's first event (ns). */
	uint64_t from, to;
	int has_from, has_to;
	int allow_truncated;
	unsigned svg_width;
	const char *report_json; /* shown in the HTML page, may be NULL */
	const char *blame_svg;   /* the HTML page's blame flame graph, or NULL */
	int quiet;
	int verbose;  /* progress and steps on stderr even when it is no tty */
};

/* Analyses trace and writes the requested outputs. Returns an exit code:
 * 0 ok, 1 error (message on stderr). */
int gs_pictures_run(const char *prog, const char *trace,
		    const struct gs_pictures_req *req);

/*
 * `gilscope report --html/--svg`: the report's own analysis run feeds the
 * timeline, so the trace is read once.
 *   p = gs_report_pictures_begin(&ao, html, svg);   // sets ao.listener
 *   rc = gs_analyze(path, &ao, &a, ...);
 *   gs_report_pictures_end(p, rc ? NULL : &a);      // writes, frees
 * begin returns NULL when neither output is asked for (end accepts NULL).
 * The pictures cover the report's window (a->metrics->from_ns/to_ns).
 */
struct gs_analyze_opts;
struct gs_analysis;
struct gs_report_pictures;
struct gs_report_pictures *gs_report_pictures_begin(struct gs_analyze_opts *ao,
						    const char *html,
						    const char *svg);
/* Exit code: 0 ok (or nothing to do), 1 error (said on stderr). */
int gs_report_pictures_end(struct gs_report_pictures *p,
			   const struct gs_analysis *a);


#endif
