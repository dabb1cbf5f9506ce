/* SPDX-License-Identifier: MIT */
/*
 * Item 2: handoff latency, from the moment the holder starts releasing the
 * GIL to the moment the waiter returns from acquiring it, against the floor
 * of any such handoff: a futex ping-pong waking a sleeping thread.
 *
 * Both subjects run the same protocol with two threads that swap roles:
 *
 *   waiter:  armed = 1; block (gil_blocking_end / FUTEX_WAIT);
 *            t1 = now; sample = t1 - stamp; seq++
 *   holder:  wait for armed; spin `settle` so the waiter is really asleep;
 *            stamp = now; release (gil_blocking_begin / store + FUTEX_WAKE);
 *            wait for seq to move, then become the waiter.
 *
 * The old holder does not ask for the lock again before the waiter has it,
 * so what is timed is the wake-up path alone, not a failed handoff. A sample
 * in which the waiter never slept (the futex word had already changed, or
 * gil_thread_stats says the acquire was uncontended) is discarded and
 * counted. Stamps are CLOCK_MONOTONIC, which is one clock across CPUs.
 */
#define _GNU_SOURCE
#include "clock.h"
#include "bench.h"

#include <errno.h>
#include <linux/futex.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "gil.h"

struct pingpong {
	gil_runtime *rt;            /* NULL: the futex floor */
	int timed;                  /* futex: wait with a 5 ms deadline */
	_Atomic uint32_t word;      /* futex: 1 = the waiter may run */
	_Atomic int armed;          /* the other thread is about to block */
	_Atomic uint64_t stamp;
	_Atomic unsigned long seq;  /* samples taken (handoffs done) */
	unsigned long total;
	double *samples;            /* written by the current holder only */
	_Atomic unsigned long discarded;
	uint64_t settle_ns;
	int cpu;                    /* >= 0: both threads pinned there */
	pthread_barrier_t start;
};

static long futex(_Atomic uint32_t *addr, int op, uint32_t val)
{
	return syscall(SYS_futex, (uint32_t *)addr, op, val, NULL, NULL, 0);
}

/* What pthread_cond_timedwait(CLOCK_MONOTONIC) does underneath. */
static long futex_wait_deadline(_Atomic uint32_t *addr, uint32_t val,
				uint64_t timeout_ns)
{
	uint64_t at = gs_now_ns() + timeout_ns;
	struct timespec ts = { .tv_sec = (time_t)(at / 1000000000u),
			       .tv_nsec = (long)(at % 1000000000u) };
	return syscall(SYS_futex, (uint32_t *)addr,
		       FUTEX_WAIT_BITSET_PRIVATE, val, &ts, NULL,
		       FUTEX_BITSET_MATCH_ANY);
}

/* Spins (yielding after a while, so a loaded machine can run the waiter). */
static void wait_until_seq_moves(struct pingpong *pp, unsigned long seq)
{
	uint64_t start = gs_now_ns();
	while (atomic_load_explicit(&pp->seq, memory_order_acquire) == seq) {
		if (pp->cpu >= 0 || gs_now_ns() - start > 50000)
			sched_yield();
		else
			BENCH_CPU_RELAX();
	}
}

static void wait_until_armed(struct pingpong *pp)
{
	uint64_t start = gs_now_ns();
	while (!atomic_exchange_explicit(&pp->armed, 0, memory_order_acq_rel)) {
		if (gs_now_ns() - start > 50000)
			sched_yield();
		else
			BENCH_CPU_RELAX();
	}
}

static void record(struct pingpong *pp, uint64_t t1, int slept)
{
	unsigned long seq = atomic_load_explicit(&pp->seq, memory_order_relaxed);
	uint64_t t0 = atomic_load_explicit(&pp->stamp, memory_order_relaxed);
	if (slept && t1 >= t0)
		pp->samples[seq] = (double)(t1 - t0) / 1000.0;
	else {
		pp->samples[seq] = NAN;
		atomic_fetch_add(&pp->discarded, 1);
	}
	atomic_store_explicit(&pp->seq, seq + 1, memory_order_release);
}

/* The holder's half: returns 1 when all samples are taken. */
static int give(struct pingpong *pp, gil_thread *t)
{
	unsigned long seq = atomic_load_explicit(&pp->seq, memory_order_acquire);
	if (seq >= pp->total)
		return 1;
	wait_until_armed(pp);
	bench_spin_ns(pp->settle_ns);
	atomic_store_explicit(&pp->stamp, gs_now_ns(), memory_order_relaxed);
	if (t) {
		gil_blocking_begin(t, GIL_BLOCK_OTHER);
	} else {
		atomic_store_explicit(&pp->word, 1, memory_order_release);
		futex(&pp->word, FUTEX_WAKE_PRIVATE, 1);
	}
	wait_until_seq_moves(pp, seq);
	return atomic_load(&pp->seq) >= pp->total;
}

