/* SPDX-License-Identifier: MIT */
/*
 * gilscope record -a: one trace per libgil or CPython process of the host
 * into a directory, for the processes running now and those started later
 * (found as the exporter finds them: hostwide.h in discovery-only mode).
 * Each process is recorded by its own `gilscope record -p PID` child, so a
 * trace is exactly what single-process recording writes (PROBES block, lost
 * counts, the same report); a child stops when its process exits, all of
 * them at SIGINT/SIGTERM or after -d, each leaving a complete trace.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_common.h"
#include "cli_parse.h"
#include "clock.h"
#include "hostwide.h"
#include "hw_cli.h"
#include "session.h"

int gs_record_all(int argc, char **argv);

extern char **environ;
static void usage(FILE *out)
{
	fprintf(out,
"Usage: gilscope record -a -o DIR [FILTERS] [OPTIONS]\n"
"\n"
"Records every libgil and CPython process of the host, one trace per\n"
"process in DIR (PID-COMM.gst), those running now and those started later\n"
"(found at their exec; their first ~0.1-0.5 s are missed while the probes\n"
"go in). Each trace is the one `gilscope record -p PID` writes; read it with\n"
"gilscope report. A process's recording ends when it exits.\n"
"\n"
"  -a, --all              every process (this mode)\n"
"  -o, --output DIR       directory for the traces (created if needed)\n"
"  -p, --pid PID[,PID...] only these processes\n"
"      --comm NAME        only processes named NAME\n"
"      --cgroup PATH      only processes in this cgroup v2 (a container)\n"
"  -d, --duration SEC     stop after SEC seconds\n"
"      --no-sched         no scheduler events (each recorder otherwise runs\n"
"                         its own sched_switch/wakeup programs)\n"
"      --probes SET       light (default) or full, as gilscope record\n"
"  -b, --buffer MIB       ring buffer per recorder (default 16)\n"
"  -v, --verbose          processes found, recorders started\n"
"  -h, --help             this help\n"
"\n"
"Needs root (or CAP_BPF + CAP_PERFMON) and a kernel with BTF.\n"
"A process that exits while its recorder attaches is skipped with a note.\n"
"Exit: 0 ok, 1 error (a recorder failed), 2 usage.\n");
}

struct recorder {
	pid_t target;
	unsigned long long start_time;
	pid_t child;
	int done, status;
	int vanished; /* exited while its recorder attached: skipped */
};

static int process_named(const char *comm, const char *want)
{
	return !want || !strcmp(comm, want);
}

/* 1 if the record -p child of r failed. A process that exits while its
 * recorder attaches (the uprobe attach then fails with ESRCH) is no
 * failure of record -a: it is skipped with a note. */
static int recorder_failed(const char *prog, struct recorder *r)
{
	if (WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0)
		return 0;
	if (!gs_hw_proc_running(r->target, r->start_time)) {
		fprintf(stderr, "%s: PID %d exited while it was being recorded;"
			" skipped (its recorder's message is above)\n", prog,
			(int)r->target);
		r->vanished = 1;
		return 0;
	}
	fprintf(stderr, "%s: the recorder of PID %d failed\n", prog, (int)r->target);
	return 1;
}

