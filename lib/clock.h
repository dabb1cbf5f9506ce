/* SPDX-License-Identifier: MIT */
/*
 * The clocks every layer stamps with. CLOCK_MONOTONIC is the trace clock:
 * bpf_ktime_get_ns(), perf -k monotonic, LTTng and trace-cmd "mono" read the
 * same one, so traces from different tracers line up. Inline: libgil's hot
 * paths call it, and a header-only clock needs nothing linked.
 */
#ifndef GILSCOPE_CLOCK_H
#define GILSCOPE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t gs_clock_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CLOCK_MONOTONIC in ns: the trace clock. */
static inline uint64_t gs_now_ns(void)
{
	return gs_clock_ns(CLOCK_MONOTONIC);
}

/* CLOCK_REALTIME in ns (trace headers record both, to place a trace in
 * wall-clock time). */
static inline uint64_t gs_realtime_ns(void)
{
	return gs_clock_ns(CLOCK_REALTIME);
}

#endif
