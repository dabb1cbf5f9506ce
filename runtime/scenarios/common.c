/* SPDX-License-Identifier: MIT */
/* Scenario plumbing: the work unit, phases, the stop flag, options. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "recorder.h"
#include "scenario_internal.h"
#include "trace_format.h"

static volatile sig_atomic_t stop_requested;

void gs_scenario_request_stop(void) { stop_requested = 1; }
int gs_scenario_stop_requested(void) { return stop_requested != 0; }
void gs_scenario_reset_stop(void) { stop_requested = 0; }

static const char *const scenario_names[GS_SCN_MAX] = {
	[GS_SCN_COUNTDOWN] = "countdown",
	[GS_SCN_CONVOY] = "convoy",
	[GS_SCN_PRIORITY] = "priority",
	[GS_SCN_IO] = "io",
};

/* countdown traces the N-thread run (the 1-thread run is the baseline);
 * convoy traces the phase with the CPU threads under the policy. */
static const char *const traced_phases[GS_SCN_MAX] = {
	[GS_SCN_COUNTDOWN] = "threads",
	[GS_SCN_CONVOY] = "policy",
	[GS_SCN_PRIORITY] = "run",
	[GS_SCN_IO] = "run",
};

int gs_scenario_lookup(const char *name)
{
	for (int i = 0; i < GS_SCN_MAX; i++)
		if (!strcmp(scenario_names[i], name))
			return i;
	return -1;
}

const char *gs_scenario_name(enum gs_scenario_kind kind)
{
	return (unsigned)kind < GS_SCN_MAX ? scenario_names[kind] : "unknown";
}

const char *gs_scenario_traced_phase(enum gs_scenario_kind kind)
{
	return (unsigned)kind < GS_SCN_MAX ? traced_phases[kind] : "unknown";
}

