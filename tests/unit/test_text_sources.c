/* SPDX-License-Identifier: MIT */
/*
 * The perf-script and trace-cmd report readers on small handwritten inputs
 * with known answers: field mapping, scheduler events of the traced
 * process only, lost-event lines, and malformed lines (error with the line
 * number).
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "source.h"
#include "source_common.h"
#include "text_escape.h"

static char *write_tmp_n(const char *text, size_t n)
{
	static char path[64];
	snprintf(path, sizeof(path), "/tmp/gs-text-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	close(fd);
	return path;
}

static char *write_tmp(const char *text)
{
	return write_tmp_n(text, strlen(text));
}

static const char perf_text[] =
	"# ========\n"
	"# captured on    : Sun Nov 22 01:07:18 2026\n"
	"\n"
	"              wl 100/101 [001]   757.750144123: sdt_gil:thread_start: (7f243ee137f0) arg1=2 arg2=20 arg3=0 arg4=139793535077272\n"
	"              wl 100/101 [001]   757.750150000: sdt_gil:acquire_request: (7f243ee13300) arg1=0 arg2=0 arg3=0\n"
	"              wl 100/101 [001]   757.750200000: sdt_gil:acquired_1: (7f243ee133e0) arg1=0 arg2=3 arg3=77\n"
	"              wl 100/102 [000]   757.750300000: sdt_gil:drop_request: (7f243ee13630) arg2=101\n"
	"              wl 100/101 [001]   757.750400000: sched:sched_switch: prev_comm=wl prev_pid=101 prev_prio=120 prev_state=R+ ==> next_comm=wl next_pid=102 next_prio=120\n"
	"         swapper 0/0 [000]   757.750500000: sched:sched_switch: prev_comm=swapper/0 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=wl next_pid=102 next_prio=120\n"
	"              wl 100/102 [000]   757.750600000: sched:sched_wakeup: comm=wl pid=101 prio=120 target_cpu=008\n"
	"              wl 100/102 [000]   757.750650000: sched:sched_wakeup: comm=rcu pid=15 prio=120 target_cpu=000\n"
	"           other 300/301 [000]   757.750700000: sdt_gil:acquired: (7f243ee133e0) arg1=0 arg2=0 arg3=0\n"
	"              wl 100/101 [001]   757.750800000: probe_libc:malloc: (7f0000001000)\n"
	"              wl 100/101 [000]   757.750900000: PERF_RECORD_LOST lost 40\n"
	"              wl 100/101 [001]   757.751: sdt_gil:release: (7f243ee13300) arg1=2 arg2=1 arg3=1\n";

static void expect(struct gs_source *s, unsigned type, uint64_t ts,
		   uint32_t tid, uint16_t cpu, unsigned a8, uint32_t a0,
		   uint32_t a1)
{
	struct gs_event ev;
	int rc = gs_source_next(s, &ev);
	if (rc != 1)
		fail_msg("expected %s, got rc %d (%s)", gs_event_name(type),
			 rc, gs_source_error(s));
	assert_string_equal(gs_event_name(ev.type), gs_event_name(type));
	assert_int_equal(ev.ts_ns, ts);
	assert_int_equal(ev.tid, tid);
	assert_int_equal(ev.cpu, cpu);
	assert_int_equal(ev.a8, a8);
	assert_int_equal(ev.a0, a0);
	assert_int_equal(ev.a1, a1);
}

static void test_perf_mapping(void **state)
{
	(void)state;
	char err[512];
	char *path = write_tmp(perf_text);
	struct gs_source *s = gs_source_perf_script_open(path, 0, err,
							 sizeof(err));
	assert_non_null(s);
	struct gs_event ev;
	assert_int_equal(gs_source_next(s, &ev), 1);
	assert_int_equal(ev.type, GS_EV_thread_start);
	assert_int_equal(ev.ts_ns, 757750144123ull);
	assert_int_equal(ev.tid, 101);
	assert_int_equal(ev.a8, 2);
	assert_int_equal(ev.a0, 20);
	/* perf cannot fetch the name string: the comm stands in. */
	assert_string_equal(ev.str, "wl");
	expect(s, GS_EV_acquire_request, 757750150000ull, 101, 1, 0, 0, 0);
	/* NAME_1 (perf's duplicate name) is still NAME. */
	expect(s, GS_EV_acquired, 757750200000ull, 101, 1, 0, 3, 77);
	/* perf leaves out constant arguments: they are 0. */
	expect(s, GS_EV_drop_request, 757750300000ull, 102, 0, 0, 101, 0);
	/* Both threads are ours: one switch gives an out and an in. */
	expect(s, GS_EV_sched_switch_out, 757750400000ull, 101, 1,
	       GS_SCHED_PREEMPTED, 102, 0);
	expect(s, GS_EV_sched_switch_in, 757750400000ull, 102, 1, 0, 101, 0);
	expect(s, GS_EV_sched_switch_in, 757750500000ull, 102, 0, 0, 0, 0);
	/* target_cpu=008 is decimal, not octal. */
	expect(s, GS_EV_sched_wakeup, 757750600000ull, 101, 0, 0, 102, 8);
	/* rcu's wakeup, pid 300's gil event and malloc are skipped; the
	 * lost record is a marker of no thread with its count. */
	expect(s, GS_EV_lost, 757750900000ull, 0, 0, 0, 40, 0);
	expect(s, GS_EV_release, 757751000000ull, 101, 1, 2, 1, 1);
	assert_int_equal(gs_source_next(s, &ev), 0);
	struct gs_source_totals t;
	s->ops->totals(s, &t);
	assert_int_equal(t.events, 9);
	assert_int_equal(t.lost, 40);
	assert_int_equal(t.complete, 1);
	assert_int_equal(s->info.pid, 100);
	const struct gs_thread_info *ti = s->ops->thread(s, 101);
	assert_non_null(ti);
	assert_int_equal(ti->role, 2);
	gs_source_close(s);
	unlink(path);
}

