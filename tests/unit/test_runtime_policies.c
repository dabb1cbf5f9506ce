/* SPDX-License-Identifier: MIT */
/*
 * libgil policies under stress and in the situations each one is built for.
 *
 * No wall-clock assertion anywhere: ordering and counters are checked
 * structurally. Tests that would hang if a policy starved a thread or never
 * preempted run under alarm(WATCHDOG_S), whose default action kills the
 * process, so ctest reports a failure instead of a hang.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gil.h"
#include "gil_internal.h"

#define WATCHDOG_S 120

/* ---- mutual exclusion under stress ----------------------------------- */

struct stress {
	gil_runtime *rt;
	_Atomic pid_t owner;     /* independent of the runtime's own state */
	_Atomic long violations;
	long plain;              /* only ever touched under the GIL */
	_Atomic long plain_expected;
	_Atomic uint64_t acq, rel_forced, rel_blocking, rel_interval, drops;
	_Atomic long bad_thread_balance;
	int ops_per_thread;
	unsigned seed;
};

static void enter(struct stress *s, pid_t me)
{
	pid_t expected = 0;
	if (!atomic_compare_exchange_strong(&s->owner, &expected, me))
		atomic_fetch_add(&s->violations, 1);
}

static void leave(struct stress *s, pid_t me)
{
	pid_t expected = me;
	if (!atomic_compare_exchange_strong(&s->owner, &expected, 0))
		atomic_fetch_add(&s->violations, 1);
}

struct stress_arg {
	struct stress *s;
	unsigned seed;
	int index;
};

static void *stress_thread(void *p)
{
	struct stress_arg *a = p;
	struct stress *s = a->s;
	unsigned seed = a->seed;
	enum gil_role role = (a->index & 1) ? GIL_ROLE_IO : GIL_ROLE_CPU;
	gil_thread *t = gil_attach(s->rt, "stress", role, rand_r(&seed) % 2);
	if (!t) {
		atomic_fetch_add(&s->violations, 1000000);
		return NULL;
	}
	pid_t me = gil_thread_tid(t);
	long mine = 0;
	enter(s, me);
	for (int op = 0; op < s->ops_per_thread; op++) {
		int what = rand_r(&seed) % 16;
		if (what == 0) {
			leave(s, me);
			gil_blocking_begin(t, GIL_BLOCK_SLEEP);
			if (rand_r(&seed) % 2)
				usleep(rand_r(&seed) % 50);
			else
				sched_yield();
			gil_blocking_end(t, 0);
			enter(s, me);
		} else if (what == 1) {
			leave(s, me);
			gil_yield(t);
			enter(s, me);
		} else {
			int work = rand_r(&seed) % 200;
			for (int i = 0; i < work; i++) {
				s->plain++;
				mine++;
				if (atomic_load_explicit(&s->owner,
							 memory_order_relaxed) != me)
					atomic_fetch_add(&s->violations, 1);
				if (i % 16 == 15) {
					leave(s, me);
					gil_check(t);
					enter(s, me);
				}
			}
			leave(s, me);
			gil_check(t);
			enter(s, me);
		}
	}
	struct gil_thread_stats st;
	gil_thread_stats(t, &st);
	/* Every release but the final one is followed by an acquisition. */
	if (st.acquisitions != 1 + st.releases_blocking + st.releases_interval +
				       st.releases_forced)
		atomic_fetch_add(&s->bad_thread_balance, 1);
	atomic_fetch_add(&s->acq, st.acquisitions);
	atomic_fetch_add(&s->rel_forced, st.releases_forced);
	atomic_fetch_add(&s->rel_blocking, st.releases_blocking);
	atomic_fetch_add(&s->rel_interval, st.releases_interval);
	atomic_fetch_add(&s->drops, st.drop_requests);
	atomic_fetch_add(&s->plain_expected, mine);
	leave(s, me);
	gil_detach(t);
	return NULL;
}

