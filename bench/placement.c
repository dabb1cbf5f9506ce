/* SPDX-License-Identifier: MIT */
/*
 * Item 8: what a GIL event costs by how the probes were placed. CPython
 * 3.11 (pyenv) and a copy of it stripped the way container images are
 * (docs/symbol-free.md) run the same uncontended os.read loop
 * (bench/python/read_loop.py: one GIL release + re-acquisition per call)
 * untraced and under `gilscope record --no-sched`: the original is traced
 * through its symbol table (take_gil/drop_gil), the copy symbol-free (the
 * GIL's pthread conditions in libc). Cost per round trip = (traced wall -
 * untraced wall of the same build, same repetition) / calls. The two-thread
 * countdown's slowdown under the symbol-free method is measured beside it.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OUTLEN 65536
#define MAXREPS 16

/* A stripped copy of the CPython whose interpreter is python (real path),
 * in dir; its interpreter's path into out. */
static int make_stripped(const char *python, const char *dir, char *out, size_t len)
{
	char script[8192];
	snprintf(script, sizeof(script),
		 "set -e; real=$(readlink -f '%s'); prefix=$(dirname \"$(dirname \"$real\")\");"
		 "v=$(\"$real\" -c 'import sys; print(\"%%d.%%d\" %% sys.version_info[:2])');"
		 "mkdir -p '%s/bin' '%s/lib'; cp \"$real\" \"%s/bin/python$v\";"
		 "for l in \"$prefix\"/lib/libpython\"$v\"*.so*; do "
		 "  if [ -L \"$l\" ]; then ln -s \"$(readlink \"$l\")\" \"%s/lib/$(basename \"$l\")\";"
		 "  else cp \"$l\" '%s/lib/'; fi; done;"
		 "ln -s \"$prefix/lib/python$v\" \"%s/lib/python$v\";"
		 "strip --strip-all \"%s/bin/python$v\" '%s'/lib/libpython*.so*;"
		 "patchelf --set-rpath '$ORIGIN/../lib' \"%s/bin/python$v\";"
		 "echo \"stripped=%s/bin/python$v\"",
		 python, dir, dir, dir, dir, dir, dir, dir, dir, dir, dir);
	char *argv[] = { "sh", "-c", script, NULL };
	char o[4096];
	if (bench_run(argv, NULL, o, sizeof(o), 0, 60))
		return -1;
	const char *p = strstr(o, "stripped=");
	if (!p)
		return -1;
	snprintf(out, len, "%s", p + 9);
	out[strcspn(out, "\n")] = 0;
	return 0;
}

