/* SPDX-License-Identifier: MIT */
/* The native trace reader: merge order, offsets, and every bad-input message
 * (file, byte offset, what was expected). */
#define _GNU_SOURCE
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "source.h"
#include "test_analysis_build.h"

#define HDR 152L                 /* sizeof(struct gs_file_header) */
#define BH 16L                   /* sizeof(struct gs_block_header) */
#define THREAD_BLK (BH + 56L)
#define CHUNK_BLK(n) (BH + 24L + 24L * (n))

static struct gs_source *open_ok(const char *path, int allow)
{
	char err[512] = "";
	struct gs_source *s = gs_source_native_open(path, allow, err, sizeof(err));
	if (!s)
		fail_msg("open %s: %s", path, err);
	return s;
}

/* Expects open to fail with a message that contains every fragment. */
static void open_fails(const char *path, int allow, const char *frag1,
		       const char *frag2)
{
	char err[512] = "";
	struct gs_source *s = gs_source_native_open(path, allow, err, sizeof(err));
	if (s) {
		gs_source_close(s);
		fail_msg("open %s succeeded, expected '%s'", path, frag1);
	}
	if (strncmp(err, path, strlen(path)) != 0 || !strstr(err, frag1) ||
	    (frag2 && !strstr(err, frag2)))
		fail_msg("message '%s' lacks '%s' / '%s'", err, frag1,
			 frag2 ? frag2 : "");
}

static void write_chunk(struct tb *t, uint32_t tid, const uint64_t *ts,
			const uint8_t *types, size_t n)
{
	struct gs_record r[16];
	for (size_t i = 0; i < n; i++)
		r[i] = tb_rec(ts[i], tid, types ? types[i] : GS_EV_drop_request,
			      0, (uint32_t)i, tid);
	gs_writer_chunk(t->w, tid, r, n);
}

static void test_merge_out_of_order_chunks(void **state)
{
	(void)state;
	struct tb t;
	tb_open(&t, "merge", 5000, 0);
	tb_thread(&t, 1, "one", 0, 20, 0);
	tb_thread(&t, 2, "two", 0, 20, 0);
	tb_thread(&t, 3, "three", 0, 20, 0);
	write_chunk(&t, 2, (uint64_t[]){ 15, 25 }, NULL, 2);
	write_chunk(&t, 1, (uint64_t[]){ 10, 20, 30 }, NULL, 3);
	write_chunk(&t, 3, (uint64_t[]){ 5, 35 }, NULL, 2);
	write_chunk(&t, 2, (uint64_t[]){ 40, 50 }, NULL, 2);
	write_chunk(&t, 1, (uint64_t[]){ 45 }, NULL, 1);
	/* equal timestamps: the release (tid 3) must come before the acquire
	 * (tid 2) although tid 2's chunk is earlier in the file */
	write_chunk(&t, 2, (uint64_t[]){ 60 }, (uint8_t[]){ GS_EV_acquired }, 1);
	write_chunk(&t, 3, (uint64_t[]){ 60 }, (uint8_t[]){ GS_EV_release }, 1);
	gs_writer_lost(t.w, 3, 7);
	tb_close(&t, 100);

	struct gs_source *s = open_ok(t.path, 0);
	static const uint64_t want_ts[] = { 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 60, 60 };
	static const uint32_t want_tid[] = { 3, 1, 2, 1, 2, 1, 3, 2, 1, 2, 3, 2 };
	FILE *f = fopen(t.path, "rb");
	struct gs_event ev;
	size_t n = 0;
	int rc;
	while ((rc = gs_source_next(s, &ev)) == 1) {
		assert_true(n < 12);
		assert_int_equal(ev.ts_ns, want_ts[n]);
		assert_int_equal(ev.tid, want_tid[n]);
		/* the offset points at the very record */
		struct gs_record r;
		fseek(f, (long)ev.offset, SEEK_SET);
		assert_int_equal(fread(&r, sizeof(r), 1, f), 1);
		assert_int_equal(r.ts_ns, ev.ts_ns);
		assert_int_equal(r.tid, ev.tid);
		assert_int_equal(r.type, ev.type);
		n++;
	}
	fclose(f);
	assert_int_equal(rc, 0);
	assert_int_equal(n, 12);
	assert_int_equal(ev.type, GS_EV_acquired);
	struct gs_source_totals tot;
	s->ops->totals(s, &tot);
	assert_int_equal(tot.events, 12);
	assert_int_equal(tot.lost, 7);
	assert_int_equal(tot.complete, 1);
	const struct gs_thread_info *ti = s->ops->thread(s, 2);
	assert_non_null(ti);
	assert_string_equal(ti->name, "two");
	assert_null(s->ops->thread(s, 99));
	assert_string_equal(s->info.format, "native");
	assert_int_equal(s->info.interval_us, 5000);
	gs_source_close(s);

	/* the content-sniffing opener picks the native reader */
	char err[512];
	s = gs_source_open_any(t.path, 0, err, sizeof(err));
	assert_non_null(s);
	gs_source_close(s);
	unlink(t.path);
}

