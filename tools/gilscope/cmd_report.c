/* SPDX-License-Identifier: MIT */
/*
 * gilscope report TRACE: hold, wait, handoffs, drop requests, convoy and
 * priority inversion from any trace gilscope reads (docs/report.md).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze.h"
#include "cli_parse.h"
#include "output_check.h"
#include "pictures.h"
#include "code_report.h"
#include "report.h"

#define MAX_THREAD_ARGS 64

static void usage(FILE *out)
{
	fprintf(out,
"Usage: gilscope report [OPTIONS] TRACE\n"
"       ... | gilscope report [OPTIONS] -     (a trace on standard input)\n"
"\n"
"Rebuilds who held the GIL, who waited and why, from a trace: a gilscope\n"
"native trace (gilscope run/record -o), an LTTng/CTF directory, perf script\n"
"or trace-cmd report text. Prints a summary, a per-thread table sorted by\n"
"what hurts most, findings (I/O convoy, priority inversion, GIL battle) and\n"
"log2 histograms. Every figure is defined in docs/metrics.md.\n"
"\n"
"Output:\n"
"  -j, --json               JSON document (schema gilscope-report/1, docs/report.md)\n"
"      --csv                per-thread rows as CSV\n"
"      --per-thread         per-thread tables only (with per-thread histograms)\n"
"  -s, --summary            summary and findings only\n"
"  -o, --output FILE        write to FILE instead of stdout\n"
"      --html FILE          also write the HTML timeline report (docs/pictures.md)\n"
"      --svg FILE           also write a static SVG timeline of the window\n"
"      --folded KIND        folded stacks for flame graphs instead of the report:\n"
"                           'thread;outer;...;inner NS' per line; KIND: blame\n"
"                           (others' wait charged to the holder's code), hold,\n"
"                           wait, hold-acquire (needs record --stacks)\n"
"      --top-code N         add the N stacks with the most blame (text, JSON)\n"
"Filters:\n"
"  -t, --thread TID|NAME    show only these threads (repeatable; NAME may be a\n"
"                           glob like 'worker*'); global counters stay global\n"
"      --from TIME          start of the window, from the trace start\n"
"      --to TIME            end of the window, from the trace start\n"
"  -w, --window FROM:TO     the same in one option (either side may be empty)\n"
"                           TIME: 250us, 10ms, 1.5s; a bare number is ns\n"
"Input:\n"
"      --allow-truncated    analyse a trace cut short (no END block); the\n"
"                           report is then marked partial\n"
"      --as-probes light    read a CPython trace of 'record --probes full' as\n"
"                           the default light set would have recorded the same\n"
"                           run (docs/observer-effect.md)\n"
"  -i, --interval TIME      reference switch interval for the convoy finding\n"
"                           (5ms, 1000us; default: the trace's)\n"
"      --interval-us N      the same in microseconds\n"
"  -q, --quiet              no progress indicator\n"
"  -h, --help               this help\n"
"\n"
"Exit status: 0 ok, 1 bad or unreadable trace (or a window past its end),\n"
"2 usage error (docs/cli.md).\n"
"Examples:\n"
"  gilscope run convoy -o convoy.gst && gilscope report convoy.gst\n"
"  gilscope report --json -t io convoy.gst | jq .threads[0].io\n"
"  gilscope report -w 1s:2s --summary trace.gst\n");
}

static int is_number(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/* Copies standard input to a new file in $TMPDIR, whose path goes to BUF.
 * Returns 0, or -1 after a message. */
