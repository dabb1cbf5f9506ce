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
#include <sys/file.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "analyze.h"
#include "cli_parse.h"
#include "clock.h"
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
		"      --attempts N       replay again, up to N times in all, while the\n"
		"                         machine delays the replay (its threads wait\n"
		"                         --max-delay of their time for a CPU, or the\n"
		"                         hypervisor steals that share); the least\n"
		"                         delayed attempt is kept (default 3)\n"
		"      --max-delay PCT    how much delay needs another attempt (default\n"
		"                         5; 0: every attempt runs)\n"
		"      --recorded-interval TIME  the switch interval the recording ran\n"
		"                         with, when the trace cannot know it (the\n"
		"                         program called sys.setswitchinterval)\n"
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

/*
 * A replay measures scheduling, and the machine's own delays are errors in
 * it: a replay whose threads waited for a CPU, or whose vCPUs the
 * hypervisor took, for this share of their time stopped reproducing a
 * convoy recording on our 2-vCPU machines (docs/replay.md, "When the
 * machine delays a replay"). Such an attempt is run again (--max-delay).
 */
#define MACHINE_DELAY_LIMIT 0.05
#define MAX_ATTEMPTS 9

/* What one attempt of a run saw: the attempt kept is chosen by the
 * machine's delay alone, never by its check. */
struct attempt {
	struct replay_machine machine;
	double wall_s, lock_wait_s;
	size_t checked, failed;
	int delayed;
};

struct run {
	const char *label;
	struct gil_params params;
	const char *trace;
	struct replay_result res;
	struct gs_analysis an;
	struct gs_figures fig;
	struct comparison cmp;
	int done;
	struct attempt attempts[MAX_ATTEMPTS];
	size_t nattempts, chosen;
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

static double share(uint64_t part, uint64_t whole)
{
	return whole ? (double)part / (double)whole : 0;
}

/* The machine's delay of a replay: its threads' run-queue wait and the
 * hypervisor's steal, as shares of their time. */
static double machine_delay(const struct replay_machine *m)
{
	return (m->have_schedstat ? share(m->runq_ns, m->thread_ns) : 0) +
	       (m->have_steal ? share(m->steal_ns, m->cpu_ns) : 0);
}

static int machine_delayed(const struct replay_machine *m, double limit)
{
	return (m->have_steal && share(m->steal_ns, m->cpu_ns) >= limit) ||
	       (m->have_schedstat && share(m->runq_ns, m->thread_ns) >= limit);
}

/*
 * Two replays at once on one machine delay each other: each runs at
 * SCHED_FIFO 1, where threads of equal priority never preempt each other,
 * and on a 2-vCPU machine two of them waited 43 % and 63 % of their time
 * for a CPU (both self-checks missed hold and wait p90 by 100x). So every
 * gilscope replay on the machine takes this lock for the time it replays;
 * a replay that finds it taken waits (up to LOCK_WAIT_S, then runs anyway
 * and its measured delay says what that cost). The lock is a file lock:
 * the kernel drops it when a process dies.
 */
#define LOCK_WAIT_S 300

static const char *lock_path(void)
{
	return access("/run/lock", W_OK) == 0 ? "/run/lock/gilscope-replay.lock"
					      : "/tmp/gilscope-replay.lock";
}

/* The lock's fd (-1: none could be had, the replay runs without), and how
 * long it waited for it. */
static int take_replay_lock(FILE *human, double *waited_s)
{
	const char *path = lock_path();
	int fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
	*waited_s = 0;
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	fprintf(human, "(waiting for another gilscope replay on this machine to "
		"finish: %s)\n", path);
	uint64_t t0 = gs_now_ns();
	while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (gs_now_ns() - t0 > (uint64_t)LOCK_WAIT_S * 1000000000u) {
			fprintf(human, "(waited %d s: replaying anyway)\n", LOCK_WAIT_S);
			close(fd);
			*waited_s = LOCK_WAIT_S;
			return -1;
		}
		struct timespec ts = { 0, 50000000 };
		nanosleep(&ts, NULL);
	}
	*waited_s = (double)(gs_now_ns() - t0) / 1e9;
	return fd;
}

