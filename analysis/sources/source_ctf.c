/* SPDX-License-Identifier: MIT */
/*
 * Reads an LTTng-UST CTF trace directory (tools/lttng/gilscope-lttng) through
 * libbabeltrace2: source.ctf.fs -> filter.utils.muxer -> a simple sink of
 * ours that turns gil:* event messages into catalog events.
 *
 * Mapping (docs/tutorial-lttng.md):
 *   event class "gil:NAME"    -> catalog event NAME (gs_event_lookup)
 *   payload fields            -> a8/a0/a1 by the catalog's argument names,
 *                                "name" -> thread_start's string
 *   common context "vtid"     -> tid ("vpid" -> the trace's pid,
 *                                "procname" -> its command)
 *   packet context "cpu_id"   -> cpu
 *   clock snapshot            -> ts_ns: the raw clock value in ns, i.e.
 *                                CLOCK_MONOTONIC like the native recorder
 *                                (the clock class offset, which moves it to
 *                                the Unix epoch, is left out on purpose)
 *   discarded-events messages -> totals.lost (the packet contexts'
 *                                events_discarded differences)
 * Other event classes (other providers in the same session) are skipped.
 */
#define _GNU_SOURCE
#include <babeltrace2/babeltrace.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "source.h"
#include "ctf_dirs.h"
#include "text_escape.h"
#include "source_common.h"

struct qev {
	struct gs_event ev;
	char name[32];
};

struct ctf_source {
	struct gs_source base;
	bt_graph *graph;
	int ended, failed;
	struct qev *q;
	size_t qhead, qlen, qcap;
	char cur_name[32];
	struct gs_thread_table threads;
	uint64_t events, lost, skipped;
};

static void take_bt_error(struct ctf_source *s, const char *what)
{
	const bt_error *err = bt_current_thread_take_error();
	const char *msg = NULL;
	if (err && bt_error_get_cause_count(err) > 0) {
		/* Cause 0 is the innermost: the actual problem. */
		const bt_error_cause *c = bt_error_borrow_cause_by_index(err, 0);
		msg = bt_error_cause_get_message(c);
	}
	/* babeltrace2 quotes the trace's own bytes (metadata text) */
	char shown[600] = "";
	if (msg)
		gs_text_escape(msg, shown, sizeof(shown));
	snprintf(s->base.error, sizeof(s->base.error),
		 "%s: %s%s%s (check the trace with babeltrace2 %s)",
		 s->base.info.path, what, msg ? ": " : "", shown,
		 s->base.info.path);
	if (err)
		bt_error_release(err);
}

static int get_uint(const bt_field *f, uint64_t *out)
{
	if (!f)
		return -1;
	bt_field_class_type t = bt_field_get_class_type(f);
	if (bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_UNSIGNED_INTEGER)) {
		*out = bt_field_integer_unsigned_get_value(f);
		return 0;
	}
	if (bt_field_class_type_is(t, BT_FIELD_CLASS_TYPE_SIGNED_INTEGER)) {
		*out = (uint64_t)bt_field_integer_signed_get_value(f);
		return 0;
	}
	return -1;
}

static const bt_field *member(const bt_field *st, const char *name)
{
	if (!st || bt_field_get_class_type(st) != BT_FIELD_CLASS_TYPE_STRUCTURE)
		return NULL;
	return bt_field_structure_borrow_member_field_by_name_const(st, name);
}

static struct qev *q_push(struct ctf_source *s)
{
	if (s->qhead == s->qlen)
		s->qhead = s->qlen = 0;
	if (s->qlen == s->qcap) {
		size_t cap = s->qcap ? s->qcap * 2 : 1024;
		struct qev *q = realloc(s->q, cap * sizeof(*q));
		if (!q)
			return NULL;
		s->q = q;
		s->qcap = cap;
	}
	struct qev *e = &s->q[s->qlen++];
	memset(e, 0, sizeof(*e));
	return e;
}

