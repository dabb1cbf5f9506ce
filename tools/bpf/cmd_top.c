/* SPDX-License-Identifier: MIT */
/*
 * gilscope top: a live per-thread view of a GIL, refreshed every interval
 * like klockstat or runqlat: held %, wait %, handoffs, failed handoffs,
 * convoy losses, and log2 histograms of hold and wait times kept in the
 * kernel (no event stream: the probes only update per-thread counters).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "clock.h"
#include "cost_meter.h"
#include "cli_common.h"
#include "cli_parse.h"
#include "gil_events.h"
#include "gilscope_bpf.h" /* before the skeleton: its rodata types */
#include "gilscope.skel.h"
#include "json_writer.h"
#include "log2hist.h"
#include "procfs.h"
#include "output_check.h"
#include "nativestack_load.h"
#include "pystack_load.h"
#include "session.h"

int cmd_top(int argc, char **argv);
int gs_top_all(int argc, char **argv); /* exporter/cmd_top_all.c: top -a */

static void usage(FILE *out)
{
	fprintf(out,
"Usage: gilscope top [-p PID | -- CMD [ARGS...]] [OPTIONS]\n"
"       gilscope top -a [FILTERS] [OPTIONS]   (every process: top -a --help)\n"
"\n"
"Live per-thread view of the GIL of a libgil program or an unmodified\n"
"CPython (2.7, 3.2-3.13), refreshed every interval: share of the interval\n"
"each thread held and waited for the GIL, acquisitions, handoffs (releases\n"
"with waiters), failed handoffs (the releaser took it back first), convoy\n"
"losses (re-acquire after a blocking call that waited >= the convoy\n"
"threshold), and log2 histograms of hold and wait times.\n"
"\n"
"  -p, --pid PID          attach to a running process\n"
"  -- CMD [ARGS...]       start CMD with the probes in; stop when it exits\n"
"  -i, --interval TIME    refresh interval (default 1s; 500ms, 2 = 2s)\n"
"  -d, --duration TIME    stop after TIME (a started CMD gets SIGTERM)\n"
"  -H, --thread-hist      histograms per thread (default: all threads)\n"
"      --no-hist          no histograms\n"
"      --convoy-us US     convoy threshold in us, or a time (default 2500:\n"
"                         half of 5 ms)\n"
"      --probes SET       light (default) or full (see gilscope record)\n"
"  -j, --json             one JSON object per interval, one per line\n"
"      --stacks           where each thread last released and asked for the\n"
"                       GIL: its innermost Python frame (CPython 2.7, 3.6-3.13)\n"
"      --native           there too: the innermost native frames (by frame\n"
"                       pointers; docs/tutorial-stacks.md, \"Native frames\")\n"
"  -v, --verbose          libbpf debug output and probe placement\n"
"  -h, --help             this help\n"
"\n"
"Needs root (or CAP_BPF + CAP_PERFMON) and a kernel with BTF.\n"
"Ctrl-C (SIGINT) or SIGTERM ends it after a last report: exit 0.\n"
"Exit: 0 ok, 1 error, 2 usage (docs/cli.md).\n");
}

struct tsample {
	__u32 tid;
	struct gsb_thread_stats s;
	__u64 held_open, wait_open; /* hold/wait in progress at the sample */
	int live;
	char comm[32];
};

struct thread_name {
	__u32 tid;
	char name[GSB_NAME_LEN];
};

struct top_state {
	struct gs_session *sess;
	struct ring_buffer *rb;       /* thread_start names (libgil) */
	struct thread_name *names;
	size_t nnames, capnames;
	struct tsample *prev, *cur;
	size_t nprev, ncur, cap;
	uint64_t prev_cnt[GSB_CNT_MAX];
	uint64_t prev_ns;
	uint64_t prev_cpu_ns;   /* the target's CPU time at prev_ns */
	uint64_t prev_sys_ns;   /* ... of which system time */
	int prev_cpu_ok;
	struct gs_cost_meter meter;   /* per-hit costs measured now */
	struct gs_native *native;     /* --native: symbolised stacks */
};

static void add_name(struct top_state *t, __u32 tid, const char *name);

static int on_name(void *ctx, void *data, size_t size)
{
	struct top_state *t = ctx;
	const struct gsb_record_named *n = data;
	if (size < sizeof(*n) || n->r.type != GS_EV_thread_start || !n->name[0])
		return 0;
	add_name(t, n->r.tid, n->name);
	return 0;
}

