/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libchan internals shared by its source files; not installed.
 */
#ifndef LIBCHAN_PRIVATE_H
#define LIBCHAN_PRIVATE_H

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "chan.h"

/* Exported: everything else is hidden (-fvisibility=hidden, libchan.map). */
#define API __attribute__((visibility("default")))

/* /dev/chan, for the calls that need it; the caller closes it again. */
static inline int open_dev(void)
{
	return open(CHAN_DEVICE, O_RDWR | O_CLOEXEC);
}

/* close() that leaves errno alone, for cleanup on error paths */
static inline void close_keep_errno(int fd)
{
	int e = errno;

	close(fd);
	errno = e;
}

#endif
