/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "symfree.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <capstone/capstone.h>
#include <gelf.h>
#include <libelf.h>

#include <linux/types.h>

#include "elfsym.h"
#include "gilscope_bpf.h"
#include "trace_format.h"

struct elf_file {
	int fd;
	Elf *e;
};

static int elf_open(const char *path, struct elf_file *f)
{
	f->e = NULL;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return -errno;
	if (elf_version(EV_CURRENT) == EV_NONE ||
	    !(f->e = elf_begin(f->fd, ELF_C_READ_MMAP, NULL)) ||
	    elf_kind(f->e) != ELF_K_ELF) {
		if (f->e)
			elf_end(f->e);
		close(f->fd);
		return -ENOEXEC;
	}
	return 0;
}

static void elf_close(struct elf_file *f)
{
	if (f->e)
		elf_end(f->e);
	if (f->fd >= 0)
		close(f->fd);
}

static Elf_Scn *section_of_type(Elf *e, GElf_Word type, GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(e, scn)))
		if (gelf_getshdr(scn, sh) && sh->sh_type == type)
			return scn;
	return NULL;
}

/* A defined .dynsym symbol by name, its default version when the file has
 * several (libc: pthread_cond_signal@GLIBC_2.2.5 is the old ABI). */
static int dynsym_find(Elf *e, const char *name, GElf_Sym *out)
{
	GElf_Shdr sh, vsh;
	Elf_Scn *scn = section_of_type(e, SHT_DYNSYM, &sh);
	Elf_Scn *vscn = section_of_type(e, SHT_GNU_versym, &vsh);
	if (!scn)
		return -1;
	Elf_Data *d = elf_getdata(scn, NULL);
	Elf_Data *vd = vscn ? elf_getdata(vscn, NULL) : NULL;
	size_t n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
	int found = 0;
	for (size_t i = 0; d && i < n; i++) {
		GElf_Sym s;
		if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF || !s.st_value)
			continue;
		const char *nm = elf_strptr(e, sh.sh_link, s.st_name);
		if (!nm || strcmp(nm, name))
			continue;
		GElf_Versym v = 0;
		int hidden = vd && gelf_getversym(vd, (int)i, &v) && (v & 0x8000);
		if (!found || !hidden) {
			*out = s;
			found = 1;
			if (!hidden)
				return 0;
		}
	}
	return found ? 0 : -1;
}

static int func_offset(struct elf_file *f, const char *name, uint64_t *off, int *ss)
{
	GElf_Sym s;
	unsigned char b[8] = { 0 };
	if (dynsym_find(f->e, name, &s) ||
	    gs_elf_vaddr_to_offset(f->e, s.st_value, off, NULL))
		return -1;
	ssize_t n = pread(f->fd, b, sizeof(b), (off_t)*off);
	*ss = !gs_insn_emulated(b, n > 0 ? (size_t)n : 0);
	return 0;
}

/* The executable PT_LOAD holding file offset off, as its bytes before off
 * << GSB_LIBC_TEXT_BEFORE_SHIFT | its bytes from off to its end; 0 when
 * none holds it. Mapped in one piece, so the same distances hold at run
 * time around the probe's address. */
static uint64_t text_around(struct elf_file *f, uint64_t off)
{
	size_t n = 0;
	if (elf_getphdrnum(f->e, &n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(f->e, (int)i, &ph) && ph.p_type == PT_LOAD &&
		    (ph.p_flags & PF_X) && off >= ph.p_offset &&
		    off < ph.p_offset + ph.p_filesz && ph.p_filesz < (1ull << 32))
			return (off - ph.p_offset) << GSB_LIBC_TEXT_BEFORE_SHIFT |
			       (ph.p_offset + ph.p_filesz - off);
	}
	return 0;
}

int gs_symfree_libc(const char *libc, struct gs_symfree_libc *out, char *msg,
		    size_t msglen)
{
	struct elf_file f;
	int err = elf_open(libc, &f);
	memset(out, 0, sizeof(*out));
	if (err) {
		snprintf(msg, msglen, "%s: %s", libc, strerror(-err));
		return err;
	}
	snprintf(out->path, sizeof(out->path), "%s", libc);
	const char *miss = NULL;
	if (func_offset(&f, "pthread_cond_signal", &out->off_signal, &out->ss_signal))
		miss = "pthread_cond_signal";
	else if (func_offset(&f, "pthread_cond_timedwait", &out->off_timedwait,
			     &out->ss_timedwait))
		miss = "pthread_cond_timedwait";
	else if (func_offset(&f, "pthread_cond_init", &out->off_init, &out->ss_init))
		miss = "pthread_cond_init";
	else
		out->signal_cookie = text_around(&f, out->off_signal);
	elf_close(&f);
	if (miss) {
		snprintf(msg, msglen, "%s: no %s in its dynamic symbols (glibc expected)",
			 libc, miss);
		return -ENOENT;
	}
	return 0;
}

uint64_t gs_symfree_cond_distance(int minor)
{
	return minor >= 7 ? GS_GIL_OFF_SWITCH_COND - GS_GIL_OFF_COND : 0;
}

/* Up to len bytes of the initial image of link-time address vaddr. */
static ssize_t read_file_vaddr(struct elf_file *f, uint64_t vaddr, void *buf, size_t len)
{
	uint64_t off, avail;
	if (gs_elf_vaddr_to_offset(f->e, vaddr, &off, &avail))
		return -1;
	return pread(f->fd, buf, len < avail ? len : (size_t)avail, (off_t)off);
}

/* The first len bytes of _Py_DebugOffsets (3.13+) as _PyRuntime's initial
 * image has them: 0, or -1 when the file has none. */
static int debug_offsets(const char *pyfile, unsigned char *buf, size_t len)
{
	struct elf_file f;
	GElf_Sym s;
	int r = -1;
	if (elf_open(pyfile, &f))
		return -1;
	if (!dynsym_find(f.e, "_PyRuntime", &s) &&
	    read_file_vaddr(&f, s.st_value, buf, len) == (ssize_t)len &&
	    !memcmp(buf, "xdebugpy", 8))
		r = 0;
	elf_close(&f);
	return r;
}

