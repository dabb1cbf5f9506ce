/* SPDX-License-Identifier: MIT */
/*
 * Fills the picture model (timeline.h) from the analysis: a gs_listener on
 * the GIL state machine records its intervals, handoffs, drop requests, gaps
 * and inversion episodes; after the run, the metrics' findings (convoy,
 * inversion, handoff battle, lost events) become timeline findings pointing
 * at their worst moments. Nothing here re-derives GIL state.
 *
 *   struct gs_tl_builder *b = gs_tl_builder_new(&tl, from, to);
 *   opts.listener = gs_tl_builder_listener(b);
 *   gs_analyze(path, &opts, &an, err, sizeof(err));
 *   gs_tl_builder_finish(b, &an);     // names, findings, gs_tl_finish()
 *   gs_tl_builder_free(b);
 *
 * or, in one call, gs_timeline_load().
 */
#ifndef GILSCOPE_TIMELINE_BUILD_H
#define GILSCOPE_TIMELINE_BUILD_H

#include <stddef.h>
#include <stdint.h>

#include "analyze.h"
#include "timeline.h"

struct gs_tl_builder;

/* Spans outside [from, to) (absolute ns; 0, 0 = everything) are not kept. */
struct gs_tl_builder *gs_tl_builder_new(struct gs_timeline *tl, uint64_t from,
					uint64_t to);
const struct gs_listener *gs_tl_builder_listener(struct gs_tl_builder *b);
/* For gs_analyze_opts.before_event (ctx: the builder): follows the trace's
 * `stack` events so HOLD spans carry the stack of their release. */
void gs_tl_builder_before_event(void *ctx, const struct gs_event *ev,
				const struct gs_state *st);
/* Thread names and order, trace info and findings from the finished
 * analysis; sorts the model. Returns -1 when memory ran out. */
int gs_tl_builder_finish(struct gs_tl_builder *b, const struct gs_analysis *an);
void gs_tl_builder_free(struct gs_tl_builder *b);

/* Analyses path and fills tl. an may be NULL (freed here then). Returns 0,
 * or -1 with err filled ("FILE: offset N: problem"). */
int gs_timeline_load(const char *path, const struct gs_analyze_opts *opts,
		     uint64_t from, uint64_t to, struct gs_timeline *tl,
		     struct gs_analysis *an, char *err, size_t errlen);

#endif
