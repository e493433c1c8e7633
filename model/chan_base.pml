/*
 * chan_base.pml - what both models of the kchan commit protocol share:
 * constants, the scheduler, the state of channels, chan_sels and waiters,
 * the ghost state of the assertions, and the channel-lock primitives.
 *
 * Layout of the model (spin's cpp does the including):
 *   chan_sel_old.pml / chan_sel_new.pml   one protocol each: include this
 *       file, define the protocol primitives (sel_lock, sel_unlock,
 *       fire_peer, fire_own, sel_wait), then include
 *   chan_tasks.pml   the code under ch->lock that uses them (chan_claim,
 *       chan_try_locked, refill, close), the tasks, the configurations
 *       (chosen when pan runs: KCHAN_CFG=n) and the monitors.
 * README.md says how to run it and what each check shows.
 *
 * What is modelled
 *   - Tasks with a CPU and a fixed SCHED_FIFO priority; preemption between
 *     any two steps, except where preemption is off (a raw spinlock held or
 *     being spun for). ch->lock as PREEMPT_RT makes it: a sleeping,
 *     preemptible rt_mutex with priority inheritance ("Scheduler" below).
 *     Timers and signals end a timed sleep at any moment.
 *   - Two channels: ch0 unbuffered, ch1 of capacity 1; a ring reduced to its
 *     count; send and recv queues; closed.
 *   - A chan_sel per task (its state, fired, and in the new protocol its
 *     lock) and one waiter per case (queued, outcome); published is the
 *     owner's alone, so it is a local of the task.
 *
 * What is abstracted away, and why it does not matter here
 *   - Message data, lengths, TOOBIG, fd passing, user copies, allocations,
 *     poll wakeups, handle counts: they do not take part in deciding which
 *     case fires. Messages are counted, not carried (see CONSERVED).
 *   - The order of a queue: a partner walking a queue may visit the queued
 *     waiters in any order (a superset of list_for_each_entry_safe's FIFO
 *     walk); each walk still visits each waiter at most once.
 *   - Memory ordering: each step is atomic and sequentially consistent. The
 *     kernel's pairs (smp_store_release of DONE in chan_sel_set_final /
 *     smp_load_acquire in chan_sel_wait; the old atomic_set_release /
 *     atomic_read_acquire) exist to give exactly that for the fields the
 *     model reads.
 *   - Equal priorities: the configurations give every task its own priority
 *     (init asserts it). Then inheritance never makes two runnable tasks of
 *     a CPU equal, and "the highest runnable task runs" is SCHED_FIFO
 *     exactly; the model would let equals interleave freely, which is round
 *     robin, not FIFO.
 *   - rt_spin_lock's adaptive spinning (it spins while the owner runs on
 *     another CPU): a performance detail; blocking is what matters when the
 *     owner is preempted.
 *
 * Conventions
 *   Task t owns chan_sel t, whose "address" is t (this fixes chan_claim's
 *   address order), and waiters 2t (case 0) and 2t+1 (case 1). Every step
 *   that touches shared state is one atomic { CAN_RUN(me) -> ... }: it can
 *   only happen while the scheduler lets task `me` run, and the task can be
 *   preempted between any two such steps. What a step only reads and cannot
 *   change under us (a queue, ch->count, ch->closed while we hold ch->lock)
 *   is read in a neighbouring step. Lines that start "@ " in printf()s are
 *   the story of a trail (pan does not print them; spin -t does).
 */

/* ------------------------------------------------------------------ */
/* sizes and constants                                                 */
/* ------------------------------------------------------------------ */

#define NT	4	/* task slots (prio 0: slot unused) */
#define NW	8	/* waiters: task t owns 2t and 2t+1 */
#define NCH	2	/* channel 0 unbuffered, channel 1 capacity 1 */
#define NONE	255

#define SEND	0	/* CHAN_OP_SEND */
#define RECV	1	/* CHAN_OP_RECV */

/* enum chan_sel_state (BUSY exists in the old protocol only) */
#define WAITING		0
#define BUSY		1
#define DONE		2
#define CANCELLED	3