static void test_perf_malformed(void **state)
{
	(void)state;
	char err[512];
	char *path = write_tmp(
		"              wl 100/101 [001]   757.750144123: sdt_gil:thread_exit: (7f)\n"
		"\n"
		"              wl 100/101 [001]   garbage: sdt_gil:acquired: (7f)\n");
	struct gs_source *s = gs_source_perf_script_open(path, 0, err,
							 sizeof(err));
	assert_non_null(s);
	struct gs_event ev;
	assert_int_equal(gs_source_next(s, &ev), 1);
	assert_int_equal(gs_source_next(s, &ev), -1);
	const char *e = gs_source_error(s);
	assert_non_null(strstr(e, path));
	assert_non_null(strstr(e, "line 3"));
	assert_non_null(strstr(e, "SECONDS"));
	gs_source_close(s);
	unlink(path);
}

static const char tracecmd_text[] =
	"cpus=2\n"
	"gs_1:               wl-15035 [000]   804.747711123: thread_start:         (7f03c70327f0) a8=3 a0=20 a1=5 name=\"io 0\"\n"
	"gs_1:               wl-15036 [001]   804.747712: acquired:             (7f03c70323e0) a8=1 a0=2 a1=15035\n"
	"gs_1:               wl-15036 [001]   804.748000000: sched_switch:         wl:15036 [120] S ==> swapper/1:0 [120]\n"
	"gs_1:           <idle>-0     [000]   804.748100000: sched_wakeup:         wl:15036 [120] CPU:001\n"
	"CPU:1 [LOST 42 EVENTS]\n"
	"gs_1: CPU:0 [EVENTS DROPPED]\n"
	"gs_1: CPU:1 [100 EVENTS DROPPED]\n"
	"gs_1:           <idle>-0     [001]   804.748200000: sched_switch:         swapper/1:0 [120] R ==> wl:15036 [120]\n"
	"gs_1:               wl-15036 [001]   804.748300000: gilscope_9/release: (7f) a8=0 a0=0 a1=0\n";

