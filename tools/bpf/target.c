/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "target.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <linux/types.h>

#include "gilscope_bpf.h"
#include "symfree.h"
#include "trace_format.h"

static const char *const sym_names[GS_SYM_MAX] = {
	[GS_SYM_TAKE_GIL] = "take_gil",
	[GS_SYM_DROP_GIL] = "drop_gil",
	[GS_SYM_SAVE_THREAD] = "PyEval_SaveThread",
	[GS_SYM_RESTORE_THREAD] = "PyEval_RestoreThread",
	[GS_SYM_ACQUIRE_LOCK] = "PyThread_acquire_lock",
	[GS_SYM_RELEASE_LOCK] = "PyThread_release_lock",
	[GS_SYM_INTERPRETER_LOCK] = "interpreter_lock",
	[GS_SYM_GIL_CREATE] = "gil_create",
	[GS_SYM_DELETE_CURRENT] = "PyThreadState_DeleteCurrent",
	[GS_SYM_DELETE_CURRENT_INTERNAL] = "_PyThreadState_DeleteCurrent",
	[GS_SYM_TSTATE_CLEAR] = "PyThreadState_Clear",
	[GS_SYM_INTERP_HEAD] = "interp_head",
};

const char *gs_sym_name(int sym)
{
	return sym >= 0 && sym < GS_SYM_MAX ? sym_names[sym] : "?";
}

#define MAX_CANDIDATES 64

struct candidates {
	char path[MAX_CANDIDATES][PATH_MAX];  /* as we open it */
	char shown[MAX_CANDIDATES][PATH_MAX]; /* as the process sees it */
	char root[64];                        /* "" or /proc/PID/root */
	int n;
};

static void add_candidate_as(struct candidates *c, const char *path,
			     const char *shown)
{
	for (int i = 0; i < c->n; i++)
		if (!strcmp(c->shown[i], shown))
			return;
	if (c->n < MAX_CANDIDATES) {
		snprintf(c->path[c->n], PATH_MAX, "%s", path);
		snprintf(c->shown[c->n++], PATH_MAX, "%s", shown);
	}
}

/* Inline copies matter for what is probed at entry only; take_gil's are
 * collected to be reported (its return cannot be probed in a copy). */
static const int want_inline[GS_SYM_MAX] = {
	[GS_SYM_TAKE_GIL] = 1,
	[GS_SYM_DROP_GIL] = 1,
	[GS_SYM_SAVE_THREAD] = 1,
	[GS_SYM_RESTORE_THREAD] = 1,
};

/* python3.11, libpython3.11.so.1.0, libpython3.6m.so, python2.7 */
static int python_version(const char *path, int *major, int *minor)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	const char *p = strstr(base, "python");
	if (!p)
		return 0;
	p += 6;
	if (p[0] < '2' || p[0] > '3' || p[1] != '.' || p[2] < '0' || p[2] > '9')
		return 0;
	*major = p[0] - '0';
	*minor = atoi(p + 2);
	return 1;
}

static int looks_like_python(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return strstr(base, "python") != NULL;
}

/* libc.so.6, libc-2.31.so */
static int looks_like_libc(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return !strncmp(base, "libc.so", 7) || !strncmp(base, "libc-", 5);
}

static int looks_like_libgil(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	return !strncmp(base, "libgil", 6);
}

/* Tries one file; 1 when it holds a GIL we can probe, 0 when not, -1 when it
 * is a CPython whose GIL functions cannot be found (msg says why). */
static int try_file(const char *path, const char *shown, const char *root,
		    struct gs_target *t, char *msg, size_t msglen)
{
	static struct gs_elf_sym sym[GS_SYM_MAX];
	static struct gs_elf_info info;
	char err[512];

