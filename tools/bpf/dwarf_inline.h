/* SPDX-License-Identifier: MIT */
/*
 * The inlined copies of functions, from DWARF (libdw): every
 * DW_TAG_inlined_subroutine whose abstract origin is one of the wanted
 * functions, with its entry address (DW_AT_entry_pc, else DW_AT_low_pc, else
 * the start of its first range). An LTO build inlines drop_gil into
 * PyEval_SaveThread and that into os_stat, _Py_read...: a probe on the
 * out-of-line copy alone misses those releases.
 */
#ifndef GILSCOPE_BPF_DWARF_INLINE_H
#define GILSCOPE_BPF_DWARF_INLINE_H

#include <libelf.h>
#include <stddef.h>
#include <stdint.h>

/* Called per inline site: which wanted name (index), its entry address in
 * the object, and the function it was inlined into. */
typedef void (*gs_inline_site_fn)(void *arg, size_t which, uint64_t entry,
				  const char *caller);

/* Walks the DWARF of e (an object or its debug file). Returns the number of
 * sites reported, or -1 when e has no DWARF. */
int gs_dwarf_inline_sites(Elf *e, const char *const *names, size_t nnames,
			  gs_inline_site_fn fn, void *arg);

#endif
