/* SPDX-License-Identifier: MIT */
/*
 * Test driver for the adapter agreement tests: reads one trace with a given
 * reader and prints, one per line,
 *
 *   events TYPE COUNT         per catalog event type (0 counts included)
 *   lost N                    events the producer reported dropped
 *   hold_p50 NS / hold_p90 NS acquired -> release, per thread
 *   wait_p50 NS / wait_p90 NS acquire_request -> acquired, per thread
 *   first_ts NS               earliest timestamp (clock sanity check)
 *   handoffs N / handoffs_failed N  as gil_runtime_stats() counts them
 *
 * so a shell test can compare the built-in recorder's view of a run with
 * LTTng's, perf's and tracefs's, every trace through analysis/sources/.
 *
 *   adapters_count native|ctf|perf|tracecmd PATH [FROM_NS TO_NS]
 *
 * FROM_NS/TO_NS (CLOCK_MONOTONIC) keep only the events in that window:
 * gilscope run records one phase of a scenario with the built-in recorder
 * while an external tracer sees every phase.
 *
 * With ADAPTERS_EVENTS_OUT=FILE set, every counted event is also written
 * there as "TID TYPE TS_NS", so a test can match two tracers' views of one
 * run event by event and measure how far apart they stamped each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "source.h"

struct durs {
	uint64_t *v;
	size_t n, cap;
};

static void push(struct durs *d, uint64_t x)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 1024;
		d->v = realloc(d->v, d->cap * sizeof(*d->v));
		if (!d->v)
			exit(1);
	}
	d->v[d->n++] = x;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t pct(struct durs *d, double p)
{
	if (!d->n)
		return 0;
	qsort(d->v, d->n, sizeof(*d->v), cmp_u64);
	size_t i = (size_t)(p * (double)(d->n - 1) + 0.5);
	return d->v[i];
}

#define MAXT 4096
static struct {
	uint32_t tid;
	uint64_t req, acq;
} th[MAXT];
static size_t nth;

static uint64_t counts[GS_EV_MAX];
/* gil_runtime_stats() accounting: a release with waiters is a handoff; it
 * failed when the releaser is the next to acquire. */
static uint64_t handoffs, handoffs_failed;
static int release_had_waiters;
static uint32_t releaser;
static uint64_t first_ts;
static struct durs hold, wait_;
static FILE *events_out;

static void account(const struct gs_event *ev)
{
	size_t i;
	if (events_out)
		fprintf(events_out, "%u %u %llu\n", ev->tid, (unsigned)ev->type,
			(unsigned long long)ev->ts_ns);
	for (i = 0; i < nth && th[i].tid != ev->tid; i++)
		;
	if (i == nth) {
		if (nth == MAXT)
			return;
		th[nth].tid = ev->tid;
		th[nth].req = th[nth].acq = 0;
		nth++;
	}
	if (ev->type < GS_EV_MAX)
		counts[ev->type]++;
	if (!first_ts || ev->ts_ns < first_ts)
		first_ts = ev->ts_ns;
	switch (ev->type) {
	case GS_EV_acquire_request:
		th[i].req = ev->ts_ns;
		break;
	case GS_EV_acquired:
		if (release_had_waiters) {
			handoffs++;
			if (ev->tid == releaser)
				handoffs_failed++;
			release_had_waiters = 0;
		}
		if (th[i].req)
			push(&wait_, ev->ts_ns - th[i].req);
		th[i].req = 0;
		th[i].acq = ev->ts_ns;
		break;
	case GS_EV_release:
		release_had_waiters = ev->a0 > 0;
		releaser = ev->tid;
		if (th[i].acq)
			push(&hold, ev->ts_ns - th[i].acq);
		th[i].acq = 0;
		break;
	case GS_EV_lost:
		th[i].req = th[i].acq = 0;
		break;
	}
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: adapters_count native|ctf|perf|tracecmd "
				"PATH [FROM_NS TO_NS]\n");
		return 2;
	}
	const char *kind = argv[1], *path = argv[2];
	uint64_t from = argc > 4 ? strtoull(argv[3], NULL, 10) : 0;
	uint64_t to = argc > 4 ? strtoull(argv[4], NULL, 10) : UINT64_MAX;
	uint64_t lost = 0;
	char err[512] = "";
	const char *events_path = getenv("ADAPTERS_EVENTS_OUT");
	if (events_path && *events_path) {
		events_out = fopen(events_path, "w");
		if (!events_out) {
			perror(events_path);
			return 1;
		}
	}
	{
		struct gs_source *s = NULL;
		if (strcmp(kind, "native") == 0)
			s = gs_source_native_open(path, 0, err, sizeof(err));
		else if (strcmp(kind, "perf") == 0)
			s = gs_source_perf_script_open(path, 0, err, sizeof(err));
		else if (strcmp(kind, "tracecmd") == 0)
			s = gs_source_tracecmd_open(path, 0, err, sizeof(err));
#ifdef GILSCOPE_WITH_CTF
		else if (strcmp(kind, "ctf") == 0)
			s = gs_source_ctf_open(path, 0, err, sizeof(err));
#endif
		else
			snprintf(err, sizeof(err), "unknown reader %s", kind);
		if (!s) {
			fprintf(stderr, "adapters_count: %s\n", err);
			return 1;
		}
		struct gs_event ev;
		uint64_t last = 0;
		int rc;
		while ((rc = gs_source_next(s, &ev)) == 1) {
			if (ev.ts_ns < last) {
				fprintf(stderr, "adapters_count: %s: events out "
						"of time order at offset %llu\n",
					path, (unsigned long long)ev.offset);
				return 1;
			}
			last = ev.ts_ns;
			if (ev.ts_ns >= from && ev.ts_ns <= to)
				account(&ev);
		}
		if (rc < 0) {
			fprintf(stderr, "adapters_count: %s\n",
				gs_source_error(s));
			return 1;
		}
		struct gs_source_totals t;
		s->ops->totals(s, &t);
		lost = t.lost;
		gs_source_close(s);
	}
	if (events_out && fclose(events_out) != 0) {
		perror(events_path);
		return 1;
	}
	for (unsigned t = 1; t < GS_EV_MAX; t++)
		printf("events %s %llu\n", gs_event_name(t),
		       (unsigned long long)counts[t]);
	printf("lost %llu\n", (unsigned long long)lost);
	printf("first_ts %llu\n", (unsigned long long)first_ts);
	printf("handoffs %llu\nhandoffs_failed %llu\n",
	       (unsigned long long)handoffs,
	       (unsigned long long)handoffs_failed);
	printf("hold_p50 %llu\nhold_p90 %llu\n",
	       (unsigned long long)pct(&hold, 0.5),
	       (unsigned long long)pct(&hold, 0.9));
	printf("wait_p50 %llu\nwait_p90 %llu\n",
	       (unsigned long long)pct(&wait_, 0.5),
	       (unsigned long long)pct(&wait_, 0.9));
	return 0;
}