/* enum chan_outcome (CHAN_TOOBIG is not modelled: every message fits) */
#define OC_NONE		0
#define OC_MOVED	1
#define OC_CLOSED	2

/* enum chan_try */
#define T_DONE		0
#define T_BLOCK		1
#define T_LOST		2

/* enum chan_claim */
#define CL_OK		0
#define CL_PEER_GONE	1
#define CL_SELF_GONE	2

/* what a fire step moves (ghost bookkeeping of messages) */
#define XK_NONE		0	/* nothing (CLOSED outcome) */
#define XK_HANDOFF	1	/* sender's buffer -> receiver's (memcpy) */
#define XK_PUSH		2	/* sender's buffer -> ring (chan_ring_push) */
#define XK_POP		3	/* ring -> receiver's buffer (chan_ring_pop) */

/* return codes of an operation */
#define R_OK		0
#define R_ERR		1	/* -ETIMEDOUT or -ERESTARTSYS */

/* ------------------------------------------------------------------ */
/* Scheduler                                                           */
/* ------------------------------------------------------------------ */
/*
 * Each task has a CPU and a fixed priority (SCHED_FIFO; higher number =
 * higher priority). A task is runnable unless it sleeps (asleep: it called
 * schedule() in TASK_INTERRUPTIBLE and nobody woke it) or is blocked on an
 * rt_mutex (want: it waits for a ch->lock that is held). Spinning tasks
 * (cpu_relax() loops, raw_spin_lock()) are runnable: that is the point.
 *
 * On each CPU only the runnable task of highest effective priority may
 * take a step (tasks of equal priority would interleave freely; the
 * configurations have none, see the top of the file). Exception: a
 * task with preemption disabled (npd > 0: it holds, or spins for, a raw
 * spinlock) keeps its CPU: nobody else on that CPU runs until it is done.
 *
 * ch->lock is a spinlock_t, which PREEMPT_RT turns into an rt_mutex: a
 * sleeping lock whose holder stays preemptible and inherits the priority
 * of the tasks blocked on it (boost). A holder never holds two ch->locks
 * and never blocks while holding one, so inheritance is one level deep.
 * An unlock wakes the top waiter, which takes the lock when it runs,
 * unless a task of higher priority steals it first (rt_mutex_steal()).
 * (Adaptive spinning of rt_spin_lock is a performance detail: blocking is
 * what matters when the holder is preempted.)
 *
 * Interrupts (the hrtimer that ends a timed sleep) are not tasks: a
 * sleeping task's timer may fire at any time, whoever runs.
 */

byte cpu[NT];		/* its CPU */
byte prio[NT];		/* its priority, 0 = slot unused */
byte boost[NT];		/* effective priority (priority inheritance) */
bool asleep[NT];	/* off the runqueue: in schedule(), not woken */
bool intr[NT];		/* set_current_state(TASK_INTERRUPTIBLE), not woken */
byte npd[NT];		/* preempt_disable() depth: raw spinlocks */
byte want[NT];		/* blocked on ch->lock c: c + 1 */
byte chlock[NCH];	/* ch->lock holder + 1, 0 when free */

/*
 * The scheduler's rule, evaluated before every step of task t. It is C
 * (c_expr) so that pan compiles one function instead of this expression
 * pasted into every transition; t is the caller's `me`, which is its
 * _pid - 3 (pids 0 and 1 are the monitors, 2 is init, tasks are run in
 * order; task() and closer() assert it).
 *
 *   runnable(t)  = prio[t] != 0 && !asleep[t] &&
 *                  (want[t] == 0 ||	  not blocked on a ch->lock, or
 *                   (chlock[want[t] - 1] == 0 &&   it is free and t is the
 *                    t is its top waiter))	  waiter its unlock woke
 *   CAN_RUN(t)   = runnable(t) &&
 *                  (npd[t] > 0 ||
 *                   for every other u on cpu[t]:
 *                       npd[u] == 0 && (!runnable(u) || boost[u] <= boost[t]))
 */
