/* SPDX-License-Identifier: MIT */
/*
 * Output that could not be written is an error, never a silent success:
 * a full disk, /dev/full, a quota, a closed terminal. stdio reports write
 * failures late (at fflush or fclose) and only once, so every output goes
 * through here before the program says it succeeded.
 */
#ifndef GILSCOPE_OUTPUT_CHECK_H
#define GILSCOPE_OUTPUT_CHECK_H

#include <stdio.h>

/* Flushes f and reports a write error seen now or earlier (ferror) as
 * "PROG: writing WHAT: REASON" on stderr, once per stream. 0, or -1.
 * For outputs that stay open (a line per interval). */
int gs_output_flush(FILE *f, const char *prog, const char *what);
/* The same, then closes f (a close error is a write error too). */
int gs_output_close(FILE *f, const char *prog, const char *what);

#endif