/* A 2-thread trace: header, THREAD, THREAD, CHUNK(3 recs of tid 1) ... */
static void small_trace(struct tb *t, const char *name)
{
	tb_open(t, name, 5000, 0);
	tb_thread(t, 1, "one", 0, 20, 0);
	tb_thread(t, 2, "two", 0, 20, 0);
	write_chunk(t, 1, (uint64_t[]){ 10, 20, 30 }, NULL, 3);
	write_chunk(t, 2, (uint64_t[]){ 15, 25 }, NULL, 2);
	tb_close(t, 100);
}

#define CHUNK1_OFF (HDR + 2 * THREAD_BLK)
#define CHUNK2_OFF (CHUNK1_OFF + CHUNK_BLK(3))
#define END_OFF (CHUNK2_OFF + CHUNK_BLK(2))

static void test_layout_assumption(void **state)
{
	(void)state;
	struct tb t;
	small_trace(&t, "layout");
	assert_int_equal(tb_size(t.path), END_OFF + BH + 32 + 2 * 24);
	unlink(t.path);
}

static void test_bad_magic(void **state)
{
	(void)state;
	struct tb t;
	small_trace(&t, "magic");
	tb_patch(t.path, 0, "NOTATRCE", 8);
	open_fails(t.path, 0, ": offset 0: bad magic \"NOTATRCE\"",
		   "expected \"GILSCOPE\"");
	/* the sniffing opener gives the same message for unknown content */
	open_fails(t.path, 0, ": offset 0: bad magic", NULL);
	unlink(t.path);
}

static void test_unknown_major(void **state)
{
	(void)state;
	struct tb t;
	small_trace(&t, "major");
	uint16_t v = 3;
	tb_patch(t.path, 8, &v, 2);
	open_fails(t.path, 0, ": offset 8: unsupported trace format version 3.",
		   "expected major version 1 to 2");
	unlink(t.path);
}

static void test_truncated(void **state)
{
	(void)state;
	struct tb t;
	small_trace(&t, "trunc");
	/* END gone: the writer died after the chunks */
	assert_int_equal(truncate(t.path, END_OFF), 0);
	char frag[128];
	snprintf(frag, sizeof(frag), ": offset %ld: trace is truncated", END_OFF);
	open_fails(t.path, 0, frag, "no END block");

	/* allowed: everything there is delivered, marked incomplete */
	struct gs_source *s = open_ok(t.path, 1);
	struct gs_event ev;
	int n = 0;
	while (gs_source_next(s, &ev) == 1)
		n++;
	assert_int_equal(n, 5);
	struct gs_source_totals tot;
	s->ops->totals(s, &tot);
	assert_int_equal(tot.complete, 0);
	gs_source_close(s);

	/* cut inside the second chunk: the block is reported where it starts */
	assert_int_equal(truncate(t.path, CHUNK2_OFF + BH + 40), 0);
	snprintf(frag, sizeof(frag), ": offset %ld: block 3 (CHUNK): trace is "
		 "truncated: CHUNK block", CHUNK2_OFF);
	open_fails(t.path, 0, frag, "expected the whole block");
	s = open_ok(t.path, 1);
	n = 0;
	while (gs_source_next(s, &ev) == 1)
		n++;
	assert_int_equal(n, 3);
	gs_source_close(s);

	/* cut inside the header */
	assert_int_equal(truncate(t.path, 100), 0);
	open_fails(t.path, 0, ": offset 100: trace is truncated inside the header",
		   "expected 152");
	unlink(t.path);
}

