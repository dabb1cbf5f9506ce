/* SPDX-License-Identifier: MIT */
/* The probes' slowdown from what a recording observed (cost_model.h). */
#include "cost_model.h"

#include <stddef.h>

/* Past these the figure says no more than "the probes are most of the
 * run" / "wake-ups are most of the path": the ratios are ill-conditioned. */
#define SHARE_CAP 0.95
#define WAKE_SHARE_CAP 0.9

double gs_cost_estimate(const struct gs_cost_obs *o, struct gs_cost_est *e)
{
	struct gs_cost_est r = { 0, 0, 0, 0, 0, 0, 1, -1 };
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
	if (r.path_ns > 0) {
		r.wake_share = o->woke * r.per_wake_ns / r.path_ns;
		if (r.wake_share > WAKE_SHARE_CAP)
			r.wake_share = WAKE_SHARE_CAP;
	}
	r.factor = 1.0 / (1.0 - r.wake_share);
	double share = r.path_ns > 0 ? cost * r.factor / r.path_ns : SHARE_CAP;
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
