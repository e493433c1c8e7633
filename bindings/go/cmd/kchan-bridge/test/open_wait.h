/* SPDX-License-Identifier: GPL-2.0 */
/*
 * open_wait(): chan_open() of a named channel that another program (a
 * bridge, a producer) is about to create: retried on ENOENT for up to
 * 120 s, every 1 ms at first, backing off to every 128 ms.
 */
#ifndef KCHAN_BRIDGE_OPEN_WAIT_H
#define KCHAN_BRIDGE_OPEN_WAIT_H

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <chan.h>

static inline int open_wait(const char *prog, const char *name, int oflag)
{
	long long waited = 0;
	long ns = 1000 * 1000;
	int ch;

	while ((ch = chan_open(name, oflag, 0666, 64, 64)) < 0 && errno == ENOENT &&
	       waited < 120LL * 1000 * 1000 * 1000) {
		struct timespec ts = { 0, ns };

		nanosleep(&ts, NULL);
		waited += ns;
		if (ns < 128 * 1000 * 1000)
			ns *= 2;
	}
	if (ch < 0)
		fprintf(stderr, "%s: chan_open %s: %s\n", prog, name, strerror(errno));
	return ch;
}

#endif
