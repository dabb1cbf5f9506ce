/* SPDX-License-Identifier: MIT */
/* The USDT semaphores, one per catalog event, in the conventional .probes
 * section. Tracers (libbpf, bpftrace, perf) raise them through the kernel's
 * uprobe ref_ctr while attached; GS_PROBE() skips the probe while 0. */
#include "gil_events.h"

#define GS_X_SEMA_DEF(id, name, a8, a0, a1, s, from, doc)                         \
	__attribute__((section(".probes"), used))                           \
	volatile unsigned short gil_##name##_semaphore;
GS_EVENT_CATALOG(GS_X_SEMA_DEF)
#undef GS_X_SEMA_DEF
