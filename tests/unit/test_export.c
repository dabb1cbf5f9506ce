/* SPDX-License-Identifier: MIT */
/* The picture model and its writers on a synthetic convoy (export_fixture.h):
 * exact event counts per format, windows, nesting of off-CPU slices, the
 * protobuf wire format, and the HTML data block's round trip. The real
 * consumers (Chromium, speedscope, protoc) run in tests/integration. */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "export.h"
#include "export_fixture.h"
#include "json_writer.h"
#include "pbenc.h"

struct mem {
	char *buf;
	size_t len;
	FILE *f;
};

static void mem_open(struct mem *m)
{
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	assert_non_null(m->f);
}

static void mem_close(struct mem *m)
{
	assert_int_equal(fclose(m->f), 0);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static size_t marks_of(const struct gs_timeline *tl, int kind)
{
	size_t n = 0;
	for (size_t k = 0; k < tl->nmarks; k++)
		n += tl->marks[k].kind == kind;
	return n;
}

static void test_json_fixed(void **state)
{
	(void)state;
	struct mem m;
	mem_open(&m);
	struct json_writer j;
	json_init(&j, m.f, 0);
	json_begin_array(&j, NULL);
	json_fixed(&j, NULL, 1234567, 3);
	json_fixed(&j, NULL, 1000, 3);
	json_fixed(&j, NULL, -5, 3);
	json_fixed(&j, NULL, 1700000000123456789LL, 3);
	json_end(&j);
	mem_close(&m);
	assert_string_equal(m.buf, "[1234.567,1,-0.005,1700000000123456.789]\n");
	free(m.buf);
}

static void test_pbenc(void **state)
{
	(void)state;
	struct gs_pb pb = { 0 }, sub = { 0 };
	gs_pb_varint(&pb, 1, 300);
	gs_pb_string(&sub, 2, "hi");
	gs_pb_message(&pb, 60, &sub);
	gs_pb_fixed64(&pb, 47, 1);
	gs_pb_sint(&pb, 30, -1);
	static const uint8_t want[] = {
		0x08, 0xac, 0x02,                    /* 1: 300 */
		0xe2, 0x03, 0x04, 0x12, 0x02, 'h', 'i', /* 60: {2: "hi"} */
		0xf9, 0x02, 1, 0, 0, 0, 0, 0, 0, 0,  /* 47: fixed64 1 */
		0xf0, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0x01,                          /* 30: int64 -1 */
	};
	assert_int_equal(pb.len, sizeof(want));
	assert_memory_equal(pb.buf, want, sizeof(want));
	gs_pb_free(&pb);
	gs_pb_free(&sub);
}

static void test_model_and_stats(void **state)
{
	(void)state;
	struct gs_timeline tl;
	fx_convoy(&tl, 8, 0);
	assert_int_equal(tl.nthreads, 3);
	assert_int_equal(tl.t_start, FX_T0);
	assert_int_equal(tl.t_end, FX_T0 + 8 * FX_INTERVAL);
	assert_int_equal(tl.has_sched, 0);
	struct gs_tl_stats st;
	assert_int_equal(gs_tl_thread_stats(&tl, 0, tl.t_start, tl.t_end, &st), 0);
	/* cpu-1 holds in cycles 0,2,4,6 from +20 us to the cycle's end. */
	assert_int_equal(st.count[GS_TL_HOLD], 4);
	assert_int_equal(st.total[GS_TL_HOLD], 4 * (FX_INTERVAL - 20000));
	assert_int_equal(st.hist_hold[12], 4); /* 4980 us: [4096, 8192) */
	assert_int_equal(st.handoffs_in, 4);
	assert_int_equal(st.drop_requests, 4);
	/* A window clips: one cycle. */
	assert_int_equal(gs_tl_thread_stats(&tl, 2, FX_T0, FX_T0 + FX_INTERVAL, &st), 0);
	assert_int_equal(st.total[GS_TL_BLOCKED], 30000);
	assert_int_equal(st.total[GS_TL_WAIT], FX_INTERVAL - 50000);
	assert_int_equal(st.p50_wait, FX_INTERVAL - 50000);
	size_t k = gs_tl_first_span(tl.threads[2].spans, tl.threads[2].nspans,
				    FX_T0 + FX_INTERVAL);
	assert_int_equal(tl.threads[2].spans[k].t0, FX_T0 + FX_INTERVAL);
	gs_tl_free(&tl);
}

static void test_waiters_same_instant(void **state)
{
	(void)state;
	struct gs_timeline tl;
	gs_tl_init(&tl);
	gs_tl_add_waiters(&tl, 10, 1);
	gs_tl_add_waiters(&tl, 20, 0);
	gs_tl_add_waiters(&tl, 20, 2); /* later value at one instant wins */
	gs_tl_add_waiters(&tl, 30, 2); /* repeat: dropped */
	gs_tl_add_waiters(&tl, 40, 1);
	gs_tl_add_waiters(&tl, 40, 2); /* back to 2 at once: no change */
	gs_tl_finish(&tl);
	assert_int_equal(tl.nwaiters, 2);
	assert_int_equal(tl.waiters[1].ts, 20);
	assert_int_equal(tl.waiters[1].value, 2);
	gs_tl_free(&tl);
}

struct pieces {
	uint64_t total;
	size_t nested, free;
	uint64_t last_end;
};

static void piece(void *ctx, const struct gs_tl_span *p, int nested)
{
	struct pieces *c = ctx;
	assert_true(p->t0 >= c->last_end);
	c->last_end = p->t1;
	c->total += p->t1 - p->t0;
	if (nested)
		c->nested++;
	else
		c->free++;
}

static void test_offcpu_pieces(void **state)
{
	(void)state;
	struct gs_timeline tl;
	gs_tl_init(&tl);
	gs_tl_add_span(&tl, 1, GS_TL_WAIT, 100, 200, 0, 0);
	gs_tl_add_span(&tl, 1, GS_TL_HOLD, 200, 300, 0, 0);
	gs_tl_add_span(&tl, 1, GS_TL_BLOCKED, 400, 500, 0, 0);
	/* 150..450 crosses wait|hold, the 300..400 gap, and blocked. */
	gs_tl_add_span(&tl, 1, GS_TL_OFFCPU, 150, 450, GS_SCHED_BLOCKED, 0);
	gs_tl_add_span(&tl, 1, GS_TL_OFFCPU, 50, 60, GS_SCHED_PREEMPTED, 0);
	gs_tl_finish(&tl);
	struct pieces c = { 0 };
	size_t n = gs_export_offcpu_pieces(&tl.threads[0], 0, 1000, piece, &c);
	assert_int_equal(n, 5);
	assert_int_equal(c.total, 310);
	assert_int_equal(c.nested, 3); /* in wait, hold, blocked */
	assert_int_equal(c.free, 2);   /* 50..60 and the gap */
	/* A window cuts pieces too. */
	memset(&c, 0, sizeof(c));
	n = gs_export_offcpu_pieces(&tl.threads[0], 180, 250, piece, &c);
	assert_int_equal(n, 2);
	assert_int_equal(c.total, 70);
	gs_tl_free(&tl);
}

static void test_chrome_json(void **state)
{
	(void)state;
	struct gs_timeline tl;
	fx_convoy(&tl, 8, 1);
	struct mem m;
	mem_open(&m);
	assert_int_equal(gs_export_chrome_json(&tl, m.f, 0, 0), 0);
	mem_close(&m);
	size_t spans = 0, pieces = 0;
	for (size_t i = 0; i < tl.nthreads; i++) {
		struct pieces c = { 0 };
		spans += tl.threads[i].nspans;
		pieces += gs_export_offcpu_pieces(&tl.threads[i], tl.t_start,
						  tl.t_end, piece, &c);
	}
	assert_int_equal(count(m.buf, "\"ph\":\"X\""), spans + pieces);
	assert_int_equal(count(m.buf, "\"ph\":\"s\""), marks_of(&tl, GS_TL_MARK_HANDOFF));
	assert_int_equal(count(m.buf, "\"ph\":\"f\""), marks_of(&tl, GS_TL_MARK_HANDOFF));
	assert_int_equal(count(m.buf, "\"name\":\"drop request\""),
			 marks_of(&tl, GS_TL_MARK_DROP_REQUEST));
	assert_int_equal(count(m.buf, "\"name\":\"failed handoff\""),
			 marks_of(&tl, GS_TL_MARK_FAILED_HANDOFF));
	assert_int_equal(count(m.buf, "\"ph\":\"C\""), tl.nwaiters);
	assert_int_equal(count(m.buf, "\"name\":\"thread_name\""), 3);
	/* ts: microseconds with exact nanoseconds. */
	assert_non_null(strstr(m.buf, "\"ts\":1000020,\"dur\":30"));
	assert_non_null(strstr(m.buf, "\"ts\":1004900"));
	uint64_t est = gs_export_chrome_json_estimate(&tl, 0, 0);
	assert_true(est > m.len / 2 && est < m.len * 2);
	size_t whole = m.len;
	free(m.buf);

	/* One cycle: far fewer events, all inside the window. */
	mem_open(&m);
	assert_int_equal(gs_export_chrome_json(&tl, m.f, FX_T0 + FX_INTERVAL,
					       FX_T0 + 2 * FX_INTERVAL), 0);
	mem_close(&m);
	assert_true(m.len < whole / 4);
	assert_null(strstr(m.buf, "\"ts\":1000020,"));
	assert_int_equal(count(m.buf, "\"ph\":\"s\""), 1);
	free(m.buf);

	/* A window past the end is an error, not an empty file. */
	mem_open(&m);
	assert_int_equal(gs_export_chrome_json(&tl, m.f, tl.t_end + 10, tl.t_end + 20), -1);
	mem_close(&m);
	free(m.buf);
	gs_tl_free(&tl);
}

static uint64_t rd_varint(const uint8_t **p, const uint8_t *end)
{
	uint64_t v = 0;
	int shift = 0;
	while (*p < end) {
		uint8_t b = *(*p)++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
		shift += 7;
	}
	fail_msg("truncated varint");
	return 0;
}

static void test_perfetto_packets(void **state)
{
	(void)state;
	struct gs_timeline tl;
	fx_convoy(&tl, 8, 1);
	struct mem m;
	mem_open(&m);
	assert_int_equal(gs_export_perfetto(&tl, m.f, 0, 0), 0);
	mem_close(&m);
	/* Top level: only Trace.packet (field 1, length-delimited). */
	const uint8_t *p = (const uint8_t *)m.buf, *end = p + m.len;
	size_t packets = 0;
	while (p < end) {
		assert_int_equal(rd_varint(&p, end), (1 << 3) | 2);
		uint64_t len = rd_varint(&p, end);
		assert_true(len <= (uint64_t)(end - p));
		p += len;
		packets++;
	}
	size_t want = 2 + tl.nwaiters + tl.nfindings;
	for (size_t i = 0; i < tl.nthreads; i++) {
		struct pieces c = { 0 };
		want += 1 + 2 * tl.threads[i].nspans +
			2 * gs_export_offcpu_pieces(&tl.threads[i], tl.t_start,
						    tl.t_end, piece, &c);
		for (size_t k = 0; k < tl.nmarks; k++)
			want += tl.marks[k].kind != GS_TL_MARK_HANDOFF &&
				tl.marks[k].tid == tl.threads[i].tid;
	}
	assert_int_equal(packets, want);
	free(m.buf);
	gs_tl_free(&tl);
}

static void test_svg(void **state)
{
	(void)state;
	struct gs_timeline tl;
	fx_convoy(&tl, 8, 1);
	struct mem m;
	mem_open(&m);
	assert_int_equal(gs_render_svg(&tl, m.f, 0, 0, NULL), 0);
	mem_close(&m);
	assert_int_equal(count(m.buf, "<g class=\"row\""), 3);
	assert_int_equal(count(m.buf, "class=\"handoff\""), marks_of(&tl, GS_TL_MARK_HANDOFF));
	assert_int_equal(count(m.buf, "class=\"failed\""), marks_of(&tl, GS_TL_MARK_FAILED_HANDOFF));
	assert_non_null(strstr(m.buf, "io &lt;1&gt;"));
	assert_null(strstr(m.buf, "io <1>"));
	assert_non_null(strstr(m.buf, "</svg>\n"));
	free(m.buf);
	gs_tl_free(&tl);
}

static int b64val(int c)
{
	const char *tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = strchr(tab, c);
	return p && c ? (int)(p - tab) : -1;
}

static void test_html_data_round_trip(void **state)
{
	(void)state;
	struct gs_timeline tl;
	fx_convoy(&tl, 8, 1);
	gs_tl_thread_set(&tl, FX_CPU1, "</script><b>", GS_ROLE_CPU);
	struct mem m;
	mem_open(&m);
	assert_int_equal(gs_render_html(&tl, m.f, NULL), 0);
	mem_close(&m);
	assert_non_null(strstr(m.buf, "data-rows=\"3\""));
	/* The name is escaped in the tables and in the JSON block. */
	assert_int_equal(count(m.buf, "</script>"), 3);
	assert_non_null(strstr(m.buf, "&lt;/script&gt;&lt;b&gt;"));
	assert_null(strstr(m.buf, "http://"));
	assert_null(strstr(m.buf, "https://"));

	const char *b = strstr(m.buf, "type=\"application/octet-stream\">");
	assert_non_null(b);
	b = strchr(b, '>') + 1;
	const char *e = strstr(b, "</script>");
	size_t n = 0;
	uint8_t *bin = malloc((size_t)(e - b));
	uint32_t acc = 0;
	int bits = 0;
	for (const char *q = b; q < e && *q != '='; q++) {
		int v = b64val(*q);
		assert_true(v >= 0);
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			bin[n++] = (uint8_t)(acc >> bits);
		}
	}
	const uint8_t *p = bin, *end = bin + n;
	for (size_t i = 0; i < tl.nthreads; i++) {
		for (int lane = 0; lane < 2; lane++) {
			uint64_t cnt = rd_varint(&p, end);
			assert_int_equal(cnt, lane ? tl.threads[i].noffcpu
						   : tl.threads[i].nspans);
			uint64_t t = 0;
			for (uint64_t k = 0; k < cnt; k++) {
				uint64_t z = rd_varint(&p, end);
				t += (z & 1) ? -((z + 1) >> 1) : z >> 1;
				const struct gs_tl_span *s =
					lane ? &tl.threads[i].offcpu[k] : &tl.threads[i].spans[k];
				assert_int_equal(t, s->t0 - tl.t_start);
				t += rd_varint(&p, end);
				assert_int_equal(t, s->t1 - tl.t_start);
				assert_int_equal(rd_varint(&p, end) & 7, s->state);
				rd_varint(&p, end);
			}
		}
	}
	assert_int_equal(rd_varint(&p, end), tl.nmarks);
	for (size_t k = 0; k < tl.nmarks * 5; k++)
		rd_varint(&p, end);
	assert_int_equal(rd_varint(&p, end), tl.nwaiters);
	for (size_t k = 0; k < tl.nwaiters * 2; k++)
		rd_varint(&p, end);
	assert_ptr_equal(p, end);
	free(bin);
	free(m.buf);
	gs_tl_free(&tl);
}

