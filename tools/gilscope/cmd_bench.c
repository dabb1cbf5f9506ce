/* SPDX-License-Identifier: MIT */
/*
 * gilscope bench: the benchmarks of docs/performance.md, each subject next to
 * its floor or peer measured in the same run. Prints one table per item
 * (median of the repetitions, min-max, ratio), or the same numbers as JSON.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "cli_parse.h"
#include "commands.h"
#include "json_writer.h"

struct item {
	int id;
	const char *name;
	const char *title;
	int (*run)(const struct bench_opts *o, struct bench_report *r);
};

static const struct item items[] = {
	{ 1, "uncontended", "uncontended GIL release+acquire vs pthread_mutex pair",
	  bench_item_uncontended },
	{ 2, "handoff", "handoff latency (release with a waiter -> waiter runs) vs futex ping-pong",
	  bench_item_handoff },
	{ 3, "probes", "probe cost per event: disabled, recorder vs LTTng-UST, USDT",
	  bench_item_probes },
	{ 4, "convoy", "convoy: echo server req/s beside 0/1/2/4 CPU threads, as a share of the no-GIL ceiling",
	  bench_item_convoy },
	{ 5, "countdown", "countdown: fixed CPU work over 1/2/4 threads vs 1 thread",
	  bench_item_countdown },
	{ 7, "tracing", "tracing cost on CPython 3.11: two-thread countdown's CPU time under gilscope top and record --stacks, each beside an untraced copy at once on one CPU",
	  bench_item_tracing },
	{ 8, "placement", "probe cost per GIL round trip by placement: symbol table vs symbol-free (stripped CPython 3.11)",
	  bench_item_placement },
	{ 9, "fidelity", "the cpython policy vs real CPython 3.11 on one echo convoy (1 CPU thread): req/s and loss per I/O call",
	  bench_item_fidelity },
	{ 10, "estimate", "record's cost estimate vs the measured slowdown: CPython 2.7/3.11 countdown, 3.11 os.read loop",
	  bench_item_estimate },
	{ 11, "probesets", "CPython 2.7 countdown x2/x4: failed-handoff share, light vs full probe set",
	  bench_item_probe_sets },
	{ 12, "slowdown", "CPython 3.11 countdown's CPU time under record, traced and untraced copies at once on one CPU (<= 1 %)",
	  bench_item_slowdown },
};
#define NITEMS (sizeof(items) / sizeof(items[0]))

/* The items --only takes, by number and name; item 6 has no runner here. */
static void list_items(FILE *out)
{
	for (size_t i = 0; i < NITEMS; i++)
		fprintf(out, "  %d %-12s %s\n", items[i].id, items[i].name,
			items[i].title);
	fprintf(out, "  (item 6, analyzer throughput, is measured with gilscope "
		     "report: see docs/performance.md)\n");
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: gilscope bench [--quick] [--json] [--only ITEM[,ITEM...]]\n"
		"                      [--reps N] [--runs-file FILE] [--nice N] [-v]\n\n"
		"Runs the benchmarks of docs/performance.md. Each subject is measured\n"
		"next to its floor or peer in the same run, repetitions interleaved;\n"
		"tables show the median of the repetitions, their min-max and the ratio\n"
		"to the floor: of the medians (items 1-3), or the median of the\n"
		"per-repetition ratios where one invocation measures both (4, 5).\n\n"
		"      --quick        fewer, shorter repetitions (a smoke run)\n"
		"  -j, --json         print the results as JSON on stdout\n"
		"      --only ITEMS   run only these items (numbers or names)\n"
		"      --reps N       repetitions per subject (2-512) for the items that\n"
		"                     take it (7, tracing: default 24 pairs per tracer;\n"
		"                     9, fidelity: 20; 10, estimate:\n"
		"                     pairs per workload, 11;\n"
		"                     11, probesets: 30; 12, slowdown: 11 pairs)\n"
		"      --runs-file FILE  item 11: append each repetition to FILE and judge\n"
		"                     over all repetitions in it, earlier invocations'\n"
		"                     included (a long series run in parts)\n"
		"      --nice N       run at nice value N, e.g. -5 on a machine shared\n"
		"                     with other work (threads and children inherit it)\n"
		"  -v, --verbose      progress on stderr\n"
		"  -h, --help         this help\n\nItems:\n");
	list_items(out);
	fprintf(out, "\nThe numbers are noisy on shared machines: compare ratios, "
		     "not absolute times.\nExit: 0 ok, 1 an item failed, 2 usage "
		     "(docs/cli.md).\n");
}