int gs_symfree_free_threaded(const char *pyfile, const char *name)
{
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	const char *p = strstr(base, "python3.");
	if (p) {
		p += 8;
		while (*p >= '0' && *p <= '9')
			p++;
		if (*p == 't')
			return 1;       /* python3.13t, libpython3.13t.so */
	}
	unsigned char hdr[24];
	uint64_t v;
	if (debug_offsets(pyfile, hdr, sizeof(hdr)))
		return 0;
	memcpy(&v, hdr + 16, 8);
	return v == 1;
}

uint64_t gs_symfree_tstate_native_tid_off(const char *pyfile)
{
	unsigned char d[0xd0];
	uint64_t off = 0;
	if (!debug_offsets(pyfile, d, sizeof(d)))
		memcpy(&off, d + 0xc8, 8);
	return off < 4096 ? off : 0;
}

static int read_mem(int memfd, uint64_t addr, void *buf, size_t len)
{
	return pread(memfd, buf, len, (off_t)addr) == (ssize_t)len ? 0 : -1;
}

static uint64_t rd64(int memfd, uint64_t addr, int *ok)
{
	uint64_t v = 0;
	if (read_mem(memfd, addr, &v, sizeof(v)))
		*ok = 0;
	return v;
}

static int check_gil_fd(int memfd, uint64_t base, struct gs_symfree_gil *g)
{
	unsigned char b[GS_GIL_SIZE];
	uint64_t interval;
	int32_t locked, kind1, kind2, count1, count2;
	if (read_mem(memfd, base, b, sizeof(b)))
		return 0;
	memcpy(&interval, b + GS_GIL_OFF_INTERVAL, 8);
	memcpy(&locked, b + GS_GIL_OFF_LOCKED, 4);
	/* glibc pthread_mutex_t: __lock, __count, __owner, __nusers, __kind */
	memcpy(&count1, b + GS_GIL_OFF_MUTEX + 4, 4);
	memcpy(&kind1, b + GS_GIL_OFF_MUTEX + 16, 4);
	memcpy(&count2, b + GS_GIL_OFF_SWITCH_MUTEX + 4, 4);
	memcpy(&kind2, b + GS_GIL_OFF_SWITCH_MUTEX + 16, 4);
	if (interval < 1 || interval > 1000000000ull || (locked != 0 && locked != 1) ||
	    kind1 != 0 || kind2 != 0 || count1 != 0 || count2 != 0)
		return 0;
	g->cond = base + GS_GIL_OFF_COND;
	g->switch_cond = base + GS_GIL_OFF_SWITCH_COND;
	g->interval_us = interval;
	g->locked = locked;
	return 1;
}

int gs_symfree_check_gil(pid_t pid, uint64_t base, struct gs_symfree_gil *g)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/mem", (int)pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	int ok = check_gil_fd(fd, base, g);
	close(fd);
	return ok;
}

/* Load bias of pyfile in pid: where its first PT_LOAD was mapped minus its
 * link-time address (0 for a non-PIE executable). */
static int load_bias(pid_t pid, const char *name, Elf *e, uint64_t *bias)
{
	char p[64], line[4096 + 256];
	uint64_t first = UINT64_MAX;
	size_t n;
	if (elf_getphdrnum(e, &n))
		return -1;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD &&
		    ph.p_vaddr - ph.p_offset < first)
			first = ph.p_vaddr - ph.p_offset;
	}
	snprintf(p, sizeof(p), "/proc/%d/maps", (int)pid);
	FILE *f = fopen(p, "re");
	if (!f)
		return -1;
	int found = -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, off;
		char *path = strchr(line, '/');
		if (!path || sscanf(line, "%llx-%*[0-9a-f] %*s %llx", &start, &off) != 2)
			continue;
		path[strcspn(path, "\n")] = 0;
		if (strcmp(path, name) || off != 0)
			continue;
		*bias = start - first;
		found = 0;
		break;
	}
	fclose(f);
	return found;
}

int gs_symfree_bias(pid_t pid, const char *pyfile, const char *name, uint64_t *bias)
{
	struct elf_file f;
	if (elf_open(pyfile, &f))
		return -1;
	int r = load_bias(pid, name, f.e, bias);
	elf_close(&f);
	return r;
}

static void add_gil(struct gs_symfree_live *out, const struct gs_symfree_gil *g)
{
	for (int i = 0; i < out->ngils; i++)
		if (out->gil[i].cond == g->cond)
			return;
	if (out->ngils < GS_SYMFREE_MAX_GILS)
		out->gil[out->ngils++] = *g;
}

/* _PyRuntime.ceval.gil, 3.7-3.11, measured on the pyenv builds (and checked
 * against their DWARF by the tests); every hit is checked in the process. */
static const uint32_t runtime_gil_off[12] = {
	[7] = 1264, [8] = 1152, [9] = 352, [10] = 352, [11] = 360,
};

/* Interpreter list walk, 3.12+: head, next and the ceval.gil pointer. */
static void walk_interpreters(int memfd, uint64_t head, uint64_t off_next,
			      uint64_t off_gil, struct gs_symfree_live *out)
{
	uint64_t interp = head;
	for (int i = 0; interp && i < 64; i++) {
		int ok = 1;
		uint64_t gil = rd64(memfd, interp + off_gil, &ok);
		struct gs_symfree_gil g;
		if (ok && gil && check_gil_fd(memfd, gil, &g))
			add_gil(out, &g);
		interp = rd64(memfd, interp + off_next, &ok);
		if (!ok)
			break;
	}
}

/* pyfile opened, with its defined .dynsym symbol sym: 0, or -errno with
 * msg saying why (f is closed then). */
