/* SPDX-License-Identifier: MIT */
/* The arithmetic of the probes' slowdown estimate (tools/bpf/cost_model.c;
 * docs/observer-effect.md, "The estimate printed after each run"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cost_model.h"

#define EPS 1e-9

/* Nothing but the probes' cost and the CPU time: cost / (cpu - cost). */
static void test_plain(void **state)
{
	(void)state;
	struct gs_cost_obs o = { .cost_ns = 100, .cpu_ns = 1100 };
	struct gs_cost_est e;
	assert_float_equal(gs_cost_estimate(&o, &e), 10.0, EPS);
	assert_float_equal(e.path_ns, 1100, EPS);
	assert_float_equal(e.wake_ns, 0.0, EPS);
	assert_int_equal(e.path_is_wall, 0);
	/* a wall time longer than the CPU time (the run waited for a CPU)
	 * changes nothing */
	o.wall_ns = 5000;
	assert_float_equal(gs_cost_estimate(&o, NULL), 10.0, EPS);
}

static void test_unknown_cpu(void **state)
{
	(void)state;
	struct gs_cost_obs o = { .cost_ns = 100, .cpu_ns = 0, .wall_ns = 1000 };
	assert_float_equal(gs_cost_estimate(&o, NULL), -1.0, EPS);
}

/* Waiters' CPU time beside the holder is off the path. */
static void test_off_path(void **state)
{
	(void)state;
	struct gs_cost_obs o = { .cost_ns = 100, .cpu_ns = 1600, .off_path_ns = 500 };
	struct gs_cost_est e;
	assert_float_equal(gs_cost_estimate(&o, &e), 10.0, EPS);
	assert_float_equal(e.path_ns, 1100, EPS);
	/* never below the probes' own cost: then the share is capped */
	o.off_path_ns = 1550;
	assert_float_equal(gs_cost_estimate(&o, &e), 100.0 * 0.95 / 0.05, 1e-6);
	assert_float_equal(e.path_ns, 100, EPS);
}

/* The wall time bounds the path when the CPU time, less what was counted
 * off it, is longer. */
static void test_wall_bound(void **state)
{
	(void)state;
	struct gs_cost_obs o = { .cost_ns = 100, .cpu_ns = 3000, .wall_ns = 600 };
	struct gs_cost_est e;
	assert_float_equal(gs_cost_estimate(&o, &e), 20.0, EPS);
	assert_int_equal(e.path_is_wall, 1);
	assert_float_equal(e.path_ns, 600, EPS);
}

/* A wake-up's price on the holder's path: the woken re-takes' mean less
 * the quiet ones' (or the medians', when known); no price without both
 * kinds or when woken ones are no slower. A price alone adds nothing: the
 * wake-up term needs the waiter's cycle too (test_wake_term). */
static void test_wake_price(void **state)
{
	(void)state;
	struct gs_cost_obs o = {
		.cost_ns = 100, .cpu_ns = 1100,
		.woke = 50, .woke_ns = 50 * 5.0, .quiet = 150, .quiet_ns = 150 * 1.0,
	};
	struct gs_cost_est e;
	assert_float_equal(gs_cost_estimate(&o, &e), 10.0, EPS);
	assert_float_equal(e.per_wake_ns, 4.0, EPS);
	assert_float_equal(e.wake_ns, 0.0, EPS);
	o.woke_median_ns = 3.0;
	o.quiet_median_ns = 1.0;
	gs_cost_estimate(&o, &e);
	assert_float_equal(e.per_wake_ns, 2.0, EPS);
	/* one median unknown: the means */
	o.quiet_median_ns = 0;
	gs_cost_estimate(&o, &e);
	assert_float_equal(e.per_wake_ns, 4.0, EPS);
	/* no quiet re-take to compare with: no price */
	o.quiet = 0;
	o.quiet_ns = 0;
	gs_cost_estimate(&o, &e);
	assert_float_equal(e.per_wake_ns, 0.0, EPS);
	/* woken re-takes no slower than quiet ones: no price either */
	o.quiet = 10;
	o.quiet_ns = 10 * 6.0;
	gs_cost_estimate(&o, &e);
	assert_float_equal(e.per_wake_ns, 0.0, EPS);
}

/* p(I) = I / (c + I/2): a waiter woken by the first release after its
 * cycle c, releases every I; at most every release. */
static void test_wake_share(void **state)
{
	(void)state;
	assert_float_equal(gs_wake_share(10, 10), 10.0 / 15, EPS);
	assert_float_equal(gs_wake_share(2, 9), 2.0 / 10, EPS);
	/* a cycle shorter than half an interval: every release wakes it */
	assert_float_equal(gs_wake_share(10, 4), 1.0, EPS);
	assert_float_equal(gs_wake_share(10, 0), 1.0, EPS);
	assert_float_equal(gs_wake_share(0, 10), 0.0, EPS);
	/* shorter intervals, fewer of them wake it */
	assert_true(gs_wake_share(3, 12) < gs_wake_share(5, 12));
}

/* The traced run's releases come every path / ticks = 10 us, the waiter's
 * cycle is 10 us: 2/3 of the releases find it asleep. Untraced, the path
 * is shorter by the probes' 4 ms and by the wake-ups it does not have, 2 us
 * each: U = 10 ms - 4 ms - (600 - 600 p(U/1000) / (2/3)) x 2 us, whose
 * root (U^2 + 1.16e7 U - 9.6e13 = 0) is 5 585 956.26 ns. */
static const struct gs_cost_obs contended = {
	.cost_ns = 4e6, .cpu_ns = 1e7, .ticks = 1000, .sleeps = 600,
	.cycles = 500, .cycles_ns = 500 * 1e4,
	.woke = 600, .woke_ns = 600 * 3000.0, .quiet = 400, .quiet_ns = 400 * 1000.0,
};

