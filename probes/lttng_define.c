/* SPDX-License-Identifier: MIT */
/*
 * Defines libgil's LTTng-UST tracepoints with dynamic linkage: libgil does
 * not link lttng-ust, and a disabled tracepoint costs one load and a branch.
 * The probes come alive when liblttng-gil.so (lttng/gil_provider.c) is
 * loaded, normally with LD_PRELOAD by tools/lttng/gilscope-lttng.
 */
#define LTTNG_UST_TRACEPOINT_DEFINE
/* Only libgil itself tests the tracepoints: one RIP-relative load each. */
#define LTTNG_UST_TRACEPOINT_HIDDEN_DEFINITION
#define LTTNG_UST_TRACEPOINT_PROBE_DYNAMIC_LINKAGE
#include "lttng/gil_tp.h"
