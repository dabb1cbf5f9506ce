/* SPDX-License-Identifier: MIT */
/*
 * Items 4 and 5: the classic GIL experiments on every libgil policy and on
 * real CPythons, each against its own floor from the same invocation.
 *
 *  4. convoy: `gilscope run convoy -P POLICY -k K --json` and
 *     bench/python/echo_convoy.py on CPython 3.11 (a Python echo server
 *     thread beside K CPU-bound Python threads). Both report req/s with the
 *     CPU threads on the GIL and the no-GIL ceiling (the same CPU work off
 *     the GIL: detached threads in C, separate processes in Python); the
 *     ratio is req/s over the ceiling, per repetition.
 *  5. countdown: `gilscope run countdown -P POLICY -T N --json` and
 *     bench/python/countdown.py on CPython 2.7 and 3.11: the wall time of a
 *     fixed amount of CPU work split over N threads over the same work on
 *     one thread, per repetition.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gil.h"

#define OUTLEN 65536
#define MAXREPS 16

static const char *const policies[] = { "legacy", "cpython", "fifo", "prio" };
#define NPOL (sizeof(policies) / sizeof(policies[0]))

/* One measure over the repetitions, each with its ratio. */
struct samples {
	double v[MAXREPS], ratio[MAXREPS];
	unsigned n;
};

struct series {
	char name[48];
	int is_python;
	struct samples main;  /* req/s or s; share or slowdown */
	struct samples cpu;   /* the CPU threads' work rate */
};

static void add(struct samples *s, double v, double ratio)
{
	if (!isfinite(v) || !isfinite(ratio) || s->n >= MAXREPS)
		return;
	s->v[s->n] = v;
	s->ratio[s->n] = ratio;
	s->n++;
}

/* A row whose ratio is the median of per-repetition ratios. */
static struct bench_row *emit(struct bench_report *r, int item,
			      const char *name, const char *unit, double *v,
			      double *ratio, unsigned n, const char *vs)
{
	if (!n)
		return NULL;
	struct bench_row *row = bench_add_row(r, item, name, unit);
	if (!row)
		return NULL;
	bench_row_set(row, v, n);
	row->ratio = bench_median(ratio, n);
	snprintf(row->vs, sizeof(row->vs), "%s", vs);
	return row;
}

/* Runs one subject of a repetition into out: 0, or its exit status after
 * "bench: item N: SUBJECT failed (exit RC)". */
static int run_subject(const struct bench_opts *o, char **argv, char *out,
		       size_t outlen, int timeout_s, const char *subject)
{
	int rc = bench_run(argv, NULL, out, outlen,
			   o->verbose ? BENCH_RUN_VERBOSE : 0, timeout_s);
	if (rc != 0)
		fprintf(stderr, "bench: %s failed (exit %d)\n", subject, rc);
	return rc;
}

/* A number from a subject's output: libgil's run prints JSON, the Python
 * scripts key=value. */
static double subject_value(size_t p, const char *out, const char *key)
{
	return p < NPOL ? bench_json_num(out, key) : bench_kv(out, key);
}

static void set_goal_ge(struct bench_row *row, double min, const char *what)
{
	if (!row)
		return;
	snprintf(row->goal, sizeof(row->goal), ">= %.2gx %s", min, what);
	row->goal_met = row->ratio >= min;
}

