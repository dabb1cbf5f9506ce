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

/* Semaphores, one per event; the kernel bumps them when a tracer attaches. */
#define GS_X_SEMA_DECL(id, name, a8, a0, a1, s, from, doc)                        \
	extern volatile unsigned short gil_##name##_semaphore;
GS_EVENT_CATALOG(GS_X_SEMA_DECL)
#undef GS_X_SEMA_DECL

#ifdef GILSCOPE_WITH_LTTNG
#include "lttng/gil_tp.h"
#define GS_LTTNG_ENABLED(name) lttng_ust_tracepoint_enabled(gil, name)
#define GS_LTTNG_FIRE(name, a8, a0, a1, str)                                \
	do {                                                                \
		if (GS_LTTNG_ENABLED(name))                                 \
			lttng_ust_do_tracepoint(gil, name, a8, a0, a1, str); \
	} while (0)
#else
#define GS_LTTNG_ENABLED(name) 0
#define GS_LTTNG_FIRE(name, a8, a0, a1, str) ((void)0)
#endif

/* The built-in recorder's hook (probes/recorder.c). */
extern int gs_recorder_enabled;
void gs_recorder_emit(unsigned type, unsigned a8, uint32_t a0, uint32_t a1,
		      const char *name);

/*
 * The arguments are evaluated once, and only when some back end listens:
 * they often read shared state (the holder, the waiter count), and every
 * back end must record the same values for the same event.
 */
#define GS_PROBE(name, a8, a0, a1, str)                                     \
	do {                                                                \
		int gs_usdt_ = gil_##name##_semaphore != 0;                 \
		int gs_rec_ = __atomic_load_n(&gs_recorder_enabled,         \
					      __ATOMIC_RELAXED) != 0;       \
		if (__builtin_expect(gs_usdt_ | gs_rec_ |                   \
					     (GS_LTTNG_ENABLED(name) != 0), \
				     0)) {                                  \
			const uint8_t gs_a8_ = (uint8_t)(a8);               \
			const uint32_t gs_a0_ = (uint32_t)(a0);             \
			const uint32_t gs_a1_ = (uint32_t)(a1);             \
			const char *const gs_str_ = (str);                  \
			if (gs_usdt_)                                       \
				STAP_PROBE4(gil, name, gs_a8_, gs_a0_,      \
					    gs_a1_, gs_str_);               \
			GS_LTTNG_FIRE(name, gs_a8_, gs_a0_, gs_a1_,         \
				      gs_str_);                             \
			if (gs_rec_)                                        \
				gs_recorder_emit(GS_EV_##name, gs_a8_,      \
						 gs_a0_, gs_a1_, gs_str_);  \
		}                                                           \
	} while (0)

#endif
