/*
 * chan_tasks.pml - the channel code under ch->lock, the tasks, the
 * configurations and the monitors, shared by both protocol models and
 * included after the protocol primitives (chan_base.pml says what is
 * modelled and what is not).
 *
 * Promela -> kernel (kmod/state.c; kmod/chan.c at a3445ea)
 *   claim(ps)          chan_claim(own, peer): own only once published; two
 *                      in address order (sel ids), the second nested.
 *   meet(qop)          the list_for_each_entry_safe() loop over the other
 *                      direction's queue in chan_send_locked() and
 *                      chan_recv_locked(): claim, move, fire both; skip a
 *                      partner that is gone; stop when we are (LOST).
 *   refill()           chan_refill_locked().
 *   try_locked()       chan_try_locked() = chan_send_locked() /
 *                      chan_recv_locked(); chan_finish_own() folded in.
 *   task(), the visit  chan_do() (one case) and chan_select_run() pass 2
 *                      (chan_select_visit(park = true)): ch->lock, try,
 *                      chan_enqueue_locked() if it blocks, unlock; then
 *                      chan_sel_wait() (chan_do skips it when its only case
 *                      completed at once) and chan_dequeue() of each case.
 *   closer()           chan_ioctl_close() -> chan_close_locked() (and
 *                      chan_fail_senders_locked(), chan_release's walk).
 *   check_return()     what user space may rely on when the call returns.
 *
 * Locals of a task (and of the closer), named as in the kernel where the
 * kernel has a name:
 *   w, c, op   the waiter being visited, its channel and direction
 *   pub        own->published (only the owner reads it: kept local)
 *   cl, cnt    ch->closed and ch->count, read when ch->lock was taken
 *   t          enum chan_try of the visit;  res: enum chan_claim
 *   pw, ps     the partner's waiter and chan_sel;  vis: waiters visited
 *   s1, s2     the sels chan_claim takes, in order;  ok: chan_sel_lock()
 *   foc, fxk   what chan_finish_own() completes our waiter with
 *   got, blk   lock helpers;  ret: the operation's result
 *
 * Progress labels: a task returning to user space (progress_ret) and the
 * closer finishing (progress_close). A non-progress cycle is a run in
 * which, from some point on, no operation ever returns again.
 */

/*
 * chan_claim(own, peer): own = sel me (taken only once published), peer =
 * sel ps or NONE; two are taken in address order (sel id order), the
 * second nested. Result in res. The same code for both protocols: only
 * sel_lock()/sel_unlock() differ.
 */
inline claim(ps)
{
	if
	:: !pub && ps == NONE -> s1 = NONE; s2 = NONE
	:: !pub && ps != NONE -> s1 = ps; s2 = NONE
	:: pub && ps == NONE -> s1 = me; s2 = NONE
#ifndef MUT_NO_ADDR_ORDER
	:: pub && ps != NONE && me < ps -> s1 = me; s2 = ps
	:: pub && ps != NONE && me > ps -> s1 = ps; s2 = me
#else
	:: pub && ps != NONE -> s1 = me; s2 = ps	/* mutant: own sel first */
#endif
	fi;
	res = CL_OK;
	if
	:: s1 != NONE ->
		sel_lock(s1, 0);
		if
		:: !ok -> res = (s1 == me -> CL_SELF_GONE : CL_PEER_GONE)
		:: ok && s2 != NONE ->
			sel_lock(s2, 1);
			if
			:: !ok ->
				sel_unlock(s1);
				res = (s2 == me -> CL_SELF_GONE : CL_PEER_GONE)
			:: else
			fi
		:: else
		fi
	:: else
	fi;
	s1 = 0; s2 = 0; ok = 0
}

/*
 * The list_for_each_entry_safe() loop of chan_send_locked() (qop = RECV)
 * and chan_recv_locked() (qop = SEND): claim the partner and ourselves in
 * address order, move the message, fire both; skip partners that are gone.
 */
