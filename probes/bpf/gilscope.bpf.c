// SPDX-License-Identifier: (MIT OR GPL-2.0)
/*
 * gilscope's eBPF side: turns GIL activity of one process into catalog
 * events (probes/gil_events.h) and, for `gilscope top`, per-thread
 * statistics with log2 histograms.
 *
 * Three ways in, chosen by the loader (tools/bpf/):
 *  - libgil: the gil:* USDT probes carry the events with their arguments;
 *  - CPython 3.2-3.13: take_gil entry/return and drop_gil entry, with
 *    PyEval_SaveThread / PyEval_RestoreThread marking blocking regions;
 *  - CPython 3.x without symbols: libc's pthread_cond_signal/timedwait on
 *    the GIL's own condition variables (found from _PyRuntime or when the
 *    GIL is created);
 *  - CPython 2.7: ceval.c's calls of PyThread_acquire_lock /
 *    PyThread_release_lock, kept only when the lock is the one
 *    interpreter_lock points to.
 * For CPython the arguments libgil would have given (waiters queued, holder,
 * previous holder, why) come from a small state machine kept here.
 *
 * Records go to a ring buffer without wake-ups (the loader drains it on a
 * timer): a wake-up per event costs the consumer a context switch each.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/usdt.bpf.h>

#include "gil_events.h"
#include "gilscope_bpf.h"
#include "gil_state.bpf.h"
#include "libc_caller.bpf.h"
#include "py27_sites.bpf.h"
#include "pystack.bpf.h"
#include "nativestack.bpf.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Set by the loader before load. __u32-style types: see environment notes. */
const volatile __u32 targ_tgid = 0;
const volatile __u8 emit_events = 1;      /* record: fill the ring buffer */
const volatile __u8 infer_blocking_end = 1; /* no PyEval_RestoreThread probe */
/* 2.7: link-time address (st_value) of interpreter_lock; a probe's IP minus
 * its site's link-time address (in its cookie) is the load bias. */
const volatile __u64 py2_lock_vaddr = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} rb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GSB_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2 * GSB_RETAKE_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} retake_hist SEC(".maps");

/* Set when a record did not fit: some thread has a lost count to report. */
__u32 g_lost_pending;

static __always_inline void count(__u32 slot)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &slot);
	if (c)
		(*c)++;
}

static __always_inline void count_add(__u32 slot, __u64 v)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &slot);
	if (c)
		*c += v;
}

/* Appends one record to tid's stream. A record that does not fit is counted
 * in the thread's pending_lost; the next one that fits is preceded by a
 * `lost` marker, as the built-in recorder does. */
static __always_inline void emit(struct gsb_thread_state *st, __u32 tid,
				 __u64 ts, __u8 type, __u8 a8, __u32 a0,
				 __u32 a1)
{
	struct gsb_record *r;
	__u16 cpu = (__u16)bpf_get_smp_processor_id();

	if (st && st->gil_index)
		cpu |= (__u16)((st->gil_index & 0xf) << GSB_CPU_GIL_SHIFT);
	if (!emit_events)
		return;
	if (st && st->pending_lost) {
		r = bpf_ringbuf_reserve(&rb, sizeof(*r), 0);
		if (!r) {
			st->pending_lost++;
			count(GSB_CNT_DROPS);
			return;
		}
		r->ts_ns = ts;
		r->tid = tid;
		r->cpu = cpu;
		r->type = GS_EV_lost;
		r->a8 = 0;
		r->a0 = st->pending_lost;
		r->a1 = 0;
		bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
		st->pending_lost = 0;
	}
	r = bpf_ringbuf_reserve(&rb, sizeof(*r), 0);
	if (!r) {
		if (st) {
			st->pending_lost++;
			g_lost_pending = 1;
		}
		count(GSB_CNT_DROPS);
		return;
	}
	r->ts_ns = ts;
	r->tid = tid;
	r->cpu = cpu;
	r->type = type;
	r->a8 = a8;
	r->a0 = a0;
	r->a1 = a1;
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
}

/* Set by the loader once every probe is in (gs_session_go) and cleared
 * before the first one comes out (gs_session_disarm): attaching and
 * detaching go probe by probe and take up to a second under load, and a
 * window per probe counted e.g. `record -p` on CPython 3.12 ~80 ms of
 * drop_gil hits after take_gil's probes were gone (5-6 releases per thread
 * too many in 2 s). One switch gives every probe the same window. */
__u32 g_armed;

static __always_inline int current_is_target(__u32 *tid)
{
	__u64 id = bpf_get_current_pid_tgid();
	*tid = (__u32)id;
	return g_armed && (__u32)(id >> 32) == targ_tgid;
}

/* record --stacks: the `stack` event before a request or release; top
 * --stacks: the thread's last stack ids in its statistics. */
static __always_inline void stack_event(struct gsb_thread_state *st, __u32 tid,
					__u64 ts, __u8 at, __u32 sid, __u32 nid)
{
	emit(st, tid, ts, GS_EV_stack, at, sid, nid);
	if (want_stats) {
		struct gsb_thread_stats *s = thread_stats(tid);
		if (s && at == GS_STACK_AT_RELEASE) {
			s->last_release_stack = sid;
			s->last_release_native = nid;
		} else if (s) {
			s->last_request_stack = sid;
			s->last_request_native = nid;
		}
	}
}

/* 2.7 --stacks: where interp_head is, from a probe's address (the load
 * bias); the walker searches its thread list (pystack.bpf.h). */
static __always_inline void py2_learn_rt(struct pt_regs *ctx, __u64 probe_vaddr)
{
	if (want_pystacks && pyrt_vaddr && !g_pyrt_addr && probe_vaddr)
		g_pyrt_addr = PT_REGS_IP(ctx) - probe_vaddr + pyrt_vaddr;
}

