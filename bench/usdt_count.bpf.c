// SPDX-License-Identifier: GPL-2.0 OR MIT
/* The bare USDT counter of item 3: one per-CPU counter bumped per hit, the
 * least any eBPF tool can do on a probe. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

SEC("usdt")
int count_hit(struct pt_regs *ctx)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&hits, &key);
	if (v)
		(*v)++;
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
