/* SPDX-License-Identifier: MIT */
/*
 * gs-bench-switchcost: what one I/O-return preemption costs a CPU-bound
 * thread, without sockets. The convoy scenario (docs/scenarios.md) pays
 * two such switches per request, but its figures mix them with the echo
 * pair's system calls, placement and every other job on the machine; this
 * loop keeps only the GIL protocol.
 *
 * A CPU thread does work units with gil_check() between them and stamps
 * the clock around each check: a check that lasted longer than
 * --threshold-ns is one switch, and its length is what the CPU thread lost
 * to it (its forced drop, the I/O thread's hold, the way back). An I/O
 * thread loops: gil_blocking_begin(), --gap-us of busy work off the GIL,
 * gil_blocking_end() (which preempts the CPU thread), --hold-units of work
 * under the GIL. The result is the distribution of the CPU thread's losses:
 * a median, not a mean, so the switches another job's preemption stretched
 * do not move it. A check that only missed the cache line a waiter's
 * arrival wrote (~0.2 us) is under the default threshold (0.6 us); a real
 * switch costs a few microseconds. The threads are not pinned: pinned, a
 * loaded machine's other jobs cannot move off their CPUs, and most
 * arrivals then find the CPU thread descheduled.
 *
 * usage: gs-bench-switchcost [-P POLICY] [-n SWITCHES] [--gap-us U]
 *                            [--hold-units N] [--threshold-ns T]
 * Prints one line: policy, switches, p25/p50/p75/p90 of the loss in ns,
 * and the medians of the I/O thread's gil_blocking_end() (its arrival: the
 * wait for the CPU thread's drop) and gil_blocking_begin() (its drop),
 * and the CPU each thread was on at the end.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "gil.h"

static gil_runtime *rt;
static _Atomic int stop, cpu_ready;
static unsigned long n_switches = 20000, gap_us = 5, hold_units = 20;
static uint64_t threshold_ns = 600;
static uint64_t *losses;
static _Atomic unsigned long n_losses; /* written by the CPU thread */
static volatile uint64_t sink;         /* keeps the work */
/* The I/O thread's side of each cycle: its gil_blocking_end() (arrival to
 * holding) and gil_blocking_begin() (its drop, the handback). */
static uint64_t *arrivals, *drops;
/* Where each thread ran at the end: on a VM the two vCPUs need not be
 * equally fast, and a placement lasts the whole run. */
static _Atomic int cpu_thread_cpu = -1;

/* A chain of dependent multiply-adds (the scenarios' work unit, ~30 ns). */
static inline uint64_t work_unit(uint64_t x)
{
	for (int i = 0; i < 24; i++)
		x = x * 6364136223846793005ull + 1442695040888963407ull;
	return x;
}

static void *cpu_main(void *arg)
{
	(void)arg;
	gil_thread *t = gil_attach(rt, "cpu-0", GIL_ROLE_CPU, 0);
	uint64_t x = 1;
	atomic_store(&cpu_ready, 1);
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		x = work_unit(x);
		uint64_t a = gs_now_ns();
		gil_check(t);
		uint64_t b = gs_now_ns();
		unsigned long n = atomic_load_explicit(&n_losses,
						       memory_order_relaxed);
		if (b - a > threshold_ns && n < n_switches) {
			losses[n] = b - a;
			atomic_store_explicit(&n_losses, n + 1,
					      memory_order_relaxed);
		}
	}
	atomic_store(&cpu_thread_cpu, sched_getcpu());
	gil_detach(t);
	sink = x;
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t pct(const uint64_t *v, unsigned long n, double p)
{
	unsigned long i = (unsigned long)(p * (double)(n - 1) + 0.5);
	return v[i];
}