c_code {
/* the highest-priority task blocked on ch->lock c, or -1 */
static int sched_top_waiter(int c)
{
	int u, top = -1;

	for (u = 0; u < NT; u++)
		if (now.want[u] == c + 1 &&
		    (top < 0 || now.prio[u] > now.prio[top]))
			top = u;
	return top;
}

/* not asleep, and not blocked on a ch->lock (the unlock wakes the top waiter) */
static int sched_runnable(int t)
{
	if (now.prio[t] == 0 || now.asleep[t])
		return 0;
	if (now.want[t] == 0)
		return 1;
	return now.chlock[now.want[t] - 1] == 0 &&
	       sched_top_waiter(now.want[t] - 1) == t;
}

int sched_can_run(int t)
{
	int u;

	if (!sched_runnable(t))
		return 0;
	if (now.npd[t] > 0)
		return 1;
	for (u = 0; u < NT; u++) {
		if (u == t || now.cpu[u] != now.cpu[t])
			continue;
		if (now.npd[u] > 0)
			return 0;
		if (sched_runnable(u) && now.boost[u] > now.boost[t])
			return 0;
	}
	return 1;
}
}

/* (the space before "(" keeps spin from taking it for a side effect) */
#define CAN_RUN(t)	c_expr { sched_can_run (((P0 *)_this)->_pid - 3) }

/* wake_up_process(): ends schedule() and set_current_state() */
inline wake(t)
{
	intr[t] = 0;
	asleep[t] = 0
}

/* boost[me] = the highest priority of me and the tasks blocked on ch->lock cc */
inline pi_acquire(cc)
{
	boost[me] = prio[me];
	if :: want[0] == cc + 1 && prio[0] > boost[me] -> boost[me] = prio[0] :: else fi;
	if :: want[1] == cc + 1 && prio[1] > boost[me] -> boost[me] = prio[1] :: else fi;
	if :: want[2] == cc + 1 && prio[2] > boost[me] -> boost[me] = prio[2] :: else fi;
	if :: want[3] == cc + 1 && prio[3] > boost[me] -> boost[me] = prio[3] :: else fi
}

/*
 * What the code under ch->lock branches on, read in the step that takes
 * the lock: it cannot change while we hold it (but for our own changes).
 */
inline snap(cc)
{
	cl = closed[cc];
	cnt = count[cc]
}

#ifndef NON_RT
/*
 * spin_lock(&ch->lock) on PREEMPT_RT (rt_spin_lock), first half, inside a
 * step: take the lock if it is free and no waiter outranks us (an unlock
 * leaves the lock to its top waiter; only a higher-priority task may steal
 * it first), else block on it and boost the holder. The second half,
 * ch_lock_wait(), is the step that takes it once the scheduler runs us
 * again, i.e. it is free and we are its top waiter. blk: we blocked.
 */
/* no task of higher priority than me is blocked on ch->lock cc */
#define NO_WAITER_ABOVE(cc) \
	((want[0] != (cc) + 1 || prio[0] < prio[me]) && \
	 (want[1] != (cc) + 1 || prio[1] < prio[me]) && \
	 (want[2] != (cc) + 1 || prio[2] < prio[me]) && \
	 (want[3] != (cc) + 1 || prio[3] < prio[me]))

inline ch_lock_try(cc)
{
	assert(want[me] == 0 && chlock[cc] != me + 1);
	if
	:: chlock[cc] == 0 && NO_WAITER_ABOVE(cc) ->	/* free, or a steal */
		chlock[cc] = me + 1;
		pi_acquire(cc);
		snap(cc);
		blk = 0;
		printf("@ task %d: spin_lock(ch%d->lock)\n", me, cc)
	:: else ->
		want[me] = cc + 1;
		if
		:: chlock[cc] == 0 ->		/* left to a waiter above us */
			printf("@ task %d: blocks on ch%d->lock, free but left to a waiter above it\n",
			       me, cc)
		:: chlock[cc] != 0 && boost[chlock[cc] - 1] < prio[me] ->
			printf("@ task %d: blocks on ch%d->lock, held by task %d (boosts it to %d)\n",
			       me, cc, chlock[cc] - 1, prio[me]);
			boost[chlock[cc] - 1] = prio[me]
		:: else ->
			printf("@ task %d: blocks on ch%d->lock, held by task %d\n",
			       me, cc, chlock[cc] - 1)
		fi;
		blk = 1
	fi
}

