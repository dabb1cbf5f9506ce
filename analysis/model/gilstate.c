/* SPDX-License-Identifier: MIT */
/*
 * The GIL state machine (gilstate.h). One pass, O(threads) memory: each event
 * updates one thread's state and, rarely, scans the waiters (inversions).
 *
 * Runtime counters agree exactly with libgil's own (gil_runtime_stats) when
 * the trace comes from libgil: for those traces the release record's waiter
 * count (a0) and the acquire record's previous holder (a1) are what the
 * runtime itself counted with, so they are used instead of what the merged
 * timeline shows (which can differ by a few nanoseconds of clock skew).
 */
#include "gilstate.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tidmap.h"

#define MAX_LISTENERS 8

struct gs_state {
	struct gs_thread_state *th;
	size_t nth, cap;
	struct gs_tidmap map; /* tid -> index in th */
	/* direct-mapped by the tid's low bits, in front of the map: the
	 * per-event lookup is a mask and a compare */
	uint32_t cache_tid[64], cache_idx[64];
	struct gs_listener ls[MAX_LISTENERS];
	int nls;
	struct gs_source *src;

	uint32_t holder;      /* GS_NO_THREAD: free (if holder_known) */
	int holder_known;
	uint64_t holder_unknown_since;
	uint32_t last_acquirer;
	uint32_t last_releaser;
	uint8_t last_release_reason;

	uint32_t nwaiters;
	uint64_t waiters_since, waiters_since_off;

	int ho_pending;
	struct gs_handoff ho;

	uint32_t drop_n;
	struct gs_drop drop;

	int pinv_open, sinv_open;
	struct gs_inversion pinv, sinv;

	int have_sched;
	int prio_mixed;       /* threads differ in priority: inversions possible */
	uint64_t acquire_epoch; /* acquires so far (contended waits) */
	int recorded;         /* trust the records' waiter/holder arguments */
	int lossy;
	/* the tracer timed blocking_end at the thread's next request (the
	 * light probe set): no figure is timed from it */
	int blocking_end_inferred;
	int failed;
	uint64_t last_ts;
	struct gs_state_counters c;
	char error[512];
};

static const char *const gil_state_names[] = { "unknown", "nogil", "wait",
					       "hold", "blocked", "exited" };
static const char *const cpu_state_names[] = { "unknown", "running",
					       "runnable", "sleeping" };

const char *gs_gil_state_name(unsigned s)
{
	return s < GS_ST_MAX ? gil_state_names[s] : "?";
}

const char *gs_cpu_state_name(unsigned s)
{
	return s < GS_CPU_MAX ? cpu_state_names[s] : "?";
}

#define EMIT(st, cb, ...)                                                   \
	do {                                                                \
		for (int i_ = 0; i_ < (st)->nls; i_++)                      \
			if ((st)->ls[i_].cb)                                \
				(st)->ls[i_].cb((st)->ls[i_].ctx, __VA_ARGS__); \
	} while (0)

struct gs_state *gs_state_new(const struct gs_trace_info *info, int lossy)
{
	struct gs_state *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->holder = GS_NO_THREAD;
	st->last_acquirer = GS_NO_THREAD;
	st->last_releaser = GS_NO_THREAD;
	st->last_release_reason = GS_RELEASE_UNKNOWN;
	st->lossy = lossy;
	st->recorded = info && info->runtime == GS_RUNTIME_LIBGIL;
	st->blocking_end_inferred = info && (info->flags & GS_HDR_F_INFERRED);
	for (int i = 0; i < 64; i++)
		st->cache_idx[i] = GS_NO_THREAD;
	return st;
}

void gs_state_free(struct gs_state *st)
{
	if (!st)
		return;
	free(st->th);
	gs_tidmap_free(&st->map);
	free(st);
}

int gs_state_listen(struct gs_state *st, const struct gs_listener *l)
{
	if (st->nls == MAX_LISTENERS)
		return -1;
	st->ls[st->nls++] = *l;
	return 0;
}

void gs_state_set_source(struct gs_state *st, struct gs_source *src)
{
	st->src = src;
}

