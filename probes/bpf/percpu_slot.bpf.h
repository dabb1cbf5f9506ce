/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * A one-slot per-CPU array, looked up with key 0: working room for values
 * too big for the 512-byte BPF stack, or a counter no two CPUs write at
 * once. Each CPU has its own slot, so a program (which runs to completion
 * on one CPU) needs no lock.
 */
#ifndef GILSCOPE_PERCPU_SLOT_BPF_H
#define GILSCOPE_PERCPU_SLOT_BPF_H

#define GSB_PERCPU_SLOT(name, value_type)                                      \
	struct {                                                               \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);                       \
		__uint(max_entries, 1);                                        \
		__type(key, __u32);                                            \
		__type(value, value_type);                                     \
	} name SEC(".maps")

#endif
