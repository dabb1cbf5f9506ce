/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "session.h"
#include "stale_probes.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "gil_events.h"
#include "gilscope.skel.h"
#include "probe_sites.h"
#include "procfs.h"
#include "pyoffsets.h"
#include "pystack_load.h"
#include "symfree.h"

volatile sig_atomic_t gs_session_stop;
static int libbpf_verbose;

static void on_signal(int sig)
{
	(void)sig;
	gs_session_stop = 1;
}

void gs_session_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: the sleep in the drain loop returns at once */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	if (!libbpf_verbose)
		return 0; /* our own messages say what failed and what to do */
	return vfprintf(stderr, fmt, ap);
}

/* `-- python script.py` where the program is a script: probe its
 * interpreter ("#!/usr/bin/env python3" included). */
static int resolve_exe(const char *cmd, char *out, size_t outlen)
{
	char path[4096], line[512];
	int r = gs_which(cmd, path, sizeof(path));
	if (r)
		return r;
	snprintf(out, outlen, "%s", path);
	FILE *f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(line, sizeof(line), f) || strncmp(line, "#!", 2)) {
		fclose(f);
		return 0;
	}
	fclose(f);
	char *save = NULL, *interp = strtok_r(line + 2, " \t\n", &save);
	if (!interp)
		return 0;
	if (!strcmp(interp, "/usr/bin/env") || !strcmp(interp, "/bin/env")) {
		char *next = strtok_r(NULL, " \t\n", &save);
		if (next && !gs_which(next, path, sizeof(path)))
			snprintf(out, outlen, "%s", path);
	} else {
		snprintf(out, outlen, "%s", interp);
	}
	return 0;
}

static int start_child(struct gs_session *s, char **cmd)
{
	int gate[2];
	if (pipe2(gate, O_CLOEXEC)) {
		fprintf(stderr, "%s: pipe: %s\n", s->opts->prog, strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "%s: fork: %s\n", s->opts->prog, strerror(errno));
		close(gate[0]);
		close(gate[1]);
		return -1;
	}
	if (pid == 0) {
		char c;
		close(gate[1]);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGPIPE, SIG_DFL);
		/* Wait until the probes are in. EOF: the tracer died or gave
		 * up before that; the command runs anyway, untraced, since a
		 * tracer's death must never stop or kill what it traces. */
		ssize_t got;
		do
			got = read(gate[0], &c, 1);
		while (got < 0 && errno == EINTR);
		if (got != 1)
			fprintf(stderr, "%s: the tracer is gone; running %s "
				"untraced\n", s->opts->prog, cmd[0]);
		close(gate[0]);
		execvp(cmd[0], cmd);
		fprintf(stderr, "%s: exec %s: %s\n", s->opts->prog, cmd[0],
			strerror(errno));
		_exit(127);
	}
	close(gate[0]);
	s->pid = pid;
	s->child_pid = pid;
	s->child = 1;
	s->child_gate = gate[1];
	return 0;
}

void gs_session_go(struct gs_session *s)
{
	/* events from now on, all probes in (g_armed in gilscope.bpf.c) */
	if (s->skel)
		__atomic_store_n(&s->skel->bss->g_armed, 1, __ATOMIC_SEQ_CST);
	if (s->following) {
		gs_exec_follow_release(&s->follow);
		return;
	}
	if (s->child_gate > 0) {
		char c = 'g';
		if (write(s->child_gate, &c, 1) != 1)
			fprintf(stderr, "%s: could not start the command: %s\n",
				s->opts->prog, strerror(errno));
		close(s->child_gate);
		s->child_gate = -1;
	}
}

static void report_new_gils(struct gs_session *s);

int gs_session_alive(struct gs_session *s)
{
	if (s->opts->verbose && s->skel && s->target.symfree == GS_SYMFREE_GIL_PTHREAD)
		report_new_gils(s);
	if (s->child) {
		if (s->child_exited)
			return 0;
		int st;
		pid_t r = wait4(s->child_pid, &st, WNOHANG, &s->child_usage);
		if (r == s->child_pid && (WIFEXITED(st) || WIFSIGNALED(st))) {
			s->child_usage_ok = 1;
			s->child_exited = 1;
			s->child_status = st;
			return 0;
		}
		return 1;
	}
	if (kill(s->pid, 0) && errno == ESRCH)
		return 0;
	/* -p: its CPU time while it is there to read (cost estimate) */
	gs_session_cpu_mark(s);
	return 1;
}

static int add_link(struct gs_session *s, struct bpf_link *l, const char *what,
		    int required)
{
	if (!l) {
		int err = errno;
		if (required)
			fprintf(stderr, "%s: attaching %s failed: %s%s\n",
				s->opts->prog, what, strerror(err),
				s->opts->verbose ? "" : " (-v shows libbpf's messages)");
		return required ? -1 : 0;
	}
	if (s->nlinks >= GS_MAX_LINKS) {
		bpf_link__destroy(l);
		fprintf(stderr, "%s: too many probes\n", s->opts->prog);
		return -1;
	}
	s->links[s->nlinks++] = l;
	return 0;
}