static int elf_open_sym(const char *pyfile, const char *sym, struct elf_file *f,
			GElf_Sym *s, char *msg, size_t msglen)
{
	int err = elf_open(pyfile, f);
	if (err) {
		snprintf(msg, msglen, "%s: %s", pyfile, strerror(-err));
		return err;
	}
	if (dynsym_find(f->e, sym, s)) {
		snprintf(msg, msglen, "%s: no %s in its dynamic symbols", pyfile, sym);
		elf_close(f);
		return -ENOENT;
	}
	return 0;
}

/* /proc/PID/mem opened for reading: an fd, or -errno with msg. */
static int proc_mem(pid_t pid, char *msg, size_t msglen)
{
	char p[64];
	snprintf(p, sizeof(p), "/proc/%d/mem", (int)pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int err = -errno;
		snprintf(msg, msglen, "%s: %s", p, strerror(errno));
		return err;
	}
	return fd;
}

/* ---- 3.6: the GIL's statics read off drop_gil's code ---------------------
 * 3.6 has no _PyRuntime: its GIL is a set of statics of ceval_gil.h
 * (gil_locked, gil_mutex, gil_cond, switch_mutex, switch_cond) that no
 * exported symbol points at. The exported PyEval_SaveThread calls the static
 * drop_gil (or has it inlined), and drop_gil passes each of them to libc:
 *     if (!gil_locked) Py_FatalError(...);      first 4-byte RIP load
 *     MUTEX_LOCK(gil_mutex);                     pthread_mutex_lock(&gil_mutex)
 *     COND_SIGNAL(gil_cond);                     pthread_cond_signal(&gil_cond)
 *     ... MUTEX_LOCK(switch_mutex);              pthread_mutex_lock(&switch_mutex)
 *     COND_WAIT(switch_cond, switch_mutex);      pthread_cond_wait(&switch_cond)
 * so the addresses are the %rdi each of those calls gets, followed through
 * `lea X(%rip)` and register copies. A function ends, at the latest, where
 * the next one .eh_frame_hdr lists begins (strip keeps it: unwinding needs
 * it). */

/* The 64-bit register (0-15) a capstone register is part of, or -1. */
static int gpr64(unsigned r)
{
	static const unsigned g[16][5] = {
		{ X86_REG_RAX, X86_REG_EAX, X86_REG_AX, X86_REG_AL, X86_REG_AH },
		{ X86_REG_RCX, X86_REG_ECX, X86_REG_CX, X86_REG_CL, X86_REG_CH },
		{ X86_REG_RDX, X86_REG_EDX, X86_REG_DX, X86_REG_DL, X86_REG_DH },
		{ X86_REG_RBX, X86_REG_EBX, X86_REG_BX, X86_REG_BL, X86_REG_BH },
		{ X86_REG_RSP, X86_REG_ESP, X86_REG_SP, X86_REG_SPL, 0 },
		{ X86_REG_RBP, X86_REG_EBP, X86_REG_BP, X86_REG_BPL, 0 },
		{ X86_REG_RSI, X86_REG_ESI, X86_REG_SI, X86_REG_SIL, 0 },
		{ X86_REG_RDI, X86_REG_EDI, X86_REG_DI, X86_REG_DIL, 0 },
		{ X86_REG_R8, X86_REG_R8D, X86_REG_R8W, X86_REG_R8B, 0 },
		{ X86_REG_R9, X86_REG_R9D, X86_REG_R9W, X86_REG_R9B, 0 },
		{ X86_REG_R10, X86_REG_R10D, X86_REG_R10W, X86_REG_R10B, 0 },
		{ X86_REG_R11, X86_REG_R11D, X86_REG_R11W, X86_REG_R11B, 0 },
		{ X86_REG_R12, X86_REG_R12D, X86_REG_R12W, X86_REG_R12B, 0 },
		{ X86_REG_R13, X86_REG_R13D, X86_REG_R13W, X86_REG_R13B, 0 },
		{ X86_REG_R14, X86_REG_R14D, X86_REG_R14W, X86_REG_R14B, 0 },
		{ X86_REG_R15, X86_REG_R15D, X86_REG_R15W, X86_REG_R15B, 0 },
	};
	for (int i = 0; r && i < 16; i++)
		for (int j = 0; j < 5; j++)
			if (g[i][j] == r)
				return i;
	return -1;
}
enum { GPR_RAX = 0, GPR_RCX, GPR_RDX, GPR_RBX, GPR_RSP, GPR_RBP, GPR_RSI, GPR_RDI,
       GPR_R8, GPR_R9, GPR_R10, GPR_R11 };

/* The symbol a relocation of GOT slot `slot` names (.rela.plt or .rela.dyn). */
static const char *got_symbol(Elf *e, uint64_t slot)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	while ((scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		Elf_Scn *symscn = elf_getscn(e, sh.sh_link);
		GElf_Shdr ssh;
		if (!d || !symscn || !gelf_getshdr(symscn, &ssh))
			continue;
		Elf_Data *sd = elf_getdata(symscn, NULL);
		for (size_t i = 0; sd && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Rela r;
			GElf_Sym sym;
			if (!gelf_getrela(d, (int)i, &r) || r.r_offset != slot ||
			    !gelf_getsym(sd, (int)GELF_R_SYM(r.r_info), &sym))
				continue;
			return elf_strptr(e, ssh.sh_link, sym.st_name);
		}
	}
	return NULL;
}

/* RIP-relative memory operand of insn: the address it refers to, or 0. */
static uint64_t rip_target(const cs_insn *insn, const cs_x86_op *op)
{
	if (op->type != X86_OP_MEM || op->mem.base != X86_REG_RIP ||
	    op->mem.index != X86_REG_INVALID)
		return 0;
	return insn->address + insn->size + (uint64_t)op->mem.disp;
}

/* The library function a call to `target` reaches through the PLT
 * (`[endbr64;] [bnd] jmp *slot(%rip)`), or NULL for a local function. */
