/* SPDX-License-Identifier: MIT */
/*
 * gil_stress: hammers one libgil policy with 2..N threads that come and go,
 * do random amounts of work, enter random blocking regions and yield, and
 * checks what must hold whatever the schedule:
 *
 *  - mutual exclusion, on an owner word of its own (an atomic exchange on
 *    entering and leaving every critical section) and on a plain counter
 *    only ever touched under the GIL;
 *  - no lost wake-up: a watchdog fails the run, with every thread's state,
 *    when no critical section has started for --watchdog seconds while
 *    threads are alive (every work unit and blocking region is short, so
 *    that can only be a thread stuck waiting for a GIL nobody holds, or a
 *    holder stuck inside the runtime);
 *  - counters balance: per thread, acquisitions = 1 + releases (blocking +
 *    interval + forced) and releases_blocking = blocking regions entered;
 *    for the runtime, acquisitions, forced drops and drop requests equal the
 *    sums over all threads, switches <= acquisitions, failed <= attempted.
 *
 * It stops after --handoffs switches (acquisitions by a thread other than
 * the previous holder).  docs/reliability.md has the long-run figures.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gil.h"

#define MAX_THREADS 64

/* --inject: break the rules on purpose, to show the checks catch it. */
enum { INJECT_NONE, INJECT_EXCLUSION, INJECT_STALL };

enum phase {
	PH_EMPTY,       /* slot unused */
	PH_ATTACHING,   /* in gil_attach: waiting for the GIL */
	PH_HOLDING,     /* holds the GIL, between critical sections */
	PH_CHECK,       /* in gil_check / gil_yield: may switch inside */
	PH_BLOCKING,    /* in a blocking region, GIL released */
	PH_REACQUIRING, /* in gil_blocking_end: waiting for the GIL */
	PH_DETACHING,
	PH_DONE,        /* thread finished, not joined yet */
};

static const char *const phase_names[] = {
	"empty", "attaching", "holding", "check", "blocking", "reacquiring",
	"detaching", "done",
};

struct slot {
	pthread_t th;
	int id;
	unsigned gen;
	uint64_t seed;
	_Atomic int phase;
	_Atomic uint64_t phase_ns;
	char name[32];
};

static struct {
	gil_runtime *rt;
	const char *policy;
	int max_threads;
	uint64_t handoffs;
	unsigned watchdog_s;
	int verbose;
	int inject;       /* self-test of the checks: INJECT_* */

	struct slot slots[MAX_THREADS];
	_Atomic int stop;

	/* The independent owner word: 0 free, else slot id + 1. */
	_Atomic int owner;
	/* Plain on purpose: only ever touched inside a critical section. */
	uint64_t protected_counter;
	_Atomic uint64_t cs_entries;

	/* Sums over finished threads. */
	_Atomic uint64_t threads_run, acquisitions, contended, rel_blocking,
		rel_interval, rel_forced, drop_requests, increments, blocking_regions,
		yields;
} S;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rnd(uint64_t *s)
{
	/* xorshift64* */
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1DULL;
}

static void set_phase(struct slot *sl, enum phase p)
{
	atomic_store_explicit(&sl->phase_ns, now_ns(), memory_order_relaxed);
	atomic_store_explicit(&sl->phase, p, memory_order_release);
}

static void dump_state(FILE *f)
{
	struct gil_runtime_stats rs;
	gil_runtime_stats(S.rt, &rs);
	uint64_t now = now_ns();
	fprintf(f, "  owner word: %d, critical sections so far: %" PRIu64 "\n",
		atomic_load(&S.owner), atomic_load(&S.cs_entries));
	fprintf(f, "  runtime: acquisitions %" PRIu64 " switches %" PRIu64
		" handoffs %" PRIu64 "/%" PRIu64 " failed, drop requests %" PRIu64
		" forced drops %" PRIu64 "\n",
		rs.acquisitions, rs.switches, rs.handoffs_failed,
		rs.handoffs_attempted, rs.drop_requests, rs.forced_drops);
	for (int i = 0; i < S.max_threads; i++) {
		struct slot *sl = &S.slots[i];
		int p = atomic_load(&sl->phase);
		if (p == PH_EMPTY)
			continue;
		fprintf(f, "  slot %2d %-16s %-11s for %.3f s\n", i, sl->name,
			phase_names[p],
			(double)(now - atomic_load(&sl->phase_ns)) / 1e9);
	}
}

