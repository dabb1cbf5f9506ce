/* SPDX-License-Identifier: MIT */
/*
 * Two runs side by side (gilscope diff, gilscope replay): every key figure
 * of every matched scope as A, B and B/A, the changes that matter first.
 */
#ifndef GILSCOPE_COMPARE_H
#define GILSCOPE_COMPARE_H

#include <stdint.h>
#include <stdio.h>

#include "figures.h"
#include "json_writer.h"

struct compare_row {
	char scope[48];
	int key;                 /* enum gs_figure_key */
	double a, b;
	double ratio;            /* b / a; NAN when a == 0 */
	double weight;           /* |log(b/a)|, what sorts the rows */
	int checked;             /* under the tolerance check */
	int within;              /* |b/a - 1| <= tolerance (when checked) */
	int by_rank;             /* within only because a's value has the same
				    rank in b's distribution (+-rank_slack) */
	int by_se;               /* within only because of sampling error:
				    |b - a| <= GS_CONFIDENCE_K x se */
	double se;               /* means: the standard error of b - a from
				    both runs' own samples (figure units);
				    NAN for other figures */
	double allowed;          /* largest |b - a| that passed (checked rows) */
	double rank_slack;       /* percentiles: quantile points a's value may
				    sit from q in b (checked rows), or NAN */
	int too_few;             /* the sampling allowance was not granted:
				    K x se >= |a|, or the rank spread reached
				    rank 0 or 1 (it could not reject anything) */
};

/* A percentile whose value misses the tolerance still passes when the
 * original's value sits at the same rank in the replay, within this many
 * quantile points: where the distribution has a gap between two modes the
 * value jumps across the gap at the slightest shift of the mix. */
#define GS_RANK_SLACK 0.05

/*
 * Sampling error: a figure that is the mean of per-call samples (loss per
 * I/O call) differs between two runs of the same program by chance alone,
 * with standard error se = sqrt(sd_a^2/n_a + sd_b^2/n_b). Such a figure
 * passes when |b - a| <= max(tolerance x a, K x se); a percentile passes by
 * rank when a's value sits within max(GS_RANK_SLACK,
 * K x sqrt(q(1-q)(1/n_a + 1/n_b))) of q in b's distribution (the normal
 * approximation of the binomial spread of a sample quantile's rank). K = 3:
 * a replay that reproduces the recording misses by chance about 3 times in
 * 1000 (docs/replay.md, "How the self-check decides").
 */
#define GS_CONFIDENCE_K 3.0

/* Standard error of mean(b) - mean(a), in the histograms' unit (ns);
 * NAN when either has fewer than two samples. */
double compare_mean_se(const struct gs_hist *a, const struct gs_hist *b);
/* Standard deviation, in quantile points, of the difference between the
 * ranks of a sample quantile q in samples of n_a and n_b; NAN when empty. */
double compare_rank_spread(double q, uint64_t n_a, uint64_t n_b);

struct comparison {
	struct compare_row *rows;
	size_t nrows;
	double tolerance;        /* e.g. 0.15; 0 = no check */
	double sigmas;           /* standard errors allowed for sampling, e.g.
				    GS_CONFIDENCE_K; 0 = the tolerance alone */
	size_t checked, failed;  /* rows under the check and how many missed */
};

/* Index in b of a's thread i, or -1. */
typedef int (*compare_match_fn)(const struct gs_figures *a, size_t i,
				const struct gs_figures *b, void *ctx);

/*
 * Builds the rows for the overall scope and every thread of a matched in b
 * (by match, or by gs_figures_match when NULL). checked_keys: figures the
 * tolerance applies to (NULL = none); sigmas: how many standard errors of
 * sampling a checked figure may also differ by (GS_CONFIDENCE_K; 0 = none,
 * the percentiles' rank slack then GS_RANK_SLACK alone). Threads whose name is not unique in a
 * are labelled name/tid.
 */
int compare_figures(const struct gs_figures *a, const struct gs_figures *b,
		    double tolerance, double sigmas, const int *checked_keys, size_t nchecked,
		    compare_match_fn match, void *match_ctx,
		    struct comparison *out);
void comparison_free(struct comparison *c);

/* A table of the rows, largest change first; limit 0 = all rows. */
void compare_print(FILE *out, const struct comparison *c, const char *name_a,
		   const char *name_b, size_t limit);
/* "rows": [{scope, key, a, b, ratio, within, ...}], sorted the same way;
 * checked rows say what passed them (allowed_diff, standard_error,
 * rank_slack). */
void compare_json(struct json_writer *j, const char *key,
		  const struct comparison *c);

#endif
