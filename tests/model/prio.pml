/*
 * Model of runtime/policy_prio.c: a lock word (owner + PRIO_SLOW bit) taken
 * and given by CAS while nobody waits; under the mutex a direct handoff to
 * the best waiter through its grant word and a futex (futex.pml), the
 * wake-up issued after the unlock and skipped for a spinning waiter;
 * I/O-class arrivals preempting a CPU-class holder (drop request on
 * arrival); taking back a grant its owner has not claimed yet (a CAS on the
 * owner's grant word racing the owner's own claim); demotion of a holder
 * that kept the GIL a whole interval; aging of CPU-class waiters; and the
 * rank of a CPU-class thread an I/O arrival cut off (before other CPU-class
 * waiters, after I/O class); and the requeue: a holder forced off queues
 * itself (as a spinner) in the same pass through the mutex that gives the
 * GIL away, after picking the next holder, and its take() then only waits
 * (a thread with an on_return hook does not requeue: thread 2, when there
 * is one, has such a hook, so both ways and their mix are checked); and the
 * handback: a requeueing holder that leaves nobody else waiting (and did not
 * make an aged grant) parks instead of queueing (PRIO_HANDBACK, `whb`), and
 * the next holder's drop gives the GIL back to it with a CAS on the word
 * and one on its grant word, without the mutex, unless it was forced off or
 * the parked thread has aged; whoever takes the mutex first queues the
 * parked thread (unpark), racing that CAS; and the preempt slot: an I/O
 * arrival that found nobody else waiting and preempts the holder by class
 * waits outside the queue (PRIO_PREEMPT, `wpre`), and the holder's forced
 * drop gives it the GIL and parks itself with one CAS on the word, without
 * the mutex, after clearing the drop request; whoever takes the mutex
 * first queues the arrival (unpark), racing that CAS.  A spinning grantee
 * is given OWNED directly (no claim of its own, nothing to take back); a
 * sleeping one GIVEN, which it claims.
 *
 * Abstractions, all of them over-approximations (the model has every
 * behaviour of the C code, and more):
 *  - All threads have the same gil and OS priority, so prio_cmp() is 0 and
 *    the grant order is class rank (aged CPU 0, I/O 1, cut-off CPU 2,
 *    CPU 3), then arrival order.  Strict priority order starves lower
 *    priorities by design, so bounded waiting is a property among equals
 *    only.  Priority inheritance changes OS scheduling, not the protocol,
 *    and is left out.
 *  - Time: is_aged() becomes true for a queued CPU-class waiter at a
 *    nondeterministic moment (the `clock` process) and is cleared when the
 *    thread queues again.  Whether a forced-off holder's slice was still
 *    running (the cut-off rank) is a nondeterministic choice, and so is
 *    whether a waiter spins first (spin_for_drop / spin_for_grant) and when
 *    its spin budget runs out.  Timed waits time out nondeterministically
 *    (see pthread.pml).
 *  - Roles at attach: thread 0 is I/O, the others CPU.
 *
 * Checked: mutual exclusion (incl. across a taken-back grant and the fast
 * paths), no deadlock, no lost wake-up (invalid end states, -DLIVENESS),
 * and bounded waiting:
 *  - an aged waiter sees at most NT-1 acquisitions by others before its own;
 *  - an I/O-class waiter sees at most NT-1 acquisitions by non-aged others
 *    (aged CPU waiters go first by design; each needs PRIO_AGING_INTERVALS
 *    more intervals of waiting before it can do so again).
 * A CPU-class waiter that has not aged yet has no bound: I/O arrivals (and
 * a cut-off CPU thread) go first, which is what aging is for.
 *
 * FINDING, fixed (docs/reliability.md, "prio: aged grant taken back"): a
 * waiter's timeout demoted the owner even when that owner had not claimed
 * its grant yet, so an I/O arrival could take the grant back over and over
 * while the grantee was slow to wake, bypassing every aged waiter.  The
 * demotion requires the owner's grant word to say OWNED;
 * -DMUTANT_DEMOTE_UNRESUMED restores the old condition and must fail.
 *
 * Mutants (ctest expects their error): -DMUTANT_NOSIGNAL drops the futex
 * wake-up of a sleeping grantee; -DMUTANT_REVOKE_RESUMED takes a grant back
 * even after its owner claimed it; -DMUTANT_NOAGING_ORDER ignores aging in
 * the grant order; -DMUTANT_FASTDROP_NOSLOW lets the holder's fast drop
 * ignore PRIO_SLOW, which strands a queued waiter; -DMUTANT_REQUEUE_NOSLOW
 * computes the word's PRIO_SLOW before the requeue (the queue then looks
 * empty to the next holder, whose fast drop strands the requeued thread);
 * -DMUTANT_HANDBACK_NOUNPARK lets an arrival queue without unparking the
 * parked thread, so the handback gives the GIL past a queued waiter and
 * clears PRIO_SLOW under it (the waiter is stranded);
 * -DMUTANT_PREEMPT_NOUNPARK lets the mutex's takers leave the preempt slot
 * as it is: a holder dropping through the mutex (a blocking call) then
 * never grants the arrival in the slot, which waits forever once nobody
 * else is left to ask (invalid end state).
 */