inline meet(qop)
{
	do
	:: atomic { CAN_RUN(me) -> pick(qop, me) };
		if
		:: pw == NONE -> break
		:: else ->
			claim(pw / 2);
			if
			:: res == CL_SELF_GONE -> t = T_LOST; break
			:: res == CL_PEER_GONE -> vis = vis | (1 << pw)
			:: res == CL_OK ->
				fire_peer(pw, OC_MOVED, XK_HANDOFF, w);
				fire_own(OC_MOVED, XK_NONE);
				t = T_DONE;
				break
			fi
		fi
	od;
	vis = 0; pw = 0; res = 0
}

/* chan_refill_locked(): a slot was freed, let a parked sender in */
inline refill()
{
	do
	:: atomic { CAN_RUN(me) -> pick(SEND, NONE) };
		if
		:: pw == NONE -> break
		:: else ->
			sel_lock(pw / 2, 0);
			if
			:: ok -> fire_peer(pw, OC_MOVED, XK_PUSH, NONE); break
			:: else -> vis = vis | (1 << pw)
			fi
		fi
	od;
	vis = 0; pw = 0; ok = 0
}

/*
 * chan_try_locked(): chan_send_locked() or chan_recv_locked(), with the
 * cases that need no partner (chan_finish_own()) folded into one place:
 *   send: closed -> CLOSED; a parked receiver -> meet it; a free slot ->
 *         chan_ring_push (chan->recv_handles is never 0 here);
 *   recv: a buffered message -> chan_ring_pop, then chan_refill_locked;
 *         a parked sender -> meet it; closed -> CLOSED.
 * Sets t: T_DONE, T_BLOCK or T_LOST.
 */
inline try_locked()
{
	t = T_BLOCK;
	if
	:: op == SEND && cl -> foc = OC_CLOSED; fxk = XK_NONE
	:: op == RECV && cnt > 0 -> foc = OC_MOVED; fxk = XK_POP
	:: else ->
		meet(1 - op);
		if
		:: t == T_BLOCK && op == SEND && cnt < CAP(c) ->
			foc = OC_MOVED; fxk = XK_PUSH
		:: t == T_BLOCK && op == RECV && cl ->
			foc = OC_CLOSED; fxk = XK_NONE
		:: else -> foc = OC_NONE
		fi
	fi;
	if
	:: foc != OC_NONE ->			/* chan_finish_own() */
		claim(NONE);
		if
		:: res == CL_OK -> fire_own(foc, fxk); t = T_DONE
		:: else -> t = T_LOST
		fi;
		res = 0;
		if
		:: t == T_DONE && fxk == XK_POP -> refill()
		:: else
		fi
	:: else
	fi;
	foc = 0; fxk = 0
}

/*
 * What the owner checks when its operation returns to user space: none of
 * its waiters is still queued; no partner is inside its chan_sel; it
 * returns 0 iff exactly one of its cases fired, and a case with outcome
 * MOVED moved exactly one message (the other case none); an error return
 * means nothing fired and nothing moved.
 */
inline check_return()
{
	assert(!queued[2 * me] && !queued[2 * me + 1]);
	assert(slock[me] == 0);
	if
	:: ret == R_OK ->
		assert(sst[me] == DONE && nfired[me] == 1 && fired[me] != 0);
		w = fired[me] - 1;
		c = wch[w];
		assert(xfer[w] == (outcome[w] == OC_MOVED));
		assert(!xfer[w ^ 1]);
		if
		:: xfer[w] && wop[w] == SEND -> bal[c]++; pendS[c]--
		:: xfer[w] && wop[w] == RECV -> bal[c]--; pendR[c]--
		:: else
		fi
	:: else ->
		assert(sst[me] == CANCELLED && nfired[me] == 0 && fired[me] == 0);
		assert(!xfer[2 * me] && !xfer[2 * me + 1])
	fi
}

