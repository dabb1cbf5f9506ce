/* SPDX-License-Identifier: MIT */
/*
 * Which ELF symbol names are an entry point of a function: the function
 * itself and its whole-function clones (GCC's NAME.constprop.N, NAME.isra.N,
 * LTO's NAME.lto_priv.N), never a fragment split off it (NAME.cold,
 * NAME.part.N, NAME.lto_priv.0.cold, NAME.isra.0.part.1): those start in the
 * middle of the function (Debian's take_gil.lto_priv.0.cold holds the fatal
 * error blocks), so a probe there counts nothing or the wrong thing.
 */
#ifndef GILSCOPE_BPF_SYMNAME_H
#define GILSCOPE_BPF_SYMNAME_H

/* 1 when sym is function want or a whole clone of it, else 0. */
int gs_symname_is_entry(const char *sym, const char *want);

#endif
