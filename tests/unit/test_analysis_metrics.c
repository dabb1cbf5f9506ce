/* SPDX-License-Identifier: MIT */
/*
 * State machine + metrics on small synthetic traces whose every figure was
 * computed by hand (the comments show the arithmetic). The same trace shapes
 * are the worked examples of docs/metrics.md.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "analyze.h"
#include "test_analysis_build.h"

enum { T1 = 101, T2 = 202, T3 = 303 };

static struct gs_thread_metrics *thr(struct gs_analysis *a, uint32_t tid)
{
	uint32_t i = gs_state_lookup(a->state, tid);
	assert_int_not_equal(i, GS_NO_THREAD);
	return &a->metrics->th[i];
}

static void analyze_ok(const char *path, const struct gs_analyze_opts *o,
		       struct gs_analysis *a)
{
	char err[512] = "";
	struct gs_analyze_opts def = { 0 };
	if (gs_analyze(path, o ? o : &def, a, err, sizeof(err)))
		fail_msg("analyze %s: %s", path, err);
}

/*
 * Two threads: "cpu" (T1, gil_prio 0) and "io" (T2, gil_prio 1).
 *
 *   0 both start
 *  10 T1 request(first)           20 T1 acquired        hold 20..130 = 110
 *  30 T2 request(first)          100 T2 drop_request    drop latency 130-100 = 30
 * 130 T1 release(forced, w=1)    140 T2 acquired        handoff ok, 10 ns
 * 150 T1 request(after_forced)
 * 200 T2 blocking_begin(recv)    210 T2 release(blocking, w=1)
 * 220 T1 acquired                                       handoff ok, 10 ns
 * 300 T2 blocking_end            305 T2 request(after_blocking)
 * 400 T2 drop_request            450 T1 release(forced, w=1)  drop latency 50
 * 460 T1 request(after_forced)   470 T1 acquired        handoff FAILED, 20 ns
 *                                 (T2, higher priority, waits: inversion 470..600)
 * 600 T1 release(interval, w=1)  650 T2 acquired        handoff ok, 50 ns
 *                                 io wait 650-300 = 350 behind T1 (interval)
 * 700 T2 release(exit)           710 T2 exit            800 T1 exit, END 800
 */
static void write_two_thread(struct tb *t)
{
	tb_open(t, "two", 0, 0);
	tb_thread(t, T1, "cpu", GS_ROLE_CPU, 20, 0);
	tb_thread(t, T2, "io", GS_ROLE_IO, 20, 1);
	tb_ev(t, 0, T1, GS_EV_thread_start, GS_ROLE_CPU, 20, 0);
	tb_ev(t, 0, T2, GS_EV_thread_start, GS_ROLE_IO, 20, 1);
	tb_ev(t, 10, T1, GS_EV_acquire_request, GS_WHY_FIRST, 0, 0);
	tb_ev(t, 20, T1, GS_EV_acquired, GS_WHY_FIRST, 0, 0);
	tb_ev(t, 30, T2, GS_EV_acquire_request, GS_WHY_FIRST, 0, T1);
	tb_ev(t, 100, T2, GS_EV_drop_request, 0, T1, 0);
	tb_ev(t, 130, T1, GS_EV_release, GS_RELEASE_FORCED, 1, 1);
	tb_ev(t, 140, T2, GS_EV_acquired, GS_WHY_FIRST, 0, T1);
	tb_ev(t, 150, T1, GS_EV_acquire_request, GS_WHY_AFTER_FORCED, 0, T2);
	tb_ev(t, 200, T2, GS_EV_blocking_begin, GS_BLOCK_RECV, 0, 0);
	tb_ev(t, 210, T2, GS_EV_release, GS_RELEASE_BLOCKING, 1, 0);
	tb_ev(t, 220, T1, GS_EV_acquired, GS_WHY_AFTER_FORCED, 0, T2);
	tb_ev(t, 300, T2, GS_EV_blocking_end, GS_BLOCK_RECV, 5, 0);
	tb_ev(t, 305, T2, GS_EV_acquire_request, GS_WHY_AFTER_BLOCKING, 0, T1);
	tb_ev(t, 400, T2, GS_EV_drop_request, 0, T1, 0);
	tb_ev(t, 450, T1, GS_EV_release, GS_RELEASE_FORCED, 1, 1);
	tb_ev(t, 460, T1, GS_EV_acquire_request, GS_WHY_AFTER_FORCED, 1, 0);
	tb_ev(t, 470, T1, GS_EV_acquired, GS_WHY_AFTER_FORCED, 1, T1);
	tb_ev(t, 600, T1, GS_EV_release, GS_RELEASE_INTERVAL, 1, 0);
	tb_ev(t, 650, T2, GS_EV_acquired, GS_WHY_AFTER_BLOCKING, 0, T1);
	tb_ev(t, 700, T2, GS_EV_release, GS_RELEASE_EXIT, 0, 0);
	tb_ev(t, 710, T2, GS_EV_thread_exit, 0, 0, 0);
	tb_ev(t, 800, T1, GS_EV_thread_exit, 0, 0, 0);
	tb_close(t, 800);
}