static _Noreturn void fail(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "gil_stress: %s: FAILED: ", S.policy);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	dump_state(stderr);
	fflush(stderr);
	_exit(1);
}

static void cs_enter(struct slot *sl)
{
	int prev = atomic_exchange(&S.owner, sl->id + 1);
	if (prev != 0)
		fail("mutual exclusion: slot %d entered its critical section "
		     "while slot %d was in its own", sl->id, prev - 1);
	atomic_fetch_add_explicit(&S.cs_entries, 1, memory_order_relaxed);
}

static void cs_leave(struct slot *sl)
{
	int prev = atomic_exchange(&S.owner, 0);
	if (prev != sl->id + 1)
		fail("mutual exclusion: slot %d left its critical section and "
		     "found the owner word at %d", sl->id, prev - 1);
}

static void spin_ns(uint64_t ns)
{
	uint64_t end = now_ns() + ns;
	while (now_ns() < end)
		;
}

/* What the thread does with the GIL released. All of it short. */
static void blocking_work(uint64_t *r)
{
	switch (rnd(r) % 8) {
	case 0: case 1: case 2: break;            /* returns at once */
	case 3: case 4: sched_yield(); break;
	case 5: case 6: spin_ns(rnd(r) % 20000); break;
	default: {
		struct timespec ts = {0, (long)(1000 + rnd(r) % 50000)};
		nanosleep(&ts, NULL);
	}
	}
}

struct mb_arg {
	uint64_t *r;
	int would_block;
	int released;
};

/* A gil_call_maybe_blocking call that would block one time in two. */
static ssize_t maybe_blocking(void *arg, int nonblocking)
{
	struct mb_arg *a = arg;
	if (nonblocking && a->would_block) {
		errno = EAGAIN;
		return -1;
	}
	if (!nonblocking) {
		a->released = 1;
		blocking_work(a->r);
	}
	return 1;
}

static void *worker(void *arg)
{
	struct slot *sl = arg;
	uint64_t r = sl->seed;
	enum gil_role role = rnd(&r) % 2 ? GIL_ROLE_CPU : GIL_ROLE_IO;
	int prio = rnd(&r) % 4 == 0; /* prio policy: a few important threads */
	uint64_t life = 1 + rnd(&r) % 4000;
	uint64_t incr = 0, blocking = 0, yields = 0;

	set_phase(sl, PH_ATTACHING);
	gil_thread *t = gil_attach(S.rt, sl->name, role, prio);
	if (!t)
		fail("gil_attach: %s", strerror(errno));
	set_phase(sl, PH_HOLDING);

	for (uint64_t i = 0; i < life && !atomic_load_explicit(&S.stop,
							       memory_order_relaxed); i++) {
		if (S.inject == INJECT_STALL && sl->gen == 3 && i == 10)
			for (;;)  /* a holder that never comes back */
				pause();
		cs_enter(sl);
		unsigned n = (unsigned)(rnd(&r) % 64);
		for (unsigned k = 0; k < n; k++) {
			S.protected_counter++;
			incr++;
		}
		if (rnd(&r) % 16 == 0)
			spin_ns(rnd(&r) % 5000);
		cs_leave(sl);

		unsigned what = (unsigned)(rnd(&r) % 100);
		if (what < 20) {
			set_phase(sl, PH_BLOCKING);
			gil_blocking_begin(t, (enum gil_block_kind)(rnd(&r) % 8));
			if (S.inject == INJECT_EXCLUSION && rnd(&r) % 64 == 0) {
				/* a critical section without the GIL */
				cs_enter(sl);
				spin_ns(200000);
				cs_leave(sl);
			}
			blocking_work(&r);
			set_phase(sl, PH_REACQUIRING);
			gil_blocking_end(t, (size_t)(rnd(&r) % 4096));
			blocking++;
		} else if (what < 23) {
			set_phase(sl, PH_CHECK);
			gil_yield(t);
			yields++;
		} else if (what < 26) {
			struct mb_arg a = {&r, (int)(rnd(&r) % 2), 0};
			set_phase(sl, PH_CHECK);
			if (gil_call_maybe_blocking(t, GIL_BLOCK_RECV,
						    maybe_blocking, &a) < 0)
				fail("gil_call_maybe_blocking: %s", strerror(errno));
			blocking += (uint64_t)a.released;
		} else {
			set_phase(sl, PH_CHECK);
			gil_check(t);
		}
		set_phase(sl, PH_HOLDING);
	}

	struct gil_thread_stats st;
	gil_thread_stats(t, &st);
	if (st.acquisitions !=
	    1 + st.releases_blocking + st.releases_interval + st.releases_forced)
		fail("counters: %s: acquisitions %" PRIu64 " != 1 + blocking %"
		     PRIu64 " + interval %" PRIu64 " + forced %" PRIu64,
		     sl->name, st.acquisitions, st.releases_blocking,
		     st.releases_interval, st.releases_forced);
	if (st.releases_blocking != blocking)
		fail("counters: %s: releases_blocking %" PRIu64 " but %" PRIu64
		     " blocking regions entered", sl->name,
		     st.releases_blocking, blocking);
	if (st.contended > st.acquisitions)
		fail("counters: %s: contended %" PRIu64 " > acquisitions %" PRIu64,
		     sl->name, st.contended, st.acquisitions);
	atomic_fetch_add(&S.acquisitions, st.acquisitions);
	atomic_fetch_add(&S.contended, st.contended);
	atomic_fetch_add(&S.rel_blocking, st.releases_blocking);
	atomic_fetch_add(&S.rel_interval, st.releases_interval);
	atomic_fetch_add(&S.rel_forced, st.releases_forced);
	atomic_fetch_add(&S.drop_requests, st.drop_requests);
	atomic_fetch_add(&S.increments, incr);
	atomic_fetch_add(&S.blocking_regions, blocking);
	atomic_fetch_add(&S.yields, yields);
	atomic_fetch_add(&S.threads_run, 1);

	set_phase(sl, PH_DETACHING);
	gil_detach(t);
	set_phase(sl, PH_DONE);
	return NULL;
}

