/* SPDX-License-Identifier: MIT */
/*
 * A log2 histogram as text, in libbpf-tools' print_log2_hist() layout:
 *
 *      usecs               : count    distribution
 *          0 -> 1          : 12       |****                                    |
 *          2 -> 3          : 98       |****************************************|
 *
 * slot[s] counts the values v with floor(log2(v)) == s (v 0 goes to slot
 * 0), so row s reads "2^s -> 2^(s+1)-1" and row 0 "0 -> 1". Rows run from
 * the first to the last non-empty slot only: GIL holds of 4-8 ms would
 * otherwise come under 13 empty rows. Nothing is printed when every slot
 * is empty.
 */
#ifndef GILSCOPE_LOG2HIST_H
#define GILSCOPE_LOG2HIST_H

#include <stdint.h>
#include <stdio.h>

#define GS_LOG2_SLOTS 64

void gs_print_log2_hist(FILE *out, const uint64_t *slot, int nslots,
			const char *unit);

#endif
