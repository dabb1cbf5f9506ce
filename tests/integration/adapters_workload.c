/* SPDX-License-Identifier: MIT */
/*
 * A small libgil program for the adapter agreement tests: CPU-bound threads
 * plus I/O threads that sleep in blocking regions, optionally recorded by
 * the built-in recorder at the same time as external tracers (LTTng, perf,
 * tracefs, bpftrace) watch the same run.
 *
 * Built by tests/integration/adapters_*.sh with the system compiler so the
 * tests need nothing from the build but libgil.
 *
 *   adapters_workload [-p POLICY] [-t CPU] [-n IO] [-d MS] [-i US] [-o FILE]
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gil.h"
#include "recorder.h"

static gil_runtime *rt;
static atomic_int stop;
static volatile unsigned long sink;

static void *cpu_thread(void *arg)
{
	char name[32];
	snprintf(name, sizeof(name), "cpu-%ld", (long)(intptr_t)arg);
	gil_thread *t = gil_attach(rt, name, GIL_ROLE_CPU, 0);
	while (!atomic_load(&stop)) {
		for (int i = 0; i < 2000; i++)
			sink += (unsigned long)i * 7u;
		gil_check(t);
	}
	gil_detach(t);
	return NULL;
}

static void *io_thread(void *arg)
{
	char name[32];
	snprintf(name, sizeof(name), "io-%ld", (long)(intptr_t)arg);
	gil_thread *t = gil_attach(rt, name, GIL_ROLE_IO, 0);
	while (!atomic_load(&stop)) {
		gil_blocking_begin(t, GIL_BLOCK_SLEEP);
		usleep(500);
		gil_blocking_end(t, 0);
		for (int i = 0; i < 200; i++)
			sink += (unsigned long)i;
		gil_check(t);
	}
	gil_detach(t);
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: adapters_workload [-p POLICY] [-t CPU_THREADS] "
		   "[-n IO_THREADS] [-d MS] [-i INTERVAL_US] [-o TRACE]\n");
}

int main(int argc, char **argv)
{
	const char *policy = "cpython", *out = NULL;
	int ncpu = 2, nio = 1, ms = 500;
	unsigned interval = 1000;
	int c;
	while ((c = getopt(argc, argv, "p:t:n:d:i:o:h")) != -1) {
		switch (c) {
		case 'p': policy = optarg; break;
		case 't': ncpu = atoi(optarg); break;
		case 'n': nio = atoi(optarg); break;
		case 'd': ms = atoi(optarg); break;
		case 'i': interval = (unsigned)atoi(optarg); break;
		case 'o': out = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	int pol = gil_policy_from_name(policy);
	if (pol < 0 || ncpu < 0 || nio < 0 || ncpu + nio > 64) {
		usage(stderr);
		return 2;
	}
	struct gil_params p;
	gil_params_default(&p, (enum gil_policy)pol);
	if (interval)
		p.interval_us = interval;
	rt = gil_create(&p);
	if (!rt) {
		perror("gil_create");
		return 1;
	}
	if (out) {
		char err[256];
		struct gs_recorder_opts o = {
			.path = out, .chunks_per_thread = 64,
			.policy = (uint32_t)pol, .interval_us = p.interval_us,
			.check_ticks = p.check_ticks, .policy_name = policy,
			.command = "adapters_workload",
		};
		if (gs_recorder_start(&o, err, sizeof(err)) != 0) {
			fprintf(stderr, "adapters_workload: %s\n", err);
			return 1;
		}
	}
	pthread_t th[64];
	int n = 0;
	for (int i = 0; i < ncpu; i++)
		pthread_create(&th[n++], NULL, cpu_thread, (void *)(intptr_t)i);
	for (int i = 0; i < nio; i++)
		pthread_create(&th[n++], NULL, io_thread, (void *)(intptr_t)i);
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
	atomic_store(&stop, 1);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	gil_destroy(rt);
	if (out) {
		struct gs_recorder_result res;
		if (gs_recorder_stop(0, &res) != 0) {
			fprintf(stderr, "adapters_workload: %s\n", res.error);
			return 1;
		}
		fprintf(stderr, "adapters_workload: %llu records, %llu lost\n",
			(unsigned long long)res.records,
			(unsigned long long)res.lost);
	}
	return 0;
}
