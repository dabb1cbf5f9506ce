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
 *  - CPython 2.7's contended regime, the waiter's cycle: a waiter asleep on
 *    the lock's semaphore is woken by the next release that finds it
 *    asleep (a futex wake-up of a thread on another CPU, microseconds on
 *    the releaser's path), finds the GIL taken again and sleeps, a time c
 *    after that release. With releases every I, the waiter sleeps through
 *    none of them while awake and is woken by the first one after c: on
 *    average a wake-up every c/I + 1/2 releases, so a share
 *    p(I) = I / (c + I/2) of the releases wake it. The probes lengthen I
 *    (each hold between check-interval releases carries their cost), so
 *    the traced run has more wake-ups per release than the untraced one:
 *    wakes_untraced = wakes_traced x p(I_untraced) / p(I_traced), with the
 *    waiter's own probes (its scheduler hits) taken out of c, and each
 *    wake-up the untraced run does not have is one price of a wake-up (a
 *    woken check-interval re-take's time less a quiet one's) less on its
 *    path. I_untraced is the untraced path over the releases, which that
 *    difference itself shortens: solved by iteration (it converges: the
 *    wake-ups are a small part of the path).
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
	double ticks;       /* 2.7 check-interval releases (0: unknown) */
	double sleeps;      /* waiters' sleeps on the GIL: the wake-ups */
	double cycles;      /* those that followed a release's wake-up */
	double cycles_ns;   /* ... their total time from that release */
	double cycle_probe_ns; /* the probes' time in one such cycle (the
				* waiter's own scheduler hits) */
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
	double cycle_ns;     /* the waiter's mean cycle, probes in (0: none) */
	double wakes_traced, wakes_untraced; /* the latter predicted */
	double wake_ns;      /* the wake-ups only the traced run had, priced */
	double slowdown_pct; /* the estimate */
};

/* The estimate (e may be NULL for the percentage alone); -1 when the CPU
 * time is unknown (cpu_ns <= 0). */
double gs_cost_estimate(const struct gs_cost_obs *o, struct gs_cost_est *e);

/* The share of releases every interval_ns that wake a waiter whose cycle
 * (a wake-up by a release to its next sleep) lasts cycle_ns (cost_model.h's
 * p(I)); at most 1. */
double gs_wake_share(double interval_ns, double cycle_ns);

/* The median of n equal slots of width ns each (the BPF side's linear
 * retake_hist, not analysis/model/histogram.h's log-linear gs_hist; the last
 * slot open-ended), interpolated within its slot; 0 when it is empty. */
double gs_slots_median(const unsigned long long *h, int n, double width);

#endif