static void test_two_threads_exact(void **state)
{
	(void)state;
	struct tb t;
	write_two_thread(&t);
	struct gs_analysis a;
	analyze_ok(t.path, NULL, &a);
	struct gs_metrics *m = a.metrics;

	assert_int_equal(a.partial, 0);
	assert_int_equal(m->span_ns, 800);
	assert_int_equal(m->acquisitions, 5);
	assert_int_equal(m->switches, 4);     /* prev holder 0,1,2,(1=self),1 */
	assert_int_equal(m->forced_drops, 2);
	assert_int_equal(m->drop_requests, 2);
	assert_int_equal(m->handoffs_attempted, 4); /* releases at 130 210 450 600 */
	assert_int_equal(m->handoffs_failed, 1);    /* 450 -> T1 again at 470 */
	assert_int_equal(m->handoff_latency.count, 3);
	assert_int_equal(m->handoff_latency.sum, 10 + 10 + 50);
	assert_int_equal(m->handoff_latency.max, 50);
	assert_int_equal(m->battle_latency.sum, 20);
	assert_int_equal(m->drop_latency.count, 2);
	assert_int_equal(m->drop_latency.sum, 30 + 50);
	assert_int_equal(m->drop_latency.min, 30);
	assert_int_equal(m->held_ns, 110 + 230 + 130 + 70 + 50);
	/* >= 1 waiter: 10..20 (T1, uncontended but between request and
	 * acquired), 30..140, 150..220, 305..650 (T1 joins at 460..470) */
	assert_int_equal(m->contended_ns, 10 + 110 + 70 + 345);
	assert_int_equal(m->max_waiters, 2);
	assert_int_equal(m->waiters_area_ns, 10 + 110 + 70 + 345 + 10);

	struct gs_thread_metrics *c = thr(&a, T1), *io = thr(&a, T2);
	assert_string_equal(c->name, "cpu");
	assert_int_equal(c->acquisitions, 3);
	assert_int_equal(c->hold.count, 3);
	assert_int_equal(c->hold.sum, 110 + 230 + 130);
	assert_int_equal(c->hold.min, 110);
	assert_int_equal(c->hold.max, 230);
	assert_int_equal(c->hold_ns, 470);
	assert_int_equal(c->wait_ns[GS_WHY_FIRST], 10);
	assert_int_equal(c->wait_ns[GS_WHY_AFTER_FORCED], 70 + 10);
	assert_int_equal(c->wait[GS_WHY_AFTER_FORCED].count, 2);
	assert_int_equal(c->releases[GS_RELEASE_FORCED], 2);
	assert_int_equal(c->releases[GS_RELEASE_INTERVAL], 1);
	assert_int_equal(c->handoffs_given, 3);
	assert_int_equal(c->handoffs_failed, 1);
	assert_int_equal(c->contended, 1);     /* at 220 only */
	assert_int_equal(c->wall_ns, 800);
	assert_int_equal(c->nogil_ns, (10 - 0) + (150 - 130) + (460 - 450) + (800 - 600));

	assert_int_equal(io->acquisitions, 2);
	assert_int_equal(io->hold.sum, 70 + 50);
	assert_int_equal(io->wait_ns[GS_WHY_FIRST], 110);
	assert_int_equal(io->wait_ns[GS_WHY_AFTER_BLOCKING], 345);
	assert_int_equal(io->blocked_ns, 90);
	assert_int_equal(io->io_calls, 1);
	assert_int_equal(io->io_wait_ns, 350);
	assert_int_equal(io->io_wait_behind_cpu.count, 1); /* T1 released: interval */
	assert_int_equal(io->drop_requests, 2);
	assert_int_equal(io->handoffs_received, 2);
	assert_int_equal(io->contended, 2);
	assert_int_equal(io->wall_ns, 710);

	/* policy inversion: T2 (prio 1) waited while T1 (prio 0) was granted
	 * at 470 and held it to 600 */
	assert_int_equal(m->inv[GS_INV_POLICY].count, 1);
	assert_int_equal(m->inv[GS_INV_POLICY].total_ns, 130);
	assert_int_equal(m->inv[GS_INV_POLICY].worst_waiter, gs_state_lookup(a.state, T2));
	assert_int_equal(m->inv[GS_INV_POLICY].worst_holder, gs_state_lookup(a.state, T1));
	assert_int_equal(io->inv_ns[GS_INV_POLICY], 130);
	assert_int_equal(m->inv[GS_INV_SCHED].count, 0);

	/* runtime-style counters of the state machine agree */
	const struct gs_state_counters *k = gs_state_counters(a.state);
	assert_int_equal(k->acquisitions, 5);
	assert_int_equal(k->handoffs_attempted, 4);
	assert_int_equal(k->handoffs_failed, 1);
	assert_int_equal(k->switches, 4);
	assert_int_equal(k->drop_requests, 2);

	int found_inv = 0;
	for (size_t i = 0; i < m->nfindings; i++)
		if (m->findings[i].kind == GS_FIND_INVERSION_POLICY)
			found_inv = 1;
	assert_true(found_inv);
	gs_analysis_free(&a);

	/* a window 200..500: clipped durations, events inside only */
	struct gs_analyze_opts o = { .metrics = { .from_ns = 200, .to_ns = 500 } };
	analyze_ok(t.path, &o, &a);
	m = a.metrics;
	assert_int_equal(m->span_ns, 300);
	/* acquires at 220 and 470 */
	assert_int_equal(m->acquisitions, 2);
	/* held: T2 200..210, T1 220..450, T1 470..500 */
	assert_int_equal(m->held_ns, 10 + 230 + 30);
	/* handoffs completed in the window: 220 (ok), 470 (failed) */
	assert_int_equal(m->handoffs_attempted, 2);
	assert_int_equal(m->handoffs_failed, 1);
	/* waiting: T1 200..220, T2 305..500 */
	assert_int_equal(m->contended_ns, 20 + 195);
	gs_analysis_free(&a);
	unlink(t.path);
}

