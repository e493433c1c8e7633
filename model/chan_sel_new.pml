/*
 * chan_sel_new.pml - the NEW kchan commit protocol: a raw spinlock per
 * chan_sel (kmod/state.c since 90cb351; introduced in 0140e1c). Expected:
 * safe in every configuration and no non-progress cycle in any of them,
 * on one CPU or two, with or without priorities.
 *
 * The protocol. sel->state is WAITING, DONE or CANCELLED and changes only
 * under sel->lock, a raw_spinlock_t: its holder runs with preemption off,
 * PREEMPT_RT or not. A partner (under ch->lock) takes sel->lock, skips the
 * waiter if the state is final, else completes it (moves the message,
 * unqueues it, DONE, wakes the owner) and only then unlocks. Two sels are
 * locked in address order, the second nested. The owner sleeps until it
 * sees DONE (lockless acquire read) or its timer or a signal ends the
 * sleep, then always takes sel->lock once: WAITING becomes CANCELLED, DONE
 * means a case fired; then it returns and dequeues its other waiters under
 * their ch->locks.
 *
 * Promela -> kernel (kmod/state.c)
 *   raw_lock(s)        raw_spin_lock[_nested](&sel->lock): preempt_disable()
 *                      (npd[me]++), then one step per attempt; a failed
 *                      attempt is a cpu_relax() step that leaves the state
 *                      as it was. It asserts that the holder we wait for
 *                      runs on another CPU with preemption off.
 *   sel_lock(s)        chan_sel_lock(): raw_lock(), then "state == WAITING?"
 *                      and raw_spin_unlock() when not ("gone").
 *   sel_unlock(s)      chan_sel_unlock().
 *   fire_peer()        chan_fire_peer() with the memcpy / chan_ring_push()
 *                      before it: move, chan_unqueue_locked(), outcome,
 *                      chan_sel_set_final(DONE) in one step (others see
 *                      only the state, and only after the release store);
 *                      wake_up_process(sel->task); chan_sel_unlock().
 *   fire_own()         chan_fire_own(): DONE and, once published, unlock;
 *                      an unpublished sel is set DONE without the lock
 *                      (nobody else can see it), as the kernel does.
 *   wait_loop()        chan_sel_wait()'s set_current_state / acquire read
 *                      of DONE / schedule[_hrtimeout] loop; the hrtimer or
 *                      a signal (-ETIMEDOUT, -ERESTARTSYS: one R_ERR) may
 *                      end it whenever the task sleeps or runs there.
 *   sel_wait()         chan_sel_wait(): wait_loop(), then raw_spin_lock,
 *                      CANCELLED or ret = 0, raw_spin_unlock.
 *
 * Mutants (-DMUT_...), each of which check.sh expects to be caught:
 *   MUT_NO_FINAL_LOCK  the owner that saw DONE returns without taking
 *                      sel->lock: a partner still inside the chan_sel
 *                      (waking the owner, unlocking) after it returned.
 *   MUT_TIMEOUT_WINS   a timeout wins even when a case fired: a message
 *                      moved but the operation reports -ETIMEDOUT.
 *   MUT_NO_ADDR_ORDER  (chan_tasks.pml) two sels are locked own first: on
 *                      two CPUs two selects spin on each other's lock.
 *   MUT_PREEMPTIBLE    sel->lock does not disable preemption (a spinning
 *                      lock of the same shape otherwise): a task spins on
 *                      a holder that a higher-priority task preempted on
 *                      its own CPU, the old livelock again.
 */

#include "chan_base.pml"

#define PROTO_NEW

#ifndef MUT_PREEMPTIBLE
#define PREEMPT_DISABLE()	npd[me]++
#define PREEMPT_ENABLE()	npd[me]--
#else
/* mutant: a lock of the same shape that leaves preemption on */
#define PREEMPT_DISABLE()	skip
#define PREEMPT_ENABLE()	skip
#endif