/* ---- libgil: gil:* USDT probes ------------------------------------------ */

static __always_inline int on_usdt(struct pt_regs *ctx, __u8 type, long a8,
				   long a0, long a1, long str)
{
	__u32 tid;
	__u64 ts = bpf_ktime_get_ns();

	count(GSB_HIT_USDT);
	if (!current_is_target(&tid))
		return 0;
	/* The probe's arguments are the event: recording needs no state, so
	 * the hot path skips the thread lookup and the shared GIL words
	 * (whose cache line would bounce between CPUs) unless top wants
	 * statistics or a drop left a lost count to report. */
	struct gsb_thread_state *st = NULL;
	if (want_stats || g_lost_pending)
		st = thread_state(tid);

	struct gsb_gil_state *g = want_stats && st ? current_gil_state(0) : NULL;
	switch (g ? type : 0) {
	case GS_EV_acquire_request:
		gsb_state_request(g, st, ts, (__u8)a8);
		break;
	case GS_EV_acquired:
		gsb_state_acquired(g, st, tid, ts);
		break;
	case GS_EV_release:
		gsb_state_release(g, st, tid, ts, (__u8)a8);
		break;
	default:
		break;
	}

	/* top streams nothing but these: libgil names threads only here */
	if (type == GS_EV_thread_start && (emit_events || want_stats)) {
		struct gsb_record_named *n;
		n = bpf_ringbuf_reserve(&rb, sizeof(*n), 0);
		if (!n) {
			if (st) {
				st->pending_lost++;
				g_lost_pending = 1;
			}
			count(GSB_CNT_DROPS);
			return 0;
		}
		n->r.ts_ns = ts;
		n->r.tid = tid;
		n->r.cpu = (__u16)bpf_get_smp_processor_id();
		n->r.type = type;
		n->r.a8 = (__u8)a8;
		n->r.a0 = (__u32)a0;
		n->r.a1 = (__u32)a1;
		n->name[0] = 0;
		if (str)
			bpf_probe_read_user_str(n->name, sizeof(n->name),
						(const void *)str);
		bpf_ringbuf_submit(n, BPF_RB_NO_WAKEUP);
		return 0;
	}
	/* record --native: libgil's own native stack (no Python here) */
	if (want_native && type == GS_EV_acquire_request)
		stack_event(st, tid, ts, GS_STACK_AT_REQUEST, 0,
			    nativestack_id(ctx, 0));
	else if (want_native && type == GS_EV_release)
		stack_event(st, tid, ts, GS_STACK_AT_RELEASE, 0,
			    nativestack_id(ctx, 0));
	emit(st, tid, ts, type, (__u8)a8, (__u32)a0, (__u32)a1);
	return 0;
}

/* bpf_usdt_arg() with one spec look-up for all the arguments (libbpf's
 * looks the probe's spec up again for each one). Same semantics as
 * usdt.bpf.h of libbpf 1.1.
 *
 * Kept because it is measurably cheaper: the recording program
 * usdt_acquired ran 129 ns per hit at best (median 155 ns) with this copy
 * against 140 ns (median 214 ns) with bpf_usdt_arg() per argument, in-kernel
 * run time (bpf_enable_stats(BPF_STATS_RUN_TIME), run_time_ns / run_cnt) over
 * 12 alternating runs of 600 000 hits each of gilscope-probecost's
 * "usdt-nop5 gilscope record" loop at load average 11: about 11 ns of a hit
 * that costs ~280 ns in all (GS_COST_USDT_NS), i.e. ~4 % per recorded event.
 *
 * It reads libbpf's private __bpf_usdt_specs, so the build pins it: the
 * usdt.bpf.h clang used must be one this copy was checked against
 * (probes/bpf/usdt_internals.cmake, by SHA-256), and the layout it relies
 * on is asserted below. To drop the copy, make the loop body
 * `bpf_usdt_arg(ctx, i, &out[i]);` and remove that check. */
_Static_assert(BPF_USDT_ARG_CONST == 0 && BPF_USDT_ARG_REG == 1 &&
	       BPF_USDT_ARG_REG_DEREF == 2, "libbpf USDT argument kinds changed");
_Static_assert(sizeof(struct __bpf_usdt_arg_spec) == 16 &&
	       __builtin_offsetof(struct __bpf_usdt_arg_spec, reg_off) == 12 &&
	       __builtin_offsetof(struct __bpf_usdt_arg_spec, arg_signed) == 14 &&
	       __builtin_offsetof(struct __bpf_usdt_arg_spec, arg_bitshift) == 15,
	       "libbpf's struct __bpf_usdt_arg_spec changed");
_Static_assert(__builtin_offsetof(struct __bpf_usdt_spec, arg_cnt) ==
	       BPF_USDT_MAX_ARG_CNT * sizeof(struct __bpf_usdt_arg_spec) + 8,
	       "libbpf's struct __bpf_usdt_spec changed");
/* A register of the probed context by its pt_regs offset, read straight
 * from ctx (a load the verifier allows at a constant offset) instead of
 * with bpf_probe_read_kernel() at a variable one: a helper call less per
 * argument, three per libgil event, whose arguments are all registers
 * (gs_fire_NAME's, `readelf -n build/runtime/libgil.so`). */
#define GSB_REG_CASE(r)                                                      \
	case __builtin_offsetof(struct pt_regs, r):                          \
		*v = ctx->r;                                                 \
		return 0;
