/* SPDX-License-Identifier: MIT */
/*
 * gilscope record: GIL events of a libgil program or an unmodified CPython
 * (2.7, 3.2-3.13), plus the scheduler's view of its threads, written to the
 * native trace format that `gilscope report` reads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cost_meter.h"
#include "clock.h"
#include "cli_common.h"
#include "cost_model.h"
#include "cli_parse.h"
#include "demux.h"
#include "gilscope_bpf.h" /* before the skeleton: its rodata types */
#include "gilscope.skel.h"
#include "nativestack_load.h"
#include "pystack_load.h"
#include "session.h"
#include "trace_writer.h"
#include "gil_outputs.h"

int cmd_record(int argc, char **argv);
int gs_record_all(int argc, char **argv); /* exporter/cmd_record_all.c: record -a */

static void usage(FILE *out)
{
	fprintf(out,
"Usage: gilscope record [-p PID | -- CMD [ARGS...]] -o TRACE [OPTIONS]\n"
"       gilscope record -a -o DIR [FILTERS] [OPTIONS]   (every process: record -a --help)\n"
"\n"
"Record what the GIL of a process does, with eBPF: libgil programs through\n"
"their gil:* USDT probes, unmodified CPython 3.2-3.13 through uprobes on\n"
"take_gil/drop_gil, CPython 2.7 through ceval.c's calls of\n"
"PyThread_acquire_lock/release_lock on interpreter_lock. The trace is in\n"
"gilscope's native format (gilscope report).\n"
"\n"
"  -p, --pid PID        attach to a running process\n"
"  -- CMD [ARGS...]     start CMD with the probes already in; stop when it exits\n"
"  -o, --output TRACE   trace file to write (required)\n"
"  -d, --duration TIME  stop after TIME: 2 (seconds), 500ms, 1.5s (a started\n"
"                       CMD gets SIGTERM)\n"
"      --no-sched       no scheduler events (sched_switch/sched_wakeup)\n"
"      --probes SET     light (default): fewest probes, blocking_end timed at\n"
"                       the next request; full: also PyEval_RestoreThread\n"
"                       (exact blocking_end times)\n"
"  -b, --buffer MIB     ring buffer size (default 16; power of two)\n"
"      --stacks         the Python stack (function, file, line) of each thread\n"
"                       at every GIL request and release (CPython 2.7,\n"
"                       3.6-3.13):\n"
"                       report --folded, --top-code\n"
"      --native         also the native (C) stack of each thread there, by\n"
"                       frame pointers, symbolised from the ELF symbols;\n"
"                       report --folded shows it below the Python frames\n"
"                       (docs/tutorial-stacks.md, \"Native frames\")\n"
"  -v, --verbose        libbpf debug output and probe placement\n"
"  -h, --help           this help\n"
"\n"
"Needs root (or CAP_BPF + CAP_PERFMON) and a kernel with BTF. SIGINT or\n"
"SIGTERM stops the recording and leaves a complete trace flagged\n"
"interrupted: exit 0. Prints the probes' estimated cost\n"
"(docs/observer-effect.md). Exit: 0 ok, 1 error, 2 usage (docs/cli.md).\n");
}


/* Dropped events that never got a `lost` marker (the thread stopped
 * emitting after the drop) are still counted, per thread. */
static void collect_pending_lost(struct gs_session *s, struct gs_demux *d)
{
	int fd = bpf_map__fd(s->skel->maps.threads);
	__u32 key, next, *prev = NULL;
	struct gsb_thread_state st;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(fd, &key, &st) && st.pending_lost)
			gs_demux_lost(d, key, st.pending_lost);
	}
}

