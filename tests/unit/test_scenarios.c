/* SPDX-License-Identifier: MIT */
/* The scenario library: names, percentiles, and short runs whose results
 * must be consistent by construction (no timing thresholds). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "scenario.h"
#include "scenario_internal.h"

static void test_names(void **state)
{
	(void)state;
	for (int k = 0; k < GS_SCN_MAX; k++) {
		assert_int_equal(gs_scenario_lookup(gs_scenario_name(k)), k);
		assert_string_not_equal(gs_scenario_traced_phase(k), "unknown");
	}
	assert_int_equal(gs_scenario_lookup("nope"), -1);
	assert_string_equal(gs_scenario_traced_phase(GS_SCN_CONVOY), "policy");
}

static void test_percentiles(void **state)
{
	(void)state;
	uint64_t v[100];
	for (int i = 0; i < 100; i++)
		v[i] = (uint64_t)(100 - i) * 1000; /* 100..1 us, reversed */
	struct gs_latency l;
	gs_latency_summary(v, 100, &l);
	assert_int_equal(l.samples, 100);
	assert_true(l.p50_us == 50.0);
	assert_true(l.p90_us == 90.0);
	assert_true(l.p99_us == 99.0);
	assert_true(l.max_us == 100.0);
	assert_true(l.mean_us == 50.5);

	uint64_t one = 7000;
	gs_latency_summary(&one, 1, &l);
	assert_true(l.p50_us == 7.0 && l.p99_us == 7.0 && l.max_us == 7.0);
	gs_latency_summary(NULL, 0, &l);
	assert_int_equal(l.samples, 0);
}

static void test_work_unit(void **state)
{
	(void)state;
	/* One unit is GS_WORK_UNIT_ITERS steps of the documented multiply-add
	 * chain (nothing folded away), and gs_work() chains units. */
	uint64_t x = 1;
	for (int i = 0; i < GS_WORK_UNIT_ITERS; i++)
		x = x * 6364136223846793005ull + 1442695040888963407ull;
	assert_int_equal(gs_work_unit(1), x);
	assert_int_equal(gs_work(NULL, 2, 1), gs_work_unit(gs_work_unit(1)));
	assert_int_not_equal(gs_work(NULL, 3, 1), gs_work(NULL, 2, 1));
	assert_true(gs_work_unit_ns() > 0);
}

static void run_ok(enum gs_scenario_kind kind, struct gs_scenario_opts *o,
		   struct gs_scenario_result *r)
{
	char err[512] = "";
	int rc = gs_scenario_run(kind, o, r, err, sizeof(err));
	if (rc)
		fail_msg("%s: %s", gs_scenario_name(kind), err);
}

static uint64_t sum_acq(const struct gs_scenario_result *r)
{
	uint64_t s = 0;
	for (unsigned i = 0; i < r->nthreads; i++)
		s += r->threads[i].stats.acquisitions;
	return s;
}

static void test_countdown_fifo(void **state)
{
	(void)state;
	struct gs_scenario_opts o;
	struct gs_scenario_result r;
	gs_scenario_opts_default(&o, GS_SCN_COUNTDOWN);
	gil_params_default(&o.params, GIL_POLICY_FIFO);
	o.params.interval_us = 200;
	o.threads = 3;
	o.work_units = 300001;
	run_ok(GS_SCN_COUNTDOWN, &o, &r);
	assert_int_equal(r.nthreads, 3);
	uint64_t units = 0;
	for (unsigned i = 0; i < r.nthreads; i++)
		units += r.threads[i].work_units;
	assert_int_equal(units, 300001);
	/* fifo hands over directly: the releaser never wins it back. */
	assert_int_equal(r.runtime.handoffs_failed, 0);
	assert_int_equal(r.runtime.acquisitions, sum_acq(&r));
	assert_true(r.countdown.wall_s > 0 && r.countdown.single_thread_wall_s > 0);
	assert_false(r.interrupted);
	gs_scenario_result_free(&r);
}

static void test_countdown_legacy(void **state)
{
	(void)state;
	struct gs_scenario_opts o;
	struct gs_scenario_result r;
	gs_scenario_opts_default(&o, GS_SCN_COUNTDOWN);
	gil_params_default(&o.params, GIL_POLICY_LEGACY);
	o.threads = 2;
	o.work_units = 200000;
	run_ok(GS_SCN_COUNTDOWN, &o, &r);
	/* A tick release happens every check_ticks units per thread. */
	uint64_t interval = 0;
	for (unsigned i = 0; i < r.nthreads; i++)
		interval += r.threads[i].stats.releases_interval;
	assert_true(interval >= 200000 / 101 - 2);
	assert_true(r.runtime.handoffs_failed <= r.runtime.handoffs_attempted);
	assert_int_equal(r.runtime.acquisitions, sum_acq(&r));
	gs_scenario_result_free(&r);
}

