// SPDX-License-Identifier: GPL-2.0
/*
 * kchan: the channel object.
 *
 * A channel is a ring of capacity slots of msg_size bytes plus two FIFO
 * queues of blocked operations (senders, receivers), with Go's semantics:
 * a send hands its message straight to a parked receiver if there is one,
 * else fills a free slot, else parks; a receive takes the oldest buffered
 * message (and lets the first parked sender refill the slot), else takes a
 * parked sender's message, else reports closed, else parks.
 *
 * Locking
 * -------
 * ch->lock (a spinlock) protects the ring, both queues, the counters, the
 * handle counts and closed. It is never held across a user copy, an
 * allocation or a sleep, and never two at once: a select visits its
 * channels one after the other. Data crosses between processes through
 * kernel buffers owned by the waiters (struct chan_waiter).
 *
 The commit protocol
 * -------------------
 * A blocked operation (struct chan_sel) is decided under sel->lock, a raw
 * spinlock: a partner that finds one of its waiters on a queue (under
 * ch->lock) takes sel->lock, and if the state is still WAITING completes
 * that waiter (moves the message, unqueues it, sets DONE and wakes the
 * owner) before it unlocks; if the state is final it skips the waiter. The
 * owner, once woken or timed out, takes sel->lock too: WAITING becomes
 * CANCELLED, DONE means a case fired. So exactly one case of a select
 * fires, and a timeout or signal racing with a partner loses or wins as a
 * whole. When two chan_sels are needed (a published select meets another
 * blocked operation) both are locked, in address order.
 *
 * Why a raw spinlock (PREEMPT_RT): ch->lock is a spinlock_t, which on
 * PREEMPT_RT is a sleeping, preemptible lock. The decision used to be a
 * BUSY state word that others spun on; a holder preempted under ch->lock by
 * a higher-priority task on its CPU that spun on BUSY never ran again
 * (livelock). A raw spinlock keeps preemption off while it is held, also
 * on RT, and nothing under it sleeps or takes a sleeping lock: its holder
 * copies at most one message (msg_size bytes, bounded by max_msg_size),
 * edits a queue and wakes a task. Whoever waits for sel->lock therefore
 * waits only for a task running on another CPU, for a bounded time.
 * model/ checks this protocol (and shows the old one's livelock) with spin.
 *
 * Lifetime of a chan_sel: it lives on its owner's stack. A partner touches
 * it (and its waiters) only under sel->lock while the state is WAITING,
 * and the owner, after it has seen a final state, takes sel->lock once
 * more before it returns (chan_sel_wait()): so no partner is still inside
 * the chan_sel when the owner's frame goes away.
 *
 * Lock order: ch->lock -> sel->lock (two: address order, the second nested)
 * -> scheduler locks of a woken task; and ch->lock -> ch->poll_wq.lock (poll
 * wakeups are issued under ch->lock, see chan_poll_wake(); epoll's and
 * poll's wake callbacks take no channel lock).
 * The module-wide locks come first: chan_names_mutex (names.c) ->
 * chan_list_mutex (proc.c) -> ch->lock. chan_free() may run under the first.
 * A select set's mutex (selset.c) comes before ch->lock too.
 *
 * Lifetime: a channel lives while a file or a name holds a reference. A
 * chan_sel and its waiters belong to the blocked task and stay valid while
 * any waiter is queued: the owner dequeues every waiter under ch->lock
 * before it returns. A partner touches a waiter only under ch->lock while
 * it is queued and under sel->lock while the chan_sel is WAITING.
 */

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/hrtimer.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <linux/chan.h>

#include "kchan.h"
#include "trace.h"

#define CHAN_POLL_ALL	(EPOLLIN | EPOLLRDNORM | EPOLLOUT | EPOLLWRNORM | \
			 EPOLLHUP | EPOLLERR)

static atomic64_t chan_next_id = ATOMIC64_INIT(0);

struct chan *chan_alloc(u32 capacity, u32 msg_size, u32 flags)
{
	struct chan *ch;
	int ret;

	ch = kzalloc(sizeof(*ch), GFP_KERNEL_ACCOUNT);
	if (!ch)
		return ERR_PTR(-ENOMEM);
	ret = chan_charge(ch, (unsigned long)capacity * msg_size);
	if (ret)
		goto err_free;
	ret = -ENOMEM;
	if (capacity) {
		ch->lens = kvcalloc(capacity, sizeof(*ch->lens),
				    CHAN_GFP_USER_SIZED);
		if (!ch->lens)
			goto err_uncharge;
		if (msg_size) {
			ch->data = kvmalloc(array_size(capacity, msg_size),
					    CHAN_GFP_USER_SIZED);
			if (!ch->data)
				goto err_uncharge;
		}
		if (flags & CHAN_FDPASS) {
			ch->files = kvcalloc(capacity, sizeof(*ch->files),
					     CHAN_GFP_USER_SIZED);
			if (!ch->files)
				goto err_uncharge;
		}
	}
	spin_lock_init(&ch->lock);
	INIT_LIST_HEAD(&ch->sendq);
	INIT_LIST_HEAD(&ch->recvq);
	init_waitqueue_head(&ch->poll_wq);
	refcount_set(&ch->ref, 1);
	ch->capacity = capacity;
	ch->msg_size = msg_size;
	ch->flags = flags & CHAN_FDPASS;
	ch->id = atomic64_inc_return(&chan_next_id);
	chan_track(ch);
	return ch;

err_uncharge:
	chan_uncharge(ch);
err_free:
	kvfree(ch->data);
	kvfree(ch->lens);
	kfree(ch);
	return ERR_PTR(ret);
}

static void chan_free(struct chan *ch)
{
	u32 i, slot;

	chan_untrack(ch);
	if (ch->files) {
		for (i = 0; i < ch->count; i++) {
			slot = (ch->head + i) % ch->capacity;
			if (ch->files[slot])
				chan_inflight_fput(ch->files[slot]);
		}
	}
	chan_uncharge(ch);
	kvfree(ch->files);
	kvfree(ch->data);
	kvfree(ch->lens);
	kfree(ch);
}

void chan_put(struct chan *ch)
{
	if (refcount_dec_and_test(&ch->ref))
		chan_free(ch);
}

