/* SPDX-License-Identifier: MIT */
/* Text, JSON and CSV renderings of an analysis (report.h, docs/report.md). */
#define _GNU_SOURCE /* qsort_r */
#include "report.h"

#include "code_report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "duration.h"
#include "json_writer.h"
#include "probe_sites.h"

static const char *const why_keys[GS_WHY_MAX] = {
	"first", "after_blocking", "after_forced", "after_interval"
};
static const char *const release_keys[GS_RELEASE_MAX] = {
	"blocking", "interval", "forced", "exit", "unknown"
};

static const char *source_name(uint32_t s)
{
	switch (s) {
	case GS_SOURCE_LIBGIL: return "libgil";
	case GS_SOURCE_EBPF: return "ebpf";
	case GS_SOURCE_REPLAY: return "replay";
	case GS_SOURCE_CONVERTED: return "converted";
	}
	return "unknown";
}

static const char *runtime_name(uint32_t r)
{
	switch (r) {
	case GS_RUNTIME_LIBGIL: return "libgil";
	case GS_RUNTIME_CPYTHON2: return "cpython2";
	case GS_RUNTIME_CPYTHON3: return "cpython3";
	}
	return "unknown";
}

static int selected(const struct gs_report_opts *o, uint32_t i)
{
	return !o || !o->selected || o->selected[i];
}

static int cmp_hurt(const void *pa, const void *pb, void *ctx)
{
	const struct gs_metrics *m = ctx;
	const struct gs_thread_metrics *a = &m->th[*(const uint32_t *)pa];
	const struct gs_thread_metrics *b = &m->th[*(const uint32_t *)pb];
	uint64_t wa = gs_thread_wait_ns(a), wb = gs_thread_wait_ns(b);
	if (wa != wb)
		return wa > wb ? -1 : 1;
	if (a->io_wait_ns != b->io_wait_ns)
		return a->io_wait_ns > b->io_wait_ns ? -1 : 1;
	return a->tid < b->tid ? -1 : a->tid > b->tid;
}

size_t gs_report_thread_order(const struct gs_metrics *m,
			      const uint8_t *sel, uint32_t *out)
{
	size_t n = 0;
	for (uint32_t i = 0; i < m->nth; i++)
		if (!sel || sel[i])
			out[n++] = i;
	qsort_r(out, n, sizeof(*out), cmp_hurt, (void *)m);
	return n;
}

/* Summary distributions, merged over the selected threads. */
struct merged {
	struct gs_hist hold, wait_all, wait[GS_WHY_MAX], io;
};

static void merge_selected(const struct gs_metrics *m,
			   const struct gs_report_opts *o, struct merged *g)
{
	memset(g, 0, sizeof(*g));
	for (uint32_t i = 0; i < m->nth; i++) {
		if (!selected(o, i))
			continue;
		const struct gs_thread_metrics *t = &m->th[i];
		gs_hist_merge(&g->hold, &t->hold);
		for (int w = 0; w < GS_WHY_MAX; w++) {
			gs_hist_merge(&g->wait[w], &t->wait[w]);
			gs_hist_merge(&g->wait_all, &t->wait[w]);
		}
		gs_hist_merge(&g->io, &t->io_wait);
	}
}

static void free_merged(struct merged *g)
{
	gs_hist_free(&g->hold);
	gs_hist_free(&g->wait_all);
	for (int w = 0; w < GS_WHY_MAX; w++)
		gs_hist_free(&g->wait[w]);
	gs_hist_free(&g->io);
}

