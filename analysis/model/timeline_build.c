/* SPDX-License-Identifier: MIT */
/* The picture model from the GIL state machine's listener. See
 * timeline_build.h. */
#include "timeline_build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gil_events.h"

#define TOP 3 /* moments kept per convoy thread and per inversion kind */

struct moment {
	uint64_t t0, t1;
	uint32_t tid, other;
};

struct stalls {
	uint32_t tid;
	struct moment top[TOP]; /* longest first */
};

struct gs_tl_builder {
	struct gs_timeline *tl;
	uint64_t from, to;
	struct gs_listener l;
	/* Drop-request and gap marks carry thread indices until finish. */
	struct stalls *stalls;
	size_t nstalls, capstalls;
	struct moment inv[2][TOP];
	/* per state-machine thread: stack of the next release and of the
	 * release being processed, of the next request and of the last one
	 * (record --stacks, published code locations) */
	uint32_t *next_release, *release, *next_request, *request;
	size_t nstk;
	int oom;
};

static int keep(const struct gs_tl_builder *b, uint64_t t0, uint64_t t1)
{
	return !(b->to && (t1 < b->from || t0 >= b->to));
}

static void top_insert(struct moment *top, const struct moment *m)
{
	uint64_t d = m->t1 - m->t0;
	for (int i = 0; i < TOP; i++) {
		if (top[i].t1 == 0 || d > top[i].t1 - top[i].t0) {
			memmove(&top[i + 1], &top[i], (TOP - 1 - i) * sizeof(*top));
			top[i] = *m;
			return;
		}
	}
}

static void on_interval(void *ctx, const struct gs_interval *iv)
{
	struct gs_tl_builder *b = ctx;
	if (!keep(b, iv->begin_ns, iv->end_ns))
		return;
	if (iv->track == GS_TRACK_WAITERS) {
		gs_tl_add_waiters(b->tl, iv->begin_ns, iv->state);
		gs_tl_add_waiters(b->tl, iv->end_ns, 0);
		return;
	}
	uint8_t st = GS_TL_NONE, detail = 0;
	if (iv->track == GS_TRACK_GIL) {
		switch (iv->state) {
		case GS_ST_HOLD:
			st = GS_TL_HOLD;
			detail = iv->reason == GS_RELEASE_FORCED;
			break;
		case GS_ST_WAIT:
			st = GS_TL_WAIT;
			detail = iv->why;
			break;
		case GS_ST_BLOCKED:
			st = GS_TL_BLOCKED;
			detail = iv->kind;
			break;
		}
	} else if (iv->track == GS_TRACK_CPU) {
		if (iv->state == GS_CPU_RUNNABLE) {
			st = GS_TL_OFFCPU;
			detail = GS_SCHED_PREEMPTED;
		} else if (iv->state == GS_CPU_SLEEPING) {
			st = GS_TL_OFFCPU;
			detail = GS_SCHED_BLOCKED;
		}
	}
	uint32_t aux = 0;
	if (st == GS_TL_HOLD && iv->reason != GS_RELEASE_MAX && iv->thread < b->nstk)
		aux = b->release[iv->thread];
	else if (st == GS_TL_WAIT && iv->thread < b->nstk)
		aux = b->request[iv->thread]; /* where it asked: the call site */
	if (st != GS_TL_NONE)
		gs_tl_add_span(b->tl, iv->tid, st, iv->begin_ns, iv->end_ns,
			       detail, aux);
}

void gs_tl_builder_before_event(void *ctx, const struct gs_event *ev,
				const struct gs_state *st)
{
	struct gs_tl_builder *b = ctx;
	if (ev->type != GS_EV_stack && ev->type != GS_EV_release &&
	    ev->type != GS_EV_acquire_request)
		return;
	uint32_t idx = gs_state_lookup(st, ev->tid);
	if (idx == GS_NO_THREAD)
		idx = (uint32_t)gs_state_nthreads(st); /* indexed at this event */
	if (idx >= b->nstk) {
		size_t n = (size_t)idx + 16;
		uint32_t **arrs[4] = { &b->next_release, &b->release,
				       &b->next_request, &b->request };
		for (int k = 0; k < 4; k++) {
			uint32_t *a = realloc(*arrs[k], n * sizeof(*a));
			if (!a) {
				b->oom = 1;
				return;
			}
			memset(a + b->nstk, 0, (n - b->nstk) * sizeof(*a));
			*arrs[k] = a;
		}
		b->nstk = n;
	}
	if (ev->type == GS_EV_stack) {
		if (ev->a8 == GS_STACK_AT_RELEASE)
			b->next_release[idx] = ev->a0;
		else if (ev->a8 == GS_STACK_AT_REQUEST)
			b->next_request[idx] = ev->a0;
	} else if (ev->type == GS_EV_release) {
		b->release[idx] = b->next_release[idx];
		b->next_release[idx] = 0;
	} else {
		b->request[idx] = b->next_request[idx];
		b->next_request[idx] = 0;
	}
}

