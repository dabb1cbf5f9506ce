/* SPDX-License-Identifier: MIT */
#include "histogram.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "log2hist.h"

void gs_hist_record_slow(struct gs_hist *h, uint64_t v)
{
	if (!h->b) {
		h->b = calloc(GS_HIST_BUCKETS, sizeof(*h->b));
		if (!h->b) {
			h->oom = 1;
			return;
		}
		if (!h->count)
			h->min = UINT64_MAX;
	}
	gs_hist_record(h, v);
}

void gs_hist_free(struct gs_hist *h)
{
	free(h->b);
	memset(h, 0, sizeof(*h));
}

int gs_hist_merge(struct gs_hist *dst, const struct gs_hist *src)
{
	if (!src->count)
		return 0;
	if (!dst->b) {
		dst->b = calloc(GS_HIST_BUCKETS, sizeof(*dst->b));
		if (!dst->b)
			return -1;
		if (!dst->count)
			dst->min = UINT64_MAX;
	}
	for (unsigned i = 0; i < GS_HIST_BUCKETS; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	return 0;
}

uint64_t gs_hist_bucket_low(unsigned i)
{
	if (i < GS_HIST_SUB)
		return i;
	unsigned g = i / GS_HIST_SUB, s = i % GS_HIST_SUB;
	return (uint64_t)(GS_HIST_SUB + s) << (g - 1);
}

uint64_t gs_hist_bucket_high(unsigned i)
{
	if (i < GS_HIST_SUB)
		return i;
	unsigned g = i / GS_HIST_SUB;
	return gs_hist_bucket_low(i) + (((uint64_t)1 << (g - 1)) - 1);
}

uint64_t gs_hist_quantile(const struct gs_hist *h, double q)
{
	if (!h->count || !h->b)
		return 0;
	if (q <= 0)
		return h->min;
	if (q >= 1)
		return h->max;
	/* smallest value with at least ceil(q * count) samples at or below */
	double want_d = q * (double)h->count;
	uint64_t want = (uint64_t)want_d;
	if ((double)want < want_d)
		want++;
	if (!want)
		want = 1;
	uint64_t seen = 0;
	for (unsigned i = 0; i < GS_HIST_BUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want) {
			uint64_t v = gs_hist_bucket_high(i);
			if (v > h->max)
				v = h->max;
			if (v < h->min)
				v = h->min;
			return v;
		}
	}
	return h->max;
}

double gs_hist_mean(const struct gs_hist *h)
{
	return h->count ? (double)h->sum / (double)h->count : 0.0;
}

double gs_hist_stddev(const struct gs_hist *h)
{
	if (h->count < 2 || !h->b)
		return 0.0;
	double mean = gs_hist_mean(h), ss = 0;
	for (unsigned i = 0; i < GS_HIST_BUCKETS; i++) {
		if (!h->b[i])
			continue;
		double lo = (double)gs_hist_bucket_low(i), hi = (double)gs_hist_bucket_high(i);
		double mid = (lo + hi) / 2;
		if (mid < (double)h->min)
			mid = (double)h->min;
		if (mid > (double)h->max)
			mid = (double)h->max;
		ss += (double)h->b[i] * (mid - mean) * (mid - mean);
	}
	return sqrt(ss / (double)(h->count - 1));
}

void gs_hist_print_log2(FILE *out, const struct gs_hist *h, uint64_t divisor,
			const char *unit)
{
	uint64_t slots[GS_LOG2_SLOTS] = { 0 };
	if (!divisor)
		divisor = 1;
	if (!h->count || !h->b) {
		fprintf(out, "     (no samples)\n");
		return;
	}
	for (unsigned i = 0; i < GS_HIST_BUCKETS; i++) {
		if (!h->b[i])
			continue;
		/* every bucket lies inside one power of two of the raw value;
		 * the divisor may split it, so use its low end */
		uint64_t v = gs_hist_bucket_low(i) / divisor;
		slots[v ? 63 - __builtin_clzll(v) : 0] += h->b[i];
	}
	gs_print_log2_hist(out, slots, GS_LOG2_SLOTS, unit);
}