static __always_inline int usdt_reg(struct pt_regs *ctx, short off,
				    unsigned long *v)
{
	switch (off) {
	GSB_REG_CASE(di) GSB_REG_CASE(si) GSB_REG_CASE(dx) GSB_REG_CASE(cx)
	GSB_REG_CASE(r8) GSB_REG_CASE(r9) GSB_REG_CASE(ax) GSB_REG_CASE(bx)
	GSB_REG_CASE(bp) GSB_REG_CASE(sp) GSB_REG_CASE(r10) GSB_REG_CASE(r11)
	GSB_REG_CASE(r12) GSB_REG_CASE(r13) GSB_REG_CASE(r14) GSB_REG_CASE(r15)
	default:
		return bpf_probe_read_kernel(v, sizeof(*v), (void *)ctx + off);
	}
}
#undef GSB_REG_CASE

static __always_inline void usdt_args(struct pt_regs *ctx, long *out, int n)
{
	int spec_id = __bpf_usdt_spec_id(ctx);
	struct __bpf_usdt_spec *spec;

	if (spec_id < 0)
		return;
	spec = bpf_map_lookup_elem(&__bpf_usdt_specs, &spec_id);
	if (!spec)
		return;
#pragma unroll
	for (int i = 0; i < 4; i++) {
		struct __bpf_usdt_arg_spec *a = &spec->args[i];
		unsigned long val = 0;

		if (i >= n || i >= spec->arg_cnt)
			break;
		switch (a->arg_type) {
		case BPF_USDT_ARG_CONST:
			val = a->val_off;
			break;
		case BPF_USDT_ARG_REG:
			if (usdt_reg(ctx, a->reg_off, &val))
				continue;
			break;
		case BPF_USDT_ARG_REG_DEREF:
			if (usdt_reg(ctx, a->reg_off, &val) ||
			    bpf_probe_read_user(&val, sizeof(val), (void *)val + a->val_off))
				continue;
			break;
		default:
			continue;
		}
		val <<= a->arg_bitshift;
		if (a->arg_signed)
			val = ((long)val) >> a->arg_bitshift;
		else
			val = val >> a->arg_bitshift;
		out[i] = (long)val;
	}
}

/* One program usdt_NAME per event the catalog marks as a libgil USDT probe
 * (probes/gil_events.h, `from` usdt or usdt_req); the name string (arg3) is
 * fetched only for thread_start. */
#define GSB_USDT_PROG(id, name)                                              \
	SEC("usdt")                                                          \
	int usdt_##name(struct pt_regs *ctx)                                 \
	{                                                                    \
		long a[4] = { 0, 0, 0, 0 };                                  \
		usdt_args(ctx, a, id == GS_EV_thread_start ? 4 : 3);         \
		return on_usdt(ctx, id, a[0], a[1], a[2], a[3]);             \
	}
#define GSB_X_USDT_PROG(id, name, a8, a0, a1, s, from, doc)                 \
	GS_IF_USDT(from)(GSB_USDT_PROG(id, name))
GS_EVENT_CATALOG(GSB_X_USDT_PROG)
#undef GSB_X_USDT_PROG

/* ---- CPython 3.x: take_gil / drop_gil ----------------------------------- */

/* 3.12+ (PEP 684): a subinterpreter may have a GIL of its own, and
 * take_gil/drop_gil serve every GIL of the process. Which one is read off
 * their arguments: take_gil's PyThreadState (argument gilkey_take_arg)
 * ->interp ->ceval.gil; drop_gil releases the GIL its thread last took,
 * else (a holder from before the attach) its first argument's gil pointer
 * (3.12: &interp->ceval, 3.13: interp). 0: one GIL per process, key 0. */
const volatile __u32 gilkey_take_arg = 0;
const volatile __u32 gilkey_tstate_interp = 0;
const volatile __u32 gilkey_interp_gil = 0;
const volatile __u32 gilkey_drop_gil = 0;
/* GIL 0 (the main interpreter's): set before the attach under -p, else
 * the first GIL taken, which is the main interpreter's */
__u64 gilkey_first = 0;

static __always_inline __u64 read_user_ptr(__u64 addr)
{
	__u64 v = 0;
	if (addr)
		bpf_probe_read_user(&v, sizeof(v), (const void *)addr);
	return v;
}

static __always_inline __u64 take_gil_key(struct pt_regs *ctx,
					  struct gsb_thread_state *st)
{
	if (!gilkey_take_arg)
		return 0;
	__u64 tstate = pystack_arg(ctx, gilkey_take_arg);
	__u64 interp = read_user_ptr(tstate ? tstate + gilkey_tstate_interp : 0);
	__u64 gil = read_user_ptr(interp ? interp + gilkey_interp_gil : 0);
	if (!gil)
		gil = st->gil ? st->gil : gilkey_first;
	if (!gilkey_first)
		__sync_val_compare_and_swap(&gilkey_first, 0, gil);
	return gil;
}

static __always_inline __u64 drop_gil_key(struct pt_regs *ctx,
					  struct gsb_thread_state *st, __u32 tgid)
{
	if (!gilkey_take_arg)
		return 0;
	if (st->gil)
		return st->gil;
	/* an inline copy's registers are not drop_gil's arguments: only a
	 * GIL already known is taken from them */
	__u64 first = pystack_arg(ctx, 1);
	__u64 gil = read_user_ptr(first ? first + gilkey_drop_gil : 0);
	struct gsb_gil_key k = { .tgid = tgid, .gil = gil };
	if (!gil || !bpf_map_lookup_elem(&gils, &k))
		gil = gilkey_first;
	return gil;
}

