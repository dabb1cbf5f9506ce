/* SPDX-License-Identifier: MIT */
/*
 * The GIL state machine: feed it catalog events in time order and it rebuilds,
 * at every instant, who holds the GIL, who waits (since when, why), who is in
 * a blocking region and, when the trace has scheduler events, who is on a CPU.
 *
 * Consumers do not look at raw events: they register a listener and receive
 * what the state machine derived (docs/metrics.md defines each figure):
 *
 *   interval      a thread spent [begin_ns, end_ns) in one state, on the GIL
 *                 track (HOLD, WAIT, BLOCKED, NOGIL) or the CPU track
 *                 (RUNNING, RUNNABLE, SLEEPING); the WAITERS track gives the
 *                 number of waiting threads over time (only while >= 1).
 *   acquire       every `acquired`: how long the thread waited and why, who
 *                 had it before, whether the thread came back from I/O.
 *   release       every `release`: reason, hold time, waiters.
 *   handoff       a release while >= 1 thread waited, resolved at the next
 *                 acquire: failed when the releaser took it back itself.
 *   drop          a holder released while drop requests were pending on it.
 *   inversion     a higher-priority thread waited while a lower-priority one
 *                 was granted the GIL (policy) or, holding it, sat preempted
 *                 off CPU (scheduler).
 *   gap           the recorder lost events of a thread: its state is unknown
 *                 until its next GIL event.
 *
 *     struct gs_state *st = gs_state_new(&src->info, lossy);
 *     gs_state_listen(st, &my_listener);
 *     while (gs_source_next(src, &ev) == 1)
 *             if (gs_state_feed(st, &ev))  { puts(gs_state_error(st)); ... }
 *     gs_state_finish(st, end_ns);         // closes open intervals
 *     gs_state_free(st);
 *
 * Thread indices: every tid gets a small dense index (0, 1, 2, ...) the first
 * time it appears; callbacks carry both. gs_state_thread(st, idx) describes a
 * thread. This header is a stable API: fields are only ever added.
 */
#ifndef GILSCOPE_GILSTATE_H
#define GILSCOPE_GILSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "source.h"

#define GS_NO_THREAD UINT32_MAX

/* Tracks of the interval callback. */
enum gs_track {
	GS_TRACK_GIL = 0,     /* state: enum gs_gil_state */
	GS_TRACK_CPU = 1,     /* state: enum gs_cpu_state (sched events only) */
	GS_TRACK_WAITERS = 2, /* global: state = waiting threads (1..255, capped);
				 thread/tid = GS_NO_THREAD / 0 */
};

enum gs_gil_state {
	GS_ST_UNKNOWN = 0, /* not seen yet, or after a gap */
	GS_ST_NOGIL = 1,   /* runs without the GIL and does not ask for it */
	GS_ST_WAIT = 2,    /* between acquire_request and acquired */
	GS_ST_HOLD = 3,    /* between acquired and release */
	GS_ST_BLOCKED = 4, /* inside a blocking region (released for I/O) */
	GS_ST_EXITED = 5,
	GS_ST_MAX
};

enum gs_cpu_state {
	GS_CPU_UNKNOWN = 0,
	GS_CPU_RUNNING = 1,
	GS_CPU_RUNNABLE = 2, /* preempted or woken, waiting for a CPU */
	GS_CPU_SLEEPING = 3, /* switched out blocked */
	GS_CPU_MAX
};

/* gs_interval.flags */
#define GS_IV_BEGIN_UNKNOWN 0x1u /* the state began before the trace (or a
				    gap): begin_ns is where we first knew it */
#define GS_IV_END_OPEN 0x2u      /* still in this state when the trace ended */

struct gs_interval {
	uint64_t begin_ns, end_ns;
	uint64_t begin_offset, end_offset; /* records that opened/closed it */
	uint32_t thread, tid;
	uint8_t track;   /* enum gs_track */
	uint8_t state;   /* enum gs_gil_state / gs_cpu_state / waiter count */
	uint8_t why;     /* WAIT and HOLD: gs_acquire_why of that acquire */
	uint8_t reason;  /* HOLD: gs_release_reason that ended it
			    (GS_RELEASE_MAX while open) */
	uint8_t kind;    /* BLOCKED: gs_blocking_kind */
	uint8_t flags;   /* GS_IV_* */
};

