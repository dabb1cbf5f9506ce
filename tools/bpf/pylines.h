/* SPDX-License-Identifier: MIT */
/*
 * Current line of a frame from its code object's line table, as CPython's
 * PyCode_Addr2Line computes it: co_lnotab (3.6-3.9), the 3.10 co_linetable,
 * the 3.11+ location table (Objects/locations.md).
 */
#ifndef GILSCOPE_BPF_PYLINES_H
#define GILSCOPE_BPF_PYLINES_H

#include <stddef.h>
#include <stdint.h>

/* kind: enum gsb_py_lasti; offset: byte offset of the instruction;
 * truncated: table holds only the first len bytes of the real one. Returns
 * 1 with *line set, 0 when the table does not say (no line for that
 * instruction, or a table cut short before it). */
int gs_py_addr2line(int kind, const uint8_t *table, size_t len, int truncated,
		    uint32_t firstlineno, int32_t offset, uint32_t *line);

#endif
