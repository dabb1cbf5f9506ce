/*
 * Model of runtime/policy_prio.c: direct handoff to the best waiter, I/O-class
 * arrivals preempting a CPU-class holder (drop request on arrival), taking
 * back a grant whose owner has not woken up yet, demotion of a holder that
 * kept the GIL a whole interval, and aging of CPU-class waiters.
 *
 * Abstractions, all of them over-approximations (the model has every
 * behaviour of the C code, and more):
 *  - All threads have the same gil and OS priority, so prio_cmp() is 0 and
 *    the grant order is class rank (aged CPU 0, I/O 1, CPU 2), then arrival
 *    order.  Strict priority order starves lower priorities by design, so
 *    bounded waiting is a property among equals only.  Priority inheritance
 *    (boost_holder/restore_self) changes OS scheduling, not the protocol,
 *    and is left out.
 *  - Time: is_aged() (waited > PRIO_AGING_INTERVALS intervals) becomes true
 *    for a queued CPU-class waiter at a nondeterministic moment (an `age`
 *    step), and is cleared when the thread queues again (p->enq_ns reset at
 *    :273).  Timed waits time out nondeterministically (see pthread.pml).
 *  - Roles at attach (t->cpu_bound = role == CPU, :96): thread 0 is I/O,
 *    the others CPU; the class changes at every release anyway.
 *
 * Checked: mutual exclusion (incl. across a taken-back grant), no deadlock,
 * no lost wake-up (invalid end states, -DLIVENESS), and bounded waiting:
 *  - an aged waiter sees at most NT-1 acquisitions by others before its own;
 *  - an I/O-class waiter sees at most NT-1 acquisitions by non-aged others
 *    (aged CPU waiters go first by design; each needs PRIO_AGING_INTERVALS
 *    more intervals of waiting before it can do so again).
 * A CPU-class waiter that has not aged yet has no bound: I/O arrivals go
 * first, which is what aging is for.
 * Line numbers: runtime/policy_prio.c as of commit 9161722.
 *
 * FINDING, fixed (docs/reliability.md, "prio: aged grant taken back"): a
 * waiter's timeout demoted g->owner even when that owner had not resumed
 * from take() yet: it set cpu_bound = 1 and owner_aged = 0 on a thread that
 * never ran, so an I/O arrival could take the grant back, over and over
 * while the grantee was slow to wake, and every other aged waiter was
 * bypassed each time.  The C code now also requires g->owner_resumed;
 * -DMUTANT_DEMOTE_UNRESUMED restores the old condition and must fail.
 *
 * Mutants (ctest expects their error): -DMUTANT_NOSIGNAL drops the signal
 * at :340; -DMUTANT_REVOKE_RESUMED takes back a grant even after its owner
 * resumed (:276); -DMUTANT_NOAGING_ORDER ignores aging in the grant order.
 */
#include "pthread.pml"

#ifndef NT
#define NT 3
#endif
#ifndef ROUNDS
#define ROUNDS 2
#endif

byte g_mutex;                 /* struct prio_gil */
bit locked;
byte powner = NONE;           /* g->owner: holder or grantee */
bit owner_resumed, owner_aged;
byte waiters;                 /* g->waiters as a set (the C list is unordered) */
byte gseq;                    /* g->seq */
/* g->grants only serves `g->grants == saved` (:302): "no grant since this
 * wait began".  A bit per thread says the same with far fewer states. */
byte granted_since;
bit eval_breaker;

bit cpu_bound[NT];            /* gil_thread.cpu_bound */
bit waiting[NT];              /* gil_thread.waiting */
byte tcond[NT];               /* gil_thread.cond */
byte seq[NT];                 /* prio_thread.seq */
bit aged[NT];                 /* enq_ns older than the aging bound */

/* Bounded waiting bookkeeping (-DNO_BOUND leaves it out: fewer states). */
#ifndef NO_BOUND
byte agedbypass[NT], iobypass[NT];
bit grant_aged;               /* the GIL's current grant was an aged one */
#define NOTE_GRANT_AGED(v) grant_aged = (v)
#else
#define NOTE_GRANT_AGED(v) skip
#endif

#define IS_AGED(x)   (cpu_bound[x] && aged[x])           /* is_aged, :118 */
#define RANK(x)      (IS_AGED(x) -> 0 : (cpu_bound[x] -> 2 : 1)) /* :126 */
#define PREEMPTS(w, h) (!cpu_bound[w] && cpu_bound[h] && !owner_aged) /* :157 */

inline grant(x, isaged)                           /* grant, :184 */
{
	waiting[x] = 0;
	powner = x;
	owner_resumed = 0;
	owner_aged = isaged;
	granted_since = 255                       /* grants++ */
}

