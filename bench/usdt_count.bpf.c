// SPDX-License-Identifier: GPL-2.0 OR MIT
/* The bare USDT counter of item 3: one per-CPU counter bumped per hit, the
 * least any eBPF tool can do on a probe. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#include "hit_counter.bpf.h"

SEC("usdt")
int count_hit(struct pt_regs *ctx)
{
	return hit();
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
