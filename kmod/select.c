// SPDX-License-Identifier: GPL-2.0
/*
 * kchan: CHAN_IOC_SELECT, Go's select across processes.
 *
 * A select is one struct chan_sel with one struct chan_waiter per non-nil
 * case; the chan_sel's state word decides which single case fires (see the
 * locking notes in chan.c).
 *
 * 1. Visit the cases in a random order and complete the first one that can
 *    complete now. Our chan_sel is not visible to anyone yet, so only a
 *    partner's is taken. Go's rule "a ready case chosen uniformly at
 *    random" follows from the random order.
 * 2. With a timeout, visit them again in the same order; under each
 *    channel's lock either complete the case (taking our chan_sel and the
 *    partner's, in address order) or queue its waiter. From the first
 *    queued waiter on, partners may claim the select; a later case that
 *    finds it claimed (CHAN_TRY_LOST) stops the walk.
 * 3. Sleep until claimed, a signal or the deadline, then take every waiter
 *    off its queue. Cancelling races with a partner through the same state
 *    word, so a case that fired is reported even when a signal came too.
 *
 * Only one channel lock is held at any time.
 */

#include <linux/file.h>
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <linux/chan.h>

#include "kchan.h"
#include "trace.h"

struct chan_select_case {
	struct chan_waiter w;
	struct file *file;	/* pinned for the call; NULL for a nil case */
	void __user *ubuf;
};

/* Validate one case and pin its channel; returns the bytes it stages. */
static long chan_select_prepare(struct chan_select_case *c,
				const struct chan_ioc_case *kc, u32 index,
				struct chan_sel *sel)
{
	struct chan *ch;
	bool send;

	if (kc->reserved || (kc->op != CHAN_OP_SEND && kc->op != CHAN_OP_RECV))
		return -EINVAL;
	if (kc->fd == -1)
		return 0;
	if (kc->fd < 0)
		return -EBADF;
	c->file = fget(kc->fd);
	if (!c->file)
		return -EBADF;
	ch = chan_from_file(c->file);
	if (!ch)
		return -EBADF;
	send = kc->op == CHAN_OP_SEND;
	if (send ? !chan_can_send(c->file) : !chan_can_recv(c->file))
		return -EBADF;
	if (send && kc->len > ch->msg_size)
		return -EMSGSIZE;

	c->ubuf = u64_to_user_ptr(kc->buf);
	c->w.sel = sel;
	c->w.ch = ch;
	c->w.op = kc->op;
	c->w.index = index;
	c->w.len = min_t(u64, kc->len, ch->msg_size);
	return c->w.len;
}