static void run_stress(enum gil_policy policy, int use_sem)
{
	alarm(WATCHDOG_S);
	struct gil_params params;
	gil_params_default(&params, policy);
	params.interval_us = 200;
	params.check_ticks = 10;
	params.legacy_use_sem = use_sem;
	struct stress s;
	memset(&s, 0, sizeof(s));
	s.rt = gil_create(&params);
	assert_non_null(s.rt);
	s.ops_per_thread = 1500;

	/* 12 thread lives, at most 4 at a time: threads start and exit while
	 * others hold and wait. */
	enum { LIVES = 12, CONCURRENT = 4 };
	pthread_t tids[LIVES];
	struct stress_arg args[LIVES];
	for (int i = 0; i < LIVES; i++) {
		if (i >= CONCURRENT)
			pthread_join(tids[i - CONCURRENT], NULL);
		args[i] = (struct stress_arg){&s, 0x9e3779b9u * (unsigned)(i + 1), i};
		assert_int_equal(pthread_create(&tids[i], NULL, stress_thread,
						&args[i]), 0);
	}
	for (int i = LIVES - CONCURRENT; i < LIVES; i++)
		pthread_join(tids[i], NULL);

	struct gil_runtime_stats rs;
	gil_runtime_stats(s.rt, &rs);
	assert_int_equal(atomic_load(&s.violations), 0);
	assert_int_equal(s.plain, atomic_load(&s.plain_expected));
	assert_int_equal(atomic_load(&s.bad_thread_balance), 0);
	assert_int_equal(rs.acquisitions, atomic_load(&s.acq));
	assert_int_equal(rs.forced_drops, atomic_load(&s.rel_forced));
	assert_int_equal(rs.drop_requests, atomic_load(&s.drops));
	assert_true(rs.handoffs_failed <= rs.handoffs_attempted);
	assert_true(atomic_load(&s.rel_blocking) > 0);
	if (policy == GIL_POLICY_LEGACY)
		assert_true(atomic_load(&s.rel_interval) > 0);
	/* handoffs_failed is not checked here: a thread counts as waiting
	 * from acquire_request on, before it reaches the policy's queue, so a
	 * releaser may legitimately beat it there (test_fifo_arrival_order and
	 * test_cpython_forced_release_hands_over check handoffs exactly). */
	gil_destroy(s.rt);
	alarm(0);
}

static void test_stress_legacy(void **state) { (void)state; run_stress(GIL_POLICY_LEGACY, 0); }
static void test_stress_legacy_sem(void **state) { (void)state; run_stress(GIL_POLICY_LEGACY, 1); }
static void test_stress_cpython(void **state) { (void)state; run_stress(GIL_POLICY_CPYTHON, 0); }
static void test_stress_fifo(void **state) { (void)state; run_stress(GIL_POLICY_FIFO, 0); }
static void test_stress_prio(void **state) { (void)state; run_stress(GIL_POLICY_PRIO, 0); }

/* ---- cpython: a forced releaser never gets the GIL straight back ------ */

struct spin {
	gil_runtime *rt;
	_Atomic int stop;
	_Atomic long progress[4];
	_Atomic int attached;
};

struct spin_arg {
	struct spin *s;
	int index;
	int prio;
};

static void *spin_thread(void *p)
{
	struct spin_arg *a = p;
	gil_thread *t = gil_attach(a->s->rt, "cpu", GIL_ROLE_CPU, a->prio);
	atomic_fetch_add(&a->s->attached, 1);
	while (!atomic_load(&a->s->stop)) {
		atomic_fetch_add(&a->s->progress[a->index], 1);
		gil_check(t);
	}
	gil_detach(t);
	return NULL;
}

