/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "replay_exec.h"

#include <errno.h>
#include <stdatomic.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "recorder.h"
#include "trace_format.h"

/* The work itself: a dependent multiply chain the compiler cannot fold. */
static uint64_t spin(uint64_t iters, uint64_t seed)
{
	for (uint64_t i = 0; i < iters; i++) {
		seed = seed * 6364136223846793005u + 1442695040888963407u;
		__asm__ __volatile__("" : "+r"(seed));
	}
	return seed;
}

double replay_calibrate(void)
{
	const uint64_t iters = 2000000;
	double best = 0;
	for (int i = 0; i < 7; i++) {
		uint64_t t0 = gs_now_ns();
		volatile uint64_t sink = spin(iters, (uint64_t)i);
		(void)sink;
		double per = (double)(gs_now_ns() - t0) / (double)iters;
		if (best == 0 || per < best)
			best = per;
	}
	return best > 0 ? best : 1.0;
}

struct replay_shared {
	const struct gs_phase_program *prog;
	const struct replay_opts *opts;
	gil_runtime *rt;
	uint64_t iters_per_unit;
	double ns_per_iter;
	uint64_t wake_latency_ns;
	uint64_t t0;
	pthread_mutex_t lock;
	pthread_cond_t go_cond;
	int go;              /* 1: start at t0; -1: abandon (setup failed) */
	unsigned prio_failures;
	/* the latest acquire, by whom: where a thread's way back starts */
	_Atomic uint64_t last_acq_ns;
	_Atomic(const void *) last_acq_by;
};

struct replay_worker {
	struct replay_shared *sh;
	const struct gs_phase_thread *th;
	uint32_t *tid_out;
	uint64_t *overhead_taken_out;
	/* the machine's errors, for struct replay_machine */
	uint64_t *timer_late, *work_over;  /* one per phase of that kind */
	size_t ntimer, nwork;
	uint64_t runq_ns, life_ns, carried_ns;
	int have_schedstat;
	sem_t started;               /* posted by the creator (children only) */
	struct replay_worker **children; /* sorted by creator_progress_ns */
	size_t nchildren, next_child;
	uint64_t acq_ns;             /* this thread's latest acquire */
	size_t next_return;          /* into th->returns */
	int returned;                /* on_return ran: gil_check re-acquired */
};

static void sleep_until(uint64_t deadline_ns);

/* The shortest blocking phase the machine's lateness is taken off. */
#define REPAY_MIN_PHASE_NS 1000000u

/*
 * The runtime's own cost inside a hold: the median of the last samples.
 * A sample is a hold less the work spun in it, and on a loaded machine a
 * hold now and then contains a preemption or an interrupt (tens of us to
 * ms); a running mean let one such sample shorten the next dozens of
 * phases (a CI run's hold p50 came out 0.66x). The median ignores them.
 */
enum { OVERHEAD_SAMPLES = 15 };
struct overhead_estimate {
	uint64_t value;
	uint64_t ring[OVERHEAD_SAMPLES];
	size_t n, next;
};

static int cmp_u64(const void *a, const void *b);

static void overhead_add(struct overhead_estimate *e, uint64_t sample)
{
	uint64_t sorted[OVERHEAD_SAMPLES];
	e->ring[e->next] = sample;
	e->next = (e->next + 1) % OVERHEAD_SAMPLES;
	if (e->n < OVERHEAD_SAMPLES)
		e->n++;
	memcpy(sorted, e->ring, e->n * sizeof(sorted[0]));
	qsort(sorted, e->n, sizeof(sorted[0]), cmp_u64);
	e->value = sorted[e->n / 2];
}

static void note_acquired(struct replay_worker *w)
{
	w->acq_ns = gs_now_ns();
	w->returned = 0;
	atomic_store_explicit(&w->sh->last_acq_by, (const void *)w, memory_order_relaxed);
	atomic_store_explicit(&w->sh->last_acq_ns, w->acq_ns, memory_order_release);
}

