/* SPDX-License-Identifier: MIT */
/*
 * gilscope replay: re-run a recorded workload for real on libgil, first under
 * the policy it was recorded with (the self-check: does the replay reproduce
 * the original's hold/wait distributions and convoy?), then under the policy
 * or switch interval asked for (the what-if). docs/replay.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyze.h"
#include "cli_parse.h"
#include "commands.h"
#include "compare.h"
#include "figures.h"
#include "gil.h"
#include "json_writer.h"
#include "phases.h"
#include "replay_exec.h"
#include "trace_format.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: gilscope replay [OPTIONS] TRACE\n\n"
		"Derives each thread's behaviour from TRACE (CPU work while holding the\n"
		"GIL, blocking regions, start times, priorities) and runs it again for\n"
		"real on libgil: real threads, calibrated spinning work, real sleeps.\n"
		"First it replays under the policy the trace was recorded with and\n"
		"checks the replay reproduces the original (hold and wait p50/p90 and\n"
		"convoy loss per I/O call within the tolerance); then, if a policy or\n"
		"interval is given, it replays the what-if and compares it with the\n"
		"original.\n\n"
		"Options:\n"
		"  -P, --policy P         what-if policy: legacy, cpython, fifo, prio\n"
		"  -i, --interval TIME    what-if switch interval: 1ms, 500us, 0.001 (s)\n"
		"      --interval-us U    the same in microseconds\n"
		"      --check-ticks N    what-if legacy check interval\n"
		"  -o, --output FILE      write the what-if replay's trace here\n"
		"                         (default replay.gst); the self-check's goes\n"
		"                         to FILE with .selfcheck before the suffix\n"
		"      --no-self-check    skip the self-check replay\n"
		"      --tolerance PCT    self-check tolerance in percent (default 15)\n"
		"      --sigmas K         also allow K standard errors of sampling\n"
		"                         (default 3; 0: the tolerance alone)\n"
		"      --unit-ns N        work between two eval-breaker checks (200)\n"
		"      --os-prio          also set each thread's recorded nice/SCHED_FIFO\n"
		"      --rt               run at SCHED_FIFO 1, so that other work cannot\n"
		"                         delay the replay (the default when permitted;\n"
		"                         with --rt, an error when not)\n"
		"      --no-rt            run at the normal SCHED_OTHER\n"
		"  -j, --json             JSON output (schema: docs/replay.md)\n"
		"      --allow-truncated  replay a trace that was cut short\n"
		"  -h, --help             this help\n\n"
		"Exit status: 0 done (and the self-check passed), 1 error, 2 usage,\n"
		"3 the self-check missed its tolerance (what-if results are printed\n"
		"but should not be trusted; docs/cli.md).\n\n"
		"Examples:\n"
		"  gilscope replay service.gst                      # self-check only\n"
		"  gilscope replay service.gst -i 1ms               # sys.setswitchinterval(0.001)?\n"
		"  gilscope replay service.gst --policy prio -o prio.gst\n");
}

/* The recorded policy, as libgil parameters. */
static void recorded_params(const struct gs_phase_program *prog,
			    const struct gs_analysis *an, unsigned unit_ns,
			    struct gil_params *p, const char **why)
{
	if (prog->runtime == GS_RUNTIME_LIBGIL && prog->policy >= GIL_POLICY_LEGACY &&
	    prog->policy <= GIL_POLICY_PRIO) {
		gil_params_default(p, (enum gil_policy)prog->policy);
		if (prog->interval_us)
			p->interval_us = prog->interval_us;
		if (prog->check_ticks)
			p->check_ticks = prog->check_ticks;
		*why = "recorded on libgil";
		return;
	}
	if (prog->runtime == GS_RUNTIME_CPYTHON2) {
		/* 2.7 switches every 100 bytecodes, not every interval: pick the
		 * check count whose work matches the recorded median hold. */
		gil_params_default(p, GIL_POLICY_LEGACY);
		struct gs_figures f;
		double p50_us = 0;
		if (gs_figures_from_metrics(an->metrics, &f) == 0) {
			if (f.overall.valid[GS_FIG_HOLD_P50])
				p50_us = f.overall.value[GS_FIG_HOLD_P50];
			gs_figures_free(&f);
		}
		unsigned ticks = (unsigned)(p50_us * 1000.0 / unit_ns + 0.5);
		p->check_ticks = ticks ? ticks : 1;
		*why = "CPython 2.7 (check interval matched to the median hold)";
		return;
	}
	gil_params_default(p, GIL_POLICY_CPYTHON);
	if (prog->interval_us)
		p->interval_us = prog->interval_us;
	*why = prog->runtime == GS_RUNTIME_CPYTHON3 ? "CPython 3.x"
						     : "unknown runtime: assuming CPython 3.x";
}

