/* SPDX-License-Identifier: MIT */
/* Rows, statistics and clocks shared by the bench items. */
#define _GNU_SOURCE
#include "bench.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

struct bench_row *bench_add_row(struct bench_report *r, int item,
				const char *name, const char *unit)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 32;
		struct bench_row *rows = realloc(r->rows, cap * sizeof(*rows));
		if (!rows)
			return NULL;
		r->rows = rows;
		r->cap = cap;
	}
	struct bench_row *row = &r->rows[r->n++];
	memset(row, 0, sizeof(*row));
	row->item = item;
	snprintf(row->name, sizeof(row->name), "%s", name);
	snprintf(row->unit, sizeof(row->unit), "%s", unit);
	row->median = row->min = row->max = NAN;
	row->ratio = row->p90 = row->p99 = NAN;
	row->goal_met = -1;
	return row;
}

void bench_skip(struct bench_report *r, int item, const char *fmt, ...)
{
	if (r->nskipped >= sizeof(r->skipped) / sizeof(r->skipped[0]))
		return;
	char *dst = r->skipped[r->nskipped++];
	size_t len = sizeof(r->skipped[0]);
	int n = snprintf(dst, len, "item %d: ", item);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dst + n, len - (size_t)n, fmt, ap);
	va_end(ap);
}

void bench_report_free(struct bench_report *r)
{
	free(r->rows);
	memset(r, 0, sizeof(*r));
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double bench_percentile(double *v, size_t n, double p)
{
	if (!n)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	/* Linear interpolation between closest ranks. */
	double pos = p / 100.0 * (double)(n - 1);
	size_t lo = (size_t)pos;
	if (lo + 1 >= n)
		return v[n - 1];
	double frac = pos - (double)lo;
	return v[lo] + (v[lo + 1] - v[lo]) * frac;
}

double bench_median(double *v, size_t n)
{
	return bench_percentile(v, n, 50.0);
}

double bench_min(const double *v, size_t n)
{
	double m = n ? v[0] : NAN;
	for (size_t i = 1; i < n; i++)
		if (v[i] < m)
			m = v[i];
	return m;
}

double bench_max(const double *v, size_t n)
{
	double m = n ? v[0] : NAN;
	for (size_t i = 1; i < n; i++)
		if (v[i] > m)
			m = v[i];
	return m;
}

double bench_median_ci(double *v, size_t n, double tail, double *lo, double *hi)
{
	*lo = *hi = NAN;
	if (!n)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	/* k: the largest with P(X <= k-1) <= tail, X ~ Binomial(n, 1/2);
	 * the interval [v(k), v(n+1-k)] misses the median with probability
	 * 2 P(X <= k-1) */
	double cdf = 0, c = 1, miss = 0; /* c = C(n, j) */
	size_t k = 0;
	for (size_t j = 0; j < (n + 1) / 2; j++) {
		cdf += c * pow(0.5, (double)n);
		if (cdf > tail)
			break;
		k = j + 1;
		miss = 2 * cdf;
		c = c * (double)(n - j) / (double)(j + 1);
	}
	if (k == 0) { /* too few values for the tail asked: the whole range */
		k = 1;
		miss = 2 * pow(0.5, (double)n);
	}
	*lo = v[k - 1];
	*hi = v[n - k];
	return 1 - miss;
}

double bench_rank_test(const double *a, size_t na, const double *b, size_t nb)
{
	if (!na || !nb)
		return NAN;
	size_t n = na + nb;
	struct { double v; int from_a; } *all = malloc(n * sizeof(*all));
	if (!all)
		return NAN;
	for (size_t i = 0; i < na; i++)
		all[i].v = a[i], all[i].from_a = 1;
	for (size_t i = 0; i < nb; i++)
		all[na + i].v = b[i], all[na + i].from_a = 0;
	for (size_t i = 1; i < n; i++) /* insertion sort: n is a few hundred */
		for (size_t j = i; j > 0 && all[j - 1].v > all[j].v; j--) {
			__typeof__(*all) t = all[j];
			all[j] = all[j - 1];
			all[j - 1] = t;
		}
	double rank_a = 0, ties = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && all[j].v == all[i].v)
			j++;
		double mid = (double)(i + 1 + j) / 2.0, t = (double)(j - i);
		for (size_t k = i; k < j; k++)
			if (all[k].from_a)
				rank_a += mid;
		ties += t * t * t - t;
		i = j;
	}
	free(all);
	double u = rank_a - (double)na * (double)(na + 1) / 2.0;
	double mean = (double)na * (double)nb / 2.0;
	double var = (double)na * (double)nb / 12.0 *
		     ((double)(n + 1) - ties / ((double)n * (double)(n - 1)));
	if (var <= 0)
		return 1.0;
	double z = (fabs(u - mean) - 0.5) / sqrt(var);
	if (z < 0)
		z = 0;
	return erfc(z / sqrt(2.0));
}

