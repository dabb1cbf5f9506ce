/*
 * Model of runtime/policy_cpython.c (CPython 3.2-3.13 ceval_gil): a mutex +
 * cond protected `locked` flag, timed waits that post a drop request
 * (rt->eval_breaker) when a whole interval passed without a switch, and
 * FORCE_SWITCHING: a releaser that saw the request waits on switch_cond until
 * another thread has taken the GIL.
 *
 * Each of NT threads attaches (gil_attach -> take), does ROUNDS switches, each
 * either a blocking region (gil_blocking_begin/end: drop then take) or, when a
 * drop request is pending, a forced switch at the eval breaker
 * (cpython_check), then detaches (gil_detach: drop, cpython_thread_fini).
 *
 * Checked: mutual exclusion (assertions on the owner word in pthread.pml),
 * no deadlock and no lost wake-up (spin's invalid end states: every thread
 * must reach the end of its body; with -DLIVENESS a timed wait cannot time
 * out while the GIL is free, so a waiter that is never signalled is stuck).
 * Line numbers: runtime/policy_cpython.c as of commit 90a4a8e.
 *
 * Mutants (ctest expects their error, to show the checks can fail):
 * -DMUTANT_NOSIGNAL drops the signal at :123 (a lost wake-up).
 */
#include "pthread.pml"

#ifndef NT
#define NT 3
#endif
#ifndef ROUNDS
#define ROUNDS 2
#endif

byte g_mutex, switch_mutex;       /* struct cpython_gil */
byte g_cond, switch_cond;
bit locked;
byte last_holder = NONE;          /* NONE plays NULL */
byte switch_number;               /* at most NT*(ROUNDS+1) switches: no wrap */
bit eval_breaker;                 /* rt->eval_breaker = gil_drop_request */

inline take()                                     /* cpython_take, :74 */
{
	mutex_lock(g_mutex);                      /* :79 */
	do
	:: locked ->                              /* :80 */
		saved = switch_number;            /* :82 */
		cond_timedwait(g_cond, g_mutex, tmo, TIMEOUT_OK); /* :84 */
		if
		:: tmo && locked && switch_number == saved -> /* :86-88 */
			eval_breaker = 1          /* :89 */
		:: else -> skip
		fi;
		saved = 0; tmo = 0                /* dead from here: fewer states */
	:: else -> break
	od;
	mutex_lock(switch_mutex);                 /* :96 */
	locked = 1;                               /* :97 */
	if
	:: last_holder != _pid ->                 /* :98 */
		last_holder = _pid;               /* :99 */
		switch_number++                   /* :100 */
	:: else -> skip
	fi;
	cond_signal(switch_cond);                 /* :102 */
	mutex_unlock(switch_mutex);               /* :103 */
	if
	:: eval_breaker -> eval_breaker = 0       /* :104-105 */
	:: else -> skip
	fi;
	mutex_unlock(g_mutex)                     /* :106 */
}

inline drop(exiting)                              /* cpython_drop, :110 */
{
	if
	:: !exiting -> last_holder = _pid         /* :119-120, no mutex, as CPython */
	:: else -> skip
	fi;
	mutex_lock(g_mutex);                      /* :121 */
	locked = 0;                               /* :122 */
#ifndef MUTANT_NOSIGNAL
	cond_signal(g_cond);                      /* :123 */
#endif
	mutex_unlock(g_mutex);                    /* :124 */
	if
	:: !exiting && eval_breaker ->            /* :129 */
		mutex_lock(switch_mutex);         /* :130 */
		if
		:: last_holder == _pid ->         /* :131 */
			eval_breaker = 0;         /* :132 */
			cond_wait(switch_cond, switch_mutex) /* :135, once */
		:: else -> skip
		fi;
		mutex_unlock(switch_mutex)        /* :140 */
	:: else -> skip
	fi
}

inline thread_fini()                              /* cpython_thread_fini, :153 */
{
	mutex_lock(switch_mutex);
	if
	:: last_holder == _pid -> last_holder = NONE /* CAS t -> NULL */
	:: else -> skip
	fi;
	mutex_unlock(switch_mutex)
}

/* gil.c gil_acquire / gil_release around the policy. */
inline acquire() { take(); gs_enter() }
inline release(exiting) { gs_leave(); drop(exiting) }

active [NT] proctype thread()
{
	byte saved, r;
	bit tmo;

	acquire();                                /* gil_attach */
	do
	:: r < ROUNDS ->
		r++;
		if
		:: release(0); acquire()          /* blocking region */
		:: eval_breaker ->                /* cpython_check, :145 */
			if
			:: eval_breaker -> release(0); acquire()
			:: else -> skip
			fi
		fi
	:: else -> break
	od;
	release(1);                               /* gil_detach: GS_RELEASE_EXIT */
	thread_fini()
}