static int by_stack(const void *x, const void *y)
{
	const struct gs_tl_label *a = x, *b = y;
	return a->stack < b->stack ? -1 : a->stack > b->stack;
}

/* Labels for the stack ids HOLD spans carry. */
static int label_stacks(struct gs_timeline *tl, const struct gs_stacktab *tab)
{
	size_t n = 0, cap = 0;
	struct gs_tl_label *v = NULL;
	if (!tab)
		return 0;
	for (size_t i = 0; i < tl->nthreads; i++) {
		const struct gs_tl_thread *th = &tl->threads[i];
		for (size_t k = 0; k < th->nspans; k++) {
			uint32_t id = th->spans[k].aux;
			if ((th->spans[k].state != GS_TL_HOLD &&
			     th->spans[k].state != GS_TL_WAIT) || !id)
				continue;
			if (n && v[n - 1].stack == id)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				void *p = realloc(v, cap * sizeof(*v));
				if (!p) {
					free(v);
					return -1;
				}
				v = p;
			}
			v[n].stack = id;
			const struct gs_stack *s = gs_stacktab_get(tab, id);
			if (s && s->nframes)
				gs_frame_label(&s->frames[0], v[n].text, sizeof(v[n].text));
			else
				snprintf(v[n].text, sizeof(v[n].text), "[no Python frame]");
			n++;
		}
	}
	qsort(v, n, sizeof(*v), by_stack);
	size_t u = 0;
	for (size_t i = 0; i < n; i++)
		if (!u || v[u - 1].stack != v[i].stack)
			v[u++] = v[i];
	free(tl->labels);
	tl->labels = v;
	tl->nlabels = u;
	return 0;
}

static void on_handoff(void *ctx, const struct gs_handoff *h)
{
	struct gs_tl_builder *b = ctx;
	if (!keep(b, h->release_ns, h->acquire_ns))
		return;
	if (h->failed)
		gs_tl_add_mark(b->tl, GS_TL_MARK_FAILED_HANDOFF, h->release_ns,
			       h->acquire_ns, h->releaser_tid, 0, h->waiters);
	else
		gs_tl_add_mark(b->tl, GS_TL_MARK_HANDOFF, h->release_ns,
			       h->acquire_ns, h->releaser_tid, h->next_tid,
			       h->waiters);
}

static void on_drop_request(void *ctx, uint64_t ts, uint32_t requester,
			    uint32_t holder)
{
	struct gs_tl_builder *b = ctx;
	if (keep(b, ts, ts))
		gs_tl_add_mark(b->tl, GS_TL_MARK_DROP_REQUEST, ts, ts, requester,
			       holder, 0);
}

static void on_gap(void *ctx, uint32_t thread, uint64_t ts, uint64_t lost)
{
	struct gs_tl_builder *b = ctx;
	if (keep(b, ts, ts))
		gs_tl_add_mark(b->tl, GS_TL_MARK_LOST, ts, ts, thread,
			       GS_NO_THREAD,
			       lost > UINT32_MAX ? UINT32_MAX : (uint32_t)lost);
}

static void on_acquire(void *ctx, const struct gs_acquire *a)
{
	struct gs_tl_builder *b = ctx;
	if (a->why != GS_WHY_AFTER_BLOCKING || !a->io_wait_ns ||
	    !keep(b, a->ts_ns - a->io_wait_ns, a->ts_ns))
		return;
	struct stalls *s = NULL;
	for (size_t i = 0; i < b->nstalls; i++)
		if (b->stalls[i].tid == a->tid)
			s = &b->stalls[i];
	if (!s) {
		if (b->nstalls == b->capstalls) {
			size_t cap = b->capstalls ? b->capstalls * 2 : 16;
			struct stalls *p = realloc(b->stalls, cap * sizeof(*p));
			if (!p) {
				b->oom = 1;
				return;
			}
			b->stalls = p;
			b->capstalls = cap;
		}
		s = &b->stalls[b->nstalls++];
		memset(s, 0, sizeof(*s));
		s->tid = a->tid;
	}
	struct moment m = { a->ts_ns - a->io_wait_ns, a->ts_ns, a->tid,
			    a->prev_tid };
	top_insert(s->top, &m);
}

static void on_inversion(void *ctx, const struct gs_inversion *inv)
{
	struct gs_tl_builder *b = ctx;
	if (inv->kind > 1 || !keep(b, inv->begin_ns, inv->end_ns))
		return;
	struct moment m = { inv->begin_ns, inv->end_ns, inv->waiter_tid,
			    inv->holder_tid };
	top_insert(b->inv[inv->kind], &m);
}

