/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "hostwide.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "clock.h"
#include "gil_events.h"
#include "gilagg.skel.h"
#include "gilscope_bpf.h"
#include "hw_cli.h"
#include "symfree.h"
#include "session.h"
#include "target.h"

/* a new process is looked at this long after its exec (the dynamic loader
 * maps libpython after the exec tracepoint; a stripped CPython's GIL exists
 * only once Py_Initialize made it), then again after 100, 200, 400, 800 ms
 * and 1.6 s of its running: while it is stopped, every 200 ms at no try */
#define PENDING_FIRST_NS 50000000ull
#define PENDING_TRIES 6

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return p;
	size_t n = *cap ? *cap * 2 : 16;
	while (n < need)
		n *= 2;
	void *q = realloc(p, n * size);
	if (!q)
		return NULL;
	memset((char *)q + *cap * size, 0, (n - *cap) * size);
	*cap = n;
	return q;
}

static int read_small(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, len - 1, f);
	fclose(f);
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static unsigned long long proc_start_time(pid_t pid)
{
	char p[64], buf[1024];
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	if (read_small(p, buf, sizeof(buf)))
		return 0;
	/* field 22; the comm field (2) may hold spaces: skip past its ')' */
	char *s = strrchr(buf, ')');
	if (!s)
		return 0;
	unsigned long long v = 0;
	int field = 2;
	for (char *tok = strtok(s + 1, " "); tok; tok = strtok(NULL, " "))
		if (++field == 22) {
			v = strtoull(tok, NULL, 10);
			break;
		}
	return v;
}

/* Stopped (a tracer's ptrace stop, SIGSTOP): it has not run since. A
 * program started under `gilscope record -- CMD` waits in its exec's ptrace
 * stop, before the dynamic loader maps libpython, while record attaches its
 * probes: seconds on a loaded machine. */
static int proc_stopped(pid_t pid)
{
	char p[64], buf[1024];
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	if (read_small(p, buf, sizeof(buf)))
		return 0;
	const char *s = strrchr(buf, ')');
	return s && (s[1] == ' ') && (s[2] == 't' || s[2] == 'T');
}

int gs_hw_proc_running(pid_t pid, unsigned long long start_time)
{
	char p[64], buf[1024];
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	if (read_small(p, buf, sizeof(buf)))
		return 0;
	const char *s = strrchr(buf, ')');
	if (!s || s[1] != ' ' || s[2] == 'Z' || s[2] == 'X')
		return 0;
	return proc_start_time(pid) == start_time;
}

/* When pid started, on CLOCK_MONOTONIC (bpf_ktime_get_ns's clock): its
 * start time is in clock ticks since boot (CLOCK_BOOTTIME). */
static uint64_t proc_start_mono_ns(pid_t pid)
{
	struct timespec boot, mono;
	unsigned long long ticks = proc_start_time(pid);
	long hz = sysconf(_SC_CLK_TCK);
	if (!ticks || hz <= 0 || clock_gettime(CLOCK_BOOTTIME, &boot) ||
	    clock_gettime(CLOCK_MONOTONIC, &mono))
		return UINT64_MAX;
	uint64_t b = (uint64_t)boot.tv_sec * 1000000000ull + (uint64_t)boot.tv_nsec;
	uint64_t m = (uint64_t)mono.tv_sec * 1000000000ull + (uint64_t)mono.tv_nsec;
	uint64_t start = ticks * (1000000000ull / (uint64_t)hz);
	return start > b - m ? start - (b - m) : 0;
}

/* cgroup v2 path ("0::/PATH") and a container id in it when there is one
 * (docker-ID.scope, cri-containerd-ID.scope, libpod-ID, /docker/ID...):
 * the first run of 64 hex digits, shortened to 12 as docker shows it. */
static void proc_cgroup(pid_t pid, char *cg, size_t cglen, char *cid, size_t cidlen)
{
	char p[64], line[1024];
	cg[0] = cid[0] = 0;
	snprintf(p, sizeof(p), "/proc/%d/cgroup", (int)pid);
	FILE *f = fopen(p, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = 0;
			size_t n = strlen(line + 3);
			if (n >= cglen)
				n = cglen - 1;
			memcpy(cg, line + 3, n);
			cg[n] = 0;
			break;
		}
	fclose(f);
	for (const char *s = cg; *s; s++) {
		size_t n = 0;
		while (isxdigit((unsigned char)s[n]) && !isupper((unsigned char)s[n]))
			n++;
		if (n == 64) {
			snprintf(cid, cidlen, "%.12s", s);
			return;
		}
		if (n)
			s += n - 1;
	}
}

static struct gs_hw_proc *find_proc(struct gs_hw *hw, pid_t pid, int live_only)
{
	for (size_t i = 0; i < hw->nprocs; i++)
		if (hw->procs[i].pid == pid && (!live_only || !hw->procs[i].exited))
			return &hw->procs[i];
	return NULL;
}

static struct gs_hw_proc *add_proc(struct gs_hw *hw, pid_t pid, const char *runtime,
				   const char *python)
{
	struct gs_hw_proc *np = grow(hw->procs, &hw->capprocs, hw->nprocs + 1,
				     sizeof(*hw->procs));
	if (!np)
		return NULL;
	hw->procs = np;
	struct gs_hw_proc *p = &hw->procs[hw->nprocs++];
	memset(p, 0, sizeof(*p));
	char path[64];
	p->pid = pid;
	p->start_time = proc_start_time(pid);
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	if (read_small(path, p->comm, sizeof(p->comm)))
		snprintf(p->comm, sizeof(p->comm), "?");
	snprintf(p->runtime, sizeof(p->runtime), "%s", runtime);
	snprintf(p->python, sizeof(p->python), "%s", python);
	proc_cgroup(pid, p->cgroup, sizeof(p->cgroup), p->container, sizeof(p->container));
	return p;
}

/* ---- probes: once per binary or library file ----------------------------- */

static int keep_link(struct gs_hw *hw, struct bpf_link *l)
{
	struct bpf_link **nl = grow(hw->links, &hw->caplinks, hw->nlinks + 1,
				    sizeof(*hw->links));
	if (!nl) {
		bpf_link__destroy(l);
		return -1;
	}
	hw->links = nl;
	hw->links[hw->nlinks++] = l;
	return 0;
}

