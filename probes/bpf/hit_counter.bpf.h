/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * The cheapest useful BPF program body: one per-CPU counter bumped per hit.
 * The floor both probe-cost measures compare against (gilscope-probecost,
 * bench item 3's usdt_count); user space sums the map over the CPUs.
 */
#ifndef GILSCOPE_HIT_COUNTER_BPF_H
#define GILSCOPE_HIT_COUNTER_BPF_H

#include "percpu_slot.bpf.h"

GSB_PERCPU_SLOT(hits, __u64);

static __always_inline int hit(void)
{
	__u32 k = 0;
	__u64 *c = bpf_map_lookup_elem(&hits, &k);
	if (c)
		(*c)++;
	return 0;
}

#endif
