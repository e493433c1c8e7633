// SPDX-License-Identifier: GPL-2.0
/*
 * kchan: the state protocol of blocked operations.
 *
 * Claim, fire, try and sleep: how a send or receive (or one case of a
 * select) completes against the ring and the peers parked on a channel's
 * queues, and how exactly one case of a blocked operation (struct chan_sel)
 * is decided. The rules ("The commit protocol", the lock order, the
 * lifetime of a chan_sel and its waiters) are written at the top of chan.c;
 * everything here runs under ch->lock unless its comment says otherwise.
 */

#include <linux/hrtimer.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include <linux/chan.h>

#include "kchan.h"
#include "trace.h"

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
		ch->files[tail] = w->fd;
	w->fd.file = NULL;
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
		w->fd = ch->files[head];
		ch->files[head].file = NULL;
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
void chan_fail_senders_locked(struct chan *ch)
{
	struct chan_waiter *s, *tmp;

	list_for_each_entry_safe(s, tmp, &ch->sendq, node) {
		if (chan_sel_lock(s->sel, false))
			chan_fire_peer(ch, s, CHAN_CLOSED);
	}
}

void chan_close_locked(struct chan *ch)
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
		r->fd = w->fd;
		w->fd.file = NULL;
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
		if (unlikely(ch->timer))
			chan_timer_drained_locked(ch);
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
		w->fd = s->fd;
		s->fd.file = NULL;
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

/*
 * Complete @w now, or (unless non-blocking) park it until a partner
 * completes it, a signal comes or the deadline passes. Once this returns
 * @w is on no queue.
 */
int chan_do(struct chan *ch, struct chan_waiter *w, struct chan_xfer *x)
{
	enum chan_try t;
	int ret;

again:
	spin_lock(&ch->lock);
	t = chan_try_locked(ch, w);
	if (t == CHAN_TRY_BLOCK) {
		if (x->nonblock) {
			spin_unlock(&ch->lock);
			return -EAGAIN;
		}
		if (x->stage && x->stage->cached && !x->stage->user) {
			/*
			 * A stage cache buffer is charged only to wait with it
			 * (limits.c): outside the lock, before @w is queued,
			 * then try again.
			 */
			spin_unlock(&ch->lock);
			ret = chan_stage_charge(x->stage);
			if (ret)
				return ret;
			goto again;
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

/*
 * Put-back: the copy out of a message a receiver took failed (another
 * thread unmapped its buffer after the probe), so the message is given
 * back as the oldest one, with w->fd. It goes to the first parked
 * receiver that can take it, as a send hands its message over (one that
 * is too small fails EMSGSIZE, as for a send): by the invariant at the top
 * of chan.c a parked receiver means the ring is empty, so FIFO order
 * holds and nobody sleeps while a message waits in the buffer. Else it
 * goes back to the head of the ring if there is room, else it is lost
 * (counted dropped; w->fd stays for the caller to drop).
 *
 * Counters: a message handed to a receiver stays counted received (once);
 * one back in the ring is un-counted.
 */

/* Hand @w's message to a parked receiver; false when none takes it. */
bool chan_putback_hand_locked(struct chan *ch, struct chan_waiter *w)
{
	struct chan_waiter *r, *tmp;

	lockdep_assert_held(&ch->lock);
	list_for_each_entry_safe(r, tmp, &ch->recvq, node) {
		if (!chan_sel_lock(r->sel, false))
			continue;
		if (r->len < w->len) {
			r->len = w->len;
			chan_fire_peer(ch, r, CHAN_TOOBIG);
			continue;
		}
		if (w->len)
			memcpy(r->buf, w->buf, w->len);
		r->len = w->len;
		r->fd = w->fd;
		w->fd.file = NULL;
		chan_fire_peer(ch, r, CHAN_MOVED);
		return true;
	}
	return false;
}

/* Put @w's message back at the head of the ring, or count it dropped. */
void chan_putback_ring_locked(struct chan *ch, struct chan_waiter *w)
{
	lockdep_assert_held(&ch->lock);
	if (ch->count == ch->capacity) {
		ch->dropped++;
		return;
	}
	ch->head = ch->head ? ch->head - 1 : ch->capacity - 1;
	if (w->len)
		memcpy(ch->data + (size_t)ch->head * ch->msg_size, w->buf,
		       w->len);
	ch->lens[ch->head] = w->len;
	if (ch->files)
		ch->files[ch->head] = w->fd;
	w->fd.file = NULL;
	ch->count++;
	ch->received--;
	chan_poll_wake(ch, EPOLLIN | EPOLLRDNORM);
}

/* Put back one message (see above). */
void chan_putback(struct chan *ch, struct chan_waiter *w)
{
	spin_lock(&ch->lock);
	if (!chan_putback_hand_locked(ch, w))
		chan_putback_ring_locked(ch, w);
	spin_unlock(&ch->lock);
}
