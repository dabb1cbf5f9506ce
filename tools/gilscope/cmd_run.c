/* SPDX-License-Identifier: MIT */
/* gilscope run SCENARIO: the classic GIL experiments (docs/scenarios.md). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_parse.h"
#include "cli_suggest.h"
#include "commands.h"
#include "gil_events.h"
#include "json_writer.h"
#include "scenario.h"

static void usage(FILE *out)
{
	fprintf(out,
"Usage: gilscope run SCENARIO [OPTIONS]\n"
"\n"
"Run a GIL workload in this process on libgil and report what the GIL did.\n"
"SCENARIO is one of:\n"
"  countdown  fixed CPU work split over --threads N, against 1 thread\n"
"  convoy     echo server (GIL, real TCP on 127.0.0.1) beside --cpu-threads K\n"
"             CPU threads: solo, under the policy, and with the CPU threads\n"
"             off the GIL (the ceiling)\n"
"  priority   a timer-woken high-priority thread against K CPU threads:\n"
"             wake -> GIL latency percentiles\n"
"  io         threads doing file write/read/fsync and pipe I/O mixed with\n"
"             CPU work, beside K CPU threads\n"
"\n"
"GIL policy:\n"
"  -P, --policy P        legacy | cpython | fifo | prio   (default cpython)\n"
"  -i, --interval TIME   switch interval (cpython, fifo, prio; default 5ms);\n"
"                        a bare number is seconds: -i 0.001 = -i 1ms\n"
"      --interval-us U   the same in microseconds (default 5000)\n"
"      --check-ticks N   legacy: checks between releases (default 100)\n"
"      --sem             legacy: the lock is a sem_t (CPython 2.7 on Linux)\n"
"      --no-inherit      prio: no priority inheritance\n"
"\n"
"Workload:\n"
"  -T, --threads N       countdown workers / io threads (default 2)\n"
"  -k, --cpu-threads K   CPU-bound threads (default 1; priority: 2)\n"
"  -d, --duration TIME   length of each timed phase: 2 (seconds), 500ms\n"
"                        (default 1s; priority, io: 2s; not countdown)\n"
"      --units N         countdown: total work units (default 20000000)\n"
"      --msg-size B      convoy: request/response bytes (default 16)\n"
"      --server-units N  convoy: work units per request (default 20)\n"
"      --client-units N  convoy: the client's own CPU work per request, off\n"
"                        the GIL (default 0; a Python client spends ~400)\n"
"      --client-cmd CMD  convoy: the client is the program CMD (words split\n"
"                        at spaces) run as CMD PORT SECONDS MSG_SIZE THINK_US\n"
"                        in a process of its own, e.g. 'python3.11\n"
"                        bench/python/echo_client.py'; the CPU threads start\n"
"                        0.1 s before the server and req/s is counted by the\n"
"                        server, as in bench/python/echo_convoy.py\n"
"      --nonblocking-first  convoy: try recv/send without blocking first and\n"
"                        release the GIL only if it would block (gh-89977)\n"
"      --think-us U      convoy: client pause before each request, standing\n"
"                        for a remote peer's delay (default 20)\n"
"      --rounds R        convoy: repeat solo/policy/ceiling R times and\n"
"                        report medians (default 1; only round 1's policy\n"
"                        phase is traced and counted)\n"
"      --period-us U     priority: timer period (default 5000)\n"
"      --hp-units N      priority: work per wake-up (default 500)\n"
"      --sched S         priority: other | fifo (default other). fifo runs\n"
"                        the high-priority thread SCHED_FIFO (needs root)\n"
"      --pin             priority: pin every thread to one CPU, plus a\n"
"                        medium-priority duty-cycled hog off the GIL\n"
"      --hog-busy-us U   --pin hog: busy time per cycle (default 3000)\n"
"      --hog-sleep-us U  --pin hog: sleep per cycle (default 3000)\n"
"      --io-size B       io: bytes per operation (default 4096)\n"
"      --io-cpu-units N  io: CPU units between operations (default 2000)\n"
"      --fsync-every N   io: fsync after N writes, 0 = never (default 16)\n"
"      --dir DIR         io: where to make the temp dir (default $TMPDIR)\n"
"\n"
"Output:\n"
"  -o, --output TRACE    record the traced phase with the built-in recorder\n"
"                        (countdown: the N-thread run; convoy: the policy\n"
"                        phase; priority, io: the whole run)\n"
"  -j, --json            one JSON object on stdout instead of the summary\n"
"  -v, --verbose         progress on stderr\n"
"  -h, --help            this help\n"
"\n"
"SIGINT/SIGTERM end the run early: the numbers cover the shortened run and\n"
"say so, the trace is valid with its END block flagged interrupted, exit 0.\n"
"Options the scenario or policy would ignore are refused.\n"
"Exit: 0 ok (also when interrupted), 1 error, 2 usage (docs/cli.md).\n"
"\n"
"Examples:\n"
"  gilscope run countdown -T 2 --policy legacy\n"
"  gilscope run convoy --cpu-threads 1 --policy cpython -o convoy.gst\n"
"  gilscope run convoy -k 2 --policy prio --json\n"
"  gilscope run priority --sched fifo --pin --policy prio\n"
"  gilscope run io --threads 2 -k 1 -d 3\n");
}

static volatile sig_atomic_t got_signal;

static void on_signal(int signo)
{
	got_signal = signo;
	gs_scenario_request_stop();
}

enum {
	OPT_INTERVAL = 256, OPT_TICKS, OPT_SEM, OPT_NO_INHERIT, OPT_UNITS,
	OPT_MSG, OPT_SERVER_UNITS, OPT_NBFIRST, OPT_PERIOD, OPT_HP_UNITS,
	OPT_SCHED, OPT_PIN, OPT_HOG_BUSY, OPT_HOG_SLEEP, OPT_IO_SIZE,
	OPT_IO_CPU, OPT_FSYNC, OPT_DIR, OPT_THINK, OPT_ROUNDS, OPT_CLIENT_UNITS,
	OPT_CLIENT_CMD,
};

/* Which scenarios a workload option means something to (bit 1 << kind), so
 * that an option the chosen scenario would ignore is refused, not dropped. */
