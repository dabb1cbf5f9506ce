/* SPDX-License-Identifier: MIT */
/*
 * The gilscope event catalog: the single definition of every GIL event.
 *
 * USDT probes, the LTTng-UST provider, the built-in recorder's records, the
 * eBPF programs and every trace reader are generated from GS_EVENT_CATALOG,
 * so adding an event is one line here (see docs/events.md).
 *
 * Every event carries the same payload so that all back ends share one record
 * layout: one small enum argument (a8) and two 32-bit arguments (a0, a1).
 * The catalog names each argument; unused8/unused0/unused1 mark arguments the
 * event leaves 0 (they still exist, so every back end has one layout).
 * Thread, time and CPU are implicit (the record header, the probe context).
 *
 * Where an event comes from (the `from` column):
 *   usdt_req  libgil fires it as USDT probe gil:NAME, and `gilscope
 *             record`/`top` cannot do without it (attaching must succeed);
 *   usdt      libgil fires it as USDT probe gil:NAME (attached if present);
 *   sched     the kernel's scheduler (tracepoints), never fired by libgil;
 *   recorder  written by a recorder itself (lost events).
 * GS_IF_USDT(from)(...) and GS_USDT_REQUIRED(from) below turn the column
 * into code, so the eBPF programs and the loader's probe table follow it.
 *
 * X(ID, name, a8_name, a0_name, a1_name, has_name_string, from, description)
 */
#ifndef GILSCOPE_GIL_EVENTS_H
#define GILSCOPE_GIL_EVENTS_H

#define GS_EVENT_CATALOG(X)                                                    \
	X(1, thread_start, role, os_prio, gil_prio, 1, usdt,                   \
	  "thread attached to the GIL runtime (name string, role, priorities)") \
	X(2, thread_exit, unused8, unused0, unused1, 0, usdt,                  \
	  "thread detached from the GIL runtime")                              \
	X(3, acquire_request, why, waiters, holder, 0, usdt_req,               \
	  "thread asks for the GIL (why: gs_acquire_why; waiters already queued)") \
	X(4, acquired, why, waiters, prev_holder, 0, usdt_req,                 \
	  "thread now holds the GIL (waiters still queued, previous holder tid)") \
	X(5, release, reason, waiters, drop_requested, 0, usdt_req,            \
	  "holder gives the GIL up (reason: gs_release_reason; waiters queued)") \
	X(6, drop_request, unused8, holder, unused1, 0, usdt,                  \
	  "waiter asks the holder to drop the GIL (emitted by the requester)") \
	X(7, switch_wait_begin, unused8, unused0, unused1, 0, usdt,            \
	  "forced releaser starts waiting until another thread took the GIL")  \
	X(8, switch_wait_end, unused8, new_holder, unused1, 0, usdt,           \
	  "forced releaser saw another thread take the GIL")                   \
	X(9, blocking_begin, kind, unused0, unused1, 0, usdt,                  \
	  "holder enters a blocking region (GIL released right after)")        \
	X(10, blocking_end, kind, bytes, unused1, 0, usdt,                     \
	  "thread leaves a blocking region (GIL requested right after)")       \
	X(11, prio_boost, unused8, boosted_tid, new_prio, 0, usdt,             \
	  "prio policy lends a waiter's priority to the holder (0 = restored)") \
	X(12, sched_switch_out, state, next_tid, unused1, 0, sched,            \
	  "scheduler takes the thread off its CPU (state: gs_sched_state)")    \
	X(13, sched_switch_in, unused8, prev_tid, unused1, 0, sched,           \
	  "scheduler puts the thread on a CPU")                                \
	X(14, sched_wakeup, unused8, waker_tid, target_cpu, 0, sched,          \
	  "scheduler makes the thread runnable")                               \
	X(15, lost, unused8, count, unused1, 0, recorder,                      \
	  "the recorder dropped this many of the thread's events just before") \
	X(16, stack, at, stack_id, native_stack_id, 0, recorder,               \
	  "the thread's code location at its next request/release (ids into the trace's STACK blocks)")