/* Convoy: an I/O thread whose re-acquires wait ~ one switch interval behind
 * a CPU-bound thread, 6 times (interval 1000 ns in the header).
 * Cycle k (base b = 10000 * k + 1000):
 *   b      io blocking_begin, release(blocking)      cpu acquired b+10
 *   b+100  io blocking_end, request(after_blocking)
 *   b+1100 io drop_request; b+1110 cpu release(forced, w=1); b+1120 io acquired
 *   io wait after I/O = 1120 - 100 = 1020 (near 1000); cpu requests at b+1130
 *   b+5000 io release... (next cycle starts by io blocking again)
 */
static void test_convoy(void **state)
{
	(void)state;
	struct tb t;
	tb_open(&t, "convoy", 1, 0); /* interval 1 us */
	tb_thread(&t, T1, "cpu", GS_ROLE_CPU, 20, 0);
	tb_thread(&t, T2, "io", GS_ROLE_IO, 20, 0);
	tb_acquire_uncontended(&t, T2, GS_WHY_FIRST, 0, 1);
	tb_ev(&t, 2, T1, GS_EV_acquire_request, GS_WHY_FIRST, 0, T2);
	for (uint64_t k = 0; k < 6; k++) {
		uint64_t b = 10000 * k + 1000;
		tb_ev(&t, b, T2, GS_EV_blocking_begin, GS_BLOCK_RECV, 0, 0);
		tb_ev(&t, b + 1, T2, GS_EV_release, GS_RELEASE_BLOCKING, 1, 0);
		tb_ev(&t, b + 10, T1, GS_EV_acquired, GS_WHY_FIRST, 0, T2);
		tb_ev(&t, b + 100, T2, GS_EV_blocking_end, GS_BLOCK_RECV, 1, 0);
		tb_ev(&t, b + 101, T2, GS_EV_acquire_request, GS_WHY_AFTER_BLOCKING, 0, T1);
		tb_ev(&t, b + 1100, T2, GS_EV_drop_request, 0, T1, 0);
		tb_ev(&t, b + 1110, T1, GS_EV_release, GS_RELEASE_FORCED, 1, 1);
		tb_ev(&t, b + 1120, T2, GS_EV_acquired, GS_WHY_AFTER_BLOCKING, 0, T1);
		tb_ev(&t, b + 1130, T1, GS_EV_acquire_request, GS_WHY_AFTER_FORCED, 0, T2);
	}
	tb_close(&t, 70000);
	struct gs_analysis a;
	analyze_ok(t.path, NULL, &a);
	struct gs_metrics *m = a.metrics;
	struct gs_thread_metrics *io = thr(&a, T2);
	assert_int_equal(io->io_calls, 6);
	assert_int_equal(io->io_wait_ns, 6 * 1020);
	assert_int_equal(io->io_wait.min, 1020);
	assert_int_equal(io->io_wait.max, 1020);
	assert_int_equal(gs_hist_quantile(&io->io_wait, 0.5), 1020);
	assert_int_equal(io->io_wait_behind_cpu.count, 6);
	assert_int_equal(io->io_near_interval, 6);
	assert_int_equal(m->ref_interval_ns, 1000);
	assert_int_equal(m->drop_latency.count, 6);
	assert_int_equal(m->drop_latency.sum, 6 * 10);
	/* io's wall time: 0 .. 70000 (never exits) */
	assert_int_equal(io->wall_ns, 70000);
	int convoy = 0;
	for (size_t i = 0; i < m->nfindings; i++) {
		struct gs_finding *f = &m->findings[i];
		if (f->kind != GS_FIND_CONVOY)
			continue;
		convoy++;
		assert_int_equal(f->thread, gs_state_lookup(a.state, T2));
		assert_int_equal(f->other, gs_state_lookup(a.state, T1));
		assert_int_equal(f->total_ns, 6120);
		assert_true(f->share > 0.0874 && f->share < 0.0875); /* 6120/70000 */
	}
	assert_int_equal(convoy, 1);
	gs_analysis_free(&a);

	/* with a 10 us reference the waits are far below half an interval */
	struct gs_analyze_opts o = { .metrics = { .interval_us = 10 } };
	analyze_ok(t.path, &o, &a);
	for (size_t i = 0; i < a.metrics->nfindings; i++)
		assert_int_not_equal(a.metrics->findings[i].kind, GS_FIND_CONVOY);
	gs_analysis_free(&a);
	unlink(t.path);
}

