/* SPDX-License-Identifier: MIT */
/*
 * The loader's half of Python stacks: sets the walker's offsets before the
 * BPF object loads, and at the end of a recording turns the stacks the
 * walker stored into the trace's STACK blocks ("function (file:line)").
 */
#ifndef GILSCOPE_BPF_PYSTACK_LOAD_H
#define GILSCOPE_BPF_PYSTACK_LOAD_H

#include <stddef.h>
#include <stdint.h>

struct gilscope_bpf;
struct gs_target;
struct gs_writer;

/* Fills the skeleton's rodata for target t (before load). 0, or -1 with
 * msg saying why stacks cannot be walked there. */
int gs_pystack_setup(struct gilscope_bpf *skel, const struct gs_target *t,
		     char *msg, size_t msglen);

struct gs_pystack_totals {
	uint64_t stacks;          /* STACK blocks written */
	uint64_t codes;           /* code objects read */
	uint64_t frames, lines;   /* frames written, of which with a current line */
};

/* Writes a STACK block per stack the walker stored. 0 or -errno. */
int gs_pystack_write(struct gilscope_bpf *skel, struct gs_writer *w,
		     struct gs_pystack_totals *out);

/* "function (file:line)" of the innermost frame of stack id, file without
 * its directory (top's column); "-" when unknown. */
void gs_pystack_innermost(struct gilscope_bpf *skel, uint32_t id, char *out,
			  size_t len);

#endif
