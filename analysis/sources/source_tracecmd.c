/* SPDX-License-Identifier: MIT */
/*
 * Reads `trace-cmd report` text (tools/tracefs/gilscope-tracefs writes it
 * with `trace-cmd report -t`, full nanosecond timestamps):
 *
 *   cpus=2
 *   [BUFFER: ]COMM-TID [CPU] SECONDS: EVENT: FIELDS
 *   gs_1234:  wl-15035 [000]   804.747711123: thread_start: (7f..) a8=2 ...
 *   CPU:1 [LOST 42 EVENTS]
 *
 * The clock is whatever the instance used: the helper sets trace_clock to
 * "mono" so timestamps are CLOCK_MONOTONIC like the native recorder's.
 * Event mapping: source_text.h. "[LOST N EVENTS]" lines go to totals.lost
 * as do "[N EVENTS DROPPED]" (pages the ring overwrote); a line without a
 * count ("[LOST EVENTS]", "[EVENTS DROPPED]") counts as 1.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "source_text.h"

#define TRACECMD_LAYOUT                                                  \
	"'COMM-TID [CPU] SECONDS: EVENT: FIELDS' (trace-cmd report -t)"

static int header_line(const char *p)
{
	return strncmp(p, "cpus=", 5) == 0 || strncmp(p, "version", 7) == 0 ||
	       (strncmp(p, "CPU ", 4) == 0 && strstr(p, "is empty"));
}

/* "COMM-TID" (the last '-' ends the COMM). */
static int tracecmd_word(char *line, char *w, char *w_end,
			 struct gs_text_line *out)
{
	(void)line;
	char *dash = NULL;
	for (char *q = w; q < w_end; q++)
		if (*q == '-')
			dash = q;
	if (!dash || dash + 1 == w_end || !isdigit((unsigned char)dash[1]))
		return -1;
	char *te;
	unsigned long tid = strtoul(dash + 1, &te, 10);
	if (te != w_end)
		return -1;
	out->comm = w;
	out->comm_len = (size_t)(dash - w);
	out->tid = (uint32_t)tid;
	return 0;
}

static int tracecmd_parse(struct gs_text_source *s, char *line,
			  struct gs_text_line *out)
{
	const char *p = line + strspn(line, " \t");
	if (*p == '\0' || header_line(p))
		return 0;
	/* "CPU:N [LOST 42 EVENTS]", or "[36068 EVENTS DROPPED]" when the
	 * ring overwrote pages, after the instance's "BUFFER: " if any; no
	 * count counts as 1 */
	const char *cpu = strncmp(p, "CPU:", 4) == 0 ? p : strstr(p, ": CPU:");
	const char *br = cpu ? strchr(cpu, '[') : NULL;
	if (br && (strstr(br, "[LOST") == br || strstr(br, "EVENTS DROPPED]"))) {
		/* the count follows "[LOST " or "[": step over "[LOST" and its
		 * spaces only as far as the line goes ("[LOST" can end it) */
		const char *n = br + 1;
		if (strncmp(br, "[LOST", 5) == 0)
			for (n = br + 5; *n == ' '; n++)
				;
		out->lost_only = 1;
		out->lost = isdigit((unsigned char)*n) ? strtoull(n, NULL, 10) : 1;
		return 1;
	}
	const char *t;
	if (gs_text_head(s, line, tracecmd_word, "COMM-TID", out, &t))
		return -1;
	return gs_text_event_and_fields(s, t, line, out);
}

struct gs_source *gs_source_tracecmd_open(const char *path,
					  int allow_truncated, char *err,
					  size_t errlen)
{
	return gs_text_source_open(path, allow_truncated, "trace-cmd",
				   TRACECMD_LAYOUT, tracecmd_parse, err,
				   errlen);
}
