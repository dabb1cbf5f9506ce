/* SPDX-License-Identifier: MIT */
/*
 * gs_source_as_light(): a trace `gilscope record --probes full` took of a
 * CPython process, read as `--probes light` would have recorded the same
 * run (`gilscope report --as-probes light`).
 *
 * The sets differ by one probe, PyEval_RestoreThread's entry, which times
 * blocking_end. Without it the light set's BPF side (probes/bpf/
 * gilscope.bpf.c, infer_blocking_end) emits, at the next request of a
 * thread whose last release was `blocking`, a blocking_end of kind `other`
 * with the request's time, just before the request (and before its
 * `stack` event), and the trace is marked GS_HDR_F_INFERRED. This source
 * does the same to the full set's events: it drops their blocking_ends
 * and infers them by that rule. Every other event passes unchanged, so
 * the two readings of one run differ only by what the light set infers,
 * whatever the run's timing was.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "source.h"
#include "stacktab.h"

struct mark {
	uint32_t tid;      /* 0: free slot */
	uint8_t blocked;   /* its last release was `blocking`: a blocking_end
			      is due at its next request */
};

struct light_src {
	struct gs_source base;
	struct gs_source *full;
	struct mark *slots; /* open addressing by tid, power-of-two size */
	size_t cap, used, blocked;
	/* the request that the blocking_end given out before it precedes */
	struct gs_event queued;
	int have_queued;
	uint64_t events, inferred;
};

static struct mark *slot_for(struct light_src *s, uint32_t tid, int add)
{
	if (add && (s->used + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct mark *n = calloc(cap, sizeof(*n));
		if (!n)
			return NULL;
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->slots[i].tid)
				continue;
			size_t j = s->slots[i].tid & (cap - 1);
			while (n[j].tid)
				j = (j + 1) & (cap - 1);
			n[j] = s->slots[i];
		}
		free(s->slots);
		s->slots = n;
		s->cap = cap;
	}
	if (!s->cap)
		return NULL;
	for (size_t j = tid & (s->cap - 1);; j = (j + 1) & (s->cap - 1)) {
		if (s->slots[j].tid == tid)
			return &s->slots[j];
		if (!s->slots[j].tid) {
			if (!add)
				return NULL;
			s->slots[j].tid = tid;
			s->used++;
			return &s->slots[j];
		}
	}
}

/* The stacks a native reader found (STACK blocks) are the trace's. */
static void take_stacks(struct light_src *s)
{
	if (!s->base.stacks && s->full->stacks) {
		s->base.stacks = s->full->stacks;
		s->full->stacks = NULL;
	}
}

static int light_next(struct gs_source *src, struct gs_event *ev)
{
	struct light_src *s = (struct light_src *)src;
	if (s->have_queued) {
		*ev = s->queued;
		s->have_queued = 0;
		s->events++;
		return 1;
	}
	for (;;) {
		int rc = gs_source_next(s->full, ev);
		take_stacks(s);
		if (rc <= 0) {
			if (rc < 0)
				snprintf(s->base.error, sizeof(s->base.error), "%s",
					 gs_source_error(s->full));
			return rc;
		}
		if (ev->tid == 0 || ev->type == GS_EV_lost) {
			s->events++;
			return 1;
		}
		if (ev->type == GS_EV_blocking_end)
			continue;
		if (ev->type == GS_EV_release) {
			int blocking = ev->a8 == GS_RELEASE_BLOCKING;
			struct mark *h = slot_for(s, ev->tid, blocking);
			if (blocking && !h) {
				snprintf(s->base.error, sizeof(s->base.error),
					 "%s: out of memory", s->base.info.path);
				return -1;
			}
			if (h && h->blocked != blocking) {
				s->blocked += blocking ? 1 : (size_t)-1;
				h->blocked = (uint8_t)blocking;
			}
			s->events++;
			return 1;
		}
		int asks = ev->type == GS_EV_acquire_request ||
			   (ev->type == GS_EV_stack && ev->a8 == GS_STACK_AT_REQUEST);
		struct mark *h = asks && s->blocked ? slot_for(s, ev->tid, 0) : NULL;
		if (!h || !h->blocked) {
			s->events++;
			return 1;
		}
		h->blocked = 0;
		s->blocked--;
		s->queued = *ev;
		s->have_queued = 1;
		ev->type = GS_EV_blocking_end;
		ev->a8 = GS_BLOCK_OTHER;
		ev->a0 = 0;
		ev->a1 = 0;
		ev->str = NULL;
		s->inferred++;
		s->events++;
		return 1;
	}
}

static const struct gs_thread_info *light_thread(struct gs_source *src,
						 uint32_t tid)
{
	struct light_src *s = (struct light_src *)src;
	return s->full->ops->thread ? s->full->ops->thread(s->full, tid) : NULL;
}

static void light_totals(struct gs_source *src, struct gs_source_totals *out)
{
	struct light_src *s = (struct light_src *)src;
	memset(out, 0, sizeof(*out));
	if (s->full->ops->totals)
		s->full->ops->totals(s->full, out);
	/* what this reading delivered: the full set's events less the
	 * blocking_ends no request followed */
	if (out->events)
		out->events = s->events;
}

static void light_close(struct gs_source *src)
{
	struct light_src *s = (struct light_src *)src;
	gs_source_close(s->full);
	gs_stacktab_free(s->base.stacks);
	free(s->slots);
	free(s);
}

static const struct gs_source_ops light_ops = {
	.next = light_next,
	.thread = light_thread,
	.totals = light_totals,
	.close = light_close,
};

struct gs_source *gs_source_as_light(struct gs_source *full, char *err,
				     size_t errlen)
{
	const struct gs_trace_info *in = &full->info;
	const char *why = NULL;
	if (in->source != GS_SOURCE_EBPF ||
	    (in->runtime != GS_RUNTIME_CPYTHON2 && in->runtime != GS_RUNTIME_CPYTHON3))
		why = "it is not a `gilscope record` trace of a CPython process "
		      "(the probe sets differ only there)";
	else if (in->flags & GS_HDR_F_INFERRED)
		why = "it was recorded with the light probe set already";
	if (why) {
		snprintf(err, errlen, "%s: cannot read it as the light probe set "
			 "would have recorded it: %s (expected a trace of "
			 "`gilscope record --probes full`)", in->path, why);
		return NULL;
	}
	struct light_src *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "%s: out of memory", in->path);
		return NULL;
	}
	s->base.ops = &light_ops;
	s->base.info = *in;
	s->base.info.flags |= GS_HDR_F_INFERRED;
	s->base.allow_truncated = full->allow_truncated;
	s->full = full;
	take_stacks(s);
	return &s->base;
}