/* Scheduler events: T1 (low) holds and is preempted 20..50 while T2 (high)
 * waits: a 30 ns scheduler-level inversion; T2 runs 25..28 and sleeps
 * again still waiting: one wasted wake-up. */
static void test_sched_inversion(void **state)
{
	(void)state;
	struct tb t;
	tb_open(&t, "sched", 5000, GS_HDR_F_SCHED_EVENTS);
	tb_thread(&t, T1, "low", GS_ROLE_CPU, 20, 0);
	tb_thread(&t, T2, "high", GS_ROLE_HIGH_PRIO, 20, 5);
	tb_acquire_uncontended(&t, T1, GS_WHY_FIRST, 0, 1);
	tb_ev(&t, 5, T1, GS_EV_sched_switch_in, 0, 0, 0);
	tb_ev(&t, 10, T2, GS_EV_acquire_request, GS_WHY_FIRST, 0, T1);
	tb_ev(&t, 20, T1, GS_EV_sched_switch_out, GS_SCHED_PREEMPTED, 0, 0);
	tb_ev(&t, 25, T2, GS_EV_sched_switch_in, 0, 0, 0);
	tb_ev(&t, 28, T2, GS_EV_sched_switch_out, GS_SCHED_BLOCKED, 0, 0);
	tb_ev(&t, 50, T1, GS_EV_sched_switch_in, 0, 0, 0);
	tb_ev(&t, 60, T1, GS_EV_release, GS_RELEASE_FORCED, 1, 0);
	tb_ev(&t, 65, T2, GS_EV_sched_wakeup, 0, T1, 0);
	tb_ev(&t, 70, T2, GS_EV_sched_switch_in, 0, 0, 0);
	tb_ev(&t, 71, T2, GS_EV_acquired, GS_WHY_FIRST, 0, T1);
	tb_close(&t, 100);
	struct gs_analysis a;
	analyze_ok(t.path, NULL, &a);
	struct gs_metrics *m = a.metrics;
	assert_int_equal(m->have_sched, 1);
	assert_int_equal(m->inv[GS_INV_SCHED].count, 1);
	assert_int_equal(m->inv[GS_INV_SCHED].total_ns, 30);
	assert_int_equal(m->inv[GS_INV_POLICY].count, 0);
	struct gs_thread_metrics *lo = thr(&a, T1), *hi = thr(&a, T2);
	assert_int_equal(hi->wasted_wakeups, 1);
	assert_int_equal(lo->cpu_ns[GS_CPU_RUNNING], 15 + 50);
	assert_int_equal(lo->cpu_ns[GS_CPU_RUNNABLE], 30);
	assert_int_equal(hi->cpu_ns[GS_CPU_SLEEPING], 65 - 28);
	assert_int_equal(hi->cpu_ns[GS_CPU_RUNNABLE], 70 - 65);
	assert_int_equal(lo->inv_caused_ns[GS_INV_SCHED], 30);
	gs_analysis_free(&a);
	unlink(t.path);
}

