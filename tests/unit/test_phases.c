/* SPDX-License-Identifier: MIT */
/*
 * Phase extraction for gilscope replay, on synthetic traces whose phases
 * were worked out by hand (the comments show the arithmetic).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "phases.h"
#include "test_analysis_build.h"

enum { T1 = 11, T2 = 22 };

static void extract_ok(const char *path, struct gs_phase_program *p,
		       struct gs_analysis *a)
{
	char err[512] = "";
	if (gs_phases_extract(path, 0, p, a, err, sizeof(err)))
		fail_msg("extract %s: %s", path, err);
}

static void extract_done(struct gs_phase_program *p, struct gs_analysis *a,
			 const char *path)
{
	gs_phases_free(p);
	gs_analysis_free(a);
	unlink(path);
}

static const struct gs_phase_thread *by_tid(const struct gs_phase_program *p,
					    uint32_t tid)
{
	for (size_t i = 0; i < p->nthreads; i++)
		if (p->threads[i].tid == tid)
			return &p->threads[i];
	fail_msg("tid %u not in the program", tid);
	return NULL;
}

static void assert_phase(const struct gs_phase *ph, int kind, uint64_t ns,
			 int block_kind)
{
	assert_int_equal(ph->kind, kind);
	assert_int_equal(ph->ns, ns);
	if (kind == GS_PHASE_BLOCK)
		assert_int_equal(ph->block_kind, block_kind);
}

/*
 * T1 "cpu" (CPU-bound, cut twice by forced drops) and T2 "io" (one recv).
 *
 *    0  T1 start, request, acquired        T1 holds 0..1000
 *  100  T2 start (first sight: 100 after the trace start, while T1 holds:
 *        T1 created it 100 ns into its work)
 *  110  T2 request(first)       (the replay starts T2 at 110)
 * 1000  T1 release(forced, w=1)            hold #1 = 1000
 * 1010  T2 acquired
 * 1200  T1 request(after_forced)  (1000..1200: FORCE_SWITCHING wait, not work)
 * 1500  T2 blocking_begin(recv), release(blocking)  T2 CPU = 490
 * 1510  T1 acquired
 * 2000  T1 release(forced)                 hold #2 = 490
 * 2000  T1 request, 2005 acquired (nobody waited)
 * 2500  T2 blocking_end, request(after_blocking)   T2 BLOCK recv = 1000
 * 3000  T1 release(forced, w=1)            hold #3 = 995
 * 3010  T2 acquired; 3100 T1 request
 * 3300  T2 release(exit), 3300 T2 exit     T2 CPU = 290
 * 3310  T1 acquired; 3800 T1 blocking_begin(sleep) + release(blocking)
 *                                          hold #4 = 490: T1 CPU = 1000+490+995+490 = 2975
 * 4800  T1 blocking_end, request, 4801 acquired     T1 BLOCK sleep = 1000
 * 5000  T1 release(exit), exit             T1 CPU = 199
 */
