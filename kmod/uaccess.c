// SPDX-License-Identifier: GPL-2.0
/*
 * kchan: user-access helpers.
 *
 * Reading the size-first structs of the UAPI, checking user buffers before
 * a message is taken (probes), and the deadline of a timed operation kept
 * across a signal that restarts it. The small-copy helpers used on every
 * message are inline in kchan.h.
 */

#include <linux/hrtimer.h>
#include <linux/mm.h>
#include <linux/uaccess.h>

#include <linux/chan.h>

#include "kchan.h"

/*
 * Check that a receive buffer is writable before a message is taken, so a
 * bad pointer fails EFAULT with nothing consumed. Each page is read and
 * written back unchanged.
 */
int chan_probe_writable(void __user *ubuf, size_t len)
{
	char __user *p = ubuf;
	char __user *end = p + len;
	char c;

	if (!len)
		return 0;
	if (!user_access_begin(ubuf, len))
		return -EFAULT;
	do {
		unsafe_get_user(c, p, efault);
		unsafe_put_user(c, p, efault);
		p = (char __user *)PAGE_ALIGN((unsigned long)p + 1);
	} while (p < end);
	user_access_end();
	return 0;
efault:
	user_access_end();
	return -EFAULT;
}

/* Can @len bytes at @ubuf be read? Reads one byte per page. */
int chan_probe_readable(const void __user *ubuf, size_t len)
{
	const char __user *p = ubuf;
	const char __user *end = p + len;
	char c __maybe_unused;

	if (!len)
		return 0;
	if (!user_read_access_begin(ubuf, len))
		return -EFAULT;
	do {
		unsafe_get_user(c, p, efault);
		p = (const char __user *)PAGE_ALIGN((unsigned long)p + 1);
	} while (p < end);
	user_read_access_end();
	return 0;
efault:
	user_read_access_end();
	return -EFAULT;
}

/* Read a size-first struct: EINVAL below @ver0, E2BIG for unknown tails. */
int chan_copy_struct(void *dst, size_t ksize, const void __user *src,
		     size_t ver0)
{
	u32 usize;

	if (get_user(usize, (const u32 __user *)src))
		return -EFAULT;
	if (usize < ver0)
		return -EINVAL;
	if (usize > PAGE_SIZE)
		return -E2BIG;
	return copy_struct_from_user(dst, ksize, src, usize);
}

void chan_set_deadline(struct chan_xfer *x, struct file *file,
		       s64 timeout_ns)
{
	x->nonblock = (file->f_flags & O_NONBLOCK) || timeout_ns == 0;
	x->timed = timeout_ns > 0;
	if (x->timed)
		x->deadline = ktime_add_safe(ktime_get(),
					     ns_to_ktime(timeout_ns));
}

/*
 * A timed wait interrupted by a signal: store the time left so that a
 * restarted call (SA_RESTART) keeps the original deadline.
 */
int chan_restart_timed(ktime_t deadline, s64 __user *utimeout)
{
	s64 left = ktime_to_ns(ktime_sub(deadline, ktime_get()));

	if (left <= 0)
		return -ETIMEDOUT;
	if (put_user(left, utimeout))
		return -EFAULT;
	return -ERESTARTSYS;
}
