/* SPDX-License-Identifier: MIT */
/* The probes' cost over a stretch of a session, one pricing for record and
 * top (cost_meter.h). */
#define _GNU_SOURCE
#include "cost_meter.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "clock.h"
#include "gilscope.skel.h"
#include "procfs.h"

static uint64_t hits_now(struct gs_session *s)
{
	uint64_t cnt[GSB_CNT_MAX];
	gs_session_counters(s, cnt);
	return gs_session_gil_hits(cnt);
}

static void window_open(struct gs_cost_meter *m)
{
	if (m->window_open || m->marked || gs_calib_stats_on(&m->cal))
		return;
	m->window_open = 1;
	m->window_t0 = gs_now_ns();
	m->window_ns0 = gs_calib_prog_ns(&m->cal, m->s->skel->obj);
	m->window_hits0 = hits_now(m->s);
}

/* What the open window saw so far (ns, hits). */
static void window_peek(struct gs_cost_meter *m, uint64_t *ns, uint64_t *hits)
{
	*ns = *hits = 0;
	if (!m->window_open)
		return;
	*ns = gs_calib_prog_ns(&m->cal, m->s->skel->obj) - m->window_ns0;
	*hits = hits_now(m->s) - m->window_hits0;
}

static void window_close(struct gs_cost_meter *m)
{
	uint64_t ns, hits;
	window_peek(m, &ns, &hits);
	if (!m->window_open)
		return;
	m->win_ns += ns;
	m->win_hits += hits;
	m->window_open = 0;
	gs_calib_stats_off(&m->cal);
	if (m->win_hits >= GS_COST_FIRST_HITS)
		m->first_window = 0;
}

/* The CPU whose GIL probe hits grew most since the last call (the
 * counters are per CPU), or where the target last ran when none did
 * (/proc/PID/stat's processor); -1 when neither is known. */
static int busiest_cpu(struct gs_cost_meter *m)
{
	int best = -1;
	uint64_t best_n = 0;
	uint64_t *now = m->ncpu > 0 ? calloc((size_t)m->ncpu, sizeof(uint64_t)) : NULL;
	if (now && m->cpu_hits && !gs_session_gil_hits_per_cpu(m->s, now, m->ncpu)) {
		for (int c = 0; c < m->ncpu; c++) {
			if (now[c] - m->cpu_hits[c] > best_n) {
				best_n = now[c] - m->cpu_hits[c];
				best = c;
			}
			m->cpu_hits[c] = now[c];
		}
	}
	free(now);
	if (best >= 0)
		return best;
	return gs_proc_last_cpu((uint32_t)m->s->pid);
}

/* One calibration sample on the CPU the target's probes ran on: a trap's
 * price is paid there, and this machine's vCPUs run at different speeds
 * at the same moment (two copies of one program at once on the two CPUs
 * differed by -19..+30 % in CPU time: docs/performance.md, item 12), so a
 * sample on the recorder's own CPU prices another CPU's speed. When the
 * affinity cannot be changed (a cpuset), the sample runs where it is. */
static void sample_on_target_cpu(struct gs_cost_meter *m)
{
	int cpu = busiest_cpu(m);
	cpu_set_t saved, one;
	int moved = 0;
	if (cpu >= 0 && cpu < CPU_SETSIZE && !sched_getaffinity(0, sizeof(saved), &saved)) {
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		moved = !sched_setaffinity(0, sizeof(one), &one);
	}
	gs_calib_sample(&m->cal);
	if (moved)
		sched_setaffinity(0, sizeof(saved), &saved);
	m->last_sample_ns = gs_now_ns();
}

int gs_cost_meter_start(struct gs_cost_meter *m, struct gs_session *s)
{
	memset(m, 0, sizeof(*m));
	m->s = s;
	m->calibrating = !gs_calib_start(&m->cal);
	if (m->calibrating) {
		m->ncpu = libbpf_num_possible_cpus();
		m->cpu_hits = m->ncpu > 0 ? calloc((size_t)m->ncpu, sizeof(uint64_t)) : NULL;
		m->start_ns = gs_now_ns();
		sample_on_target_cpu(m);
		m->first_window = 1;
		window_open(m);
	} else if (s->opts->verbose)
		fprintf(stderr, "%s: no calibration of the probes' cost (BPF "
			"statistics or the calibration probe unavailable): the "
			"estimate uses the constants\n", s->opts->prog);
	return m->calibrating;
}

