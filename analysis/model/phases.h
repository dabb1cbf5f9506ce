/* SPDX-License-Identifier: MIT */
/*
 * Phase extraction for `gilscope replay`: what each thread of a trace asked
 * of the GIL, independent of the policy that served it.
 *
 * A thread becomes a start time and a sequence of phases:
 *
 *   CPU n     n ns of work done while holding the GIL. Holds that a forced
 *             or periodic release cut apart are stitched back together: the
 *             policy chose where to cut, the thread did not. Only a blocking
 *             call or the thread's exit ends a CPU phase.
 *   BLOCK n   n ns without the GIL by the thread's own choice (a blocking
 *             region, or running without asking for it), with its kind.
 *   DEAF n    n ns of a hold during which the scheduler had preempted the
 *             holder: it kept the GIL and could not give it up.
 *
 * Waits are not phases: they are what the replayed policy will decide.
 * docs/replay.md explains the stitching and its limits.
 */
#ifndef GILSCOPE_PHASES_H
#define GILSCOPE_PHASES_H

#include <stddef.h>
#include <stdint.h>

#include "analyze.h"

enum gs_phase_kind {
	GS_PHASE_CPU = 1,
	GS_PHASE_BLOCK = 2,
	/* n ns holding the GIL while the OS had preempted the holder (sched
	 * events): it held, but could not see a drop request. */
	GS_PHASE_DEAF = 3,
};

struct gs_phase {
	uint64_t ns;
	uint8_t kind;         /* enum gs_phase_kind */
	uint8_t block_kind;   /* BLOCK: gs_blocking_kind */
};

struct gs_phase_thread {
	uint32_t tid;
	char name[32];
	uint32_t role;
	int32_t os_prio, gil_prio;
	uint64_t start_ns;    /* first sight, relative to the trace's start */
	/* Who started this thread: the GIL holder (or, with none, the last
	 * releaser) at its first sight, since starting a thread takes the GIL.
	 * The replay starts it when that thread's progress (the summed length
	 * of its phases so far) reaches creator_progress_ns, so a thread never
	 * runs before the work that created it. GS_NO_THREAD: started at
	 * start_ns. */
	uint32_t creator;
	uint64_t creator_progress_ns;
	int exits;            /* the trace shows the thread's exit */
	uint64_t cpu_ns, block_ns;
	uint64_t holds;       /* holds seen */
	uint64_t cuts;        /* forced/periodic releases stitched over */
	uint64_t trimmed_ns;  /* an open hold's end the holder slept through */
	uint64_t deaf_ns;     /* of cpu_ns, held while preempted (DEAF) */
	struct gs_phase *phases;
	size_t nphases, cap;
	/* After each cut, how long the thread took to ask again once it could:
	 * from the first acquire by another thread after its release (the end
	 * of CPython's FORCE_SWITCHING wait), or from the release when nobody
	 * took it, to its acquire_request. Its wake-up and the way back into
	 * the interpreter, on the recording's machine: the thread's, not the
	 * policy's. In order, ns. */
	uint32_t *returns;
	size_t nreturns, returns_cap;
};

struct gs_phase_program {
	struct gs_phase_thread *threads;
	size_t nthreads;
	uint64_t span_ns;     /* first to last event of the trace */
	uint32_t runtime;     /* enum gs_trace_runtime */
	uint32_t policy;      /* enum gil_policy when recorded on libgil */
	uint32_t interval_us, check_ticks;
	char policy_name[32];
	char command[64];
};

/*
 * Runs the analysis of path once, extracting the program and keeping the
 * analysis (metrics of the original run) in *analysis for comparisons.
 * 0, or -1 with err filled.
 */
int gs_phases_extract(const char *path, int allow_truncated,
		      struct gs_phase_program *prog,
		      struct gs_analysis *analysis, char *err, size_t errlen);
void gs_phases_free(struct gs_phase_program *prog);
/* The median of t->returns, 0 without any. */
uint64_t gs_phase_return_p50(const struct gs_phase_thread *t);

/* The listener behind gs_phases_extract, for callers that already run a
 * state machine: gs_phases_listener(prog) then gs_phases_finish(prog, st). */
struct gs_phase_builder;
struct gs_phase_builder *gs_phases_builder_new(struct gs_phase_program *prog);
const struct gs_listener *gs_phases_listener(struct gs_phase_builder *b);
/* Must see every event before the state machine does (the creators). */
void gs_phases_before_event(void *builder, const struct gs_event *ev,
			    const struct gs_state *st);
/* Closes open CPU phases and copies names and priorities from st. */
int gs_phases_builder_finish(struct gs_phase_builder *b,
			     const struct gs_state *st, uint64_t trace_start_ns);
void gs_phases_builder_free(struct gs_phase_builder *b);

#endif
