// SPDX-License-Identifier: GPL-2.0
/*
 * bridge-latency: one-way latency through a named channel, bridged or
 * not, for bench/bridge.sh. Both ends run on one machine and stamp with
 * one clock (CLOCK_MONOTONIC).
 *
 *   bridge-latency send NAME COUNT INTERVAL_US
 *       sends COUNT timestamps into NAME (created if missing: capacity 64,
 *       msg_size 64), one every INTERVAL_US, then closes it. Paced, so
 *       that the figure is the path's latency and not a queue's length.
 *   bridge-latency recv NAME
 *       receives until NAME is closed and prints
 *       "latency-us COUNT p50 p90 p99 max".
 *
 * A warm-up comes first, so that no sample waits for a bridge still
 * starting: the sender sends a 0 and waits on the local channel
 * "latency-ready" until the receiver has had it.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <chan.h>

#include "open_wait.h"

#define MAX_SAMPLES 100000
#define READY "latency-ready"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int do_send(const char *name, unsigned long n, unsigned long interval_us)
{
	struct timespec gap = {
		.tv_sec = (time_t)(interval_us / 1000000),
		.tv_nsec = (long)(interval_us % 1000000) * 1000,
	};
	unsigned long i;
	uint64_t t = 0;
	int ch, ready;
	bool ok = true;
	char c;

	ch = open_wait("latency", name, O_CREAT | O_RDWR);
	ready = open_wait("latency", READY, O_RDONLY);
	if (ch < 0 || ready < 0)
		return 1;
	if (chan_send(ch, &t, sizeof(t)) || chan_recv(ready, &c, 1, &ok) < 0 || !ok) {
		fprintf(stderr, "latency: warm-up: %s\n", ok ? strerror(errno) : "closed");
		return 1;
	}
	for (i = 0; i < n; i++) {
		nanosleep(&gap, NULL);
		t = now_ns();
		if (chan_send(ch, &t, sizeof(t))) {
			fprintf(stderr, "latency: chan_send: %s\n", strerror(errno));
			return 1;
		}
	}
	if (chan_close(ch)) {
		fprintf(stderr, "latency: chan_close: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

static int do_recv(const char *name)
{
	uint64_t *lat, t;
	size_t n = 0;
	int ch, ready;
	bool ok;

	ready = open_wait("latency", READY, O_CREAT | O_RDWR);
	ch = open_wait("latency", name, O_RDONLY);
	if (ch < 0 || ready < 0)
		return 1;
	lat = calloc(MAX_SAMPLES, sizeof(*lat));
	if (!lat) {
		perror("latency: calloc");
		return 1;
	}
	for (;;) {
		ssize_t len = chan_recv(ch, &t, sizeof(t), &ok);

		if (len < 0) {
			fprintf(stderr, "latency: chan_recv: %s\n", strerror(errno));
			return 1;
		}
		if (!ok)
			break;
		if (len != sizeof(t)) {
			fprintf(stderr, "latency: a %zd-byte message\n", len);
			return 1;
		}
		if (!t) {	/* the warm-up: the path is up */
			if (chan_send(ready, "", 1)) {
				fprintf(stderr, "latency: ready: %s\n", strerror(errno));
				return 1;
			}
			continue;
		}
		if (n < MAX_SAMPLES)
			lat[n++] = now_ns() - t;
	}
	if (!n) {
		fprintf(stderr, "latency: no message\n");
		return 1;
	}
	qsort(lat, n, sizeof(*lat), cmp_u64);
	printf("latency-us %zu %.0f %.0f %.0f %.0f\n", n, lat[n / 2] / 1e3,
	       lat[n * 9 / 10] / 1e3, lat[n * 99 / 100] / 1e3, lat[n - 1] / 1e3);
	free(lat);
	chan_unlink(READY);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "send"))
		return do_send(argv[2], strtoul(argv[3], NULL, 0),
			       strtoul(argv[4], NULL, 0));
	if (argc == 3 && !strcmp(argv[1], "recv"))
		return do_recv(argv[2]);
	fprintf(stderr, "usage: %s send NAME COUNT INTERVAL_US | recv NAME\n", argv[0]);
	return 2;
}
