// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libchan: timer channels (since 1.4). chan_after() and chan_ticker() are
 * Go's time.After and time.NewTicker on CLOCK_MONOTONIC, chan_timer() the
 * general form (clock, absolute time); chan_timer_reset() and
 * chan_timer_stop() are one CHAN_IOC_TIMER_SET on the timer's descriptor.
 * A timer is a recv-only channel of struct chan_tick messages: receive
 * from it with chan_recv(), chan_select(), read(2) or poll(2).
 */
#define _GNU_SOURCE
#include "chan_private.h"

#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

API int chan_timer(clockid_t clock, int64_t value_ns, int64_t interval_ns,
		   int flags)
{
	struct chan_timer t;
	int dev, fd;

	memset(&t, 0, sizeof(t));
	t.size = sizeof(t);
	t.flags = (__u32)flags;
	t.clockid = (__s32)clock;
	t.value_ns = value_ns;
	t.interval_ns = interval_ns;
	dev = open_dev();
	if (dev < 0)
		return -1;
	fd = ioctl(dev, CHAN_IOC_TIMER, &t);
	close_keep_errno(dev);
	return fd;
}

API int chan_after(int64_t ns, int flags)
{
	if (ns < 0)
		ns = 0;	/* Go: a duration <= 0 fires at once */
	return chan_timer(CLOCK_MONOTONIC, ns, 0, flags);
}

API int chan_ticker(int64_t period_ns, int flags)
{
	if (period_ns <= 0) {	/* Go's NewTicker panics */
		errno = EINVAL;
		return -1;
	}
	return chan_timer(CLOCK_MONOTONIC, period_ns, period_ns, flags);
}

API int chan_timer_reset(int timer, int64_t value_ns, int64_t interval_ns,
			 int flags)
{
	struct chan_timer_set s;

	memset(&s, 0, sizeof(s));
	s.size = sizeof(s);
	s.flags = (__u32)flags;
	s.value_ns = value_ns;
	s.interval_ns = interval_ns;
	return ioctl(timer, CHAN_IOC_TIMER_SET, &s);
}

API int chan_timer_stop(int timer)
{
	return chan_timer_reset(timer, 0, 0, (int)CHAN_TIMER_STOP);
}
