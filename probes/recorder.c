/* SPDX-License-Identifier: MIT */
/*
 * Built-in recorder. Each thread owns a ring of chunks (single producer: the
 * thread; single consumer: the collector thread). The producer fills the
 * chunk it has open and publishes each record with a release store of the
 * chunk's count; a full chunk is handed over by bumping `produced`. When the
 * ring is full the producer drops and counts; the first record of the next
 * chunk it gets is then a `lost` marker, so readers know where the gap is.
 *
 * Per-thread buffers are never freed while the process runs: a thread may
 * be inside gs_recorder_emit() while the recorder stops. They are reused by
 * the next recording instead.
 */
#define _GNU_SOURCE
#include "clock.h"
#include "recorder.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "code_locations.h"
#include "gil_events.h"
#include "trace_stacks.h"
#include "trace_writer.h"

int gs_recorder_enabled;

/* How often the collector puts everything recorded so far in the file
 * (docs/trace-format.md, "Streaming"): a recorder killed at any moment
 * loses at most this much. */
#define CHECKPOINT_NS 500000000ull

struct rec_chunk {
	_Atomic uint32_t count;      /* records published in this chunk */
	struct gs_record *recs;
};

struct rec_tbuf {
	struct rec_tbuf *next;       /* all buffers ever made (append only) */
	struct rec_tbuf *next_free;
	unsigned nchunks, chunk_records;
	struct rec_chunk *chunks;
	struct gs_record *slab;

	/* Set at registration; read by the collector after `listed`. */
	uint32_t tid;
	uint64_t registered_ns;
	_Atomic int listed;          /* belongs to the current recording */

	/* Producer side. */
	struct rec_chunk *cur;
	uint32_t n_local;
	uint64_t produced_local;
	uint64_t pending_lost;
	_Atomic uint64_t produced;
	_Atomic uint64_t lost;

	/* Collector side. */
	_Atomic uint64_t consumed;
	uint32_t partial;            /* records of chunk `consumed` already
					written by a checkpoint */
	int thread_written;

	/* Thread metadata from the thread_start event. */
	_Atomic int have_info;
	struct gs_thread_block info;
};

static struct {
	pthread_mutex_t lock;        /* registration, start/stop */
	_Atomic(struct rec_tbuf *) all;
	struct rec_tbuf *free_list;
	_Atomic unsigned generation; /* bumped at every start */
	int running;
	unsigned nchunks, chunk_records, flush_ms;
	struct gs_writer *writer;
	pthread_t collector;
	int wakefd;
	_Atomic int stopping;
	uint32_t end_flags;
	int rc;
	char error[320];
	uint64_t written, dropped;
	int flush_on_signal;
	/* Set by the signal handler in any thread, read by the collector:
	 * lock-free atomics are async-signal-safe. */
	_Atomic int signal_seen;
	sem_t flushed;
	struct sigaction old_actions[4];
	/* gs_recorder_sync(): requests and completed drain passes. */
	pthread_mutex_t sync_lock;
	pthread_cond_t sync_cond;
	uint64_t sync_req, sync_done;
	uint32_t locations_written; /* code locations in the file */
} R = { .lock = PTHREAD_MUTEX_INITIALIZER, .wakefd = -1,
	.sync_lock = PTHREAD_MUTEX_INITIALIZER,
	.sync_cond = PTHREAD_COND_INITIALIZER };

static const int flush_signals[4] = { SIGINT, SIGTERM, SIGHUP, SIGABRT };

/* initial-exec: one %fs-relative load per event instead of a call of
 * __tls_get_addr (the general-dynamic model of a shared library), as for
 * gs_code_location_current; 16 bytes of the static TLS block, which glibc
 * keeps spare room for even when libgil is dlopen()ed (ctypes). */
static __thread struct rec_tbuf *tls_buf
	__attribute__((tls_model("initial-exec")));
static __thread unsigned tls_generation
	__attribute__((tls_model("initial-exec")));