const char *gs_state_error(const struct gs_state *st) { return st->error; }
size_t gs_state_nthreads(const struct gs_state *st) { return st->nth; }
uint32_t gs_state_waiters(const struct gs_state *st) { return st->nwaiters; }
const struct gs_state_counters *gs_state_counters(const struct gs_state *st)
{
	return &st->c;
}

const struct gs_thread_state *gs_state_thread(const struct gs_state *st,
					      uint32_t thread)
{
	return thread < st->nth ? &st->th[thread] : NULL;
}

uint32_t gs_state_holder(const struct gs_state *st)
{
	return st->holder_known ? st->holder : GS_NO_THREAD;
}

int gs_state_prio_cmp(const struct gs_thread_state *a,
		      const struct gs_thread_state *b)
{
	if (a->gil_prio != b->gil_prio)
		return a->gil_prio > b->gil_prio ? 1 : -1;
	if (a->os_prio != b->os_prio)
		return a->os_prio > b->os_prio ? 1 : -1;
	return 0;
}

uint32_t gs_state_lookup(const struct gs_state *st, uint32_t tid)
{
	uint32_t idx = gs_tidmap_get(&st->map, tid);
	return idx == GS_TIDMAP_NONE ? GS_NO_THREAD : idx;
}

/* Inversions need two threads of different priority; most traces have
 * none, and then the waiter scans at every acquire are skipped. */
static void update_prio_mixed(struct gs_state *st)
{
	st->prio_mixed = 0;
	for (uint32_t i = 1; i < st->nth; i++)
		if (gs_state_prio_cmp(&st->th[i], &st->th[0]) != 0) {
			st->prio_mixed = 1;
			return;
		}
}

static uint32_t new_thread(struct gs_state *st, uint32_t tid, uint64_t ts)
{
	if (st->nth == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 16;
		struct gs_thread_state *t = realloc(st->th, cap * sizeof(*t));
		if (!t)
			return GS_NO_THREAD;
		st->th = t;
		st->cap = cap;
	}
	uint32_t idx = (uint32_t)st->nth;
	if (gs_tidmap_put(&st->map, tid, idx))
		return GS_NO_THREAD;
	st->nth++;
	struct gs_thread_state *t = &st->th[idx];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->first_ns = t->last_ns = ts;
	t->gil_since = t->cpu_since = ts;
	t->gil_flags = t->cpu_flags = GS_IV_BEGIN_UNKNOWN;
	const struct gs_thread_info *ti =
		st->src && st->src->ops->thread ? st->src->ops->thread(st->src, tid)
						 : NULL;
	if (ti) {
		t->role = ti->role;
		t->os_prio = t->base_os_prio = ti->os_prio;
		t->gil_prio = ti->gil_prio;
		snprintf(t->name, sizeof(t->name), "%s", ti->name);
	} else {
		snprintf(t->name, sizeof(t->name), "tid-%u", tid);
	}
	update_prio_mixed(st);
	EMIT(st, thread, idx);
	return idx;
}

static int fail(struct gs_state *st, const struct gs_event *ev,
		const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct gs_state *st, const struct gs_event *ev,
		const char *fmt, ...)
{
	char what[420];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(st->error, sizeof(st->error), "offset %" PRIu64 ": %s",
		 ev->offset, what);
	st->failed = 1;
	return -1;
}

/* ---- interval bookkeeping ----
 * Forced inline: these run for most events, and the call frames cost more
 * than their bodies (callgrind: -3 % instructions per event). */
#define HOT static inline __attribute__((always_inline))

HOT void set_waiters(struct gs_state *st, uint32_t n, uint64_t ts, uint64_t off)
{
	if (st->nwaiters && st->nls) {
		struct gs_interval iv = {
			.begin_ns = st->waiters_since, .end_ns = ts,
			.begin_offset = st->waiters_since_off, .end_offset = off,
			.thread = GS_NO_THREAD, .tid = 0,
			.track = GS_TRACK_WAITERS,
			.state = (uint8_t)(st->nwaiters > 255 ? 255 : st->nwaiters),
		};
		EMIT(st, interval, &iv);
	}
	st->nwaiters = n;
	st->waiters_since = ts;
	st->waiters_since_off = off;
}