struct gs_acquire {
	uint64_t ts_ns, offset;
	uint64_t wait_ns;        /* acquire_request -> acquired (0 if unseen) */
	uint64_t io_wait_ns;     /* blocking_end -> acquired, when why is
				    after_blocking and blocking_end was seen */
	uint32_t thread, tid;
	uint32_t prev_thread;    /* previous holder (GS_NO_THREAD if unknown) */
	uint32_t prev_tid;       /* as recorded by the runtime when it says so */
	uint32_t waiters;        /* other threads still waiting, as seen */
	/* The release this acquire follows: who released and why, how long ago */
	uint32_t releaser;       /* GS_NO_THREAD if none seen */
	uint8_t releaser_reason; /* gs_release_reason */
	uint8_t why;             /* gs_acquire_why */
	uint8_t request_seen;    /* 1: wait_ns is measured */
	uint8_t is_switch;       /* holder changed (runtime's `switches`) */
	uint8_t first_seen;      /* 1: first acquire of this thread in the trace */
	uint8_t io_kind;         /* gs_blocking_kind of the blocking region */
	uint8_t contended;       /* another thread held the GIL during the wait */
};

struct gs_release {
	uint64_t ts_ns, offset;
	uint64_t hold_ns;        /* acquired -> release (0 if acquire unseen) */
	uint32_t thread, tid;
	uint32_t waiters;        /* waiting threads as the runtime counted them
				    (the record's a0), or as seen */
	uint32_t seen_waiters;   /* waiting threads the trace shows */
	uint8_t reason;          /* gs_release_reason */
	uint8_t hold_seen;
	uint8_t drop_requested;  /* a drop request was pending */
};

struct gs_handoff {
	uint64_t release_ns, acquire_ns; /* latency = acquire_ns - release_ns */
	uint32_t releaser, next;         /* thread indices */
	uint32_t releaser_tid, next_tid;
	uint32_t waiters;                /* at the release */
	uint8_t reason;                  /* release reason */
	uint8_t failed;                  /* next == releaser */
};

struct gs_drop {
	uint64_t request_ns;   /* first pending drop_request */
	uint64_t release_ns;   /* the holder's release that answered it */
	uint32_t requester, holder; /* thread indices (first requester) */
	uint32_t requests;     /* drop_request events this release answered */
	uint8_t reason;        /* release reason */
};

enum gs_inversion_kind {
	GS_INV_POLICY = 0, /* lower-priority thread granted while higher waits */
	GS_INV_SCHED = 1,  /* holder preempted (runnable, off CPU) while a
			      higher-priority thread waits */
};

struct gs_inversion {
	uint64_t begin_ns, end_ns;
	uint32_t waiter, holder;         /* thread indices */
	uint32_t waiter_tid, holder_tid;
	int32_t waiter_prio, holder_prio;/* effective gil_prio (see below) */
	uint8_t kind;                    /* enum gs_inversion_kind */
};

struct gs_listener {
	void *ctx;
	/* Any callback may be NULL. Structures are valid during the call. */
	void (*thread)(void *ctx, uint32_t thread);  /* first sight of a tid */
	void (*interval)(void *ctx, const struct gs_interval *iv);
	void (*acquire)(void *ctx, const struct gs_acquire *a);
	void (*release)(void *ctx, const struct gs_release *r);
	void (*handoff)(void *ctx, const struct gs_handoff *h);
	void (*drop_request)(void *ctx, uint64_t ts_ns, uint32_t requester,
			     uint32_t holder /* GS_NO_THREAD: none known */);
	void (*drop)(void *ctx, const struct gs_drop *d);
	void (*inversion)(void *ctx, const struct gs_inversion *inv);
	void (*gap)(void *ctx, uint32_t thread, uint64_t ts_ns, uint64_t lost);
	/* A waiting thread got a CPU and went back to sleep still waiting. */
	void (*wasted_wakeup)(void *ctx, uint32_t thread, uint64_t ts_ns);
};

