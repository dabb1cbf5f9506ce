/* SPDX-License-Identifier: MIT */
/*
 * libgil internals: the runtime, the thread handle, and the interface every
 * policy implements (one file per policy: policy_legacy.c, policy_cpython.c,
 * policy_fifo.c, policy_prio.c).
 *
 * Division of labour: gil.c owns attach/detach, blocking regions, the eval
 * breaker entry, counters and the acquire_request/acquired/release events;
 * a policy owns how the lock is taken and given and emits the events only it
 * can see (drop_request, switch_wait_*, prio_boost).
 */
#ifndef GIL_INTERNAL_H
#define GIL_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "gil.h"
#include "../probes/gil_events.h"

struct gil_policy_ops;

/*
 * Cache lines (gil_attach aligns the handle): the thread writes `hot` at
 * every check and the fields from `holding` on at every acquire and
 * release; other threads read the identity line (a waiter's arrival reads
 * the holder's tid, priorities and class), so that line is apart from both: a
 * reader there does not make the holder's next check or release wait for
 * its own line to come back.
 */
struct gil_thread {
	struct gil_thread_hot hot;   /* must stay first: gil_check() reads it */
	_Alignas(64) gil_runtime *rt;
	pid_t tid;
	enum gil_role role;
	int prio;                    /* attach-time priority (higher wins) */
	int os_prio;                 /* effective OS priority, higher wins */
	/* prio: class (1 = was forced off). Here because an arrival reads
	 * it with the priorities; prio writes it only when it changes. */
	int cpu_bound;
	char name[32];

	_Alignas(64) int holding;    /* owned by the thread itself */
	int blocking_kind;           /* inside a blocking region: its kind */
	gil_return_fn on_return;     /* gil_thread_on_return() */
	void *on_return_arg;
	/* When the current hold began; 0 = not clocked (see gil_acquire). */
	uint64_t acquired_at_ns;
	enum gs_acquire_why acquire_why; /* why the current take() happens */
	/* Set by gil_note_wait() when take() had to wait: the wait's start
	 * (one clock read, shared with the policy for its deadlines). A
	 * policy's drop may note the wait that its take() will do (prio's
	 * forced drop); gil_acquire() clears it once the GIL is taken. */
	int wait_noted;
	uint64_t wait_start_ns;
	/* The clock read that ended the current hold in gil_release(), 0 when
	 * the hold was not clocked: the policy's drop reuses it (one clock
	 * read per transition). */
	uint64_t released_at_ns;

	/* Statistics: written by the owner only, read by anyone (relaxed). */
	_Atomic uint64_t n_acquisitions, n_contended, n_rel_blocking,
		n_rel_interval, n_rel_forced, n_drop_requests, n_hold_ns,
		n_wait_ns, n_checks;

	/*
	 * The grant line: what a granter writes into the waiter, in a cache
	 * line of its own (gil_attach aligns the handle), so that the grant
	 * moves one line to the waiter and back, not also the waiter's
	 * counters and clock fields beside it.
	 *
	 * Direct handoff (fifo, prio): the releaser writes GIL_GRANT_GIVEN
	 * here and wakes the waiter with a futex only if it sleeps. */
	_Alignas(64) _Atomic uint32_t grant;
	/* State the last grant replaced (prio takes a grant back to it). */
	_Atomic uint32_t given_from;

	/* Per-policy per-thread state. */
	_Alignas(64) void *policy_data;
	pthread_cond_t cond;         /* for policies that wake one thread */
	struct gil_thread *next_waiter; /* for queueing policies */
	int waiting;
};

/* gil_thread.grant */
enum {
	GIL_GRANT_SLEEP = 0, /* waiting; asleep on the futex (or about to be) */
	GIL_GRANT_GIVEN = 1, /* the GIL was handed over, not yet claimed */
	/* claimed: the thread holds (or last held) it; also how a spinning
	 * waiter is given it (no claim, no take-back: it runs at once) */
	GIL_GRANT_OWNED = 2,
	GIL_GRANT_SPIN = 3,  /* waiting; spinning, so no wake-up is needed */
};

