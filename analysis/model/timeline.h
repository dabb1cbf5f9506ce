/* SPDX-License-Identifier: MIT */
/*
 * The picture model: what every renderer (HTML, SVG) and exporter (Chrome
 * trace-event JSON, Perfetto protobuf) draws. It holds no GIL logic: the
 * analysis state machine (gilstate.h) decides what a thread was doing and
 * timeline_build.c records its answers here, so every picture shows exactly
 * what `gilscope report` counted.
 *
 * Per thread: GIL state spans (hold / wait / blocked, never overlapping) and,
 * when the trace has scheduler events, off-CPU spans on a second lane (a
 * waiter is usually asleep, so they overlap the GIL spans on purpose).
 * Trace-wide: marks (handoffs, failed handoffs, drop requests, lost events),
 * the number of waiters over time, and findings (convoy and inversion
 * episodes) that the HTML report links to.
 *
 * All times are nanoseconds on the trace clock.
 */
#ifndef GILSCOPE_TIMELINE_H
#define GILSCOPE_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

enum gs_tl_state {
	GS_TL_NONE = 0,    /* running without the GIL, or unknown: not drawn */
	GS_TL_HOLD = 1,    /* holds the GIL */
	GS_TL_WAIT = 2,    /* asked for the GIL, does not have it yet */
	GS_TL_BLOCKED = 3, /* inside a blocking call, GIL released */
	GS_TL_OFFCPU = 4,  /* off-CPU lane only: descheduled */
	GS_TL_STATE_MAX
};

struct gs_tl_span {
	uint64_t t0, t1;  /* [t0, t1) */
	uint8_t state;    /* enum gs_tl_state */
	uint8_t detail;   /* BLOCKED: gs_blocking_kind; WAIT: gs_acquire_why;
			     OFFCPU: gs_sched_state; HOLD: 1 if it ended in a
			     forced release */
	uint16_t reserved;
	uint32_t aux;     /* HOLD: stack id at its release; WAIT: stack id
			     at its request (the call site that waited);
			     0 if none (record --stacks, code locations) */
};

enum gs_tl_mark_kind {
	GS_TL_MARK_HANDOFF = 1,        /* ts: release by tid, ts2: acquire by tid2 */
	GS_TL_MARK_FAILED_HANDOFF = 2, /* ts: release by tid, ts2: tid re-took it;
					  tid2: the waiter that lost (0: unknown) */
	GS_TL_MARK_DROP_REQUEST = 3,   /* ts: tid asks holder tid2 to drop */
	GS_TL_MARK_LOST = 4,           /* ts: tid lost aux events before this */
	GS_TL_MARK_MAX
};

struct gs_tl_mark {
	uint64_t ts, ts2;
	uint32_t tid, tid2;
	uint32_t aux;
	uint8_t kind;     /* enum gs_tl_mark_kind */
};

struct gs_tl_count {
	uint64_t ts;
	uint32_t value;
};

enum gs_tl_finding_kind {
	GS_TL_FIND_CONVOY = 1,
	GS_TL_FIND_INVERSION = 2,
	GS_TL_FIND_OTHER = 3,
};

struct gs_tl_finding {
	uint64_t t0, t1;
	uint32_t tid;      /* the thread that paid (0: trace-wide) */
	uint8_t kind;      /* enum gs_tl_finding_kind */
	char text[400];
};

struct gs_tl_thread {
	uint32_t tid;
	uint32_t role;     /* enum gs_thread_role */
	char name[32];
	struct gs_tl_span *spans;
	size_t nspans, capspans;
	struct gs_tl_span *offcpu;
	size_t noffcpu, capoffcpu;
};

struct gs_timeline {
	uint64_t t_start, t_end;  /* the trace's extent (0,0: from the data) */
	uint32_t pid;
	uint32_t interval_us;     /* switch interval, 0 if unknown */
	int has_sched;            /* off-CPU lanes are meaningful */
	char policy[32];
	char command[64];
	char source[160];         /* the trace file */
	struct gs_tl_thread *threads;
	size_t nthreads, capthreads;
	struct gs_tl_mark *marks;
	size_t nmarks, capmarks;
	struct gs_tl_count *waiters;
	size_t nwaiters, capwaiters;
	struct gs_tl_finding *findings;
	size_t nfindings, capfindings;
	/* HOLD and WAIT spans' aux: a stack id (record --stacks); labels[]
	 * names each, "function (file:line)" of its innermost frame */
	struct gs_tl_label *labels;
	size_t nlabels;
	int oom;                  /* an append failed: the model is incomplete */
};