/*
 * Wake poll and epoll waiters after a change of readiness. @key says what
 * may have become ready, so that an edge-triggered watcher of the other
 * side sees no event: see chan_poll_key().
 *
 * Called under ch->lock, in the same critical section as the change: a
 * change is never visible (to chan_poll(), CHAN_IOC_INFO) before its wakeup
 * is issued. That also makes wq_has_sleeper()'s barrier unnecessary: a
 * poller queues itself on poll_wq before it takes ch->lock to look at the
 * state (chan_poll()), so either its look comes after this critical section
 * and sees the change, or its queueing came before and the plain list check
 * below sees it.
 */
void chan_poll_wake(struct chan *ch, __poll_t key)
{
	lockdep_assert_held(&ch->lock);
	/* ch->lock orders this against chan_poll(): see above */
	if (waitqueue_active(&ch->poll_wq))
		wake_up_poll(&ch->poll_wq, key);
}

/*
 * What a completed or parked operation may make ready: a send (buffered
 * message, parked sender) is news for receivers, a receive (free slot,
 * parked receiver) for senders.
 */
__poll_t chan_poll_key(u8 op)
{
	return op == CHAN_OP_SEND ? EPOLLIN | EPOLLRDNORM :
				    EPOLLOUT | EPOLLWRNORM;
}

/* ---- the ring, under ch->lock ---- */

static void chan_ring_push(struct chan *ch, struct chan_waiter *w)
{
	u32 tail = ch->head + ch->count;

	if (tail >= ch->capacity)
		tail -= ch->capacity;
	if (w->len)
		memcpy(ch->data + (size_t)tail * ch->msg_size, w->buf, w->len);
	ch->lens[tail] = w->len;
	if (ch->files)
		ch->files[tail] = w->file;
	w->file = NULL;
	ch->count++;
	ch->sent++;
}

static void chan_ring_pop(struct chan *ch, struct chan_waiter *w)
{
	u32 head = ch->head;

	w->len = ch->lens[head];
	if (w->len)
		memcpy(w->buf, ch->data + (size_t)head * ch->msg_size, w->len);
	if (ch->files) {
		w->file = ch->files[head];
		ch->files[head] = NULL;
	}
	ch->head = head + 1 == ch->capacity ? 0 : head + 1;
	ch->count--;
	ch->received++;
}

/* ---- blocked operations ---- */

/*
 * One lock class for every chan_sel (select, set wait, send, recv, batch),
 * since two of them nest in address order whatever their kind.
 */
void chan_sel_init(struct chan_sel *sel)
{
	raw_spin_lock_init(&sel->lock);
	sel->state = CHAN_SEL_WAITING;
	sel->task = current;
	sel->fired = NULL;
	sel->published = false;
}

/*
 * Take a chan_sel for a decision; false (and not held) when it is final
 * already. @nested: it is the second of two (see chan_claim()).
 */
static bool chan_sel_lock(struct chan_sel *sel, bool nested)
{
	raw_spin_lock_nested(&sel->lock, nested ? SINGLE_DEPTH_NESTING : 0);
	if (likely(sel->state == CHAN_SEL_WAITING)) {
		/*
		 * Held on return: sparse cannot follow a lock taken here and
		 * dropped by chan_fire_*() or chan_sel_unlock(); lockdep can.
		 */
		__release(&sel->lock);
		return true;
	}
	raw_spin_unlock(&sel->lock);
	return false;
}

static void chan_sel_unlock(struct chan_sel *sel)
{
	__acquire(&sel->lock);	/* see chan_sel_lock() */
	raw_spin_unlock(&sel->lock);
}

/* Make a held chan_sel final; its owner reads the state locklessly too. */
static void chan_sel_set_final(struct chan_sel *sel, struct chan_waiter *w,
			       int state)
{
	lockdep_assert_held(&sel->lock);
	sel->fired = w;
	/* pairs with smp_load_acquire() in chan_sel_wait() */
	smp_store_release(&sel->state, state);
}

enum chan_claim {
	CHAN_CLAIM_OK,
	CHAN_CLAIM_PEER_GONE,
	CHAN_CLAIM_SELF_GONE,
};

/*
 * Take the caller's own chan_sel (only once published: before that nobody
 * else can see it) and, if @peer is not NULL, the peer's, in address order.
 */
static enum chan_claim chan_claim(struct chan_sel *own, struct chan_sel *peer)
{
	if (!own->published) {
		if (peer && !chan_sel_lock(peer, false))
			return CHAN_CLAIM_PEER_GONE;
		return CHAN_CLAIM_OK;
	}
	if (!peer)
		return chan_sel_lock(own, false) ? CHAN_CLAIM_OK :
						   CHAN_CLAIM_SELF_GONE;
	if ((unsigned long)own < (unsigned long)peer) {
		if (!chan_sel_lock(own, false))
			return CHAN_CLAIM_SELF_GONE;
		if (!chan_sel_lock(peer, true)) {
			chan_sel_unlock(own);
			return CHAN_CLAIM_PEER_GONE;
		}
		return CHAN_CLAIM_OK;
	}
	if (!chan_sel_lock(peer, false))
		return CHAN_CLAIM_PEER_GONE;
	if (!chan_sel_lock(own, true)) {
		chan_sel_unlock(peer);
		return CHAN_CLAIM_SELF_GONE;
	}
	return CHAN_CLAIM_OK;
}

static void chan_unqueue_locked(struct chan *ch, struct chan_waiter *w)
{
	list_del(&w->node);
	w->queued = false;
	if (w->op == CHAN_OP_SEND)
		ch->nr_send_waiters--;
	else
		ch->nr_recv_waiters--;
}

void chan_enqueue_locked(struct chan *ch, struct chan_waiter *w)
{
	if (w->op == CHAN_OP_SEND) {
		list_add_tail(&w->node, &ch->sendq);
		ch->nr_send_waiters++;
	} else {
		list_add_tail(&w->node, &ch->recvq);
		ch->nr_recv_waiters++;
	}
	w->queued = true;
	w->sel->published = true;
}