/* The file name's tail: its end says which library it is. */
static void set_object(struct gs_probe_site *p, const char *obj)
{
	size_t len = strlen(obj), room = sizeof(p->object) - 1;
	const char *from = len > room ? obj + len - room : obj;
	size_t n = len > room ? room : len;
	memcpy(p->object, from, n);
	p->object[n] = 0;
}

static void note_site(struct gs_session *s, const struct gs_elf_sym *e, int i,
		      int sym, int kind)
{
	struct gs_probe_site *n = realloc(s->sites, (s->nsites + 1) * sizeof(*n));
	if (!n)
		return;
	s->sites = n;
	struct gs_probe_site *p = &n[s->nsites++];
	memset(p, 0, sizeof(*p));
	p->vaddr = e->vaddr[i];
	p->file_offset = e->offset[i];
	p->method = e->method[i];
	p->kind = (uint32_t)kind;
	if (e->inlined[i])
		snprintf(p->what, sizeof(p->what), "%s@%s", gs_sym_name(sym), e->caller[i]);
	else
		snprintf(p->what, sizeof(p->what), "%s", gs_sym_name(sym));
	set_object(p, s->target.shown[0] ? s->target.shown : s->target.path);
}

static int attach_uprobes(struct gs_session *s, struct bpf_program *p, int ret,
			  int sym, int hit_slot, int required)
{
	struct gs_target *t = &s->target;
	const struct gs_elf_sym *e = &t->sym[sym];
	/* -- CMD: the library is not mapped yet; the kernel puts the probe in
	 * when the child maps it, because the filter follows the task. */
	pid_t pid = s->pid;
	char what[4200];
	if (!e->found) {
		if (!required)
			return 0;
		fprintf(stderr, "%s: %s: symbol not found\n", s->opts->prog, t->path);
		return -1;
	}
	for (int i = 0; i < e->found; i++) {
		/* An inline copy of take_gil has no return to probe, and its
		 * entry alone would leave every request unanswered. */
		if (e->inlined[i] && (ret || sym == GS_SYM_TAKE_GIL)) {
			s->skipped_inline_take += !ret;
			continue;
		}
		snprintf(what, sizeof(what), "%s %s:0x%llx", ret ? "uretprobe" : "uprobe",
			 t->path, (unsigned long long)e->offset[i]);
		struct bpf_link *l = bpf_program__attach_uprobe(p, ret, pid, t->path,
								e->offset[i]);
		if (add_link(s, l, what, required && !e->inlined[i]))
			return -1;
		if (!l)
			continue; /* an inline site the kernel refused: said by -v */
		note_site(s, e, i, sym, ret ? GS_PROBE_RETURN : GS_PROBE_ENTRY);
		if (e->single_step[i])
			s->single_step[hit_slot] = 1;
	}
	return 0;
}

/* CPython 2.7: the GIL's call sites in ceval.c (target.c found them), one
 * program each for the uprobes and the tail call's return, told apart by
 * the BPF cookie (role and the site's link-time address). */
static int attach_py27_sites(struct gs_session *s)
{
	const struct gs_target *t = &s->target;
	char what[4200];
	static const char *const callee[] = {
		[GSB_PY2_RELEASE_TICK] = "release_lock", [GSB_PY2_RELEASE_SAVE] = "release_lock",
		[GSB_PY2_RELEASE] = "release_lock", [GSB_PY2_REQUEST] = "acquire_lock",
		[GSB_PY2_ACQUIRED] = "acquire_lock",
	};
	for (int i = 0; i < t->py27.n; i++) {
		const struct gs_py27_site *p = &t->py27.site[i];
		int ret = p->kind == GS_PROBE_RETURN;
		int slot = ret ? GSB_HIT_ACQ2_TAIL
			   : p->role == GSB_PY2_REQUEST ? GSB_HIT_ACQ2_ENTRY
			   : p->role == GSB_PY2_ACQUIRED ? GSB_HIT_ACQ2_RET : GSB_HIT_REL2;
		LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = ret,
			    .bpf_cookie = (uint64_t)p->role << GSB_PY2_ROLE_SHIFT |
					  (p->vaddr & GSB_PY2_VADDR_MASK));
		snprintf(what, sizeof(what), "%s %s:0x%llx (%s in %s)",
			 ret ? "uretprobe" : "uprobe", t->path,
			 (unsigned long long)p->offset, callee[p->role], p->caller);
		struct bpf_link *l = bpf_program__attach_uprobe_opts(
			ret ? s->skel->progs.py2_acquired_ret : s->skel->progs.py2_site,
			s->pid, t->path, p->offset, &uo);
		if (add_link(s, l, what, 1))
			return -1;
		struct gs_probe_site *n = realloc(s->sites, (s->nsites + 1) * sizeof(*n));
		if (n) {
			struct gs_probe_site *q = &n[s->nsites++];
			s->sites = n;
			memset(q, 0, sizeof(*q));
			q->vaddr = p->vaddr;
			q->file_offset = p->offset;
			q->method = GS_PLACE_DYNSYM;
			q->kind = (uint32_t)p->kind;
			if (ret)
				snprintf(q->what, sizeof(q->what), "%s", p->caller);
			else
				snprintf(q->what, sizeof(q->what), "%s@%s", callee[p->role],
					 p->caller);
			set_object(q, t->shown[0] ? t->shown : t->path);
		}
		if (p->single_step)
			s->single_step[slot] = 1;
	}
	return 0;
}