/* ---- the state machine alone: impossible sequences and gaps ---- */

static struct gs_event mk(uint64_t ts, uint32_t tid, unsigned type, unsigned a8,
			  uint32_t a0, uint32_t a1)
{
	struct gs_event e = { .ts_ns = ts, .tid = tid, .type = (uint8_t)type,
			      .a8 = (uint8_t)a8, .a0 = a0, .a1 = a1,
			      .offset = 1000 + ts };
	return e;
}

static int feed_all(struct gs_state *st, const struct gs_event *ev, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (gs_state_feed(st, &ev[i]))
			return (int)i;
	return -1;
}

static const struct gs_trace_info libgil_info = { .runtime = GS_RUNTIME_LIBGIL };

static void test_two_holders(void **state)
{
	(void)state;
	struct gs_event ev[] = {
		mk(10, T1, GS_EV_acquire_request, 0, 0, 0),
		mk(11, T1, GS_EV_acquired, 0, 0, 0),
		mk(20, T2, GS_EV_acquire_request, 0, 0, T1),
		mk(30, T2, GS_EV_acquired, 0, 0, T1),
	};
	struct gs_state *st = gs_state_new(&libgil_info, 0);
	assert_int_equal(feed_all(st, ev, 4), 3);
	assert_string_equal(gs_state_error(st),
			    "offset 1030: two holders: tid 202 acquired the GIL "
			    "while tid 101 holds it (expected tid 101's release first)");
	gs_state_free(st);

	/* the same in a trace known to have lost events: a gap, not an error */
	st = gs_state_new(&libgil_info, 1);
	assert_int_equal(feed_all(st, ev, 4), -1);
	assert_int_equal(gs_state_counters(st)->gaps, 1);
	assert_int_equal(gs_state_holder(st), gs_state_lookup(st, T2));
	assert_int_equal(gs_state_thread(st, gs_state_lookup(st, T1))->gil,
			 GS_ST_UNKNOWN);
	gs_state_free(st);
}