/* What the state machine knows about one thread, now. */
struct gs_thread_state {
	uint32_t tid;
	uint32_t role;            /* gs_thread_role */
	int32_t os_prio;          /* effective (prio_boost applied) */
	int32_t base_os_prio;
	int32_t gil_prio;
	char name[32];
	uint64_t first_ns, last_ns;   /* first / last event of the thread */
	uint8_t gil;              /* enum gs_gil_state */
	uint8_t cpu;              /* enum gs_cpu_state */
	uint8_t why;              /* WAIT: why */
	uint8_t kind;             /* BLOCKED: blocking kind */
	uint8_t in_blocking;      /* blocking_begin seen, blocking_end not yet */
	uint8_t exited;
	uint8_t woke_waiting;     /* got a CPU while waiting (wasted wake-ups) */
	uint8_t contended;        /* WAIT: another thread held it meanwhile */
	uint8_t gil_flags, cpu_flags; /* GS_IV_BEGIN_UNKNOWN of the open states */
	uint64_t gil_since, cpu_since;     /* when the current state began */
	uint64_t gil_since_off, cpu_since_off;
	uint64_t wait_since;      /* acquire_request ts */
	uint64_t blocking_end_ns; /* last blocking_end, for io_wait_ns */
	uint8_t blocking_end_kind;
	uint8_t have_blocking_end;
	uint8_t have_hold, have_wait;
	uint64_t hold_since;
	uint32_t acquisitions;    /* seen acquires (first_seen bookkeeping) */
	uint64_t request_epoch;   /* acquires seen globally when it asked */
};

/* Runtime-style counters over the whole trace (same meaning as
 * gil_runtime_stats, derived from the events). */
struct gs_state_counters {
	uint64_t events;
	uint64_t acquisitions;
	uint64_t handoffs_attempted;
	uint64_t handoffs_failed;
	uint64_t forced_drops;      /* releases with reason forced */
	uint64_t drop_requests;
	uint64_t switches;
	uint64_t releases[GS_RELEASE_MAX];
	uint64_t gaps, lost;        /* lost markers seen / events they count */
	uint64_t sched_events;
	uint64_t first_ns, last_ns;
};

struct gs_state;

/*
 * info: the source's trace info (interval, runtime, flags). lossy: the trace
 * is known to have lost events (gs_source_totals.lost > 0): sequences that
 * would otherwise be errors are then treated as gaps (thread reset to
 * unknown) instead. NULL on allocation failure.
 */
struct gs_state *gs_state_new(const struct gs_trace_info *info, int lossy);
void gs_state_free(struct gs_state *st);

/* Up to 8 listeners; called in registration order. -1 when full. */
int gs_state_listen(struct gs_state *st, const struct gs_listener *l);

/* Thread metadata from the source (name, role, priorities); optional but
 * it gives names to threads whose thread_start is not in the trace. */
void gs_state_set_source(struct gs_state *st, struct gs_source *src);

/* 0, or -1 on an impossible sequence: gs_state_error() then says
 * "offset N: what happened (expected ...)"; the state is unusable after. */
int gs_state_feed(struct gs_state *st, const struct gs_event *ev);

/* Closes every open interval and episode at end_ns (GS_IV_END_OPEN).
 * end_ns 0 = the last event's time. */
void gs_state_finish(struct gs_state *st, uint64_t end_ns);

const char *gs_state_error(const struct gs_state *st);
size_t gs_state_nthreads(const struct gs_state *st);
const struct gs_thread_state *gs_state_thread(const struct gs_state *st,
					      uint32_t thread);
/* Dense index of tid, or GS_NO_THREAD when never seen. */
uint32_t gs_state_lookup(const struct gs_state *st, uint32_t tid);
/* Current holder's index, or GS_NO_THREAD (free or unknown). */
uint32_t gs_state_holder(const struct gs_state *st);
uint32_t gs_state_waiters(const struct gs_state *st);
const struct gs_state_counters *gs_state_counters(const struct gs_state *st);

/* Priority order used for inversions: gil_prio first, then the effective
 * OS priority. >0 when a is more important than b. */
int gs_state_prio_cmp(const struct gs_thread_state *a,
		      const struct gs_thread_state *b);

const char *gs_gil_state_name(unsigned state);
const char *gs_cpu_state_name(unsigned state);

#endif