HOT void close_gil(struct gs_state *st, uint32_t idx, uint64_t ts, uint64_t off,
		   uint8_t reason, uint8_t extra_flags)
{
	struct gs_thread_state *t = &st->th[idx];
	if (t->gil == GS_ST_UNKNOWN || t->gil == GS_ST_EXITED)
		return;
	struct gs_interval iv = {
		.begin_ns = t->gil_since, .end_ns = ts,
		.begin_offset = t->gil_since_off, .end_offset = off,
		.thread = idx, .tid = t->tid, .track = GS_TRACK_GIL,
		.state = t->gil, .why = t->why, .reason = reason,
		.kind = t->kind, .flags = (uint8_t)(t->gil_flags | extra_flags),
	};
	EMIT(st, interval, &iv);
}

HOT void set_gil(struct gs_state *st, uint32_t idx, uint8_t state, uint64_t ts,
		 uint64_t off, uint8_t reason)
{
	struct gs_thread_state *t = &st->th[idx];
	close_gil(st, idx, ts, off, reason, 0);
	t->gil = state;
	t->gil_since = ts;
	t->gil_since_off = off;
	t->gil_flags = 0;
}

static void close_cpu(struct gs_state *st, uint32_t idx, uint64_t ts,
		      uint64_t off, uint8_t extra_flags)
{
	struct gs_thread_state *t = &st->th[idx];
	if (t->cpu == GS_CPU_UNKNOWN)
		return;
	struct gs_interval iv = {
		.begin_ns = t->cpu_since, .end_ns = ts,
		.begin_offset = t->cpu_since_off, .end_offset = off,
		.thread = idx, .tid = t->tid, .track = GS_TRACK_CPU,
		.state = t->cpu, .flags = (uint8_t)(t->cpu_flags | extra_flags),
	};
	EMIT(st, interval, &iv);
}

static void set_cpu(struct gs_state *st, uint32_t idx, uint8_t state,
		    uint64_t ts, uint64_t off)
{
	struct gs_thread_state *t = &st->th[idx];
	if (t->cpu == state)
		return;
	close_cpu(st, idx, ts, off, 0);
	t->cpu = state;
	t->cpu_since = ts;
	t->cpu_since_off = off;
	t->cpu_flags = 0;
}

/* ---- inversions ---- */

/* The most important waiter that outranks thread `than`, or GS_NO_THREAD. */
static uint32_t top_waiter_above(const struct gs_state *st, uint32_t than)
{
	uint32_t best = GS_NO_THREAD;
	const struct gs_thread_state *ref = &st->th[than];
	for (uint32_t i = 0; i < st->nth; i++) {
		const struct gs_thread_state *w = &st->th[i];
		if (w->gil != GS_ST_WAIT || i == than)
			continue;
		if (gs_state_prio_cmp(w, ref) <= 0)
			continue;
		if (best == GS_NO_THREAD || gs_state_prio_cmp(w, &st->th[best]) > 0)
			best = i;
	}
	return best;
}

static void open_inv(struct gs_state *st, struct gs_inversion *inv,
		     uint8_t kind, uint32_t waiter, uint32_t holder, uint64_t ts)
{
	inv->kind = kind;
	inv->begin_ns = ts;
	inv->end_ns = ts;
	inv->waiter = waiter;
	inv->holder = holder;
	inv->waiter_tid = st->th[waiter].tid;
	inv->holder_tid = st->th[holder].tid;
	inv->waiter_prio = st->th[waiter].gil_prio;
	inv->holder_prio = st->th[holder].gil_prio;
}

static void close_pinv(struct gs_state *st, uint64_t ts)
{
	if (!st->pinv_open)
		return;
	st->pinv_open = 0;
	st->pinv.end_ns = ts;
	EMIT(st, inversion, &st->pinv);
}