static void test_release_by_non_holder(void **state)
{
	(void)state;
	struct gs_event ev[] = {
		mk(10, T1, GS_EV_acquire_request, 0, 0, 0),
		mk(11, T1, GS_EV_acquired, 0, 0, 0),
		mk(20, T2, GS_EV_acquire_request, 0, 0, T1),
		mk(30, T2, GS_EV_release, GS_RELEASE_FORCED, 0, 0),
	};
	struct gs_state *st = gs_state_new(&libgil_info, 0);
	assert_int_equal(feed_all(st, ev, 4), 3);
	assert_non_null(strstr(gs_state_error(st), "offset 1030: release by tid "
			       "202 while tid 101 holds the GIL"));
	gs_state_free(st);
}

static void test_time_backwards_and_no_request(void **state)
{
	(void)state;
	struct gs_event ev[] = {
		mk(10, T1, GS_EV_acquire_request, 0, 0, 0),
		mk(5, T1, GS_EV_acquired, 0, 0, 0),
	};
	struct gs_state *st = gs_state_new(&libgil_info, 0);
	assert_int_equal(feed_all(st, ev, 2), 1);
	assert_string_equal(gs_state_error(st),
			    "offset 1005: time goes backwards: 5 ns after 10 ns "
			    "(expected events in time order)");
	gs_state_free(st);

	struct gs_event ev2[] = {
		mk(1, T1, GS_EV_thread_start, 0, 20, 0),
		mk(10, T1, GS_EV_acquired, 0, 0, 0),
	};
	st = gs_state_new(&libgil_info, 0);
	assert_int_equal(feed_all(st, ev2, 2), 1);
	assert_non_null(strstr(gs_state_error(st), "without asking (expected "
			       "acquire_request first)"));
	gs_state_free(st);
}

/* A lost marker resets the thread: the hold it had is not closed with a
 * made-up end, and the next holder is not a "two holders" error. */
static void test_lost_marker(void **state)
{
	(void)state;
	struct gs_event ev[] = {
		mk(10, T1, GS_EV_acquire_request, 0, 0, 0),
		mk(11, T1, GS_EV_acquired, 0, 0, 0),
		mk(15, T1, GS_EV_lost, 0, 42, 0),
		mk(20, T2, GS_EV_acquire_request, 0, 0, 0),
		mk(30, T2, GS_EV_acquired, 0, 0, T1),
		mk(40, T2, GS_EV_release, GS_RELEASE_FORCED, 0, 0),
	};
	struct gs_state *st = gs_state_new(&libgil_info, 0);
	struct gs_metrics *m = gs_metrics_new(NULL, &libgil_info);
	gs_metrics_attach(m, st);
	assert_int_equal(feed_all(st, ev, 6), -1);
	gs_state_finish(st, 50);
	gs_metrics_finish(m, st);
	assert_int_equal(gs_state_counters(st)->gaps, 1);
	assert_int_equal(gs_state_counters(st)->lost, 42);
	assert_int_equal(m->lost, 42);
	/* T1's hold 11..? is dropped, T2's 30..40 counted */
	assert_int_equal(m->held_ns, 10);
	assert_int_equal(m->th[gs_state_lookup(st, T1)].hold.count, 0);
	int lost = 0;
	for (size_t i = 0; i < m->nfindings; i++)
		lost |= m->findings[i].kind == GS_FIND_LOST;
	assert_true(lost);
	gs_metrics_free(m);
	gs_state_free(st);
}