void gs_errf(char *err, size_t errlen, const char *fmt, ...)
{
	if (!err || !errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* A chain of dependent multiply-adds: each step needs the previous result,
 * so the cost is latency bound and stable, and noinline keeps the compiler
 * from merging units across the gil_check() calls between them. */
__attribute__((noinline)) uint64_t gs_work_unit(uint64_t x)
{
	for (int i = 0; i < GS_WORK_UNIT_ITERS; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

uint64_t gs_work(gil_thread *t, uint64_t n, uint64_t state)
{
	for (uint64_t i = 0; i < n; i++) {
		state = gs_work_unit(state);
		if (t)
			gil_check(t);
	}
	return state;
}

double gs_work_unit_ns(void)
{
	static double cached;
	if (cached > 0)
		return cached;
	/* Best of a few short runs: the minimum is the least disturbed by
	 * other processes on a shared machine. */
	double best = 0;
	uint64_t s = 1;
	for (int rep = 0; rep < 5; rep++) {
		uint64_t n = 100000;
		uint64_t t0 = gs_now_ns();
		s = gs_work(NULL, n, s);
		double ns = (double)(gs_now_ns() - t0) / (double)n;
		if (best == 0 || ns < best)
			best = ns;
	}
	__asm__ volatile("" : : "r"(s));
	cached = best;
	return best;
}

int gs_spawn(pthread_t *th, void *(*fn)(void *), void *arg)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(th, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

int gs_spawn_at(pthread_t *th, int *n, void *(*fn)(void *), void *arg)
{
	int e = gs_spawn(&th[*n], fn, arg);
	if (!e)
		(*n)++;
	return e;
}

int gs_spawn_failed(char *err, size_t errlen, int e)
{
	gs_errf(err, errlen, "pthread_create: %s", strerror(e));
	errno = e;
	return -1;
}

void gs_phase_wait(struct gs_phase *ph, double seconds)
{
	uint64_t end = gs_now_ns() + (uint64_t)(seconds * 1e9);
	while (!gs_phase_stopping(ph)) {
		uint64_t now = gs_now_ns();
		if (now >= end)
			break;
		uint64_t left = end - now;
		if (left > 10000000u)
			left = 10000000u; /* look at the stop flag every 10 ms */
		struct timespec ts = { 0, (long)left };
		nanosleep(&ts, NULL);
	}
}

int gs_phase_begin(struct gs_phase *ph, const struct gs_scenario_opts *o,
		   int traced, char *err, size_t errlen)
{
	memset(ph, 0, sizeof(*ph));
	pthread_mutex_init(&ph->lock, NULL);
	ph->traced = traced && o->trace_path;
	/* The runtime first: a policy missing from this libgil must not leave
	 * an empty trace file behind. gil_create() emits no event. */
	ph->rt = gil_create(&o->params);
	if (!ph->rt) {
		int e = errno;
		if (e == EINVAL)
			gs_errf(err, errlen,
				"policy '%s' is not available in this libgil "
				"or its parameters are invalid",
				gil_policy_name(o->params.policy));
		else
			gs_errf(err, errlen, "gil_create: %s", strerror(e));
		pthread_mutex_destroy(&ph->lock);
		errno = e;
		return -1;
	}
	if (ph->traced) {
		const struct gil_params *p = gil_runtime_params(ph->rt);
		struct gs_recorder_opts ro = {
			.path = o->trace_path,
			.policy = (uint32_t)p->policy,
			.interval_us = p->interval_us,
			.check_ticks = p->check_ticks,
			.header_flags = (p->policy == GIL_POLICY_LEGACY &&
					 p->legacy_use_sem)
						? GS_HDR_F_SEM_LOCK
						: 0,
			.policy_name = gil_policy_name(p->policy),
			.command = o->command,
		};
		char rerr[320];
		if (gs_recorder_start(&ro, rerr, sizeof(rerr)) != 0) {
			gs_errf(err, errlen, "%s", rerr);
			gil_destroy(ph->rt);
			pthread_mutex_destroy(&ph->lock);
			errno = EIO;
			return -1;
		}
	}
	return 0;
}

void gs_phase_thread_done(struct gs_phase *ph, gil_thread *t,
			  const struct gs_thread_result *extra)
{
	struct gs_thread_result tr;
	if (extra)
		tr = *extra;
	else
		memset(&tr, 0, sizeof(tr));
	tr.tid = gil_thread_tid(t);
	snprintf(tr.name, sizeof(tr.name), "%s", gil_thread_name(t));
	gil_thread_stats(t, &tr.stats);
	pthread_mutex_lock(&ph->lock);
	if (ph->nthreads == ph->cap) {
		unsigned cap = ph->cap ? ph->cap * 2 : 8;
		void *n = realloc(ph->threads, cap * sizeof(*ph->threads));
		if (!n) {
			pthread_mutex_unlock(&ph->lock);
			return; /* counters lost; the run itself is unaffected */
		}
		ph->threads = n;
		ph->cap = cap;
	}
	ph->threads[ph->nthreads++] = tr;
	pthread_mutex_unlock(&ph->lock);
}

uint64_t gs_cpu_work_loop(struct gs_phase *ph, gil_thread *t, uint64_t seed,
			  _Atomic uint64_t *progress, _Atomic uint64_t *total)
{
	uint64_t t0 = gs_now_ns(), done = 0;
	if (t)
		GIL_SET_CODE_LOCATION(); /* reports name the CPU loop */
	while (!gs_phase_stopping(ph)) {
		seed = gs_work(t, 256, seed);
		done += 256;
		if (progress)
			atomic_store_explicit(progress, done, memory_order_relaxed);
	}
	if (total)
		atomic_fetch_add(total, done);
	if (t) {
		struct gs_thread_result tr = {
			.role = GIL_ROLE_CPU,
			.work_units = done,
			.active_s = (double)(gs_now_ns() - t0) / 1e9,
		};
		gs_phase_thread_done(ph, t, &tr);
	}
	return done;
}

static int by_tid(const void *a, const void *b)
{
	const struct gs_thread_result *x = a, *y = b;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

int gs_phase_end(struct gs_phase *ph, struct gs_scenario_result *r, char *err,
		 size_t errlen)
{
	int rc = 0;
	if (ph->traced) {
		struct gs_recorder_result rr;
		memset(&rr, 0, sizeof(rr));
		uint32_t flags = gs_scenario_stop_requested() ? GS_END_F_INTERRUPTED
							      : 0;
		if (gs_recorder_stop(flags, &rr) != 0) {
			gs_errf(err, errlen, "%s", rr.error[0] ? rr.error
						     : "trace not written completely");
			errno = EIO;
			rc = -1;
		}
		if (r) {
			r->traced = 1;
			r->trace_records = rr.records;
			r->trace_lost = rr.lost;
		}
	}
	if (r) {
		gil_runtime_stats(ph->rt, &r->runtime);
		qsort(ph->threads, ph->nthreads, sizeof(*ph->threads), by_tid);
		free(r->threads);
		r->threads = ph->threads;
		r->nthreads = ph->nthreads;
		ph->threads = NULL;
	}
	free(ph->threads);
	gil_destroy(ph->rt);
	ph->rt = NULL;
	pthread_mutex_destroy(&ph->lock);
	return rc;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* Nearest-rank percentile: the smallest sample with at least p% of the
 * samples at or below it, so p100 is the maximum and no value is made up. */
static double pct(const uint64_t *v, size_t n, double p)
{
	size_t rank = (size_t)ceil(p / 100.0 * (double)n);
	if (rank < 1)
		rank = 1;
	return (double)v[rank - 1] / 1000.0;
}

void gs_latency_summary(uint64_t *v, size_t n, struct gs_latency *out)
{
	memset(out, 0, sizeof(*out));
	out->samples = n;
	if (!n)
		return;
	qsort(v, n, sizeof(*v), cmp_u64);
	double sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += (double)v[i];
	out->p50_us = pct(v, n, 50);
	out->p90_us = pct(v, n, 90);
	out->p99_us = pct(v, n, 99);
	out->max_us = (double)v[n - 1] / 1000.0;
	out->mean_us = sum / (double)n / 1000.0;
}

void gs_scenario_opts_default(struct gs_scenario_opts *o,
			      enum gs_scenario_kind kind)
{
	memset(o, 0, sizeof(*o));
	gil_params_default(&o->params, GIL_POLICY_CPYTHON);
	o->threads = 2;
	o->cpu_threads = 1;
	o->duration_s = 1.0;
	o->work_units = 20000000; /* ~0.5-1 s of work on one core */
	o->msg_size = 16;
	o->server_units = 20;
	o->client_think_us = 20;
	o->period_us = 5000;
	o->hp_units = 500;
	o->sched = GS_SCHED_OTHER;
	o->hog_busy_us = 3000;
	o->hog_sleep_us = 3000;
	o->io_size = 4096;
	o->io_cpu_units = 2000;
	o->fsync_every = 16;
	switch (kind) {
	case GS_SCN_PRIORITY:
		o->cpu_threads = 2;
		o->duration_s = 2.0;
		break;
	case GS_SCN_IO:
		o->duration_s = 2.0;
		break;
	default:
		break;
	}
}

int gs_validate_common(const struct gs_scenario_opts *o, char *err,
		       size_t errlen)
{
	if (!(o->duration_s >= 0) || o->duration_s > 86400) {
		gs_errf(err, errlen, "duration %g s is out of range (0..86400)",
			o->duration_s);
		errno = EINVAL;
		return -1;
	}
	if (o->threads > 256 || o->cpu_threads > 256) {
		gs_errf(err, errlen, "at most 256 threads of each kind");
		errno = EINVAL;
		return -1;
	}
	return 0;
}

void gs_scenario_result_free(struct gs_scenario_result *r)
{
	free(r->threads);
	r->threads = NULL;
	r->nthreads = 0;
}
