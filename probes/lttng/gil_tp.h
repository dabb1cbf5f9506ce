/* SPDX-License-Identifier: MIT */
/*
 * LTTng-UST tracepoint provider "gil", generated from the event catalog.
 * Every event has the catalog's three arguments as fields named after them;
 * thread_start also has the thread name. See docs/events.md and
 * docs/tutorial-lttng.md.
 */
#undef LTTNG_UST_TRACEPOINT_PROVIDER
#define LTTNG_UST_TRACEPOINT_PROVIDER gil

#undef LTTNG_UST_TRACEPOINT_INCLUDE
#define LTTNG_UST_TRACEPOINT_INCLUDE "lttng/gil_tp.h"

#if !defined(GILSCOPE_GIL_TP_H) || defined(LTTNG_UST_TRACEPOINT_HEADER_MULTI_READ)
#define GILSCOPE_GIL_TP_H

#include <stdint.h>
#include <lttng/tracepoint.h>

#include "../gil_events.h"

#define GS_LTTNG_NAME_FIELD_0
#define GS_LTTNG_NAME_FIELD_1 lttng_ust_field_string(name, str)

#define GS_X_LTTNG_EVENT(id, evname, a8n, a0n, a1n, has_str, from, doc)              \
	LTTNG_UST_TRACEPOINT_EVENT(gil, evname,                                 \
		LTTNG_UST_TP_ARGS(uint8_t, a8, uint32_t, a0, uint32_t, a1,      \
				  const char *, str),                           \
		LTTNG_UST_TP_FIELDS(                                            \
			lttng_ust_field_integer(uint8_t, a8n, a8)               \
			lttng_ust_field_integer(uint32_t, a0n, a0)              \
			lttng_ust_field_integer(uint32_t, a1n, a1)              \
			GS_LTTNG_NAME_FIELD_##has_str))

GS_EVENT_CATALOG(GS_X_LTTNG_EVENT)

#undef GS_X_LTTNG_EVENT

#endif

#include <lttng/tracepoint-event.h>
