/* SPDX-License-Identifier: MIT */
/*
 * Small pieces the adapter readers share (source_ctf.c, source_perf.c,
 * source_tracecmd.c): a thread table filled from thread_start events and a
 * line reader that keeps line numbers and byte offsets for error messages.
 */
#ifndef GILSCOPE_SOURCE_COMMON_H
#define GILSCOPE_SOURCE_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "source.h"

struct gs_thread_table {
	struct gs_thread_info *v;
	size_t n, cap;
};

/* Records what a thread_start event says about its thread (role, os_prio,
 * gil_prio, name); other events only make the tid known. */
void gs_threads_note(struct gs_thread_table *t, const struct gs_event *ev);
const struct gs_thread_info *gs_threads_find(const struct gs_thread_table *t,
					     uint32_t tid);
void gs_threads_free(struct gs_thread_table *t);

/* Reads a text file line by line. */
struct gs_lines {
	FILE *f;
	char *buf;
	size_t cap;
	uint64_t lineno;      /* of the line last returned, 1-based */
	uint64_t offset;      /* byte offset of that line */
	uint64_t next_offset;
	size_t nul_bytes;     /* NUL bytes in that line (the text is cut at
				 the first: the caller must not trust it) */
	size_t length;        /* its bytes, NULs included, newline excluded */
	int no_newline;       /* it ended at the end of the file without a
				 newline: cut short, for a tracer's output */
};

int gs_lines_open(struct gs_lines *l, const char *path, char *err,
		  size_t errlen);
/* The next line without its newline; NULL at the end of the file. */
char *gs_lines_next(struct gs_lines *l);
void gs_lines_close(struct gs_lines *l);

/* "12345.678901234" (seconds with a fraction of 1..9 digits) -> ns.
 * Returns a pointer past the number, or NULL. */
const char *gs_parse_timestamp(const char *s, uint64_t *ns);

/* Finds "key=" in s (at the start or after a space) and parses the unsigned
 * number after it (decimal or 0x hex). 0 when found, -1 when not. */
int gs_find_uint_arg(const char *s, const char *key, uint64_t *out);

#endif