static char *selfcheck_path(const char *out)
{
	const char *dot = strrchr(out, '.');
	const char *slash = strrchr(out, '/');
	size_t base = dot && (!slash || dot > slash) ? (size_t)(dot - out) : strlen(out);
	char *p = malloc(base + 32);
	if (p)
		sprintf(p, "%.*s.selfcheck%s", (int)base, out, out + base);
	return p;
}

struct run {
	const char *label;
	struct gil_params params;
	const char *trace;
	struct replay_result res;
	struct gs_analysis an;
	struct gs_figures fig;
	struct comparison cmp;
	int done;
};

static const int checked_keys[] = { GS_FIG_HOLD_P50, GS_FIG_HOLD_P90,
				    GS_FIG_WAIT_P50, GS_FIG_WAIT_P90,
				    GS_FIG_CONVOY_PER_CALL };

struct tid_map {
	const struct gs_phase_program *prog;
	const uint32_t *replay_tids;
};

/* The replay's thread i ran program thread i: match through the tids. */
static int match_by_tid(const struct gs_figures *a, size_t i,
			const struct gs_figures *b, void *ctx)
{
	const struct tid_map *m = ctx;
	uint32_t replay_tid = 0;
	for (size_t k = 0; k < m->prog->nthreads; k++)
		if (m->prog->threads[k].tid == a->threads[i].tid)
			replay_tid = m->replay_tids[k];
	for (size_t j = 0; replay_tid && j < b->nthreads; j++)
		if (b->threads[j].tid == replay_tid)
			return (int)j;
	return -1;
}

static int do_run(struct run *r, const struct gs_phase_program *prog,
		  const struct gs_figures *orig, const char *source,
		  unsigned unit_ns, int os_prio, double ns_per_iter,
		  uint64_t wake_latency_ns, double tolerance, double sigmas)
{
	char err[600];
	struct replay_opts o = {
		.params = r->params,
		.trace_out = r->trace,
		.source_path = source,
		.unit_ns = unit_ns,
		.apply_os_prio = os_prio,
		.ns_per_iter = ns_per_iter,
		.wake_latency_ns = wake_latency_ns,
	};
	if (replay_run(prog, &o, &r->res, err, sizeof(err)) != 0) {
		fprintf(stderr, "gilscope replay: %s replay: %s\n", r->label, err);
		return -1;
	}
	struct gs_analyze_opts ao = { 0 };
	if (gs_analyze(r->trace, &ao, &r->an, err, sizeof(err)) != 0) {
		fprintf(stderr, "gilscope replay: reading the %s replay: %s\n", r->label, err);
		return -1;
	}
	struct tid_map map = { .prog = prog, .replay_tids = r->res.tids };
	if (gs_figures_from_metrics(r->an.metrics, &r->fig) != 0 ||
	    compare_figures(orig, &r->fig, tolerance, sigmas, checked_keys,
			    tolerance > 0 ? sizeof(checked_keys) / sizeof(checked_keys[0]) : 0,
			    match_by_tid, &map, &r->cmp) != 0) {
		fprintf(stderr, "gilscope replay: out of memory\n");
		return -1;
	}
	r->done = 1;
	return 0;
}