/*
 * Nothing started a critical section for watchdog_s seconds.  Tell a holder
 * that stopped (holding: its own fault, or stuck in the runtime while
 * switching: check) from a GIL that nobody holds while threads wait for it:
 * the lost wake-up.
 */
static _Noreturn void stalled(uint64_t now)
{
	int holder = -1, switching = -1, waiting = -1;
	uint64_t waited = 0;
	for (int i = 0; i < S.max_threads; i++) {
		int p = atomic_load(&S.slots[i].phase);
		uint64_t d = now - atomic_load(&S.slots[i].phase_ns);
		if (p == PH_HOLDING)
			holder = i;
		else if (p == PH_CHECK || p == PH_DETACHING)
			switching = i;
		else if ((p == PH_ATTACHING || p == PH_REACQUIRING) && d > waited) {
			waited = d;
			waiting = i;
		}
	}
	if (holder >= 0)
		fail("hang: no critical section for %u s: slot %d holds the GIL "
		     "and does not come back", S.watchdog_s, holder);
	if (waiting >= 0 && switching < 0 && atomic_load(&S.owner) == 0)
		fail("lost wake-up: no critical section for %u s, nobody holds "
		     "the GIL, and slot %d has waited %.3f s for it",
		     S.watchdog_s, waiting, (double)waited / 1e9);
	fail("hang: no critical section for %u s%s", S.watchdog_s,
	     switching >= 0 ? ", a thread is stuck inside gil_check/gil_yield/"
			      "gil_detach" : "");
}

static void *watchdog(void *arg)
{
	(void)arg;
	uint64_t last = atomic_load(&S.cs_entries), since = now_ns();
	for (;;) {
		struct timespec ts = {0, 50 * 1000 * 1000};
		nanosleep(&ts, NULL);
		uint64_t cur = atomic_load(&S.cs_entries), now = now_ns();
		int alive = 0;
		for (int i = 0; i < S.max_threads; i++) {
			int p = atomic_load(&S.slots[i].phase);
			alive += p != PH_EMPTY && p != PH_DONE;
		}
		if (cur != last || !alive) {
			last = cur;
			since = now;
			continue;
		}
		if (now - since >= (uint64_t)S.watchdog_s * 1000000000u)
			stalled(now);
	}
	return NULL;
}

static int spawn(struct slot *sl, uint64_t *r)
{
	sl->gen++;
	sl->seed = rnd(r) | 1;
	snprintf(sl->name, sizeof(sl->name), "w%d.%u", sl->id, sl->gen);
	set_phase(sl, PH_ATTACHING);
	int err = pthread_create(&sl->th, NULL, worker, sl);
	if (err) {
		fprintf(stderr, "gil_stress: pthread_create: %s\n", strerror(err));
		return -1;
	}
	return 0;
}

