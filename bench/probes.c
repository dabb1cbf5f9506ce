/* SPDX-License-Identifier: MIT */
/*
 * Item 3: what a GS_PROBE site costs per event.
 *
 *  a) compiled in but disabled vs a libgil built without probes, timed and
 *     counted in instructions (callgrind; repeatable to the instruction);
 *  b) the built-in recorder enabled vs LTTng-UST enabled (a real
 *     lttng-sessiond session through tools/lttng/gilscope-lttng);
 *  c) USDT attached by `gilscope record` vs a bare libbpf counter
 *     (bench/usdt_count) on the same probes.
 *
 * The subject is gs-bench-probeloop (bench/probe_loop.c): one thread doing
 * gil_blocking_begin/end pairs, 5 events per pair through libgil's real
 * probe sites. Every variant is a fresh process; repetitions interleave the
 * variants, and a cost per event is (variant - untraced) / 5 per repetition.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EVENTS_PER_PAIR 5.0
#define OUTLEN 8192

struct loop_env {
	const struct bench_opts *o;
	char probe[1024], noprobe[1024], lttng[1024], provider[1024];
	char tmpdir[64];
	int have_lttng;
	unsigned long pairs;
	unsigned inner_reps;
};

/* Runs a probe loop command line; returns ns_per_pair or NAN. */
static double run_loop(struct loop_env *e, char *const argv[],
		       char *out, size_t outlen)
{
	char buf[OUTLEN];
	if (!out) {
		out = buf;
		outlen = sizeof(buf);
	}
	int rc = bench_run(argv, NULL, out, outlen,
			   e->o->verbose ? BENCH_RUN_VERBOSE : 0, 300);
	if (rc != 0) {
		fprintf(stderr, "bench: item 3: %s ... exited with %d\n", argv[0], rc);
		return NAN;
	}
	return bench_kv(out, "ns_min");
}

static void rm_rf(const char *path)
{
	char *argv[] = { "rm", "-rf", "--", (char *)path, NULL };
	bench_run(argv, NULL, NULL, 0, 0, 60);
}

/* The row named name of item 3, or NULL. */
static struct bench_row *find_row(struct bench_report *r, const char *name)
{
	for (size_t k = 0; k < r->n; k++)
		if (r->rows[k].item == 3 && !strcmp(r->rows[k].name, name))
			return &r->rows[k];
	return NULL;
}

/* Instructions per pair of one binary under callgrind: the difference of
 * two runs of different lengths, so start-up and exit cancel out. */
static double callgrind_per_pair(const char *bin)
{
	const unsigned long n1 = 20000, n2 = 120000;
	double ir[2];
	for (int k = 0; k < 2; k++) {
		char n[32];
		snprintf(n, sizeof(n), "%lu", k ? n2 : n1);
		char *argv[] = { "valgrind", "--tool=callgrind",
				 "--callgrind-out-file=/dev/null", (char *)bin,
				 "-n", n, "-r", "1", NULL };
		char out[OUTLEN];
		if (bench_run(argv, NULL, out, sizeof(out), BENCH_RUN_STDERR, 300) != 0)
			return NAN;
		/* "==PID== Collected : 123456" */
		const char *p = strstr(out, "Collected :");
		if (!p)
			return NAN;
		ir[k] = strtod(p + strlen("Collected :"), NULL);
	}
	return (ir[1] - ir[0]) / (double)(n2 - n1);
}

static struct bench_row *row_from(struct bench_report *r, const char *name,
				  const char *unit, double *v, size_t n)
{
	struct bench_row *row = bench_add_row(r, 3, name, unit);
	if (row)
		bench_row_set(row, v, n);
	return row;
}