static void run_free(struct run *r)
{
	replay_result_free(&r->res);
	if (!r->done)
		return;
	comparison_free(&r->cmp);
	gs_figures_free(&r->fig);
	gs_analysis_free(&r->an);
}

static void describe_params(FILE *out, const struct gil_params *p)
{
	fprintf(out, "%s", gil_policy_name(p->policy));
	if (p->policy == GIL_POLICY_LEGACY)
		fprintf(out, " (check every %u ticks)", p->check_ticks);
	else
		fprintf(out, " (interval %u us)", p->interval_us);
}

static void print_program(FILE *out, const struct gs_phase_program *prog)
{
	fprintf(out, "%-16s %8s %10s %10s %8s %8s\n", "THREAD", "PHASES", "CPU ms",
		"BLOCK ms", "CUTS", "START ms");
	for (size_t i = 0; i < prog->nthreads; i++) {
		const struct gs_phase_thread *t = &prog->threads[i];
		fprintf(out, "%-16.16s %8zu %10.1f %10.1f %8llu %8.1f\n",
			t->name[0] ? t->name : "?", t->nphases, (double)t->cpu_ns / 1e6,
			(double)t->block_ns / 1e6, (unsigned long long)t->cuts,
			(double)t->start_ns / 1e6);
	}
}

static void json_params(struct json_writer *j, const char *key,
			const struct gil_params *p)
{
	json_begin_object(j, key);
	json_string(j, "policy", gil_policy_name(p->policy));
	json_uint(j, "interval_us", p->interval_us);
	json_uint(j, "check_ticks", p->check_ticks);
	json_end(j);
}

static double share(uint64_t part, uint64_t whole)
{
	return whole ? (double)part / (double)whole : 0;
}

/*
 * What the machine did to a replay, and, when its self-check missed, which
 * of those most likely limited it. The thresholds are where, on our 2-vCPU
 * machines, a replay stopped reproducing a convoy recording (docs/replay.md,
 * "When the self-check fails").
 */
/*
 * Of the GIL holding the recording shows, the share its holders spent
 * preempted by other work (DEAF phases): a recording made while the
 * machine was overloaded. The replay spins those stretches at the place
 * in each thread's work where they happened, not at the moment, and the
 * other threads' waits no longer line up with them: in our measurements
 * every recording above one half missed (docs/replay.md).
 */
static double recording_preempted_share(const struct gs_phase_program *prog)
{
	uint64_t deaf = 0, cpu = 0;
	for (size_t i = 0; i < prog->nthreads; i++) {
		deaf += prog->threads[i].deaf_ns;
		cpu += prog->threads[i].cpu_ns;
	}
	return share(deaf, cpu);
}

static const char *limited_by(const struct replay_machine *m,
			      const struct gs_phase_program *prog, char *buf,
			      size_t len)
{
	double steal = share(m->steal_ns, m->cpu_ns);
	double runq = share(m->runq_ns, m->thread_ns);
	double preempted = recording_preempted_share(prog);
	if (m->have_steal && steal >= 0.05)
		snprintf(buf, len, "the hypervisor: it took %.0f%% of the CPUs' time "
			 "(steal) while the replay ran; retry when the host is quieter",
			 100 * steal);
	else if (m->have_schedstat && runq >= 0.05)
		snprintf(buf, len, "other work on this machine: the replay's threads "
			 "waited %.0f%% of their time for a CPU; retry on a quieter "
			 "machine, or with nice -n -15", 100 * runq);
	else if (preempted >= 0.5)
		snprintf(buf, len, "the recording: its GIL holders were preempted by "
			 "other work for %.0f%% of their holding (waiting for a CPU "
			 "while holding the GIL), so it measured the recording machine's "
			 "load more than the program; record again on a quieter machine, "
			 "or with nice -n -15", 100 * preempted);
	else if (m->timer_p99_ns >= 1000000)
		snprintf(buf, len, "late timers: 1%% of the blocking phases woke "
			 "%.1f ms or more late (carried into the next phases, but "
			 "the order of events around them changed)",
			 (double)m->timer_p99_ns / 1e6);
	else
		snprintf(buf, len, "not the machine (steal %.1f%%, run-queue wait "
			 "%.1f%%, timers p99 %.0f us late; recording preempted %.0f%%): "
			 "the replay's model of this recording (open loop, spinning "
			 "work, inferred events: docs/replay.md)", 100 * steal,
			 100 * runq, (double)m->timer_p99_ns / 1e3, 100 * preempted);
	return buf;
}