static double frac(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

/* ---- text ---- */

#define D(x) gs_format_ns((char[24]){ 0 }, 24, (x))

static void text_hist_line(FILE *out, const char *label, const struct gs_hist *h)
{
	if (!h->count) {
		fprintf(out, "  %-22s -\n", label);
		return;
	}
	fprintf(out, "  %-22s n=%-9" PRIu64 " min %-9s p50 %-9s p99 %-9s max %s\n",
		label, h->count, D(h->min), D(gs_hist_quantile(h, 0.5)),
		D(gs_hist_quantile(h, 0.99)), D(h->max));
}

static void text_summary(FILE *out, const struct gs_analysis *a,
			 const struct gs_report_opts *o, const struct merged *g)
{
	const struct gs_metrics *m = a->metrics;
	fprintf(out, "Summary\n");
	fprintf(out, "  GIL load               %5.1f %%  held %s of %s\n",
		100.0 * frac(m->held_ns, m->span_ns), D(m->held_ns), D(m->span_ns));
	fprintf(out, "  contention             %5.1f %%  of the time >= 1 thread "
		"waited (mean %.2f waiters, max %" PRIu64 ")\n",
		100.0 * frac(m->contended_ns, m->span_ns),
		frac(m->waiters_area_ns, m->span_ns), m->max_waiters);
	fprintf(out, "  acquisitions           %" PRIu64 " (switches %" PRIu64
		", forced drops %" PRIu64 ")\n", m->acquisitions, m->switches,
		m->forced_drops);
	fprintf(out, "  releases               blocking %" PRIu64 ", interval %"
		PRIu64 ", forced %" PRIu64 ", exit %" PRIu64 ", unknown %" PRIu64
		"\n", m->releases[0], m->releases[1], m->releases[2],
		m->releases[3], m->releases[4]);
	fprintf(out, "  handoffs               %" PRIu64 " attempted, %" PRIu64
		" failed (%.1f %%)\n", m->handoffs_attempted, m->handoffs_failed,
		100.0 * frac(m->handoffs_failed, m->handoffs_attempted));
	text_hist_line(out, "handoff latency", &m->handoff_latency);
	text_hist_line(out, "failed handoff retake", &m->battle_latency);
	fprintf(out, "  drop requests          %" PRIu64 " (%" PRIu64
		" answered by a release)\n", m->drop_requests, m->drop_answered);
	text_hist_line(out, "drop-request latency", &m->drop_latency);
	text_hist_line(out, "hold", &g->hold);
	text_hist_line(out, "wait", &g->wait_all);
	for (int w = 0; w < GS_WHY_MAX; w++) {
		char l[40];
		snprintf(l, sizeof(l), "  wait %s", why_keys[w]);
		if (g->wait[w].count)
			text_hist_line(out, l, &g->wait[w]);
	}
	text_hist_line(out, "re-acquire after I/O", &g->io);
	for (int k = 0; k < 2; k++) {
		const struct gs_inv_summary *s = &m->inv[k];
		if (k == 1 && !m->have_sched) {
			fprintf(out, "  inversion (scheduler)  - (no scheduler events "
				"in the trace)\n");
			continue;
		}
		if (!s->count) {
			fprintf(out, "  inversion (%s none\n",
				k ? "scheduler)" : "policy)   ");
			continue;
		}
		fprintf(out, "  inversion (%s %" PRIu64 " episodes, %s total, "
			"worst %s (%s waited on %s)\n",
			k ? "scheduler)" : "policy)   ", s->count, D(s->total_ns),
			D(s->worst_ns), m->th[s->worst_waiter].name,
			m->th[s->worst_holder].name);
	}
	if (m->have_sched)
		fprintf(out, "  wasted wake-ups        %" PRIu64 "\n", m->wasted_wakeups);
	fprintf(out, "  convoy reference       %s (%s)\n", D(m->ref_interval_ns),
		m->ref_interval_src);
	(void)o;
}

static void text_threads(FILE *out, const struct gs_analysis *a,
			 const struct gs_report_opts *o)
{
	const struct gs_metrics *m = a->metrics;
	uint32_t *ord = calloc(m->nth ? m->nth : 1, sizeof(*ord));
	if (!ord)
		return;
	size_t n = gs_report_thread_order(m, o ? o->selected : NULL, ord);
	fprintf(out, "\nPer thread (most waiting first)\n");
	fprintf(out, "%8s %-16s %-9s %8s %6s %10s %10s %10s %10s %10s %7s %10s %7s %6s\n",
		"TID", "NAME", "ROLE", "ACQ", "HOLD%", "HOLD-TOT", "HOLD-MAX",
		"WAIT-TOT", "WAIT-AVG", "WAIT-MAX", "IO", "LOST/IO", "FORCED",
		"BATTLE");
	for (size_t k = 0; k < n; k++) {
		const struct gs_thread_metrics *t = &m->th[ord[k]];
		uint64_t wn = gs_thread_waits(t), wt = gs_thread_wait_ns(t);
		uint64_t wmax = 0;
		for (int w = 0; w < GS_WHY_MAX; w++)
			if (t->wait[w].max > wmax)
				wmax = t->wait[w].max;
		fprintf(out, "%8u %-16.16s %-9.9s %8" PRIu64 " %6.1f %10s %10s %10s "
			"%10s %10s %7" PRIu64 " %10s %7" PRIu64 " %6" PRIu64 "\n",
			t->tid, t->name, gs_role_name(t->role), t->acquisitions,
			100.0 * frac(t->hold_ns, m->span_ns), D(t->hold_ns),
			D(t->hold.max), D(wt), D(wn ? wt / wn : 0), D(wmax),
			t->io_calls, D(t->io_calls ? t->io_wait_ns / t->io_calls : 0),
			t->releases[GS_RELEASE_FORCED], t->handoffs_failed);
	}
	fprintf(out, "\nWait by reason (total time / count)\n");
	fprintf(out, "%8s %-16s %21s %21s %21s %21s\n", "TID", "NAME", "first",
		"after_blocking", "after_forced", "after_interval");
	for (size_t k = 0; k < n; k++) {
		const struct gs_thread_metrics *t = &m->th[ord[k]];
		fprintf(out, "%8u %-16.16s", t->tid, t->name);
		for (int w = 0; w < GS_WHY_MAX; w++) {
			char cell[40];
			snprintf(cell, sizeof(cell), "%s / %" PRIu64, D(t->wait_ns[w]),
				 t->wait[w].count);
			fprintf(out, " %21s", cell);
		}
		fputc('\n', out);
	}
	if (m->have_sched) {
		fprintf(out, "\nCPU (scheduler events)\n");
		fprintf(out, "%8s %-16s %12s %12s %12s %8s %10s %10s\n", "TID", "NAME",
			"RUNNING", "RUNNABLE", "SLEEPING", "WASTED", "INV-POL",
			"INV-SCHED");
		for (size_t k = 0; k < n; k++) {
			const struct gs_thread_metrics *t = &m->th[ord[k]];
			fprintf(out, "%8u %-16.16s %12s %12s %12s %8" PRIu64 " %10s %10s\n",
				t->tid, t->name, D(t->cpu_ns[GS_CPU_RUNNING]),
				D(t->cpu_ns[GS_CPU_RUNNABLE]),
				D(t->cpu_ns[GS_CPU_SLEEPING]), t->wasted_wakeups,
				D(t->inv_ns[0]), D(t->inv_ns[1]));
		}
	}
	if (o && o->thread_histograms) {
		for (size_t k = 0; k < n; k++) {
			const struct gs_thread_metrics *t = &m->th[ord[k]];
			struct gs_hist w = { 0 };
			for (int i = 0; i < GS_WHY_MAX; i++)
				gs_hist_merge(&w, &t->wait[i]);
			fprintf(out, "\n%s (tid %u): GIL wait\n", t->name, t->tid);
			gs_hist_print_log2(out, &w, 1000, "usecs");
			fprintf(out, "\n%s (tid %u): GIL hold\n", t->name, t->tid);
			gs_hist_print_log2(out, &t->hold, 1000, "usecs");
			gs_hist_free(&w);
		}
	}
	free(ord);
}

static void text_findings(FILE *out, const struct gs_analysis *a,
			  const struct gs_report_opts *o)
{
	const struct gs_metrics *m = a->metrics;
	fprintf(out, "\nFindings\n");
	size_t shown = 0;
	for (size_t i = 0; i < m->nfindings; i++) {
		const struct gs_finding *f = &m->findings[i];
		if (f->thread != GS_NO_THREAD && !selected(o, f->thread) &&
		    (f->other == GS_NO_THREAD || !selected(o, f->other)))
			continue;
		fprintf(out, "  * %s\n", f->text);
		char holder[600], victim[512];
		if (gs_code_finding(a, f, holder, sizeof(holder), victim, sizeof(victim)))
			fprintf(out, "    code: the holder ran %s; the victim waited at %s\n",
				holder, victim);
		shown++;
	}
	if (!shown)
		fprintf(out, "  none (no convoy, no priority inversion, no GIL "
			"battle)\n");
}

void gs_report_text(FILE *out, const struct gs_analysis *a,
		    const struct gs_report_opts *o)
{
	const struct gs_metrics *m = a->metrics;
	unsigned sec = o && o->sections ? o->sections : GS_REPORT_ALL;
	const struct gs_trace_info *in = &a->info;
	fprintf(out, "gilscope report: %s (%s", in->path ? in->path : "-",
		in->format[0] ? in->format : "?");
	if (in->policy_name[0])
		fprintf(out, ", policy %s", in->policy_name);
	if (in->interval_us)
		fprintf(out, ", interval %u us", in->interval_us);
	if (in->pid)
		fprintf(out, ", pid %u", in->pid);
	fprintf(out, ")\n");
	if (in->command[0])
		fprintf(out, "command: %s\n", in->command);
	if (in->nprobes) {
		fprintf(out, "probes (%u sites):\n", in->nprobes);
		gs_probe_sites_print(out, "  ", in->probes, in->nprobes);
	}
	/* Not the recording's length (record prints that): scheduler events
	 * of a thread can predate an attach. */
	fprintf(out, "window: %s from the first event to the end, %" PRIu64 " events, %"
		PRIu64 " lost, %zu threads%s\n",
		D(m->span_ns), a->totals.events, a->totals.lost, m->nth,
		m->have_sched ? ", scheduler events" : "");
	if (in->flags & GS_HDR_F_INFERRED)
		fprintf(out, "inferred: each blocking_end is timed at its thread's "
			"next request (light probe set): the re-acquire wait after "
			"a blocking call is that request's wait\n");
	if (o && o->selected) {
		size_t shown = 0;
		for (uint32_t i = 0; i < m->nth; i++)
			shown += o->selected[i] != 0;
		fprintf(out, "threads shown: %zu of %zu (acquisitions, handoffs, "
			"drop requests, load and contention cover all threads)\n",
			shown, m->nth);
	}
	if (a->partial)
		fprintf(out, "PARTIAL: the trace has no END block (cut short); "
			"figures cover what was recorded\n");
	if (a->totals.interrupted)
		fprintf(out, "note: the recording was interrupted by a signal\n");
	fputc('\n', out);

	struct merged g;
	merge_selected(m, o, &g);
	if (sec & GS_REPORT_SUMMARY)
		text_summary(out, a, o, &g);
	if (sec & GS_REPORT_THREADS)
		text_threads(out, a, o);
	text_findings(out, a, o);
	if (o && o->top_code)
		gs_code_top_text(out, a, o->top_code);
	if ((sec & GS_REPORT_SUMMARY) && (sec & GS_REPORT_HISTOGRAMS)) {
		fprintf(out, "\nGIL wait\n");
		gs_hist_print_log2(out, &g.wait_all, 1000, "usecs");
		fprintf(out, "\nGIL hold\n");
		gs_hist_print_log2(out, &g.hold, 1000, "usecs");
		if (m->handoff_latency.count) {
			fprintf(out, "\nHandoff latency (release -> next holder)\n");
			gs_hist_print_log2(out, &m->handoff_latency, 1000, "usecs");
		}
		if (g.io.count) {
			fprintf(out, "\nRe-acquire after I/O (blocking_end -> acquired)\n");
			gs_hist_print_log2(out, &g.io, 1000, "usecs");
		}
	}
	free_merged(&g);
}

/* ---- JSON ---- */

static void json_hist(struct json_writer *j, const char *key,
		      const struct gs_hist *h)
{
	json_begin_object(j, key);
	json_uint(j, "count", h->count);
	json_uint(j, "sum", h->sum);
	json_uint(j, "min", h->count ? h->min : 0);
	json_double(j, "mean", gs_hist_mean(h));
	json_uint(j, "p50", gs_hist_quantile(h, 0.50));
	json_uint(j, "p90", gs_hist_quantile(h, 0.90));
	json_uint(j, "p99", gs_hist_quantile(h, 0.99));
	json_uint(j, "p999", gs_hist_quantile(h, 0.999));
	json_uint(j, "max", h->max);
	json_end(j);
}

static void json_thread(struct json_writer *j, const struct gs_metrics *m,
			const struct gs_thread_metrics *t)
{
	json_begin_object(j, NULL);
	json_uint(j, "tid", t->tid);
	json_string(j, "name", t->name);
	json_string(j, "role", gs_role_name(t->role));
	json_int(j, "os_prio", t->os_prio);
	json_int(j, "gil_prio", t->gil_prio);
	json_uint(j, "first_ns", t->first_ns);
	json_uint(j, "last_ns", t->last_ns);
	json_uint(j, "wall_ns", t->wall_ns);
	json_uint(j, "acquisitions", t->acquisitions);
	json_uint(j, "contended", t->contended);
	json_uint(j, "hold_ns", t->hold_ns);
	json_double(j, "gil_load", frac(t->hold_ns, m->span_ns));
	json_double(j, "hold_share_of_wall", frac(t->hold_ns, t->wall_ns));
	json_hist(j, "hold", &t->hold);
	uint64_t wt = gs_thread_wait_ns(t);
	json_uint(j, "wait_ns", wt);
	json_double(j, "wait_share_of_wall", frac(wt, t->wall_ns));
	struct gs_hist all = { 0 };
	for (int w = 0; w < GS_WHY_MAX; w++)
		gs_hist_merge(&all, &t->wait[w]);
	json_hist(j, "wait", &all);
	gs_hist_free(&all);
	json_begin_object(j, "wait_by_why");
	for (int w = 0; w < GS_WHY_MAX; w++) {
		json_begin_object(j, why_keys[w]);
		json_uint(j, "ns", t->wait_ns[w]);
		json_hist(j, "hist", &t->wait[w]);
		json_end(j);
	}
	json_end(j);
	json_uint(j, "blocked_ns", t->blocked_ns);
	json_uint(j, "nogil_ns", t->nogil_ns);
	json_begin_object(j, "releases");
	for (int r = 0; r < GS_RELEASE_MAX; r++)
		json_uint(j, release_keys[r], t->releases[r]);
	json_end(j);
	json_uint(j, "drop_requests", t->drop_requests);
	json_begin_object(j, "handoffs");
	json_uint(j, "given", t->handoffs_given);
	json_uint(j, "failed", t->handoffs_failed);
	json_uint(j, "received", t->handoffs_received);
	json_end(j);
	json_begin_object(j, "io");
	json_uint(j, "calls", t->io_calls);
	json_uint(j, "reacquire_wait_ns", t->io_wait_ns);
	json_uint(j, "lost_per_call_ns", t->io_calls ? t->io_wait_ns / t->io_calls : 0);
	json_double(j, "share_of_wall", frac(t->io_wait_ns, t->wall_ns));
	json_uint(j, "behind_cpu", t->io_wait_behind_cpu.count);
	json_uint(j, "near_interval", t->io_near_interval);
	json_bool(j, "convoy", t->convoy);
	json_hist(j, "reacquire_wait", &t->io_wait);
	json_end(j);
	if (m->have_sched) {
		json_begin_object(j, "cpu");
		json_uint(j, "running_ns", t->cpu_ns[GS_CPU_RUNNING]);
		json_uint(j, "runnable_ns", t->cpu_ns[GS_CPU_RUNNABLE]);
		json_uint(j, "sleeping_ns", t->cpu_ns[GS_CPU_SLEEPING]);
		json_uint(j, "wasted_wakeups", t->wasted_wakeups);
		json_end(j);
	}
	json_begin_object(j, "inversion");
	for (int k = 0; k < 2; k++) {
		json_begin_object(j, k ? "sched" : "policy");
		json_uint(j, "count", t->inv_count[k]);
		json_uint(j, "waited_ns", t->inv_ns[k]);
		json_uint(j, "worst_ns", t->inv_worst_ns[k]);
		if (t->inv_count[k])
			json_uint(j, "worst_holder_tid", m->th[t->inv_worst_holder[k]].tid);
		else
			json_null(j, "worst_holder_tid");
		json_uint(j, "caused_ns", t->inv_caused_ns[k]);
		json_end(j);
	}
	json_end(j);
	/* the fields of gil_thread_stats the trace determines exactly */
	json_begin_object(j, "counters");
	json_uint(j, "acquisitions", t->acquisitions);
	json_uint(j, "releases_blocking", t->releases[GS_RELEASE_BLOCKING]);
	json_uint(j, "releases_interval", t->releases[GS_RELEASE_INTERVAL]);
	json_uint(j, "releases_forced", t->releases[GS_RELEASE_FORCED]);
	json_uint(j, "drop_requests", t->drop_requests);
	json_end(j);
	json_end(j);
}

void gs_report_json(FILE *out, const struct gs_analysis *a,
		    const struct gs_report_opts *o)
{
	const struct gs_metrics *m = a->metrics;
	const struct gs_trace_info *in = &a->info;
	unsigned sec = o && o->sections ? o->sections : GS_REPORT_ALL;
	struct json_writer j;
	json_init(&j, out, 1);
	json_begin_object(&j, NULL);
	json_string(&j, "schema", GS_REPORT_SCHEMA);
	json_bool(&j, "partial", a->partial);

	json_begin_object(&j, "trace");
	json_string(&j, "path", in->path);
	json_string(&j, "format", in->format);
	json_string(&j, "source", source_name(in->source));
	json_string(&j, "runtime", runtime_name(in->runtime));
	json_uint(&j, "pid", in->pid);
	json_string(&j, "policy", in->policy_name);
	json_uint(&j, "interval_us", in->interval_us);
	json_uint(&j, "check_ticks", in->check_ticks);
	json_string(&j, "command", in->command);
	json_uint(&j, "start_ns", in->start_ns);
	json_uint(&j, "events", a->totals.events);
	json_uint(&j, "lost", a->totals.lost);
	json_uint(&j, "gaps", m->gaps);
	json_bool(&j, "complete", a->totals.complete);
	json_bool(&j, "interrupted", a->totals.interrupted);
	json_bool(&j, "sched_events", m->have_sched);
	json_bool(&j, "inferred_events", (in->flags & GS_HDR_F_INFERRED) != 0);
	json_begin_array(&j, "probes");
	for (uint32_t i = 0; i < in->nprobes; i++) {
		const struct gs_probe_site *p = &in->probes[i];
		json_begin_object(&j, NULL);
		json_string(&j, "what", p->what);
		json_string(&j, "kind", gs_probe_kind_name(p->kind));
		json_string(&j, "method", gs_placement_name(p->method));
		json_uint(&j, "vaddr", p->vaddr);
		json_uint(&j, "file_offset", p->file_offset);
		json_string(&j, "object", p->object);
		json_end(&j);
	}
	json_end(&j);
	json_end(&j);

	json_begin_object(&j, "window");
	json_uint(&j, "from_ns", m->begin_ns);
	json_uint(&j, "to_ns", m->end_ns);
	json_uint(&j, "span_ns", m->span_ns);
	json_end(&j);

	/* same names and meaning as gil_runtime_stats */
	json_begin_object(&j, "runtime");
	json_uint(&j, "acquisitions", m->acquisitions);
	json_uint(&j, "handoffs_attempted", m->handoffs_attempted);
	json_uint(&j, "handoffs_failed", m->handoffs_failed);
	json_uint(&j, "forced_drops", m->forced_drops);
	json_uint(&j, "drop_requests", m->drop_requests);
	json_uint(&j, "switches", m->switches);
	json_end(&j);

	if (sec & GS_REPORT_SUMMARY) {
		struct merged g;
		merge_selected(m, o, &g);
		json_begin_object(&j, "summary");
		json_double(&j, "gil_load", frac(m->held_ns, m->span_ns));
		json_uint(&j, "held_ns", m->held_ns);
		json_double(&j, "contention", frac(m->contended_ns, m->span_ns));
		json_uint(&j, "contended_ns", m->contended_ns);
		json_double(&j, "mean_waiters", frac(m->waiters_area_ns, m->span_ns));
		json_uint(&j, "max_waiters", m->max_waiters);
		json_begin_object(&j, "releases");
		for (int r = 0; r < GS_RELEASE_MAX; r++)
			json_uint(&j, release_keys[r], m->releases[r]);
		json_end(&j);
		json_begin_object(&j, "handoffs");
		json_uint(&j, "attempted", m->handoffs_attempted);
		json_uint(&j, "failed", m->handoffs_failed);
		json_double(&j, "failed_ratio", frac(m->handoffs_failed,
						      m->handoffs_attempted));
		json_hist(&j, "latency", &m->handoff_latency);
		json_hist(&j, "failed_retake", &m->battle_latency);
		json_end(&j);
		json_begin_object(&j, "drop_requests");
		json_uint(&j, "count", m->drop_requests);
		json_uint(&j, "answered", m->drop_answered);
		json_hist(&j, "latency", &m->drop_latency);
		json_end(&j);
		json_hist(&j, "hold", &g.hold);
		json_hist(&j, "wait", &g.wait_all);
		json_begin_object(&j, "wait_by_why");
		for (int w = 0; w < GS_WHY_MAX; w++)
			json_hist(&j, why_keys[w], &g.wait[w]);
		json_end(&j);
		json_hist(&j, "io_reacquire_wait", &g.io);
		json_begin_object(&j, "inversion");
		for (int k = 0; k < 2; k++) {
			const struct gs_inv_summary *s = &m->inv[k];
			json_begin_object(&j, k ? "sched" : "policy");
			json_uint(&j, "count", s->count);
			json_uint(&j, "total_ns", s->total_ns);
			json_uint(&j, "worst_ns", s->worst_ns);
			if (s->count) {
				json_uint(&j, "worst_waiter_tid", m->th[s->worst_waiter].tid);
				json_uint(&j, "worst_holder_tid", m->th[s->worst_holder].tid);
			} else {
				json_null(&j, "worst_waiter_tid");
				json_null(&j, "worst_holder_tid");
			}
			json_end(&j);
		}
		json_end(&j);
		json_uint(&j, "wasted_wakeups", m->wasted_wakeups);
		json_uint(&j, "convoy_reference_ns", m->ref_interval_ns);
		json_string(&j, "convoy_reference_source", m->ref_interval_src);
		json_end(&j);
		free_merged(&g);
	}

	if (sec & GS_REPORT_THREADS) {
		uint32_t *ord = calloc(m->nth ? m->nth : 1, sizeof(*ord));
		size_t n = ord ? gs_report_thread_order(m, o ? o->selected : NULL, ord) : 0;
		json_begin_array(&j, "threads");
		for (size_t k = 0; k < n; k++)
			json_thread(&j, m, &m->th[ord[k]]);
		json_end(&j);
		free(ord);
	}

	json_begin_array(&j, "findings");
	for (size_t i = 0; i < m->nfindings; i++) {
		const struct gs_finding *f = &m->findings[i];
		if (f->thread != GS_NO_THREAD && !selected(o, f->thread) &&
		    (f->other == GS_NO_THREAD || !selected(o, f->other)))
			continue;
		json_begin_object(&j, NULL);
		json_string(&j, "kind", gs_finding_kind_name(f->kind));
		if (f->thread != GS_NO_THREAD)
			json_uint(&j, "tid", m->th[f->thread].tid);
		else
			json_null(&j, "tid");
		if (f->other != GS_NO_THREAD)
			json_uint(&j, "other_tid", m->th[f->other].tid);
		else
			json_null(&j, "other_tid");
		json_uint(&j, "count", f->count);
		json_uint(&j, "total_ns", f->total_ns);
		json_uint(&j, "worst_ns", f->worst_ns);
		json_double(&j, "share", f->share);
		json_string(&j, "text", f->text);
		char holder[600], victim[512];
		if (gs_code_finding(a, f, holder, sizeof(holder), victim,
				    sizeof(victim))) {
			json_string(&j, "holder_code", holder);
			json_string(&j, "victim_code", victim);
		}
		json_end(&j);
	}
	json_end(&j);
	if (o && o->top_code)
		gs_code_top_json(&j, a, o->top_code);
	json_end(&j);
}

/* ---- CSV ---- */

void gs_report_csv(FILE *out, const struct gs_analysis *a,
		   const struct gs_report_opts *o)
{
	const struct gs_metrics *m = a->metrics;
	fprintf(out, "tid,name,role,os_prio,gil_prio,wall_ns,acquisitions,contended,"
		"hold_ns,hold_count,hold_p50_ns,hold_p99_ns,hold_max_ns,wait_ns,"
		"wait_count,wait_p50_ns,wait_p99_ns,wait_max_ns,wait_first_ns,"
		"wait_after_blocking_ns,wait_after_forced_ns,wait_after_interval_ns,"
		"blocked_ns,releases_blocking,releases_interval,releases_forced,"
		"releases_exit,drop_requests,handoffs_given,handoffs_failed,"
		"handoffs_received,io_calls,io_reacquire_wait_ns,io_behind_cpu,"
		"io_near_interval,convoy,wasted_wakeups,inversion_policy_ns,"
		"inversion_sched_ns,partial\n");
	uint32_t *ord = calloc(m->nth ? m->nth : 1, sizeof(*ord));
	if (!ord)
		return;
	size_t n = gs_report_thread_order(m, o ? o->selected : NULL, ord);
	for (size_t k = 0; k < n; k++) {
		const struct gs_thread_metrics *t = &m->th[ord[k]];
		struct gs_hist w = { 0 };
		for (int i = 0; i < GS_WHY_MAX; i++)
			gs_hist_merge(&w, &t->wait[i]);
		/* names are free text: quote them, doubling quotes */
		fprintf(out, "%u,\"", t->tid);
		for (const char *p = t->name; *p; p++) {
			if (*p == '"')
				fputc('"', out);
			fputc(*p, out);
		}
		fprintf(out, "\",%s,%d,%d,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
			",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
			",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
			",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
			",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
			",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
			",%" PRIu64 ",%d,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%d\n",
			gs_role_name(t->role), t->os_prio, t->gil_prio, t->wall_ns,
			t->acquisitions, t->contended, t->hold_ns, t->hold.count,
			gs_hist_quantile(&t->hold, 0.5), gs_hist_quantile(&t->hold, 0.99),
			t->hold.max, gs_thread_wait_ns(t), w.count,
			gs_hist_quantile(&w, 0.5), gs_hist_quantile(&w, 0.99), w.max,
			t->wait_ns[0], t->wait_ns[1], t->wait_ns[2], t->wait_ns[3],
			t->blocked_ns, t->releases[0], t->releases[1], t->releases[2],
			t->releases[3], t->drop_requests, t->handoffs_given,
			t->handoffs_failed, t->handoffs_received, t->io_calls,
			t->io_wait_ns, t->io_wait_behind_cpu.count, t->io_near_interval,
			t->convoy, t->wasted_wakeups, t->inv_ns[0], t->inv_ns[1],
			a->partial);
		gs_hist_free(&w);
	}
	free(ord);
}
