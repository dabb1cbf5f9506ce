/* SPDX-License-Identifier: MIT */
/*
 * Writes a large, protocol-consistent native trace for the analyzer benchmark
 * (bench/analyzer/run.sh): CPU-bound threads forced off every switch interval
 * by drop requests, I/O threads blocking and re-acquiring behind them, some
 * failed handoffs. The sequences follow libgil's event protocol, so the state
 * machine accepts them and every metric has work to do.
 *
 * usage: gen_trace OUT EVENTS [CPU_THREADS IO_THREADS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gil_events.h"
#include "trace_writer.h"

#define MAXT 64

static struct gs_writer *w;
static uint64_t nevents;
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(uint64_t lo, uint64_t hi)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return lo + rng % (hi - lo + 1);
}

static void ev(uint64_t ts, uint32_t tid, unsigned type, unsigned a8,
	       uint32_t a0, uint32_t a1)
{
	struct gs_record r = { .ts_ns = ts, .tid = tid, .cpu = (uint16_t)(tid & 1),
			       .type = (uint8_t)type, .a8 = (uint8_t)a8,
			       .a0 = a0, .a1 = a1 };
	gs_writer_records(w, tid, &r, 1);
	nevents++;
}

struct th {
	uint32_t tid;
	int io;
	uint64_t wake;     /* blocked I/O thread: when its call returns */
	int blocked;
	uint64_t last_ts;  /* per-thread time never goes backwards */
};

static struct th T[MAXT];
static int nt;
static int queue[MAXT], qlen;

static void enqueue(int i) { queue[qlen++] = i; }
static int dequeue(void)
{
	int i = queue[0];
	memmove(queue, queue + 1, (size_t)(qlen - 1) * sizeof(queue[0]));
	qlen--;
	return i;
}

