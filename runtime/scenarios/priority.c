/* SPDX-License-Identifier: MIT */
/*
 * priority: a high-priority thread woken by a timer (absolute deadlines,
 * clock_nanosleep) takes the GIL to do a short piece of work, against K
 * low-priority CPU-bound threads that hold it the rest of the time. The
 * figure is the wake -> GIL latency: from the moment the thread runs again
 * after its sleep to the moment it holds the GIL.
 *
 * Priorities: the high thread has GIL priority 10 and either nice 0
 * (--sched other) or SCHED_FIFO 30 (--sched fifo); the CPU threads run at
 * nice 10 with GIL priority 0.
 *
 * --pin puts every thread of the scenario on one CPU and adds a hog that
 * does not use the GIL, with a priority between the two (nice 5, or
 * SCHED_FIFO 20 with --sched fifo). When a CPU thread holds the GIL and the
 * high thread waits for it, the hog outranks the holder: the classic
 * scheduler-level priority inversion, unless the policy lends the waiter's
 * priority to the holder. The hog is duty cycled (busy, then sleep; at most
 * 90 % busy and 20 ms per burst) and SCHED_FIFO is refused when the
 * kernel's RT throttling is off, so the machine stays usable.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "scenario_internal.h"

#define HP_GIL_PRIO 10
#define HP_FIFO_PRIO 30
#define HOG_FIFO_PRIO 20
#define LOW_NICE 10
#define HOG_NICE 5

struct pr_ctx {
	struct gs_phase ph;
	const struct gs_scenario_opts *o;
	int cpu;                 /* pinned CPU, -1 if not pinned */
	_Atomic int cpu_ready;
	_Atomic uint64_t cpu_units_total;

	/* High-priority thread. */
	uint64_t *wake_to_gil, *timer;
	size_t nsamples, cap;
	uint64_t overruns;
	int hp_error;

	/* Hog. */
	uint64_t hog_busy_ns, hog_total_ns;
};

static void pin_self(struct pr_ctx *c)
{
	if (c->cpu < 0)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(c->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void nice_self(int n)
{
	setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), n);
}

static int fifo_self(int prio)
{
	struct sched_param sp = { .sched_priority = prio };
	return pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
}

static void *low_main(void *arg)
{
	struct pr_ctx *c = ((void **)arg)[0];
	unsigned idx = (unsigned)(uintptr_t)((void **)arg)[1];
	pin_self(c);
	nice_self(LOW_NICE);
	char name[32];
	snprintf(name, sizeof(name), "cpu-%u", idx);
	gil_thread *t = gil_attach(c->ph.rt, name, GIL_ROLE_CPU, 0);
	if (!t)
		return NULL;
	atomic_fetch_add(&c->cpu_ready, 1);
	gs_cpu_work_loop(&c->ph, t, idx + 11, NULL, &c->cpu_units_total);
	gil_detach(t);
	return NULL;
}

static void *hog_main(void *arg)
{
	struct pr_ctx *c = arg;
	pin_self(c);
	if (c->o->sched == GS_SCHED_FIFO)
		fifo_self(HOG_FIFO_PRIO);
	else
		nice_self(HOG_NICE);
	uint64_t busy = (uint64_t)c->o->hog_busy_us * 1000;
	uint64_t t0 = gs_now_ns(), busy_total = 0, s = 5;
	while (!gs_phase_stopping(&c->ph)) {
		uint64_t b0 = gs_now_ns(), now;
		while ((now = gs_now_ns()) - b0 < busy)
			s = gs_work(NULL, 64, s);
		busy_total += now - b0;
		struct timespec ts = { (time_t)(c->o->hog_sleep_us / 1000000),
				       (long)(c->o->hog_sleep_us % 1000000) * 1000 };
		nanosleep(&ts, NULL);
	}
	c->hog_busy_ns = busy_total;
	c->hog_total_ns = gs_now_ns() - t0;
	return NULL;
}

