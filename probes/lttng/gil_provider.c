/* SPDX-License-Identifier: MIT */
/* The probe side of the "gil" provider: built as liblttng-gil.so, linked
 * with lttng-ust, and preloaded into a libgil process to trace it. */
#define LTTNG_UST_TRACEPOINT_CREATE_PROBES
#include "lttng/gil_tp.h"