static void test_corrupt_block(void **state)
{
	(void)state;
	struct tb t;
	small_trace(&t, "corrupt");
	uint32_t junk = 0xdeadbeef;
	tb_patch(t.path, CHUNK2_OFF, &junk, 4);
	char frag[128];
	snprintf(frag, sizeof(frag), ": offset %ld: block 3 (?): corrupt block: "
		 "type 0xdeadbeef", CHUNK2_OFF);
	open_fails(t.path, 0, frag, "expected THREAD 0x47530001");
	unlink(t.path);
}

static void test_corrupt_record_at_open(void **state)
{
	(void)state;
	struct tb t;
	small_trace(&t, "badrec");
	uint32_t tid = 9;
	long rec1 = CHUNK1_OFF + BH + 24 + 24;
	tb_patch_sealed(t.path, CHUNK1_OFF, rec1 + 8, &tid, 4);
	char frag[128];
	snprintf(frag, sizeof(frag), ": offset %ld: corrupt record: tid 9", rec1);
	open_fails(t.path, 0, frag, "expected 1");
	unlink(t.path);

	small_trace(&t, "badtype");
	uint8_t type = 200;
	tb_patch_sealed(t.path, CHUNK1_OFF, rec1 + 14, &type, 1);
	snprintf(frag, sizeof(frag), ": offset %ld: corrupt record: event type 200",
		 rec1);
	char want[32];
	snprintf(want, sizeof(want), "expected 1..%d", GS_EV_MAX - 1);
	open_fails(t.path, 0, frag, want);
	unlink(t.path);
}

static void test_unsorted_chunk(void **state)
{
	(void)state;
	struct tb t;
	/* a chunk whose records go back in time; it is the thread's second
	 * chunk, so the error surfaces from next() with the record's offset */
	tb_open(&t, "unsorted", 5000, 0);
	tb_thread(&t, 1, "one", 0, 20, 0);
	write_chunk(&t, 1, (uint64_t[]){ 1, 2 }, NULL, 2);
	struct gs_record r[3] = {
		tb_rec(10, 1, GS_EV_drop_request, 0, 0, 0),
		tb_rec(30, 1, GS_EV_drop_request, 0, 0, 0),
		tb_rec(20, 1, GS_EV_drop_request, 0, 0, 0),
	};
	gs_writer_chunk(t.w, 1, r, 3);
	tb_close(&t, 100);
	/* the writer copies first/last from records 0 and n-1: 10..20 */
	struct gs_source *s = open_ok(t.path, 0);
	struct gs_event ev;
	int rc, n = 0;
	while ((rc = gs_source_next(s, &ev)) == 1)
		n++;
	assert_int_equal(rc, -1);
	assert_int_equal(n, 2);
	long bad = HDR + THREAD_BLK + CHUNK_BLK(2) + BH + 24 + 2 * 24;
	char frag[128];
	snprintf(frag, sizeof(frag), ": offset %ld: records not in time order", bad);
	if (!strstr(gs_source_error(s), frag))
		fail_msg("got '%s', expected '%s'", gs_source_error(s), frag);
	gs_source_close(s);
	unlink(t.path);

	/* chunks of one thread out of order: found by the index pass */
	tb_open(&t, "unsorted2", 5000, 0);
	tb_thread(&t, 1, "one", 0, 20, 0);
	write_chunk(&t, 1, (uint64_t[]){ 50, 60 }, NULL, 2);
	write_chunk(&t, 1, (uint64_t[]){ 10, 20 }, NULL, 2);
	tb_close(&t, 100);
	snprintf(frag, sizeof(frag), ": offset %ld: block 2 (CHUNK): unsorted chunks: tid 1",
		 HDR + THREAD_BLK + CHUNK_BLK(2));
	open_fails(t.path, 0, frag, "expected time order");
	unlink(t.path);
}

