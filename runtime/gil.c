/* SPDX-License-Identifier: MIT */
/* libgil common code: everything that does not depend on the policy. */
#define _GNU_SOURCE
#include "../probes/gil_probes.h" /* first sys/sdt.h include of this unit */

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "code_locations.h"
#include "gil_internal.h"

void gil_cond_init_monotonic(pthread_cond_t *c)
{
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(c, &attr);
	pthread_condattr_destroy(&attr);
}

int gil_cond_timedwait_us(pthread_cond_t *c, pthread_mutex_t *m, unsigned us)
{
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += us / 1000000;
	deadline.tv_nsec += (long)(us % 1000000) * 1000;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	return pthread_cond_timedwait(c, m, &deadline);
}

int gil_futex_wait_until(_Atomic uint32_t *word, uint32_t val,
			 uint64_t deadline_ns)
{
	long rc;
	if (deadline_ns) {
		struct timespec at = {
			.tv_sec = (time_t)(deadline_ns / 1000000000u),
			.tv_nsec = (long)(deadline_ns % 1000000000u),
		};
		rc = syscall(SYS_futex, (uint32_t *)word,
			     FUTEX_WAIT_BITSET_PRIVATE, val, &at, NULL,
			     FUTEX_BITSET_MATCH_ANY);
	} else {
		rc = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE,
			     val, NULL, NULL, 0);
	}
	return rc != 0 && errno == ETIMEDOUT ? ETIMEDOUT : 0;
}

void gil_futex_wake_one(_Atomic uint32_t *word)
{
	syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL,
		0);
}

uint32_t gil_grant_give(gil_thread *w)
{
	/* The waiter's word is SPIN or SLEEP here, and only the waiter itself
	 * changes it meanwhile (SPIN -> SLEEP when its spin runs out): one
	 * CAS, retried at most once. A spinning waiter needs no wake-up and w
	 * is not touched after the CAS (w may claim, run, detach and free
	 * itself at once). No load first: the guess is SPIN (a direct
	 * handoff's grantee usually spins); reading the word and then writing
	 * it would move its cache line twice, shared then exclusive, and a
	 * wrong guess costs a failed CAS on a line we then own. */
	uint32_t seen = GIL_GRANT_SPIN;
	if (atomic_compare_exchange_strong_explicit(
		    &w->grant, &seen, GIL_GRANT_OWNED, memory_order_release,
		    memory_order_relaxed))
		return GIL_GRANT_SPIN;
	/* Asleep (or about to be): GIVEN, claimed by w with a CAS that a
	 * take-back may beat. given_from is published before the grant:
	 * prio gives without its mutex (the handback), and a thread taking
	 * the grant back reads given_from after it has seen GIVEN. Counted
	 * in flight before the grant is visible: once w sees it, w may run,
	 * detach and free itself, and must then wait for our wake-up. */
	atomic_fetch_add(&w->rt->wakes_in_flight, 1);
	atomic_store_explicit(&w->given_from, GIL_GRANT_SLEEP,
			      memory_order_relaxed);
	atomic_store_explicit(&w->grant, GIL_GRANT_GIVEN, memory_order_release);
	return GIL_GRANT_SLEEP;
}

void gil_grant_wake(gil_runtime *rt, gil_thread *w, uint32_t replaced)
{
	/* A spinning waiter sees the grant by itself: no system call, and
	 * gil_grant_give() did not count it in flight. */
	if (replaced == GIL_GRANT_SPIN)
		return;
	if (replaced == GIL_GRANT_SLEEP)
		gil_futex_wake_one(&w->grant);
	atomic_fetch_sub_explicit(&rt->wakes_in_flight, 1, memory_order_release);
}

void gil_grant_unlock_wake(gil_runtime *rt, pthread_mutex_t *m, gil_thread *w,
			   uint32_t replaced)
{
	pthread_mutex_unlock(m);
	gil_grant_wake(rt, w, replaced);
}

int gil_current_cpu(void)
{
	return sched_getcpu();
}

uint64_t gil_note_wait_since(gil_thread *t, uint64_t start_ns)
{
	if (!t->wait_noted) {
		t->wait_noted = 1;
		atomic_fetch_add_explicit(&t->rt->waiters, 1,
					  memory_order_relaxed);
		t->wait_start_ns = start_ns;
	}
	return t->wait_start_ns;
}

uint64_t gil_note_wait(gil_thread *t)
{
	return gil_note_wait_since(t, t->wait_noted ? 0 : gs_now_ns());
}