static void close_sinv(struct gs_state *st, uint64_t ts)
{
	if (!st->sinv_open)
		return;
	st->sinv_open = 0;
	st->sinv.end_ns = ts;
	EMIT(st, inversion, &st->sinv);
}

/* Scheduler-level inversion: the holder is runnable but not running while a
 * more important thread waits for the GIL. */
static void sched_eval(struct gs_state *st, uint64_t ts)
{
	uint32_t h = gs_state_holder(st);
	uint32_t w = GS_NO_THREAD;
	if (h != GS_NO_THREAD && st->th[h].cpu == GS_CPU_RUNNABLE &&
	    st->nwaiters && st->prio_mixed)
		w = top_waiter_above(st, h);
	if (st->sinv_open &&
	    (w == GS_NO_THREAD || st->sinv.holder != h || st->sinv.waiter != w))
		close_sinv(st, ts);
	if (w != GS_NO_THREAD && !st->sinv_open) {
		open_inv(st, &st->sinv, GS_INV_SCHED, w, h, ts);
		st->sinv_open = 1;
	}
}

/* ---- gaps ---- */

/* Forgets what we knew about thread idx: its events around ts were lost. */
static void reset_thread(struct gs_state *st, uint32_t idx, uint64_t ts,
			 uint64_t off)
{
	struct gs_thread_state *t = &st->th[idx];
	if (t->gil == GS_ST_WAIT)
		set_waiters(st, st->nwaiters - 1, ts, off);
	if (st->holder_known && st->holder == idx) {
		st->holder_known = 0;
		st->holder = GS_NO_THREAD;
		st->holder_unknown_since = ts;
	}
	if (st->pinv_open && (st->pinv.holder == idx || st->pinv.waiter == idx))
		close_pinv(st, ts);
	if (st->sinv_open && (st->sinv.holder == idx || st->sinv.waiter == idx))
		close_sinv(st, ts);
	if (st->drop_n && st->drop.holder == idx)
		st->drop_n = 0;
	t->gil = GS_ST_UNKNOWN;
	t->gil_since = ts;
	t->gil_flags = GS_IV_BEGIN_UNKNOWN;
	t->cpu = GS_CPU_UNKNOWN;
	t->cpu_since = ts;
	t->cpu_flags = GS_IV_BEGIN_UNKNOWN;
	t->have_hold = t->have_wait = t->have_blocking_end = 0;
	t->in_blocking = 0;
	t->woke_waiting = 0;
}

/* An impossible sequence: an error, or in a lossy trace a gap. */
#define BAD(st, ev, idx, ...)                                               \
	do {                                                                \
		if (!(st)->lossy)                                           \
			return fail((st), (ev), __VA_ARGS__);               \
		(st)->c.gaps++;                                             \
		reset_thread((st), (idx), (ev)->ts_ns, (ev)->offset);       \
		EMIT((st), gap, (idx), (ev)->ts_ns, 0);                     \
	} while (0)

/* ---- events ---- */

static int on_request(struct gs_state *st, uint32_t idx, const struct gs_event *ev)
{
	struct gs_thread_state *t = &st->th[idx];
	switch (t->gil) {
	case GS_ST_WAIT:
		BAD(st, ev, idx, "tid %u asks for the GIL twice (expected "
		    "acquired after its acquire_request at %" PRIu64 " ns)",
		    t->tid, t->wait_since);
		break;
	case GS_ST_HOLD:
		BAD(st, ev, idx, "tid %u asks for the GIL while holding it "
		    "(expected a release first)", t->tid);
		break;
	default:
		break;
	}
	set_gil(st, idx, GS_ST_WAIT, ev->ts_ns, ev->offset, 0);
	t->why = ev->a8 < GS_WHY_MAX ? ev->a8 : GS_WHY_FIRST;
	t->wait_since = ev->ts_ns;
	t->have_wait = 1;
	t->woke_waiting = 0;
	t->contended = st->holder_known && st->holder != GS_NO_THREAD;
	t->request_epoch = st->acquire_epoch;
	set_waiters(st, st->nwaiters + 1, ev->ts_ns, ev->offset);
	if (st->have_sched)
		sched_eval(st, ev->ts_ns);
	return 0;
}

