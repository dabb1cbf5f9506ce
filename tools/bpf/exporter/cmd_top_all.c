/* SPDX-License-Identifier: MIT */
/*
 * gilscope top -a: one line per traced process on the host, refreshed every
 * interval and sorted by what hurts most (time lost waiting for the GIL):
 * GIL load, wait, handoffs, failed handoffs, convoy loss. The counters are
 * the exporter's (hostwide.h, in-kernel); `gilscope top -p PID` drills
 * into one process thread by thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_common.h"
#include "cli_parse.h"
#include "clock.h"
#include "hostwide.h"
#include "hw_cli.h"
#include "session.h"
#include "json_writer.h"
#include "output_check.h"

static void usage(FILE *out)
{
	fprintf(out,
"Usage: gilscope top -a [FILTERS] [OPTIONS]\n"
"\n"
"Host-wide view: one line per libgil or CPython process (2.7, 3.x), those\n"
"running and those started later, refreshed every interval and sorted by\n"
"the time its threads lost waiting for the GIL:\n"
"  GIL%%     share of the interval the GIL was held (completed holds)\n"
"  WAIT     threads waiting on average (seconds waited per second)\n"
"  ACQ/s    acquisitions per second\n"
"  HAND/s   handoffs per second (releases while others waited)\n"
"  FAIL%%    failed handoffs: the releaser took the GIL back first\n"
"  CONVOY   ms per second lost re-acquiring after blocking calls, in waits\n"
"           over the convoy threshold\n"
"Drill into one process with `gilscope top -p PID` (per thread).\n"
"\n"
"  -a, --all              every process (this mode)\n"
"  -p, --pid PID[,PID...] only these processes\n"
"      --comm NAME        only processes named NAME\n"
"      --cgroup PATH      only processes in this cgroup v2 (a container)\n"
"  -i, --interval SEC     refresh interval (default 1)\n"
"  -d, --duration SEC     stop after SEC seconds\n"
"  -n, --rows N           at most N processes per refresh (default 20)\n"
"      --convoy-us US     convoy threshold (default 2500: half of 5 ms)\n"
"  -j, --json             one JSON object per interval, one per line\n"
"  -v, --verbose          processes found, probe placement\n"
"  -h, --help             this help\n"
"\n"
"Needs root (or CAP_BPF + CAP_PERFMON) and a kernel with BTF.\n"
"Exit: 0 ok, 1 error, 2 usage.\n");
}

struct prow {
	pid_t pid;
	unsigned long long start_time;
	struct gsa_thread tot;      /* all its threads, dead ones included */
	int threads;                /* live */
	int seen;
	/* per second over the interval */
	double load, wait, acq, hand, failed_pct, convoy_ms, wait_p_why[GSA_WHY_MAX];
	const struct gs_hw_proc *proc;
};

struct top_all {
	struct prow *prev, *cur;
	size_t nprev, ncur, cap;
};

static struct prow *find_prev(struct top_all *t, pid_t pid, unsigned long long st)
{
	for (size_t i = 0; i < t->nprev; i++)
		if (t->prev[i].pid == pid && t->prev[i].start_time == st)
			return &t->prev[i];
	return NULL;
}

static int by_hurt(const void *a, const void *b)
{
	const struct prow *x = a, *y = b;
	if (x->wait != y->wait)
		return x->wait < y->wait ? 1 : -1;
	if (x->load != y->load)
		return x->load < y->load ? 1 : -1;
	return x->pid - y->pid;
}

