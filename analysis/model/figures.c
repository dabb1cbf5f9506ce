/* SPDX-License-Identifier: MIT */
#include "figures.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct gs_figure_def gs_figure_defs[GS_FIG_MAX] = {
	[GS_FIG_HOLD_P50] = { "hold_p50_us", "hold p50", "us", 0 },
	[GS_FIG_HOLD_P90] = { "hold_p90_us", "hold p90", "us", 0 },
	[GS_FIG_WAIT_P50] = { "wait_p50_us", "wait p50", "us", 1 },
	[GS_FIG_WAIT_P90] = { "wait_p90_us", "wait p90", "us", 1 },
	[GS_FIG_WAIT_SHARE] = { "wait_share", "wait share", "", 1 },
	[GS_FIG_GIL_LOAD] = { "gil_load", "GIL load", "", 0 },
	[GS_FIG_ACQ_PER_S] = { "acquisitions_per_s", "acquires/s", "1/s", 0 },
	[GS_FIG_HANDOFF_FAILED] = { "handoff_failed_share", "failed handoffs", "", 1 },
	[GS_FIG_CONVOY_PER_CALL] = { "convoy_loss_per_io_call_us", "loss/IO call", "us", 1 },
	[GS_FIG_IO_CALLS_PER_S] = { "io_calls_per_s", "IO calls/s", "1/s", 0 },
	[GS_FIG_INVERSION_MS] = { "inversion_ms", "inversion", "ms", 1 },
	[GS_FIG_CONTENTION] = { "contention", "contention", "", 1 },
};

static void set(struct gs_figure_set *s, enum gs_figure_key k, double v)
{
	s->value[k] = v;
	s->valid[k] = 1;
}

static void set_quantiles(struct gs_figure_set *s, const struct gs_hist *h,
			  enum gs_figure_key p50, enum gs_figure_key p90)
{
	if (!h->count)
		return;
	set(s, p50, (double)gs_hist_quantile(h, 0.5) / 1e3);
	set(s, p90, (double)gs_hist_quantile(h, 0.9) / 1e3);
}

static int merged_waits(const struct gs_thread_metrics *t, struct gs_hist *out)
{
	memset(out, 0, sizeof(*out));
	for (int w = 0; w < GS_WHY_MAX; w++)
		if (t->wait[w].count && gs_hist_merge(out, &t->wait[w]) != 0)
			return -1;
	return 0;
}

static int thread_figures(const struct gs_thread_metrics *t,
			  struct gs_figure_set *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->scope, sizeof(s->scope), "%s", t->name);
	s->tid = t->tid;
	s->role = t->role;
	double wall_s = (double)t->wall_ns / 1e9;
	set_quantiles(s, &t->hold, GS_FIG_HOLD_P50, GS_FIG_HOLD_P90);
	struct gs_hist waits;
	if (merged_waits(t, &waits) != 0) {
		gs_hist_free(&waits);
		return -1;
	}
	set_quantiles(s, &waits, GS_FIG_WAIT_P50, GS_FIG_WAIT_P90);
	gs_hist_free(&waits);
	if (t->wall_ns) {
		set(s, GS_FIG_WAIT_SHARE, (double)gs_thread_wait_ns(t) / (double)t->wall_ns);
		set(s, GS_FIG_GIL_LOAD, (double)t->hold_ns / (double)t->wall_ns);
		set(s, GS_FIG_ACQ_PER_S, (double)t->acquisitions / wall_s);
	}
	if (t->handoffs_given)
		set(s, GS_FIG_HANDOFF_FAILED,
		    (double)t->handoffs_failed / (double)t->handoffs_given);
	if (t->io_calls) {
		set(s, GS_FIG_CONVOY_PER_CALL,
		    (double)t->io_wait_ns / (double)t->io_calls / 1e3);
		if (t->wall_ns)
			set(s, GS_FIG_IO_CALLS_PER_S, (double)t->io_calls / wall_s);
	}
	set(s, GS_FIG_INVERSION_MS, (double)(t->inv_ns[0] + t->inv_ns[1]) / 1e6);
	return 0;
}

