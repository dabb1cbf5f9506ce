/* SPDX-License-Identifier: MIT */
/*
 * Where a CPython version keeps what the frame walker reads (pystack.h):
 * tables for 3.6-3.12 taken from CPython's headers (checked against the
 * DWARF of the pyenv builds), and for 3.13 the interpreter's own
 * _Py_DebugOffsets, read from the start of _PyRuntime in the ELF file
 * (exported in .dynsym, so stripped builds work).
 */
#ifndef GILSCOPE_BPF_PYOFFSETS_H
#define GILSCOPE_BPF_PYOFFSETS_H

#include <stddef.h>
#include <stdint.h>

#include <linux/types.h>

#include "pystack.h"

/* 0 and *o filled, or -1 with msg saying why (version not supported,
 * _Py_DebugOffsets unreadable). path: the file holding _PyRuntime. */
int gs_py_offsets(int major, int minor, const char *path,
		  struct gsb_py_offsets *o, char *msg, size_t msglen);

/* Link-time address of _PyRuntime in path (.dynsym or .symtab), 0 if none. */
uint64_t gs_py_runtime_vaddr(const char *path);

#endif
