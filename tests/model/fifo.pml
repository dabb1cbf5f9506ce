/*
 * Model of runtime/policy_fifo.c: a lock word taken and given by CAS while
 * nobody queues (0 free, 1 held, 2 held and the holder must drop through the
 * mutex), and under the mutex a direct handoff to the longest waiter: the
 * releaser dequeues the head, writes GIVEN into its grant word while the
 * lock word stays held, unlocks, then wakes it with a futex (futex.pml).  A
 * waiter whose timed wait saw no grant for a whole interval posts a drop
 * request (rt->eval_breaker) that the holder honours at its next check.
 *
 * Each of NT threads attaches, does ROUNDS switches (blocking region, or a
 * forced switch when a drop request is pending) and detaches.
 * Checked: mutual exclusion; no deadlock and no lost wake-up (invalid end
 * states; -DLIVENESS forbids timeouts while the GIL is free); bounded
 * waiting: once queued, a thread sees at most NT-1 acquisitions by others
 * before its own (assertion in gs_enter_fifo).
 * Line numbers: runtime/policy_fifo.c as of the lock-word change (item 1/2
 * of issue 17).
 *
 * Mutants (ctest expects their error): -DMUTANT_NOSIGNAL drops the futex
 * wake-up after the handoff; -DMUTANT_LIFO queues at the head instead of the
 * tail, which breaks the waiting bound; -DMUTANT_UNLOCK frees the lock word
 * on a handoff too, so the fast path can barge in; -DMUTANT_NOSLOW queues
 * without setting the word to 2, so the holder's fast drop strands it.
 */
#include "pthread.pml"
#include "futex.pml"

#ifndef NT
#define NT 3
#endif
#ifndef ROUNDS
#define ROUNDS 2
#endif

byte g_mutex;                       /* struct fifo_gil */
byte word;                          /* 0 free, 1 held, 2 held (slow drop) */
byte q[NT];                         /* head .. tail: the next_waiter list */
byte qlen;
byte grants;                        /* at most NT*(ROUNDS+1): no wrap */
bit eval_breaker;
bit waiting[NT];                    /* gil_thread.waiting */
byte grant[NT];                     /* gil_thread.grant (futex word) */

/* Bounded waiting: acquisitions by others since this thread queued. */
bit queued[NT];
byte bypass[NT];

inline take()
{
	if
	:: atomic { word == 0 -> word = 1 }       /* fifo_take: CAS 0 -> 1 */
	:: else ->                                /* fifo_take_slow */
		mutex_lock(g_mutex);
		d_step {
			old = word;
#ifndef MUTANT_NOSLOW
			word = 2;                 /* exchange: no fast drop now */
#endif
			if
			:: old == 0 ->            /* freed meanwhile */
				word = 1;
				grants++
			:: else -> skip
			fi
		};
		if
		:: old == 0 ->
			mutex_unlock(g_mutex)
		:: else ->
			d_step {                  /* all under the mutex */
				waiting[_pid] = 1;
				grant[_pid] = G_SLEEP;
#ifdef MUTANT_LIFO
				i = qlen;
				do
				:: i > 0 -> q[i] = q[i - 1]; i--
				:: else -> break
				od;
				q[0] = _pid;
				i = 0;
#else
				q[qlen] = _pid;   /* append at the tail */
#endif
				qlen++;
				queued[_pid] = 1;
				bypass[_pid] = 0;
				saved = grants
			}
			mutex_unlock(g_mutex);
			/* gil_futex_wait_until + gil_grant_claim: the claim and
			 * the sleep are enabled by the word's value, and nothing
			 * but the grantee changes a GIVEN word in fifo, so the
			 * claim is taken as soon as the word allows it. */
			do
			:: atomic { grant[_pid] == G_GIVEN -> grant[_pid] = G_OWNED }; break
			:: atomic { grant[_pid] == G_SLEEP -> fsleep = fsleep | BIT };
				if
				:: atomic { (fsleep & BIT) == 0 -> tmo = 0 }
				:: atomic { (fsleep & BIT) != 0 && TIMEOUT_OK ->
					fsleep = fsleep & ~BIT; tmo = 1 }
#ifdef SPURIOUS
				:: atomic { (fsleep & BIT) != 0 -> fsleep = fsleep & ~BIT }
#endif
				fi;
				if
				:: tmo ->                 /* a whole interval */
					mutex_lock(g_mutex);
					d_step {
						if
						:: waiting[_pid] && grants == saved && !eval_breaker ->
							eval_breaker = 1
						:: else -> skip
						fi;
						saved = grants
					}
					mutex_unlock(g_mutex);
					tmo = 0
				:: else -> skip
				fi
			od;
			saved = 0; tmo = 0        /* dead from here: fewer states */
		fi;
		old = 0
	fi
}

inline drop()
{
	if
	:: atomic { word == 1 -> word = 0 }       /* fifo_drop: CAS 1 -> 0 */
	:: else ->
		mutex_lock(g_mutex);
		/* Under the mutex, one step: lock-free readers (the fast
		 * path's CAS, the grantee's claim) see the word before the
		 * grant, as the release ordering of the exchange guarantees. */
		d_step {
			eval_breaker = 0;
			if
			:: qlen > 0 ->
				next = q[0];      /* dequeue the head */
				i = 0;
				do
				:: i + 1 < qlen -> q[i] = q[i + 1]; i++
				:: else -> break
				od;
				qlen--;
				q[qlen] = 0;
				i = 0;
				waiting[next] = 0;
				grants++;
#ifdef MUTANT_UNLOCK
				word = 0;
#else
				word = (qlen > 0 -> 2 : 1);
#endif
				grant[next] = G_GIVEN /* gil_grant_give */
			:: else ->
				next = NONE;
				word = 0
			fi
		}
		if
		:: next != NONE ->
			mutex_unlock(g_mutex);    /* gil_grant_unlock_wake: */
#ifndef MUTANT_NOSIGNAL
			futex_wake(next);         /* after the unlock */
#endif
			next = 0
		:: else ->
			next = 0;
			mutex_unlock(g_mutex)
		fi
	fi
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
	byte saved, r, i, next, old;
	bit tmo;

	grant[_pid] = G_OWNED;                    /* gil_attach */
	acquire();
	do
	:: r < ROUNDS ->
		r++;
		if
		:: release(); acquire()           /* blocking region */
		:: eval_breaker ->                /* fifo_check */
			if
			:: eval_breaker -> release(); acquire()
			:: else -> skip
			fi
		fi
	:: else -> break
	od;
	release()                                 /* gil_detach */
}