static struct rec_tbuf *alloc_tbuf(void)
{
	struct rec_tbuf *b = NULL, **pp = &R.free_list;
	for (; *pp; pp = &(*pp)->next_free) {
		if ((*pp)->nchunks == R.nchunks &&
		    (*pp)->chunk_records == R.chunk_records) {
			b = *pp;
			*pp = b->next_free;
			break;
		}
	}
	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b)
			return NULL;
		b->nchunks = R.nchunks;
		b->chunk_records = R.chunk_records;
		b->chunks = calloc(R.nchunks, sizeof(*b->chunks));
		b->slab = malloc((size_t)R.nchunks * R.chunk_records *
				 sizeof(struct gs_record));
		if (!b->chunks || !b->slab) {
			free(b->chunks);
			free(b->slab);
			free(b);
			return NULL;
		}
		for (unsigned i = 0; i < R.nchunks; i++)
			b->chunks[i].recs = b->slab + (size_t)i * R.chunk_records;
		struct rec_tbuf *head = atomic_load(&R.all);
		do
			b->next = head;
		while (!atomic_compare_exchange_weak(&R.all, &head, b));
	}
	for (unsigned i = 0; i < b->nchunks; i++)
		atomic_store(&b->chunks[i].count, 0);
	b->cur = NULL;
	b->n_local = 0;
	b->produced_local = 0;
	b->pending_lost = 0;
	atomic_store(&b->produced, 0);
	atomic_store(&b->lost, 0);
	atomic_store(&b->consumed, 0);
	b->partial = 0;
	b->thread_written = 0;
	atomic_store(&b->have_info, 0);
	memset(&b->info, 0, sizeof(b->info));
	return b;
}

/* Slow path, once per thread and recording. */
static struct rec_tbuf *register_thread(void)
{
	pthread_mutex_lock(&R.lock);
	struct rec_tbuf *b = NULL;
	if (R.running && !atomic_load(&R.stopping)) {
		b = alloc_tbuf();
		if (b) {
			b->tid = (uint32_t)syscall(SYS_gettid);
			b->registered_ns = gs_now_ns();
			atomic_store_explicit(&b->listed, 1, memory_order_release);
		}
	}
	tls_buf = b;
	tls_generation = atomic_load(&R.generation);
	pthread_mutex_unlock(&R.lock);
	return b;
}

static int open_next_chunk(struct rec_tbuf *b)
{
	uint64_t consumed = atomic_load_explicit(&b->consumed, memory_order_acquire);
	if (b->produced_local - consumed >= b->nchunks)
		return 0;
	b->cur = &b->chunks[b->produced_local % b->nchunks];
	b->n_local = 0;
	if (b->pending_lost) {
		struct gs_record *r = &b->cur->recs[0];
		r->ts_ns = gs_now_ns();
		r->tid = b->tid;
		r->cpu = (uint16_t)sched_getcpu();
		r->type = GS_EV_lost;
		r->a8 = 0;
		r->a0 = b->pending_lost > UINT32_MAX ? UINT32_MAX
						     : (uint32_t)b->pending_lost;
		r->a1 = 0;
		b->n_local = 1;
		atomic_store_explicit(&b->cur->count, 1, memory_order_release);
		b->pending_lost = 0;
	}
	return 1;
}

void gs_recorder_emit(unsigned type, unsigned a8, uint32_t a0, uint32_t a1,
		      const char *name)
{
	struct rec_tbuf *b = tls_buf;
	if (__builtin_expect(tls_generation != atomic_load_explicit(&R.generation,
								    memory_order_relaxed),
			     0))
		b = register_thread();
	if (!b)
		return;
	if (__builtin_expect(name != NULL, 0) && type == GS_EV_thread_start &&
	    !atomic_load_explicit(&b->have_info, memory_order_relaxed)) {
		b->info.tid = b->tid;
		b->info.role = a8;
		b->info.os_prio = (int32_t)a0;
		b->info.gil_prio = (int32_t)a1;
		b->info.start_ns = gs_now_ns();
		snprintf(b->info.name, sizeof(b->info.name), "%s", name);
		atomic_store_explicit(&b->have_info, 1, memory_order_release);
	}
	if (!b->cur && !open_next_chunk(b)) {
		b->pending_lost++;
		atomic_store_explicit(&b->lost,
				      atomic_load_explicit(&b->lost, memory_order_relaxed) + 1,
				      memory_order_relaxed);
		return;
	}
	struct gs_record *r = &b->cur->recs[b->n_local];
	r->ts_ns = gs_now_ns();
	r->tid = b->tid;
	r->cpu = (uint16_t)sched_getcpu();
	r->type = (uint8_t)type;
	r->a8 = (uint8_t)a8;
	r->a0 = a0;
	r->a1 = a1;
	atomic_store_explicit(&b->cur->count, ++b->n_local, memory_order_release);
	if (b->n_local == b->chunk_records) {
		b->cur = NULL;
		atomic_store_explicit(&b->produced, ++b->produced_local,
				      memory_order_release);
	}
}