static void add_name(struct top_state *t, __u32 tid, const char *name)
{
	if (t->nnames == t->capnames) {
		size_t cap = t->capnames ? t->capnames * 2 : 16;
		void *p = realloc(t->names, cap * sizeof(*t->names));
		if (!p)
			return;
		t->names = p;
		t->capnames = cap;
	}
	t->names[t->nnames].tid = tid;
	snprintf(t->names[t->nnames].name, GSB_NAME_LEN, "%.*s", GSB_NAME_LEN - 1,
		 name);
	t->nnames++;
}

/* Threads may be gone by the time a line is printed (the target exited
 * mid-interval): note every thread's name while it runs. */
static void note_task(uint32_t tid, void *arg)
{
	struct top_state *t = arg;
	for (size_t i = 0; i < t->nnames; i++)
		if (t->names[i].tid == tid)
			return;
	char comm[GSB_NAME_LEN];
	if (!gs_proc_comm((uint32_t)t->sess->pid, tid, comm, sizeof(comm)))
		add_name(t, (__u32)tid, comm);
}

static void scan_threads(struct top_state *t)
{
	gs_proc_each_task((uint32_t)t->sess->pid, note_task, t);
}

static void read_comm(const struct top_state *t, __u32 tid, char *out,
		      size_t len)
{
	pid_t pid = t->sess->pid;
	const struct tsample *prev = t->prev;
	size_t nprev = t->nprev;
	for (size_t i = t->nnames; i-- > 0;)
		if (t->names[i].tid == tid) {
			snprintf(out, len, "%s", t->names[i].name);
			return;
		}
	/* threads name themselves after they start: the live name first,
	 * the last one seen once the thread is gone */
	if (!gs_proc_comm((uint32_t)pid, tid, out, len))
		return;
	for (size_t i = 0; i < nprev; i++)
		if (prev[i].tid == tid) {
			snprintf(out, len, "%s", prev[i].comm);
			return;
		}
	gs_proc_thread_name((uint32_t)pid, tid, out, len);
}

static int sample(struct top_state *t, uint64_t now)
{
	if (t->rb)
		ring_buffer__consume(t->rb);
	int sfd = bpf_map__fd(t->sess->skel->maps.stats);
	int tfd = bpf_map__fd(t->sess->skel->maps.threads);
	__u32 key, next, *pk = NULL;
	t->ncur = 0;
	while (!bpf_map_get_next_key(sfd, pk, &next)) {
		key = next;
		pk = &key;
		if (t->ncur == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 64;
			void *a = realloc(t->cur, cap * sizeof(*t->cur));
			void *b = realloc(t->prev, cap * sizeof(*t->prev));
			if (a)
				t->cur = a;
			if (b)
				t->prev = b;
			if (!a || !b)
				return -ENOMEM;
			t->cap = cap;
		}
		struct tsample *s = &t->cur[t->ncur];
		memset(s, 0, sizeof(*s));
		s->tid = key;
		if (bpf_map_lookup_elem(sfd, &key, &s->s))
			continue;
		struct gsb_thread_state st;
		if (!bpf_map_lookup_elem(tfd, &key, &st)) {
			/* count what is under way, so a thread holding for the
			 * whole interval does not show 0 % */
			if (st.acq_ts && now > st.acq_ts)
				s->held_open = now - st.acq_ts;
			if (st.req_ts && now > st.req_ts)
				s->wait_open = now - st.req_ts;
		}
		read_comm(t, key, s->comm, sizeof(s->comm));
		t->ncur++;
	}
	return 0;
}

static const struct tsample *find_prev(const struct top_state *t, __u32 tid)
{
	for (size_t i = 0; i < t->nprev; i++)
		if (t->prev[i].tid == tid)
			return &t->prev[i];
	return NULL;
}

struct tdelta {
	__u32 tid;
	const char *comm;
	double held_pct, wait_pct;
	uint64_t acq, contended, handoffs, failed, convoy, forced, blocking;
	__u32 hold[GSB_HIST_SLOTS], wait[GSB_HIST_SLOTS];
	__u32 release_stack, request_stack; /* --stacks: the last ones */
	__u32 release_native, request_native; /* --native */
};