static void test_convoy_short(void **state)
{
	(void)state;
	struct gs_scenario_opts o;
	struct gs_scenario_result r;
	gs_scenario_opts_default(&o, GS_SCN_CONVOY);
	gil_params_default(&o.params, GIL_POLICY_CPYTHON);
	o.cpu_threads = 2;
	o.duration_s = 0.2;
	o.client_think_us = 0;
	run_ok(GS_SCN_CONVOY, &o, &r);
	/* The traced phase: one server and the two CPU threads. */
	assert_int_equal(r.nthreads, 3);
	unsigned servers = 0;
	for (unsigned i = 0; i < r.nthreads; i++) {
		if (r.threads[i].role == GIL_ROLE_SERVER) {
			servers++;
			/* Each request is one recv and one send region at
			 * least, and the served count matches the client's
			 * (+1 for the warm-up round trip). */
			assert_true(r.threads[i].stats.releases_blocking >=
				    2 * r.threads[i].ops);
			assert_int_equal(r.threads[i].ops, r.convoy.requests + 1);
			assert_int_equal(r.threads[i].bytes_read,
					 r.threads[i].ops * o.msg_size);
		}
	}
	assert_int_equal(servers, 1);
	assert_true(r.convoy.solo_requests > 0);
	assert_true(r.convoy.ceiling_requests > 0);
	assert_true(r.convoy.solo_rps > 0 && r.convoy.ceiling_rps > 0);
	assert_int_equal(r.runtime.acquisitions, sum_acq(&r));
	gs_scenario_result_free(&r);
}

static void test_io_short(void **state)
{
	(void)state;
	struct gs_scenario_opts o;
	struct gs_scenario_result r;
	gs_scenario_opts_default(&o, GS_SCN_IO);
	o.duration_s = 0.2;
	o.threads = 3;
	o.cpu_threads = 1;
	o.fsync_every = 4;
	run_ok(GS_SCN_IO, &o, &r);
	assert_int_equal(r.nthreads, 4);
	assert_true(r.io.ops > 0);
	assert_true(r.io.bytes_written > 0 && r.io.bytes_read > 0);
	for (unsigned i = 0; i < r.nthreads; i++)
		if (r.threads[i].role == GIL_ROLE_IO)
			assert_true(r.threads[i].stats.releases_blocking >=
				    r.threads[i].ops);
	gs_scenario_result_free(&r);
}

static void test_priority_short(void **state)
{
	(void)state;
	struct gs_scenario_opts o;
	struct gs_scenario_result r;
	gs_scenario_opts_default(&o, GS_SCN_PRIORITY);
	o.duration_s = 0.2;
	o.period_us = 2000;
	run_ok(GS_SCN_PRIORITY, &o, &r);
	unsigned hp = 0;
	for (unsigned i = 0; i < r.nthreads; i++) {
		if (r.threads[i].role == GIL_ROLE_HIGH_PRIO) {
			hp++;
			assert_int_equal(r.threads[i].ops,
					 r.priority.wake_to_gil.samples);
		}
	}
	assert_int_equal(hp, 1);
	assert_true(r.priority.wake_to_gil.p50_us <= r.priority.wake_to_gil.p99_us);
	assert_true(r.priority.wake_to_gil.p99_us <= r.priority.wake_to_gil.max_us);
	gs_scenario_result_free(&r);
}

static void test_stop_request(void **state)
{
	(void)state;
	struct gs_scenario_opts o;
	struct gs_scenario_result r;
	gs_scenario_opts_default(&o, GS_SCN_COUNTDOWN);
	o.threads = 2;
	o.work_units = 1ull << 40; /* would take hours */
	gs_scenario_request_stop();
	run_ok(GS_SCN_COUNTDOWN, &o, &r);
	gs_scenario_reset_stop();
	assert_true(r.interrupted);
	assert_int_equal(r.nthreads, 2);
	for (unsigned i = 0; i < r.nthreads; i++)
		assert_true(r.threads[i].work_units < o.work_units);
	gs_scenario_result_free(&r);
}

static void test_bad_options(void **state)
{
	(void)state;
	struct gs_scenario_opts o;
	struct gs_scenario_result r;
	char err[256] = "";
	gs_scenario_opts_default(&o, GS_SCN_COUNTDOWN);
	o.threads = 0;
	assert_int_equal(gs_scenario_run(GS_SCN_COUNTDOWN, &o, &r, err,
					 sizeof(err)), -1);
	assert_int_equal(errno, EINVAL);
	assert_true(strstr(err, "--threads") != NULL);

	gs_scenario_opts_default(&o, GS_SCN_PRIORITY);
	o.pin = 1;
	o.hog_busy_us = 9500;
	o.hog_sleep_us = 500; /* 95 % busy: refused */
	assert_int_equal(gs_scenario_run(GS_SCN_PRIORITY, &o, &r, err,
					 sizeof(err)), -1);
	assert_int_equal(errno, EINVAL);
	assert_true(strstr(err, "duty cycle") != NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_percentiles),
		cmocka_unit_test(test_work_unit),
		cmocka_unit_test(test_countdown_fifo),
		cmocka_unit_test(test_countdown_legacy),
		cmocka_unit_test(test_convoy_short),
		cmocka_unit_test(test_io_short),
		cmocka_unit_test(test_priority_short),
		cmocka_unit_test(test_stop_request),
		cmocka_unit_test(test_bad_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
