/* SPDX-License-Identifier: MIT */
/*
 * The two ways gilscope prints a duration (parsing one is cli_time_ns(),
 * cli_parse.h).
 */
#ifndef GILSCOPE_DURATION_H
#define GILSCOPE_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Report style, fixed decimals per unit so columns line up: "812 ns",
 * "12.3 us", "4.50 ms", "1.234 s". Returns buf. */
const char *gs_format_ns(char *buf, size_t n, uint64_t ns);

/* Label style, three significant digits: "12.5 ms", "800 us", "3 s"
 * (timeline axes, picture captions). */
void gs_format_duration(char *buf, size_t n, double ns);

#endif
