/* SPDX-License-Identifier: MIT */
/* tools/bpf/debugfile.c: a stripped object's debug file is found by build id
 * under a process's root (/proc/PID/root/usr/lib/debug/.build-id/NN/REST.debug,
 * here a scratch directory standing for that root), and a file at that path
 * with another build id is refused. The object is this test program, whose
 * build id the linker wrote; its "debug file" is a copy of itself (it has
 * the .symtab a debug file must have). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "debugfile.h"
#include "trace_format.h"

static void copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(in >= 0 && out >= 0);
	char buf[1 << 16];
	ssize_t n;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
}

static void mkdirs(const char *path)
{
	char p[4096];
	snprintf(p, sizeof(p), "%s", path);
	for (char *s = p + 1; *s; s++)
		if (*s == '/') {
			*s = 0;
			mkdir(p, 0755);
			*s = '/';
		}
	mkdir(p, 0755);
}

static void test_build_id_under_root(void **state)
{
	(void)state;
	assert_int_not_equal(elf_version(EV_CURRENT), EV_NONE);
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(n > 0);
	self[n] = 0;
	int fd = open(self, O_RDONLY);
	Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	assert_non_null(e);
	unsigned char id[64];
	size_t idlen = gs_elf_build_id(e, id, sizeof(id));
	if (idlen < 2)
		skip(); /* linked without --build-id: nothing to look up */
	char hex[129];
	for (size_t i = 0; i < idlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);

	char root[] = "/tmp/gs-debugfile-XXXXXX";
	assert_non_null(mkdtemp(root));
	char dir[2048], dbg[4096];
	snprintf(dir, sizeof(dir), "%s/usr/lib/debug/.build-id/%.2s", root, hex);
	mkdirs(dir);
	snprintf(dbg, sizeof(dbg), "%s/%s.debug", dir, hex + 2);

	/* 1. nothing there: not found, and the message says where we looked */
	char out[4096], tried[2048];
	int method = 0;
	char *saved = getenv("DEBUGINFOD_URLS") ? strdup(getenv("DEBUGINFOD_URLS")) : NULL;
	unsetenv("DEBUGINFOD_URLS");
	assert_int_equal(gs_debugfile_find(e, self, root, out, sizeof(out), &method,
					   tried, sizeof(tried)), -1);
	assert_non_null(strstr(tried, dbg));

	/* 2. a file with another build id at that path: refused */
	copy_file("/proc/self/exe", dbg);
	int w = open(dbg, O_RDWR);
	Elf *we = elf_begin(w, ELF_C_RDWR, NULL);
	Elf_Data *d;
	size_t desc_off;
	assert_true(gs_elf_build_id_note(we, &d, &desc_off) > 0);
	((unsigned char *)d->d_buf)[desc_off] ^= 0xff;
	elf_flagdata(d, ELF_C_SET, ELF_F_DIRTY);
	elf_flagelf(we, ELF_C_SET, ELF_F_LAYOUT);
	assert_true(elf_update(we, ELF_C_WRITE) >= 0);
	elf_end(we);
	close(w);
	assert_int_equal(gs_debugfile_find(e, self, root, out, sizeof(out), &method,
					   tried, sizeof(tried)), -1);

	/* 3. the right one: found under the process's root, by build id */
	copy_file("/proc/self/exe", dbg);
	assert_int_equal(gs_debugfile_find(e, self, root, out, sizeof(out), &method,
					   tried, sizeof(tried)), 0);
	assert_string_equal(out, dbg);
	assert_int_equal(method, GS_PLACE_DEBUG_FILE);

	if (saved) {
		setenv("DEBUGINFOD_URLS", saved, 1);
		free(saved);
	}
	unlink(dbg);
	char cmd[4200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
	elf_end(e);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_id_under_root),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