#define SCN(k) (1u << (k))
static const struct {
	int opt;
	const char *name, *hint;
	unsigned scenarios;
} scenario_options[] = {
	{ 'T', "threads", NULL, SCN(GS_SCN_COUNTDOWN) | SCN(GS_SCN_IO) },
	{ 'k', "cpu-threads", "countdown's threads are all CPU-bound: --threads",
	  SCN(GS_SCN_CONVOY) | SCN(GS_SCN_PRIORITY) | SCN(GS_SCN_IO) },
	{ 'd', "duration", "countdown runs until its work is done: --units",
	  SCN(GS_SCN_CONVOY) | SCN(GS_SCN_PRIORITY) | SCN(GS_SCN_IO) },
	{ OPT_UNITS, "units", NULL, SCN(GS_SCN_COUNTDOWN) },
	{ OPT_MSG, "msg-size", NULL, SCN(GS_SCN_CONVOY) },
	{ OPT_SERVER_UNITS, "server-units", NULL, SCN(GS_SCN_CONVOY) },
	{ OPT_CLIENT_UNITS, "client-units", NULL, SCN(GS_SCN_CONVOY) },
	{ OPT_CLIENT_CMD, "client-cmd", NULL, SCN(GS_SCN_CONVOY) },
	{ OPT_NBFIRST, "nonblocking-first", NULL, SCN(GS_SCN_CONVOY) },
	{ OPT_THINK, "think-us", NULL, SCN(GS_SCN_CONVOY) },
	{ OPT_ROUNDS, "rounds", NULL, SCN(GS_SCN_CONVOY) },
	{ OPT_PERIOD, "period-us", NULL, SCN(GS_SCN_PRIORITY) },
	{ OPT_HP_UNITS, "hp-units", NULL, SCN(GS_SCN_PRIORITY) },
	{ OPT_SCHED, "sched", NULL, SCN(GS_SCN_PRIORITY) },
	{ OPT_PIN, "pin", NULL, SCN(GS_SCN_PRIORITY) },
	{ OPT_HOG_BUSY, "hog-busy-us", NULL, SCN(GS_SCN_PRIORITY) },
	{ OPT_HOG_SLEEP, "hog-sleep-us", NULL, SCN(GS_SCN_PRIORITY) },
	{ OPT_IO_SIZE, "io-size", NULL, SCN(GS_SCN_IO) },
	{ OPT_IO_CPU, "io-cpu-units", NULL, SCN(GS_SCN_IO) },
	{ OPT_FSYNC, "fsync-every", NULL, SCN(GS_SCN_IO) },
	{ OPT_DIR, "dir", NULL, SCN(GS_SCN_IO) },
};

/* Returns 0, or prints why an option given does not fit SCENARIO or the
 * policy and returns -1. GIVEN is indexed by getopt's return value. */
