/* SPDX-License-Identifier: MIT */
/*
 * The enabled side of every GS_PROBE() site (gil_probes.h): one function per
 * event libgil fires (the catalog's usdt/usdt_req events), so each has one
 * USDT site gil:NAME (a tracer attaches to it whichever libgil function
 * emitted the event), one LTTng tracepoint call and one recorder call. The site tests the listeners once more here
 * because GS_PROBE() comes in when any of them listens.
 */
#include "gil_probes.h" /* first sys/sdt.h include of this unit */

#define GS_X_FIRE_DEF(id, name, a8n, a0n, a1n, s, from, doc)               \
	GS_IF_USDT(from)(                                                   \
	void gs_fire_##name(uint8_t a8_, uint32_t a0_, uint32_t a1_,        \
			    const char *str_)                               \
	{                                                                   \
		if (gil_##name##_semaphore)                                 \
			STAP_PROBE4(gil, name, a8_, a0_, a1_, str_);        \
		GS_LTTNG_FIRE(name, a8_, a0_, a1_, str_);                   \
		if (__atomic_load_n(&gs_recorder_enabled, __ATOMIC_RELAXED)) \
			gs_recorder_emit(GS_EV_##name, a8_, a0_, a1_,       \
					 str_);                             \
	})
GS_EVENT_CATALOG(GS_X_FIRE_DEF)
#undef GS_X_FIRE_DEF
