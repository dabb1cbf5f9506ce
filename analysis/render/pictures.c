/* SPDX-License-Identifier: MIT */
/* See pictures.h. */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include "pictures.h"

#include "code_report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "duration.h"
#include "export.h"
#include "report.h"
#include "timeline_build.h"

static FILE *open_out(const char *prog, const char *path)
{
	if (!strcmp(path, "-"))
		return stdout;
	FILE *f = fopen(path, "w");
	if (!f)
		fprintf(stderr, "%s: cannot write %s: %s\n", prog, path,
			strerror(errno));
	return f;
}

/* Closes an output its writer returned rc for and says where it went. */
static int close_out(const char *prog, const struct gs_pictures_req *r,
		     const char *path, FILE *f, int rc)
{
	if (rc)
		fprintf(stderr, "%s: writing %s failed: %s\n", prog, path,
			strerror(errno));
	if (f != stdout && fclose(f) && !rc) {
		fprintf(stderr, "%s: writing %s failed: %s\n", prog, path,
			strerror(errno));
		rc = -1;
	}
	if (!rc && !r->quiet && strcmp(path, "-"))
		fprintf(stderr, "%s: wrote %s\n", prog, path);
	return rc ? 1 : 0;
}

/* The end of a window from `from` whose Chrome JSON is about `bytes`. */
static uint64_t window_for(const struct gs_timeline *tl, uint64_t from,
			   uint64_t bytes)
{
	uint64_t lo = from, hi = tl->t_end;
	while (hi - lo > 1000) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (gs_export_chrome_json_estimate(tl, from, mid) <= bytes)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* Writes every requested output of a loaded timeline; window from/to are
 * absolute (0, 0: everything). */
static int write_outputs(const char *prog, const char *trace,
			 struct gs_timeline *tl, uint64_t from, uint64_t to,
			 int windowed, const struct gs_pictures_req *r)
{
	uint64_t wf = from, wt = to;
	if (gs_export_window(tl, &wf, &wt)) {
		char a[32], b[32];
		gs_format_duration(a, sizeof(a), (double)(tl->t_end - tl->t_start));
		gs_format_duration(b, sizeof(b), (double)(from - tl->t_start));
		fprintf(stderr,
			"%s: %s: the window is empty: the trace lasts %s and the "
			"window starts at %s (times count from the trace's first "
			"event)\n",
			prog, trace, a, b);
		return 1;
	}
	int rc = 0;
	FILE *f;
	if (r->chrome_json && !rc) {
		uint64_t est = gs_export_chrome_json_estimate(tl, from, to);
		if (est > GS_CHROME_JSON_SOFT_LIMIT) {
			uint64_t end = window_for(tl, wf, 200ull << 20);
			fprintf(stderr,
				"%s: warning: %s will be about %llu MB; chrome://tracing, "
				"speedscope and Perfetto's JSON importer fail on JSON much "
				"above 256 MB. Export a window (about 200 MB: --from %lluns "
				"--to %lluns) or use --format perfetto, which Perfetto opens "
				"at any size.\n",
				prog, r->chrome_json, (unsigned long long)(est >> 20),
				(unsigned long long)(wf - tl->t_start),
				(unsigned long long)(end - tl->t_start));
		}
		if (!(f = open_out(prog, r->chrome_json)))
			rc = 1;
		else
			rc = close_out(prog, r, r->chrome_json, f,
				       gs_export_chrome_json(tl, f, from, to));
	}
	if (r->perfetto && !rc) {
		if (!(f = open_out(prog, r->perfetto)))
			rc = 1;
		else
			rc = close_out(prog, r, r->perfetto, f,
				       gs_export_perfetto(tl, f, from, to));
	}
	if (r->svg && !rc) {
		struct gs_svg_opts so = { .width = r->svg_width };
		if (!(f = open_out(prog, r->svg)))
			rc = 1;
		else
			rc = close_out(prog, r, r->svg, f,
				       gs_render_svg(tl, f, from, to, &so));
	}
	if (r->html && !rc) {
		struct gs_html_opts ho = { .report_json = r->report_json,
					   .blame_svg = r->blame_svg };
		if (windowed) {
			/* The page embeds one window: cut the model to it. */
			ho.window_from = wf;
			ho.window_to = wt;
		}
		if (!(f = open_out(prog, r->html)))
			rc = 1;
		else
			rc = close_out(prog, r, r->html, f,
				       gs_render_html(tl, f, &ho));
	}
	return rc;
}

struct read_progress {
	const char *prog, *path;
	int tty, last_pct, shown;
};

/* Reading is most of an export's time (3 s for 4.5 M events): a terminal
 * gets a percentage that rewrites itself, a log (-v) a line every 10 %. */
static void read_progress(void *ctx, double fraction)
{
	struct read_progress *p = ctx;
	int pct = (int)(100 * (fraction > 1 ? 1 : fraction));
	if (p->tty)
		fprintf(stderr, "\r%s: reading %s %3d%%", p->prog, p->path, pct);
	else if (pct / 10 != p->last_pct / 10)
		fprintf(stderr, "%s: reading %s %d%%\n", p->prog, p->path, pct);
	p->last_pct = pct;
	p->shown = 1;
}

int gs_pictures_run(const char *prog, const char *trace,
		    const struct gs_pictures_req *r)
{
	struct gs_timeline tl;
	struct gs_analyze_opts o = { .allow_truncated = r->allow_truncated };
	struct read_progress rp = { prog, trace, isatty(STDERR_FILENO), 0, 0 };
	if (!r->quiet && (rp.tty || r->verbose)) {
		o.progress = read_progress;
		o.progress_ctx = &rp;
	}
	char err[640];
	int loaded = gs_timeline_load(trace, &o, 0, 0, &tl, NULL, err, sizeof(err));
	if (rp.shown && rp.tty)
		fprintf(stderr, "\r\033[K");
	if (loaded) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return 1;
	}
	if (r->verbose)
		fprintf(stderr, "%s: read %s (%zu threads); writing\n", prog, trace,
			tl.nthreads);
	uint64_t from = tl.t_start + (r->has_from ? r->from : 0);
	uint64_t to = r->has_to ? tl.t_start + r->to : 0;
	int rc = write_outputs(prog, trace, &tl, from, to,
			       r->has_from || r->has_to, r);
	gs_tl_free(&tl);
	return rc;
}