inline ch_lock_wait()
{
	if
	:: blk ->
		atomic { CAN_RUN(me) ->
			chlock[want[me] - 1] = me + 1;
			pi_acquire(want[me] - 1);
			snap(want[me] - 1);
			printf("@ task %d: gets ch%d->lock\n", me, want[me] - 1);
			want[me] = 0;
			blk = 0
		}
	:: else
	fi
}

/* spin_unlock(&ch->lock), inside a step */
inline ch_unlock_body(cc)
{
	assert(chlock[cc] == me + 1);
	printf("@ task %d: spin_unlock(ch%d->lock)\n", me, cc);
	chlock[cc] = 0;
	boost[me] = prio[me]
}

#else /* NON_RT */
/*
 * -DNON_RT: a kernel without PREEMPT_RT, where spin_lock() disables
 * preemption and spins: ch->lock is then a raw spinlock like sel->lock of
 * the new protocol (used to show that the old protocol's livelock needs
 * PREEMPT_RT). blk: ch + 1 while we spin for it.
 */
inline ch_lock_try(cc)
{
	assert(chlock[cc] != me + 1);
	npd[me]++;				/* preempt_disable() */
	if
	:: chlock[cc] == 0 ->
		chlock[cc] = me + 1;
		snap(cc);
		blk = 0;
		printf("@ task %d: spin_lock(ch%d->lock)\n", me, cc)
	:: else -> blk = cc + 1
	fi
}

inline ch_lock_wait()
{
	do
	:: blk == 0 -> break
	:: atomic { blk != 0 && CAN_RUN(me) && chlock[blk - 1] == 0 ->
		chlock[blk - 1] = me + 1;
		snap(blk - 1);
		printf("@ task %d: spin_lock(ch%d->lock)\n", me, blk - 1);
		blk = 0
	   }
	:: atomic { blk != 0 && CAN_RUN(me) && chlock[blk - 1] != 0 -> skip }
	od
}

inline ch_unlock_body(cc)
{
	assert(chlock[cc] == me + 1);
	printf("@ task %d: spin_unlock(ch%d->lock)\n", me, cc);
	chlock[cc] = 0;
	npd[me]--
}
#endif

/* ------------------------------------------------------------------ */
/* Channels, chan_sels, waiters                                        */
/* ------------------------------------------------------------------ */

#define CAP(c)	((c) == 1 -> 1 : 0)	/* ch->capacity: 0 and 1 */
byte count[NCH];	/* ch->count */
bool closed[NCH];	/* ch->closed */

byte sst[NT];		/* sel->state */
byte fired[NT];		/* sel->fired: waiter + 1 */
byte slock[NT];		/* new protocol: sel->lock holder + 1 */

bool queued[NW];	/* w->queued: on wch[w]'s sendq (SEND) or recvq (RECV) */
byte wch[NW];		/* w->ch (configuration) */
bit  wop[NW];		/* w->op (configuration) */
byte outcome[NW];	/* w->outcome */

/* task configuration */
byte ncases[NT];	/* 1: plain send/recv (chan_do), 2: select; 0: closer */
bool timed[NT];		/* a timeout (and signals) can end its waits */
bool thinks[NT];	/* may sleep in user space between operations */

/* ghost state for the assertions */
byte nfired[NT];	/* fires of sel t in the current operation */
bool freed[NT];		/* task t returned: its chan_sel and waiters are gone */
bool xfer[NW];		/* a message moved through this waiter */
short bal[NCH];		/* sends returned OK minus receives returned OK */
byte pendS[NCH];	/* moved send waiters whose owner has not returned */
byte pendR[NCH];	/* moved recv waiters whose owner has not returned */