static void test_stitching(void **state)
{
	(void)state;
	struct tb t;
	tb_open(&t, "phases", 5000, 0);
	tb_thread(&t, T1, "cpu", GS_ROLE_CPU, 20, 0);
	tb_thread(&t, T2, "io", GS_ROLE_IO, 20, 0);
	/* T1 */
	tb_ev(&t, 0, T1, GS_EV_thread_start, GS_ROLE_CPU, 20, 0);
	tb_acquire_uncontended(&t, T1, GS_WHY_FIRST, 0, 0);
	tb_ev(&t, 1000, T1, GS_EV_release, GS_RELEASE_FORCED, 1, 1);
	tb_ev(&t, 1200, T1, GS_EV_acquire_request, GS_WHY_AFTER_FORCED, 0, T2);
	tb_ev(&t, 1510, T1, GS_EV_acquired, GS_WHY_AFTER_FORCED, 0, T2);
	tb_ev(&t, 2000, T1, GS_EV_release, GS_RELEASE_FORCED, 0, 1);
	tb_ev(&t, 2000, T1, GS_EV_acquire_request, GS_WHY_AFTER_FORCED, 0, 0);
	tb_ev(&t, 2005, T1, GS_EV_acquired, GS_WHY_AFTER_FORCED, 0, T1);
	tb_ev(&t, 3000, T1, GS_EV_release, GS_RELEASE_FORCED, 1, 1);
	tb_ev(&t, 3100, T1, GS_EV_acquire_request, GS_WHY_AFTER_FORCED, 0, T2);
	tb_ev(&t, 3310, T1, GS_EV_acquired, GS_WHY_AFTER_FORCED, 0, T2);
	tb_ev(&t, 3800, T1, GS_EV_blocking_begin, GS_BLOCK_SLEEP, 0, 0);
	tb_ev(&t, 3800, T1, GS_EV_release, GS_RELEASE_BLOCKING, 0, 0);
	tb_ev(&t, 4800, T1, GS_EV_blocking_end, GS_BLOCK_SLEEP, 0, 0);
	tb_ev(&t, 4800, T1, GS_EV_acquire_request, GS_WHY_AFTER_BLOCKING, 0, 0);
	tb_ev(&t, 4801, T1, GS_EV_acquired, GS_WHY_AFTER_BLOCKING, 0, T1);
	tb_ev(&t, 5000, T1, GS_EV_release, GS_RELEASE_EXIT, 0, 0);
	tb_ev(&t, 5000, T1, GS_EV_thread_exit, 0, 0, 0);
	/* T2 */
	tb_ev(&t, 100, T2, GS_EV_thread_start, GS_ROLE_IO, 20, 0);
	tb_ev(&t, 110, T2, GS_EV_acquire_request, GS_WHY_FIRST, 0, T1);
	tb_ev(&t, 1010, T2, GS_EV_acquired, GS_WHY_FIRST, 0, T1);
	tb_ev(&t, 1500, T2, GS_EV_blocking_begin, GS_BLOCK_RECV, 0, 0);
	tb_ev(&t, 1500, T2, GS_EV_release, GS_RELEASE_BLOCKING, 1, 0);
	tb_ev(&t, 2500, T2, GS_EV_blocking_end, GS_BLOCK_RECV, 1, 0);
	tb_ev(&t, 2500, T2, GS_EV_acquire_request, GS_WHY_AFTER_BLOCKING, 0, T1);
	tb_ev(&t, 3010, T2, GS_EV_acquired, GS_WHY_AFTER_BLOCKING, 0, T1);
	tb_ev(&t, 3300, T2, GS_EV_release, GS_RELEASE_EXIT, 1, 0);
	tb_ev(&t, 3300, T2, GS_EV_thread_exit, 0, 0, 0);
	tb_close(&t, 5000);

	struct gs_phase_program p;
	struct gs_analysis a;
	extract_ok(t.path, &p, &a);
	assert_int_equal(p.nthreads, 2);
	assert_int_equal(p.span_ns, 5000);
	assert_int_equal(p.policy, 2);
	assert_int_equal(p.interval_us, 5000);

	const struct gs_phase_thread *cpu = by_tid(&p, T1);
	assert_string_equal(cpu->name, "cpu");
	assert_int_equal(cpu->start_ns, 0);
	assert_int_equal(cpu->nphases, 3);
	assert_phase(&cpu->phases[0], GS_PHASE_CPU, 1000 + 490 + 995 + 490, 0);
	assert_phase(&cpu->phases[1], GS_PHASE_BLOCK, 1000, GS_BLOCK_SLEEP);
	assert_phase(&cpu->phases[2], GS_PHASE_CPU, 199, 0);
	assert_int_equal(cpu->cuts, 3);
	/* the way back after a cut, from T2's acquire that ended the switch:
	 * 1010 -> 1200 and 3010 -> 3100 */
	assert_true(cpu->nreturns >= 2);
	assert_int_equal(cpu->returns[0], 190);
	assert_int_equal(cpu->returns[cpu->nreturns - 1], 90);
	assert_int_equal(cpu->cpu_ns, 3174);
	assert_int_equal(cpu->block_ns, 1000);
	assert_true(cpu->exits);

	const struct gs_phase_thread *io = by_tid(&p, T2);
	/* first sight at 100, asks at 110: starts at 110 */
	assert_int_equal(io->start_ns, 110);
	/* T1 held the GIL when T2 appeared: T2 starts 100 ns into T1's work */
	assert_int_equal(io->creator, 0);
	assert_int_equal(io->creator_progress_ns, 100);
	assert_int_equal(cpu->creator, GS_NO_THREAD);
	assert_int_equal(io->role, GS_ROLE_IO);
	assert_int_equal(io->nphases, 3);
	assert_phase(&io->phases[0], GS_PHASE_CPU, 490, 0);
	assert_phase(&io->phases[1], GS_PHASE_BLOCK, 1000, GS_BLOCK_RECV);
	assert_phase(&io->phases[2], GS_PHASE_CPU, 290, 0);
	assert_int_equal(io->cuts, 0);

	extract_done(&p, &a, t.path);
}

/* A thread that runs without the GIL by its own choice between two holds
 * (not after a forced release) keeps that time as a BLOCK(other) phase; the
 * gap between a blocking_end and the next request belongs to that call. */