static void test_tracecmd_mapping(void **state)
{
	(void)state;
	char err[512];
	char *path = write_tmp(tracecmd_text);
	struct gs_source *s = gs_source_tracecmd_open(path, 0, err,
						      sizeof(err));
	assert_non_null(s);
	struct gs_event ev;
	assert_int_equal(gs_source_next(s, &ev), 1);
	assert_int_equal(ev.type, GS_EV_thread_start);
	assert_int_equal(ev.tid, 15035);
	assert_int_equal(ev.a1, 5);
	assert_string_equal(ev.str, "io 0");
	/* Microsecond timestamps (trace-cmd report without -t) work too. */
	expect(s, GS_EV_acquired, 804747712000ull, 15036, 1, 1, 2, 15035);
	expect(s, GS_EV_sched_switch_out, 804748000000ull, 15036, 1,
	       GS_SCHED_BLOCKED, 0, 0);
	expect(s, GS_EV_sched_wakeup, 804748100000ull, 15036, 0, 0, 0, 1);
	/* Lost lines carry no time: their markers take the last event's. */
	expect(s, GS_EV_lost, 804748100000ull, 0, 0, 0, 42, 0);
	expect(s, GS_EV_lost, 804748100000ull, 0, 0, 0, 1, 0);
	expect(s, GS_EV_lost, 804748100000ull, 0, 0, 0, 100, 0);
	expect(s, GS_EV_sched_switch_in, 804748200000ull, 15036, 1, 0, 0, 0);
	expect(s, GS_EV_release, 804748300000ull, 15036, 1, 0, 0, 0);
	assert_int_equal(gs_source_next(s, &ev), 0);
	struct gs_source_totals t;
	s->ops->totals(s, &t);
	/* 42 + 100 counted, plus one for an overwrite of unknown count */
	assert_int_equal(t.lost, 143);
	const struct gs_thread_info *ti = s->ops->thread(s, 15035);
	assert_non_null(ti);
	assert_string_equal(ti->name, "io 0");
	gs_source_close(s);
	unlink(path);
}

static void test_tracecmd_malformed_and_detection(void **state)
{
	(void)state;
	char err[512];
	char *path = write_tmp("cpus=2\n"
			       "gs_1:  wl-15035 [000]   804.747711123: acquired: a8=0\n"
			       "gs_1:  wl-15035 [000]   804.747711123: sched_switch: nonsense\n");
	struct gs_source *s = gs_source_tracecmd_open(path, 0, err,
						      sizeof(err));
	assert_non_null(s);
	struct gs_event ev;
	assert_int_equal(gs_source_next(s, &ev), 1);
	assert_int_equal(gs_source_next(s, &ev), -1);
	assert_non_null(strstr(gs_source_error(s), "line 3"));
	assert_non_null(strstr(gs_source_error(s), "sched_switch"));
	gs_source_close(s);

	/* Each reader refuses the other's text, naming the format. */
	assert_null(gs_source_perf_script_open(path, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "not perf-script"));
	unlink(path);
	path = write_tmp(perf_text);
	assert_null(gs_source_tracecmd_open(path, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "not trace-cmd"));
	unlink(path);
}

static void test_parse_helpers(void **state)
{
	(void)state;
	uint64_t ns, v;
	assert_non_null(gs_parse_timestamp("12.5:", &ns));
	assert_int_equal(ns, 12500000000ull);
	assert_non_null(gs_parse_timestamp("1.000000001", &ns));
	assert_int_equal(ns, 1000000001ull);
	assert_null(gs_parse_timestamp("1.0000000001", &ns)); /* > ns */
	assert_null(gs_parse_timestamp("12", &ns));
	assert_int_equal(gs_find_uint_arg("a8=1 a0=0x10 a1=9", "a0", &v), 0);
	assert_int_equal(v, 16);
	assert_int_equal(gs_find_uint_arg("xa0=1", "a0", &v), -1);
	assert_int_equal(gs_find_uint_arg("a0=zz", "a0", &v), -1);
}

/* ---- damaged text: NUL bytes, a cut last line, control bytes ---------- */

#define PERF_LINE(t, ev) "              wl 100/101 [001]   757.7501" t ": sdt_gil:" ev ": (7f) arg1=0 arg2=0 arg3=0\n"

/* Reads until the end or an error: events delivered, rc of the last next(). */
static int drain(struct gs_source *s, int *events)
{
	struct gs_event ev;
	int rc;
	*events = 0;
	while ((rc = gs_source_next(s, &ev)) == 1)
		(*events)++;
	return rc;
}