pid_t gil_gettid(void)
{
	static __thread pid_t cached;
	if (!cached)
		cached = (pid_t)syscall(SYS_gettid);
	return cached;
}

int gil_current_os_prio(void)
{
	int policy = sched_getscheduler(0);
	if (policy == SCHED_FIFO || policy == SCHED_RR) {
		struct sched_param sp;
		if (sched_getparam(0, &sp) == 0)
			return 100 + sp.sched_priority;
	}
	errno = 0;
	int nice_value = getpriority(PRIO_PROCESS, (id_t)gil_gettid());
	if (nice_value == -1 && errno)
		nice_value = 0;
	return 20 - nice_value;
}

void gil_params_default(struct gil_params *p, enum gil_policy policy)
{
	memset(p, 0, sizeof(*p));
	p->policy = policy;
	p->interval_us = GIL_DEFAULT_INTERVAL_US;
	p->check_ticks = GIL_DEFAULT_CHECK_TICKS;
	p->legacy_use_sem = 0;
	p->prio_inherit = 1;
}

static const char *const policy_names[] = {
	[GIL_POLICY_LEGACY] = "legacy",
	[GIL_POLICY_CPYTHON] = "cpython",
	[GIL_POLICY_FIFO] = "fifo",
	[GIL_POLICY_PRIO] = "prio",
};

int gil_policy_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(policy_names) / sizeof(policy_names[0]); i++)
		if (policy_names[i] && strcmp(policy_names[i], name) == 0)
			return (int)i;
	return -1;
}

const char *gil_policy_name(enum gil_policy policy)
{
	if ((unsigned)policy < sizeof(policy_names) / sizeof(policy_names[0]) &&
	    policy_names[policy])
		return policy_names[policy];
	return "unknown";
}

static const struct gil_policy_ops *ops_for(enum gil_policy policy)
{
	switch (policy) {
	case GIL_POLICY_LEGACY: return &gil_policy_legacy_ops;
	case GIL_POLICY_CPYTHON: return &gil_policy_cpython_ops;
	case GIL_POLICY_FIFO: return &gil_policy_fifo_ops;
	case GIL_POLICY_PRIO: return &gil_policy_prio_ops;
	}
	return NULL;
}

gil_runtime *gil_create(const struct gil_params *params)
{
	const struct gil_policy_ops *ops = ops_for(params->policy);
	if (!ops) {
		errno = EINVAL;
		return NULL;
	}
	gil_runtime *rt = aligned_alloc(_Alignof(gil_runtime), sizeof(*rt));
	if (!rt)
		return NULL;
	memset(rt, 0, sizeof(*rt));
	rt->params = *params;
	if (!rt->params.interval_us)
		rt->params.interval_us = GIL_DEFAULT_INTERVAL_US;
	if (!rt->params.check_ticks)
		rt->params.check_ticks = GIL_DEFAULT_CHECK_TICKS;
	if (rt->params.check_ticks > INT_MAX / 2) {
		free(rt);
		errno = EINVAL;
		return NULL;
	}
	rt->ops = ops;
	rt->ticker = (int)rt->params.check_ticks;
	pthread_mutex_init(&rt->threads_lock, NULL);
	int err = ops->init(rt);
	if (err) {
		pthread_mutex_destroy(&rt->threads_lock);
		free(rt);
		errno = -err;
		return NULL;
	}
	return rt;
}

void gil_destroy(gil_runtime *rt)
{
	if (!rt)
		return;
	rt->ops->fini(rt);
	pthread_mutex_destroy(&rt->threads_lock);
	free(rt);
}

const struct gil_params *gil_runtime_params(const gil_runtime *rt)
{
	return &rt->params;
}

static void reset_ticks(gil_thread *t)
{
	t->hot.ticks_left = t->rt->params.policy == GIL_POLICY_LEGACY
				    ? (int)t->rt->params.check_ticks
				    : INT_MAX;
}

/*
 * Clock reads: a take() that waits is clocked at both ends (the wait is the
 * figure that matters); one that does not costs one read for the start of
 * the hold, and none at all while the runtime has a single attached thread,
 * since then nobody can wait for that hold. gil_release() reads the clock
 * only for a clocked hold.
 */
