/* SPDX-License-Identifier: MIT */
/*
 * A tracing session shared by `gilscope record` and `gilscope top`:
 *  - session_env.c: checks privileges and BTF;
 *  - session.c: finds the target's GIL, starts `-- CMD` held before exec so
 *    nothing is missed, loads and attaches the BPF programs, and takes every
 *    probe away again (links destroyed) however the session ends;
 *  - session_cost.c: counts the probes' hits, estimates what they cost and
 *    says which probes are in use.
 */
#ifndef GILSCOPE_BPF_SESSION_H
#define GILSCOPE_BPF_SESSION_H

#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <linux/types.h>

#include "gilscope_bpf.h"
#include "execfollow.h"
#include "symfree.h"
#include "target.h"
#include "trace_format.h"

enum gs_probe_set {
	GS_PROBES_LIGHT = 0, /* fewest, cheapest probes that give every metric */
	GS_PROBES_FULL = 1,  /* also RestoreThread and 2.7's release: exact times */
};

struct gs_session_opts {
	pid_t pid;              /* -p, or 0 */
	char **cmd;             /* -- CMD ARGS, or NULL */
	int verbose;
	int sched;              /* scheduler tracepoints */
	int probes;             /* enum gs_probe_set */
	int events;             /* fill the ring buffer (record) */
	int stats;              /* in-kernel per-thread statistics (top) */
	int pystacks;           /* Python stack on each request and release */
	int native;             /* native stack there too (record --native) */
	uint64_t ringbuf_bytes;
	uint64_t convoy_ns;
	const char *prog;       /* "gilscope record" for messages */
};

/* an LTO build has dozens of inline sites per function */
#define GS_MAX_LINKS 512

struct gs_session {
	struct gilscope_bpf *skel;
	struct gs_target target;
	pid_t pid;              /* the traced process */
	int child;              /* we started the command */
	pid_t child_pid;        /* its first process: pid, or a wrapper of it */
	int following;          /* pid found by following execs (ptrace) */
	struct gs_exec_follow follow;
	int child_gate;         /* write end of the pipe the child waits on */
	int child_exited;
	int child_status;
	struct bpf_link *links[GS_MAX_LINKS];
	int nlinks;
	int sched_raw_tp;       /* fell back from tp_btf */
	int single_step[GSB_CNT_MAX]; /* per hit slot: first insn single-stepped */
	struct gs_symfree_libc symfree_libc;  /* symbol-free 3.x: libc probes */
	struct gs_symfree_live symfree_live;  /* ... and a running process's GILs */
	uint64_t reported[GS_SYMFREE_MAX_GILS]; /* GILs -v has named */
	int nreported;
	char command[256];
	const struct gs_session_opts *opts;
	/* where each probe went and how it was found (PROBES block, -v) */
	struct gs_probe_site *sites;
	size_t nsites;
	int skipped_inline_take; /* inline take_gil copies: no return to probe */
	int gil_keyed;          /* 3.12+ symbol-table probes tell GILs apart */
	/* the target's CPU time, for the cost estimate (session_cost.c) */
	uint64_t user_start_ns, user_mark_ns;
	uint64_t sys_start_ns, sys_mark_ns;
	int cpu_start_ok, cpu_mark_ok;
	double trap_ns;         /* a uprobe's round trip measured now
				 * (calibrate.h), 0: GS_COST_UPROBE_NS */
	double ret_ns;          /* ... a return probe's extra, 0:
				 * GS_COST_URETPROBE_NS */
	double refill_ns;       /* what the program loses refilling its
				 * caches after each trap, measured now
				 * (calibrate.h); 0 at the constants */
	struct rusage child_usage; /* the command's, when we reaped it */
	int child_usage_ok;
};

/* Set by SIGINT/SIGTERM (gs_session_signals); the drain loops poll it. */
extern volatile sig_atomic_t gs_session_stop;
void gs_session_signals(void);

/* Root, or CAP_BPF and CAP_PERFMON, and a kernel with BTF. 0, or 1 after
 * saying what is missing and what to do. */
int gs_session_check_environment(const struct gs_session_opts *o);
/* Everything up to attached probes. Returns 0, or an exit code (1: error;
 * the message has been printed) after cleaning up. */
int gs_session_start(struct gs_session *s, const struct gs_session_opts *o);
/* Starts counting events (every probe is in) and lets a `-- CMD` child
 * exec. */
void gs_session_go(struct gs_session *s);
/* Stops counting events at once, before the probes come out one by one:
 * every probe sees the same window (gs_session_end does it too). */