#include "pthread.pml"
#include "futex.pml"

#ifndef NT
#define NT 3
#endif
#ifndef ROUNDS
#define ROUNDS 2
#endif

byte g_mutex;                 /* struct prio_gil */
byte wown = NONE;             /* the word's owner (NONE: free) */
bit wslow;                    /* the word's PRIO_SLOW bit */
/* The word's PRIO_HANDBACK bit and prio_gil.handback in one: the parked
 * thread, NONE while the bit is clear.  Invariant: whb != NONE implies
 * wslow and an empty queue. */
byte whb = NONE;
/* The word's PRIO_PREEMPT bit and prio_gil.preempter in one: the waiting
 * arrival, NONE while the bit is clear.  Invariant: wpre != NONE implies
 * wslow, whb == NONE and an empty queue. */
byte wpre = NONE;
bit owner_aged, preempt_req;
byte waiters;                 /* g->waiters as a set (the C list is unordered) */
byte gseq;                    /* g->seq */
/* g->grants only serves `g->grants == saved`: "no grant since this wait
 * began".  A bit per thread says the same with far fewer states. */
byte granted_since;
bit eval_breaker;

bit cpu_bound[NT];            /* gil_thread.cpu_bound */
bit waiting[NT];              /* gil_thread.waiting */
byte grant[NT];               /* gil_thread.grant */
byte given_from[NT];          /* gil_thread.given_from */
byte seq[NT];                 /* prio_thread.seq */
bit aged[NT];                 /* enq_ns older than the aging bound */
bit preempted[NT];            /* prio_thread.preempted (cut-off rank) */

/* Bounded waiting bookkeeping (-DNO_BOUND leaves it out: fewer states). */
#ifndef NO_BOUND
byte agedbypass[NT], iobypass[NT];
bit grant_aged;               /* the GIL's current grant was an aged one */
#define NOTE_GRANT_AGED(v) grant_aged = (v)
#else
#define NOTE_GRANT_AGED(v) skip
#endif

#define IS_AGED(x)   (cpu_bound[x] && aged[x])
#define HOOKED(x)    ((x) == 2)        /* gil_thread_on_return() set */
#define RANK(x)      (IS_AGED(x) -> 0 : (!cpu_bound[x] -> 1 : (preempted[x] -> 2 : 3)))
#define PREEMPTS(w, h) (!cpu_bound[w] && cpu_bound[h] && !owner_aged)

#ifdef MUTANT_REVOKE_RESUMED
#define REVOCABLE(h) (grant[h] == G_GIVEN || grant[h] == G_OWNED)
#else
#define REVOCABLE(h) (grant[h] == G_GIVEN)   /* the CAS GIVEN -> given_from */
#endif

/* The timeout's demotion needs an owner that has claimed its grant. */
#ifdef MUTANT_DEMOTE_UNRESUMED
#define DEMOTABLE(o) ((o) != NONE)
#else
#define DEMOTABLE(o) ((o) != NONE && grant[o] == G_OWNED)
#endif

/* grant(): the bookkeeping of a new owner x (caller holds the mutex) */
#define GRANT(x, isaged)                                                 \
	waiting[x] = 0;                                                  \
	owner_aged = isaged;                                             \
	granted_since = waiters   /* bits of threads not queued are dead */

/* unpark(): with the mutex held, first thing: queue the parked thread (it
 * takes its arrival number now) and clear PRIO_HANDBACK, or queue the
 * arrival in the preempt slot and clear PRIO_PREEMPT (a CAS that fails
 * only if the holder's handback or preempt drop came first, which then
 * left whb == NONE and wpre == NONE). */