/*
 * A task doing one kind of blocking operation over and over: a plain send
 * or recv (chan_send/chan_recv -> chan_do) when ncases is 1, a 2-case
 * select (chan_select_ioctl -> chan_select_run, pass 2) when it is 2.
 *
 * freed[me] is set from the return until the next operation starts (a new
 * chan_sel on the same stack): every step that touches a chan_sel asserts
 * it is not freed, so a partner still at work in a returned owner's
 * chan_sel is an assertion failure.
 *
 * Not modelled, and why: pass 0 and pass 1 of a select, the select set
 * wait's fast path and the non-blocking try of chan_do are the same
 * chan_try_locked() as pass 2 with an unpublished chan_sel, which pass 2
 * already does for the case it visits first (in either order); a select
 * set wait is chan_select_run() again; batch send/recv only try with an
 * unpublished chan_sel; a put-back after a failed copy-out claims parked
 * receivers with the same chan_sel_lock() + chan_fire_peer() as refill and
 * close. TOOBIG (every message fits), user copies, staging, errors before
 * anything moves, poll wakeups, the ring's data and head: they do not
 * decide which case fires (messages are checked by counting).
 */
proctype task(byte me)
{
	byte nc, first, k, w, c, t, pw, ps, s1, s2, res, vis, cnt, foc, fxk;
	bool th, op, pub, cl, ok, got, ret;
	byte blk;

	assert(_pid == me + 3);
	nc = ncases[me]; th = thinks[me];
	do
	:: /* chan_sel_init() on a fresh stack frame; the visiting order */
		atomic { CAN_RUN(me) ->
			sst[me] = WAITING; fired[me] = 0;
			nfired[me] = 0; freed[me] = 0;
			outcome[2 * me] = OC_NONE; outcome[2 * me + 1] = OC_NONE;
			xfer[2 * me] = 0; xfer[2 * me + 1] = 0;
			if
			:: first = 0
			:: nc == 2 -> first = 1		/* the Fisher-Yates shuffle */
			fi
		};
		/* visit the cases: chan_do(), chan_select_visit(park = true) */
		k = 0;
		do
		:: k < nc ->
			w = 2 * me + (first ^ k);
			atomic { CAN_RUN(me) -> c = wch[w]; op = wop[w]; ch_lock_try(c) };
			ch_lock_wait();
			try_locked();
			/* chan_enqueue_locked() if it blocks; spin_unlock() */
			atomic { CAN_RUN(me) ->
				if
				:: t == T_BLOCK ->
					assert(!queued[w]);
					printf("@ task %d: queues its case %d on ch%d\n", me, w - 2 * me, c);
					queued[w] = 1;
					pub = 1
				:: else
				fi;
				ch_unlock_body(c);
				cl = 0; cnt = 0
			};
			if
			:: t != T_BLOCK -> break
			:: else -> k++
			fi
		:: else -> break
		od;
		/* chan_do() returns at once when its only case completed */
		if
		:: nc == 1 && t == T_DONE -> ret = R_OK
		:: else -> sel_wait()
		fi;
		/* chan_dequeue() of every case */
		k = 0;
		do
		:: k < nc ->
			w = 2 * me + k;
			atomic { CAN_RUN(me) ->
				if
				:: queued[w] -> c = wch[w]; ch_lock_try(c); got = 1
				:: else -> got = 0	/* READ_ONCE(w->queued) */
				fi
			};
			if
			:: got ->
				ch_lock_wait();
				atomic { CAN_RUN(me) ->
					queued[w] = 0;
					ch_unlock_body(c);
					cl = 0; cnt = 0
				}
			:: else
			fi;
			got = 0;
			k++
		:: else -> break
		od;
		/* back to user space: the chan_sel and waiters are gone */
		atomic { CAN_RUN(me) ->
			check_return();
			printf("@ task %d: returns %d\n", me, ret);
			freed[me] = 1;
			first = 0; k = 0; w = 0; c = 0; t = 0; op = 0;
			pub = 0; ret = 0
		};
progress_ret:
		/* user space between two operations: maybe a nanosleep */
		if
		:: th ->
			atomic { CAN_RUN(me) -> asleep[me] = 1 };
			asleep[me] = 0		/* its hrtimer fires */
		:: else
		fi
	od
}