static void write_thread_block(struct rec_tbuf *b)
{
	if (b->thread_written)
		return;
	struct gs_thread_block tb;
	if (atomic_load_explicit(&b->have_info, memory_order_acquire)) {
		tb = b->info;
	} else {
		memset(&tb, 0, sizeof(tb));
		tb.tid = b->tid;
		tb.start_ns = b->registered_ns;
		snprintf(tb.name, sizeof(tb.name), "tid-%u", b->tid);
	}
	gs_writer_thread(R.writer, &tb);
	b->thread_written = 1;
}

enum drain_mode {
	DRAIN_FULL,        /* full chunks only */
	DRAIN_CHECKPOINT,  /* also the records published so far in the chunk
			      each thread is filling: the file then holds
			      everything up to now, should the process die */
	DRAIN_FINAL,       /* everything, and the lost counts */
};

/* Writes [b->partial, n) of chunk ch and remembers how far it got. */
static void write_from_partial(struct rec_tbuf *b, struct rec_chunk *ch, uint32_t n)
{
	if (n > b->partial)
		gs_writer_chunk(R.writer, b->tid, ch->recs + b->partial, n - b->partial);
	b->partial = n;
}

/* A STACK block per code location the program published since the last
 * drain (the table only grows; readers collect STACK blocks anywhere). */
static void write_code_locations(void)
{
	uint32_t n = gs_code_locations_count();
	for (; R.locations_written < n; R.locations_written++) {
		struct gs_frame f = { 0 };
		uint32_t id;
		int line;
		if (gs_code_location_get(R.locations_written, &id, &f.func, &f.file,
					 &line))
			break;
		f.line = f.first_line = line > 0 ? (uint32_t)line : 0;
		f.flags = GS_FRAME_F_LINE;
		unsigned char *buf;
		size_t len;
		if (gs_stack_encode(id, GS_STACK_CODE_LOCATION, 0, &f, 1, &buf, &len))
			break;
		gs_writer_block(R.writer, GS_BLOCK_STACK, buf, len);
		free(buf);
	}
}

/* The producer never waits for this: it publishes records with release
 * stores of a chunk's count, and a checkpoint only reads up to that count,
 * so the hot path stays free of locks and system calls. */
static void drain(enum drain_mode mode)
{
	write_code_locations();
	for (struct rec_tbuf *b = atomic_load(&R.all); b; b = b->next) {
		if (!atomic_load_explicit(&b->listed, memory_order_acquire))
			continue;
		uint64_t produced = atomic_load_explicit(&b->produced, memory_order_acquire);
		uint64_t c = atomic_load_explicit(&b->consumed, memory_order_relaxed);
		for (; c < produced; c++) {
			struct rec_chunk *ch = &b->chunks[c % b->nchunks];
			write_thread_block(b);
			write_from_partial(b, ch, b->chunk_records);
			b->partial = 0;
			atomic_store_explicit(&ch->count, 0, memory_order_relaxed);
			atomic_store_explicit(&b->consumed, c + 1, memory_order_release);
		}
		if (mode == DRAIN_FULL)
			continue;
		/* Slot `produced` is the chunk being filled (or, if the
		 * producer has not opened it yet, a consumed one whose count
		 * is back at 0): its first `count` records are published. */
		struct rec_chunk *open = &b->chunks[produced % b->nchunks];
		uint32_t n = atomic_load_explicit(&open->count, memory_order_acquire);
		if (n > b->partial) {
			write_thread_block(b);
			write_from_partial(b, open, n);
		}
		if (mode != DRAIN_FINAL)
			continue;
		write_thread_block(b);
		uint64_t lost = atomic_load_explicit(&b->lost, memory_order_relaxed);
		if (lost)
			gs_writer_lost(R.writer, b->tid, lost);
	}
}

