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
 *  - Fast path: a lock word (owner | PRIO_SLOW) taken and given by CAS
 *    while nobody waits; grants go through the grantee's futex grant word,
 *    woken after the mutex is dropped, or not at all when it spins (a CPU
 *    thread cut off by an I/O arrival; an I/O thread waiting for the drop
 *    of a holder running on another CPU).
 *
 * Everything but the lock word and the grant words lives under one mutex;
 * gil_check() stays one relaxed load.
 */
#define _GNU_SOURCE
#include "../probes/gil_probes.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "clock.h"
#include "gil_internal.h"

/* A CPU-class waiter older than this many intervals goes before I/O class. */
#define PRIO_AGING_INTERVALS 4
/* Spin budget of a CPU-class thread preempted by an I/O arrival, waiting to
 * get the GIL back (adapted per thread between the bounds). */
#define PRIO_SPIN_MIN_NS 2000u
#define PRIO_SPIN_MAX_NS 100000u
/* An I/O thread waiting for a running holder's drop spins at most this. */
#define PRIO_DROP_SPIN_NS 20000u

/* Low bit of prio_gil.word: the holder must drop through the mutex. */
#define PRIO_SLOW ((uintptr_t)1)
/* Next bit: the one waiter is parked in prio_gil.handback, outside the
 * queue; the holder may give it the GIL without the mutex (always with
 * PRIO_SLOW, so the plain fast drop still fails). */
#define PRIO_HANDBACK ((uintptr_t)2)
/* Next bit: the one waiter is an I/O arrival that preempts the holder by
 * class, kept in prio_gil.preempter outside the queue; the holder's forced
 * drop may give it the GIL without the mutex (always with PRIO_SLOW). */
#define PRIO_PREEMPT ((uintptr_t)4)
#define PRIO_FLAGS (PRIO_SLOW | PRIO_HANDBACK | PRIO_PREEMPT)

struct prio_thread {
	uint64_t seq;         /* arrival order of the current wait */
	uint64_t enq_ns;      /* when the current wait began */
	/* Forced off by an I/O arrival (not by the interval) with its slice
	 * not used up: gets the GIL back before other CPU-class waiters. */
	int preempted;
	int cut_by_io;        /* last forced off by an I/O arrival: spin */
	uint64_t slice_start_ns; /* when its current CPU slice began */
	/* The slice began when this hold did: its start is the hold's
	 * (t->acquired_at_ns), not slice_start_ns. Saves the grantee a clock
	 * read between its claim and gil_acquire()'s. */
	int slice_at_acquire;
	uint32_t spin_ns;     /* adaptive spin budget (preempted waits) */
	/* The CPU it last claimed the GIL on (through the mutex or a grant;
	 * the fast path leaves it): an arrival reads it to decide whether to
	 * spin for this holder's drop. In a cache line of its own (the
	 * arrival's read must not share the fields above, which the forced
	 * drop writes), and stored only when it changes, so the claim on a
	 * switch's critical path does not wait for the line to come back. */
	_Alignas(64) _Atomic int claimed_cpu;
	/* Queued by its own forced drop (requeue_self): the take that
	 * follows only waits. Written and read by the thread itself. */
	_Alignas(64) int requeued;
	unsigned long requeued_grants; /* g->grants when it queued */
	/* Priority inheritance, set by a waiter, undone by the thread itself
	 * when it releases. All under prio_gil.mutex. */
	int boosted;
	int boost_level;      /* os_prio lent (gil_current_os_prio scale) */
	int saved_policy;
	int saved_rtprio;
	int saved_nice;
};

