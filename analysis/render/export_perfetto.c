/* SPDX-License-Identifier: MIT */
/*
 * Perfetto protobuf trace: a `Trace` is a sequence of `packet` fields (1),
 * each a TracePacket. Field numbers are Perfetto's
 * (protos/perfetto/trace/trace_packet.proto and track_event/); the subset
 * used here is spelled out in tests/perfetto/gilscope_perfetto.proto, which
 * the tests decode our output with.
 *
 * Layout:
 *   sequence 1: process track, the "GIL waiters" counter track and its
 *               values, findings as instants on the process track;
 *   sequence 2+i: thread i's track descriptor, then its slices (hold, wait,
 *               blocked, with off-CPU slices nested inside), instants (drop
 *               requests, failed handoffs, lost events), in time order.
 * Handoffs are flows: the releaser's hold slice carries flow_ids = [id], the
 * acquirer's next hold slice terminating_flow_ids = [id].
 * Timestamps are the trace clock's nanoseconds, written as they are.
 */
#include "export.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pbenc.h"

/* TracePacket */
#define TP_TIMESTAMP 8
#define TP_SEQ_ID 10
#define TP_TRACK_EVENT 11
#define TP_SEQ_FLAGS 13
#define TP_TRACK_DESCRIPTOR 60
#define SEQ_INCREMENTAL_STATE_CLEARED 1
/* TrackDescriptor */
#define TD_UUID 1
#define TD_NAME 2
#define TD_PROCESS 3
#define TD_THREAD 4
#define TD_PARENT 5
#define TD_COUNTER 8
/* ProcessDescriptor / ThreadDescriptor */
#define PD_PID 1
#define PD_NAME 6
#define THD_PID 1
#define THD_TID 2
#define THD_NAME 5
/* CounterDescriptor */
#define CD_UNIT 3
#define CD_UNIT_COUNT 2
/* TrackEvent */
#define TE_TYPE 9
#define TE_TRACK 11
#define TE_CATEGORIES 22
#define TE_NAME 23
#define TE_COUNTER_VALUE 30
#define TE_FLOW_IDS 47
#define TE_TERMINATING_FLOW_IDS 48
enum { TYPE_SLICE_BEGIN = 1, TYPE_SLICE_END = 2, TYPE_INSTANT = 3,
       TYPE_COUNTER = 4 };

#define UUID_PROCESS 1
#define UUID_WAITERS 2
#define UUID_THREAD0 16

struct writer {
	FILE *out;
	struct gs_pb packet, sub, sub2;
	int err;
};

static void emit(struct writer *w)
{
	struct gs_pb *p = &w->packet;
	if (p->oom) {
		w->err = ENOMEM;
		return;
	}
	/* Trace.packet (field 1, length-delimited) around the packet. */
	uint8_t head[11];
	size_t n = 0;
	head[n++] = (1 << 3) | 2;
	uint64_t len = p->len;
	while (len >= 0x80) {
		head[n++] = (uint8_t)(len | 0x80);
		len >>= 7;
	}
	head[n++] = (uint8_t)len;
	if (fwrite(head, 1, n, w->out) != n ||
	    fwrite(p->buf, 1, p->len, w->out) != p->len)
		w->err = errno ? errno : EIO;
}

static void packet_begin(struct writer *w, uint32_t seq, uint64_t ts, int first)
{
	gs_pb_reset(&w->packet);
	gs_pb_varint(&w->packet, TP_TIMESTAMP, ts);
	gs_pb_varint(&w->packet, TP_SEQ_ID, seq);
	if (first)
		gs_pb_varint(&w->packet, TP_SEQ_FLAGS,
			     SEQ_INCREMENTAL_STATE_CLEARED);
}

static void track_event(struct writer *w, uint32_t seq, uint64_t ts, int type,
			uint64_t track, const char *name, int64_t value,
			uint64_t flow_out, uint64_t flow_in)
{
	packet_begin(w, seq, ts, 0);
	struct gs_pb *e = &w->sub;
	gs_pb_reset(e);
	gs_pb_varint(e, TE_TYPE, type);
	gs_pb_varint(e, TE_TRACK, track);
	if (name) {
		gs_pb_string(e, TE_CATEGORIES, "gil");
		gs_pb_string(e, TE_NAME, name);
	}
	if (type == TYPE_COUNTER)
		gs_pb_sint(e, TE_COUNTER_VALUE, value);
	if (flow_out)
		gs_pb_fixed64(e, TE_FLOW_IDS, flow_out);
	if (flow_in)
		gs_pb_fixed64(e, TE_TERMINATING_FLOW_IDS, flow_in);
	gs_pb_message(&w->packet, TP_TRACK_EVENT, e);
	emit(w);
}

/* One thread's events before sorting. */
struct tev {
	uint64_t ts;
	uint64_t flow_out, flow_in;
	const char *name;
	uint8_t type;
	uint8_t order;   /* at equal ts: ends (inner first), instants, begins */
	uint32_t seq;    /* creation order, keeps qsort stable */
};