int gs_record_all(int argc, char **argv)
{
	const char *prog = "gilscope record -a";
	struct gs_hw_opts ho = { .prog = prog, .grace_s = 1, .rescan_s = 1,
				 .discover_only = 1, .convoy_ns = 2500000 };
	const char *outdir = NULL, *probes = NULL, *buffer = NULL;
	double duration = 0;
	int no_sched = 0, c;
	enum { O_NOSCHED = GS_HW_O_FIRST_FREE, O_PROBES };
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		CLI_OPT_OUTPUT,
		GS_HW_LONGOPTS,
		{ "no-sched", no_argument, NULL, O_NOSCHED },
		{ "probes", required_argument, NULL, O_PROBES },
		{ "buffer", required_argument, NULL, 'b' },
		{ 0 },
	};
	optind = 1;
	while ((c = gs_hw_getopt(argc, argv, "ao:p:d:b:vh", opts, &ho, &duration)) != -1) {
		switch (c) {
		case GS_HW_BAD: return 2;
		case 'a': break;
		case 'o': outdir = optarg; break;
		case O_NOSCHED: no_sched = 1; break;
		case O_PROBES: probes = optarg; break;
		case 'b': buffer = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!outdir || optind < argc) {
		fprintf(stderr, optind < argc
			? "%s: unexpected argument '%s' (-a records the whole host; -p limits it)\n"
			: "%s: -o DIR is required (one trace per process goes there)\n",
			prog, optind < argc ? argv[optind] : "");
		free(ho.pids);
		return 2;
	}
	if (mkdir(outdir, 0755) && errno != EEXIST) {
		fprintf(stderr, "%s: -o %s: %s\n", prog, outdir, strerror(errno));
		free(ho.pids);
		return 1;
	}
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0) {
		fprintf(stderr, "%s: /proc/self/exe: %s\n", prog, strerror(errno));
		free(ho.pids);
		return 1;
	}
	self[n] = 0;

	gs_session_signals(); /* SIGINT/SIGTERM/SIGHUP stop; SIGPIPE ignored */

	/* the filters are applied here (no GIL probe of ours to filter in) */
	const char *comm = ho.comm, *cgroup = NULL;
	char cgdir[4096], cgrel[4096];
	if (ho.cgroup) {
		if (gs_hw_cgroup_path(prog, ho.cgroup, cgdir, sizeof(cgdir), cgrel, sizeof(cgrel))) {
			free(ho.pids);
			return 1;
		}
		cgroup = cgrel;
	}
	ho.comm = NULL;
	ho.cgroup = NULL;
	struct gs_hw hw;
	if (gs_hw_start(&hw, &ho)) {
		free(ho.pids);
		return 1;
	}
	struct recorder *rec = NULL;
	size_t nrec = 0, caprec = 0;
	int failed = 0;
	uint64_t t0 = gs_now_ns();
	for (;;) {
		struct pollfd pf = { .fd = gs_hw_notice_fd(&hw), .events = POLLIN };
		poll(&pf, 1, 50);
		gs_hw_poll(&hw);
		gs_hw_refresh(&hw);
		if (gs_session_stop || (duration > 0 && gs_now_ns() - t0 >= (uint64_t)(duration * 1e9)))
			break;
		for (size_t i = 0; i < hw.nprocs; i++) {
			const struct gs_hw_proc *p = &hw.procs[i];
			int known = 0;
			if (p->exited)
				continue;
			for (size_t r = 0; r < nrec && !known; r++)
				known = (rec[r].target == p->pid && rec[r].start_time == p->start_time) ||
					rec[r].child == p->pid;
			if (known || !process_named(p->comm, comm) ||
			    (cgroup && !gs_hw_in_cgroup(cgroup, p->pid)))
				continue;
			if (nrec == caprec) {
				size_t cap = caprec ? caprec * 2 : 16;
				struct recorder *nr = realloc(rec, cap * sizeof(*nr));
				if (!nr)
					break;
				rec = nr;
				caprec = cap;
			}
			char pid[16], out[4600];
			snprintf(pid, sizeof(pid), "%d", (int)p->pid);
			snprintf(out, sizeof(out), "%s/%d-%s.gst", outdir, (int)p->pid, p->comm);
			char *args[16];
			int a = 0;
			args[a++] = self;
			args[a++] = "record";
			args[a++] = "-p";
			args[a++] = pid;
			args[a++] = "-o";
			args[a++] = out;
			if (no_sched)
				args[a++] = "--no-sched";
			if (probes) {
				args[a++] = "--probes";
				args[a++] = (char *)probes;
			}
			if (buffer) {
				args[a++] = "-b";
				args[a++] = (char *)buffer;
			}
			args[a] = NULL;
			pid_t child;
			int err = posix_spawn(&child, self, NULL, NULL, args, environ);
			struct recorder *r = &rec[nrec++];
			memset(r, 0, sizeof(*r));
			r->target = p->pid;
			r->start_time = p->start_time;
			if (err) {
				fprintf(stderr, "%s: starting the recorder of PID %d: %s\n", prog,
					(int)p->pid, strerror(err));
				r->done = 1;
				failed = 1;
				continue;
			}
			r->child = child;
			fprintf(stderr, "%s: recording PID %d (%s, %s %s) to %s\n", prog,
				(int)p->pid, p->comm, p->runtime, p->python, out);
		}
		for (size_t r = 0; r < nrec; r++) {
			if (rec[r].done || !rec[r].child)
				continue;
			if (waitpid(rec[r].child, &rec[r].status, WNOHANG) == rec[r].child) {
				rec[r].done = 1;
				failed |= recorder_failed(prog, &rec[r]);
			}
		}
	}
	/* each recorder writes a complete trace on SIGINT */
	for (size_t r = 0; r < nrec; r++)
		if (!rec[r].done && rec[r].child)
			kill(rec[r].child, SIGINT);
	for (size_t r = 0; r < nrec; r++) {
		if (rec[r].done || !rec[r].child)
			continue;
		while (waitpid(rec[r].child, &rec[r].status, 0) < 0 && errno == EINTR)
			;
		failed |= recorder_failed(prog, &rec[r]);
	}
	size_t vanished = 0;
	for (size_t r = 0; r < nrec; r++)
		vanished += rec[r].vanished;
	fprintf(stderr, "%s: %zu processes recorded in %s", prog, nrec - vanished, outdir);
	if (vanished)
		fprintf(stderr, " (%zu skipped: exited while being attached)", vanished);
	fputc('\n', stderr);
	gs_hw_stop(&hw);
	free(rec);
	free(ho.pids);
	return failed ? 1 : 0;
}
