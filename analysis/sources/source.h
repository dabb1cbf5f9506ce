/* SPDX-License-Identifier: MIT */
/*
 * A trace source: anything that yields catalog events in time order.
 * The native reader (source_native.c) merges per-thread chunks; the LTTng,
 * perf-script, trace-cmd and eBPF adapters implement the same interface.
 */
#ifndef GILSCOPE_SOURCE_H
#define GILSCOPE_SOURCE_H

#include <stdint.h>
#include <stdio.h>

#include "gil_events.h"
#include "trace_format.h"

/* One decoded event. */
struct gs_event {
	uint64_t ts_ns;
	uint32_t tid;
	uint16_t cpu;
	uint8_t type;       /* enum gs_event_type */
	uint8_t a8;
	uint32_t a0;
	uint32_t a1;
	uint64_t offset;    /* where it came from: byte offset (native, text) */
	const char *str;    /* thread_start: the thread's name; valid until the
			       next call to next(); else NULL */
};

/* What a source knows about the trace as a whole. */
struct gs_trace_info {
	const char *path;
	uint32_t source;        /* enum gs_trace_source, or 0 */
	uint32_t runtime;       /* enum gs_trace_runtime, or 0 */
	uint32_t pid;
	uint32_t policy;        /* enum gil_policy, 0 if not libgil */
	uint32_t interval_us;   /* 0 if unknown */
	uint32_t check_ticks;
	uint32_t flags;         /* GS_HDR_F_* */
	uint64_t start_ns, end_ns; /* end_ns known only after the end */
	char policy_name[32];
	char command[64];
	char format[16];        /* "native", "ctf", "perf-script", ... */
	/* Where the tracer's probes sat (native PROBES block), owned by the
	 * source; gs_analyze() keeps a copy. */
	const struct gs_probe_site *probes;
	uint32_t nprobes;
};

struct gs_thread_info {
	uint32_t tid;
	uint32_t role;
	int32_t os_prio;
	int32_t gil_prio;
	char name[32];
};

/* Totals a source reports at the end (lost events, completeness). */
struct gs_source_totals {
	uint64_t events;        /* events delivered */
	uint64_t lost;          /* events the producer reported dropped */
	int complete;           /* 1: the trace had its end marker */
	int interrupted;        /* 1: producer was stopped by a signal */
};

struct gs_source;

struct gs_source_ops {
	/* 1: *ev filled; 0: end of trace; -1: error (gs_source_error()). */
	int (*next)(struct gs_source *src, struct gs_event *ev);
	/* Thread metadata seen so far; NULL if tid unknown. */
	const struct gs_thread_info *(*thread)(struct gs_source *src, uint32_t tid);
	void (*totals)(struct gs_source *src, struct gs_source_totals *out);
	void (*close)(struct gs_source *src);
};

struct gs_source {
	const struct gs_source_ops *ops;
	struct gs_trace_info info;
	/* "FILE: offset N: what was wrong, what was expected" */
	char error[512];
	/* Sources that can continue past a truncation do so when set. */
	int allow_truncated;
	/* Code locations `stack` events name (native STACK blocks), or NULL;
	 * owned by the source unless taken (set to NULL). */
	struct gs_stacktab *stacks;
};

/* Opens a native trace file. NULL on failure, with *err filled (file name,
 * offset and the problem). */
struct gs_source *gs_source_native_open(const char *path, int allow_truncated,
					char *err, size_t errlen);

/* Picks the reader from the file's content (native magic, CTF directory,
 * perf script text, trace-cmd report text). */
struct gs_source *gs_source_open_any(const char *path, int allow_truncated,
				     char *err, size_t errlen);

/* Adapters for other tracers' output (analysis/sources/). Each returns NULL
 * with err filled when path is not its format or cannot be read. */
struct gs_source *gs_source_ctf_open(const char *path, int allow_truncated,
				     char *err, size_t errlen);
struct gs_source *gs_source_perf_script_open(const char *path,
					     int allow_truncated, char *err,
					     size_t errlen);
struct gs_source *gs_source_tracecmd_open(const char *path, int allow_truncated,
					  char *err, size_t errlen);

/* A `gilscope record --probes full` trace of a CPython process read as
 * `--probes light` would have recorded the same run: each blocking_end is
 * held back to its thread's next request and given the request's time,
 * and the trace is marked GS_HDR_F_INFERRED (source_lightset.c). Takes
 * full (closed with the result); NULL with err filled, full left open,
 * for any other trace. */
struct gs_source *gs_source_as_light(struct gs_source *full, char *err,
				     size_t errlen);

static inline int gs_source_next(struct gs_source *s, struct gs_event *ev)
{
	return s->ops->next(s, ev);
}
static inline void gs_source_close(struct gs_source *s)
{
	if (s)
		s->ops->close(s);
}
static inline const char *gs_source_error(const struct gs_source *s)
{
	return s->error;
}

#endif
