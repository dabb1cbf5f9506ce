/* SPDX-License-Identifier: MIT */
/*
 * The classic GIL experiments as a library, shared by `gilscope run`, the
 * benchmarks and the replayer. Reference: docs/scenarios.md.
 *
 *     struct gs_scenario_opts o;
 *     struct gs_scenario_result r;
 *     gs_scenario_opts_default(&o, GS_SCN_CONVOY);
 *     gil_params_default(&o.params, GIL_POLICY_CPYTHON);
 *     o.cpu_threads = 1;
 *     o.trace_path = "convoy.gst";            // optional
 *     if (gs_scenario_run(GS_SCN_CONVOY, &o, &r) == 0) ...
 *     gs_scenario_result_free(&r);
 *
 * Every scenario builds a fresh gil_runtime per phase, so the counters in
 * the result (runtime, threads) describe exactly one phase: the traced one
 * (see gs_scenario_traced_phase()). With a trace path the built-in recorder
 * runs around that phase only: started before its threads attach, stopped
 * after they have all detached and been joined.
 *
 * gs_scenario_request_stop() (async-signal-safe) ends the running phase
 * early; the remaining phases then run with zero length, so the result and
 * the trace stay complete and consistent, and r.interrupted is set.
 */
#ifndef GILSCOPE_SCENARIO_H
#define GILSCOPE_SCENARIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "gil.h"