/* Called by the owner once its chan_sel is final. */
void chan_dequeue(struct chan_waiter *w)
{
	struct chan *ch = w->ch;

	/* Only the owner sets queued once the chan_sel is final. */
	if (!READ_ONCE(w->queued))
		return;
	spin_lock(&ch->lock);
	if (w->queued)
		chan_unqueue_locked(ch, w);
	spin_unlock(&ch->lock);
}

/*
 * Complete a peer's waiter (its chan_sel held by us), wake it and unlock:
 * the owner cannot return before the unlock (see the top of the file).
 */
static void chan_fire_peer(struct chan *ch, struct chan_waiter *w,
			   enum chan_outcome outcome)
{
	struct chan_sel *sel = w->sel;

	chan_unqueue_locked(ch, w);
	w->outcome = outcome;
	chan_sel_set_final(sel, w, CHAN_SEL_DONE);
	wake_up_process(sel->task);
	chan_sel_unlock(sel);
}

/* Complete the caller's own waiter (held, or not yet published). */
static enum chan_try chan_fire_own(struct chan_waiter *w,
				   enum chan_outcome outcome)
{
	struct chan_sel *sel = w->sel;

	w->outcome = outcome;
	if (!sel->published) {
		sel->fired = w;
		sel->state = CHAN_SEL_DONE;
		return CHAN_TRY_DONE;
	}
	chan_sel_set_final(sel, w, CHAN_SEL_DONE);
	chan_sel_unlock(sel);
	return CHAN_TRY_DONE;
}

/* As chan_fire_own() when no peer is involved: take our own sel first. */
static enum chan_try chan_finish_own(struct chan_waiter *w,
				     enum chan_outcome outcome)
{
	if (chan_claim(w->sel, NULL) != CHAN_CLAIM_OK)
		return CHAN_TRY_LOST;
	return chan_fire_own(w, outcome);
}

/* A slot was freed: let the first parked sender that is still claimable in. */
static void chan_refill_locked(struct chan *ch)
{
	struct chan_waiter *s, *tmp;

	list_for_each_entry_safe(s, tmp, &ch->sendq, node) {
		if (!chan_sel_lock(s->sel, false))
			continue;
		chan_ring_push(ch, s);
		chan_fire_peer(ch, s, CHAN_MOVED);
		return;
	}
}

/* Fail every parked sender: closed, or no receiver left. */
static void chan_fail_senders_locked(struct chan *ch)
{
	struct chan_waiter *s, *tmp;

	list_for_each_entry_safe(s, tmp, &ch->sendq, node) {
		if (chan_sel_lock(s->sel, false))
			chan_fire_peer(ch, s, CHAN_CLOSED);
	}
}

static void chan_close_locked(struct chan *ch)
{
	struct chan_waiter *r, *tmp;

	ch->closed = true;
	trace_chan_close(ch->id, ch->count, !ch->send_handles);
	list_for_each_entry_safe(r, tmp, &ch->recvq, node) {
		if (!chan_sel_lock(r->sel, false))
			continue;
		r->len = 0;
		chan_fire_peer(ch, r, CHAN_CLOSED);
	}
	chan_fail_senders_locked(ch);
}

static enum chan_try chan_send_locked(struct chan *ch, struct chan_waiter *w)
{
	struct chan_sel *own = w->sel;
	struct chan_waiter *r, *tmp;

	if (ch->closed || !ch->recv_handles)
		return chan_finish_own(w, CHAN_CLOSED);

	list_for_each_entry_safe(r, tmp, &ch->recvq, node) {
		if (r->sel == own)
			continue;	/* a select never meets itself */
		switch (chan_claim(own, r->sel)) {
		case CHAN_CLAIM_SELF_GONE:
			return CHAN_TRY_LOST;
		case CHAN_CLAIM_PEER_GONE:
			continue;
		case CHAN_CLAIM_OK:
			break;
		}
		if (r->len < w->len) {
			/* Its buffer is too small: it fails, we go on. */
			r->len = w->len;
			chan_fire_peer(ch, r, CHAN_TOOBIG);
			if (own->published)
				chan_sel_unlock(own);
			continue;
		}
		if (w->len)
			memcpy(r->buf, w->buf, w->len);
		r->len = w->len;
		r->file = w->file;
		w->file = NULL;
		ch->sent++;
		ch->received++;
		chan_fire_peer(ch, r, CHAN_MOVED);
		return chan_fire_own(w, CHAN_MOVED);
	}

	if (ch->count < ch->capacity) {
		if (chan_claim(own, NULL) != CHAN_CLAIM_OK)
			return CHAN_TRY_LOST;
		chan_ring_push(ch, w);
		return chan_fire_own(w, CHAN_MOVED);
	}
	return CHAN_TRY_BLOCK;
}

static enum chan_try chan_recv_locked(struct chan *ch, struct chan_waiter *w)
{
	struct chan_sel *own = w->sel;
	struct chan_waiter *s, *tmp;

	if (ch->count) {
		if (ch->lens[ch->head] > w->len) {
			w->len = ch->lens[ch->head];
			return chan_finish_own(w, CHAN_TOOBIG);
		}
		if (chan_claim(own, NULL) != CHAN_CLAIM_OK)
			return CHAN_TRY_LOST;
		chan_ring_pop(ch, w);
		chan_fire_own(w, CHAN_MOVED);
		chan_refill_locked(ch);
		return CHAN_TRY_DONE;
	}

	list_for_each_entry_safe(s, tmp, &ch->sendq, node) {
		if (s->sel == own)
			continue;	/* a select never meets itself */
		switch (chan_claim(own, s->sel)) {
		case CHAN_CLAIM_SELF_GONE:
			return CHAN_TRY_LOST;
		case CHAN_CLAIM_PEER_GONE:
			continue;
		case CHAN_CLAIM_OK:
			break;
		}
		if (s->len > w->len) {
			/* The message stays with its sender. */
			chan_sel_unlock(s->sel);
			w->len = s->len;
			return chan_fire_own(w, CHAN_TOOBIG);
		}
		if (s->len)
			memcpy(w->buf, s->buf, s->len);
		w->len = s->len;
		w->file = s->file;
		s->file = NULL;
		ch->sent++;
		ch->received++;
		chan_fire_peer(ch, s, CHAN_MOVED);
		return chan_fire_own(w, CHAN_MOVED);
	}