static int copy_stdin(char *buf, size_t len)
{
	const char *dir = getenv("TMPDIR");
	snprintf(buf, len, "%s/gilscope-stdin.XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(buf);
	if (fd < 0) {
		fprintf(stderr, "gilscope report: cannot make a file for standard "
			"input (%s): %s\n", buf, strerror(errno));
		return -1;
	}
	char chunk[1 << 16];
	ssize_t n;
	while ((n = read(STDIN_FILENO, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || write(fd, chunk, (size_t)n) != n) {
			fprintf(stderr, "gilscope report: copying standard input to "
				"%s: %s\n", buf, strerror(errno));
			close(fd);
			unlink(buf);
			return -1;
		}
	}
	close(fd);
	return 0;
}

static int progress_shown;

static void progress(void *ctx, double fraction)
{
	const char *path = ctx;
	if (fraction > 1)
		fraction = 1;
	fprintf(stderr, "\rgilscope report: reading %s %3.0f%%", path,
		100.0 * fraction);
	progress_shown = 1;
}

int cmd_report(int argc, char **argv)
{
	enum { OPT_CSV = 256, OPT_FROM, OPT_TO, OPT_TRUNC, OPT_HTML, OPT_SVG,
	       OPT_PER_THREAD, OPT_INTERVAL_US, OPT_FOLDED, OPT_TOP_CODE,
	       OPT_AS_PROBES };
	static const struct cli_renamed renamed[] = {
		{ 'P', "--per-thread (-P is --policy)", "--per-thread" },
		{ 0 },
	};
	static const struct option longopts[] = {
		CLI_OPT_JSON,
		{ "csv", no_argument, NULL, OPT_CSV },
		{ "per-thread", no_argument, NULL, OPT_PER_THREAD },
		{ "summary", no_argument, NULL, 's' },
		CLI_OPT_OUTPUT,
		{ "thread", required_argument, NULL, 't' },
		{ "from", required_argument, NULL, OPT_FROM },
		{ "to", required_argument, NULL, OPT_TO },
		{ "window", required_argument, NULL, 'w' },
		{ "allow-truncated", no_argument, NULL, OPT_TRUNC },
		{ "as-probes", required_argument, NULL, OPT_AS_PROBES },
		CLI_OPT_INTERVAL,
		{ "interval-us", required_argument, NULL, OPT_INTERVAL_US },
		CLI_OPT_QUIET,
		{ "html", required_argument, NULL, OPT_HTML },
		{ "svg", required_argument, NULL, OPT_SVG },
		{ "folded", required_argument, NULL, OPT_FOLDED },
		{ "top-code", required_argument, NULL, OPT_TOP_CODE },
		CLI_OPT_HELP,
		{ NULL, 0, NULL, 0 },
	};
	int json = 0, csv = 0, quiet = 0, folded = -1;
	size_t top_code = 0;
	unsigned sections = 0;
	const char *outpath = NULL, *html = NULL, *svg = NULL;
	const char *thread_args[MAX_THREAD_ARGS];
	int nthread_args = 0;
	struct gs_analyze_opts ao = { .window_relative = 1 };
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "jso:t:w:i:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case OPT_CSV: csv = 1; break;
		case OPT_PER_THREAD:
		case 's':
			if (sections) {
				fprintf(stderr, "gilscope report: --summary and "
					"--per-thread exclude each other (without "
					"either, the report has both)\n");
				return 2;
			}
			sections = c == 's' ? GS_REPORT_SUMMARY : GS_REPORT_THREADS;
			break;
		case 'o': outpath = optarg; break;
		case 'q': quiet = 1; break;
		case OPT_HTML: html = optarg; break;
		case OPT_SVG: svg = optarg; break;
		case OPT_FOLDED:
			folded = gs_code_kind_lookup(optarg);
			if (folded < 0) {
				fprintf(stderr, "gilscope report: --folded %s: expected "
					"blame, hold, wait or hold-acquire\n", optarg);
				return 2;
			}
			break;
		case OPT_TOP_CODE: {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (*end || !*optarg || v == 0 || v > 100000) {
				fprintf(stderr, "gilscope report: --top-code %s: expected "
					"a count from 1 to 100000\n", optarg);
				return 2;
			}
			top_code = v;
			break;
		}
		case OPT_TRUNC: ao.allow_truncated = 1; break;
		case OPT_AS_PROBES:
			if (strcmp(optarg, "light")) {
				fprintf(stderr, "gilscope report: --as-probes %s: "
					"expected light (a trace is already read "
					"as the set that recorded it)\n", optarg);
				return 2;
			}
			ao.as_light_probes = 1;
			break;
		case 't':
			if (nthread_args == MAX_THREAD_ARGS) {
				fprintf(stderr, "gilscope report: at most %d -t options\n",
					MAX_THREAD_ARGS);
				return 2;
			}
			thread_args[nthread_args++] = optarg;
			break;
		case OPT_FROM:
		case OPT_TO:
			if (cli_parse_time("report", c == OPT_FROM ? "--from" : "--to",
					   optarg, CLI_NS, 0, UINT64_MAX,
					   c == OPT_FROM ? &ao.metrics.from_ns
							 : &ao.metrics.to_ns))
				return 2;
			break;
		case 'w': {
			int hf = 0, ht = 0;
			if (cli_parse_window("report", "--window", optarg, CLI_NS,
					     &ao.metrics.from_ns, &ao.metrics.to_ns,
					     &hf, &ht))
				return 2;
			break;
		}
		case 'i':
		case OPT_INTERVAL_US: {
			/* -i took microseconds before it meant a time like every
			 * -i: a bare number is refused rather than read 10^6 times
			 * longer. */
			uint64_t ns;
			if (c == 'i' && !cli_time_ns(optarg, CLI_US, &ns) &&
			    cli_time_ns(optarg, 0, &ns)) {
				fprintf(stderr, "gilscope report: -i wants a time with "
					"its unit now (%sus, or --interval-us %s)\n",
					optarg, optarg);
				return 2;
			}
			if (cli_parse_time("report", c == 'i' ? "--interval" : "--interval-us",
					   optarg, c == 'i' ? 0 : CLI_US, 1000,
					   100 * CLI_S, &ns))
				return 2;
			ao.metrics.interval_us = (uint32_t)(ns / 1000);
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			return cli_bad_option("report", argv, longopts, renamed);
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "gilscope report: %s\n\n",
			optind >= argc ? "missing TRACE" : "only one TRACE, please");
		usage(stderr);
		return 2;
	}
	if (folded >= 0 && (json || csv)) {
		fprintf(stderr, "gilscope report: --folded writes folded stacks; it "
			"excludes --json and --csv\n");
		return 2;
	}
	if (json && csv) {
		fprintf(stderr, "gilscope report: --json and --csv exclude each other\n");
		return 2;
	}
	if (ao.metrics.to_ns && ao.metrics.to_ns <= ao.metrics.from_ns) {
		fprintf(stderr, "gilscope report: the window ends before it starts "
			"(--to must be after --from)\n");
		return 2;
	}
	const char *path = argv[optind];
	char stdin_copy[4096] = "";
	if (!strcmp(path, "-")) {
		/* The readers seek and map files: keep standard input in an
		 * unlinked temporary file first. */
		if (copy_stdin(stdin_copy, sizeof(stdin_copy)))
			return 1;
		path = stdin_copy;
	}
	if (!quiet && isatty(STDERR_FILENO)) {
		ao.progress = progress;
		ao.progress_ctx = (void *)path;
	}

	struct gs_analysis a;
	char err[600];
	struct gs_report_pictures *pics = gs_report_pictures_begin(&ao, html, svg);
	int rc = gs_analyze(path, &ao, &a, err, sizeof(err));
	if (stdin_copy[0]) {
		unlink(stdin_copy);
		if (!rc)
			a.info.path = "-";
	}
	if (gs_report_pictures_end(pics, rc ? NULL : &a) && !rc) {
		gs_analysis_free(&a);
		return 1;
	}
	if (progress_shown)
		fprintf(stderr, "\r\033[K");
	if (rc) {
		fprintf(stderr, "gilscope report: %s\n", err);
		return 1;
	}

	uint8_t *sel = NULL;
	if (nthread_args) {
		size_t n = a.metrics->nth;
		sel = calloc(n ? n : 1, 1);
		if (!sel) {
			fprintf(stderr, "gilscope report: out of memory\n");
			gs_analysis_free(&a);
			return 1;
		}
		for (int k = 0; k < nthread_args; k++) {
			int hit = 0;
			for (size_t i = 0; i < n; i++) {
				const struct gs_thread_metrics *t = &a.metrics->th[i];
				if (is_number(thread_args[k])
					    ? strtoul(thread_args[k], NULL, 10) == t->tid
					    : fnmatch(thread_args[k], t->name, 0) == 0) {
					sel[i] = 1;
					hit = 1;
				}
			}
			if (!hit) {
				fprintf(stderr, "gilscope report: %s: no thread matches "
					"-t '%s'; threads in the trace:", path,
					thread_args[k]);
				for (size_t i = 0; i < n; i++)
					fprintf(stderr, " %s(%u)", a.metrics->th[i].name,
						a.metrics->th[i].tid);
				fputc('\n', stderr);
				free(sel);
				gs_analysis_free(&a);
				return 1;
			}
		}
	}

	FILE *out = stdout;
	if (outpath && !(out = fopen(outpath, "w"))) {
		fprintf(stderr, "gilscope report: cannot write %s: %s\n", outpath,
			strerror(errno));
		free(sel);
		gs_analysis_free(&a);
		return 1;
	}
	struct gs_report_opts ro = {
		.sections = sections,
		.selected = sel,
		.thread_histograms = sections == GS_REPORT_THREADS,
		.top_code = top_code,
	};
	int no_stacks = 0;
	if (folded >= 0) {
		if (gs_folded_write(out, &a, (unsigned)folded) < 0) {
			fprintf(stderr, "gilscope report: %s has no stacks: record it "
				"with `gilscope record --stacks` (CPython 3.6-3.13)\n",
				path);
			no_stacks = 1;
		}
	} else if (json)
		gs_report_json(out, &a, &ro);
	else if (csv)
		gs_report_csv(out, &a, &ro);
	else
		gs_report_text(out, &a, &ro);
	if (a.partial)
		fprintf(stderr, "gilscope report: %s: trace cut short (no END "
			"block); results are partial\n", path);
	/* standard output is checked for every command in main.c */
	int bad = out != stdout &&
		  gs_output_close(out, "gilscope report", outpath) != 0;
	free(sel);
	gs_analysis_free(&a);
	return bad || no_stacks ? 1 : 0;
}
