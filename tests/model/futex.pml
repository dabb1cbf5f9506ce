/*
 * The direct handoff of the fifo and prio policies (gil.c gil_grant_give,
 * gil_grant_unlock_wake, gil_futex_wait_until): every thread has its own
 * grant word, and a futex on it.  `fsleep` has a bit per thread asleep on
 * its own word.  FUTEX_WAIT checks the word and goes to sleep in one step
 * (the kernel does that under its hash-bucket lock), which is what makes a
 * wake-up issued after the waker dropped the policy mutex safe.
 *
 * A sleeper leaves when woken, when its deadline passes (TIMEOUT_OK, see
 * pthread.pml), or, with -DSPURIOUS, for no reason (EINTR).
 */
#ifndef FUTEX_PML
#define FUTEX_PML

/* gil_thread.grant */
#define G_SLEEP 0
#define G_GIVEN 1
#define G_OWNED 2
#define G_SPIN  3

byte fsleep;

/* gil_futex_wait_until(&grant[_pid], val, deadline); tmo := 1 on timeout */
#ifdef SPURIOUS
#define futex_wait_own(w, val, tmo, ok)                                  \
	atomic { if :: w == val -> fsleep = fsleep | BIT :: else -> skip fi }; \
	if                                                               \
	:: atomic { (fsleep & BIT) == 0 -> tmo = 0 }                     \
	:: atomic { (fsleep & BIT) != 0 && (ok) -> fsleep = fsleep & ~BIT; tmo = 1 } \
	:: atomic { (fsleep & BIT) != 0 -> fsleep = fsleep & ~BIT; tmo = 0 } \
	fi
#else
#define futex_wait_own(w, val, tmo, ok)                                  \
	atomic { if :: w == val -> fsleep = fsleep | BIT :: else -> skip fi }; \
	if                                                               \
	:: atomic { (fsleep & BIT) == 0 -> tmo = 0 }                     \
	:: atomic { (fsleep & BIT) != 0 && (ok) -> fsleep = fsleep & ~BIT; tmo = 1 } \
	fi
#endif

/* gil_futex_wake_one(&grant[x]) */
#define futex_wake(x) fsleep = fsleep & ~(1 << (x))

#endif