	/* 2.7 has no inlined GIL functions we probe; 3.x has */
	if (gs_elf_lookup_in(path, root, sym_names,
			     looks_like_python(shown) ? want_inline : NULL,
			     GS_SYM_MAX, sym, &info, err, sizeof(err)))
		return 0;
	int is_py = looks_like_python(shown);
	int rt = 0;
	if (sym[GS_SYM_TAKE_GIL].found && sym[GS_SYM_DROP_GIL].found)
		rt = GSB_RT_CPYTHON3;
	else if (sym[GS_SYM_INTERPRETER_LOCK].found &&
		 sym[GS_SYM_ACQUIRE_LOCK].found && sym[GS_SYM_RELEASE_LOCK].found)
		rt = GSB_RT_CPYTHON2;
	else if (info.has_gil_usdt)
		rt = GSB_RT_LIBGIL;
	int symfree = GS_SYMFREE_NONE;
	int maj = 0, min = 0;
	python_version(shown, &maj, &min);
	if (!rt && is_py && sym[GS_SYM_SAVE_THREAD].found) {
		/* stripped: find the GIL without symbols (docs/symbol-free.md) */
		if (maj == 3 && gs_symfree_free_threaded(path, shown)) {
			snprintf(msg, msglen,
				 "%s is a free-threaded CPython (built with "
				 "Py_GIL_DISABLED): its threads run without a GIL, so "
				 "there is no GIL to trace",
				 shown);
			return -1;
		}
		if (maj == 3 && min >= 6 && min <= 13) {
			rt = GSB_RT_CPYTHON3;
			symfree = GS_SYMFREE_GIL_PTHREAD;
		} else if (maj == 2 && min == 7 && sym[GS_SYM_ACQUIRE_LOCK].found &&
			   sym[GS_SYM_RELEASE_LOCK].found) {
			char why[512];
			uint64_t lock;
			if (gs_symfree_py27_lock(path, &lock, why, sizeof(why))) {
				snprintf(msg, msglen, "%s", why);
				return -1;
			}
			sym[GS_SYM_INTERPRETER_LOCK].found = 1;
			sym[GS_SYM_INTERPRETER_LOCK].vaddr[0] = lock;
			sym[GS_SYM_INTERPRETER_LOCK].method[0] = GS_PLACE_SYMBOL_FREE;
			rt = GSB_RT_CPYTHON2;
			symfree = GS_SYMFREE_CALLER_CODE;
		}
	}
	/* with symbols too: 3.13t keeps take_gil/drop_gil (the GIL can be
	 * switched back on), but by default they return at once */
	if (rt == GSB_RT_CPYTHON3 && is_py && maj == 3 && min >= 13 &&
	    gs_symfree_free_threaded(path, shown)) {
		snprintf(msg, msglen,
			 "%s is a free-threaded CPython (built with Py_GIL_DISABLED): "
			 "its threads run without a GIL, so there is no GIL to trace "
			 "(one switched on with PYTHON_GIL=1 is not traced either)",
			 shown);
		return -1;
	}
	if (!rt) {
		if (is_py && sym[GS_SYM_SAVE_THREAD].found) {
			snprintf(msg, msglen,
				 "%s is CPython%s%.0d%s%.0d but its GIL functions (%s) are not in "
				 "its symbol table%s: this build is stripped, and the "
				 "symbol-free method knows CPython 2.7 and 3.6-3.13 only "
				 "(by the file name's version). Install its debug "
				 "symbols for the installed version (Debian: python%d.%d-dbg, "
				 "read from /usr/lib/debug/.build-id/), point DEBUGINFOD_URLS "
				 "at a debuginfod server that has them, or use an unstripped "
				 "build (pyenv builds keep .symtab). Looked in: %s",
				 shown, maj ? " " : "", maj, maj ? "." : "", min,
				 maj == 2 ? "interpreter_lock" : "take_gil/drop_gil",
				 info.has_symtab ? "" : " (no .symtab)",
				 maj ? maj : 3, maj ? min : 11,
				 info.debug_tried[0] ? info.debug_tried : "nowhere");
			return -1;
		}
		return 0;
	}
	/* 2.7: probed where ceval.c calls the lock functions, never between
	 * the eval loop's release and its re-take (docs/probe-placement.md) */
	static struct gs_py27_sites py27;
	if (rt == GSB_RT_CPYTHON2 && gs_py27_gil_sites(path, &py27, msg, msglen))
		return -1;
	memset(t, 0, sizeof(*t));
	if (rt == GSB_RT_CPYTHON2)
		t->py27 = py27;
	t->runtime = rt;
	t->symfree = symfree;
	snprintf(t->path, sizeof(t->path), "%s", path);
	snprintf(t->shown, sizeof(t->shown), "%s", shown);
	memcpy(t->sym, sym, sizeof(sym));
	t->info = info;
	if (rt == GSB_RT_LIBGIL) {
		snprintf(t->policy_name, sizeof(t->policy_name), "libgil");
	} else {
		if (!python_version(shown, &t->py_major, &t->py_minor)) {
			t->py_major = rt == GSB_RT_CPYTHON2 ? 2 : 3;
			t->py_minor = -1;
		}
		if (t->py_minor >= 0)
			snprintf(t->policy_name, sizeof(t->policy_name), "cpython-%d.%d",
				 t->py_major, t->py_minor);
		else
			snprintf(t->policy_name, sizeof(t->policy_name), "cpython-%d",
				 t->py_major);
	}
	return 1;
}