static const char *plt_symbol(struct elf_file *f, csh h, uint64_t target)
{
	unsigned char code[16];
	ssize_t n = read_file_vaddr(f, target, code, sizeof(code));
	const char *name = NULL;
	size_t skip = 0;
	if (n < 6)
		return NULL;
	if (n >= 4 && !memcmp(code, "\xf3\x0f\x1e\xfa", 4))
		skip = 4;
	cs_insn *insn = NULL;
	size_t count = cs_disasm(h, code + skip, (size_t)n - skip, target + skip, 1, &insn);
	if (count == 1 && insn[0].id == X86_INS_JMP &&
	    insn[0].detail->x86.op_count == 1) {
		uint64_t slot = rip_target(&insn[0], &insn[0].detail->x86.operands[0]);
		if (slot)
			name = got_symbol(f->e, slot);
	}
	if (count)
		cs_free(insn, count);
	return name;
}

struct gil_calls {
	uint64_t locked;        /* first 4-byte RIP-relative load */
	uint64_t lock[2];       /* pthread_mutex_lock's first two arguments */
	int nlock;
	uint64_t signal, wait;  /* pthread_cond_signal's, pthread_cond_(timed)wait's */
	uint64_t local[8];      /* direct calls of functions of the file */
	int nlocal;
};

/* The first function start after vaddr in the search table of
 * .eh_frame_hdr (PT_GNU_EH_FRAME), or 0. */
static uint64_t next_function(struct elf_file *f, uint64_t vaddr)
{
	size_t n;
	GElf_Phdr ph;
	if (elf_getphdrnum(f->e, &n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (!gelf_getphdr(f->e, (int)i, &ph) || ph.p_type != PT_GNU_EH_FRAME)
			continue;
		unsigned char hdr[12];
		if (ph.p_filesz < sizeof(hdr) ||
		    pread(f->fd, hdr, sizeof(hdr), (off_t)ph.p_offset) != (ssize_t)sizeof(hdr))
			return 0;
		/* version 1; eh_frame_ptr 4 bytes; fde_count udata4; table of
		 * (initial location, FDE) pairs, datarel sdata4: what GNU ld writes */
		uint32_t count;
		memcpy(&count, hdr + 8, 4);
		if (hdr[0] != 1 || (hdr[1] & 0x0f) % 8 != 3 || hdr[2] != 0x03 ||
		    hdr[3] != 0x3b || 12 + (uint64_t)count * 8 > ph.p_filesz)
			return 0;
		uint64_t best = 0;
		for (uint32_t k = 0; k < count; k++) {
			int32_t loc;
			if (pread(f->fd, &loc, 4, (off_t)(ph.p_offset + 12 + (uint64_t)k * 8)) != 4)
				return 0;
			uint64_t start = ph.p_vaddr + (uint64_t)(int64_t)loc;
			if (start > vaddr && (!best || start < best))
				best = start;
		}
		return best;
	}
	return 0;
}

/* What function vaddr of f passes to libc (see above). */
/* An x86-64 disassembler with operand details, or an error in msg. */
static int open_disassembler(csh *h, char *msg, size_t msglen)
{
	if (cs_open(CS_ARCH_X86, CS_MODE_64, h) != CS_ERR_OK) {
		snprintf(msg, msglen, "capstone: cannot open an x86-64 disassembler");
		return -ENOSYS;
	}
	cs_option(*h, CS_OPT_DETAIL, CS_OPT_ON);
	return 0;
}

static void scan_gil_calls(struct elf_file *f, csh h, uint64_t vaddr,
			   struct gil_calls *out)
{
	unsigned char code[4096];
	size_t len = 512;
	uint64_t end = next_function(f, vaddr);
	memset(out, 0, sizeof(*out));
	if (end > vaddr)
		len = end - vaddr < sizeof(code) ? (size_t)(end - vaddr) : sizeof(code);
	ssize_t n = read_file_vaddr(f, vaddr, code, len);
	if (n <= 0)
		return;
	uint64_t val[16] = { 0 };
	cs_insn *insn = NULL;
	size_t count = cs_disasm(h, code, (size_t)n, vaddr, 0, &insn);
	for (size_t i = 0; i < count; i++) {
		cs_x86 *x = &insn[i].detail->x86;
		cs_x86_op *o = x->operands;
		int d = x->op_count >= 1 && o[0].type == X86_OP_REG ? gpr64(o[0].reg) : -1;
		if (insn[i].id == X86_INS_CALL && x->op_count == 1) {
			const char *fn = NULL;
			if (o[0].type == X86_OP_IMM) {
				fn = plt_symbol(f, h, (uint64_t)o[0].imm);
				if (!fn && out->nlocal < 8)
					out->local[out->nlocal++] = (uint64_t)o[0].imm;
			} else if (rip_target(&insn[i], &o[0])) {
				fn = got_symbol(f->e, rip_target(&insn[i], &o[0]));
			}
			if (fn && !strcmp(fn, "pthread_mutex_lock") && out->nlock < 2)
				out->lock[out->nlock++] = val[GPR_RDI];
			else if (fn && !strcmp(fn, "pthread_cond_signal") && !out->signal)
				out->signal = val[GPR_RDI];
			else if (fn && (!strcmp(fn, "pthread_cond_wait") ||
					!strcmp(fn, "pthread_cond_timedwait")) && !out->wait)
				out->wait = val[GPR_RDI];
			/* the System V ABI's caller-saved registers */
			static const int clobbered[] = { GPR_RAX, GPR_RCX, GPR_RDX, GPR_RSI,
							 GPR_RDI, GPR_R8, GPR_R9, GPR_R10,
							 GPR_R11 };
			for (size_t c = 0; c < sizeof(clobbered) / sizeof(clobbered[0]); c++)
				val[clobbered[c]] = 0;
			continue;
		}
		if (insn[i].id == X86_INS_LEA && d >= 0 && o[0].size == 8 &&
		    rip_target(&insn[i], &o[1])) {
			val[d] = rip_target(&insn[i], &o[1]);
			continue;
		}
		if (insn[i].id == X86_INS_MOV && d >= 0 && x->op_count == 2 &&
		    o[1].type == X86_OP_REG && o[0].size == 8 && gpr64(o[1].reg) >= 0) {
			val[d] = val[gpr64(o[1].reg)];
			continue;
		}
		if (insn[i].id == X86_INS_MOV && d >= 0 && x->op_count == 2 &&
		    o[1].size == 4 && rip_target(&insn[i], &o[1]) && !out->locked)
			out->locked = rip_target(&insn[i], &o[1]);
		/* anything else a register gets is not an address we know */
		cs_regs regs_read, regs_write;
		uint8_t nr, nw;
		if (!cs_regs_access(h, &insn[i], regs_read, &nr, regs_write, &nw))
			for (int w = 0; w < nw; w++)
				if (gpr64(regs_write[w]) >= 0)
					val[gpr64(regs_write[w])] = 0;
	}
	if (count)
		cs_free(insn, count);
}

/* 1 when [addr, addr + len) lies in a writable data section of e. */
static int in_data(Elf *e, uint64_t addr, uint64_t len)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	while (addr && (scn = elf_nextscn(e, scn)))
		if (gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_WRITE) &&
		    !(sh.sh_flags & SHF_EXECINSTR) && addr >= sh.sh_addr &&
		    addr + len <= sh.sh_addr + sh.sh_size)
			return 1;
	return 0;
}

