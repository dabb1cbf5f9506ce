/* SPDX-License-Identifier: MIT */
/*
 * Item 9: does libgil's `cpython` policy behave like real CPython 3.11 on
 * the same workload? Both sides run the convoy's shape (an echo server
 * thread answering 16-byte TCP requests on 127.0.0.1 from a client that
 * thinks 20 us, beside one CPU-bound thread, 5 ms switch interval), each
 * recorded with the same recorder and read with the same report:
 *
 *   CPython  gilscope record -o T -- python3.11 bench/python/echo_convoy.py
 *                -k 1 -d D --gil-only
 *   libgil   gilscope run convoy -P cpython -k 1 -d D -o T
 *                --server-units 150 --client-units 400
 *
 * The two libgil options give the C scenario the per-request costs the
 * Python programs have besides the GIL (measured on our machines, docs/
 * scenarios.md): the Python server holds the GIL ~6 us per request for its
 * bytecode around recv/sendall (150 units more than the C server's 20), and
 * the Python client spends ~15 us of CPU per round trip (400 units). Both
 * decide which thread wins the race to the GIL after each I/O call: with
 * the C defaults the libgil run falls into another regime than CPython's.
 * The solo rows (no CPU thread: `echo_convoy.py -k 0 --gil-only` and the
 * libgil run's solo phase) show whether the shapes still match on the
 * machine at hand.
 *
 * and compared on req/s (each program's own count over its measuring
 * window) and on the server's loss per I/O call (`gilscope report`: mean
 * time from the end of a blocking call to holding the GIL again, thread
 * echo-server). The two run back to back in every repetition; the ratio is
 * libgil / CPython of the same repetition, median over the repetitions.
 * Goal: both within 20 % (0.8x..1.2x).
 */
#define _GNU_SOURCE
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OUTLEN 65536
#define MAXREPS 16

enum { SIDE_PY, SIDE_LIB, NSIDE };
enum { FIG_RPS, FIG_LOSS, FIG_SOLO, NFIG };

/* The server thread's loss per I/O call (us) in `gilscope report --json -t
 * echo-server TRACE`; NAN when the trace has no such thread or no I/O. */
static double server_loss_us(const struct bench_opts *o, const char *trace)
{
	char out[OUTLEN];
	char *argv[] = { (char *)bench_gilscope(o), "report", "--json", "-t",
			 "echo-server", (char *)trace, NULL };
	if (bench_run(argv, NULL, out, sizeof(out), 0, 120) != 0)
		return NAN;
	const char *t = strstr(out, "\"name\": \"echo-server\"");
	if (!t)
		return NAN;
	double calls = bench_json_num(t, "calls");
	double lost = bench_json_num(t, "lost_per_call_ns");
	return calls > 0 && isfinite(lost) ? lost / 1e3 : NAN;
}