static int pick(struct candidates *c, struct gs_target *t, const char *what,
		char *msg, size_t msglen)
{
	char stripped[1024] = "";
	/* CPython first: a Python process that also maps libgil is a Python. */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < c->n; i++) {
			const char *p = c->shown[i];
			int want = pass == 0 ? looks_like_python(p) : !looks_like_python(p);
			if (!want)
				continue;
			int r = try_file(c->path[i], p, c->root, t,
					 stripped[0] ? msg : stripped,
					 stripped[0] ? msglen : sizeof(stripped));
			if (r > 0)
				return 0;
		}
	}
	if (stripped[0]) {
		snprintf(msg, msglen, "%s", stripped);
		return -EPROTO; /* a CPython, but its GIL is not found */
	}
	snprintf(msg, msglen,
		 "%s: no GIL found (looked for libgil's gil:* USDT probes, CPython "
		 "3.x take_gil/drop_gil and CPython 2.7 interpreter_lock in %d "
		 "file%s: the program and its libpython/libgil)",
		 what, c->n, c->n == 1 ? "" : "s");
	return -ENOENT;
}

/* A path to a file a process has mapped that opens the same file from our
 * mount namespace: its own path when that is the same inode, else through
 * the process's root, else the mapping itself (map_files: also a file since
 * deleted or replaced on disk). */
void gs_proc_file_path(pid_t pid, const char *path, const char *range,
		       unsigned long long ino, char *out, size_t outlen)
{
	struct stat st;
	if (!stat(path, &st) && (unsigned long long)st.st_ino == ino) {
		snprintf(out, outlen, "%s", path);
		return;
	}
	snprintf(out, outlen, "/proc/%d/root%s", (int)pid, path);
	if (!stat(out, &st) && (unsigned long long)st.st_ino == ino)
		return;
	snprintf(out, outlen, "/proc/%d/map_files/%s", (int)pid, range);
}

