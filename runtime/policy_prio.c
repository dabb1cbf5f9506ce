/* SPDX-License-Identifier: MIT */
/*
 * prio: a convoy-free, priority-aware GIL (design and trade-offs:
 * docs/policies.md).
 *
 *  - Direct handoff like fifo: the releaser picks the next holder, so nobody
 *    barges and a handoff never fails.
 *  - Classes: a thread that released voluntarily (blocking call) is I/O
 *    class; a thread that was forced off is CPU class. An I/O-class thread
 *    coming back preempts a CPU-class holder at once (eval breaker set on
 *    arrival, no interval wait). An I/O-class holder that keeps the GIL for a
 *    whole interval while someone waits is demoted to CPU class.
 *  - Grant order: gil priority, then OS priority, then aged CPU waiters
 *    (waited > PRIO_AGING_INTERVALS intervals), then I/O class, then CPU
 *    class, then arrival order.
 *  - A grant the new holder has not yet woken up for can be taken back by an
 *    arrival that would preempt it anyway: the revoked thread loses a wake-up,
 *    not work, and the arrival skips a futex wait plus the holder's trip to
 *    its next check. This is what makes a blocking call that returns at once
 *    (send on a socket with room) nearly free.
 *  - Priority inheritance: a waiter with a higher OS priority than the holder
 *    lends it to the holder (setpriority / sched_setscheduler on its tid)
 *    until the holder releases, so a holder preempted by a medium-priority
 *    task still reaches its next check. Without CAP_SYS_NICE the boost fails
 *    and the immediate drop request made on arrival is all that remains.
 *
 * All state lives under one mutex; gil_check() stays one relaxed load.
 */
#define _GNU_SOURCE
#include "../probes/gil_probes.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "clock.h"
#include "gil_internal.h"

/* A CPU-class waiter older than this many intervals goes before I/O class. */
#define PRIO_AGING_INTERVALS 4

struct prio_thread {
	uint64_t seq;         /* arrival order of the current wait */
	uint64_t enq_ns;      /* when the current wait began */
	/* Priority inheritance, set by a waiter, undone by the thread itself
	 * when it releases. All under prio_gil.mutex. */
	int boosted;
	int boost_level;      /* os_prio lent (gil_current_os_prio scale) */
	int saved_policy;
	int saved_rtprio;
	int saved_nice;
};

struct prio_gil {
	pthread_mutex_t mutex;
	int locked;
	gil_thread *owner;       /* holder, or the thread the GIL was given to */
	int owner_resumed;       /* the owner returned from take() */
	int owner_aged;          /* owner won by aging: no class preemption */
	gil_thread *waiters;     /* unordered; the grant scans it */
	uint64_t seq;
	unsigned long grants;
	uint64_t boost_failures;
};

static struct prio_thread *pt_of(gil_thread *t)
{
	return t->policy_data;
}

static int prio_init(gil_runtime *rt)
{
	struct prio_gil *g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	pthread_mutex_init(&g->mutex, NULL);
	rt->policy_data = g;
	return 0;
}

static void prio_fini(gil_runtime *rt)
{
	struct prio_gil *g = rt->policy_data;
	pthread_mutex_destroy(&g->mutex);
	free(g);
}

static int prio_thread_init(gil_thread *t)
{
	struct prio_thread *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	t->policy_data = p;
	/* Until it has shown how it behaves, a thread is what its role says. */
	t->cpu_bound = t->role == GIL_ROLE_CPU;

	pthread_cond_destroy(&t->cond);
	gil_cond_init_monotonic(&t->cond);
	return 0;
}

static void prio_thread_fini(gil_thread *t)
{
	free(t->policy_data);
	t->policy_data = NULL;
}

static uint64_t interval_ns(const gil_runtime *rt)
{
	return (uint64_t)rt->params.interval_us * 1000u;
}

static int is_aged(const gil_runtime *rt, const gil_thread *t, uint64_t now)
{
	return t->cpu_bound &&
	       now - pt_of((gil_thread *)t)->enq_ns >
		       PRIO_AGING_INTERVALS * interval_ns(rt);
}

/* Class rank among equal priorities: lower is served first. */
static int class_rank(const gil_runtime *rt, const gil_thread *t, uint64_t now)
{
	if (!t->cpu_bound)
		return 1;
	return is_aged(rt, t, now) ? 0 : 2;
}

