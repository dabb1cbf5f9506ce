/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "demux.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/types.h>

#include "gil_events.h"
#include "gilscope_bpf.h"
#include "procfs.h"

_Static_assert(sizeof(struct gsb_record) == sizeof(struct gs_record),
	       "ring-buffer record and trace record must match");

int gs_demux_init(struct gs_demux *d, struct gs_writer *w, uint32_t pid)
{
	memset(d, 0, sizeof(*d));
	d->w = w;
	d->pid = pid;
	return 0;
}

/* os_prio as libgil computes it (docs/events.md): SCHED_FIFO/RR priority
 * + 100, else 20 - nice; from /proc/PID/task/TID/stat fields 19, 40, 41. */
static int32_t read_os_prio(uint32_t pid, uint32_t tid, int32_t fallback)
{
	char p[64], buf[1024];
	snprintf(p, sizeof(p), "/proc/%u/task/%u/stat", pid, tid);
	FILE *f = fopen(p, "re");
	if (!f)
		return fallback;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *q = strrchr(buf, ')'); /* comm may hold spaces */
	if (!q)
		return fallback;
	long field[42] = { 0 };
	int i = 3;
	for (char *tok = strtok(q + 2, " "); tok && i < 42; tok = strtok(NULL, " "))
		field[i++] = strtol(tok, NULL, 10);
	if (field[41] == 1 || field[41] == 2) /* SCHED_FIFO, SCHED_RR */
		return (int32_t)(100 + field[40]);
	return (int32_t)(20 - field[19]);
}

static struct gs_demux_thread *thread_of(struct gs_demux *d, uint32_t tid,
					 uint64_t ts)
{
	uint32_t idx = gs_tidmap_get(&d->index, tid);
	if (idx != GS_TIDMAP_NONE)
		return &d->threads[idx];
	if (d->nthreads == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		void *p = realloc(d->threads, cap * sizeof(*d->threads));
		if (!p)
			return NULL;
		d->threads = p;
		d->cap = cap;
	}
	struct gs_demux_thread *t = &d->threads[d->nthreads];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->tb.tid = tid;
	t->tb.start_ns = ts;
	t->tb.role = tid == d->pid ? GS_ROLE_MAIN : GS_ROLE_OTHER;
	/* the name as the kernel knows it, read when the thread first shows
	 * up (it may be gone by the time the trace is closed) */
	gs_proc_thread_name(d->pid, tid, t->tb.name, sizeof(t->tb.name));
	t->tb.os_prio = read_os_prio(d->pid, tid, 20);
	if (gs_tidmap_put(&d->index, tid, (uint32_t)d->nthreads))
		return NULL;
	d->nthreads++;
	return t;
}

/* Writes the thread's THREAD block if it has none yet: at its first
 * flush, or before a rename. A thread renamed before its first flush (its
 * records are held back GS_DEMUX_HOLDBACK_NS) would otherwise never have
 * its earlier name in the file (record_renames: "early-N" lost in a
 * rehearsal, 1 run in about 12). */
static void declare_thread(struct gs_demux *d, struct gs_demux_thread *t)
{
	if (t->declared)
		return;
	/* a thread_start seen by then names it; otherwise the priority is
	 * read again now, a little after the thread started (threads often
	 * set it first thing) */
	if (!t->named)
		t->tb.os_prio = read_os_prio(d->pid, t->tid, t->tb.os_prio);
	gs_writer_thread(d->w, &t->tb);
	t->declared = 1;
}

struct demux_scan {
	struct gs_demux *d;
	int rename_pass;
};

static void scan_task(uint32_t tid, void *arg)
{
	struct demux_scan *sc = arg;
	struct gs_demux *d = sc->d;
	size_t before = d->nthreads;
	struct gs_demux_thread *t = thread_of(d, tid, 0);
	if (!t || !sc->rename_pass || d->nthreads != before || t->named)
		return;
	char name[sizeof(t->tb.name)];
	gs_proc_thread_name(d->pid, t->tid, name, sizeof(name));
	if (!strcmp(name, t->tb.name) || !strncmp(name, "tid-", 4))
		return;
	declare_thread(d, t);
	memset(t->tb.name, 0, sizeof(t->tb.name)); /* NUL padded */
	snprintf(t->tb.name, sizeof(t->tb.name), "%s", name);
	t->renames++;
	gs_writer_thread_update(d->w, &t->tb);
}

void gs_demux_scan(struct gs_demux *d)
{
	/* Threads name themselves after they start (prctl, a library's OS
	 * name, threading in 3.14): every 10th scan reads the names again;
	 * a change is written as a new THREAD block (readers keep the last,
	 * the file keeps the history). */
	struct demux_scan sc = { d, d->scans++ % 10 == 0 };
	gs_proc_each_task(d->pid, scan_task, &sc);
}

