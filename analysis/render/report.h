/* SPDX-License-Identifier: MIT */
/*
 * Renders an analysis (analyze.h) as the text report, the JSON document
 * (schema "gilscope-report/1", docs/report.md) or per-thread CSV rows.
 * Shared by `gilscope report` and anything that wants the same output.
 */
#ifndef GILSCOPE_REPORT_H
#define GILSCOPE_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "analyze.h"

#define GS_REPORT_SCHEMA "gilscope-report/1"

#define GS_REPORT_SUMMARY 0x1u
#define GS_REPORT_THREADS 0x2u
#define GS_REPORT_HISTOGRAMS 0x4u  /* text: the log2 histograms of the summary */
#define GS_REPORT_ALL (GS_REPORT_SUMMARY | GS_REPORT_THREADS | GS_REPORT_HISTOGRAMS)

struct gs_report_opts {
	unsigned sections;        /* GS_REPORT_*; 0 = all */
	/* selected[i] != 0: thread index i is shown; NULL: all threads */
	const uint8_t *selected;
	/* text: log2 histograms per thread too (--per-thread) */
	int thread_histograms;
	/* the n stacks with the most blame (--top-code N; code_report.h) */
	size_t top_code;
};

void gs_report_text(FILE *out, const struct gs_analysis *a,
		    const struct gs_report_opts *o);
void gs_report_json(FILE *out, const struct gs_analysis *a,
		    const struct gs_report_opts *o);
void gs_report_csv(FILE *out, const struct gs_analysis *a,
		   const struct gs_report_opts *o);

/* The order of the per-thread table: most hurt first (total wait, then
 * time lost after I/O, then tid). out must hold m->nth entries; returns how
 * many threads were selected. */
size_t gs_report_thread_order(const struct gs_metrics *m,
			      const uint8_t *selected, uint32_t *out);

#endif