void gil_acquire(gil_thread *t, enum gs_acquire_why why)
{
	gil_runtime *rt = t->rt;
	if (t->on_return &&
	    (why == GS_WHY_AFTER_FORCED || why == GS_WHY_AFTER_INTERVAL))
		t->on_return(t, t->on_return_arg);
	GS_PROBE(acquire_request, why,
		 atomic_load_explicit(&rt->waiters, memory_order_relaxed),
		 atomic_load_explicit(&rt->holder_tid, memory_order_relaxed), NULL);
	t->acquire_why = why;

	int waited = rt->ops->take(rt, t);

	uint64_t now = 0;
	if (t->wait_noted) {
		now = gs_now_ns();
		t->wait_noted = 0;
		atomic_fetch_sub_explicit(&rt->waiters, 1, memory_order_relaxed);
		GIL_BUMP(t->n_wait_ns, now - t->wait_start_ns);
	} else if (atomic_load_explicit(&rt->nthreads, memory_order_relaxed) > 1) {
		now = gs_now_ns();
	}
	t->holding = 1;
	t->acquired_at_ns = now;
	atomic_store_explicit(&rt->holder, t, memory_order_relaxed);
	atomic_store_explicit(&rt->holder_tid, t->tid, memory_order_relaxed);

	if (rt->last_release_had_waiters) {
		GIL_BUMP(rt->n_handoffs_attempted, 1);
		if (rt->last_releaser_tid == t->tid)
			GIL_BUMP(rt->n_handoffs_failed, 1);
		rt->last_release_had_waiters = 0;
	}
	pid_t prev = rt->last_holder_tid;
	if (prev != t->tid)
		GIL_BUMP(rt->n_switches, 1);
	rt->last_holder_tid = t->tid;
	GIL_BUMP(rt->n_acquisitions, 1);

	GS_PROBE(acquired, why,
		 atomic_load_explicit(&rt->waiters, memory_order_relaxed), prev,
		 NULL);

	GIL_BUMP(t->n_acquisitions, 1);
	if (waited)
		GIL_BUMP(t->n_contended, 1);
	if (rt->params.policy == GIL_POLICY_LEGACY)
		t->hot.ticks_left = rt->ticker;
	else
		reset_ticks(t);
}

void gil_release(gil_thread *t, enum gs_release_reason reason)
{
	gil_runtime *rt = t->rt;
	uint64_t now = 0;
	if (t->acquired_at_ns) {
		now = gs_now_ns();
		GIL_BUMP(t->n_hold_ns, now - t->acquired_at_ns);
	}
	t->released_at_ns = now;
	switch (reason) {
	case GS_RELEASE_BLOCKING: GIL_BUMP(t->n_rel_blocking, 1); break;
	case GS_RELEASE_INTERVAL: GIL_BUMP(t->n_rel_interval, 1); break;
	case GS_RELEASE_FORCED:
		GIL_BUMP(t->n_rel_forced, 1);
		GIL_BUMP(rt->n_forced_drops, 1);
		break;
	default: break;
	}
	if (rt->params.policy == GIL_POLICY_LEGACY)
		rt->ticker = t->hot.ticks_left < 0 ? 0 : t->hot.ticks_left;
	int waiting = atomic_load_explicit(&rt->waiters, memory_order_relaxed);
	rt->last_release_had_waiters = waiting > 0;
	rt->last_releaser_tid = t->tid;
	GS_PROBE(release, reason, waiting,
		 atomic_load_explicit(&rt->eval_breaker, memory_order_relaxed) != 0,
		 NULL);
	t->holding = 0;
	atomic_store_explicit(&rt->holder, NULL, memory_order_relaxed);
	atomic_store_explicit(&rt->holder_tid, 0, memory_order_relaxed);
	rt->ops->drop(rt, t, reason);
}

uint32_t gil_code_location(const char *function, const char *file, int line)
{
	return gs_code_location_intern(function, file, line);
}

void gil_set_code_location(uint32_t location)
{
	gs_code_location_current = location;
}

void gil_note_drop_request(gil_runtime *rt, gil_thread *requester,
			   pid_t holder_tid)
{
	GIL_BUMP(requester->n_drop_requests, 1);
	GIL_COUNT(rt->n_drop_requests, 1);
	GS_PROBE(drop_request, 0, holder_tid, 0, NULL);
}

