/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "trace_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "crc32c.h"

#define OUT_BUF_BYTES (1u << 20)
/* gs_writer_tick() writes what it holds at least this often, so a writer
 * killed at any moment leaves at most this much time unwritten. */
#define FLUSH_INTERVAL_NS 500000000ull
#define CHUNK_RECORDS 2730u /* 64 KiB of records per chunk block */

struct writer_thread {
	uint32_t tid;
	uint64_t records;
	uint64_t lost;
	uint64_t flushed;         /* of records, how many reached the file */
	struct gs_record *open;   /* records not yet in a chunk */
	size_t nopen;
};

struct gs_writer {
	int fd;
	char path[256];
	char error[320];
	int failed;               /* first error seen, as -errno; 0 if none */
	unsigned char *buf;
	size_t buflen;
	struct writer_thread *threads;
	size_t nthreads, cap;
	uint64_t total_records, total_lost, total_flushed;
	uint32_t seq;             /* of the next block */
	uint64_t last_flush_ns;
};

static void set_error(struct gs_writer *w, int err, const char *what)
{
	if (w->failed)
		return;
	w->failed = -err;
	snprintf(w->error, sizeof(w->error), "%s %s: %s", what, w->path,
		 strerror(err));
}

static int flush_buf(struct gs_writer *w)
{
	size_t off = 0;
	while (off < w->buflen && !w->failed) {
		ssize_t n = write(w->fd, w->buf + off, w->buflen - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			set_error(w, errno, "write");
			break;
		}
		off += (size_t)n;
	}
	w->buflen = 0;
	/* Records count as written once they reach the file: what sat in the
	 * buffer when a write failed becomes lost, so END stays honest. */
	if (!w->failed) {
		for (size_t i = 0; i < w->nthreads; i++)
			w->threads[i].flushed = w->threads[i].records;
		w->total_flushed = w->total_records;
	} else if (w->total_records != w->total_flushed) {
		for (size_t i = 0; i < w->nthreads; i++) {
			struct writer_thread *t = &w->threads[i];
			t->lost += t->records - t->flushed;
			t->records = t->flushed;
		}
		w->total_lost += w->total_records - w->total_flushed;
		w->total_records = w->total_flushed;
	}
	return w->failed;
}

static int put(struct gs_writer *w, const void *p, size_t n)
{
	const unsigned char *src = p;
	while (n) {
		if (w->failed)
			return w->failed;
		size_t room = OUT_BUF_BYTES - w->buflen;
		size_t take = n < room ? n : room;
		memcpy(w->buf + w->buflen, src, take);
		w->buflen += take;
		src += take;
		n -= take;
		if (w->buflen == OUT_BUF_BYTES)
			flush_buf(w);
	}
	return w->failed;
}

static int put_block(struct gs_writer *w, uint32_t type, const void *a,
		     size_t alen, const void *b, size_t blen)
{
	struct gs_block_header bh = { .type = type, .size = (uint32_t)(alen + blen),
				      .seq = w->seq++ };
	uint32_t crc = gs_crc32c(0, &bh, sizeof(bh));
	crc = gs_crc32c(crc, a, alen);
	if (blen)
		crc = gs_crc32c(crc, b, blen);
	bh.crc32c = crc;
	put(w, &bh, sizeof(bh));
	put(w, a, alen);
	if (blen)
		put(w, b, blen);
	return w->failed;
}

struct gs_writer *gs_writer_fdopen(int fd, const char *path,
				   const struct gs_file_header *hdr)
{
	struct gs_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->buf = malloc(OUT_BUF_BYTES);
	if (!w->buf) {
		free(w);
		errno = ENOMEM;
		return NULL;
	}
	w->fd = fd;
	snprintf(w->path, sizeof(w->path), "%s", path);
	struct gs_file_header h = *hdr;
	memcpy(h.magic, GS_TRACE_MAGIC, 8);
	h.version_major = GS_TRACE_VERSION_MAJOR;
	h.version_minor = GS_TRACE_VERSION_MINOR;
	h.header_size = sizeof(h);
	if (!h.clock)
		h.clock = GS_CLOCK_MONOTONIC;
	h.header_crc32c = 0;
	h.reserved = 0;
	h.header_crc32c = gs_crc32c(0, &h, sizeof(h));
	w->last_flush_ns = gs_now_ns();
	put(w, &h, sizeof(h));
	if (flush_buf(w)) {
		int err = -w->failed;
		free(w->buf);
		free(w);
		errno = err;
		return NULL;
	}
	return w;
}

