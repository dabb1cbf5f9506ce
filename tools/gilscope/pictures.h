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
	int quiet;
};

/* Analyses trace and writes the requested outputs. Returns an exit code:
 * 0 ok, 1 error (message on stderr). */
int gs_pictures_run(const char *prog, const char *trace,
		    const struct gs_pictures_req *req);

/* "250ms", "1.5s", "800us", "42ns", "1000" (ns) -> ns. 0 ok, -1 bad. */
int gs_parse_time(const char *s, uint64_t *ns);

#endif