static int on_event(struct ctf_source *s, const bt_message *msg)
{
	const bt_event *event = bt_message_event_borrow_event_const(msg);
	const bt_event_class *ec = bt_event_borrow_class_const(event);
	const char *name = bt_event_class_get_name(ec);
	if (!name || strncmp(name, "gil:", 4) != 0) {
		s->skipped++;
		return 0;
	}
	int type = gs_event_lookup(name + 4);
	if (type < 0) {
		/* A newer provider with events this build does not know. */
		s->skipped++;
		return 0;
	}
	struct qev *e = q_push(s);
	if (!e)
		return -1;
	e->ev.type = (uint8_t)type;

	const bt_clock_snapshot *cs =
		bt_message_event_borrow_default_clock_snapshot_const(msg);
	const bt_clock_class *cc = bt_clock_snapshot_borrow_clock_class_const(cs);
	uint64_t cycles = bt_clock_snapshot_get_value(cs);
	uint64_t freq = bt_clock_class_get_frequency(cc);
	e->ev.ts_ns = freq == 1000000000u
			      ? cycles
			      : (uint64_t)((unsigned __int128)cycles *
					   1000000000u / freq);

	uint64_t v;
	const bt_field *ctx = bt_event_borrow_common_context_field_const(event);
	if (get_uint(member(ctx, "vtid"), &v) == 0)
		e->ev.tid = (uint32_t)v;
	if (!s->base.info.pid && get_uint(member(ctx, "vpid"), &v) == 0) {
		s->base.info.pid = (uint32_t)v;
		const bt_field *pn = member(ctx, "procname");
		if (pn && bt_field_get_class_type(pn) ==
				  BT_FIELD_CLASS_TYPE_STRING)
			snprintf(s->base.info.command,
				 sizeof(s->base.info.command), "%s",
				 bt_field_string_get_value(pn));
	}
	const bt_packet *pkt = bt_event_borrow_packet_const(event);
	if (pkt && get_uint(member(bt_packet_borrow_context_field_const(pkt),
				   "cpu_id"), &v) == 0)
		e->ev.cpu = (uint16_t)v;

	const bt_field *payload = bt_event_borrow_payload_field_const(event);
	for (unsigned i = 0; i < 3; i++) {
		/* NULL for the catalog's unused arguments: they stay 0. */
		const char *arg = gs_event_arg_name((unsigned)type, i);
		if (!arg || get_uint(member(payload, arg), &v) != 0)
			continue;
		if (i == 0)
			e->ev.a8 = (uint8_t)v;
		else if (i == 1)
			e->ev.a0 = (uint32_t)v;
		else
			e->ev.a1 = (uint32_t)v;
	}
	const bt_field *str = member(payload, "name");
	if (str && bt_field_get_class_type(str) == BT_FIELD_CLASS_TYPE_STRING)
		snprintf(e->name, sizeof(e->name), "%s",
			 bt_field_string_get_value(str));
	return 0;
}

static bt_graph_simple_sink_component_consume_func_status
sink_consume(bt_message_iterator *it, void *data)
{
	struct ctf_source *s = data;
	bt_message_array_const msgs;
	uint64_t n;
	switch (bt_message_iterator_next(it, &msgs, &n)) {
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_OK:
		break;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_END:
		return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_END;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_AGAIN:
		return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_AGAIN;
	case BT_MESSAGE_ITERATOR_NEXT_STATUS_MEMORY_ERROR:
		return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_MEMORY_ERROR;
	default:
		return BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_ERROR;
	}
	int rc = 0;
	for (uint64_t i = 0; i < n; i++) {
		const bt_message *m = msgs[i];
		uint64_t count;
		if (rc == 0) {
			switch (bt_message_get_type(m)) {
			case BT_MESSAGE_TYPE_EVENT:
				rc = on_event(s, m);
				break;
			case BT_MESSAGE_TYPE_DISCARDED_EVENTS:
				if (bt_message_discarded_events_get_count(
					    m, &count) ==
				    BT_PROPERTY_AVAILABILITY_AVAILABLE)
					s->lost += count;
				break;
			default:
				break;
			}
		}
		bt_message_put_ref(m);
	}
	return rc == 0 ? BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_OK
		       : BT_GRAPH_SIMPLE_SINK_COMPONENT_CONSUME_FUNC_STATUS_MEMORY_ERROR;
}

static int ctf_next(struct gs_source *base, struct gs_event *ev)
{
	struct ctf_source *s = (struct ctf_source *)base;
	while (s->qhead == s->qlen) {
		if (s->failed)
			return -1;
		if (s->ended)
			return 0;
		switch (bt_graph_run_once(s->graph)) {
		case BT_GRAPH_RUN_ONCE_STATUS_OK:
		case BT_GRAPH_RUN_ONCE_STATUS_AGAIN:
			break;
		case BT_GRAPH_RUN_ONCE_STATUS_END:
			s->ended = 1;
			break;
		default:
			s->failed = 1;
			take_bt_error(s, "babeltrace2 could not read the trace");
			return -1;
		}
	}
	struct qev *e = &s->q[s->qhead++];
	*ev = e->ev;
	if (ev->type == GS_EV_thread_start) {
		memcpy(s->cur_name, e->name, sizeof(s->cur_name));
		ev->str = s->cur_name;
	}
	if (!s->base.info.start_ns)
		s->base.info.start_ns = ev->ts_ns;
	s->base.info.end_ns = ev->ts_ns;
	gs_threads_note(&s->threads, ev);
	s->events++;
	return 1;
}