static void test_cpython_forced_release_hands_over(void **state)
{
	(void)state;
	alarm(WATCHDOG_S);
	struct gil_params params;
	gil_params_default(&params, GIL_POLICY_CPYTHON);
	params.interval_us = 100;
	struct spin s = {0};
	s.rt = gil_create(&params);
	assert_non_null(s.rt);
	pthread_t th[3];
	struct spin_arg args[3];
	for (int i = 0; i < 3; i++) {
		args[i] = (struct spin_arg){&s, i, 0};
		pthread_create(&th[i], NULL, spin_thread, &args[i]);
	}
	/* Run until enough forced drops happened; no clock involved. */
	struct gil_runtime_stats rs;
	do {
		usleep(1000);
		gil_runtime_stats(s.rt, &rs);
	} while (rs.forced_drops < 300);
	atomic_store(&s.stop, 1);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	gil_runtime_stats(s.rt, &rs);
	/* Only CPU-bound threads: every release with a waiter was forced
	 * (or the final exit), and FORCE_SWITCHING makes the releaser wait
	 * until someone else took the GIL. */
	assert_true(rs.handoffs_attempted >= 300);
	assert_int_equal(rs.handoffs_failed, 0);
	gil_destroy(s.rt);
	alarm(0);
}

/* ---- fifo: grants in arrival order ------------------------------------ */

struct order {
	gil_runtime *rt;
	_Atomic int next_slot;
	int got[8];
};

struct order_arg {
	struct order *o;
	int index;
};

static void *order_thread(void *p)
{
	struct order_arg *a = p;
	gil_thread *t = gil_attach(a->o->rt, "waiter", GIL_ROLE_CPU, 0);
	a->o->got[atomic_fetch_add(&a->o->next_slot, 1)] = a->index;
	gil_detach(t);
	return NULL;
}

static void wait_for_waiters(gil_runtime *rt, int n)
{
	while (atomic_load(&rt->waiters) < n)
		sched_yield();
}

static void test_fifo_arrival_order(void **state)
{
	(void)state;
	alarm(WATCHDOG_S);
	struct gil_params params;
	gil_params_default(&params, GIL_POLICY_FIFO);
	/* Waiters must not ask the (idle) holder to drop during the test. */
	params.interval_us = 3600000000u; /* an hour */
	struct order o = {0};
	o.rt = gil_create(&params);
	assert_non_null(o.rt);
	gil_thread *holder = gil_attach(o.rt, "holder", GIL_ROLE_MAIN, 0);
	enum { N = 6 };
	pthread_t th[N];
	struct order_arg args[N];
	for (int i = 0; i < N; i++) {
		args[i] = (struct order_arg){&o, i};
		pthread_create(&th[i], NULL, order_thread, &args[i]);
		/* The next one is only created once this one is queued. */
		wait_for_waiters(o.rt, i + 1);
	}
	gil_blocking_begin(holder, GIL_BLOCK_OTHER);
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	gil_blocking_end(holder, 0);
	for (int i = 0; i < N; i++)
		assert_int_equal(o.got[i], i);
	struct gil_runtime_stats rs;
	gil_runtime_stats(o.rt, &rs);
	assert_int_equal(rs.handoffs_failed, 0);
	assert_int_equal(rs.drop_requests, 0);
	gil_detach(holder);
	gil_destroy(o.rt);
	alarm(0);
}

/* ---- prio: a returning I/O thread preempts a CPU holder at once -------- */

struct preempt {
	gil_runtime *rt;
	_Atomic int stop;
	_Atomic long cpu_progress;
	_Atomic int cpu_attached;
	struct gil_thread_stats cpu_stats;
};

static void *preempt_cpu(void *p)
{
	struct preempt *x = p;
	gil_thread *t = gil_attach(x->rt, "cpu", GIL_ROLE_CPU, 0);
	atomic_store(&x->cpu_attached, 1);
	while (!atomic_load(&x->stop)) {
		atomic_fetch_add(&x->cpu_progress, 1);
		gil_check(t);
	}
	gil_thread_stats(t, &x->cpu_stats);
	gil_detach(t);
	return NULL;
}

