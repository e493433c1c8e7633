// SPDX-License-Identifier: GPL-2.0
/*
 * kchan: CHAN_IOC_SELECT, Go's select across processes.
 *
 * A select is one struct chan_sel with one struct chan_waiter per non-nil
 * case; the chan_sel's state word decides which single case fires (see the
 * locking notes in chan.c).
 *
 * 0. The fast path, for the common "one of n is ready": check every case
 *    as 1. does (its file, rights, length, and that its buffer can be read
 *    or written) without keeping anything, and note the cases whose
 *    channel looks ready without its lock (chan_ready_hint()), picking one
 *    of them uniformly at random (reservoir sampling). Then stage and try
 *    only that case under its channel's lock: one lock, no allocation for
 *    small messages. Any error, nothing that looks ready, or a hint that
 *    the lock does not confirm (a race) falls back to the full path, which
 *    checks everything again and reports errors in case order:
 * 1. Read and check every case, pin its file, stage its data (copy in send
 *    data, probe recv buffers): a bad case fails before anything moves.
 *    Then visit the cases in a random order and complete the first one
 *    that can complete now. Our chan_sel is not visible to anyone yet, so
 *    only a partner's is taken. Go's rule "a ready case chosen uniformly at
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
 * Only one channel lock is held at any time. Files are pinned with fdget()
 * (no reference count when the file table is not shared), as poll and
 * epoll_wait do.
 */

#include <linux/file.h>
#include <linux/mm.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <linux/chan.h>

#include "kchan.h"
#include "trace.h"

/* Cases of a select this small live on the stack. */
#define CHAN_SELECT_STACK_CASES	4
/* Cases read from userspace at a time. */
#define CHAN_SELECT_CHUNK	8

/* A number below @n, uniformly, from @rng (seeded on first use). */
u32 chan_select_below(struct chan_select_rng *rng, u32 n)
{
	u32 x = rng->x;

	if (!x)
		x = get_random_u32() | 1;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	rng->x = x;
	return (u32)(((u64)x * n) >> 32);
}

/*
 * The check every select case passes, in select's full path, its pass 0
 * and CHAN_IOC_SELSET_CTL, once its op is known to be CHAN_OP_SEND or
 * CHAN_OP_RECV: @file (what the case's fd names, NULL for nothing open)
 * must be a channel whose handle has the op's right (EBADF), and a send
 * must fit the channel's msg_size (EMSGSIZE). Returns the channel.
 */
struct chan *chan_case_channel(struct file *file, u32 op, u64 len)
{
	struct chan *ch = file ? chan_from_file(file) : NULL;
	bool send = op == CHAN_OP_SEND;

	if (!ch || !(send ? chan_can_send(file) : chan_can_recv(file)))
		return ERR_PTR(-EBADF);
	if (send && len > ch->msg_size)
		return ERR_PTR(-EMSGSIZE);
	return ch;
}

/* Validate one case and pin its channel; returns the bytes it stages. */
static long chan_select_prepare(struct chan_scase *c,
				const struct chan_select_case *kc, u32 index,
				struct chan_sel *sel)
{
	struct chan *ch;

	/* Every case is fdput() on the way out, nil or not. */
	c->f = EMPTY_FD;
	c->w.ch = NULL;
	if (kc->reserved || !chan_op_valid(kc->op))
		return -EINVAL;
	if (kc->fd == -1)
		return 0;
	if (kc->fd < 0)
		return -EBADF;
	c->f = fdget(kc->fd);
	ch = chan_case_channel(fd_file(c->f), kc->op, kc->len);
	if (IS_ERR(ch))
		return PTR_ERR(ch);

	c->ubuf = u64_to_user_ptr(kc->buf);
	c->w.sel = sel;
	c->w.ch = ch;
	c->w.op = kc->op;
	c->w.index = index;
	c->w.len = min_t(u64, kc->len, ch->msg_size);
	c->w.queued = false;
	c->w.fd = (struct chan_fd){};
	return c->w.len;
}

