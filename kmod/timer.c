// SPDX-License-Identifier: GPL-2.0
/*
 * kchan: timer channels (CHAN_IOC_TIMER, CHAN_IOC_TIMER_SET).
 *
 * A timer is a channel: a recv-only channel of capacity 1 carrying struct
 * chan_tick, whose only sender is the clock. Everything a receiver does
 * (recv, read(2), select, select sets, poll/epoll, fd passing, fdinfo,
 * /proc/kchan) is the channel's own code; this file only adds the sender.
 *
 * Delivery. The hrtimer callback takes no lock of ours: it queues
 * t->work, and the work item delivers the tick in process context under
 * ch->lock through chan_try_locked(), as a non-blocking send would: to the
 * first parked receiver that can be claimed (the commit protocol of
 * chan.c), else into the free slot. Why not in the callback: ch->lock is a
 * spinlock_t taken with interrupts and softirqs enabled everywhere, so
 * neither a hard-irq callback (the default on !PREEMPT_RT) nor a softirq
 * one (HRTIMER_MODE_*_SOFT) may take it; and on PREEMPT_RT it is a
 * sleeping lock. The hrtimer is HRTIMER_MODE_ABS_HARD on purpose: its
 * callback only calls queue_work(), which is hard-irq safe on both kinds
 * of kernel (the pool lock is a raw spinlock), so RT gains nothing from a
 * softirq expiry. No thread per timer: the work runs on a shared
 * workqueue.
 *
 * Idle timers cost nothing. A one-shot fires once. A ticker whose tick
 * went into the slot is not re-armed (t->parked) until a receive drains
 * the slot (chan_timer_drained_locked(), called from the receive path in
 * state.c): then the ticks that fell due meanwhile are counted missed in
 * one division and the hrtimer is armed for the next one. An unread
 * ticker therefore fires once, not once per period, and a stopped timer
 * is not armed at all.
 *
 * Locking and lifetime
 * --------------------
 * ch->lock protects every field of struct chan_ktimer marked [L] and is
 * the only lock of this file; the hrtimer's and the workqueue's own locks
 * are taken under it (hrtimer_start(), hrtimer_try_to_cancel()), never
 * the other way round. Under ch->lock nothing waits for the callback or
 * the work: a callback running concurrently with a Stop or Reset just
 * queues the work, and the work delivers only if the timer is active and
 * its due time (t->next, [L]) has come, so a stale expiry delivers
 * nothing.
 *
 * struct chan_ktimer lives as long as its channel (ch->timer, constant
 * once the first fd exists): it is freed by chan_free() through
 * chan_timer_free(), once the last handle is gone. That clears t->active
 * under ch->lock (nothing arms the hrtimer after that: the work and the
 * drain hook check it, and no ioctl can run without a file), then waits
 * for the callback (hrtimer_cancel()) and the work (cancel_work_sync()),
 * in process context with no lock held.
 */

#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/time.h>
#include <linux/workqueue.h>

#include <linux/chan.h>

#include "kchan.h"

struct chan_ktimer {
	struct hrtimer timer;		/* fires at t->next, ABS_HARD */
	struct work_struct work;	/* delivers a due tick */
	struct chan *ch;		/* constant: the channel */
	clockid_t clockid;		/* constant */
	bool active;			/* [L] running: not stopped, not fired */
	bool parked;			/* [L] a ticker waiting for the slot */
	ktime_t next;			/* [L] due time of the next tick */
	ktime_t period;			/* [L] 0: one-shot */
	u64 missed;			/* [L] dropped since the last delivered */
	u64 fires;			/* [L] deliveries tried (fdinfo) */
};

static ktime_t chan_timer_now(const struct chan_ktimer *t)
{
	return t->clockid == CLOCK_BOOTTIME ? ktime_get_boottime() :
					      ktime_get();
}

/*
 * The due time of a setting, or -EINVAL: negative values, a relative one
 * that passes the clock's range.
 */
static int chan_timer_due(const struct chan_ktimer *t, s64 value, s64 interval,
			  bool abs, ktime_t *due)
{
	ktime_t now;

	if (value < 0 || interval < 0)
		return -EINVAL;
	if (abs) {
		*due = ns_to_ktime(value);
		return 0;
	}
	now = chan_timer_now(t);
	if (value > KTIME_MAX - now)
		return -EINVAL;
	*due = ktime_add_ns(now, value);
	return 0;
}

static enum hrtimer_restart chan_timer_fire(struct hrtimer *timer)
{
	struct chan_ktimer *t = container_of(timer, struct chan_ktimer, timer);

	queue_work(system_highpri_wq, &t->work);
	return HRTIMER_NORESTART;
}