static int attach_sym(struct gs_hw *hw, struct gs_hw_bin *b, const struct gs_target *t,
		      struct bpf_program *prog, int ret, int sym, int hit, int required)
{
	const struct gs_elf_sym *e = &t->sym[sym];
	if (!e->found)
		return required ? -1 : 0;
	for (int i = 0; i < e->found; i++) {
		/* an inline copy (DWARF) has no return of its own: a return
		 * probe there would take a word of the stack for one; and
		 * take_gil's entry alone would leave its requests unanswered */
		if (e->inlined[i] && (ret || sym == GS_SYM_TAKE_GIL))
			continue;
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = ret != 0,
			    .bpf_cookie = (__u64)(b - hw->bins));
		struct bpf_link *l = bpf_program__attach_uprobe_opts(prog, -1, b->path,
								     e->offset[i], &uo);
		if (!l) {
			if (hw->o.verbose || required)
				fprintf(stderr, "%s: %s %s:0x%llx: %s\n", hw->o.prog,
					ret ? "uretprobe" : "uprobe", b->path,
					(unsigned long long)e->offset[i], strerror(errno));
			if (required)
				return -1;
			continue;
		}
		if (keep_link(hw, l))
			return -1;
		b->nlinks++;
		if (e->single_step[i])
			b->single_step[hit] = 1;
	}
	return 0;
}

static int attach_usdt_all(struct gs_hw *hw, struct gs_hw_bin *b)
{
	struct gilagg_bpf *k = hw->skel;
	struct { struct bpf_program *p; const char *name; int required; } u[] = {
		{ k->progs.usdt_thread_start, "thread_start", 0 },
		{ k->progs.usdt_acquire_request, "acquire_request", 1 },
		{ k->progs.usdt_acquired, "acquired", 1 },
		{ k->progs.usdt_release, "release", 1 },
		{ k->progs.usdt_drop_request, "drop_request", 0 },
		{ k->progs.usdt_prio_boost, "prio_boost", 0 },
	};
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		struct bpf_link *l = bpf_program__attach_usdt(u[i].p, -1, b->path, "gil",
							      u[i].name, NULL);
		if (!l) {
			if (u[i].required) {
				fprintf(stderr, "%s: USDT gil:%s in %s: %s\n", hw->o.prog,
					u[i].name, b->path, strerror(errno));
				return -1;
			}
			continue;
		}
		if (keep_link(hw, l))
			return -1;
		b->nlinks++;
	}
	return 0;
}

/* Thread exits: their last release is classed exit, as record does. */
static int attach_thread_exit(struct gs_hw *hw, struct gs_hw_bin *b,
			      const struct gs_target *t, __u64 tstate_native_tid_off)
{
	struct gilagg_bpf *k = hw->skel;
	return attach_sym(hw, b, t, k->progs.agg_thread_exit, 0, GS_SYM_DELETE_CURRENT,
			  GSA_HIT_THREAD_EXIT, 0) ||
	       attach_sym(hw, b, t, k->progs.agg_thread_exit, 0,
			  GS_SYM_DELETE_CURRENT_INTERNAL, GSA_HIT_THREAD_EXIT, 0) ||
	       (tstate_native_tid_off &&
		attach_sym(hw, b, t, k->progs.agg_tstate_clear, 0, GS_SYM_TSTATE_CLEAR,
			   GSA_HIT_THREAD_EXIT, 0));
}

/* CPython 2.7: the GIL's call sites in ceval.c, as record probes them
 * (target.c found them; py27_sites.bpf.h gives each role its meaning). */
static int attach_py27_sites(struct gs_hw *hw, struct gs_hw_bin *b, const struct gs_target *t)
{
	struct gilagg_bpf *k = hw->skel;
	__u64 bin = (__u64)(b - hw->bins);
	for (int i = 0; i < t->py27.n; i++) {
		const struct gs_py27_site *p = &t->py27.site[i];
		int ret = p->kind == GS_PROBE_RETURN;
		int hit = ret ? GSA_HIT_ACQ2_TAIL
			  : p->role == GSB_PY2_REQUEST ? GSA_HIT_ACQ2_ENTRY
			  : p->role == GSB_PY2_ACQUIRED ? GSA_HIT_ACQ2_RET : GSA_HIT_REL2;
		if (p->vaddr > GSA_PY2_VADDR_MASK) {
			fprintf(stderr, "%s: %s: 2.7 GIL call site at 0x%llx, beyond the "
				"48 bits the probes' cookie holds\n", hw->o.prog, b->path,
				(unsigned long long)p->vaddr);
			return -1;
		}
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = ret,
			    .bpf_cookie = (__u64)p->role << GSB_PY2_ROLE_SHIFT |
					  bin << GSA_PY2_BIN_SHIFT | p->vaddr);
		struct bpf_link *l = bpf_program__attach_uprobe_opts(
			ret ? k->progs.py2_acquired_ret : k->progs.py2_site, -1, b->path,
			p->offset, &uo);
		if (!l) {
			fprintf(stderr, "%s: %s %s:0x%llx (%s): %s\n", hw->o.prog,
				ret ? "uretprobe" : "uprobe", b->path,
				(unsigned long long)p->offset, p->caller, strerror(errno));
			return -1;
		}
		if (keep_link(hw, l))
			return -1;
		b->nlinks++;
		if (p->single_step)
			b->single_step[hit] = 1;
	}
	return 0;
}

/* The bin index for t's file, attaching its probes the first time. -1 when
 * it cannot be probed (message printed). */