struct gs_writer *gs_writer_open(const char *path,
				 const struct gs_file_header *hdr)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return NULL;
	struct gs_writer *w = gs_writer_fdopen(fd, path, hdr);
	if (!w) {
		int err = errno;
		close(fd);
		errno = err;
	}
	return w;
}

static struct writer_thread *find_thread(struct gs_writer *w, uint32_t tid)
{
	for (size_t i = 0; i < w->nthreads; i++)
		if (w->threads[i].tid == tid)
			return &w->threads[i];
	return NULL;
}

static struct writer_thread *add_thread(struct gs_writer *w, uint32_t tid)
{
	if (w->nthreads == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		struct writer_thread *t = realloc(w->threads, cap * sizeof(*t));
		if (!t)
			return NULL;
		w->threads = t;
		w->cap = cap;
	}
	struct writer_thread *t = &w->threads[w->nthreads++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	return t;
}

int gs_writer_thread(struct gs_writer *w, const struct gs_thread_block *tb)
{
	if (find_thread(w, tb->tid))
		return w->failed;
	if (!add_thread(w, tb->tid)) {
		set_error(w, ENOMEM, "thread table for");
		return w->failed;
	}
	return put_block(w, GS_BLOCK_THREAD, tb, sizeof(*tb), NULL, 0);
}

int gs_writer_thread_update(struct gs_writer *w, const struct gs_thread_block *tb)
{
	if (!find_thread(w, tb->tid))
		return gs_writer_thread(w, tb);
	return put_block(w, GS_BLOCK_THREAD, tb, sizeof(*tb), NULL, 0);
}

int gs_writer_probes(struct gs_writer *w, const struct gs_probe_site *sites,
		     size_t n)
{
	struct gs_probes_block pb = { .nsites = (uint32_t)n };
	return put_block(w, GS_BLOCK_PROBES, &pb, sizeof(pb), sites,
			 n * sizeof(*sites));
}

static struct writer_thread *thread_or_anon(struct gs_writer *w, uint32_t tid)
{
	struct writer_thread *t = find_thread(w, tid);
	if (t)
		return t;
	struct gs_thread_block tb = { .tid = tid };
	snprintf(tb.name, sizeof(tb.name), "tid-%u", tid);
	gs_writer_thread(w, &tb);
	return find_thread(w, tid);
}

static void emit_chunk(struct gs_writer *w, struct writer_thread *t,
		       const struct gs_record *recs, size_t n)
{
	if (!n)
		return;
	if (w->failed) {
		t->lost += n;
		w->total_lost += n;
		return;
	}
	struct gs_chunk_block cb = {
		.tid = t->tid,
		.nrecords = (uint32_t)n,
		.first_ns = recs[0].ts_ns,
		.last_ns = recs[n - 1].ts_ns,
	};
	put_block(w, GS_BLOCK_CHUNK, &cb, sizeof(cb), recs, n * sizeof(*recs));
	if (w->failed) {
		t->lost += n;
		w->total_lost += n;
		return;
	}
	t->records += n;
	w->total_records += n;
}

static void flush_open(struct gs_writer *w, struct writer_thread *t)
{
	emit_chunk(w, t, t->open, t->nopen);
	t->nopen = 0;
}

int gs_writer_records(struct gs_writer *w, uint32_t tid,
		      const struct gs_record *recs, size_t n)
{
	struct writer_thread *t = thread_or_anon(w, tid);
	if (!t)
		return w->failed ? w->failed : -ENOMEM;
	if (!t->open) {
		t->open = malloc(CHUNK_RECORDS * sizeof(*t->open));
		if (!t->open) {
			set_error(w, ENOMEM, "chunk buffer for");
			t->lost += n;
			w->total_lost += n;
			return w->failed;
		}
	}
	while (n) {
		size_t take = CHUNK_RECORDS - t->nopen;
		if (take > n)
			take = n;
		memcpy(t->open + t->nopen, recs, take * sizeof(*recs));
		t->nopen += take;
		recs += take;
		n -= take;
		if (t->nopen == CHUNK_RECORDS)
			flush_open(w, t);
	}
	return w->failed;
}

int gs_writer_chunk(struct gs_writer *w, uint32_t tid,
		    const struct gs_record *recs, size_t n)
{
	struct writer_thread *t = thread_or_anon(w, tid);
	if (!t)
		return w->failed ? w->failed : -ENOMEM;
	flush_open(w, t);
	emit_chunk(w, t, recs, n);
	return w->failed;
}

void gs_writer_lost(struct gs_writer *w, uint32_t tid, uint64_t n)
{
	struct writer_thread *t = thread_or_anon(w, tid);
	if (t)
		t->lost += n;
	w->total_lost += n;
}

int gs_writer_block(struct gs_writer *w, uint32_t type, const void *payload,
		    size_t size)
{
	if ((type & GS_BLOCK_TAG_MASK) != GS_BLOCK_TAG || size % 8 != 0 ||
	    size > UINT32_MAX - sizeof(struct gs_block_header)) {
		set_error(w, EINVAL, "bad block for");
		return w->failed;
	}
	return put_block(w, type, payload, size, NULL, 0);
}

int gs_writer_flush(struct gs_writer *w)
{
	for (size_t i = 0; i < w->nthreads; i++)
		flush_open(w, &w->threads[i]);
	w->last_flush_ns = gs_now_ns();
	return flush_buf(w);
}

int gs_writer_tick(struct gs_writer *w, uint64_t now_ns)
{
	if (now_ns - w->last_flush_ns < FLUSH_INTERVAL_NS)
		return w->failed;
	return gs_writer_flush(w);
}

int gs_writer_close(struct gs_writer *w, uint64_t end_ns, uint32_t flags,
		    char *err, size_t errlen)
{
	for (size_t i = 0; i < w->nthreads; i++)
		flush_open(w, &w->threads[i]);
	struct gs_end_block eb = {
		.end_ns = end_ns,
		.total_records = w->total_records,
		.total_lost = w->total_lost,
		.nthreads = (uint32_t)w->nthreads,
		.flags = flags,
	};
	struct gs_end_thread *et = calloc(w->nthreads ? w->nthreads : 1, sizeof(*et));
	if (et) {
		for (size_t i = 0; i < w->nthreads; i++) {
			et[i].tid = w->threads[i].tid;
			et[i].records = w->threads[i].records;
			et[i].lost = w->threads[i].lost;
		}
		put_block(w, GS_BLOCK_END, &eb, sizeof(eb), et,
			  w->nthreads * sizeof(*et));
		free(et);
	} else {
		set_error(w, ENOMEM, "end block for");
	}
	flush_buf(w);
	if (!w->failed && fsync(w->fd) != 0 && errno != EINVAL && errno != EROFS)
		set_error(w, errno, "fsync");
	if (close(w->fd) != 0 && !w->failed)
		set_error(w, errno, "close");
	int rc = w->failed;
	if (err && errlen)
		snprintf(err, errlen, "%s", rc ? w->error : "");
	for (size_t i = 0; i < w->nthreads; i++)
		free(w->threads[i].open);
	free(w->threads);
	free(w->buf);
	free(w);
	return rc;
}

const char *gs_writer_error(const struct gs_writer *w)
{
	return w->failed ? w->error : NULL;
}

uint64_t gs_writer_total_records(const struct gs_writer *w)
{
	return w->total_records;
}

uint64_t gs_writer_total_lost(const struct gs_writer *w)
{
	return w->total_lost;
}
