/* SPDX-License-Identifier: MIT */
#include "codeattr.h"

#include <stdlib.h>
#include <string.h>

/* A code location: the Python (or published) stack and the native one. */
struct where {
	uint32_t stack, native;
};

struct code_thread {
	struct where next_request; /* stack event seen for the next request */
	struct where next_release; /* ... for the next release */
	struct where request;      /* stacks of the current/last request */
	struct where release;      /* stacks of the release being processed */
	uint8_t have_next_request, have_next_release;
	uint64_t blame_ns;         /* others' waiting while this one held */
};

struct gs_codeattr {
	struct code_thread *th;
	size_t nth;
	struct gs_code_row *rows;  /* dense */
	size_t n, rcap;
	int32_t *index;            /* open addressing on (thread, stack) -> rows[] */
	size_t icap;
	uint64_t last_ts;
	uint64_t stack_events;
};

static const char *const kind_names[GS_CODE_KINDS] = {
	[GS_CODE_HOLD] = "hold",
	[GS_CODE_HOLD_ACQ] = "hold-acquire",
	[GS_CODE_WAIT] = "wait",
	[GS_CODE_BLAME] = "blame",
};

const char *gs_code_kind_name(unsigned kind)
{
	return kind < GS_CODE_KINDS ? kind_names[kind] : "?";
}

int gs_code_kind_lookup(const char *name)
{
	for (int k = 0; k < GS_CODE_KINDS; k++)
		if (!strcmp(name, kind_names[k]))
			return k;
	return -1;
}

struct gs_codeattr *gs_codeattr_new(void)
{
	return calloc(1, sizeof(struct gs_codeattr));
}

void gs_codeattr_free(struct gs_codeattr *c)
{
	if (!c)
		return;
	free(c->th);
	free(c->rows);
	free(c->index);
	free(c);
}

static struct code_thread *thread(struct gs_codeattr *c, uint32_t idx)
{
	if (idx == GS_NO_THREAD)
		return NULL;
	if (idx >= c->nth) {
		size_t n = (size_t)idx + 16;
		void *p = realloc(c->th, n * sizeof(*c->th));
		if (!p)
			return NULL;
		c->th = p;
		memset(c->th + c->nth, 0, (n - c->nth) * sizeof(*c->th));
		c->nth = n;
	}
	return &c->th[idx];
}

static size_t slot(const struct gs_codeattr *c, uint32_t thread, struct where w)
{
	uint64_t k = ((uint64_t)thread << 32 | w.stack) * 0x9e3779b97f4a7c15ull;
	k ^= (uint64_t)w.native * 0xc2b2ae3d27d4eb4full;
	return (size_t)(k >> 20) & (c->icap - 1);
}

static int reindex(struct gs_codeattr *c, size_t cap)
{
	int32_t *idx = malloc(cap * sizeof(*idx));
	if (!idx)
		return -1;
	memset(idx, -1, cap * sizeof(*idx));
	free(c->index);
	c->index = idx;
	c->icap = cap;
	for (size_t i = 0; i < c->n; i++) {
		size_t s = slot(c, c->rows[i].thread,
				(struct where){ c->rows[i].stack, c->rows[i].native });
		while (c->index[s] >= 0)
			s = (s + 1) & (cap - 1);
		c->index[s] = (int32_t)i;
	}
	return 0;
}

static struct gs_code_row *row(struct gs_codeattr *c, uint32_t th, struct where w)
{
	if ((c->n + 1) * 2 > c->icap && reindex(c, c->icap ? c->icap * 2 : 256))
		return NULL;
	size_t s = slot(c, th, w);
	while (c->index[s] >= 0) {
		struct gs_code_row *r = &c->rows[c->index[s]];
		if (r->thread == th && r->stack == w.stack && r->native == w.native)
			return r;
		s = (s + 1) & (c->icap - 1);
	}
	if (c->n == c->rcap) {
		size_t cap = c->rcap ? c->rcap * 2 : 128;
		void *p = realloc(c->rows, cap * sizeof(*c->rows));
		if (!p)
			return NULL;
		c->rows = p;
		c->rcap = cap;
	}
	struct gs_code_row *r = &c->rows[c->n];
	memset(r, 0, sizeof(*r));
	r->thread = th;
	r->stack = w.stack;
	r->native = w.native;
	c->index[s] = (int32_t)c->n++;
	return r;
}

