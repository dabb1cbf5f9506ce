/* SPDX-License-Identifier: MIT */
/*
 * Forced include (-include) for the probe-less libgil that item 3 compares
 * against: it takes gil_probes.h's include guard first, so every
 * GS_PROBE() site in the runtime compiles to nothing -- no semaphore test,
 * no LTTng tracepoint state test, no recorder flag test, and the arguments
 * are not evaluated (sizeof keeps them "used" for -Wunused).
 */
#ifndef GILSCOPE_GIL_PROBES_H
#define GILSCOPE_GIL_PROBES_H
/* Read before the unit's own "#define _GNU_SOURCE" (every runtime file has
 * one; an identical redefinition is allowed), so system headers included
 * here see the same feature macros. gil.c gets stdio.h through the LTTng
 * header in the real build. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include "gil_events.h"
#define GS_PROBE(name, a8, a0, a1, str)                                     \
	((void)sizeof((a8) + (a0) + (a1)), (void)sizeof(str))
#endif