/* Marks the items named in a comma list; -1 on an unknown one. */
static int parse_only(const char *arg, int *selected)
{
	char *copy = strdup(arg);
	if (!copy)
		return -1;
	int rc = 0;
	for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		int found = 0;
		for (size_t i = 0; i < NITEMS; i++) {
			char num[16];
			snprintf(num, sizeof(num), "%d", items[i].id);
			if (!strcmp(tok, num) || !strcmp(tok, items[i].name)) {
				selected[i] = 1;
				found = 1;
			}
		}
		if (!found) {
			fprintf(stderr, "gilscope bench: unknown item '%s' "
					"(see gilscope bench --help)\n", tok);
			rc = -1;
		}
	}
	free(copy);
	return rc;
}

struct machine {
	long ncpu;
	char kernel[128];
	char start_utc[32];
	double load_start, load_end;
	int nice;
};

static double loadavg1(void)
{
	double l = NAN;
	FILE *f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = NAN;
		fclose(f);
	}
	return l;
}

static void machine_probe(struct machine *m)
{
	m->ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct utsname u;
	if (uname(&u) == 0)
		snprintf(m->kernel, sizeof(m->kernel), "%s", u.release);
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(m->start_utc, sizeof(m->start_utc), "%Y-%m-%dT%H:%M:%SZ", &tm);
	m->load_start = loadavg1();
}

static void fmt_num(char *buf, size_t len, double v)
{
	if (!isfinite(v))
		snprintf(buf, len, "-");
	else if (fabs(v) >= 1000)
		snprintf(buf, len, "%.0f", v);
	else if (fabs(v) >= 10)
		snprintf(buf, len, "%.1f", v);
	else
		snprintf(buf, len, "%.3g", v);
}

/* Each distinct note once, after the names of the rows that carry it. */
static void print_notes(const struct bench_report *r, int item)
{
	for (size_t k = 0; k < r->n; k++) {
		const struct bench_row *row = &r->rows[k];
		if (row->item != item || !row->note[0])
			continue;
		int seen = 0;
		for (size_t e = 0; e < k && !seen; e++)
			seen = r->rows[e].item == item &&
			       !strcmp(r->rows[e].note, row->note);
		if (seen)
			continue;
		printf("    %s", row->name);
		for (size_t e = k + 1; e < r->n; e++)
			if (r->rows[e].item == item &&
			    !strcmp(r->rows[e].note, row->note))
				printf(", %s", r->rows[e].name);
		printf(": %s\n", row->note);
	}
}

static const char *goal_verdict(int goal_met)
{
	return goal_met == 1 ? "met"
	       : goal_met == 0 ? "MISSED"
			       : "NOT RESOLVABLE";
}

static void print_text(const struct bench_report *r, const int *selected,
		       const struct machine *m, const char *cmdline)
{
	printf("gilscope bench: %ld CPUs, kernel %s, started %s, "
	       "load %.2f -> %.2f, nice %d\n", m->ncpu, m->kernel, m->start_utc,
	       m->load_start, m->load_end, m->nice);
	printf("command: %s\n", cmdline);
	for (size_t i = 0; i < NITEMS; i++) {
		if (!selected[i])
			continue;
		int any = 0;
		for (size_t k = 0; k < r->n; k++) {
			const struct bench_row *row = &r->rows[k];
			if (row->item != items[i].id)
				continue;
			if (!any) {
				printf("\nItem %d: %s\n", items[i].id,
				       items[i].title);
				printf("  %-24s %-11s %9s %19s %9s %9s %4s %8s  %s\n",
				       "subject", "unit", "median", "min-max",
				       "p90", "p99", "reps", "ratio", "goal");
				any = 1;
			}
			char med[24], lo[24], hi[24], p90[24], p99[24], mm[48];
			char ratio[32], goal[120];
			fmt_num(med, sizeof(med), row->median);
			fmt_num(lo, sizeof(lo), row->min);
			fmt_num(hi, sizeof(hi), row->max);
			fmt_num(p90, sizeof(p90), row->p90);
			fmt_num(p99, sizeof(p99), row->p99);
			snprintf(mm, sizeof(mm), "%s-%s", lo, hi);
			if (isfinite(row->ratio))
				snprintf(ratio, sizeof(ratio), "%.2fx", row->ratio);
			else
				snprintf(ratio, sizeof(ratio), "-");
			if (row->goal_met >= 0)
				snprintf(goal, sizeof(goal), "%s %s",
					 goal_verdict(row->goal_met), row->goal);
			else if (isfinite(row->ratio))
				snprintf(goal, sizeof(goal), "(vs %s)", row->vs);
			else
				goal[0] = 0;
			printf("  %-24s %-11s %9s %19s %9s %9s %4u %8s  %s\n",
			       row->name, row->unit, med, mm, p90, p99, row->reps,
			       ratio, goal);
		}
		print_notes(r, items[i].id);
	}
	if (r->nskipped) {
		printf("\nSkipped:\n");
		for (size_t k = 0; k < r->nskipped; k++)
			printf("  %s\n", r->skipped[k]);
	}
}