static int on_acquired(struct gs_state *st, uint32_t idx, const struct gs_event *ev)
{
	struct gs_thread_state *t = &st->th[idx];
	uint64_t ts = ev->ts_ns;
	if (st->holder_known && st->holder != GS_NO_THREAD && st->holder != idx) {
		uint32_t h = st->holder;
		if (!st->lossy)
			return fail(st, ev, "two holders: tid %u acquired the GIL "
				    "while tid %u holds it (expected tid %u's "
				    "release first)", t->tid, st->th[h].tid,
				    st->th[h].tid);
		st->c.gaps++;
		reset_thread(st, h, ts, ev->offset);
		EMIT(st, gap, h, ts, 0);
	}
	switch (t->gil) {
	case GS_ST_HOLD:
		BAD(st, ev, idx, "tid %u acquired the GIL it already holds "
		    "(expected a release first)", t->tid);
		break;
	case GS_ST_NOGIL:
	case GS_ST_BLOCKED:
		if (st->recorded)
			BAD(st, ev, idx, "tid %u acquired the GIL without "
			    "asking (expected acquire_request first)", t->tid);
		break;
	default:
		break;
	}
	struct gs_acquire a = {
		.ts_ns = ts, .offset = ev->offset, .thread = idx, .tid = t->tid,
		.why = ev->a8 < GS_WHY_MAX ? ev->a8 : GS_WHY_FIRST,
		.releaser = st->last_releaser,
		.releaser_reason = st->last_release_reason,
		.prev_thread = st->last_acquirer,
		.prev_tid = st->recorded ? ev->a1
			: (st->last_acquirer != GS_NO_THREAD
				   ? st->th[st->last_acquirer].tid : 0),
		.first_seen = t->acquisitions == 0,
	};
	if (t->gil == GS_ST_WAIT) {
		a.wait_ns = ts - t->wait_since;
		a.request_seen = 1;
		a.why = t->why;
		/* someone else acquired while it waited */
		a.contended = t->contended || t->request_epoch != st->acquire_epoch;
		set_waiters(st, st->nwaiters - 1, ts, ev->offset);
	}
	if (a.why == GS_WHY_AFTER_BLOCKING && t->have_blocking_end &&
	    (!st->blocking_end_inferred || a.request_seen)) {
		/* An inferred blocking_end carries its request's time: the
		 * re-acquire wait is then the request's own (observed) wait. */
		a.io_wait_ns = st->blocking_end_inferred ? a.wait_ns
							 : ts - t->blocking_end_ns;
		a.io_kind = t->blocking_end_kind;
	}
	t->have_blocking_end = 0;
	a.waiters = st->nwaiters;
	a.is_switch = st->recorded ? ev->a1 != t->tid
				   : st->last_acquirer != idx;
	st->c.acquisitions++;
	if (a.is_switch)
		st->c.switches++;
	t->acquisitions++;

	if (st->ho_pending) {
		st->ho_pending = 0;
		st->ho.acquire_ns = ts;
		st->ho.next = idx;
		st->ho.next_tid = t->tid;
		st->ho.failed = st->ho.releaser == idx;
		st->c.handoffs_attempted++;
		if (st->ho.failed)
			st->c.handoffs_failed++;
		EMIT(st, handoff, &st->ho);
	}
	EMIT(st, acquire, &a);

	set_gil(st, idx, GS_ST_HOLD, ts, ev->offset, 0);
	t->why = a.why;
	t->hold_since = ts;
	t->have_hold = 1;
	t->have_wait = 0;
	t->in_blocking = 0;
	st->holder = idx;
	st->holder_known = 1;
	st->last_acquirer = idx;
	if (st->drop_n && st->drop.holder != idx)
		st->drop_n = 0; /* requests against a holder long gone */

	st->acquire_epoch++;
	close_pinv(st, ts);
	if (st->nwaiters && st->prio_mixed) {
		uint32_t w = top_waiter_above(st, idx);
		if (w != GS_NO_THREAD) {
			open_inv(st, &st->pinv, GS_INV_POLICY, w, idx, ts);
			st->pinv_open = 1;
		}
	}
	if (st->have_sched)
		sched_eval(st, ts);
	return 0;
}