/* Histogram: exact count/min/max/mean, percentiles within a bucket (3 %). */
static void test_histogram(void **state)
{
	(void)state;
	struct gs_hist h = { 0 }, g = { 0 };
	for (uint64_t v = 1; v <= 1000; v++)
		gs_hist_record(&h, v * 1000);
	assert_int_equal(h.count, 1000);
	assert_int_equal(h.min, 1000);
	assert_int_equal(h.max, 1000000);
	assert_int_equal(h.sum, 500500000);
	uint64_t p50 = gs_hist_quantile(&h, 0.5), p99 = gs_hist_quantile(&h, 0.99);
	assert_true(p50 >= 500000 && p50 <= 500000 + 500000 / 32);
	assert_true(p99 >= 990000 && p99 <= 990000 + 990000 / 32);
	assert_int_equal(gs_hist_quantile(&h, 1.0), 1000000);
	for (unsigned i = 0; i < GS_HIST_BUCKETS; i++) {
		assert_int_equal(gs_hist_index(gs_hist_bucket_low(i)), i);
		assert_int_equal(gs_hist_index(gs_hist_bucket_high(i)), i);
	}
	gs_hist_record(&g, 7);
	assert_int_equal(gs_hist_merge(&g, &h), 0);
	assert_int_equal(g.count, 1001);
	assert_int_equal(g.min, 7);
	assert_int_equal(g.max, 1000000);
	gs_hist_free(&h);
	gs_hist_free(&g);
}

/* A trace whose events were partly inferred (GS_HDR_F_INFERRED): a thread
 * asking for the GIL while it still holds it is a gap there, an error in an
 * exact trace. */
static void test_inferred_events_are_lossy(void **state)
{
	(void)state;
	for (int inferred = 0; inferred <= 1; inferred++) {
		struct tb t;
		tb_open(&t, inferred ? "inferred" : "exact", 5000,
			inferred ? GS_HDR_F_INFERRED : 0);
		tb_thread(&t, T1, "a", 0, 20, 0);
		tb_acquire_uncontended(&t, T1, GS_WHY_FIRST, 10, 20);
		/* its release was inferred late: the request comes first */
		tb_acquire_uncontended(&t, T1, GS_WHY_AFTER_INTERVAL, 30, 40);
		tb_ev(&t, 50, T1, GS_EV_release, GS_RELEASE_EXIT, 0, 0);
		tb_close(&t, 60);
		struct gs_analysis a;
		char err[512] = "";
		struct gs_analyze_opts o = { 0 };
		int rc = gs_analyze(t.path, &o, &a, err, sizeof(err));
		if (inferred) {
			if (rc != 0)
				fail_msg("inferred trace rejected: %s", err);
			assert_true(gs_state_counters(a.state)->gaps >= 1);
			gs_analysis_free(&a);
		} else {
			assert_int_equal(rc, -1);
			assert_non_null(strstr(err, "while holding"));
		}
		unlink(t.path);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inferred_events_are_lossy),
		cmocka_unit_test(test_two_threads_exact),
		cmocka_unit_test(test_convoy),
		cmocka_unit_test(test_sched_inversion),
		cmocka_unit_test(test_two_holders),
		cmocka_unit_test(test_release_by_non_holder),
		cmocka_unit_test(test_time_backwards_and_no_request),
		cmocka_unit_test(test_lost_marker),
		cmocka_unit_test(test_histogram),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