#ifdef __cplusplus
extern "C" {
#endif

enum gs_scenario_kind {
	GS_SCN_COUNTDOWN = 0,
	GS_SCN_CONVOY = 1,
	GS_SCN_PRIORITY = 2,
	GS_SCN_IO = 3,
	GS_SCN_MAX
};

/* "countdown" ... "io" <-> kind; -1 when unknown. */
int gs_scenario_lookup(const char *name);
const char *gs_scenario_name(enum gs_scenario_kind kind);
/* The phase whose counters the result holds and the trace records. */
const char *gs_scenario_traced_phase(enum gs_scenario_kind kind);

/*
 * The work unit: a dependent chain of integer multiply-adds that the
 * compiler cannot fold, about the cost of a few CPython bytecodes
 * (gs_work_unit_ns() measures it). Scenario threads call gil_check()
 * between units, as CPython's eval loop checks its eval breaker between
 * bytecodes.
 */
#define GS_WORK_UNIT_ITERS 24
uint64_t gs_work_unit(uint64_t state);
/* Runs n units with gil_check() between them (t may be NULL: no GIL). */
uint64_t gs_work(gil_thread *t, uint64_t n, uint64_t state);
/* ns per unit on this machine, measured once (~20 ms) and cached. */
double gs_work_unit_ns(void);

enum gs_sched_mode {
	GS_SCHED_OTHER = 0,
	GS_SCHED_FIFO = 1,
};

struct gs_scenario_opts {
	struct gil_params params;
	unsigned threads;       /* countdown: workers; io: I/O threads */
	unsigned cpu_threads;   /* convoy, priority, io: CPU-bound threads */
	double duration_s;      /* length of each timed phase */
	uint64_t work_units;    /* countdown: total units over all threads */

	/* convoy */
	unsigned msg_size;      /* request/response bytes */
	unsigned server_units;  /* work units the server does per request */
	unsigned client_units;  /* the client's own work per request (no GIL):
				 * what a client in Python spends on a round
				 * trip besides the system calls */
	int nonblocking_first;  /* gil_call_maybe_blocking (gh-89977) */
	unsigned client_think_us; /* client pause between round trips: the
				   * peer's reaction time / network delay */
	unsigned rounds;        /* solo/policy/ceiling repeated; medians */
	/* NULL: the client is a thread of ours. Else a program run as
	 * ARGV... PORT SECONDS MSG_SIZE THINK_US in a process of its own
	 * (bench/python/echo_client.py), the CPU threads started 0.1 s
	 * before the server as in bench/python/echo_convoy.py; req/s is then
	 * counted by the server, from its first reply to its last. */
	char *const *client_argv;

	/* priority */
	unsigned period_us;     /* timer period of the high-priority thread */
	unsigned hp_units;      /* its work per wake-up */
	enum gs_sched_mode sched;
	int pin;                /* all on one CPU + medium-priority hog */
	unsigned hog_busy_us;   /* hog duty cycle: busy, then sleep */
	unsigned hog_sleep_us;

	/* io */
	unsigned io_size;       /* bytes per write/read */
	unsigned io_cpu_units;  /* CPU units between I/O operations */
	unsigned fsync_every;   /* fsync after this many writes; 0 = never */
	const char *dir;        /* where io makes its temp dir; NULL = $TMPDIR */

	/* Built-in recorder around the traced phase (NULL: no trace). */
	const char *trace_path;
	const char *command;    /* trace header "command" */
	/* Progress lines on stderr. */
	int verbose;
};

/* One attached thread of the traced phase. */
struct gs_thread_result {
	pid_t tid;
	char name[32];
	enum gil_role role;
	/* Snapshot taken just before gil_detach(): the final hold, ended by
	 * the detach, is not in hold_ns. */
	struct gil_thread_stats stats;
	uint64_t work_units;    /* CPU work done */
	uint64_t ops;           /* requests served, wake-ups, I/O operations */
	uint64_t bytes_read, bytes_written;
	double active_s;        /* time between its start and stop */
};

struct gs_latency {
	uint64_t samples;
	double p50_us, p90_us, p99_us, max_us, mean_us;
};

struct gs_scenario_result {
	enum gs_scenario_kind kind;
	struct gil_params params;   /* effective */
	int interrupted;            /* a stop was requested */
	double work_unit_ns;

	/* The traced phase. */
	struct gil_runtime_stats runtime;
	unsigned nthreads;
	struct gs_thread_result *threads;

	int traced;
	uint64_t trace_records, trace_lost;

	struct {
		unsigned threads;
		uint64_t work_units;
		double wall_s, single_thread_wall_s;
	} countdown;
	struct {
		unsigned cpu_threads, msg_size, client_think_us, rounds;
		unsigned server_units, client_units;
		double phase_s;
		/* Medians over the rounds. */
		double solo_rps, rps, ceiling_rps;
		/* requests: the traced (first) policy phase; the other two
		 * are totals over the rounds. */
		uint64_t solo_requests, requests, ceiling_requests;
		double cpu_work_per_s;          /* policy phase */
		double ceiling_cpu_work_per_s;  /* same threads, no GIL */
	} convoy;
	struct {
		unsigned cpu_threads, period_us, cpu;
		int pinned;
		enum gs_sched_mode sched;
		struct gs_latency wake_to_gil;  /* woke up -> holds the GIL */
		struct gs_latency timer;        /* deadline -> woke up */
		uint64_t overruns;              /* deadlines already past */
		double cpu_work_per_s;
		double hog_busy_fraction;
	} priority;
	struct {
		unsigned threads, cpu_threads, io_size;
		double duration_s;
		uint64_t ops;
		uint64_t bytes_read, bytes_written;
		double cpu_work_per_s;
	} io;
};

void gs_scenario_opts_default(struct gs_scenario_opts *o,
			      enum gs_scenario_kind kind);

/*
 * Runs a scenario. 0, or -1 with err filled (errno set: EINVAL for bad
 * options or an unknown policy, EPERM for --sched fifo without the
 * privilege, EIO for a trace that could not be written). On success the
 * caller frees r with gs_scenario_result_free().
 */
int gs_scenario_run(enum gs_scenario_kind kind,
		    const struct gs_scenario_opts *o,
		    struct gs_scenario_result *r, char *err, size_t errlen);
void gs_scenario_result_free(struct gs_scenario_result *r);

int gs_countdown_run(const struct gs_scenario_opts *o,
		     struct gs_scenario_result *r, char *err, size_t errlen);
int gs_convoy_run(const struct gs_scenario_opts *o,
		  struct gs_scenario_result *r, char *err, size_t errlen);
int gs_priority_run(const struct gs_scenario_opts *o,
		    struct gs_scenario_result *r, char *err, size_t errlen);
int gs_io_run(const struct gs_scenario_opts *o, struct gs_scenario_result *r,
	      char *err, size_t errlen);

/* Async-signal-safe: asks the running scenario to finish early. */
void gs_scenario_request_stop(void);
int gs_scenario_stop_requested(void);
/* Clears a previous request (before running another scenario). */
void gs_scenario_reset_stop(void);

#ifdef __cplusplus
}
#endif
#endif
