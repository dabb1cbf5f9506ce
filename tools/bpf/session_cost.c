/* SPDX-License-Identifier: MIT */
/* What a session's probes were hit, what that cost, and the lines that say
 * which probes are in use (docs/observer-effect.md). */
#define _GNU_SOURCE
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "calibrate.h"
#include "cost_model.h"
#include "gilscope.skel.h"
#include "probe_sites.h"
#include "symfree.h"

void gs_session_counters(struct gs_session *s, uint64_t out[GSB_CNT_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	memset(out, 0, sizeof(uint64_t) * GSB_CNT_MAX);
	if (ncpu <= 0 || !s->skel)
		return;
	uint64_t *vals = calloc((size_t)ncpu, sizeof(uint64_t));
	if (!vals)
		return;
	int fd = bpf_map__fd(s->skel->maps.counters);
	for (__u32 k = 0; k < GSB_CNT_MAX; k++) {
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
	free(vals);
}

/* The counter slots that count GIL probe hits (not the scheduler's). */
static int gil_hit_slot(int k)
{
	return k >= GSB_HIT_USDT && k < GSB_CNT_WAIT_ONCPU_NS && k != GSB_HIT_SCHED &&
	       k != GSB_CNT_GILS_FOUND;
}

uint64_t gs_session_gil_hits(const uint64_t c[GSB_CNT_MAX])
{
	uint64_t n = 0;
	for (int k = 0; k < GSB_CNT_MAX; k++)
		if (gil_hit_slot(k))
			n += c[k];
	return n;
}

int gs_session_gil_hits_per_cpu(struct gs_session *s, uint64_t *out, int ncpu)
{
	memset(out, 0, sizeof(uint64_t) * (size_t)ncpu);
	if (ncpu != libbpf_num_possible_cpus() || !s->skel)
		return -1;
	uint64_t *vals = calloc((size_t)ncpu, sizeof(uint64_t));
	if (!vals)
		return -1;
	int fd = bpf_map__fd(s->skel->maps.counters);
	for (__u32 k = 0; k < GSB_CNT_MAX; k++) {
		if (!gil_hit_slot((int)k) || bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[c] += vals[c];
	}
	free(vals);
	return 0;
}

double gs_session_cost_ns(struct gs_session *s, const uint64_t c[GSB_CNT_MAX])
{
	/* the refill follows every trap, single-stepped or not */
	double ns = 0, refill = s->trap_ns > 0 && s->refill_ns > 0 ? s->refill_ns : 0,
	       uprobe = s->trap_ns > 0 ? s->trap_ns : GS_COST_UPROBE_NS,
	       uret = s->ret_ns > 0 ? s->ret_ns : GS_COST_URETPROBE_NS;
	for (int k = GSB_HIT_USDT; k < GSB_CNT_WAIT_ONCPU_NS; k++) {
		double per;
		switch (k) {
		case GSB_HIT_USDT: per = GS_COST_USDT_NS; break;
		case GSB_CNT_GILS_FOUND: per = 0; break;
		case GSB_HIT_TAKE_RET:
		case GSB_HIT_COND_WAIT_RET:
			per = (s->single_step[k] ? GS_COST_URETPROBE_SS_NS : uret) + refill;
			break;
		/* only the hits on the target's threads cost the target
		 * (GSB_CNT_SCHED_TARGET, below) */
		case GSB_HIT_SCHED: per = 0; break;
		case GSB_HIT_ACQ2_TAIL: /* a return probe with no entry program */
			per = (s->single_step[k] ? GS_COST_UPROBE_SS_NS : uprobe) + uret +
			      2 * refill;
			break;
		default:
			per = (s->single_step[k] ? GS_COST_UPROBE_SS_NS : uprobe) + refill;
		}
		ns += per * (double)c[k];
	}
	return ns + GS_COST_SCHED_NS * (double)c[GSB_CNT_SCHED_TARGET];
}

/* The probes' work is CPU time the traced threads spend in the kernel (the
 * trap, the BPF program); a CPU-bound program's run grows by what its
 * threads spend on its path, whether or not the machine is loaded (on a
 * loaded one a thread's wall time is its CPU time over its share of a
 * CPU). The model and why: cost_model.h. */
/* The re-take histograms (gilscope_bpf.h), summed over the CPUs: quiet
 * first, then woken. 0, or -1 when unreadable. */
static int retake_hist(struct gs_session *s,
		       unsigned long long out[2 * GSB_RETAKE_SLOTS])
{
	int ncpu = libbpf_num_possible_cpus();
	memset(out, 0, sizeof(unsigned long long) * 2 * GSB_RETAKE_SLOTS);
	if (ncpu <= 0 || !s || !s->skel)
		return -1;
	uint64_t *vals = calloc((size_t)ncpu, sizeof(uint64_t));
	if (!vals)
		return -1;
	int fd = bpf_map__fd(s->skel->maps.retake_hist);
	for (__u32 k = 0; k < 2 * GSB_RETAKE_SLOTS; k++) {
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
	free(vals);
	return 0;
}

void gs_session_retake_medians(struct gs_session *s, double *quiet_ns,
			       double *woke_ns)
{
	unsigned long long h[2 * GSB_RETAKE_SLOTS];
	*quiet_ns = *woke_ns = 0;
	if (retake_hist(s, h))
		return;
	*quiet_ns = gs_slots_median(h, GSB_RETAKE_SLOTS, GSB_RETAKE_SLOT_NS);
	*woke_ns = gs_slots_median(h + GSB_RETAKE_SLOTS, GSB_RETAKE_SLOTS,
				  GSB_RETAKE_SLOT_NS);
}

double gs_session_sched_prog_ns(struct gs_session *s)
{
	if (!s || !s->skel)
		return 0;
	struct gilscope_bpf *k = s->skel;
	struct bpf_program *progs[] = {
		k->progs.tp_sched_switch, k->progs.tp_sched_wakeup,
		k->progs.tp_sched_wakeup_new, k->progs.raw_sched_switch,
		k->progs.raw_sched_wakeup, k->progs.raw_sched_wakeup_new,
	};
	uint64_t ns = 0, runs = 0;
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++) {
		int fd = bpf_program__fd(progs[i]);
		uint64_t pns, pruns;
		if (!bpf_program__autoload(progs[i]) || fd < 0 ||
		    gs_calib_prog_stats(fd, &pns, &pruns))
			continue;
		ns += pns;
		runs += pruns;
	}
	return runs ? (double)ns / (double)runs : 0;
}

double gs_session_estimate(const uint64_t c[GSB_CNT_MAX], double cost_ns,
			   double refill_ns, double cpu_ns, double sys_ns,
			   double wall_ns, double quiet_median_ns,
			   double woke_median_ns, double sched_prog_ns,
			   struct gs_cost_est *e)
{
	struct gs_cost_obs o = {
		.quiet_median_ns = quiet_median_ns,
		.woke_median_ns = woke_median_ns,
		.cost_ns = cost_ns,
		.refill_ns = refill_ns,
		.cpu_ns = cpu_ns,
		.sys_ns = sys_ns,
		.wall_ns = wall_ns,
		.off_path_ns = (double)c[GSB_CNT_WAIT_ONCPU_NS],
		.ticks = (double)c[GSB_CNT_TICKS],
		.sleeps = (double)c[GSB_CNT_WAITER_SLEEPS],
		.cycles = (double)c[GSB_CNT_CYCLES],
		.cycles_ns = (double)c[GSB_CNT_CYCLES_NS],
		/* a waiter's cycle runs three of its scheduler hits: its
		 * wake-up, its switch in and the switch out to sleep */
		.cycle_probe_ns = 3 * (sched_prog_ns > 0 ? sched_prog_ns : GS_COST_SCHED_NS),
		.woke = (double)c[GSB_CNT_RETAKE_WOKE],
		.woke_ns = (double)c[GSB_CNT_RETAKE_WOKE_NS],
		.quiet = (double)c[GSB_CNT_RETAKE_QUIET],
		.quiet_ns = (double)c[GSB_CNT_RETAKE_QUIET_NS],
	};
	return gs_cost_estimate(&o, e);
}

void gs_session_describe_sites(struct gs_session *s, FILE *out)
{
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "%s: ", s->opts->prog);
	gs_probe_sites_print(out, prefix, s->sites, s->nsites);
	for (int k = 0; k < GS_SYM_MAX; k++)
		if (s->target.sym[k].dropped)
			fprintf(out, "%s: %d more sites of %s not probed (over %d)\n",
				s->opts->prog, s->target.sym[k].dropped, gs_sym_name(k),
				GS_ELF_MAX_SITES);
	if (s->skipped_inline_take)
		fprintf(out, "%s: %d inlined copies of take_gil not probed (no return "
			"to probe there): acquisitions through them are missed\n",
			s->opts->prog, s->skipped_inline_take);
}

void gs_session_describe(struct gs_session *s, FILE *out)
{
	static const char *const slot_name[GSB_CNT_MAX] = {
		[GSB_HIT_USDT] = "gil:* USDT",
		[GSB_HIT_TAKE_ENTRY] = "take_gil",
		[GSB_HIT_TAKE_RET] = "take_gil%return",
		[GSB_HIT_DROP] = "drop_gil",
		[GSB_HIT_SAVE] = "PyEval_SaveThread",
		[GSB_HIT_RESTORE] = "PyEval_RestoreThread",
		[GSB_HIT_ACQ2_ENTRY] = "PyThread_acquire_lock(call)",
		[GSB_HIT_ACQ2_RET] = "PyThread_acquire_lock(after)",
		[GSB_HIT_REL2] = "PyThread_release_lock(call)",
		[GSB_HIT_ACQ2_TAIL] = "PyEval_AcquireLock%return",
		[GSB_HIT_SCHED] = "sched_switch/wakeup",
		[GSB_HIT_COND_SIGNAL] = "libc:pthread_cond_signal",
		[GSB_HIT_COND_WAIT] = "libc:pthread_cond_timedwait",
		[GSB_HIT_COND_WAIT_RET] = "libc:pthread_cond_timedwait%return",
		[GSB_HIT_COND_INIT] = "libc:pthread_cond_init",
		[GSB_HIT_THREAD_EXIT] = "PyThreadState_DeleteCurrent",
	};
	struct gilscope_bpf *k = s->skel;
	struct { struct bpf_program *p; int slot; } used[] = {
		{ k->progs.usdt_acquired, GSB_HIT_USDT },
		{ k->progs.py3_take_gil, GSB_HIT_TAKE_ENTRY },
		{ k->progs.py3_take_gil_ret, GSB_HIT_TAKE_RET },
		{ k->progs.py3_drop_gil, GSB_HIT_DROP },
		{ k->progs.py3_save_thread, GSB_HIT_SAVE },
		{ k->progs.py_restore_thread, GSB_HIT_RESTORE },
		{ k->progs.py2_site, GSB_HIT_REL2 },
		{ k->progs.py2_site, GSB_HIT_ACQ2_ENTRY },
		{ k->progs.py2_site, GSB_HIT_ACQ2_RET },
		{ k->progs.py2_acquired_ret, GSB_HIT_ACQ2_TAIL },
		{ k->progs.pyc_cond_signal, GSB_HIT_COND_SIGNAL },
		{ k->progs.pyc_cond_timedwait, GSB_HIT_COND_WAIT },
		{ k->progs.pyc_cond_timedwait_ret, GSB_HIT_COND_WAIT_RET },
		{ k->progs.pyc_cond_init, GSB_HIT_COND_INIT },
		{ k->progs.py_thread_exit, GSB_HIT_THREAD_EXIT },
		{ s->sched_raw_tp ? k->progs.raw_sched_switch : k->progs.tp_sched_switch,
		  GSB_HIT_SCHED },
	};
	fprintf(out, "%s: %s GIL in %s (%s); probes:", s->opts->prog,
		s->target.policy_name, s->target.path,
		gs_symfree_name(s->target.symfree));
	for (size_t i = 0; i < sizeof(used) / sizeof(used[0]); i++) {
		if (!bpf_program__autoload(used[i].p))
			continue;
		int sl = used[i].slot;
		fprintf(out, " %s%s", slot_name[sl],
			sl == GSB_HIT_USDT || sl == GSB_HIT_SCHED ? ""
			: s->single_step[sl] ? "(single-stepped)" : "");
	}
	fprintf(out, " [%s]\n", s->opts->probes == GS_PROBES_FULL ? "full" : "light");
}