static void print_json(const struct bench_report *r, const int *selected,
		       const struct machine *m, const char *cmdline)
{
	struct json_writer j;
	json_init(&j, stdout, 1);
	json_begin_object(&j, NULL);
	json_begin_object(&j, "machine");
	json_int(&j, "cpus", m->ncpu);
	json_string(&j, "kernel", m->kernel);
	json_string(&j, "started_utc", m->start_utc);
	json_double(&j, "loadavg_start", m->load_start);
	json_double(&j, "loadavg_end", m->load_end);
	json_int(&j, "nice", m->nice);
	json_end(&j);
	json_string(&j, "command", cmdline);
	json_begin_array(&j, "items");
	for (size_t i = 0; i < NITEMS; i++) {
		if (!selected[i])
			continue;
		json_begin_object(&j, NULL);
		json_int(&j, "item", items[i].id);
		json_string(&j, "name", items[i].name);
		json_string(&j, "title", items[i].title);
		json_begin_array(&j, "rows");
		for (size_t k = 0; k < r->n; k++) {
			const struct bench_row *row = &r->rows[k];
			if (row->item != items[i].id)
				continue;
			json_begin_object(&j, NULL);
			json_string(&j, "subject", row->name);
			json_string(&j, "unit", row->unit);
			json_double(&j, "median", row->median);
			json_double(&j, "min", row->min);
			json_double(&j, "max", row->max);
			if (isfinite(row->p90))
				json_double(&j, "p90", row->p90);
			if (isfinite(row->p99))
				json_double(&j, "p99", row->p99);
			json_uint(&j, "reps", row->reps);
			if (row->samples)
				json_uint(&j, "samples_per_rep", row->samples);
			if (isfinite(row->ratio)) {
				json_double(&j, "ratio", row->ratio);
				json_string(&j, "vs", row->vs);
			} else {
				json_null(&j, "ratio");
			}
			if (row->goal_met >= 0) {
				json_string(&j, "goal", row->goal);
				if (row->goal_met == BENCH_GOAL_UNRESOLVED)
					json_null(&j, "goal_met");
				else
					json_bool(&j, "goal_met", row->goal_met);
				json_string(&j, "goal_verdict",
					    row->goal_met == 1   ? "met"
					    : row->goal_met == 0 ? "missed"
								 : "not resolvable");
			}
			if (row->note[0])
				json_string(&j, "note", row->note);
			if (row->nruns) {
				json_begin_array(&j, "runs");
				for (unsigned k2 = 0; k2 < row->nruns; k2++)
					json_double(&j, NULL, row->runs[k2]);
				json_end(&j);
			}
			if (row->pairs_judged) {
				json_begin_array(&j, "estimates");
				for (unsigned k2 = 0; k2 < row->nruns; k2++)
					json_double(&j, NULL, row->estimates[k2]);
				json_end(&j);
				json_uint(&j, "pairs_within_goal", row->pairs_met);
				json_uint(&j, "pairs", row->pairs_judged);
			}
			json_end(&j);
		}
		json_end(&j);
		json_end(&j);
	}
	json_end(&j);
	json_begin_array(&j, "skipped");
	for (size_t k = 0; k < r->nskipped; k++)
		json_string(&j, NULL, r->skipped[k]);
	json_end(&j);
	json_end(&j);
}