struct gil_policy_ops {
	const char *name;
	int (*init)(gil_runtime *rt);           /* 0 or -errno */
	void (*fini)(gil_runtime *rt);
	int (*thread_init)(gil_thread *t);      /* optional */
	void (*thread_fini)(gil_thread *t);     /* optional */
	/*
	 * Blocks until t holds the GIL. Returns 1 if t had to wait.
	 * Called without the GIL; returns holding it.
	 */
	int (*take)(gil_runtime *rt, gil_thread *t);
	/* Gives the GIL up. Called holding it. reason: gs_release_reason.
	 * The policy may wait here after giving it (FORCE_SWITCHING). */
	void (*drop)(gil_runtime *rt, gil_thread *t, enum gs_release_reason why);
	/* Eval-breaker slow path while holding: yields if it should. */
	void (*check)(gil_runtime *rt, gil_thread *t);
};

extern const struct gil_policy_ops gil_policy_legacy_ops;
extern const struct gil_policy_ops gil_policy_cpython_ops;
extern const struct gil_policy_ops gil_policy_fifo_ops;
extern const struct gil_policy_ops gil_policy_prio_ops;

struct gil_runtime {
	struct gil_params params;
	const struct gil_policy_ops *ops;
	void *policy_data;
	pthread_mutex_t threads_lock;
	/* Attached threads. With one, nobody can wait: holds are not clocked. */
	_Atomic int nthreads;

	/*
	 * The switch line: what every acquire and release writes, and the
	 * eval breaker the holder reads at every check, in one cache line of
	 * its own (gil_create aligns it). A switch moves it from one thread's
	 * CPU to the other's once; read-mostly fields above stay shared, and
	 * the rarer counters below do not ride along.
	 */
	/* Non-zero when the holder should enter gil_check_slow(). */
	_Alignas(64) _Atomic unsigned eval_breaker;
	/* Threads that found the GIL taken and wait for it (counted from
	 * gil_note_wait() to acquired). */
	_Atomic int waiters;
	/* tid of the holder, 0 when free (for events and the prio policy). */
	_Atomic pid_t holder_tid;
	/* Handoff bookkeeping, touched only while holding the GIL. */
	pid_t last_releaser_tid;
	_Atomic(gil_thread *) holder;
	int last_release_had_waiters;
	pid_t last_holder_tid;
	_Atomic uint64_t n_acquisitions, n_handoffs_attempted, n_forced_drops,
		n_switches;

	_Alignas(64) _Atomic uint64_t n_handoffs_failed, n_drop_requests;
	/* Direct-handoff wake-ups issued after the policy mutex was dropped
	 * and not finished yet: gil_detach() waits for 0 before freeing. */
	_Atomic int wakes_in_flight;
	/* legacy: CPython 2.7's _Py_Ticker. It is one counter for the whole
	 * interpreter, not per thread: a thread taking the GIL after a
	 * blocking call continues the countdown where the last holder left
	 * it. Parked here while the GIL is free (ticks_left while held). */
	int ticker;
};

/* The common halves of taking and giving the GIL (gil.c): events, counters
 * and handoff bookkeeping around ops->take / ops->drop. Policies call them
 * from their check() to switch threads. */
void gil_acquire(gil_thread *t, enum gs_acquire_why why);
void gil_release(gil_thread *t, enum gs_release_reason reason);

/* Shared by the policies. */
pid_t gil_gettid(void);
/* Effective OS priority of the calling thread: higher = more important
 * (SCHED_FIFO/RR p -> 100 + p; SCHED_OTHER nice n -> 20 - n). */
int gil_current_os_prio(void);
/* Condition variables the policies wait on with a timeout use
 * CLOCK_MONOTONIC, so a wall-clock step cannot stretch or cut a switch
 * interval. */
