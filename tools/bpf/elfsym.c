/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "elfsym.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "debugfile.h"
#include "dwarf_inline.h"
#include "symname.h"
#include "trace_format.h"

int gs_insn_emulated(const unsigned char *b, size_t n)
{
	if (n < 1)
		return 0;
	size_t i = 0;
	/* endbr64 in front of a function is itself single-stepped */
	if (b[0] == 0x41 && n > 1 && b[1] >= 0x50 && b[1] <= 0x57)
		return 1;                       /* push %r8..%r15 */
	if (b[i] >= 0x50 && b[i] <= 0x57)
		return 1;                       /* push reg */
	switch (b[i]) {
	case 0x90: case 0xe8: case 0xe9: case 0xeb:
		return 1;                       /* nop, call, jmp */
	case 0x0f:
		if (n > 1 && (b[1] == 0x1f || (b[1] >= 0x80 && b[1] <= 0x8f)))
			return 1;               /* nopl, jcc rel32 */
		return 0;
	case 0x66:
		return n > 1 && b[1] == 0x90;   /* xchg %ax,%ax */
	default:
		return b[i] >= 0x70 && b[i] <= 0x7f; /* jcc rel8 */
	}
}

int gs_elf_vaddr_to_offset(Elf *e, uint64_t vaddr, uint64_t *off,
			   uint64_t *avail)
{
	size_t n;
	if (elf_getphdrnum(e, &n))
		return -1;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz) {
			*off = vaddr - ph.p_vaddr + ph.p_offset;
			if (avail)
				*avail = ph.p_vaddr + ph.p_filesz - vaddr;
			return 0;
		}
	}
	return -1;
}

static void add_site(struct gs_elf_sym *o, uint64_t vaddr, int method,
		     int inlined, const char *caller)
{
	for (int j = 0; j < o->found; j++)
		if (o->vaddr[j] == vaddr)
			return;
	if (o->found >= GS_ELF_MAX_SITES) {
		o->dropped++;
		return;
	}
	o->vaddr[o->found] = vaddr;
	o->method[o->found] = (uint8_t)method;
	o->inlined[o->found] = (uint8_t)inlined;
	snprintf(o->caller[o->found], sizeof(o->caller[0]), "%s", caller ? caller : "");
	o->found++;
}

static void scan_symbols(Elf *e, int type, int method, const char *const *names,
			 size_t nnames, struct gs_elf_sym *out)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != (GElf_Word)type)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d || !sh.sh_entsize)
			continue;
		size_t cnt = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; i < cnt; i++) {
			GElf_Sym s;
			if (!gelf_getsym(d, (int)i, &s) || !s.st_value ||
			    s.st_shndx == SHN_UNDEF)
				continue;
			const char *nm = elf_strptr(e, sh.sh_link, s.st_name);
			if (!nm)
				continue;
			for (size_t k = 0; k < nnames; k++)
				if (gs_symname_is_entry(nm, names[k]))
					add_site(&out[k], s.st_value, method, 0, NULL);
		}
	}
}

/* SystemTap SDT notes (sys/sdt.h; the layout libbpf, bpftrace and perf
 * read): owner "stapsdt", type 3, desc = three addresses (probe pc, the
 * .stapsdt.base address, semaphore) then "provider\0name\0args\0". */
#define SDT_NOTE_OWNER "stapsdt"
#define SDT_NOTE_TYPE 3
#define SDT_NOTE_ADDRS 3

static void scan_usdt(Elf *e, struct gs_elf_info *info)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	if (elf_getshdrstrndx(e, &shstrndx))
		return;
	/* the addresses are 4 bytes each in a 32-bit object */
	size_t addrs_len = SDT_NOTE_ADDRS * (gelf_getclass(e) == ELFCLASS32 ? 4 : 8);
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		const char *sn = elf_strptr(e, shstrndx, sh.sh_name);
		if (!sn || strcmp(sn, ".note.stapsdt"))
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		size_t off = 0, name_off, desc_off;
		GElf_Nhdr nh;
		while (d && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
			const char *owner = (const char *)d->d_buf + name_off;
			if (nh.n_type != SDT_NOTE_TYPE ||
			    nh.n_namesz != sizeof(SDT_NOTE_OWNER) ||
			    memcmp(owner, SDT_NOTE_OWNER, sizeof(SDT_NOTE_OWNER)) ||
			    nh.n_descsz <= addrs_len)
				continue;
			const char *prov = (const char *)d->d_buf + desc_off + addrs_len;
			size_t room = nh.n_descsz - addrs_len;
			/* NUL-terminated inside the note, or it is not a provider */
			if (strnlen(prov, room) < room && !strcmp(prov, "gil")) {
				info->has_gil_usdt = 1;
				info->nusdt_gil++;
			}
		}
	}
}

static Elf *open_elf(const char *path, int *fd)
{
	*fd = open(path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		return NULL;
	Elf *e = elf_begin(*fd, ELF_C_READ_MMAP, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		if (e)
			elf_end(e);
		close(*fd);
		*fd = -1;
		errno = ENOEXEC;
		return NULL;
	}
	return e;
}

static int has_section_type(Elf *e, int type)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (gelf_getshdr(scn, &sh) && sh.sh_type == (GElf_Word)type)
			return 1;
	}
	return 0;
}