static void part_disabled(struct loop_env *e, struct bench_report *r,
			  unsigned reps)
{
	char n[32], ir[16];
	snprintf(n, sizeof(n), "%lu", e->pairs);
	snprintf(ir, sizeof(ir), "%u", e->inner_reps);
	char *with[] = { e->probe, "-n", n, "-r", ir, NULL };
	char *without[] = { e->noprobe, "-n", n, "-r", ir, NULL };
	double a[64], b[64], d[64];
	for (unsigned rep = 0; rep < reps; rep++) {
		a[rep] = run_loop(e, without, NULL, 0);
		b[rep] = run_loop(e, with, NULL, 0);
		d[rep] = (b[rep] - a[rep]) / EVENTS_PER_PAIR;
	}
	size_t na = bench_finite(a, reps, a), nb = bench_finite(b, reps, b), nd = bench_finite(d, reps, d);
	if (!na || !nb) {
		bench_skip(r, 3, "disabled probes: the probe loops failed "
			   "(run with -v)");
		return;
	}
	struct bench_row *floor = row_from(r, "no_probes", "ns/pair", a, na);
	if (!floor)
		return;
	snprintf(floor->note, sizeof(floor->note),
		 "libgil built without GS_PROBE sites (bench/noprobe.h), fifo, "
		 "%lu pairs x %u per run", e->pairs, e->inner_reps);
	struct bench_row fl = *floor;
	struct bench_row *row = row_from(r, "probes_disabled", "ns/pair", b, nb);
	if (!row)
		return;
	bench_row_ratio(row, &fl, 0);
	snprintf(row->note, sizeof(row->note),
		 "libgil as shipped, no tracer attached: USDT semaphore, LTTng "
		 "tracepoint state and recorder flag tested per event");
	row = row_from(r, "disabled_cost", "ns/event", d, nd);
	if (row) {
		snprintf(row->goal, sizeof(row->goal), "< 0.5 ns/event");
		row->goal_met = row->median < 0.5;
		snprintf(row->note, sizeof(row->note),
			 "(probes_disabled - no_probes) / 5 events, per "
			 "repetition; below the timing noise, see the "
			 "instruction counts");
	}

	if (!bench_have_cmd("valgrind")) {
		bench_skip(r, 3, "instruction counts: valgrind not found "
			   "(scripts/install-deps.sh)");
		return;
	}
	double ia = callgrind_per_pair(e->noprobe);
	double ib = callgrind_per_pair(e->probe);
	if (!isfinite(ia) || !isfinite(ib)) {
		bench_skip(r, 3, "instruction counts: valgrind --tool=callgrind "
			   "failed");
		return;
	}
	struct bench_row *fi = row_from(r, "no_probes_instr", "instr/pair", &ia, 1);
	if (!fi)
		return;
	snprintf(fi->note, sizeof(fi->note),
		 "valgrind --tool=callgrind, (Ir at 120k pairs - Ir at 20k) / 100k");
	struct bench_row fic = *fi;
	row = row_from(r, "probes_disabled_instr", "instr/pair", &ib, 1);
	if (row)
		bench_row_ratio(row, &fic, 0);
	double per_event = (ib - ia) / EVENTS_PER_PAIR;
	row = row_from(r, "disabled_cost_instr", "instr/event", &per_event, 1);
	if (row)
		snprintf(row->note, sizeof(row->note),
			 "3 tests (load + compare + branch not taken) per site");
}

