/* SPDX-License-Identifier: (MIT OR GPL-2.0) */
/*
 * The Python frame walker: pystack_id() returns the stack id of the
 * calling thread's Python stack (0 when there is none), for the GIL probes
 * to put on a `stack` event next to the request or release.
 *
 * The thread state comes from the probed function's argument (take_gil and
 * drop_gil take the PyThreadState *; which argument depends on the version,
 * pystack.h) and is remembered per thread, so a probe that has no argument
 * to read still finds it. Frames are walked innermost first, at most
 * GSB_PY_MAX_DEPTH; each stack is stored once in `pystacks` under a hash of
 * its (code object, offset) pairs, each code object once in `pycodes` with
 * its strings and line table (read with bpf_probe_read_user_str into the
 * map value, never on the BPF stack). A hash collision would merge two
 * stacks under one id: with 32-bit ids and the thousands of stacks a
 * program shows, about one chance in a million per pair.
 *
 * Include once, from gilscope.bpf.c (it defines maps).
 */
#ifndef GILSCOPE_PYSTACK_BPF_H
#define GILSCOPE_PYSTACK_BPF_H

#include "percpu_slot.bpf.h"

#include "pystack.h"

const volatile __u8 want_pystacks = 0;
const volatile struct gsb_py_offsets pyoff = {};
/* Symbol-free probes (no take_gil argument): PyEval_SaveThread's entry
 * finds the thread state in _PyRuntime.gilstate.tstate_current (3.7-3.11,
 * still set there); link-time addresses, the load bias from the probe IP. */
const volatile __u64 pyrt_vaddr = 0;      /* _PyRuntime */
const volatile __u64 pysave_vaddr = 0;    /* PyEval_SaveThread */
__u64 g_pyrt_addr;                        /* _PyRuntime in the target, once known */

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct gsb_py_stack);
} pystacks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct gsb_py_code_key);
	__type(value, struct gsb_py_code);
} pycodes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} pytstate SEC(".maps");

/* Scratch: a stack and a code entry are too big for the BPF stack. */
#define PYSTACK_FRAME_BYTES 128

struct pystack_scratch {
	struct gsb_py_stack stack;
	struct gsb_py_code code;
	__u8 frame[PYSTACK_FRAME_BYTES]; /* the frame's fields, one read */
	__u64 names[2];                  /* a code object's co_filename, co_name */
};

/* Bytes of a frame the walker reads at once: up to its last field. */
const volatile __u32 pyframe_bytes = PYSTACK_FRAME_BYTES;

GSB_PERCPU_SLOT(pyscratch, struct pystack_scratch);

static __always_inline __u64 pystack_arg(struct pt_regs *ctx, __u32 n)
{
	/* each register read at its own constant offset: the verifier
	 * refuses a ctx access at a computed one */
	volatile __u64 a1 = PT_REGS_PARM1(ctx), a2 = PT_REGS_PARM2(ctx),
		       a3 = PT_REGS_PARM3(ctx), a4 = PT_REGS_PARM4(ctx);
	return n == 1 ? a1 : n == 2 ? a2 : n == 3 ? a3 : n == 4 ? a4 : 0;
}

static __always_inline __u64 pystack_search(void);

/* The thread state of tid: from argument `arg` when the probe has one,
 * else the last one this thread showed. */
static __always_inline __u64 pystack_tstate(struct pt_regs *ctx, __u32 tid,
					    __u32 arg)
{
	__u64 ts = arg ? pystack_arg(ctx, arg) : 0;
	if (ts) {
		__u64 *old = bpf_map_lookup_elem(&pytstate, &tid);
		if (!old || *old != ts)
			bpf_map_update_elem(&pytstate, &tid, &ts, BPF_ANY);
		return ts;
	}
	__u64 *p = bpf_map_lookup_elem(&pytstate, &tid);
	if (p)
		return *p;
	ts = pystack_search();
	if (ts)
		bpf_map_update_elem(&pytstate, &tid, &ts, BPF_ANY);
	return ts;
}

