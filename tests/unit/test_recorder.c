/* SPDX-License-Identifier: MIT */
/*
 * The built-in recorder and the trace writer, checked by reading the files
 * back with nothing but probes/trace_format.h (no analysis code), so a bug
 * shared by writer and reader cannot hide.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gil.h"
#include "gil_events.h"
#include "recorder.h"
#include "trace_format.h"

#define MAXT 16

struct parsed {
	int ok;                  /* structure valid as far as it goes */
	char why[200];           /* first structural problem */
	struct gs_file_header hdr;
	int nthreads;
	uint32_t tids[MAXT];
	struct gs_thread_block tblocks[MAXT];
	uint64_t count[MAXT][GS_EV_MAX];
	uint64_t chunk_records[MAXT];
	uint64_t last_ts[MAXT];
	uint32_t last_seq[MAXT]; /* a0 of the last non-marker record */
	int seq_checked;
	uint64_t markers, marker_sum;
	int have_end;
	struct gs_end_block end;
	struct gs_end_thread end_threads[MAXT];
	uint64_t total_chunk_records;
};

static int tindex(struct parsed *p, uint32_t tid)
{
	for (int i = 0; i < p->nthreads; i++)
		if (p->tids[i] == tid)
			return i;
	return -1;
}

static void bad(struct parsed *p, const char *fmt, long v)
{
	if (p->ok) {
		p->ok = 0;
		snprintf(p->why, sizeof(p->why), fmt, v);
	}
}

/* Walks the blocks. seq_in_a0: records (but lost markers) carry a
 * per-thread increasing sequence number in a0. */
static void parse_trace(const char *path, struct parsed *p, int seq_in_a0)
{
	memset(p, 0, sizeof(*p));
	p->ok = 1;
	p->seq_checked = seq_in_a0;
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	if (fread(&p->hdr, sizeof(p->hdr), 1, f) != 1) {
		bad(p, "short header (%ld)", 0);
		fclose(f);
		return;
	}
	if (memcmp(p->hdr.magic, GS_TRACE_MAGIC, 8) != 0)
		bad(p, "bad magic %ld", 0);
	if (p->hdr.version_major != GS_TRACE_VERSION_MAJOR)
		bad(p, "bad version %ld", p->hdr.version_major);
	if (p->hdr.header_size != sizeof(p->hdr))
		bad(p, "header_size %ld", p->hdr.header_size);
	struct gs_block_header bh;
	while (p->ok && fread(&bh, sizeof(bh), 1, f) == 1) {
		if (p->have_end) {
			bad(p, "block after END at %ld", ftell(f));
			break;
		}
		if (bh.size % 8)
			bad(p, "unaligned block size %ld", bh.size);
		unsigned char *buf = malloc(bh.size ? bh.size : 1);
		assert_non_null(buf);
		if (bh.size && fread(buf, bh.size, 1, f) != 1) {
			free(buf);
			bad(p, "truncated block at %ld", ftell(f));
			break;
		}
		if (bh.type == GS_BLOCK_THREAD) {
			struct gs_thread_block tb;
			memcpy(&tb, buf, sizeof(tb));
			if (tindex(p, tb.tid) >= 0)
				bad(p, "duplicate THREAD %ld", tb.tid);
			else if (p->nthreads < MAXT) {
				p->tids[p->nthreads] = tb.tid;
				p->tblocks[p->nthreads++] = tb;
			}
		} else if (bh.type == GS_BLOCK_CHUNK) {
			struct gs_chunk_block cb;
			memcpy(&cb, buf, sizeof(cb));
			int ti = tindex(p, cb.tid);
			if (ti < 0)
				bad(p, "CHUNK before THREAD for tid %ld", cb.tid);
			else if (bh.size != sizeof(cb) + cb.nrecords * sizeof(struct gs_record))
				bad(p, "chunk size mismatch %ld", bh.size);
			else {
				const struct gs_record *r =
					(const void *)(buf + sizeof(cb));
				if (cb.nrecords == 0 || r[0].ts_ns != cb.first_ns ||
				    r[cb.nrecords - 1].ts_ns != cb.last_ns)
					bad(p, "chunk first/last mismatch %ld", cb.tid);
				for (uint32_t i = 0; i < cb.nrecords; i++) {
					if (r[i].tid != cb.tid)
						bad(p, "foreign record in chunk %ld", cb.tid);
					if (r[i].ts_ns < p->last_ts[ti])
						bad(p, "records out of order, tid %ld", cb.tid);
					p->last_ts[ti] = r[i].ts_ns;
					if (r[i].type >= GS_EV_MAX || r[i].type == 0) {
						bad(p, "bad type %ld", r[i].type);
						continue;
					}
					p->count[ti][r[i].type]++;
					if (r[i].type == GS_EV_lost) {
						p->markers++;
						p->marker_sum += r[i].a0;
					} else if (seq_in_a0 && r[i].type != GS_EV_thread_start) {
						if (p->last_seq[ti] &&
						    r[i].a0 <= p->last_seq[ti])
							bad(p, "sequence goes back, tid %ld", cb.tid);
						p->last_seq[ti] = r[i].a0;
					}
					p->chunk_records[ti]++;
				}
				p->total_chunk_records += cb.nrecords;
			}
		} else if (bh.type == GS_BLOCK_END) {
			memcpy(&p->end, buf, sizeof(p->end));
			p->have_end = 1;
			if (bh.size != sizeof(p->end) +
					       p->end.nthreads * sizeof(struct gs_end_thread))
				bad(p, "END size %ld", bh.size);
			for (uint32_t i = 0; i < p->end.nthreads && i < MAXT; i++)
				memcpy(&p->end_threads[i],
				       buf + sizeof(p->end) + i * sizeof(struct gs_end_thread),
				       sizeof(struct gs_end_thread));
		} else {
			bad(p, "unknown block type %lx", bh.type);
		}
		free(buf);
	}
	fclose(f);
}

