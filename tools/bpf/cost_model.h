/* SPDX-License-Identifier: MIT */
/*
 * The slowdown the probes cause a run, from what the recording observed
 * (docs/observer-effect.md, "The estimate printed after each run"). Pure
 * arithmetic: session_cost.c feeds it the BPF counters and the target's
 * CPU time.
 *
 *  - The program's path is the CPU time its threads used minus what they
 *    ran while waiting for a GIL another thread held, and at most the
 *    recording's wall time: every probe runs where a thread holds, takes
 *    or gives back the GIL, one thread at a time, so a probe delays the
 *    program by its whole cost, not by its share of every thread's CPU
 *    time (a waiter woken for nothing and going back to sleep runs beside
 *    the holder). The wall time bounds it where waiters' CPU time escapes
 *    the count; the CPU time where the run waited for a CPU (a loaded
 *    machine).
 *  - A release that wakes a sleeping waiter costs the releaser a real wake
 *    (a futex wake-up on another CPU, microseconds) on that path. Such
 *    waiters run at their own pace (wake, find the GIL taken again, sleep),
 *    so their wake-ups per second of the run stay the same with or without
 *    probes: a run the probes make longer gets proportionally more of
 *    them. With f the share of the path spent waking waiters, the run
 *    without probes is shorter by cost / (1 - f), not by cost.
 *  - The probes' kernel part (the traps, the BPF programs: everything but
 *    the program's cache refill after a trap) runs in the target's
 *    threads in kernel mode: it is at most the system time the kernel
 *    accounted to them over the recording. The per-hit prices are
 *    measured on the recorder's CPU at other moments than the target's
 *    run, and this machine's vCPUs change speed in steps (10-25 %); where
 *    the probes are most of the run, as in a loop of GIL round trips,
 *    a few percent of error in them moves the estimate several-fold, and
 *    where the priced kernel part exceeds the measured system time, the
 *    system time is the better figure.
 */
#ifndef GILSCOPE_COST_MODEL_H
#define GILSCOPE_COST_MODEL_H

struct gs_cost_obs {
	double cost_ns;     /* the probes' own CPU time (hits x per-hit cost) */
	double refill_ns;   /* ... of which the program's cache refill (user
			     * time; the rest is kernel time) */
	double cpu_ns;      /* the target's CPU time over the recording */
	double sys_ns;      /* ... of which system time (0: unknown) */
	double wall_ns;     /* the recording's wall time (0: unknown) */
	double off_path_ns; /* ...that its threads ran waiting behind a holder */
	double woke;        /* re-takes whose release woke a sleeping thread */
	double woke_ns;     /* their total request-to-acquired time */
	double quiet;       /* re-takes whose release woke no one */
	double quiet_ns;    /* their total request-to-acquired time */
	/* the medians of those times, 0: unknown (then the means price a
	 * wake-up, above): a wake-up's price is the typical difference, not
	 * the rare re-take whose releaser was preempted meanwhile */
	double woke_median_ns, quiet_median_ns;
};

struct gs_cost_est {
	double cost_ns;      /* the probes' cost the estimate used */
	int cost_is_sys;     /* ... its kernel part bounded by sys_ns */
	double path_ns;      /* time on the program's path, probes in */
	int path_is_wall;    /* ... bounded by the wall time */
	double per_wake_ns;  /* a wake-up's price on that path (woke - quiet) */
	double wake_share;   /* f: share of the path spent waking waiters */
	double factor;       /* 1 / (1 - f) */
	double slowdown_pct; /* the estimate */
};

/* The estimate (e may be NULL for the percentage alone); -1 when the CPU
 * time is unknown (cpu_ns <= 0). */
double gs_cost_estimate(const struct gs_cost_obs *o, struct gs_cost_est *e);

/* The median of n equal slots of width ns each (the BPF side's linear
 * retake_hist, not analysis/model/histogram.h's log-linear gs_hist; the last
 * slot open-ended), interpolated within its slot; 0 when it is empty. */
double gs_slots_median(const unsigned long long *h, int n, double width);

#endif