static void ts_add_ns(struct timespec *ts, uint64_t ns)
{
	uint64_t n = (uint64_t)ts->tv_nsec + ns;
	ts->tv_sec += (time_t)(n / 1000000000u);
	ts->tv_nsec = (long)(n % 1000000000u);
}

static uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
}

static int add_sample(struct pr_ctx *c, uint64_t w2g, uint64_t timer)
{
	if (c->nsamples == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1024;
		uint64_t *a = realloc(c->wake_to_gil, cap * sizeof(*a));
		if (!a)
			return -1;
		c->wake_to_gil = a;
		uint64_t *b = realloc(c->timer, cap * sizeof(*b));
		if (!b)
			return -1;
		c->timer = b;
		c->cap = cap;
	}
	c->wake_to_gil[c->nsamples] = w2g;
	c->timer[c->nsamples] = timer;
	c->nsamples++;
	return 0;
}

static void *hp_main(void *arg)
{
	struct pr_ctx *c = arg;
	const struct gs_scenario_opts *o = c->o;
	pin_self(c);
	if (o->sched == GS_SCHED_FIFO && fifo_self(HP_FIFO_PRIO) != 0)
		c->hp_error = EPERM;
	gil_thread *t = gil_attach(c->ph.rt, "high-prio", GIL_ROLE_HIGH_PRIO,
				   HP_GIL_PRIO);
	if (!t)
		return NULL;
	struct gs_thread_result tr = { .role = GIL_ROLE_HIGH_PRIO };
	uint64_t period = (uint64_t)o->period_us * 1000, s = 9;
	uint64_t t0 = gs_now_ns();
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	ts_add_ns(&next, period);
	while (!gs_phase_stopping(&c->ph)) {
		gil_blocking_begin(t, GIL_BLOCK_SLEEP);
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next,
				       NULL) == EINTR)
			;
		uint64_t woke = gs_now_ns();
		gil_blocking_end(t, 0);
		uint64_t got = gs_now_ns();
		uint64_t deadline = ts_ns(&next);
		add_sample(c, got - woke, woke > deadline ? woke - deadline : 0);
		s = gs_work(t, o->hp_units, s);
		tr.work_units += o->hp_units;
		tr.ops++;
		/* A missed deadline is counted, and the schedule moves on
		 * rather than firing a burst of catch-up wake-ups. */
		ts_add_ns(&next, period);
		uint64_t now = gs_now_ns();
		if (ts_ns(&next) <= now) {
			c->overruns++;
			uint64_t behind = now - ts_ns(&next);
			ts_add_ns(&next, (behind / period + 1) * period);
		}
	}
	tr.active_s = (double)(gs_now_ns() - t0) / 1e9;
	gs_phase_thread_done(&c->ph, t, &tr);
	gil_detach(t);
	return NULL;
}

static int rt_throttling_on(void)
{
	FILE *f = fopen("/proc/sys/kernel/sched_rt_runtime_us", "r");
	long v = -1;
	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v >= 0;
}

/* Can this process make a thread SCHED_FIFO? Tried on the calling thread
 * and undone at once, so the error comes before any thread starts. */
static int can_fifo(void)
{
	struct sched_param old_sp, sp = { .sched_priority = 1 };
	int old_policy;
	pthread_getschedparam(pthread_self(), &old_policy, &old_sp);
	int e = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	if (e)
		return e;
	pthread_setschedparam(pthread_self(), old_policy, &old_sp);
	return 0;
}

static int pick_cpu(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return 0;
	for (int i = CPU_SETSIZE - 1; i >= 0; i--)
		if (CPU_ISSET(i, &set))
			return i;
	return 0;
}