static void test_prio_io_preempts_cpu(void **state)
{
	(void)state;
	alarm(WATCHDOG_S);
	struct gil_params params;
	gil_params_default(&params, GIL_POLICY_PRIO);
	/* An hour: if the I/O thread had to wait for the interval, the
	 * watchdog would fire long before. Every drop request counted below
	 * is therefore the immediate one made on arrival. */
	params.interval_us = 3600000000u;
	struct preempt x = {0};
	x.rt = gil_create(&params);
	assert_non_null(x.rt);
	gil_thread *io = gil_attach(x.rt, "io", GIL_ROLE_IO, 0);
	pthread_t cpu;
	pthread_create(&cpu, NULL, preempt_cpu, &x);
	wait_for_waiters(x.rt, 1);

	enum { ROUNDS = 50 };
	for (int r = 0; r < ROUNDS; r++) {
		long before = atomic_load(&x.cpu_progress);
		gil_blocking_begin(io, GIL_BLOCK_RECV);
		/* The CPU thread now holds the GIL and is running. */
		while (atomic_load(&x.cpu_progress) <= before + 1)
			sched_yield();
		gil_blocking_end(io, 1);
	}
	struct gil_thread_stats ios;
	gil_thread_stats(io, &ios);
	atomic_store(&x.stop, 1);
	gil_blocking_begin(io, GIL_BLOCK_OTHER);
	pthread_join(cpu, NULL);
	gil_blocking_end(io, 0);

	struct gil_runtime_stats rs;
	gil_runtime_stats(x.rt, &rs);
	/* One immediate drop request per return, each honoured by a forced
	 * release of the CPU holder; nobody else asked. */
	assert_int_equal(ios.drop_requests, ROUNDS);
	assert_int_equal(ios.contended, ROUNDS);
	assert_int_equal(x.cpu_stats.releases_forced, ROUNDS);
	assert_int_equal(rs.drop_requests, ROUNDS);
	assert_int_equal(rs.handoffs_failed, 0);
	gil_detach(io);
	gil_destroy(x.rt);
	alarm(0);
}

/* ---- prio: CPU threads still progress beside busy I/O threads -------- */

struct mix {
	gil_runtime *rt;
	_Atomic int stop;
	_Atomic long progress[2];
};

struct mix_arg {
	struct mix *m;
	int index;
};

static void *mix_cpu(void *p)
{
	struct mix_arg *a = p;
	struct mix *m = a->m;
	gil_thread *t = gil_attach(m->rt, "cpu", GIL_ROLE_CPU, 0);
	while (!atomic_load(&m->stop)) {
		atomic_fetch_add(&m->progress[a->index], 1);
		gil_check(t);
	}
	gil_detach(t);
	return NULL;
}

static void *mix_io(void *p)
{
	struct mix *m = p;
	gil_thread *t = gil_attach(m->rt, "io", GIL_ROLE_IO, 0);
	while (!atomic_load(&m->stop)) {
		gil_blocking_begin(t, GIL_BLOCK_READ);
		gil_blocking_end(t, 0);
		for (int i = 0; i < 20; i++)
			gil_check(t);
	}
	gil_detach(t);
	return NULL;
}

