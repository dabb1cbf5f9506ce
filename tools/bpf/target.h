/* SPDX-License-Identifier: MIT */
/*
 * What to probe in a process: finds which GIL runs there (libgil USDT,
 * CPython 3.x take_gil/drop_gil, CPython 2.7 interpreter_lock) and where its
 * symbols are, from a live PID (/proc/PID/maps, its files opened through
 * /proc/PID/root or /proc/PID/map_files so a process in a container or
 * another mount namespace is found too) or from a program about to be
 * started (its ELF file and the libraries the dynamic loader would map).
 */
#ifndef GILSCOPE_BPF_TARGET_H
#define GILSCOPE_BPF_TARGET_H

#include <sys/types.h>

#include "elfsym.h"
#include "symfree.h"

enum gs_py_sym {
	GS_SYM_TAKE_GIL,
	GS_SYM_DROP_GIL,
	GS_SYM_SAVE_THREAD,
	GS_SYM_RESTORE_THREAD,
	GS_SYM_ACQUIRE_LOCK,
	GS_SYM_RELEASE_LOCK,
	GS_SYM_INTERPRETER_LOCK,
	GS_SYM_GIL_CREATE,      /* libgil: its entry point, found to recognise it */
	GS_SYM_DELETE_CURRENT,  /* PyThreadState_DeleteCurrent: thread exit */
	GS_SYM_DELETE_CURRENT_INTERNAL, /* _PyThreadState_DeleteCurrent (3.9+) */
	GS_SYM_TSTATE_CLEAR,    /* PyThreadState_Clear: thread exit (3.13+) */
	GS_SYM_INTERP_HEAD,     /* 2.7: interp_head, for --stacks (a static) */
	GS_SYM_MAX
};

struct gs_target {
	int runtime;            /* enum gsb_runtime, 0 when none found */
	int py_major, py_minor; /* CPython version (from the file name) */
	char path[4096];        /* file the probes go into, as we open it: the
				   process's own path, or through
				   /proc/PID/root or /proc/PID/map_files when
				   it lives in another mount namespace */
	char shown[4096];       /* the same file as the process sees it */
	char policy_name[32];   /* "cpython-3.11", "cpython-2.7", "libgil" */
	struct gs_elf_sym sym[GS_SYM_MAX];
	struct gs_elf_info info;
	int symfree;            /* enum gs_symfree_method (0: found by symbols) */
	struct gs_py27_sites py27; /* 2.7: the GIL's call sites (probed) */
	char libc[4096];        /* the C library the program maps (symbol-free 3.x) */
	int free_threaded;      /* Py_GIL_DISABLED build: no GIL to trace */
};

/* The function (or object) name of enum gs_py_sym sym. */
const char *gs_sym_name(int sym);

/* Finds the GIL of running process pid. 0, or -errno with msg set:
 * -EPROTO for a CPython whose GIL was not found, -ENOENT for no GIL. */
int gs_target_from_pid(pid_t pid, struct gs_target *t, char *msg, size_t msglen);

/* A path that opens, from our mount namespace, the file pid has mapped at
 * range ("7f..-7f..", from /proc/PID/maps) as path with inode ino. */
void gs_proc_file_path(pid_t pid, const char *path, const char *range,
		       unsigned long long ino, char *out, size_t outlen);

/* Same for a program not started yet: exe is a path (already resolved
 * through PATH) whose libraries are listed by the dynamic loader. */
int gs_target_from_exe(const char *exe, struct gs_target *t, char *msg,
		       size_t msglen);

/* execvp's PATH search, without executing: 0 and out filled, or -ENOENT. */
int gs_which(const char *cmd, char *out, size_t outlen);

#endif