static int pr_validate(const struct gs_scenario_opts *o, char *err,
		       size_t errlen)
{
	errno = EINVAL;
	if (o->period_us < 100 || o->period_us > 1000000) {
		gs_errf(err, errlen, "--period-us must be 100..1000000");
		return -1;
	}
	if (o->pin) {
		unsigned busy = o->hog_busy_us, sleep = o->hog_sleep_us;
		if (busy > 20000 || sleep < 100 ||
		    (double)busy > 0.9 * (double)(busy + sleep)) {
			gs_errf(err, errlen,
				"hog duty cycle out of bounds: --hog-busy-us "
				"must be <= 20000, --hog-sleep-us >= 100, and "
				"busy at most 90%% of the cycle");
			return -1;
		}
	}
	if (o->sched == GS_SCHED_FIFO) {
		int e = can_fifo();
		if (e) {
			gs_errf(err, errlen,
				"--sched fifo: cannot make a thread SCHED_FIFO "
				"(%s); run as root or with CAP_SYS_NICE, or use "
				"--sched other", strerror(e));
			errno = EPERM;
			return -1;
		}
		if (o->pin && !rt_throttling_on()) {
			gs_errf(err, errlen,
				"--sched fifo --pin refused: RT throttling is off "
				"(/proc/sys/kernel/sched_rt_runtime_us is -1), so "
				"a SCHED_FIFO hog could starve the CPU; set it to "
				"950000 first");
			return -1;
		}
	}
	errno = 0;
	return 0;
}

int gs_priority_run(const struct gs_scenario_opts *o,
		    struct gs_scenario_result *r, char *err, size_t errlen)
{
	if (pr_validate(o, err, errlen))
		return -1;
	struct pr_ctx c;
	memset(&c, 0, sizeof(c));
	c.o = o;
	c.cpu = o->pin ? pick_cpu() : -1;
	r->priority.cpu_threads = o->cpu_threads;
	r->priority.period_us = o->period_us;
	r->priority.sched = o->sched;
	r->priority.pinned = o->pin;
	r->priority.cpu = c.cpu < 0 ? 0 : (unsigned)c.cpu;

	if (gs_phase_begin(&c.ph, o, 1, err, errlen))
		return -1;
	unsigned k = o->cpu_threads;
	pthread_t *th = calloc(k + 2, sizeof(*th));
	void **args = calloc(2 * (k ? k : 1), sizeof(*args));
	int rc = 0, nth = 0, e = 0;
	if (!th || !args) {
		gs_errf(err, errlen, "out of memory");
		errno = ENOMEM;
		rc = -1;
	}
	for (unsigned i = 0; !rc && i < k && !e; i++) {
		args[2 * i] = &c;
		args[2 * i + 1] = (void *)(uintptr_t)i;
		e = gs_spawn_at(th, &nth, low_main, &args[2 * i]);
	}
	/* The high thread starts against CPU threads that already run. */
	while (!rc && !e && atomic_load(&c.cpu_ready) < (int)k &&
	       !gs_scenario_stop_requested()) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	uint64_t t0 = gs_now_ns();
	if (!rc && !e && o->pin)
		e = gs_spawn_at(th, &nth, hog_main, &c);
	if (!rc && !e)
		e = gs_spawn_at(th, &nth, hp_main, &c);
	if (e)
		rc = gs_spawn_failed(err, errlen, e);
	if (!rc)
		gs_phase_wait(&c.ph, o->duration_s);
	atomic_store(&c.ph.stop, 1);
	for (int i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	double elapsed = (double)(gs_now_ns() - t0) / 1e9;
	free(th);
	free(args);
	if (gs_phase_end(&c.ph, r, rc ? NULL : err, rc ? 0 : errlen))
		rc = -1;
	if (!rc && c.hp_error) {
		gs_errf(err, errlen, "high-priority thread: SCHED_FIFO refused");
		errno = c.hp_error;
		rc = -1;
	}
	gs_latency_summary(c.wake_to_gil, c.nsamples, &r->priority.wake_to_gil);
	gs_latency_summary(c.timer, c.nsamples, &r->priority.timer);
	r->priority.overruns = c.overruns;
	r->priority.cpu_work_per_s = elapsed > 0
		? (double)atomic_load(&c.cpu_units_total) / elapsed : 0;
	r->priority.hog_busy_fraction = c.hog_total_ns
		? (double)c.hog_busy_ns / (double)c.hog_total_ns : 0;
	free(c.wake_to_gil);
	free(c.timer);
	return rc;
}
