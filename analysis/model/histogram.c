/* SPDX-License-Identifier: MIT */
#include "histogram.h"

#include <stdlib.h>
#include <string.h>

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

static void print_stars(FILE *out, uint64_t val, uint64_t max, int width)
{
	int n = max ? (int)((double)val * width / (double)max) : 0;
	if (n > width)
		n = width;
	for (int i = 0; i < n; i++)
		fputc('*', out);
	for (int i = n; i < width; i++)
		fputc(' ', out);
}

void gs_hist_print_log2(FILE *out, const struct gs_hist *h, uint64_t divisor,
			const char *unit)
{
	uint64_t slots[64] = { 0 };
	int top = -1, bottom = 64;
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
		int s = v ? 63 - __builtin_clzll(v) : 0;
		slots[s] += h->b[i];
		if (s > top)
			top = s;
		if (s < bottom)
			bottom = s;
	}
	uint64_t max = 0;
	for (int s = 0; s <= top; s++)
		if (slots[s] > max)
			max = slots[s];
	int idx_max = top;
	int stars = 40;
	int width = idx_max <= 32 ? 10 : 20;
	fprintf(out, "%*s%-*s : count    distribution\n", idx_max <= 32 ? 5 : 15,
		"", idx_max <= 32 ? 19 : 29, unit);
	/* from the first non-empty row: leading empty rows only push the
	 * shape off the screen */
	for (int s = bottom; s <= idx_max; s++) {
		/* rows as libbpf-tools prints them: 0 -> 1, 2 -> 3, 4 -> 7 */
		uint64_t low = (uint64_t)1 << s;
		uint64_t high = s == 63 ? UINT64_MAX : ((uint64_t)1 << (s + 1)) - 1;
		if (low == high)
			low = 0;
		fprintf(out, "%*llu -> %-*llu : %-8llu |", width,
			(unsigned long long)low, width, (unsigned long long)high,
			(unsigned long long)slots[s]);
		print_stars(out, slots[s], max, stars);
		fprintf(out, "|\n");
	}
}
