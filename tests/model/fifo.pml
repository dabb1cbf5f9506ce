/*
 * Model of runtime/policy_fifo.c: direct handoff to the longest waiter.  The
 * releaser dequeues the head, clears its `waiting` flag and signals its own
 * cond while `locked` stays 1, so nobody can barge in; a waiter whose timed
 * wait saw no grant for a whole interval posts a drop request
 * (rt->eval_breaker) that the holder honours at its next eval-breaker check.
 *
 * Each of NT threads attaches, does ROUNDS switches (blocking region, or a
 * forced switch when a drop request is pending) and detaches.
 * Checked: mutual exclusion; no deadlock and no lost wake-up (invalid end
 * states; -DLIVENESS forbids timeouts while the GIL is free); bounded
 * waiting: once queued, a thread sees at most NT-1 acquisitions by others
 * before its own (assertion in gs_enter_fifo).
 * Line numbers: runtime/policy_fifo.c as of commit 3ba75d7.
 *
 * Mutants (ctest expects their error): -DMUTANT_NOSIGNAL drops the signal at :110;
 * -DMUTANT_LIFO queues at the head instead of the tail (:72-76), which
 * breaks the waiting bound; -DMUTANT_UNLOCK clears `locked` on a handoff too.
 */
#include "pthread.pml"

#ifndef NT
#define NT 3
#endif
#ifndef ROUNDS
#define ROUNDS 2
#endif

byte g_mutex;                       /* struct fifo_gil */
bit locked;
byte q[NT];                         /* head .. tail: the next_waiter list */
byte qlen;
byte grants;                        /* at most NT*(ROUNDS+1): no wrap */
bit eval_breaker;
bit waiting[NT];                    /* gil_thread.waiting */
byte tcond[NT];                     /* gil_thread.cond: one sleeper each */

/* Bounded waiting: acquisitions by others since this thread queued. */
bit queued[NT];
byte bypass[NT];

inline take()                                     /* fifo_take, :60 */
{
	mutex_lock(g_mutex);                      /* :63 */
	if
	:: !locked && qlen == 0 ->                /* :64 */
		locked = 1;                       /* :65 */
		grants++;                         /* :66 */
		mutex_unlock(g_mutex)             /* :67 */
	:: else ->
		waiting[_pid] = 1;                /* :70 */
		d_step {
#ifdef MUTANT_LIFO
			i = qlen;
			do
			:: i > 0 -> q[i] = q[i - 1]; i--
			:: else -> break
			od;
			q[0] = _pid;
			i = 0;
#else
			q[qlen] = _pid;           /* :71-76 append at the tail */
#endif
			qlen++;
			queued[_pid] = 1;
			bypass[_pid] = 0
		}
		do
		:: waiting[_pid] ->               /* :77 */
			saved = grants;           /* :78 */
			cond_timedwait(tcond[_pid], g_mutex, tmo, TIMEOUT_OK); /* :81 */
			if
			:: tmo && waiting[_pid] && grants == saved &&
			   !eval_breaker ->       /* :83-84 */
				eval_breaker = 1  /* :85 */
			:: else -> skip
			fi;
			saved = 0; tmo = 0        /* dead from here: fewer states */
		:: else -> break
		od;
		mutex_unlock(g_mutex)             /* :91 */
	fi
}

inline drop()                                     /* fifo_drop, :95 */
{
	mutex_lock(g_mutex);                      /* :100 */
	eval_breaker = 0;                         /* :101 */
	if
	:: qlen > 0 ->                            /* :102-103 */
		d_step {
			next = q[0];              /* :104-107 dequeue the head */
			i = 0;
			do
			:: i + 1 < qlen -> q[i] = q[i + 1]; i++
			:: else -> break
			od;
			qlen--;
			q[qlen] = 0;
			i = 0
		}
		waiting[next] = 0;                /* :108 */
		grants++;                         /* :109 */
#ifdef MUTANT_UNLOCK
		locked = 0;
#endif
#ifndef MUTANT_NOSIGNAL
		cond_signal(tcond[next]);         /* :110 */
#endif
		next = 0
	:: else ->
		locked = 0                        /* :112 */
	fi;
	mutex_unlock(g_mutex)                     /* :114 */
}

/* gil.c gil_acquire's owner word plus the bypass bookkeeping. */
inline gs_enter_fifo()
{
	d_step {
		assert(owner == NONE);
		owner = _pid;
		i = 0;
		do
		:: i < NT ->
			if
			:: i != _pid && queued[i] ->
				bypass[i]++;
				assert(bypass[i] <= NT - 1)
			:: else -> skip
			fi;
			i++
		:: else -> break
		od;
		i = 0;
		queued[_pid] = 0;
		bypass[_pid] = 0
	}
}

inline acquire() { take(); gs_enter_fifo() }
inline release() { gs_leave(); drop() }

active [NT] proctype thread()
{
	byte saved, r, i, next;
	bit tmo;

	acquire();                                /* gil_attach */
	do
	:: r < ROUNDS ->
		r++;
		if
		:: release(); acquire()           /* blocking region */
		:: eval_breaker ->                /* fifo_check, :117 */
			if
			:: eval_breaker -> release(); acquire()
			:: else -> skip
			fi
		fi
	:: else -> break
	od;
	release()                                 /* gil_detach */
}
