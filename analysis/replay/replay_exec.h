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

/* What this machine did to the replay while it ran: the replay reproduces
 * recorded behaviour, so its own delays are errors, measured here so the
 * self-check can say what limited it (cmd_replay, docs/replay.md). */
struct replay_machine {
	uint64_t runq_ns;          /* replay threads runnable but not running
				      (/proc/thread-self/schedstat), summed */
	uint64_t thread_ns;        /* their lifetimes, summed */
	uint64_t steal_ns;         /* CPU time the hypervisor took (all CPUs) */
	uint64_t cpu_ns;           /* wall time x CPUs over the run */
	uint64_t timer_n;          /* blocking phases that slept */
	uint64_t timer_p50_ns, timer_p99_ns; /* how late they woke */
	uint64_t work_n;           /* CPU phases */
	uint64_t work_p50_ns, work_p99_ns;   /* how far past their end they ran */
	uint64_t carried_ns;       /* lateness carried into later phases
				      (compensated), summed */
	int have_schedstat, have_steal;
};

struct replay_result {
	struct replay_machine machine;
	double wall_s;
	double ns_per_iter;        /* calibration used */
	uint64_t wake_latency_ns;  /* taken off every blocking phase */
	uint64_t records, lost;    /* replay trace */
	unsigned prio_failures;    /* threads whose OS priority could not be set */
	uint32_t *tids;            /* replay tid of each program thread (0: did
				      not run); free with replay_result_free */
	/* Of each program thread's CPU phases, how much was not spun because
	 * the runtime's own cost inside a hold stands for it: the replay held
	 * the GIL at least cpu_ns minus this (docs/replay.md). Same array
	 * life as tids. */
	uint64_t *overhead_taken_ns;
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
