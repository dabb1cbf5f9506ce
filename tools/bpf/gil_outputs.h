/* SPDX-License-Identifier: MIT */
/*
 * One trace per GIL: `gilscope record -o TRACE` writes the process's first
 * GIL to TRACE and each further one (3.12+ subinterpreters with their own
 * GIL) to TRACE.gilN, so every trace describes one GIL and `report`
 * analyses each on its own. Ring-buffer records say which GIL in their cpu
 * field (GSB_CPU_GIL_SHIFT); a thread's scheduler events go with the GIL it
 * was last using.
 */
#ifndef GILSCOPE_BPF_GIL_OUTPUTS_H
#define GILSCOPE_BPF_GIL_OUTPUTS_H

#include <stddef.h>
#include <stdint.h>

#include "demux.h"
#include "trace_format.h"
#include "trace_writer.h"

#define GS_GIL_OUTPUTS_MAX 16

struct gs_gil_outputs {
	const char *base;               /* -o TRACE */
	struct gs_file_header h;        /* header of the extra traces */
	const struct gs_probe_site *sites;
	size_t nsites;
	struct gs_demux *d[GS_GIL_OUTPUTS_MAX]; /* [0]: the caller's, on TRACE */
	struct gs_writer *w[GS_GIL_OUTPUTS_MAX];
	char path[GS_GIL_OUTPUTS_MAX][4096];
	int n;                          /* outputs in use (>= 1) */
	int failed;                     /* an extra trace could not be opened */
};

/* d0/w0 write TRACE; extra traces are opened on first use. */
void gs_gil_outputs_init(struct gs_gil_outputs *o, const char *base,
			 const struct gs_file_header *h,
			 const struct gs_probe_site *sites, size_t nsites,
			 struct gs_demux *d0, struct gs_writer *w0);
/* ring_buffer sample callback (ctx: struct gs_gil_outputs *). */
int gs_gil_outputs_sample(void *ctx, void *data, size_t size);
/* scan + flush + tick every extra trace, as the caller does for TRACE. */
void gs_gil_outputs_tick(struct gs_gil_outputs *o, uint64_t now_ns, int final);
/* Closes the extra traces, one line each to msgs; returns non-zero on a
 * write error. */
int gs_gil_outputs_close(struct gs_gil_outputs *o, uint64_t end_ns, uint32_t flags,
			 const char *prog);

#endif