static void test_chunk_before_thread(void **state)
{
	(void)state;
	struct tb t;
	small_trace(&t, "nothread");
	/* turn the second THREAD block into a padding-free bogus THREAD for
	 * tid 5: tid 2's chunk then has no THREAD before it */
	uint32_t tid = 5;
	tb_patch_sealed(t.path, HDR + THREAD_BLK, HDR + THREAD_BLK + BH, &tid, 4);
	char frag[128];
	snprintf(frag, sizeof(frag), ": offset %ld: block 3 (CHUNK): CHUNK of tid 2 "
		 "before any THREAD", CHUNK2_OFF);
	open_fails(t.path, 0, frag, "expected THREAD first");
	unlink(t.path);
}

static void test_empty(void **state)
{
	(void)state;
	struct tb t;
	tb_open(&t, "empty", 5000, 0);
	tb_thread(&t, 1, "one", 0, 20, 0);
	tb_close(&t, 100);
	char frag[128];
	snprintf(frag, sizeof(frag), ": offset %ld: the trace holds no events", HDR);
	open_fails(t.path, 0, frag, "expected at least one CHUNK");
	assert_int_equal(truncate(t.path, 0), 0);
	open_fails(t.path, 0, ": offset 0: empty file", "expected a gilscope");
	unlink(t.path);
}

static void test_data_after_end(void **state)
{
	(void)state;
	struct tb t;
	small_trace(&t, "after");
	long sz = tb_size(t.path);
	uint64_t junk = 0;
	tb_patch(t.path, sz, &junk, 8);
	char frag[128];
	snprintf(frag, sizeof(frag), ": offset %ld: 8 bytes after the END block", sz);
	open_fails(t.path, 0, frag, "expected end of file");
	unlink(t.path);
}

/* More threads than the linear merge handles (16): the heap path, and the
 * switch to the linear scan as threads run out. Chunks of every thread are
 * written in a shuffled order; the merge must still deliver every record
 * once, in time order. */