enum gs_event_type {
	GS_EV_NONE = 0,
#define GS_X_ENUM(id, name, a8, a0, a1, s, from, doc) GS_EV_##name = id,
	GS_EVENT_CATALOG(GS_X_ENUM)
#undef GS_X_ENUM
	GS_EV_MAX
};

/* GS_IF_USDT(from)(TOKENS...): TOKENS for an event libgil fires as a USDT
 * probe, nothing for the others. GS_USDT_REQUIRED(from): 1 for usdt_req. */
#define GS_IF_USDT(from) GS_IF_USDT_##from
#define GS_IF_USDT_usdt_req(...) __VA_ARGS__
#define GS_IF_USDT_usdt(...) __VA_ARGS__
#define GS_IF_USDT_sched(...)
#define GS_IF_USDT_recorder(...)
#define GS_USDT_REQUIRED(from) GS_USDT_REQUIRED_##from
#define GS_USDT_REQUIRED_usdt_req 1
#define GS_USDT_REQUIRED_usdt 0
#define GS_USDT_REQUIRED_sched 0
#define GS_USDT_REQUIRED_recorder 0

/* Why a thread asks for the GIL: tells the analysis how to class its wait. */
enum gs_acquire_why {
	GS_WHY_FIRST = 0,          /* first acquire after attach */
	GS_WHY_AFTER_BLOCKING = 1, /* coming back from a blocking call */
	GS_WHY_AFTER_FORCED = 2,   /* was forced off by a drop request */
	GS_WHY_AFTER_INTERVAL = 3, /* gave it up at a periodic check (legacy ticks) */
	GS_WHY_MAX
};

enum gs_release_reason {
	GS_RELEASE_BLOCKING = 0, /* Py_BEGIN_ALLOW_THREADS */
	GS_RELEASE_INTERVAL = 1, /* periodic check (legacy ticks) */
	GS_RELEASE_FORCED = 2,   /* honoured a drop request */
	GS_RELEASE_EXIT = 3,     /* thread detached */
	GS_RELEASE_UNKNOWN = 4,  /* source cannot tell (e.g. uprobe on drop_gil) */
	GS_RELEASE_MAX
};

enum gs_blocking_kind {
	GS_BLOCK_OTHER = 0,
	GS_BLOCK_READ = 1,
	GS_BLOCK_WRITE = 2,
	GS_BLOCK_RECV = 3,
	GS_BLOCK_SEND = 4,
	GS_BLOCK_SLEEP = 5,
	GS_BLOCK_FSYNC = 6,
	GS_BLOCK_ACCEPT = 7,
	GS_BLOCK_MAX
};

/* Which GIL event a `stack` event describes: the thread's next one. */
enum gs_stack_at {
	GS_STACK_AT_REQUEST = 0, /* the acquire_request that follows */
	GS_STACK_AT_RELEASE = 1, /* the release that follows */
	GS_STACK_AT_MAX
};

enum gs_thread_role {
	GS_ROLE_OTHER = 0,
	GS_ROLE_MAIN = 1,
	GS_ROLE_CPU = 2,
	GS_ROLE_IO = 3,
	GS_ROLE_SERVER = 4,
	GS_ROLE_CLIENT = 5,
	GS_ROLE_HIGH_PRIO = 6,
	GS_ROLE_MAX
};

enum gs_sched_state {
	GS_SCHED_PREEMPTED = 0, /* still runnable */
	GS_SCHED_BLOCKED = 1,   /* went to sleep */
	GS_SCHED_STATE_MAX
};

/* Name tables, generated from the catalog and the enums (gil_events.c). */
const char *gs_event_name(unsigned type);
const char *gs_event_arg_name(unsigned type, unsigned which /* 0=a8 1=a0 2=a1 */);
const char *gs_event_description(unsigned type);
int gs_event_lookup(const char *name); /* -1 when unknown */
const char *gs_why_name(unsigned why);
const char *gs_release_reason_name(unsigned reason);
const char *gs_blocking_kind_name(unsigned kind);
const char *gs_role_name(unsigned role);
int gs_role_lookup(const char *name); /* -1 when unknown */
const char *gs_sched_state_name(unsigned state);

#endif
