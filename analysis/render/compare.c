/* SPDX-License-Identifier: MIT */
#include "compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int is_checked(int key, const int *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (keys[i] == key)
			return 1;
	return 0;
}

/* For the overall percentiles: the distributions and the quantile. */
struct dist_pair {
	const struct gs_hist *a, *b;
	double q;
};

static int dist_for(const struct gs_figures *fa, const struct gs_figures *fb,
		    int key, struct dist_pair *out)
{
	switch (key) {
	case GS_FIG_HOLD_P50: *out = (struct dist_pair){ &fa->hold, &fb->hold, 0.5 }; return 1;
	case GS_FIG_HOLD_P90: *out = (struct dist_pair){ &fa->hold, &fb->hold, 0.9 }; return 1;
	case GS_FIG_WAIT_P50: *out = (struct dist_pair){ &fa->wait, &fb->wait, 0.5 }; return 1;
	case GS_FIG_WAIT_P90: *out = (struct dist_pair){ &fa->wait, &fb->wait, 0.9 }; return 1;
	}
	return 0;
}

double compare_mean_se(const struct gs_hist *a, const struct gs_hist *b)
{
	if (a->count < 2 || b->count < 2)
		return NAN;
	double sa = gs_hist_stddev(a), sb = gs_hist_stddev(b);
	return sqrt(sa * sa / (double)a->count + sb * sb / (double)b->count);
}

double compare_rank_spread(double q, uint64_t n_a, uint64_t n_b)
{
	if (!n_a || !n_b)
		return NAN;
	return sqrt(q * (1 - q) * (1.0 / (double)n_a + 1.0 / (double)n_b));
}

/* For the overall means: the per-call samples. */
static int samples_for(const struct gs_figures *fa, const struct gs_figures *fb,
		       int key, const struct gs_hist **a, const struct gs_hist **b)
{
	if (key != GS_FIG_CONVOY_PER_CALL)
		return 0;
	*a = &fa->io_wait;
	*b = &fb->io_wait;
	return 1;
}

static int add_scope(struct comparison *c, const struct gs_figure_set *a,
		     const struct gs_figure_set *b, const int *keys, size_t nkeys,
		     const struct gs_figures *fa, const struct gs_figures *fb,
		     size_t *cap)
{
	for (int k = 0; k < GS_FIG_MAX; k++) {
		if (!a->valid[k] && !b->valid[k])
			continue;
		if (c->nrows == *cap) {
			size_t ncap = *cap ? *cap * 2 : 64;
			struct compare_row *r = realloc(c->rows, ncap * sizeof(*r));
			if (!r)
				return -1;
			c->rows = r;
			*cap = ncap;
		}
		struct compare_row *r = &c->rows[c->nrows++];
		memset(r, 0, sizeof(*r));
		snprintf(r->scope, sizeof(r->scope), "%s", a->scope);
		r->key = k;
		r->a = a->valid[k] ? a->value[k] : NAN;
		r->b = b->valid[k] ? b->value[k] : NAN;
		r->ratio = (a->valid[k] && b->valid[k] && r->a != 0) ? r->b / r->a : NAN;
		if (isfinite(r->ratio) && r->ratio > 0)
			r->weight = fabs(log(r->ratio));
		else if (a->valid[k] != b->valid[k] || (r->a == 0 && r->b != 0))
			r->weight = 10; /* appeared or vanished: show early */
		r->within = 1;
		r->se = r->rank_slack = NAN;
		if (c->tolerance > 0 && is_checked(k, keys, nkeys) && a->valid[k]) {
			c->checked++;
			r->checked = 1;
			int is_us = !strcmp(gs_figure_defs[k].unit, "us");
			const struct gs_hist *sa, *sb;
			if (fa && samples_for(fa, fb, k, &sa, &sb))
				r->se = compare_mean_se(sa, sb) / (is_us ? 1e3 : 1);
			/* Values under a microsecond are below what a replay
			 * can mean; compare them absolutely. */
			double diff = fabs(r->b - r->a);
			r->allowed = c->tolerance * fabs(r->a);
			if (is_us && r->allowed < 1.0)
				r->allowed = 1.0;
			int fixed_ok = b->valid[k] && diff <= r->allowed;
			/* An allowance as large as the figure itself would pass
			 * a replay of nothing: too few samples to check by
			 * sampling, the fixed tolerance alone decides. */
			if (isfinite(r->se) && c->sigmas * r->se >= fabs(r->a))
				r->too_few = 1;
			else if (isfinite(r->se) && c->sigmas * r->se > r->allowed)
				r->allowed = c->sigmas * r->se;
			r->within = b->valid[k] && diff <= r->allowed;
			r->by_se = r->within && !fixed_ok;
			struct dist_pair d = { 0 };
			if (b->valid[k] && fa && dist_for(fa, fb, k, &d)) {
				double spread = c->sigmas *
						compare_rank_spread(d.q, d.a->count, d.b->count);
				r->rank_slack = isfinite(spread) && spread > GS_RANK_SLACK
						? spread : GS_RANK_SLACK;
				/* A slack that reaches rank 0 or 1 would pass an
				 * original's value beyond the whole replay: too few
				 * samples, the fixed slack alone decides. */
				if (r->rank_slack >= fmin(d.q, 1 - d.q)) {
					r->too_few = 1;
					r->rank_slack = GS_RANK_SLACK;
				}
			}
			if (!r->within && isfinite(r->rank_slack)) {
				double rank = gs_hist_cdf(d.b, (uint64_t)(r->a * 1e3));
				r->by_rank = r->within = fabs(rank - d.q) <= r->rank_slack;
			}
			if (!r->within)
				c->failed++;
		}
	}
	return 0;
}

