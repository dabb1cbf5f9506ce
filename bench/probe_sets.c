/* SPDX-License-Identifier: MIT */
/*
 * Item 11: do the light and full probe sets tell the same story on
 * CPython 2.7? The 2- and 4-thread countdown (bench/python/countdown.py)
 * recorded with `--probes light` and `--probes full`, interleaved, --reps
 * repetitions each (default 30); per trace `gilscope report --json` gives
 * the share of handoffs in which the releaser took the GIL back before any
 * waiter ran (summary.handoffs.failed_ratio). Goal (issue 13): the sets'
 * medians within 5 points.
 *
 * Single runs of either set spread over 50-99.9 % with 4 threads (the
 * workload runs in regimes: a waiter asleep and woken at every release or
 * not, docs/observer-effect.md), so the verdict rests on a distribution-
 * free confidence interval of the difference of the medians, not on the
 * medians alone: each median's order-statistic interval at >= 97.47 %
 * (both cover at once with >= 95 %, the runs being independent), the
 * difference's interval from their ends. Met when the whole interval is
 * within +-5 points, missed when all of it is outside, else not
 * resolvable by this run. A Mann-Whitney rank test says whether the two
 * sets' runs differ at all. The voluntary context switches of each run
 * (countdown.py's vcsw) show which regime it fell in.
 *
 * With --runs-file FILE each repetition is appended to FILE as a line
 * "probesets THREADS SET SHARE VCSW" as soon as it is measured, and the
 * repetitions already in FILE are judged together with this invocation's:
 * a series too long for one sitting (about 2.6 s a run on a quiet machine,
 * 128 repetitions of four subjects = 22 minutes) runs in parts, and an
 * interrupted part loses nothing.
 *
 * The analysis itself is compared on one run, with no such noise, by
 * tests/integration/ebpf_probesets27.sh (report --as-probes light).
 * Run it isolated (bench/isolate.sh).
 */
#define _GNU_SOURCE
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OUTLEN (1 << 20)
/* a run with fewer voluntary switches had no waiter sleeping through the
 * releases (untraced: 28-110 against 20 000-41 000, observer-effect.md) */
/* Regimes by voluntary context switches per run: untraced, a 2-thread run
 * makes 28-110 when no waiter sleeps through the releases and 20 000-41 000
 * when one does (observer-effect.md); 4 threads spread over the range. */
static const double regime_vcsw[] = { 2000, 20000, 50000 };
#define NREGIMES (sizeof(regime_vcsw) / sizeof(regime_vcsw[0]) + 1)
static const char *const regime_name[NREGIMES] = { "<2k", "2-20k", "20-50k", ">=50k" };

/* failed_ratio of the trace, in percent; NAN if it cannot be read. */
static double failed_share(const char *gs, const char *trace, char *out)
{
	char *argv[] = { (char *)gs, "report", "--json", (char *)trace, NULL };
	if (bench_run(argv, NULL, out, OUTLEN, 0, 120))
		return NAN;
	double r = bench_json_num(out, "failed_ratio");
	return isfinite(r) ? 100.0 * r : NAN;
}

/* "runs (median share) by voluntary context switches" for one set */
static void regimes_note(char *buf, size_t len, const double *share,
			 const double *vcsw, unsigned n)
{
	size_t used = strlen(buf);
	used += (size_t)snprintf(buf + used, len - used,
				 "; runs (median %%) by voluntary switches");
	for (size_t g = 0; g < NREGIMES && used < len; g++) {
		double lo = g ? regime_vcsw[g - 1] : 0;
		double hi = g < NREGIMES - 1 ? regime_vcsw[g] : INFINITY;
		double v[BENCH_MAX_RUNS];
		unsigned k = 0;
		for (unsigned i = 0; i < n; i++)
			if (isfinite(share[i]) && isfinite(vcsw[i]) &&
			    vcsw[i] >= lo && vcsw[i] < hi)
				v[k++] = share[i];
		used += (size_t)snprintf(buf + used, len - used, "%s %s: %u",
					 g ? "," : "", regime_name[g], k);
		if (k && used < len)
			used += (size_t)snprintf(buf + used, len - used, " (%.1f)",
						 bench_median(v, k));
	}
}

/* Per subject [threads][set]: the repetitions' shares and switches. */
struct probe_set_runs {
	double share[2][2][BENCH_MAX_RUNS];
	double vcsw[2][2][BENCH_MAX_RUNS];
	unsigned n[2][2];
};

static const char *const thread_counts[] = { "2", "4" };
static const char *const set_names[] = { "light", "full" };

