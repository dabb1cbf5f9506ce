/* SPDX-License-Identifier: MIT */
/*
 * ELF look-ups for probe placement (libelf): symbols from .symtab and
 * .dynsym (local ones included: take_gil is static), their file offsets for
 * uprobes, the first instruction's cost class, and USDT notes.
 *
 * When .symtab is missing the separate debug file named by the build id
 * (/usr/lib/debug/.build-id/NN/REST.debug) is tried, as gdb does.
 */
#ifndef GILSCOPE_ELFSYM_H
#define GILSCOPE_ELFSYM_H

#include <stddef.h>
#include <stdint.h>

#define GS_ELF_MAX_CLONES 4

struct gs_elf_sym {
	int found;              /* number of addresses filled in (0 = missing) */
	uint64_t vaddr[GS_ELF_MAX_CLONES];  /* st_value: NAME, NAME.constprop.N... */
	uint64_t offset[GS_ELF_MAX_CLONES]; /* file offset, what uprobes take */
	int single_step[GS_ELF_MAX_CLONES]; /* first instruction not emulated */
	char insn[GS_ELF_MAX_CLONES][16];   /* first bytes, hex, for messages */
};

struct gs_elf_info {
	char path[4096];
	int has_symtab;         /* .symtab (or a debug file's) was read */
	char symtab_from[4096]; /* file the symbols came from */
	int has_gil_usdt;       /* .note.stapsdt has provider "gil" */
	int nusdt_gil;          /* number of gil:* probe sites */
};

/* Looks up nnames symbols (exact name, plus GCC clones NAME.xxx) in path.
 * Returns 0 (missing symbols have found == 0) or -errno with msg filled. */
int gs_elf_lookup(const char *path, const char *const *names, size_t nnames,
		  struct gs_elf_sym *out, struct gs_elf_info *info,
		  char *msg, size_t msglen);

/* Whether the kernel (x86-64) emulates this first instruction instead of
 * single-stepping it out of line: nop, push, call, jmp, jcc. */
int gs_insn_emulated(const unsigned char *b, size_t n);

#endif