/*
 * The way back after a cut takes as long as it took the recorded thread
 * (phases.h, returns), counted from the acquire that let it go: CPython's
 * FORCE_SWITCHING wait ends there. A replay thread at SCHED_FIFO comes back
 * in ~3 us where a CPython 3.11 thread on the loaded machine took ~16 us,
 * and coming back sooner it finds the I/O thread still holding and takes
 * the GIL at that thread's next short blocking call: the convoy changes.
 */
static void on_return(gil_thread *t, void *arg)
{
	struct replay_worker *w = arg;
	const struct gs_phase_thread *th = w->th;
	(void)t;
	w->returned = 1;
	if (!th->nreturns)
		return;
	uint64_t want = th->returns[w->next_return++ % th->nreturns];
	uint64_t now = gs_now_ns();
	uint64_t at = atomic_load_explicit(&w->sh->last_acq_ns, memory_order_acquire);
	const void *by = atomic_load_explicit(&w->sh->last_acq_by, memory_order_relaxed);
	uint64_t from = by != (const void *)w && at >= w->acq_ns && at <= now ? at : now;
	uint64_t until = from + want;
	if (until <= now)
		return;
	if (until - now > w->sh->wake_latency_ns + 20000)
		sleep_until(until - w->sh->wake_latency_ns);
	while (gs_now_ns() < until)
		;
}

/* Starts the children whose anchor the creator's progress has reached. */
static void start_children(struct replay_worker *w, uint64_t progress)
{
	while (w->next_child < w->nchildren &&
	       w->children[w->next_child]->th->creator_progress_ns <= progress)
		sem_post(&w->children[w->next_child++]->started);
}

static void sleep_until(uint64_t deadline_ns)
{
	struct timespec ts = { .tv_sec = (time_t)(deadline_ns / 1000000000u),
			       .tv_nsec = (long)(deadline_ns % 1000000000u) };
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}


/* Time this thread spent runnable but not running, from the scheduler's
 * own count (0 and *ok = 0 where the kernel has no schedstat). */
static uint64_t run_queue_ns(int *ok)
{
	FILE *f = fopen("/proc/thread-self/schedstat", "r");
	unsigned long long run = 0, wait = 0;
	*ok = f && fscanf(f, "%llu %llu", &run, &wait) == 2;
	if (f)
		fclose(f);
	return *ok ? wait : 0;
}

/* Steal time of all CPUs so far, in ns (the "steal" column of /proc/stat). */
static int steal_ns(uint64_t *out)
{
	FILE *f = fopen("/proc/stat", "r");
	unsigned long long v[8] = { 0 };
	int n = f ? fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
			   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7])
		  : 0;
	if (f)
		fclose(f);
	long hz = sysconf(_SC_CLK_TCK);
	if (n != 8 || hz <= 0)
		return -1;
	*out = v[7] * (1000000000ull / (uint64_t)hz);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

uint64_t replay_calibrate_wakeup(void)
{
	enum { N = 31 };
	uint64_t late[N];
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	for (int i = 0; i < N; i++) {
		uint64_t want = gs_now_ns() + 50000;
		sleep_until(want);
		late[i] = gs_now_ns() - want;
	}
	qsort(late, N, sizeof(late[0]), cmp_u64);
	return late[N / 2];
}

/* os_prio scale of gil_current_os_prio(): 100 + p for SCHED_FIFO p,
 * 20 - nice for SCHED_OTHER. */
static int apply_os_prio(int32_t os_prio)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);
	if (os_prio > 100) {
		struct sched_param sp = { .sched_priority = os_prio - 100 };
		return sched_setscheduler(tid, SCHED_FIFO, &sp);
	}
	if (os_prio > 0 && os_prio != 20)
		return setpriority(PRIO_PROCESS, (id_t)tid, 20 - os_prio);
	return 0;
}

