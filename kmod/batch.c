// SPDX-License-Identifier: GPL-2.0
/*
 * kchan: CHAN_IOC_SEND_BATCH and CHAN_IOC_RECV_BATCH.
 *
 * Locking as everywhere (top of chan.c): ch->lock is held while a chunk
 * moves, never across a user copy or an allocation.
 */

#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <linux/chan.h>

#include "kchan.h"
#include "trace.h"

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
	w->fd.file = NULL;
}

/* Set the batch's waiter up for putting a message back. */
static void chan_batch_putback_next(struct chan_waiter *w, void *buf, u32 len,
				    struct chan_fd fd)
{
	w->buf = buf;
	w->len = len;
	w->fd = fd;
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
	struct chan_fd fds[CHAN_BATCH_CHUNK];
	u32 lens[CHAN_BATCH_CHUNK], offs[CHAN_BATCH_CHUNK];
	struct chan_sel sel;
	struct chan_waiter w = { .sel = &sel, .ch = ch, .op = CHAN_OP_RECV };
	u32 done = 0, k, m, i, j, p, moved, room;
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
			fds[0] = w.fd;
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
				fds[moved] = w.fd;
				trace_chan_recv(ch->id, w.len, true, -1, 0);
			}
			if (moved > j)
				chan_poll_wake(ch, chan_poll_key(CHAN_OP_RECV));
			spin_unlock(&ch->lock);
			stop = moved < m;
		}

		/*
		 * Copy out; on a fault the rest goes back (chan_putback()):
		 * the oldest first to parked receivers, what is left to the
		 * head of the ring, last first, so the order stays.
		 */
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
			spin_lock(&ch->lock);
			for (j = i; j < moved; j++) {
				chan_batch_putback_next(&w, stage + offs[j],
							lens[j], fds[j]);
				if (!chan_putback_hand_locked(ch, &w))
					break;
				fds[j].file = NULL;
			}
			for (p = moved; p-- > j;) {
				chan_batch_putback_next(&w, stage + offs[p],
							lens[p], fds[p]);
				chan_putback_ring_locked(ch, &w);
				fds[p] = w.fd;	/* NULL file unless dropped */
			}
			spin_unlock(&ch->lock);
		}
		for (j = 0; j < moved; j++)
			if (fds[j].file)
				chan_inflight_fput(&fds[j]);
		done += i;
	}
	/* (long): with a u32 "done", err would convert to a huge count */
	return done ? (long)done : err;
}

/*
 * A batch of one message: the plain send or receive of chan.c, which
 * stages through the stack or the channel's stage cache instead of a
 * batch staging buffer. The received length goes back into the iovec
 * under the same put-back rule as the message itself.
 */
static long chan_batch_one(struct chan *ch, struct chan_iovec __user *uv,
			   struct chan_xfer *x, bool send)
{
	struct chan_iovec v;
	long ret;

	if (copy_from_user(&v, uv, sizeof(v)))
		return -EFAULT;
	x->ubuf = u64_to_user_ptr(v.buf);
	x->ulen = v.len;
	x->fd = -1;
	if (send) {
		ret = chan_send(ch, x);
		return ret ? ret : 1;
	}
	if (chan_probe_writable(&uv->len, sizeof(uv->len)))
		return -EFAULT;
	x->ulen_out = &uv->len;
	ret = chan_recv(ch, x);
	if (ret)
		return ret;
	return x->ok ? 1 : 0;
}

long chan_ioctl_batch(struct file *file, struct chan_batch __user *ub,
		      bool send)
{
	struct chan *ch = file->private_data;
	struct chan_xfer x = {};
	struct chan_batch b;
	struct chan_stage st;
	size_t stage_size;
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
	if (b.n == 1) {
		ret = chan_batch_one(ch, u64_to_user_ptr(b.msgs), &x, send);
		goto out;
	}

	stage_size = (size_t)min_t(u32, b.n, CHAN_BATCH_CHUNK) * ch->msg_size;
	stage_size = min_t(size_t, stage_size,
			   max_t(size_t, CHAN_BATCH_STAGE, ch->msg_size));
	/* Charged to the caller's staging: a first message may wait. */
	ret = chan_stage_alloc(&st, stage_size);
	if (ret)
		return ret;
	if (send)
		ret = chan_batch_send(ch, u64_to_user_ptr(b.msgs), b.n, &x,
				      st.buf, stage_size);
	else
		ret = chan_batch_recv(ch, u64_to_user_ptr(b.msgs), b.n, &x,
				      st.buf, stage_size);
	chan_stage_free(&st);
out:
	if (ret == -ERESTARTSYS && x.timed)
		ret = chan_restart_timed(x.deadline, &ub->timeout_ns);
	return ret;
}