	if (ch->closed) {
		w->len = 0;
		return chan_finish_own(w, CHAN_CLOSED);
	}
	return CHAN_TRY_BLOCK;
}

/*
 * Try to complete @w on @ch right now, under ch->lock. A published select
 * may find that a partner completed another of its cases first (LOST).
 */
enum chan_try chan_try_locked(struct chan *ch, struct chan_waiter *w)
{
	lockdep_assert_held(&ch->lock);
	if (w->op == CHAN_OP_SEND)
		return chan_send_locked(ch, w);
	return chan_recv_locked(ch, w);
}

/*
 * Sleep until @sel is DONE, a signal arrives or the absolute @deadline
 * passes. On a signal or timeout the owner cancels; if a partner won the
 * race the operation completed and that is what counts (exactly once).
 */
int chan_sel_wait(struct chan_sel *sel, ktime_t deadline, bool timed)
{
	int ret = 0;

	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		/* pairs with smp_store_release() in chan_sel_set_final() */
		if (smp_load_acquire(&sel->state) == CHAN_SEL_DONE)
			break;
		if (signal_pending(current)) {
			ret = -ERESTARTSYS;
			break;
		}
		if (!timed) {
			schedule();
		} else if (!schedule_hrtimeout_range(&deadline,
						     current->timer_slack_ns,
						     HRTIMER_MODE_ABS)) {
			ret = -ETIMEDOUT;
			break;
		}
	}
	__set_current_state(TASK_RUNNING);

	/*
	 * Decide, or wait out the partner that decided: it may still be
	 * inside @sel (waking us) until it unlocks. Not a spin on a state
	 * a preempted task holds: the holder runs with preemption off.
	 */
	raw_spin_lock(&sel->lock);
	if (sel->state == CHAN_SEL_WAITING)
		sel->state = CHAN_SEL_CANCELLED;
	else
		ret = 0;	/* DONE: a case fired, whatever woke us */
	raw_spin_unlock(&sel->lock);
	return ret;
}

/* ---- one send or receive by a handle ---- */

struct chan_xfer {
	void __user *ubuf;
	size_t ulen;		/* in: message / buffer; out: length */
	ktime_t deadline;	/* absolute, when timed */
	bool timed;
	bool nonblock;
	bool ok;		/* out (recv) */
	bool cloexec;		/* recv: installed fd gets FD_CLOEXEC */
	bool want_fd;		/* recv: report a passed fd (else drop it) */
	int fd;			/* send: fd to pass; out (recv): fd or -1 */
};

/*
 * Complete @w now, or (unless non-blocking) park it until a partner
 * completes it, a signal comes or the deadline passes. Once this returns
 * @w is on no queue.
 */
static int chan_do(struct chan *ch, struct chan_waiter *w, struct chan_xfer *x)
{
	enum chan_try t;
	int ret;

	spin_lock(&ch->lock);
	t = chan_try_locked(ch, w);
	if (t == CHAN_TRY_BLOCK) {
		if (x->nonblock) {
			spin_unlock(&ch->lock);
			return -EAGAIN;
		}
		chan_enqueue_locked(ch, w);
	}
	chan_poll_wake(ch, chan_poll_key(w->op));
	spin_unlock(&ch->lock);
	if (t == CHAN_TRY_DONE)
		return 0;
	ret = chan_sel_wait(w->sel, x->deadline, x->timed);
	chan_dequeue(w);
	return ret;
}

static int chan_send(struct chan *ch, struct chan_xfer *x)
{
	u8 stack_buf[CHAN_STACK_BYTES] __uninitialized;
	struct chan_sel sel;
	struct chan_waiter w = {
		.sel = &sel,
		.ch = ch,
		.op = CHAN_OP_SEND,
		.buf = stack_buf,
		.len = x->ulen,
	};
	int ret;

	if (x->ulen > ch->msg_size)
		return -EMSGSIZE;
	if (x->fd != -1 && !(ch->flags & CHAN_FDPASS))
		return -EINVAL;
	chan_sel_init(&sel);
	if (x->ulen > sizeof(stack_buf)) {
		w.buf = kvmalloc(x->ulen, CHAN_GFP_USER_SIZED);
		if (!w.buf)
			return -ENOMEM;
	}
	ret = -EFAULT;
	if (w.buf == stack_buf ? chan_copy_in_small(w.buf, x->ubuf, x->ulen) :
	    copy_from_user(w.buf, x->ubuf, x->ulen))
		goto out;
	if (x->fd != -1) {
		ret = -EBADF;
		w.file = fget(x->fd);
		if (!w.file)
			goto out;
		/* No cycles, a bound per user (names.c). */
		ret = chan_file_take(w.file);
		if (ret) {
			fput(w.file);
			w.file = NULL;
			goto out;
		}
	}

	ret = chan_do(ch, &w, x);
	if (ret)
		goto out;
	ret = w.outcome == CHAN_MOVED ? 0 : -EPIPE;
out:
	trace_chan_send(ch->id, x->ulen, x->fd, ret);
	if (w.file)
		chan_inflight_fput(w.file);
	if (w.buf != stack_buf)
		kvfree(w.buf);
	return ret;
}

/*
 * Check that a receive buffer is writable before a message is taken, so a
 * bad pointer fails EFAULT with nothing consumed. Each page is read and
 * written back unchanged.
 */
int chan_probe_writable(void __user *ubuf, size_t len)
{
	char __user *p = ubuf;
	char __user *end = p + len;
	char c;

	if (!len)
		return 0;
	if (!user_access_begin(ubuf, len))
		return -EFAULT;
	do {
		unsafe_get_user(c, p, efault);
		unsafe_put_user(c, p, efault);
		p = (char __user *)PAGE_ALIGN((unsigned long)p + 1);
	} while (p < end);
	user_access_end();
	return 0;
efault:
	user_access_end();
	return -EFAULT;
}

/*
 * The copy to a buffer that passed chan_probe_writable() failed anyway
 * (another thread unmapped it): put the message back at the head if there
 * is room, else count it dropped.
 */