static void *worker_main(void *arg)
{
	struct replay_worker *w = arg;
	struct replay_shared *sh = w->sh;
	const struct gs_phase_thread *th = w->th;

	pthread_mutex_lock(&sh->lock);
	while (!sh->go)
		pthread_cond_wait(&sh->go_cond, &sh->lock);
	int go = sh->go;
	pthread_mutex_unlock(&sh->lock);
	if (go < 0) {
		start_children(w, UINT64_MAX);
		return NULL;
	}
	/* Blocking phases are often tens of microseconds: the default 50 us
	 * timer slack would stretch every one of them. */
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	if (th->creator == GS_NO_THREAD)
		sleep_until(sh->t0 + th->start_ns);
	else
		while (sem_wait(&w->started) != 0 && errno == EINTR)
			;
	if (sh->opts->apply_os_prio && apply_os_prio(th->os_prio) != 0) {
		pthread_mutex_lock(&sh->lock);
		sh->prio_failures++;
		pthread_mutex_unlock(&sh->lock);
	}
	gil_thread *t = gil_attach(sh->rt, th->name, (enum gil_role)th->role,
				   th->gil_prio);
	if (!t) {
		start_children(w, UINT64_MAX);
		return NULL;
	}
	*w->tid_out = (uint32_t)gil_thread_tid(t);
	note_acquired(w);
	gil_thread_on_return(t, on_return, w);
	uint64_t runq0 = run_queue_ns(&w->have_schedstat), born = gs_now_ns();
	uint64_t progress = 0; /* summed length of the phases done */
	/* How far this thread's own timers and work have run past the phases'
	 * ends so far: taken off the next blocking phase, so the machine's
	 * lateness does not pile up along the thread's timeline. GIL waits are
	 * the replay's result and are never compensated. */
	uint64_t late = 0;
	/* The runtime's cost inside a hold, beyond the replayed work, after
	 * an uncontended [0] and a contended [1] acquire (docs/replay.md). */
	struct overhead_estimate hold_ovh[2] = { { 0 }, { 0 } };
	/* How late this thread's timers wake, median of its last sleeps: a
	 * short blocking phase (a send of 5-15 us) decides who wins the race
	 * for the GIL after it, and with the lateness measured once at start
	 * (a 50 us sleep, before the replay loaded the CPUs) the echo
	 * server's came out 2-4 us long (p50), the CPU thread took the GIL
	 * back first more often and its 5.1 ms holds doubled: hold p90 0.83x
	 * (docs/replay.md, "Timers"). */
	struct overhead_estimate wake_est = { 0 };
	uint64_t spun_in_hold = 0;
	uint64_t acq_seen = UINT64_MAX - 1, hold_seen = 0, contended_seen = 0;
	int after_wait = 0;
	start_children(w, 0);
	uint64_t seed = th->tid;
	for (size_t i = 0; i < th->nphases; i++) {
		const struct gs_phase *ph = &th->phases[i];
		if (ph->kind == GS_PHASE_DEAF) {
			/* held, preempted in the original: no gil_check */
			uint64_t until = gs_now_ns() + ph->ns;
			while (gs_now_ns() < until)
				seed = spin(sh->iters_per_unit, seed);
		} else if (ph->kind == GS_PHASE_CPU) {
			/* The trace measured wall time holding the GIL (a
			 * preempted holder still holds), so that is what is
			 * replayed: work units until the held time adds up,
			 * not counting the time gil_check() gave the GIL away. */
			/* The runtime's own path from the acquired event
			 * to this loop and from it to the release event is
			 * held time too: its measured cost is taken off. */
			uint64_t ovh = hold_ovh[after_wait].value;
			uint64_t left = ph->ns > ovh ? ph->ns - ovh : 0;
			*w->overhead_taken_out += ph->ns - left;
			uint64_t from = gs_now_ns(), spun = 0;
			for (;;) {
				seed = spin(sh->iters_per_unit, seed);
				uint64_t now = gs_now_ns(), done = now - from;
				spun += done;
				if (done >= left) {
					w->work_over[w->nwork++] = done - left;
					late += done - left;
					break;
				}
				left -= done;
				start_children(w, progress + ph->ns - left);
				gil_check(t);
				/* Held from the last clock read on, unless the check
				 * gave the GIL away: the time between two work units
				 * (the check, the clock reads) is held time too, and
				 * restarting the count after it left ~76 ns per 200 ns
				 * unit uncounted: a CPU-bound thread held the GIL
				 * 27-35 % longer than its recorded demand. */
				if (w->returned) {
					note_acquired(w);
					from = gs_now_ns();
				} else {
					from = now;
				}
			}
			spun_in_hold = spun;
		} else {
			gil_blocking_begin(t, (enum gil_block_kind)ph->block_kind);
			/* the phase's time starts here: the bookkeeping
			 * below is the replay's, and counts against it */
			uint64_t start = gs_now_ns();
			/* One hold since the last release, whole CPU phase
			 * spun in it: what the runtime held beyond the
			 * spinning is its overhead (per kind of acquire: a
			 * contended one costs more). */
			struct gil_thread_stats st;
			gil_thread_stats(t, &st);
			if (spun_in_hold && st.acquisitions == acq_seen + 1 &&
			    st.hold_ns > hold_seen && st.hold_ns - hold_seen > spun_in_hold)
				overhead_add(&hold_ovh[after_wait],
					     st.hold_ns - hold_seen - spun_in_hold);
			spun_in_hold = 0;
			/* Threads started during a blocking phase start with it. */
			start_children(w, progress + ph->ns);
			/* A blocking phase really blocks: a thread in recv() leaves its
			 * CPU, and the thread woken to take the GIL can run there at once.
			 * Spinning out short phases instead keeps the CPU busy and hands
			 * every race to the spinner. The price is the wake-up latency of a
			 * timer (timer slack is 1 ns here): the recorded duration already
			 * contains the original wake-up, so the thread's own median
			 * lateness (wake_est; the one measured at start until it has
			 * slept) is taken off each phase, and what a wake-up or a work
			 * phase overran beyond that is taken off the thread's next
			 * blocking phase.
			 */
			/* at most half of a phase is taken, so that a phase is
			 * never erased: it still blocks, and in its order; and
			 * only from long phases (a peer's think time), not from
			 * short ones (a send that barely blocked), which decide
			 * microsecond races: paid from those, the echo server
			 * came back from its sends early, won the CPU thread's
			 * way back more often than CPython's did, and lost
			 * 6 % less per I/O call (16 replays, mean 0.94x; 0.99x
			 * paid from phases of 1 ms or more). */
			uint64_t owed = ph->ns < REPAY_MIN_PHASE_NS ? 0
					: late < ph->ns / 2 ? late : ph->ns / 2;
			uint64_t want = ph->ns - owed;
			uint64_t wake = wake_est.n ? wake_est.value : sh->wake_latency_ns;
			if (want > wake) {
				uint64_t target = start + want - wake;
				sleep_until(target);
				uint64_t woke = gs_now_ns();
				uint64_t woke_late = woke > target ? woke - target : 0;
				w->timer_late[w->ntimer++] = woke_late;
				overhead_add(&wake_est, woke_late);
			} else {
				sched_yield();
			}
			uint64_t took = gs_now_ns() - start;
			/* owed was paid back; what this phase overran is owed now */
			late = late - owed + (took > want ? took - want : 0);
			w->carried_ns += owed;
			acq_seen = st.acquisitions;
			hold_seen = st.hold_ns;
			gil_blocking_end(t, 0);
			note_acquired(w);
			gil_thread_stats(t, &st);
			after_wait = st.contended > contended_seen;
			contended_seen = st.contended;
		}
		progress += ph->ns;
		start_children(w, progress);
	}
	start_children(w, UINT64_MAX);
	int ok;
	uint64_t runq1 = run_queue_ns(&ok);
	w->runq_ns = ok && w->have_schedstat && runq1 >= runq0 ? runq1 - runq0 : 0;
	w->life_ns = gs_now_ns() - born;
	gil_detach(t);
	return (void *)(uintptr_t)(seed & 1); /* keeps the work observable */
}

