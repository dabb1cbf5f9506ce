/* SPDX-License-Identifier: MIT */
/*
 * The enabled side of every GS_PROBE() site (gil_probes.h): one function per
 * event libgil fires (the catalog's usdt/usdt_req events), so each has one
 * USDT site gil:NAME (a tracer attaches to it whichever libgil function
 * emitted the event), one LTTng tracepoint call and one recorder call. The
 * site tests the listeners once more here because GS_PROBE() comes in when
 * any of them listens. The recorder also gets the thread's published code
 * location before a request or release (code_locations.h).
 */
#include "gil_probes.h" /* first sys/sdt.h include of this unit */

#include "code_locations.h"

/* Which `stack` event (at) goes before event type, -1 for none: the code
 * location the thread published (gil_set_code_location), recorded before
 * its request and its release like gilscope record --stacks does. */
#define GS_STACK_AT_OF(type)                                                \
	((type) == GS_EV_acquire_request ? GS_STACK_AT_REQUEST              \
	 : (type) == GS_EV_release       ? GS_STACK_AT_RELEASE : -1)

static void fire_code_location(int at)
{
	uint32_t loc = gs_code_location_current;
	if (loc)
		gs_recorder_emit(GS_EV_stack, (unsigned)at, loc, 0, NULL);
}

#define GS_X_FIRE_DEF(id, name, a8n, a0n, a1n, s, from, doc)               \
	GS_IF_USDT(from)(                                                   \
	void gs_fire_##name(uint8_t a8_, uint32_t a0_, uint32_t a1_,        \
			    const char *str_)                               \
	{                                                                   \
		if (gil_##name##_semaphore)                                 \
			STAP_PROBE4(gil, name, a8_, a0_, a1_, str_);        \
		GS_LTTNG_FIRE(name, a8_, a0_, a1_, str_);                   \
		if (__atomic_load_n(&gs_recorder_enabled, __ATOMIC_RELAXED)) { \
			if (GS_STACK_AT_OF(GS_EV_##name) >= 0)              \
				fire_code_location(GS_STACK_AT_OF(GS_EV_##name)); \
			gs_recorder_emit(GS_EV_##name, a8_, a0_, a1_,       \
					 str_);                             \
		}                                                           \
	})
GS_EVENT_CATALOG(GS_X_FIRE_DEF)
#undef GS_X_FIRE_DEF
