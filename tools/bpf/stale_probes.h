/* SPDX-License-Identifier: MIT */
/*
 * What a killed eBPF tool can leave in the kernel. Programs, maps, links and
 * perf-event probes belong to file descriptors and go when the process
 * dies, whatever killed it. The exception is libbpf's fallback for kernels
 * without the uprobe PMU: it adds "uprobes/libbpf_PID_..." lines to
 * uprobe_events, removed only by its own clean-up. This removes those whose
 * PID no longer exists (never a live tool's), saying so on stderr.
 */
#ifndef GILSCOPE_BPF_STALE_PROBES_H
#define GILSCOPE_BPF_STALE_PROBES_H

/* Number of stale events removed; messages start with prog. */
int gs_reap_stale_probes(const char *prog);

#endif
