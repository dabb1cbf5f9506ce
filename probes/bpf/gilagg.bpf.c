// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * Host-wide GIL aggregation for `gilscope exporter` and `gilscope top -a`:
 * per-process GIL state and per-thread counters and fixed-bucket histograms
 * kept in maps, read by user space at scrape time. Nothing is streamed per
 * event (the only ring buffer carries exec/exit notices).
 *
 * The probes are attached once per file with pid -1, so they fire in every
 * process that maps the file; the filters (-p, --comm, --cgroup) are applied
 * here, once per process: the verdict is cached in its `procs` entry.
 *
 * The state machine is gil_state.bpf.h's (gilscope.bpf.c's), so the ways
 * in and their semantics are those of `gilscope record`'s light probe set
 * and the figures those of `gilscope report`:
 *  - libgil: gil:* USDT probes;
 *  - CPython 3.x: take_gil entry/return, drop_gil, PyEval_SaveThread;
 *  - CPython 2.7: ceval.c's calls of PyThread_release_lock /
 *    PyThread_acquire_lock on interpreter_lock, at record's call sites and
 *    with its meaning of each (py27_sites.bpf.h); never a probe between
 *    the eval loop's release and its re-take.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/usdt.bpf.h>

#include "gil_events.h"
#include "gilagg.h"
#include "gil_state.bpf.h" /* threads, gils; want_stats stays 0 here */
#include "libc_caller.bpf.h"
#include "py27_sites.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

const volatile __u8 filter_pids = 0;      /* only pids user space put in procs */
const volatile __u8 filter_cgroups = 0;   /* only cgroups in allowed_cgroups */
const volatile __u8 filter_comm = 0;      /* only processes whose comm is comm_filter */
const volatile char comm_filter[GSA_COMM_LEN] = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct gsa_proc);
} procs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct gsa_thread_key);
	__type(value, struct gsa_thread);
} tstats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GSA_MAX_BINS);
	__type(key, __u32);
	__type(value, struct gsa_bin);
} bins SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u64);
	__type(value, __u8);
} allowed_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GSA_HIT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 10);
} notices SEC(".maps");

static const __u64 bucket_bounds[GSA_NBOUNDS] = { GSA_BUCKET_BOUNDS_NS };
static const struct gsa_thread zero_thread;

static __always_inline void count(__u32 slot)
{
	__u64 *c = bpf_map_lookup_elem(&hits, &slot);
	if (c)
		(*c)++;
}

static __always_inline __u32 bucket(__u64 ns)
{
	__u32 b = GSA_NBOUNDS;
#pragma unroll
	for (int i = GSA_NBOUNDS - 1; i >= 0; i--)
		if (ns <= bucket_bounds[i])
			b = i;
	return b;
}

static __always_inline int comm_matches(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	char comm[GSA_COMM_LEN];
	BPF_CORE_READ_STR_INTO(&comm, t, group_leader, comm);
#pragma unroll
	for (int i = 0; i < GSA_COMM_LEN; i++) {
		if (comm[i] != comm_filter[i])
			return 0;
		if (!comm[i])
			break;
	}
	return 1;
}

/* The process of the current task, created on first sight with the
 * filters' verdict; NULL when it is not traced. */
static __always_inline struct gsa_proc *current_proc(__u32 tgid, __u32 runtime,
						     __u32 bin)
{
	struct gsa_proc *p = bpf_map_lookup_elem(&procs, &tgid);
	if (p)
		return p->flags & GSA_PROC_TRACED ? p : NULL;
	if (filter_pids)
		return NULL; /* user space listed every traced pid */
	struct gsa_proc np = { .runtime = runtime, .bin = bin };
	np.first_ns = bpf_ktime_get_ns();
	np.flags = GSA_PROC_TRACED;
	if (filter_cgroups) {
		__u64 cg = bpf_get_current_cgroup_id();
		if (!bpf_map_lookup_elem(&allowed_cgroups, &cg))
			np.flags = GSA_PROC_EXCLUDED;
	}
	if (filter_comm && np.flags == GSA_PROC_TRACED && !comm_matches())
		np.flags = GSA_PROC_EXCLUDED;
	if (bpf_map_update_elem(&procs, &tgid, &np, BPF_NOEXIST) == -E2BIG)
		count(GSA_LOST_PROCS);
	p = bpf_map_lookup_elem(&procs, &tgid);
	if (!p || !(p->flags & GSA_PROC_TRACED))
		return NULL;
	if (!p->runtime)
		p->runtime = runtime; /* listed by user space before its first hit */
	return p;
}