static int on_release(struct gs_state *st, uint32_t idx, const struct gs_event *ev)
{
	struct gs_thread_state *t = &st->th[idx];
	uint64_t ts = ev->ts_ns;
	uint8_t reason = ev->a8 < GS_RELEASE_MAX ? ev->a8 : GS_RELEASE_UNKNOWN;
	if (st->holder_known && st->holder != idx) {
		if (st->holder != GS_NO_THREAD)
			BAD(st, ev, idx, "release by tid %u while tid %u holds "
			    "the GIL (expected a release by the holder)", t->tid,
			    st->th[st->holder].tid);
		else if (t->gil != GS_ST_UNKNOWN)
			BAD(st, ev, idx, "release by tid %u while nobody holds "
			    "the GIL (expected acquired first)", t->tid);
	} else if (t->gil != GS_ST_HOLD && t->gil != GS_ST_UNKNOWN) {
		BAD(st, ev, idx, "release by tid %u in state %s (expected it to "
		    "hold the GIL)", t->tid, gs_gil_state_name(t->gil));
	}
	if (t->gil == GS_ST_UNKNOWN && !st->holder_known) {
		/* It held the GIL since before we knew: show that as a hold of
		 * unknown beginning, from when the holder became unknown. */
		uint64_t b = st->holder_unknown_since > t->gil_since
				     ? st->holder_unknown_since : t->gil_since;
		t->gil = GS_ST_HOLD;
		t->gil_since = b;
		t->gil_flags = GS_IV_BEGIN_UNKNOWN;
		t->why = GS_WHY_FIRST;
	}
	uint32_t waiters = st->recorded ? ev->a0 : st->nwaiters;
	struct gs_release r = {
		.ts_ns = ts, .offset = ev->offset, .thread = idx, .tid = t->tid,
		.waiters = waiters, .seen_waiters = st->nwaiters,
		.reason = reason, .hold_seen = t->have_hold,
		.hold_ns = t->have_hold ? ts - t->hold_since : 0,
		.drop_requested = st->drop_n > 0 && st->drop.holder == idx,
	};
	st->c.releases[reason]++;
	if (reason == GS_RELEASE_FORCED)
		st->c.forced_drops++;
	EMIT(st, release, &r);
	if (r.drop_requested) {
		st->drop.release_ns = ts;
		st->drop.requests = st->drop_n;
		st->drop.reason = reason;
		EMIT(st, drop, &st->drop);
	}
	st->drop_n = 0;

	st->ho_pending = waiters > 0;
	if (st->ho_pending) {
		st->ho.release_ns = ts;
		st->ho.releaser = idx;
		st->ho.releaser_tid = t->tid;
		st->ho.waiters = waiters;
		st->ho.reason = reason;
	}
	uint8_t next = reason == GS_RELEASE_BLOCKING && t->in_blocking
			       ? GS_ST_BLOCKED : GS_ST_NOGIL;
	set_gil(st, idx, next, ts, ev->offset, reason);
	t->have_hold = 0;
	st->holder = GS_NO_THREAD;
	st->holder_known = 1;
	st->last_releaser = idx;
	st->last_release_reason = reason;
	if (st->pinv_open && st->pinv.holder == idx)
		close_pinv(st, ts);
	if (st->have_sched)
		sched_eval(st, ts);
	return 0;
}

static int on_exit(struct gs_state *st, uint32_t idx, const struct gs_event *ev)
{
	struct gs_thread_state *t = &st->th[idx];
	if (t->gil == GS_ST_HOLD)
		BAD(st, ev, idx, "tid %u exits holding the GIL (expected a "
		    "release first)", t->tid);
	if (t->gil == GS_ST_WAIT)
		set_waiters(st, st->nwaiters - 1, ev->ts_ns, ev->offset);
	close_gil(st, idx, ev->ts_ns, ev->offset, 0, 0);
	close_cpu(st, idx, ev->ts_ns, ev->offset, 0);
	t->gil = GS_ST_EXITED;
	t->cpu = GS_CPU_UNKNOWN;
	t->exited = 1;
	if (st->pinv_open && st->pinv.waiter == idx)
		close_pinv(st, ev->ts_ns);
	if (st->have_sched)
		sched_eval(st, ev->ts_ns);
	return 0;
}