static void delta(const struct tsample *c, const struct tsample *p,
		  double interval_ns, struct tdelta *d)
{
	static const struct tsample zero;
	if (!p)
		p = &zero;
	memset(d, 0, sizeof(*d));
	d->tid = c->tid;
	d->comm = c->comm;
	double held = (double)(c->s.held_ns + c->held_open) -
		      (double)(p->s.held_ns + p->held_open);
	double wait = (double)(c->s.wait_ns + c->wait_open) -
		      (double)(p->s.wait_ns + p->wait_open);
	d->held_pct = held > 0 ? 100.0 * held / interval_ns : 0;
	d->wait_pct = wait > 0 ? 100.0 * wait / interval_ns : 0;
	if (d->held_pct > 100)
		d->held_pct = 100;
	if (d->wait_pct > 100)
		d->wait_pct = 100;
	d->acq = c->s.acquisitions - p->s.acquisitions;
	d->contended = c->s.contended - p->s.contended;
	d->handoffs = c->s.handoffs - p->s.handoffs;
	d->failed = c->s.failed_handoffs - p->s.failed_handoffs;
	d->convoy = c->s.convoy_losses - p->s.convoy_losses;
	d->forced = c->s.forced_releases - p->s.forced_releases;
	d->blocking = c->s.blocking_releases - p->s.blocking_releases;
	d->release_stack = c->s.last_release_stack;
	d->request_stack = c->s.last_request_stack;
	d->release_native = c->s.last_release_native;
	d->request_native = c->s.last_request_native;
	for (int i = 0; i < GSB_HIST_SLOTS; i++) {
		d->hold[i] = c->s.hold_hist[i] - p->s.hold_hist[i];
		d->wait[i] = c->s.wait_hist[i] - p->s.wait_hist[i];
	}
}

/* The kernel's slot 0 is "under 1 us" and slot k (k >= 1) is
 * [2^(k-1), 2^k) us; printed in the one layout of lib/log2hist.h, where
 * row 0 is 0 -> 1 us. */
static void print_log2_hist(const __u32 *vals, const char *title)
{
	uint64_t slot[GSB_HIST_SLOTS] = { 0 };
	for (int i = 0; i < GSB_HIST_SLOTS; i++)
		slot[i ? i - 1 : 0] += vals[i];
	gs_print_log2_hist(stdout, slot, GSB_HIST_SLOTS, title);
}

/* The cost's parts, as record prints them: what a hit cost and whether it
 * was measured now (cost_meter.h) or is a constant. */
static void describe_cost(char *buf, size_t len, const struct gs_probe_cost *pc,
			  double slowdown)
{
	char sd[48] = "";
	if (slowdown >= 0)
		snprintf(sd, sizeof(sd), "slowdown ~%.1f%%; ", slowdown);
	if (pc->calibrated)
		snprintf(buf, len, " (%straps %.0f ns + %.0f ns of cache refill, "
			 "a return %.0f ns more, measured now in %d samples, + %.2f ms "
			 "in the BPF programs)", sd, pc->trap_ns, pc->refill_ns,
			 pc->ret_ns, pc->samples, pc->bpf_ns / 1e6);
	else
		snprintf(buf, len, " (%sper-hit constants: no calibration)", sd);
}