/* Takes a snapshot of every process and turns it into rates. */
static void sample(struct top_all *t, struct gs_hw *hw, double secs)
{
	gs_hw_refresh(hw);
	if (hw->nprocs > t->cap) {
		size_t cap = hw->nprocs * 2;
		struct prow *a = realloc(t->cur, cap * sizeof(*a));
		if (!a)
			return;
		t->cur = a;
		struct prow *b = realloc(t->prev, cap * sizeof(*b));
		if (!b)
			return;
		t->prev = b;
		t->cap = cap;
	}
	t->ncur = 0;
	for (size_t i = 0; i < hw->nprocs; i++) {
		const struct gs_hw_proc *p = &hw->procs[i];
		if (p->exited)
			continue;
		struct prow *r = &t->cur[t->ncur++];
		memset(r, 0, sizeof(*r));
		r->pid = p->pid;
		r->start_time = p->start_time;
		r->proc = p;
		for (size_t j = 0; j < p->nth; j++) {
			gs_hw_add_thread(&r->tot, &p->th[j]);
			r->threads += p->th[j].live;
		}
		const struct prow *o = find_prev(t, p->pid, p->start_time);
		struct gsa_thread z;
		memset(&z, 0, sizeof(z));
		const struct gsa_thread *a = &r->tot, *b = o ? &o->tot : &z;
		uint64_t wait = 0, pwait = 0;
		for (int w = 0; w < GSA_WHY_MAX; w++) {
			wait += a->wait_ns[w];
			pwait += b->wait_ns[w];
			r->wait_p_why[w] = (double)(a->wait_ns[w] - b->wait_ns[w]) / 1e9 / secs;
		}
		r->load = (double)(a->hold_ns - b->hold_ns) / 1e9 / secs;
		r->wait = (double)(wait - pwait) / 1e9 / secs;
		r->acq = (double)(a->acquisitions - b->acquisitions) / secs;
		uint64_t hand = a->handoffs - b->handoffs;
		r->hand = (double)hand / secs;
		r->failed_pct = hand ? 100.0 * (double)(a->handoffs_failed - b->handoffs_failed) /
				       (double)hand : 0;
		r->convoy_ms = (double)(a->convoy_loss_ns - b->convoy_loss_ns) / 1e6 / secs;
	}
	qsort(t->cur, t->ncur, sizeof(*t->cur), by_hurt);
}

static void print_text(struct top_all *t, struct gs_hw *hw, size_t lines)
{
	time_t now = time(NULL);
	char when[16];
	strftime(when, sizeof(when), "%H:%M:%S", localtime(&now));
	size_t idle = 0;
	for (size_t i = 0; i < t->ncur; i++)
		idle += t->cur[i].tot.acquisitions == 0;
	printf("%s  %zu processes traced (%zu that never took the GIL not shown), %zu probed "
	       "files  (drill in: gilscope top -p PID)\n", when, t->ncur, idle, hw->nbins);
	printf("%8s %-15s %-7s %4s %6s %6s %8s %7s %6s %8s\n", "PID", "COMM", "PYTHON",
	       "THR", "GIL%", "WAIT", "ACQ/s", "HAND/s", "FAIL%", "CONVOY");
	size_t shown = 0;
	for (size_t i = 0; i < t->ncur && shown < lines; i++) {
		const struct prow *r = &t->cur[i];
		if (!r->tot.acquisitions)
			continue;
		shown++;
		printf("%8d %-15.15s %-7s %4d %6.1f %6.2f %8.0f %7.0f %6.1f %6.1fms\n",
		       (int)r->pid, r->proc->comm,
		       r->proc->python[0] ? r->proc->python : r->proc->runtime, r->threads,
		       100.0 * r->load, r->wait, r->acq, r->hand, r->failed_pct, r->convoy_ms);
	}
	if (t->ncur - idle > shown)
		printf("... %zu more (-n)\n", t->ncur - idle - shown);
	printf("\n");
	fflush(stdout);
}

static void print_json(struct top_all *t, double secs)
{
	struct json_writer j;
	json_init(&j, stdout, 0);
	json_begin_object(&j, NULL);
	json_double(&j, "interval_s", secs);
	json_begin_array(&j, "processes");
	for (size_t i = 0; i < t->ncur; i++) {
		const struct prow *r = &t->cur[i];
		json_begin_object(&j, NULL);
		json_int(&j, "pid", r->pid);
		json_string(&j, "comm", r->proc->comm);
		json_string(&j, "runtime", r->proc->runtime);
		json_string(&j, "python", r->proc->python);
		json_string(&j, "cgroup", r->proc->cgroup);
		json_int(&j, "threads", r->threads);
		json_double(&j, "gil_load", r->load);
		json_double(&j, "wait_threads", r->wait);
		json_double(&j, "wait_after_blocking", r->wait_p_why[1]);
		json_double(&j, "acquisitions_per_s", r->acq);
		json_double(&j, "handoffs_per_s", r->hand);
		json_double(&j, "failed_handoffs_pct", r->failed_pct);
		json_double(&j, "convoy_loss_ms_per_s", r->convoy_ms);
		json_uint(&j, "acquisitions_total", r->tot.acquisitions);
		json_end(&j);
	}
	json_end(&j);
	json_end(&j);
	printf("\n");
	fflush(stdout);
}

