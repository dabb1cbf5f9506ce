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

struct gil_thread {
	struct gil_thread_hot hot;   /* must stay first: gil_check() reads it */
	gil_runtime *rt;
	pid_t tid;
	enum gil_role role;
	int prio;                    /* attach-time priority (higher wins) */
	int os_prio;                 /* effective OS priority, higher wins */
	char name[32];

	int holding;                 /* owned by the thread itself */
	int blocking_kind;           /* inside a blocking region: its kind */
	uint64_t acquired_at_ns;
	enum gs_acquire_why next_why; /* why the next acquire happens */

	/* Statistics: written by the owner, read by anyone (relaxed). */
	_Atomic uint64_t n_acquisitions, n_contended, n_rel_blocking,
		n_rel_interval, n_rel_forced, n_drop_requests, n_hold_ns,
		n_wait_ns, n_checks;

	/* Per-policy per-thread state. */
	void *policy_data;
	pthread_cond_t cond;         /* for policies that wake one thread */
	struct gil_thread *next_waiter; /* for queueing policies */
	int waiting;
	int cpu_bound;               /* prio: class (1 = was forced off) */
	uint64_t wait_start_ns;
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

	/* Non-zero when the holder should enter gil_check_slow(). */
	_Atomic unsigned eval_breaker;
	/* Threads between acquire_request and acquired. */
	_Atomic int waiters;
	/* tid of the holder, 0 when free (for events and the prio policy). */
	_Atomic pid_t holder_tid;
	_Atomic(gil_thread *) holder;

	/* Handoff bookkeeping, touched only while holding the GIL. */
	pid_t last_releaser_tid;
	int last_release_had_waiters;
	pid_t last_holder_tid;
	/* legacy: CPython 2.7's _Py_Ticker. It is one counter for the whole
	 * interpreter, not per thread: a thread taking the GIL after a
	 * blocking call continues the countdown where the last holder left
	 * it. Parked here while the GIL is free (ticks_left while held). */
	int ticker;

	_Atomic uint64_t n_acquisitions, n_handoffs_attempted, n_handoffs_failed,
		n_forced_drops, n_drop_requests, n_switches;

	pthread_mutex_t threads_lock;
	int nthreads;
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
/* Relaxed counter bump (owner writes, others read). */
#define GIL_COUNT(field, n)                                                 \
	atomic_fetch_add_explicit(&(field), (n), memory_order_relaxed)

#endif