int gs_figures_from_metrics(const struct gs_metrics *m, struct gs_figures *out)
{
	memset(out, 0, sizeof(*out));
	out->threads = calloc(m->nth ? m->nth : 1, sizeof(*out->threads));
	if (!out->threads)
		return -1;
	out->nthreads = m->nth;

	struct gs_figure_set *o = &out->overall;
	snprintf(o->scope, sizeof(o->scope), "overall");
	struct gs_hist *hold = &out->hold, *wait = &out->wait;
	uint64_t wait_ns = 0, wall_ns = 0, io_calls = 0, io_wait_ns = 0;
	int rc = 0;
	for (size_t i = 0; i < m->nth; i++) {
		const struct gs_thread_metrics *t = &m->th[i];
		if (thread_figures(t, &out->threads[i]) != 0)
			rc = -1;
		if (t->hold.count && gs_hist_merge(hold, &t->hold) != 0)
			rc = -1;
		for (int w = 0; w < GS_WHY_MAX; w++)
			if (t->wait[w].count && gs_hist_merge(wait, &t->wait[w]) != 0)
				rc = -1;
		if (t->io_wait.count && gs_hist_merge(&out->io_wait, &t->io_wait) != 0)
			rc = -1;
		wait_ns += gs_thread_wait_ns(t);
		wall_ns += t->wall_ns;
		io_calls += t->io_calls;
		io_wait_ns += t->io_wait_ns;
	}
	set_quantiles(o, hold, GS_FIG_HOLD_P50, GS_FIG_HOLD_P90);
	set_quantiles(o, wait, GS_FIG_WAIT_P50, GS_FIG_WAIT_P90);
	double span_s = (double)m->span_ns / 1e9;
	if (wall_ns)
		set(o, GS_FIG_WAIT_SHARE, (double)wait_ns / (double)wall_ns);
	if (m->span_ns) {
		set(o, GS_FIG_GIL_LOAD, (double)m->held_ns / (double)m->span_ns);
		set(o, GS_FIG_ACQ_PER_S, (double)m->acquisitions / span_s);
		set(o, GS_FIG_CONTENTION, (double)m->contended_ns / (double)m->span_ns);
	}
	if (m->handoffs_attempted)
		set(o, GS_FIG_HANDOFF_FAILED,
		    (double)m->handoffs_failed / (double)m->handoffs_attempted);
	if (io_calls) {
		set(o, GS_FIG_CONVOY_PER_CALL, (double)io_wait_ns / (double)io_calls / 1e3);
		if (m->span_ns)
			set(o, GS_FIG_IO_CALLS_PER_S, (double)io_calls / span_s);
	}
	set(o, GS_FIG_INVERSION_MS,
	    (double)(m->inv[0].total_ns + m->inv[1].total_ns) / 1e6);
	if (rc)
		gs_figures_free(out);
	return rc;
}

void gs_figures_free(struct gs_figures *f)
{
	gs_hist_free(&f->hold);
	gs_hist_free(&f->wait);
	gs_hist_free(&f->io_wait);
	free(f->threads);
	f->threads = NULL;
	f->nthreads = 0;
}

/* How many threads before index i in f share its name / its role. */
static size_t rank_of(const struct gs_figures *f, size_t i, int by_name)
{
	size_t r = 0;
	for (size_t j = 0; j < i; j++)
		if (by_name ? !strcmp(f->threads[j].scope, f->threads[i].scope)
			    : f->threads[j].role == f->threads[i].role)
			r++;
	return r;
}

int gs_figures_match(const struct gs_figures *a, size_t i,
		     const struct gs_figures *b)
{
	for (int by_name = 1; by_name >= 0; by_name--) {
		if (by_name && !a->threads[i].scope[0])
			continue;
		size_t want = rank_of(a, i, by_name), seen = 0;
		for (size_t j = 0; j < b->nthreads; j++) {
			int same = by_name ? !strcmp(b->threads[j].scope, a->threads[i].scope)
					   : b->threads[j].role == a->threads[i].role;
			if (same && seen++ == want)
				return (int)j;
		}
	}
	return -1;
}

double gs_hist_cdf(const struct gs_hist *h, uint64_t v)
{
	if (!h->count || !h->b)
		return 0;
	if (v >= h->max)
		return 1;
	uint64_t below = 0;
	unsigned last = gs_hist_index(v);
	for (unsigned i = 0; i <= last && i < GS_HIST_BUCKETS; i++)
		below += h->b[i];
	return (double)below / (double)h->count;
}
