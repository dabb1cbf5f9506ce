/* SPDX-License-Identifier: MIT */
/*
 * Co-scheduled pairs (items 7, 10 and 12): a traced and an untraced copy of
 * a bench/python program run AT THE SAME TIME, every thread of both on CPU
 * 0, released together from one start line (bench/python/startline.py), so
 * that both see the same speed of this machine's vCPUs, which changes in
 * steps from one run to the next. The C side of startline.py.
 */
#define _GNU_SOURCE
#include "bench.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

int bench_startline_args(char **argv, int a, const char *ready, const char *go)
{
	argv[a++] = "--cpu";
	argv[a++] = "0";
	argv[a++] = "--ready";
	argv[a++] = (char *)ready;
	argv[a++] = "--start-after";
	argv[a++] = (char *)go;
	argv[a] = NULL;
	return a;
}

void bench_pair_run_one(struct bench_pair_run *pr)
{
	pr->rc = bench_run(pr->argv, NULL, pr->out, sizeof(pr->out), pr->flags, 300);
}

static void *pair_run_thread(void *p)
{
	bench_pair_run_one(p);
	return NULL;
}

static int file_exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* Each run creates its ready file at the start line, and both start when
 * the go file appears. A run that fails before its start line leaves its
 * ready file missing: after 120 s the go file is created anyway and the
 * pair fails. */
void bench_run_cosched(struct bench_pair_run pr[2], const char *const ready[2],
		       const char *go)
{
	pthread_t th[2];
	int started[2];
	unlink(go);
	for (int i = 0; i < 2; i++) {
		unlink(ready[i]);
		started[i] = !pthread_create(&th[i], NULL, pair_run_thread, &pr[i]);
		if (!started[i])
			pr[i].rc = -1;
	}
	for (int ms = 0; ms < 120000; ms++) {
		if ((!started[0] || file_exists(ready[0])) &&
		    (!started[1] || file_exists(ready[1])))
			break;
		usleep(1000);
	}
	int fd = open(go, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	for (int i = 0; i < 2; i++)
		if (started[i])
			pthread_join(th[i], NULL);
	unlink(go);
	unlink(ready[0]);
	unlink(ready[1]);
}

void bench_slowdown_goal(struct bench_row *row, double goal_pct, double lo,
			 double hi)
{
	/* met only when the whole interval is below: a median that lands
	 * under the goal by the luck of a few noisy pairs is not; missed when
	 * all of it is above */
	snprintf(row->goal, sizeof(row->goal),
		 "<= %.0f%% slower: median's CI %+.1f..%+.1f", goal_pct, lo, hi);
	row->goal_met = hi <= goal_pct ? 1 : lo > goal_pct ? 0 : BENCH_GOAL_UNRESOLVED;
}
