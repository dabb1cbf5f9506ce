/* SPDX-License-Identifier: MIT */
/* GIL metrics from the state machine's callbacks (metrics.h, docs/metrics.md). */
#include "metrics.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"

static const char *const finding_names[] = {
	[GS_FIND_CONVOY] = "convoy",
	[GS_FIND_INVERSION_POLICY] = "inversion_policy",
	[GS_FIND_INVERSION_SCHED] = "inversion_sched",
	[GS_FIND_BATTLE] = "gil_battle",
	[GS_FIND_LOST] = "lost_events",
};

const char *gs_finding_kind_name(unsigned kind)
{
	return kind < sizeof(finding_names) / sizeof(finding_names[0])
		       ? finding_names[kind] : "?";
}

struct gs_metrics *gs_metrics_new(const struct gs_metrics_opts *opts,
				  const struct gs_trace_info *info)
{
	struct gs_metrics *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	if (opts)
		m->opts = *opts;
	if (info)
		m->info = *info;
	m->info.path = NULL; /* not owned */
	m->from_ns = m->opts.from_ns;
	m->to_ns = m->opts.to_ns ? m->opts.to_ns : UINT64_MAX;
	if (!m->opts.convoy_min_calls)
		m->opts.convoy_min_calls = 5;
	if (!m->opts.battle_min_handoffs)
		m->opts.battle_min_handoffs = 10;
	return m;
}

void gs_metrics_free(struct gs_metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nth; i++) {
		struct gs_thread_metrics *t = &m->th[i];
		gs_hist_free(&t->hold);
		for (int w = 0; w < GS_WHY_MAX; w++)
			gs_hist_free(&t->wait[w]);
		gs_hist_free(&t->io_wait);
		gs_hist_free(&t->io_wait_behind_cpu);
	}
	gs_hist_free(&m->handoff_latency);
	gs_hist_free(&m->battle_latency);
	gs_hist_free(&m->drop_latency);
	gs_hist_free(&m->forced_hold);
	free(m->th);
	free(m->findings);
	free(m);
}

static inline int in_window(const struct gs_metrics *m, uint64_t ts)
{
	return ts >= m->from_ns && ts <= m->to_ns;
}

static inline uint64_t clip(const struct gs_metrics *m, uint64_t b, uint64_t e)
{
	if (b < m->from_ns)
		b = m->from_ns;
	if (e > m->to_ns)
		e = m->to_ns;
	return e > b ? e - b : 0;
}

/* ---- listener ---- */

static void on_thread(void *ctx, uint32_t thread)
{
	struct gs_metrics *m = ctx;
	if (thread < m->nth)
		return;
	if (thread >= m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		while (cap <= thread)
			cap *= 2;
		struct gs_thread_metrics *t = realloc(m->th, cap * sizeof(*t));
		if (!t)
			abort(); /* a few hundred bytes per thread */
		m->th = t;
		m->cap = cap;
	}
	while (m->nth <= thread) {
		memset(&m->th[m->nth], 0, sizeof(m->th[0]));
		m->th[m->nth].thread = (uint32_t)m->nth;
		for (int k = 0; k < GS_BEHIND_SLOTS; k++)
			m->th[m->nth].behind[k].thread = GS_NO_THREAD;
		m->nth++;
	}
}

static void on_interval(void *ctx, const struct gs_interval *iv)
{
	struct gs_metrics *m = ctx;
	uint64_t d = clip(m, iv->begin_ns, iv->end_ns);
	if (iv->track == GS_TRACK_WAITERS) {
		m->contended_ns += d;
		m->waiters_area_ns += d * iv->state;
		if (iv->state > m->max_waiters && d)
			m->max_waiters = iv->state;
		return;
	}
	struct gs_thread_metrics *t = &m->th[iv->thread];
	if (iv->track == GS_TRACK_CPU) {
		t->cpu_ns[iv->state] += d;
		return;
	}
	switch (iv->state) {
	case GS_ST_HOLD:
		t->hold_ns += d;
		m->held_ns += d;
		if (!(iv->flags & (GS_IV_BEGIN_UNKNOWN | GS_IV_END_OPEN)) &&
		    in_window(m, iv->end_ns)) {
			uint64_t len = iv->end_ns - iv->begin_ns;
			gs_hist_record(&t->hold, len);
			if (iv->reason == GS_RELEASE_FORCED ||
			    iv->reason == GS_RELEASE_INTERVAL)
				gs_hist_record(&m->forced_hold, len);
		}
		break;
	case GS_ST_WAIT:
		t->wait_ns[iv->why < GS_WHY_MAX ? iv->why : 0] += d;
		break;
	case GS_ST_BLOCKED:
		t->blocked_ns += d;
		break;
	case GS_ST_NOGIL:
		t->nogil_ns += d;
		break;
	}
}

