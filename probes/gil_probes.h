/* SPDX-License-Identifier: MIT */
/*
 * Where libgil emits catalog events. One GS_PROBE() site feeds every back end:
 *
 *  - a USDT probe "gil:NAME" (sys/sdt.h), gated by its semaphore so the
 *    arguments cost nothing while no tracer is attached, on a 5-byte nop the
 *    kernel can turn into a direct call;
 *  - an LTTng-UST tracepoint "gil:NAME" when built with GILSCOPE_WITH_LTTNG
 *    (dynamic linkage: the provider library is preloaded only when wanted);
 *  - the built-in recorder, when one is running in this process.
 *
 * USDT arguments are the same for every event:
 *   arg0 = a8, arg1 = a0, arg2 = a1, arg3 = thread name (thread_start) or 0.
 *
 * This header must be the first sys/sdt.h include of its translation unit.
 */
#ifndef GILSCOPE_GIL_PROBES_H
#define GILSCOPE_GIL_PROBES_H

#include <stdint.h>

#include "gil_events.h"

#ifdef sys_sdt_h
#error "gil_probes.h must come before any other sys/sdt.h include"
#endif
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
#if defined(__x86_64__)
#undef _SDT_NOP
/* nopl 0x0(%rax,%rax,1): the kernel optimises uprobes on it */
#define _SDT_NOP .byte 0x0f; .byte 0x1f; .byte 0x44; .byte 0x00; .byte 0x00
#endif

/*
 * Everything a disabled probe site reads lives in libgil itself and is
 * hidden, so the test is a few RIP-relative loads, not GOT indirections
 * (the USDT semaphores are found by tracers through the stapsdt note, not
 * the dynamic symbol table).
 */
#define GS_HIDDEN __attribute__((visibility("hidden")))

/* Semaphores, one per event; the kernel bumps them when a tracer attaches. */
#define GS_X_SEMA_DECL(id, name, a8, a0, a1, s, from, doc)                  \
	extern volatile unsigned short gil_##name##_semaphore GS_HIDDEN;
GS_EVENT_CATALOG(GS_X_SEMA_DECL)
#undef GS_X_SEMA_DECL

#ifdef GILSCOPE_WITH_LTTNG
#define LTTNG_UST_TRACEPOINT_HIDDEN_DEFINITION
#include "lttng/gil_tp.h"
/* The tracepoint's state word, as lttng_ust_tracepoint_enabled() reads it,
 * without the 0/1 normalisation, so it can be or-ed with the others. */
#define GS_LTTNG_STATE(name)                                                \
	__atomic_load_n(&lttng_ust_tracepoint_gil___##name.state,           \
			__ATOMIC_RELAXED)
#define GS_LTTNG_FIRE(name, a8, a0, a1, str)                                \
	do {                                                                \
		if (lttng_ust_tracepoint_enabled(gil, name))                \
			lttng_ust_do_tracepoint(gil, name, a8, a0, a1, str); \
	} while (0)
#else
#define GS_LTTNG_STATE(name) 0
#define GS_LTTNG_FIRE(name, a8, a0, a1, str) ((void)0)
#endif

/* The built-in recorder's hook (probes/recorder.c). */
#include "recorder.h"
extern int gs_recorder_enabled GS_HIDDEN;

/*
 * One out-of-line firing function per event (probes/probe_fire.c) holds the
 * USDT site, the LTTng tracepoint and the recorder call. Keeping them out of
 * the instrumented function leaves its fast path free of a stack frame and
 * callee-saved registers: a disabled site is loads, an or and a branch.
 */
#define GS_X_FIRE_DECL(id, name, a8, a0, a1, s, from, doc)                  \
	GS_IF_USDT(from)(                                                   \
	void gs_fire_##name(uint8_t a8_, uint32_t a0_, uint32_t a1_,        \
			    const char *str_)                               \
		GS_HIDDEN __attribute__((cold, noinline));)
GS_EVENT_CATALOG(GS_X_FIRE_DECL)
#undef GS_X_FIRE_DECL

/*
 * The arguments are evaluated once, and only when some back end listens:
 * they often read shared state (the holder, the waiter count), and every
 * back end must record the same values for the same event.
 */
#define GS_PROBE(name, a8, a0, a1, str)                                     \
	do {                                                                \
		if (__builtin_expect(                                       \
			    (gil_##name##_semaphore |                       \
			     __atomic_load_n(&gs_recorder_enabled,          \
					     __ATOMIC_RELAXED) |            \
			     GS_LTTNG_STATE(name)) != 0,                    \
			    0))                                             \
			gs_fire_##name((uint8_t)(a8), (uint32_t)(a0),       \
				       (uint32_t)(a1), (str));              \
	} while (0)

#endif