int bench_item_placement(const struct bench_opts *o, struct bench_report *r)
{
	unsigned reps = o->quick ? 1 : 5;
	const char *calls = o->quick ? "100000" : "300000";
	const char *count = o->quick ? "3000000" : "10000000";
	char py[1024], loop_py[1024], cd_py[1024], stripped[PATH_MAX];
	const char *python = bench_find_python("3.11", py, sizeof(py));
	const char *loop = bench_find(o, "bench/python/read_loop.py", loop_py,
				      sizeof(loop_py));
	const char *cd = bench_find(o, "bench/python/countdown.py", cd_py, sizeof(cd_py));
	if (!python || !loop || !cd) {
		bench_skip(r, 8, "needs pyenv CPython 3.11 and bench/python/read_loop.py");
		return 0;
	}
	if (geteuid() != 0 || !bench_have_subcommand(o, "record")) {
		bench_skip(r, 8, "needs root (eBPF) and `gilscope record`");
		return 0;
	}
	if (!bench_have_cmd("strip") || !bench_have_cmd("patchelf")) {
		bench_skip(r, 8, "needs strip and patchelf (scripts/install-deps.sh)");
		return 0;
	}
	char tmpdir[] = "/tmp/gilscope-bench8.XXXXXX";
	if (!mkdtemp(tmpdir)) {
		perror("bench: item 8: mkdtemp");
		return -1;
	}
	char cleanup[128];
	snprintf(cleanup, sizeof(cleanup), "rm -rf '%s'", tmpdir);
	if (make_stripped(python, tmpdir, stripped, sizeof(stripped))) {
		bench_skip(r, 8, "could not make a stripped copy of %s", python);
		if (system(cleanup)) {}
		return 0;
	}
	char trace[128];
	snprintf(trace, sizeof(trace), "%s/t.gst", tmpdir);
	const char *gs = bench_gilscope(o);
	const char *bin[2] = { python, stripped };
	/* s: 0 untraced original, 1 record original (symbol table),
	 * 2 untraced stripped, 3 record stripped (symbol-free),
	 * 4 countdown untraced stripped, 5 countdown recorded symbol-free */
	double w[6][MAXREPS], per[2][MAXREPS], slow[MAXREPS];
	unsigned n[6] = { 0 }, np[2] = { 0 }, ns = 0;
	for (unsigned rep = 0; rep < reps; rep++) {
		double got[6] = { NAN, NAN, NAN, NAN, NAN, NAN };
		for (int s = 0; s < 6; s++) {
			const char *b = bin[s >= 2];
			char *plain[] = { (char *)b, (char *)loop, (char *)calls, NULL };
			char *rec[] = { (char *)gs, "record", "--no-sched", "-o", trace, "--",
					(char *)b, (char *)loop, (char *)calls, NULL };
			char *cplain[] = { (char *)b, (char *)cd, "-t", "2", "-n",
					   (char *)count, "--no-single", NULL };
			char *crec[] = { (char *)gs, "record", "-o", trace, "--", (char *)b,
					 (char *)cd, "-t", "2", "-n", (char *)count,
					 "--no-single", NULL };
			char *const *argv = s == 4 ? cplain : s == 5 ? crec
					    : (s & 1) ? rec : plain;
			char out[OUTLEN];
			int rc = bench_run(argv, NULL, out, sizeof(out),
					   o->verbose ? BENCH_RUN_VERBOSE : 0, 300);
			unlink(trace);
			got[s] = rc == 0 ? bench_kv(out, "wall_s") : NAN;
			if (!isfinite(got[s]))
				fprintf(stderr, "bench: item 8: run %d failed (exit %d)\n", s, rc);
			else
				w[s][n[s]++] = got[s];
		}
		double c = atof(calls);
		for (int m = 0; m < 2; m++)
			if (isfinite(got[2 * m]) && isfinite(got[2 * m + 1]))
				per[m][np[m]++] = (got[2 * m + 1] - got[2 * m]) / c * 1e9;
		if (isfinite(got[4]) && isfinite(got[5]))
			slow[ns++] = got[5] / got[4];
		if (o->verbose)
			fprintf(stderr, "bench: item 8: repetition %u/%u done\n", rep + 1, reps);
	}
	if (system(cleanup)) {}
	if (!np[0] || !np[1]) {
		bench_skip(r, 8, "the read loop failed under gilscope record");
		return 0;
	}
	static const char *const names[2] = { "symbol_table", "symbol_free" };
	struct bench_row *rows[2];
	for (int m = 0; m < 2; m++) {
		rows[m] = bench_add_row(r, 8, names[m], "ns");
		if (!rows[m])
			return -1;
		bench_row_set(rows[m], per[m], np[m]);
		snprintf(rows[m]->note, sizeof(rows[m]->note),
			 "CPython 3.11 %s, read_loop.py %s: (record --no-sched wall - "
			 "untraced wall) / calls, per GIL release + re-acquisition",
			 m ? "stripped copy, symbol-free" : "pyenv build, take_gil/drop_gil",
			 calls);
	}
	rows[1]->ratio = rows[0]->median > 0 ? rows[1]->median / rows[0]->median : NAN;
	snprintf(rows[1]->vs, sizeof(rows[1]->vs), "symbol_table");
	snprintf(rows[1]->goal, sizeof(rows[1]->goal), "<= 1.5x symbol table");
	rows[1]->goal_met = rows[1]->ratio <= 1.5;
	if (ns) {
		struct bench_row *row = bench_add_row(r, 8, "symbol_free_countdown", "s");
		if (!row)
			return -1;
		bench_row_set(row, w[5], n[5]);
		row->ratio = bench_median(slow, ns);
		snprintf(row->vs, sizeof(row->vs), "untraced stripped, same repetition");
		snprintf(row->goal, sizeof(row->goal), "<= 1.01x untraced");
		row->goal_met = row->ratio <= 1.01;
		snprintf(row->note, sizeof(row->note),
			 "countdown.py -t 2 -n %s --no-single on the stripped copy, "
			 "under gilscope record", count);
	}
	return 0;
}