static void note_behind(struct gs_thread_metrics *t, uint32_t who)
{
	int free_slot = -1, min_slot = 0;
	for (int k = 0; k < GS_BEHIND_SLOTS; k++) {
		if (t->behind[k].thread == who) {
			t->behind[k].count++;
			return;
		}
		if (t->behind[k].thread == GS_NO_THREAD && free_slot < 0)
			free_slot = k;
		if (t->behind[k].count < t->behind[min_slot].count)
			min_slot = k;
	}
	/* space-saving: a newcomer replaces the rarest entry */
	int k = free_slot >= 0 ? free_slot : min_slot;
	t->behind[k].thread = who;
	t->behind[k].count++;
}

static void on_acquire(void *ctx, const struct gs_acquire *a)
{
	struct gs_metrics *m = ctx;
	if (!in_window(m, a->ts_ns))
		return;
	struct gs_thread_metrics *t = &m->th[a->thread];
	m->acquisitions++;
	t->acquisitions++;
	if (a->is_switch)
		m->switches++;
	if (a->contended)
		t->contended++;
	if (a->request_seen)
		gs_hist_record(&t->wait[a->why], a->wait_ns);
	if (a->why == GS_WHY_AFTER_BLOCKING && a->io_wait_ns) {
		t->io_calls++;
		t->io_wait_ns += a->io_wait_ns;
		gs_hist_record(&t->io_wait, a->io_wait_ns);
		if (a->releaser != GS_NO_THREAD && a->releaser != a->thread &&
		    (a->releaser_reason == GS_RELEASE_FORCED ||
		     a->releaser_reason == GS_RELEASE_INTERVAL)) {
			gs_hist_record(&t->io_wait_behind_cpu, a->io_wait_ns);
			note_behind(t, a->releaser);
		}
	}
}

static void on_release(void *ctx, const struct gs_release *r)
{
	struct gs_metrics *m = ctx;
	if (!in_window(m, r->ts_ns))
		return;
	struct gs_thread_metrics *t = &m->th[r->thread];
	t->releases[r->reason]++;
	m->releases[r->reason]++;
	if (r->reason == GS_RELEASE_FORCED)
		m->forced_drops++;
}

static void on_handoff(void *ctx, const struct gs_handoff *h)
{
	struct gs_metrics *m = ctx;
	if (!in_window(m, h->acquire_ns))
		return;
	m->handoffs_attempted++;
	m->th[h->releaser].handoffs_given++;
	uint64_t lat = h->acquire_ns - h->release_ns;
	if (h->failed) {
		m->handoffs_failed++;
		m->th[h->releaser].handoffs_failed++;
		gs_hist_record(&m->battle_latency, lat);
	} else {
		m->th[h->next].handoffs_received++;
		gs_hist_record(&m->handoff_latency, lat);
	}
}

static void on_drop_request(void *ctx, uint64_t ts, uint32_t requester,
			    uint32_t holder)
{
	struct gs_metrics *m = ctx;
	(void)holder;
	if (!in_window(m, ts))
		return;
	m->drop_requests++;
	m->th[requester].drop_requests++;
}

static void on_drop(void *ctx, const struct gs_drop *d)
{
	struct gs_metrics *m = ctx;
	if (!in_window(m, d->release_ns))
		return;
	m->drop_answered += d->requests;
	gs_hist_record(&m->drop_latency, d->release_ns - d->request_ns);
}

