/* SPDX-License-Identifier: MIT */
/*
 * libgil: a global interpreter lock for C interpreters, with selectable
 * policies and built-in tracing. Reference: docs/api.md.
 *
 * Life of a thread:
 *
 *     gil_thread *t = gil_attach(rt, "worker", GIL_ROLE_CPU, 0);  // holds GIL
 *     for (;;) {
 *             run_one_bytecode();
 *             gil_check(t);              // eval breaker: may switch threads
 *     }
 *     gil_blocking_begin(t, GIL_BLOCK_RECV); // Py_BEGIN_ALLOW_THREADS
 *     n = recv(...);
 *     gil_blocking_end(t, n);                // Py_END_ALLOW_THREADS
 *     gil_detach(t);                         // releases GIL, frees t
 *
 * Every call except gil_create/gil_destroy/gil_thread_stats is made by the
 * thread that owns the gil_thread handle.
 */
#ifndef GIL_H
#define GIL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* libgil is built with hidden visibility: what carries GIL_API is its whole
 * dynamic interface (docs/api.md lists it; a test compares the two). */
#if defined(__GNUC__)
#define GIL_API __attribute__((visibility("default")))
#else
#define GIL_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

enum gil_policy {
	GIL_POLICY_LEGACY = 1,  /* CPython 2.7: release+re-acquire every N ticks */
	GIL_POLICY_CPYTHON = 2, /* CPython 3.2-3.13 ceval_gil.c */
	GIL_POLICY_FIFO = 3,    /* direct handoff to the longest waiter */
	GIL_POLICY_PRIO = 4,    /* convoy-free, priority aware (docs/policies.md) */
};

/* Same values as the event catalog's gs_thread_role / gs_blocking_kind. */
enum gil_role {
	GIL_ROLE_OTHER = 0,
	GIL_ROLE_MAIN = 1,
	GIL_ROLE_CPU = 2,
	GIL_ROLE_IO = 3,
	GIL_ROLE_SERVER = 4,
	GIL_ROLE_CLIENT = 5,
	GIL_ROLE_HIGH_PRIO = 6,
};

enum gil_block_kind {
	GIL_BLOCK_OTHER = 0,
	GIL_BLOCK_READ = 1,
	GIL_BLOCK_WRITE = 2,
	GIL_BLOCK_RECV = 3,
	GIL_BLOCK_SEND = 4,
	GIL_BLOCK_SLEEP = 5,
	GIL_BLOCK_FSYNC = 6,
	GIL_BLOCK_ACCEPT = 7,
};

/* The defaults of CPython itself: sys.setswitchinterval 5 ms (3.2+) and
 * sys.setcheckinterval 100 ticks (2.x). */
#define GIL_DEFAULT_INTERVAL_US 5000
#define GIL_DEFAULT_CHECK_TICKS 100

struct gil_params {
	enum gil_policy policy;
	/* cpython, fifo, prio: how long a waiter waits before asking the
	 * holder to drop (CPython's sys.setswitchinterval).
	 * 0 = GIL_DEFAULT_INTERVAL_US. */
	unsigned interval_us;
	/* legacy: eval-breaker checks between release/re-acquire.
	 * 0 = GIL_DEFAULT_CHECK_TICKS. */
	unsigned check_ticks;
	/* legacy: use a sem_t instead of mutex+cond+flag (CPython 2.7 on
	 * Linux defines USE_SEMAPHORES). */
	int legacy_use_sem;
	/* prio: lend a waiting thread's OS priority to a preempted holder
	 * (priority inheritance). Default on; needs CAP_SYS_NICE to raise. */
	int prio_inherit;
};

typedef struct gil_runtime gil_runtime;
typedef struct gil_thread gil_thread;

/* Fills *p with the defaults of policy. */
GIL_API void gil_params_default(struct gil_params *p, enum gil_policy policy);
/* "legacy", "cpython", "fifo", "prio" -> policy; -1 when unknown. */
GIL_API int gil_policy_from_name(const char *name);
GIL_API const char *gil_policy_name(enum gil_policy policy);

/* NULL with errno set (EINVAL for bad params, ENOMEM). */
GIL_API gil_runtime *gil_create(const struct gil_params *params);
/* All threads must have detached. */
GIL_API void gil_destroy(gil_runtime *rt);
GIL_API const struct gil_params *gil_runtime_params(const gil_runtime *rt);

/*
 * Registers the calling thread and takes the GIL for it. prio is the
 * thread's importance to the prio policy (higher wins; 0 = normal); the
 * OS priority (nice, SCHED_FIFO) is read from the thread itself.
 * name is copied (up to 31 bytes).
 */
GIL_API gil_thread *gil_attach(gil_runtime *rt, const char *name,
			       enum gil_role role, int prio);
/* Releases the GIL and frees t. */
GIL_API void gil_detach(gil_thread *t);

/*
 * The eval-breaker check, called between units of work while holding the
 * GIL. It costs one relaxed load plus a decrement when nobody waits; the
 * slow path may give the GIL to another thread and return after it is
 * taken back.
 */
