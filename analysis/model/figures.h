/* SPDX-License-Identifier: MIT */
/*
 * The key figures of one run, as flat (key, value) rows per scope: what
 * `gilscope diff` puts side by side and what `gilscope replay` checks its
 * replay against. Values come from gs_metrics (docs/metrics.md); the keys are
 * part of diff's JSON schema (docs/replay.md).
 */
#ifndef GILSCOPE_FIGURES_H
#define GILSCOPE_FIGURES_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

enum gs_figure_key {
	GS_FIG_HOLD_P50 = 0,    /* us */
	GS_FIG_HOLD_P90,        /* us */
	GS_FIG_WAIT_P50,        /* us, all reasons */
	GS_FIG_WAIT_P90,        /* us */
	GS_FIG_WAIT_SHARE,      /* time waiting / wall time */
	GS_FIG_GIL_LOAD,        /* time holding / wall time */
	GS_FIG_ACQ_PER_S,       /* acquisitions per second */
	GS_FIG_HANDOFF_FAILED,  /* failed / attempted handoffs */
	GS_FIG_CONVOY_PER_CALL, /* us lost per I/O call (blocking_end -> acquired) */
	GS_FIG_IO_CALLS_PER_S,  /* blocking calls per second (I/O throughput) */
	GS_FIG_INVERSION_MS,    /* policy + scheduler inversion time suffered */
	GS_FIG_CONTENTION,      /* overall only: time with >= 1 waiter / span */
	GS_FIG_MAX
};

struct gs_figure_def {
	const char *key;        /* JSON key */
	const char *label;      /* for tables */
	const char *unit;
	int lower_is_better;
};

extern const struct gs_figure_def gs_figure_defs[GS_FIG_MAX];

struct gs_figure_set {
	char scope[48];         /* "overall" or the thread's name */
	uint32_t tid;
	uint32_t role;
	double value[GS_FIG_MAX];
	uint8_t valid[GS_FIG_MAX]; /* 0: not applicable (no samples) */
};

struct gs_figures {
	struct gs_figure_set overall;
	struct gs_figure_set *threads;
	size_t nthreads;
	/* The whole run's hold and wait distributions (all threads), and its
	 * per-I/O-call losses (whose mean is GS_FIG_CONVOY_PER_CALL). */
	struct gs_hist hold, wait, io_wait;
};

/* Share of h's samples <= v (0 for an empty histogram). */
double gs_hist_cdf(const struct gs_hist *h, uint64_t v);

/* 0, or -1 when out of memory. */
int gs_figures_from_metrics(const struct gs_metrics *m, struct gs_figures *out);
void gs_figures_free(struct gs_figures *f);

/* Thread of b matching a's thread i: same name (the k-th of that name), else
 * the same role in the same rank; -1 when none. */
int gs_figures_match(const struct gs_figures *a, size_t i,
		     const struct gs_figures *b);

#endif
