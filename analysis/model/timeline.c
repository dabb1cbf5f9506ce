/* SPDX-License-Identifier: MIT */
/* The picture model's storage: growable arrays, sorting, per-thread figures.
 * See timeline.h. */
#include "timeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gil_events.h"

/* Grows *arr so it can take one more element of size sz. */
static int grow(void **arr, size_t *cap, size_t n, size_t sz)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 64;
	void *p = realloc(*arr, ncap * sz);
	if (!p)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

void gs_tl_init(struct gs_timeline *tl)
{
	memset(tl, 0, sizeof(*tl));
}

void gs_tl_free(struct gs_timeline *tl)
{
	for (size_t i = 0; i < tl->nthreads; i++) {
		free(tl->threads[i].spans);
		free(tl->threads[i].offcpu);
	}
	free(tl->threads);
	free(tl->marks);
	free(tl->waiters);
	free(tl->findings);
	free(tl->labels);
	memset(tl, 0, sizeof(*tl));
}

const char *gs_tl_stack_label(const struct gs_timeline *tl, uint32_t stack)
{
	size_t lo = 0, hi = tl->nlabels;
	while (stack && lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (tl->labels[mid].stack == stack)
			return tl->labels[mid].text;
		if (tl->labels[mid].stack < stack)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int gs_tl_thread_index(const struct gs_timeline *tl, uint32_t tid)
{
	for (size_t i = 0; i < tl->nthreads; i++)
		if (tl->threads[i].tid == tid)
			return (int)i;
	return -1;
}

struct gs_tl_thread *gs_tl_thread(struct gs_timeline *tl, uint32_t tid,
				  int create)
{
	int i = gs_tl_thread_index(tl, tid);
	if (i >= 0)
		return &tl->threads[i];
	if (!create)
		return NULL;
	if (grow((void **)&tl->threads, &tl->capthreads, tl->nthreads,
		 sizeof(*tl->threads))) {
		tl->oom = 1;
		return NULL;
	}
	struct gs_tl_thread *th = &tl->threads[tl->nthreads++];
	memset(th, 0, sizeof(*th));
	th->tid = tid;
	snprintf(th->name, sizeof(th->name), "tid %u", tid);
	return th;
}

void gs_tl_thread_set(struct gs_timeline *tl, uint32_t tid, const char *name,
		      uint32_t role)
{
	struct gs_tl_thread *th = gs_tl_thread(tl, tid, 1);
	if (!th)
		return;
	if (name && *name)
		snprintf(th->name, sizeof(th->name), "%s", name);
	th->role = role;
}

int gs_tl_add_span(struct gs_timeline *tl, uint32_t tid, uint8_t state,
		   uint64_t t0, uint64_t t1, uint8_t detail, uint32_t aux)
{
	if (t1 <= t0 || state == GS_TL_NONE || state >= GS_TL_STATE_MAX)
		return 0;
	struct gs_tl_thread *th = gs_tl_thread(tl, tid, 1);
	if (!th)
		return -1;
	struct gs_tl_span **arr = state == GS_TL_OFFCPU ? &th->offcpu : &th->spans;
	size_t *n = state == GS_TL_OFFCPU ? &th->noffcpu : &th->nspans;
	size_t *cap = state == GS_TL_OFFCPU ? &th->capoffcpu : &th->capspans;
	if (grow((void **)arr, cap, *n, sizeof(**arr))) {
		tl->oom = 1;
		return -1;
	}
	(*arr)[(*n)++] = (struct gs_tl_span){ .t0 = t0, .t1 = t1, .state = state,
					      .detail = detail, .aux = aux };
	if (state == GS_TL_OFFCPU)
		tl->has_sched = 1;
	return 0;
}

int gs_tl_add_mark(struct gs_timeline *tl, uint8_t kind, uint64_t ts,
		   uint64_t ts2, uint32_t tid, uint32_t tid2, uint32_t aux)
{
	if (grow((void **)&tl->marks, &tl->capmarks, tl->nmarks,
		 sizeof(*tl->marks))) {
		tl->oom = 1;
		return -1;
	}
	if (ts2 < ts)
		ts2 = ts;
	tl->marks[tl->nmarks++] = (struct gs_tl_mark){
		.ts = ts, .ts2 = ts2, .tid = tid, .tid2 = tid2, .aux = aux,
		.kind = kind };
	return 0;
}

int gs_tl_add_waiters(struct gs_timeline *tl, uint64_t ts, uint32_t value)
{
	/* Only changes matter to a counter track; repeats only cost bytes,
	 * and of two values at one instant the later one holds. */
	if (tl->nwaiters) {
		struct gs_tl_count *last = &tl->waiters[tl->nwaiters - 1];
		if (last->ts == ts) {
			last->value = value;
			if (tl->nwaiters > 1 &&
			    tl->waiters[tl->nwaiters - 2].value == value)
				tl->nwaiters--;
			return 0;
		}
		if (last->value == value && last->ts <= ts)
			return 0;
	}
	if (grow((void **)&tl->waiters, &tl->capwaiters, tl->nwaiters,
		 sizeof(*tl->waiters))) {
		tl->oom = 1;
		return -1;
	}
	tl->waiters[tl->nwaiters++] = (struct gs_tl_count){ ts, value };
	return 0;
}

int gs_tl_add_finding(struct gs_timeline *tl, uint8_t kind, uint64_t t0,
		      uint64_t t1, uint32_t tid, const char *text)
{
	if (grow((void **)&tl->findings, &tl->capfindings, tl->nfindings,
		 sizeof(*tl->findings))) {
		tl->oom = 1;
		return -1;
	}
	struct gs_tl_finding *f = &tl->findings[tl->nfindings++];
	memset(f, 0, sizeof(*f));
	f->t0 = t0;
	f->t1 = t1 > t0 ? t1 : t0;
	f->tid = tid;
	f->kind = kind;
	snprintf(f->text, sizeof(f->text), "%s", text ? text : "");
	return 0;
}

static int cmp_span(const void *a, const void *b)
{
	const struct gs_tl_span *x = a, *y = b;
	if (x->t0 != y->t0)
		return x->t0 < y->t0 ? -1 : 1;
	return (x->t1 > y->t1) - (x->t1 < y->t1);
}

static int cmp_mark(const void *a, const void *b)
{
	const struct gs_tl_mark *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return (x->kind > y->kind) - (x->kind < y->kind);
}

static int cmp_count(const void *a, const void *b)
{
	const struct gs_tl_count *x = a, *y = b;
	return (x->ts > y->ts) - (x->ts < y->ts);
}

static int sorted_spans(const struct gs_tl_span *s, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (cmp_span(&s[i - 1], &s[i]) > 0)
			return 0;
	return 1;
}

void gs_tl_finish(struct gs_timeline *tl)
{
	uint64_t lo = UINT64_MAX, hi = 0;
	for (size_t i = 0; i < tl->nthreads; i++) {
		struct gs_tl_thread *th = &tl->threads[i];
		/* The builder appends in time order: skip the sort then. */
		if (!sorted_spans(th->spans, th->nspans))
			qsort(th->spans, th->nspans, sizeof(*th->spans), cmp_span);
		if (!sorted_spans(th->offcpu, th->noffcpu))
			qsort(th->offcpu, th->noffcpu, sizeof(*th->offcpu), cmp_span);
		if (th->nspans) {
			if (th->spans[0].t0 < lo)
				lo = th->spans[0].t0;
			for (size_t k = 0; k < th->nspans; k++)
				if (th->spans[k].t1 > hi)
					hi = th->spans[k].t1;
		}
		if (th->noffcpu) {
			if (th->offcpu[0].t0 < lo)
				lo = th->offcpu[0].t0;
			if (th->offcpu[th->noffcpu - 1].t1 > hi)
				hi = th->offcpu[th->noffcpu - 1].t1;
		}
	}
	if (tl->nmarks > 1) /* qsort(NULL, 0) is undefined (UBSan) */
		qsort(tl->marks, tl->nmarks, sizeof(*tl->marks), cmp_mark);
	/* Stable order matters for equal times: sort only when needed. */
	for (size_t k = 1; k < tl->nwaiters; k++) {
		if (tl->waiters[k - 1].ts > tl->waiters[k].ts) {
			qsort(tl->waiters, tl->nwaiters, sizeof(*tl->waiters),
			      cmp_count);
			break;
		}
	}
	if (tl->nmarks) {
		if (tl->marks[0].ts < lo)
			lo = tl->marks[0].ts;
		for (size_t k = 0; k < tl->nmarks; k++)
			if (tl->marks[k].ts2 > hi)
				hi = tl->marks[k].ts2;
	}
	if (lo == UINT64_MAX)
		lo = hi = 0;
	if (!tl->t_start && !tl->t_end) {
		tl->t_start = lo;
		tl->t_end = hi;
	}
	if (tl->t_end < tl->t_start)
		tl->t_end = tl->t_start;
}

size_t gs_tl_span_count(const struct gs_timeline *tl)
{
	size_t n = 0;
	for (size_t i = 0; i < tl->nthreads; i++)
		n += tl->threads[i].nspans + tl->threads[i].noffcpu;
	return n;
}

size_t gs_tl_first_span(const struct gs_tl_span *s, size_t n, uint64_t t)
{
	/* Spans on one lane do not overlap, so t1 is sorted too. */
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s[mid].t1 <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t gs_tl_waiters_at(const struct gs_timeline *tl, uint64_t t)
{
	size_t lo = 0, hi = tl->nwaiters;
	while (lo < hi) { /* first change after t */
		size_t mid = lo + (hi - lo) / 2;
		if (tl->waiters[mid].ts <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : 0;
}

const char *gs_tl_state_name(unsigned state)
{
	static const char *const names[GS_TL_STATE_MAX] = {
		"none", "hold", "wait", "blocked", "off-cpu" };
	return state < GS_TL_STATE_MAX ? names[state] : "?";
}

const char *gs_tl_mark_name(unsigned kind)
{
	static const char *const names[GS_TL_MARK_MAX] = {
		"?", "handoff", "failed handoff", "drop request", "lost events" };
	return kind < GS_TL_MARK_MAX ? names[kind] : "?";
}

const char *gs_tl_finding_name(unsigned kind)
{
	switch (kind) {
	case GS_TL_FIND_CONVOY:
		return "convoy";
	case GS_TL_FIND_INVERSION:
		return "inversion";
	default:
		return "finding";
	}
}

static unsigned hist_bucket(uint64_t ns)
{
	uint64_t us = ns / 1000;
	unsigned b = 0;
	while (us > 1 && b < GS_TL_HIST_BUCKETS - 1) {
		us >>= 1;
		b++;
	}
	return b;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

int gs_tl_thread_stats(const struct gs_timeline *tl, size_t ti, uint64_t from,
		       uint64_t to, struct gs_tl_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (ti >= tl->nthreads)
		return -1;
	const struct gs_tl_thread *th = &tl->threads[ti];
	uint64_t *waits = malloc((th->nspans ? th->nspans : 1) * sizeof(*waits));
	if (!waits)
		return -1;
	size_t nwaits = 0;
	for (int lane = 0; lane < 2; lane++) {
		const struct gs_tl_span *s = lane ? th->offcpu : th->spans;
		size_t n = lane ? th->noffcpu : th->nspans;
		for (size_t k = gs_tl_first_span(s, n, from); k < n; k++) {
			if (s[k].t0 >= to)
				break;
			uint64_t a = s[k].t0 > from ? s[k].t0 : from;
			uint64_t b = s[k].t1 < to ? s[k].t1 : to;
			uint64_t d = b - a;
			unsigned st = s[k].state;
			out->total[st] += d;
			out->count[st]++;
			if (d > out->max[st])
				out->max[st] = d;
			if (st == GS_TL_HOLD)
				out->hist_hold[hist_bucket(d)]++;
			else if (st == GS_TL_WAIT) {
				out->hist_wait[hist_bucket(d)]++;
				waits[nwaits++] = d;
			}
		}
	}
	if (nwaits) {
		qsort(waits, nwaits, sizeof(*waits), cmp_u64);
		out->p50_wait = waits[(nwaits - 1) / 2];
		out->p99_wait = waits[(size_t)((nwaits - 1) * 0.99)];
	}
	free(waits);
	for (size_t k = 0; k < tl->nmarks; k++) {
		const struct gs_tl_mark *m = &tl->marks[k];
		if (m->ts < from || m->ts >= to)
			continue;
		if (m->kind == GS_TL_MARK_HANDOFF) {
			out->handoffs_out += m->tid == th->tid;
			out->handoffs_in += m->tid2 == th->tid;
		} else if (m->kind == GS_TL_MARK_FAILED_HANDOFF) {
			out->failed_handoffs += m->tid == th->tid;
		} else if (m->kind == GS_TL_MARK_DROP_REQUEST) {
			out->drop_requests += m->tid == th->tid;
		}
	}
	return 0;
}