static __always_inline struct gsa_thread *thread_counters(__u32 tgid, __u32 tid)
{
	struct gsa_thread_key k = { .tgid = tgid, .tid = tid };
	struct gsa_thread *t = bpf_map_lookup_elem(&tstats, &k);
	if (t)
		return t;
	if (bpf_map_update_elem(&tstats, &k, &zero_thread, BPF_NOEXIST) == -E2BIG) {
		count(GSA_LOST_THREADS);
		return NULL;
	}
	t = bpf_map_lookup_elem(&tstats, &k);
	if (t) {
		t->first_ns = bpf_ktime_get_ns();
		bpf_get_current_comm(t->comm, sizeof(t->comm));
	}
	return t;
}

struct ctx {
	struct gsb_gil_state *g;        /* gil_state.bpf.h */
	struct gsb_thread_state *st;    /* gil_state.bpf.h */
	struct gsa_thread *t;           /* our counters */
	__u32 tgid, tid;
};

/* Looks up (and filters) the current process, its GIL and the thread.
 * 0 when traced. gil: the GIL's identity (gsb_gil_key). */
static __always_inline int enter(struct ctx *c, __u32 runtime, __u32 bin, __u64 gil)
{
	__u64 id = bpf_get_current_pid_tgid();
	c->tgid = (__u32)(id >> 32);
	c->tid = (__u32)id;
	if (!current_proc(c->tgid, runtime, bin))
		return -1;
	c->t = thread_counters(c->tgid, c->tid);
	c->st = thread_state(c->tid);
	c->g = gil_state(c->tgid, gil);
	return c->t && c->st && c->g ? 0 : -1;
}

/* ---- counting around the shared state machine --------------------------- */

static __always_inline void agg_request(struct ctx *c, __u64 ts, __u8 why)
{
	gsb_state_request(c->g, c->st, ts, why);
}

static __always_inline void agg_acquired(struct ctx *c, __u64 ts)
{
	struct gsa_thread *t = c->t;
	struct gsb_thread_state *st = c->st;
	/* A thread already waiting when the probes went in never counted
	 * itself in: its wait is unknown, not zero. */
	int timed = st->req_ts != 0;
	__u64 wait = timed && ts > st->req_ts ? ts - st->req_ts : 0;
	__u32 why = st->why & (GSA_WHY_MAX - 1); /* a power of 2: the verifier's bound */
	int failed = c->g->last_release_waiters && c->g->last_releaser == c->tid;

	gsb_state_acquired(c->g, st, c->tid, ts);
	if (timed) {
		t->wait_ns[why] += wait;
		t->waits[why]++;
		__u32 b = bucket(wait);
		if (b < GSA_BUCKETS)
			t->wait_hist[b]++;
		if (wait >= 1000)
			t->contended++;
		if (why == GS_WHY_AFTER_BLOCKING && wait >= convoy_ns) {
			t->convoy_loss_ns += wait;
			t->convoy_losses++;
		}
	}
	t->acquisitions++;
	if (failed)
		t->handoffs_failed++;
}