/* At PyEval_SaveThread's entry: where _PyRuntime is, and (3.7-3.11) the
 * calling thread's state, still in gilstate.tstate_current there. */
static __always_inline void pystack_learn_at_save(struct pt_regs *ctx, __u32 tid)
{
	if (!want_pystacks || !pyrt_vaddr || !pysave_vaddr)
		return;
	__u64 rt = PT_REGS_IP(ctx) - pysave_vaddr + pyrt_vaddr, ts = 0;
	g_pyrt_addr = rt;
	if (!pyoff.runtime_tstate_current ||
	    bpf_probe_read_user(&ts, sizeof(ts),
				(const void *)(rt + pyoff.runtime_tstate_current)) || !ts)
		return;
	__u64 *old = bpf_map_lookup_elem(&pytstate, &tid);
	if (!old || *old != ts)
		bpf_map_update_elem(&pytstate, &tid, &ts, BPF_ANY);
}

struct pystack_find {
	__u64 ts, self, found;
};

static long pystack_find_step(__u32 i, void *data)
{
	struct pystack_find *f = data;
	__u64 id = 0;
	if (!f->ts)
		return 1;
	bpf_probe_read_user(&id, sizeof(id),
			    (const void *)(f->ts + pyoff.tstate_thread_id));
	if (id == f->self) {
		f->found = f->ts;
		return 1;
	}
	bpf_probe_read_user(&f->ts, sizeof(f->ts),
			    (const void *)(f->ts + pyoff.tstate_next));
	return 0;
}

/* The main interpreter's thread state of the calling thread: its
 * thread_id is pthread_self(), the thread's fs base on x86-64. */
static __always_inline __u64 pystack_search(void)
{
#if defined(__TARGET_ARCH_x86)
	struct pystack_find f = { 0 };
	__u64 interp = 0;
	if (!g_pyrt_addr || !pyoff.interp_tstate_head || !pyoff.tstate_thread_id)
		return 0;
	struct task_struct *task = bpf_get_current_task_btf();
	f.self = BPF_CORE_READ(task, thread.fsbase);
	if (!f.self ||
	    bpf_probe_read_user(&interp, sizeof(interp),
				(const void *)(g_pyrt_addr + pyoff.runtime_interp_head)) ||
	    !interp ||
	    bpf_probe_read_user(&f.ts, sizeof(f.ts),
				(const void *)(interp + pyoff.interp_tstate_head)))
		return 0;
	bpf_loop(256, pystack_find_step, &f, 0);
	return f.found;
#else
	return 0;
#endif
}

static __always_inline __u64 read_ptr(__u64 base, __u32 off)
{
	__u64 v = 0;
	bpf_probe_read_user(&v, sizeof(v), (const void *)(base + off));
	return v;
}

/* A str object's characters: compact ASCII strings (all identifiers and
 * nearly all paths) keep them right after the PyASCIIObject header,
 * other compact ones after the PyCompactUnicodeObject header. */
static __always_inline __u8 read_pystr(__u64 obj, char *dst, __u32 len)
{
	__u32 state = 0;
	dst[0] = 0;
	if (obj && pyoff.str_bytes_data) {
		bpf_probe_read_user_str(dst, len, (const void *)(obj + pyoff.str_bytes_data));
		return 1; /* 2.7 str: bytes, shown as Latin-1 */
	}
	if (!obj || bpf_probe_read_user(&state, sizeof(state),
					(const void *)(obj + pyoff.str_state)))
		return 0;
	__u8 kind = (state >> 2) & 7, compact = (state >> 5) & 1,
	     ascii = (state >> 6) & 1;
	if (!compact)
		return 0;
	__u64 data = obj + (ascii ? pyoff.str_ascii_data : pyoff.str_compact_data);
	if (kind == 1)
		bpf_probe_read_user_str(dst, len, (const void *)data);
	else
		bpf_probe_read_user(dst, len, (const void *)data);
	return kind;
}

