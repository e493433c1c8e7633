/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kchan compat: the only place that knows which kernel it is built for.
 *
 * kchan builds against every kernel of its matrix (Debian's 6.1 and 6.12,
 * each also as PREEMPT_RT). Each shim below gives an older kernel the
 * newer kernel's spelling, names the upstream change that introduced it,
 * and is keyed on LINUX_VERSION_CODE only (never on a distribution), so the
 * rest of kmod/ is written for the newest kernel and carries no #if.
 */
#ifndef _KCHAN_COMPAT_H
#define _KCHAN_COMPAT_H

#include <linux/file.h>
#include <linux/version.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 12, 0)
/*
 * v6.12, commit 1da91ea87aef ("introduce fd_file(), convert all accessors
 * to it") and commit 88a2f6468d01 ("struct fd: representation change"):
 * struct fd became one word, read through fd_file() and built with
 * EMPTY_FD, BORROWED_FD() and CLONED_FD().
 */
#define fd_file(f)	((f).file)

static inline bool fd_empty(struct fd f)
{
	return !f.file;
}

#define EMPTY_FD	((struct fd){ .file = NULL, .flags = 0 })

static inline struct fd CLONED_FD(struct file *f)
{
	return (struct fd){ .file = f, .flags = FDPUT_FPUT };
}
#endif

#endif /* _KCHAN_COMPAT_H */