/* raw_spin_lock(&sel->lock); got: taken at the first attempt */
inline raw_lock(s)
{
	atomic { CAN_RUN(me) ->
		assert(!freed[s] && slock[s] != me + 1);
		PREEMPT_DISABLE();
		if
		:: slock[s] == 0 -> slock[s] = me + 1; got = 1
		:: else -> got = 0
		fi
	};
	do
	:: got -> break
	:: atomic { !got && CAN_RUN(me) && slock[s] == 0 ->
		assert(!freed[s]);
		slock[s] = me + 1;
		break
	   }
	:: atomic { !got && CAN_RUN(me) && slock[s] != 0 ->	/* cpu_relax() */
		assert(!freed[s]);
		/* we wait only for a task running on another CPU */
		assert(cpu[slock[s] - 1] != cpu[me] && npd[slock[s] - 1] > 0)
	   }
	od;
	got = 0
}

/* chan_sel_lock(): ok = claimed (held); !ok: final, not held */
inline sel_lock(s, nested)
{
	raw_lock(s);
	atomic { CAN_RUN(me) ->
		ok = (sst[s] == WAITING);
		if
		:: !ok -> slock[s] = 0; PREEMPT_ENABLE()	/* gone: unlock, skip */
		:: else
		fi
	}
}

/* chan_sel_unlock() */
inline sel_unlock(s)
{
	atomic { CAN_RUN(me) ->
		assert(!freed[s] && slock[s] == me + 1 && sst[s] == WAITING);
		slock[s] = 0; PREEMPT_ENABLE()
	}
}

/*
 * chan_fire_peer(): complete waiter fw (of sel ps, held by us) with
 * outcome oc; xk and other say what message moves (xfer_do).
 */
inline fire_peer(fw, oc, xk, other)
{
	atomic { CAN_RUN(me) ->
		ps = fw / 2;
		assert(!freed[ps] && slock[ps] == me + 1 && sst[ps] == WAITING);
		assert(queued[fw]);
		xfer_do(xk, fw, other);
		queued[fw] = 0;			/* chan_unqueue_locked() */
		note_fire(ps, fw, oc);
		sst[ps] = DONE			/* chan_sel_set_final() */
	};
	atomic { CAN_RUN(me) ->			/* wake_up_process(sel->task) */
		assert(!freed[ps] && slock[ps] == me + 1);
		wake(ps)
	};
	atomic { CAN_RUN(me) ->			/* chan_sel_unlock() */
		assert(!freed[ps] && slock[ps] == me + 1);
		slock[ps] = 0; PREEMPT_ENABLE();
		ps = 0
	}
}

/* chan_fire_own(): complete our own waiter w */
inline fire_own(oc, xk)
{
	atomic { CAN_RUN(me) ->
		assert(sst[me] == WAITING);
		xfer_do(xk, w, NONE);
		note_fire(me, w, oc);
		sst[me] = DONE;
		if
		:: pub ->
			assert(slock[me] == me + 1);
			slock[me] = 0; PREEMPT_ENABLE()
		:: else -> assert(slock[me] == 0)
		fi
	}
}

/* chan_sel_wait() */
inline sel_wait()
{
	wait_loop();
#ifdef MUT_NO_FINAL_LOCK
	/* mutant: saw DONE locklessly, return without taking sel->lock */
	if
	:: ret == R_OK -> goto waited
	:: else
	fi;
#endif
	raw_lock(me);
	atomic { CAN_RUN(me) ->
		if
		:: sst[me] == WAITING -> assert(ret == R_ERR); sst[me] = CANCELLED;
			printf("@ task %d: cancels under sel->lock\n", me)
#ifndef MUT_TIMEOUT_WINS
		:: else -> assert(sst[me] == DONE); ret = R_OK
#else
		/* mutant: a timeout wins even when a case fired */
		:: else -> assert(sst[me] == DONE)
#endif
		fi;
		slock[me] = 0; PREEMPT_ENABLE()
	};
waited:
	skip
}

#include "chan_tasks.pml"
