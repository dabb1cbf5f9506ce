/* SPDX-License-Identifier: MIT */
#include "analyze.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int gs_analyze(const char *path, const struct gs_analyze_opts *opts,
	       struct gs_analysis *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	struct gs_source *src = gs_source_open_any(path, opts->allow_truncated,
						   err, errlen);
	if (!src)
		return -1;
	if (opts->as_light_probes) {
		struct gs_source *light = gs_source_as_light(src, err, errlen);
		if (!light) {
			gs_source_close(src);
			return -1;
		}
		src = light;
	}
	/* A source that knows its losses up front (native: the END block)
	 * lets the state machine treat impossible sequences as gaps. So does
	 * an accepted truncation: each thread's stream stops at its last
	 * complete chunk, at different times, so the tail of one thread is
	 * missing while the others go on. And so does a trace with inferred
	 * events, whose order against other threads' is approximate. */
	struct gs_codeattr *code = NULL;
	struct gs_source_totals pre = { 0 };
	if (src->ops->totals)
		src->ops->totals(src, &pre);
	struct gs_event ev;
	int rc = gs_source_next(src, &ev);
	if (rc < 0) {
		snprintf(err, errlen, "%s", gs_source_error(src));
		gs_source_close(src);
		return -1;
	}
	struct gs_metrics_opts mo = opts->metrics;
	uint64_t base = 0;
	if (opts->window_relative) {
		base = src->info.start_ns;
		if (!base || (rc == 1 && ev.ts_ns < base))
			base = rc == 1 ? ev.ts_ns : 0;
		mo.from_ns += base;
		if (mo.to_ns)
			mo.to_ns += base;
	}
	int lossy = pre.lost > 0 || (opts->allow_truncated && !pre.complete) ||
		    (src->info.flags & GS_HDR_F_INFERRED);
	struct gs_state *st = gs_state_new(&src->info, lossy);
	struct gs_metrics *m = gs_metrics_new(&mo, &src->info);
	if (!st || !m) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	gs_state_set_source(st, src);
	gs_metrics_attach(m, st);
	/* code attribution when the trace names code locations */
	if (src->stacks && (!(code = gs_codeattr_new()) ||
			    gs_codeattr_attach(code, st))) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	if (opts->listener)
		gs_state_listen(st, opts->listener);

	double size = 0;
	struct stat sb;
	if (opts->progress && stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
		size = (double)sb.st_size;
	uint64_t to = mo.to_ns ? mo.to_ns : UINT64_MAX;
	uint64_t end = 0, last_ts = 0;
	int cut_at_to = 0;
	uint64_t n = 0;
	for (; rc == 1; rc = gs_source_next(src, &ev)) {
		if (__builtin_expect(ev.ts_ns > to, 0)) {
			end = to;
			cut_at_to = 1;
			break;
		}
		last_ts = ev.ts_ns;
		if (opts->before_event)
			opts->before_event(opts->before_event_ctx, &ev, st);
		if (code)
			gs_codeattr_event(code, &ev, st);
		if (__builtin_expect(gs_state_feed(st, &ev) != 0, 0)) {
			snprintf(err, errlen, "%s: %s", path, gs_state_error(st));
			goto fail;
		}
		if (__builtin_expect((++n & 0xfffff) == 0, 0) && opts->progress)
			opts->progress(opts->progress_ctx,
				       size > 0 ? (double)ev.offset / size : 0);
	}
	if (rc < 0) {
		snprintf(err, errlen, "%s", gs_source_error(src));
		goto fail;
	}
	if (opts->progress)
		opts->progress(opts->progress_ctx, 1.0);
	if (src->ops->totals)
		src->ops->totals(src, &out->totals);
	out->info = src->info;
	out->info.path = path;
	out->info.probes = NULL;
	out->info.nprobes = 0;
	if (src->info.nprobes) {
		size_t bytes = src->info.nprobes * sizeof(*src->info.probes);
		struct gs_probe_site *copy = malloc(bytes);
		if (copy) {
			memcpy(copy, src->info.probes, bytes);
			out->info.probes = copy;
			out->info.nprobes = src->info.nprobes;
		}
	}
	if (!end && src->info.end_ns && src->info.end_ns <= to)
		end = src->info.end_ns;
	/* A window that opens after the last event would report zeros as if
	 * they were measured: refuse it, and say where the trace ends. */
	uint64_t trace_end = src->info.end_ns > last_ts ? src->info.end_ns : last_ts;
	if (mo.from_ns && !cut_at_to && mo.from_ns >= trace_end) {
		snprintf(err, errlen, "%s: the window starts at %.6g s but the "
			 "trace ends at %.6g s (times from the trace start): "
			 "nothing to report", path, (double)(mo.from_ns - base) / 1e9,
			 trace_end > base ? (double)(trace_end - base) / 1e9 : 0.0);
		goto fail;
	}
	gs_state_finish(st, end);
	if (code)
		gs_codeattr_finish(code, st);
	out->code = code;
	out->stacks = src->stacks;
	src->stacks = NULL;
	m->info.end_ns = end;
	gs_metrics_finish(m, st);
	out->partial = !out->totals.complete;
	out->metrics = m;
	out->state = st;
	gs_source_close(src);
	return 0;
fail:
	gs_codeattr_free(code);
	gs_metrics_free(m);
	gs_state_free(st);
	gs_source_close(src);
	return -1;
}

void gs_analysis_free(struct gs_analysis *a)
{
	gs_codeattr_free(a->code);
	gs_stacktab_free(a->stacks);
	a->code = NULL;
	a->stacks = NULL;
	gs_metrics_free(a->metrics);
	gs_state_free(a->state);
	free((void *)a->info.probes);
	a->info.probes = NULL;
	a->info.nprobes = 0;
	a->metrics = NULL;
	a->state = NULL;
}