static void on_inversion(void *ctx, const struct gs_inversion *inv)
{
	struct gs_metrics *m = ctx;
	uint64_t d = clip(m, inv->begin_ns, inv->end_ns);
	if (!d)
		return;
	int k = inv->kind == GS_INV_SCHED;
	struct gs_inv_summary *s = &m->inv[k];
	s->count++;
	s->total_ns += d;
	if (d > s->worst_ns) {
		s->worst_ns = d;
		s->worst_waiter = inv->waiter;
		s->worst_holder = inv->holder;
		s->worst_begin_ns = inv->begin_ns;
	}
	struct gs_thread_metrics *w = &m->th[inv->waiter];
	w->inv_count[k]++;
	w->inv_ns[k] += d;
	if (d > w->inv_worst_ns[k]) {
		w->inv_worst_ns[k] = d;
		w->inv_worst_holder[k] = inv->holder;
	}
	m->th[inv->holder].inv_caused_ns[k] += d;
}

static void on_gap(void *ctx, uint32_t thread, uint64_t ts, uint64_t lost)
{
	struct gs_metrics *m = ctx;
	(void)thread;
	(void)ts;
	m->gaps++;
	m->lost += lost;
}

static void on_wasted(void *ctx, uint32_t thread, uint64_t ts)
{
	struct gs_metrics *m = ctx;
	if (!in_window(m, ts))
		return;
	m->th[thread].wasted_wakeups++;
	m->wasted_wakeups++;
}

int gs_metrics_attach(struct gs_metrics *m, struct gs_state *st)
{
	struct gs_listener l = {
		.ctx = m,
		.thread = on_thread,
		.interval = on_interval,
		.acquire = on_acquire,
		.release = on_release,
		.handoff = on_handoff,
		.drop_request = on_drop_request,
		.drop = on_drop,
		.inversion = on_inversion,
		.gap = on_gap,
		.wasted_wakeup = on_wasted,
	};
	return gs_state_listen(st, &l);
}

/* ---- results ---- */

uint64_t gs_thread_wait_ns(const struct gs_thread_metrics *t)
{
	uint64_t s = 0;
	for (int w = 0; w < GS_WHY_MAX; w++)
		s += t->wait_ns[w];
	return s;
}

uint64_t gs_thread_waits(const struct gs_thread_metrics *t)
{
	uint64_t s = 0;
	for (int w = 0; w < GS_WHY_MAX; w++)
		s += t->wait[w].count;
	return s;
}

static struct gs_finding *add_finding(struct gs_metrics *m, uint8_t kind)
{
	if (m->nfindings == m->findcap) {
		size_t cap = m->findcap ? m->findcap * 2 : 8;
		struct gs_finding *f = realloc(m->findings, cap * sizeof(*f));
		if (!f)
			return NULL;
		m->findings = f;
		m->findcap = cap;
	}
	struct gs_finding *f = &m->findings[m->nfindings++];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->thread = f->other = GS_NO_THREAD;
	return f;
}

static void set_text(struct gs_finding *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void set_text(struct gs_finding *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->text, sizeof(f->text), fmt, ap);
	va_end(ap);
}

/* How many samples of h lie in [lo, hi] (bucket resolution). */
static uint64_t hist_count_between(const struct gs_hist *h, uint64_t lo,
				   uint64_t hi)
{
	if (!h->b)
		return 0;
	uint64_t n = 0;
	for (unsigned i = 0; i < GS_HIST_BUCKETS; i++)
		if (h->b[i] && gs_hist_bucket_high(i) >= lo &&
		    gs_hist_bucket_low(i) <= hi)
			n += h->b[i];
	return n;
}

