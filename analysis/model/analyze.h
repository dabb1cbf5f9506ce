/* SPDX-License-Identifier: MIT */
/*
 * The whole pipeline in one call: open any trace (gs_source_open_any), run
 * the state machine, compute the metrics. Used by `gilscope report`, the
 * tests and the benchmark; other commands can add their own listener.
 */
#ifndef GILSCOPE_ANALYZE_H
#define GILSCOPE_ANALYZE_H

#include <stddef.h>

#include "codeattr.h"
#include "gilstate.h"
#include "metrics.h"
#include "source.h"
#include "stacktab.h"

struct gs_analyze_opts {
	int allow_truncated;
	/* 1: read a full-set CPython trace as the light probe set would have
	 * recorded it (gs_source_as_light(); report --as-probes light) */
	int as_light_probes;
	struct gs_metrics_opts metrics;
	/* 1: metrics.from_ns/to_ns are offsets from the trace start (the
	 * header's start time, else the first event), not trace clock values */
	int window_relative;
	/* Called about every million events with the fraction of the file
	 * read so far (0..1); may be NULL. */
	void (*progress)(void *ctx, double fraction);
	void *progress_ctx;
	/* An extra listener (exporters); may be NULL. */
	const struct gs_listener *listener;
	/* Called with every event before the state machine sees it (the
	 * state still describes the instant before ev); may be NULL. */
	void (*before_event)(void *ctx, const struct gs_event *ev,
			     const struct gs_state *st);
	void *before_event_ctx;
};

struct gs_analysis {
	struct gs_trace_info info;   /* path points into the caller's string */
	struct gs_source_totals totals;
	int partial;                 /* the trace was cut short (allowed) */
	struct gs_metrics *metrics;
	struct gs_state *state;      /* final state (thread names, counters) */
	/* Code attribution, when the trace has stacks (record --stacks);
	 * else both NULL. */
	struct gs_codeattr *code;
	struct gs_stacktab *stacks;
};

/* 0, or -1 with err = "FILE: offset N: what was wrong (expected ...)". */
int gs_analyze(const char *path, const struct gs_analyze_opts *opts,
	       struct gs_analysis *out, char *err, size_t errlen);
void gs_analysis_free(struct gs_analysis *a);

#endif
