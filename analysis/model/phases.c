/* SPDX-License-Identifier: MIT */
#include "phases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct phase_acc {
	uint64_t first_ns;
	int seen;
	uint64_t pending_cpu_ns; /* holds stitched since the last voluntary stop */
	int cut;                 /* the last hold ended by the policy's choice */
	int gone;                /* released for good (exit) */
	uint64_t lead_ns;        /* NOGIL before the first request: a later start */
	int after_block;         /* the last interval was BLOCKED */
	int holding;
	uint64_t hold_start_ns;
	uint64_t seg_start_ns;   /* of the hold's part not yet counted */
	int preempted_by_own;    /* the last preemption gave the CPU to one of
				    the program's own threads */
	/* A hold still open when the trace ended: its begin, and how much of
	 * pending_cpu_ns it is, until the scheduler says where it stopped. */
	int open_hold;
	uint64_t open_hold_begin_ns, open_hold_ns;
	/* after a cut: the first acquire by another thread since (0: none) */
	uint64_t cut_anchor_ns;
	int awaiting_anchor;
};

struct gs_phase_builder {
	struct gs_phase_program *prog;
	struct phase_acc *acc;
	size_t cap;
	int oom;
	struct gs_listener listener;
	uint32_t last_releaser;
	/* The creator of the thread whose first event is being fed. */
	int have_pending;
	uint32_t pending_creator;
	uint64_t pending_progress;
	/* threads cut and not yet anchored by another thread's acquire */
	uint32_t *unanchored;
	size_t nunanchored, unanchored_cap;
};

static struct gs_phase_thread *thread_at(struct gs_phase_builder *b, uint32_t idx)
{
	struct gs_phase_program *p = b->prog;
	if (idx >= b->cap) {
		size_t cap = b->cap ? b->cap : 8;
		while (cap <= idx)
			cap *= 2;
		struct phase_acc *acc = realloc(b->acc, cap * sizeof(*acc));
		struct gs_phase_thread *th = realloc(p->threads, cap * sizeof(*th));
		if (acc)
			b->acc = acc;
		if (th)
			p->threads = th;
		if (!acc || !th) {
			b->oom = 1;
			return NULL;
		}
		memset(acc + b->cap, 0, (cap - b->cap) * sizeof(*acc));
		memset(th + b->cap, 0, (cap - b->cap) * sizeof(*th));
		for (size_t i = b->cap; i < cap; i++)
			th[i].creator = GS_NO_THREAD;
		b->cap = cap;
	}
	if (idx >= p->nthreads)
		p->nthreads = idx + 1;
	return &p->threads[idx];
}

static void push(struct gs_phase_builder *b, struct gs_phase_thread *t,
		 uint8_t kind, uint8_t block_kind, uint64_t ns)
{
	if (!ns)
		return;
	/* Adjacent phases of one kind are one phase to the replay. */
	if (t->nphases && t->phases[t->nphases - 1].kind == kind &&
	    (kind == GS_PHASE_CPU || t->phases[t->nphases - 1].block_kind == block_kind)) {
		t->phases[t->nphases - 1].ns += ns;
		return;
	}
	if (t->nphases == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct gs_phase *ph = realloc(t->phases, cap * sizeof(*ph));
		if (!ph) {
			b->oom = 1;
			return;
		}
		t->phases = ph;
		t->cap = cap;
	}
	t->phases[t->nphases++] = (struct gs_phase){ .ns = ns, .kind = kind,
						     .block_kind = block_kind };
}

