/* SPDX-License-Identifier: MIT */
/*
 * GIL metrics, computed in one streaming pass from the state machine's
 * listener callbacks (gilstate.h). Memory grows with threads, not events.
 * Every figure is defined in docs/metrics.md.
 *
 *     struct gs_metrics *m = gs_metrics_new(&opts, &src->info);
 *     gs_metrics_attach(m, st);          // registers the listener
 *     ... feed the state machine, gs_state_finish(st, end) ...
 *     gs_metrics_finish(m, st);          // window, findings
 *
 * Time window [from_ns, to_ns]: durations are clipped to it; events (an
 * acquire, a handoff, a drop request) count when they happen inside it;
 * distributions take the samples whose end lies inside it.
 */
#ifndef GILSCOPE_METRICS_H
#define GILSCOPE_METRICS_H

#include <stdint.h>

#include "gilstate.h"
#include "histogram.h"

struct gs_metrics_opts {
	uint64_t from_ns;        /* 0: from the start */
	uint64_t to_ns;          /* 0: to the end */
	uint32_t interval_us;    /* convoy reference interval; 0: the trace's
				    switch interval, else the median forced hold */
	uint32_t convoy_min_calls;   /* 0: 5 */
	uint32_t battle_min_handoffs;/* 0: 10 */
};

#define GS_BEHIND_SLOTS 4

struct gs_thread_metrics {
	uint32_t thread, tid;
	char name[32];
	uint32_t role;
	int32_t os_prio, gil_prio;
	uint64_t first_ns, last_ns, wall_ns; /* clipped to the window */

	uint64_t acquisitions;       /* acquires in the window */
	uint64_t contended;          /* ... that waited behind another holder */
	struct gs_hist hold;         /* complete holds (acquired -> release) */
	uint64_t hold_ns;            /* time holding (clipped, incl. partial) */
	struct gs_hist wait[GS_WHY_MAX]; /* acquire_request -> acquired */
	uint64_t wait_ns[GS_WHY_MAX];    /* time waiting, by why (clipped) */
	uint64_t blocked_ns, nogil_ns;
	uint64_t releases[GS_RELEASE_MAX];
	uint64_t drop_requests;      /* made by this thread */
	uint64_t handoffs_given;     /* its releases with >= 1 waiter ... */
	uint64_t handoffs_failed;    /* ... after which it re-took the GIL */
	uint64_t handoffs_received;  /* acquires that completed a handoff */

	/* convoy: blocking_end -> acquired */
	uint64_t io_calls;
	uint64_t io_wait_ns;
	struct gs_hist io_wait;
	struct gs_hist io_wait_behind_cpu; /* releaser was forced/interval */
	uint64_t io_near_interval;   /* behind-CPU waits in [0.5, 2] x ref */
	struct { uint32_t thread; uint64_t count; } behind[GS_BEHIND_SLOTS];

	uint64_t wasted_wakeups;
	uint64_t cpu_ns[GS_CPU_MAX]; /* sched events only */
	/* inversions suffered as the waiter, by kind */
	uint64_t inv_count[2], inv_ns[2], inv_worst_ns[2];
	uint32_t inv_worst_holder[2];
	/* inversions caused as the holder */
	uint64_t inv_caused_ns[2];
	int convoy;                  /* a convoy finding names this thread */
};

enum gs_finding_kind {
	GS_FIND_CONVOY = 0,
	GS_FIND_INVERSION_POLICY = 1,
	GS_FIND_INVERSION_SCHED = 2,
	GS_FIND_BATTLE = 3,
	GS_FIND_LOST = 4,
};

struct gs_finding {
	uint8_t kind;                /* enum gs_finding_kind */
	uint32_t thread;             /* the victim (GS_NO_THREAD: global) */
	uint32_t other;              /* holder / main culprit, or GS_NO_THREAD */
	uint64_t total_ns, worst_ns, count;
	double share;                /* of the thread's wall time (convoy) or of
					attempted handoffs (battle) */
	char text[320];              /* one line, for humans */
};

struct gs_inv_summary {
	uint64_t count, total_ns, worst_ns;
	uint32_t worst_waiter, worst_holder;
	uint64_t worst_begin_ns;
};

struct gs_metrics {
	struct gs_metrics_opts opts;
	struct gs_trace_info info;
	uint64_t from_ns, to_ns;     /* effective window */
	uint64_t begin_ns, end_ns;   /* events seen, clipped to the window */
	uint64_t span_ns;            /* end_ns - begin_ns */
	uint64_t ref_interval_ns;    /* convoy reference */
	const char *ref_interval_src;/* "trace header", "option", "median forced hold", "default" */

	struct gs_thread_metrics *th;
	size_t nth, cap;

	uint64_t acquisitions, switches, forced_drops, drop_requests;
	uint64_t releases[GS_RELEASE_MAX];
	uint64_t handoffs_attempted, handoffs_failed;
	struct gs_hist handoff_latency;  /* successful handoffs */
	struct gs_hist battle_latency;   /* failed: release -> releaser's re-acquire */
	struct gs_hist drop_latency;     /* first pending request -> release */
	uint64_t drop_answered;          /* requests answered by a release */
	struct gs_hist forced_hold;      /* holds ended by forced/interval */
	uint64_t held_ns;                /* sum of hold over threads (clipped) */
	uint64_t contended_ns;           /* time with >= 1 waiter */
	uint64_t waiters_area_ns;        /* integral of the waiter count */
	uint64_t max_waiters;
	struct gs_inv_summary inv[2];
	uint64_t wasted_wakeups;
	uint64_t gaps, lost;
	int have_sched;

	struct gs_finding *findings;
	size_t nfindings, findcap;
};

struct gs_metrics *gs_metrics_new(const struct gs_metrics_opts *opts,
				  const struct gs_trace_info *info);
void gs_metrics_free(struct gs_metrics *m);
/* Registers m as a listener of st. -1 when st has no room. */
int gs_metrics_attach(struct gs_metrics *m, struct gs_state *st);
/* After gs_state_finish(): fixes the window, names, findings. */
void gs_metrics_finish(struct gs_metrics *m, const struct gs_state *st);

/* Total wait of a thread over all whys, and its merged wait histogram. */
uint64_t gs_thread_wait_ns(const struct gs_thread_metrics *t);
uint64_t gs_thread_waits(const struct gs_thread_metrics *t);

const char *gs_finding_kind_name(unsigned kind);

#endif