gil_thread *gil_attach(gil_runtime *rt, const char *name, enum gil_role role,
		       int prio)
{
	gil_thread *t = aligned_alloc(_Alignof(gil_thread), sizeof(*t));
	if (!t)
		return NULL;
	memset(t, 0, sizeof(*t));
	t->rt = rt;
	t->hot.eval_breaker = &rt->eval_breaker;
	t->tid = gil_gettid();
	t->role = role;
	t->prio = prio;
	t->os_prio = gil_current_os_prio();
	snprintf(t->name, sizeof(t->name), "%s", name ? name : "");
	pthread_cond_init(&t->cond, NULL);
	atomic_init(&t->grant, GIL_GRANT_OWNED);
	if (rt->ops->thread_init && rt->ops->thread_init(t) != 0) {
		pthread_cond_destroy(&t->cond);
		free(t);
		return NULL;
	}
	pthread_mutex_lock(&rt->threads_lock);
	atomic_fetch_add(&rt->nthreads, 1);
	pthread_mutex_unlock(&rt->threads_lock);

	GS_PROBE(thread_start, role, t->os_prio, prio, t->name);
	gil_acquire(t, GS_WHY_FIRST);
	return t;
}

void gil_detach(gil_thread *t)
{
	gil_runtime *rt = t->rt;
	if (t->holding)
		gil_release(t, GS_RELEASE_EXIT);
	GS_PROBE(thread_exit, 0, 0, 0, NULL);
	if (rt->ops->thread_fini)
		rt->ops->thread_fini(t);
	pthread_mutex_lock(&rt->threads_lock);
	atomic_fetch_sub(&rt->nthreads, 1);
	pthread_mutex_unlock(&rt->threads_lock);
	/* A releaser may still be inside the futex wake-up of a grant this
	 * thread has already claimed (gil_grant_unlock_wake). */
	while (atomic_load_explicit(&rt->wakes_in_flight, memory_order_acquire))
		sched_yield();
	pthread_cond_destroy(&t->cond);
	free(t);
}

void gil_check_slow(gil_thread *t)
{
	GIL_BUMP(t->n_checks, 1);
	t->rt->ops->check(t->rt, t);
	if (t->hot.ticks_left < 0)
		reset_ticks(t);
}

void gil_blocking_begin(gil_thread *t, enum gil_block_kind kind)
{
	t->blocking_kind = kind;
	GS_PROBE(blocking_begin, kind, 0, 0, NULL);
	gil_release(t, GS_RELEASE_BLOCKING);
}

void gil_blocking_end(gil_thread *t, size_t bytes)
{
	uint32_t b = bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
	GS_PROBE(blocking_end, t->blocking_kind, b, 0, NULL);
	gil_acquire(t, GS_WHY_AFTER_BLOCKING);
}

ssize_t gil_call_maybe_blocking(gil_thread *t, enum gil_block_kind kind,
				gil_blocking_fn call, void *arg)
{
	ssize_t r = call(arg, 1);
	if (r >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
		return r;
	gil_blocking_begin(t, kind);
	r = call(arg, 0);
	int saved = errno;
	gil_blocking_end(t, r > 0 ? (size_t)r : 0);
	errno = saved;
	return r;
}

void gil_thread_on_return(gil_thread *t, gil_return_fn fn, void *arg)
{
	t->on_return = fn;
	t->on_return_arg = arg;
}

void gil_yield(gil_thread *t)
{
	if (atomic_load_explicit(&t->rt->waiters, memory_order_relaxed) == 0)
		return;
	gil_release(t, GS_RELEASE_INTERVAL);
	gil_acquire(t, GS_WHY_AFTER_INTERVAL);
}

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

void gil_thread_stats(const gil_thread *t, struct gil_thread_stats *out)
{
	gil_thread *m = (gil_thread *)t;
	out->acquisitions = LOAD(m->n_acquisitions);
	out->contended = LOAD(m->n_contended);
	out->releases_blocking = LOAD(m->n_rel_blocking);
	out->releases_interval = LOAD(m->n_rel_interval);
	out->releases_forced = LOAD(m->n_rel_forced);
	out->drop_requests = LOAD(m->n_drop_requests);
	out->hold_ns = LOAD(m->n_hold_ns);
	out->wait_ns = LOAD(m->n_wait_ns);
	out->checks = LOAD(m->n_checks);
}

pid_t gil_thread_tid(const gil_thread *t)
{
	return t->tid;
}

const char *gil_thread_name(const gil_thread *t)
{
	return t->name;
}

void gil_runtime_stats(const gil_runtime *rt, struct gil_runtime_stats *out)
{
	gil_runtime *m = (gil_runtime *)rt;
	out->acquisitions = LOAD(m->n_acquisitions);
	out->handoffs_attempted = LOAD(m->n_handoffs_attempted);
	out->handoffs_failed = LOAD(m->n_handoffs_failed);
	out->forced_drops = LOAD(m->n_forced_drops);
	out->drop_requests = LOAD(m->n_drop_requests);
	out->switches = LOAD(m->n_switches);
}