/*
 * The lock word holds the owner (the holder, or the thread the GIL was
 * given to and has not claimed yet), 0 when free, plus PRIO_SLOW. Taking a
 * free GIL is a CAS 0 -> self; giving it back with nobody waiting a CAS
 * self -> 0. A waiter sets PRIO_SLOW under the mutex before it looks at the
 * owner, so from then on the owner cannot leave without the mutex and the
 * waiter may read the owner's fields. Invariant: a non-empty queue implies
 * PRIO_SLOW (set and cleared only under the mutex).
 *
 * The handback: a CPU-class holder forced off by an I/O arrival, when that
 * arrival is the only waiter, parks itself (handback, PRIO_HANDBACK) instead
 * of queueing. While it is parked nobody else waits, so the I/O thread's
 * next drop gives the GIL back with a CAS on the word and one on the
 * parked thread's grant word: no mutex, and no wake-up while it spins.
 * Whoever takes the mutex clears PRIO_HANDBACK first (a CAS racing the
 * holder's) and queues the parked thread (unpark), after which the
 * mutex protocol holds as before. PRIO_HANDBACK is set and cleared under
 * the mutex, except by the holder's handback CAS.
 *
 * The preempt slot is the other half of that cycle: an I/O arrival that
 * finds nobody else waiting (no PRIO_SLOW) and preempts the holder by class
 * alone (equal priorities: nothing to boost) waits in preempter with
 * PRIO_PREEMPT instead of in the queue. The holder's forced drop then gives
 * it the GIL and parks itself with one CAS on the word
 * (holder | SLOW | PREEMPT -> arrival | SLOW | HANDBACK) and one on the
 * arrival's grant word: no mutex on the CPU thread's side of the switch
 * either. PRIO_PREEMPT is set under the mutex, cleared by that CAS or,
 * under the mutex, by whoever takes it first (unpark, which queues the
 * preempter), so every other path is the mutex protocol as before.
 *
 * The fields the lock-free paths touch share the first cache line; the
 * mutex and the queue start on the next one.
 */
struct prio_gil {
	_Atomic uintptr_t word;
	_Atomic(gil_thread *) handback; /* the parked waiter (PRIO_HANDBACK) */
	/* When the parked waiter ages: its handback must then go through the
	 * mutex, whose grant marks it aged. */
	_Atomic uint64_t handback_aged_ns;
	_Atomic(gil_thread *) preempter; /* the waiting arrival (PRIO_PREEMPT) */
	/* Grants made through the mutex (written under it; the lock-free
	 * forced drop reads it for the parked thread's timeout test). */
	_Atomic unsigned long grants;
	_Alignas(64) pthread_mutex_t mutex;
	int owner_aged;          /* owner won by aging: no class preemption */
	/* The pending drop request is a class preemption (not a timeout). */
	int preempt_request;
	gil_thread *waiters;     /* unordered; the grant scans it */
	uint64_t seq;
	uint64_t boost_failures;
};

static struct prio_thread *pt_of(gil_thread *t)
{
	return t->policy_data;
}

static gil_thread *owner_of(uintptr_t word)
{
	return (gil_thread *)(word & ~PRIO_FLAGS);
}

/* The clock read that ended t's hold, or a fresh one if the hold was not
 * clocked (gil_release). */
static uint64_t release_now(const gil_thread *t)
{
	return t->released_at_ns ? t->released_at_ns : gs_now_ns();
}

/* Called by a take() that does not start a slice (the fast path, a take
 * back): the last slice start stays what it was. t->acquired_at_ns is
 * still the last hold's here (gil_acquire sets it after the take). */
static void keep_slice_start(gil_thread *t, struct prio_thread *p)
{
	if (p->slice_at_acquire) {
		p->slice_start_ns = t->acquired_at_ns;
		p->slice_at_acquire = 0;
	}
}

/* The owner has claimed its grant (it runs with the GIL). */
static int owner_resumed(const gil_thread *o)
{
	return atomic_load_explicit(&((gil_thread *)o)->grant,
				    memory_order_acquire) == GIL_GRANT_OWNED;
}

/* The class a lock-free drop gives t (its own write: no waiter looks, or
 * the handback's CAS publishes it). Stored only when it changes: arrivals
 * read it on the identity line, which must not bounce at every drop. */
static void set_class(gil_thread *t, int cpu_bound)
{
	if (t->cpu_bound != cpu_bound)
		t->cpu_bound = cpu_bound;
}

