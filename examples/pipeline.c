// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * pipeline: counter -> squarer -> printer, three processes joined by two
 * unbuffered channels (The Go Programming Language, 8.4).
 *
 * The counter sends 0..N-1 and closes "naturals"; the squarer ranges over
 * naturals, sends each square and closes "squares" when naturals is
 * closed; the printer ranges over squares. Invariant: the printer sees
 * exactly 0, 1, 4, ..., (N-1)^2 in order, then closed, and every process
 * exits 0.
 */
#include "common.h"

const char *prog = "pipeline";

#define N 100

static int naturals[2], squares[2];	/* [0] recv end, [1] send end */

static int counter(void *arg)
{
	(void)arg;
	close(naturals[0]);
	close(squares[0]);
	close(squares[1]);
	for (int64_t x = 0; x < N; x++)
		CHECK(chan_send(naturals[1], &x, sizeof(x)));
	CHECK(chan_close(naturals[1]));
	printf("counter: sent 0..%d, closed naturals\n", N - 1);
	return 0;
}

static int squarer(void *arg)
{
	int64_t x, n = 0;
	bool ok;

	(void)arg;
	close(naturals[1]);
	close(squares[0]);
	for (;;) {
		ssize_t len = chan_recv(naturals[0], &x, sizeof(x), &ok);

		CHECK(len);
		if (!ok)
			break;	/* for x := range naturals */
		EXPECT(len == sizeof(x), "squarer: message of %zd bytes", len);
		x *= x;
		CHECK(chan_send(squares[1], &x, sizeof(x)));
		n++;
	}
	CHECK(chan_close(squares[1]));
	printf("squarer: squared %lld numbers, closed squares\n", (long long)n);
	return 0;
}

static int printer(void *arg)
{
	int64_t x, i = 0, sum = 0;
	bool ok;

	(void)arg;
	close(naturals[0]);
	close(naturals[1]);
	close(squares[1]);
	for (;;) {
		CHECK(chan_recv(squares[0], &x, sizeof(x), &ok));
		if (!ok)
			break;
		EXPECT(x == i * i, "printer: got %lld, expected %lld",
		       (long long)x, (long long)(i * i));
		if (i < 5 || i == N - 1)
			printf("printer: %lld\n", (long long)x);
		else if (i == 5)
			printf("printer: ...\n");
		sum += x;
		i++;
	}
	EXPECT(i == N, "printer: %lld squares, expected %d", (long long)i, N);
	printf("printer: %lld squares, sum %lld, then closed\n", (long long)i,
	       (long long)sum);
	return 0;
}

int main(void)
{
	pid_t pids[3];

	watchdog(60);
	setvbuf(stdout, NULL, _IOLBF, 0);
	CHECK(chan_pipe(naturals, sizeof(int64_t), 0, CHAN_CLOEXEC));
	CHECK(chan_pipe(squares, sizeof(int64_t), 0, CHAN_CLOEXEC));

	pids[0] = spawn(counter, NULL);
	pids[1] = spawn(squarer, NULL);
	pids[2] = spawn(printer, NULL);
	/* The parent takes no part: drop its handles so that the channels
	 * belong to the pipeline alone. */
	close(naturals[0]);
	close(naturals[1]);
	close(squares[0]);
	close(squares[1]);

	reap_all(pids, 3, "stage");
	printf("pipeline: ok (3 processes, %d values)\n", N);
	return 0;
}