static int bin_for(struct gs_hw *hw, const struct gs_target *t)
{
	struct stat st;
	if (stat(t->path, &st)) {
		if (errno != ENOENT || hw->o.verbose) /* ENOENT: the process is gone */
			fprintf(stderr, "%s: %s: %s\n", hw->o.prog, t->path, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < hw->nbins; i++)
		if (hw->bins[i].dev == st.st_dev && hw->bins[i].ino == st.st_ino)
			return (int)i;
	if (hw->nbins >= GSA_MAX_BINS) {
		fprintf(stderr, "%s: more than %d distinct GIL binaries; %s not traced\n",
			hw->o.prog, GSA_MAX_BINS, t->path);
		return -1;
	}
	struct gs_hw_bin *b = &hw->bins[hw->nbins];
	memset(b, 0, sizeof(*b));
	b->dev = st.st_dev;
	b->ino = st.st_ino;
	snprintf(b->path, sizeof(b->path), "%s", t->path);
	if (t->runtime != GSB_RT_LIBGIL && t->py_minor >= 0)
		snprintf(b->python, sizeof(b->python), "%d.%d", t->py_major, t->py_minor);
	else if (t->runtime != GSB_RT_LIBGIL)
		snprintf(b->python, sizeof(b->python), "%d", t->py_major);
	struct gsa_bin kb = { 0 };
	struct gilagg_bpf *k = hw->skel;
	int err = 0;
	switch (hw->o.discover_only ? 0 : t->runtime) {
	case 0:
		b->runtime = t->runtime == GSB_RT_LIBGIL ? GSA_RT_LIBGIL
			   : t->runtime == GSB_RT_CPYTHON2 ? GSA_RT_CPYTHON2 : GSA_RT_CPYTHON3;
		break;
	case GSB_RT_LIBGIL:
		b->runtime = GSA_RT_LIBGIL;
		err = attach_usdt_all(hw, b);
		break;
	case GSB_RT_CPYTHON3:
		b->runtime = GSA_RT_CPYTHON3;
		if (t->py_minor >= 13)
			kb.tstate_native_tid_off = gs_symfree_tstate_native_tid_off(t->path);
		{
			__u32 i0 = (__u32)hw->nbins;
			bpf_map_update_elem(bpf_map__fd(k->maps.bins), &i0, &kb, BPF_ANY);
		}
		if (attach_thread_exit(hw, b, t, kb.tstate_native_tid_off)) {
			err = -1;
			break;
		}
		if (t->symfree == GS_SYMFREE_GIL_PTHREAD) {
			/* the GIL's own probes go into each process's libc
			 * (setup_symfree); PyEval_SaveThread is exported */
			b->symfree = 1;
			err = attach_sym(hw, b, t, k->progs.py3_save_thread, 0,
					 GS_SYM_SAVE_THREAD, GSA_HIT_SAVE, 0);
			break;
		}
		err = attach_sym(hw, b, t, k->progs.py3_take_gil, 0, GS_SYM_TAKE_GIL,
				 GSA_HIT_TAKE_ENTRY, 1) ||
		      attach_sym(hw, b, t, k->progs.py3_take_gil_ret, 1, GS_SYM_TAKE_GIL,
				 GSA_HIT_TAKE_RET, 1) ||
		      attach_sym(hw, b, t, k->progs.py3_drop_gil, 0, GS_SYM_DROP_GIL,
				 GSA_HIT_DROP, 1) ||
		      attach_sym(hw, b, t, k->progs.py3_save_thread, 0,
				 GS_SYM_SAVE_THREAD, GSA_HIT_SAVE, 0);
		break;
	case GSB_RT_CPYTHON2:
		b->runtime = GSA_RT_CPYTHON2;
		kb.py2_lock_vaddr = t->sym[GS_SYM_INTERPRETER_LOCK].vaddr[0];
		break;
	}
	kb.runtime = (__u32)b->runtime;
	__u32 idx = (__u32)hw->nbins;
	bpf_map_update_elem(bpf_map__fd(k->maps.bins), &idx, &kb, BPF_ANY);
	if (t->runtime == GSB_RT_CPYTHON2 && !hw->o.discover_only)
		err = attach_py27_sites(hw, b, t) || attach_thread_exit(hw, b, t, 0);
	hw->nbins++; /* even on error: its links so far are in hw->links */
	if (err)
		return -1;
	if (hw->o.verbose)
		fprintf(stderr, "%s: %s GIL in %s: %d probes (pid -1)\n", hw->o.prog,
			t->policy_name, t->path, b->nlinks);
	return (int)idx;
}

/* ---- discovery ----------------------------------------------------------- */

static int in_pid_filter(struct gs_hw *hw, pid_t pid)
{
	if (!hw->o.n_pids)
		return 1;
	for (size_t i = 0; i < hw->o.n_pids; i++)
		if (hw->o.pids[i] == pid)
			return 1;
	return 0;
}

/* Reads the process's mappings: whether a file named like a Python or
 * libgil is mapped, and which already probed file it maps (-1: none), so
 * that only the first process of each file pays for the ELF look-up. */
static int maps_scan(struct gs_hw *hw, pid_t pid, int *known_bin)
{
	char p[64], line[4096 + 256];
	*known_bin = -1;
	snprintf(p, sizeof(p), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(p, "re");
	if (!f)
		return 0;
	int found = 0;
	while (fgets(line, sizeof(line), f)) {
		char *path = strchr(line, '/'), *base = strrchr(line, '/');
		unsigned maj, min;
		unsigned long long ino;
		if (!path || !(strstr(base, "python") || !strncmp(base, "/libgil", 7)))
			continue;
		found = 1;
		if (sscanf(line, "%*s %*s %*s %x:%x %llu", &maj, &min, &ino) != 3)
			continue;
		for (size_t i = 0; i < hw->nbins && *known_bin < 0; i++)
			if (hw->bins[i].ino == (ino_t)ino &&
			    hw->bins[i].dev == makedev(maj, min))
				*known_bin = (int)i;
		if (*known_bin >= 0)
			break;
	}
	fclose(f);
	return found;
}

static int exe_known_nogil(struct gs_hw *hw, const struct stat *st)
{
	for (size_t i = 0; i < hw->nnogil; i++)
		if (hw->nogil[i].dev == st->st_dev && hw->nogil[i].ino == st->st_ino)
			return 1;
	return 0;
}

static void close_proc(struct gs_hw *hw, struct gs_hw_proc *p, uint64_t before_ns);
static void forget_conds(struct gs_hw *hw, __u32 tgid);
static void look_soon(struct gs_hw *hw, pid_t pid);

static void skip_proc(struct gs_hw *hw, pid_t pid, unsigned long long start)
{
	void *n = grow(hw->skipped, &hw->capskipped, hw->nskipped + 1, sizeof(*hw->skipped));
	hw->untraceable++;
	if (!n)
		return;
	hw->skipped = n;
	hw->skipped[hw->nskipped].pid = pid;
	hw->skipped[hw->nskipped++].start_time = start;
}

static struct gs_hw_proc *list_proc(struct gs_hw *hw, pid_t pid, int bin,
				    const char *runtime, const char *python)
{
	struct gs_hw_proc *np = add_proc(hw, pid, runtime, python);
	if (np && hw->o.n_pids) {
		/* -p: the kernel side counts only what is listed in procs */
		struct gsa_proc kp = { .flags = GSA_PROC_TRACED, .bin = (__u32)bin };
		__u32 key = (__u32)pid;
		bpf_map_update_elem(bpf_map__fd(hw->skel->maps.procs), &key, &kp,
				    BPF_NOEXIST);
	}
	if (np && hw->o.verbose)
		fprintf(stderr, "%s: tracing PID %d (%s, %s %s)\n", hw->o.prog, (int)pid,
			np->comm, np->runtime, np->python);
	return np;
}

/* Symbol-free CPython 3.x: its GILs' conditions from _PyRuntime into
 * agg_gil_conds, and libc's pthread_cond_signal/timedwait probed in this
 * process alone (libc is every program's: pid -1 would make the whole
 * host pay). The links wait in hw->sf_links for list_proc's entry.
 * 0, or -1 (not traced yet: the GIL may not exist so soon after exec; the
 * next scan tries again). */
static int setup_symfree(struct gs_hw *hw, pid_t pid, const struct gs_target *t)
{
	struct gs_symfree_libc lc;
	struct gs_symfree_live lv;
	char msg[1024];
	struct gilagg_bpf *k = hw->skel;

	if (!t->libc[0] || gs_symfree_libc(t->libc, &lc, msg, sizeof(msg)) ||
	    gs_symfree_py3_live(pid, t->path, t->shown, t->py_minor, &lv, msg, sizeof(msg))) {
		if (hw->o.verbose)
			fprintf(stderr, "%s: PID %d (symbol-free): %s\n", hw->o.prog, (int)pid,
				t->libc[0] ? msg : "no C library mapped");
		return -1;
	}
	int cfd = bpf_map__fd(k->maps.agg_gil_conds), gfd = bpf_map__fd(k->maps.gils);
	for (int i = 0; i < lv.ngils; i++) {
		struct gsb_gil_key key = { .tgid = (__u32)pid, .gil = lv.gil[i].cond };
		struct gsb_gil_cond v = { .gil = lv.gil[i].cond, .role = GSB_COND_GIL };
		bpf_map_update_elem(cfd, &key, &v, BPF_ANY);
		struct gsb_gil_state st = { .index = (__u32)i };
		bpf_map_update_elem(gfd, &key, &st, BPF_NOEXIST);
		key.gil = lv.gil[i].switch_cond;
		v.role = GSB_COND_SWITCH;
		bpf_map_update_elem(cfd, &key, &v, BPF_ANY);
	}
	struct { struct bpf_program *p; uint64_t off; int ret, ss, hit; uint64_t cookie; } u[3] = {
		{ k->progs.agg_cond_signal, lc.off_signal, 0, lc.ss_signal, GSA_HIT_COND_SIGNAL,
		  lc.signal_cookie },
		{ k->progs.agg_cond_timedwait, lc.off_timedwait, 0, lc.ss_timedwait,
		  GSA_HIT_COND_WAIT, 0 },
		{ k->progs.agg_cond_timedwait_ret, lc.off_timedwait, 1, lc.ss_timedwait,
		  GSA_HIT_COND_WAIT_RET, 0 },
	};
	hw->sf_nlinks = 0;
	for (int i = 0; i < 3; i++) {
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = u[i].ret,
			    .bpf_cookie = u[i].cookie);
		struct bpf_link *l = bpf_program__attach_uprobe_opts(u[i].p, pid, lc.path,
								     u[i].off, &uo);
		if (!l) {
			fprintf(stderr, "%s: PID %d: %s %s:0x%llx: %s\n", hw->o.prog, (int)pid,
				u[i].ret ? "uretprobe" : "uprobe", lc.path,
				(unsigned long long)u[i].off, strerror(errno));
			for (int j = 0; j < hw->sf_nlinks; j++)
				bpf_link__destroy(hw->sf_links[j]);
			hw->sf_nlinks = 0;
			forget_conds(hw, (__u32)pid);
			return -1;
		}
		hw->sf_links[hw->sf_nlinks++] = l;
		hw->sf_single_step[u[i].hit] |= u[i].ss;
	}
	if (hw->o.verbose)
		fprintf(stderr, "%s: PID %d: %d GIL(s) found %s; libc probes in %s\n",
			hw->o.prog, (int)pid, lv.ngils, lv.how, lc.path);
	return 0;
}

/* Looks at one process: when it has a GIL, probes its file and lists it.
 * Returns 1 when listed (or already), 0 when not a GIL process. */
static int discover(struct gs_hw *hw, pid_t pid, int quiet)
{
	char p[64], msg[2048];
	struct stat st;
	struct gs_hw_proc *known = find_proc(hw, pid, 1);

	if (known) {
		if (known->start_time == proc_start_time(pid))
			return 1;
		/* pid reused, the notices missed: the old process's threads
		 * are those seen before the new one started */
		close_proc(hw, known, proc_start_mono_ns(pid));
	}
	if (pid == getpid() || !in_pid_filter(hw, pid))
		return 0;
	/* the kernel applies --comm and --cgroup to the probes' hits; applied
	 * here too, nothing outside them is looked at or named */
	if (hw->o.comm) {
		char comm[64];
		snprintf(p, sizeof(p), "/proc/%d/comm", (int)pid);
		if (read_small(p, comm, sizeof(comm)) || strcmp(comm, hw->o.comm))
			return 0;
	}
	if (hw->cgroup_rel[0] && !gs_hw_in_cgroup(hw->cgroup_rel, pid))
		return 0;
	snprintf(p, sizeof(p), "/proc/%d/exe", (int)pid);
	if (stat(p, &st))
		return 0; /* kernel thread or gone */
	int bin = -1;
	int mentions = maps_scan(hw, pid, &bin);
	if (!mentions && exe_known_nogil(hw, &st))
		return 0;
	unsigned long long start = proc_start_time(pid);
	for (size_t i = 0; i < hw->nskipped; i++)
		if (hw->skipped[i].pid == pid && hw->skipped[i].start_time == start)
			return 0;
	if (bin >= 0 && !hw->bins[bin].symfree) {
		const struct gs_hw_bin *b = &hw->bins[bin];
		return list_proc(hw, pid, bin, b->runtime == GSA_RT_LIBGIL ? "libgil" : "cpython",
				 b->python) != NULL;
	}
	struct gs_target *t = calloc(1, sizeof(*t));
	if (!t)
		return 0;
	int r = gs_target_from_pid(pid, t, msg, sizeof(msg));
	if (r) {
		if (!mentions) {
			void *n = grow(hw->nogil, &hw->capnogil, hw->nnogil + 1,
				       sizeof(*hw->nogil));
			if (n) {
				hw->nogil = n;
				hw->nogil[hw->nnogil].dev = st.st_dev;
				hw->nogil[hw->nnogil++].ino = st.st_ino;
			}
		} else if (r == -EPROTO) {
			/* a CPython we cannot probe (stripped, free-threaded):
			 * said once, not looked at again */
			skip_proc(hw, pid, start);
			if (!quiet || hw->o.verbose || hw->untraceable <= 10)
				fprintf(stderr, "%s: PID %d not traced: %s\n", hw->o.prog,
					(int)pid, msg);
		} else {
			/* no GIL yet: a process just exec'd (before we started,
			 * or its notice is being handled) maps libpython later */
			look_soon(hw, pid);
			if (hw->o.verbose > 1)
				fprintf(stderr, "%s: PID %d: %s\n", hw->o.prog, (int)pid, msg);
		}
		free(t);
		return 0;
	}
	bin = bin_for(hw, t);
	if (bin < 0) {
		free(t);
		return 0;
	}
	const struct gs_hw_bin *b = &hw->bins[bin];
	struct gs_hw_proc *np = NULL;
	if (!b->symfree || hw->o.discover_only || !setup_symfree(hw, pid, t))
		np = list_proc(hw, pid, bin, b->runtime == GSA_RT_LIBGIL ? "libgil" : "cpython",
			       b->python);
	if (np && b->symfree && !hw->o.discover_only) {
		memcpy(np->links, hw->sf_links, sizeof(np->links));
		np->nlinks = hw->sf_nlinks;
		hw->sf_nlinks = 0;
	}
	free(t);
	return np != NULL;
}

static void scan_proc(struct gs_hw *hw)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		discover(hw, (pid_t)atoi(de->d_name), 1);
	}
	closedir(d);
	hw->last_scan_ns = gs_now_ns();
}

