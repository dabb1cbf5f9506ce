/* SPDX-License-Identifier: MIT */
/*
 * Writes the native trace format (trace_format.h) from any producer: the
 * built-in recorder, gilscope record (eBPF), gilscope replay. Not thread
 * safe: one thread owns a writer. Records are fed per thread; the writer keeps
 * one open chunk per thread and emits it when full, at gs_writer_flush() or
 * gs_writer_tick(), and on gs_writer_close().
 *
 * Streaming: the writer's output buffer goes to the file whenever it fills,
 * and gs_writer_tick() (call it from the producer's loop) writes everything
 * held at least twice a second, so a writer killed at any moment (SIGKILL,
 * OOM, crash) leaves a file whose whole blocks are readable
 * (--allow-truncated): at most the last half second is missing.
 *
 * Errors: functions return 0 or -errno; gs_writer_error() says what failed
 * ("write /path: No space left on device"). After an error the writer keeps
 * counting what it could not write as lost, so the END block stays honest.
 */
#ifndef GILSCOPE_TRACE_WRITER_H
#define GILSCOPE_TRACE_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "trace_format.h"

struct gs_writer;

/* Creates path (O_TRUNC) and writes the header. hdr->magic, version and
 * header_size are filled in by the writer. NULL with errno on failure. */
struct gs_writer *gs_writer_open(const char *path,
				 const struct gs_file_header *hdr);
/* Same, on an open descriptor the writer takes over. */
struct gs_writer *gs_writer_fdopen(int fd, const char *path,
				   const struct gs_file_header *hdr);

/* Declares a thread; must come before its first record. Idempotent. */
int gs_writer_thread(struct gs_writer *w, const struct gs_thread_block *t);
/* Writes the thread's metadata again (name, role, priorities learnt after
 * its first records); readers keep the last THREAD block of a tid. */
int gs_writer_thread_update(struct gs_writer *w, const struct gs_thread_block *t);

/* Writes the PROBES block (where the tracer's probes sit); call it before
 * the first record. */
int gs_writer_probes(struct gs_writer *w, const struct gs_probe_site *sites,
		     size_t n);

/* Appends records of one thread, in time order for that thread. */
int gs_writer_records(struct gs_writer *w, uint32_t tid,
		      const struct gs_record *recs, size_t n);
/* Writes one CHUNK block of tid's records now, bypassing the open chunk
 * (which is flushed first so the thread's order is kept). */
int gs_writer_chunk(struct gs_writer *w, uint32_t tid,
		    const struct gs_record *recs, size_t n);

/* Adds to the lost count of tid (events the producer had to drop). */
void gs_writer_lost(struct gs_writer *w, uint32_t tid, uint64_t n);

/* Writes one block of another type (enum gs_block_type; payload size a
 * multiple of 8), checksummed and numbered like the others. 0 or -errno. */
int gs_writer_block(struct gs_writer *w, uint32_t type, const void *payload,
		    size_t size);

/* Writes the open chunks and the output buffer to the file now, so that
 * gs_writer_total_records() counts what is really in it. 0 or -errno. */
int gs_writer_flush(struct gs_writer *w);
/* gs_writer_flush() when the last one is half a second old (now_ns on
 * gs_now_ns()'s clock). Cheap otherwise: call it every loop. */
int gs_writer_tick(struct gs_writer *w, uint64_t now_ns);

/* Flushes open chunks, writes END (flags: GS_END_F_*), closes the file.
 * Returns 0 or the first error seen (its message copied to err, if given);
 * frees w in any case. */
int gs_writer_close(struct gs_writer *w, uint64_t end_ns, uint32_t flags,
		    char *err, size_t errlen);

const char *gs_writer_error(const struct gs_writer *w);
uint64_t gs_writer_total_records(const struct gs_writer *w);
uint64_t gs_writer_total_lost(const struct gs_writer *w);

#endif