static void *collector_main(void *arg)
{
	(void)arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	struct pollfd pfd = { .fd = R.wakefd, .events = POLLIN };
	uint64_t last_checkpoint = gs_now_ns();
	while (!atomic_load(&R.stopping) && !R.signal_seen) {
		if (poll(&pfd, 1, (int)R.flush_ms) > 0) {
			uint64_t v;
			if (read(R.wakefd, &v, sizeof(v)) < 0 && errno != EAGAIN)
				break;
		}
		pthread_mutex_lock(&R.sync_lock);
		uint64_t req = R.sync_req;
		pthread_mutex_unlock(&R.sync_lock);
		uint64_t now = gs_now_ns();
		/* a gs_recorder_sync() caller asks for a checkpoint too */
		if (now - last_checkpoint >= CHECKPOINT_NS || req != R.sync_done) {
			drain(DRAIN_CHECKPOINT);
			gs_writer_flush(R.writer);
			last_checkpoint = now;
		} else {
			drain(DRAIN_FULL);
		}
		pthread_mutex_lock(&R.sync_lock);
		R.sync_done = req;
		pthread_cond_broadcast(&R.sync_cond);
		pthread_mutex_unlock(&R.sync_lock);
	}
	/* Nobody may keep waiting in gs_recorder_sync() past the end. */
	pthread_mutex_lock(&R.sync_lock);
	R.sync_done = UINT64_MAX;
	pthread_cond_broadcast(&R.sync_cond);
	pthread_mutex_unlock(&R.sync_lock);
	uint32_t flags = R.end_flags;
	int sig = R.signal_seen;
	if (sig)
		flags |= GS_END_F_INTERRUPTED;
	/* Stop producers registering; those mid-emit finish in their own
	 * buffers and are simply past the end of the trace. */
	__atomic_store_n(&gs_recorder_enabled, 0, __ATOMIC_RELAXED);
	drain(DRAIN_FINAL);
	gs_writer_flush(R.writer); /* so the counts below are what reached the file */
	R.written = gs_writer_total_records(R.writer);
	R.dropped = gs_writer_total_lost(R.writer);
	R.rc = gs_writer_close(R.writer, gs_now_ns(), flags, R.error, sizeof(R.error));
	R.writer = NULL;
	if (sig) {
		sem_post(&R.flushed);
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		sigaction(sig, &dfl, NULL);
		kill(getpid(), sig);
	}
	return NULL;
}

static void on_flush_signal(int sig)
{
	int saved = errno;
	int none = 0;
	if (atomic_compare_exchange_strong(&R.signal_seen, &none, sig)) {
		uint64_t one = 1;
		ssize_t w = write(R.wakefd, &one, sizeof(one));
		(void)w;
	}
	/* Wait (async-signal-safely) for the collector to write the trace;
	 * it then re-raises the signal with its default action. */
	for (int i = 0; i < 500; i++) {
		if (sem_trywait(&R.flushed) == 0)
			break;
		struct timespec ms = { 0, 10 * 1000 * 1000 };
		nanosleep(&ms, NULL);
	}
	errno = saved;
}