struct gs_report_pictures {
	struct gs_timeline tl;
	struct gs_tl_builder *b;
	struct gs_pictures_req req;
};

struct gs_report_pictures *gs_report_pictures_begin(struct gs_analyze_opts *ao,
						    const char *html,
						    const char *svg)
{
	if (!html && !svg)
		return NULL;
	struct gs_report_pictures *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	gs_tl_init(&p->tl);
	p->b = gs_tl_builder_new(&p->tl, 0, 0);
	if (!p->b) {
		free(p);
		return NULL;
	}
	p->req.html = html;
	p->req.svg = svg;
	ao->listener = gs_tl_builder_listener(p->b);
	/* stack events: the code location of each hold and wait span */
	if (!ao->before_event) {
		ao->before_event = gs_tl_builder_before_event;
		ao->before_event_ctx = p->b;
	}
	return p;
}

int gs_report_pictures_end(struct gs_report_pictures *p,
			   const struct gs_analysis *a)
{
	if (!p)
		return 0;
	int rc = 0;
	const char *prog = "gilscope report";
	if (a) {
		rc = gs_tl_builder_finish(p->b, a) ? 1 : 0;
		if (rc)
			fprintf(stderr, "%s: out of memory building the timeline "
				"(try a window: --from/--to)\n", prog);
		char *json = NULL;
		size_t len = 0;
		FILE *m = p->req.html ? open_memstream(&json, &len) : NULL;
		if (m) {
			struct gs_report_opts ro = { 0 };
			gs_report_json(m, a, &ro);
			if (fclose(m)) {
				free(json);
				json = NULL;
			}
		}
		p->req.report_json = json;
		/* record --stacks: the blame flame graph, drawn here */
		char *flame = NULL;
		size_t flen = 0;
		FILE *fm = p->req.html && a->code ? open_memstream(&flame, &flen) : NULL;
		if (fm && (gs_code_flame_svg(fm, a, GS_CODE_BLAME) | fclose(fm))) {
			free(flame);
			flame = NULL;
		}
		p->req.blame_svg = flame;
		const struct gs_metrics *mt = a->metrics;
		uint64_t from = mt ? mt->from_ns : 0, to = mt ? mt->to_ns : 0;
		int windowed = mt && (mt->opts.from_ns || mt->opts.to_ns);
		if (!windowed)
			from = to = 0;
		if (!rc)
			rc = write_outputs(prog, a->info.path ? a->info.path : "trace",
					   &p->tl, from, to, windowed, &p->req);
		free(json);
		free(flame);
	}
	gs_tl_builder_free(p->b);
	gs_tl_free(&p->tl);
	free(p);
	return rc;
}
