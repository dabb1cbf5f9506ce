/* SPDX-License-Identifier: MIT */
/*
 * ELF look-ups for probe placement (libelf): symbols from .symtab and
 * .dynsym (local ones included: take_gil is static), their file offsets for
 * uprobes, the first instruction's cost class, and USDT notes.
 *
 * When .symtab is missing the detached debug file is used (debugfile.c:
 * build id, .gnu_debuglink, debuginfod), and the DWARF of either adds the
 * inlined copies of the functions asked for (dwarf_inline.c). Every address
 * says how it was found (enum gs_placement).
 */
#ifndef GILSCOPE_ELFSYM_H
#define GILSCOPE_ELFSYM_H

#include <libelf.h>
#include <stddef.h>
#include <stdint.h>

/* File offset of a virtual address, from the PT_LOAD that maps it; *avail
 * (when not NULL): the bytes of that segment the file holds from there.
 * 0, or -1 when no PT_LOAD maps it. */
int gs_elf_vaddr_to_offset(Elf *e, uint64_t vaddr, uint64_t *off,
			   uint64_t *avail);

/* Out-of-line copies (clones) plus inline sites of one function: Debian's
 * LTO python3.11 has a few dozen of PyEval_SaveThread. */
#define GS_ELF_MAX_SITES 96

struct gs_elf_sym {
	int found;              /* number of addresses filled in (0 = missing) */
	uint64_t vaddr[GS_ELF_MAX_SITES];  /* st_value: NAME, NAME.constprop.N... */
	uint64_t offset[GS_ELF_MAX_SITES]; /* file offset, what uprobes take */
	int single_step[GS_ELF_MAX_SITES]; /* first instruction not emulated */
	char insn[GS_ELF_MAX_SITES][16];   /* first bytes, hex, for messages */
	uint8_t method[GS_ELF_MAX_SITES];  /* enum gs_placement */
	uint8_t inlined[GS_ELF_MAX_SITES]; /* inline copy: no return to probe */
	char caller[GS_ELF_MAX_SITES][32]; /* what an inline copy sits in */
	int dropped;            /* sites beyond GS_ELF_MAX_SITES */
};

struct gs_elf_info {
	char path[4096];
	int has_symtab;         /* .symtab (or a debug file's) was read */
	char symtab_from[4096]; /* file the symbols came from */
	int symtab_method;      /* GS_PLACE_SYMTAB, _DEBUG_FILE or _DEBUGINFOD */
	int has_dwarf;          /* inline sites were looked for */
	char debug_tried[2048]; /* where a debug file was looked for */
	int has_gil_usdt;       /* .note.stapsdt has provider "gil" */
	int nusdt_gil;          /* number of gil:* probe sites */
};

/* Looks up nnames symbols (exact name, plus whole clones NAME.xxx; never a
 * .cold/.part fragment) in path. Inline copies are added for the names whose
 * want_inline[k] is set (NULL: none). root is "" or "/proc/PID/root" (where
 * a process in another mount namespace keeps its debug files).
 * Returns 0 (missing symbols have found == 0) or -errno with msg filled. */
int gs_elf_lookup_in(const char *path, const char *root,
		     const char *const *names, const int *want_inline,
		     size_t nnames, struct gs_elf_sym *out,
		     struct gs_elf_info *info, char *msg, size_t msglen);
/* The same with no inline sites, in our own namespace. */
int gs_elf_lookup(const char *path, const char *const *names, size_t nnames,
		  struct gs_elf_sym *out, struct gs_elf_info *info,
		  char *msg, size_t msglen);

/* Whether the kernel (x86-64) emulates this first instruction instead of
 * single-stepping it out of line: nop, push, call, jmp, jcc. */
int gs_insn_emulated(const unsigned char *b, size_t n);

#endif