/* Every test here records a trace it then reads: one that does not parse
 * fails the test, saying why. */
static void parse_trace_ok(const char *path, struct parsed *p, int seq_in_a0)
{
	parse_trace(path, p, seq_in_a0);
	if (!p->ok)
		fail_msg("%s: %s", path, p->why);
}

static const struct gs_end_thread *end_of(const struct parsed *p, uint32_t tid)
{
	for (uint32_t i = 0; i < p->end.nthreads && i < MAXT; i++)
		if (p->end_threads[i].tid == tid)
			return &p->end_threads[i];
	return NULL;
}

static char tmpdir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/gs-rec-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void trace_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", tmpdir, name);
}

/* Starts recording into tmpdir/NAME (PATH gets its path) and fills PARAMS
 * with POLICY's defaults: how the libgil tests below begin. */
/* A recording of one libgil runtime: where it goes, what the runtime gets. */
struct libgil_recording {
	char path[128];
	struct gil_params params;
};

/* The forked child checks what the parent cannot see; its exit status
 * says which check failed. */
static void assert_child_exits_0(pid_t child)
{
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Starts the recorder with o, writing to path (128 bytes) in the tests'
 * temporary directory. */
static void start_recording(char *path, const char *name,
			    struct gs_recorder_opts *o)
{
	char err[256];
	trace_path(path, 128, name);
	o->path = path;
	if (gs_recorder_start(o, err, sizeof(err)) != 0)
		fail_msg("recorder start %s: %s", path, err);
}

static void start_recording_libgil(struct libgil_recording *rec,
				   const char *name, enum gil_policy policy)
{
	struct gs_recorder_opts o = { 0 };
	start_recording(rec->path, name, &o);
	gil_params_default(&rec->params, policy);
}

/* ---- round trip -------------------------------------------------------- */

#define RT_THREADS 4
#define RT_EVENTS 20000

static const unsigned cycle[] = {
	GS_EV_acquire_request, GS_EV_acquired, GS_EV_release,
	GS_EV_blocking_begin, GS_EV_blocking_end,
};
#define NCYCLE (sizeof(cycle) / sizeof(cycle[0]))

struct rt_arg {
	int index;
	uint32_t tid;
};

static void *rt_thread(void *p)
{
	struct rt_arg *a = p;
	a->tid = (uint32_t)syscall(SYS_gettid);
	char name[16];
	snprintf(name, sizeof(name), "t%d", a->index);
	gs_recorder_emit(GS_EV_thread_start, GS_ROLE_CPU, 20, (uint32_t)a->index,
			 name);
	for (uint32_t i = 1; i < RT_EVENTS; i++)
		gs_recorder_emit(cycle[i % NCYCLE], i & 3, i, (uint32_t)a->index,
				 NULL);
	return NULL;
}

static void test_round_trip(void **state)
{
	(void)state;
	char path[128];
	struct gs_recorder_opts o = {
		.policy = GIL_POLICY_FIFO, .interval_us = 5000,
		.policy_name = "fifo", .command = "test_round_trip",
	};
	start_recording(path, "roundtrip.gst", &o);
	pthread_t th[RT_THREADS];
	struct rt_arg args[RT_THREADS];
	for (int i = 0; i < RT_THREADS; i++) {
		args[i].index = i;
		pthread_create(&th[i], NULL, rt_thread, &args[i]);
	}
	for (int i = 0; i < RT_THREADS; i++)
		pthread_join(th[i], NULL);
	struct gs_recorder_result res;
	assert_int_equal(gs_recorder_stop(0, &res), 0);
	assert_string_equal(res.error, "");
	assert_int_equal(res.records, RT_THREADS * RT_EVENTS);
	assert_int_equal(res.lost, 0);

	struct parsed p;
	parse_trace_ok(path, &p, 1);
	assert_int_equal(p.hdr.policy, GIL_POLICY_FIFO);
	assert_int_equal(p.hdr.pid, getpid());
	assert_string_equal(p.hdr.policy_name, "fifo");
	assert_int_equal(p.hdr.clock, GS_CLOCK_MONOTONIC);
	assert_true(p.have_end);
	assert_int_equal(p.end.flags, 0);
	assert_int_equal(p.end.total_records, RT_THREADS * RT_EVENTS);
	assert_int_equal(p.end.total_lost, 0);
	assert_int_equal(p.total_chunk_records, RT_THREADS * RT_EVENTS);
	assert_int_equal(p.nthreads, RT_THREADS);
	assert_int_equal(p.markers, 0);
	for (int i = 0; i < RT_THREADS; i++) {
		int ti = tindex(&p, args[i].tid);
		assert_true(ti >= 0);
		char name[16];
		snprintf(name, sizeof(name), "t%d", i);
		assert_string_equal(p.tblocks[ti].name, name);
		assert_int_equal(p.tblocks[ti].role, GS_ROLE_CPU);
		assert_int_equal(p.tblocks[ti].gil_prio, i);
		assert_int_equal(p.count[ti][GS_EV_thread_start], 1);
		for (unsigned c = 0; c < NCYCLE; c++) {
			/* i = 1..RT_EVENTS-1 with i % NCYCLE == c */
			uint64_t want = (RT_EVENTS - 1) / NCYCLE +
					(c != 0 && c <= (RT_EVENTS - 1) % NCYCLE);
			assert_int_equal(p.count[ti][cycle[c]], want);
		}
		const struct gs_end_thread *et = end_of(&p, args[i].tid);
		assert_non_null(et);
		assert_int_equal(et->records, RT_EVENTS);
		assert_int_equal(et->lost, 0);
	}
}

/* ---- forced overflow --------------------------------------------------- */

struct ovf {
	uint32_t tid;
};

static void *ovf_thread(void *p)
{
	struct ovf *o = p;
	o->tid = (uint32_t)syscall(SYS_gettid);
	uint32_t seq = 0;
	/* Ring: 2 chunks x 4 records. Burst 1 fills both and drops 12. */
	for (int i = 0; i < 20; i++)
		gs_recorder_emit(GS_EV_acquired, 0, ++seq, 0, NULL);
	/* The collector takes both chunks; the next chunk opens with a
	 * lost marker for the 12, then 7 more fit and 13 are dropped. */
	gs_recorder_sync();
	for (int i = 0; i < 20; i++)
		gs_recorder_emit(GS_EV_release, 0, ++seq, 0, NULL);
	return NULL;
}

static void test_forced_overflow(void **state)
{
	(void)state;
	char path[128];
	struct gs_recorder_opts o = {
		.chunks_per_thread = 2, .chunk_records = 4,
		/* no periodic drain: only sync and stop take chunks */
		.flush_interval_ms = 1000000,
	};
	start_recording(path, "overflow.gst", &o);
	struct ovf x;
	pthread_t th;
	pthread_create(&th, NULL, ovf_thread, &x);
	pthread_join(th, NULL);
	struct gs_recorder_result res;
	assert_int_equal(gs_recorder_stop(0, &res), 0);

	struct parsed p;
	parse_trace_ok(path, &p, 1);
	int ti = tindex(&p, x.tid);
	assert_true(ti >= 0);
	const uint64_t emitted = 40;
	uint64_t events_in_file = p.chunk_records[ti] - p.markers;
	assert_int_equal(p.markers, 1);
	assert_int_equal(p.marker_sum, 12);
	assert_int_equal(events_in_file, 8 + 7);
	assert_int_equal(p.count[ti][GS_EV_acquired], 8);
	assert_int_equal(p.count[ti][GS_EV_release], 7);
	const struct gs_end_thread *et = end_of(&p, x.tid);
	assert_non_null(et);
	assert_int_equal(et->lost, emitted - events_in_file);
	assert_int_equal(p.end.total_lost, emitted - events_in_file);
	assert_int_equal(et->records, p.chunk_records[ti]);
	assert_int_equal(res.lost, emitted - events_in_file);
	assert_int_equal(res.records, p.chunk_records[ti]);
}

/* ---- a signal still leaves a complete trace ---------------------------- */

static void test_flush_on_signal(void **state)
{
	(void)state;
	char path[128];
	trace_path(path, sizeof(path), "signal.gst");
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		char err[256];
		struct gs_recorder_opts o = { .path = path, .flush_on_signal = 1 };
		if (gs_recorder_start(&o, err, sizeof(err)) != 0)
			_exit(3);
		gs_recorder_emit(GS_EV_thread_start, GS_ROLE_MAIN, 20, 0, "child");
		uint32_t seq = 0;
		for (int i = 0; i < 1000; i++)
			gs_recorder_emit(GS_EV_acquired, 0, ++seq, 0, NULL);
		ssize_t w = write(pfd[1], "r", 1);
		(void)w;
		for (;;) { /* the traced program goes on until killed */
			gs_recorder_emit(GS_EV_release, 0, ++seq, 0, NULL);
			usleep(100);
		}
	}
	close(pfd[1]);
	char c;
	assert_int_equal(read(pfd[0], &c, 1), 1);
	close(pfd[0]);
	kill(child, SIGTERM);
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	/* The recorder re-raises the signal: the program dies as it would. */
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGTERM);

	struct parsed p;
	parse_trace_ok(path, &p, 1);
	assert_true(p.have_end);
	assert_true(p.end.flags & GS_END_F_INTERRUPTED);
	assert_int_equal(p.hdr.pid, child);
	assert_int_equal(p.nthreads, 1);
	assert_string_equal(p.tblocks[0].name, "child");
	assert_int_equal(p.count[0][GS_EV_acquired], 1000);
	assert_int_equal(p.end.total_records, p.total_chunk_records);
	assert_int_equal(p.end.total_lost, 0);
}

