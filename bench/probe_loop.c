/* SPDX-License-Identifier: MIT */
/*
 * gs-bench-probeloop: the loop item 3 times with each tracing back end.
 *
 * One thread attached to a runtime calls gil_blocking_begin/end in a loop:
 * every pair emits 5 catalog events (blocking_begin, release, blocking_end,
 * acquire_request, acquired) through the real GS_PROBE sites of libgil.
 * Built twice: against libgil (probes compiled in; USDT/LTTng/recorder are
 * enabled from outside or with --record) and against a libgil built without
 * probes (gs-bench-probeloop-noprobe). Prints key=value lines.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "gil.h"
#ifndef BENCH_NO_PROBES
#include "recorder.h"
#endif

#define EVENTS_PER_PAIR 5
#define WARM_PAIRS 1000

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: gs-bench-probeloop [-n PAIRS] [-r REPS] [-p POLICY]"
#ifndef BENCH_NO_PROBES
		" [--record FILE]"
#endif
		"\n\nTimes REPS loops of PAIRS gil_blocking_begin/end pairs (%d events\n"
		"each) and prints ns_per_pair=MEDIAN, one ns_rep=... per repetition\n"
		"and events_per_pair. Part of gilscope bench (item 3).\n"
#ifndef BENCH_NO_PROBES
		"  --record FILE  run the built-in recorder into FILE meanwhile\n"
#endif
		"  -n PAIRS       pairs per repetition (default 200000)\n"
		"  -r REPS        repetitions (default 5)\n"
		"  -p POLICY      legacy, cpython, fifo or prio (default fifo)\n",
		EVENTS_PER_PAIR);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "record", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long pairs = 200000;
	unsigned reps = 5;
	const char *policy = "fifo";
	const char *record = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "n:r:p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n': pairs = strtoul(optarg, NULL, 0); break;
		case 'r': reps = (unsigned)strtoul(optarg, NULL, 0); break;
		case 'p': policy = optarg; break;
		case 'R': record = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!pairs || !reps || reps > 1000) {
		fprintf(stderr, "gs-bench-probeloop: -n and -r must be > 0 "
				"(and -r <= 1000)\n");
		return 2;
	}
	int pol = gil_policy_from_name(policy);
	if (pol < 0) {
		fprintf(stderr, "gs-bench-probeloop: unknown policy '%s'\n", policy);
		return 2;
	}
#ifdef BENCH_NO_PROBES
	if (record) {
		fprintf(stderr, "gs-bench-probeloop-noprobe: no recorder in a "
				"build without probes\n");
		return 2;
	}
#else
	if (record) {
		struct gs_recorder_opts ro = { 0 };
		ro.path = record;
		/* Big enough that the collector thread never drops at this
		 * event rate (~5-10 M events/s). */
		ro.chunks_per_thread = 512;
		ro.policy = (uint32_t)pol;
		ro.policy_name = policy;
		ro.command = "gs-bench-probeloop";
		char err[512];
		if (gs_recorder_start(&ro, err, sizeof(err)) != 0) {
			fprintf(stderr, "gs-bench-probeloop: %s\n", err);
			return 1;
		}
	}
#endif
	struct gil_params p;
	gil_params_default(&p, (enum gil_policy)pol);
	gil_runtime *rt = gil_create(&p);
	if (!rt) {
		fprintf(stderr, "gs-bench-probeloop: gil_create(%s): %s\n", policy,
			strerror(errno));
		return 1;
	}
	gil_thread *t = gil_attach(rt, "probeloop", GIL_ROLE_MAIN, 0);
	if (!t) {
		fprintf(stderr, "gs-bench-probeloop: gil_attach: %s\n",
			strerror(errno));
		return 1;
	}
	for (unsigned long i = 0; i < WARM_PAIRS; i++) {
		gil_blocking_begin(t, GIL_BLOCK_OTHER);
		gil_blocking_end(t, 0);
	}
	double ns[1000];
	for (unsigned r = 0; r < reps; r++) {
		uint64_t t0 = gs_now_ns();
		for (unsigned long i = 0; i < pairs; i++) {
			gil_blocking_begin(t, GIL_BLOCK_OTHER);
			gil_blocking_end(t, 0);
		}
		ns[r] = (double)(gs_now_ns() - t0) / (double)pairs;
		printf("ns_rep=%.3f\n", ns[r]);
	}
	gil_detach(t);
	gil_destroy(rt);
	qsort(ns, reps, sizeof(ns[0]), cmp);
	printf("ns_per_pair=%.3f\n", ns[reps / 2]);
	/* The least disturbed repetition: what item 3 compares, since the
	 * differences it looks for are smaller than one preemption. */
	printf("ns_min=%.3f\n", ns[0]);
	printf("events_per_pair=%d\n", EVENTS_PER_PAIR);
	printf("pairs=%lu\n", (unsigned long)(WARM_PAIRS + pairs * reps));
#ifndef BENCH_NO_PROBES
	if (record) {
		struct gs_recorder_result res;
		int rc = gs_recorder_stop(0, &res);
		printf("recorded=%llu\nlost=%llu\n",
		       (unsigned long long)res.records,
		       (unsigned long long)res.lost);
		if (rc != 0) {
			fprintf(stderr, "gs-bench-probeloop: %s\n", res.error);
			return 1;
		}
	}
#endif
	return 0;
}
