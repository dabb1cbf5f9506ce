/* SPDX-License-Identifier: MIT */
/*
 * The benchmarks of docs/performance.md, as a library `gilscope bench` calls.
 *
 * Every figure is a ratio against a floor or a peer measured in the same run:
 * each item interleaves its subjects repetition by repetition, so load from
 * other processes hits all of them alike, and reports the median of the
 * repetitions with their min-max.
 */
#ifndef GILSCOPE_BENCH_H
#define GILSCOPE_BENCH_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_MAX_RUNS 512

/* One measured subject of one item (a table row). */
struct bench_row {
	int item;              /* 1..9, as in docs/performance.md */
	char name[64];         /* "fifo", "pthread_mutex", "cpython-3.11" ... */
	char unit[16];         /* "ns/pair", "us", "req/s", "s" */
	double median, min, max; /* over repetitions */
	double ratio;          /* median / floor median; NAN for the floor */
	char vs[64];           /* name of the floor or peer the ratio is to */
	/* Latency items: medians over repetitions of each repetition's
	 * percentiles; NAN elsewhere. median above is the p50. */
	double p90, p99;
	unsigned reps;         /* repetitions behind median/min/max */
	uint64_t samples;      /* samples per repetition (latency items) */
	int goal_met;          /* 1 met, 0 missed, -1 no goal for this row,
				  BENCH_GOAL_UNRESOLVED: the run cannot tell */
	char goal[80];         /* "<= 1.5x pthread_mutex" */
	char note[384];
	/* Items that compare distributions: each repetition's value in run
	 * order (NAN: that repetition failed), printed as "runs" in --json
	 * so the rows of one item line up into a per-run table. */
	double runs[BENCH_MAX_RUNS];
	unsigned nruns;
	/* Item 10: each pair's estimate beside runs[] ("estimates" in
	 * --json), and how many pairs' own estimate met the row's goal
	 * against their own measurement (pairs_judged 0: not such a row). */
	double estimates[BENCH_MAX_RUNS];
	unsigned pairs_met, pairs_judged;
};

/* goal_met of a row whose confidence interval straddles the goal's bound */
#define BENCH_GOAL_UNRESOLVED 2

struct bench_report {
	struct bench_row *rows;
	size_t n, cap;
	/* Items skipped, with why (a missing tool, a policy not in this
	 * build); printed so a short report is never mistaken for a full one. */
	char skipped[16][160];
	size_t nskipped;
};

struct bench_opts {
	int quick;      /* fewer and shorter repetitions: a smoke run */
	int verbose;
	unsigned reps;  /* --reps: repetitions per subject (items that take it) */
	/* --runs-file: repetitions of earlier invocations are read from it and
	 * this one's appended, so a long series runs in parts (item 11) */
	const char *runs_file;
	const char *self_exe; /* the gilscope binary, to find its siblings */
	const char *build_dir; /* the build tree holding bench/, probes/ ... */
	const char *source_dir; /* the source tree (scripts, Python files) */
};

/* Appends a zeroed row (NANs where "none") and returns it; NULL on ENOMEM. */
struct bench_row *bench_add_row(struct bench_report *r, int item,
				const char *name, const char *unit);