int bench_item_fidelity(const struct bench_opts *o, struct bench_report *r)
{
	unsigned reps = o->quick ? 1 : 5;
	const char *dur = o->quick ? "0.5" : "1";
	char py[1024], script[1024];
	const char *python = bench_find_python("3.11", py, sizeof(py));
	const char *convoy_py = bench_find(o, "bench/python/echo_convoy.py",
					   script, sizeof(script));
	if (!python || !convoy_py) {
		bench_skip(r, 9, "needs pyenv CPython 3.11 and "
			   "bench/python/echo_convoy.py");
		return 0;
	}
	if (geteuid() != 0) {
		bench_skip(r, 9, "needs root (gilscope record: uprobes)");
		return 0;
	}
	if (!bench_have_subcommand(o, "record") ||
	    !bench_have_subcommand(o, "run") ||
	    !bench_have_subcommand(o, "report")) {
		bench_skip(r, 9, "needs `gilscope record`, `run` and `report` "
			   "in this build");
		return 0;
	}
	char tmpdir[sizeof(BENCH_WORKDIR_TEMPLATE)], trace[128];
	if (bench_workdir(9, tmpdir, "convoy.gst", trace, sizeof(trace)))
		return -1;
	const char *gs = bench_gilscope(o);
	char *pyargv[] = { (char *)gs, "record", "-o", trace, "--",
			   (char *)python, (char *)convoy_py, "-k", "1", "-d",
			   (char *)dur, "--gil-only", NULL };
	char *libargv[] = { (char *)gs, "run", "convoy", "-P", "cpython", "-k",
			    "1", "-d", (char *)dur, "--server-units", "150",
			    "--client-units", "400", "-o", trace, "--json", NULL };
	char *soloargv[] = { (char *)python, (char *)convoy_py, "-k", "0", "-d",
			     (char *)dur, "--gil-only", NULL };
	char *const *argvs[NSIDE] = { pyargv, libargv };

	double v[NSIDE][NFIG][MAXREPS], ratio[NFIG][MAXREPS];
	unsigned n[NSIDE][NFIG] = { { 0 } }, nr[NFIG] = { 0 };
	char pyver[32] = "3.11";
	for (unsigned rep = 0; rep < reps && rep < MAXREPS; rep++) {
		double got[NSIDE][NFIG];
		for (int s = 0; s < NSIDE; s++) {
			char out[OUTLEN];
			int rc = bench_run(argvs[s], NULL, out, sizeof(out),
					   o->verbose ? BENCH_RUN_VERBOSE : 0, 120);
			got[s][FIG_RPS] = rc != 0 ? NAN
					  : s == SIDE_PY ? bench_kv(out, "rps")
							 : bench_json_num(out, "rps");
			got[s][FIG_LOSS] = rc == 0 ? server_loss_us(o, trace) : NAN;
			unlink(trace);
			if (s == SIDE_PY) {
				const char *pv = strstr(out, "python=");
				if (pv)
					sscanf(pv, "python=%31s", pyver);
			}
			if (s == SIDE_LIB) {
				got[s][FIG_SOLO] = rc == 0 ? bench_json_num(out, "solo_rps")
							   : NAN;
			} else {
				char solo[OUTLEN];
				int src = bench_run(soloargv, NULL, solo, sizeof(solo),
						    o->verbose ? BENCH_RUN_VERBOSE : 0,
						    120);
				got[s][FIG_SOLO] = src == 0 ? bench_kv(solo, "rps") : NAN;
			}
			if (!isfinite(got[s][FIG_RPS]) || !isfinite(got[s][FIG_LOSS]))
				fprintf(stderr, "bench: item 9: %s failed (exit %d)\n",
					s == SIDE_PY ? "CPython" : "libgil", rc);
			for (int f = 0; f < NFIG; f++)
				if (isfinite(got[s][f]))
					v[s][f][n[s][f]++] = got[s][f];
		}
		for (int f = 0; f < NFIG; f++)
			if (isfinite(got[SIDE_PY][f]) && got[SIDE_PY][f] > 0 &&
			    isfinite(got[SIDE_LIB][f]))
				ratio[f][nr[f]++] = got[SIDE_LIB][f] / got[SIDE_PY][f];
		if (o->verbose)
			fprintf(stderr, "bench: item 9: repetition %u/%u done\n",
				rep + 1, reps);
	}
	rmdir(tmpdir);

	static const char *const fig_name[NFIG] = { "req/s", "loss/IO call",
						    "solo req/s" };
	static const char *const fig_unit[NFIG] = { "req/s", "us", "req/s" };
	for (int f = 0; f < NFIG; f++) {
		char name[48];
		snprintf(name, sizeof(name), "cpython-%s %s", pyver, fig_name[f]);
		if (n[SIDE_PY][f]) {
			struct bench_row *row = bench_add_row(r, 9, name, fig_unit[f]);
			if (!row)
				return -1;
			bench_row_set(row, v[SIDE_PY][f], n[SIDE_PY][f]);
			if (f == FIG_SOLO)
				snprintf(row->note, sizeof(row->note),
					 "python%s bench/python/echo_convoy.py -k 0 "
					 "-d %s --gil-only (untraced)", pyver, dur);
			else
				snprintf(row->note, sizeof(row->note),
					 "gilscope record -- python%s "
					 "bench/python/echo_convoy.py -k 1 -d %s "
					 "--gil-only", pyver, dur);
		}
		char libname[48];
		snprintf(libname, sizeof(libname), "cpython-policy %s", fig_name[f]);
		if (!n[SIDE_LIB][f])
			continue;
		struct bench_row *row = bench_add_row(r, 9, libname, fig_unit[f]);
		if (!row)
			return -1;
		bench_row_set(row, v[SIDE_LIB][f], n[SIDE_LIB][f]);
		snprintf(row->note, sizeof(row->note),
			 "gilscope run convoy -P cpython -k 1 -d %s --server-units "
			 "150 --client-units 400 -o TRACE; ratio = libgil / "
			 "CPython of the same repetition", dur);
		if (!nr[f])
			continue;
		row->ratio = bench_median(ratio[f], nr[f]);
		snprintf(row->vs, sizeof(row->vs), "%s", name);
		if (f == FIG_SOLO)
			continue; /* the shape's check, not a goal */
		snprintf(row->goal, sizeof(row->goal), "0.8x..1.2x %s", name);
		row->goal_met = row->ratio >= 0.8 && row->ratio <= 1.2;
	}
	if (!n[SIDE_PY][FIG_RPS] && !n[SIDE_LIB][FIG_RPS])
		bench_skip(r, 9, "every run failed (see above)");
	return 0;
}
