/* SPDX-License-Identifier: MIT */
/*
 * CPython 3.2-3.13's GIL, after Python/ceval_gil.h (ceval_gil.c from 3.12):
 * waiters do a timed wait of `interval`; if no switch happened meanwhile they
 * set the drop request; the holder drops at its next eval-breaker check and,
 * with FORCE_SWITCHING, waits on switch_cond until another thread has taken
 * the GIL. rt->eval_breaker plays gil_drop_request.
 */
#define _GNU_SOURCE
#include "../probes/gil_probes.h"

#include <errno.h>
#include <stdlib.h>

#include "gil_internal.h"

struct cpython_gil {
	pthread_mutex_t mutex;
	pthread_cond_t cond;
	pthread_mutex_t switch_mutex;
	pthread_cond_t switch_cond;
	_Atomic int locked;
	_Atomic(gil_thread *) last_holder;
	unsigned long switch_number; /* protected by mutex */
};

static int cpython_init(gil_runtime *rt)
{
	struct cpython_gil *g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	pthread_mutex_init(&g->mutex, NULL);
	gil_cond_init_monotonic(&g->cond);
	pthread_mutex_init(&g->switch_mutex, NULL);
	pthread_cond_init(&g->switch_cond, NULL);
	rt->policy_data = g;
	return 0;
}

static void cpython_fini(gil_runtime *rt)
{
	struct cpython_gil *g = rt->policy_data;
	pthread_mutex_destroy(&g->mutex);
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->switch_mutex);
	pthread_cond_destroy(&g->switch_cond);
	free(g);
}

static int cpython_take(gil_runtime *rt, gil_thread *t)
{
	struct cpython_gil *g = rt->policy_data;
	int waited = 0;

	pthread_mutex_lock(&g->mutex);
	while (atomic_load_explicit(&g->locked, memory_order_relaxed)) {
		waited = 1;
		gil_note_wait(t);
		unsigned long saved_switchnum = g->switch_number;
		unsigned interval = rt->params.interval_us >= 1 ? rt->params.interval_us : 1;
		/* COND_TIMED_WAIT */
		int timed_out = gil_cond_timedwait_us(&g->cond, &g->mutex,
						      interval) == ETIMEDOUT;
		/* Timed out and no switch meanwhile: ask the holder to drop. */
		if (timed_out &&
		    atomic_load_explicit(&g->locked, memory_order_relaxed) &&
		    g->switch_number == saved_switchnum) {
			atomic_store(&rt->eval_breaker, 1);
			gil_note_drop_request(rt, t,
					      atomic_load_explicit(&rt->holder_tid,
								   memory_order_relaxed));
		}
	}
	/* switch_mutex must be held while last_holder changes: see drop. */
	pthread_mutex_lock(&g->switch_mutex);
	atomic_store_explicit(&g->locked, 1, memory_order_relaxed);
	if (atomic_load_explicit(&g->last_holder, memory_order_relaxed) != t) {
		atomic_store_explicit(&g->last_holder, t, memory_order_relaxed);
		++g->switch_number;
	}
	pthread_cond_signal(&g->switch_cond);
	pthread_mutex_unlock(&g->switch_mutex);
	if (atomic_load(&rt->eval_breaker))
		atomic_store(&rt->eval_breaker, 0); /* RESET_GIL_DROP_REQUEST */
	pthread_mutex_unlock(&g->mutex);
	return waited;
}

static void cpython_drop(gil_runtime *rt, gil_thread *t,
			 enum gs_release_reason why)
{
	struct cpython_gil *g = rt->policy_data;
	/* A thread that exits releases with tstate == NULL in CPython
	 * (_PyThreadState_DeleteCurrent): last_holder is left alone and the
	 * FORCE_SWITCHING wait skipped. Other reasons look alike to drop_gil. */
	int exiting = why == GS_RELEASE_EXIT;

	if (!exiting)
		atomic_store_explicit(&g->last_holder, t, memory_order_relaxed);
	pthread_mutex_lock(&g->mutex);
	atomic_store_explicit(&g->locked, 0, memory_order_relaxed);
	pthread_cond_signal(&g->cond);
	pthread_mutex_unlock(&g->mutex);

	/* FORCE_SWITCHING: a drop was requested, so do not come back before
	 * another thread has had the GIL. Applies to any release, as in
	 * CPython, since drop_gil only looks at the request. */
	if (!exiting && atomic_load(&rt->eval_breaker)) {
		pthread_mutex_lock(&g->switch_mutex);
		if (atomic_load_explicit(&g->last_holder, memory_order_relaxed) == t) {
			atomic_store(&rt->eval_breaker, 0);
			GS_PROBE(switch_wait_begin, 0, 0, 0, NULL);
			/* One wait, no loop: CPython accepts a spurious wake-up. */
			pthread_cond_wait(&g->switch_cond, &g->switch_mutex);
			gil_thread *now = atomic_load_explicit(&g->last_holder,
							       memory_order_relaxed);
			GS_PROBE(switch_wait_end, 0, now ? now->tid : 0, 0, NULL);
		}
		pthread_mutex_unlock(&g->switch_mutex);
	}
}

/* eval_frame_handle_pending(): drop on request, then take it back. */
static void cpython_check(gil_runtime *rt, gil_thread *t)
{
	if (!atomic_load_explicit(&rt->eval_breaker, memory_order_relaxed))
		return;
	gil_release(t, GS_RELEASE_FORCED);
	gil_acquire(t, GS_WHY_AFTER_FORCED);
}

static void cpython_thread_fini(gil_thread *t)
{
	struct cpython_gil *g = t->rt->policy_data;
	/* last_holder must not point at freed memory */
	pthread_mutex_lock(&g->switch_mutex);
	gil_thread *expected = t;
	atomic_compare_exchange_strong(&g->last_holder, &expected, NULL);
	pthread_mutex_unlock(&g->switch_mutex);
}

const struct gil_policy_ops gil_policy_cpython_ops = {
	.name = "cpython",
	.init = cpython_init,
	.fini = cpython_fini,
	.thread_fini = cpython_thread_fini,
	.take = cpython_take,
	.drop = cpython_drop,
	.check = cpython_check,
};