/* Every libgil USDT probe of the catalog, each with its program usdt_NAME
 * (probes/bpf/gilscope.bpf.c, generated from the same catalog). */
static const struct {
	const char *name;
	int required; /* record/top cannot do without it */
} usdt_probes[] = {
#define GS_X_USDT_PROBE(id, name, a8, a0, a1, str, from, doc)               \
	GS_IF_USDT(from)({ #name, GS_USDT_REQUIRED(from) },)
	GS_EVENT_CATALOG(GS_X_USDT_PROBE)
#undef GS_X_USDT_PROBE
};

static int attach_usdt(struct gs_session *s)
{
	pid_t pid = s->pid;
	int attached = 0;
	for (size_t i = 0; i < sizeof(usdt_probes) / sizeof(usdt_probes[0]); i++) {
		char what[4200], prog_name[64];
		int required = usdt_probes[i].required;
		snprintf(prog_name, sizeof(prog_name), "usdt_%s", usdt_probes[i].name);
		struct bpf_program *prog =
			bpf_object__find_program_by_name(s->skel->obj, prog_name);
		if (!prog) {
			fprintf(stderr, "%s: BPF program %s missing from the object\n",
				s->opts->prog, prog_name);
			return -1;
		}
		snprintf(what, sizeof(what), "USDT gil:%s in %s", usdt_probes[i].name,
			 s->target.path);
		struct bpf_link *l = bpf_program__attach_usdt(prog, pid, s->target.path,
							      "gil", usdt_probes[i].name,
							      NULL);
		if (l) {
			attached++;
			struct gs_probe_site site = { .method = GS_PLACE_USDT,
						      .kind = GS_PROBE_USDT_SITE };
			snprintf(site.what, sizeof(site.what), "gil:%s", usdt_probes[i].name);
			set_object(&site, s->target.shown[0] ? s->target.shown
							      : s->target.path);
			struct gs_probe_site *n = realloc(s->sites, (s->nsites + 1) *
								     sizeof(*n));
			if (n) {
				s->sites = n;
				s->sites[s->nsites++] = site;
			}
		}
		if (add_link(s, l, what, required))
			return -1;
	}
	if (s->opts->verbose)
		fprintf(stderr, "%s: %d USDT probes attached (pid filter %d)\n",
			s->opts->prog, attached, (int)pid);
	return 0;
}

static void set_autoload(struct gilscope_bpf *k, int rt, int symfree, int sched,
			 int raw, int full, int tstate_clear)
{
	struct bpf_program *p;
	int libc = symfree == GS_SYMFREE_GIL_PTHREAD;
	bpf_object__for_each_program(p, k->obj) {
		const char *n = bpf_program__name(p);
		int on;
		if (!strncmp(n, "usdt_", 5))
			on = rt == GSB_RT_LIBGIL;
		else if (!strcmp(n, "py3_save_thread"))
			on = rt == GSB_RT_CPYTHON3;
		else if (!strncmp(n, "py3_", 4))
			on = rt == GSB_RT_CPYTHON3 && !libc;
		else if (!strncmp(n, "pyc_", 4))
			on = rt == GSB_RT_CPYTHON3 && libc;
		else if (!strncmp(n, "py2_", 4))
			on = rt == GSB_RT_CPYTHON2;
		else if (!strcmp(n, "py_thread_exit"))
			on = rt == GSB_RT_CPYTHON3 || rt == GSB_RT_CPYTHON2;
		else if (!strcmp(n, "py_tstate_clear"))
			on = rt == GSB_RT_CPYTHON3 && tstate_clear;
		else if (!strcmp(n, "py_restore_thread"))
			on = rt != GSB_RT_LIBGIL && full;
		else if (!strcmp(n, "tp_task_rename"))
			on = !raw; /* tp_btf, like the scheduler programs */
		else if (!strncmp(n, "tp_sched", 8))
			on = sched && !raw;
		else if (!strncmp(n, "raw_sched", 9))
			on = sched && raw;
		else
			on = 1;
		bpf_program__set_autoload(p, on);
	}
}

static int open_and_load(struct gs_session *s, int raw)
{
	const struct gs_session_opts *o = s->opts;
	struct gs_target *t = &s->target;
	int full = o->probes == GS_PROBES_FULL;

	s->skel = gilscope_bpf__open();
	if (!s->skel) {
		fprintf(stderr, "%s: opening the BPF object failed: %s\n", o->prog,
			strerror(errno));
		return -1;
	}
	struct gilscope_bpf *k = s->skel;
	k->rodata->targ_tgid = (__u32)s->pid;
	k->rodata->emit_events = o->events ? 1 : 0;
	k->rodata->want_stats = o->stats ? 1 : 0;
	k->rodata->infer_blocking_end = full ? 0 : 1;
	k->rodata->convoy_ns = o->convoy_ns;
	if (t->runtime == GSB_RT_CPYTHON2) {
		k->rodata->py2_lock_vaddr = t->sym[GS_SYM_INTERPRETER_LOCK].vaddr[0];
	}
	/* top streams only libgil's thread_start (names): 64 KiB is plenty */
	bpf_map__set_max_entries(k->maps.rb, o->events ? (__u32)o->ringbuf_bytes
						       : 64u << 10);
	k->rodata->want_native = o->native ? 1 : 0;
	if (!o->native) /* the table is preallocated: keep it small */
		bpf_map__set_max_entries(k->maps.nstacks, 1);
	if (o->pystacks) {
		char why[512];
		if (gs_pystack_setup(k, t, why, sizeof(why))) {
			fprintf(stderr, "%s: --stacks: %s\n", o->prog, why);
			return -1;
		}
	}
	/* 3.12+: the GIL each take_gil/drop_gil serves (own-GIL
	 * subinterpreters), so each GIL gets its own trace */
	struct gs_py_gil_key gk;
	if (t->runtime == GSB_RT_CPYTHON3 && !t->symfree &&
	    !gs_py_gil_key(t->py_minor, t->path, &gk)) {
		k->rodata->gilkey_take_arg = gk.take_arg;
		k->rodata->gilkey_tstate_interp = gk.tstate_interp;
		k->rodata->gilkey_interp_gil = gk.interp_gil;
		k->rodata->gilkey_drop_gil = gk.drop_gil;
		s->gil_keyed = 1;
	}
	k->rodata->gil_cond_distance = gs_symfree_cond_distance(t->py_minor);
	if (t->runtime == GSB_RT_CPYTHON3 && t->py_minor >= 13 &&
	    t->sym[GS_SYM_TSTATE_CLEAR].found)
		k->rodata->tstate_native_tid_off =
			gs_symfree_tstate_native_tid_off(t->path);
	set_autoload(k, t->runtime, t->symfree, o->sched, raw, full,
		     k->rodata->tstate_native_tid_off != 0);
	int err = gilscope_bpf__load(k);
	if (err) {
		if (o->sched && !raw)
			return 1; /* caller retries with raw_tp */
		fprintf(stderr, "%s: loading the BPF programs failed: %s%s\n", o->prog,
			strerror(-err),
			o->verbose ? "" : " (-v shows the verifier's log)");
		return -1;
	}
	s->sched_raw_tp = raw;
	return 0;
}

/* "libpython3.11.so.1.0+0x1234" (link-time address in the file, what
 * nm/gdb show) or the runtime address of a GIL on the heap. */
static void gil_where(struct gs_session *s, uint64_t addr, char *out, size_t len)
{
	uint64_t bias;
	const char *base = strrchr(s->target.shown, '/');
	base = base ? base + 1 : s->target.shown;
	if (!gs_symfree_bias(s->pid, s->target.path, s->target.shown, &bias) &&
	    addr > bias &&
	    addr - bias < (64ull << 20))
		snprintf(out, len, "%s+0x%llx", base, (unsigned long long)(addr - bias));
	else
		snprintf(out, len, "0x%llx (heap: a subinterpreter's own GIL)",
			 (unsigned long long)addr);
}

/* -v: GILs the BPF side found when they were created (cond_init pairs). */
static void report_new_gils(struct gs_session *s)
{
	struct gsb_gil_key key, next;
	int fd = bpf_map__fd(s->skel->maps.gil_conds), first = 1;
	while (!bpf_map_get_next_key(fd, first ? NULL : &key, &next)) {
		struct gsb_gil_cond v;
		first = 0;
		key = next;
		if (bpf_map_lookup_elem(fd, &key, &v) || v.role != GSB_COND_GIL ||
		    key.tgid != (__u32)s->pid)
			continue;
		int seen = 0;
		for (int i = 0; i < s->nreported; i++)
			seen |= s->reported[i] == key.gil;
		if (seen || s->nreported >= GS_SYMFREE_MAX_GILS)
			continue;
		s->reported[s->nreported++] = key.gil;
		char where[4200];
		gil_where(s, key.gil - (s->target.py_minor >= 7 ? GS_GIL_OFF_COND : 0),
			  where, sizeof(where));
		fprintf(stderr, "%s: GIL %d found at its creation: %s%s\n", s->opts->prog,
			s->nreported - 1, where,
			s->target.py_minor >= 7 ? "" : " (3.6: gil_cond)");
	}
}

static int attach_thread_exit(struct gs_session *s)
{
	struct bpf_program *p = s->skel->progs.py_thread_exit;
	struct bpf_program *c = s->skel->progs.py_tstate_clear;
	return attach_uprobes(s, p, 0, GS_SYM_DELETE_CURRENT, GSB_HIT_THREAD_EXIT, 0) ||
	       attach_uprobes(s, p, 0, GS_SYM_DELETE_CURRENT_INTERNAL,
			      GSB_HIT_THREAD_EXIT, 0) ||
	       (bpf_program__autoload(c) &&
		attach_uprobes(s, c, 0, GS_SYM_TSTATE_CLEAR, GSB_HIT_THREAD_EXIT, 0));
}

static int attach_libc(struct gs_session *s, struct bpf_program *p, int ret,
		       uint64_t off, int ss, int slot, const char *fn, uint64_t cookie)
{
	char what[4300];
	snprintf(what, sizeof(what), "%s %s:0x%llx (%s)", ret ? "uretprobe" : "uprobe",
		 s->symfree_libc.path, (unsigned long long)off, fn);
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = ret, .bpf_cookie = cookie);
	struct bpf_link *l = bpf_program__attach_uprobe_opts(p, s->pid,
							     s->symfree_libc.path,
							     off, &uo);
	if (add_link(s, l, what, 1))
		return -1;
	struct gs_probe_site *n = realloc(s->sites, (s->nsites + 1) * sizeof(*n));
	if (n) {
		struct gs_probe_site *site = &n[s->nsites++];
		s->sites = n;
		memset(site, 0, sizeof(*site));
		site->vaddr = off; /* libc: file offset; its vaddr is not needed */
		site->file_offset = off;
		site->method = GS_PLACE_SYMBOL_FREE;
		site->kind = ret ? GS_PROBE_RETURN : GS_PROBE_ENTRY;
		snprintf(site->what, sizeof(site->what), "%s(GIL)", fn);
		set_object(site, s->symfree_libc.path);
	}
	if (ss)
		s->single_step[slot] = 1;
	return 0;
}

/* Symbol-free CPython 3.x (docs/symbol-free.md): libc's condition-variable
 * calls, filtered in the kernel to the GIL's own conditions; those of a
 * running process are found now from _PyRuntime, later ones (and all of a
 * `-- CMD` child's) when they are created. */
static int attach_symfree(struct gs_session *s)
{
	struct gilscope_bpf *k = s->skel;
	struct gs_target *t = &s->target;
	struct gs_symfree_libc *lc = &s->symfree_libc;
	int full = s->opts->probes == GS_PROBES_FULL;
	char msg[1024];

	if (!t->libc[0]) {
		fprintf(stderr, "%s: %s: no C library found in the program's mappings "
				"(the symbol-free method probes glibc's pthread_cond_*)\n",
			s->opts->prog, t->path);
		return -1;
	}
	if (gs_symfree_libc(t->libc, lc, msg, sizeof(msg))) {
		fprintf(stderr, "%s: %s\n", s->opts->prog, msg);
		return -1;
	}
	if (!s->child) {
		struct gs_symfree_live *lv = &s->symfree_live;
		if (gs_symfree_py3_live(s->pid, t->path, t->shown, t->py_minor, lv, msg,
					sizeof(msg))) {
			fprintf(stderr, "%s: %s\n", s->opts->prog, msg);
			return -1;
		}
		/* the main interpreter's GIL (in the file's data, not on the
		 * heap) is GIL 0: TRACE, not TRACE.gilN */
		uint64_t bias;
		if (!gs_symfree_bias(s->pid, t->path, t->shown, &bias))
			for (int i = 1; i < lv->ngils; i++)
				if (lv->gil[i].cond - bias < (64ull << 20)) {
					struct gs_symfree_gil m = lv->gil[i];
					lv->gil[i] = lv->gil[0];
					lv->gil[0] = m;
				}
		/* numbered now, in this order, so -v, the traces and the BPF
		 * side agree on which GIL is which */
		int gfd = bpf_map__fd(k->maps.gils), cfd = bpf_map__fd(k->maps.gil_count);
		for (int i = 0; i < lv->ngils; i++) {
			struct gsb_gil_key key = { .tgid = (__u32)s->pid,
						   .gil = lv->gil[i].cond };
			struct gsb_gil_state st = { .index = (__u32)i };
			bpf_map_update_elem(gfd, &key, &st, BPF_ANY);
		}
		__u32 tgid = (__u32)s->pid, n = (__u32)lv->ngils;
		bpf_map_update_elem(cfd, &tgid, &n, BPF_ANY);
		int fd = bpf_map__fd(k->maps.gil_conds);
		for (int i = 0; i < lv->ngils; i++) {
			struct gsb_gil_key key = { .tgid = (__u32)s->pid };
			struct gsb_gil_cond v = { .gil = lv->gil[i].cond,
						  .role = GSB_COND_GIL };
			key.gil = lv->gil[i].cond;
			bpf_map_update_elem(fd, &key, &v, BPF_ANY);
			key.gil = lv->gil[i].switch_cond;
			v.role = GSB_COND_SWITCH;
			bpf_map_update_elem(fd, &key, &v, BPF_ANY);
		}
		if (s->opts->verbose)
			for (int i = 0; i < lv->ngils; i++) {
				char where[4200];
				if (t->py_minor < 7) { /* statics: gil_cond names it */
					gil_where(s, lv->gil[i].cond, where, sizeof(where));
					fprintf(stderr, "%s: GIL %d at %s (3.6: gil_cond; "
							"%s)\n", s->opts->prog, i, where, lv->how);
					continue;
				}
				gil_where(s, lv->gil[i].cond - GS_GIL_OFF_COND, where,
					  sizeof(where));
				fprintf(stderr, "%s: GIL %d at %s (%s; interval %llu us, "
						"locked %d)\n", s->opts->prog, i, where, lv->how,
					(unsigned long long)lv->gil[i].interval_us,
					lv->gil[i].locked);
			}
		s->nreported = lv->ngils;
		for (int i = 0; i < lv->ngils && i < GS_SYMFREE_MAX_GILS; i++)
			s->reported[i] = lv->gil[i].cond;
	}
	if (attach_libc(s, k->progs.pyc_cond_signal, 0, lc->off_signal, lc->ss_signal,
			GSB_HIT_COND_SIGNAL, "pthread_cond_signal", lc->signal_cookie) ||
	    attach_libc(s, k->progs.pyc_cond_timedwait, 0, lc->off_timedwait,
			lc->ss_timedwait, GSB_HIT_COND_WAIT, "pthread_cond_timedwait", 0) ||
	    attach_libc(s, k->progs.pyc_cond_timedwait_ret, 1, lc->off_timedwait,
			lc->ss_timedwait, GSB_HIT_COND_WAIT_RET, "pthread_cond_timedwait", 0) ||
	    attach_libc(s, k->progs.pyc_cond_init, 0, lc->off_init, lc->ss_init,
			GSB_HIT_COND_INIT, "pthread_cond_init", 0) ||
	    attach_uprobes(s, k->progs.py3_save_thread, 0, GS_SYM_SAVE_THREAD,
			   GSB_HIT_SAVE, 0) ||
	    attach_thread_exit(s))
		return -1;
	if (full && attach_uprobes(s, k->progs.py_restore_thread, 0,
				   GS_SYM_RESTORE_THREAD, GSB_HIT_RESTORE, 0))
		return -1;
	return 0;
}

/* -p on a 3.12+ process, symbol-table probes: its GILs, numbered now (the
 * main interpreter's, in the file's data, is GIL 0) so that a thread
 * holding a subinterpreter's GIL at the attach is not counted under a new
 * GIL. Nothing found (a process still starting): numbered as taken. */
static void seed_keyed_gils(struct gs_session *s)
{
	struct gs_target *t = &s->target;
	struct gs_symfree_live lv;
	char msg[1024];
	uint64_t bias;
	if (gs_symfree_py3_live(s->pid, t->path, t->shown, t->py_minor, &lv, msg,
				sizeof(msg)) || !lv.ngils) {
		if (s->opts->verbose)
			fprintf(stderr, "%s: GILs numbered as they are taken (%s)\n",
				s->opts->prog, msg);
		return;
	}
	if (!gs_symfree_bias(s->pid, t->path, t->shown, &bias))
		for (int i = 1; i < lv.ngils; i++)
			if (lv.gil[i].cond - bias < (64ull << 20)) {
				struct gs_symfree_gil m = lv.gil[i];
				lv.gil[i] = lv.gil[0];
				lv.gil[0] = m;
			}
	int gfd = bpf_map__fd(s->skel->maps.gils);
	int cfd = bpf_map__fd(s->skel->maps.gil_count);
	for (int i = 0; i < lv.ngils; i++) {
		struct gsb_gil_key key = { .tgid = (__u32)s->pid,
					   .gil = lv.gil[i].cond - GS_GIL_OFF_COND };
		struct gsb_gil_state st = { .index = (__u32)i };
		bpf_map_update_elem(gfd, &key, &st, BPF_ANY);
		if (s->opts->verbose) {
			char where[4200];
			gil_where(s, key.gil, where, sizeof(where));
			fprintf(stderr, "%s: GIL %d at %s (%s)\n", s->opts->prog, i,
				where, lv.how);
		}
	}
	__u32 tgid = (__u32)s->pid, n = (__u32)lv.ngils;
	bpf_map_update_elem(cfd, &tgid, &n, BPF_ANY);
	s->skel->bss->gilkey_first = lv.gil[0].cond - GS_GIL_OFF_COND;
}

static int attach_all(struct gs_session *s)
{
	struct gilscope_bpf *k = s->skel;
	struct gs_target *t = &s->target;
	int full = s->opts->probes == GS_PROBES_FULL;

	switch (t->runtime) {
	case GSB_RT_LIBGIL:
		/* -- CMD with libgil as a shared library: the child has not
		 * mapped it yet (it waits before exec), yet the probes attach
		 * to it alone: with BPF cookies libbpf needs no address in the
		 * process, and the kernel inserts the probes and sets the
		 * semaphores when the child maps the library. Nothing ever
		 * stops the child, so the recorder's death cannot leave it
		 * stopped (tests/integration/record_sigkill.sh). */
		if (attach_usdt(s))
			return -1;
		break;
	case GSB_RT_CPYTHON3:
		if (t->symfree == GS_SYMFREE_GIL_PTHREAD) {
			if (attach_symfree(s))
				return -1;
			break;
		}
		if (s->gil_keyed && !s->child)
			seed_keyed_gils(s);
		if (attach_uprobes(s, k->progs.py3_take_gil, 0, GS_SYM_TAKE_GIL,
				   GSB_HIT_TAKE_ENTRY, 1) ||
		    attach_uprobes(s, k->progs.py3_take_gil_ret, 1, GS_SYM_TAKE_GIL,
				   GSB_HIT_TAKE_RET, 1) ||
		    attach_uprobes(s, k->progs.py3_drop_gil, 0, GS_SYM_DROP_GIL,
				   GSB_HIT_DROP, 1) ||
		    attach_uprobes(s, k->progs.py3_save_thread, 0,
				   GS_SYM_SAVE_THREAD, GSB_HIT_SAVE, 0) ||
		    attach_thread_exit(s))
			return -1;
		if (full && attach_uprobes(s, k->progs.py_restore_thread, 0,
					   GS_SYM_RESTORE_THREAD, GSB_HIT_RESTORE, 0))
			return -1;
		break;
	case GSB_RT_CPYTHON2:
		if (attach_py27_sites(s) || attach_thread_exit(s))
			return -1;
		if (full && attach_uprobes(s, k->progs.py_restore_thread, 0,
					   GS_SYM_RESTORE_THREAD, GSB_HIT_RESTORE, 0))
			return -1;
		break;
	}
	if (s->opts->sched) {
		struct bpf_program *ps[3] = {
			s->sched_raw_tp ? k->progs.raw_sched_switch : k->progs.tp_sched_switch,
			s->sched_raw_tp ? k->progs.raw_sched_wakeup : k->progs.tp_sched_wakeup,
			s->sched_raw_tp ? k->progs.raw_sched_wakeup_new
					: k->progs.tp_sched_wakeup_new,
		};
		for (int i = 0; i < 3; i++)
			if (add_link(s, bpf_program__attach(ps[i]),
				     bpf_program__name(ps[i]), 1))
				return -1;
	}
	/* thread renames as they happen (names are also re-read from /proc) */
	if (bpf_program__autoload(k->progs.tp_task_rename) &&
	    add_link(s, bpf_program__attach(k->progs.tp_task_rename),
		     "tp_btf/task_rename", 0))
		return -1;
	return 0;
}

int gs_session_start(struct gs_session *s, const struct gs_session_opts *o)
{
	char msg[2048];
	memset(s, 0, sizeof(*s));
	s->opts = o;
	s->child_gate = -1;
	libbpf_verbose = o->verbose;
	libbpf_set_print(libbpf_print);

	if (gs_session_check_environment(o))
		return 1;
	gs_reap_stale_probes(o->prog);

	if (o->cmd) {
		char exe[4096];
		int n = 0;
		for (char **a = o->cmd; *a; a++)
			n += snprintf(s->command + n, n < (int)sizeof(s->command)
				      ? sizeof(s->command) - (size_t)n : 0,
				      "%s%s", a == o->cmd ? "" : " ", *a);
		if (resolve_exe(o->cmd[0], exe, sizeof(exe))) {
			fprintf(stderr, "%s: %s: command not found\n", o->prog, o->cmd[0]);
			return 1;
		}
		if (start_child(s, o->cmd))
			return 1;
		int fr = gs_exec_follow(&s->follow, s->child_pid, s->child_gate,
					&s->target, o->verbose, o->prog, msg, sizeof(msg));
		if (fr == -2) {
			/* no ptrace here: CMD (or its #! interpreter) must be
			 * the GIL program itself; the child waits at the gate */
			if (o->verbose)
				fprintf(stderr, "%s: ptrace refused (%s): not following "
					"execs; probing %s\n", o->prog, strerror(errno), exe);
			if (gs_target_from_exe(exe, &s->target, msg, sizeof(msg))) {
				fprintf(stderr, "%s: %s\n", o->prog, msg);
				gs_session_end(s, 1);
				return 1;
			}
		} else {
			close(s->child_gate); /* used: the command has started */
			s->child_gate = -1;
			if (fr) {
				fprintf(stderr, "%s: %s\n", o->prog, msg);
				if (s->follow.child_exited) {
					s->child_exited = 1;
					s->child_status = s->follow.child_status;
				}
				gs_session_end(s, 1);
				return 1;
			}
			s->following = 1;
			s->pid = s->follow.target;
		}
	} else {
		char p[64];
		s->pid = o->pid;
		if (kill(o->pid, 0) && errno == ESRCH) {
			fprintf(stderr, "%s: PID %d: no such process\n", o->prog, (int)o->pid);
			return 1;
		}
		if (gs_target_from_pid(o->pid, &s->target, msg, sizeof(msg))) {
			fprintf(stderr, "%s: %s\n", o->prog, msg);
			return 1;
		}
		snprintf(p, sizeof(p), "/proc/%d/cmdline", (int)o->pid);
		FILE *f = fopen(p, "re");
		if (f) {
			size_t n = fread(s->command, 1, sizeof(s->command) - 1, f);
			for (size_t i = 0; i + 1 < n; i++)
				if (!s->command[i])
					s->command[i] = ' ';
			fclose(f);
		}
	}
	if (o->verbose && s->target.symfree == GS_SYMFREE_CALLER_CODE)
		fprintf(stderr, "%s: interpreter_lock at 0x%llx (read off "
				"PyEval_SaveThread's code)\n", o->prog,
			(unsigned long long)s->target.sym[GS_SYM_INTERPRETER_LOCK].vaddr[0]);
	if (o->verbose) {
		const struct gs_target *t = &s->target;
		fprintf(stderr, "%s: %s GIL in %s%s%s%s (symbols from %s%s%s%s)\n",
			o->prog, t->policy_name, t->shown,
			strcmp(t->shown, t->path) ? " (opened as " : "",
			strcmp(t->shown, t->path) ? t->path : "",
			strcmp(t->shown, t->path) ? ")" : "",
			t->info.symtab_from[0] ? t->info.symtab_from : "dynamic symbols",
			t->info.symtab_method ? ", " : "",
			t->info.symtab_method ? gs_placement_name((uint32_t)t->info.symtab_method)
					      : "",
			t->info.has_dwarf ? ", DWARF inline sites" : "");
		if (t->symfree)
			fprintf(stderr, "%s: GIL found %s\n", o->prog,
				gs_symfree_name(t->symfree));
	}

	int r = open_and_load(s, 0);
	if (r > 0) {
		gilscope_bpf__destroy(s->skel);
		s->skel = NULL;
		if (o->verbose)
			fprintf(stderr, "%s: tp_btf scheduler programs did not load; "
					"retrying with raw_tp\n", o->prog);
		r = open_and_load(s, 1);
	}
	if (r || attach_all(s)) {
		gs_session_end(s, 1);
		return 1;
	}
	/* a followed target is still at its exec stop: what it used before
	 * (a shim's bash) is not the program's */
	s->cpu_start_ok = !gs_proc_cpu_split_ns((uint32_t)s->pid, &s->user_start_ns,
						&s->sys_start_ns);
	return 0;
}

void gs_session_cpu_mark(struct gs_session *s)
{
	uint64_t user, sys;
	/* a process gone since keeps the last reading it had */
	if (s->cpu_start_ok && !gs_proc_cpu_split_ns((uint32_t)s->pid, &user, &sys)) {
		s->user_mark_ns = user;
		s->sys_mark_ns = sys;
		s->cpu_mark_ok = 1;
	}
}

static uint64_t timeval_ns(struct timeval tv)
{
	return (uint64_t)tv.tv_sec * 1000000000ull + (uint64_t)tv.tv_usec * 1000ull;
}

/* The target's system time from the attach to the stop, plus its user time
 * when with_user (gs_session_cpu_ns, gs_session_sys_ns). */
static int cpu_span_ns(const struct gs_session *s, int with_user, uint64_t *ns)
{
	uint64_t end;
	if (s->cpu_mark_ok)
		end = s->sys_mark_ns + (with_user ? s->user_mark_ns : 0);
	else if (s->child_usage_ok)
		end = timeval_ns(s->child_usage.ru_stime) +
		      (with_user ? timeval_ns(s->child_usage.ru_utime) : 0);
	else
		return -1;
	uint64_t start = !s->cpu_start_ok ? 0
			 : s->sys_start_ns + (with_user ? s->user_start_ns : 0);
	*ns = end > start ? end - start : 0;
	return 0;
}

int gs_session_sys_ns(const struct gs_session *s, uint64_t *ns)
{
	return cpu_span_ns(s, 0, ns);
}

int gs_session_cpu_ns(const struct gs_session *s, uint64_t *ns)
{
	return cpu_span_ns(s, 1, ns);
}

void gs_session_disarm(struct gs_session *s)
{
	if (s->skel)
		__atomic_store_n(&s->skel->bss->g_armed, 0, __ATOMIC_SEQ_CST);
}

int gs_session_end(struct gs_session *s, int kill_child)
{
	gs_session_disarm(s);
	/* Links first: the probes leave the target before anything else. */
	for (int i = s->nlinks - 1; i >= 0; i--)
		bpf_link__destroy(s->links[i]);
	s->nlinks = 0;
	if (s->skel) {
		gilscope_bpf__destroy(s->skel);
		s->skel = NULL;
	}
	free(s->sites);
	s->sites = NULL;
	s->nsites = 0;
	if (s->child_gate >= 0) {
		close(s->child_gate); /* a child still waiting exits 127 */
		s->child_gate = -1;
	}
	int code = 0;
	if (s->following)
		gs_exec_follow_release(&s->follow); /* never left stopped */
	if (s->child) {
		if (!s->child_exited && kill_child) {
			kill(s->child_pid, SIGTERM);
			if (s->pid != s->child_pid)
				kill(s->pid, SIGTERM); /* run by a wrapper */
		}
		if (!s->child_exited) {
			int st;
			if (wait4(s->child_pid, &st, 0, &s->child_usage) == s->child_pid) {
				s->child_usage_ok = 1;
				s->child_exited = 1;
				s->child_status = st;
			}
		}
		if (WIFEXITED(s->child_status))
			code = WEXITSTATUS(s->child_status);
		else if (WIFSIGNALED(s->child_status))
			code = 128 + WTERMSIG(s->child_status);
	}
	return code;
}
