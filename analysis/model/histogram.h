/* SPDX-License-Identifier: MIT */
/*
 * Log-linear histograms of nanosecond durations, HDR style: 32 linear
 * sub-buckets per power of two, so any recorded value is known to within
 * 1/32 (3 %) while the whole u64 range fits in 1920 buckets. count, sum, min
 * and max are exact; percentiles are the upper bound of the bucket holding
 * that rank, clamped to [min, max]. Histograms merge by adding buckets.
 * Buckets are allocated at the first sample, so unused histograms cost 48
 * bytes.
 */
#ifndef GILSCOPE_HISTOGRAM_H
#define GILSCOPE_HISTOGRAM_H

#include <stdint.h>
#include <stdio.h>

#define GS_HIST_SUB_BITS 5
#define GS_HIST_SUB (1u << GS_HIST_SUB_BITS)
#define GS_HIST_BUCKETS ((64 - GS_HIST_SUB_BITS + 1) * GS_HIST_SUB)

struct gs_hist {
	uint64_t *b;          /* GS_HIST_BUCKETS counts, NULL until used */
	uint64_t count, sum, min, max;
	int oom;              /* a bucket array could not be allocated */
};

static inline unsigned gs_hist_index(uint64_t v)
{
	if (v < GS_HIST_SUB)
		return (unsigned)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= SUB_BITS */
	unsigned shift = e - GS_HIST_SUB_BITS;
	return (shift + 1) * GS_HIST_SUB + (unsigned)((v >> shift) - GS_HIST_SUB);
}

void gs_hist_record_slow(struct gs_hist *h, uint64_t v);

static inline void gs_hist_record(struct gs_hist *h, uint64_t v)
{
	if (__builtin_expect(!h->b, 0)) {
		gs_hist_record_slow(h, v);
		return;
	}
	h->b[gs_hist_index(v)]++;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	h->count++;
	h->sum += v;
}

void gs_hist_free(struct gs_hist *h);
/* dst += src. 0, or -1 when out of memory. */
int gs_hist_merge(struct gs_hist *dst, const struct gs_hist *src);
/* Value at quantile q in [0, 1] (0 for an empty histogram). */
uint64_t gs_hist_quantile(const struct gs_hist *h, double q);
double gs_hist_mean(const struct gs_hist *h);
/* Sample standard deviation, each sample taken at its bucket's midpoint
 * (clamped to [min, max]): within 1/64 of each value, so within ~2 % of the
 * true figure. 0 with fewer than two samples. */
double gs_hist_stddev(const struct gs_hist *h);
/* Lowest and highest value of bucket i. */
uint64_t gs_hist_bucket_low(unsigned i);
uint64_t gs_hist_bucket_high(unsigned i);

/*
 * libbpf-tools' print_log2_hist: one row per power of two of value/divisor,
 * e.g. divisor 1000 and unit "usecs" prints microseconds.
 */
void gs_hist_print_log2(FILE *out, const struct gs_hist *h, uint64_t divisor,
			const char *unit);

#endif
