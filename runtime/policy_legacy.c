/* SPDX-License-Identifier: MIT */
/*
 * CPython 2.7's GIL: a binary semaphore (Python/thread_pthread.h) released and
 * immediately re-taken every check_ticks eval-breaker checks (Python/ceval.c).
 * Nothing stops the releaser from winning the lock straight back, which on a
 * multicore machine it usually does: the "GIL battle".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <semaphore.h>
#include <stdlib.h>

#include "gil_internal.h"

struct legacy_lock {
	int use_sem;
	sem_t sem;              /* USE_SEMAPHORES: the Linux build */
	pthread_mutex_t mutex;  /* otherwise mutex + cond + locked flag */
	pthread_cond_t cond;
	int locked;
};

static int legacy_init(gil_runtime *rt)
{
	struct legacy_lock *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->use_sem = rt->params.legacy_use_sem;
	if (l->use_sem && sem_init(&l->sem, 0, 1) != 0) {
		int err = errno;
		free(l);
		return -err;
	}
	pthread_mutex_init(&l->mutex, NULL);
	pthread_cond_init(&l->cond, NULL);
	rt->policy_data = l;
	return 0;
}

static void legacy_fini(gil_runtime *rt)
{
	struct legacy_lock *l = rt->policy_data;
	if (l->use_sem)
		sem_destroy(&l->sem);
	pthread_mutex_destroy(&l->mutex);
	pthread_cond_destroy(&l->cond);
	free(l);
}

/* PyThread_acquire_lock(lock, 1) */
static int legacy_take(gil_runtime *rt, gil_thread *t)
{
	struct legacy_lock *l = rt->policy_data;
	if (l->use_sem) {
		if (sem_trywait(&l->sem) == 0)
			return 0;
		gil_note_wait(t);
		while (sem_wait(&l->sem) != 0 && errno == EINTR)
			;
		return 1;
	}
	int waited = 0;
	pthread_mutex_lock(&l->mutex);
	while (l->locked) {
		waited = 1;
		gil_note_wait(t);
		pthread_cond_wait(&l->cond, &l->mutex);
	}
	l->locked = 1;
	pthread_mutex_unlock(&l->mutex);
	return waited;
}

/* PyThread_release_lock(lock): unlock first, then signal. */
static void legacy_drop(gil_runtime *rt, gil_thread *t,
			enum gs_release_reason why)
{
	struct legacy_lock *l = rt->policy_data;
	(void)t;
	(void)why;
	if (l->use_sem) {
		sem_post(&l->sem);
		return;
	}
	pthread_mutex_lock(&l->mutex);
	l->locked = 0;
	pthread_mutex_unlock(&l->mutex);
	pthread_cond_signal(&l->cond);
}

/* if (--_Py_Ticker < 0) { _Py_Ticker = _Py_CheckInterval; release; acquire; }
 * with nothing in between: whoever wins starts a full countdown. */
static void legacy_check(gil_runtime *rt, gil_thread *t)
{
	if (t->hot.ticks_left >= 0)
		return;
	t->hot.ticks_left = (int)rt->params.check_ticks;
	gil_release(t, GS_RELEASE_INTERVAL);
	gil_acquire(t, GS_WHY_AFTER_INTERVAL);
}

const struct gil_policy_ops gil_policy_legacy_ops = {
	.name = "legacy",
	.init = legacy_init,
	.fini = legacy_fini,
	.take = legacy_take,
	.drop = legacy_drop,
	.check = legacy_check,
};
