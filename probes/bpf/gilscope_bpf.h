/* SPDX-License-Identifier: MIT */
/*
 * Types shared by gilscope.bpf.c and its loader (tools/bpf/). Included by
 * both sides, so only fixed-width kernel-style types (__u32, ...) appear here:
 * the BPF side gets them from vmlinux.h, the user side from linux/types.h.
 */
#ifndef GILSCOPE_BPF_H
#define GILSCOPE_BPF_H

#include "pystack.h" /* the skeleton's rodata holds struct gsb_py_offsets */

/* Which GIL implementation the probes sit on (selects the programs). */
enum gsb_runtime {
	GSB_RT_LIBGIL = 1,   /* libgil USDT probes gil:* */
	GSB_RT_CPYTHON2 = 2, /* PyThread_acquire/release_lock on interpreter_lock */
	GSB_RT_CPYTHON3 = 3, /* take_gil / drop_gil, or the GIL's pthread objects */
};

/* One event in the ring buffer. Same layout as struct gs_record
 * (probes/trace_format.h), so the loader copies it straight into a chunk;
 * tid is the thread whose stream the record belongs to (for sched_switch_in
 * and sched_wakeup that is not the current thread). */
struct gsb_record {
	__u64 ts_ns;
	__u32 tid;
	__u16 cpu;
	__u8 type;
	__u8 a8;
	__u32 a0;
	__u32 a1;
};

/* Several GILs in one process (3.12+ subinterpreters with their own GIL,
 * symbol-free method): a record's cpu field carries the index of the GIL
 * its thread was last using (gsb_gil_state.index) above this bit; the
 * loader strips it and writes each GIL's records to a trace of its own. */
#define GSB_CPU_GIL_SHIFT 12
#define GSB_CPU_MASK ((1u << GSB_CPU_GIL_SHIFT) - 1)

/* thread_start carries the thread's name (USDT arg3). */
#define GSB_NAME_LEN 32
/* A thread renamed itself (tp_btf/task_rename): a gsb_record_named with
 * this type, for the loader only (it writes the new name as a THREAD
 * block; never a trace record: outside the catalog's ids). */
#define GSB_REC_RENAME 0xf0
struct gsb_record_named {
	struct gsb_record r;
	char name[GSB_NAME_LEN];
};

#define GSB_HIST_SLOTS 32 /* log2 buckets of microseconds, like libbpf-tools */

/* Per-thread statistics kept in the kernel for `gilscope top`. */
struct gsb_thread_stats {
	__u64 held_ns;          /* GIL held (acquired -> release) */
	__u64 wait_ns;          /* waited (request -> acquired) */
	__u64 acquisitions;
	__u64 contended;        /* acquisitions that had to wait >= 1 us */
	__u64 handoffs;         /* releases with waiters queued (as releaser) */
	__u64 failed_handoffs;  /* ... after which this thread re-took it first */
	__u64 convoy_losses;    /* re-acquire after blocking waited >= convoy_ns */
	__u64 forced_releases;
	__u64 blocking_releases;
	__u32 hold_hist[GSB_HIST_SLOTS];
	__u32 wait_hist[GSB_HIST_SLOTS];
	__u32 last_request_stack; /* top --stacks: Python stack ids (pystack.h) */
	__u32 last_release_stack;
	__u32 last_request_native; /* top --native: native stack ids */
	__u32 last_release_native;
};

