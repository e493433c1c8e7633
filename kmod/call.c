// SPDX-License-Identifier: GPL-2.0
/*
 * kchan: CHAN_IOC_CALL, a send followed by a receive in one system call.
 *
 * A request/reply round trip costs two system calls per side with
 * CHAN_IOC_SEND and CHAN_IOC_RECV; a call does both halves in one, and a
 * server's loop (reply, then wait for the next request) too. The halves
 * are the plain chan_send() and chan_recv() of chan.c, one after the
 * other, so every rule of the commit protocol holds as it does for them:
 * nothing here touches a queue or a lock.
 *
 * What the caller must learn is which half completed: once the send went
 * in, "sent" is written back as 1 with whatever the receive half returns,
 * and a call restarted after a signal (the kernel re-issues the same
 * struct) skips the send it sees done. The one timeout covers both halves:
 * the deadline is taken once, and on a restart the time left is written
 * back, as for the other timed operations.
 */

#include <linux/file.h>
#include <linux/uaccess.h>

#include <linux/chan.h>

#include "kchan.h"

/* The half's channel, as the separate call would check its handle. */
static struct chan *chan_call_channel(struct file *file, bool send)
{
	struct chan *ch = file ? chan_from_file(file) : NULL;

	if (!ch || !(send ? chan_can_send(file) : chan_can_recv(file)))
		return ERR_PTR(-EBADF);
	/* A call carries no descriptor (uapi: CHAN_IOC_CALL). */
	if (ch->flags & CHAN_FDPASS)
		return ERR_PTR(-EINVAL);
	return ch;
}

/* sent, and with @recvd the receive's ok and length, in one user access. */
static int chan_call_write_back(struct chan_call __user *uc, bool recvd,
				u64 len, bool ok)
{
	if (!user_access_begin(uc, sizeof(*uc)))
		return -EFAULT;
	unsafe_put_user(1U, &uc->sent, efault);
	if (recvd) {
		unsafe_put_user(len, &uc->recv_len, efault);
		unsafe_put_user(ok ? 1U : 0U, &uc->ok, efault);
	}
	user_access_end();
	return 0;
efault:
	user_access_end();
	return -EFAULT;
}

/* Both halves, the channels pinned by the caller. */
static long chan_call_run(struct chan_call __user *uc,
			  const struct chan_call *c, struct file *sfile,
			  struct chan *sch, struct file *rfile,
			  struct chan *rch)
{
	struct chan_xfer sx = {
		.ubuf = u64_to_user_ptr(c->send_buf),
		.ulen = c->send_len,
		.fd = -1,
	};
	struct chan_xfer rx = {
		.ubuf = u64_to_user_ptr(c->recv_buf),
		.ulen = c->recv_len,
		.fd = -1,
		.probed = true,
	};
	bool timed = c->timeout_ns > 0;
	ktime_t deadline = 0;
	long ret;

	/*
	 * Whatever happens after the send is written back: find a struct
	 * that cannot take it, and a buffer that cannot take the reply,
	 * before anything moves.
	 */
	if (chan_probe_writable(uc, sizeof(*uc)) ||
	    chan_probe_writable(rx.ubuf, min_t(u64, c->recv_len,
					       rch->msg_size)))
		return -EFAULT;

	if (timed)
		deadline = ktime_add_safe(ktime_get(),
					  ns_to_ktime(c->timeout_ns));
	sx.deadline = deadline;
	sx.timed = timed;
	sx.nonblock = (sfile->f_flags & O_NONBLOCK) || !c->timeout_ns;
	rx.deadline = deadline;
	rx.timed = timed;
	rx.nonblock = (rfile->f_flags & O_NONBLOCK) || !c->timeout_ns;

	if (!c->sent) {
		ret = chan_send(sch, &sx);
		if (ret)
			goto out;
	}

	ret = chan_recv(rch, &rx);
	if (chan_call_write_back(uc, !ret || ret == -EMSGSIZE, rx.ulen, rx.ok))
		return -EFAULT;
out:
	if (ret == -ERESTARTSYS && timed)
		ret = chan_restart_timed(deadline, &uc->timeout_ns);
	return ret;
}

long chan_call_ioctl(struct chan_call __user *uc)
{
	struct chan *sch, *rch;
	struct chan_call c;
	struct fd sf, rf;
	long ret;

	ret = chan_get_struct(&c, sizeof(c), uc, CHAN_CALL_SIZE_VER0);
	if (ret)
		return ret;
	if (c.flags || c.reserved || c.sent > 1)
		return -EINVAL;
	if (c.send_fd < 0 || c.recv_fd < 0)
		return -EBADF;
	if (c.send_fd == c.recv_fd)
		return -EINVAL;

	sf = fdget(c.send_fd);
	rf = fdget(c.recv_fd);
	sch = chan_call_channel(fd_file(sf), true);
	rch = chan_call_channel(fd_file(rf), false);
	if (IS_ERR(sch))
		ret = PTR_ERR(sch);
	else if (IS_ERR(rch))
		ret = PTR_ERR(rch);
	else if (sch == rch)
		ret = -EINVAL;	/* it would mostly receive its own message */
	else if (c.send_len > sch->msg_size)
		ret = -EMSGSIZE;
	else
		ret = chan_call_run(uc, &c, fd_file(sf), sch, fd_file(rf),
				    rch);
	fdput(rf);
	fdput(sf);
	return ret;
}