void chan_putback(struct chan *ch, struct chan_waiter *w)
{
	spin_lock(&ch->lock);
	if (ch->count < ch->capacity) {
		ch->head = ch->head ? ch->head - 1 : ch->capacity - 1;
		if (w->len)
			memcpy(ch->data + (size_t)ch->head * ch->msg_size,
			       w->buf, w->len);
		ch->lens[ch->head] = w->len;
		if (ch->files)
			ch->files[ch->head] = w->file;
		w->file = NULL;
		ch->count++;
		ch->received--;
		chan_poll_wake(ch, EPOLLIN | EPOLLRDNORM);
	} else {
		ch->dropped++;
	}
	spin_unlock(&ch->lock);
}

static int chan_recv(struct chan *ch, struct chan_xfer *x)
{
	u8 stack_buf[CHAN_STACK_BYTES] __uninitialized;
	struct chan_sel sel;
	struct chan_waiter w = {
		.sel = &sel,
		.ch = ch,
		.op = CHAN_OP_RECV,
		.buf = stack_buf,
		.len = min_t(size_t, x->ulen, ch->msg_size),
	};
	int fd = -1;
	int ret;

	x->ok = false;
	x->fd = -1;
	chan_sel_init(&sel);
	ret = chan_probe_writable(x->ubuf, w.len);
	if (ret)
		return ret;
	if (w.len > sizeof(stack_buf)) {
		w.buf = kvmalloc(w.len, CHAN_GFP_USER_SIZED);
		if (!w.buf)
			return -ENOMEM;
	}
	if (x->want_fd && (ch->flags & CHAN_FDPASS)) {
		/* Reserve the fd first: once taken, a message must land. */
		fd = get_unused_fd_flags(x->cloexec ? O_CLOEXEC : 0);
		if (fd < 0) {
			ret = fd;
			goto out;
		}
	}

	ret = chan_do(ch, &w, x);
	if (ret)
		goto out;

	x->ulen = w.len;
	switch (w.outcome) {
	case CHAN_TOOBIG:
		ret = -EMSGSIZE;
		break;
	case CHAN_CLOSED:
		ret = 0;
		break;
	default:
		if (w.buf == stack_buf ?
		    chan_copy_out_small(x->ubuf, w.buf, w.len) :
		    copy_to_user(x->ubuf, w.buf, w.len)) {
			chan_putback(ch, &w);
			ret = -EFAULT;
			break;
		}
		x->ok = true;
		if (w.file && fd >= 0) {
			chan_inflight_uncharge(w.file);
			fd_install(fd, w.file);
			w.file = NULL;
			x->fd = fd;
			fd = -1;
		}
		ret = 0;
	}
out:
	trace_chan_recv(ch->id, x->ulen, x->ok, x->fd, ret);
	if (fd >= 0)
		put_unused_fd(fd);
	if (w.file)
		chan_inflight_fput(w.file);
	if (w.buf != stack_buf)
		kvfree(w.buf);
	return ret;
}

/* ---- ioctls on a channel fd ---- */

/* Read a size-first struct: EINVAL below @ver0, E2BIG for unknown tails. */
int chan_copy_struct(void *dst, size_t ksize, const void __user *src,
		     size_t ver0)
{
	u32 usize;

	if (get_user(usize, (const u32 __user *)src))
		return -EFAULT;
	if (usize < ver0)
		return -EINVAL;
	if (usize > PAGE_SIZE)
		return -E2BIG;
	return copy_struct_from_user(dst, ksize, src, usize);
}

static void chan_set_deadline(struct chan_xfer *x, struct file *file,
			      s64 timeout_ns)
{
	x->nonblock = (file->f_flags & O_NONBLOCK) || timeout_ns == 0;
	x->timed = timeout_ns > 0;
	if (x->timed)
		x->deadline = ktime_add_safe(ktime_get(),
					     ns_to_ktime(timeout_ns));
}

/*
 * A timed wait interrupted by a signal: store the time left so that a
 * restarted call (SA_RESTART) keeps the original deadline.
 */
int chan_restart_timed(ktime_t deadline, s64 __user *utimeout)
{
	s64 left = ktime_to_ns(ktime_sub(deadline, ktime_get()));

	if (left <= 0)
		return -ETIMEDOUT;
	if (put_user(left, utimeout))
		return -EFAULT;
	return -ERESTARTSYS;
}

/* A receive's results, in one user access block. */
static int chan_msg_write_back(struct chan_msg __user *um, u64 len, bool ok,
			       int fd)
{
	if (!user_access_begin(um, sizeof(*um)))
		return -EFAULT;
	unsafe_put_user(len, &um->len, efault);
	unsafe_put_user(ok ? 1U : 0U, &um->ok, efault);
	unsafe_put_user(fd, &um->fd, efault);
	user_access_end();
	return 0;
efault:
	user_access_end();
	return -EFAULT;
}

static long chan_ioctl_msg(struct file *file, struct chan_msg __user *um,
			   bool send)
{
	struct chan *ch = file->private_data;
	struct chan_xfer x = {};
	struct chan_msg m;
	int ret;

	ret = chan_get_struct(&m, sizeof(m), um, CHAN_MSG_SIZE_VER0);
	if (ret)
		return ret;
	if (m.flags & ~CHAN_MSG_FD_CLOEXEC)
		return -EINVAL;
	if (send ? !chan_can_send(file) : !chan_can_recv(file))
		return -EBADF;
	/*
	 * recv writes len/ok/fd back: fail a read-only struct before a
	 * message is taken. A send writes nothing back (but timeout_ns when
	 * a timed wait is interrupted).
	 */
	if (!send && put_user(m.size, &um->size))
		return -EFAULT;

	x.ubuf = u64_to_user_ptr(m.buf);
	x.ulen = m.len;
	chan_set_deadline(&x, file, m.timeout_ns);
	if (send) {
		if (m.len > U32_MAX)
			return -EMSGSIZE;
		x.fd = m.fd;
		ret = chan_send(ch, &x);
	} else {
		x.want_fd = true;
		x.cloexec = m.flags & CHAN_MSG_FD_CLOEXEC;
		ret = chan_recv(ch, &x);
		if ((!ret || ret == -EMSGSIZE) &&
		    chan_msg_write_back(um, x.ulen, x.ok, x.fd))
			return -EFAULT;
	}
	if (ret == -ERESTARTSYS && x.timed)
		ret = chan_restart_timed(x.deadline, &um->timeout_ns);
	return ret;
}