static void part_recorder_lttng(struct loop_env *e, struct bench_report *r,
				unsigned reps)
{
	char n[32], ir[16];
	snprintf(n, sizeof(n), "%lu", e->pairs);
	snprintf(ir, sizeof(ir), "%u", e->inner_reps);
	char recfile[128], lttdir[128];
	snprintf(recfile, sizeof(recfile), "%s/rec.gst", e->tmpdir);
	snprintf(lttdir, sizeof(lttdir), "%s/lttng", e->tmpdir);
	char *plain[] = { e->probe, "-n", n, "-r", ir, NULL };
	char *rec[] = { e->probe, "-n", n, "-r", ir, "--record", recfile, NULL };
	char *ltt[] = { "bash", e->lttng, "-o", lttdir, "-P", e->provider,
			"--", e->probe, "-n", n, "-r", ir, NULL };
	double u[64], rv[64], lv[64], rc[64], lc[64], ratio[64];
	unsigned long long recorded = 0, lost = 0;
	for (unsigned rep = 0; rep < reps; rep++) {
		char out[OUTLEN];
		/* which tracer runs next to the untraced loop alternates
		 * (A B B A), as in part_usdt */
		int lttng_first = rep % 2;
		u[rep] = run_loop(e, plain, NULL, 0);
		lv[rep] = NAN;
		for (int turn = 0; turn < 2; turn++) {
			if (turn != lttng_first) {
				rv[rep] = run_loop(e, rec, out, sizeof(out));
				double x = bench_kv(out, "recorded"),
				       y = bench_kv(out, "lost");
				if (isfinite(x))
					recorded += (unsigned long long)x;
				if (isfinite(y))
					lost += (unsigned long long)y;
				unlink(recfile);
				continue;
			}
			/* gilscope-lttng can lose a race with another session
			 * daemon starting at the same moment ("A session daemon
			 * is already running"): try again a couple of times. */
			for (int attempt = 0; e->have_lttng && attempt < 3; attempt++) {
				lv[rep] = run_loop(e, ltt, NULL, 0);
				rm_rf(lttdir);
				if (isfinite(lv[rep]))
					break;
				sleep(1);
			}
		}
		rc[rep] = (rv[rep] - u[rep]) / EVENTS_PER_PAIR;
		lc[rep] = (lv[rep] - u[rep]) / EVENTS_PER_PAIR;
		ratio[rep] = rc[rep] / lc[rep];
		if (e->o->verbose)
			fprintf(stderr, "bench: item 3: recorder/lttng repetition "
					"%u/%u done\n", rep + 1, reps);
	}
	size_t nu = bench_finite(u, reps, u), nr = bench_finite(rv, reps, rv),
	       nl = bench_finite(lv, reps, lv), nrc = bench_finite(rc, reps, rc),
	       nlc = bench_finite(lc, reps, lc);
	if (!nu) {
		bench_skip(r, 3, "recorder/LTTng: the untraced loop failed");
		return;
	}
	struct bench_row *floor = row_from(r, "untraced", "ns/pair", u, nu);
	if (!floor)
		return;
	struct bench_row fl = *floor;
	struct bench_row *row;
	if (nr && (row = row_from(r, "recorder", "ns/pair", rv, nr))) {
		bench_row_ratio(row, &fl, 0);
		snprintf(row->note, sizeof(row->note),
			 "built-in recorder into a file (512 x 64 KiB chunks per "
			 "thread); %llu records written, %llu lost", recorded, lost);
	}
	if (nl && (row = row_from(r, "lttng-ust", "ns/pair", lv, nl))) {
		bench_row_ratio(row, &fl, 0);
		snprintf(row->note, sizeof(row->note),
			 "tools/lttng/gilscope-lttng: private lttng-sessiond, gil:* "
			 "in a 4 x 8 MiB per-CPU channel, vtid/vpid/procname context");
	}
	if (!e->have_lttng)
		bench_skip(r, 3, "LTTng-UST: lttng/lttng-sessiond, "
			   "tools/lttng/gilscope-lttng or liblttng-gil.so missing");
	struct bench_row *rcost = nrc ? row_from(r, "recorder_cost", "ns/event",
						 rc, nrc) : NULL;
	if (rcost)
		snprintf(rcost->note, sizeof(rcost->note),
			 "(recorder - untraced) / 5, per repetition");
	if (!nlc)
		return;
	struct bench_row *lcost = row_from(r, "lttng_cost", "ns/event", lc, nlc);
	if (!lcost)
		return;
	snprintf(lcost->note, sizeof(lcost->note),
		 "(lttng-ust - untraced) / 5, per repetition");
	/* rcost may have moved when the array grew. */
	struct bench_row lcopy = *lcost;
	size_t nratio = bench_finite(ratio, reps, ratio);
	if ((rcost = find_row(r, "recorder_cost"))) {
		bench_row_ratio(rcost, &lcopy, 0.3);
		/* the median of the per-repetition ratios (part_usdt) */
		rcost->ratio = nratio ? bench_median(ratio, nratio) : NAN;
		snprintf(rcost->vs, sizeof(rcost->vs), "lttng_cost, same repetition");
		rcost->goal_met = isfinite(rcost->ratio) && rcost->ratio <= 0.3;
	}
}