/* ---- exits ---------------------------------------------------------------- */

static void read_thread(struct gs_hw *hw, struct gs_hw_proc *p, __u32 tid,
			const struct gsa_thread *v);

/* The entries of process tgid in a map keyed by struct gsb_gil_key
 * (gils, agg_gil_conds): a few per process (its GILs, two conditions each). */
static void forget_gil_keys(int fd, __u32 tgid)
{
	struct gsb_gil_key key, next, *prev = NULL, del[32];
	size_t ndel = 0;
	while (!bpf_map_get_next_key(fd, prev, &next) && ndel < 32) {
		key = next;
		prev = &key;
		if (key.tgid == tgid)
			del[ndel++] = key;
	}
	for (size_t i = 0; i < ndel; i++)
		bpf_map_delete_elem(fd, &del[i]);
}

/* agg_gil_conds entries of a process that is gone. */
static void forget_conds(struct gs_hw *hw, __u32 tgid)
{
	forget_gil_keys(bpf_map__fd(hw->skel->maps.agg_gil_conds), tgid);
}

/* gil_state.bpf.h's per-(tgid, GIL) entries of a process that is gone. */
static void forget_gils(struct gs_hw *hw, __u32 tgid)
{
	forget_gil_keys(bpf_map__fd(hw->skel->maps.gils), tgid);
	bpf_map_delete_elem(bpf_map__fd(hw->skel->maps.gil_count), &tgid);
}