struct gil_thread_hot {
	_Atomic unsigned *eval_breaker; /* non-zero: someone wants the GIL */
	int ticks_left;                 /* legacy tick countdown */
};
GIL_API void gil_check_slow(gil_thread *t);
static inline void gil_check(gil_thread *t)
{
	struct gil_thread_hot *hot = (struct gil_thread_hot *)t;
	if (__builtin_expect(atomic_load_explicit(hot->eval_breaker,
						  memory_order_relaxed) != 0 ||
				     --hot->ticks_left < 0,
			     0))
		gil_check_slow(t);
}

/* Py_BEGIN_ALLOW_THREADS / Py_END_ALLOW_THREADS around a blocking call.
 * bytes: what the call transferred (for the trace), 0 if not applicable. */
GIL_API void gil_blocking_begin(gil_thread *t, enum gil_block_kind kind);
GIL_API void gil_blocking_end(gil_thread *t, size_t bytes);

/*
 * The fix proposed in CPython gh-89977: try the call without blocking
 * first and release the GIL only if it would block. call(arg, nonblocking)
 * returns >= 0 on success, or -1 with errno; with nonblocking set it
 * returns -1 with errno EAGAIN/EWOULDBLOCK when it would block, and is then
 * called again with nonblocking clear and the GIL released.
 */
typedef ssize_t (*gil_blocking_fn)(void *arg, int nonblocking);
GIL_API ssize_t gil_call_maybe_blocking(gil_thread *t,
					enum gil_block_kind kind,
					gil_blocking_fn call, void *arg);

/* Gives the GIL to a waiter if there is one, then takes it back
 * (like time.sleep(0) / sched_yield inside the interpreter). */
GIL_API void gil_yield(gil_thread *t);

/*
 * Called by the thread itself when the policy made it release (a forced
 * drop or a legacy tick) and it is about to ask for the GIL again, before
 * its acquire_request. A replay uses it to reproduce how long the recorded
 * thread took to come back (its wake-up on the original machine), which is
 * the thread's, not the policy's. NULL removes it.
 */
typedef void (*gil_return_fn)(gil_thread *t, void *arg);
GIL_API void gil_thread_on_return(gil_thread *t, gil_return_fn fn, void *arg);

/*
 * Code locations: where the calling thread's interpreter code is, for
 * traces (docs/api.md, "Code locations"). gil_code_location() interns
 * (function, file, line) once and returns its id (0 if the table of 4096
 * is full); gil_set_code_location() makes an id the calling thread's
 * current location (0: none), a thread-local store. While a recorder
 * listens, each acquire_request and release carries the thread's current
 * location, so reports attribute GIL time to it (report --folded,
 * --top-code). GIL_SET_CODE_LOCATION() does both for the enclosing
 * function and line, interning once per call site.
 */
GIL_API uint32_t gil_code_location(const char *function, const char *file,
				   int line);
GIL_API void gil_set_code_location(uint32_t location);
#define GIL_SET_CODE_LOCATION()                                               \
	do {                                                                  \
		static uint32_t gil_loc_;                                     \
		uint32_t gil_l_ = __atomic_load_n(&gil_loc_, __ATOMIC_RELAXED); \
		if (__builtin_expect(!gil_l_, 0)) {                           \
			gil_l_ = gil_code_location(__func__, __FILE__, __LINE__); \
			__atomic_store_n(&gil_loc_, gil_l_, __ATOMIC_RELAXED);  \
		}                                                             \
		gil_set_code_location(gil_l_);                                \
	} while (0)

/* Counters, readable from any thread at any time (relaxed snapshots). */
struct gil_thread_stats {
	uint64_t acquisitions;     /* times the GIL was taken */
	uint64_t contended;        /* of those, times the thread had to wait */
	uint64_t releases_blocking;
	uint64_t releases_interval; /* legacy tick releases */
	uint64_t releases_forced;   /* drop requests honoured */
	uint64_t drop_requests;     /* drop requests this thread made */
	uint64_t hold_ns;           /* total time holding */
	uint64_t wait_ns;           /* total time waiting */
	uint64_t checks;            /* gil_check slow-path entries */
};
GIL_API void gil_thread_stats(const gil_thread *t, struct gil_thread_stats *out);
GIL_API pid_t gil_thread_tid(const gil_thread *t);
GIL_API const char *gil_thread_name(const gil_thread *t);

struct gil_runtime_stats {
	uint64_t acquisitions;
	uint64_t handoffs_attempted; /* releases while >= 1 thread waited */
	uint64_t handoffs_failed;    /* ... after which the releaser re-took it */
	uint64_t forced_drops;
	uint64_t drop_requests;
	uint64_t switches;           /* acquisitions by a thread != last holder */
};
GIL_API void gil_runtime_stats(const gil_runtime *rt, struct gil_runtime_stats *out);

#ifdef __cplusplus
}
#endif
#endif
