/* SPDX-License-Identifier: MIT */
/*
 * Renders the code attribution of an analysis (codeattr.h): folded stacks
 * for flame graphs (flamegraph.pl, inferno, speedscope) and the table of
 * the top stacks in the text and JSON reports.
 */
#ifndef GILSCOPE_CODE_REPORT_H
#define GILSCOPE_CODE_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "analyze.h"
#include "json_writer.h"

/* One line per (thread, stack): "thread;outer;...;inner VALUE", VALUE in
 * ns of kind (enum gs_code_kind), frames as "function (file:line)". Stacks
 * of no Python frame show as "[no Python frame]". Returns lines written,
 * or -1 when the analysis has no stacks. */
long gs_folded_write(FILE *out, const struct gs_analysis *a, unsigned kind);

/* The n stacks with the most blame (then hold, then wait). */
void gs_code_top_text(FILE *out, const struct gs_analysis *a, size_t n);
/* The same as a "top_code" array of the report document. */
void gs_code_top_json(struct json_writer *j, const struct gs_analysis *a,
		      size_t n);

/* "function (file:line)" of the innermost frame of stack id (or
 * "[no Python frame]"). */
void gs_code_innermost(const struct gs_analysis *a, uint32_t stack, char *out,
		       size_t len);

/* An SVG icicle of kind's folded stacks (thread on top, callers above
 * callees, widths proportional to the time), self-contained, with the
 * function, its time and share in each box's tooltip. -1 without stacks. */
int gs_code_flame_svg(FILE *out, const struct gs_analysis *a, unsigned kind);

/* For a finding (metrics.h): the holder's code (its stack with the most
 * blame; the whole trace's when the finding names no holder) and the
 * victim's call site (its stack with the most wait). 0 when the analysis
 * has no stacks or the finding names no thread. */
struct gs_finding;
int gs_code_finding(const struct gs_analysis *a, const struct gs_finding *f,
		    char *holder, size_t hlen, char *victim, size_t vlen);

#endif