size_t bench_finite(const double *v, size_t n, double *out)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (isfinite(v[i]))
			out[k++] = v[i];
	return k;
}

#define RATIO_BOOT_RESAMPLES 4000

double bench_ratio_of_means_ci(const double *num, const double *den, size_t n,
			       double level, double *lo, double *hi)
{
	double a[BENCH_MAX_RUNS], b[BENCH_MAX_RUNS];
	size_t m = 0;
	*lo = *hi = NAN;
	for (size_t i = 0; i < n && m < BENCH_MAX_RUNS; i++)
		if (isfinite(num[i]) && isfinite(den[i])) {
			a[m] = num[i];
			b[m++] = den[i];
		}
	if (!m)
		return NAN;
	double sa = 0, sb = 0;
	for (size_t i = 0; i < m; i++) {
		sa += a[i];
		sb += b[i];
	}
	static double boot[RATIO_BOOT_RESAMPLES];
	size_t nb = 0;
	/* A fixed seed: the same runs give the same interval. */
	uint64_t x = 0x9e3779b97f4a7c15ull;
	for (unsigned k = 0; k < RATIO_BOOT_RESAMPLES; k++) {
		double ra = 0, rb = 0;
		for (size_t i = 0; i < m; i++) {
			x ^= x >> 12; /* xorshift64* */
			x ^= x << 25;
			x ^= x >> 27;
			size_t j = (size_t)(((x * 0x2545f4914f6cdd1dull) >> 11) % m);
			ra += a[j];
			rb += b[j];
		}
		if (rb > 0)
			boot[nb++] = ra / rb;
	}
	if (nb) {
		*lo = bench_percentile(boot, nb, 50.0 * (1 - level));
		*hi = bench_percentile(boot, nb, 100.0 - 50.0 * (1 - level));
	}
	return sb > 0 ? sa / sb : NAN;
}

void bench_row_set(struct bench_row *row, double *v, size_t n)
{
	row->min = bench_min(v, n);
	row->max = bench_max(v, n);
	row->median = bench_median(v, n);
	row->reps = (unsigned)n;
}

void bench_row_set_runs(struct bench_row *row, const double *v, size_t n)
{
	double ok[BENCH_MAX_RUNS];
	size_t nok = 0;
	if (n > BENCH_MAX_RUNS)
		n = BENCH_MAX_RUNS;
	for (size_t i = 0; i < n; i++) {
		row->runs[i] = v[i];
		if (isfinite(v[i]))
			ok[nok++] = v[i];
	}
	row->nruns = (unsigned)n;
	if (nok)
		bench_row_set(row, ok, nok);
}

void bench_row_ratio(struct bench_row *row, const struct bench_row *floor,
		     double goal_ratio)
{
	snprintf(row->vs, sizeof(row->vs), "%s", floor->name);
	row->ratio = floor->median > 0 ? row->median / floor->median : NAN;
	if (goal_ratio > 0) {
		snprintf(row->goal, sizeof(row->goal), "<= %.2gx %s", goal_ratio,
			 floor->name);
		row->goal_met = isfinite(row->ratio) && row->ratio <= goal_ratio;
	}
}

void bench_spin_ns(uint64_t ns)
{
	uint64_t end = gs_now_ns() + ns;
	while (gs_now_ns() < end)
		BENCH_CPU_RELAX();
}

const char *bench_source_dir(void)
{
	const char *env = getenv("GILSCOPE_SRC");
	return env && *env ? env : GILSCOPE_SOURCE_DIR;
}

int bench_workdir(int item, char dir[sizeof(BENCH_WORKDIR_TEMPLATE)],
		  const char *name, char *trace, size_t len)
{
	memcpy(dir, BENCH_WORKDIR_TEMPLATE, sizeof(BENCH_WORKDIR_TEMPLATE));
	if (!mkdtemp(dir)) {
		fprintf(stderr, "bench: item %d: mkdtemp: %s\n", item,
			strerror(errno));
		return -1;
	}
	snprintf(trace, len, "%s/%s", dir, name);
	return 0;
}
