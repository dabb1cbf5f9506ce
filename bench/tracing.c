/* SPDX-License-Identifier: MIT */
/*
 * Item 7: what tracing costs a real target. CPython 3.11 runs the two-thread
 * countdown (bench/python/countdown.py -t 2 --no-single) under `gilscope top
 * --json --no-hist -- CMD` and under `gilscope record --stacks -o TRACE --
 * CMD` (a Python stack walk at every GIL request and release), each beside
 * an untraced copy.
 *
 * One run after the other, the two copies would differ by several % for no
 * reason: this machine's vCPUs change speed in steps between runs. So, as
 * items 10 and 12 (bench/startline.c), each pair's traced and untraced copy
 * run AT ONCE, every thread of both on CPU 0, released together from one
 * start line once the probes are in; both see the same speed, and their
 * loops' CPU times (cpu_s: the kernel's probe handling, which runs in the
 * traced threads, included) differ by what the probes cost the target.
 * Not counted: the tracer's own process (its reader threads run on the
 * other CPU) and its start-up and shut-down. Their wall times mean nothing
 * (the copies share a CPU): no wall row.
 *
 * Row per tracer: the median of the pairs' slowdowns (traced / untraced
 * CPU time - 1); goal met when the upper end of the median's >= 90 %
 * confidence interval is within the goal, missed when its lower end is
 * beyond it, else not resolvable (as item 12). Each repetition runs one
 * pair per tracer, their order swapped every repetition. --reps N sets the
 * repetitions (default 24).
 */
#define _GNU_SOURCE
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_REPS 24

struct tracer {
	const char *name;
	const char *subcommand;
	const char *args[4]; /* between the subcommand and "--" */
	double goal_pct;     /* at most this much slower */
	/* in the tracer's output when it saw the program's GIL (a tracer
	 * that could not attach runs the program untraced: 0 % slower) */
	const char *traced_mark;
};

static const struct tracer tracers[] = {
	{ "gilscope_top, CPU time", "top", { "--json", "--no-hist" }, 1.0,
	  "\"acquisitions\"" },
	/* issue 15: stacks on every GIL event, <= 3 % */
	{ "gilscope_record_stacks, CPU time", "record", { "--stacks", "-o", NULL },
	  3.0, "estimated probe cost " },
};
#define NTRACERS (sizeof(tracers) / sizeof(tracers[0]))

