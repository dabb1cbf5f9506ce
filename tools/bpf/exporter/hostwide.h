/* SPDX-License-Identifier: MIT */
/*
 * Host-wide GIL tracing (`gilscope exporter`, `gilscope top -a`): every
 * libgil and CPython process on the host, those running now and those
 * started later, aggregated in the kernel by gilagg.bpf.c.
 *
 *   discovery   /proc scan at start and every rescan interval, plus the
 *               exec/exit notices of the BPF program (a new process is
 *               looked at shortly after its exec, once its libraries are
 *               mapped); each distinct binary or library file gets its
 *               probes once, with pid -1, and the filters (-p, --comm,
 *               --cgroup) run in the kernel;
 *   reading     gs_hw_refresh() copies the per-thread counters from the
 *               maps (the only user-space work, once per scrape);
 *   exit        a process that exits (or execs) keeps its last counters
 *               for the grace period, then disappears; its kernel entries
 *               are deleted at once.
 */
#ifndef GILSCOPE_BPF_HOSTWIDE_H
#define GILSCOPE_BPF_HOSTWIDE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/types.h>

#include "gilagg.h"

struct gs_hw_opts {
	const char *prog;        /* "gilscope exporter" for messages */
	pid_t *pids;             /* -p PID[,PID...]: only these (n_pids > 0) */
	size_t n_pids;
	const char *comm;        /* --comm NAME: only processes named NAME */
	const char *cgroup;      /* --cgroup PATH: only processes in it (v2) */
	uint64_t convoy_ns;      /* convoy loss threshold */
	double grace_s;          /* exited processes stay this long */
	double rescan_s;         /* full /proc scan interval */
	int discover_only;       /* find processes, put no GIL probe (record -a) */
	const char **pythons;    /* --python FILE: probed from the start */
	size_t n_pythons;
	int verbose;
};

struct gs_hw_thread {
	uint32_t tid;
	char name[GSA_COMM_LEN];
	int live;                /* still in /proc */
	uint64_t died_ns;        /* when it was found gone */
	struct gsa_thread v;     /* counters, last read (completed holds/waits) */
	uint64_t open_hold_ns;   /* hold in progress at the last read */
	uint64_t open_wait_ns;   /* wait in progress at the last read ... */
	int open_why;            /* ... and why it asked */
};

struct gs_hw_proc {
	pid_t pid;
	unsigned long long start_time; /* /proc/PID/stat field 22: pid reuse */
	char comm[GSA_COMM_LEN];
	char runtime[16];        /* "cpython", "libgil" */
	char python[16];         /* "3.11", "2.7", "" (libgil) */
	char cgroup[256];        /* cgroup v2 path, "" when none */
	char container[80];      /* container id found in the cgroup path */
	int exited;
	uint64_t exited_ns;
	struct bpf_link *links[3];/* symbol-free 3.x: libc probes of this process */
	int nlinks;
	struct gs_hw_thread *th;
	size_t nth, cap;
};

struct gs_hw_bin {
	dev_t dev;
	ino_t ino;
	char path[4096];
	int runtime;             /* enum gsa_runtime */
	char python[16];         /* "3.11", "2.7", "" (libgil) */
	int symfree;             /* 3.x without symbols: GIL conditions via libc */
	int single_step[GSA_HIT_MAX];
	int nlinks;
};

struct gs_hw {
	struct gs_hw_opts o;
	struct gilagg_bpf *skel;
	struct ring_buffer *notices;
	struct bpf_link **links;
	size_t nlinks, caplinks;
	struct gs_hw_bin *bins;
	size_t nbins;
	struct gs_hw_proc *procs;
	size_t nprocs, capprocs;
	/* executables known to hold no GIL (skip them on the next scans) */
	struct { dev_t dev; ino_t ino; } *nogil;
	size_t nnogil, capnogil;
	/* counter entries of processes gone before they were listed */
	struct gsa_thread_key *stale;
	size_t nstale, capstale;
	uint64_t unlisted_forgotten; /* such processes */
	/* Python processes we cannot trace (said once, not looked at again) */
	struct { pid_t pid; unsigned long long start_time; } *skipped;
	size_t nskipped, capskipped;
	uint64_t untraceable;    /* such processes seen */
	char cgroup_rel[4096];   /* --cgroup as /proc/PID/cgroup shows it */
	struct bpf_link *sf_links[3]; /* setup_symfree -> the process entry */
	int sf_nlinks;
	int sf_single_step[GSA_HIT_MAX];
	/* a pid seen at exec, looked at again once its libraries are mapped */
	struct { pid_t pid; uint64_t due_ns; int tries; } *pending;
	size_t npending, cappending;
	uint64_t last_scan_ns;
	uint64_t exits, execs;   /* notices handled */
	uint64_t removed;        /* processes dropped after the grace period */
};

/* Loads the program, attaches the lifecycle tracepoints, scans /proc.
 * 0, or 1 with the message printed. */
int gs_hw_start(struct gs_hw *hw, const struct gs_hw_opts *o);
/* Handles notices and due discoveries; rescans /proc when it is time. Call
 * it every few tens of ms (cheap when nothing happened). */
void gs_hw_poll(struct gs_hw *hw);
/* fd that becomes readable when a notice arrives (for poll()). */
int gs_hw_notice_fd(struct gs_hw *hw);
/* Reads every thread's counters from the kernel; drops processes whose
 * grace period has passed. */
void gs_hw_refresh(struct gs_hw *hw);
/* Sum of the per-CPU self counters (enum gsa_hit). */
void gs_hw_hits(struct gs_hw *hw, uint64_t out[GSA_HIT_MAX]);
/* Estimated time spent in the probes so far (ns), from the hits. */
double gs_hw_cost_ns(struct gs_hw *hw, const uint64_t hits[GSA_HIT_MAX]);
/* 0 once the process PID that started at start_time (/proc/PID/stat
 * field 22) has exited: gone, a zombie, or the PID reused. */
int gs_hw_proc_running(pid_t pid, unsigned long long start_time);
/* Detaches everything and frees (safe on a partly started hw). */
void gs_hw_stop(struct gs_hw *hw);

/* a += b, field by field. */
void gs_hw_add(struct gsa_thread *a, const struct gsa_thread *b);
/* a += t's counters with its hold/wait in progress counted in: totals that
 * grow smoothly (a long hold does not land in one interval at its end). */
void gs_hw_add_thread(struct gsa_thread *a, const struct gs_hw_thread *t);


#endif
