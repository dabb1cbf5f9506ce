/* SPDX-License-Identifier: MIT */
/* gilscope export: a trace as Chrome trace-event JSON, a Perfetto protobuf
 * trace, an SVG timeline or the HTML report (docs/pictures.md). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_parse.h"
#include "cli_suggest.h"
#include "commands.h"
#include "pictures.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: gilscope export -f FORMAT [-o OUT] [--from TIME] [--to TIME] TRACE\n\n"
		"Converts a trace (native .gst, LTTng CTF, perf script or trace-cmd\n"
		"report text) into a file other tools open.\n\n"
		"  -f, --format FORMAT  chrome-json  Chrome trace-event JSON: chrome://tracing,\n"
		"                                    Perfetto UI, speedscope\n"
		"                       perfetto     Perfetto protobuf (TrackEvent): Perfetto UI,\n"
		"                                    trace_processor\n"
		"                       svg          static timeline for documents\n"
		"                       html         the self-contained HTML report\n"
		"  -o, --output FILE    where to write ('-': stdout; default: TRACE with\n"
		"                       .json, .pftrace, .svg or .html)\n"
		"      --from TIME      window start, counted from the trace's first event:\n"
		"                       250ms, 1.5s, 800us, 1200ns or plain nanoseconds\n"
		"      --to TIME        window end (default: the end of the trace)\n"
		"  -w, --window FROM:TO both at once, as in report (1s:2s, :500ms)\n"
		"      --width PX       SVG width in pixels (default 1200)\n"
		"      --allow-truncated  read a trace that was cut short (no end block)\n"
		"  -q, --quiet          no 'wrote FILE' message, no progress\n"
		"  -v, --verbose        progress on stderr also when it is not a terminal\n"
		"                       (on a terminal it is always shown)\n"
		"  -h, --help           this help\n\n"
		"Chrome JSON above ~256 MB does not open in its viewers: export prints a\n"
		"window that fits, or use -f perfetto.\n"
		"Examples:\n"
		"  gilscope export -f perfetto convoy.gst -o convoy.pftrace\n"
		"  gilscope export -f chrome-json --from 2s --to 2.5s convoy.gst\n");
}

static const char *const formats[] = { "chrome-json", "perfetto", "svg", "html" };
static const char *const suffixes[] = { ".json", ".pftrace", ".svg", ".html" };

int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		CLI_OPT_OUTPUT,
		{ "from", required_argument, NULL, 'F' },
		{ "to", required_argument, NULL, 'T' },
		{ "window", required_argument, NULL, 'w' },
		{ "width", required_argument, NULL, 'W' },
		{ "allow-truncated", no_argument, NULL, 'A' },
		CLI_OPT_QUIET,
		CLI_OPT_VERBOSE,
		CLI_OPT_HELP,
		{ 0 },
	};
	struct gs_pictures_req req = { 0 };
	const char *format = NULL, *out = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "f:o:w:qvh", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			format = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'F':
		case 'T':
			if (cli_parse_time("export", c == 'F' ? "--from" : "--to", optarg,
					   CLI_NS, 0, UINT64_MAX,
					   c == 'F' ? &req.from : &req.to))
				return 2;
			*(c == 'F' ? &req.has_from : &req.has_to) = 1;
			break;
		case 'w': {
			if (*optarg && strspn(optarg, "0123456789") == strlen(optarg)) {
				fprintf(stderr, "gilscope export: -w is --window FROM:TO "
					"now, as in report; the SVG width is --width %s\n",
					optarg);
				return 2;
			}
			if (cli_parse_window("export", "--window", optarg, CLI_NS,
					     &req.from, &req.to, &req.has_from,
					     &req.has_to))
				return 2;
			break;
		}
		case 'W': {
			long px;
			if (cli_parse_long("export", "--width", optarg, 300, 20000,
					   "300..20000 pixels", &px))
				return 2;
			req.svg_width = (unsigned)px;
			break;
		}
		case 'A':
			req.allow_truncated = 1;
			break;
		case 'q':
			req.quiet = 1;
			break;
		case 'v':
			req.verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			return cli_bad_option("export", argv, opts, NULL);
		}
	}
	if (optind != argc - 1 || !format) {
		fprintf(stderr, "gilscope export: %s\n\n",
			!format ? "which format? (-f chrome-json|perfetto|svg|html)"
				: "give exactly one TRACE");
		usage(stderr);
		return 2;
	}
	const char *trace = argv[optind];
	int which = -1;
	for (int i = 0; i < 4; i++)
		if (!strcmp(format, formats[i]))
			which = i;
	if (which < 0) {
		const char *near = cli_suggest(format, formats, 4);
		if (near)
			fprintf(stderr, "gilscope export: unknown format '%s'; did "
				"you mean '%s'?\n", format, near);
		else
			fprintf(stderr, "gilscope export: unknown format '%s' "
				"(chrome-json, perfetto, svg, html)\n", format);
		return 2;
	}
	if (req.has_from && req.has_to && req.to <= req.from) {
		fprintf(stderr, "gilscope export: --to must be after --from\n");
		return 2;
	}
	char *def = NULL;
	if (!out) {
		/* TRACE.gst -> TRACE.json, next to the trace. */
		size_t n = strlen(trace);
		const char *dot = strrchr(trace, '.');
		if (dot && !strchr(dot, '/'))
			n = (size_t)(dot - trace);
		def = malloc(n + 16);
		if (!def)
			return 1;
		memcpy(def, trace, n);
		strcpy(def + n, suffixes[which]);
		out = def;
	}
	const char **slot[] = { &req.chrome_json, &req.perfetto, &req.svg, &req.html };
	*slot[which] = out;
	int rc = gs_pictures_run("gilscope export", trace, &req);
	free(def);
	return rc;
}