int main(int argc, char **argv)
{
	enum gil_policy policy = GIL_POLICY_PRIO;
	static const struct option opts[] = {
		{"policy", required_argument, NULL, 'P'},
		{"switches", required_argument, NULL, 'n'},
		{"gap-us", required_argument, NULL, 'g'},
		{"hold-units", required_argument, NULL, 'u'},
		{"threshold-ns", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "P:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'P': {
			int p = gil_policy_from_name(optarg);
			if (p < 0) {
				fprintf(stderr, "gs-bench-switchcost: unknown policy '%s' (legacy, cpython, fifo, prio)\n", optarg);
				return 2;
			}
			policy = (enum gil_policy)p;
			break;
		}
		case 'n': n_switches = strtoul(optarg, NULL, 0); break;
		case 'g': gap_us = strtoul(optarg, NULL, 0); break;
		case 'u': hold_units = strtoul(optarg, NULL, 0); break;
		case 't': threshold_ns = strtoull(optarg, NULL, 0); break;
		case 'h':
			printf("usage: gs-bench-switchcost [-P POLICY] [-n SWITCHES] [--gap-us U] [--hold-units N] [--threshold-ns T]\n");
			return 0;
		default:
			return 2;
		}
	}
	if (!n_switches) {
		fprintf(stderr, "gs-bench-switchcost: -n must be at least 1\n");
		return 2;
	}
	losses = calloc(n_switches, sizeof(*losses));
	arrivals = calloc(4 * n_switches, sizeof(*arrivals));
	drops = calloc(4 * n_switches, sizeof(*drops));
	struct gil_params params;
	gil_params_default(&params, policy);
	rt = gil_create(&params);
	if (!losses || !arrivals || !drops || !rt) {
		fprintf(stderr, "gs-bench-switchcost: %s\n", strerror(errno));
		return 1;
	}
	gil_thread *io = gil_attach(rt, "io", GIL_ROLE_IO, 0);
	gil_blocking_begin(io, GIL_BLOCK_RECV);
	pthread_t cpu;
	pthread_create(&cpu, NULL, cpu_main, NULL);
	while (!atomic_load(&cpu_ready))
		sched_yield();
	uint64_t x = 2;
	uint64_t t0 = gs_now_ns();
	unsigned long cycles = 0;
	/* More cycles than switches: a few arrivals find the CPU thread
	 * between checks or descheduled, and a loss under the threshold is
	 * not counted. */
	for (unsigned long i = 0; atomic_load(&n_losses) < n_switches &&
				  i < 4 * n_switches; i++) {
		uint64_t until = gs_now_ns() + gap_us * 1000;
		while (gs_now_ns() < until)
			x = work_unit(x);
		uint64_t a = gs_now_ns();
		gil_blocking_end(io, 0);
		uint64_t b = gs_now_ns();
		for (unsigned long u = 0; u < hold_units; u++)
			x = work_unit(x);
		uint64_t c = gs_now_ns();
		gil_blocking_begin(io, GIL_BLOCK_RECV);
		uint64_t d = gs_now_ns();
		arrivals[cycles] = b - a;
		drops[cycles++] = d - c;
	}
	double wall = (double)(gs_now_ns() - t0) / 1e9;
	int io_cpu = sched_getcpu();
	atomic_store(&stop, 1);
	pthread_join(cpu, NULL);
	gil_blocking_end(io, 0);
	gil_detach(io);
	gil_destroy(rt);
	sink = x;
	unsigned long n = atomic_load(&n_losses);
	if (!n) {
		fprintf(stderr, "gs-bench-switchcost: no switch seen\n");
		return 1;
	}
	qsort(losses, n, sizeof(*losses), cmp_u64);
	qsort(arrivals, cycles, sizeof(*arrivals), cmp_u64);
	qsort(drops, cycles, sizeof(*drops), cmp_u64);
	printf("policy %s switches %lu wall_s %.3f loss_ns p25 %llu p50 %llu p75 %llu p90 %llu io_arrival_ns p50 %llu io_drop_ns p50 %llu cpus cpu-thread %d io-thread %d\n",
	       gil_policy_name(policy), n, wall,
	       (unsigned long long)pct(losses, n, 0.25),
	       (unsigned long long)pct(losses, n, 0.50),
	       (unsigned long long)pct(losses, n, 0.75),
	       (unsigned long long)pct(losses, n, 0.90),
	       (unsigned long long)pct(arrivals, cycles, 0.50),
	       (unsigned long long)pct(drops, cycles, 0.50),
	       atomic_load(&cpu_thread_cpu), io_cpu);
	free(losses);
	free(arrivals);
	free(drops);
	return 0;
}