void gs_session_disarm(struct gs_session *s);
/* 0 once the target is gone (child exited / PID vanished). */
int gs_session_alive(struct gs_session *s);
/* Sums the per-CPU counters. */
void gs_session_counters(struct gs_session *s, uint64_t out[GSB_CNT_MAX]);
/* Hits of the GIL probes (every slot but the scheduler's and the counts). */
uint64_t gs_session_gil_hits(const uint64_t cnt[GSB_CNT_MAX]);
/* The same per CPU (the counters are per-CPU arrays), into out[ncpu]
 * (ncpu: libbpf_num_possible_cpus()); 0, or -1 when unreadable. */
int gs_session_gil_hits_per_cpu(struct gs_session *s, uint64_t *out, int ncpu);
/* Estimated probe cost in ns for these counters (docs/observer-effect.md):
 * hits x per-hit cost; with s->trap_ns set, an emulated uprobe's hit is
 * that round trip plus s->refill_ns per trap (an entry's, a return's) and
 * the caller adds the programs' measured run time. */
double gs_session_cost_ns(struct gs_session *s, const uint64_t cnt[GSB_CNT_MAX]);
/* The traced process's CPU time at the stop, for gs_session_cpu_ns(). */
void gs_session_cpu_mark(struct gs_session *s);
/* The CPU time the target used from the probes' attach to the stop (its
 * /proc/PID/stat at both ends; a `-- CMD` that exited: what wait4 said,
 * the command's waited children included). 0, or -1 when unknown. */
int gs_session_cpu_ns(const struct gs_session *s, uint64_t *ns);
/* The part of it that was system time: where the probes' traps and BPF
 * programs run. 0, or -1 when unknown. */
int gs_session_sys_ns(const struct gs_session *s, uint64_t *ns);
/* The slowdown the probes cause a CPU-bound run, in percent, from their
 * estimated cost, the CPU time the target used with them in and the wall
 * time it took, and what the counters c say of its GIL waiters (the CPU
 * time they ran beside the holder, the wake-ups on the holder's path;
 * cost_model.h, docs/observer-effect.md); negative when the CPU time is
 * unknown (cpu_ns <= 0). e gets the parts (or NULL). */
struct gs_cost_est;
double gs_session_estimate(const uint64_t c[GSB_CNT_MAX], double cost_ns,
			   double refill_ns, double cpu_ns, double sys_ns,
			   double wall_ns, double quiet_median_ns,
			   double woke_median_ns, double sched_prog_ns,
			   struct gs_cost_est *e);
/* The scheduler programs' mean run time per run (ns), from the kernel's
 * BPF statistics while the cost meter had them on; 0: not measured. Read
 * before the skeleton goes. */
double gs_session_sched_prog_ns(struct gs_session *s);
/* The median request-to-acquired time of 2.7's check-interval re-takes
 * that woke no one / a thread (0: none); read before the skeleton goes. */
void gs_session_retake_medians(struct gs_session *s, double *quiet_ns,
			       double *woke_ns);
/* The probes' placement, one line per function and method, for -v. */
void gs_session_describe_sites(struct gs_session *s, FILE *out);
/* One line naming the probes in use and what they cost, for stderr. */
void gs_session_describe(struct gs_session *s, FILE *out);
/* Detaches everything, frees the skeleton; terminates a `-- CMD` child that
 * is still running only if kill_child. Returns the child's exit code (or 0). */
int gs_session_end(struct gs_session *s, int kill_child);

/* Per-hit costs (ns) measured here with gilscope-probecost at a load
 * average of 4 (docs/observer-effect.md). Single-stepping is far costlier
 * on this kernel than the 3.7 us the environment notes give: the 2.7 full
 * probe set's slowdown confirms it. Our return probes always sit on a
 * function whose entry is probed too; the kernel then takes one trap for
 * both, so a return hit adds only the return trampoline (entry + return
 * measured 935 ns against 691 ns for the entry alone). */
#define GS_COST_USDT_NS 280.0
#define GS_COST_UPROBE_NS 690.0
#define GS_COST_UPROBE_SS_NS 17000.0
#define GS_COST_URETPROBE_NS 250.0
#define GS_COST_URETPROBE_SS_NS 250.0
#define GS_COST_SCHED_NS 60.0
/* One Python stack walk (record --stacks), BPF run time per take_gil /
 * drop_gil hit with minus without stacks, CPython 3.11 countdown
 * (kernel.bpf_stats_enabled; docs/observer-effect.md). */
#define GS_COST_PYSTACK_NS 2700.0
/* One native stack (record --native) on top of it, measured the same way
 * (scripts/stack-cost.sh: 1.1-2.2 us more per take_gil / drop_gil hit). */
#define GS_COST_NATIVE_NS 1600.0


#endif
