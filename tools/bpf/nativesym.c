/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "nativesym.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fsym {
	uint64_t start, end;
	char *name;
};

struct seg {
	uint64_t off, vaddr, filesz;
};

struct gs_nativesym {
	int fd;
	int has_symtab;
	struct fsym *syms;
	size_t nsyms;
	struct seg segs[16];
	size_t nsegs;
};

static int by_start(const void *a, const void *b)
{
	const struct fsym *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int read_symbols(struct gs_nativesym *m, Elf *e, Elf_Scn *scn,
			const GElf_Shdr *sh)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t n = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;
	if (!d)
		return -1;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym s;
		if (!gelf_getsym(d, (int)i, &s))
			continue;
		int type = GELF_ST_TYPE(s.st_info);
		if ((type != STT_FUNC && type != STT_GNU_IFUNC) || !s.st_size ||
		    s.st_shndx == SHN_UNDEF)
			continue;
		const char *name = elf_strptr(e, sh->sh_link, s.st_name);
		if (!name || !*name)
			continue;
		void *p = realloc(m->syms, (m->nsyms + 1) * sizeof(*m->syms));
		if (!p)
			return -1;
		m->syms = p;
		m->syms[m->nsyms] = (struct fsym){ s.st_value, s.st_value + s.st_size,
						   strdup(name) };
		if (m->syms[m->nsyms].name)
			m->nsyms++;
	}
	return 0;
}

struct gs_nativesym *gs_nativesym_open(const char *open_path, char *msg,
				       size_t msglen)
{
	struct gs_nativesym *m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(msg, msglen, "out of memory");
		return NULL;
	}
	m->fd = open(open_path, O_RDONLY | O_CLOEXEC);
	if (m->fd < 0) {
		snprintf(msg, msglen, "%s: %s", open_path, strerror(errno));
		free(m);
		return NULL;
	}
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(m->fd, ELF_C_READ, NULL);
	if (!e || elf_kind(e) != ELF_K_ELF) {
		snprintf(msg, msglen, "%s: not an ELF file", open_path);
		if (e)
			elf_end(e);
		close(m->fd);
		free(m);
		return NULL;
	}
	size_t np = 0;
	elf_getphdrnum(e, &np);
	for (size_t i = 0; i < np && m->nsegs < 16; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD)
			m->segs[m->nsegs++] = (struct seg){ ph.p_offset, ph.p_vaddr,
							    ph.p_filesz };
	}
	Elf_Scn *symtab = NULL, *dynsym = NULL, *scn = NULL;
	GElf_Shdr sh_sym, sh_dyn, sh;
	while ((scn = elf_nextscn(e, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB) {
			symtab = scn;
			sh_sym = sh;
		} else if (sh.sh_type == SHT_DYNSYM) {
			dynsym = scn;
			sh_dyn = sh;
		}
	}
	if (symtab) {
		m->has_symtab = 1;
		read_symbols(m, e, symtab, &sh_sym);
	} else if (dynsym) {
		read_symbols(m, e, dynsym, &sh_dyn);
	}
	elf_end(e);
	qsort(m->syms, m->nsyms, sizeof(*m->syms), by_start);
	return m;
}

void gs_nativesym_close(struct gs_nativesym *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nsyms; i++)
		free(m->syms[i].name);
	free(m->syms);
	close(m->fd);
	free(m);
}

uint64_t gs_nativesym_vaddr(const struct gs_nativesym *m, uint64_t off)
{
	for (size_t i = 0; i < m->nsegs; i++)
		if (off >= m->segs[i].off && off < m->segs[i].off + m->segs[i].filesz)
			return off - m->segs[i].off + m->segs[i].vaddr;
	return 0;
}

const char *gs_nativesym_name(const struct gs_nativesym *m, uint64_t vaddr)
{
	/* the last symbol starting at or before vaddr, then the ones before
	 * it that may still cover it (aliases, nested extents) */
	size_t lo = 0, hi = m->nsyms;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (m->syms[mid].start <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i > 0 && lo - i < 8; i--)
		if (vaddr >= m->syms[i - 1].start && vaddr < m->syms[i - 1].end)
			return m->syms[i - 1].name;
	return NULL;
}

/* Bytes of an ff /2 call with this ModRM (and SIB): opcode, ModRM, SIB,
 * displacement. */
static int call_length(unsigned char modrm, unsigned char sib)
{
	int mod = modrm >> 6, rm = modrm & 7;
	int n = 2 + (mod != 3 && rm == 4);
	if (mod == 1)
		return n + 1;
	if (mod == 2)
		return n + 4;
	if (mod == 0 && (rm == 5 || (rm == 4 && (sib & 7) == 5)))
		return n + 4;
	return n;
}

int gs_nativesym_after_call(const struct gs_nativesym *m, uint64_t off)
{
	unsigned char b[8];
	if (off < sizeof(b) ||
	    pread(m->fd, b, sizeof(b), (off_t)(off - sizeof(b))) != (ssize_t)sizeof(b))
		return 0;
	if (b[3] == 0xe8)
		return 1; /* call rel32 */
	/* call r/m64: ff /2, a ModRM, maybe a SIB and a displacement, 2 to
	 * 7 bytes that must end right at off (a REX prefix before changes
	 * nothing here) */
	for (int k = 2; k <= 7; k++)
		if (b[8 - k] == 0xff && ((b[8 - k + 1] >> 3) & 7) == 2 &&
		    call_length(b[8 - k + 1], k > 2 ? b[8 - k + 2] : 0) == k)
			return 1;
	return 0;
}

int gs_nativesym_has_symtab(const struct gs_nativesym *m)
{
	return m->has_symtab;
}
