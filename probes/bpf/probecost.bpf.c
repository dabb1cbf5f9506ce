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

#include "hit_counter.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

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