static __always_inline void agg_release(struct ctx *c, __u64 ts, __u8 reason)
{
	struct gsa_thread *t = c->t;
	__u64 acq = c->st->acq_ts;

	if (gsb_state_release(c->g, c->st, c->tid, ts, reason))
		t->handoffs++;
	if (acq && ts > acq) {
		__u64 hold = ts - acq;
		__u32 b = bucket(hold);
		t->hold_ns += hold;
		if (b < GSA_BUCKETS)
			t->hold_hist[b]++;
	}
	t->releases[reason & (GSA_REASON_SLOTS - 1)]++;
	/* threads are often named after their first acquire (prctl,
	 * threading in 3.14): the name follows, for a 16-byte copy (not
	 * for a release inferred on another thread's behalf) */
	if (!t->named && c->tid == (__u32)bpf_get_current_pid_tgid())
		bpf_get_current_comm(t->comm, sizeof(t->comm));
}

/* ---- libgil: gil:* USDT ------------------------------------------------- */

static __always_inline int on_usdt(struct pt_regs *ctx, __u8 type)
{
	struct ctx c;
	long a8 = 0, a1 = 0;
	__u64 ts = bpf_ktime_get_ns();

	count(GSA_HIT_USDT);
	if (enter(&c, GSA_RT_LIBGIL, 0, 0))
		return 0;
	bpf_usdt_arg(ctx, 0, &a8);
	switch (type) {
	case GS_EV_acquire_request:
		agg_request(&c, ts, (__u8)a8);
		break;
	case GS_EV_acquired:
		agg_acquired(&c, ts);
		break;
	case GS_EV_release:
		agg_release(&c, ts, (__u8)a8);
		break;
	case GS_EV_drop_request:
		c.t->drop_requests++;
		break;
	case GS_EV_thread_start: {
		/* libgil's own thread name (arg 3), the one its reports use */
		long name = 0;
		bpf_usdt_arg(ctx, 3, &name);
		if (name && bpf_probe_read_user_str(c.t->comm, sizeof(c.t->comm),
						    (const void *)name) > 1)
			c.t->named = 1;
		break;
	}
	case GS_EV_prio_boost: {
		/* a0: the holder whose priority changes, a1: the priority lent
		 * to it by a waiter (emitted by the waiter), 0 when the holder
		 * restores its own (emitted by the holder): the time between is
		 * a priority inversion the holder is being hurried through */
		long a0 = 0;
		bpf_usdt_arg(ctx, 1, &a0);
		bpf_usdt_arg(ctx, 2, &a1);
		struct gsa_thread_key hk = { .tgid = c.tgid, .tid = (__u32)a0 };
		struct gsa_thread *h = bpf_map_lookup_elem(&tstats, &hk);
		if (!h)
			break;
		if (a1 && !h->boost_ts)
			h->boost_ts = ts;
		else if (!a1 && h->boost_ts) {
			h->inversion_ns += ts - h->boost_ts;
			h->boost_ts = 0;
		}
		break;
	}
	}
	return 0;
}

SEC("usdt")
int usdt_thread_start(struct pt_regs *ctx) { return on_usdt(ctx, GS_EV_thread_start); }
SEC("usdt")
int usdt_acquire_request(struct pt_regs *ctx) { return on_usdt(ctx, GS_EV_acquire_request); }
SEC("usdt")
int usdt_acquired(struct pt_regs *ctx) { return on_usdt(ctx, GS_EV_acquired); }
SEC("usdt")
int usdt_release(struct pt_regs *ctx) { return on_usdt(ctx, GS_EV_release); }
SEC("usdt")
int usdt_drop_request(struct pt_regs *ctx) { return on_usdt(ctx, GS_EV_drop_request); }
SEC("usdt")
int usdt_prio_boost(struct pt_regs *ctx) { return on_usdt(ctx, GS_EV_prio_boost); }

/* ---- CPython 3.x: take_gil / drop_gil ----------------------------------- */