/* I/O threads whose call returned by `until` come back and ask. */
static void wake_io(uint64_t until, int holder)
{
	for (;;) {
		int best = -1;
		for (int i = 0; i < nt; i++)
			if (T[i].blocked && T[i].wake <= until &&
			    (best < 0 || T[i].wake < T[best].wake))
				best = i;
		if (best < 0)
			return;
		struct th *t = &T[best];
		t->blocked = 0;
		ev(t->wake, t->tid, GS_EV_blocking_end, GS_BLOCK_RECV, 64, 0);
		ev(t->wake, t->tid, GS_EV_acquire_request,
		   GS_WHY_AFTER_BLOCKING, (uint32_t)qlen,
		   holder >= 0 ? T[holder].tid : 0);
		enqueue(best);
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: %s OUT EVENTS [CPU_THREADS IO_THREADS]\n",
			argv[0]);
		return 2;
	}
	uint64_t target = strtoull(argv[2], NULL, 10);
	int ncpu = argc > 3 ? atoi(argv[3]) : 2;
	int nio = argc > 4 ? atoi(argv[4]) : 2;
	if (ncpu < 1 || nio < 0 || ncpu + nio < 2 || ncpu + nio > MAXT) {
		fprintf(stderr, "%s: 2..%d threads, at least one CPU-bound\n",
			argv[0], MAXT);
		return 2;
	}
	struct gs_file_header h = {
		.source = GS_SOURCE_LIBGIL, .runtime = GS_RUNTIME_LIBGIL,
		.pid = 4242, .start_ns = 1000000, .policy = 2,
		.interval_us = 5000,
	};
	snprintf(h.policy_name, sizeof(h.policy_name), "cpython");
	snprintf(h.command, sizeof(h.command), "bench/analyzer/gen_trace %s",
		 argv[2]);
	w = gs_writer_open(argv[1], &h);
	if (!w) {
		perror(argv[1]);
		return 1;
	}
	nt = ncpu + nio;
	uint64_t now = 1000000;
	for (int i = 0; i < nt; i++) {
		T[i].tid = 5000 + (uint32_t)i;
		T[i].io = i >= ncpu;
		struct gs_thread_block tb = { .tid = T[i].tid,
			.role = T[i].io ? GS_ROLE_IO : GS_ROLE_CPU,
			.os_prio = 20, .gil_prio = T[i].io ? 1 : 0 };
		snprintf(tb.name, sizeof(tb.name), "%s-%d", T[i].io ? "io" : "cpu", i);
		gs_writer_thread(w, &tb);
		ev(now, T[i].tid, GS_EV_thread_start, tb.role, 20, (uint32_t)tb.gil_prio);
		ev(now + 10, T[i].tid, GS_EV_acquire_request, GS_WHY_FIRST,
		   (uint32_t)i, i ? T[0].tid : 0);
		if (i)
			enqueue(i);
		now += 100;
	}
	int holder = 0;
	uint32_t prev = 0;
	uint8_t why = GS_WHY_FIRST;
	now += 100;
	ev(now, T[0].tid, GS_EV_acquired, why, (uint32_t)qlen, prev);
	while (nevents < target) {
		struct th *t = &T[holder];
		uint64_t rel;
		if (t->io) {
			/* short burst of Python work, then a blocking call */
			rel = now + rnd(5000, 40000);
			wake_io(rel, holder);
			ev(rel - 100, t->tid, GS_EV_blocking_begin, GS_BLOCK_RECV, 0, 0);
			ev(rel, t->tid, GS_EV_release, GS_RELEASE_BLOCKING,
			   (uint32_t)qlen, 0);
			t->blocked = 1;
			t->wake = rel + rnd(20000, 400000);
		} else if (qlen) {
			/* forced off after the interval by the first waiter */
			uint64_t req = now + 5000000 + rnd(0, 60000);
			wake_io(req, holder);
			int fw = queue[0];
			ev(req, T[fw].tid, GS_EV_drop_request, 0, t->tid, 0);
			rel = req + rnd(200, 30000);
			wake_io(rel, holder);
			ev(rel, t->tid, GS_EV_release, GS_RELEASE_FORCED,
			   (uint32_t)qlen, 1);
			if (rnd(0, 99) < 8) {
				/* GIL battle: the releaser takes it back */
				ev(rel + 300, t->tid, GS_EV_acquire_request,
				   GS_WHY_AFTER_FORCED, (uint32_t)qlen, 0);
				now = rel + 900;
				ev(now, t->tid, GS_EV_acquired, GS_WHY_AFTER_FORCED,
				   (uint32_t)qlen, t->tid);
				prev = t->tid;
				continue;
			}
			ev(rel + 400, t->tid, GS_EV_acquire_request,
			   GS_WHY_AFTER_FORCED, (uint32_t)qlen + 1, 0);
			enqueue(holder);
		} else {
			/* alone: runs until an I/O thread comes back */
			uint64_t next = UINT64_MAX;
			for (int i = 0; i < nt; i++)
				if (T[i].blocked && T[i].wake < next)
					next = T[i].wake;
			now = next == UINT64_MAX ? now + 1000000 : next;
			wake_io(now, holder);
			continue;
		}
		prev = t->tid;
		if (!qlen) {
			/* nobody waits: the next I/O thread back takes it */
			uint64_t next = UINT64_MAX;
			for (int i = 0; i < nt; i++)
				if (T[i].blocked && T[i].wake < next)
					next = T[i].wake;
			wake_io(next, -1);
			rel = next + 150;
		}
		holder = dequeue();
		now = rel + rnd(2000, 20000);
		wake_io(now, -1);
		why = !T[holder].last_ts ? GS_WHY_FIRST
		    : T[holder].io ? GS_WHY_AFTER_BLOCKING : GS_WHY_AFTER_FORCED;
		T[holder].last_ts = now;
		ev(now, T[holder].tid, GS_EV_acquired, why, (uint32_t)qlen, prev);
	}
	char err[320];
	if (gs_writer_close(w, now + 1000, 0, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	printf("%llu events\n", (unsigned long long)nevents);
	return 0;
}