/* Per-thread GIL state machine (BPF side only, exposed for debugging). */
struct gsb_thread_state {
	__u64 req_ts;           /* acquire_request time, 0 when not waiting */
	__u64 acq_ts;           /* acquired time, 0 when not holding */
	__u64 save_ts;          /* PyEval_SaveThread entry */
	__u32 pending_lost;     /* events dropped since the last one that fit */
	__u8 in_save;           /* inside PyEval_SaveThread (3.x / 2.7) */
	__u8 blocked;           /* released for a blocking call, not back yet */
	__u8 last_reason;       /* gs_release_reason of the last release */
	__u8 why;               /* gs_acquire_why of the pending request */
	__u8 in_acquire;        /* 2.7: asked for the GIL, the acquire call's
				 * return not seen yet (py27_sites.bpf.h) */
	__u8 seen;              /* thread has produced an event */
	__u8 exiting;           /* in PyThreadState_DeleteCurrent: last release */
	__u8 gil_index;         /* gsb_gil_state.index of the GIL it last used */
	__u64 gil;              /* GIL of the pending request / last hold */
	__u64 wait_switches;    /* libc method: gsb_gil_state.switches at the
				 * timed wait's entry */
	__u64 wait_cond;        /* libc method: GIL condition being waited on */
	__u64 cond_init[2];     /* libc method: the thread's last two
				 * pthread_cond_init() addresses (older first) */
	__u64 oncpu_ts;         /* last sched_switch in, 0: not seen */
	__u8 woke;              /* woke a thread of the process since its
				 * last request (sched_wakeup), or 2.7: its
				 * check-interval release found a waiter
				 * asleep (gsb_gil_state.sleepers) */
	__u8 pad_woke[7];
	__u32 asleep;           /* a GIL waiter switched out blocked, not
				 * woken yet (exchanged atomically: its
				 * wake-up and its switch-in may race) */
	__u32 pad_asleep;
	__u64 woken_ts;         /* 2.7: time of the release that woke it
				 * from its last sleep as a waiter, 0: none
				 * since (the waiter's cycle, cost_model.h) */
};

/* Symbol-free CPython 3.x: a GIL's condition variables (map "gil_conds",
 * keyed by struct gsb_gil_key with gil = the condition's address). */
enum gsb_cond_role {
	GSB_COND_GIL = 1,       /* gil->cond: signalled by every release */
	GSB_COND_SWITCH = 2,    /* gil->switch_cond: signalled by every acquisition */
};

struct gsb_gil_cond {
	__u64 gil;              /* the GIL's identity (address of gil->cond) */
	__u32 role;             /* enum gsb_cond_role */
	__u32 pad;
};

/* Which GIL: one state per (process, GIL), so one BPF object can follow
 * several processes (host-wide) and several GILs per process (3.12+
 * subinterpreters with their own GIL). gil is the GIL's identity address in
 * that process: the address of its condition variable for the libc method
 * (gil->cond, or 3.6's static gil_cond), interpreter_lock's value for 2.7,
 * 0 where the probes cannot tell GILs apart (one GIL: libgil, take_gil). */
struct gsb_gil_key {
	__u32 tgid;
	__u32 pad;
	__u64 gil;
};

/* The GIL as seen from the probes (map "gils"). */
struct gsb_gil_state {
	__u32 holder;           /* tid holding it, 0 when free */
	__u32 last_holder;      /* tid that held it last (prev_holder of acquired) */
	__u32 last_releaser;
	__u32 last_release_waiters; /* the last release had waiters queued */
	__s32 waiters;          /* threads between request and acquired */
	__u32 index;            /* 0 for the first GIL seen in the process, 1, ... */
	__u64 switches;         /* acquisitions by another thread than the last */
	__u32 drop_request;     /* libc method: a waiter's timed wait expired */
	__s32 sleepers;         /* waiters switched out blocked, not woken
				 * yet (atomic: they wake on other CPUs) */
	__u64 release_ts;       /* 2.7: its last release */
};

/* Counter slots (per-CPU array "counters"): records, drops, and hits per
 * probe site, which the loader turns into an overhead estimate (it knows
 * each site's kind and whether its first instruction is single-stepped). */