static int by_weight(const void *x, const void *y)
{
	const struct compare_row *a = x, *b = y;
	if (a->checked != b->checked)
		return b->checked - a->checked;
	if (a->weight != b->weight)
		return a->weight < b->weight ? 1 : -1;
	int s = strcmp(a->scope, b->scope);
	return s ? s : a->key - b->key;
}

static int name_is_unique(const struct gs_figures *f, size_t i)
{
	for (size_t j = 0; j < f->nthreads; j++)
		if (j != i && !strcmp(f->threads[j].scope, f->threads[i].scope))
			return 0;
	return f->threads[i].scope[0] != 0;
}

int compare_figures(const struct gs_figures *a, const struct gs_figures *b,
		    double tolerance, double sigmas, const int *checked_keys, size_t nchecked,
		    compare_match_fn match, void *match_ctx,
		    struct comparison *out)
{
	memset(out, 0, sizeof(*out));
	out->tolerance = tolerance;
	out->sigmas = sigmas;
	size_t cap = 0;
	if (add_scope(out, &a->overall, &b->overall, checked_keys, nchecked, a, b, &cap))
		goto oom;
	for (size_t i = 0; i < a->nthreads; i++) {
		int j = match ? match(a, i, b, match_ctx) : gs_figures_match(a, i, b);
		if (j < 0)
			continue;
		size_t first = out->nrows;
		/* Thread rows are informative; the check is on the whole run. */
		if (add_scope(out, &a->threads[i], &b->threads[j], NULL, 0, NULL, NULL, &cap))
			goto oom;
		if (!name_is_unique(a, i))
			for (size_t r = first; r < out->nrows; r++)
				snprintf(out->rows[r].scope, sizeof(out->rows[r].scope),
					 "%.30s/%u", a->threads[i].scope, a->threads[i].tid);
	}
	qsort(out->rows, out->nrows, sizeof(*out->rows), by_weight);
	return 0;
oom:
	comparison_free(out);
	return -1;
}

void comparison_free(struct comparison *c)
{
	free(c->rows);
	memset(c, 0, sizeof(*c));
}

static void print_value(FILE *out, double v, const char *unit)
{
	if (!isfinite(v))
		fprintf(out, " %12s", "-");
	else if (!unit[0])
		fprintf(out, " %12.3f", v);
	else
		fprintf(out, " %12.1f", v);
}

void compare_print(FILE *out, const struct comparison *c, const char *name_a,
		   const char *name_b, size_t limit)
{
	fprintf(out, "%-16s %-22s %12s %12s %8s%s\n", "SCOPE", "FIGURE", name_a,
		name_b, "B/A", c->tolerance > 0 ? "  CHECK" : "");
	size_t n = limit && limit < c->nrows ? limit : c->nrows;
	for (size_t i = 0; i < n; i++) {
		const struct compare_row *r = &c->rows[i];
		const struct gs_figure_def *d = &gs_figure_defs[r->key];
		char label[32];
		snprintf(label, sizeof(label), "%s%s%s%s", d->label, d->unit[0] ? " (" : "",
			 d->unit, d->unit[0] ? ")" : "");
		fprintf(out, "%-16.16s %-22.22s", r->scope, label);
		print_value(out, r->a, d->unit);
		print_value(out, r->b, d->unit);
		if (isfinite(r->ratio))
			fprintf(out, " %7.2fx", r->ratio);
		else
			fprintf(out, " %8s", "-");
		if (c->tolerance > 0 && !r->within)
			fprintf(out, "  MISS%s", r->too_few ? " (too few samples to allow for "
						"sampling error)" : "");
		else if (r->by_rank)
			fprintf(out, "  ok by rank (+-%.3f)", r->rank_slack);
		else if (r->by_se)
			fprintf(out, "  ok by sampling (%g x SE %.1f)", c->sigmas, r->se);
		fputc('\n', out);
	}
	if (n < c->nrows)
		fprintf(out, "(%zu more rows; --all shows them)\n", c->nrows - n);
}

void compare_json(struct json_writer *j, const char *key,
		  const struct comparison *c)
{
	json_begin_array(j, key);
	for (size_t i = 0; i < c->nrows; i++) {
		const struct compare_row *r = &c->rows[i];
		json_begin_object(j, NULL);
		json_string(j, "scope", r->scope);
		json_string(j, "figure", gs_figure_defs[r->key].key);
		json_double(j, "a", r->a);
		json_double(j, "b", r->b);
		json_double(j, "ratio", r->ratio);
		if (c->tolerance > 0 && r->checked) {
			json_bool(j, "within_tolerance", r->within);
			json_bool(j, "by_rank", r->by_rank);
			json_bool(j, "by_sampling_error", r->by_se);
			json_bool(j, "too_few_samples", r->too_few);
			json_double(j, "allowed_diff", r->allowed);
			if (isfinite(r->se))
				json_double(j, "standard_error", r->se);
			if (isfinite(r->rank_slack))
				json_double(j, "rank_slack", r->rank_slack);
		}
		json_end(j);
	}
	json_end(j);
}