static __always_inline void pystack_learn_code(__u64 code, __u64 ident,
					       struct gsb_py_code *c)
{
	struct gsb_py_code_key key = { code, ident };
	if (bpf_map_lookup_elem(&pycodes, &key))
		return;
	__s32 first = 0;
	bpf_probe_read_user(&first, sizeof(first),
			    (const void *)(code + pyoff.code_firstlineno));
	c->firstlineno = (__u32)first;
	c->name_kind = read_pystr(read_ptr(code, pyoff.code_name), c->name,
				  sizeof(c->name));
	c->file_kind = read_pystr(read_ptr(code, pyoff.code_filename), c->file,
				  sizeof(c->file));
	__u64 table = read_ptr(code, pyoff.code_linetable);
	__s64 size = table ? (__s64)read_ptr(table, pyoff.bytes_size) : 0;
	c->linetable_len = 0;
	c->linetable_truncated = 0;
	if (size > 0) {
		__u32 n = size > GSB_PY_LINETABLE_LEN ? GSB_PY_LINETABLE_LEN
						      : (__u32)size;
		c->linetable_truncated = size > GSB_PY_LINETABLE_LEN;
		n &= GSB_PY_LINETABLE_LEN * 2 - 1;
		if (n && n <= GSB_PY_LINETABLE_LEN &&
		    !bpf_probe_read_user(c->linetable, n,
					 (const void *)(table + pyoff.bytes_data)))
			c->linetable_len = (__u16)n;
	}
	bpf_map_update_elem(&pycodes, &key, c, BPF_NOEXIST);
}

/* The innermost frame of thread state ts, or 0. */
static __always_inline __u64 pystack_top(__u64 ts)
{
	__u64 f = read_ptr(ts, pyoff.tstate_frame);
	if (pyoff.layout == GSB_PY_CFRAME && f)
		f = read_ptr(f, pyoff.cframe_current);
	return f;
}

/* Byte offset of the frame's current instruction in its code, -1 when
 * the frame has not started. */
static __always_inline __s32 pystack_offset(__u64 f, __u64 code)
{
	if (pyoff.lasti_kind == GSB_LASTI_POINTER) {
		__u64 ip = read_ptr(f, pyoff.frame_lasti);
		__u64 start = code + pyoff.code_adaptive;
		return ip >= start && ip - start < (1u << 30) ? (__s32)(ip - start) : -1;
	}
	__s32 lasti = -1;
	bpf_probe_read_user(&lasti, sizeof(lasti),
			    (const void *)(f + pyoff.frame_lasti));
	if (lasti < 0)
		return -1;
	return pyoff.lasti_kind == GSB_LASTI_UNITS ? lasti * 2 : lasti;
}

static __always_inline __u32 pystack_hash(__u32 h, __u64 v)
{
	h ^= (__u32)v;
	h *= 16777619u;
	h ^= (__u32)(v >> 32);
	h *= 16777619u;
	return h;
}

struct pystack_walk {
	struct pystack_scratch *s;
	__u64 f;                  /* next frame to look at */
	__u32 n;                  /* frames stored */
	__u32 h;                  /* hash so far */
};

/* One frame per call (bpf_loop): the verifier checks the body once. */
/* A field of the frame copy; offsets come from the read-only offsets. */
static __always_inline __u64 frame_u64(const __u8 *fb, __u32 off)
{
	off &= PYSTACK_FRAME_BYTES - 1;
	if (off > PYSTACK_FRAME_BYTES - 8)
		return 0;
	return *(const __u64 *)(fb + off);
}

