/* SPDX-License-Identifier: MIT */
/*
 * Types shared by gilagg.bpf.c (host-wide in-kernel GIL aggregation) and
 * its loader (tools/bpf/exporter/). Only fixed-width kernel-style types.
 *
 * The probes sit once per binary or library file (pid -1) and fire in every
 * process of that file; each hit finds its process's GIL state in `procs`
 * and its thread's counters in `threads`. User space only reads the maps,
 * at scrape time: no per-event work outside the kernel.
 */
#ifndef GILAGG_H
#define GILAGG_H

/*
 * Fixed histogram buckets for hold and wait times (upper bounds, ns,
 * inclusive like Prometheus' `le`): 1-2.5-5 per decade from 1 us to 1 s,
 * plus +Inf. docs/exporter.md documents them; changing them breaks
 * recorded series, so don't.
 */
#define GSA_BUCKET_BOUNDS_NS                                                  \
	1000ull, 2500ull, 5000ull, 10000ull, 25000ull, 50000ull, 100000ull,  \
	250000ull, 500000ull, 1000000ull, 2500000ull, 5000000ull,            \
	10000000ull, 25000000ull, 50000000ull, 100000000ull, 250000000ull,   \
	500000000ull, 1000000000ull
#define GSA_NBOUNDS 19
#define GSA_BUCKETS (GSA_NBOUNDS + 1) /* the last one is +Inf */

#define GSA_WHY_MAX 4      /* gs_acquire_why: first, after_blocking, after_forced, after_interval */
#define GSA_REASON_MAX 5   /* gs_release_reason */
#define GSA_REASON_SLOTS 8 /* a power of 2 >= GSA_REASON_MAX (verifier bound) */
#define GSA_COMM_LEN 16

/* Which GIL implementation a probe belongs to (set per attach in the
 * bpf cookie together with the binary's index; see gsa_cookie()). */
enum gsa_runtime {
	GSA_RT_LIBGIL = 1,
	GSA_RT_CPYTHON2 = 2,
	GSA_RT_CPYTHON3 = 3,
};

/* Per-binary facts the probes need (array map `bins`, index from the cookie):
 * 2.7's interpreter_lock (st_value; a probe's IP minus its site's address
 * gives the load bias in each process). */
#define GSA_MAX_BINS 256
struct gsa_bin {
	__u64 py2_lock_vaddr;
	__u64 tstate_native_tid_off; /* 3.13+: PyThreadState.native_thread_id */
	__u32 runtime;
	__u32 pad;
};

/* CPython 2.7's call sites (gs_py27_gil_sites) are attached with record's
 * cookie layout (gilscope_bpf.h: role << GSB_PY2_ROLE_SHIFT | the site's
 * link-time address) and the bin's index in the 8 bits below the role: a
 * link-time address of x86-64 user code fits in 48 bits. */
#define GSA_PY2_BIN_SHIFT 48
#define GSA_PY2_VADDR_MASK ((1ull << GSA_PY2_BIN_SHIFT) - 1)

enum gsa_proc_flags {
	GSA_PROC_TRACED = 1,   /* counters kept */
	GSA_PROC_EXCLUDED = 2, /* a filter said no: decided once, not per hit */
};

/* One process: the filters' verdict, taken once (map `procs`). Its GIL
 * state lives in gil_state.bpf.h's `gils`, keyed by (tgid, GIL). */
struct gsa_proc {
	__u32 flags;
	__u32 runtime;
	__u32 bin;
	__u32 pad;
	__u64 first_ns;         /* first hit (bpf_ktime_get_ns) */
};

struct gsa_thread_key {
	__u32 tgid;
	__u32 tid;
};

/* One thread's counters (map `tstats`; its state machine is
 * gil_state.bpf.h's `threads`). Only the thread itself writes them. */
struct gsa_thread {
	__u64 first_ns;         /* created (bpf_ktime_get_ns): which image of a
				 * pid it belongs to, across exec and pid reuse */
	__u64 boost_ts;         /* libgil prio: boosted since */
	/* counters */
	__u64 hold_ns;
	__u64 wait_ns[GSA_WHY_MAX];
	__u64 waits[GSA_WHY_MAX];
	__u64 acquisitions;
	__u64 contended;        /* waited >= 1 us */
	__u64 releases[GSA_REASON_SLOTS];
	__u64 handoffs;         /* releases with waiters queued */
	__u64 handoffs_failed;  /* ... that this thread took back first */
	__u64 drop_requests;    /* libgil: made by this thread */
	__u64 convoy_loss_ns;   /* re-acquires after blocking >= convoy_ns */
	__u64 convoy_losses;
	__u64 inversion_ns;     /* libgil prio: held while boosted */
	__u64 hold_hist[GSA_BUCKETS];
	__u64 wait_hist[GSA_BUCKETS];
	__u32 named;            /* libgil named it (gil:thread_start): keep that */
	__u32 pad;
	char comm[GSA_COMM_LEN]; /* its name: libgil's, else comm as of its last release */
};

/* Process lifecycle notices for user space (ring buffer `notices`). */
enum gsa_notice_kind {
	GSA_NOTICE_EXEC = 1,
	GSA_NOTICE_EXIT = 2,
};
struct gsa_notice {
	__u32 kind;
	__u32 tgid;
	__u64 ts_ns;            /* bpf_ktime_get_ns() of the exec / exit */
};

/* Self-metric slots (per-CPU array `hits`). */
enum gsa_hit {
	GSA_HIT_USDT = 0,       /* any gil:* USDT probe */
	GSA_HIT_TAKE_ENTRY,     /* 3.x take_gil entry */
	GSA_HIT_TAKE_RET,       /* 3.x take_gil return */
	GSA_HIT_DROP,           /* 3.x drop_gil */
	GSA_HIT_SAVE,           /* 3.x PyEval_SaveThread */
	GSA_HIT_ACQ2_ENTRY,     /* 2.7 call of PyThread_acquire_lock: a request */
	GSA_HIT_ACQ2_RET,       /* 2.7 right after that call: acquired */
	GSA_HIT_LIFECYCLE,      /* exec / exit tracepoints */
	GSA_HIT_COND_SIGNAL,    /* symbol-free 3.x: libc pthread_cond_signal */
	GSA_HIT_COND_WAIT,      /* ... pthread_cond_timedwait entry */
	GSA_HIT_COND_WAIT_RET,  /* ... and return */
	GSA_HIT_THREAD_EXIT,    /* (_)PyThreadState_DeleteCurrent, 3.13 PyThreadState_Clear */
	GSA_HIT_REL2,           /* 2.7 call of PyThread_release_lock */
	GSA_HIT_ACQ2_TAIL,      /* 2.7 return of PyEval_AcquireLock (tail call) */
	GSA_LOST_THREADS,       /* thread table full: a thread not counted */
	GSA_LOST_PROCS,         /* process table full */
	GSA_LOST_NOTICES,       /* notice ring full */
	GSA_HIT_MAX,
};

#endif