/* > 0 when a outranks b by priority alone (gil prio, then OS prio). */
static int prio_cmp(const gil_thread *a, const gil_thread *b)
{
	if (a->prio != b->prio)
		return a->prio > b->prio ? 1 : -1;
	if (a->os_prio != b->os_prio)
		return a->os_prio > b->os_prio ? 1 : -1;
	return 0;
}

/* Should a be granted before b? */
static int serve_before(const gil_runtime *rt, const gil_thread *a,
			const gil_thread *b, uint64_t now)
{
	int c = prio_cmp(a, b);
	if (c)
		return c > 0;
	int ra = class_rank(rt, a, now), rb = class_rank(rt, b, now);
	if (ra != rb)
		return ra < rb;
	return pt_of((gil_thread *)a)->seq < pt_of((gil_thread *)b)->seq;
}

/* Would arriving waiter w preempt holder h right away? */
static int preempts(const struct prio_gil *g, const gil_thread *w,
		    const gil_thread *h)
{
	int c = prio_cmp(w, h);
	if (c)
		return c > 0;
	return !w->cpu_bound && h->cpu_bound && !g->owner_aged;
}

static void unlink_waiter(struct prio_gil *g, gil_thread *t)
{
	for (gil_thread **pp = &g->waiters; *pp; pp = &(*pp)->next_waiter) {
		if (*pp == t) {
			*pp = t->next_waiter;
			t->next_waiter = NULL;
			return;
		}
	}
}

static void push_waiter(struct prio_gil *g, gil_thread *t)
{
	t->next_waiter = g->waiters;
	g->waiters = t;
}

/* Makes t the owner. Called with the mutex held; t is not queued. */
static void grant(struct prio_gil *g, gil_thread *t, int aged)
{
	t->waiting = 0;
	g->owner = t;
	g->owner_resumed = 0;
	g->owner_aged = aged;
	g->grants++;
}

static void set_drop_request(gil_runtime *rt, gil_thread *requester,
			     gil_thread *holder)
{
	if (atomic_load_explicit(&rt->eval_breaker, memory_order_relaxed))
		return;
	atomic_store(&rt->eval_breaker, 1);
	gil_note_drop_request(rt, requester, holder->tid);
}

/* Lends waiter w's OS priority to holder h. 0, or -1 when not permitted. */
static int boost_holder(struct prio_gil *g, gil_thread *w, gil_thread *h)
{
	struct prio_thread *hp = pt_of(h);
	int current = hp->boosted ? hp->boost_level : h->os_prio;
	if (w->os_prio <= current)
		return 0;
	if (!hp->boosted) {
		struct sched_param sp = {0};
		hp->saved_policy = sched_getscheduler(h->tid);
		if (hp->saved_policy < 0 || sched_getparam(h->tid, &sp) != 0)
			return -1;
		hp->saved_rtprio = sp.sched_priority;
		errno = 0;
		hp->saved_nice = getpriority(PRIO_PROCESS, (id_t)h->tid);
		if (hp->saved_nice == -1 && errno)
			return -1;
	}
	int rc;
	if (w->os_prio >= 100) {
		struct sched_param sp = {.sched_priority = w->os_prio - 100};
		rc = sched_setscheduler(h->tid, SCHED_FIFO, &sp);
	} else {
		rc = setpriority(PRIO_PROCESS, (id_t)h->tid, 20 - w->os_prio);
	}
	if (rc != 0) {
		g->boost_failures++;
		return -1;
	}
	hp->boosted = 1;
	hp->boost_level = w->os_prio;
	GS_PROBE(prio_boost, 0, h->tid, w->os_prio, NULL);
	return 0;
}

/* The holder undoes a boost on itself (always permitted: it only lowers). */
static void restore_self(gil_thread *t, int policy, int rtprio, int nice_value)
{
	struct sched_param sp = {.sched_priority = rtprio};
	sched_setscheduler(0, policy, &sp);
	if (policy != SCHED_FIFO && policy != SCHED_RR)
		setpriority(PRIO_PROCESS, (id_t)t->tid, nice_value);
	GS_PROBE(prio_boost, 0, t->tid, 0, NULL);
}