enum gsb_counter {
	GSB_CNT_EVENTS = 0,     /* records submitted */
	GSB_CNT_DROPS,          /* records lost: ring buffer full */
	GSB_HIT_USDT,           /* any gil:* USDT probe */
	GSB_HIT_TAKE_ENTRY,     /* 3.x take_gil entry */
	GSB_HIT_TAKE_RET,       /* 3.x take_gil return */
	GSB_HIT_DROP,           /* 3.x drop_gil entry */
	GSB_HIT_SAVE,           /* PyEval_SaveThread entry */
	GSB_HIT_RESTORE,        /* PyEval_RestoreThread entry */
	GSB_HIT_ACQ2_ENTRY,     /* 2.7 call of PyThread_acquire_lock: a request */
	GSB_HIT_ACQ2_RET,       /* 2.7 right after that call: acquired */
	GSB_HIT_REL2,           /* 2.7 call of PyThread_release_lock */
	GSB_HIT_SCHED,          /* scheduler tracepoints (every task) */
	GSB_HIT_COND_SIGNAL,    /* libc pthread_cond_signal entry */
	GSB_HIT_COND_WAIT,      /* libc pthread_cond_timedwait entry */
	GSB_HIT_COND_WAIT_RET,  /* libc pthread_cond_timedwait return */
	GSB_HIT_COND_INIT,      /* libc pthread_cond_init entry */
	GSB_CNT_GILS_FOUND,     /* GILs found at creation (cond_init pairs) */
	GSB_HIT_THREAD_EXIT,    /* (_)PyThreadState_DeleteCurrent entry */
	GSB_HIT_ACQ2_TAIL,      /* 2.7 return of a function that tail-calls
				 * PyThread_acquire_lock (PyEval_AcquireLock) */
	/* Not probe hits: what the cost estimate's model reads (tools/bpf/
	 * cost_model.h; needs the scheduler tracepoints) */
	GSB_CNT_WAIT_ONCPU_NS,  /* ns threads ran while waiting for a GIL
				 * another thread held */
	GSB_CNT_RETAKE_WOKE,    /* 2.7 re-takes at the check interval whose
				 * release woke a thread of the process */
	GSB_CNT_RETAKE_WOKE_NS, /* ... their request-to-acquired time */
	GSB_CNT_RETAKE_QUIET,   /* 2.7 re-takes whose release woke no one */
	GSB_CNT_RETAKE_QUIET_NS,
	GSB_CNT_SCHED_TARGET,   /* scheduler hits on the target's threads: the
				 * ones whose cost is the target's (the others
				 * run in other processes' context) */
	/* 2.7's contended regime (cost_model.h, "the waiter's cycle") */
	GSB_CNT_TICKS,          /* check-interval releases */
	GSB_CNT_WAITER_SLEEPS,  /* GIL waiters switched out blocked: each one
				 * a release's wake-up later */
	GSB_CNT_CYCLES,         /* those that followed a wake by a release */
	GSB_CNT_CYCLES_NS,      /* ... their time from that release */
	GSB_CNT_MAX,
};

/* CPython 2.7's check-interval re-takes by their request-to-acquired time
 * (map "retake_hist", per-CPU): GSB_RETAKE_SLOTS slots of
 * GSB_RETAKE_SLOT_NS each (the last one: that and longer), first for the
 * re-takes that woke no one, then for those that woke a thread. The cost
 * model prices a wake-up by the difference of their medians. */
#define GSB_RETAKE_SLOTS 128
#define GSB_RETAKE_SLOT_NS 250

/* CPython 2.7: what a probe at one of the GIL's call sites means (docs/
 * probe-placement.md, "CPython 2.7: the GIL's call sites"). Each site is
 * attached with a BPF cookie: role << GSB_PY2_ROLE_SHIFT | the site's
 * link-time address (its load bias is the probe's IP minus that). No site
 * lies between the eval loop's release and its re-take. */
enum gsb_py2_role {
	GSB_PY2_RELEASE_TICK = 1, /* eval loop, check interval: the call of
				   * PyThread_release_lock, which the re-take
				   * follows with nothing in between: a
				   * release and the thread's next request */
	GSB_PY2_RELEASE_SAVE = 2, /* PyEval_SaveThread: a blocking release */
	GSB_PY2_RELEASE = 3,      /* other releasers (thread exit, embedders) */
	GSB_PY2_REQUEST = 4,      /* a call of PyThread_acquire_lock outside the
				   * eval loop (the thread holds nothing) */
	GSB_PY2_ACQUIRED = 5,     /* the first emulated instruction after a
				   * call of PyThread_acquire_lock: held */
};
#define GSB_PY2_ROLE_SHIFT 56
#define GSB_PY2_VADDR_MASK ((1ull << GSB_PY2_ROLE_SHIFT) - 1)

/* Symbol-free CPython 3.x: libc's pthread_cond_signal is attached with a
 * BPF cookie bounding libc's executable segment around the probed entry:
 * its bytes before the entry << GSB_LIBC_TEXT_BEFORE_SHIFT | its bytes from
 * the entry to its end (libc_caller.bpf.h). */
#define GSB_LIBC_TEXT_BEFORE_SHIFT 32

#endif