static void convoy_findings(struct gs_metrics *m)
{
	uint64_t ref = m->ref_interval_ns;
	for (size_t i = 0; i < m->nth; i++) {
		struct gs_thread_metrics *t = &m->th[i];
		const struct gs_hist *h = &t->io_wait_behind_cpu;
		t->io_near_interval = hist_count_between(h, ref / 2, ref * 2);
		if (t->io_calls < m->opts.convoy_min_calls || !ref)
			continue;
		/* at least a fifth of its re-acquires waited behind CPU-bound
		 * holders (the others found the GIL free), and the typical
		 * such wait is at least half a switch interval */
		uint64_t med = gs_hist_quantile(h, 0.5);
		if (h->count * 5 < t->io_calls || med < ref / 2)
			continue;
		struct gs_finding *f = add_finding(m, GS_FIND_CONVOY);
		if (!f)
			return;
		t->convoy = 1;
		f->thread = (uint32_t)i;
		uint64_t best = 0;
		for (int k = 0; k < GS_BEHIND_SLOTS; k++)
			if (t->behind[k].thread != GS_NO_THREAD &&
			    t->behind[k].count > best) {
				best = t->behind[k].count;
				f->other = t->behind[k].thread;
			}
		f->count = t->io_calls;
		f->total_ns = t->io_wait_ns;
		f->worst_ns = t->io_wait.max;
		f->share = t->wall_ns ? (double)t->io_wait_ns / (double)t->wall_ns : 0;
		char tot[32], per[32], iv[32], md[32];
		gs_format_ns(tot, sizeof(tot), t->io_wait_ns);
		gs_format_ns(per, sizeof(per), t->io_wait_ns / t->io_calls);
		gs_format_ns(iv, sizeof(iv), ref);
		gs_format_ns(md, sizeof(md), med);
		set_text(f,
			 "convoy: %s (tid %u) lost %s re-acquiring the GIL after "
			 "%" PRIu64 " I/O calls (%s per call, %.1f%% of its wall "
			 "time); %" PRIu64 " re-acquires waited behind CPU-bound "
			 "holders (median %s, %" PRIu64 " within 0.5-2x the %s "
			 "switch interval), mostly behind %s",
			 t->name, t->tid, tot, t->io_calls, per, 100.0 * f->share,
			 h->count, md, t->io_near_interval, iv,
			 f->other != GS_NO_THREAD ? m->th[f->other].name : "?");
	}
}

static void inversion_findings(struct gs_metrics *m)
{
	for (int k = 0; k < 2; k++) {
		const struct gs_inv_summary *s = &m->inv[k];
		if (!s->count)
			continue;
		struct gs_finding *f = add_finding(m, k ? GS_FIND_INVERSION_SCHED
							: GS_FIND_INVERSION_POLICY);
		if (!f)
			return;
		f->thread = s->worst_waiter;
		f->other = s->worst_holder;
		f->count = s->count;
		f->total_ns = s->total_ns;
		f->worst_ns = s->worst_ns;
		char tot[32], worst[32];
		gs_format_ns(tot, sizeof(tot), s->total_ns);
		gs_format_ns(worst, sizeof(worst), s->worst_ns);
		const struct gs_thread_metrics *w = &m->th[s->worst_waiter];
		const struct gs_thread_metrics *h = &m->th[s->worst_holder];
		set_text(f,
			 k ? "priority inversion (scheduler): %" PRIu64 " episodes, %s "
			     "in total, a higher-priority thread waited for the GIL "
			     "while its holder sat preempted off CPU; worst %s: %s "
			     "(tid %u) waited on %s (tid %u)"
			   : "priority inversion (policy): %" PRIu64 " episodes, %s "
			     "in total, a lower-priority thread was granted the GIL "
			     "while a higher-priority one waited; worst %s: %s (tid "
			     "%u) waited while %s (tid %u) held it",
			 s->count, tot, worst, w->name, w->tid, h->name, h->tid);
	}
}