static long chan_ioctl_close(struct file *file)
{
	struct chan *ch = file->private_data;
	int ret = 0;

	if (!chan_can_send(file))
		return -EBADF;
	spin_lock(&ch->lock);
	if (ch->closed) {
		ret = -EALREADY;
	} else {
		chan_close_locked(ch);
		chan_poll_wake(ch, CHAN_POLL_ALL);
	}
	spin_unlock(&ch->lock);
	return ret;
}

static u32 chan_rights(const struct file *file)
{
	return (chan_can_send(file) ? CHAN_RIGHT_SEND : 0) |
	       (chan_can_recv(file) ? CHAN_RIGHT_RECV : 0);
}

static long chan_ioctl_info(struct file *file, struct chan_info __user *ui)
{
	struct chan *ch = file->private_data;
	struct chan_info info;
	u32 usize;
	int ret;

	/* In: only size matters, but the usual size rules apply. */
	ret = chan_copy_struct(&info, sizeof(info), ui, CHAN_INFO_SIZE_VER0);
	if (ret)
		return ret;
	usize = info.size;
	memset(&info, 0, sizeof(info));
	info.size = min_t(u32, usize, sizeof(info));
	info.flags = ch->flags;
	info.capacity = ch->capacity;
	info.msg_size = ch->msg_size;
	info.rights = chan_rights(file);
	info.id = ch->id;
	spin_lock(&ch->lock);
	info.len = ch->count;
	info.closed = ch->closed;
	info.send_waiters = ch->nr_send_waiters;
	info.recv_waiters = ch->nr_recv_waiters;
	info.send_handles = ch->send_handles;
	info.recv_handles = ch->recv_handles;
	info.sent = ch->sent;
	info.received = ch->received;
	spin_unlock(&ch->lock);
	if (copy_to_user(ui, &info, info.size))
		return -EFAULT;
	return 0;
}

static long chan_ioctl_dup(struct file *file, struct chan_dup __user *ud)
{
	struct chan_dup d;
	int ret;

	ret = chan_copy_struct(&d, sizeof(d), ud, CHAN_DUP_SIZE_VER0);
	if (ret)
		return ret;
	if (d.reserved || (d.flags & ~(CHAN_CLOEXEC | CHAN_NONBLOCK)) ||
	    !d.rights || (d.rights & ~CHAN_RIGHT_BOTH))
		return -EINVAL;
	if (d.rights & ~chan_rights(file))
		return -EBADF;
	return chan_new_fd(file->private_data, d.rights, d.flags);
}

/*
 * Batches: the first message may wait (within timeout_ns), the rest move
 * only while they can without waiting.
 *
 * Messages move in chunks of up to CHAN_BATCH_CHUNK: the chunk's iovecs are
 * read at once, send data is staged in a kernel buffer (and recv buffers
 * are probed) outside the lock, then one hold of ch->lock moves the whole
 * chunk (direct hand-off to parked receivers, the ring, parked senders),
 * and received data is copied out after the unlock. A message whose copy
 * out fails anyway goes back to the head of the ring (chan_putback()), and
 * the ones after it too, last first, so their order stays.
 */
#define CHAN_BATCH_CHUNK	16
#define CHAN_BATCH_STAGE	8192	/* staging bytes (or one message) */

/* Read up to *@k iovecs; on a fault part-way, just the first (or EFAULT). */
static int chan_batch_iovecs(struct chan_iovec *v,
			     const struct chan_iovec __user *uv, u32 *k)
{
	if (*k == CHAN_BATCH_CHUNK ?
	    !copy_from_user(v, uv, CHAN_BATCH_CHUNK * sizeof(*v)) :
	    !copy_from_user(v, uv, *k * sizeof(*v)))
		return 0;
	*k = 1;
	return copy_from_user(v, uv, sizeof(*v)) ? -EFAULT : 0;
}

/* Reset the batch's waiter for one more message. */
static void chan_batch_next(struct chan_waiter *w, void *buf, u32 len)
{
	chan_sel_init(w->sel);
	w->buf = buf;
	w->len = len;
	w->file = NULL;
}

static long chan_batch_send(struct chan *ch, struct chan_iovec __user *uv,
			    u32 n, struct chan_xfer *x, u8 *stage,
			    size_t stage_size)
{
	struct chan_iovec v[CHAN_BATCH_CHUNK];
	struct chan_sel sel;
	struct chan_waiter w = { .sel = &sel, .ch = ch, .op = CHAN_OP_SEND };
	u32 done = 0, k, m, i, j;
	size_t off;
	int err = 0;

	while (done < n && !err) {
		k = min_t(u32, n - done, CHAN_BATCH_CHUNK);
		err = chan_batch_iovecs(v, &uv[done], &k);
		if (err)
			break;
		/* Stage what fits, outside the lock. */
		for (m = 0, off = 0; m < k; off += v[m].len, m++) {
			if (v[m].len > ch->msg_size) {
				err = -EMSGSIZE;
				break;
			}
			if (off + v[m].len > stage_size)
				break;
			if (v[m].len <= CHAN_STACK_BYTES ?
			    chan_copy_in_small(stage + off,
					       u64_to_user_ptr(v[m].buf),
					       v[m].len) :
			    copy_from_user(stage + off, u64_to_user_ptr(v[m].buf),
					   v[m].len)) {
				err = -EFAULT;
				break;
			}
		}
		i = 0;
		off = 0;
		if (!done && m) {
			/* The batch's first message: it may wait. */
			chan_batch_next(&w, stage, v[0].len);
			err = chan_do(ch, &w, x);
			if (!err && w.outcome != CHAN_MOVED)
				err = -EPIPE;
			trace_chan_send(ch->id, v[0].len, -1, err);
			if (err)
				break;
			off = v[0].len;
			i = 1;
		}
		if (i < m) {
			j = i;
			spin_lock(&ch->lock);
			for (; i < m; off += v[i].len, i++) {
				chan_batch_next(&w, stage + off, v[i].len);
				if (chan_try_locked(ch, &w) == CHAN_TRY_BLOCK)
					break;
				if (w.outcome != CHAN_MOVED) {
					err = -EPIPE;
					break;
				}
				trace_chan_send(ch->id, v[i].len, -1, 0);
			}
			if (i > j)
				chan_poll_wake(ch, chan_poll_key(CHAN_OP_SEND));
			spin_unlock(&ch->lock);
			if (i < m && !err)
				err = -EAGAIN;	/* full: the batch ends */
		}
		done += i;
	}
	/* (long): with a u32 "done", err would convert to a huge count */
	return done ? (long)done : err;
}

