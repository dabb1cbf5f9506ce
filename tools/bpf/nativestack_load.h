/* SPDX-License-Identifier: MIT */
/*
 * The loader's half of native stacks (record --native): while the target
 * runs, turns each new stack the BPF side stored into frames (object file,
 * address in it, function name) using the process's mappings read then;
 * when the recording stops, writes a STACK block (kind 2) per stack.
 * Symbolised while the process lives: its mappings and (in another mount
 * namespace) its files are gone once it exits, and the trace then reads
 * anywhere without the binaries.
 */
#ifndef GILSCOPE_BPF_NATIVESTACK_LOAD_H
#define GILSCOPE_BPF_NATIVESTACK_LOAD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct gilscope_bpf;
struct gs_writer;
struct gs_native;

struct gs_native_totals {
	uint64_t stacks;        /* STACK blocks written */
	uint64_t frames;        /* frames in them */
	uint64_t named;         /* of which with a function name */
	uint64_t cut;           /* stacks cut at a frame that follows no call */
};

struct gs_native *gs_native_new(pid_t pid);
/* Converts the stacks stored since the last call (cheap when none). */
void gs_native_poll(struct gs_native *n, struct gilscope_bpf *skel);
/* A last poll, then a STACK block per stack. 0 or -errno. */
int gs_native_write(struct gs_native *n, struct gilscope_bpf *skel,
		    struct gs_writer *w, struct gs_native_totals *out);
/* The innermost frames (at most 3) of stack id, outermost first, joined
 * with ';' as in folded stacks ("PyEval_RestoreThread;take_gil"); "-"
 * when unknown (top --native). */
void gs_native_describe(const struct gs_native *n, uint32_t id, char *out,
			size_t len);
void gs_native_free(struct gs_native *n);

#endif