struct gs_tl_builder *gs_tl_builder_new(struct gs_timeline *tl, uint64_t from,
					uint64_t to)
{
	struct gs_tl_builder *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	b->tl = tl;
	b->from = from;
	b->to = to;
	b->l = (struct gs_listener){
		.ctx = b,
		.interval = on_interval,
		.handoff = on_handoff,
		.drop_request = on_drop_request,
		.gap = on_gap,
		.acquire = on_acquire,
		.inversion = on_inversion,
	};
	return b;
}

const struct gs_listener *gs_tl_builder_listener(struct gs_tl_builder *b)
{
	return &b->l;
}

void gs_tl_builder_free(struct gs_tl_builder *b)
{
	if (!b)
		return;
	free(b->next_release);
	free(b->release);
	free(b->next_request);
	free(b->request);
	free(b->stalls);
	free(b);
}

static uint32_t tid_of(const struct gs_state *st, uint32_t idx)
{
	if (idx == GS_NO_THREAD || idx >= gs_state_nthreads(st))
		return 0;
	return gs_state_thread(st, idx)->tid;
}

static const char *name_of(const struct gs_timeline *tl, uint32_t tid)
{
	int i = gs_tl_thread_index(tl, tid);
	return i >= 0 ? tl->threads[i].name : "?";
}

static void stall_findings(struct gs_tl_builder *b, const struct gs_finding *f,
			   uint32_t tid)
{
	struct gs_timeline *tl = b->tl;
	const struct stalls *s = NULL;
	for (size_t i = 0; i < b->nstalls; i++)
		if (b->stalls[i].tid == tid)
			s = &b->stalls[i];
	if (!s || !s->top[0].t1) {
		gs_tl_add_finding(tl, GS_TL_FIND_CONVOY, tl->t_start, tl->t_end,
				  tid, f->text);
		return;
	}
	/* The tag in front says "convoy" already. */
	const char *text = f->text;
	if (!strncmp(text, "convoy: ", 8))
		text += 8;
	gs_tl_add_finding(tl, GS_TL_FIND_CONVOY, s->top[0].t0, s->top[0].t1,
			  tid, text);
	for (int k = 0; k < TOP && s->top[k].t1; k++) {
		char d[32], text[200];
		const struct moment *m = &s->top[k];
		snprintf(d, sizeof(d), "%.3f ms", (double)(m->t1 - m->t0) / 1e6);
		snprintf(text, sizeof(text),
			 "%s re-acquired the GIL %s after its blocking call "
			 "returned (previous holder: %s)%s",
			 name_of(tl, tid), d, name_of(tl, m->other),
			 k ? "" : " - the longest");
		gs_tl_add_finding(tl, GS_TL_FIND_CONVOY, m->t0, m->t1, tid, text);
	}
}

static void inversion_findings(struct gs_tl_builder *b,
			       const struct gs_finding *f, int kind)
{
	struct gs_timeline *tl = b->tl;
	const struct moment *top = b->inv[kind];
	if (!top[0].t1) {
		gs_tl_add_finding(tl, GS_TL_FIND_INVERSION, tl->t_start,
				  tl->t_end, 0, f->text);
		return;
	}
	gs_tl_add_finding(tl, GS_TL_FIND_INVERSION, top[0].t0, top[0].t1,
			  top[0].tid, f->text);
	for (int k = 1; k < TOP && top[k].t1; k++) {
		char text[200];
		snprintf(text, sizeof(text),
			 "%s waited %.3f ms while %s %s", name_of(tl, top[k].tid),
			 (double)(top[k].t1 - top[k].t0) / 1e6,
			 name_of(tl, top[k].other),
			 kind ? "held the GIL off CPU" : "was granted the GIL");
		gs_tl_add_finding(tl, GS_TL_FIND_INVERSION, top[k].t0,
				  top[k].t1, top[k].tid, text);
	}
}

/* First mark of a kind (involving tid, when tid != 0). */
static const struct gs_tl_mark *first_mark(const struct gs_timeline *tl,
					   int kind, uint32_t tid)
{
	for (size_t k = 0; k < tl->nmarks; k++)
		if (tl->marks[k].kind == kind && (!tid || tl->marks[k].tid == tid))
			return &tl->marks[k];
	return NULL;
}

