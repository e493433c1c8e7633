// SPDX-License-Identifier: GPL-2.0
/*
 * bridge-consumer NAME OUT: an unchanged libchan program. Receives
 * records from the named channel NAME (waiting up to 120 s for it to
 * exist) until it is closed and drained; writes "producer seq" lines to
 * OUT and reports how many arrived out of order per producer, and the
 * time from the first message to the close (CLOCK_MONOTONIC: no program
 * start in it, for bench/bridge.sh).
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

struct rec {
	uint32_t producer;
	uint32_t seq;
};

#define MAXP 16

int main(int argc, char **argv)
{
	long long last[MAXP];
	unsigned long n = 0, disorder = 0;
	struct timespec first = { 0, 0 }, end;
	struct rec r;
	int ch, i;
	FILE *out;
	bool ok;

	if (argc != 3) {
		fprintf(stderr, "usage: %s NAME OUT\n", argv[0]);
		return 2;
	}
	ch = open_wait("consumer", argv[1], O_RDONLY);
	if (ch < 0)
		return 1;
	out = fopen(argv[2], "w");
	if (!out) {
		fprintf(stderr, "consumer: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	for (i = 0; i < MAXP; i++)
		last[i] = -1;
	for (;;) {
		ssize_t len = chan_recv(ch, &r, sizeof(r), &ok);

		if (len < 0) {
			fprintf(stderr, "consumer: chan_recv: %s\n", strerror(errno));
			return 1;
		}
		if (!ok)
			break;
		if (!n)
			clock_gettime(CLOCK_MONOTONIC, &first);
		if (len != sizeof(r) || r.producer >= MAXP) {
			fprintf(stderr, "consumer: a bad record (%zd bytes)\n", len);
			return 1;
		}
		if ((long long)r.seq <= last[r.producer])
			disorder++;
		last[r.producer] = r.seq;
		fprintf(out, "%u %u\n", r.producer, r.seq);
		n++;
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	if (fclose(out)) {
		fprintf(stderr, "consumer: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	printf("consumer %s: %lu messages, %lu out of order, then closed (%.6f s after the first)\n",
	       argv[1], n, disorder,
	       (double)(end.tv_sec - first.tv_sec) + (end.tv_nsec - first.tv_nsec) / 1e9);
	return 0;
}