int gs_cost_meter_due(const struct gs_cost_meter *m)
{
	if (!m->calibrating)
		return 0;
	uint64_t now = gs_now_ns();
	if (now - m->start_ns <= GS_COST_BURST * GS_COST_BURST_NS)
		return now - m->last_sample_ns >= GS_COST_BURST_NS;
	return now - m->last_sample_ns >= GS_COST_SAMPLE_NS;
}

void gs_cost_meter_sample(struct gs_cost_meter *m)
{
	if (!m->calibrating)
		return;
	/* the sample turns the statistics off for its timed calls */
	window_close(m);
	sample_on_target_cpu(m);
	window_open(m);
}

void gs_cost_meter_tick(struct gs_cost_meter *m)
{
	if (!m->window_open || gs_now_ns() - m->window_t0 < GS_COST_WINDOW_NS)
		return;
	if (m->first_window) {
		uint64_t ns, hits;
		window_peek(m, &ns, &hits);
		if (m->win_hits + hits < GS_COST_FIRST_HITS)
			return;
	}
	window_close(m);
}

void gs_cost_meter_mark(struct gs_cost_meter *m)
{
	if (!m->calibrating)
		return;
	window_close(m);
	m->marked = 1;
}

static uint64_t return_hits(const uint64_t c[GSB_CNT_MAX])
{
	return c[GSB_HIT_TAKE_RET] + c[GSB_HIT_COND_WAIT_RET] + c[GSB_HIT_ACQ2_TAIL];
}

void gs_cost_meter_read(struct gs_cost_meter *m, const uint64_t cnt[GSB_CNT_MAX],
			uint64_t stack_events, struct gs_probe_cost *out)
{
	struct gs_session *s = m->s;
	memset(out, 0, sizeof(*out));
	double trap = m->calibrating ? gs_calib_trap_ns(&m->cal) : -1;
	double ret = m->calibrating ? gs_calib_ret_ns(&m->cal) : -1;
	double refill = m->calibrating ? gs_calib_refill_ns(&m->cal) : -1;
	/* the programs' run time per hit in the windows, open one included */
	double prog_ns = 0;
	if (m->calibrating) {
		uint64_t ns, hits;
		window_peek(m, &ns, &hits);
		ns += m->win_ns;
		hits += m->win_hits;
		if (hits)
			prog_ns = (double)ns / (double)hits *
				  (double)gs_session_gil_hits(cnt);
	}
	out->calibrated = trap > 0 && ret > 0;
	if (out->calibrated) {
		s->trap_ns = trap;
		s->ret_ns = ret;
		s->refill_ns = refill > 0 ? refill : 0;
		out->samples = m->cal.nsamples;
		gs_calib_spread(&m->cal, out->trap_spread, out->refill_spread);
		/* the programs' measured run time holds their stack walks */
		out->bpf_ns = prog_ns;
	} else {
		s->trap_ns = s->ret_ns = s->refill_ns = 0;
		out->stacks_ns = ((s->opts->pystacks ? GS_COST_PYSTACK_NS : 0) +
				  (s->opts->native ? GS_COST_NATIVE_NS : 0)) *
				 (double)stack_events;
	}
	out->trap_ns = s->trap_ns > 0 ? s->trap_ns : GS_COST_UPROBE_NS;
	out->ret_ns = s->ret_ns > 0 ? s->ret_ns : GS_COST_URETPROBE_NS;
	out->refill_ns = s->refill_ns;
	out->traps_ns = gs_session_cost_ns(s, cnt);
	out->total_ns = out->traps_ns + out->bpf_ns + out->stacks_ns;
	out->hits = gs_session_gil_hits(cnt);
	out->return_hits = return_hits(cnt);
	out->traps = out->hits - cnt[GSB_HIT_USDT] + cnt[GSB_HIT_ACQ2_TAIL];
	for (int k = 0; k < GSB_CNT_MAX; k++)
		if (s->single_step[k])
			out->single_stepped_hits += cnt[k];
}

void gs_cost_meter_end(struct gs_cost_meter *m)
{
	if (m->calibrating) {
		window_close(m);
		gs_calib_end(&m->cal);
	}
	free(m->cpu_hits);
	m->cpu_hits = NULL;
	m->calibrating = 0;
}