static void test_prio_no_cpu_starvation(void **state)
{
	(void)state;
	alarm(WATCHDOG_S);
	struct gil_params params;
	gil_params_default(&params, GIL_POLICY_PRIO);
	params.interval_us = 500;
	struct mix m = {0};
	m.rt = gil_create(&params);
	assert_non_null(m.rt);
	pthread_t io[3], cpu[2];
	struct mix_arg args[2];
	for (int i = 0; i < 3; i++)
		pthread_create(&io[i], NULL, mix_io, &m);
	for (int i = 0; i < 2; i++) {
		args[i] = (struct mix_arg){&m, i};
		pthread_create(&cpu[i], NULL, mix_cpu, &args[i]);
	}
	/* Ends only when both CPU threads made progress beside three threads
	 * that return from "I/O" continuously; starvation trips the watchdog. */
	while (atomic_load(&m.progress[0]) < 200000 ||
	       atomic_load(&m.progress[1]) < 200000)
		usleep(1000);
	atomic_store(&m.stop, 1);
	for (int i = 0; i < 3; i++)
		pthread_join(io[i], NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(cpu[i], NULL);
	gil_destroy(m.rt);
	alarm(0);
}

/* ---- prio: the grant order ------------------------------------------ */

static void *order_thread_prio(void *p)
{
	struct order_arg *a = p;
	/* index 0..2: low gil priority, 3..5: high */
	gil_thread *t = gil_attach(a->o->rt, "w", GIL_ROLE_CPU, a->index >= 3);
	a->o->got[atomic_fetch_add(&a->o->next_slot, 1)] = a->index;
	gil_detach(t);
	return NULL;
}

static void test_prio_grant_order(void **state)
{
	(void)state;
	alarm(WATCHDOG_S);
	struct gil_params params;
	gil_params_default(&params, GIL_POLICY_PRIO);
	params.interval_us = 3600000000u;
	params.prio_inherit = 0;
	struct order o = {0};
	o.rt = gil_create(&params);
	assert_non_null(o.rt);
	gil_thread *holder = gil_attach(o.rt, "holder", GIL_ROLE_MAIN, 10);
	enum { N = 6 };
	pthread_t th[N];
	struct order_arg args[N];
	for (int i = 0; i < N; i++) {
		args[i] = (struct order_arg){&o, i};
		pthread_create(&th[i], NULL, order_thread_prio, &args[i]);
		wait_for_waiters(o.rt, i + 1);
	}
	gil_blocking_begin(holder, GIL_BLOCK_OTHER);
	for (int i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	gil_blocking_end(holder, 0);
	/* High priority first, each priority level in arrival order. */
	static const int want[N] = {3, 4, 5, 0, 1, 2};
	for (int i = 0; i < N; i++)
		assert_int_equal(o.got[i], want[i]);
	gil_detach(holder);
	gil_destroy(o.rt);
	alarm(0);
}

/* ---- legacy: one interpreter-wide ticker, as _Py_Ticker --------------- */

static void test_legacy_ticker_is_shared(void **state)
{
	(void)state;
	struct gil_params params;
	gil_params_default(&params, GIL_POLICY_LEGACY);
	params.check_ticks = 10;
	gil_runtime *rt = gil_create(&params);
	assert_non_null(rt);
	gil_thread *t = gil_attach(rt, "main", GIL_ROLE_MAIN, 0);
	struct gil_thread_stats st;
	for (int i = 0; i < 4; i++)
		gil_check(t);
	/* A blocking call does not restart the countdown in CPython 2.7. */
	gil_blocking_begin(t, GIL_BLOCK_OTHER);
	gil_blocking_end(t, 0);
	for (int i = 0; i < 6; i++)
		gil_check(t);
	gil_thread_stats(t, &st);
	assert_int_equal(st.releases_interval, 0);
	gil_check(t); /* the 11th tick: --_Py_Ticker < 0 */
	gil_thread_stats(t, &st);
	assert_int_equal(st.releases_interval, 1);
	/* ... and the switch restarts it at check_ticks. */
	for (int i = 0; i < 10; i++)
		gil_check(t);
	gil_thread_stats(t, &st);
	assert_int_equal(st.releases_interval, 1);
	gil_check(t);
	gil_thread_stats(t, &st);
	assert_int_equal(st.releases_interval, 2);
	gil_detach(t);
	gil_destroy(rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stress_legacy),
		cmocka_unit_test(test_stress_legacy_sem),
		cmocka_unit_test(test_stress_cpython),
		cmocka_unit_test(test_stress_fifo),
		cmocka_unit_test(test_stress_prio),
		cmocka_unit_test(test_cpython_forced_release_hands_over),
		cmocka_unit_test(test_fifo_arrival_order),
		cmocka_unit_test(test_prio_io_preempts_cpu),
		cmocka_unit_test(test_prio_no_cpu_starvation),
		cmocka_unit_test(test_prio_grant_order),
		cmocka_unit_test(test_legacy_ticker_is_shared),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
