/* SPDX-License-Identifier: MIT */
/*
 * Reader of the native trace format (probes/trace_format.h).
 *
 * Open does one pass over the block headers only: it validates the layout
 * and builds, per thread, the list of its chunk offsets (8 bytes a chunk),
 * and reads the END block (lost counts, completeness). next() then merges the
 * per-thread streams with a binary heap over one cursor per thread; each
 * cursor holds one chunk, read with pread. Memory is threads * chunk size plus
 * chunks * 8 bytes, never proportional to the number of events, and the page
 * cache rather than our RSS holds the file.
 *
 * Every problem is reported as "FILE: offset N: what was wrong (expected X)".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "source.h"
#include "tidmap.h"
#include "stacktab.h"

/* Fuzzers (built with FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, as
 * OSS-Fuzz does) look past the checksums, or they would test nothing else. */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define GS_IGNORE_CHECKSUMS 1
#else
#define GS_IGNORE_CHECKSUMS 0
#endif

struct ncursor {
	struct gs_thread_info info;
	uint64_t *chunks;          /* file offsets of this thread's CHUNK blocks */
	size_t nchunks, cap;
	size_t next_chunk;
	uint64_t index_last_ns;    /* last_ns of the previous chunk (open pass) */
	uint64_t prev_ts;          /* last record delivered */
	unsigned char *buf;        /* the current chunk block, header included */
	size_t bufcap;
	const struct gs_record *cur, *end;
	uint64_t rec_off;          /* file offset of the current chunk's records[0] */
	uint64_t found_records;    /* in its chunks (open pass) */
	uint64_t end_records, end_lost;
	uint64_t key;              /* merge key of *cur: ts << 2 | rank */
};

struct native_src {
	struct gs_source base;
	int fd;
	uint64_t size;
	struct ncursor *th;
	size_t nth, cap;
	struct gs_tidmap tids;     /* tid -> index in th */
	uint32_t *heap;
	size_t nheap;
	uint32_t second;           /* cursor with the 2nd smallest key (nheap > 1):
				      the top keeps emitting while below it */
	/* The cursor whose record comes next, and the key of the runner-up:
	 * while the top's next record is not above it, next() touches
	 * neither the heap nor the other cursors. */
	struct ncursor *top;
	size_t top_pos;            /* its index in heap[] */
	uint64_t limit;
	uint64_t events, lost;
	uint64_t total_records;    /* records found in the chunks */
	int complete, interrupted;
	int newer_minor;           /* unknown event types are skipped, not errors */
	unsigned version;          /* major version of the file */
	size_t bh_size;            /* block header bytes: 8 (v1) or 16 (v2) */
	unsigned char *scratch;    /* one whole block, for its checksum */
	char cur_block[48];        /* "block 3 (CHUNK)" while indexing it */
	size_t scratch_cap;
	int failed;                /* next() reports the error after the last
				      good event was delivered */
	uint64_t end_ns;
	struct gs_probe_site *probes; /* PROBES block: info.probes */
};