/* Takes the process's last counters out of the kernel and deletes its
 * entries there; its series stay for the grace period. Only threads seen
 * before before_ns are its own: after an exec or a pid's reuse, later ones
 * are the new image's (UINT64_MAX: all, at exit). */
static void close_proc(struct gs_hw *hw, struct gs_hw_proc *p, uint64_t before_ns)
{
	int tfd = bpf_map__fd(hw->skel->maps.tstats);
	struct gsa_thread_key key, next, *prev = NULL;
	struct gsa_thread v;
	__u32 tgid = (__u32)p->pid;

	/* collect first, delete after: deleting while iterating restarts
	 * get_next_key from the beginning */
	struct gsa_thread_key *del = NULL;
	size_t ndel = 0, capdel = 0;
	while (!bpf_map_get_next_key(tfd, prev, &next)) {
		key = next;
		prev = &key;
		if (key.tgid != tgid || bpf_map_lookup_elem(tfd, &key, &v) ||
		    v.first_ns >= before_ns)
			continue;
		read_thread(hw, p, key.tid, &v);
		struct gsa_thread_key *nd = grow(del, &capdel, ndel + 1, sizeof(*del));
		if (!nd)
			break;
		del = nd;
		del[ndel++] = key;
	}
	int sfd = bpf_map__fd(hw->skel->maps.threads);
	for (size_t i = 0; i < ndel; i++) {
		bpf_map_delete_elem(tfd, &del[i]);
		bpf_map_delete_elem(sfd, &del[i].tid);
	}
	free(del);
	for (int i = 0; i < p->nlinks; i++)
		bpf_link__destroy(p->links[i]);
	p->nlinks = 0;
	if (before_ns == UINT64_MAX) {
		forget_conds(hw, tgid);
		forget_gils(hw, tgid);
		bpf_map_delete_elem(bpf_map__fd(hw->skel->maps.procs), &tgid);
	}
	for (size_t i = 0; i < p->nth; i++) {
		/* a hold or wait cut by the exit ends here (as the report
		 * of a trace clips it at the trace's end) */
		struct gs_hw_thread *t = &p->th[i];
		t->v.hold_ns += t->open_hold_ns;
		t->v.wait_ns[t->open_why & (GSA_WHY_MAX - 1)] += t->open_wait_ns;
		t->open_hold_ns = t->open_wait_ns = 0;
		t->live = 0;
	}
	p->exited = 1;
	p->exited_ns = gs_now_ns();
}