inline set_drop_request()                         /* :193, requester and */
{                                                 /* holder only matter */
	eval_breaker = 1                          /* to the trace */
}

inline take()                                     /* prio_take, :258 */
{
	mutex_lock(g_mutex);                      /* :263 */
	if
	:: !locked ->                             /* :264 */
		locked = 1;                       /* :266 */
		grant(_pid, 0);                   /* :267 */
		owner_resumed = 1;                /* :268 */
		NOTE_GRANT_AGED(0);
		mutex_unlock(g_mutex)             /* :269 */
	:: else ->
		gseq++;
		seq[_pid] = gseq;                 /* :272 */
		aged[_pid] = 0;                   /* :273 */
		h = powner;                       /* :274 */
		if
		:: h != NONE && h != _pid && PREEMPTS(_pid, h) -> /* :275 */
#ifdef MUTANT_REVOKE_RESUMED
			if :: true ->
#else
			if
			:: !owner_resumed ->      /* :276 take the grant back */
#endif
				waiting[h] = 1;   /* :279 */
				waiters = waiters | (1 << h); /* :280 */
				grant(_pid, 0);   /* :281 */
				owner_resumed = 1; /* :282 */
				NOTE_GRANT_AGED(0);
				revoked = 1
			:: else ->
				set_drop_request() /* :293 */
			fi
		:: else -> skip
		fi;
		h = 0;
		if
		:: revoked -> revoked = 0; mutex_unlock(g_mutex) /* :283-284 */
		:: else ->
			waiting[_pid] = 1;        /* :295 */
			waiters = waiters | BIT;  /* :296 */
			do
			:: waiting[_pid] ->       /* :297 */
				granted_since = granted_since & ~BIT; /* saved = grants, :298 */
				cond_timedwait(tcond[_pid], g_mutex, tmo, TIMEOUT_OK); /* :301 */
				if
				:: tmo && waiting[_pid] && !(granted_since & BIT) &&
#ifndef MUTANT_DEMOTE_UNRESUMED
				   owner_resumed &&
#endif
				   powner != NONE -> /* :302-303 */
					cpu_bound[powner] = 1; /* :306 */
					owner_aged = 0;        /* :307 */
					set_drop_request()     /* :308 */
				:: else -> skip
				fi;
				tmo = 0
			:: else -> break
			od;
			owner_resumed = 1;        /* :311 */
			mutex_unlock(g_mutex)     /* :312 */
		fi
	fi
}

/* why: 0 blocking, 1 forced, 2 exit (GS_RELEASE_*; interval = exit here). */
inline drop(why)                                  /* prio_drop, :316 */
{
	mutex_lock(g_mutex);                      /* :321 */
	if
	:: why == 1 -> cpu_bound[_pid] = 1        /* :322-323 */
	:: why == 0 -> cpu_bound[_pid] = 0        /* :324-325 */
	:: else -> skip
	fi;
	eval_breaker = 0;                         /* :331 */
	d_step {                                  /* :333-336 best waiter */
		best = NONE;
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
		i = 0
	}
	if
	:: best != NONE ->                        /* :337 */
		waiters = waiters & ~(1 << best); /* :338 */
		NOTE_GRANT_AGED(IS_AGED(best));
		grant(best, IS_AGED(best));       /* :339 */
#ifndef MUTANT_NOSIGNAL
		cond_signal(tcond[best]);         /* :340 */
#endif
		best = 0
	:: else ->
		locked = 0;                       /* :342 */
		powner = NONE;                    /* :343 */
		best = 0
	fi;
	mutex_unlock(g_mutex)                     /* :345 */
}

/* gil.c gil_acquire's owner word plus the bounded-waiting counters. */
inline gs_enter_prio()
{
	d_step {
		assert(owner == NONE);
		owner = _pid;
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
	byte r, i, h, best;
	bit tmo, revoked;

	cpu_bound[_pid] = _pid > 0;               /* prio_thread_init, :96: */
	                                          /* thread 0 is an I/O role */
	acquire();                                /* gil_attach */
	do
	:: r < ROUNDS ->
		r++;
		if
		:: release(0); acquire()          /* blocking region */
		:: eval_breaker ->                /* prio_check, :353 */
			mutex_lock(g_mutex);      /* :358 */
			if
			:: waiters == 0 ->        /* :359-361 */
				eval_breaker = 0;
				mutex_unlock(g_mutex)
			:: else ->
				mutex_unlock(g_mutex);
				release(1); acquire()  /* :365-366 */
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