static int prio_init(gil_runtime *rt)
{
	struct prio_gil *g = aligned_alloc(_Alignof(struct prio_gil),
					   sizeof(*g));
	if (!g)
		return -ENOMEM;
	memset(g, 0, sizeof(*g));
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
	struct prio_thread *p = aligned_alloc(_Alignof(struct prio_thread),
					      sizeof(*p));
	if (!p)
		return -ENOMEM;
	memset(p, 0, sizeof(*p));
	p->spin_ns = PRIO_SPIN_MAX_NS / 4;
	atomic_init(&p->claimed_cpu, -1);
	t->policy_data = p;
	/* Until it has shown how it behaves, a thread is what its role says. */
	t->cpu_bound = t->role == GIL_ROLE_CPU;
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

/* now may precede t's enq_ns: the releaser's clock read is its release's,
 * made before it took the mutex, and t may have queued in between. */
static int is_aged(const gil_runtime *rt, const gil_thread *t, uint64_t now)
{
	uint64_t enq = pt_of((gil_thread *)t)->enq_ns;
	return t->cpu_bound && now > enq &&
	       now - enq > PRIO_AGING_INTERVALS * interval_ns(rt);
}

/* Class rank among equal priorities: lower is served first. A preempted
 * CPU-class thread resumes before the other CPU-class waiters: its slice
 * was cut by an I/O thread, not used up (and handing the GIL back to it
 * needs no wake-up: it spins). Aged waiters still come first. */
static int class_rank(const gil_runtime *rt, const gil_thread *t, uint64_t now)
{
	if (!t->cpu_bound)
		return 1;
	if (is_aged(rt, t, now))
		return 0;
	return pt_of((gil_thread *)t)->preempted ? 2 : 3;
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

/* Called with the mutex held before anything reads or changes the queue or
 * the owner: queues the parked waiter or the waiting preempter, after which
 * the holder can no longer give it the GIL past the mutex. If the holder's
 * handback (or preempt drop) wins the race, the word names that thread and
 * the queue stays as it was. The parked thread takes its arrival number
 * here (a lock-free park cannot touch g->seq): nobody else was queued
 * while it was parked, so the order is the same. Returns the word as it now
 * is. */
static uintptr_t unpark(struct prio_gil *g)
{
	uintptr_t w = atomic_load(&g->word);
	while (w & (PRIO_HANDBACK | PRIO_PREEMPT)) {
		if (atomic_compare_exchange_weak(
			    &g->word, &w, w & ~(PRIO_HANDBACK | PRIO_PREEMPT))) {
			gil_thread *c;
			if (w & PRIO_HANDBACK) {
				c = atomic_load_explicit(&g->handback,
							 memory_order_relaxed);
				pt_of(c)->seq = ++g->seq;
			} else {
				c = atomic_load_explicit(&g->preempter,
							 memory_order_relaxed);
			}
			push_waiter(g, c);
			return w & ~(PRIO_HANDBACK | PRIO_PREEMPT);
		}
	}
	return w;
}

static unsigned long grants_now(struct prio_gil *g)
{
	return atomic_load_explicit(&g->grants, memory_order_relaxed);
}

/* Makes t the owner in the bookkeeping. Called with the mutex held; t is
 * not queued; the caller sets the word and t's grant. */
static void grant(struct prio_gil *g, gil_thread *t, int aged)
{
	t->waiting = 0;
	g->owner_aged = aged;
	atomic_store_explicit(&g->grants,
			      atomic_load_explicit(&g->grants,
						   memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

static void set_drop_request(gil_runtime *rt, gil_thread *requester,
			     gil_thread *holder, int preemption)
{
	struct prio_gil *g = rt->policy_data;
	/* seq_cst, after the seq_cst CAS that set PRIO_SLOW: prio_check()'s
	 * clear-then-recheck relies on this order. */
	if (atomic_load(&rt->eval_breaker))
		return;
	g->preempt_request = preemption;
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

/* Fetches the line at p for writing: x86's prefetchw, which
 * __builtin_prefetch(p, 1) emits only for a -march that has it (a CPU
 * without it runs the opcode as a NOP). */
static inline void prefetch_for_write(const void *p)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
	__builtin_prefetch(p, 1);
#endif
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

/* Spins while the grant word stays `val` and the deadline is not reached,
 * reading the clock every 64 pauses. Returns the last value seen. */
static uint32_t spin_while(gil_thread *t, uint32_t val, uint64_t until_ns)
{
	for (;;) {
		for (int i = 0; i < 64; i++) {
			uint32_t v = atomic_load_explicit(&t->grant,
							  memory_order_relaxed);
			if (v != val)
				return v;
			cpu_relax();
		}
		if (gs_now_ns() >= until_ns)
			return val;
	}
}

static void note_claimed(gil_thread *t)
{
	_Atomic int *at = &pt_of(t)->claimed_cpu;
	int cpu = gil_current_cpu();
	if (atomic_load_explicit(at, memory_order_relaxed) != cpu)
		atomic_store_explicit(at, cpu, memory_order_relaxed);
}

static int wait_for_grant(gil_runtime *rt, gil_thread *t, uint64_t queued_ns,
			  unsigned long saved, int spin_for_drop,
			  int spin_for_grant);

static int prio_take_slow(gil_runtime *rt, gil_thread *t)
{
	struct prio_gil *g = rt->policy_data;
	struct prio_thread *p = pt_of(t);

	pthread_mutex_lock(&g->mutex);
	uintptr_t w = atomic_load_explicit(&g->word, memory_order_relaxed);
	int alone = 0; /* nobody else waits (the queue is empty) */
	for (;;) {
		if (w == 0) {
			/* Free, and so nobody queued: ours. */
			if (atomic_compare_exchange_weak_explicit(
				    &g->word, &w, (uintptr_t)t,
				    memory_order_acq_rel, memory_order_relaxed)) {
				grant(g, t, 0);
				p->preempted = 0;
				p->cut_by_io = 0;
				p->slice_start_ns = gs_now_ns();
				p->slice_at_acquire = 0;
				pthread_mutex_unlock(&g->mutex);
				note_claimed(t);
				return 0;
			}
		} else if (!(w & PRIO_SLOW)) {
			if (atomic_compare_exchange_weak_explicit(
				    &g->word, &w, w | PRIO_SLOW,
				    memory_order_seq_cst, memory_order_relaxed)) {
				alone = 1;
				break;
			}
		} else {
			/* A parked waiter joins the queue we are joining. */
			w = unpark(g);
			if (w & PRIO_SLOW)
				break;
		}
	}
	gil_thread *h = owner_of(w);
	uint64_t now = gil_note_wait(t);
	p->seq = ++g->seq;
	p->enq_ns = now;
	int spin_for_drop = 0;
	if (h != t && preempts(g, t, h)) {
		/* given_from is written before the grant (the handback gives
		 * without the mutex); it cannot change again before h claims
		 * or we take it back: h is given the GIL only by a holder, and
		 * the holder is h now. */
		uint32_t given = GIL_GRANT_GIVEN;
		if (atomic_load_explicit(&h->grant, memory_order_acquire) ==
			    GIL_GRANT_GIVEN &&
		    atomic_compare_exchange_strong_explicit(
			    &h->grant, &given,
			    atomic_load_explicit(&h->given_from,
						 memory_order_relaxed),
			    memory_order_relaxed, memory_order_relaxed)) {
			/* h has not run since it was given the GIL: take the
			 * grant back, h waits on as if nothing happened (a
			 * spinning h spins on, a sleeping h finds its word
			 * unchanged after the wake-up). */
			h->waiting = 1;
			push_waiter(g, h);
			grant(g, t, 0);
			p->preempted = 0;
			keep_slice_start(t, p);
			atomic_store_explicit(&g->word, (uintptr_t)t | PRIO_SLOW,
					      memory_order_relaxed);
			pthread_mutex_unlock(&g->mutex);
			note_claimed(t);
			return 0;
		}
		/* Boost first: the drop request is useless to a holder that
		 * cannot get a CPU. */
		if (rt->params.prio_inherit && prio_cmp(t, h) > 0)
			boost_holder(g, t, h);
		set_drop_request(rt, t, h, 1);
		/* The holder runs its check within a work unit if it is on
		 * another CPU: spin for the drop instead of paying a futex
		 * sleep and wake-up (an idle vCPU takes ~30 us to wake). On
		 * our own CPU it is preempted by us, and we must get off. */
		spin_for_drop = owner_resumed(h) &&
				atomic_load_explicit(&pt_of(h)->claimed_cpu,
						     memory_order_relaxed) !=
					gil_current_cpu();
		if (alone && prio_cmp(t, h) == 0) {
			/* The preempt slot (struct prio_gil): wait outside the
			 * queue, so that the holder's forced drop can give us
			 * the GIL without the mutex. Our grant word first: the
			 * holder may give as soon as it sees PRIO_PREEMPT. The
			 * drop request is already set, so a holder that drops
			 * before it sees the bit does so through the mutex,
			 * which queues us (unpark). */
			t->waiting = 1;
			atomic_store_explicit(&t->grant,
					      spin_for_drop ? GIL_GRANT_SPIN
							    : GIL_GRANT_SLEEP,
					      memory_order_relaxed);
			atomic_store_explicit(&g->preempter, t,
					      memory_order_relaxed);
			atomic_store_explicit(&g->word,
					      w | PRIO_SLOW | PRIO_PREEMPT,
					      memory_order_release);
			unsigned long saved = grants_now(g);
			pthread_mutex_unlock(&g->mutex);
			return wait_for_grant(rt, t, now, saved, spin_for_drop,
					      0);
		}
	}
	/* A CPU-class thread that an I/O arrival cut off gets the GIL back
	 * in about the I/O thread's hold: spin (adaptively) for it. */
	int spin_for_grant = p->cut_by_io &&
			     t->acquire_why == GS_WHY_AFTER_FORCED;
	t->waiting = 1;
	atomic_store_explicit(&t->grant,
			      spin_for_drop || spin_for_grant ? GIL_GRANT_SPIN
							     : GIL_GRANT_SLEEP,
			      memory_order_relaxed);
	push_waiter(g, t);
	unsigned long saved = grants_now(g);
	pthread_mutex_unlock(&g->mutex);
	return wait_for_grant(rt, t, now, saved, spin_for_drop, spin_for_grant);
}

/* Queued (t->grant SPIN when it spins first, else SLEEP) since queued_ns,
 * with g->grants == saved then: waits until the GIL is given to t. */
static int wait_for_grant(gil_runtime *rt, gil_thread *t, uint64_t queued_ns,
			  unsigned long saved, int spin_for_drop,
			  int spin_for_grant)
{
	struct prio_gil *g = rt->policy_data;
	struct prio_thread *p = pt_of(t);
	uint64_t interval = interval_ns(rt);
	uint64_t deadline = queued_ns + interval;
	if (spin_for_drop || spin_for_grant) {
		uint32_t budget = spin_for_drop ? PRIO_DROP_SPIN_NS : p->spin_ns;
		spin_while(t, GIL_GRANT_SPIN, queued_ns + budget);
		uint32_t spinning = GIL_GRANT_SPIN;
		if (gil_grant_claim(t)) {
			if (spin_for_grant && p->spin_ns < PRIO_SPIN_MAX_NS)
				p->spin_ns += p->spin_ns / 4 + 1;
			goto claimed;
		}
		if (spin_for_grant)
			p->spin_ns = p->spin_ns / 2 > PRIO_SPIN_MIN_NS
					     ? p->spin_ns / 2 : PRIO_SPIN_MIN_NS;
		/* Go to sleep unless a grant (or its take-back) came. */
		atomic_compare_exchange_strong_explicit(
			&t->grant, &spinning, GIL_GRANT_SLEEP,
			memory_order_relaxed, memory_order_relaxed);
	}
	for (;;) {
		if (gil_grant_claim(t))
			goto claimed;
		uint32_t v = atomic_load_explicit(&t->grant, memory_order_relaxed);
		int rc = 0;
		if (v == GIL_GRANT_SLEEP)
			rc = gil_futex_wait_until(&t->grant, GIL_GRANT_SLEEP,
						  deadline);
		else if (v == GIL_GRANT_SPIN)
			/* A grant given while we spun was taken back: we are
			 * back to spinning state; sleep properly. */
			atomic_compare_exchange_strong(&t->grant, &v,
						       GIL_GRANT_SLEEP);
		if (gil_grant_claim(t))
			goto claimed;
		if (rc != ETIMEDOUT)
			continue;
		deadline += interval;
		pthread_mutex_lock(&g->mutex);
		/* Parked, we wait in the queue from our first timeout on, so
		 * we are never handed back aged past the mutex. */
		gil_thread *o = owner_of(unpark(g));
		if (t->waiting && grants_now(g) == saved && o && owner_resumed(o)) {
			/* The holder kept the GIL a whole interval: whatever it
			 * was, it is CPU-bound now. A grantee that has not woken
			 * up yet held nothing: demoting it would let I/O
			 * arrivals take its grant back over and over, past every
			 * aged waiter (found by tests/model/prio.pml). */
			o->cpu_bound = 1;
			g->owner_aged = 0;
			set_drop_request(rt, t, o, 0);
		}
		saved = grants_now(g);
		pthread_mutex_unlock(&g->mutex);
	}
claimed:
	/* An arrival drops soon (an I/O thread's next blocking call), with a
	 * CAS on the lock word, which the thread that gave us the GIL wrote
	 * last and does not touch while it waits: fetch its line now, so
	 * that it moves while we hold, not on the way back to that thread.
	 * Not a CPU thread an I/O arrival cut off (it spins for the grant):
	 * its drop is far off, and its check fetches the line then; fetched
	 * now it would only slow the next arrival's write. (Not decided by
	 * t->cpu_bound: a waiter may demote us under the mutex meanwhile.) */
	if (!spin_for_grant)
		prefetch_for_write(&g->word);
	t->waiting = 0; /* a handback does not go through grant() */
	/* A cut-off thread resumes its slice; anyone else starts one (here,
	 * not in the releaser: one cache line fewer on the handoff's path),
	 * at the clock read gil_acquire() makes for the hold right after. */
	if (!p->preempted)
		p->slice_at_acquire = 1;
	else
		keep_slice_start(t, p);
	note_claimed(t);
	return 1;
}

static int prio_take(gil_runtime *rt, gil_thread *t)
{
	struct prio_gil *g = rt->policy_data;
	struct prio_thread *p = pt_of(t);
	if (p->requeued) {
		/* Queued (or parked) by our own forced drop, which noted the
		 * wait too: only wait. First, before any look at the lock
		 * word: it is never free here (we wait in the queue or the
		 * slot, or own it already), and a CAS that could only fail
		 * would still pull the word's line from the thread we just
		 * gave the GIL to, which writes it at its next drop. */
		p->requeued = 0;
		return wait_for_grant(rt, t, p->enq_ns, p->requeued_grants, 0,
				      p->cut_by_io);
	}
	uintptr_t expect = 0;
	/* acq_rel: a waiter that later finds us in the word (and sets
	 * PRIO_SLOW with an acquire CAS) must see the class we wrote at our
	 * last fast drop, after that drop's CAS. */
	if (__builtin_expect(atomic_compare_exchange_strong_explicit(
				     &g->word, &expect, (uintptr_t)t,
				     memory_order_acq_rel, memory_order_relaxed),
			     1)) {
		/* No waiter: class and slice bookkeeping need no lock (only
		 * this thread reads them until a waiter sets PRIO_SLOW, which
		 * orders after this CAS). */
		p->preempted = 0;
		p->cut_by_io = 0;
		keep_slice_start(t, p);
		return 0;
	}
	return prio_take_slow(rt, t);
}

/*
 * A holder forced off queues itself in the pass through the mutex that
 * gives the GIL away, after picking the next holder, instead of in a second
 * pass from its take(): one mutex round trip per forced switch instead of
 * two, and the releaser of the next handoff always finds it queued. It is
 * queued exactly as prio_take_slow() would queue it (arrival order counts
 * from here; it spins first if an I/O arrival cut it off), and its take()
 * only waits (tests/model/prio.pml: the requeue). With park set (nobody
 * else waits, and the grant just made is not an aged one) it parks instead
 * of queueing: the next holder can then give the GIL back without the mutex
 * (struct prio_gil, the handback); the caller sets PRIO_HANDBACK, or
 * publishes the park with its CAS (preempt_drop, without the mutex: a
 * parked thread takes its arrival number in unpark(), so g->seq is not
 * touched then). The wait is noted (counted in rt->waiters) by the caller.
 */
static void requeue_self(gil_runtime *rt, struct prio_gil *g, gil_thread *t,
			 uint64_t now, int park)
{
	struct prio_thread *p = pt_of(t);
	p->enq_ns = now;
	t->waiting = 1;
	atomic_store_explicit(&t->grant,
			      p->cut_by_io ? GIL_GRANT_SPIN : GIL_GRANT_SLEEP,
			      memory_order_relaxed);
	if (park) {
		atomic_store_explicit(&g->handback, t, memory_order_relaxed);
		atomic_store_explicit(&g->handback_aged_ns,
				      now + PRIO_AGING_INTERVALS *
						    interval_ns(rt),
				      memory_order_relaxed);
	} else {
		p->seq = ++g->seq;
		push_waiter(g, t);
	}
	p->requeued_grants = grants_now(g);
	p->requeued = 1;
}

/*
 * The holder's drop while a waiter is parked (word == t | SLOW | HANDBACK):
 * gives it the GIL with a CAS on the word, which fails if a thread that
 * took the mutex has queued it meanwhile (unpark), and a CAS on
 * its grant word. Returns 0 when the mutex must do it: the CAS failed, the
 * parked waiter has aged (its grant must be marked aged), or t was forced
 * off (it queues itself in the mutex's pass). Nobody can have boosted t:
 * a booster queues, so it would have unparked first.
 */
static int hand_back(gil_runtime *rt, gil_thread *t, enum gs_release_reason why,
		     uintptr_t w)
{
	struct prio_gil *g = rt->policy_data;
	if (why == GS_RELEASE_FORCED)
		return 0;
	gil_thread *c = atomic_load_explicit(&g->handback, memory_order_relaxed);
	if (release_now(t) >= atomic_load_explicit(&g->handback_aged_ns,
						memory_order_relaxed))
		return 0;
	/* acq_rel: a waiter finding c in the word reads what c wrote before
	 * it parked (its class), and our class writes below are ours alone
	 * again, as after the fast drop. */
	if (!atomic_compare_exchange_strong_explicit(&g->word, &w, (uintptr_t)c,
						     memory_order_acq_rel,
						     memory_order_relaxed))
		return 0;
	if (why == GS_RELEASE_BLOCKING)
		set_class(t, 0);
	gil_grant_wake(rt, c, gil_grant_give(c));
	return 1;
}

/*
 * The holder's forced drop while an I/O arrival waits in the preempt slot
 * (word == t | SLOW | PREEMPT): the mutex pass's work for that case, one
 * waiter and a class preemption, without the mutex. t parks as
 * requeue_self() would park it (the arrival is I/O class, so the grant is
 * not an aged one), then one CAS gives the word to the arrival with
 * PRIO_HANDBACK, and one its grant word. Returns 0 when the mutex must do
 * it: not a forced drop, an on_return hook (t then queues from its take),
 * or the CAS failed because a thread that took the mutex has queued the
 * arrival (unpark); the mutex pass then rewrites everything written here.
 * Nothing written here is read by another thread before that CAS
 * publishes it: while t holds, only the mutex holder looks at t, and then
 * only at its class (1 already: it was preempted by class), priorities and
 * grant word. Nobody can have boosted t: a booster queues, so it would
 * have unparked the arrival first.
 */
static int preempt_drop(gil_runtime *rt, gil_thread *t,
			enum gs_release_reason why, uintptr_t w)
{
	struct prio_gil *g = rt->policy_data;
	struct prio_thread *p = pt_of(t);
	if (why != GS_RELEASE_FORCED || t->on_return)
		return 0;
	gil_thread *s = atomic_load_explicit(&g->preempter, memory_order_relaxed);
	uint64_t now = release_now(t);
	uint64_t slice_start = p->slice_at_acquire ? t->acquired_at_ns
						   : p->slice_start_ns;
	p->cut_by_io = 1;
	p->preempted = now - slice_start < interval_ns(rt);
	requeue_self(rt, g, t, now, 1);
	/* Before the CAS: once the word names s, a new arrival may ask s to
	 * drop, and that request must not be cleared. A request posted
	 * meanwhile by a thread that unparked s makes the CAS fail, and the
	 * mutex pass serves it. */
	atomic_store_explicit(&rt->eval_breaker, 0, memory_order_relaxed);
	if (!atomic_compare_exchange_strong_explicit(
		    &g->word, &w, (uintptr_t)s | PRIO_SLOW | PRIO_HANDBACK,
		    memory_order_acq_rel, memory_order_relaxed)) {
		p->requeued = 0;
		return 0;
	}
	/* The wait began where the hold ended (as in the mutex pass); noted
	 * now, while the switch line is still ours from gil_release. */
	gil_note_wait_since(t, now);
	gil_grant_wake(rt, s, gil_grant_give(s));
	return 1;
}

static void prio_drop(gil_runtime *rt, gil_thread *t, enum gs_release_reason why)
{
	struct prio_gil *g = rt->policy_data;
	struct prio_thread *p = pt_of(t);
	uintptr_t expect = (uintptr_t)t;
	if (__builtin_expect(atomic_compare_exchange_strong_explicit(
				     &g->word, &expect, 0,
				     memory_order_release, memory_order_relaxed),
			     1)) {
		/* Nobody waits and nobody looks: a waiter reads (or demotes)
		 * our class only after setting PRIO_SLOW on a word that
		 * names us, and our next take publishes what we write. */
		if (why == GS_RELEASE_FORCED)
			set_class(t, 1);
		else if (why == GS_RELEASE_BLOCKING)
			set_class(t, 0);
		return;
	}
	if (expect == ((uintptr_t)t | PRIO_SLOW | PRIO_HANDBACK) &&
	    hand_back(rt, t, why, expect))
		return;
	if (expect == ((uintptr_t)t | PRIO_SLOW | PRIO_PREEMPT) &&
	    preempt_drop(rt, t, why, expect))
		return;
	/* Under the mutex from here: a waiter's timeout may demote us. */

	pthread_mutex_lock(&g->mutex);
	unpark(g);
	int cpu_bound = why == GS_RELEASE_FORCED ? 1
			: why == GS_RELEASE_BLOCKING ? 0 : t->cpu_bound;
	/* A CPU-class holder cut off by an I/O arrival keeps its place
	 * among CPU-class threads while its slice lasts. */
	uint64_t now = release_now(t);
	uint64_t slice_start = p->slice_at_acquire ? t->acquired_at_ns
						   : p->slice_start_ns;
	p->cut_by_io = why == GS_RELEASE_FORCED && g->preempt_request;
	p->preempted = p->cut_by_io && t->cpu_bound &&
		       now - slice_start < interval_ns(rt);
	t->cpu_bound = cpu_bound;
	int boosted = p->boosted;
	int policy = p->saved_policy, rtprio = p->saved_rtprio,
	    nice_value = p->saved_nice;
	p->boosted = 0;

	atomic_store(&rt->eval_breaker, 0);
	g->preempt_request = 0;
	gil_thread *best = NULL;
	for (gil_thread *w = g->waiters; w; w = w->next_waiter)
		if (!best || serve_before(rt, w, best, now))
			best = w;
	if (best) {
		unlink_waiter(g, best);
		int aged = is_aged(rt, best, now);
		grant(g, best, aged);
		/* Forced off, we take the GIL again at once (prio_check):
		 * queue now, in this same pass through the mutex. Not with an
		 * on_return hook: it runs before the thread asks again (a
		 * replay spends the recorded thread's way back in it), and a
		 * grant made meanwhile would idle the GIL. Park when nobody
		 * else waits: the handback. */
		uintptr_t flags = 0;
		if (why == GS_RELEASE_FORCED && !t->on_return) {
			int park = !g->waiters && !aged;
			requeue_self(rt, g, t, now, park);
			/* The wait began where the hold ended: the drop's
			 * clock read, which is the hold's last (gil_release). */
			gil_note_wait_since(t, now);
			if (park)
				flags = PRIO_SLOW | PRIO_HANDBACK;
		}
		if (g->waiters)
			flags |= PRIO_SLOW;
		/* Release: the new owner's handback reads the parked
		 * thread's fields after finding PRIO_HANDBACK here. */
		atomic_store_explicit(&g->word, (uintptr_t)best | flags,
				      memory_order_release);
		uint32_t replaced = gil_grant_give(best);
		gil_grant_unlock_wake(rt, &g->mutex, best, replaced);
	} else {
		atomic_store_explicit(&g->word, 0, memory_order_release);
		pthread_mutex_unlock(&g->mutex);
	}

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
	/* Whatever follows writes the lock word (the drop's CAS) and the
	 * switch line (gil_release): fetch the lines for writing now, all at
	 * once, rather than shared by the loads below and again exclusive by
	 * the writes, one after the other. */
	prefetch_for_write(&g->word);
	prefetch_for_write(&rt->eval_breaker);
	/* And our grant word, which the drop sets to waiting and which the
	 * waiter that asked us read on its arrival. */
	prefetch_for_write(&t->grant);
	/* PRIO_SLOW says someone waits, without the mutex (which the waiter
	 * that just asked us to drop may still hold). A request left over
	 * with nobody waiting is cleared; the second look pairs with the
	 * waiter's seq_cst SLOW-then-breaker order (set_drop_request), so a
	 * waiter arriving in between is never lost. */
	if (!(atomic_load(&g->word) & PRIO_SLOW)) {
		atomic_store(&rt->eval_breaker, 0);
		if (!(atomic_load(&g->word) & PRIO_SLOW))
			return;
	}
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
