/* SPDX-License-Identifier: MIT */
/*
 * The stack table of a trace: stack id -> frames (function, file, line),
 * read from the native trace's STACK blocks (probes/trace_stacks.h).
 */
#ifndef GILSCOPE_STACKTAB_H
#define GILSCOPE_STACKTAB_H

#include <stddef.h>
#include <stdint.h>

#include "trace_stacks.h"

struct gs_stack {
	uint32_t id;
	uint8_t kind;             /* enum gs_stack_kind */
	uint8_t flags;            /* GS_STACK_F_* */
	uint16_t nframes;
	struct gs_frame *frames;  /* innermost first; strings owned */
};

struct gs_stacktab;

struct gs_stacktab *gs_stacktab_new(void);
void gs_stacktab_free(struct gs_stacktab *t);
/* Adds the stack a STACK block payload describes (a repeated id replaces
 * the earlier one). 0, or -1 with *why set. */
int gs_stacktab_add(struct gs_stacktab *t, const void *payload, size_t len,
		    const char **why);
const struct gs_stack *gs_stacktab_get(const struct gs_stacktab *t, uint32_t id);
size_t gs_stacktab_count(const struct gs_stacktab *t);

/* "function (file:line)" of a frame; the line is the current line when
 * known, else the first line. */
void gs_frame_label(const struct gs_frame *f, char *out, size_t len);

#endif
