/*
 * Model of runtime/policy_legacy.c (CPython 2.7): a binary lock released and
 * re-taken by the holder every check_ticks (legacy_check) or around a
 * blocking region, with nothing that keeps the releaser from winning it back.
 * Two implementations, as in the C file: mutex + cond + `locked` flag (the
 * default) and, with -DUSE_SEM, a sem_t (params.legacy_use_sem).
 *
 * Each of NT threads attaches, does ROUNDS release/re-take pairs (interval
 * release or blocking region: the lock protocol is the same) and detaches.
 * Checked: mutual exclusion (owner word, and the semaphore never exceeds 1),
 * no deadlock and no lost wake-up (the waits are untimed, so a waiter nobody
 * signals is an invalid end state).  Not checked: bounded waiting, which this
 * policy does not have (that is the point of it).
 * Line numbers: runtime/policy_legacy.c as of commit 3ba75d7.
 *
 * Mutants (ctest expects their error): -DMUTANT_NOSIGNAL drops the signal at :87;
 * -DMUTANT_IF waits once (`if`) instead of looping at :64.
 */
#include "pthread.pml"

#ifndef NT
#define NT 3
#endif
#ifndef ROUNDS
#define ROUNDS 2
#endif

#ifdef USE_SEM
byte sem = 1;                                     /* sem_init(&l->sem, 0, 1) */

inline take()                                     /* legacy_take, :51 */
{
	atomic { sem > 0 -> sem-- }               /* :56 sem_trywait / :58 sem_wait */
}

inline drop()                                     /* legacy_drop, :74 */
{
	atomic { assert(sem == 0); sem++ }        /* :81 sem_post */
}
#else
byte l_mutex, l_cond;
bit locked;

inline take()                                     /* legacy_take, :51 */
{
	mutex_lock(l_mutex);                      /* :63 */
#ifdef MUTANT_IF
	if
#else
	do
#endif
	:: locked -> cond_wait(l_cond, l_mutex)   /* :64-66 */
#ifdef MUTANT_IF
	:: else -> skip
	fi;
#else
	:: else -> break
	od;
#endif
	locked = 1;                               /* :68 */
	mutex_unlock(l_mutex)                     /* :69 */
}

inline drop()                                     /* legacy_drop, :74 */
{
	mutex_lock(l_mutex);                      /* :84 */
	locked = 0;                               /* :85 */
	mutex_unlock(l_mutex);                    /* :86 */
#ifndef MUTANT_NOSIGNAL
	cond_signal(l_cond)                       /* :87, after the unlock */
#else
	skip
#endif
}
#endif

inline acquire() { take(); gs_enter() }
inline release() { gs_leave(); drop() }

active [NT] proctype thread()
{
	byte r;

	acquire();                                /* gil_attach */
	do
	:: r < ROUNDS -> r++; release(); acquire() /* legacy_check :96-97 */
	:: else -> break
	od;
	release()                                 /* gil_detach */
}