static int by_anchor(const void *x, const void *y)
{
	const struct replay_worker *a = *(struct replay_worker *const *)x;
	const struct replay_worker *b = *(struct replay_worker *const *)y;
	uint64_t p = a->th->creator_progress_ns, q = b->th->creator_progress_ns;
	return p < q ? -1 : p > q;
}

/* Gives every creator the list of threads it starts. */
static int link_children(const struct gs_phase_program *prog,
			 struct replay_worker *workers, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t c = prog->threads[i].creator;
		if (c != GS_NO_THREAD && (c >= n || c == i))
			return -1; /* cannot happen: the creator was seen first */
		if (c != GS_NO_THREAD)
			workers[c].nchildren++;
	}
	for (size_t i = 0; i < n; i++) {
		sem_init(&workers[i].started, 0, 0);
		if (workers[i].nchildren &&
		    !(workers[i].children = calloc(workers[i].nchildren,
						   sizeof(*workers[i].children))))
			return -1;
		workers[i].nchildren = 0;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t c = prog->threads[i].creator;
		if (c != GS_NO_THREAD)
			workers[c].children[workers[c].nchildren++] = &workers[i];
	}
	for (size_t i = 0; i < n; i++)
		if (workers[i].nchildren > 1) /* children is NULL without any */
			qsort(workers[i].children, workers[i].nchildren,
			      sizeof(*workers[i].children), by_anchor);
	return 0;
}