static void print_text(struct top_state *t, struct tdelta *d, size_t n,
		       double secs, double cost_pct, double slowdown,
		       const struct gs_probe_cost *pc, int hist, int per_thread)
{
	char tbuf[16];
	time_t now = time(NULL);
	strftime(tbuf, sizeof(tbuf), "%H:%M:%S", localtime(&now));
	char sd[200];
	describe_cost(sd, sizeof(sd), pc, slowdown);
	printf("\n%s  %s  PID %d  interval %.2f s  probe cost ~%.2f%%%s\n", tbuf,
	       t->sess->target.policy_name, (int)t->sess->pid, secs, cost_pct, sd);
	printf("%8s %-16s %6s %6s %8s %8s %7s %7s %7s %8s\n", "TID", "COMM", "HELD%",
	       "WAIT%", "ACQ", "HANDOFF", "FAILED", "CONVOY", "FORCED", "BLOCKING");
	__u32 hold[GSB_HIST_SLOTS] = { 0 }, wait[GSB_HIST_SLOTS] = { 0 };
	for (size_t i = 0; i < n; i++) {
		printf("%8u %-16.16s %6.1f %6.1f %8llu %8llu %7llu %7llu %7llu %8llu\n",
		       d[i].tid, d[i].comm, d[i].held_pct, d[i].wait_pct,
		       (unsigned long long)d[i].acq, (unsigned long long)d[i].handoffs,
		       (unsigned long long)d[i].failed, (unsigned long long)d[i].convoy,
		       (unsigned long long)d[i].forced, (unsigned long long)d[i].blocking);
		if (t->sess->opts->pystacks) {
			char rel[300], req[300];
			gs_pystack_innermost(t->sess->skel, d[i].release_stack, rel, sizeof(rel));
			gs_pystack_innermost(t->sess->skel, d[i].request_stack, req, sizeof(req));
			printf("%8s released in %s; last asked in %s\n", "", rel, req);
		}
		if (t->native) {
			char rel[300], req[300];
			gs_native_describe(t->native, d[i].release_native, rel, sizeof(rel));
			gs_native_describe(t->native, d[i].request_native, req, sizeof(req));
			printf("%8s native: released in %s; last asked in %s\n", "", rel, req);
		}
		for (int k = 0; k < GSB_HIST_SLOTS; k++) {
			hold[k] += d[i].hold[k];
			wait[k] += d[i].wait[k];
		}
	}
	if (!hist)
		return;
	if (per_thread) {
		for (size_t i = 0; i < n; i++) {
			char title[64];
			printf("\nthread %u (%s)\n", d[i].tid, d[i].comm);
			snprintf(title, sizeof(title), "hold usecs");
			print_log2_hist(d[i].hold, title);
			snprintf(title, sizeof(title), "wait usecs");
			print_log2_hist(d[i].wait, title);
		}
	} else {
		printf("\n");
		print_log2_hist(hold, "hold usecs");
		print_log2_hist(wait, "wait usecs");
	}
	fflush(stdout);
}

static void json_hist(struct json_writer *j, const char *key, const __u32 *v)
{
	int last = 0;
	for (int i = 0; i < GSB_HIST_SLOTS; i++)
		if (v[i])
			last = i + 1;
	json_begin_array(j, key);
	for (int i = 0; i < last; i++)
		json_uint(j, NULL, v[i]);
	json_end(j);
}

static void print_json(struct top_state *t, struct tdelta *d, size_t n,
		       double secs, double cost_pct, double slowdown,
		       const struct gs_probe_cost *pc, uint64_t now_ns)
{
	struct json_writer j;
	json_init(&j, stdout, 0);
	json_begin_object(&j, NULL);
	json_uint(&j, "ts_ns", now_ns);
	json_double(&j, "interval_s", secs);
	json_int(&j, "pid", t->sess->pid);
	json_string(&j, "runtime", t->sess->target.policy_name);
	json_double(&j, "probe_cost_pct", cost_pct);
	if (slowdown >= 0)
		json_double(&j, "probe_slowdown_pct", slowdown);
	/* the parts, as record prints them (cost_meter.h) */
	json_begin_object(&j, "probe_cost");
	json_bool(&j, "calibrated", pc->calibrated);
	json_double(&j, "trap_ns", pc->trap_ns);
	json_double(&j, "return_ns", pc->ret_ns);
	json_double(&j, "refill_ns", pc->refill_ns);
	json_uint(&j, "traps", pc->traps);
	json_int(&j, "samples", pc->samples);
	json_double(&j, "total_ns", pc->total_ns);
	json_double(&j, "traps_ns", pc->traps_ns);
	json_double(&j, "bpf_ns", pc->bpf_ns);
	json_double(&j, "stacks_ns", pc->stacks_ns);
	json_uint(&j, "hits", pc->hits);
	json_uint(&j, "return_hits", pc->return_hits);
	json_uint(&j, "single_stepped_hits", pc->single_stepped_hits);
	json_end(&j);
	json_string(&j, "hist_unit", "log2 usecs: slot 0 = 0, slot k = [2^(k-1), 2^k)");
	json_begin_array(&j, "threads");
	for (size_t i = 0; i < n; i++) {
		json_begin_object(&j, NULL);
		json_uint(&j, "tid", d[i].tid);
		json_string(&j, "comm", d[i].comm);
		if (t->sess->opts->pystacks) {
			char where[300];
			gs_pystack_innermost(t->sess->skel, d[i].release_stack, where,
					     sizeof(where));
			json_string(&j, "released_in", where);
			gs_pystack_innermost(t->sess->skel, d[i].request_stack, where,
					     sizeof(where));
			json_string(&j, "asked_in", where);
		}
		if (t->native) {
			char where[300];
			gs_native_describe(t->native, d[i].release_native, where,
					   sizeof(where));
			json_string(&j, "native_released_in", where);
			gs_native_describe(t->native, d[i].request_native, where,
					   sizeof(where));
			json_string(&j, "native_asked_in", where);
		}
		json_double(&j, "held_pct", d[i].held_pct);
		json_double(&j, "wait_pct", d[i].wait_pct);
		json_uint(&j, "acquisitions", d[i].acq);
		json_uint(&j, "contended", d[i].contended);
		json_uint(&j, "handoffs", d[i].handoffs);
		json_uint(&j, "failed_handoffs", d[i].failed);
		json_uint(&j, "convoy_losses", d[i].convoy);
		json_uint(&j, "forced_releases", d[i].forced);
		json_uint(&j, "blocking_releases", d[i].blocking);
		json_hist(&j, "hold_hist", d[i].hold);
		json_hist(&j, "wait_hist", d[i].wait);
		json_end(&j);
	}
	json_end(&j);
	json_end(&j);
	fflush(stdout);
}