/* The waiter's half. */
static void take(struct pingpong *pp, gil_thread *t)
{
	if (t) {
		struct gil_thread_stats before, after;
		gil_thread_stats(t, &before);
		atomic_store_explicit(&pp->armed, 1, memory_order_release);
		gil_blocking_end(t, 0);
		uint64_t t1 = gs_now_ns();
		gil_thread_stats(t, &after);
		record(pp, t1, after.contended > before.contended);
		return;
	}
	int slept = 0;
	atomic_store_explicit(&pp->armed, 1, memory_order_release);
	while (!atomic_load_explicit(&pp->word, memory_order_acquire)) {
		long rc = pp->timed ? futex_wait_deadline(&pp->word, 0, 5000000)
				    : futex(&pp->word, FUTEX_WAIT_PRIVATE, 0);
		if (rc == 0)
			slept = 1;
	}
	uint64_t t1 = gs_now_ns();
	atomic_store_explicit(&pp->word, 0, memory_order_relaxed);
	record(pp, t1, slept);
}

struct player {
	struct pingpong *pp;
	int first;  /* starts as the holder */
};

static void *play(void *arg)
{
	struct player *pl = arg;
	struct pingpong *pp = pl->pp;
	gil_thread *t = NULL;

	if (pp->cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(pp->cpu, &set);
		pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	}
	if (pl->first) {
		if (pp->rt)
			t = gil_attach(pp->rt, "bench-a", GIL_ROLE_OTHER, 0);
		pthread_barrier_wait(&pp->start);
	} else {
		pthread_barrier_wait(&pp->start);
		if (pp->rt) {
			/* The first wait is the attach itself (a warm-up
			 * sample, dropped with the first tenth). */
			atomic_store_explicit(&pp->armed, 1,
					      memory_order_release);
			t = gil_attach(pp->rt, "bench-b", GIL_ROLE_OTHER, 0);
			record(pp, gs_now_ns(), 1);
		} else {
			take(pp, NULL);
		}
	}
	for (;;) {
		if (give(pp, t))
			break;
		take(pp, t);
	}
	if (t)
		gil_detach(t);
	return NULL;
}

/* One repetition: fills p50/p90/p99 in microseconds. -1 on failure. */
static int run_once(gil_runtime *rt, int timed, int cpu, unsigned long total,
		    uint64_t settle_ns, double pct[3], unsigned long *discarded)
{
	struct pingpong pp = {
		.rt = rt, .timed = timed, .cpu = cpu, .total = total,
		.settle_ns = settle_ns,
	};
	pp.samples = calloc(total + 1, sizeof(double));
	if (!pp.samples)
		return -1;
	pthread_barrier_init(&pp.start, NULL, 2);
	struct player a = { &pp, 1 }, b = { &pp, 0 };
	pthread_t ta, tb;
	if (pthread_create(&ta, NULL, play, &a) != 0) {
		free(pp.samples);
		return -1;
	}
	if (pthread_create(&tb, NULL, play, &b) != 0) {
		/* a waits at the barrier forever otherwise */
		fprintf(stderr, "bench: item 2: pthread_create: %s\n",
			strerror(errno));
		exit(1);
	}
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	pthread_barrier_destroy(&pp.start);

	/* Drop the warm-up tenth and the discarded samples. */
	size_t n = 0;
	for (unsigned long i = total / 10; i < total; i++)
		if (!isnan(pp.samples[i]))
			pp.samples[n++] = pp.samples[i];
	*discarded = atomic_load(&pp.discarded);
	if (n < 10) {
		free(pp.samples);
		return -1;
	}
	pct[0] = bench_percentile(pp.samples, n, 50);
	pct[1] = bench_percentile(pp.samples, n, 90);
	pct[2] = bench_percentile(pp.samples, n, 99);
	free(pp.samples);
	return 0;
}

static const enum gil_policy policies[] = {
	GIL_POLICY_LEGACY, GIL_POLICY_CPYTHON, GIL_POLICY_FIFO, GIL_POLICY_PRIO,
};
#define NPOL (sizeof(policies) / sizeof(policies[0]))
/* Subject 0 is the futex floor; 1 the same with the 5 ms deadline that
 * CPython's (and the cpython/fifo policies') timed waits arm. */
#define NFUTEX 2
#define NSUBJ (NPOL + NFUTEX)