static void want_look(struct gs_hw *hw, pid_t pid)
{
	for (size_t i = 0; i < hw->npending; i++)
		if (hw->pending[i].pid == pid) {
			hw->pending[i].due_ns = gs_now_ns() + PENDING_FIRST_NS;
			hw->pending[i].tries = 0;
			return;
		}
	void *n = grow(hw->pending, &hw->cappending, hw->npending + 1, sizeof(*hw->pending));
	if (!n)
		return;
	hw->pending = n;
	hw->pending[hw->npending].pid = pid;
	hw->pending[hw->npending].due_ns = gs_now_ns() + PENDING_FIRST_NS;
	hw->pending[hw->npending++].tries = 0;
}

/* want_look, unless pid is already waiting (its tries keep counting). */
static void look_soon(struct gs_hw *hw, pid_t pid)
{
	for (size_t i = 0; i < hw->npending; i++)
		if (hw->pending[i].pid == pid)
			return;
	want_look(hw, pid);
}

static int on_notice(void *ctx, void *data, size_t size)
{
	struct gs_hw *hw = ctx;
	const struct gsa_notice *n = data;
	if (size < sizeof(*n))
		return 0;
	struct gs_hw_proc *p = find_proc(hw, (pid_t)n->tgid, 1);
	if (n->kind == GSA_NOTICE_EXIT) {
		hw->exits++;
		if (p)
			close_proc(hw, p, UINT64_MAX);
		return 0;
	}
	hw->execs++;
	if (hw->o.verbose > 1)
		fprintf(stderr, "%s: exec in PID %u (%s)\n", hw->o.prog, n->tgid,
			p ? p->comm : "not listed");
	if (p) {
		/* the old image's series end here; the kernel side reset the
		 * new one at the exec */
		close_proc(hw, p, n->ts_ns);
		forget_conds(hw, n->tgid);
	}
	/* not probed from its executable here: resolving its libraries means
	 * running its PT_INTERP (ld.so --list), a program any user can name,
	 * as root (--python names the files to probe ahead) */
	if (in_pid_filter(hw, (pid_t)n->tgid))
		want_look(hw, (pid_t)n->tgid);
	return 0;
}

/* ---- reading ---------------------------------------------------------------- */

static void read_thread(struct gs_hw *hw, struct gs_hw_proc *p, __u32 tid,
			const struct gsa_thread *v)
{
	struct gs_hw_thread *t = NULL;
	for (size_t i = 0; i < p->nth; i++)
		if (p->th[i].tid == tid) {
			t = &p->th[i];
			break;
		}
	if (!t) {
		struct gs_hw_thread *nt = grow(p->th, &p->cap, p->nth + 1, sizeof(*p->th));
		if (!nt)
			return;
		p->th = nt;
		t = &p->th[p->nth++];
		memset(t, 0, sizeof(*t));
		t->tid = tid;
		t->live = 1;
		snprintf(t->name, sizeof(t->name), "%.*s", GSA_COMM_LEN - 1, v->comm);
	}
	t->v = *v;
	/* in progress: gil_state.bpf.h's thread state, same clock as ours */
	struct gsb_thread_state st;
	uint64_t now = gs_now_ns();
	t->open_hold_ns = t->open_wait_ns = 0;
	if (!p->exited &&
	    !bpf_map_lookup_elem(bpf_map__fd(hw->skel->maps.threads), &tid, &st)) {
		if (st.acq_ts && now > st.acq_ts)
			t->open_hold_ns = now - st.acq_ts;
		if (st.req_ts && now > st.req_ts) {
			t->open_wait_ns = now - st.req_ts;
			t->open_why = st.why;
		}
	}
	if (v->comm[0])
		snprintf(t->name, sizeof(t->name), "%.*s", GSA_COMM_LEN - 1, v->comm);
	if (t->live && !p->exited) {
		char path[96];
		snprintf(path, sizeof(path), "/proc/%d/task/%u", (int)p->pid, tid);
		if (access(path, F_OK)) {
			t->live = 0; /* gone since: its counters are final */
			t->died_ns = gs_now_ns();
		}
	}
}

/* How long ago then was, at now; 0 when then is later. now is read once
 * per refresh, and what the refresh finds gone meanwhile is stamped later
 * than it: an unsigned now - then wrapped to ~584 years, past any grace, so
 * a process found gone by the refresh (its exit notice not read yet) lost
 * its series at once (exporter_prometheus under load: "tracing PID" said,
 * no series on the page, processes_removed_total 19 with --grace 900). */
static uint64_t ns_since(uint64_t now, uint64_t then)
{
	return now > then ? now - then : 0;
}

/* Dead threads' counters: kept (so counters never go down), in one
 * entry per name and process once the grace period has passed. */
static void merge_dead_threads(struct gs_hw *hw, struct gs_hw_proc *p, uint64_t now)
{
	uint64_t grace = (uint64_t)(hw->o.grace_s * 1e9);
	int fd = bpf_map__fd(hw->skel->maps.tstats);
	for (size_t i = 0; i < p->nth; i++) {
		struct gs_hw_thread *t = &p->th[i];
		if (t->live || !t->died_ns || t->tid == 0 || ns_since(now, t->died_ns) < grace)
			continue;
		struct gsa_thread_key k = { .tgid = (__u32)p->pid, .tid = t->tid };
		bpf_map_delete_elem(fd, &k);
		bpf_map_delete_elem(bpf_map__fd(hw->skel->maps.threads), &k.tid);
		/* into the name's retired entry (tid 0) */
		struct gs_hw_thread *r = NULL;
		for (size_t j = 0; j < p->nth; j++)
			if (p->th[j].tid == 0 && !strcmp(p->th[j].name, t->name))
				r = &p->th[j];
		if (r) {
			gs_hw_add(&r->v, &t->v);
			p->th[i] = p->th[--p->nth];
			i--;
		} else {
			t->tid = 0;
		}
	}
}

/* A counter entry of a process never listed (it exited before a look at
 * it, or its pid now names a later process): nothing reads it again. A
 * reused pid counts only when the entry is clearly older than the process
 * (start times are in clock ticks). */
