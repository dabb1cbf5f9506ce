/* SPDX-License-Identifier: MIT */
/* Symbol names gilscope record may probe as a function's entry
 * (tools/bpf/symname.c), including the names Debian's LTO-built
 * python3.11 debug symbols have. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "symname.h"

static void test_exact_and_clones(void **state)
{
	(void)state;
	assert_true(gs_symname_is_entry("take_gil", "take_gil"));
	assert_true(gs_symname_is_entry("take_gil.lto_priv.0", "take_gil"));
	assert_true(gs_symname_is_entry("drop_gil.constprop.0", "drop_gil"));
	assert_true(gs_symname_is_entry("drop_gil.isra.0", "drop_gil"));
	assert_true(gs_symname_is_entry("drop_gil.constprop.0.isra.0", "drop_gil"));
}

static void test_fragments_rejected(void **state)
{
	(void)state;
	assert_false(gs_symname_is_entry("take_gil.cold", "take_gil"));
	assert_false(gs_symname_is_entry("take_gil.lto_priv.0.cold", "take_gil"));
	assert_false(gs_symname_is_entry("drop_gil.lto_priv.0.cold", "drop_gil"));
	assert_false(gs_symname_is_entry("drop_gil.part.0", "drop_gil"));
	assert_false(gs_symname_is_entry("drop_gil.isra.0.part.1", "drop_gil"));
	assert_false(gs_symname_is_entry("take_gil.constprop.0.cold", "take_gil"));
	assert_false(gs_symname_is_entry("take_gil.cold.1", "take_gil"));
}

static void test_other_functions_rejected(void **state)
{
	(void)state;
	assert_false(gs_symname_is_entry("take_gil_impl", "take_gil"));
	assert_false(gs_symname_is_entry("take_gi", "take_gil"));
	assert_false(gs_symname_is_entry("_take_gil", "take_gil"));
	assert_false(gs_symname_is_entry("take_gil.", "take_gil"));
	assert_false(gs_symname_is_entry("take_gil..0", "take_gil"));
	/* a prefix of a longer exported name is not that name */
	assert_false(gs_symname_is_entry("PyEval_SaveThreadState", "PyEval_SaveThread"));
	assert_true(gs_symname_is_entry("PyEval_SaveThread", "PyEval_SaveThread"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_and_clones),
		cmocka_unit_test(test_fragments_rejected),
		cmocka_unit_test(test_other_functions_rejected),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
