/* SPDX-License-Identifier: MIT */
/* gilscope diff: two traces side by side, the changes that matter first. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "cli_parse.h"
#include "commands.h"
#include "compare.h"
#include "figures.h"
#include "json_writer.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: gilscope diff [OPTIONS] A B\n\n"
		"Compares two traces (any format gilscope report reads): per thread\n"
		"and overall hold and wait percentiles, wait share, GIL load, failed\n"
		"handoffs, convoy loss per I/O call, I/O calls per second, inversion\n"
		"time and contention, each as A, B and B/A, largest change first.\n"
		"Threads are matched by name, then by role and rank.\n\n"
		"Options:\n"
		"  -n, --rows N         show the N largest changes (default 30)\n"
		"  -a, --all            show every row\n"
		"  -j, --json           JSON output (schema: docs/replay.md)\n"
		"      --allow-truncated  analyse traces that were cut short\n"
		"  -h, --help           this help\n\n"
		"Exit: 0 ok, 1 a trace could not be read, 2 usage (docs/cli.md).\n"
		"Example:\n"
		"  gilscope diff convoy-cpython.gst convoy-prio.gst\n");
}

struct side {
	const char *path;
	struct gs_analysis an;
	struct gs_figures fig;
};

static int load(struct side *s, int allow_truncated)
{
	char err[600];
	struct gs_analyze_opts opts = { .allow_truncated = allow_truncated };
	if (gs_analyze(s->path, &opts, &s->an, err, sizeof(err)) != 0) {
		fprintf(stderr, "gilscope diff: %s\n", err);
		return -1;
	}
	if (gs_figures_from_metrics(s->an.metrics, &s->fig) != 0) {
		fprintf(stderr, "gilscope diff: out of memory\n");
		gs_analysis_free(&s->an);
		return -1;
	}
	return 0;
}

static void describe(FILE *out, const char *label, const struct side *s)
{
	const struct gs_metrics *m = s->an.metrics;
	fprintf(out, "%s: %s (%s, policy %s", label, s->path, s->an.info.format,
		s->an.info.policy_name[0] ? s->an.info.policy_name : "unknown");
	if (s->an.info.interval_us)
		fprintf(out, ", interval %u us", s->an.info.interval_us);
	fprintf(out, ", %.3f s, %zu threads%s)\n", (double)m->span_ns / 1e9, m->nth,
		s->an.partial ? ", PARTIAL" : "");
}

int cmd_diff(int argc, char **argv)
{
	static const struct option long_opts[] = {
		{ "rows", required_argument, NULL, 'n' },
		{ "all", no_argument, NULL, 'a' },
		CLI_OPT_JSON,
		{ "allow-truncated", no_argument, NULL, 256 },
		CLI_OPT_HELP,
		{ 0 },
	};
	size_t rows = 30;
	int json = 0, allow_truncated = 0, c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "n:ajh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'n': {
			long v;
			if (cli_parse_long("diff", "rows", optarg, 1, LONG_MAX,
					   "a positive number", &v))
				return 2;
			rows = (size_t)v;
			break;
		}
		case 'a': rows = 0; break;
		case 'j': json = 1; break;
		case 256: allow_truncated = 1; break;
		case 'h': usage(stdout); return 0;
		default: return cli_bad_option("diff", argv, long_opts, NULL);
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "gilscope diff: needs two traces, A and B\n\n");
		usage(stderr);
		return 2;
	}
	struct side a = { .path = argv[optind] }, b = { .path = argv[optind + 1] };
	if (load(&a, allow_truncated) != 0)
		return 1;
	if (load(&b, allow_truncated) != 0) {
		gs_figures_free(&a.fig);
		gs_analysis_free(&a.an);
		return 1;
	}
	struct comparison cmp;
	int rc = 0;
	if (compare_figures(&a.fig, &b.fig, 0, 0, NULL, 0, NULL, NULL, &cmp) != 0) {
		fprintf(stderr, "gilscope diff: out of memory\n");
		rc = 1;
	} else if (json) {
		struct json_writer j;
		json_init(&j, stdout, 1);
		json_begin_object(&j, NULL);
		json_string(&j, "a", a.path);
		json_string(&j, "b", b.path);
		json_bool(&j, "partial", a.an.partial || b.an.partial);
		compare_json(&j, "rows", &cmp);
		json_end(&j);
	} else {
		describe(stdout, "A", &a);
		describe(stdout, "B", &b);
		putchar('\n');
		compare_print(stdout, &cmp, "A", "B", rows);
	}
	comparison_free(&cmp);
	gs_figures_free(&a.fig);
	gs_figures_free(&b.fig);
	gs_analysis_free(&a.an);
	gs_analysis_free(&b.an);
	return rc;
}