static void release_replay_lock(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* One attempt's results, swapped with the run's kept ones. */
struct try_out {
	struct replay_result res;
	struct gs_analysis an;
	struct gs_figures fig;
	struct comparison cmp;
};

static void try_free(struct try_out *t)
{
	replay_result_free(&t->res);
	comparison_free(&t->cmp);
	gs_figures_free(&t->fig);
	gs_analysis_free(&t->an);
}

static char *attempt_path(const char *trace, size_t k)
{
	char *p = malloc(strlen(trace) + 32);
	if (p)
		sprintf(p, "%s.attempt%zu", trace, k + 1);
	return p;
}

struct run_opts {
	const char *source;
	unsigned unit_ns;
	int os_prio;
	double ns_per_iter;
	uint64_t wake_latency_ns;
	double tolerance, sigmas;
	unsigned attempts;
	double max_delay;          /* MACHINE_DELAY_LIMIT unless --max-delay */
	FILE *human;
};

/* One replay and its comparison with the original, into t (traced to path). */
static int do_try(struct run *r, const char *path, const struct gs_phase_program *prog,
		  const struct gs_figures *orig, const struct run_opts *ro,
		  struct try_out *t, double *lock_wait_s)
{
	char err[600];
	struct replay_opts o = {
		.params = r->params,
		.trace_out = path,
		.source_path = ro->source,
		.unit_ns = ro->unit_ns,
		.apply_os_prio = ro->os_prio,
		.ns_per_iter = ro->ns_per_iter,
		.wake_latency_ns = ro->wake_latency_ns,
	};
	int lock = take_replay_lock(ro->human, lock_wait_s);
	int rc = replay_run(prog, &o, &t->res, err, sizeof(err));
	release_replay_lock(lock);
	if (rc != 0) {
		fprintf(stderr, "gilscope replay: %s replay: %s\n", r->label, err);
		return -1;
	}
	struct gs_analyze_opts ao = { 0 };
	if (gs_analyze(path, &ao, &t->an, err, sizeof(err)) != 0) {
		fprintf(stderr, "gilscope replay: reading the %s replay: %s\n", r->label, err);
		return -1;
	}
	struct tid_map map = { .prog = prog, .replay_tids = t->res.tids };
	size_t nkeys = ro->tolerance > 0 ? sizeof(checked_keys) / sizeof(checked_keys[0]) : 0;
	if (gs_figures_from_metrics(t->an.metrics, &t->fig) != 0 ||
	    compare_figures(orig, &t->fig, ro->tolerance, ro->sigmas, checked_keys, nkeys,
			    match_by_tid, &map, &t->cmp) != 0) {
		fprintf(stderr, "gilscope replay: out of memory\n");
		return -1;
	}
	return 0;
}

/*
 * Replays up to ro->attempts times while the machine delayed the replay
 * (MACHINE_DELAY_LIMIT), pausing a little longer before each new attempt
 * (a build's burst of load lasts seconds), and keeps the least delayed
 * attempt, whatever its check says: all attempts are reported.
 */
static int do_run(struct run *r, const struct gs_phase_program *prog,
		  const struct gs_figures *orig, const struct run_opts *ro)
{
	int rc = 0;
	for (size_t k = 0; k < ro->attempts && k < MAX_ATTEMPTS; k++) {
		if (k) {
			fprintf(ro->human, "(%s replay: the machine delayed it %.0f%% "
				"of its time: attempt %zu of up to %u in %zu s)\n",
				r->label, 100 * machine_delay(&r->attempts[k - 1].machine),
				k + 1, ro->attempts, k);
			sleep((unsigned)k);
		}
		char *path = k ? attempt_path(r->trace, k) : NULL;
		if (k && !path) {
			fprintf(stderr, "gilscope replay: out of memory\n");
			return -1;
		}
		struct try_out t = { 0 };
		struct attempt *a = &r->attempts[k];
		if (do_try(r, k ? path : r->trace, prog, orig, ro, &t, &a->lock_wait_s) != 0) {
			try_free(&t);
			free(path);
			rc = -1;
			break;
		}
		r->nattempts = k + 1;
		a->machine = t.res.machine;
		a->wall_s = t.res.wall_s;
		a->checked = t.cmp.checked;
		a->failed = t.cmp.failed;
		a->delayed = machine_delayed(&a->machine, ro->max_delay);
		if (!r->done || machine_delay(&a->machine) <
				machine_delay(&r->attempts[r->chosen].machine)) {
			/* keep this one: its trace goes where the run's belongs */
			if (k && rename(path, r->trace) != 0) {
				fprintf(stderr, "gilscope replay: cannot move %s to %s: %s\n",
					path, r->trace, strerror(errno));
				try_free(&t);
				free(path);
				rc = -1;
				break;
			}
			if (r->done) {
				struct try_out old = { r->res, r->an, r->fig, r->cmp };
				try_free(&old);
			}
			r->res = t.res;
			r->an = t.an;
			r->an.info.path = r->trace; /* not the attempt's, freed below */
			r->fig = t.fig;
			r->cmp = t.cmp;
			r->chosen = k;
			r->done = 1;
		} else {
			if (path)
				unlink(path);
			try_free(&t);
		}
		free(path);
		if (!a->delayed)
			break;
	}
	return rc;
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

/* Every attempt of a run that needed more than one. */
static void print_attempts(FILE *out, const struct run *r)
{
	if (r->nattempts < 2)
		return;
	fprintf(out, "Attempts (the least delayed by the machine is kept, whatever "
		"its check):\n  %-8s %10s %8s %8s %10s %s\n", "ATTEMPT", "RUN QUEUE",
		"STEAL", "WALL s", "CHECK", "");
	for (size_t k = 0; k < r->nattempts; k++) {
		const struct attempt *a = &r->attempts[k];
		char check[32] = "-";
		if (a->checked)
			snprintf(check, sizeof(check), "%zu/%zu ok", a->checked - a->failed,
				 a->checked);
		fprintf(out, "  %-8zu %9.1f%% %7.1f%% %8.2f %10s %s\n", k + 1,
			100 * share(a->machine.runq_ns, a->machine.thread_ns),
			100 * share(a->machine.steal_ns, a->machine.cpu_ns), a->wall_s, check,
			k == r->chosen ? "kept" : a->delayed ? "delayed" : "");
	}
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
	if (m->have_steal && steal >= MACHINE_DELAY_LIMIT)
		snprintf(buf, len, "the hypervisor: it took %.0f%% of the CPUs' time "
			 "(steal) while the replay ran; retry when the host is quieter",
			 100 * steal);
	else if (m->have_schedstat && runq >= MACHINE_DELAY_LIMIT)
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
	/* every attempt, the kept one included */
	json_begin_array(j, "attempts");
	for (size_t k = 0; k < r->nattempts; k++) {
		const struct attempt *a = &r->attempts[k];
		json_begin_object(j, NULL);
		json_uint(j, "attempt", k + 1);
		if (a->machine.have_schedstat)
			json_double(j, "run_queue_share",
				    share(a->machine.runq_ns, a->machine.thread_ns));
		else
			json_null(j, "run_queue_share");
		if (a->machine.have_steal)
			json_double(j, "steal_share", share(a->machine.steal_ns, a->machine.cpu_ns));
		else
			json_null(j, "steal_share");
		json_bool(j, "delayed", a->delayed);
		json_double(j, "wall_s", a->wall_s);
		json_double(j, "lock_wait_s", a->lock_wait_s);
		if (a->checked) {
			json_uint(j, "checked", a->checked);
			json_uint(j, "missed", a->failed);
		}
		json_bool(j, "kept", k == r->chosen);
		json_end(j);
	}
	json_end(j);
	compare_json(j, "vs_original", &r->cmp);
	json_end(j);
}

/* A number from 0 to max: cli_parse_double's bounds are exclusive. */
static int parse_from_zero(const char *opt, const char *arg, double max,
			   const char *what, double *out)
{
	if (cli_parse_double("replay", opt, arg, -1, max, what, out))
		return -1;
	if (*out < 0) {
		fprintf(stderr, "gilscope replay: --%s wants %s >= 0, not '%s'\n", opt,
			what, arg);
		return -1;
	}
	return 0;
}

int cmd_replay(int argc, char **argv)
{
	enum { OPT_TICKS = 256, OPT_NOSELF, OPT_TOL, OPT_UNIT, OPT_OSPRIO,
	       OPT_TRUNC, OPT_SIGMAS, OPT_INTERVAL_US, OPT_RT, OPT_NO_RT,
	       OPT_ATTEMPTS, OPT_RECORDED_INTERVAL, OPT_MAX_DELAY };
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
		{ "attempts", required_argument, NULL, OPT_ATTEMPTS },
		{ "max-delay", required_argument, NULL, OPT_MAX_DELAY },
		{ "recorded-interval", required_argument, NULL, OPT_RECORDED_INTERVAL },
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
	long interval_us = 0, check_ticks = 0, unit_ns = 200, attempts = 3;
	long recorded_interval_us = 0;
	double tolerance = 15, sigmas = GS_CONFIDENCE_K, max_delay = 100 * MACHINE_DELAY_LIMIT;
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
		case OPT_ATTEMPTS:
			if (cli_parse_long("replay", "attempts", optarg, 1, MAX_ATTEMPTS,
					   "a number of attempts from 1 to 9", &attempts))
				return 2;
			break;
		case OPT_MAX_DELAY: /* 0: every attempt runs */
			if (parse_from_zero("max-delay", optarg, 100, "a percentage",
					    &max_delay))
				return 2;
			break;
		case OPT_RECORDED_INTERVAL: {
			uint64_t us;
			if (cli_parse_gil_interval("replay", 0, optarg, &us))
				return 2;
			recorded_interval_us = (long)us;
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
		case OPT_SIGMAS: /* 0: the fixed tolerance alone */
			if (parse_from_zero("sigmas", optarg, 100,
					    "a number of standard errors", &sigmas))
				return 2;
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
	if (recorded_interval_us) {
		/* the trace cannot know a sys.setswitchinterval() the program
		 * made; the user does */
		self.params.interval_us = (unsigned)recorded_interval_us;
		recorded_why = "--recorded-interval";
	}
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

	struct run_opts ro = {
		.source = trace,
		.unit_ns = (unsigned)unit_ns,
		.os_prio = os_prio,
		.ns_per_iter = ns_per_iter,
		.wake_latency_ns = wake_ns,
		.tolerance = tolerance / 100.0,
		.sigmas = sigmas,
		.attempts = (unsigned)attempts,
		.max_delay = max_delay / 100.0,
		.human = human,
	};
	if (self_check) {
		if (do_run(&self, &prog, &orig, &ro) != 0) {
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
			print_attempts(stdout, &self);
		}
		if (self.cmp.failed)
			rc = 3;
	}
	if (want_what) {
		ro.tolerance = 0;
		ro.sigmas = 0;
		if (do_run(&what, &prog, &orig, &ro) != 0) {
			rc = 1;
			goto out;
		}
		if (!json) {
			printf("\nWhat-if: replay under ");
			describe_params(stdout, &what.params);
			printf(" vs the original (%s)\n", what.trace);
			compare_print(stdout, &what.cmp, "original", "what-if", 25);
			print_attempts(stdout, &what);
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
