/* SPDX-License-Identifier: MIT */
#include "duration.h"

#include <inttypes.h>
#include <stdio.h>

const char *gs_format_ns(char *buf, size_t n, uint64_t ns)
{
	if (ns < 1000)
		snprintf(buf, n, "%" PRIu64 " ns", ns);
	else if (ns < 1000000)
		snprintf(buf, n, "%.1f us", (double)ns / 1e3);
	else if (ns < 1000000000)
		snprintf(buf, n, "%.2f ms", (double)ns / 1e6);
	else
		snprintf(buf, n, "%.3f s", (double)ns / 1e9);
	return buf;
}

void gs_format_duration(char *buf, size_t n, double ns)
{
	if (ns >= 1e9)
		snprintf(buf, n, "%.3g s", ns / 1e9);
	else if (ns >= 1e6)
		snprintf(buf, n, "%.3g ms", ns / 1e6);
	else if (ns >= 1e3)
		snprintf(buf, n, "%.3g us", ns / 1e3);
	else
		snprintf(buf, n, "%.0f ns", ns);
}