/*
 * CHAN_IOC_CLOSE (chan_ioctl_close -> chan_close_locked) on the channel of
 * its waiter 2*me, once, after any delay. The failed-senders walk of
 * chan_release (last receiver gone) is the same loop as close's second one.
 */
proctype closer(byte me)
{
	byte w, c, pw, ps, vis, cnt, blk;
	bool ok, got, cl, qop;

	assert(_pid == me + 3);
	atomic { CAN_RUN(me) -> asleep[me] = 1 };
	asleep[me] = 0;				/* any delay */
	atomic { CAN_RUN(me) -> c = wch[2 * me]; ch_lock_try(c) };
	ch_lock_wait();
	if
	:: cl					/* -EALREADY */
	:: else ->
		atomic { CAN_RUN(me) -> closed[c] = 1; printf("@ task %d: closes ch%d\n", me, c) };
		/* receivers, then senders (chan_fail_senders_locked()) */
		qop = RECV;
		do
		:: atomic { CAN_RUN(me) -> pick(qop, NONE) };
			if
			:: pw == NONE && qop == RECV -> qop = SEND; vis = 0
			:: pw == NONE && qop == SEND -> break
			:: else ->
				sel_lock(pw / 2, 0);
				if
				:: ok -> fire_peer(pw, OC_CLOSED, XK_NONE, NONE)
				:: else
				fi;
				vis = vis | (1 << pw);
				ok = 0
			fi
		od;
		vis = 0; pw = 0; qop = 0
	fi;
	atomic { CAN_RUN(me) -> ch_unlock_body(c) };
progress_close:
	skip
}

/* ------------------------------------------------------------------ */
/* Configurations                                                      */
/* ------------------------------------------------------------------ */
/*
 * Chosen when pan runs, from the environment (KCHAN_CFG=n, default 1), so
 * that one pan serves every configuration. A trail records the choice:
 * "spin -t" replays it without the variable.
 */
c_code {
int kchan_cfg;

static void kchan_cfg_read(void)
{
	char *e = getenv("KCHAN_CFG");

	kchan_cfg = e ? atoi(e) : 1;
	if (kchan_cfg < 1 || kchan_cfg > 7) {
		fprintf(stderr, "pan: error: KCHAN_CFG=%s: no such configuration\n", e);
		exit(2);
	}
}
}

#define CFG_IS(n)	c_expr { kchan_cfg == n }

inline mk_task(t, cp, pr, nc, op0, ch0, op1, ch1, tm, th)
{
	cpu[t] = cp; prio[t] = pr; boost[t] = pr;
	ncases[t] = nc; timed[t] = tm; thinks[t] = th;
	wop[2 * t] = op0; wch[2 * t] = ch0;
	wop[2 * t + 1] = op1; wch[2 * t + 1] = ch1
}

/* the channel a closer closes is its case 0's */
inline mk_closer(t, cp, pr, ch0)
{
	cpu[t] = cp; prio[t] = pr; boost[t] = pr;
	ncases[t] = 0; wch[2 * t] = ch0
}