static void test_merge_many_threads(void **state)
{
	(void)state;
	enum { NT = 24, CH = 5, PER = 7 };
	struct tb t;
	tb_open(&t, "many", 5000, 0);
	for (uint32_t k = 0; k < NT; k++) {
		char name[16];
		snprintf(name, sizeof(name), "w%u", k);
		tb_thread(&t, 1000 + k, name, 0, 20, 0);
	}
	/* thread k's chunk c covers [c*1000 + k, ...], threads end at
	 * different chunks so they leave the merge one by one */
	uint64_t x = 88172645463325252ull;
	for (uint32_t c = 0; c < CH; c++) {
		uint32_t order[NT];
		for (uint32_t k = 0; k < NT; k++)
			order[k] = k;
		for (uint32_t k = NT - 1; k > 0; k--) {
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			uint32_t j = (uint32_t)(x % (k + 1)), tmp = order[k];
			order[k] = order[j];
			order[j] = tmp;
		}
		for (uint32_t i = 0; i < NT; i++) {
			uint32_t k = order[i];
			if (c > k % CH + 1)
				continue;
			struct gs_record r[PER];
			for (uint32_t e = 0; e < PER; e++)
				r[e] = tb_rec(c * 1000 + k + e * 37, 1000 + k,
					      GS_EV_drop_request, 0, c, e);
			gs_writer_chunk(t.w, 1000 + k, r, PER);
		}
	}
	tb_close(&t, 100000);
	uint64_t want = 0;
	for (uint32_t k = 0; k < NT; k++)
		want += (uint64_t)PER * (k % CH + 2 > CH ? CH : k % CH + 2);
	struct gs_source *src = open_ok(t.path, 0);
	struct gs_event ev;
	uint64_t n = 0, prev = 0;
	uint32_t last_c[NT], last_e[NT];
	memset(last_c, 0xff, sizeof(last_c));
	memset(last_e, 0xff, sizeof(last_e));
	int rc;
	while ((rc = gs_source_next(src, &ev)) == 1) {
		assert_true(ev.ts_ns >= prev);
		prev = ev.ts_ns;
		uint32_t k = ev.tid - 1000;
		assert_true(k < NT);
		/* per thread: chunk by chunk, record by record */
		if (last_c[k] == ev.a0)
			assert_int_equal(ev.a1, last_e[k] + 1);
		else
			assert_int_equal(ev.a1, 0);
		last_c[k] = ev.a0;
		last_e[k] = ev.a1;
		n++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(n, want);
	gs_source_close(src);
	unlink(t.path);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* gs_source_open_any picks the reader from the content, not the name. */
/* A tracer that learns a thread's name after writing its first records
 * declares it again; the reader keeps the last THREAD block. */
static void test_thread_redeclared(void **state)
{
	(void)state;
	struct tb t;
	tb_open(&t, "redeclare", 5000, 0);
	tb_thread(&t, 7, "comm-name", 0, 20, 0);
	tb_ev(&t, 100, 7, GS_EV_sched_switch_in, 0, 0, 0);
	gs_writer_flush(t.w);
	struct gs_thread_block b;
	memset(&b, 0, sizeof(b));
	b.tid = 7;
	b.role = GS_ROLE_CPU;
	b.gil_prio = 3;
	snprintf(b.name, sizeof(b.name), "worker");
	assert_int_equal(gs_writer_thread_update(t.w, &b), 0);
	tb_ev(&t, 200, 7, GS_EV_thread_start, GS_ROLE_CPU, 20, 3);
	tb_close(&t, 300);

	struct gs_source *src = open_ok(t.path, 0);
	const struct gs_thread_info *ti = src->ops->thread(src, 7);
	assert_non_null(ti);
	assert_string_equal(ti->name, "worker");
	assert_int_equal(ti->role, GS_ROLE_CPU);
	assert_int_equal(ti->gil_prio, 3);
	struct gs_event ev;
	int n = 0;
	while (gs_source_next(src, &ev) == 1)
		n++;
	assert_int_equal(n, 2);
	gs_source_close(src);
	unlink(t.path);
}

static void test_open_any_detects_text(void **state)
{
	(void)state;
	char path[256], err[512];
	snprintf(path, sizeof(path), "/tmp/gs-test-%d-any.txt", (int)getpid());
	write_text(path,
		   "  wl 100/101 [001]   757.750150000: sdt_gil:acquire_request: "
		   "(7f243ee13300) arg1=0 arg2=0 arg3=0\n");
	struct gs_source *s = gs_source_open_any(path, 0, err, sizeof(err));
	if (!s)
		fail_msg("perf script text: %s", err);
	assert_string_equal(s->info.format, "perf-script");
	gs_source_close(s);
	write_text(path,
		   "cpus=2\n"
		   "  wl-15036 [001]   804.747712: acquired:   (7f03c70323e0) "
		   "a8=1 a0=2 a1=15035\n");
	s = gs_source_open_any(path, 0, err, sizeof(err));
	if (!s)
		fail_msg("trace-cmd text: %s", err);
	assert_string_equal(s->info.format, "trace-cmd");
	gs_source_close(s);
	/* neither: the native reader's verdict */
	write_text(path, "hello world\n");
	assert_null(gs_source_open_any(path, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "offset 0: bad magic \"hello wo\""));
	unlink(path);
}

/* ---- integrity (format version 2) ---- */

static void test_crc32c_vectors(void **state)
{
	(void)state;
	/* RFC 3720, B.4 */
	assert_int_equal(gs_crc32c(0, "123456789", 9), 0xE3069283u);
	unsigned char zeros[32] = { 0 }, ones[32];
	memset(ones, 0xff, sizeof(ones));
	assert_int_equal(gs_crc32c(0, zeros, 32), 0x8A9136AAu);
	assert_int_equal(gs_crc32c(0, ones, 32), 0x62A8AB43u);
	/* the CPU path and the tables agree, at every alignment and length,
	 * and a CRC continues across pieces */
	unsigned char buf[300];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 7 + 3);
	for (size_t a = 0; a < 8; a++)
		for (size_t n = 0; n + a <= sizeof(buf); n += 13) {
			uint32_t hw = gs_crc32c(0, buf + a, n);
			assert_int_equal(hw, gs_crc32c_portable(0, buf + a, n));
			uint32_t two = gs_crc32c(gs_crc32c(0, buf + a, n / 2),
						 buf + a + n / 2, n - n / 2);
			assert_int_equal(hw, two);
		}
}

/* Reads a trace to the end: 0 when every event came through, -1 on error. */
static int read_all(const char *path, uint64_t *events, char *err, size_t errlen)
{
	struct gs_source *s = gs_source_native_open(path, 0, err, errlen);
	if (!s)
		return -1;
	struct gs_event ev;
	int rc;
	*events = 0;
	while ((rc = gs_source_next(s, &ev)) == 1)
		(*events)++;
	if (rc < 0)
		snprintf(err, errlen, "%s", gs_source_error(s));
	gs_source_close(s);
	return rc < 0 ? -1 : 0;
}

/* Any one flipped bit or byte, anywhere in the file, is an error that names
 * the file and an offset: never a trace that reads with other values. */
static void test_every_byte_flip_detected(void **state)
{
	(void)state;
	struct tb t;
	small_trace(&t, "flip");
	long size = tb_size(t.path);
	FILE *f = fopen(t.path, "rb");
	unsigned char *orig = malloc((size_t)size);
	assert_int_equal(fread(orig, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	uint64_t n;
	char err[512];
	assert_int_equal(read_all(t.path, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 5);
	static const unsigned char masks[] = { 0x01, 0x80, 0xff };
	for (long off = 0; off < size; off++) {
		for (size_t m = 0; m < sizeof(masks); m++) {
			unsigned char b = orig[off] ^ masks[m];
			tb_patch(t.path, off, &b, 1);
			err[0] = 0;
			if (read_all(t.path, &n, err, sizeof(err)) == 0)
				fail_msg("byte %ld ^ 0x%02x: read %" PRIu64 " events "
					 "without an error", off, masks[m], n);
			if (strncmp(err, t.path, strlen(t.path)) != 0 ||
			    !strstr(err, ": offset "))
				fail_msg("byte %ld: message '%s' does not name the "
					 "file and an offset", off, err);
			tb_patch(t.path, off, &orig[off], 1);
		}
	}
	free(orig);
	unlink(t.path);
}

static void test_checksum_names_block(void **state)
{
	(void)state;
	struct tb t;
	small_trace(&t, "crcmsg");
	uint64_t ts = 12;
	tb_patch(t.path, CHUNK1_OFF + BH + 24, &ts, 8);
	char frag[128];
	snprintf(frag, sizeof(frag), ": offset %ld: block 2 (CHUNK): checksum 0x",
		 CHUNK1_OFF);
	open_fails(t.path, 0, frag, "the file is damaged");
	/* --allow-truncated does not excuse a damaged block */
	open_fails(t.path, 1, frag, NULL);
	unlink(t.path);

	small_trace(&t, "hdrcrc");
	uint32_t pid = 77;
	tb_patch(t.path, 28, &pid, 4);
	open_fails(t.path, 0, ": offset 0: corrupt header: checksum", NULL);
	unlink(t.path);
}

/* A whole block removed, or one repeated, keeps every CRC right: the
 * sequence numbers catch it. */
static void test_missing_block(void **state)
{
	(void)state;
	struct tb t;
	small_trace(&t, "gap");
	long size = tb_size(t.path);
	FILE *f = fopen(t.path, "rb");
	unsigned char *all = malloc((size_t)size);
	assert_int_equal(fread(all, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	f = fopen(t.path, "wb");
	fwrite(all, 1, (size_t)CHUNK1_OFF, f);                /* header, THREADs */
	fwrite(all + CHUNK2_OFF, 1, (size_t)(size - CHUNK2_OFF), f); /* no CHUNK 1 */
	fclose(f);
	char frag[128];
	snprintf(frag, sizeof(frag), ": offset %ld: block 2 (CHUNK): sequence number 3",
		 CHUNK1_OFF);
	open_fails(t.path, 1, frag, "blocks are missing or repeated");
	free(all);
	unlink(t.path);
}

/* Values the checksum cannot vouch for (a writer's bug, a version 1 file)
 * are checked against each other. */
static void test_end_block_sanity(void **state)
{
	(void)state;
	struct tb t;
	small_trace(&t, "lost");
	uint64_t huge = (uint64_t)1 << 63;
	/* END payload: end_ns, total_records, total_lost, nthreads, flags,
	 * then per thread tid, reserved, records, lost */
	tb_patch_sealed(t.path, END_OFF, END_OFF + BH + 16, &huge, 8);
	open_fails(t.path, 0, "corrupt END block: total_lost 9223372036854775808",
		   "expected equal");
	unlink(t.path);

	small_trace(&t, "lost2");
	tb_patch_sealed(t.path, END_OFF, END_OFF + BH + 16, &huge, 8);
	tb_patch_sealed(t.path, END_OFF, END_OFF + BH + 32 + 16, &huge, 8);
	open_fails(t.path, 0, "has 3 records and 9223372036854775808 lost",
		   "expected each < 2^48");
	unlink(t.path);

	small_trace(&t, "endns");
	uint64_t early = 29; /* tid 1's last event is at 30 */
	tb_patch_sealed(t.path, END_OFF, END_OFF + BH, &early, 8);
	open_fails(t.path, 0, "block 4 (END): corrupt END block: end_ns 29",
		   "at or after the last event, 30 ns");
	unlink(t.path);

	small_trace(&t, "arg");
	uint8_t reason = 9;
	tb_patch_sealed(t.path, CHUNK1_OFF, CHUNK1_OFF + BH + 24 + 15, &reason, 1);
	uint8_t type = GS_EV_release;
	tb_patch_sealed(t.path, CHUNK1_OFF, CHUNK1_OFF + BH + 24 + 14, &type, 1);
	open_fails(t.path, 0, "corrupt record: release with reason 9",
		   "expected 0..4");
	unlink(t.path);
}

/* New block types: optional ones are skipped by readers that do not know
 * them, others refused. */
/* The PROBES block is read back whole, and a damaged one (checksum right,
 * contents wrong) is an error naming its offset. */
static void test_probes_block(void **state)
{
	(void)state;
	struct tb t;
	tb_open(&t, "probes", 5000, 0);
	struct gs_probe_site sites[2] = {
		{ .vaddr = 0x24f7b0, .file_offset = 0x24f7b0, .method = GS_PLACE_SYMTAB,
		  .kind = GS_PROBE_ENTRY, .what = "take_gil", .object = "libpython3.11.so" },
		{ .vaddr = 0x1234, .file_offset = 0x234, .method = GS_PLACE_DWARF_INLINE,
		  .kind = GS_PROBE_ENTRY, .what = "drop_gil@PyEval_SaveThread",
		  .object = "python3.11" },
	};
	assert_int_equal(gs_writer_probes(t.w, sites, 2), 0);
	tb_thread(&t, 1, "one", 0, 20, 0);
	write_chunk(&t, 1, (uint64_t[]){ 100, 200 }, NULL, 2);
	tb_close(&t, 300);

	struct gs_source *s = open_ok(t.path, 0);
	assert_int_equal(s->info.nprobes, 2);
	assert_string_equal(s->info.probes[1].what, "drop_gil@PyEval_SaveThread");
	assert_int_equal(s->info.probes[1].method, GS_PLACE_DWARF_INLINE);
	assert_int_equal(s->info.probes[0].vaddr, 0x24f7b0);
	assert_string_equal(gs_placement_name(s->info.probes[1].method),
			    "DWARF inline site");
	struct gs_event ev;
	int n = 0;
	while (gs_source_next(s, &ev) == 1)
		n++;
	assert_int_equal(n, 2);
	gs_source_close(s);
	unlink(t.path);

	/* three sites announced, one written */
	struct { struct gs_probes_block pb; struct gs_probe_site site; } bad = {
		.pb = { .nsites = 3 }, .site = sites[0],
	};
	tb_open(&t, "probes-bad", 5000, 0);
	assert_int_equal(gs_writer_block(t.w, GS_BLOCK_PROBES, &bad, sizeof(bad)), 0);
	tb_close(&t, 300);
	char frag[80];
	snprintf(frag, sizeof(frag), ": offset %ld", HDR);
	open_fails(t.path, 0, frag, "corrupt PROBES block: 3 sites in 136 bytes "
		   "(expected 392 = 8 + 128 * 3)");
	unlink(t.path);
}

static void test_block_types(void **state)
{
	(void)state;
	struct tb t;
	uint64_t payload[3] = { 1, 2, 3 };
	tb_open(&t, "optional", 5000, 0);
	tb_thread(&t, 1, "one", 0, 20, 0);
	assert_int_equal(gs_writer_block(t.w, GS_BLOCK_TAG | GS_BLOCK_F_OPTIONAL | 0x7f,
					 payload, sizeof(payload)), 0);
	write_chunk(&t, 1, (uint64_t[]){ 10, 20 }, NULL, 2);
	tb_close(&t, 100);
	uint64_t n;
	char err[512];
	if (read_all(t.path, &n, err, sizeof(err)))
		fail_msg("%s", err);
	assert_int_equal(n, 2);
	unlink(t.path);

	tb_open(&t, "required", 5000, 0);
	tb_thread(&t, 1, "one", 0, 20, 0);
	assert_int_equal(gs_writer_block(t.w, GS_BLOCK_TAG | 0x7f, payload,
					 sizeof(payload)), 0);
	write_chunk(&t, 1, (uint64_t[]){ 10, 20 }, NULL, 2);
	tb_close(&t, 100);
	open_fails(t.path, 0, "corrupt block: type 0x4753007f", NULL);
	unlink(t.path);
}

/* What a writer killed at any moment leaves: every prefix of a streamed
 * file reads (allowed truncated) as the events of its whole blocks. */
static void test_every_prefix_readable(void **state)
{
	(void)state;
	struct tb t;
	small_trace(&t, "prefix");
	long size = tb_size(t.path);
	char cut[300];
	snprintf(cut, sizeof(cut), "%s.cut", t.path);
	FILE *f = fopen(t.path, "rb");
	unsigned char *all = malloc((size_t)size);
	assert_int_equal(fread(all, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	for (long len = HDR; len <= size; len++) {
		f = fopen(cut, "wb");
		fwrite(all, 1, (size_t)len, f);
		fclose(f);
		char err[512] = "";
		struct gs_source *s = gs_source_native_open(cut, 1, err, sizeof(err));
		uint64_t want = len >= CHUNK2_OFF + CHUNK_BLK(2) ? 5
			      : len >= CHUNK1_OFF + CHUNK_BLK(3) ? 3 : 0;
		if (!want) {
			/* nothing to read yet: an error, not an empty report */
			if (s)
				fail_msg("cut at %ld: opened with no events", len);
			assert_non_null(strstr(err, "no events"));
			continue;
		}
		if (!s)
			fail_msg("cut at %ld: %s", len, err);
		struct gs_event ev;
		uint64_t n = 0;
		while (gs_source_next(s, &ev) == 1)
			n++;
		assert_int_equal(n, want);
		gs_source_close(s);
	}
	free(all);
	unlink(cut);
	unlink(t.path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_out_of_order_chunks),
		cmocka_unit_test(test_layout_assumption),
		cmocka_unit_test(test_bad_magic),
		cmocka_unit_test(test_unknown_major),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_corrupt_block),
		cmocka_unit_test(test_corrupt_record_at_open),
		cmocka_unit_test(test_unsorted_chunk),
		cmocka_unit_test(test_chunk_before_thread),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_data_after_end),
		cmocka_unit_test(test_open_any_detects_text),
		cmocka_unit_test(test_thread_redeclared),
		cmocka_unit_test(test_merge_many_threads),
		cmocka_unit_test(test_crc32c_vectors),
		cmocka_unit_test(test_every_byte_flip_detected),
		cmocka_unit_test(test_checksum_names_block),
		cmocka_unit_test(test_missing_block),
		cmocka_unit_test(test_end_block_sanity),
		cmocka_unit_test(test_block_types),
		cmocka_unit_test(test_probes_block),
		cmocka_unit_test(test_every_prefix_readable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
