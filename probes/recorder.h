/* SPDX-License-Identifier: MIT */
/*
 * The built-in recorder: records every catalog event libgil emits in this
 * process into a native trace file, with no root and no tracer.
 *
 * Hot path (gs_recorder_emit): per-thread ring of chunks, no lock, no
 * syscall; a full ring drops the event and counts it, it never waits.
 * A collector thread writes full chunks to the file every flush interval,
 * and twice a second everything recorded so far (the records published in
 * the chunks being filled too), so a process killed at any moment leaves a
 * trace readable up to half a second before its death (--allow-truncated);
 * gs_recorder_stop() writes the rest and the END block with lost counts.
 */
#ifndef GILSCOPE_RECORDER_H
#define GILSCOPE_RECORDER_H

#include <stddef.h>
#include <stdint.h>

/* Part of libgil's dynamic interface (libgil hides everything else). */
#if defined(__GNUC__)
#define GS_RECORDER_API __attribute__((visibility("default")))
#else
#define GS_RECORDER_API
#endif

struct gs_recorder_opts {
	const char *path;
	unsigned chunks_per_thread;  /* ring size; 0 = 16 */
	unsigned chunk_records;      /* records per chunk; 0 = 2730 (64 KiB) */
	unsigned flush_interval_ms;  /* 0 = 10 */
	/* Copied to the file header. */
	uint32_t policy, interval_us, check_ticks, header_flags;
	const char *policy_name;
	const char *command;
	/*
	 * 1: on SIGINT/SIGTERM/SIGHUP/SIGABRT the recorder writes the trace
	 * (END flagged interrupted), then lets the signal take its default
	 * action. For embedders that have no shutdown path of their own.
	 */
	int flush_on_signal;
};

struct gs_recorder_result {
	uint64_t records;   /* written to the file */
	uint64_t lost;      /* dropped (ring full) or not written (I/O error) */
	char error[320];    /* empty when all went well */
};

/* 0, or -1 with err filled ("open TRACE: Permission denied"). One recorder
 * per process at a time. */
GS_RECORDER_API int gs_recorder_start(const struct gs_recorder_opts *opts, char *err,
		      size_t errlen);
/* Writes what is buffered and the END block; flags: GS_END_F_*.
 * 0, or -1 when the file could not be written completely (res->error). */
GS_RECORDER_API int gs_recorder_stop(uint32_t end_flags, struct gs_recorder_result *res);
GS_RECORDER_API int gs_recorder_running(void);
/* Waits until the collector has written every event recorded before the
 * call to the file (a checkpoint: the file, read with --allow-truncated,
 * then holds them; not necessarily on the disk, fsync is not called). For
 * embedders that want a checkpoint and for tests. 0, or -1 when no
 * recorder runs. */
GS_RECORDER_API int gs_recorder_sync(void);

/* Records one catalog event (probes/gil_events.h) from the calling thread:
 * what every probe site of libgil calls (GS_PROBE, gil_probes.h), open to a
 * runtime that fires the catalog's events itself. name: thread_start's
 * thread name, else NULL. A no-op while no recorder runs. */
GS_RECORDER_API void gs_recorder_emit(unsigned type, unsigned a8, uint32_t a0,
				      uint32_t a1, const char *name);

#endif