struct gs_tl_label {
	uint32_t stack;
	char text[120];
};

/* The label of a stack id, NULL when none (labels sorted by gs_tl_finish
 * or whoever fills them). */
const char *gs_tl_stack_label(const struct gs_timeline *tl, uint32_t stack);

void gs_tl_init(struct gs_timeline *tl);
void gs_tl_free(struct gs_timeline *tl);

/* The thread with this tid, created (name "tid N") when create is set.
 * Pointers stay valid until the next creation. */
struct gs_tl_thread *gs_tl_thread(struct gs_timeline *tl, uint32_t tid,
				  int create);
int gs_tl_thread_index(const struct gs_timeline *tl, uint32_t tid);
void gs_tl_thread_set(struct gs_timeline *tl, uint32_t tid, const char *name,
		      uint32_t role);

/* Appends; t1 <= t0 spans are ignored. Returns 0, or -1 when out of memory
 * (tl->oom is then set). Order does not matter: gs_tl_finish() sorts. */
int gs_tl_add_span(struct gs_timeline *tl, uint32_t tid, uint8_t state,
		   uint64_t t0, uint64_t t1, uint8_t detail, uint32_t aux);
int gs_tl_add_mark(struct gs_timeline *tl, uint8_t kind, uint64_t ts,
		   uint64_t ts2, uint32_t tid, uint32_t tid2, uint32_t aux);
int gs_tl_add_waiters(struct gs_timeline *tl, uint64_t ts, uint32_t value);
int gs_tl_add_finding(struct gs_timeline *tl, uint8_t kind, uint64_t t0,
		      uint64_t t1, uint32_t tid, const char *text);

/* Sorts spans, marks and waiters by time (findings keep the order they were
 * added in: the most important first) and fills t_start/t_end from the data
 * when they were left 0. Call before rendering. */
void gs_tl_finish(struct gs_timeline *tl);

/* Counts of the whole model (for size estimates and messages). */
size_t gs_tl_span_count(const struct gs_timeline *tl);

/* Index of the first span of a sorted array ending after t. */
size_t gs_tl_first_span(const struct gs_tl_span *s, size_t n, uint64_t t);
/* s cut to the window [from, to) it overlaps (an export of a window). */
static inline struct gs_tl_span gs_tl_clip(struct gs_tl_span s, uint64_t from,
					   uint64_t to)
{
	if (s.t0 < from)
		s.t0 = from;
	if (s.t1 > to)
		s.t1 = to;
	return s;
}
/* Index of the waiters value in force at t (the last change at or before
 * t), or 0 when the first change comes later: where a window's waiters
 * counter starts. */
size_t gs_tl_waiters_at(const struct gs_timeline *tl, uint64_t t);

const char *gs_tl_state_name(unsigned state);
const char *gs_tl_mark_name(unsigned kind);
const char *gs_tl_finding_name(unsigned kind);

/* Per-thread figures for the report's table and histograms. Durations are
 * clipped to [from, to). Histogram bucket i counts durations in
 * [2^i, 2^(i+1)) microseconds (bucket 0 also takes everything below 1 us). */
#define GS_TL_HIST_BUCKETS 24
struct gs_tl_stats {
	uint64_t total[GS_TL_STATE_MAX];  /* ns per state */
	uint64_t count[GS_TL_STATE_MAX];  /* spans per state */
	uint64_t max[GS_TL_STATE_MAX];    /* longest span per state, ns */
	uint64_t p50_wait, p99_wait;      /* ns, 0 when no waits */
	uint64_t hist_hold[GS_TL_HIST_BUCKETS];
	uint64_t hist_wait[GS_TL_HIST_BUCKETS];
	uint64_t handoffs_in, handoffs_out, failed_handoffs, drop_requests;
};
int gs_tl_thread_stats(const struct gs_timeline *tl, size_t thread_index,
		       uint64_t from, uint64_t to, struct gs_tl_stats *out);

#endif