/* ---- errors on the output ---------------------------------------------- */

static void test_enospc_at_start(void **state)
{
	(void)state;
	char err[256];
	struct gs_recorder_opts o = { .path = "/dev/full" };
	assert_int_equal(gs_recorder_start(&o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/dev/full"));
	assert_non_null(strstr(err, strerror(ENOSPC)));
	assert_int_equal(gs_recorder_running(), 0);
}

static void test_eacces_at_start(void **state)
{
	(void)state;
	char dir[160], path[200];
	snprintf(dir, sizeof(dir), "%s/locked", tmpdir);
	assert_int_equal(mkdir(dir, 0500), 0);
	snprintf(path, sizeof(path), "%s/trace.gst", dir);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		/* root ignores modes: become nobody first */
		if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
			_exit(2);
		char err[256];
		struct gs_recorder_opts o = { .path = path };
		if (gs_recorder_start(&o, err, sizeof(err)) != -1)
			_exit(3);
		if (!strstr(err, path) || !strstr(err, strerror(EACCES))) {
			fprintf(stderr, "unexpected message: %s\n", err);
			_exit(4);
		}
		_exit(0);
	}
	assert_child_exits_0(child);
	rmdir(dir);
}

/* A write that fails mid-recording (file size limit: EFBIG, the same path
 * as ENOSPC): stop reports it, nothing is double counted, the program goes
 * on. */
static void test_write_error_later(void **state)
{
	(void)state;
	char path[128];
	trace_path(path, sizeof(path), "efbig.gst");
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		signal(SIGXFSZ, SIG_IGN);
		struct rlimit rl = { 64 * 1024, 64 * 1024 };
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(2);
		char err[256];
		struct gs_recorder_opts o = { .path = path, .chunks_per_thread = 64 };
		if (gs_recorder_start(&o, err, sizeof(err)) != 0)
			_exit(3);
		const uint64_t emitted = 150000; /* < 64 x 2730: no ring drops */
		for (uint64_t i = 0; i < emitted; i++)
			gs_recorder_emit(GS_EV_acquired, 0, (uint32_t)i, 0, NULL);
		struct gs_recorder_result res;
		int rc = gs_recorder_stop(0, &res);
		if (rc != -1)
			_exit(4);
		if (!strstr(res.error, path) || !strstr(res.error, strerror(EFBIG))) {
			fprintf(stderr, "unexpected message: %s\n", res.error);
			_exit(5);
		}
		if (res.lost == 0 || res.records + res.lost != emitted) {
			fprintf(stderr, "records %llu + lost %llu != %llu\n",
				(unsigned long long)res.records,
				(unsigned long long)res.lost,
				(unsigned long long)emitted);
			_exit(6);
		}
		/* The program is unaffected: it can even record again. */
		o.path = "/dev/null";
		if (gs_recorder_start(&o, err, sizeof(err)) != 0)
			_exit(7);
		gs_recorder_emit(GS_EV_acquired, 0, 1, 0, NULL);
		if (gs_recorder_stop(0, &res) != 0 || res.records != 1)
			_exit(8);
		_exit(0);
	}
	assert_child_exits_0(child);
}

