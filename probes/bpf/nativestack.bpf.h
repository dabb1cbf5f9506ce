/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * Native (user-space) stacks for record --native: nativestack_id() returns
 * the id of the calling thread's native stack, for the `stack` event's
 * native_stack_id, 0 when none.
 *
 * The kernel walks the stack by frame pointers (bpf_get_stack with
 * BPF_F_USER_STACK): complete through code built with them, and through
 * code without them only as far as a frame that keeps its caller's frame
 * pointer in %rbp (the loader cuts the stack at the first address that
 * does not follow a call instruction). At a function's entry the caller's
 * return address is still at the stack pointer and not yet in a frame,
 * so an entry probe adds it when the walk missed it (kernels before 6.12
 * do; later ones add it themselves for push-%rbp entries).
 *
 * Stacks are stored once in `nstacks` under a 31-bit hash of their
 * addresses (GSB_NATIVE_ID_BIT set): a collision would merge two stacks,
 * about one chance in a billion per pair.
 *
 * Include once, from gilscope.bpf.c (it defines maps).
 */
#ifndef GILSCOPE_NATIVESTACK_BPF_H
#define GILSCOPE_NATIVESTACK_BPF_H

#include "percpu_slot.bpf.h"

#include "nativestack.h"

const volatile __u8 want_native = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct gsb_native_stack);
} nstacks SEC(".maps");

struct native_scratch {
	struct gsb_native_stack st;
};

GSB_PERCPU_SLOT(nscratch, struct native_scratch);

/* at_entry: the probe is on a function's first instruction (uprobe),
 * not inside one (USDT). */
static __always_inline __u32 nativestack_id(struct pt_regs *ctx, int at_entry)
{
	__u32 zero = 0;
	if (!want_native || !ctx)
		return 0;
	struct native_scratch *s = bpf_map_lookup_elem(&nscratch, &zero);
	if (!s)
		return 0;
	/* the walk goes to ip[1..]: ip[0] and ip[1] are then rearranged */
	long n = bpf_get_stack(ctx, &s->st.ip[1],
			       (GSB_NATIVE_MAX_DEPTH - 1) * sizeof(__u64),
			       BPF_F_USER_STACK);
	if (n < (long)sizeof(__u64))
		return 0;
	__u32 depth = (__u32)(n / sizeof(__u64));
	s->st.truncated = depth >= GSB_NATIVE_MAX_DEPTH - 1;
	s->st.ip[0] = s->st.ip[1];
	__u64 ret = 0;
	if (at_entry &&
	    !bpf_probe_read_user(&ret, sizeof(ret), (const void *)PT_REGS_SP(ctx)) &&
	    ret && (depth < 2 || s->st.ip[2] != ret)) {
		s->st.ip[1] = ret; /* ip[0], ret, the rest of the walk */
		depth++;
	} else {
		/* ip[0] and the walk from ip[2]: close the gap */
		for (__u32 i = 1; i < GSB_NATIVE_MAX_DEPTH - 1; i++)
			s->st.ip[i] = s->st.ip[i + 1];
		s->st.ip[GSB_NATIVE_MAX_DEPTH - 1] = 0;
	}
	if (depth > GSB_NATIVE_MAX_DEPTH)
		depth = GSB_NATIVE_MAX_DEPTH;
	s->st.depth = depth;
	__u32 h = 2166136261u;
	for (__u32 i = 0; i < GSB_NATIVE_MAX_DEPTH; i++) {
		if (i >= depth)
			break;
		__u64 v = s->st.ip[i];
		h = (h ^ (__u32)v) * 16777619u;
		h = (h ^ (__u32)(v >> 32)) * 16777619u;
	}
	__u32 id = GSB_NATIVE_ID_BIT | (h & ~GSB_NATIVE_ID_BIT);
	if (bpf_map_lookup_elem(&nstacks, &id))
		return id;
	if (bpf_map_update_elem(&nstacks, &id, &s->st, BPF_NOEXIST))
		return bpf_map_lookup_elem(&nstacks, &id) ? id : 0;
	return id;
}

#endif
