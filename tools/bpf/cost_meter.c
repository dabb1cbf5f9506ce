/* SPDX-License-Identifier: MIT */
/* The probes' cost over a stretch of a session, one pricing for record and
 * top (cost_meter.h). */
#include "cost_meter.h"

#include <string.h>

#include <bpf/libbpf.h>

#include "gilscope.skel.h"

int gs_cost_meter_start(struct gs_cost_meter *m, struct gs_session *s)
{
	memset(m, 0, sizeof(*m));
	m->s = s;
	m->calibrating = !gs_calib_start(&m->cal);
	if (m->calibrating) {
		gs_calib_sample(&m->cal);
		m->prog_ns_last = gs_calib_prog_ns(&m->cal, s->skel->obj);
	}
	return m->calibrating;
}

void gs_cost_meter_sample(struct gs_cost_meter *m)
{
	if (m->calibrating)
		gs_calib_sample(&m->cal);
}

void gs_cost_meter_mark(struct gs_cost_meter *m)
{
	if (m->calibrating)
		m->prog_ns_mark = gs_calib_prog_ns(&m->cal, m->s->skel->obj);
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
	uint64_t prog_ns = 0;
	if (m->calibrating) {
		uint64_t now = m->prog_ns_mark ? m->prog_ns_mark
			: gs_calib_prog_ns(&m->cal, s->skel->obj);
		prog_ns = now - m->prog_ns_last;
		m->prog_ns_last = now;
		m->prog_ns_mark = 0;
	}
	out->calibrated = trap > 0 && ret > 0;
	if (out->calibrated) {
		s->trap_ns = trap;
		s->ret_ns = ret;
		out->samples = m->cal.nsamples;
		/* the programs' measured run time holds their stack walks */
		out->bpf_ns = (double)prog_ns;
	} else {
		s->trap_ns = s->ret_ns = 0;
		out->stacks_ns = ((s->opts->pystacks ? GS_COST_PYSTACK_NS : 0) +
				  (s->opts->native ? GS_COST_NATIVE_NS : 0)) *
				 (double)stack_events;
	}
	out->trap_ns = s->trap_ns > 0 ? s->trap_ns : GS_COST_UPROBE_NS;
	out->ret_ns = s->ret_ns > 0 ? s->ret_ns : GS_COST_URETPROBE_NS;
	out->traps_ns = gs_session_cost_ns(s, cnt);
	out->total_ns = out->traps_ns + out->bpf_ns + out->stacks_ns;
	out->hits = gs_session_gil_hits(cnt);
	out->return_hits = return_hits(cnt);
	for (int k = 0; k < GSB_CNT_MAX; k++)
		if (s->single_step[k])
			out->single_stepped_hits += cnt[k];
}

void gs_cost_meter_end(struct gs_cost_meter *m)
{
	if (m->calibrating)
		gs_calib_end(&m->cal);
	m->calibrating = 0;
}