/*
 * No message lost or duplicated: every message a sender handed over is in
 * the ring, or with a receiver that has not returned yet, or was returned
 * by a receiver; sends still to return are counted on both sides.
 */
#define CONSERVED(c)	(bal[c] + pendS[c] == pendR[c] + count[c])

/* ghost bookkeeping of a message that moves, inside the step that moves it */
inline xfer_do(xk, a, b)
{
	if
	:: xk == XK_HANDOFF ->			/* a, b: the two waiters */
		assert(!xfer[a] && !xfer[b] && wop[a] != wop[b]);
		xfer[a] = 1; xfer[b] = 1;
		pendS[c]++; pendR[c]++
	:: xk == XK_PUSH ->			/* a: the sender */
		assert(!xfer[a] && wop[a] == SEND && count[c] < CAP(c));
		xfer[a] = 1;
		count[c]++; pendS[c]++
	:: xk == XK_POP ->			/* a: the receiver */
		assert(!xfer[a] && wop[a] == RECV && count[c] > 0);
		xfer[a] = 1;
		count[c]--; pendR[c]++
	:: else
	fi
}

/* record that waiter fw of sel fs fired: exactly once per operation */
inline note_fire(fs, fw, oc)
{
	assert(!freed[fs] && fw / 2 == fs && fw - 2 * fs < ncases[fs]);
	assert(nfired[fs] == 0 && fired[fs] == 0);
	printf("@ task %d: fires case %d of task %d (outcome %d)\n", me, fw - 2 * fs, fs, oc);
	nfired[fs] = 1;
	fired[fs] = fw + 1;
	outcome[fw] = oc
}

/*
 * A waiter on ch c's queue for direction qop that this scan has not visited
 * yet (vis) and that is not ours (excl): list_for_each_entry_safe() in
 * queue order becomes any order (a superset; nothing depends on FIFO).
 */
#define PK(i, qop, excl) (queued[i] && wch[i] == c && wop[i] == (qop) && \
			  (i) / 2 != (excl) && !(vis & (1 << (i))))

inline pick(qop, excl)
{
	if
	:: PK(0, qop, excl) -> pw = 0
	:: PK(1, qop, excl) -> pw = 1
	:: PK(2, qop, excl) -> pw = 2
	:: PK(3, qop, excl) -> pw = 3
	:: PK(4, qop, excl) -> pw = 4
	:: PK(5, qop, excl) -> pw = 5
	:: PK(6, qop, excl) -> pw = 6
	:: PK(7, qop, excl) -> pw = 7
	:: else -> pw = NONE
	fi
}

/*
 * The sleep of chan_sel_wait(), the same in both protocols:
 *   for (;;) { set_current_state(TASK_INTERRUPTIBLE);
 *              if (acquire-read state == DONE) break;        ret = R_OK
 *              if (signal_pending()) ...; schedule[_hrtimeout]() }
 * The hrtimer or a signal (-ETIMEDOUT, -ERESTARTSYS: both R_ERR) may end
 * it whenever the task sleeps (an interrupt wakes it) or runs in it (the
 * deadline passed, a signal is pending). A wakeup between the check and
 * schedule() clears intr, so schedule() does not sleep: no lost wakeup.
 */
inline wait_loop()
{
	ret = R_OK;
	do
	:: atomic { CAN_RUN(me) ->		/* set_current_state(); DONE? */
		intr[me] = 1;
		if
		:: sst[me] == DONE -> intr[me] = 0; break
		:: else
		fi
	   };
	   atomic { CAN_RUN(me) ->		/* schedule(): unless woken */
		if
		:: intr[me] -> asleep[me] = 1;
			printf("@ task %d: sleeps in chan_sel_wait\n", me)
		:: else
		fi
	   }
	:: atomic { timed[me] && (asleep[me] || CAN_RUN(me)) ->
		printf("@ task %d: its timer fires (or a signal): -ETIMEDOUT\n", me);
		asleep[me] = 0; intr[me] = 0;
		ret = R_ERR;
		break
	   }
	od
}