static int unlisted_gone(__u32 tgid, const struct gsa_thread *v)
{
	if (kill((pid_t)tgid, 0) && errno == ESRCH)
		return 1;
	uint64_t start = proc_start_mono_ns((pid_t)tgid);
	return start > 1000000000ull && v->first_ns + 1000000000ull < start;
}

/* Deletes what the kernel keeps for those processes (their thread
 * counters and states, their process entries, their GILs): without it the
 * tables of a host with many short-lived Pythons fill up. */
static void forget_stale(struct gs_hw *hw)
{
	int tfd = bpf_map__fd(hw->skel->maps.tstats);
	int sfd = bpf_map__fd(hw->skel->maps.threads);
	int pfd = bpf_map__fd(hw->skel->maps.procs);
	for (size_t i = 0; i < hw->nstale; i++) {
		__u32 tgid = hw->stale[i].tgid;
		bpf_map_delete_elem(tfd, &hw->stale[i]);
		bpf_map_delete_elem(sfd, &hw->stale[i].tid);
		if (i + 1 < hw->nstale && hw->stale[i + 1].tgid == tgid)
			continue;
		if (!bpf_map_delete_elem(pfd, &tgid))
			hw->unlisted_forgotten++;
		forget_conds(hw, tgid);
		forget_gils(hw, tgid);
	}
	hw->nstale = 0;
}

void gs_hw_refresh(struct gs_hw *hw)
{
	int tfd = bpf_map__fd(hw->skel->maps.tstats);
	struct gsa_thread_key key, next, *prev = NULL;
	struct gsa_thread v;
	uint64_t now = gs_now_ns();

	while (!bpf_map_get_next_key(tfd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(tfd, &key, &v))
			continue;
		struct gs_hw_proc *p = find_proc(hw, (pid_t)key.tgid, 1);
		if (!p) {
			/* probes saw it before a scan did (a binary probed for
			 * another process): list it now */
			if (!discover(hw, (pid_t)key.tgid, 1)) {
				if (unlisted_gone(key.tgid, &v)) {
					void *n = grow(hw->stale, &hw->capstale, hw->nstale + 1,
						       sizeof(*hw->stale));
					if (n) {
						hw->stale = n;
						hw->stale[hw->nstale++] = key;
					}
				}
				continue;
			}
			p = find_proc(hw, (pid_t)key.tgid, 1);
			if (!p)
				continue;
		}
		read_thread(hw, p, key.tid, &v);
	}
	forget_stale(hw);
	for (size_t i = 0; i < hw->nskipped; i++)
		if (kill(hw->skipped[i].pid, 0) && errno == ESRCH) {
			hw->skipped[i] = hw->skipped[--hw->nskipped];
			i--;
		}
	uint64_t grace = (uint64_t)(hw->o.grace_s * 1e9);
	for (size_t i = 0; i < hw->nprocs; i++) {
		struct gs_hw_proc *p = &hw->procs[i];
		if (!p->exited && kill(p->pid, 0) && errno == ESRCH)
			close_proc(hw, p, UINT64_MAX); /* no exit notice (it had no GIL event) */
		if (p->exited && ns_since(now, p->exited_ns) >= grace) {
			free(p->th);
			hw->procs[i] = hw->procs[--hw->nprocs];
			hw->removed++;
			i--;
			continue;
		}
		if (!p->exited)
			merge_dead_threads(hw, p, now);
	}
}

void gs_hw_poll(struct gs_hw *hw)
{
	ring_buffer__consume(hw->notices);
	uint64_t now = gs_now_ns();
	for (size_t i = 0; i < hw->npending; i++) {
		if (hw->pending[i].due_ns > now)
			continue;
		pid_t pid = hw->pending[i].pid;
		if (proc_stopped(pid)) {
			/* a stop spends no try: its libraries come when it
			 * runs (a try spent on each stop: a 2.7 program that
			 * record held 3 s at its exec, then ran for 1 s
			 * between two scrapes, was never listed) */
			hw->pending[i].due_ns = now + (PENDING_FIRST_NS << 2);
			continue;
		}
		int found = discover(hw, pid, 1);
		if (found || ++hw->pending[i].tries >= PENDING_TRIES ||
		    (kill(pid, 0) && errno == ESRCH)) {
			hw->pending[i] = hw->pending[--hw->npending];
			i--;
			continue;
		}
		hw->pending[i].due_ns = now + (PENDING_FIRST_NS << hw->pending[i].tries);
	}
	if (now - hw->last_scan_ns >= (uint64_t)(hw->o.rescan_s * 1e9))
		scan_proc(hw);
}

int gs_hw_notice_fd(struct gs_hw *hw)
{
	return ring_buffer__epoll_fd(hw->notices);
}