static void test_wake_term(void **state)
{
	(void)state;
	struct gs_cost_obs o = contended;
	struct gs_cost_est e;
	double pct = gs_cost_estimate(&o, &e);
	double untraced = 5585956.262;
	assert_float_equal(e.per_wake_ns, 2000, EPS);
	assert_float_equal(e.cycle_ns, 1e4, EPS);
	assert_float_equal(e.wakes_traced, 600, EPS);
	assert_float_equal(e.wake_ns, 1e7 - 4e6 - untraced, 2.0);
	assert_float_equal(e.wakes_untraced, 600 - e.wake_ns / 2000, 1e-6);
	assert_float_equal(pct, 100.0 * (1e7 - untraced) / untraced, 1e-4);
	/* the waiter's own probes out of its cycle: a shorter untraced cycle,
	 * more of the untraced releases find it asleep, fewer wake-ups the
	 * traced run alone had */
	double with_probes = e.wake_ns;
	o.cycle_probe_ns = 2000;
	gs_cost_estimate(&o, &e);
	assert_true(e.wake_ns < with_probes);
	assert_true(e.wake_ns > 0);
}

/* Where the regime does not arise the term is 0 and the estimate is the
 * probes' cost alone: no waiter slept (3.x, whose re-takes are not timed;
 * 2.7 taking turns on one CPU), or no cycle, release count or price. */
static void test_wake_term_absent(void **state)
{
	(void)state;
	const struct gs_cost_obs full = contended;
	double plain = 100.0 * 4e6 / 6e6;
	struct gs_cost_obs o = full;
	struct gs_cost_est e;
	o.sleeps = 0;
	assert_float_equal(gs_cost_estimate(&o, &e), plain, 1e-9);
	assert_float_equal(e.wake_ns, 0.0, EPS);
	o = full;
	o.cycles = 0;
	assert_float_equal(gs_cost_estimate(&o, &e), plain, 1e-9);
	o = full;
	o.ticks = 0;
	assert_float_equal(gs_cost_estimate(&o, &e), plain, 1e-9);
	o = full;
	o.woke = 0; /* 3.x: no timed re-takes, no price */
	assert_float_equal(gs_cost_estimate(&o, &e), plain, 1e-9);
	/* releases too sparse for the cycle to matter: every release wakes
	 * the waiter traced and untraced, no difference */
	o = full;
	o.cycles_ns = 0;
	o.cycle_probe_ns = 0;
	gs_cost_estimate(&o, &e);
	assert_float_equal(e.wake_ns, 0.0, EPS);
	assert_float_equal(e.wakes_untraced, 600, EPS);
}

static void test_hist_median(void **state)
{
	(void)state;
	unsigned long long empty[4] = { 0 };
	assert_float_equal(gs_slots_median(empty, 4, 250), 0.0, EPS);
	/* 10 in [0,250), 10 in [250,500): the median at the boundary */
	unsigned long long two[4] = { 10, 10, 0, 0 };
	assert_float_equal(gs_slots_median(two, 4, 250), 250.0, EPS);
	/* all in slot 2: half way through it */
	unsigned long long one[4] = { 0, 0, 8, 0 };
	assert_float_equal(gs_slots_median(one, 4, 250), 625.0, EPS);
	/* 1 + 1 + 6: the 4th of 8 is a third of the way into slot 2 */
	unsigned long long skew[4] = { 1, 1, 6, 0 };
	assert_float_equal(gs_slots_median(skew, 4, 250), 500.0 + 250.0 / 3, 1e-9);
}

/* Probes most of the run: the share is capped at 95 %. */
static void test_cap(void **state)
{
	(void)state;
	struct gs_cost_obs o = { .cost_ns = 990, .cpu_ns = 1000 };
	assert_float_equal(gs_cost_estimate(&o, NULL), 100.0 * 0.95 / 0.05, 1e-6);
}

/* The kernel part of the cost (all but the refill) is at most the system
 * time the target used: a calibration that prices it above that is
 * replaced by the system time, the refill kept. */
static void test_sys_bound(void **state)
{
	(void)state;
	/* kernel part 90 of 100, system time 200: no bound */
	struct gs_cost_obs o = { .cost_ns = 100, .refill_ns = 10, .cpu_ns = 1100,
				 .sys_ns = 200 };
	struct gs_cost_est e;
	assert_float_equal(gs_cost_estimate(&o, &e), 10.0, EPS);
	assert_int_equal(e.cost_is_sys, 0);
	assert_float_equal(e.cost_ns, 100, EPS);
	/* kernel part 900 priced, 700 of system time: 700 + the refill's 10 */
	o = (struct gs_cost_obs){ .cost_ns = 910, .refill_ns = 10, .cpu_ns = 1010,
				  .sys_ns = 700 };
	assert_float_equal(gs_cost_estimate(&o, &e), 100.0 * 710 / 300, 1e-9);
	assert_int_equal(e.cost_is_sys, 1);
	assert_float_equal(e.cost_ns, 710, EPS);
	/* an unknown system time (0) bounds nothing */
	o.sys_ns = 0;
	assert_float_equal(gs_cost_estimate(&o, &e), 100.0 * 910 / 100, 1e-9);
	assert_int_equal(e.cost_is_sys, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_unknown_cpu),
		cmocka_unit_test(test_off_path),
		cmocka_unit_test(test_wall_bound),
		cmocka_unit_test(test_wake_price),
		cmocka_unit_test(test_wake_share),
		cmocka_unit_test(test_wake_term),
		cmocka_unit_test(test_wake_term_absent),
		cmocka_unit_test(test_hist_median),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_sys_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
