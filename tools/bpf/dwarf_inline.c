/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "dwarf_inline.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <string.h>

struct walk {
	const char *const *names;
	size_t nnames;
	gs_inline_site_fn fn;
	void *arg;
	int sites;
};

static int entry_pc(Dwarf_Die *die, Dwarf_Addr *pc)
{
	if (!dwarf_entrypc(die, pc))
		return 0;
	Dwarf_Addr base, start, end;
	if (dwarf_ranges(die, 0, &base, &start, &end) > 0) {
		*pc = start;
		return 0;
	}
	return -1;
}

/* Only scopes hold inlined code: types, variables and parameters are not
 * descended into, which keeps a walk of libpython's DWARF short. */
static int is_scope(int tag)
{
	return tag == DW_TAG_compile_unit || tag == DW_TAG_partial_unit ||
	       tag == DW_TAG_subprogram || tag == DW_TAG_lexical_block ||
	       tag == DW_TAG_inlined_subroutine;
}

static void walk_scope(struct walk *w, Dwarf_Die *parent, const char *caller)
{
	Dwarf_Die child;
	if (dwarf_child(parent, &child))
		return;
	do {
		int tag = dwarf_tag(&child);
		if (!is_scope(tag))
			continue;
		const char *here = caller;
		if (tag == DW_TAG_subprogram || tag == DW_TAG_inlined_subroutine) {
			const char *name = dwarf_diename(&child);
			if (name)
				here = name;
		}
		if (tag == DW_TAG_inlined_subroutine && here != caller) {
			Dwarf_Addr pc;
			for (size_t k = 0; k < w->nnames; k++) {
				if (strcmp(here, w->names[k]) || entry_pc(&child, &pc))
					continue;
				w->fn(w->arg, k, pc, caller ? caller : "?");
				w->sites++;
			}
		}
		/* an abstract instance (DW_AT_inline) has no code of its own */
		if (tag == DW_TAG_subprogram && dwarf_hasattr(&child, DW_AT_inline))
			continue;
		walk_scope(w, &child, here);
	} while (dwarf_siblingof(&child, &child) == 0);
}

int gs_dwarf_inline_sites(Elf *e, const char *const *names, size_t nnames,
			  gs_inline_site_fn fn, void *arg)
{
	Dwarf *dw = dwarf_begin_elf(e, DWARF_C_READ, NULL);
	if (!dw)
		return -1;
	struct walk w = { names, nnames, fn, arg, 0 };
	Dwarf_Off off = 0, next;
	size_t hsize;
	while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;
		if (dwarf_offdie(dw, off + hsize, &cu))
			walk_scope(&w, &cu, NULL);
		off = next;
	}
	dwarf_end(dw);
	return w.sites;
}
