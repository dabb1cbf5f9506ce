/* SPDX-License-Identifier: MIT */
/*
 * Reads `perf script` text in the layout tools/perf/gilscope-perf writes:
 *
 *   perf script --ns --show-lost-events \
 *       -F trace:comm,pid,tid,cpu,time,event,trace
 *
 *   COMM PID/TID [CPU] SECONDS: EVENT: FIELDS
 *   wl 12154/12157 [001]   757.750144123: sdt_gil:thread_start: (7f..) arg1=2 ...
 *   wl 12889/12908 [000]   777.868936956: PERF_RECORD_LOST lost 40
 *
 * "PID/" may be missing (no pid field). Timestamps are taken as they are:
 * record with `perf record -k monotonic` so they are CLOCK_MONOTONIC like
 * the native recorder's. Event mapping: source_text.h. Lost records
 * (PERF_RECORD_LOST lines) go to totals.lost.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "source_text.h"

#define PERF_LAYOUT                                                     \
	"'COMM PID/TID [CPU] SECONDS: EVENT: FIELDS' (perf script --ns " \
	"-F trace:comm,pid,tid,cpu,time,event,trace)"

/* "PID/TID" or "TID"; the COMM is what stands before it. */
static int perf_word(char *line, char *w, char *w_end, struct gs_text_line *out)
{
	if (w == w_end || !isdigit((unsigned char)*w))
		return -1;
	char *slash = memchr(w, '/', (size_t)(w_end - w));
	char *te;
	unsigned long a = strtoul(w, &te, 10);
	if (slash) {
		if (te != slash)
			return -1;
		unsigned long b = strtoul(slash + 1, &te, 10);
		if (te != w_end)
			return -1;
		out->pid = (uint32_t)a;
		out->tid = (uint32_t)b;
	} else {
		if (te != w_end)
			return -1;
		out->tid = (uint32_t)a;
	}
	char *c = line;
	while (*c == ' ')
		c++;
	char *ce = w;
	while (ce > c && ce[-1] == ' ')
		ce--;
	out->comm = c;
	out->comm_len = (size_t)(ce - c);
	return 0;
}

static int perf_parse(struct gs_text_source *s, char *line,
		      struct gs_text_line *out)
{
	const char *p = line + strspn(line, " \t");
	if (*p == '\0' || *p == '#')
		return 0;
	const char *t;
	if (gs_text_head(s, line, perf_word, "PID/TID", out, &t))
		return -1;
	if (strncmp(t, "PERF_RECORD_LOST", 16) == 0) {
		const char *n = strstr(t, "lost ");
		if (!n || !isdigit((unsigned char)n[5]))
			return gs_text_error(s, "'PERF_RECORD_LOST lost N'",
					     line);
		out->lost_only = 1;
		out->lost = strtoull(n + 5, NULL, 10);
		return 1;
	}
	return gs_text_event_and_fields(s, t, line, out);
}

struct gs_source *gs_source_perf_script_open(const char *path,
					     int allow_truncated, char *err,
					     size_t errlen)
{
	return gs_text_source_open(path, allow_truncated, "perf-script",
				   PERF_LAYOUT, perf_parse, err, errlen);
}