static void report(struct top_state *t, int json, int hist, int per_thread)
{
	uint64_t now = gs_now_ns();
	if (sample(t, now))
		return;
	gs_native_poll(t->native, t->sess->skel);
	double interval_ns = (double)(now - t->prev_ns);
	uint64_t cnt[GSB_CNT_MAX], dc[GSB_CNT_MAX];
	gs_session_counters(t->sess, cnt);
	for (int k = 0; k < GSB_CNT_MAX; k++)
		dc[k] = cnt[k] - t->prev_cnt[k];
	/* priced as record prices its run (cost_meter.h); top's stack walks
	 * are not counted one by one, so only the calibration sees them */
	struct gs_probe_cost pc;
	gs_cost_meter_read(&t->meter, dc, 0, &pc);
	double cost_ns = pc.total_ns;
	double cost_pct = interval_ns > 0 ? 100.0 * cost_ns / interval_ns : 0;
	uint64_t cpu_ns = 0, user_ns = 0, sys_ns = 0;
	int cpu_ok = !gs_proc_cpu_split_ns((uint32_t)t->sess->pid, &user_ns, &sys_ns);
	cpu_ns = user_ns + sys_ns;
	double quiet_ns, woke_ns;
	gs_session_retake_medians(t->sess, &quiet_ns, &woke_ns);
	double slowdown = cpu_ok && t->prev_cpu_ok && cpu_ns > t->prev_cpu_ns
		? gs_session_estimate(dc, cost_ns, pc.refill_ns * (double)pc.traps,
				      (double)(cpu_ns - t->prev_cpu_ns),
				      sys_ns > t->prev_sys_ns
					      ? (double)(sys_ns - t->prev_sys_ns) : 0,
				      interval_ns, quiet_ns, woke_ns, 0, NULL) : -1;

	struct tdelta *d = calloc(t->ncur ? t->ncur : 1, sizeof(*d));
	size_t n = 0;
	for (size_t i = 0; d && i < t->ncur; i++) {
		delta(&t->cur[i], find_prev(t, t->cur[i].tid), interval_ns, &d[n]);
		/* threads idle this interval stay off the table */
		if (d[n].acq || d[n].held_pct > 0.05 || d[n].wait_pct > 0.05)
			n++;
	}
	if (d) {
		if (json)
			print_json(t, d, n, interval_ns / 1e9, cost_pct, slowdown, &pc,
				   now);
		else
			print_text(t, d, n, interval_ns / 1e9, cost_pct, slowdown, &pc,
				   hist, per_thread);
	}
	free(d);
	struct tsample *tmp = t->prev;
	t->prev = t->cur;
	t->cur = tmp;
	t->nprev = t->ncur;
	memcpy(t->prev_cnt, cnt, sizeof(cnt));
	t->prev_ns = now;
	t->prev_cpu_ns = cpu_ns;
	t->prev_sys_ns = sys_ns;
	t->prev_cpu_ok = cpu_ok;
}

