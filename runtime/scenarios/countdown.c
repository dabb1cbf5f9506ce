/* SPDX-License-Identifier: MIT */
/*
 * countdown: Beazley's experiment. A fixed amount of CPU work split over N
 * threads that share the GIL, against the same work done by one thread.
 * With a GIL N threads cannot be faster than one; how much slower they are,
 * and how many handoffs fail, is what the policy decides.
 *
 * Phase 1 (untraced): one thread does all the work -> single_thread_wall_s.
 * Phase 2 (traced, "threads"): N threads, work split evenly -> wall_s.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "scenario_internal.h"

/* Start line: workers wait unattached until every one exists, so the
 * clock starts when all of them compete. open: 1 go, -1 abandon. */
struct cd_gate {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int open;
};

struct cd_worker {
	struct gs_phase *ph;
	struct cd_gate *start;
	unsigned idx;
	uint64_t units;
};

static void *cd_main(void *arg)
{
	struct cd_worker *w = arg;
	pthread_mutex_lock(&w->start->lock);
	while (!w->start->open)
		pthread_cond_wait(&w->start->cond, &w->start->lock);
	int open = w->start->open;
	pthread_mutex_unlock(&w->start->lock);
	if (open < 0)
		return NULL;
	char name[32];
	snprintf(name, sizeof(name), "count-%u", w->idx);
	gil_thread *t = gil_attach(w->ph->rt, name, GIL_ROLE_CPU, 0);
	if (!t)
		return NULL;
	uint64_t t0 = gs_now_ns(), done = 0, s = w->idx + 1;
	while (done < w->units && !gs_phase_stopping(w->ph)) {
		uint64_t n = w->units - done < 1024 ? w->units - done : 1024;
		s = gs_work(t, n, s);
		done += n;
	}
	struct gs_thread_result tr = {
		.role = GIL_ROLE_CPU,
		.work_units = done,
		.active_s = (double)(gs_now_ns() - t0) / 1e9,
	};
	gs_phase_thread_done(w->ph, t, &tr);
	gil_detach(t);
	return NULL;
}

static int run_phase(const struct gs_scenario_opts *o, unsigned nthreads,
		     int traced, struct gs_scenario_result *r, double *wall_s,
		     char *err, size_t errlen)
{
	struct gs_phase ph;
	if (gs_phase_begin(&ph, o, traced, err, errlen))
		return -1;
	struct cd_gate start = { PTHREAD_MUTEX_INITIALIZER,
				 PTHREAD_COND_INITIALIZER, 0 };
	struct cd_worker *w = calloc(nthreads, sizeof(*w));
	pthread_t *th = calloc(nthreads, sizeof(*th));
	int rc = 0;
	unsigned started = 0;
	if (!w || !th) {
		gs_errf(err, errlen, "out of memory");
		errno = ENOMEM;
		rc = -1;
	}
	for (unsigned i = 0; !rc && i < nthreads; i++) {
		w[i].ph = &ph;
		w[i].start = &start;
		w[i].idx = i;
		w[i].units = o->work_units / nthreads +
			     (i == 0 ? o->work_units % nthreads : 0);
		int e = gs_spawn(&th[i], cd_main, &w[i]);
		if (e) {
			rc = gs_spawn_failed(err, errlen, e);
			break;
		}
		started++;
	}
	pthread_mutex_lock(&start.lock);
	start.open = started == nthreads ? 1 : -1;
	pthread_cond_broadcast(&start.cond);
	pthread_mutex_unlock(&start.lock);
	uint64_t t0 = gs_now_ns();
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	*wall_s = (double)(gs_now_ns() - t0) / 1e9;
	free(w);
	free(th);
	if (gs_phase_end(&ph, traced ? r : NULL, rc ? NULL : err,
			 rc ? 0 : errlen))
		rc = -1;
	return rc;
}

int gs_countdown_run(const struct gs_scenario_opts *o,
		     struct gs_scenario_result *r, char *err, size_t errlen)
{
	if (o->threads < 1 || o->work_units < 1) {
		gs_errf(err, errlen, "countdown needs --threads >= 1 and "
				     "--units >= 1");
		errno = EINVAL;
		return -1;
	}
	r->countdown.threads = o->threads;
	r->countdown.work_units = o->work_units;
	if (o->verbose)
		fprintf(stderr, "countdown: 1 thread, %llu units\n",
			(unsigned long long)o->work_units);
	if (run_phase(o, 1, 0, r, &r->countdown.single_thread_wall_s, err,
		      errlen))
		return -1;
	if (o->verbose)
		fprintf(stderr, "countdown: %u threads (traced)\n", o->threads);
	return run_phase(o, o->threads, 1, r, &r->countdown.wall_s, err,
			 errlen);
}