struct inline_ctx {
	struct gs_elf_sym *out;
	const int *want;
};

static void on_inline_site(void *arg, size_t which, uint64_t entry,
			   const char *caller)
{
	struct inline_ctx *c = arg;
	if (c->want[which])
		add_site(&c->out[which], entry, GS_PLACE_DWARF_INLINE, 1, caller);
}

static int has_section_named(Elf *e, const char *name)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	if (elf_getshdrstrndx(e, &shstrndx))
		return 0;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		const char *sn;
		if (gelf_getshdr(scn, &sh) && sh.sh_type != SHT_NOBITS &&
		    (sn = elf_strptr(e, shstrndx, sh.sh_name)) && !strcmp(sn, name))
			return 1;
	}
	return 0;
}

int gs_elf_lookup(const char *path, const char *const *names, size_t nnames,
		  struct gs_elf_sym *out, struct gs_elf_info *info,
		  char *msg, size_t msglen)
{
	return gs_elf_lookup_in(path, "", names, NULL, nnames, out, info, msg,
				msglen);
}

int gs_elf_lookup_in(const char *path, const char *root,
		     const char *const *names, const int *want_inline,
		     size_t nnames, struct gs_elf_sym *out,
		     struct gs_elf_info *info, char *msg, size_t msglen)
{
	int fd, dfd = -1;
	Elf *e, *de = NULL;

	memset(out, 0, nnames * sizeof(*out));
	memset(info, 0, sizeof(*info));
	snprintf(info->path, sizeof(info->path), "%s", path);
	if (elf_version(EV_CURRENT) == EV_NONE) {
		snprintf(msg, msglen, "libelf: %s", elf_errmsg(-1));
		return -EINVAL;
	}
	e = open_elf(path, &fd);
	if (!e) {
		int err = errno;
		snprintf(msg, msglen, "%s: %s", path,
			 err == ENOEXEC ? "not an ELF file" : strerror(err));
		return -err;
	}
	scan_usdt(e, info);
	int method = GS_PLACE_SYMTAB;
	if (has_section_type(e, SHT_SYMTAB)) {
		info->has_symtab = 1;
		snprintf(info->symtab_from, sizeof(info->symtab_from), "%s", path);
	} else {
		char dbg[4096];
		if (!gs_debugfile_find(e, path, root, dbg, sizeof(dbg), &method,
				       info->debug_tried, sizeof(info->debug_tried)) &&
		    (de = open_elf(dbg, &dfd)) && has_section_type(de, SHT_SYMTAB)) {
			info->has_symtab = 1;
			snprintf(info->symtab_from, sizeof(info->symtab_from), "%s", dbg);
		}
	}
	info->symtab_method = info->has_symtab ? method : 0;
	/* .symtab first: it names the static functions; an exported one found
	 * again in .dynsym keeps the first method */
	if (info->has_symtab)
		scan_symbols(de ? de : e, SHT_SYMTAB, info->symtab_method, names,
			     nnames, out);
	scan_symbols(e, SHT_DYNSYM, GS_PLACE_DYNSYM, names, nnames, out);
	int any_inline = 0;
	for (size_t k = 0; want_inline && k < nnames; k++)
		any_inline |= want_inline[k];
	Elf *dwarf_elf = de && has_section_named(de, ".debug_info") ? de
		       : has_section_named(e, ".debug_info") ? e : NULL;
	if (any_inline && dwarf_elf) {
		struct inline_ctx c = { out, want_inline };
		info->has_dwarf = gs_dwarf_inline_sites(dwarf_elf, names, nnames,
							on_inline_site, &c) >= 0;
	}

	for (size_t k = 0; k < nnames; k++) {
		struct gs_elf_sym *o = &out[k];
		int kept = 0;
		for (int j = 0; j < o->found; j++) {
			uint64_t off;
			unsigned char b[8] = { 0 };
			if (gs_elf_vaddr_to_offset(e, o->vaddr[j], &off, NULL))
				continue;   /* data symbols in .bss have no file bytes */
			ssize_t n = pread(fd, b, sizeof(b), (off_t)off);
			o->vaddr[kept] = o->vaddr[j];
			o->method[kept] = o->method[j];
			o->inlined[kept] = o->inlined[j];
			memmove(o->caller[kept], o->caller[j], sizeof(o->caller[0]));
			o->offset[kept] = off;
			o->single_step[kept] = !gs_insn_emulated(b, n > 0 ? (size_t)n : 0);
			snprintf(o->insn[kept], sizeof(o->insn[kept]), "%02x %02x %02x %02x",
				 b[0], b[1], b[2], b[3]);
			kept++;
		}
		/* keep .bss objects (interpreter_lock): vaddr is what we need */
		if (!kept && o->found)
			kept = 1;
		o->found = kept;
	}
	if (de) {
		elf_end(de);
		close(dfd);
	}
	elf_end(e);
	close(fd);
	return 0;
}