static int refuse_ignored(const unsigned char *given, int kind, int policy,
			  int hog_set)
{
	const char *scn = gs_scenario_name((enum gs_scenario_kind)kind);
	for (size_t i = 0; i < sizeof(scenario_options) / sizeof(scenario_options[0]); i++) {
		if (!given[scenario_options[i].opt] ||
		    (scenario_options[i].scenarios & SCN(kind)))
			continue;
		fprintf(stderr, "gilscope run %s: --%s does not apply to %s "
			"(it is for", scn, scenario_options[i].name, scn);
		const char *sep = " ";
		for (int k = 0; k < GS_SCN_MAX; k++)
			if (scenario_options[i].scenarios & SCN(k)) {
				fprintf(stderr, "%s%s", sep,
					gs_scenario_name((enum gs_scenario_kind)k));
				sep = ", ";
			}
		fprintf(stderr, ")%s%s\n", scenario_options[i].hint &&
			kind == GS_SCN_COUNTDOWN ? "; " : "",
			scenario_options[i].hint && kind == GS_SCN_COUNTDOWN
				? scenario_options[i].hint : "");
		return -1;
	}
	if (hog_set && !given[OPT_PIN]) {
		fprintf(stderr, "gilscope run %s: --hog-busy-us and --hog-sleep-us "
			"shape the hog that --pin adds; add --pin\n", scn);
		return -1;
	}
	static const struct {
		int opt;
		const char *name;
		int policy; /* the one it applies to, or -1: all but legacy */
	} policy_options[] = {
		{ OPT_TICKS, "check-ticks", GIL_POLICY_LEGACY },
		{ OPT_SEM, "sem", GIL_POLICY_LEGACY },
		{ OPT_NO_INHERIT, "no-inherit", GIL_POLICY_PRIO },
		{ OPT_INTERVAL, "interval-us", -1 },
	};
	for (size_t i = 0; i < sizeof(policy_options) / sizeof(policy_options[0]); i++) {
		int p = policy_options[i].policy;
		if (!given[policy_options[i].opt] ||
		    (p >= 0 ? policy == p : policy != GIL_POLICY_LEGACY))
			continue;
		if (p >= 0)
			fprintf(stderr, "gilscope run: --%s applies to the %s policy "
				"only (this run: --policy %s)\n",
				policy_options[i].name,
				gil_policy_name((enum gil_policy)p),
				gil_policy_name((enum gil_policy)policy));
		else
			fprintf(stderr, "gilscope run: --%s does not apply to the "
				"legacy policy, which switches every --check-ticks "
				"checks\n", policy_options[i].name);
		return -1;
	}
	return 0;
}

/* --client-cmd: s split at blanks into argv (NULL-terminated, at most
 * max - 1 words); the words point into s. */
static int split_words(char *s, char **argv, size_t max)
{
	size_t n = 0;
	for (char *save = NULL, *w = strtok_r(s, " \t", &save); w;
	     w = strtok_r(NULL, " \t", &save)) {
		if (n + 1 >= max)
			return -1;
		argv[n++] = w;
	}
	argv[n] = NULL;
	return n ? 0 : -1;
}

static int parse_u64(const char *opt, const char *s, uint64_t max,
		     uint64_t *out)
{
	return cli_parse_u64("run", opt, s, 0, max, NULL, out);
}

/* A time option in microseconds: a bare number is us, a unit works too
 * (--think-us 1ms). */
static int parse_us(const char *opt, const char *s, unsigned max_us,
		    unsigned *out)
{
	uint64_t ns;
	if (cli_parse_time("run", opt, s, CLI_US, 0, (uint64_t)max_us * 1000, &ns))
		return -1;
	*out = (unsigned)(ns / 1000);
	return 0;
}

static int parse_uint(const char *opt, const char *s, unsigned max,
		      unsigned *out)
{
	uint64_t v;
	if (parse_u64(opt, s, max, &v))
		return -1;
	*out = (unsigned)v;
	return 0;
}

static const char *role_label(enum gil_role role)
{
	return gs_role_name((unsigned)role);
}