/* Arm for t->next, or leave it to the drain while the slot is full. */
static void chan_timer_arm_locked(struct chan_ktimer *t)
{
	lockdep_assert_held(&t->ch->lock);
	if (t->ch->count) {
		t->parked = true;
		return;
	}
	t->parked = false;
	hrtimer_start(&t->timer, t->next, HRTIMER_MODE_ABS_HARD);
}

/*
 * Move a ticker's t->next past @now, counting the ticks skipped as missed
 * (hrtimer_forward()'s arithmetic, on our own due time).
 */
static void chan_timer_forward_locked(struct chan_ktimer *t, ktime_t now)
{
	u64 n, skip;

	if (!t->period || ktime_before(now, t->next))
		return;
	n = div64_u64(ktime_to_ns(ktime_sub(now, t->next)),
		      ktime_to_ns(t->period)) + 1;
	t->missed += n;
	/* n * period <= now - next + period: below 2^64, maybe not 2^63. */
	skip = n * ktime_to_ns(t->period);
	t->next = skip > KTIME_MAX ? KTIME_MAX :
		  ktime_add_safe(t->next, ns_to_ktime(skip));
}

static void chan_timer_work(struct work_struct *work)
{
	struct chan_ktimer *t = container_of(work, struct chan_ktimer, work);
	struct chan *ch = t->ch;
	struct chan_tick tick;
	struct chan_sel sel;
	struct chan_waiter w = {
		.sel = &sel,
		.ch = ch,
		.op = CHAN_OP_SEND,
		.buf = &tick,
		.len = sizeof(tick),
	};
	ktime_t now;

	chan_sel_init(&sel);
	spin_lock(&ch->lock);
	now = chan_timer_now(t);
	/* Stopped, reset to later, parked, or freed: a stale expiry. */
	if (!t->active || t->parked || ktime_before(now, t->next))
		goto out;
	t->fires++;
	tick.expiry_ns = ktime_to_ns(t->next);
	tick.missed = t->missed;
	/*
	 * Unpublished, the sender cannot lose a race: it moves the tick
	 * (DONE), finds the slot full (BLOCK: only after a put-back) or
	 * the channel closed (no handle left, about to be freed).
	 */
	if (chan_try_locked(ch, &w) != CHAN_TRY_DONE) {
		/* The slot is full: a ticker drops this tick. */
		if (t->period) {
			t->missed++;
			t->next = ktime_add_safe(t->next, t->period);
		}
	} else if (w.outcome == CHAN_CLOSED) {
		t->active = false;	/* no handle left: being freed */
		goto out;
	} else {
		t->missed = 0;
		chan_poll_wake(ch, EPOLLIN | EPOLLRDNORM);
		if (!t->period) {
			t->active = false;
			chan_close_locked(ch);
			chan_poll_wake(ch, EPOLLIN | EPOLLRDNORM | EPOLLHUP);
			goto out;
		}
		t->next = ktime_add_safe(t->next, t->period);
	}
	chan_timer_forward_locked(t, now);
	chan_timer_arm_locked(t);
out:
	spin_unlock(&ch->lock);
}

/*
 * A receive drained the slot of timer channel @ch (state.c, under
 * ch->lock): a parked timer counts what it missed and is armed again.
 */
void chan_timer_drained_locked(struct chan *ch)
{
	struct chan_ktimer *t = ch->timer;

	lockdep_assert_held(&ch->lock);
	if (!t->active || !t->parked)
		return;
	chan_timer_forward_locked(t, chan_timer_now(t));
	chan_timer_arm_locked(t);
}

/* Drop a tick not received yet (Stop, Reset). */
static void chan_timer_discard_locked(struct chan *ch)
{
	if (!ch->count)
		return;
	ch->count = 0;
	ch->head = 0;
	ch->sent--;	/* never received: as if never sent */
}

/* (Re)start @t: due at @due, then every @period (0: one-shot). */
static void chan_timer_start_locked(struct chan_ktimer *t, ktime_t due,
				    s64 period)
{
	t->active = true;
	t->parked = false;
	t->next = due;
	t->period = ns_to_ktime(period);
	t->missed = 0;
	chan_timer_arm_locked(t);
}

