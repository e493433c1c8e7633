/*
 * chan_sel_old.pml - the OLD kchan commit protocol (kmod/chan.c at
 * a3445ea, replaced in 0140e1c): a BUSY state word that everyone spins
 * on. Expected: safe everywhere, but a non-progress cycle (a livelock) on
 * PREEMPT_RT wherever a task holding a chan_sel BUSY can be preempted by a
 * higher-priority task of its CPU that then spins on that chan_sel, as
 * seen on Debian's 6.1-rt kernel (issue 12): a SCHED_FIFO 20 receiver with
 * short timeouts spins in chan_sel_wait's cancel loop while the SCHED_FIFO
 * 10 sender is preempted inside chan_fire_peer with the sel BUSY.
 *
 * The protocol. sel->state is an atomic word WAITING / BUSY / DONE /
 * CANCELLED. A partner (under ch->lock, which PREEMPT_RT makes
 * preemptible) claims a chan_sel with cmpxchg WAITING -> BUSY, spinning
 * with cpu_relax() while it reads BUSY; it then moves the message,
 * unqueues the waiter, stores DONE (release) and wakes the owner. Two sels
 * are taken BUSY in address order. The owner, on timeout or signal,
 * cancels with cmpxchg WAITING -> CANCELLED in a loop that spins while it
 * reads BUSY.
 *
 * Promela -> kernel (kmod/chan.c at a3445ea)
 *   sel_lock(s)        chan_sel_lock(): one step per cmpxchg_acquire
 *                      (WAITING -> BUSY); reading BUSY is a cpu_relax()
 *                      step that leaves the state as it was, and the task
 *                      stays runnable: that is what the livelock is made
 *                      of. DONE or CANCELLED: false ("gone").
 *   sel_unlock(s)      chan_sel_unlock(): atomic_set_release(WAITING).
 *   fire_peer()        chan_fire_peer() with the memcpy / chan_ring_push()
 *                      before it: move, chan_unqueue_locked(), outcome,
 *                      fired, atomic_set_release(DONE) in one step; then
 *                      wake_up_process() of the task it pinned first
 *                      (get_task_struct), which no longer touches the sel.
 *   fire_own()         chan_fire_own(): outcome, fired, set_release(DONE).
 *   sel_wait()         chan_sel_wait(): wait_loop() (chan_base.pml), then
 *                      on -ETIMEDOUT/-ERESTARTSYS the cancel loop: one step
 *                      per cmpxchg(WAITING -> CANCELLED): WAITING: return
 *                      the error; DONE: return 0; BUSY: cpu_relax(), again.
 *   busyby[s]          ghost: which task holds sel s BUSY (for the trail).
 */

#include "chan_base.pml"

#define PROTO_OLD

byte busyby[NT];	/* ghost: the task holding sel s BUSY, + 1 */

/* chan_sel_lock(): ok = taken BUSY; !ok: final */
inline sel_lock(s, nested)
{
	do
	:: atomic { CAN_RUN(me) && sst[s] == WAITING ->
		assert(!freed[s]);
		sst[s] = BUSY; busyby[s] = me + 1;
		printf("@ task %d: chan_sel_lock(sel %d): WAITING -> BUSY\n", me, s);
		ok = 1;
		break
	   }
	:: atomic { CAN_RUN(me) && (sst[s] == DONE || sst[s] == CANCELLED) ->
		assert(!freed[s]);
		ok = 0;
		break
	   }
	:: atomic { CAN_RUN(me) && sst[s] == BUSY ->		/* cpu_relax() */
		assert(!freed[s]);
		printf("@ task %d: spins in chan_sel_lock on sel %d, BUSY by task %d\n",
		       me, s, busyby[s] - 1)
	   }
	od
}

/* chan_sel_unlock() */
inline sel_unlock(s)
{
	atomic { CAN_RUN(me) ->
		assert(!freed[s] && sst[s] == BUSY && busyby[s] == me + 1);
		sst[s] = WAITING; busyby[s] = 0
	}
}

/*
 * chan_fire_peer(): complete waiter fw (of sel ps, BUSY by us) with
 * outcome oc; xk and other say what message moves (xfer_do).
 */
inline fire_peer(fw, oc, xk, other)
{
	atomic { CAN_RUN(me) ->
		ps = fw / 2;
		assert(!freed[ps] && sst[ps] == BUSY && busyby[ps] == me + 1);
		assert(queued[fw]);
		xfer_do(xk, fw, other);
		queued[fw] = 0;			/* chan_unqueue_locked() */
		note_fire(ps, fw, oc);
		sst[ps] = DONE; busyby[ps] = 0	/* atomic_set_release(DONE) */
	};
	atomic { CAN_RUN(me) -> wake(ps); ps = 0 }
}

/* chan_fire_own(): complete our own waiter w (BUSY by us, or unpublished) */
inline fire_own(oc, xk)
{
	atomic { CAN_RUN(me) ->
		if
		:: pub -> assert(sst[me] == BUSY && busyby[me] == me + 1)
		:: else -> assert(sst[me] == WAITING)
		fi;
		xfer_do(xk, w, NONE);
		note_fire(me, w, oc);
		sst[me] = DONE; busyby[me] = 0
	}
}

/* chan_sel_wait() */
inline sel_wait()
{
	wait_loop();
	if
	:: ret == R_ERR ->
		do
		:: atomic { CAN_RUN(me) && sst[me] == WAITING ->
			printf("@ task %d: cancels: WAITING -> CANCELLED\n", me);
			sst[me] = CANCELLED;
			break
		   }
		:: atomic { CAN_RUN(me) && sst[me] == DONE ->
			ret = R_OK;
			break
		   }
		:: atomic { CAN_RUN(me) && sst[me] == BUSY ->	/* cpu_relax() */
			printf("@ task %d: spins in chan_sel_wait's cancel loop, sel %d BUSY by task %d\n",
			       me, me, busyby[me] - 1)
		   }
		od
	:: else
	fi
}

#include "chan_tasks.pml"
