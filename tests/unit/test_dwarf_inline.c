/* SPDX-License-Identifier: MIT */
/* tools/bpf/dwarf_inline.c on this very program: drop_gil below is inlined
 * (always_inline) into two callers, three times in all, the way an LTO
 * build inlines CPython's drop_gil into PyEval_SaveThread. Every inline copy
 * must be found, named after its caller, at an address inside that caller
 * (checked against the caller's own .symtab entry). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dwarf_inline.h"

volatile int gil_locked;

static inline __attribute__((always_inline)) void drop_gil(int how)
{
	gil_locked = how;
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline, used)) void fake_save_thread(void)
{
	drop_gil(0);
}

__attribute__((noinline, used)) void fake_eval_breaker(int n)
{
	drop_gil(n);
	if (n > 1)
		drop_gil(n + 1);
}

struct found {
	int n;
	uint64_t entry[16];
	char caller[16][64];
};

static void on_site(void *arg, size_t which, uint64_t entry, const char *caller)
{
	struct found *f = arg;
	assert_int_equal(which, 0);
	if (f->n < 16) {
		f->entry[f->n] = entry;
		snprintf(f->caller[f->n], sizeof(f->caller[0]), "%s", caller);
		f->n++;
	}
}

/* [start, end) of a function in e's .symtab. */
static int func_range(Elf *e, const char *name, uint64_t *start, uint64_t *end)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym s;
			const char *nm;
			if (gelf_getsym(d, (int)i, &s) &&
			    (nm = elf_strptr(e, sh.sh_link, s.st_name)) && !strcmp(nm, name)) {
				*start = s.st_value;
				*end = s.st_value + s.st_size;
				return 0;
			}
		}
	}
	return -1;
}

static void test_inline_copies_found(void **state)
{
	(void)state;
	fake_save_thread();
	fake_eval_breaker(2);
	assert_int_not_equal(elf_version(EV_CURRENT), EV_NONE);
	int fd = open("/proc/self/exe", O_RDONLY);
	assert_true(fd >= 0);
	Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	assert_non_null(e);

	const char *names[] = { "drop_gil" };
	struct found f = { 0 };
	int n = gs_dwarf_inline_sites(e, names, 1, on_site, &f);
	assert_int_equal(n, f.n);
	assert_int_equal(f.n, 3);
	int in_save = 0, in_breaker = 0;
	for (int i = 0; i < f.n; i++) {
		uint64_t lo = 0, hi = 0;
		assert_int_equal(func_range(e, f.caller[i], &lo, &hi), 0);
		if (f.entry[i] < lo || f.entry[i] >= hi)
			fail_msg("inline site 0x%llx outside %s [0x%llx, 0x%llx)",
				 (unsigned long long)f.entry[i], f.caller[i],
				 (unsigned long long)lo, (unsigned long long)hi);
		in_save += !strcmp(f.caller[i], "fake_save_thread");
		in_breaker += !strcmp(f.caller[i], "fake_eval_breaker");
	}
	assert_int_equal(in_save, 1);
	assert_int_equal(in_breaker, 2);

	/* a name nobody inlined: no site */
	const char *none[] = { "take_gil" };
	struct found g = { 0 };
	assert_int_equal(gs_dwarf_inline_sites(e, none, 1, on_site, &g), 0);
	elf_end(e);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inline_copies_found),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