/* Copy in send data and check recv buffers, before anything moves. */
int chan_select_stage(struct chan_scase *cases, const u32 *order,
		      u32 nactive, u8 *stage, bool small)
{
	struct chan_scase *c;
	struct chan_waiter *w;
	u32 k;
	int ret;

	for (k = 0; k < nactive; k++) {
		c = &cases[order[k]];
		w = &c->w;
		w->buf = stage;
		stage += small ? CHAN_STACK_BYTES : w->len;
		if (w->op == CHAN_OP_SEND) {
			if (small ? chan_copy_in_small(w->buf, c->ubuf, w->len) :
			    copy_from_user(w->buf, c->ubuf, w->len))
				return -EFAULT;
		} else {
			ret = chan_probe_writable(c->ubuf, w->len);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* Try one case under its channel's lock (pass 0); true once it completed. */
static bool chan_select_try_one(struct chan_waiter *w)
{
	enum chan_try t;

	spin_lock(&w->ch->lock);
	t = chan_try_locked(w->ch, w);
	if (t != CHAN_TRY_BLOCK)
		chan_poll_wake(w->ch, chan_poll_key(w->op));
	spin_unlock(&w->ch->lock);
	return t != CHAN_TRY_BLOCK;
}

/*
 * Pass 0's last step for the case it picked: stage @w in @stack_buf (or in
 * @st, a buffer charged to the caller's staging, when larger), copying in
 * send data from @ubuf, and try it under its channel's lock. True once it
 * completed: the caller reports it, then calls chan_stage_free(@st). False:
 * nothing moved and nothing is left to free.
 */
bool chan_select_try_picked(struct chan_waiter *w, const void __user *ubuf,
			    u8 *stack_buf, struct chan_stage *st)
{
	w->buf = stack_buf;
	if (chan_stage_alloc(st, w->len > CHAN_STACK_BYTES ? w->len : 0))
		return false;
	if (st->buf)
		w->buf = st->buf;
	if (w->op == CHAN_OP_SEND &&
	    (w->buf == stack_buf ? chan_copy_in_small(w->buf, ubuf, w->len) :
	     copy_from_user(w->buf, ubuf, w->len)))
		goto out_free;
	if (chan_select_try_one(w))
		return true;
out_free:
	chan_stage_free(st);
	return false;
}

/*
 * Visit every active case once. With @park, queue the waiters of cases
 * that cannot complete. Returns true once the select is decided.
 */
static bool chan_select_visit(struct chan_scase *cases, const u32 *order,
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

static long chan_select_report(struct chan_select __user *us,
			       u8 __user *ucases, u32 case_size,
			       struct chan_waiter *w, void __user *ubuf,
			       bool small);

/*
 * Read the caller's cases [@i, @i + *@n) into @kc. Cases of our own size
 * (the usual case) come in one copy; on a fault part-way, or when the
 * caller's case_size differs, one case at a time by copy_struct_from_user()
 * rules (*@n becomes 1), so that errors come in case order: -EFAULT, or
 * -E2BIG for non-zero bytes past the struct the kernel knows.
 */
static int chan_select_read_cases(struct chan_select_case *kc,
				  const u8 __user *ucases, u32 case_size,
				  u32 i, u32 *n)
{
	const u8 __user *from = ucases + (size_t)i * case_size;
	unsigned long left;

	if (case_size == sizeof(*kc)) {
		/* a constant size for the full chunk: no hardened-usercopy walk */
		if (*n == CHAN_SELECT_CHUNK)
			left = copy_from_user(kc, from,
					      CHAN_SELECT_CHUNK * sizeof(*kc));
		else
			left = copy_from_user(kc, from, *n * sizeof(*kc));
		if (!left)
			return 0;
	}
	*n = 1;
	return copy_struct_from_user(kc, sizeof(*kc), from, case_size);
}

/*
 * Pass 0's buffer check: probe @len bytes at @buf, readable (send) or
 * writable (recv), unless they lie in a page this call has already found
 * so: pages[0] is the last page found writable, pages[1] readable (a
 * select's buffers are often neighbours). Permissions are per page, and a
 * mapping changed meanwhile by another thread is a race the full path
 * could lose as well (a failing copy out puts the message back).
 */
static int chan_select_probe(u64 buf, u32 len, bool send,
			     unsigned long *pages)
{
	unsigned long page = buf & PAGE_MASK;
	bool one_page = len && ((buf + len - 1) & PAGE_MASK) == page;
	int ret;

	if (one_page && (page == pages[0] || (send && page == pages[1])))
		return 0;
	ret = send ? chan_probe_readable(u64_to_user_ptr(buf), len) :
		     chan_probe_writable(u64_to_user_ptr(buf), len);
	if (!ret && one_page)
		pages[send] = page;
	return ret;
}

/*
 * Pass 0, the fast path (see the top). True when it decided the select,
 * with its result in *@result; false to take the full path.
 */
static noinline_for_stack bool
chan_select_fast(struct chan_select __user *us, u8 __user *ucases, u32 ncases,
		 struct chan_sel *sel, struct chan_select_rng *rng, long *result)
{
	u8 stack_buf[CHAN_STACK_BYTES] __uninitialized;
	struct chan_select_case kc[CHAN_SELECT_CHUNK];
	size_t staged = 0, max = READ_ONCE(chan_max_select_bytes);
	struct chan_waiter w = { .sel = sel };
	void __user *ubuf = NULL;
	const struct chan_select_case *c;
	u32 i, j, chunk, len, nready = 0;
	unsigned long pages[2] = { ~0UL, ~0UL };
	struct fd pick = EMPTY_FD, f;
	struct chan_stage st;
	bool done = false;
	struct chan *ch;
	bool send;

	for (i = 0; i < ncases; i += chunk) {
		chunk = min_t(u32, ncases - i, CHAN_SELECT_CHUNK);
		if (chunk == CHAN_SELECT_CHUNK ?
		    copy_from_user(kc, ucases + i * sizeof(kc[0]), sizeof(kc)) :
		    copy_from_user(kc, ucases + i * sizeof(kc[0]),
				   chunk * sizeof(kc[0])))
			goto out;
		for (j = 0; j < chunk; j++) {
			c = &kc[j];
			send = c->op == CHAN_OP_SEND;
			if (c->reserved || !chan_op_valid(c->op))
				goto out;
			if (c->fd == -1)
				continue;
			if (c->fd < 0)
				goto out;
			f = fdget(c->fd);
			ch = chan_case_channel(fd_file(f), c->op, c->len);
			if (IS_ERR(ch))
				goto out_fdput;
			len = min_t(u64, c->len, ch->msg_size);
			staged += len;
			if (staged > max ||
			    chan_select_probe(c->buf, len, send, pages))
				goto out_fdput;
			if (!chan_ready_hint(ch, c->op) ||
			    (nready++ && chan_select_below(rng, nready))) {
				fdput(f);
				continue;
			}
			fdput(pick);
			pick = f;
			w.ch = ch;
			w.op = c->op;
			w.index = i + j;
			w.len = len;
			ubuf = u64_to_user_ptr(c->buf);
		}
	}
	if (fd_empty(pick))
		goto out;

	if (!chan_select_try_picked(&w, ubuf, stack_buf, &st))
		goto out;
	*result = chan_select_report(us, ucases, sizeof(kc[0]), &w, ubuf,
				     w.buf == stack_buf);
	done = true;
	chan_stage_free(&st);
out:
	fdput(pick);
	return done;
out_fdput:
	fdput(f);
	goto out;
}

/*
 * Finish the case that fired: copy a received message out (putting it back
 * on failure). Returns the case's index, -EMSGSIZE (*@len: the size
 * needed) or -EFAULT; *@len and *@ok are what to report for the case. A
 * descriptor that came with the message stays in w->fd: select carries
 * none, so the caller drops it (chan_inflight_fput()) once it holds no
 * lock.
 */
long chan_select_finish(struct chan_waiter *w, void __user *ubuf, bool small,
			u64 *len, u32 *ok)
{
	long ret = w->index;

	*ok = 0;
	*len = 0;
	switch (w->outcome) {
	case CHAN_TOOBIG:
		ret = -EMSGSIZE;
		*len = w->len;	/* the size the message needs */
		break;
	case CHAN_MOVED:
		*ok = 1;
		*len = w->len;
		if (w->op == CHAN_OP_SEND)
			break;
		if (small ? chan_copy_out_small(ubuf, w->buf, w->len) :
		    copy_to_user(ubuf, w->buf, w->len)) {
			chan_putback(w->ch, w);
			return -EFAULT;
		}
		break;
	default:
		break;
	}
	return ret;
}

/* Write the fired case back to userspace; returns its index or an error. */
static long chan_select_report(struct chan_select __user *us,
			       u8 __user *ucases, u32 case_size,
			       struct chan_waiter *w, void __user *ubuf,
			       bool small)
{
	struct chan_select_case __user *uc =
		(void __user *)(ucases + (size_t)w->index * case_size);
	long ret;
	u64 len;
	u32 ok;

	ret = chan_select_finish(w, ubuf, small, &len, &ok);
	if (w->fd.file)
		chan_inflight_fput(&w->fd);
	if (ret == -EFAULT)
		return ret;
	if (!user_access_begin(uc, sizeof(*uc)))
		return -EFAULT;
	/* A send case's len is the caller's input: leave it alone. */
	if (w->op == CHAN_OP_RECV)
		unsafe_put_user(len, &uc->len, efault);
	unsafe_put_user(ok, &uc->ok, efault);
	user_access_end();
	if (put_user((s32)w->index, &us->index))
		return -EFAULT;
	return ret;
efault:
	user_access_end();
	return -EFAULT;
}

/*
 * Passes 1 to 3 of a select whose cases are checked and staged: shuffle,
 * try each, and unless @timeout_ns is 0 queue on every channel and sleep.
 * 0 once a case fired (sel->fired), else an error; the time left goes to
 * @utimeout when a signal restarts a timed wait.
 */
long chan_select_run(struct chan_scase *cases, u32 *order, u32 nactive,
		     struct chan_sel *sel, struct chan_select_rng *rng,
		     s64 timeout_ns, s64 __user *utimeout)
{
	ktime_t deadline = 0;
	bool timed;
	long ret;
	u32 i, j;

	/* Fisher-Yates; swap() evaluates its arguments twice. */
	for (i = nactive; i > 1; i--) {
		j = chan_select_below(rng, i);
		swap(order[i - 1], order[j]);
	}

	if (chan_select_visit(cases, order, nactive, false))
		return 0;
	if (timeout_ns == 0)
		return -EAGAIN;
	timed = timeout_ns > 0;
	if (timed)
		deadline = ktime_add_safe(ktime_get(), ns_to_ktime(timeout_ns));
	chan_select_visit(cases, order, nactive, true);
	ret = chan_sel_wait(sel, deadline, timed);
	for (i = 0; i < nactive; i++)
		chan_dequeue(&cases[order[i]].w);
	if (ret == -ERESTARTSYS && timed)
		ret = chan_restart_timed(deadline, utimeout);
	return ret;
}

long chan_select_ioctl(void __user *uarg)
{
	struct chan_scase stack_cases[CHAN_SELECT_STACK_CASES];
	u8 stack_stage[CHAN_SELECT_STACK_CASES * CHAN_STACK_BYTES]
		__uninitialized;
	u32 stack_order[CHAN_SELECT_STACK_CASES];
	struct chan_select_case kc[CHAN_SELECT_CHUNK];
	struct chan_select __user *us = uarg;
	u8 __user *ucases;
	struct chan_sel sel;
	struct chan_select_rng rng = {};
	struct chan_scase *cases = stack_cases;
	u32 *order = stack_order;
	u8 *stage = stack_stage;
	struct chan_stage block = {}, big_stage = {};
	u32 i, j, chunk, ninit = 0, nactive = 0;
	size_t staged = 0;
	bool small = true;
	struct chan_select s;
	long ret;

	ret = chan_get_struct(&s, sizeof(s), us, CHAN_SELECT_SIZE_VER0);
	if (ret)
		return ret;
	chan_sel_init(&sel);
	if (s.flags || s.reserved ||
	    s.ncases > READ_ONCE(chan_max_select_cases) ||
	    s.case_size < CHAN_SELECT_CASE_SIZE_VER0)
		return -EINVAL;
	if (s.case_size > PAGE_SIZE)
		return -E2BIG;
	if (put_user(-1, &us->index))
		return -EFAULT;
	ucases = u64_to_user_ptr(s.cases);
	/*
	 * The fired case's len and ok are written back after it moved: a
	 * read-only case array must fail here, before anything moves.
	 */
	if (s.ncases &&
	    chan_probe_writable(ucases, array_size(s.ncases, s.case_size)))
		return -EFAULT;

	/* Pass 0 reads cases of the kernel's size only. */
	if (s.case_size == sizeof(kc[0]) &&
	    chan_select_fast(us, ucases, s.ncases, &sel, &rng, &ret)) {
		trace_chan_select(s.ncases, ret >= 0 ? (int)ret : -1, ret);
		return ret;
	}

	/*
	 * One allocation for a larger select: the cases, the visiting order
	 * and CHAN_STACK_BYTES of staging per case (a case that stages more
	 * sends the whole select to a separate staging buffer). Both are
	 * charged to the caller's staging (limits.c): a select may wait.
	 * ncases is below max_select_cases: no overflow.
	 */
	if (s.ncases > CHAN_SELECT_STACK_CASES) {
		ret = chan_stage_alloc(&block,
				       (size_t)s.ncases * CHAN_SELECT_CASE_BYTES);
		if (ret) {
			trace_chan_select(s.ncases, -1, ret);
			return ret;
		}
		cases = block.buf;
		order = (u32 *)(cases + s.ncases);
		stage = (u8 *)(order + s.ncases);
	}

	for (i = 0; i < s.ncases; i += chunk) {
		chunk = min_t(u32, s.ncases - i, CHAN_SELECT_CHUNK);
		ret = chan_select_read_cases(kc, ucases, s.case_size, i,
					     &chunk);
		if (ret)
			goto out;
		for (j = 0; j < chunk; j++) {
			ret = chan_select_prepare(&cases[i + j], &kc[j], i + j,
						  &sel);
			ninit++;
			if (ret < 0)
				goto out;
			staged += ret;
			if (ret > CHAN_STACK_BYTES)
				small = false;
			ret = -ENOBUFS;
			if (staged > READ_ONCE(chan_max_select_bytes))
				goto out;
			if (cases[i + j].w.ch)
				order[nactive++] = i + j;
		}
	}
	if (!small) {
		ret = chan_stage_alloc(&big_stage, staged);
		if (ret)
			goto out;
		stage = big_stage.buf;
	}
	ret = chan_select_stage(cases, order, nactive, stage, small);
	if (ret)
		goto out;
	ret = chan_select_run(cases, order, nactive, &sel, &rng, s.timeout_ns,
			      &us->timeout_ns);
	if (ret)
		goto out;
	ret = chan_select_report(us, ucases, s.case_size, sel.fired,
				 cases[sel.fired->index].ubuf, small);
out:
	trace_chan_select(s.ncases, ret >= 0 ? (int)ret : -1, ret);
	for (i = 0; i < ninit; i++)
		fdput(cases[i].f);
	chan_stage_free(&big_stage);
	chan_stage_free(&block);
	return ret;
}