int gs_symfree_py36_statics(const char *pyfile, struct gs_symfree_statics *out,
			    char *msg, size_t msglen)
{
	struct elf_file f;
	GElf_Sym save;
	memset(out, 0, sizeof(*out));
	int err = elf_open_sym(pyfile, "PyEval_SaveThread", &f, &save, msg, msglen);
	if (err)
		return err;
	csh h;
	err = open_disassembler(&h, msg, msglen);
	if (err) {
		elf_close(&f);
		return err;
	}
	struct gil_calls c, in;
	scan_gil_calls(&f, h, save.st_value, &c);
	out->drop_gil = 0; /* 0: inlined into PyEval_SaveThread (LTO) */
	/* else the function PyEval_SaveThread calls that does it */
	for (int i = 0; i < c.nlocal && !(c.signal && c.wait); i++) {
		uint64_t callee = c.local[i];
		scan_gil_calls(&f, h, callee, &in);
		if (in.signal && in.wait) {
			c = in;
			out->drop_gil = callee;
		}
	}
	cs_close(&h);
	int ok = c.signal && c.wait && c.signal != c.wait && c.nlock == 2 &&
		 c.lock[0] && c.lock[1] && in_data(f.e, c.signal, 48) &&
		 in_data(f.e, c.wait, 48) && in_data(f.e, c.lock[0], 40) &&
		 in_data(f.e, c.lock[1], 40) &&
		 (!c.locked || in_data(f.e, c.locked, 4));
	elf_close(&f);
	if (!ok) {
		snprintf(msg, msglen,
			 "%s: PyEval_SaveThread's code (and drop_gil's, the function it "
			 "calls) does not pass the GIL's statics to libc the way CPython "
			 "3.6 does (found: pthread_cond_signal(0x%llx), "
			 "pthread_cond_wait(0x%llx), %d pthread_mutex_lock)",
			 pyfile, (unsigned long long)c.signal, (unsigned long long)c.wait,
			 c.nlock);
		return -ENOENT;
	}
	out->cond = c.signal;
	out->switch_cond = c.wait;
	out->mutex = c.lock[0];
	out->switch_mutex = c.lock[1];
	out->locked = c.locked;
	return 0;
}

/* -p on 3.6: the statics above, checked in the live process. */
static int py36_live(pid_t pid, const char *pyfile, const char *name,
		     struct gs_symfree_live *out, char *msg, size_t msglen)
{
	struct gs_symfree_statics st;
	uint64_t bias = 0;
	int err = gs_symfree_py36_statics(pyfile, &st, msg, msglen);
	if (err)
		return err;
	if (gs_symfree_bias(pid, pyfile, name, &bias)) {
		snprintf(msg, msglen, "PID %d does not map %s", (int)pid, name);
		return -ENOENT;
	}
	int memfd = proc_mem(pid, msg, msglen);
	if (memfd < 0)
		return memfd;
	/* gil_locked: -1 until the GIL exists (3.6 creates it with the
	 * second thread), then 0 or 1; both mutexes of the default kind */
	int32_t locked = 0, m[2][5];
	int ok = (!st.locked || !read_mem(memfd, bias + st.locked, &locked, 4)) &&
		 !read_mem(memfd, bias + st.mutex, m[0], sizeof(m[0])) &&
		 !read_mem(memfd, bias + st.switch_mutex, m[1], sizeof(m[1]));
	close(memfd);
	if (!ok || locked < -1 || locked > 1 || m[0][1] || m[0][4] || m[1][1] || m[1][4]) {
		snprintf(msg, msglen,
			 "PID %d (%s, CPython 3.6): what drop_gil's code points at does "
			 "not look like the GIL in the process (gil_locked %d)",
			 (int)pid, pyfile, (int)locked);
		return -ENOENT;
	}
	struct gs_symfree_gil g = { .cond = bias + st.cond,
				    .switch_cond = bias + st.switch_cond,
				    .interval_us = 0, .locked = locked };
	add_gil(out, &g);
	snprintf(out->how, sizeof(out->how),
		 "gil_cond 0x%llx and switch_cond 0x%llx (link time) read off "
		 "drop_gil's code%s, called by PyEval_SaveThread; %s",
		 (unsigned long long)st.cond, (unsigned long long)st.switch_cond,
		 st.drop_gil ? "" : " (inlined)",
		 locked < 0 ? "not created yet: the first thread started creates it"
			    : locked ? "locked 1" : "locked 0");
	return 0;
}

