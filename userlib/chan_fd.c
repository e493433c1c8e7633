// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libchan: handles with fewer rights. Descriptors carried by messages
 * (chan_send_fd, chan_recv_fd) live in chan.c, next to the plain send and
 * recv they share their code with. The conventions are the same: one
 * ioctl on the caller's descriptor, the kernel's errno passed through.
 */
#define _GNU_SOURCE
#include "chan_private.h"

#include <string.h>
#include <sys/ioctl.h>

API int chan_dup(int ch, unsigned rights, int flags)
{
	struct chan_dup d;

	memset(&d, 0, sizeof(d));
	d.size = sizeof(d);
	d.rights = rights;
	d.flags = (__u32)flags;
	return ioctl(ch, CHAN_IOC_DUP, &d);
}