int bench_item_convoy(const struct bench_opts *o, struct bench_report *r)
{
	static const unsigned ks[] = { 0, 1, 2, 4 };
	enum { NK = sizeof(ks) / sizeof(ks[0]) };
	unsigned reps = o->quick ? 1 : 3;
	const char *dur = o->quick ? "0.3" : "0.5";
	int have_run = bench_have_subcommand(o, "run");
	char py[1024], script[1024];
	const char *python = bench_find_python("3.11", py, sizeof(py));
	const char *convoy_py = bench_find(o, "bench/python/echo_convoy.py",
					   script, sizeof(script));
	if (!have_run)
		bench_skip(r, 4, "`gilscope run` is not in this build (libgil "
			   "policies not measured)");
	if (!python)
		bench_skip(r, 4, "no pyenv CPython 3.11 (pyenv versions)");
	else if (!convoy_py)
		bench_skip(r, 4, "bench/python/echo_convoy.py not found under %s",
			   o->source_dir);
	if (!have_run && (!python || !convoy_py))
		return 0;

	struct series (*s)[NPOL + 1] = calloc(NK, sizeof(*s));
	if (!s) {
		fprintf(stderr, "bench: item 4: out of memory\n");
		return -1;
	}
	char pyver[32] = "3.11";
	for (unsigned rep = 0; rep < reps; rep++) {
		for (unsigned ki = 0; ki < NK; ki++) {
			char k[16];
			snprintf(k, sizeof(k), "%u", ks[ki]);
			for (size_t p = 0; p <= NPOL; p++) {
				char out[OUTLEN];
				if (p < NPOL ? !have_run : !python || !convoy_py)
					continue;
				char *run_argv[] = { (char *)bench_gilscope(o), "run",
						     "convoy", "-P",
						     (char *)policies[p < NPOL ? p : 0],
						     "-k", k, "-d", (char *)dur, "--json",
						     NULL };
				char *py_argv[] = { (char *)python, (char *)convoy_py,
						    "-k", k, "-d", (char *)dur, NULL };
				char subject[64];
				snprintf(subject, sizeof(subject), "item 4: %s k=%u",
					 p < NPOL ? policies[p] : "python", ks[ki]);
				if (run_subject(o, p < NPOL ? run_argv : py_argv, out,
						sizeof(out), 120, subject))
					continue;
				double rps = subject_value(p, out, "rps");
				double ceil = subject_value(p, out, "ceiling_rps");
				double cpu = subject_value(p, out, "cpu_work_per_s");
				double ceil_cpu = subject_value(p, out, "ceiling_cpu_work_per_s");
				struct series *se = &s[ki][p];
				add(&se->main, rps, ceil > 0 ? rps / ceil : NAN);
				if (ks[ki] > 0)
					add(&se->cpu, cpu, ceil_cpu > 0 ? cpu / ceil_cpu : NAN);
				if (p == NPOL) {
					const char *v = strstr(out, "python=");
					if (v)
						sscanf(v, "python=%31s", pyver);
				}
			}
			if (o->verbose)
				fprintf(stderr, "bench: item 4: k=%u repetition %u/%u "
						"done\n", ks[ki], rep + 1, reps);
		}
	}

	for (size_t p = 0; p <= NPOL; p++) {
		for (unsigned ki = 0; ki < NK; ki++) {
			struct series *se = &s[ki][p];
			char name[48];
			snprintf(name, sizeof(name), "%s%s/k%u",
				 p < NPOL ? policies[p] : "cpython-",
				 p < NPOL ? "" : pyver, ks[ki]);
			struct bench_row *row = emit(r, 4, name, "req/s", se->main.v,
						     se->main.ratio, se->main.n,
						     "no-GIL ceiling");
			if (!row)
				continue;
			snprintf(row->note, sizeof(row->note),
				 "%s, %u CPU thread(s), %s s per phase; ratio = "
				 "req/s / ceiling req/s of the same run",
				 p < NPOL ? "gilscope run convoy" :
					    "bench/python/echo_convoy.py",
				 ks[ki], dur);
			int prio1 = p < NPOL && !strcmp(policies[p], "prio") &&
				    ks[ki] == 1;
			if (prio1)
				set_goal_ge(row, 0.8, "ceiling");
			snprintf(name + strlen(name), sizeof(name) - strlen(name),
				 " cpu");
			row = emit(r, 4, name, "units/s", se->cpu.v, se->cpu.ratio,
				   se->cpu.n, "no-GIL CPU rate");
			if (!row)
				continue;
			snprintf(row->note, sizeof(row->note),
				 "work rate of the CPU threads; ratio = rate / the "
				 "same threads' rate off the GIL");
			if (prio1)
				set_goal_ge(row, 0.9, "no-GIL rate");
		}
	}
	free(s);
	return 0;
}