int gs_top_all(int argc, char **argv);

int gs_top_all(int argc, char **argv)
{
	const char *prog = "gilscope top -a";
	struct gs_hw_opts ho = { .prog = prog, .convoy_ns = 2500000, .grace_s = 5,
				 .rescan_s = 5 };
	double interval = 1, duration = 0;
	size_t lines = 20;
	int json = 0, c;
	enum { O_CONVOY = GS_HW_O_FIRST_FREE };
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		GS_HW_LONGOPTS,
		CLI_OPT_INTERVAL,
		{ "rows", required_argument, NULL, 'n' }, /* as diff's -n */
		{ "lines", required_argument, NULL, 'n' },
		{ "convoy-us", required_argument, NULL, O_CONVOY },
		CLI_OPT_JSON,
		{ 0 },
	};
	optind = 1;
	while ((c = gs_hw_getopt(argc, argv, "ap:i:d:n:jvh", opts, &ho, &duration)) != -1) {
		switch (c) {
		case GS_HW_BAD: return 2;
		case 'a': break;
		case 'i':
			if (gs_parse_seconds(prog, "-i", optarg, &interval))
				return 2;
			break;
		case 'n': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || v <= 0) {
				fprintf(stderr, "%s: -n %s: want a number of lines > 0\n", prog, optarg);
				return 2;
			}
			lines = (size_t)v;
			break;
		}
		case O_CONVOY:
			if (gs_hw_parse_convoy(prog, optarg, &ho.convoy_ns))
				return 2;
			break;
		case 'j': json = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s' (-a traces the whole host; "
				"-p limits it; `gilscope top -- CMD` starts one program)\n",
			prog, argv[optind]);
		free(ho.pids);
		return 2;
	}
	if (gs_hw_check_comm(prog, ho.comm)) {
		free(ho.pids);
		return 2;
	}
	gs_session_signals(); /* SIGINT/SIGTERM/SIGHUP stop; SIGPIPE ignored */

	struct gs_hw hw;
	if (gs_hw_start(&hw, &ho)) {
		free(ho.pids);
		return 1;
	}
	struct top_all t = { 0 };
	int lost_output = 0;
	uint64_t t0 = gs_now_ns(), last = t0;
	uint64_t next = t0 + (uint64_t)(interval * 1e9);
	sample(&t, &hw, 1); /* the baseline */
	while (!gs_session_stop) {
		struct pollfd pf = { .fd = gs_hw_notice_fd(&hw), .events = POLLIN };
		poll(&pf, 1, 50);
		gs_hw_poll(&hw);
		uint64_t now = gs_now_ns();
		int done = duration > 0 && now - t0 >= (uint64_t)(duration * 1e9);
		if (now >= next || done || gs_session_stop) {
			struct prow *tmp = t.prev;
			t.prev = t.cur;
			t.nprev = t.ncur;
			t.cur = tmp;
			double secs = (double)(now - last) / 1e9;
			sample(&t, &hw, secs > 0 ? secs : 1);
			if (json)
				print_json(&t, secs);
			else
				print_text(&t, &hw, lines);
			last = now;
			next = now + (uint64_t)(interval * 1e9);
			/* each interval reaches its reader now, or top stops */
			if (gs_output_flush(stdout, prog, "standard output")) {
				lost_output = 1;
				break;
			}
		}
		if (done)
			break;
	}
	gs_hw_stop(&hw);
	free(t.prev);
	free(t.cur);
	free(ho.pids);
	return lost_output ? 1 : 0;
}
