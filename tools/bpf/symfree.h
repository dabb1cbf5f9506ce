/* SPDX-License-Identifier: MIT */
/*
 * Finding a CPython GIL without symbol tables or debug files
 * (docs/symbol-free.md), from what every build exports:
 *  - 3.x: libc's pthread_cond_signal/timedwait/init (probed; the BPF side
 *    follows the GIL's own condition variables) and, for a running
 *    process, the GIL's address from _PyRuntime: a per-version offset
 *    (3.7-3.11), the interpreter list (3.12: per-interpreter GIL) or
 *    _Py_DebugOffsets (3.13+), each candidate checked in the live process;
 *  - 2.7: interpreter_lock, read off the code of the exported
 *    PyEval_SaveThread (the RIP-relative load passed to
 *    PyThread_release_lock).
 */
#ifndef GILSCOPE_BPF_SYMFREE_H
#define GILSCOPE_BPF_SYMFREE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* struct _gil_runtime_state, 3.7-3.13 (the same in every version: checked
 * against the pyenv builds' DWARF by tests/integration/ebpf_symfree.sh) */
#define GS_GIL_OFF_INTERVAL 0
#define GS_GIL_OFF_LOCKED 16
#define GS_GIL_OFF_COND 32
#define GS_GIL_OFF_MUTEX 80
#define GS_GIL_OFF_SWITCH_COND 120
#define GS_GIL_OFF_SWITCH_MUTEX 168
#define GS_GIL_SIZE 208

#define GS_SYMFREE_MAX_GILS 16

/* Which symbol-free way found a target's GIL (gs_target.symfree); the
 * probes it placed are recorded as GS_PLACE_SYMBOL_FREE. */
enum gs_symfree_method {
	GS_SYMFREE_NONE = 0,
	GS_SYMFREE_GIL_PTHREAD = 1, /* 3.x: the GIL's pthread conditions via libc */
	GS_SYMFREE_CALLER_CODE = 2, /* 2.7: interpreter_lock from PyEval_SaveThread */
};

static inline const char *gs_symfree_name(int m)
{
	return m == GS_SYMFREE_GIL_PTHREAD ? "symbol-free: the GIL's pthread conditions"
	       : m == GS_SYMFREE_CALLER_CODE ? "symbol-free: interpreter_lock from "
					       "PyEval_SaveThread's code"
	       : "symbols";
}

struct gs_symfree_gil {
	uint64_t cond;          /* runtime address of gil->cond: the GIL's identity */
	uint64_t switch_cond;
	uint64_t interval_us;   /* as read from the live process */
	int32_t locked;
};

struct gs_symfree_libc {
	char path[4096];
	uint64_t off_signal, off_timedwait, off_init;  /* file offsets (uprobes) */
	int ss_signal, ss_timedwait, ss_init;          /* first insn single-stepped */
	/* BPF cookie of the pthread_cond_signal probe: libc's executable
	 * segment around its entry (gilscope_bpf.h, GSB_LIBC_TEXT_BEFORE_SHIFT) */
	uint64_t signal_cookie;
};

struct gs_symfree_live {
	int ngils;
	struct gs_symfree_gil gil[GS_SYMFREE_MAX_GILS];
	char how[256];          /* where they were found, for -v */
};

/* libc's pthread_cond_* entry points (default symbol versions). */
int gs_symfree_libc(const char *libc, struct gs_symfree_libc *out, char *msg,
		    size_t msglen);

/* &switch_cond - &cond the BPF side checks a new GIL against (0: any, for
 * 3.6 whose GIL is a set of statics). */
uint64_t gs_symfree_cond_distance(int minor);

/* 1 when pyfile is a free-threaded (Py_GIL_DISABLED) build: 3.13t+ name,
 * (name: as the process sees it) or _Py_DebugOffsets.free_threaded in
 * _PyRuntime's initial image. */
int gs_symfree_free_threaded(const char *pyfile, const char *name);

/* The GILs of running process pid, whose CPython 3.minor is pyfile (opened
 * by us; name: the path in /proc/PID/maps); 3.6: the one its code names
 * (gs_symfree_py36_statics), whose cond/switch_cond are separate statics.
 * 0, or -errno with msg saying why. */
int gs_symfree_py3_live(pid_t pid, const char *pyfile, const char *name, int minor,
			struct gs_symfree_live *out, char *msg, size_t msglen);

/* 2.7: link-time address of interpreter_lock from PyEval_SaveThread's code. */
int gs_symfree_py27_lock(const char *pyfile, uint64_t *vaddr, char *msg,
			 size_t msglen);

/* 3.6: the link-time addresses of the GIL's statics, read off the code of
 * drop_gil as the exported PyEval_SaveThread calls it (or has it inlined):
 * the arguments it passes to pthread_mutex_lock, pthread_cond_signal and
 * pthread_cond_wait (docs/symbol-free.md). */
struct gs_symfree_statics {
	uint64_t cond, switch_cond;     /* gil_cond, switch_cond */
	uint64_t mutex, switch_mutex;   /* gil_mutex, switch_mutex */
	uint64_t locked;                /* gil_locked (0: not seen) */
	uint64_t drop_gil;              /* the function read; 0: inlined */
};
int gs_symfree_py36_statics(const char *pyfile, struct gs_symfree_statics *out,
			    char *msg, size_t msglen);

/* 3.13+: _Py_DebugOffsets.thread_state.native_thread_id from _PyRuntime's
 * initial image (offset of native_thread_id in PyThreadState), or 0. */
uint64_t gs_symfree_tstate_native_tid_off(const char *pyfile);

/* Load bias of pyfile (named name in /proc/PID/maps) in pid. */
int gs_symfree_bias(pid_t pid, const char *pyfile, const char *name, uint64_t *bias);

/* CPython 2.7: where ceval.c's exported functions call
 * PyThread_release_lock and PyThread_acquire_lock (directly, through the
 * PLT or a GOT slot), found by disassembling them: the release calls, the
 * acquire calls outside the eval loop (requests) and the first emulated
 * instruction after every acquire call (held). The eval loop's re-take at
 * the check interval gets no probe of its own: nothing may run between the
 * release and it (docs/probe-placement.md). */
#define GS_PY27_MAX_SITES 32
struct gs_py27_site {
	uint64_t vaddr, offset;
	int role;               /* enum gsb_py2_role */
	int kind;               /* GS_PROBE_CALL, _AFTER_CALL, _RETURN (a caller
				 * that tail-calls PyThread_acquire_lock) */
	int single_step;        /* the probed instruction is not emulated */
	char caller[32];        /* PyEval_EvalFrameEx */
};
struct gs_py27_sites {
	int n;
	struct gs_py27_site site[GS_PY27_MAX_SITES];
};
/* 0, or -errno with msg saying which function did not match. */
int gs_py27_gil_sites(const char *pyfile, struct gs_py27_sites *out, char *msg,
		      size_t msglen);

/* Reads a GIL struct at runtime address base of pid and checks it looks
 * like one (interval, locked, both mutexes' kind). 1 valid, 0 not. */
int gs_symfree_check_gil(pid_t pid, uint64_t base, struct gs_symfree_gil *g);

#endif