/* Adds one repetition; 0, or -1 when the subject is full. */
static int add_run(struct probe_set_runs *runs, int t, int s, double share, double vcsw)
{
	if (runs->n[t][s] >= BENCH_MAX_RUNS)
		return -1;
	runs->share[t][s][runs->n[t][s]] = share;
	runs->vcsw[t][s][runs->n[t][s]++] = vcsw;
	return 0;
}

/* Reads the repetitions of earlier invocations from path (a missing file
 * has none). 0, or -1 after saying which line is wrong. */
static int load_runs(const char *path, struct probe_set_runs *runs)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? 0 : (fprintf(stderr, "bench: item 11: %s: %s\n",
						      path, strerror(errno)), -1);
	char line[256];
	unsigned lineno = 0;
	int rc = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		unsigned threads;
		char set[8];
		double share, vcsw;
		int t, s;
		if (sscanf(line, "probesets %u %7s %lf %lf", &threads, set, &share, &vcsw) != 4 ||
		    (threads != 2 && threads != 4) ||
		    ((s = !strcmp(set, "full")) == 0 && strcmp(set, "light"))) {
			fprintf(stderr, "bench: item 11: %s:%u: not a repetition line "
				"(want 'probesets 2|4 light|full SHARE VCSW')\n", path, lineno);
			rc = -1;
			break;
		}
		t = threads == 4;
		if (add_run(runs, t, s, share, vcsw)) {
			fprintf(stderr, "bench: item 11: %s:%u: more than %d repetitions "
				"of %s x%u\n", path, lineno, BENCH_MAX_RUNS, set, threads);
			rc = -1;
			break;
		}
	}
	fclose(f);
	return rc;
}

/* The full row's verdict against the light row, from the runs of both. */
static void judge(struct bench_row *row, const double *light, unsigned nl,
		  const double *full, unsigned nf, const double *light_vcsw,
		  const double *full_vcsw, const char *threads)
{
	double a[BENCH_MAX_RUNS], b[BENCH_MAX_RUNS];
	unsigned na = (unsigned)bench_finite(light, nl, a), nb = (unsigned)bench_finite(full, nf, b);
	double llo, lhi, flo, fhi;
	/* each median's interval at >= sqrt(0.95): both hold with >= 95 % */
	double tail = (1 - sqrt(0.95)) / 2;
	double cl = bench_median_ci(a, na, tail, &llo, &lhi);
	double cf = bench_median_ci(b, nb, tail, &flo, &fhi);
	double diff = bench_median(b, nb) - bench_median(a, na);
	double lo = flo - lhi, hi = fhi - llo, cover = cl * cf;
	double p = bench_rank_test(a, na, b, nb);
	row->goal_met = cover < 0.95 || !isfinite(lo) ? BENCH_GOAL_UNRESOLVED
			: lo >= -5.0 && hi <= 5.0     ? 1
			: lo > 5.0 || hi < -5.0       ? 0
						      : BENCH_GOAL_UNRESOLVED;
	snprintf(row->goal, sizeof(row->goal),
		 "within 5 points of light x%s: %+.1f, %.0f%% CI %+.1f..%+.1f",
		 threads, diff, 100 * cover, lo, hi);
	snprintf(row->vs, sizeof(row->vs), "light x%s", threads);
	/* do the sets push runs into the regimes differently? */
	double sa[BENCH_MAX_RUNS], sb[BENCH_MAX_RUNS];
	unsigned nsa = (unsigned)bench_finite(light_vcsw, nl, sa),
		 nsb = (unsigned)bench_finite(full_vcsw, nf, sb);
	size_t used = strlen(row->note);
	snprintf(row->note + used, sizeof(row->note) - used,
		 "; rank tests vs light: share p = %.2g, switches p = %.2g", p,
		 bench_rank_test(sa, nsa, sb, nsb));
}