struct tevs {
	struct tev *v;
	size_t n, cap;
	int oom;
};

static struct tev *tev_add(struct tevs *t, uint64_t ts, uint8_t type,
			   uint8_t order, const char *name)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct tev *p = realloc(t->v, cap * sizeof(*p));
		if (!p) {
			t->oom = 1;
			return NULL;
		}
		t->v = p;
		t->cap = cap;
	}
	struct tev *e = &t->v[t->n];
	memset(e, 0, sizeof(*e));
	e->ts = ts;
	e->type = type;
	e->order = order;
	e->name = name;
	e->seq = (uint32_t)t->n++;
	return e;
}

static int cmp_tev(const void *a, const void *b)
{
	const struct tev *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* order values: the inner (off-CPU) slice ends before, and begins after,
 * the GIL slice around it. */
enum { ORD_END_INNER, ORD_END_OUTER, ORD_INSTANT, ORD_BEGIN_OUTER,
       ORD_BEGIN_INNER };

struct piece_ctx {
	struct tevs *t;
};

static void offcpu_piece(void *ctx, const struct gs_tl_span *p, int nested)
{
	struct piece_ctx *c = ctx;
	tev_add(c->t, p->t0, TYPE_SLICE_BEGIN,
		nested ? ORD_BEGIN_INNER : ORD_BEGIN_OUTER, gs_export_span_name(NULL, p));
	tev_add(c->t, p->t1, TYPE_SLICE_END,
		nested ? ORD_END_INNER : ORD_END_OUTER, NULL);
}

/* The hold span of th that contains t (start inclusive), or -1. */
static long hold_at(const struct gs_tl_thread *th, uint64_t t)
{
	size_t k = gs_tl_first_span(th->spans, th->nspans, t);
	if (k < th->nspans && th->spans[k].t0 <= t &&
	    th->spans[k].state == GS_TL_HOLD)
		return (long)k;
	return -1;
}

static int thread_events(const struct gs_timeline *tl, size_t ti,
			 uint64_t from, uint64_t to, struct tevs *t)
{
	const struct gs_tl_thread *th = &tl->threads[ti];
	size_t first = gs_tl_first_span(th->spans, th->nspans, from);
	size_t base = t->n;  /* span k's BEGIN is t->v[base + 2*(k-first)] */
	size_t k;
	for (k = first; k < th->nspans && th->spans[k].t0 < to; k++) {
		const struct gs_tl_span *s = &th->spans[k];
		tev_add(t, s->t0 < from ? from : s->t0, TYPE_SLICE_BEGIN,
			ORD_BEGIN_OUTER, gs_export_span_name(tl, s));
		tev_add(t, s->t1 > to ? to : s->t1, TYPE_SLICE_END,
			ORD_END_OUTER, NULL);
	}
	size_t last = k;
	if (t->oom)
		return -1;
	for (size_t m = 0; m < tl->nmarks; m++) {
		const struct gs_tl_mark *mk = &tl->marks[m];
		if (mk->ts < from || mk->ts >= to)
			continue;
		if (mk->kind == GS_TL_MARK_HANDOFF) {
			if (mk->ts2 >= to)
				continue;
			long h = -1;
			if (mk->tid == th->tid && mk->ts > 0)
				h = hold_at(th, mk->ts - 1);
			if (h >= (long)first && h < (long)last)
				t->v[base + 2 * (h - first)].flow_out = m + 1;
			h = -1;
			if (mk->tid2 == th->tid)
				h = hold_at(th, mk->ts2);
			if (h >= (long)first && h < (long)last)
				t->v[base + 2 * (h - first)].flow_in = m + 1;
		} else if (mk->tid == th->tid) {
			tev_add(t, mk->ts, TYPE_INSTANT, ORD_INSTANT,
				gs_tl_mark_name(mk->kind));
		}
	}
	struct piece_ctx c = { t };
	gs_export_offcpu_pieces(th, from, to, offcpu_piece, &c);
	if (t->oom)
		return -1;
	qsort(t->v, t->n, sizeof(*t->v), cmp_tev);
	return 0;
}

static int cmp_finding_ptr(const void *a, const void *b)
{
	const struct gs_tl_finding *x = *(const struct gs_tl_finding *const *)a;
	const struct gs_tl_finding *y = *(const struct gs_tl_finding *const *)b;
	return (x->t0 > y->t0) - (x->t0 < y->t0);
}

/* An instant on the process track, if the finding overlaps the window. */
static void finding_event(struct writer *w, const struct gs_tl_finding *fd,
			  uint64_t from, uint64_t to)
{
	char name[256];
	if (fd->t1 < from || fd->t0 >= to)
		return;
	track_event(w, 1, fd->t0 < from ? from : fd->t0, TYPE_INSTANT,
		    UUID_PROCESS, gs_export_finding_name(fd, name, sizeof(name)),
		    0, 0, 0);
}

static void descriptor_begin(struct writer *w, uint32_t seq, uint64_t ts,
			     uint64_t uuid)
{
	packet_begin(w, seq, ts, 1);
	gs_pb_reset(&w->sub);
	gs_pb_varint(&w->sub, TD_UUID, uuid);
}

static void descriptor_end(struct writer *w)
{
	gs_pb_message(&w->packet, TP_TRACK_DESCRIPTOR, &w->sub);
	emit(w);
}

int gs_export_perfetto(const struct gs_timeline *tl, FILE *out, uint64_t from,
		       uint64_t to)
{
	if (gs_export_window(tl, &from, &to)) {
		errno = EINVAL;
		return -1;
	}
	struct writer w = { .out = out };
	uint32_t pid = tl->pid ? tl->pid : 1;
	char pname[128];
	snprintf(pname, sizeof(pname), "%s (GIL: %s)",
		 tl->command[0] ? tl->command : "gilscope trace",
		 tl->policy[0] ? tl->policy : "unknown policy");

	/* Sequence 1: the process, its counter, the findings. */
	descriptor_begin(&w, 1, from, UUID_PROCESS);
	gs_pb_reset(&w.sub2);
	gs_pb_varint(&w.sub2, PD_PID, pid);
	gs_pb_string(&w.sub2, PD_NAME, pname);
	gs_pb_message(&w.sub, TD_PROCESS, &w.sub2);
	descriptor_end(&w);

	packet_begin(&w, 1, from, 0);
	gs_pb_reset(&w.sub);
	gs_pb_varint(&w.sub, TD_UUID, UUID_WAITERS);
	gs_pb_varint(&w.sub, TD_PARENT, UUID_PROCESS);
	gs_pb_string(&w.sub, TD_NAME, "GIL waiters");
	gs_pb_reset(&w.sub2);
	gs_pb_varint(&w.sub2, CD_UNIT, CD_UNIT_COUNT);
	gs_pb_message(&w.sub, TD_COUNTER, &w.sub2);
	gs_pb_message(&w.packet, TP_TRACK_DESCRIPTOR, &w.sub);
	emit(&w);

	/* Findings come most important first; the sequence wants time order. */
	const struct gs_tl_finding **fs = malloc((tl->nfindings + 1) * sizeof(*fs));
	if (!fs)
		return -1;
	for (size_t k = 0; k < tl->nfindings; k++)
		fs[k] = &tl->findings[k];
	qsort(fs, tl->nfindings, sizeof(*fs), cmp_finding_ptr);
	size_t f = 0;
	for (size_t k = gs_tl_waiters_at(tl, from); k < tl->nwaiters && !w.err;
	     k++) {
		const struct gs_tl_count *c = &tl->waiters[k];
		if (c->ts >= to)
			break;
		uint64_t ts = c->ts < from ? from : c->ts;
		/* Findings interleave so the sequence stays in time order. */
		for (; f < tl->nfindings && fs[f]->t0 <= ts; f++) {
			finding_event(&w, fs[f], from, to);
		}
		track_event(&w, 1, ts, TYPE_COUNTER, UUID_WAITERS, NULL,
			    c->value, 0, 0);
	}
	for (; f < tl->nfindings && !w.err; f++)
		finding_event(&w, fs[f], from, to);

	free(fs);

	/* One sequence per thread, like the Perfetto SDK writes them. */
	struct tevs t = { 0 };
	for (size_t i = 0; i < tl->nthreads && !w.err; i++) {
		const struct gs_tl_thread *th = &tl->threads[i];
		uint32_t seq = 2 + (uint32_t)i;
		uint64_t uuid = UUID_THREAD0 + i;
		descriptor_begin(&w, seq, from, uuid);
		gs_pb_varint(&w.sub, TD_PARENT, UUID_PROCESS);
		gs_pb_reset(&w.sub2);
		gs_pb_varint(&w.sub2, THD_PID, pid);
		gs_pb_varint(&w.sub2, THD_TID, th->tid);
		gs_pb_string(&w.sub2, THD_NAME, th->name);
		gs_pb_message(&w.sub, TD_THREAD, &w.sub2);
		descriptor_end(&w);

		t.n = 0;
		if (thread_events(tl, i, from, to, &t)) {
			w.err = ENOMEM;
			break;
		}
		for (size_t k = 0; k < t.n && !w.err; k++) {
			const struct tev *e = &t.v[k];
			track_event(&w, seq, e->ts, e->type, uuid, e->name, 0,
				    e->flow_out, e->flow_in);
		}
	}
	free(t.v);
	gs_pb_free(&w.packet);
	gs_pb_free(&w.sub);
	gs_pb_free(&w.sub2);
	if (!w.err && (fflush(out) || ferror(out)))
		w.err = errno ? errno : EIO;
	if (w.err) {
		errno = w.err;
		return -1;
	}
	return 0;
}
