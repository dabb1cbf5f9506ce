/* SPDX-License-Identifier: MIT */
/*
 * Which code holds the GIL, which code waits for it, and which code makes
 * others wait: GIL time attributed to the code locations of a trace's
 * `stack` events (gilscope record --stacks), exactly, from the state
 * machine's intervals.
 *
 *   hold   each hold (acquired -> release) is charged to the stack the
 *          holder showed at its release (where it let go); hold_acq to the
 *          stack at its request (where it was when it asked);
 *   wait   each wait (acquire_request -> acquired) to the waiter's stack
 *          at its request (the call site that blocked, e.g. the recv);
 *   blame  for every instant where N threads wait, N x the time is charged
 *          to the holder's stack at the release that ends its hold: the
 *          code that makes others wait (N waiters for 1 ms = N ms).
 * A thread's GIL events without a stack (none recorded, or no Python
 * frame) count under stack id 0. Rows are per (thread, stack, native
 * stack): with record --native the same Python stack reached through two
 * C paths is two rows.
 *
 * A listener on the state machine plus a look at each event before the
 * machine sees it (gs_codeattr_event, for the stack events and the
 * holder/waiters state between events).
 */
#ifndef GILSCOPE_CODEATTR_H
#define GILSCOPE_CODEATTR_H

#include <stddef.h>
#include <stdint.h>

#include "gilstate.h"

enum gs_code_kind {
	GS_CODE_HOLD = 0,     /* by the stack at release */
	GS_CODE_HOLD_ACQ = 1, /* by the stack at request */
	GS_CODE_WAIT = 2,     /* by the waiter's stack at request */
	GS_CODE_BLAME = 3,    /* waiting time of others, by the holder's stack */
	GS_CODE_KINDS
};

struct gs_code_row {
	uint32_t thread;           /* state machine thread index */
	uint32_t stack;            /* stack id, 0 = none */
	uint32_t native;           /* native stack id (record --native), 0 = none */
	uint64_t ns[GS_CODE_KINDS];
	uint64_t count[GS_CODE_KINDS]; /* holds / waits / blamed holds */
};

struct gs_codeattr;

struct gs_codeattr *gs_codeattr_new(void);
void gs_codeattr_free(struct gs_codeattr *c);
/* Registers the listener (once, before the first event). */
int gs_codeattr_attach(struct gs_codeattr *c, struct gs_state *st);
/* Every event, before gs_state_feed() sees it. */
void gs_codeattr_event(struct gs_codeattr *c, const struct gs_event *ev,
		       const struct gs_state *st);
/* After gs_state_finish(): charges blame of holds still open. */
void gs_codeattr_finish(struct gs_codeattr *c, const struct gs_state *st);

/* Rows (thread, stack) with any time, in no order. */
size_t gs_codeattr_rows(const struct gs_codeattr *c,
			const struct gs_code_row **rows);
/* Totals over all rows, per kind. */
void gs_codeattr_totals(const struct gs_codeattr *c, uint64_t out[GS_CODE_KINDS]);
/* Stack events seen (0: the trace has no stacks). */
uint64_t gs_codeattr_stack_events(const struct gs_codeattr *c);

const char *gs_code_kind_name(unsigned kind);
int gs_code_kind_lookup(const char *name); /* -1 when unknown */

#endif