int gs_recorder_start(const struct gs_recorder_opts *o, char *err, size_t errlen)
{
	pthread_mutex_lock(&R.lock);
	if (R.running) {
		pthread_mutex_unlock(&R.lock);
		snprintf(err, errlen, "a recorder is already running in this process");
		return -1;
	}
	struct gs_file_header h;
	memset(&h, 0, sizeof(h));
	h.source = GS_SOURCE_LIBGIL;
	h.runtime = GS_RUNTIME_LIBGIL;
	h.pid = (uint32_t)getpid();
	h.start_ns = gs_now_ns();
	h.start_realtime_ns = gs_realtime_ns();
	h.policy = o->policy;
	h.interval_us = o->interval_us;
	h.check_ticks = o->check_ticks;
	h.flags = o->header_flags;
	snprintf(h.policy_name, sizeof(h.policy_name), "%s",
		 o->policy_name ? o->policy_name : "");
	gs_header_set_command(&h, o->command);
	R.writer = gs_writer_open(o->path, &h);
	if (!R.writer) {
		snprintf(err, errlen, "cannot create trace %s: %s", o->path,
			 strerror(errno));
		pthread_mutex_unlock(&R.lock);
		return -1;
	}
	R.wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (R.wakefd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		gs_writer_close(R.writer, gs_now_ns(), 0, NULL, 0);
		pthread_mutex_unlock(&R.lock);
		return -1;
	}
	R.nchunks = o->chunks_per_thread ? o->chunks_per_thread : 16;
	R.chunk_records = o->chunk_records ? o->chunk_records : 2730;
	if (R.chunk_records < 2)
		R.chunk_records = 2; /* room for a lost marker plus one record */
	R.flush_ms = o->flush_interval_ms ? o->flush_interval_ms : 10;
	R.end_flags = 0;
	R.rc = 0;
	R.error[0] = 0;
	atomic_store(&R.signal_seen, 0);
	R.sync_req = R.sync_done = 0;
	R.locations_written = 0;
	atomic_store(&R.stopping, 0);
	sem_init(&R.flushed, 0, 0);
	/* Buffers of the previous recording go back to the free list. */
	for (struct rec_tbuf *b = atomic_load(&R.all); b; b = b->next) {
		if (atomic_exchange(&b->listed, 0)) {
			b->next_free = R.free_list;
			R.free_list = b;
		}
	}
	R.flush_on_signal = o->flush_on_signal;
	if (pthread_create(&R.collector, NULL, collector_main, NULL) != 0) {
		snprintf(err, errlen, "cannot start the recorder thread");
		close(R.wakefd);
		R.wakefd = -1;
		gs_writer_close(R.writer, gs_now_ns(), 0, NULL, 0);
		pthread_mutex_unlock(&R.lock);
		return -1;
	}
	if (R.flush_on_signal) {
		struct sigaction sa = { .sa_handler = on_flush_signal };
		sigemptyset(&sa.sa_mask);
		for (int i = 0; i < 4; i++)
			sigaction(flush_signals[i], &sa, &R.old_actions[i]);
	}
	R.running = 1;
	atomic_fetch_add(&R.generation, 1);
	__atomic_store_n(&gs_recorder_enabled, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&R.lock);
	return 0;
}

int gs_recorder_stop(uint32_t end_flags, struct gs_recorder_result *res)
{
	pthread_mutex_lock(&R.lock);
	if (!R.running) {
		pthread_mutex_unlock(&R.lock);
		if (res) {
			memset(res, 0, sizeof(*res));
			snprintf(res->error, sizeof(res->error), "no recorder running");
		}
		return -1;
	}
	if (R.flush_on_signal)
		for (int i = 0; i < 4; i++)
			sigaction(flush_signals[i], &R.old_actions[i], NULL);
	R.end_flags = end_flags;
	atomic_store(&R.stopping, 1);
	pthread_mutex_unlock(&R.lock);

	uint64_t one = 1;
	ssize_t w = write(R.wakefd, &one, sizeof(one));
	(void)w;
	pthread_join(R.collector, NULL);

	pthread_mutex_lock(&R.lock);
	close(R.wakefd);
	R.wakefd = -1;
	sem_destroy(&R.flushed);
	R.running = 0;
	int rc = R.rc;
	if (res) {
		memset(res, 0, sizeof(*res));
		res->records = R.written;
		res->lost = R.dropped;
		snprintf(res->error, sizeof(res->error), "%s", R.error);
	}
	pthread_mutex_unlock(&R.lock);
	return rc ? -1 : 0;
}

int gs_recorder_running(void)
{
	pthread_mutex_lock(&R.lock);
	int r = R.running;
	pthread_mutex_unlock(&R.lock);
	return r;
}

int gs_recorder_sync(void)
{
	pthread_mutex_lock(&R.lock);
	int running = R.running && !atomic_load(&R.stopping);
	pthread_mutex_lock(&R.sync_lock);
	uint64_t req = ++R.sync_req;
	pthread_mutex_unlock(&R.sync_lock);
	if (running) {
		/* Under R.lock: stop closes wakefd only after taking it. */
		uint64_t one = 1;
		ssize_t w = write(R.wakefd, &one, sizeof(one));
		(void)w;
	}
	pthread_mutex_unlock(&R.lock);
	if (!running)
		return -1;
	pthread_mutex_lock(&R.sync_lock);
	while (R.sync_done < req)
		pthread_cond_wait(&R.sync_cond, &R.sync_lock);
	pthread_mutex_unlock(&R.sync_lock);
	return 0;
}