static long chan_batch_recv(struct chan *ch, struct chan_iovec __user *uv,
			    u32 n, struct chan_xfer *x, u8 *stage,
			    size_t stage_size)
{
	struct chan_iovec v[CHAN_BATCH_CHUNK];
	struct file *files[CHAN_BATCH_CHUNK];
	u32 lens[CHAN_BATCH_CHUNK], offs[CHAN_BATCH_CHUNK];
	struct chan_sel sel;
	struct chan_waiter w = { .sel = &sel, .ch = ch, .op = CHAN_OP_RECV };
	u32 done = 0, k, m, i, j, moved, room;
	bool stop = false;
	size_t off;
	int err = 0;

	while (done < n && !stop && !err) {
		k = min_t(u32, n - done, CHAN_BATCH_CHUNK);
		err = chan_batch_iovecs(v, &uv[done], &k);
		/* Lengths go back into the iovecs: check those too. */
		if (!err)
			err = chan_probe_writable(&uv[done], k * sizeof(*v));
		if (err)
			break;
		/* Check the buffers before a message is taken. */
		for (m = 0, off = 0; m < k; off += room, m++) {
			room = min_t(u64, v[m].len, ch->msg_size);
			if (off + room > stage_size)
				break;
			err = chan_probe_writable(u64_to_user_ptr(v[m].buf),
						  room);
			if (err)
				break;
			offs[m] = off;
		}
		moved = 0;
		if (!done && m) {
			/* The batch's first message: it may wait. */
			room = min_t(u64, v[0].len, ch->msg_size);
			chan_batch_next(&w, stage, room);
			err = chan_do(ch, &w, x);
			if (!err && w.outcome == CHAN_TOOBIG)
				err = -EMSGSIZE;
			trace_chan_recv(ch->id, w.len,
					!err && w.outcome == CHAN_MOVED, -1,
					err);
			if (err || w.outcome != CHAN_MOVED)
				break;	/* an error, or closed and drained */
			lens[0] = w.len;
			files[0] = w.file;
			moved = 1;
		}
		if (moved < m) {
			j = moved;
			spin_lock(&ch->lock);
			for (; moved < m; moved++) {
				room = min_t(u64, v[moved].len, ch->msg_size);
				chan_batch_next(&w, stage + offs[moved], room);
				if (chan_try_locked(ch, &w) == CHAN_TRY_BLOCK ||
				    w.outcome != CHAN_MOVED)
					break;	/* empty, too big, closed */
				lens[moved] = w.len;
				files[moved] = w.file;
				trace_chan_recv(ch->id, w.len, true, -1, 0);
			}
			if (moved > j)
				chan_poll_wake(ch, chan_poll_key(CHAN_OP_RECV));
			spin_unlock(&ch->lock);
			stop = moved < m;
		}

		/* Copy out; on a fault, the rest goes back, last first. */
		for (i = 0; i < moved; i++) {
			if ((lens[i] <= CHAN_STACK_BYTES ?
			     chan_copy_out_small(u64_to_user_ptr(v[i].buf),
						 stage + offs[i], lens[i]) :
			     copy_to_user(u64_to_user_ptr(v[i].buf),
					  stage + offs[i], lens[i])) ||
			    put_user((u64)lens[i], &uv[done + i].len))
				break;
		}
		if (i < moved) {
			err = -EFAULT;
			for (j = moved; j-- > i;) {
				w.buf = stage + offs[j];
				w.len = lens[j];
				w.file = files[j];
				chan_putback(ch, &w);
				files[j] = w.file;	/* NULL unless dropped */
			}
		}
		for (j = 0; j < moved; j++)
			if (files[j])
				chan_inflight_fput(files[j]);
		done += i;
	}
	/* (long): with a u32 "done", err would convert to a huge count */
	return done ? (long)done : err;
}

static long chan_ioctl_batch(struct file *file, struct chan_batch __user *ub,
			     bool send)
{
	struct chan *ch = file->private_data;
	struct chan_xfer x = {};
	struct chan_batch b;
	size_t stage_size;
	u8 *stage = NULL;
	long ret;

	ret = chan_get_struct(&b, sizeof(b), ub, CHAN_BATCH_SIZE_VER0);
	if (ret)
		return ret;
	if (b.flags || b.reserved)
		return -EINVAL;
	if (send ? !chan_can_send(file) : !chan_can_recv(file))
		return -EBADF;
	if (b.n > INT_MAX)
		return -EINVAL;
	if (!b.n)
		return 0;
	chan_set_deadline(&x, file, b.timeout_ns);

	stage_size = (size_t)min_t(u32, b.n, CHAN_BATCH_CHUNK) * ch->msg_size;
	stage_size = min_t(size_t, stage_size,
			   max_t(size_t, CHAN_BATCH_STAGE, ch->msg_size));
	if (stage_size) {
		stage = kvmalloc(stage_size, CHAN_GFP_USER_SIZED);
		if (!stage)
			return -ENOMEM;
	}
	if (send)
		ret = chan_batch_send(ch, u64_to_user_ptr(b.msgs), b.n, &x,
				      stage, stage_size);
	else
		ret = chan_batch_recv(ch, u64_to_user_ptr(b.msgs), b.n, &x,
				      stage, stage_size);
	kvfree(stage);
	if (ret == -ERESTARTSYS && x.timed)
		ret = chan_restart_timed(x.deadline, &ub->timeout_ns);
	return ret;
}