SEC("uprobe")
int BPF_KPROBE(py3_take_gil)
{
	__u32 tid;
	__u64 ts = bpf_ktime_get_ns();

	count(GSB_HIT_TAKE_ENTRY);
	if (!current_is_target(&tid))
		return 0;
	struct gsb_thread_state *st = thread_state(tid);
	if (!st)
		return 0;
	__u64 gil = take_gil_key(ctx, st);
	struct gsb_gil_state *g = current_gil_state(gil);
	if (!g)
		return 0;
	st->gil = gil;
	st->gil_index = (__u8)g->index;
	st->in_save = 0;
	if (st->blocked && infer_blocking_end)
		emit(st, tid, ts, GS_EV_blocking_end, GS_BLOCK_OTHER, 0, 0);
	__u8 why = why_from_last(st);
	struct req_args a = gsb_state_request(g, st, ts, why);
	if (want_pystacks || want_native)
		stack_event(st, tid, ts, GS_STACK_AT_REQUEST,
			    pystack_id(ctx, tid, pyoff.take_tstate_arg),
			    nativestack_id(ctx, 1));
	emit(st, tid, ts, GS_EV_acquire_request, why, a.queued, a.holder);
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(py3_take_gil_ret)
{
	__u32 tid;
	__u64 ts = bpf_ktime_get_ns();

	count(GSB_HIT_TAKE_RET);
	if (!current_is_target(&tid))
		return 0;
	struct gsb_thread_state *st = thread_state(tid);
	if (!st)
		return 0;
	struct gsb_gil_state *g = current_gil_state(gilkey_take_arg ? st->gil : 0);
	if (!g)
		return 0;
	__u8 why = st->req_ts ? st->why : why_from_last(st);
	struct acq_args a = gsb_state_acquired(g, st, tid, ts);
	emit(st, tid, ts, GS_EV_acquired, why, a.still_waiting, a.prev);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(py3_drop_gil)
{
	__u32 tid;
	__u64 ts = bpf_ktime_get_ns();

	count(GSB_HIT_DROP);
	if (!current_is_target(&tid))
		return 0;
	struct gsb_thread_state *st = thread_state(tid);
	if (!st)
		return 0;
	__u32 tgid = (__u32)(bpf_get_current_pid_tgid() >> 32);
	__u64 gil = drop_gil_key(ctx, st, tgid);
	struct gsb_gil_state *g = gil_state(tgid, gil);
	if (!g)
		return 0;
	st->gil = gil;
	st->gil_index = (__u8)g->index;
	/* Outside PyEval_SaveThread the eval loop drops the GIL only when a
	 * drop was requested, which a waiter does; with nobody waiting we
	 * cannot tell (thread exit, PyEval_ReleaseThread, ...). */
	__u8 reason;
	/* PyEval_SaveThread calls drop_gil before it returns. A mark it left
	 * without dropping (before the GIL existed, 3.2-3.6) is cleared at
	 * the thread's next take_gil, which comes before any drop of its
	 * own; no time limit: a thread preempted inside SaveThread reaches
	 * drop_gil milliseconds later on a loaded machine. */
	if (st->exiting) {
		reason = GS_RELEASE_EXIT;
		st->exiting = 0;
	} else if (st->in_save) {
		reason = GS_RELEASE_BLOCKING;
		/* blocking_begin only now: SaveThread releases nothing before
		 * the GIL exists (3.6 creates it with the first thread) */
		emit(st, tid, st->save_ts, GS_EV_blocking_begin, GS_BLOCK_OTHER, 0, 0);
	}
	else if (g->waiters > 0)
		reason = GS_RELEASE_FORCED;
	else
		reason = GS_RELEASE_UNKNOWN;
	st->in_save = 0;
	__u32 waiting = gsb_state_release(g, st, tid, ts, reason);
	if (want_pystacks || want_native)
		stack_event(st, tid, ts, GS_STACK_AT_RELEASE,
			    pystack_id(ctx, tid, pyoff.drop_tstate_arg),
			    nativestack_id(ctx, 1));
	emit(st, tid, ts, GS_EV_release, reason, waiting,
	     reason == GS_RELEASE_FORCED);
	return 0;
}

/* PyEval_SaveThread (3.x): the holder is about to release for a blocking
 * call. */
SEC("uprobe")
int BPF_KPROBE(py3_save_thread)
{
	__u32 tid;
	__u64 ts = bpf_ktime_get_ns();

	count(GSB_HIT_SAVE);
	if (!current_is_target(&tid))
		return 0;
	struct gsb_thread_state *st = thread_state(tid);
	if (!st)
		return 0;
	pystack_learn_at_save(ctx, tid);
	st->in_save = 1;
	st->save_ts = ts;
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(py_restore_thread)
{
	__u32 tid;
	__u64 ts = bpf_ktime_get_ns();

	count(GSB_HIT_RESTORE);
	if (!current_is_target(&tid))
		return 0;
	struct gsb_thread_state *st = bpf_map_lookup_elem(&threads, &tid);
	if (!st || !st->blocked)
		return 0;
	emit(st, tid, ts, GS_EV_blocking_end, GS_BLOCK_OTHER, 0, 0);
	st->blocked = 0;
	st->last_reason = GS_RELEASE_BLOCKING;
	return 0;
}

/* ---- CPython 3.x without symbols: the GIL's pthread objects via libc ----
 *
 * Whatever the compiler inlined, every CPython 3.2-3.13 GIL goes through
 * libc at fixed points (Python/ceval_gil.h, ceval_gil.c from 3.12), each
 * under gil->mutex, so the probes see them in the GIL's own order:
 *  - drop_gil: locked = 0, pthread_cond_signal(&gil->cond)      -> release
 *  - take_gil, GIL busy: pthread_cond_timedwait(&gil->cond)     -> request
 *    (an uncontended take_gil waits for nothing: its request is timed at
 *    the acquisition);
 *    timed out, still locked, no switch since: drop request set
 *  - take_gil, got it: locked = 1, pthread_cond_signal(&gil->switch_cond)
 *                                                               -> acquired
 * (a pthread_cond_signal that libc itself makes, from a timed wait that
 * expired as it was signalled, is none of these: libc_caller.bpf.h).
 * A release is forced when a drop request was pending (CPython's own rule
 * in drop_gil), blocking when PyEval_SaveThread was entered just before or
 * no drop was requested (a voluntary release: a blocking call, or the
 * thread's last release at exit).
 *
 * The GIL's conditions are in gil_conds: put there by the loader (a running
 * process, found from _PyRuntime) or here, when a GIL is created:
 * create_gil() initialises gil->cond, then gil->switch_cond, and take_gil()
 * signals switch_cond next, on the same thread. */
const volatile __u64 gil_cond_distance = 0; /* &switch_cond - &cond; 0: any */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct gsb_gil_key);
	__type(value, struct gsb_gil_cond);
} gil_conds SEC(".maps");

static __always_inline struct gsb_gil_cond *
gil_cond_lookup(__u32 tgid, __u64 addr, struct gsb_thread_state *st, int discover)
{
	struct gsb_gil_key k = { .tgid = tgid, .gil = addr };
	struct gsb_gil_cond *c = bpf_map_lookup_elem(&gil_conds, &k);
	if (c || !discover || !st)
		return c;
	__u64 first = st->cond_init[0];
	if (addr != st->cond_init[1] || !first || first == addr)
		return NULL;
	if (gil_cond_distance && addr - first != gil_cond_distance)
		return NULL;
	struct gsb_gil_cond v = { .gil = first, .role = GSB_COND_GIL };
	k.gil = first;
	bpf_map_update_elem(&gil_conds, &k, &v, BPF_ANY);
	v.role = GSB_COND_SWITCH;
	k.gil = addr;
	bpf_map_update_elem(&gil_conds, &k, &v, BPF_ANY);
	st->cond_init[0] = st->cond_init[1] = 0;
	count(GSB_CNT_GILS_FOUND);
	return bpf_map_lookup_elem(&gil_conds, &k);
}

/* The thread now waits for (or, uncontended, is about to get) GIL gil. */
static __always_inline void pyc_request(struct pt_regs *ctx,
					struct gsb_gil_state *g,
					struct gsb_thread_state *st, __u32 tid,
					__u64 gil, __u64 ts)
{
	if (st->req_ts && st->gil == gil)
		return;
	st->in_save = 0;
	if (st->blocked && infer_blocking_end)
		emit(st, tid, ts, GS_EV_blocking_end, GS_BLOCK_OTHER, 0, 0);
	__u8 why = why_from_last(st);
	struct req_args a = gsb_state_request(g, st, ts, why);
	st->gil = gil;
	if (want_pystacks || want_native)
		stack_event(st, tid, ts, GS_STACK_AT_REQUEST, pystack_id(NULL, tid, 0),
			    nativestack_id(ctx, 1));
	emit(st, tid, ts, GS_EV_acquire_request, why, a.queued, a.holder);
}

SEC("uprobe")
int BPF_KPROBE(pyc_cond_init, void *cond)
{
	__u32 tid;

	count(GSB_HIT_COND_INIT);
	if (!current_is_target(&tid))
		return 0;
	struct gsb_thread_state *st = thread_state(tid);
	if (!st)
		return 0;
	st->cond_init[0] = st->cond_init[1];
	st->cond_init[1] = (__u64)cond;
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(pyc_cond_signal, void *cond)
{
	__u32 tid;

	count(GSB_HIT_COND_SIGNAL);
	if (!current_is_target(&tid) || gsb_called_from_libc(ctx))
		return 0; /* libc's replacement signal (libc_caller.bpf.h) */
	__u64 ts = bpf_ktime_get_ns();
	__u32 tgid = (__u32)(bpf_get_current_pid_tgid() >> 32);
	struct gsb_thread_state *st = bpf_map_lookup_elem(&threads, &tid);
	struct gsb_gil_cond *c = gil_cond_lookup(tgid, (__u64)cond, st, 1);
	if (!c)
		return 0;
	__u64 gil = c->gil;
	__u32 role = c->role;
	if (!st)
		st = thread_state(tid);
	struct gsb_gil_state *g = gil_state(tgid, gil);
	if (!st || !g)
		return 0;
	st->gil_index = (__u8)g->index;

	if (role == GSB_COND_SWITCH) {
		pyc_request(ctx, g, st, tid, gil, ts);
		__u8 why = st->why;
		struct acq_args a = gsb_state_acquired(g, st, tid, ts);
		emit(st, tid, ts, GS_EV_acquired, why, a.still_waiting, a.prev);
		return 0;
	}
	__u32 dropreq = g->drop_request;
	__u8 reason;
	if (st->exiting) {
		reason = GS_RELEASE_EXIT;
		st->exiting = 0;
	} else if (st->in_save) { /* cleared at the request (pyc_request) */
		reason = GS_RELEASE_BLOCKING;
		emit(st, tid, st->save_ts, GS_EV_blocking_begin, GS_BLOCK_OTHER, 0, 0);
	} else if (dropreq) {
		reason = GS_RELEASE_FORCED;
	} else {
		reason = GS_RELEASE_BLOCKING;
		emit(st, tid, ts, GS_EV_blocking_begin, GS_BLOCK_OTHER, 0, 0);
	}
	st->in_save = 0;
	__u32 waiting = gsb_state_release(g, st, tid, ts, reason);
	if (want_pystacks || want_native)
		stack_event(st, tid, ts, GS_STACK_AT_RELEASE, pystack_id(NULL, tid, 0),
			    nativestack_id(ctx, 1));
	emit(st, tid, ts, GS_EV_release, reason, waiting, dropreq);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(pyc_cond_timedwait, void *cond)
{
	__u32 tid;

	count(GSB_HIT_COND_WAIT);
	if (!current_is_target(&tid))
		return 0;
	__u64 ts = bpf_ktime_get_ns();
	__u32 tgid = (__u32)(bpf_get_current_pid_tgid() >> 32);
	struct gsb_gil_cond *c = gil_cond_lookup(tgid, (__u64)cond, NULL, 0);
	if (!c || c->role != GSB_COND_GIL)
		return 0;
	__u64 gil = c->gil;
	struct gsb_thread_state *st = thread_state(tid);
	struct gsb_gil_state *g = gil_state(tgid, gil);
	if (!st || !g)
		return 0;
	st->gil_index = (__u8)g->index;
	pyc_request(ctx, g, st, tid, gil, ts);
	st->wait_cond = (__u64)cond;
	st->wait_switches = g->switches;
	return 0;
}

SEC("uretprobe")
int BPF_KRETPROBE(pyc_cond_timedwait_ret, int ret)
{
	__u32 tid;

	count(GSB_HIT_COND_WAIT_RET);
	if (!current_is_target(&tid))
		return 0;
	struct gsb_thread_state *st = bpf_map_lookup_elem(&threads, &tid);
	if (!st || !st->wait_cond)
		return 0;
	st->wait_cond = 0;
	/* take_gil: timed out while the GIL stayed with the same holder
	 * (switch_number unchanged) -> SET_GIL_DROP_REQUEST */
	struct gsb_gil_state *g = current_gil_state(st->gil);
	if (!g || ret != 110 /* ETIMEDOUT */ || !g->holder ||
	    g->switches != st->wait_switches || g->drop_request)
		return 0;
	g->drop_request = 1;
	emit(st, tid, bpf_ktime_get_ns(), GS_EV_drop_request, 0, g->holder, 0);
	return 0;
}

/* (_)PyThreadState_DeleteCurrent: the thread's next release is its last
 * (thread exit). Exported in 2.7-3.13; where LTO inlined the call, exit
 * releases are classed as the voluntary releases they also are. */
SEC("uprobe")
int BPF_KPROBE(py_thread_exit)
{
	__u32 tid;

	count(GSB_HIT_THREAD_EXIT);
	if (!current_is_target(&tid))
		return 0;
	struct gsb_thread_state *st = thread_state(tid);
	if (st)
		st->exiting = 1;
	return 0;
}

/* 3.13+: _PyThreadState_DeleteCurrent is not exported, but thread_run()
 * clears its own PyThreadState just before it: PyThreadState_Clear on the
 * calling thread's own state (tstate->native_thread_id == tid) marks the
 * exit too. Clearing another thread's state (finalisation) marks nothing. */
const volatile __u64 tstate_native_tid_off = 0;

SEC("uprobe")
int BPF_KPROBE(py_tstate_clear, void *tstate)
{
	__u32 tid;
	__u64 native = 0;

	count(GSB_HIT_THREAD_EXIT);
	if (!current_is_target(&tid) || !tstate_native_tid_off)
		return 0;
	if (bpf_probe_read_user(&native, sizeof(native),
				(void *)tstate + tstate_native_tid_off) ||
	    native != tid)
		return 0;
	struct gsb_thread_state *st = thread_state(tid);
	if (st)
		st->exiting = 1;
	return 0;
}

/* ---- CPython 2.7: ceval.c's calls of PyThread_*_lock on interpreter_lock
 *
 * Probed at the call sites in ceval.c's exported functions (the loader
 * finds them, tools/bpf/symfree.c), never between the eval loop's release
 * at the check interval and its re-take: a probe there would let the woken
 * waiter win the race more often than it does untraced. So the re-take's
 * request is the release itself (same thread, nothing in between: its time
 * is a second clock read in the release's probe, before sem_post), and
 * the acquisition is seen right after the call returns. */

static __always_inline void py2_request(struct gsb_gil_state *g,
					struct gsb_thread_state *st, __u32 tid,
					__u64 ts, __u32 sid, __u32 nid)
{
	if (st->blocked && infer_blocking_end)
		emit(st, tid, ts, GS_EV_blocking_end, GS_BLOCK_OTHER, 0, 0);
	struct req_args a = gsb_py2_request(g, st, ts);
	if (want_pystacks || want_native)
		stack_event(st, tid, ts, GS_STACK_AT_REQUEST, sid, nid);
	emit(st, tid, ts, GS_EV_acquire_request, st->why, a.queued, a.holder);
	st->woke = 0;
}

static __always_inline int py2_acquired(__u32 tid, __u64 ts)
{
	struct gsb_thread_state *st = bpf_map_lookup_elem(&threads, &tid);
	if (!gsb_py2_take_acquired(st))
		return 0;
	struct gsb_gil_state *g = current_gil_state(0);
	if (!g)
		return 0;
	__u8 why = st->why;
	__u64 req = st->req_ts;
	/* an acquisition ends a waiter's cycle of wake and sleep */
	st->woken_ts = 0;
	struct acq_args a = gsb_state_acquired(g, st, tid, ts);
	/* A re-take at the check interval: its request was timed in the
	 * release's probe, so request to acquired is sem_post + sem_wait
	 * (and the acquired probe's trap, the same either way); with a wake
	 * of a sleeping waiter in sem_post, or without (the cost model's
	 * price of a wake-up on the holder's path, tools/bpf/cost_model.h) */
	if (why == GS_WHY_AFTER_INTERVAL && a.prev == tid && req && ts > req) {
		count(st->woke ? GSB_CNT_RETAKE_WOKE : GSB_CNT_RETAKE_QUIET);
		count_add(st->woke ? GSB_CNT_RETAKE_WOKE_NS : GSB_CNT_RETAKE_QUIET_NS,
			  ts - req);
		__u64 slot = (ts - req) / GSB_RETAKE_SLOT_NS;
		__u32 k = (__u32)(slot < GSB_RETAKE_SLOTS - 1 ? slot : GSB_RETAKE_SLOTS - 1) +
			  (st->woke ? GSB_RETAKE_SLOTS : 0);
		__u64 *h = bpf_map_lookup_elem(&retake_hist, &k);
		if (h)
			(*h)++;
	}
	emit(st, tid, ts, GS_EV_acquired, why, a.still_waiting, a.prev);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(py2_site, void *lock)
{
	__u32 tid;
	__u64 ts = bpf_ktime_get_ns();
	__u64 cookie = bpf_get_attach_cookie(ctx);
	__u32 role = (__u32)(cookie >> GSB_PY2_ROLE_SHIFT);
	__u64 site = cookie & GSB_PY2_VADDR_MASK;

	count(role == GSB_PY2_ACQUIRED  ? GSB_HIT_ACQ2_RET
	      : role == GSB_PY2_REQUEST ? GSB_HIT_ACQ2_ENTRY
					: GSB_HIT_REL2);
	if (!current_is_target(&tid))
		return 0;
	if (role == GSB_PY2_ACQUIRED)
		return py2_acquired(tid, ts);
	/* at the call, the lock is the first argument */
	if (!gsb_py2_is_gil(ctx, site, py2_lock_vaddr, (__u64)lock))
		return 0;
	struct gsb_thread_state *st = thread_state(tid);
	struct gsb_gil_state *g = current_gil_state(0);
	if (!st || !g)
		return 0;
	py2_learn_rt(ctx, site);
	__u32 nid = want_native ? nativestack_id(ctx, 1) : 0;
	__u32 sid = pystack_id(NULL, tid, 0);
	if (role == GSB_PY2_REQUEST) {
		py2_request(g, st, tid, ts, sid, nid);
		return 0;
	}
	__u8 reason = gsb_py2_release_reason(role, st);
	if (role == GSB_PY2_RELEASE_SAVE)
		emit(st, tid, ts, GS_EV_blocking_begin, GS_BLOCK_OTHER, 0, 0);
	__u32 waiting = gsb_state_release(g, st, tid, ts, reason);
	if (want_pystacks || want_native)
		stack_event(st, tid, ts, GS_STACK_AT_RELEASE, sid, nid);
	emit(st, tid, ts, GS_EV_release, reason, waiting, 0);
	g->release_ts = ts;
	/* the eval loop asks again at once: its request, timed now */
	if (role == GSB_PY2_RELEASE_TICK) {
		py2_request(g, st, tid, bpf_ktime_get_ns(), sid, nid);
		count(GSB_CNT_TICKS);
		/* a waiter asleep on the lock's semaphore: the sem_post
		 * after this probe wakes it. The kernel mostly does that
		 * wake-up on the waiter's idle CPU (its wake list), where
		 * sched_wakeup runs outside this thread, so the re-take's
		 * woke mark comes from here (cost_model.h) */
		if (g->sleepers > 0)
			st->woke = 1;
	}
	return 0;
}

/* PyEval_AcquireLock tail-calls PyThread_acquire_lock: held at its return. */
SEC("uretprobe")
int BPF_KRETPROBE(py2_acquired_ret)
{
	__u32 tid;
	__u64 ts = bpf_ktime_get_ns();

	count(GSB_HIT_ACQ2_TAIL);
	if (!current_is_target(&tid))
		return 0;
	return py2_acquired(tid, ts);
}

/* ---- scheduler ----------------------------------------------------------- */

struct task_struct___pre518 {
	long state;
} __attribute__((preserve_access_index));

static __always_inline __u8 sched_state(struct task_struct *t, bool preempt)
{
	long s;
	if (preempt)
		return GS_SCHED_PREEMPTED;
	if (bpf_core_field_exists(t->__state))
		s = BPF_CORE_READ(t, __state);
	else
		s = BPF_CORE_READ((struct task_struct___pre518 *)t, state);
	return s == 0 ? GS_SCHED_PREEMPTED : GS_SCHED_BLOCKED;
}

/* A traced thread leaves the CPU: the time it ran while waiting for a GIL
 * that another thread held or had just released to take back (a waiter
 * woken for nothing by that release, going back to sleep: the probes see
 * the GIL free until the releaser's re-take returns, which is when the
 * waiter finds it taken) ran beside the holder, off the program's path
 * (the cost model, tools/bpf/cost_model.h). A thread in its own release's
 * re-take is on the path; so is a waiter's last stretch, the one that ends
 * in the acquisition. */
static __always_inline void waiter_off_cpu(struct gsb_thread_state *st,
					   __u32 tgid, __u32 tid, __u64 ts)
{
	__u64 since = st->oncpu_ts;
	st->oncpu_ts = 0;
	if (!since || !st->req_ts)
		return;
	struct gsb_gil_key k = { .tgid = tgid, .gil = st->gil };
	struct gsb_gil_state *g = bpf_map_lookup_elem(&gils, &k);
	if (!g || g->holder == tid || (!g->holder && g->last_releaser == tid))
		return;
	if (st->req_ts > since)
		since = st->req_ts;
	if (ts > since)
		count_add(GSB_CNT_WAIT_ONCPU_NS, ts - since);
}

/* CPython 2.7's contended regime (tools/bpf/cost_model.h, "the waiter's
 * cycle"): a GIL waiter that switches out blocked sleeps on the lock's
 * semaphore until a release finds it asleep and wakes it; the time from
 * that release to its next sleep is its cycle. The gil's count of sleeping
 * waiters marks the releases that wake one (py2_site). */
static __always_inline void waiter_sleeps(struct gsb_thread_state *st,
					  __u32 tgid, __u32 tid, __u64 ts)
{
	if (!st->req_ts)
		return;
	struct gsb_gil_key k = { .tgid = tgid, .gil = st->gil };
	struct gsb_gil_state *g = bpf_map_lookup_elem(&gils, &k);
	if (!g || g->holder == tid || __sync_lock_test_and_set(&st->asleep, 1))
		return;
	__sync_fetch_and_add(&g->sleepers, 1);
	count(GSB_CNT_WAITER_SLEEPS);
	if (st->woken_ts && ts > st->woken_ts) {
		count(GSB_CNT_CYCLES);
		count_add(GSB_CNT_CYCLES_NS, ts - st->woken_ts);
	}
	st->woken_ts = 0;
}

/* ... and wakes up (at its wake-up or, if that raced with its sleep, when
 * it runs): the release that woke it starts its cycle. */
static __always_inline void waiter_wakes(struct gsb_thread_state *st, __u32 tgid)
{
	if (!st || !__sync_lock_test_and_set(&st->asleep, 0))
		return;
	struct gsb_gil_key k = { .tgid = tgid, .gil = st->gil };
	struct gsb_gil_state *g = bpf_map_lookup_elem(&gils, &k);
	if (!g)
		return;
	__sync_fetch_and_add(&g->sleepers, -1);
	st->woken_ts = g->release_ts;
}

static __always_inline int on_switch(bool preempt, struct task_struct *prev,
				     struct task_struct *next)
{
	__u64 ts;
	__u32 ptgid = BPF_CORE_READ(prev, tgid);
	__u32 ntgid = BPF_CORE_READ(next, tgid);
	__u32 ppid = BPF_CORE_READ(prev, pid);
	__u32 npid = BPF_CORE_READ(next, pid);

	count(GSB_HIT_SCHED);
	if (!g_armed || (ptgid != targ_tgid && ntgid != targ_tgid))
		return 0;
	count(GSB_CNT_SCHED_TARGET);
	ts = bpf_ktime_get_ns();
	if (ptgid == targ_tgid) {
		struct gsb_thread_state *st = thread_state(ppid);
		__u8 state = sched_state(prev, preempt);
		if (st) {
			waiter_off_cpu(st, ptgid, ppid, ts);
			if (state == GS_SCHED_BLOCKED)
				waiter_sleeps(st, ptgid, ppid, ts);
		}
		emit(st, ppid, ts, GS_EV_sched_switch_out, state, npid, 0);
	}
	if (ntgid == targ_tgid) {
		struct gsb_thread_state *st = thread_state(npid);
		if (st) {
			st->oncpu_ts = ts;
			waiter_wakes(st, ntgid);
		}
		emit(st, npid, ts, GS_EV_sched_switch_in, 0, ppid, 0);
	}
	return 0;
}

static __always_inline int on_wakeup(struct task_struct *p)
{
	count(GSB_HIT_SCHED);
	if (!g_armed || BPF_CORE_READ(p, tgid) != targ_tgid)
		return 0;
	count(GSB_CNT_SCHED_TARGET);
	__u32 waker;
	if (current_is_target(&waker)) {
		/* a wake-up inside the waker's release (2.7: sem_post) */
		struct gsb_thread_state *ws = bpf_map_lookup_elem(&threads, &waker);
		if (ws)
			ws->woke = 1;
	}
	__u32 pid = BPF_CORE_READ(p, pid);
	__u32 cpu = BPF_CORE_READ(p, wake_cpu);
	struct gsb_thread_state *pst = thread_state(pid);
	waiter_wakes(pst, targ_tgid);
	emit(pst, pid, bpf_ktime_get_ns(), GS_EV_sched_wakeup, 0,
	     (__u32)bpf_get_current_pid_tgid(), cpu);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(tp_sched_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	return on_switch(preempt, prev, next);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(tp_sched_wakeup, struct task_struct *p)
{
	return on_wakeup(p);
}

/* Threads name themselves after they start (prctl(PR_SET_NAME), a
 * library's OS name): the new name goes to the loader as it happens. */
SEC("tp_btf/task_rename")
int BPF_PROG(tp_task_rename, struct task_struct *task, const char *comm)
{
	if (!emit_events || BPF_CORE_READ(task, tgid) != targ_tgid)
		return 0;
	struct gsb_record_named *n = bpf_ringbuf_reserve(&rb, sizeof(*n), 0);
	if (!n)
		return 0; /* the name is read from /proc again later */
	__builtin_memset(&n->r, 0, sizeof(n->r));
	n->r.ts_ns = bpf_ktime_get_ns();
	n->r.tid = BPF_CORE_READ(task, pid);
	n->r.cpu = (__u16)bpf_get_smp_processor_id();
	n->r.type = GSB_REC_RENAME;
	if (bpf_probe_read_kernel_str(n->name, sizeof(n->name), comm) < 0)
		n->name[0] = 0;
	bpf_ringbuf_submit(n, BPF_RB_NO_WAKEUP);
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(tp_sched_wakeup_new, struct task_struct *p)
{
	return on_wakeup(p);
}

/* raw_tp: for kernels whose tp_btf attach fails (the loader retries). */
SEC("raw_tp/sched_switch")
int BPF_PROG(raw_sched_switch, bool preempt, struct task_struct *prev,
	     struct task_struct *next)
{
	return on_switch(preempt, prev, next);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(raw_sched_wakeup, struct task_struct *p)
{
	return on_wakeup(p);
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(raw_sched_wakeup_new, struct task_struct *p)
{
	return on_wakeup(p);
}