static int prio_take(gil_runtime *rt, gil_thread *t)
{
	struct prio_gil *g = rt->policy_data;
	struct prio_thread *p = pt_of(t);

	pthread_mutex_lock(&g->mutex);
	if (!g->locked) {
		/* Direct handoff keeps locked set while anyone waits. */
		g->locked = 1;
		grant(g, t, 0);
		g->owner_resumed = 1;
		pthread_mutex_unlock(&g->mutex);
		return 0;
	}
	p->seq = ++g->seq;
	p->enq_ns = gs_now_ns();
	gil_thread *h = g->owner;
	if (h && h != t && preempts(g, t, h)) {
		if (!g->owner_resumed) {
			/* h has not run since it was given the GIL: take the
			 * grant back, h waits on as if nothing happened. */
			h->waiting = 1;
			push_waiter(g, h);
			grant(g, t, 0);
			g->owner_resumed = 1;
			pthread_mutex_unlock(&g->mutex);
			return 0;
		}
		/* Boost first: the drop request is useless to a holder that
		 * cannot get a CPU. */
		if (rt->params.prio_inherit && prio_cmp(t, h) > 0)
			boost_holder(g, t, h);
		/* No spinning for the grant here: the holder is often on this
		 * very CPU (the wake-up of this thread preempted it), and a
		 * spin kept it from reaching its check (docs/policies.md). */
		set_drop_request(rt, t, h);
	}
	t->waiting = 1;
	push_waiter(g, t);
	while (t->waiting) {
		unsigned long saved = g->grants;
		int rc = gil_cond_timedwait_us(&t->cond, &g->mutex,
					       rt->params.interval_us);
		if (rc == ETIMEDOUT && t->waiting && g->grants == saved &&
		    g->owner_resumed && g->owner) {
			/* The holder kept the GIL a whole interval: whatever it
			 * was, it is CPU-bound now. A grantee that has not woken
			 * up yet held nothing: demoting it would let I/O
			 * arrivals take its grant back over and over, past every
			 * aged waiter (found by tests/model/prio.pml). */
			g->owner->cpu_bound = 1;
			g->owner_aged = 0;
			set_drop_request(rt, t, g->owner);
		}
	}
	g->owner_resumed = 1;
	pthread_mutex_unlock(&g->mutex);
	return 1;
}

static void prio_drop(gil_runtime *rt, gil_thread *t, enum gs_release_reason why)
{
	struct prio_gil *g = rt->policy_data;
	struct prio_thread *p = pt_of(t);

	pthread_mutex_lock(&g->mutex);
	if (why == GS_RELEASE_FORCED)
		t->cpu_bound = 1;
	else if (why == GS_RELEASE_BLOCKING)
		t->cpu_bound = 0;
	int boosted = p->boosted;
	int policy = p->saved_policy, rtprio = p->saved_rtprio,
	    nice_value = p->saved_nice;
	p->boosted = 0;

	atomic_store(&rt->eval_breaker, 0);
	uint64_t now = gs_now_ns();
	gil_thread *best = NULL;
	for (gil_thread *w = g->waiters; w; w = w->next_waiter)
		if (!best || serve_before(rt, w, best, now))
			best = w;
	if (best) {
		unlink_waiter(g, best);
		grant(g, best, is_aged(rt, best, now));
		pthread_cond_signal(&best->cond);
	} else {
		g->locked = 0;
		g->owner = NULL;
	}
	pthread_mutex_unlock(&g->mutex);

	/* After the handoff, so a medium-priority task cannot stall us between
	 * losing the boost and giving the GIL away. */
	if (boosted)
		restore_self(t, policy, rtprio, nice_value);
}

static void prio_check(gil_runtime *rt, gil_thread *t)
{
	struct prio_gil *g = rt->policy_data;
	if (!atomic_load_explicit(&rt->eval_breaker, memory_order_relaxed))
		return;
	pthread_mutex_lock(&g->mutex);
	int anyone = g->waiters != NULL;
	if (!anyone)
		atomic_store(&rt->eval_breaker, 0);
	pthread_mutex_unlock(&g->mutex);
	if (!anyone)
		return;
	gil_release(t, GS_RELEASE_FORCED);
	gil_acquire(t, GS_WHY_AFTER_FORCED);
}

const struct gil_policy_ops gil_policy_prio_ops = {
	.name = "prio",
	.init = prio_init,
	.fini = prio_fini,
	.thread_init = prio_thread_init,
	.thread_fini = prio_thread_fini,
	.take = prio_take,
	.drop = prio_drop,
	.check = prio_check,
};
