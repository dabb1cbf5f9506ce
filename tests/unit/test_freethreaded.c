/* SPDX-License-Identifier: MIT */
/*
 * Free-threaded CPython (Py_GIL_DISABLED, 3.13t+) detection
 * (tools/bpf/symfree.c gs_symfree_free_threaded), on the signals such a
 * build carries, without one (none is installed on the test machines):
 *  - its file names: python3.13t, libpython3.13t.so.1.0 (the "t" ABI flag);
 *  - _Py_DebugOffsets at the start of the exported _PyRuntime
 *    (Include/internal/pycore_debug_offsets.h, 3.13): the cookie
 *    "xdebugpy", the version, then free_threaded = 1.
 * This program exports a _PyRuntime laid out like that (free_threaded 1)
 * and looks at its own file under a name without the "t".
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "symfree.h"

/* cookie[8], version, free_threaded: the head of 3.13's _Py_DebugOffsets */
struct debug_offsets_head {
	char cookie[8];
	uint64_t version;
	uint64_t free_threaded;
};

__attribute__((used, visibility("default")))
const struct debug_offsets_head _PyRuntime = {
	{ 'x', 'd', 'e', 'b', 'u', 'g', 'p', 'y' }, 0x030d00f0, 1
};

static char self[4096];

static void test_debug_offsets_free_threaded(void **state)
{
	(void)state;
	assert_int_equal(gs_symfree_free_threaded(self, "/usr/bin/python3.13"), 1);
	assert_int_equal(gs_symfree_free_threaded(self, "/opt/lib/libpython3.13.so.1.0"), 1);
}

static void test_t_abi_suffix(void **state)
{
	(void)state;
	/* the name alone decides: the file need not exist */
	assert_int_equal(gs_symfree_free_threaded("/nonexistent", "/usr/bin/python3.13t"), 1);
	assert_int_equal(gs_symfree_free_threaded("/nonexistent",
						  "/usr/local/lib/libpython3.14t.so.1.0"), 1);
	assert_int_equal(gs_symfree_free_threaded("/nonexistent", "python3.13"), 0);
	assert_int_equal(gs_symfree_free_threaded("/nonexistent",
						  "/usr/lib/libpython3.13.so.1.0"), 0);
	/* a "t" that is not the ABI flag after the version */
	assert_int_equal(gs_symfree_free_threaded("/nonexistent", "/opt/test/python3.13"), 0);
}

static void test_no_debug_offsets(void **state)
{
	(void)state;
	/* a file without _PyRuntime (the shell): not free-threaded */
	assert_int_equal(gs_symfree_free_threaded("/bin/sh", "python3.13"), 0);
}

int main(void)
{
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = 0;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_debug_offsets_free_threaded),
		cmocka_unit_test(test_t_abi_suffix),
		cmocka_unit_test(test_no_debug_offsets),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
