/* SPDX-License-Identifier: MIT */
#include "log2hist.h"

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

void gs_print_log2_hist(FILE *out, const uint64_t *slot, int nslots,
			const char *unit)
{
	int bottom = -1, top = -1;
	uint64_t max = 0;
	if (nslots > GS_LOG2_SLOTS)
		nslots = GS_LOG2_SLOTS;
	for (int s = 0; s < nslots; s++) {
		if (!slot[s])
			continue;
		if (bottom < 0)
			bottom = s;
		top = s;
		if (slot[s] > max)
			max = slot[s];
	}
	if (top < 0)
		return;
	int width = top <= 32 ? 10 : 20;
	fprintf(out, "%*s%-*s : count    distribution\n", top <= 32 ? 5 : 15,
		"", top <= 32 ? 19 : 29, unit);
	for (int s = bottom; s <= top; s++) {
		uint64_t low = (uint64_t)1 << s;
		uint64_t high = s == 63 ? UINT64_MAX : ((uint64_t)1 << (s + 1)) - 1;
		if (s == 0)
			low = 0;
		fprintf(out, "%*llu -> %-*llu : %-8llu |", width,
			(unsigned long long)low, width, (unsigned long long)high,
			(unsigned long long)slot[s]);
		print_stars(out, slot[s], max, 40);
		fprintf(out, "|\n");
	}
}