void gil_cond_init_monotonic(pthread_cond_t *c);
/* pthread_cond_timedwait for `us` microseconds from now: 0 or ETIMEDOUT. */
int gil_cond_timedwait_us(pthread_cond_t *c, pthread_mutex_t *m, unsigned us);
/* Called by a policy when the thread asks the holder to drop. */
void gil_note_drop_request(gil_runtime *rt, gil_thread *requester,
			   pid_t holder_tid);
/* Called by a policy's take() once it knows it must wait, before it
 * sleeps or spins: counts the waiter and stamps the wait's start (returned,
 * and kept in t->wait_start_ns). Idempotent until gil_acquire() has taken
 * the GIL. */
uint64_t gil_note_wait(gil_thread *t);
/* The same with a start the caller already read (a thread forced off waits
 * from the clock read that ended its hold; prio's forced drop notes that
 * wait itself, before it gives the GIL away, while it still owns the
 * switch line). */
uint64_t gil_note_wait_since(gil_thread *t, uint64_t start_ns);

/* Futex helpers for the direct handoff. gil_futex_wait_until() sleeps while
 * *word == val, until woken or CLOCK_MONOTONIC reaches deadline_ns
 * (0 = no deadline); returns 0, or ETIMEDOUT. */
int gil_futex_wait_until(_Atomic uint32_t *word, uint32_t val,
			 uint64_t deadline_ns);
void gil_futex_wake_one(_Atomic uint32_t *word);
/* Hands the GIL to waiter w: called with the policy mutex held, which
 * gil_grant_unlock_wake() must drop (unlock) before it issues the futex
 * wake-up, so the woken thread does not run into a held mutex. Returns the
 * state the grant replaced (GIL_GRANT_SLEEP or GIL_GRANT_SPIN). A sleeping
 * w is given GIVEN, with the state it replaced in w->given_from (written
 * before the grant is) for a take-back; a spinning w is given OWNED at
 * once, one CAS and no wake-up accounting: it sees the word within a few
 * nanoseconds and owns the GIL without a CAS of its own, which would move
 * the word's cache line back again. prio's handback calls it without the
 * mutex, then gil_grant_wake(). */
uint32_t gil_grant_give(gil_thread *w);
void gil_grant_unlock_wake(gil_runtime *rt, pthread_mutex_t *m, gil_thread *w,
			   uint32_t replaced);
void gil_grant_wake(gil_runtime *rt, gil_thread *w, uint32_t replaced);
/* A waiter's claim of a given grant: 1 when it now holds the GIL. A
 * spinner is given OWNED directly (gil_grant_give) and only looks; a
 * sleeper's GIVEN is claimed with a CAS, which a take-back may beat. */
static inline int gil_grant_claim(gil_thread *t)
{
	uint32_t v = atomic_load_explicit(&t->grant, memory_order_acquire);
	if (v == GIL_GRANT_OWNED)
		return 1;
	return v == GIL_GRANT_GIVEN &&
	       atomic_compare_exchange_strong_explicit(
		       &t->grant, &v, GIL_GRANT_OWNED, memory_order_acquire,
		       memory_order_relaxed);
}
/* This thread's CPU (rseq through glibc: a load). */
int gil_current_cpu(void);

/* Counter bumps. GIL_BUMP is for a counter only one thread ever writes (the
 * owner of a gil_thread, or the GIL holder for the runtime's counters):
 * a relaxed load and store, no locked instruction; readers see a relaxed
 * snapshot. GIL_COUNT is a real atomic add, for counters written by
 * several threads (drop requests are posted by waiters). */
#define GIL_BUMP(field, n)                                                  \
	atomic_store_explicit(&(field),                                     \
			      atomic_load_explicit(&(field),                \
						   memory_order_relaxed) + (n), \
			      memory_order_relaxed)
#define GIL_COUNT(field, n)                                                 \
	atomic_fetch_add_explicit(&(field), (n), memory_order_relaxed)

#endif
