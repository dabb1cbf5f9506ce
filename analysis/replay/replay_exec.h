/* SPDX-License-Identifier: MIT */
/*
 * Runs a phase program (analysis/model/phases.h) for real on libgil: one thread per
 * recorded thread, started at its recorded offset, doing calibrated spinning
 * work with an eval-breaker check between work units for CPU phases and real
 * sleeps inside gil_blocking_begin/end for blocking phases. Contention and
 * scheduling are real, not modelled. The run is recorded with the built-in
 * recorder like any other.
 */
#ifndef GILSCOPE_REPLAY_EXEC_H
#define GILSCOPE_REPLAY_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "gil.h"
#include "phases.h"

struct replay_opts {
	struct gil_params params;
	const char *trace_out;     /* required: the replay is always recorded */
	const char *source_path;   /* for the trace header's command */
	unsigned unit_ns;          /* work between two checks; 0 = 200 */
	int apply_os_prio;         /* set recorded nice / SCHED_FIFO levels */
	double ns_per_iter;        /* calibration; 0 = measure now */
	uint64_t wake_latency_ns;  /* timer wake-up latency; 0 = measure now */
};

struct replay_result {
	double wall_s;
	double ns_per_iter;        /* calibration used */
	uint64_t wake_latency_ns;  /* taken off every blocking phase */
	uint64_t records, lost;    /* replay trace */
	unsigned prio_failures;    /* threads whose OS priority could not be set */
	uint32_t *tids;            /* replay tid of each program thread (0: did
				      not run); free with replay_result_free */
};

void replay_result_free(struct replay_result *res);

/* Spin-loop cost on this machine (best of several runs), in ns/iteration. */
double replay_calibrate(void);
/* Median lateness of a 50 us timer sleep on this machine, in ns. */
uint64_t replay_calibrate_wakeup(void);

/* 0, or -1 with err filled. */
int replay_run(const struct gs_phase_program *prog, const struct replay_opts *o,
	       struct replay_result *res, char *err, size_t errlen);

#endif