SEC("uprobe")
int BPF_KPROBE(py3_take_gil)
{
	struct ctx c;
	__u64 ts = bpf_ktime_get_ns();

	count(GSA_HIT_TAKE_ENTRY);
	if (enter(&c, GSA_RT_CPYTHON3, (__u32)bpf_get_attach_cookie(ctx), 0))
		return 0;
	c.st->in_save = 0;
	agg_request(&c, ts, why_from_last(c.st));
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(py3_take_gil_ret)
{
	struct ctx c;
	__u64 ts = bpf_ktime_get_ns();

	count(GSA_HIT_TAKE_RET);
	if (enter(&c, GSA_RT_CPYTHON3, (__u32)bpf_get_attach_cookie(ctx), 0))
		return 0;
	if (!c.st->req_ts)
		c.st->why = why_from_last(c.st);
	agg_acquired(&c, ts);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(py3_drop_gil)
{
	struct ctx c;
	__u64 ts = bpf_ktime_get_ns();
	__u8 reason;

	count(GSA_HIT_DROP);
	if (enter(&c, GSA_RT_CPYTHON3, (__u32)bpf_get_attach_cookie(ctx), 0))
		return 0;
	/* as gilscope.bpf.c: a thread's last release (exit); inside
	 * PyEval_SaveThread a blocking one; outside, a waiter's drop request
	 * forced it */
	if (c.st->exiting) {
		reason = GS_RELEASE_EXIT;
		c.st->exiting = 0;
	} else if (c.st->in_save)
		reason = GS_RELEASE_BLOCKING;
	else if (c.g->waiters > 0)
		reason = GS_RELEASE_FORCED;
	else
		reason = GS_RELEASE_UNKNOWN;
	c.st->in_save = 0;
	agg_release(&c, ts, reason);
	return 0;
}

/* PyEval_SaveThread: the holder is about to release for a blocking call
 * (drop_gil follows). */
SEC("uprobe")
int BPF_KPROBE(py3_save_thread)
{
	struct ctx c;

	count(GSA_HIT_SAVE);
	if (enter(&c, GSA_RT_CPYTHON3, (__u32)bpf_get_attach_cookie(ctx), 0))
		return 0;
	c.st->in_save = 1;
	return 0;
}

/* ---- CPython 2.7: ceval.c's calls of PyThread_*_lock on interpreter_lock
 *
 * record's sites and transitions (gilscope.bpf.c, py27_sites.bpf.h), so
 * that a process's counters here are those of its trace's report. */

static __always_inline int py2_acquired(__u32 bin, __u64 ts)
{
	struct ctx c;
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	if (!gsb_py2_take_acquired(bpf_map_lookup_elem(&threads, &tid)))
		return 0;
	if (enter(&c, GSA_RT_CPYTHON2, bin, 0))
		return 0;
	agg_acquired(&c, ts);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(py2_site, void *lock)
{
	struct ctx c;
	__u64 ts = bpf_ktime_get_ns();
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 role = (__u32)(cookie >> GSB_PY2_ROLE_SHIFT);
	__u32 bin = (__u32)(cookie >> GSA_PY2_BIN_SHIFT) & (GSA_MAX_BINS - 1);

	count(role == GSB_PY2_ACQUIRED  ? GSA_HIT_ACQ2_RET
	      : role == GSB_PY2_REQUEST ? GSA_HIT_ACQ2_ENTRY
					: GSA_HIT_REL2);
	if (role == GSB_PY2_ACQUIRED)
		return py2_acquired(bin, ts);
	struct gsa_bin *b = bpf_map_lookup_elem(&bins, &bin);
	/* at the call, the lock is the first argument */
	if (!b || !gsb_py2_is_gil(ctx, cookie & GSA_PY2_VADDR_MASK, b->py2_lock_vaddr,
				  (__u64)lock))
		return 0;
	if (enter(&c, GSA_RT_CPYTHON2, bin, 0))
		return 0;
	if (role == GSB_PY2_REQUEST) {
		gsb_py2_request(c.g, c.st, ts);
		return 0;
	}
	agg_release(&c, ts, gsb_py2_release_reason(role, c.st));
	/* the eval loop asks again at once: its request, timed now */
	if (role == GSB_PY2_RELEASE_TICK)
		gsb_py2_request(c.g, c.st, bpf_ktime_get_ns());
	return 0;
}

/* PyEval_AcquireLock tail-calls PyThread_acquire_lock: held at its return. */
SEC("uretprobe")
int BPF_KRETPROBE(py2_acquired_ret)
{
	__u64 ts = bpf_ktime_get_ns();

	count(GSA_HIT_ACQ2_TAIL);
	return py2_acquired((__u32)(bpf_get_attach_cookie(ctx) >> GSA_PY2_BIN_SHIFT) &
				    (GSA_MAX_BINS - 1),
			    ts);
}

/* ---- CPython 3.x without symbols: the GIL's pthread conditions ----------
 *
 * The way in of gilscope.bpf.c's symbol-free method (docs/symbol-free.md),
 * counted here: libc's pthread_cond_signal on gil->cond is a release, on
 * gil->switch_cond an acquisition; pthread_cond_timedwait on gil->cond a
 * request, and its time-out with no switch meanwhile the drop request;
 * libc's own calls of pthread_cond_signal are none (libc_caller.bpf.h).
 * The conditions of each process are put in agg_gil_conds by user space
 * (found from _PyRuntime); these probes are attached to each such process
 * alone (its libc is every program's). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct gsb_gil_key);
	__type(value, struct gsb_gil_cond);
} agg_gil_conds SEC(".maps");

static __always_inline struct gsb_gil_cond *agg_cond(__u64 cond)
{
	struct gsb_gil_key k = { .tgid = (__u32)(bpf_get_current_pid_tgid() >> 32),
				 .gil = cond };
	return bpf_map_lookup_elem(&agg_gil_conds, &k);
}

/* The thread waits for (or, uncontended, is about to get) the GIL. */
static __always_inline void agg_pyc_request(struct ctx *c, __u64 gil, __u64 ts)
{
	if (c->st->req_ts && c->st->gil == gil)
		return;
	c->st->in_save = 0;
	agg_request(c, ts, why_from_last(c->st));
	c->st->gil = gil;
}

SEC("uprobe")
int BPF_KPROBE(agg_cond_signal, void *cond)
{
	struct ctx c;
	__u64 ts = bpf_ktime_get_ns();

	count(GSA_HIT_COND_SIGNAL);
	struct gsb_gil_cond *gc = agg_cond((__u64)cond);
	if (!gc || gsb_called_from_libc(ctx))
		return 0; /* libc's replacement signal (libc_caller.bpf.h) */
	__u64 gil = gc->gil;
	__u32 role = gc->role;
	if (enter(&c, GSA_RT_CPYTHON3, 0, gil))
		return 0;
	if (role == GSB_COND_SWITCH) {
		agg_pyc_request(&c, gil, ts);
		agg_acquired(&c, ts);
		return 0;
	}
	__u8 reason;
	if (c.st->exiting) {
		reason = GS_RELEASE_EXIT;
		c.st->exiting = 0;
	} else if (c.st->in_save) {
		reason = GS_RELEASE_BLOCKING;
	} else if (c.g->drop_request) {
		reason = GS_RELEASE_FORCED;
	} else {
		reason = GS_RELEASE_BLOCKING;
	}
	c.st->in_save = 0;
	agg_release(&c, ts, reason);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(agg_cond_timedwait, void *cond)
{
	struct ctx c;
	__u64 ts = bpf_ktime_get_ns();

	count(GSA_HIT_COND_WAIT);
	struct gsb_gil_cond *gc = agg_cond((__u64)cond);
	if (!gc || gc->role != GSB_COND_GIL)
		return 0;
	__u64 gil = gc->gil;
	if (enter(&c, GSA_RT_CPYTHON3, 0, gil))
		return 0;
	agg_pyc_request(&c, gil, ts);
	c.st->wait_cond = (__u64)cond;
	c.st->wait_switches = c.g->switches;
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(agg_cond_timedwait_ret, int ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;

	count(GSA_HIT_COND_WAIT_RET);
	struct gsb_thread_state *st = bpf_map_lookup_elem(&threads, &tid);
	if (!st || !st->wait_cond)
		return 0;
	st->wait_cond = 0;
	/* take_gil timed out while the GIL stayed with the same holder:
	 * SET_GIL_DROP_REQUEST (CPython's own rule) */
	struct gsb_gil_state *g = gil_state((__u32)(id >> 32), st->gil);
	if (!g || ret != 110 /* ETIMEDOUT */ || !g->holder ||
	    g->switches != st->wait_switches || g->drop_request)
		return 0;
	g->drop_request = 1;
	struct gsa_thread_key k = { .tgid = (__u32)(id >> 32), .tid = tid };
	struct gsa_thread *t = bpf_map_lookup_elem(&tstats, &k);
	if (t)
		t->drop_requests++;
	return 0;
}

/* ---- thread exit: its next release is its last ------------------------ */

static __always_inline void mark_exiting(__u32 tid)
{
	struct gsb_thread_state *st = bpf_map_lookup_elem(&threads, &tid);
	if (st)
		st->exiting = 1;
}

/* (_)PyThreadState_DeleteCurrent (2.7-3.12; exported) */
SEC("uprobe")
int BPF_KPROBE(agg_thread_exit)
{
	count(GSA_HIT_THREAD_EXIT);
	mark_exiting((__u32)bpf_get_current_pid_tgid());
	return 0;
}

/* 3.13+: PyThreadState_Clear of the calling thread's own state */
SEC("uprobe")
int BPF_KPROBE(agg_tstate_clear, void *tstate)
{
	__u32 bin = (__u32)bpf_get_attach_cookie(ctx);
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct gsa_bin *b = bpf_map_lookup_elem(&bins, &bin);
	__u64 native = 0;

	count(GSA_HIT_THREAD_EXIT);
	if (!b || !b->tstate_native_tid_off ||
	    bpf_probe_read_user(&native, sizeof(native),
				(void *)tstate + b->tstate_native_tid_off) ||
	    native != tid)
		return 0;
	mark_exiting(tid);
	return 0;
}

/* ---- process lifecycle -------------------------------------------------- */

static __always_inline void notice(__u32 kind, __u32 tgid)
{
	struct gsa_notice *n = bpf_ringbuf_reserve(&notices, sizeof(*n), 0);
	if (!n) {
		count(GSA_LOST_NOTICES);
		return;
	}
	n->kind = kind;
	n->tgid = tgid;
	n->ts_ns = bpf_ktime_get_ns();
	bpf_ringbuf_submit(n, 0);
}

/* exec replaces the image: the new one starts from a clean slate now,
 * before it runs (a new verdict of the filters; the exec'ing thread, now
 * the leader, loses its state and counters; the GIL state of the
 * symbol-index ways in, keyed 0, goes). User space folds the old image's
 * other threads (created before the notice's time) when it reads it. */
SEC("tp/sched/sched_process_exec")
int gilagg_exec(void *ctx)
{
	__u32 tgid = (__u32)(bpf_get_current_pid_tgid() >> 32);
	struct gsa_thread_key k = { .tgid = tgid, .tid = tgid };
	struct gsb_gil_key gk = { .tgid = tgid, .gil = 0 };

	count(GSA_HIT_LIFECYCLE);
	bpf_map_delete_elem(&procs, &tgid);
	bpf_map_delete_elem(&tstats, &k);
	bpf_map_delete_elem(&threads, &tgid);
	bpf_map_delete_elem(&gils, &gk);
	bpf_map_delete_elem(&gil_count, &tgid);
	notice(GSA_NOTICE_EXEC, tgid);
	return 0;
}

SEC("tp/sched/sched_process_exit")
int gilagg_exit(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = (__u32)(id >> 32);
	count(GSA_HIT_LIFECYCLE);
	if ((__u32)id != tgid)
		return 0; /* threads: their counters stay until the process goes */
	struct gsa_proc *p = bpf_map_lookup_elem(&procs, &tgid);
	if (!p)
		return 0;
	if (p->flags & GSA_PROC_EXCLUDED) {
		bpf_map_delete_elem(&procs, &tgid);
		return 0;
	}
	notice(GSA_NOTICE_EXIT, tgid);
	return 0;
}
