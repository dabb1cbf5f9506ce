/* SPDX-License-Identifier: MIT */
/*
 * Shared by the analysis tests: builds small native traces with gs_writer so
 * every test states its events, and their known answers, in its own source.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#ifndef TEST_ANALYSIS_BUILD_H
#define TEST_ANALYSIS_BUILD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc32c.h"
#include "trace_writer.h"

#define TB_MAX 4096

struct tb {
	char path[256];
	struct gs_writer *w;
};

/* A trace as a given tracer and runtime would write it (gilscope record
 * of CPython: GS_SOURCE_EBPF, GS_RUNTIME_CPYTHON2 ...). */
static inline void tb_open_as(struct tb *t, const char *name, uint32_t source,
			      uint32_t runtime, uint32_t interval_us,
			      uint32_t flags)
{
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(t->path, sizeof(t->path), "%s/gs-test-%d-%s.gst", dir,
		 (int)getpid(), name);
	struct gs_file_header h;
	memset(&h, 0, sizeof(h));
	h.source = source;
	h.runtime = runtime;
	h.policy = runtime == GS_RUNTIME_LIBGIL ? 2 : 0;
	h.interval_us = interval_us;
	h.flags = flags;
	snprintf(h.policy_name, sizeof(h.policy_name), "cpython");
	snprintf(h.command, sizeof(h.command), "test %s", name);
	t->w = gs_writer_open(t->path, &h);
	if (!t->w) {
		perror(t->path);
		abort();
	}
}

static inline void tb_open(struct tb *t, const char *name, uint32_t interval_us,
			   uint32_t flags)
{
	tb_open_as(t, name, GS_SOURCE_LIBGIL, GS_RUNTIME_LIBGIL, interval_us,
		   flags);
}

static inline void tb_thread(struct tb *t, uint32_t tid, const char *name,
			     uint32_t role, int os_prio, int gil_prio)
{
	struct gs_thread_block b;
	memset(&b, 0, sizeof(b));
	b.tid = tid;
	b.role = role;
	b.os_prio = os_prio;
	b.gil_prio = gil_prio;
	snprintf(b.name, sizeof(b.name), "%s", name);
	gs_writer_thread(t->w, &b);
}

static inline struct gs_record tb_rec(uint64_t ts, uint32_t tid, unsigned type,
				      unsigned a8, uint32_t a0, uint32_t a1)
{
	struct gs_record r;
	memset(&r, 0, sizeof(r));
	r.ts_ns = ts;
	r.tid = tid;
	r.type = (uint8_t)type;
	r.a8 = (uint8_t)a8;
	r.a0 = a0;
	r.a1 = a1;
	return r;
}

/* Appends one record (buffered per thread by the writer). */
static inline void tb_ev(struct tb *t, uint64_t ts, uint32_t tid, unsigned type,
			 unsigned a8, uint32_t a0, uint32_t a1)
{
	struct gs_record r = tb_rec(ts, tid, type, a8, a0, a1);
	gs_writer_records(t->w, tid, &r, 1);
}

/* An acquisition nobody contends: no waiters, no holder to hand it over. */
static inline void tb_acquire_uncontended(struct tb *t, uint32_t tid,
					  unsigned why, uint64_t request_ns,
					  uint64_t acquired_ns)
{
	tb_ev(t, request_ns, tid, GS_EV_acquire_request, why, 0, 0);
	tb_ev(t, acquired_ns, tid, GS_EV_acquired, why, 0, 0);
}

static inline void tb_close(struct tb *t, uint64_t end_ns)
{
	char err[256];
	if (gs_writer_close(t->w, end_ns, 0, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
}

static inline long tb_size(const char *path)
{
	FILE *f = fopen(path, "rb");
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fclose(f);
	return n;
}

static inline void tb_patch(const char *path, long off, const void *p, size_t n)
{
	FILE *f = fopen(path, "r+b");
	fseek(f, off, SEEK_SET);
	fwrite(p, 1, n, f);
	fclose(f);
}

/* Patches a block's bytes and seals it again (a fresh CRC32C), so a test
 * reaches the check behind the checksum. block_off: where the block starts. */
static inline void tb_patch_sealed(const char *path, long block_off, long off,
				   const void *p, size_t n)
{
	tb_patch(path, off, p, n);
	FILE *f = fopen(path, "r+b");
	struct gs_block_header bh;
	fseek(f, block_off, SEEK_SET);
	if (fread(&bh, sizeof(bh), 1, f) != 1)
		abort();
	unsigned char *pl = malloc(bh.size ? bh.size : 1);
	if (bh.size && fread(pl, bh.size, 1, f) != 1)
		abort();
	bh.crc32c = 0;
	uint32_t crc = gs_crc32c(0, &bh, sizeof(bh));
	bh.crc32c = gs_crc32c(crc, pl, bh.size);
	fseek(f, block_off, SEEK_SET);
	fwrite(&bh, sizeof(bh), 1, f);
	fclose(f);
	free(pl);
}

#endif
