/* SPDX-License-Identifier: MIT */
/*
 * A synthetic convoy for the exporter tests: two CPU-bound threads trading
 * the GIL every 5 ms through drop requests, and an I/O thread whose every
 * short blocking call costs it a wait of most of a switch interval. Times are
 * exact so tests can count what the outputs must contain.
 */
#ifndef GILSCOPE_EXPORT_FIXTURE_H
#define GILSCOPE_EXPORT_FIXTURE_H

#include "timeline.h"
#include "gil_events.h"

#define FX_T0 1000000000ull /* 1 s on the trace clock */
#define FX_INTERVAL 5000000ull
#define FX_CPU1 101
#define FX_CPU2 102
#define FX_IO 103

/* cycles switch intervals; every cycle: 3 spans per CPU thread at most,
 * 3 for the I/O thread, one handoff between CPU threads, one drop request,
 * and a failed handoff every 4th cycle. */
static inline void fx_convoy(struct gs_timeline *tl, unsigned cycles,
			     int with_sched)
{
	gs_tl_init(tl);
	tl->pid = 4242;
	tl->interval_us = 5000;
	snprintf(tl->policy, sizeof(tl->policy), "cpython");
	snprintf(tl->command, sizeof(tl->command), "convoy fixture");
	gs_tl_thread_set(tl, FX_CPU1, "cpu-1", GS_ROLE_CPU);
	gs_tl_thread_set(tl, FX_CPU2, "cpu-2", GS_ROLE_CPU);
	gs_tl_thread_set(tl, FX_IO, "io <1>", GS_ROLE_IO);
	uint64_t t = FX_T0;
	for (unsigned i = 0; i < cycles; i++) {
		uint32_t hold = i % 2 ? FX_CPU2 : FX_CPU1;
		uint32_t wait = i % 2 ? FX_CPU1 : FX_CPU2;
		uint64_t end = t + FX_INTERVAL;
		/* The I/O thread gets the GIL for 20 us at the start of the
		 * cycle, blocks for 30 us, then waits out the interval. */
		uint64_t io_hold_end = t + 20000;
		uint64_t io_blk_end = io_hold_end + 30000;
		gs_tl_add_span(tl, FX_IO, GS_TL_HOLD, t, io_hold_end, 0, 0);
		gs_tl_add_span(tl, FX_IO, GS_TL_BLOCKED, io_hold_end, io_blk_end,
			       GS_BLOCK_RECV, 0);
		gs_tl_add_span(tl, FX_IO, GS_TL_WAIT, io_blk_end, end,
			       GS_WHY_AFTER_BLOCKING, 1);
		gs_tl_add_span(tl, hold, GS_TL_WAIT, t, io_hold_end,
			       GS_WHY_AFTER_FORCED, 1);
		gs_tl_add_span(tl, hold, GS_TL_HOLD, io_hold_end, end, 1, 0);
		gs_tl_add_span(tl, wait, GS_TL_WAIT, t, end, GS_WHY_AFTER_FORCED, 2);
		gs_tl_add_mark(tl, GS_TL_MARK_HANDOFF, io_hold_end, io_hold_end,
			       FX_IO, hold, 0);
		gs_tl_add_mark(tl, GS_TL_MARK_DROP_REQUEST, end - 100000, 0, wait,
			       hold, 0);
		if (i % 4 == 3)
			gs_tl_add_mark(tl, GS_TL_MARK_FAILED_HANDOFF, end - 2000000,
				       end - 1990000, hold, wait, 0);
		gs_tl_add_waiters(tl, t, 2);
		gs_tl_add_waiters(tl, io_hold_end, 1);
		gs_tl_add_waiters(tl, io_blk_end, 2);
		if (with_sched) {
			/* Waiters sleep; the I/O thread also sleeps in recv. */
			gs_tl_add_span(tl, wait, GS_TL_OFFCPU, t + 1000, end - 1000,
				       GS_SCHED_BLOCKED, 0);
			gs_tl_add_span(tl, FX_IO, GS_TL_OFFCPU, io_hold_end + 1000,
				       io_blk_end + 500000, GS_SCHED_BLOCKED, 0);
		}
		t = end;
	}
	if (cycles >= 4)
		gs_tl_add_finding(tl, GS_TL_FIND_CONVOY, FX_T0 + FX_INTERVAL,
				  FX_T0 + 3 * FX_INTERVAL, FX_IO,
				  "io <1> lost 2 switch intervals to 2 blocking calls");
	gs_tl_finish(tl);
}

#endif
