/* SPDX-License-Identifier: MIT */
/*
 * Ring-buffer records -> per-thread streams of the native trace writer.
 *
 * The ring buffer keeps reservation order, not timestamp order: a wake-up
 * taken on the waker's CPU can land after the woken thread's own next
 * event. Each thread's records are therefore held back for a short window
 * (GS_DEMUX_HOLDBACK_NS) and sorted before they reach the writer.
 */
#ifndef GILSCOPE_BPF_DEMUX_H
#define GILSCOPE_BPF_DEMUX_H

#include <stddef.h>
#include <stdint.h>

#include "tidmap.h"
#include "trace_writer.h"

#define GS_DEMUX_HOLDBACK_NS 2000000ull

struct gs_demux_thread {
	uint32_t tid;
	int declared;
	int named;              /* name/role came from a thread_start event */
	struct gs_thread_block tb;
	struct gs_record *buf;  /* held back, not yet written */
	size_t n, cap;
	uint64_t max_ts;        /* newest record seen */
	uint64_t last_written;  /* newest record handed to the writer */
	uint64_t records;
	uint64_t lost;          /* from `lost` markers */
	uint32_t renames;       /* name changes seen after the first */
};

struct gs_demux {
	struct gs_writer *w;
	uint32_t pid;
	struct gs_demux_thread *threads;
	size_t nthreads, cap;
	struct gs_tidmap index; /* tid -> threads[] */
	uint64_t records, reordered;
	uint64_t scans;
	uint64_t stack_events;  /* `stack` records (record --stacks) */
};

int gs_demux_init(struct gs_demux *d, struct gs_writer *w, uint32_t pid);
/* The newest record seen of any thread (0: none). */
uint64_t gs_demux_last_ts(const struct gs_demux *d);
/* Notes the name and priority of every thread the process has now, for
 * threads that exit before their records are written (call it often). */
void gs_demux_scan(struct gs_demux *d);
/* One ring-buffer sample (a struct gsb_record or gsb_record_named). */
int gs_demux_add(struct gs_demux *d, const void *data, size_t size);
/* Writes what is older than the holdback window (final: everything). */
void gs_demux_flush(struct gs_demux *d, int final);
/* Adds n dropped events to tid's count (no marker was recorded for them). */
void gs_demux_lost(struct gs_demux *d, uint32_t tid, uint64_t n);
void gs_demux_free(struct gs_demux *d);

#endif
