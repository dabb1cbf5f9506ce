/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "exposition.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gil_events.h"

/* One series set: a thread name (or a thread) of one process. */
struct gs_expo_group {
	pid_t pid;
	unsigned long long start_time;
	char key[GSA_COMM_LEN + 16];  /* thread name, or "tid" with per_tid */
	int admitted;
	int decided;                  /* admitted or folded, once for good */
	uint64_t epoch;               /* last scrape that saw it */
	struct gsa_thread v;          /* its counters at that scrape */
	int live_threads;
	const struct gs_hw_proc *proc;/* valid during a scrape */
	char name[GSA_COMM_LEN];
	uint32_t tid;
};

void gs_buf_printf(struct gs_buf *b, const char *fmt, ...)
{
	va_list ap;
	if (b->oom)
		return;
	for (;;) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		int n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->oom = 1;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t cap = b->cap ? b->cap * 2 : 65536;
		while (cap - b->len <= (size_t)n)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
}

void gs_buf_free(struct gs_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void gs_expo_init(struct gs_expo *e, const struct gs_expo_opts *o)
{
	memset(e, 0, sizeof(*e));
	e->o = *o;
}

void gs_expo_free(struct gs_expo *e)
{
	free(e->g);
	memset(e, 0, sizeof(*e));
}

static const char *const why_label[GSA_WHY_MAX] = {
	[GS_WHY_FIRST] = "first",
	[GS_WHY_AFTER_BLOCKING] = "after_blocking",
	[GS_WHY_AFTER_FORCED] = "after_forced",
	[GS_WHY_AFTER_INTERVAL] = "after_interval",
};

static const char *const reason_label[GSA_REASON_MAX] = {
	[GS_RELEASE_BLOCKING] = "blocking",
	[GS_RELEASE_INTERVAL] = "interval",
	[GS_RELEASE_FORCED] = "forced",
	[GS_RELEASE_EXIT] = "exit",
	[GS_RELEASE_UNKNOWN] = "unknown",
};

/* le values of GSA_BUCKET_BOUNDS_NS, as written */
static const char *const le_label[GSA_BUCKETS] = {
	"1e-06", "2.5e-06", "5e-06", "1e-05", "2.5e-05", "5e-05", "0.0001",
	"0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
	"0.1", "0.25", "0.5", "1.0", "+Inf",
};

static void escape(char *out, size_t outlen, const char *in)
{
	size_t o = 0;
	for (; *in && o + 3 < outlen; in++) {
		if (*in == '\\' || *in == '"') {
			out[o++] = '\\';
			out[o++] = *in;
		} else if (*in == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *in;
		}
	}
	out[o] = 0;
}

static struct gs_expo_group *group_for(struct gs_expo *e, const struct gs_hw_proc *p,
				       const char *key)
{
	for (size_t i = 0; i < e->ng; i++) {
		struct gs_expo_group *g = &e->g[i];
		if (g->pid == p->pid && g->start_time == p->start_time && !strcmp(g->key, key))
			return g;
	}
	if (e->ng == e->capg) {
		size_t cap = e->capg ? e->capg * 2 : 64;
		struct gs_expo_group *ng = realloc(e->g, cap * sizeof(*ng));
		if (!ng)
			return NULL;
		e->g = ng;
		e->capg = cap;
	}
	struct gs_expo_group *g = &e->g[e->ng++];
	memset(g, 0, sizeof(*g));
	g->pid = p->pid;
	g->start_time = p->start_time;
	snprintf(g->key, sizeof(g->key), "%s", key);
	g->epoch = e->epoch;
	return g;
}

/* Groups the snapshot's threads, admits new groups while the cap allows,
 * retires the groups that are gone. */
static void build_groups(struct gs_expo *e, struct gs_hw *hw)
{
	/* one set is kept for thread="_folded" */
	size_t max_groups = e->o.max_series / GS_EXPO_SERIES_PER_GROUP - 1;
	e->epoch++;
	for (size_t i = 0; i < hw->nprocs; i++) {
		const struct gs_hw_proc *p = &hw->procs[i];
		for (size_t j = 0; j < p->nth; j++) {
			const struct gs_hw_thread *t = &p->th[j];
			char key[GSA_COMM_LEN + 16];
			if (e->o.per_tid) {
				if (!t->tid)
					continue; /* merged dead threads: only by name */
				snprintf(key, sizeof(key), "%u", t->tid);
			} else {
				snprintf(key, sizeof(key), "%s", t->name);
			}
			struct gs_expo_group *g = group_for(e, p, key);
			if (!g)
				continue;
			if (g->epoch != e->epoch) {
				memset(&g->v, 0, sizeof(g->v));
				g->live_threads = 0;
				g->epoch = e->epoch;
			}
			if (!g->decided) {
				g->decided = 1;
				if (e->admitted < max_groups) {
					g->admitted = 1;
					e->admitted++;
				} else {
					e->folded_total++;
				}
			}
			g->proc = p;
			g->tid = t->tid;
			snprintf(g->name, sizeof(g->name), "%s", t->name);
			gs_hw_add_thread(&g->v, t);
			if (t->live && !p->exited)
				g->live_threads++;
		}
	}
	for (size_t i = 0; i < e->ng; i++) {
		struct gs_expo_group *g = &e->g[i];
		if (g->epoch == e->epoch)
			continue;
		if (g->admitted)
			e->admitted--;
		else
			gs_hw_add(&e->folded_retired, &g->v);
		e->g[i] = e->g[--e->ng];
		i--;
	}
}

struct family {
	const char *name;     /* sample name in the text format */
	const char *type;     /* counter, gauge, histogram */
	const char *unit;     /* "seconds" or NULL */
	const char *help;
};

/* # HELP / # TYPE (/ # UNIT) lines. OpenMetrics names a counter family
 * without its _total; the two counters whose family name would be the
 * histogram's (gilscope_gil_hold_seconds_total, gilscope_gil_wait_seconds_total)
 * are exposed there as `unknown` under their full name, so the same series
 * exist whatever format the scraper picked (docs/exporter.md). */
static void header(struct gs_buf *b, const struct family *f, int om)
{
	char fam[128];
	const char *type = f->type;
	snprintf(fam, sizeof(fam), "%s", f->name);
	if (om && !strcmp(type, "counter")) {
		size_t n = strlen(fam);
		if (!strcmp(f->name, "gilscope_gil_hold_seconds_total") ||
		    !strcmp(f->name, "gilscope_gil_wait_seconds_total"))
			type = "unknown";
		else if (n > 6 && !strcmp(fam + n - 6, "_total"))
			fam[n - 6] = 0;
	}
	gs_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", fam, f->help, fam, type);
	if (om && f->unit && strcmp(type, "unknown"))
		gs_buf_printf(b, "# UNIT %s %s\n", fam, f->unit);
}

static void labels(char *out, size_t len, const struct gs_expo_group *g, int per_tid)
{
	char comm[64], name[64], cg[600];
	if (!g->proc) { /* the folded set */
		snprintf(out, len, "pid=\"\",comm=\"\",python=\"\",thread=\"_folded\"");
		return;
	}
	const struct gs_hw_proc *p = g->proc;
	escape(comm, sizeof(comm), p->comm);
	escape(name, sizeof(name), g->name);
	escape(cg, sizeof(cg), p->cgroup);
	int n = snprintf(out, len, "pid=\"%d\",comm=\"%s\",python=\"%s\",runtime=\"%s\","
			 "cgroup=\"%s\",container=\"%s\",thread=\"%s\"",
			 (int)p->pid, comm, p->python, p->runtime, cg, p->container, name);
	if (per_tid && n > 0 && (size_t)n < len)
		snprintf(out + n, len - (size_t)n, ",tid=\"%u\"", g->tid);
}

static double secs(uint64_t ns)
{
	return (double)ns / 1e9;
}

enum { V_HOLD, V_ACQ, V_CONT, V_HAND, V_FAIL, V_DROP, V_CONVOY_S, V_CONVOY_N,
       V_INV, V_THREADS };

static void scalar(struct gs_buf *b, const char *name, const char *lab, int which,
		   const struct gsa_thread *v, int threads)
{
	switch (which) {
	case V_HOLD: gs_buf_printf(b, "%s{%s} %.9f\n", name, lab, secs(v->hold_ns)); break;
	case V_ACQ: gs_buf_printf(b, "%s{%s} %llu\n", name, lab, (unsigned long long)v->acquisitions); break;
	case V_CONT: gs_buf_printf(b, "%s{%s} %llu\n", name, lab, (unsigned long long)v->contended); break;
	case V_HAND: gs_buf_printf(b, "%s{%s} %llu\n", name, lab, (unsigned long long)v->handoffs); break;
	case V_FAIL: gs_buf_printf(b, "%s{%s} %llu\n", name, lab, (unsigned long long)v->handoffs_failed); break;
	case V_DROP: gs_buf_printf(b, "%s{%s} %llu\n", name, lab, (unsigned long long)v->drop_requests); break;
	case V_CONVOY_S: gs_buf_printf(b, "%s{%s} %.9f\n", name, lab, secs(v->convoy_loss_ns)); break;
	case V_CONVOY_N: gs_buf_printf(b, "%s{%s} %llu\n", name, lab, (unsigned long long)v->convoy_losses); break;
	case V_INV: gs_buf_printf(b, "%s{%s} %.9f\n", name, lab, secs(v->inversion_ns)); break;
	case V_THREADS: gs_buf_printf(b, "%s{%s} %d\n", name, lab, threads); break;
	}
}

static void histogram(struct gs_buf *b, const char *name, const char *lab,
		      const __u64 *hist, uint64_t sum_ns)
{
	uint64_t cum = 0;
	for (int i = 0; i < GSA_BUCKETS; i++) {
		cum += hist[i];
		gs_buf_printf(b, "%s_bucket{%s,le=\"%s\"} %llu\n", name, lab, le_label[i],
			      (unsigned long long)cum);
	}
	gs_buf_printf(b, "%s_sum{%s} %.9f\n%s_count{%s} %llu\n", name, lab, secs(sum_ns),
		      name, lab, (unsigned long long)cum);
}

void gs_expo_write(struct gs_expo *e, struct gs_hw *hw, int om, struct gs_buf *b)
{
	static const struct family scalars[] = {
		[V_HOLD] = { "gilscope_gil_hold_seconds_total", "counter", "seconds",
			     "Time threads held the GIL (a hold in progress counts up to the scrape)." },
		[V_ACQ] = { "gilscope_gil_acquisitions_total", "counter", NULL,
			    "GIL acquisitions." },
		[V_CONT] = { "gilscope_gil_contended_acquisitions_total", "counter", NULL,
			     "GIL acquisitions that waited at least 1 us." },
		[V_HAND] = { "gilscope_gil_handoffs_total", "counter", NULL,
			     "Releases of the GIL while other threads waited for it." },
		[V_FAIL] = { "gilscope_gil_handoffs_failed_total", "counter", NULL,
			     "Handoffs after which the releasing thread took the GIL back first." },
		[V_DROP] = { "gilscope_gil_drop_requests_total", "counter", NULL,
			     "Drop requests made by waiting threads (libgil; CPython: see releases{reason=\"forced\"})." },
		[V_CONVOY_S] = { "gilscope_gil_convoy_loss_seconds_total", "counter", "seconds",
				 "Time spent re-acquiring the GIL after a blocking call, in waits longer than the convoy threshold." },
		[V_CONVOY_N] = { "gilscope_gil_convoy_losses_total", "counter", NULL,
				 "Re-acquisitions after a blocking call that waited longer than the convoy threshold." },
		[V_INV] = { "gilscope_gil_inversion_seconds_total", "counter", "seconds",
			    "Time a thread held the GIL with a waiter's priority lent to it (libgil prio policy)." },
		[V_THREADS] = { "gilscope_gil_threads", "gauge", NULL,
				"Live threads in the series set (threads of this name in the process)." },
	};
	static const struct family wait_f = { "gilscope_gil_wait_seconds_total", "counter", "seconds",
		"Time threads waited for the GIL (request to acquired, a wait in progress up to the scrape), by why they asked." };
	static const struct family rel_f = { "gilscope_gil_releases_total", "counter", NULL,
		"GIL releases by reason." };
	static const struct family hold_h = { "gilscope_gil_hold_seconds", "histogram", "seconds",
		"GIL hold times (acquired to release)." };
	static const struct family wait_h = { "gilscope_gil_wait_seconds", "histogram", "seconds",
		"GIL wait times (request to acquired)." };

	build_groups(e, hw);
	e->scrapes[om ? 1 : 0]++;

	/* the folded set: what is folded now plus what was folded and is gone */
	struct gs_expo_group folded;
	memset(&folded, 0, sizeof(folded));
	folded.v = e->folded_retired;
	size_t nfolded = 0, series = 0;
	for (size_t i = 0; i < e->ng; i++)
		if (!e->g[i].admitted) {
			gs_hw_add(&folded.v, &e->g[i].v);
			folded.live_threads += e->g[i].live_threads;
			nfolded++;
		}
	int show_folded = e->folded_total > 0;

	/* the group list to print, labels made once */
	size_t n = e->admitted + (show_folded ? 1 : 0);
	const struct gs_expo_group **gl = calloc(n ? n : 1, sizeof(*gl));
	char (*lab)[1024] = calloc(n ? n : 1, sizeof(*lab));
	if (!gl || !lab) {
		free(gl);
		free(lab);
		b->oom = 1;
		return;
	}
	size_t k = 0;
	for (size_t i = 0; i < e->ng && k < n; i++)
		if (e->g[i].admitted)
			gl[k++] = &e->g[i];
	if (show_folded && k < n)
		gl[k++] = &folded;
	n = k;
	for (size_t i = 0; i < n; i++)
		labels(lab[i], sizeof(lab[i]), gl[i], e->o.per_tid);

	for (int f = 0; f < (int)(sizeof(scalars) / sizeof(scalars[0])); f++) {
		header(b, &scalars[f], om);
		for (size_t i = 0; i < n; i++)
			scalar(b, scalars[f].name, lab[i], f, &gl[i]->v, gl[i]->live_threads);
		if (f == V_HOLD) {
			header(b, &wait_f, om);
			for (size_t i = 0; i < n; i++)
				for (int w = 0; w < GSA_WHY_MAX; w++)
					gs_buf_printf(b, "%s{%s,why=\"%s\"} %.9f\n", wait_f.name,
						      lab[i], why_label[w], secs(gl[i]->v.wait_ns[w]));
			header(b, &rel_f, om);
			for (size_t i = 0; i < n; i++)
				for (int r = 0; r < GSA_REASON_MAX; r++)
					gs_buf_printf(b, "%s{%s,reason=\"%s\"} %llu\n", rel_f.name,
						      lab[i], reason_label[r],
						      (unsigned long long)gl[i]->v.releases[r]);
		}
	}
	header(b, &hold_h, om);
	for (size_t i = 0; i < n; i++)
		histogram(b, hold_h.name, lab[i], gl[i]->v.hold_hist, gl[i]->v.hold_ns);
	header(b, &wait_h, om);
	for (size_t i = 0; i < n; i++) {
		uint64_t sum = 0;
		for (int w = 0; w < GSA_WHY_MAX; w++)
			sum += gl[i]->v.wait_ns[w];
		histogram(b, wait_h.name, lab[i], gl[i]->v.wait_hist, sum);
	}
	series = n * GS_EXPO_SERIES_PER_GROUP;

	/* host-wide gauges and the exporter's own figures */
	size_t live_procs = 0, live_threads = 0;
	for (size_t i = 0; i < hw->nprocs; i++) {
		if (hw->procs[i].exited)
			continue;
		live_procs++;
		for (size_t j = 0; j < hw->procs[i].nth; j++)
			live_threads += hw->procs[i].th[j].live;
	}
	uint64_t hits[GSA_HIT_MAX];
	gs_hw_hits(hw, hits);
	static const struct family g_procs = { "gilscope_traced_processes", "gauge", NULL,
		"Processes whose GIL is traced now." };
	static const struct family g_threads = { "gilscope_traced_threads", "gauge", NULL,
		"Threads of traced processes that have touched the GIL and are alive." };
	static const struct family c_hits = { "gilscope_exporter_probe_hits_total", "counter", NULL,
		"Probe hits, every process of a probed file included (filtered ones too)." };
	static const struct family c_lost = { "gilscope_exporter_lost_events_total", "counter", NULL,
		"GIL events not counted because a kernel table or ring was full." };
	static const struct family c_cost = { "gilscope_exporter_probe_cost_seconds_total", "counter", "seconds",
		"Estimated CPU time spent in the probes (hits x the per-hit costs of docs/observer-effect.md)." };
	static const struct family g_bins = { "gilscope_exporter_probed_files", "gauge", NULL,
		"Binaries and libraries with probes in (one set each, for every process)." };
	static const struct family g_series = { "gilscope_exporter_series", "gauge", NULL,
		"Series of thread groups on this page (at most --max-series)." };
	static const struct family g_folded = { "gilscope_exporter_folded_groups", "gauge", NULL,
		"Thread groups folded into thread=\"_folded\" now (over the series cap)." };
	static const struct family c_folded = { "gilscope_exporter_folded_groups_total", "counter", NULL,
		"Thread groups ever folded into thread=\"_folded\"." };
	static const struct family c_untraceable = { "gilscope_exporter_untraceable_processes_total", "counter", NULL,
		"Python processes seen that the exporter cannot trace (stderr says why: stripped, free-threaded, ...)." };
	static const struct family c_scrapes = { "gilscope_exporter_scrapes_total", "counter", NULL,
		"Pages served, by format (Prometheus asks for OpenMetrics by default)." };
	static const struct family c_gone = { "gilscope_exporter_processes_removed_total", "counter", NULL,
		"Exited processes whose series were removed after the grace period." };
	static const struct family c_unlisted = { "gilscope_exporter_unlisted_exits_total", "counter", NULL,
		"Processes that exited before the exporter listed them: their kernel entries were deleted, their events never shown." };
	header(b, &g_procs, om);
	gs_buf_printf(b, "gilscope_traced_processes %zu\n", live_procs);
	header(b, &g_threads, om);
	gs_buf_printf(b, "gilscope_traced_threads %zu\n", live_threads);
	static const struct { int slot; const char *name; } probes[] = {
		{ GSA_HIT_USDT, "usdt" }, { GSA_HIT_TAKE_ENTRY, "take_gil" },
		{ GSA_HIT_TAKE_RET, "take_gil_return" }, { GSA_HIT_DROP, "drop_gil" },
		{ GSA_HIT_SAVE, "PyEval_SaveThread" },
		{ GSA_HIT_ACQ2_ENTRY, "PyThread_acquire_lock" },
		{ GSA_HIT_ACQ2_RET, "PyThread_acquire_lock_return" },
		{ GSA_HIT_LIFECYCLE, "sched_process_exec_exit" },
		{ GSA_HIT_COND_SIGNAL, "pthread_cond_signal" },
		{ GSA_HIT_COND_WAIT, "pthread_cond_timedwait" },
		{ GSA_HIT_COND_WAIT_RET, "pthread_cond_timedwait_return" },
		{ GSA_HIT_THREAD_EXIT, "thread_exit" },
		{ GSA_HIT_REL2, "PyThread_release_lock" },
		{ GSA_HIT_ACQ2_TAIL, "PyEval_AcquireLock_return" },
	};
	header(b, &c_hits, om);
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		gs_buf_printf(b, "gilscope_exporter_probe_hits_total{probe=\"%s\"} %llu\n",
			      probes[i].name, (unsigned long long)hits[probes[i].slot]);
	header(b, &c_lost, om);
	gs_buf_printf(b, "gilscope_exporter_lost_events_total{reason=\"thread_table_full\"} %llu\n"
		      "gilscope_exporter_lost_events_total{reason=\"process_table_full\"} %llu\n"
		      "gilscope_exporter_lost_events_total{reason=\"notice_ring_full\"} %llu\n",
		      (unsigned long long)hits[GSA_LOST_THREADS],
		      (unsigned long long)hits[GSA_LOST_PROCS],
		      (unsigned long long)hits[GSA_LOST_NOTICES]);
	header(b, &c_cost, om);
	gs_buf_printf(b, "gilscope_exporter_probe_cost_seconds_total %.9f\n",
		      gs_hw_cost_ns(hw, hits) / 1e9);
	header(b, &g_bins, om);
	gs_buf_printf(b, "gilscope_exporter_probed_files %zu\n", hw->nbins);
	header(b, &g_series, om);
	gs_buf_printf(b, "gilscope_exporter_series %zu\n", series);
	header(b, &g_folded, om);
	gs_buf_printf(b, "gilscope_exporter_folded_groups %zu\n", nfolded);
	header(b, &c_folded, om);
	gs_buf_printf(b, "gilscope_exporter_folded_groups_total %llu\n",
		      (unsigned long long)e->folded_total);
	header(b, &c_gone, om);
	gs_buf_printf(b, "gilscope_exporter_processes_removed_total %llu\n",
		      (unsigned long long)hw->removed);
	header(b, &c_unlisted, om);
	gs_buf_printf(b, "gilscope_exporter_unlisted_exits_total %llu\n",
		      (unsigned long long)hw->unlisted_forgotten);
	header(b, &c_untraceable, om);
	gs_buf_printf(b, "gilscope_exporter_untraceable_processes_total %llu\n",
		      (unsigned long long)hw->untraceable);
	header(b, &c_scrapes, om);
	gs_buf_printf(b, "gilscope_exporter_scrapes_total{format=\"text\"} %llu\n"
		      "gilscope_exporter_scrapes_total{format=\"openmetrics\"} %llu\n",
		      (unsigned long long)e->scrapes[0], (unsigned long long)e->scrapes[1]);
	if (om)
		gs_buf_printf(b, "# EOF\n");
	free(gl);
	free(lab);
	for (size_t i = 0; i < e->ng; i++)
		e->g[i].proc = NULL;
}