int gs_tl_builder_finish(struct gs_tl_builder *b, const struct gs_analysis *an)
{
	struct gs_timeline *tl = b->tl;
	const struct gs_state *st = an->state;
	const struct gs_trace_info *info = &an->info;
	tl->pid = info->pid;
	tl->interval_us = info->interval_us;
	snprintf(tl->policy, sizeof(tl->policy), "%s",
		 info->policy_name[0] ? info->policy_name : info->format);
	snprintf(tl->command, sizeof(tl->command), "%s", info->command);
	snprintf(tl->source, sizeof(tl->source), "%s",
		 info->path ? info->path : "");
	if (label_stacks(tl, an->stacks))
		b->oom = 1;
	if (info->flags & GS_HDR_F_SCHED_EVENTS)
		tl->has_sched = 1;

	/* Marks that carried thread indices get tids now. */
	for (size_t k = 0; k < tl->nmarks; k++) {
		struct gs_tl_mark *m = &tl->marks[k];
		if (m->kind == GS_TL_MARK_DROP_REQUEST ||
		    m->kind == GS_TL_MARK_LOST) {
			m->tid = tid_of(st, m->tid);
			m->tid2 = tid_of(st, m->tid2);
		}
	}
	/* Rows in order of first appearance, named by the trace. */
	size_t n = gs_state_nthreads(st);
	for (size_t i = 0; i < n; i++) {
		const struct gs_thread_state *ts = gs_state_thread(st, (uint32_t)i);
		gs_tl_thread_set(tl, ts->tid, ts->name, ts->role);
	}
	for (size_t i = 0; i < n && i < tl->nthreads; i++) {
		int at = gs_tl_thread_index(tl, gs_state_thread(st, (uint32_t)i)->tid);
		if (at > (int)i) {
			struct gs_tl_thread tmp = tl->threads[i];
			tl->threads[i] = tl->threads[at];
			tl->threads[at] = tmp;
		}
	}
	gs_tl_finish(tl);
	/* Times "from the trace start" mean the same as in gilscope report:
	 * from the header's start time when the trace has one. */
	if (info->start_ns && info->start_ns < tl->t_start)
		tl->t_start = info->start_ns;
	if (info->end_ns > tl->t_end)
		tl->t_end = info->end_ns;
	if (an->metrics && an->metrics->begin_ns && an->metrics->end_ns > tl->t_end)
		tl->t_end = an->metrics->end_ns;
	if (b->to) {
		if (tl->t_start < b->from)
			tl->t_start = b->from;
		if (tl->t_end > b->to)
			tl->t_end = b->to;
	}

	const struct gs_metrics *m = an->metrics;
	for (size_t k = 0; m && k < m->nfindings; k++) {
		const struct gs_finding *f = &m->findings[k];
		uint32_t tid = f->thread < m->nth ? m->th[f->thread].tid : 0;
		const struct gs_tl_mark *mk;
		switch (f->kind) {
		case GS_FIND_CONVOY:
			stall_findings(b, f, tid);
			break;
		case GS_FIND_INVERSION_POLICY:
		case GS_FIND_INVERSION_SCHED:
			inversion_findings(b, f, f->kind == GS_FIND_INVERSION_SCHED);
			break;
		case GS_FIND_BATTLE:
			mk = first_mark(tl, GS_TL_MARK_FAILED_HANDOFF,
					f->other < m->nth ? m->th[f->other].tid : 0);
			gs_tl_add_finding(tl, GS_TL_FIND_OTHER,
					  mk ? mk->ts : tl->t_start,
					  mk ? mk->ts2 : tl->t_end,
					  mk ? mk->tid : 0, f->text);
			break;
		default:
			mk = first_mark(tl, GS_TL_MARK_LOST, 0);
			gs_tl_add_finding(tl, GS_TL_FIND_OTHER,
					  mk ? mk->ts : tl->t_start,
					  mk ? mk->ts : tl->t_end,
					  mk ? mk->tid : 0, f->text);
		}
	}
	gs_tl_finish(tl);
	return b->oom || tl->oom ? -1 : 0;
}

int gs_timeline_load(const char *path, const struct gs_analyze_opts *opts,
		     uint64_t from, uint64_t to, struct gs_timeline *tl,
		     struct gs_analysis *an, char *err, size_t errlen)
{
	struct gs_analysis local;
	struct gs_analysis *a = an ? an : &local;
	struct gs_analyze_opts o = { 0 };
	if (opts)
		o = *opts;
	gs_tl_init(tl);
	struct gs_tl_builder *b = gs_tl_builder_new(tl, from, to);
	if (!b) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	o.listener = gs_tl_builder_listener(b);
	if (!o.before_event) {
		o.before_event = gs_tl_builder_before_event;
		o.before_event_ctx = b;
	}
	if (gs_analyze(path, &o, a, err, errlen)) {
		gs_tl_builder_free(b);
		gs_tl_free(tl);
		return -1;
	}
	int rc = gs_tl_builder_finish(b, a);
	gs_tl_builder_free(b);
	if (rc)
		snprintf(err, errlen, "%s: out of memory building the timeline "
			 "(try a window: --from/--to)", path);
	if (!an)
		gs_analysis_free(a);
	return rc;
}