/* The build tree: the gilscope binary lives in BUILD/tools/gilscope/. */
static void find_build_dir(char *self, size_t selflen, char *build, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", self, selflen - 1);
	self[n > 0 ? n : 0] = 0;
	const char *env = getenv("GILSCOPE_BUILD");
	if (env && *env) {
		snprintf(build, len, "%s", env);
		return;
	}
	snprintf(build, len, "%s", self);
	for (int up = 0; up < 3; up++) {
		char *slash = strrchr(build, '/');
		if (!slash)
			break;
		*slash = 0;
	}
}

int cmd_bench(int argc, char **argv)
{
	enum { OPT_QUICK = 256, OPT_ONLY, OPT_NICE, OPT_REPS, OPT_RUNS_FILE };
	static const struct cli_renamed renamed[] = {
		{ 'q', "--quick (-q is --quiet)", "--quick" },
		{ 'o', "--only (-o is --output)", "--only ITEMS" },
		{ 'n', "--nice", "--nice N" },
		{ 0 },
	};
	static const struct option longopts[] = {
		{ "quick", no_argument, NULL, OPT_QUICK },
		CLI_OPT_JSON,
		{ "only", required_argument, NULL, OPT_ONLY },
		CLI_OPT_VERBOSE,
		{ "nice", required_argument, NULL, OPT_NICE },
		{ "reps", required_argument, NULL, OPT_REPS },
		{ "runs-file", required_argument, NULL, OPT_RUNS_FILE },
		CLI_OPT_HELP,
		{ NULL, 0, NULL, 0 },
	};
	struct bench_opts o = { 0 };
	int json = 0, only = 0, nice_value = 0, set_nice = 0;
	int selected[NITEMS] = { 0 };
	char cmdline[512] = "gilscope";
	for (int i = 0; i < argc; i++) {
		size_t used = strlen(cmdline);
		snprintf(cmdline + used, sizeof(cmdline) - used, " %s", argv[i]);
	}
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "jvh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_QUICK: o.quick = 1; break;
		case 'j': json = 1; break;
		case OPT_ONLY:
			only = 1;
			if (parse_only(optarg, selected) < 0)
				return 2;
			break;
		case 'v': o.verbose = 1; break;
		case OPT_NICE: {
			long v;
			if (cli_parse_long("bench", "--nice", optarg, -20, 19,
					   "-20..19", &v))
				return 2;
			nice_value = (int)v;
			set_nice = 1;
			break;
		}
		case OPT_REPS: {
			long v;
			if (cli_parse_long("bench", "--reps", optarg, 2,
					   BENCH_MAX_RUNS, "2..512", &v))
				return 2;
			o.reps = (unsigned)v;
			break;
		}
		case OPT_RUNS_FILE: o.runs_file = optarg; break;
		case 'h': usage(stdout); return 0;
		default: return cli_bad_option("bench", argv, longopts, renamed);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "gilscope bench: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!only)
		for (size_t i = 0; i < NITEMS; i++)
			selected[i] = 1;

	static char self[PATH_MAX], build[PATH_MAX];
	find_build_dir(self, sizeof(self), build, sizeof(build));
	o.self_exe = self;
	o.build_dir = build;
	o.source_dir = bench_source_dir();

	/* Before any thread or child exists: both inherit it. */
	if (set_nice && setpriority(PRIO_PROCESS, 0, nice_value) != 0) {
		fprintf(stderr, "gilscope bench: setpriority(%d): %s (negative "
				"values need root or CAP_SYS_NICE)\n", nice_value,
			strerror(errno));
		return 1;
	}
	struct machine m = { 0 };
	machine_probe(&m);
	m.nice = getpriority(PRIO_PROCESS, 0);
	struct bench_report r = { 0 };
	int rc = 0;
	for (size_t i = 0; i < NITEMS; i++) {
		if (!selected[i])
			continue;
		if (o.verbose)
			fprintf(stderr, "bench: item %d (%s)...\n", items[i].id,
				items[i].name);
		if (items[i].run(&o, &r) < 0)
			rc = 1;
	}
	m.load_end = loadavg1();
	if (json)
		print_json(&r, selected, &m, cmdline);
	else
		print_text(&r, selected, &m, cmdline);
	bench_report_free(&r);
	return rc;
}
