/* SPDX-License-Identifier: MIT */
/*
 * What every trace-reader fuzz target does with an input: hand it to the
 * reader as a file (the readers take a path; the file lives in /dev/shm and
 * is rewritten per input), read every event, the thread of each, the
 * totals, and close.  Besides the sanitizers, it holds the readers to their
 * contract (analysis/sources/source.h, docs/reliability.md):
 *  - a failure to open or to read says why in a message naming the file,
 *    and a read error says where (byte offset or line);
 *  - events are catalog events (or the scheduler events), strings are
 *    NUL-terminated;
 *  - the native reader delivers events in time order (it checks the
 *    per-thread order itself and merges).
 * A broken rule aborts, which libFuzzer reports like a crash.
 */
#ifndef GS_FUZZ_COMMON_H
#define GS_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "source.h"

typedef struct gs_source *(*gs_open_fn)(const char *path, int allow_truncated,
					char *err, size_t errlen);

enum {
	GS_FUZZ_ORDERED = 1,     /* events must come in time order */
	GS_FUZZ_WHERE_OFFSET = 2, /* a read error says "offset N" */
	GS_FUZZ_WHERE_LINE = 4,   /* a read error says "line N" */
};

/* Writes data to NAME (may be "subdir/file") in the per-process scratch
 * directory and returns its path (valid until the next call). */
const char *gs_fuzz_write(const char *name, const uint8_t *data, size_t size);
/* The scratch directory (after the first gs_fuzz_write). */
const char *gs_fuzz_dir(void);
/* Opens path with open() and reads it to the end; aborts on a broken rule. */
void gs_fuzz_read(gs_open_fn open, const char *path, int allow_truncated,
		  unsigned flags);

/* Writes data to NAME and reads it twice, strict and with allow_truncated:
 * what the one-file targets (native, perf script, trace-cmd) do. */
void gs_fuzz_read_file(gs_open_fn open, const char *name, const uint8_t *data,
		       size_t size, unsigned flags);

#endif