static void on_sched(struct gs_state *st, uint32_t idx, const struct gs_event *ev)
{
	struct gs_thread_state *t = &st->th[idx];
	st->have_sched = 1;
	st->c.sched_events++;
	switch (ev->type) {
	case GS_EV_sched_switch_in:
		set_cpu(st, idx, GS_CPU_RUNNING, ev->ts_ns, ev->offset);
		if (t->gil == GS_ST_WAIT)
			t->woke_waiting = 1;
		break;
	case GS_EV_sched_switch_out:
		set_cpu(st, idx, ev->a8 == GS_SCHED_BLOCKED ? GS_CPU_SLEEPING
							   : GS_CPU_RUNNABLE,
			ev->ts_ns, ev->offset);
		if (ev->a8 == GS_SCHED_BLOCKED && t->gil == GS_ST_WAIT &&
		    t->woke_waiting)
			EMIT(st, wasted_wakeup, idx, ev->ts_ns);
		t->woke_waiting = 0;
		break;
	case GS_EV_sched_wakeup:
		if (t->cpu == GS_CPU_SLEEPING || t->cpu == GS_CPU_UNKNOWN)
			set_cpu(st, idx, GS_CPU_RUNNABLE, ev->ts_ns, ev->offset);
		break;
	}
	sched_eval(st, ev->ts_ns);
}

/* A loss in a tracer's per-CPU buffer (perf, trace-cmd: the marker names
 * no thread): any thread's events may be among the lost, so every thread's
 * state is forgotten, and from here on an impossible sequence is a gap, not
 * an error (those tracers say that they lost events only where they did). */
static int on_lost_any_thread(struct gs_state *st, const struct gs_event *ev)
{
	st->lossy = 1;
	st->c.gaps++;
	st->c.lost += ev->a0;
	for (uint32_t i = 0; i < st->nth; i++) {
		reset_thread(st, i, ev->ts_ns, ev->offset);
		EMIT(st, gap, i, ev->ts_ns, i == 0 ? ev->a0 : 0);
	}
	return 0;
}

