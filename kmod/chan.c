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
 * Invariant: while count > 0, recvq holds no claimable receiver (only
 * waiters whose chan_sel is final already, which their owners are about to
 * take off). A receiver parks only on an empty ring, and a message that
 * arrives (a send, a refill from a parked sender, a put-back) is handed to
 * a parked receiver before it may enter the ring. So no receiver sleeps
 * while a message waits in the buffer, and FIFO order holds.
 *
 * Closing: Go's close (CHAN_IOC_CLOSE), or crash safety: the last
 * send-capable handle going away closes an anonymous channel, and a named
 * one that its name no longer holds open (held_by_name: names.c).
 *
 * Locking
 * -------
 * ch->lock (a spinlock) protects the ring, both queues, the counters, the
 * handle counts and closed. It is never held across a user copy, an
 * allocation or a sleep, and never two at once: a select visits its
 * channels one after the other. Data crosses between processes through
 * kernel buffers owned by the waiters (struct chan_waiter): on the stack
 * up to CHAN_STACK_BYTES, else one of the channel's stage cache (taken and
 * given back without a lock) or an allocated one (limits.c).
 *
 * The commit protocol
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
 * Lock order
 * ----------
 * Every lock of the module, outermost first; a lock is only ever taken
 * with the locks listed before it (or none) held:
 *
 *   chan_names_mutex     (names.c, mutex) the name table; held across
 *                        allocations and file creation; chan_free() may
 *                        run under it
 *   set->lock            (selset.c, mutex) one select set's cases; held
 *                        across allocations and CTL's queueing of a case
 *                        on its channel (poll_wq's lock, then ch->lock):
 *                        never across a user access or a sleep for a
 *                        partner
 *   chan_list_mutex      (proc.c, mutex) the list /proc/kchan walks
 *   ch->lock             (spinlock) one channel, see above; never two;
 *                        a timer channel's hrtimer and work are armed
 *                        under it, never waited for (timer.c)
 *   sel->lock            (raw spinlock) one chan_sel, see above; two only
 *                        in address order, the second nested
 *   scheduler locks      of a task woken under sel->lock
 *   ch->poll_wq.lock     taken under ch->lock by chan_poll_wake() (poll's
 *                        and epoll's wake callbacks take no lock of ours;
 *                        a select set's takes set->rdlock)
 *   set->rdlock          (selset.c, spinlock) one select set's ready
 *                        list; a leaf: taken by the set's wake callback
 *                        under poll_wq's lock, and under set->lock (with
 *                        ch->lock at most) by CTL and waits
 *   chan_users_lock      (limits.c, spinlock) the per-user table; a leaf,
 *                        taken with no spinlock held (under the mutexes
 *                        above at most)
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

/*
 * The fixed-size part of a new channel, charged to the caller first
 * (limits.c): one reference, no ring yet, not on the list.
 */
static struct chan *chan_alloc(u32 capacity, u32 msg_size, u32 flags)
{
	struct chan *ch;
	int ret;

	BUILD_BUG_ON(sizeof(struct chan) > CHAN_CHAN_BYTES / 2);
	ch = kzalloc(sizeof(*ch), GFP_KERNEL_ACCOUNT);
	if (!ch)
		return ERR_PTR(-ENOMEM);
	ret = chan_charge(ch, chan_charge_bytes(capacity, msg_size, flags));
	if (ret) {
		kfree(ch);
		return ERR_PTR(ret);
	}
	spin_lock_init(&ch->lock);
	INIT_LIST_HEAD(&ch->sendq);
	INIT_LIST_HEAD(&ch->recvq);
	INIT_LIST_HEAD(&ch->node);
	init_waitqueue_head(&ch->poll_wq);
	refcount_set(&ch->ref, 1);
	ch->capacity = capacity;
	ch->msg_size = msg_size;
	ch->flags = flags & (CHAN_FDPASS | CHAN_AUTOCLOSE);
	return ch;
}

/*
 * The user-sized parts: the ring, the slots' lengths and descriptors
 * (CHAN_GFP_USER_SIZED: past memory.max they fail ENOMEM). What was
 * allocated before a failure is freed by chan_free().
 */
static int chan_alloc_ring(struct chan *ch)
{
	u32 capacity = ch->capacity;

	if (capacity) {
		ch->lens = kvcalloc(capacity, sizeof(*ch->lens),
				    CHAN_GFP_USER_SIZED);
		if (!ch->lens)
			return -ENOMEM;
		if (ch->msg_size) {
			ch->data = kvmalloc(array_size(capacity, ch->msg_size),
					    CHAN_GFP_USER_SIZED);
			if (!ch->data)
				return -ENOMEM;
		}
		if (ch->flags & CHAN_FDPASS) {
			ch->files = kvcalloc(capacity, sizeof(*ch->files),
					     CHAN_GFP_USER_SIZED);
			if (!ch->files)
				return -ENOMEM;
		}
	}
	ch->id = atomic64_inc_return(&chan_next_id);
	chan_track(ch);
	return 0;
}

static void chan_free(struct chan *ch)
{
	u32 i, slot;

	if (ch->timer)
		chan_timer_free(ch);
	chan_untrack(ch);
	chan_stage_cache_free(ch);
	if (ch->files) {
		for (i = 0; i < ch->count; i++) {
			slot = (ch->head + i) % ch->capacity;
			if (ch->files[slot].file)
				chan_inflight_fput(&ch->files[slot]);
		}
	}
	chan_uncharge(ch);
	kvfree(ch->files);
	kvfree(ch->data);
	kvfree(ch->lens);
	kfree(ch);
}

/*
 * A new channel and its first open file, with @rights. The fixed-size
 * parts come first: the channel and its charge, then the file, whose
 * allocations (the file and, since 6.12, the dentry of d_alloc_pseudo())
 * the kernel makes with plain GFP_KERNEL_ACCOUNT and which may therefore
 * wake the memcg OOM killer at memory.max. The parts whose size the caller
 * chooses come last, so that a ring that does not fit fails ENOMEM. If
 * they fail the file is put (its release frees the channel, before the
 * syscall returns). With @chp, *@chp gets a reference of its own.
 */
struct file *chan_create(u32 capacity, u32 msg_size, u32 flags, u32 rights,
			 struct chan **chp)
{
	struct file *file;
	struct chan *ch;
	int ret;

	ch = chan_alloc(capacity, msg_size, flags);
	if (IS_ERR(ch))
		return ERR_CAST(ch);
	file = chan_new_file(ch, rights, flags);
	if (IS_ERR(file)) {
		chan_put(ch);
		return file;
	}
	ret = chan_alloc_ring(ch);
	if (ret) {
		fput(file);
		chan_put(ch);
		return ERR_PTR(ret);
	}
	if (chp)
		*chp = ch;
	else
		chan_put(ch);
	return file;
}

void chan_put(struct chan *ch)
{
	if (refcount_dec_and_test(&ch->ref))
		chan_free(ch);
}

/* The counters INFO, fdinfo and /proc/kchan report, at one moment. */
void chan_stats(struct chan *ch, struct chan_stats *st)
{
	spin_lock(&ch->lock);
	st->len = ch->count;
	st->closed = ch->closed;
	st->send_waiters = ch->nr_send_waiters;
	st->recv_waiters = ch->nr_recv_waiters;
	st->send_handles = ch->send_handles;
	st->recv_handles = ch->recv_handles;
	st->sent = ch->sent;
	st->received = ch->received;
	st->dropped = ch->dropped;
	spin_unlock(&ch->lock);
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

/* ---- one send or receive by a handle ---- */

int chan_send(struct chan *ch, struct chan_xfer *x)
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
	struct chan_stage st = {};
	int ret;

	if (x->ulen > ch->msg_size)
		return -EMSGSIZE;
	if (x->fd != -1 && !(ch->flags & CHAN_FDPASS))
		return -EINVAL;
	chan_sel_init(&sel);
	if (x->ulen > sizeof(stack_buf)) {
		ret = chan_stage_get(ch, &st, x->ulen);
		if (ret)
			return ret;
		w.buf = st.buf;
	}
	ret = -EFAULT;
	if (x->iter ? !copy_from_iter_full(w.buf, x->ulen, x->iter) :
	    w.buf == stack_buf ? chan_copy_in_small(w.buf, x->ubuf, x->ulen) :
	    copy_from_user(w.buf, x->ubuf, x->ulen))
		goto out;
	if (x->fd != -1) {
		ret = -EBADF;
		w.fd.file = fget(x->fd);
		if (!w.fd.file)
			goto out;
		/* No cycles, a bound per user (names.c, limits.c). */
		ret = chan_file_take(&w.fd);
		if (ret) {
			fput(w.fd.file);
			w.fd.file = NULL;
			goto out;
		}
	}

	x->stage = &st;
	ret = chan_do(ch, &w, x);
	x->stage = NULL;
	if (ret)
		goto out;
	ret = w.outcome == CHAN_MOVED ? 0 : -EPIPE;
out:
	trace_chan_send(ch->id, x->ulen, x->fd, ret);
	if (w.fd.file)
		chan_inflight_fput(&w.fd);
	chan_stage_put(ch, &st);
	return ret;
}

int chan_recv(struct chan *ch, struct chan_xfer *x)
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
	struct chan_stage st = {};
	int fd = -1;
	int ret;

	x->ok = false;
	x->fd = -1;
	chan_sel_init(&sel);
	if (x->iter)
		ret = fault_in_iov_iter_writeable(x->iter, w.len) ? -EFAULT : 0;
	else if (!x->probed)
		ret = chan_probe_writable(x->ubuf, w.len);
	else
		ret = 0;
	if (ret)
		return ret;
	if (w.len > sizeof(stack_buf)) {
		ret = chan_stage_get(ch, &st, w.len);
		if (ret)
			return ret;
		w.buf = st.buf;
	}
	if (x->want_fd && (ch->flags & CHAN_FDPASS)) {
		/* Reserve the fd first: once taken, a message must land. */
		fd = get_unused_fd_flags(x->cloexec ? O_CLOEXEC : 0);
		if (fd < 0) {
			ret = fd;
			goto out;
		}
	}

	x->stage = &st;
	ret = chan_do(ch, &w, x);
	x->stage = NULL;
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
		if ((x->iter ? copy_to_iter(w.buf, w.len, x->iter) != w.len :
		     w.buf == stack_buf ?
		     chan_copy_out_small(x->ubuf, w.buf, w.len) :
		     copy_to_user(x->ubuf, w.buf, w.len)) ||
		    (x->ulen_out && put_user((u64)w.len, x->ulen_out))) {
			chan_putback(ch, &w);
			ret = -EFAULT;
			break;
		}
		x->ok = true;
		if (w.fd.file && fd >= 0) {
			chan_inflight_uncharge(&w.fd);
			fd_install(fd, w.fd.file);
			w.fd.file = NULL;
			x->fd = fd;
			fd = -1;
		}
		ret = 0;
	}
