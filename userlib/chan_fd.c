// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libchan: handles with fewer rights, and descriptors carried by messages
 * (channels made with CHAN_FDPASS). Separate from chan.c because nothing
 * here is on the plain send/recv path; the conventions are the same: one
 * ioctl on the caller's descriptor, the kernel's errno passed through.
 */
#define _GNU_SOURCE
#include "chan.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define API __attribute__((visibility("default")))

API int chan_dup(int ch, unsigned rights, int flags)
{
	struct chan_dup d;

	memset(&d, 0, sizeof(d));
	d.size = sizeof(d);
	d.rights = rights;
	d.flags = (__u32)flags;
	return ioctl(ch, CHAN_IOC_DUP, &d);
}

API int chan_send_fd(int ch, const void *msg, size_t len, int fd,
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

API ssize_t chan_recv_fd(int ch, void *buf, size_t size, bool *ok, int *fd,
			 int flags, int64_t timeout_ns)
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
