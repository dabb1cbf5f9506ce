/* SPDX-License-Identifier: MIT */
/*
 * gs_source_as_light() (analysis/sources/source_lightset.c): a full-set
 * CPython trace read as the light probe set would have recorded it. The
 * rule is the BPF side's (infer_blocking_end): after a `blocking` release,
 * the thread's next request is preceded by a blocking_end of kind `other`
 * with the request's time; the full set's own blocking_ends are dropped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "analyze.h"
#include "test_analysis_build.h"

#define T1 101u
#define T2 102u

/* T1 takes the GIL, blocks (released at 30, blocking_end at 100 by
 * PyEval_RestoreThread's probe, request at 130 with its stack event,
 * acquired at 150) while T2 runs; T2's interval release is not blocking. */
static void write_full(struct tb *t, uint32_t source, uint32_t runtime,
		       uint32_t flags)
{
	tb_open_as(t, "lightset", source, runtime, 0, flags);
	tb_thread(t, T1, "io", 0, 0, 0);
	tb_thread(t, T2, "cpu", 0, 0, 0);
	tb_acquire_uncontended(t, T1, GS_WHY_FIRST, 10, 20);
	tb_ev(t, 30, T1, GS_EV_blocking_begin, GS_BLOCK_OTHER, 0, 0);
	tb_ev(t, 30, T1, GS_EV_release, GS_RELEASE_BLOCKING, 0, 0);
	tb_acquire_uncontended(t, T2, GS_WHY_FIRST, 40, 50);
	tb_ev(t, 100, T1, GS_EV_blocking_end, GS_BLOCK_OTHER, 0, 0);
	tb_ev(t, 120, T2, GS_EV_release, GS_RELEASE_INTERVAL, 0, 0);
	tb_ev(t, 121, T2, GS_EV_acquire_request, GS_WHY_AFTER_INTERVAL, 0, 0);
	tb_ev(t, 125, T2, GS_EV_acquired, GS_WHY_AFTER_INTERVAL, 0, T2);
	tb_ev(t, 130, T1, GS_EV_stack, GS_STACK_AT_REQUEST, 0, 0);
	tb_ev(t, 130, T1, GS_EV_acquire_request, GS_WHY_AFTER_BLOCKING, 1, T2);
	tb_ev(t, 140, T2, GS_EV_release, GS_RELEASE_INTERVAL, 1, 0);
	tb_ev(t, 150, T1, GS_EV_acquired, GS_WHY_AFTER_BLOCKING, 0, T2);
	tb_ev(t, 160, T1, GS_EV_release, GS_RELEASE_EXIT, 0, 0);
	tb_close(t, 200);
}

static void test_blocking_end_moves_to_the_request(void **state)
{
	(void)state;
	struct tb t;
	write_full(&t, GS_SOURCE_EBPF, GS_RUNTIME_CPYTHON2, GS_HDR_F_SCHED_EVENTS);
	char err[512] = "";
	struct gs_source *full = gs_source_native_open(t.path, 0, err, sizeof(err));
	if (!full)
		fail_msg("%s", err);
	struct gs_source *light = gs_source_as_light(full, err, sizeof(err));
	if (!light)
		fail_msg("%s", err);
	assert_true(light->info.flags & GS_HDR_F_INFERRED);
	assert_true(light->info.flags & GS_HDR_F_SCHED_EVENTS);
	struct gs_event ev;
	int ends = 0, at = -1, n = 0, stack_at = -1, request_at = -1;
	while (gs_source_next(light, &ev) == 1) {
		if (ev.type == GS_EV_blocking_end) {
			ends++;
			at = n;
			assert_int_equal(ev.tid, T1);
			assert_int_equal(ev.ts_ns, 130);
			assert_int_equal(ev.a8, GS_BLOCK_OTHER);
		}
		if (ev.tid == T1 && ev.type == GS_EV_stack)
			stack_at = n;
		if (ev.tid == T1 && ev.type == GS_EV_acquire_request && ev.ts_ns == 130)
			request_at = n;
		n++;
	}
	assert_int_equal(ends, 1);
	/* before the request's stack event, as the BPF side emits it */
	assert_true(at >= 0 && at < stack_at && stack_at < request_at);
	struct gs_source_totals tot;
	light->ops->totals(light, &tot);
	assert_int_equal(tot.events, (uint64_t)n);
	assert_true(tot.complete);
	gs_source_close(light);

	/* the re-acquire wait: from blocking_end (100) in the full reading,
	 * from the observed request (130) in the light one */
	struct gs_analysis a;
	for (int as_light = 0; as_light <= 1; as_light++) {
		struct gs_analyze_opts o = { .as_light_probes = as_light };
		if (gs_analyze(t.path, &o, &a, err, sizeof(err)))
			fail_msg("%s", err);
		const struct gs_thread_metrics *m = NULL;
		for (size_t i = 0; i < a.metrics->nth; i++)
			if (a.metrics->th[i].tid == T1)
				m = &a.metrics->th[i];
		assert_non_null(m);
		assert_int_equal(m->io_calls, 1);
		assert_int_equal(m->io_wait_ns, as_light ? 20 : 50);
		assert_int_equal(!!(a.info.flags & GS_HDR_F_INFERRED), as_light);
		gs_analysis_free(&a);
	}
	unlink(t.path);
}

static void test_refuses_other_traces(void **state)
{
	(void)state;
	static const struct {
		uint32_t source, runtime, flags;
		const char *says;
	} cases[] = {
		{ GS_SOURCE_LIBGIL, GS_RUNTIME_LIBGIL, 0, "not a `gilscope record` trace" },
		{ GS_SOURCE_EBPF, GS_RUNTIME_LIBGIL, 0, "not a `gilscope record` trace" },
		{ GS_SOURCE_EBPF, GS_RUNTIME_CPYTHON3, GS_HDR_F_INFERRED,
		  "recorded with the light probe set already" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tb t;
		write_full(&t, cases[i].source, cases[i].runtime, cases[i].flags);
		struct gs_analysis a;
		char err[512] = "";
		struct gs_analyze_opts o = { .as_light_probes = 1 };
		assert_int_equal(gs_analyze(t.path, &o, &a, err, sizeof(err)), -1);
		if (!strstr(err, cases[i].says) || !strstr(err, t.path))
			fail_msg("case %zu: %s", i, err);
		unlink(t.path);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocking_end_moves_to_the_request),
		cmocka_unit_test(test_refuses_other_traces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
