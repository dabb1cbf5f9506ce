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

/* 3.12+: where take_gil/drop_gil's arguments lead to the GIL they serve
 * (a subinterpreter may have its own, PEP 684): take_gil(tstate)
 * tstate->interp->ceval.gil; drop_gil's first argument (3.12 &interp->ceval,
 * 3.13 interp) ->gil at drop_gil. */
struct gs_py_gil_key {
	uint32_t take_arg;      /* take_gil's PyThreadState *, 1-based */
	uint32_t tstate_interp; /* PyThreadState.interp */
	uint32_t interp_gil;    /* PyInterpreterState.ceval.gil */
	uint32_t drop_gil;      /* the gil pointer in drop_gil's first argument */
};
/* 0 and *k filled for 3.12 (CPython's headers, checked against the pyenv
 * build's DWARF) and 3.13 (its _Py_DebugOffsets in path); -1 before 3.12
 * (one GIL per process) or when the offsets cannot be read. */
int gs_py_gil_key(int minor, const char *path, struct gs_py_gil_key *k);

/* Link-time address of _PyRuntime in path (.dynsym or .symtab), 0 if none. */
uint64_t gs_py_runtime_vaddr(const char *path);

#endif