int bench_item_probe_sets(const struct bench_opts *o, struct bench_report *r)
{
	unsigned reps = o->reps ? o->reps : o->quick ? 2 : 30;
	if (reps > BENCH_MAX_RUNS)
		reps = BENCH_MAX_RUNS;
	/* the earlier repetitions are read first: a bad file is an error even
	 * where this machine cannot add to it */
	struct probe_set_runs *runs = calloc(1, sizeof(*runs));
	if (!runs)
		return -1;
	if (o->runs_file && load_runs(o->runs_file, runs)) {
		free(runs);
		return -1;
	}
	const char *count = o->quick ? "1000000" : "3000000";
	char py[1024], script[1024];
	const char *python = bench_find_python("2.7", py, sizeof(py));
	const char *cd = bench_find(o, "bench/python/countdown.py", script, sizeof(script));
	const char *skip = !python || !cd ? "needs pyenv CPython 2.7 and bench/python/countdown.py"
			   : geteuid() != 0 ? "needs root (eBPF)"
			   : !bench_have_subcommand(o, "record") || !bench_have_subcommand(o, "report")
				   ? "`gilscope record` or `report` is not in this build"
				   : NULL;
	if (skip) {
		bench_skip(r, 11, "%s", skip);
		free(runs);
		return 0;
	}
	char *out = malloc(OUTLEN);
	FILE *log = NULL;
	if (!out) {
		free(runs);
		return -1;
	}
	if (o->runs_file) {
		if (!(log = fopen(o->runs_file, "a"))) {
			fprintf(stderr, "bench: item 11: %s: %s\n", o->runs_file,
				strerror(errno));
			free(out);
			free(runs);
			return -1;
		}
		if (o->verbose)
			fprintf(stderr, "bench: item 11: %u, %u, %u, %u repetitions "
				"from %s\n", runs->n[0][0], runs->n[0][1], runs->n[1][0],
				runs->n[1][1], o->runs_file);
	}
	char tmpdir[sizeof(BENCH_WORKDIR_TEMPLATE)], trace[128];
	if (bench_workdir(11, tmpdir, "sets.gst", trace, sizeof(trace))) {
		if (log)
			fclose(log);
		free(out);
		free(runs);
		return -1;
	}
	const char *gs = bench_gilscope(o);
	/* thread counts interleaved too: a slow stretch of the machine falls
	 * on all four subjects alike */
	for (unsigned rep = 0; rep < reps; rep++)
		for (int t = 0; t < 2; t++)
			for (int s0 = 0; s0 < 2; s0++) {
				/* alternate which set goes first */
				int s = (s0 + (int)rep) % 2;
				if (runs->n[t][s] >= BENCH_MAX_RUNS)
					continue;
				char *argv[] = { (char *)gs, "record", "--probes", (char *)set_names[s],
						 "-o", trace, "--", (char *)python, (char *)cd,
						 "-t", (char *)thread_counts[t], "-n", (char *)count,
						 "--no-single", NULL };
				int rc = bench_run(argv, NULL, out, OUTLEN,
						   o->verbose ? BENCH_RUN_VERBOSE : 0, 300);
				double sw = rc == 0 ? bench_kv(out, "vcsw") : NAN;
				double v = rc == 0 ? failed_share(gs, trace, out) : NAN;
				unlink(trace);
				add_run(runs, t, s, v, isfinite(v) ? sw : NAN);
				if (log) {
					fprintf(log, "probesets %s %s %.6f %.0f\n", thread_counts[t],
						set_names[s], v, isfinite(v) ? sw : NAN);
					fflush(log);
				}
				if (!isfinite(v))
					fprintf(stderr, "bench: item 11: %s x%s failed\n",
						set_names[s], thread_counts[t]);
				else if (o->verbose)
					fprintf(stderr, "bench: item 11: run %u, %s, %s threads: "
						"%.1f %% of handoffs failed, %.0f voluntary "
						"context switches\n", runs->n[t][s], set_names[s],
						thread_counts[t], v, sw);
			}
	if (log && fclose(log)) {
		fprintf(stderr, "bench: item 11: %s: %s\n", o->runs_file, strerror(errno));
		free(out);
		free(runs);
		rmdir(tmpdir);
		return -1;
	}
	int rc = 0;
	for (int t = 0; t < 2 && !rc; t++) {
		struct bench_row *rows[2] = { NULL, NULL };
		for (int s = 0; s < 2; s++) {
			double ok[BENCH_MAX_RUNS];
			unsigned n = runs->n[t][s];
			if (!bench_finite(runs->share[t][s], n, ok))
				continue;
			char name[48];
			snprintf(name, sizeof(name), "%s x%s", set_names[s], thread_counts[t]);
			struct bench_row *row = bench_add_row(r, 11, name, "% failed");
			if (!row) {
				rc = -1;
				break;
			}
			bench_row_set_runs(row, runs->share[t][s], n);
			snprintf(row->note, sizeof(row->note),
				 "countdown.py -t %s -n %s, CPython 2.7, report failed_ratio",
				 thread_counts[t], count);
			regimes_note(row->note, sizeof(row->note), runs->share[t][s],
				     runs->vcsw[t][s], n);
			rows[s] = row;
			/* adding a row may move the others (realloc): the light
			 * row is the one before */
			if (s == 1 && rows[0]) {
				struct bench_row *light = row - 1;
				row->ratio = row->median / light->median;
				judge(row, runs->share[t][0], runs->n[t][0],
				      runs->share[t][1], n, runs->vcsw[t][0],
				      runs->vcsw[t][1], thread_counts[t]);
			}
		}
	}
	free(out);
	free(runs);
	rmdir(tmpdir);
	return rc;
}
