// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * broadcast: "Ready? Go!" -- N processes block receiving from one channel
 * that nobody ever sends on; a single chan_close() releases them all, as
 * closing a channel does in Go.
 *
 * Invariant: no runner is released before the close (the parent watches
 * the channel's waiter count and the "released" channel stays empty), and
 * after it all N are released at once and exit 0.
 */
#include "common.h"

const char *prog = "broadcast";

#define N 8

static int start[2], released[2];
static int id;

static int runner(void *arg)
{
	bool ok;

	(void)arg;
	close(start[1]);	/* only the starter may close */
	CHECK(chan_recv(start[0], NULL, 0, &ok));	/* <-start */
	EXPECT(!ok, "runner %d: got a message, expected the close", id);
	int32_t me = id;

	CHECK(chan_send(released[1], &me, sizeof(me)));
	return 0;
}

int main(void)
{
	pid_t pids[N];
	struct chan_info info;
	int32_t who;
	int seen[N] = { 0 };
	bool ok;

	watchdog(60);
	setvbuf(stdout, NULL, _IOLBF, 0);
	CHECK(chan_pipe(start, 0, 0, CHAN_CLOEXEC));	/* chan struct{} */
	CHECK(chan_pipe(released, sizeof(int32_t), N, CHAN_CLOEXEC));

	for (id = 0; id < N; id++)
		pids[id] = spawn(runner, NULL);
	close(start[0]);
	close(released[1]);

	/* Wait until every runner is parked on the channel. */
	int64_t t0 = now_ns();

	for (;;) {
		CHECK(chan_info(start[1], &info));
		if (info.recv_waiters == N)
			break;
		EXPECT(now_ns() - t0 < MS(30000), "only %u of %d runners waiting",
		       info.recv_waiters, N);
		sleep_ms(10);
	}
	printf("Ready? %u runners waiting on one channel\n", info.recv_waiters);
	errno = 0;
	EXPECT(chan_tryrecv(released[0], &who, sizeof(who), &ok) < 0 &&
	       errno == EAGAIN, "a runner was released before the close");

	printf("Go! (one chan_close)\n");
	CHECK(chan_close(start[1]));

	for (int i = 0; i < N; i++) {
		ssize_t len = chan_recv_timeout(released[0], &who, sizeof(who),
						&ok, MS(10000));

		EXPECT(len >= 0, "only %d of %d runners released: %s", i, N,
		       strerror(errno));
		EXPECT(ok && who >= 0 && who < N && !seen[who], "bad release");
		seen[who] = 1;
	}
	reap_all(pids, N, "runner");
	CHECK(chan_info(start[1], &info));
	EXPECT(info.recv_waiters == 0 && info.closed, "channel state after close");
	printf("broadcast: ok (%d processes released by one close)\n", N);
	return 0;
}
