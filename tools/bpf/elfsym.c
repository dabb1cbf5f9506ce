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

/* File offset of a virtual address, from the PT_LOAD that maps it. */
static int vaddr_to_offset(Elf *e, uint64_t vaddr, uint64_t *off)
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
			return 0;
		}
	}
	return -1;
}

static int build_id_debug_path(Elf *e, char *out, size_t outlen)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	if (elf_getshdrstrndx(e, &shstrndx))
		return -1;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		size_t off = 0, name_off, desc_off;
		GElf_Nhdr nh;
		while (d && (off = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type != NT_GNU_BUILD_ID || nh.n_descsz < 2 ||
			    strcmp((char *)d->d_buf + name_off, "GNU"))
				continue;
			const unsigned char *id = (unsigned char *)d->d_buf + desc_off;
			int w = snprintf(out, outlen, "/usr/lib/debug/.build-id/%02x/", id[0]);
			for (size_t i = 1; i < nh.n_descsz && w > 0 && (size_t)w < outlen; i++)
				w += snprintf(out + w, outlen - (size_t)w, "%02x", id[i]);
			if (w > 0 && (size_t)w < outlen)
				snprintf(out + w, outlen - (size_t)w, ".debug");
			return 0;
		}
	}
	return -1;
}

static int match_name(const char *sym, const char *want)
{
	size_t n = strlen(want);
	/* GCC clones: take_gil.constprop.0, drop_gil.isra.0 (not .part: those
	 * start in the middle of the original function). */
	return !strncmp(sym, want, n) &&
	       (sym[n] == 0 || (sym[n] == '.' && strncmp(sym + n, ".part", 5) &&
				strncmp(sym + n, ".cold", 5)));
}

static void scan_symbols(Elf *e, int type, const char *const *names,
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
			for (size_t k = 0; k < nnames; k++) {
				if (!match_name(nm, names[k]))
					continue;
				struct gs_elf_sym *o = &out[k];
				int dup = 0;
				for (int j = 0; j < o->found; j++)
					dup |= o->vaddr[j] == s.st_value;
				/* exact name first: it is the one callers use */
				if (!dup && o->found < GS_ELF_MAX_CLONES)
					o->vaddr[o->found++] = s.st_value;
			}
		}
	}
}

static void scan_usdt(Elf *e, struct gs_elf_info *info)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	if (elf_getshdrstrndx(e, &shstrndx))
		return;
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
			/* desc: pc, base, semaphore (3 addresses), provider\0 name\0 args\0 */
			if (nh.n_type != 3 || nh.n_descsz < 3 * 8 + 2)
				continue;
			const char *prov = (const char *)d->d_buf + desc_off + 24;
			if (!strcmp(prov, "gil")) {
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

int gs_elf_lookup(const char *path, const char *const *names, size_t nnames,
		  struct gs_elf_sym *out, struct gs_elf_info *info,
		  char *msg, size_t msglen)
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
	if (has_section_type(e, SHT_SYMTAB)) {
		info->has_symtab = 1;
		snprintf(info->symtab_from, sizeof(info->symtab_from), "%s", path);
	} else {
		char dbg[4096];
		if (!build_id_debug_path(e, dbg, sizeof(dbg)) &&
		    (de = open_elf(dbg, &dfd)) && has_section_type(de, SHT_SYMTAB)) {
			info->has_symtab = 1;
			snprintf(info->symtab_from, sizeof(info->symtab_from), "%s", dbg);
		}
	}
	scan_symbols(e, SHT_DYNSYM, names, nnames, out);
	scan_symbols(de ? de : e, SHT_SYMTAB, names, nnames, out);

	for (size_t k = 0; k < nnames; k++) {
		struct gs_elf_sym *o = &out[k];
		int kept = 0;
		for (int j = 0; j < o->found; j++) {
			uint64_t off;
			unsigned char b[8] = { 0 };
			if (vaddr_to_offset(e, o->vaddr[j], &off))
				continue;   /* data symbols in .bss have no file bytes */
			ssize_t n = pread(fd, b, sizeof(b), (off_t)off);
			o->vaddr[kept] = o->vaddr[j];
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