struct native_src;
static void note_block(struct native_src *s);
static void seterr(char *err, size_t errlen, const char *path, uint64_t off,
		   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void seterr(char *err, size_t errlen, const char *path, uint64_t off,
		   const char *fmt, ...)
{
	char what[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s: offset %" PRIu64 ": %s", path, off, what);
}

/* Errors of the index pass also name the block: its number and type. */
#define SRCERR(s, off, ...)                                                   \
	do {                                                                  \
		seterr((s)->base.error, sizeof((s)->base.error),              \
		       (s)->base.info.path, (off), __VA_ARGS__);              \
		if ((s)->cur_block[0])                                        \
			note_block((s));                                      \
	} while (0)

/* "FILE: offset N: what" -> "FILE: offset N: block K (TYPE): what" */
static void note_block(struct native_src *s)
{
	char *e = s->base.error;
	const char *p = strstr(e, ": offset ");
	p = p ? strchr(p + 9, ':') : NULL;
	if (!p)
		return;
	size_t at = (size_t)(p - e) + 1, len = strlen(e), add = strlen(s->cur_block) + 2;
	if (len + add + 1 > sizeof(s->base.error))
		return;
	memmove(e + at + add, e + at, len - at + 1);
	e[at] = ' ';
	memcpy(e + at + 1, s->cur_block, add - 2);
	e[at + add - 1] = ':';
}

/* Which of two events at the same nanosecond goes first: a release before
 * the acquire it enables, so equal clocks never fake two holders. */
static const uint8_t type_rank[256] = {
	[GS_EV_release] = 0, [GS_EV_blocking_begin] = 0, [GS_EV_thread_exit] = 0,
	[GS_EV_sched_switch_out] = 0, [GS_EV_lost] = 0, [GS_EV_stack] = 0,
	[GS_EV_thread_start] = 1, [GS_EV_acquire_request] = 1,
	[GS_EV_drop_request] = 1, [GS_EV_switch_wait_begin] = 1,
	[GS_EV_switch_wait_end] = 1, [GS_EV_blocking_end] = 1,
	[GS_EV_prio_boost] = 1, [GS_EV_sched_wakeup] = 1,
	[GS_EV_sched_switch_in] = 2, [GS_EV_acquired] = 2,
};

static int pread_full(int fd, void *buf, size_t n, uint64_t off)
{
	unsigned char *p = buf;
	while (n) {
		ssize_t r = pread(fd, p, n, (off_t)off);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0) {
			errno = 0; /* short file */
			return -1;
		}
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

static void set_thread_info(struct ncursor *c, const struct gs_thread_block *tb)
{
	c->info.tid = tb->tid;
	c->info.role = tb->role;
	c->info.os_prio = tb->os_prio;
	c->info.gil_prio = tb->gil_prio;
	memcpy(c->info.name, tb->name, sizeof(c->info.name));
	c->info.name[sizeof(c->info.name) - 1] = 0;
	if (!c->info.name[0])
		snprintf(c->info.name, sizeof(c->info.name), "tid-%u", tb->tid);
}

static struct ncursor *find_thread(struct native_src *s, uint32_t tid)
{
	uint32_t idx = gs_tidmap_get(&s->tids, tid);
	return idx == GS_TIDMAP_NONE ? NULL : &s->th[idx];
}

static struct ncursor *add_thread(struct native_src *s,
				  const struct gs_thread_block *tb)
{
	if (s->nth == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct ncursor *t = realloc(s->th, cap * sizeof(*t));
		if (!t)
			return NULL;
		s->th = t;
		s->cap = cap;
	}
	struct ncursor *c = &s->th[s->nth++];
	memset(c, 0, sizeof(*c));
	set_thread_info(c, tb);
	if (gs_tidmap_put(&s->tids, tb->tid, (uint32_t)(s->nth - 1)))
		return NULL;
	return c;
}

static const char *block_name(uint32_t type)
{
	switch (type) {
	case GS_BLOCK_THREAD: return "THREAD";
	case GS_BLOCK_CHUNK: return "CHUNK";
	case GS_BLOCK_END: return "END";
	case GS_BLOCK_PROBES: return "PROBES";
	case GS_BLOCK_STACK: return "STACK";
	}
	return (type & GS_BLOCK_TAG_MASK) == GS_BLOCK_TAG &&
	       (type & GS_BLOCK_F_OPTIONAL) ? "optional" : "?";
}

/* The small enum argument of each event: values past these are corruption
 * (the catalog, probes/gil_events.h, says what a8 means per event). */
static const uint8_t a8_limit[256] = {
	[GS_EV_thread_start] = GS_ROLE_MAX,
	[GS_EV_thread_exit] = 1,
	[GS_EV_acquire_request] = GS_WHY_MAX,
	[GS_EV_acquired] = GS_WHY_MAX,
	[GS_EV_release] = GS_RELEASE_MAX,
	[GS_EV_drop_request] = 1,
	[GS_EV_switch_wait_begin] = 1,
	[GS_EV_switch_wait_end] = 1,
	[GS_EV_blocking_begin] = GS_BLOCK_MAX,
	[GS_EV_blocking_end] = GS_BLOCK_MAX,
	[GS_EV_prio_boost] = 1,
	[GS_EV_sched_switch_out] = GS_SCHED_STATE_MAX,
	[GS_EV_sched_switch_in] = 1,
	[GS_EV_sched_wakeup] = 1,
	[GS_EV_lost] = 1,
	[GS_EV_stack] = GS_STACK_AT_MAX,
};
_Static_assert(GS_EV_MAX == 17, "a new event needs its a8 limit above");

/* ---- merge ---- */

/* Timestamps are CLOCK_MONOTONIC ns (< 2^62, i.e. 146 years of uptime), so
 * the time and the same-nanosecond rank fit one integer compare. */
#define TS_LIMIT ((uint64_t)1 << 62)

static inline uint64_t rec_key(const struct gs_record *r)
{
	return r->ts_ns << 2 | type_rank[r->type];
}

static inline int cur_less(const struct ncursor *a, const struct ncursor *b)
{
	return a->key < b->key || (a->key == b->key && a < b);
}

static void sift_down(struct native_src *s, size_t i)
{
	uint32_t *h = s->heap;
	size_t n = s->nheap;
	uint32_t x = h[i];
	for (;;) {
		size_t l = 2 * i + 1;
		if (l >= n)
			break;
		size_t m = l;
		if (l + 1 < n && cur_less(&s->th[h[l + 1]], &s->th[h[l]]))
			m = l + 1;
		if (!cur_less(&s->th[h[m]], &s->th[x]))
			break;
		h[i] = h[m];
		i = m;
	}
	h[i] = x;
}

static void find_second(struct native_src *s)
{
	if (s->nheap < 2)
		return;
	uint32_t a = s->heap[1];
	if (s->nheap > 2 && cur_less(&s->th[s->heap[2]], &s->th[a]))
		a = s->heap[2];
	s->second = a;
}

/* A CHUNK's checksum is checked here, where its records are read anyway,
 * rather than in the open pass: the bulk of the file is read once. */
static int chunk_crc_bad(struct native_src *s, uint64_t off,
			 const struct gs_block_header *bh,
			 const struct gs_chunk_block *cb, const void *recs,
			 size_t nbytes)
{
	struct gs_block_header h = *bh;
	h.crc32c = 0;
	uint32_t crc = gs_crc32c(0, &h, sizeof(h));
	crc = gs_crc32c(crc, cb, sizeof(*cb));
	crc = gs_crc32c(crc, recs, nbytes);
	if (crc == bh->crc32c || GS_IGNORE_CHECKSUMS)
		return 0;
	snprintf(s->cur_block, sizeof(s->cur_block), "block %u (CHUNK)", bh->seq);
	SRCERR(s, off, "checksum 0x%08x, computed 0x%08x over its %u bytes "
	       "(expected equal: the file is damaged here)", bh->crc32c, crc,
	       bh->size);
	s->cur_block[0] = 0;
	return 1;
}

/* Reads and checks the next chunk of c. 1: loaded, 0: none left, -1: error */
static int load_chunk(struct native_src *s, struct ncursor *c)
{
	while (c->next_chunk < c->nchunks) {
		uint64_t off = c->chunks[c->next_chunk++];
		struct {
			struct gs_block_header bh; /* v1: type and size only */
			struct gs_chunk_block cb;
		} hd;
		memset(&hd, 0, sizeof(hd));
		if (pread_full(s->fd, &hd.bh, s->bh_size, off) ||
		    pread_full(s->fd, &hd.cb, sizeof(hd.cb), off + s->bh_size)) {
			SRCERR(s, off, "cannot read chunk: %s",
			       errno ? strerror(errno) : "file shrank while reading");
			return -1;
		}
		size_t need = (size_t)hd.cb.nrecords * sizeof(struct gs_record);
		if (hd.bh.type != GS_BLOCK_CHUNK ||
		    hd.bh.size != sizeof(hd.cb) + need || hd.cb.tid != c->info.tid) {
			SRCERR(s, off, "chunk changed since the trace was opened "
			       "(expected CHUNK of tid %u)", c->info.tid);
			return -1;
		}
		if (!hd.cb.nrecords)
			continue;
		if (need > c->bufcap) {
			unsigned char *b = realloc(c->buf, need);
			if (!b) {
				SRCERR(s, off, "out of memory for a chunk of %u records",
				       hd.cb.nrecords);
				return -1;
			}
			c->buf = b;
			c->bufcap = need;
		}
		uint64_t roff = off + s->bh_size + sizeof(hd.cb);
		if (pread_full(s->fd, c->buf, need, roff)) {
			SRCERR(s, roff, "cannot read chunk records: %s",
			       errno ? strerror(errno) : "file shrank while reading");
			return -1;
		}
		if (s->version >= 2 && chunk_crc_bad(s, off, &hd.bh, &hd.cb, c->buf, need))
			return -1;
		const struct gs_record *r = (const struct gs_record *)c->buf;
		uint64_t prev = c->prev_ts;
		uint32_t n = hd.cb.nrecords, kept = 0;
		struct gs_record *w = (struct gs_record *)c->buf;
		for (uint32_t i = 0; i < n; i++) {
			uint64_t ro = roff + (uint64_t)i * sizeof(*r);
			if (r[i].tid != c->info.tid) {
				SRCERR(s, ro, "corrupt record: tid %u in a chunk of "
				       "tid %u (expected %u)", r[i].tid, c->info.tid,
				       c->info.tid);
				return -1;
			}
			if (r[i].ts_ns < prev) {
				SRCERR(s, ro, "records not in time order: %" PRIu64
				       " ns after %" PRIu64 " ns in tid %u (expected "
				       "a sorted chunk)", r[i].ts_ns, prev, c->info.tid);
				return -1;
			}
			prev = r[i].ts_ns;
			if (r[i].ts_ns >= TS_LIMIT) {
				SRCERR(s, ro, "corrupt record: timestamp %" PRIu64
				       " ns (expected < 2^62)", r[i].ts_ns);
				return -1;
			}
			if (r[i].type == 0 || r[i].type >= GS_EV_MAX) {
				if (s->newer_minor)
					continue;
				SRCERR(s, ro, "corrupt record: event type %u (expected "
				       "1..%u)", r[i].type, GS_EV_MAX - 1);
				return -1;
			}
			if (r[i].a8 >= a8_limit[r[i].type]) {
				SRCERR(s, ro, "corrupt record: %s with %s %u (expected "
				       "0..%u)", gs_event_name(r[i].type),
				       gs_event_arg_name(r[i].type, 0), r[i].a8,
				       a8_limit[r[i].type] - 1);
				return -1;
			}
			if (s->version >= 2 && s->complete &&
			    r[i].ts_ns > s->end_ns) {
				SRCERR(s, ro, "corrupt record: timestamp %" PRIu64
				       " ns after the trace's end (END block: %"
				       PRIu64 " ns)", r[i].ts_ns, s->end_ns);
				return -1;
			}
			if (w + kept != r + i)
				w[kept] = r[i];
			kept++;
		}
		if (r[0].ts_ns != hd.cb.first_ns || prev != hd.cb.last_ns) {
			SRCERR(s, off, "corrupt chunk: records span %" PRIu64 "..%"
			       PRIu64 " ns (expected first_ns %" PRIu64 ", last_ns %"
			       PRIu64 ")", r[0].ts_ns, prev, hd.cb.first_ns,
			       hd.cb.last_ns);
			return -1;
		}
		c->prev_ts = prev;
		if (!kept)
			continue;
		c->cur = (const struct gs_record *)c->buf;
		c->end = c->cur + kept;
		c->rec_off = roff;
		c->key = rec_key(c->cur);
		return 1;
	}
	return 0;
}

/* With few threads (the usual case) a linear scan for the two smallest keys
 * is cheaper than keeping a heap; heap[] is then just the active list. */
#define LINEAR_MAX 16

/* Picks the cursor to read next and the key it may run up to. */
static void select_top(struct native_src *s)
{
	if (!s->nheap) {
		s->top = NULL;
		return;
	}
	if (s->nheap <= LINEAR_MAX) {
		size_t top = 0;
		uint64_t mk = s->th[s->heap[0]].key, limit = UINT64_MAX;
		for (size_t i = 1; i < s->nheap; i++) {
			uint64_t k = s->th[s->heap[i]].key;
			if (k < mk) {
				limit = mk;
				mk = k;
				top = i;
			} else if (k < limit) {
				limit = k;
			}
		}
		s->top_pos = top;
		s->limit = limit;
	} else {
		sift_down(s, 0);
		find_second(s);
		s->top_pos = 0;
		s->limit = s->th[s->second].key;
	}
	s->top = &s->th[s->heap[s->top_pos]];
}

static int native_next(struct gs_source *src, struct gs_event *ev)
{
	struct native_src *s = (struct native_src *)src;
	struct ncursor *c = s->top;
	if (__builtin_expect(!c, 0))
		return s->failed ? -1 : 0;
	const struct gs_record *r = c->cur;
	ev->ts_ns = r->ts_ns;
	ev->tid = r->tid;
	ev->cpu = r->cpu;
	ev->type = r->type;
	ev->a8 = r->a8;
	ev->a0 = r->a0;
	ev->a1 = r->a1;
	/* exact unless unknown types were skipped (newer minor version) */
	ev->offset = c->rec_off + (uint64_t)((const unsigned char *)r - c->buf);
	ev->str = r->type == GS_EV_thread_start ? c->info.name : NULL;
	s->events++;
	if (__builtin_expect(++r != c->end, 1)) {
		c->cur = r;
		c->key = rec_key(r);
		if (c->key <= s->limit)
			return 1;
	} else {
		int rc = load_chunk(s, c);
		if (rc < 0) {
			/* this event is good; the error comes with the next */
			s->failed = 1;
			s->top = NULL;
			return 1;
		}
		if (rc == 0) {
			/* in heap mode top_pos is 0 and select_top sifts the
			 * moved cursor down */
			s->heap[s->top_pos] = s->heap[--s->nheap];
		} else if (c->key <= s->limit) {
			return 1;
		}
	}
	select_top(s);
	return 1;
}

static const struct gs_thread_info *native_thread(struct gs_source *src,
						  uint32_t tid)
{
	struct ncursor *c = find_thread((struct native_src *)src, tid);
	return c ? &c->info : NULL;
}

static void native_totals(struct gs_source *src, struct gs_source_totals *out)
{
	struct native_src *s = (struct native_src *)src;
	out->events = s->events;
	out->lost = s->lost;
	out->complete = s->complete;
	out->interrupted = s->interrupted;
}

static void native_close(struct gs_source *src)
{
	struct native_src *s = (struct native_src *)src;
	if (s->fd >= 0)
		close(s->fd);
	for (size_t i = 0; i < s->nth; i++) {
		free(s->th[i].chunks);
		free(s->th[i].buf);
	}
	free(s->th);
	free(s->scratch);
	gs_tidmap_free(&s->tids);
	free(s->heap);
	free(s->probes);
	gs_stacktab_free(s->base.stacks);
	free((char *)s->base.info.path);
	free(s);
}

static const struct gs_source_ops native_ops = {
	.next = native_next,
	.thread = native_thread,
	.totals = native_totals,
	.close = native_close,
};

/* ---- open: header and block index ---- */

static int read_header(struct native_src *s, uint64_t *data_off)
{
	struct gs_file_header h;
	memset(&h, 0, sizeof(h));
	if (s->size == 0) {
		SRCERR(s, 0, "empty file (expected a gilscope trace header of %zu "
		       "bytes starting with \"" GS_TRACE_MAGIC "\")", sizeof(h));
		return -1;
	}
	size_t got = s->size < sizeof(h) ? (size_t)s->size : sizeof(h);
	if (pread_full(s->fd, &h, got, 0)) {
		SRCERR(s, 0, "cannot read header: %s", strerror(errno));
		return -1;
	}
	if (got < sizeof(h.magic) || memcmp(h.magic, GS_TRACE_MAGIC, 8) != 0) {
		char shown[9];
		for (size_t i = 0; i < 8; i++)
			shown[i] = i < got && h.magic[i] >= 0x20 && h.magic[i] < 0x7f
					   ? h.magic[i] : '.';
		shown[got < 8 ? got : 8] = 0;
		SRCERR(s, 0, "bad magic \"%s\" (expected \"" GS_TRACE_MAGIC
		       "\"): not a gilscope native trace", shown);
		return -1;
	}
	if (got < 16) {
		SRCERR(s, got, "trace is truncated inside the header (%" PRIu64
		       " bytes, expected at least %u)", s->size,
		       GS_FILE_HEADER_V1_SIZE);
		return -1;
	}
	if (h.version_major < GS_TRACE_VERSION_MAJOR_OLDEST ||
	    h.version_major > GS_TRACE_VERSION_MAJOR) {
		SRCERR(s, 8, "unsupported trace format version %u.%u (expected "
		       "major version %u to %u; a newer gilscope wrote this file?)",
		       h.version_major, h.version_minor,
		       GS_TRACE_VERSION_MAJOR_OLDEST, GS_TRACE_VERSION_MAJOR);
		return -1;
	}
	s->version = h.version_major;
	uint32_t min_size = s->version == 1 ? GS_FILE_HEADER_V1_SIZE : sizeof(h);
	s->bh_size = s->version == 1 ? sizeof(struct gs_block_header_v1)
				     : sizeof(struct gs_block_header);
	if (h.header_size < min_size || h.header_size % 8 != 0 ||
	    h.header_size > 4096) {
		SRCERR(s, 12, "corrupt header: header_size %u (expected a multiple "
		       "of 8, %u to 4096)", h.header_size, min_size);
		return -1;
	}
	if (s->size < h.header_size) {
		SRCERR(s, s->size, "trace is truncated inside the header (%" PRIu64
		       " bytes, expected %u)", s->size, h.header_size);
		return -1;
	}
	if (s->version >= 2) {
		unsigned char whole[4096];
		if (pread_full(s->fd, whole, h.header_size, 0)) {
			SRCERR(s, 0, "cannot read header: %s", strerror(errno));
			return -1;
		}
		size_t at = offsetof(struct gs_file_header, header_crc32c);
		memset(whole + at, 0, 4);
		uint32_t crc = gs_crc32c(0, whole, h.header_size);
		if (crc != h.header_crc32c && !GS_IGNORE_CHECKSUMS) {
			SRCERR(s, 0, "corrupt header: checksum 0x%08x, computed "
			       "0x%08x over its %u bytes (expected equal: the file "
			       "is damaged)", h.header_crc32c, crc, h.header_size);
			return -1;
		}
	}
	if (h.clock != GS_CLOCK_MONOTONIC) {
		SRCERR(s, 16, "corrupt header: clock %u (expected %u, "
		       "CLOCK_MONOTONIC)", h.clock, GS_CLOCK_MONOTONIC);
		return -1;
	}
	if (h.start_ns >= TS_LIMIT) {
		SRCERR(s, 32, "corrupt header: start_ns %" PRIu64 " (expected "
		       "< 2^62)", h.start_ns);
		return -1;
	}
	s->newer_minor = h.version_minor > GS_TRACE_VERSION_MINOR &&
			 s->version == GS_TRACE_VERSION_MAJOR;
	struct gs_trace_info *in = &s->base.info;
	in->source = h.source;
	in->runtime = h.runtime;
	in->pid = h.pid;
	in->policy = h.policy;
	in->interval_us = h.interval_us;
	in->check_ticks = h.check_ticks;
	in->flags = h.flags;
	in->start_ns = h.start_ns;
	memcpy(in->policy_name, h.policy_name, sizeof(h.policy_name));
	in->policy_name[sizeof(h.policy_name)] = 0;
	memcpy(in->command, h.command, sizeof(in->command));
	in->command[sizeof(in->command) - 1] = 0;
	snprintf(in->format, sizeof(in->format), "native");
	*data_off = h.header_size;
	return 0;
}

/* Counts above this are not from a recording (2^48 events at the fastest
 * rate any back end reaches, ~20 ns each, take two months). */
#define COUNT_LIMIT ((uint64_t)1 << 48)

/* Copies a block's fixed head (HEAD_SIZE bytes) out of its payload: 0, or
 * -1 with the error when the block is shorter. */
static int block_head(struct native_src *s, uint64_t off, uint32_t size,
		      const unsigned char *payload, void *head, size_t head_size,
		      const char *kind)
{
	if (size < head_size) {
		SRCERR(s, off, "corrupt %s block: size %u (expected at least %zu)",
		       kind, size, head_size);
		return -1;
	}
	memcpy(head, payload, head_size);
	return 0;
}

/* A head followed by exactly n items: 0, or -1 with the error. */
static int block_items(struct native_src *s, uint64_t off, uint32_t size,
		       size_t head_size, uint32_t n, size_t item_size,
		       const char *kind, const char *items)
{
	uint64_t want = head_size + (uint64_t)n * item_size;
	if (size == want)
		return 0;
	SRCERR(s, off, "corrupt %s block: %u %s in %u bytes (expected %" PRIu64
	       " = %zu + %zu * %u)", kind, n, items, size, want, head_size,
	       item_size, n);
	return -1;
}

static int index_end(struct native_src *s, uint64_t off, uint32_t size,
		     const unsigned char *payload)
{
	struct gs_end_block eb;
	if (block_head(s, off, size, payload, &eb, sizeof(eb), "END"))
		return -1;
	uint64_t want = sizeof(eb) + (uint64_t)eb.nthreads * sizeof(struct gs_end_thread);
	if (size != want) {
		SRCERR(s, off, "corrupt END block: size %u for "
		       "%u threads (expected %" PRIu64 ")", size, eb.nthreads,
		       want);
		return -1;
	}
	uint64_t pl = off + s->bh_size;
	uint64_t sum_lost = 0, sum_records = 0, last_ns = 0;
	for (size_t i = 0; i < s->nth; i++)
		if (s->th[i].index_last_ns > last_ns)
			last_ns = s->th[i].index_last_ns;
	for (uint32_t i = 0; i < eb.nthreads; i++) {
		struct gs_end_thread et;
		uint64_t o = pl + sizeof(eb) + (uint64_t)i * sizeof(et);
		memcpy(&et, payload + sizeof(eb) + (size_t)i * sizeof(et), sizeof(et));
		struct ncursor *c = find_thread(s, et.tid);
		if (!c) {
			SRCERR(s, o, "corrupt END block: counts "
			       "for tid %u, which has no THREAD block (expected "
			       "only threads of the trace)", et.tid);
			return -1;
		}
		if (et.lost >= COUNT_LIMIT || et.records >= COUNT_LIMIT) {
			SRCERR(s, o, "corrupt END block: tid %u "
			       "has %" PRIu64 " records and %" PRIu64 " lost "
			       "(expected each < 2^48)", et.tid, et.records,
			       et.lost);
			return -1;
		}
		if (et.records != c->found_records) {
			SRCERR(s, o, "END block counts %" PRIu64
			       " records of tid %u but its chunks hold %" PRIu64
			       " (expected equal: blocks lost or corrupt)",
			       et.records, et.tid, c->found_records);
			return -1;
		}
		c->end_records = et.records;
		c->end_lost = et.lost;
		sum_lost += et.lost;
		sum_records += et.records;
	}
	if (eb.total_lost != sum_lost) {
		SRCERR(s, pl + 16, "corrupt END block: total_lost "
		       "%" PRIu64 " but the threads' lost counts add up to %"
		       PRIu64 " (expected equal)", eb.total_lost, sum_lost);
		return -1;
	}
	if (eb.total_records != s->total_records || sum_records != s->total_records) {
		SRCERR(s, off, "END block counts %" PRIu64
		       " records but the chunks hold %" PRIu64 " (expected equal: "
		       "blocks lost or corrupt)", eb.total_records,
		       s->total_records);
		return -1;
	}
	/* version 1's gilscope record closed with the time it stopped
	 * polling, before the ring's last events: only v2 promises this */
	if (eb.end_ns >= TS_LIMIT ||
	    (s->version >= 2 && (eb.end_ns < last_ns ||
				 eb.end_ns < s->base.info.start_ns))) {
		SRCERR(s, pl, "corrupt END block: end_ns %"
		       PRIu64 " (expected at or after the last event, %" PRIu64
		       " ns, and the start, %" PRIu64 " ns)", eb.end_ns,
		       last_ns, s->base.info.start_ns);
		return -1;
	}
	if (eb.flags & ~(uint32_t)GS_END_F_INTERRUPTED) {
		SRCERR(s, pl + 28, "corrupt END block: flags "
		       "0x%x (expected only 0x%x, interrupted)", eb.flags,
		       GS_END_F_INTERRUPTED);
		return -1;
	}
	s->lost = eb.total_lost;
	s->end_ns = eb.end_ns;
	s->interrupted = (eb.flags & GS_END_F_INTERRUPTED) != 0;
	s->complete = 1;
	return 0;
}

/* Reads size bytes of the block at off (the whole payload, or with
 * head_only its first size bytes) into s->scratch and checks its number
 * and, for a whole block, its CRC32C (version 2 on); the payload is then at
 * s->scratch + s->bh_size. */
static int read_block(struct native_src *s, uint64_t off, uint32_t type,
		      uint32_t size, uint64_t seq, int head_only)
{
	size_t whole = s->bh_size + (size_t)size;
	if (whole > s->scratch_cap) {
		unsigned char *b = realloc(s->scratch, whole);
		if (!b) {
			SRCERR(s, off, "out of memory for a %s "
			       "block of %u bytes", block_name(type), size);
			return -1;
		}
		s->scratch = b;
		s->scratch_cap = whole;
	}
	if (pread_full(s->fd, s->scratch, whole, off)) {
		SRCERR(s, off, "cannot read %s block: %s",
		       block_name(type),
		       errno ? strerror(errno) : "file shrank while reading");
		return -1;
	}
	if (s->version < 2)
		return 0;
	struct gs_block_header bh;
	memcpy(&bh, s->scratch, sizeof(bh));
	uint32_t stored = bh.crc32c;
	bh.crc32c = 0;
	uint32_t crc = gs_crc32c(0, &bh, sizeof(bh));
	crc = gs_crc32c(crc, s->scratch + sizeof(bh), size);
	if (!head_only && crc != stored && !GS_IGNORE_CHECKSUMS) {
		SRCERR(s, off, "checksum 0x%08x, "
		       "computed 0x%08x (expected equal: the file is damaged "
		       "here)", stored, crc);
		return -1;
	}
	if (bh.seq != (uint32_t)seq && !GS_IGNORE_CHECKSUMS) {
		SRCERR(s, off, "sequence number %u (expected "
		       "%" PRIu64 ": blocks are missing or repeated)", bh.seq, seq);
		return -1;
	}
	return 0;
}

static int index_thread(struct native_src *s, uint64_t off, uint32_t size,
			const unsigned char *payload)
{
	struct gs_thread_block tb;
	if (block_head(s, off, size, payload, &tb, sizeof(tb), "THREAD"))
		return -1;
	if (tb.role >= GS_ROLE_MAX) {
		SRCERR(s, off + s->bh_size + 4, "corrupt THREAD "
		       "block: role %u for tid %u (expected 0..%u)", tb.role,
		       tb.tid, GS_ROLE_MAX - 1);
		return -1;
	}
	/* A repeated THREAD block updates the thread (a tracer that learnt
	 * its name late): the last one wins. */
	struct ncursor *known = find_thread(s, tb.tid);
	if (known)
		set_thread_info(known, &tb);
	else if (!add_thread(s, &tb)) {
		SRCERR(s, off, "out of memory for the thread table");
		return -1;
	}
	return 0;
}

static int index_probes(struct native_src *s, uint64_t off, uint32_t size,
			const unsigned char *payload)
{
	struct gs_probes_block pb;
	if (block_head(s, off, size, payload, &pb, sizeof(pb), "PROBES") ||
	    block_items(s, off, size, sizeof(pb), pb.nsites,
			sizeof(struct gs_probe_site), "PROBES", "sites"))
		return -1;
	if (s->probes) {
		SRCERR(s, off, "second PROBES block (expected at most one)");
		return -1;
	}
	s->probes = calloc(pb.nsites ? pb.nsites : 1, sizeof(*s->probes));
	if (!s->probes) {
		SRCERR(s, off, "out of memory for %u probe sites", pb.nsites);
		return -1;
	}
	memcpy(s->probes, payload + sizeof(pb), size - sizeof(pb));
	for (uint32_t i = 0; i < pb.nsites; i++) {
		struct gs_probe_site *p = &s->probes[i];
		p->what[sizeof(p->what) - 1] = 0;
		p->object[sizeof(p->object) - 1] = 0;
		if (!p->method || p->method >= GS_PLACE_MAX || !p->kind ||
		    p->kind > GS_PROBE_KIND_MAX) {
			SRCERR(s, off + s->bh_size + sizeof(pb) + i * sizeof(*p) + 16,
			       "corrupt PROBES block: site %u has method %u, kind %u "
			       "(expected 1..%u and 1..%u)", i, p->method, p->kind,
			       GS_PLACE_MAX - 1, GS_PROBE_KIND_MAX);
			return -1;
		}
	}
	s->base.info.probes = s->probes;
	s->base.info.nprobes = pb.nsites;
	return 0;
}

static int index_chunk(struct native_src *s, uint64_t off, uint32_t size,
		       const unsigned char *payload)
{
	struct gs_chunk_block cb;
	if (block_head(s, off, size, payload, &cb, sizeof(cb), "CHUNK") ||
	    block_items(s, off, size, sizeof(cb), cb.nrecords,
			sizeof(struct gs_record), "CHUNK", "records"))
		return -1;
	struct ncursor *c = find_thread(s, cb.tid);
	if (!c) {
		SRCERR(s, off, "CHUNK of tid %u before any THREAD block for it "
		       "(expected THREAD first)", cb.tid);
		return -1;
	}
	if (!cb.nrecords)
		return 0;
	if (cb.first_ns > cb.last_ns) {
		SRCERR(s, off, "unsorted chunk: first_ns %" PRIu64 " > last_ns %"
		       PRIu64 " (expected a time-sorted chunk)", cb.first_ns,
		       cb.last_ns);
		return -1;
	}
	if (cb.first_ns < c->index_last_ns) {
		SRCERR(s, off, "unsorted chunks: tid %u chunk starts at %" PRIu64
		       " ns, before its previous chunk ended (%" PRIu64 " ns; "
		       "expected time order per thread)", cb.tid, cb.first_ns,
		       c->index_last_ns);
		return -1;
	}
	c->index_last_ns = cb.last_ns;
	if (c->nchunks == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		uint64_t *p = realloc(c->chunks, cap * sizeof(*p));
		if (!p) {
			SRCERR(s, off, "out of memory for the chunk index");
			return -1;
		}
		c->chunks = p;
		c->cap = cap;
	}
	c->chunks[c->nchunks++] = off;
	c->found_records += cb.nrecords;
	s->total_records += cb.nrecords;
	return 0;
}

static int index_stack(struct native_src *s, uint64_t off, uint32_t size,
		       const unsigned char *payload)
{
	const char *why = NULL;
	if (!s->base.stacks && !(s->base.stacks = gs_stacktab_new())) {
		SRCERR(s, off, "out of memory for the stack table");
		return -1;
	}
	if (gs_stacktab_add(s->base.stacks, payload, size, &why)) {
		SRCERR(s, off, "corrupt STACK block: %s", why);
		return -1;
	}
	return 0;
}

static int known_block(uint32_t type)
{
	return type == GS_BLOCK_THREAD || type == GS_BLOCK_CHUNK ||
	       type == GS_BLOCK_END;
}

static int build_index(struct native_src *s, uint64_t off)
{
	int allow = s->base.allow_truncated;
	uint64_t seq = 0;
	for (;; seq++) {
		if (off == s->size)
			break;
		struct gs_block_header_v1 bh;
		snprintf(s->cur_block, sizeof(s->cur_block), "block %" PRIu64, seq);
		if (s->size - off < s->bh_size) {
			if (allow)
				break;
			SRCERR(s, off, "trace is truncated inside "
			       "a block header (expected a THREAD, CHUNK or END "
			       "block; use --allow-truncated to read what is there)");
			return -1;
		}
		if (pread_full(s->fd, &bh, sizeof(bh), off)) {
			SRCERR(s, off, "cannot read block header: %s", strerror(errno));
			return -1;
		}
		uint32_t type = bh.type, size = bh.size;
		snprintf(s->cur_block, sizeof(s->cur_block), "block %" PRIu64
			 " (%s)", seq, block_name(type));
		int optional = s->version >= 2 &&
			       (type & GS_BLOCK_TAG_MASK) == GS_BLOCK_TAG &&
			       (type & GS_BLOCK_F_OPTIONAL);
		if (!known_block(type) && !optional) {
			SRCERR(s, off, "corrupt block: type 0x%08x "
			       "(expected THREAD 0x%08x, CHUNK 0x%08x or END 0x%08x)", type, GS_BLOCK_THREAD, GS_BLOCK_CHUNK,
			       GS_BLOCK_END);
			return -1;
		}
		if (size % 8 != 0) {
			SRCERR(s, off, "corrupt %s block: size %u "
			       "(expected a multiple of 8)", block_name(type),
			       size);
			return -1;
		}
		if (s->size - off - s->bh_size < size) {
			if (allow)
				break;
			SRCERR(s, off, "trace is truncated: %s block of %u bytes "
			       "but only %" PRIu64 " left in the file (expected the "
			       "whole block; use --allow-truncated to read what is "
			       "there)", block_name(type), size,
			       s->size - off - s->bh_size);
			return -1;
		}
		/* A CHUNK with records: only its header now (its checksum is
		 * checked by load_chunk(), which reads the records anyway). */
		int lazy = type == GS_BLOCK_CHUNK &&
			   size > sizeof(struct gs_chunk_block);
		if (read_block(s, off, type, lazy ? sizeof(struct gs_chunk_block)
						  : size, seq, lazy))
			return -1;
		const unsigned char *payload = s->scratch + s->bh_size;
		uint64_t after = off + s->bh_size + size;
		if (type == GS_BLOCK_END) {
			if (index_end(s, off, size, payload))
				return -1;
			s->cur_block[0] = 0;
			if (after != s->size) {
				SRCERR(s, after, "%" PRIu64 " bytes after the END block "
				       "(expected end of file)", s->size - after);
				return -1;
			}
			return 0;
		}
		if (type == GS_BLOCK_THREAD) {
			if (index_thread(s, off, size, payload))
				return -1;
		} else if (type == GS_BLOCK_CHUNK) {
			if (index_chunk(s, off, size, payload))
				return -1;
		} else if (type == GS_BLOCK_PROBES) {
			if (index_probes(s, off, size, payload))
				return -1;
		} else if (type == GS_BLOCK_STACK) {
			if (index_stack(s, off, size, payload))
				return -1;
		}
		/* else: an optional block this reader does not know, skipped */
		off = after;
	}
	s->cur_block[0] = 0;
	if (!allow) {
		SRCERR(s, off, "trace is truncated: no END block (expected one "
		       "at the end; the writer did not finish. Use "
		       "--allow-truncated to read what is there)");
		return -1;
	}
	return 0;
}

struct gs_source *gs_source_native_open(const char *path, int allow_truncated,
					char *err, size_t errlen)
{
	struct native_src *s = calloc(1, sizeof(*s));
	char *p = strdup(path);
	if (!s || !p) {
		free(s);
		free(p);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	s->base.ops = &native_ops;
	s->base.info.path = p;
	s->base.allow_truncated = allow_truncated;
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		native_close(&s->base);
		return NULL;
	}
	struct stat st;
	if (fstat(s->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file (expected a "
			 "gilscope trace file)", path);
		native_close(&s->base);
		return NULL;
	}
	s->size = (uint64_t)st.st_size;
	posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	uint64_t data_off;
	if (read_header(s, &data_off) || build_index(s, data_off))
		goto fail;
	if (!s->total_records) {
		SRCERR(s, data_off, "the trace holds no events (expected at least "
		       "one CHUNK block with records)");
		goto fail;
	}
	s->base.info.end_ns = s->end_ns;
	s->heap = calloc(s->nth ? s->nth : 1, sizeof(*s->heap));
	if (!s->heap) {
		SRCERR(s, 0, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < s->nth; i++) {
		int rc = load_chunk(s, &s->th[i]);
		if (rc < 0)
			goto fail;
		if (rc == 1) {
			/* sift up */
			size_t k = s->nheap++;
			while (k && cur_less(&s->th[i], &s->th[s->heap[(k - 1) / 2]])) {
				s->heap[k] = s->heap[(k - 1) / 2];
				k = (k - 1) / 2;
			}
			s->heap[k] = (uint32_t)i;
		}
	}
	find_second(s);
	select_top(s);
	if (s->nheap)
		s->base.info.start_ns = s->base.info.start_ns
			? s->base.info.start_ns : s->th[s->heap[0]].cur->ts_ns;
	return &s->base;
fail:
	snprintf(err, errlen, "%s", s->base.error);
	native_close(&s->base);
	return NULL;
}
