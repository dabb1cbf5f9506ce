/* SPDX-License-Identifier: MIT */
/*
 * CPython 2.7's GIL call sites (tools/bpf/symfree.c gs_py27_gil_sites) in a
 * build that calls the lock functions directly, not through a PLT: a
 * static CPython (no libpython, Debian's python2.7 layout) or one built
 * with -fno-semantic-interposition. None is installed on the test machines
 * (the pyenv 2.7 build is --enable-shared: its calls go through the PLT,
 * tests/integration/ebpf_cpython27.sh), so this program exports functions
 * named and shaped like ceval.c's (the check-interval switch, SaveThread,
 * RestoreThread) and the locator reads its own file: every site must be
 * the call, or the instruction after it, that ceval.c's code has there,
 * and no site may lie between the eval loop's release and its re-take.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <capstone/capstone.h>
#include <cmocka.h>
#include <linux/types.h>

#include "elfsym.h"
#include "gilscope_bpf.h"
#include "symfree.h"
#include "trace_format.h"

/* not instrumented: a sanitizer's checks would put branches and calls
 * between the release and the re-take, which ceval.c has not */
#define EXPORT                                                             \
	__attribute__((noinline, noipa, used, visibility("default"),       \
		       no_sanitize("address", "undefined", "thread")))

static volatile long sink;
static void *volatile interpreter_lock = (void *)&sink;
static volatile int ticker;

EXPORT int PyThread_acquire_lock(void *lock, int waitflag)
{
	sink += (long)(uintptr_t)lock + waitflag;
	return 1;
}

EXPORT void PyThread_release_lock(void *lock)
{
	sink -= (long)(uintptr_t)lock;
}

EXPORT void *PyThreadState_Swap(void *tstate)
{
	sink ^= (long)(uintptr_t)tstate;
	return sink == 42 ? (void *)&sink : NULL;
}

/* ceval.c's check interval: release, re-take, nothing in between */
EXPORT int PyEval_EvalFrameEx(void *tstate, int n)
{
	int r = 0;
	for (int i = 0; i < n; i++) {
		if (--ticker < 0) {
			ticker = 100;
			if (PyThreadState_Swap(NULL) != tstate)
				r++;
			PyThread_release_lock(interpreter_lock);
			PyThread_acquire_lock(interpreter_lock, 1);
			if (PyThreadState_Swap(tstate) != NULL)
				r--;
		}
		r += i & 3;
	}
	return r;
}

EXPORT void *PyEval_SaveThread(void)
{
	void *t = PyThreadState_Swap(NULL);
	if (interpreter_lock)
		PyThread_release_lock(interpreter_lock);
	return t;
}

EXPORT void PyEval_RestoreThread(void *tstate)
{
	void *lock = interpreter_lock;
	if (lock) {
		int err = errno;
		PyThread_acquire_lock(lock, 1);
		errno = err;
	}
	PyThreadState_Swap(tstate);
}

static char self[4096];
static uintptr_t bias;

/* The call or jmp rel32 at link-time address vaddr reaches fn. */
static int branches_to(uint64_t vaddr, const void *fn)
{
	const unsigned char *p = (const unsigned char *)(uintptr_t)(vaddr + bias);
	if (p[0] != 0xe8 && p[0] != 0xe9)
		return 0;
	int32_t rel;
	memcpy(&rel, p + 1, 4);
	return (uintptr_t)(p + 5 + rel) == (uintptr_t)fn;
}

static const struct gs_py27_site *only(const struct gs_py27_sites *s, int role,
				       const char *caller)
{
	const struct gs_py27_site *found = NULL;
	for (int i = 0; i < s->n; i++)
		if (s->site[i].role == role && !strcmp(s->site[i].caller, caller)) {
			assert_null(found);
			found = &s->site[i];
		}
	assert_non_null(found);
	return found;
}

static void test_direct_calls(void **state)
{
	(void)state;
	struct gs_py27_sites s;
	char msg[512] = "";
	int r = gs_py27_gil_sites(self, &s, msg, sizeof(msg));
	if (r)
		fail_msg("%s", msg);
	/* eval loop: the release call, then after the re-take; SaveThread's
	 * release; RestoreThread's request and after it */
	assert_int_equal(s.n, 5);
	const struct gs_py27_site *tick = only(&s, GSB_PY2_RELEASE_TICK, "PyEval_EvalFrameEx");
	const struct gs_py27_site *held = only(&s, GSB_PY2_ACQUIRED, "PyEval_EvalFrameEx");
	const struct gs_py27_site *save = only(&s, GSB_PY2_RELEASE_SAVE, "PyEval_SaveThread");
	const struct gs_py27_site *req = only(&s, GSB_PY2_REQUEST, "PyEval_RestoreThread");
	const struct gs_py27_site *back = only(&s, GSB_PY2_ACQUIRED, "PyEval_RestoreThread");
	assert_true(branches_to(tick->vaddr, PyThread_release_lock));
	assert_true(branches_to(save->vaddr, PyThread_release_lock));
	assert_true(branches_to(req->vaddr, PyThread_acquire_lock));
	assert_int_equal(tick->kind, GS_PROBE_CALL);
	assert_int_equal(held->kind, GS_PROBE_AFTER_CALL);
	assert_int_equal(back->kind, GS_PROBE_AFTER_CALL);
	assert_true(back->vaddr > req->vaddr);

	/* from the release call to the held site: the release call, straight
	 * code, the acquire call, straight code; the held site's instruction
	 * is one the kernel emulates, and nothing else is probed there */
	csh h;
	cs_insn *in = NULL;
	assert_int_equal(cs_open(CS_ARCH_X86, CS_MODE_64, &h), CS_ERR_OK);
	size_t len = held->vaddr - tick->vaddr + 16;
	size_t n = cs_disasm(h, (const uint8_t *)(uintptr_t)(tick->vaddr + bias), len,
			     tick->vaddr, 0, &in);
	int calls = 0, acquire_at = -1, reached = 0;
	for (size_t i = 0; i < n; i++) {
		if (in[i].address == held->vaddr) {
			assert_true(gs_insn_emulated(in[i].bytes, in[i].size));
			reached = 1;
			break;
		}
		if (in[i].id == X86_INS_CALL) {
			calls++;
			if (branches_to(in[i].address, PyThread_acquire_lock))
				acquire_at = (int)i;
		}
		for (int k = 0; k < s.n; k++)
			assert_false(s.site[k].vaddr > tick->vaddr &&
				     s.site[k].vaddr == in[i].address);
	}
	assert_true(reached);
	assert_int_equal(calls, 2); /* release, then the re-take */
	assert_true(acquire_at > 0);
	if (n)
		cs_free(in, n);
	cs_close(&h);
}

int main(void)
{
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = 0;
	Dl_info info;
	if (!dladdr((void *)PyEval_EvalFrameEx, &info))
		return 1;
	bias = (uintptr_t)info.dli_fbase;
	/* keep the functions alive and their code realistic */
	PyEval_RestoreThread(PyEval_SaveThread());
	sink += PyEval_EvalFrameEx(NULL, 300);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_direct_calls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