static void unlink_children(struct replay_worker *workers, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(workers[i].children);
		sem_destroy(&workers[i].started);
	}
}

/* p-th quantile (0..1) of the N samples of every worker's array at OFF. */
static uint64_t quantile(struct replay_worker *w, size_t n, int timers, double p,
			 uint64_t *count)
{
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += timers ? w[i].ntimer : w[i].nwork;
	*count = total;
	if (!total)
		return 0;
	uint64_t *all = malloc(total * sizeof(*all));
	if (!all)
		return 0;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		size_t m = timers ? w[i].ntimer : w[i].nwork;
		memcpy(all + k, timers ? w[i].timer_late : w[i].work_over,
		       m * sizeof(*all));
		k += m;
	}
	qsort(all, total, sizeof(*all), cmp_u64);
	uint64_t v = all[(size_t)(p * (double)(total - 1) + 0.5)];
	free(all);
	return v;
}

static void machine_summary(struct replay_worker *w, size_t n, uint64_t steal,
			    int have_steal, double wall_s,
			    struct replay_machine *m)
{
	memset(m, 0, sizeof(*m));
	m->have_schedstat = 1;
	for (size_t i = 0; i < n; i++) {
		m->runq_ns += w[i].runq_ns;
		m->thread_ns += w[i].life_ns;
		m->carried_ns += w[i].carried_ns;
		if (w[i].life_ns && !w[i].have_schedstat)
			m->have_schedstat = 0;
	}
	m->have_steal = have_steal;
	m->steal_ns = steal;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	m->cpu_ns = (uint64_t)(wall_s * 1e9 * (double)(ncpu > 0 ? ncpu : 1));
	m->timer_p50_ns = quantile(w, n, 1, 0.50, &m->timer_n);
	m->timer_p99_ns = quantile(w, n, 1, 0.99, &m->timer_n);
	m->work_p50_ns = quantile(w, n, 0, 0.50, &m->work_n);
	m->work_p99_ns = quantile(w, n, 0, 0.99, &m->work_n);
}