long chan_timer_create_ioctl(struct chan_timer __user *ut)
{
	struct chan_ktimer *t;
	struct chan_timer c;
	struct file *file;
	struct chan *ch;
	ktime_t due;
	int ret, fd;

	BUILD_BUG_ON((CHAN_TIMER_ABSTIME | CHAN_TIMER_STOP) &
		     (O_CLOEXEC | O_NONBLOCK));
	/* Covered by the channel's minimum charge (limits.c). */
	BUILD_BUG_ON(sizeof(struct chan) + sizeof(struct chan_ktimer) >
		     CHAN_CHAN_BYTES);
	ret = chan_copy_struct(&c, sizeof(c), ut, CHAN_TIMER_SIZE_VER0);
	if (ret)
		return ret;
	if (c.reserved || (c.flags & ~(CHAN_CLOEXEC | CHAN_NONBLOCK |
					CHAN_TIMER_ABSTIME)))
		return -EINVAL;
	if (c.clockid != CLOCK_MONOTONIC && c.clockid != CLOCK_BOOTTIME)
		return -EINVAL;

	t = kzalloc(sizeof(*t), GFP_KERNEL_ACCOUNT);
	if (!t)
		return -ENOMEM;
	t->clockid = c.clockid;
	ret = chan_timer_due(t, c.value_ns, c.interval_ns,
			     c.flags & CHAN_TIMER_ABSTIME, &due);
	if (ret)
		goto err_free;
	hrtimer_init(&t->timer, c.clockid, HRTIMER_MODE_ABS_HARD);
	t->timer.function = chan_timer_fire;
	INIT_WORK(&t->work, chan_timer_work);

	fd = get_unused_fd_flags(c.flags & CHAN_CLOEXEC ? O_CLOEXEC : 0);
	if (fd < 0) {
		ret = fd;
		goto err_free;
	}
	file = chan_create(1, sizeof(struct chan_tick),
			   c.flags & CHAN_NONBLOCK, CHAN_RIGHT_RECV, &ch);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		goto err_fd;
	}
	/* Nobody else reaches the channel before fd_install(). */
	t->ch = ch;
	ch->timer = t;
	spin_lock(&ch->lock);
	chan_timer_start_locked(t, due, c.interval_ns);
	spin_unlock(&ch->lock);
	chan_put(ch);
	fd_install(fd, file);
	return fd;

err_fd:
	put_unused_fd(fd);
err_free:
	kfree(t);
	return ret;
}

long chan_timer_set_ioctl(struct file *file, struct chan_timer_set __user *us)
{
	struct chan *ch = file->private_data;
	struct chan_ktimer *t = ch->timer;
	struct chan_timer_set s;
	ktime_t due = 0;
	long ret;

	if (!t)
		return -ENOTTY;
	ret = chan_copy_struct(&s, sizeof(s), us, CHAN_TIMER_SET_SIZE_VER0);
	if (ret)
		return ret;
	if (s.flags & ~(CHAN_TIMER_ABSTIME | CHAN_TIMER_STOP))
		return -EINVAL;
	if (s.flags & CHAN_TIMER_STOP) {
		if (s.value_ns || s.interval_ns ||
		    (s.flags & CHAN_TIMER_ABSTIME))
			return -EINVAL;
	} else {
		ret = chan_timer_due(t, s.value_ns, s.interval_ns,
				     s.flags & CHAN_TIMER_ABSTIME, &due);
		if (ret)
			return ret;
	}
	if (!chan_can_recv(file))
		return -EBADF;

	spin_lock(&ch->lock);
	if (ch->closed) {
		/* A one-shot that fired. */
		ret = s.flags & CHAN_TIMER_STOP ? 0 : -EALREADY;
		goto out;
	}
	ret = t->active;
	/* A callback running now finds the new t->next or !active. */
	hrtimer_try_to_cancel(&t->timer);
	chan_timer_discard_locked(ch);
	if (s.flags & CHAN_TIMER_STOP) {
		t->active = false;
		t->parked = false;
		t->missed = 0;
	} else {
		chan_timer_start_locked(t, due, s.interval_ns);
	}
out:
	spin_unlock(&ch->lock);
	return ret;
}

/* Last handle gone (chan_free()): stop for good, wait out the callbacks. */
void chan_timer_free(struct chan *ch)
{
	struct chan_ktimer *t = ch->timer;

	spin_lock(&ch->lock);
	t->active = false;
	spin_unlock(&ch->lock);
	hrtimer_cancel(&t->timer);
	cancel_work_sync(&t->work);
	kfree(t);
}

void chan_timer_show_fdinfo(struct seq_file *m, struct chan *ch)
{
	struct chan_ktimer *t = ch->timer;
	bool active, parked;
	s64 next, period;
	u64 missed, fires;

	spin_lock(&ch->lock);
	active = t->active;
	parked = t->parked;
	next = ktime_to_ns(t->next);
	period = ktime_to_ns(t->period);
	missed = t->missed;
	fires = t->fires;
	spin_unlock(&ch->lock);
	seq_printf(m, "timer_clock:\t%s\n",
		   t->clockid == CLOCK_BOOTTIME ? "boottime" : "monotonic");
	seq_printf(m, "timer_active:\t%u\n", active);
	seq_printf(m, "timer_parked:\t%u\n", parked);
	seq_printf(m, "timer_next_ns:\t%lld\n", next);
	seq_printf(m, "timer_interval_ns:\t%lld\n", period);
	seq_printf(m, "timer_missed:\t%llu\n", missed);
	seq_printf(m, "timer_fires:\t%llu\n", fires);
}