/* ---- libgil events match libgil counters -------------------------------- */

struct gil_arg {
	gil_runtime *rt;
	uint64_t acq;
	uint32_t tid;
};

static void *gil_thread_fn(void *p)
{
	struct gil_arg *a = p;
	gil_thread *t = gil_attach(a->rt, "worker", GIL_ROLE_IO, 0);
	a->tid = (uint32_t)gil_thread_tid(t);
	for (int i = 0; i < 200; i++) {
		gil_blocking_begin(t, GIL_BLOCK_SLEEP);
		gil_blocking_end(t, 0);
		gil_check(t);
	}
	struct gil_thread_stats st;
	gil_thread_stats(t, &st);
	a->acq = st.acquisitions;
	gil_detach(t);
	return NULL;
}

static void test_libgil_events_match_counters(void **state)
{
	(void)state;
	struct libgil_recording rec;
	start_recording_libgil(&rec, "libgil.gst", GIL_POLICY_FIFO);
	gil_runtime *rt = gil_create(&rec.params);
	struct gil_arg a[2] = {{rt, 0, 0}, {rt, 0, 0}};
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, gil_thread_fn, &a[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	gil_destroy(rt);
	struct gs_recorder_result res;
	assert_int_equal(gs_recorder_stop(0, &res), 0);
	struct parsed p;
	parse_trace_ok(rec.path, &p, 0);
	for (int i = 0; i < 2; i++) {
		int ti = tindex(&p, a[i].tid);
		assert_true(ti >= 0);
		assert_string_equal(p.tblocks[ti].name, "worker");
		assert_int_equal(p.tblocks[ti].role, GS_ROLE_IO);
		assert_int_equal(p.count[ti][GS_EV_acquired], a[i].acq);
		assert_int_equal(p.count[ti][GS_EV_acquire_request], a[i].acq);
		assert_int_equal(p.count[ti][GS_EV_release], a[i].acq);
		assert_int_equal(p.count[ti][GS_EV_blocking_begin], 200);
		assert_int_equal(p.count[ti][GS_EV_blocking_end], 200);
		assert_int_equal(p.count[ti][GS_EV_thread_exit], 1);
	}
}

/* Every record of the trace at path, in file order (chunk by chunk). */
static struct gs_record *load_records(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	struct gs_file_header h;
	assert_int_equal(fread(&h, sizeof(h), 1, f), 1);
	size_t cap = 1024, len = 0;
	struct gs_record *all = malloc(cap * sizeof(*all));
	struct gs_block_header bh;
	while (fread(&bh, sizeof(bh), 1, f) == 1) {
		unsigned char *buf = malloc(bh.size);
		assert_int_equal(fread(buf, bh.size, 1, f), 1);
		if (bh.type == GS_BLOCK_CHUNK) {
			struct gs_chunk_block cb;
			memcpy(&cb, buf, sizeof(cb));
			for (uint32_t i = 0; i < cb.nrecords; i++) {
				if (len == cap)
					all = realloc(all, (cap *= 2) * sizeof(*all));
				memcpy(&all[len++], buf + sizeof(cb) + i * sizeof(*all),
				       sizeof(*all));
			}
		}
		free(buf);
	}
	fclose(f);
	*n = len;
	return all;
}

/* ---- prio: priority inheritance leaves its trace ----------------------- */

struct pi {
	gil_runtime *rt;
	_Atomic int attached, stop;
	uint32_t tid;
	int nice_after;
};

static void *pi_holder(void *p)
{
	struct pi *x = p;
	x->tid = (uint32_t)syscall(SYS_gettid);
	setpriority(PRIO_PROCESS, x->tid, 10); /* less important than main */
	gil_thread *t = gil_attach(x->rt, "low", GIL_ROLE_CPU, 0);
	atomic_store(&x->attached, 1);
	while (!atomic_load(&x->stop))
		gil_check(t);
	/* Back from the forced release: the boost must be gone. */
	errno = 0;
	x->nice_after = getpriority(PRIO_PROCESS, x->tid);
	gil_detach(t);
	return NULL;
}

static void test_prio_inheritance_events(void **state)
{
	(void)state;
	if (geteuid() != 0)
		skip(); /* lending priority needs CAP_SYS_NICE */
	struct libgil_recording rec;
	start_recording_libgil(&rec, "pi.gst", GIL_POLICY_PRIO);
	rec.params.interval_us = 3600000000u; /* no interval-driven drop */
	struct pi x = {0};
	x.rt = gil_create(&rec.params);
	pthread_t th;
	pthread_create(&th, NULL, pi_holder, &x);
	while (!atomic_load(&x.attached))
		usleep(100);
	int my_nice = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
	assert_true(my_nice < 10);
	/* Higher OS priority than the holder: boost, immediate drop request. */
	gil_thread *t = gil_attach(x.rt, "high", GIL_ROLE_HIGH_PRIO, 0);
	atomic_store(&x.stop, 1);
	gil_blocking_begin(t, GIL_BLOCK_OTHER);
	pthread_join(th, NULL);
	gil_blocking_end(t, 0);
	struct gs_recorder_result res;
	gil_detach(t);
	gil_destroy(x.rt);
	assert_int_equal(gs_recorder_stop(0, &res), 0);
	assert_int_equal(x.nice_after, 10);

	/* Walk the records: one boost of the holder to main's priority by
	 * main, one restore (new_prio 0) by the holder itself. */
	size_t n;
	struct gs_record *r = load_records(rec.path, &n);
	int boosts = 0, restores = 0;
	uint32_t me = (uint32_t)syscall(SYS_gettid);
	for (size_t i = 0; i < n; i++) {
		if (r[i].type != GS_EV_prio_boost)
			continue;
		assert_int_equal(r[i].a0, x.tid);
		if (r[i].a1) {
			assert_int_equal(r[i].tid, me);
			assert_int_equal(r[i].a1, 20 - my_nice);
			boosts++;
		} else {
			assert_int_equal(r[i].tid, x.tid);
			restores++;
		}
	}
	free(r);
	assert_int_equal(boosts, 1);
	assert_int_equal(restores, 1);
}

/* ---- streaming: a checkpoint puts every event so far in the file ------- */

static size_t count_type(const struct gs_record *r, size_t n, unsigned type)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += r[i].type == type;
	return k;
}

