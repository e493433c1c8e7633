// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libchan: select sets (since 1.2), a select whose cases are registered
 * once (CHAN_IOC_SELSET_CREATE / CTL / WAIT). Separate from chan.c like
 * chan_fd.c; the conventions are the same: one ioctl on the caller's
 * descriptor, the kernel's errno passed through as -1/errno, no state here.
 * EINTR as everywhere in libchan: with SA_RESTART the kernel restarts the
 * wait itself and keeps its deadline (it writes the time left into the
 * struct on our stack, which the restarted ioctl reads again); without it
 * the call fails EINTR.
 */
#define _GNU_SOURCE
#include "chan_private.h"

#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

API int chan_selset_make(int flags)
{
	struct chan_selset_create c;
	int dev, fd;

	dev = open_dev();
	if (dev < 0)
		return -1;
	memset(&c, 0, sizeof(c));
	c.size = sizeof(c);
	c.flags = (__u32)flags;	/* the kernel checks: CHAN_CLOEXEC only */
	fd = ioctl(dev, CHAN_IOC_SELSET_CREATE, &c);
	close_keep_errno(dev);
	return fd < 0 ? -1 : fd;
}

API int chan_selset_set(int set, unsigned index, const struct chan_case *c)
{
	struct chan_selset_ctl s;

	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.index = index;
	if (!c) {
		/* nil; the kernel wants a valid op even then */
		s.fd = -1;
		s.op = CHAN_OP_RECV;
	} else {
		/* as chan_select(): ch -1 is a nil case, op is checked anyway */
		s.fd = c->ch;
		s.op = (__u32)c->op;	/* CHAN_SEND/RECV == CHAN_OP_SEND/RECV */
		s.buf = (__u64)(uintptr_t)c->buf;
		s.len = c->len;
	}
	return ioctl(set, CHAN_IOC_SELSET_CTL, &s) < 0 ? -1 : 0;
}

API int chan_selset_wait(int set, int64_t timeout_ns, size_t *len, bool *ok)
{
	struct chan_selset_wait w;
	int ret;

	memset(&w, 0, sizeof(w));
	w.size = sizeof(w);
	w.timeout_ns = timeout_ns;
	w.index = -1;
	ret = ioctl(set, CHAN_IOC_SELSET_WAIT, &w);
	if (ret < 0) {
		/* A receive buffer too short: the kernel reports the size the
		 * message needs (the message stays in its channel). */
		if (errno == EMSGSIZE && len && w.len)
			*len = (size_t)w.len;
		return -1;
	}
	if (ok)
		*ok = w.ok != 0;
	if (len)
		*len = w.ok ? (size_t)w.len : 0;
	return w.index;
}
