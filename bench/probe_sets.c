/* SPDX-License-Identifier: MIT */
/*
 * Item 11: do the light and full probe sets tell the same story on
 * CPython 2.7? The 2- and 4-thread countdown (bench/python/countdown.py)
 * recorded with `--probes light` and `--probes full`, interleaved, 7
 * repetitions each; per trace `gilscope report --json` gives the share of
 * handoffs in which the releaser took the GIL back before any waiter ran
 * (summary.handoffs.failed_ratio). Rows: the median share per set; the
 * full row's goal: within 5 points of the light row's median (issue 13).
 * Who wins a 2.7 handoff is the scheduler's doing as much as the program's
 * (docs/observer-effect.md): run it isolated (bench/isolate.sh).
 */
#define _GNU_SOURCE
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OUTLEN (1 << 20)
#define MAXREPS 16

/* failed_ratio of the trace, in percent; NAN if it cannot be read. */
static double failed_share(const char *gs, const char *trace, char *out)
{
	char *argv[] = { (char *)gs, "report", "--json", (char *)trace, NULL };
	if (bench_run(argv, NULL, out, OUTLEN, 0, 120))
		return NAN;
	double r = bench_json_num(out, "failed_ratio");
	return isfinite(r) ? 100.0 * r : NAN;
}

int bench_item_probe_sets(const struct bench_opts *o, struct bench_report *r)
{
	unsigned reps = o->quick ? 1 : 7;
	const char *count = o->quick ? "1000000" : "3000000";
	char py[1024], script[1024];
	const char *python = bench_find_python("2.7", py, sizeof(py));
	const char *cd = bench_find(o, "bench/python/countdown.py", script, sizeof(script));
	if (!python || !cd) {
		bench_skip(r, 11, "needs pyenv CPython 2.7 and bench/python/countdown.py");
		return 0;
	}
	if (geteuid() != 0) {
		bench_skip(r, 11, "needs root (eBPF)");
		return 0;
	}
	if (!bench_have_subcommand(o, "record") || !bench_have_subcommand(o, "report")) {
		bench_skip(r, 11, "`gilscope record` or `report` is not in this build");
		return 0;
	}
	char tmpdir[sizeof(BENCH_WORKDIR_TEMPLATE)], trace[128];
	if (bench_workdir(11, tmpdir, "sets.gst", trace, sizeof(trace)))
		return -1;
	char *out = malloc(OUTLEN);
	if (!out) {
		rmdir(tmpdir);
		return -1;
	}
	const char *gs = bench_gilscope(o);
	static const char *const threads[] = { "2", "4" };
	static const char *const sets[] = { "light", "full" };
	for (int t = 0; t < 2; t++) {
		double share[2][MAXREPS];
		unsigned n[2] = { 0, 0 };
		for (unsigned rep = 0; rep < reps; rep++)
			for (int s = 0; s < 2; s++) {
				char *argv[] = { (char *)gs, "record", "--probes", (char *)sets[s],
						 "-o", trace, "--", (char *)python, (char *)cd,
						 "-t", (char *)threads[t], "-n", (char *)count,
						 "--no-single", NULL };
				int rc = bench_run(argv, NULL, out, OUTLEN,
						   o->verbose ? BENCH_RUN_VERBOSE : 0, 300);
				double v = rc == 0 ? failed_share(gs, trace, out) : NAN;
				unlink(trace);
				if (!isfinite(v)) {
					fprintf(stderr, "bench: item 11: %s x%s failed\n",
						sets[s], threads[t]);
					continue;
				}
				share[s][n[s]++] = v;
				if (o->verbose)
					fprintf(stderr, "bench: item 11: %s, %s threads: "
						"%.1f %% of handoffs failed\n", sets[s],
						threads[t], v);
			}
		double med[2] = { NAN, NAN };
		for (int s = 0; s < 2; s++) {
			if (!n[s])
				continue;
			char name[48];
			snprintf(name, sizeof(name), "%s x%s", sets[s], threads[t]);
			struct bench_row *row = bench_add_row(r, 11, name, "% failed");
			if (!row) {
				free(out);
				rmdir(tmpdir);
				return -1;
			}
			bench_row_set(row, share[s], n[s]);
			med[s] = row->median;
			snprintf(row->note, sizeof(row->note),
				 "CPython 2.7, countdown.py -t %s -n %s; handoffs the "
				 "releaser took back (report --json failed_ratio)",
				 threads[t], count);
			if (s == 1 && isfinite(med[0])) {
				row->ratio = med[1] / med[0];
				snprintf(row->vs, sizeof(row->vs), "light x%s", threads[t]);
				snprintf(row->goal, sizeof(row->goal),
					 "within 5 points of light x%s", threads[t]);
				row->goal_met = fabs(med[1] - med[0]) <= 5.0;
			}
		}
	}
	free(out);
	rmdir(tmpdir);
	return 0;
}