static void battle_finding(struct gs_metrics *m)
{
	if (m->handoffs_attempted < m->opts.battle_min_handoffs ||
	    m->handoffs_failed * 2 < m->handoffs_attempted)
		return;
	struct gs_finding *f = add_finding(m, GS_FIND_BATTLE);
	if (!f)
		return;
	uint64_t worst = 0;
	for (size_t i = 0; i < m->nth; i++)
		if (m->th[i].handoffs_failed > worst) {
			worst = m->th[i].handoffs_failed;
			f->other = (uint32_t)i;
		}
	f->count = m->handoffs_failed;
	f->share = (double)m->handoffs_failed / (double)m->handoffs_attempted;
	f->total_ns = m->battle_latency.sum;
	f->worst_ns = m->battle_latency.max;
	if (f->other != GS_NO_THREAD)
		set_text(f,
			 "GIL battle: %" PRIu64 " of %" PRIu64 " handoffs failed "
			 "(%.0f%%): the releaser took the GIL back before any "
			 "waiter ran; most often %s (tid %u, %" PRIu64 " times)",
			 m->handoffs_failed, m->handoffs_attempted,
			 100.0 * f->share, m->th[f->other].name,
			 m->th[f->other].tid, worst);
	else
		set_text(f,
			 "GIL battle: %" PRIu64 " of %" PRIu64 " handoffs failed "
			 "(%.0f%%): the releaser took the GIL back before any "
			 "waiter ran", m->handoffs_failed, m->handoffs_attempted,
			 100.0 * f->share);
}

void gs_metrics_finish(struct gs_metrics *m, const struct gs_state *st)
{
	const struct gs_state_counters *c = gs_state_counters(st);
	uint64_t b = c->first_ns, e = c->last_ns;
	if (m->info.end_ns > e)
		e = m->info.end_ns;
	if (b < m->from_ns)
		b = m->from_ns;
	if (e > m->to_ns)
		e = m->to_ns;
	m->begin_ns = b;
	m->end_ns = e > b ? e : b;
	m->span_ns = m->end_ns - m->begin_ns;
	m->have_sched = c->sched_events > 0;
	if (gs_state_nthreads(st))
		on_thread(m, (uint32_t)gs_state_nthreads(st) - 1);
	for (size_t i = 0; i < m->nth && i < gs_state_nthreads(st); i++) {
		const struct gs_thread_state *ts = gs_state_thread(st, (uint32_t)i);
		struct gs_thread_metrics *t = &m->th[i];
		t->tid = ts->tid;
		snprintf(t->name, sizeof(t->name), "%s", ts->name);
		t->role = ts->role;
		t->os_prio = ts->base_os_prio;
		t->gil_prio = ts->gil_prio;
		t->first_ns = ts->first_ns < m->begin_ns ? m->begin_ns : ts->first_ns;
		/* a thread that did not exit lives to the end of the trace */
		uint64_t last = ts->exited ? ts->last_ns : m->end_ns;
		t->last_ns = last > m->end_ns ? m->end_ns : last;
		t->wall_ns = t->last_ns > t->first_ns ? t->last_ns - t->first_ns : 0;
	}
	if (m->opts.interval_us) {
		m->ref_interval_ns = (uint64_t)m->opts.interval_us * 1000;
		m->ref_interval_src = "option";
	} else if (m->info.interval_us && m->info.policy != 1 /* legacy ticks */) {
		m->ref_interval_ns = (uint64_t)m->info.interval_us * 1000;
		m->ref_interval_src = "trace header";
	} else if (m->forced_hold.count) {
		m->ref_interval_ns = gs_hist_quantile(&m->forced_hold, 0.5);
		m->ref_interval_src = "median forced hold";
	} else {
		m->ref_interval_ns = 5000000;
		m->ref_interval_src = "default";
	}
	m->nfindings = 0;
	convoy_findings(m);
	inversion_findings(m);
	battle_finding(m);
	if (m->gaps) {
		struct gs_finding *f = add_finding(m, GS_FIND_LOST);
		if (f) {
			f->count = m->lost;
			if (m->lost)
				set_text(f,
					 "lost events: the recorder dropped %" PRIu64
					 " events (%" PRIu64 " gaps); figures around "
					 "the gaps are missing, not guessed", m->lost,
					 m->gaps);
			else
				set_text(f,
					 "gaps: in %" PRIu64 " places the trace "
					 "contradicts itself (a cut-short trace stops "
					 "each thread at a different time); the threads "
					 "involved were reset there, figures around "
					 "them are missing, not guessed", m->gaps);
		}
	}
}
