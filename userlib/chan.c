// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libchan: thin wrappers over the /dev/chan ioctls.
 *
 * No global state: calls that need /dev/chan (make, pipe, open, unlink,
 * select, chan_selset_make in chan_selset.c) open it with O_CLOEXEC and
 * close it again; everything else is an ioctl on the descriptor the caller
 * gives, which the caller says is a channel. Errors are the kernel's, passed through as
 * -1/errno. EINTR too: with SA_RESTART the kernel restarts the call itself
 * and keeps the deadline (it writes the time left into the struct on our
 * stack, which the restarted call reads again).
 */
#define _GNU_SOURCE
#include "chan_private.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Cases / batch entries translated on the stack before falling back to malloc. */
#define STACK_CASES	64
#define STACK_BUFS	64

static int create_on(int dev, size_t msg_size, unsigned capacity, int flags)
{
	struct chan_create c;

	if (msg_size > UINT32_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.flags = (__u32)flags;
	c.capacity = capacity;
	c.msg_size = (__u32)msg_size;
	return ioctl(dev, CHAN_IOC_CREATE, &c);
}

API int chan_make(size_t msg_size, unsigned capacity, int flags)
{
	int dev, fd;

	dev = open_dev();
	if (dev < 0)
		return -1;
	fd = create_on(dev, msg_size, capacity, flags);
	close_keep_errno(dev);
	return fd;
}

API int chan_pipe(int fds[2], size_t msg_size, unsigned capacity, int flags)
{
	int both, r, s;
	int fdflags = flags & (int)(CHAN_CLOEXEC | CHAN_NONBLOCK);

	/* The bidirectional fd is only a stepping stone: keep it out of a
	 * concurrent exec, and drop it once both ends exist so that the
	 * ends alone hold the channel (crash safety counts handles). */
	both = chan_make(msg_size, capacity, flags | (int)CHAN_CLOEXEC);
	if (both < 0)
		return -1;
	r = chan_dup(both, CHAN_RIGHT_RECV, fdflags);
	if (r < 0) {
		close_keep_errno(both);
		return -1;
	}
	s = chan_dup(both, CHAN_RIGHT_SEND, fdflags);
	if (s < 0) {
		close_keep_errno(r);
		close_keep_errno(both);
		return -1;
	}
	close(both);
	fds[0] = r;
	fds[1] = s;
	return 0;
}

API int chan_open(const char *name, int oflag, mode_t mode, size_t msg_size,
		  unsigned capacity)
{
	return chan_open_flags(name, oflag, mode, msg_size, capacity, 0);
}

API int chan_open_flags(const char *name, int oflag, mode_t mode,
			size_t msg_size, unsigned capacity, int flags)
{
	struct chan_open o;
	int dev, fd;

	if (!name) {
		errno = EFAULT;
		return -1;
	}
	if (msg_size > UINT32_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	memset(&o, 0, sizeof(o));
	o.size = sizeof(o);
	o.oflag = (__u32)oflag;
	o.name = (__u64)(uintptr_t)name;
	o.mode = (__u32)mode;
	o.flags = (__u32)flags;	/* the kernel checks: FDPASS, AUTOCLOSE */
	o.capacity = capacity;
	o.msg_size = (__u32)msg_size;

	dev = open_dev();
	if (dev < 0)
		return -1;
	fd = ioctl(dev, CHAN_IOC_OPEN, &o);
	close_keep_errno(dev);
	return fd;
}

API int chan_unlink(const char *name)
{
	struct chan_unlink u;
	int dev, ret;

	if (!name) {
		errno = EFAULT;
		return -1;
	}
	memset(&u, 0, sizeof(u));
	u.size = sizeof(u);
	u.name = (__u64)(uintptr_t)name;

	dev = open_dev();
	if (dev < 0)
		return -1;
	ret = ioctl(dev, CHAN_IOC_UNLINK, &u);
	close_keep_errno(dev);
	return ret < 0 ? -1 : 0;
}

/* ---- one message ---- */

/* Inlined into the plain calls: the send/recv path is one ioctl. */
static inline int msg_send(int ch, const void *msg, size_t len, int fd,
			   int64_t timeout_ns)
{
	struct chan_msg m;

	memset(&m, 0, sizeof(m));
	m.size = sizeof(m);
	m.buf = (__u64)(uintptr_t)msg;
	m.len = len;
	m.timeout_ns = timeout_ns;
	m.fd = fd;
	return ioctl(ch, CHAN_IOC_SEND, &m) < 0 ? -1 : 0;
}

static inline ssize_t msg_recv(int ch, void *buf, size_t size, bool *ok,
			       int *fd, int flags, int64_t timeout_ns)
{
	struct chan_msg m;

	/* Checked here: the kernel's own flag word is CHAN_MSG_*, not this. */
	if (flags & ~(int)CHAN_CLOEXEC) {
		errno = EINVAL;
		return -1;
	}
	memset(&m, 0, sizeof(m));
	m.size = sizeof(m);
	m.buf = (__u64)(uintptr_t)buf;
	m.len = size;
	m.timeout_ns = timeout_ns;
	m.fd = -1;
	if (flags & CHAN_CLOEXEC)
		m.flags = CHAN_MSG_FD_CLOEXEC;
	if (ioctl(ch, CHAN_IOC_RECV, &m) < 0)
		return -1;
	if (fd)
		*fd = m.ok ? m.fd : -1;
	else if (m.ok && m.fd >= 0)
		close(m.fd);	/* the caller asked not to have it */
	if (ok)
		*ok = m.ok != 0;
	return m.ok ? (ssize_t)m.len : 0;
}

API int chan_send_fd(int ch, const void *msg, size_t len, int fd,
		     int64_t timeout_ns)
{
	return msg_send(ch, msg, len, fd, timeout_ns);
}

API ssize_t chan_recv_fd(int ch, void *buf, size_t size, bool *ok, int *fd,
			 int flags, int64_t timeout_ns)
{
	return msg_recv(ch, buf, size, ok, fd, flags, timeout_ns);
}

/* The plain calls carry no descriptor: one that comes along anyway (a
 * CHAN_FDPASS channel) is closed, and close-on-exec until then so that no
 * concurrent exec inherits it. */
static int do_send(int ch, const void *msg, size_t len, int64_t timeout_ns)
{
	return msg_send(ch, msg, len, -1, timeout_ns);
}

static ssize_t do_recv(int ch, void *buf, size_t size, bool *ok,
		       int64_t timeout_ns)
{
	return msg_recv(ch, buf, size, ok, NULL, CHAN_CLOEXEC, timeout_ns);
}

API int chan_send(int ch, const void *msg, size_t len)
{
	return do_send(ch, msg, len, -1);
}

API int chan_trysend(int ch, const void *msg, size_t len)
{
	return do_send(ch, msg, len, 0);
}

API int chan_send_timeout(int ch, const void *msg, size_t len,
			  int64_t timeout_ns)
{
	return do_send(ch, msg, len, timeout_ns);
}

API ssize_t chan_recv(int ch, void *buf, size_t size, bool *ok)
{
	return do_recv(ch, buf, size, ok, -1);
}

API ssize_t chan_tryrecv(int ch, void *buf, size_t size, bool *ok)
{
	return do_recv(ch, buf, size, ok, 0);
}

API ssize_t chan_recv_timeout(int ch, void *buf, size_t size, bool *ok,
			      int64_t timeout_ns)
{
	return do_recv(ch, buf, size, ok, timeout_ns);
}

/* ---- send then receive ---- */

API ssize_t chan_call(int send_ch, const void *msg, size_t len, int recv_ch,
		      void *buf, size_t size, bool *ok, bool *sent,
		      int64_t timeout_ns)
{
	struct chan_call c;
	int ret;

	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.send_fd = send_ch;
	c.recv_fd = recv_ch;
	c.send_buf = (__u64)(uintptr_t)msg;
	c.send_len = len;
	c.recv_buf = (__u64)(uintptr_t)buf;
	c.recv_len = size;
	c.timeout_ns = timeout_ns;
	ret = ioctl(send_ch, CHAN_IOC_CALL, &c);
	if (sent)
		*sent = c.sent != 0;
	if (ret < 0)
		return -1;
	if (ok)
		*ok = c.ok != 0;
	return c.ok ? (ssize_t)c.recv_len : 0;
}

/* ---- close and info ---- */

API int chan_close(int ch)
{
	return ioctl(ch, CHAN_IOC_CLOSE) < 0 ? -1 : 0;
}

API int chan_info(int ch, struct chan_info *info)
{
	struct chan_info i;

	if (!info) {
		errno = EFAULT;
		return -1;
	}
	memset(&i, 0, sizeof(i));
	i.size = sizeof(i);
	if (ioctl(ch, CHAN_IOC_INFO, &i) < 0)
		return -1;
	*info = i;
	return 0;
}

API int chan_len(int ch)
{
	struct chan_info i;

	if (chan_info(ch, &i) < 0)
		return -1;
	return i.len > INT_MAX ? INT_MAX : (int)i.len;
}

API int chan_cap(int ch)
{
	struct chan_info i;

	if (chan_info(ch, &i) < 0)
		return -1;
	return i.capacity > INT_MAX ? INT_MAX : (int)i.capacity;
}

/* ---- select ---- */

/*
 * The select goes to /dev/chan, never to a case's descriptor: that one may
 * not be a channel (the kernel reports such a case EBADF), and an ioctl
 * sent to another driver's file could mean something else there.
 */
API int chan_select(struct chan_case *cases, size_t n, int64_t timeout_ns)
{
	struct chan_select_case stack[STACK_CASES], *kc = stack;
	struct chan_select s;
	int dev, idx;
	size_t i;

	if (n > UINT32_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (n && !cases) {
		errno = EFAULT;
		return -1;
	}
	if (n > STACK_CASES) {
		kc = malloc(n * sizeof(*kc));
		if (!kc)
			return -1;	/* ENOMEM */
	}
	for (i = 0; i < n; i++) {
		kc[i].fd = cases[i].ch;
		kc[i].op = (__u32)cases[i].op;	/* CHAN_SEND/RECV == CHAN_OP_SEND/RECV */
		kc[i].buf = (__u64)(uintptr_t)cases[i].buf;
		kc[i].len = cases[i].len;
		kc[i].ok = 0;
		kc[i].reserved = 0;
	}

	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.cases = (__u64)(uintptr_t)kc;
	s.ncases = (__u32)n;
	s.case_size = sizeof(*kc);
	s.index = -1;
	s.timeout_ns = timeout_ns;
	idx = -1;
	dev = open_dev();
	if (dev >= 0) {
		if (ioctl(dev, CHAN_IOC_SELECT, &s) >= 0)
			idx = s.index;
		close_keep_errno(dev);
	}

	if (idx >= 0 && (size_t)idx < n) {
		cases[idx].ok = kc[idx].ok != 0;
		if (cases[idx].op == CHAN_RECV)
			cases[idx].len = kc[idx].ok ? (size_t)kc[idx].len : 0;
	}
	if (kc != stack) {
		int e = errno;

		free(kc);
		errno = e;
	}
	return idx;
}

/* ---- batches ---- */

/*
 * struct chan_buf is { void *, size_t }, struct chan_iovec { __u64, __u64 }:
 * the same bytes on LP64, so a recv batch goes to the kernel as it is (the
 * kernel writes each length straight into the caller's array). A send
 * batch is copied, since the caller's array is const.
 */
#define CHAN_BUF_IS_IOVEC \
	(sizeof(struct chan_buf) == sizeof(struct chan_iovec) && \
	 offsetof(struct chan_buf, buf) == offsetof(struct chan_iovec, buf) && \
	 offsetof(struct chan_buf, len) == offsetof(struct chan_iovec, len) && \
	 sizeof(void *) == sizeof(__u64) && sizeof(size_t) == sizeof(__u64))

static ssize_t batch(int ch, unsigned long cmd, struct chan_iovec *v, size_t n,
		     int64_t timeout_ns)
{
	struct chan_batch b;
	int ret;

	memset(&b, 0, sizeof(b));
	b.size = sizeof(b);
	b.msgs = (__u64)(uintptr_t)v;
	b.n = (__u32)n;
	b.timeout_ns = timeout_ns;
	ret = ioctl(ch, cmd, &b);
	return ret < 0 ? -1 : (ssize_t)ret;
}

API ssize_t chan_send_batch(int ch, const struct chan_buf *msgs, size_t n,
			    int64_t timeout_ns)
{
	struct chan_iovec stack[STACK_BUFS], *v = stack;
	ssize_t ret;
	size_t i;

	if (n > INT_MAX)
		n = INT_MAX;	/* a batch may move fewer than asked */
	if (n && !msgs) {
		errno = EFAULT;
		return -1;
	}
	if (n > STACK_BUFS) {
		v = malloc(n * sizeof(*v));
		if (!v)
			return -1;
	}
	for (i = 0; i < n; i++) {
		v[i].buf = (__u64)(uintptr_t)msgs[i].buf;
		v[i].len = msgs[i].len;
	}
	ret = batch(ch, CHAN_IOC_SEND_BATCH, v, n, timeout_ns);
	if (v != stack) {
		int e = errno;

		free(v);
		errno = e;
	}
	return ret;
}

API ssize_t chan_recv_batch(int ch, struct chan_buf *msgs, size_t n,
			    int64_t timeout_ns)
{
	struct chan_iovec stack[STACK_BUFS], *v = stack;
	ssize_t ret;
	size_t i;

	if (n > INT_MAX)
		n = INT_MAX;
	if (n && !msgs) {
		errno = EFAULT;
		return -1;
	}
	if (CHAN_BUF_IS_IOVEC)
		return batch(ch, CHAN_IOC_RECV_BATCH, (struct chan_iovec *)(void *)msgs,
			     n, timeout_ns);

	if (n > STACK_BUFS) {
		v = malloc(n * sizeof(*v));
		if (!v)
			return -1;
	}
	for (i = 0; i < n; i++) {
		v[i].buf = (__u64)(uintptr_t)msgs[i].buf;
		v[i].len = msgs[i].len;
	}
	ret = batch(ch, CHAN_IOC_RECV_BATCH, v, n, timeout_ns);
	for (i = 0; ret > 0 && i < (size_t)ret; i++)
		msgs[i].len = (size_t)v[i].len;
	if (v != stack) {
		int e = errno;

		free(v);
		errno = e;
	}
	return ret;
}