static int reap(int all)
{
	int running = 0;
	for (int i = 0; i < S.max_threads; i++) {
		struct slot *sl = &S.slots[i];
		int p = atomic_load_explicit(&sl->phase, memory_order_acquire);
		if (p == PH_EMPTY)
			continue;
		if (p == PH_DONE || all) {
			pthread_join(sl->th, NULL);
			atomic_store(&sl->phase, PH_EMPTY);
			continue;
		}
		running++;
	}
	return running;
}

static int run(uint64_t seed, const struct gil_params *params)
{
	S.rt = gil_create(params);
	if (!S.rt) {
		fprintf(stderr, "gil_stress: gil_create(%s): %s\n", S.policy,
			strerror(errno));
		return 1;
	}
	pthread_t wd;
	pthread_create(&wd, NULL, watchdog, NULL);

	uint64_t r = seed | 1, t0 = now_ns();
	int target = 2;
	struct gil_runtime_stats rs;
	for (;;) {
		gil_runtime_stats(S.rt, &rs);
		if (rs.switches >= S.handoffs)
			break;
		int running = reap(0);
		if (rnd(&r) % 64 == 0)
			target = 2 + (int)(rnd(&r) % (uint64_t)(S.max_threads - 1));
		for (int i = 0; i < S.max_threads && running < target; i++) {
			if (atomic_load(&S.slots[i].phase) != PH_EMPTY)
				continue;
			if (spawn(&S.slots[i], &r))
				return 1;
			running++;
		}
		struct timespec ts = {0, 200 * 1000};
		nanosleep(&ts, NULL);
	}
	atomic_store(&S.stop, 1);
	reap(1);
	double secs = (double)(now_ns() - t0) / 1e9;
	gil_runtime_stats(S.rt, &rs);

	int bad = 0;
#define CHECK(cond, ...)                                                    \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "gil_stress: %s: FAILED: ", S.policy); \
			fprintf(stderr, __VA_ARGS__);                       \
			fputc('\n', stderr);                                \
			bad = 1;                                            \
		}                                                           \
	} while (0)
	CHECK(S.protected_counter == S.increments,
	      "protected counter %" PRIu64 " != %" PRIu64 " increments made",
	      S.protected_counter, (uint64_t)S.increments);
	CHECK(rs.acquisitions == S.acquisitions,
	      "runtime acquisitions %" PRIu64 " != per-thread sum %" PRIu64,
	      rs.acquisitions, (uint64_t)S.acquisitions);
	CHECK(rs.forced_drops == S.rel_forced,
	      "runtime forced drops %" PRIu64 " != per-thread sum %" PRIu64,
	      rs.forced_drops, (uint64_t)S.rel_forced);
	CHECK(rs.drop_requests == S.drop_requests,
	      "runtime drop requests %" PRIu64 " != per-thread sum %" PRIu64,
	      rs.drop_requests, (uint64_t)S.drop_requests);
	CHECK(rs.switches <= rs.acquisitions, "switches %" PRIu64
	      " > acquisitions %" PRIu64, rs.switches, rs.acquisitions);
	CHECK(rs.handoffs_failed <= rs.handoffs_attempted,
	      "failed handoffs %" PRIu64 " > attempted %" PRIu64,
	      rs.handoffs_failed, rs.handoffs_attempted);
	CHECK(atomic_load(&S.owner) == 0, "owner word %d at the end",
	      atomic_load(&S.owner));

	printf("%-10s threads %6" PRIu64 "  acquisitions %10" PRIu64
	       "  handoffs %10" PRIu64 " (%.0f/s)  failed %" PRIu64 "/%" PRIu64
	       "  forced %" PRIu64 "  drop-req %" PRIu64 "  blocking %" PRIu64
	       "  %.1f s  %s\n",
	       S.policy, (uint64_t)S.threads_run, rs.acquisitions, rs.switches,
	       (double)rs.switches / secs, rs.handoffs_failed,
	       rs.handoffs_attempted, rs.forced_drops, rs.drop_requests,
	       (uint64_t)S.blocking_regions, secs, bad ? "FAILED" : "ok");
	fflush(stdout);
	/* The watchdog never returns; exit() takes it down. */
	return bad;
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: gil_stress [OPTIONS]\n"
"Stress one libgil policy and check mutual exclusion, wake-ups and counters.\n"
"\n"
"  -p, --policy NAME     legacy, legacy-sem, cpython, fifo or prio (default fifo)\n"
"  -n, --handoffs N      stop after N handoffs (switches) (default 200000)\n"
"  -t, --threads N       at most N threads at once, 2..%d (default 16)\n"
"  -s, --seed N          random seed (default: from the clock, printed)\n"
"  -i, --interval US     switch interval (default 100)\n"
"  -k, --check-ticks N   legacy check interval (default 20)\n"
"  -w, --watchdog S      fail when nothing ran for S seconds (default 20)\n"
"      --inject WHAT     self-test: break a rule on purpose so a check must\n"
"                        fail: 'exclusion' (a critical section without the\n"
"                        GIL) or 'stall' (a holder that never returns)\n"
"  -v, --verbose\n"
"  -h, --help\n"
"Exit status: 0 all checks held, 1 a check failed, 2 usage.\n", MAX_THREADS);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"policy", required_argument, NULL, 'p'},
		{"handoffs", required_argument, NULL, 'n'},
		{"threads", required_argument, NULL, 't'},
		{"seed", required_argument, NULL, 's'},
		{"interval", required_argument, NULL, 'i'},
		{"check-ticks", required_argument, NULL, 'k'},
		{"watchdog", required_argument, NULL, 'w'},
		{"verbose", no_argument, NULL, 'v'},
		{"inject", required_argument, NULL, 'I'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *policy = "fifo";
	uint64_t seed = 0;
	unsigned interval = 100, ticks = 20;
	S.handoffs = 200000;
	S.max_threads = 16;
	S.watchdog_s = 20;
	int c;
	char *end;
	while ((c = getopt_long(argc, argv, "p:n:t:s:i:k:w:vh", opts, NULL)) != -1) {
		errno = 0;
		end = (char *)"";
		switch (c) {
		case 'p': policy = optarg; break;
		case 'n': S.handoffs = strtoull(optarg, &end, 0); break;
		case 't': S.max_threads = (int)strtol(optarg, &end, 0); break;
		case 's': seed = strtoull(optarg, &end, 0); break;
		case 'i': interval = (unsigned)strtoul(optarg, &end, 0); break;
		case 'k': ticks = (unsigned)strtoul(optarg, &end, 0); break;
		case 'w': S.watchdog_s = (unsigned)strtoul(optarg, &end, 0); break;
		case 'v': S.verbose = 1; continue;
		case 'I':
			if (strcmp(optarg, "exclusion") == 0)
				S.inject = INJECT_EXCLUSION;
			else if (strcmp(optarg, "stall") == 0)
				S.inject = INJECT_STALL;
			else {
				fprintf(stderr, "gil_stress: --inject %s: expected "
					"'exclusion' or 'stall'\n", optarg);
				return 2;
			}
			continue;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		if (errno || *end) {
			fprintf(stderr, "gil_stress: -%c %s: not a number\n", c, optarg);
			return 2;
		}
	}
	if (optind != argc || S.max_threads < 2 || S.max_threads > MAX_THREADS ||
	    !S.watchdog_s) {
		usage(stderr);
		return 2;
	}
	int use_sem = strcmp(policy, "legacy-sem") == 0;
	int p = gil_policy_from_name(use_sem ? "legacy" : policy);
	if (p < 0) {
		fprintf(stderr, "gil_stress: unknown policy '%s' (legacy, "
			"legacy-sem, cpython, fifo, prio)\n", policy);
		return 2;
	}
	if (!seed)
		seed = now_ns() ^ (uint64_t)getpid();
	S.policy = policy;
	for (int i = 0; i < MAX_THREADS; i++)
		S.slots[i].id = i;
	if (S.verbose)
		fprintf(stderr, "gil_stress: %s seed %" PRIu64 "\n", policy, seed);

	struct gil_params params;
	gil_params_default(&params, (enum gil_policy)p);
	params.interval_us = interval;
	params.check_ticks = ticks;
	params.legacy_use_sem = use_sem;
	int rc = run(seed, &params);
	if (rc)
		fprintf(stderr, "gil_stress: %s: reproduce with -s %" PRIu64 "\n",
			policy, seed);
	return rc;
}
