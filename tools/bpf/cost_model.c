/* SPDX-License-Identifier: MIT */
/* The probes' slowdown from what a recording observed (cost_model.h). */
#include "cost_model.h"

#include <stddef.h>

/* Past this the figure says no more than "the probes are most of the
 * run": the ratio is ill-conditioned. */
#define SHARE_CAP 0.95
/* The untraced path's fixed point (cost_model.h): each step moves it by
 * the wake-ups' share of the path's change, a few percent. */
#define WAKE_ITERATIONS 50

double gs_wake_share(double interval_ns, double cycle_ns)
{
	if (!(interval_ns > 0))
		return 0;
	double c = cycle_ns > 0 ? cycle_ns : 0;
	double p = interval_ns / (c + interval_ns / 2);
	return p < 1 ? p : 1;
}

/* The wake-ups the untraced run would not have had, priced (cost_model.h,
 * "the waiter's cycle"); 0 where the regime does not arise. */
static void wake_term(const struct gs_cost_obs *o, double cost,
		      struct gs_cost_est *r)
{
	if (!(o->ticks > 0 && o->sleeps > 0 && o->cycles > 0 && r->per_wake_ns > 0 &&
	      r->path_ns > cost))
		return;
	double c_traced = o->cycles_ns / o->cycles;
	double c_untraced = c_traced - (o->cycle_probe_ns > 0 ? o->cycle_probe_ns : 0);
	double p_traced = gs_wake_share(r->path_ns / o->ticks, c_traced);
	if (!(p_traced > 0))
		return;
	r->cycle_ns = c_traced;
	r->wakes_traced = o->sleeps;
	double untraced = r->path_ns - cost, extra = 0;
	for (int i = 0; i < WAKE_ITERATIONS; i++) {
		double p = gs_wake_share(untraced / o->ticks, c_untraced);
		double wakes = o->sleeps * p / p_traced;
		extra = wakes < o->sleeps ? (o->sleeps - wakes) * r->per_wake_ns : 0;
		if (extra > r->path_ns - cost)
			extra = r->path_ns - cost;
		double next = r->path_ns - cost - extra;
		r->wakes_untraced = wakes < o->sleeps ? wakes : o->sleeps;
		double step = next > untraced ? next - untraced : untraced - next;
		if (!(next > 0) || step < 1.0) {
			untraced = next;
			break;
		}
		untraced = next;
	}
	r->wake_ns = extra;
}

double gs_cost_estimate(const struct gs_cost_obs *o, struct gs_cost_est *e)
{
	struct gs_cost_est r = { 0 };
	r.slowdown_pct = -1;
	if (!(o->cpu_ns > 0)) {
		if (e)
			*e = r;
		return -1;
	}
	double refill = o->refill_ns > 0 ? o->refill_ns : 0;
	double cost = o->cost_ns;
	if (o->sys_ns > 0 && cost - refill > o->sys_ns) {
		cost = o->sys_ns + refill;
		r.cost_is_sys = 1;
	}
	r.cost_ns = cost;
	/* never below the probes' own time, which is on the path */
	double off = o->off_path_ns > 0 ? o->off_path_ns : 0;
	r.path_ns = o->cpu_ns - off;
	if (o->wall_ns > 0 && o->wall_ns < r.path_ns) {
		r.path_ns = o->wall_ns;
		r.path_is_wall = 1;
	}
	if (r.path_ns < cost)
		r.path_ns = cost < o->cpu_ns ? cost : o->cpu_ns;
	if (o->woke > 0 && o->quiet > 0) {
		double d = o->woke_median_ns > 0 && o->quiet_median_ns > 0
			? o->woke_median_ns - o->quiet_median_ns
			: o->woke_ns / o->woke - o->quiet_ns / o->quiet;
		r.per_wake_ns = d > 0 ? d : 0;
	}
	wake_term(o, cost, &r);
	double added = cost + r.wake_ns;
	double share = r.path_ns > 0 ? added / r.path_ns : SHARE_CAP;
	if (share > SHARE_CAP)
		share = SHARE_CAP;
	r.slowdown_pct = 100.0 * share / (1.0 - share);
	if (e)
		*e = r;
	return r.slowdown_pct;
}

double gs_slots_median(const unsigned long long *h, int n, double width)
{
	double total = 0;
	for (int i = 0; i < n; i++)
		total += (double)h[i];
	if (!(total > 0))
		return 0;
	double half = total / 2, below = 0;
	for (int i = 0; i < n; i++) {
		if (below + (double)h[i] >= half)
			return width * (i + (half - below) / (double)h[i]);
		below += (double)h[i];
	}
	return width * n;
}
