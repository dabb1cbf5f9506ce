/* SPDX-License-Identifier: MIT */
/*
 * Chrome trace-event JSON ("JSON Object Format" of the Trace Event Format):
 *   M  process_name / thread_name (+ thread_sort_index: trace order)
 *   X  hold / wait / blocked spans, and off-CPU spans nested inside them
 *   i  drop requests, failed handoffs, lost events (thread scope);
 *      findings (global scope)
 *   s/f  one flow per successful handoff, releaser -> acquirer
 *   C  "GIL waiters": how many threads wait for the GIL
 * ts/dur are microseconds with the nanoseconds as 3 exact decimals, on the
 * trace clock (CLOCK_MONOTONIC for native traces), so the file lines up with
 * perf or ftrace data of the same run.
 */
#include "export.h"

#include <errno.h>

#include "gil_events.h"
#include "json_writer.h"

struct chrome_ctx {
	struct json_writer *j;
	uint32_t pid, tid;
};

static void ts_field(struct json_writer *j, const char *key, uint64_t ns)
{
	json_fixed(j, key, (int64_t)ns, 3);
}

static void event_head(struct json_writer *j, const char *ph, const char *name,
		       uint32_t pid, uint32_t tid, uint64_t ts)
{
	json_begin_object(j, NULL);
	json_string(j, "ph", ph);
	json_string(j, "name", name);
	json_string(j, "cat", "gil");
	json_uint(j, "pid", pid);
	json_uint(j, "tid", tid);
	ts_field(j, "ts", ts);
}

static void span_event(struct json_writer *j, const struct gs_timeline *tl,
		       uint32_t pid, uint32_t tid, const struct gs_tl_span *s)
{
	event_head(j, "X", gs_export_span_name(tl, s), pid, tid, s->t0);
	ts_field(j, "dur", s->t1 - s->t0);
	if (s->state == GS_TL_WAIT) {
		json_begin_object(j, "args");
		json_string(j, "why", gs_why_name(s->detail));
		json_end(j);
	} else if (s->state == GS_TL_HOLD && s->detail) {
		json_begin_object(j, "args");
		json_string(j, "ended_by", "drop request");
		json_end(j);
	}
	json_end(j);
}

static void offcpu_piece(void *ctx, const struct gs_tl_span *piece, int nested)
{
	(void)nested;
	struct chrome_ctx *c = ctx;
	span_event(c->j, NULL, c->pid, c->tid, piece);
}

static void metadata(struct json_writer *j, const char *what, uint32_t pid,
		     uint32_t tid, const char *key, const char *sval,
		     uint64_t uval)
{
	json_begin_object(j, NULL);
	json_string(j, "ph", "M");
	json_string(j, "name", what);
	json_uint(j, "pid", pid);
	json_uint(j, "tid", tid);
	json_begin_object(j, "args");
	if (sval)
		json_string(j, key, sval);
	else
		json_uint(j, key, uval);
	json_end(j);
	json_end(j);
}

