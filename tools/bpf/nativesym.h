/* SPDX-License-Identifier: MIT */
/*
 * Function names of addresses in one ELF object (libelf), for native
 * stacks: the object's function symbols from .symtab when it has one, else
 * from .dynsym (a stripped build: exported functions only). An address is
 * named only when it lies inside a symbol's extent (st_value, st_size): a
 * static function of a stripped library is no part of the exported one
 * before it, so it stays an address rather than get that one's name.
 */
#ifndef GILSCOPE_BPF_NATIVESYM_H
#define GILSCOPE_BPF_NATIVESYM_H

#include <stddef.h>
#include <stdint.h>

struct gs_nativesym;

/* Opens path (open_path: where to read it, e.g. under /proc/PID/root).
 * NULL with msg filled when it is no readable ELF file. */
struct gs_nativesym *gs_nativesym_open(const char *open_path, char *msg,
				       size_t msglen);
void gs_nativesym_close(struct gs_nativesym *m);

/* The ELF virtual address at file offset off (from the PT_LOAD holding
 * it); 0 when none does. */
uint64_t gs_nativesym_vaddr(const struct gs_nativesym *m, uint64_t off);
/* The function containing vaddr, NULL when none. */
const char *gs_nativesym_name(const struct gs_nativesym *m, uint64_t vaddr);
/* 1 when the bytes before file offset off end with a call instruction
 * (what a return address follows), 0 when not or unreadable. */
int gs_nativesym_after_call(const struct gs_nativesym *m, uint64_t off);
/* 1 when the symbols came from .symtab, 0 from .dynsym only. */
int gs_nativesym_has_symtab(const struct gs_nativesym *m);

#endif