static long pystack_step(__u32 i, void *data)
{
	struct pystack_walk *w = data;
	struct pystack_scratch *s = w->s;
	__u64 cur = w->f;
	__u32 len = pyframe_bytes;
	if (!cur)
		return 1;
	/* one read for every field of the frame, one for the code's names:
	 * bpf_probe_read_user is most of a walk's cost */
	if (len > PYSTACK_FRAME_BYTES)
		len = PYSTACK_FRAME_BYTES;
	if (len < 8 || bpf_probe_read_user(s->frame, len, (const void *)cur))
		return 1;
	w->f = frame_u64(s->frame, pyoff.frame_back);
	if (pyoff.frame_owner &&
	    s->frame[pyoff.frame_owner & (PYSTACK_FRAME_BYTES - 1)] == 3)
		return 0; /* FRAME_OWNED_BY_CSTACK: a C entry shim */
	__u64 code = frame_u64(s->frame, pyoff.frame_code);
	if (!code)
		return 0;
	if (w->n >= GSB_PY_MAX_DEPTH) {
		s->stack.truncated = 1;
		return 1;
	}
	__s32 off = -1;
	if (pyoff.lasti_kind == GSB_LASTI_POINTER) {
		__u64 ip = frame_u64(s->frame, pyoff.frame_lasti);
		__u64 start = code + pyoff.code_adaptive;
		if (ip >= start && ip - start < (1u << 30))
			off = (__s32)(ip - start);
	} else {
		__u32 lo = pyoff.frame_lasti & (PYSTACK_FRAME_BYTES - 1);
		__s32 lasti = lo <= PYSTACK_FRAME_BYTES - 4
				      ? *(const __s32 *)(s->frame + lo) : -1;
		if (lasti >= 0)
			off = pyoff.lasti_kind == GSB_LASTI_UNITS ? lasti * 2 : lasti;
	}
	/* co_name follows co_filename in every version (pyoffsets.c) */
	s->names[0] = s->names[1] = 0;
	bpf_probe_read_user(s->names, sizeof(s->names),
			    (const void *)(code + pyoff.code_filename));
	__u64 ident = s->names[1] * 31 + s->names[0];
	__u32 k = w->n & (GSB_PY_MAX_DEPTH - 1);
	s->stack.code[k] = code;
	s->stack.ident[k] = ident;
	s->stack.offset[k] = off;
	w->h = pystack_hash(w->h, code);
	w->h = pystack_hash(w->h, ident);
	w->h = pystack_hash(w->h, (__u64)(__u32)off);
	w->n++;
	return 0;
}

static long pystack_learn_step(__u32 i, void *data)
{
	struct pystack_walk *w = data;
	if (i >= w->n)
		return 1;
	__u32 k = i & (GSB_PY_MAX_DEPTH - 1);
	pystack_learn_code(w->s->stack.code[k], w->s->stack.ident[k], &w->s->code);
	return 0;
}

/* Stack id of tid's current Python stack (0: none). arg: which argument
 * of the probed function is the PyThreadState * (0: none, use the last
 * one the thread showed). */
static __always_inline __u32 pystack_id(struct pt_regs *ctx, __u32 tid,
					__u32 arg)
{
	__u32 zero = 0;
	if (!want_pystacks)
		return 0;
	__u64 ts = pystack_tstate(ctx, tid, arg);
	if (!ts)
		return 0;
	struct pystack_walk w = { 0 };
	w.s = bpf_map_lookup_elem(&pyscratch, &zero);
	if (!w.s)
		return 0;
	w.h = 2166136261u;
	w.f = pystack_top(ts);
	w.s->stack.truncated = 0;
	/* twice the depth: 3.12+ shim frames do not count */
	bpf_loop(GSB_PY_MAX_DEPTH * 2, pystack_step, &w, 0);
	w.s->stack.depth = w.n;
	if (!w.n)
		return 0;
	/* below 2^30: the other ranges are code locations and native
	 * stacks (trace_stacks.h) */
	__u32 h = (w.h & 0x3fffffffu) ? (w.h & 0x3fffffffu) : 1;
	if (bpf_map_lookup_elem(&pystacks, &h))
		return h;
	/* a new stack: its code objects are read now, once each */
	if (bpf_map_update_elem(&pystacks, &h, &w.s->stack, BPF_NOEXIST))
		/* another CPU stored it first, or the table is full */
		return bpf_map_lookup_elem(&pystacks, &h) ? h : 0;
	bpf_loop(GSB_PY_MAX_DEPTH, pystack_learn_step, &w, 0);
	return h;
}

#endif