int gs_symfree_py3_live(pid_t pid, const char *pyfile, const char *name, int minor,
			struct gs_symfree_live *out, char *msg, size_t msglen)
{
	struct elf_file f;
	GElf_Sym rt;
	uint64_t bias = 0;

	memset(out, 0, sizeof(*out));
	if (minor == 6)
		return py36_live(pid, pyfile, name, out, msg, msglen);
	int err = elf_open_sym(pyfile, "_PyRuntime", &f, &rt, msg, msglen);
	if (err)
		return err;
	if (load_bias(pid, name, f.e, &bias)) {
		snprintf(msg, msglen, "PID %d does not map %s", (int)pid, name);
		elf_close(&f);
		return -ENOENT;
	}
	elf_close(&f);
	int memfd = proc_mem(pid, msg, msglen);
	if (memfd < 0)
		return memfd;
	uint64_t runtime = bias + rt.st_value;
	struct gs_symfree_gil g;
	int ok = 1;
	if (minor >= 7 && minor <= 11) {
		uint64_t base = runtime + runtime_gil_off[minor];
		if (check_gil_fd(memfd, base, &g)) {
			add_gil(out, &g);
			snprintf(out->how, sizeof(out->how), "_PyRuntime+%u (3.%d table)",
				 runtime_gil_off[minor], minor);
		} else {
			/* another patch release: scan _PyRuntime for the one
			 * struct that passes every check */
			for (uint64_t o = 0; o + GS_GIL_SIZE <= rt.st_size; o += 8) {
				int ok2 = 1;
				if (check_gil_fd(memfd, runtime + o, &g) &&
				    rd64(memfd, runtime + o + 8, &ok2) && ok2) {
					add_gil(out, &g);
					snprintf(out->how, sizeof(out->how),
						 "_PyRuntime+%" PRIu64 " (scan)", o);
					break;
				}
			}
		}
	} else if (minor == 12) {
		uint64_t head = rd64(memfd, runtime + 40, &ok);
		if (ok)
			walk_interpreters(memfd, head, 0, 384, out);
		snprintf(out->how, sizeof(out->how),
			 "_PyRuntime.interpreters (3.12 table): %d GIL%s", out->ngils,
			 out->ngils == 1 ? "" : "s");
	} else if (minor >= 13) {
		unsigned char d[0x78];
		if (!read_mem(memfd, runtime, d, sizeof(d)) && !memcmp(d, "xdebugpy", 8)) {
			uint64_t off_head, off_next, off_gil;
			memcpy(&off_head, d + 0x28, 8);
			memcpy(&off_next, d + 0x40, 8);
			memcpy(&off_gil, d + 0x70, 8);
			uint64_t head = rd64(memfd, runtime + off_head, &ok);
			if (ok)
				walk_interpreters(memfd, head, off_next, off_gil, out);
			snprintf(out->how, sizeof(out->how),
				 "_Py_DebugOffsets: %d GIL%s", out->ngils,
				 out->ngils == 1 ? "" : "s");
		}
	}
	close(memfd);
	if (!out->ngils) {
		snprintf(msg, msglen,
			 "PID %d (%s, CPython 3.%d): no GIL found from _PyRuntime",
			 (int)pid, pyfile, minor);
		return -ENOENT;
	}
	return 0;
}

int gs_symfree_py27_lock(const char *pyfile, uint64_t *vaddr, char *msg,
			 size_t msglen)
{
	struct elf_file f;
	GElf_Sym s;
	unsigned char code[256];
	int err;
	if ((err = elf_open(pyfile, &f))) {
		snprintf(msg, msglen, "%s: %s", pyfile, strerror(-err));
		return err;
	}
	ssize_t n = -1;
	if (!dynsym_find(f.e, "PyEval_SaveThread", &s)) {
		size_t len = s.st_size && s.st_size < sizeof(code) ? s.st_size : sizeof(code);
		n = read_file_vaddr(&f, s.st_value, code, len);
	}
	if (n <= 0) {
		snprintf(msg, msglen, "%s: PyEval_SaveThread not found in its dynamic symbols",
			 pyfile);
		elf_close(&f);
		return -ENOENT;
	}
	csh h;
	cs_insn *insn = NULL;
	size_t count = 0;
	uint64_t lock = 0;
	if (!open_disassembler(&h, msg, msglen)) {
		count = cs_disasm(h, code, (size_t)n, s.st_value, 0, &insn);
		/* if (interpreter_lock) PyThread_release_lock(interpreter_lock):
		 * the first 8-byte RIP-relative load into %rdi */
		for (size_t i = 0; i < count && !lock; i++) {
			cs_x86 *x = &insn[i].detail->x86;
			if (insn[i].id != X86_INS_MOV || x->op_count != 2 ||
			    x->operands[0].type != X86_OP_REG ||
			    x->operands[0].reg != X86_REG_RDI ||
			    x->operands[1].type != X86_OP_MEM ||
			    x->operands[1].mem.base != X86_REG_RIP ||
			    x->operands[1].size != 8)
				continue;
			lock = insn[i].address + insn[i].size +
			       (uint64_t)x->operands[1].mem.disp;
		}
		if (count)
			cs_free(insn, count);
		cs_close(&h);
	}
	/* it must be a writable data object of the file */
	int writable = 0;
	Elf_Scn *scn = NULL;
	while (lock && (scn = elf_nextscn(f.e, scn))) {
		GElf_Shdr sh;
		if (gelf_getshdr(scn, &sh) && (sh.sh_flags & SHF_WRITE) &&
		    !(sh.sh_flags & SHF_EXECINSTR) && lock >= sh.sh_addr &&
		    lock + 8 <= sh.sh_addr + sh.sh_size)
			writable = 1;
	}
	elf_close(&f);
	if (!lock || !writable) {
		snprintf(msg, msglen,
			 "%s: PyEval_SaveThread's code does not load interpreter_lock the "
			 "way CPython 2.7 does (no RIP-relative load into %%rdi%s)",
			 pyfile, lock ? " of a data object" : "");
		return -ENOENT;
	}
	*vaddr = lock;
	return 0;
}

