// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * firstwins: first response wins. Three workers (think: replicas) race to
 * answer the same query; the client uses the first answer and walks away.
 * The answers go into a channel buffered for all three, so the losers'
 * sends complete without a receiver and they exit: no process leaks
 * (with an unbuffered channel they would block forever -- the classic
 * goroutine leak).
 *
 * Invariant: the fastest worker's answer is the one used, every worker
 * exits 0, and the two losing answers sit unread in the buffer.
 */
#include "common.h"

const char *prog = "firstwins";

#define NW 3

static int answers[2];
static const long delay_ms[NW] = { 600, 50, 300 };
static int me;

static int replica(void *arg)
{
	(void)arg;
	close(answers[0]);
	sleep_ms(delay_ms[me]);
	int32_t a = me;

	CHECK(chan_send(answers[1], &a, sizeof(a)));	/* never blocks: cap NW */
	return 0;
}

int main(void)
{
	pid_t pids[NW];
	int32_t first;
	bool ok;

	watchdog(60);
	setvbuf(stdout, NULL, _IOLBF, 0);
	CHECK(chan_pipe(answers, sizeof(int32_t), NW, CHAN_CLOEXEC));
	for (me = 0; me < NW; me++)
		pids[me] = spawn(replica, NULL);
	close(answers[1]);

	CHECK(chan_recv(answers[0], &first, sizeof(first), &ok));
	EXPECT(ok, "answers closed before any answer");
	printf("client: first answer from replica %d (%ld ms); using it\n",
	       first, delay_ms[first]);
	EXPECT(first == 1, "replica %d won, expected the fastest (1)", first);

	reap_all(pids, NW, "replica");
	int left = chan_len(answers[0]);

	CHECK(left);
	EXPECT(left == NW - 1, "%d answers left in the buffer, expected %d", left,
	       NW - 1);
	printf("all %d replicas exited; %d late answers left unread in the buffer\n",
	       NW, left);
	printf("firstwins: ok\n");
	return 0;
}
