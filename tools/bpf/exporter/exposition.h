/* SPDX-License-Identifier: MIT */
/*
 * The exporter's /metrics page: Prometheus text format 0.0.4, or
 * OpenMetrics 1.0 when the scraper asks for it, from a host-wide snapshot
 * (hostwide.h). docs/exporter.md is the reference of every metric.
 *
 * Cardinality: one series set per (process, thread name), or per
 * (process, thread) with per_tid; at most max_series series in all. A
 * thread group admitted once keeps its series while it exists (so counters
 * never jump); groups beyond the cap are folded into one series set
 * labelled thread="_folded" (pid="", comm=""), counted by
 * gilscope_exporter_folded_groups[_total].
 */
#ifndef GILSCOPE_BPF_EXPOSITION_H
#define GILSCOPE_BPF_EXPOSITION_H

#include <stddef.h>
#include <stdint.h>

#include "hostwide.h"

/* Series one thread group exposes (the cap is counted in these). */
#define GS_EXPO_SERIES_PER_GROUP (10 + GSA_WHY_MAX + GSA_REASON_MAX + 2 * (GSA_BUCKETS + 2))

struct gs_expo_opts {
	int per_tid;
	size_t max_series;
};

struct gs_expo_group;

struct gs_expo {
	struct gs_expo_opts o;
	struct gs_expo_group *g;     /* groups seen so far (admitted or folded) */
	size_t ng, capg;
	size_t admitted;
	struct gsa_thread folded_retired; /* folded groups that are gone */
	uint64_t folded_total;       /* groups ever folded */
	uint64_t epoch;
	uint64_t scrapes[2];         /* text, openmetrics */
};

struct gs_buf {
	char *p;
	size_t len, cap;
	int oom;
};

void gs_buf_printf(struct gs_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void gs_buf_free(struct gs_buf *b);

void gs_expo_init(struct gs_expo *e, const struct gs_expo_opts *o);
/* Writes the page for the snapshot in hw (refreshed by the caller). */
void gs_expo_write(struct gs_expo *e, struct gs_hw *hw, int openmetrics,
		   struct gs_buf *out);
void gs_expo_free(struct gs_expo *e);

#endif