int cmd_top(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_OPT_PID,
		CLI_OPT_INTERVAL,
		CLI_OPT_DURATION,
		{ "thread-hist", no_argument, NULL, 'H' },
		{ "no-hist", no_argument, NULL, 'N' },
		{ "convoy-us", required_argument, NULL, 'C' },
		{ "probes", required_argument, NULL, 'P' },
		CLI_OPT_JSON,
		{ "stacks", no_argument, NULL, 'K' },
		{ "native", no_argument, NULL, 'X' },
		CLI_OPT_VERBOSE,
		CLI_OPT_HELP,
		{ NULL, 0, NULL, 0 },
	};
	struct gs_session_opts so = {
		.stats = 1, .convoy_ns = 2500000, .prog = "gilscope top",
	};
	double interval = 1, duration = 0;
	int json = 0, hist = 1, per_thread = 0, c;

	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "-a") || !strcmp(argv[i], "--all"))
			return gs_top_all(argc, argv);

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+p:i:d:Hjvh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (gs_parse_pid(so.prog, optarg, &so.pid))
				return 2;
			break;
		case 'i':
			if (gs_parse_seconds(so.prog, "-i", optarg, &interval))
				return 2;
			break;
		case 'd':
			if (gs_parse_seconds(so.prog, "-d", optarg, &duration))
				return 2;
			break;
		case 'H': per_thread = 1; break;
		case 'N': hist = 0; break;
		case 'C':
			if (cli_parse_time("top", "--convoy-us", optarg, CLI_US, 1,
					   UINT64_MAX, &so.convoy_ns))
				return 2;
			break;
		case 'P':
			if (gs_parse_probe_set(so.prog, optarg, &so.probes))
				return 2;
			break;
		case 'j': json = 1; break;
		case 'K': so.pystacks = 1; break;
		case 'X': so.native = 1; break;
		case 'v': so.verbose = 1; break;
		case 'h': usage(stdout); return 0;
		default: return cli_bad_option("top", argv, opts, NULL);
		}
	}
	if (optind < argc)
		so.cmd = argv + optind;
	if ((!so.pid) == !so.cmd) {
		fprintf(stderr, "%s: give either -p PID or -- CMD [ARGS...]\n\n", so.prog);
		usage(stderr);
		return 2;
	}

	gs_session_signals();
	struct gs_session s;
	if (gs_session_start(&s, &so))
		return 1;
	gs_session_describe(&s, stderr);
	if (so.verbose)
		gs_session_describe_sites(&s, stderr);

	struct top_state t = { .sess = &s };
	t.native = so.native ? gs_native_new(s.pid) : NULL;
	t.rb = ring_buffer__new(bpf_map__fd(s.skel->maps.rb), on_name, &t, NULL);
	t.prev_ns = gs_now_ns();
	uint64_t user0 = 0;
	t.prev_cpu_ok = !gs_proc_cpu_split_ns((uint32_t)t.sess->pid, &user0,
					      &t.prev_sys_ns);
	t.prev_cpu_ns = user0 + t.prev_sys_ns;
	uint64_t deadline = duration > 0 ? t.prev_ns + (uint64_t)(duration * 1e9) : 0;
	uint64_t next = t.prev_ns + (uint64_t)(interval * 1e9);
	/* what a hit costs now, as in record: a first sample before the
	 * counting starts, then as record (cost_meter.h) */
	gs_cost_meter_start(&t.meter, &s);
	gs_session_go(&s);

	int timed_out = 0, alive = 1, lost_output = 0;
	unsigned ticks = 0;
	while (!gs_session_stop) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		uint64_t now = gs_now_ns();
		scan_threads(&t);
		/* symbolised while the process and its mappings are there */
		++ticks;
		if (t.native && ticks % 5 == 0)
			gs_native_poll(t.native, s.skel);
		/* calibration samples as in record */
		if (gs_cost_meter_due(&t.meter))
			gs_cost_meter_sample(&t.meter);
		gs_cost_meter_tick(&t.meter);
		alive = gs_session_alive(&s);
		if (deadline && now >= deadline)
			timed_out = 1;
		if (now >= next || !alive || timed_out) {
			report(&t, json, hist, per_thread);
			next = now + (uint64_t)(interval * 1e9);
			/* each interval reaches its reader now, or top stops */
			if (gs_output_flush(stdout, so.prog, "standard output")) {
				lost_output = 1;
				break;
			}
		}
		if (!alive || timed_out)
			break;
	}
	if (gs_session_stop && !lost_output)
		report(&t, json, hist, per_thread); /* what the last part showed */
	gs_cost_meter_end(&t.meter);
	free(t.prev);
	free(t.cur);
	free(t.names);
	gs_native_free(t.native);
	ring_buffer__free(t.rb);
	gs_session_end(&s, gs_session_stop || timed_out || lost_output);
	return lost_output ? 1 : 0;
}