out:
	trace_chan_recv(ch->id, x->ulen, x->ok, x->fd, ret);
	if (fd >= 0)
		put_unused_fd(fd);
	if (w.fd.file)
		chan_inflight_fput(&w.fd);
	chan_stage_put(ch, &st);
	return ret;
}

/* ---- ioctls on a channel fd ---- */

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
	struct chan_stats st;
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
	chan_stats(ch, &st);
	info.len = st.len;
	info.closed = st.closed;
	info.send_waiters = st.send_waiters;
	info.recv_waiters = st.recv_waiters;
	info.send_handles = st.send_handles;
	info.recv_handles = st.recv_handles;
	info.sent = st.sent;
	info.received = st.received;
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

static long chan_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (CHAN_IOC_MATCH(cmd)) {
	case CHAN_IOC_MATCH(CHAN_IOC_SEND):
		return chan_ioctl_msg(file, uarg, true);
	case CHAN_IOC_MATCH(CHAN_IOC_RECV):
		return chan_ioctl_msg(file, uarg, false);
	case CHAN_IOC_MATCH(CHAN_IOC_CLOSE):
		return chan_ioctl_close(file);
	case CHAN_IOC_MATCH(CHAN_IOC_INFO):
		return chan_ioctl_info(file, uarg);
	case CHAN_IOC_MATCH(CHAN_IOC_DUP):
		return chan_ioctl_dup(file, uarg);
	case CHAN_IOC_MATCH(CHAN_IOC_SELECT):
		return chan_select_ioctl(uarg);
	case CHAN_IOC_MATCH(CHAN_IOC_CALL):
		return chan_call_ioctl(uarg);
	case CHAN_IOC_MATCH(CHAN_IOC_SEND_BATCH):
		return chan_ioctl_batch(file, uarg, true);
	case CHAN_IOC_MATCH(CHAN_IOC_RECV_BATCH):
		return chan_ioctl_batch(file, uarg, false);
	case CHAN_IOC_MATCH(CHAN_IOC_TIMER_SET):
		return chan_timer_set_ioctl(file, uarg);
	}
	return -ENOTTY;
}