static void json_latency(struct json_writer *j, const char *key,
			 const struct gs_latency *l)
{
	json_begin_object(j, key);
	json_uint(j, "samples", l->samples);
	json_double(j, "p50", l->p50_us);
	json_double(j, "p90", l->p90_us);
	json_double(j, "p99", l->p99_us);
	json_double(j, "max", l->max_us);
	json_double(j, "mean", l->mean_us);
	json_end(j);
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

static void print_json(const struct gs_scenario_result *r,
		       const struct gs_scenario_opts *o)
{
	struct json_writer j;
	json_init(&j, stdout, 1);
	json_begin_object(&j, NULL);
	json_string(&j, "scenario", gs_scenario_name(r->kind));
	json_string(&j, "policy", gil_policy_name(r->params.policy));
	json_begin_object(&j, "params");
	json_uint(&j, "interval_us", r->params.interval_us);
	json_uint(&j, "check_ticks", r->params.check_ticks);
	json_bool(&j, "sem", r->params.legacy_use_sem);
	json_bool(&j, "prio_inherit", r->params.prio_inherit);
	json_double(&j, "duration_s", o->duration_s);
	json_end(&j);
	json_bool(&j, "interrupted", r->interrupted);
	json_double(&j, "work_unit_ns", r->work_unit_ns);
	json_string(&j, "traced_phase", gs_scenario_traced_phase(r->kind));
	if (r->traced) {
		json_begin_object(&j, "trace");
		json_string(&j, "path", o->trace_path);
		json_uint(&j, "records", r->trace_records);
		json_uint(&j, "lost", r->trace_lost);
		json_end(&j);
	} else {
		json_null(&j, "trace");
	}

	switch (r->kind) {
	case GS_SCN_COUNTDOWN:
		json_uint(&j, "nthreads", r->countdown.threads);
		json_uint(&j, "work_units", r->countdown.work_units);
		json_double(&j, "wall_s", r->countdown.wall_s);
		json_double(&j, "single_thread_wall_s",
			    r->countdown.single_thread_wall_s);
		json_double(&j, "slowdown", ratio(r->countdown.wall_s,
						  r->countdown.single_thread_wall_s));
		json_begin_object(&j, "handoffs");
		json_uint(&j, "attempted", r->runtime.handoffs_attempted);
		json_uint(&j, "failed", r->runtime.handoffs_failed);
		json_end(&j);
		break;
	case GS_SCN_CONVOY:
		json_uint(&j, "cpu_threads", r->convoy.cpu_threads);
		json_uint(&j, "msg_size", r->convoy.msg_size);
		json_double(&j, "phase_s", r->convoy.phase_s);
		json_bool(&j, "nonblocking_first", o->nonblocking_first);
		json_uint(&j, "think_us", r->convoy.client_think_us);
		json_uint(&j, "rounds", r->convoy.rounds);
		json_uint(&j, "server_units", r->convoy.server_units);
		json_uint(&j, "client_units", r->convoy.client_units);
		if (o->client_argv) {
			json_begin_array(&j, "client_cmd");
			for (char *const *a = o->client_argv; *a; a++)
				json_string(&j, NULL, *a);
			json_end(&j);
		} else {
			json_null(&j, "client_cmd");
		}
		json_double(&j, "solo_rps", r->convoy.solo_rps);
		json_double(&j, "rps", r->convoy.rps);
		json_double(&j, "ceiling_rps", r->convoy.ceiling_rps);
		json_double(&j, "rps_over_ceiling",
			    ratio(r->convoy.rps, r->convoy.ceiling_rps));
		json_double(&j, "cpu_work_per_s", r->convoy.cpu_work_per_s);
		json_double(&j, "ceiling_cpu_work_per_s",
			    r->convoy.ceiling_cpu_work_per_s);
		json_double(&j, "cpu_work_over_ceiling",
			    ratio(r->convoy.cpu_work_per_s,
				  r->convoy.ceiling_cpu_work_per_s));
		json_begin_object(&j, "requests");
		json_uint(&j, "solo", r->convoy.solo_requests);
		json_uint(&j, "policy", r->convoy.requests);
		json_uint(&j, "ceiling", r->convoy.ceiling_requests);
		json_end(&j);
		break;
	case GS_SCN_PRIORITY:
		json_uint(&j, "cpu_threads", r->priority.cpu_threads);
		json_uint(&j, "period_us", r->priority.period_us);
		json_string(&j, "sched",
			    r->priority.sched == GS_SCHED_FIFO ? "fifo" : "other");
		json_bool(&j, "pinned", r->priority.pinned);
		if (r->priority.pinned)
			json_uint(&j, "cpu", r->priority.cpu);
		else
			json_null(&j, "cpu");
		json_latency(&j, "latency_us", &r->priority.wake_to_gil);
		json_latency(&j, "timer_latency_us", &r->priority.timer);
		json_uint(&j, "overruns", r->priority.overruns);
		json_double(&j, "cpu_work_per_s", r->priority.cpu_work_per_s);
		json_double(&j, "hog_busy_fraction", r->priority.hog_busy_fraction);
		break;
	case GS_SCN_IO:
		json_uint(&j, "nthreads", r->io.threads);
		json_uint(&j, "cpu_threads", r->io.cpu_threads);
		json_uint(&j, "io_size", r->io.io_size);
		json_double(&j, "duration_s", r->io.duration_s);
		json_uint(&j, "ops", r->io.ops);
		json_double(&j, "ops_per_s", ratio((double)r->io.ops, r->io.duration_s));
		json_uint(&j, "bytes_read", r->io.bytes_read);
		json_uint(&j, "bytes_written", r->io.bytes_written);
		json_double(&j, "cpu_work_per_s", r->io.cpu_work_per_s);
		break;
	default:
		break;
	}

	json_begin_object(&j, "runtime");
	json_uint(&j, "acquisitions", r->runtime.acquisitions);
	json_uint(&j, "handoffs_attempted", r->runtime.handoffs_attempted);
	json_uint(&j, "handoffs_failed", r->runtime.handoffs_failed);
	json_uint(&j, "forced_drops", r->runtime.forced_drops);
	json_uint(&j, "drop_requests", r->runtime.drop_requests);
	json_uint(&j, "switches", r->runtime.switches);
	json_end(&j);

	json_begin_array(&j, "threads");
	for (unsigned i = 0; i < r->nthreads; i++) {
		const struct gs_thread_result *t = &r->threads[i];
		json_begin_object(&j, NULL);
		json_uint(&j, "tid", (uint64_t)t->tid);
		json_string(&j, "name", t->name);
		json_string(&j, "role", role_label(t->role));
		json_uint(&j, "acquisitions", t->stats.acquisitions);
		json_uint(&j, "contended", t->stats.contended);
		json_uint(&j, "releases_blocking", t->stats.releases_blocking);
		json_uint(&j, "releases_interval", t->stats.releases_interval);
		json_uint(&j, "releases_forced", t->stats.releases_forced);
		json_uint(&j, "drop_requests", t->stats.drop_requests);
		json_uint(&j, "hold_ns", t->stats.hold_ns);
		json_uint(&j, "wait_ns", t->stats.wait_ns);
		json_uint(&j, "checks", t->stats.checks);
		json_uint(&j, "work_units", t->work_units);
		json_uint(&j, "ops", t->ops);
		json_double(&j, "ops_per_s", ratio((double)t->ops, t->active_s));
		json_uint(&j, "bytes_read", t->bytes_read);
		json_uint(&j, "bytes_written", t->bytes_written);
		json_double(&j, "active_s", t->active_s);
		json_end(&j);
	}
	json_end(&j);
	json_end(&j);
}

static void print_params(const struct gs_scenario_result *r)
{
	const struct gil_params *p = &r->params;
	printf("policy %s", gil_policy_name(p->policy));
	if (p->policy == GIL_POLICY_LEGACY)
		printf(" (check every %u ticks%s)", p->check_ticks,
		       p->legacy_use_sem ? ", sem_t lock" : "");
	else
		printf(" (interval %u us%s)", p->interval_us,
		       p->policy == GIL_POLICY_PRIO && !p->prio_inherit
			       ? ", no inheritance" : "");
	printf(", work unit %.1f ns\n", r->work_unit_ns);
}

static void print_human(const struct gs_scenario_result *r,
			const struct gs_scenario_opts *o)
{
	printf("%s: ", gs_scenario_name(r->kind));
	print_params(r);
	switch (r->kind) {
	case GS_SCN_COUNTDOWN:
		printf("  %llu work units: 1 thread %.3f s, %u threads %.3f s "
		       "(x%.2f)\n",
		       (unsigned long long)r->countdown.work_units,
		       r->countdown.single_thread_wall_s, r->countdown.threads,
		       r->countdown.wall_s,
		       ratio(r->countdown.wall_s, r->countdown.single_thread_wall_s));
		printf("  handoffs: %llu attempted, %llu failed (%.1f%%)\n",
		       (unsigned long long)r->runtime.handoffs_attempted,
		       (unsigned long long)r->runtime.handoffs_failed,
		       100.0 * ratio((double)r->runtime.handoffs_failed,
				     (double)r->runtime.handoffs_attempted));
		break;
	case GS_SCN_CONVOY:
		printf("  %u CPU thread(s), %u-byte messages, think %u us, %.2f s "
		       "per phase%s", r->convoy.cpu_threads, r->convoy.msg_size,
		       r->convoy.client_think_us, r->convoy.phase_s,
		       o->nonblocking_first ? ", nonblocking-first" : "");
		if (r->convoy.rounds > 1)
			printf(", medians of %u rounds", r->convoy.rounds);
		printf("\n");
		printf("  %-9s %10.0f req/s\n", "solo", r->convoy.solo_rps);
		printf("  %-9s %10.0f req/s  %5.1f%% of ceiling   CPU work %.3g units/s\n",
		       "policy", r->convoy.rps,
		       100 * ratio(r->convoy.rps, r->convoy.ceiling_rps),
		       r->convoy.cpu_work_per_s);
		printf("  %-9s %10.0f req/s                      CPU work %.3g units/s\n",
		       "ceiling", r->convoy.ceiling_rps,
		       r->convoy.ceiling_cpu_work_per_s);
		break;
	case GS_SCN_PRIORITY: {
		const struct gs_latency *l = &r->priority.wake_to_gil;
		printf("  %u CPU thread(s), period %u us, sched %s%s\n",
		       r->priority.cpu_threads, r->priority.period_us,
		       r->priority.sched == GS_SCHED_FIFO ? "fifo" : "other",
		       r->priority.pinned ? ", pinned with hog" : "");
		printf("  wake->GIL latency (us, %llu samples): p50 %.1f  p90 %.1f  "
		       "p99 %.1f  max %.1f\n",
		       (unsigned long long)l->samples, l->p50_us, l->p90_us,
		       l->p99_us, l->max_us);
		l = &r->priority.timer;
		printf("  timer latency     (us): p50 %.1f  p99 %.1f  max %.1f; "
		       "%llu overruns\n", l->p50_us, l->p99_us, l->max_us,
		       (unsigned long long)r->priority.overruns);
		printf("  CPU work %.3g units/s\n", r->priority.cpu_work_per_s);
		break;
	}
	case GS_SCN_IO:
		printf("  %u I/O thread(s) + %u CPU thread(s), %u-byte ops, %.2f s: "
		       "%llu ops, %.0f ops/s, %llu B written, %llu B read, "
		       "CPU work %.3g units/s\n",
		       r->io.threads, r->io.cpu_threads, r->io.io_size,
		       r->io.duration_s, (unsigned long long)r->io.ops,
		       ratio((double)r->io.ops, r->io.duration_s),
		       (unsigned long long)r->io.bytes_written,
		       (unsigned long long)r->io.bytes_read, r->io.cpu_work_per_s);
		break;
	default:
		break;
	}
	printf("  GIL (%s phase): %llu acquisitions, %llu switches, handoffs "
	       "%llu/%llu failed, %llu drop requests, %llu forced drops\n",
	       gs_scenario_traced_phase(r->kind),
	       (unsigned long long)r->runtime.acquisitions,
	       (unsigned long long)r->runtime.switches,
	       (unsigned long long)r->runtime.handoffs_failed,
	       (unsigned long long)r->runtime.handoffs_attempted,
	       (unsigned long long)r->runtime.drop_requests,
	       (unsigned long long)r->runtime.forced_drops);
	printf("  %-7s %-13s %-9s %9s %9s %9s %9s %8s %10s %10s\n", "TID",
	       "NAME", "ROLE", "ACQUIRE", "CONTEND", "HOLD_ms", "WAIT_ms",
	       "FORCED", "OPS/s", "UNITS/s");
	for (unsigned i = 0; i < r->nthreads; i++) {
		const struct gs_thread_result *t = &r->threads[i];
		printf("  %-7d %-13.13s %-9s %9llu %9llu %9.1f %9.1f %8llu %10.0f "
		       "%10.3g\n",
		       (int)t->tid, t->name, role_label(t->role),
		       (unsigned long long)t->stats.acquisitions,
		       (unsigned long long)t->stats.contended,
		       (double)t->stats.hold_ns / 1e6,
		       (double)t->stats.wait_ns / 1e6,
		       (unsigned long long)t->stats.releases_forced,
		       ratio((double)t->ops, t->active_s),
		       ratio((double)t->work_units, t->active_s));
	}
	if (r->traced)
		printf("trace: %s (%llu records, %llu lost)\n", o->trace_path,
		       (unsigned long long)r->trace_records,
		       (unsigned long long)r->trace_lost);
	if (r->interrupted)
		printf("interrupted: the numbers cover a shortened run\n");
}

static void build_command(char *buf, size_t len, int argc, char **argv)
{
	size_t off = (size_t)snprintf(buf, len, "gilscope");
	for (int i = 0; i < argc && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, " %s", argv[i]);
}

int cmd_run(int argc, char **argv)
{
	static char *client_argv[32];
	static const struct option longopts[] = {
		{ "policy", required_argument, NULL, 'P' },
		CLI_OPT_INTERVAL,
		{ "interval-us", required_argument, NULL, OPT_INTERVAL },
		{ "check-ticks", required_argument, NULL, OPT_TICKS },
		{ "sem", no_argument, NULL, OPT_SEM },
		{ "no-inherit", no_argument, NULL, OPT_NO_INHERIT },
		{ "threads", required_argument, NULL, 'T' },
		{ "cpu-threads", required_argument, NULL, 'k' },
		CLI_OPT_DURATION,
		{ "units", required_argument, NULL, OPT_UNITS },
		{ "msg-size", required_argument, NULL, OPT_MSG },
		{ "server-units", required_argument, NULL, OPT_SERVER_UNITS },
		{ "client-units", required_argument, NULL, OPT_CLIENT_UNITS },
		{ "client-cmd", required_argument, NULL, OPT_CLIENT_CMD },
		{ "nonblocking-first", no_argument, NULL, OPT_NBFIRST },
		{ "think-us", required_argument, NULL, OPT_THINK },
		{ "rounds", required_argument, NULL, OPT_ROUNDS },
		{ "period-us", required_argument, NULL, OPT_PERIOD },
		{ "hp-units", required_argument, NULL, OPT_HP_UNITS },
		{ "sched", required_argument, NULL, OPT_SCHED },
		{ "pin", no_argument, NULL, OPT_PIN },
		{ "hog-busy-us", required_argument, NULL, OPT_HOG_BUSY },
		{ "hog-sleep-us", required_argument, NULL, OPT_HOG_SLEEP },
		{ "io-size", required_argument, NULL, OPT_IO_SIZE },
		{ "io-cpu-units", required_argument, NULL, OPT_IO_CPU },
		{ "fsync-every", required_argument, NULL, OPT_FSYNC },
		{ "dir", required_argument, NULL, OPT_DIR },
		CLI_OPT_OUTPUT,
		CLI_OPT_JSON,
		CLI_OPT_VERBOSE,
		CLI_OPT_HELP,
		{ NULL, 0, NULL, 0 },
	};

	int kind = -1;
	struct {
		int policy;
		unsigned interval_us, check_ticks;
		int sem, no_inherit, have_cpu, have_duration;
	} pol = { GIL_POLICY_CPYTHON, 0, 0, 0, 0, 0, 0 };
	struct gs_scenario_opts o, set;
	gs_scenario_opts_default(&set, GS_SCN_COUNTDOWN);
	int json = 0, opt;
	uint64_t u64;
	unsigned char given[OPT_ROUNDS + 1] = { 0 };

	/* Before getopt_long permutes argv. */
	char command[256];
	build_command(command, sizeof(command), argc, argv);

	static const struct cli_renamed renamed[] = {
		{ 't', "--threads (-t is a thread filter)",
		  "-T N or --threads N" },
		{ 0 },
	};
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "P:T:k:d:i:o:jvh", longopts,
				  NULL)) != -1) {
		if (opt > 0 && opt <= OPT_ROUNDS)
			given[opt] = 1;
		switch (opt) {
		case 'P':
			pol.policy = gil_policy_from_name(optarg);
			if (pol.policy < 0) {
				static const char *const names[] = {
					"legacy", "cpython", "fifo", "prio" };
				const char *near = cli_suggest(optarg, names, 4);
				fprintf(stderr, "gilscope run: unknown policy '%s'",
					optarg);
				if (near)
					fprintf(stderr, "; did you mean '%s'?\n", near);
				else
					fprintf(stderr, " (legacy, cpython, fifo, prio)\n");
				return 2;
			}
			break;
		case 'i':
		case OPT_INTERVAL: {
			uint64_t us;
			if (cli_parse_gil_interval("run", opt != 'i', optarg, &us))
				return 2;
			pol.interval_us = (unsigned)us;
			given[OPT_INTERVAL] = 1;
			break;
		}
		case OPT_TICKS:
			if (parse_uint("--check-ticks", optarg, 1000000000,
				       &pol.check_ticks))
				return 2;
			if (!pol.check_ticks) {
				fprintf(stderr, "gilscope run: --check-ticks must "
						"be >= 1\n");
				return 2;
			}
			break;
		case OPT_SEM: pol.sem = 1; break;
		case OPT_NO_INHERIT: pol.no_inherit = 1; break;
		case 'T':
			if (parse_uint("--threads", optarg, 256, &set.threads))
				return 2;
			break;
		case 'k':
			if (parse_uint("--cpu-threads", optarg, 256,
				       &set.cpu_threads))
				return 2;
			pol.have_cpu = 1;
			break;
		case 'd':
			if (cli_parse_seconds("run", "--duration", optarg, 1, 86400,
					      &set.duration_s))
				return 2;
			pol.have_duration = 1;
			break;
		case OPT_UNITS:
			if (parse_u64("--units", optarg, UINT64_MAX / 2, &u64))
				return 2;
			set.work_units = u64;
			break;
		case OPT_MSG:
			if (parse_uint("--msg-size", optarg, 65536, &set.msg_size))
				return 2;
			break;
		case OPT_SERVER_UNITS:
			if (parse_uint("--server-units", optarg, 100000000,
				       &set.server_units))
				return 2;
			break;
		case OPT_CLIENT_UNITS:
			if (parse_uint("--client-units", optarg, 100000000,
				       &set.client_units))
				return 2;
			break;
		case OPT_CLIENT_CMD:
			if (split_words(optarg, client_argv,
					sizeof(client_argv) / sizeof(client_argv[0]))) {
				fprintf(stderr, "gilscope run: --client-cmd '%s': "
					"expected 1 to %zu words\n", optarg,
					sizeof(client_argv) / sizeof(client_argv[0]) - 1);
				return 2;
			}
			set.client_argv = client_argv;
			break;
		case OPT_NBFIRST: set.nonblocking_first = 1; break;
		case OPT_ROUNDS:
			if (parse_uint("--rounds", optarg, 1000, &set.rounds))
				return 2;
			if (!set.rounds) {
				fprintf(stderr, "gilscope run: --rounds must be "
						">= 1\n");
				return 2;
			}
			break;
		case OPT_THINK:
			if (parse_us("--think-us", optarg, 1000000,
				       &set.client_think_us))
				return 2;
			break;
		case OPT_PERIOD:
			if (parse_us("--period-us", optarg, 10000000,
				       &set.period_us))
				return 2;
			break;
		case OPT_HP_UNITS:
			if (parse_uint("--hp-units", optarg, 100000000,
				       &set.hp_units))
				return 2;
			break;
		case OPT_SCHED:
			if (!strcmp(optarg, "fifo"))
				set.sched = GS_SCHED_FIFO;
			else if (!strcmp(optarg, "other"))
				set.sched = GS_SCHED_OTHER;
			else {
				fprintf(stderr, "gilscope run: --sched '%s': "
					"expected other or fifo\n", optarg);
				return 2;
			}
			break;
		case OPT_PIN: set.pin = 1; break;
		case OPT_HOG_BUSY:
			if (parse_us("--hog-busy-us", optarg, 1000000,
				       &set.hog_busy_us))
				return 2;
			break;
		case OPT_HOG_SLEEP:
			if (parse_us("--hog-sleep-us", optarg, 1000000,
				       &set.hog_sleep_us))
				return 2;
			break;
		case OPT_IO_SIZE:
			if (parse_uint("--io-size", optarg, 1 << 20, &set.io_size))
				return 2;
			break;
		case OPT_IO_CPU:
			if (parse_uint("--io-cpu-units", optarg, 100000000,
				       &set.io_cpu_units))
				return 2;
			break;
		case OPT_FSYNC:
			if (parse_uint("--fsync-every", optarg, 1000000,
				       &set.fsync_every))
				return 2;
			break;
		case OPT_DIR: set.dir = optarg; break;
		case 'o': set.trace_path = optarg; break;
		case 'j': json = 1; break;
		case 'v': set.verbose = 1; break;
		case 'h': usage(stdout); return 0;
		default: return cli_bad_option("run", argv, longopts, renamed);
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "gilscope run: which scenario? (countdown, convoy, "
				"priority, io)\nTry 'gilscope run --help'.\n");
		return 2;
	}
	if (optind + 1 < argc) {
		fprintf(stderr, "gilscope run: unexpected argument '%s'\n",
			argv[optind + 1]);
		return 2;
	}
	kind = gs_scenario_lookup(argv[optind]);
	if (kind < 0) {
		const char *names[GS_SCN_MAX];
		for (int k = 0; k < GS_SCN_MAX; k++)
			names[k] = gs_scenario_name((enum gs_scenario_kind)k);
		const char *near = cli_suggest(argv[optind], names, GS_SCN_MAX);
		fprintf(stderr, "gilscope run: unknown scenario '%s'", argv[optind]);
		if (near)
			fprintf(stderr, "; did you mean '%s'?\n", near);
		else
			fprintf(stderr, " (countdown, convoy, priority, io)\n");
		return 2;
	}

	if (refuse_ignored(given, kind, pol.policy,
			   given[OPT_HOG_BUSY] || given[OPT_HOG_SLEEP]))
		return 2;

	/* Options were parsed before the scenario was known: the two defaults
	 * that differ by scenario apply unless given. */
	gs_scenario_opts_default(&o, kind);
	if (!pol.have_cpu)
		set.cpu_threads = o.cpu_threads;
	if (!pol.have_duration)
		set.duration_s = o.duration_s;
	o = set;
	gil_params_default(&o.params, (enum gil_policy)pol.policy);
	if (pol.interval_us)
		o.params.interval_us = pol.interval_us;
	if (pol.check_ticks)
		o.params.check_ticks = pol.check_ticks;
	o.params.legacy_use_sem = pol.sem;
	if (pol.no_inherit)
		o.params.prio_inherit = 0;
	o.command = command;

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	struct sigaction old_int, old_term;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	gs_scenario_reset_stop();

	struct gs_scenario_result r;
	char err[512] = "";
	int rc = gs_scenario_run((enum gs_scenario_kind)kind, &o, &r, err,
				 sizeof(err));
	int e = errno;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (rc) {
		fprintf(stderr, "gilscope run %s: %s\n", argv[optind], err);
		(void)e;
		return 1;
	}
	if (json)
		print_json(&r, &o);
	else
		print_human(&r, &o);
	fflush(stdout);
	gs_scenario_result_free(&r);
	/* A signal is the way to end a run early, like ending a recording:
	 * the output is complete and says "interrupted" (docs/cli.md). */
	return 0;
}