static void test_html_cut(void **state)
{
	(void)state;
	struct gs_timeline tl;
	fx_convoy(&tl, 40, 0);
	struct gs_html_opts o = { .max_spans = 60 };
	struct mem m;
	mem_open(&m);
	assert_int_equal(gs_render_html(&tl, m.f, &o), 0);
	mem_close(&m);
	assert_non_null(strstr(m.buf, "class=\"warn\">This trace has"));
	free(m.buf);
	gs_tl_free(&tl);
}

/* An empty trace (no thread ever touched the GIL) still gives valid,
 * blank outputs in every format. */
static void test_empty(void **state)
{
	(void)state;
	struct gs_timeline tl;
	gs_tl_init(&tl);
	gs_tl_finish(&tl);
	struct mem m;
	mem_open(&m);
	assert_int_equal(gs_export_chrome_json(&tl, m.f, 0, 0), 0);
	assert_int_equal(gs_render_svg(&tl, m.f, 0, 0, NULL), 0);
	assert_int_equal(gs_render_html(&tl, m.f, NULL), 0);
	mem_close(&m);
	assert_non_null(strstr(m.buf, "\"traceEvents\":["));
	assert_non_null(strstr(m.buf, "</svg>"));
	assert_non_null(strstr(m.buf, "data-rows=\"0\""));
	free(m.buf);
	mem_open(&m); /* binary: its own buffer */
	assert_int_equal(gs_export_perfetto(&tl, m.f, 0, 0), 0);
	mem_close(&m);
	assert_true(m.len > 0);
	free(m.buf);
	gs_tl_free(&tl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_fixed),
		cmocka_unit_test(test_pbenc),
		cmocka_unit_test(test_model_and_stats),
		cmocka_unit_test(test_waiters_same_instant),
		cmocka_unit_test(test_offcpu_pieces),
		cmocka_unit_test(test_chrome_json),
		cmocka_unit_test(test_perfetto_packets),
		cmocka_unit_test(test_svg),
		cmocka_unit_test(test_html_data_round_trip),
		cmocka_unit_test(test_html_cut),
		cmocka_unit_test(test_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