/* ---- file operations ---- */

/*
 * read(2), readv(2), preadv2(2), io_uring's READ and READV: receive one
 * message, scattered across the buffers (EMSGSIZE when they are shorter
 * than the message, which stays). Without O_NONBLOCK or IOCB_NOWAIT
 * (RWF_NOWAIT, io_uring's first try) it blocks. Returns the message length,
 * 0 when the channel is closed and drained; a descriptor that came with
 * the message is dropped.
 */
static ssize_t chan_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct chan_xfer x = {
		.iter = to,
		.ulen = iov_iter_count(to),
		.nonblock = (iocb->ki_filp->f_flags & O_NONBLOCK) ||
			    (iocb->ki_flags & IOCB_NOWAIT),
	};
	int ret;

	ret = chan_recv(iocb->ki_filp->private_data, &x);
	if (ret)
		return ret;
	return x.ok ? x.ulen : 0;
}

/*
 * write(2), writev(2), pwritev2(2), io_uring's WRITE and WRITEV: send one
 * message, gathered from the buffers; EMSGSIZE beyond msg_size.
 */
static ssize_t chan_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct chan_xfer x = {
		.iter = from,
		.ulen = iov_iter_count(from),
		.nonblock = (iocb->ki_filp->f_flags & O_NONBLOCK) ||
			    (iocb->ki_flags & IOCB_NOWAIT),
		.fd = -1,
	};
	size_t count = x.ulen;
	int ret;

	ret = chan_send(iocb->ki_filp->private_data, &x);
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
	if (chan_can_send(file) && !--ch->send_handles &&
	    !ch->held_by_name && !ch->closed)
		chan_close_locked(ch);
	if (chan_can_recv(file) && !--ch->recv_handles)
		chan_fail_senders_locked(ch);
	chan_poll_wake(ch, CHAN_POLL_ALL);
	spin_unlock(&ch->lock);
	chan_put(ch);
	return 0;
}

