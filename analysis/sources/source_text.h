/* SPDX-License-Identifier: MIT */
/*
 * The part the two text readers share (perf script, trace-cmd report):
 * both print one event per line as "who, cpu, time, event name, fields", so
 * each reader only splits its own line layout into a gs_text_line and this
 * core maps it onto catalog events:
 *
 *  - GROUP:NAME or NAME where NAME (minus a "_N" duplicate suffix that perf
 *    probe adds) is a catalog event and GROUP is empty, "sdt_gil", "gil" or
 *    starts with "gilscope" (scheduler events and lost markers excluded:
 *    a bare "sched_wakeup" is the kernel's): a catalog event, fields
 *    a8/a0/a1 (tracefs helper) or arg1/arg2/arg3 (perf probe SDT events;
 *    perf omits constant arguments, which are then 0), thread_start's name
 *    from name="..." (else the thread's comm);
 *  - sched_switch / sched_wakeup (kernel "prev_pid=..." layout or trace-cmd's
 *    plugin layout "comm:pid [prio] S ==> comm:pid [prio]"): mapped onto
 *    sched_switch_out / sched_switch_in / sched_wakeup for threads of the
 *    traced process (threads that emitted a gil event, or share its pid);
 *  - everything else is skipped.
 */
#ifndef GILSCOPE_SOURCE_TEXT_H
#define GILSCOPE_SOURCE_TEXT_H

#include "source_common.h"

struct gs_text_line {
	const char *comm;     /* may be NULL */
	size_t comm_len;
	uint32_t pid;         /* process id, 0 when the layout has none */
	uint32_t tid;
	uint16_t cpu;
	uint64_t ts_ns;
	const char *event;    /* "group:name", "group/name" or "name" */
	size_t event_len;
	const char *fields;   /* rest of the line */
	int lost_only;        /* a "lost N events" line: only lost is set */
	uint64_t lost;
};

struct gs_text_source;
/* 1: *out filled; 0: line carries nothing (header, blank); -1: malformed,
 * with a message in src->base.error naming file, line and expectation. */
typedef int (*gs_text_parse_fn)(struct gs_text_source *src, char *line,
				struct gs_text_line *out);

struct gs_text_source {
	struct gs_source base;
	struct gs_lines lines;
	gs_text_parse_fn parse;
	const char *layout;   /* expected layout, for error messages */
	struct gs_event pend[2];
	int npend, ipend;
	char name[32];
	struct gs_thread_table threads;
	uint32_t *ours;       /* tids of the traced process */
	size_t nours, capours;
	uint32_t traced_pid;
	uint64_t events, lost;
	int ended, failed, truncated;
};

/* Opens path as a text source with the given line parser. detect() is
 * called on the first lines first: it returns 1 when the text is in its
 * format; otherwise the open fails with "not FORMAT". */
struct gs_source *gs_text_source_open(const char *path, int allow_truncated,
				      const char *format, const char *layout,
				      gs_text_parse_fn parse, char *err,
				      size_t errlen);

/* The part both perf script and trace-cmd report lines end with, after the
 * time: "EVENT: FIELDS" (EVENT may itself end with ':'). Fills out->event,
 * event_len and fields; 1, or -1 via gs_text_error() when EVENT is empty. */
int gs_text_event_and_fields(struct gs_text_source *src, const char *t,
			     const char *line, struct gs_text_line *out);

/* A reader's word before " [CPU] ": the thread ("PID/TID", "COMM-TID"),
 * from w up to w_end (spaces skipped; may be empty). Fills out's tid, and
 * pid and comm where the word has them; 0, or -1 when the word does not
 * fit (a COMM may hold " [N] ": the next such field is tried). */
typedef int (*gs_text_word_fn)(char *line, char *w, char *w_end,
			       struct gs_text_line *out);

/*
 * The head both layouts share: "... WORD [CPU] SECONDS: " with WORD the
 * thread's ("COMM PID/TID [CPU] ..." perf script, "COMM-TID [CPU] ..."
 * trace-cmd). A CPU field is digits in brackets with a space on each side.
 * Fills out (word's fields, cpu, ts_ns) and *event (the text after
 * "SECONDS: "); 0, or -1 via gs_text_error() naming WORD_LAYOUT ("PID/TID")
 * or the missing time.
 */
int gs_text_head(struct gs_text_source *src, char *line, gs_text_word_fn word,
		 const char *word_layout, struct gs_text_line *out,
		 const char **event);

/* Sets src->base.error: "FILE: line N: expected LAYOUT: WHAT, got 'LINE'". */
int gs_text_error(struct gs_text_source *src, const char *what,
		  const char *line);

#endif