static void charge(struct gs_codeattr *c, uint32_t th, struct where w,
		   unsigned kind, uint64_t ns)
{
	struct gs_code_row *r = row(c, th, w);
	if (r) {
		r->ns[kind] += ns;
		r->count[kind]++;
	}
}

static void on_interval(void *ctx, const struct gs_interval *iv)
{
	struct gs_codeattr *c = ctx;
	if (iv->track != GS_TRACK_GIL || iv->end_ns < iv->begin_ns)
		return;
	struct code_thread *t = thread(c, iv->thread);
	if (!t)
		return;
	uint64_t d = iv->end_ns - iv->begin_ns;
	if (iv->state == GS_ST_WAIT) {
		charge(c, iv->thread, t->request, GS_CODE_WAIT, d);
	} else if (iv->state == GS_ST_HOLD) {
		/* ended by a release: its stack event came just before it */
		int released = iv->reason != GS_RELEASE_MAX;
		struct where at = released ? t->release : t->request;
		charge(c, iv->thread, at, GS_CODE_HOLD, d);
		charge(c, iv->thread, t->request, GS_CODE_HOLD_ACQ, d);
		if (t->blame_ns) {
			charge(c, iv->thread, at, GS_CODE_BLAME, t->blame_ns);
			t->blame_ns = 0;
		}
	}
}

int gs_codeattr_attach(struct gs_codeattr *c, struct gs_state *st)
{
	struct gs_listener l = { .ctx = c, .interval = on_interval };
	return gs_state_listen(st, &l); /* copied by the state machine */
}

void gs_codeattr_event(struct gs_codeattr *c, const struct gs_event *ev,
		       const struct gs_state *st)
{
	/* [last_ts, ev) had the state the machine shows now */
	uint32_t holder = gs_state_holder(st);
	uint32_t waiters = gs_state_waiters(st);
	if (holder != GS_NO_THREAD && waiters && ev->ts_ns > c->last_ts &&
	    c->last_ts) {
		struct code_thread *h = thread(c, holder);
		if (h)
			h->blame_ns += (uint64_t)waiters * (ev->ts_ns - c->last_ts);
	}
	c->last_ts = ev->ts_ns;

	uint32_t idx = gs_state_lookup(st, ev->tid);
	if (ev->type == GS_EV_stack) {
		c->stack_events++;
		/* the thread may be new: the machine indexes it at this event */
		idx = idx == GS_NO_THREAD ? (uint32_t)gs_state_nthreads(st) : idx;
		struct code_thread *t = thread(c, idx);
		if (!t)
			return;
		struct where w = { ev->a0, ev->a1 };
		if (ev->a8 == GS_STACK_AT_REQUEST) {
			t->next_request = w;
			t->have_next_request = 1;
		} else if (ev->a8 == GS_STACK_AT_RELEASE) {
			t->next_release = w;
			t->have_next_release = 1;
		}
		return;
	}
	struct code_thread *t = idx == GS_NO_THREAD ? NULL : thread(c, idx);
	if (!t)
		return;
	if (ev->type == GS_EV_acquire_request) {
		t->request = t->have_next_request ? t->next_request : (struct where){ 0, 0 };
		t->have_next_request = 0;
	} else if (ev->type == GS_EV_release) {
		t->release = t->have_next_release ? t->next_release : (struct where){ 0, 0 };
		t->have_next_release = 0;
	}
}

void gs_codeattr_finish(struct gs_codeattr *c, const struct gs_state *st)
{
	(void)st;
	/* holds still open were closed by gs_state_finish (their intervals
	 * charged blame then); what is left belongs to no hold */
	for (size_t i = 0; i < c->nth; i++)
		if (c->th[i].blame_ns) {
			charge(c, (uint32_t)i, c->th[i].request, GS_CODE_BLAME,
			       c->th[i].blame_ns);
			c->th[i].blame_ns = 0;
		}
}

size_t gs_codeattr_rows(const struct gs_codeattr *c,
			const struct gs_code_row **rows)
{
	*rows = c->rows;
	return c->n;
}

void gs_codeattr_totals(const struct gs_codeattr *c, uint64_t out[GS_CODE_KINDS])
{
	memset(out, 0, sizeof(uint64_t) * GS_CODE_KINDS);
	for (size_t i = 0; i < c->n; i++)
		for (int k = 0; k < GS_CODE_KINDS; k++)
			out[k] += c->rows[i].ns[k];
}

uint64_t gs_codeattr_stack_events(const struct gs_codeattr *c)
{
	return c->stack_events;
}