#ifdef MUTANT_PREEMPT_NOUNPARK
#define UNPARK_PREEMPT() skip
#else
#define UNPARK_PREEMPT()                                                 \
	if                                                               \
	:: wpre != NONE -> waiters = waiters | (1 << wpre); wpre = NONE  \
	:: else -> skip                                                  \
	fi
#endif
#define UNPARK()                                                         \
	if                                                               \
	:: whb != NONE -> gseq++; seq[whb] = gseq;                       \
		waiters = waiters | (1 << whb); whb = NONE               \
	:: else -> skip                                                  \
	fi;                                                              \
	UNPARK_PREEMPT()

/* wait_for_grant(): queued (as a spinner), until the GIL is given to us. */
inline wait_grant()
{
	do
	:: atomic { grant[_pid] == G_GIVEN -> grant[_pid] = G_OWNED; given_from[_pid] = 0;
		waiting[_pid] = 0 }; break /* claim */
	:: atomic { grant[_pid] == G_OWNED -> given_from[_pid] = 0;
		waiting[_pid] = 0 }; break /* given to us spinning */
	:: atomic { grant[_pid] == G_SPIN -> grant[_pid] = G_SLEEP } /* taken back */
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
		:: tmo ->         /* a whole interval: demotion */
			mutex_lock(g_mutex);
			d_step {
				UNPARK();
				if
				:: waiting[_pid] && !(granted_since & BIT) &&
				   DEMOTABLE(wown) ->
					cpu_bound[wown] = 1;
					owner_aged = 0;
					if
					:: !eval_breaker ->
						eval_breaker = 1;
						preempt_req = 0
					:: else -> skip
					fi
				:: else -> skip
				fi;
				granted_since = granted_since & ~BIT
			}
			mutex_unlock(g_mutex);
			tmo = 0
		:: else -> skip
		fi
	od
}

inline take()
{
	if
	:: requeued ->                            /* queued by our forced drop */
		requeued = 0;
		wait_grant()
	:: else ->
	if
	:: atomic { wown == NONE ->               /* prio_take: CAS 0 -> t */
		wown = _pid;
		preempted[_pid] = 0;
		NOTE_GRANT_AGED(0) }
	:: else ->                                /* prio_take_slow */
		mutex_lock(g_mutex);
		d_step {                          /* the CAS loop */
			if
			:: wown == NONE ->        /* free: ours */
				wown = _pid;
				GRANT(_pid, 0);
				preempted[_pid] = 0;
				NOTE_GRANT_AGED(0);
				got = 1
			:: else ->
				alone = !wslow;   /* nobody else waits */
#ifndef MUTANT_HANDBACK_NOUNPARK
				UNPARK();
#endif
#ifndef MUTANT_FASTDROP_NOSLOW
				wslow = 1;
#endif
				h = wown
			fi;
			/* Still under the mutex: one step with the above (only
			 * the owner's claim could come between, and it reads
			 * nothing written above). */
			if
			:: got -> skip
			:: else ->
				gseq++;
				seq[_pid] = gseq;
				aged[_pid] = 0;
				if
				:: h != _pid && PREEMPTS(_pid, h) ->
					if
					:: REVOCABLE(h) -> /* take the grant back */
						grant[h] = given_from[h];
						waiting[h] = 1;
						waiters = waiters | (1 << h);
						wown = _pid;
						GRANT(_pid, 0);
						preempted[_pid] = 0;
						NOTE_GRANT_AGED(0);
						got = 1
					:: else ->        /* set_drop_request */
						if
						:: !eval_breaker ->
							eval_breaker = 1;
							preempt_req = 1
						:: else -> skip
						fi;
						if
						:: alone ->   /* the preempt slot */
							grant[_pid] = G_SPIN;
							waiting[_pid] = 1;
							granted_since = granted_since & ~BIT;
							wpre = _pid;
							slot = 1
						:: else -> skip
						fi
					fi
				:: else -> skip
				fi;
				h = 0
			fi;
			alone = 0
		}
		if
		:: got -> got = 0; mutex_unlock(g_mutex)
		:: slot -> slot = 0; mutex_unlock(g_mutex); wait_grant()
			:: else ->
				/* Every waiter starts as a spinner (G_SPIN): it is in
				 * the loop below, claims a grant as soon as it sees
				 * it, and its budget may run out at any moment (SPIN
				 * -> SLEEP), which covers every length of spin --
				 * zero included, i.e. a waiter that sleeps at once
				 * (C: G_SLEEP when it does not spin). */
				atomic {
					grant[_pid] = G_SPIN;
					waiting[_pid] = 1;
					waiters = waiters | BIT;
					granted_since = granted_since & ~BIT
				}
				mutex_unlock(g_mutex);
				wait_grant()
		fi
	fi
	fi
}

