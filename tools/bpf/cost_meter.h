/* SPDX-License-Identifier: MIT */
/*
 * What a session's probes cost, priced the same way by `gilscope record`
 * (once, at the stop) and `gilscope top` (every interval): the per-hit
 * costs measured while the session runs (calibrate.h: the trap's round
 * trip, what a return adds, the program's cache refill after a trap) times
 * the hits, plus the BPF programs' own run
 * time from the kernel's statistics over the same stretch. Without the
 * calibration (no BPF statistics, no calibration probe) the per-hit
 * constants of session.h price every hit, programs and stack walks
 * included (docs/observer-effect.md, "The cost").
 */
#ifndef GILSCOPE_COST_METER_H
#define GILSCOPE_COST_METER_H

#include <stdint.h>

#include "calibrate.h"
#include "session.h"

/* A window: the statistics on for GS_COST_WINDOW_NS after each sample,
 * and from the start until the programs have run GS_COST_FIRST_HITS times
 * (a short recording keeps them on throughout, as a long one's first
 * stretch). Every 0.5 s that is ~2 % of a long recording. */
#define GS_COST_WINDOW_NS 10000000ull
#define GS_COST_FIRST_HITS 2000

struct gs_cost_meter {
	struct gs_session *s;
	struct gs_calib cal;
	int calibrating;
	int window_open, first_window;
	uint64_t window_t0;     /* gs_now_ns() at the window's opening */
	uint64_t window_ns0, window_hits0; /* program ns, hits at the opening */
	uint64_t win_ns, win_hits; /* summed over the closed windows */
	int marked;             /* gs_cost_meter_mark: no window after it */
	uint64_t start_ns, last_sample_ns;
	/* GIL probe hits per CPU at the last sample: the next one runs on
	 * the CPU that took most hits since (cost_meter.c) */
	uint64_t *cpu_hits;
	int ncpu;
};

/* What one stretch of counters cost. */
struct gs_probe_cost {
	double total_ns;     /* traps + BPF programs + stack walks */
	double traps_ns;     /* hits x per-hit round trip */
	double bpf_ns;       /* the programs' measured run time (calibrated) */
	double stacks_ns;    /* stack walks at the constants (uncalibrated) */
	double trap_ns;      /* an emulated entry probe's round trip ... */
	double ret_ns;       /* ... and what a return adds: measured, or the
			      * constants when !calibrated */
	double refill_ns;    /* the program's cache refill after each trap
			      * (calibrate.h), in traps_ns; 0 uncalibrated */
	uint64_t traps;      /* kernel entries behind the refill: hits, a
			      * return without entry program counting two */
	int samples;         /* calibration samples behind them */
	double trap_spread[2], refill_spread[2]; /* their min, max (ns) */
	int calibrated;
	uint64_t hits;       /* GIL probe hits (gs_session_gil_hits) */
	uint64_t return_hits; /* ... of which return probes */
	uint64_t single_stepped_hits; /* ... at single-stepped sites (their
				       * constant: GS_COST_UPROBE_SS_NS) */
};

/* Starts the calibration (a first sample now) and the programs' run-time
 * count. Returns 1 when calibrating, 0 when the constants will apply (said
 * on stderr with the session's -v). */
int gs_cost_meter_start(struct gs_cost_meter *m, struct gs_session *s);
/* One more calibration sample (~3 ms of the caller's CPU), on the CPU
 * where the target's probes were hit most since the last one, and a
 * window of the programs' statistics after it. */
void gs_cost_meter_sample(struct gs_cost_meter *m);
/* Whether a sample is due now: GS_COST_BURST samples GS_COST_BURST_NS
 * apart after the start (a recording of a second gets several), then
 * one every GS_COST_SAMPLE_NS. Callers ask every few milliseconds. */
#define GS_COST_BURST 4
#define GS_COST_BURST_NS 100000000ull
#define GS_COST_SAMPLE_NS 500000000ull
int gs_cost_meter_due(const struct gs_cost_meter *m);
/* Closes a window that has lasted long enough: callers call it every few
 * milliseconds (their drain loop's tick). */
void gs_cost_meter_tick(struct gs_cost_meter *m);
/* The stretch the next read prices ends now for the programs' run time
 * (they keep running, disarmed, while the probes come out). */
void gs_cost_meter_mark(struct gs_cost_meter *m);
/* The cost of the hits in cnt (the counters over a stretch) and of
 * stack_events stack walks: the programs' run time is those hits at the
 * run time per hit measured in the windows so far. Sets the session's
 * per-hit costs to the medians so far. */
void gs_cost_meter_read(struct gs_cost_meter *m, const uint64_t cnt[GSB_CNT_MAX],
			uint64_t stack_events, struct gs_probe_cost *out);
/* Detaches the calibration probe, ends the statistics. */
void gs_cost_meter_end(struct gs_cost_meter *m);

#endif