static const struct gs_thread_info *ctf_thread(struct gs_source *base,
					       uint32_t tid)
{
	return gs_threads_find(&((struct ctf_source *)base)->threads, tid);
}

static void ctf_totals(struct gs_source *base, struct gs_source_totals *out)
{
	struct ctf_source *s = (struct ctf_source *)base;
	memset(out, 0, sizeof(*out));
	out->events = s->events;
	out->lost = s->lost;
	/* CTF has no end marker of its own: complete unless unreadable. */
	out->complete = !s->failed;
}

static void ctf_close(struct gs_source *base)
{
	struct ctf_source *s = (struct ctf_source *)base;
	bt_graph_put_ref(s->graph);
	free(s->q);
	gs_threads_free(&s->threads);
	free(s);
}

static const struct gs_source_ops ctf_ops = {
	.next = ctf_next,
	.thread = ctf_thread,
	.totals = ctf_totals,
	.close = ctf_close,
};

static int add_input(void *ctx, const char *dir)
{
	return bt_value_array_append_string_element((bt_value *)ctx, dir) ? -1 : 0;
}

static const bt_plugin *find_plugin(const char *name)
{
	const bt_plugin *p = NULL;
	if (bt_plugin_find(name, BT_TRUE, BT_TRUE, BT_TRUE, BT_TRUE, BT_FALSE,
			   &p) != BT_PLUGIN_FIND_STATUS_OK)
		return NULL;
	return p;
}

static int build_graph(struct ctf_source *s, const char *path)
{
	const char *what = "cannot load the babeltrace2 'ctf' and 'utils' "
			   "plugins (install babeltrace2)";
	const bt_plugin *ctf = find_plugin("ctf"), *utils = find_plugin("utils");
	bt_value *params = NULL, *inputs = NULL;
	int rc = -1;
	if (!ctf || !utils)
		goto out;
	const bt_component_class_source *fs =
		bt_plugin_borrow_source_component_class_by_name_const(ctf, "fs");
	const bt_component_class_filter *mux =
		bt_plugin_borrow_filter_component_class_by_name_const(utils,
								      "muxer");
	if (!fs || !mux)
		goto out;

	what = "out of memory";
	s->graph = bt_graph_create(0);
	params = bt_value_map_create();
	inputs = bt_value_array_create();
	struct gs_ctf_dirs walk = { .on_trace = add_input, .ctx = inputs };
	char werr[256];
	if (!s->graph || !params || !inputs ||
	    gs_ctf_find_traces(path, 6, &walk, werr, sizeof(werr)) <= 0 ||
	    bt_value_map_insert_entry(params, "inputs", inputs))
		goto out;

	const bt_component_source *src;
	const bt_component_filter *muxer;
	const bt_component_sink *sink;
	what = "not a readable CTF trace";
	if (bt_graph_add_source_component(s->graph, fs, "src", params,
					  BT_LOGGING_LEVEL_NONE, &src))
		goto out;
	what = "cannot build the babeltrace2 graph";
	if (bt_graph_add_filter_component(s->graph, mux, "mux", NULL,
					  BT_LOGGING_LEVEL_NONE, &muxer) ||
	    bt_graph_add_simple_sink_component(s->graph, "gilscope", NULL,
					       sink_consume, NULL, s, &sink))
		goto out;
	uint64_t nout = bt_component_source_get_output_port_count(src);
	for (uint64_t i = 0; i < nout; i++) {
		/* The muxer adds a new input port after each connection. */
		const bt_port_input *in =
			bt_component_filter_borrow_input_port_by_index_const(
				muxer, i);
		if (!in || bt_graph_connect_ports(
				   s->graph,
				   bt_component_source_borrow_output_port_by_index_const(
					   src, i),
				   in, NULL))
			goto out;
	}
	if (bt_graph_connect_ports(
		    s->graph,
		    bt_component_filter_borrow_output_port_by_index_const(muxer,
									  0),
		    bt_component_sink_borrow_input_port_by_index_const(sink, 0),
		    NULL))
		goto out;
	rc = 0;
out:
	if (rc)
		take_bt_error(s, what);
	bt_value_put_ref(inputs);
	bt_value_put_ref(params);
	bt_plugin_put_ref(ctf);
	bt_plugin_put_ref(utils);
	return rc;
}

static struct ctf_source *ctf_new(const char *path, int allow_truncated)
{
	struct ctf_source *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->base.ops = &ctf_ops;
	s->base.allow_truncated = allow_truncated;
	s->base.info.path = path;
	s->base.info.source = GS_SOURCE_CONVERTED;
	s->base.info.runtime = GS_RUNTIME_LIBGIL;
	snprintf(s->base.info.format, sizeof(s->base.info.format), "ctf");
	return s;
}

