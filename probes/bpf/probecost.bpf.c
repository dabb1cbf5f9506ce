// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * The baseline for gilscope-probecost: the cheapest useful BPF program, a
 * per-CPU hit counter, on a USDT probe, a uprobe and a uretprobe. What a
 * probe costs beyond this is gilscope's own work (state, ring buffer).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

static __always_inline int hit(void)
{
	__u32 k = 0;
	__u64 *c = bpf_map_lookup_elem(&hits, &k);
	if (c)
		(*c)++;
	return 0;
}

SEC("usdt")
int BPF_USDT(count_usdt, long a8, long a0, long a1, long str)
{
	return hit();
}

SEC("uprobe")
int BPF_KPROBE(count_uprobe)
{
	return hit();
}

SEC("uretprobe")
int BPF_KRETPROBE(count_uretprobe)
{
	return hit();
}