int gs_export_chrome_json(const struct gs_timeline *tl, FILE *out,
			  uint64_t from, uint64_t to)
{
	if (gs_export_window(tl, &from, &to)) {
		errno = EINVAL;
		return -1;
	}
	struct json_writer j;
	json_init(&j, out, 0);
	uint32_t pid = tl->pid ? tl->pid : 1;
	json_begin_object(&j, NULL);
	json_string(&j, "displayTimeUnit", "ns");
	json_begin_array(&j, "traceEvents");

	char pname[128];
	snprintf(pname, sizeof(pname), "%s (GIL: %s)",
		 tl->command[0] ? tl->command : "gilscope trace",
		 tl->policy[0] ? tl->policy : "unknown policy");
	metadata(&j, "process_name", pid, 0, "name", pname, 0);
	for (size_t i = 0; i < tl->nthreads; i++) {
		const struct gs_tl_thread *th = &tl->threads[i];
		metadata(&j, "thread_name", pid, th->tid, "name", th->name, 0);
		metadata(&j, "thread_sort_index", pid, th->tid, "sort_index",
			 NULL, i);
	}

	for (size_t i = 0; i < tl->nthreads; i++) {
		const struct gs_tl_thread *th = &tl->threads[i];
		for (size_t k = gs_tl_first_span(th->spans, th->nspans, from);
		     k < th->nspans && th->spans[k].t0 < to; k++) {
			struct gs_tl_span s = gs_tl_clip(th->spans[k], from, to);
			span_event(&j, tl, pid, th->tid, &s);
		}
		struct chrome_ctx c = { &j, pid, th->tid };
		gs_export_offcpu_pieces(th, from, to, offcpu_piece, &c);
	}

	uint64_t flow_id = 0;
	for (size_t k = 0; k < tl->nmarks; k++) {
		const struct gs_tl_mark *m = &tl->marks[k];
		if (m->ts < from || m->ts >= to)
			continue;
		switch (m->kind) {
		case GS_TL_MARK_HANDOFF:
			if (m->ts2 >= to)
				break;
			flow_id++;
			/* The start binds to the slice enclosing it: 1 ns before
			 * the release is still inside the releaser's hold. */
			event_head(&j, "s", "handoff", pid, m->tid,
				   m->ts > from ? m->ts - 1 : m->ts);
			json_uint(&j, "id", flow_id);
			json_end(&j);
			event_head(&j, "f", "handoff", pid, m->tid2, m->ts2);
			json_string(&j, "bp", "e");
			json_uint(&j, "id", flow_id);
			json_begin_object(&j, "args");
			json_uint(&j, "from_tid", m->tid);
			ts_field(&j, "latency_us", m->ts2 - m->ts);
			json_end(&j);
			json_end(&j);
			break;
		case GS_TL_MARK_FAILED_HANDOFF:
			event_head(&j, "i", "failed handoff", pid, m->tid, m->ts);
			json_string(&j, "s", "t");
			json_begin_object(&j, "args");
			json_uint(&j, "woken_tid", m->tid2);
			ts_field(&j, "retook_after_us", m->ts2 - m->ts);
			json_end(&j);
			json_end(&j);
			break;
		case GS_TL_MARK_DROP_REQUEST:
			event_head(&j, "i", "drop request", pid, m->tid, m->ts);
			json_string(&j, "s", "t");
			json_begin_object(&j, "args");
			json_uint(&j, "holder_tid", m->tid2);
			json_end(&j);
			json_end(&j);
			break;
		case GS_TL_MARK_LOST:
			event_head(&j, "i", "lost events", pid, m->tid, m->ts);
			json_string(&j, "s", "t");
			json_begin_object(&j, "args");
			json_uint(&j, "count", m->aux);
			json_end(&j);
			json_end(&j);
			break;
		}
	}

	for (size_t k = gs_tl_waiters_at(tl, from); k < tl->nwaiters; k++) {
		const struct gs_tl_count *c = &tl->waiters[k];
		if (c->ts >= to)
			break;
		json_begin_object(&j, NULL);
		json_string(&j, "ph", "C");
		json_string(&j, "name", "GIL waiters");
		json_uint(&j, "pid", pid);
		ts_field(&j, "ts", c->ts < from ? from : c->ts);
		json_begin_object(&j, "args");
		json_uint(&j, "waiters", c->value);
		json_end(&j);
		json_end(&j);
	}

	for (size_t k = 0; k < tl->nfindings; k++) {
		const struct gs_tl_finding *f = &tl->findings[k];
		if (f->t1 < from || f->t0 >= to)
			continue;
		char name[256];
		event_head(&j, "i", gs_export_finding_name(f, name, sizeof(name)), pid, f->tid, f->t0 < from ? from : f->t0);
		json_string(&j, "s", "g");
		json_end(&j);
	}

	json_end(&j); /* traceEvents */
	json_begin_object(&j, "metadata");
	json_string(&j, "producer", "gilscope export");
	json_string(&j, "source", tl->source);
	json_string(&j, "policy", tl->policy);
	json_uint(&j, "switch_interval_us", tl->interval_us);
	ts_field(&j, "window_from_us", from);
	ts_field(&j, "window_to_us", to);
	json_end(&j);
	json_end(&j);
	if (fflush(out) || ferror(out))
		return -1;
	return 0;
}

uint64_t gs_export_chrome_json_estimate(const struct gs_timeline *tl,
					uint64_t from, uint64_t to)
{
	if (gs_export_window(tl, &from, &to))
		return 0;
	/* Measured sizes of one event of each kind, rounded up. */
	uint64_t bytes = 512 + tl->nthreads * 220;
	for (size_t i = 0; i < tl->nthreads; i++) {
		const struct gs_tl_thread *th = &tl->threads[i];
		size_t a = gs_tl_first_span(th->spans, th->nspans, from);
		size_t b = gs_tl_first_span(th->spans, th->nspans, to);
		bytes += (uint64_t)(b - a + 1) * 150;
		a = gs_tl_first_span(th->offcpu, th->noffcpu, from);
		b = gs_tl_first_span(th->offcpu, th->noffcpu, to);
		bytes += (uint64_t)(b - a + 1) * 2 * 125;
	}
	for (size_t k = 0; k < tl->nmarks; k++)
		if (tl->marks[k].ts >= from && tl->marks[k].ts < to)
			bytes += tl->marks[k].kind == GS_TL_MARK_HANDOFF ? 260 : 140;
	size_t w0 = 0, w1 = tl->nwaiters;
	while (w0 < w1) { /* first waiter change at or after from */
		size_t mid = w0 + (w1 - w0) / 2;
		if (tl->waiters[mid].ts < from)
			w0 = mid + 1;
		else
			w1 = mid;
	}
	for (w1 = w0; w1 < tl->nwaiters && tl->waiters[w1].ts < to; w1++)
		;
	bytes += (uint64_t)(w1 - w0 + 1) * 110;
	return bytes;
}