int replay_run(const struct gs_phase_program *prog, const struct replay_opts *o,
	       struct replay_result *res, char *err, size_t errlen)
{
	memset(res, 0, sizeof(*res));
	if (!prog->nthreads) {
		snprintf(err, errlen, "the trace has no thread to replay");
		return -1;
	}
	res->tids = calloc(prog->nthreads, sizeof(*res->tids));
	res->overhead_taken_ns = calloc(prog->nthreads, sizeof(*res->overhead_taken_ns));
	if (!res->tids || !res->overhead_taken_ns) {
		replay_result_free(res);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	struct replay_shared sh = { .prog = prog, .opts = o };
	sh.ns_per_iter = o->ns_per_iter > 0 ? o->ns_per_iter : replay_calibrate();
	unsigned unit = o->unit_ns ? o->unit_ns : 200;
	sh.iters_per_unit = (uint64_t)((double)unit / sh.ns_per_iter);
	if (!sh.iters_per_unit)
		sh.iters_per_unit = 1;
	res->ns_per_iter = sh.ns_per_iter;
	sh.wake_latency_ns = o->wake_latency_ns ? o->wake_latency_ns
						: replay_calibrate_wakeup();
	res->wake_latency_ns = sh.wake_latency_ns;

	sh.rt = gil_create(&o->params);
	if (!sh.rt) {
		snprintf(err, errlen, "cannot create a %s runtime: %s",
			 gil_policy_name(o->params.policy), strerror(errno));
		return -1;
	}
	char command[64];
	snprintf(command, sizeof(command), "replay %s", o->source_path ? o->source_path : "");
	struct gs_recorder_opts ro = {
		.path = o->trace_out,
		.policy = o->params.policy,
		.interval_us = o->params.interval_us,
		.check_ticks = o->params.check_ticks,
		.policy_name = gil_policy_name(o->params.policy),
		.command = command,
		.header_flags = o->params.legacy_use_sem ? GS_HDR_F_SEM_LOCK : 0,
	};
	if (gs_recorder_start(&ro, err, errlen) != 0) {
		gil_destroy(sh.rt);
		return -1;
	}

	size_t n = prog->nthreads;
	pthread_t *tids = calloc(n, sizeof(*tids));
	struct replay_worker *workers = calloc(n, sizeof(*workers));
	int nomem = 0;
	for (size_t i = 0; workers && i < n; i++) {
		const struct gs_phase_thread *th = &prog->threads[i];
		workers[i] = (struct replay_worker){ .sh = &sh, .th = th,
						     .tid_out = &res->tids[i],
						     .overhead_taken_out =
							     &res->overhead_taken_ns[i] };
		workers[i].timer_late = calloc(th->nphases + 1, sizeof(uint64_t));
		workers[i].work_over = calloc(th->nphases + 1, sizeof(uint64_t));
		nomem |= !workers[i].timer_late || !workers[i].work_over;
	}
	if (!tids || !workers || nomem || link_children(prog, workers, n) != 0) {
		for (size_t i = 0; workers && i < n; i++) {
			free(workers[i].timer_late);
			free(workers[i].work_over);
		}
		free(tids);
		free(workers);
		gs_recorder_stop(0, NULL);
		gil_destroy(sh.rt);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&sh.lock, NULL);
	pthread_cond_init(&sh.go_cond, NULL);
	size_t started = 0;
	for (size_t i = 0; i < n; i++) {
		if (pthread_create(&tids[i], NULL, worker_main, &workers[i]) != 0)
			break;
		started++;
	}
	if (started < n)
		snprintf(err, errlen, "cannot start thread %zu of %zu: %s",
			 started + 1, n, strerror(errno));
	pthread_mutex_lock(&sh.lock);
	sh.t0 = gs_now_ns() + 2000000; /* every thread is awake by then */
	sh.go = started == n ? 1 : -1;
	pthread_cond_broadcast(&sh.go_cond);
	pthread_mutex_unlock(&sh.lock);
	uint64_t t0 = sh.t0, steal0 = 0, steal1 = 0;
	int have_steal = steal_ns(&steal0) == 0;
	for (size_t i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	res->wall_s = (double)(gs_now_ns() - t0) / 1e9;
	have_steal = have_steal && steal_ns(&steal1) == 0 && steal1 >= steal0;
	machine_summary(workers, n, have_steal ? steal1 - steal0 : 0, have_steal,
			res->wall_s, &res->machine);

	struct gs_recorder_result rr;
	int rc = gs_recorder_stop(0, &rr);
	res->records = rr.records;
	res->lost = rr.lost;
	res->prio_failures = sh.prio_failures;
	pthread_cond_destroy(&sh.go_cond);
	pthread_mutex_destroy(&sh.lock);
	free(tids);
	unlink_children(workers, n);
	for (size_t i = 0; i < n; i++) {
		free(workers[i].timer_late);
		free(workers[i].work_over);
	}
	free(workers);
	gil_destroy(sh.rt);
	if (started < n)
		return -1;
	if (rc != 0) {
		snprintf(err, errlen, "%s", rr.error);
		return -1;
	}
	return 0;
}

void replay_result_free(struct replay_result *res)
{
	free(res->tids);
	res->tids = NULL;
	free(res->overhead_taken_ns);
	res->overhead_taken_ns = NULL;
}