int gs_state_feed(struct gs_state *st, const struct gs_event *ev)
{
	if (st->failed)
		return -1;
	uint64_t ts = ev->ts_ns;
	if (__builtin_expect(ts < st->last_ts, 0))
		return fail(st, ev, "time goes backwards: %" PRIu64 " ns after %"
			    PRIu64 " ns (expected events in time order)", ts,
			    st->last_ts);
	st->last_ts = ts;
	if (!st->c.events++)
		st->c.first_ns = ts;
	st->c.last_ns = ts;
	if (ev->type == GS_EV_lost && ev->tid == 0)
		return on_lost_any_thread(st, ev);

	uint32_t slot = ev->tid & 63, idx;
	if (__builtin_expect(st->cache_tid[slot] == ev->tid &&
			     st->cache_idx[slot] != GS_NO_THREAD, 1)) {
		idx = st->cache_idx[slot];
	} else {
		idx = gs_state_lookup(st, ev->tid);
		if (idx == GS_NO_THREAD) {
			idx = new_thread(st, ev->tid, ts);
			if (idx == GS_NO_THREAD)
				return fail(st, ev, "out of memory for the "
					    "thread table");
			if (!st->holder_known && st->c.events == 1)
				st->holder_unknown_since = ts;
		}
		st->cache_tid[slot] = ev->tid;
		st->cache_idx[slot] = idx;
	}
	struct gs_thread_state *t = &st->th[idx];
	t->last_ns = ts;

	switch (ev->type) {
	case GS_EV_acquire_request:
		return on_request(st, idx, ev);
	case GS_EV_acquired:
		return on_acquired(st, idx, ev);
	case GS_EV_release:
		return on_release(st, idx, ev);
	case GS_EV_blocking_begin:
		t->in_blocking = 1;
		t->kind = ev->a8 < GS_BLOCK_MAX ? ev->a8 : GS_BLOCK_OTHER;
		return 0;
	case GS_EV_blocking_end:
		t->in_blocking = 0;
		t->blocking_end_ns = ts;
		t->blocking_end_kind = ev->a8 < GS_BLOCK_MAX ? ev->a8 : GS_BLOCK_OTHER;
		t->have_blocking_end = 1;
		if (t->gil == GS_ST_BLOCKED)
			set_gil(st, idx, GS_ST_NOGIL, ts, ev->offset, 0);
		return 0;
	case GS_EV_drop_request: {
		st->c.drop_requests++;
		uint32_t h = st->recorded ? (ev->a0 ? gs_state_lookup(st, ev->a0)
						    : GS_NO_THREAD)
					  : gs_state_holder(st);
		if (h != GS_NO_THREAD && h == gs_state_holder(st)) {
			if (!st->drop_n) {
				st->drop.request_ns = ts;
				st->drop.requester = idx;
				st->drop.holder = h;
			}
			st->drop_n++;
		}
		EMIT(st, drop_request, ts, idx, h);
		return 0;
	}
	case GS_EV_thread_start:
		if (t->gil != GS_ST_UNKNOWN && t->gil != GS_ST_EXITED &&
		    t->gil != GS_ST_NOGIL)
			BAD(st, ev, idx, "thread_start of tid %u, already in "
			    "state %s (expected its first event)", t->tid,
			    gs_gil_state_name(t->gil));
		t->role = ev->a8;
		t->os_prio = t->base_os_prio = (int32_t)ev->a0;
		t->gil_prio = (int32_t)ev->a1;
		if (ev->str && ev->str[0])
			snprintf(t->name, sizeof(t->name), "%s", ev->str);
		update_prio_mixed(st);
		t->exited = 0;
		if (t->gil == GS_ST_UNKNOWN || t->gil == GS_ST_EXITED) {
			t->gil = GS_ST_NOGIL;
			t->gil_since = ts;
			t->gil_since_off = ev->offset;
			t->gil_flags = 0;
		}
		return 0;
	case GS_EV_thread_exit:
		return on_exit(st, idx, ev);
	case GS_EV_prio_boost: {
		uint32_t b = gs_state_lookup(st, ev->a0);
		if (b != GS_NO_THREAD) {
			struct gs_thread_state *bt = &st->th[b];
			bt->os_prio = ev->a1 ? (int32_t)ev->a1 : bt->base_os_prio;
			update_prio_mixed(st);
			if (st->have_sched)
				sched_eval(st, ts);
		}
		return 0;
	}
	case GS_EV_sched_switch_in:
	case GS_EV_sched_switch_out:
	case GS_EV_sched_wakeup:
		on_sched(st, idx, ev);
		return 0;
	case GS_EV_lost:
		st->c.gaps++;
		st->c.lost += ev->a0;
		/* the open states ended somewhere in the gap: dropped, not
		 * guessed */
		reset_thread(st, idx, ts, ev->offset);
		EMIT(st, gap, idx, ts, ev->a0);
		return 0;
	default:
		return 0; /* switch_wait_*: nothing to rebuild */
	}
}

void gs_state_finish(struct gs_state *st, uint64_t end_ns)
{
	if (!end_ns || end_ns < st->last_ts)
		end_ns = st->last_ts;
	for (uint32_t i = 0; i < st->nth; i++) {
		close_gil(st, i, end_ns, 0, GS_RELEASE_MAX, GS_IV_END_OPEN);
		close_cpu(st, i, end_ns, 0, GS_IV_END_OPEN);
		st->th[i].gil_since = st->th[i].cpu_since = end_ns;
	}
	if (st->nwaiters) {
		uint32_t n = st->nwaiters;
		set_waiters(st, 0, end_ns, 0);
		st->nwaiters = n;
	}
	close_pinv(st, end_ns);
	close_sinv(st, end_ns);
}