void gs_hw_hits(struct gs_hw *hw, uint64_t out[GSA_HIT_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	memset(out, 0, sizeof(uint64_t) * GSA_HIT_MAX);
	if (ncpu <= 0 || !hw->skel)
		return;
	uint64_t *vals = calloc((size_t)ncpu, sizeof(uint64_t));
	if (!vals)
		return;
	int fd = bpf_map__fd(hw->skel->maps.hits);
	for (__u32 k = 0; k < GSA_HIT_MAX; k++) {
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (int c = 0; c < ncpu; c++)
			out[k] += vals[c];
	}
	free(vals);
}

double gs_hw_cost_ns(struct gs_hw *hw, const uint64_t c[GSA_HIT_MAX])
{
	/* per-hit costs of session.h (docs/observer-effect.md); a slot is
	 * counted as single-stepped when any probed file needs it */
	int ss[GSA_HIT_MAX] = { 0 };
	for (int k = 0; k < GSA_HIT_MAX; k++)
		ss[k] = hw->sf_single_step[k];
	for (size_t b = 0; b < hw->nbins; b++)
		for (int k = 0; k < GSA_HIT_MAX; k++)
			ss[k] |= hw->bins[b].single_step[k];
	double ns = 0;
	for (int k = 0; k < GSA_HIT_MAX; k++) {
		double per;
		switch (k) {
		case GSA_HIT_USDT: per = GS_COST_USDT_NS; break;
		case GSA_HIT_TAKE_RET:
		case GSA_HIT_ACQ2_TAIL:
		case GSA_HIT_COND_WAIT_RET:
			per = ss[k] ? GS_COST_URETPROBE_SS_NS : GS_COST_URETPROBE_NS;
			break;
		case GSA_HIT_LIFECYCLE: per = GS_COST_SCHED_NS; break;
		case GSA_LOST_THREADS:
		case GSA_LOST_PROCS:
		case GSA_LOST_NOTICES: per = 0; break;
		default: per = ss[k] ? GS_COST_UPROBE_SS_NS : GS_COST_UPROBE_NS;
		}
		ns += per * (double)c[k];
	}
	return ns;
}

/* ---- start / stop ------------------------------------------------------------ */

static int libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static int libbpf_loud(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	return vfprintf(stderr, fmt, ap);
}

int gs_hw_start(struct gs_hw *hw, const struct gs_hw_opts *o)
{
	memset(hw, 0, sizeof(*hw));
	hw->o = *o;
	libbpf_set_print(o->verbose ? libbpf_loud : libbpf_quiet);
	if (geteuid() != 0) {
		fprintf(stderr, "%s: needs root, or CAP_BPF and CAP_PERFMON (to load "
				"BPF programs and attach uprobes); run it with sudo\n", o->prog);
		return 1;
	}
	hw->bins = calloc(GSA_MAX_BINS, sizeof(*hw->bins));
	if (!hw->bins)
		return 1;
	struct gilagg_bpf *k = gilagg_bpf__open();
	if (!k) {
		fprintf(stderr, "%s: opening the BPF object failed: %s\n", o->prog,
			strerror(errno));
		return 1;
	}
	hw->skel = k;
	k->rodata->filter_pids = o->n_pids > 0;
	k->rodata->convoy_ns = o->convoy_ns;
	/* gil_state.bpf.h's per-thread statistics are top's, not ours */
	k->rodata->want_stats = 0;
	bpf_map__set_max_entries(k->maps.stats, 1);
	if (o->comm) {
		k->rodata->filter_comm = 1;
		snprintf((char *)k->rodata->comm_filter, GSA_COMM_LEN, "%s", o->comm);
	}
	if (o->cgroup) {
		char path[4096], rel[4096];
		struct stat st;
		if (gs_hw_cgroup_path(o->prog, o->cgroup, path, sizeof(path), rel, sizeof(rel)) ||
		    stat(path, &st)) {
			gs_hw_stop(hw);
			return 1;
		}
		snprintf(hw->cgroup_rel, sizeof(hw->cgroup_rel), "%s", rel);
		k->rodata->filter_cgroups = 1;
		hw->o.cgroup = o->cgroup;
		if (gilagg_bpf__load(k))
			goto load_failed;
		__u64 id = st.st_ino; /* cgroup v2 id = the directory's inode */
		__u8 one = 1;
		bpf_map_update_elem(bpf_map__fd(k->maps.allowed_cgroups), &id, &one, BPF_ANY);
	} else if (gilagg_bpf__load(k)) {
		goto load_failed;
	}
	struct bpf_link *l;
	if (!(l = bpf_program__attach(k->progs.gilagg_exec)) || keep_link(hw, l) ||
	    !(l = bpf_program__attach(k->progs.gilagg_exit)) || keep_link(hw, l)) {
		fprintf(stderr, "%s: attaching the sched_process_exec/exit tracepoints "
				"failed: %s\n", o->prog, strerror(errno));
		gs_hw_stop(hw);
		return 1;
	}
	hw->notices = ring_buffer__new(bpf_map__fd(k->maps.notices), on_notice, hw, NULL);
	if (!hw->notices) {
		fprintf(stderr, "%s: ring buffer: %s\n", o->prog, strerror(errno));
		gs_hw_stop(hw);
		return 1;
	}
	for (size_t i = 0; i < o->n_pythons && !o->discover_only; i++) {
		char msg[2048], real[PATH_MAX];
		struct gs_target *t = calloc(1, sizeof(*t));
		int r = !t ? -ENOMEM : 0;
		snprintf(msg, sizeof(msg), "not found");
		if (!r && strchr(o->pythons[i], '/'))
			r = realpath(o->pythons[i], real) ? 0 : -errno;
		else if (!r)
			r = gs_which(o->pythons[i], real, sizeof(real));
		if (!r)
			r = gs_target_from_exe(real, t, msg, sizeof(msg));
		if (!r && (t->symfree || t->free_threaded)) {
			snprintf(msg, sizeof(msg), "%.1024s: %s", real, t->free_threaded ?
				 "free-threaded: no GIL to trace" :
				 "no symbols (probed per process when it runs)");
			r = -EPROTO;
		}
		if (r || bin_for(hw, t) < 0) {
			fprintf(stderr, "%s: --python %s: %s\n", o->prog, o->pythons[i],
				r == -ENOMEM ? strerror(ENOMEM) : r ? msg : "cannot be probed");
			free(t);
			gs_hw_stop(hw);
			return 1;
		}
		free(t);
	}
	scan_proc(hw);
	return 0;

load_failed:
	fprintf(stderr, "%s: loading the BPF programs failed: %s%s\n", o->prog,
		strerror(errno), o->verbose ? "" : " (-v shows the verifier's log)");
	gs_hw_stop(hw);
	return 1;
}

void gs_hw_stop(struct gs_hw *hw)
{
	/* links first: the probes leave every process before anything else */
	for (size_t i = 0; i < hw->nprocs; i++)
		for (int j = 0; j < hw->procs[i].nlinks; j++)
			bpf_link__destroy(hw->procs[i].links[j]);
	for (size_t i = hw->nlinks; i-- > 0;)
		bpf_link__destroy(hw->links[i]);
	free(hw->links);
	hw->links = NULL;
	hw->nlinks = 0;
	ring_buffer__free(hw->notices);
	hw->notices = NULL;
	if (hw->skel)
		gilagg_bpf__destroy(hw->skel);
	hw->skel = NULL;
	for (size_t i = 0; i < hw->nprocs; i++)
		free(hw->procs[i].th);
	free(hw->procs);
	free(hw->bins);
	free(hw->nogil);
	free(hw->stale);
	hw->stale = NULL;
	hw->nstale = hw->capstale = 0;
	free(hw->pending);
	free(hw->skipped);
	hw->skipped = NULL;
	hw->procs = NULL;
	hw->bins = NULL;
	hw->nogil = NULL;
	hw->pending = NULL;
	hw->nprocs = hw->nbins = 0;
}
