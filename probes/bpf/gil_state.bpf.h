/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * The GIL state machine of the BPF side, shared by every way in (libgil
 * USDT, CPython take_gil/drop_gil, CPython's pthread objects through libc,
 * CPython 2.7's interpreter_lock) and by any BPF program that wants the same
 * view (in-kernel aggregation, stack capture at the emit sites).
 *
 * State is kept per (tgid, GIL) in the map "gils" (struct gsb_gil_key), per
 * thread in "threads" and, when want_stats, per-thread statistics in
 * "stats". The probes turn what they see into three transitions:
 * gsb_state_request(), gsb_state_acquired(), gsb_state_release(); each returns the arguments
 * the catalog event carries (waiters queued, holder, previous holder).
 *
 * Include once, from the .bpf.c that owns the object (it defines the
 * read-only globals below through this header).
 */
#ifndef GILSCOPE_GIL_STATE_BPF_H
#define GILSCOPE_GIL_STATE_BPF_H

#include "gil_events.h"
#include "gilscope_bpf.h"

const volatile __u8 want_stats = 0;       /* top: per-thread statistics */
const volatile __u64 convoy_ns = 2500000; /* re-acquire wait counted as convoy */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct gsb_thread_state);
} threads SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct gsb_thread_stats);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct gsb_gil_key);
	__type(value, struct gsb_gil_state);
} gils SEC(".maps");

/* GILs seen per process, to number them (gsb_gil_state.index). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u32);
} gil_count SEC(".maps");

static const struct gsb_thread_state zero_thread_state;
static const struct gsb_thread_stats zero_thread_stats;

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0;
	/* bounded loop the verifier accepts on any kernel */
#pragma unroll
	for (int i = 0; i < 6; i++) {
		__u32 shift = 32 >> i;
		if (v >> shift) {
			v >>= shift;
			r += shift;
		}
	}
	return r;
}

static __always_inline __u32 hist_slot(__u64 ns)
{
	__u64 us = ns / 1000;
	__u32 s = us ? log2_u64(us) + 1 : 0;
	return s < GSB_HIST_SLOTS ? s : GSB_HIST_SLOTS - 1;
}

static __always_inline struct gsb_thread_state *thread_state(__u32 tid)
{
	struct gsb_thread_state *st = bpf_map_lookup_elem(&threads, &tid);
	if (st)
		return st;
	bpf_map_update_elem(&threads, &tid, &zero_thread_state, BPF_NOEXIST);
	return bpf_map_lookup_elem(&threads, &tid);
}

static __always_inline struct gsb_thread_stats *thread_stats(__u32 tid)
{
	struct gsb_thread_stats *s = bpf_map_lookup_elem(&stats, &tid);
	if (s)
		return s;
	bpf_map_update_elem(&stats, &tid, &zero_thread_stats, BPF_NOEXIST);
	return bpf_map_lookup_elem(&stats, &tid);
}

/* The state of GIL gil of process tgid, created on first use. */
static __always_inline struct gsb_gil_state *gil_state(__u32 tgid, __u64 gil)
{
	struct gsb_gil_key k = { .tgid = tgid, .gil = gil };
	struct gsb_gil_state *g = bpf_map_lookup_elem(&gils, &k);
	if (g)
		return g;
	struct gsb_gil_state init = {};
	__u32 one = 1, *n = bpf_map_lookup_elem(&gil_count, &tgid);
	if (n)
		init.index = __sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&gil_count, &tgid, &one, BPF_NOEXIST);
	bpf_map_update_elem(&gils, &k, &init, BPF_NOEXIST);
	return bpf_map_lookup_elem(&gils, &k);
}

static __always_inline struct gsb_gil_state *current_gil_state(__u64 gil)
{
	return gil_state((__u32)(bpf_get_current_pid_tgid() >> 32), gil);
}

struct req_args { __u32 queued, holder; };
struct acq_args { __u32 still_waiting, prev; };

static __always_inline struct req_args gsb_state_request(struct gsb_gil_state *g,
							 struct gsb_thread_state *st,
							 __u64 ts, __u8 why)
{
	struct req_args a;
	st->req_ts = ts;
	st->why = why;
	st->seen = 1;
	st->blocked = 0;
	a.holder = g->holder;
	__s32 q = __sync_fetch_and_add(&g->waiters, 1);
	a.queued = q > 0 ? (__u32)q : 0;
	return a;
}

static __always_inline struct acq_args gsb_state_acquired(struct gsb_gil_state *g,
							  struct gsb_thread_state *st,
							  __u32 tid, __u64 ts)
{
	struct acq_args a;
	__u64 wait = st->req_ts && ts > st->req_ts ? ts - st->req_ts : 0;
	__s32 left = g->waiters;

	/* A thread already waiting when we attached never counted itself in. */
	if (st->req_ts)
		left = __sync_fetch_and_add(&g->waiters, -1) - 1;
	a.still_waiting = left > 0 ? (__u32)left : 0;
	a.prev = g->last_holder;
	st->seen = 1;

	if (want_stats) {
		struct gsb_thread_stats *s = thread_stats(tid);
		if (s) {
			s->acquisitions++;
			s->wait_ns += wait;
			if (wait >= 1000)
				s->contended++;
			if (st->why == GS_WHY_AFTER_BLOCKING && wait >= convoy_ns)
				s->convoy_losses++;
			__u32 slot = hist_slot(wait);
			if (slot < GSB_HIST_SLOTS)
				s->wait_hist[slot]++;
			if (g->last_release_waiters && g->last_releaser == tid)
				s->failed_handoffs++;
		}
	}
	if (g->last_holder != tid)
		g->switches++;
	g->last_release_waiters = 0;
	g->drop_request = 0;
	g->holder = tid;
	g->last_holder = tid;
	st->acq_ts = ts;
	st->req_ts = 0;
	return a;
}

/* Returns the number of threads waiting at the release. */
static __always_inline __u32 gsb_state_release(struct gsb_gil_state *g,
					       struct gsb_thread_state *st,
					       __u32 tid, __u64 ts, __u8 reason)
{
	__s32 w = g->waiters;
	__u32 waiting = w > 0 ? (__u32)w : 0;

	if (want_stats) {
		struct gsb_thread_stats *s = thread_stats(tid);
		if (s) {
			if (st->acq_ts && ts > st->acq_ts) {
				__u64 hold = ts - st->acq_ts;
				__u32 slot = hist_slot(hold);
				s->held_ns += hold;
				if (slot < GSB_HIST_SLOTS)
					s->hold_hist[slot]++;
			}
			if (waiting)
				s->handoffs++;
			if (reason == GS_RELEASE_FORCED)
				s->forced_releases++;
			else if (reason == GS_RELEASE_BLOCKING)
				s->blocking_releases++;
		}
	}
	g->last_release_waiters = waiting > 0;
	g->last_releaser = tid;
	if (g->holder == tid)
		g->holder = 0;
	st->acq_ts = 0;
	st->last_reason = reason;
	st->seen = 1;
	if (reason == GS_RELEASE_BLOCKING)
		st->blocked = 1;
	return waiting;
}

/* Why a CPython thread asks again, from how it last let go. */
static __always_inline __u8 why_from_last(struct gsb_thread_state *st)
{
	if (!st->seen)
		return GS_WHY_FIRST;
	switch (st->last_reason) {
	case GS_RELEASE_FORCED: return GS_WHY_AFTER_FORCED;
	case GS_RELEASE_INTERVAL: return GS_WHY_AFTER_INTERVAL;
	default: return GS_WHY_AFTER_BLOCKING;
	}
}

#endif
