// SPDX-License-Identifier: GPL-2.0
/*
 * bridge-producer NAME COUNT [ID]: an unchanged libchan program. Sends
 * COUNT records { producer ID, seq 0..COUNT-1 } into the named channel
 * NAME (created if missing: capacity 64, msg_size 64), then closes it.
 *
 * It opens the channel O_RDWR although it only sends, as a FIFO writer
 * does that must not see EPIPE: a send into a channel with no receiving
 * handle fails EPIPE, and the receiver here (kchan-bridge export) is
 * killed and restarted mid-stream by the test.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <chan.h>

struct rec {
	uint32_t producer;
	uint32_t seq;
};

int main(int argc, char **argv)
{
	struct rec r;
	unsigned long n, i;
	int ch;

	if (argc < 3) {
		fprintf(stderr, "usage: %s NAME COUNT [ID]\n", argv[0]);
		return 2;
	}
	n = strtoul(argv[2], NULL, 0);
	r.producer = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 0) : 1;
	ch = chan_open(argv[1], O_CREAT | O_RDWR, 0666, 64, 64);
	if (ch < 0) {
		fprintf(stderr, "producer: chan_open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	for (i = 0; i < n; i++) {
		r.seq = (uint32_t)i;
		if (chan_send(ch, &r, sizeof(r))) {
			fprintf(stderr, "producer: chan_send %lu: %s\n", i, strerror(errno));
			return 1;
		}
	}
	if (chan_close(ch)) {
		fprintf(stderr, "producer: chan_close: %s\n", strerror(errno));
		return 1;
	}
	printf("producer %u: sent %lu, closed %s\n", r.producer, n, argv[1]);
	return 0;
}