static long chan_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case CHAN_IOC_SEND:
		return chan_ioctl_msg(file, uarg, true);
	case CHAN_IOC_RECV:
		return chan_ioctl_msg(file, uarg, false);
	case CHAN_IOC_CLOSE:
		return chan_ioctl_close(file);
	case CHAN_IOC_INFO:
		return chan_ioctl_info(file, uarg);
	case CHAN_IOC_DUP:
		return chan_ioctl_dup(file, uarg);
	case CHAN_IOC_SELECT:
		return chan_select_ioctl(uarg);
	case CHAN_IOC_SEND_BATCH:
		return chan_ioctl_batch(file, uarg, true);
	case CHAN_IOC_RECV_BATCH:
		return chan_ioctl_batch(file, uarg, false);
	}
	return -ENOTTY;
}

/* ---- file operations ---- */

static ssize_t chan_read(struct file *file, char __user *buf, size_t count,
			 loff_t *ppos)
{
	struct chan_xfer x = {
		.ubuf = buf,
		.ulen = count,
		.nonblock = file->f_flags & O_NONBLOCK,
	};
	int ret;

	ret = chan_recv(file->private_data, &x);
	if (ret)
		return ret;
	return x.ok ? x.ulen : 0;
}

static ssize_t chan_write(struct file *file, const char __user *buf,
			  size_t count, loff_t *ppos)
{
	struct chan_xfer x = {
		.ubuf = (void __user *)buf,
		.ulen = count,
		.nonblock = file->f_flags & O_NONBLOCK,
		.fd = -1,
	};
	int ret;

	ret = chan_send(file->private_data, &x);
	return ret ? ret : count;
}

static __poll_t chan_poll(struct file *file, poll_table *wait)
{
	struct chan *ch = file->private_data;
	__poll_t mask = 0;

	poll_wait(file, &ch->poll_wq, wait);
	spin_lock(&ch->lock);
	if (chan_can_recv(file)) {
		if (ch->count || ch->nr_send_waiters || ch->closed)
			mask |= EPOLLIN | EPOLLRDNORM;
		if (ch->closed && !ch->count)
			mask |= EPOLLHUP;
	}
	if (chan_can_send(file)) {
		if (ch->closed || !ch->recv_handles)
			mask |= EPOLLOUT | EPOLLWRNORM | EPOLLERR;
		else if (ch->count < ch->capacity || ch->nr_recv_waiters)
			mask |= EPOLLOUT | EPOLLWRNORM;
	}
	spin_unlock(&ch->lock);
	return mask;
}

static int chan_release(struct inode *inode, struct file *file)
{
	struct chan *ch = file->private_data;

	spin_lock(&ch->lock);
	if (chan_can_send(file) && !--ch->send_handles && !ch->closed)
		chan_close_locked(ch);
	if (chan_can_recv(file) && !--ch->recv_handles)
		chan_fail_senders_locked(ch);
	chan_poll_wake(ch, CHAN_POLL_ALL);
	spin_unlock(&ch->lock);
	chan_put(ch);
	return 0;
}

static void chan_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct chan *ch = file->private_data;
	u32 len, closed, nsend, nrecv, hsend, hrecv;
	u64 sent, received, dropped;

	spin_lock(&ch->lock);
	len = ch->count;
	closed = ch->closed;
	nsend = ch->nr_send_waiters;
	nrecv = ch->nr_recv_waiters;
	hsend = ch->send_handles;
	hrecv = ch->recv_handles;
	sent = ch->sent;
	received = ch->received;
	dropped = ch->dropped;
	spin_unlock(&ch->lock);

	seq_printf(m, "chan_id:\t%llu\n", ch->id);
	seq_printf(m, "capacity:\t%u\n", ch->capacity);
	seq_printf(m, "msg_size:\t%u\n", ch->msg_size);
	seq_printf(m, "len:\t%u\n", len);
	seq_printf(m, "closed:\t%u\n", closed);
	seq_printf(m, "send_waiters:\t%u\n", nsend);
	seq_printf(m, "recv_waiters:\t%u\n", nrecv);
	seq_printf(m, "send_handles:\t%u\n", hsend);
	seq_printf(m, "recv_handles:\t%u\n", hrecv);
	seq_printf(m, "rights:\t%s\n",
		   chan_can_send(file) ?
		   (chan_can_recv(file) ? "send,recv" : "send") : "recv");
	seq_printf(m, "fdpass:\t%u\n", !!(ch->flags & CHAN_FDPASS));
	seq_printf(m, "sent:\t%llu\n", sent);
	seq_printf(m, "received:\t%llu\n", received);
	seq_printf(m, "dropped:\t%llu\n", dropped);
	chan_name_show_fdinfo(m, ch);
}

const struct file_operations chan_fops = {
	.owner		= THIS_MODULE,
	.read		= chan_read,
	.write		= chan_write,
	.poll		= chan_poll,
	.unlocked_ioctl	= chan_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.release	= chan_release,
	.show_fdinfo	= chan_show_fdinfo,
};

/* A new open file for @ch with @rights; takes its own reference. */
struct file *chan_new_file(struct chan *ch, u32 rights, u32 flags)
{
	int oflags = flags & CHAN_NONBLOCK ? O_NONBLOCK : 0;
	struct file *file;

	if (rights == CHAN_RIGHT_BOTH)
		oflags |= O_RDWR;
	else if (rights == CHAN_RIGHT_SEND)
		oflags |= O_WRONLY;
	else
		oflags |= O_RDONLY;

	refcount_inc(&ch->ref);
	file = anon_inode_getfile("[chan]", &chan_fops, ch, oflags);
	if (IS_ERR(file)) {
		chan_put(ch);
		return file;
	}
	/* A stream of messages, like a pipe: no position, no lseek/pread. */
	stream_open(file_inode(file), file);
	spin_lock(&ch->lock);
	if (rights & CHAN_RIGHT_SEND)
		ch->send_handles++;
	if (rights & CHAN_RIGHT_RECV)
		ch->recv_handles++;
	spin_unlock(&ch->lock);
	return file;
}

int chan_new_fd(struct chan *ch, u32 rights, u32 flags)
{
	struct file *file;
	int fd;

	fd = get_unused_fd_flags(flags & CHAN_CLOEXEC ? O_CLOEXEC : 0);
	if (fd < 0)
		return fd;
	file = chan_new_file(ch, rights, flags);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		return PTR_ERR(file);
	}
	fd_install(fd, file);
	return fd;
}