/*
 * A name starts (@hold) or stops holding @ch open (names.c, under
 * chan_names_mutex). When it lets go and no send-capable handle is left,
 * the channel closes, as the last handle's release would have closed it.
 */
void chan_hold_by_name(struct chan *ch, bool hold)
{
	spin_lock(&ch->lock);
	if (hold) {
		ch->held_by_name = true;
	} else if (ch->held_by_name) {
		ch->held_by_name = false;
		if (!ch->send_handles && !ch->closed) {
			chan_close_locked(ch);
			chan_poll_wake(ch, CHAN_POLL_ALL);
		}
	}
	spin_unlock(&ch->lock);
}

static void chan_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct chan *ch = file->private_data;
	struct chan_stats st;

	chan_stats(ch, &st);
	seq_printf(m, "chan_id:\t%llu\n", ch->id);
	seq_printf(m, "capacity:\t%u\n", ch->capacity);
	seq_printf(m, "msg_size:\t%u\n", ch->msg_size);
	seq_printf(m, "len:\t%u\n", st.len);
	seq_printf(m, "closed:\t%u\n", st.closed);
	seq_printf(m, "send_waiters:\t%u\n", st.send_waiters);
	seq_printf(m, "recv_waiters:\t%u\n", st.recv_waiters);
	seq_printf(m, "send_handles:\t%u\n", st.send_handles);
	seq_printf(m, "recv_handles:\t%u\n", st.recv_handles);
	seq_printf(m, "rights:\t%s\n",
		   chan_can_send(file) ?
		   (chan_can_recv(file) ? "send,recv" : "send") : "recv");
	seq_printf(m, "fdpass:\t%u\n", !!(ch->flags & CHAN_FDPASS));
	seq_printf(m, "autoclose:\t%u\n", !!(ch->flags & CHAN_AUTOCLOSE));
	seq_printf(m, "sent:\t%llu\n", st.sent);
	seq_printf(m, "received:\t%llu\n", st.received);
	seq_printf(m, "dropped:\t%llu\n", st.dropped);
	chan_name_show_fdinfo(m, ch);
	if (ch->timer)
		chan_timer_show_fdinfo(m, ch);
}

const struct file_operations chan_fops = {
	.owner		= THIS_MODULE,
	.read_iter	= chan_read_iter,
	.write_iter	= chan_write_iter,
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
	/* IOCB_NOWAIT is honoured: preadv2(RWF_NOWAIT), io_uring's try. */
	file->f_mode |= FMODE_NOWAIT;
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