static void part_usdt(struct loop_env *e, struct bench_report *r, unsigned reps)
{
	char counter[1024], libgil[1024];
	if (!bench_find(e->o, "bench/gs-bench-usdtcount", counter, sizeof(counter)) ||
	    !bench_find(e->o, "runtime/libgil.so", libgil, sizeof(libgil))) {
		bench_skip(r, 3, "USDT: gs-bench-usdtcount not built "
			   "(-DGILSCOPE_WITH_BPF=ON)");
		return;
	}
	if (geteuid() != 0) {
		bench_skip(r, 3, "USDT: needs root (eBPF)");
		return;
	}
	char n[32], ir[16];
	snprintf(n, sizeof(n), "%lu", e->pairs);
	snprintf(ir, sizeof(ir), "%u", e->inner_reps);
	/* Is `gilscope record` in this build? main.c says so with exit 2. */
	int have_record = bench_have_subcommand(e->o, "record");
	char trace[128];
	snprintf(trace, sizeof(trace), "%s/bpf.gst", e->tmpdir);
	char *plain[] = { e->probe, "-n", n, "-r", ir, NULL };
	char *bare[] = { counter, "-l", libgil, "--", e->probe, "-n", n, "-r", ir,
			 NULL };
	char *rec[] = { (char *)bench_gilscope(e->o), "record", "--no-sched", "-o",
			trace, "--", e->probe, "-n", n, "-r", ir, NULL };
	double u[64], bv[64], rv[64], bc[64], rc[64], ratio[64];
	unsigned long long hits = 0;
	for (unsigned rep = 0; rep < reps; rep++) {
		char out[OUTLEN];
		/* A B A B would put the bare counter first in every
		 * repetition: with the vCPU's speed drifting, alternate which
		 * tracer runs next to the untraced loop (A B B A). */
		int record_first = rep % 2;
		rv[rep] = NAN;
		u[rep] = run_loop(e, plain, NULL, 0);
		for (int turn = 0; turn < 2; turn++) {
			if (turn == record_first) {
				bv[rep] = run_loop(e, bare, out, sizeof(out));
				double h = bench_kv(out, "usdt_hits");
				if (isfinite(h))
					hits = (unsigned long long)h;
			} else if (have_record) {
				rv[rep] = run_loop(e, rec, NULL, 0);
				unlink(trace);
			}
		}
		bc[rep] = (bv[rep] - u[rep]) / EVENTS_PER_PAIR;
		rc[rep] = (rv[rep] - u[rep]) / EVENTS_PER_PAIR;
		ratio[rep] = rc[rep] / bc[rep];
		if (e->o->verbose)
			fprintf(stderr, "bench: item 3: USDT repetition %u/%u done\n",
				rep + 1, reps);
	}
	size_t nu = bench_finite(u, reps, u), nb = bench_finite(bv, reps, bv),
	       nr = bench_finite(rv, reps, rv), nbc = bench_finite(bc, reps, bc),
	       nrc = bench_finite(rc, reps, rc);
	if (!nu || !nb) {
		bench_skip(r, 3, "USDT: the bare counter run failed (run with -v)");
		return;
	}
	struct bench_row *floor = row_from(r, "untraced_usdt", "ns/pair", u, nu);
	if (!floor)
		return;
	struct bench_row fl = *floor, *row;
	if ((row = row_from(r, "libbpf_count", "ns/pair", bv, nb))) {
		bench_row_ratio(row, &fl, 0);
		snprintf(row->note, sizeof(row->note),
			 "bench/usdt_count: per-CPU array counter on every gil:* "
			 "probe, attached by PID; %llu hits in the last run", hits);
	}
	if (nr && (row = row_from(r, "gilscope_record", "ns/pair", rv, nr))) {
		bench_row_ratio(row, &fl, 0);
		snprintf(row->note, sizeof(row->note),
			 "gilscope record --no-sched -o TRACE -- LOOP");
	}
	if (!have_record)
		bench_skip(r, 3, "USDT: `gilscope record` is not in this build");
	struct bench_row *bcost = row_from(r, "libbpf_count_cost", "ns/event",
					   bc, nbc);
	if (!bcost)
		return;
	snprintf(bcost->note, sizeof(bcost->note),
		 "(libbpf_count - untraced_usdt) / 5, per repetition");
	struct bench_row bcopy = *bcost;
	if (!nrc)
		return;
	size_t nratio = bench_finite(ratio, reps, ratio);
	if ((row = row_from(r, "gilscope_record_cost", "ns/event", rc, nrc))) {
		bench_row_ratio(row, &bcopy, 1.6);
		/* the ratio of each repetition's two costs, measured next to
		 * each other, then their median: a speed step of the vCPU
		 * between repetitions cancels */
		row->ratio = nratio ? bench_median(ratio, nratio) : NAN;
		snprintf(row->vs, sizeof(row->vs),
			 "libbpf_count_cost, same repetition");
		row->goal_met = isfinite(row->ratio) && row->ratio <= 1.6;
		snprintf(row->note, sizeof(row->note),
			 "(gilscope_record - untraced_usdt) / 5, per repetition; "
			 "ratio: median of the per-repetition ratios");
	}
}

int bench_item_probes(const struct bench_opts *o, struct bench_report *r)
{
	struct loop_env e;
	memset(&e, 0, sizeof(e));
	e.o = o;
	/* Many short loops (~3-5 ms each, shorter than a scheduler slice) and
	 * the fastest one: on a shared machine some loops run undisturbed. */
	e.pairs = o->quick ? 20000 : 30000;
	e.inner_reps = o->quick ? 5 : 15;
	unsigned reps = o->quick ? 3 : 7;
	if (!bench_find(o, "bench/gs-bench-probeloop", e.probe, sizeof(e.probe)) ||
	    !bench_find(o, "bench/gs-bench-probeloop-noprobe", e.noprobe,
			sizeof(e.noprobe))) {
		bench_skip(r, 3, "gs-bench-probeloop not found under %s/bench "
			   "(build the bench/ targets)", o->build_dir);
		return 0;
	}
	e.have_lttng =
		bench_find(o, "tools/lttng/gilscope-lttng", e.lttng, sizeof(e.lttng)) &&
		bench_find(o, "probes/liblttng-gil.so", e.provider,
			   sizeof(e.provider)) &&
		bench_have_cmd("lttng") && bench_have_cmd("lttng-sessiond");
	snprintf(e.tmpdir, sizeof(e.tmpdir), "/tmp/gilscope-bench.XXXXXX");
	if (!mkdtemp(e.tmpdir)) {
		perror("bench: item 3: mkdtemp");
		return -1;
	}
	part_disabled(&e, r, reps);
	part_recorder_lttng(&e, r, o->quick ? 2 : 5);
	part_usdt(&e, r, o->quick ? 2 : 5);
	rm_rf(e.tmpdir);
	return 0;
}
