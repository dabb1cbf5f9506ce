/* SPDX-License-Identifier: MIT */
/*
 * STACK blocks of the native trace (format 2.2, docs/trace-format.md):
 * one block per code location a `stack` event names, written once, before
 * END, by whoever symbolised it (gilscope record for CPython stacks).
 *
 *   payload := gs_stack_entry frame{nframes}     (innermost frame first)
 *   frame   := gs_stack_frame func[func_len] file[file_len] pad-to-8
 *
 * Strings are UTF-8 without a terminator. line is the current line when
 * the recorder could compute it (GS_FRAME_F_LINE), else 0; first_line is
 * the function's first line (co_firstlineno).
 */
#ifndef GILSCOPE_TRACE_STACKS_H
#define GILSCOPE_TRACE_STACKS_H

#include <stddef.h>
#include <stdint.h>

enum gs_stack_kind {
	GS_STACK_PYTHON = 1,
	GS_STACK_NATIVE = 2,
	GS_STACK_CODE_LOCATION = 3, /* published by the program (libgil API) */
};

#define GS_STACK_F_TRUNCATED 0x1u /* deeper than the recorder's limit */

/* Stack ids are unique within a trace whatever their kind; the recorders
 * keep the kinds apart by range (readers need not know it): Python stacks
 * are hashes below 2^30, code locations a program published count up from
 * GS_STACK_ID_LOCATION | 1, native stacks from GS_STACK_ID_NATIVE | 1. */
#define GS_STACK_ID_HASH_MASK 0x3fffffffu
#define GS_STACK_ID_LOCATION 0x40000000u
#define GS_STACK_ID_NATIVE 0x80000000u

struct gs_stack_entry {
	uint32_t id;              /* what `stack` events carry (a0/a1); never 0 */
	uint16_t nframes;
	uint8_t kind;             /* enum gs_stack_kind */
	uint8_t flags;            /* GS_STACK_F_* */
};

#define GS_FRAME_F_LINE 0x1u      /* line is the current line */
#define GS_FRAME_F_NATIVE 0x2u    /* a native frame: file is the object
				     (executable or library), first_line the
				     address in it (ELF virtual address, 0 if
				     past 4 GiB), line 0 */

struct gs_stack_frame {
	uint32_t line;
	uint32_t first_line;
	uint16_t func_len;
	uint16_t file_len;
	uint16_t flags;           /* GS_FRAME_F_* */
	uint16_t reserved;
};

_Static_assert(sizeof(struct gs_stack_entry) == 8, "stack entry layout");
_Static_assert(sizeof(struct gs_stack_frame) == 16, "stack frame layout");

/* A frame in memory (strings not owned). */
struct gs_frame {
	const char *func, *file;
	uint32_t line, first_line;
	uint16_t flags;
};

/* Encodes one stack into buf (malloc'ed, *len bytes, a multiple of 8).
 * 0 or -errno. Strings longer than 65535 bytes are cut. */
int gs_stack_encode(uint32_t id, uint8_t kind, uint8_t flags,
		    const struct gs_frame *frames, size_t n,
		    unsigned char **buf, size_t *len);

/* Decodes a STACK payload; frames[] point into p (not terminated: use the
 * lengths). Returns the number of frames (at most max; the entry says how
 * many there are), or -1 with *why set to what is wrong. */
struct gs_frame_view {
	const char *func, *file;
	uint16_t func_len, file_len;
	uint32_t line, first_line;
	uint16_t flags;
};
int gs_stack_decode(const unsigned char *p, size_t len,
		    struct gs_stack_entry *entry, struct gs_frame_view *frames,
		    size_t max, const char **why);

#endif
