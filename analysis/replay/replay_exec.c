/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "replay_exec.h"

#include <errno.h>
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
};

struct replay_worker {
	struct replay_shared *sh;
	const struct gs_phase_thread *th;
	uint32_t *tid_out;
	sem_t started;               /* posted by the creator (children only) */
	struct replay_worker **children; /* sorted by creator_progress_ns */
	size_t nchildren, next_child;
};

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

/*
 * A blocking phase really blocks: a thread in recv() leaves its CPU, and the
 * thread woken to take the GIL can run there at once. Spinning out short
 * phases instead keeps the CPU busy and hands every race to the spinner.
 * The price is the wake-up latency of a timer (timer slack is 1 ns here):
 * the recorded duration already contains the original wake-up, so the
 * median latency measured at start is taken off each phase.
 */
static void block_for(uint64_t ns, uint64_t wake_latency_ns)
{
	uint64_t start = gs_now_ns();
	if (ns > wake_latency_ns)
		sleep_until(start + ns - wake_latency_ns);
	else
		sched_yield();
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
	uint64_t progress = 0; /* summed length of the phases done */
	start_children(w, 0);
	uint64_t seed = th->tid;
	for (size_t i = 0; i < th->nphases; i++) {
		const struct gs_phase *ph = &th->phases[i];
		if (ph->kind == GS_PHASE_CPU) {
			/* The trace measured wall time holding the GIL (a
			 * preempted holder still holds), so that is what is
			 * replayed: work units until the held time adds up,
			 * not counting the time gil_check() gave the GIL away. */
			uint64_t left = ph->ns, from = gs_now_ns();
			for (;;) {
				seed = spin(sh->iters_per_unit, seed);
				uint64_t now = gs_now_ns(), done = now - from;
				if (done >= left)
					break;
				left -= done;
				start_children(w, progress + ph->ns - left);
				gil_check(t);
				from = gs_now_ns();
			}
		} else {
			gil_blocking_begin(t, (enum gil_block_kind)ph->block_kind);
			/* Threads started during a blocking phase start with it. */
			start_children(w, progress + ph->ns);
			block_for(ph->ns, sh->wake_latency_ns);
			gil_blocking_end(t, 0);
		}
		progress += ph->ns;
		start_children(w, progress);
	}
	start_children(w, UINT64_MAX);
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

int replay_run(const struct gs_phase_program *prog, const struct replay_opts *o,
	       struct replay_result *res, char *err, size_t errlen)
{
	memset(res, 0, sizeof(*res));
	if (!prog->nthreads) {
		snprintf(err, errlen, "the trace has no thread to replay");
		return -1;
	}
	res->tids = calloc(prog->nthreads, sizeof(*res->tids));
	if (!res->tids) {
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
	for (size_t i = 0; workers && i < n; i++)
		workers[i] = (struct replay_worker){ .sh = &sh, .th = &prog->threads[i],
						     .tid_out = &res->tids[i] };
	if (!tids || !workers || link_children(prog, workers, n) != 0) {
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
	uint64_t t0 = sh.t0;
	for (size_t i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	res->wall_s = (double)(gs_now_ns() - t0) / 1e9;

	struct gs_recorder_result rr;
	int rc = gs_recorder_stop(0, &rr);
	res->records = rr.records;
	res->lost = rr.lost;
	res->prio_failures = sh.prio_failures;
	pthread_cond_destroy(&sh.go_cond);
	pthread_mutex_destroy(&sh.lock);
	free(tids);
	unlink_children(workers, n);
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
}
