/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * Whether the function an entry uprobe sits on in libc was called by libc
 * itself. glibc's pthread_cond_timedwait, when its wait times out just as a
 * pthread_cond_signal picks it (nptl/pthread_cond_wait.c,
 * __condvar_cancel_waiting: "we effectively consumed a signal even though
 * we didn't want to"), sends a replacement signal: it calls
 * pthread_cond_signal on the same condition, on the waiting thread. On the
 * GIL's condition that call is no release by the waiter (CPython's
 * drop_gil calls from the interpreter's code, never from libc's), so the
 * symbol-free probes leave out signals whose return address is in libc's
 * executable segment. The segment's extent around the probed entry comes
 * in the probe's BPF cookie (gilscope_bpf.h, GSB_LIBC_TEXT_BEFORE_SHIFT);
 * without a cookie nothing is left out.
 */
#ifndef GILSCOPE_LIBC_CALLER_BPF_H
#define GILSCOPE_LIBC_CALLER_BPF_H

#include "gilscope_bpf.h"

static __always_inline int gsb_called_from_libc(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u64 before = cookie >> GSB_LIBC_TEXT_BEFORE_SHIFT;
	__u64 after = cookie & 0xffffffffull;
	__u64 entry = PT_REGS_IP(ctx), ret = 0;

	/* at the entry the return address is the word at the stack pointer */
	if (!cookie ||
	    bpf_probe_read_user(&ret, sizeof(ret), (const void *)PT_REGS_SP(ctx)))
		return 0;
	return ret >= entry - before && ret < entry + after;
}

#endif