/* gil_grant_give() on best: a spinner is given OWNED, a sleeper GIVEN
 * (given_from kept for a take-back). */
#define GIVE(x)                                                          \
	gf = grant[x];                                                   \
	if                                                               \
	:: gf == G_SPIN -> grant[x] = G_OWNED                            \
	:: else -> given_from[x] = gf; grant[x] = G_GIVEN                \
	fi

/* A grant made without the mutex (the handback, the preempt drop):
 * gil_grant_give, then gil_grant_wake. */
inline give_unlocked()
{
	d_step { GIVE(best) }
	if
	:: gf == G_SLEEP ->
#ifndef MUTANT_NOSIGNAL
		futex_wake(best);
#endif
		skip
	:: else -> skip
	fi;
	best = 0;
	gf = 0
}

/* prio_drop() through the mutex. */
inline mutex_drop(why)
{
		mutex_lock(g_mutex);
		if                                /* slice still running? */
		:: why == 1 && preempt_req && cpu_bound[_pid] -> cut = 1
		:: why == 1 && preempt_req && cpu_bound[_pid] -> cut = 0
		:: else -> cut = 0
		fi;
		rq = why == 1 && !HOOKED(_pid);   /* requeue_self()? */
		d_step {
			UNPARK();
			preempted[_pid] = cut;
			if
			:: why == 1 -> cpu_bound[_pid] = 1
			:: why == 0 -> cpu_bound[_pid] = 0
			:: else -> skip
			fi;
			eval_breaker = 0;
			preempt_req = 0;
			best = NONE;              /* the best waiter */
			i = 0;
			do
			:: i < NT ->
				if
				:: (waiters & (1 << i)) &&
				   (best == NONE ||
#ifdef MUTANT_NOAGING_ORDER
				    (cpu_bound[i] -> 2 : 1) < (cpu_bound[best] -> 2 : 1) ||
				    ((cpu_bound[i] -> 2 : 1) == (cpu_bound[best] -> 2 : 1) &&
#else
				    RANK(i) < RANK(best) ||
				    (RANK(i) == RANK(best) &&
#endif
				     seq[i] < seq[best])) -> best = i
				:: else -> skip
				fi;
				i++
			:: else -> break
			od;
			i = 0;
			cut = 0;
			if
			:: best != NONE ->
				waiters = waiters & ~(1 << best);
				NOTE_GRANT_AGED(IS_AGED(best));
				GRANT(best, IS_AGED(best));
				wown = best;
#ifdef MUTANT_REQUEUE_NOSLOW
				wslow = (waiters != 0);
#endif
				if
				:: rq ->          /* requeue_self(): forced off */
					gseq++;
					seq[_pid] = gseq;
					aged[_pid] = 0;
					grant[_pid] = G_SPIN;
					waiting[_pid] = 1;
					if
					:: waiters == 0 && !owner_aged ->
						whb = _pid   /* park */
					:: else ->
						waiters = waiters | BIT
					fi;
					granted_since = granted_since & ~BIT;
					requeued = 1
				:: else -> skip
				fi;
#ifndef MUTANT_REQUEUE_NOSLOW
				wslow = (waiters != 0 || whb != NONE);
#endif
				GIVE(best)
			:: else ->
				wown = NONE;
				wslow = 0
			fi;
			rq = 0
		}
		mutex_unlock(g_mutex);            /* gil_grant_unlock_wake */
		if
		:: best != NONE && gf == G_SLEEP ->
#ifndef MUTANT_NOSIGNAL
			futex_wake(best);
#endif
			skip
		:: else -> skip
		fi;
		best = 0;
		gf = 0
}

/* why: 0 blocking, 1 forced, 2 exit (GS_RELEASE_*; interval = exit here). */
inline drop(why)
{
	if
#ifdef MUTANT_FASTDROP_NOSLOW
	:: atomic { wown == _pid ->
#else
	:: atomic { wown == _pid && !wslow ->     /* prio_drop: CAS t -> 0 */
#endif
		wown = NONE;
		if
		:: why == 1 -> cpu_bound[_pid] = 1
		:: why == 0 -> cpu_bound[_pid] = 0
		:: else -> skip
		fi }
	:: atomic { wown == _pid && whb != NONE && why != 1 && !IS_AGED(whb) ->
		/* hand_back(): CAS t|SLOW|HANDBACK -> parked thread */
		assert(wslow && !owner_aged);
		best = whb;
		wown = whb;
		whb = NONE;
		wslow = 0;
		NOTE_GRANT_AGED(0);
		if
		:: why == 0 -> cpu_bound[_pid] = 0
		:: else -> skip
		fi }
		give_unlocked()
	:: atomic { wown == _pid && wpre != NONE && why == 1 && !HOOKED(_pid) ->
		/* preempt_drop(), before its CAS: the drop request cleared,
		 * our grant word set for the park */
		assert(wslow && whb == NONE && waiters == 0 && !owner_aged &&
		       cpu_bound[_pid]);
		eval_breaker = 0;
		grant[_pid] = G_SPIN }
		if
		:: atomic { wpre != NONE ->       /* the CAS -> arrival|HANDBACK */
			best = wpre;
			wpre = NONE;
			wown = best;
			NOTE_GRANT_AGED(0);
			if                        /* slice still running? */
			:: preempted[_pid] = 1
			:: preempted[_pid] = 0
			fi;
			aged[_pid] = 0;
			waiting[_pid] = 1;
			granted_since = granted_since & ~BIT;
			whb = _pid;               /* park */
			requeued = 1 }
			give_unlocked()
		:: atomic { wpre == NONE -> skip } /* unparked: CAS failed */
			mutex_drop(why)
		fi
	:: else ->
		mutex_drop(why)
	fi
}

/* gil.c gil_acquire's owner word plus the bounded-waiting counters. */
inline gs_enter_prio()
{
	d_step {
		assert(owner == NONE);
		owner = _pid;
		/* dead until the next wait: fewer states */
		aged[_pid] = 0;
		seq[_pid] = 0;
#ifndef NO_BOUND
		i = 0;
		do
		:: i < NT ->
			if
			:: i != _pid && waiting[i] && IS_AGED(i) ->
				agedbypass[i]++;
				assert(agedbypass[i] <= NT - 1)
			:: else -> skip
			fi;
			if
			:: i != _pid && waiting[i] && !cpu_bound[i] && !grant_aged ->
				iobypass[i]++;
				assert(iobypass[i] <= NT - 1)
			:: else -> skip
			fi;
			i++
		:: else -> break
		od;
		i = 0;
		agedbypass[_pid] = 0;
		iobypass[_pid] = 0
#endif
	}
}

inline acquire() { take(); gs_enter_prio() }
inline release(why) { gs_leave(); drop(why) }

active [NT] proctype thread()
{
	byte r, i, h, best, gf;
	bit tmo, got, cut, rq, requeued, alone, slot;

	cpu_bound[_pid] = _pid > 0;               /* prio_thread_init: */
	grant[_pid] = G_OWNED;                    /* thread 0 is an I/O role */
	acquire();                                /* gil_attach */
	do
	:: r < ROUNDS ->
		r++;
		if
		:: release(0); acquire()          /* blocking region */
		:: eval_breaker ->                /* prio_check, no mutex: */
			if                        /* SLOW says someone waits */
			:: wslow -> release(1); acquire()
			:: !wslow ->
				eval_breaker = 0; /* clear, then look again */
				if
				:: wslow -> release(1); acquire()
				:: !wslow -> skip
				fi
			fi
		fi
	:: else -> break
	od;
	release(2)                                /* gil_detach */
}

/* Time passes for queued CPU-class waiters (see the top). */
active proctype clock()
{
end:	do
	:: atomic {
		(waiting[0] && cpu_bound[0] && !aged[0]) -> aged[0] = 1 }
	:: atomic {
		(waiting[1] && cpu_bound[1] && !aged[1]) -> aged[1] = 1 }
#if NT > 2
	:: atomic {
		(waiting[2] && cpu_bound[2] && !aged[2]) -> aged[2] = 1 }
#endif
#if NT > 3
	:: atomic {
		(waiting[3] && cpu_bound[3] && !aged[3]) -> aged[3] = 1 }
#endif
	od
}