int bench_item_countdown(const struct bench_opts *o, struct bench_report *r)
{
	static const unsigned ts[] = { 1, 2, 4 };
	enum { NT = sizeof(ts) / sizeof(ts[0]) };
	static const char *const pyvers[] = { "2.7", "3.11" };
	enum { NPY = 2 };
	unsigned reps = o->quick ? 1 : 3;
	const char *units = o->quick ? "4000000" : "10000000";
	const char *count = o->quick ? "2000000" : "5000000";
	int have_run = bench_have_subcommand(o, "run");
	char py[NPY][1024], script[1024];
	const char *python[NPY];
	const char *countdown_py = bench_find(o, "bench/python/countdown.py",
					      script, sizeof(script));
	if (!have_run)
		bench_skip(r, 5, "`gilscope run` is not in this build (libgil "
			   "policies not measured)");
	for (int i = 0; i < NPY; i++) {
		python[i] = countdown_py ? bench_find_python(pyvers[i], py[i],
							     sizeof(py[i]))
					 : NULL;
		if (!python[i])
			bench_skip(r, 5, "no pyenv CPython %s or no "
				   "bench/python/countdown.py", pyvers[i]);
	}

	struct series s[NT][NPOL + NPY];
	memset(s, 0, sizeof(s));
	char pyver[NPY][32] = { "2.7", "3.11" };
	for (unsigned rep = 0; rep < reps; rep++) {
		for (unsigned ti = 0; ti < NT; ti++) {
			char t[16];
			snprintf(t, sizeof(t), "%u", ts[ti]);
			for (size_t p = 0; p < NPOL + NPY; p++) {
				char out[OUTLEN];
				const char *pyexe = p < NPOL ? NULL : python[p - NPOL];
				if (p < NPOL ? !have_run : !pyexe)
					continue;
				char *run_argv[] = { (char *)bench_gilscope(o), "run",
						     "countdown", "-P",
						     (char *)policies[p < NPOL ? p : 0],
						     "-T", t, "--units", (char *)units,
						     "--json", NULL };
				char *py_argv[] = { (char *)pyexe, (char *)countdown_py,
						    "-t", t, "-n", (char *)count, NULL };
				char subject[64];
				snprintf(subject, sizeof(subject),
					 "item 5: subject %zu t=%u", p, ts[ti]);
				if (run_subject(o, p < NPOL ? run_argv : py_argv, out,
						sizeof(out), 300, subject))
					continue;
				double wall = subject_value(p, out, "wall_s");
				double single = subject_value(p, out, "single_thread_wall_s");
				add(&s[ti][p].main, wall, single > 0 ? wall / single : NAN);
				if (p >= NPOL) {
					const char *v = strstr(out, "python=");
					if (v)
						sscanf(v, "python=%31s", pyver[p - NPOL]);
				}
			}
			if (o->verbose)
				fprintf(stderr, "bench: item 5: t=%u repetition %u/%u "
						"done\n", ts[ti], rep + 1, reps);
		}
	}

	for (size_t p = 0; p < NPOL + NPY; p++) {
		for (unsigned ti = 0; ti < NT; ti++) {
			struct series *se = &s[ti][p];
			char name[48];
			if (p < NPOL)
				snprintf(name, sizeof(name), "%s/t%u", policies[p],
					 ts[ti]);
			else
				snprintf(name, sizeof(name), "cpython-%s/t%u",
					 pyver[p - NPOL], ts[ti]);
			struct bench_row *row = emit(r, 5, name, "s", se->main.v,
						     se->main.ratio, se->main.n,
						     "1 thread, same run");
			if (!row)
				continue;
			if (p < NPOL)
				snprintf(row->note, sizeof(row->note),
					 "gilscope run countdown --units %s; ratio = "
					 "wall / 1-thread wall of the same run", units);
			else
				snprintf(row->note, sizeof(row->note),
					 "bench/python/countdown.py -n %s (while n > 0: "
					 "n -= 1); ratio = wall / 1-thread wall", count);
			if (p < NPOL && ts[ti] == 2 &&
			    (!strcmp(policies[p], "fifo") ||
			     !strcmp(policies[p], "prio"))) {
				snprintf(row->goal, sizeof(row->goal),
					 "<= 1.05x 1 thread");
				row->goal_met = row->ratio <= 1.05;
			}
		}
	}
	return 0;
}