static void print_machine(FILE *out, const struct replay_machine *m,
			  const struct gs_phase_program *prog, int missed)
{
	fprintf(out, "Machine during the replay:");
	if (m->have_steal)
		fprintf(out, " steal %.1f%% of CPU time;", 100 * share(m->steal_ns, m->cpu_ns));
	if (m->have_schedstat)
		fprintf(out, " threads waited %.1f%% of their time for a CPU;",
			100 * share(m->runq_ns, m->thread_ns));
	fprintf(out, "\n  timers woke late by p50 %.1f us, p99 %.1f us (%llu sleeps); "
		"work phases overran by p50 %.2f us, p99 %.1f us;\n  %.1f ms of "
		"that lateness was taken off later blocking phases\n",
		(double)m->timer_p50_ns / 1e3, (double)m->timer_p99_ns / 1e3,
		(unsigned long long)m->timer_n, (double)m->work_p50_ns / 1e3,
		(double)m->work_p99_ns / 1e3, (double)m->carried_ns / 1e6);
	fprintf(out, "The recording: its GIL holders were preempted by other work for "
		"%.1f%% of their holding\n", 100 * recording_preempted_share(prog));
	if (missed) {
		char why[480];
		fprintf(out, "What limited it: %s\n", limited_by(m, prog, why, sizeof(why)));
	}
}

static void json_machine(struct json_writer *j, const struct replay_machine *m,
			 const struct gs_phase_program *prog, int missed)
{
	json_begin_object(j, "machine");
	if (m->have_steal)
		json_double(j, "steal_share", share(m->steal_ns, m->cpu_ns));
	else
		json_null(j, "steal_share");
	if (m->have_schedstat)
		json_double(j, "run_queue_share", share(m->runq_ns, m->thread_ns));
	else
		json_null(j, "run_queue_share");
	json_uint(j, "timer_sleeps", m->timer_n);
	json_uint(j, "timer_late_p50_ns", m->timer_p50_ns);
	json_uint(j, "timer_late_p99_ns", m->timer_p99_ns);
	json_uint(j, "work_phases", m->work_n);
	json_uint(j, "work_over_p50_ns", m->work_p50_ns);
	json_uint(j, "work_over_p99_ns", m->work_p99_ns);
	json_uint(j, "compensated_ns", m->carried_ns);
	json_double(j, "recording_preempted_share", recording_preempted_share(prog));
	if (missed) {
		char why[480];
		json_string(j, "limited_by", limited_by(m, prog, why, sizeof(why)));
	}
	json_end(j);
}

static void json_run(struct json_writer *j, const char *key, const struct run *r,
		     const struct gs_phase_program *prog)
{
	json_begin_object(j, key);
	json_params(j, "params", &r->params);
	json_string(j, "trace", r->trace);
	/* Per program thread: its replay's tid, and how much of its CPU
	 * phases the runtime's own cost stood for (the replay held the GIL
	 * at least cpu_ns minus that). */
	json_begin_array(j, "threads");
	for (size_t i = 0; i < prog->nthreads; i++) {
		json_begin_object(j, NULL);
		json_string(j, "name", prog->threads[i].name);
		json_uint(j, "tid", r->res.tids ? r->res.tids[i] : 0);
		json_uint(j, "overhead_taken_ns",
			  r->res.overhead_taken_ns ? r->res.overhead_taken_ns[i] : 0);
		json_end(j);
	}
	json_end(j);
	json_double(j, "wall_s", r->res.wall_s);
	json_uint(j, "records", r->res.records);
	json_uint(j, "lost", r->res.lost);
	if (r->cmp.tolerance > 0) {
		json_uint(j, "checked", r->cmp.checked);
		json_uint(j, "missed", r->cmp.failed);
		json_bool(j, "passed", r->cmp.failed == 0);
	}
	json_machine(j, &r->res.machine, prog, r->cmp.tolerance > 0 && r->cmp.failed);
	compare_json(j, "vs_original", &r->cmp);
	json_end(j);
}

