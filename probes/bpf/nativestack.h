/* SPDX-License-Identifier: MIT */
/*
 * Types shared by the native stack capture (nativestack.bpf.h) and its
 * loader (tools/bpf/nativestack_load.c): user-space return addresses of
 * the thread at a GIL request or release, innermost first, deduplicated
 * by a hash of the addresses (the stack id).
 */
#ifndef GILSCOPE_NATIVESTACK_H
#define GILSCOPE_NATIVESTACK_H

#define GSB_NATIVE_MAX_DEPTH 32 /* frames kept (the innermost) */
/* Native stack ids have this bit; Python stack ids never (trace_stacks.h,
 * GS_STACK_ID_NATIVE and GS_STACK_ID_HASH_MASK). */
#define GSB_NATIVE_ID_BIT 0x80000000u

struct gsb_native_stack {
	__u32 depth;
	__u32 truncated;          /* the walk filled every slot */
	__u64 ip[GSB_NATIVE_MAX_DEPTH];
};

#endif