/* ---- CPython 2.7: where its code takes and releases the GIL ------------- */

/* GOT slots bound to one dynamic symbol (R_X86_64_JUMP_SLOT in .rela.plt,
 * GLOB_DAT in .rela.dyn): a PLT stub or a `call *slot(%rip)` (-fno-plt)
 * reaches the function through them. */
#define MAX_SLOTS 4
struct call_target {
	const char *name;
	uint64_t addr;          /* st_value, 0 when not defined here */
	uint64_t slot[MAX_SLOTS];
	int nslots;
};

static void find_got_slots(Elf *e, struct call_target *t, int nt)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh, ssh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize)
			continue;
		Elf_Scn *syms = elf_getscn(e, sh.sh_link);
		Elf_Data *d = elf_getdata(scn, NULL), *sd = syms ? elf_getdata(syms, NULL) : NULL;
		if (!d || !sd || !gelf_getshdr(syms, &ssh))
			continue;
		for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Rela r;
			GElf_Sym s;
			if (!gelf_getrela(d, (int)i, &r) || !GELF_R_SYM(r.r_info) ||
			    !gelf_getsym(sd, (int)GELF_R_SYM(r.r_info), &s))
				continue;
			const char *nm = elf_strptr(e, ssh.sh_link, s.st_name);
			for (int k = 0; nm && k < nt; k++)
				if (!strcmp(nm, t[k].name) && t[k].nslots < MAX_SLOTS)
					t[k].slot[t[k].nslots++] = r.r_offset;
		}
	}
}

static int slot_of(const struct call_target *t, uint64_t slot)
{
	for (int i = 0; i < t->nslots; i++)
		if (t->slot[i] == slot)
			return 1;
	return 0;
}

/* The GOT slot a `jmp/call *disp(%rip)` reads, or 0. */
static uint64_t rip_slot(const cs_insn *in)
{
	const cs_x86 *x = &in->detail->x86;
	if (x->op_count == 1 && x->operands[0].type == X86_OP_MEM &&
	    x->operands[0].mem.base == X86_REG_RIP && x->operands[0].mem.index == X86_REG_INVALID)
		return in->address + in->size + (uint64_t)x->operands[0].mem.disp;
	return 0;
}

/* Which of the targets call or jmp instruction in reaches: directly, through
 * a PLT stub (.plt, .plt.sec, .plt.got: its first indirect jmp) or through a
 * GOT slot. -1 for none. */
static int reached(struct elf_file *f, csh h, const cs_insn *in,
		   const struct call_target *t, int nt)
{
	const cs_x86 *x = &in->detail->x86;
	uint64_t slot = rip_slot(in), to = 0;
	if (!slot && x->op_count == 1 && x->operands[0].type == X86_OP_IMM)
		to = (uint64_t)x->operands[0].imm;
	for (int k = 0; to && k < nt; k++)
		if (t[k].addr && to == t[k].addr)
			return k;
	if (to) {
		/* a PLT stub: endbr64 / bnd prefixes, then jmp *slot(%rip) */
		unsigned char stub[16];
		cs_insn *s = NULL;
		ssize_t n = read_file_vaddr(f, to, stub, sizeof(stub));
		size_t cnt = n > 0 ? cs_disasm(h, stub, (size_t)n, to, 3, &s) : 0;
		for (size_t i = 0; i < cnt && !slot; i++)
			if (s[i].id == X86_INS_JMP)
				slot = rip_slot(&s[i]);
			else if (s[i].id != X86_INS_ENDBR64)
				break;
		if (cnt)
			cs_free(s, cnt);
	}
	for (int k = 0; slot && k < nt; k++)
		if (slot_of(&t[k], slot))
			return k;
	return -1;
}

/* The kernel emulates nop, push, call, jmp and jcc (no single step). */
static int insn_emulated(const cs_insn *in)
{
	return gs_insn_emulated(in->bytes, in->size);
}

static int is_branch(const cs_insn *in)
{
	for (int g = 0; g < in->detail->groups_count; g++) {
		uint8_t gr = in->detail->groups[g];
		if (gr == CS_GRP_JUMP || gr == CS_GRP_CALL || gr == CS_GRP_RET ||
		    gr == CS_GRP_INT || gr == CS_GRP_IRET)
			return 1;
	}
	return 0;
}

static int add_py27_site(struct elf_file *f, struct gs_py27_sites *out,
			 uint64_t vaddr, int role, int kind, int ss,
			 const char *caller)
{
	uint64_t off;
	if (out->n >= GS_PY27_MAX_SITES || gs_elf_vaddr_to_offset(f->e, vaddr, &off, NULL))
		return -1;
	struct gs_py27_site *p = &out->site[out->n++];
	p->vaddr = vaddr;
	p->offset = off;
	p->role = role;
	p->kind = kind;
	p->single_step = ss;
	snprintf(p->caller, sizeof(p->caller), "%s", caller);
	return 0;
}

/* ceval.c's functions that use interpreter_lock, all exported by 2.7. */
static const struct {
	const char *name;
	int release_role;       /* what its release call means */
	int required;
} py27_callers[] = {
	{ "PyEval_EvalFrameEx", GSB_PY2_RELEASE_TICK, 1 },
	{ "PyEval_SaveThread", GSB_PY2_RELEASE_SAVE, 1 },
	{ "PyEval_RestoreThread", 0, 1 },
	{ "PyEval_AcquireThread", 0, 0 },
	{ "PyEval_ReleaseThread", GSB_PY2_RELEASE, 0 },
	{ "PyEval_AcquireLock", 0, 0 },
	{ "PyEval_ReleaseLock", GSB_PY2_RELEASE, 0 },
	{ "PyEval_InitThreads", 0, 0 },
	/* not PyEval_ReInitThreads: it runs in a forked child, another
	 * process than the traced one, and each probe costs ~0.3 s to
	 * detach */
};