init {
	c_code { kchan_cfg_read(); };
	atomic {
		if
		:: CFG_IS(1) ->
			/*
			 * 1 CPU, PREEMPT_RT: the livelock seen on 6.1-rt. A receiver
			 * with short timeouts at SCHED_FIFO 20, a plain sender at 10.
			 */
			mk_task(0, 0, 20, 1, RECV, 0, RECV, 0, 1, 1);
			mk_task(1, 0, 10, 1, SEND, 0, SEND, 0, 0, 0);
			run task(0); run task(1)
		:: CFG_IS(2) ->
			/*
			 * 1 CPU: two selects that meet each other, published or not,
			 * over an unbuffered and a buffered channel, at different
			 * priorities, both with timeouts.
			 */
			mk_task(0, 0, 30, 2, RECV, 0, SEND, 1, 1, 1);
			mk_task(1, 0, 20, 2, SEND, 0, RECV, 1, 1, 0);
			run task(0); run task(1)
		:: CFG_IS(3) ->
			/*
			 * 1 CPU: close. A select receiving from both channels (timed,
			 * highest), a select sending on both, a closer of the
			 * unbuffered one, lowest.
			 */
			mk_task(0, 0, 30, 2, RECV, 0, RECV, 1, 1, 1);
			mk_task(1, 0, 20, 2, SEND, 1, SEND, 0, 1, 0);
			mk_closer(2, 0, 10, 0);
			run task(0); run task(1); run closer(2)
		:: CFG_IS(4) ->
			/*
			 * 2 CPUs: the two selects of cfg 2, one on each CPU, so that
			 * both run at once: sel->lock is contended, two sels are
			 * taken in address order from both sides, an owner's final
			 * lock waits for a partner running on the other CPU.
			 */
			mk_task(0, 0, 30, 2, RECV, 0, SEND, 1, 1, 1);
			mk_task(1, 1, 25, 2, SEND, 0, RECV, 1, 1, 0);
			run task(0); run task(1)
		:: CFG_IS(5) ->
			/*
			 * 2 CPUs: cfg 1's pair on CPU 0 (timed receiver above a
			 * sender) and a select receiving from both channels on CPU 1
			 * racing them (at 15: if it blocks on the ch->lock that the
			 * sender holds, inheritance lifts the sender to 15, still
			 * below the receiver).
			 */
			mk_task(0, 0, 20, 1, RECV, 0, RECV, 0, 1, 1);
			mk_task(1, 0, 10, 1, SEND, 0, SEND, 0, 0, 0);
			mk_task(2, 1, 15, 2, RECV, 0, RECV, 1, 1, 0);
			run task(0); run task(1); run task(2)
		:: CFG_IS(6) ->
			/*
			 * 1 CPU: a select sending and receiving on the buffered
			 * channel (refill and close meet its own other waiter), a
			 * timed receiver on it, a closer of it.
			 */
			mk_task(0, 0, 30, 2, SEND, 1, RECV, 1, 1, 1);
			mk_task(1, 0, 20, 1, RECV, 1, RECV, 1, 1, 0);
			mk_closer(2, 0, 10, 1);
			run task(0); run task(1); run closer(2)
		:: CFG_IS(7) ->
			/*
			 * 2 CPUs: close racing the owners. A select receiving from
			 * both channels on CPU 0, a timed sender on the unbuffered
			 * channel on CPU 1 and, below it, the closer of that channel.
			 */
			mk_task(0, 0, 30, 2, RECV, 0, RECV, 1, 1, 0);
			mk_task(1, 1, 20, 1, SEND, 0, SEND, 0, 1, 0);
			mk_closer(2, 1, 10, 0);
			run task(0); run task(1); run closer(2)
		fi;
		/*
		 * Distinct priorities: then inheritance never makes two
		 * runnable tasks of one CPU equal, and "the highest runs" is
		 * SCHED_FIFO exactly (equal ones would interleave freely, a
		 * time slicing SCHED_FIFO does not do).
		 */
		assert(prio[0] == 0 || (prio[0] != prio[1] && prio[0] != prio[2] && prio[0] != prio[3]));
		assert(prio[1] == 0 || (prio[1] != prio[2] && prio[1] != prio[3]));
		assert(prio[2] == 0 || prio[2] != prio[3])
	}
}

/* message conservation, checked in every state */
active proctype conservation()
{
end:	atomic { !(CONSERVED(0) && CONSERVED(1)) -> assert(false) }
}

/*
 * No deadlock: nothing at all can move (every task asleep for good or
 * blocked). The tasks loop forever and the timed ones always have a timer,
 * so this is a bug. (A -DNP build does not report invalid end states, so
 * this stands in for them; the monitors and init may end.)
 */
active proctype watchdog()
{
end:	timeout -> assert(false)
}