/*
 * libbabeltrace2 2.0 asserts (abort()) on some malformed packets instead of
 * returning an error (tests/fuzz/known/), and spins for ever on metadata
 * cut short: decode the whole trace once in a child first, bounded in CPU
 * time, wall time and memory, so that such a trace becomes an error
 * message here rather than the end of the process or a hang. Errors
 * babeltrace2 does report are left for the real reading, which says what
 * they are. Costs one extra decode.
 *
 * Limits, proportional to the trace with a floor: CPU 2 s + 1 s per 16 MiB
 * (babeltrace2 decodes ~60 MiB/s here; a loaded machine does not slow CPU
 * time), wall time 3x that + 5 s (for a decoder blocked rather than
 * spinning), address space 1 GiB + 16x the trace.
 */
struct decode_limits {
	unsigned cpu_s, wall_s;
	uint64_t as_bytes;
};

static struct decode_limits decode_limits(uint64_t bytes)
{
	struct decode_limits l;
	l.cpu_s = 2 + (unsigned)(bytes >> 24);
	l.wall_s = 3 * l.cpu_s + 5;
	l.as_bytes = ((uint64_t)1 << 30) + 16 * bytes;
	return l;
}

static int survives_decoding(const char *path, const struct gs_ctf_dirs *walk,
			     int allow_truncated, char *err, size_t errlen)
{
	struct decode_limits lim = decode_limits(walk->bytes);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return 0; /* cannot check: read it in-process as before */
	if (pid == 0) {
		struct rlimit no_core = { 0, 0 };
		setrlimit(RLIMIT_CORE, &no_core); /* an abort here is expected */
		struct rlimit cpu = { lim.cpu_s, lim.cpu_s + 1 };
		setrlimit(RLIMIT_CPU, &cpu);
		struct rlimit as = { lim.as_bytes, lim.as_bytes };
		setrlimit(RLIMIT_AS, &as);
		struct ctf_source *s = ctf_new(path, allow_truncated);
		struct gs_event ev;
		if (s && build_graph(s, path) == 0)
			while (ctf_next(&s->base, &ev) == 1)
				;
		_exit(0);
	}
	int status = 0, timed_out = 0;
	struct timespec t0, now;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	long nap_us = 200;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= (time_t)lim.wall_s) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			timed_out = 1;
			break;
		}
		struct timespec nap = { 0, nap_us * 1000 };
		nanosleep(&nap, NULL);
		if (nap_us < 20000)
			nap_us *= 2;
	}
	char shown[1024];
	gs_text_escape(walk->first_metadata, shown, sizeof(shown));
	if (timed_out || (WIFSIGNALED(status) && (WTERMSIG(status) == SIGXCPU ||
						  WTERMSIG(status) == SIGKILL))) {
		snprintf(err, errlen,
			 "%s: libbabeltrace2 did not finish decoding this CTF "
			 "trace within %s (%u s for its %llu bytes); it was "
			 "stopped. Its metadata (%s) is probably cut short or "
			 "malformed: `babeltrace2 %s` hangs the same way",
			 path, timed_out ? "the time allowed" : "the CPU time allowed",
			 timed_out ? lim.wall_s : lim.cpu_s,
			 (unsigned long long)walk->bytes, shown, path);
		return -1;
	}
	if (WIFSIGNALED(status)) {
		snprintf(err, errlen,
			 "%s: libbabeltrace2 crashed (%s) decoding this CTF "
			 "trace: it is malformed (e.g. a packet context whose "
			 "content size disagrees with its packet size, or "
			 "metadata (%s) that made it need more than %llu MiB); "
			 "`babeltrace2 %s` shows the same", path,
			 strsignal(WTERMSIG(status)), shown,
			 (unsigned long long)(lim.as_bytes >> 20), path);
		return -1;
	}
	return 0;
}

struct gs_source *gs_source_ctf_open(const char *path, int allow_truncated,
				     char *err, size_t errlen)
{
	struct stat st;
	struct gs_ctf_dirs walk = { 0 };
	int found = 0;
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    (found = gs_ctf_find_traces(path, 6, &walk, err, errlen)) <= 0) {
		if (found < 0)
			return NULL; /* err says which directory and why */
		snprintf(err, errlen,
			 "%s: not a CTF trace directory (no 'metadata' file "
			 "in it or its subdirectories)", path);
		return NULL;
	}
	if (survives_decoding(path, &walk, allow_truncated, err, errlen) != 0)
		return NULL;
	struct ctf_source *s = ctf_new(path, allow_truncated);
	if (!s) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	if (build_graph(s, path) != 0) {
		snprintf(err, errlen, "%s", s->base.error);
		ctf_close(&s->base);
		return NULL;
	}
	return &s->base;
}
