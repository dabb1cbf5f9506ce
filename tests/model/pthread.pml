/*
 * POSIX mutexes and condition variables for the libgil policy models.
 *
 * Threads are the processes 0..NT-1 of one `active [NT] proctype`, so _pid
 * doubles as a bit index.  A mutex holds its owner's _pid + 1 (0: free).  A
 * condition variable is the set of its sleepers as a bitmask: cond_signal
 * removes one sleeper, chosen nondeterministically (POSIX does not say which),
 * and a sleeper only proceeds once it is removed and can get the mutex back.
 *
 * Wake-ups that POSIX allows without a signal are modelled explicitly:
 *  - cond_timedwait may time out whenever TIMEOUT_OK(c) holds.  The liveness
 *    runs (-DLIVENESS) let a timeout fire only while the GIL is held, because
 *    a waiter that must sleep out its whole interval while the GIL is free is
 *    exactly a lost wake-up; the safety runs allow timeouts at any moment.
 *  - cond_wait wakes spuriously when compiled with -DSPURIOUS.
 * A thread left blocked in any wait when nobody else can move is an invalid
 * end state for spin, which is how deadlocks and lost wake-ups are reported.
 */
#ifndef PTHREAD_PML
#define PTHREAD_PML

#define BIT (1 << _pid)

#define mutex_lock(m)   atomic { m == 0 -> m = _pid + 1 }
#define mutex_unlock(m) assert(m == _pid + 1); m = 0

/* Release the mutex and join the sleepers in one step (POSIX: atomically). */
#define cond_sleep(c, m) atomic { assert(m == _pid + 1); m = 0; c = c | BIT }

/* pthread_cond_wait(c, m) */
#ifdef SPURIOUS
#define cond_wait(c, m)                                                  \
	cond_sleep(c, m);                                                \
	if                                                               \
	:: atomic { (c & BIT) == 0 && m == 0 -> m = _pid + 1 }           \
	:: atomic { (c & BIT) != 0 && m == 0 -> c = c & ~BIT; m = _pid + 1 } \
	fi
#else
#define cond_wait(c, m)                                                  \
	cond_sleep(c, m);                                                \
	atomic { (c & BIT) == 0 && m == 0 -> m = _pid + 1 }
#endif

/* pthread_cond_timedwait(c, m, deadline); tmo := 1 when it timed out. */
#define cond_timedwait(c, m, tmo, ok)                                    \
	cond_sleep(c, m);                                                \
	if                                                               \
	:: atomic { (c & BIT) == 0 && m == 0 -> m = _pid + 1; tmo = 0 }  \
	:: atomic { (c & BIT) != 0 && m == 0 && (ok) ->                  \
			c = c & ~BIT; m = _pid + 1; tmo = 1 }            \
	fi

/* pthread_cond_signal(c): wakes one sleeper if there is any. */
#define cond_signal(c)                                                   \
	atomic {                                                         \
		if                                                       \
		:: c == 0 -> skip                                        \
		:: (c & 1) -> c = c & ~1                                 \
		:: (c & 2) -> c = c & ~2                                 \
		:: (c & 4) -> c = c & ~4                                 \
		:: (c & 8) -> c = c & ~8                                 \
		fi                                                       \
	}

/*
 * The GIL itself, as gil.c sees it: `owner` is the independent owner word the
 * properties are stated on (NONE: free).  gs_enter runs right after
 * ops->take returns (gil.c gil_acquire), gs_leave right before ops->drop is
 * called (gil.c gil_release).
 */
#define NONE 255
byte owner = NONE;

/* When a timed wait may time out (see the top of this file). */
#ifdef LIVENESS
#define TIMEOUT_OK (owner != NONE)
#else
#define TIMEOUT_OK true
#endif

#define gs_enter()  atomic { assert(owner == NONE); owner = _pid }
#define gs_leave()  atomic { assert(owner == _pid); owner = NONE }

#endif