/* cpu >= 0: both threads on that CPU; -1: wherever the scheduler puts them. */
static int run_placement(const struct bench_opts *o, struct bench_report *r,
			 int cpu)
{
	unsigned reps = o->quick ? 3 : 7;
	unsigned long total = o->quick ? 400 : 2000;
	uint64_t settle_ns = 20000;
	double *p[3];
	for (int k = 0; k < 3; k++)
		p[k] = calloc(NSUBJ * reps, sizeof(double));
	unsigned long discarded[NSUBJ] = { 0 };
	int present[NSUBJ], failed[NSUBJ] = { 0 };
	unsigned done[NSUBJ] = { 0 };
	for (size_t s = 0; s < NSUBJ; s++)
		present[s] = 1;
	if (!p[0] || !p[1] || !p[2]) {
		fprintf(stderr, "bench: item 2: out of memory\n");
		goto fail;
	}

	for (unsigned rep = 0; rep < reps; rep++) {
		for (size_t s = 0; s < NSUBJ; s++) {
			if (!present[s])
				continue;
			gil_runtime *rt = NULL;
			if (s >= NFUTEX) {
				struct gil_params gp;
				gil_params_default(&gp, policies[s - NFUTEX]);
				rt = gil_create(&gp);
				if (!rt) {
					present[s] = 0;
					continue;
				}
			}
			double pct[3];
			unsigned long disc = 0;
			if (run_once(rt, s == 1, cpu, total, settle_ns, pct, &disc) == 0) {
				for (int k = 0; k < 3; k++)
					p[k][s * reps + done[s]] = pct[k];
				done[s]++;
			} else {
				failed[s]++;
			}
			discarded[s] += disc;
			gil_destroy(rt);
		}
		if (o->verbose)
			fprintf(stderr, "bench: item 2: %s: repetition %u/%u done\n",
				cpu >= 0 ? "same CPU" : "any CPU", rep + 1, reps);
	}
	if (!done[0]) {
		fprintf(stderr, "bench: item 2: the futex ping-pong produced no "
				"samples\n");
		goto fail;
	}

	struct bench_row floor = { 0 };
	for (size_t s = 0; s < NSUBJ; s++) {
		char name[48];
		snprintf(name, sizeof(name), "%s%s",
			 s >= NFUTEX ? gil_policy_name(policies[s - NFUTEX])
			 : s	     ? "futex_pingpong_timed"
				     : "futex_pingpong",
			 cpu >= 0 ? "" : "/any-cpu");
		if (!present[s]) {
			bench_skip(r, 2, "policy %s is not in this build "
				   "(gil_create: EINVAL)", name);
			continue;
		}
		if (!done[s]) {
			bench_skip(r, 2, "%s: no repetition produced samples", name);
			continue;
		}
		struct bench_row *row = bench_add_row(r, 2, name, "us");
		if (!row) {
			fprintf(stderr, "bench: item 2: out of memory\n");
			goto fail;
		}
		bench_row_set(row, p[0] + s * reps, done[s]);
		row->p90 = bench_median(p[1] + s * reps, done[s]);
		row->p99 = bench_median(p[2] + s * reps, done[s]);
		row->samples = total - total / 10;
		if (s == 0) {
			floor = *row;
			snprintf(row->note, sizeof(row->note),
				 "one-way wake of a sleeping thread "
				 "(store + FUTEX_WAKE -> FUTEX_WAIT returns), %s; "
				 "%lu discarded",
				 cpu >= 0 ? "both threads on one CPU"
					  : "threads on any CPU",
				 discarded[s]);
		} else if (s == 1) {
			bench_row_ratio(row, &floor, 0);
			snprintf(row->note, sizeof(row->note),
				 "the same, waiting with FUTEX_WAIT_BITSET and a 5 ms "
				 "CLOCK_MONOTONIC deadline, as a timed condvar wait "
				 "does; %lu discarded", discarded[s]);
		} else {
			/* The goal is stated for the policies that hand off
			 * directly; the others are shown against the same floor. */
			enum gil_policy pol = policies[s - NFUTEX];
			int goal = pol == GIL_POLICY_FIFO || pol == GIL_POLICY_PRIO;
			bench_row_ratio(row, &floor, goal ? 1.5 : 0);
			snprintf(row->note, sizeof(row->note),
				 "gil_blocking_begin (holder) -> gil_blocking_end "
				 "returns (waiter); %lu discarded, %d failed reps",
				 discarded[s], failed[s]);
		}
	}
	for (int k = 0; k < 3; k++)
		free(p[k]);
	return 0;
fail:
	for (int k = 0; k < 3; k++)
		free(p[k]);
	return -1;
}

/*
 * Two placements. Same CPU (both threads pinned to the CPU bench started
 * on): the wake-up path alone, stable. Any CPU: where the scheduler puts the
 * threads; on a VM an idle vCPU halts and takes tens of microseconds to wake,
 * which swamps the lock's own cost, so this one is bimodal.
 */
int bench_item_handoff(const struct bench_opts *o, struct bench_report *r)
{
	int cpu = sched_getcpu();
	if (cpu < 0)
		cpu = 0;
	if (run_placement(o, r, cpu) < 0)
		return -1;
	return run_placement(o, r, -1);
}