int cmd_record(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_OPT_PID,
		CLI_OPT_OUTPUT,
		CLI_OPT_DURATION,
		{ "no-sched", no_argument, NULL, 'S' },
		{ "probes", required_argument, NULL, 'P' },
		{ "buffer", required_argument, NULL, 'b' },
		{ "stacks", no_argument, NULL, 'K' },
		{ "native", no_argument, NULL, 'N' },
		CLI_OPT_VERBOSE,
		CLI_OPT_HELP,
		{ NULL, 0, NULL, 0 },
	};
	struct gs_session_opts so = {
		.sched = 1, .events = 1, .ringbuf_bytes = 16u << 20,
		.convoy_ns = 2500000, .prog = "gilscope record",
	};
	const char *output = NULL;
	double duration = 0;
	int c;

	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "-a") || !strcmp(argv[i], "--all"))
			return gs_record_all(argc, argv);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+p:o:d:b:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (gs_parse_pid(so.prog, optarg, &so.pid))
				return 2;
			break;
		case 'o': output = optarg; break;
		case 'd':
			if (gs_parse_seconds(so.prog, "-d", optarg, &duration))
				return 2;
			break;
		case 'S': so.sched = 0; break;
		case 'K': so.pystacks = 1; break;
		case 'N': so.native = 1; break;
		case 'P':
			if (gs_parse_probe_set(so.prog, optarg, &so.probes))
				return 2;
			break;
		case 'b': {
			uint64_t mib;
			if (cli_parse_u64("record", "-b", optarg, 1, 1024,
					  "a power of two from 1 to 1024 (MiB)", &mib))
				return 2;
			if (mib & (mib - 1)) {
				fprintf(stderr, "gilscope record: -b wants a power of two "
					"from 1 to 1024 (MiB), not '%s'\n", optarg);
				return 2;
			}
			so.ringbuf_bytes = mib << 20;
			break;
		}
		case 'v': so.verbose = 1; break;
		case 'h': usage(stdout); return 0;
		default: return cli_bad_option("record", argv, opts, NULL);
		}
	}
	if (optind < argc)
		so.cmd = argv + optind;
	if (!output || (!so.pid) == !so.cmd) {
		fprintf(stderr, "%s: %s\n\n", so.prog,
			!output ? "-o TRACE is required"
				: "give either -p PID or -- CMD [ARGS...]");
		usage(stderr);
		return 2;
	}

	/* the file first: no point starting anything we cannot write down */
	int fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", so.prog, output, strerror(errno));
		return 1;
	}

	gs_session_signals();
	struct gs_session s;
	if (gs_session_start(&s, &so)) {
		close(fd);
		unlink(output);
		return 1;
	}
	if (so.verbose) {
		gs_session_describe(&s, stderr);
		gs_session_describe_sites(&s, stderr);
	}

	struct gs_file_header h = { 0 };
	h.source = GS_SOURCE_EBPF;
	h.runtime = s.target.runtime == GSB_RT_LIBGIL ? GS_RUNTIME_LIBGIL
		  : s.target.runtime == GSB_RT_CPYTHON2 ? GS_RUNTIME_CPYTHON2
							 : GS_RUNTIME_CPYTHON3;
	h.pid = (uint32_t)s.pid;
	h.start_ns = gs_now_ns();
	h.start_realtime_ns = gs_realtime_ns();
	/* CPython's defaults: sys.setswitchinterval(0.005), sys.setcheckinterval(100) */
	h.interval_us = s.target.runtime == GSB_RT_CPYTHON3 ? 5000 : 0;
	h.check_ticks = s.target.runtime == GSB_RT_CPYTHON2 ? 100 : 0;
	h.flags = (so.sched ? GS_HDR_F_SCHED_EVENTS : 0) |
		  (s.target.runtime == GSB_RT_CPYTHON2 ? GS_HDR_F_SEM_LOCK : 0) |
		  (s.target.runtime != GSB_RT_LIBGIL && so.probes == GS_PROBES_LIGHT
			   ? GS_HDR_F_INFERRED : 0);
	snprintf(h.policy_name, sizeof(h.policy_name), "%.*s",
		 (int)sizeof(h.policy_name) - 1, s.target.policy_name);
	gs_header_set_command(&h, s.command);

	struct gs_writer *w = gs_writer_fdopen(fd, output, &h);
	if (!w) {
		fprintf(stderr, "%s: %s: %s\n", so.prog, output, strerror(errno));
		close(fd);
		gs_session_end(&s, 1);
		return 1;
	}
	if (s.nsites && gs_writer_probes(w, s.sites, s.nsites))
		fprintf(stderr, "%s: %s: %s\n", so.prog, output, gs_writer_error(w));
	struct gs_demux d;
	struct ring_buffer *rb = NULL;
	struct gs_gil_outputs gils;
	gs_gil_outputs_init(&gils, output, &h, s.sites, s.nsites, &d, w);
	if (gs_demux_init(&d, w, (uint32_t)s.pid) ||
	    !(rb = ring_buffer__new(bpf_map__fd(s.skel->maps.rb), gs_gil_outputs_sample,
				    &gils, NULL))) {
		fprintf(stderr, "%s: ring buffer: %s\n", so.prog, strerror(errno));
		gs_writer_close(w, gs_now_ns(), GS_END_F_INTERRUPTED, NULL, 0);
		gs_session_end(&s, 1);
		return 1;
	}

	/* what a hit costs now (cost_meter.h): a first sample before the
	 * program runs, more while it does */
	struct gs_cost_meter meter;
	gs_cost_meter_start(&meter, &s);

	/* counting from here: "recording" means every probe counts */
	gs_session_go(&s);
	fprintf(stderr, "%s: recording %s (PID %d) to %s; Ctrl-C to stop\n", so.prog,
		s.target.policy_name, (int)s.pid, output);
	uint64_t t0 = gs_now_ns();
	uint64_t deadline = duration > 0 ? t0 + (uint64_t)(duration * 1e9) : 0;

	/* Submitted without wake-ups: drain on a timer instead. */
	int timed_out = 0;
	struct gs_native *native = so.native ? gs_native_new(s.pid) : NULL;
	unsigned ticks = 0;
	while (!gs_session_stop) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		gs_demux_scan(&d);
		ring_buffer__consume(rb);
		gs_demux_flush(&d, 0);
		gs_gil_outputs_tick(&gils, gs_now_ns(), 0);
		/* native stacks are symbolised while the process and its
		 * mappings are there (nativestack_load.h) */
		++ticks;
		if (native && ticks % 10 == 0)
			gs_native_poll(native, s.skel);
		/* a few samples early, then one every 0.5 s (~3 ms each) */
		if (gs_cost_meter_due(&meter))
			gs_cost_meter_sample(&meter);
		gs_cost_meter_tick(&meter);
		/* streamed: a record killed at any moment leaves a readable file */
		if (gs_writer_tick(w, gs_now_ns()))
			break; /* the write error is reported at close */
		if (!gs_session_alive(&s))
			break;
		if (deadline && gs_now_ns() >= deadline) {
			timed_out = 1;
			break;
		}
	}
	gs_session_disarm(&s);
	uint64_t t1 = gs_now_ns();
	/* the programs' run time between arm and disarm: they keep running
	 * (unarmed) while the probes come out */
	gs_cost_meter_mark(&meter);
	/* and a burst at the stop, on the CPU of the run's last stretch: a
	 * recording of a second has a handful of samples, whose median is
	 * what prices every hit */
	for (int i = 0; i < GS_COST_BURST / 2; i++)
		gs_cost_meter_sample(&meter);
	int interrupted = gs_session_stop != 0;
	gs_session_cpu_mark(&s);

	/* Probes out first, then what is left in the ring. */
	uint64_t cnt[GSB_CNT_MAX];
	gs_session_counters(&s, cnt);
	double retake_quiet_ns, retake_woke_ns;
	gs_session_retake_medians(&s, &retake_quiet_ns, &retake_woke_ns);
	double sched_prog_ns = gs_session_sched_prog_ns(&s);
	collect_pending_lost(&s, &d);
	for (int i = 0; i < s.nlinks; i++)
		bpf_link__destroy(s.links[i]);
	s.nlinks = 0;
	while (ring_buffer__consume(rb) > 0)
		;
	gs_demux_flush(&d, 1);
	gs_gil_outputs_tick(&gils, gs_now_ns(), 1);
	ring_buffer__free(rb);
	struct gs_pystack_totals pt = { 0 };
	if (so.pystacks && gs_pystack_write(s.skel, w, &pt))
		fprintf(stderr, "%s: writing the stack table failed\n", so.prog);
	struct gs_native_totals nt = { 0 };
	if (native && gs_native_write(native, s.skel, w, &nt))
		fprintf(stderr, "%s: writing the native stacks failed\n", so.prog);
	gs_native_free(native);
	uint64_t stack_events = d.stack_events;
	struct gs_probe_cost pc;
	gs_cost_meter_read(&meter, cnt, stack_events, &pc);
	gs_cost_meter_end(&meter);
	int child_code = gs_session_end(&s, interrupted || timed_out);

	char err[512] = "";
	uint64_t total = d.records, lost = gs_writer_total_lost(w);
	size_t nthreads = 0;
	for (size_t i = 0; i < d.nthreads; i++)
		nthreads += d.threads[i].declared;
	/* END's time is the stop, or the ring's last event if later (readers
	 * check end_ns >= every event), not the close: detaching the probes
	 * takes 0.2-0.4 s per uprobe on kernel 6.18, and a holder at the end
	 * would seem to hold the GIL all that time */
	uint64_t last = gs_demux_last_ts(&d), end_ns = last > t1 ? last : t1;
	int wr = gs_writer_close(w, end_ns,
				 interrupted ? GS_END_F_INTERRUPTED : 0, err,
				 sizeof(err));
	gs_demux_free(&d);
	wr |= gs_gil_outputs_close(&gils, end_ns,
				   interrupted ? GS_END_F_INTERRUPTED : 0, so.prog);
	if (wr) {
		fprintf(stderr, "%s: %s\n", so.prog, err);
		return 1;
	}

	double secs = (double)(t1 - t0) / 1e9;
	double cost_ms = pc.total_ns / 1e6;
	fprintf(stderr,
		"%s: %llu events from %zu threads in %.2f s of recording (attach to "
		"stop) written to %s (%llu lost)\n",
		so.prog, (unsigned long long)total, nthreads, secs, output,
		(unsigned long long)lost);
	uint64_t cpu_ns = 0, sys_ns = 0;
	struct gs_cost_est est;
	double refill_ms = pc.refill_ns * (double)pc.traps / 1e6;
	double slowdown = gs_session_cpu_ns(&s, &cpu_ns)
		? -1 : gs_session_estimate(cnt, cost_ms * 1e6, refill_ms * 1e6,
					      (double)cpu_ns,
					      gs_session_sys_ns(&s, &sys_ns) ? 0 : (double)sys_ns,
					      (double)(t1 - t0), retake_quiet_ns,
					      retake_woke_ns, sched_prog_ns, &est);
	if (slowdown >= 0) {
		char wakes[200] = "", path[160], per[512] = "";
		/* the samples' spread: how far one recording's medians may be
		 * off; the system time: the bound of the kernel part */
		if (pc.calibrated)
			snprintf(per, sizeof(per), " (traps %.0f ns each + %.0f ns "
				 "of cache refill after each, a return %.0f ns more, "
				 "measured now in %d samples, + %.1f ms in the BPF "
				 "programs; samples: traps %.0f-%.0f ns, refill "
				 "%.0f-%.0f ns; %.1f ms of system time)", pc.trap_ns,
				 pc.refill_ns, pc.ret_ns, pc.samples, pc.bpf_ns / 1e6,
				 pc.trap_spread[0], pc.trap_spread[1],
				 pc.refill_spread[0], pc.refill_spread[1],
				 (double)sys_ns / 1e6);
		/* the kernel part priced above the system time the target's
		 * threads used: that instead (cost_model.h) */
		if (est.cost_is_sys) {
			size_t l = strlen(per);
			snprintf(per + l, sizeof(per) - l, "; priced at %.1f ms, but "
				 "its kernel part exceeded the %.1f ms of system time "
				 "the target's threads used: that instead, + %.1f ms of "
				 "refill", cost_ms, (double)sys_ns / 1e6, refill_ms);
			cost_ms = est.cost_ns / 1e6;
		}
		/* what bounded the path: the wall time, or the CPU time less
		 * what waiters ran beside the holder */
		if (est.path_is_wall)
			snprintf(path, sizeof(path), "the recording's %.3f s of wall "
				 "time, less than its %.3f s of CPU", secs,
				 (double)cpu_ns / 1e9);
		else
			snprintf(path, sizeof(path), "its %.3f s of CPU less %.3f s "
				 "that waiters ran beside the GIL holder",
				 (double)cpu_ns / 1e9,
				 (double)cnt[GSB_CNT_WAIT_ONCPU_NS] / 1e9);
		if (est.wake_ns > 0)
			snprintf(wakes, sizeof(wakes),
				 " + %.1f ms of wake-ups that longer holds add (%.0f "
				 "releases woke a sleeping waiter, %.0f untraced: its "
				 "cycle %.1f us, +%.1f us each on the holder's path),",
				 est.wake_ns / 1e6, est.wakes_traced, est.wakes_untraced,
				 est.cycle_ns / 1e3, est.per_wake_ns / 1e3);
		fprintf(stderr,
			"%s: estimated probe cost %.1f ms = %.2f%% slowdown of a "
			"CPU-bound run (the probes' CPU time%s,%s over the %.3f s "
			"the program used beside them on its path: %s; %.2f%% of "
			"the recording's wall time; %llu GIL probe hits, %llu "
			"scheduler hits, %llu on its threads; "
			"docs/observer-effect.md)\n",
			so.prog, cost_ms, slowdown, per, wakes,
			est.path_ns / 1e6 - cost_ms - est.wake_ns / 1e6 > 0
				? (est.path_ns / 1e6 - cost_ms - est.wake_ns / 1e6) / 1e3
				: 0.0,
			path, secs > 0 ? cost_ms / 10 / secs : 0.0,
			(unsigned long long)gs_session_gil_hits(cnt),
			(unsigned long long)cnt[GSB_HIT_SCHED],
			(unsigned long long)cnt[GSB_CNT_SCHED_TARGET]);
	}
	else
		fprintf(stderr,
			"%s: estimated probe cost %.1f ms = %.2f%% of the recording's "
			"wall time (the target's CPU time could not be read; %llu GIL "
			"probe hits, %llu scheduler hits; docs/observer-effect.md)\n",
			so.prog, cost_ms, secs > 0 ? cost_ms / 10 / secs : 0.0,
			(unsigned long long)gs_session_gil_hits(cnt),
			(unsigned long long)cnt[GSB_HIT_SCHED]);
	/* 2.7's probes all run while their thread holds the GIL: every other
	 * thread waits for them too, and a holder preempted at a trap's
	 * return stalls them all (docs/observer-effect.md) */
	if (s.target.runtime == GSB_RT_CPYTHON2 && nthreads > 2 &&
	    secs > 0 && cost_ms / 10 / secs > 5)
		fprintf(stderr,
			"%s: note: on CPython 2.7 every probe runs while its thread "
			"holds the GIL, so the other threads wait for it too (and "
			"for the holder whenever it is preempted at a probe's "
			"return): with several threads busy on a loaded machine the "
			"run is slowed more than estimated\n", so.prog);
	if (so.pystacks)
		fprintf(stderr, "%s: %llu Python stacks (%llu frames, %llu with their "
			"current line; %llu code objects) on %llu GIL events (walks "
			"counted in the cost above)\n", so.prog,
			(unsigned long long)pt.stacks, (unsigned long long)pt.frames,
			(unsigned long long)pt.lines, (unsigned long long)pt.codes,
			(unsigned long long)stack_events);
	if (so.native)
		fprintf(stderr, "%s: %llu native stacks (%llu frames, %llu named; %llu "
			"cut where frame pointers end, docs/tutorial-stacks.md)\n",
			so.prog, (unsigned long long)nt.stacks,
			(unsigned long long)nt.frames, (unsigned long long)nt.named,
			(unsigned long long)nt.cut);
	if (so.cmd && child_code && !interrupted && !timed_out)
		fprintf(stderr, "%s: %s exited with status %d\n", so.prog, so.cmd[0],
			child_code);
	return 0;
}