/* Copy in send data and check recv buffers, before anything moves. */
static int chan_select_stage(struct chan_select_case *cases, const u32 *order,
			     u32 nactive, u8 *stage)
{
	struct chan_waiter *w;
	u32 k;
	int ret;

	for (k = 0; k < nactive; k++) {
		w = &cases[order[k]].w;
		w->buf = stage;
		stage += w->len;
		if (w->op == CHAN_OP_SEND) {
			if (copy_from_user(w->buf, cases[order[k]].ubuf, w->len))
				return -EFAULT;
		} else {
			ret = chan_probe_writable(cases[order[k]].ubuf, w->len);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/*
 * Visit every active case once. With @park, queue the waiters of cases
 * that cannot complete. Returns true once the select is decided.
 */
static bool chan_select_visit(struct chan_select_case *cases, const u32 *order,
			      u32 nactive, bool park)
{
	struct chan_waiter *w;
	enum chan_try t;
	u32 k;

	for (k = 0; k < nactive; k++) {
		w = &cases[order[k]].w;
		spin_lock(&w->ch->lock);
		t = chan_try_locked(w->ch, w);
		if (t == CHAN_TRY_BLOCK && park)
			chan_enqueue_locked(w->ch, w);
		if (t != CHAN_TRY_BLOCK || park)
			chan_poll_wake(w->ch, chan_poll_key(w->op));
		spin_unlock(&w->ch->lock);
		if (t != CHAN_TRY_BLOCK)
			return true;
	}
	return false;
}

/* Write the fired case back to userspace; returns its index or an error. */
static long chan_select_report(struct chan_select __user *us,
			       struct chan_ioc_case __user *ucases,
			       struct chan_select_case *c)
{
	struct chan_waiter *w = &c->w;
	u32 index = w->index;
	long ret = index;
	u32 ok = 0;
	u64 len = 0;

	switch (w->outcome) {
	case CHAN_TOOBIG:
		ret = -EMSGSIZE;
		len = w->len;	/* the size the message needs */
		break;
	case CHAN_MOVED:
		ok = 1;
		if (w->op == CHAN_OP_SEND)
			break;
		len = w->len;
		if (copy_to_user(c->ubuf, w->buf, w->len)) {
			chan_putback(w->ch, w);
			return -EFAULT;
		}
		break;
	default:
		break;
	}
	if (w->file) {
		/* select carries no descriptors: drop one that came along */
		chan_inflight_fput(w->file);
		w->file = NULL;
	}
	/* A send case's len is the caller's input: leave it alone. */
	if ((w->op == CHAN_OP_RECV && put_user(len, &ucases[index].len)) ||
	    put_user(ok, &ucases[index].ok) ||
	    put_user((s32)index, &us->index))
		return -EFAULT;
	return ret;
}

long chan_select_ioctl(void __user *uarg)
{
	struct chan_select __user *us = uarg;
	struct chan_ioc_case __user *ucases;
	struct chan_sel sel = {
		.state = ATOMIC_INIT(CHAN_SEL_WAITING),
		.task = current,
	};
	struct chan_select_case *cases;
	struct chan_ioc_case kc;
	struct chan_select s;
	u32 i, nactive = 0;
	u8 *stage = NULL;
	size_t staged = 0;
	ktime_t deadline = 0;
	bool timed;
	u32 *order;
	long ret;

	ret = chan_copy_struct(&s, sizeof(s), us, CHAN_SELECT_SIZE_VER0);
	if (ret)
		return ret;
	if (s.flags || s.ncases > READ_ONCE(chan_max_select_cases))
		return -EINVAL;
	if (put_user(-1, &us->index))
		return -EFAULT;
	ucases = u64_to_user_ptr(s.cases);

	cases = kvcalloc(s.ncases, sizeof(*cases), GFP_KERNEL_ACCOUNT);
	order = kvmalloc_array(s.ncases, sizeof(*order), GFP_KERNEL_ACCOUNT);
	ret = -ENOMEM;
	if (!cases || !order)
		goto out;

	for (i = 0; i < s.ncases; i++) {
		ret = -EFAULT;
		if (copy_from_user(&kc, &ucases[i], sizeof(kc)))
			goto out;
		ret = chan_select_prepare(&cases[i], &kc, i, &sel);
		if (ret < 0)
			goto out;
		staged += ret;
		ret = -E2BIG;
		if (staged > READ_ONCE(chan_max_select_bytes))
			goto out;
		if (cases[i].w.ch)
			order[nactive++] = i;
	}
	if (staged) {
		ret = -ENOMEM;
		stage = kvmalloc(staged, GFP_KERNEL_ACCOUNT);
		if (!stage)
			goto out;
	}
	ret = chan_select_stage(cases, order, nactive, stage);
	if (ret)
		goto out;

	/* Fisher-Yates; swap() evaluates its arguments twice. */
	for (i = nactive; i > 1; i--) {
		u32 j = get_random_u32_below(i);

		swap(order[i - 1], order[j]);
	}

	if (!chan_select_visit(cases, order, nactive, false)) {
		ret = -EAGAIN;
		if (s.timeout_ns == 0)
			goto out;
		timed = s.timeout_ns > 0;
		if (timed)
			deadline = ktime_add_safe(ktime_get(),
						  ns_to_ktime(s.timeout_ns));
		chan_select_visit(cases, order, nactive, true);
		ret = chan_sel_wait(&sel, deadline, timed);
		for (i = 0; i < nactive; i++)
			chan_dequeue(&cases[order[i]].w);
		if (ret == -ERESTARTSYS && timed)
			ret = chan_restart_timed(deadline, &us->timeout_ns);
		if (ret)
			goto out;
	}
	ret = chan_select_report(us, ucases, &cases[sel.fired->index]);
out:
	trace_chan_select(s.ncases, ret >= 0 ? (int)ret : -1, ret);
	if (cases) {
		for (i = 0; i < s.ncases; i++)
			if (cases[i].file)
				fput(cases[i].file);
	}
	kvfree(stage);
	kvfree(order);
	kvfree(cases);
	return ret;
}