/* The sites of one caller; 0, or -1 with msg set. */
static int caller_sites(struct elf_file *f, csh h, const char *name, int release_role,
			const struct call_target *t, struct gs_py27_sites *out,
			char *msg, size_t msglen)
{
	GElf_Sym s;
	if (dynsym_find(f->e, name, &s))
		return 1;
	size_t len = s.st_size;
	unsigned char *code = len ? malloc(len) : NULL;
	if (!code || read_file_vaddr(f, s.st_value, code, len) != (ssize_t)len) {
		free(code);
		snprintf(msg, msglen, "%s: cannot read its code (size %zu)", name, len);
		return -1;
	}
	cs_insn *in = NULL;
	size_t n = cs_disasm(h, code, len, s.st_value, 0, &in);
	int r = 0, releases = 0, acquires = 0;
	uint64_t tick_release = 0;
	for (size_t i = 0; i < n && !r; i++) {
		if (in[i].id != X86_INS_CALL && in[i].id != X86_INS_JMP)
			continue;
		int k = reached(f, h, &in[i], t, 2);
		int tail = in[i].id == X86_INS_JMP;
		if (k == 1) {           /* PyThread_release_lock */
			releases++;
			if (!release_role)
				r = -1;
			else if (add_py27_site(f, out, in[i].address, release_role,
					       GS_PROBE_CALL, 0, name))
				r = -2;
			if (release_role == GSB_PY2_RELEASE_TICK && !tail)
				tick_release = in[i].address;
		} else if (k == 0) {    /* PyThread_acquire_lock */
			acquires++;
			if (release_role == GSB_PY2_RELEASE_TICK) {
				/* the re-take: its request is the release just
				 * before, with straight-line code in between */
				int straight = tick_release != 0;
				for (size_t j = i; straight && j-- > 0 &&
						   in[j].address > tick_release;)
					straight = !is_branch(&in[j]);
				if (!straight || tail) {
					r = -3;
					break;
				}
			} else if (release_role) {
				r = -1;
				break;
			} else if (add_py27_site(f, out, in[i].address, GSB_PY2_REQUEST,
						 GS_PROBE_CALL, 0, name)) {
				r = -2;
				break;
			}
			if (tail) {
				/* PyEval_AcquireLock: held when it returns */
				uint64_t off;
				unsigned char b[16];
				ssize_t got = gs_elf_vaddr_to_offset(f->e, s.st_value, &off, NULL)
					      ? -1 : pread(f->fd, b, sizeof(b), (off_t)off);
				if (add_py27_site(f, out, s.st_value, GSB_PY2_ACQUIRED,
						  GS_PROBE_RETURN,
						  !gs_insn_emulated(b, got > 0 ? (size_t)got : 0),
						  name))
					r = -2;
				continue;
			}
			/* held from the return on: the first instruction the
			 * kernel emulates, in the straight line that follows
			 * (a branch that is not emulated: probed, stepped) */
			size_t j = i + 1;
			while (j < n && !insn_emulated(&in[j]) && !is_branch(&in[j]))
				j++;
			if (j >= n || add_py27_site(f, out, in[j].address, GSB_PY2_ACQUIRED,
						    GS_PROBE_AFTER_CALL,
						    !insn_emulated(&in[j]), name))
				r = -2;
		}
	}
	if (n)
		cs_free(in, n);
	free(code);
	if (!r && release_role == GSB_PY2_RELEASE_TICK && (releases != 1 || acquires != 1))
		r = -3;
	if (!r && release_role == GSB_PY2_RELEASE_SAVE && releases != 1)
		r = -1;
	if (!r && !release_role && acquires != 1)
		r = -1;
	if (r)
		snprintf(msg, msglen,
			 r == -3 ? "%s: its check-interval switch (PyThread_release_lock "
				   "then PyThread_acquire_lock, straight-line code between) "
				   "was not found: %d release and %d acquire calls"
			 : r == -2 ? "%s: too many GIL call sites (or one outside the "
				     "file's loaded segments; %d releases, %d acquires)"
			 : "%s: its calls of PyThread_release_lock/acquire_lock are not "
			   "those of CPython 2.7's ceval.c (%d releases, %d acquires)",
			 name, releases, acquires);
	return r ? -1 : 0;
}

int gs_py27_gil_sites(const char *pyfile, struct gs_py27_sites *out, char *msg,
		      size_t msglen)
{
	struct elf_file f;
	struct call_target t[2] = { { .name = "PyThread_acquire_lock" },
				    { .name = "PyThread_release_lock" } };
	int err;
	memset(out, 0, sizeof(*out));
	if ((err = elf_open(pyfile, &f))) {
		snprintf(msg, msglen, "%s: %s", pyfile, strerror(-err));
		return err;
	}
	for (int k = 0; k < 2; k++) {
		GElf_Sym s;
		if (!dynsym_find(f.e, t[k].name, &s))
			t[k].addr = s.st_value;
	}
	find_got_slots(f.e, t, 2);
	csh h;
	int r = open_disassembler(&h, msg, msglen);
	if (r) {
		elf_close(&f);
		return r;
	}
	char why[512];
	for (size_t c = 0; c < sizeof(py27_callers) / sizeof(py27_callers[0]) && !r; c++) {
		int k = caller_sites(&f, h, py27_callers[c].name, py27_callers[c].release_role,
				     t, out, why, sizeof(why));
		if (k < 0 || (k > 0 && py27_callers[c].required)) {
			snprintf(msg, msglen,
				 "%s: CPython 2.7's GIL call sites not found: %s", pyfile,
				 k < 0 ? why : "a ceval.c function is not exported");
			if (k > 0)
				snprintf(msg + strlen(msg), msglen - strlen(msg), " (%s)",
					 py27_callers[c].name);
			r = -ENOENT;
		}
	}
	cs_close(&h);
	elf_close(&f);
	return r;
}