/* While recording, the file holds whole blocks with every event up to the
 * last checkpoint, including those of a chunk still being filled, each
 * once: what a SIGKILL at that moment would leave. */
static void test_checkpoint_streams(void **state)
{
	(void)state;
	char path[128];
	struct gs_recorder_opts o = { .chunk_records = 64 };
	start_recording(path, "stream.gst", &o);
	gs_recorder_emit(GS_EV_thread_start, GS_ROLE_MAIN, 20, 0, "streamer");
	for (uint32_t i = 0; i < 5; i++)
		gs_recorder_emit(GS_EV_acquired, 0, i, 0, NULL);
	assert_int_equal(gs_recorder_sync(), 0);
	size_t n;
	struct gs_record *r = load_records(path, &n);
	assert_int_equal(n, 6);
	assert_int_equal(count_type(r, n, GS_EV_acquired), 5);
	free(r);
	/* the rest of the same chunk, then past its end (64 records) */
	for (uint32_t i = 5; i < 100; i++)
		gs_recorder_emit(GS_EV_acquired, 0, i, 0, NULL);
	assert_int_equal(gs_recorder_sync(), 0);
	r = load_records(path, &n);
	assert_int_equal(n, 101);
	for (size_t i = 1; i < n; i++)
		assert_int_equal(r[i].a0, i - 1); /* each once, in order */
	free(r);
	struct gs_recorder_result res;
	assert_int_equal(gs_recorder_stop(0, &res), 0);
	assert_int_equal(res.records, 101);
	r = load_records(path, &n);
	assert_int_equal(n, 101);
	free(r);
	unlink(path);
}

