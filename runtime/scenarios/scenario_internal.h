/* SPDX-License-Identifier: MIT */
/* What the scenario files share: phases, thread spawning, timing. */
#ifndef GILSCOPE_SCENARIO_INTERNAL_H
#define GILSCOPE_SCENARIO_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>

#include "scenario.h"

/*
 * One phase of a scenario: a fresh gil_runtime, the threads attached to it,
 * and (for the traced phase) the recorder running around it. Threads call
 * gs_phase_thread_done() just before gil_detach() to leave their counters.
 */
struct gs_phase {
	gil_runtime *rt;
	int traced;
	_Atomic int stop;
	pthread_mutex_t lock;
	struct gs_thread_result *threads;
	unsigned nthreads, cap;
};

/* Creates the runtime; with traced set and a trace path, starts the
 * recorder first so every thread of the phase is in the trace. */
int gs_phase_begin(struct gs_phase *ph, const struct gs_scenario_opts *o,
		   int traced, char *err, size_t errlen);
/* After every thread of the phase has been joined: stops the recorder,
 * moves the counters into r when the phase is the traced one, destroys
 * the runtime. r may be NULL for an untraced phase. */
int gs_phase_end(struct gs_phase *ph, struct gs_scenario_result *r, char *err,
		 size_t errlen);
void gs_phase_thread_done(struct gs_phase *ph, gil_thread *t,
			  const struct gs_thread_result *extra);
static inline int gs_phase_stopping(struct gs_phase *ph)
{
	return atomic_load_explicit(&ph->stop, memory_order_relaxed) ||
	       gs_scenario_stop_requested();
}
/*
 * The CPU-bound thread of every scenario: gs_work() in units of 256 until
 * the phase stops, then the thread's result (role cpu, units, active time)
 * left with the phase. progress (may be NULL) sees the running count after
 * each unit; total (may be NULL) gets the final count added before the
 * result is left (the phase's end reads it). t NULL: the thread works
 * without the GIL and leaves no result. Returns the units done.
 */
uint64_t gs_cpu_work_loop(struct gs_phase *ph, gil_thread *t, uint64_t seed,
			  _Atomic uint64_t *progress, _Atomic uint64_t *total);

/* Sleeps up to seconds, returning early on a stop request. */
void gs_phase_wait(struct gs_phase *ph, double seconds);

/* pthread_create with every signal blocked in the new thread, so SIGINT
 * and SIGTERM reach the main thread (gilscope run's handler). */
int gs_spawn(pthread_t *th, void *(*fn)(void *), void *arg);
/* gs_spawn into th[*n], counted in *n when it started (the scenario joins
 * th[0..*n) whatever failed later). */
int gs_spawn_at(pthread_t *th, int *n, void *(*fn)(void *), void *arg);
/* After a gs_spawn that failed with e: the message and errno; returns -1,
 * the scenario's result. */
int gs_spawn_failed(char *err, size_t errlen, int e);

void gs_errf(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Sorts v (n values, ns) and fills the percentiles (µs). */
void gs_latency_summary(uint64_t *v, size_t n, struct gs_latency *out);

int gs_validate_common(const struct gs_scenario_opts *o, char *err,
		       size_t errlen);

#endif