int cmd_replay(int argc, char **argv)
{
	enum { OPT_TICKS = 256, OPT_NOSELF, OPT_TOL, OPT_UNIT, OPT_OSPRIO,
	       OPT_TRUNC, OPT_SIGMAS, OPT_INTERVAL_US, OPT_RT, OPT_NO_RT };
	static const struct cli_renamed renamed[] = {
		{ 'I', "--interval-us", "-i TIME (-i 1ms) or --interval-us N" },
		{ 0 },
	};
	static const struct option long_opts[] = {
		{ "policy", required_argument, NULL, 'P' },
		CLI_OPT_INTERVAL,
		{ "interval-us", required_argument, NULL, OPT_INTERVAL_US },
		{ "check-ticks", required_argument, NULL, OPT_TICKS },
		CLI_OPT_OUTPUT,
		{ "no-self-check", no_argument, NULL, OPT_NOSELF },
		{ "tolerance", required_argument, NULL, OPT_TOL },
		{ "sigmas", required_argument, NULL, OPT_SIGMAS },
		{ "unit-ns", required_argument, NULL, OPT_UNIT },
		{ "os-prio", no_argument, NULL, OPT_OSPRIO },
		{ "rt", no_argument, NULL, OPT_RT },
		{ "no-rt", no_argument, NULL, OPT_NO_RT },
		CLI_OPT_JSON,
		{ "allow-truncated", no_argument, NULL, OPT_TRUNC },
		CLI_OPT_HELP,
		{ 0 },
	};
	const char *policy = NULL, *out_path = "replay.gst";
	long interval_us = 0, check_ticks = 0, unit_ns = 200;
	double tolerance = 15, sigmas = GS_CONFIDENCE_K;
	int self_check = 1, os_prio = 0, json = 0, allow_truncated = 0, c;
	int rt = -1; /* -1: SCHED_FIFO when permitted; 0: never; 1: required */
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "P:i:o:jh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'P': policy = optarg; break;
		case 'i':
		case OPT_INTERVAL_US: {
			uint64_t us;
			if (cli_parse_gil_interval("replay", c != 'i', optarg, &us))
				return 2;
			interval_us = (long)us;
			break;
		}
		case OPT_TICKS:
			if (cli_parse_long("replay", "check-ticks", optarg, 1,
					   1000000000, "a positive number",
					   &check_ticks))
				return 2;
			break;
		case 'o': out_path = optarg; break;
		case OPT_NOSELF: self_check = 0; break;
		case OPT_TOL:
			if (cli_parse_double("replay", "tolerance", optarg, 0, 1000,
					     "a percentage", &tolerance))
				return 2;
			break;
		case OPT_SIGMAS:
			/* 0 is allowed (the fixed tolerance alone): the
			 * bounds are exclusive */
			if (cli_parse_double("replay", "sigmas", optarg, -1, 100,
					     "a number of standard errors", &sigmas))
				return 2;
			if (sigmas < 0) {
				fprintf(stderr, "gilscope replay: --sigmas wants a number "
					"of standard errors >= 0, not '%s'\n", optarg);
				return 2;
			}
			break;
		case OPT_UNIT: {
			uint64_t ns;
			if (cli_parse_time("replay", "--unit-ns", optarg, CLI_NS, 10,
					   10 * CLI_MS, &ns))
				return 2;
			unit_ns = (long)ns;
			break;
		}
		case OPT_OSPRIO: os_prio = 1; break;
		case OPT_RT: rt = 1; break;
		case OPT_NO_RT: rt = 0; break;
		case 'j': json = 1; break;
		case OPT_TRUNC: allow_truncated = 1; break;
		case 'h': usage(stdout); return 0;
		default: return cli_bad_option("replay", argv, long_opts, renamed);
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "gilscope replay: needs one TRACE\n\n");
		usage(stderr);
		return 2;
	}
	int what_policy = 0;
	if (policy && (what_policy = gil_policy_from_name(policy)) < 0) {
		fprintf(stderr, "gilscope replay: unknown policy '%s' (legacy, cpython, fifo, prio)\n", policy);
		return 2;
	}
	const char *trace = argv[optind];

	char err[600];
	struct gs_phase_program prog;
	struct gs_analysis orig_an;
	if (gs_phases_extract(trace, allow_truncated, &prog, &orig_an, err, sizeof(err)) != 0) {
		fprintf(stderr, "gilscope replay: %s\n", err);
		return 1;
	}
	struct gs_figures orig;
	if (gs_figures_from_metrics(orig_an.metrics, &orig) != 0) {
		fprintf(stderr, "gilscope replay: out of memory\n");
		gs_phases_free(&prog);
		gs_analysis_free(&orig_an);
		return 1;
	}

	struct run self = { .label = "self-check" }, what = { .label = "what-if" };
	const char *recorded_why;
	recorded_params(&prog, &orig_an, (unsigned)unit_ns, &self.params, &recorded_why);
	what.params = self.params;
	if (what_policy) {
		gil_params_default(&what.params, (enum gil_policy)what_policy);
		what.params.interval_us = self.params.interval_us;
	}
	if (interval_us)
		what.params.interval_us = (unsigned)interval_us;
	if (check_ticks)
		what.params.check_ticks = (unsigned)check_ticks;
	int want_what = what_policy || interval_us || check_ticks;
	char *self_path = selfcheck_path(out_path);
	self.trace = want_what ? self_path : out_path;
	what.trace = out_path;

	int rc = 0;
	/* Other work on the machine delays a replay's threads (on a shared
	 * 2-vCPU machine they waited up to 60% of their time for a CPU), and a
	 * replay reproduces delays, it must not add its own. At SCHED_FIFO 1
	 * no ordinary process preempts it; the kernel's RT throttling still
	 * leaves the rest of the machine 5%. Threads inherit it. */
	const char *sched_note = "SCHED_OTHER (--no-rt)";
	if (rt == 1 && os_prio) {
		fprintf(stderr, "gilscope replay: --rt and --os-prio exclude each other\n");
		return 2;
	}
	if (rt != 0 && !os_prio) {
		struct sched_param sp = { .sched_priority = 1 };
		if (sched_setscheduler(0, SCHED_FIFO, &sp) == 0) {
			sched_note = "SCHED_FIFO 1: other work cannot preempt the replay "
				     "(--no-rt: SCHED_OTHER)";
		} else if (rt == 1) {
			fprintf(stderr, "gilscope replay: --rt: cannot run SCHED_FIFO: %s "
				"(needs root or CAP_SYS_NICE)\n", strerror(errno));
			return 1;
		} else {
			sched_note = "SCHED_OTHER (SCHED_FIFO not permitted: other work "
				     "on this machine can delay the replay)";
		}
	} else if (os_prio) {
		sched_note = "each thread's recorded priority (--os-prio)";
	}
	double ns_per_iter = replay_calibrate();
	uint64_t wake_ns = replay_calibrate_wakeup();
	FILE *human = json ? stderr : stdout;
	fprintf(human, "Replaying %s: %zu threads over %.3f s; recorded as ", trace,
		prog.nthreads, (double)prog.span_ns / 1e9);
	describe_params(human, &self.params);
	fprintf(human, " [%s]\nwork: %.2f ns per spin iteration, %ld ns between checks; "
		"timer wake-up %.1f us (taken off blocking phases)\nscheduling: %s\n\n",
		recorded_why, ns_per_iter, unit_ns, (double)wake_ns / 1e3, sched_note);
	if (!json)
		print_program(stdout, &prog);

	if (self_check) {
		if (do_run(&self, &prog, &orig, trace, (unsigned)unit_ns, os_prio,
			   ns_per_iter, wake_ns, tolerance / 100.0, sigmas) != 0) {
			rc = 1;
			goto out;
		}
		if (!json) {
			printf("\nSelf-check: replay under ");
			describe_params(stdout, &self.params);
			printf(" vs the original (%s)\n", self.trace);
			compare_print(stdout, &self.cmp, "original", "replay", 20);
			printf("Self-check %s: %zu of %zu checked figures within %.0f%%"
			       " or %g standard errors of sampling\n",
			       self.cmp.failed ? "FAILED" : "passed",
			       self.cmp.checked - self.cmp.failed, self.cmp.checked, tolerance,
			       sigmas);
			print_machine(stdout, &self.res.machine, &prog, self.cmp.failed != 0);
		}
		if (self.cmp.failed)
			rc = 3;
	}
	if (want_what) {
		if (do_run(&what, &prog, &orig, trace, (unsigned)unit_ns, os_prio,
			   ns_per_iter, wake_ns, 0, 0) != 0) {
			rc = 1;
			goto out;
		}
		if (!json) {
			printf("\nWhat-if: replay under ");
			describe_params(stdout, &what.params);
			printf(" vs the original (%s)\n", what.trace);
			compare_print(stdout, &what.cmp, "original", "what-if", 25);
			if (rc == 3)
				printf("(the self-check failed: treat these figures with care)\n");
		}
	}
	if (json) {
		struct json_writer j;
		json_init(&j, stdout, 1);
		json_begin_object(&j, NULL);
		json_string(&j, "trace", trace);
		json_params(&j, "recorded", &self.params);
		json_string(&j, "recorded_as", recorded_why);
		json_double(&j, "ns_per_iteration", ns_per_iter);
		json_uint(&j, "timer_wakeup_ns", wake_ns);
		json_uint(&j, "unit_ns", (uint64_t)unit_ns);
		json_string(&j, "scheduling", sched_note);
		json_begin_array(&j, "threads");
		for (size_t i = 0; i < prog.nthreads; i++) {
			const struct gs_phase_thread *t = &prog.threads[i];
			json_begin_object(&j, NULL);
			json_string(&j, "name", t->name);
			json_uint(&j, "tid", t->tid);
			size_t blocks = 0;
			for (size_t k = 0; k < t->nphases; k++)
				blocks += t->phases[k].kind == GS_PHASE_BLOCK;
			json_uint(&j, "phases", t->nphases);
			json_uint(&j, "block_phases", blocks);
			json_uint(&j, "cpu_ns", t->cpu_ns);
			json_uint(&j, "block_ns", t->block_ns);
			json_uint(&j, "cuts", t->cuts);
			json_uint(&j, "return_p50_ns", gs_phase_return_p50(t));
			json_uint(&j, "open_hold_trimmed_ns", t->trimmed_ns);
			json_uint(&j, "preempted_holding_ns", t->deaf_ns);
			json_uint(&j, "start_ns", t->start_ns);
			json_end(&j);
		}
		json_end(&j);
		if (self.done)
			json_run(&j, "self_check", &self, &prog);
		if (what.done)
			json_run(&j, "what_if", &what, &prog);
		json_end(&j);
	}
out:;
	struct sched_param normal = { .sched_priority = 0 };
	sched_setscheduler(0, SCHED_OTHER, &normal);
	run_free(&self);
	run_free(&what);
	free(self_path);
	gs_figures_free(&orig);
	gs_analysis_free(&orig_an);
	gs_phases_free(&prog);
	return rc;
}