int gs_target_from_pid(pid_t pid, struct gs_target *t, char *msg, size_t msglen)
{
	char p[64], exe[PATH_MAX], line[PATH_MAX + 256], libc[PATH_MAX] = "";
	struct candidates *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;

	snprintf(p, sizeof(p), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(p, exe, sizeof(exe) - 1);
	if (n < 0) {
		int err = errno;
		snprintf(msg, msglen, "PID %d: %s", (int)pid,
			 err == ENOENT ? "no such process" : strerror(err));
		free(c);
		return -(err == ENOENT ? ESRCH : err);
	}
	exe[n] = 0;
	snprintf(c->root, sizeof(c->root), "/proc/%d/root", (int)pid);

	snprintf(p, sizeof(p), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(p, "re");
	if (!f) {
		int err = errno;
		snprintf(msg, msglen, "%s: %s", p, strerror(err));
		free(c);
		return -err;
	}
	/* the program first, then its libraries in load order */
	for (int pass = 0; pass < 2; pass++) {
		rewind(f);
		while (fgets(line, sizeof(line), f)) {
			char range[64];
			unsigned long long ino;
			unsigned maj, min;
			char *path = strchr(line, '/');
			if (!path || sscanf(line, "%63s %*s %*s %x:%x %llu", range, &maj,
					    &min, &ino) != 4)
				continue;
			path[strcspn(path, "\n")] = 0;
			if (pass == 1 && looks_like_libc(path))
				gs_proc_file_path(pid, path, range, ino, libc,
						  sizeof(libc));
			if (pass == 0 ? strcmp(path, exe)
				      : !(looks_like_python(path) || looks_like_libgil(path)))
				continue;
			char access_path[PATH_MAX];
			gs_proc_file_path(pid, path, range, ino, access_path,
					  sizeof(access_path));
			add_candidate_as(c, access_path, path);
		}
	}
	fclose(f);
	char what[PATH_MAX + 64];
	snprintf(what, sizeof(what), "PID %d (%s)", (int)pid, exe);
	int r = pick(c, t, what, msg, msglen);
	if (!r)
		snprintf(t->libc, sizeof(t->libc), "%s", libc);
	free(c);
	return r;
}

int gs_which(const char *cmd, char *out, size_t outlen)
{
	if (strchr(cmd, '/')) {
		if (access(cmd, X_OK))
			return -errno;
		snprintf(out, outlen, "%s", cmd);
		return 0;
	}
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	char *dup = strdup(path), *save = NULL;
	if (!dup)
		return -ENOMEM;
	for (char *d = strtok_r(dup, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char p[PATH_MAX];
		struct stat st;
		snprintf(p, sizeof(p), "%s/%s", *d ? d : ".", cmd);
		if (!stat(p, &st) && S_ISREG(st.st_mode) && !access(p, X_OK)) {
			snprintf(out, outlen, "%s", p);
			free(dup);
			return 0;
		}
	}
	free(dup);
	return -ENOENT;
}

/* Length of the "/proc/N/root" in front of path (a program seen through
 * another process's root), or 0. */
static size_t proc_root_len(const char *path)
{
	int pid, len = 0;
	if (sscanf(path, "/proc/%d/root%n", &pid, &len) == 1 && len > 0 &&
	    path[len] == '/')
		return (size_t)len;
	return 0;
}

/* "/a/bin/../lib/x" -> "/a/lib/x", without following links (inside
 * another root, realpath() would leave it). */
static void collapse_dotdot(char *p)
{
	char *d;
	while ((d = strstr(p, "/../"))) {
		char *prev = d;
		while (prev > p && *--prev != '/')
			;
		memmove(prev, d + 3, strlen(d + 3) + 1);
	}
}

/* Asks the program's own dynamic loader which libraries it would map
 * (what ldd does), so RUNPATH, LD_LIBRARY_PATH and ld.so.cache all count.
 * A program under /proc/N/root (exec'd in another mount namespace) is
 * asked inside that root, whose libraries and cache are its own. */
static void loader_list(const char *exe, struct candidates *c, char *libc,
			size_t libclen)
{
	char cmd[PATH_MAX * 3 + 64], interp[PATH_MAX] = "/lib64/ld-linux-x86-64.so.2";
	char root[64] = "";
	FILE *f;
	size_t rlen = proc_root_len(exe);
	if (rlen && rlen < sizeof(root))
		snprintf(root, sizeof(root), "%.*s", (int)rlen, exe);
	else
		rlen = 0;

	/* PT_INTERP: the loader the kernel would run */
	int fd = open(exe, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && elf_version(EV_CURRENT) != EV_NONE) {
		Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
		size_t n = 0;
		if (e && !elf_getphdrnum(e, &n)) {
			for (size_t i = 0; i < n; i++) {
				GElf_Phdr ph;
				if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_INTERP &&
				    ph.p_filesz < sizeof(interp)) {
					ssize_t r = pread(fd, interp, ph.p_filesz, (off_t)ph.p_offset);
					interp[r > 0 ? (size_t)r : 0] = 0;
				}
			}
		}
		if (e)
			elf_end(e);
	}
	if (fd >= 0)
		close(fd);
	if (strchr(exe, '\'') || strchr(interp, '\''))
		return;
	if (rlen)
		snprintf(cmd, sizeof(cmd), "chroot '%s' '%s' --list '%s' 2>/dev/null",
			 root, interp, exe + rlen);
	else
		snprintf(cmd, sizeof(cmd), "'%s' --list '%s' 2>/dev/null", interp, exe);
	if (!(f = popen(cmd, "re")))
		return;
	char line[PATH_MAX + 64];
	while (fgets(line, sizeof(line), f)) {
		char *arrow = strstr(line, "=> ");
		if (!arrow)
			continue;
		char *p = arrow + 3;
		p[strcspn(p, " (\n")] = 0;
		char real[PATH_MAX], opened[PATH_MAX];
		if (*p != '/')
			continue;
		/* as /proc/PID/maps will name it ($ORIGIN/../lib/...) */
		if (rlen)
			collapse_dotdot(p);
		else if (realpath(p, real))
			p = real;
		if (snprintf(opened, sizeof(opened), "%s%s", root, p) >= (int)sizeof(opened))
			continue;
		if (looks_like_python(p) || looks_like_libgil(p))
			add_candidate_as(c, opened, p);
		if (looks_like_libc(p))
			snprintf(libc, libclen, "%s", opened);
	}
	pclose(f);
}

int gs_target_from_exe(const char *exe, struct gs_target *t, char *msg,
		       size_t msglen)
{
	char real[PATH_MAX];
	struct candidates *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	size_t rlen = proc_root_len(exe);
	/* realpath() would leave another process's root */
	if (rlen || !realpath(exe, real))
		snprintf(real, sizeof(real), "%s", exe);
	char libc[PATH_MAX] = "";
	add_candidate_as(c, real, real + rlen);
	loader_list(real, c, libc, sizeof(libc));
	int r = pick(c, t, real, msg, msglen);
	if (!r)
		snprintf(t->libc, sizeof(t->libc), "%s", libc);
	free(c);
	return r;
}
