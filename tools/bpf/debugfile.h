/* SPDX-License-Identifier: MIT */
/*
 * Finds the detached debug file of a stripped ELF object, in gdb's order:
 * by build id (/usr/lib/debug/.build-id/NN/REST.debug), by .gnu_debuglink
 * (next to the object, in its .debug/ folder, under /usr/lib/debug/<dir>),
 * then through debuginfod (libdebuginfod, DEBUGINFOD_URLS). A process in
 * another mount namespace keeps its debug files under its own root
 * (/proc/PID/root), which is searched first.
 */
#ifndef GILSCOPE_BPF_DEBUGFILE_H
#define GILSCOPE_BPF_DEBUGFILE_H

#include <libelf.h>
#include <stddef.h>

/* The GNU build id of e: its length (0 when there is none). */
size_t gs_elf_build_id(Elf *e, unsigned char *id, size_t max);

/* Where that build id is: the note's data and the id's offset in it
 * (its length is returned; 0 when there is none). */
size_t gs_elf_build_id_note(Elf *e, Elf_Data **data, size_t *desc_off);

/* The debug file of e (read from path; root "" or "/proc/PID/root").
 * 0 with out filled and *method = GS_PLACE_DEBUG_FILE or
 * GS_PLACE_DEBUGINFOD; -1 when none was found (tried says where it looked,
 * for messages). */
int gs_debugfile_find(Elf *e, const char *path, const char *root, char *out,
		      size_t outlen, int *method, char *tried, size_t triedlen);

#endif