/* Time order; a release sorts before an acquired of the same instant,
 * since the release is emitted before the lock is given up. */
static int by_time(const void *a, const void *b)
{
	const struct gs_record *x = a, *y = b;
	if (x->ts_ns != y->ts_ns)
		return x->ts_ns < y->ts_ns ? -1 : 1;
	return (x->type == GS_EV_acquired) - (y->type == GS_EV_acquired);
}

/* ---- cpython: after a forced release, someone else acquires ------------ */

struct cpy {
	gil_runtime *rt;
	_Atomic int stop;
	int io;
};

static void *cpy_thread(void *p)
{
	struct cpy *c = p;
	int io = __atomic_fetch_add(&c->io, 1, __ATOMIC_RELAXED) == 0;
	gil_thread *t = gil_attach(c->rt, io ? "io" : "cpu",
				   io ? GIL_ROLE_IO : GIL_ROLE_CPU, 0);
	while (!atomic_load(&c->stop)) {
		if (io) {
			gil_blocking_begin(t, GIL_BLOCK_SLEEP);
			usleep(50);
			gil_blocking_end(t, 0);
		}
		for (int i = 0; i < 100; i++)
			gil_check(t);
	}
	gil_detach(t);
	return NULL;
}

static void test_cpython_forced_release_trace(void **state)
{
	(void)state;
	struct libgil_recording rec;
	start_recording_libgil(&rec, "cpython.gst", GIL_POLICY_CPYTHON);
	rec.params.interval_us = 100;
	struct cpy c = { .rt = gil_create(&rec.params) };
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, cpy_thread, &c);
	struct gil_runtime_stats rs;
	do {
		usleep(1000);
		gil_runtime_stats(c.rt, &rs);
	} while (rs.forced_drops < 300);
	atomic_store(&c.stop, 1);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	gil_destroy(c.rt);
	struct gs_recorder_result res;
	assert_int_equal(gs_recorder_stop(0, &res), 0);
	assert_int_equal(res.lost, 0);

	size_t n;
	struct gs_record *r = load_records(rec.path, &n);
	qsort(r, n, sizeof(*r), by_time);
	uint32_t forced_by = 0;
	unsigned forced = 0, checked = 0;
	for (size_t i = 0; i < n; i++) {
		if (r[i].type == GS_EV_release) {
			/* a1: drop requested; a0: waiters at the release */
			forced_by = r[i].a8 == GS_RELEASE_FORCED && r[i].a0 > 0
					    ? r[i].tid : 0;
			forced += r[i].a8 == GS_RELEASE_FORCED;
		} else if (r[i].type == GS_EV_acquired && forced_by) {
			if (r[i].tid == forced_by)
				fail_msg("record %zu: tid %u re-took the GIL after "
					 "its forced release", i, forced_by);
			checked++;
			forced_by = 0;
		}
	}
	free(r);
	assert_true(forced >= 300);
	assert_true(checked >= 300);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_forced_overflow),
		cmocka_unit_test(test_flush_on_signal),
		cmocka_unit_test(test_enospc_at_start),
		cmocka_unit_test(test_eacces_at_start),
		cmocka_unit_test(test_write_error_later),
		cmocka_unit_test(test_libgil_events_match_counters),
		cmocka_unit_test(test_prio_inheritance_events),
		cmocka_unit_test(test_cpython_forced_release_trace),
		cmocka_unit_test(test_checkpoint_streams),
	};
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