static void test_nogil_is_block(void **state)
{
	(void)state;
	struct tb t;
	tb_open(&t, "nogil", 5000, 0);
	tb_thread(&t, T1, "worker", GS_ROLE_OTHER, 20, 0);
	tb_ev(&t, 0, T1, GS_EV_thread_start, 0, 20, 0);
	tb_acquire_uncontended(&t, T1, GS_WHY_FIRST, 0, 10);
	tb_ev(&t, 110, T1, GS_EV_release, GS_RELEASE_BLOCKING, 0, 0);
	tb_acquire_uncontended(&t, T1, GS_WHY_AFTER_BLOCKING, 400, 400);
	/* recv 450..470, request at 475: BLOCK recv 25 */
	tb_ev(&t, 450, T1, GS_EV_blocking_begin, GS_BLOCK_RECV, 0, 0);
	tb_ev(&t, 450, T1, GS_EV_release, GS_RELEASE_BLOCKING, 0, 0);
	tb_ev(&t, 470, T1, GS_EV_blocking_end, GS_BLOCK_RECV, 1, 0);
	tb_acquire_uncontended(&t, T1, GS_WHY_AFTER_BLOCKING, 475, 475);
	tb_ev(&t, 480, T1, GS_EV_release, GS_RELEASE_EXIT, 0, 0);
	tb_ev(&t, 480, T1, GS_EV_thread_exit, 0, 0, 0);
	tb_close(&t, 500);

	struct gs_phase_program p;
	struct gs_analysis a;
	extract_ok(t.path, &p, &a);
	const struct gs_phase_thread *w = by_tid(&p, T1);
	assert_int_equal(w->nphases, 5);
	assert_phase(&w->phases[0], GS_PHASE_CPU, 100, 0);
	assert_int_equal(w->phases[1].kind, GS_PHASE_BLOCK);
	assert_int_equal(w->phases[1].ns, 290);
	assert_phase(&w->phases[2], GS_PHASE_CPU, 50, 0);
	assert_phase(&w->phases[3], GS_PHASE_BLOCK, 25, GS_BLOCK_RECV);
	assert_phase(&w->phases[4], GS_PHASE_CPU, 5, 0);
	extract_done(&p, &a, t.path);
}

/*
 * Scheduler events inside holds. T1 holds 0..1000 and the OS preempts it
 * 300..700 (it keeps the GIL, deaf to drop requests): CPU 300, DEAF 400,
 * CPU 300. It blocks 1000..1100, then holds from 1100 to the trace's end
 * (5000) and sleeps from 1400 on (CPython's main thread exits holding the
 * GIL; the recorder stops later): that open hold is 300 ns of work, not
 * 3900, and 3600 are trimmed.
 */
static void test_sched_in_holds(void **state)
{
	(void)state;
	struct tb t;
	tb_open(&t, "schedholds", 5000, 0);
	tb_thread(&t, T1, "main", GS_ROLE_MAIN, 20, 0);
	tb_ev(&t, 0, T1, GS_EV_thread_start, 0, 20, 0);
	tb_ev(&t, 0, T1, GS_EV_sched_switch_in, 0, 0, 0);
	tb_acquire_uncontended(&t, T1, GS_WHY_FIRST, 0, 0);
	tb_ev(&t, 300, T1, GS_EV_sched_switch_out, GS_SCHED_PREEMPTED, 0, 0);
	tb_ev(&t, 700, T1, GS_EV_sched_switch_in, 0, 0, 0);
	tb_ev(&t, 1000, T1, GS_EV_blocking_begin, GS_BLOCK_SLEEP, 0, 0);
	tb_ev(&t, 1000, T1, GS_EV_release, GS_RELEASE_BLOCKING, 0, 0);
	tb_ev(&t, 1100, T1, GS_EV_blocking_end, GS_BLOCK_SLEEP, 0, 0);
	tb_acquire_uncontended(&t, T1, GS_WHY_AFTER_BLOCKING, 1100, 1100);
	tb_ev(&t, 1400, T1, GS_EV_sched_switch_out, GS_SCHED_BLOCKED, 0, 0);
	tb_close(&t, 5000);

	struct gs_phase_program p;
	struct gs_analysis a;
	extract_ok(t.path, &p, &a);
	const struct gs_phase_thread *m = by_tid(&p, T1);
	assert_int_equal(m->nphases, 5);
	assert_phase(&m->phases[0], GS_PHASE_CPU, 300, 0);
	assert_phase(&m->phases[1], GS_PHASE_DEAF, 400, 0);
	assert_phase(&m->phases[2], GS_PHASE_CPU, 300, 0);
	assert_phase(&m->phases[3], GS_PHASE_BLOCK, 100, GS_BLOCK_SLEEP);
	assert_phase(&m->phases[4], GS_PHASE_CPU, 300, 0);
	assert_int_equal(m->deaf_ns, 400);
	assert_int_equal(m->trimmed_ns, 3600);
	assert_int_equal(m->cpu_ns, 300 + 400 + 300 + 300);
	extract_done(&p, &a, t.path);
}

static void test_bad_trace(void **state)
{
	(void)state;
	struct gs_phase_program p;
	struct gs_analysis a;
	char err[512] = "";
	assert_int_equal(gs_phases_extract("/nonexistent/trace.gst", 0, &p, &a, err,
					   sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/trace.gst"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stitching),
		cmocka_unit_test(test_nogil_is_block),
		cmocka_unit_test(test_sched_in_holds),
		cmocka_unit_test(test_bad_trace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
