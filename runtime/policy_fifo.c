/* SPDX-License-Identifier: MIT */
/*
 * FIFO GIL: the releaser hands the lock directly to the longest waiter, so no
 * thread can barge in front of a queued waiter (one still on its way to the
 * queue can be passed: docs/policies.md). A waiter still uses the
 * switch interval to ask a CPU-bound holder to drop, as CPython does.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>

#include "gil_internal.h"

struct fifo_gil {
	pthread_mutex_t mutex;
	int locked;
	gil_thread *head, *tail;     /* waiters in arrival order */
	unsigned long grants;        /* bumped at every grant */
};

static int fifo_init(gil_runtime *rt)
{
	struct fifo_gil *g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	pthread_mutex_init(&g->mutex, NULL);
	rt->policy_data = g;
	return 0;
}

static void fifo_fini(gil_runtime *rt)
{
	struct fifo_gil *g = rt->policy_data;
	pthread_mutex_destroy(&g->mutex);
	free(g);
}

static int fifo_thread_init(gil_thread *t)
{
	pthread_cond_destroy(&t->cond);
	gil_cond_init_monotonic(&t->cond);
	return 0;
}

static int fifo_take(gil_runtime *rt, gil_thread *t)
{
	struct fifo_gil *g = rt->policy_data;
	pthread_mutex_lock(&g->mutex);
	if (!g->locked && !g->head) {
		g->locked = 1;
		g->grants++;
		pthread_mutex_unlock(&g->mutex);
		return 0;
	}
	t->waiting = 1;
	t->next_waiter = NULL;
	if (g->tail)
		g->tail->next_waiter = t;
	else
		g->head = t;
	g->tail = t;
	while (t->waiting) {
		unsigned long saved = g->grants;
		int rc = gil_cond_timedwait_us(&t->cond, &g->mutex,
					       rt->params.interval_us);
		/* A whole interval without any grant: the holder is CPU-bound. */
		if (rc == ETIMEDOUT && t->waiting && g->grants == saved &&
		    !atomic_load(&rt->eval_breaker)) {
			atomic_store(&rt->eval_breaker, 1);
			gil_note_drop_request(rt, t,
					      atomic_load_explicit(&rt->holder_tid,
								   memory_order_relaxed));
		}
	}
	pthread_mutex_unlock(&g->mutex);
	return 1;
}

static void fifo_drop(gil_runtime *rt, gil_thread *t, enum gs_release_reason why)
{
	struct fifo_gil *g = rt->policy_data;
	(void)t;
	(void)why;
	pthread_mutex_lock(&g->mutex);
	atomic_store(&rt->eval_breaker, 0);
	gil_thread *next = g->head;
	if (next) {
		g->head = next->next_waiter;
		if (!g->head)
			g->tail = NULL;
		next->next_waiter = NULL;
		next->waiting = 0; /* ownership passes while locked stays 1 */
		g->grants++;
		pthread_cond_signal(&next->cond);
	} else {
		g->locked = 0;
	}
	pthread_mutex_unlock(&g->mutex);
}

static void fifo_check(gil_runtime *rt, gil_thread *t)
{
	if (!atomic_load_explicit(&rt->eval_breaker, memory_order_relaxed))
		return;
	gil_release(t, GS_RELEASE_FORCED);
	gil_acquire(t, GS_WHY_AFTER_FORCED);
}

const struct gil_policy_ops gil_policy_fifo_ops = {
	.name = "fifo",
	.init = fifo_init,
	.fini = fifo_fini,
	.thread_init = fifo_thread_init,
	.take = fifo_take,
	.drop = fifo_drop,
	.check = fifo_check,
};
