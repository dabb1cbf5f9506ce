/* SPDX-License-Identifier: MIT */
/*
 * FIFO GIL: the releaser hands the lock directly to the longest waiter, so no
 * thread can barge in front of a queued waiter (one still on its way to the
 * queue can be passed: docs/policies.md). A waiter still uses the
 * switch interval to ask a CPU-bound holder to drop, as CPython does.
 *
 * Fast path (docs/performance.md, item 1): one lock word, taken and given by
 * a compare-and-swap while nobody queues. Its states:
 *   0  free (then the queue is empty)
 *   1  held, nobody queued: the holder may give it back with a CAS 1 -> 0
 *   2  held, the holder must drop through the mutex (someone queued, or is
 *      about to: a waiter sets 2 under the mutex before it queues)
 * Invariant (all changes to 2 -> other states happen under the mutex): a
 * non-empty queue implies 2. So the CAS 0 -> 1 can never pass a queued
 * waiter, and a CAS 1 -> 0 never leaves one behind.
 *
 * Handoff (item 2): the releaser dequeues the head, writes GIL_GRANT_GIVEN
 * into its grant word (the lock word stays held), unlocks the mutex and only
 * then wakes it with a futex: the woken thread never runs into a held mutex,
 * and needs no mutex at all to see its grant.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>

#include "gil_internal.h"

enum { FIFO_FREE = 0, FIFO_HELD = 1, FIFO_HELD_SLOW = 2 };

struct fifo_gil {
	_Atomic uint32_t word;
	pthread_mutex_t mutex;
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

static int fifo_take_slow(gil_runtime *rt, gil_thread *t)
{
	struct fifo_gil *g = rt->policy_data;
	pthread_mutex_lock(&g->mutex);
	/* From here on the holder cannot give the GIL back without the mutex. */
	if (atomic_exchange_explicit(&g->word, FIFO_HELD_SLOW,
				     memory_order_acquire) == FIFO_FREE) {
		/* Freed meanwhile: ours, and nobody is queued (invariant). */
		atomic_store_explicit(&g->word, FIFO_HELD, memory_order_relaxed);
		g->grants++;
		pthread_mutex_unlock(&g->mutex);
		return 0;
	}
	uint64_t deadline = gil_note_wait(t) +
			    (uint64_t)rt->params.interval_us * 1000u;
	t->waiting = 1;
	t->next_waiter = NULL;
	atomic_store_explicit(&t->grant, GIL_GRANT_SLEEP, memory_order_relaxed);
	if (g->tail)
		g->tail->next_waiter = t;
	else
		g->head = t;
	g->tail = t;
	unsigned long saved = g->grants;
	pthread_mutex_unlock(&g->mutex);

	for (;;) {
		int rc = gil_futex_wait_until(&t->grant, GIL_GRANT_SLEEP, deadline);
		if (gil_grant_claim(t))
			return 1;
		if (rc != ETIMEDOUT)
			continue; /* spurious or early wake-up: wait on */
		/* A whole interval without any grant: the holder is CPU-bound. */
		pthread_mutex_lock(&g->mutex);
		if (t->waiting && g->grants == saved &&
		    !atomic_load(&rt->eval_breaker)) {
			atomic_store(&rt->eval_breaker, 1);
			gil_note_drop_request(rt, t,
					      atomic_load_explicit(&rt->holder_tid,
								   memory_order_relaxed));
		}
		saved = g->grants;
		pthread_mutex_unlock(&g->mutex);
		deadline += (uint64_t)rt->params.interval_us * 1000u;
	}
}

static int fifo_take(gil_runtime *rt, gil_thread *t)
{
	struct fifo_gil *g = rt->policy_data;
	uint32_t expect = FIFO_FREE;
	if (__builtin_expect(atomic_compare_exchange_strong_explicit(
				     &g->word, &expect, FIFO_HELD,
				     memory_order_acquire, memory_order_relaxed),
			     1))
		return 0;
	return fifo_take_slow(rt, t);
}

static void fifo_drop(gil_runtime *rt, gil_thread *t, enum gs_release_reason why)
{
	struct fifo_gil *g = rt->policy_data;
	(void)t;
	(void)why;
	uint32_t expect = FIFO_HELD;
	if (__builtin_expect(atomic_compare_exchange_strong_explicit(
				     &g->word, &expect, FIFO_FREE,
				     memory_order_release, memory_order_relaxed),
			     1)) {
		/* Nobody queued: a drop request left over from a waiter that
		 * has been served must not send the next holder to its slow
		 * path for nothing. */
		if (atomic_load_explicit(&rt->eval_breaker, memory_order_relaxed))
			atomic_store(&rt->eval_breaker, 0);
		return;
	}
	pthread_mutex_lock(&g->mutex);
	atomic_store(&rt->eval_breaker, 0);
	gil_thread *next = g->head;
	if (!next) {
		atomic_store_explicit(&g->word, FIFO_FREE, memory_order_release);
		pthread_mutex_unlock(&g->mutex);
		return;
	}
	g->head = next->next_waiter;
	if (!g->head)
		g->tail = NULL;
	next->next_waiter = NULL;
	next->waiting = 0;
	g->grants++;
	/* Ownership passes while the word stays held; with the queue now
	 * empty the new holder may use the fast drop. */
	atomic_store_explicit(&g->word, g->head ? FIFO_HELD_SLOW : FIFO_HELD,
			      memory_order_relaxed);
	uint32_t replaced = gil_grant_give(next);
	gil_grant_unlock_wake(rt, &g->mutex, next, replaced);
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
	.take = fifo_take,
	.drop = fifo_drop,
	.check = fifo_check,
};
