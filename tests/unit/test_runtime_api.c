/* SPDX-License-Identifier: MIT */
/* The public libgil API, call by call (docs/api.md). */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gil.h"

static void test_names_and_defaults(void **state)
{
	(void)state;
	static const char *const names[] = {"legacy", "cpython", "fifo", "prio"};
	for (int i = 0; i < 4; i++) {
		int p = gil_policy_from_name(names[i]);
		assert_int_equal(p, i + 1);
		assert_string_equal(gil_policy_name((enum gil_policy)p), names[i]);
	}
	assert_int_equal(gil_policy_from_name("nope"), -1);
	assert_string_equal(gil_policy_name((enum gil_policy)99), "unknown");

	struct gil_params p;
	gil_params_default(&p, GIL_POLICY_PRIO);
	assert_int_equal(p.policy, GIL_POLICY_PRIO);
	assert_int_equal(p.interval_us, 5000);
	assert_int_equal(p.check_ticks, 100);
	assert_int_equal(p.prio_inherit, 1);
	assert_int_equal(p.legacy_use_sem, 0);
}

static void test_create_rejects_bad_params(void **state)
{
	(void)state;
	struct gil_params p;
	gil_params_default(&p, GIL_POLICY_CPYTHON);
	p.policy = (enum gil_policy)42;
	errno = 0;
	assert_null(gil_create(&p));
	assert_int_equal(errno, EINVAL);
	gil_params_default(&p, GIL_POLICY_LEGACY);
	p.check_ticks = UINT_MAX;
	errno = 0;
	assert_null(gil_create(&p));
	assert_int_equal(errno, EINVAL);
	/* zeros mean defaults */
	gil_params_default(&p, GIL_POLICY_FIFO);
	p.interval_us = 0;
	p.check_ticks = 0;
	gil_runtime *rt = gil_create(&p);
	assert_non_null(rt);
	assert_int_equal(gil_runtime_params(rt)->interval_us, 5000);
	assert_int_equal(gil_runtime_params(rt)->check_ticks, 100);
	gil_destroy(rt);
	gil_destroy(NULL);
}

static void test_attach_identity_and_counters(void **state)
{
	(void)state;
	for (int policy = GIL_POLICY_LEGACY; policy <= GIL_POLICY_PRIO; policy++) {
		struct gil_params p;
		gil_params_default(&p, (enum gil_policy)policy);
		gil_runtime *rt = gil_create(&p);
		assert_non_null(rt);
		gil_thread *t = gil_attach(rt, "a-name-that-is-much-longer-than-31-bytes",
					   GIL_ROLE_MAIN, 0);
		assert_non_null(t);
		assert_int_equal(gil_thread_tid(t), (pid_t)syscall(SYS_gettid));
		assert_int_equal(strlen(gil_thread_name(t)), 31);
		for (int i = 0; i < 1000; i++)
			gil_check(t);
		gil_blocking_begin(t, GIL_BLOCK_SLEEP);
		gil_blocking_end(t, 0);
		/* Nobody waits: yield keeps the GIL. */
		gil_yield(t);
		struct gil_thread_stats st;
		gil_thread_stats(t, &st);
		assert_int_equal(st.releases_blocking, 1);
		assert_int_equal(st.contended, 0);
		assert_int_equal(st.releases_forced, 0);
		assert_int_equal(st.acquisitions,
				 1 + st.releases_blocking + st.releases_interval);
		/* legacy switches every 100 ticks even alone, as 2.7 did */
		if (policy == GIL_POLICY_LEGACY)
			assert_true(st.releases_interval >= 9);
		else
			assert_int_equal(st.releases_interval, 0);
		struct gil_runtime_stats rs;
		gil_runtime_stats(rt, &rs);
		assert_int_equal(rs.acquisitions, st.acquisitions);
		assert_int_equal(rs.handoffs_attempted, 0);
		assert_int_equal(rs.switches, 1); /* only the first acquisition */
		gil_detach(t);
		gil_destroy(rt);
	}
}

/* gh-89977: a call that would not block keeps the GIL. */
struct pipe_io {
	int fd;
	int peer_fd;  /* >= 0: the blocking call first plays the peer */
	int calls_nb, calls_blocking;
};

static ssize_t try_read(void *arg, int nonblocking)
{
	struct pipe_io *io = arg;
	char c;
	if (nonblocking) {
		io->calls_nb++;
		int fl = fcntl(io->fd, F_GETFL);
		fcntl(io->fd, F_SETFL, fl | O_NONBLOCK);
		ssize_t r = read(io->fd, &c, 1);
		int e = errno;
		fcntl(io->fd, F_SETFL, fl);
		errno = e;
		return r;
	}
	io->calls_blocking++;
	if (io->peer_fd >= 0 && write(io->peer_fd, "y", 1) != 1)
		return -1;
	return read(io->fd, &c, 1);
}

static void test_call_maybe_blocking(void **state)
{
	(void)state;
	struct gil_params p;
	gil_params_default(&p, GIL_POLICY_PRIO);
	gil_runtime *rt = gil_create(&p);
	gil_thread *t = gil_attach(rt, "io", GIL_ROLE_IO, 0);
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	struct pipe_io io = { fds[0], -1, 0, 0 };

	/* Data is there: one non-blocking call, the GIL is never released. */
	assert_int_equal(write(fds[1], "x", 1), 1);
	assert_int_equal(gil_call_maybe_blocking(t, GIL_BLOCK_READ, try_read, &io), 1);
	struct gil_thread_stats st;
	gil_thread_stats(t, &st);
	assert_int_equal(st.releases_blocking, 0);
	assert_int_equal(io.calls_nb, 1);
	assert_int_equal(io.calls_blocking, 0);

	/* Empty pipe, writer closed: EAGAIN is never seen because read
	 * returns 0 (EOF) at once: still no release. */
	close(fds[1]);
	assert_int_equal(gil_call_maybe_blocking(t, GIL_BLOCK_READ, try_read, &io), 0);
	gil_thread_stats(t, &st);
	assert_int_equal(st.releases_blocking, 0);

	/* Would block: released around the blocking call. */
	int fds2[2];
	assert_int_equal(pipe(fds2), 0);
	io.fd = fds2[0];
	io.calls_nb = io.calls_blocking = 0;
	io.peer_fd = fds2[1];
	assert_int_equal(gil_call_maybe_blocking(t, GIL_BLOCK_READ, try_read, &io), 1);
	gil_thread_stats(t, &st);
	assert_int_equal(st.releases_blocking, 1);
	assert_int_equal(io.calls_nb, 1);
	assert_int_equal(io.calls_blocking, 1);
	close(fds[0]);
	close(fds2[0]);
	close(fds2[1]);
	gil_detach(t);
	gil_destroy(rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_and_defaults),
		cmocka_unit_test(test_create_rejects_bad_params),
		cmocka_unit_test(test_attach_identity_and_counters),
		cmocka_unit_test(test_call_maybe_blocking),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
