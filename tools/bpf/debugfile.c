/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "debugfile.h"

#include <elfutils/debuginfod.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "trace_format.h"

#define DEBUG_ROOT "/usr/lib/debug"

size_t gs_elf_build_id_note(Elf *e, Elf_Data **data, size_t *desc_off)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		size_t off = 0, name_off;
		GElf_Nhdr nh;
		while (d && (off = gelf_getnote(d, off, &nh, &name_off, desc_off)) > 0) {
			if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
			    memcmp((char *)d->d_buf + name_off, "GNU", 4) ||
			    !nh.n_descsz)
				continue;
			*data = d;
			return nh.n_descsz;
		}
	}
	return 0;
}

size_t gs_elf_build_id(Elf *e, unsigned char *id, size_t max)
{
	Elf_Data *d;
	size_t desc_off, n = gs_elf_build_id_note(e, &d, &desc_off);
	if (!n || n > max)
		return 0;
	memcpy(id, (char *)d->d_buf + desc_off, n);
	return n;
}

/* .gnu_debuglink: file name, then (4-aligned) the CRC-32 of the debug file. */
static int debuglink(Elf *e, char *name, size_t namelen, uint32_t *crc)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	if (elf_getshdrstrndx(e, &shstrndx))
		return -1;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *sn = elf_strptr(e, shstrndx, sh.sh_name);
		if (!sn || strcmp(sn, ".gnu_debuglink"))
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf || d->d_size < 8)
			return -1;
		size_t len = strnlen(d->d_buf, d->d_size);
		size_t crc_off = (len + 4) & ~(size_t)3;
		if (len == 0 || len >= namelen || crc_off + 4 > d->d_size)
			return -1;
		memcpy(name, d->d_buf, len);
		name[len] = 0;
		memcpy(crc, (char *)d->d_buf + crc_off, 4);
		return 0;
	}
	return -1;
}

static uint32_t file_crc32(int fd)
{
	unsigned char buf[1 << 16];
	uLong crc = crc32(0L, Z_NULL, 0);
	ssize_t n;
	off_t off = 0;
	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		crc = crc32(crc, buf, (uInt)n);
		off += n;
	}
	return (uint32_t)crc;
}

/* A candidate is the right debug file when it has a symbol table and the
 * same build id (or, without build ids, the CRC .gnu_debuglink names). */
static int matches(const char *cand, const unsigned char *id, size_t idlen,
		   int check_crc, uint32_t crc)
{
	int fd = open(cand, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	int ok = 0;
	Elf *d = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (d && elf_kind(d) == ELF_K_ELF) {
		unsigned char did[64];
		size_t dlen = gs_elf_build_id(d, did, sizeof(did));
		if (idlen && dlen)
			ok = dlen == idlen && !memcmp(did, id, idlen);
		else if (check_crc)
			ok = file_crc32(fd) == crc;
		else
			ok = !idlen; /* nothing to compare: trust the name */
		Elf_Scn *scn = NULL;
		int symtab = 0;
		while (ok && (scn = elf_nextscn(d, scn))) {
			GElf_Shdr sh;
			symtab |= gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB;
		}
		ok = ok && symtab;
	}
	if (d)
		elf_end(d);
	close(fd);
	return ok;
}

static void note_tried(char *tried, size_t len, const char *what)
{
	size_t used = strlen(tried);
	if (used + 3 < len)
		snprintf(tried + used, len - used, "%s%s", used ? ", " : "", what);
}

static int from_debuginfod(const unsigned char *id, size_t idlen, char *out,
			   size_t outlen, char *tried, size_t triedlen)
{
	const char *urls = getenv("DEBUGINFOD_URLS");
	if (!urls || !*urls || !idlen)
		return -1;
	debuginfod_client *c = debuginfod_begin();
	if (!c)
		return -1;
	char *path = NULL;
	int fd = debuginfod_find_debuginfo(c, id, (int)idlen, &path);
	debuginfod_end(c);
	char what[64 + 4096];
	snprintf(what, sizeof(what), "debuginfod (%s)%s%s", urls,
		 fd < 0 ? ": " : "", fd < 0 ? strerror(-fd) : "");
	note_tried(tried, triedlen, what);
	if (fd < 0) {
		free(path);
		return -1;
	}
	close(fd);
	snprintf(out, outlen, "%s", path);
	free(path);
	return 0;
}

int gs_debugfile_find(Elf *e, const char *path, const char *root, char *out,
		      size_t outlen, int *method, char *tried, size_t triedlen)
{
	unsigned char id[64];
	size_t idlen = gs_elf_build_id(e, id, sizeof(id));
	const char *roots[2] = { root && *root ? root : "", "" };
	int nroots = root && *root ? 2 : 1;
	char cand[4096];

	if (triedlen)
		tried[0] = 0;
	if (idlen >= 2) {
		char hex[2 * 64 + 1];
		for (size_t i = 0; i < idlen; i++)
			snprintf(hex + 2 * i, 3, "%02x", id[i]);
		for (int r = 0; r < nroots; r++) {
			snprintf(cand, sizeof(cand), "%s" DEBUG_ROOT "/.build-id/%.2s/%s.debug",
				 roots[r], hex, hex + 2);
			note_tried(tried, triedlen, cand);
			if (matches(cand, id, idlen, 0, 0)) {
				snprintf(out, outlen, "%s", cand);
				*method = GS_PLACE_DEBUG_FILE;
				return 0;
			}
		}
	}
	char link[256];
	uint32_t crc;
	if (!debuglink(e, link, sizeof(link), &crc) && !strchr(link, '/')) {
		/* path is already under root when root is set */
		char dir[4096];
		snprintf(dir, sizeof(dir), "%s", path);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = 0;
		else
			snprintf(dir, sizeof(dir), ".");
		const char *indir = dir;
		size_t rlen = root ? strlen(root) : 0;
		if (rlen && !strncmp(dir, root, rlen))
			indir = dir + rlen; /* the object's folder as the target sees it */
		const char *fmt[3] = { "%s%s/%s", "%s%s/.debug/%s", "%s" DEBUG_ROOT "%s/%s" };
		for (int r = 0; r < nroots; r++) {
			for (int k = 0; k < 3; k++) {
				/* next to the object: only through the path we opened */
				if (k < 2 && r > 0)
					continue;
				snprintf(cand, sizeof(cand), fmt[k], k < 2 ? "" : roots[r],
					 k < 2 ? dir : indir, link);
				note_tried(tried, triedlen, cand);
				if (strcmp(cand, path) && matches(cand, id, idlen, 1, crc)) {
					snprintf(out, outlen, "%s", cand);
					*method = GS_PLACE_DEBUG_FILE;
					return 0;
				}
			}
		}
	}
	if (!from_debuginfod(id, idlen, out, outlen, tried, triedlen)) {
		*method = GS_PLACE_DEBUGINFOD;
		return 0;
	}
	return -1;
}