int bench_item_tracing(const struct bench_opts *o, struct bench_report *r)
{
	unsigned reps = o->quick ? 1 : o->reps ? o->reps : DEFAULT_REPS;
	if (reps > BENCH_MAX_RUNS)
		reps = BENCH_MAX_RUNS;
	const char *count = o->quick ? "2000000" : "10000000";
	char py[1024], script[1024];
	const char *python = bench_find_python("3.11", py, sizeof(py));
	const char *countdown_py = bench_find(o, "bench/python/countdown.py",
					      script, sizeof(script));
	if (!python || !countdown_py) {
		bench_skip(r, 7, "needs pyenv CPython 3.11 and "
			   "bench/python/countdown.py");
		return 0;
	}
	if (geteuid() != 0) {
		bench_skip(r, 7, "needs root (eBPF)");
		return 0;
	}
	int present[NTRACERS], any = 0;
	for (size_t t = 0; t < NTRACERS; t++) {
		present[t] = bench_have_subcommand(o, tracers[t].subcommand);
		if (!present[t])
			bench_skip(r, 7, "`gilscope %s` is not in this build",
				   tracers[t].subcommand);
		any |= present[t];
	}
	if (!any)
		return 0;

	char tmpdir[sizeof(BENCH_WORKDIR_TEMPLATE)], trace[128];
	if (bench_workdir(7, tmpdir, "cpython.gst", trace, sizeof(trace)))
		return -1;
	char ready0[160], ready1[160], go[160];
	snprintf(ready0, sizeof(ready0), "%s/ready0", tmpdir);
	snprintf(ready1, sizeof(ready1), "%s/ready1", tmpdir);
	snprintf(go, sizeof(go), "%s/go", tmpdir);
	const char *const ready[2] = { ready0, ready1 };
	const char *gs = bench_gilscope(o);
	struct bench_pair_run *pr = calloc(2, sizeof(*pr));
	/* per tracer: slowdown of each repetition (NAN: failed); then the
	 * CPU times of the untraced copies, one per pair */
	double *slower = calloc(2 * NTRACERS * (size_t)reps, sizeof(double));
	if (!pr || !slower) {
		free(pr);
		free(slower);
		rmdir(tmpdir);
		return -1;
	}
	double *untraced_cpu = slower + NTRACERS * (size_t)reps;
	unsigned nuntraced = 0;
	char pyver[32] = "3.11";
	for (unsigned rep = 0; rep < reps; rep++) {
		for (size_t k = 0; k < NTRACERS; k++) {
			/* the order swapped every repetition: neither tracer
			 * always runs right after the other's shut-down */
			size_t t = rep % 2 ? NTRACERS - 1 - k : k;
			const struct tracer *tr = &tracers[t];
			double *s = &slower[t * reps + rep];
			*s = NAN;
			if (!present[t])
				continue;
			for (int traced = 0; traced < 2; traced++) {
				char **argv = pr[traced].argv;
				int a = 0;
				if (traced) {
					argv[a++] = (char *)gs;
					argv[a++] = (char *)tr->subcommand;
					for (int i = 0; i < 4 && tr->args[i]; i++)
						argv[a++] = (char *)tr->args[i];
					if (!strcmp(tr->subcommand, "record"))
						argv[a++] = trace;
					argv[a++] = "--";
				}
				argv[a++] = (char *)python;
				argv[a++] = (char *)countdown_py;
				argv[a++] = "-t";
				argv[a++] = "2";
				argv[a++] = "-n";
				argv[a++] = (char *)count;
				argv[a++] = "--no-single";
				bench_startline_args(argv, a, ready[traced], go);
				pr[traced].flags = BENCH_RUN_STDERR |
						   (o->verbose ? BENCH_RUN_VERBOSE : 0);
			}
			bench_run_cosched(pr, ready, go);
			unlink(trace);
			double cpu[2];
			for (int traced = 0; traced < 2; traced++)
				cpu[traced] = pr[traced].rc == 0
					? bench_kv(pr[traced].out, "cpu_s") : NAN;
			if (!isfinite(cpu[0]) || !isfinite(cpu[1]) || cpu[0] <= 0 ||
			    !strstr(pr[1].out, tr->traced_mark)) {
				fprintf(stderr, "bench: item 7: %s: repetition %u failed "
					"(exit %d / %d%s)\n", tr->name, rep + 1,
					pr[0].rc, pr[1].rc,
					strstr(pr[1].out, tr->traced_mark) ? ""
						: ", the tracer saw no GIL");
				continue;
			}
			*s = 100.0 * (cpu[1] / cpu[0] - 1.0);
			untraced_cpu[nuntraced++] = cpu[0];
			const char *pv = strstr(pr[0].out, "python=");
			if (pv)
				sscanf(pv, "python=%31s", pyver);
			if (o->verbose)
				fprintf(stderr, "bench: item 7: repetition %u/%u: %s: "
					"%+.2f %% (%.6f / %.6f s)\n", rep + 1, reps,
					tr->name, *s, cpu[1], cpu[0]);
		}
	}
	free(pr);
	rmdir(tmpdir);
	int rc = 0;
	if (!nuntraced) {
		bench_skip(r, 7, "every co-scheduled pair failed");
		free(slower);
		return 0;
	}
	struct bench_row *row = bench_add_row(r, 7, "untraced", "s");
	if (!row) {
		free(slower);
		return -1;
	}
	bench_row_set(row, untraced_cpu, nuntraced);
	snprintf(row->note, sizeof(row->note),
		 "CPython %s, countdown.py -t 2 -n %s --no-single: the loop's CPU "
		 "time (cpu_s), every untraced copy, beside a traced one on CPU 0",
		 pyver, count);
	for (size_t t = 0; t < NTRACERS && !rc; t++) {
		double *v = &slower[t * reps], ok[BENCH_MAX_RUNS];
		size_t m = bench_finite(v, reps, ok);
		if (!m)
			continue;
		row = bench_add_row(r, 7, tracers[t].name, "% slower");
		if (!row) {
			rc = -1;
			break;
		}
		bench_row_set_runs(row, v, reps);
		double lo, hi;
		bench_median_ci(ok, m, 0.05, &lo, &hi);
		bench_slowdown_goal(row, tracers[t].goal_pct, lo, hi);
		snprintf(row->note, sizeof(row->note),
			 "the loop's CPU time, the traced and the untraced copy at once "
			 "on CPU 0; median's >= 90%% CI %+.1f..%+.1f %%; CPython %s, "
			 "countdown.py -t 2 -n %s --no-single", lo, hi, pyver, count);
	}
	free(slower);
	return rc;
}