int gs_demux_add(struct gs_demux *d, const void *data, size_t size)
{
	const struct gsb_record *r = data;
	if (size < sizeof(*r))
		return 0;
	struct gs_demux_thread *t = thread_of(d, r->tid, r->ts_ns);
	if (!t)
		return -ENOMEM;
	if (!t->tb.start_ns)
		t->tb.start_ns = r->ts_ns;
	if (r->type == GSB_REC_RENAME) {
		const struct gsb_record_named *nr = data;
		if (size < sizeof(*nr) || !nr->name[0] || t->named ||
		    !strncmp(nr->name, t->tb.name, sizeof(nr->name)))
			return 0;
		declare_thread(d, t);
		memset(t->tb.name, 0, sizeof(t->tb.name)); /* NUL padded */
		snprintf(t->tb.name, sizeof(t->tb.name), "%.*s",
			 (int)sizeof(nr->name), nr->name);
		t->renames++;
		gs_writer_thread_update(d->w, &t->tb);
		return 0;
	}
	if (r->type == GS_EV_thread_start && size >= sizeof(struct gsb_record_named)) {
		const struct gsb_record_named *nr = data;
		/* libgil names its threads only in this event */
		if (nr->name[0])
			snprintf(t->tb.name, sizeof(t->tb.name), "%.*s",
				 (int)sizeof(nr->name), nr->name);
		t->tb.role = r->a8;
		t->tb.os_prio = (int32_t)r->a0;
		t->tb.gil_prio = (int32_t)r->a1;
		t->named = 1;
		/* Its scheduler events may have been written already (it ran
		 * before attaching), declaring it under its comm: say again. */
		if (t->declared)
			gs_writer_thread_update(d->w, &t->tb);
	}
	if (r->type == GS_EV_lost)
		t->lost += r->a0;
	if (r->type == GS_EV_stack)
		d->stack_events++;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		void *p = realloc(t->buf, cap * sizeof(*t->buf));
		if (!p)
			return -ENOMEM;
		t->buf = p;
		t->cap = cap;
	}
	memcpy(&t->buf[t->n++], r, sizeof(*r));
	if (r->ts_ns > t->max_ts)
		t->max_ts = r->ts_ns;
	d->records++;
	return 0;
}

/* Nearly sorted input: insertion sort is linear in practice and stable. */
static void sort_records(struct gs_record *r, size_t n, uint64_t *moved)
{
	for (size_t i = 1; i < n; i++) {
		if (r[i].ts_ns >= r[i - 1].ts_ns)
			continue;
		struct gs_record x = r[i];
		size_t j = i;
		while (j > 0 && r[j - 1].ts_ns > x.ts_ns) {
			r[j] = r[j - 1];
			j--;
		}
		r[j] = x;
		(*moved)++;
	}
}

static void flush_thread(struct gs_demux *d, struct gs_demux_thread *t, int final)
{
	if (!t->n)
		return;
	sort_records(t->buf, t->n, &d->reordered);
	size_t k = t->n;
	if (!final) {
		uint64_t horizon = t->max_ts > GS_DEMUX_HOLDBACK_NS
					   ? t->max_ts - GS_DEMUX_HOLDBACK_NS : 0;
		k = 0;
		while (k < t->n && t->buf[k].ts_ns <= horizon)
			k++;
		if (!k)
			return;
	}
	declare_thread(d, t);
	/* a record later than the window allows keeps its place in the file
	 * order; its time is raised to the last one written (counted above) */
	for (size_t i = 0; i < k; i++)
		if (t->buf[i].ts_ns < t->last_written)
			t->buf[i].ts_ns = t->last_written;
	gs_writer_records(d->w, t->tid, t->buf, k);
	t->last_written = t->buf[k - 1].ts_ns;
	t->records += k;
	memmove(t->buf, t->buf + k, (t->n - k) * sizeof(*t->buf));
	t->n -= k;
}

void gs_demux_flush(struct gs_demux *d, int final)
{
	for (size_t i = 0; i < d->nthreads; i++)
		flush_thread(d, &d->threads[i], final);
	if (final)
		for (size_t i = 0; i < d->nthreads; i++)
			if (d->threads[i].lost)
				gs_writer_lost(d->w, d->threads[i].tid, d->threads[i].lost);
}

void gs_demux_lost(struct gs_demux *d, uint32_t tid, uint64_t n)
{
	struct gs_demux_thread *t = thread_of(d, tid, 0);
	if (t)
		t->lost += n;
}

void gs_demux_free(struct gs_demux *d)
{
	for (size_t i = 0; i < d->nthreads; i++)
		free(d->threads[i].buf);
	free(d->threads);
	gs_tidmap_free(&d->index);
	memset(d, 0, sizeof(*d));
}

uint64_t gs_demux_last_ts(const struct gs_demux *d)
{
	uint64_t last = 0;
	for (size_t i = 0; i < d->nthreads; i++)
		if (d->threads[i].max_ts > last)
			last = d->threads[i].max_ts;
	return last;
}