static void push_return(struct gs_phase_builder *b, struct gs_phase_thread *t,
			uint64_t ns)
{
	if (t->nreturns == t->returns_cap) {
		size_t cap = t->returns_cap ? t->returns_cap * 2 : 64;
		uint32_t *r = realloc(t->returns, cap * sizeof(*r));
		if (!r) {
			b->oom = 1;
			return;
		}
		t->returns = r;
		t->returns_cap = cap;
	}
	t->returns[t->nreturns++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
}

static void await_anchor(struct gs_phase_builder *b, uint32_t idx)
{
	struct phase_acc *a = &b->acc[idx];
	a->cut_anchor_ns = 0;
	if (a->awaiting_anchor)
		return;
	if (b->nunanchored == b->unanchored_cap) {
		size_t cap = b->unanchored_cap ? b->unanchored_cap * 2 : 8;
		uint32_t *u = realloc(b->unanchored, cap * sizeof(*u));
		if (!u) {
			b->oom = 1;
			return;
		}
		b->unanchored = u;
		b->unanchored_cap = cap;
	}
	b->unanchored[b->nunanchored++] = idx;
	a->awaiting_anchor = 1;
}

static void flush_cpu(struct gs_phase_builder *b, uint32_t idx)
{
	struct gs_phase_thread *t = &b->prog->threads[idx];
	struct phase_acc *a = &b->acc[idx];
	push(b, t, GS_PHASE_CPU, 0, a->pending_cpu_ns);
	t->cpu_ns += a->pending_cpu_ns;
	a->pending_cpu_ns = 0;
}

/*
 * A hold still open at the trace's end runs to the end of the recording,
 * which can be long after the process exited: CPython's main thread never
 * releases the GIL on its way out, and the recorder stops later (a CPython
 * 3.11 echo convoy's main thread "held" it 681 ms past its exit, and the
 * replay spun that long against the CPU thread: twice its switches). When
 * the scheduler shows the holder asleep from some point to the end, it did
 * no work from there: the demand stops where that sleep began.
 */
static void trim_open_hold(struct gs_phase_builder *b, const struct gs_interval *iv)
{
	if (iv->thread >= b->cap)
		return;
	struct phase_acc *a = &b->acc[iv->thread];
	if (!a->open_hold || iv->state != GS_CPU_SLEEPING ||
	    !(iv->flags & GS_IV_END_OPEN))
		return;
	uint64_t from = iv->begin_ns > a->open_hold_begin_ns ? iv->begin_ns
							     : a->open_hold_begin_ns;
	uint64_t idle = iv->end_ns > from ? iv->end_ns - from : 0;
	if (idle > a->open_hold_ns)
		idle = a->open_hold_ns;
	if (idle > a->pending_cpu_ns)
		idle = a->pending_cpu_ns;
	a->pending_cpu_ns -= idle;
	a->open_hold_ns -= idle;
	b->prog->threads[iv->thread].trimmed_ns += idle;
}

/*
 * The holder preempted by the OS keeps the GIL and cannot answer a drop
 * request until it runs again: on a loaded machine CPython's forced holds
 * then last 6-11 ms instead of 5, and the I/O thread waits that long. The
 * replay runs at SCHED_FIFO and is not preempted by other work, so it is told: the hold's
 * work so far becomes a CPU phase and the preempted stretch a DEAF phase.
 */
static void preempted_holder(struct gs_phase_builder *b, const struct gs_interval *iv)
{
	if (iv->thread >= b->cap || iv->state != GS_CPU_RUNNABLE ||
	    (iv->flags & (GS_IV_END_OPEN | GS_IV_BEGIN_UNKNOWN)))
		return;
	struct phase_acc *a = &b->acc[iv->thread];
	if (!a->holding || iv->begin_ns < a->seg_start_ns || iv->end_ns <= iv->begin_ns)
		return;
	/* Preempted by one of the program's threads (the I/O thread woken on
	 * the holder's CPU): the program's own contention, which the replay
	 * runs itself. Only the machine's other work is replayed as DEAF. */
	if (a->preempted_by_own)
		return;
	struct gs_phase_thread *t = &b->prog->threads[iv->thread];
	a->pending_cpu_ns += iv->begin_ns - a->seg_start_ns;
	flush_cpu(b, iv->thread);
	uint64_t ns = iv->end_ns - iv->begin_ns;
	push(b, t, GS_PHASE_DEAF, 0, ns);
	t->cpu_ns += ns;
	t->deaf_ns += ns;
	a->seg_start_ns = iv->end_ns;
}

static void on_interval(void *ctx, const struct gs_interval *iv)
{
	struct gs_phase_builder *b = ctx;
	if (iv->track == GS_TRACK_CPU && iv->thread != GS_NO_THREAD) {
		trim_open_hold(b, iv);
		preempted_holder(b, iv);
		return;
	}
	if (iv->track != GS_TRACK_GIL || iv->thread == GS_NO_THREAD)
		return;
	struct gs_phase_thread *t = thread_at(b, iv->thread);
	if (!t)
		return;
	struct phase_acc *a = &b->acc[iv->thread];
	if (!a->seen) {
		a->seen = 1;
		a->first_ns = iv->begin_ns;
	}
	uint64_t ns = iv->end_ns > iv->begin_ns ? iv->end_ns - iv->begin_ns : 0;
	int after_block = a->after_block;
	a->after_block = iv->state == GS_ST_BLOCKED;
	switch (iv->state) {
	case GS_ST_HOLD:
		a->cut = 0;
		/* what preempted_holder() has not counted yet */
		if (a->seg_start_ns > iv->begin_ns)
			ns = iv->end_ns > a->seg_start_ns ? iv->end_ns - a->seg_start_ns : 0;
		a->pending_cpu_ns += ns;
		t->holds++;
		switch (iv->reason) {
		case GS_RELEASE_FORCED:
		case GS_RELEASE_INTERVAL:
		case GS_RELEASE_UNKNOWN:
			/* The policy cut this hold; the work goes on after
			 * the wait, so it stays one CPU phase. A following
			 * BLOCKED interval still ends the phase. */
			t->cuts++;
			a->cut = 1;
			await_anchor(b, iv->thread);
			break;
		case GS_RELEASE_EXIT:
			t->exits = 1;
			a->gone = 1;
			flush_cpu(b, iv->thread);
			break;
		case GS_RELEASE_MAX: /* still held at the end: see trim_open_hold */
			if (iv->flags & GS_IV_END_OPEN) {
				a->open_hold = 1;
				a->open_hold_begin_ns = iv->begin_ns;
				a->open_hold_ns = ns;
				break;
			}
			flush_cpu(b, iv->thread);
			break;
		default: /* blocking */
			flush_cpu(b, iv->thread);
			break;
		}
		break;
	case GS_ST_BLOCKED:
		flush_cpu(b, iv->thread);
		push(b, t, GS_PHASE_BLOCK, iv->kind, ns);
		t->block_ns += ns;
		break;
	case GS_ST_NOGIL:
		/* Right after a forced release (e.g. CPython's FORCE_SWITCHING
		 * wait) the thread is off the GIL because the policy said
		 * so: that time belongs to the wait, not to the thread. */
		if (a->cut && !(iv->flags & GS_IV_END_OPEN)) {
			uint64_t from = a->cut_anchor_ns && a->cut_anchor_ns <= iv->end_ns
						? a->cut_anchor_ns : iv->begin_ns;
			push_return(b, t, iv->end_ns > from ? iv->end_ns - from : 0);
		}
		if (a->cut || a->gone)
			break;
		/* blocking_end -> acquire_request: still the same call
		 * returning, so the same phase. */
		if (after_block && t->nphases) {
			t->phases[t->nphases - 1].ns += ns;
			t->block_ns += ns;
			a->after_block = 1;
			break;
		}
		if (!t->nphases && !a->pending_cpu_ns && !t->holds) {
			a->lead_ns += ns;
			break;
		}
		flush_cpu(b, iv->thread);
		if (!(iv->flags & GS_IV_BEGIN_UNKNOWN)) {
			push(b, t, GS_PHASE_BLOCK, GS_BLOCK_OTHER, ns);
			t->block_ns += ns;
		}
		break;
	case GS_ST_EXITED:
		t->exits = 1;
		break;
	default: /* WAIT and UNKNOWN: the replayed policy decides waits */
		break;
	}
}

/* A thread's progress at ts: the summed length of its phases so far. */
static uint64_t progress_at(struct gs_phase_builder *b, uint32_t idx, uint64_t ts)
{
	const struct gs_phase_thread *t = &b->prog->threads[idx];
	const struct phase_acc *a = &b->acc[idx];
	uint64_t p = t->cpu_ns + t->block_ns + a->pending_cpu_ns;
	if (a->holding && ts > a->seg_start_ns)
		p += ts - a->seg_start_ns;
	return p;
}

void gs_phases_before_event(void *ctx, const struct gs_event *ev,
			    const struct gs_state *st)
{
	struct gs_phase_builder *b = ctx;
	uint32_t self = gs_state_lookup(st, ev->tid);
	if (self != GS_NO_THREAD) {
		if (ev->type == GS_EV_sched_switch_out && self < b->cap)
			b->acc[self].preempted_by_own =
				gs_state_lookup(st, ev->a0) != GS_NO_THREAD;
		return;
	}
	uint32_t creator = gs_state_holder(st);
	if (creator == GS_NO_THREAD)
		creator = b->last_releaser;
	b->have_pending = 0;
	if (creator == GS_NO_THREAD || creator >= b->prog->nthreads)
		return;
	b->have_pending = 1;
	b->pending_creator = creator;
	b->pending_progress = progress_at(b, creator, ev->ts_ns);
}

static void on_thread(void *ctx, uint32_t idx)
{
	struct gs_phase_builder *b = ctx;
	struct gs_phase_thread *t = thread_at(b, idx);
	if (!t || !b->have_pending)
		return;
	t->creator = b->pending_creator;
	t->creator_progress_ns = b->pending_progress;
	b->have_pending = 0;
}

static void on_acquire(void *ctx, const struct gs_acquire *ac)
{
	struct gs_phase_builder *b = ctx;
	if (!thread_at(b, ac->thread))
		return;
	b->acc[ac->thread].holding = 1;
	b->acc[ac->thread].hold_start_ns = ac->ts_ns;
	b->acc[ac->thread].seg_start_ns = ac->ts_ns;
	for (size_t i = 0; i < b->nunanchored; i++) {
		uint32_t idx = b->unanchored[i];
		if (idx == ac->thread) {
			/* came back before anyone else took it */
			b->acc[idx].awaiting_anchor = 0;
			continue;
		}
		b->acc[idx].cut_anchor_ns = ac->ts_ns;
		b->acc[idx].awaiting_anchor = 0;
	}
	b->nunanchored = 0;
}

static void on_release(void *ctx, const struct gs_release *r)
{
	struct gs_phase_builder *b = ctx;
	if (!thread_at(b, r->thread))
		return;
	b->acc[r->thread].holding = 0;
	b->last_releaser = r->thread;
}

struct gs_phase_builder *gs_phases_builder_new(struct gs_phase_program *prog)
{
	struct gs_phase_builder *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	memset(prog, 0, sizeof(*prog));
	b->prog = prog;
	b->listener.ctx = b;
	b->listener.interval = on_interval;
	b->listener.thread = on_thread;
	b->listener.acquire = on_acquire;
	b->listener.release = on_release;
	b->last_releaser = GS_NO_THREAD;
	return b;
}

const struct gs_listener *gs_phases_listener(struct gs_phase_builder *b)
{
	return &b->listener;
}

int gs_phases_builder_finish(struct gs_phase_builder *b,
			     const struct gs_state *st, uint64_t trace_start_ns)
{
	struct gs_phase_program *p = b->prog;
	for (size_t i = 0; i < p->nthreads; i++) {
		struct gs_phase_thread *t = &p->threads[i];
		flush_cpu(b, (uint32_t)i);
		const struct gs_thread_state *ts = gs_state_thread(st, (uint32_t)i);
		if (ts) {
			t->tid = ts->tid;
			memcpy(t->name, ts->name, sizeof(t->name));
			t->role = ts->role;
			t->os_prio = ts->base_os_prio;
			t->gil_prio = ts->gil_prio;
		}
		uint64_t first = b->acc[i].seen ? b->acc[i].first_ns : trace_start_ns;
		t->start_ns = (first > trace_start_ns ? first - trace_start_ns : 0) +
			      b->acc[i].lead_ns;
	}
	return b->oom ? -1 : 0;
}

void gs_phases_builder_free(struct gs_phase_builder *b)
{
	if (!b)
		return;
	free(b->acc);
	free(b->unanchored);
	free(b);
}

int gs_phases_extract(const char *path, int allow_truncated,
		      struct gs_phase_program *prog,
		      struct gs_analysis *analysis, char *err, size_t errlen)
{
	struct gs_phase_builder *b = gs_phases_builder_new(prog);
	if (!b) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	struct gs_analyze_opts opts = {
		.allow_truncated = allow_truncated,
		.listener = gs_phases_listener(b),
		.before_event = gs_phases_before_event,
		.before_event_ctx = b,
	};
	if (gs_analyze(path, &opts, analysis, err, errlen) != 0) {
		gs_phases_builder_free(b);
		gs_phases_free(prog);
		return -1;
	}
	const struct gs_state_counters *c = gs_state_counters(analysis->state);
	uint64_t start = c->first_ns;
	int rc = gs_phases_builder_finish(b, analysis->state, start);
	gs_phases_builder_free(b);
	if (rc) {
		snprintf(err, errlen, "%s: out of memory extracting phases", path);
		gs_phases_free(prog);
		gs_analysis_free(analysis);
		return -1;
	}
	prog->span_ns = c->last_ns > c->first_ns ? c->last_ns - c->first_ns : 0;
	prog->runtime = analysis->info.runtime;
	prog->policy = analysis->info.policy;
	prog->interval_us = analysis->info.interval_us;
	prog->check_ticks = analysis->info.check_ticks;
	snprintf(prog->policy_name, sizeof(prog->policy_name), "%s",
		 analysis->info.policy_name);
	snprintf(prog->command, sizeof(prog->command), "%s", analysis->info.command);
	return 0;
}

void gs_phases_free(struct gs_phase_program *prog)
{
	for (size_t i = 0; i < prog->nthreads; i++) {
		free(prog->threads[i].phases);
		free(prog->threads[i].returns);
	}
	free(prog->threads);
	memset(prog, 0, sizeof(*prog));
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

uint64_t gs_phase_return_p50(const struct gs_phase_thread *t)
{
	if (!t->nreturns)
		return 0;
	uint32_t *v = malloc(t->nreturns * sizeof(*v));
	if (!v)
		return 0;
	memcpy(v, t->returns, t->nreturns * sizeof(*v));
	qsort(v, t->nreturns, sizeof(*v), cmp_u32);
	uint64_t m = v[t->nreturns / 2];
	free(v);
	return m;
}