void bench_skip(struct bench_report *r, int item, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void bench_report_free(struct bench_report *r);

/* Statistics over n doubles (the array is sorted in place). */
double bench_median(double *v, size_t n);
double bench_percentile(double *v, size_t n, double p); /* p in [0,100] */
double bench_min(const double *v, size_t n);
double bench_max(const double *v, size_t n);
/* A distribution-free confidence interval of the median of the n values v
 * (sorted here): [v(k), v(n+1-k)] for the largest k whose tails each hold
 * at most `tail` of Binomial(n, 1/2). Returns its coverage (>= 1 - 2 tail;
 * smaller only when n is too small for any k, then the min-max). */
double bench_median_ci(double *v, size_t n, double tail, double *lo, double *hi);
/* Mann-Whitney U test of samples a[na] and b[nb]: the two-sided p value
 * (normal approximation with the tie correction; NAN if either is empty). */
double bench_rank_test(const double *a, size_t na, const double *b, size_t nb);
/* Paired runs num[i], den[i] (pairs with a NAN left out): returns
 * mean(num) / mean(den), and in lo..hi its percentile bootstrap interval at
 * `level` (e.g. 0.95), the pairs resampled together so that what two
 * interleaved runs shared (the machine's state at that moment) stays
 * paired. NAN when no pair (or no resample) has a positive den. */
double bench_ratio_of_means_ci(const double *num, const double *den, size_t n,
			       double level, double *lo, double *hi);
/* The finite values of v[n] (a NAN is a failed repetition) into out, in
 * order; their count. out may be v itself. */
size_t bench_finite(const double *v, size_t n, double *out);
/* Fills median/min/max/reps of row from the n values in v. */
void bench_row_set(struct bench_row *row, double *v, size_t n);
/* The same from the n per-repetition values in run order (NANs are failed
 * repetitions: kept in row->runs, left out of median/min/max/reps). */
void bench_row_set_runs(struct bench_row *row, const double *v, size_t n);
/* Sets ratio/vs against floor and goal_met when goal_ratio > 0
 * (met when ratio <= goal_ratio). */
void bench_row_ratio(struct bench_row *row, const struct bench_row *floor,
		     double goal_ratio);

#if defined(__x86_64__) || defined(__i386__)
#define BENCH_CPU_RELAX() __builtin_ia32_pause()
#else
#define BENCH_CPU_RELAX() ((void)0)
#endif

/* Busy-waits for ns nanoseconds (off the measured path). */
void bench_spin_ns(uint64_t ns);

/* Items. Each returns 0, or -1 after printing why to stderr. */
int bench_item_uncontended(const struct bench_opts *o, struct bench_report *r);
int bench_item_handoff(const struct bench_opts *o, struct bench_report *r);
int bench_item_probes(const struct bench_opts *o, struct bench_report *r);
int bench_item_convoy(const struct bench_opts *o, struct bench_report *r);
int bench_item_countdown(const struct bench_opts *o, struct bench_report *r);
int bench_item_tracing(const struct bench_opts *o, struct bench_report *r);
int bench_item_placement(const struct bench_opts *o, struct bench_report *r);
int bench_item_fidelity(const struct bench_opts *o, struct bench_report *r);
int bench_item_estimate(const struct bench_opts *o, struct bench_report *r);
int bench_item_slowdown(const struct bench_opts *o, struct bench_report *r);
int bench_item_probe_sets(const struct bench_opts *o, struct bench_report *r);

/* Helpers for items that run other programs (bench/spawn.c). */

#define BENCH_RUN_STDERR 1  /* capture stderr with stdout */
#define BENCH_RUN_VERBOSE 2 /* copy the output to our stderr as it comes */
/* Runs argv (PATH searched) with the extra "K=V" environment entries of env
 * (NULL-terminated, or NULL) and captures up to outlen-1 bytes of its stdout
 * into out; its stderr goes to /dev/null unless a flag says otherwise.
 * timeout_s > 0 kills its process group after that long. Returns the exit
 * status (0..255), or -1 when it could not run, was killed or timed out. */
int bench_run(char *const argv[], char *const env[], char *out, size_t outlen,
	      int flags, unsigned timeout_s);
/* build_dir/rel, else source_dir/rel, if readable (into buf); else NULL. */
const char *bench_find(const struct bench_opts *o, const char *rel, char *buf,
		       size_t len);
/* Path of the newest pyenv CPython "X.Y" (pyenv root/versions/X.Y.*), or
 * NULL. */
const char *bench_find_python(const char *want, char *buf, size_t len);
 /* 1 if name is an executable on PATH. */
int bench_have_cmd(const char *name);
/* The source tree ($GILSCOPE_SRC, else where this build came from). */
const char *bench_source_dir(void);
/* The number after "key=" at the start of a line of text; NAN if absent. */
double bench_kv(const char *text, const char *key);
/* The number after the first "key": in JSON text (keys unique enough in
 * `gilscope run --json` output); NAN if absent or null. */
double bench_json_num(const char *text, const char *key);
/* The gilscope binary whose subcommands (run, record) items call:
 * $GILSCOPE_BENCH_GILSCOPE, else this one. */
const char *bench_gilscope(const struct bench_opts *o);
/* 1 if `gilscope SUBCOMMAND --help` works in that binary. */
int bench_have_subcommand(const struct bench_opts *o, const char *sub);
/* An item's private directory for its traces: creates dir from
 * BENCH_WORKDIR_TEMPLATE and puts dir/name in trace. 0, or -1 with
 * "bench: item N: mkdtemp: ..." on stderr. */
#define BENCH_WORKDIR_TEMPLATE "/tmp/gilscope-bench.XXXXXX"
int bench_workdir(int item, char dir[sizeof(BENCH_WORKDIR_TEMPLATE)],
		  const char *name, char *trace, size_t len);

/* Co-scheduled pairs (bench/startline.c; items 7, 10, 12): a traced and
 * an untraced copy of a bench/python program at once, every thread of both
 * on CPU 0, released together from one start line, so that both see the
 * same vCPU speed. */
#define BENCH_PAIR_ARGV 32
#define BENCH_PAIR_OUT 65536
struct bench_pair_run {
	char *argv[BENCH_PAIR_ARGV]; /* NULL-terminated */
	char out[BENCH_PAIR_OUT];    /* its stdout (as flags say) */
	int flags;                   /* BENCH_RUN_* */
	int rc;                      /* bench_run()'s */
};
/* Appends "--cpu 0 --ready READY --start-after GO" (startline.py's options)
 * at argv[a] and a NULL; returns the new count. */
int bench_startline_args(char **argv, int a, const char *ready, const char *go);
/* Runs pr now (one run after the other: no start line). */
void bench_pair_run_one(struct bench_pair_run *pr);
/* Runs both at once; each was given ready[i] and go by
 * bench_startline_args(), and go is created once both ready files exist. */
void bench_run_cosched(struct bench_pair_run pr[2], const char *const ready[2],
		       const char *go);
/* A "% slower" row's goal and verdict from the median's confidence
 * interval lo..hi: met when all of it is <= goal_pct, missed when all of
 * it is above, else BENCH_GOAL_UNRESOLVED. */
void bench_slowdown_goal(struct bench_row *row, double goal_pct, double lo,
			 double hi);

#endif
