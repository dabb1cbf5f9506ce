/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * CPython 2.7: what a probe at one of ceval.c's GIL call sites means
 * (enum gsb_py2_role in gilscope_bpf.h; the sites are found by
 * tools/bpf/symfree.c, gs_py27_gil_sites). Shared by gilscope.bpf.c
 * (record, top) and gilagg.bpf.c (exporter, top -a) so that both turn the
 * same sites into the same transitions of gil_state.bpf.h: a trace's
 * report and the exporter's counters of one process agree.
 *
 * No site lies between the eval loop's release at the check interval and
 * its re-take (docs/probe-placement.md): the re-take's request is timed in
 * the release's probe, by a second clock read after the release is counted.
 */
#ifndef GILSCOPE_PY27_SITES_BPF_H
#define GILSCOPE_PY27_SITES_BPF_H

#include "gil_state.bpf.h"

/* The lock passed to the call is the GIL: interpreter_lock's value, read at
 * its link-time address lock_vaddr plus the load bias (the probe's IP minus
 * the site's link-time address site_vaddr). Before threads exist
 * interpreter_lock is NULL and nothing is the GIL. */
static __always_inline int gsb_py2_is_gil(struct pt_regs *ctx, __u64 site_vaddr,
					  __u64 lock_vaddr, __u64 lock)
{
	__u64 bias = PT_REGS_IP(ctx) - site_vaddr;
	__u64 gil = 0;
	if (bpf_probe_read_user(&gil, sizeof(gil), (const void *)(bias + lock_vaddr)))
		return 0;
	return gil && gil == lock;
}

/* A call of PyThread_acquire_lock(interpreter_lock), or the eval loop's
 * re-take asked for at its release: the thread waits from ts on; the
 * GSB_PY2_ACQUIRED site after the call answers it. */
static __always_inline struct req_args gsb_py2_request(struct gsb_gil_state *g,
						       struct gsb_thread_state *st,
						       __u64 ts)
{
	struct req_args a = gsb_state_request(g, st, ts, why_from_last(st));
	st->in_acquire = 1;
	return a;
}

/* At a GSB_PY2_ACQUIRED site: 1 when the call that returned was the
 * thread's GIL request (gsb_py2_request saw interpreter_lock passed), which
 * this consumes; 0 for another lock or a request made before the attach. */
static __always_inline int gsb_py2_take_acquired(struct gsb_thread_state *st)
{
	if (!st || !st->in_acquire)
		return 0;
	st->in_acquire = 0;
	return 1;
}

/* The reason of a release at a site of role role: the check interval, a
 * blocking call (PyEval_SaveThread), the thread's last (after
 * PyThreadState_DeleteCurrent) or another voluntary one. */
static __always_inline __u8 gsb_py2_release_reason(__u32 role,
						   struct gsb_thread_state *st)
{
	__u8 reason = role == GSB_PY2_RELEASE_TICK ? GS_RELEASE_INTERVAL
		      : role == GSB_PY2_RELEASE_SAVE || !st->exiting
			      ? GS_RELEASE_BLOCKING
			      : GS_RELEASE_EXIT;
	if (reason == GS_RELEASE_EXIT)
		st->exiting = 0;
	st->in_save = 0;
	return reason;
}

#endif