static void test_perf_nul_line(void **state)
{
	(void)state;
	char text[512], err[512];
	size_t n = 0;
	n += (size_t)snprintf(text + n, sizeof(text) - n, "%s", PERF_LINE("00000", "acquire_request"));
	n += (size_t)snprintf(text + n, sizeof(text) - n, "%s", PERF_LINE("10000", "acquired"));
	memset(text + n, 0, 64); /* a block of zeros, as a crash leaves them */
	n += 64;
	text[n++] = '\n';
	n += (size_t)snprintf(text + n, sizeof(text) - n, "%s", PERF_LINE("20000", "release"));
	char *path = write_tmp_n(text, n);
	struct gs_source *s = gs_source_perf_script_open(path, 0, err, sizeof(err));
	if (!s)
		fail_msg("%s", err);
	int events;
	assert_int_equal(drain(s, &events), -1);
	assert_int_equal(events, 2);
	const char *e = gs_source_error(s);
	if (!strstr(e, "line 3 (offset ") || !strstr(e, "64 NUL byte(s)") ||
	    !strstr(e, "the file is damaged"))
		fail_msg("message: %s", e);
	gs_source_close(s);
	/* not excused by --allow-truncated: it is damage, not a cut */
	s = gs_source_perf_script_open(path, 1, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(drain(s, &events), -1);
	gs_source_close(s);
	unlink(path);
}

static void test_perf_cut_last_line(void **state)
{
	(void)state;
	char text[512], err[512];
	int n = snprintf(text, sizeof(text), "%s%s", PERF_LINE("00000", "acquire_request"),
			 PERF_LINE("10000", "acquired"));
	/* the third line stops inside its fields: arg2= is where it ends */
	n += snprintf(text + n, sizeof(text) - (size_t)n, "%s",
		      "              wl 100/101 [001]   757.750200000: sdt_gil:release: (7f) arg1=2 arg2=");
	char *path = write_tmp_n(text, (size_t)n);
	struct gs_source *s = gs_source_perf_script_open(path, 0, err, sizeof(err));
	assert_non_null(s);
	int events;
	assert_int_equal(drain(s, &events), -1);
	assert_int_equal(events, 2);
	const char *e = gs_source_error(s);
	if (!strstr(e, "line 3 (offset ") || !strstr(e, "the last line is cut short") ||
	    !strstr(e, "--allow-truncated"))
		fail_msg("message: %s", e);
	gs_source_close(s);
	/* allowed: the lines before it, and the trace marked incomplete */
	s = gs_source_perf_script_open(path, 1, err, sizeof(err));
	assert_non_null(s);
	assert_int_equal(drain(s, &events), 0);
	assert_int_equal(events, 2);
	struct gs_source_totals t;
	s->ops->totals(s, &t);
	assert_int_equal(t.complete, 0);
	gs_source_close(s);
	unlink(path);
}

static void test_control_bytes_escaped(void **state)
{
	(void)state;
	char err[512];
	char *path = write_tmp(PERF_LINE("00000", "acquired")
			       "              wl 100/101 [001]   \x1b]0;pwned\x07\x1b[2J: sdt_gil:acquired: (7f)\n");
	struct gs_source *s = gs_source_perf_script_open(path, 0, err, sizeof(err));
	assert_non_null(s);
	int events;
	assert_int_equal(drain(s, &events), -1);
	const char *e = gs_source_error(s);
	for (const char *p = e; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			fail_msg("raw control byte 0x%02x in '%s'", *p, e);
	if (!strstr(e, "\\x1b]0;pwned\\x07\\x1b[2J"))
		fail_msg("not escaped as \\xNN: %s", e);
	gs_source_close(s);
	unlink(path);

	char out[64];
	assert_string_equal(gs_text_escape("a\tb\\c", out, sizeof(out)), "a\\x09b\\\\c");
	/* UTF-8 passes, C1 controls and stray bytes do not */
	assert_string_equal(gs_text_escape("caf\xc3\xa9", out, sizeof(out)), "caf\xc3\xa9");
	assert_string_equal(gs_text_escape("\xc2\x9b" "1m", out, sizeof(out)), "\\xc2\\x9b1m");
	assert_string_equal(gs_text_escape("\xff", out, sizeof(out)), "\\xff");
	/* cut with an ellipsis, never inside an escape */
	gs_text_escape("\x1b\x1b\x1b\x1b\x1b", out, 12);
	assert_string_equal(out, "\\x1b\\x1b...");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_perf_mapping),
		cmocka_unit_test(test_perf_malformed),
		cmocka_unit_test(test_tracecmd_mapping),
		cmocka_unit_test(test_tracecmd_malformed_and_detection),
		cmocka_unit_test(test_parse_helpers),
		cmocka_unit_test(test_perf_nul_line),
		cmocka_unit_test(test_perf_cut_last_line),
		cmocka_unit_test(test_control_bytes_escaped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
